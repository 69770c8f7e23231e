import type { APIGatewayProxyEventV2 } from 'aws-lambda';

/**
 * The console's record of recent webhook calls: what was sent (with nothing secret) and what was answered.
 * Secrets are removed by name (the `secret` query parameter and body key, the secret and signature headers, cookies
 * and authorization) and, as a second line of defence, by value: any known secret found anywhere in the text is
 * replaced, so a secret pasted into a body or another header does not show either.
 */

export const HIDDEN = '[hidden]';
/** Bodies are shown up to this many characters. */
export const MAX_SHOWN_BODY_CHARS = 2000;
/** A JSON string token, escapes included: what the body is scanned by, once, left to right. */
const JSON_STRING = /"(?:[^"\\]|\\.)*"/g;
/** The body's key of the webhook secret (shared/auth/body-secret.ts), however its JSON text spells it (`"\u0073ecret"`). */
const BODY_SECRET_KEY = 'secret';
/** Header names whose values are never shown. */
const SECRET_HEADERS = /secret|signature|token|auth|cookie|api-key|password/i;
/** Headers that say nothing about the call: left out of the console. */
const NOISE_HEADERS = new Set([
  'host',
  'connection',
  'content-length',
  'accept',
  'accept-encoding',
  'accept-language',
  'origin',
  'referer',
  'x-forwarded-for',
  'x-forwarded-port',
  'x-forwarded-proto',
  'x-amzn-trace-id',
]);

export interface CallRecord {
  readonly id: number;
  readonly time: string;
  readonly broker: string;
  readonly method: string;
  /** Path and query, the `secret` value hidden. */
  readonly target: string;
  /** How the caller presented the secret (`header`, `query`, `signature`, `body`), not whether it was right. */
  readonly auth: readonly string[];
  readonly headers: Readonly<Record<string, string>>;
  /** The body as text, shortened; `base64` when API Gateway delivered it base64-encoded. */
  readonly body: string;
  readonly bodyEncoding: 'text' | 'base64';
  readonly status: number;
  readonly answer: string;
  readonly latencyMs: number;
}

export type CallInput = Omit<CallRecord, 'id' | 'time' | 'target' | 'auth' | 'headers' | 'body' | 'bodyEncoding'> & {
  readonly event: APIGatewayProxyEventV2;
  readonly receivedAt: Date;
};

function hideValues(text: string, secrets: readonly string[]): string {
  let result = text;
  for (const secret of secrets) {
    if (secret !== '' && result.includes(secret)) result = result.split(secret).join(HIDDEN);
  }
  return result;
}

/** A JSON string token's value, or `undefined` when it is not a valid one. */
function decodeJsonString(token: string): string | undefined {
  try {
    return JSON.parse(token) as string;
  } catch {
    return undefined;
  }
}

/**
 * The body as the console shows it: each JSON string read as JSON reads it, so no spelling hides what it says. The
 * value of a `secret` key is hidden, and any string holding a known secret has it hidden, even when the text wrote it
 * with escapes (`"\u0073ecret"`, `"s\u0033cret-value"`). Everything else is left as sent.
 */
function hideBodySecrets(text: string, secrets: readonly string[]): { shown: string; bodySecret: boolean } {
  let bodySecret = false;
  let hideNextValue = false;
  let end = 0;
  const shown = text.replace(JSON_STRING, (token, offset: number) => {
    const between = text.slice(end, offset);
    end = offset + token.length;
    const value = decodeJsonString(token);
    const isKey = /^\s*:/.test(text.slice(end, end + 64));
    if (hideNextValue && /^\s*:\s*$/.test(between) && !isKey) {
      hideNextValue = false;
      return `"${HIDDEN}"`;
    }
    hideNextValue = false;
    if (value === undefined) return hideValues(token, secrets);
    if (isKey && value.toLowerCase() === BODY_SECRET_KEY) {
      bodySecret ||= value === BODY_SECRET_KEY;
      hideNextValue = true;
    }
    const hidden = hideValues(value, secrets);
    return hidden === value && hideValues(token, secrets) === token ? token : JSON.stringify(hidden);
  });
  return { shown: hideValues(shown, secrets), bodySecret };
}

function shorten(text: string): string {
  return text.length <= MAX_SHOWN_BODY_CHARS ? text : `${text.slice(0, MAX_SHOWN_BODY_CHARS)}… (${text.length} chars)`;
}

/** A query part's name or value as a server reads it; the raw text when its escapes are malformed. */
function decodeQueryPart(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

/**
 * `rawPath?query` with the values of `secret` (any case) hidden, and any value that holds a known secret once decoded
 * (`%73%33cret…`).
 */
export function safeTarget(event: APIGatewayProxyEventV2, secrets: readonly string[] = []): string {
  if (event.rawQueryString === '') return event.rawPath;
  const parts = event.rawQueryString.split('&').map((part) => {
    const separator = part.indexOf('=');
    const name = separator === -1 ? part : part.slice(0, separator);
    const value = separator === -1 ? '' : part.slice(separator + 1);
    const secretName = /secret|token|signature/i.test(decodeQueryPart(name));
    return secretName || hideValues(decodeQueryPart(value), secrets) !== decodeQueryPart(value)
      ? `${name}=${HIDDEN}`
      : part;
  });
  return `${event.rawPath}?${parts.join('&')}`;
}

export class CallLog {
  readonly #records: CallRecord[] = [];
  readonly #limit: number;
  readonly #secrets: () => readonly string[];
  #sequence = 0;

  /** `secrets` lists the values to hide wherever they appear; it is read on every record. */
  constructor(options: { limit?: number; secrets: () => readonly string[] }) {
    this.#limit = options.limit ?? 100;
    this.#secrets = options.secrets;
  }

  record(input: CallInput): CallRecord {
    const { event } = input;
    const secrets = this.#secrets();
    const headers: Record<string, string> = {};
    const auth: string[] = [];
    for (const [name, value] of Object.entries(event.headers)) {
      if (value === undefined || NOISE_HEADERS.has(name) || name.startsWith('sec-')) continue;
      headers[name] = SECRET_HEADERS.test(name) ? HIDDEN : hideValues(value, secrets);
    }
    if (event.headers['x-webhook-secret'] !== undefined) auth.push('header');
    if (event.queryStringParameters?.secret !== undefined) auth.push('query');
    if (event.headers['x-hook-signature'] !== undefined) auth.push('signature');

    const raw = event.body ?? '';
    const decoded = event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
    const { shown: shownBody, bodySecret } = hideBodySecrets(decoded, secrets);
    if (bodySecret) auth.push('body');
    this.#sequence += 1;
    const record: CallRecord = {
      id: this.#sequence,
      time: input.receivedAt.toISOString(),
      broker: input.broker,
      method: input.method,
      target: hideValues(safeTarget(event, secrets), secrets),
      auth,
      headers,
      body: shorten(shownBody),
      bodyEncoding: event.isBase64Encoded ? 'base64' : 'text',
      status: input.status,
      answer: shorten(hideValues(input.answer, secrets)),
      latencyMs: input.latencyMs,
    };
    this.#records.push(record);
    if (this.#records.length > this.#limit) this.#records.splice(0, this.#records.length - this.#limit);
    return record;
  }

  /** Newest first. */
  list(): CallRecord[] {
    return [...this.#records].reverse();
  }
}
