#!/usr/bin/env bash
# Sweeps: a sweep killed with kill -9 or Ctrl-C resumes without running a
# completed seed again and without losing one; shards 1/3..3/3 cover a range
# exactly once and merge into one database; every failing seed a sweep
# reports replays to the trace hash it recorded; sampled seeds are
# deterministic (--check-determinism).
# Usage: tests/sweep.sh path/to/syncsim   (run from the source root)
set -u
BIN=$1
PY=/usr/bin/python3
SCENARIO=scenarios/random/lww-skew.yaml
# A sanitizer build (SYNCSIM_TEST_SANITIZED=1, set by make test) is ten times slower: it
# samples fewer swarm seeds, since what it adds is memory checking, not coverage of seeds.
SANITIZED=${SYNCSIM_TEST_SANITIZED:-}
N=200            # seeds of the sweeps that are killed and resumed
HI=99            # shards: seeds 10..HI, a third each
REPLAYED=60      # seeds 1..REPLAYED: each failing one replays
if [ -n "$SANITIZED" ]; then N=100 HI=39 REPLAYED=30; fi
THIRD=$(((HI - 9) / 3))
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

rows() {   # rows in a results database (0 when it does not exist yet)
  $PY -c "import sqlite3,sys
try: print(sqlite3.connect(sys.argv[1]).execute('select count(*) from runs').fetchone()[0])
except Exception: print(0)" "$1"
}

# --- kill -9, then resume ----------------------------------------------------
db=$tmp/kill.sqlite
"$BIN" sweep "$SCENARIO" --seeds 1..$N -j 2 --db "$db" >"$tmp/kill1.out" 2>&1 &
pid=$!
for _ in $(seq 1 200); do
  [ "$(rows "$db")" -ge 40 ] && break
  sleep 0.05
done
kill -9 "$pid"
wait "$pid" 2>/dev/null
sleep 0.3
before=$(rows "$db")
[ "$before" -ge 40 ] && [ "$before" -lt "$N" ] || fail "kill -9: expected a partial sweep, found $before rows"
pgrep -f -- "--db $db" >/dev/null && fail "kill -9: workers outlived their parent"   # the db path is unique to this test
$PY -c "import sqlite3,sys
db=sqlite3.connect(sys.argv[1])
open(sys.argv[2],'w').write(repr(sorted(db.execute('select seed, finished_at, trace_hash from runs').fetchall())))" "$db" "$tmp/before.txt"
"$BIN" sweep "$SCENARIO" --seeds 1..$N -j 2 --db "$db" >"$tmp/kill2.out" 2>"$tmp/kill2.err"
code=$?
[ "$code" -eq 1 ] || fail "resumed sweep: exit $code, expected 1 (it has failing seeds)"
grep -q "$before already in" "$tmp/kill2.err" || fail "resumed sweep did not count the $before seeds already done: $(head -1 "$tmp/kill2.err")"
grep -q "$N recorded, $((N - before)) run now" "$tmp/kill2.out" || fail "resumed sweep ran the wrong number of seeds: $(grep seeds "$tmp/kill2.out")"
$PY - "$db" "$tmp/before.txt" "$N" <<'PYEOF' || fail "kill -9 and resume lost or re-ran seeds"
import sqlite3, sys, ast
db = sqlite3.connect(sys.argv[1])
rows = db.execute("select seed, finished_at, trace_hash from runs").fetchall()
seeds = sorted(r[0] for r in rows)
assert seeds == list(range(1, int(sys.argv[3]) + 1)), ("seeds recorded", len(seeds))
before = ast.literal_eval(open(sys.argv[2]).read())
now = {r[0]: r for r in rows}
for seed, finished, trace in before:
    assert now[seed][1] == finished, ("seed %d was run again" % seed)
    assert now[seed][2] == trace
PYEOF

# --- Ctrl-C (SIGINT to the process group), then resume --------------------------
db=$tmp/int.sqlite
setsid "$BIN" sweep "$SCENARIO" --seeds 1..$N -j 2 --db "$db" >"$tmp/int1.out" 2>&1 &
pid=$!
for _ in $(seq 1 200); do
  [ "$(rows "$db")" -ge 40 ] && break
  sleep 0.05
done
kill -INT -- "-$pid"
wait "$pid"
code=$?
[ "$code" -eq 130 ] || fail "Ctrl-C: exit $code, expected 130"
grep -q "interrupted: .* run the same command to resume" "$tmp/int1.out" || fail "Ctrl-C: no resume hint"
partial=$(rows "$db")
"$BIN" sweep "$SCENARIO" --seeds 1..$N -j 2 --db "$db" >"$tmp/int2.out" 2>/dev/null
grep -q "$N recorded, $((N - partial)) run now" "$tmp/int2.out" || fail "after Ctrl-C the resume ran the wrong seeds"

