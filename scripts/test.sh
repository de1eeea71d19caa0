#!/usr/bin/env bash
# npm test: everything from a fresh Debian 12 machine, as root.
#   1. dependencies (apt packages with Go, node_modules with Node 24)  scripts/install-deps.sh
#   2. house rules: type check, ESLint, no unused file, export,       tsc, eslint, knip,
#      type or dependency, gofmt, go vet                               gofmt, go vet
#   3. the CNI executable's Go tests, then a bounded fuzz run          go test (cni/)
#   4. build dist/ovn-multinet and dist/ovn-multinetd                 scripts/build.ts
#   5. unit, integration and end-to-end tests, with a coverage floor  tap
# Extra arguments go to tap and skip steps 2-3 (e.g. one file: npm test -- test/e2e/traffic.test.ts).
# FUZZ_TIME sets the fuzz run's length (default 60s in CI, 15s otherwise; 0 skips it).
# npm run test:unit runs test/unit alone: no root, no OVS or OVN installed, no build (package.json:
# two jobs, Node's compile cache, nb-lookups' measurement on 2,000 ports instead of 20,000).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install-deps.sh
export PATH="$PWD/node_modules/.bin:$PATH"
# The Go toolchain never downloads anything: the CNI executable uses the standard library only.
export GOPROXY=off GOFLAGS=-mod=mod CGO_ENABLED=0 GOCACHE="$PWD/build/go-cache"

step() { echo "::: $*" >&2; }

files=("$@")
if ((${#files[@]} == 0)); then
  step "tsc"
  tsc --noEmit -p .
  step "eslint"
  eslint --max-warnings=0 .
  step "knip (knip.jsonc)"
  knip
  knip --production --strict --include dependencies,unlisted
  step "gofmt, go vet, go test (cni/)"
  unformatted=$(cd cni && gofmt -l .)
  [[ -z "$unformatted" ]] || { echo "gofmt: not formatted: $unformatted" >&2; exit 1; }
  (cd cni && go vet ./... && go test -count=1 ./...)
  fuzz_time="${FUZZ_TIME:-$([[ "${CI:-}" == true ]] && echo 60s || echo 15s)}"
  if [[ "$fuzz_time" != 0 ]]; then
    step "go fuzz FuzzRun for $fuzz_time"
    (cd cni && go test -run='^$' -fuzz='^FuzzRun$' -fuzztime="$fuzz_time" -fuzzminimizetime=5s .)
  fi
  files=(test/unit test/integration test/e2e)
  # Coverage floor of the TypeScript that the tests load in-process (the executables' own runs
  # in e2e tests are not counted): lower it only with a reason in the commit.
  coverage=(--lines=75 --statements=75 --branches=80 --functions=65)
else
  coverage=(--disable-coverage)
fi

step "build"
node scripts/build.ts

log=$(mktemp)
trap 'rm -f "$log"' EXIT
rc=0
step "tap ${files[*]}"
tap "${coverage[@]}" --reporter=tap --jobs=2 --timeout=300 "${files[@]}" | tee "$log" || rc=$?

# A closing line any CI can read: "N passed, N failed, N skipped".
summary=$(grep -E '^# \{ total: [0-9]+' "$log" | tail -n 1 || true)
num() { sed -nE "s/.*$1: ([0-9]+).*/\\1/p" <<<"$summary"; }
pass=$(num pass); fail=$(num fail); skip=$(num skip)
echo "tests: ${pass:-0} passed, ${fail:-0} failed, ${skip:-0} skipped"
# The failures again, last, so that a CI log's tail names them (file, subtest, then their details).
if [[ "${fail:-0}" != 0 ]]; then
  echo "failed:"
  grep -E '^\s*not ok ' "$log" | head -n 40 || true
  grep -E -A 24 '^\s*not ok ' "$log" | grep -vE '^\s*(ok |# Subtest)' | head -n 80 || true
fi
if [[ -z "$summary" || "${pass:-0}" == 0 ]]; then
  echo "no test ran" >&2
  exit 1
fi
exit "$rc"
