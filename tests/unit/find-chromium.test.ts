import { describe, expect, it } from 'vitest';
import { type ChromiumSearch, findChromium } from '../e2e/find-chromium.ts';

/** tests/e2e/find-chromium.ts on made-up machines: only the listed files exist. */
function machine(files: readonly string[], overrides: Partial<ChromiumSearch> = {}): ChromiumSearch {
  return {
    env: { PATH: '/usr/local/bin:/usr/bin:/bin' },
    platform: 'linux',
    home: '/home/trader',
    playwrightExecutable: () => '/home/trader/.cache/ms-playwright/chromium-1255/chrome-linux64/chrome',
    exists: (path) => files.includes(path),
    ...overrides,
  };
}

describe('findChromium', () => {
  it('takes CHROMIUM_PATH first, whatever else is installed', () => {
    const search = machine(['/opt/chromium/chrome', '/usr/bin/chromium'], {
      env: { CHROMIUM_PATH: '/opt/chromium/chrome', PATH: '/usr/bin' },
    });

    expect(findChromium(search)).toEqual({
      found: true,
      executablePath: '/opt/chromium/chrome',
      source: 'CHROMIUM_PATH',
    });
  });

  it('says in one line that a CHROMIUM_PATH pointing nowhere is wrong, rather than look elsewhere', () => {
    const result = findChromium(machine(['/usr/bin/chromium'], { env: { CHROMIUM_PATH: '/nope/chrome' } }));

    expect(result).toEqual({
      found: false,
      problem: 'CHROMIUM_PATH=/nope/chrome does not exist: set it to a Chrome or Chromium binary',
    });
  });

  it("prefers Playwright's own Chromium (npx playwright install chromium) when it is installed", () => {
    const playwright = '/home/trader/.cache/ms-playwright/chromium-1255/chrome-linux64/chrome';

    expect(findChromium(machine([playwright, '/usr/bin/chromium']))).toMatchObject({ executablePath: playwright });
  });

  it.each([
    ['linux', '/opt/google/chrome/chrome', 'a Chrome or Edge channel'],
    ['linux', '/opt/microsoft/msedge/msedge', 'a Chrome or Edge channel'],
    ['linux', '/usr/bin/chromium', 'a usual place'],
    ['linux', '/usr/bin/chromium-browser', 'a usual place'],
    ['linux', '/snap/bin/chromium', 'a usual place'],
    ['linux', '/usr/bin/google-chrome-stable', 'a usual place'],
    ['darwin', '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome', 'a Chrome or Edge channel'],
    ['darwin', '/Applications/Chromium.app/Contents/MacOS/Chromium', 'a usual place'],
    ['darwin', '/home/trader/Applications/Google Chrome.app/Contents/MacOS/Google Chrome', 'a usual place'],
    ['linux', '/usr/local/bin/chromium', 'PATH'],
  ] as const)('finds a browser on %s at %s (%s)', (platform, path, source) => {
    expect(findChromium(machine([path], { platform }))).toEqual({ found: true, executablePath: path, source });
  });

  it('takes a channel before a usual place, in order', () => {
    expect(findChromium(machine(['/usr/bin/chromium', '/opt/google/chrome-beta/chrome']))).toMatchObject({
      executablePath: '/opt/google/chrome-beta/chrome',
    });
  });

  it.each([
    [
      'linux',
      'No Chrome or Chromium found for the e2e tests: install one (Debian/Ubuntu: apt-get install chromium; ' +
        'Fedora: dnf install chromium), or set CHROMIUM_PATH to its binary',
    ],
    [
      'darwin',
      'No Chrome or Chromium found for the e2e tests: install Google Chrome or Chromium (brew install --cask chromium), ' +
        'or set CHROMIUM_PATH to its binary',
    ],
  ] as const)('says in one line what to install on %s when there is none', (platform, problem) => {
    const result = findChromium(machine([], { platform, playwrightExecutable: () => undefined }));

    expect(result).toEqual({ found: false, problem });
    expect(problem).not.toContain('\n');
  });
});
