#!/usr/bin/env bash
# --shard auto, end to end with the built binary: for each engine (Kubernetes
# Indexed Jobs, GitLab CI, Buildkite, a Slurm array numbered from 1, CircleCI)
# the jobs that engine would start, each given only its own variables, run
# disjoint shares of a sweep that together are every seed exactly once; the
# shard each took is the one its variables name; no variables, or two
# engines' at once, is a usage error (exit 2) naming the variables. A grid
# split into more shards than it has cells gives every shard work, and the
# shards' runs are the whole grid. (The rules for odd values are in
# tests/test-shard.c.)
# Usage: tests/shard.sh path/to/syncsim   (run from the source root)
set -u
BIN=$1
PY=/usr/bin/python3
SCENARIO=scenarios/random/lww-skew.yaml
SEEDS=1..12
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Only the variables a test gives: the machine running the suite may be a CI job itself.
ENGINE_VARS=(JOB_COMPLETION_INDEX CI_NODE_INDEX CI_NODE_TOTAL BUILDKITE_PARALLEL_JOB BUILDKITE_PARALLEL_JOB_COUNT
             SLURM_ARRAY_TASK_ID SLURM_ARRAY_TASK_COUNT SLURM_ARRAY_TASK_MIN SLURM_ARRAY_TASK_MAX
             SLURM_ARRAY_TASK_STEP CIRCLE_NODE_INDEX CIRCLE_NODE_TOTAL)
unset_all=()
for v in "${ENGINE_VARS[@]}"; do unset_all+=(-u "$v"); done
clean() { env "${unset_all[@]}" "$@"; }

# seeds_of F.json: the seeds a sweep's --json recorded, one line.
seeds_of() { $PY -c "import json,sys; print(' '.join(r['seed'] for r in json.load(open(sys.argv[1]))['runs']))" "$1"; }

# engine NAME SHARD-ARG then, for each job, "VAR=VALUE ..." -- the jobs that engine would start.
engine() {
  local name=$1 arg=$2
  shift 2
  local job=0 all=""
  for vars in "$@"; do
    job=$((job + 1))
    read -ra assignments <<<"$vars"
    clean "${assignments[@]}" "$BIN" sweep "$SCENARIO" --seeds "$SEEDS" --shard "$arg" -j 1 \
      --db "$tmp/$name-$job.sqlite" --json "$tmp/$name-$job.json" >"$tmp/$name-$job.out" 2>"$tmp/$name-$job.err"
    code=$?
    # A sweep of a lossy scenario fails some seeds (exit 1); what matters here is that it ran.
    [ "$code" -le 1 ] || { fail "$name job $job ($vars): exit $code: $(tail -3 "$tmp/$name-$job.err")"; continue; }
    grep -q "shard $job/$#" "$tmp/$name-$job.out" \
      || fail "$name job $job ($vars): not shard $job/$#: $(grep '^seeds' "$tmp/$name-$job.out")"
    grep -q "shard $job/$# ($name" "$tmp/$name-$job.err" \
      || fail "$name job $job: the progress line does not say where the shard came from: $(head -1 "$tmp/$name-$job.err")"
    all="$all $(seeds_of "$tmp/$name-$job.json")"
  done
  sorted=$(tr ' ' '\n' <<<"$all" | grep . | sort -n | tr '\n' ' ')
  [ "$sorted" = "1 2 3 4 5 6 7 8 9 10 11 12 " ] || fail "$name: the jobs ran seeds '$sorted', not 1..12 once each"
  # The shards' databases merge into the whole sweep.
  "$BIN" merge "$tmp/$name-all.sqlite" "$tmp/$name"-[0-9]*.sqlite >/dev/null || fail "$name: merge"
}

engine "Kubernetes Indexed Job" auto/3 "JOB_COMPLETION_INDEX=0" "JOB_COMPLETION_INDEX=1" "JOB_COMPLETION_INDEX=2"
engine "GitLab CI" auto "CI_NODE_INDEX=1 CI_NODE_TOTAL=4" "CI_NODE_INDEX=2 CI_NODE_TOTAL=4" \
  "CI_NODE_INDEX=3 CI_NODE_TOTAL=4" "CI_NODE_INDEX=4 CI_NODE_TOTAL=4"
engine "Buildkite" auto "BUILDKITE_PARALLEL_JOB=0 BUILDKITE_PARALLEL_JOB_COUNT=2" \
  "BUILDKITE_PARALLEL_JOB=1 BUILDKITE_PARALLEL_JOB_COUNT=2"
