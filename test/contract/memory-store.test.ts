import { MemoryStore } from '../../src/store/memory-store.js';
import { sessionStoreContract } from './session-store.contract.js';

sessionStoreContract('memory', async ({ clock, policy }) => {
  const store = new MemoryStore({ clock, policy, sweepIntervalMs: 0 });
  return { store, peer: store, close: () => store.close() };
});
