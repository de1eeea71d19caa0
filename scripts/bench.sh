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
exec node bench/main.ts "$@"
