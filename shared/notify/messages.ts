import { formatAmount } from '../decimal.ts';
import type { Broker, NotifyLanguage } from '../facts.ts';
import type { AlarmCause, AlarmEvent, AlarmSource } from './alarms.ts';
import type { FailureCause, FollowUpResult, GuardedRule, NotifyEvent, OrderSummary, WindowKind } from './events.ts';
import { escapeHtml } from './html.ts';

/**
 * The messages the trader reads, in Russian (default) or English: Telegram HTML, every value that comes from a caller
 * or a broker escaped and bounded. What to check is said with the command that fixes it, never with a secret.
 */

/** A broker's text (a refusal reason) is shown up to this length; the rest of the message stays readable. */
const MAX_QUOTED_CHARS = 1000;
/** At most this many payload problems are listed. */
const MAX_ISSUES = 5;

/** Refused calls (401 or 403) to one function within one window: told once, with their count. */
export interface WindowSummary {
  readonly kind: WindowKind;
  readonly broker: Broker;
  readonly count: number;
  /** ISO times of the window. */
  readonly from: string;
  readonly to: string;
  /** The latest caller's address (403s). */
  readonly detail?: string | undefined;
}

const BROKER_NAMES: Readonly<Record<Broker, string>> = { alor: 'Alor', tinkoff: 'T-Invest' };

/** The `npm run secrets -- set` name of what a 404 says is missing. */
const SETTINGS: Readonly<Record<Broker, Record<'credential' | 'account', string>>> = {
  alor: { credential: 'alor-refresh-token', account: 'alor-portfolio' },
  tinkoff: { credential: 'tinkoff-token', account: 'tinkoff-account-id' },
};

/** A function's role, which says what its failure means to the trader. */
type Role = 'webhook' | 'follow-up' | 'notifier';

const ROLES: Readonly<Record<AlarmSource, Role>> = {
  'alor-webhook': 'webhook',
  'tinkoff-webhook': 'webhook',
  'alor-follow-up': 'follow-up',
  'tinkoff-follow-up': 'follow-up',
  notifier: 'notifier',
};

/** The texts of the alarm messages. In a note, a command stands in backticks: code in Telegram, plain in an e-mail. */
interface AlarmTexts {
  source: Record<AlarmSource, string>;
  title: Record<AlarmCause, string>;
  /** `3 times in the 10 minutes up to 10:07:12 UTC`. */
  counted: (count: number | undefined, minutes: number, time: string) => string;
  /** `2 in PppWebhooks-DeadLetters`. */
  waiting: (count: number | undefined, queue: string | undefined) => string;
  note: Record<Role, Partial<Record<AlarmCause, string>>>;
  ongoing: string;
  /** An alarm that is not one of the stack's (someone else's, on the same topic). */
  other: string;
}

interface Texts {
  side: Record<'buy' | 'sell', string>;
  lots: (count: number) => string;
  /** How an order without a price is traded. */
  priceless: Record<'market' | 'best', string>;
  placed: string;
  /** A v2 signal's outcomes (docs/contract.md#answers-to-a-v2-signal). */
  signal: {
    positionPlaced: string;
    closed: string;
    nothingToDo: Record<'order' | 'position' | 'close' | 'cancel', string>;
    cancelled: (count: number) => string;
    position: (from: number, to: number) => string;
    held: (lots: number) => string;
    cancelledCount: (count: number) => string;
  };
  brokerOrder: (id: string) => string;
  answeredIn: (ms: number) => string;
  replayed: string;
  dryRun: string;
  dryRunNote: string;
  refused: string;
  reason: string;
  noReason: string;
  invalid: string;
  invalidNote: string;
  failed: Record<FailureCause, string>;
  failedNote: Record<FailureCause, (broker: Broker, detail: string) => string>;
  notConfigured: string;
  missing: Record<'credential' | 'account', string>;
  setIt: (name: string) => string;
  unauthorized: (count: number) => string;
  unauthorizedNote: (from: string, to: string) => string;
  forbidden: (count: number) => string;
  forbiddenNote: (from: string, to: string, address: string | undefined) => string;
  alarm: AlarmTexts;
  check: string;
  /** A guard's refusal (docs/contract.md#guards): its title, and what it decided on, from the line's numbers. */
  guarded: Record<GuardedRule, string>;
  guardedDetail: (event: Extract<NotifyEvent, { kind: 'guarded' }>) => string;
  notPlaced: string;
  killSwitch: { on: string; onNote: string; off: string; offNote: string; where: (place: string) => string };
  followUp: Record<FollowUpResult, string>;
  filledOf: (filled: number, lots: number) => string;
  protection: {
    title: Record<'failed' | 'protected' | 'unreachable', string>;
    executed: Record<'sl' | 'tp', string>;
    siblingCancelled: Record<'sl' | 'tp', string>;
    leg: Record<'sl' | 'tp' | 'trail', string>;
    /** `SBER: a long position of 2 lots is open without its stop-loss or take-profit.` */
    unprotected: (instrument: string, side: 'buy' | 'sell' | undefined, lots: number | undefined) => string;
    what: string;
    closed: string;
    leftOpen: string;
    closeFailed: string;
    unreachableNote: string;
    /** The signal's protection, as its message's last line says it. */
    status: Record<'on-fill' | 'active' | 'none', string>;
  };
  afterSeconds: (seconds: number) => string;
  unreachableNote: string;
  test: string;
}

