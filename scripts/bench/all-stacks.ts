/**
 * Every stack of a run, in run order: bare Koa, bare Koa with this server's security
 * headers, the peers and the probe, the probe as this server answers, then this server
 * (cache off, on).
 * Extra stacks (A/B experiments) run only when named with --stacks.
 */
import { productStacks } from './sliding.js';
import { koaHeaders, peerStacks, probeAutopipe, probeClient, probeProduct, probeResp3, type Stack } from './stacks.js';

export const allStacks = (): Stack[] => [peerStacks[0]!, koaHeaders, ...peerStacks.slice(1), probeProduct, ...productStacks()];
export const extraStacks = (): Stack[] => [probeAutopipe, probeResp3, probeClient];

/** This server's two stacks run from another build (`--against REV`). */
export const revisionStacks = (rev: string, entry: string): Stack[] =>
  productStacks().map((p) => ({ ...p, id: `${p.id}@${rev}`, label: `${p.label} at ${rev}`, entry }));
