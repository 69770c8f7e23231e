import { parseAcceptedSecrets } from '../auth/webhook-secrets.ts';
import type { ValueSource } from '../config.ts';
import { describeError, StoreTimeoutError } from '../errors.ts';
import { MAX_STALE_MS } from '../facts.ts';
import type { Deadline } from '../http/outbound/deadline.ts';
import { logger, registerSecret } from '../logging.ts';
import {
  type ExtensionAnswer,
  readParameterThroughExtension,
  readSecretThroughExtension,
  type StoreExtension,
  storeExtensionAgent,
} from './extension.ts';
import { getParameterValue, getSecretString, type StoreClients, type StoreSdk, storeClients } from './sdk.ts';

/**
 * Reads secrets (Secrets Manager) and identifiers (SSM Parameter Store) once per container and keeps them
 * for a while: a rotated value is picked up within the TTL. An absent or empty value is `undefined`
 * (the contract's 404 rows); any other store failure throws (500), unless an older value can still serve, for at most
 * {@link MAX_STALE_MS} past its TTL. A read given a deadline (a webhook's) waits for the store no longer than it: then
 * it throws {@link StoreTimeoutError} (504), and the read goes on for the invocations after it.
 * Reads go through the Parameters and Secrets extension when the function has it, else (and whenever the extension
 * gives no value) through the AWS SDK, loaded on first use.
 */

export interface ValueStoreOptions {
  readonly ttlMs: number;
  /**
   * The AWS SDK's classes, asked for at the first SDK read: `loadedStoreSdk` (shared/store/sdk-modules.ts) where the
   * SDK is loaded anyway, `loadStoreSdkOnDemand` (shared/store/sdk-on-demand.ts) in the webhook functions. Never
   * imported here, so that this module does not bring the SDK into a bundle.
   */
  readonly sdk: () => Promise<StoreSdk>;
  /** Created on first SDK read, so a container that never reads the store with the SDK never builds the clients. */
  readonly clients?: (sdk: StoreSdk) => StoreClients;
  /** The Parameters and Secrets extension, when the function has the layer (`config.storeExtension`). */
  readonly extension?: StoreExtension | undefined;
  readonly now?: () => number;
}

/** Absent values are re-read sooner, so a secret set after a 404 works without waiting for the full TTL. */
const MAX_ABSENT_TTL_MS = 30_000;
/** After a failed re-read, the cached value is served this long before the store is asked again. */
const STALE_RETRY_MS = 30_000;
/**
 * How long a read waits for the re-read of an expired value it could still serve: a store answers in tens of
 * milliseconds, so a slower one costs the request this much once per {@link STALE_RETRY_MS}, not its whole deadline.
 */
const STALE_REFRESH_WAIT_MS = 300;

/** How long a function's init waits for {@link ValueStore.prefetch}: well inside Lambda's 10 s init limit. */
export const INIT_PREFETCH_MAX_WAIT_MS = 1500;

/** What {@link ValueStore.prefetch} reads: secrets are registered for redaction as any secret read is. */
export interface PrefetchValues {
  readonly secrets?: readonly ValueSource[];
  readonly parameters?: readonly ValueSource[];
}

interface CacheEntry {
  readonly value: string | undefined;
  readonly expiresAt: number;
  /** When the store last gave this value: a value it has not confirmed for TTL + {@link MAX_STALE_MS} is not served. */
  readonly confirmedAt: number;
}

/**
 * `read`, or `stale` once `staleAfterMs` has passed without its answer, or {@link StoreTimeoutError} at the deadline.
 * The read goes on either way (it fills the cache for later invocations); its late failure is nobody's to handle here.
 */
function within(
  read: Promise<string | undefined>,
  key: string,
  deadline: Deadline | undefined,
  stale: { readonly value: string; readonly afterMs: number } | undefined,
): Promise<string | undefined> {
  if (deadline === undefined && stale === undefined) return read;
  read.catch(() => undefined);
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const finish = () => {
      clearTimeout(timer);
      deadline?.signal.removeListener('abort', onDeadline);
    };
    const onDeadline = () => {
      finish();
      if (stale === undefined) reject(new StoreTimeoutError(key));
      else resolve(stale.value);
    };
    if (deadline?.signal.aborted) return onDeadline();
    deadline?.signal.once('abort', onDeadline);
    if (stale !== undefined) timer = setTimeout(onDeadline, stale.afterMs);
    read.then(
      (value) => {
        finish();
        resolve(value);
      },
      (error: unknown) => {
        finish();
        reject(error);
      },
    );
  });
}

