#!/usr/bin/env bash
# Shrinking: a failing seed of the random last-write-wins scenario becomes a
# seedless scenario with at most 2 devices and a handful of steps that fails
# with the same class under --strict (and passes as shipped, since it expects
# that class); its own seed: replays the trace hash shrink printed; it names
# its profile rather than inlining it; a compressed timeline never puts two
# steps whose order matters at one instant; shrinking is deterministic; seeds
# that do not fail, unknown classes, bad arguments and an output that cannot
# be written are refused clearly (the last before any run).
# Usage: tests/shrink.sh path/to/syncsim   (run from the source root)
set -u
BIN=$(realpath "$1")
PY=/usr/bin/python3
SCENARIO=scenarios/random/lww-skew.yaml
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$BIN" sweep "$SCENARIO" --seeds 1..40 -j 2 --json "$tmp/sweep.json" >/dev/null 2>&1
$PY -c "import json,sys
runs=json.load(open(sys.argv[1]))['runs']
print(' '.join(r['seed'] for r in runs if 'lost-update' in r['failing'].split(','))); " "$tmp/sweep.json" >"$tmp/seeds"
read -ra seeds <"$tmp/seeds"
[ ${#seeds[@]} -ge 3 ] || fail "expected lost-update seeds among 1..40, found ${#seeds[@]}"

for seed in "${seeds[@]:0:3}"; do
  out=$tmp/min-$seed.yaml
  "$BIN" shrink "$SCENARIO" --seed "$seed" --class lost-update -o "$out" >"$tmp/shrink.out" 2>"$tmp/shrink.err"
  code=$?
  [ "$code" -eq 0 ] || { fail "shrink seed $seed: exit $code: $(cat "$tmp/shrink.out" "$tmp/shrink.err" | tail -3)"; continue; }
  grep -q "^verified: $out fails with lost-update under --strict (exit 1)" "$tmp/shrink.out" \
    || fail "shrink seed $seed did not verify: $(cat "$tmp/shrink.out")"
  grep -qE "^Shrunk in [0-9]+ runs: [0-9]+ of 3 devices and [0-9]+ of [0-9]+ steps kept" "$tmp/shrink.out" \
    || fail "shrink seed $seed: no report of what was removed"
  grep -q "^shrink: removed" "$tmp/shrink.err" || fail "shrink seed $seed: no progress notes"
  devices=$(sed -n '/^devices:/,/^steps:/p' "$out" | grep -c '^  [a-z0-9-]*: {')
  steps=$(grep -c '^  - { at:' "$out")
  [ "$devices" -le 2 ] || fail "shrink seed $seed kept $devices devices"
  [ "$steps" -ge 1 ] && [ "$steps" -le 8 ] || fail "shrink seed $seed kept $steps steps"
  grep -q '^workload:' "$out" && fail "shrink seed $seed: the output still has a workload"
  grep -q "^seed: $seed\$" "$out" || fail "shrink seed $seed: the output does not keep its seed"
  grep -q '^profile: "\(\.\./\)*.*scenarios/profiles/lww-device-clock.yaml"$' "$out" \
    || fail "shrink seed $seed: the profile is not named by its file: $(grep -A2 '^profile:' "$out")"
  "$BIN" run "$out" >/dev/null; [ $? -eq 0 ] || fail "shrunk seed $seed: exit $? as shipped, expected 0"
  "$BIN" run "$out" --strict >"$tmp/strict.out"; code=$?
  [ "$code" -eq 1 ] || fail "shrunk seed $seed: exit $code under --strict, expected 1"
  printed=$(sed -n 's/^verified: .*, trace-hash \([0-9a-f]*\)$/\1/p' "$tmp/shrink.out")
  [ "$(tail -n1 "$tmp/strict.out")" = "trace-hash: $printed" ] \
    || fail "shrunk seed $seed: run --strict gives $(tail -n1 "$tmp/strict.out"), shrink printed $printed"
  grep -q "^  lost-update: " "$tmp/strict.out" || fail "shrunk seed $seed: --strict does not name lost-update"
  # Seedless: any seed gives the same failure.
  "$BIN" run "$out" --strict --seed 999 | grep -q "^  lost-update: " || fail "shrunk seed $seed depends on its seed"
done

# Deterministic: the same seed shrinks to the same file.
seed=${seeds[0]}
mkdir -p "$tmp/a" "$tmp/b"
(cd "$tmp/a" && "$BIN" shrink "$OLDPWD/$SCENARIO" --seed "$seed" -o again.yaml >/dev/null 2>&1)
(cd "$tmp/b" && "$BIN" shrink "$OLDPWD/$SCENARIO" --seed "$seed" -o again.yaml >/dev/null 2>&1)
[ -s "$tmp/a/again.yaml" ] || fail "shrink from another directory wrote nothing"
cmp -s "$tmp/a/again.yaml" "$tmp/b/again.yaml" || fail "shrinking seed $seed twice gave different files"

# A name when the name finds the very profile file from where the output goes ($SYNCSIM_PATH here).
SYNCSIM_PATH="$PWD/scenarios/profiles" "$BIN" shrink "$SCENARIO" --seed "${seeds[0]}" -o "$tmp/named.yaml" >/dev/null 2>&1
grep -q '^profile: lww-device-clock$' "$tmp/named.yaml" || fail "shrink did not name the profile: $(grep '^profile' "$tmp/named.yaml")"
SYNCSIM_PATH="$PWD/scenarios/profiles" "$BIN" run "$tmp/named.yaml" --strict >/dev/null; [ $? -eq 1 ] \
  || fail "the file naming its profile does not fail under --strict"

# Compressing the timeline keeps distinct times where order matters: no two steps at one
# instant act on a common device (or one on every device). Seeds 20 and 38 were shrunk to
# a create and a sync: all at 0s, and to offline and an edit of that device at 3s.
for seed in 20 38; do
  "$BIN" shrink "$SCENARIO" --seed "$seed" -o "$tmp/ties-$seed.yaml" >/dev/null 2>&1 || fail "shrink seed $seed failed"
  $PY - "$tmp/ties-$seed.yaml" <<'PYEOF' || fail "shrink seed $seed put steps whose order matters at one instant"
import re, sys
steps = []
for line in open(sys.argv[1]):
    m = re.match(r"  - \{ at: ([^,]+), (.*)\}$", line.rstrip())
    if not m:
        continue
    at, rest = m.groups()
    device = re.search(r"device: ([^,}]+)", rest)
    if device:
        nodes = {device.group(1).strip()}
    else:
        acts = re.search(r"(?:sync|offline|online|crash|restart|devices): (\[[^\]]*\]|[^ ,}]+)", rest)
        value = acts.group(1) if acts else "all"
        nodes = {"*"} if value == "all" else {x.strip() for x in value.strip("[]").split(",")}
    for other_at, other_nodes, other in steps:
        if other_at == at and (nodes & other_nodes or "*" in nodes or "*" in other_nodes):
            sys.exit("at %s: %s | %s" % (at, other, rest))
    steps.append((at, nodes, rest))
assert len(steps) >= 2, steps
PYEOF
done

# The server's faults are removable: a drop while the server is down keeps its crash and loses
# the gateway's windows, the token expiry and the random answers that do not matter to it.
out=$tmp/server-faults.yaml
"$BIN" shrink tests/data/shrink/server-faults.yaml --class undelivered -o "$out" >"$tmp/shrink.out" 2>"$tmp/shrink.err"
code=$?
if [ "$code" -ne 0 ]; then
  fail "shrink server-faults: exit $code: $(tail -3 "$tmp/shrink.out" "$tmp/shrink.err")"
else
  grep -q 'crash: server' "$out" || fail "shrink server-faults dropped the server crash: $(grep 'at:' "$out")"
  grep -qE 'server_errors|server_timeouts|expire_token|errors:' "$out" \
    && fail "shrink server-faults kept a fault that does not matter: $(grep -E 'server|token' "$out")"
  "$BIN" run "$out" --strict >/dev/null; [ $? -eq 1 ] || fail "shrunk server-faults does not fail under --strict"
fi

# A power loss is removable like a crash: an acknowledged edit dropped by the phone's power loss
# keeps that step (and the profile's flush: key, written back) and loses the tablet's crash and
# power loss, which do not matter to it.
out=$tmp/power-loss.yaml
"$BIN" shrink tests/data/shrink/power-loss.yaml --class undelivered -o "$out" >"$tmp/shrink.out" 2>"$tmp/shrink.err"
code=$?
if [ "$code" -ne 0 ]; then
  fail "shrink power-loss: exit $code: $(tail -3 "$tmp/shrink.out" "$tmp/shrink.err")"
else
  grep -q 'power_loss: phone' "$out" || fail "shrink power-loss dropped the phone's power loss: $(grep 'at:' "$out")"
  grep -qE 'tablet|crash:' "$out" && fail "shrink power-loss kept a step that does not matter: $(grep 'at:' "$out")"
  grep -q 'flush: { every: 30s, acknowledge: on-write }' "$out" || fail "shrink power-loss lost the profile's flush: key"
  "$BIN" run "$out" --strict >/dev/null; [ $? -eq 1 ] || fail "shrunk power-loss does not fail under --strict"
fi

# A reinstall is removable like any step: the phone's reinstall under wipe: data-only (its note never
# comes back) keeps that step and the profile's lifecycle: key, and loses the tablet's lifecycle steps.
out=$tmp/reinstall.yaml
"$BIN" shrink tests/data/shrink/reinstall.yaml --class divergence -o "$out" >"$tmp/shrink.out" 2>"$tmp/shrink.err"
code=$?
if [ "$code" -ne 0 ]; then
  fail "shrink reinstall: exit $code: $(tail -3 "$tmp/shrink.out" "$tmp/shrink.err")"
else
  grep -q 'reinstall: phone' "$out" || fail "shrink reinstall dropped the phone's reinstall: $(grep 'at:' "$out")"
  grep 'at:' "$out" | grep -qE 'tablet|sign_' && fail "shrink reinstall kept a step that does not matter: $(grep 'at:' "$out")"
  grep -q 'lifecycle: { wipe: data-only, sign_out: sync-first }' "$out" || fail "shrink reinstall lost the profile's lifecycle: key"
  "$BIN" run "$out" --strict >/dev/null; [ $? -eq 1 ] || fail "shrunk reinstall does not fail under --strict"
fi

# A switch of accounts is written back as one (switch_account: DEVICE, to: USER, by name even in a
# one-device file) and the shrunk file replays: keep-data's tenant leak needs the phone's own note and
# the switch, and neither the laptop nor the tablet.
out=$tmp/switch-account.yaml
"$BIN" shrink scenarios/basic/switch-account-keep-data.yaml --class tenant-leak -o "$out" >"$tmp/shrink.out" 2>"$tmp/shrink.err"
code=$?
if [ "$code" -ne 0 ]; then
  fail "shrink switch-account: exit $code: $(tail -3 "$tmp/shrink.out" "$tmp/shrink.err")"
else
  grep -q 'switch_account: phone, to: bob' "$out" || fail "shrink switch-account dropped the switch: $(grep 'at:' "$out")"
  grep 'at:' "$out" | grep -qE 'laptop|tablet' && fail "shrink switch-account kept a step that does not matter: $(grep 'at:' "$out")"
  grep -q 'switch: keep-data' "$out" || fail "shrink switch-account lost the profile's lifecycle: { switch } key"
  "$BIN" run "$out" --strict >/dev/null; [ $? -eq 1 ] || fail "shrunk switch-account does not fail under --strict"
fi

# Storage faults are removable too, and a full disk's window shortens: SmartDMV's create dropped
# while the server's disk is full keeps that fault, shorter, and loses the tablet's.
out=$tmp/storage-faults.yaml
"$BIN" shrink tests/data/shrink/storage-faults.yaml --class undelivered -o "$out" >"$tmp/shrink.out" 2>"$tmp/shrink.err"
code=$?
if [ "$code" -ne 0 ]; then
  fail "shrink storage-faults: exit $code: $(tail -3 "$tmp/shrink.out" "$tmp/shrink.err" | cut -c1-300)"
else
  grep -q 'storage: { node: server, fault: disk_full, for: ' "$out" \
    || fail "shrink storage-faults dropped the server's full disk: $(grep 'at:' "$out" | cut -c1-120)"
  grep -q 'for: 40m' "$out" && fail "shrink storage-faults did not shorten the full disk's window"
  grep -q 'shrink: a disk_full window shortened to' "$tmp/shrink.err" || fail "shrink storage-faults: no note of the shorter window"
  grep -q 'node: tablet' "$out" && fail "shrink storage-faults kept the tablet's faults: $(grep 'tablet' "$out" | cut -c1-120)"
  "$BIN" run "$out" --strict >/dev/null; [ $? -eq 1 ] || fail "shrunk storage-faults does not fail under --strict"
fi

# -o is checked before shrinking starts: no run, no note, exit 2.
"$BIN" shrink "$SCENARIO" --seed 1 -o "$tmp/no-such-dir/x.yaml" >"$tmp/out" 2>"$tmp/err"; code=$?
[ "$code" -eq 2 ] || fail "shrink -o into a missing directory: exit $code, expected 2"
grep -q "cannot write $tmp/no-such-dir/x.yaml: its directory does not exist" "$tmp/err" || fail "shrink -o: $(cat "$tmp/err")"
grep -q "^shrink:" "$tmp/err" && fail "shrink -o into a missing directory ran before it checked"

# Refusals. (delete-vs-edit-delete-wins fails under --strict only with silent-overwrite.)
"$BIN" shrink scenarios/basic/delete-vs-edit-delete-wins.yaml --class lost-update -o "$tmp/x.yaml" >/dev/null 2>"$tmp/err"; code=$?
[ "$code" -eq 1 ] || fail "shrinking for a class the seed lacks: exit $code, expected 1"
grep -q "does not fail with lost-update; it fails with silent-overwrite" "$tmp/err" || fail "no clear refusal: $(cat "$tmp/err")"
"$BIN" shrink scenarios/basic/crash-restart.yaml -o "$tmp/x.yaml" >/dev/null 2>"$tmp/err"; code=$?
[ "$code" -eq 1 ] && grep -q "does not fail, even under --strict: nothing to shrink" "$tmp/err" \
  || fail "shrinking a passing seed: exit $code: $(cat "$tmp/err")"
"$BIN" shrink "$SCENARIO" --seed 1 >/dev/null 2>&1; [ $? -eq 2 ] || fail "shrink without -o accepted"
"$BIN" shrink "$SCENARIO" --seed 1 --class lost-updates -o "$tmp/x.yaml" >/dev/null 2>&1; [ $? -eq 2 ] \
  || fail "shrink with an unknown class accepted"

# A seed of a workload with vary: shrinks to a file that says the drawn design: the profile
# inline, with the drawn value in it (the named file has the other), the header naming it,
# and no vary: left; the file replays the hash shrink printed. (Seed 2 draws replace.)
"$BIN" shrink tests/data/vary-replace.yaml --seed 2 --class read-your-writes -o "$tmp/vary-min.yaml" >"$tmp/vary.out" 2>&1 \
  || fail "shrink of a vary: seed: $(tail -3 "$tmp/vary.out")"
grep -q '^  name: reference$' "$tmp/vary-min.yaml" && grep -q '^    pull_over_pending: replace$' "$tmp/vary-min.yaml" \
  || fail "the shrunk vary: seed does not write its drawn profile inline: $(sed -n 1,40p "$tmp/vary-min.yaml")"
grep -q "^# The profile is reference with what vary: drew for this seed: sync.pull_over_pending: replace\.$" \
  "$tmp/vary-min.yaml" || fail "the shrunk vary: seed's header does not name the drawn values"
grep -q '^ *vary:' "$tmp/vary-min.yaml" && fail "the shrunk vary: seed still has vary:"
want=$(grep -o 'trace-hash [0-9a-f]*' "$tmp/vary.out" | awk '{print $2}')
got=$("$BIN" run "$tmp/vary-min.yaml" | tail -1 | awk '{print $2}')
[ -n "$want" ] && [ "$want" = "$got" ] || fail "the shrunk vary: seed replays $got, shrink printed ${want:-nothing}"

echo "shrink: $failures failure(s)"
[ "$failures" -eq 0 ]
