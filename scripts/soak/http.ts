/**
 * The soak's HTTP calls: each one is timed on the driver's monotonic clock, sent to a
 * random server process (no stickiness: both nodes must agree), and reported to the
 * model as an Observation before the caller sees it.
 */
import { type Reply, client } from '../../test/helpers/http.js';
import { type Observation, type SoakModel, servedAsLive } from './model.js';

export interface Call {
  reply: Reply;
  obs: Observation;
  code?: string;
}

export class SoakHttp {
  readonly #clients: ReturnType<typeof client>[];
  /** Requests that got no HTTP answer at all (connection refused/reset): a crash sign. */
  transportErrors = 0;
  lastTransportError = '';

  constructor(urls: string[], readonly model: SoakModel) {
    this.#clients = urls.map((u) => client(u));
  }

  /**
   * One request with `token` as the cookie. `judge: false` leaves the observation to the
   * caller (replay injection judges two answers together).
   */
  async call(method: string, path: string, token: string | undefined, json?: unknown, judge = true): Promise<Call> {
    const req = this.#clients[Math.floor(Math.random() * this.#clients.length)]!;
    const start = performance.now();
    let reply: Reply;
    try {
      reply = await req(method, path, { cookie: token, json: json ?? (method === 'GET' ? undefined : {}) });
    } catch (err) {
      this.transportErrors++;
      this.lastTransportError = `${method} ${path}: ${(err as Error).message}`;
      throw err;
    }
    const end = performance.now();
    const code = typeof reply.body?.error === 'string' ? (reply.body.error as string) : undefined;
    const what = `${method} ${path.replace(/\/auth\/sessions\/.+$/, '/auth/sessions/:handle')}`;
    const obs: Observation = { token: token ?? '', what, start, end, status: reply.status, code, live: servedAsLive(what, reply.status, code) };
    if (judge) this.model.observe(obs);
    return { reply, obs, code };
  }
}
