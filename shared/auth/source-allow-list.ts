import { BlockList, isIP } from 'node:net';
import { TRADINGVIEW_SOURCE_IPS, TRADINGVIEW_SOURCES } from '../facts.ts';

/**
 * The optional allow-list of caller addresses (`ALLOWED_SOURCE_IPS`): API Gateway's source address of a request must
 * fall in one of its ranges, or the call is refused before anything else is looked at.
 */

/** One range of the list: an address with its prefix length (32 or 128 for a single address). */
export interface SourceRange {
  readonly address: string;
  readonly prefix: number;
  readonly family: 'ipv4' | 'ipv6';
}

export type SourceRangesResult =
  | { readonly ok: true; readonly ranges: readonly SourceRange[] }
  /** 1-based positions of the entries that are none of the accepted forms (never the entries: a setting's value). */
  | { readonly ok: false; readonly invalidEntries: readonly number[] };

/** What an entry must be, for error messages. */
export const SOURCE_ENTRY_RULE = `an IPv4 or IPv6 address, a CIDR range (203.0.113.0/24) or "${TRADINGVIEW_SOURCES}"`;

function rangeOf(entry: string): SourceRange | undefined {
  const [address = '', prefixText, ...rest] = entry.split('/');
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return undefined;
  const bits = version === 4 ? 32 : 128;
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = prefixText === undefined ? bits : Number(prefixText);
  return prefix <= bits ? { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' } : undefined;
}

/**
 * The entries of the setting, separated by commas or whitespace: addresses, CIDR ranges and `tradingview` (any case),
 * which stands for TradingView's published addresses. An empty text is an empty list.
 */
export function parseSourceRanges(text: string): SourceRangesResult {
  const entries = text.split(/[\s,]+/).filter((entry) => entry !== '');
  const ranges: SourceRange[] = [];
  const invalidEntries: number[] = [];
  entries.forEach((entry, index) => {
    const addresses = entry.toLowerCase() === TRADINGVIEW_SOURCES ? TRADINGVIEW_SOURCE_IPS : [entry];
    for (const address of addresses) {
      const range = rangeOf(address);
      if (range === undefined) invalidEntries.push(index + 1);
      else ranges.push(range);
    }
  });
  return invalidEntries.length === 0 ? { ok: true, ranges } : { ok: false, invalidEntries };
}

/** Checks source addresses against the ranges (node's `BlockList`, used here as a list of what is let in). */
export class SourceAllowList {
  readonly #ranges = new BlockList();

  constructor(ranges: readonly SourceRange[]) {
    for (const range of ranges) this.#ranges.addSubnet(range.address, range.prefix, range.family);
  }

  /** Whether a call from `sourceIp` may go on; anything that is not an IP address may not. */
  allows(sourceIp: string | undefined): boolean {
    const version = isIP(sourceIp ?? '');
    if (sourceIp === undefined || version === 0) return false;
    return this.#ranges.check(sourceIp, version === 4 ? 'ipv4' : 'ipv6');
  }
}
