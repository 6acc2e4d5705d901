/**
 * The HTTP server around an app: bounded request times, and the graceful shutdown of
 * docs/deployment.md, "HAProxy, sticky sessions and rolling restarts" — /readyz turns
 * 503 at once, requests are still served for the drain period (load balancers notice
 * and move away), then the listener closes, in-flight requests get up to the shutdown
 * timeout, and finally the stores are closed.
 */
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type Koa from 'koa';
import type { Logger } from '../log.js';
import type { Lifecycle } from './routes/ops.js';

export interface ListenOptions {
  port: number;
  host: string;
  lifecycle: Lifecycle;
  drainMs: number;
  shutdownTimeoutMs: number;
  log: Logger;
  /** Closes what the server used (stores, Redis), after the last request. */
  onClosed?: () => Promise<void>;
}

export interface RunningServer {
  server: Server;
  port: number;
  url: string;
  /** Drain, stop, wait for in-flight requests, close the stores. Idempotent. */
  shutdown(): Promise<void>;
}

/** Slow clients are cut off: headers within 10 s, a whole request within 30 s (bounded bodies). */
const HEADERS_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 30_000;

export async function listen(app: Koa, o: ListenOptions): Promise<RunningServer> {
  const server = createServer({ headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS }, app.callback());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;

  let done: Promise<void> | undefined;
  const shutdown = () => {
    done ??= (async () => {
      o.lifecycle.draining = true;
      o.log.info({ event: 'server.draining', drainMs: o.drainMs }, 'shutting down: draining');
      await sleep(o.drainMs);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => {
        o.log.warn({ event: 'server.shutdown_timeout' }, 'in-flight requests cut off');
        server.closeAllConnections();
      }, o.shutdownTimeoutMs);
      timer.unref();
      // Keep-alive sockets that finish a request while we wait are closed as they go idle.
      const idle = setInterval(() => server.closeIdleConnections(), 100);
      await closed;
      clearInterval(idle);
      clearTimeout(timer);
      await o.onClosed?.();
      o.log.info({ event: 'server.stopped' }, 'stopped');
    })();
    return done;
  };

  return { server, port, url: `http://${host}:${port}`, shutdown };
}
