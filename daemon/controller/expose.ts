/**
 * Auto-expose: logical switches an admin marks in the NB appear as Network objects.
 *
 *   ovn-nbctl set logical_switch red external_ids:ovn-multinet/expose=true \
 *     external_ids:ovn-multinet/expose-namespaces=team=a
 *
 * `ovn-multinet/expose` is "true" (a Network named like the switch) or the Network's name
 * ("false" or "" means not exposed). `ovn-multinet/expose-namespaces` is the namespaceSelector:
 * `key=value[,key=value...]` (matchLabels), or `*` for every namespace; without it the Network
 * selects no namespace, so marking a switch never opens it to everyone by surprise.
 *
 * The Networks made this way carry DISCOVERED_LABEL; only those are ever updated or deleted
 * (when the mark goes, or the switch). The NB is their source of truth: edits to their spec are
 * undone. A Network of the same name that the controller did not make is left alone (logged),
 * as is the Network of a switch whose mark cannot be read.
 */
import { CustomObjectsApi } from '@kubernetes/client-node';
import { withSignal } from '../k8s/signal.ts';
import { NETWORK_GROUP, NETWORK_PLURAL, NETWORK_VERSION } from '../k8s/networks.ts';
import { ExposeKeys } from '../ovn/ids.ts';
import type { SwitchIds } from '../ovn/exposed.ts';
import { inFlux } from './api.ts';
import type { LeaderContext } from './context.ts';
import { DISCOVERED_LABEL, NETWORK_API_VERSION, NETWORK_KIND, type NetworkObject } from './objects.ts';
import { isObject } from '../cni-spec/json.ts';
import { isDnsSubdomain, isLabelKey, isLabelValue } from '../k8s/names.ts';
import { ReconcileLoop, type PassResult } from './trigger.ts';
import { ExposeMarkError } from '../errors.ts';

export interface DiscoveredNetwork {
  name: string;
  switchName: string;
  /** The spec the Network must have; undefined: keep the existing one (the mark is unreadable). */
  spec: Record<string, unknown> | undefined;
}


/** `*` → {} (every namespace); `k=v,...` → matchLabels; absent → undefined (none). */
export function parseExposeNamespaces(value: string | undefined): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (text === '*') return {};
  const matchLabels: Record<string, string> = {};
  for (const term of text.split(',')) {
    const [key = '', label, ...rest] = term.trim().split('=');
    if (label === undefined || rest.length > 0 || !isLabelKey(key) || !isLabelValue(label)) {
      throw new ExposeMarkError(`${ExposeKeys.exposeNamespaces}: ${JSON.stringify(term)} is not key=value (the whole value: "*" or key=value[,key=value...])`);
    }
    matchLabels[key] = label;
  }
  return { matchLabels };
}

/** The Network a marked switch wants; throws ExposeMarkError for an unreadable mark. */
function networkName(sw: SwitchIds): string | undefined {
  const mark = (sw.externalIds.get(ExposeKeys.expose) ?? '').trim();
  if (mark === '' || mark === 'false') return undefined;
  const name = mark === 'true' ? sw.name : mark;
  if (!isDnsSubdomain(name)) {
    throw new ExposeMarkError(`${JSON.stringify(name)} is not a valid Network name (lower-case letters, digits, "-" and "."); set ${ExposeKeys.expose} to a valid name`);
  }
  return name;
}

/** The Networks the marked switches want (pure). Two switches wanting one name: the first by switch name wins. */
export function discoverNetworks(marked: readonly SwitchIds[]): { networks: DiscoveredNetwork[]; problems: string[] } {
  const networks = new Map<string, DiscoveredNetwork>();
  const problems: string[] = [];
  for (const sw of [...marked].sort((a, b) => a.name.localeCompare(b.name))) {
    let name: string | undefined;
    try {
      name = networkName(sw);
    } catch (err) {
      if (!(err instanceof ExposeMarkError)) throw err;
      problems.push(`logical switch ${sw.name}: ${err.message}`);
      continue;
    }
    if (name === undefined) continue;
    const taken = networks.get(name);
    if (taken !== undefined) {
      problems.push(`logical switch ${sw.name}: Network ${name} is already exposed from logical switch ${taken.switchName}`);
      continue;
    }
    let spec: Record<string, unknown> | undefined;
    try {
      const selector = parseExposeNamespaces(sw.externalIds.get(ExposeKeys.exposeNamespaces));
      spec = { logicalSwitch: sw.name, ...(selector === undefined ? {} : { namespaceSelector: selector }) };
    } catch (err) {
      if (!(err instanceof ExposeMarkError)) throw err;
      problems.push(`logical switch ${sw.name}: ${err.message}`);
    }
    networks.set(name, { name, switchName: sw.name, spec });
  }
  return { networks: [...networks.values()], problems };
}

