import { en } from 'zod/locales';
import * as z from 'zod/mini';

/**
 * zod for the code the functions bundle: zod's smaller build, `zod/mini` (functions instead of methods, so a bundle
 * keeps only what it uses), with the English messages the classic build has by default (they name a bad field's
 * problem in the log line of a 400). Measured in docs/performance.md#alternatives-tried: about half of what classic zod cost a cold
 * start. The schemas of the functions import it from here; one import of classic `zod` in a function would bring
 * all of it back (tests/infra/bundle.test.ts checks).
 */
z.config(en());

export * from 'zod/mini';
