/**
 * A DBSC device as the protocol tests need one: a key pair and the JWTs a browser sends
 * (`dbsc+jwt`: the registration carries its public key as `jwk`, a refresh does not),
 * plus the header parsing a browser does. Real signatures from node:crypto, no mocks.
 */
import { createHmac, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

export class Device {
  readonly privateKey: KeyObject;
  readonly jwk: Record<string, unknown>;
  constructor(readonly alg: 'ES256' | 'RS256' = 'ES256') {
    const pair = alg === 'ES256'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.privateKey = pair.privateKey;
    this.jwk = pair.publicKey.export({ format: 'jwk' }) as Record<string, unknown>;
  }

  /** A JWT with this header and payload, signed by this device's key. */
  jwt(header: Record<string, unknown>, payload: Record<string, unknown>): string {
    const input = `${b64(header)}.${b64(payload)}`;
    const sig = this.alg === 'ES256'
      ? sign('sha256', Buffer.from(input), { key: this.privateKey, dsaEncoding: 'ieee-p1363' })
      : sign('sha256', Buffer.from(input), this.privateKey);
    return `${input}.${sig.toString('base64url')}`;
  }

  /** The registration answer to `challenge`: signed by the new key, which it carries. */
  registration(challenge: string): string {
    return this.jwt({ alg: this.alg, typ: 'dbsc+jwt', jwk: this.jwk }, { jti: challenge });
  }

  /** A refresh answer to `challenge`, signed by this device's key. */
  refresh(challenge: string): string {
    return this.jwt({ alg: this.alg, typ: 'dbsc+jwt' }, { jti: challenge });
  }
}

/** An unsigned token (`alg: none`), the oldest JWT attack. */
export const unsignedJwt = (jwk: unknown, jti: string): string =>
  `${b64({ alg: 'none', typ: 'dbsc+jwt', jwk })}.${b64({ jti })}.`;

/** HS256 "signed" with the public key as the HMAC secret: the algorithm-confusion attack. */
export function hmacJwt(jwk: Record<string, unknown>, jti: string): string {
  const input = `${b64({ alg: 'HS256', typ: 'dbsc+jwt', jwk })}.${b64({ jti })}`;
  return `${input}.${createHmac('sha256', JSON.stringify(jwk)).update(input).digest('base64url')}`;
}

/** The quoted sf-string form browsers send a header value in. */
export const quoted = (v: string): string => `"${v}"`;

/** The challenge of a `Secure-Session-Registration` or `Secure-Session-Challenge` header. */
export function challengeOf(header: string | null): string | undefined {
  if (!header) return undefined;
  return /challenge="([^"]+)"/.exec(header)?.[1] ?? /^"([^"]+)"/.exec(header)?.[1];
}
