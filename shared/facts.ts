/**
 * Facts that the functions, the CDK app, the scripts, the bench, the local run and the tests must agree on: the
 * brokers, the environment variable names, the defaults, the names of the stored secrets and parameters.
 *
 * Constants and pure functions only: importing this module runs nothing and imports nothing, so a Lambda bundle keeps
 * only what it uses, and the infra code and scripts use it without pulling in the functions or the AWS SDK.
 */

export const BROKERS = ['alor', 'tinkoff'] as const;
export type Broker = (typeof BROKERS)[number];

/** Exchanges Alor accepts for a limit order (`ALOR_EXCHANGE`). */
export const ALOR_EXCHANGES = ['SPBX', 'MOEX'] as const;
export type AlorExchange = (typeof ALOR_EXCHANGES)[number];
export const DEFAULT_ALOR_EXCHANGE: AlorExchange = 'SPBX';

/**
 * Exchanges a signal may name in `t` (`MOEX:SBER`, TradingView's `{{exchange}}:{{ticker}}`): both brokers trade on
 * these two. Alor sends the order there; T-Invest looks the ticker up in the class code of that exchange.
 */
export const SIGNAL_EXCHANGES = ALOR_EXCHANGES;
export type SignalExchange = AlorExchange;

/** T-Invest API generations the T-Invest function can talk to (`TINKOFF_API`). */
export const TINKOFF_APIS = ['v2', 'v1'] as const;
export type TinkoffApi = (typeof TINKOFF_APIS)[number];
export const DEFAULT_TINKOFF_API: TinkoffApi = 'v2';

/**
 * T-Invest class codes (trading modes) an order without `f` looks its ticker up in: `TINKOFF_CLASS_CODE` for MOEX
 * and for a `t` without an exchange (TQBR: Moscow Exchange shares, main board), SPBXM for SPBX (SPB Exchange).
 */
export const DEFAULT_TINKOFF_CLASS_CODE = 'TQBR';
export const TINKOFF_SPBX_CLASS_CODE = 'SPBXM';

/**
 * The environment variables the functions read. The deployed stack sets the `_ID`/`_PARAMETER` references; local
 * runs and tests set the plain values instead.
 */
