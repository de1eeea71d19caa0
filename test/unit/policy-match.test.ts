// OVN match building for policy ACLs (daemon/policy/match.ts): atoms that join safely, no empty
// sets, canonical CIDRs, ports and ranges. That OVN parses them: test/integration/policy-match.test.ts.
import t from 'tap';
import { allOf, anyOf, canonicalCidr, inSet, ipBlockMatch, NOTHING, portRange, protocolName, quote } from '../../daemon/policy/match.ts';

t.test('anyOf and allOf: atoms, NOTHING for an empty choice', async (t) => {
  t.equal(anyOf([]), NOTHING);
  t.equal(NOTHING, '0');
  t.equal(anyOf(['tcp']), 'tcp');
  t.equal(anyOf(['tcp', 'udp']), '(tcp || udp)');
  t.equal(allOf(['tcp']), 'tcp');
  t.equal(allOf(['ip4', 'tcp']), '(ip4 && tcp)');
  t.equal(anyOf([allOf(['a', 'b']), 'c']), '((a && b) || c)', 'an && inside an || keeps its parentheses');
});

t.test('inSet never writes an empty set', async (t) => {
  t.equal(inSet('ip4.src', []), NOTHING);
  t.equal(inSet('ip4.src', ['10.0.0.1']), 'ip4.src == 10.0.0.1');
  t.equal(inSet('ip4.src', ['10.0.0.1', '10.0.0.2']), 'ip4.src == {10.0.0.1, 10.0.0.2}');
});

t.test('quote: JSON string syntax', async (t) => {
  t.equal(quote('lsp-1'), '"lsp-1"');
  t.equal(quote('a"b\\c'), '"a\\"b\\\\c"');
});

t.test('protocols and ports', async (t) => {
  t.equal(protocolName('TCP'), 'tcp');
  t.equal(protocolName('UDP'), 'udp');
  t.equal(protocolName('SCTP'), 'sctp');
  t.equal(portRange('TCP', 80, undefined), 'tcp.dst == 80');
  t.equal(portRange('UDP', 53, 53), 'udp.dst == 53', 'a range of one is one port');
  t.equal(portRange('SCTP', 1000, 2000), '(sctp.dst >= 1000 && sctp.dst <= 2000)');
});

t.test('canonicalCidr clears host bits (OVN refuses 1-bits outside the mask)', async (t) => {
  t.same(canonicalCidr('10.1.2.3/16'), { family: 4, cidr: '10.1.0.0/16' });
  t.same(canonicalCidr('10.1.2.3/32'), { family: 4, cidr: '10.1.2.3/32' });
  t.same(canonicalCidr('0.0.0.0/0'), { family: 4, cidr: '0.0.0.0/0' });
  t.same(canonicalCidr('fd00:0:0:1::5/64'), { family: 6, cidr: 'fd00:0:0:1::/64' });
  t.same(canonicalCidr('::/0'), { family: 6, cidr: '::/0' });
  t.equal(canonicalCidr('10.0.0.1'), undefined, 'no prefix length');
  t.equal(canonicalCidr('nonsense/8'), undefined);
});

t.test('ipBlockMatch', async (t) => {
  t.equal(ipBlockMatch('10.0.0.0/16', [], 'src'), 'ip4.src == 10.0.0.0/16');
  t.equal(ipBlockMatch('10.0.0.0/16', ['10.0.1.0/24'], 'dst'), '(ip4.dst == 10.0.0.0/16 && !(ip4.dst == 10.0.1.0/24))');
  t.equal(
    ipBlockMatch('10.0.0.0/16', ['10.0.2.0/24', '10.0.1.7/24', '10.0.1.0/24', 'fd00::/64'], 'src'),
    '(ip4.src == 10.0.0.0/16 && !(ip4.src == {10.0.1.0/24, 10.0.2.0/24}))',
    'exceptions canonical, sorted, deduplicated; another family ignored',
  );
  t.equal(ipBlockMatch('fd00::/48', ['fd00:0:0:1::/64'], 'src'), '(ip6.src == fd00::/48 && !(ip6.src == fd00:0:0:1::/64))');
  t.equal(ipBlockMatch('bad', [], 'src'), NOTHING);
});
