#!/usr/bin/env bash
# npm run demo:networks: layer3 and namespaced networks on two OVN nodes (scripts/demo-networks.ts),
# as root, from a fresh Debian 12. The set-up it needs before Node 24 can run the TypeScript:
# apt packages and node_modules (scripts/install-deps.sh), then the build if dist/ is missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

((EUID == 0)) || { echo "demo:networks: run as root (it configures OVS, OVN and network namespaces)" >&2; exit 1; }

printf '\n\033[1m== %s\033[0m\n' "Set-up: dependencies and build"
bash scripts/install-deps.sh
export PATH="$PWD/node_modules/.bin:$PATH"
[[ -x dist/ovn-multinet && -x dist/ovn-multinetd ]] || node scripts/build.ts
exec node scripts/demo-networks.ts
