/**
 * fast-check arbitraries for hostile input: cookies, headers, JSON and form bodies, CLI
 * arguments. They aim at the edges the code actually checks — the `<tag>.<secret>`
 * shape (12 + 1 + 43 characters), the cookie name match, the 16 KiB body limit, the
 * 1024-byte password cap, JSON that fights the parser or the object model — rather than
 * at uniform noise, which almost never gets past the first check.
 */
import fc from 'fast-check';
import { SECRET_LENGTH, TAG_LENGTH } from '../../src/sessions/token.js';

const ALNUM = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const B64URL = `${ALNUM}_-`;

const fromAlphabet = (alphabet: string, minLength: number, maxLength: number) =>
  fc
    .array(fc.constantFrom(...alphabet.split('')), { minLength, maxLength })
    .map((cs) => cs.join(''));

export const tagArb = fromAlphabet(ALNUM, TAG_LENGTH, TAG_LENGTH);
export const secretArb = fromAlphabet(B64URL, SECRET_LENGTH, SECRET_LENGTH);

/** A well-formed token nobody issued: must always be "no session". */
export const forgedTokenArb = fc.tuple(tagArb, secretArb).map(([t, s]) => `${t}.${s}`);

/** Characters a cookie value may not contain, or that parsers treat specially. */
const nastyChar = fc.constantFrom(
  '\u0000', '\u0001', '\u007f', '\t', ' ', '"', ',', ';', '\\', '=', '%', '%00', '%0d%0a',
  '\u00e9', '\u2028', '\ud83d\ude00', '\uffff', '.', '-', '+', '/', '{', '}', '*',
);

/**
 * Strings one edit away from a valid token: wrong lengths, wrong alphabet, wrong
 * separator, a handle (`<tag>-<10>`) instead of a token, doubled separators.
 */
export const nearValidTokenArb: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(tagArb, fromAlphabet(B64URL, SECRET_LENGTH - 1, SECRET_LENGTH - 1)).map(([t, s]) => `${t}.${s}`),
  fc.tuple(tagArb, fromAlphabet(B64URL, SECRET_LENGTH + 1, SECRET_LENGTH + 1)).map(([t, s]) => `${t}.${s}`),
  fc.tuple(fromAlphabet(ALNUM, TAG_LENGTH - 1, TAG_LENGTH + 1), secretArb).map(([t, s]) => `${t}.${s}`),
  fc.tuple(tagArb, secretArb, fc.constantFrom('-', '_', ':', '..', '', ' ', '%2E')).map(([t, s, sep]) => `${t}${sep}${s}`),
  fc.tuple(tagArb, fromAlphabet(B64URL, 10, 10)).map(([t, h]) => `${t}-${h}`),
  fc.tuple(tagArb, secretArb, fc.nat({ max: SECRET_LENGTH - 1 }), nastyChar).map(
    ([t, s, i, c]) => `${t}.${s.slice(0, i)}${c}${s.slice(i + 1)}`,
  ),
  fc.tuple(tagArb, secretArb).map(([t, s]) => `"${t}.${s}"`),
  fc.tuple(tagArb, secretArb).map(([t, s]) => `${t}.${s}`.toUpperCase()),
);

/** One edit of a real issued token; never the token itself. */
export const mutateTokenArb = (token: string): fc.Arbitrary<string> =>
  fc
    .oneof(
      fc.nat({ max: token.length - 1 }).chain((i) =>
        fc.constantFrom(...B64URL.split('')).map((c) => token.slice(0, i) + c + token.slice(i + 1)),
      ),
      fc.nat({ max: token.length }).map((i) => token.slice(0, i)),
      fc.string({ minLength: 1, maxLength: 3 }).map((x) => token + x),
      fc.constant(token.toLowerCase()),
      fc.constant(token.toUpperCase()),
      fc.constant(token.replace('.', '-')),
      fc.constant(encodeURIComponent(token).replace('.', '%2E')),
      fc.constant(` ${token}`),
    )
    .filter((v) => v !== token);

/** Arbitrary cookie values, from empty to ~6 KB, with or without legal characters. */
export const cookieValueArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: nearValidTokenArb },
  { weight: 2, arbitrary: forgedTokenArb },
  { weight: 2, arbitrary: fc.string({ maxLength: 80 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 80 }) },
  { weight: 1, arbitrary: fc.array(nastyChar, { maxLength: 20 }).map((a) => a.join('')) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 6000 }).map((n) => 'A'.repeat(n)) },
  { weight: 1, arbitrary: fc.constantFrom('', '*', '{x}', 'null', 'undefined', '[object Object]', 'deleted') },
);

