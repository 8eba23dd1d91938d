#!/usr/bin/env bash
# Grids and conflict-rate reports, end to end with the built binary:
#   - a grid killed with kill -9, then interrupted with Ctrl-C, resumes
#     without running a finished run again and without losing one;
#   - shards 1/2 and 2/2 merge into exactly the whole grid, run for run;
#   - --replay reproduces a recorded run's trace hash and exit code;
#   - reports/conflict_report.py on the resumed grid writes report.html,
#     summary.md and cells.csv whose numbers match what this script
#     recomputes from the database (seeds, writes, rates per 1,000 writes,
#     intervals), the HTML is well-formed and self-contained (every plot an
#     SVG data URI that parses as XML, no external URL, no script), and a
#     second run writes the same bytes;
#   - bad input to the script and to `syncsim grid` exits 2 with one clear
#     message (file:line:column for a grid file), never a traceback.
# The HTML is checked by parsing it, not by rendering it in a browser. In a sanitizer build's
# run (SYNCSIM_TEST_SANITIZED=1, set by make test) the report's figures are left out: they are
# the Python script's work, which the ordinary build's run checks.
# Usage: tests/grid.sh path/to/syncsim   (run from the source root)
set -u
BIN=$1
SANITIZED=${SYNCSIM_TEST_SANITIZED:-}
PY=/usr/bin/python3
export SYNCSIM_REPORT_DEBUG=1   # a bug in the report script shows its traceback here
GRID=tests/data/grids/tiny.yaml
REPORT=reports/conflict_report.py
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

rows() {   # rows in a results database (0 when it does not exist yet)
  $PY -c "import sqlite3,sys
try: print(sqlite3.connect(sys.argv[1]).execute('select count(*) from runs').fetchone()[0])
except Exception: print(0)" "$1"
}

# Wait until a results database has at least N rows, then send a signal to a
# process (or, with a negative pid, to its group).
signal_after_rows() {   # DB N SIGNAL PID
  $PY - "$@" <<'PYEOF'
import os, sqlite3, sys, time
db, want, sig, pid = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
deadline = time.time() + 120
conn = None
while time.time() < deadline:
    if conn is None and os.path.exists(db):
        conn = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    try:
        if conn and conn.execute("select count(*) from runs").fetchone()[0] >= want:
            break
    except sqlite3.Error:
        pass
    time.sleep(0.005)
if pid < 0:
    os.killpg(-pid, sig)
else:
    os.kill(pid, sig)
PYEOF
}

# --- kill -9, Ctrl-C, then resume ---------------------------------------------------------
# The test grid with 20 seeds per cell (8 cells, 160 runs), so the kill lands mid-way.
sed -e "s#^scenario: tiny-base.yaml#scenario: $PWD/tests/data/grids/tiny-base.yaml#" -e 's/^seeds: 4$/seeds: 20/' \
  -e 's/^name: tiny$/name: tiny-kill/' "$GRID" >"$tmp/kill.yaml"
grep -q '^seeds: 20$' "$tmp/kill.yaml" || fail "could not make the 20-seed grid"
# Its report draws targets because its file quotes them; the tiny grid's (below) has none.
printf 'targets:\n  conflicts: 5%%\n  lost: 1%%\n  source: seed 004 (delta-sync), Monitoring\n' >>"$tmp/kill.yaml"
db=$tmp/kill.sqlite
"$BIN" grid "$tmp/kill.yaml" --db "$db" -j 2 >"$tmp/kill1.out" 2>&1 &
pid=$!
signal_after_rows "$db" 16 9 "$pid"
wait "$pid" 2>/dev/null
sleep 0.3
killed=$(rows "$db")
[ "$killed" -ge 16 ] && [ "$killed" -lt 160 ] || fail "kill -9: expected a partial grid, found $killed rows"
pgrep -f "grid $tmp/kill.yaml" >/dev/null && fail "kill -9: workers outlived their parent"

