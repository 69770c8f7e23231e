import { vi } from 'vitest';

/** The JSON log lines the service wrote to stdout during the current test, parsed. */
export function logLines(): Array<Record<string, unknown>> {
  const write = vi.mocked(process.stdout.write);
  return write.mock.calls
    .map(([chunk]) => String(chunk))
    .flatMap((text) => text.split('\n'))
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Everything written to stdout and the console during the current test, as one string (for leak checks). */
export function allOutput(): string {
  const calls = [
    ...vi.mocked(process.stdout.write).mock.calls,
    ...(['log', 'info', 'warn', 'error', 'debug'] as const).flatMap((method) => vi.mocked(console[method]).mock.calls),
  ];
  return calls
    .map((args) => args.map((arg) => (typeof arg === 'string' ? arg : JSON.stringify(arg))).join(' '))
    .join('\n');
}
