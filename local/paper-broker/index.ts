import { ConfigError } from '#shared/config-error.ts';
import type { Broker } from '#shared/facts.ts';
import {
  ALOR_PAPER_SCENARIOS,
  type AlorPaperBroker,
  type AlorPaperOptions,
  type AlorPaperScenario,
  startAlorPaperBroker,
} from './alor.ts';
import {
  type PaperInstrument,
  startTinkoffPaperBroker,
  TINKOFF_PAPER_SCENARIOS,
  type TinkoffPaperBroker,
  type TinkoffPaperOptions,
  type TinkoffPaperScenario,
} from './tinkoff.ts';

export type { AlorPaperBroker, AlorPaperOrder, AlorPaperScenario } from './alor.ts';
export type { OrderStateChange, PaperOrderStatus } from './order-state.ts';
export { PAPER_ORDER_STATUSES } from './order-state.ts';
export type { Fault } from './server.ts';
export type { PaperInstrument, TinkoffPaperBroker, TinkoffPaperOrder, TinkoffPaperScenario } from './tinkoff.ts';
export { startAlorPaperBroker, startTinkoffPaperBroker };

/** The paper accounts `npm start` and the tests trade on: obvious fakes, never real credentials. */
export const PAPER_ALOR = { refreshToken: 'paper-alor-refresh-token', portfolio: 'D00000' } as const;
export const PAPER_TINKOFF = { token: 'paper-tinvest-token', accountId: '2000000000' } as const;

/** A few real instruments, so a typo in a FIGI or symbol is refused as the broker would. */
export const PAPER_INSTRUMENTS = {
  alor: {
    MOEX: ['SBER', 'GAZP', 'LKOH', 'YDEX', 'SiZ6', 'IRAO'],
    SPBX: ['AAPL', 'MSFT', 'BRK B', 'TSLA', 'NVDA'],
  },
  /**
   * The shares' FIGIs are their real ones, as is SBER's uid; the other uids, TMOS's FIGI and all of NOAPI are the paper
   * broker's own. LKOH (lot 1), SBER (10) and IRAO (100) are what the sizing tests size in. NOAPI stands for the instruments T-Invest does not let the API trade.
   */
  tinkoff: [
    share('SBER', 'TQBR', 'BBG004730N88', 'e6123145-9665-43e0-8413-cd61b8aa9b13', 10, 'Сбер Банк', 'rub'),
    share('GAZP', 'TQBR', 'BBG004730RP0', 'd8c62303-8e77-4bbd-a89a-9e0df39dc5db', 10, 'Газпром', 'rub'),
    share('LKOH', 'TQBR', 'BBG004731032', '02cfdf61-6298-4c0f-a9ca-9cabc82afaf3', 1, 'Лукойл', 'rub'),
    share('IRAO', 'TQBR', 'BBG004S68473', '2dfbc1fd-b92a-436e-b011-928c79e805f2', 100, 'Интер РАО', 'rub'),
    {
      ...share(
        'TMOS',
        'TQTF',
        'TCS60A101X76',
        'a9d1e60d-e4f3-4745-b150-576595a426d7',
        1,
        'Т-Капитал Индекс МосБиржи',
        'rub',
      ),
      instrumentType: 'etf',
    },
    share('AAPL', 'SPBXM', 'BBG000B9XRY4', '2c2e4645-e9f4-48d7-a389-396bcfc944f9', 1, 'Apple', 'usd'),
    share('MSFT', 'SPBXM', 'BBG000BPH459', '301de74b-52f8-4c20-9041-42bcd9d7ec92', 1, 'Microsoft', 'usd'),
    share('BRK.B', 'SPBXM', 'BBG000DWG505', 'f23ebb4c-8426-4332-a70c-8e5f6a50c189', 1, 'Berkshire Hathaway', 'usd'),
    {
      ...share(
        'NOAPI',
        'TQBR',
        'PAPER0NOAPI0',
        '103e9702-71d9-408d-b046-40a428984744',
        1,
        'Not tradable via API',
        'rub',
      ),
      apiTradeAvailableFlag: false,
    },
  ] satisfies PaperInstrument[],
} as const;

