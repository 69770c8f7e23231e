import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, ParameterNotFound, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { ValueSource } from '#shared/config.ts';
import { createDeadline } from '#shared/http/outbound/deadline.ts';
import { redact } from '#shared/logging.ts';
import type { StoreClients } from '#shared/store/sdk.ts';
import { loadedStoreSdk } from '#shared/store/sdk-modules.ts';
import { ValueStore } from '#shared/store/value-store.ts';
import { allOutput, logLines } from '../helpers/logs.ts';

const secretsManager = mockClient(SecretsManagerClient);
const ssm = mockClient(SSMClient);

const TTL_MS = 5 * 60_000;
const SECRET_ID = 'ppp/alor-refresh-token';
const PARAMETER_NAME = '/ppp/alor/portfolio';
const SECRET: ValueSource = { kind: 'secret', id: SECRET_ID };
const PARAMETER: ValueSource = { kind: 'parameter', name: PARAMETER_NAME };

let sequence = 0;
/** A value no other test registered for redaction. */
function uniqueSecret(label = 'secret'): string {
  sequence += 1;
  return `${label}-value-${sequence}-9f8e7d6c`;
}

function clients(): StoreClients {
  return {
    secretsManager: new SecretsManagerClient({ region: 'eu-central-1' }),
    ssm: new SSMClient({ region: 'eu-central-1' }),
  };
}

function storeAt(start = 1_000_000, ttlMs = TTL_MS) {
  let now = start;
  const store = new ValueStore({ ttlMs, sdk: loadedStoreSdk, clients, now: () => now });
  return { store, advance: (ms: number) => (now += ms) };
}

function notFound(): ResourceNotFoundException {
  return new ResourceNotFoundException({ message: "Secrets Manager can't find the specified secret.", $metadata: {} });
}

function accessDenied(): Error {
  return Object.assign(new Error(`User is not authorized to perform GetSecretValue on ${SECRET_ID}`), {
    name: 'AccessDeniedException',
  });
}

beforeEach(() => {
  secretsManager.reset();
  ssm.reset();
});

