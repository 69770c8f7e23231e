import { floorHandler } from './floor.ts';

/** The floor the target is set against (README.md#performance): its secret comes from the environment. */
export const handler = floorHandler(Buffer.from(process.env.BENCH_WEBHOOK_SECRET ?? ''));
