import { setTimeout as sleep } from 'node:timers/promises';
import { numberToCanonicalDecimal } from '../../decimal.ts';
import { HttpError } from '../../errors.ts';
import { PROTECTION_WATCH_SECONDS } from '../../facts.ts';
import type { Deadline } from '../../http/outbound/deadline.ts';
import type { LogFields } from '../../logging.ts';
import type { ProtectionJob } from '../../notify/queue.ts';
import type { WatchOutcome } from '../follow-up-handler.ts';
import type { OrderOutcome } from '../outcome.ts';
import { describePrices, openedLots, type ProtectionPrices, protectionPrices, protectiveLegId } from '../protection.ts';
import type { ProtectionReport, SignalOrder } from '../signal-outcome.ts';
import type { InstrumentCall, ProtectedEntry, ProtectedOutcome } from '../signal-recipe.ts';
import type { AlorClient } from './client.ts';
import { type AlorInstrument, type AlorSignalTerms, stopOrderBody } from './mapping.ts';
import type { AlorOrderGroupRequest } from './schemas.ts';

/**
 * A protected entry at Alor (docs/contract.md#protection), held by Alor's servers, not by this function:
 *
 * - a limit entry: its stop-loss and take-profit created inactive (`activate: false`), then the entry, then two groups
 *   (`POST /commandapi/api/orderGroups`): `TriggerBracketOrders` of the entry and both stops ("a group of one limit
 *   order and several stops … once the limit order executes, the stops are activated", `field_ExecutionPolicy`), and
 *   `OnExecuteOrCancel` of the two stops ("the group is cancelled when any of its orders is cancelled, executed or
 *   edited"), so that once active the one that executes cancels the other. The spec says nothing of a bracket's stops
 *   cancelling each other once active; Alor's docs say an order may be in several groups, so the second group makes it
 *   so whatever the first does. Then the entry's state is read once: an entry that filled before its group existed
 *   may never activate its stops (the spec does not say), so its stops are replaced by active ones for what filled and
 *   the rest of it is cancelled.
 * - a market entry: the spec's bracket holds "one limit order", so a market entry is not put in one (what Alor would
 *   do is undefined): it is placed, its fill read from the symbol's trades, and active stops for what it opened linked
 *   by `OnExecuteOrCancel`.
 *
 * Each order is keyed: the entry by its `X-REQID`, each stop by a key derived from it and its leg (`sl`, `tp`), so a
 * retry or a resent signal adds no stop. A protective order that cannot be placed after a fill is tried once more,
 * then the entry's lots are closed at market when `CLOSE_UNPROTECTED` says so (key leg `close`), and the answer and the
 * log line say `protection: failed`: the notifier's most urgent message.
 */

type Leg = 'sl' | 'tp';
const LEGS: readonly Leg[] = ['sl', 'tp'];

/** Reads of a market entry's fill: the trades may show it a moment after the order's answer. */
const FILL_READS = 3;
const FILL_READ_PAUSE_MS = 100;

export async function placeAlorProtected(
  client: AlorClient,
  entry: ProtectedEntry<AlorInstrument, AlorSignalTerms>,
): Promise<ProtectedOutcome> {
  const outcome = await (entry.terms.type === 'limit' ? bracketed(client, entry) : protectedAtMarket(client, entry));
  const entryId = outcome.entry.status === 'placed' ? outcome.entry.orderId : undefined;
  return entryId === undefined ? outcome : queueWatch(client, entry, outcome, entryId);
}

interface PlacedStop {
  readonly leg: Leg;
  readonly outcome: OrderOutcome;
}