const RU: Texts = {
  side: { buy: 'Покупка', sell: 'Продажа' },
  lots: (count) => `${count} ${russianPlural(Math.abs(count), ['лот', 'лота', 'лотов'])}`,
  priceless: { market: 'по рынку', best: 'по лучшей цене' },
  placed: 'Заявка выставлена',
  signal: {
    positionPlaced: 'Целевая позиция: заявка выставлена',
    closed: 'Позиция закрыта: заявка по рынку выставлена',
    nothingToDo: {
      order: 'Заявка не нужна',
      position: 'Позиция уже достигнута: заявка не нужна',
      close: 'Позиция уже закрыта: заявка не нужна',
      cancel: 'Активных заявок нет: снимать нечего',
    },
    cancelled: (count) => `Снято заявок: ${count}`,
    position: (from, to) => `позиция ${from} → ${to} ${russianPlural(Math.abs(to), ['лот', 'лота', 'лотов'])}`,
    held: (lots) => `позиция ${lots} ${russianPlural(Math.abs(lots), ['лот', 'лота', 'лотов'])}`,
    cancelledCount: (count) => `снято заявок: ${count}`,
  },
  brokerOrder: (id) => `заявка брокера № ${id}`,
  answeredIn: (ms) => `ответ за ${ms} мс`,
  replayed: 'Повтор сигнала: брокер вернул первую заявку, вторая не выставлялась.',
  dryRun: 'Проверка без заявки (DRY_RUN)',
  dryRunNote: 'Всё проверено, заявка брокеру не отправлялась.',
  refused: 'Брокер отклонил заявку',
  reason: 'Причина',
  noReason: 'брокер не сообщил причину',
  invalid: 'Сигнал отклонён: некорректные данные (400)',
  invalidNote: 'Заявка не выставлена. Проверьте поля сигнала в виджете:',
  failed: {
    'credential-rejected': 'Брокер не принял токен',
    'broker-unavailable': 'Брокер недоступен (502)',
    'broker-timeout': 'Брокер не ответил вовремя (504)',
    'store-timeout': 'Хранилище секретов не ответило вовремя (504)',
    'internal-error': 'Внутренняя ошибка (500)',
    'position-locked': 'Инструмент занят другим сигналом (409)',
  },
  failedNote: {
    'credential-rejected': (broker) =>
      `Заявка не выставлена. Выпустите новый токен у брокера и сохраните его: ${code(`npm run secrets -- set ${SETTINGS[broker].credential}`)}`,
    'broker-unavailable': (_broker, detail) =>
      `Заявка, скорее всего, не выставлена (${escapeHtml(detail)}). Проверьте терминал брокера, прежде чем повторять сигнал.`,
    'broker-timeout': () => 'Заявка могла быть выставлена: проверьте терминал брокера, прежде чем повторять сигнал.',
    'store-timeout': () =>
      `Заявка не выставлена: функция не дождалась Secrets Manager или SSM. Если повторится — проверьте: ${code('npm run preflight -- --deployed')}`,
    'internal-error': (_broker, detail) =>
      `Проверьте журнал функции (${escapeHtml(detail)}) и терминал брокера, прежде чем повторять сигнал.`,
    'position-locked': () =>
      'Другой сигнал по этому инструменту ещё исполнялся. Заявка не выставлена: повторите сигнал, если он ещё нужен.',
  },
  notConfigured: 'Не настроено (404)',
  missing: { credential: 'Не задан токен брокера.', account: 'Не задан счёт (портфель).' },
  setIt: (name) => `Задайте его: ${code(`npm run secrets -- set ${name}`)}`,
  unauthorized: (count) => `Вызовы без верного секрета: ${count}`,
  unauthorizedNote: (from, to) =>
    `С ${from} по ${to} (UTC). Если это вы — проверьте секрет в виджете; если нет — кто-то подбирает ссылку.`,
  forbidden: (count) => `Вызовы с адресов вне списка (403): ${count}`,
  forbiddenNote: (from, to, address) =>
    `С ${from} по ${to} (UTC)${address === undefined ? '' : `, последний — с ${address}`}. Если это ваш виджет или TradingView сменил адреса — добавьте их в allowedSourceIps (локально ALLOWED_SOURCE_IPS) и разверните стек заново; если нет — ссылку вызывает кто-то другой.`,
  alarm: {
    source: {
      'alor-webhook': 'вебхук Alor',
      'tinkoff-webhook': 'вебхук T-Invest',
      'alor-follow-up': 'проверка заявок Alor',
      'tinkoff-follow-up': 'проверка заявок T-Invest',
      notifier: 'уведомления',
    },
    title: {
      timeout: 'Функция не уложилась в тайм-аут',
      'init-failure': 'Функция не запустилась',
      error: 'Сбой функции',
      throttle: 'Lambda отклонила вызовы (throttling)',
      'dead-letters': 'Сообщения в очереди недоставленных',
      'queue-dead-letters': 'Сообщения в очереди недоставленных',
    },
    counted: (count, minutes, time) =>
      `${count === undefined ? '' : `${count} ${russianPlural(count, ['раз', 'раза', 'раз'])} `}за ${minutes} мин до ${time} (UTC)`,
    waiting: (count, queue) =>
      `В очереди${queue === undefined ? '' : ` ${queue}`}: ${count === undefined ? 'есть сообщения' : count}`,
    note: {
      webhook: {
        timeout:
          'Сигнал остался без ответа функции. Заявка могла быть выставлена: проверьте терминал брокера, прежде чем повторять сигнал, и журнал функции.',
        'init-failure':
          'Функция не смогла стартовать (настройки или код); вызов, для которого она не стартовала, получил ошибку без заявки. Проверьте журнал функции и выполните `npm run preflight -- --deployed`.',
        error:
          'Вызов прервался сбоем среды выполнения, без ответа функции. Заявка могла быть выставлена: проверьте терминал брокера, прежде чем повторять сигнал, и журнал функции.',
        throttle:
          'Вызовы отклонены до запуска функции, заявки по ним не выставлялись. Проверьте лимит одновременных вызовов Lambda в аккаунте.',
      },
      'follow-up': {
        error:
          'Проверка исполнения не выполнилась (ошибка, тайм-аут или сбой запуска): сообщение об исполнении может не прийти — смотрите заявки в терминале брокера.',
        throttle: 'Lambda отклонила проверки исполнения; они повторятся из очереди.',
        'dead-letters':
          'Проверки исполнения, не выполненные за три попытки, хранятся 14 дней: проверьте эти заявки в терминале брокера.',
      },
      notifier: {
        error:
          'Уведомления дают сбой (ошибка, тайм-аут или Telegram недоступен): сообщения повторяются, а не отправленные за три попытки попадают в очередь недоставленных.',
        throttle: 'Lambda отклонила запуски уведомлений; сообщения придут с опозданием.',
        'dead-letters':
          'Сообщения, которые Telegram не принял, и события, которые не удалось обработать, хранятся 14 дней. Проверьте бота: `npm run notify -- test --deployed`.',
        'queue-dead-letters':
          'Сводки вызовов без секрета или с чужих адресов (401/403), которые не удалось отправить, хранятся 14 дней.',
      },
    },
    ongoing: 'Пока это продолжается, повторных сообщений не будет.',
    other: 'Сигнал тревоги CloudWatch',
  },
  check: 'Проверка связи (check): 200 OK',
  guarded: {
    'kill-switch': 'Выключатель торговли включён: вход не исполнен (423)',
    'stale-signal': 'Сигнал устарел (422)',
    'not-trading': 'Инструмент сейчас не торгуется (409)',
    'daily-loss': 'Дневной лимит убытка достигнут (422)',
    'order-limit': 'Заявка больше лимита (422)',
    'position-limit': 'Позиция превысила бы лимит (422)',
    'orders-per-day': 'Лимит заявок на день исчерпан (429)',
    'size-zero': 'Размер заявки — 0 лотов (400)',
    'bad-stop': 'sl не защищает вход (400)',
  },
  // The function's own text says it in Russian, with its numbers.
  guardedDetail: (event) => event.reason,
  notPlaced: 'Заявка не выставлена; выходы (закрытие, сокращение позиции) этот запрет не задерживает.',
  killSwitch: {
    on: 'Выключатель торговли включён',
    onNote: `Входы не исполняются, выходы (закрытие, сокращение позиции) проходят. Выключить: ${code('npm run kill -- off')}`,
    off: 'Выключатель торговли выключен',
    offNote: 'Сигналы снова исполняются.',
    where: (place) => `Развёртывание: ${place}`,
  },
  followUp: {
    filled: 'Заявка исполнена',
    'partly-filled': 'Заявка исполнена частично',
    working: 'Заявка ещё не исполнена',
    rejected: 'Заявка отклонена после приёма',
    canceled: 'Заявка снята',
    'not-found': 'Брокер не нашёл заявку',
    unreachable: 'Не удалось проверить заявку',
  },
  filledOf: (filled, lots) => `исполнено ${filled} из ${lots}`,
  protection: {
    title: {
      failed: 'ПОЗИЦИЯ БЕЗ ЗАЩИТЫ',
      protected: 'Защита выставлена',
      unreachable: 'Проверка защиты не достучалась до брокера',
    },
    executed: { sl: 'Сработал стоп-лосс', tp: 'Сработал тейк-профит' },
    siblingCancelled: { sl: 'Стоп-лосс снят: сработал тейк-профит', tp: 'Тейк-профит снят: сработал стоп-лосс' },
    leg: { sl: 'стоп-лосс', tp: 'тейк-профит', trail: 'трейлинг' },
    unprotected: (instrument, side, lots) =>
      `${instrument}: ${side === 'sell' ? 'короткая' : 'длинная'} позиция${lots === undefined ? '' : ` ${lots} ${russianPlural(lots, ['лот', 'лота', 'лотов'])}`} открыта без стоп-лосса и тейк-профита.`,
    what: 'Не удалось выставить',
    closed: 'Позиция закрыта рыночной заявкой (CLOSE_UNPROTECTED).',
    leftOpen: 'Позиция ОСТАВЛЕНА открытой (CLOSE_UNPROTECTED=false): выставьте стоп в терминале брокера сейчас.',
    closeFailed: 'Закрыть позицию не удалось: закройте её или выставьте стоп в терминале брокера сейчас.',
    unreachableNote:
      'Три проверки подряд не дошли до брокера. Стоп-заявки, что уже стоят, остаются у брокера, но если одна исполнится, вторую может понадобиться снять вручную. Проверка продолжается.',
    status: {
      'on-fill': 'защита — при исполнении',
      active: 'защита выставлена',
      none: 'защищать нечего: заявка не открывает позицию',
    },
  },
  afterSeconds: (seconds) => `через ${seconds} с после выставления`,
  unreachableNote: 'Брокер не ответил на запрос о заявке: проверьте её в терминале брокера.',
  test: 'Проверочное сообщение: уведомления настроены.',
};

