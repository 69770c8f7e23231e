import { formatAmount } from '../../decimal.ts';
import { BrokerCredentialRejectedError } from '../../errors.ts';
import {
  brokerHostKind,
  isProductionBrokerUrl,
  TINKOFF_DEFAULT_API_URL,
  TINKOFF_SANDBOX_API_URL,
  type TinkoffApi,
} from '../../facts.ts';
import { type BrokerPreflightCall, type Check, check } from '../../preflight/checklist.ts';
import { GET_ORDERS_PATH, GET_POSITIONS_PATH, GET_STOP_ORDERS_PATH, TinkoffV2Client } from './client.ts';
import { tickerToTinkoffTicker } from './mapping.ts';
import { type Account, stateReadProblem, TinkoffPreflightReads } from './preflight-reads.ts';
import type { Instrument } from './schemas.ts';

/**
 * T-Invest's read-only preflight: the host said plainly, the token accepted (or which environment it belongs to),
 * the configured account among the token's, open and with full access, a warning when the token reaches more than
 * that account, with a FIGI the instrument a signal would trade, and the reads of a ver 2 signal and its protection
 * (positions, active orders, stop orders) with the portfolio's value sizing would use. Seven broker requests at most;
 * never an order.
 */

/** The other T-Invest environment, where a token this host refuses is tried to say which kind it is. */
export interface OtherEnvironment {
  readonly url: string;
  readonly kind: 'sandbox' | 'production';
}

export interface TinkoffPreflightTarget {
  readonly token: string;
  readonly accountId: string;
  readonly api: TinkoffApi;
  readonly apiUrl: string;
  readonly otherEnvironment?: OtherEnvironment | undefined;
  /** A signal's `f`: the instrument its order trades. */
  readonly figi?: string | undefined;
  /** A signal's `t`: with `figi`, compared with the instrument's ticker. */
  readonly ticker?: string | undefined;
  /**
   * Read the account's positions, active orders and stop orders, as a ver 2 signal and its protection do (by default;
   * `false` leaves them out).
   */
  readonly positions?: boolean | undefined;
}

/**
 * Whether the token reads what a ver 2 signal and its protection read (`GetPositions`, `GetOrders`, `GetStopOrders`);
 * the first it cannot is reported. Then the portfolio's value and the day's result (`GetPortfolio`), which sizing and
 * the day's-loss guard read.
 */
async function reportStateReads(target: TinkoffPreflightTarget, call: BrokerPreflightCall): Promise<void> {
  const client = new TinkoffPreflightReads({ dispatcher: call.dispatcher, apiUrl: target.apiUrl });
  const reads = await Promise.all([
    client.readCheck(target.token, target.accountId, GET_POSITIONS_PATH, call.deadline),
    client.readCheck(target.token, target.accountId, GET_ORDERS_PATH, call.deadline),
    client.readCheck(target.token, target.accountId, GET_STOP_ORDERS_PATH, call.deadline),
  ]);
  const portfolio = new TinkoffV2Client({ dispatcher: call.dispatcher, apiUrl: target.apiUrl })
    .portfolio({ credential: target.token, account: target.accountId, deadline: call.deadline })
    .then((value) => {
      call.report(
        check('tinkoff-portfolio-value', {
          account: target.accountId,
          value: formatAmount(value.value),
          result: formatAmount(value.dailyResult),
        }),
      );
    })
    // A portfolio the token cannot read leaves the value unshown: the state reads above say why.
    .catch(() => undefined);
  const unreadable = (
    [
      ['positions', reads[0]],
      ['orders', reads[1]],
      ['stop orders', reads[2]],
    ] as const
  )
    .map(([what, answer]) => ({ what, code: stateReadProblem(answer.statusCode, answer.text) }))
    .find((read) => read.code !== undefined);
  call.report(
    unreadable?.code === undefined
      ? check('tinkoff-state-readable', { account: target.accountId })
      : check('tinkoff-state-unreadable', { what: unreadable.what, code: unreadable.code, account: target.accountId }),
  );
  // Told after the reads' check, and within this call: never a line once the preflight has moved on.
  await portfolio;
}

/**
 * Where a token the configured host refuses is tried: the sandbox for the production host, production for the
 * sandbox. `sandboxUrl` stands for the sandbox when given (a paper sandbox, in tests and `npm start`); then any other
 * host is taken for production. Undefined when the host is neither and no sandbox is given.
 */
export function otherTinkoffEnvironment(apiUrl: string, sandboxUrl?: string): OtherEnvironment | undefined {
  const sandbox = sandboxUrl ?? TINKOFF_SANDBOX_API_URL;
  const isSandbox = sandboxUrl === undefined ? brokerHostKind(apiUrl) === 'test' : apiUrl === sandboxUrl;
  if (isSandbox) return { url: TINKOFF_DEFAULT_API_URL.v2, kind: 'production' };
  return isProductionBrokerUrl(apiUrl) || sandboxUrl !== undefined ? { url: sandbox, kind: 'sandbox' } : undefined;
}

function hostCheck(apiUrl: string): Check {
  const kind = brokerHostKind(apiUrl);
  const id =
    kind === 'production' ? 'tinkoff-host-production' : kind === 'test' ? 'tinkoff-host-sandbox' : 'tinkoff-host-other';
  return check(id, { url: apiUrl });
}

const FULL_ACCESS = 'ACCOUNT_ACCESS_LEVEL_FULL_ACCESS';
const READ_ONLY = 'ACCOUNT_ACCESS_LEVEL_READ_ONLY';
const NO_ACCESS = 'ACCOUNT_ACCESS_LEVEL_NO_ACCESS';
const OPEN = 'ACCOUNT_STATUS_OPEN';

