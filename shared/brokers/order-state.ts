/**
 * What became of an order the broker accepted, as a follow-up finds it: filled, partly filled, still working, or
 * rejected or cancelled after acceptance; or unknown to the broker. Credential and transport failures are thrown as
 * HttpErrors instead, as for orders.
 */
export type OrderState =
  | {
      readonly status: 'filled' | 'partly-filled' | 'working' | 'rejected' | 'canceled';
      /** Lots asked for and lots filled, when the broker says. */
      readonly lots: number | undefined;
      readonly filledLots: number | undefined;
    }
  | { readonly status: 'not-found' };

/** A broker's status word and its counts, in our terms: a working order with fills is partly filled. */
export function orderState(
  status: 'filled' | 'working' | 'rejected' | 'canceled',
  lots: number | undefined,
  filledLots: number | undefined,
): OrderState {
  const partly = status === 'working' && filledLots !== undefined && filledLots > 0;
  return { status: partly ? 'partly-filled' : status, lots, filledLots };
}
