import type { Dispatcher } from 'undici';
import { type BrokerEndpoint, endpoint, sendBrokerRequest } from '../../http/outbound/client.ts';
import type { BrokerAccess } from '../broker-handler.ts';
import {
  type InstrumentLookup,
  instrumentResponseToLookup,
  listingToInstrumentRequest,
  type TinkoffListing,
} from './mapping.ts';

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

interface Remembered {
  readonly lookup: InstrumentLookup;
  readonly expiresAt: number;
}

/**
 * T-Invest's instruments by ticker and class code (`InstrumentsService/GetInstrumentBy`, an exact key: one request,
 * never an ambiguous answer), remembered per container: the first order for a ticker costs one extra request, later
 * ones none. Only definite answers are remembered (found, not found); a refusal that may be the token's, a rejected
 * token and an unreachable broker are not. Keyed by the listing, whose ticker is in upper case: `sber` is `SBER`.
 */
export class TinkoffInstruments {
  readonly #dispatcher: Dispatcher;
  readonly #endpoint: BrokerEndpoint;
  readonly #now: () => number;
  readonly #remembered = new Map<string, Remembered>();

  constructor(options: TinkoffInstrumentsOptions) {
    this.#dispatcher = options.dispatcher;
    this.#endpoint = endpoint(options.apiUrl, GET_INSTRUMENT_BY_PATH);
    this.#now = options.now ?? Date.now;
  }

  async lookup(listing: TinkoffListing, access: BrokerAccess): Promise<InstrumentLookup> {
    // A class code holds no colon (shared/config.ts), so the first one ends it; the ticker is upper case already.
    const key = `${listing.classCode}:${listing.ticker.toUpperCase()}`;
    const remembered = this.#remembered.get(key);
    this.#remembered.delete(key);
    if (remembered !== undefined && remembered.expiresAt > this.#now()) {
      this.#remembered.set(key, remembered);
      return remembered.lookup;
    }
    const response = await sendBrokerRequest(this.#dispatcher, {
      endpoint: this.#endpoint,
      headers: { authorization: `Bearer ${access.credential}` },
      body: JSON.stringify(listingToInstrumentRequest(listing)),
      deadline: access.deadline,
      // A read: safe to resend.
      idempotent: true,
    });
    const lookup = instrumentResponseToLookup(response.statusCode, response.text);
    if (lookup.status === 'refused') return lookup;
    if (this.#remembered.size >= MAX_LISTINGS) {
      const oldest = this.#remembered.keys().next();
      if (oldest.done !== true) this.#remembered.delete(oldest.value);
    }
    const tradable = lookup.status === 'found' && lookup.apiTradeAvailable;
    this.#remembered.set(key, { lookup, expiresAt: this.#now() + (tradable ? FOUND_TTL_MS : REFUSAL_TTL_MS) });
    return lookup;
  }
}