# --- shards cover the range exactly once, and merge -------------------------------
for i in 1 2 3; do
  "$BIN" sweep "$SCENARIO" --seeds 10..$HI --shard "$i/3" -j 2 --db "$tmp/shard$i.sqlite" \
    --json "$tmp/shard$i.json" >/dev/null 2>&1
done
"$BIN" sweep "$SCENARIO" --seeds 10..$HI -j 2 --db "$tmp/whole.sqlite" --junit "$tmp/whole.xml" >/dev/null 2>&1
"$BIN" merge "$tmp/merged.sqlite" "$tmp/shard1.sqlite" "$tmp/shard2.sqlite" "$tmp/shard3.sqlite" >"$tmp/merge.out" \
  || fail "merge failed: $(cat "$tmp/merge.out")"
grep -q "shard3.sqlite: $THIRD rows added, 0 already present" "$tmp/merge.out" || fail "merge counts: $(cat "$tmp/merge.out")"
"$BIN" merge "$tmp/merged.sqlite" "$tmp/shard1.sqlite" | grep -q "0 rows added, $THIRD already present" \
  || fail "merging a shard twice added rows"
$PY - "$tmp" "$HI" <<'PYEOF' || fail "shards do not cover the range exactly once, or differ from the whole sweep"
import json, sqlite3, sys, os
tmp = sys.argv[1]
hi = int(sys.argv[2])
seen = []
for i in (1, 2, 3):
    shard = json.load(open(os.path.join(tmp, "shard%d.json" % i)))
    assert shard["shard"] == "%d/3" % i
    seen += [int(r["seed"]) for r in shard["runs"]]
assert sorted(seen) == list(range(10, hi + 1)), sorted(seen)
assert len(seen) == len(set(seen)), "a seed ran in two shards"
merged = dict(sqlite3.connect(os.path.join(tmp, "merged.sqlite")).execute("select seed, trace_hash from runs"))
whole = dict(sqlite3.connect(os.path.join(tmp, "whole.sqlite")).execute("select seed, trace_hash from runs"))
assert sorted(merged) == list(range(10, hi + 1))
assert merged == whole, "a seed gave another trace hash in a shard than in the whole sweep"
PYEOF
$PY - "$tmp/whole.xml" "$HI" <<'PYEOF' || fail "JUnit XML"
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
cases = root.findall("./testsuite/testcase")
assert len(cases) == int(sys.argv[2]) - 9, len(cases)
failed = [c for c in cases if c.find("failure") is not None]
assert int(root.get("failures")) == len(failed) > 0
for c in failed:
    text = c.find("failure").text
    assert "replay: syncsim run scenarios/random/lww-skew.yaml --seed " in text, text[-200:]
    assert ("won instead" in text or "vanished" in text or "came back" in text or "resurrection" in text
            or "    device      " in text), text[:300]   # the last: a session class's episode (what a device showed)
PYEOF

# --- every failing seed replays to the trace hash the sweep recorded --------------
"$BIN" sweep "$SCENARIO" --seeds 1..$REPLAYED -j 2 --json "$tmp/replay.json" >/dev/null 2>&1
$PY -c "import json,sys
for r in json.load(open(sys.argv[1]))['runs']:
    if r['exit_code'] != 0: print(r['seed'], r['trace_hash'], r['exit_code'])" "$tmp/replay.json" >"$tmp/failing.txt"
[ "$(wc -l <"$tmp/failing.txt")" -ge 5 ] || fail "expected failing seeds among 1..$REPLAYED, found $(wc -l <"$tmp/failing.txt")"
while read -r seed hash code; do
  out=$("$BIN" run "$SCENARIO" --seed "$seed")
  got=$?
  [ "$(tail -n1 <<<"$out")" = "trace-hash: $hash" ] || fail "seed $seed replays to $(tail -n1 <<<"$out"), recorded $hash"
  [ "$got" -eq "$code" ] || fail "seed $seed replays with exit $got, recorded $code"
done <"$tmp/failing.txt"

# --- determinism on a sample of seeds ----------------------------------------------
"$BIN" sweep "$SCENARIO" --seeds 200..219 -j 2 --check-determinism --json "$tmp/det.json" >/dev/null 2>&1
$PY -c "import json,sys
runs=json.load(open(sys.argv[1]))['runs']
assert len(runs)==20 and not [r for r in runs if r['outcome']=='nondeterministic']" "$tmp/det.json" \
  || fail "a sampled seed is not deterministic"