const EN: Texts = {
  side: { buy: 'Buy', sell: 'Sell' },
  lots: (count) => `${count} ${Math.abs(count) === 1 ? 'lot' : 'lots'}`,
  priceless: { market: 'at market', best: 'at the best price' },
  placed: 'Order placed',
  signal: {
    positionPlaced: 'Target position: order placed',
    closed: 'Position closed: market order placed',
    nothingToDo: {
      order: 'No order needed',
      position: 'Position already reached: nothing to do',
      close: 'Position already closed: nothing to do',
      cancel: 'No active orders: nothing to cancel',
    },
    cancelled: (count) => `Orders cancelled: ${count}`,
    position: (from, to) => `position ${from} → ${to} ${Math.abs(to) === 1 ? 'lot' : 'lots'}`,
    held: (lots) => `position ${lots} ${Math.abs(lots) === 1 ? 'lot' : 'lots'}`,
    cancelledCount: (count) => `orders cancelled: ${count}`,
  },
  brokerOrder: (id) => `broker order № ${id}`,
  answeredIn: (ms) => `answered in ${ms} ms`,
  replayed: 'Resent signal: the broker returned the first order, no second one was placed.',
  dryRun: 'Dry run, no order (DRY_RUN)',
  dryRunNote: 'Everything checked; no order was sent to the broker.',
  refused: 'The broker refused the order',
  reason: 'Reason',
  noReason: 'the broker gave no reason',
  invalid: 'Signal refused: invalid data (400)',
  invalidNote: 'No order was placed. Check the fields of the signal in the widget:',
  failed: {
    'credential-rejected': 'The broker refused the token',
    'broker-unavailable': 'Broker unavailable (502)',
    'broker-timeout': 'The broker did not answer in time (504)',
    'store-timeout': 'The secret store did not answer in time (504)',
    'internal-error': 'Internal error (500)',
    'position-locked': 'Instrument busy with another signal (409)',
  },
  failedNote: {
    'credential-rejected': (broker) =>
      `No order was placed. Issue a new token at the broker and store it: ${code(`npm run secrets -- set ${SETTINGS[broker].credential}`)}`,
    'broker-unavailable': (_broker, detail) =>
      `Most likely no order was placed (${escapeHtml(detail)}). Check the broker's terminal before resending the signal.`,
    'broker-timeout': () => "The order may have been placed: check the broker's terminal before resending the signal.",
    'store-timeout': () =>
      `No order was placed: the function could not wait longer for Secrets Manager or SSM. If it happens again, check: ${code('npm run preflight -- --deployed')}`,
    'internal-error': (_broker, detail) =>
      `Check the function's log (${escapeHtml(detail)}) and the broker's terminal before resending the signal.`,
    'position-locked': () =>
      'Another signal on this instrument was still running. No order was placed: resend the signal if it still applies.',
  },
  notConfigured: 'Not configured (404)',
  missing: { credential: 'The broker token is not set.', account: 'The account (portfolio) is not set.' },
  setIt: (name) => `Set it: ${code(`npm run secrets -- set ${name}`)}`,
  unauthorized: (count) => `Calls without the right secret: ${count}`,
  unauthorizedNote: (from, to) =>
    `From ${from} to ${to} (UTC). If it was you, check the secret in the widget; if not, someone is probing the URL.`,
  forbidden: (count) => `Calls from addresses outside the allow-list (403): ${count}`,
  forbiddenNote: (from, to, address) =>
    `From ${from} to ${to} (UTC)${address === undefined ? '' : `, the last from ${address}`}. If it was your widget, or TradingView changed its addresses, add them to allowedSourceIps (ALLOWED_SOURCE_IPS locally) and deploy again; if not, someone else is calling the URL.`,
  alarm: {
    source: {
      'alor-webhook': 'Alor webhook',
      'tinkoff-webhook': 'T-Invest webhook',
      'alor-follow-up': 'Alor order follow-up',
      'tinkoff-follow-up': 'T-Invest order follow-up',
      notifier: 'notifier',
    },
    title: {
      timeout: 'The function timed out',
      'init-failure': 'The function failed to start',
      error: 'The function failed',
      throttle: 'Lambda throttled the function',
      'dead-letters': 'Messages wait in a dead-letter queue',
      'queue-dead-letters': 'Messages wait in a dead-letter queue',
    },
    counted: (count, minutes, time) =>
      `${count === undefined ? 'In' : `${count} ${count === 1 ? 'time' : 'times'} in`} the ${minutes} minutes up to ${time} UTC`,
    waiting: (count, queue) =>
      `${count === undefined ? 'Messages' : count} waiting${queue === undefined ? '' : ` in ${queue}`}`,
    note: {
      webhook: {
        timeout:
          "The signal got no answer from the function. The order may have been placed: check the broker's terminal before resending the signal, and the function's log.",
        'init-failure':
          "The function could not start (settings or code); a call it did not start for got an error and placed no order. Check the function's log and run `npm run preflight -- --deployed`.",
        error:
          "A call ended in a runtime failure, without the function's answer. The order may have been placed: check the broker's terminal before resending the signal, and the function's log.",
        throttle:
          "Calls were turned away before the function ran; they placed no order. Check the account's Lambda concurrency limit.",
      },
      'follow-up': {
        error:
          "An order follow-up did not run (an error, a timeout or a failed start): a fill message may not come, so look at the orders in the broker's terminal.",
        throttle: 'Lambda turned order follow-ups away; the queue will try them again.',
        'dead-letters':
          "Order follow-ups that failed three times are kept for 14 days: check those orders in the broker's terminal.",
      },
      notifier: {
        error:
          'The notifier is failing (an error, a timeout, or Telegram unreachable): messages are tried again, and those not sent in three tries go to the dead-letter queue.',
        throttle: 'Lambda turned notifier runs away; messages will come late.',
        'dead-letters':
          'Messages Telegram did not take, and events that could not be handled, are kept for 14 days. Check the bot: `npm run notify -- test --deployed`.',
        'queue-dead-letters': 'Counts of refused calls (401/403) that could not be told are kept for 14 days.',
      },
    },
    ongoing: 'While it goes on, no further message comes about it.',
    other: 'CloudWatch alarm',
  },
  check: 'Health check (check): 200 OK',
  guarded: {
    'kill-switch': 'Kill switch on: entry not placed (423)',
    'stale-signal': 'Stale signal (422)',
    'not-trading': 'The instrument is not trading now (409)',
    'daily-loss': 'Daily loss limit reached (422)',
    'order-limit': 'Order over the limit (422)',
    'position-limit': 'The position would exceed its limit (422)',
    'orders-per-day': 'Orders per day used up (429)',
    'size-zero': 'Order sized to 0 lots (400)',
    'bad-stop': 'sl does not protect the entry (400)',
  },
  guardedDetail: (event) => englishGuardDetail(event),
  notPlaced: 'No order was placed; exits (a close, a smaller position) are not held back by this.',
  killSwitch: {
    on: 'Kill switch on',
    onNote: `Entries are refused; exits (a close, a smaller position) pass. Turn it off: ${code('npm run kill -- off')}`,
    off: 'Kill switch off',
    offNote: 'Signals are traded again.',
    where: (place) => `Deployment: ${place}`,
  },
  followUp: {
    filled: 'Order filled',
    'partly-filled': 'Order partly filled',
    working: 'Order not filled yet',
    rejected: 'Order rejected after acceptance',
    canceled: 'Order cancelled',
    'not-found': 'The broker does not know the order',
    unreachable: 'Could not check the order',
  },
  filledOf: (filled, lots) => `${filled} of ${lots} filled`,
  protection: {
    title: {
      failed: 'POSITION UNPROTECTED',
      protected: 'Protection placed',
      unreachable: 'The protection watch could not reach the broker',
    },
    executed: { sl: 'Stop-loss executed', tp: 'Take-profit executed' },
    siblingCancelled: {
      sl: 'Stop-loss cancelled: the take-profit executed',
      tp: 'Take-profit cancelled: the stop-loss executed',
    },
    leg: { sl: 'stop-loss', tp: 'take-profit', trail: 'trailing' },
    unprotected: (instrument, side, lots) =>
      `${instrument}: a ${side === 'sell' ? 'short' : 'long'} position${lots === undefined ? '' : ` of ${lots} lot${lots === 1 ? '' : 's'}`} is open without its stop-loss or take-profit.`,
    what: 'Could not place',
    closed: 'The position was closed at market (CLOSE_UNPROTECTED).',
    leftOpen: 'The position was LEFT OPEN (CLOSE_UNPROTECTED=false): place a stop in the broker’s terminal now.',
    closeFailed: 'Closing the position failed: close it or place a stop in the broker’s terminal now.',
    unreachableNote:
      'Three checks in a row did not reach the broker. The stop orders already placed stay at the broker, but if one executes the other may need cancelling by hand. The watch goes on.',
    status: {
      'on-fill': 'protection on fill',
      active: 'protection placed',
      none: 'nothing to protect: the order opens no position',
    },
  },
  afterSeconds: (seconds) => `${seconds} s after it was placed`,
  unreachableNote: "The broker did not answer the order lookup: check the order in the broker's terminal.",
  test: 'Test message: the notifications are set up.',
};