/** An account as a user recognises it. */
export function describeAccount(account: Account): string {
  return account.name === undefined || account.name === '' ? account.id : `${account.id} (${account.name})`;
}

/**
 * The token's accounts, or the checks that say why there are none: refused here, and whether the other environment
 * takes it (a sandbox token on the production host, or the reverse).
 */
async function tokenAccounts(
  target: TinkoffPreflightTarget,
  call: BrokerPreflightCall,
): Promise<Account[] | undefined> {
  try {
    return await new TinkoffPreflightReads({ dispatcher: call.dispatcher, apiUrl: target.apiUrl }).accounts(
      target.token,
      call.deadline,
    );
  } catch (error) {
    if (!(error instanceof BrokerCredentialRejectedError)) throw error;
  }
  const other = target.otherEnvironment;
  const acceptedElsewhere =
    other !== undefined &&
    (await new TinkoffPreflightReads({ dispatcher: call.dispatcher, apiUrl: other.url })
      .accounts(target.token, call.deadline)
      .then(
        () => true,
        // Whatever the other environment says, the configured one refused the token: that is the finding.
        () => false,
      ));
  if (!acceptedElsewhere) call.report(check('tinkoff-token-rejected'));
  else
    call.report(
      check(other.kind === 'sandbox' ? 'tinkoff-token-sandbox' : 'tinkoff-token-production', { url: target.apiUrl }),
    );
  return undefined;
}

function reportAccount(accounts: readonly Account[], accountId: string, report: BrokerPreflightCall['report']): void {
  const account = accounts.find((candidate) => candidate.id === accountId);
  if (account === undefined) {
    report(
      check('tinkoff-account-not-found', {
        account: accountId,
        accounts: accounts.length === 0 ? '—' : accounts.map(describeAccount).join(', '),
        first: accounts[0]?.id ?? '',
      }),
    );
    return;
  }
  report(
    account.status === OPEN
      ? check('tinkoff-account-open', { account: accountId, name: account.name ?? '' })
      : check('tinkoff-account-closed', { account: accountId, status: account.status ?? '' }),
  );
  const access =
    account.accessLevel === FULL_ACCESS
      ? 'tinkoff-access-full'
      : account.accessLevel === READ_ONLY
        ? 'tinkoff-access-read-only'
        : 'tinkoff-access-none';
  report(check(access, { account: accountId }));
  const reached = accounts.filter((candidate) => candidate.accessLevel !== NO_ACCESS);
  report(
    reached.length > 1
      ? check('tinkoff-token-several-accounts', { account: accountId, count: reached.length })
      : check('tinkoff-token-one-account', { account: accountId }),
  );
}

async function reportInstrument(
  target: TinkoffPreflightTarget & { figi: string },
  client: TinkoffPreflightReads,
  call: BrokerPreflightCall,
): Promise<void> {
  const { report, deadline } = call;
  const id = target.figi;
  const instrument: Instrument | undefined = await client.instrument(target.token, id, deadline);
  if (instrument === undefined) {
    report(check('tinkoff-instrument-not-found', { id }));
    return;
  }
  const { ticker } = instrument;
  if (!instrument.apiTradeAvailableFlag) {
    report(check('tinkoff-instrument-not-api-tradable', { id, ticker }));
    return;
  }
  report(check('tinkoff-instrument-tradable', { id, ticker, name: instrument.name, lot: instrument.lot }));
  if (!instrument.buyAvailableFlag) report(check('tinkoff-instrument-side-unavailable', { ticker, side: 'buy' }));
  if (!instrument.sellAvailableFlag) report(check('tinkoff-instrument-side-unavailable', { ticker, side: 'sell' }));
  if (target.ticker !== undefined && tickerToTinkoffTicker(target.ticker) !== ticker) {
    report(check('tinkoff-instrument-ticker-mismatch', { id, ticker: target.ticker, instrumentTicker: ticker }));
  }
  if (instrument.forQualInvestorFlag && !(await client.isQualifiedInvestor(target.token, deadline))) {
    report(check('tinkoff-instrument-qualified-only', { ticker }));
  }
}

export async function tinkoffPreflight(target: TinkoffPreflightTarget, call: BrokerPreflightCall): Promise<void> {
  const { report } = call;
  report(hostCheck(target.apiUrl));
  if (target.api === 'v1') {
    report(check('tinkoff-api-v1'));
    return;
  }
  const accounts = await tokenAccounts(target, call);
  if (accounts === undefined) return;
  report(check('tinkoff-token-accepted', { count: accounts.length }));
  reportAccount(accounts, target.accountId, report);
  const known = accounts.some((account) => account.id === target.accountId);

  const { figi } = target;
  if (figi !== undefined) {
    await reportInstrument(
      { ...target, figi },
      new TinkoffPreflightReads({ dispatcher: call.dispatcher, apiUrl: target.apiUrl }),
      call,
    );
  } else if (target.ticker !== undefined) {
    report(check('tinkoff-ticker-needs-figi'));
  }
  if (known && target.positions !== false) await reportStateReads(target, call);
}

/** The accounts a T-Invest token reaches (`npm run secrets`). */
export function tinkoffTokenAccounts(
  token: string,
  apiUrl: string,
  call: Omit<BrokerPreflightCall, 'report'>,
): Promise<Account[]> {
  return new TinkoffPreflightReads({ dispatcher: call.dispatcher, apiUrl }).accounts(token, call.deadline);
}
