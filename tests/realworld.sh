#!/usr/bin/env bash
# The real-world catalog (scenarios/realworld/): every file reproduces a documented bug of a
# shipping sync engine from a profile of that engine's design. Each is checked three ways:
#   as shipped               exit 0: the bug occurs, as its expect: says;
#   --strict                 exit 1, naming every class its expect: lists;
#   --strict --profile reference   exit 0: a design that keeps every invariant loses nothing
#                            (unless the file says "# reference: n/a, <why>": steps the
#                            reference cannot take, such as a key only that design has);
# and each names its upstream issue and has a row in the catalog's README.
# Usage: tests/realworld.sh path/to/syncsim   (run from the source root)
set -u
BIN=$1
dir=scenarios/realworld
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

mapfile -t files < <(find "$dir" -maxdepth 1 -name '*.yaml' | sort)
[ ${#files[@]} -ge 8 ] || fail "$dir: expected at least 8 reproduced bugs, found ${#files[@]}"
declare -A engines=()
for f in "${files[@]}"; do
  base=$(basename "$f" .yaml)
  profile=$(sed -n 's/^profile: \([a-z0-9-]*\)$/\1/p' "$f")
  [ -n "$profile" ] || { fail "$f: names no profile of its own engine (profile: NAME)"; continue; }
  [ -f "$dir/profiles/$profile.yaml" ] || fail "$f: profile $profile is not in $dir/profiles/"
  engines[$profile]=1
  grep -qE '#[0-9]+' "$f" || fail "$f: its description names no upstream issue (#NNN)"
  grep -qF "($base.yaml)" "$dir/README.md" || fail "$f: no row in $dir/README.md links ($base.yaml)"
  mapfile -t classes < <(sed -n 's/^  violations: \[\(.*\)\]$/\1/p' "$f" | tr ',' '\n' | tr -d ' ')
  [ ${#classes[@]} -ge 1 ] && [ -n "${classes[0]}" ] || { fail "$f: expect: lists no violation class"; continue; }

  "$BIN" run "$f" >"$tmp/plain" 2>&1; code=$?
  [ "$code" -eq 0 ] || fail "$f as shipped: exit $code, expected 0: $(grep -E 'unmet|error' "$tmp/plain" | head -3)"
  "$BIN" run "$f" --strict >"$tmp/strict" 2>&1; code=$?
  [ "$code" -eq 1 ] || fail "$f --strict: exit $code, expected 1"
  for c in "${classes[@]}"; do
    grep -qE "^  $c: [0-9]+" "$tmp/strict" || fail "$f --strict: does not name $c"
  done
  if grep -q '^# reference: n/a' "$f"; then
    continue
  fi
  "$BIN" run "$f" --strict --profile reference >"$tmp/ref" 2>&1; code=$?
  [ "$code" -eq 0 ] || fail "$f --strict --profile reference: exit $code, expected 0: $(grep -E '^  [a-z-]+: [0-9]|unmet' "$tmp/ref" | head -3)"
done
[ ${#engines[@]} -ge 6 ] || fail "$dir: bugs of at least 6 engines expected, found ${#engines[@]} (${!engines[*]})"

echo "realworld: ${#files[@]} files from ${#engines[@]} engines, $failures failure(s)"
[ "$failures" -eq 0 ]
