import { OrderFields } from '../../http/inbound/payload.ts';
import * as z from '../../zod.ts';

/** A FIGI (`BBG000B9XRY4`) or a T-Invest instrument_uid (a UUID). */
export const InstrumentIdSchema = z
  .string()
  .check(z.regex(/^[A-Za-z0-9-]{1,64}$/, 'must be a FIGI or an instrument uid'));

const TinkoffFieldsSchema = z.object({ ...OrderFields, f: z.optional(InstrumentIdSchema) });

function fieldsToTinkoffOrder(fields: z.output<typeof TinkoffFieldsSchema>) {
  return {
    ...fields.t,
    price: fields.p,
    lots: fields.v,
    side: fields.d,
    figi: fields.f,
    idempotencyKey: fields.id,
  };
}

/**
 * A T-Invest order: `f` names the instrument (a FIGI or an instrument uid); without it, T-Invest is asked for the
 * instrument `t` names (shared/brokers/tinkoff/instruments.ts).
 */
export const TinkoffOrderSchema = z.pipe(TinkoffFieldsSchema, z.transform(fieldsToTinkoffOrder));
export type TinkoffOrder = z.output<typeof TinkoffOrderSchema>;

/** A T-Invest order that names its instrument with `f`: the only kind API v1, which has no instrument lookup, takes. */
export const TinkoffFigiOrderSchema = z.pipe(
  z.extend(TinkoffFieldsSchema, { f: InstrumentIdSchema }),
  z.transform((fields) => ({ ...fieldsToTinkoffOrder(fields), figi: fields.f })),
);
export type TinkoffFigiOrder = z.output<typeof TinkoffFigiOrderSchema>;
