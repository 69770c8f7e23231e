import type { IntentKind, OrderType, TimeInForce } from '../signal.ts';
import type { Side } from './signal-plan.ts';
import type { SizeBasis } from './sizing.ts';

/**
 * What became of a v2 signal, as its answer (docs/contract.md#answers-to-a-v2-signal) and its log line say it: the
 * position read, the target, the orders cancelled and placed. Built up as the recipe runs, so that a failure midway
 * (a timeout after the cancels) still says what was done.
 */

export type SignalResult = 'placed' | 'nothing-to-do' | 'cancelled' | 'dry-run' | 'refused';

/** The legs of a signal: its entry, the entry's stop-loss and take-profit, and a close after protection failed. */
export type SignalLeg = 'entry' | 'sl' | 'tp' | 'close';

/** One order the signal placed (or, in a dry run, would place): the entry, or a protective order (a stop). */
export interface SignalOrder {
  readonly leg: SignalLeg;
  /** The broker's order id; absent in a dry run or when the broker gave none. */
  readonly id?: string | undefined;
  readonly side: Side;
  readonly lots: number;
  /** A protective leg is a `stop` (its `price` the trigger) or a `trailing` take-profit. */
  readonly type: OrderType | 'stop' | 'trailing';
  readonly price?: string | undefined;
  readonly tif?: TimeInForce | undefined;
  /** The broker answered from an earlier delivery of the same signal: no second order. */
  readonly replayed?: boolean | undefined;
}

/**
 * What protects the entry (docs/contract.md#protection): `on-fill`, placed when the entry fills (Alor: the group's
 * stops, inactive until then; T-Invest: by the follow-up); `active`, placed for what filled; `none`, the entry opens no
 * position; `failed`, the entry filled and its protection could not be placed.
 */
export interface ProtectionReport {
  readonly status: 'on-fill' | 'active' | 'none' | 'failed';
  /** Lots protected: the lots the entry opens (`on-fill`), or opened (`active`, `failed`). */
  readonly lots: number;
  readonly sl?: string | undefined;
  readonly tp?: string | undefined;
  readonly trail?: string | undefined;
  /** `failed`: what could not be placed, as the broker said it; `none`: why there is nothing to protect. */
  readonly reason?: string | undefined;
  /** `failed`: whether the unprotected lots were closed at market (`CLOSE_UNPROTECTED`). */
  readonly closed?: boolean | undefined;
  /** `false`: Alor holds the protection, but its watch (the messages, the backstop) could not be queued. */
  readonly watched?: boolean | undefined;
}

/** What is known of a signal's run so far. */
export interface SignalReport {
  readonly intent: IntentKind;
  /** Lots held when the signal read them (position intents). */
  position?: number | undefined;
  /** Signed lots of the active orders counted as if filled. */
  working?: number | undefined;
  /** The target in lots (position intents, 0 for a close). */
  target?: number | undefined;
  /** How a size in money (`vt`) was made lots. */
  size?: SizeBasis | undefined;
  /** Broker ids of the orders cancelled (in a dry run: that would be). */
  readonly cancelled: string[];
  readonly orders: SignalOrder[];
  /** The entry's protection, when the signal asked for it. */
  protection?: ProtectionReport | undefined;
}

export interface SignalOutcome {
  readonly result: SignalResult;
  readonly report: SignalReport;
  /** The broker's text of a refusal. */
  readonly reason?: string | undefined;
}

/** The answer's `message` of each result (the contract's texts); a refusal's is the broker's. */
export function signalMessage(outcome: SignalOutcome): string {
  const { intent, cancelled } = outcome.report;
  switch (outcome.result) {
    case 'placed':
      return intent === 'close' ? 'Позиция закрывается: заявка выставлена' : 'Заявка выставлена';
    case 'cancelled':
      return `Снято заявок: ${cancelled.length}`;
    case 'dry-run':
      return 'Проверка без заявки (DRY_RUN): брокеру ничего не отправлено';
    case 'refused':
      return outcome.reason ?? 'Запрос не выполнен';
    case 'nothing-to-do':
      return intent === 'cancel'
        ? 'Активных заявок нет: снимать нечего'
        : intent === 'close'
          ? 'Позиция уже закрыта: заявок нет'
          : 'Позиция уже такая: заявка не нужна';
  }
}
