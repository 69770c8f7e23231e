import { HttpError } from '../../errors.ts';
import { PROTECTION_RETRY_SECONDS, PROTECTION_WATCH_ATTEMPTS, PROTECTION_WATCH_SECONDS } from '../../facts.ts';
import type { ProtectionJob } from '../../notify/queue.ts';
import type { Protection } from '../../signal.ts';
import type { FollowUpQueue } from '../follow-up-queue.ts';
import type { OrderOutcome } from '../outcome.ts';
import { describePrices, openedLots, type ProtectionPrices, protectionPrices, protectiveLegId } from '../protection.ts';
import type { SignalOrder } from '../signal-outcome.ts';
import type { Side } from '../signal-plan.ts';
import type { CancelResult, ProtectedEntry, ProtectedOutcome } from '../signal-recipe.ts';
import type { StopOrderCall, TinkoffV2Client } from './client.ts';
import {
  isFinal,
  type StopOrderResult,
  stopOrderRequest,
  type TinkoffInstrument,
  type TinkoffSignalTerms,
} from './mapping.ts';
import type { OrderFill, StopOrder } from './schemas.ts';

/**
 * A protected entry at T-Invest (docs/contract.md#protection). T-Invest has stop-loss and take-profit orders (the
 * take-profit also trailing) but nothing that links two of them or activates one on a fill: the stops can only be
 * placed once the entry filled, and when one executes the other must be cancelled by us. So:
 *
 * - before the entry is placed, its watch is put on the follow-up queue (an entry is never placed unwatched);
 * - a market entry whose answer says it filled gets its stops at once, in the request;
 * - the watch (the follow-up function, every {@link PROTECTION_WATCH_SECONDS} s while anything is open) protects each
 *   new fill of the entry with a stop-loss and a take-profit for the lots it opened (a partial fill: what filled),
 *   cancels the other of a pair when one executed, and ends when the entry is done and no pair is open;
 * - every stop order is keyed (`orderId`) by the entry's key and the lots it covers (`sl:0-3`): the webhook and the
 *   watch, a retry or a second watch, all send the same key, so there is never a second stop;
 * - a stop that cannot be placed is tried again {@link PROTECTION_WATCH_ATTEMPTS} times; then the watch's line says
 *   `failed` (the most urgent message), and what filled is closed at market when `CLOSE_UNPROTECTED` says so.
 *
 * Stop orders are sent without `confirmMarginTrade`, so T-Invest refuses one that would open an uncovered position:
 * a take-profit left for a moment after its stop-loss executed cannot open a short.
 */

type Leg = 'sl' | 'tp';

/** A pair's stop orders and what each is keyed by. */
const legKey = (leg: Leg, from: number, to: number) => `${leg}:${from}-${to}`;

/** What the watch tells, one line per check: each becomes a message (shared/notify/events.ts). */
export type ProtectionEvent =
  | {
      readonly kind: 'protected';
      readonly lots: number;
      readonly side: Side;
      readonly sl?: string | undefined;
      readonly tp?: string | undefined;
      readonly trail?: string | undefined;
    }
  | { readonly kind: 'executed'; readonly leg: Leg; readonly lots: number; readonly price?: string | undefined }
  | { readonly kind: 'sibling-cancelled'; readonly leg: Leg; readonly lots: number }
  | {
      readonly kind: 'failed';
      readonly lots: number;
      /** The side of the unprotected position: the entry's. */
      readonly position: Side;
      readonly reason: string;
      /** Whether what filled was closed; absent when no close was asked for (CLOSE_UNPROTECTED=false). */
      readonly closed?: boolean | undefined;
      readonly sl?: string | undefined;
      readonly tp?: string | undefined;
      readonly trail?: string | undefined;
    }
  | { readonly kind: 'retry'; readonly attempt: number; readonly reason: string };

/** What the stop-order service does for the watch, with the token, account and deadline of one check. */
export interface WatchCalls {
  orderFill(requestId: string): Promise<OrderFill | undefined>;
  /** `second`: on the second connection, so a pair goes at once. */
  postStop(request: ReturnType<typeof stopOrderRequest>, second?: boolean): Promise<StopOrderResult>;
  stopOrders(since: string): Promise<StopOrder[]>;
  cancelStop(stopOrderId: string): Promise<CancelResult>;
  closeAtMarket(side: Side, lots: number, orderId: string): Promise<OrderOutcome>;
}

export function watchCalls(client: TinkoffV2Client, call: StopOrderCall, instrumentId: string): WatchCalls {
  return {
    orderFill: (requestId) => client.orderFill(call, requestId),
    postStop: (request, second) => client.postStopOrder(call, request, second),
    stopOrders: (since) => client.stopOrders(call, since),
    cancelStop: (id) => client.cancelStopOrder(call, id),
    closeAtMarket: (side, lots, orderId) =>
      client.placeOrder({
        ...call,
        terms: { figi: instrumentId, side, lots, type: 'market' },
        requestId: orderId,
        dryRun: false,
      }),
  };
}

