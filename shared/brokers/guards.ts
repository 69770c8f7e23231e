import type { DailyLossLimit, GuardConfig, KillSwitchSource } from '../config.ts';
import { switchState } from '../config.ts';
import { formatAmount } from '../decimal.ts';
import { GuardRefusedError } from '../errors.ts';
import { ENV, PORTFOLIO_TTL_MS, TRADING_STATUS_TTL_MS } from '../facts.ts';
import { afterRequestsWritten } from '../http/outbound/client.ts';
import type { Deadline } from '../http/outbound/deadline.ts';
import type { CountResult, OrderCounter } from '../lock/order-counter.ts';
import { moscowDay } from '../lock/order-counter.ts';
import type { OrderType, Signal, SignalOptions } from '../signal.ts';
import type { ValueStore } from '../store/value-store.ts';
import { Remembered } from './remembered.ts';
import type { InstrumentState, Side } from './signal-plan.ts';
import type { InstrumentCall } from './signal-recipe.ts';
import { type LotQuote, sizeNeedsPortfolio } from './sizing.ts';

/**
 * The guards before an order (docs/contract.md#guards), one set for both brokers and both forms of the signal: the
 * kill switch, the signal's age, the instrument's trading status, the day's loss, the limits per order, per position
 * and per day. Each refuses an entry and lets an exit through (an order that only reduces the position the account
 * holds). What a guard reads is read once per signal, beside the order's other reads, or kept a few seconds per
 * container; a guard that is not set reads nothing.
 */

/** An instrument's trading status as its broker says it: its name, and whether the exchange takes each order type. */
export interface TradingStatus {
  readonly status: string;
  readonly takes: Readonly<Record<OrderType, boolean>>;
}

/** The account's value and the day's result, in roubles (the percentage as the broker gives it). */
export interface AccountPortfolio {
  readonly value: number;
  readonly dailyResult: number;
  readonly dailyResultPct?: number | undefined;
}

/** What the guards and sizing read of a broker, beside the position and orders: its client supplies them. */
export interface MarketReads<TInstrument> {
  tradingStatus(call: InstrumentCall<TInstrument>): Promise<TradingStatus>;
  portfolio(call: InstrumentCall<TInstrument>): Promise<AccountPortfolio>;
  /** A lot's price and the broker's lots for the order's type and limit price. */
  quote(call: InstrumentCall<TInstrument>, options: SignalOptions): Promise<LotQuote>;
}

const MAX_REMEMBERED = 500;

/**
 * A broker's reads kept per container: the trading status of an instrument for {@link TRADING_STATUS_TTL_MS}, the
 * portfolio of an account for {@link PORTFOLIO_TTL_MS}; reads of the same key at once share one request. A failed read
 * is not kept. The quote is never kept: it is the money the account has now.
 */
export function rememberedMarketReads<TInstrument>(
  reads: MarketReads<TInstrument>,
  keys: {
    readonly instrument: (instrument: TInstrument) => string;
    readonly portfolio: (call: InstrumentCall<TInstrument>) => string;
  },
  now: () => number = Date.now,
): MarketReads<TInstrument> {
  const statuses = new Remembered<Promise<TradingStatus>>(MAX_REMEMBERED, now);
  const portfolios = new Remembered<Promise<AccountPortfolio>>(MAX_REMEMBERED, now);
  const kept = <T>(memory: Remembered<Promise<T>>, key: string, ttlMs: number, read: () => Promise<T>) => {
    const known = memory.get(key);
    if (known !== undefined) return known;
    const reading = read();
    memory.set(key, reading, ttlMs);
    reading.catch(() => memory.set(key, reading, 0));
    return reading;
  };
  return {
    tradingStatus: (call) =>
      kept(statuses, `${call.account}#${keys.instrument(call.instrument)}`, TRADING_STATUS_TTL_MS, () =>
        reads.tradingStatus(call),
      ),
    portfolio: (call) => kept(portfolios, keys.portfolio(call), PORTFOLIO_TTL_MS, () => reads.portfolio(call)),
    quote: (call, options) => reads.quote(call, options),
  };
}

