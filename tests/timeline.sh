#!/usr/bin/env bash
# The timeline page (run --timeline) in headless Chromium: it draws without a console error,
# the DOM after its script ran has one lane per replica of the run, and a screenshot shows the
# lanes in their colours. Checked on a short run with a finding (its witness ringed when the
# address picks it) and on a random workload of thousands of events.
# Usage: tests/timeline.sh path/to/syncsim   (run from the source root)
# Exits 77 (skipped, for meson) only when Chromium is not installed or cannot start here.
set -u
BIN=$1
PY=/usr/bin/python3
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then
  echo "SKIP: chromium is not installed (Debian's package chromium; make test installs it)"
  exit 77
fi
# --no-sandbox: containers and CI runners often refuse the sandbox's namespaces. Each run has a
# profile directory of its own, so runs never share state.
chrome() {
  local profile
  profile=$(mktemp -d "$tmp/profile.XXXXXX")
  timeout 120 "$CHROMIUM" --headless=new --no-sandbox --disable-gpu --no-first-run --disable-extensions \
    --user-data-dir="$profile" --enable-logging=stderr --v=0 --window-size=1400,700 "$@"
}
if ! chrome --dump-dom "data:text/html,<p>ok</p>" 2>"$tmp/start.err" | grep -q '<p>ok</p>'; then
  echo "SKIP: chromium cannot start in this sandbox even with --no-sandbox --headless=new:"
  tail -n 5 "$tmp/start.err"
  exit 77
fi

# Draw a page: the DOM after its script ran, Chromium's log, and a screenshot.
render() {   # NAME URL-SUFFIX
  chrome --dump-dom "file://$tmp/$1.html$2" >"$tmp/$1.dom" 2>"$tmp/$1.err" || fail "$1: chromium --dump-dom failed"
  chrome --screenshot="$tmp/$1.png" "file://$tmp/$1.html$2" >/dev/null 2>"$tmp/$1.shot.err" \
    || fail "$1: chromium --screenshot failed"
}

# check.py NAME EXPECTED-LANES [WITNESS...]: the page drew, without console errors, one lane per
# replica (EXPECTED-LANES, comma-separated, or "data": the lanes the page's own data names), the
# screenshot shows each lane's colour, and each WITNESS write is ringed.
cat >"$tmp/check.py" <<'PYEOF'
import html, json, re, sys, zlib

