#!/usr/bin/env bash
# The same scenario and seed give the same trace hash from a gcc build and a
# clang build (no floating point, address or hash-order dependence). The engines' scenarios
# (scenarios/engines/) are left out: their replicas are Node.js programs, the same whichever
# compiler built syncsim, and tests/engines.sh checks their determinism.
# Usage: tests/cross-compiler.sh GCC_SYNCSIM CLANG_SYNCSIM SCENARIO_DIR
# (CROSS_JOBS scenarios at once, default the number of cores)
set -u
A=$1 B=$2 DIR=$3
JOBS=${CROSS_JOBS:-$(nproc)}
export A B
# compare FILE: each of its runs (the scenario's own seed, then seeds 1..3) under both
# binaries; one line per run, "ok" or "FAIL: ...".
compare() {
  local f=$1 seed ha hb args
  for seed in "" 1 2 3; do
    args=(run "$f")
    [ -n "$seed" ] && args+=(--seed "$seed")
    ha=$("$A" "${args[@]}" 2>/dev/null | tail -n1)
    hb=$("$B" "${args[@]}" 2>/dev/null | tail -n1)
    if [[ ! $ha =~ ^trace-hash: ]] || [ "$ha" != "$hb" ]; then
      echo "FAIL: $f seed '${seed:-scenario}': gcc '$ha', clang '$hb'"
    else
      echo ok
    fi
  done
}
export -f compare
out=$(find "$DIR" -name '*.yaml' -not -path '*/profiles/*' -not -path '*/grids/*' -not -path '*/engines/*' -print0 |
        sort -z | xargs -0 -n 1 -P "$JOBS" bash -c 'compare "$1"' _)
compared=$(grep -c . <<<"$out")
failures=$(grep -c '^FAIL' <<<"$out")
grep '^FAIL' <<<"$out" | sort
echo "cross-compiler: $compared runs compared, $failures difference(s)"
[ "$compared" -gt 0 ] && [ "$failures" -eq 0 ]