/** The kill switch (docs/contract.md#kill-switch): on, off, or a value that is neither, read as on. */
export function readKillSwitch(
  source: KillSwitchSource,
  store: ValueStore,
  deadline: Deadline,
): Promise<boolean> | boolean {
  if (source.kind === 'process') return switchState(process.env[ENV.killSwitch]) ?? true;
  return store
    .readParameter({ kind: 'parameter', name: source.name }, deadline, source.ttlMs)
    .then((value) => switchState(value) ?? true);
}

/** An entry's order as the guards see it. */
export interface GuardedOrder {
  readonly side: Side;
  readonly lots: number;
  readonly type: OrderType;
}

/** Whether the order only takes lots off the position held, never past flat: an exit, which no guard refuses. */
export function isExit(order: Pick<GuardedOrder, 'side' | 'lots'>, held: number): boolean {
  return order.side === 'sell' ? held > 0 && order.lots <= held : held < 0 && order.lots <= -held;
}

/** A signal's `ts` may be this far ahead of the function's clock (the sender's clock runs fast). */
export const MAX_CLOCK_AHEAD_MS = 60_000;

const seconds = (ms: number) => Math.round(ms / 1000);

function staleRefusal(
  signal: Pick<Signal, 'time'>,
  defaultMaxAgeMs: number,
  now: number,
): GuardRefusedError | undefined {
  const time = signal.time;
  if (time === undefined) return undefined;
  const age = now - time.at;
  if (-age > MAX_CLOCK_AHEAD_MS) {
    return new GuardRefusedError('stale-signal', `Время сигнала ts на ${seconds(-age)} с впереди часов сервера`, {
      ageSeconds: seconds(age),
    });
  }
  const maxAge = time.ttlMs ?? defaultMaxAgeMs;
  if (maxAge === 0 || age <= maxAge) return undefined;
  return new GuardRefusedError(
    'stale-signal',
    `Сигнал устарел: ему ${seconds(age)} с, допускается ${seconds(maxAge)} с${time.ttlMs === undefined ? ` (${ENV.signalMaxAgeSeconds})` : ' (ttl)'}`,
    { ageSeconds: seconds(age), maxAgeSeconds: seconds(maxAge) },
  );
}

function dailyLossRefusal(limit: DailyLossLimit, portfolio: AccountPortfolio): GuardRefusedError | undefined {
  const result = portfolio.dailyResult;
  const pct = portfolio.dailyResultPct ?? (portfolio.value > 0 ? (result / (portfolio.value - result)) * 100 : 0);
  const reached = limit.unit === 'rub' ? result <= -limit.amount : pct <= -limit.amount;
  if (!reached) return undefined;
  const limitText = limit.unit === 'rub' ? `${formatAmount(limit.amount)} ₽` : `${limit.amount}%`;
  return new GuardRefusedError(
    'daily-loss',
    `Дневной убыток достиг лимита: ${formatAmount(result)} ₽ (${formatAmount(pct)}%) при лимите ${limitText}: входы не исполняются`,
    { dailyResult: result, dailyResultPct: Math.round(pct * 100) / 100, limit: limitText },
  );
}

/** What the guards were given to decide on: each present when its guard is set (or the sizing read it anyway). */
export interface GuardFacts {
  readonly now: number;
  readonly killSwitchOn?: boolean | undefined;
  readonly status?: TradingStatus | undefined;
  readonly portfolio?: AccountPortfolio | undefined;
  readonly quote?: LotQuote | undefined;
  /** Signed lots held and working (as if filled) before the order. */
  readonly exposure?: number | undefined;
}

/**
 * The first guard that refuses the entry, in the contract's order, or undefined. Pure; the day's count, which is a
 * write, is decided apart ({@link GuardRun.count}).
 */
