#!/usr/bin/env bash
# Command-line behaviour: exit codes mean what docs/architecture.md says (0 met,
# 1 violation or unmet, 2 bad input or usage, 3 no quiescence), usage errors
# say what was wrong, and suite reports one line per scenario.
# Usage: tests/cli.sh path/to/syncsim   (run from the source root)
set -u
BIN=$1
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# expect CODE PATTERN -- ARGS...: exit code and a pattern in stdout+stderr.
expect() {
  local code=$1 pattern=$2
  shift 3
  local out
  out=$("$BIN" "$@" 2>&1)
  local got=$?
  [ "$got" -eq "$code" ] || fail "syncsim $*: exit $got, expected $code. Output: $(head -c 600 <<<"$out")"
  grep -qE -- "$pattern" <<<"$out" || fail "syncsim $*: output lacks /$pattern/: $(head -c 600 <<<"$out")"
  if grep -qE 'AddressSanitizer|runtime error:|LeakSanitizer' <<<"$out"; then
    fail "syncsim $*: sanitizer report"
  fi
}

expect 2 'a command is needed' -- 
expect 2 "unknown command 'frobnicate'" -- frobnicate
expect 2 'run needs a scenario file' -- run
expect 2 "unknown option '--sede'" -- run scenarios/basic/offline-edits.yaml --sede 3
expect 2 "--seed needs a whole number" -- run scenarios/basic/offline-edits.yaml --seed abc
expect 2 "--seed needs a whole number" -- run scenarios/basic/offline-edits.yaml --seed -1
expect 2 "--trace needs a file name" -- run scenarios/basic/offline-edits.yaml --trace
expect 2 "a second one" -- run scenarios/basic/offline-edits.yaml scenarios/basic/delete-vs-edit.yaml
expect 2 '^tests/data/no-such-file.yaml: error: cannot open file: No such file or directory' -- run tests/data/no-such-file.yaml
# A tab after an explicit key's ':' crashed libfyaml 0.7.12's cleanup (pantoniou/libfyaml#57): refused
# with its position, no crash. syncsim leaves that parser undestroyed, which LeakSanitizer would report
# in the sanitizer build: the fuzzers' suppression of libfyaml's own allocations covers it.
export LSAN_OPTIONS=suppressions=$PWD/tests/fuzz/lsan.supp
expect 2 'libfyaml-57-tab-after-explicit-key:1:14: error: YAML syntax: cannot use tab for indentation of block entry' -- run tests/fuzz/regress/scenario/libfyaml-57-tab-after-explicit-key
unset LSAN_OPTIONS
expect 2 'cannot write' -- run scenarios/basic/offline-edits.yaml --json /nonexistent-dir/r.json
# vary: a --profile that cannot take a drawn value is refused where the value is written;
# an external node is not configured by the built-in engine's keys, so --node is refused.
cat > "$tmp/vary-watermark.yaml" <<EOF
name: vary-watermark
profile: $PWD/scenarios/profiles/reference.yaml
workload:
  duration: 1h
  users: 1
  vary:
    sync.pull_over_pending: [keep, replace]
EOF
expect 0 'design    sync.pull_over_pending: ' -- run "$tmp/vary-watermark.yaml"
expect 2 "vary-watermark.yaml:7:36: error: vary can draw a design profile 'stronglog' cannot run \(sync.pull_over_pending: replace\)" -- run "$tmp/vary-watermark.yaml" --profile scenarios/profiles/stronglog.yaml
expect 2 "reference-vary-swarm.yaml:[0-9]+:5: error: vary draws the built-in engine's profile keys; an external implementation \(--node\)" -- run scenarios/random/reference-vary-swarm.yaml --node "$BIN node --profile reference"
# --profile: the same steps under another design.
expect 1 'lost-update: 1' -- run scenarios/basic/skew-lww-device-clock.yaml --strict
expect 0 'result    PASS' -- run scenarios/basic/skew-lww-device-clock.yaml --strict --profile reference
expect 0 'result    PASS' -- run scenarios/basic/skew-lww-device-clock.yaml --strict --profile scenarios/profiles/reference.yaml
expect 2 "unknown profile 'referense'; did you mean 'reference'" -- run scenarios/basic/offline-edits.yaml --profile referense
expect 2 "no-such.yaml: error: cannot open file" -- run scenarios/basic/offline-edits.yaml --profile /tmp/no-such.yaml
expect 2 "--profile needs a profile name or file" -- run scenarios/basic/offline-edits.yaml --profile
expect 0 'usage: syncsim run FILE' -- --help
expect 0 'usage: syncsim run FILE' -- help

