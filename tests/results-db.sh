#!/usr/bin/env bash
# The results database under kills and damage.
#
# Crash safety: a sweep, a grid and a merge are killed (SIGKILL) at
# each of their database writes in turn -- the k-th pwrite64, for every k, then the k-th
# fdatasync -- with strace's fault injection, which delivers the signal at that system call.
# After every kill:
#   - the database opens and passes SQLite's integrity_check;
#   - it holds only what a run without kills writes (sweep, grid: a subset of its rows, and a
#     grid's description whole or not at all; merge: the output exactly as it was);
#   - the same command run again exits as a run without kills does and leaves exactly its rows.
# Also: a merge that fails on a bad input leaves its output as it was.
#
# Damage: a file that is not SQLite, a truncated one, one with garbage in its pages and one
# with tables of another shape are refused by sweep, grid and merge alike with exit 2 and one
# message naming the file and what is wrong -- never a crash, never a seed run first.
# Usage: tests/results-db.sh path/to/syncsim   (from the source root; KILL_STRIDE=n tries
# every n-th k)
set -u
BIN=$1
STRIDE=${KILL_STRIDE:-1}
PY=/usr/bin/python3
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if ! strace -f -qq -o /dev/null true 2>"$tmp/strace.err"; then
  echo "FAIL: strace cannot trace here ($(head -1 "$tmp/strace.err")): install strace and allow ptrace"
  exit 1
fi

# The database's contents as sorted lines, without wall-clock values (finished_at, wall_ms,
# updated_at); "absent" without a file, "DAMAGED ..." when integrity_check fails.
dump() {
  $PY - "$1" <<'PYEOF'
import os, sqlite3, sys
path = sys.argv[1]
if not os.path.exists(path):
    print("absent")
    sys.exit(0)
db = sqlite3.connect(path)
check = db.execute("pragma integrity_check").fetchall()
if check != [("ok",)]:
    print("DAMAGED", check[:3])
    sys.exit(0)
tables = {r[0] for r in db.execute("select name from sqlite_master where type = 'table'")}
rows = []
if "runs" in tables:
    rows += ["run %r" % (r,) for r in db.execute(
        "select scenario, params, seed, strict, outcome, exit_code, failing, trace_hash, shard from runs")]
if "grids" in tables:
    rows += ["grid %r" % (r,) for r in db.execute("select name, seeds_lo, seeds_hi, cells, axes from grids")]
if "grid_cells" in tables:
    rows += ["cell %r" % (r,) for r in db.execute("select grid, cell, scenario, params from grid_cells")]
print("\n".join(sorted(rows)))
PYEOF
}

# kill_points NAME SETUP DB CHECK -- COMMAND...: for each system call and each k, run SETUP
# (a fresh starting state), COMMAND killed at its k-th call, the checks above, COMMAND again.
# CHECK is "subset" (what is in DB after a kill is part of the reference) or "unchanged"
# (DB is exactly as SETUP left it).
kill_points() {
  local name=$1 setup=$2 db=$3 check=$4
  shift 5
  $setup
  local before
  before=$(dump "$db")
  "$@" >/dev/null 2>&1
  local want_code=$?
  local want
  want=$(dump "$db")
  [[ $want == absent || $want == DAMAGED* ]] && { fail "$name: the run without kills left $want"; return; }
  local syscall k code got kills=0
  for syscall in pwrite64 fdatasync; do
    for ((k = 1; k <= 2000; k += STRIDE)); do
      $setup
      # (in a subshell, so that bash does not report each kill; LeakSanitizer refuses to run
      # under ptrace, so the sanitizer build checks leaks in the runs without strace only)
      code=$( (ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0 \
                 strace -f -qq -o /dev/null -e trace="$syscall" -e inject="$syscall":signal=KILL:when="$k" "$@" \
                 >/dev/null 2>&1); echo $?)
      if [ "$code" -ne 137 ]; then   # it finished before its k-th call: every point was tried
        [ "$code" -eq "$want_code" ] || fail "$name: exit $code without a kill at $syscall $k, expected $want_code"
        break
      fi
      kills=$((kills + 1))
      got=$(dump "$db")
      if [[ $got == DAMAGED* ]]; then
        fail "$name: killed at $syscall $k: $got"
      elif [ "$check" = unchanged ] && [ "$got" != "$before" ]; then
        fail "$name: killed at $syscall $k: $db changed (a half-written output)"
      elif [ "$check" = subset ] && [ "$got" != absent ] &&
           [ -n "$(comm -23 <(printf '%s\n' "$got") <(printf '%s\n' "$want"))" ]; then
        fail "$name: killed at $syscall $k: rows no run writes: $(comm -23 <(printf '%s\n' "$got") <(printf '%s\n' "$want") | head -2)"
      fi
      if [ "$check" = subset ] && grep -q '^grid ' <<<"$got" &&
         [ "$(grep -c '^cell ' <<<"$got")" -ne "$(grep -c '^cell ' <<<"$want")" ]; then
        fail "$name: killed at $syscall $k: a grid's description without all its cells"
      fi
      "$@" >/dev/null 2>&1
      code=$?
      [ "$code" -eq "$want_code" ] || fail "$name: killed at $syscall $k, then exit $code, expected $want_code"
      [ "$(dump "$db")" = "$want" ] || fail "$name: killed at $syscall $k, then run again: not the rows of a run without kills"
    done
  done
  echo "$name: killed at $kills points, each recovered"
  [ $((kills * STRIDE)) -ge 10 ] || fail "$name: only $kills kills: the test no longer reaches the database"
}

