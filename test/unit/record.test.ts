/**
 * The session record codec (src/store/record.ts) without Redis: what app data may be
 * stored, and that the two decoders (by field name for the CLI and the memory store, by
 * position for the validate script's answer) read every record alike.
 */
import test from 'ava';
import fc from 'fast-check';
import { AppError } from '../../src/errors.js';
import { F, MAX_DATA_BYTES, RECORD_FIELDS, decodeRecord, decodeValues, encodeData, pairs } from '../../src/store/record.js';

const TAG = 'AbCdEfGhIjKl';

test('encodeData: nothing or {} stores nothing; an object is its JSON', (t) => {
  t.is(encodeData(undefined), '');
  t.is(encodeData({}), '');
  t.is(encodeData({ theme: 'dark', n: 1, nested: { a: [1, 2] } }), '{"theme":"dark","n":1,"nested":{"a":[1,2]}}');
});

test('encodeData refuses a non-object with 400 bad_request', (t) => {
  for (const bad of [null, [], [1], 'str', 5, true]) {
    const err = t.throws(() => encodeData(bad as unknown as Record<string, unknown>), { instanceOf: AppError }, JSON.stringify(bad));
    t.like(err, { status: 400, code: 'bad_request' });
  }
});

test('encodeData: up to MAX_DATA_BYTES of UTF-8 JSON is kept, one byte more is refused (bytes, not characters)', (t) => {
  const wrap = '{"k":""}'.length;
  const fits = { k: 'x'.repeat(MAX_DATA_BYTES - wrap) };
  t.is(Buffer.byteLength(encodeData(fits)), MAX_DATA_BYTES);
  t.throws(() => encodeData({ k: 'x'.repeat(MAX_DATA_BYTES - wrap + 1) }), { instanceOf: AppError, message: /larger than 2048 bytes/ });
  // 'é' is one character and two bytes: 1,100 of them pass a character count but not the byte cap.
  t.throws(() => encodeData({ k: 'é'.repeat(1100) }), { instanceOf: AppError });
});

const full = (o: Partial<Record<string, string>> = {}): Record<string, string> => ({
  [F.handle]: 'hXq2Zt9_aB',
  [F.userId]: 'alice',
  [F.createdAt]: '1000',
  [F.lastActiveAt]: '2000',
  [F.idleTimeoutMs]: '900000',
  [F.absoluteExpiresAt]: '5000000',
  [F.refreshable]: '1',
  [F.authAt]: '1500',
  [F.ip]: '203.0.113.9',
  [F.userAgent]: 'Firefox on Linux',
  [F.data]: '{"theme":"dark"}',
  ...o,
});
const asValues = (f: Record<string, string | undefined>): (string | null)[] => RECORD_FIELDS.map((k) => f[k] ?? null);

test('decodeRecord: a complete record, its handle rebuilt from the tag, idleExpiresAt derived', (t) => {
  t.deepEqual(decodeRecord(TAG, full()), {
    handle: `${TAG}-hXq2Zt9_aB`,
    userId: 'alice',
    tag: TAG,
    createdAt: 1000,
    lastActiveAt: 2000,
    idleTimeoutMs: 900_000,
    idleExpiresAt: 902_000,
    absoluteExpiresAt: 5_000_000,
    refreshable: true,
    authAt: 1500,
    ip: '203.0.113.9',
    userAgent: 'Firefox on Linux',
    data: { theme: 'dark' },
  });
});

test('incomplete records (no handle, user or absolute deadline) decode to null, by name and by position', (t) => {
  for (const missing of [F.handle, F.userId, F.absoluteExpiresAt]) {
    const f = full();
    delete f[missing];
    t.is(decodeRecord(TAG, f), null, missing);
    t.is(decodeValues(TAG, asValues(f), 0), null, missing);
    t.is(decodeRecord(TAG, full({ [missing]: '' })), null, `${missing} empty`);
  }
  t.is(decodeRecord(TAG, {}), null, 'a deleted key (HGETALL of nothing)');
  t.is(decodeValues(TAG, [], 0), null);
});

test('lenient parts: unparsable data is no data, junk numbers are 0, absent ip/agent are empty, r≠"1" is not refreshable', (t) => {
  const s = decodeRecord(TAG, full({ [F.data]: '{not json', [F.createdAt]: 'soon', [F.refreshable]: 'yes' }))!;
  t.deepEqual(s.data, {});
  t.is(s.createdAt, 0);
  t.false(s.refreshable);
  const f = full();
  delete f[F.ip];
  delete f[F.userAgent];
  delete f[F.data];
  t.like(decodeRecord(TAG, f), { ip: '', userAgent: '', data: {} });
});

test('decodeValues reads at an offset, as in the validate script answer; pairs() turns HGETALL into fields', (t) => {
  const reply = ['ok', 12345, ...asValues(full())];
  t.deepEqual(decodeValues(TAG, reply, 2), decodeRecord(TAG, full()));
  // The script answers JSON: an absent field is false.
  const partial = full();
  delete partial[F.data];
  delete partial[F.ip];
  const json = JSON.parse(JSON.stringify(['ok', '12345', ...RECORD_FIELDS.map((k) => partial[k] ?? false)])) as unknown[];
  t.deepEqual(decodeValues(TAG, json, 2), decodeRecord(TAG, partial));
  t.deepEqual(pairs(['a', '1', 'b', 2, 'dangling']), { a: '1', b: '2' });
});

const field = fc.option(fc.oneof(fc.stringMatching(/^[0-9]{1,13}$/), fc.string({ maxLength: 12 })), { nil: undefined });

test('property: decodeRecord (by name) and decodeValues (by position) agree on every record, complete or not', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(fc.record(Object.fromEntries(RECORD_FIELDS.map((k) => [k, field])) as Record<string, typeof field>), fc.nat(3), (raw, at) => {
        const f = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined)) as Record<string, string>;
        const values = [...Array(at).fill('pad'), ...asValues(f)];
        const byName = decodeRecord(TAG, f);
        const byPosition = decodeValues(TAG, values, at);
        return JSON.stringify(byName) === JSON.stringify(byPosition) && (byName === null) === (!f.h || !f.u || !f.a);
      }),
    ),
  );
});

test('property: encodeData round-trips through a record for any small JSON object', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 5 }), (data) => {
        let json: string;
        try {
          json = encodeData(data);
        } catch (err) {
          return err instanceof AppError && Buffer.byteLength(JSON.stringify(data)) > MAX_DATA_BYTES;
        }
        const decoded = decodeRecord(TAG, full({ [F.data]: json }));
        return JSON.stringify(decoded!.data) === JSON.stringify(JSON.parse(JSON.stringify(data)));
      }),
    ),
  );
});
