/**
 * Shared pieces of the fault tests: a bounded client loop that records every answer,
 * and key inspection under a test server's prefix.
 */
import type { Redis } from 'ioredis';
import { type Reply, type Request, client } from '../helpers/http.js';

export interface Answer {
  what: string;
  status: number;
  code?: string;
  ms: number;
  /** The request never got an HTTP answer (connection error). */
  failed?: string;
}

export const errorCode = (r: Reply): string | undefined =>
  typeof r.body?.error === 'string' ? (r.body.error as string) : undefined;

/**
 * Runs `workers` loops of `op` until `stop()` says so; each loop waits for its answer
 * before the next request, so the load is bounded by construction. Every answer is kept.
 */
export async function loadLoop(
  baseUrl: string,
  workers: number,
  stop: () => boolean,
  op: (req: Request, worker: number, i: number) => Promise<{ what: string; reply: Reply }>,
): Promise<Answer[]> {
  const answers: Answer[] = [];
  const req = client(baseUrl);
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      for (let i = 0; !stop(); i++) {
        const t0 = performance.now();
        try {
          const { what, reply } = await op(req, w, i);
          answers.push({ what, status: reply.status, code: errorCode(reply), ms: performance.now() - t0 });
        } catch (err) {
          answers.push({ what: 'request', status: 0, ms: performance.now() - t0, failed: (err as Error).message });
        }
      }
    }),
  );
  return answers;
}

/** Every key under `prefix` (SCAN, never KEYS). */
export async function keysUnder(redis: Redis, prefix: string): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    out.push(...batch);
  } while (cursor !== '0');
  return out;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function summary(answers: Answer[]): string {
  const by = new Map<string, number>();
  for (const a of answers) {
    const k = `${a.status}${a.code ? ` ${a.code}` : ''}${a.failed ? ` (${a.failed})` : ''}`;
    by.set(k, (by.get(k) ?? 0) + 1);
  }
  const max = Math.max(0, ...answers.map((a) => a.ms));
  return `${answers.length} answers: ${[...by].map(([k, n]) => `${k}×${n}`).join(', ')}; slowest ${Math.round(max)} ms`;
}
