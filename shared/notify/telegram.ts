import type { Dispatcher } from 'undici';
import * as z from 'zod';
import { BrokerTimeoutError, BrokerUnavailableError, describeError } from '../errors.ts';
import { TELEGRAM_MAX_MESSAGE_CHARS } from '../facts.ts';
import { endpoint, parseJsonText, sendBrokerRequest } from '../http/outbound/client.ts';
import { createDeadline } from '../http/outbound/deadline.ts';
import { truncateHtml } from './html.ts';

/**
 * Telegram Bot API `sendMessage` with HTML parse mode, and its retry policy: 429 waits `retry_after` (when it is no
 * longer than {@link MAX_RETRY_AFTER_SECONDS}); a 5xx, a timeout or a network error is tried again after a backoff,
 * {@link MAX_ATTEMPTS} times in all; any other answer is final. The result says whether the message was delivered;
 * nothing here throws for Telegram's sake, and nothing it returns or logs quotes the URL (it holds the bot token).
 */

export const MAX_RETRY_AFTER_SECONDS = 30;
export const MAX_ATTEMPTS = 4;
/** Waits before the 2nd, 3rd and 4th attempt after a 5xx or a network failure. */
export const BACKOFF_MS = [500, 1000, 2000] as const;
/** Each attempt's deadline. */
const ATTEMPT_TIMEOUT_MS = 5000;
/** Telegram's own descriptions are short; a longer one is cut before it reaches a log line. */
const MAX_DESCRIPTION_CHARS = 200;

/** The chat and the bot: the token is a secret (Secrets Manager), the chat id an identifier (SSM). */
export interface TelegramTarget {
  readonly botToken: string;
  readonly chatId: string;
}

export type SendResult =
  | { readonly delivered: true; readonly messageId: number; readonly attempts: number }
  /** `reason`: a status and Telegram's description, or an error code; never a URL or a token. */
  | { readonly delivered: false; readonly reason: string; readonly attempts: number };

export interface TelegramClientOptions {
  readonly dispatcher: Dispatcher;
  /** @default https://api.telegram.org */
  readonly apiUrl: string;
  /** How the client waits before a retry; tests pass one that returns at once and records the wait. */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** `sendMessage`'s answer, the fields read: `ok`, the message id, or the error with its `retry_after`. */
const TelegramAnswerSchema = z.object({
  ok: z.boolean(),
  result: z.object({ message_id: z.number().int() }).optional(),
  description: z.string().optional(),
  parameters: z.object({ retry_after: z.number().int().nonnegative().optional() }).optional(),
});

/** What Telegram said of one attempt: delivered, wait and retry, retry after a backoff, or give up. */
type Attempt =
  | { readonly kind: 'delivered'; readonly messageId: number }
  | { readonly kind: 'retry'; readonly waitMs: number; readonly reason: string }
  | { readonly kind: 'final'; readonly reason: string };

const sleepFor = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function describeAnswer(statusCode: number, description: string | undefined): string {
  const text = description === undefined ? '' : ` ${description.slice(0, MAX_DESCRIPTION_CHARS)}`;
  return `HTTP ${statusCode}${text}`;
}

export function answerToAttempt(statusCode: number, text: string, attempt: number): Attempt {
  const parsed = TelegramAnswerSchema.safeParse(parseJsonText(text));
  const answer = parsed.success ? parsed.data : undefined;
  if (statusCode === 200 && answer?.ok === true && answer.result !== undefined) {
    return { kind: 'delivered', messageId: answer.result.message_id };
  }
  const reason = describeAnswer(statusCode, answer?.description);
  if (statusCode === 429) {
    const retryAfter = answer?.parameters?.retry_after ?? 1;
    return retryAfter <= MAX_RETRY_AFTER_SECONDS
      ? { kind: 'retry', waitMs: retryAfter * 1000, reason }
      : { kind: 'final', reason };
  }
  if (statusCode >= 500) return { kind: 'retry', waitMs: BACKOFF_MS[attempt - 1] ?? 0, reason };
  return { kind: 'final', reason };
}

export class TelegramClient {
  readonly #dispatcher: Dispatcher;
  readonly #apiUrl: string;
  readonly #sleep: (ms: number) => Promise<void>;

  constructor(options: TelegramClientOptions) {
    this.#dispatcher = options.dispatcher;
    this.#apiUrl = options.apiUrl;
    this.#sleep = options.sleep ?? sleepFor;
  }

  /** Sends `html` (already escaped where it must be) to the chat, cut to Telegram's 4,096 characters if longer. */
  async sendMessage(target: TelegramTarget, html: string): Promise<SendResult> {
    const body = JSON.stringify({
      chat_id: target.chatId,
      text: truncateHtml(html, TELEGRAM_MAX_MESSAGE_CHARS),
      parse_mode: 'HTML',
      link_preview_options: { is_disabled: true },
    });
    const url = endpoint(this.#apiUrl, `/bot${target.botToken}/sendMessage`);
    let reason = '';
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt += 1) {
      const result = await this.#attempt(url, body, attempt);
      if (result.kind === 'delivered') return { delivered: true, messageId: result.messageId, attempts: attempt };
      reason = result.reason;
      if (result.kind === 'final') return { delivered: false, reason, attempts: attempt };
      if (attempt < MAX_ATTEMPTS) await this.#sleep(result.waitMs);
    }
    return { delivered: false, reason, attempts: MAX_ATTEMPTS };
  }

  async #attempt(url: ReturnType<typeof endpoint>, body: string, attempt: number): Promise<Attempt> {
    try {
      const response = await sendBrokerRequest(this.#dispatcher, {
        endpoint: url,
        body,
        deadline: createDeadline(ATTEMPT_TIMEOUT_MS),
        // sendMessage has no idempotency key: the transport resends only what never left.
        idempotent: false,
      });
      return answerToAttempt(response.statusCode, response.text, attempt);
    } catch (error) {
      // The transport's errors name a code, never the URL.
      const detail =
        error instanceof BrokerUnavailableError || error instanceof BrokerTimeoutError
          ? error.detail
          : (describeError(error).code ?? describeError(error).name);
      return { kind: 'retry', waitMs: BACKOFF_MS[attempt - 1] ?? 0, reason: `network ${detail}` };
    }
  }
}