describe('ValueStore.readSecret', () => {
  it('reads a secret from Secrets Manager by id', async () => {
    const value = uniqueSecret();
    secretsManager.on(GetSecretValueCommand, { SecretId: SECRET_ID }).resolves({ SecretString: value });
    const { store } = storeAt();

    expect(await store.readSecret(SECRET)).toBe(value);
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it('serves the cached value within the TTL without calling the store', async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: uniqueSecret() });
    const { store, advance } = storeAt();

    const first = await store.readSecret(SECRET);
    advance(TTL_MS - 1);
    const second = await store.readSecret(SECRET);

    expect(second).toBe(first);
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it('re-reads after the TTL, so a rotated value is picked up', async () => {
    const old = uniqueSecret('old');
    const rotated = uniqueSecret('rotated');
    secretsManager.on(GetSecretValueCommand).resolvesOnce({ SecretString: old }).resolves({ SecretString: rotated });
    const { store, advance } = storeAt();

    await store.readSecret(SECRET);
    advance(TTL_MS);
    const after = await store.readSecret(SECRET);

    expect(after).toBe(rotated);
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it.each([
    ['ResourceNotFoundException', () => secretsManager.on(GetSecretValueCommand).rejects(notFound())],
    ['an empty SecretString', () => secretsManager.on(GetSecretValueCommand).resolves({ SecretString: '' })],
    ['a blank SecretString', () => secretsManager.on(GetSecretValueCommand).resolves({ SecretString: ' \n ' })],
    ['no SecretString (a binary secret)', () => secretsManager.on(GetSecretValueCommand).resolves({})],
  ])('reads %s as absent (undefined)', async (_case, arrange) => {
    arrange();
    const { store } = storeAt();

    expect(await store.readSecret(SECRET)).toBeUndefined();
  });

  it('keeps an absent value for at most 30 s, so a secret set after a 404 works soon', async () => {
    const value = uniqueSecret();
    secretsManager.on(GetSecretValueCommand).rejectsOnce(notFound()).resolves({ SecretString: value });
    const { store, advance } = storeAt();

    await store.readSecret(SECRET);
    advance(29_999);
    const stillAbsent = await store.readSecret(SECRET);
    advance(1);
    const set = await store.readSecret(SECRET);

    expect(stillAbsent).toBeUndefined();
    expect(set).toBe(value);
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('keeps an absent value no longer than a TTL shorter than 30 s', async () => {
    secretsManager.on(GetSecretValueCommand).rejects(notFound());
    const { store, advance } = storeAt(0, 10_000);

    await store.readSecret(SECRET);
    advance(10_000);
    await store.readSecret(SECRET);

    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('throws a store error that is not "absent", and caches nothing', async () => {
    secretsManager.on(GetSecretValueCommand).rejects(accessDenied());
    const { store } = storeAt();

    await expect(store.readSecret(SECRET)).rejects.toMatchObject({ name: 'AccessDeniedException' });
    await expect(store.readSecret(SECRET)).rejects.toMatchObject({ name: 'AccessDeniedException' });
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('serves the last value when a re-read fails, and logs why without the value', async () => {
    const value = uniqueSecret();
    secretsManager.on(GetSecretValueCommand).resolvesOnce({ SecretString: value }).rejects(accessDenied());
    const { store, advance } = storeAt();

    await store.readSecret(SECRET);
    advance(TTL_MS);
    const stale = await store.readSecret(SECRET);

    expect(stale).toBe(value);
    expect(logLines()).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        message: 'secret store read failed, serving the cached value',
        key: `secret:${SECRET_ID}`,
        error: { name: 'AccessDeniedException' },
      }),
    );
    expect(allOutput()).not.toContain(value);
    expect(allOutput()).not.toContain('not authorized');
  });

  it('asks a failing store again only after 30 s, serving the last value meanwhile', async () => {
    const value = uniqueSecret();
    const rotated = uniqueSecret('rotated');
    secretsManager
      .on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: value })
      .rejectsOnce(accessDenied())
      .resolves({ SecretString: rotated });
    const { store, advance } = storeAt();

    await store.readSecret(SECRET);
    advance(TTL_MS);
    await store.readSecret(SECRET); // fails, serves the last value
    advance(29_999);
    const duringOutage = await store.readSecret(SECRET);
    advance(1);
    const recovered = await store.readSecret(SECRET);

    expect(duringOutage).toBe(value);
    expect(recovered).toBe(rotated);
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(3);
  });

  it('does not serve an absent value in place of a failed re-read: the failure is thrown', async () => {
    secretsManager.on(GetSecretValueCommand).rejectsOnce(notFound()).rejects(accessDenied());
    const { store, advance } = storeAt();

    await store.readSecret(SECRET);
    advance(30_000);

    await expect(store.readSecret(SECRET)).rejects.toMatchObject({ name: 'AccessDeniedException' });
  });

  it('shares one store call among concurrent reads', async () => {
    const value = uniqueSecret();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    secretsManager.on(GetSecretValueCommand).callsFake(async () => {
      await gate;
      return { SecretString: value };
    });
    const { store } = storeAt();

    const reads = Array.from({ length: 5 }, () => store.readSecret(SECRET));
    release();

    expect(await Promise.all(reads)).toEqual(Array.from({ length: 5 }, () => value));
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it('caches by secret id', async () => {
    secretsManager.on(GetSecretValueCommand, { SecretId: 'a' }).resolves({ SecretString: 'value-of-a-123' });
    secretsManager.on(GetSecretValueCommand, { SecretId: 'b' }).resolves({ SecretString: 'value-of-b-456' });
    const { store } = storeAt();

    expect(await store.readSecret({ kind: 'secret', id: 'a' })).toBe('value-of-a-123');
    expect(await store.readSecret({ kind: 'secret', id: 'b' })).toBe('value-of-b-456');
  });

  it('registers the value for redaction from every log line', async () => {
    const value = uniqueSecret();
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: value });
    const { store } = storeAt();

    expect(redact(`token=${value};`)).toBe(`token=${value};`);
    await store.readSecret(SECRET);

    expect(redact(`token=${value};`)).toBe('token=[redacted];');
  });

  it('registers each value of a multi-line secret', async () => {
    const current = uniqueSecret('current');
    const next = uniqueSecret('next');
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: `${current}\r\n  ${next}\n` });
    const { store } = storeAt();

    await store.readSecret(SECRET);

    expect(redact(`${current} ${next}`)).toBe('[redacted] [redacted]');
  });

  it('registers each value of a JSON-array secret', async () => {
    const current = uniqueSecret('current');
    const next = uniqueSecret('next');
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify([current, next]) });
    const { store } = storeAt();

    await store.readSecret(SECRET);

    expect(redact(`a ${current} b ${next}`)).toBe('a [redacted] b [redacted]');
  });
});