setsid "$BIN" grid "$tmp/kill.yaml" --db "$db" -j 2 >"$tmp/int.out" 2>&1 &
pid=$!
signal_after_rows "$db" $((killed + 8)) 2 "-$pid"
wait "$pid"
code=$?
[ "$code" -eq 130 ] || fail "Ctrl-C: exit $code, expected 130"
grep -q "interrupted: .* run the same command to resume" "$tmp/int.out" || fail "Ctrl-C: no resume hint"
before=$(rows "$db")
[ "$before" -lt 160 ] || fail "Ctrl-C: the grid finished before the interrupt ($before rows)"
$PY -c "import sqlite3,sys
db=sqlite3.connect(sys.argv[1])
open(sys.argv[2],'w').write(repr(sorted(db.execute('select scenario, params, seed, finished_at, trace_hash from runs').fetchall())))" \
  "$db" "$tmp/before.txt"

# A partial grid already reports, each cell on the seeds it has.
cp "$db" "$tmp/partial.sqlite"
$PY "$REPORT" "$tmp/partial.sqlite" -o "$tmp/partial" --tables-only >/dev/null 2>"$tmp/partial.err" || fail "report of a partial grid: $(cat "$tmp/partial.err")"
$PY - "$tmp/partial.sqlite" "$tmp/partial/cells.csv" <<'PYEOF' || fail "the partial grid's report miscounts seeds"
import csv, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
counts = dict(db.execute("select c.cell, count(r.seed) from grid_cells c left join runs r on r.scenario = c.scenario"
                         " and r.params = c.params where c.grid = 'tiny-kill' group by c.cell"))
rows = list(csv.DictReader(open(sys.argv[2])))
assert {int(r["cell"]): int(r["seeds"]) for r in rows} == counts, counts
assert sum(counts.values()) < 160
PYEOF

"$BIN" grid "$tmp/kill.yaml" --db "$db" -j 2 --json "$tmp/kill.json" >"$tmp/resume.out" 2>"$tmp/resume.err"
code=$?
[ "$code" -eq 0 ] || fail "resumed grid: exit $code, expected 0 (violations are measurements): $(tail -3 "$tmp/resume.err")"
grep -q "160 runs, $before already in" "$tmp/resume.err" || fail "resumed grid did not count the $before runs done: $(head -1 "$tmp/resume.err")"
grep -q "160 recorded, $((160 - before)) run now" "$tmp/resume.out" || fail "resumed grid ran the wrong runs: $(sed -n 2p "$tmp/resume.out")"
grep -qE '^ +7  lww-device-clock +10m +5m +20 ' "$tmp/resume.out" || fail "per-cell table: $(grep -E '^ +7 ' "$tmp/resume.out")"
$PY - "$db" "$tmp/before.txt" "$tmp/kill.json" <<'PYEOF' || fail "kill, interrupt and resume lost or re-ran runs"
import ast, json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
cells = db.execute("select c.cell, c.scenario, c.params from grid_cells c where c.grid = 'tiny-kill' order by cell").fetchall()
assert len(cells) == 8, cells
assert [json.loads(p)["profile"] for _, _, p in cells] == ["reference"] * 4 + ["lww-device-clock"] * 4
for cell, scenario, params in cells:
    seeds = [r[0] for r in db.execute("select seed from runs where scenario = ? and params = ? and strict = 0 order by seed",
                                      (scenario, params))]
    assert seeds == list(range(1, 21)), (cell, seeds)
assert db.execute("select count(*) from runs").fetchone()[0] == 160
now = {(r[0], r[1], r[2]): r for r in db.execute("select scenario, params, seed, finished_at, trace_hash from runs")}
for scenario, params, seed, finished, trace in ast.literal_eval(open(sys.argv[2]).read()):
    assert now[(scenario, params, seed)][3] == finished, ("run again", params, seed)
    assert now[(scenario, params, seed)][4] == trace
summary = json.load(open(sys.argv[3]))
assert len(summary["cells"]) == 8 and all(c["seeds"] == 20 for c in summary["cells"])
for c in summary["cells"]:
    writes = db.execute("select sum(json_extract(metrics, '$.writes')) from runs where scenario = ? and params = ?",
                        (c["scenario"], json.dumps(c["params"], separators=(",", ":"), sort_keys=True))).fetchone()[0]
    assert writes == c["writes"], (c, writes)
PYEOF