/** The stops of the legs the prices name, placed at once; `lots` each, active or not. */
async function placeStops(
  client: AlorClient,
  entry: ProtectedEntry<AlorInstrument, AlorSignalTerms>,
  prices: ProtectionPrices,
  lots: number,
  activate: boolean,
): Promise<PlacedStop[]> {
  const { call, plan, requestId } = entry;
  const legs = LEGS.filter((leg) => prices[leg] !== undefined);
  // The pair at once, one on each connection.
  return Promise.all(
    legs.map(async (leg, index) => {
      const id = protectiveLegId(requestId, leg);
      const body = stopOrderBody(
        call.instrument,
        call.account,
        { leg, side: plan.side, lots, price: prices[leg] ?? '', activate },
        id,
      );
      return { leg, outcome: await client.placeStop(call, body, id, index > 0) };
    }),
  );
}

const placedIds = (stops: readonly PlacedStop[]) =>
  stops.flatMap((stop) => (stop.outcome.status === 'placed' && stop.outcome.orderId !== undefined ? [stop] : []));

/** Cancels stop orders, quietly: a stop already gone (cancelled with its group, executed) has nothing left to cancel. */
async function cancelStops(client: AlorClient, call: InstrumentCall<AlorInstrument>, stops: readonly PlacedStop[]) {
  await Promise.all(
    placedIds(stops).map((stop) =>
      client
        .cancelOrder(call, { id: orderIdOf(stop.outcome), side: 'buy', lots: 0, stop: true })
        .catch(() => undefined),
    ),
  );
}

function orderIdOf(outcome: OrderOutcome): string {
  return outcome.status === 'placed' ? (outcome.orderId ?? '') : '';
}

function legOrders(
  stops: readonly PlacedStop[],
  entry: ProtectedEntry<AlorInstrument, AlorSignalTerms>,
  prices: ProtectionPrices,
  lots: number,
): SignalOrder[] {
  return stops.flatMap((stop) =>
    stop.outcome.status === 'placed'
      ? [
          {
            leg: stop.leg,
            side: entry.plan.side,
            lots,
            type: 'stop' as const,
            price: prices[stop.leg],
            id: stop.outcome.orderId,
            replayed: stop.outcome.replayed,
          },
        ]
      : [],
  );
}

function group(
  call: InstrumentCall<AlorInstrument>,
  policy: AlorOrderGroupRequest['executionPolicy'],
  orders: readonly { id: string; type: 'Limit' | 'Stop' }[],
): AlorOrderGroupRequest {
  return {
    orders: orders.map((order) => ({
      portfolio: call.account,
      exchange: call.instrument.exchange,
      orderId: order.id,
      type: order.type,
    })),
    executionPolicy: policy,
  };
}

/** The two stops linked so that the one that executes cancels the other. */
async function linkStops(
  client: AlorClient,
  call: InstrumentCall<AlorInstrument>,
  stops: readonly PlacedStop[],
  second = false,
) {
  const placed = placedIds(stops);
  if (placed.length < 2) return { status: 'created' as const, groupId: '' };
  return client.createGroup(
    call,
    group(
      call,
      'OnExecuteOrCancel',
      placed.map((stop) => ({ id: orderIdOf(stop.outcome), type: 'Stop' })),
    ),
    second,
  );
}

const refusedText = (stops: readonly PlacedStop[]) =>
  stops
    .flatMap((stop) => (stop.outcome.status === 'refused' ? [`${stop.leg}: ${stop.outcome.message}`] : []))
    .join('; ');

