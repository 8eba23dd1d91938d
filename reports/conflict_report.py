#!/usr/bin/python3
"""Conflict-rate report of a syncsim grid: how often each sync design
conflicts, and how many writes it silently overwrites or loses, as the
number of devices, the time spent offline and the clock skew change.

    syncsim grid scenarios/grids/compare-designs.yaml --db results.sqlite -j 2
    /usr/bin/python3 reports/conflict_report.py results.sqlite -o report/ [--grid NAME]
                                               [--main-png docs/compare-designs.png | --tables-only]

It reads the results database `syncsim grid` writes (tables runs, grids and
grid_cells; see cli/results.h) and writes into the output directory:

  report.html  one self-contained page: plots embedded as SVG data URIs (no
               network, no JavaScript), a summary table per profile, one row
               per grid cell, and these methods
  summary.md   the same tables in Markdown, for a CI job summary
  cells.csv    one row per grid cell: every metric with its 95% interval

--main-png also saves the main figure (conflict rate against offline span,
silent overwrites and lost updates against clock skew) as a PNG. --tables-only
writes summary.md and cells.csv alone, without matplotlib (a CI job that only
posts the Markdown summary).

Each cell ran one world per seed; a seed is the unit of replication, and
every row says how many seeds it stands on. Intervals are 95%:

  * Rates per 1,000 writes (conflicts, false conflicts -- a detection that
    fired though only one side changed the field --, silent overwrites, lost updates, skew
    inversions, session anomalies -- read-your-writes, monotonic-reads,
    causal-visibility and order-anomaly episodes together -- and every
    violation class): the point estimate is the pooled ratio
    1000 * sum(count) / sum(writes) over the seeds, and its interval the
    Wilson score interval of count out of writes. It stays within 0 and
    1,000 and is not degenerate at 0: a cell with no event still gets an
    upper bound. It takes writes as independent trials; seeds that differ a
    lot make the true uncertainty wider than it says. A count larger than the
    writes (a write can conflict more than once) gets the exact Poisson
    interval of the count instead.
  * Per-run counts (retries, writes refused, writes given up, sync rounds,
    messages, bytes): the mean per run with the exact Poisson (Garwood)
    interval of the total count, divided by the runs: never below zero, and
    an upper bound even when nothing happened. The mean queue depth is not
    a count: mean +- t(0.975, n-1) * s / sqrt(n), clipped at 0.
  * A figure with no events reads "0 (n = ...)": zero out of how many writes
    or runs, rather than an interval of zero width.
  * Session anomaly time visible: how long a device showed a session
    anomaly, in seconds per anomaly (true time from the state that began it
    to the one that ended it; one still shown at the end counts to the run's
    end). The point estimate is the pooled mean sum(seconds) / sum(anomalies)
    over the seeds; its interval the ratio estimator's,
    mean +- t(0.975, n-1) * sqrt(sum((seconds - mean * anomalies)^2) / (n-1) / n)
    / (anomalies per run), over the n runs, clipped at 0: a run is the unit
    of replication, since one run's anomalies share its network. Runs
    recorded before the time was kept (no session_visible_us in their
    metrics) are left out of it ("n/a" when no run has it); "(k of n runs)"
    says so when some were.
  * Failing-seed fraction (seeds with a violation the profile does not
    accept, a crash or bad input): Wilson score interval.
  * Time to converge (from the final heal to quiescence): the median and 95th
    percentile over the seeds that converged (linear interpolation between
    order statistics); seeds that did not converge are counted separately.

Plots pool the cells of a profile that share the plotted axis's value over
the grid's other axes; the pooled interval treats those runs as one sample,
which is conservative (it includes the variation between the pooled cells).

Targets appear only when the grid file asks for them (targets: conflicts:,
lost:, source:, stored in the grid_targets table): the report then draws them
as reference lines labelled with their source, and says per profile whether
its interval is below (met), above (missed) or across (unclear) each. The
shipped compare-designs grid quotes seed 004 (delta-sync), which states under
Monitoring "Conflict rate (target: <5%)" and "Error rate (target: <1%)"
without a denominator; it reads them per write, an error as a write silently
overwritten or lost.

Bad or empty input (a missing file, not SQLite, no grid tables, no runs, a
grid name that is not there, an output directory that cannot be written)
prints one line on stderr and exits 2.

Needs Python 3 and matplotlib; started by another Python without matplotlib,
it re-runs itself with Debian's /usr/bin/python3 (apt-get install
python3-matplotlib; `make test` and `make report` install it).
"""

import os
import sys

DEBIAN_PYTHON = "/usr/bin/python3"
EXIT_BAD_INPUT = 2


def _import_matplotlib():
    """matplotlib with the Agg backend, or re-exec under Debian's Python, which has it."""
    try:
        import matplotlib
    except ImportError:
        if os.path.realpath(sys.executable) != os.path.realpath(DEBIAN_PYTHON) and os.path.exists(DEBIAN_PYTHON) \
                and not os.environ.get("SYNCSIM_REPORT_REEXEC"):
            os.environ["SYNCSIM_REPORT_REEXEC"] = "1"
            os.execv(DEBIAN_PYTHON, [DEBIAN_PYTHON, os.path.abspath(__file__)] + sys.argv[1:])
        fail("matplotlib is missing: apt-get install python3-matplotlib, and run this with %s" % DEBIAN_PYTHON)
    matplotlib.use("Agg")
    matplotlib.rcParams["svg.hashsalt"] = "syncsim"   # stable ids: the same data gives the same SVG
    matplotlib.rcParams["svg.fonttype"] = "path"       # text as paths: no font needed to view it
    import matplotlib.pyplot as plt
    return plt


import argparse  # noqa: E402  (after the matplotlib check, which may re-exec)
import base64  # noqa: E402
import csv  # noqa: E402
import html  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import re  # noqa: E402
import sqlite3  # noqa: E402

PROG = "conflict_report"