# --- shards merge into the whole grid -------------------------------------------------------
"$BIN" grid "$GRID" --db "$tmp/whole.sqlite" -j 2 >"$tmp/whole.out" 2>&1 || fail "whole grid: $(tail -3 "$tmp/whole.out")"
for i in 1 2; do
  "$BIN" grid "$GRID" --shard "$i/2" --db "$tmp/shard$i.sqlite" -j 2 >/dev/null 2>&1 || fail "shard $i/2"
done
"$BIN" merge "$tmp/merged.sqlite" "$tmp/shard1.sqlite" "$tmp/shard2.sqlite" >"$tmp/merge.out" || fail "merge: $(cat "$tmp/merge.out")"
grep -q "shard2.sqlite: 16 rows added, 0 already present" "$tmp/merge.out" || fail "merge counts: $(cat "$tmp/merge.out")"
$PY - "$tmp" <<'PYEOF' || fail "shards do not make the whole grid"
import os, sqlite3, sys
tmp = sys.argv[1]
def runs(name):
    db = sqlite3.connect(os.path.join(tmp, name))
    return {(r[0], r[1]): (r[2], r[3]) for r in db.execute("select params, seed, trace_hash, exit_code from runs")}
whole, merged = runs("whole.sqlite"), runs("merged.sqlite")
one, two = runs("shard1.sqlite"), runs("shard2.sqlite")
assert len(whole) == 32 and len(one) == 16 and len(two) == 16 and not set(one) & set(two)
# Each shard gets a share of every cell: two of its four seeds.
for shard in (one, two):
    per_cell = {}
    for params, seed in shard:
        per_cell[params] = per_cell.get(params, 0) + 1
    assert sorted(per_cell.values()) == [2] * 8, per_cell
assert merged == whole, "a run gave another trace hash in a shard than in the whole grid"
cells = sqlite3.connect(os.path.join(tmp, "merged.sqlite")).execute("select count(*) from grid_cells where grid = 'tiny'").fetchone()[0]
assert cells == 8, cells
PYEOF

