import test from 'ava';
import fc from 'fast-check';
import { isoTime } from '../../src/iso-time.js';

test('isoTime is Date#toISOString for every instant a session can carry', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 253_402_300_799_999 }), (ms) => isoTime(ms) === new Date(ms).toISOString()),
    { numRuns: 20_000 },
  );
  // Day edges, the epoch, leap days and the last representable 4-digit-year instant.
  for (const ms of [0, 1, 999, 86_399_999, 86_400_000, Date.UTC(2024, 1, 29, 23, 59, 59, 999), Date.UTC(2100, 2, 1), 253_402_300_799_999]) {
    t.is(isoTime(ms), new Date(ms).toISOString(), String(ms));
  }
});

test('isoTime falls back to toISOString outside 1970–9999 and for fractional ms, and throws like it on NaN', (t) => {
  for (const ms of [-1, -86_400_001, 253_402_300_800_000, 8.64e15, 1_700_000_000_000.5]) {
    t.is(isoTime(ms), new Date(ms).toISOString(), String(ms));
  }
  t.throws(() => isoTime(Number.NaN), { instanceOf: RangeError });
});

test('a walk over many days keeps answering correctly past the day cache bound', (t) => {
  const start = Date.UTC(2026, 0, 1, 12, 34, 56, 789);
  for (let d = 0; d < 200; d++) {
    const ms = start + d * 86_400_000 + d * 3_723_001;
    t.is(isoTime(ms), new Date(ms).toISOString());
  }
});
