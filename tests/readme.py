#!/usr/bin/env python3
"""The command outputs README.md shows, made by the binary.

A fenced block whose line above is a marker

    <!-- output: syncsim run scenarios/basic/skew-lww-device-clock.yaml --strict | sed -n '/^findings/,$p' -->
    ```
    ...
    ```

holds what that shell command prints. A marker `<!-- output (slow): ... -->`
says the command takes a CPU minute or more (the shipped grid of 2,160 runs,
the conformance corpus through a Python node): it is checked only with --slow
(`make readme`), not by `make test`. The command runs under bash in a
scratch directory where `scenarios/`, `tests/` and `examples/` are the
source tree's and `syncsim` is the binary given, so files it writes
(minimal.yaml, results.sqlite) land in the scratch directory, and its
standard output (and error, for lines it shows) is the block.

    tests/readme.py build/syncsim            check: exit 1 naming every block that differs
    tests/readme.py --update build/syncsim   rewrite the blocks with what the binary prints now
    tests/readme.py --slow ...               the slow blocks too (make readme)

Checking compares the text exactly -- trace hashes, counts, classes, seeds --
except wall-clock figures (`in 7.5s`, `133.9 seeds/s`), which differ from run
to run and are masked on both sides; updating keeps the README's figures on a
line that differs in nothing else. Run from the source root.
"""
import difflib
import os
import re
import subprocess
import sys
import tempfile

README = "README.md"
# A marker may be indented (a block inside a list item): its fences and lines are indented alike.
MARKER = re.compile(r"^( *)<!-- output( \(slow\))?: (.*) -->$")
# Wall-clock figures: "in 7.5s", "in 34.0s", "(133.9 seeds/s", "47.6 runs/s".
WALL_CLOCK = [
    (re.compile(r"\bin \d+(?:\.\d+)?(?:us|ms|s|m|h)(?:\d+(?:\.\d+)?(?:us|ms|s|m))*\b"), "in <time>"),
    (re.compile(r"\b\d+(?:\.\d+)? (seeds|runs)/s\b"), r"<rate> \1/s"),
]
LINKED = ("scenarios", "tests", "examples", "reports")


def mask(text):
    for pattern, replacement in WALL_CLOCK:
        text = pattern.sub(replacement, text)
    return text


def blocks(lines):
    """(marker line index, command, first content line, end fence line, slow, indent) of every marked block."""
    out = []
    i = 0
    while i < len(lines):
        m = MARKER.match(lines[i])
        if m:
            fence = m.group(1) + "```"
            if i + 1 >= len(lines) or not lines[i + 1].startswith(fence):
                sys.exit("%s:%d: a marker must be right above a fenced block, indented as it is" % (README, i + 1))
            end = i + 2
            while end < len(lines) and not lines[end].startswith(fence):
                end += 1
            if end == len(lines):
                sys.exit("%s:%d: the block under this marker is never closed" % (README, i + 1))
            out.append((i, m.group(3), i + 2, end, bool(m.group(2)), m.group(1)))
            i = end
        i += 1
    return out


def run(command, binary, scratch):
    """What the command prints, run as the marker says."""
    bindir = os.path.join(scratch, ".bin")
    env = dict(os.environ, PATH=bindir + os.pathsep + os.environ.get("PATH", ""))
    # The machine running the suite may be a CI job: no shard of its own leaks in.
    for v in ("CI_NODE_INDEX", "CI_NODE_TOTAL", "CIRCLE_NODE_INDEX", "CIRCLE_NODE_TOTAL", "JOB_COMPLETION_INDEX",
              "BUILDKITE_PARALLEL_JOB", "BUILDKITE_PARALLEL_JOB_COUNT", "SLURM_ARRAY_TASK_ID", "SYNCSIM_CHECK_ARGS"):
        env.pop(v, None)
    r = subprocess.run(["bash", "-o", "pipefail", "-c", command + " || true"], cwd=scratch, env=env,
                       capture_output=True, text=True)
    return r.stdout


def main(argv):
    update = "--update" in argv
    slow = "--slow" in argv
    args = [a for a in argv if a not in ("--update", "--slow")]
    if len(args) != 1:
        sys.exit("usage: tests/readme.py [--update] [--slow] path/to/syncsim")
    binary = os.path.abspath(args[0])
    with open(README) as f:
        lines = f.read().split("\n")
    every = blocks(lines)
    if not every:
        sys.exit("%s: no marked output blocks" % README)
    found = [b for b in every if slow or not b[4]]
    left = len(every) - len(found)
    stale = []
    with tempfile.TemporaryDirectory() as scratch:
        os.mkdir(os.path.join(scratch, ".bin"))
        os.symlink(binary, os.path.join(scratch, ".bin", "syncsim"))
        os.makedirs(os.path.join(scratch, "build"))
        os.symlink(binary, os.path.join(scratch, "build", "syncsim"))   # commands written as build/syncsim
        for name in LINKED:
            os.symlink(os.path.abspath(name), os.path.join(scratch, name))
        # Later blocks replace earlier ones' line ranges: go from the last.
        for marker, command, start, end, _, indent in reversed(found):
            want = [indent + w if w else "" for w in run(command, binary, scratch).rstrip("\n").split("\n")]
            have = lines[start:end]
            if mask("\n".join(have)) != mask("\n".join(want)):
                stale.append((marker + 1, command, have, want))
                if update:
                    # A line that differs only in wall-clock figures keeps the README's: those were
                    # measured on a quiet machine, and this one may be busy.
                    lines[start:end] = [h if i < len(have) and mask(h := have[i]) == mask(w) else w
                                        for i, w in enumerate(want)]
    if update:
        with open(README, "w") as f:
            f.write("\n".join(lines))
        for line, command, _, _ in sorted(stale):
            print("%s:%d: updated the output of: %s" % (README, line, command))
        print("%s: %d of %d marked blocks updated" % (README, len(stale), len(found)))
        return 0
    for line, command, have, want in sorted(stale):
        print("%s:%d: the block differs from what `%s` prints now:" % (README, line, command))
        for d in difflib.unified_diff(have, want, "README.md", "syncsim", lineterm="", n=1):
            print("  " + d)
    if stale:
        print("%d of %d README output blocks are stale; regenerate them: /usr/bin/python3 tests/readme.py --update %s"
              % (len(stale), len(found), args[0]))
        return 1
    print("README: %d marked output blocks match what the binary prints%s"
          % (len(found), "; %d slow ones not checked (make readme checks them)" % left if left else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
