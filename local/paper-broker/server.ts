import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { readRequestBody } from '../http-body.ts';

/**
 * The HTTP side of a paper broker: a loopback server that counts what it receives (requests, new TCP
 * connections, time spent answering) and can be told to misbehave the way real networks and brokers do.
 */

/** Ways to misbehave, each for one matching request. */
export type Fault =
  | { readonly kind: 'hang-before-headers' }
  | { readonly kind: 'hang-mid-body' }
  | { readonly kind: 'reset' }
  /** The broker acts on the request, sends the headers and half the body, then resets the connection. */
  | { readonly kind: 'reset-mid-body' }
  | { readonly kind: 'delay'; readonly ms: number }
  | { readonly kind: 'status'; readonly status: number; readonly body?: string; readonly contentType?: string }
  | { readonly kind: 'huge-body'; readonly bytes: number };

export interface FaultRule {
  /** Which route it applies to (the route names each broker defines), or any. */
  readonly route?: string;
  readonly fault: Fault;
  /** How many matching requests it applies to before it is used up. */
  times: number;
}

export interface ServerStats {
  requests: number;
  connections: number;
  readonly byRoute: Record<string, number>;
  /** Total time the broker spent on requests, from the request's end to the answer's end (ms). */
  busyMs: number;
  /** Requests whose exchange is over: answered, or abandoned by the client. Equal to `requests` when nothing is open. */
  settled: number;
}

/** One request as the broker received it, before any fault: what a test checks ids and retries against. */
export interface ReceivedRequest {
  readonly route: string;
  /** Path and query, as sent. */
  readonly target: string;
  readonly headers: IncomingMessage['headers'];
  readonly rawBody: string;
}

export interface JsonAnswer {
  readonly status: number;
  readonly body?: unknown;
  /** A plain-text answer instead of JSON (Alor's cancel answers `success` as `text/plain`). */
  readonly text?: string;
}

export interface BrokerRequest {
  readonly method: string;
  readonly url: URL;
  /** The route path's `{name}` segments, decoded. */
  readonly params: Readonly<Record<string, string>>;
  readonly headers: IncomingMessage['headers'];
  readonly rawBody: string;
  /** `undefined` when the body is not JSON. */
  readonly json: unknown;
}

export interface Route {
  readonly name: string;
  readonly method: 'POST' | 'GET' | 'DELETE';
  /** A path, whose `{name}` segments match any one segment (`/md/v2/Securities/{exchange}/{symbol}`). */
  readonly path: string;
  readonly handle: (request: BrokerRequest) => JsonAnswer;
}

export interface PaperServer {
  readonly url: string;
  readonly stats: ServerStats;
  /** Every request received (the latest {@link MAX_RECEIVED_KEPT}), faulted ones included; cleared by `resetStats`. */
  readonly received: readonly ReceivedRequest[];
  injectFault(rule: { route?: string; fault: Fault; times?: number }): void;
  clearFaults(): void;
  resetStats(): void;
  close(): Promise<void>;
}

