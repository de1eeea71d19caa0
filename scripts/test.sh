#!/usr/bin/env bash
# npm test: everything from a fresh Debian 12 machine, as root.
#   1. dependencies (apt packages, node_modules with Node 24)   scripts/install-deps.sh
#   2. type check and build dist/ovn-multinet                   tsc, scripts/build.ts
#   3. unit, integration and end-to-end tests                   tap
# Extra arguments go to tap (e.g. a single file: npm test -- test/e2e/traffic.test.ts).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install-deps.sh
export PATH="$PWD/node_modules/.bin:$PATH"

tsc --noEmit -p .
node scripts/build.ts

files=("$@")
((${#files[@]} > 0)) || files=(test/unit test/integration test/e2e)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
rc=0
tap --disable-coverage --reporter=tap --jobs=2 --timeout=300 "${files[@]}" | tee "$log" || rc=$?

# A closing line any CI can read: "N passed, N failed, N skipped".
summary=$(grep -E '^# \{ total: [0-9]+' "$log" | tail -n 1 || true)
num() { sed -nE "s/.*$1: ([0-9]+).*/\\1/p" <<<"$summary"; }
pass=$(num pass); fail=$(num fail); skip=$(num skip)
echo "tests: ${pass:-0} passed, ${fail:-0} failed, ${skip:-0} skipped"
if [[ -z "$summary" || "${pass:-0}" == 0 ]]; then
  echo "no test ran" >&2
  exit 1
fi
exit "$rc"
