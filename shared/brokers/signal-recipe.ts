import type { Deadline } from '../http/outbound/deadline.ts';
import type { PositionLock } from '../lock/position-lock.ts';
import type { LogFields } from '../logging.ts';
import { dependsOnPosition, type Signal, type SignalOptions } from '../signal.ts';
import type { BrokerCredentials } from './credentials.ts';
import { type GuardContext, GuardRun, instrumentNeeds, type MarketReads } from './guards.ts';
import type { BrokerOrderCall, CredentialedCall } from './order-recipe.ts';
import type { OrderOutcome } from './outcome.ts';
import {
  checkPositive,
  checkProtectionPrices,
  describePrices,
  type ProtectionPlan,
  type ProtectionPrices,
  protectionPlan,
  protectionPrices,
  reducesPosition,
} from './protection.ts';
import { legRequestId } from './request-id.ts';
import type { ProtectionReport, SignalOrder, SignalOutcome, SignalReport } from './signal-outcome.ts';
import {
  type ActiveOrder,
  type InstrumentState,
  type PlannedOrder,
  planSignal,
  readsStopOrders,
  type SignalPlan,
  type StateNeeds,
  stateNeeds,
  targetLots,
} from './signal-plan.ts';
import { capToBroker, type LotQuote, type SizeBasis, sizeToLots } from './sizing.ts';

/**
 * The recipe of a v2 signal, one for both brokers (docs/contract.md#signals-ver-2): the instrument in the broker's
 * terms, the credentials, then, for a signal that depends on the position, the instrument's lock; the live state read
 * (position, active orders, stop orders); the cancels; the one order, with its protection when the signal asks for it
 * (the broker's `placeProtected`: docs/contract.md#protection). Every step runs within the request's one deadline,
 * through the broker's own mapping and client. The size in money (`vt`) is made lots from the broker's quote before
 * the plan, and the guards (shared/brokers/guards.ts) decide on the planned order before any cancel or order is sent;
 * what they and the size read is read beside the state.
 */

/** A call about one instrument of the account. */
export interface InstrumentCall<TInstrument> extends CredentialedCall {
  readonly account: string;
  readonly instrument: TInstrument;
}

/** A cancel the broker confirmed, or one it did not (the order may have filled meanwhile): the state is read again. */
export type CancelResult =
  | { readonly status: 'cancelled' }
  | { readonly status: 'unconfirmed'; readonly reason: string };

/** A protected entry, as the recipe hands it to the broker (docs/contract.md#protection). */
export interface ProtectedEntry<TInstrument, TTerms> {
  readonly call: InstrumentCall<TInstrument>;
  readonly terms: TTerms;
  /** The entry's key; its protective legs' keys derive from it (`protectiveLegId`). */
  readonly requestId: string;
  readonly order: PlannedOrder;
  readonly options: SignalOptions;
  readonly plan: ProtectionPlan;
  /** A limit entry's prices, checked already; a market entry's are known once it filled. */
  readonly prices: ProtectionPrices | undefined;
  /** The instrument's price step, for a market entry's prices. */
  readonly step: string | undefined;
  /** `CLOSE_UNPROTECTED`: close what filled when its protection cannot be placed. */
  readonly closeUnprotected: boolean;
  readonly ticker: string;
  /** The webhook call's request id: the follow-up's lines and messages carry it. */
  readonly webhookRequestId: string | undefined;
}

/** What became of a protected entry: the entry's outcome, the protective orders placed in the request, the protection. */
export interface ProtectedOutcome {
  readonly entry: OrderOutcome;
  readonly legs: readonly SignalOrder[];
  readonly protection: ProtectionReport;
}

/** What the recipe asks of a broker's client: the state, the cancels, the order, and the reads of sizing and guards. */
export interface SignalClient<TInstrument, TTerms> extends MarketReads<TInstrument> {
  /** The position (in lots), the instrument's active orders and stop orders, read in parallel, as `needs` asks. */
  readState(call: InstrumentCall<TInstrument>, needs: StateNeeds): Promise<InstrumentState>;
  /** Cancels an order, or a stop order (`order.stop`). */
  cancelOrder(call: InstrumentCall<TInstrument>, order: ActiveOrder): Promise<CancelResult>;
  /** The signal's order (limit, market or best price), keyed by `requestId`. */
  placeOrder(call: BrokerOrderCall<TTerms>): Promise<OrderOutcome>;
  /** An entry with its protection: the broker's own way (Alor: a group; T-Invest: stops after the fill). */
  placeProtected(entry: ProtectedEntry<TInstrument, TTerms>): Promise<ProtectedOutcome>;
}

/** What a guard or a size needs of the instrument beyond what the signal does. */
export interface InstrumentNeeds {
  readonly lot?: boolean;
  readonly position?: boolean;
}