/** Hung requests are released when the server closes, so nothing outlives a test. */
const MAX_HANG_MS = 60_000;
const MAX_REQUEST_BYTES = 64 * 1024;
const MAX_RECEIVED_KEPT = 10_000;

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function sendJson(response: ServerResponse, answer: JsonAnswer): void {
  const plain = answer.text !== undefined;
  const text = plain ? (answer.text ?? '') : answer.body === undefined ? '' : JSON.stringify(answer.body);
  response.writeHead(answer.status, {
    'content-type': plain ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** The route that takes a request, and the values of its path's `{name}` segments. */
function routeMatcher(routes: readonly Route[]) {
  const compiled = routes.map((route) => {
    const names: string[] = [];
    const pattern = route.path
      .split('/')
      .map((segment) => {
        const name = /^\{(\w+)\}$/.exec(segment)?.[1];
        if (name === undefined) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        names.push(name);
        return '([^/]+)';
      })
      .join('/');
    return { route, names, regex: new RegExp(`^${pattern}$`) };
  });
  return (method: string | undefined, pathname: string) => {
    for (const { route, names, regex } of compiled) {
      const match = route.method === method ? regex.exec(pathname) : null;
      if (match === null) continue;
      const params = Object.fromEntries(names.map((name, index) => [name, decodeSegment(match[index + 1] ?? '')]));
      return { route, params };
    }
    return undefined;
  };
}

export async function startPaperServer(routes: readonly Route[], port = 0): Promise<PaperServer> {
  const matchRoute = routeMatcher(routes);
  const stats: ServerStats = { requests: 0, connections: 0, byRoute: {}, busyMs: 0, settled: 0 };
  let faults: FaultRule[] = [];
  const received: ReceivedRequest[] = [];
  const sockets = new Set<Socket>();
  const hangs = new Set<NodeJS.Timeout>();

  const hang = (response: ServerResponse) => {
    const timer = setTimeout(() => response.destroy(), MAX_HANG_MS);
    hangs.add(timer);
    response.on('close', () => {
      clearTimeout(timer);
      hangs.delete(timer);
    });
  };

  const takeFault = (route: string): Fault | undefined => {
    const rule = faults.find((candidate) => candidate.route === undefined || candidate.route === route);
    if (rule === undefined) return undefined;
    rule.times -= 1;
    if (rule.times <= 0) faults = faults.filter((candidate) => candidate !== rule);
    return rule.fault;
  };

  const server: Server = createServer(async (request, response) => {
    const body = await readRequestBody(request, MAX_REQUEST_BYTES);
    if (body.tooLarge) {
      // The rest of the body is left unread: the connection cannot carry another request.
      response.setHeader('connection', 'close');
      return sendJson(response, { status: 413, body: { message: 'Request Entity Too Large' } });
    }
    const rawBody = body.bytes.toString('utf8');
    const startedAt = performance.now();
    stats.requests += 1;
    const url = new URL(request.url ?? '/', 'http://paper.local');
    const matched = matchRoute(request.method, url.pathname);
    const route = matched?.route;
    const routeName = route?.name ?? 'unknown';
    stats.byRoute[routeName] = (stats.byRoute[routeName] ?? 0) + 1;
    if (received.length >= MAX_RECEIVED_KEPT) received.shift();
    received.push({ route: routeName, target: request.url ?? '/', headers: request.headers, rawBody });
    response.on('finish', () => {
      stats.busyMs += performance.now() - startedAt;
    });
    response.on('close', () => {
      stats.settled += 1;
    });

    const fault = takeFault(routeName);
    if (fault?.kind === 'hang-before-headers') return hang(response);
    if (fault?.kind === 'reset') return request.socket.resetAndDestroy();
    if (fault?.kind === 'delay') await new Promise((resolve) => setTimeout(resolve, fault.ms));
    if (fault?.kind === 'status') {
      response.writeHead(fault.status, { 'content-type': fault.contentType ?? 'application/json' });
      return response.end(fault.body ?? '');
    }
    if (fault?.kind === 'huge-body') {
      response.writeHead(200, { 'content-type': 'application/json' });
      return response.end(`{"message":"${'x'.repeat(fault.bytes)}"}`);
    }
    if (route === undefined) return sendJson(response, { status: 404, body: { message: 'Not Found' } });

    const answer = route.handle({
      method: request.method ?? 'GET',
      url,
      params: matched?.params ?? {},
      headers: request.headers,
      rawBody,
      json: parseJson(rawBody),
    });
    if (fault?.kind === 'hang-mid-body' || fault?.kind === 'reset-mid-body') {
      const text = JSON.stringify(answer.body ?? {});
      response.writeHead(answer.status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(text),
      });
      const resetAfterWrite = fault.kind === 'reset-mid-body';
      response.write(text.slice(0, Math.floor(text.length / 2)), () => {
        if (resetAfterWrite) request.socket.resetAndDestroy();
      });
      return resetAfterWrite ? undefined : hang(response);
    }
    sendJson(response, answer);
  });
  server.on('connection', (socket) => {
    stats.connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const { port: boundPort } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${boundPort}`,
    stats,
    received,
    injectFault: ({ route, fault, times = 1 }) => {
      faults.push(route === undefined ? { fault, times } : { route, fault, times });
    },
    clearFaults: () => {
      faults = [];
    },
    resetStats: () => {
      Object.assign(stats, { requests: 0, connections: 0, busyMs: 0, settled: 0 });
      for (const key of Object.keys(stats.byRoute)) delete stats.byRoute[key];
      received.length = 0;
    },
    close: async () => {
      for (const timer of hangs) clearTimeout(timer);
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
