import type { PropagationFigures } from './results.js';
import type { Running } from './throughput.js';

export async function measurePropagation(_r: Running, _redisUrl: string, _log: (s: string) => void): Promise<PropagationFigures> {
  throw new Error('not yet');
}
