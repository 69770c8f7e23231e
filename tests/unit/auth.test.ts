import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { separateBodySecret } from '#shared/auth/body-secret.ts';
import { checkWebhookSecret, type SecretCredentials } from '#shared/auth/secret.ts';
import { parseAcceptedSecrets } from '#shared/auth/webhook-secrets.ts';

const SECRET = 'JP-webhook-secret-0001';
const NEXT_SECRET = 'JP-webhook-secret-0002';
const BODY = Buffer.from('{"t":"SBER","p":"250.5","v":1,"d":"buy"}', 'utf8');

function hmacHex(secret: string, body: Uint8Array = BODY): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

function credentials(presented: Partial<SecretCredentials>): SecretCredentials {
  return { rawBody: BODY, ...presented };
}

describe('parseAcceptedSecrets', () => {
  it.each([
    ['absent', undefined],
    ['empty', ''],
    ['only whitespace and newlines', ' \n\r\n\t '],
    ['an empty JSON array', '[]'],
    ['a JSON array of empty strings', '["", "  "]'],
  ])('accepts nothing when the stored secret is %s', (_case, stored) => {
    expect(parseAcceptedSecrets(stored)).toEqual([]);
  });

  it('takes a single value, trimmed', () => {
    expect(parseAcceptedSecrets(`  ${SECRET}\n`)).toEqual([SECRET]);
  });

  it('takes one value per line, LF or CRLF, skipping blank lines', () => {
    expect(parseAcceptedSecrets(`${SECRET}\r\n\n  ${NEXT_SECRET}  \n`)).toEqual([SECRET, NEXT_SECRET]);
  });

  it('takes a JSON array of strings, dropping non-strings and empty strings', () => {
    expect(parseAcceptedSecrets(JSON.stringify([SECRET, 42, null, '', NEXT_SECRET, ['x']]))).toEqual([
      SECRET,
      NEXT_SECRET,
    ]);
  });

  it('takes a value that merely starts with "[" as a plain value', () => {
    expect(parseAcceptedSecrets('[not-json-secret')).toEqual(['[not-json-secret']);
  });
});

