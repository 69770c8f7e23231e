import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createTcpServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';

/**
 * A broker origin as the function meets it in production, on 127.0.0.1: TLS with a certificate from a throwaway CA
 * (trusted the way Node trusts a private CA in production, `NODE_EXTRA_CA_CERTS`), behind a link that delays every
 * byte by half a round trip each way. A TCP handshake costs one round trip on a real link but nothing on loopback, so
 * the link holds a connection's first bytes for one more round trip: the client cannot have sent them earlier.
 */

export interface ThrowawayCa {
  /** PEM file of the CA certificate, for `NODE_EXTRA_CA_CERTS`. */
  readonly caFile: string;
  readonly key: Buffer;
  readonly cert: Buffer;
  /** Removes the folder holding the CA and its key. */
  dispose(): void;
}

/** A CA and a certificate for 127.0.0.1 signed by it, made with the openssl CLI, valid for a day. */
export function makeThrowawayCa(): ThrowawayCa {
  const dir = mkdtempSync(join(tmpdir(), 'ppp-bench-ca-'));
  const file = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  openssl(
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=ppp-webhooks bench CA',
    '-keyout',
    file('ca.key'),
    '-out',
    file('ca.pem'),
  );
  writeFileSync(file('leaf.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  openssl(
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-subj',
    '/CN=127.0.0.1',
    '-keyout',
    file('leaf.key'),
    '-out',
    file('leaf.csr'),
  );
  openssl(
    'x509',
    '-req',
    '-in',
    file('leaf.csr'),
    '-CA',
    file('ca.pem'),
    '-CAkey',
    file('ca.key'),
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    file('leaf.ext'),
    '-out',
    file('leaf.pem'),
  );
  return {
    caFile: file('ca.pem'),
    key: readFileSync(file('leaf.key')),
    cert: readFileSync(file('leaf.pem')),
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface DelayedOrigin {
  /** `https://127.0.0.1:<port>`: what the function is configured with. */
  readonly url: string;
  /** TCP connections the function opened to this origin. */
  readonly connections: () => number;
  close(): Promise<void>;
}

/** Forwards `from` to `to`, each chunk `delayMs` later, in order; the first chunk `firstExtraMs` later still. */
function delayedPipe(from: Socket, to: Socket, delayMs: number, firstExtraMs: number): void {
  let lastDue = 0;
  let first = true;
  from.on('data', (chunk: Buffer) => {
    const due = Math.max(performance.now() + delayMs + (first ? firstExtraMs : 0), lastDue);
    first = false;
    lastDue = due;
    setTimeout(() => to.write(chunk), due - performance.now());
  });
  from.on('end', () => setTimeout(() => to.end(), Math.max(0, lastDue - performance.now())));
  from.on('error', () => to.destroy());
  from.on('close', () => setTimeout(() => to.destroy(), Math.max(0, lastDue - performance.now())));
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : 0);
    });
  });
}

/** A TLS origin for the plain-HTTP server at `target`, behind a link with round trip `rttMs`. */
export async function startDelayedOrigin(target: string, rttMs: number, ca: ThrowawayCa): Promise<DelayedOrigin> {
  const targetPort = Number(new URL(target).port);
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    // Nagle's algorithm would hold small writes for an ACK: a link adds its delay, nothing else.
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };

  const tls = createTlsServer({ key: ca.key, cert: ca.cert }, (secure) => {
    const upstream = tcpConnect(targetPort, '127.0.0.1');
    track(upstream);
    secure.pipe(upstream).pipe(secure);
    secure.on('error', () => upstream.destroy());
    upstream.on('error', () => secure.destroy());
  });
  tls.on('connection', track);
  const tlsPort = await listen(tls);

  let connections = 0;
  const link = createTcpServer((client) => {
    connections += 1;
    track(client);
    const server = tcpConnect(tlsPort, '127.0.0.1');
    track(server);
    delayedPipe(client, server, rttMs / 2, rttMs);
    delayedPipe(server, client, rttMs / 2, 0);
  });
  const linkPort = await listen(link);

  return {
    url: `https://127.0.0.1:${linkPort}`,
    connections: () => connections,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await Promise.all([
        new Promise<void>((resolve) => link.close(() => resolve())),
        new Promise<void>((resolve) => tls.close(() => resolve())),
      ]);
    },
  };
}
