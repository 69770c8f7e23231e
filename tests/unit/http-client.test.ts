import { Dispatcher } from 'undici';
import { describe, expect, it, vi } from 'vitest';
import { BrokerTimeoutError, BrokerUnavailableError, describeError } from '#shared/errors.ts';
import {
  endpoint,
  type HttpRequest,
  MAX_RESPONSE_BODY_BYTES,
  parseJsonText,
  sendHttpRequest,
} from '#shared/http/outbound/client.ts';
import { createDeadline, type Deadline, DeadlineSignal } from '#shared/http/outbound/deadline.ts';
import { useMockAgent } from '../helpers/mock-agent.ts';

const ORIGIN = 'https://api.broker.test';
const PATH = '/rest/Orders/PostOrder';
const QUERY_SECRET = 'Qsecret-refresh-token-77';
const BODY = '{"orderId":"0b7c2f4e-6a1d-5e3b-8c9f-1a2b3c4d5e6f"}';

const agent = useMockAgent({ enableCallHistory: true });

/** A deadline whose remaining time the test sets; its signal never fires on its own. */
function manualDeadline(remainingMs = 2000) {
  const deadline = { signal: new DeadlineSignal(), remainingMs: () => remainingMs } satisfies Deadline;
  return { deadline, setRemaining: (ms: number) => (remainingMs = ms) };
}

function request(overrides: Partial<HttpRequest> = {}): HttpRequest {
  return {
    endpoint: { origin: ORIGIN, path: PATH },
    headers: { authorization: 'Bearer t.token', 'x-reqid': 'req-1' },
    body: BODY,
    deadline: manualDeadline().deadline,
    idempotent: true,
    ...overrides,
  };
}

function pool() {
  return agent().get(ORIGIN);
}

function intercept(query?: Record<string, string>) {
  return pool().intercept({ path: PATH, method: 'POST', ...(query === undefined ? {} : { query }) });
}

function calls() {
  return agent().getCallHistory()?.calls() ?? [];
}

function networkError(code: string, message = `connect ${code} 10.0.0.1:443 ${ORIGIN}${PATH}?token=${QUERY_SECRET}`) {
  return Object.assign(new Error(message), { code });
}

/**
 * A dispatcher that starts the request and then plays `answer` on the handler, as undici calls a dispatch handler; its
 * controller's `abort` marks the request aborted and reports the reason as the request's error a turn later, as
 * undici does.
 */