describe('checkWebhookSecret', () => {
  it('accepts the secret in the x-webhook-secret header', () => {
    expect(checkWebhookSecret(credentials({ header: SECRET }), [SECRET])).toEqual({ ok: true, method: 'header' });
  });

  it('accepts the secret in the ?secret= query parameter', () => {
    expect(checkWebhookSecret(credentials({ query: SECRET }), [SECRET])).toEqual({ ok: true, method: 'query' });
  });

  it('accepts an HMAC-SHA256 signature of the raw body', () => {
    const signature = `sha256=${hmacHex(SECRET)}`;

    expect(checkWebhookSecret(credentials({ signature }), [SECRET])).toEqual({ ok: true, method: 'signature' });
  });

  it('accepts upper-case hex and prefix, and surrounding whitespace, in the signature', () => {
    const signature = ` SHA256=${hmacHex(SECRET).toUpperCase()} `;

    expect(checkWebhookSecret(credentials({ signature }), [SECRET])).toEqual({ ok: true, method: 'signature' });
  });

  it('signs the raw bytes: the same JSON re-serialised differently does not match', () => {
    const signature = `sha256=${hmacHex(SECRET)}`;
    const reformatted = Buffer.from(JSON.stringify(JSON.parse(BODY.toString()), null, 1));

    expect(checkWebhookSecret({ signature, rawBody: reformatted }, [SECRET])).toEqual({
      ok: false,
      reason: 'credentials do not match',
    });
  });

  it('accepts a signature over a body that is not UTF-8', () => {
    const raw = Uint8Array.from([0xff, 0x00, 0xfe]);
    const signature = `sha256=${hmacHex(SECRET, raw)}`;

    expect(checkWebhookSecret({ signature, rawBody: raw }, [SECRET])).toEqual({ ok: true, method: 'signature' });
  });

  it.each([
    ['no prefix', () => hmacHex(SECRET)],
    ['another algorithm', () => `sha1=${hmacHex(SECRET)}`],
    ['a hex digit short', () => `sha256=${hmacHex(SECRET).slice(1)}`],
    ['a hex digit too many', () => `sha256=${hmacHex(SECRET)}0`],
    ['non-hex characters', () => `sha256=${'z'.repeat(64)}`],
    ['the secret itself', () => `sha256=${SECRET}`],
    ['empty', () => ''],
    ['two signatures', () => `sha256=${hmacHex(SECRET)},sha256=${hmacHex(SECRET)}`],
    ['keyed with another secret', () => `sha256=${hmacHex('someone-else')}`],
  ])('refuses a malformed or wrong signature: %s', (_case, signature) => {
    expect(checkWebhookSecret(credentials({ signature: signature() }), [SECRET])).toEqual({
      ok: false,
      reason: 'credentials do not match',
    });
  });

  it.each([
    ['empty', ''],
    ['one character short', SECRET.slice(0, -1)],
    ['one character longer', `${SECRET}x`],
    ['different case', SECRET.toLowerCase()],
    ['with whitespace around it', ` ${SECRET} `],
    ['very long', 'x'.repeat(1024 * 1024)],
    ['non-ASCII', 'секрет-секрет'],
  ])('refuses a header value that is %s, without throwing', (_case, header) => {
    expect(checkWebhookSecret(credentials({ header }), [SECRET])).toEqual({
      ok: false,
      reason: 'credentials do not match',
    });
  });

  it('refuses a call that presents no credential', () => {
    expect(checkWebhookSecret(credentials({}), [SECRET])).toEqual({ ok: false, reason: 'no credentials presented' });
  });

  it.each([
    ['header', { header: '' }],
    ['header', { header: SECRET }],
    ['query', { query: SECRET }],
    ['signature', { signature: `sha256=${hmacHex('')}` }],
  ])('fails closed when no secret is configured: %s %j', (_method, presented) => {
    expect(checkWebhookSecret(credentials(presented), [])).toEqual({
      ok: false,
      reason: 'no webhook secret configured',
    });
  });

  it('fails closed when the stored secret is empty, even for an empty header or a signature keyed with ""', () => {
    const accepted = parseAcceptedSecrets('  \n ');

    expect(checkWebhookSecret(credentials({ header: '' }), accepted).ok).toBe(false);
    expect(checkWebhookSecret(credentials({ signature: `sha256=${hmacHex('')}` }), accepted).ok).toBe(false);
  });

  it('accepts any one method that matches when the others are wrong', () => {
    const result = checkWebhookSecret(
      credentials({ header: 'wrong', query: 'wrong', signature: `sha256=${hmacHex(SECRET)}` }),
      [SECRET],
    );

    expect(result).toEqual({ ok: true, method: 'signature' });
  });

  describe('the secret in the body', () => {
    it('accepts the body secret when no header, query or signature is presented', () => {
      expect(checkWebhookSecret(credentials({ bodySecret: () => SECRET }), [SECRET])).toEqual({
        ok: true,
        method: 'body',
      });
    });

    it.each([
      ['a wrong value', 'wrong', 'credentials do not match'],
      ['an empty value', '', 'credentials do not match'],
      ['none (a body without one, or not JSON)', undefined, 'no credentials presented'],
    ])('refuses %s', (_case, presented, reason) => {
      expect(checkWebhookSecret(credentials({ bodySecret: () => presented }), [SECRET])).toEqual({ ok: false, reason });
    });

    it.each([
      ['a wrong header', { header: 'wrong' }],
      ['a wrong query', { query: 'wrong' }],
      ['a wrong signature', { signature: `sha256=${hmacHex('wrong')}` }],
    ])(
      'never reads the body when another credential is presented: %s and the right body secret is 401',
      (_case, other) => {
        let bodyRead = 0;
        const bodySecret = () => {
          bodyRead += 1;
          return SECRET;
        };

        expect(checkWebhookSecret(credentials({ ...other, bodySecret }), [SECRET])).toEqual({
          ok: false,
          reason: 'credentials do not match',
        });
        expect(bodyRead).toBe(0);
      },
    );

    it('fails closed when no secret is configured, even for an empty body secret', () => {
      expect(checkWebhookSecret(credentials({ bodySecret: () => '' }), [])).toEqual({
        ok: false,
        reason: 'no webhook secret configured',
      });
    });
  });

  describe('rotation', () => {
    const accepted = parseAcceptedSecrets(`${SECRET}\n${NEXT_SECRET}`);

    it.each([SECRET, NEXT_SECRET])('accepts each of several stored values (%s) by every method', (secret) => {
      expect(checkWebhookSecret(credentials({ header: secret }), accepted)).toEqual({ ok: true, method: 'header' });
      expect(checkWebhookSecret(credentials({ query: secret }), accepted)).toEqual({ ok: true, method: 'query' });
      expect(checkWebhookSecret(credentials({ signature: `sha256=${hmacHex(secret)}` }), accepted)).toEqual({
        ok: true,
        method: 'signature',
      });
      expect(checkWebhookSecret(credentials({ bodySecret: () => secret }), accepted)).toEqual({
        ok: true,
        method: 'body',
      });
    });

    it('accepts values from a JSON array the same way', () => {
      const fromJson = parseAcceptedSecrets(JSON.stringify([SECRET, NEXT_SECRET]));

      expect(checkWebhookSecret(credentials({ header: NEXT_SECRET }), fromJson)).toEqual({
        ok: true,
        method: 'header',
      });
    });

    it('refuses the old value once it has been removed', () => {
      const afterRotation = parseAcceptedSecrets(NEXT_SECRET);

      expect(checkWebhookSecret(credentials({ header: SECRET }), afterRotation)).toEqual({
        ok: false,
        reason: 'credentials do not match',
      });
    });

    it('does not accept the stored multi-value text itself as a secret', () => {
      expect(checkWebhookSecret(credentials({ header: `${SECRET}\n${NEXT_SECRET}` }), accepted).ok).toBe(false);
    });
  });

  it('never puts the presented or stored value in the reason', () => {
    const results = [
      checkWebhookSecret(credentials({ header: 'presented-value-123' }), [SECRET]),
      checkWebhookSecret(credentials({}), [SECRET]),
      checkWebhookSecret(credentials({ header: 'presented-value-123' }), []),
    ];

    for (const result of results) {
      expect(JSON.stringify(result)).not.toContain('presented-value-123');
      expect(JSON.stringify(result)).not.toContain(SECRET);
    }
  });
});