const TEXTS: Readonly<Record<NotifyLanguage, Texts>> = { ru: RU, en: EN };

/** A guard's numbers in English; the function's Russian text where a rule has none (a size, a stop). */
function englishGuardDetail(event: Extract<NotifyEvent, { kind: 'guarded' }>): string {
  const fact = (name: string) => event.facts[name];
  const amount = (name: string) => {
    const value = event.facts[name];
    return typeof value === 'number' ? formatAmount(value) : String(value);
  };
  switch (event.rule) {
    case 'kill-switch':
      return 'Entries are refused until `npm run kill -- off`.';
    case 'stale-signal':
      return fact('maxAgeSeconds') === undefined
        ? `The signal's ts is ${-Number(fact('ageSeconds'))} s ahead of the server's clock.`
        : `The signal was ${fact('ageSeconds')} s old; ${fact('maxAgeSeconds')} s allowed.`;
    case 'not-trading':
      return `Status: ${fact('status')}.`;
    case 'daily-loss':
      return `Today's result ${amount('dailyResult')} ₽ (${fact('dailyResultPct')}%), limit ${fact('limit')}.`;
    case 'order-limit':
      return fact('value') === undefined
        ? `${fact('lots')} lots, limit ${fact('limit')} (MAX_LOTS_PER_ORDER).`
        : `${amount('value')} ₽ for ${fact('lots')} lots, limit ${amount('limit')} ₽ (MAX_ORDER_RUB).`;
    case 'position-limit':
      return `${fact('positionAfter')} lots after the order, limit ${fact('limit')} (MAX_POSITION_LOTS).`;
    case 'orders-per-day':
      return `${fact('count')} of ${fact('limit')} orders today (MAX_ORDERS_PER_DAY).`;
    case 'size-zero':
    case 'bad-stop':
      return event.reason;
  }
}

