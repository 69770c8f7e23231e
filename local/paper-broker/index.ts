import { type AlorPaperBroker, type AlorPaperOptions, startAlorPaperBroker } from './alor.ts';
import { startTinkoffPaperBroker, type TinkoffPaperBroker, type TinkoffPaperOptions } from './tinkoff.ts';

export type { AlorPaperBroker, AlorPaperOrder } from './alor.ts';
export type { OrderStateChange, PaperOrderStatus } from './order-state.ts';
export { PAPER_ORDER_STATUSES } from './order-state.ts';
export type { Fault } from './server.ts';
export type { TinkoffPaperBroker, TinkoffPaperOrder } from './tinkoff.ts';
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

export interface PaperBrokers {
  readonly alor: AlorPaperBroker;
  readonly tinkoff: TinkoffPaperBroker;
  close(): Promise<void>;
}

export interface PaperBrokersOptions {
  readonly alor?: Partial<AlorPaperOptions>;
  readonly tinkoff?: Partial<TinkoffPaperOptions>;
}

/** Both paper brokers with the paper accounts and instrument lists; options override either. */
export async function startPaperBrokers(options: PaperBrokersOptions = {}): Promise<PaperBrokers> {
  const [alor, tinkoff] = await Promise.all([
    startAlorPaperBroker({
      accounts: { [PAPER_ALOR.refreshToken]: [PAPER_ALOR.portfolio] },
      instruments: PAPER_INSTRUMENTS.alor,
      ...options.alor,
    }),
    startTinkoffPaperBroker({
      accounts: { [PAPER_TINKOFF.token]: [PAPER_TINKOFF.accountId] },
      instruments: PAPER_INSTRUMENTS.tinkoff,
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