/** JSON with sorted keys, to compare specs whatever order the API server keeps. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (isObject(value)) return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(',')}}`;
  return JSON.stringify(value) ?? 'null';
}

export const isDiscovered = (n: NetworkObject): boolean => n.labels.get(DISCOVERED_LABEL) === 'true';

export class SwitchExposer extends ReconcileLoop {
  readonly #api: CustomObjectsApi;
  /** Problems already logged, so a steady bad mark is logged once, not every pass. */
  #reported = new Set<string>();

  constructor(ctx: LeaderContext) {
    super(ctx, 'switch-expose');
    this.#api = ctx.kubeConfig.makeApiClient(CustomObjectsApi);
  }

  override start(signal: AbortSignal): void {
    this.#reported = new Set();
    super.start(signal);
  }

  #report(problems: readonly string[]): void {
    for (const p of problems) if (!this.#reported.has(p)) this.log.warn({ problem: p }, 'logical switch not exposed');
    this.#reported = new Set(problems);
  }

  protected async pass(signal: AbortSignal): Promise<PassResult> {
    const { caches, nb } = this.ctx;
    // Before the NB has been read (or the Networks listed), every discovered Network would look stale.
    if (!caches.synced || !nb.ready) return 'done';
    const { networks: wanted, problems } = discoverNetworks(nb.marked());
    const existing = new Map(caches.networks().map((n) => [n.name, n]));
    const opts = withSignal(signal);
    const where = { group: NETWORK_GROUP, version: NETWORK_VERSION, plural: NETWORK_PLURAL };
    let retry = false;
    const write = async (what: string, name: string, call: () => Promise<unknown>): Promise<void> => {
      try {
        await call();
        this.log.info({ network: name }, what);
      } catch (err) {
        signal.throwIfAborted();
        retry = true;
        if (!inFlux(err)) this.log.warn({ err, network: name }, `${what}: failed`);
      }
    };
    for (const want of wanted) {
      const have = existing.get(want.name);
      if (have !== undefined && !isDiscovered(have)) {
        problems.push(`logical switch ${want.switchName}: a Network ${want.name} the controller did not make exists; it is left alone`);
        continue;
      }
      const { spec } = want;
      if (spec === undefined) continue;
      if (have === undefined) {
        const body = { apiVersion: NETWORK_API_VERSION, kind: NETWORK_KIND, metadata: { name: want.name, labels: { [DISCOVERED_LABEL]: 'true' } }, spec };
        await write('Network created from a marked logical switch', want.name, () => this.#api.createClusterCustomObject({ ...where, body }, opts));
      } else if (canonical(have.spec) !== canonical(spec)) {
        const body = { ...have.raw, spec };
        await write('Network updated from its logical switch', want.name, () => this.#api.replaceClusterCustomObject({ ...where, name: want.name, body }, opts));
      }
    }
    const names = new Set(wanted.map((w) => w.name));
    for (const stale of existing.values()) {
      if (!isDiscovered(stale) || names.has(stale.name)) continue;
      const body = { preconditions: { uid: stale.uid, resourceVersion: stale.resourceVersion } };
      await write('Network deleted: its logical switch is gone or no longer marked', stale.name, () => this.#api.deleteClusterCustomObject({ ...where, name: stale.name, body }, opts));
    }
    this.#report(problems);
    return retry ? 'retry' : 'done';
  }
}
