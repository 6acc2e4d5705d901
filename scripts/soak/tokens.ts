/** Well-formed `<tag>.<secret>` values nobody issued (same shape as the real ones). */
import { formatToken, newSecret, newTag } from '../../src/sessions/token.js';

export const fakeToken = (): string => formatToken(newTag(), newSecret());
