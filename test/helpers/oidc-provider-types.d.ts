/**
 * The few parts of node-oidc-provider (v9 ships no types) the test provider uses.
 */
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';
  import type Koa from 'koa';

  export interface Configuration {
    clients?: Record<string, unknown>[];
    findAccount?: (ctx: unknown, sub: string) => Promise<{ accountId: string; claims: () => Promise<Record<string, unknown>> } | undefined>;
    claims?: Record<string, string[]>;
    features?: Record<string, unknown>;
    cookies?: { keys: string[] };
    ttl?: Record<string, number>;
    [key: string]: unknown;
  }

  export interface InteractionDetails {
    uid: string;
    params: Record<string, unknown>;
    prompt: { name: string };
  }

  export interface Grant {
    addOIDCScope(scope: string): void;
    save(): Promise<string>;
  }

  export interface IdTokenInstance {
    mask: Record<string, unknown>;
    set(claim: string, value: unknown): void;
    issue(o: { use: 'idtoken' | 'logout' }): Promise<string>;
  }

  export default class Provider extends Koa {
    constructor(issuer: string, config?: Configuration);
    Client: { find(id: string): Promise<unknown> };
    IdToken: new (claims: Record<string, unknown>, o: { client: unknown; ctx: undefined }) => IdTokenInstance;
    Grant: new (o: { accountId: string; clientId: string }) => Grant;
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<InteractionDetails>;
    interactionResult(
      req: IncomingMessage,
      res: ServerResponse,
      result: Record<string, unknown>,
      opts?: { mergeWithLastSubmission?: boolean },
    ): Promise<string>;
  }
}