function emptyToUndefined(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

export class ValueStore {
  readonly #ttlMs: number;
  readonly #loadSdk: () => Promise<StoreSdk>;
  readonly #createClients: ((sdk: StoreSdk) => StoreClients) | undefined;
  readonly #extension: StoreExtension | undefined;
  readonly #now: () => number;
  #clients: StoreClients | undefined;
  readonly #cache = new Map<string, CacheEntry>();
  readonly #inFlight = new Map<string, Promise<string | undefined>>();

  constructor(options: ValueStoreOptions) {
    this.#ttlMs = options.ttlMs;
    this.#loadSdk = options.sdk;
    this.#createClients = options.clients;
    this.#extension = options.extension;
    this.#now = options.now ?? Date.now;
  }

  /**
   * A secret value: registered with the logger so that no log line can ever print it. With a `deadline`, the store is
   * waited for until it passes, and no longer ({@link StoreTimeoutError}).
   */
  async readSecret(source: ValueSource, deadline?: Deadline): Promise<string | undefined> {
    const value = await this.#read(source, deadline);
    if (value !== undefined) {
      registerSecret(value);
      // Each value of a multi-value secret too: one per line, or the strings of a JSON array.
      for (const part of parseAcceptedSecrets(value)) registerSecret(part);
    }
    return value;
  }

  /**
   * An identifier such as a portfolio or account id: not secret, so not redacted from logs. `ttlMs` keeps this value a
   * shorter time than the store's TTL (the kill switch's few seconds).
   */
  readParameter(source: ValueSource, deadline?: Deadline, ttlMs?: number): Promise<string | undefined> {
    return this.#read(source, deadline, ttlMs);
  }

  /**
   * Reads values into the cache ahead of the invocations that need them: meant for a function's init phase (module
   * scope), so they are read with Lambda's init-time CPU and the first invocation pays no store round trip for them,
   * and for a keep-warm invocation.
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

  async #read(source: ValueSource, deadline: Deadline | undefined, ttlMs?: number): Promise<string | undefined> {
    switch (source.kind) {
      case 'unset':
        return undefined;
      case 'plain':
        return emptyToUndefined(source.value);
      case 'secret':
        return this.#cached(`secret:${source.id}`, () => this.#fetchSecret(source.id), deadline);
      case 'parameter':
        return this.#cached(`parameter:${source.name}`, () => this.#fetchParameter(source.name), deadline, ttlMs);
    }
  }

  /** The last value the store gave, while it may still be served in place of a re-read that failed or is slow. */
  #servable(entry: CacheEntry | undefined, ttlMs = this.#ttlMs): string | undefined {
    if (entry?.value === undefined) return undefined;
    return this.#now() < entry.confirmedAt + ttlMs + MAX_STALE_MS ? entry.value : undefined;
  }

  async #cached(
    key: string,
    fetch: () => Promise<string | undefined>,
    deadline: Deadline | undefined,
    ttlMs = this.#ttlMs,
  ): Promise<string | undefined> {
    const entry = this.#cache.get(key);
    if (entry !== undefined && entry.expiresAt > this.#now()) return entry.value;
    const stale = this.#servable(entry, ttlMs);
    const refresh = this.#inFlight.get(key) ?? this.#refresh(key, fetch, entry, ttlMs);
    return within(
      refresh,
      key,
      deadline,
      stale === undefined ? undefined : { value: stale, afterMs: STALE_REFRESH_WAIT_MS },
    );
  }

  #refresh(key: string, fetch: () => Promise<string | undefined>, entry: CacheEntry | undefined, ttlMs: number) {
    const refresh = fetch()
      .then((value) => {
        const ttl = value === undefined ? Math.min(ttlMs, MAX_ABSENT_TTL_MS) : ttlMs;
        const now = this.#now();
        this.#cache.set(key, { value, expiresAt: now + ttl, confirmedAt: now });
        return value;
      })
      .catch((error: unknown) => {
        const stale = this.#servable(entry, ttlMs);
        if (entry === undefined || stale === undefined) throw error;
        // The store is briefly unreachable but we know a value: keep serving it rather than fail orders, and
        // do not make every invocation of the outage wait for a failing store call before it can use it; never
        // past its maximum age, when the failure is answered instead.
        const servedUntil = Math.min(
          this.#now() + Math.min(ttlMs, STALE_RETRY_MS),
          entry.confirmedAt + ttlMs + MAX_STALE_MS,
        );
        this.#cache.set(key, { value: stale, expiresAt: servedUntil, confirmedAt: entry.confirmedAt });
        logger.warn('secret store read failed, serving the cached value', { key, error: describeError(error) });
        return stale;
      })
      .finally(() => this.#inFlight.delete(key));
    this.#inFlight.set(key, refresh);
    return refresh;
  }

  async #sdk(): Promise<{ sdk: StoreSdk; clients: StoreClients }> {
    const sdk = await this.#loadSdk();
    this.#clients ??= this.#createClients?.(sdk) ?? storeClients(sdk);
    return { sdk, clients: this.#clients };
  }

  /** The extension's value when it gives one, else the SDK's. */
  async #viaExtensionOrSdk(
    throughExtension: (extension: StoreExtension) => Promise<ExtensionAnswer>,
    withSdk: (sdk: StoreSdk, clients: StoreClients) => Promise<string | undefined>,
  ): Promise<string | undefined> {
    if (this.#extension !== undefined) {
      const answer = await throughExtension(this.#extension);
      if (answer !== undefined) return emptyToUndefined(answer.value);
    }
    const { sdk, clients } = await this.#sdk();
    return emptyToUndefined(await withSdk(sdk, clients));
  }

  #fetchSecret(secretId: string): Promise<string | undefined> {
    return this.#viaExtensionOrSdk(
      (extension) => readSecretThroughExtension(storeExtensionAgent(), extension, secretId),
      (sdk, clients) => getSecretString(sdk, clients, secretId),
    );
  }

  #fetchParameter(name: string): Promise<string | undefined> {
    return this.#viaExtensionOrSdk(
      (extension) => readParameterThroughExtension(storeExtensionAgent(), extension, name),
      (sdk, clients) => getParameterValue(sdk, clients, name),
    );
  }
}
