import { Validations } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { synth } from './synth.ts';

/** Runs the AwsSolutions pack over the whole app and returns the unacknowledged findings. */
function nagFindings(app: ReturnType<typeof synth>['app']) {
  const report = new AwsSolutionsChecks(app).validateScope(app);
  return report.violations.map((violation) => ({
    rule: violation.ruleName,
    resources: violation.violatingResources.map((resource) => resource.constructPath),
  }));
}

/** Every acknowledgement in the app: construct path → rule id → reason. */
function acknowledgements(app: ReturnType<typeof synth>['app']) {
  const found: { path: string; rule: string; reason: string }[] = [];
  for (const construct of app.node.findAll()) {
    for (const entry of construct.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [rule, reason] of Object.entries(entry.data as Record<string, string>)) {
        found.push({ path: construct.node.path, rule: rule.replace(/^Annotation::/, ''), reason });
      }
    }
  }
  return found;
}

describe('cdk-nag AwsSolutions checks', () => {
  it('report no unacknowledged finding for the default configuration', () => {
    expect(nagFindings(synth().app)).toEqual([]);
  });

  it('leave no CDK error or warning annotation on the stack either', () => {
    const annotations = Annotations.fromStack(synth().stack);
    expect(annotations.findError('*', Match.anyValue())).toEqual([]);
    expect(annotations.findWarning('*', Match.anyValue())).toEqual([]);
  });

  it('report no unacknowledged finding with the keep-warm schedule on', () => {
    expect(nagFindings(synth({ keepWarmMinutes: 5 }).app)).toEqual([]);
  });

  it('report no unacknowledged finding with imported secrets, created parameters, an alarm e-mail and a pinned environment', () => {
    const { app } = synth({
      webhookSecretName: 'shared/webhook',
      alorRefreshTokenSecretName: 'brokers/alor',
      tinkoffTokenSecretName: 'brokers/tinkoff',
      alorPortfolio: 'D71111',
      tinkoffAccountId: '2000123456',
      alarmEmail: 'trader@example.com',
      account: '123456789012',
      region: 'eu-central-1',
    });
    expect(nagFindings(app)).toEqual([]);
  });

  it('fail the synth on a finding nobody acknowledged (the checks are live, not decorative)', () => {
    const built = synth();
    new Secret(built.stack, 'Unreviewed');
    expect(nagFindings(built.app)).toEqual([
      { rule: 'AwsSolutions-SMG4', resources: ['Webhooks/Unreviewed/Resource'] },
    ]);
    expect(() => built.app.synth({ force: true })).toThrow(/AwsSolutions-SMG4/);
  });

  it('find every function on the newest Node.js runtime the CDK knows, with no acknowledgement of that rule', () => {
    const { app } = synth({ keepWarmMinutes: 5 });
    const report = new AwsSolutionsChecks(app).validateScope(app);
    expect(report.violations.filter((violation) => violation.ruleName === 'AwsSolutions-L1')).toEqual([]);
    expect(acknowledgements(app).filter(({ rule }) => rule.startsWith('AwsSolutions-L1'))).toEqual([]);
  });

  it('accept exactly the reviewed findings, each with a written reason', () => {
    const found = acknowledgements(synth().app);
    expect(found.map(({ path, rule }) => `${path} ${rule}`).sort()).toEqual(
      [
        'Webhooks/AlorFunction/Role AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:<AlorFunctionLogsA856ADB5>:log-stream:*]',
        'Webhooks/AlorRefreshToken AwsSolutions-SMG4',
        'Webhooks/Api/POST--alor AwsSolutions-APIG4',
        'Webhooks/Api/POST--tinkoff AwsSolutions-APIG4',
        'Webhooks/Notifications/AlorFollowUp/Role AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:<AlorFollowUpLogsA03992AA>:log-stream:*]',
        'Webhooks/Notifications/Claims AwsSolutions-DDB3',
        'Webhooks/Notifications/Notifier/Role AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:<NotifierLogsEC358FAB>:log-stream:*]',
        'Webhooks/Notifications/TelegramBotToken AwsSolutions-SMG4',
        'Webhooks/Notifications/TinkoffFollowUp/Role AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:<TinkoffFollowUpLogs923434EA>:log-stream:*]',
        'Webhooks/TinkoffFunction/Role AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:<TinkoffFunctionLogs00485439>:log-stream:*]',
        'Webhooks/TinkoffToken AwsSolutions-SMG4',
        'Webhooks/WebhookSecret AwsSolutions-SMG4',
      ].sort(),
    );
    for (const { reason } of found) expect(reason.length).toBeGreaterThan(80);
  });
});