class BadInput(Exception):
    """The user's input cannot make a report; the message says why, in one line."""


def fail(message):
    sys.stderr.write("%s: %s\n" % (PROG, message))
    sys.exit(EXIT_BAD_INPUT)


# --- statistics -------------------------------------------------------------------------

Z_975 = 1.959963984540054   # standard normal 0.975 quantile


def t_two_sided_mass(t, df):
    """P(|T| < t) for Student's t with integer df >= 1 (Abramowitz & Stegun 26.7.3-4)."""
    theta = math.atan(t / math.sqrt(df))
    c2 = math.cos(theta) ** 2
    s = math.sin(theta)
    if df % 2 == 1:
        total, term = 0.0, 1.0
        if df > 1:
            total = 1.0
            for k in range(1, (df - 3) // 2 + 1):
                term *= c2 * (2 * k) / (2 * k + 1)
                total += term
            total *= s * math.cos(theta)
        return 2.0 / math.pi * (theta + total)
    total, term = 1.0, 1.0
    for k in range(1, (df - 2) // 2 + 1):
        term *= c2 * (2 * k - 1) / (2 * k)
        total += term
    return s * total


_T_CACHE = {}


def t_975(df):
    """The 0.975 quantile of Student's t with df degrees of freedom, by bisection on the exact CDF."""
    if df in _T_CACHE:
        return _T_CACHE[df]
    if df > 2000:
        return Z_975
    lo, hi = 0.0, 100.0
    for _ in range(80):
        mid = (lo + hi) / 2
        if t_two_sided_mass(mid, df) < 0.95:
            lo = mid
        else:
            hi = mid
    _T_CACHE[df] = (lo + hi) / 2
    return _T_CACHE[df]


def _gamma_p(a, x):
    """The regularized lower incomplete gamma function P(a, x), a > 0 (Numerical Recipes' series and fraction)."""
    if x <= 0:
        return 0.0
    log_front = a * math.log(x) - x - math.lgamma(a)
    if x < a + 1:
        term = total = 1.0 / a
        k = a
        for _ in range(10000):
            k += 1
            term *= x / k
            total += term
            if abs(term) < abs(total) * 1e-15:
                break
        return total * math.exp(log_front)
    # Lentz's continued fraction for Q(a, x)
    tiny = 1e-300
    b = x + 1 - a
    c = 1 / tiny
    d = 1 / b
    h = d
    for i in range(1, 10000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < 1e-15:
            break
    return 1.0 - math.exp(log_front) * h


def _solve_mean(f, target, guess):
    """The Poisson mean m where the increasing function f(m) reaches target, by bisection from
    [0, guess] (doubled until it brackets) until the interval is two adjacent doubles: each
    f(m) costs up to sqrt(m) terms, so a large grid's intervals must not take 200 steps each."""
    lo, hi = 0.0, max(1.0, guess)
    while f(hi) < target:
        lo, hi = hi, hi * 2
    while True:
        mid = (lo + hi) / 2
        if mid <= lo or mid >= hi:
            break
        if f(mid) < target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


_GARWOOD_CACHE = {}


def garwood(count):
    """Exact (Garwood) 95% interval of a Poisson mean from one observed count: (lo, hi), lo 0 for a count of 0."""
    k = int(round(count))
    if k not in _GARWOOD_CACHE:
        _GARWOOD_CACHE[k] = _garwood(k)
    return _GARWOOD_CACHE[k]


def _garwood(k):
    # The mean is within k +- 4 sqrt(k) + 8 for a 95% interval: bracket it there.
    guess = k + 4 * math.sqrt(k) + 8
    # lo: P(X >= k | lo) = 0.025, i.e. P(k, lo) = 0.025; hi: P(X <= k | hi) = 0.025, i.e. P(k + 1, hi) = 0.975.
    lo = 0.0 if k == 0 else _solve_mean(lambda m: _gamma_p(k, m), 0.025, guess)
    hi = _solve_mean(lambda m: _gamma_p(k + 1, m), 0.975, guess)
    return lo, hi


def rate_interval(counts, writes):
    """Pooled rate per 1,000 writes, (rate, lo, hi): Wilson's interval of count out of writes; None when no writes."""
    total_writes = sum(writes)
    total = sum(counts)
    if not counts or total_writes <= 0:
        return None, None, None
    if total > total_writes:   # more events than writes: not a proportion, a Poisson count
        lo, hi = garwood(total)
        return 1000.0 * total / total_writes, 1000.0 * lo / total_writes, 1000.0 * hi / total_writes
    p, lo, hi = wilson(total, total_writes)
    return 1000.0 * p, 1000.0 * lo, 1000.0 * hi


def count_interval(values):
    """Mean count per run with the Garwood interval of the total, per run: (mean, lo, hi)."""
    n = len(values)
    if n == 0:
        return None, None, None
    total = sum(values)
    lo, hi = garwood(total)
    return total / n, lo / n, hi / n


def mean_interval(values):
    """Mean with a t-interval: (mean, lo, hi)."""
    n = len(values)
    if n == 0:
        return None, None, None
    mean = sum(values) / n
    if n < 2:
        return mean, None, None
    var = sum((v - mean) ** 2 for v in values) / (n - 1)
    half = t_975(n - 1) * math.sqrt(var / n)
    return mean, max(0.0, mean - half), mean + half   # the figures it is used for are never negative


def ratio_interval(numerators, denominators):
    """Pooled ratio sum(num) / sum(den) over runs with the ratio estimator's t-interval, clipped at 0:
    (ratio, lo, hi); None when the denominators sum to 0, no interval from one run."""
    n = len(numerators)
    total = sum(denominators)
    if n == 0 or total <= 0:
        return None, None, None
    ratio = sum(numerators) / total
    if n < 2:
        return ratio, None, None
    residuals = sum((y - ratio * x) ** 2 for y, x in zip(numerators, denominators)) / (n - 1)
    half = t_975(n - 1) * math.sqrt(residuals / n) / (total / n)
    return ratio, max(0.0, ratio - half), ratio + half


def wilson(successes, n):
    """Wilson score interval for a proportion: (p, lo, hi)."""
    if n == 0:
        return None, None, None
    p = successes / n
    z2 = Z_975 * Z_975
    denom = 1 + z2 / n
    center = (p + z2 / (2 * n)) / denom
    half = Z_975 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    # At 0 (or n) the bound is exactly 0 (or 1); rounding would leave a hair's width.
    lo = 0.0 if successes == 0 else max(0.0, center - half)
    hi = 1.0 if successes == n else min(1.0, center + half)
    return p, lo, hi


def percentile(values, q):
    """Linear interpolation between order statistics (Hyndman and Fan's type 7)."""
    if not values:
        return None
    xs = sorted(values)
    h = (len(xs) - 1) * q
    lo = int(math.floor(h))
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (h - lo) * (xs[hi] - xs[lo])


# --- reading the database -----------------------------------------------------------------

CLASSES = ["superseded", "overwritten-concurrent", "silent-overwrite", "lost-update", "undelivered", "resurrection",
           "duplicate", "counter-drift", "order-divergence", "dangling-ref", "tenant-leak", "divergence",
           "no-quiescence", "skew-inversion", "read-your-writes", "monotonic-reads", "causal-visibility",
           "order-anomaly"]
# The session guarantees, judged through the run from what each device showed (README: What is checked).
SESSION_CLASSES = ["read-your-writes", "monotonic-reads", "causal-visibility", "order-anomaly"]
# Per-run metrics averaged over seeds, with their CSV names.
PER_RUN = [("writes", "writes_per_run"), ("writes_refused", "writes_refused_per_run"), ("retries", "retries_per_run"),
           ("gave_up", "gave_up_per_run"), ("sync_rounds", "sync_rounds_per_run"),
           ("messages", "messages_per_run"), ("bytes", "bytes_per_run"), ("queue_depth_mean", "queue_depth_mean")]
# Per-run metrics that are not counts of events (a mean depth): a t-interval, not a Poisson one.
NOT_COUNTS = {"queue_depth_mean"}
AXIS_TITLES = {
    "profile": "profile",
    "devices_per_user": "devices per user",
    "offline_mean": "mean offline span",
    "skew_max": "clock skew spread (offsets uniform in \u00b1max)",
    "writes_per_hour": "writes per device-hour",
    "zipf_s": "hot-key skew (Zipf s; 0 = uniform)",
}


class Run:
    """One seed of one cell."""

    def __init__(self, seed, outcome, exit_code, metrics):
        self.seed = seed
        self.outcome = outcome
        self.exit_code = exit_code
        self.metrics = metrics
        self.measured = isinstance(metrics.get("writes"), (int, float))

    def number(self, key):
        v = self.metrics.get(key)
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else 0.0

    def class_count(self, name):
        classes = self.metrics.get("classes")
        v = classes.get(name) if isinstance(classes, dict) else None
        return float(v) if isinstance(v, (int, float)) else 0.0

    @property
    def session_timed(self):
        """Whether the run recorded how long its session anomalies were visible (newer databases)."""
        return isinstance(self.metrics.get("session_visible_us"), dict)

    def session_visible_s(self):
        visible = self.metrics.get("session_visible_us")
        return sum(float(visible.get(c, 0)) for c in SESSION_CLASSES
                   if isinstance(visible.get(c, 0), (int, float))) / 1e6


class Stats:
    """Every figure of a set of runs (one cell, or cells pooled)."""

    def __init__(self, runs):
        self.runs = runs
        measured = [r for r in runs if r.measured]
        self.seeds = len(runs)
        self.measured = len(measured)
        writes = [r.number("writes") for r in measured]
        self.writes = sum(writes)
        self.conflicts = sum(r.number("conflicts") for r in measured)
        self.conflict_rate = rate_interval([r.number("conflicts") for r in measured], writes)
        self.class_totals = {c: sum(r.class_count(c) for r in measured) for c in CLASSES}
        self.class_rates = {c: rate_interval([r.class_count(c) for r in measured], writes) for c in CLASSES}
        self.lost_rate = rate_interval(
            [r.class_count("silent-overwrite") + r.class_count("lost-update") for r in measured], writes)
        # Runs recorded before conflicts were told true from false have neither key: they count 0.
        self.false_conflict_rate = rate_interval([r.number("conflicts_false") for r in measured], writes)
        self.session_rate = rate_interval(
            [sum(r.class_count(c) for c in SESSION_CLASSES) for r in measured], writes)
        # Seconds visible per session anomaly, over the runs that recorded it.
        timed = [r for r in measured if r.session_timed]
        self.session_timed = len(timed)
        self.session_timed_anomalies = sum(sum(r.class_count(c) for c in SESSION_CLASSES) for r in timed)
        self.session_visible = ratio_interval([r.session_visible_s() for r in timed],
                                              [sum(r.class_count(c) for c in SESSION_CLASSES) for r in timed])
        self.failing = sum(1 for r in runs if r.exit_code != 0)
        self.failing_fraction = wilson(self.failing, self.seeds)
        converged = [r.number("time_to_converge_us") / 1e6 for r in measured
                     if isinstance(r.metrics.get("time_to_converge_us"), (int, float))]
        self.not_converged = self.measured - len(converged)
        self.ttc_median = percentile(converged, 0.5)
        self.ttc_p95 = percentile(converged, 0.95)
        self.per_run = {key: (mean_interval if key in NOT_COUNTS else count_interval)([r.number(key) for r in measured])
                        for key, _ in PER_RUN}
        self.queue_depth_max = max((r.number("queue_depth_max") for r in measured), default=None)


class Cell:
    def __init__(self, index, params, values, labels, runs):
        self.index = index
        self.params = params
        self.values = values    # axis key -> value (profile name for "profile")
        self.labels = labels    # axis key -> label as written in the grid file
        self.stats = Stats(runs)


class Grid:
    def __init__(self, name, file, scenario_file, description, seeds_lo, seeds_hi, axes, cells, db_path,
                 targets=None):
        self.targets = targets    # None, or {"conflicts", "lost": per 1,000 writes or None, "source"}
        self.name = name
        self.file = file
        self.scenario_file = scenario_file
        self.description = description
        self.seeds_lo = seeds_lo
        self.seeds_hi = seeds_hi
        self.axes = axes          # [{"key", "axis", "values", "labels"}], profile first
        self.cells = cells
        self.db_path = db_path

    @property
    def profiles(self):
        return self.axes[0]["values"]

    def axis_names(self):
        return [a["axis"] for a in self.axes[1:]]

    def axis(self, name):
        for a in self.axes[1:]:
            if a["axis"] == name:
                return a
        return None


def open_database(path):
    if not os.path.exists(path):
        raise BadInput("%s: no such file" % path)
    if not os.path.isfile(path):
        raise BadInput("%s: not a file" % path)
    try:
        db = sqlite3.connect("file:%s?mode=ro" % _uri_path(path), uri=True)
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as e:
        raise BadInput("%s: not a syncsim results database (%s)" % (path, e))
    if "runs" not in tables:
        raise BadInput("%s: no runs table; it is not a syncsim results database" % path)
    if "grids" not in tables or "grid_cells" not in tables:
        raise BadInput("%s: holds no grid (only sweeps); run `syncsim grid FILE --db %s` first" % (path, path))
    return db


def _uri_path(path):
    return re.sub(r"[?#%]", lambda m: "%%%02X" % ord(m.group(0)), os.path.abspath(path))


def load_grid(path, grid_name):
    db = open_database(path)
    try:
        grids = db.execute("SELECT name, file, scenario_file, description, seeds_lo, seeds_hi, axes FROM grids"
                           " ORDER BY name").fetchall()
        if not grids:
            raise BadInput("%s: holds no grid; run `syncsim grid FILE --db %s` first" % (path, path))
        names = [g[0] for g in grids]
        if grid_name is None:
            if len(grids) > 1:
                raise BadInput("%s holds %d grids (%s); choose one with --grid NAME"
                               % (path, len(grids), ", ".join(names)))
            row = grids[0]
        else:
            matches = [g for g in grids if g[0] == grid_name]
            if not matches:
                raise BadInput("%s: no grid named '%s'; it holds: %s" % (path, grid_name, ", ".join(names)))
            row = matches[0]
        name, file, scenario_file, description, seeds_lo, seeds_hi, axes_text = row
        try:
            axes = json.loads(axes_text)
            assert isinstance(axes, list) and axes and axes[0]["key"] == "profile"
            for a in axes[1:]:
                assert len(a["values"]) == len(a["labels"]) and a["axis"] in AXIS_TITLES
        except (ValueError, KeyError, TypeError, AssertionError):
            raise BadInput("%s: grid '%s' has an unreadable axes description" % (path, name))
        cells = []
        query = ("SELECT seed, outcome, exit_code, metrics FROM runs WHERE scenario = ? AND params = ? AND strict = 0"
                 " AND seed BETWEEN ? AND ? ORDER BY seed")
        for index, scenario, params_text in db.execute(
                "SELECT cell, scenario, params FROM grid_cells WHERE grid = ? ORDER BY cell", (name,)).fetchall():
            try:
                params = json.loads(params_text)
                assert isinstance(params, dict)
            except (ValueError, AssertionError):
                raise BadInput("%s: grid '%s' cell %d has unreadable params" % (path, name, index))
            values, labels = {}, {}
            values["profile"] = labels["profile"] = params.get("profile", "?")
            for a in axes[1:]:
                v = params.get(a["key"])
                values[a["axis"]] = v
                labels[a["axis"]] = a["labels"][a["values"].index(v)] if v in a["values"] else str(v)
            runs = []
            for seed, outcome, exit_code, metrics_text in db.execute(query, (scenario, params_text, seeds_lo,
                                                                              seeds_hi)):
                try:
                    metrics = json.loads(metrics_text)
                    assert isinstance(metrics, dict)
                except (ValueError, AssertionError):
                    raise BadInput("%s: the metrics of grid '%s' cell %d seed %d are not a JSON object"
                                   % (path, name, index, seed))
                runs.append(Run(seed, outcome, exit_code, metrics))
            cells.append(Cell(index, params, values, labels, runs))
        targets = None
        has_targets = db.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'"
                                 " AND name = 'grid_targets'").fetchone()[0]
        row = db.execute("SELECT conflicts_per_write, lost_per_write, source FROM grid_targets WHERE grid = ?",
                         (name,)).fetchone() if has_targets else None
        if row:
            targets = {"conflicts": None if row[0] is None else 1000.0 * row[0],
                       "lost": None if row[1] is None else 1000.0 * row[1],
                       "source": row[2] or "the grid's targets"}
    except sqlite3.DatabaseError as e:
        raise BadInput("%s: cannot read the grid tables (%s)" % (path, e))
    finally:
        db.close()
    if not cells:
        raise BadInput("%s: grid '%s' has no cells" % (path, name))
    if sum(c.stats.seeds for c in cells) == 0:
        raise BadInput("%s: grid '%s' has no runs yet; run `syncsim grid %s --db %s`" % (path, name, file, path))
    return Grid(name, file, scenario_file, description, seeds_lo, seeds_hi, axes, cells, path, targets)


# --- formatting ---------------------------------------------------------------------------

def fmt(v, digits=1):
    if v is None:
        return "\u2014"
    return "%.*f" % (digits, v)


def fmt_ci(triple, digits=1, scale=1.0, n=None):
    """'v [lo, hi]'; a zero with no events, out of n writes or runs, reads '0 (n = ...)'."""
    v, lo, hi = triple
    if v is None:
        return "\u2014"
    if v == 0 and n is not None:
        return "0 (n = %s)" % n
    if lo is None:
        return "%.*f" % (digits, v * scale)
    return "%.*f [%.*f, %.*f]" % (digits, v * scale, digits, lo * scale, digits, hi * scale)


def fmt_seconds(s):
    if s is None:
        return "\u2014"
    if s >= 3600:
        return "%.1fh" % (s / 3600)
    if s >= 60:
        return "%.1fm" % (s / 60)
    return "%.1fs" % s


def target_check(triple, target):
    """'met' when the whole interval is below the target, 'missed' when above, else 'unclear'."""
    v, lo, hi = triple
    if v is None or target is None:
        return "\u2014"
    if lo is None:
        return "met" if v < target else "missed"
    if hi < target:
        return "met"
    if lo >= target:
        return "missed"
    return "unclear"


def fmt_session_visible(s):
    """Seconds visible per session anomaly: 'v [lo, hi]', 'no anomaly (n = ... runs)', or 'n/a' for old runs."""
    if s.session_timed == 0:
        return "n/a"
    some = "" if s.session_timed == s.measured else " (%d of %d runs)" % (s.session_timed, s.measured)
    if s.session_timed_anomalies == 0:
        of = "" if s.session_timed == s.measured else " of %d" % s.measured
        return "no anomaly (n = %d%s run%s)" % (s.session_timed, of, "" if s.session_timed + len(of) == 1 else "s")
    return fmt_ci(s.session_visible) + some


def writes_n(s):
    return "{:,} writes".format(int(s.writes))


def runs_n(s):
    return "%d run%s" % (s.measured, "" if s.measured == 1 else "s")


def summary_columns(grid):
    """(title, function of Stats) for the tables, in order; a targets column only when the grid has targets."""
    columns = [
        ("seeds", lambda s: str(s.seeds) if s.measured == s.seeds else "%d (%d measured)" % (s.seeds, s.measured)),
        ("writes", lambda s: "%d" % s.writes),
        ("conflicts /1k writes", lambda s: fmt_ci(s.conflict_rate, n=writes_n(s))),
        ("false conflicts /1k writes", lambda s: fmt_ci(s.false_conflict_rate, n=writes_n(s))),
        ("silent overwrites /1k writes", lambda s: fmt_ci(s.class_rates["silent-overwrite"], n=writes_n(s))),
        ("lost updates /1k writes", lambda s: fmt_ci(s.class_rates["lost-update"], n=writes_n(s))),
        ("skew inversions /1k writes", lambda s: fmt_ci(s.class_rates["skew-inversion"], n=writes_n(s))),
        ("session anomalies /1k writes", lambda s: fmt_ci(s.session_rate, n=writes_n(s))),
        ("session anomaly s visible, mean per anomaly", fmt_session_visible),
        ("failing seeds %", lambda s: fmt_ci(s.failing_fraction, 0, 100.0, n="%d seeds" % s.seeds)),
        ("converge median / p95", lambda s: "%s / %s%s" % (fmt_seconds(s.ttc_median), fmt_seconds(s.ttc_p95),
                                                           ", %d never" % s.not_converged if s.not_converged else "")),
        ("retries /run", lambda s: fmt_ci(s.per_run["retries"], n=runs_n(s))),
        ("queue depth mean / max", lambda s: "%s / %s" % (fmt(s.per_run["queue_depth_mean"][0], 2),
                                                          fmt(s.queue_depth_max, 0))),
    ]
    t = grid.targets
    if t:
        columns.append(("targets: conflicts / lost",
                        lambda s: "%s / %s" % (target_check(s.conflict_rate, t["conflicts"]),
                                               target_check(s.lost_rate, t["lost"]))))
    return columns


def profile_stats(grid):
    out = []
    for p in grid.profiles:
        runs = [r for c in grid.cells if c.values["profile"] == p for r in c.stats.runs]
        out.append((p, Stats(runs)))
    return out


def print_profiles(grid):
    """The per-profile figures a reader compares first, pooled over every cell, as plain text."""
    header = ["PROFILE", "SEEDS", "WRITES", "CONFL/1kW", "SILENT/1kW", "LOST/1kW", "SKEWINV/1kW", "SESSION/1kW",
              "FAILING"]
    rows = []
    for p, st in profile_stats(grid):
        rows.append([p, "%d" % st.seeds, "%d" % st.writes, fmt(st.conflict_rate[0]),
                     fmt(st.class_rates["silent-overwrite"][0]), fmt(st.class_rates["lost-update"][0]),
                     fmt(st.class_rates["skew-inversion"][0]), fmt(st.session_rate[0]),
                     "%.0f%%" % (100.0 * st.failing_fraction[0]) if st.failing_fraction[0] is not None else fmt(None)])
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    for r in [header] + rows:
        print("  ".join(r[0].ljust(widths[0]) if i == 0 else r[i].rjust(widths[i]) for i in range(len(r))))


# --- cells.csv ----------------------------------------------------------------------------

def write_csv(grid, path):
    header = ["grid", "cell", "profile"]
    for a in grid.axes[1:]:
        header += [a["axis"], a["key"]]
    header += ["seeds", "seeds_measured", "writes", "conflicts", "conflicts_per_1000_writes",
               "conflicts_per_1000_writes_lo", "conflicts_per_1000_writes_hi"]
    for c in CLASSES:
        name = c.replace("-", "_")
        header += [name, name + "_per_1000_writes", name + "_per_1000_writes_lo", name + "_per_1000_writes_hi"]
    header += ["lost_writes_per_1000_writes", "lost_writes_per_1000_writes_lo", "lost_writes_per_1000_writes_hi",
               "failing_seeds", "failing_fraction", "failing_fraction_lo", "failing_fraction_hi",
               "not_converged", "time_to_converge_median_s", "time_to_converge_p95_s"]
    for _, name in PER_RUN:
        header += [name, name + "_lo", name + "_hi"]
    header += ["queue_depth_max", "session_visible_s_per_anomaly", "session_visible_s_per_anomaly_lo",
               "session_visible_s_per_anomaly_hi", "session_timed_runs"]

    def num(v):
        return "" if v is None else repr(round(v, 6)) if isinstance(v, float) else str(v)

    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        for cell in grid.cells:
            s = cell.stats
            row = [grid.name, cell.index, cell.values["profile"]]
            for a in grid.axes[1:]:
                row += [cell.labels[a["axis"]], cell.values[a["axis"]]]
            row += [s.seeds, s.measured, num(s.writes), num(s.conflicts)] + [num(x) for x in s.conflict_rate]
            for c in CLASSES:
                row += [num(s.class_totals[c])] + [num(x) for x in s.class_rates[c]]
            row += [num(x) for x in s.lost_rate]
            row += [s.failing] + [num(x) for x in s.failing_fraction]
            row += [s.not_converged, num(s.ttc_median), num(s.ttc_p95)]
            for key, _ in PER_RUN:
                row += [num(x) for x in s.per_run[key]]
            row += [num(s.queue_depth_max)] + [num(x) for x in s.session_visible] + [s.session_timed]
            w.writerow(row)


# --- plots --------------------------------------------------------------------------------

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
          "#17becf"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "<", ">", "*"]


def x_axis(grid, preferred):
    """The axis to plot against: the preferred one if the grid has it, else its first; None without axes."""
    if grid.axis(preferred):
        return grid.axis(preferred)
    return grid.axes[1] if len(grid.axes) > 1 else None


def series(grid, axis, stat):
    """Per profile: x positions, values and interval bounds, pooling cells over the other axes."""
    out = []
    xs = list(range(len(axis["values"]))) if axis else [0]
    for p in grid.profiles:
        ys, los, his = [], [], []
        for k in xs:
            runs = [r for c in grid.cells if c.values["profile"] == p
                    and (axis is None or c.values[axis["axis"]] == axis["values"][k]) for r in c.stats.runs]
            v, lo, hi = stat(Stats(runs))
            ys.append(v)
            los.append(lo if lo is not None else v)
            his.append(hi if hi is not None else v)
        out.append((p, xs, ys, los, his))
    return out


def draw(ax, grid, axis, stat, ylabel, target=None, target_label=None):
    n = len(grid.profiles)
    y_max = 0.0
    for i, (p, xs, ys, los, his) in enumerate(series(grid, axis, stat)):
        y_max = max([y_max] + [h for h in his if h is not None])
        # Nudge each profile sideways a little so error bars do not hide each other.
        offset = (i - (n - 1) / 2) * 0.06
        pts = [(x + offset, y, lo, hi) for x, y, lo, hi in zip(xs, ys, los, his) if y is not None]
        if not pts:
            continue
        px = [q[0] for q in pts]
        py = [q[1] for q in pts]
        # Rounding can put a bound a hair past its estimate (a Wilson bound at p = 0); bars are never negative.
        err = [[max(0.0, q[1] - q[2]) for q in pts], [max(0.0, q[3] - q[1]) for q in pts]]
        ax.errorbar(px, py, yerr=err, label=p, color=COLORS[i % len(COLORS)], marker=MARKERS[i % len(MARKERS)],
                    markersize=4, linewidth=1.4, capsize=2.5, elinewidth=0.9)
    if target is not None:
        ax.axhline(target, color="black", linestyle="--", linewidth=1.0, label=target_label)
        y_max = max(y_max, target)
    ax.set_xticks(list(range(len(axis["values"]))) if axis else [0])
    ax.set_xticklabels(axis["labels"] if axis else ["all cells"])
    ax.set_xlabel(AXIS_TITLES[axis["axis"]] if axis else "")
    ax.set_ylabel(ylabel)
    ax.set_ylim(0, y_max * 1.1 if y_max > 0 else 1.0)   # room above the highest bar, the target included
    ax.grid(True, axis="y", linewidth=0.4, alpha=0.6)


def conflicts_label(grid):
    t = grid.targets
    return "%s: conflict rate < %g%% (%g per 1,000 writes)" % (t["source"], t["conflicts"] / 10, t["conflicts"])


def error_label(grid):
    t = grid.targets
    return "%s: error rate < %g%%, read as writes lost (%g per 1,000 writes)" % (t["source"], t["lost"] / 10,
                                                                                 t["lost"])


def figures(grid, plt):
    """(name, title, caption, figure) for every plot, the main one first."""
    out = []
    offline = x_axis(grid, "offline_mean")
    skew = x_axis(grid, "skew_max")
    pooled = lambda axis: ("pooled over %s" % ", ".join(AXIS_TITLES[a] for a in grid.axis_names()
                                                       if not axis or a != axis["axis"])
                           if len(grid.axis_names()) > (1 if axis else 0) else "")

    # Reference lines only for the targets the grid file quotes.
    t = grid.targets or {}
    conflict_line = (t["conflicts"], conflicts_label(grid)) if t.get("conflicts") is not None else (None, None)
    lost_line = (t["lost"], error_label(grid)) if t.get("lost") is not None else (None, None)
    fig, axs = plt.subplots(1, 3, figsize=(16, 4.8))
    draw(axs[0], grid, offline, lambda s: s.conflict_rate, "conflicts per 1,000 writes", *conflict_line)
    axs[0].set_title("Conflict rate")
    draw(axs[1], grid, skew, lambda s: s.class_rates["silent-overwrite"], "silent overwrites per 1,000 writes",
         *lost_line)
    axs[1].set_title("Silent overwrites")
    draw(axs[2], grid, skew, lambda s: s.class_rates["lost-update"], "lost updates per 1,000 writes", *lost_line)
    axs[2].set_title("Lost updates (an older write won)")
    # One legend for the three panels: the profiles in grid order, then the targets.
    by_label = {}
    for ax in axs:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            by_label.setdefault(label, handle)
    labels = [p for p in grid.profiles if p in by_label] + [line[1] for line in (conflict_line, lost_line) if line[1]]
    fig.legend([by_label[k] for k in labels], labels, loc="lower center", ncol=min(4, len(labels)), fontsize=8,
               frameon=False)
    fig.suptitle("%s: %s" % (grid.name, "one line per profile, 95% intervals over seeds"), fontsize=11)
    fig.tight_layout(rect=(0, 0.12, 1, 0.95))
    out.append(("main", "Conflicts, silent overwrites and lost updates",
                "Conflict rate against %s (%s); silent-overwrite and lost-update rates against %s (%s).%s"
                % (AXIS_TITLES[offline["axis"]] if offline else "the profile", pooled(offline) or "one value",
                   AXIS_TITLES[skew["axis"]] if skew else "the profile", pooled(skew) or "one value",
                   " Dashed: the targets of %s." % t["source"] if t else ""), fig))

    fig, axs = plt.subplots(1, 2, figsize=(11, 4.4))
    draw(axs[0], grid, offline, lambda s: (s.ttc_median, None, None), "seconds")
    axs[0].set_title("Time to converge, median")
    draw(axs[1], grid, offline, lambda s: (s.ttc_p95, None, None), "seconds")
    axs[1].set_title("Time to converge, 95th percentile")
    axs[0].legend(fontsize=8)
    fig.tight_layout()
    out.append(("converge", "Time to converge",
                "From the final heal to quiescence, over the seeds that converged; %s." % (pooled(offline)
                                                                                          or "all cells"), fig))

    fig, axs = plt.subplots(1, 2, figsize=(11, 4.4))
    draw(axs[0], grid, offline, lambda s: s.per_run["retries"], "retries per run")
    axs[0].set_title("Retries")
    draw(axs[1], grid, offline, lambda s: s.per_run["queue_depth_mean"], "outbox depth at round start, mean")
    axs[1].set_title("Sync queue depth")
    axs[0].legend(fontsize=8)
    fig.tight_layout()
    out.append(("retries", "Retries and queue depth",
                "Per run, mean over seeds: retries with the exact Poisson interval, queue depth with a "
                "t-interval (95%%); %s." % (pooled(offline) or "all cells"), fig))

    fig, ax = plt.subplots(figsize=(7, 4.2))
    draw(ax, grid, skew, lambda s: tuple(None if v is None else 100.0 * v for v in s.failing_fraction),
         "seeds failing (%)")
    ax.set_title("Seeds with a violation the profile does not accept")
    ax.set_ylim(0, 105)
    ax.legend(fontsize=8)
    fig.tight_layout()
    out.append(("failing", "Failing seeds",
                "Share of seeds that failed (a violation the profile does not accept, a crash or bad input), "
                "with Wilson intervals; %s." % (pooled(skew) or "all cells"), fig))
    return out


def svg_data_uri(fig):
    buf = io.BytesIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue().decode("utf-8")
    # The DOCTYPE and RDF metadata name URLs; nothing in a plot needs them.
    text = re.sub(r"<!DOCTYPE[^>]*>", "", text, count=1)
    text = re.sub(r"<metadata>.*?</metadata>", "", text, count=1, flags=re.S)
    return "data:image/svg+xml;base64," + base64.b64encode(text.encode("utf-8")).decode("ascii")


# --- summary.md and report.html ---------------------------------------------------------------

def cell_header(grid):
    return ["cell", "profile"] + grid.axis_names()


def cell_key(grid, cell):
    return [str(cell.index), cell.values["profile"]] + [cell.labels[a] for a in grid.axis_names()]


def md_escape(text):
    return str(text).replace("|", "\\|")


def md_table(header, rows):
    lines = ["| " + " | ".join(md_escape(h) for h in header) + " |",
             "|" + "|".join("---" for _ in header) + "|"]
    for r in rows:
        lines.append("| " + " | ".join(md_escape(x) for x in r) + " |")
    return "\n".join(lines)


def grid_intro(grid, quote="`"):
    return ("grid %s%s%s (%s) over base scenario %s%s%s: %d profiles, %d cells, seeds %d..%d per cell"
            % (quote, grid.name, quote, grid.file, quote, grid.scenario_file, quote, len(grid.profiles),
               len(grid.cells), grid.seeds_lo, grid.seeds_hi))


def methods_short(grid):
    text = ("Rates are pooled per 1,000 writes with a 95% Wilson interval; failing seeds carry a Wilson interval; "
            "per-run counts an exact Poisson (Garwood) interval; seconds visible per session anomaly are pooled over "
            "seeds with a ratio-estimator t-interval (\"n/a\" for runs recorded before it was kept). A zero with no "
            "events reads \"0 (n = ...)\".")
    t = grid.targets
    if t:
        parts = []
        if t["conflicts"] is not None:
            parts.append("conflict rate < %g per 1,000 writes" % t["conflicts"])
        if t["lost"] is not None:
            parts.append("writes lost (silent overwrites plus lost updates) < %g per 1,000 writes" % t["lost"])
        text += (" \"targets\" (%s): met when the whole interval is below %s, missed when above, unclear when it "
                 "straddles." % (t["source"], " / ".join(parts)))
    return text


def write_markdown(grid, path):
    columns = summary_columns(grid)
    out = ["# Conflict rates: %s" % grid.name, "", grid_intro(grid) + ".", ""]
    if grid.description:
        out += [grid.description.strip(), ""]
    out += ["## Per profile (all cells)", ""]
    out.append(md_table(["profile"] + [c[0] for c in columns],
                        [[p] + [f(s) for _, f in columns] for p, s in profile_stats(grid)]))
    out += ["", "## Per cell", ""]
    out.append(md_table(cell_header(grid) + [c[0] for c in columns],
                        [cell_key(grid, c) + [f(c.stats) for _, f in columns] for c in grid.cells]))
    out += ["", methods_short(grid), "",
            "Regenerate: `/usr/bin/python3 reports/conflict_report.py %s -o DIR --grid %s`" % (grid.db_path,
                                                                                               grid.name), ""]
    with open(path, "w") as f:
        f.write("\n".join(out))


HTML_STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px auto; max-width: 1280px;
       padding: 0 16px; color: #222; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 28px; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 12.5px; }
th, td { border: 1px solid #ccc; padding: 3px 7px; text-align: right; white-space: nowrap; }
th { background: #f3f3f3; } td.k, th.k { text-align: left; }
figure { margin: 12px 0 24px; } figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 12.5px; color: #555; }
code { background: #f5f5f5; padding: 0 3px; }
div.wide { overflow-x: auto; max-width: 100%; }
pre { overflow-x: auto; max-width: 100%; }
"""


def html_table(header, rows, key_columns):
    e = html.escape
    out = ['<div class="wide"><table>', "<thead><tr>"]
    out += ['<th class="k">%s</th>' % e(h) if i < key_columns else "<th>%s</th>" % e(h) for i, h in enumerate(header)]
    out += ["</tr></thead>", "<tbody>"]
    for r in rows:
        out.append("<tr>")
        for i, x in enumerate(r):
            cls = ' class="k"' if i < key_columns else ""
            out.append("<td%s>%s</td>" % (cls, e(str(x))))
        out.append("</tr>")
    out += ["</tbody>", "</table></div>"]
    return "".join(out)


def write_html(grid, path, figs):
    e = html.escape
    columns = summary_columns(grid)
    parts = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
             "<title>Conflict rates: %s</title>" % e(grid.name), "<style>%s</style>" % HTML_STYLE, "</head>",
             "<body>", "<h1>Conflict rates: %s</h1>" % e(grid.name), "<p>%s.</p>" % e(grid_intro(grid, ""))]
    if grid.description:
        parts.append("<p>%s</p>" % e(grid.description.strip()))
    parts.append("<h2>Per profile (all cells)</h2>")
    parts.append(html_table(["profile"] + [c[0] for c in columns],
                            [[p] + [f(s) for _, f in columns] for p, s in profile_stats(grid)], 1))
    parts.append("<p>%s</p>" % e(methods_short(grid)))
    for name, title, caption, fig in figs:
        parts.append('<h2 id="%s">%s</h2>' % (e(name), e(title)))
        parts.append('<figure><img alt="%s" src="%s"><figcaption>%s</figcaption></figure>'
                     % (e(title), svg_data_uri(fig), e(caption)))
    parts.append("<h2>Per cell</h2>")
    parts.append(html_table(cell_header(grid) + [c[0] for c in columns],
                            [cell_key(grid, c) + [f(c.stats) for _, f in columns] for c in grid.cells],
                            len(cell_header(grid))))
    parts.append("<p>Replay any run of a cell: <code>syncsim grid %s --replay CELL:SEED</code>. Every metric of "
                 "every cell, with its interval, is in <code>cells.csv</code>.</p>" % e(grid.file))
    parts.append("<h2>Methods</h2>")
    doc = __doc__.split("Each cell ran", 1)[1].split("Bad or empty input", 1)[0]
    parts.append("<pre>%s</pre>" % e("Each cell ran" + doc.rstrip()))
    parts += ["</body>", "</html>", ""]
    with open(path, "w") as f:
        f.write("\n".join(parts))


# --- main ---------------------------------------------------------------------------------

def main(argv):
    parser = argparse.ArgumentParser(prog=PROG, description="Conflict-rate report of a syncsim grid.")
    parser.add_argument("database", help="the results database syncsim grid wrote")
    parser.add_argument("-o", "--output", required=True, metavar="DIR", help="directory for the report files")
    parser.add_argument("--grid", metavar="NAME", help="which grid, when the database holds several")
    parser.add_argument("--main-png", metavar="FILE", help="also save the main figure as a PNG")
    parser.add_argument("--tables-only", action="store_true",
                        help="write only summary.md and cells.csv: no figures, no report.html, no matplotlib")
    parser.add_argument("--print-profiles", action="store_true",
                        help="print one line per profile (all cells pooled) instead of the closing line")
    args = parser.parse_args(argv)
    if args.tables_only and args.main_png:
        parser.error("--main-png needs the figures: leave out --tables-only")
    plt = None if args.tables_only else _import_matplotlib()
    try:
        grid = load_grid(args.database, args.grid)
        if os.path.exists(args.output) and not os.path.isdir(args.output):
            raise BadInput("%s: exists and is not a directory" % args.output)
        try:
            os.makedirs(args.output, exist_ok=True)
            write_csv(grid, os.path.join(args.output, "cells.csv"))
            write_markdown(grid, os.path.join(args.output, "summary.md"))
            if plt:
                figs = figures(grid, plt)
                write_html(grid, os.path.join(args.output, "report.html"), figs)
                if args.main_png:
                    figs[0][3].savefig(args.main_png, format="png", dpi=110, metadata={"Software": None})
        except OSError as e:
            raise BadInput("cannot write the report: %s" % e)
    except BadInput as e:
        fail(str(e))
    if args.print_profiles:
        print_profiles(grid)
        return 0
    print("%s: %d cells, %d runs -> %s (%s)"
          % (grid.name, len(grid.cells), sum(c.stats.seeds for c in grid.cells), args.output,
             "summary.md, cells.csv" if args.tables_only else "report.html, summary.md, cells.csv"))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as e:   # a bug here, not bad input: one line, and the traceback on request
        if os.environ.get("SYNCSIM_REPORT_DEBUG"):
            raise
        sys.stderr.write("%s: internal error: %s: %s (SYNCSIM_REPORT_DEBUG=1 shows the traceback)\n"
                         % (PROG, type(e).__name__, e))
        sys.exit(1)
