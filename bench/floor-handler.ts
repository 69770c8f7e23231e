import { floorHandler } from './floor.ts';

/** The floor the target is set against (docs/performance.md#targets): its secret comes from the environment. */
export const handler = floorHandler(Buffer.from(process.env.BENCH_WEBHOOK_SECRET ?? ''));