# --- replay one recorded run ------------------------------------------------------------------
read -r cell seed hash code < <($PY -c "import sqlite3,sys
db=sqlite3.connect(sys.argv[1])
print(*db.execute('''select c.cell, r.seed, r.trace_hash, r.exit_code from runs r join grid_cells c
  on c.scenario = r.scenario and c.params = r.params order by r.exit_code desc, c.cell desc, r.seed limit 1''').fetchone())" \
  "$tmp/whole.sqlite")
out=$("$BIN" grid "$GRID" --replay "$cell:$seed")
got=$?
[ "$(tail -n1 <<<"$out")" = "trace-hash: $hash" ] || fail "replay $cell:$seed gives $(tail -n1 <<<"$out"), recorded $hash"
[ "$got" -eq "$code" ] || fail "replay $cell:$seed exits $got, recorded $code"

# --- the report ---------------------------------------------------------------------------------
if [ -z "$SANITIZED" ]; then   # the figures, and the report's numbers against the database
$PY "$REPORT" "$db" -o "$tmp/report" >"$tmp/report.out" 2>"$tmp/report.err" || fail "report: $(cat "$tmp/report.err")"
[ -s "$tmp/report.err" ] && fail "report wrote to stderr: $(head -3 "$tmp/report.err")"
$PY - "$db" "$tmp/report" <<'PYEOF' || fail "the report's numbers differ from the database's"
import csv, json, math, os, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
out = sys.argv[2]
Z = 1.959963985
def close(a, b, tol=1e-6):
    return abs(float(a) - float(b)) <= tol * max(1.0, abs(float(b)))

# Recompute every cell from the runs table.
cells = {}
for cell, scenario, params in db.execute("select cell, scenario, params from grid_cells where grid = 'tiny-kill'"):
    rows = db.execute("select exit_code, metrics from runs where scenario = ? and params = ? and strict = 0",
                      (scenario, params)).fetchall()
    m = [json.loads(r[1]) for r in rows]
    cells[cell] = dict(params=json.loads(params), seeds=len(rows), failing=sum(1 for r in rows if r[0] != 0),
                       writes=[x["writes"] for x in m], conflicts=[x["conflicts"] for x in m],
                       silent=[x["classes"]["silent-overwrite"] for x in m],
                       lost=[x["classes"]["lost-update"] for x in m],
                       visible=[sum(x["session_visible_us"].values()) / 1e6 for x in m],
                       anomalies=[sum(x["classes"][k] for k in x["session_visible_us"]) for x in m])
    assert all(sorted(x["session_visible_us"]) == sorted(["read-your-writes", "monotonic-reads", "causal-visibility",
                                                          "order-anomaly"]) for x in m)
assert len(cells) == 8
assert any(sum(c["anomalies"]) for c in cells.values()), "no cell has a session anomaly to time"
T19 = 2.093024054408   # Student's t, 0.975 quantile, 19 degrees of freedom: 20 seeds a cell

with open(os.path.join(out, "cells.csv")) as f:
    table = list(csv.DictReader(f))
assert len(table) == 8, len(table)
labels = {120000000: "2m", 600000000: "10m", 0: "0s", 300000000: "5m"}
for row in table:
    c = cells[int(row["cell"])]
    assert row["grid"] == "tiny-kill"
    assert row["profile"] == c["params"]["profile"]
    assert row["offline_mean"] == labels[c["params"]["offline_mean_us"]] and int(row["offline_mean_us"]) == c["params"]["offline_mean_us"]
    assert row["skew_max"] == labels[c["params"]["skew_max_us"]]
    assert int(row["seeds"]) == c["seeds"] == 20 and int(row["seeds_measured"]) == 20
    assert close(row["writes"], sum(c["writes"]))
    assert close(row["conflicts"], sum(c["conflicts"]))
    for key, counts in (("conflicts", c["conflicts"]), ("silent_overwrite", c["silent"]), ("lost_update", c["lost"])):
        rate = sum(counts) / sum(c["writes"])
        assert close(row[key + "_per_1000_writes"], 1000 * rate), (key, row[key + "_per_1000_writes"], 1000 * rate)
        # Wilson's interval of count out of writes, recomputed: never below zero, an upper bound at zero.
        k, w = sum(counts), sum(c["writes"])
        centre = (rate + Z * Z / (2 * w)) / (1 + Z * Z / w)
        half = Z * math.sqrt(rate * (1 - rate) / w + Z * Z / (4 * w * w)) / (1 + Z * Z / w)
        assert close(row[key + "_per_1000_writes_hi"], 1000 * (centre + half), 1e-5), (key, row)
        assert close(row[key + "_per_1000_writes_lo"], 0.0 if k == 0 else 1000 * (centre - half), 1e-5), (key, row)
        assert float(row[key + "_per_1000_writes_lo"]) >= 0 and (k > 0 or float(row[key + "_per_1000_writes_hi"]) > 0)
    # Seconds visible per session anomaly: pooled over the seeds, the ratio estimator's t-interval.
    assert int(row["session_timed_runs"]) == 20
    k = sum(c["anomalies"])
    if k == 0:
        assert row["session_visible_s_per_anomaly"] == "", row
    else:
        mean = sum(c["visible"]) / k
        half = T19 * math.sqrt(sum((y - mean * x) ** 2 for y, x in zip(c["visible"], c["anomalies"])) / 19 / 20) / (k / 20)
        assert close(row["session_visible_s_per_anomaly"], mean, 1e-5), (row, mean)
        assert close(row["session_visible_s_per_anomaly_lo"], max(0.0, mean - half), 1e-5), (row, mean - half)
        assert close(row["session_visible_s_per_anomaly_hi"], mean + half, 1e-5), (row, mean + half)
    assert int(row["failing_seeds"]) == c["failing"]
    p, n = c["failing"] / 20, 20
    centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    half = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / (1 + Z * Z / n)
    assert close(row["failing_fraction"], p) and close(row["failing_fraction_lo"], max(0, centre - half), 1e-5)
    assert close(row["failing_fraction_hi"], min(1, centre + half), 1e-5)

# summary.md and report.html carry the same figures: the pooled rate per profile and every cell's row.
md = open(os.path.join(out, "summary.md")).read()
page = open(os.path.join(out, "report.html")).read()
for profile in ("reference", "lww-device-clock"):
    mine = [c for c in cells.values() if c["params"]["profile"] == profile]
    writes = sum(sum(c["writes"]) for c in mine)
    conflicts = sum(sum(c["conflicts"]) for c in mine)
    start = "| %s | 80 | %d | %.1f [" % (profile, writes, 1000 * conflicts / writes)
    assert start in md, (start, md[:2000])
    assert "<td>%d</td><td>%.1f [" % (writes, 1000 * conflicts / writes) in page, profile
    anomalies = sum(sum(c["anomalies"]) for c in mine)
    visible = ("%.1f [" % (sum(sum(c["visible"]) for c in mine) / anomalies) if anomalies
               else "no anomaly (n = 80 runs)")
    row = [line for line in md.splitlines() if line.startswith("| %s | 80 |" % profile)][0]
    assert row.split(" | ")[9].startswith(visible), (visible, row)
for cell, c in cells.items():
    start = "| %d | %s | %s | %s | 20 | %d | %.1f [" % (cell, c["params"]["profile"], labels[c["params"]["offline_mean_us"]],
                                                       labels[c["params"]["skew_max_us"]], sum(c["writes"]),
                                                       1000 * sum(c["conflicts"]) / sum(c["writes"]))
    assert start in md, start
assert "seed 004" in md and "Wilson" in md and "targets: conflicts / lost" in md
assert "seed 004 (delta-sync)" in page and "Wilson score interval" in page
# The reference never silently overwrites: its zero reads "0 (n = ... writes)", not a zero-width interval.
assert "| 0 (n = " in md and "[0.0, 0.0]" not in md, md[:3000]
# Per-run counts (retries) use the exact Poisson interval, never below zero.
with open(os.path.join(out, "cells.csv")) as f:
    for row in csv.DictReader(f):
        for name in ("retries_per_run", "messages_per_run", "bytes_per_run", "queue_depth_mean"):
            assert float(row[name + "_lo"] or 0) >= 0, (name, row[name + "_lo"])
PYEOF

$PY - "$tmp/report/report.html" <<'PYEOF' || fail "report.html is not well-formed and self-contained"
import base64, sys, xml.etree.ElementTree as ET
from html.parser import HTMLParser
VOID = {"meta", "img", "br", "hr", "link", "input", "col", "wbr", "source"}
class Check(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack, self.images, self.errors, self.tags = [], [], [], set()
    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        for name, value in attrs:
            if name in ("src", "href", "action") and not (value or "").startswith(("data:", "#")):
                self.errors.append("external %s=%s" % (name, value))
        if tag == "img":
            self.images.append(dict(attrs).get("src", ""))
        if tag not in VOID:
            self.stack.append(tag)
    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append("</%s> closes <%s>" % (tag, self.stack[-1] if self.stack else "nothing"))
        else:
            self.stack.pop()
text = open(sys.argv[1]).read()
assert text.startswith("<!DOCTYPE html>")
p = Check()
p.feed(text)
p.close()
assert not p.errors, p.errors[:5]
assert not p.stack, p.stack
assert not p.tags & {"script", "link", "iframe", "object", "embed"}, p.tags
assert len(p.images) >= 4, len(p.images)
for src in p.images:
    prefix = "data:image/svg+xml;base64,"
    assert src.startswith(prefix), src[:40]
    svg = base64.b64decode(src[len(prefix):]).decode("utf-8")
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg", root.tag
    for element in root.iter():
        for name, value in element.attrib.items():
            if name.endswith("href"):
                assert value.startswith("#"), (name, value)
    assert "<script" not in svg
# The main figure draws seed 004's targets, labelled with their source (matplotlib keeps text as comments).
main = base64.b64decode(p.images[0][len("data:image/svg+xml;base64,"):]).decode("utf-8")
assert "seed 004 (delta-sync), Monitoring: conflict rate" in main and "error rate" in main
PYEOF

$PY "$REPORT" "$db" -o "$tmp/again" --grid tiny-kill --main-png "$tmp/main.png" >/dev/null 2>&1 || fail "second report"
for f in report.html summary.md cells.csv; do
  cmp -s "$tmp/report/$f" "$tmp/again/$f" || fail "two reports of one database differ in $f"
done
$PY -c "import sys; d=open(sys.argv[1],'rb').read(8); sys.exit(d != b'\x89PNG\r\n\x1a\n')" "$tmp/main.png" || fail "--main-png did not write a PNG"
fi   # the figures
# A database from before the time visible was kept (no session_visible_us): "n/a", or the runs that have it.
cp "$db" "$tmp/old.sqlite"
$PY - "$tmp/old.sqlite" "$REPORT" "$tmp" <<'PYEOF' || fail "a database without session_visible_us"
import os, sqlite3, subprocess, sys
db, report, tmp = sys.argv[1:4]
def column():
    out = os.path.join(tmp, "r-old")
    subprocess.run([sys.executable, report, db, "-o", out, "--tables-only"], check=True, capture_output=True)
    md = open(os.path.join(out, "summary.md")).read()
    rows = [line for line in md.splitlines() if line.startswith(("| reference | 80 |", "| lww-device-clock | 80 |"))]
    assert len(rows) == 2 and "session anomaly s visible, mean per anomaly" in md, md[:2000]
    return [r.split(" | ")[9] for r in rows]
conn = sqlite3.connect(db)
conn.execute("update runs set metrics = json_remove(metrics, '$.session_visible_us') where seed <= 5")
conn.commit()
some = column()
assert all(v.endswith("(n = 60 of 80 runs)") or v.endswith(" (60 of 80 runs)") for v in some), some
conn.execute("update runs set metrics = json_remove(metrics, '$.session_visible_us')")
conn.commit()
assert column() == ["n/a", "n/a"], column()
PYEOF
# Shards merged report exactly what the whole grid does (the merged one's tables alone:
# --tables-only, which needs no matplotlib and writes no report.html).
whole_only=--tables-only
[ -z "$SANITIZED" ] && whole_only=
$PY "$REPORT" "$tmp/merged.sqlite" -o "$tmp/r-merged" --tables-only >"$tmp/r-merged.out" 2>&1 &&
  $PY "$REPORT" "$tmp/whole.sqlite" -o "$tmp/r-whole" $whole_only >/dev/null 2>&1 || fail "report of the tiny grid"
[ -e "$tmp/r-merged/report.html" ] && fail "--tables-only wrote report.html"
grep -q "(summary.md, cells.csv)$" "$tmp/r-merged.out" || fail "--tables-only: $(cat "$tmp/r-merged.out")"
sed -i "s#$tmp/[a-z]*\.sqlite#DB#" "$tmp/r-merged/summary.md" "$tmp/r-whole/summary.md"
cmp -s "$tmp/r-merged/cells.csv" "$tmp/r-whole/cells.csv" && cmp -s "$tmp/r-merged/summary.md" "$tmp/r-whole/summary.md" \
  || fail "the merged shards' report differs from the whole grid's"
# --print-profiles: a line per profile, pooled over its cells, with the figures summary.md has.
$PY "$REPORT" "$tmp/whole.sqlite" -o "$tmp/r-print" --tables-only --print-profiles >"$tmp/print.out" 2>&1 ||
  fail "--print-profiles: $(cat "$tmp/print.out")"
$PY - "$tmp/print.out" "$tmp/whole.sqlite" <<'PYEOF' || fail "--print-profiles does not agree with the database"
import json, sqlite3, sys
lines = open(sys.argv[1]).read().split("\n")
assert lines[0].split() == ["PROFILE", "SEEDS", "WRITES", "CONFL/1kW", "SILENT/1kW", "LOST/1kW", "SKEWINV/1kW",
                            "SESSION/1kW", "FAILING"], lines[0]
rows = {l.split()[0]: l.split() for l in lines[1:] if l}
assert list(rows) == ["reference", "lww-device-clock"], list(rows)
db = sqlite3.connect(sys.argv[2])
for profile, row in rows.items():
    runs = [(json.loads(m), code) for m, code in db.execute(
        "select metrics, exit_code from runs where json_extract(params, '$.profile') = ?", (profile,))]
    writes = sum(m["writes"] for m, _ in runs)
    conflicts = sum(m["conflicts"] for m, _ in runs)
    failing = sum(1 for _, code in runs if code != 0)
    assert row[1] == str(len(runs)) and row[2] == str(writes), (row, len(runs), writes)
    assert row[3] == "%.1f" % (1000.0 * conflicts / writes), (row, conflicts, writes)
    assert row[8] == "%.0f%%" % (100.0 * failing / len(runs)), (row, failing)
PYEOF

# The tiny grid's file has no targets: its report neither draws nor judges any.
$PY - "$tmp/r-whole" <<'PYEOF' || fail "a grid without targets: got a report with targets"
import base64, os, re, sys
out = sys.argv[1]
md = open(os.path.join(out, "summary.md")).read()
assert "targets" not in md and "seed 004" not in md, md[:2000]
if not os.path.exists(os.path.join(out, "report.html")):
    sys.exit(0)   # a sanitizer build's run: the tables alone
page = open(os.path.join(out, "report.html")).read()
main = re.search(r'src="data:image/svg\+xml;base64,([^"]+)"', page).group(1)
assert "conflict rate <" not in base64.b64decode(main).decode("utf-8")
PYEOF

# --- bad input ------------------------------------------------------------------------------------
bad() {   # WHAT EXPECTED-FIRST-LINE COMMAND...: exit 2, the message on the first line of stderr
  local what=$1 want=$2
  shift 2
  "$@" >"$tmp/bad.out" 2>"$tmp/bad.err"
  local code=$?
  [ "$code" -eq 2 ] || fail "$what: exit $code, expected 2"
  grep -q "Traceback" "$tmp/bad.err" && fail "$what: a traceback"
  head -n1 "$tmp/bad.err" | grep -qF -- "$want" || fail "$what: expected '$want' in: $(cat "$tmp/bad.err")"
}
bad_report() {   # the report script: also exactly one line
  bad "$@"
  [ "$(wc -l <"$tmp/bad.err")" -eq 1 ] || fail "$1: not one line: $(cat "$tmp/bad.err")"
}
echo "not a database at all, just text" >"$tmp/text.sqlite"
$PY -c "import sqlite3,sys; sqlite3.connect(sys.argv[1]).execute('create table t(x)')" "$tmp/other.sqlite"
"$BIN" sweep scenarios/random/lww-skew.yaml --seeds 1..2 --db "$tmp/sweep.sqlite" >/dev/null 2>&1
cp "$db" "$tmp/empty.sqlite"
$PY -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('delete from runs'); c.commit()" "$tmp/empty.sqlite"
bad_report "missing file" "no such file" $PY "$REPORT" "$tmp/missing.sqlite" -o "$tmp/x"
bad_report "not SQLite" "not a syncsim results database" $PY "$REPORT" "$tmp/text.sqlite" -o "$tmp/x"
bad_report "no runs table" "no runs table" $PY "$REPORT" "$tmp/other.sqlite" -o "$tmp/x"
bad_report "a sweep, no grid" "holds no grid" $PY "$REPORT" "$tmp/sweep.sqlite" -o "$tmp/x"
bad_report "a grid without runs" "has no runs yet" $PY "$REPORT" "$tmp/empty.sqlite" -o "$tmp/x"
bad_report "unknown grid name" "no grid named 'nope'; it holds: tiny-kill" $PY "$REPORT" "$db" -o "$tmp/x" --grid nope
bad_report "output is a file" "exists and is not a directory" $PY "$REPORT" "$db" -o "$tmp/text.sqlite"
bad "bad grid file" "tests/errors/grids/unknown-axis.yaml:5:3: error: unknown key 'offline_men' in grid axes; did you mean 'offline_mean'?" \
  "$BIN" grid tests/errors/grids/unknown-axis.yaml --db "$tmp/x.sqlite"
bad "grid without a file" "grid needs a grid file" "$BIN" grid
bad "bad shard" "--shard needs I/N" "$BIN" grid "$GRID" --shard 3/2
bad "bad replay" "--replay needs CELL:SEED" "$BIN" grid "$GRID" --replay 3
bad "replay of a missing cell" "there is no cell 99" "$BIN" grid "$GRID" --replay 99:1
[ -e "$tmp/x.sqlite" ] && fail "a bad grid file still created the database"

echo "grid: $failures failure(s)"
[ "$failures" -eq 0 ]
