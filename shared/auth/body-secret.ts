import type { ParseResult } from '../http/inbound/payload.ts';

/**
 * The webhook secret in the body (`{"secret": "…", "t": …}`): for sources that can send no header and whose URL is
 * better kept free of it, such as a TradingView alert, whose message is the body.
 */

/** The body's top-level key that holds the webhook secret. */
export const BODY_SECRET_KEY = 'secret';

export interface SeparatedBody {
  /** The secret presented in the body: a string at the top level, or nothing. */
  readonly secret: string | undefined;
  /** The decoded body without it. */
  readonly body: ParseResult<unknown>;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Takes the top-level `secret` out of a decoded body, whatever it holds, so that the payload schema, the log line and
 * everything after them see the body without it. Only a string counts as a presented secret.
 */
export function separateBodySecret(decoded: ParseResult<unknown>): SeparatedBody {
  if (!decoded.success || !isPlainObject(decoded.data) || !Object.hasOwn(decoded.data, BODY_SECRET_KEY)) {
    return { secret: undefined, body: decoded };
  }
  const { [BODY_SECRET_KEY]: secret, ...rest } = decoded.data;
  return { secret: typeof secret === 'string' ? secret : undefined, body: { success: true, data: rest } };
}
