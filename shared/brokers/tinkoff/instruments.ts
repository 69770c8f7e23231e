import type { Dispatcher } from 'undici';
import { endpoint, type HttpEndpoint, sendHttpRequest } from '../../http/outbound/client.ts';
import type { CredentialedCall } from '../order-recipe.ts';
import { Remembered } from '../remembered.ts';
import {
  type InstrumentLookup,
  instrumentResponseToInstrument,
  instrumentResponseToLookup,
  listingToInstrumentRequest,
  type TinkoffListing,
} from './mapping.ts';
import type { Instrument, InstrumentRequest } from './schemas.ts';

export const GET_INSTRUMENT_BY_PATH = '/tinkoff.public.invest.api.contract.v1.InstrumentsService/GetInstrumentBy';

/** A tradable instrument is kept this long: a delisting is picked up within the hour (PostOrder refuses it anyway). */
const FOUND_TTL_MS = 60 * 60_000;
/**
 * A definite refusal (not found, not tradable through the API) is kept this long: a storm of signals with a mistyped
 * ticker costs one request a minute, and a ticker listed later is found within the minute. Any other refusal (a 4xx
 * that may come from the token, which a token swap fixes) is not kept, nor is a failure.
 */
const REFUSAL_TTL_MS = 60_000;
/** Listings kept per container; the least recently looked up is forgotten first. */
const MAX_LISTINGS = 500;

export interface TinkoffInstrumentsOptions {
  readonly dispatcher: Dispatcher;
  readonly apiUrl: string;
  readonly now?: () => number;
}

/**
 * T-Invest's instruments by ticker and class code (`InstrumentsService/GetInstrumentBy`, an exact key: one request,
 * never an ambiguous answer), remembered per container: the first order for a ticker costs one extra request, later
 * ones none. Only definite answers are remembered (found, not found); a refusal that may be the token's, a rejected
 * token and an unreachable broker are not. Keyed by the listing, whose ticker is in upper case: `sber` is `SBER`.
 */
export class TinkoffInstruments {
  readonly #dispatcher: Dispatcher;
  readonly #endpoint: HttpEndpoint;
  readonly #remembered: Remembered<InstrumentLookup>;
  /** v2 signals' instruments, whole (with their lot), by the request that found them; `null`: T-Invest knows none. */
  readonly #instruments: Remembered<Instrument | null>;

  constructor(options: TinkoffInstrumentsOptions) {
    this.#dispatcher = options.dispatcher;
    this.#endpoint = endpoint(options.apiUrl, GET_INSTRUMENT_BY_PATH);
    this.#remembered = new Remembered(MAX_LISTINGS, options.now);
    this.#instruments = new Remembered(MAX_LISTINGS, options.now);
  }

  async lookup(listing: TinkoffListing, access: CredentialedCall): Promise<InstrumentLookup> {
    // A class code holds no colon (shared/config.ts), so the first one ends it; the ticker is upper case already.
    const key = `${listing.classCode}:${listing.ticker.toUpperCase()}`;
    const remembered = this.#remembered.get(key);
    if (remembered !== undefined) return remembered;
    const response = await this.#ask(listingToInstrumentRequest(listing), access);
    const lookup = instrumentResponseToLookup(response.statusCode, response.text);
    if (lookup.status === 'refused') return lookup;
    const tradable = lookup.status === 'found' && lookup.apiTradeAvailable;
    this.#remembered.set(key, lookup, tradable ? FOUND_TTL_MS : REFUSAL_TTL_MS);
    return lookup;
  }

  /**
   * The instrument a v2 signal names, whole (its uid, FIGI and lot), by ticker within a class code or by `f`;
   * undefined when T-Invest knows none. Remembered as {@link lookup}'s answers are.
   */
  async instrument(request: InstrumentRequest, access: CredentialedCall): Promise<Instrument | undefined> {
    const key = JSON.stringify(request);
    const remembered = this.#instruments.get(key);
    if (remembered !== undefined) return remembered ?? undefined;
    const response = await this.#ask(request, access);
    const instrument = instrumentResponseToInstrument(response.statusCode, response.text);
    const tradable = instrument?.apiTradeAvailableFlag === true;
    this.#instruments.set(key, instrument ?? null, tradable ? FOUND_TTL_MS : REFUSAL_TTL_MS);
    return instrument;
  }

  #ask(request: InstrumentRequest, access: CredentialedCall) {
    return sendHttpRequest(this.#dispatcher, {
      endpoint: this.#endpoint,
      headers: { authorization: `Bearer ${access.credential}` },
      body: JSON.stringify(request),
      deadline: access.deadline,
      // A read: safe to resend.
      idempotent: true,
    });
  }
}