const ICONS = {
  placed: '✅',
  guarded: '🚧',
  'kill-on': '🛑',
  'kill-off': '▶️',
  closed: '🏁',
  'nothing-to-do': '☑️',
  cancelled: '🧹',
  'dry-run': '🧪',
  refused: '⛔',
  invalid: '⚠️',
  failed: '❌',
  'not-configured': '⚙️',
  unauthorized: '🚫',
  'forbidden-source': '🛡️',
  check: '🔔',
  filled: '✅',
  'partly-filled': '🌓',
  working: '⏳',
  rejected: '⛔',
  canceled: '🚫',
  'not-found': '❓',
  unreachable: '❓',
  test: '🔔',
  'protection-failed': '🚨🚨',
  'protection-unreachable': '⚠️',
  protected: '🛡️',
  'sl-executed': '🛑',
  'tp-executed': '🎯',
  'sibling-cancelled': '🧹',
} as const;

const ALARM_ICONS: Readonly<Record<AlarmCause, string>> = {
  timeout: '⏱️',
  'init-failure': '🛑',
  error: '❌',
  throttle: '🚦',
  'dead-letters': '📥',
  'queue-dead-letters': '📥',
};
const OTHER_ALARM_ICON = '🚨';

function russianPlural(count: number, [one, few, many]: readonly [string, string, string]): string {
  const tens = count % 100;
  const units = count % 10;
  if (tens >= 11 && tens <= 14) return many;
  if (units === 1) return one;
  return units >= 2 && units <= 4 ? few : many;
}