# Every command has its own help (-h, --help, help CMD): its usage and every option, exit 0.
# A usage error prints the very usage --help starts with.
for cmd in run suite sweep merge summary grid shrink strategies help; do
  expect 0 "^usage: syncsim $cmd" -- "$cmd" --help
  expect 0 '^  -h, --help +print this help and exit' -- "$cmd" -h
  expect 0 "^usage: syncsim $cmd" -- help "$cmd"
  "$BIN" "$cmd" --help | sed '/^$/,$d' >"$tmp/help-usage"
  "$BIN" "$cmd" --no-such-option 2>&1 >/dev/null | sed -n '2,/^(syncsim/p' | sed '$d' >"$tmp/error-usage"
  cmp -s "$tmp/help-usage" "$tmp/error-usage" \
    || fail "$cmd: the usage of an error differs from --help's: $(diff "$tmp/help-usage" "$tmp/error-usage")"
done
for cmd in run suite sweep; do
  expect 0 '^  --timeout DURATION +a wall-clock budget' -- "$cmd" --help
done
expect 0 '^  -j, --jobs N ' -- suite --help
expect 0 '^  --junit F.xml ' -- suite --help
expect 0 '^  --summary F.md ' -- suite --help
expect 0 '^usage: syncsim run' -- run --sede --help          # --help wins over a mistake
expect 2 "unknown option '--stri'; did you mean '--strict'" -- run scenarios/basic/offline-edits.yaml --stri
expect 2 "--strict takes no value" -- run scenarios/basic/offline-edits.yaml --strict=yes
expect 2 "unknown option '--seed'" -- suite --seed 3 scenarios/basic
expect 2 "strategies takes no arguments" -- strategies extra
expect 2 "unknown violation class 'lost-updates'; did you mean 'lost-update'" -- shrink x.yaml -o "$tmp/x.yaml" --class lost-updates
expect 2 "--timeout needs a duration above zero" -- run scenarios/basic/offline-edits.yaml --timeout 0
expect 2 "--timeout needs a duration above zero such as 30s or 10m, not '5': a number needs a unit" \
  -- run scenarios/basic/offline-edits.yaml --timeout 5
expect 2 "-j needs a number of workers from 1 to 256, not '0'" -- suite -j 0
expect 2 "unknown command 'swep'; did you mean 'sweep'" -- swep
# SYNCSIM_CHECK_ARGS=1: the line is parsed (a mistake is still exit 2), nothing runs.
SYNCSIM_CHECK_ARGS=1 "$BIN" run no-such-file.yaml --seed 3 >"$tmp/check.out" 2>&1; code=$?
[ "$code" -eq 0 ] && [ ! -s "$tmp/check.out" ] || fail "SYNCSIM_CHECK_ARGS=1 ran the command (exit $code): $(head -2 "$tmp/check.out")"
SYNCSIM_CHECK_ARGS=1 "$BIN" run no-such-file.yaml --sede 3 >/dev/null 2>&1; [ $? -eq 2 ] || fail "SYNCSIM_CHECK_ARGS=1 accepted --sede"
# After --, a file name may start with a dash.
expect 2 "^-x.yaml: error: cannot open file" -- run --strict -- -x.yaml
# Options before or after the operand, --opt=value or --opt value: one meaning.
a=$("$BIN" run --seed=12 scenarios/basic/offline-edits.yaml | tail -n1)
b=$("$BIN" run scenarios/basic/offline-edits.yaml --seed 12 | tail -n1)
[ -n "$a" ] && [ "$a" = "$b" ] || fail "--seed=12 before the file gave '$a', --seed 12 after it '$b'"
# The man page comes from the same tables.
"$BIN" help --man >"$tmp/syncsim.1" || fail "help --man failed"
grep -q '^\.TH SYNCSIM 1' "$tmp/syncsim.1" || fail "help --man: no .TH"
for cmd in run suite sweep merge summary grid shrink strategies help; do
  grep -q "^\.SS \"syncsim $cmd\"" "$tmp/syncsim.1" || fail "help --man: no section for $cmd"