/** The session cookie's name, right or wrong (the match must be exact). */
export const cookieNameArb = (real: string): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constant(real) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        real.toUpperCase(), real.toLowerCase(), ` ${real}`, `${real} `, `${real}\t`,
        `__Host-${real}`, `__host-${real}`, `__Secure-${real}`, `${real}.sig`, `${real}[]`,
      ),
    },
    { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/) },
  );

/** A whole Cookie header: one or more pairs, duplicates included, odd separators. */
export const cookieHeaderArb = (realName: string): fc.Arbitrary<string> =>
  fc
    .array(fc.tuple(cookieNameArb(realName), cookieValueArb), { minLength: 1, maxLength: 4 })
    .chain((pairs) =>
      fc.constantFrom('; ', ';', ' ; ', ', ', ';;').map((sep) => pairs.map(([n, v]) => `${n}=${v}`).join(sep)),
    );

/**
 * Header name/value pairs a browser would never send but a client can: odd tokens,
 * proxy headers, CSRF headers with strange values. Values are kept to what Node's HTTP
 * client will write (it refuses CR/LF and most controls); raw-socket tests cover those.
 */
const headerValueArb = fc.oneof(
  fc.string({ maxLength: 100 }).map((s) => s.replace(/[^\t\x20-\x7e]/g, '')),
  fc.constantFrom('null', '', ' ', 'https://evil.test', 'http://127.0.0.1', 'same-origin', 'cross-site',
    'same-site', 'none', '1.2.3.4, 5.6.7.8', 'unknown, ::1', 'application/json; charset=utf-7',
    'text/plain', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded', '*/*'),
  fc.integer({ min: 1, max: 4000 }).map((n) => 'x'.repeat(n)),
);
export const headerPairArb: fc.Arbitrary<[string, string]> = fc.tuple(
  fc.oneof(
    fc.constantFrom('origin', 'sec-fetch-site', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host',
      'content-type', 'accept', 'referer', 'user-agent', 'x-session-id', 'authorization', 'host-override',
      'if-none-match', 'range', 'accept-encoding', 'accept-language', 'transfer-encoding-ext'),
    fc.stringMatching(/^[a-z][a-z0-9-]{0,24}$/),
  ),
  headerValueArb,
);
export const headersArb = fc.array(headerPairArb, { maxLength: 12 });

/** Deeply nested JSON text (the parser must neither crash nor recurse off the stack). */
export const deepJsonArb = fc
  .tuple(fc.integer({ min: 100, max: 5000 }), fc.constantFrom('[', '{"a":'))
  .map(([depth, open]) => open.repeat(depth) + '1' + (open === '[' ? ']' : '}').repeat(depth));

const pollutionKeyArb = fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf');

/** Login-shaped bodies whose fields have the wrong types or hostile contents. */
export const loginLikeBodyArb: fc.Arbitrary<unknown> = fc.record(
  {
    username: fc.oneof(fc.string({ maxLength: 70 }), fc.jsonValue({ maxDepth: 2 }), fc.constant('__proto__')),
    password: fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.jsonValue({ maxDepth: 2 }),
      fc.integer({ min: 1000, max: 3000 }).map((n) => 'p'.repeat(n)),
    ),
    remember: fc.oneof(fc.boolean(), fc.jsonValue({ maxDepth: 1 })),
    currentPassword: fc.oneof(fc.string({ maxLength: 40 }), fc.jsonValue({ maxDepth: 1 })),
    newPassword: fc.oneof(fc.string({ maxLength: 40 }), fc.jsonValue({ maxDepth: 1 })),
  },
  { requiredKeys: [] },
);

/** JSON body texts: valid but wrong, prototype-polluting, malformed, deep, huge. */
export const jsonBodyTextArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: loginLikeBodyArb.map((v) => JSON.stringify(v)) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(pollutionKeyArb, fc.jsonValue({ maxDepth: 2 }))
      .map(([k, v]) => `{"${k}":${JSON.stringify(v)},"username":"a","password":"b"}`),
  },
  { weight: 1, arbitrary: fc.constant('{"constructor":{"prototype":{"isAdmin":true}},"__proto__":{"polluted":1}}') },
  { weight: 1, arbitrary: deepJsonArb },
  {
    weight: 1,
    arbitrary: fc.constantFrom('', '{', '}', '{"a":', 'nul', 'NaN', '{"a":1,}', "{'a':1}", '\ufeff{}', '[1,2',
      '{"username":"a"} trailing', '"\\ud800"', '{"a":"\\u0000"}', '1e999999', '-', '{"__proto__":null}'),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 1, max: 15_000 }).map((n) => JSON.stringify({ username: 'u', password: 'x'.repeat(n) })),
  },
);

