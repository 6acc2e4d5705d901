/**
 * A real Koa context over an unconnected socket, for unit tests of request-reading code
 * (headers, peer address, https): no server, no port, nothing sent.
 */
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import Koa, { type Context } from 'koa';

export interface FakeRequest {
  method?: string;
  headers?: Record<string, string | string[]>;
  /** The socket peer address (what req.socket.remoteAddress answers). */
  peer?: string;
  /** A TLS socket, as koa sees it (`ctx.secure`). */
  encrypted?: boolean;
}

export function contextFor({ method = 'POST', headers = {}, peer = '127.0.0.1', encrypted = false }: FakeRequest = {}): Context {
  const socket = new Socket();
  Object.defineProperty(socket, 'remoteAddress', { value: peer });
  if (encrypted) Object.defineProperty(socket, 'encrypted', { value: true });
  const req = new IncomingMessage(socket);
  req.method = method;
  req.url = '/';
  req.headers = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return new Koa().createContext(req, new ServerResponse(req));
}
