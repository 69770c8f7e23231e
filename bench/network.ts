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
 * the link holds a connection's first bytes until one round trip after the connection reached it: the client cannot
 * have sent them earlier. A client that writes as soon as it is connected waits that round trip in full; one whose
 * event loop was busy between its connect and its first write (a cold process's init, where the TLS ClientHello
 * waits for a turn of the loop) waits only what is left of it, as on a real link, where the TCP handshake completes
 * meanwhile.
 */

export interface ThrowawayCa {
  /** PEM file of the CA certificate, for `NODE_EXTRA_CA_CERTS`. */
  readonly caFile: string;
  readonly key: Buffer;
  readonly cert: Buffer;
  /**
   * Removes the folder holding the CA's certificate (its key is gone as soon as the certificate is signed); until then
   * a SIGINT or SIGTERM removes it too.
   */
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
  const key = readFileSync(file('leaf.key'));
  const cert = readFileSync(file('leaf.pem'));
  // Only the CA's certificate has to stay on disk (for NODE_EXTRA_CA_CERTS): a run killed outright (SIGKILL), whose
  // cleanup never comes, then leaves no private key behind.
  for (const name of ['ca.key', 'ca.srl', 'leaf.key', 'leaf.csr', 'leaf.ext', 'leaf.pem'])
    rmSync(file(name), { force: true });
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  // Ctrl-C or a kill skips the run's `finally`: the folder is removed first, then the signal ends the run as it would.
  const removeDirOnSignal = (signal: NodeJS.Signals) => {
    removeDir();
    process.kill(process.pid, signal);
  };
  process.once('SIGINT', removeDirOnSignal);
  process.once('SIGTERM', removeDirOnSignal);
  return {
    caFile: file('ca.pem'),
    key,
    cert,
    dispose: () => {
      process.off('SIGINT', removeDirOnSignal);
      process.off('SIGTERM', removeDirOnSignal);
      removeDir();
    },
  };
}

export interface DelayedOrigin {
  /** `https://127.0.0.1:<port>`: what the function is configured with. */
  readonly url: string;
  /** TCP connections the function opened to this origin. */
  readonly connections: () => number;
  close(): Promise<void>;
}

/**
 * Node's timers fire on whole milliseconds of the event loop's clock, up to a millisecond early or late: a link
 * timed by them alone adds that much jitter to every hop. The link sleeps until this close to a step's time, then
 * waits out the rest in event-loop turns, so each step happens within a few microseconds of its time.
 */
const TIMER_MARGIN_MS = 2;

/**
 * Forwards `from` to `to`, each chunk `delayMs` later, in order; the first chunk as if sent no earlier than
 * `firstSendableAt` (a `performance.now()` time).
 */
function delayedPipe(from: Socket, to: Socket, delayMs: number, firstSendableAt = 0): void {
  const steps: { readonly due: number; readonly run: () => void }[] = [];
  let lastDue = 0;
  let first = true;
  let waiting = false;
  const runDueSteps = () => {
    waiting = false;
    while (steps.length > 0 && (steps[0]?.due ?? 0) <= performance.now()) steps.shift()?.run();
    waitForNextStep();
  };
  const waitForNextStep = () => {
    const next = steps[0];
    if (next === undefined || waiting) return;
    waiting = true;
    const sleepMs = next.due - performance.now() - TIMER_MARGIN_MS;
    if (sleepMs > 0) setTimeout(runDueSteps, sleepMs);
    else setImmediate(runDueSteps);
  };
  const after = (due: number, run: () => void) => {
    steps.push({ due, run });
    waitForNextStep();
  };
  from.on('data', (chunk: Buffer) => {
    const sentAt = first ? Math.max(performance.now(), firstSendableAt) : performance.now();
    lastDue = Math.max(sentAt + delayMs, lastDue);
    first = false;
    after(lastDue, () => to.write(chunk));
  });
  from.on('end', () => after(lastDue, () => to.end()));
  from.on('error', () => to.destroy());
  from.on('close', () => after(lastDue, () => to.destroy()));
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
    delayedPipe(client, server, rttMs / 2, performance.now() + rttMs);
    delayedPipe(server, client, rttMs / 2);
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
