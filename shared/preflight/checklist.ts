import type { Dispatcher } from 'undici';
import * as z from 'zod';
import { BROKERS, type Broker } from '../facts.ts';
import type { Deadline } from '../http/outbound/deadline.ts';
import { type CheckText, checkText, type Lang } from './texts.ts';

/**
 * The preflight's checklist: what `npm run preflight` prints, the console's "Check setup" shows and the exit code is
 * made of. A check is an id and its parameters, no text: the text is chosen when it is shown, in Russian or English
 * (shared/preflight/texts.ts), with the fix that fits where the settings live.
 */

/** Every check a broker preflight can report. Its status is part of its id: `CHECK_STATUS`. */
export const CHECK_IDS = [
  'not-configured',
  'credential-missing',
  'account-missing',
  'store-unreadable',
  'broker-timeout',
  'broker-unreachable',
  'alor-hosts-production',
  'alor-hosts-test',
  'alor-hosts-other',
  'alor-hosts-mixed',
  'alor-refresh-accepted',
  'alor-refresh-rejected',
  'alor-portfolio-in-token',
  'alor-portfolio-not-in-token',
  'alor-portfolios-unlisted',
  'alor-portfolio-on-exchange',
  'alor-portfolio-not-on-exchange',
  'alor-instrument-found',
  'alor-instrument-not-found',
  'alor-instrument-not-trading',
  'alor-state-readable',
  'alor-state-unreadable',
  'tinkoff-host-production',
  'tinkoff-host-sandbox',
  'tinkoff-host-other',
  'tinkoff-api-v1',
  'tinkoff-token-accepted',
  'tinkoff-token-rejected',
  'tinkoff-token-sandbox',
  'tinkoff-token-production',
  'tinkoff-account-open',
  'tinkoff-account-not-found',
  'tinkoff-account-closed',
  'tinkoff-access-full',
  'tinkoff-access-read-only',
  'tinkoff-access-none',
  'tinkoff-token-one-account',
  'tinkoff-token-several-accounts',
  'tinkoff-instrument-tradable',
  'tinkoff-instrument-not-found',
  'tinkoff-instrument-not-api-tradable',
  'tinkoff-instrument-side-unavailable',
  'tinkoff-instrument-qualified-only',
  'tinkoff-instrument-ticker-mismatch',
  'tinkoff-ticker-needs-figi',
  'tinkoff-state-readable',
  'tinkoff-state-unreadable',
  'alor-portfolio-value',
  'tinkoff-portfolio-value',
  'guards-in-force',
  'guards-kill-switch-on',
  'stack-unreadable',
  'stack-not-found',
  'stack-outdated',
  'function-check-answered',
  'function-check-refused',
  'function-check-unreachable',
  'function-check-no-secret',
  'function-self-test-failed',
  'function-store-extension-works',
  'function-store-extension-fails',
  'function-store-sdk-works',
  'function-store-sdk-fails',
  'function-store-unreadable',
] as const;
export type CheckId = (typeof CHECK_IDS)[number];

/** ✓ it holds; ! it works but deserves a look; ✗ a signal would fail; ? could not be checked. */
export const CHECK_STATUSES = ['pass', 'warn', 'fail', 'unchecked'] as const;
export type CheckStatus = (typeof CHECK_STATUSES)[number];
export const STATUS_SYMBOLS: Readonly<Record<CheckStatus, string>> = {
  pass: '✓',
  warn: '!',
  fail: '✗',
  unchecked: '?',
};

const pass: CheckStatus = 'pass';
const warn: CheckStatus = 'warn';
const fail: CheckStatus = 'fail';
const unchecked: CheckStatus = 'unchecked';

export const CHECK_STATUS: Readonly<Record<CheckId, CheckStatus>> = {
  'not-configured': fail,
  'credential-missing': fail,
  'account-missing': fail,
  'store-unreadable': unchecked,
  'broker-timeout': unchecked,
  'broker-unreachable': unchecked,
  'alor-portfolio-value': pass,
  'tinkoff-portfolio-value': pass,
  'guards-in-force': pass,
  'guards-kill-switch-on': warn,
  'alor-hosts-production': pass,
  'alor-hosts-test': pass,
  'alor-hosts-other': warn,
  'alor-hosts-mixed': fail,
  'alor-refresh-accepted': pass,
  'alor-refresh-rejected': fail,
  'alor-portfolio-in-token': pass,
  'alor-portfolio-not-in-token': fail,
  'alor-portfolios-unlisted': warn,
  'alor-portfolio-on-exchange': pass,
  'alor-portfolio-not-on-exchange': fail,
  'alor-instrument-found': pass,
  'alor-instrument-not-found': fail,
  'alor-instrument-not-trading': warn,
  'alor-state-readable': pass,
  'alor-state-unreadable': fail,
  'tinkoff-host-production': pass,
  'tinkoff-host-sandbox': pass,
  'tinkoff-host-other': warn,
  'tinkoff-api-v1': warn,
  'tinkoff-token-accepted': pass,
  'tinkoff-token-rejected': fail,
  'tinkoff-token-sandbox': fail,
  'tinkoff-token-production': fail,
  'tinkoff-account-open': pass,
  'tinkoff-account-not-found': fail,
  'tinkoff-account-closed': fail,
  'tinkoff-access-full': pass,
  'tinkoff-access-read-only': fail,
  'tinkoff-access-none': fail,
  'tinkoff-token-one-account': pass,
  'tinkoff-token-several-accounts': warn,
  'tinkoff-instrument-tradable': pass,
  'tinkoff-instrument-not-found': fail,
  'tinkoff-instrument-not-api-tradable': fail,
  'tinkoff-instrument-side-unavailable': warn,
  'tinkoff-instrument-qualified-only': fail,
  'tinkoff-instrument-ticker-mismatch': warn,
  'tinkoff-ticker-needs-figi': warn,
  'tinkoff-state-readable': pass,
  'tinkoff-state-unreadable': fail,
  'stack-unreadable': unchecked,
  'stack-not-found': unchecked,
  'stack-outdated': fail,
  'function-check-answered': pass,
  'function-check-refused': fail,
  'function-check-unreachable': unchecked,
  'function-check-no-secret': fail,
  'function-self-test-failed': unchecked,
  'function-store-extension-works': pass,
  'function-store-extension-fails': warn,
  'function-store-sdk-works': pass,
  'function-store-sdk-fails': warn,
  'function-store-unreadable': fail,
};

