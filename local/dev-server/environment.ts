import {
  PAPER_ALOR,
  PAPER_TINKOFF,
  type PaperBrokers,
  type PaperScenarios,
  parsePaperScenarios,
  startPaperBrokers,
} from '#local/paper-broker/index.ts';
import { SourceAllowList } from '#shared/auth/source-allow-list.ts';
import { generateWebhookSecret, noAcceptedSecretWarning, parseAcceptedSecrets } from '#shared/auth/webhook-secrets.ts';
import { loadAlorConfig } from '#shared/brokers/alor/config.ts';
import { loadTinkoffConfig } from '#shared/brokers/tinkoff/config.ts';
import { ConfigError } from '#shared/config-error.ts';
import { BROKERS, type Broker, ENV, isProductionBrokerUrl, LOCAL_ENV } from '#shared/facts.ts';

/**
 * The local run's settings: `.env` and the shell read into the environment the functions will load at import, with
 * each broker either real (its token is configured) or pointed at a paper broker, and what the developer must be
 * told about them (notes, and warnings for settings that make every call fail).
 */

export const DEFAULT_PORT = 3000;
/** Where the local calls come from: the server listens on this address only. */
const LOCAL_SOURCE_IP = '127.0.0.1';

export type BrokerMode = 'paper' | 'real';

export interface LocalEnvironment {
  /** The first accepted webhook secret: the one to use ('' when there is none). */
  readonly secret: string;
  readonly secretGenerated: boolean;
  readonly modes: Readonly<Record<Broker, BrokerMode>>;
  /** Where each function sends orders: the paper broker's loopback URL or the configured broker URL. */
  readonly brokerUrls: Readonly<Record<Broker, string>>;
  /** Values the console never shows, wherever they turn up. */
  readonly hiddenValues: readonly string[];
  readonly notes: readonly string[];
  /** Settings that make every call fail closed. */
  readonly warnings: readonly string[];
  /** Running when at least one broker trades on paper. */
  readonly paper: PaperBrokers | undefined;
  /** The failure scenarios the paper brokers started with (`PAPER_SCENARIOS`). */
  readonly scenarios: PaperScenarios;
}

function isSet(value: string | undefined): value is string {
  return value !== undefined && value.trim() !== '';
}

export function parsePort(value: string | undefined): number {
  if (!isSet(value)) return DEFAULT_PORT;
  const port = Number(value);
  if (!/^\d+$/.test(value.trim()) || port > 65_535) {
    throw new ConfigError(`${LOCAL_ENV.port} must be a port number (0-65535)`);
  }
  return port;
}

/** A broker is real when its token is configured (as a value or a Secrets Manager id), paper otherwise. */
export function brokerModes(env: NodeJS.ProcessEnv): Record<Broker, BrokerMode> {
  return {
    alor: isSet(env[ENV.alorRefreshToken]) || isSet(env[ENV.alorRefreshTokenSecretId]) ? 'real' : 'paper',
    tinkoff: isSet(env[ENV.tinkoffToken]) || isSet(env[ENV.tinkoffTokenSecretId]) ? 'real' : 'paper',
  };
}

/** Points a paper broker's settings at the local paper broker, replacing whatever partial settings were there. */
function usePaperSettings(env: NodeJS.ProcessEnv, broker: Broker, paper: PaperBrokers): string {
  if (broker === 'alor') {
    delete env[ENV.alorRefreshTokenSecretId];
    delete env[ENV.alorPortfolioParameter];
    env[ENV.alorRefreshToken] = PAPER_ALOR.refreshToken;
    env[ENV.alorPortfolio] = PAPER_ALOR.portfolio;
    env[ENV.alorOauthUrl] = paper.alor.url;
    env[ENV.alorApiUrl] = paper.alor.url;
    return paper.alor.url;
  }
  delete env[ENV.tinkoffTokenSecretId];
  delete env[ENV.tinkoffAccountIdParameter];
  env[ENV.tinkoffToken] = PAPER_TINKOFF.token;
  env[ENV.tinkoffAccountId] = PAPER_TINKOFF.accountId;
  // The paper T-Invest serves v2 under /rest and the retired v1 at its root.
  const url = env[ENV.tinkoffApi] === 'v1' ? paper.tinkoff.url : paper.tinkoff.v2Url;
  env[ENV.tinkoffApiUrl] = url;
  return url;
}

