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
  startTinkoffPaperBroker,
  TINKOFF_PAPER_SCENARIOS,
  type TinkoffPaperBroker,
  type TinkoffPaperOptions,
  type TinkoffPaperScenario,
} from './tinkoff.ts';

export type { AlorPaperBroker, AlorPaperOrder, AlorPaperScenario } from './alor.ts';
export type { Fault } from './server.ts';
export type { TinkoffPaperBroker, TinkoffPaperOrder, TinkoffPaperScenario } from './tinkoff.ts';
export { startAlorPaperBroker, startTinkoffPaperBroker };

/** The paper accounts `npm start` and the tests trade on: obvious fakes, never real credentials. */
export const PAPER_ALOR = { refreshToken: 'paper-alor-refresh-token', portfolio: 'D00000' } as const;
export const PAPER_TINKOFF = { token: 'paper-tinvest-token', accountId: '2000000000' } as const;

/** A few real instruments, so a typo in a FIGI or symbol is refused as the broker would. */
export const PAPER_INSTRUMENTS = {
  alor: {
    MOEX: ['SBER', 'GAZP', 'LKOH', 'YDEX', 'SiZ6'],
    SPBX: ['AAPL', 'MSFT', 'BRK B', 'TSLA', 'NVDA'],
  },
  tinkoff: {
    BBG004730N88: 'SBER',
    BBG004730RP0: 'GAZP',
    BBG000B9XRY4: 'AAPL',
    BBG000BPH459: 'MSFT',
    BBG000DWG505: 'BRK.B',
  },
} as const;

/** Lot sizes as the exchanges have them: a signal's `v` is lots, so the preflight shows them. */
export const PAPER_LOT_SIZES = {
  alor: { SBER: 10, GAZP: 10 },
  tinkoff: { BBG004730N88: 10, BBG004730RP0: 10 },
} as const;

/** Each broker's failure scenarios, by broker: the names `PAPER_SCENARIOS` and the console switch. */
export const PAPER_SCENARIOS = { alor: ALOR_PAPER_SCENARIOS, tinkoff: TINKOFF_PAPER_SCENARIOS } as const;

export interface PaperScenarios {
  readonly alor?: AlorPaperScenario | undefined;
  readonly tinkoff?: TinkoffPaperScenario | undefined;
}

/** The broker a scenario name belongs to (the names are unique across brokers), or undefined for an unknown name. */
export function scenarioBroker(name: string): Broker | undefined {
  if ((ALOR_PAPER_SCENARIOS as readonly string[]).includes(name)) return 'alor';
  return (TINKOFF_PAPER_SCENARIOS as readonly string[]).includes(name) ? 'tinkoff' : undefined;
}

/** `PAPER_SCENARIOS=read-only-token,revoked-refresh-token`: at most one per broker. */
export function parsePaperScenarios(setting: string | undefined, name: string): PaperScenarios {
  const scenarios: { alor?: AlorPaperScenario; tinkoff?: TinkoffPaperScenario } = {};
  for (const scenario of (setting ?? '')
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')) {
    const broker = scenarioBroker(scenario);
    if (broker === undefined || scenarios[broker] !== undefined) {
      const known = [...ALOR_PAPER_SCENARIOS, ...TINKOFF_PAPER_SCENARIOS].join(', ');
      throw new ConfigError(`${name} takes at most one scenario per broker, of: ${known}`);
    }
    Object.assign(scenarios, { [broker]: scenario });
  }
  return scenarios;
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
      lotSizes: PAPER_LOT_SIZES.alor,
      scenario: options.scenarios?.alor,
      ...options.alor,
    }),
    startTinkoffPaperBroker({
      accounts: { [PAPER_TINKOFF.token]: [PAPER_TINKOFF.accountId] },
      instruments: PAPER_INSTRUMENTS.tinkoff,
      lots: PAPER_LOT_SIZES.tinkoff,
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
