import { ArnFormat, RemovalPolicy, type Stack } from 'aws-cdk-lib';
import { CfnSecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { StringParameter } from 'aws-cdk-lib/aws-ssm';
import { WEBHOOK_SECRET_LENGTH } from '../shared/facts.ts';
import type { ParameterRef, SecretRef } from './config.ts';

/**
 * The secrets and parameters a stack uses: created by it (without a value, or with a generated one), or referenced by
 * name. Values never pass through here: `npm run secrets` puts them into the stores after the deploy.
 */

/** How a function finds one secret (env value) and what its role is granted on (policy resource). */
export interface SecretAccess {
  readonly envValue: string;
  readonly policyArn: string;
}

/**
 * Creates the secret, or references an existing one by name (the policy then needs the `-??????` suffix Secrets Manager
 * appends). A created secret gets a generated value only when `generateValue`; otherwise it has none until `npm run
 * secrets -- set`, and a function reading it finds it absent.
 */
export function storedSecret(
  stack: Stack,
  id: string,
  ref: SecretRef,
  description: string,
  generateValue: boolean,
): SecretAccess {
  if (!ref.created) {
    const partialArn = stack.formatArn({
      service: 'secretsmanager',
      resource: 'secret',
      resourceName: ref.name,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    return { envValue: ref.name, policyArn: `${partialArn}-??????` };
  }
  if (generateValue) {
    const secret = new Secret(stack, id, {
      secretName: ref.name,
      description,
      generateSecretString: { passwordLength: WEBHOOK_SECRET_LENGTH, excludePunctuation: true, includeSpace: false },
      removalPolicy: RemovalPolicy.DESTROY,
    });
    return { envValue: secret.secretArn, policyArn: secret.secretArn };
  }
  // CfnSecret, because the Secret construct always adds a GenerateSecretString.
  const secret = new CfnSecret(stack, id, { name: ref.name, description });
  secret.applyRemovalPolicy(RemovalPolicy.DESTROY);
  return { envValue: secret.ref, policyArn: secret.ref };
}

/** Creates the parameter when context gives its value; returns its exact ARN either way. */
export function storedParameter(stack: Stack, id: string, ref: ParameterRef, description: string): string {
  if (ref.value !== undefined) {
    const parameter = new StringParameter(stack, id, { parameterName: ref.name, stringValue: ref.value, description });
    parameter.applyRemovalPolicy(RemovalPolicy.DESTROY);
  }
  return stack.formatArn({ service: 'ssm', resource: 'parameter', resourceName: ref.name.slice(1) });
}
