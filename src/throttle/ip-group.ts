/**
 * The address a per-IP login counter is kept for. One IPv6 subscriber usually holds a
 * whole /64 (SLAAC, privacy addresses), so counting per full IPv6 address would give an
 * attacker 2^64 fresh counters; the /64 is the smallest block a single client can be
 * assumed to control. IPv4 addresses are scarce enough to count one by one, and an
 * IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, as a dual-stack socket reports IPv4
 * peers) is that IPv4 address. Anything that is not an IP address is kept as it is.
 */
import { isIP } from 'node:net';

/** The eight 16-bit groups of an IPv6 address (dotted IPv4 tail allowed), or null. */
function hextets(ip: string): number[] | null {
  let s = ip;
  const tail: number[] = [];
  const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (dotted) {
    const b = dotted[2]!.split('.').map(Number);
    tail.push((b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!);
    s = dotted[1]!.endsWith('::') ? dotted[1]! : dotted[1]!.slice(0, -1);
  }
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const part = (p: string) => (p === '' ? [] : p.split(':').map((h) => Number.parseInt(h, 16)));
  const head = part(halves[0]!);
  const rest = halves.length === 2 ? part(halves[1]!) : [];
  const missing = 8 - head.length - rest.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 0) return null;
  const all = [...head, ...Array<number>(Math.max(0, missing)).fill(0), ...rest, ...tail];
  return all.length === 8 && all.every((h) => Number.isInteger(h) && h >= 0 && h <= 0xffff) ? all : null;
}

export function ipGroup(ip: string): string {
  const bare = ip.replace(/%.*$/, ''); // a zone (`fe80::1%eth0`) names our interface, not the client
  const family = isIP(bare);
  if (family === 4) return bare;
  if (family !== 6) return ip;
  const h = hextets(bare.toLowerCase());
  if (!h) return ip;
  if (h.slice(0, 5).every((x) => x === 0) && h[5] === 0xffff) {
    return `${h[6]! >> 8}.${h[6]! & 0xff}.${h[7]! >> 8}.${h[7]! & 0xff}`;
  }
  return `${h.slice(0, 4).map((x) => x.toString(16)).join(':')}::/64`;
}
