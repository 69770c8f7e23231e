import { App, type AppProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { type NotifyConfig, readConfig, readNotifyConfig, type WebhooksConfig } from './config.ts';
import { GatewayStack } from './gateway-stack.ts';

export interface WebhooksApp {
  readonly app: App;
  readonly stack: GatewayStack;
  readonly config: WebhooksConfig;
  readonly notify: NotifyConfig;
}

/**
 * Builds the CDK app: reads the configuration from context, adds the one stack, and runs the cdk-nag `AwsSolutions`
 * checks on it (cdk-nag 3 is a CDK validation plugin: findings the stack does not acknowledge with a reason fail
 * the synth).
 * `infra/app.ts` calls this for `cdk synth`/`deploy`; the infra tests call it with their own context.
 */
export function createWebhooksApp(props: AppProps = {}): WebhooksApp {
  const app = new App(props);
  const config = readConfig((key) => app.node.tryGetContext(key));
  const notify = readNotifyConfig((key) => app.node.tryGetContext(key));
  const stack = new GatewayStack(app, 'Webhooks', {
    stackName: config.stackName,
    description: 'PPP webhooks: Alor and T-Invest limit orders behind one HTTP API',
    config,
    notify,
    ...(Object.keys(config.env).length > 0 ? { env: config.env } : {}),
  });
  // writeSuppressionsToCloudFormation: the reason of every acknowledged finding is also written into the template.
  Validations.of(app).addPlugins(
    new AwsSolutionsChecks(app, { verbose: true, writeSuppressionsToCloudFormation: true }),
  );
  return { app, stack, config, notify };
}
