/**
 * DBSC proofs: the JWTs a browser signs with its device key, at registration (the new
 * public key rides in the header) and at each refresh (signed by the key stored then).
 *
 * Only what Chrome sends is checked: `typ`, `alg`, `jwk`, `jti` and the signature. The
 * freshness and the one-time use of `jti` belong to the challenge (./challenge.ts), not
 * to claims such as `iat` that a browser's clock would make unreliable.
 */
import { createHash, createPublicKey, ECDH, type KeyObject, verify } from 'node:crypto';

/**
 * A public key as it sits in a Redis hash field: `E:<compressed P-256 point>` (46
 * characters) or `RS256:<n>.<e>` (base64url). An ES256 key is stored compressed because
 * Redis keeps a hash whose values are all at most 64 bytes as a compact listpack: a
 * longer value turns a 312-byte session record into a 928-byte hash table. Canonical, so
 * two encodings of one key compare equal as strings.
 */
export type StoredKey = string;
/** An RSA-4096 modulus is 683 characters: room for it, its exponent and the prefix. */
export const MAX_STORED_KEY_CHARS = 800;

export type ProofRefusal = 'malformed' | 'alg' | 'typ' | 'no_key' | 'key' | 'key_size' | 'no_jti' | 'signature' | 'wrong_key';

/** The message names the rule only: a proof is a bearer of a challenge and never goes to a log. */
export class ProofError extends Error {
  constructor(readonly reason: ProofRefusal) {
    super(`DBSC proof refused: ${reason}`);
    this.name = 'ProofError';
  }
}

type Alg = 'ES256' | 'RS256';
type Jwk = { kty: 'EC'; crv: 'P-256'; x: string; y: string } | { kty: 'RSA'; n: string; e: string };

// A proof is a header: bounded before any parsing, like every other header we read.
const MAX_TOKEN_CHARS = 8192;
const MAX_JWK_CHARS = 1024;
const MAX_JTI_CHARS = 256;
// Members that would make a JWK a private key; a browser never sends its private key, so one that does is not a browser.
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
const B64URL = /^[A-Za-z0-9_-]*$/;

const refuse = (reason: ProofRefusal): never => {
  throw new ProofError(reason);
};

/** Strict base64url: `Buffer.from` would skip junk and non-canonical tails, letting two strings mean one key. */
const b64 = (s: string): Buffer | undefined => {
  if (!B64URL.test(s) || s.length % 4 === 1) return undefined;
  const b = Buffer.from(s, 'base64url');
  return b.toString('base64url') === s ? b : undefined;
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const json = (part: string): Record<string, unknown> => {
  const bytes = b64(part) ?? refuse('malformed');
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString('utf8'));
  } catch {
    return refuse('malformed');
  }
  return isObject(v) ? v : refuse('malformed');
};

interface Parsed {
  alg: Alg;
  jwk: unknown;
  jti: string;
  signed: Buffer;
  signature: Buffer;
}

const parse = (jwt: string): Parsed => {
  if (typeof jwt !== 'string' || jwt.length > MAX_TOKEN_CHARS) refuse('malformed');
  const parts = jwt.split('.');
  if (parts.length !== 3) refuse('malformed');
  const [h, p, s] = parts as [string, string, string];
  const header = json(h);
  const payload = json(p);
  const signature = b64(s) ?? refuse('malformed');
  const alg = header['alg'];
  if (alg !== 'ES256' && alg !== 'RS256') return refuse('alg');
  if (header['typ'] !== 'dbsc+jwt') refuse('typ');
  const jti = payload['jti'];
  if (typeof jti !== 'string' || jti === '' || jti.length > MAX_JTI_CHARS) return refuse('no_jti');
  return { alg, jwk: header['jwk'], jti, signed: Buffer.from(`${h}.${p}`, 'ascii'), signature };
};

