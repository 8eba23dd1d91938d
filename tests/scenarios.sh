#!/usr/bin/env bash
# Scenario golden tests: every shipped scenario meets its expect: block, twice,
# with the same trace hash; --strict fails where a scenario documents a
# weakness, naming the class and a witness; traces, JSON results and stores
# are well-formed and do not change the trace hash.
# Usage: tests/scenarios.sh path/to/syncsim   (run from the source root)
set -u
BIN=$1
PY=/usr/bin/python3
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# scenarios/engines/ runs through Node.js adapters, seconds a run: tests/engines.sh runs those, in the gcc
# build only (the adapters are the same programs whichever compiler built syncsim).
mapfile -t files < <(find scenarios -name '*.yaml' -not -path '*/profiles/*' -not -path '*/grids/*' \
                       -not -path 'scenarios/engines/*' | sort)
[ ${#files[@]} -ge 4 ] || fail "expected the shipped scenarios, found ${#files[@]}"
for f in "${files[@]}"; do
  out1=$("$BIN" run "$f" 2>"$tmp/err1"); c1=$?
  out2=$("$BIN" run "$f" 2>"$tmp/err2"); c2=$?
  h1=$(tail -n1 <<<"$out1"); h2=$(tail -n1 <<<"$out2")
  [ "$c1" -eq 0 ] || fail "$f: exit $c1, expected 0: $(grep -E 'unmet|FAIL' <<<"$out1" | head -3) $(head -c 400 "$tmp/err1")"
  [ "$c2" -eq "$c1" ] || fail "$f: exit codes differ between two runs ($c1, $c2)"
  [[ $h1 =~ ^trace-hash:\ [0-9a-f]{16}$ ]] || fail "$f: last line is not a trace hash: '$h1'"
  [ "$h1" = "$h2" ] || fail "$f: trace hash differs between two runs ($h1 / $h2)"
done

# The skew scenario: passes as shipped, fails under --strict naming lost-update with a witness.
skew=scenarios/basic/skew-lww-device-clock.yaml
out=$("$BIN" run "$skew" --strict); code=$?
[ "$code" -eq 1 ] || fail "$skew --strict: exit $code, expected 1"
grep -q '^  lost-update: 1$' <<<"$out" || fail "$skew --strict: no lost-update finding in: $out"
grep -q 'write tablet:1 was overwritten by phone:1, a causally older write' <<<"$out" || fail "$skew --strict: summary missing"
grep -q 'won instead phone:1 create note/n1' <<<"$out" || fail "$skew --strict: witness does not name the winning write"
grep -q 'skew +10m' <<<"$out" || fail "$skew --strict: witness does not show the winner's clock skew"
grep -q 'it had seen: phone up to #1' <<<"$out" || fail "$skew --strict: witness does not show the causal past"
grep -q '^result    FAIL: violation (exit 1)$' <<<"$out" || fail "$skew --strict: result line"
# Its read-your-writes episode is still shown at the end: its time visible, in the text and in the metrics
# (exact microseconds from the episode's start to the run's end; every session class keyed, 0 when none).
grep -q '^  read-your-writes: 1, visible 58s in all$' <<<"$out" || fail "$skew --strict: no time visible on the count line"
"$BIN" run "$skew" --json "$tmp/skew.json" >"$tmp/skew.out" || fail "$skew --json: exit $?"
$PY - "$tmp/skew.json" "$tmp/skew.out" <<'PYEOF' || fail "$skew: session_visible_us in the metrics"
import json, re, sys
r = json.load(open(sys.argv[1]))
m = r["metrics"]
v = m["session_visible_us"]
assert sorted(v) == sorted(["read-your-writes", "monotonic-reads", "causal-visibility", "order-anomaly"]), v
assert v["monotonic-reads"] == v["causal-visibility"] == v["order-anomaly"] == 0, v
assert m["classes"]["read-your-writes"] == 1, m["classes"]
# The episode runs from the finding's start (t=3m2s and a fraction) to the end of the run.
start = m["end_us"] - v["read-your-writes"]
assert 182000000 <= start < 183000000, start
assert any(f["class"] == "read-your-writes" and "at t=3m2s, still shown at the end after 58s" in f["summary"]
           for f in r["findings"]), r["findings"]
PYEOF

# Delete-wins accepts silently dropping the edit by design; --strict does not.
"$BIN" run scenarios/basic/delete-vs-edit-delete-wins.yaml --strict >"$tmp/out" ; code=$?
[ "$code" -eq 1 ] || fail "delete-wins --strict: exit $code, expected 1"
grep -q 'silent-overwrite: 1$' "$tmp/out" || fail "delete-wins --strict: silent-overwrite not named"

# Idempotency on versus off, same faults: the retry overwrites only without it.
"$BIN" run scenarios/basic/lost-response-idempotent.yaml --strict >/dev/null || fail "idempotent scenario fails --strict"
"$BIN" run scenarios/basic/lost-response-no-idempotency.yaml --strict >"$tmp/out"; code=$?
[ "$code" -eq 1 ] || fail "no-idempotency --strict: exit $code, expected 1"
grep -q 'lost-update' "$tmp/out" || fail "no-idempotency: lost-update not named"

# A trace file and a store directory do not change the hash; the trace is JSON lines.
plain=$("$BIN" run scenarios/basic/offline-edits.yaml | tail -n1)
traced=$("$BIN" run scenarios/basic/offline-edits.yaml --trace "$tmp/t.jsonl" --json "$tmp/r.json" --store-dir "$tmp/stores" | tail -n1)
[ "$plain" = "$traced" ] || fail "--trace/--store-dir changed the trace hash ($plain / $traced)"
$PY - "$tmp" <<'PYEOF' || fail "trace, JSON result or stores malformed"
import json, sqlite3, sys, os
tmp = sys.argv[1]
events = [json.loads(line) for line in open(os.path.join(tmp, "t.jsonl"))]
assert events[0]["ev"] == "start", events[0]
kinds = {e["ev"] for e in events}
assert {"op", "send", "deliver", "obs", "heal", "quiesced"} <= kinds, kinds
assert all(events[i]["t"] <= events[i + 1]["t"] for i in range(len(events) - 1)), "trace time goes backwards"
r = json.load(open(os.path.join(tmp, "r.json")))
assert r["outcome"] == "pass" and r["exit_code"] == 0, r["outcome"]
assert r["trace_hash"] and len(r["trace_hash"]) == 16
m = r["metrics"]
for key in ("writes", "conflicts", "conflicts_by_kind", "sync_rounds", "messages", "bytes", "retries",
            "time_to_converge_us", "classes", "session_visible_us"):
    assert key in m, key
assert m["writes"] == 8, m["writes"]
assert m["classes"]["silent-overwrite"] == 0 and m["classes"]["overwritten-concurrent"] == 1, m["classes"]
assert m["writes_kept"] == 5, m["writes_kept"]
assert m["messages"] == m["messages_delivered"] + sum(m["messages_dropped"].values()) - m["messages_duplicated"], m
assert m["time_to_converge_us"] > 0
sent = sum(1 for e in events if e["ev"] == "send")
assert sent == m["messages"], (sent, m["messages"])
names = sorted(os.listdir(os.path.join(tmp, "stores")))
assert names == ["phone.sqlite", "server.sqlite", "tablet.sqlite"], names
db = sqlite3.connect(os.path.join(tmp, "stores", "server.sqlite"))
rows = dict(db.execute("select type || '/' || id, body from records"))
body = json.loads(rows["note/n1"])
assert body["fields"]["title"]["v"] == "Groceries" and body["fields"]["body"]["v"] == "milk, eggs", body
assert db.execute("select count(*) from changes").fetchone()[0] >= 5
# The three-way merge kept the losing title of task/t1 in the server's conflict store.
kept = db.execute("select type, id from kept").fetchall()
assert kept == [("task", "t1")], kept
phone = sqlite3.connect(os.path.join(tmp, "stores", "phone.sqlite"))
assert phone.execute("select count(*) from outbox").fetchone()[0] == 0, "phone outbox not empty after quiescence"
PYEOF

# --seed replays: the scenario's own seed given explicitly changes nothing; another seed changes the world.
own=$("$BIN" run scenarios/basic/offline-edits.yaml --seed 11 | tail -n1)
other=$("$BIN" run scenarios/basic/offline-edits.yaml --seed 12 | tail -n1)
[ "$own" = "$plain" ] || fail "--seed 11 (the scenario's seed) changed the hash"
[ "$other" != "$plain" ] || fail "--seed 12 gave the same hash as seed 11"

# The conformance corpus keeps the promises of scenarios/conformance/README.md: every file runs
# the reference and says what it checks; counters and events stay in files of their own (so an
# implementation without them loses only those); levels 1-3 never check silent-overwrite, and a
# plain record-level last-write-wins design (lww-hlc) passes every one of them but the counter
# files; the reference passes levels 1-4 under --strict (no class at all occurs) and a few seeds
# of each swarm (scenarios/conformance/README.md gives the full sweep).
conf=scenarios/conformance
mapfile -t conf_files < <(find "$conf" -name '*.yaml' | sort)
[ ${#conf_files[@]} -ge 25 ] || fail "$conf: expected the conformance corpus, found ${#conf_files[@]} files"
for f in "${conf_files[@]}"; do
  base=$(basename "$f"); level=$(basename "$(dirname "$f")")
  [[ $level =~ ^level-[1-5]$ ]] || fail "$f: not in a level-1 ... level-5 folder"
  grep -q '^profile: reference$' "$f" || fail "$f: does not name profile: reference"
  grep -q '^description: >' "$f" || fail "$f: no description"
  grep -q '^  checks: \[' "$f" || fail "$f: expect: names no checks"
  if grep -qE 'increment: [{]|increment: [1-9]' "$f"; then
    [[ $base == counters-* || $base == swarm-counters-events.yaml ]] || fail "$f: increments outside a counters file"
  fi
  if grep -qE 'append: [{]|append: [1-9]' "$f"; then
    [[ $base == events-* || $base == swarm-counters-events.yaml ]] || fail "$f: appends outside an events file"
  fi
  case $level in
    level-[123])
      sed -n '/^  checks:/,$p' "$f" | grep -q 'silent-overwrite' && fail "$f: levels 1-3 must not check silent-overwrite"
      if [[ $base != counters-* ]]; then
        "$BIN" run "$f" --profile lww-hlc >"$tmp/out" 2>&1 || fail "$f: plain last-write-wins (lww-hlc) fails it: $(grep -E 'unmet|^  [a-z-]+: [0-9]' "$tmp/out" | head -3)"
      fi ;;
  esac
  if [ "$level" = level-5 ]; then
    "$BIN" sweep "$f" --seeds 1..5 -j 2 >"$tmp/out" 2>&1 || fail "$f: a seed of 1..5 fails: $(tail -3 "$tmp/out")"
  fi
done
# One process for all of them: the sanitizer build runs this too.
"$BIN" suite "$conf"/level-[1-4] --strict >"$tmp/out" 2>&1; code=$?
if [ "$code" -ne 0 ] || ! grep -q ' 0 failed, 0 bad input$' "$tmp/out"; then
  fail "$conf levels 1-4 under --strict, exit $code: $(grep -E ' (violation|unmet|no-quiescence) ' "$tmp/out" | head -3)"
fi

echo "scenarios: ${#files[@]} files, $failures failure(s)"
[ "$failures" -eq 0 ]