/** A broker's part of the recipe: its instrument, its terms, its client. */
export interface BrokerSignalCalls<TFields, TInstrument, TTerms extends LogFields> {
  /**
   * The instrument the signal names, in the broker's terms, with what the signal needs of it (T-Invest's lookup and
   * lot size, Alor's lot size for `pu: "shares"`), within the deadline; `access` reads the credential then. `needs`:
   * what a guard or a size reads whatever the signal: the lot (a quote), or what a position read needs (T-Invest: the
   * lot; Alor counts positions in lots).
   */
  readonly instrument: (
    signal: Signal<TFields>,
    access: () => Promise<CredentialedCall>,
    needs?: InstrumentNeeds,
  ) => Promise<TInstrument>;
  /** One name per instrument: the lock's and the order key's. */
  readonly instrumentKey: (instrument: TInstrument) => string;
  /** Its lot size, when known: `pos` in shares is divided by it. */
  readonly lot: (instrument: TInstrument) => number | undefined;
  /** Its price step, when known: protective prices are rounded to it (read when the signal asks for protection). */
  readonly step: (instrument: TInstrument) => string | undefined;
  /** The order in the broker's terms: what the log line shows. */
  readonly terms: (instrument: TInstrument, order: PlannedOrder, options: SignalOptions) => TTerms;
  readonly client: SignalClient<TInstrument, TTerms>;
  /** The reads of sizing and guards as the container keeps them (shared/brokers/guards.ts). */
  readonly reads: MarketReads<TInstrument>;
}

export interface SignalRecipeOptions<TFields, TInstrument, TTerms extends LogFields> {
  readonly broker: string;
  readonly calls: BrokerSignalCalls<TFields, TInstrument, TTerms>;
  readonly lock: PositionLock;
  /** The lock is waited for no longer than half of it: the other half is the broker calls'. */
  readonly brokerTimeoutMs: number;
  readonly dryRun: boolean;
  /** The guards' settings and what they read with, but the broker's reads (`calls.reads`). */
  readonly guards: Omit<GuardContext<TInstrument>, 'reads' | 'readState'>;
  /** `CLOSE_UNPROTECTED`: what filled is closed when its protection cannot be placed. */
  readonly closeUnprotected: boolean;
}

/** One signal to run, with what the invocation knows. */
export interface SignalRun<TFields> {
  readonly signal: Signal<TFields>;
  readonly idempotencyKey: string | undefined;
  /** The webhook call's request id (API Gateway's), for a protected entry's follow-up. */
  readonly requestId?: string | undefined;
  readonly deadline: Deadline;
  /** The credential and account, read once per invocation (404 rows). */
  readonly credentials: () => Promise<BrokerCredentials>;
  /** Filled in as the recipe runs: a failure midway still says what was done. */
  readonly report: SignalReport;
  /** Called once the order's terms are known, for the log line. */
  readonly termsKnown: (terms: LogFields) => void;
}