/** The public JWK for `alg`, reduced to the members that define the key, or a refusal. */
const publicJwk = (alg: Alg, raw: unknown): Jwk => {
  if (!isObject(raw)) return refuse('key');
  if (PRIVATE_MEMBERS.some((m) => Object.hasOwn(raw, m))) refuse('key');
  if (JSON.stringify(raw).length > MAX_JWK_CHARS) refuse('key_size');
  const { kty, crv, x, y, n, e } = raw;
  if (alg === 'ES256') {
    if (kty !== 'EC' || crv !== 'P-256' || typeof x !== 'string' || typeof y !== 'string') return refuse('key');
    if (b64(x)?.length !== 32 || b64(y)?.length !== 32) refuse('key');
    return { kty, crv, x, y };
  }
  if (kty !== 'RSA' || typeof n !== 'string' || typeof e !== 'string') return refuse('key');
  const modulus = b64(n) ?? refuse('key');
  const exponent = b64(e) ?? refuse('key');
  const first = modulus.findIndex((byte) => byte !== 0);
  const bits = first < 0 ? 0 : (modulus.length - first - 1) * 8 + (32 - Math.clz32(modulus[first]!));
  // Below 2048 bits is forgeable; above 4096 makes every refresh cost an attacker-chosen amount of CPU.
  if (bits < 2048 || bits > 4096) refuse('key_size');
  // A small odd exponent (65537 in practice): a large one is another way to buy our CPU.
  if (exponent.length === 0 || exponent.length > 4 || (exponent.at(-1)! & 1) === 0 || exponent.readUIntBE(0, exponent.length) < 3) refuse('key');
  return { kty, n, e };
};

const importKey = (jwk: Jwk): KeyObject => {
  try {
    return createPublicKey({ key: jwk, format: 'jwk' });
  } catch {
    // e.g. an EC point that is not on the curve
    return refuse('key');
  }
};

const store = (alg: Alg, key: KeyObject): StoredKey => {
  const j = key.export({ format: 'jwk' });
  if (alg === 'RS256') return `RS256:${j.n}.${j.e}`;
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(j.x!, 'base64url'), Buffer.from(j.y!, 'base64url')]);
  return `E:${(ECDH.convertKey(point, 'prime256v1', undefined, undefined, 'compressed') as Buffer).toString('base64url')}`;
};

const verifies = (alg: Alg, key: KeyObject, p: Parsed): boolean => {
  if (alg !== p.alg) return false;
  try {
    return verify('sha256', p.signed, alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' } : key, p.signature);
  } catch {
    return false;
  }
};

const STORED = /^(?:E:([A-Za-z0-9_-]{44})|RS256:([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+))$/;

/** A stored key comes from our own store: one that does not parse is a bug or a tampered store, not a client's fault. */
const load = (stored: StoredKey): { alg: Alg; jwk: Jwk } => {
  const m = typeof stored === 'string' && stored.length <= MAX_STORED_KEY_CHARS ? STORED.exec(stored) : null;
  if (!m) throw new TypeError('not a stored DBSC key');
  const [, compressed, n, e] = m as unknown as [string, string | undefined, string, string];
  if (compressed === undefined) return { alg: 'RS256', jwk: { kty: 'RSA', n, e } };
  let point: Buffer;
  try {
    point = ECDH.convertKey(Buffer.from(compressed, 'base64url'), 'prime256v1', undefined, undefined, 'uncompressed') as Buffer;
  } catch {
    throw new TypeError('not a stored DBSC key');
  }
  const x = point.subarray(1, 33).toString('base64url');
  const y = point.subarray(33, 65).toString('base64url');
  return { alg: 'ES256', jwk: { kty: 'EC', crv: 'P-256', x, y } };
};

/** Registration: the proof carries its own key, and signing with it shows the browser holds the private half. */
export function verifyRegistration(jwt: string): { jti: string; key: StoredKey } {
  const p = parse(jwt);
  if (p.jwk === undefined) refuse('no_key');
  const key = importKey(publicJwk(p.alg, p.jwk));
  if (!verifies(p.alg, key, p)) refuse('signature');
  return { jti: p.jti, key: store(p.alg, key) };
}

/**
 * Refresh: only the stored key counts. A header `jwk` naming another key that did sign
 * the proof is told apart ('wrong_key'): some other device answered a challenge meant
 * for this session, which is worth an alarm rather than a shrug.
 */
export function verifyRefresh(jwt: string, stored: StoredKey): { jti: string } {
  const p = parse(jwt);
  const own = load(stored);
  if (p.jwk !== undefined) {
    const other = importKey(publicJwk(p.alg, p.jwk));
    if (store(p.alg, other) !== stored) refuse(verifies(p.alg, other, p) ? 'wrong_key' : 'signature');
  }
  if (!verifies(own.alg, importKey(own.jwk), p)) refuse('signature');
  return { jti: p.jti };
}

/** RFC 7638 thumbprint (base64url SHA-256): the name DBSC itself uses for a session key. */
export function keyThumbprint(stored: StoredKey): string {
  const { jwk } = load(stored);
  const canonical = jwk.kty === 'EC' ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y } : { e: jwk.e, kty: jwk.kty, n: jwk.n };
  return createHash('sha256').update(JSON.stringify(canonical)).digest('base64url');
}

export function describeKey(stored: StoredKey): Alg {
  return load(stored).alg;
}
