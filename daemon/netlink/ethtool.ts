// TX checksum offload of an interface inside a netns (legacy SIOCETHTOOL ETHTOOL_[GS]TXCSUM ioctl,
// one syscall on a socket created in that netns).
import { isErrno } from './errors.ts';
import { native } from './native.ts';
import { inNetnsSync, type NetnsHandle } from './netns.ts';

/** Turns TX checksum offload on or off, like `ethtool -K <ifname> tx on|off`. */
export function setTxChecksum(netns: NetnsHandle, ifname: string, on: boolean): void {
  inNetnsSync(netns, () => native().setTxChecksum(ifname, on));
}

/** Whether TX checksum offload is on; undefined when the driver does not say (EOPNOTSUPP). */
export function getTxChecksum(netns: NetnsHandle, ifname: string): boolean | undefined {
  try {
    return inNetnsSync(netns, () => native().getTxChecksum(ifname));
  } catch (err) {
    if (isErrno(err, 'EOPNOTSUPP')) return undefined;
    throw err;
  }
}