def png_pixels(path):
    """The RGB pixels of an 8-bit RGB or RGBA, non-interlaced PNG (what Chromium writes)."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width = 8, b"", None
    while pos < len(data):
        n = int.from_bytes(data[pos:pos + 4], "big")
        kind, chunk = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            width, height = int.from_bytes(chunk[0:4], "big"), int.from_bytes(chunk[4:8], "big")
            depth, colour, interlace = chunk[8], chunk[9], chunk[12]
            assert depth == 8 and colour in (2, 6) and interlace == 0, "unexpected PNG format"
            bpp = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + n
    raw, stride = zlib.decompress(idat), width * bpp
    prev, out, i = bytearray(stride), [], 0
    for _ in range(height):
        f, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if f == 1: line[x] = (line[x] + a) & 255
            elif f == 2: line[x] = (line[x] + b) & 255
            elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        out.extend(tuple(line[x:x + 3]) for x in range(0, stride, bpp))
        prev = line
    return out

name, expected = sys.argv[1], sys.argv[2]
witnesses = sys.argv[3:]
problems = []
dom = open(name + ".dom").read()
log = open(name + ".err").read() + open(name + ".shot.err").read()

console = [l for l in log.splitlines() if ":CONSOLE" in l]
if console:
    problems.append("console messages: " + " | ".join(console[:5]))
state = re.search(r'data-timeline-state="([^"]*)"', dom)
if not state or state.group(1) != "drawn":
    errs = re.search(r'data-timeline-errors="([^"]*)"', dom)
    problems.append("the page did not draw: state %s, errors %s" % (state and state.group(1), errs and html.unescape(errs.group(1))))

lanes = [html.unescape(x) for x in re.findall(r'<g class="lane" data-replica="([^"]*)"', dom)]
page = open(name + ".html").read()
data = json.loads(re.search(r'<script type="application/json" id="run-data">(.*?)</script>', page, re.S).group(1))
want = data["lanes"] if expected == "data" else expected.split(",")
if lanes != want:
    problems.append("lanes drawn %s, expected one per replica: %s" % (lanes, want))
if lanes[:1] != ["server"] or len(lanes) < 2:
    problems.append("expected the server's lane and a device's at least, got %s" % lanes)

colours = dict((html.unescape(r), c) for r, c in re.findall(
    r'<g class="lane" data-replica="([^"]*)">.*?<rect class="lane-swatch"[^>]*fill="#([0-9a-f]{6})"', dom))
pixels = png_pixels(name + ".png")
counts = {}
for p in pixels:
    counts[p] = counts.get(p, 0) + 1
if len(counts) < 20:
    problems.append("the screenshot is nearly blank: %d colours" % len(counts))
for lane in want:
    c = colours.get(lane)
    if not c:
        problems.append("lane %s has no colour swatch" % lane)
        continue
    rgb = tuple(int(c[k:k + 2], 16) for k in (0, 2, 4))
    # A lane is a 14x14 swatch and a 2-pixel line across the plot in its colour: hundreds of pixels.
    if counts.get(rgb, 0) < 300:
        problems.append("lane %s: only %d pixels of its colour #%s in the screenshot" % (lane, counts.get(rgb, 0), c))

rings = len(re.findall(r'<circle class="witness"', dom))
if witnesses and rings < len(witnesses):
    problems.append("expected the witness writes %s ringed, found %d rings" % (witnesses, rings))
if problems:
    print("%s: %s" % (name, "\n  ".join(problems)))
    sys.exit(1)
print("%s: drawn, lanes %s, %d colours in the screenshot, %d witness rings" % (name, ",".join(lanes), len(counts), rings))
PYEOF

# A short run with a finding: skew makes phone's older create win over tablet's edit.
"$BIN" run scenarios/basic/skew-lww-device-clock.yaml --strict --timeline "$tmp/skew.html" >/dev/null
[ $? -eq 1 ] || fail "skew --strict --timeline: expected exit 1 (the lost update)"
render skew "#finding=1"
(cd "$tmp" && $PY check.py skew server,phone,tablet tablet:1 phone:1) || fail "skew timeline"

# Thousands of events, four replicas, faults of every kind.
"$BIN" run scenarios/random/lww-skew.yaml --seed 1 --timeline "$tmp/swarm.html" >/dev/null
events=$(grep -o '"events":[0-9]*' "$tmp/swarm.html" | head -n1 | cut -d: -f2)
[ "${events:-0}" -ge 1000 ] || fail "the random run has only ${events:-no} events; expected thousands"
render swarm ""
(cd "$tmp" && $PY check.py swarm server,u1-d1,u1-d2,u1-d3) || fail "swarm timeline"

# The checks can fail: a page whose script throws, and one that draws a lane too few.
sed 's|<script type="application/json"|<script>null.x;</script>&|' "$tmp/skew.html" >"$tmp/broken.html"
render broken ""
(cd "$tmp" && $PY check.py broken server,phone,tablet >/dev/null) && fail "a page with a script error passed the check"
(cd "$tmp" && $PY check.py skew server,phone >/dev/null) && fail "a page with a lane too many passed the check"

# No network: nothing in the page names another resource.
if grep -Eo '(src|href)="[^"#]+' "$tmp/skew.html" | grep -q .; then
  fail "the page loads something: $(grep -Eo '(src|href)="[^"#]+' "$tmp/skew.html" | head -3)"
fi

[ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "timeline: all checks passed"
