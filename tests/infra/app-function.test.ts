import { fileURLToPath } from 'node:url';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { AppFunction, type AppFunctionProps } from '../../infra/app-function.ts';
import { LAMBDA_RUNTIME } from '../../infra/bundling.ts';
import { createTempDir } from '../helpers/temp-dirs.ts';

const props: AppFunctionProps = {
  entry: fileURLToPath(new URL('../../functions/alor/handler.ts', import.meta.url)),
  environment: { WEBHOOK_SECRET_ID: 'webhook' },
  readableSecretArns: ['arn:aws:secretsmanager:eu-central-1:123456789012:secret:webhook-AbCdEf'],
};

function build(overrides: Partial<AppFunctionProps>) {
  const stack = new Stack(
    new App({ outdir: createTempDir('ppp-cdk-out-'), context: { 'aws:cdk:bundling-stacks': [] } }),
    'Test',
  );
  return () => new AppFunction(stack, 'Fn', { ...props, ...overrides });
}

describe('AppFunction', () => {
  it('refuses a timeout that API Gateway would cut off first', () => {
    expect(build({ timeout: Duration.seconds(30) })).toThrow(
      'Test/Fn: timeout must be below the API Gateway integration timeout of 30 s; got 30 s',
    );
  });

  it('refuses a memory size Lambda does not offer', () => {
    expect(build({ memorySize: 64 })).toThrow('Test/Fn: memorySize must be an integer from 128 to 10240 MB; got 64');
  });

  it('refuses a wildcard in a secret or parameter ARN', () => {
    expect(build({ readableParameterArns: ['arn:aws:ssm:eu-central-1:123456789012:parameter/*'] })).toThrow(
      'Test/Fn: secret and parameter ARNs must be exact, without "*"; got "arn:aws:ssm:eu-central-1:123456789012:parameter/*"',
    );
  });

  it('refuses to run without the webhook secret', () => {
    expect(build({ readableSecretArns: [] })).toThrow(
      'Test/Fn: readableSecretArns must name at least the webhook secret',
    );
  });

  it('builds with only the required props', () => {
    expect(build({})().function.runtime).toBe(LAMBDA_RUNTIME);
  });
});
