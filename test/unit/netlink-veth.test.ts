import t from 'tap';
import { ifla, rt } from '../../daemon/netlink/codec.ts';
import { parseMac } from '../../daemon/netlink/mac.ts';
import { vethLinkInfo } from '../../daemon/netlink/veth.ts';

t.test('IFLA_LINKINFO nests the peer as ifinfomsg + attributes', (tt) => {
  const encoded = vethLinkInfo({ ifname: 'net1', address: parseMac('0a:58:0a:00:00:05'), mtu: 1442, netNsFd: 42 });
  tt.equal(encoded.length % 4, 0, 'attributes are 4-byte aligned');
  const info = ifla.parseInfo(encoded);
  tt.equal(info.kind, 'veth');
  const peer = ifla.parseVethInfo(info.data ?? Buffer.alloc(0)).peer ?? Buffer.alloc(0);
  const header = rt.parseLink(peer.subarray(0, rt.__LENGTH_Link));
  tt.equal(header.index, 0, 'the kernel picks the peer index');
  const attrs = ifla.parseLinkAttrs(peer.subarray(rt.__LENGTH_Link));
  tt.equal(attrs.ifname, 'net1');
  tt.equal(attrs.address?.toString('hex'), '0a580a000005');
  tt.equal(attrs.mtu, 1442);
  tt.equal(attrs.netNsFd, 42);
  tt.end();
});
