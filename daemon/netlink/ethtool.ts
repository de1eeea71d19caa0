// TX checksum offload of an interface inside a netns (legacy SIOCETHTOOL ETHTOOL_GTXCSUM ioctl,
// one syscall on a socket created in that netns). Turning it off is part of the pod's rtnetlink
// batch (rtnl.ts), off the event loop.
import { isErrno } from '../errors.ts';
import { native } from './native/addon.ts';
import { inNetnsSync, type NetnsHandle } from './netns.ts';

/** Whether TX checksum offload is on; undefined when the driver does not say (EOPNOTSUPP). */
export function getTxChecksum(netns: NetnsHandle, ifname: string): boolean | undefined {
  try {
    return inNetnsSync(netns, () => native().getTxChecksum(ifname));
  } catch (err) {
    if (isErrno(err, 'EOPNOTSUPP')) return undefined;
    throw err;
  }
}