function scriptedDispatcher(
  answer: (handler: Dispatcher.DispatchHandler, controller: Dispatcher.DispatchController) => void,
): Dispatcher {
  return new (class extends Dispatcher {
    override dispatch(_options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
      const controller = {
        aborted: false,
        paused: false,
        reason: null as Error | null,
        abort(reason: Error) {
          controller.aborted = true;
          controller.reason = reason;
          setImmediate(() => handler.onResponseError?.(controller, reason));
        },
        pause() {},
        resume() {},
      };
      handler.onRequestStart?.(controller, {});
      answer(handler, controller);
      return true;
    }
  })();
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

/** Nothing a caller or a log could see of the error names the URL or its query. */
function expectNoUrl(error: unknown): void {
  const visible = [
    String(error),
    (error as Error).message,
    (error as Error).stack ?? '',
    JSON.stringify(error),
    JSON.stringify(describeError(error)),
    (error as { detail?: string }).detail ?? '',
    (error as { publicMessage?: string }).publicMessage ?? '',
  ].join('\n');
  expect(visible).not.toContain(QUERY_SECRET);
  expect(visible).not.toContain('api.broker.test');
  expect(visible).not.toContain(PATH);
}

describe('endpoint', () => {
  it('joins a base URL with a path, keeping the base path and dropping its trailing slash', () => {
    expect(endpoint('https://invest.test/rest/', '/Svc/Method')).toEqual({
      origin: 'https://invest.test',
      path: '/rest/Svc/Method',
    });
    expect(endpoint('http://127.0.0.1:8080', '/refresh')).toEqual({
      origin: 'http://127.0.0.1:8080',
      path: '/refresh',
    });
  });
});

describe('parseJsonText', () => {
  it('parses JSON and returns undefined for anything else', () => {
    expect(parseJsonText('{"a":1}')).toEqual({ a: 1 });
    expect(parseJsonText('<html>')).toBeUndefined();
    expect(parseJsonText('')).toBeUndefined();
  });
});

describe('sendHttpRequest', () => {
  it('sends a POST with a JSON content type, the headers, the body and the query, and returns status and text', async () => {
    pool()
      .intercept({
        path: `${PATH}?token=${QUERY_SECRET}`,
        method: 'POST',
        body: BODY,
        headers: { 'content-type': 'application/json', authorization: 'Bearer t.token', 'x-reqid': 'req-1' },
      })
      .reply(200, '{"message":"success"}');

    const response = await sendHttpRequest(agent(), request({ query: `token=${QUERY_SECRET}` }));

    expect(response).toEqual({ statusCode: 200, text: '{"message":"success"}' });
  });

  it('returns a 4xx answer as is, without a retry', async () => {
    intercept().reply(400, '{"message":"refused"}');

    expect(await sendHttpRequest(agent(), request())).toEqual({ statusCode: 400, text: '{"message":"refused"}' });
    expect(calls()).toHaveLength(1);
  });

  describe('retries', () => {
    it.each([502, 503, 504])('resends an idempotent request once after a %i, the same request', async (status) => {
      intercept().reply(status, 'Bad gateway');
      intercept().reply(200, '{"ok":true}');

      const response = await sendHttpRequest(agent(), request());

      expect(response).toEqual({ statusCode: 200, text: '{"ok":true}', resent: true });
      const [first, second] = calls();
      expect(second?.body).toBe(first?.body);
      expect(second?.headers).toEqual(first?.headers);
      expect(calls()).toHaveLength(2);
    });

    it('resends only once: a second 503 is returned', async () => {
      intercept().reply(503, 'one').times(2);

      expect(await sendHttpRequest(agent(), request())).toEqual({ statusCode: 503, text: 'one', resent: true });
      expect(calls()).toHaveLength(2);
    });

    it.each([500, 429])('does not resend after a %i', async (status) => {
      intercept().reply(status, 'no');

      expect((await sendHttpRequest(agent(), request())).statusCode).toBe(status);
      expect(calls()).toHaveLength(1);
    });

    it('does not resend a non-idempotent request after a 502', async () => {
      intercept().reply(502, 'Bad gateway');

      expect(await sendHttpRequest(agent(), request({ idempotent: false }))).toEqual({
        statusCode: 502,
        text: 'Bad gateway',
      });
      expect(calls()).toHaveLength(1);
    });

    it.each(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET'])('resends an idempotent request after %s', async (code) => {
      intercept().replyWithError(networkError(code));
      intercept().reply(200, 'ok');

      expect(await sendHttpRequest(agent(), request())).toEqual({ statusCode: 200, text: 'ok', resent: true });
      expect(calls()).toHaveLength(2);
    });

    it('does not resend a non-idempotent request after a reset: the broker may have acted on it', async () => {
      intercept().replyWithError(networkError('ECONNRESET'));

      const error = await rejection(sendHttpRequest(agent(), request({ idempotent: false })));

      expect(error).toBeInstanceOf(BrokerUnavailableError);
      expect(error).toMatchObject({ statusCode: 502, detail: 'ECONNRESET', retriable: false });
      expect(calls()).toHaveLength(1);
    });

    it.each(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT'])(
      'resends even a non-idempotent request after %s: it was never sent',
      async (code) => {
        intercept().replyWithError(networkError(code));
        intercept().reply(200, 'ok');

        expect(await sendHttpRequest(agent(), request({ idempotent: false }))).toEqual({
          statusCode: 200,
          text: 'ok',
        });
        expect(calls()).toHaveLength(2);
      },
    );

    it('gives up after one resend of a request that was never sent', async () => {
      intercept().replyWithError(networkError('ECONNREFUSED')).times(2);

      const error = await rejection(sendHttpRequest(agent(), request({ idempotent: false })));

      expect(error).toMatchObject({ statusCode: 502, detail: 'ECONNREFUSED', retriable: true });
      expect(calls()).toHaveLength(2);
    });

    it('does not resend after a 502 when less than 100 ms of the deadline is left', async () => {
      const { deadline, setRemaining } = manualDeadline(2000);
      intercept().reply(() => {
        setRemaining(99);
        return { statusCode: 502, data: 'Bad gateway' };
      });

      expect((await sendHttpRequest(agent(), request({ deadline }))).statusCode).toBe(502);
      expect(calls()).toHaveLength(1);
    });

    it('does not resend a refused connection when less than 100 ms of the deadline is left', async () => {
      // 2000 ms when the request is sent, 99 ms once it has failed.
      const remaining = [2000, 99];
      const deadline = { signal: new DeadlineSignal(), remainingMs: () => remaining.shift() ?? 99 };
      intercept().replyWithError(networkError('ECONNREFUSED'));

      const error = await rejection(sendHttpRequest(agent(), request({ deadline, idempotent: false })));

      expect(error).toBeInstanceOf(BrokerUnavailableError);
      expect(calls()).toHaveLength(1);
    });

    it('resends with exactly 100 ms left', async () => {
      const { deadline, setRemaining } = manualDeadline(2000);
      intercept().reply(() => {
        setRemaining(100);
        return { statusCode: 504, data: '' };
      });
      intercept().reply(200, 'ok');

      expect((await sendHttpRequest(agent(), request({ deadline }))).statusCode).toBe(200);
    });
  });

  describe('the deadline', () => {
    it('answers BrokerTimeoutError when the broker does not answer in time, and does not resend', async () => {
      intercept().reply(200, 'late').delay(2000);

      const error = await rejection(sendHttpRequest(agent(), request({ deadline: createDeadline(50) })));

      expect(error).toBeInstanceOf(BrokerTimeoutError);
      expect(error).toMatchObject({ statusCode: 504, publicMessage: 'Брокер не ответил вовремя' });
      expect(calls()).toHaveLength(1);
    });

    it.each(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT'])(
      'answers BrokerTimeoutError on undici’s %s, without a resend',
      async (code) => {
        intercept().replyWithError(networkError(code));

        const error = await rejection(sendHttpRequest(agent(), request()));

        expect(error).toBeInstanceOf(BrokerTimeoutError);
        expect(error).toMatchObject({ detail: code });
        expect(calls()).toHaveLength(1);
      },
    );

    it('sends nothing once the deadline has passed', async () => {
      const error = await rejection(sendHttpRequest(agent(), request({ deadline: manualDeadline(0).deadline })));

      expect(error).toBeInstanceOf(BrokerTimeoutError);
      expect(error).toMatchObject({ detail: 'deadline passed before sending' });
      expect(calls()).toHaveLength(0);
    });

    it('signals once, as AbortSignal.timeout does: aborted, a TimeoutError reason, one abort event', async () => {
      const { signal } = createDeadline(5);
      expect(signal).toBeInstanceOf(DeadlineSignal);
      const emitter = signal as DeadlineSignal;
      let aborts = 0;
      emitter.on('abort', () => aborts++);
      expect(emitter.aborted).toBe(false);

      await new Promise((resolve) => setTimeout(resolve, 30));
      emitter.abort(new Error('later'));

      expect(emitter.aborted).toBe(true);
      expect(emitter.reason).toMatchObject({ name: 'TimeoutError' });
      expect(aborts).toBe(1);
    });

    it('tells the broker call its timeout as AbortSignal.timeout did (the logged detail stays TimeoutError)', async () => {
      intercept().reply(200, 'late').delay(2000);

      const error = await rejection(sendHttpRequest(agent(), request({ deadline: createDeadline(20) })));

      expect(error).toMatchObject({ detail: 'TimeoutError' });
    });
  });

  describe('the body cap', () => {
    it('accepts a body of exactly 1 MiB', async () => {
      intercept().reply(200, Buffer.alloc(MAX_RESPONSE_BODY_BYTES, 0x61));

      expect((await sendHttpRequest(agent(), request())).text).toHaveLength(1024 * 1024);
    });

    it('refuses a body over 1 MiB as the broker unavailable, without a resend', async () => {
      intercept().reply(200, Buffer.alloc(MAX_RESPONSE_BODY_BYTES + 1, 0x61));

      const error = await rejection(sendHttpRequest(agent(), request()));

      expect(error).toBeInstanceOf(BrokerUnavailableError);
      expect(error).toMatchObject({ statusCode: 502, detail: 'body too large', retriable: false });
      expect(calls()).toHaveLength(1);
    });

    it('fails, rather than waits, when the connection is lost after the headers, before the body’s end', async () => {
      const losesConnection = scriptedDispatcher((handler, controller) => {
        handler.onResponseStart?.(controller, 200, { 'content-length': '100' }, 'OK');
        handler.onResponseData?.(controller, Buffer.from('{"orderNumber":'));
        setImmediate(() => handler.onResponseError?.(controller, networkError('UND_ERR_SOCKET')));
      });

      const error = await rejection(sendHttpRequest(losesConnection, request({ idempotent: false })));

      expect(error).toBeInstanceOf(BrokerUnavailableError);
      expect(error).toMatchObject({ statusCode: 502, detail: 'UND_ERR_SOCKET' });
    });

    it('never answers with a body cut at the cap, even if the end is reported before the abort’s error', async () => {
      const endsAfterAbort = scriptedDispatcher((handler, controller) => {
        handler.onResponseStart?.(controller, 200, {}, 'OK');
        handler.onResponseData?.(controller, Buffer.alloc(MAX_RESPONSE_BODY_BYTES + 1, 0x61));
        handler.onResponseEnd?.(controller, {});
      });

      const error = await rejection(sendHttpRequest(endsAfterAbort, request()));

      expect(error).toMatchObject({ statusCode: 502, detail: 'body too large' });
    });

    it('times out a body that stops arriving, at the deadline', async () => {
      // Part of the body, then nothing: only the deadline ends the request.
      const stalls = scriptedDispatcher((handler, controller) => {
        handler.onResponseStart?.(controller, 200, {}, 'OK');
        handler.onResponseData?.(controller, Buffer.from('{"orderNumber":'));
      });

      const error = await rejection(sendHttpRequest(stalls, request({ deadline: createDeadline(20) })));

      expect(error).toBeInstanceOf(BrokerTimeoutError);
      expect(error).toMatchObject({ statusCode: 504, detail: 'TimeoutError' });
    });

    it('refuses a declared content-length over 1 MiB before reading the body', async () => {
      intercept().reply(200, 'small', { headers: { 'content-length': String(MAX_RESPONSE_BODY_BYTES + 1) } });

      const error = await rejection(sendHttpRequest(agent(), request()));

      expect(error).toMatchObject({ detail: 'body too large' });
    });
  });

  describe('errors never name the URL', () => {
    it.each([
      ['a reset', 'ECONNRESET', false],
      ['a refused connection', 'ECONNREFUSED', true],
      ['a DNS failure', 'ENOTFOUND', true],
      ['an unknown failure', 'EWHATEVER', false],
    ])('%s', async (_case, code, retried) => {
      intercept({ token: QUERY_SECRET })
        .replyWithError(networkError(code))
        .times(retried ? 2 : 1);

      const error = await rejection(
        sendHttpRequest(agent(), request({ query: `token=${QUERY_SECRET}`, idempotent: false })),
      );

      expect(error).toBeInstanceOf(BrokerUnavailableError);
      expectNoUrl(error);
    });

    it('on a request no route matches (undici quotes the path in its own message)', async () => {
      pool().intercept({ path: '/other', method: 'POST' }).reply(200, 'x');

      const error = await rejection(sendHttpRequest(agent(), request({ query: `token=${QUERY_SECRET}` })));

      expect(error).toBeInstanceOf(BrokerUnavailableError);
      expectNoUrl(error);
      // Leave the unused route satisfied for assertNoPendingInterceptors.
      await sendHttpRequest(agent(), request({ endpoint: { origin: ORIGIN, path: '/other' } }));
    });

    it('on a timeout', async () => {
      intercept({ token: QUERY_SECRET }).reply(200, 'late').delay(2000);

      const error = await rejection(
        sendHttpRequest(agent(), request({ query: `token=${QUERY_SECRET}`, deadline: createDeadline(20) })),
      );

      expect(error).toBeInstanceOf(BrokerTimeoutError);
      expectNoUrl(error);
    });
  });
});

describe('the deadline, on a fake clock (docs/contract.md#deadline-and-retries)', () => {
  it('ends a call the broker never answers exactly at BROKER_TIMEOUT_MS, as a timeout, never resent', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    try {
      let dispatched = 0;
      const hangs = scriptedDispatcher(() => {
        dispatched += 1;
      });
      const call = sendHttpRequest(hangs, request({ deadline: createDeadline(2500) }));
      const settled = vi.fn();
      call.then(settled, settled);

      await vi.advanceTimersByTimeAsync(2499);
      expect(settled).not.toHaveBeenCalled();
      await vi.advanceTimersByTimeAsync(1);

      expect(await rejection(call)).toBeInstanceOf(BrokerTimeoutError);
      expect(dispatched).toBe(1);
    } finally {
      vi.useRealTimers();
    }
  });
});
