import type { Dispatcher } from 'undici';
import * as z from 'zod';
import { BrokerTimeoutError, BrokerUnavailableError, describeError } from '../errors.ts';
import { TELEGRAM_MAX_MESSAGE_CHARS } from '../facts.ts';
import { endpoint, parseJsonText, sendHttpRequest } from '../http/outbound/client.ts';
import { createDeadline } from '../http/outbound/deadline.ts';
import { truncateHtml } from './html.ts';

/**
 * Telegram Bot API `sendMessage` with HTML parse mode, and its retry policy: 429 waits `retry_after`, a 5xx, a timeout
 * or a network error is tried again after a backoff, {@link MAX_ATTEMPTS} times in all; any other answer is final.
 * A send has a time it must be over by (the caller's: what its invocation has left): no attempt and no wait runs past
 * it, nor a wait longer than {@link MAX_RETRY_AFTER_SECONDS}; a message not delivered then is `retryable`, for a later
 * invocation. The result says whether the message was delivered; nothing here throws for Telegram's sake, and nothing
 * it returns or logs quotes the URL (it holds the bot token).
 */

/** The longest wait within one send; a longer `retry_after` leaves the message to a later invocation. */
export const MAX_RETRY_AFTER_SECONDS = 30;
export const MAX_ATTEMPTS = 4;
/** Waits before the 2nd, 3rd and 4th attempt after a 5xx or a network failure. */
export const BACKOFF_MS = [500, 1000, 2000] as const;
/** Each attempt's deadline. */
const ATTEMPT_TIMEOUT_MS = 5000;
/** An attempt is only started with at least this much of the send's time left. */
export const MIN_ATTEMPT_MS = 1000;
/** Telegram's own descriptions are short; a longer one is cut before it reaches a log line. */
const MAX_DESCRIPTION_CHARS = 200;

/** The chat and the bot: the token is a secret (Secrets Manager), the chat id an identifier (SSM). */
export interface TelegramTarget {
  readonly botToken: string;
  readonly chatId: string;
}

export type SendResult =
  | { readonly delivered: true; readonly messageId: number; readonly attempts: number }
  | {
      readonly delivered: false;
      /** A status and Telegram's description, or an error code; never a URL or a token. */
      readonly reason: string;
      readonly attempts: number;
      /** Whether a later try may succeed (a 429, a 5xx, no answer, no time left); false for Telegram's final refusals. */
      readonly retryable: boolean;
    };

export interface SendOptions {
  /** When the send must be over, on the client's clock (ms); unset: only the attempts and waits bound it. */
  readonly sendBy?: number;
}

export interface TelegramClientOptions {
  readonly dispatcher: Dispatcher;
  /** @default https://api.telegram.org */
  readonly apiUrl: string;
  /** How the client waits before a retry; tests pass one that returns at once and records the wait. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** The clock `sendBy` is read on. @default Date.now */
  readonly now?: () => number;
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
  if (statusCode === 429) return { kind: 'retry', waitMs: (answer?.parameters?.retry_after ?? 1) * 1000, reason };
  if (statusCode >= 500) return { kind: 'retry', waitMs: BACKOFF_MS[attempt - 1] ?? 0, reason };
  return { kind: 'final', reason };
}

export class TelegramClient {
  readonly #dispatcher: Dispatcher;
  readonly #apiUrl: string;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #now: () => number;

  constructor(options: TelegramClientOptions) {
    this.#dispatcher = options.dispatcher;
    this.#apiUrl = options.apiUrl;
    this.#sleep = options.sleep ?? sleepFor;
    this.#now = options.now ?? Date.now;
  }

  /** Sends `html` (already escaped where it must be) to the chat, cut to Telegram's 4,096 characters if longer. */
  async sendMessage(target: TelegramTarget, html: string, options: SendOptions = {}): Promise<SendResult> {
    const body = JSON.stringify({
      chat_id: target.chatId,
      text: truncateHtml(html, TELEGRAM_MAX_MESSAGE_CHARS),
      parse_mode: 'HTML',
      link_preview_options: { is_disabled: true },
    });
    const url = endpoint(this.#apiUrl, `/bot${target.botToken}/sendMessage`);
    const sendBy = options.sendBy ?? Number.POSITIVE_INFINITY;
    const later = (attempts: number, why: string) =>
      ({ delivered: false, reason: why, attempts, retryable: true }) as const;
    let reason = '';
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt += 1) {
      const timeLeft = sendBy - this.#now();
      if (timeLeft < MIN_ATTEMPT_MS) {
        return later(attempt - 1, reason === '' ? 'no time left to send' : `${reason}; no time left to try again`);
      }
      const result = await this.#attempt(url, body, attempt, Math.min(ATTEMPT_TIMEOUT_MS, timeLeft));
      if (result.kind === 'delivered') return { delivered: true, messageId: result.messageId, attempts: attempt };
      reason = result.reason;
      if (result.kind === 'final') return { delivered: false, reason, attempts: attempt, retryable: false };
      if (attempt === MAX_ATTEMPTS) break;
      const waitEnds = this.#now() + result.waitMs;
      if (result.waitMs > MAX_RETRY_AFTER_SECONDS * 1000 || waitEnds + MIN_ATTEMPT_MS > sendBy) {
        return later(attempt, `${reason}; a wait of ${Math.ceil(result.waitMs / 1000)} s is left to a later try`);
      }
      await this.#sleep(result.waitMs);
    }
    return later(MAX_ATTEMPTS, reason);
  }

  async #attempt(url: ReturnType<typeof endpoint>, body: string, attempt: number, timeoutMs: number): Promise<Attempt> {
    try {
      const response = await sendHttpRequest(this.#dispatcher, {
        endpoint: url,
        body,
        deadline: createDeadline(timeoutMs),
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
