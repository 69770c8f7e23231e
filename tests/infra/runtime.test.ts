import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { cdkBundlingOptions, esbuildOptions, LAMBDA_RUNTIME } from '../../infra/bundling.ts';
import { synth } from './synth.ts';

/**
 * The runtime every function runs on, in every stack of the app (the webhooks' and the nested one of the messages),
 * and the bundling target that goes with it. The other infra tests leave the runtime to this one.
 */

/** Every `AWS::Lambda::Function` of every stack in the app, by construct path of its stack and logical id. */
function functionRuntimes(app: ReturnType<typeof synth>['app']): Record<string, unknown> {
  const runtimes: Record<string, unknown> = {};
  for (const stack of app.node.findAll().filter(Stack.isStack)) {
    const functions = Template.fromStack(stack).findResources('AWS::Lambda::Function');
    for (const [id, resource] of Object.entries(functions)) {
      runtimes[`${stack.node.path}/${id}`] = resource.Properties.Runtime;
    }
  }
  return runtimes;
}

describe('the Lambda runtime', () => {
  it.each([
    ['the defaults of cdk.json', {}],
    ['the keep-warm schedule on and the AWS SDK in the store path', { keepWarmMinutes: 5, storeExtension: false }],
  ])('is nodejs24.x for every function of the app, with %s', (_case, overrides) => {
    const runtimes = functionRuntimes(synth(overrides).app);

    // The two webhooks, the notifier and the two follow-ups: no function the stacks add on their own.
    expect(Object.keys(runtimes)).toHaveLength(5);
    expect(new Set(Object.values(runtimes))).toEqual(new Set(['nodejs24.x']));
  });

  it('is what the bundles target: node24, in the CDK options and in the esbuild options alike', () => {
    expect(LAMBDA_RUNTIME.name).toBe('nodejs24.x');
    for (const bundleAwsSdk of [true, false]) {
      expect(cdkBundlingOptions({ bundleAwsSdk }).target).toBe('node24');
      expect(esbuildOptions('entry.ts', 'out.mjs', { bundleAwsSdk }).target).toBe('node24');
    }
  });
});
