/**
 * What became of an order a paper broker accepted. A new order is working; the console's buttons and the tests fill
 * it, fill it partly, or reject or cancel it, as the exchange or the broker's risk check would after acceptance.
 */

export const PAPER_ORDER_STATUSES = ['working', 'partly-filled', 'filled', 'rejected', 'canceled'] as const;
export type PaperOrderStatus = (typeof PAPER_ORDER_STATUSES)[number];

export interface PaperOrderState {
  readonly status: PaperOrderStatus;
  /** Lots filled so far; for `partly-filled`, at least 1 and fewer than the order's lots. */
  readonly filledLots: number;
}

/** A change of state as asked for: `filledLots` only for `partly-filled` (default: half the lots, at least 1). */
export interface OrderStateChange {
  readonly status: PaperOrderStatus;
  readonly filledLots?: number;
}

/** The state a change leads to for an order of `lots`, or a reason it cannot. */
export function nextOrderState(
  lots: number,
  change: OrderStateChange,
): { ok: true; state: PaperOrderState } | { ok: false; reason: string } {
  switch (change.status) {
    case 'working':
    case 'rejected':
    case 'canceled':
      return { ok: true, state: { status: change.status, filledLots: 0 } };
    case 'filled':
      return { ok: true, state: { status: 'filled', filledLots: lots } };
    case 'partly-filled': {
      const filledLots = change.filledLots ?? Math.max(1, Math.floor(lots / 2));
      if (!Number.isInteger(filledLots) || filledLots < 1 || filledLots >= lots) {
        return { ok: false, reason: `a partly filled order of ${lots} lot(s) has 1 to ${lots - 1} filled` };
      }
      return { ok: true, state: { status: 'partly-filled', filledLots } };
    }
  }
}
