import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../scripts/context.ts';
import { run } from '../../scripts/kill.ts';

/**
 * `npm run kill` (docs/contract.md#kill-switch) with mocked AWS clients: the parameter it writes, what it says, and
 * where it stops. The switch stopping the next entry, and the Telegram message, are shown against the fake store in
 * tests/integration/guards.test.ts.
 */

const secretsManager = mockClient(SecretsManagerClient);
const ssm = mockClient(SSMClient);
const clients = () => ({ secretsManager: new SecretsManagerClient({}), ssm: new SSMClient({}) });

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (text: string) => out.push(text), err: (text: string) => err.push(text) }, out, err };
}

describe('scripts/kill.ts', () => {
  beforeEach(() => {
    secretsManager.reset();
    ssm.reset();
  });

  it("writes on to the stack's parameter, and says no message went out when no bot is stored", async () => {
    ssm.on(PutParameterCommand).resolves({ Version: 2 });
    ssm.on(GetParameterCommand).rejects(Object.assign(new Error('not found'), { name: 'ParameterNotFound' }));
    const { io: streams, out } = io();

    await expect(run(['on', '-c', 'resourcePrefix=desk'], {}, streams, clients)).resolves.toBe(0);

    expect(ssm.commandCalls(PutParameterCommand).map((call) => call.args[0].input)).toEqual([
      { Name: '/desk/kill-switch', Value: 'on', Type: 'String', Overwrite: true },
    ]);
    expect(out).toEqual([
      'Kill switch ON for PppWebhooks (/desk/kill-switch = on): every entry is refused within 5 s; exits (a close, a smaller position) pass.',
      'No Telegram message: the stack has no bot token and chat id stored (npm run secrets -- set telegram-bot-token).',
    ]);
  });

  it('says the state the functions read: off when the parameter is not set', async () => {
    ssm.on(GetParameterCommand).rejects(Object.assign(new Error('not found'), { name: 'ParameterNotFound' }));
    const { io: streams, out } = io();

    await expect(run(['status'], {}, streams, clients)).resolves.toBe(0);

    expect(out).toEqual(['Kill switch OFF for PppWebhooks (/ppp-webhooks/kill-switch not set).']);
  });

  it('refuses to run for a deployment without a kill switch, and on a wrong command line', async () => {
    const { io: streams, err } = io();

    await expect(run(['on', '-c', 'killSwitch=false'], {}, streams, clients)).resolves.toBe(2);
    expect(err).toEqual([
      'PppWebhooks reads no kill switch (context killSwitch is false): deploy with -c killSwitch=true to have one',
    ]);
    await expect(run(['maybe'], {}, streams, clients)).rejects.toThrow(UsageError);
    await expect(run([], {}, streams, clients)).rejects.toThrow('usage: npm run kill -- on|off|status');
    expect(ssm.commandCalls(PutParameterCommand)).toEqual([]);
  });
});
