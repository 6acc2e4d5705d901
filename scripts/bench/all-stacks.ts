/** Every stack of a run, in run order: the peers, then this server. */
import { peerStacks, type Stack } from './stacks.js';

export const allStacks = (): Stack[] => [...peerStacks];
