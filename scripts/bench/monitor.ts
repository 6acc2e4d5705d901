/**
 * Counts the Redis commands a stack sends, with MONITOR on a separate connection in a
 * window of its own (MONITOR slows Redis down, so never during a throughput window).
 * MONITOR shows each top-level command once, and the commands a script runs inside
 * it tagged `lua`: a top-level command is one round trip; it "writes" when the command
 * is a write (COMMAND INFO flags) or when a script it ran wrote.
 */
import { Redis } from 'ioredis';

export interface CommandCount {
  /** Top-level commands (round trips). */
  commands: number;
  /** Top-level commands that wrote (themselves or through the script they ran). */
  writes: number;
  /** Top-level command names → count, e.g. { GET: 2000, SETEX: 2000 }. */
  byName: Record<string, number>;
}

export interface CommandCounter {
  stop(): Promise<CommandCount>;
}

const MARK = 'bench:monitor-mark';

/** Counts the commands of the connections `owner()` names (re-read at stop: reconnects). */
export async function countCommands(redisUrl: string, owner: () => Set<string>): Promise<CommandCounter> {
  const addresses = owner();
  const admin = new Redis(redisUrl, { protocol: 2 });
  const monClient = new Redis(redisUrl, { protocol: 2 });
  const mon = await monClient.monitor();
  const writeFlags = new Map<string, boolean>();
  const isWrite = async (name: string): Promise<boolean> => {
    let w = writeFlags.get(name);
    if (w === undefined) {
      const info = (await admin.call('COMMAND', 'INFO', name)) as [[string, number, string[]]?];
      w = info[0]?.[2]?.includes('write') ?? false;
      writeFlags.set(name, w);
    }
    return w;
  };

  type Line = { name: string; lua: boolean; source: string };
  const lines: Line[] = [];
  let phase: 'before' | 'in' | 'after' = 'before';
  let ended: () => void = () => {};
  const endSeen = new Promise<void>((r) => {
    ended = r;
  });
  mon.on('monitor', (_time: string, args: string[], source: string) => {
    const name = String(args[0]).toUpperCase();
    if (name === 'ECHO' && args[1] === MARK) {
      phase = phase === 'before' ? 'in' : 'after';
      if (phase === 'after') ended();
      return;
    }
    if (phase === 'in') lines.push({ name, lua: source === 'lua', source });
  });
  // MONITOR is now active; the marker opens the window in the server's own order.
  await admin.echo(MARK);

  return {
    async stop() {
      await admin.echo(MARK);
      await endSeen;
      for (const a of owner()) addresses.add(a);
      // A script's inner commands follow the EVALSHA that ran them (scripts are atomic).
      const tops: { name: string; wrote: boolean }[] = [];
      let ours = false;
      for (const l of lines) {
        const last = tops[tops.length - 1];
        if (l.lua) {
          if (ours && last && !last.wrote && (await isWrite(l.name))) last.wrote = true;
        } else {
          ours = addresses.has(l.source);
          if (ours) tops.push({ name: l.name, wrote: await isWrite(l.name) });
        }
      }
      return finish(tops);
    },
  };

  function finish(tops: { name: string; wrote: boolean }[]): CommandCount {
    const count: CommandCount = { commands: 0, writes: 0, byName: {} };
    for (const t of tops) {
      count.commands++;
      if (t.wrote) count.writes++;
      count.byName[t.name] = (count.byName[t.name] ?? 0) + 1;
    }
    mon.disconnect();
    monClient.disconnect();
    admin.disconnect();
    return count;
  }
}
