import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { parseAcceptedSecrets } from './auth/webhook-secrets.ts';
import type { CommonConfig, ValueSource } from './config.ts';
import { describeError } from './errors.ts';
import { logger, registerSecret } from './logging.ts';

/**
 * Reads secrets (Secrets Manager) and identifiers (SSM Parameter Store) once per container and keeps them
 * for a while: a rotated value is picked up within the TTL. An absent or empty value is `undefined`
 * (the contract's 404 rows); any other store failure throws (500), unless an older value can still serve.
 */

export interface StoreClients {
  readonly secretsManager: Pick<SecretsManagerClient, 'send'>;
  readonly ssm: Pick<SSMClient, 'send'>;
}

export interface SecretStoreOptions {
  readonly ttlMs: number;
  /** Created on first use, so a container that never reads the store never builds the SDK clients. */
  readonly clients?: () => StoreClients;
  readonly now?: () => number;
}

/** Absent values are re-read sooner, so a secret set after a 404 works without waiting for the full TTL. */
const MAX_ABSENT_TTL_MS = 30_000;
/** After a failed re-read, the cached value is served this long before the store is asked again. */
const STALE_RETRY_MS = 30_000;
/** Store calls happen inside a webhook's 3 s budget: fail fast rather than retry at length. */
const STORE_CLIENT_CONFIG = { maxAttempts: 2, requestHandler: { connectionTimeout: 1000, requestTimeout: 2000 } };

/** `region`: where the stack is (CDK context), for tools run outside it; a function's clients take Lambda's. */
export function createStoreClients(region?: string): StoreClients {
  const config = region === undefined ? STORE_CLIENT_CONFIG : { ...STORE_CLIENT_CONFIG, region };
  return {
    secretsManager: new SecretsManagerClient(config),
    ssm: new SSMClient(config),
  };
}

/** How long a function's init waits for {@link SecretStore.prefetch}: well inside Lambda's 10 s init limit. */
export const INIT_PREFETCH_MAX_WAIT_MS = 1500;

/** What {@link SecretStore.prefetch} reads: secrets are registered for redaction as any secret read is. */
export interface PrefetchValues {
  readonly secrets?: readonly ValueSource[];
  readonly parameters?: readonly ValueSource[];
}

interface CacheEntry {
  readonly value: string | undefined;
  readonly expiresAt: number;
}

const ABSENT_ERRORS = new Set(['ResourceNotFoundException', 'ParameterNotFound']);