/** A limit entry in a `TriggerBracketOrders` group with its inactive stops, the stops in an `OnExecuteOrCancel` one. */
async function bracketed(
  client: AlorClient,
  entry: ProtectedEntry<AlorInstrument, AlorSignalTerms>,
): Promise<ProtectedOutcome> {
  const { call, plan, terms, requestId } = entry;
  const prices = entry.prices ?? {};
  const described = describePrices(prices);
  const notPlaced = (reason: string): ProtectedOutcome => ({
    entry: { status: 'refused', message: reason },
    legs: [],
    protection: { status: 'none', lots: 0, ...described, reason },
  });

  const stops = await placeStops(client, entry, prices, plan.lots, false);
  if (stops.some((stop) => stop.outcome.status !== 'placed')) {
    await cancelStops(client, call, stops);
    return notPlaced(refusedText(stops));
  }
  let placed: OrderOutcome;
  try {
    placed = await client.placeOrder({ ...call, terms, requestId, dryRun: false });
  } catch (error) {
    await cancelStops(client, call, stops);
    throw error;
  }
  if (placed.status !== 'placed' || placed.orderId === undefined) {
    await cancelStops(client, call, stops);
    return { ...notPlaced(placed.status === 'refused' ? placed.message : 'no order number'), entry: placed };
  }
  const entryId = placed.orderId;
  const stopRefs = placedIds(stops).map((stop) => ({ id: orderIdOf(stop.outcome), type: 'Stop' as const }));
  const [bracket, link] = await Promise.all([
    client.createGroup(call, group(call, 'TriggerBracketOrders', [{ id: entryId, type: 'Limit' }, ...stopRefs])),
    linkStops(client, call, stops, true),
  ]);
  if (bracket.status !== 'created' || link.status !== 'created') {
    // Without its group the entry would fill unprotected: it goes, with its stops. If it filled meanwhile, what
    // filled is protected as a market entry's fill is.
    const cancel = await client.cancelOrder(call, { id: entryId, side: terms.side, lots: terms.lots });
    const reason = bracket.status === 'refused' ? bracket.message : link.status === 'refused' ? link.message : '';
    if (cancel.status === 'cancelled') {
      await cancelStops(client, call, stops);
      return {
        entry: { status: 'refused', message: `Группа заявок не создана: ${reason}` },
        legs: [],
        protection: { status: 'none', lots: 0, ...described, reason },
      };
    }
  }
  const state = await client.lookUpOrder({
    credential: call.credential,
    account: call.account,
    exchange: call.instrument.exchange,
    orderId: entryId,
    deadline: call.deadline,
  });
  const filled = state.status === 'not-found' ? 0 : (state.filledLots ?? 0);
  if (filled === 0) {
    return {
      entry: placed,
      legs: legOrders(stops, entry, prices, plan.lots),
      protection: { status: 'on-fill', lots: plan.lots, ...described },
    };
  }
  // It filled before its group existed: whether the group activates its stops is not said. Active stops for what
  // filled replace them, and what did not fill yet is cancelled rather than left to fill unprotected.
  await cancelStops(client, call, stops);
  if (state.status === 'working' || state.status === 'partly-filled') {
    await client.cancelOrder(call, { id: entryId, side: terms.side, lots: terms.lots }).catch(() => undefined);
  }
  const opened = openedLots(plan, filled);
  const atOnce = await protectFilled(client, entry, opened, prices, 'refill');
  return { entry: placed, legs: atOnce.legs, protection: atOnce.protection };
}

/** A market entry, then active stops for what it opened, linked by `OnExecuteOrCancel`. */
async function protectedAtMarket(
  client: AlorClient,
  entry: ProtectedEntry<AlorInstrument, AlorSignalTerms>,
): Promise<ProtectedOutcome> {
  const { call, terms, requestId, plan } = entry;
  const placed = await client.placeOrder({ ...call, terms, requestId, dryRun: false });
  if (placed.status !== 'placed' || placed.orderId === undefined) {
    return { entry: placed, legs: [], protection: { status: 'none', lots: 0, reason: 'the entry was not placed' } };
  }
  const fill = await readFill(client, call, placed.orderId);
  const opened = openedLots(plan, fill.lots);
  if (opened === 0) {
    return { entry: placed, legs: [], protection: { status: 'none', lots: 0, reason: 'nothing filled' } };
  }
  if (fill.price === undefined && Object.values(entry.options.protection ?? {}).some((l) => l?.kind === 'percent')) {
    return { entry: placed, ...(await unprotected(client, entry, opened, {}, 'the fill price is unknown')) };
  }
  const prices = protectionPrices(entry.options.protection ?? {}, terms.side, fill.price, entry.step);
  const atOnce = await protectFilled(client, entry, opened, prices, '');
  return { entry: placed, legs: atOnce.legs, protection: atOnce.protection };
}

