/**
 * The soak checker must catch what it is there to catch: these feed it made-up
 * histories, good and bad, and look at its verdicts.
 */
import test from 'ava';
import { SoakModel, servedAsLive } from '../../scripts/soak/model.js';

const obs = (token: string, start: number, status: number, code?: string, what = 'GET /api/me') => ({
  token, what, start, end: start + 5, status, code, live: servedAsLive(what, status, code),
});

test('a revoked family answering 200 after the acknowledged revocation is a violation', (t) => {
  const m = new SoakModel(1000, 0);
  m.login('u', 'h1', 'A', 0);
  m.revoked(['h1'], 'logout', 100);
  t.true(m.observe(obs('A', 50, 200)), 'in flight during the revoke: either answer is fine');
  t.false(m.observe(obs('A', 150, 200)));
  t.is(m.violations[0]?.rule, 'revocation is final');
});

test('refresh_required after revocation counts as alive, login_required as refused', (t) => {
  const m = new SoakModel(1000, 0);
  m.login('u', 'h1', 'A', 0);
  m.revoked(['h1'], 'cli-kill', 100);
  t.true(m.observe(obs('A', 200, 401, 'login_required')));
  t.false(m.observe(obs('A', 300, 401, 'refresh_required')));
});

test('the successor minted by a refresh racing a revoke-all must die too', (t) => {
  const m = new SoakModel(1000, 0);
  m.login('u', 'h1', 'A', 0);
  const victims = m.familiesOf('u', 100);
  m.rotated('A', 'B', 120); // the refresh answered after the revoke-all was sent
  m.revoked(victims, 'logout-all', 130);
  t.false(m.observe(obs('B', 200, 200)));
});

test('a login acknowledged after the revoke-all was sent is not judged by it', (t) => {
  const m = new SoakModel(1000, 0);
  m.login('u', 'h1', 'A', 0);
  m.login('u', 'h2', 'C', 150);
  m.revoked(m.familiesOf('u', 100), 'logout-all', 160);
  t.true(m.observe(obs('C', 200, 200)));
  t.false(m.observe(obs('A', 200, 200)));
});

test('a rotated-away ID is served inside its grace period and never after it', (t) => {
  const m = new SoakModel(1000, 0);
  m.login('u', 'h1', 'A', 0);
  m.rotated('A', 'B', 100);
  t.true(m.observe(obs('A', 600, 200)));
  t.false(m.observe(obs('A', 1200, 200)));
  t.is(m.violations[0]?.rule, 'a replay is never served');
});

test('a password-change rotation has no grace period', (t) => {
  const m = new SoakModel(1000, 0);
  m.login('u', 'h1', 'A', 0);
  m.rotated('A', 'B', 100, { noGrace: true });
  t.false(m.observe(obs('A', 150, 200)));
});

test('a detected replay kills the family; a survivor successor is a violation', (t) => {
  const m = new SoakModel(1000, 0);
  m.login('u', 'h1', 'A', 0);
  m.rotated('A', 'B', 100);
  t.deepEqual(m.replayCandidates(2000, 500), ['A']);
  m.replay(obs('A', 2000, 401, 'login_required'), obs('B', 2010, 401, 'login_required'));
  t.is(m.counts.replaysDetected, 1);
  t.false(m.observe(obs('B', 2100, 200)));

  const n = new SoakModel(1000, 0);
  n.login('u', 'h2', 'C', 0);
  n.rotated('C', 'D', 100);
  n.replay(obs('C', 2000, 401, 'login_required'), obs('D', 2010, 200));
  t.is(n.counts.replaysDetected, 0);
  t.true(n.violations.some((v) => v.rule === 'a replay kills the chain'));
});

test('any past ID of a family is a replay candidate, however many rotations ago; IDs from before a password change are not', (t) => {
  const m = new SoakModel(1000, 0);
  m.login('u', 'h1', 'A', 0);
  m.rotated('A', 'B', 100);
  m.rotated('B', 'C', 200);
  m.rotated('C', 'D', 300);
  t.deepEqual(m.replayCandidates(2000, 500).sort(), ['A', 'B', 'C']);
  m.rotated('D', 'E', 400, { noGrace: true });
  m.rotated('E', 'F', 500);
  t.deepEqual(m.replayCandidates(2100, 500), ['E'], 'the change started a new family');
  t.false(m.observe(obs('A', 2000, 200)), 'an ID from before the change is still refused');
});

test('a 5xx other than store_unavailable is a violation; store_unavailable is counted', (t) => {
  const m = new SoakModel(1000, 0);
  t.true(m.observe(obs('X', 0, 503, 'store_unavailable')));
  t.false(m.observe(obs('X', 0, 500, 'internal_error')));
  t.is(m.counts.unavailable, 1);
});

test('an idempotent logout of a dead session is not "live"; a successful password change is', (t) => {
  const m = new SoakModel(1000, 0);
  m.login('u', 'h1', 'A', 0);
  m.revoked(['h1'], 'cli-kill', 100);
  t.true(m.observe(obs('A', 200, 204, undefined, 'POST /auth/logout')));
  t.false(m.observe(obs('A', 300, 204, undefined, 'POST /auth/password')));
  t.true(m.observe(obs('A', 400, 403, 'login_required', 'POST /auth/refresh')));
});
