/**
 * The CDK context as the scripts see it: `cdk.json` "context" plus `-c key=value` / `--context key=value` pairs from
 * the command line, the same way `cdk synth`/`deploy` combine them. `infra/config.ts` turns it into the config.
 */
import { readFileSync } from 'node:fs';

/** A wrong command line: the message is for the user, the process exits with 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Splits `-c key=value` / `--context key=value` pairs off the arguments. */
export function parseArgs(argv: readonly string[]): { positional: string[]; context: Record<string, string> } {
  const positional: string[] = [];
  const context: Record<string, string> = {};
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] ?? '';
    if (arg === '-c' || arg === '--context') {
      const pair = argv[i + 1] ?? '';
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new UsageError(`${arg} needs key=value`);
      context[pair.slice(0, eq)] = pair.slice(eq + 1);
      i += 1;
    } else {
      positional.push(arg);
    }
  }
  return { positional, context };
}

/** The context `cdk synth` would use: `cdk.json`, then `-c` overrides. */
export function loadContext(cdkJsonPath: URL, overrides: Record<string, string>): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(cdkJsonPath, 'utf8')) as { context?: Record<string, unknown> };
  return { ...(cdkJson.context ?? {}), ...overrides };
}