const opposite = (side: Side): Side => (side === 'buy' ? 'sell' : 'buy');

/** The protection as the signal wrote it, from the job. */
function levelsOf(job: ProtectionJob): Protection {
  return job.levels;
}

/** The prices of a job's stops once the entry's price is known (its limit price, or its fill's). */
function pricesOf(job: ProtectionJob, fillPrice: string | undefined): ProtectionPrices | undefined {
  const base = job.entry.price ?? fillPrice;
  const needsBase =
    Object.values(job.levels).some((level) => level?.kind === 'percent') || job.levels.trail !== undefined;
  if (base === undefined && needsBase) return undefined;
  return protectionPrices(levelsOf(job), job.entry.side, base, job.step);
}

/**
 * The trailing take-profit's activation price: `tp` when the signal gave one, else the entry's price (it trails from
 * the start).
 */
function tpPrice(prices: ProtectionPrices, base: string | undefined): string | undefined {
  return prices.tp ?? (prices.trail === undefined ? undefined : base);
}

interface PairPlacement {
  readonly sl?: string | undefined;
  readonly tp?: string | undefined;
  /** Why a leg was not placed, when one was not. */
  readonly problem?: string | undefined;
}

/** One pair's stop orders for the lots `from`..`to` of the entry, keyed by them; a duplicate is found by its key's twin. */
async function placePair(
  job: ProtectionJob,
  calls: WatchCalls,
  accountId: string,
  prices: ProtectionPrices,
  base: string | undefined,
  from: number,
  to: number,
): Promise<PairPlacement> {
  const side = opposite(job.entry.side);
  const lots = to - from;
  const legs: { leg: Leg; price: string | undefined }[] = [
    { leg: 'sl', price: prices.sl },
    { leg: 'tp', price: tpPrice(prices, base) },
  ];
  const placed = await Promise.all(
    legs
      .filter((leg) => leg.price !== undefined)
      .map(async ({ leg, price }, index) => {
        const request = stopOrderRequest(
          job.instrumentId,
          accountId,
          { leg, side, lots, price: price ?? '', trail: leg === 'tp' ? prices.trail : undefined },
          protectiveLegId(job.entry.requestId, legKey(leg, from, to)),
        );
        try {
          const result = await calls.postStop(request, index > 0);
          if (result.status === 'placed') return { leg, id: result.stopOrderId };
          if (result.status === 'refused') return { leg, problem: `${leg}: ${result.message}` };
          // 30057: this key placed a stop before; its id is found among the stop orders since the watch began.
          const found = (await calls.stopOrders(job.since)).find((order) => sameStop(order, request));
          return found === undefined ? { leg, problem: `${leg}: duplicate not found` } : { leg, id: found.stopOrderId };
        } catch (error) {
          return { leg, problem: `${leg}: ${error instanceof HttpError ? error.code : 'error'}` };
        }
      }),
  );
  const problems = placed.flatMap((result) =>
    'problem' in result && result.problem !== undefined ? [result.problem] : [],
  );
  const idOf = (leg: Leg) => placed.find((result) => result.leg === leg && 'id' in result)?.id;
  return { sl: idOf('sl'), tp: idOf('tp'), ...(problems.length > 0 ? { problem: problems.join('; ') } : {}) };
}

function sameStop(order: StopOrder, request: ReturnType<typeof stopOrderRequest>): boolean {
  const type = request.stopOrderType;
  return (
    order.orderType === type &&
    order.direction === request.direction &&
    order.lotsRequested === Number(request.quantity) &&
    (order.figi === request.instrumentId || order.instrumentUid === request.instrumentId)
  );
}

/** The job a protected entry starts with, before anything is placed. */
export function firstJob(entry: ProtectedEntry<TinkoffInstrument, TinkoffSignalTerms>, since: string): ProtectionJob {
  const { plan, order, options } = entry;
  return {
    type: 'protect',
    broker: 'tinkoff',
    requestId: entry.webhookRequestId ?? entry.requestId,
    ticker: entry.ticker,
    instrumentId: entry.terms.figi,
    entry: {
      requestId: entry.requestId,
      side: order.side,
      lots: order.lots,
      closing: plan.closing,
      ...(options.type === 'limit' && options.price !== undefined ? { price: options.price } : {}),
      filled: 0,
      done: false,
    },
    levels: { ...options.protection },
    ...(entry.step === undefined ? {} : { step: entry.step }),
    closeUnprotected: entry.closeUnprotected,
    protectedLots: 0,
    pairs: [],
    failures: 0,
    since,
    checks: 0,
    unreachable: 0,
  };
}

