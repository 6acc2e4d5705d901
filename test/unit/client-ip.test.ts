/**
 * The client IP the login throttle counts against (src/http/client-ip.ts): TRUST_PROXY
 * hops counted from the right of X-Forwarded-For + the socket peer, so whatever a client
 * writes into the header itself cannot choose the address.
 */
import test from 'ava';
import fc from 'fast-check';
import { clientIp } from '../../src/http/client-ip.js';
import { contextFor } from '../helpers/koa-context.js';

const ip = (peer: string, xff?: string | string[], trustProxy = 0) =>
  clientIp(contextFor({ peer, headers: xff === undefined ? {} : { 'x-forwarded-for': xff } }).req, trustProxy);

test('TRUST_PROXY=0: the socket peer, whatever X-Forwarded-For says', (t) => {
  t.is(ip('203.0.113.9'), '203.0.113.9');
  t.is(ip('203.0.113.9', '198.51.100.1'), '203.0.113.9');
  t.is(ip('::ffff:203.0.113.9'), '203.0.113.9', 'IPv4-mapped IPv6 is unmapped');
  t.is(ip('2001:db8::1'), '2001:db8::1');
  t.is(ip(''), 'unknown');
});

test('TRUST_PROXY=1: the entry our proxy appended (the rightmost), not what the client wrote before it', (t) => {
  t.is(ip('10.0.0.2', '198.51.100.7', 1), '198.51.100.7');
  t.is(ip('10.0.0.2', '1.2.3.4, 198.51.100.7', 1), '198.51.100.7', 'a forged left entry is ignored');
  t.is(ip('10.0.0.2', '1.2.3.4,198.51.100.7', 1), '198.51.100.7');
  t.is(ip('10.0.0.2', ['1.2.3.4', '198.51.100.7'], 1), '198.51.100.7', 'several headers are one list');
  t.is(ip('10.0.0.2', '::ffff:198.51.100.7', 1), '198.51.100.7');
});

test('TRUST_PROXY=2: two hops from the right', (t) => {
  t.is(ip('10.0.0.3', '6.6.6.6, 198.51.100.7, 10.0.0.2', 2), '198.51.100.7');
  t.is(ip('10.0.0.3', '198.51.100.7, 10.0.0.2', 2), '198.51.100.7');
});

test('fewer entries than trusted hops: the leftmost there is (the client reached the first proxy directly)', (t) => {
  t.is(ip('10.0.0.2', undefined, 1), '10.0.0.2');
  t.is(ip('10.0.0.2', '', 1), '10.0.0.2');
  t.is(ip('10.0.0.3', '198.51.100.7', 3), '198.51.100.7');
});

test('a chosen entry that is not an IP address falls back to the peer', (t) => {
  for (const junk of ['unknown', 'evil.example', '300.1.1.1', '<script>', '198.51.100.7:443', '_hidden']) {
    t.is(ip('10.0.0.2', `1.2.3.4, ${junk}`, 1), '10.0.0.2', junk);
  }
  t.is(ip('', 'not-an-ip', 1), 'unknown');
});

test('property: with N trusted hops, nothing a client puts left of the last N entries changes the answer', (t) => {
  const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.'));
  const forged = fc.array(fc.oneof(v4, fc.string({ maxLength: 20 }).filter((s) => !s.includes(','))), { maxLength: 5 });
  t.notThrows(() =>
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 }), forged, fc.array(v4, { minLength: 3, maxLength: 3 }), v4, (hops, junk, proxies, peer) => {
        const appended = proxies.slice(3 - hops);
        const honest = ip(peer, appended.join(', '), hops);
        const withJunk = ip(peer, [...junk, ...appended].join(', '), hops);
        return honest === withJunk && honest === appended[0];
      }),
    ),
  );
});
