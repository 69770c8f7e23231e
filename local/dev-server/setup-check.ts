import * as z from 'zod';
import {
  type AlorPaperScenario,
  PAPER_SCENARIOS,
  type PaperScenarios,
  type TinkoffPaperScenario,
} from '#local/paper-broker/index.ts';
import { BROKERS, type Broker, LOCAL_ENV } from '#shared/facts.ts';
import { exitCode, type ShownChecklist, showChecklist } from '#shared/preflight/checklist.ts';
import { type PreflightSettings, runPreflight } from '#shared/preflight/run.ts';
import { LANGS } from '#shared/preflight/texts.ts';
import type { SecretStore } from '#shared/secrets.ts';
import type { LocalEnvironment } from './environment.ts';

/**
 * The console's "Check setup": `npm run preflight`'s checks of one function, against whatever it uses here (the paper
 * broker, or the real broker its token is set for), and the switch of the paper brokers' failure scenarios.
 */

export const SetupCheckQuerySchema = z.object({
  broker: z.enum(BROKERS),
  lang: z.enum(LANGS).default('en'),
  ticker: z.string().trim().min(1).max(64).optional(),
  figi: z.string().trim().min(1).max(64).optional(),
  /** `0` leaves out the reads of a ver 2 signal and its protection, which are checked by default. */
  positions: z.enum(['0', '1']).optional(),
});

export const ScenarioChangeSchema = z.strictObject({
  broker: z.enum(BROKERS),
  /** null switches the broker's scenario off. */
  scenario: z.string().nullable(),
});

export interface SetupCheckResult {
  readonly exitCode: 0 | 1 | 2;
  readonly checklist: ShownChecklist;
}

/** Each paper broker's scenarios, and the one it plays now (null: none); null for a broker that is real here. */
export type ScenarioState = Readonly<Record<Broker, { available: readonly string[]; current: string | null } | null>>;

export interface SetupCheck {
  run(query: z.output<typeof SetupCheckQuerySchema>): Promise<SetupCheckResult>;
  scenarios(): ScenarioState;
  /** False when the broker is real here or the scenario is not one of its own. */
  setScenario(change: z.output<typeof ScenarioChangeSchema>): boolean;
}

export function createSetupCheck(
  environment: LocalEnvironment,
  settings: PreflightSettings,
  store: SecretStore,
  env: NodeJS.ProcessEnv,
): SetupCheck {
  const { paper, modes } = environment;
  const current: { -readonly [B in keyof PaperScenarios]: PaperScenarios[B] } = { ...environment.scenarios };
  const onPaper = (broker: Broker) => modes[broker] === 'paper' && paper !== undefined;

  return {
    run: async ({ broker, lang, ticker, figi, positions }) => {
      // On paper, a refused token is tried on the paper sandbox; a real broker is compared as the command line does.
      const sandbox = onPaper('tinkoff') ? paper?.tinkoff.sandboxUrl : env[LOCAL_ENV.tinkoffSandboxApiUrl] || undefined;
      const [list] = await runPreflight(settings, {
        store,
        brokers: [broker],
        ticker,
        figi,
        tinkoffSandboxUrl: sandbox,
        positions: positions !== '0',
      });
      if (list === undefined) throw new Error('the preflight returned no checklist');
      return { exitCode: exitCode([list]), checklist: showChecklist(list, lang, 'local') };
    },
    scenarios: () =>
      Object.fromEntries(
        BROKERS.map((broker) => [
          broker,
          onPaper(broker) ? { available: PAPER_SCENARIOS[broker], current: current[broker] ?? null } : null,
        ]),
      ) as ScenarioState,
    setScenario: ({ broker, scenario }) => {
      if (paper === undefined || !onPaper(broker)) return false;
      if (scenario !== null && !(PAPER_SCENARIOS[broker] as readonly string[]).includes(scenario)) return false;
      if (broker === 'alor') {
        current.alor = (scenario ?? undefined) as AlorPaperScenario | undefined;
        paper.alor.setScenario(current.alor);
      } else {
        current.tinkoff = (scenario ?? undefined) as TinkoffPaperScenario | undefined;
        paper.tinkoff.setScenario(current.tinkoff);
      }
      return true;
    },
  };
}
