import type { BenchOptions } from './options.js';
import type { StormFigures } from './results.js';
import type { Running } from './throughput.js';

export async function measureStorm(_r: Running, _o: BenchOptions, _log: (s: string) => void): Promise<StormFigures> {
  throw new Error('not yet');
}