function code(text: string): string {
  return `<code>${escapeHtml(text)}</code>`;
}

function quote(text: string): string {
  return escapeHtml(text.length > MAX_QUOTED_CHARS ? `${text.slice(0, MAX_QUOTED_CHARS)}…` : text);
}

function title(icon: string, text: string, broker: Broker): string {
  return `${icon} <b>${escapeHtml(text)}</b> · ${BROKER_NAMES[broker]}`;
}

function instrument(order: OrderSummary): string {
  if (order.symbol !== undefined) {
    return order.exchange === undefined ? order.symbol : `${order.symbol} (${order.exchange})`;
  }
  const figi = order.figi ?? '';
  return order.ticker === undefined ? figi : `${order.ticker} (${figi})`;
}

/**
 * `Покупка SBER (BBG004730N88) · 1 лот · 250.5` (`· по рынку` for an order without a price), or nothing when the line
 * named no order.
 */
function orderLine(order: OrderSummary | undefined, t: Texts): string[] {
  if (order === undefined) return [];
  const price = order.price ?? (order.type === 'best' ? t.priceless.best : t.priceless.market);
  return [escapeHtml(`${t.side[order.side]} ${instrument(order)} · ${t.lots(order.lots)} · ${price}`)];
}

/** A v2 signal carried out: what it placed or cancelled, the position it moved, or that there was nothing to do. */
function signalLines(event: Extract<NotifyEvent, { kind: 'signal' }>, t: Texts): string[] {
  const { signal, broker } = event;
  const head =
    event.result === 'cancelled'
      ? title(ICONS.cancelled, t.signal.cancelled(signal.cancelled), broker)
      : event.result === 'nothing-to-do'
        ? title(ICONS['nothing-to-do'], t.signal.nothingToDo[signal.intent], broker)
        : signal.intent === 'close'
          ? title(ICONS.closed, t.signal.closed, broker)
          : title(ICONS.placed, signal.intent === 'position' ? t.signal.positionPlaced : t.placed, broker);
  const what = event.order === undefined ? [escapeHtml(event.ticker ?? '')].filter((line) => line !== '') : [];
  const facts: string[] = [];
  if (signal.position !== undefined && signal.target !== undefined) {
    facts.push(
      event.result === 'placed' ? t.signal.position(signal.position, signal.target) : t.signal.held(signal.position),
    );
  }
  if (signal.cancelled > 0 && event.result !== 'cancelled') facts.push(t.signal.cancelledCount(signal.cancelled));
  if (event.brokerOrderId !== undefined) facts.push(t.brokerOrder(event.brokerOrderId));
  facts.push(t.answeredIn(Math.round(event.latencyMs)));
  const protection = signal.protection;
  const guarded =
    protection === undefined || protection.status === 'failed'
      ? []
      : [escapeHtml([t.protection.status[protection.status], ...levels(protection, t)].join(' · '))];
  return [
    head,
    ...orderLine(event.order, t),
    ...what,
    escapeHtml(facts.join(' · ')),
    ...guarded,
    ...(event.replayed ? [escapeHtml(t.replayed)] : []),
  ];
}