describe('ValueStore.readParameter', () => {
  it('reads an SSM parameter by name, with decryption', async () => {
    ssm
      .on(GetParameterCommand, { Name: PARAMETER_NAME, WithDecryption: true })
      .resolves({ Parameter: { Name: PARAMETER_NAME, Type: 'String', Value: 'D71111', Version: 1 } });
    const { store } = storeAt();

    expect(await store.readParameter(PARAMETER)).toBe('D71111');
    expect(ssm.commandCalls(GetParameterCommand)[0]?.args[0].input).toEqual({
      Name: PARAMETER_NAME,
      WithDecryption: true,
    });
  });

  it('caches the parameter within the TTL', async () => {
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: 'D71111' } });
    const { store, advance } = storeAt();

    await store.readParameter(PARAMETER);
    advance(TTL_MS - 1);
    await store.readParameter(PARAMETER);

    expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(1);
  });

  it.each([
    [
      'ParameterNotFound',
      () => ssm.on(GetParameterCommand).rejects(new ParameterNotFound({ message: 'x', $metadata: {} })),
    ],
    ['an empty value', () => ssm.on(GetParameterCommand).resolves({ Parameter: { Value: '' } })],
    ['no Parameter', () => ssm.on(GetParameterCommand).resolves({})],
  ])('reads %s as absent (undefined)', async (_case, arrange) => {
    arrange();
    const { store } = storeAt();

    expect(await store.readParameter(PARAMETER)).toBeUndefined();
  });

  it('throws a store error that is not "absent"', async () => {
    ssm.on(GetParameterCommand).rejects(Object.assign(new Error('throttled'), { name: 'ThrottlingException' }));
    const { store } = storeAt();

    await expect(store.readParameter(PARAMETER)).rejects.toMatchObject({ name: 'ThrottlingException' });
  });

  it('does not register an identifier for redaction (it is not a secret)', async () => {
    const portfolio = uniqueSecret('portfolio');
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: portfolio } });
    const { store } = storeAt();

    await store.readParameter(PARAMETER);

    expect(redact(portfolio)).toBe(portfolio);
  });
});

describe('ValueStore with plain and unset sources', () => {
  it('returns a plain value as is, and a blank one as absent, without building SDK clients', async () => {
    const factory = vi.fn(clients);
    const store = new ValueStore({ ttlMs: TTL_MS, sdk: loadedStoreSdk, clients: factory });

    expect(await store.readSecret({ kind: 'plain', value: 'local-secret-1' })).toBe('local-secret-1');
    expect(await store.readParameter({ kind: 'plain', value: '  ' })).toBeUndefined();
    expect(await store.readSecret({ kind: 'unset' })).toBeUndefined();
    expect(factory).not.toHaveBeenCalled();
  });

  it('builds the SDK clients once, on the first store read', async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: uniqueSecret() });
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: 'D1' } });
    const factory = vi.fn(clients);
    const store = new ValueStore({ ttlMs: TTL_MS, sdk: loadedStoreSdk, clients: factory });

    await store.readSecret(SECRET);
    await store.readParameter(PARAMETER);

    expect(factory).toHaveBeenCalledTimes(1);
  });
});

