#!/usr/bin/env bash
# syncsim summary: from a results database -- one sweep's, shards' merged,
# a grid's -- it prints what the sweep printed at its end (the same result
# line, classes and replay commands), says which seeds and shards are
# missing, and exits as the sweep would (0 all passed, 1 a failure or a
# missing shard, 2 bad input); its JUnit, JSON and Markdown agree with it;
# every replay command it prints reproduces the recorded trace hash.
# Usage: tests/summary.sh path/to/syncsim   (run from the source root)
set -u
BIN=$1
PY=/usr/bin/python3
SCENARIO=scenarios/random/lww-skew.yaml
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# --- one sweep: the summary repeats the sweep's own ending --------------------------------------
"$BIN" sweep "$SCENARIO" --seeds 1..24 -j 2 --db "$tmp/one.sqlite" >"$tmp/sweep.out" 2>/dev/null
sweep_code=$?
"$BIN" summary "$tmp/one.sqlite" >"$tmp/summary.out" 2>"$tmp/summary.err"
code=$?
[ "$code" -eq "$sweep_code" ] || fail "summary exit $code, the sweep's $sweep_code"
[ "$sweep_code" -eq 1 ] || fail "seeds 1..24 of $SCENARIO were expected to fail some seeds (exit $sweep_code)"
# From "result" on, the sweep's lines and the summary's are the same.
diff <(sed -n '/^result/,$p' "$tmp/sweep.out") <(sed -n '/^result/,$p' "$tmp/summary.out") >"$tmp/diff" \
  || fail "summary's result lines differ from the sweep's: $(cat "$tmp/diff")"
grep -q "^sweep  random-lww-skew ($SCENARIO), profile lww-device-clock$" "$tmp/summary.out" \
  || fail "summary's heading: $(head -1 "$tmp/summary.out")"
grep -q "^seeds  1..24: 24 recorded$" "$tmp/summary.out" || fail "summary's seeds line: $(sed -n 2p "$tmp/summary.out")"
# Every failing seed's replay command gives the hash the database recorded for it.
$PY - "$tmp/one.sqlite" "$tmp/summary.out" "$BIN" <<'PYEOF' || fail "a replay command did not reproduce its run"
import re, sqlite3, subprocess, sys
db, out, binary = sys.argv[1:]
hashes = dict(sqlite3.connect(db).execute("select seed, trace_hash from runs"))
commands = [l.strip() for l in open(out) if l.startswith("  syncsim run ")]
assert commands, "no replay commands"
for line in commands[:3]:
    seed = int(re.search(r"--seed (\d+)", line).group(1))
    run = subprocess.run([binary] + line.split()[1:], capture_output=True, text=True)
    assert run.returncode == 1, (line, run.returncode)
    assert run.stdout.rstrip().endswith("trace-hash: " + hashes[seed]), (line, run.stdout[-80:], hashes[seed])
PYEOF

# --- merged shards, one missing ------------------------------------------------------------------
for i in 1 2 4; do
  "$BIN" sweep "$SCENARIO" --seeds 1..24 --shard "$i/4" -j 2 --db "$tmp/shard$i.sqlite" >/dev/null 2>&1
done
"$BIN" merge "$tmp/merged.sqlite" "$tmp/shard1.sqlite" "$tmp/shard2.sqlite" "$tmp/shard4.sqlite" >/dev/null \
  || fail "merge"
"$BIN" summary "$tmp/merged.sqlite" --junit "$tmp/m.xml" --json "$tmp/m.json" --summary "$tmp/m.md" \
  >"$tmp/merged.out" 2>&1
code=$?
[ "$code" -eq 1 ] || fail "a merge missing a shard: exit $code, expected 1"
grep -q "^seeds  1..24: 18 recorded, 6 of the range missing, from shards 1/4, 2/4, 4/4 (none from 3/4)$" \
  "$tmp/merged.out" || fail "the missing shard is not named: $(grep '^seeds' "$tmp/merged.out")"
$PY - "$tmp" <<'PYEOF' || fail "the JUnit, JSON and Markdown of the merged summary disagree with the rows"
import json, os, sqlite3, sys
import xml.etree.ElementTree as ET
tmp = sys.argv[1]
rows = sqlite3.connect(os.path.join(tmp, "merged.sqlite")).execute("select seed, exit_code from runs").fetchall()
failed = sum(1 for _, c in rows if c != 0)
suite = ET.parse(os.path.join(tmp, "m.xml")).getroot()
assert suite.get("tests") == str(len(rows)) and suite.get("failures") == str(failed), suite.attrib
cases = suite.findall("./testsuite/testcase")
assert len(cases) == len(rows), len(cases)
assert sum(1 for c in cases if c.find("failure") is not None) == failed
assert all("replay: syncsim run" in c.find("failure").text for c in cases if c.find("failure") is not None)
j = json.load(open(os.path.join(tmp, "m.json")))
(sweep,) = j["sweeps"]
assert sweep["totals"]["seeds"] == len(rows) and sweep["totals"]["failed"] == failed, sweep["totals"]
assert sweep["missing"] == 6 and len(sweep["runs"]) == len(rows)
md = open(os.path.join(tmp, "m.md")).read()
assert "## syncsim sweep of random-lww-skew: FAILED" in md and "(none from 3/4)" in md, md[:300]
PYEOF
# With the fourth shard the file is whole: no missing seeds, no absent shard.
"$BIN" sweep "$SCENARIO" --seeds 1..24 --shard 3/4 -j 2 --db "$tmp/shard3.sqlite" >/dev/null 2>&1
"$BIN" merge "$tmp/merged.sqlite" "$tmp/shard3.sqlite" >/dev/null || fail "merge of shard 3"
"$BIN" summary "$tmp/merged.sqlite" >"$tmp/whole.out" 2>&1
grep -q "^seeds  1..24: 24 recorded, from shards 1/4, 2/4, 3/4, 4/4$" "$tmp/whole.out" \
  || fail "the whole merge: $(grep '^seeds' "$tmp/whole.out")"
