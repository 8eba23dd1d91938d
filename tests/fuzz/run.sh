#!/usr/bin/env bash
# Run the libFuzzer targets of a fuzz build for a set time each, and say what they found.
#
#   tests/fuzz/run.sh BUILD_DIR SECONDS [TARGET...]     (from the source root)
#
# BUILD_DIR is a fuzz build (meson setup ... -Dfuzz=true, CC=clang; `make fuzz` makes
# build-fuzz/). TARGETs are names from tests/fuzz/meson.build (default: every fuzz-*
# executable the build has). FUZZ_JOBS targets run at once (default 2).
#
# For each target, in BUILD_DIR/fuzz/<target>/:
#   1. seeds/  is made afresh from the shipped files (the scenarios, profiles and grids under
#      scenarios/ and tests/errors/, messages from traces of the seed catalogs), plus the
#      committed tests/fuzz/seeds/<target>/ and tests/fuzz/regress/<target>/;
#   2. every regression input (tests/fuzz/regress/<target>/) is replayed once: a crash or a
#      hang of one of them fails at once;
#   3. libFuzzer explores for SECONDS from corpus/ (kept between runs, never committed) and
#      seeds/, with ASan, UBSan and LeakSanitizer; an input that runs longer than
#      FUZZ_TIMEOUT seconds (default 10) is a hang, reported like a crash;
#   4. a line of figures: executions, coverage (cov: edges, ft: features), and the corpus
#      (libFuzzer's units after this run, and the files kept in corpus/ over all runs).
# A finding leaves its input as BUILD_DIR/fuzz/<target>/crash-*, timeout-*, leak-* or
# oom-*: minimise it (fuzz-<target> -minimize_crash=1 -runs=10000 FILE), fix the bug, and
# commit the input under tests/fuzz/regress/<target>/ so every build replays it.
# Exit status: 0 when nothing was found, 1 otherwise, 2 on usage errors.
set -u -o pipefail
if [ $# -lt 2 ]; then
  echo "usage: tests/fuzz/run.sh BUILD_DIR SECONDS [TARGET...]" >&2
  exit 2
fi
BUILD=$1
SECONDS_EACH=$2
shift 2
JOBS=${FUZZ_JOBS:-2}
TIMEOUT=${FUZZ_TIMEOUT:-10}
# Inputs stay small: the loaders' bounds (sim/yaml.h) are tested by unit tests, and the
# fuzzer explores faster on short inputs. Above the largest shipped scenario (15 kB).
MAX_LEN=${FUZZ_MAX_LEN:-20000}
export ASAN_OPTIONS=abort_on_error=1:halt_on_error=1:detect_leaks=1:allocator_may_return_null=1
export UBSAN_OPTIONS=abort_on_error=1:halt_on_error=1:print_stacktrace=1
# Leaks inside libfyaml 0.7.12 itself (tests/fuzz/lsan.supp says which and why) are not ours.
export LSAN_OPTIONS=suppressions=$PWD/tests/fuzz/lsan.supp:print_suppressions=0

if [ $# -gt 0 ]; then
  targets=("$@")
else
  targets=()
  for exe in "$BUILD"/tests/fuzz/fuzz-*; do
    [ -f "$exe" ] && [ -x "$exe" ] && targets+=("${exe##*/fuzz-}")
  done
fi
if [ ${#targets[@]} -eq 0 ]; then
  echo "run.sh: no fuzz targets in $BUILD/tests/fuzz (configure it with -Dfuzz=true)" >&2
  exit 2
fi
BUILD=$(cd "$BUILD" && pwd)
SYNCSIM=$BUILD/syncsim

# copy_yaml DIR FILE...: each file into DIR under a name made from its path. Relative
# profile paths of tests/errors/ name the fuzz directory's profiles/ link instead.
copy_yaml() {
  local dir=$1 f
  shift
  for f in "$@"; do
    [ -f "$f" ] || continue
    sed -e 's#\(\.\./\)*scenarios/profiles/#profiles/#' "$f" >"$dir/$(tr '/' '_' <<<"$f")"
  done
}

# Messages of every dialect, as sent: a few scenarios of each seed catalog (its own
# dialect) and of scenarios/basic (the built-in one), traced; one file per distinct message.
wire_seeds() {
  local dir=$1 tmp f
  tmp=$(mktemp -d)
  for f in scenarios/basic/delete-vs-edit.yaml scenarios/basic/counters-crdt.yaml scenarios/basic/event-log.yaml \
           $(ls scenarios/seeds/*/rule-*.yaml | awk -F/ '{ n[$3]++ } n[$3] <= 3'); do
    "$SYNCSIM" run "$f" --trace "$tmp/trace.jsonl" >/dev/null 2>&1
    cat "$tmp/trace.jsonl" >>"$tmp/all.jsonl" 2>/dev/null
  done
  /usr/bin/python3 - "$tmp/all.jsonl" "$dir" <<'PYEOF'
import json, sys, os
seen = set()
for line in open(sys.argv[1]):
    ev = json.loads(line)
    if ev.get("ev") != "send" or ev["msg_hash"] in seen:
        continue
    seen.add(ev["msg_hash"])
    text = json.dumps(ev["msg"], separators=(",", ":"))
    if len(text) <= 20000:
        open(os.path.join(sys.argv[2], "msg-" + ev["msg_hash"]), "w").write(text)
PYEOF
  rm -rf "$tmp"
}

make_seeds() {
  local target=$1 dir=$2
  rm -rf "$dir"
  mkdir -p "$dir"
  case $target in
    scenario) copy_yaml "$dir" $(find scenarios tests/errors -name '*.yaml' -not -path '*/grids/*' | sort) ;;
    profile) copy_yaml "$dir" scenarios/profiles/*.yaml tests/errors/profiles/*.yaml ;;
    grid)
      copy_yaml "$dir" tests/errors/grids/*.yaml
      # the shipped grid, its base reached through the fuzz directory's grids/ link
      sed 's#^scenario: bases/#scenario: grids/bases/#' scenarios/grids/compare-designs.yaml >"$dir/compare-designs.yaml" ;;
    wire) wire_seeds "$dir" ;;
  esac
  [ -d "tests/fuzz/seeds/$target" ] && cp tests/fuzz/seeds/"$target"/* "$dir"/ 2>/dev/null
  [ -d "tests/fuzz/regress/$target" ] && cp tests/fuzz/regress/"$target"/* "$dir"/ 2>/dev/null
  return 0
}

# fuzz_one TARGET: steps 1 to 3; the log says the rest. Its status is the finding's.
fuzz_one() {
  local target=$1 exe=$BUILD/tests/fuzz/fuzz-$1 work=$BUILD/fuzz/$1
  mkdir -p "$work/corpus"
  rm -f "$work"/crash-* "$work"/timeout-* "$work"/leak-* "$work"/oom-* "$work"/slow-unit-*
  make_seeds "$target" "$work/seeds"
  local regress=(tests/fuzz/regress/"$target"/*)
  if [ -e "${regress[0]}" ]; then
    if ! "$exe" -timeout="$TIMEOUT" -rss_limit_mb=2048 -artifact_prefix="$work/" "${regress[@]}" \
         >"$work/regress.log" 2>&1; then
      echo "REGRESSED" >"$work/status"
      return 1
    fi
  fi
  "$exe" -max_total_time="$SECONDS_EACH" -timeout="$TIMEOUT" -rss_limit_mb=2048 -max_len="$MAX_LEN" \
    -print_final_stats=1 -artifact_prefix="$work/" "$work/corpus" "$work/seeds" >"$work/fuzz.log" 2>&1
  local code=$?
  if [ $code -eq 0 ]; then echo "ok" >"$work/status"; else echo "FOUND" >"$work/status"; fi
  return $code
}

export -f fuzz_one make_seeds copy_yaml wire_seeds
export BUILD SECONDS_EACH TIMEOUT MAX_LEN SYNCSIM
printf '%s\n' "${targets[@]}" | xargs -P "$JOBS" -I{} bash -c 'fuzz_one "$1"' _ {}

status=0
printf '%-10s %7s %12s %8s %8s %7s %7s  %s\n' TARGET SECONDS EXECS COV FT UNITS FILES RESULT
for target in "${targets[@]}"; do
  work=$BUILD/fuzz/$target
  result=$(cat "$work/status" 2>/dev/null || echo "not run")
  log=$work/fuzz.log
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" 2>/dev/null | tail -1)
  # the last status line: "#123456 ... cov: 1234 ft: 5678 corp: 90/12Kb ..."
  cov=$(grep -o 'cov: [0-9]*' "$log" 2>/dev/null | tail -1 | cut -d' ' -f2)
  ft=$(grep -o 'ft: [0-9]*' "$log" 2>/dev/null | tail -1 | cut -d' ' -f2)
  units=$(grep -o 'corp: [0-9]*' "$log" 2>/dev/null | tail -1 | cut -d' ' -f2)
  files=$(find "$work/corpus" -type f 2>/dev/null | wc -l)
  printf '%-10s %7s %12s %8s %8s %7s %7s  %s\n' "$target" "$SECONDS_EACH" "${execs:--}" "${cov:--}" "${ft:--}" \
    "${units:--}" "$files" "$result"
  if [ "$result" != ok ]; then
    status=1
    for f in "$work"/crash-* "$work"/timeout-* "$work"/leak-* "$work"/oom-*; do
      [ -e "$f" ] && echo "  input: $f"
    done
    if [ "$result" = REGRESSED ]; then
      echo "  a committed regression input failed again:"
      grep -E "ERROR|SUMMARY|error:|Assertion" "$work/regress.log" | head -5 | sed 's/^/    /'
    else
      grep -E "ERROR|SUMMARY|Assertion|deadly" "$log" | head -5 | sed 's/^/    /'
    fi
  fi
done
exit $status