/** The market entry's fill, read from the symbol's trades, a few times while it does not show yet. */
async function readFill(client: AlorClient, call: InstrumentCall<AlorInstrument>, orderId: string) {
  let fill = await client.orderFill(call, orderId);
  for (let read = 1; read < FILL_READS && fill.lots === 0; read++) {
    if (call.deadline.remainingMs() < 2 * FILL_READ_PAUSE_MS) break;
    await sleep(FILL_READ_PAUSE_MS);
    fill = await client.orderFill(call, orderId);
  }
  return fill;
}

/**
 * Active stops for `lots` that filled, linked; tried twice. `legSuffix` keys a second set apart from the first (the
 * limit entry's stops that were replaced).
 */
async function protectFilled(
  client: AlorClient,
  entry: ProtectedEntry<AlorInstrument, AlorSignalTerms>,
  lots: number,
  prices: ProtectionPrices,
  legSuffix: string,
): Promise<{ legs: SignalOrder[]; protection: ProtectionReport }> {
  const keyed = { ...entry, requestId: legSuffix === '' ? entry.requestId : `${entry.requestId}#${legSuffix}` };
  let reason = '';
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const stops = await placeStops(client, keyed, prices, lots, true);
      const link = stops.every((stop) => stop.outcome.status === 'placed')
        ? await linkStops(client, entry.call, stops)
        : undefined;
      if (link?.status === 'created') {
        return {
          legs: legOrders(stops, entry, prices, lots),
          protection: { status: 'active', lots, ...describePrices(prices) },
        };
      }
      reason = link?.status === 'refused' ? `group: ${link.message}` : refusedText(stops);
      // Unlinked, one could execute after the other: neither stays.
      await cancelStops(client, entry.call, stops);
    } catch (error) {
      reason = error instanceof HttpError ? error.code : 'error';
    }
  }
  return unprotected(client, entry, lots, prices, reason);
}

/** Protection that could not be placed after a fill: told as failed, and what filled closed when the setting says so. */
async function unprotected(
  client: AlorClient,
  entry: ProtectedEntry<AlorInstrument, AlorSignalTerms>,
  lots: number,
  prices: ProtectionPrices,
  reason: string,
): Promise<{ legs: SignalOrder[]; protection: ProtectionReport }> {
  const failed = { status: 'failed' as const, lots, ...describePrices(prices), reason };
  // `closed` absent: no close was asked for (CLOSE_UNPROTECTED=false).
  if (!entry.closeUnprotected) return { legs: [], protection: failed };
  const { call, terms, plan } = entry;
  const closeTerms: AlorSignalTerms = {
    symbol: terms.symbol,
    exchange: terms.exchange,
    side: plan.side,
    lots,
    type: 'market',
  };
  const close = await client
    .placeOrder({ ...call, terms: closeTerms, requestId: protectiveLegId(entry.requestId, 'close'), dryRun: false })
    .catch((): OrderOutcome => ({ status: 'refused', message: 'close failed' }));
  const closed = close.status === 'placed';
  return {
    legs: closed
      ? [{ leg: 'close', side: plan.side, lots, type: 'market', id: close.orderId, replayed: close.replayed }]
      : [],
    protection: { ...failed, closed },
  };
}

/** The first message of an Alor entry's watch, once its protection is placed: its pair, by their order numbers. */
function watchJob(
  entry: ProtectedEntry<AlorInstrument, AlorSignalTerms>,
  entryId: string,
  legs: readonly SignalOrder[],
  lots: number,
  filled: boolean,
): ProtectionJob {
  const { call, terms, plan, options } = entry;
  const idOf = (leg: Leg) => legs.find((order) => order.leg === leg)?.id;
  return {
    type: 'protect',
    broker: 'alor',
    requestId: entry.webhookRequestId ?? entry.requestId,
    ticker: entry.ticker,
    instrumentId: `${call.instrument.exchange}:${call.instrument.symbol}`,
    entry: {
      requestId: entry.requestId,
      orderId: entryId,
      side: terms.side,
      lots: terms.lots,
      closing: plan.closing,
      ...(terms.price === undefined ? {} : { price: terms.price }),
      filled: filled ? terms.lots : 0,
      done: filled,
    },
    levels: { ...options.protection },
    ...(entry.step === undefined ? {} : { step: entry.step }),
    closeUnprotected: entry.closeUnprotected,
    protectedLots: lots,
    pairs: [{ from: 0, to: lots, sl: idOf('sl'), tp: idOf('tp'), done: false, unseen: 0 }],
    failures: 0,
    since: new Date(Date.now() - 60_000).toISOString(),
    checks: 0,
    unreachable: 0,
  };
}

