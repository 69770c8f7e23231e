import { readFileSync } from 'node:fs';

/**
 * Which Node.js the command-line tools run on (`npm start`, `npm run secrets`, `preflight`, `notify`, `build`,
 * `bench`, and the CDK app `cdk synth`/`deploy` run): the `engines` range of `package.json`, caret ranges joined by
 * `||`, the newest major the one to install (the Lambda runtime's, which `tests/unit/node-support.test.ts` checks).
 *
 * The AWS SDK checks the Node version on its own whenever a client is made: below the version its next releases will
 * require, it calls `process.emitWarning` with a NodeVersionSupportWarning of nine lines (`@aws-sdk/core`,
 * `emitWarningIfUnsupportedVersion`), the first thing a user would read, before the answer they asked for. Its switch,
 * `AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true`, is set here instead, and the tool says what to do in one
 * line of its own, on a Node outside `engines` only. A later SDK requiring more than `engines` does is a reason to
 * raise `engines`: its notice stays off either way.
 */

const SDK_WARNING_SWITCH = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';
const DOWNLOAD_URL = 'https://nodejs.org/en/download';

/** One caret range of `engines.node`: this major, from this version on. */
interface SupportedMajor {
  readonly major: number;
  readonly minimum: readonly [number, number, number];
}

/** The caret ranges of `engines.node` (`^24.0.0 || ^22.12.0`), newest major first. */
export function supportedMajors(engines: string): SupportedMajor[] {
  return engines
    .split('||')
    .map((range) => {
      const parts = /^\^(\d+)\.(\d+)\.(\d+)$/.exec(range.trim());
      if (parts === null) throw new Error(`engines.node: expected caret ranges joined by ||, got "${engines}"`);
      const [major, minor, patch] = parts.slice(1).map(Number) as [number, number, number];
      return { major, minimum: [major, minor, patch] as const };
    })
    .sort((a, b) => b.major - a.major);
}

const versionText = ([major, minor, patch]: readonly number[]) => `${major}.${minor}.${patch}`;

/**
 * The one line a tool prints on a Node outside `engines` (`version` as `process.version` spells it), or `undefined`
 * on a supported one.
 */
export function nodeSupportNotice(version: string, engines: string): string | undefined {
  const [major = 0, minor = 0, patch = 0] = version.replace(/^v/, '').split('.').map(Number);
  const majors = supportedMajors(engines);
  const supported = majors.some(({ minimum }) => {
    const [, minMinor, minPatch] = minimum;
    return major === minimum[0] && (minor > minMinor || (minor === minMinor && patch >= minPatch));
  });
  if (supported) return undefined;
  const [newest, ...older] = majors;
  if (newest === undefined) throw new Error('engines.node names no Node.js version');
  const alsoWorks = older.map(({ major: olderMajor, minimum }) =>
    minimum[1] === 0 && minimum[2] === 0 ? `${olderMajor}` : `${olderMajor} from ${versionText(minimum)}`,
  );
  return (
    `Node.js ${version} is not supported here: install Node.js ${newest.major}` +
    `${alsoWorks.length === 0 ? '' : ` (${alsoWorks.join(', ')} still works)`} from ${DOWNLOAD_URL}`
  );
}

/** `engines.node` of the project's `package.json`. */
export function projectEngines(): string {
  const packageJson = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    engines?: { node?: string };
  };
  const engines = packageJson.engines?.node;
  if (engines === undefined) throw new Error('package.json has no engines.node');
  return engines;
}

let checked = false;

/**
 * Called first by each command-line tool: turns the AWS SDK's own Node notice off and, on a Node outside `engines`,
 * prints the one line that says which Node to install (once per process).
 */
export function checkNodeSupport(): void {
  if (checked) return;
  checked = true;
  process.env[SDK_WARNING_SWITCH] = 'true';
  const notice = nodeSupportNotice(process.version, projectEngines());
  if (notice !== undefined) process.stderr.write(`${notice}\n`);
}
