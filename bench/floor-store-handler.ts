import undiciRequest from 'undici/lib/api/api-request.js';
import { ENV, EXTENSION_SECRET_PATH, EXTENSION_TOKEN_HEADER } from '#shared/facts.ts';
import { floorAgent, floorHandler } from './floor.ts';

/**
 * The floor with the one thing no function can skip: its webhook secret read through the Parameters and Secrets
 * extension's port, one undici GET, as the functions read it (the contract keeps every secret in the store, never in
 * the environment). It reads at init, the functions in their first call (AWS allows the extension no call during
 * init); the bench's figure, import + first `check`, counts the read either way. Shown beside the floor, so that each
 * run says how much of a function's cold start is that read alone.
 */
const answer = await undiciRequest.call(floorAgent, {
  origin: `http://127.0.0.1:${process.env[ENV.storeExtensionPort]}`,
  path: `${EXTENSION_SECRET_PATH}?secretId=${encodeURIComponent(process.env[ENV.webhookSecretId] ?? '')}`,
  method: 'GET',
  headers: { [EXTENSION_TOKEN_HEADER]: process.env[ENV.awsSessionToken] ?? '' },
});
const { SecretString } = JSON.parse(await answer.body.text()) as { SecretString: string };

export const handler = floorHandler(Buffer.from(SecretString));
