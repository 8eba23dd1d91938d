#!/usr/bin/env node
'use strict';
/*
 * PouchDB (pouchdb-core with pouchdb-adapter-memory) as syncsim replicas: see
 * scenarios/engines/pouchdb/README.md.
 *
 *   records  a document per record, _id JSON [type, id]: {type, id, w: the write that made this
 *            revision, f: {field: provenance pair}}. A delete is a _deleted revision that keeps
 *            {type, id, w}. An appended event is a document of its own, _id JSON
 *            [type, id, "#event", time, w], never edited: events cannot conflict.
 *   sync     the CouchDB replication protocol, one request per message: push (the device's
 *            changes since its checkpoint, revs_diff, bulk_docs with new_edits: false), then
 *            pull (the server's changes since the device's checkpoint, revs_diff locally,
 *            bulk_get, bulk_docs with new_edits: false). Checkpoints are _local documents.
 *   conflicts  PouchDB's deterministic winner; a losing leaf stays in _conflicts and is
 *            listed in the snapshot's kept; a losing leaf a document gains is a `conflict`
 *            effect (View.noteConflicts).
 *   storage  the memory adapter (leveldb-core over MemDOWN) with MemDOWN's writes appended to
 *            a log in the data directory before they complete, as LevelDB logs every write
 *            batch; the log is replayed when the database opens.
 *   ids      revision ids are PouchDB's deterministic MD5s; the instance id comes from the
 *            seeded uuid; checkpoints name the replica and its boot count.
 */
const lib = require('./lib');   // first: the determinism shims

const fs = require('fs');
const { ProtocolError, Refused, E, BadReply, Rounds, recordKey, parseKey, recordForm, isObject, writeAtomic } = lib;

const BATCH = 50;            // changes per push batch and pull page
const COMPACT_LINES = 2000;  // log lines before the store is rewritten as one

