import { vi } from 'vitest';
import { PAPER_ALOR, PAPER_TINKOFF, type PaperBrokers } from '#local/paper-broker/index.ts';
import type { WebhookHandler } from '#shared/http/handler.ts';

/** The webhook secret of the tests: an obvious fake. */
export const TEST_WEBHOOK_SECRET = 'test-webhook-secret-0001';

export type Env = Record<string, string>;

/** Alor settings that trade on the paper Alor. */
export function alorPaperEnv(paper: PaperBrokers): Env {
  return {
    WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
    ALOR_REFRESH_TOKEN: PAPER_ALOR.refreshToken,
    ALOR_PORTFOLIO: PAPER_ALOR.portfolio,
    ALOR_OAUTH_URL: paper.alor.url,
    ALOR_API_URL: paper.alor.url,
  };
}

/** T-Invest settings that trade on the paper T-Invest (API v2). */
export function tinkoffPaperEnv(paper: PaperBrokers): Env {
  return {
    WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
    TINKOFF_TOKEN: PAPER_TINKOFF.token,
    TINKOFF_ACCOUNT_ID: PAPER_TINKOFF.accountId,
    TINKOFF_API_URL: paper.tinkoff.v2Url,
  };
}

/**
 * The exported `handler` of a function, as Lambda loads it: a fresh module graph (a cold container)
 * that reads exactly `env` at import. Variables not in `env` are cleared, so the host's shell cannot leak in.
 */
export async function importHandler(broker: 'alor' | 'tinkoff', env: Env): Promise<WebhookHandler> {
  for (const name of Object.keys(process.env)) {
    if (/^(WEBHOOK_|ALOR_|TINKOFF_|BROKER_|DRY_RUN|SECRETS_)/.test(name)) vi.stubEnv(name, undefined);
  }
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  vi.resetModules();
  const module =
    broker === 'alor' ? await import('#functions/alor/handler.ts') : await import('#functions/tinkoff/handler.ts');
  return module.handler;
}
