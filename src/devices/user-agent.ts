/**
 * What a session record keeps of the user agent: a compact device summary
 * ("Firefox 128 on Ubuntu") rather than the raw header, which is long, mostly noise,
 * and would blow the few-hundred-byte memory budget of a session record.
 */
import { MAX_UA_CHARS } from '../store/record.js';
import { describeDevice } from './describe.js';

export function compactUserAgent(header: string | undefined): string {
  if (!header) return '';
  // Parse at most the first 512 characters: a browser UA fits, a giant header costs nothing.
  return describeDevice(header.slice(0, 512)).label.slice(0, MAX_UA_CHARS);
}
