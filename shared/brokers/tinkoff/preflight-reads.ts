import type { Dispatcher } from 'undici';
import { BrokerUnavailableError } from '../../errors.ts';
import { endpoint, type HttpResponse, parseJsonText } from '../../http/outbound/client.ts';
import type { Deadline } from '../../http/outbound/deadline.ts';
import * as z from '../../zod.ts';
import { postTinkoffV2 } from './client.ts';
import { GET_INSTRUMENT_BY_PATH } from './instruments.ts';
import {
  instrumentIdToRequest,
  instrumentResponseToInstrument,
  isClientError,
  readFailure,
  TOKEN_INVALID_CODE,
} from './mapping.ts';
import { ErrorResponseSchema, type GetAccountsRequest, type Instrument, type PositionsRequest } from './schemas.ts';

/**
 * The reads only T-Invest's preflight makes (shared/brokers/tinkoff/preflight.ts) and `npm run secrets`, with their
 * schemas and mappers: used by the command line, the local run and the bench, never by a deployed function
 * (tests/infra/bundle.test.ts checks that no webhook bundle holds this module).
 */

export const GET_ACCOUNTS_PATH = '/tinkoff.public.invest.api.contract.v1.UsersService/GetAccounts';
export const GET_INFO_PATH = '/tinkoff.public.invest.api.contract.v1.UsersService/GetInfo';

/** `v1Account`, the fields the preflight and `npm run secrets` show; the enums are open (the spec may add values). */
export const AccountSchema = z.object({
  id: z.string(),
  name: z.optional(z.string()),
  /** `v1AccountType`, e.g. `ACCOUNT_TYPE_TINKOFF`. */
  type: z.optional(z.string()),
  /** `v1AccountStatus`: `ACCOUNT_STATUS_OPEN` trades. */
  status: z.optional(z.string()),
  /** `v1AccessLevel`: `ACCOUNT_ACCESS_LEVEL_FULL_ACCESS` trades, `_READ_ONLY` does not. */
  accessLevel: z.optional(z.string()),
});
export type Account = z.infer<typeof AccountSchema>;

/** `v1GetAccountsResponse`. */
export const GetAccountsResponseSchema = z.object({ accounts: z._default(z.array(AccountSchema), []) });

/** `v1GetInfoResponse`, the field the preflight reads: whether the user is a qualified investor. */
export const GetInfoResponseSchema = z.object({ qualStatus: z._default(z.boolean(), false) });

/** `UsersService/GetAccounts`: every account the token reaches, with its status and the token's access to it. */
export function accountsResponseToAccounts(statusCode: number, text: string): Account[] {
  const json = parseJsonText(text);
  if (statusCode !== 200) throw readFailure('GetAccounts', statusCode, json);
  const parsed = GetAccountsResponseSchema.safeParse(json);
  if (!parsed.success)
    throw new BrokerUnavailableError('GetAccounts answer is not the documented JSON', { retriable: false });
  return parsed.data.accounts;
}

/** `UsersService/GetInfo`: whether the user is a qualified investor. */
export function infoResponseToQualified(statusCode: number, text: string): boolean {
  const json = parseJsonText(text);
  if (statusCode !== 200) throw readFailure('GetInfo', statusCode, json);
  const parsed = GetInfoResponseSchema.safeParse(json);
  if (!parsed.success)
    throw new BrokerUnavailableError('GetInfo answer is not the documented JSON', { retriable: false });
  return parsed.data.qualStatus;
}

/**
 * What keeps the token from reading a ver 2 signal's state (the preflight): the catalogue code of a refusal
 * (`40002` insufficient privileges, …), or undefined when it reads it. A transport failure is thrown as any read's.
 */
export function stateReadProblem(statusCode: number, text: string): string | undefined {
  if (statusCode === 200) return undefined;
  const json = parseJsonText(text);
  const error = ErrorResponseSchema.safeParse(json);
  if (
    isClientError(statusCode) &&
    statusCode !== 401 &&
    error.success &&
    error.data.description !== TOKEN_INVALID_CODE
  ) {
    return error.data.description ?? `HTTP ${statusCode}`;
  }
  throw readFailure('state read', statusCode, json);
}

/** The preflight's calls to one T-Invest host (production or sandbox) with a trading token. */
export class TinkoffPreflightReads {
  readonly #dispatcher: Dispatcher;
  readonly #apiUrl: string;

  constructor(options: { readonly dispatcher: Dispatcher; readonly apiUrl: string }) {
    this.#dispatcher = options.dispatcher;
    this.#apiUrl = options.apiUrl;
  }

  /** Whether the token reads positions, orders and stop orders: the answers of the calls at `path`, as they come. */
  readCheck(token: string, accountId: string, path: string, deadline: Deadline): Promise<HttpResponse> {
    const request: PositionsRequest = { accountId };
    return this.#post(path, JSON.stringify(request), token, deadline);
  }

  /** `UsersService/GetAccounts`: the accounts the token reaches. */
  async accounts(token: string, deadline: Deadline): Promise<Account[]> {
    const request: GetAccountsRequest = {};
    const response = await this.#post(GET_ACCOUNTS_PATH, JSON.stringify(request), token, deadline);
    return accountsResponseToAccounts(response.statusCode, response.text);
  }

  /** `UsersService/GetInfo`: whether the token's user is a qualified investor. */
  async isQualifiedInvestor(token: string, deadline: Deadline): Promise<boolean> {
    const response = await this.#post(GET_INFO_PATH, '{}', token, deadline);
    return infoResponseToQualified(response.statusCode, response.text);
  }

  /** `InstrumentsService/GetInstrumentBy` a signal's `f`; undefined when T-Invest knows no such instrument. */
  async instrument(token: string, id: string, deadline: Deadline): Promise<Instrument | undefined> {
    const body = JSON.stringify(instrumentIdToRequest(id));
    const response = await this.#post(GET_INSTRUMENT_BY_PATH, body, token, deadline);
    return instrumentResponseToInstrument(response.statusCode, response.text);
  }

  #post(path: string, body: string, token: string, deadline: Deadline) {
    return postTinkoffV2(this.#dispatcher, endpoint(this.#apiUrl, path), body, token, deadline);
  }
}
