import type { Dispatcher } from 'undici';
import type { AlorConfig } from '../brokers/alor/config.ts';
import { ALOR_NOT_CONFIGURED } from '../brokers/alor/mapping.ts';
import { alorPreflight } from '../brokers/alor/preflight.ts';
import type { NotConfiguredMessages } from '../brokers/credentials.ts';
import type { TinkoffConfig } from '../brokers/tinkoff/config.ts';
import { TINKOFF_NOT_CONFIGURED } from '../brokers/tinkoff/mapping.ts';
import { otherTinkoffEnvironment, tinkoffPreflight } from '../brokers/tinkoff/preflight.ts';
import { type CommonConfig, type GuardConfig, switchState, type ValueSource } from '../config.ts';
import { BrokerCredentialRejectedError, BrokerTimeoutError, BrokerUnavailableError, describeError } from '../errors.ts';
import { BROKERS, type Broker, ENV } from '../facts.ts';
import { createKeepAliveAgent } from '../http/outbound/client.ts';
import { createDeadline } from '../http/outbound/deadline.ts';
import type { ValueStore } from '../store/value-store.ts';
import { type BrokerChecklist, type BrokerPreflightCall, type Check, check } from './checklist.ts';

/**
 * Runs the preflight of each broker with the settings its function would use (the function's own config, however it
 * was read: `.env` and the shell, or the deployed stack's environment), reading the stored token and account through
 * the same store. Each broker gets one deadline (`BROKER_TIMEOUT_MS`), as an order does; the brokers run side by side.
 * Used by `npm run preflight` (scripts/preflight.ts) and by the console's "Check setup" (local/dev-server/routes.ts).
 */

export interface PreflightSettings {
  readonly alor: AlorConfig;
  readonly tinkoff: TinkoffConfig;
}

/** What the preflight reads stored values with: the functions' own store, or {@link PLAIN_VALUES}. */
export type ValueReader = Pick<ValueStore, 'readSecret' | 'readParameter'>;

function plainValue(source: ValueSource): Promise<string | undefined> {
  if (source.kind === 'plain') return Promise.resolve(source.value);
  if (source.kind === 'unset') return Promise.resolve(undefined);
  return Promise.reject(new Error('a value in Secrets Manager or SSM needs the store'));
}

/**
 * The values a local run holds itself (`ALOR_REFRESH_TOKEN=…`; the config has already made a blank one unset): read
 * without the store, so a local preflight loads no AWS SDK.
 */
export const PLAIN_VALUES: ValueReader = { readSecret: plainValue, readParameter: plainValue };

/** Whether the settings read only values they hold themselves. */
export function holdsPlainValuesOnly(settings: PreflightSettings): boolean {
  const sources = [
    settings.alor.refreshToken,
    settings.alor.portfolio,
    settings.tinkoff.token,
    settings.tinkoff.accountId,
  ];
  return sources.every((source) => source.kind === 'plain' || source.kind === 'unset');
}

export interface PreflightOptions {
  readonly store: ValueReader;
  /** @default a new keep-alive agent, closed when the preflight is done */
  readonly dispatcher?: Dispatcher;
  /** `--broker`: these only, and one that is not configured fails. @default every configured broker */
  readonly brokers?: readonly Broker[];
  /** A signal's `t` and `f`, to check the instrument the way a signal would name it. */
  readonly ticker?: string | undefined;
  readonly figi?: string | undefined;
  /** Where to try a token T-Invest refuses (a paper sandbox); @default T-Invest's sandbox, for its production host */
  readonly tinkoffSandboxUrl?: string | undefined;
  /**
   * Check that the token reads the positions, active orders and stop orders a ver 2 signal and its protection read:
   * by default; `false` leaves the reads out.
   */
  readonly positions?: boolean | undefined;
}

interface StoredPair {
  readonly credential: ValueSource;
  readonly account: ValueSource;
  readonly answers: NotConfiguredMessages;
}

