import { createHash, createHmac } from 'node:crypto';

/**
 * AWS Signature Version 4 of a POST with a JSON body (the AWS JSON protocol DynamoDB speaks), written out here because
 * the position lock's calls sit on a signal's path and the AWS SDK's client costs about a millisecond of its own work
 * per call (docs/performance.md#target-position). The algorithm is AWS's ("Create a signed AWS API request"); the test
 * signs the same requests with the SDK's own signer (`@smithy/signature-v4`) and expects the same signature.
 */

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Lambda's credentials are temporary: they come with a session token. */
  readonly sessionToken?: string | undefined;
}

export interface SignedJsonRequest {
  /** `host` (with its port when not the scheme's), the path, and every header to send, signed. */
  readonly headers: Record<string, string>;
}

const sha256Hex = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
const hmac = (key: string | Buffer, text: string) => createHmac('sha256', key).update(text, 'utf8').digest();

/** `20261207T112317Z` and `20261207` of a time. */
function amzDates(now: number): { readonly dateTime: string; readonly date: string } {
  const dateTime = `${new Date(now).toISOString().replace(/[-:]/g, '').slice(0, 15)}Z`;
  return { dateTime, date: dateTime.slice(0, 8) };
}

/** The signing key of a day, region and service: four HMACs, the same all day, so kept. */
class SigningKeys {
  #scope = '';
  #secret = '';
  #key: Buffer = Buffer.alloc(0);

  of(secret: string, date: string, region: string, service: string): Buffer {
    const scope = `${date}/${region}/${service}`;
    if (scope !== this.#scope || secret !== this.#secret) {
      const dated = hmac(`AWS4${secret}`, date);
      this.#key = hmac(hmac(hmac(dated, region), service), 'aws4_request');
      this.#scope = scope;
      this.#secret = secret;
    }
    return this.#key;
  }
}

export interface JsonRequestToSign {
  readonly url: URL;
  /** `x-amz-target`, the operation: `DynamoDB_20120810.PutItem`. */
  readonly target: string;
  /** `application/x-amz-json-1.0` for DynamoDB. */
  readonly contentType: string;
  readonly body: string;
  readonly region: string;
  readonly service: string;
  readonly credentials: AwsCredentials;
  /** ms since the epoch. */
  readonly now: number;
}

/** Signs requests with one cached signing key. */
export class JsonRequestSigner {
  readonly #keys = new SigningKeys();

  sign(request: JsonRequestToSign): SignedJsonRequest {
    const { dateTime, date } = amzDates(request.now);
    const { credentials } = request;
    const payloadHash = sha256Hex(request.body);
    // The headers the AWS SDK signs a DynamoDB call with, its checksum of the body among them.
    const headers: Record<string, string> = {
      'content-type': request.contentType,
      host: request.url.host,
      'x-amz-content-sha256': payloadHash,
      'x-amz-date': dateTime,
      ...(credentials.sessionToken === undefined ? {} : { 'x-amz-security-token': credentials.sessionToken }),
      'x-amz-target': request.target,
    };
    // Already in the order SigV4 wants (names sorted), each value without surrounding spaces.
    const names = Object.keys(headers).sort();
    const canonicalHeaders = names.map((name) => `${name}:${(headers[name] ?? '').trim()}\n`).join('');
    const signedHeaders = names.join(';');
    const canonicalRequest = [
      'POST',
      request.url.pathname || '/',
      '',
      canonicalHeaders,
      signedHeaders,
      payloadHash,
    ].join('\n');
    const scope = `${date}/${request.region}/${request.service}/aws4_request`;
    const stringToSign = ['AWS4-HMAC-SHA256', dateTime, scope, sha256Hex(canonicalRequest)].join('\n');
    const key = this.#keys.of(credentials.secretAccessKey, date, request.region, request.service);
    const signature = createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex');
    headers.authorization =
      `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, ` +
      `SignedHeaders=${signedHeaders}, Signature=${signature}`;
    return { headers };
  }
}
