import { describe, expect, it } from 'vitest';
import { parseSourceRanges, SourceAllowList, type SourceRange } from '#shared/auth/source-allow-list.ts';
import { TRADINGVIEW_SOURCE_IPS } from '#shared/facts.ts';

const TRADINGVIEW: SourceRange[] = TRADINGVIEW_SOURCE_IPS.map((address) => ({ address, prefix: 32, family: 'ipv4' }));

function allowList(text: string): SourceAllowList {
  const parsed = parseSourceRanges(text);
  if (!parsed.ok) throw new Error(`invalid: ${parsed.invalidEntries.join(', ')}`);
  return new SourceAllowList(parsed.ranges);
}

describe('parseSourceRanges', () => {
  it.each([
    ['one address', '203.0.113.7', [{ address: '203.0.113.7', prefix: 32, family: 'ipv4' }]],
    ['a CIDR range', '203.0.113.0/24', [{ address: '203.0.113.0', prefix: 24, family: 'ipv4' }]],
    ['an IPv6 address', '2001:db8::1', [{ address: '2001:db8::1', prefix: 128, family: 'ipv6' }]],
    ['an IPv6 range', '2001:db8::/32', [{ address: '2001:db8::', prefix: 32, family: 'ipv6' }]],
    ['the TradingView preset', 'tradingview', TRADINGVIEW],
    ['the preset in any case', 'TradingView', TRADINGVIEW],
    [
      'entries separated by commas and spaces',
      ' tradingview , 10.0.0.0/8\n::1 ',
      [
        ...TRADINGVIEW,
        { address: '10.0.0.0', prefix: 8, family: 'ipv4' },
        { address: '::1', prefix: 128, family: 'ipv6' },
      ],
    ],
    ['nothing', ' , ', []],
  ])('reads %s', (_case, text, ranges) => {
    expect(parseSourceRanges(text)).toEqual({ ok: true, ranges });
  });

  it.each([
    ['a host name', 'example.com', [1]],
    ['a prefix too long for IPv4', '10.0.0.0/33', [1]],
    ['a prefix too long for IPv6', '::/129', [1]],
    ['a prefix that is no number', '10.0.0.0/x', [1]],
    ['an empty prefix', '10.0.0.0/', [1]],
    ['two prefixes', '10.0.0.0/8/8', [1]],
    ['a signed prefix', '10.0.0.0/+8', [1]],
    ['an address out of range', '256.1.1.1', [1]],
    ['a port', '203.0.113.7:443', [1]],
    ['a misspelt preset, after a good entry', '10.0.0.1, tradingviw, 10.0.0.2, *', [2, 4]],
  ])('refuses %s, by position', (_case, text, invalidEntries) => {
    expect(parseSourceRanges(text)).toEqual({ ok: false, invalidEntries });
  });
});

describe('SourceAllowList', () => {
  it.each([
    ['each of TradingView’s addresses', 'tradingview', TRADINGVIEW_SOURCE_IPS, true],
    ['a neighbour of TradingView’s', 'tradingview', ['52.89.214.239', '34.212.75.31'], false],
    ['an address inside a range', '203.0.113.0/24', ['203.0.113.0', '203.0.113.255'], true],
    ['an address outside it', '203.0.113.0/24', ['203.0.114.0', '10.0.0.1'], false],
    ['an IPv6 address inside a range', '2001:db8::/32', ['2001:db8::1', '2001:db8:ffff::2'], true],
    ['an IPv4 address against IPv6 ranges', '2001:db8::/32', ['203.0.113.7'], false],
    ['an IPv4-mapped IPv6 address of a listed one', 'tradingview', ['::ffff:52.89.214.238'], true],
    ['what is not an address', 'tradingview', ['', 'tradingview', '52.89.214.238/32', 'unknown'], false],
  ])('answers for %s', (_case, text, sources, allowed) => {
    const list = allowList(text);

    expect(sources.map((source) => list.allows(source))).toEqual(sources.map(() => allowed));
  });

  it('refuses a request without a source address', () => {
    expect(allowList('0.0.0.0/0').allows(undefined)).toBe(false);
  });

  it('lets in everything with 0.0.0.0/0 and ::/0', () => {
    const list = allowList('0.0.0.0/0, ::/0');

    expect([list.allows('8.8.8.8'), list.allows('2001:db8::1')]).toEqual([true, true]);
  });
});