# sbatch --array=1-3: task ids 1, 2, 3
slurm="SLURM_ARRAY_TASK_COUNT=3 SLURM_ARRAY_TASK_MIN=1 SLURM_ARRAY_TASK_MAX=3 SLURM_ARRAY_TASK_STEP=1"
engine "Slurm job array" auto "SLURM_ARRAY_TASK_ID=1 $slurm" "SLURM_ARRAY_TASK_ID=2 $slurm" "SLURM_ARRAY_TASK_ID=3 $slurm"
engine "CircleCI" auto "CIRCLE_NODE_INDEX=0 CIRCLE_NODE_TOTAL=5" "CIRCLE_NODE_INDEX=1 CIRCLE_NODE_TOTAL=5" \
  "CIRCLE_NODE_INDEX=2 CIRCLE_NODE_TOTAL=5" "CIRCLE_NODE_INDEX=3 CIRCLE_NODE_TOTAL=5" \
  "CIRCLE_NODE_INDEX=4 CIRCLE_NODE_TOTAL=5"

# --- mistakes are usage errors that say what was looked for ------------------------------------
refused() {   # WHAT EXPECTED-TEXT VAR=VALUE...
  local what=$1 says=$2
  shift 2
  clean "$@" "$BIN" sweep "$SCENARIO" --seeds "$SEEDS" --shard auto -j 1 >"$tmp/refused.out" 2>&1
  code=$?
  [ "$code" -eq 2 ] || fail "$what: exit $code, expected 2"
  grep -qF -- "$says" "$tmp/refused.out" || fail "$what: the error does not say '$says': $(head -1 "$tmp/refused.out")"
}
refused "no engine" "none of JOB_COMPLETION_INDEX (Kubernetes Indexed Job), CI_NODE_INDEX (GitLab CI)"
refused "no engine" "--shard \${{ matrix.shard }}/\${{ strategy.job-total }}"
refused "two engines" "more than one engine are set" CI_NODE_INDEX=1 CI_NODE_TOTAL=2 CIRCLE_NODE_INDEX=0 CIRCLE_NODE_TOTAL=2
refused "Kubernetes without a count" "write --shard auto/N" JOB_COMPLETION_INDEX=1
refused "an index past the count" "is past the last of 2 shards" CI_NODE_INDEX=3 CI_NODE_TOTAL=2

# --- a grid with more shards than cells ------------------------------------------------------------
# Two cells (two profiles, no axes) and three seeds: six runs over five shards. Shards
# numbered by seed plus cell would leave shard 5 idle; by position every shard gets one or two.
cat >"$tmp/two-cells.yaml" <<EOF
name: two-cells
scenario: $PWD/tests/data/grids/tiny-base.yaml
seeds: 3
profiles: [reference, lww-device-clock]
EOF
all=""
for i in 0 1 2 3 4; do
  clean CIRCLE_NODE_INDEX=$i CIRCLE_NODE_TOTAL=5 "$BIN" grid "$tmp/two-cells.yaml" --shard auto -j 1 \
    --db "$tmp/grid-$i.sqlite" >"$tmp/grid-$i.out" 2>"$tmp/grid-$i.err" || fail "grid shard $((i + 1))/5: $(tail -2 "$tmp/grid-$i.err")"
  n=$($PY -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from runs').fetchone()[0])" "$tmp/grid-$i.sqlite")
  [ "$n" -ge 1 ] && [ "$n" -le 2 ] || fail "grid shard $((i + 1))/5 ran $n runs; 6 runs over 5 shards is 1 or 2 each"
  all="$all $($PY -c "import sqlite3,sys; print(' '.join(f'{p}:{s}' for p, s in sqlite3.connect(sys.argv[1]).execute('select params, seed from runs')))" "$tmp/grid-$i.sqlite")"
done
runs=$(tr ' ' '\n' <<<"$all" | grep . | sort)
[ "$(wc -l <<<"$runs")" -eq 6 ] && [ "$(sort -u <<<"$runs" | wc -l)" -eq 6 ] \
  || fail "the five grid shards did not run the six runs once each: $runs"

if [ "$failures" -gt 0 ]; then
  echo "shard: $failures failure(s)"
  exit 1
fi
echo "shard: every engine's jobs split a sweep exactly; a grid with more shards than cells gives each work"
