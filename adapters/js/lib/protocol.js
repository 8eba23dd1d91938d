'use strict';
/*
 * The syncsim-node/1 loop (docs/protocol.md): one request in, effect lines and one terminator
 * out. An adapter calls serve() with a description of its engine; serve() reads `init`, seeds
 * the determinism shims, and only then loads the engine (spec.load()), so that nothing the
 * engine does at load time escapes the seed.
 *
 * The adapter's replica object (one per process: a device or the server) implements
 *
 *   async op(op)              a user operation (records.checkOp); throw Refused to refuse it
 *   async deliver(src, body)  a message from another replica
 *   async control(what)       'net_up' | 'net_down' | 'sync'
 *   async records()           Map key -> record form: everything the replica holds now
 *   async kept()              [{type, id, w}]: losing writes the engine keeps for the user
 *   idle()                    nothing to do on its own initiative
 *   close()
 *
 * and emits effects through ctx.fx. After every request the loop lets everything the request
 * started settle (promises, immediates, library timers due now), announces library timers due
 * later as protocol timers, and reports every record whose state differs from what it last
 * reported (so every change produces a `record` effect, whatever caused it), before any
 * `served` the request said: served must follow the server's last change.
 */

const det = require('./determinism');
const { E, ProtocolError, Refused, malformed, member, checkOp } = require('./records');

const PROTOCOL = 'syncsim-node/1';

class Effects {
  constructor() {
    this.lines = [];
    this.servedPeers = [];
  }
  add(type, members) { this.lines.push({ type, ...members }); }
  send(dest, body) { this.add('send', { dest, body }); }
  log(text) { this.add('log', { text }); }
  received(w) { this.add('received', { w }); }
  served(peer) { if (!this.servedPeers.includes(peer)) this.servedPeers.push(peer); }
}

function write(lines) {
  // Writes to a pipe are synchronous on Linux: the answer is out before the next read.
  process.stdout.write(lines.map((l) => JSON.stringify(l) + '\n').join(''));
}

function logErr(name, text) {
  process.stderr.write(`${name}: ${text}\n`);
}

function checkInit(req) {
  for (const [name, kind] of [['protocol', 'string'], ['node', 'string'], ['role', 'string'], ['seed', 'string'],
    ['data_dir', 'string'], ['boot', 'int'], ['nodes', 'array']]) member(req, name, kind, req.type);
  if (req.role !== 'server' && req.role !== 'device') throw malformed(`role is 'server' or 'device', not '${req.role}'`);
  if (!/^[0-9]+$/.test(req.seed)) throw malformed('the seed is a decimal string');
}

/**
 * spec: {
 *   name,                          for logs
 *   ops, features,                 what init_ok declares
 *   load(),                        requires the engine; returns {device(ctx), server(ctx)} factories (may be async)
 * }
 */
