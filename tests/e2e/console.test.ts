import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevServerProcess, spawnDevServer } from './dev-server-process.ts';
import { findChromiumHere } from './find-chromium.ts';

/**
 * The console page in a real browser: a Chrome or Chromium (tests/e2e/find-chromium.ts: CHROMIUM_PATH, Playwright's
 * browsers, the usual places) driven by playwright-core opens `npm start`'s console,
 * sends a signal with the form (through the real webhook route, with the secret the page got from the server), then a
 * TradingView alert, and sees the orders in the paper books and the calls in the log, with the secret shown nowhere;
 * then turns the kill switch on and off, and sets a paper account's money that a sized signal reads.
 * CI installs chromium when it is missing (.ci/run); without any this test fails with one line saying what to install,
 * rather than skips.
 */

const ARTIFACTS = fileURLToPath(new URL('../artifacts/', import.meta.url));
const STEP_TIMEOUT_MS = 10_000;

describe('console page (chromium)', () => {
  let server: DevServerProcess | undefined;
  let browser: Browser | undefined;

  beforeAll(async () => {
    const found = await findChromiumHere();
    if (!found.found) throw new Error(found.problem);
    // No WEBHOOK_SECRET: the server generates one, and the page must get it from the server to send signals.
    server = await spawnDevServer();
    browser = await chromium.launch({
      executablePath: found.executablePath,
      timeout: 30_000,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    if (server !== undefined) await server.stop('SIGINT').catch(() => server?.child.kill('SIGKILL'));
  }, 20_000);

  /** A new page on the console, loaded (its status updated), with the page's errors collected. */
  async function openConsole(): Promise<{ page: Page; pageErrors: string[] }> {
    if (server === undefined || browser === undefined) throw new Error('not started');
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    page.setDefaultTimeout(STEP_TIMEOUT_MS);
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`${server.url}/`);
    await expect.poll(() => page.getByTestId('status').textContent(), { timeout: STEP_TIMEOUT_MS }).toMatch(/updated/);
    return { page, pageErrors };
  }

  it('sends a signal with the form and shows the order in the paper book and the call in the log', async () => {
    if (server === undefined || browser === undefined) throw new Error('not started');
    const secret = /webhook secret\s+(\S+)/.exec(server.output())?.[1];
    expect(secret).toMatch(/^[A-Za-z0-9]{40}$/);

    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    page.setDefaultTimeout(STEP_TIMEOUT_MS);
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    // Loopback only: anything else the page tries to load fails the test.
    const outside: string[] = [];
    page.on('request', (request) => {
      const { protocol, hostname } = new URL(request.url());
      if (protocol !== 'data:' && hostname !== '127.0.0.1') outside.push(request.url());
    });

    await page.goto(`${server.url}/`);
    await expect.poll(() => page.getByTestId('status').textContent(), { timeout: STEP_TIMEOUT_MS }).toMatch(/updated/);
    await expect.poll(() => page.getByTestId('endpoints').textContent()).toContain(server.alor);

    // T-Invest: choose the broker, the example fills in SBER / BBG004730N88; change the price and side.
    await page.getByTestId('broker').selectOption('tinkoff');
    expect(await page.getByTestId('f').inputValue()).toBe('BBG004730N88');
    await page.getByTestId('p').fill('251.25');
    await page.getByTestId('v').fill('3');
    await page.getByTestId('d').selectOption('sell');
    await page.getByTestId('id').fill('console-e2e-1');
    await page.getByTestId('send').click();
    await expect.poll(() => page.getByTestId('send-result').textContent()).toMatch(/^tinkoff: 200 200 OK/);

    // The book refreshes on a timer: until then its one row is the "No orders yet." placeholder.
    const tinkoffBook = page.getByTestId('tinkoff-book').locator('tbody tr');
    await expect.poll(() => tinkoffBook.first().textContent()).toContain('BBG004730N88');
    expect(await tinkoffBook.count()).toBe(1);
    const order = await tinkoffBook.first().textContent();
    expect(order).toContain('BBG004730N88');
    expect(order).toContain('251.25');
    expect(order).toContain('sell');

    // Alor, with the example (AAPL on SPBX).
    await page.getByTestId('broker').selectOption('alor');
    await page.getByTestId('send').click();
    await expect.poll(() => page.getByTestId('send-result').textContent()).toMatch(/^alor: 200 200 OK/);
    await expect.poll(() => page.getByTestId('alor-book').locator('tbody').textContent()).toContain('AAPL');

    // Both calls are in the log, answered 200, and the secret is nowhere on the page.
    const calls = page.getByTestId('calls').locator('tbody tr');
    await expect.poll(() => calls.count()).toBe(2);
    expect(await calls.first().textContent()).toContain('200 200 OK');
    expect(await calls.first().textContent()).toContain('x-webhook-secret: [hidden]');
    expect(await page.content()).not.toContain(secret);

    // A TradingView alert to Alor: the strategy message (MOEX:SBER), its secret in the URL, hidden in the log.
    await page.getByTestId('source').selectOption('tradingview');
    expect(await page.getByTestId('message').inputValue()).toContain('"t":"MOEX:SBER"');
    await page.getByTestId('send').click();
    await expect.poll(() => page.getByTestId('send-result').textContent()).toMatch(/^alor: 200 200 OK/);
    await expect.poll(() => page.getByTestId('alor-book').locator('tbody').textContent()).toContain('MOEX');
    await expect.poll(() => calls.count()).toBe(3);
    expect(await calls.first().textContent()).toContain('POST /alor?secret=[hidden]');
    expect(await page.content()).not.toContain(secret);

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: `${ARTIFACTS}console.png`, fullPage: true });
    expect(pageErrors).toEqual([]);
    expect(outside).toEqual([]);
    await page.close();
  });

  it('sends a ver 2 target position as a TradingView alert and shows the paper position it reaches', async () => {
    const { page, pageErrors } = await openConsole();

    // The last price a market order fills at, set from the console.
    await page.getByTestId('price-broker').selectOption('alor');
    await page.getByTestId('price-instrument').fill('GAZP');
    await page.getByTestId('price-value').fill('287.5');
    await page.getByTestId('price-set').click();
    await expect.poll(() => page.getByTestId('price-result').textContent()).toBe('set');

    // The strategy's position, 30 shares, is 3 lots of GAZP (10 a lot) at Alor (SBER has orders working from above).
    await page.getByTestId('broker').selectOption('alor');
    await page.getByTestId('source').selectOption('tradingview');
    await page.getByTestId('template').selectOption('position');
    const message = await page.getByTestId('message').inputValue();
    expect(message).toContain('"pos":"30"');
    await page.getByTestId('message').fill(message.replace('SBER', 'GAZP'));
    await page.getByTestId('send').click();
    await expect.poll(() => page.getByTestId('send-result').textContent()).toMatch(/^alor: 200 .*"result":"placed"/);
    const positions = page.getByTestId('alor-positions').locator('tbody');
    await expect.poll(() => positions.textContent()).toContain('GAZP3');
    await expect.poll(() => page.getByTestId('alor-book').locator('tbody').textContent()).toContain('287.5');

    // The exit template closes it.
    await page.getByTestId('template').selectOption('close');
    await page.getByTestId('message').fill((await page.getByTestId('message').inputValue()).replace('SBER', 'GAZP'));
    await page.getByTestId('send').click();
    await expect.poll(() => page.getByTestId('send-result').textContent()).toMatch(/^alor: 200 .*"intent":"close"/);
    await expect.poll(() => positions.textContent()).toContain('GAZP0');
    expect(pageErrors).toEqual([]);
    await page.close();
  });

  it('turns the kill switch on (a sized entry refused, the chat told) and off, and sets a paper account', async () => {
    const { page, pageErrors } = await openConsole();
    await expect.poll(() => page.getByTestId('kill-switch-state').textContent()).toBe('off');

    await page.getByTestId('kill-switch').click();
    await expect.poll(() => page.getByTestId('kill-switch-state').textContent()).toBe('ON: entries refused');
    await page.getByTestId('broker').selectOption('tinkoff');
    await page.getByTestId('source').selectOption('tradingview');
    await page.getByTestId('template').selectOption('sized');
    await page.getByTestId('send').click();
    await expect.poll(() => page.getByTestId('send-result').textContent()).toMatch(/^tinkoff: 423 .*"kill-switch"/);
    await expect.poll(() => page.getByTestId('messages').textContent()).toContain('Выключатель торговли включён');

    await page.getByTestId('kill-switch').click();
    await expect.poll(() => page.getByTestId('kill-switch-state').textContent()).toBe('off');
    await page.getByTestId('account-broker').selectOption('tinkoff');
    await page.getByTestId('account-value').fill('200000');
    await page.getByTestId('account-set').click();
    await expect.poll(() => page.getByTestId('accounts').textContent()).toContain('200000');
    // 5% of 200 000 ₽ at the last price: sized and placed.
    await page.getByTestId('send').click();
    await expect.poll(() => page.getByTestId('send-result').textContent()).toMatch(/^tinkoff: 200 .*"vt":"pct"/);
    expect(pageErrors).toEqual([]);
    await page.close();
  });
});
