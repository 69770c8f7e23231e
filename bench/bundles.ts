import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { BROKERS, type Broker } from '#shared/facts.ts';
import { BUNDLE_FILE_NAME, esbuildOptions } from '../infra/bundling.ts';

/**
 * Builds each function twice with the deployed esbuild options (`infra/bundling.ts`, the same the CDK construct and
 * `npm run build` use): once with the AWS SDK bundled, once with it external (the Lambda Node.js runtimes ship SDK
 * v3; locally node resolves `@aws-sdk/*` from `node_modules`). Output goes to `dist/bench/`, git-ignored.
 */

export const SDK_VARIANTS = ['sdkBundled', 'sdkExternal'] as const;
export type SdkVariant = (typeof SDK_VARIANTS)[number];

export interface BundleFigures {
  /** Path of the built `index.mjs`. */
  readonly file: string;
  /** Size of the minified JavaScript file (source map not counted: it is not loaded without `--enable-source-maps`). */
  readonly minifiedBytes: number;
  /** The same file gzip-compressed (zlib default level), roughly what the deployment zip holds. */
  readonly gzipBytes: number;
}

const root = new URL('../', import.meta.url);

async function bundle(entry: string, outDir: string, bundleAwsSdk: boolean): Promise<BundleFigures> {
  const file = fileURLToPath(new URL(`${outDir}/${BUNDLE_FILE_NAME}`, root));
  await build(esbuildOptions(fileURLToPath(new URL(entry, root)), file, { bundleAwsSdk }));
  const bytes = readFileSync(file);
  return { file, minifiedBytes: bytes.byteLength, gzipBytes: gzipSync(bytes).byteLength };
}

export function buildBundle(broker: Broker, variant: SdkVariant): Promise<BundleFigures> {
  return bundle(`functions/${broker}/handler.ts`, `dist/bench/${variant}/${broker}`, variant === 'sdkBundled');
}

export async function buildAllBundles(): Promise<Record<SdkVariant, Record<Broker, BundleFigures>>> {
  const result = {} as Record<SdkVariant, Record<Broker, BundleFigures>>;
  for (const variant of SDK_VARIANTS) {
    const perBroker = {} as Record<Broker, BundleFigures>;
    for (const broker of BROKERS) perBroker[broker] = await buildBundle(broker, variant);
    result[variant] = perBroker;
  }
  return result;
}

/**
 * The floor bundles, built with the same esbuild options as the functions: the floor the target is set against
 * (`bench/floor-handler.ts`, its secret from the environment) and the same with one store read at init
 * (`bench/floor-store-handler.ts`).
 */
export async function buildFloorBundles(): Promise<{ floor: BundleFigures; withStoreRead: BundleFigures }> {
  return {
    floor: await bundle('bench/floor-handler.ts', 'dist/bench/floor', true),
    withStoreRead: await bundle('bench/floor-store-handler.ts', 'dist/bench/floor-store', true),
  };
}
