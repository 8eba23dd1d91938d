#!/usr/bin/python3
"""syncsim benchmark: prints the figures the performance targets (README: Benchmarks) name.

Usage: tests/bench/bench.py BUILD_DIR [--quick]
  (make bench runs it on build-release; run from the source root)

Figures, each with its target:
  sweep      seeds per second sweeping tests/bench/two-devices.yaml with 2
             workers (target: >= 200 seeds/s on 2 cores)
  week-100   wall time of tests/bench/week-100.yaml (target: <= 5 s, one core)
  per-write  wall time per user write in week-100 against the bare SQLite
             statements the write needs (target: within 3x)
  linearity  10x devices and 10x simulated time against a base run
             (target: at most ~11x the wall time)
  memory     peak resident memory of a 1,000-device run (target: < 1 GiB)
  engines    seeds per second of one small swarm (the conformance corpus's
             level-5 swarm) under Yjs, Automerge and PouchDB through their
             adapters, beside the built-in reference
  boundary   the built-in engine through `syncsim node` (the node protocol,
             one process per replica) against in process on the same
             scenario (target: at most 3x slower), and requests per second
             through the boundary

This is a benchmark, not a test: it reports, it does not assert. It times
child processes from outside (wall clock and getrusage), so nothing in the
simulator reads a clock for it.
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time

# What one user write costs in SQLite statements, counted from engine/:
# on the writing device the record read, the record upsert and the outbox
# insert (3); on the server the idempotency-key lookup, the record read and
# upsert, the change-log insert, the idempotency-key insert and three meta
# updates (8; the meta updates are per batch, counted per write to stay
# conservative); back on the writer the outbox delete, the pending check
# and the adoption of the server's copy, a read and an upsert (4); on each
# of the user's three other devices the pending check and the read and
# upsert of the pulled record (3 each). 3 + 8 + 4 + 3*3 = 24.
STATEMENTS_PER_WRITE = 24

# CPU seconds of the last run() (user + system, with the processes it waited for).
LAST_CPU_S = 0.0


def run(argv):
    """Run argv; return (wall seconds, peak RSS of that child in KiB, CompletedProcess)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.monotonic()
        child = subprocess.Popen(argv, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.monotonic() - t0
        global LAST_CPU_S
        LAST_CPU_S = usage.ru_utime + usage.ru_stime   # includes the children it reaped
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        proc = subprocess.CompletedProcess(argv, child.returncode, out.read(), err.read())
    return wall, usage.ru_maxrss, proc


def die(msg):
    print("bench: " + msg, file=sys.stderr)
    sys.exit(1)


def variant(src, dst, **subst):
    """Copy the scenario src to dst with 'key: value' lines of the workload replaced."""
    text = open(src).read()
    for key, value in subst.items():
        text, n = re.subn(r"(?m)^(\s+%s:) .*$" % key, r"\1 %s" % value, text, count=1)
        if n != 1:
            die("%s has no '%s:' line to vary" % (src, key))
    with open(dst, "w") as f:
        f.write(text)
    return dst


def sim_run(binary, scenario, tmp, extra=()):
    out = os.path.join(tmp, "result.json")
    wall, rss, proc = run([binary, "run", scenario, "--json", out] + list(extra))
    if proc.returncode not in (0, 1):
        die("%s run %s: exit %d\n%s" % (binary, scenario, proc.returncode, proc.stderr[-2000:]))
    with open(out) as f:
        metrics = json.load(f)["metrics"]
    return wall, rss, metrics


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    quick = "--quick" in sys.argv
    if len(args) != 1:
        die("usage: tests/bench/bench.py BUILD_DIR [--quick]")
    build = args[0]
    binary = os.path.join(build, "syncsim")
    inserts = os.path.join(build, "tests", "bench", "sqlite-inserts")
    for path in (binary, inserts):
        if not os.access(path, os.X_OK):
            die("%s is not built (make bench builds it)" % path)
    print("syncsim benchmark on %s, %d cores%s" % (os.uname().nodename, os.cpu_count() or 0,
                                                   " (quick)" if quick else ""))
    with tempfile.TemporaryDirectory() as tmp:
        # Bare SQLite.
        _, _, proc = run([inserts, "200000" if quick else "1000000"])
        fig = dict(line.split() for line in proc.stdout.splitlines())
        insert_ns = float(fig["insert_ns"])
        print("sqlite     %10.0f single-row inserts/s in one transaction (%.0f ns each)"
              % (float(fig["inserts_per_s"]), insert_ns))

        # Sweep rate.
        seeds = 500 if quick else 2000
        db = os.path.join(tmp, "sweep.sqlite")
        wall, _, proc = run([binary, "sweep", "tests/bench/two-devices.yaml", "--seeds", "1..%d" % seeds,
                             "-j", "2", "--db", db])
        if proc.returncode != 0:
            die("sweep failed (exit %d):\n%s" % (proc.returncode, proc.stdout[-2000:]))
        print("sweep      %10.0f seeds/s    two-devices, %d seeds, 2 workers, %.1f s   (target >= 200)"
              % (seeds / wall, seeds, wall))

        # week-100 and the cost of one write.
        week = "tests/bench/week-100.yaml"
        if quick:
            week = variant(week, os.path.join(tmp, "day-100.yaml"), duration="1d")
        wall, rss, m = sim_run(binary, week, tmp)
        writes = m["writes"]
        per_write_us = wall * 1e6 / max(writes, 1)
        bare_us = STATEMENTS_PER_WRITE * insert_ns / 1000.0
        print("week-100   %10.1f s          %s, %d writes, %d messages, %.0f MiB peak   (target <= 5 s)"
              % (wall, "1 day (quick)" if quick else "7 days", writes, m["messages"], rss / 1024))
        print("per-write  %10.1f us         against %d bare statements = %.1f us: %.1fx   (target <= 3x)"
              % (per_write_us, STATEMENTS_PER_WRITE, bare_us, per_write_us / bare_us))

        # Linearity: 10x devices, 10x simulated time.
        base_users, base_hours = (2, 2) if quick else (3, 6)
        cases = [("base", base_users, base_hours),
                 ("10x devices", base_users * 10, base_hours),
                 ("10x time", base_users, base_hours * 10)]
        walls = {}
        for label, users, hours in cases:
            path = variant("tests/bench/week-100.yaml", os.path.join(tmp, "lin.yaml"),
                           users=users, duration="%dh" % hours)
            wall, _, m = sim_run(binary, path, tmp)
            walls[label] = wall
            ratio = "" if label == "base" else "%5.1fx the base   (target <= ~11x)" % (wall / walls["base"])
            print("linearity  %10.2f s          %-12s %3d devices, %3d h, %6d writes  %s"
                  % (wall, label, users * 4, hours, m["writes"], ratio))

        # Memory at 1,000 devices.
        path = variant("tests/bench/week-100.yaml", os.path.join(tmp, "k.yaml"), users=250,
                       duration="30m" if quick else "2h")
        wall, rss, m = sim_run(binary, path, tmp)
        print("memory     %10.0f MiB        1000 devices, %s, %d writes, %.1f s   (target < 1024 MiB)"
              % (rss / 1024, "30m" if quick else "2h", m["writes"], wall))

        # The node protocol's cost: the same run in process and through `syncsim node`. A node keeps
        # its store in a file (it must survive the process), so the fair baseline is the run in process
        # with file stores too (--store-dir); the in-memory run is printed beside it. CPU seconds
        # (syncsim and every node process it reaped) are what a loaded machine does not distort.
        path = variant("tests/bench/week-100.yaml", os.path.join(tmp, "boundary.yaml"), users=2,
                       duration="6h" if quick else "2d")
        stores = os.path.join(tmp, "stores")
        os.makedirs(stores, exist_ok=True)
        inmem, _, m_in = sim_run(binary, path, tmp)
        inmem_cpu = LAST_CPU_S
        infile, _, _ = sim_run(binary, path, tmp, ["--store-dir", stores])
        infile_cpu = LAST_CPU_S
        node_cmd = "%s node --profile %s" % (binary, path)
        through, _, m_node = sim_run(binary, path, tmp, ["--node", node_cmd])
        through_cpu = LAST_CPU_S
        if m_in["events"] != m_node["events"] or m_in["writes"] != m_node["writes"]:
            die("the run through syncsim node differs from the run in process")
        calls = m_node["node_calls"]
        print("boundary   %10.2f s          through syncsim node: 8 devices, %s, %d requests; CPU %.1fx in process"
              " with file stores (%.2f s), %.1fx in memory (%.2f s)   (target <= 3x)"
              % (through, "6 h" if quick else "2 days", calls, through_cpu / infile_cpu, infile,
                 through_cpu / inmem_cpu, inmem))
        print("boundary   %10.0f requests/s through the protocol (%.0f per CPU second)"
              % (calls / through, calls / through_cpu))

        # Real engines through their adapters, on one small swarm, beside the built-in reference.
        seeds = 4 if quick else 16
        swarm = "scenarios/conformance/level-5/swarm.yaml"
        rates = {}
        for profile in ("reference", "yjs", "automerge", "pouchdb"):
            db = os.path.join(tmp, "engine-%s.sqlite" % profile)
            wall, _, proc = run([binary, "sweep", swarm, "--seeds", "1..%d" % seeds, "-j", "2", "--db", db,
                                 "--profile", profile])
            if proc.returncode not in (0, 1):
                die("sweep under %s failed (exit %d):\n%s" % (profile, proc.returncode, proc.stdout[-2000:]))
            rates[profile] = seeds / wall
        print("engines    %10.2f seeds/s    yjs, %.2f automerge, %.2f pouchdb; %.1f the built-in reference"
              "   (%s, %d seeds, 2 workers)"
              % (rates["yjs"], rates["automerge"], rates["pouchdb"], rates["reference"], swarm, seeds))

        # Sweeps through the boundary: node processes reused across seeds (reset) or started afresh.
        seeds = 100 if quick else 400
        rates = {}
        for label, extra in (("in process", []),
                             ("reused", ["--node", "%s node --profile tests/bench/two-devices.yaml" % binary]),
                             ("fresh", ["--node", "%s node --profile tests/bench/two-devices.yaml" % binary,
                                        "--fresh-nodes"])):
            db = os.path.join(tmp, "nodes-%s.sqlite" % label.replace(" ", "-"))
            wall, _, proc = run([binary, "sweep", "tests/bench/two-devices.yaml", "--seeds", "1..%d" % seeds,
                                 "-j", "2", "--db", db] + extra)
            if proc.returncode != 0:
                die("sweep %s failed (exit %d):\n%s" % (label, proc.returncode, proc.stdout[-2000:]))
            rates[label] = seeds / wall
        print("boundary   %10.0f seeds/s    two-devices through syncsim node, processes reused (reset); %.0f with"
              " fresh processes per seed; %.0f in process"
              % (rates["reused"], rates["fresh"], rates["in process"]))


if __name__ == "__main__":
    main()
