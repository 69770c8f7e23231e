import { describe, expect, it } from 'vitest';
import { localAlarms } from '#local/dev-server/notifications.ts';

/** `npm start`'s stand-in for CloudWatch's alarm state: off at the first failure, again only after a quiet period. */
describe('localAlarms', () => {
  it('goes off at the first failure of a function and cause, and again only after 10 minutes without one', () => {
    let clock = Date.parse('2025-01-31T10:00:00Z');
    const fired: string[] = [];
    const report = localAlarms(
      (name, at) => fired.push(`${name} ${at.toISOString().slice(11, 19)}`),
      () => clock,
    );

    report('alor-webhook', 'error');
    clock += 5 * 60_000;
    report('alor-webhook', 'error');
    report('notifier', 'error');
    clock += 9 * 60_000;
    report('alor-webhook', 'error');
    clock += 10 * 60_000;
    report('alor-webhook', 'error');

    expect(fired).toEqual([
      'local-alor-webhook-error 10:00:00',
      'local-notifier-error 10:05:00',
      'local-alor-webhook-error 10:24:00',
    ]);
  });
});
