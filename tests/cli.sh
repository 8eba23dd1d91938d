#!/usr/bin/env bash
# Command-line behaviour: exit codes mean what DESIGN.md says (0 met,
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
expect 2 'cannot write' -- run scenarios/basic/offline-edits.yaml --json /nonexistent-dir/r.json
# --profile: the same steps under another design.
expect 1 'lost-update: 1' -- run scenarios/basic/skew-lww-device-clock.yaml --strict
expect 0 'result    PASS' -- run scenarios/basic/skew-lww-device-clock.yaml --strict --profile reference
expect 0 'result    PASS' -- run scenarios/basic/skew-lww-device-clock.yaml --strict --profile scenarios/profiles/reference.yaml
expect 2 "unknown profile 'referense'; did you mean 'reference'" -- run scenarios/basic/offline-edits.yaml --profile referense
expect 2 "no-such.yaml: error: cannot open file" -- run scenarios/basic/offline-edits.yaml --profile /tmp/no-such.yaml
expect 2 "--profile needs a profile name or file" -- run scenarios/basic/offline-edits.yaml --profile
expect 0 'usage: syncsim run FILE' -- --help
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

echo "cli: $failures failure(s)"
[ "$failures" -eq 0 ]
