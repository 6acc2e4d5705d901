/**
 * Every stack of a run, in run order: the peers, then this server (cache off, on).
 * Extra stacks (A/B experiments) run only when named with --stacks.
 */
import { productStacks } from './sliding.js';
import { koaHeaders, peerStacks, probeAutopipe, probeResp3, type Stack } from './stacks.js';

export const allStacks = (): Stack[] => [...peerStacks, ...productStacks()];
export const extraStacks = (): Stack[] => [probeAutopipe, probeResp3, koaHeaders];
