/**
 * Preloaded (`--import`) into every benchmark child, never part of the product. Over
 * the IPC channel the harness asks for the child's CPU time (app CPU per request =
 * delta / requests) and, during the login storm, for its event-loop delay. Nothing runs
 * until asked, so the hook costs the measured path nothing.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

export type HookRequest = { id: number; type: 'stats' | 'eld-start' | 'eld-stop' };
export interface ChildStats {
  /** process.cpuUsage(): user + system µs since start. */
  cpuMicros: number;
  /** The kernel's part of it (socket writes, wake-ups of the peer on loopback). */
  systemMicros: number;
  rssBytes: number;
  /** Event-loop delay in ms (beyond the sampling interval) since 'eld-start'. */
  eld?: { p50: number; p99: number; max: number };
}

if (process.send) {
  const send = process.send.bind(process);
  // The histogram records whole sampling intervals; the delay is what exceeds RESOLUTION.
  const RESOLUTION_MS = 10;
  const eld = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  const delay = (ns: number) => Math.max(0, ns / 1e6 - RESOLUTION_MS);
  let monitoring = false;
  process.on('message', (m: HookRequest) => {
    if (m.type === 'eld-start') {
      eld.reset();
      eld.enable();
      monitoring = true;
    } else if (m.type === 'eld-stop') {
      eld.disable();
    }
    const cpu = process.cpuUsage();
    const stats: ChildStats = { cpuMicros: cpu.user + cpu.system, systemMicros: cpu.system, rssBytes: process.memoryUsage.rss() };
    if (monitoring) {
      stats.eld = { p50: delay(eld.percentile(50)), p99: delay(eld.percentile(99)), max: delay(eld.max) };
    }
    send({ id: m.id, stats });
  });
  // The child lives as long as its server does; the IPC channel must not keep it alive.
  process.channel?.unref();
}

// `--profile <stack>`: node writes the CPU profile only on a normal exit, and the peer
// apps have no SIGTERM handler (the default action kills without writing it). Exit
// normally then, unless the app handles SIGTERM itself (src/main.ts drains first).
process.on('SIGTERM', () => {
  if (process.listenerCount('SIGTERM') === 1) process.exit(0);
});