done
grep -q 'SYNCSIM_PATH' "$tmp/syncsim.1" || fail "help --man: SYNCSIM_PATH undocumented"

# --timeout: a wall-clock budget the CLI keeps; past it the run fails with a named bound (exit 2).
# tests/data/runs-long.yaml takes seconds; its budget is 300ms.
SECONDS=0
expect 2 "runs-long.yaml: error: bound exceeded: the run's wall-clock budget \(--timeout 300ms\)" \
  -- run tests/data/runs-long.yaml --timeout 300ms
expect 2 "bound exceeded: the run's wall-clock budget \(--timeout 300ms\)" \
  -- run tests/data/runs-long.yaml --timeout 300ms --check-determinism
[ "$SECONDS" -lt 20 ] || fail "--timeout 300ms: two runs went on for ${SECONDS}s"

# --progress: one line per multiple of the simulated duration, on stderr, with the events so far
# (make bench times week-100's days by them); the trace hash is the run's without it.
expect 2 "--progress needs a simulated duration above zero such as 1d" -- run scenarios/basic/offline-edits.yaml --progress 0s
"$BIN" run scenarios/basic/offline-edits.yaml >"$tmp/plain.out" 2>&1
"$BIN" run scenarios/basic/offline-edits.yaml --progress 1m >"$tmp/progress.out" 2>"$tmp/progress.err"
grep -qE '^progress 60000000 [0-9]+ [0-9]+$' "$tmp/progress.err" || fail "--progress 1m: no line at 1 minute: $(head -c 300 "$tmp/progress.err")"
[ "$(grep -c '^progress ' "$tmp/progress.err")" -eq "$(grep -c '' "$tmp/progress.err")" ] || fail "--progress: other lines on stderr"
[ "$(tail -1 "$tmp/plain.out")" = "$(tail -1 "$tmp/progress.out")" ] || fail "--progress changed the trace hash"
# A budget the run stays within changes nothing.
a=$("$BIN" run scenarios/basic/offline-edits.yaml | tail -n1)
b=$("$BIN" run scenarios/basic/offline-edits.yaml --timeout 1h | tail -n1)
[ "$a" = "$b" ] || fail "--timeout 1h changed the trace hash ($a / $b)"
"$BIN" sweep tests/data/runs-long.yaml --seeds 1..2 -j 2 --timeout 300ms --json "$tmp/timeout.json" >/dev/null 2>&1
code=$?
[ "$code" -eq 2 ] || fail "sweep --timeout: exit $code, expected 2"
/usr/bin/python3 -c "
import json, sys
runs = json.load(open(sys.argv[1]))['runs']
assert len(runs) == 2, runs
for r in runs:
    assert r['outcome'] == 'bad-input' and 'wall-clock budget (--timeout 300ms)' in r['finding'], r
" "$tmp/timeout.json" || fail "sweep --timeout rows"
expect 2 'tests/data/runs-long.yaml +every-10s +bad-input +2' \
  -- suite tests/data/runs-long.yaml tests/data/refused-writes.yaml --timeout 300ms
