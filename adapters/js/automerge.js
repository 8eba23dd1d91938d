#!/usr/bin/env node
'use strict';
/*
 * Automerge (@automerge/automerge) as syncsim replicas: see scenarios/engines/automerge/README.md.
 *
 *   records  one document per replica (the server: one per user); the root map's key JSON
 *            [type, id] holds a map per record: 'f' the fields, each the provenance pair as a
 *            map {v, w} (strings as ImmutableString, integers as Counter with 'incs', the
 *            increments applied to it, as a list of {w}); 'ev' a list of appended events {w, f};
 *            'del' the tombstone {v: true, w: the delete} (a delete also removes the fields);
 *            'w' the last write applied to the record; 'c' the create that made the map (what
 *            a conflict between two creates of one record names). A create sets a fresh map.
 *   sync     generateSyncMessage / receiveSyncMessage, one sync state per peer. A device's sync
 *            round is a connection: it resets its sync state at the start of every round (and
 *            the server resets its state for that device when a new round id arrives), as
 *            Automerge's documentation says to do after a reconnect; a lost message fails the
 *            round and the retry is a new connection. --no-reset keeps sync states across
 *            rounds instead (the protocol run raw over an unreliable network).
 *   storage  saveIncremental() after every change, appended to a log in the data directory;
 *            past 64 chunks, save() writes the whole document and the log starts again.
 *   ids      the actor id is a hash of the replica's name and boot count.
 *   conflicts  after a sync message, each new loser in getConflicts is a `conflict` effect
 *            (reportConflicts).
 */
const lib = require('./lib');   // first: the determinism shims

const { ProtocolError, Refused, E, BadReply, Rounds, EntryLog, recordKey, parseKey, recordForm, isObject, writeAtomic, readOr } = lib;

const COMPACT_AFTER = 64;
const RESET_ROUNDS = !process.argv.includes('--no-reset');

/*
 * Automerge is a WebAssembly module of several megabytes. V8's default dynamic tiering compiles
 * every function that gets warm a second time with TurboFan, on background threads: in a
 * replica that lives for one run (a swarm seed: five processes, a few hundred requests each)
 * that compilation cost more CPU than all the requests together. With Liftoff (the baseline
 * compiler) only, swarm seeds 1..5 cost 2.6 CPU s each instead of 5.8 (min of 3, syncsim and
 * its node children; issue 11), and the week-long scenario is not slower. The flags change how
 * fast the module runs, never what it computes (the trace hashes are the same). They must be
 * set before the module is compiled: engine() runs at init, before the first require of it.
 */
function baselineWasmOnly() {
  require('v8').setFlagsFromString('--no-wasm-tier-up');
  require('v8').setFlagsFromString('--no-wasm-dynamic-tiering');
}

