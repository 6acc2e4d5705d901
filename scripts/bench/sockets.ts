/**
 * Which TCP connections to Redis belong to which child process (Linux /proc): MONITOR
 * names each command's client by address, so a stack's count includes exactly the
 * commands of its own process (not, say, the cache heartbeat of another idle stack).
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

function socketInodes(pid: number): Set<string> {
  const out = new Set<string>();
  let fds: string[] = [];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return out;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) out.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

/** `127.0.0.1:<port>` of every connection the process holds to the given Redis port. */
export function redisClientAddresses(pid: number, redisPort: number): Set<string> {
  const inodes = socketInodes(pid);
  const out = new Set<string>();
  const lines = readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1);
  for (const line of lines) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || !inodes.has(f[9]!)) continue;
    const [localHex, localPort] = f[1]!.split(':') as [string, string];
    const remotePort = Number.parseInt(f[2]!.split(':')[1]!, 16);
    if (remotePort !== redisPort) continue;
    const ip = (localHex.match(/../g) ?? []).reverse().map((b) => Number.parseInt(b, 16)).join('.');
    out.add(`${ip}:${Number.parseInt(localPort, 16)}`);
  }
  return out;
}
