/** Every stack of a run, in run order: the peers, then this server (cache off, on). */
import { productStacks } from './sliding.js';
import { peerStacks, type Stack } from './stacks.js';

export const allStacks = (): Stack[] => [...peerStacks, ...productStacks()];