function engine() {
  baselineWasmOnly();
  const A = require('@automerge/automerge');

  const str = (s) => new A.ImmutableString(s);

  /** A provenance pair as Automerge values: scalar strings, integers as counters. */
  function amPair(pair) {
    if (Number.isInteger(pair.v)) return { v: new A.Counter(pair.v), w: str(pair.w), incs: [] };
    return { v: typeof pair.v === 'string' ? str(pair.v) : pair.v, w: str(pair.w) };
  }

  function amFields(fields) {
    const out = {};
    for (const [name, pair] of Object.entries(fields)) out[name] = amPair(pair);
    return out;
  }

  /** An Automerge document kept as a snapshot and a log of incremental saves. */
  class Stored {
    constructor(dir, base, actor) {
      this.snapFile = `${dir}/${base}.automerge`;
      this.log = new EntryLog(`${dir}/${base}.incremental`);
      const snap = readOr(this.snapFile, null);
      this.doc = snap ? A.load(new Uint8Array(snap), { actor }) : A.init({ actor });
      for (const chunk of this.log.readAll()) this.doc = A.loadIncremental(this.doc, chunk);
      A.saveIncremental(this.doc);   // what was loaded is stored already
      this.conflictsReported = new Set();   // JSON [record key, winner, loser] (reportConflicts)
    }

    /** The records, read again only when the document's heads moved. */
    records(tenant) {
      const heads = A.getHeads(this.doc).join(',');
      if (heads !== this.recordsAt) {
        this.cached = recordsOf(this.doc, tenant, new Map());
        this.recordsAt = heads;
      }
      return new Map(this.cached);
    }

    /** conflictsOf(doc), computed again only when the document's heads moved. */
    conflicts() {
      const heads = A.getHeads(this.doc).join(',');
      if (heads !== this.conflictsAt) {
        this.conflictsCached = conflictsOf(this.doc);
        this.conflictsAt = heads;
      }
      return this.conflictsCached;
    }

    /** Write what changed since the last save (before the request is answered). */
    persist() {
      const chunk = A.saveIncremental(this.doc);
      if (chunk.length === 0) return;
      if (this.log.count + 1 > COMPACT_AFTER) {
        writeAtomic(this.snapFile, A.save(this.doc));
        writeAtomic(this.log.file, Buffer.alloc(0));
        this.log.count = 0;
        return;
      }
      this.log.append(chunk);
    }
  }

  function recordsOf(doc, tenant, out) {
    const js = A.toJS(doc);
    for (const key of Object.keys(js)) {
      const rec = js[key];
      if (!isObject(rec) || !isObject(rec.f)) continue;
      const { type, id } = parseKey(key);
      const fields = {};
      for (const [name, p] of Object.entries(rec.f)) {
        if (!isObject(p)) continue;
        const incs = Array.isArray(p.incs) ? p.incs.map((x) => x && x.w).filter((w) => typeof w === 'string') : [];
        if (incs.length) fields[name] = { v: p.v, w: incs[incs.length - 1], also: [p.w, ...incs.slice(0, -1)] };
        else fields[name] = { v: p.v, w: p.w };
      }
      const events = Array.isArray(rec.ev) ? rec.ev.filter(isObject).map((e) => e.w) : [];
      const w = typeof rec.w === 'string' ? rec.w : null;
      out.set(key, recordForm({ type, id, deleted: !!rec.del, w, del_w: rec.del && rec.del.w, tenant, fields, events }));
    }
    return out;
  }

  /** A value read from a document (a proxy below the root) as plain JSON. */
  function plain(x) {
    if (x === null || typeof x !== 'object') return x;
    if (A.isCounter(x)) return x.value;
    if (A.isImmutableString(x)) return x.val;
    if (Array.isArray(x)) return x.map(plain);
    const o = {};
    for (const k of Object.keys(x)) o[k] = plain(x[k]);
    return o;
  }

  /** Writes that lost a concurrent assignment and stay readable through getConflicts. */
  function keptOf(doc) {
    const out = [];
    const losers = (obj, key) => {
      const all = A.getConflicts(obj, key);
      if (!all || Object.keys(all).length < 2) return [];
      const winner = obj[key];
      const winnerId = isObject(winner) ? A.getObjectId(winner) : null;
      return Object.values(all).filter((v) => !(isObject(v) && A.getObjectId(v) === winnerId));
    };
    for (const key of Object.keys(doc).sort()) {
      let parsed;
      try { parsed = parseKey(key); } catch (e) { continue; }
      const { type, id } = parsed;
      const add = (value) => {
        for (const w of lib.writeIdsIn(plain(value))) out.push({ type, id, w });
      };
      for (const lost of losers(doc, key)) if (isObject(lost)) add(lost);
      const rec = doc[key];
      if (!isObject(rec) || !isObject(rec.f)) continue;
      for (const name of Object.keys(rec.f).sort()) for (const lost of losers(rec.f, name)) if (isObject(lost)) add(lost);
    }
    return out;
  }

  /**
   * Every losing value Automerge holds beside the one it picked, as {key, detail, winner, loser}
   * (write ids), in the document's key order: a record key whose concurrent creates each set a
   * map (detail 'record': a value's write id is the create's, its map's 'c'), and
   * a field whose concurrent assignments each set a pair (detail 'field': the pair's 'w'). The
   * bookkeeping keys 'w' and 'del' are not fields: they conflict with every concurrent change.
   * O(records + fields).
   */
  function conflictsOf(doc) {
    const out = [];
    const writeOf = (value, member) => {
      const w = isObject(value) ? plain(value[member]) : undefined;
      return typeof w === 'string' ? w : null;
    };
    const scan = (obj, key, recordKey, detail) => {
      const member = detail === 'record' ? 'c' : 'w';
      const all = A.getConflicts(obj, key);
      if (!all) return;
      const opIds = Object.keys(all).sort();
      if (opIds.length < 2) return;
      const winner = writeOf(obj[key], member);
      if (winner === null) return;
      for (const opId of opIds) {
        const loser = writeOf(all[opId], member);
        if (loser !== null && loser !== winner) out.push({ key: recordKey, detail, winner, loser });
      }
    };
    for (const key of Object.keys(doc).sort()) {
      try { parseKey(key); } catch (e) { continue; }
      scan(doc, key, key, 'record');
      const rec = doc[key];
      if (!isObject(rec) || !isObject(rec.f)) continue;
      for (const name of Object.keys(rec.f).sort()) scan(rec.f, name, key, 'field');
    }
    return out;
  }

  /**
   * The conflicts a replica reports: after a sync message is applied to `stored`, each losing
   * value that was not among the losers before it (`before`: stored.conflicts() taken before the
   * message; a document replaced by receiveSyncMessage reads as the new one), a new conflict or
   * a new loser of an old one, once per document and (record, winner, loser). The set lives as
   * long as the process: a restarted replica may report a conflict again (it is a new writer).
   */
  function reportConflicts(fx, stored, before) {
    const reported = stored.conflictsReported;
    const seen = new Set(before.map((c) => `${c.key}\n${c.detail}\n${c.loser}`));
    for (const c of stored.conflicts()) {
      if (seen.has(`${c.key}\n${c.detail}\n${c.loser}`)) continue;
      const once = JSON.stringify([c.key, c.winner, c.loser]);
      if (reported.has(once)) continue;
      reported.add(once);
      const { type, id } = parseKey(c.key);
      fx.add('conflict', { record: { type, id }, winner: c.winner, loser: c.loser, detail: c.detail });
    }
  }

  /** Write ids in changes, by the ops that set a 'w': every pair, event, increment and tombstone has one. */
  function writesIn(changes) {
    const out = [];
    for (const c of changes) {
      for (const op of A.decodeChange(c).ops) {
        if (op.action === 'set' && op.key === 'w' && typeof op.value === 'string') out.push(op.value);
      }
    }
    return out;
  }

  class Device {
    constructor(ctx) {
      this.ctx = ctx;
      this.store = new Stored(ctx.dataDir, 'doc', lib.replicaHex(16, 'automerge', ctx.name, ctx.boot));
      this.syncState = A.initSyncState();
      this.syncedHeads = null;    // heads when a round last completed
      this.localOps = 0;
      this.pulledKeys = new Set();
      this.round = 0;
      this.rounds = new Rounds(ctx, this);
    }

    get doc() { return this.store.doc; }

    live(op) {
      const rec = this.doc[recordKey(op.type, op.id)];
      if (!isObject(rec)) throw new Refused(E.NOT_FOUND, 'no such record');
      if (rec.del) throw new Refused(E.DELETED, 'the record is deleted');
      return rec;
    }

    async op(op) {
      const key = recordKey(op.type, op.id);
      let change;
      if (op.op === 'create') {
        const old = this.doc[key];
        if (isObject(old) && !old.del) throw new Refused(E.REFUSED, 'the record already exists');
        change = (d) => { d[key] = { f: amFields(op.fields), ev: [], w: str(op.w), c: str(op.w) }; };
      } else if (op.op === 'update') {
        this.live(op);
        change = (d) => {
          for (const [name, pair] of Object.entries(op.fields)) d[key].f[name] = amPair(pair);
          d[key].w = str(op.w);
        };
      } else if (op.op === 'delete') {
        this.live(op);
        // The tombstone, and the fields go: a field set concurrently survives the merge (Automerge:
        // a set concurrent with a delete of the key wins), under the tombstone.
        change = (d) => {
          for (const name of Object.keys(d[key].f).sort()) delete d[key].f[name];
          d[key].del = { v: true, w: str(op.w) };
          d[key].w = str(op.w);
        };
      } else if (op.op === 'increment') {
        const rec = this.live(op);
        const [name, pair] = Object.entries(op.fields)[0];
        const cur = rec.f[name];
        if (isObject(cur) && !A.isCounter(cur.v)) throw new Refused(E.INVALID, `field '${name}' is not a counter`);
        change = (d) => {
          const p = d[key].f[name];
          if (!p) {
            d[key].f[name] = { v: new A.Counter(pair.v), w: str(op.w), incs: [] };
          } else {
            p.v.increment(pair.v);
            p.incs.push({ w: str(op.w) });
          }
          d[key].w = str(op.w);
        };
      } else if (op.op === 'append') {
        this.live(op);
        change = (d) => {
          d[key].ev.push({ w: str(op.w), f: amFields(op.fields) });
          d[key].w = str(op.w);
        };
      } else {
        throw new Refused(E.NOT_SUPPORTED, `Automerge has no '${op.op}' here`);
      }
      this.store.doc = A.change(this.doc, change);
      this.store.persist();
      this.localOps++;
      this.rounds.wrote();
    }

    deliver(src, body) { return this.rounds.deliver(src, body); }
    control(what) { return this.rounds.control(what); }
    idle() { return this.rounds.idle(); }
    async records() { return this.store.records(this.ctx.user); }
    async kept() { return keptOf(this.doc); }
    close() {}

    // --- the sync session (lib/sync.js)
    begin(first) {
      if (first) this.pulledKeys.clear();
      if (RESET_ROUNDS) {
        // A new connection: keep only what the sync state may keep across one (the shared heads).
        this.syncState = A.decodeSyncState(A.encodeSyncState(this.syncState));
        this.round++;
      }
      return this.next(true);
    }

    next(always) {
      const [state, msg] = A.generateSyncMessage(this.doc, this.syncState);
      this.syncState = state;
      if (!msg && !always) return null;
      return { kind: 'am', round: `${this.ctx.boot}-${this.round}`, msg: msg ? lib.b64(msg) : null };
    }

    reply(body) {
      if (body.kind !== 'am' || !(body.msg === null || typeof body.msg === 'string')) throw new BadReply(`a '${body.kind}' answer`);
      if (body.msg !== null) {
        const before = A.getHeads(this.doc);
        const beforeConflicts = this.store.conflicts();
        const [doc, state] = A.receiveSyncMessage(this.doc, this.syncState, lib.unb64(body.msg));
        this.store.doc = doc;
        this.syncState = state;
        this.store.persist();
        const after = A.getHeads(doc);
        if (before.join(',') !== after.join(',')) {
          reportConflicts(this.ctx.fx, this.store, beforeConflicts);
          for (const patch of A.diff(doc, before, after)) if (patch.path.length) this.pulledKeys.add(String(patch.path[0]));
        }
      }
      const next = this.next(false);
      if (next) return next;
      if (body.msg !== null) return this.next(true);   // the server spoke last: let it say whether it is done
      this.syncedHeads = A.getHeads(this.doc).join(',');
      this.localOps = 0;
      return null;
    }

    abort() {}
    dirty() {
      const heads = A.getHeads(this.doc).join(',');
      return this.syncedHeads === null ? heads !== '' : heads !== this.syncedHeads;
    }
    queue() { return this.localOps; }
    pulled() { return this.pulledKeys.size; }
  }

  class Server {
    constructor(ctx) {
      this.ctx = ctx;
      this.docs = new Map();    // user -> Stored
      this.peers = new Map();   // device -> {round, syncState}
      this.seen = new Set();
      for (const user of [...new Set(ctx.users.values())].sort()) this.docFor(user);
    }

    docFor(user) {
      let s = this.docs.get(user);
      if (!s) {
        s = new Stored(this.ctx.dataDir, lib.userFile(user), lib.replicaHex(16, 'automerge', this.ctx.name, this.ctx.boot, user));
        this.docs.set(user, s);
      }
      return s;
    }

    async deliver(src, body) {
      const user = this.ctx.users.get(src);
      if (user === undefined || !isObject(body) || body.kind !== 'am' || !(body.msg === null || typeof body.msg === 'string')) {
        this.ctx.fx.log(`ignored a message from ${src} that is not an Automerge sync message`);
        return;
      }
      const stored = this.docFor(user);
      let peer = this.peers.get(src);
      if (!peer) {
        peer = { round: body.round, syncState: A.initSyncState() };
        this.peers.set(src, peer);
      } else if (RESET_ROUNDS && peer.round !== body.round) {
        // The device reconnected: reset as after any reconnect.
        peer.round = body.round;
        peer.syncState = A.decodeSyncState(A.encodeSyncState(peer.syncState));
      }
      if (body.msg !== null) {
        const before = stored.doc;
        const beforeConflicts = stored.conflicts();
        const [doc, state] = A.receiveSyncMessage(stored.doc, peer.syncState, lib.unb64(body.msg));
        stored.doc = doc;
        peer.syncState = state;
        const fresh = A.getChanges(before, doc);
        if (fresh.length) {
          stored.persist();
          reportConflicts(this.ctx.fx, stored, beforeConflicts);
          for (const w of writesIn(fresh)) {
            if (this.seen.has(w)) continue;
            this.seen.add(w);
            this.ctx.fx.received(w);
          }
        }
      }
      const [state, msg] = A.generateSyncMessage(stored.doc, peer.syncState);
      peer.syncState = state;
      this.ctx.fx.send(src, { kind: 'am', req: body.req, round: body.round, msg: msg ? lib.b64(msg) : null });
      if (!msg) this.ctx.fx.served(src);   // nothing more to send: the device has it all
    }

    async op() { throw new ProtocolError(E.NOT_SUPPORTED, 'the server takes no user operations'); }
    async control() {}
    idle() { return true; }
    async records() {
      const out = new Map();
      for (const [user, s] of this.docs) for (const [k, r] of s.records(user)) out.set(k, r);
      return out;
    }
    async kept() {
      const out = [];
      for (const s of this.docs.values()) out.push(...keptOf(s.doc));
      return out;
    }
    close() {}
  }

  return { device: (ctx) => new Device(ctx), server: (ctx) => new Server(ctx) };
}

lib.serve({
  name: 'automerge',
  ops: ['create', 'update', 'delete', 'increment', 'append'],
  features: ['received'],
  load: engine,
});
