#!/usr/bin/env bash
# Traces are JSON a strict reader takes: every line of the trace of every shipped scenario
# (scenarios/engines/ needs Node.js: tests/engines.sh runs those) parses with a parser that
# refuses a key twice in an object, and names what a person reads by name (replicas, write ids
# as findings print them, link directions, timers). A --perfetto file is Chrome's trace-event
# JSON: every event has a known phase, every flow that starts ends, every process is named, and
# it counts what the run's trace counts.
# Usage: tests/traces.sh path/to/syncsim   (run from the source root)
set -u
BIN=$1
PY=/usr/bin/python3
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

mapfile -t files < <(find scenarios -name '*.yaml' -not -path '*/profiles/*' -not -path '*/grids/*' \
                       -not -path 'scenarios/engines/*' | sort)
[ ${#files[@]} -ge 100 ] || fail "expected the shipped scenarios, found ${#files[@]}"
# A sanitizer build (SYNCSIM_TEST_SANITIZED=1) checks the trace writer's memory on every fourth
# file: the scenarios test runs them all under the sanitizers, and the plain builds check every
# file's lines.
every=1
[ -n "${SYNCSIM_TEST_SANITIZED:-}" ] && every=4
i=0
for f in "${files[@]}"; do
  i=$((i + 1))
  [ $((i % every)) -eq 0 ] || continue
  "$BIN" run "$f" --trace "$tmp/$i.jsonl" >/dev/null 2>"$tmp/err"
  code=$?
  [ "$code" -le 1 ] || fail "$f: exit $code: $(head -c 300 "$tmp/err")"
  printf '%s\t%s\n' "$tmp/$i.jsonl" "$f" >>"$tmp/list"
done

$PY - "$tmp/list" <<'PYEOF' || fail "a trace line is not strict JSON or does not name what it should"
import json, re, sys

def strict(pairs):
    keys = [k for k, _ in pairs]
    twice = sorted({k for k in keys if keys.count(k) > 1})
    if twice:
        raise ValueError("the key(s) %s appear twice" % ", ".join(twice))
    return dict(pairs)

WRITE = re.compile(r"^[A-Za-z0-9_.-]+:[1-9][0-9]*$")
problems, lines, seen = [], 0, set()
def problem(where, what):
    if len(problems) < 20:
        problems.append("%s: %s" % (where, what))

for entry in open(sys.argv[1]):
    path, scenario = entry.rstrip("\n").split("\t")
    names = set()
    for n, line in enumerate(open(path), 1):
        where = "%s (trace line %d)" % (scenario, n)
        lines += 1
        try:
            e = json.loads(line, object_pairs_hook=strict)
        except ValueError as err:
            problem(where, "%s: %s" % (err, line[:200]))
            continue
        ev = e["ev"]
        seen.add(ev)
        for key in ("node", "from", "to", "peer"):
            if key in e and not isinstance(e[key], str):
                problem(where, "%s is not a replica's name: %r" % (key, e[key]))
        if ev == "step":
            if not (isinstance(e.get("nodes"), list) and all(isinstance(x, str) for x in e["nodes"])):
                problem(where, "a step's nodes are not a list of names: %r" % e.get("nodes"))
            if "direction" in e and e["direction"] not in ("up", "down", "both"):
                problem(where, "direction %r is not up, down or both" % e["direction"])
        if ev == "timer" and not (isinstance(e.get("timer"), str) and e["timer"]):
            problem(where, "a timer without a name: %r" % e)
        for key in ("w", "winner", "loser"):
            if key in e and e[key] is not None and not WRITE.match(str(e[key])):
                problem(where, "%s %r is not a write id like phone:3" % (key, e[key]))
        for key in ("record", "writes"):
            for w in e.get(key, []) if isinstance(e.get(key), list) else []:
                if w is not None and not WRITE.match(str(w)):
                    problem(where, "%s holds %r, not a write id like phone:3" % (key, w))

need = {"start", "op", "send", "deliver", "obs", "step", "timer", "heal"}
if not need <= seen:
    problems.append("no trace had these events: %s" % sorted(need - seen))
if problems:
    print("\n".join(problems))
    sys.exit(1)
print("traces: %d lines of %d scenarios are strict JSON" % (lines, sum(1 for _ in open(sys.argv[1]))))
PYEOF

# --perfetto: Chrome's trace-event JSON, checked against the trace of the same run: a process per
# replica, a flow per message copy that arrived, a slice per sync round, an instant per write.
cat >"$tmp/perfetto.py" <<'PYEOF'
import json, sys

def strict(pairs):
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("a key twice: %s" % keys)
    return dict(pairs)

doc = json.load(open(sys.argv[1]), object_pairs_hook=strict)
trace = [json.loads(line) for line in open(sys.argv[2])]
problems = []
events = doc["traceEvents"]
PHASES = {"M", "X", "i", "s", "f"}
for e in events:
    if e.get("ph") not in PHASES:
        problems.append("unknown phase %r" % e)
    if not (isinstance(e.get("pid"), int) and isinstance(e.get("tid"), int) and isinstance(e.get("ts"), int) and e["ts"] >= 0):
        problems.append("pid, tid and ts must be whole numbers: %r" % e)
    if e.get("ph") == "X" and not (isinstance(e.get("dur"), int) and e["dur"] >= 0):
        problems.append("a slice without a duration: %r" % e)
    if e.get("ph") == "i" and e.get("s") != "t":
        problems.append("an instant not scoped to its thread: %r" % e)

names = {e["pid"]: e["args"]["name"] for e in events if e["ph"] == "M" and e["name"] == "process_name"}
lanes = [names[p] for p in sorted(names)]
if not lanes or lanes[0] != "server":
    problems.append("processes %s: expected the server first" % lanes)
used = {e["pid"] for e in events}
if used - set(names):
    problems.append("events of unnamed processes %s" % sorted(used - set(names)))
in_trace = {e[k] for e in trace for k in ("node", "from", "to") if isinstance(e.get(k), str)}
if not in_trace <= set(lanes):
    problems.append("replicas in the trace without a process: %s" % sorted(in_trace - set(lanes)))

slices = [e for e in events if e["ph"] == "X"]
# Slices of one thread nest (the format draws a thread as a stack): none ends inside another.
threads = {}
for x in slices:
    threads.setdefault((x["pid"], x["tid"]), []).append((x["ts"], -x["dur"], x["name"]))
for key, xs in threads.items():
    stack = []   # (start, end, name) of the slices open at the current start
    for start, minus_dur, name in sorted(xs):   # by start, the longest first
        end = start - minus_dur
        while stack and stack[-1][1] <= start:
            stack.pop()   # ended by the time this one starts
        if stack and end > stack[-1][1]:
            problems.append("slice %s at %d overlaps %s on pid/tid %s without nesting" % (name, start, stack[-1][2], key))
            break
        stack.append((start, end, name))
def enclosed(e):
    return any(x["pid"] == e["pid"] and x["tid"] == e["tid"] and x["ts"] <= e["ts"] <= x["ts"] + x["dur"] for x in slices)
starts = {}
for e in events:
    if e["ph"] == "s":
        if e["id"] in starts:
            problems.append("flow id %s starts twice" % e["id"])
        starts[e["id"]] = e
ends = {}
for e in events:
    if e["ph"] == "f":
        if e["id"] in ends:
            problems.append("flow id %s ends twice" % e["id"])
        ends[e["id"]] = e
        if e.get("bp") != "e":
            problems.append("a flow end not bound to its enclosing slice: %r" % e)
if set(starts) != set(ends):
    problems.append("flows that start and never end, or end and never start: %s" % sorted(set(starts) ^ set(ends))[:10])
for i, s in starts.items():
    f = ends.get(i)
    if f and (f["ts"] < s["ts"] or f["cat"] != s["cat"] or f["name"] != s["name"] or f["pid"] == s["pid"]):
        problems.append("flow %s does not go forward from one replica to another: %r %r" % (i, s, f))
    if not enclosed(s) or (f and not enclosed(f)):
        problems.append("flow %s is not bound to a slice at both ends" % i)

delivered = sum(1 for e in trace if e["ev"] == "deliver")
if len(starts) != delivered:
    problems.append("%d flows for %d deliveries in the trace" % (len(starts), delivered))
rounds = sum(1 for e in trace if e["ev"] == "obs" and e["kind"] == "sync-begin")
sync_slices = sum(1 for e in slices if e["name"] == "sync round")
if sync_slices != rounds:
    problems.append("%d sync-round slices for %d sync-begin observations" % (sync_slices, rounds))
writes = sum(1 for e in trace if e["ev"] == "op")
write_instants = sum(1 for e in events if e["ph"] == "i" and e["cat"] == "write")
if write_instants != writes:
    problems.append("%d write instants for %d writes" % (write_instants, writes))
if problems:
    print("\n".join(problems[:20]))
    sys.exit(1)
print("perfetto: %d events, %d processes, %d flows, %d sync rounds" % (len(events), len(lanes), len(starts), rounds))
PYEOF
for f in scenarios/basic/counters-crdt.yaml scenarios/basic/crash-restart.yaml scenarios/random/lww-skew.yaml; do
  n=$(basename "$f" .yaml)
  "$BIN" run "$f" --trace "$tmp/$n.jsonl" --perfetto "$tmp/$n.perfetto.json" >/dev/null
  code=$?
  [ "$code" -le 1 ] || fail "$f --perfetto: exit $code"
  $PY "$tmp/perfetto.py" "$tmp/$n.perfetto.json" "$tmp/$n.jsonl" || fail "$f: the Perfetto file is malformed"
done
# The check can fail: a flow whose end is gone.
$PY - "$tmp/counters-crdt.perfetto.json" "$tmp/cut.json" <<'PYEOF'
import json, sys
doc = json.load(open(sys.argv[1]))
first_end = next(i for i, e in enumerate(doc["traceEvents"]) if e["ph"] == "f")
del doc["traceEvents"][first_end]
json.dump(doc, open(sys.argv[2], "w"))
PYEOF
$PY "$tmp/perfetto.py" "$tmp/cut.json" "$tmp/counters-crdt.jsonl" >/dev/null && fail "a flow without its end passed the check"
# The pictures come from the trace and change nothing of it.
plain=$("$BIN" run scenarios/basic/counters-crdt.yaml | tail -n1)
drawn=$("$BIN" run scenarios/basic/counters-crdt.yaml --perfetto "$tmp/p.json" --timeline "$tmp/t.html" | tail -n1)
[ "$plain" = "$drawn" ] || fail "--perfetto/--timeline changed the trace hash ($plain / $drawn)"
cmp -s "$tmp/counters-crdt.perfetto.json" "$tmp/p.json" || fail "two runs of one seed gave different Perfetto files"

# A picture that cannot be written is refused before the run, as every output file is.
for opt in --timeline --perfetto; do
  "$BIN" run scenarios/basic/counters-crdt.yaml $opt "$tmp/no/such/dir/x" >"$tmp/out" 2>&1
  code=$?
  [ "$code" -eq 2 ] || fail "$opt into a missing directory: exit $code, expected 2"
  grep -q "cannot write $tmp/no/such/dir/x" "$tmp/out" || fail "$opt into a missing directory: $(head -c 300 "$tmp/out")"
  grep -q "trace-hash" "$tmp/out" && fail "$opt into a missing directory: the run went ahead"
done

# Two runs compared draw no picture: asking for both is a usage error, not a silent omission.
"$BIN" run scenarios/basic/counters-crdt.yaml --check-determinism --perfetto "$tmp/d.json" >"$tmp/out" 2>&1
code=$?
[ "$code" -eq 2 ] || fail "--check-determinism --perfetto: exit $code, expected 2"
grep -q -- "--perfetto draws one run" "$tmp/out" || fail "--check-determinism --perfetto: $(head -c 300 "$tmp/out")"

[ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "traces: all checks passed"