/** application/x-www-form-urlencoded bodies: repeats, brackets, bad escapes. */
export const formBodyArb: fc.Arbitrary<string> = fc
  .array(
    fc.tuple(
      fc.oneof(
        fc.constantFrom('username', 'password', 'remember', 'csrf', '_csrf', 'returnTo', 'handle',
          '__proto__', '__proto__[x]', 'constructor[prototype][x]', 'a[b][c]', 'a[]', ''),
        fc.string({ maxLength: 12 }),
      ),
      fc.oneof(
        fc.string({ maxLength: 60 }),
        fc.constantFrom('%', '%zz', '%00', '%ff%fe', '+', '//evil.test', 'https://evil.test/', '/\\evil.test',
          'javascript:alert(1)', '/%2F%2Fevil.test', '%2e%2e/'),
        fc.integer({ min: 1000, max: 4000 }).map((n) => 'v'.repeat(n)),
      ),
    ),
    { maxLength: 8 },
  )
  .map((pairs) =>
    pairs
      .map(([k, v]) => (/%/.test(v) ? `${encodeURIComponent(k)}=${v}` : `${encodeURIComponent(k)}=${encodeURIComponent(v)}`))
      .join('&'),
  );

/** argv cannot carry NUL (spawn refuses it), so it is the one character left out. */
const noNul = (s: string) => s.split('\u0000').join('');

/** Argument vectors for the admin CLI: real commands with wrong, odd or hostile arguments. */
export const cliArgsArb: fc.Arbitrary<string[]> = fc.oneof(
  fc.tuple(
    fc.constantFrom('user', 'sessions', 'events', 'User', '', '-h', '--', 'help'),
    fc.constantFrom('add', 'passwd', 'delete', 'list', 'show', 'kill', 'stats', 'remove', ''),
    fc.array(
      fc.oneof(
        // No --follow: it tails the stream until SIGINT by design.
        fc.constantFrom('--json', '--user', '--limit', '--password-stdin', '--top', '--help', '-x',
          '--limit=0', '--limit=-1', '--limit=1e9', '--limit=99999999999', '--user=', '--', '-', '--json=yes'),
        nearValidTokenArb,
        forgedTokenArb,
        fc.tuple(tagArb, fromAlphabet(B64URL, 10, 10)).map(([t, h]) => `${t}-${h}`),
        fc.string({ maxLength: 30 }).map((s) => noNul(s)),
        fc.constantFrom('ss:*', '*', '{x}', '../../etc/passwd', '$(id)', '`id`', 'a'.repeat(300), '\u202e'),
      ),
      { maxLength: 4 },
    ),
  ).map(([a, b, rest]) => [a, b, ...rest].filter((x, i) => i > 1 || x !== '')),
  fc.array(fc.string({ maxLength: 20 }).map((s) => noNul(s)), { maxLength: 5 }),
  // Well-formed commands whose one argument is hostile: these get past parsing.
  fc.tuple(
    fc.constantFrom(['sessions', 'show'], ['sessions', 'kill'], ['user', 'delete'], ['sessions', 'kill', '--user'],
      ['sessions', 'list', '--user'], ['events', '--user'], ['sessions', 'list', '--limit']),
    fc.oneof(
      nearValidTokenArb,
      fc.tuple(tagArb, fromAlphabet(B64URL, 10, 10)).map(([t, h]) => `${t}-${h}`),
      fc.string({ minLength: 1, maxLength: 40 }).map((s) => noNul(s) || 'x'),
      fc.constantFrom('ss:*', '*', '{x}', '../../etc/passwd', '$(id)', 'a'.repeat(300), '\u202e', 'ADMIN', 'user:x'),
    ),
  ).map(([cmd, arg]) => [...cmd, arg]),
);