export function createSignalRecipe<TFields, TInstrument, TTerms extends LogFields>(
  options: SignalRecipeOptions<TFields, TInstrument, TTerms>,
): (run: SignalRun<TFields>) => Promise<SignalOutcome> {
  const { broker, calls, lock, brokerTimeoutMs, dryRun, closeUnprotected } = options;
  const { client } = calls;
  const guardContext: GuardContext<TInstrument> = {
    ...options.guards,
    reads: calls.reads,
    readState: (call, needs) => client.readState(call, needs),
  };

  return async (run) => {
    const { signal, deadline, report } = run;
    // The kill switch is read from here on, beside the credentials and the instrument.
    const guards = new GuardRun(guardContext, signal, deadline);
    const access = async () => ({ credential: (await run.credentials()).credential, deadline });
    const instrument = await calls.instrument(signal, access, instrumentNeeds(guards.needs));
    const { credential, account } = await run.credentials();
    const key = calls.instrumentKey(instrument);
    // The signal as written names the order: a size in money, whatever lots it makes today, is part of it.
    const requestId = legRequestId(broker, account, run.idempotencyKey, 'entry', {
      instrument: key,
      intent: signal.intent,
      options: signal.options,
      ...(signal.size === undefined ? {} : { size: signal.size }),
    });
    const call: InstrumentCall<TInstrument> = { credential, account, instrument, deadline };
    // Told an exit only when a guard would refuse it: then the position is read, in lots of the instrument.
    guards.start(call, account, requestId, async () => ({
      ...call,
      instrument: await calls.instrument(signal, access, { position: true }),
    }));

    const needs = { ...stateNeeds(signal), stops: readsStopOrders(signal) };
    const readState = async (): Promise<InstrumentState> =>
      needs.position || needs.orders || needs.stops ? client.readState(call, needs) : { position: 0, activeOrders: [] };
    const held = dependsOnPosition(signal)
      ? await lock
          .acquireWithRead(`${broker}#${account}#${key}`, { deadline, keepMs: brokerTimeoutMs / 2 }, readState)
          .catch(async (error: unknown) => {
            // Nothing will be sent: the day's count this signal took is given back.
            await guards.settle(false);
            throw error;
          })
      : undefined;
    const lease = held?.lease;
    let sent = false;
    let givenBack: Promise<unknown> | undefined;
    /**
     * The lease given back and the day's count settled, once: as soon as the order has its answer (so the next signal
     * on the instrument waits for nothing more), else when the signal ends.
     */
    const giveBack = () => {
      // A lease the store did not take back expires by itself (LEASE_MARGIN_MS after the deadline).
      givenBack ??= Promise.all([lease?.release().catch(() => undefined), guards.settle(sent)]);
      givenBack.catch(() => undefined);
      return givenBack;
    };
    try {
      const state = held === undefined ? await readState() : held.value;
      const sized = await sizedSignal(signal, guards, calls.lot(instrument));
      if (sized.basis !== undefined) report.size = sized.basis;
      let plan = capped(planSignal(sized.signal, state, requestId, sized.target), sized.quote, report);
      Object.assign(report, { position: plan.position, working: plan.working, target: plan.target });
      const protection = signal.options.protection;
      let protect =
        protection === undefined || plan.order === undefined ? undefined : protectionPlan(plan.order, state.position);
      const prices = limitPrices(signal.options, plan.order, protect, calls.step(instrument));
      await guards.check(
        plan.order === undefined ? undefined : { ...plan.order, type: signal.options.type },
        needs.position ? state : undefined,
      );

      // The protective orders were sized for the position this order reduces: they go first, or one of them could
      // open a position the other way (docs/contract.md#protection). An exit's plan cancels them already.
      const exit = signal.intent.kind === 'close' || signal.intent.kind === 'cancel';
      if (!exit && plan.order !== undefined && reducesPosition(plan.order.side, state.position)) {
        plan = { ...plan, cancels: [...plan.cancels, ...(state.stopOrders ?? [])] };
      }

      if (dryRun) {
        report.cancelled.push(...plan.cancels.map((order) => order.id));
        if (plan.order !== undefined) report.orders.push(entry(plan.order, signal.options));
        if (protect !== undefined) report.protection = plannedProtection(protect, signal.options, prices);
        return { result: 'dry-run', report };
      }

      if (plan.cancels.length > 0) {
        const results = await Promise.all(plan.cancels.map((order) => client.cancelOrder(call, order)));
        plan.cancels.forEach((order, index) => {
          if (results[index]?.status === 'cancelled') report.cancelled.push(order.id);
        });
        const unconfirmed = results.find((result) => result.status === 'unconfirmed');
        if (unconfirmed !== undefined) {
          // An order the broker would not cancel may have filled meanwhile: decide again on the state as it is now.
          const stops = plan.cancels.some((order) => order.stop === true);
          const now = await client.readState(call, { position: needs.position, orders: true, stops });
          const cancelling = new Set(plan.cancels.map((order) => order.id));
          const left = [...now.activeOrders, ...(now.stopOrders ?? [])];
          if (left.some((order) => cancelling.has(order.id))) {
            return { result: 'refused', report, reason: unconfirmed.reason };
          }
          plan = {
            ...capped(planSignal(sized.signal, now, requestId, sized.target), sized.quote, report),
            cancels: [],
          };
          Object.assign(report, { position: plan.position, working: plan.working });
          protect =
            protection === undefined || plan.order === undefined ? undefined : protectionPlan(plan.order, now.position);
        }
      }

      if (plan.order === undefined) {
        return { result: report.cancelled.length > 0 ? 'cancelled' : 'nothing-to-do', report };
      }
      const terms = calls.terms(instrument, plan.order, signal.options);
      run.termsKnown(terms);
      sent = true;
      if (protect !== undefined && protect.lots === 0) {
        report.protection = { status: 'none', lots: 0, reason: 'the order opens no position' };
      }
      if (protect !== undefined && protect.lots > 0) {
        const protectedOutcome = await client.placeProtected({
          call,
          terms,
          requestId,
          order: plan.order,
          options: signal.options,
          plan: protect,
          prices,
          step: calls.step(instrument),
          closeUnprotected,
          ticker: signal.ticker,
          webhookRequestId: run.requestId,
        });
        void giveBack();
        const { entry: placed } = protectedOutcome;
        report.protection = protectedOutcome.protection;
        if (placed.status === 'placed') {
          report.orders.push({ ...entry(plan.order, signal.options), id: placed.orderId, replayed: placed.replayed });
        }
        report.orders.push(...protectedOutcome.legs);
        if (placed.status === 'refused') return { result: 'refused', report, reason: placed.message };
        return { result: 'placed', report };
      }
      const outcome = await client.placeOrder({ credential, account, terms, requestId, deadline, dryRun: false });
      void giveBack();
      if (outcome.status === 'refused') return { result: 'refused', report, reason: outcome.message };
      if (outcome.status === 'placed') {
        report.orders.push({ ...entry(plan.order, signal.options), id: outcome.orderId, replayed: outcome.replayed });
      }
      return { result: 'placed', report };
    } finally {
      await giveBack();
    }
  };
}

