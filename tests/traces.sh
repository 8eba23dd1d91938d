#!/usr/bin/env bash
# Traces are JSON a strict reader takes: every line of the trace of every shipped scenario
# (scenarios/engines/ needs Node.js: tests/engines.sh runs those) parses with a parser that
# refuses a key twice in an object, and names what a person reads by name (replicas, write ids
# as findings print them, link directions, timers). A --perfetto file is Chrome's trace-event
# JSON: every event has a known phase, every flow that starts ends, every process is named.
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
i=0
for f in "${files[@]}"; do
  i=$((i + 1))
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

[ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "traces: all checks passed"
