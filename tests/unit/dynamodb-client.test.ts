import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbClient, DynamoDbError } from '#shared/lock/dynamodb.ts';

/**
 * The position lock's DynamoDB client (shared/lock/dynamodb.ts) against a server on loopback that answers as DynamoDB's
 * JSON API does: what it sends, how it reads an answer and an error, and when it tries again.
 */

interface Seen {
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: unknown;
}

let server: Server;
let url: string;
const seen: Seen[] = [];
let answers: { status: number; body: unknown }[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    let text = '';
    request.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
    });
    request.on('end', () => {
      seen.push({ path: request.url ?? '', headers: request.headers, body: JSON.parse(text) });
      const answer = answers.shift() ?? { status: 200, body: {} };
      response.writeHead(answer.status, { 'content-type': 'application/x-amz-json-1.0' });
      response.end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  seen.length = 0;
  answers = [];
});

const env = (overrides: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  AWS_REGION: 'eu-central-1',
  AWS_ACCESS_KEY_ID: 'ASIAEXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'secret',
  AWS_SESSION_TOKEN: 'session',
  AWS_ENDPOINT_URL_DYNAMODB: url,
  ...overrides,
});
const signal = () => AbortSignal.timeout(5000);
const conditionFailed = {
  status: 400,
  body: {
    __type: 'com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException',
    message: 'The conditional request failed',
    Item: { pk: { S: 'n' }, placed: { N: '3' } },
  },
};

describe('DynamoDbClient', () => {
  it('posts the operation as DynamoDB JSON, signed, and gives the answer', async () => {
    answers = [{ status: 200, body: { Attributes: { pk: { S: 'n' } } } }];
    const input = { TableName: 't', Item: { pk: { S: 'n' } }, ReturnValues: 'ALL_OLD' };

    const output = await new DynamoDbClient({ env: env() }).send('PutItem', input, signal());

    expect(output).toEqual({ Attributes: { pk: { S: 'n' } } });
    expect(seen).toEqual([
      {
        path: '/',
        headers: expect.objectContaining({
          'content-type': 'application/x-amz-json-1.0',
          'x-amz-target': 'DynamoDB_20120810.PutItem',
          'x-amz-security-token': 'session',
          authorization: expect.stringMatching(
            /^AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE\/\d{8}\/eu-central-1\/dynamodb\//,
          ),
        }),
        body: input,
      },
    ]);
  });

  it('throws a failed condition as the SDK names it, with the item it asked for, and does not try again', async () => {
    answers = [conditionFailed];

    const failure = await new DynamoDbClient({ env: env() })
      .send('UpdateItem', { TableName: 't' }, signal())
      .catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(DynamoDbError);
    expect(failure).toMatchObject({
      name: 'ConditionalCheckFailedException',
      statusCode: 400,
      item: { pk: { S: 'n' }, placed: { N: '3' } },
    });
    expect(seen).toHaveLength(1);
  });

  it('tries once more after a throttle or a 5xx, and no more', async () => {
    const throttled = {
      status: 400,
      body: { __type: 'com.amazonaws.dynamodb.v20120810#ThrottlingException', message: 'slow down' },
    };
    answers = [throttled, { status: 200, body: {} }, { status: 500, body: {} }, { status: 503, body: {} }];
    const client = new DynamoDbClient({ env: env() });

    await expect(client.send('UpdateItem', { TableName: 't' }, signal())).resolves.toEqual({});
    await expect(client.send('UpdateItem', { TableName: 't' }, signal())).rejects.toMatchObject({
      name: 'HTTP503',
      statusCode: 503,
    });
    expect(seen).toHaveLength(4);
  });

  it('refuses to call without credentials: nothing is sent', async () => {
    const client = new DynamoDbClient({ env: env({ AWS_ACCESS_KEY_ID: undefined }) });

    await expect(client.send('PutItem', { TableName: 't' }, signal())).rejects.toMatchObject({
      name: 'MissingCredentials',
    });
    expect(seen).toEqual([]);
  });

  it('ends with its signal: nothing is waited for after it aborts', async () => {
    const stalled = createServer(() => undefined);
    await new Promise<void>((resolve) => stalled.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(stalled.address() as AddressInfo).port}`;
    const controller = new AbortController();
    const call = new DynamoDbClient({ env: env({ AWS_ENDPOINT_URL_DYNAMODB: endpoint }) }).send(
      'PutItem',
      { TableName: 't' },
      controller.signal,
    );
    controller.abort(new Error('deadline'));

    await expect(call).rejects.toThrow('deadline');
    stalled.closeAllConnections();
    await new Promise((resolve) => stalled.close(resolve));
  });
});
