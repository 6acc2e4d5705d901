/**
 * The cookie value is `<tag>.<secret>` (docs/design.md, "Redis key layout"):
 * - `tag`: the user's random routing tag (12 alphanumerics), so every key of a user
 *   shares one Redis Cluster hash slot and the slot is computable from the cookie alone;
 * - `secret`: 43 characters of nanoid (≈256 bits from the CSPRNG). Its last 21 (126 bits)
 *   are the session's *family*: drawn at sign-in and kept by every plain rotation
 *   (src/sessions/successor.ts), so an ID the session had many rotations ago still names
 *   it, and a replay of it is caught while the store keeps one key per session.
 * Only SHA-256(secret) and SHA-256(family) are ever stored; the handle is derived from
 * the first.
 */
import * as crypto from 'node:crypto';
import { customAlphabet, nanoid } from 'nanoid';

export const TAG_LENGTH = 12;
export const SECRET_LENGTH = 43;
const TAG_RE = /^[A-Za-z0-9]{12}$/;
const TOKEN_RE = /^([A-Za-z0-9]{12})\.([A-Za-z0-9_-]{43})$/;
const HANDLE_RE = /^([A-Za-z0-9]{12})-([A-Za-z0-9_-]{10})$/;

const tagAlphabet = customAlphabet(
  '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz',
  TAG_LENGTH,
);

/** The secret's tail that every plain rotation keeps. */
export const FAMILY_LENGTH = 21;
/**
 * The ID part ends in a short check of its drawn characters against the family, so that
 * a corrupted or fuzzed cookie (right family, wrong ID) is merely unknown and only an ID
 * this package issued counts as a replay.
 */
const CHECK_LENGTH = 3;
/** The secret's head: random at sign-in, derived from the old secret at each rotation. */
const DRAWN_LENGTH = SECRET_LENGTH - FAMILY_LENGTH - CHECK_LENGTH;

export const newTag = (): string => tagAlphabet();

export interface ParsedToken {
  tag: string;
  /** base64url SHA-256 of the secret: the only form the secret takes past this point. */
  idHash: string;
}

/**
 * base64url(SHA-256(s)): 43 characters. Node's one-shot `crypto.hash` (20.12+) where it
 * exists: it skips the Hash object that createHash builds, on every authenticated request.
 */
const oneShot = (crypto as { hash?: (alg: string, data: string, enc: 'base64url') => string }).hash;
export const sha256: (s: string) => string = oneShot
  ? (s) => oneShot('sha256', s, 'base64url')
  : (s) => crypto.createHash('sha256').update(s).digest('base64url');

export const formatToken = (tag: string, secret: string): string => `${tag}.${secret}`;

const checkOf = (drawn: string, family: string): string => sha256(`${drawn}.${family}`).slice(0, CHECK_LENGTH);

/** A secret from its drawn head (its first DRAWN_LENGTH characters are used) and its family. */
export function composeSecret(drawn: string, family: string): string {
  const head = drawn.slice(0, DRAWN_LENGTH);
  return head + checkOf(head, family) + family;
}

export const newSecret = (): string => composeSecret(nanoid(DRAWN_LENGTH), nanoid(FAMILY_LENGTH));

/** A fresh session ID: the cookie's token, and the only forms of it a store keeps (its hash, the handle). */
export interface MintedId {
  token: string;
  idHash: string;
  handle: string;
}

/** Draws a new ID for the user of `tag` (the stores call this; they never build one themselves). */
export function mintId(tag: string): MintedId {
  const secret = newSecret();
  const idHash = sha256(secret);
  return { token: formatToken(tag, secret), idHash, handle: handleFor(tag, idHash) };
}

/**
 * Validates shape before anything touches the store (the ID is checked as untrusted input): a malformed value
 * costs no round trip and is simply "no session".
 */
export function parseToken(value: unknown): ParsedToken | null {
  if (typeof value !== 'string' || value.length !== TAG_LENGTH + 1 + SECRET_LENGTH) return null;
  const m = TOKEN_RE.exec(value);
  if (!m) return null;
  return { tag: m[1]!, idHash: sha256(m[2]!) };
}

/**
 * A well-formed token's family, as stored: the first 22 characters (132 bits) of the
 * SHA-256 of its family part. The store keeps one family key per session by it, which is
 * how any past ID of the session is recognised as a replay; 22 rather than 43 characters
 * keep a fresh record inside Redis's next allocation size, and 132 bits leave a forger
 * no second preimage to aim at.
 */
export const familyHash = (token: string): string => sha256(token.slice(token.length - FAMILY_LENGTH)).slice(0, 22);

/**
 * What the store is told of a well-formed token's family: its hash when the token's
 * check holds (an ID issued by this release), else `~<hash>` (a 0.2.0 ID, or a corrupted
 * one), which can only be the one past ID a family records as its root.
 */
export function familyArg(token: string): string {
  const secret = token.slice(TAG_LENGTH + 1);
  const family = secret.slice(SECRET_LENGTH - FAMILY_LENGTH);
  const hash = sha256(family).slice(0, 22);
  const genuine = checkOf(secret.slice(0, DRAWN_LENGTH), family) === secret.slice(DRAWN_LENGTH, DRAWN_LENGTH + CHECK_LENGTH);
  return genuine ? hash : `~${hash}`;
}

/** Shape check only (no hashing): what a cookie reader needs before any store call. */
export const isToken = (value: unknown): value is string =>
  typeof value === 'string' && value.length === TAG_LENGTH + 1 + SECRET_LENGTH && TOKEN_RE.test(value);

export const isTag = (s: unknown): s is string => typeof s === 'string' && TAG_RE.test(s);

/**
 * A session's public name: `<tag>-<10 chars>`, derived from the hash of the session's
 * first ID, so it survives rotations and names the user slot (the CLI can find it).
 */
export const handleFor = (tag: string, firstIdHash: string): string =>
  `${tag}-${firstIdHash.slice(0, 10)}`;

export function parseHandle(value: unknown): { tag: string; handle: string } | null {
  if (typeof value !== 'string') return null;
  const m = HANDLE_RE.exec(value);
  return m ? { tag: m[1]!, handle: value } : null;
}