export function guardRefusal(
  config: GuardConfig,
  signal: Pick<Signal, 'time'>,
  order: GuardedOrder,
  facts: GuardFacts,
): GuardRefusedError | undefined {
  if (facts.killSwitchOn === true) {
    return new GuardRefusedError(
      'kill-switch',
      'Торговля остановлена выключателем (kill switch): входы не исполняются, выходы проходят',
    );
  }
  const stale = staleRefusal(signal, config.signalMaxAgeMs, facts.now);
  if (stale !== undefined) return stale;
  if (config.checkTradingStatus && facts.status !== undefined && !facts.status.takes[order.type]) {
    return new GuardRefusedError('not-trading', `Инструмент сейчас не торгуется: ${facts.status.status}`, {
      status: facts.status.status,
    });
  }
  if (config.dailyLossLimit !== undefined && facts.portfolio !== undefined) {
    const refusal = dailyLossRefusal(config.dailyLossLimit, facts.portfolio);
    if (refusal !== undefined) return refusal;
  }
  if (order.lots > config.maxLotsPerOrder) {
    return new GuardRefusedError(
      'order-limit',
      `Заявка больше лимита: ${order.lots} лотов при лимите ${config.maxLotsPerOrder} (${ENV.maxLotsPerOrder})`,
      { lots: order.lots, limit: config.maxLotsPerOrder },
    );
  }
  if (config.maxOrderRub !== undefined && facts.quote !== undefined) {
    const value = order.lots * facts.quote.lotValue;
    if (value > config.maxOrderRub) {
      return new GuardRefusedError(
        'order-limit',
        `Заявка больше лимита: ${formatAmount(value)} ₽ (${order.lots} × ${formatAmount(facts.quote.lotValue)} ₽) при лимите ${formatAmount(config.maxOrderRub)} ₽ (${ENV.maxOrderRub})`,
        { lots: order.lots, value: Math.round(value * 100) / 100, limit: config.maxOrderRub },
      );
    }
  }
  if (config.maxPositionLots !== undefined && facts.exposure !== undefined) {
    const after = facts.exposure + (order.side === 'buy' ? order.lots : -order.lots);
    if (Math.abs(after) > config.maxPositionLots) {
      return new GuardRefusedError(
        'position-limit',
        `Позиция превысит лимит: ${after} лотов после заявки при лимите ${config.maxPositionLots} (${ENV.maxPositionLots})`,
        { positionAfter: after, limit: config.maxPositionLots },
      );
    }
  }
  return undefined;
}

/** What a signal's guards and sizing read, and whether its order needs a check at all. */
export interface GuardNeeds {
  readonly killSwitch: boolean;
  readonly status: boolean;
  readonly portfolio: boolean;
  readonly quote: boolean;
  /** The position and working orders, for the position limit. */
  readonly exposure: boolean;
  readonly count: boolean;
}

export function guardNeeds(config: GuardConfig, signal: Pick<Signal, 'size' | 'intent'>): GuardNeeds {
  const trades = signal.intent.kind !== 'cancel';
  return {
    killSwitch: trades && config.killSwitch !== undefined,
    status: trades && config.checkTradingStatus,
    portfolio: (trades && config.dailyLossLimit !== undefined) || sizeNeedsPortfolio(signal),
    quote: (trades && config.maxOrderRub !== undefined) || signal.size !== undefined,
    exposure: trades && config.maxPositionLots !== undefined,
    count: trades && config.maxOrdersPerDay !== undefined,
  };
}

/** Whether the signal reads nothing for its guards or size: today's requests, and only the pure checks. */
export function readsNothing(needs: GuardNeeds): boolean {
  return Object.values(needs).every((need) => !need);
}

/** Whether a guard or the size reads the instrument at the broker (its status, a quote, its position). */
export function readsInstrument(needs: GuardNeeds): boolean {
  return needs.status || needs.portfolio || needs.quote || needs.exposure;
}

/** What those reads need of the instrument: its lot for a quote, what a position read needs for the position limit. */
export function instrumentNeeds(needs: GuardNeeds): { readonly lot: boolean; readonly position: boolean } {
  return { lot: needs.quote, position: needs.exposure };
}

/** What a {@link GuardRun} reads with. */
export interface GuardContext<TInstrument> {
  readonly config: GuardConfig;
  readonly reads: MarketReads<TInstrument>;
  readonly readState: (
    call: InstrumentCall<TInstrument>,
    needs: { readonly position: boolean; readonly orders: boolean },
  ) => Promise<InstrumentState>;
  readonly killSwitch: (deadline: Deadline) => Promise<boolean> | boolean;
  readonly counter: OrderCounter;
  /** `broker#account`: whose orders the day's count is. */
  readonly countName: (account: string) => string;
  readonly now: () => number;
}

