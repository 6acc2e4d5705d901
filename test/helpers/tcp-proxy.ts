/**
 * A loopback TCP proxy for network fault injection. It sits between
 * the app and a redis-server and can be switched, at any time and for every
 * connection, between:
 *
 * - `pass`      forward bytes both ways;
 * - `delay`     forward each chunk `ms` later (order kept, like a slow link);
 * - `blackhole` accept connections but answer nothing and send no FIN or RST: bytes are
 *               held, not dropped, because TCP never loses bytes inside a live
 *               connection; dropping them would desynchronise the client's reply queue,
 *               a fault no real network produces. Healing (`pass`) delivers the held
 *               bytes late, which is what a partition that heals before the kernel gives
 *               up looks like (and what `CLIENT PAUSE` looks like from the client);
 * - `reset`     destroy every connection with an RST, and RST new ones at once.
 */
import { type Server, type Socket, createConnection, createServer } from 'node:net';

export type ProxyMode =
  | { kind: 'pass' }
  | { kind: 'delay'; ms: number }
  | { kind: 'blackhole' }
  | { kind: 'reset' };

export interface TcpProxy {
  readonly port: number;
  /** `redis://127.0.0.1:<port>` — handy when the upstream is Redis. */
  readonly url: string;
  setMode(mode: ProxyMode): void;
  readonly mode: ProxyMode;
  /** Client connections currently open through the proxy. */
  connectionCount(): number;
  /** Client connections accepted since the proxy started. */
  acceptedCount(): number;
  close(): Promise<void>;
}

interface Pipe {
  client: Socket;
  upstream?: Socket;
  /** Chunks waiting while the link is blackholed (or not yet connected). */
  held: { toUpstream: Buffer[]; toClient: Buffer[] };
  /** When the last delayed chunk of each direction goes out, so order survives a switch. */
  due: { toUpstream: number; toClient: number };
}

export async function startTcpProxy(target: { host?: string; port: number }): Promise<TcpProxy> {
  const host = target.host ?? '127.0.0.1';
  let mode: ProxyMode = { kind: 'pass' };
  let accepted = 0;
  const pipes = new Set<Pipe>();

  const send = (pipe: Pipe, dir: 'toUpstream' | 'toClient', chunk: Buffer) => {
    const out = dir === 'toUpstream' ? pipe.upstream : pipe.client;
    if (mode.kind === 'blackhole' || !out || out.connecting) {
      pipe.held[dir].push(chunk);
      return;
    }
    const now = Date.now();
    const at = Math.max(now + (mode.kind === 'delay' ? mode.ms : 0), pipe.due[dir]);
    if (at <= now) {
      out.write(chunk);
      return;
    }
    pipe.due[dir] = at;
    setTimeout(() => { if (!out.destroyed) out.write(chunk); }, at - now).unref();
  };

  const flush = (pipe: Pipe) => {
    if (!pipe.upstream || pipe.upstream.connecting) return;
    for (const dir of ['toUpstream', 'toClient'] as const) {
      const chunks = pipe.held[dir].splice(0);
      for (const c of chunks) send(pipe, dir, c);
    }
  };

  // Only the client side gets the RST; the upstream side just goes away. A client that
  // already hung up gets no RST: resetAndDestroy() on a socket whose peer has closed
  // never releases its handle, and the process would not exit.
  const reset = (pipe: Pipe) => {
    pipes.delete(pipe);
    const c = pipe.client;
    if (c.readableEnded || !c.writable) c.destroy();
    else c.resetAndDestroy();
    pipe.upstream?.destroy();
  };

  const connectUpstream = (pipe: Pipe) => {
    const up = createConnection({ host, port: target.port });
    pipe.upstream = up;
    up.on('connect', () => flush(pipe));
    up.on('data', (c: Buffer) => send(pipe, 'toClient', c));
    // An upstream that dies (redis SIGKILLed) ends the client side the same way.
    up.on('error', () => { pipes.delete(pipe); pipe.client.destroy(); });
    up.on('close', () => { pipes.delete(pipe); pipe.client.destroy(); });
  };

  const server: Server = createServer((client) => {
    accepted++;
    const pipe: Pipe = { client, held: { toUpstream: [], toClient: [] }, due: { toUpstream: 0, toClient: 0 } };
    pipes.add(pipe);
    client.on('error', () => {});
    client.on('close', () => { pipes.delete(pipe); pipe.upstream?.destroy(); });
    if (mode.kind === 'reset') {
      reset(pipe);
      return;
    }
    client.on('data', (c: Buffer) => send(pipe, 'toUpstream', c));
    // A blackholed link does not even complete the upstream handshake: the client sees
    // an open socket (the kernel accepted it) that never answers.
    if (mode.kind !== 'blackhole') connectUpstream(pipe);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;

  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get mode() {
      return mode;
    },
    setMode(next: ProxyMode) {
      mode = next;
      for (const pipe of [...pipes]) {
        if (next.kind === 'reset') reset(pipe);
        else if (next.kind !== 'blackhole') {
          if (!pipe.upstream) connectUpstream(pipe);
          else flush(pipe);
        }
      }
    },
    connectionCount: () => pipes.size,
    acceptedCount: () => accepted,
    close() {
      for (const pipe of [...pipes]) {
        pipes.delete(pipe);
        pipe.client.destroy();
        pipe.upstream?.destroy();
      }
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