/** An event told on its own: every kind but the refused calls, which are told in aggregate ({@link windowMessage}). */
export type SingleEvent = Exclude<NotifyEvent, { kind: WindowKind }>;

/** The message for one event, as Telegram HTML. */
export function eventToMessage(event: SingleEvent, language: NotifyLanguage): string {
  const t = TEXTS[language];
  const { broker } = event;
  const lines: string[] = [];
  switch (event.kind) {
    case 'placed': {
      lines.push(title(ICONS.placed, t.placed, broker), ...orderLine(event.order, t));
      const facts = [
        ...(event.brokerOrderId === undefined ? [] : [t.brokerOrder(event.brokerOrderId)]),
        t.answeredIn(Math.round(event.latencyMs)),
      ];
      lines.push(escapeHtml(facts.join(' · ')));
      if (event.replayed) lines.push(escapeHtml(t.replayed));
      break;
    }
    case 'dry-run':
      lines.push(title(ICONS['dry-run'], t.dryRun, broker), ...orderLine(event.order, t), escapeHtml(t.dryRunNote));
      break;
    case 'signal':
      lines.push(...signalLines(event, t));
      break;
    case 'refused':
      lines.push(
        title(ICONS.refused, t.refused, broker),
        ...orderLine(event.order, t),
        `${escapeHtml(t.reason)}: <i>${event.reason.trim() === '' ? escapeHtml(t.noReason) : quote(event.reason)}</i>`,
        ...(event.cancelled === undefined || event.cancelled === 0
          ? []
          : [escapeHtml(t.signal.cancelled(event.cancelled))]),
      );
      break;
    case 'guarded':
      lines.push(
        title(ICONS.guarded, t.guarded[event.rule], broker),
        ...(event.order === undefined
          ? [escapeHtml(event.ticker ?? '')].filter((line) => line !== '')
          : orderLine(event.order, t)),
        withCode(t.guardedDetail(event)),
        escapeHtml(t.notPlaced),
      );
      break;
    case 'invalid':
      lines.push(
        title(ICONS.invalid, t.invalid, broker),
        escapeHtml(t.invalidNote),
        ...event.issues.slice(0, MAX_ISSUES).map((issue) => `• ${quote(issue)}`),
      );
      break;
    case 'failed':
      lines.push(
        title(ICONS.failed, t.failed[event.cause], broker),
        ...orderLine(event.order, t),
        t.failedNote[event.cause](broker, event.detail ?? `HTTP ${event.status}`),
      );
      break;
    case 'not-configured':
      lines.push(title(ICONS['not-configured'], t.notConfigured, broker));
      if (event.missing !== undefined) {
        lines.push(`${escapeHtml(t.missing[event.missing])} ${t.setIt(SETTINGS[broker][event.missing])}`);
      }
      break;
    case 'check':
      lines.push(title(ICONS.check, t.check, broker));
      break;
    case 'follow-up':
      lines.push(...followUpLines(event, t));
      break;
    case 'protection':
      lines.push(...protectionLines(event, t));
      break;
  }
  return lines.join('\n');
}

/** `стоп-лосс 95 · тейк-профит 110`: the prices an event names. */
function levels(
  event: { readonly sl?: string | undefined; readonly tp?: string | undefined; readonly trail?: string | undefined },
  t: Texts,
): string[] {
  return (['sl', 'tp', 'trail'] as const).flatMap((leg) => {
    const value = event[leg];
    return value === undefined ? [] : [`${t.protection.leg[leg]} ${value}`];
  });
}

/** A protection event: the urgent failure first of all, then a stop that executed, its sibling cancelled, … */
function protectionLines(event: Extract<NotifyEvent, { kind: 'protection' }>, t: Texts): string[] {
  const { broker } = event;
  const instrument = event.ticker ?? (event.order === undefined ? '' : (event.order.symbol ?? event.order.figi ?? ''));
  const lots = event.lots === undefined ? [] : [t.lots(event.lots)];
  switch (event.event) {
    case 'failed':
      return [
        title(ICONS['protection-failed'], t.protection.title.failed, broker),
        `<b>${escapeHtml(t.protection.unprotected(instrument, event.position, event.lots))}</b>`,
        ...(levels(event, t).length === 0 ? [] : [escapeHtml(levels(event, t).join(' · '))]),
        `${escapeHtml(t.protection.what)}: <i>${event.reason === undefined || event.reason === '' ? escapeHtml(t.noReason) : quote(event.reason)}</i>`,
        // `closed` absent: CLOSE_UNPROTECTED=false asked for no close.
        `<b>${escapeHtml(event.closed === undefined ? t.protection.leftOpen : event.closed ? t.protection.closed : t.protection.closeFailed)}</b>`,
      ];
    case 'unreachable':
      return [
        title(ICONS['protection-unreachable'], t.protection.title.unreachable, broker),
        escapeHtml([instrument, ...(event.reason === undefined ? [] : [`(${event.reason})`])].join(' ')),
        escapeHtml(t.protection.unreachableNote),
      ];
    case 'protected':
      return [
        title(ICONS.protected, t.protection.title.protected, broker),
        escapeHtml([instrument, ...lots, ...levels(event, t)].join(' · ')),
      ];
    case 'executed': {
      const leg = event.leg ?? 'sl';
      return [
        title(ICONS[leg === 'sl' ? 'sl-executed' : 'tp-executed'], t.protection.executed[leg], broker),
        escapeHtml([instrument, ...lots, ...(event.price === undefined ? [] : [event.price])].join(' · ')),
      ];
    }
    case 'sibling-cancelled':
      return [
        title(ICONS['sibling-cancelled'], t.protection.siblingCancelled[event.leg ?? 'tp'], broker),
        escapeHtml([instrument, ...lots].join(' · ')),
      ];
  }
}

