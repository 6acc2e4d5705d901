/**
 * The login storm's generator, in a process of its own so that its work never delays
 * the load generator measuring /api/me. Open loop: logins leave on schedule whether or
 * not earlier ones have answered. Prints one JSON line with the outcome counts.
 *   tsx login-flood.ts <baseUrl> <username> <perSecond> <seconds>
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { login } from './sliding.js';

const [url, username, rateArg, secondsArg] = process.argv.slice(2);
const rate = Number(rateArg);
const seconds = Number(secondsArg);
if (!url || !username || !(rate > 0) || !(seconds > 0)) {
  process.stderr.write('usage: login-flood.ts <baseUrl> <username> <perSecond> <seconds>\n');
  process.exit(2);
}

const counts = { ok: 0, throttled: 0, other: 0, codes: {} as Record<string, number> };
const note = (code: string) => {
  counts.codes[code] = (counts.codes[code] ?? 0) + 1;
  if (code === '200') counts.ok++;
  else if (code === '429') counts.throttled++;
  else counts.other++;
};
const fire = async () => {
  try {
    const res = await login(url, username);
    await res.arrayBuffer();
    note(String(res.status));
  } catch (err) {
    const cause = (err as Error).cause;
    note(cause instanceof Error ? cause.message : 'fetch failed');
  }
};

const inFlight: Promise<void>[] = [];
process.stdout.write('go\n');
const start = performance.now();
let sent = 0;
while (performance.now() - start < seconds * 1000) {
  const due = Math.floor(((performance.now() - start) / 1000) * rate);
  for (; sent < due; sent++) inFlight.push(fire());
  await sleep(5);
}
await Promise.all(inFlight);
process.stdout.write(`${JSON.stringify(counts)}\n`);
