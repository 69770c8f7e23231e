import { describe, expect, it } from 'vitest';
import { EXTENSION_TOKEN_HEADER } from '#shared/facts.ts';
import {
  readParameterThroughExtension,
  readSecretThroughExtension,
  type StoreExtension,
} from '#shared/store/extension.ts';
import { useMockAgent } from '../helpers/mock-agent.ts';

/** The extension's HTTP interface as AWS documents it, spoken by shared/store/extension.ts against a MockAgent. */

const EXTENSION: StoreExtension = { url: 'http://127.0.0.1:2773', token: 'session-token-1' };
const mockAgent = useMockAgent();
const extension = () => mockAgent().get(EXTENSION.url);

describe('readSecretThroughExtension', () => {
  it('asks GET /secretsmanager/get?secretId=… with the session token, and returns SecretString', async () => {
    extension()
      .intercept({
        path: '/secretsmanager/get?secretId=ppp%2Falor%2Frefresh-token',
        method: 'GET',
        headers: { [EXTENSION_TOKEN_HEADER]: EXTENSION.token },
      })
      .reply(200, { Name: 'ppp/alor/refresh-token', SecretString: 'value-1', VersionStages: ['AWSCURRENT'] });

    expect(await readSecretThroughExtension(mockAgent(), EXTENSION, 'ppp/alor/refresh-token')).toEqual({
      value: 'value-1',
    });
  });

  it('answers a secret without a string value as an absent value', async () => {
    extension()
      .intercept({ path: /^\/secretsmanager\/get/, method: 'GET' })
      .reply(200, { SecretBinary: 'AAEC', SecretString: null });

    expect(await readSecretThroughExtension(mockAgent(), EXTENSION, 'id')).toEqual({ value: undefined });
  });

  it.each([
    ['an error status (absent, denied, throttled: left to the SDK to tell)', 400, 'ResourceNotFoundException: …'],
    ['a server error', 500, 'internal'],
    ['an answer that is not the API JSON', 200, '<html>proxy</html>'],
  ])('gives no answer on %s', async (_case, status, body) => {
    extension()
      .intercept({ path: /^\/secretsmanager\/get/, method: 'GET' })
      .reply(status, body);

    expect(await readSecretThroughExtension(mockAgent(), EXTENSION, 'id')).toBeUndefined();
  });

  it('gives no answer when nothing listens on the port', async () => {
    extension()
      .intercept({ path: /^\/secretsmanager\/get/, method: 'GET' })
      .replyWithError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))
      .times(2);

    expect(await readSecretThroughExtension(mockAgent(), EXTENSION, 'id')).toBeUndefined();
  });
});

describe('readParameterThroughExtension', () => {
  it('asks GET /systemsmanager/parameters/get?name=…&withDecryption=true, and returns Parameter.Value', async () => {
    extension()
      .intercept({
        path: '/systemsmanager/parameters/get?name=%2Fppp%2Falor%2Fportfolio&withDecryption=true',
        method: 'GET',
        headers: { [EXTENSION_TOKEN_HEADER]: EXTENSION.token },
      })
      .reply(200, { Parameter: { Name: '/ppp/alor/portfolio', Type: 'String', Value: 'D71111', Version: 1 } });

    expect(await readParameterThroughExtension(mockAgent(), EXTENSION, '/ppp/alor/portfolio')).toEqual({
      value: 'D71111',
    });
  });
});