describe('ValueStore: stale values end (docs/contract.md#configuration)', () => {
  it('serves a value whose re-reads fail for at most the TTL + 10 minutes after the store last gave it, then throws', async () => {
    const value = uniqueSecret();
    secretsManager.on(GetSecretValueCommand).resolvesOnce({ SecretString: value }).rejects(accessDenied());
    const { store, advance } = storeAt();

    expect(await store.readSecret(SECRET)).toBe(value);
    // Expired, and every re-read denied: the last value is served, the store asked again every 30 s.
    advance(TTL_MS);
    for (let served = 0; served < 10 * 60_000; served += 30_000) {
      expect(await store.readSecret(SECRET)).toBe(value);
      advance(30_000);
    }

    await expect(store.readSecret(SECRET)).rejects.toMatchObject({ name: 'AccessDeniedException' });
  });

  it('counts the maximum age from the last value the store gave, not from the first', async () => {
    const first = uniqueSecret();
    const second = uniqueSecret();
    secretsManager
      .on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: first })
      .resolvesOnce({ SecretString: second })
      .rejects(accessDenied());
    const { store, advance } = storeAt();

    await store.readSecret(SECRET);
    advance(TTL_MS);
    expect(await store.readSecret(SECRET)).toBe(second);
    advance(TTL_MS + 10 * 60_000 - 1);

    expect(await store.readSecret(SECRET)).toBe(second);
  });
});

describe('ValueStore: a read with a deadline (docs/contract.md#deadline-and-retries)', () => {
  const fakeClock = () => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });

  it('answers StoreTimeoutError when the deadline passes, naming the read', async () => {
    fakeClock();
    try {
      const never = new Promise<never>(() => undefined);
      const hanging: StoreClients = { secretsManager: { send: () => never }, ssm: { send: () => never } };
      const store = new ValueStore({ ttlMs: TTL_MS, sdk: loadedStoreSdk, clients: () => hanging });
      const read = store.readSecret(SECRET, createDeadline(2700));
      const settled = vi.fn();
      read.then(settled, settled);

      await vi.advanceTimersByTimeAsync(2699);
      expect(settled).not.toHaveBeenCalled();
      await vi.advanceTimersByTimeAsync(1);

      await expect(read).rejects.toMatchObject({
        name: 'StoreTimeoutError',
        statusCode: 504,
        publicMessage: 'Хранилище секретов не ответило вовремя',
        key: `secret:${SECRET_ID}`,
      });
    } finally {
      vi.useRealTimers();
    }
  });

  it('serves a known value after 300 ms when its re-read is slow, and the re-read then fills the cache', async () => {
    fakeClock();
    try {
      let now = 1_000_000;
      const first = uniqueSecret();
      const second = uniqueSecret();
      let answerSecondRead: (value: { SecretString: string }) => void = () => undefined;
      const send = vi
        .fn()
        .mockResolvedValueOnce({ SecretString: first })
        .mockReturnValueOnce(
          new Promise((resolve) => {
            answerSecondRead = resolve;
          }),
        );
      const store = new ValueStore({
        ttlMs: TTL_MS,
        sdk: loadedStoreSdk,
        clients: () => ({ secretsManager: { send }, ssm: { send } }),
        now: () => now,
      });
      await store.readSecret(SECRET);
      now += TTL_MS;

      const read = store.readSecret(SECRET, createDeadline(2700));
      await vi.advanceTimersByTimeAsync(300);
      expect(await read).toBe(first);
      answerSecondRead({ SecretString: second });
      await vi.advanceTimersByTimeAsync(0);

      expect(await store.readSecret(SECRET)).toBe(second);
      expect(send).toHaveBeenCalledTimes(2);
    } finally {
      vi.useRealTimers();
    }
  });
});
