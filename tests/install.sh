#!/usr/bin/env bash
# Installation: `meson install` puts the binary, the profiles, the scenario
# corpora and catalogs, the report script and syncsim(1) under a prefix; the
# installed syncsim runs a scenario outside the source tree by profile name,
# to the same trace hash as in the source tree, with $SYNCSIM_PATH searched
# before the installed profiles; an unknown name lists the places searched.
# The tree is staged with DESTDIR, then moved to a prefix of its own: the
# binary finds its data relative to itself, so it must work where it lands.
# Usage: tests/install.sh path/to/build/syncsim   (run from the source root)
set -u
BIN=$(realpath "$1")
BUILD=$(dirname "$BIN")
SRC=$(pwd)
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

meson install -C "$BUILD" --no-rebuild --quiet --destdir "$tmp/stage" >"$tmp/install.out" 2>&1 \
  || { fail "meson install: $(tail -5 "$tmp/install.out")"; echo "install: $failures failure(s)"; exit 1; }
staged=$(cd "$tmp/stage" && find . -path '*/bin/syncsim' -type f | head -n1)
[ -n "$staged" ] || fail "no bin/syncsim in the staged tree"
mv "$tmp/stage/${staged%/bin/syncsim}" "$tmp/prefix"
P=$tmp/prefix
S=$P/bin/syncsim

# What lands where.
[ -x "$S" ] || fail "no executable $S"
for f in share/syncsim/scenarios/profiles/reference.yaml share/syncsim/scenarios/profiles/smartdmv.yaml \
         share/syncsim/scenarios/basic/skew-lww-device-clock.yaml share/syncsim/scenarios/random/lww-skew.yaml \
         share/syncsim/scenarios/seeds/smartdmv/README.md share/syncsim/scenarios/grids/compare-designs.yaml \
         share/man/man1/syncsim.1; do
  [ -f "$P/$f" ] || fail "not installed: $f"
done
[ -x "$P/share/syncsim/reports/conflict_report.py" ] || fail "the report script is not installed executable"
"$S" help --man | cmp -s - "$P/share/man/man1/syncsim.1" || fail "the installed syncsim(1) is not what help --man prints"
grep -q '^\.SH NAME' "$P/share/man/man1/syncsim.1" || fail "syncsim(1) has no NAME section"

# A scenario outside the source tree names its profile: the installed one is found.
mkdir -p "$tmp/elsewhere"
cp scenarios/basic/skew-lww-device-clock.yaml "$tmp/elsewhere/skew.yaml"
grep -q '^profile: lww-device-clock' "$tmp/elsewhere/skew.yaml" || fail "the test scenario no longer names its profile"
here=$("$BIN" run scenarios/basic/skew-lww-device-clock.yaml | tail -n1)
out=$(cd "$tmp/elsewhere" && env -u SYNCSIM_PATH "$S" run skew.yaml 2>&1); code=$?
[ "$code" -eq 0 ] || fail "installed syncsim, scenario outside the tree: exit $code: $out"
[ "$(tail -n1 <<<"$out")" = "$here" ] || fail "installed run gave $(tail -n1 <<<"$out"), the source tree $here"
# ... which the build tree's binary, not installed, cannot do without SYNCSIM_PATH.
out=$(cd "$tmp/elsewhere" && env -u SYNCSIM_PATH "$BIN" run skew.yaml 2>&1); code=$?
[ "$code" -eq 2 ] && grep -q "unknown profile 'lww-device-clock'" <<<"$out" && grep -q 'this syncsim is not installed' <<<"$out" \
  || fail "the build tree's binary found a profile it should not have (exit $code): $out"
out=$(cd "$tmp/elsewhere" && SYNCSIM_PATH="$SRC/scenarios/profiles" "$BIN" run skew.yaml 2>&1 | tail -n1)
[ "$out" = "$here" ] || fail "SYNCSIM_PATH=scenarios/profiles: $out"

# $SYNCSIM_PATH comes before the installed profiles; the scenario's own folders before both.
mkdir -p "$tmp/mine"
sed 's/^name: .*/name: my-lww/' scenarios/profiles/lww-hlc.yaml >"$tmp/mine/lww-device-clock.yaml"
out=$(cd "$tmp/elsewhere" && SYNCSIM_PATH="$tmp/nowhere:$tmp/mine" "$S" run skew.yaml 2>&1)
grep -q '^profile   my-lww, seed' <<<"$out" || fail "SYNCSIM_PATH did not come before the installed profiles: $out"
mkdir -p "$tmp/elsewhere/profiles"
sed 's/^name: .*/name: own-lww/' scenarios/profiles/lww-device-clock.yaml >"$tmp/elsewhere/profiles/lww-device-clock.yaml"
out=$(cd "$tmp/elsewhere" && SYNCSIM_PATH="$tmp/mine" "$S" run skew.yaml 2>&1)
grep -q '^profile   own-lww, seed' <<<"$out" || fail "the scenario's own profiles/ did not come first: $out"
rm -r "$tmp/elsewhere/profiles"

# An unknown name: every place searched, in order, and the names there.
sed 's/^profile: .*/profile: lww-devise-clock/' "$tmp/elsewhere/skew.yaml" >"$tmp/elsewhere/typo.yaml"
out=$(cd "$tmp/elsewhere" && SYNCSIM_PATH="$tmp/mine:$tmp/nowhere" "$S" run typo.yaml 2>&1); code=$?
[ "$code" -eq 2 ] || fail "unknown profile: exit $code"
grep -q "^typo.yaml:[0-9]*:10: error: unknown profile 'lww-devise-clock'; did you mean 'lww-device-clock'?" <<<"$out" \
  || fail "unknown profile: first line: $(head -n1 <<<"$out")"
searched=$(sed -n '/^  searched:/,/^  profiles there:/p' <<<"$out")
grep -q "^    $tmp/mine  (\$SYNCSIM_PATH)" <<<"$searched" || fail "SYNCSIM_PATH not listed: $out"
grep -q "^    $tmp/nowhere  (\$SYNCSIM_PATH; no such directory)" <<<"$searched" || fail "a missing SYNCSIM_PATH entry not listed: $out"
grep -q "^    $P/share/syncsim/scenarios/profiles  (installed)" <<<"$searched" || fail "installed profiles not listed: $out"
grep -q "^  profiles there: .*lww-device-clock.*reference" <<<"$out" || fail "the names found are not listed: $out"

# The installed corpus runs as it does in the tree, from anywhere.
out=$(cd "$tmp" && "$S" suite "$P/share/syncsim/scenarios/basic" 2>&1); code=$?
[ "$code" -eq 0 ] || fail "installed scenarios/basic: exit $code: $(tail -n3 <<<"$out")"

echo "install: $failures failure(s)"
[ "$failures" -eq 0 ]
