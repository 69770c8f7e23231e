import type { Dispatcher } from 'undici';
import { parseAcceptedSecrets } from '../auth/webhook-secrets.ts';
import type { ValueSource } from '../config.ts';
import { describeError } from '../errors.ts';
import type { Broker } from '../facts.ts';
import { OK_BODY } from '../http/inbound/response.ts';
import { endpoint, sendHttpRequest } from '../http/outbound/client.ts';
import { createDeadline } from '../http/outbound/deadline.ts';
import { SELF_TEST_EVENT, type SelfTestReport, type SelfTestValue, type SelfTestWay } from '../store/self-test.ts';
import { type Check, check } from './checklist.ts';
import type { ValueReader } from './run.ts';

/**
 * The post-deploy proof of `npm run preflight -- --deployed`: each deployed webhook function called as a signal would
 * call it, a `check` through its URL (so the store extension, its session token and the webhook secret are in place),
 * and its store self-test started by a direct Lambda Invoke with the trader's own credentials (shared/store/self-test.ts):
 * each value read once through the extension, once through the runtime's AWS SDK. Nothing is ordered.
 */

/** The stack's outputs the proof reads (infra/gateway-stack.ts). */
export const STACK_OUTPUTS: Readonly<Record<Broker, { readonly url: string; readonly functionName: string }>> = {
  alor: { url: 'AlorWebhookUrl', functionName: 'AlorFunctionName' },
  tinkoff: { url: 'TinkoffWebhookUrl', functionName: 'TinkoffFunctionName' },
};

/** The AWS calls of the proof, made with the trader's credentials: CloudFormation and Lambda. */
export interface DeployedStackAccess {
  /** The stack's outputs; `undefined` when there is no such stack. */
  readonly outputs: (stackName: string) => Promise<Readonly<Record<string, string>> | undefined>;
  /** A direct Invoke: the function's result, or its error type when it failed. */
  readonly invoke: (functionName: string, event: unknown) => Promise<{ result: unknown } | { functionError: string }>;
}

export interface DeployedProofOptions {
  readonly stackName: string;
  readonly webhookSecret: ValueSource;
  readonly store: ValueReader;
  readonly access: DeployedStackAccess;
  readonly dispatcher: Dispatcher;
}

/** A cold function may read its store and load its code before it answers: a check gets this long. */
const CHECK_TIMEOUT_MS = 10_000;
const VALUE_NAMES: Readonly<Record<SelfTestValue, string>> = {
  webhookSecret: 'webhook-secret',
  credential: 'token',
  account: 'account',
};

function failures(way: SelfTestWay): string {
  return (Object.entries(way.reads) as [SelfTestValue, SelfTestWay['reads'][SelfTestValue]][])
    .flatMap(([name, read]) => (read.result === 'failed' ? [`${VALUE_NAMES[name]}: ${read.reason}`] : []))
    .join('; ');
}

function isReport(value: unknown): value is SelfTestReport {
  const report = value as Partial<SelfTestReport> | null;
  return report?.selfTest === 'store' && report.extension?.reads !== undefined && report.sdk?.reads !== undefined;
}

/** The self-test's report as checks: which way of reading the store works. */
function selfTestChecks(broker: Broker, functionName: string, report: SelfTestReport): Check[] {
  const extension = failures(report.extension);
  const sdk = failures(report.sdk);
  const fn = { broker, function: functionName };
  return [
    extension === ''
      ? check('function-store-extension-works', fn)
      : check('function-store-extension-fails', { ...fn, detail: extension }),
    sdk === '' ? check('function-store-sdk-works', fn) : check('function-store-sdk-fails', { ...fn, detail: sdk }),
    ...(extension !== '' && sdk !== '' ? [check('function-store-unreadable', fn)] : []),
  ];
}

async function callCheck(broker: Broker, url: string, secret: string, dispatcher: Dispatcher): Promise<Check> {
  try {
    const target = new URL(url);
    const response = await sendHttpRequest(dispatcher, {
      endpoint: endpoint(target.origin, target.pathname),
      headers: { 'x-webhook-secret': secret },
      body: '{"check":true}',
      deadline: createDeadline(CHECK_TIMEOUT_MS),
      idempotent: true,
    });
    const answer = `${response.statusCode} ${response.text.slice(0, 100)}`;
    return response.statusCode === 200 && response.text === OK_BODY
      ? check('function-check-answered', { broker, url })
      : check('function-check-refused', { broker, url, answer, status: response.statusCode });
  } catch (error) {
    return check('function-check-unreachable', {
      broker,
      url,
      detail: describeError(error).code ?? describeError(error).name,
    });
  }
}

/** The proof for each broker's function: the check through its URL, then the store self-test. */
export async function deployedFunctionChecks(
  brokers: readonly Broker[],
  options: DeployedProofOptions,
): Promise<Map<Broker, Check[]>> {
  const lists = new Map<Broker, Check[]>(brokers.map((broker) => [broker, []]));
  const all = (item: (broker: Broker) => Check) => {
    for (const broker of brokers) lists.get(broker)?.push(item(broker));
    return lists;
  };
  let outputs: Readonly<Record<string, string>> | undefined;
  try {
    outputs = await options.access.outputs(options.stackName);
  } catch (error) {
    return all((broker) =>
      check('stack-unreadable', { broker, stack: options.stackName, error: describeError(error).name }),
    );
  }
  if (outputs === undefined) return all((broker) => check('stack-not-found', { broker, stack: options.stackName }));
  let secret: string | undefined;
  try {
    secret = parseAcceptedSecrets(await options.store.readSecret(options.webhookSecret))[0];
  } catch {
    secret = undefined;
  }

  await Promise.all(
    brokers.map(async (broker) => {
      const list = lists.get(broker) ?? [];
      const url = outputs[STACK_OUTPUTS[broker].url];
      const functionName = outputs[STACK_OUTPUTS[broker].functionName];
      if (url === undefined || functionName === undefined) {
        list.push(check('stack-outdated', { broker, stack: options.stackName }));
        return;
      }
      list.push(
        secret === undefined
          ? check('function-check-no-secret', { broker, url })
          : await callCheck(broker, url, secret, options.dispatcher),
      );
      try {
        const invoked = await options.access.invoke(functionName, SELF_TEST_EVENT);
        if ('functionError' in invoked || !isReport(invoked.result)) {
          const detail = 'functionError' in invoked ? invoked.functionError : 'not a self-test report';
          list.push(check('function-self-test-failed', { broker, function: functionName, detail }));
          return;
        }
        list.push(...selfTestChecks(broker, functionName, invoked.result));
      } catch (error) {
        list.push(
          check('function-self-test-failed', { broker, function: functionName, detail: describeError(error).name }),
        );
      }
    }),
  );
  return lists;
}