# --- a sweep ------------------------------------------------------------------------------
SWEEP_DB=$tmp/sweep.sqlite
fresh_sweep() { rm -f "$SWEEP_DB" "$SWEEP_DB"-*; }
kill_points sweep fresh_sweep "$SWEEP_DB" subset -- \
  "$BIN" sweep scenarios/random/reference-swarm.yaml --seeds 1..2 -j 1 --db "$SWEEP_DB"

# --- a grid: the test grid with one seed and one clock skew per cell (4 runs) -----------------
# (Every write of each command is a kill point: the jobs are small so that the points are few.)
sed -e "s#^scenario: tiny-base.yaml#scenario: $PWD/tests/data/grids/tiny-base.yaml#" -e 's/^seeds: 4$/seeds: 1/' \
  -e 's/^  skew_max: \[0s, 5m\]$/  skew_max: [5m]/' tests/data/grids/tiny.yaml >"$tmp/grid.yaml"
grep -q '^  skew_max: \[5m\]$' "$tmp/grid.yaml" || fail "could not make the 4-run grid"
GRID_DB=$tmp/grid.sqlite
fresh_grid() { rm -f "$GRID_DB" "$GRID_DB"-*; }
kill_points grid fresh_grid "$GRID_DB" subset -- "$BIN" grid "$tmp/grid.yaml" -j 1 --db "$GRID_DB"

# --- a merge of two shards into an output that has rows of its own ---------------------------
S=scenarios/random/lww-skew.yaml
"$BIN" sweep "$S" --seeds 1..4 --shard 1/2 -j 1 --db "$tmp/shard1.sqlite" >/dev/null 2>&1
"$BIN" sweep "$S" --seeds 1..4 --shard 2/2 -j 1 --db "$tmp/shard2.sqlite" >/dev/null 2>&1
"$BIN" grid "$tmp/grid.yaml" -j 1 --db "$tmp/grid-shard.sqlite" >/dev/null 2>&1
"$BIN" sweep "$S" --seeds 3..6 -j 1 --db "$tmp/old.sqlite" >/dev/null 2>&1
MERGE_DB=$tmp/merged.sqlite
fresh_merge() { rm -f "$MERGE_DB" "$MERGE_DB"-* "$MERGE_DB".merge-*; cp "$tmp/old.sqlite" "$MERGE_DB"; }
kill_points merge fresh_merge "$MERGE_DB" unchanged -- \
  "$BIN" merge "$MERGE_DB" "$tmp/shard1.sqlite" "$tmp/shard2.sqlite" "$tmp/grid-shard.sqlite"
merged=$(dump "$MERGE_DB")
[ "$(grep -c '^run ' <<<"$merged")" -eq $((6 + 4)) ] || fail "merge: expected 10 runs, found $(grep -c '^run ' <<<"$merged")"

