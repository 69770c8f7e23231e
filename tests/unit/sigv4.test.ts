import { createHash, createHmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JsonRequestSigner } from '#shared/lock/sigv4.ts';

/**
 * shared/lock/sigv4.ts signs the position lock's DynamoDB calls without the AWS SDK: every request it signs must carry
 * the signature the SDK's own signer (`@smithy/signature-v4`, what the AWS SDK signs DynamoDB calls with) gives the same
 * request.
 */

/** SHA-256 as the SDK's signer takes it (`@smithy/hash-node`'s, on node:crypto): a hash, or an HMAC with a secret. */
type SourceData = string | ArrayBuffer | ArrayBufferView;
const bytes = (data: SourceData) =>
  typeof data === 'string'
    ? data
    : data instanceof ArrayBuffer
      ? new Uint8Array(data)
      : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);

class NodeSha256 {
  readonly #hash;
  constructor(secret?: SourceData) {
    this.#hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: SourceData): void {
    this.#hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.#hash.digest());
  }
  reset(): void {}
}

interface Case {
  readonly url: URL;
  readonly target: string;
  readonly body: string;
  readonly region: string;
  readonly credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  readonly now: number;
}

async function sdkAuthorization(request: Case, headers: Record<string, string>): Promise<string | undefined> {
  const signer = new SignatureV4({
    credentials: request.credentials,
    region: request.region,
    service: 'dynamodb',
    sha256: NodeSha256,
  });
  const {
    authorization: _ours,
    'x-amz-date': _date,
    'x-amz-security-token': _token,
    'x-amz-content-sha256': _checksum,
    ...unsigned
  } = headers;
  const signed = await signer.sign(
    {
      method: 'POST',
      protocol: request.url.protocol,
      hostname: request.url.hostname,
      ...(request.url.port === '' ? {} : { port: Number(request.url.port) }),
      path: request.url.pathname,
      query: {},
      headers: unsigned,
      body: request.body,
    },
    { signingDate: new Date(request.now) },
  );
  return signed.headers.authorization;
}

const sign = (request: Case) =>
  new JsonRequestSigner().sign({ ...request, contentType: 'application/x-amz-json-1.0', service: 'dynamodb' });

describe('JsonRequestSigner', () => {
  it("signs a DynamoDB PutItem as the AWS SDK's signer does, session token and all", async () => {
    const request: Case = {
      url: new URL('https://dynamodb.eu-central-1.amazonaws.com'),
      target: 'DynamoDB_20120810.PutItem',
      body: '{"TableName":"ppp-webhooks-position-locks","Item":{"pk":{"S":"alor#D00000#MOEX:SBER"}}}',
      region: 'eu-central-1',
      credentials: { accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 'secret/key+value', sessionToken: 'token==' },
      now: Date.UTC(2026, 11, 7, 11, 23, 17),
    };

    const { headers } = sign(request);

    expect(headers).toMatchObject({
      host: 'dynamodb.eu-central-1.amazonaws.com',
      'x-amz-date': '20261207T112317Z',
      'x-amz-security-token': 'token==',
      'x-amz-target': 'DynamoDB_20120810.PutItem',
      'content-type': 'application/x-amz-json-1.0',
    });
    expect(headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE\/20261207\/eu-central-1\/dynamodb\/aws4_request, SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token;x-amz-target, Signature=[0-9a-f]{64}$/,
    );
    expect(headers.authorization).toBe(await sdkAuthorization(request, headers));
  });

  it("gives any body, region, endpoint, time and credentials the AWS SDK signer's signature", async () => {
    const word = fc.stringMatching(/^[A-Za-z0-9]{1,12}$/);
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          body: fc.string({ unit: 'grapheme', maxLength: 200 }),
          region: fc.constantFrom('eu-central-1', 'us-east-1', 'ap-southeast-2'),
          target: fc.constantFrom('PutItem', 'UpdateItem').map((name) => `DynamoDB_20120810.${name}`),
          origin: fc.constantFrom(
            'https://dynamodb.us-east-1.amazonaws.com',
            'http://127.0.0.1:4566',
            'http://localhost:8000/',
          ),
          accessKeyId: word,
          secretAccessKey: fc.string({ minLength: 1, maxLength: 40 }),
          sessionToken: fc.option(word, { nil: undefined }),
          now: fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2035, 0, 1) }),
        }),
        async (drawn) => {
          const request: Case = {
            url: new URL(drawn.origin),
            target: drawn.target,
            body: drawn.body,
            region: drawn.region,
            credentials: {
              accessKeyId: drawn.accessKeyId,
              secretAccessKey: drawn.secretAccessKey,
              ...(drawn.sessionToken === undefined ? {} : { sessionToken: drawn.sessionToken }),
            },
            now: drawn.now,
          };
          const { headers } = sign(request);
          expect(headers.authorization).toBe(await sdkAuthorization(request, headers));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('keeps one signing key per day: a new day signs with a new one', async () => {
    const signer = new JsonRequestSigner();
    const base: Case = {
      url: new URL('http://127.0.0.1:4566'),
      target: 'DynamoDB_20120810.UpdateItem',
      body: '{}',
      region: 'eu-central-1',
      credentials: { accessKeyId: 'AKID', secretAccessKey: 'secret' },
      now: Date.UTC(2026, 11, 7, 23, 59, 59),
    };
    for (const now of [base.now, base.now + 1000, base.now + 2000]) {
      const request = { ...base, now };
      const { headers } = signer.sign({ ...request, contentType: 'application/x-amz-json-1.0', service: 'dynamodb' });
      expect(headers.authorization).toBe(await sdkAuthorization(request, headers));
    }
  });
});