/**
 * Puts the entry's watch on Alor's follow-up queue: Alor's servers hold the pair, the watch tells what they did with
 * it (a stop executed, its pair cancelled) and cancels a stop left working beside an executed one. Without it the
 * protection still stands: a watch that cannot be queued is said in the answer (`watched: false`), nothing undone.
 */
async function queueWatch(
  client: AlorClient,
  entry: ProtectedEntry<AlorInstrument, AlorSignalTerms>,
  outcome: ProtectedOutcome,
  entryId: string,
): Promise<ProtectedOutcome> {
  const { protection } = outcome;
  if (protection.status !== 'on-fill' && protection.status !== 'active') return outcome;
  const job = watchJob(entry, entryId, outcome.legs, protection.lots, protection.status === 'active');
  try {
    if (client.followUpQueue === undefined) throw new Error('no follow-up queue');
    await client.followUpQueue.send(job, PROTECTION_WATCH_SECONDS, entry.call.deadline);
    return outcome;
  } catch {
    return { ...outcome, protection: { ...protection, watched: false } };
  }
}

/** What an Alor watch does at one check, with the token, portfolio and deadline of it. */
export interface AlorWatchCall {
  readonly credential: string;
  readonly account: string;
  readonly deadline: Deadline;
}

const STOP_GONE = new Set(['filled', 'canceled', 'rejected']);

/**
 * One check of an Alor entry's watch: while the entry works, what it filled; once it is done, a partial fill that the
 * bracket left without active stops (Alor activates them "after the limit order executes") protected as a market
 * entry's fill is, with active stops for what filled; each open pair's stops read: one that executed is told, with
 * its pair (cancelled by the `OnExecuteOrCancel` group, or by the watch if still working).
 */
