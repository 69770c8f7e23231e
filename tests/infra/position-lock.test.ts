import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { BROKERS } from '#shared/facts.ts';
import { logicalId, synth } from './synth.ts';

/**
 * docs/contract.md#position-lock in the deployed stack: one DynamoDB table of leases, each webhook function told its
 * name and allowed to take and give back only its own broker's leases, nothing else of the table.
 */

describe('GatewayStack: the position lock', () => {
  const built = synth();
  const { template, stack } = built;
  const tableId = logicalId(stack, stack.positionLocks);

  it('is one on-demand table keyed by pk, its expired leases removed by TTL, encrypted, and removed with the stack', () => {
    const tables = template.findResources('AWS::DynamoDB::Table');
    expect(Object.keys(tables)).toEqual([tableId]);
    expect(tables[tableId]).toMatchObject({
      DeletionPolicy: 'Delete',
      Properties: {
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
        SSESpecification: { SSEEnabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      },
    });
  });

  it.each(BROKERS)(
    "tells the %s function the table, and lets it put, delete and update (the day's order count) only items of its own broker",
    (broker) => {
      const resources = template.toJSON().Resources;
      const fn = resources[logicalId(stack, stack[broker].function)].Properties;
      expect(fn.Environment.Variables.POSITION_LOCK_TABLE).toEqual({ Ref: tableId });

      const statements = resources[logicalId(stack, stack[broker].role)].Properties.Policies.flatMap(
        (policy: { PolicyDocument: { Statement: { Action: string | string[]; Resource: unknown }[] } }) =>
          policy.PolicyDocument.Statement,
      );
      const onTable = statements.filter((statement: { Resource: unknown }) =>
        JSON.stringify(statement.Resource).includes(tableId),
      );
      expect(onTable).toEqual([
        {
          Sid: 'LockPositions',
          Effect: 'Allow',
          Action: ['dynamodb:PutItem', 'dynamodb:UpdateItem'],
          Resource: { 'Fn::GetAtt': [tableId, 'Arn'] },
          Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${broker}#*`] } },
        },
      ]);
    },
  );

  it('gives no other function of the stack access to the table', () => {
    const nested = JSON.stringify(Template.fromStack(stack.notifications).toJSON());
    expect(nested).not.toContain('PositionLocks');
    const grants = Object.values(template.findResources('AWS::IAM::Role')).filter((role) =>
      JSON.stringify(role).includes(tableId),
    );
    expect(grants).toHaveLength(BROKERS.length);
  });
});
