import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

/**
 * Which Chrome or Chromium the e2e suite drives, on any Linux or macOS machine: `CHROMIUM_PATH` when set; else
 * Playwright's own browser (`npx playwright install chromium`, where playwright-core expects it); else a Chrome or Edge
 * channel where Playwright's channels install (`npx playwright install chrome`) and the vendors' packages put them; else
 * the usual places of a Chromium (Debian's `/usr/bin/chromium`, Ubuntu's snap, Homebrew's app) and the names on PATH.
 * None: one line saying what to install.
 */

export interface ChromiumSearch {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly platform: NodeJS.Platform;
  readonly home: string;
  /** Where playwright-core expects its own Chromium (`chromium.executablePath()`), installed or not. */
  readonly playwrightExecutable: () => string | undefined;
  readonly exists: (path: string) => boolean;
}

export type ChromiumFound =
  | { readonly found: true; readonly executablePath: string; readonly source: string }
  | { readonly found: false; readonly problem: string };

/** Where Playwright's channels (`chrome`, `chrome-beta`, `chrome-dev`, `chrome-canary`, `msedge`…) live. */
const CHANNEL_PATHS: Readonly<Partial<Record<NodeJS.Platform, readonly string[]>>> = {
  linux: [
    '/opt/google/chrome/chrome',
    '/opt/google/chrome-beta/chrome',
    '/opt/google/chrome-unstable/chrome',
    '/opt/google/chrome-canary/chrome',
    '/opt/microsoft/msedge/msedge',
    '/opt/microsoft/msedge-beta/msedge',
    '/opt/microsoft/msedge-dev/msedge',
  ],
  darwin: [
    '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
    '/Applications/Google Chrome Beta.app/Contents/MacOS/Google Chrome Beta',
    '/Applications/Google Chrome Dev.app/Contents/MacOS/Google Chrome Dev',
    '/Applications/Google Chrome Canary.app/Contents/MacOS/Google Chrome Canary',
    '/Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge',
  ],
};

/** The usual places of a Chromium, and of a Chrome installed by hand (macOS: also in the user's Applications). */
const USUAL_PATHS: Readonly<Partial<Record<NodeJS.Platform, readonly string[]>>> = {
  linux: [
    '/usr/bin/chromium',
    '/usr/bin/chromium-browser',
    '/usr/lib/chromium/chromium',
    '/snap/bin/chromium',
    '/usr/bin/google-chrome',
    '/usr/bin/google-chrome-stable',
    '/usr/bin/microsoft-edge',
  ],
  darwin: [
    '/Applications/Chromium.app/Contents/MacOS/Chromium',
    '~/Applications/Chromium.app/Contents/MacOS/Chromium',
    '~/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
  ],
};

/** Names a Chrome or Chromium goes by on PATH. */
const NAMES_ON_PATH = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable', 'chrome'];

const INSTALL_HINT: Readonly<Partial<Record<NodeJS.Platform, string>>> = {
  linux: 'install one (Debian/Ubuntu: apt-get install chromium; Fedora: dnf install chromium)',
  darwin: 'install Google Chrome or Chromium (brew install --cask chromium)',
};

export function findChromium(search: ChromiumSearch): ChromiumFound {
  const expand = (path: string) => (path.startsWith('~/') ? join(search.home, path.slice(2)) : path);
  const configured = search.env.CHROMIUM_PATH?.trim();
  if (configured) {
    return search.exists(configured)
      ? { found: true, executablePath: configured, source: 'CHROMIUM_PATH' }
      : { found: false, problem: `CHROMIUM_PATH=${configured} does not exist: set it to a Chrome or Chromium binary` };
  }
  const candidates: [string, string][] = [];
  const playwright = search.playwrightExecutable();
  if (playwright !== undefined) candidates.push([playwright, "Playwright's Chromium"]);
  for (const path of CHANNEL_PATHS[search.platform] ?? []) candidates.push([path, 'a Chrome or Edge channel']);
  for (const path of USUAL_PATHS[search.platform] ?? []) candidates.push([expand(path), 'a usual place']);
  for (const dir of (search.env.PATH ?? '').split(delimiter).filter((entry) => entry !== '')) {
    for (const name of NAMES_ON_PATH) candidates.push([join(dir, name), 'PATH']);
  }
  const hit = candidates.find(([path]) => search.exists(path));
  if (hit !== undefined) return { found: true, executablePath: hit[0], source: hit[1] };
  const hint = INSTALL_HINT[search.platform] ?? 'install Chrome or Chromium';
  return {
    found: false,
    problem: `No Chrome or Chromium found for the e2e tests: ${hint}, or set CHROMIUM_PATH to its binary`,
  };
}

/** {@link findChromium} on this machine. */
export async function findChromiumHere(): Promise<ChromiumFound> {
  const { chromium } = await import('playwright-core');
  return findChromium({
    env: process.env,
    platform: process.platform,
    home: homedir(),
    playwrightExecutable: () => {
      try {
        return chromium.executablePath();
      } catch {
        return undefined;
      }
    },
    exists: existsSync,
  });
}
