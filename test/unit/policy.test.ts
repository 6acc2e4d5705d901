/**
 * The deadline maths both stores share (src/sessions/policy.ts), without any store: the
 * verdict at and around each deadline, the key deadline, and when a read slides.
 * Every deadline is exclusive — at the exact instant, the session is past it.
 */
import test from 'ava';
import fc from 'fast-check';
import {
  type Clocks,
  decide,
  effectiveTouch,
  idleExpiresAt,
  keyDeadline,
  resolvePolicy,
  shouldSlide,
} from '../../src/sessions/policy.js';

const MIN = 60_000;
const record = (o: Partial<Clocks> = {}): Clocks => ({
  lastActiveAt: 1_000_000,
  idleTimeoutMs: 15 * MIN,
  absoluteExpiresAt: 1_000_000 + 60 * MIN,
  refreshable: true,
  ...o,
});

test('decide: active until the idle deadline, stale (refreshable) or idle at it, expired at the absolute one', (t) => {
  const r = record();
  const idleAt = r.lastActiveAt + r.idleTimeoutMs;
  t.is(decide(r, r.lastActiveAt, true), 'active');
  t.is(decide(r, idleAt - 1, true), 'active');
  t.is(decide(r, idleAt, true), 'stale', 'the idle deadline itself is past it');
  t.is(decide(r, idleAt, false), 'idle', 'refresh turned off: no stale state');
  t.is(decide({ ...r, refreshable: false }, idleAt, true), 'idle', 'a non-refreshable session lapses');
  t.is(decide(r, r.absoluteExpiresAt - 1, true), 'stale');
  t.is(decide(r, r.absoluteExpiresAt, true), 'expired', 'the absolute deadline itself is past it');
  t.is(decide(r, r.absoluteExpiresAt + 1, false), 'expired');
});

test('decide: the absolute deadline wins when it comes before the idle one', (t) => {
  const r = record({ absoluteExpiresAt: 1_000_000 + 5 * MIN });
  t.is(decide(r, r.absoluteExpiresAt - 1, true), 'active');
  t.is(decide(r, r.absoluteExpiresAt, true), 'expired');
  t.is(idleExpiresAt(r), r.absoluteExpiresAt);
});

test('idleExpiresAt is min(last activity + idle, absolute); keyDeadline keeps a refreshable record to its absolute deadline', (t) => {
  const r = record();
  t.is(idleExpiresAt(r), r.lastActiveAt + r.idleTimeoutMs);
  t.is(keyDeadline(r), r.absoluteExpiresAt, 'a stale session can still be refreshed, so its key lives on');
  t.is(keyDeadline({ ...r, refreshable: false }), r.lastActiveAt + r.idleTimeoutMs);
  const late = record({ lastActiveAt: r.absoluteExpiresAt - MIN });
  t.is(idleExpiresAt(late), late.absoluteExpiresAt);
  t.is(keyDeadline({ ...late, refreshable: false }), late.absoluteExpiresAt);
});

const clocks = fc
  .record({
    lastActiveAt: fc.integer({ min: 0, max: 2 ** 40 }),
    idleTimeoutMs: fc.integer({ min: 1, max: 10 * 24 * 60 * MIN }),
    lifetime: fc.integer({ min: 1, max: 60 * 24 * 60 * MIN }),
    refreshable: fc.boolean(),
  })
  .map(({ lastActiveAt, idleTimeoutMs, lifetime, refreshable }) => ({
    lastActiveAt,
    idleTimeoutMs,
    absoluteExpiresAt: lastActiveAt + lifetime,
    refreshable,
  }));

test('property: a session is active exactly before idleExpiresAt, and never valid at or after keyDeadline', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(clocks, fc.integer({ min: -MIN, max: 2 ** 41 }), fc.boolean(), (r, offset, refresh) => {
        const now = r.lastActiveAt + offset;
        const v = decide(r, now, refresh);
        if ((v === 'active') !== (now < idleExpiresAt(r))) return false;
        if (now >= keyDeadline(r) && (v === 'active' || v === 'stale')) return false;
        if (v === 'stale' && !(r.refreshable && refresh)) return false;
        return keyDeadline(r) >= idleExpiresAt(r);
      }),
    ),
  );
});

test('shouldSlide: at exactly the touch interval since the last activity, not a millisecond before', (t) => {
  const r = record();
  t.false(shouldSlide(r, r.lastActiveAt, MIN));
  t.false(shouldSlide(r, r.lastActiveAt + MIN - 1, MIN));
  t.true(shouldSlide(r, r.lastActiveAt + MIN, MIN));
  t.true(shouldSlide(r, r.lastActiveAt, 0), 'touch interval 0: every read slides');
});

test('effectiveTouch caps the touch interval at half the idle timeout, so a short idle still slides in time', (t) => {
  t.is(effectiveTouch(MIN, 15 * MIN), MIN);
  t.is(effectiveTouch(MIN, 30_000), 15_000);
  t.is(effectiveTouch(MIN, 1), 0, 'floor: a 1 ms idle slides on every read');
  t.is(effectiveTouch(0, 15 * MIN), 0);
  const short = record({ idleTimeoutMs: 30_000 });
  t.false(shouldSlide(short, short.lastActiveAt + 14_999, MIN));
  t.true(shouldSlide(short, short.lastActiveAt + 15_000, MIN), 'well before the 30 s idle deadline');
});

test('property: a read that slides always comes before the idle deadline it pushes back (for any idle ≥ 2 ms)', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 10 ** 9 }), fc.integer({ min: 0, max: 10 ** 9 }), (idle, touch) => {
        const slideAt = effectiveTouch(touch, idle);
        return slideAt < idle && slideAt <= touch && slideAt >= 0;
      }),
    ),
  );
});

test('resolvePolicy: defaults, touch = min(1 min, idle/10), and refusals of negative, fractional or zero deadlines', (t) => {
  const p = resolvePolicy();
  t.like(p, { idleTimeoutMs: 15 * MIN, absoluteLifetimeMs: 30 * 24 * 60 * MIN, rotationGraceMs: 10_000, touchIntervalMs: MIN, maxPerUser: 100, refreshEnabled: true });
  t.true(Object.isFrozen(p));
  t.is(resolvePolicy({ idleTimeoutMs: 5 * MIN }).touchIntervalMs, 30_000);
  t.is(resolvePolicy({ idleTimeoutMs: 5 * MIN, touchIntervalMs: 0 }).touchIntervalMs, 0);
  for (const bad of [{ idleTimeoutMs: -1 }, { idleTimeoutMs: 1.5 }, { rotationGraceMs: Number.NaN }, { idleTimeoutMs: 0 }, { absoluteLifetimeMs: 0 }]) {
    t.throws(() => resolvePolicy(bad), { instanceOf: RangeError }, JSON.stringify(bad));
  }
});
