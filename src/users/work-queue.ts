/**
 * A bounded semaphore: at most `concurrency` jobs run, at most `queueLimit` wait, and
 * the rest are refused at once. argon2 runs on the libuv thread pool, which
 * `crypto.randomBytes`, `fs` and DNS share: an unbounded login storm would starve them
 * and pile up 19 MiB of memory per hash (argon2 work is bounded).
 */
export class QueueFullError extends Error {
  constructor() {
    super('work queue full');
    this.name = 'QueueFullError';
  }
}

export class WorkQueue {
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(
    readonly concurrency: number,
    readonly queueLimit: number,
  ) {
    if (concurrency < 1) throw new RangeError('concurrency must be at least 1');
  }

  get running(): number {
    return this.#running;
  }

  get waiting(): number {
    return this.#waiting.length;
  }

  /** Runs `job` when a slot is free; throws QueueFullError when too many are waiting. */
  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.#running >= this.concurrency) {
      if (this.#waiting.length >= this.queueLimit) throw new QueueFullError();
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#running++;
    }
    try {
      return await job();
    } finally {
      // Hand the slot straight to the next waiter, so `running` never over-counts.
      const next = this.#waiting.shift();
      if (next) next();
      else this.#running--;
    }
  }
}
