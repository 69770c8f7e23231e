/**
 * `npm run build`: bundles both functions into `dist/<broker>/index.mjs` exactly as `cdk deploy` does (the options
 * come from `infra/bundling.ts`, the AWS SDK choice from `cdk.json` context `bundleAwsSdk`, overridable with
 * `-c bundleAwsSdk=false`). Useful to inspect or measure the artefact without CDK.
 */
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { checkNodeSupport } from '#local/node-support.ts';
import { BROKERS } from '#shared/facts.ts';
import { BUNDLE_FILE_NAME, esbuildOptions } from '../infra/bundling.ts';
import { readConfig } from '../infra/config.ts';
import { loadContext, parseArgs } from './context.ts';

checkNodeSupport();
const root = new URL('../', import.meta.url);
const { context } = parseArgs(process.argv.slice(2));
const ctx = loadContext(new URL('cdk.json', root), context);
const { bundleAwsSdk } = readConfig((key) => ctx[key]);

rmSync(new URL('dist/', root), { recursive: true, force: true });
for (const broker of BROKERS) {
  const entry = fileURLToPath(new URL(`functions/${broker}/handler.ts`, root));
  const outfile = fileURLToPath(new URL(`dist/${broker}/${BUNDLE_FILE_NAME}`, root));
  const { metafile } = await build({ ...esbuildOptions(entry, outfile, { bundleAwsSdk }), metafile: true });
  const bytes = Object.values(metafile.outputs).find((output) => output.entryPoint !== undefined)?.bytes ?? 0;
  process.stdout.write(
    `${outfile}  ${(bytes / 1024).toFixed(0)} KiB  (AWS SDK ${bundleAwsSdk ? 'bundled' : 'external'})\n`,
  );
}
