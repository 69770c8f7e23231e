import { describe, expect, it } from 'vitest';
import { createLogger, type LogLevel, logger, parseLogLevel, redact, registerSecret } from '#shared/logging.ts';
import { logLines } from '../helpers/logs.ts';

let sequence = 0;
/** A value no other test registered. */
function uniqueSecret(label = 'secret'): string {
  sequence += 1;
  return `${label}-${sequence}-a1b2c3d4e5`;
}

function capture(level: LogLevel = 'debug') {
  const lines: string[] = [];
  const log = createLogger(level, {}, (line) => lines.push(line));
  return { log, lines, parsed: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

describe('createLogger', () => {
  it('writes one JSON object per line with level, ISO time, message and fields', () => {
    const { log, lines, parsed } = capture();

    log.info('webhook answered', { status: 200, broker: 'alor' });

    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain('\n');
    expect(parsed()[0]).toEqual({
      level: 'info',
      time: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
      message: 'webhook answered',
      status: 200,
      broker: 'alor',
    });
  });

  it('keeps a multi-line message on one line', () => {
    const { log, lines } = capture();

    log.error('first\nsecond');

    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({ message: 'first\nsecond' });
  });

  it.each([
    ['debug', ['debug', 'info', 'warn', 'error']],
    ['info', ['info', 'warn', 'error']],
    ['warn', ['warn', 'error']],
    ['error', ['error']],
  ] as const)('at level %s writes only %j', (level, written) => {
    const { log, parsed } = capture(level);

    log.debug('d');
    log.info('i');
    log.warn('w');
    log.error('e');

    expect(parsed().map((line) => line.level)).toEqual(written);
  });

  it('adds the fields of a child logger to every line, and the call’s fields over them', () => {
    const { log, parsed } = capture();

    log.child({ broker: 'tinkoff', requestId: 'r-1' }).child({ requestId: 'r-2' }).info('x', { status: 400 });

    expect(parsed()[0]).toMatchObject({ broker: 'tinkoff', requestId: 'r-2', status: 400 });
  });

  it('keeps the level of its parent in a child', () => {
    const { log, lines } = capture('warn');

    log.child({ broker: 'alor' }).info('dropped');

    expect(lines).toEqual([]);
  });

  it('redacts a registered secret wherever it appears in a line: message, fields, bound fields', () => {
    const secret = uniqueSecret();
    registerSecret(secret);
    const { log, lines } = capture();

    log.child({ bound: `x${secret}x` }).warn(`message ${secret}`, { nested: { deep: [secret] } });

    expect(lines[0]).not.toContain(secret);
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({
      bound: 'x[redacted]x',
      message: 'message [redacted]',
      nested: { deep: ['[redacted]'] },
    });
  });

  it('writes to stdout by default, redacted', () => {
    const secret = uniqueSecret();
    registerSecret(secret);

    logger.info('default sink', { secret });

    expect(logLines()).toContainEqual(expect.objectContaining({ message: 'default sink', secret: '[redacted]' }));
  });
});

describe('parseLogLevel', () => {
  it.each(['debug', 'info', 'warn', 'error'] as const)('takes %s', (level) => {
    expect(parseLogLevel(level)).toBe(level);
  });

  it.each([undefined, '', 'verbose', 'INFO', 'toString', 'constructor', '__proto__', 'hasOwnProperty'])(
    'falls back to info for %j',
    (value) => {
      expect(parseLogLevel(value)).toBe('info');
    },
  );

  it('filters by the fallback level, even when LOG_LEVEL names an Object.prototype member', () => {
    const lines: string[] = [];
    const log = createLogger(parseLogLevel('constructor'), {}, (line) => lines.push(line));

    log.debug('dropped');

    expect(lines).toEqual([]);
  });
});

describe('redact', () => {
  it.each([
    [
      'a refresh URL',
      'POST https://oauth.alor.ru/refresh?token=eyJhbGci.abc',
      'POST https://oauth.alor.ru/refresh?token=[redacted]',
    ],
    ['a later parameter', '/x?a=1&secret=s3cr3t&b=2', '/x?a=1&secret=[redacted]&b=2'],
    ['access_token', '?access_token=abc.def', '?access_token=[redacted]'],
    ['upper case', '?TOKEN=abc', '?TOKEN=[redacted]'],
    ['inside JSON', '{"url":"/refresh?token=abc123"}', '{"url":"/refresh?token=[redacted]"}'],
    ['a Bearer header', 'authorization: Bearer eyJ.payload.sig', 'authorization: Bearer [redacted]'],
    ['a bearer in JSON', '{"authorization":"bearer t.abcdef"}', '{"authorization":"bearer [redacted]"}'],
    ['mixed case', '&SeCrEt=abc BEARER t.abcdef', '&SeCrEt=[redacted] BEARER [redacted]'],
    ['letters that change length in lower case before it', 'İİ?Token=abc', 'İİ?Token=[redacted]'],
  ])('blanks credentials in %s', (_case, text, expected) => {
    expect(redact(text)).toBe(expected);
  });

  it('leaves a line without credentials unchanged', () => {
    const text = '{"level":"info","message":"webhook answered","status":200,"symbol":"BRK B"}';

    expect(redact(text)).toBe(text);
  });

  it('blanks every occurrence of a registered secret', () => {
    const secret = uniqueSecret();
    registerSecret(secret);

    expect(redact(`${secret}/${secret}`)).toBe('[redacted]/[redacted]');
  });

  it('blanks a registered secret that JSON escapes (quote, backslash, control character)', () => {
    const secret = `${uniqueSecret()}"q\\b\tt`;
    registerSecret(secret);
    const { log, lines } = capture();

    log.info('escaped', { value: secret });

    expect(lines[0]).not.toContain(JSON.stringify(secret).slice(1, -1));
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({ value: '[redacted]' });
  });

  it('does not register values shorter than 6 characters, which would blank ordinary words', () => {
    registerSecret('buy');
    registerSecret('12345');

    expect(redact('buy 12345')).toBe('buy 12345');
  });
});