diff <(sed -n '/^result/,$p' "$tmp/summary.out") <(sed -n '/^result/,$p' "$tmp/whole.out") >"$tmp/diff" \
  || fail "four merged shards summarise differently from one sweep: $(cat "$tmp/diff")"

# --- a passing sweep exits 0 ---------------------------------------------------------------------
"$BIN" sweep scenarios/basic/offline-edits.yaml --seeds 1..3 -j 1 --db "$tmp/pass.sqlite" >/dev/null 2>&1
"$BIN" summary "$tmp/pass.sqlite" >"$tmp/pass.out" 2>&1
code=$?
[ "$code" -eq 0 ] || fail "a passing sweep's summary: exit $code: $(cat "$tmp/pass.out")"
grep -q "^result 3 passed, 0 failed, 0 crashed, 0 bad input$" "$tmp/pass.out" || fail "passing: $(cat "$tmp/pass.out")"

# --- a grid, and a grid with runs missing -------------------------------------------------------
GRID=tests/data/grids/tiny.yaml
"$BIN" grid "$GRID" --shard 1/2 -j 2 --db "$tmp/grid.sqlite" >/dev/null 2>&1
"$BIN" summary "$tmp/grid.sqlite" >"$tmp/grid.out" 2>&1
code=$?
[ "$code" -eq 1 ] || fail "half a grid: exit $code, expected 1"
grep -q "^runs   8 cells x seeds 1..4: 16 recorded of 32, 16 missing" "$tmp/grid.out" \
  || fail "half a grid: $(grep -A1 '^runs' "$tmp/grid.out")"
"$BIN" grid "$GRID" --shard 2/2 -j 2 --db "$tmp/grid.sqlite" >"$tmp/grid-run.out" 2>/dev/null
"$BIN" summary "$tmp/grid.sqlite" >"$tmp/grid.out" 2>&1
code=$?
[ "$code" -eq 0 ] || fail "a whole grid: exit $code, expected 0 (violations are measurements)"
grep -q "^runs   8 cells x seeds 1..4: 32 recorded of 32$" "$tmp/grid.out" || fail "whole grid: $(cat "$tmp/grid.out")"
diff <(grep '^result' "$tmp/grid-run.out") <(grep '^result' "$tmp/grid.out") >"$tmp/diff" \
  || fail "the grid's result line and the summary's differ: $(cat "$tmp/diff")"
replay=$(grep -m1 -- '--replay' "$tmp/grid.out" | sed 's/^  //')
[ -n "$replay" ] || fail "no grid replay command in: $(cat "$tmp/grid.out")"
# shellcheck disable=SC2086
[ -z "$replay" ] || "$BIN" ${replay#syncsim } >/dev/null 2>&1; [ $? -le 1 ] || fail "the grid replay '$replay' failed"

# --- bad input ----------------------------------------------------------------------------------
"$BIN" summary "$tmp/absent.sqlite" >/dev/null 2>"$tmp/err"; code=$?
[ "$code" -eq 2 ] && grep -q "absent.sqlite: No such file" "$tmp/err" || fail "a missing file: exit $code: $(cat "$tmp/err")"
[ ! -e "$tmp/absent.sqlite" ] || fail "summary created the file it was asked to read"
echo "not a database" >"$tmp/text.sqlite"
"$BIN" summary "$tmp/text.sqlite" >/dev/null 2>"$tmp/err"; code=$?
[ "$code" -eq 2 ] && grep -q "not a SQLite database" "$tmp/err" || fail "a text file: exit $code: $(cat "$tmp/err")"
"$BIN" merge "$tmp/empty.sqlite" "$tmp/pass.sqlite" >/dev/null
$PY -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('delete from runs'); c.commit()" "$tmp/empty.sqlite"
"$BIN" summary "$tmp/empty.sqlite" >/dev/null 2>"$tmp/err"; code=$?
[ "$code" -eq 2 ] && grep -q "holds no runs" "$tmp/err" || fail "an empty database: exit $code: $(cat "$tmp/err")"

if [ "$failures" -gt 0 ]; then
  echo "summary: $failures failure(s)"
  exit 1
fi
echo "summary: sweeps, merged shards (one missing, then whole) and grids summarised as they ran"
