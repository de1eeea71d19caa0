import t from 'tap';
import { InvalidAddressError } from '../../daemon/errors.ts';
import { AF_INET, AF_INET6, encodePrefix, formatIp, parseCidr, parseIp } from '../../daemon/netlink/ip-bytes.ts';
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
    const ip = parseIp(text);
    tt.equal(ip.family, family, `${text} family`);
    tt.equal(ip.bytes.toString('hex'), hex, `${text} bytes`);
    tt.equal(formatIp(ip.bytes), formatted, `${text} formats as ${formatted}`);
  }
  for (const bad of ['', '10.0.0', '10.0.0.256', '1::2::3', 'fd00::/64', 'localhost']) {
    tt.throws(() => parseIp(bad), InvalidAddressError, `rejects ${JSON.stringify(bad)}`);
  }
  tt.throws(() => formatIp(Buffer.alloc(5)), InvalidAddressError, 'only 4 or 16 bytes');
  tt.end();
});

t.test('interface prefix keeps host bits; route CIDR must not have them', (tt) => {
  tt.same(encodePrefix('10.0.0.5', 24), { family: AF_INET, bytes: Buffer.from([10, 0, 0, 5]), prefixLength: 24 });
  tt.equal(encodePrefix('fd00::5', 128).prefixLength, 128);
  for (const [address, length] of [['10.0.0.5', 33], ['fd00::5', 129], ['10.0.0.5', -1], ['10.0.0.5', 1.5]] as const) {
    tt.throws(() => encodePrefix(address, length), InvalidAddressError, `${address}/${length}`);
  }
  tt.same(parseCidr('0.0.0.0/0'), { family: AF_INET, bytes: Buffer.alloc(4), prefixLength: 0 });
  tt.same(parseCidr('10.96.0.0/12'), { family: AF_INET, bytes: Buffer.from([10, 96, 0, 0]), prefixLength: 12 });
  tt.same(parseCidr('::/0'), { family: AF_INET6, bytes: Buffer.alloc(16), prefixLength: 0 });
  tt.equal(parseCidr('fd00:10::/64').bytes.toString('hex'), `fd000010${'0'.repeat(24)}`);
  for (const bad of ['10.0.0.5/24', '10.0.0.0', '10.0.0.0/33', 'fd00::1/64', 'x/8', '10.0.0.0/']) {
    tt.throws(() => parseCidr(bad), InvalidAddressError, `rejects ${bad}`);
  }
  tt.end();
});