function followUpLines(event: Extract<NotifyEvent, { kind: 'follow-up' }>, t: Texts): string[] {
  const lines = [title(ICONS[event.result], t.followUp[event.result], event.broker), ...orderLine(event.order, t)];
  const facts = [t.brokerOrder(event.brokerOrderId)];
  if (event.filledLots !== undefined && event.lots !== undefined) facts.push(t.filledOf(event.filledLots, event.lots));
  if (event.delaySeconds !== undefined) facts.push(t.afterSeconds(event.delaySeconds));
  lines.push(escapeHtml(facts.join(' · ')));
  if (event.result === 'rejected') {
    lines.push(
      `${escapeHtml(t.reason)}: <i>${event.reason === undefined ? escapeHtml(t.noReason) : quote(event.reason)}</i>`,
    );
  }
  if (event.result === 'unreachable') {
    const detail = event.detail === undefined ? '' : ` (${event.detail})`;
    lines.push(escapeHtml(`${t.unreachableNote}${detail}`));
  }
  return lines;
}

/** `10:00:01` of an ISO time. */
function clock(iso: string): string {
  return iso.slice(11, 19);
}

/** One message for the refused calls (401 or 403) to one function in a window. */
export function windowMessage(summary: WindowSummary, language: NotifyLanguage): string {
  const t = TEXTS[language];
  const [from, to] = [clock(summary.from), clock(summary.to)];
  const [heading, note] =
    summary.kind === 'unauthorized'
      ? [t.unauthorized(summary.count), t.unauthorizedNote(from, to)]
      : [t.forbidden(summary.count), t.forbiddenNote(from, to, summary.detail)];
  return [title(ICONS[summary.kind], heading, summary.broker), escapeHtml(note)].join('\n');
}

/** A note's `command` as Telegram code. */
function withCode(note: string): string {
  return escapeHtml(note).replace(/`([^`]+)`/g, '<code>$1</code>');
}

/** The message for an alarm that went into ALARM: what failed, how often, what it means and what to do. */
export function alarmMessage(alarm: AlarmEvent, language: NotifyLanguage): string {
  const t = TEXTS[language].alarm;
  const { source, cause } = alarm;
  if (source === undefined || cause === undefined) {
    return [
      `${OTHER_ALARM_ICON} <b>${escapeHtml(t.other)}</b> · ${escapeHtml(alarm.name)}`,
      `<i>${quote(alarm.reason)}</i>`,
    ].join('\n');
  }
  const deadLetters = cause === 'dead-letters' || cause === 'queue-dead-letters';
  const count = deadLetters
    ? t.waiting(alarm.count, alarm.queue)
    : t.counted(alarm.count, Math.round(alarm.periodSeconds / 60), clock(alarm.time));
  const note = t.note[ROLES[source]][cause];
  return [
    `${ALARM_ICONS[cause]} <b>${escapeHtml(t.title[cause])}</b> · ${escapeHtml(t.source[source])}`,
    escapeHtml(count),
    ...(note === undefined ? [] : [withCode(note)]),
    escapeHtml(t.ongoing),
  ].join('\n');
}

/** An alarm's description in CloudWatch (plain text, what an e-mail shows): what failed, what it means, what to do. */
export function alarmDescription(source: AlarmSource, cause: AlarmCause, language: NotifyLanguage): string {
  const t = TEXTS[language].alarm;
  const note = t.note[ROLES[source]][cause];
  return `${t.source[source]}: ${t.title[cause]}.${note === undefined ? '' : ` ${note.replace(/`/g, '')}`}`;
}

/** The kill switch turned on or off (`npm run kill`, the console's switch), and where: the stack, or `npm start`. */
export function killSwitchMessage(on: boolean, place: string, language: NotifyLanguage): string {
  const t = TEXTS[language].killSwitch;
  return [
    `${on ? ICONS['kill-on'] : ICONS['kill-off']} <b>${escapeHtml(on ? t.on : t.off)}</b>`,
    on ? t.onNote : escapeHtml(t.offNote),
    escapeHtml(t.where(place)),
  ].join('\n');
}

/** `npm run notify -- test`. */
export function testMessage(language: NotifyLanguage): string {
  return `${ICONS.test} <b>ppp-webhooks</b>\n${escapeHtml(TEXTS[language].test)}`;
}
