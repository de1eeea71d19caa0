// rtnetlink requests, sent from a libuv threadpool thread in the host netns or in a pod's
// (native/rtnl.c): the kernel handles a request inside sendmsg(), under its RTNL lock, which can
// take milliseconds (veth creation and destruction) and far longer while other work holds the
// lock. The event loop never waits for it. Kernel NLMSG_ERROR replies become KernelError.
import { AttrStream, FlagsGet, FlagsNew, formatMessage, parseMessages, rt } from './codec.ts';
import { KernelError } from '../errors.ts';
import { hostNetnsFd, startThreadpool, type NetnsHandle } from './netns.ts';
import { native } from './native/addon.ts';

/** NLM_F_CREATE | NLM_F_EXCL: create, EEXIST if it exists. */
export const createFlags = FlagsNew.CREATE | FlagsNew.EXCL;

/** The messages this layer sends. */
export type OutMessage = rt.LinkMessage | rt.AddressMessage | rt.RouteMessage;

/** A request built ahead of sending, so a batch can be validated before any of it reaches the kernel. */
export interface RtnlRequest {
  type: rt.MessageType;
  message: OutMessage;
  flags: number;
  /** Names the request in errors, e.g. `RTM_NEWADDR 10.0.0.5/24 dev 2`. */
  operation: string;
}

export interface BatchOptions {
  /** An interface of this netns whose TX checksum offload is turned off before the requests. */
  disableTxChecksumOf?: string;
}

/** Where requests go: the host netns, or a pod's (whose handle the caller keeps open). */
export class Rtnl {
  readonly #netnsFd: number;

  private constructor(netnsFd: number) {
    this.#netnsFd = netnsFd;
  }

  static host(): Rtnl {
    return new Rtnl(-1);
  }

  static in(netns: NetnsHandle): Rtnl {
    return new Rtnl(netns.fd);
  }

  /**
   * Sends one request and returns the parsed replies (empty for an ACK).
   * @throws KernelError when the kernel answers with an error.
   */
  async request(req: RtnlRequest, signal: AbortSignal): Promise<rt.Message[]> {
    const [replies] = await this.batch([req], signal);
    return replies ?? [];
  }

  /**
   * Sends requests in order in one trip to the thread (later ones see the effect of earlier
   * ones) and returns each one's replies. Rejects with the first failure; once sent, a batch is
   * not cancelled (`signal` only stops it from starting).
   */
  async batch(requests: readonly RtnlRequest[], signal: AbortSignal, options: BatchOptions = {}): Promise<rt.Message[][]> {
    signal.throwIfAborted();
    await startThreadpool();
    const messages = Buffer.concat(requests.flatMap((req) => formatRequest(req)));
    const result = await native().rtnlExchange(hostNetnsFd(), this.#netnsFd, messages, options.disableTxChecksumOf);
    const failed = requests[result.failed];
    if (failed !== undefined) throw new KernelError(result.errno, failed.operation);
    return result.replies.map((raw) => parseMessages(raw).map((msg) => rt.parseMessage(msg.type, msg.data)));
  }

  /** A dump request (all links, all addresses...). */
  async dump(type: rt.MessageType, message: OutMessage, signal: AbortSignal): Promise<rt.Message[]> {
    return this.request({ type, message, flags: FlagsGet.DUMP, operation: `RTM_${rt.MessageType[type]} dump` }, signal);
  }
}

/**
 * The whole netlink message, padded to 4 bytes as messages are in a batch (NLMSG_ALIGN);
 * sequence numbers and ACK flags are the native side's.
 */
function formatRequest(req: RtnlRequest): Uint8Array[] {
  const body = new AttrStream();
  formatBody(req.message, body);
  const parts = formatMessage({ type: req.type, flags: req.flags, seq: 0, port: 0, data: body.bufs });
  const length = parts.reduce((sum, part) => sum + part.length, 0);
  return length % 4 === 0 ? parts : [...parts, Buffer.alloc(4 - (length % 4))];
}

function formatBody(message: OutMessage, out: AttrStream): void {
  switch (message.kind) {
    case 'link':
      return rt.formatLinkMessage(message, out);
    case 'address':
      return rt.formatAddressMessage(message, out);
    case 'route':
      return rt.formatRouteMessage(message, out);
    default:
      return message satisfies never;
  }
}