# --- a merge that fails leaves its output as it was -------------------------------------------
fresh_merge
before=$(dump "$MERGE_DB")
printf 'not a database\n' >"$tmp/bad.sqlite"
"$BIN" merge "$MERGE_DB" "$tmp/shard1.sqlite" "$tmp/bad.sqlite" >"$tmp/bad.out" 2>"$tmp/bad.err"
code=$?
[ "$code" -eq 2 ] || fail "merge with a bad input: exit $code, expected 2"
grep -q "bad.sqlite: not a SQLite database" "$tmp/bad.err" || fail "merge with a bad input: $(head -1 "$tmp/bad.err")"
[ "$(dump "$MERGE_DB")" = "$before" ] || fail "merge with a bad input changed its output"
[ -z "$(ls "$MERGE_DB".merge-* 2>/dev/null)" ] || fail "merge with a bad input left its temporary file"
rm -f "$tmp/absent.sqlite"
"$BIN" merge "$tmp/absent.sqlite" "$tmp/shard1.sqlite" "$tmp/missing.sqlite" >/dev/null 2>"$tmp/missing.err"
[ $? -eq 2 ] || fail "merge with a missing input: not exit 2"
[ ! -e "$tmp/absent.sqlite" ] || fail "merge with a missing input created its output"

# --- damaged and foreign files ----------------------------------------------------------------
"$BIN" sweep "$S" --seeds 1..40 -j 2 --db "$tmp/good.sqlite" >/dev/null 2>&1
$PY - "$tmp" <<'PYEOF'
import os, random, shutil, sqlite3, sys
tmp = sys.argv[1]
good = os.path.join(tmp, "good.sqlite")
def path(name): return os.path.join(tmp, name + ".sqlite")
open(path("text"), "w").write("hello, not a database\n")
shutil.copy(good, path("truncated"))
os.truncate(path("truncated"), os.path.getsize(good) // 2)
shutil.copy(good, path("garbage"))
random.seed(1)
with open(path("garbage"), "r+b") as f:   # every page's header but the first's: structural damage
    for offset in range(4096, os.path.getsize(good), 4096):
        f.seek(offset)
        f.write(bytes(random.randrange(256) for _ in range(64)))
db = sqlite3.connect(path("foreign"))
db.execute("create table runs(x)")
db.commit()
PYEOF
declare -A why=([text]="not a SQLite database" [truncated]="is damaged" [garbage]="is damaged"
                [foreign]="not a syncsim results database: its table runs has columns (x)")
for kind in text truncated garbage foreign; do
  f=$tmp/$kind.sqlite
  cp "$f" "$tmp/pristine"
  for cmd in sweep grid merge-into merge-from; do
    case $cmd in
      sweep) args=(sweep "$S" --seeds 1..45 -j 2 --db "$f") ;;
      grid) args=(grid "$tmp/grid.yaml" -j 2 --db "$f") ;;
      merge-into) args=(merge "$f" "$tmp/shard1.sqlite") ;;
      merge-from) args=(merge "$tmp/into.sqlite" "$tmp/shard1.sqlite" "$f") ;;
    esac
    rm -f "$tmp/into.sqlite"
    "$BIN" "${args[@]}" >"$tmp/damage.out" 2>"$tmp/damage.err"
    code=$?
    [ "$code" -eq 2 ] || fail "$cmd with a $kind database: exit $code, expected 2"
    grep -q "^syncsim: $f: .*${why[$kind]}" "$tmp/damage.err" ||
      fail "$cmd with a $kind database: $(head -c 300 "$tmp/damage.err")"
    grep -qi "sanitizer\|assert" "$tmp/damage.err" && fail "$cmd with a $kind database crashed"
    grep -q "passed\|rows added" "$tmp/damage.out" && fail "$cmd with a $kind database ran or merged first"
    cmp -s "$f" "$tmp/pristine" || fail "$cmd wrote into the $kind database"
    [ ! -e "$tmp/into.sqlite" ] || fail "$cmd with a $kind input created its output"
    cp "$tmp/pristine" "$f"
  done
done

echo "results-db: $failures failure(s)"
[ "$failures" -eq 0 ]
