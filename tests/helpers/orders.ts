import fc from 'fast-check';
import { MAX_LOTS } from '#shared/http/inbound/payload.ts';
import type * as z from '#shared/zod.ts';

/**
 * Orders as the production payload schema produces them, over the whole accepted range: what a broker mapping
 * must turn into a body its spec accepts. `instrument`, when given, fills `f` (T-Invest's FIGI or uid).
 */
export function parsedOrders<TOrder>(
  schema: z.ZodMiniType<TOrder>,
  instrument?: fc.Arbitrary<string>,
): fc.Arbitrary<TOrder> {
  return fc
    .record({
      t: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._@+\- ]{0,49}$/),
      whole: fc.integer({ min: 0, max: 999_999 }),
      fraction: fc.string({ unit: fc.constantFrom(...'0123456789'), maxLength: 9 }),
      v: fc.integer({ min: 1, max: MAX_LOTS }),
      d: fc.constantFrom('buy', 'sell'),
      f: instrument ?? fc.constant(undefined),
    })
    .map(({ t, whole, fraction, v, d, f }) =>
      schema.safeParse({ t, p: fraction === '' ? `${whole}` : `${whole}.${fraction}`, v, d, f }),
    )
    .filter((result) => result.success)
    .map((result) => result.data as TOrder);
}
