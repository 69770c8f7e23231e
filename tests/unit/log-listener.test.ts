import { describe, expect, it } from 'vitest';
import { addLogListener, createLogger, registerSecret } from '#shared/logging.ts';

describe('addLogListener', () => {
  it('hands every written line, redacted, to the listener until it is removed', () => {
    const heard: string[] = [];
    const secret = 'listener-secret-a1b2c3d4';
    registerSecret(secret);
    const log = createLogger('info', {}, () => undefined);
    const remove = addLogListener((line) => heard.push(line));

    log.info('heard', { secret });
    log.debug('below the level');
    remove();
    log.info('not heard');

    expect(heard.map((line) => JSON.parse(line))).toEqual([
      expect.objectContaining({ message: 'heard', secret: '[redacted]' }),
    ]);
  });
});
