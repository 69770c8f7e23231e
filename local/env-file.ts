import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { LOCAL_ENV } from '#shared/facts.ts';

/**
 * A minimal `.env` reader for the local run, so no dependency is needed: `NAME=value` lines, `#` comments,
 * an optional `export ` prefix, values in single or double quotes (double quotes understand `\n`), and an
 * unquoted value's trailing ` # comment`. Variables already set in the environment win over the file, so
 * `PORT=4000 npm start` overrides a `PORT` in `.env`.
 */

const LINE = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/;

function unquote(raw: string): string {
  const quote = raw[0];
  if ((quote === '"' || quote === "'") && raw.length >= 2 && raw.endsWith(quote)) {
    const inner = raw.slice(1, -1);
    return quote === '"' ? inner.replace(/\\n/g, '\n').replace(/\\"/g, '"') : inner;
  }
  return raw.replace(/\s+#.*$/, '');
}

/** The variables of an env file's text; malformed lines are skipped. */
export function parseEnvFile(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    if (/^\s*(#|$)/.test(line)) continue;
    const match = LINE.exec(line);
    if (match?.[1] === undefined) continue;
    values[match[1]] = unquote(match[2] ?? '');
  }
  return values;
}

/**
 * Reads `path` into `env` without overriding what is set. Returns the names it set, or `undefined` when
 * there is no such file.
 */
export function loadEnvFile(path: string, env: NodeJS.ProcessEnv = process.env): string[] | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const set: string[] = [];
  for (const [name, value] of Object.entries(parseEnvFile(text))) {
    if (env[name] !== undefined) continue;
    env[name] = value;
    set.push(name);
  }
  return set;
}

/**
 * Reads `.env` (or the file `ENV_FILE` names; `none` reads nothing) into `env`, the shell's values winning: how
 * `npm start` and `npm run preflight` read a local run's settings. Returns the file and the names it set, or
 * `undefined` when there is no such file.
 */
export function readEnvFile(env: NodeJS.ProcessEnv): { file: string; names: string[] } | undefined {
  const file = env[LOCAL_ENV.envFile] ?? fileURLToPath(new URL('../.env', import.meta.url));
  if (file === 'none' || file === '') return undefined;
  const names = loadEnvFile(file, env);
  return names === undefined ? undefined : { file, names };
}