export const ENV = {
  webhookSecretId: 'WEBHOOK_SECRET_ID',
  webhookSecret: 'WEBHOOK_SECRET',
  brokerTimeoutMs: 'BROKER_TIMEOUT_MS',
  secretsCacheTtlMs: 'SECRETS_CACHE_TTL_MS',
  dryRun: 'DRY_RUN',
  logLevel: 'LOG_LEVEL',
  alorRefreshTokenSecretId: 'ALOR_REFRESH_TOKEN_SECRET_ID',
  alorRefreshToken: 'ALOR_REFRESH_TOKEN',
  alorPortfolioParameter: 'ALOR_PORTFOLIO_PARAMETER',
  alorPortfolio: 'ALOR_PORTFOLIO',
  alorExchange: 'ALOR_EXCHANGE',
  alorOauthUrl: 'ALOR_OAUTH_URL',
  alorApiUrl: 'ALOR_API_URL',
  tinkoffTokenSecretId: 'TINKOFF_TOKEN_SECRET_ID',
  tinkoffToken: 'TINKOFF_TOKEN',
  tinkoffAccountIdParameter: 'TINKOFF_ACCOUNT_ID_PARAMETER',
  tinkoffAccountId: 'TINKOFF_ACCOUNT_ID',
  tinkoffApi: 'TINKOFF_API',
  tinkoffApiUrl: 'TINKOFF_API_URL',
  tinkoffClassCode: 'TINKOFF_CLASS_CODE',
  allowedSourceIps: 'ALLOWED_SOURCE_IPS',
  /** The DynamoDB table of the position lock (docs/contract.md#position-lock); unset: a lock within the process. */
  positionLockTable: 'POSITION_LOCK_TABLE',
  /** Whether what filled is closed when its protection cannot be placed (docs/contract.md#protection). */
  closeUnprotected: 'CLOSE_UNPROTECTED',
  /** The broker's follow-up queue a protected entry's watch goes on (the stack sets it; unset: within the process). */
  alorFollowUpQueueUrl: 'ALOR_FOLLOW_UP_QUEUE_URL',
  tinkoffFollowUpQueueUrl: 'TINKOFF_FOLLOW_UP_QUEUE_URL',
  /** Set by the Parameters and Secrets extension's CDK binding (`paramsAndSecrets`): store reads go through it. */
  storeExtensionPort: 'PARAMETERS_SECRETS_EXTENSION_HTTP_PORT',
  /** Set by Lambda; the extension asks for it with every read. */
  awsSessionToken: 'AWS_SESSION_TOKEN',
  /** The guards before an order (docs/contract.md#guards): the kill switch's SSM parameter (the stack sets it). */
  killSwitchParameter: 'KILL_SWITCH_PARAMETER',
  /** The kill switch of a local run or a test, `on` or `off`: read at each signal, so the console can turn it. */
  killSwitch: 'KILL_SWITCH',
  killSwitchTtlSeconds: 'KILL_SWITCH_TTL_SECONDS',
  signalMaxAgeSeconds: 'SIGNAL_MAX_AGE_SECONDS',
  checkTradingStatus: 'CHECK_TRADING_STATUS',
  maxLotsPerOrder: 'MAX_LOTS_PER_ORDER',
  maxPositionLots: 'MAX_POSITION_LOTS',
  maxOrderRub: 'MAX_ORDER_RUB',
  maxOrdersPerDay: 'MAX_ORDERS_PER_DAY',
  dailyLossLimit: 'DAILY_LOSS_LIMIT',
} as const;

/**
 * The environment variables of the notifier and the follow-up functions (docs/telegram.md). The follow-up
 * functions read their broker's settings from {@link ENV}; the webhook functions read none of these.
 */
export const NOTIFY_ENV = {
  telegramBotTokenSecretId: 'TELEGRAM_BOT_TOKEN_SECRET_ID',
  telegramBotToken: 'TELEGRAM_BOT_TOKEN',
  telegramChatIdParameter: 'TELEGRAM_CHAT_ID_PARAMETER',
  telegramChatId: 'TELEGRAM_CHAT_ID',
  telegramApiUrl: 'TELEGRAM_API_URL',
  language: 'NOTIFY_LANGUAGE',
  kinds: 'NOTIFY_KINDS',
  followUpDelaySeconds: 'FOLLOW_UP_DELAY_SECONDS',
  tableName: 'NOTIFY_TABLE_NAME',
  queueUrl: 'NOTIFY_QUEUE_URL',
  deadLetterQueueUrl: 'NOTIFY_DEAD_LETTER_QUEUE_URL',
  alorFollowUpQueueUrl: 'ALOR_FOLLOW_UP_QUEUE_URL',
  tinkoffFollowUpQueueUrl: 'TINKOFF_FOLLOW_UP_QUEUE_URL',
} as const;

/**
 * Every name in {@link ENV}, and any other name with one of their prefixes: what a run that must not inherit the
 * host's settings (a test's cold container, a benchmark, a child dev server) clears first.
 */
export const FUNCTION_SETTING_NAME =
  /^(WEBHOOK_|ALOR_|TINKOFF_|BROKER_|SECRETS_|DRY_RUN$|LOG_LEVEL$|ALLOWED_SOURCE_IPS$|POSITION_LOCK_|CLOSE_UNPROTECTED$|TELEGRAM_|NOTIFY_|FOLLOW_UP_|PARAMETERS_SECRETS_|AWS_SESSION_TOKEN$|AWS_ENDPOINT_URL_DYNAMODB$|AWS_ENDPOINT_URL_SQS$|KILL_SWITCH|SIGNAL_MAX_AGE_|CHECK_TRADING_STATUS$|MAX_LOTS_PER_ORDER$|MAX_POSITION_LOTS$|MAX_ORDER_RUB$|MAX_ORDERS_PER_DAY$|DAILY_LOSS_LIMIT$)/;