for seed in 7 101 333; do
  "$BIN" run "$SCENARIO" --seed "$seed" --check-determinism | grep -q "^deterministic: two runs of seed $seed agree" \
    || fail "run --check-determinism --seed $seed"
done

# --- the reference profile under swarm faults: no violation -------------------------
# (make bench and the README's 1,000-seed figure cover the full range; the
# suite samples 100 seeds, 30 in the sanitizer build.)
ref=100
[ -n "$SANITIZED" ] && ref=30
out=$("$BIN" sweep scenarios/random/reference-swarm.yaml --seeds 1..$ref -j 2 --db "$tmp/ref.sqlite" 2>/dev/null); code=$?
[ "$code" -eq 0 ] || fail "reference swarm sweep exit $code: $(grep -A3 '^failing' <<<"$out")"
grep -q "^result $ref passed, 0 failed, 0 crashed, 0 bad input\$" <<<"$out" || fail "reference swarm sweep: $out"

# --- vary: the reference under each correct round shape, counted by drawn value ------
# Every seed passes whatever it drew; the report's by-value table gives each key's values
# seed counts that add up to the sweep, and the JSON report has the same table.
vary=60
[ -n "$SANITIZED" ] && vary=20
out=$("$BIN" sweep scenarios/random/reference-vary-swarm.yaml --seeds 1..$vary -j 2 --db "$tmp/vary.sqlite" \
      --json "$tmp/vary.json" 2>/dev/null); code=$?
[ "$code" -eq 0 ] || fail "reference vary swarm sweep exit $code: $(grep -A3 '^failing' <<<"$out")"
grep -q "^result $vary passed, 0 failed" <<<"$out" || fail "reference vary swarm: $out"
grep -q '^by drawn value (vary:)' <<<"$out" || fail "sweep of a vary: scenario has no by-value table: $out"
for key_values in sync.round:3 sync.during_round:2 sync.push_snapshot:2 sync.cursor_saved:2 sync.pull_apply:2; do
  key=${key_values%:*}
  total=$(grep -E "^  $key: " <<<"$out" | awk '{s += $3} END {print s + 0}')
  values=$(grep -cE "^  $key: " <<<"$out")
  [ "$total" -eq "$vary" ] && [ "$values" -eq "${key_values#*:}" ] || fail "by-value rows of $key: $values values, $total seeds"
done
/usr/bin/python3 -c "
import json,sys
o=json.load(open(sys.argv[1]))
rows=o['by_drawn_value']
assert len(rows)==11, rows
assert sum(r['seeds'] for r in rows if r['value'].startswith('sync.round: '))==int(sys.argv[2])
assert all(r['failing']==0 for r in rows)
assert all(r['metrics']['design'].startswith('sync.round: ') for r in o['runs'])" "$tmp/vary.json" "$vary" \
  || fail "sweep --json of a vary: scenario: by_drawn_value or metrics.design wrong"
# summary reads the same table back from the database.
"$BIN" summary "$tmp/vary.sqlite" | grep -qE '^  sync\.round: pull-push +[0-9]+ seeds, +0 failing$' \
  || fail "summary of a vary: sweep lacks the by-value table"
# A sweep whose drawn values fail counts the failures against the value that brings them:
# pull_over_pending: replace shows a user an older copy over their queued edit
# (read-your-writes); keep never does.
out=$("$BIN" sweep tests/data/vary-replace.yaml --seeds 1..30 -j 2 --db "$tmp/vr.sqlite" 2>/dev/null)
keep_failing=$(grep -E '^  sync\.pull_over_pending: keep ' <<<"$out" | awk '{print $5}')
replace_failing=$(grep -E '^  sync\.pull_over_pending: replace ' <<<"$out" | awk '{print $5}')
[ "${keep_failing:-x}" = 0 ] && [ "${replace_failing:-0}" -gt 0 ] \
  || fail "by-value failing counts: keep ${keep_failing:-?}, replace ${replace_failing:-?}: $out"

# --- usage errors ---------------------------------------------------------------------
"$BIN" sweep "$SCENARIO" --seeds 5..1 >/dev/null 2>&1; [ $? -eq 2 ] || fail "--seeds 5..1 accepted"
"$BIN" sweep "$SCENARIO" --seeds 1..5 --shard 4/3 >/dev/null 2>&1; [ $? -eq 2 ] || fail "--shard 4/3 accepted"
"$BIN" sweep "$SCENARIO" >/dev/null 2>&1; [ $? -eq 2 ] || fail "sweep without --seeds accepted"
"$BIN" merge "$tmp/m.sqlite" "$tmp/missing.sqlite" >/dev/null 2>&1; [ $? -eq 2 ] || fail "merge of a missing file accepted"

echo "sweep: $failures failure(s)"
[ "$failures" -eq 0 ]
