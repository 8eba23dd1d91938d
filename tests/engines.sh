#!/usr/bin/env bash
# Three sync engines under syncsim through their Node.js adapters (adapters/js/): Yjs, Automerge
# and PouchDB, each as every replica of a few scenarios from scenarios/basic/. For each:
#   - the node never fails (exit 4 never);
#   - a second run prints the same thing, trace hash included (what --check-determinism checks,
#     at two runs instead of three);
#   - the outcome is the one verified for the engine (exit code, and what the result says).
# The engines' own scenarios (scenarios/engines/<engine>/) are shipped scenarios: each meets its
# expect: block, twice with the same trace hash (the swarms once: they are long). Needs node and adapters/js/node_modules (make test
# installs both).
# Usage: tests/engines.sh path/to/syncsim   (run from the source root)
set -u
BIN=$1
failures=0
checked=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export TMPDIR=$tmp   # nodes' data directories go here and go away with it

if ! command -v node >/dev/null || [ ! -d adapters/js/node_modules ]; then
  echo "FAIL: node or adapters/js/node_modules is missing (make test installs them: npm ci --prefix adapters/js)"
  exit 1
fi

# check ENGINE SCENARIO EXIT [PATTERN...]: run SCENARIO under the engine's profile; expect exit
# EXIT and every pattern (an extended regular expression, or !PATTERN for one that must not
# match) in the output; then a second run that must print the same, trace hash included.
check() {
  local engine=$1 file=$2 want=$3
  shift 3
  local args=(run "$file" --profile "$engine")
  local start out code again
  start=$(date +%s%N)
  out=$("$BIN" "${args[@]}" 2>&1)
  code=$?
  checked=$((checked + 1))
  [ "$code" -ne 4 ] || fail "$engine $file: the node failed: $(grep -A12 'node-failed' <<<"$out" | head -c 1500)"
  [ "$code" -eq "$want" ] || fail "$engine $file: exit $code, expected $want: $(grep -E '^(result|unmet|  [a-z-]+: [0-9])' <<<"$out" | head -5)"
  for p in "$@"; do
    if [ "${p:0:1}" = '!' ]; then
      ! grep -qE -- "${p:1}" <<<"$out" || fail "$engine $file: the output matches /${p:1}/: $(grep -E -- "${p:1}" <<<"$out" | head -3)"
    else
      grep -qE -- "$p" <<<"$out" || fail "$engine $file: the output lacks /$p/: $(grep -E '^(result|unmet|outcomes|  [a-z-]+: [0-9])' <<<"$out" | head -6)"
    fi
  done
  if [ "$code" -ne 2 ]; then
    again=$("$BIN" "${args[@]}" 2>&1)
    [ "$again" = "$out" ] || fail "$engine $file: not deterministic: a second run printed otherwise (trace hashes \
$(tail -n1 <<<"$out") / $(tail -n1 <<<"$again"); syncsim ${args[*]} --check-determinism names the first event that differs)"
  fi
  printf '  %-10s %-58s exit %s  %5d ms for 2 runs\n' "$engine" "$file" "$code" $(( ($(date +%s%N) - start) / 1000000 ))
}

B=scenarios/basic
# --- Yjs: field-level merge by client id, tombstones, update logs ------------------------------------
# Offline edits to different fields of one note converge; concurrent edits of one field keep one
# value (the other is gone: accepted); so only the expectation about task/t1 (the reference's pick)
# is unmet.
check yjs $B/offline-edits.yaml 1 'silent-overwrite: 1  \(accepted' '^unmet .*task/t1' '!unmet .*note/n1' '!unmet .*note/n[23]'
check yjs $B/crash-restart.yaml 0 '^outcomes  2 kept, 1 superseded'      # the update log survives the crash
check yjs $B/tenants.yaml 0 '!tenant-leak'                               # a doc per user on the server
check yjs $B/delete-vs-edit-delete-wins.yaml 0 'silent-overwrite: 1  \(expected'   # the tombstone wins
check yjs $B/counters-crdt.yaml 2 "needs the operation 'increment'"       # Yjs has no counters

# --- Automerge: counters, conflicts kept, sync states reset per connection ----------------------------
# Automerge reports the conflict it resolved (task/t1's title) as a conflict effect.
check automerge $B/offline-edits.yaml 1 '1 overwritten-concurrent' '!silent-overwrite' '^unmet .*task/t1' '!unmet .*note/n1' \
  '^writes .*; [1-9][0-9]* conflicts? \(field [1-9]'
check automerge $B/counters-crdt.yaml 0 '^outcomes  6 kept'              # the sum of every increment
check automerge $B/crash-restart.yaml 0
check automerge $B/tenants.yaml 0
check automerge $B/lost-response-idempotent.yaml 1 '1 overwritten-concurrent' '!silent-overwrite'

# --- PouchDB: whole-document revisions, _conflicts kept, edits beat deletes ----------------------------
# Different fields of one note do not merge (the document is the unit): both notes' losers are kept.
# Each gains a losing leaf in _conflicts: conflict effects of kind revision.
check pouchdb $B/offline-edits.yaml 1 '2 overwritten-concurrent' '!silent-overwrite' '^unmet .*note/n1' '!unmet .*note/n[23]' \
  '^writes .*; [1-9][0-9]* conflicts? \(revision [1-9]'
check pouchdb $B/delete-vs-edit.yaml 0 'silent-overwrite: 1  \(accepted'   # the live leaf wins; the deleted leaf is no copy the user sees
check pouchdb $B/crash-restart.yaml 0                                     # the MemDOWN log survives
check pouchdb $B/tenants.yaml 0
check pouchdb $B/counters-crdt.yaml 2 "needs the operation 'increment'"

# --- each engine's catalog: its rule scenarios and its swarm meet their expect: blocks ------------------
for f in scenarios/engines/*/*.yaml; do
  out1=$("$BIN" run "$f" 2>&1); c1=$?
  checked=$((checked + 1))
  [ "$c1" -eq 0 ] || fail "$f: exit $c1, expected 0: $(grep -E '^(unmet|result)|node-failed' <<<"$out1" | head -3)"
  [[ $f == */swarm.yaml ]] && continue
  out2=$("$BIN" run "$f" 2>&1)
  [ "$(tail -n1 <<<"$out1")" = "$(tail -n1 <<<"$out2")" ] ||
    fail "$f: trace hash differs between two runs ($(tail -n1 <<<"$out1") / $(tail -n1 <<<"$out2"))"
done

# --- conformance level 1 for each engine: creates, updates and deletes reach every device ---------------
for engine in yjs automerge pouchdb; do
  out=$("$BIN" conform --profile "$engine" --level 1 -j 2 2>/dev/null)
  code=$?
  [ "$code" -eq 0 ] && grep -q '^result    level 1 holds (exit 0)' <<<"$out" ||
    fail "conform --profile $engine --level 1: exit $code: $(grep -E '^(level|result|  level)' <<<"$out")"
  printf '  %-10s conform level 1: %s\n' "$engine" "$(grep '^level 1' <<<"$out")"
done

if [ "$failures" -gt 0 ]; then
  echo "engines: $failures failure(s) in $checked runs"
  exit 1
fi
echo "engines: $checked scenarios through Yjs, Automerge and PouchDB: no node failed, every one deterministic"
