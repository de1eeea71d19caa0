#!/usr/bin/env bash
# npm run bench: ovn-multinet attach latency against same-run baselines (bench/README.md).
# Builds dist/ovn-multinet (the Go CNI executable) and dist/ovn-multinetd (the daemon) only if one
# is missing, otherwise benchmarks the ones that are there.
# Needs root, OVS/OVN, containernetworking-plugins and GNU time (scripts/install-deps.sh).
# Sample counts: BENCH_RUNS (50), BENCH_BURST (100), BENCH_WARMUP (3).
# The Markdown report goes to stdout, progress to stderr:  npm run bench > bench.md
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
if [[ ! -x dist/ovn-multinet || ! -x dist/ovn-multinetd ]]; then
  echo "bench.sh: dist/ovn-multinet or dist/ovn-multinetd is missing: building them" >&2
  bash scripts/build.sh
fi
if [[ "${1:-}" == --ipam ]]; then
  # Cluster IPAM throughput (bench/ipam-throughput.ts): IPAM_ALLOCATORS (20), IPAM_TOTAL (2000).
  exec node bench/ipam-throughput.ts
fi
if [[ "${1:-}" == --metrics ]]; then
  # Only npm run bench's metrics-cost phase, on a node of its own (bench/metrics-only.ts):
  # BENCH_RUNS (50) pairs, BENCH_WARMUP (3).
  exec node bench/metrics-only.ts
fi
if [[ "${1:-}" == --migration ]]; then
  # Live migration downtime on two nodes (bench/migration.ts): MIGRATION_RUNS (5).
  exec node bench/migration.ts
fi
if [[ "${1:-}" == --policy ]]; then
  # MultiNetworkPolicy enforcement on the wire, controller against direct NB writes, and the NB
  # rows and controller memory at two sizes (bench/policy.ts): POLICY_PODS (1000),
  # POLICY_POLICIES (100), POLICY_CHANGES (100), POLICY_SMALL (100x10), POLICY_INTERVAL_MS (2),
  # POLICY_QUIET_MS (500), POLICY_TIMEOUT_MS (20000).
  exec node bench/policy.ts
fi
if [[ "${1:-}" == --nodes ]]; then
  # What many nodes' daemons cost the shared NB, standalone and behind relays (bench/nodes.ts):
  # NODES_UNRELATED (100000), NODES_DAEMONS (100), NODES_SIMULATED (1000), NODES_RELAYS (2),
  # NODES_WORKERS (4), NODES_COMMITS (50), NODES_LIMIT (120 s). Hundreds of connections and
  # servers: the soft limit on open files goes up to the hard one.
  ulimit -Sn "$(ulimit -Hn)"
  exec node bench/nodes.ts
fi
if [[ "${1:-}" == --scale ]]; then
  # The daemon's cost as the shared NB grows (bench/scale.ts): SCALE_UNRELATED (0,20000,50000),
  # SCALE_OURS (20000), SCALE_ADDS (10), SCALE_CHURN (10000), SCALE_SWITCHES (100), SCALE_PROBES (10).
  # A run starts a daemon per scenario over a quarter of an hour, and dist/ is shared: it runs in
  # a private mount namespace where dist/ is a copy taken now (a bind mount of the directory), so
  # a rebuild meanwhile cannot give its scenarios different builds. Not a mount per file: the
  # build renames new files over the old ones, and the kernel detaches a mount in another
  # namespace whose file is renamed over. Its netns and sandbox live in that namespace too.
  if [[ -z "${OVN_MULTINET_SCALE_PINNED:-}" ]]; then
    exec unshare --mount --propagation private env OVN_MULTINET_SCALE_PINNED=1 bash "$0" --scale
  fi
  pin=$(mktemp -d /tmp/omscale-dist-XXXXXX)
  trap 'umount dist 2>/dev/null; rm -rf "$pin"' EXIT
  cp -p dist/ovn-multinet dist/ovn-multinetd "$pin/"
  mount --bind "$pin" dist
  node bench/scale.ts
  exit
fi
exec node bench/main.ts "$@"