/** A promise whose failure is only thrown where it is awaited: a read started ahead may never be needed. */
function started<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

/**
 * One signal's guards: the reads it needs started as early as each can be (the kill switch with the credentials, the
 * rest once the instrument is known, all at once), the check before the order, and the day's count given back when
 * no order was sent.
 */
export class GuardRun<TInstrument> {
  readonly #context: GuardContext<TInstrument>;
  readonly #signal: Pick<Signal, 'time' | 'options' | 'size' | 'intent'>;
  readonly #needs: GuardNeeds;
  readonly #deadline: Deadline;
  readonly #killSwitch: Promise<boolean> | undefined;
  #call: InstrumentCall<TInstrument> | undefined;
  #exitCall: (() => Promise<InstrumentCall<TInstrument>>) | undefined;
  #status: Promise<TradingStatus> | undefined;
  #portfolio: Promise<AccountPortfolio> | undefined;
  #quote: Promise<LotQuote> | undefined;
  #exposure: Promise<InstrumentState> | undefined;
  #count:
    | Promise<{
        readonly name: string;
        readonly id: string;
        readonly result: Awaited<ReturnType<OrderCounter['reserve']>>;
      }>
    | undefined;

  constructor(
    context: GuardContext<TInstrument>,
    signal: Pick<Signal, 'time' | 'options' | 'size' | 'intent'>,
    deadline: Deadline,
  ) {
    this.#context = context;
    this.#signal = signal;
    this.#needs = guardNeeds(context.config, signal);
    this.#deadline = deadline;
    this.#killSwitch = this.#needs.killSwitch
      ? started(Promise.resolve().then(() => context.killSwitch(deadline)))
      : undefined;
  }

  get needs(): GuardNeeds {
    return this.#needs;
  }

