/**
 * Test helper: records the commands a client sends (name, args), naming script calls
 * by their script, so tests can check round trips and the keys each script touched.
 */
import { createHash } from 'node:crypto';
import type { RedisClient } from '../../src/store/connection.js';
import { type ScriptName, scriptSources } from '../../src/store/scripts.js';

export interface SentCommand {
  name: string;
  args: string[];
  /** Set for EVAL/EVALSHA of one of our scripts. */
  script?: ScriptName;
  keys?: string[];
  argv?: string[];
}

export function spyOn(client: RedisClient): { sent: SentCommand[]; reset(): void } {
  const byBody = new Map<string, ScriptName>();
  for (const [name, { lua }] of Object.entries(scriptSources()) as [ScriptName, { lua: string }][]) {
    byBody.set(lua, name);
    byBody.set(createHash('sha1').update(lua).digest('hex'), name);
  }
  const sent: SentCommand[] = [];
  const target = client as unknown as { sendCommand: (cmd: { name: string; args: unknown[] }, ...rest: unknown[]) => unknown };
  const original = target.sendCommand.bind(client);
  target.sendCommand = (cmd, ...rest) => {
    const args = cmd.args.map((a) => String(a));
    const entry: SentCommand = { name: cmd.name, args };
    const script = (cmd.name === 'evalsha' || cmd.name === 'eval') && args[0] ? byBody.get(args[0]) : undefined;
    if (script) {
      const n = Number(args[1]);
      Object.assign(entry, { script, keys: args.slice(2, 2 + n), argv: args.slice(2 + n) });
    }
    sent.push(entry);
    return original(cmd, ...rest);
  };
  return { sent, reset: () => void sent.splice(0) };
}
