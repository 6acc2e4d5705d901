import { isIP } from 'node:net';
import test from 'ava';
import fc from 'fast-check';
import { ipGroup } from '../../src/throttle/ip-group.js';

test('IPv4 addresses are counted one by one', (t) => {
  t.is(ipGroup('192.0.2.1'), '192.0.2.1');
  t.not(ipGroup('192.0.2.1'), ipGroup('192.0.2.2'));
});

test('an IPv4-mapped IPv6 address counts as the IPv4 address, in either notation', (t) => {
  t.is(ipGroup('::ffff:192.0.2.1'), '192.0.2.1');
  t.is(ipGroup('::FFFF:c000:0201'), '192.0.2.1');
  t.is(ipGroup('0:0:0:0:0:ffff:192.0.2.1'), '192.0.2.1');
});

test('IPv6 addresses are grouped by /64, whatever the notation', (t) => {
  t.is(ipGroup('2001:db8::1'), '2001:db8:0:0::/64');
  t.is(ipGroup('2001:db8::2'), ipGroup('2001:db8::1'));
  t.is(ipGroup('2001:0DB8:0000:0000:ffff:ffff:ffff:ffff'), '2001:db8:0:0::/64');
  t.is(ipGroup('2001:db8:0:0:1::'), '2001:db8:0:0::/64');
  t.is(ipGroup('fe80::1%eth0'), 'fe80:0:0:0::/64');
  t.is(ipGroup('::1'), '0:0:0:0::/64');
  t.is(ipGroup('2001:db8::192.0.2.1'), '2001:db8:0:0::/64');
  t.not(ipGroup('2001:db8:0:1::1'), ipGroup('2001:db8::1'));
});

test('what is not an IP address is kept as it is', (t) => {
  t.is(ipGroup('unknown'), 'unknown');
  t.is(ipGroup(''), '');
});

test('every IPv6 address and its /64 neighbours share one group; other /64s do not', (t) => {
  const hex = fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16));
  const addr = fc.array(hex, { minLength: 8, maxLength: 8 });
  fc.assert(
    fc.property(addr, hex, (h, other) => {
      const ip = h.join(':');
      t.is(isIP(ip), 6);
      const g = ipGroup(ip);
      if (h.slice(0, 5).every((x) => x === '0') && h[5] === 'ffff') return g === ipGroup(`::ffff:${h[6]}:${h[7]}`);
      const neighbour = [...h.slice(0, 7), other].join(':');
      const elsewhere = [h[0], h[1], h[2], (Number.parseInt(h[3]!, 16) ^ 1).toString(16), ...h.slice(4)].join(':');
      return g.endsWith('::/64') && ipGroup(neighbour) === g && ipGroup(elsewhere) !== g;
    }),
  );
  t.pass();
});
