/**
 * Turns one socket request into one CNI command (cf. ovn-kubernetes cniserver.go): validates env
 * and config (the executable forwards them unchecked), gives the request its deadline,
 * serializes requests for the same attachment, maps every failure to a CNI error, and renders
 * what the executable prints.
 */
import { NotAvailableError, UnreachableError } from '../errors.ts';
import { isAnswer, toCniError } from './cni-errors.ts';
import { parseEnv } from '../cni-spec/env.ts';
import { answerVersion, readRequestConfig, requestNetConf } from '../netconf/request.ts';
import { requireCommandSupported } from '../cni-spec/version.ts';
import { errorOutput, successOutput, versionOutput } from '../cni-spec/output.ts';
import type { DaemonRequest, DaemonResponse } from '../cni-spec/protocol.ts';
import { addAttachment } from '../attachments/add.ts';
import { deleteAttachment } from '../attachments/del.ts';
import { checkAttachment } from '../attachments/check.ts';
import { servedSwitchName } from '../attachments/network.ts';
import { addIpamAttachment } from '../attachments/ipam-add.ts';
import { checkIpamAttachment } from '../attachments/ipam-check.ts';
import { garbageCollect } from '../attachments/cni-gc.ts';
import type { Attacher } from '../attachments/context.ts';
import { attachmentKey, type OwnedAttachment } from '../attachments/owned.ts';
import type { KeyedLock } from '../lib/keylock.ts';
import type { Semaphore } from '../lib/semaphore.ts';
import { withDeadline } from '../lib/deadline.ts';
import type { Reconciler } from '../attachments/reconcile.ts';
import type { DaemonMetrics } from '../metrics/hooks.ts';
import type { AddFailure } from '../k8s/pod-events.ts';

export interface HandlerOptions {
  /** Deadline of one request (the kubelet's CRI timeout is 2 minutes). */
  requestTimeoutMs: number;
  /** Per-attachment lock, shared with the reconciler. */
  lock: KeyedLock;
  reconciler: Reconciler;
  /** How many ADD and CHECK run at once; the others queue in arrival order. */
  admission: Semaphore;
  /** Told of every request served. */
  served: () => void;
  /** Each request's duration, command and answer (NO_METRICS when the listener is off). */
  metrics: DaemonMetrics;
}

export function createHandler(ctx: Attacher, options: HandlerOptions): (request: DaemonRequest, clientGone: AbortSignal) => Promise<DaemonResponse> {
  const { lock, reconciler, admission } = options;

  /**
   * DEL answers once the databases are done; the attachment stays locked until its veth is gone.
   * A database part left undone is the reconciler's as soon as that database is back.
   */
  const deleteAnsweringEarly = (attachment: OwnedAttachment, del: () => ReturnType<typeof deleteAttachment>): Promise<undefined> => {
    const answer = Promise.withResolvers<undefined>();
    const key = attachmentKey(attachment);
    lock
      .run(key, async () => {
        const { veth, ovsPort, logicalPort } = await del();
        if (ovsPort === 'deferred' || logicalPort === 'deferred') reconciler.suspect(attachment);
        answer.resolve(undefined);
        await veth;
      })
      .catch((err: unknown) => {
        ctx.log.error({ err, key }, 'DEL failed');
        answer.reject(err);
      });
    return answer.promise;
  };

  // A request ends at its deadline, or when its client is gone (an ADD nobody hears is undone).
  return (request, clientGone) => {
    options.served();
    const done = options.metrics.requestStarted(request.env.CNI_COMMAND);
    const answer = withDeadline(options.requestTimeoutMs, 'CNI request', (deadline) => handle(request, AbortSignal.any([deadline, clientGone])));
    answer.then(done, () => done(undefined));
    return answer;
  };

  async function handle(request: DaemonRequest, signal: AbortSignal): Promise<DaemonResponse> {
    const arrivedAt = performance.now();
    let log = ctx.log;
    let what = 'request';
    // Decoded once, its version negotiated once: every answer below is printed in that version.
    const config = readRequestConfig(request.config);
    const version = answerVersion(config);
    // An ADD's pod, network and interface, once known: its failure is an Event on the pod.
    let adding: Omit<AddFailure, 'code' | 'msg'> | undefined;
    try {
      const env = parseEnv((name) => request.env[name as keyof typeof request.env]);
      if (env.command === 'VERSION') return versionOutput(config.raw);
      const conf = requestNetConf(config);
      requireCommandSupported(env.command, conf.cniVersion);
      what = `${env.command} on network ${conf.name}`;
      switch (env.command) {
        case 'ADD':
        case 'CHECK':
        case 'DEL': {
          log = ctx.log.child({ containerId: env.containerId, ifname: env.ifName, network: conf.name, command: env.command });
          log.debug('request received');
          if (env.command === 'ADD') adding = { args: env.args, network: conf.name, ifName: env.ifName };
          const key = attachmentKey(env);
          // IPAM mode (another plugin's `ipam`): addresses only, its own ADD and CHECK; DEL
          // removes the NB record alone.
          const ipamOnly = conf.mode === 'ipam';
          const attachment = { containerId: env.containerId, ifName: env.ifName, network: conf.name, ipamOnly };
          const reqLog = log;
          // DEL is never queued behind ADDs (it must not hold up a pod's deletion); ADD and CHECK
          // wait their turn in a burst; then one at a time per attachment. Their switch stays in
          // the NB view while they are queued or running (scope.ts).
          if (env.command === 'DEL') return successOutput(await deleteAnsweringEarly(attachment, () => deleteAttachment(ctx, { ...env, ipamOnly }, reqLog, signal)), version);
          const result = await ctx.scope.holding(servedSwitchName(conf, ctx.node), () => admission.run(signal, () => lock.run(key, async () => {
            signal.throwIfAborted();
            if (env.command === 'CHECK') {
              await (ipamOnly ? checkIpamAttachment : checkAttachment)(ctx, { ...env, conf }, signal);
              return undefined;
            }
            // Whether a transaction that may write the attachment's records went out.
            let sent = false;
            try {
              return await (ipamOnly ? addIpamAttachment : addAttachment)(ctx, { ...env, conf, arrivedAt, sent: () => (sent = true) }, reqLog, signal);
            } catch (err) {
              // What its undo could not remove (a database away), or its transaction if a hung
              // database commits it later: the reconciler's, once the databases answer. An ADD
              // refused before any went out (bad config, access, a database away) left nothing.
              if (sent) reconciler.suspect(attachment);
              throw err;
            }
          })));
          return successOutput(result, version);
        }
        case 'STATUS':
          if (!ctx.nb.connected) throw new NotAvailableError('OVN Northbound database is not reachable');
          if (!ctx.ovs.connected) throw new NotAvailableError('local Open_vSwitch database is not reachable');
          return successOutput(undefined, version);
        case 'GC':
          await garbageCollect(ctx, reconciler, conf, log, signal);
          return successOutput(undefined, version);
        default: {
          const never: never = env;
          throw new UnreachableError(`CNI_COMMAND: unhandled ${String(never)}`);
        }
      }
    } catch (err) {
      const cniErr = toCniError(err, what, signal);
      log.warn({ code: cniErr.code, msg: cniErr.message, details: cniErr.details, err: isAnswer(err) ? undefined : err }, 'request failed');
      if (adding !== undefined) ctx.events?.addFailed({ ...adding, code: cniErr.code, msg: cniErr.message });
      return errorOutput(cniErr, version);
    }
  }
}
