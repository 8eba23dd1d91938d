#!/usr/bin/env bash
# The same scenario and seed give the same trace hash from a gcc build and a
# clang build (no floating point, address or hash-order dependence). The engines' scenarios
# (scenarios/engines/) are left out: their replicas are Node.js programs, the same whichever
# compiler built syncsim, and tests/engines.sh checks their determinism.
# Usage: tests/cross-compiler.sh GCC_SYNCSIM CLANG_SYNCSIM SCENARIO_DIR
set -u
A=$1 B=$2 DIR=$3
failures=0 compared=0
mapfile -t files < <(find "$DIR" -name '*.yaml' -not -path '*/profiles/*' -not -path '*/grids/*' \
                       -not -path '*/engines/*' | sort)
for f in "${files[@]}"; do
  for seed in "" 1 2 3; do
    args=(run "$f")
    [ -n "$seed" ] && args+=(--seed "$seed")
    ha=$("$A" "${args[@]}" 2>/dev/null | tail -n1)
    hb=$("$B" "${args[@]}" 2>/dev/null | tail -n1)
    compared=$((compared + 1))
    if [[ ! $ha =~ ^trace-hash: ]] || [ "$ha" != "$hb" ]; then
      echo "FAIL: $f seed '${seed:-scenario}': gcc '$ha', clang '$hb'"
      failures=$((failures + 1))
    fi
  done
done
echo "cross-compiler: $compared runs compared, $failures difference(s)"
[ "$compared" -gt 0 ] && [ "$failures" -eq 0 ]
