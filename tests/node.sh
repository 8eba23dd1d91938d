#!/usr/bin/env bash
# The node protocol (docs/protocol.md) from syncsim's side:
#   1. every scenario in scenarios/basic/ and scenarios/seeds/ gives the same outcome and trace hash
#      in process and through `syncsim node` (the built-in engine served over the protocol);
#   2. a node that exits, writes a line that is not JSON, never answers, or speaks another version
#      ends the run with exit 4, naming the replica, the request and the tail of its log, within its
#      timeout plus a second;
#   3. a sweep whose node fails on some seeds records them as node-failed and goes on;
#   4. --check-determinism works through the boundary;
#   5. a power loss of a node that cannot lose power (no power_loss feature) is a plain crash, and a
#      reinstall of a node without the lifecycle feature wipes nothing, and a switch of accounts on a
#      node without the accounts feature changes no user.
# Usage: tests/node.sh path/to/syncsim [quick]   (run from the source root)
# quick (the sanitizer build's run): the basic scenarios only, the failing nodes, a short sweep; no
# conform of the Python example. The full run is the gcc build's.
set -u
BIN=$1
MODE=${2:-full}
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export TMPDIR=$tmp   # nodes' temporary directories go here and go away with it
PY=$(command -v python3)

# --- 1. in process and through `syncsim node`: the same run ----------------------------------------
same=0
files=(scenarios/basic/*.yaml tests/data/power-loss/*.yaml)
[ "$MODE" == full ] && files+=(scenarios/seeds/*/*.yaml)
for f in "${files[@]}"; do
  if grep -q '^  vary:' "$f"; then
    # A workload that draws the built-in engine's profile keys (docs/vary.md) has no external
    # counterpart: --node is refused, naming vary:, and nothing runs.
    out=$("$BIN" run "$f" --node "$BIN node --profile $f" 2>&1); code=$?
    [ "$code" -eq 2 ] && grep -q "vary draws the built-in engine's profile keys" <<<"$out" \
      || fail "$f: a vary: scenario through --node: exit $code, $(head -c 300 <<<"$out")"
    continue
  fi
  a=$("$BIN" run "$f" 2>&1 | tail -n 2)
  b=$("$BIN" run "$f" --node "$BIN node --profile $f" 2>&1 | tail -n 2)
  if [ "$a" != "$b" ]; then
    fail "$f: in process '$(tr '\n' ' ' <<<"$a")', through syncsim node '$(tr '\n' ' ' <<<"$b")'"
  else
    same=$((same + 1))
  fi
done
echo "node: $same scenarios give the same outcome and trace hash in process and through syncsim node"
[ "$same" -ge "$([ "$MODE" == full ] && echo 150 || echo 12)" ] || fail "only $same scenarios compared"

# same_through_node FILE SEED...: each seed of FILE gives the same verdict and trace hash in process
# and through `syncsim node`.
same_through_node() {
  local f=$1 seed a b
  shift
  for seed in "$@"; do
    a=$("$BIN" run "$f" --seed "$seed" 2>&1 | tail -n 2)
    b=$("$BIN" run "$f" --seed "$seed" --node "$BIN node --profile $f" 2>&1 | tail -n 2)
    [ "$a" == "$b" ] || fail "$f seed $seed differs through syncsim node: $a / $b"
  done
}

# A swarm with crashes, restarts, loss and duplication, on a few seeds.
same_through_node scenarios/random/reference-swarm.yaml 2 7
# Power losses in a swarm: the built-in engine under syncsim node drops the same unflushed state.
same_through_node scenarios/random/batched-flush-swarm.yaml 1 8

# Reinstalls and sign-outs in a swarm: syncsim node wipes the same state and reports the same drops.
same_through_node scenarios/random/reference-swarm-lifecycle.yaml 3 5

