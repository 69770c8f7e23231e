/**
 * Synthesizes the real CDK app for the infra tests: the context of `cdk.json` (so tests see what `cdk synth` sees)
 * plus per-test overrides, with esbuild bundling skipped so a synth takes well under a second. The cloud assembly
 * goes to a temporary directory removed after the test file (a CDK app without `outdir` makes a `cdk.out*` directory
 * in the OS temp dir and leaves it there).
 */
import { readFileSync } from 'node:fs';
import type { AppProps, CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { createWebhooksApp, type WebhooksApp } from '../../infra/webhooks-app.ts';
import { createTempDir } from '../helpers/temp-dirs.ts';

const cdkJson = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as {
  context: Record<string, unknown>;
};

/** The context `cdk synth` uses, from `cdk.json`. */
export const CDK_JSON_CONTEXT: Readonly<Record<string, unknown>> = cdkJson.context;

export interface Synthesized extends WebhooksApp {
  readonly template: Template;
}

/** Builds the app with `cdk.json` context and `overrides`, without bundling, and returns its template. */
export function synth(overrides: Record<string, unknown> = {}, appProps: Omit<AppProps, 'context'> = {}): Synthesized {
  const built = createWebhooksApp({
    outdir: createTempDir('ppp-cdk-out-'),
    ...appProps,
    context: { ...CDK_JSON_CONTEXT, ...overrides, 'aws:cdk:bundling-stacks': [] },
  });
  return { ...built, template: Template.fromStack(built.stack) };
}

/** The CloudFormation logical id of `construct` (its default resource when it is an L2 construct). */
export function logicalId(stack: Stack, construct: IConstruct): string {
  return stack.getLogicalId((construct.node.defaultChild ?? construct) as CfnElement);
}
