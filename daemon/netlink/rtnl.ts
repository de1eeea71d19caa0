// One rtnetlink socket, bound to the netns it was created in, with requests that honour an
// AbortSignal and turn kernel NLMSG_ERROR replies into KernelError.
import { AttrStream, createRtNetlink, FlagsGet, FlagsNew, parseError, rt } from 'netlink';
import type { RtNetlinkSocket } from 'netlink';
import { KernelError } from './errors.ts';
import { inNetnsSync, startThreadpool, type NetnsHandle } from './netns.ts';

const NLMSG_ERROR = 2;

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

// Replies queue in the socket's receive buffer until read; an overflow (ENOBUFS) makes the `netlink`
// package's poll handler throw from native code and abort the process. Bounding the requests in
// flight keeps their ACKs far below the default 208 KiB buffer.
const maxInFlight = 32;

export class Rtnl {
  readonly #sock: RtNetlinkSocket;
  readonly #failed = new AbortController();

  private constructor(sock: RtNetlinkSocket) {
    this.#sock = sock;
    // Without a listener an 'error' event would throw; fail the pending requests instead.
    sock.socket.on('error', (err) => this.#failed.abort(err));
  }

  /** Opens a socket in the calling thread's netns. */
  static open(): Rtnl {
    return new Rtnl(createRtNetlink());
  }

  close(): void {
    this.#sock.socket.close();
  }

  /**
   * Sends one request (REQUEST|ACK plus its flags) and returns the parsed replies (empty for an ACK).
   * @throws KernelError when the kernel answers with an error.
   */
  async request(req: RtnlRequest, signal: AbortSignal): Promise<rt.Message[]> {
    const stop = AbortSignal.any([signal, this.#failed.signal]);
    stop.throwIfAborted();
    const body = new AttrStream();
    formatMessage(req.message, body);
    const reply = this.#sock.socket.request(req.type, body.bufs, { flags: req.flags, checkError: false });
    const [messages] = await untilAborted(reply, stop);
    const first = messages[0];
    if (first?.type === NLMSG_ERROR) {
      const { errno } = parseError(first.data, first.flags);
      if (errno !== 0) throw new KernelError(-errno, req.operation);
      return [];
    }
    return messages.map((msg) => rt.parseMessage(msg.type, msg.data));
  }

  /**
   * Sends requests back to back without waiting for each reply; the kernel handles them in order,
   * so later ones see the effect of earlier ones. Rejects with the first failure.
   */
  async pipeline(requests: readonly RtnlRequest[], signal: AbortSignal): Promise<void> {
    for (let start = 0; start < requests.length; start += maxInFlight) {
      await Promise.all(requests.slice(start, start + maxInFlight).map((req) => this.request(req, signal)));
    }
  }

  /** A dump request (all links, all addresses...). */
  dump(type: rt.MessageType, message: OutMessage, signal: AbortSignal): Promise<rt.Message[]> {
    return this.request({ type, message, flags: FlagsGet.DUMP, operation: `RTM_${rt.MessageType[type]} dump` }, signal);
  }
}

function formatMessage(message: OutMessage, out: AttrStream): void {
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

/** Settles like `promise`, or rejects with the signal's reason once it aborts; always drops the listener. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason instanceof Error ? signal.reason : new Error('aborted', { cause: signal.reason }));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** Runs `fn` with a socket in the host netns (the one the process started in), closed afterwards. */
export async function withHostRtnl<T>(fn: (sock: Rtnl) => Promise<T>): Promise<T> {
  return using(Rtnl.open(), fn);
}

/** Runs `fn` with a socket bound to `netns`, closed afterwards. */
export async function withNetnsRtnl<T>(netns: NetnsHandle, fn: (sock: Rtnl) => Promise<T>): Promise<T> {
  await startThreadpool();
  return using(inNetnsSync(netns, () => Rtnl.open()), fn);
}

async function using<T>(sock: Rtnl, fn: (sock: Rtnl) => Promise<T>): Promise<T> {
  try {
    return await fn(sock);
  } finally {
    sock.close();
  }
}