/** The broker URLs a real broker's function will call, with the functions' own defaults. */
function realBrokerUrls(env: NodeJS.ProcessEnv, broker: Broker): string[] {
  if (broker === 'alor') {
    const config = loadAlorConfig(env);
    return [config.apiUrl, config.oauthUrl];
  }
  return [loadTinkoffConfig(env).apiUrl];
}

/** Real-broker notes: production hosts trade real money, and a missing account is answered 404 by the function. */
function realBrokerNotes(env: NodeJS.ProcessEnv, broker: Broker, urls: readonly string[]): string[] {
  const notes: string[] = [];
  const production = urls.filter(isProductionBrokerUrl);
  if (production.length > 0) {
    notes.push(`${broker}: ${production.join(' and ')}: the PRODUCTION broker: orders are real and use real money`);
  }
  const accountSet =
    broker === 'alor'
      ? isSet(env[ENV.alorPortfolio]) || isSet(env[ENV.alorPortfolioParameter])
      : isSet(env[ENV.tinkoffAccountId]) || isSet(env[ENV.tinkoffAccountIdParameter]);
  if (!accountSet) notes.push(`${broker}: the token is set but the account is not: orders are answered 404`);
  return notes;
}

/**
 * Prepares `env` for the functions: the webhook secret as a value, and each broker real or on paper (starting the
 * paper brokers when one is needed). The caller closes `paper` when it is done, or when it fails after this.
 */
export async function prepareEnvironment(env: NodeJS.ProcessEnv): Promise<LocalEnvironment> {
  const notes: string[] = [];

  // The console has to know the webhook secret to send test signals, so the local run takes it as a value.
  if (isSet(env[ENV.webhookSecretId])) {
    notes.push(`${ENV.webhookSecretId} is ignored by the local run: it uses ${ENV.webhookSecret} (or a generated one)`);
    delete env[ENV.webhookSecretId];
  }
  const secretGenerated = !isSet(env[ENV.webhookSecret]);
  if (secretGenerated) env[ENV.webhookSecret] = generateWebhookSecret();
  const acceptedSecrets = parseAcceptedSecrets(env[ENV.webhookSecret]);
  const warnings = acceptedSecrets.length === 0 ? [noAcceptedSecretWarning(ENV.webhookSecret)] : [];
  // The local calls come from this machine; a list without it refuses them all (and a bad list stops here).
  const { allowedSources } = loadAlorConfig(env);
  if (allowedSources !== undefined && !new SourceAllowList(allowedSources).allows(LOCAL_SOURCE_IP)) {
    warnings.push(
      `WARNING: ${ENV.allowedSourceIps} does not list ${LOCAL_SOURCE_IP}: every local call (the console, curl) is answered 403 Forbidden`,
    );
  }

  // The local run's kill switch, read by the functions at each signal: off until the console turns it on.
  if (!isSet(env[ENV.killSwitch])) env[ENV.killSwitch] = 'off';

  const modes = brokerModes(env);
  const brokerUrls = {} as Record<Broker, string>;
  for (const broker of BROKERS.filter((candidate) => modes[candidate] === 'real')) {
    const urls = realBrokerUrls(env, broker);
    brokerUrls[broker] = urls[0] ?? '';
    notes.push(...realBrokerNotes(env, broker, urls));
  }
  const scenarios = parsePaperScenarios(env[LOCAL_ENV.paperScenarios], LOCAL_ENV.paperScenarios);
  const paper = BROKERS.some((broker) => modes[broker] === 'paper')
    ? await startPaperBrokers({ scenarios })
    : undefined;
  for (const broker of BROKERS) {
    const scenario = scenarios[broker];
    if (scenario !== undefined && paper !== undefined && modes[broker] === 'paper') {
      notes.push(
        `${broker}: the paper broker plays "${scenario}" (${LOCAL_ENV.paperScenarios}): its preflight and orders fail as that setup would`,
      );
    }
  }
  for (const broker of BROKERS) {
    if (modes[broker] === 'paper' && paper !== undefined) brokerUrls[broker] = usePaperSettings(env, broker, paper);
  }

  return {
    secret: acceptedSecrets[0] ?? '',
    secretGenerated,
    modes,
    brokerUrls,
    hiddenValues: [...acceptedSecrets, env[ENV.alorRefreshToken], env[ENV.tinkoffToken]].filter(isSet),
    notes,
    warnings,
    paper,
    scenarios,
  };
}