function storedPair(broker: Broker, settings: PreflightSettings): StoredPair {
  return broker === 'alor'
    ? { credential: settings.alor.refreshToken, account: settings.alor.portfolio, answers: ALOR_NOT_CONFIGURED }
    : { credential: settings.tinkoff.token, account: settings.tinkoff.accountId, answers: TINKOFF_NOT_CONFIGURED };
}

function sourceName(source: ValueSource): string {
  switch (source.kind) {
    case 'secret':
      return source.id;
    case 'parameter':
      return source.name;
    default:
      return source.kind;
  }
}

type StoredValues = { credential: string | undefined; account: string | undefined } | { unreadable: Check[] };

/** Both values, read at once; a store that fails is reported by the name of what could not be read, never a value. */
async function readStored(store: ValueReader, pair: StoredPair): Promise<StoredValues> {
  const [credential, account] = await Promise.allSettled([
    store.readSecret(pair.credential),
    store.readParameter(pair.account),
  ]);
  const unreadable = (
    [
      [credential, pair.credential],
      [account, pair.account],
    ] as const
  ).flatMap(([result, source]) =>
    result.status === 'rejected'
      ? [check('store-unreadable', { name: sourceName(source), error: describeError(result.reason).name })]
      : [],
  );
  if (unreadable.length > 0) return { unreadable };
  return {
    credential: credential.status === 'fulfilled' ? credential.value : undefined,
    account: account.status === 'fulfilled' ? account.value : undefined,
  };
}

function brokerUrl(broker: Broker, settings: PreflightSettings): string {
  return broker === 'alor' ? settings.alor.apiUrl : settings.tinkoff.apiUrl;
}

/** The guards in force (docs/contract.md#guards), said in Russian and English, each with its setting's value. */
export function describeGuards(guards: GuardConfig): { ru: string; en: string } {
  const parts: { ru: string; en: string }[] = [];
  const killSwitch = guards.killSwitch;
  if (killSwitch !== undefined) {
    const every = killSwitch.kind === 'parameter' ? killSwitch.ttlMs / 1000 : undefined;
    parts.push({
      ru: `выключатель торговли${every === undefined ? '' : ` (читается раз в ${every} с)`}`,
      en: `kill switch${every === undefined ? '' : ` (read every ${every} s)`}`,
    });
  }
  if (guards.signalMaxAgeMs > 0) {
    const seconds = guards.signalMaxAgeMs / 1000;
    parts.push({ ru: `ts входа не старше ${seconds} с`, en: `an entry's ts at most ${seconds} s old` });
  }
  if (guards.checkTradingStatus) parts.push({ ru: 'только пока инструмент торгуется', en: 'only while trading' });
  parts.push({
    ru: `до ${guards.maxLotsPerOrder} лотов в заявке`,
    en: `at most ${guards.maxLotsPerOrder} lots an order`,
  });
  if (guards.maxOrderRub !== undefined) {
    parts.push({ ru: `до ${guards.maxOrderRub} ₽ в заявке`, en: `at most ${guards.maxOrderRub} ₽ an order` });
  }
  if (guards.maxPositionLots !== undefined) {
    parts.push({
      ru: `позиция до ${guards.maxPositionLots} лотов`,
      en: `positions of at most ${guards.maxPositionLots} lots`,
    });
  }
  if (guards.maxOrdersPerDay !== undefined) {
    parts.push({
      ru: `до ${guards.maxOrdersPerDay} входов в день`,
      en: `at most ${guards.maxOrdersPerDay} entries a day`,
    });
  }
  const loss = guards.dailyLossLimit;
  if (loss !== undefined) {
    const limit = loss.unit === 'pct' ? `${loss.amount}%` : `${loss.amount} ₽`;
    parts.push({ ru: `дневной убыток до ${limit}`, en: `a day's loss of at most ${limit}` });
  }
  return { ru: parts.map((part) => part.ru).join(', '), en: parts.map((part) => part.en).join(', ') };
}