/** The webhook's part: the watch queued, the entry placed, a filled market entry's stops placed at once. */
export async function placeTinkoffProtected(
  client: TinkoffV2Client,
  queue: FollowUpQueue | undefined,
  entry: ProtectedEntry<TinkoffInstrument, TinkoffSignalTerms>,
): Promise<ProtectedOutcome> {
  const { call, terms, requestId, plan } = entry;
  const job = firstJob(entry, new Date(Date.now() - 60_000).toISOString());
  const described = entry.prices === undefined ? {} : describePrices(entry.prices);
  try {
    if (queue === undefined) throw new Error('no follow-up queue');
    await queue.send(job, PROTECTION_WATCH_SECONDS, call.deadline);
  } catch {
    const reason = 'Не удалось поставить проверку защиты в очередь: заявка не выставлена';
    return {
      entry: { status: 'refused', message: reason },
      legs: [],
      protection: { status: 'none', lots: 0, ...described, reason: 'the watch could not be queued' },
    };
  }
  const { outcome, fill } = await client.placeOrderWithFill({ ...call, terms, requestId, dryRun: false });
  if (outcome.status !== 'placed') {
    return {
      entry: outcome,
      legs: [],
      protection: { status: 'none', lots: 0, ...described, reason: 'the entry was not placed' },
    };
  }
  const opened = openedLots(plan, fill?.lotsExecuted ?? 0);
  if (terms.type === 'limit' || opened === 0) {
    return { entry: outcome, legs: [], protection: { status: 'on-fill', lots: plan.lots, ...described } };
  }
  // A market entry that filled in its answer: its stops now, keyed as the watch keys them (it finds them placed).
  const stopCall = { credential: call.credential, account: call.account, deadline: call.deadline };
  const calls = watchCalls(client, stopCall, terms.figi);
  const prices = pricesOf(job, fill?.executedOrderPrice);
  if (prices === undefined) {
    return {
      entry: outcome,
      legs: [],
      protection: { status: 'on-fill', lots: opened, reason: 'the fill price is unknown' },
    };
  }
  const base = job.entry.price ?? fill?.executedOrderPrice;
  let pair: PairPlacement = {};
  for (let attempt = 0; attempt < 2; attempt++) {
    pair = await placePair(
      { ...job, entry: { ...job.entry, price: base } },
      calls,
      call.account,
      prices,
      base,
      0,
      opened,
    );
    if (pair.problem === undefined) break;
  }
  const legs: SignalOrder[] = (['sl', 'tp'] as const).flatMap((leg) => {
    const id = pair[leg];
    return id === undefined
      ? []
      : [
          {
            leg,
            side: plan.side,
            lots: opened,
            type: leg === 'tp' && prices.trail !== undefined ? ('trailing' as const) : ('stop' as const),
            price: leg === 'sl' ? prices.sl : tpPrice(prices, base),
            id,
          },
        ];
  });
  // What could not be placed now the watch tries again, and tells if it cannot.
  return {
    entry: outcome,
    legs,
    protection:
      pair.problem === undefined
        ? { status: 'active', lots: opened, ...describePrices(prices) }
        : { status: 'on-fill', lots: opened, ...describePrices(prices), reason: pair.problem },
  };
}

/** What one check of the watch did, and the job for the next, if anything is still open. */
export interface WatchResult {
  readonly events: ProtectionEvent[];
  /** Lots of the entry filled by now. */
  readonly filled: number;
  readonly next: ProtectionJob | undefined;
  readonly delaySeconds: number;
}

/** An entry its webhook never placed (the queue took the job, then the order failed) is looked for this many times. */
const CHECKS_OF_AN_UNKNOWN_ENTRY = 3;
/** A stop order the list does not show is looked for this many checks, then taken as gone. */
const UNSEEN_CHECKS = 3;

/**
 * One check of a protected entry's watch: the entry's fills protected, each open pair looked at (the other cancelled
 * when one executed), and the job for the next check.
 */