# Switches of accounts in a swarm: the server and the devices under syncsim node change users at the
# same instants (account, switch_account, a new init) and give the same trace hash.
same_through_node scenarios/random/reference-swarm-accounts.yaml 3 7

# A node that does not declare the power_loss feature (the Python example) is crashed plainly: the
# trace says so, nothing is withdrawn, and the phone's unflushed edit survives to the server.
"$BIN" run scenarios/basic/power-loss-on-flush.yaml --node "$PY examples/python-lww/node.py" \
  --trace "$tmp/plain.jsonl" >"$tmp/plain.out" 2>&1
grep -q '"ev":"power-loss","node":"phone","supported":false}' "$tmp/plain.jsonl" ||
  fail "power loss of a node without the feature: no plain power-loss event in its trace"
grep -q 'expected note/n1 to be {done: true, text: "first"} on the server, found {done: true, text: "never saved"}' \
  "$tmp/plain.out" || fail "power loss of a node without the feature: the edit did not survive: $(cat "$tmp/plain.out")"

# A node that does not declare the lifecycle feature (the Python example) is not wiped by a reinstall:
# the trace says so, nothing is withdrawn, and the phone's unsynced note reaches the server.
"$BIN" run scenarios/basic/reinstall.yaml --node "$PY examples/python-lww/node.py" \
  --trace "$tmp/plain-reinstall.jsonl" >"$tmp/plain-reinstall.out" 2>&1
grep -q '"ev":"reinstall","node":"phone","wipe":"all","supported":false}' "$tmp/plain-reinstall.jsonl" ||
  fail "reinstall of a node without the lifecycle feature: no unsupported reinstall event in its trace"
grep -q 'expected note/n3 to be absent on the server, found {text: "never synced"}' "$tmp/plain-reinstall.out" ||
  fail "reinstall of a node without the lifecycle feature: the unsynced note did not survive: $(cat "$tmp/plain-reinstall.out")"

# A node that does not declare the accounts feature (the Python example) does not switch accounts: the
# trace says so, the phone stays Alice's, and Bob's edit made on it is refused by its own records.
"$BIN" run scenarios/basic/switch-account.yaml --node "$PY examples/python-lww/node.py" \
  --trace "$tmp/plain-switch.jsonl" >"$tmp/plain-switch.out" 2>&1
grep -q '"ev":"switch-account","node":"phone","from":"alice","to":"bob","mode":"sync-first","data":"wipe","wipe":"all","supported":false}' \
  "$tmp/plain-switch.jsonl" ||
  fail "switch of accounts on a node without the accounts feature: no unsupported switch-account event in its trace"
grep -q 'expected note/b1 to be {text: "bob on the phone"} on the server, found {text: "bob first"}' "$tmp/plain-switch.out" ||
  fail "switch of accounts on a node without the accounts feature: the phone wrote as bob: $(cat "$tmp/plain-switch.out")"

# A sweep through syncsim node, with processes reused across seeds (reset) and fresh ones, gives every
# seed the trace hash it has in process.
hashes() { "$PY" -c "import json,sys; print(' '.join(r['seed']+'='+r['trace_hash'] for r in json.load(open(sys.argv[1]))['runs']))" "$1"; }
SWARM=scenarios/conformance/level-5/swarm.yaml
SEEDS=$([ "$MODE" == full ] && echo 1..6 || echo 1..2)
"$BIN" sweep $SWARM --seeds $SEEDS -j 2 --json "$tmp/in.json" >/dev/null 2>&1
SEEDS=$([ "$MODE" == full ] && echo 1..6 || echo 1..2)
"$BIN" sweep $SWARM --seeds $SEEDS -j 2 --json "$tmp/reused.json" --node "$BIN node --profile $SWARM" >/dev/null 2>&1
SEEDS=$([ "$MODE" == full ] && echo 1..6 || echo 1..2)
"$BIN" sweep $SWARM --seeds $SEEDS -j 2 --json "$tmp/fresh.json" --node "$BIN node --profile $SWARM" --fresh-nodes \
  >/dev/null 2>&1
