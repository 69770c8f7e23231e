/** What a broker made of an order. Credential rejections and transport failures are thrown as HttpErrors instead. */
export type OrderOutcome =
  | { readonly status: 'placed'; readonly orderId?: string | undefined; readonly replayed: boolean }
  | { readonly status: 'refused'; readonly message: string }
  | { readonly status: 'dry-run' };

/** T-Invest's text when a refusal carries no message of its own (kept from the original). */
export const NO_MESSAGE_REFUSAL = 'Запрос не выполнен';

export function refused(message: string | undefined): OrderOutcome {
  const text = message?.trim();
  return { status: 'refused', message: text ? text : NO_MESSAGE_REFUSAL };
}
