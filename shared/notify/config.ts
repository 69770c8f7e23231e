import { parseEnv, source, type ValueSource, wholeNumberOr } from '../config.ts';
import {
  type Broker,
  DEFAULT_FOLLOW_UP_DELAY_SECONDS,
  DEFAULT_NOTIFY_KINDS,
  DEFAULT_NOTIFY_LANGUAGE,
  DEFAULT_SECRETS_TTL_MS,
  DEFAULT_TELEGRAM_API_URL,
  MAX_FOLLOW_UP_DELAY_SECONDS,
  NOTIFY_ENV,
  NOTIFY_LANGUAGES,
  type NotifyKind,
  type NotifyLanguage,
} from '../facts.ts';
import { baseUrl, notifyKinds } from '../settings-rules.ts';
import * as z from '../zod.ts';

/**
 * The notifier's configuration, parsed once per container from its environment (the CDK stack sets it; `npm start`
 * and the tests build it). A bad value fails the cold start with a message naming the variable, never the value.
 */

export interface NotifierConfig {
  /** Secrets Manager (deployed) or a plain value (`npm start`, tests); unset or empty: the notifier is off. */
  readonly botToken: ValueSource;
  /** SSM Parameter Store (deployed) or a plain value. */
  readonly chatId: ValueSource;
  readonly apiUrl: string;
  readonly language: NotifyLanguage;
  readonly kinds: ReadonlySet<NotifyKind>;
  readonly followUpDelaySeconds: number;
  readonly secretsCacheTtlMs: number;
}

/** Where the deployed notifier's queues and table are: their URLs and name, from the stack. */
export interface NotifierResources {
  readonly tableName: string;
  readonly queueUrl: string;
  readonly deadLetterQueueUrl: string;
  readonly followUpQueueUrls: Readonly<Record<Broker, string>>;
}

type Env = Record<string, string | undefined>;

/** Unset or blank is `undefined`; else the value, trimmed. */
const text = z.pipe(
  z.optional(z.string()),
  z.transform((value: string | undefined) => (value === undefined || value.trim() === '' ? undefined : value.trim())),
);

const NotifierEnvSchema = z.object({
  [NOTIFY_ENV.telegramBotTokenSecretId]: text,
  [NOTIFY_ENV.telegramBotToken]: text,
  [NOTIFY_ENV.telegramChatIdParameter]: text,
  [NOTIFY_ENV.telegramChatId]: text,
  [NOTIFY_ENV.telegramApiUrl]: z.pipe(text, z.optional(baseUrl)),
  [NOTIFY_ENV.language]: z.pipe(text, z.optional(z.enum(NOTIFY_LANGUAGES))),
  [NOTIFY_ENV.kinds]: z.pipe(text, z.optional(notifyKinds)),
  [NOTIFY_ENV.followUpDelaySeconds]: z.pipe(
    text,
    wholeNumberOr('must be a whole number of seconds', 0, MAX_FOLLOW_UP_DELAY_SECONDS, DEFAULT_FOLLOW_UP_DELAY_SECONDS),
  ),
});

export function loadNotifierConfig(env: Env = process.env): NotifierConfig {
  const parsed = parseEnv(NotifierEnvSchema, env);
  return {
    botToken: source(parsed[NOTIFY_ENV.telegramBotTokenSecretId], parsed[NOTIFY_ENV.telegramBotToken], 'secret'),
    chatId: source(parsed[NOTIFY_ENV.telegramChatIdParameter], parsed[NOTIFY_ENV.telegramChatId], 'parameter'),
    apiUrl: parsed[NOTIFY_ENV.telegramApiUrl] ?? DEFAULT_TELEGRAM_API_URL,
    language: parsed[NOTIFY_ENV.language] ?? DEFAULT_NOTIFY_LANGUAGE,
    kinds: new Set(parsed[NOTIFY_ENV.kinds] ?? DEFAULT_NOTIFY_KINDS),
    followUpDelaySeconds: parsed[NOTIFY_ENV.followUpDelaySeconds],
    secretsCacheTtlMs: DEFAULT_SECRETS_TTL_MS,
  };
}

const ResourcesEnvSchema = z.object({
  [NOTIFY_ENV.tableName]: z.string().check(z.minLength(1)),
  [NOTIFY_ENV.queueUrl]: z.url(),
  [NOTIFY_ENV.deadLetterQueueUrl]: z.url(),
  [NOTIFY_ENV.alorFollowUpQueueUrl]: z.url(),
  [NOTIFY_ENV.tinkoffFollowUpQueueUrl]: z.url(),
});

/** The deployed notifier's table and queues: all required, the stack sets them. */
export function loadNotifierResources(env: Env = process.env): NotifierResources {
  const parsed = parseEnv(ResourcesEnvSchema, env);
  return {
    tableName: parsed[NOTIFY_ENV.tableName],
    queueUrl: parsed[NOTIFY_ENV.queueUrl],
    deadLetterQueueUrl: parsed[NOTIFY_ENV.deadLetterQueueUrl],
    followUpQueueUrls: {
      alor: parsed[NOTIFY_ENV.alorFollowUpQueueUrl],
      tinkoff: parsed[NOTIFY_ENV.tinkoffFollowUpQueueUrl],
    },
  };
}
