import { formatAmount } from '../../decimal.ts';
import { BrokerCredentialRejectedError, BrokerUnavailableError } from '../../errors.ts';
import { type AlorExchange, brokerHostKind } from '../../facts.ts';
import { parseJsonText } from '../../http/outbound/client.ts';
import { type BrokerPreflightCall, type Check, check } from '../../preflight/checklist.ts';
import { AlorClient } from './client.ts';
import { tickerToAlorSymbol } from './mapping.ts';
import { AlorPreflightReads, accessTokenToHolder } from './preflight-reads.ts';

/**
 * Alor's read-only preflight: the hosts said plainly, the refresh token turned into an access token, the portfolio
 * among those the token carries, the portfolio answering on the exchange, and with a ticker the instrument a signal
 * would name, and the reads of a ver 2 signal and its protection (positions, orders, stop orders). Six broker requests
 * at most; never an order.
 */

export interface AlorPreflightTarget {
  readonly refreshToken: string;
  readonly portfolio: string;
  readonly exchange: AlorExchange;
  readonly oauthUrl: string;
  readonly apiUrl: string;
  /** A signal's `t`: its instrument is looked up on the exchange as the order would name it. */
  readonly ticker?: string | undefined;
  /**
   * Read the portfolio's positions, orders and stop orders, as a ver 2 signal and its protection do (by default;
   * `false` leaves them out).
   */
  readonly positions?: boolean | undefined;
}

/**
 * Whether the token reads what a ver 2 signal and its protection read of the portfolio (`…/positions`, `…/orders`,
 * `…/stoporders`): the first read it cannot is reported with its status. A 401 is not the refresh token's fault (it
 * was just accepted).
 */
async function reportStateReads(
  client: AlorPreflightReads,
  accessToken: string,
  target: AlorPreflightTarget,
  call: BrokerPreflightCall,
): Promise<void> {
  const { portfolio, exchange } = target;
  const reads = await client.stateAnswers(accessToken, exchange, portfolio, call.deadline);
  for (const [what, answer] of [
    ['positions', reads[0]],
    ['orders', reads[1]],
    ['stop orders', reads[2]],
  ] as const) {
    if (answer.statusCode === 401) rethrowUnexpectedRefusal(new BrokerCredentialRejectedError(403, 'read refused'));
    if (answer.statusCode === 403 || answer.statusCode === 404) {
      call.report(check('alor-state-unreadable', { what, portfolio, exchange, status: answer.statusCode }));
      return;
    }
    if (answer.statusCode !== 200 || !Array.isArray(parseJsonText(answer.text))) {
      throw new BrokerUnavailableError(`${what} HTTP ${answer.statusCode}`, { retriable: false });
    }
  }
  call.report(check('alor-state-readable', { portfolio, exchange }));
}

/** `field_TradingStatusCode` 18: no trading, or trading closed. */
const NO_TRADING = 18;

function hostsCheck(target: AlorPreflightTarget): Check {
  const hosts = [...new Set([target.oauthUrl, target.apiUrl].map((url) => new URL(url).origin))].join(', ');
  const kinds = new Set([brokerHostKind(target.oauthUrl), brokerHostKind(target.apiUrl)]);
  if (kinds.size > 1) return check('alor-hosts-mixed', { hosts });
  const [kind] = kinds;
  return check(
    kind === 'production' ? 'alor-hosts-production' : kind === 'test' ? 'alor-hosts-test' : 'alor-hosts-other',
    {
      hosts,
    },
  );
}

/** A refusal of the fresh access token by the API host cannot be the refresh token's fault: say what it was. */
function rethrowUnexpectedRefusal(error: unknown): never {
  if (error instanceof BrokerCredentialRejectedError) {
    throw new BrokerUnavailableError('the API host refused a fresh access token', { retriable: false, cause: error });
  }
  throw error;
}

export async function alorPreflight(target: AlorPreflightTarget, call: BrokerPreflightCall): Promise<void> {
  const { report, deadline } = call;
  const hosts = hostsCheck(target);
  report(hosts);
  // A token of one environment is refused by the other: nothing further would say more.
  if (hosts.id === 'alor-hosts-mixed') return;

  const client = new AlorClient({ dispatcher: call.dispatcher, oauthUrl: target.oauthUrl, apiUrl: target.apiUrl });
  let accessToken: string;
  try {
    accessToken = await client.refreshAccessToken(target.refreshToken, deadline);
  } catch (error) {
    if (!(error instanceof BrokerCredentialRejectedError)) throw error;
    report(check('alor-refresh-rejected'));
    return;
  }
  const holder = accessTokenToHolder(accessToken);
  report(check('alor-refresh-accepted', holder.user === undefined ? {} : { user: holder.user }));

  const { portfolio, exchange } = target;
  if (holder.portfolios === undefined) {
    report(check('alor-portfolios-unlisted'));
  } else if (holder.portfolios.includes(portfolio)) {
    report(check('alor-portfolio-in-token', { portfolio }));
  } else {
    const portfolios = holder.portfolios.join(', ');
    report(check('alor-portfolio-not-in-token', { portfolio, portfolios, first: holder.portfolios[0] ?? '' }));
    return;
  }

  const reads = new AlorPreflightReads({ dispatcher: call.dispatcher, apiUrl: target.apiUrl });
  const { answers, value } = await reads
    .portfolioAnswers(accessToken, exchange, portfolio, deadline)
    .catch(rethrowUnexpectedRefusal);
  report(check(answers ? 'alor-portfolio-on-exchange' : 'alor-portfolio-not-on-exchange', { portfolio, exchange }));
  if (value !== undefined) {
    const amounts = { value: formatAmount(value.value), result: formatAmount(value.dailyResult) };
    report(check('alor-portfolio-value', { portfolio, exchange, ...amounts }));
  }
  if (answers && target.positions !== false) await reportStateReads(reads, accessToken, target, call);

  if (target.ticker === undefined) return;
  const symbol = tickerToAlorSymbol(target.ticker);
  const security = await reads.security(accessToken, exchange, symbol, deadline).catch(rethrowUnexpectedRefusal);
  if (security === undefined) {
    report(check('alor-instrument-not-found', { symbol, exchange }));
    return;
  }
  report(
    check('alor-instrument-found', {
      symbol,
      exchange,
      name: security.shortname ?? security.symbol,
      lot: security.lotsize ?? 1,
    }),
  );
  if (security.tradingStatus === NO_TRADING) {
    report(
      check('alor-instrument-not-trading', { symbol, exchange, status: security.tradingStatusInfo ?? NO_TRADING }),
    );
  }
}

/** The portfolios an Alor refresh token trades, as its access token lists them (`npm run secrets`). */
export async function alorTokenPortfolios(
  refreshToken: string,
  target: Pick<AlorPreflightTarget, 'oauthUrl' | 'apiUrl'>,
  call: Omit<BrokerPreflightCall, 'report'>,
): Promise<readonly string[] | undefined> {
  const client = new AlorClient({ dispatcher: call.dispatcher, oauthUrl: target.oauthUrl, apiUrl: target.apiUrl });
  return accessTokenToHolder(await client.refreshAccessToken(refreshToken, call.deadline)).portfolios;
}
