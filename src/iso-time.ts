/**
 * `new Date(ms).toISOString()` without V8's Date formatting, which is slow next to the
 * rest of the hot path: every JSON answer about a session carries four instants (GET
 * /api/me on each authenticated request, the CLI for every listed session); figures in
 * docs/performance.md. The calendar part comes from toISOString once per UTC day (a
 * few days are in play at any time: created, now, +idle, +absolute); the clock part
 * is arithmetic. Outside years 1970–9999 it is toISOString itself.
 */
const DAY_MS = 86_400_000;
const MAX_MS = 253_402_300_800_000; // 10000-01-01T00:00:00Z
const days = new Map<number, string>();

const pad2 = (n: number): string => (n < 10 ? `0${n}` : `${n}`);
const pad3 = (n: number): string => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : `${n}`);

function datePart(dayStart: number): string {
  let s = days.get(dayStart);
  if (s === undefined) {
    // A bounded cache: a long-running server walks through days, never back.
    if (days.size >= 64) days.clear();
    s = new Date(dayStart).toISOString().slice(0, 11); // `YYYY-MM-DDT`
    days.set(dayStart, s);
  }
  return s;
}

export function isoTime(ms: number): string {
  if (!(ms >= 0 && ms < MAX_MS) || !Number.isInteger(ms)) return new Date(ms).toISOString();
  const dayStart = ms - (ms % DAY_MS);
  let rest = ms - dayStart;
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  const s = Math.floor(rest / 1000);
  return `${datePart(dayStart)}${pad2(h)}:${pad2(m)}:${pad2(s)}.${pad3(rest - s * 1000)}Z`;
}
