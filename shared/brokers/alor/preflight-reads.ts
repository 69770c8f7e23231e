import type { Dispatcher } from 'undici';
import { BrokerCredentialRejectedError, BrokerUnavailableError } from '../../errors.ts';
import { type HttpResponse, parseJsonText } from '../../http/outbound/client.ts';
import type { Deadline } from '../../http/outbound/deadline.ts';
import * as z from '../../zod.ts';
import type { AccountPortfolio } from '../guards.ts';
import { jwtClaims } from './access-token.ts';
import {
  ordersPath,
  portfolioSummaryPath,
  positionsPath,
  readAlorApi,
  securityPath,
  stopOrdersPath,
} from './client.ts';
import {
  REFRESH_REJECTED_MESSAGE,
  readRejected,
  securityResponseToInstrument,
  summaryResponseToPortfolio,
} from './mapping.ts';
import { AlorPortfolioSummarySchema, type AlorSecurity } from './schemas.ts';

/**
 * The reads only Alor's preflight makes (shared/brokers/alor/preflight.ts), with their schemas and mappers: used by the
 * command line, the local run and the bench, never by a deployed function (tests/infra/bundle.test.ts checks that no
 * webhook bundle holds this module).
 */

/**
 * The access token's claims that say whose it is: `portfolios`, the portfolios it may trade, space-separated (the
 * spec's introduction, "Получение списка портфелей"), and `sub`, the user name (Alor's published API docs; the spec
 * does not list the claims).
 */
export const AlorTokenHolderClaimsSchema = z.object({
  sub: z.optional(z.string()),
  portfolios: z.optional(z.string()),
});

/** Whose an access token is: its user and the portfolios it may trade (undefined when it does not say). */
export interface AlorTokenHolder {
  readonly user: string | undefined;
  readonly portfolios: readonly string[] | undefined;
}

export function accessTokenToHolder(accessToken: string): AlorTokenHolder {
  const claims = AlorTokenHolderClaimsSchema.safeParse(jwtClaims(accessToken));
  if (!claims.success) return { user: undefined, portfolios: undefined };
  const { sub, portfolios } = claims.data;
  return { user: sub, portfolios: portfolios?.split(/\s+/).filter((portfolio) => portfolio !== '') };
}

/**
 * Whether the portfolio answers on the exchange: 200 with the summary it is; the documented 403 (and a 404) it is not
 * (a portfolio of another market, or not this user's).
 */
export function summaryResponseToAnswers(statusCode: number, text: string): boolean {
  if (readRejected(statusCode)) throw new BrokerCredentialRejectedError(403, REFRESH_REJECTED_MESSAGE);
  if (statusCode === 403 || statusCode === 404) return false;
  if (statusCode !== 200 || !AlorPortfolioSummarySchema.safeParse(parseJsonText(text)).success) {
    throw new BrokerUnavailableError(`summary HTTP ${statusCode}`, { retriable: false });
  }
  return true;
}

/** The preflight's reads of the API host, with an access token it was just given. */
export class AlorPreflightReads {
  readonly #dispatcher: Dispatcher;
  readonly #apiUrl: string;

  constructor(options: { readonly dispatcher: Dispatcher; readonly apiUrl: string }) {
    this.#dispatcher = options.dispatcher;
    this.#apiUrl = options.apiUrl;
  }

  /** The portfolio's positions, orders of the day and stop orders, as they come: whether the token reads them. */
  stateAnswers(
    accessToken: string,
    exchange: string,
    portfolio: string,
    deadline: Deadline,
  ): Promise<[HttpResponse, HttpResponse, HttpResponse]> {
    return Promise.all([
      this.#read(positionsPath(exchange, portfolio), accessToken, deadline),
      this.#read(ordersPath(exchange, portfolio), accessToken, deadline),
      this.#read(stopOrdersPath(exchange, portfolio), accessToken, deadline),
    ]);
  }

  /**
   * Whether the portfolio answers on the exchange (its summary), and its value and day's result when the summary gives
   * them.
   */
  async portfolioAnswers(accessToken: string, exchange: string, portfolio: string, deadline: Deadline) {
    const response = await this.#read(portfolioSummaryPath(exchange, portfolio), accessToken, deadline);
    const answers = summaryResponseToAnswers(response.statusCode, response.text);
    let value: AccountPortfolio | undefined;
    try {
      value = answers ? summaryResponseToPortfolio(response.statusCode, response.text) : undefined;
    } catch {
      value = undefined;
    }
    return { answers, value };
  }

  /** The instrument a signal's ticker names on the exchange, or undefined when the exchange has none. */
  async security(
    accessToken: string,
    exchange: string,
    symbol: string,
    deadline: Deadline,
  ): Promise<AlorSecurity | undefined> {
    const response = await this.#read(securityPath(exchange, symbol), accessToken, deadline);
    return securityResponseToInstrument(response.statusCode, response.text);
  }

  #read(path: string, accessToken: string, deadline: Deadline) {
    return readAlorApi(this.#dispatcher, this.#apiUrl, path, accessToken, deadline);
  }
}