in_process=$(hashes "$tmp/in.json")
[ -n "$in_process" ] && [ "$in_process" == "$(hashes "$tmp/reused.json")" ] ||
  fail "a sweep through syncsim node reusing processes: $(hashes "$tmp/reused.json"), in process: $in_process"
[ "$in_process" == "$(hashes "$tmp/fresh.json")" ] ||
  fail "a sweep through syncsim node with fresh processes: $(hashes "$tmp/fresh.json"), in process: $in_process"

# Storage faults: the built-in engine under `syncsim node` obeys storage_fault requests (the
# comparison above covers scenarios/basic/storage-*.yaml); a node whose init_ok does not list the
# storage_faults feature is never sent one: the trace says each fault was skipped.
"$BIN" run scenarios/basic/storage-io-error.yaml --trace "$tmp/storage-node.jsonl" \
  --node "$BIN node --profile scenarios/basic/storage-io-error.yaml" >/dev/null 2>&1
n=$(grep -c '"ev":"storage"' "$tmp/storage-node.jsonl")
[ "$n" -eq 3 ] && ! grep -q '"skipped"' "$tmp/storage-node.jsonl" ||
  fail "storage faults through syncsim node: $n storage events, or some skipped: $(grep '"ev":"storage"' "$tmp/storage-node.jsonl")"
"$BIN" run scenarios/basic/storage-io-error.yaml --trace "$tmp/storage-py.jsonl" \
  --node "$PY examples/python-lww/node.py" >/dev/null 2>&1
n=$(grep '"ev":"storage"' "$tmp/storage-py.jsonl" | grep -c '"skipped":"unsupported"')
[ "$n" -eq 3 ] || fail "a node without storage_faults: $n of 3 storage faults traced as skipped"

# --- 2. nodes that fail -------------------------------------------------------------------------------
SCEN=scenarios/basic/offline-edits.yaml
# expect_failed NAME PATTERN... -- ARGS: exit 4 and every pattern in the output.
expect_failed() {
  local name=$1
  shift
  local patterns=()
  while [ "$1" != "--" ]; do patterns+=("$1"); shift; done
  shift
  local out code
  out=$("$BIN" "$@" 2>&1)
  code=$?
  [ "$code" -eq 4 ] || fail "$name: exit $code, expected 4: $(head -c 800 <<<"$out")"
  for p in "${patterns[@]}"; do
    grep -qE -- "$p" <<<"$out" || fail "$name: output lacks /$p/: $(head -c 800 <<<"$out")"
  done
}
faulty() { echo "$PY tests/nodes/faulty.py $BIN $*"; }

expect_failed exits 'node-failed: tablet \(' 'while answering request 3 \(deliver from server\)' \
  'it exited \(or closed its output\) before it answered' 'the process exited with status 3' \
  'faulty: breaking at request 3' 'result    FAIL \(node\): node-failed \(exit 4\)' \
  -- run $SCEN --node "$(faulty exit 3 --only tablet)"
expect_failed garbage 'node-failed: phone' 'while answering request 5 ' \
  'it wrote "Traceback \(most recent call last\): this is not JSON", which is not syncsim-node/1: it is not one JSON value' \
  'faulty: breaking at request 5' -- run $SCEN --node "$(faulty garbage 5 --only phone)"
expect_failed version 'node-failed: server' 'request 1 \(init, boot 1\)' \
  'it speaks "syncsim-node/2"; this syncsim speaks syncsim-node/1' -- run $SCEN --node "$(faulty version)"
expect_failed missing 'node-failed: server' "cannot run 'no-such-program-here'" -- run $SCEN --node "no-such-program-here"
expect_failed chatty 'node-failed: phone' 'it wrote output between requests' 'while answering request 5 ' \
  -- run $SCEN --node "$(faulty chatty 4 --only phone)"