function engine() {
  const MemDOWN = require('memdown');
  const PouchDB = require('pouchdb-core').plugin(require('pouchdb-adapter-memory'));

  // --- MemDOWN with a write log --------------------------------------------------------------

  const enc = (x) => (Buffer.isBuffer(x) ? { b: x.toString('base64') } : { s: String(x) });
  const dec = (x) => (x.b !== undefined ? Buffer.from(x.b, 'base64') : x.s);
  const noop = () => {};

  function DurableMemDOWN(location) {
    if (!(this instanceof DurableMemDOWN)) return new DurableMemDOWN(location);
    MemDOWN.call(this, location);
    this.logFile = location + '.log';
    this.lines = 0;
  }
  Object.setPrototypeOf(DurableMemDOWN.prototype, MemDOWN.prototype);
  Object.setPrototypeOf(DurableMemDOWN, MemDOWN);

  DurableMemDOWN.prototype._open = function (options, callback) {
    let text = '';
    try {
      text = fs.readFileSync(this.logFile, 'utf8');
    } catch (e) {
      if (e.code !== 'ENOENT') return callback(e);
    }
    for (const line of text.split('\n')) {
      if (!line) continue;
      let ops;
      try {
        ops = JSON.parse(line);
      } catch (e) {
        break;   // a torn last line
      }
      MemDOWN.prototype._batch.call(this, ops.map((o) => ({ type: o.t, key: dec(o.k), value: o.v && dec(o.v) })), {}, noop);
      this.lines++;
    }
    MemDOWN.prototype._open.call(this, options, callback);
  };

  DurableMemDOWN.prototype.logOps = function (ops) {
    fs.appendFileSync(this.logFile, JSON.stringify(ops.map((o) => (o.type === 'put'
      ? { t: 'put', k: enc(o.key), v: enc(o.value === undefined || o.value === null ? '' : o.value) }
      : { t: 'del', k: enc(o.key) }))) + '\n');
    if (++this.lines > COMPACT_LINES) {
      const all = [];
      this._store[this._location].forEach((k, v) => { all.push({ t: 'put', k: enc(k), v: enc(v) }); });
      writeAtomic(this.logFile, JSON.stringify(all) + '\n');
      this.lines = 1;
    }
  };

  DurableMemDOWN.prototype._put = function (key, value, options, callback) {
    MemDOWN.prototype._put.call(this, key, value, options, callback);
    this.logOps([{ type: 'put', key, value }]);
  };
  DurableMemDOWN.prototype._del = function (key, options, callback) {
    MemDOWN.prototype._del.call(this, key, options, callback);
    this.logOps([{ type: 'del', key }]);
  };
  DurableMemDOWN.prototype._batch = function (array, options, callback) {
    const ops = array.filter(Boolean);
    MemDOWN.prototype._batch.call(this, array, options, callback);
    if (ops.length) this.logOps(ops);
  };

  function open(file) {
    return new PouchDB(file, { adapter: 'memory', db: DurableMemDOWN });
  }

  // --- documents -----------------------------------------------------------------------------

  const eventId = (type, id, at, w) => JSON.stringify([type, id, '#event', String(at).padStart(16, '0'), w]);

  /** What one database holds, kept current from its changes feed: records and their events. */
  class View {
    constructor(db, tenant) {
      this.db = db;
      this.tenant = tenant;
      this.seq = 0;
      this.docs = new Map();     // record key -> winning revision's body
      this.events = new Map();   // record key -> Map event doc id -> w
      this.conflictsReported = new Set();   // JSON [record key, loser write] (noteConflicts)
    }

    /** The losing leaves of each record document among `docIds`, by key: sorted revision ids. */
    async losingLeaves(docIds) {
      const out = new Map();
      for (const docId of [...new Set(docIds)].sort()) {
        if (!isRecordDoc(docId)) continue;
        out.set(docId, await conflictRevs(this.db, docId));
      }
      return out;
    }

    /**
     * After a write to the documents of `before` (losingLeaves() taken before it): a conflict
     * for each losing leaf a document gained, winner the write the winning revision's body
     * carries, loser the write the leaf's body carries; once per database and (record, loser).
     */
    async noteConflicts(fx, before) {
      for (const [docId, had] of before) {
        const now = await conflictRevs(this.db, docId);
        if (now.length === 0) continue;
        const winner = await this.db.get(docId);
        for (const rev of now) {
          if (had.includes(rev)) continue;
          const lost = await this.db.get(docId, { rev });
          if (typeof lost.w !== 'string' || typeof winner.w !== 'string' || lost.w === winner.w) continue;
          const once = JSON.stringify([docId, lost.w]);
          if (this.conflictsReported.has(once)) continue;
          this.conflictsReported.add(once);
          const { type, id } = parseKey(docId);
          fx.add('conflict', { record: { type, id }, winner: winner.w, loser: lost.w, detail: 'revision' });
        }
      }
    }

    async refresh() {
      for (;;) {
        const ch = await this.db.changes({ since: this.seq, include_docs: true, limit: 500 });
        for (const r of ch.results) this.take(r.id, r.doc);
        this.seq = ch.last_seq;
        if (ch.results.length < 500) return;
      }
    }

    take(docId, doc) {
      let parts;
      try { parts = JSON.parse(docId); } catch (e) { return; }
      if (!Array.isArray(parts)) return;
      const key = recordKey(parts[0], parts[1]);
      if (parts.length === 2) {
        this.docs.set(key, doc);
      } else if (parts[2] === '#event') {
        if (!this.events.has(key)) this.events.set(key, new Map());
        if (doc && !doc._deleted) this.events.get(key).set(docId, doc.w);
        else this.events.get(key).delete(docId);
      }
    }

    records(out) {
      for (const [key, doc] of this.docs) {
        if (!doc) continue;
        const { type, id } = parseKey(key);
        const ev = this.events.get(key);
        const events = ev ? [...ev.keys()].sort().map((k) => ev.get(k)) : [];
        const deleted = !!doc._deleted;
        out.set(key, recordForm({ type, id, deleted, w: doc.w, del_w: deleted ? doc.w : null, tenant: this.tenant, fields: deleted ? {} : doc.f || {}, events }));
      }
      return out;
    }

    /** Losing leaves PouchDB keeps in _conflicts: every write their bodies carry. */
    async kept() {
      const out = [];
      for (const key of [...this.docs.keys()].sort()) {
        const { type, id } = parseKey(key);
        let doc;
        try {
          doc = await this.db.get(key, { conflicts: true });
        } catch (e) {
          continue;   // deleted: a deleted winner has no _conflicts worth showing
        }
        for (const rev of doc._conflicts || []) {
          const lost = await this.db.get(key, { rev });
          for (const w of lib.writeIdsIn({ w: lost.w, f: lost.f })) out.push({ type, id, w });
        }
      }
      return out;
    }
  }

  /** True for a record's document (not an event's, not a _local one). */
  function isRecordDoc(docId) {
    let parts;
    try { parts = JSON.parse(docId); } catch (e) { return false; }
    return Array.isArray(parts) && parts.length === 2;
  }

  /** A document's losing leaves (PouchDB's _conflicts: live leaves only), sorted; none when deleted or absent. */
  async function conflictRevs(db, docId) {
    try {
      const doc = await db.get(docId, { conflicts: true });
      return [...(doc._conflicts || [])].sort();
    } catch (e) {
      if (e.status === 404) return [];
      throw e;
    }
  }

  /** The write ids a document revision carries (its own and its fields'). */
  const writesOf = (doc) => lib.writeIdsIn({ w: doc.w, f: doc.f });

  class Device {
    constructor(ctx, db) {
      this.ctx = ctx;
      this.db = db;
      this.view = new View(db, ctx.user);
      this.session = `${ctx.name}#${ctx.boot}`;
      this.pushSeq = 0;
      this.pullSeq = 0;
      this.updateSeq = 0;
      this.pulledCount = 0;
      this.step = null;
      this.rounds = new Rounds(ctx, this);
    }

    static async open(ctx) {
      const d = new Device(ctx, open(`${ctx.dataDir}/pouchdb`));
      d.pushSeq = (await d.getLocal('push')).seq || 0;
      d.pullSeq = (await d.getLocal('pull')).seq || 0;
      d.updateSeq = (await db_info(d.db)).update_seq;
      await d.view.refresh();
      return d;
    }

    async getLocal(name) {
      try {
        return await this.db.get(`_local/syncsim-${name}`);
      } catch (e) {
        if (e.status === 404) return { _id: `_local/syncsim-${name}` };
        throw e;
      }
    }

    async setLocal(name, seq) {
      const doc = await this.getLocal(name);
      await this.db.put({ ...doc, seq, session_id: this.session });
    }

    async current(op) {
      try {
        return await this.db.get(recordKey(op.type, op.id));
      } catch (e) {
        if (e.status !== 404) throw e;
        return e.reason === 'deleted' ? 'deleted' : null;
      }
    }

    async live(op) {
      const doc = await this.current(op);
      if (doc === null) throw new Refused(E.NOT_FOUND, 'no such record');
      if (doc === 'deleted') throw new Refused(E.DELETED, 'the record is deleted');
      return doc;
    }

    async op(op) {
      const key = recordKey(op.type, op.id);
      // A local write on a conflicted document can make a losing leaf of it (a delete of the
      // winner lets a live loser win), so it is watched as replication is.
      const before = await this.view.losingLeaves([key]);
      await this.edit(key, op);
      await this.view.noteConflicts(this.ctx.fx, before);
      this.updateSeq = (await db_info(this.db)).update_seq;
      this.rounds.wrote();
    }

    async edit(key, op) {
      if (op.op === 'create') {
        const doc = await this.current(op);
        if (isObject(doc)) throw new Refused(E.REFUSED, 'the record already exists');
        // On a deleted document PouchDB extends the deleted branch: nothing from before comes back.
        await this.db.put({ _id: key, type: op.type, id: op.id, w: op.w, f: op.fields });
      } else if (op.op === 'update') {
        const doc = await this.live(op);
        await this.db.put({ ...doc, w: op.w, f: { ...doc.f, ...op.fields } });
      } else if (op.op === 'delete') {
        const doc = await this.live(op);
        // The record's events go with it; each deleted revision keeps the write it was made by.
        const prefix = JSON.stringify([op.type, op.id, '#event']).slice(0, -1);
        const events = await this.db.allDocs({ startkey: prefix, endkey: prefix + '\uffff', include_docs: true });
        await this.db.bulkDocs([
          { _id: key, _rev: doc._rev, _deleted: true, type: op.type, id: op.id, w: op.w },
          ...events.rows.map((r) => ({ _id: r.id, _rev: r.value.rev, _deleted: true, type: op.type, id: op.id, w: r.doc.w })),
        ]);
      } else if (op.op === 'append') {
        await this.live(op);
        await this.db.put({ _id: eventId(op.type, op.id, Date.now(), op.w), type: op.type, id: op.id, w: op.w, f: op.fields });
      } else {
        throw new Refused(E.NOT_SUPPORTED, `PouchDB has no '${op.op}' here`);
      }
    }

    deliver(src, body) { return this.rounds.deliver(src, body); }
    control(what) { return this.rounds.control(what); }
    idle() { return this.rounds.idle(); }
    async records() {
      await this.view.refresh();
      return this.view.records(new Map());
    }
    kept() { return this.view.kept(); }
    close() { return this.db.close(); }

    // --- the sync session (lib/sync.js): push, then pull, one request at a time
    async begin(first) {
      if (first) this.pulledCount = 0;
      return this.pushStep();
    }

    async pushStep() {
      const ch = await this.db.changes({ since: this.pushSeq, style: 'all_docs', limit: BATCH });
      if (ch.results.length === 0) {
        if (ch.last_seq > this.pushSeq) await this.savePush(ch.last_seq);
        return this.pullStep();
      }
      const revs = {};
      for (const r of ch.results) revs[r.id] = r.changes.map((c) => c.rev);
      this.step = { kind: 'revs_diff', lastSeq: ch.last_seq, revs };
      return { kind: 'revs_diff', revs };
    }

    async savePush(seq) {
      this.pushSeq = seq;
      await this.setLocal('push', seq);
    }

    pullStep() {
      this.step = { kind: 'changes' };
      return { kind: 'changes', since: this.pullSeq, limit: BATCH };
    }

    async reply(body) {
      const step = this.step;
      if (!step || body.kind !== step.kind + '_ok') throw new BadReply(`'${body.kind}' in answer to '${step && step.kind}'`);
      if (step.kind === 'revs_diff') {
        if (!isObject(body.missing)) throw new BadReply('revs_diff_ok without missing');
        const want = [];
        for (const [id, m] of Object.entries(body.missing)) for (const rev of (m && m.missing) || []) want.push({ id, rev });
        if (want.length === 0) {
          await this.savePush(step.lastSeq);
          return this.pushStep();
        }
        const got = await this.db.bulkGet({ docs: want, revs: true });
        const docs = [];
        for (const r of got.results) for (const d of r.docs) if (d.ok) docs.push(d.ok);
        this.step = { kind: 'bulk_docs', lastSeq: step.lastSeq };
        return { kind: 'bulk_docs', docs };
      }
      if (step.kind === 'bulk_docs') {
        await this.savePush(step.lastSeq);
        return this.pushStep();
      }
      if (step.kind === 'changes') {
        if (!Array.isArray(body.results) || body.last_seq === undefined) throw new BadReply('changes_ok without results');
        if (body.results.length === 0) {
          if (body.last_seq !== this.pullSeq) await this.savePull(body.last_seq);
          return null;   // at the server's head: the round is complete
        }
        const revs = {};
        for (const r of body.results) if (typeof r.id === 'string' && Array.isArray(r.changes)) revs[r.id] = r.changes.map((c) => c.rev);
        const missing = await this.db.revsDiff(revs);
        const want = [];
        for (const [id, m] of Object.entries(missing)) for (const rev of m.missing || []) want.push({ id, rev });
        if (want.length === 0) {
          await this.savePull(body.last_seq);
          return this.pullStep();
        }
        this.step = { kind: 'bulk_get', lastSeq: body.last_seq };
        return { kind: 'bulk_get', docs: want };
      }
      if (step.kind === 'bulk_get') {
        if (!Array.isArray(body.results)) throw new BadReply('bulk_get_ok without results');
        const docs = [];
        for (const r of body.results) for (const d of (r && r.docs) || []) if (d && d.ok) docs.push(d.ok);
        if (docs.length) {
          const before = await this.view.losingLeaves(docs.map((d) => d._id));
          await this.db.bulkDocs(docs, { new_edits: false });
          await this.view.noteConflicts(this.ctx.fx, before);
        }
        this.pulledCount += new Set(docs.map((d) => d._id)).size;
        await this.savePull(step.lastSeq);
        return this.pullStep();
      }
      throw new BadReply(`an answer to '${step.kind}'`);
    }

    async savePull(seq) {
      this.pullSeq = seq;
      await this.setLocal('pull', seq);
    }

    abort() { this.step = null; }
    dirty() { return this.updateSeq > this.pushSeq; }
    queue() { return Math.max(0, this.updateSeq - this.pushSeq); }
    pulled() { return this.pulledCount; }
  }

  async function db_info(db) {
    return db.info();
  }

  /** One database per user, like CouchDB's database per user; it answers the replication requests. */
  class Server {
    constructor(ctx) {
      this.ctx = ctx;
      this.dbs = new Map();     // user -> {db, view}
      this.seen = new Set();
    }

    static async open(ctx) {
      const s = new Server(ctx);
      for (const user of [...new Set(ctx.users.values())].sort()) {
        const db = open(`${ctx.dataDir}/${lib.userFile(user)}`);
        const view = new View(db, user);
        await view.refresh();
        s.dbs.set(user, { db, view });
      }
      return s;
    }

    async deliver(src, body) {
      const user = this.ctx.users.get(src);
      const entry = user === undefined ? null : this.dbs.get(user);
      if (!entry || !isObject(body) || typeof body.kind !== 'string') {
        this.ctx.fx.log(`ignored a message from ${src} that is not a replication request`);
        return;
      }
      const { db, view } = entry;
      const answer = (kind, members) => this.ctx.fx.send(src, { kind, req: body.req, ...members });
      if (body.kind === 'revs_diff' && isObject(body.revs)) {
        answer('revs_diff_ok', { missing: await db.revsDiff(body.revs) });
      } else if (body.kind === 'bulk_docs' && Array.isArray(body.docs)) {
        const docs = body.docs.filter((d) => isObject(d) && typeof d._id === 'string' && typeof d._rev === 'string');
        const revs = {};
        for (const d of docs) (revs[d._id] = revs[d._id] || []).push(d._rev);
        const missing = await db.revsDiff(revs);
        for (const d of docs) {
          if (!(missing[d._id] && (missing[d._id].missing || []).includes(d._rev))) continue;
          for (const w of writesOf(d)) {
            if (this.seen.has(w)) continue;
            this.seen.add(w);
            this.ctx.fx.received(w);
          }
        }
        if (docs.length) {
          const before = await view.losingLeaves(docs.map((d) => d._id));
          await db.bulkDocs(docs, { new_edits: false });
          await view.noteConflicts(this.ctx.fx, before);
        }
        answer('bulk_docs_ok', {});
      } else if (body.kind === 'changes' && (body.since === 0 || Number.isInteger(body.since))) {
        const limit = Math.max(1, Math.min(Number.isInteger(body.limit) ? body.limit : BATCH, 500));
        const ch = await db.changes({ since: body.since, style: 'all_docs', limit });
        answer('changes_ok', { results: ch.results.map((r) => ({ id: r.id, changes: r.changes })), last_seq: ch.last_seq });
        if (ch.results.length === 0) this.ctx.fx.served(src);   // at its head: the device has it all
      } else if (body.kind === 'bulk_get' && Array.isArray(body.docs)) {
        const got = await db.bulkGet({ docs: body.docs.filter(isObject), revs: true });
        answer('bulk_get_ok', { results: got.results });
      } else {
        this.ctx.fx.log(`ignored a '${body.kind}' request from ${src}`);
      }
    }

    async op() { throw new ProtocolError(E.NOT_SUPPORTED, 'the server takes no user operations'); }
    async control() {}
    idle() { return true; }
    async records() {
      const out = new Map();
      for (const { view } of this.dbs.values()) {
        await view.refresh();
        view.records(out);
      }
      return out;
    }
    async kept() {
      const out = [];
      for (const { view } of this.dbs.values()) out.push(...await view.kept());
      return out;
    }
    async close() { for (const { db } of this.dbs.values()) await db.close(); }
  }

  return { device: (ctx) => Device.open(ctx), server: (ctx) => Server.open(ctx) };
}

lib.serve({
  name: 'pouchdb',
  ops: ['create', 'update', 'delete', 'append'],
  features: ['received'],
  load: engine,
});