/** Values a text quotes: hosts, account ids, tickers, counts. Never a token. */
export type CheckParams = Readonly<Record<string, string | number>>;

export interface Check {
  readonly id: CheckId;
  readonly params: CheckParams;
}

export function check(id: CheckId, params: CheckParams = {}): Check {
  return { id, params };
}

/** What a broker's preflight (shared/brokers/<broker>/preflight.ts) is given to run its read-only calls with. */
export interface BrokerPreflightCall {
  readonly dispatcher: Dispatcher;
  /** One deadline for all of a broker's requests, as an order gets. */
  readonly deadline: Deadline;
  readonly report: (item: Check) => void;
}

/** Where the checked settings live, which decides how a fix says to change one. */
export type SettingsSource = 'local' | 'deployed';

export interface BrokerChecklist {
  readonly broker: Broker;
  /** Not configured and not asked for: nothing was checked. */
  readonly skipped: boolean;
  readonly checks: readonly Check[];
}

/** 0 all good (warnings allowed), 1 a check failed, 2 something could not be checked. A failure outranks the rest. */
export function exitCode(lists: readonly BrokerChecklist[]): 0 | 1 | 2 {
  const statuses = lists.flatMap((list) => list.checks.map((item) => CHECK_STATUS[item.id]));
  if (statuses.includes('fail')) return 1;
  return statuses.includes('unchecked') ? 2 : 0;
}

/** One check as shown: what the console receives and the command line prints. */
export const ShownCheckSchema = z.object({
  id: z.enum(CHECK_IDS),
  status: z.enum(CHECK_STATUSES),
  symbol: z.string(),
  text: z.string(),
  fix: z.string().optional(),
});
export type ShownCheck = z.infer<typeof ShownCheckSchema>;

export const ShownChecklistSchema = z.object({
  broker: z.enum(BROKERS),
  title: z.string(),
  skipped: z.boolean(),
  checks: z.array(ShownCheckSchema),
});
export type ShownChecklist = z.infer<typeof ShownChecklistSchema>;

export function showCheck(item: Check, lang: Lang, source: SettingsSource): ShownCheck {
  const status = CHECK_STATUS[item.id];
  const { text, fix }: CheckText = checkText(item, lang, source);
  return { id: item.id, status, symbol: STATUS_SYMBOLS[status], text, ...(fix === undefined ? {} : { fix }) };
}

export function showChecklist(list: BrokerChecklist, lang: Lang, source: SettingsSource): ShownChecklist {
  return {
    broker: list.broker,
    title: checklistTitle(list, lang, source),
    skipped: list.skipped,
    checks: list.checks.map((item) => showCheck(item, lang, source)),
  };
}

function checklistTitle(list: BrokerChecklist, lang: Lang, source: SettingsSource): string {
  const name = list.broker === 'alor' ? 'Alor' : 'T-Invest';
  if (list.skipped) return lang === 'ru' ? `${name}: не настроен, не проверялся` : `${name}: not configured, skipped`;
  const where =
    source === 'deployed'
      ? {
          ru: 'настройки развёрнутого стека (Secrets Manager, SSM)',
          en: "the deployed stack's settings (Secrets Manager, SSM)",
        }
      : { ru: 'настройки .env и окружения', en: '.env and the shell' };
  return `${name} (${where[lang]})`;
}

/** The checklist as text, one check a line, each ✗ with its fix indented below it, and a closing verdict. */
export function renderChecklists(lists: readonly BrokerChecklist[], lang: Lang, source: SettingsSource): string {
  const lines: string[] = [];
  for (const list of lists) {
    const shown = showChecklist(list, lang, source);
    lines.push(shown.title);
    for (const item of shown.checks) {
      lines.push(`  ${item.symbol} ${item.text}`);
      if (item.fix !== undefined) lines.push(`      ${lang === 'ru' ? 'как исправить' : 'fix'}: ${item.fix}`);
    }
    lines.push('');
  }
  lines.push(verdict(exitCode(lists), lang));
  return `${lines.join('\n')}\n`;
}

function verdict(code: 0 | 1 | 2, lang: Lang): string {
  const texts = {
    0: { ru: 'Готово к первому сигналу.', en: 'Ready for the first signal.' },
    1: { ru: 'Не готово: исправьте пункты ✗.', en: 'Not ready: fix the ✗ items.' },
    2: { ru: 'Проверить не удалось: пункты ? — повторите позже.', en: 'Could not check the ? items: try again later.' },
  } as const;
  return texts[code][lang];
}