# A node that never answers: its timeout (1 s here) plus a second at most.
cat > "$tmp/hang.yaml" <<EOF
name: hangs
node: { command: "$(faulty hang 4 --only phone)", timeout: 1s }
EOF
# The time the hang costs beyond a node that fails at the same request at once.
ms() { echo $(( $(date +%s%N) / 1000000 )); }
start=$(ms)
expect_failed exits-at-4 'node-failed: phone' -- run $SCEN --node "$(faulty exit 4 --only phone)"
quick_ms=$(( $(ms) - start ))
start=$(ms)
expect_failed hang 'node-failed: phone' 'while answering request 4 \(op create task/t1\)' \
  'it did not answer within 1s of real time' 'faulty: breaking at request 4' \
  -- run $SCEN --profile "$tmp/hang.yaml"
hang_ms=$(( $(ms) - start ))
waited_ms=$(( hang_ms - quick_ms ))
[ "$hang_ms" -ge 1000 ] && [ "$waited_ms" -le 2000 ] ||
  fail "a node that never answers failed after ${hang_ms}ms, ${waited_ms}ms more than one that exits (timeout 1s)"
echo "node: a node that never answers failed the run ${waited_ms}ms later than one that exits (timeout 1s)"

# JSON results say why, and no temporary directory is left by the runs that passed.
"$BIN" run $SCEN --node "$(faulty exit 3 --only tablet)" --json "$tmp/r.json" >/dev/null 2>&1
grep -q '"outcome": "node-failed"' "$tmp/r.json" || fail "--json lacks outcome node-failed"
grep -q '"node_failure": "tablet' "$tmp/r.json" || fail "--json lacks node_failure"
rm -rf "$tmp"/syncsim-*
"$BIN" run $SCEN --node "$BIN node --profile $SCEN" >/dev/null 2>&1
left=$(ls -d "$tmp"/syncsim-* 2>/dev/null | wc -l)
[ "$left" -eq 0 ] || fail "a run that passed left $left temporary directories"

# --store-dir keeps every replica's data directory and log.
"$BIN" run $SCEN --node "$BIN node --profile $SCEN" --store-dir "$tmp/stores" >/dev/null 2>&1
[ -f "$tmp/stores/phone/store.sqlite" ] || fail "--store-dir has no phone/store.sqlite"
[ -f "$tmp/stores/server.log" ] || fail "--store-dir has no server.log"
# ... and will not wipe a directory syncsim did not make.
mkdir -p "$tmp/mine/phone" && touch "$tmp/mine/phone/precious"
out=$("$BIN" run $SCEN --node "$BIN node --profile $SCEN" --store-dir "$tmp/mine" 2>&1)
[ $? -eq 2 ] && grep -q 'was not made by syncsim' <<<"$out" || fail "--store-dir over a foreign directory: $out"
[ -f "$tmp/mine/phone/precious" ] || fail "a foreign directory was wiped"

# --- 3. a sweep goes on past failed seeds ---------------------------------------------------------------
cat > "$tmp/sweep.yaml" <<EOF
name: sweep-with-a-faulty-node
profile:
  name: faulty
  node: { command: "$(faulty exit 3 --only server --even-seeds)" }
devices: { phone: {}, tablet: {} }
steps:
  - { at: 0s, device: phone, create: { type: note, id: n1, fields: { text: a } } }
  - { at: 1m, device: tablet, update: { type: note, id: n1, fields: { text: b } } }
EOF
out=$("$BIN" sweep "$tmp/sweep.yaml" --seeds 1..12 -j 2 --db "$tmp/sweep.sqlite" 2>&1)
echo "$out" | grep -E '^result' || true
count() { "$PY" -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])" "$@"; }
failed=$(count "$tmp/sweep.sqlite" "SELECT count(*) FROM runs WHERE outcome = 'node-failed' AND exit_code = 4")
passed=$(count "$tmp/sweep.sqlite" "SELECT count(*) FROM runs WHERE exit_code = 0")
[ "$failed" -ge 1 ] && [ "$passed" -ge 1 ] && [ $((failed + passed)) -eq 12 ] ||
  fail "sweep with a faulty node: $failed node-failed and $passed passed of 12 seeds: $out"
