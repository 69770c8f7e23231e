import { SignalRefusedError } from '../errors.ts';
import type { Signal, SignalIntent } from '../signal.ts';

/**
 * What a v2 signal does at the broker, decided from the live state it read: which active orders to cancel, and the one
 * order (or none). Pure, so every intent's arithmetic is tested without a broker; the recipe in broker-handler.ts runs
 * the plan.
 */

export type Side = 'buy' | 'sell';

/** One of the instrument's active orders, as a broker lists it. */
export interface ActiveOrder {
  /** The broker's order id: what a cancel names. */
  readonly id: string;
  readonly side: Side;
  /** Lots still to fill. */
  readonly lots: number;
  /** Our idempotency key for it, when the broker says it (T-Invest) or the order carries it (Alor's comment). */
  readonly requestId?: string | undefined;
  /** A stop order (a protective order, or any conditional order of the instrument): cancelled as one, never counted. */
  readonly stop?: boolean | undefined;
}

/** What a signal reads of its instrument before it decides. */
export interface InstrumentState {
  /** Signed lots held; 0 when the signal did not need it. */
  readonly position: number;
  readonly activeOrders: readonly ActiveOrder[];
  /** The instrument's active stop orders, when the signal read them (an exit's, docs/contract.md#protection). */
  readonly stopOrders?: readonly ActiveOrder[] | undefined;
}

/** What a signal reads of its instrument: the position, the active orders, and (when set) the active stop orders. */
export interface StateNeeds {
  readonly position: boolean;
  readonly orders: boolean;
  readonly stops?: boolean | undefined;
}

/** The one order of a signal. */
export interface PlannedOrder {
  readonly side: Side;
  readonly lots: number;
}

export interface SignalPlan {
  readonly cancels: readonly ActiveOrder[];
  readonly order?: PlannedOrder | undefined;
  /** Position intents: the lots held, the signed lots of the active orders counted as if filled, the target. */
  readonly position?: number | undefined;
  readonly working?: number | undefined;
  readonly target?: number | undefined;
}

/**
 * What the recipe reads before it decides: the position for a position intent and for a protected entry (its
 * protection covers only the lots it opens), the active orders when any count.
 */
export function stateNeeds(signal: Pick<Signal, 'intent' | 'options'>): { position: boolean; orders: boolean } {
  const { kind } = signal.intent;
  const position = kind === 'position' || kind === 'close';
  return {
    position: position || signal.options.protection !== undefined,
    orders: position || kind === 'cancel' || signal.options.cancelFirst,
  };
}

/**
 * The signals that read the instrument's stop orders with their state (docs/contract.md#protection): an exit cancels
 * them; a `pos` or a protected entry cancels them when its order reduces, closes or reverses the position (read at
 * once with the position, on a connection of their own, rather than after it: no round trip more).
 */
export function readsStopOrders(signal: Pick<Signal, 'intent' | 'options'>): boolean {
  const { kind } = signal.intent;
  return kind !== 'order' || signal.options.protection !== undefined;
}

const signedLots = (order: Pick<ActiveOrder, 'side' | 'lots'>) => (order.side === 'buy' ? order.lots : -order.lots);
const sum = (orders: readonly ActiveOrder[]) => orders.reduce((total, order) => total + signedLots(order), 0);

/**
 * `pos` in lots: a count of shares must be whole lots of the instrument
 * ([not-whole-lots](docs/contract.md#not-whole-lots)).
 */
export function targetLots(intent: Extract<SignalIntent, { kind: 'position' }>, lot: number | undefined): number {
  if (intent.unit === 'lots') return intent.target;
  if (lot === undefined || !Number.isInteger(lot) || lot < 1) {
    throw new SignalRefusedError('not-whole-lots', 'Размер лота инструмента неизвестен: задайте pos в лотах');
  }
  if (intent.target % lot !== 0) {
    throw new SignalRefusedError('not-whole-lots', `pos ${intent.target} шт. не делится на лот ${lot} шт.`);
  }
  return intent.target / lot === 0 ? 0 : intent.target / lot;
}

/** A position a broker reports in pieces, in lots; one that is not whole lots cannot be traded to a target exactly. */
export function positionLots(pieces: number, lot: number): number {
  if (!Number.isInteger(pieces) || lot < 1 || pieces % lot !== 0) {
    throw new SignalRefusedError(
      'not-whole-lots',
      `Позиция на счёте не кратна лоту: ${pieces} шт. при лоте ${lot} шт.`,
    );
  }
  return pieces / lot === 0 ? 0 : pieces / lot;
}

/**
 * The plan of a signal. `ownRequestId` is the key of the signal's own order: an order of an earlier delivery of the
 * same signal is never cancelled by it and always counts, so a resent signal changes nothing more. `target` is the
 * position intent's target in lots.
 */
export function planSignal(
  signal: Pick<Signal, 'intent' | 'options'>,
  state: InstrumentState,
  ownRequestId: string,
  target?: number,
): SignalPlan {
  const own = state.activeOrders.filter((order) => order.requestId === ownRequestId);
  const others = state.activeOrders.filter((order) => order.requestId !== ownRequestId);
  const { intent } = signal;
  switch (intent.kind) {
    case 'order':
      return { cancels: signal.options.cancelFirst ? others : [], order: { side: intent.side, lots: intent.lots } };
    case 'cancel':
      return { cancels: [...others, ...(state.stopOrders ?? [])] };
    case 'position':
    case 'close': {
      const goal = intent.kind === 'close' ? 0 : (target ?? intent.target);
      const cancelFirst = intent.kind === 'close' || signal.options.cancelFirst;
      const working = sum(cancelFirst ? own : state.activeOrders);
      const difference = goal - state.position - working;
      return {
        cancels: [...(cancelFirst ? others : []), ...(intent.kind === 'close' ? (state.stopOrders ?? []) : [])],
        order: difference === 0 ? undefined : { side: difference > 0 ? 'buy' : 'sell', lots: Math.abs(difference) },
        position: state.position,
        working,
        target: goal,
      };
    }
  }
}
