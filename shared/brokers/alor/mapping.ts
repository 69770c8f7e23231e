import type { AlorOrder } from '../../payload.ts';
import type { AlorLimitOrderRequest } from './schemas.ts';

/** Alor writes class suffixes with a space: `BRK.B` → `BRK B` (first dot only, as the original). */
export function tickerToAlorSymbol(ticker: string): string {
  return ticker.replace('.', ' ');
}

export function orderToAlorLimitOrder(
  order: AlorOrder,
  portfolio: string,
  exchange: 'MOEX' | 'SPBX',
): AlorLimitOrderRequest {
  return {
    side: order.side,
    quantity: order.lots,
    // At most 15 significant digits (shared/decimal.ts), so the double holds exactly the price sent.
    price: Number(order.price),
    instrument: { symbol: tickerToAlorSymbol(order.ticker), exchange },
    user: { portfolio },
  };
}
