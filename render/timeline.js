// The timeline page's script (render/timeline.h): draws the run held in <script id="run-data">
// as a space-time diagram in <svg id="timeline">. Plain ES2017, no library, nothing fetched.
//
// Time runs left to right; each replica is a lane (a row). The horizontal axis is either true
// time or "instants": every distinct event time one step apart, which keeps a burst of messages
// a millisecond long as readable as the minutes around it. The view is a window [u0, u1] of
// that axis; zooming and panning change only the window, and draw() renders what falls in it.
"use strict";
(function () {
  const body = document.body;
  const errors = [];
  function failed(message) {
    errors.push(String(message));
    body.dataset.timelineState = "failed";
    body.dataset.timelineErrors = errors.join("\n");
  }
  window.addEventListener("error", (e) => failed(e.message));

  const SVG = "http://www.w3.org/2000/svg";
  // The columns of the rows render/timeline.c writes: the one place their order is named.
  const DATA_COLUMNS = {
    spans: ["lane", "kind", "start", "end", "detail"],
    messages: ["from", "to", "sent", "arrived", "drop", "dup", "bytes", "body"],
    marks: ["lane", "t", "kind", "label", "w", "w2"],
  };
  const COLOURS = {
    server: "#57606a",
    devices: ["#0969da", "#1a7f37", "#bf3989", "#9a6700", "#0598bc", "#6639ba", "#bc4c00", "#116329",
              "#a40e26", "#3e4b9e"],
    loss: "#d1242f",
    duplicate: "#8250df",
    witness: "#e3b341",
  };
  const GUTTER_PX = 118;     // lane names
  const RIGHT_PX = 16;
  const AXIS_PX = 30;        // the time axis above the lanes
  const LANE_PX = 58;
  const MARK_R_PX = 5;
  // The kinds a reader can hide, and which of them start hidden: timers tick every sync interval
  // and bury a long run's writes, so they start hidden once there are many.
  const KINDS = [
    ["writes", "writes"], ["messages", "messages"], ["lost", "lost messages"], ["sync", "sync rounds"],
    ["faults", "offline, partitions, crashes, clock steps, storage"], ["conflicts", "conflicts"], ["timers", "timers, retries"],
  ];
  const TIMERS_SHOWN_MAX = 300;
  // Writes are labelled with their names ("phone:3") while no more than this many are in view.
  const WRITE_LABELS_MAX = 60;

  function rows(list, columns) {
    return (list || []).map((r, i) => {
      const o = { i: i };
      columns.forEach((c, k) => { o[c] = r[k]; });
      return o;
    });
  }

  function el(name, attrs, parent) {
    const e = document.createElementNS(SVG, name);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }

  function html(name, attrs, text, parent) {
    const e = document.createElement(name);
    for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined && text !== null) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }

  // Microseconds as a person writes a duration: 2m40s, 191ms, 1.5s, 3h2m.
  function duration(us) {
    const sign = us < 0 ? "-" : "";
    us = Math.abs(us);
    if (us < 1000) return sign + us + "us";
    if (us < 1e6) return sign + +(us / 1000).toFixed(us < 1e4 ? 2 : 1) + "ms";
    if (us < 60e6) return sign + +(us / 1e6).toFixed(us < 1e7 ? 3 : 2) + "s";
    const s = Math.floor(us / 1e6);
    const d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60), r = s % 60;
    let out = "";
    if (d) out += d + "d";
    if (h) out += h + "h";
    if (m && !d) out += m + "m";
    if (r && !d && !h) out += r + "s";
    return sign + (out || "0s");
  }

  const data = JSON.parse(document.getElementById("run-data").textContent);
  const spans = rows(data.spans, DATA_COLUMNS.spans);
  const messages = rows(data.messages, DATA_COLUMNS.messages);
  const marks = rows(data.marks, DATA_COLUMNS.marks);
  const lanes = data.lanes.map((name, i) => ({
    name: name, index: i, shown: true,
    colour: i === 0 ? COLOURS.server : COLOURS.devices[(i - 1) % COLOURS.devices.length],
  }));
  const laneByName = new Map(lanes.map((l) => [l.name, l]));
  const timerCount = marks.filter((m) => kindOfMark(m) === "timers").length;
  const shownKinds = new Set(KINDS.map((k) => k[0]).filter((k) => k !== "timers" || timerCount <= TIMERS_SHOWN_MAX));

  function kindOfMark(m) {
    switch (m.kind) {
    case "write": case "refused": case "rejected": case "dropped-write": return "writes";
    case "conflict": return "conflicts";
    case "timer": case "retry": case "gave-up": return "timers";
    default: return "faults";   // crash, restart, clock, storage, node-failed
    }
  }
  function kindOfSpan(s) { return s.kind === "sync" ? "sync" : "faults"; }
  function kindOfMessage(m) { return m.drop ? "lost" : "messages"; }

  // --- the time axis ---------------------------------------------------------------------
  // Every instant something happens, sorted: the "instants" axis gives each one step.
  const instants = (function () {
    const t = [0, data.end_us];
    marks.forEach((m) => t.push(m.t));
    spans.forEach((s) => { t.push(s.start); t.push(s.end); });
    messages.forEach((m) => { t.push(m.sent); if (m.arrived >= 0) t.push(m.arrived); });
    t.sort((a, b) => a - b);
    return t.filter((v, i) => i === 0 || v !== t[i - 1]);
  })();
  let mode = instants.length > 1 ? "instants" : "time";

  // True time to the axis's unit: itself, or its position among the instants (interpolated
  // between two of them for a time that is none, such as a lost message's end).
  function toAxis(t) {
    if (mode === "time") return t;
    let lo = 0, hi = instants.length - 1;
    if (t <= instants[0]) return 0;
    if (t >= instants[hi]) return hi;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (instants[mid] <= t) lo = mid; else hi = mid;
    }
    return lo + (t - instants[lo]) / (instants[hi] - instants[lo]);
  }
  function fromAxis(u) {
    if (mode === "time") return u;
    const i = Math.max(0, Math.min(instants.length - 1, Math.floor(u)));
    const j = Math.min(instants.length - 1, i + 1);
    return instants[i] + (instants[j] - instants[i]) * Math.max(0, Math.min(1, u - i));
  }

  const view = { u0: 0, u1: 1 };
  function fit() {
    const end = toAxis(data.end_us);
    const pad = Math.max(end * 0.02, mode === "time" ? 1000 : 1);
    view.u0 = -pad;
    view.u1 = end + pad;
  }

  // --- page structure ----------------------------------------------------------------------
  const header = html("header", {}, null, body);
  html("h1", {}, "syncsim timeline: " + (data.scenario || "run"), header);
  const run = html("div", { class: "run" }, null, header);
  const outcome = data.outcome || "unknown";
  html("span", { class: data.exit_code === 0 ? "outcome-pass" : "outcome-fail" }, outcome, run);
  run.appendChild(document.createTextNode(
    "  \u00b7  profile " + (data.profile || "?") + "  \u00b7  seed " + data.seed + "  \u00b7  " + lanes.length +
    " replicas, " + data.events + " events, " + messages.length + " message copies, ended at t=" +
    duration(data.end_us) + (data.trace_hash ? "  \u00b7  trace-hash " + data.trace_hash : "")));
  if (data.truncated)
    html("div", { class: "note" }, "Only the first " + data.events_max + " events of the run are drawn.", header);
  if (data.bodies_dropped)
    html("div", { class: "note" }, "Later messages are drawn without their bodies: the page holds 32 MiB of them at most.", header);

  const controls = html("div", { id: "controls" }, null, body);
  const viewSet = html("fieldset", {}, null, controls);
  html("legend", {}, "View", viewSet);
  const modeButton = html("button", { type: "button", title: "instants: each moment one step; time: true time" },
                          null, viewSet);
  const zoomIn = html("button", { type: "button", title: "zoom in (or the mouse wheel)" }, "+", viewSet);
  const zoomOut = html("button", { type: "button", title: "zoom out" }, "\u2212", viewSet);
  const fitButton = html("button", { type: "button", title: "the whole run (or double-click)" }, "fit", viewSet);

  const laneSet = html("fieldset", {}, null, controls);
  html("legend", {}, "Replicas", laneSet);
  lanes.forEach((l) => {
    const label = html("label", {}, null, laneSet);
    const box = html("input", { type: "checkbox" }, null, label);
    box.checked = true;
    box.addEventListener("change", () => { l.shown = box.checked; draw(); });
    html("span", { class: "swatch", style: "background:" + l.colour }, null, label);
    label.appendChild(document.createTextNode(l.name));
  });

  const kindSet = html("fieldset", {}, null, controls);
  html("legend", {}, "Show", kindSet);
  KINDS.forEach(([kind, text]) => {
    const label = html("label", {}, null, kindSet);
    const box = html("input", { type: "checkbox", "data-kind": kind }, null, label);
    box.checked = shownKinds.has(kind);
    box.addEventListener("change", () => {
      if (box.checked) shownKinds.add(kind); else shownKinds.delete(kind);
      draw();
    });
    label.appendChild(document.createTextNode(text));
  });

  const main = html("div", { id: "main" }, null, body);
  const chart = html("div", { id: "chart" }, null, main);
  const svg = el("svg", { id: "timeline", role: "img", "aria-label": "space-time diagram of the run" }, chart);
  const findingsPanel = html("div", { id: "findings" }, null, main);
  const footer = html("footer", {}, "Drag to pan, wheel to zoom, double-click to fit; hover an arrow for its " +
    "message, a dot for its write. Dots: writes (crossed: refused); arrows: messages (dashed purple: the " +
    "network's duplicate; red with \u2715: lost); shading: offline (grey), partitioned (orange), crashed " +
    "(red); bars under a lane: sync rounds; orange diamonds: conflicts; \u2715 on a lane: a crash, a green " +
    "triangle: its restart; blue diamonds: clock steps; brown squares: storage faults.", body);
  void footer;
  const tip = html("div", { id: "tip" }, null, body);

  // --- findings and their witnesses --------------------------------------------------------
  const findings = data.findings || [];
  let witness = new Set();      // write names ringed
  let witnessBodies = [];       // what a message body holds when it carries one of them
  html("h2", {}, findings.length ? "Findings (" + findings.length + ")" : "No findings", findingsPanel);
  if (data.unmet && data.unmet.length) {
    const u = html("div", { class: "note" }, null, findingsPanel);
    u.textContent = "Unmet: " + data.unmet.map((x) => (typeof x === "string" ? x : JSON.stringify(x))).join("; ");
  }
  const list = html("ol", {}, null, findingsPanel);
  findings.forEach((f, i) => {
    const li = html("li", { "data-finding": i }, null, list);
    html("span", { class: "class" + (f.fails ? " fails" : "") }, f.class + (f.fails ? "" : " (tolerated)"), li);
    li.appendChild(document.createTextNode(" " + (f.summary || "")));
    if (f.witness) html("pre", {}, f.witness, li);
    li.addEventListener("click", () => pickFinding(li.classList.contains("selected") ? -1 : i));
    li.title = "click: ring this finding's writes and bring them into view; again: every finding's";
  });
  if (!findings.length) html("p", {}, "The run broke no invariant the checker knows.", findingsPanel);

  // A write named "phone:3" is node 1's third write; the built-in engine's messages carry it as
  // the number 1 * 2^32 + 3, an external node's as the name.
  function writeNumber(name) {
    const colon = name.lastIndexOf(":");
    const lane = laneByName.get(name.slice(0, colon));
    return lane ? lane.index * 4294967296 + Number(name.slice(colon + 1)) : null;
  }

  // Ring the writes of one finding (index), or of every finding (-1, the page's first view), and
  // draw thick the messages that carried them.
  function pickFinding(index) {
    for (const li of list.children) li.classList.toggle("selected", Number(li.dataset.finding) === index);
    witness = new Set();
    witnessBodies = [];
    (index >= 0 ? [findings[index]] : findings).forEach((f) => {
      [f.write, f.competitor].filter(Boolean).forEach((w) => {
        witness.add(w);
        witnessBodies.push('"w":"' + w + '"');
        const n = writeNumber(w);
        if (n !== null) witnessBodies.push('"w":' + n + ",", '"w":' + n + "}");
      });
    });
    if (index >= 0) {
      // Bring the witness writes into view.
      const ts = marks.filter((m) => witness.has(m.w) || witness.has(m.w2)).map((m) => toAxis(m.t));
      if (ts.length) {
        const lo = Math.min(...ts), hi = Math.max(...ts);
        const pad = Math.max((hi - lo) * 0.25, mode === "time" ? 2e6 : 3);
        if (lo < view.u0 || hi > view.u1) { view.u0 = lo - pad; view.u1 = hi + pad; }
      }
    }
    draw();
  }
  function carriesWitness(m) {
    return witnessBodies.length > 0 && typeof m.body === "string" && witnessBodies.some((s) => m.body.includes(s));
  }

  // --- drawing -----------------------------------------------------------------------------
  let width = 0;
  function plotLeft() { return GUTTER_PX; }
  function plotRight() { return width - RIGHT_PX; }
  function x(t) {
    return plotLeft() + (toAxis(t) - view.u0) / (view.u1 - view.u0) * (plotRight() - plotLeft());
  }
  function visible(x0, x1) { return x1 >= plotLeft() - 20 && x0 <= plotRight() + 20; }

  function niceStep(rough) {
    const p = Math.pow(10, Math.floor(Math.log10(rough)));
    for (const m of [1, 2, 5, 10]) if (m * p >= rough) return m * p;
    return 10 * p;
  }

  function drawAxis(g, height) {
    const axis = el("g", { class: "axis" }, g);
    const ticks = Math.max(2, Math.floor((plotRight() - plotLeft()) / 110));
    const lo = Math.max(view.u0, toAxis(0)), hi = Math.min(view.u1, toAxis(data.end_us));
    if (!(hi > lo)) return;
    let at = [];
    if (mode === "time") {
      const step = niceStep((hi - lo) / ticks);
      for (let t = Math.ceil(lo / step) * step; t <= hi; t += step) at.push(t);
    } else {
      const step = Math.max(1, Math.round((hi - lo) / ticks));
      for (let u = Math.ceil(lo); u <= hi; u += step) at.push(fromAxis(u));
    }
    at.forEach((t) => {
      const xt = x(t);
      el("line", { x1: xt, x2: xt, y1: AXIS_PX - 6, y2: height }, axis);
      const label = el("text", { x: xt, y: AXIS_PX - 10, "text-anchor": "middle" }, axis);
      label.textContent = duration(Math.round(t));
    });
  }

  function crossAt(g, cx, cy, cls, tipKey) {
    const d = 4;
    const c = el("path", { d: "M" + (cx - d) + " " + (cy - d) + "L" + (cx + d) + " " + (cy + d) + "M" + (cx - d) + " " +
                           (cy + d) + "L" + (cx + d) + " " + (cy - d), class: cls }, g);
    if (tipKey) c.setAttribute("data-tip", tipKey);
    return c;
  }

  function draw() {
    width = Math.max(400, chart.clientWidth);
    const shown = lanes.filter((l) => l.shown);
    const y = new Map();
    shown.forEach((l, k) => y.set(l.index, AXIS_PX + k * LANE_PX + LANE_PX / 2));
    const height = AXIS_PX + shown.length * LANE_PX + 8;
    svg.setAttribute("width", width);
    svg.setAttribute("height", height);
    svg.setAttribute("viewBox", "0 0 " + width + " " + height);
    while (svg.firstChild) svg.removeChild(svg.firstChild);

    const defs = el("defs", {}, svg);
    const arrowColours = new Map();
    function arrow(colour) {
      if (!arrowColours.has(colour)) {
        const id = "arrow-" + arrowColours.size;
        const m = el("marker", { id: id, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 8, markerHeight: 8,
                                 markerUnits: "userSpaceOnUse",
                                 orient: "auto-start-reverse" }, defs);
        el("path", { d: "M0 0L10 5L0 10z", fill: colour }, m);
        arrowColours.set(colour, id);
      }
      return "url(#" + arrowColours.get(colour) + ")";
    }
    const clip = el("clipPath", { id: "plot" }, defs);
    el("rect", { x: plotLeft(), y: 0, width: plotRight() - plotLeft(), height: height }, clip);

    const lanesLayer = el("g", { class: "lanes" }, svg);
    drawAxis(svg, height);
    const plot = el("g", { "clip-path": "url(#plot)" }, svg);
    const spanLayer = el("g", { class: "spans" }, plot);
    const messageLayer = el("g", { class: "messages" }, plot);
    const markLayer = el("g", { class: "marks" }, plot);

    // A lane: its band, its line in its colour, its name with a swatch of the colour.
    shown.forEach((l) => {
      const g = el("g", { class: "lane", "data-replica": l.name }, lanesLayer);
      const top = y.get(l.index) - LANE_PX / 2;
      el("rect", { class: "lane-band", x: 0, y: top, width: width, height: LANE_PX }, g);
      el("line", { class: "lane-line", x1: plotLeft(), x2: plotRight(), y1: y.get(l.index), y2: y.get(l.index),
                   stroke: l.colour, "stroke-width": 2, "shape-rendering": "crispEdges" }, g);
      el("rect", { class: "lane-swatch", x: 8, y: y.get(l.index) - 7, width: 14, height: 14, fill: l.colour,
                   "shape-rendering": "crispEdges" }, g);
      const name = el("text", { class: "lane-label", x: 28, y: y.get(l.index) + 4 }, g);
      name.textContent = l.name.length > 13 ? l.name.slice(0, 12) + "\u2026" : l.name;
      const title = el("title", {}, name);
      title.textContent = l.name;
    });

    spans.forEach((s) => {
      if (!y.has(s.lane) || !shownKinds.has(kindOfSpan(s))) return;
      const x0 = x(s.start), x1 = Math.max(x(s.end), x0 + 1.5);
      if (!visible(x0, x1)) return;
      const mid = y.get(s.lane);
      const r = s.kind === "sync"
        ? el("rect", { class: "span-sync", x: x0, y: mid + 6, width: x1 - x0, height: 5, fill: lanes[s.lane].colour }, spanLayer)
        : el("rect", { class: "span-" + s.kind, x: x0, y: mid - LANE_PX / 2 + 2, width: x1 - x0, height: LANE_PX - 4 }, spanLayer);
      r.setAttribute("data-tip", "s" + s.i);
    });

    messages.forEach((m) => {
      if (!y.has(m.from) || !y.has(m.to) || !shownKinds.has(kindOfMessage(m))) return;
      const x0 = x(m.sent), y0 = y.get(m.from), y1 = y.get(m.to);
      let x1, yEnd, cross = false;
      if (m.arrived >= 0) {
        x1 = x(m.arrived); yEnd = y1; cross = !!m.drop;
      } else {
        // Never arrived: half way towards its receiver, ended by a cross (or trailing off, in flight).
        x1 = x0 + Math.max(10, Math.min(40, (x(data.end_us) - x0) / 2)); yEnd = (y0 + y1) / 2; cross = m.drop !== "in flight";
      }
      if (!visible(Math.min(x0, x1), Math.max(x0, x1))) return;
      const carries = carriesWitness(m);
      const colour = carries ? COLOURS.witness : m.drop ? COLOURS.loss : m.dup ? COLOURS.duplicate : lanes[m.from].colour;
      const cls = "msg" + (m.drop ? " lost" : "") + (m.dup ? " dup" : "") + (carries ? " witness" : "");
      const line = el("line", { class: cls, x1: x0, y1: y0, x2: x1, y2: yEnd, stroke: colour, "data-tip": "m" + m.i },
                      messageLayer);
      if (!cross) line.setAttribute("marker-end", arrow(colour));
      else crossAt(messageLayer, x1, yEnd, "cross", "m" + m.i);
    });

    const labelWrites = marks.filter((m) => m.kind === "write" && y.has(m.lane) && shownKinds.has("writes") &&
                                      visible(x(m.t), x(m.t))).length <= WRITE_LABELS_MAX;
    marks.forEach((m) => {
      if (!y.has(m.lane) || !shownKinds.has(kindOfMark(m))) return;
      const cx = x(m.t), cy = y.get(m.lane);
      if (!visible(cx, cx)) return;
      const key = "k" + m.i;
      const ringed = (m.w && witness.has(m.w)) || (m.w2 && witness.has(m.w2));
      let e;
      switch (m.kind) {
      case "write":
        e = el("circle", { class: "mark-write", cx: cx, cy: cy, r: MARK_R_PX, fill: lanes[m.lane].colour }, markLayer);
        if (labelWrites && m.w) {
          const name = el("text", { class: "write-label", x: cx, y: cy + 23, "text-anchor": "middle" }, markLayer);
          name.textContent = m.w;
        }
        break;
      case "refused": case "rejected": case "dropped-write":
        e = el("circle", { class: "mark-refused", cx: cx, cy: cy, r: MARK_R_PX, stroke: lanes[m.lane].colour }, markLayer);
        crossAt(markLayer, cx, cy, "cross", key);
        break;
      case "conflict":
        e = el("path", { class: "mark-conflict", d: "M" + cx + " " + (cy - 7) + "l7 7l-7 7l-7 -7z" }, markLayer);
        break;
      case "timer": case "retry": case "gave-up":
        e = el("line", { class: "mark-timer", x1: cx, x2: cx, y1: cy - 14, y2: cy - 4 }, markLayer);
        break;
      case "restart":
        e = el("path", { class: "mark-restart", d: "M" + (cx - 6) + " " + (cy + 6) + "l6 -12l6 12z" }, markLayer);
        break;
      case "clock": {
        e = el("path", { class: "mark-clock", d: "M" + cx + " " + (cy - 22) + "l6 6l-6 6l-6 -6z" }, markLayer);
        const step = el("text", { class: "clock-label", x: cx + 8, y: cy - 12 }, markLayer);
        step.textContent = m.label.replace("clock steps back ", "clock \u2212").replace("clock steps forward ", "clock +");
        break;
      }
      case "storage":   // a small square above the lane: the store's disk full, freed, or an I/O error
        e = el("rect", { class: "mark-storage", x: cx - 5, y: cy - 21, width: 10, height: 10 }, markLayer);
        break;
      default:   // crash, node-failed
        e = crossAt(markLayer, cx, cy, "mark-fault", key);
        e.setAttribute("transform", "translate(" + cx + " " + cy + ") scale(1.8) translate(" + -cx + " " + -cy + ")");
      }
      e.setAttribute("data-tip", key);
      if (ringed) el("circle", { class: "witness", cx: cx, cy: cy, r: MARK_R_PX + 5, fill: "none" }, markLayer);
    });

    modeButton.textContent = mode === "instants" ? "axis: instants" : "axis: true time";
    body.dataset.timelineLanes = String(shown.length);
    if (!errors.length) body.dataset.timelineState = "drawn";
  }

  // --- hover -------------------------------------------------------------------------------
  function pretty(text) {
    try { return JSON.stringify(JSON.parse(text), null, 1); } catch (e) { return text; }
  }
  function describe(key) {
    const i = Number(key.slice(1));
    if (key[0] === "m") {
      const m = messages[i];
      const bodyText = m.body === null ? "(not in the page, which holds 32 MiB of bodies: see the run's --trace)" : m.body;
      const what = m.arrived >= 0 ? (m.drop ? "arrived at t=" + duration(m.arrived) + " but lost: " + m.drop
                                            : "arrived at t=" + duration(m.arrived) + " (" + duration(m.arrived - m.sent) + ")")
                                  : m.drop === "in flight" ? "still in flight when the run ended" : "lost: " + m.drop;
      return [lanes[m.from].name + " \u2192 " + lanes[m.to].name + (m.dup ? " (the network's duplicate)" : "") +
              ", sent at t=" + duration(m.sent) + ", " + what + ", " + m.bytes + " bytes", pretty(bodyText)];
    }
    if (key[0] === "s") {
      const s = spans[i];
      const name = { offline: "offline", partition: "partitioned", down: "crashed", sync: "sync round" }[s.kind] || s.kind;
      return [lanes[s.lane].name + " " + name + (s.detail ? " (" + s.detail + ")" : "") + " from t=" + duration(s.start) +
              " to t=" + duration(s.end) + " (" + duration(s.end - s.start) + ")", ""];
    }
    const m = marks[i];
    return [lanes[m.lane].name + " at t=" + duration(m.t) + ": " + m.label, m.w2 ? "winner " + m.w + ", loser " + m.w2 : ""];
  }
  svg.addEventListener("mousemove", (e) => {
    const target = e.target.closest ? e.target.closest("[data-tip]") : null;
    if (!target || dragging) { tip.style.display = "none"; return; }
    const [head, detail] = describe(target.getAttribute("data-tip"));
    tip.textContent = "";
    html("div", { class: "head" }, head, tip);
    if (detail) html("pre", {}, detail.length > 6000 ? detail.slice(0, 6000) + "\n..." : detail, tip);
    tip.style.display = "block";
    const left = Math.min(e.clientX + 14, window.innerWidth - tip.offsetWidth - 8);
    const top = e.clientY + 14 + tip.offsetHeight > window.innerHeight ? e.clientY - tip.offsetHeight - 10 : e.clientY + 14;
    tip.style.left = Math.max(4, left) + "px";
    tip.style.top = Math.max(4, top) + "px";
  });
  svg.addEventListener("mouseleave", () => { tip.style.display = "none"; });

  // --- zoom and pan ------------------------------------------------------------------------
  let pending = false;
  function redraw() {
    if (pending) return;
    pending = true;
    window.requestAnimationFrame(() => { pending = false; draw(); });
  }
  function zoom(factor, atX) {
    const span = view.u1 - view.u0;
    const f = (atX - plotLeft()) / (plotRight() - plotLeft());
    const at = view.u0 + span * Math.max(0, Math.min(1, f));
    // At most a microsecond, or a thousandth of an instant, across the plot.
    const next = Math.max(mode === "time" ? 1 : 0.001, span * factor);
    view.u0 = at - (at - view.u0) * next / span;
    view.u1 = view.u0 + next;
    redraw();
  }
  chart.addEventListener("wheel", (e) => {
    e.preventDefault();
    zoom(Math.pow(1.0015, e.deltaY), e.clientX - chart.getBoundingClientRect().left);
  }, { passive: false });
  let dragging = null;
  chart.addEventListener("mousedown", (e) => {
    dragging = { x: e.clientX, u0: view.u0, u1: view.u1 };
    chart.classList.add("dragging");
  });
  window.addEventListener("mousemove", (e) => {
    if (!dragging) return;
    const du = (e.clientX - dragging.x) / (plotRight() - plotLeft()) * (dragging.u1 - dragging.u0);
    view.u0 = dragging.u0 - du;
    view.u1 = dragging.u1 - du;
    redraw();
  });
  window.addEventListener("mouseup", () => { dragging = null; chart.classList.remove("dragging"); });
  chart.addEventListener("dblclick", () => { fit(); redraw(); });
  zoomIn.addEventListener("click", () => zoom(0.5, (plotLeft() + plotRight()) / 2));
  zoomOut.addEventListener("click", () => zoom(2, (plotLeft() + plotRight()) / 2));
  fitButton.addEventListener("click", () => { fit(); redraw(); });
  modeButton.addEventListener("click", () => {
    // Keep the same stretch of true time in view across the switch.
    const t0 = fromAxis(view.u0), t1 = fromAxis(view.u1);
    mode = mode === "instants" ? "time" : "instants";
    view.u0 = toAxis(t0);
    view.u1 = toAxis(t1);
    if (!(view.u1 > view.u0)) fit();
    redraw();
  });
  window.addEventListener("resize", redraw);

  try {
    fit();
    // #finding=N in the address picks finding N (from 1), so a link can point at a witness.
    const picked = /^#finding=(\d+)$/.exec(window.location.hash);
    if (picked && Number(picked[1]) >= 1 && Number(picked[1]) <= findings.length) pickFinding(Number(picked[1]) - 1);
    else pickFinding(-1);
  } catch (e) {
    failed(e && e.stack ? e.stack : e);
    throw e;
  }
})();
