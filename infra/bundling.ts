/**
 * The one definition of the Lambda runtime the functions run on and of how a function is bundled with esbuild.
 *
 * Used by the CDK construct (`infra/app-function.ts`, through {@link LAMBDA_RUNTIME} and
 * {@link cdkBundlingOptions}), by the bundle check (`tests/infra/bundle.test.ts`) and by any build script (through
 * {@link esbuildOptions}), so what is tested is what is deployed. Keep the two functions below in step: each option
 * appears in both.
 */

import { Runtime } from 'aws-cdk-lib/aws-lambda';
import { type BundlingOptions, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { BuildOptions } from 'esbuild';

/**
 * The runtime of every function: Node.js 24, the active LTS (Node 22 is in maintenance until April 2027, and Lambda
 * deprecates a runtime some time after that). Pinned rather than `Runtime.NODEJS_LATEST`, so that a CDK upgrade
 * never moves it without the bundling target. Node 24's runtime refuses a callback-style handler (one declared with a
 * third parameter): every entry in `functions/` exports an async one.
 */
export const LAMBDA_RUNTIME = Runtime.NODEJS_24_X;

/** esbuild target, from the runtime: `nodejs24.x` → `node24`. */
export const BUNDLE_TARGET = esbuildTarget(LAMBDA_RUNTIME.name);

function esbuildTarget(runtimeName: string): string {
  const major = /^nodejs(\d+)\.x$/.exec(runtimeName)?.[1];
  if (major === undefined) throw new Error(`not a Node.js Lambda runtime: ${runtimeName}`);
  return `node${major}`;
}

/** Prefer packages' ESM builds (the AWS SDK v3 ships one), which tree-shake better. */
export const BUNDLE_MAIN_FIELDS = ['module', 'main'];

/**
 * CommonJS code inside an ESM bundle (undici, parts of the AWS SDK) calls `require()` for Node built-ins, which
 * does not exist in an ES module. esbuild's shim falls back to a global `require` when there is one, so define it.
 */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __pppCreateRequire } from 'node:module'; const require = __pppCreateRequire(import.meta.url);";

/** What "leave the AWS SDK external" means: both the SDK clients and the Smithy runtime they are built on. */
export const AWS_SDK_EXTERNALS = ['@aws-sdk/*', '@smithy/*'];

/** Tells shared/store/sdk-on-demand.ts how to load the SDK: by package name when it is external, else from the bundle. */
function sdkDefine(bundleAwsSdk: boolean): Record<string, string> {
  return { PPP_AWS_SDK_EXTERNAL: JSON.stringify(!bundleAwsSdk) };
}

/**
 * esbuild's `keepNames` writes each function's name back at import, and each closure's every time a call makes one
 * (docs/performance.md#alternatives-tried measured it). A bundle
 * without the AWS SDK goes without it: the only names its code compares are built-in classes' (undici's typed-array
 * check), which are never renamed, zod only quotes names in messages, and the typed errors, whose names the log lines
 * carry, write theirs out (shared/errors.ts). A bundle with the SDK keeps names: the SDK tells its default logger by
 * its class name (`NoOpLogger`), and would send its own warnings nowhere if that name were minified.
 */
function keepNames(bundleAwsSdk: boolean): boolean {
  return bundleAwsSdk;
}

/** Name of the handler file in the asset; CDK writes `index.mjs` for ESM output. */
export const BUNDLE_FILE_NAME = 'index.mjs';

export interface BundleSettings {
  /**
   * `true`: the AWS SDK v3 is bundled into the asset. `false`: it is left external and the copy shipped by the
   * Lambda runtime is used (smaller asset, but the SDK version is whatever the runtime has).
   */
  readonly bundleAwsSdk: boolean;
}

/** Bundling options for `NodejsFunction`. */
export function cdkBundlingOptions({ bundleAwsSdk }: BundleSettings): BundlingOptions {
  return {
    format: OutputFormat.ESM,
    target: BUNDLE_TARGET,
    mainFields: BUNDLE_MAIN_FIELDS,
    banner: ESM_REQUIRE_BANNER,
    minify: true,
    keepNames: keepNames(bundleAwsSdk),
    sourceMap: true,
    sourcesContent: false,
    bundleAwsSDK: bundleAwsSdk,
    externalModules: bundleAwsSdk ? [] : [...AWS_SDK_EXTERNALS],
    define: sdkDefine(bundleAwsSdk),
  };
}

/** The same options for esbuild's JS API, to bundle `entry` into `outfile` outside CDK. */
export function esbuildOptions(entry: string, outfile: string, { bundleAwsSdk }: BundleSettings): BuildOptions {
  return {
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: BUNDLE_TARGET,
    mainFields: BUNDLE_MAIN_FIELDS,
    banner: { js: ESM_REQUIRE_BANNER },
    minify: true,
    keepNames: keepNames(bundleAwsSdk),
    sourcemap: true,
    sourcesContent: false,
    external: bundleAwsSdk ? [] : [...AWS_SDK_EXTERNALS],
    define: sdkDefine(bundleAwsSdk),
    logLevel: 'warning',
  };
}
