import * as z from 'zod';

/** Alor wire formats, per docs/broker-specs/alor-WarpOpenAPIv2.yml. */

/** `POST /refresh` → `{ AccessToken }`. */
export const AlorRefreshResponseSchema = z.object({ AccessToken: z.string().min(1) });

/** The JWT payload fields we rely on; `exp` is seconds since the epoch. */
export const JwtClaimsSchema = z.object({ exp: z.number().finite() });

/** `OrdersActionsLimitTVPost` request body. */
export const AlorLimitOrderRequestSchema = z.strictObject({
  side: z.enum(['buy', 'sell']),
  quantity: z.number().int().min(1).max(2_147_483_647),
  price: z.number().finite().positive(),
  instrument: z.strictObject({ symbol: z.string().min(1), exchange: z.enum(['MOEX', 'SPBX']) }),
  user: z.strictObject({ portfolio: z.string().min(1) }),
});
export type AlorLimitOrderRequest = z.infer<typeof AlorLimitOrderRequestSchema>;

const OrderNumberSchema = z.union([z.string(), z.number()]).transform(String);

/** `response_OrderActionLimitMarket_CommandAPI`: 200 `{ message: "success", orderNumber }`. */
export const AlorOrderResponseSchema = z.object({
  message: z.string(),
  orderNumber: OrderNumberSchema.optional(),
});

/** The replayed first answer: `body` may arrive as an object or as a JSON string. */
const OldResponseBodySchema = z.union([
  AlorOrderResponseSchema.partial(),
  z.string().transform((text, ctx) => {
    try {
      return AlorOrderResponseSchema.partial().parse(JSON.parse(text));
    } catch {
      ctx.addIssue({ code: 'custom', message: 'oldResponse.body is not the documented JSON' });
      return z.NEVER;
    }
  }),
]);

/** `response_OrderActionCode400_CommandAPI`: a refusal, or an "already handled" replay with `oldResponse`. */
export const AlorOrderErrorSchema = z.object({
  message: z.string().optional(),
  oldResponse: z.object({ statusCode: z.number().int(), body: OldResponseBodySchema }).optional(),
});

/**
 * `GET /md/v2/Clients/{exchange}/{portfolio}/orders/{orderId}` (`response_Order_Simple`), the fields we read: the
 * status, and lots asked for and filled (`qty`/`filled`, in lots).
 */
export const AlorOrderStateSchema = z.object({
  id: OrderNumberSchema.optional(),
  status: z.enum(['working', 'filled', 'canceled', 'rejected']),
  qty: z.number().optional(),
  filled: z.number().optional(),
});

/**
 * The access token's claims that say whose it is: `portfolios`, the portfolios it may trade, space-separated (the
 * spec's introduction, "Получение списка портфелей"), and `sub`, the user name (Alor's published API docs; the spec
 * does not list the claims).
 */
export const AlorTokenHolderClaimsSchema = z.object({
  sub: z.string().optional(),
  portfolios: z.string().optional(),
});

/** `MdV2ClientsExchangePortfolioSummaryGet` answers `response_Summary_Simple`: read only to see it is one. */
export const AlorPortfolioSummarySchema = z.object({ buyingPower: z.number().optional() });

/** `MdV2SecuritiesExchangeSymbolGet` answers `response_Security_Simple`: the fields the preflight shows. */
export const AlorSecuritySchema = z.object({
  symbol: z.string(),
  shortname: z.string().optional(),
  lotsize: z.number().optional(),
  /** `field_TradingStatusCode`: 18 is "no trading / trading closed". */
  tradingStatus: z.number().int().optional(),
  tradingStatusInfo: z.string().nullable().optional(),
});
export type AlorSecurity = z.infer<typeof AlorSecuritySchema>;