export async function watchProtection(job: ProtectionJob, calls: WatchCalls, accountId: string): Promise<WatchResult> {
  const events: ProtectionEvent[] = [];
  let next: ProtectionJob = { ...job, checks: job.checks + 1, pairs: job.pairs.map((pair) => ({ ...pair })) };
  let fillPrice: string | undefined;

  if (!next.entry.done) {
    const fill = await calls.orderFill(job.entry.requestId);
    if (fill === undefined) {
      const gone = next.checks >= CHECKS_OF_AN_UNKNOWN_ENTRY;
      next = { ...next, entry: { ...next.entry, done: gone } };
    } else {
      fillPrice = fill.executedOrderPrice;
      next = { ...next, entry: { ...next.entry, filled: fill.lotsExecuted, done: isFinal(fill) } };
    }
  }

  const plan = { closing: next.entry.closing, lots: next.entry.lots - next.entry.closing };
  const opened = openedLots({ ...plan, side: opposite(next.entry.side) }, next.entry.filled);
  if (opened > next.protectedLots) {
    const from = next.protectedLots;
    const base = next.entry.price ?? fillPrice;
    const prices = pricesOf(next, fillPrice);
    const pair =
      prices === undefined
        ? { problem: 'the fill price is unknown' }
        : await placePair(next, calls, accountId, prices, base, from, opened);
    if (pair.problem === undefined && prices !== undefined) {
      next.pairs.push({ from, to: opened, sl: pair.sl, tp: pair.tp, done: false, unseen: 0 });
      next = { ...next, protectedLots: opened, failures: 0, entry: { ...next.entry, price: base } };
      events.push({
        kind: 'protected',
        lots: opened - from,
        side: opposite(next.entry.side),
        ...describePrices(prices),
      });
    } else {
      const failures = next.failures + 1;
      const reason = pair.problem ?? 'unknown';
      if (failures < PROTECTION_WATCH_ATTEMPTS) {
        next = { ...next, failures };
        events.push({ kind: 'retry', attempt: failures, reason });
      } else {
        // What was placed of the pair goes, or it could open a position the other way once the lots are closed.
        for (const id of [pair.sl, pair.tp]) if (id !== undefined) await calls.cancelStop(id).catch(() => undefined);
        let closed: boolean | undefined;
        if (next.closeUnprotected) {
          const close = await calls
            .closeAtMarket(
              opposite(next.entry.side),
              opened - from,
              protectiveLegId(job.entry.requestId, `close:${from}-${opened}`),
            )
            .catch((): OrderOutcome => ({ status: 'refused', message: 'close failed' }));
          closed = close.status === 'placed';
        }
        events.push({
          kind: 'failed',
          lots: opened - from,
          position: next.entry.side,
          reason,
          // Absent: no close was asked for (CLOSE_UNPROTECTED=false).
          ...(closed === undefined ? {} : { closed }),
          ...(prices === undefined ? {} : describePrices(prices)),
        });
        next = { ...next, protectedLots: opened, failures: 0 };
      }
    }
  }

  const open = next.pairs.filter((pair) => !pair.done);
  if (open.length > 0) {
    const stops = await calls.stopOrders(job.since);
    const byId = new Map(stops.map((order) => [order.stopOrderId, order]));
    for (const pair of open) {
      const lots = pair.to - pair.from;
      const sl = pair.sl === undefined ? undefined : byId.get(pair.sl);
      const tp = pair.tp === undefined ? undefined : byId.get(pair.tp);
      const executed = (order: StopOrder | undefined) => order?.status === 'STOP_ORDER_STATUS_EXECUTED';
      const active = (order: StopOrder | undefined) => order?.status === 'STOP_ORDER_STATUS_ACTIVE';
      for (const [leg, done, other, otherLeg] of [
        ['sl', sl, tp, 'tp'],
        ['tp', tp, sl, 'sl'],
      ] as const) {
        if (!executed(done)) continue;
        events.push({ kind: 'executed', leg, lots, price: done?.stopPrice });
        if (other !== undefined && active(other)) {
          const cancel = await calls.cancelStop(other.stopOrderId);
          if (cancel.status === 'cancelled') events.push({ kind: 'sibling-cancelled', leg: otherLeg, lots });
        }
      }
      // Done once neither of its stop orders is active any more (executed, cancelled by an exit or by hand, expired);
      // one T-Invest does not list is looked for a few checks, then taken as gone.
      const known = [pair.sl, pair.tp].filter((id) => id !== undefined).map((id) => byId.get(id));
      const unseen = known.some((order) => order === undefined) ? pair.unseen + 1 : 0;
      pair.unseen = unseen;
      const inactive = known.every((order) => order === undefined || !active(order));
      if (executed(sl) || executed(tp) || (inactive && (unseen === 0 || unseen >= UNSEEN_CHECKS))) pair.done = true;
    }
  }

  // Open while the entry may fill more, a fill waits for its protection, or a pair is active.
  const stillOpen = !next.entry.done || opened > next.protectedLots || next.pairs.some((pair) => !pair.done);
  return {
    events,
    filled: next.entry.filled,
    next: stillOpen ? next : undefined,
    delaySeconds: next.failures > 0 ? PROTECTION_RETRY_SECONDS : PROTECTION_WATCH_SECONDS,
  };
}
