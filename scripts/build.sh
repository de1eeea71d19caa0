#!/usr/bin/env bash
# npm run build: dist/ovn-multinet (see scripts/build.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
exec node scripts/build.ts
