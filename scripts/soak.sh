#!/usr/bin/env bash
# npm run soak: the full soak (bench/soak.ts). Builds dist/ovn-multinet if it is missing.
# SOAK_CYCLES (1000), SOAK_CONCURRENCY (20), SOAK_FAULT_RATE (0.1), SOAK_SEED (1).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
[[ -x dist/ovn-multinet ]] || bash scripts/build.sh
exec node bench/soak.ts "$@"