/** The environment variables only the local tools read: `npm start`, and `npm run preflight` beside it. */
export const LOCAL_ENV = {
  port: 'PORT',
  envFile: 'ENV_FILE',
  /** `npm start`: the paper brokers' failure scenarios to start with, comma-separated (`read-only-token`, …). */
  paperScenarios: 'PAPER_SCENARIOS',
  /** `npm run preflight`: where to ask whether a token T-Invest rejected is a sandbox token. */
  tinkoffSandboxApiUrl: 'PREFLIGHT_TINKOFF_SANDBOX_URL',
} as const;

/**
 * The addresses TradingView sends its webhook alerts from (IPv4 only), as its help centre publishes them
 * (https://www.tradingview.com/support/solutions/43000529348/): what `tradingview` in `ALLOWED_SOURCE_IPS` stands for.
 */
export const TRADINGVIEW_SOURCE_IPS = ['52.89.214.238', '34.212.75.30', '54.218.53.128', '52.32.178.7'] as const;
/** The word in `ALLOWED_SOURCE_IPS` that stands for {@link TRADINGVIEW_SOURCE_IPS}. */
export const TRADINGVIEW_SOURCES = 'tradingview';

/** TradingView gives a webhook 3 s; the broker calls of one request get this much of it (`BROKER_TIMEOUT_MS`). */
export const DEFAULT_BROKER_TIMEOUT_MS = 2500;
/**
 * The store reads before the payload (the webhook secret) get this much of a request before they eat into the broker's
 * deadline: a request's own deadline is `BROKER_TIMEOUT_MS` + this, from its arrival (docs/contract.md#deadline-and-retries).
 */
export const STORE_READ_ALLOWANCE_MS = 200;
/** From a deadline's expiry to the answer sent: the contract's "+ 200 ms". */
export const ANSWER_MARGIN_MS = 200;
/**
 * Every signal is answered within this long of its arrival, with the default `BROKER_TIMEOUT_MS`, whatever the store
 * and the broker do: TradingView drops a webhook after 3 s.
 */
export const ANSWER_WITHIN_MS = DEFAULT_BROKER_TIMEOUT_MS + STORE_READ_ALLOWANCE_MS + ANSWER_MARGIN_MS;
/** How long a request may take from its arrival to its last store read or broker call: `BROKER_TIMEOUT_MS` + 200 ms. */
export function requestBudgetMs(brokerTimeoutMs: number): number {
  return brokerTimeoutMs + STORE_READ_ALLOWANCE_MS;
}
/** The largest `BROKER_TIMEOUT_MS`: API Gateway gives up on the function at 30 s. */
export const MAX_BROKER_TIMEOUT_MS = 25_000;
/**
 * How long a function waits for the Parameters and Secrets extension before reading with the AWS SDK instead; the
 * stack gives the extension less than this for its own call to Secrets Manager or SSM (infra/app-function.ts).
 */
export const STORE_EXTENSION_READ_TIMEOUT_MS = 1000;

/** The extension's HTTP interface: the header that carries the session token, and its two read paths. */
export const EXTENSION_TOKEN_HEADER = 'x-aws-parameters-secrets-token';
export const EXTENSION_SECRET_PATH = '/secretsmanager/get';
export const EXTENSION_PARAMETER_PATH = '/systemsmanager/parameters/get';

