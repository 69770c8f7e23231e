import { decimalToQuotation } from '../../decimal.ts';
import type { TinkoffOrder } from '../../payload.ts';
import type { PostOrderRequest, V1LimitOrderRequest } from './schemas.ts';

/** T-Invest writes class suffixes with a dot: `BRK B` → `BRK.B` (first space only, as the original). */
export function tickerToTinkoffTicker(ticker: string): string {
  return ticker.replace(' ', '.');
}

export function orderToPostOrderRequest(order: TinkoffOrder, accountId: string, orderId: string): PostOrderRequest {
  return {
    instrumentId: order.figi,
    quantity: String(order.lots),
    price: decimalToQuotation(order.price),
    direction: order.side === 'buy' ? 'ORDER_DIRECTION_BUY' : 'ORDER_DIRECTION_SELL',
    accountId,
    orderType: 'ORDER_TYPE_LIMIT',
    orderId,
  };
}

export function orderToV1LimitOrder(order: TinkoffOrder): V1LimitOrderRequest {
  return { lots: order.lots, operation: order.side === 'buy' ? 'Buy' : 'Sell', price: Number(order.price) };
}
