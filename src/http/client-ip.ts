/**
 * The client's IP for the login throttle and the session record (trusted proxy hops).
 * With TRUST_PROXY = N, the chain is X-Forwarded-For followed by the socket peer, and
 * the client is the entry N places left of the peer: each of our N proxies appended
 * the address it saw, so everything further left is what the client claimed and is
 * ignored. A forged X-Forwarded-For therefore cannot pick the IP a counter is kept for.
 */
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

const unmap = (ip: string): string => (ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip);

export function clientIp(req: IncomingMessage, trustProxy: number): string {
  const peer = unmap(req.socket.remoteAddress ?? '');
  if (trustProxy <= 0) return peer || 'unknown';
  const xff = req.headers['x-forwarded-for'];
  const listed = (Array.isArray(xff) ? xff.join(',') : (xff ?? ''))
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const chain = [...listed, peer];
  const chosen = unmap(chain[Math.max(0, chain.length - 1 - trustProxy)] ?? '');
  // Our own proxy wrote this entry; if it is not an address the setup is wrong: use the peer.
  return isIP(chosen) ? chosen : peer || 'unknown';
}
