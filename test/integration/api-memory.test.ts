/** The JSON API contract on the embedded store (MemoryStore, MemoryUserStore, MemoryThrottle). */
import { registerApiSuite } from './api-suite.js';

registerApiSuite('memory', () => undefined);