/** The guards' check, and a warning when the kill switch reads on; a switch that cannot be read is not told. */
async function guardChecks(guards: GuardConfig, store: ValueReader): Promise<Check[]> {
  const checks = [check('guards-in-force', describeGuards(guards))];
  const source = guards.killSwitch;
  if (source === undefined) return checks;
  const value =
    source.kind === 'process'
      ? process.env[ENV.killSwitch]
      : await store.readParameter({ kind: 'parameter', name: source.name }).catch(() => 'off');
  if (switchState(value) !== false) checks.push(check('guards-kill-switch-on'));
  return checks;
}

/**
 * A broker that did not answer as documented: the checks done so far stand, and what could not be checked says why.
 * A refusal the broker's checks did not expect (a read call refusing a token its first call took) is one of those.
 */
function transportCheck(error: unknown, broker: Broker, config: CommonConfig, url: string): Check {
  if (error instanceof BrokerTimeoutError) return check('broker-timeout', { broker, ms: config.brokerTimeoutMs });
  const origin = new URL(url).origin;
  if (error instanceof BrokerUnavailableError)
    return check('broker-unreachable', { broker, detail: error.detail, url: origin });
  if (error instanceof BrokerCredentialRejectedError) {
    return check('broker-unreachable', { broker, detail: 'a read call refused the token', url: origin });
  }
  throw error;
}

async function brokerChecklist(
  broker: Broker,
  settings: PreflightSettings,
  options: PreflightOptions,
  dispatcher: Dispatcher,
): Promise<BrokerChecklist> {
  const pair = storedPair(broker, settings);
  const stored = await readStored(options.store, pair);
  if ('unreadable' in stored) return { broker, skipped: false, checks: stored.unreadable };
  const { credential, account } = stored;
  if (credential === undefined && account === undefined) {
    const asked = options.brokers?.includes(broker) ?? false;
    return { broker, skipped: !asked, checks: asked ? [check('not-configured', { broker })] : [] };
  }
  if (credential === undefined || account === undefined) {
    return {
      broker,
      skipped: false,
      checks: [
        ...(credential === undefined ? [check('credential-missing', { broker, answer: pair.answers.credential })] : []),
        ...(account === undefined ? [check('account-missing', { broker, answer: pair.answers.account })] : []),
      ],
    };
  }

  const checks: Check[] = [];
  const config = broker === 'alor' ? settings.alor : settings.tinkoff;
  const call: BrokerPreflightCall = {
    dispatcher,
    deadline: createDeadline(config.brokerTimeoutMs),
    report: (item) => checks.push(item),
  };
  try {
    if (broker === 'alor') {
      const { exchange, oauthUrl, apiUrl } = settings.alor;
      await alorPreflight(
        {
          refreshToken: credential,
          portfolio: account,
          exchange,
          oauthUrl,
          apiUrl,
          ticker: options.ticker,
          positions: options.positions,
        },
        call,
      );
    } else {
      const { api, apiUrl } = settings.tinkoff;
      const otherEnvironment = otherTinkoffEnvironment(apiUrl, options.tinkoffSandboxUrl);
      await tinkoffPreflight(
        {
          token: credential,
          accountId: account,
          api,
          apiUrl,
          otherEnvironment,
          figi: options.figi,
          ticker: options.ticker,
          positions: options.positions,
        },
        call,
      );
    }
  } catch (error) {
    checks.push(transportCheck(error, broker, config, brokerUrl(broker, settings)));
  }
  checks.push(...(await guardChecks(config.guards, options.store)));
  return { broker, skipped: false, checks };
}

/** The checklist of every broker asked for (all by default); none configured at all is a failure of each. */
export async function runPreflight(settings: PreflightSettings, options: PreflightOptions): Promise<BrokerChecklist[]> {
  const dispatcher = options.dispatcher ?? createKeepAliveAgent();
  try {
    const brokers = options.brokers ?? BROKERS;
    const lists = await Promise.all(brokers.map((broker) => brokerChecklist(broker, settings, options, dispatcher)));
    if (lists.every((list) => list.skipped)) {
      return lists.map((list) => ({
        broker: list.broker,
        skipped: false,
        checks: [check('not-configured', { broker: list.broker })],
      }));
    }
    return lists;
  } finally {
    if (options.dispatcher === undefined) await dispatcher.close();
  }
}