/** A rotated secret is picked up within this time (`SECRETS_CACHE_TTL_MS`). */
export const DEFAULT_SECRETS_TTL_MS = 5 * 60_000;
/**
 * A value the store stops confirming (its re-reads fail) is still served this long past its TTL, then no longer: a
 * regional outage of Secrets Manager or SSM is survived for 10 minutes, while a permanent change (an IAM policy, a
 * deleted secret, a token taken away to stop trading) takes effect within the TTL + 10 minutes (15 by default).
 */
export const MAX_STALE_MS = 10 * 60_000;

/** The brokers' production endpoints, used when no URL is configured. */
export const ALOR_DEFAULT_OAUTH_URL = 'https://oauth.alor.ru';
export const ALOR_DEFAULT_API_URL = 'https://api.alor.ru';
export const TINKOFF_DEFAULT_API_URL: Readonly<Record<TinkoffApi, string>> = {
  v2: 'https://invest-public-api.tbank.ru/rest',
  v1: 'https://api-invest.tinkoff.ru',
};
/** The brokers' test environments: Alor's test hosts, T-Invest's sandbox. */
export const ALOR_TEST_OAUTH_URL = 'https://oauthdev.alor.ru';
export const ALOR_TEST_API_URL = 'https://apidev.alor.ru';
export const TINKOFF_SANDBOX_API_URL = 'https://sandbox-invest-public-api.tbank.ru/rest';

/** Where a user issues (and revokes) a broker token: the pages the brokers' own docs name. */
export const BROKER_TOKEN_PAGES: Readonly<Record<Broker, string>> = {
  alor: 'https://alor.dev/open-api-tokens',
  tinkoff: 'https://www.tbank.ru/invest/settings/',
};

/**
 * Whether orders sent to `url` trade real money: a host of the defaults above, or T-Invest's former v2 host. (The
 * test hosts are apidev/oauthdev.alor.ru and sandbox-invest-public-api.)
 */
export function isProductionBrokerUrl(url: string): boolean {
  const productionUrls = [ALOR_DEFAULT_API_URL, ALOR_DEFAULT_OAUTH_URL, ...Object.values(TINKOFF_DEFAULT_API_URL)];
  const hosts = [...productionUrls.map((production) => new URL(production).hostname), 'invest-public-api.tinkoff.ru'];
  return hosts.includes(new URL(url).hostname);
}

/** Whether `url` is one of the brokers' test environments (Alor's test hosts, T-Invest's sandbox). */
export function isTestBrokerUrl(url: string): boolean {
  const hosts = [ALOR_TEST_OAUTH_URL, ALOR_TEST_API_URL, TINKOFF_SANDBOX_API_URL].map((test) => new URL(test).hostname);
  return [...hosts, 'sandbox-invest-public-api.tinkoff.ru'].includes(new URL(url).hostname);
}

/** What a broker URL is, said plainly: real money, the broker's test environment, or neither (a paper broker, a proxy). */
export type BrokerHostKind = 'production' | 'test' | 'other';

export function brokerHostKind(url: string): BrokerHostKind {
  if (isProductionBrokerUrl(url)) return 'production';
  return isTestBrokerUrl(url) ? 'test' : 'other';
}

/**
 * Length of a generated webhook secret (by the stack at creation, by `npm run secrets -- rotate` and by `npm start`).
 * Letters and digits only, so it can go into `?secret=` unescaped: about 238 bits.
 */
export const WEBHOOK_SECRET_LENGTH = 40;
export const WEBHOOK_SECRET_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** The values `npm run secrets` stores, by the names it knows them by: secrets, then parameters. */
export const STORED_SECRETS = ['webhook-secret', 'alor-refresh-token', 'tinkoff-token', 'telegram-bot-token'] as const;
export const STORED_PARAMETERS = ['alor-portfolio', 'tinkoff-account-id', 'telegram-chat-id'] as const;