expect 2 '2 scenarios: 1 passed, 0 failed, 1 bad input' \
  -- suite tests/data/runs-long.yaml tests/data/refused-writes.yaml --timeout 300ms

expect 0 '^syncsim [0-9]+\.[0-9]+\.[0-9]+$' -- --version
expect 0 '^lww-device-clock +newest device wall-clock' -- strategies

expect 1 'unmet     tests/data/unmet-state.yaml:1[0-9]:[0-9]+: expected note/n1 to be \{text: "not-a"\} on the server, found \{text: "a"\}' -- run tests/data/unmet-state.yaml
expect 1 'expected note/n2 to be deleted on the server, found \{text: "b"\}' -- run tests/data/unmet-state.yaml
expect 1 'expected note/n3 to be \{text: "c"\} on the server, found no such record' -- run tests/data/unmet-state.yaml
expect 1 'the scenario expects lost-update, but it did not occur' -- run tests/data/expected-missing.yaml
expect 1 'result    FAIL: violation \(exit 1\)' -- run tests/data/unexpected-violation.yaml
expect 3 'no-quiescence: 1' -- run tests/data/never-syncs.yaml
expect 3 'sync did not settle within 2h of the final heal' -- run tests/data/never-syncs.yaml
expect 3 'phone: still has work \(unsynced changes.*\); never pulled everything the server has' -- run tests/data/never-syncs.yaml
expect 3 'tablet: never pulled everything the server has' -- run tests/data/never-syncs.yaml
expect 1 'undelivered: 1' -- run tests/data/gives-up.yaml
expect 1 'note/n1: write phone:1 never reached the server' -- run tests/data/gives-up.yaml
# Refused writes are on the result line, how many and the first with why; the writes line
# counts the devices that wrote (1 of the scenario's 3).
expect 0 '^writes    2 by 1 device, 1 refused; 0 conflicts$' -- run tests/data/refused-writes.yaml
expect 0 '^result    PASS: pass \(exit 0\), 1 write refused \(the first, phone:3 update note/n1: record is deleted\)$' \
  -- run tests/data/refused-writes.yaml
expect 0 '^result    PASS: pass \(exit 0\)$' -- run scenarios/basic/offline-edits.yaml
# --strict ignores expect: entirely, so an unmet expectation alone does not fail it.
expect 0 'result    PASS' -- run tests/data/expected-missing.yaml --strict

# suite: one line per scenario, a summary, and the worst exit code.
mkdir -p "$tmp/s/profiles"
cp scenarios/profiles/reference.yaml "$tmp/s/profiles/"
cp scenarios/basic/crash-restart.yaml "$tmp/s/a.yaml"
expect 0 '1 scenarios: 1 passed, 0 failed, 0 bad input' -- suite "$tmp/s"
sed 's|list/l1: { name: weekly shopping }|list/l1: { name: monthly }|' scenarios/basic/crash-restart.yaml >"$tmp/s/b.yaml"
expect 1 '2 scenarios: 1 passed, 1 failed, 0 bad input' -- suite "$tmp/s"
printf 'name: broken\nprofile: reference\ndevices: { phone: {} }\nstepz: []\n' >"$tmp/s/c.yaml"
expect 2 "c.yaml:4:1: error: unknown key 'stepz' in a scenario; did you mean 'steps'\\?" -- suite "$tmp/s"
expect 2 'no such file or directory' -- suite "$tmp/missing"
"$BIN" suite "$tmp/s" --json "$tmp/suite.json" >/dev/null 2>&1
/usr/bin/python3 -c "
import json, sys
rows = json.load(open(sys.argv[1]))
assert [r['outcome'] for r in rows] == ['pass', 'unmet', 'bad-input'], [r['outcome'] for r in rows]
" "$tmp/suite.json" || fail "suite --json rows"