  /**
   * Starts the reads of the instrument, all at once: its status, the account's portfolio, the quote, the position for
   * the position limit, and the day's count of the order `requestId`. Without `call` (no guard reads the instrument, or a
   * function that cannot read its broker's state: T-Invest API v1) only the count is made. `exitCall`: the instrument
   * with all that a position read needs (its lot), asked for only when a guard would refuse an order, to tell an exit;
   * without it, the position is read with `call`, and without either no order is told an exit.
   */
  start(
    call: InstrumentCall<TInstrument> | undefined,
    account: string,
    requestId: string,
    exitCall?: () => Promise<InstrumentCall<TInstrument>>,
  ): void {
    this.#call = call;
    this.#exitCall = exitCall;
    const { reads, counter, config, now, countName } = this.#context;
    const needs = this.#needs;
    if (call !== undefined) {
      if (needs.status) this.#status = started(reads.tradingStatus(call));
      if (needs.portfolio) this.#portfolio = started(reads.portfolio(call));
      if (needs.quote) this.#quote = started(reads.quote(call, this.#signal.options));
      if (needs.exposure && this.#signal.intent.kind === 'order') {
        this.#exposure = started(this.#context.readState(call, { position: true, orders: true }));
      }
    }
    if (needs.count && config.maxOrdersPerDay !== undefined) {
      const { day, expiresAt } = moscowDay(now());
      const name = `${countName(account)}#orders#${day}`;
      const limit = config.maxOrdersPerDay;
      // After the reads started above are written: they wait for the broker, the count for DynamoDB in-region.
      this.#count = started(
        afterRequestsWritten()
          .then(() => counter.reserve(name, requestId, limit, expiresAt, this.#signalOf()))
          .then((result) => ({ name, id: requestId, result })),
      );
    }
  }

  /** The quote, read once (sizing and the money limit share it). */
  quote(): Promise<LotQuote> {
    this.#quote ??= started(this.#context.reads.quote(this.#callOf(), this.#signal.options));
    return this.#quote;
  }

  portfolio(): Promise<AccountPortfolio> {
    this.#portfolio ??= started(this.#context.reads.portfolio(this.#callOf()));
    return this.#portfolio;
  }

  /**
   * Refuses the entry ({@link GuardRefusedError}) or lets it through. `state`: the position and working orders the
   * signal read (position intents); an order intent's are read here only for the position limit, or when a guard
   * would refuse it, to tell an exit. `undefined` order: nothing to place, nothing to check.
   */
  async check(order: GuardedOrder | undefined, state?: InstrumentState): Promise<void> {
    if (order === undefined) return;
    // An exit passes every guard, whatever its reads say or whether they answered: the position read tells it at once.
    if (state !== undefined && isExit(order, state.position)) return;
    const reads = await Promise.allSettled([
      this.#killSwitch,
      this.#status,
      this.#portfolio,
      this.#quote,
      state === undefined ? this.#exposure : Promise.resolve(state),
      this.#count,
    ] as const);
    const failed = reads.find((read) => read.status === 'rejected');
    const value = <T>(read: PromiseSettledResult<T>) => (read.status === 'fulfilled' ? read.value : undefined);
    const exposureState = value(reads[4]);
    const refused = failed === undefined ? this.#refusal(order, reads, exposureState) : undefined;
    if (failed === undefined && refused === undefined) return;
    // An order that only reduces the position passes: the position is read now if the signal did not read it.
    const held = exposureState?.position ?? (await this.#heldNow());
    if (held !== undefined && isExit(order, held)) return;
    throw failed === undefined ? refused : failed.reason;
  }

  /** The first guard that refuses, from reads that all answered. */
  #refusal(
    order: GuardedOrder,
    reads: readonly PromiseSettledResult<unknown>[],
    exposureState: InstrumentState | undefined,
  ): GuardRefusedError | undefined {
    const value = (index: number) => {
      const read = reads[index];
      return read?.status === 'fulfilled' ? read.value : undefined;
    };
    const exposure =
      exposureState === undefined
        ? undefined
        : exposureState.position +
          exposureState.activeOrders.reduce(
            (sum, active) => sum + (active.side === 'buy' ? active.lots : -active.lots),
            0,
          );
    const facts: GuardFacts = {
      now: this.#context.now(),
      killSwitchOn: value(0) as boolean | undefined,
      status: value(1) as TradingStatus | undefined,
      portfolio: value(2) as AccountPortfolio | undefined,
      quote: value(3) as LotQuote | undefined,
      exposure,
    };
    const refusal = guardRefusal(this.#context.config, this.#signal, order, facts);
    if (refusal !== undefined) return refusal;
    const counted = value(5) as { readonly result: CountResult } | undefined;
    if (counted?.result.status !== 'full') return undefined;
    const limit = this.#context.config.maxOrdersPerDay ?? 0;
    return new GuardRefusedError(
      'orders-per-day',
      `Лимит заявок на день исчерпан: ${counted.result.count} из ${limit} (${ENV.maxOrdersPerDay})`,
      { count: counted.result.count, limit },
    );
  }

  /** Gives the day's count back when the order was not sent (refused by a guard, nothing to do, a dry run). */
  async settle(sent: boolean): Promise<void> {
    const counted = await this.#count?.catch(() => undefined);
    if (sent || counted?.result.status !== 'counted') return;
    const left = this.#deadline.remainingMs();
    if (left <= 0) return;
    await this.#context.counter
      .release(counted.name, counted.id, AbortSignal.timeout(Math.ceil(left)))
      .catch(() => undefined);
  }

  async #heldNow(): Promise<number | undefined> {
    const call = this.#exitCall === undefined ? this.#call : await this.#exitCall();
    if (call === undefined) return undefined;
    return (await this.#context.readState(call, { position: true, orders: false })).position;
  }

  #callOf(): InstrumentCall<TInstrument> {
    if (this.#call === undefined) throw new Error('GuardRun: read before the instrument was known');
    return this.#call;
  }

  #signalOf(): AbortSignal {
    return AbortSignal.timeout(Math.max(1, Math.ceil(this.#deadline.remainingMs())));
  }
}