/**
 * The guards' defaults (docs/contract.md#guards). An entry's `ts` may be this old unless its `ttl` says otherwise; an
 * order of more lots than this is refused unless `MAX_LOTS_PER_ORDER` raises it: no widget order comes near it (a
 * million lots of the cheapest Moscow Exchange lot is millions of roubles), while a size a bug or a typo makes (`"v":
 * 2147483647`) never reaches a broker.
 */
export const DEFAULT_SIGNAL_MAX_AGE_SECONDS = 60;
export const DEFAULT_MAX_LOTS_PER_ORDER = 1_000_000;
/** The largest `ttl` and `SIGNAL_MAX_AGE_SECONDS`: a day. */
export const MAX_SIGNAL_AGE_SECONDS = 86_400;
/** The kill switch is read again after this long (`KILL_SWITCH_TTL_SECONDS`): a switch turned on stops entries by then. */
export const DEFAULT_KILL_SWITCH_TTL_SECONDS = 5;
export const MAX_KILL_SWITCH_TTL_SECONDS = 300;
/** How long a container keeps an instrument's trading status and an account's portfolio (value, day's result). */
export const TRADING_STATUS_TTL_MS = 10_000;
export const PORTFOLIO_TTL_MS = 5_000;
/** The most orders a day `MAX_ORDERS_PER_DAY` may allow: the day's counter keeps each order's key in one item. */
export const MAX_ORDERS_PER_DAY_LIMIT = 5_000;
/** The largest `MAX_ORDER_RUB`: far above any account, so that a limit beyond it is a typo. */
export const MAX_ORDER_RUB = 1e12;

/** `DAILY_LOSS_LIMIT` (context `dailyLossLimit`): roubles or a percentage of the portfolio. */
export type DailyLossLimit = { readonly unit: 'rub' | 'pct'; readonly amount: number };
export const DAILY_LOSS_LIMIT_RULE = 'must be roubles (5000) or a percentage below 100 (2%)';

/** `5000` → 5 000 roubles, `2%` → 2 percent; `''` or `0`: none; `'invalid'`: neither. */
export function parseDailyLossLimit(text: string): DailyLossLimit | undefined | 'invalid' {
  const trimmed = text.trim();
  if (trimmed === '' || trimmed === '0') return undefined;
  const match = /^(\d{1,12}(?:\.\d{1,2})?)(%?)$/.exec(trimmed);
  const amount = Number(match?.[1]);
  if (match === null || !(amount > 0) || (match[2] === '%' && amount >= 100)) return 'invalid';
  return { unit: match[2] === '%' ? 'pct' : 'rub', amount };
}

/** Prefix of every secret and parameter name the stack creates (CDK context `resourcePrefix`). */
export const DEFAULT_RESOURCE_PREFIX = 'ppp-webhooks';

/** The secret and parameter names the stack uses by default, derived from the prefix. */
export function storeNames(prefix: string) {
  return {
    webhookSecret: `${prefix}/webhook-secret`,
    alorRefreshToken: `${prefix}/alor/refresh-token`,
    tinkoffToken: `${prefix}/tinkoff/token`,
    alorPortfolio: `/${prefix}/alor/portfolio`,
    tinkoffAccountId: `/${prefix}/tinkoff/account-id`,
    telegramBotToken: `${prefix}/telegram/bot-token`,
    telegramChatId: `/${prefix}/telegram/chat-id`,
    killSwitch: `/${prefix}/kill-switch`,
  } as const;
}

/**
 * The longest keep-warm interval (CDK context `keepWarmMinutes`): what a keep-warm prepares (Alor's access token) is
 * made to last this long, so it is still valid at the next turn.
 */
export const MAX_KEEP_WARM_MINUTES = 15;

/** API Gateway stops waiting for an integration after 30 s; the function must give up before that. */
export const API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS = 30;
/**
 * API Gateway HTTP API quota "Maximum payload size": 10 MB. A bigger request is answered 413 by the gateway, before
 * any function runs.
 */
export const API_GATEWAY_MAX_PAYLOAD_BYTES = 10 * 1024 * 1024;