# suite as a CI front door: -j N gives the same lines; JUnit, JSON and a Markdown summary.
"$BIN" suite scenarios/basic -j 1 >"$tmp/j1.out" 2>&1
"$BIN" suite scenarios/basic -j 2 >"$tmp/j2.out" 2>&1
cmp -s "$tmp/j1.out" "$tmp/j2.out" || fail "suite -j 2 printed other lines than -j 1: $(diff "$tmp/j1.out" "$tmp/j2.out" | head -5)"
grep -qE '^[0-9]+ scenarios: [0-9]+ passed, 0 failed, 0 bad input$' "$tmp/j1.out" || fail "suite scenarios/basic: $(tail -1 "$tmp/j1.out")"
"$BIN" suite "$tmp/s" -j 2 --junit "$tmp/suite.xml" --json "$tmp/suite2.json" --summary "$tmp/suite.md" \
  >"$tmp/ci.out" 2>&1
code=$?
[ "$code" -eq 2 ] || fail "suite with a bad file: exit $code, expected 2"
/usr/bin/python3 - "$tmp" <<'PYEOF' || fail "suite --junit/--json/--summary"
import json, sys, os, xml.etree.ElementTree as ET
tmp = sys.argv[1]
root = ET.parse(os.path.join(tmp, "suite.xml")).getroot()
cases = root.findall("./testsuite/testcase")
assert [c.get("name") for c in cases] == ["a.yaml", "b.yaml", "c.yaml"], [c.get("name") for c in cases]
assert root.get("tests") == "3" and root.get("failures") == "1" and root.get("errors") == "1", root.attrib
assert cases[0].find("failure") is None and cases[0].find("error") is None
failure = cases[1].find("failure")
assert failure is not None and "unmet" in failure.text and "replay: syncsim run " in failure.text, failure.text
assert failure.text.rstrip().endswith("b.yaml"), failure.text
error = cases[2].find("error")
assert error is not None and "unknown key 'stepz'" in error.get("message"), error.attrib
rows = json.load(open(os.path.join(tmp, "suite2.json")))
assert [r["outcome"] for r in rows] == ["pass", "unmet", "bad-input"], [r["outcome"] for r in rows]
assert rows[0]["strict"] is False and rows[0]["wall_ms"] >= 0
md = open(os.path.join(tmp, "suite.md")).read()
assert md.startswith("## syncsim suite: FAILED\n"), md[:80]
assert "3 scenarios: 1 passed, 1 failed, 1 bad input" in md, md[:300]
assert "### Failures" in md and "b.yaml` (profile `reference`): **unmet**, exit 1" in md, md
assert "| scenario | profile | outcome |" in md and md.count("\n| `") == 3, md
PYEOF
expect 2 'cannot write .*/no-dir/r.xml: its directory does not exist' -- suite "$tmp/s" --junit "$tmp/no-dir/r.xml"
# Under --strict the replay command says so, and the witness comes along.
"$BIN" suite scenarios/basic/skew-lww-device-clock.yaml --strict --junit "$tmp/strict.xml" >/dev/null 2>&1
/usr/bin/python3 - "$tmp/strict.xml" <<'PYEOF' || fail "suite --strict --junit"
import sys, xml.etree.ElementTree as ET
case = ET.parse(sys.argv[1]).getroot().find("./testsuite/testcase")
failure = case.find("failure")
# The classes that failed it, in the checker's order: the lost update, then what the writer saw
# (its own write replaced by the older one: read-your-writes).
assert failure is not None and failure.get("type") == "lost-update,read-your-writes", case.attrib
assert "won instead phone:1 create note/n1" in failure.text, failure.text
assert failure.text.rstrip().endswith("replay: syncsim run scenarios/basic/skew-lww-device-clock.yaml --strict"), failure.text
PYEOF

echo "cli: $failures failure(s)"
[ "$failures" -eq 0 ]