/** A signal sized in lots: its intent's lots or target, how they were reached, and the quote they came from. */
interface SizedSignal<TFields> {
  readonly signal: Signal<TFields>;
  /** A position intent's target in lots. */
  readonly target?: number | undefined;
  readonly basis?: SizeBasis | undefined;
  readonly quote?: LotQuote | undefined;
}

/**
 * `v` or `pos` in money made whole lots from the broker's quote (and the portfolio's value for `pct` and `risk`); an
 * order's lots capped by what the broker lets the account trade. A signal in lots is as it came (`pos` in shares made
 * lots of the instrument).
 */
async function sizedSignal<TFields>(
  signal: Signal<TFields>,
  guards: Pick<GuardRun<unknown>, 'quote' | 'portfolio'>,
  lot: number | undefined,
): Promise<SizedSignal<TFields>> {
  const { intent, size } = signal;
  if (size === undefined) {
    return { signal, target: intent.kind === 'position' ? targetLots(intent, lot) : undefined };
  }
  if (intent.kind !== 'order' && intent.kind !== 'position') return { signal };
  const [quote, portfolio] = await Promise.all([guards.quote(), size.unit === 'rub' ? undefined : guards.portfolio()]);
  const long = intent.kind === 'order' ? intent.side === 'buy' : size.amount > 0;
  const basis = sizeToLots(size, quote, long, portfolio?.value, signal.options.protection?.sl);
  if (intent.kind === 'position') {
    const target = size.amount < 0 ? -basis.lots : basis.lots;
    return { signal: { ...signal, intent: { ...intent, target } }, target, basis, quote };
  }
  const lots = capToBroker(basis.lots, intent.side, quote);
  return {
    signal: { ...signal, intent: { ...intent, lots } },
    basis: lots < basis.lots ? { ...basis, cappedTo: lots } : basis,
    quote,
  };
}

/** A sized position's order capped by what the broker lets the account trade, as a sized order's is. */
function capped(plan: SignalPlan, quote: LotQuote | undefined, report: SignalReport): SignalPlan {
  if (quote === undefined || plan.order === undefined || plan.target === undefined) return plan;
  const lots = capToBroker(plan.order.lots, plan.order.side, quote);
  if (lots === plan.order.lots) return plan;
  if (report.size !== undefined) report.size = { ...report.size, cappedTo: lots };
  return { ...plan, order: { ...plan.order, lots } };
}

/**
 * A limit entry's protective prices, from its limit price, refused before anything is sent when they would not
 * protect it ([bad-protection](docs/contract.md#bad-protection)); a market entry's wait for its fill price.
 */
function limitPrices(
  options: SignalOptions,
  order: PlannedOrder | undefined,
  protect: ProtectionPlan | undefined,
  step: string | undefined,
): ProtectionPrices | undefined {
  if (options.protection === undefined || order === undefined || protect === undefined || protect.lots === 0) {
    return undefined;
  }
  if (options.type !== 'limit' || options.price === undefined) return undefined;
  const prices = protectionPrices(options.protection, order.side, options.price, step);
  checkPositive(prices);
  checkProtectionPrices(prices, order.side, options.price);
  return prices;
}

/** A dry run's protection: what would be placed, and when. */
function plannedProtection(
  protect: ProtectionPlan,
  options: SignalOptions,
  prices: ProtectionPrices | undefined,
): ProtectionReport {
  if (protect.lots === 0) return { status: 'none', lots: 0, reason: 'the order opens no position' };
  return {
    status: options.type === 'limit' ? 'on-fill' : 'active',
    lots: protect.lots,
    ...(prices === undefined ? {} : describePrices(prices)),
  };
}

function entry(order: PlannedOrder, options: SignalOptions) {
  return {
    leg: 'entry' as const,
    side: order.side,
    lots: order.lots,
    type: options.type,
    ...(options.price === undefined ? {} : { price: options.price }),
    ...(options.timeInForce === undefined ? {} : { tif: options.timeInForce }),
  };
}
