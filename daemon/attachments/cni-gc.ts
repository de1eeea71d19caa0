/**
 * CNI GC: removes this node's attachments of this network that the runtime no longer lists in
 * cni.dev/valid-attachments, through the reconciler's removal path (same lock, same DEL). A GC
 * without that list removes nothing and is refused (code 7), before any database is touched.
 */
import type { NetConf } from '../netconf/parse.ts';
import { requireValidAttachments } from '../netconf/fields.ts';
import type { Logger } from '../lib/log.ts';
import { attachmentKey, ownedAttachments } from './owned.ts';
import type { Reconciler } from './reconcile.ts';
import { ensureConnected, type Attacher } from './context.ts';

export async function garbageCollect(ctx: Attacher, reconciler: Reconciler, conf: NetConf, log: Logger, signal: AbortSignal): Promise<number> {
  const valid = new Set(requireValidAttachments(conf.validAttachments).map(attachmentKey));
  await ensureConnected(ctx, ctx.nb, signal);
  await ensureConnected(ctx, ctx.ovs, signal);
  const stale = [...ownedAttachments(ctx).values()].filter((a) => a.network === conf.name && !valid.has(attachmentKey(a)));
  for (const attachment of stale) await reconciler.remove(attachment, 'cni_gc', signal, false);
  if (stale.length > 0) log.info({ network: conf.name, removed: stale.length }, 'garbage-collected attachments');
  return stale.length;
}