export async function watchAlorProtection(
  job: ProtectionJob,
  client: AlorClient,
  at: AlorWatchCall,
): Promise<WatchOutcome> {
  const [exchange = 'MOEX', symbol = ''] = job.instrumentId.split(':') as [AlorInstrument['exchange'], string];
  const instrument: AlorInstrument = { exchange, symbol };
  const call: InstrumentCall<AlorInstrument> = { ...at, instrument };
  const events: LogFields[] = [];
  let next: ProtectionJob = { ...job, checks: job.checks + 1, pairs: job.pairs.map((pair) => ({ ...pair })) };

  if (!next.entry.done && next.entry.orderId !== undefined) {
    const state = await client.lookUpOrder({ ...at, exchange, orderId: next.entry.orderId });
    const filled = state.status === 'not-found' ? 0 : (state.filledLots ?? 0);
    const done = state.status !== 'working' && state.status !== 'partly-filled';
    next = { ...next, entry: { ...next.entry, filled, done } };
    const plan = {
      side: opposite(next.entry.side),
      closing: next.entry.closing,
      lots: next.entry.lots - next.entry.closing,
    };
    const opened = openedLots(plan, filled);
    if (done && opened < next.protectedLots) {
      // Done short of its lots: the bracket's stops (for all of it) never activate, or would sell what was not bought.
      const bracket = next.pairs[0];
      const stale = [bracket?.sl, bracket?.tp].flatMap((id) => (id === undefined ? [] : [id]));
      await Promise.all(
        stale.map((id) =>
          client.cancelOrder(call, { id, side: plan.side, lots: 0, stop: true }).catch(() => undefined),
        ),
      );
      if (bracket !== undefined) bracket.done = true;
      if (opened > 0) {
        const entry = entryOfJob(next, call, plan);
        const prices = protectionPrices(next.levels, next.entry.side, next.entry.price, next.step);
        const atOnce = await protectFilled(client, entry, opened, prices, 'partial');
        const idOf = (leg: Leg) => atOnce.legs.find((order) => order.leg === leg)?.id;
        if (atOnce.protection.status === 'active') {
          next.pairs.push({ from: 0, to: opened, sl: idOf('sl'), tp: idOf('tp'), done: false, unseen: 0 });
          events.push({ kind: 'protected', lots: opened, side: plan.side, ...describePrices(prices) });
        } else {
          const { status: _status, ...failed } = atOnce.protection;
          events.push({ kind: 'failed', position: next.entry.side, ...failed, reason: failed.reason ?? '' });
        }
      }
      next = { ...next, protectedLots: opened };
    }
  }

  const open = next.pairs.filter((pair) => !pair.done);
  if (open.length > 0) {
    const stops = new Map((await client.stopOrders({ ...at, exchange })).map((stop) => [stop.id, stop]));
    for (const pair of open) {
      const lots = pair.to - pair.from;
      const legs = (['sl', 'tp'] as const).flatMap((leg) => {
        const id = pair[leg];
        return id === undefined ? [] : [{ leg, id, stop: stops.get(id) }];
      });
      const executed = legs.find((leg) => leg.stop?.status === 'filled');
      if (executed !== undefined) {
        events.push({ kind: 'executed', leg: executed.leg, lots, price: priceText(executed.stop?.stopPrice) });
        for (const other of legs.filter((leg) => leg !== executed)) {
          const cancelled =
            other.stop?.status === 'canceled' ||
            (other.stop?.status === 'working' &&
              (await client.cancelOrder(call, { id: other.id, side: 'buy', lots: 0, stop: true })).status ===
                'cancelled');
          if (cancelled) events.push({ kind: 'sibling-cancelled', leg: other.leg, lots });
        }
      }
      const unseen = legs.some((leg) => leg.stop === undefined) ? pair.unseen + 1 : 0;
      pair.unseen = unseen;
      const gone = legs.every((leg) => leg.stop === undefined || STOP_GONE.has(leg.stop.status));
      if (executed !== undefined || (gone && (unseen === 0 || unseen >= 3))) pair.done = true;
    }
  }

  const stillOpen = !next.entry.done || next.pairs.some((pair) => !pair.done);
  return {
    events,
    filled: next.entry.filled,
    next: stillOpen ? next : undefined,
    delaySeconds: PROTECTION_WATCH_SECONDS,
  };
}

function priceText(price: number | undefined): string | undefined {
  return price === undefined ? undefined : numberToCanonicalDecimal(price);
}

const opposite = (side: 'buy' | 'sell'): 'buy' | 'sell' => (side === 'buy' ? 'sell' : 'buy');

/** The protected entry a job stands for, as the placing path sees one. */
function entryOfJob(
  job: ProtectionJob,
  call: InstrumentCall<AlorInstrument>,
  plan: ProtectedEntry<AlorInstrument, AlorSignalTerms>['plan'],
): ProtectedEntry<AlorInstrument, AlorSignalTerms> {
  const { instrument } = call;
  const { side, lots, price } = job.entry;
  return {
    call,
    terms: {
      symbol: instrument.symbol,
      exchange: instrument.exchange,
      side,
      lots,
      type: 'limit',
      ...(price === undefined ? {} : { price }),
    },
    requestId: job.entry.requestId,
    order: { side, lots },
    options: { type: 'limit', price, cancelFirst: false, protection: job.levels },
    plan,
    prices: undefined,
    step: job.step,
    closeUnprotected: job.closeUnprotected,
    ticker: job.ticker ?? instrument.symbol,
    webhookRequestId: job.requestId,
  };
}