describe('separateBodySecret', () => {
  const decoded = (data: unknown) => ({ success: true as const, data });

  it.each([
    ['a string secret', { secret: SECRET, t: 'SBER' }, SECRET, { t: 'SBER' }],
    ['an empty string', { secret: '', check: true }, '', { check: true }],
    ['a number, which is no secret but is removed all the same', { secret: 42, t: 'SBER' }, undefined, { t: 'SBER' }],
    ['an object', { secret: { value: SECRET }, t: 'SBER' }, undefined, { t: 'SBER' }],
    ['null', { secret: null }, undefined, {}],
  ])('takes %s out of the body', (_case, body, secret, rest) => {
    expect(separateBodySecret(decoded(body))).toEqual({ secret, body: decoded(rest) });
  });

  it.each([
    ['a body without one', { t: 'SBER', p: { secret: 'nested' } }],
    ['an array', [{ secret: SECRET }]],
    ['a string', 'secret'],
    ['null', null],
  ])('leaves %s as it is', (_case, body) => {
    expect(separateBodySecret(decoded(body))).toEqual({ secret: undefined, body: decoded(body) });
  });

  it('leaves a body that could not be decoded as it is', () => {
    const failed = { success: false as const, issues: ['body: not JSON'] };

    expect(separateBodySecret(failed)).toEqual({ secret: undefined, body: failed });
  });

  it('does not change the decoded body it was given', () => {
    const body = { secret: SECRET, t: 'SBER' };

    separateBodySecret(decoded(body));

    expect(body).toEqual({ secret: SECRET, t: 'SBER' });
  });
});