grep -qE 'syncsim run .*sweep.yaml --seed [0-9]+' <<<"$out" || fail "the sweep does not list failed seeds to replay: $out"

# --- 4. conform ---------------------------------------------------------------------------------------
out=$("$BIN" conform --profile reference -j 2 --junit "$tmp/ref.xml" 2>/dev/null)
code=$?
[ $code -eq 0 ] && grep -q '^result    every level holds, 1..5 (exit 0)' <<<"$out" ||
  fail "conform --profile reference: exit $code: $out"
grep -qE '^lost-update +held 6/6 +held 9/9 +held 6/6 +held 7/7 +held [0-9]+/[0-9]+' <<<"$out" ||
  fail "conform --profile reference has no lost-update row held at every level: $out"
junits=(ref)
if [ "$MODE" == full ]; then
  junits+=(lww)
  out=$("$BIN" conform --node "$PY examples/python-lww/node.py" --seeds 4 -j 2 --junit "$tmp/lww.xml" \
          --json "$tmp/lww.json" --summary "$tmp/lww.md" 2>/dev/null)
  code=$?
  # Last-write-wins in server order holds levels 1-3 and silently overwrites concurrent edits from level 4 on.
  [ $code -eq 1 ] && grep -q '^result    levels 1..3 hold; level 4 is violated (exit 1)' <<<"$out" ||
    fail "conform --node python-lww: exit $code: $out"
  grep -qE '^silent-overwrite +- +- +- +VIOLATED [0-9]+/3' <<<"$out" || fail "python-lww: no silent-overwrite row: $out"
  grep -q "syncsim run scenarios/conformance/level-4/.*--node '$PY examples/python-lww/node.py'" <<<"$out" ||
    fail "python-lww: no replay command for a level-4 violation: $out"
  grep -q 'failure message="violated: silent-overwrite"' "$tmp/lww.xml" ||
    fail "the python-lww JUnit has no silent-overwrite failure"
  grep -q '^| silent-overwrite | - | - | - | \*\*VIOLATED' "$tmp/lww.md" ||
    fail "the Markdown summary lacks the table: $(cat "$tmp/lww.md")"
  "$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); assert [l['holds'] for l in d['levels']] == [True,True,True,False,False], d['levels']" "$tmp/lww.json" ||
    fail "conform --json: levels holding are not 1..3"
fi
for x in "${junits[@]}"; do
  "$PY" - "$tmp/$x.xml" <<'PYEOF' || fail "conform --junit $x: not the JUnit expected"
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "testsuites", root.tag
suites = root.findall("testsuite")
assert len(suites) == 5, len(suites)
for s in suites:
    cases = s.findall("testcase")
    assert int(s.get("tests")) == len(cases) > 0
    assert int(s.get("failures")) == sum(1 for c in cases if c.find("failure") is not None)
PYEOF
done
out=$("$BIN" conform 2>&1)
[ $? -eq 2 ] && grep -q 'conform needs the implementation under test' <<<"$out" || fail "conform without an implementation: $out"

# --- 5. determinism through the boundary --------------------------------------------------------------
out=$("$BIN" run scenarios/basic/crash-restart.yaml --check-determinism --node "$BIN node --profile scenarios/basic/crash-restart.yaml" 2>&1)
grep -q '^deterministic: two runs of seed' <<<"$out" || fail "--check-determinism through syncsim node: $out"

if [ "$failures" -gt 0 ]; then
  echo "node: $failures failure(s)"
  exit 1
fi
echo "node: all checks passed"
