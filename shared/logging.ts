import { ENV } from './facts.ts';

/**
 * One structured logger: a JSON object per line on stdout, which CloudWatch Logs Insights reads as fields.
 * Every line passes through `redact`, so a secret value read from the store can never be printed,
 * whichever code path tries (defence in depth: no code is meant to log one in the first place).
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

const LEVEL_RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const REDACTED = '[redacted]';
/** Shortest value worth redacting: shorter ones would blank out ordinary words. */
const MIN_REDACTED_LENGTH = 6;
const CREDENTIAL_IN_URL = /([?&](?:token|secret|access_token)=)[^&\s"]*/gi;
const BEARER = /(bearer\s+)[^\s"]+/gi;

const secretValues = new Set<string>();

/** Remember a value read from the secret store, so that no log line ever holds it. */
export function registerSecret(value: string): void {
  if (value.length < MIN_REDACTED_LENGTH) return;
  secretValues.add(value);
  // Lines are redacted after JSON.stringify: a value with a quote, backslash or control character appears escaped.
  const escaped = JSON.stringify(value).slice(1, -1);
  if (escaped !== value) secretValues.add(escaped);
}

export function redact(text: string): string {
  // The expressions run only on a line that holds what they look for (rarely): a plain search is cheaper than either.
  const lowerCase = text.toLowerCase();
  let result = text;
  if (lowerCase.includes('token=') || lowerCase.includes('secret=')) {
    result = result.replace(CREDENTIAL_IN_URL, `$1${REDACTED}`);
  }
  if (lowerCase.includes('bearer')) result = result.replace(BEARER, `$1${REDACTED}`);
  for (const value of secretValues) {
    if (result.includes(value)) result = result.split(value).join(REDACTED);
  }
  return result;
}

function formatLine(entry: LogFields): string {
  return redact(JSON.stringify(entry));
}

type LogListener = (line: string) => void;
const listeners = new Set<LogListener>();

/**
 * Also hands every line written from now on (already redacted) to `listener`, until the returned function is called.
 * For the local run: `npm start` feeds the in-process functions' lines to the same notifier a log subscription feeds
 * on AWS. Nothing deployed registers one.
 */
export function addLogListener(listener: LogListener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

export function parseLogLevel(value: string | undefined): LogLevel {
  return value !== undefined && Object.hasOwn(LEVEL_RANK, value) ? (value as LogLevel) : 'info';
}

export function createLogger(
  level: LogLevel = parseLogLevel(process.env[ENV.logLevel]?.toLowerCase()),
  bound: LogFields = {},
  write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): Logger {
  const emit = (lineLevel: LogLevel, message: string, fields?: LogFields) => {
    if (LEVEL_RANK[lineLevel] < LEVEL_RANK[level]) return;
    const line = formatLine({ level: lineLevel, time: new Date().toISOString(), message, ...bound, ...fields });
    write(line);
    for (const listener of listeners) listener(line);
  };
  return {
    debug: (message, fields) => emit('debug', message, fields),
    info: (message, fields) => emit('info', message, fields),
    warn: (message, fields) => emit('warn', message, fields),
    error: (message, fields) => emit('error', message, fields),
    child: (fields) => createLogger(level, { ...bound, ...fields }, write),
  };
}

export const logger = createLogger();

/**
 * Does once what a cold process's first line would: Node creates `process.stdout` on first access and V8 sets up its
 * date handling on the first `Date` (docs/performance.md#alternatives-tried). A container's init runs this while it waits for the
 * store, instead of its first call. Writes nothing.
 */
export function prepareLogOutput(): void {
  void process.stdout;
  formatLine({ time: new Date().toISOString() });
}