function emptyToUndefined(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

export class SecretStore {
  readonly #ttlMs: number;
  readonly #createClients: () => StoreClients;
  readonly #now: () => number;
  #clients: StoreClients | undefined;
  readonly #cache = new Map<string, CacheEntry>();
  readonly #inFlight = new Map<string, Promise<string | undefined>>();

  constructor(options: SecretStoreOptions) {
    this.#ttlMs = options.ttlMs;
    this.#createClients = options.clients ?? createStoreClients;
    this.#now = options.now ?? Date.now;
  }

  /** A secret value: registered with the logger so that no log line can ever print it. */
  async readSecret(source: ValueSource): Promise<string | undefined> {
    const value = await this.#read(source);
    if (value !== undefined) {
      registerSecret(value);
      // Each value of a multi-value secret too: one per line, or the strings of a JSON array.
      for (const part of parseAcceptedSecrets(value)) registerSecret(part);
    }
    return value;
  }

  /** An identifier such as a portfolio or account id: not secret, so not redacted from logs. */
  readParameter(source: ValueSource): Promise<string | undefined> {
    return this.#read(source);
  }

  /**
   * Reads values into the cache ahead of the invocations that need them: meant for a function's init phase (module
   * scope), so they are read with Lambda's init-time CPU and the first invocation pays no store round trip for them.
   * Never throws: a failed read caches nothing and the invocation that needs the value reads it again, answering as
   * it would have without the prefetch. Resolves when every read has settled, or after `maxWaitMs`; a read still
   * running then is joined (not repeated) by the first invocation that needs it.
   */
  async prefetch(values: PrefetchValues, maxWaitMs: number): Promise<void> {
    const reads = Promise.allSettled([
      ...(values.secrets ?? []).map((source) => this.readSecret(source)),
      ...(values.parameters ?? []).map((source) => this.readParameter(source)),
    ]);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, maxWaitMs);
      timer.unref();
    });
    await Promise.race([reads, timeout]);
    clearTimeout(timer);
  }

  async #read(source: ValueSource): Promise<string | undefined> {
    switch (source.kind) {
      case 'unset':
        return undefined;
      case 'plain':
        return emptyToUndefined(source.value);
      case 'secret':
        return this.#cached(`secret:${source.id}`, () => this.#fetchSecret(source.id));
      case 'parameter':
        return this.#cached(`parameter:${source.name}`, () => this.#fetchParameter(source.name));
    }
  }

  async #cached(key: string, fetch: () => Promise<string | undefined>): Promise<string | undefined> {
    const entry = this.#cache.get(key);
    if (entry !== undefined && entry.expiresAt > this.#now()) return entry.value;
    const pending = this.#inFlight.get(key);
    if (pending !== undefined) return pending;
    const refresh = fetch()
      .then((value) => {
        const ttl = value === undefined ? Math.min(this.#ttlMs, MAX_ABSENT_TTL_MS) : this.#ttlMs;
        this.#cache.set(key, { value, expiresAt: this.#now() + ttl });
        return value;
      })
      .catch((error: unknown) => {
        if (entry?.value === undefined) throw error;
        // The store is briefly unreachable but we know a value: keep serving it rather than fail orders, and
        // do not make every invocation of the outage wait for a failing store call before it can use it.
        this.#cache.set(key, { value: entry.value, expiresAt: this.#now() + Math.min(this.#ttlMs, STALE_RETRY_MS) });
        logger.warn('secret store read failed, serving the cached value', { key, error: describeError(error) });
        return entry.value;
      })
      .finally(() => this.#inFlight.delete(key));
    this.#inFlight.set(key, refresh);
    return refresh;
  }

  #storeClients(): StoreClients {
    this.#clients ??= this.#createClients();
    return this.#clients;
  }

  async #fetchSecret(secretId: string): Promise<string | undefined> {
    try {
      const output = await this.#storeClients().secretsManager.send(new GetSecretValueCommand({ SecretId: secretId }));
      return emptyToUndefined(output.SecretString);
    } catch (error) {
      if (ABSENT_ERRORS.has(describeError(error).name)) return undefined;
      throw error;
    }
  }

  async #fetchParameter(name: string): Promise<string | undefined> {
    try {
      const output = await this.#storeClients().ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
      return emptyToUndefined(output.Parameter?.Value);
    } catch (error) {
      if (ABSENT_ERRORS.has(describeError(error).name)) return undefined;
      throw error;
    }
  }
}

/**
 * The store of a function's container, filled during init (module scope, once per container): the webhook secret and
 * the broker account (an SSM parameter, not a secret) are read in parallel, so the first invocation pays no store round
 * trip for them: a `check` answers from the cache, and the first order reads only the broker token. The broker token is
 * deliberately NOT read here: on a 401 no secret but the webhook secret may be read from the store
 * (docs/contract.md#order-of-checks), and a container's first call may well be unauthenticated. Bounded by
 * {@link INIT_PREFETCH_MAX_WAIT_MS}, so a slow store cannot stall init. Measured by `npm run bench`.
 */
export async function initSecretStore(config: CommonConfig, account: ValueSource): Promise<SecretStore> {
  const store = new SecretStore({ ttlMs: config.secretsCacheTtlMs });
  await store.prefetch({ secrets: [config.webhookSecret], parameters: [account] }, INIT_PREFETCH_MAX_WAIT_MS);
  return store;
}