/** Alor's lot sizes as the exchange has them (T-Invest's are in its instrument table): a signal's `v` is lots. */
const ALOR_LOT_SIZES = { SBER: 10, GAZP: 10, IRAO: 100 } as const;

/** Each broker's failure scenarios, by broker: the names `PAPER_SCENARIOS` and the console switch. */
export const PAPER_SCENARIOS = { alor: ALOR_PAPER_SCENARIOS, tinkoff: TINKOFF_PAPER_SCENARIOS } as const;

export interface PaperScenarios {
  readonly alor?: AlorPaperScenario | undefined;
  readonly tinkoff?: TinkoffPaperScenario | undefined;
}

/** The brokers a scenario name belongs to: a name both brokers play (`daily-loss-reached`) is either's. */
export function scenarioBrokers(name: string): Broker[] {
  return (Object.keys(PAPER_SCENARIOS) as Broker[]).filter((broker) =>
    (PAPER_SCENARIOS[broker] as readonly string[]).includes(name),
  );
}

/**
 * `PAPER_SCENARIOS=read-only-token,revoked-refresh-token`: at most one per broker. A name both brokers play is played
 * by both (`daily-loss-reached`), unless it names its broker (`tinkoff:daily-loss-reached`).
 */
export function parsePaperScenarios(setting: string | undefined, name: string): PaperScenarios {
  const scenarios: { alor?: AlorPaperScenario; tinkoff?: TinkoffPaperScenario } = {};
  for (const entry of (setting ?? '')
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')) {
    const [named, scenario = ''] = entry.includes(':') ? entry.split(':', 2) : [undefined, entry];
    const brokers = scenarioBrokers(scenario).filter((broker) => named === undefined || broker === named);
    if (brokers.length === 0 || brokers.some((broker) => scenarios[broker] !== undefined)) {
      const known = [...new Set([...ALOR_PAPER_SCENARIOS, ...TINKOFF_PAPER_SCENARIOS])].join(', ');
      throw new ConfigError(
        `${name} takes at most one scenario per broker, of: ${known} (a name both brokers play, for one of them: tinkoff:<name>)`,
      );
    }
    for (const broker of brokers) Object.assign(scenarios, { [broker]: scenario });
  }
  return scenarios;
}

function share(
  ticker: string,
  classCode: string,
  figi: string,
  uid: string,
  lot: number,
  name: string,
  currency: string,
): PaperInstrument {
  return { ticker, classCode, figi, uid, lot, name, currency, instrumentType: 'share', apiTradeAvailableFlag: true };
}

export interface PaperBrokers {
  readonly alor: AlorPaperBroker;
  readonly tinkoff: TinkoffPaperBroker;
  close(): Promise<void>;
}

export interface PaperBrokersOptions {
  readonly alor?: Partial<AlorPaperOptions>;
  readonly tinkoff?: Partial<TinkoffPaperOptions>;
  readonly scenarios?: PaperScenarios;
}

/** Both paper brokers with the paper accounts and instrument lists; options override either. */
export async function startPaperBrokers(options: PaperBrokersOptions = {}): Promise<PaperBrokers> {
  const [alor, tinkoff] = await Promise.all([
    startAlorPaperBroker({
      accounts: { [PAPER_ALOR.refreshToken]: [PAPER_ALOR.portfolio] },
      instruments: PAPER_INSTRUMENTS.alor,
      lotSizes: ALOR_LOT_SIZES,
      scenario: options.scenarios?.alor,
      ...options.alor,
    }),
    startTinkoffPaperBroker({
      accounts: { [PAPER_TINKOFF.token]: [PAPER_TINKOFF.accountId] },
      instruments: PAPER_INSTRUMENTS.tinkoff,
      scenario: options.scenarios?.tinkoff,
      ...options.tinkoff,
    }),
  ]);
  return {
    alor,
    tinkoff,
    close: async () => {
      await Promise.all([alor.close(), tinkoff.close()]);
    },
  };
}
