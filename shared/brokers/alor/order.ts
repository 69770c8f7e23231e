import { OrderFields } from '../../http/inbound/payload.ts';
import * as z from '../../zod.ts';

/** The webhook's order as Alor takes it: `f` is ignored (Alor names an instrument by ticker and exchange). */
export const AlorOrderSchema = z.pipe(
  z.object({ ...OrderFields, f: z.optional(z.unknown()) }),
  z.transform((fields) => ({
    ...fields.t,
    price: fields.p,
    lots: fields.v,
    side: fields.d,
    idempotencyKey: fields.id,
  })),
);
export type AlorOrder = z.output<typeof AlorOrderSchema>;