function serve(spec) {
  const name = spec.name;
  let engine = null;
  let node = null;
  let ctx = null;
  let reported = new Map();   // key -> JSON of the record form last reported
  let buffered = '';
  let busy = false;
  let ended = false;

  async function reportRecords(fx) {
    const now = await node.records();
    for (const key of [...now.keys()].sort()) {
      const rec = now.get(key);
      const text = JSON.stringify(rec);
      if (reported.get(key) !== text) {
        fx.add('record', { record: rec });
        reported.set(key, text);
      }
    }
    for (const key of [...reported.keys()].sort()) {
      if (!now.has(key)) {
        const { type, id } = JSON.parse(reported.get(key));
        fx.add('record', { record: { type, id, absent: true } });
        reported.delete(key);
      }
    }
  }

  async function settled() {
    await det.settle();
    const failure = det.takeFailure();
    if (failure) throw failure;
  }

  /** Settle, announce timers, report records, then served: the lines before the terminator. */
  async function finish(fx) {
    await settled();
    await reportRecords(fx);
    await settled();
    for (const t of det.unannounced()) fx.add('set_timer', t);
    const lines = fx.lines;
    for (const peer of fx.servedPeers) lines.push({ type: 'served', peer });
    return lines;
  }

  async function start(req, fx) {
    checkInit(req);
    if (req.protocol !== PROTOCOL) logErr(name, `syncsim speaks ${req.protocol}; this node speaks ${PROTOCOL}`);
    det.setClock(req.wall_us, req.mono_us);
    det.setOrigin(req.wall_us, req.mono_us);
    det.seed(req.seed, `${req.node}#${req.boot}`);
    if (!engine) engine = await spec.load();
    ctx = {
      name: req.node,
      role: req.role,
      user: typeof req.user === 'string' ? req.user : '',
      nodes: req.nodes.filter((n) => n && typeof n.name === 'string'),
      dataDir: req.data_dir,
      boot: req.boot,
      seed: req.seed,
      fx,
      log: (text) => logErr(`${name} ${req.node}`, text),
      rng: det.ownRng(req.seed, `${req.node}#${req.boot}`),
    };
    ctx.users = new Map(ctx.nodes.filter((n) => n.role === 'device').map((n) => [n.name, typeof n.user === 'string' ? n.user : '']));
    node = await (req.role === 'server' ? engine.server(ctx) : engine.device(ctx));
    reported = new Map();
  }

  async function handle(req) {
    const fx = new Effects();
    if (ctx) ctx.fx = fx;
    if (!req || typeof req !== 'object' || Array.isArray(req)) throw malformed('the request is not a JSON object');
    const kind = member(req, 'type', 'string', 'the request');
    member(req, 'seq', 'int', kind);
    member(req, 'wall_us', 'int', kind);
    member(req, 'mono_us', 'int', kind);
    det.setClock(req.wall_us, req.mono_us);
    if (kind === 'init') {
      if (node) throw malformed('init comes once, first');
      await start(req, fx);
      const lines = await finish(fx);
      lines.push({ type: 'init_ok', in_reply_to: req.seq, protocol: PROTOCOL, idle: node.idle(), ops: spec.ops, features: spec.features || [] });
      return lines;
    }
    if (!node) throw malformed('the first request must be init');
    if (kind === 'reset') throw new ProtocolError(E.NOT_SUPPORTED, 'reset is not supported: start a new process');
    if (kind === 'shutdown') {
      await settled();
      ended = true;
      return [{ type: 'done', in_reply_to: req.seq, idle: node.idle() }];
    }
    const done = { type: 'done', in_reply_to: req.seq };
    if (kind === 'op') {
      const op = checkOp(req);
      if (!spec.ops.includes(op.op)) throw new ProtocolError(E.NOT_SUPPORTED, `operation '${op.op}' is not supported`);
      try {
        await node.op(op);
      } catch (e) {
        if (!(e instanceof Refused)) throw e;
        done.refused = { code: e.code, text: e.message };
      }
    } else if (kind === 'deliver') {
      await node.deliver(member(req, 'src', 'string', 'deliver'), req.body);
    } else if (kind === 'timer') {
      const token = member(req, 'token', 'int', 'timer');
      det.fire(token);
    } else if (kind === 'control') {
      await node.control(member(req, 'control', 'string', 'control'));
    } else if (kind === 'snapshot') {
      await settled();
      const recs = await node.records();
      done.snapshot = { records: [...recs.keys()].sort().map((k) => recs.get(k)), kept: await node.kept() };
    } else {
      throw new ProtocolError(E.NOT_SUPPORTED, `request type '${kind}' is not supported`);
    }
    const lines = await finish(fx);
    done.idle = node.idle();
    lines.push(done);
    return lines;
  }

  async function onLine(line) {
    let seq = null;
    try {
      let req;
      try {
        req = JSON.parse(line);
      } catch (e) {
        throw malformed(`the request is not JSON: ${e.message}`);
      }
      if (req && Number.isInteger(req.seq)) seq = req.seq;
      write(await handle(req));
      if (ended) {
        if (node) await node.close();
        process.exit(0);
      }
    } catch (e) {
      const code = e instanceof ProtocolError ? e.code : E.CRASH;
      logErr(name, `request ${seq}: ${e instanceof ProtocolError ? e.message : (e && e.stack) || e}`);
      write([{ type: 'error', in_reply_to: seq, code, text: String((e && e.message) || e).slice(0, 2000) }]);
      process.exit(e instanceof ProtocolError ? 2 : 1);
    }
  }

  async function pump() {
    if (busy) return;
    busy = true;
    try {
      for (;;) {
        const nl = buffered.indexOf('\n');
        if (nl < 0) break;
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.trim() === '') continue;
        await onLine(line);
      }
    } finally {
      busy = false;
    }
  }

  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk) => {
    buffered += chunk;
    pump();
  });
  process.stdin.on('end', () => {
    if (ended) return;
    const wait = () => {
      if (busy) { det.real.setTimeout(wait, 5); return; }
      if (buffered.trim() !== '') { pump().then(wait); return; }
      logErr(name, 'standard input closed before shutdown');
      process.exit(1);
    };
    wait();
  });
  // A promise nobody awaited failed: the request under way fails with it (settled() rethrows).
  process.on('unhandledRejection', (e) => det.noteFailure(e));
}

module.exports = { serve, Effects, PROTOCOL };
