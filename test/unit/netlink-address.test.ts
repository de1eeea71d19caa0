import t from 'tap';
import { InvalidAddressError } from '../../daemon/errors.ts';
import { AF_INET, AF_INET6, bytesOf, ipOfBytes, parseSubnet } from '../../daemon/lib/ip.ts';
import { addressRequest, decodeIp, encodeIp } from '../../daemon/netlink/addr.ts';
import { routeRequest } from '../../daemon/netlink/route.ts';
import { formatMac, parseMac } from '../../daemon/netlink/mac.ts';

t.test('MAC parse and format round trip', (tt) => {
  tt.same([...parseMac('0a:58:0A:00:00:ff')], [0x0a, 0x58, 0x0a, 0x00, 0x00, 0xff]);
  tt.equal(formatMac(parseMac('0A:58:0a:00:00:FF')), '0a:58:0a:00:00:ff', 'lowercase out');
  tt.equal(formatMac(Buffer.from([1, 2, 3, 4, 5, 6])), '01:02:03:04:05:06');
  for (const bad of ['', '0a:58:0a:00:00', '0a:58:0a:00:00:00:00', '0a-58-0a-00-00-05', '0a:58:0a:00:00:0g', 'a:58:0a:00:00:05']) {
    tt.throws(() => parseMac(bad), InvalidAddressError, `rejects ${JSON.stringify(bad)}`);
  }
  tt.end();
});

t.test('IP parse to network-order bytes and back', (tt) => {
  const rows: Array<[string, number, string, string]> = [
    ['10.1.2.3', AF_INET, '0a010203', '10.1.2.3'],
    ['0.0.0.0', AF_INET, '00000000', '0.0.0.0'],
    ['::', AF_INET6, '0'.repeat(32), '::'],
    ['::1', AF_INET6, `${'0'.repeat(31)}1`, '::1'],
    ['fd00:10::5', AF_INET6, 'fd000010000000000000000000000005', 'fd00:10::5'],
    ['FE80:0:0:0:0:0:0:1', AF_INET6, 'fe800000000000000000000000000001', 'fe80::1'],
    ['2001:db8:0:0:1:0:0:1', AF_INET6, '20010db8000000000001000000000001', '2001:db8::1:0:0:1'],
  ];
  for (const [text, family, hex, formatted] of rows) {
    const ip = encodeIp(text);
    tt.equal(ip.family, family, `${text} family`);
    tt.equal(ip.bytes.toString('hex'), hex, `${text} bytes`);
    tt.equal(decodeIp(ip.bytes), formatted, `${text} formats as ${formatted}`);
    tt.equal(ipOfBytes(ip.bytes), formatted, `${text} formats as ${formatted} (lib/ip)`);
  }
  for (const bad of ['', '10.0.0', '10.0.0.256', '1::2::3', 'fd00::/64', 'localhost']) {
    tt.throws(() => encodeIp(bad), InvalidAddressError, `rejects ${JSON.stringify(bad)}`);
  }
  tt.throws(() => decodeIp(Buffer.alloc(5)), InvalidAddressError, 'only 4 or 16 bytes');
  tt.equal(ipOfBytes(Buffer.alloc(5)), undefined, 'only 4 or 16 bytes (lib/ip)');
  tt.end();
});

t.test('interface prefix keeps host bits; route CIDR must not have them', (tt) => {
  tt.match(addressRequest(0, { address: '10.0.0.5', prefixLength: 24 }).message, { data: { family: AF_INET, prefixlen: 24 }, attrs: { local: Buffer.from([10, 0, 0, 5]) } });
  tt.match(addressRequest(0, { address: 'fd00::5', prefixLength: 128 }).message, { data: { prefixlen: 128 } });
  for (const [address, length] of [['10.0.0.5', 33], ['fd00::5', 129], ['10.0.0.5', -1], ['10.0.0.5', 1.5]] as const) {
    tt.throws(() => addressRequest(0, { address, prefixLength: length }), InvalidAddressError, `${address}/${length}`);
  }
  // A route's destination: the subnet's network in network byte order.
  const routeDst = (text: string): { family: number; bytes: Buffer; prefixLength: number } | undefined => {
    const subnet = parseSubnet(text);
    return subnet === undefined ? undefined : { ...bytesOf(subnet.network, subnet.family), prefixLength: subnet.prefixLength };
  };
  tt.same(routeDst('0.0.0.0/0'), { family: AF_INET, bytes: Buffer.alloc(4), prefixLength: 0 });
  tt.same(routeDst('10.96.0.0/12'), { family: AF_INET, bytes: Buffer.from([10, 96, 0, 0]), prefixLength: 12 });
  tt.same(routeDst('::/0'), { family: AF_INET6, bytes: Buffer.alloc(16), prefixLength: 0 });
  tt.equal(routeDst('fd00:10::/64')?.bytes.toString('hex'), `fd000010${'0'.repeat(24)}`);
  tt.match(routeRequest(0, { destination: '10.96.0.0/12' }).message, { data: { family: AF_INET, dstLen: 12 }, attrs: { dst: Buffer.from([10, 96, 0, 0]) } });
  for (const bad of ['10.0.0.5/24', '10.0.0.0', '10.0.0.0/33', 'fd00::1/64', 'x/8', '10.0.0.0/']) {
    tt.throws(() => routeRequest(0, { destination: bad }), InvalidAddressError, `rejects ${bad}`);
    tt.equal(parseSubnet(bad), undefined, `rejects ${bad} (lib/ip)`);
  }
  tt.end();
});