/** Telegram's Bot API; `TELEGRAM_API_URL` points the notifier elsewhere (the fake Telegram of the tests and `npm start`). */
export const DEFAULT_TELEGRAM_API_URL = 'https://api.telegram.org';
/** Telegram's limit on a message's text, counted after entity parsing. */
export const TELEGRAM_MAX_MESSAGE_CHARS = 4096;

/** What the trader hears about (`NOTIFY_KINDS`, a comma list); docs/telegram.md#what-gets-a-message says what each is. */
export const NOTIFY_KINDS = [
  'placed',
  'dry-run',
  'refused',
  'invalid',
  'failed',
  'not-configured',
  'unauthorized',
  'forbidden-source',
  'follow-up',
  'alarm',
  'check',
] as const;
export type NotifyKind = (typeof NOTIFY_KINDS)[number];
/** Everything but `check`: a health ping (the bot's `/setpppwebhook`, a monitor) is no news to the trader. */
export const DEFAULT_NOTIFY_KINDS: readonly NotifyKind[] = NOTIFY_KINDS.filter((kind) => kind !== 'check');

/**
 * `NOTIFY_KINDS` read as the notifier and the CDK app read it: names separated by commas (spaces allowed); `all` is
 * every kind, an empty list none. `undefined` when a name is not a kind.
 */
export function parseNotifyKinds(text: string): NotifyKind[] | undefined {
  const names = text
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  if (names.length === 1 && names[0] === 'all') return [...NOTIFY_KINDS];
  const kinds = NOTIFY_KINDS.filter((kind) => names.includes(kind));
  return kinds.length === new Set(names).size ? kinds : undefined;
}

/** Languages of the messages (`NOTIFY_LANGUAGE`). */
export const NOTIFY_LANGUAGES = ['ru', 'en'] as const;
export type NotifyLanguage = (typeof NOTIFY_LANGUAGES)[number];
export const DEFAULT_NOTIFY_LANGUAGE: NotifyLanguage = 'ru';

/** A placed order is looked up at its broker this long after it was placed (`FOLLOW_UP_DELAY_SECONDS`). */
export const DEFAULT_FOLLOW_UP_DELAY_SECONDS = 10;
/** SQS's longest message delay. */
export const MAX_FOLLOW_UP_DELAY_SECONDS = 900;
/**
 * Refused calls (401 unauthorized, 403 from outside the allow-list) are told at most once per function and cause per
 * this window, with their count; a CloudWatch alarm's period is the same, so a failure is told at most once per
 * function and cause in it too.
 */
export const NOTIFY_WINDOW_SECONDS = 600;

/** The `message` of the log lines the notifier reads: the webhook's one line per invocation, and the follow-up's. */
/**
 * A protected entry's watch at T-Invest (docs/contract.md#protection): it checks every this many seconds while
 * anything of it is open (the SQS delay of its next message), again after this many when a stop could not be placed,
 * and tells the protection failed after this many attempts.
 */
export const PROTECTION_WATCH_SECONDS = 10;

/**
 * The name of a broker's follow-up queue in a stack: known ahead, so that the webhook (in the stack) can be given it
 * while the queue lives in the nested notifications stack, whose resources already depend on the webhook's.
 */
export function followUpQueueName(stackName: string, broker: Broker): string {
  return `${stackName}-${broker === 'alor' ? 'Alor' : 'Tinkoff'}FollowUp`;
}
export const PROTECTION_RETRY_SECONDS = 2;
export const PROTECTION_WATCH_ATTEMPTS = 3;

export const WEBHOOK_LOG_MESSAGE = 'webhook answered';
export const FOLLOW_UP_LOG_MESSAGE = 'order followed up';
/** The line of each check of a protected entry's watch (shared/brokers/follow-up-handler.ts). */
export const PROTECTION_LOG_MESSAGE = 'protection checked';
