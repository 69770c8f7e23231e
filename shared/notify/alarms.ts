import * as z from 'zod';
import { NOTIFY_WINDOW_SECONDS } from '../facts.ts';
import { parseJsonText } from '../http/outbound/client.ts';

/**
 * The failures no log line of ours can tell (a function that timed out, failed to start, crashed or was throttled;
 * messages left in a dead-letter queue; the notifier's own failures): the stack watches each with a CloudWatch alarm
 * (infra/notifications-stack.ts), whose notification reaches the notifier through SNS, and the trader's e-mail when
 * one is given. Here: which alarms there are, how they are named, and what the notifier reads of a notification.
 */

/** The stack's functions, by what they do. */
export const ALARM_SOURCES = [
  'alor-webhook',
  'tinkoff-webhook',
  'alor-follow-up',
  'tinkoff-follow-up',
  'notifier',
] as const;
export type AlarmSource = (typeof ALARM_SOURCES)[number];

/**
 * What an alarm watches: `timeout`, `init-failure` (from the function's platform log lines), `error` and `throttle`
 * (Lambda's metrics), `dead-letters` (the function's dead-letter queue), `queue-dead-letters` (the dead-letter queue
 * of the notifier's own queue, where the counts of refused calls wait to be told).
 */
export const ALARM_CAUSES = [
  'timeout',
  'init-failure',
  'error',
  'throttle',
  'dead-letters',
  'queue-dead-letters',
] as const;
export type AlarmCause = (typeof ALARM_CAUSES)[number];

/**
 * The alarms of each function. A webhook's timeouts and failed starts are told apart from its other errors (a timed-out
 * signal may have placed an order; one that never started did not); for the others an `error` covers all three.
 */
export const WATCHED_CAUSES: Readonly<Record<AlarmSource, readonly AlarmCause[]>> = {
  'alor-webhook': ['timeout', 'init-failure', 'error', 'throttle'],
  'tinkoff-webhook': ['timeout', 'init-failure', 'error', 'throttle'],
  'alor-follow-up': ['error', 'throttle', 'dead-letters'],
  'tinkoff-follow-up': ['error', 'throttle', 'dead-letters'],
  notifier: ['error', 'throttle', 'dead-letters', 'queue-dead-letters'],
};

/** Every alarm's period: what it counts over, and (it must see a quiet period before it fires again) its pace. */
export const ALARM_PERIOD_SECONDS = NOTIFY_WINDOW_SECONDS;

/** `PppWebhooks-alor-webhook-timeout`: the stack's name first, so that two stacks in one account never share one. */
export function alarmName(stackName: string, source: AlarmSource, cause: AlarmCause): string {
  return `${stackName}-${source}-${cause}`;
}

const NAME = new RegExp(`-(${ALARM_SOURCES.join('|')})-(${ALARM_CAUSES.join('|')})$`);

/** The function and cause an alarm of the stack watches, from its name; `undefined` for any other alarm. */
export function parseAlarmName(name: string): { source: AlarmSource; cause: AlarmCause } | undefined {
  const match = NAME.exec(name);
  if (match === null) return undefined;
  return { source: match[1] as AlarmSource, cause: match[2] as AlarmCause };
}

/** An alarm notification as the notifier tells it. */
export interface AlarmEvent {
  readonly name: string;
  /** Set for the stack's own alarms. */
  readonly source: AlarmSource | undefined;
  readonly cause: AlarmCause | undefined;
  /** `ALARM`, `OK` or `INSUFFICIENT_DATA`. */
  readonly state: string;
  /** When the alarm changed state (ISO). */
  readonly time: string;
  /** What the alarm saw in the period that crossed its threshold (a count), when CloudWatch's reason states it. */
  readonly count: number | undefined;
  readonly periodSeconds: number;
  /** The queue a dead-letters alarm watches. */
  readonly queue: string | undefined;
  /** CloudWatch's reason, shown for an alarm the notifier does not know. */
  readonly reason: string;
}

/** The fields read of CloudWatch's notification (the JSON text of the SNS message). */
const AlarmNotificationSchema = z.object({
  AlarmName: z.string().min(1).max(255),
  NewStateValue: z.string(),
  NewStateReason: z.string().optional(),
  StateChangeTime: z.string(),
  Trigger: z
    .object({
      Period: z.number().int().positive().optional(),
      Dimensions: z.array(z.object({ name: z.string(), value: z.string() })).optional(),
    })
    .optional(),
});

/** `… 1 out of the last 1 datapoints [3.0 (31/01/25 10:00:00)] was …`, or `… 1 datapoint (3.0) was …`. */
const DATAPOINT = /\[(\d+(?:\.\d+)?) \(|datapoints? \((\d+(?:\.\d+)?)\)/;

/** CloudWatch writes `2025-01-31T10:07:12.345+0000`; an ISO time has a colon in the offset. */
function isoTime(text: string): string | undefined {
  const time = Date.parse(text.replace(/([+-]\d\d)(\d\d)$/, '$1:$2'));
  return Number.isNaN(time) ? undefined : new Date(time).toISOString();
}

/** The alarm of one SNS message, or `undefined` when the message is not a CloudWatch alarm notification. */
export function parseAlarmNotification(message: string): AlarmEvent | undefined {
  const parsed = AlarmNotificationSchema.safeParse(parseJsonText(message));
  if (!parsed.success) return undefined;
  const notification = parsed.data;
  const time = isoTime(notification.StateChangeTime);
  if (time === undefined) return undefined;
  const reason = notification.NewStateReason ?? '';
  const datapoint = DATAPOINT.exec(reason);
  const value = datapoint === null ? undefined : Number(datapoint[1] ?? datapoint[2]);
  const known = parseAlarmName(notification.AlarmName);
  return {
    name: notification.AlarmName,
    source: known?.source,
    cause: known?.cause,
    state: notification.NewStateValue,
    time,
    count: value === undefined ? undefined : Math.round(value),
    periodSeconds: notification.Trigger?.Period ?? ALARM_PERIOD_SECONDS,
    queue: notification.Trigger?.Dimensions?.find((dimension) => dimension.name === 'QueueName')?.value,
    reason,
  };
}
