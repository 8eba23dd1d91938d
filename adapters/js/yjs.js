#!/usr/bin/env node
'use strict';
/*
 * Yjs (yjs, y-protocols) as syncsim replicas: see scenarios/engines/yjs/README.md.
 *
 *   records  one Y.Doc per replica (the server: one per user, like a y-websocket room); a
 *            top-level Y.Map 'records' maps JSON [type, id] to a Y.Map per record, whose
 *            entries 'f:<field>' hold the provenance pairs as given, 'events' a Y.Array of
 *            {w, f} appended events, 'deleted' the tombstone {v: true, w: the delete} (a
 *            delete also removes the 'f:' entries) and 'w' the last write applied to it.
 *            A create (also after a delete) sets a fresh Y.Map: the old one is deleted.
 *   sync     y-protocols' sync steps: a device sends step 1 (its state vector); the server
 *            answers its own step 1 and step 2 (the update the device lacks); the device
 *            answers with step 2 when the server lacks anything, and step 1 again.
 *   storage  every update the doc emits is appended to an update log in the data directory
 *            and merged into one entry past 500, as y-indexeddb keeps its updates.
 *   ids      the doc's clientID is a hash of the replica's name and boot count.
 *   conflicts  Yjs resolves concurrent sets of a key silently (by client id); the adapter reads
 *            from YATA's item order which remote sets were concurrent with the value a field
 *            (or a record's whole map) showed, and from an update's delete set which writes a
 *            replaced record map took with it, and emits `conflict` for them (watchConflicts,
 *            below, says why it is sound and what it leaves out).
 */
const lib = require('./lib');   // first: the determinism shims

const { ProtocolError, Refused, E, BadReply, Rounds, EntryLog, recordKey, parseKey, recordForm, isObject } = lib;

const TRIM_SIZE = 500;   // y-indexeddb's PREFERRED_TRIM_SIZE
const LOAD = 'load';     // transaction origin of updates read from the log

function engine() {
  const Y = require('yjs');
  const sync = require('y-protocols/sync');
  const encoding = require('lib0/encoding');
  const decoding = require('lib0/decoding');

  /** A Y.Doc persisted as an update log. */
  function openDoc(file, clientID) {
    const doc = new Y.Doc();
    doc.clientID = clientID;
    const log = new EntryLog(file);
    const stored = log.readAll();
    doc.transact(() => {
      for (const u of stored) Y.applyUpdate(doc, u, LOAD);
    }, LOAD);
    if (log.count > TRIM_SIZE) log.replace(Y.encodeStateAsUpdate(doc));
    doc.on('update', (update, origin) => {
      if (origin === LOAD) return;
      log.append(update);
      if (log.count > TRIM_SIZE) log.replace(Y.encodeStateAsUpdate(doc));
    });
    return doc;
  }

  function recordOf(key, m, tenant) {
    const { type, id } = parseKey(key);
    const fields = {};
    for (const [k, v] of m.entries()) if (k.startsWith('f:')) fields[k.slice(2)] = v;
    const del = m.get('deleted');
    const ev = m.get('events');
    const events = ev instanceof Y.Array ? ev.toArray().filter(isObject).map((e) => e.w) : [];
    const w = m.get('w');
    return recordForm({ type, id, deleted: !!del, w: typeof w === 'string' ? w : null, del_w: del && del.w, tenant, fields, events });
  }

  function recordsOf(doc, tenant, out) {
    const top = doc.getMap('records');
    for (const [key, m] of top.entries()) if (m instanceof Y.Map) out.set(key, recordOf(key, m, tenant));
    return out;
  }

  const encode = (fn) => {
    const e = encoding.createEncoder();
    fn(e);
    return lib.b64(encoding.toUint8Array(e));
  };

  // --- conflicts: concurrent sets of one field, detected by YATA's own order ------------------
  //
  // A Y.Map keeps every set of a key as an item in one list, in the same order on every replica;
  // the value shown is the rightmost item. A set's item records as its origin the item its writer
  // showed (null: none). Everything that writer knew of the key lies at or left of that origin, so:
  //  - an arriving item whose origin chain (through items arriving with it) ends at a held item
  //    other than the value shown before, or at null, was written without having seen that value:
  //    when it is now shown, it replaced a concurrent value (winner: it; loser: the value before);
  //  - an arriving item placed left of the value shown, which stays shown, lost to it, and its
  //    writer had not seen it either (else its origin would lie at or right of it): winner the
  //    value shown, loser each arriving item no other arriving item overwrote.
  // Replicas hold causally closed states (every message carries everything its sender holds that
  // the receiver lacks), so an item held before an update was written without seeing the items
  // the update brings: the pairs above are concurrent both ways. Only conflicts involving the
  // value shown before the update are reported; two values arriving in one update that conflict
  // with each other are not. The same order decides between concurrent creates of a whole record
  // (a record's Y.Map set at its key of the top map by two devices that had not seen each other's):
  // the losing map goes with every write it carried (its fields, events, tombstone), each reported
  // lost to the write the winning map shows last. Read in afterTransaction: deleted items keep
  // their content until the garbage collection that follows it.

  const held = (item, txn) => item.id.clock < (txn.beforeState.get(item.id.client) || 0);
  const holds = (item, id) => id.client === item.id.client && id.clock >= item.id.clock && id.clock < item.id.clock + item.length;
  /** The write id of a field item's pair, or null. */
  function pairWrite(item) {
    if (!(item.content instanceof Y.ContentAny)) return null;
    const value = item.content.arr[item.content.arr.length - 1];
    return isObject(value) && typeof value.w === 'string' ? value.w : null;
  }

  /** The item of `list` (a key's items, right to left) holding `id`, or null. */
  function itemOf(list, id) {
    for (const item of list) if (holds(item, id)) return item;
    return null;
  }

  /** The write ids a record map's entry `key` holds in `item`: 'w' holds ids, every other entry pairs {w}. */
  function entryWrites(key, item) {
    if (!item || !(item.content instanceof Y.ContentAny)) return [];
    return item.content.arr
      .map((v) => (key === 'w' ? (typeof v === 'string' ? v : null) : isObject(v) && typeof v.w === 'string' ? v.w : null))
      .filter((w) => w !== null);
  }

  /** The last write a record map's item shows ('w'), or null. */
  function mapWrite(item) {
    if (!(item.content instanceof Y.ContentType) || !(item.content.type instanceof Y.Map)) return null;
    const w = item.content.type._map.get('w');
    if (!w || !(w.content instanceof Y.ContentAny)) return null;
    const value = w.content.arr[w.content.arr.length - 1];
    return typeof value === 'string' ? value : null;
  }

  /**
   * The writes a record map's item shows, sorted: each entry's current value (a field's pair, the
   * tombstone, 'w') and every event. Values the map itself had overwritten are not: they were
   * superseded before the map lost. Read from the items (the map may be deleted already).
   */
  function mapWrites(item) {
    const out = new Set();
    if (!(item.content instanceof Y.ContentType) || !(item.content.type instanceof Y.Map)) return [];
    for (const [key, it] of item.content.type._map) {
      if (key === 'events' && it.content instanceof Y.ContentType && it.content.type instanceof Y.Array) {
        for (let e = it.content.type._start; e; e = e.right) for (const w of entryWrites(key, e)) out.add(w);
      } else {
        for (const w of entryWrites(key, it)) out.add(w);
      }
    }
    return [...out].sort();
  }

  /** [winner item, loser item] pairs for key `key` of map `m` after transaction `txn`. */
  function fieldConflicts(m, key, txn) {
    const list = [];   // the key's items, right to left
    for (let item = m._map.get(key); item; item = item.left) list.push(item);
    if (list.length > 100000) throw new Error(`field ${key} has more than 100000 items`);
    const shown = list[0];
    const before = list.find((item) => held(item, txn));
    if (!shown || !before) return [];
    if (before.deleted && !Y.isDeleted(txn.deleteSet, before.id)) return [];   // no value was shown
    if (shown !== before) {
      if (shown.deleted) return [];   // the field is gone: a delete, not a value, won
      let item = shown;
      for (let steps = 0; steps <= list.length; steps++) {
        const origin = item.origin ? itemOf(list, item.origin) : null;
        if (origin === before) return [];                           // its writer saw the value replaced
        if (origin === null || held(origin, txn)) return [[shown, before]];
        item = origin;                                              // arrived with it: look further back
      }
      throw new Error(`field ${key}: an origin chain longer than its list`);
    }
    const arrived = list.filter((item) => !held(item, txn));
    const overwritten = new Set(arrived.map((item) => item.origin && itemOf(arrived, item.origin)).filter(Boolean));
    return arrived.filter((item) => !overwritten.has(item)).map((item) => [shown, item]);
  }

  /**
   * Writes of this replica inside a record map that a remote update replaced in this transaction
   * (another device created the record again: it had seen the map, not these writes). Yjs deletes
   * a replaced map with everything in it, so they never show. The update's delete set says what
   * its writer deleted, which is everything it held of the map: a value of the map this replica
   * shows that the delete set does not name was unknown to the writer, so concurrent with the new
   * map, and lost to the write that map shows last. (Seen from the item order alone, the new map's
   * writer saw the map it replaced, and no conflict happened at the key.)
   */
  function replacedMapLosses(top, txn, incomingUpdate) {
    const out = [];
    if (!incomingUpdate) return out;
    let incomingDs = null;   // decoded only when a replaced map is found: most updates replace none
    Y.iterateDeletedStructs(txn, txn.deleteSet, (item) => {
      if (!(item instanceof Y.Item) || !held(item, txn) || typeof item.parentSub !== 'string' || item.right !== null) return;
      const m = item.parent;
      if (!(m instanceof Y.Map) || !m._item || m._item.parent !== top || !Y.isDeleted(txn.deleteSet, m._item.id)) return;
      const shown = top._map.get(m._item.parentSub);
      if (!shown || shown === m._item || shown.deleted) return;
      incomingDs = incomingDs || Y.decodeUpdate(incomingUpdate).ds;
      if (Y.isDeleted(incomingDs, item.id)) return;
      const winner = mapWrite(shown);
      if (winner === null) return;
      for (const w of entryWrites(item.parentSub, item)) if (w !== winner) out.push([m._item.parentSub, winner, w, 'record']);
    });
    return out;
  }

  /** Y.applyUpdate, with the update in holder.incomingUpdate while it is applied (replacedMapLosses). */
  function applyIncoming(holder, doc, update, origin) {
    holder.incomingUpdate = update;
    try {
      Y.applyUpdate(doc, update, origin);
    } finally {
      holder.incomingUpdate = null;
    }
  }

  /**
   * Watch `doc`'s record maps `top` for conflicts in every transaction that applied a remote
   * update (origin not 'local' nor LOAD); emit each once per doc and (record, winner, loser).
   */
  function watchConflicts(doc, top, fx, incoming) {
    const reported = new Set();
    doc.on('afterTransaction', (txn) => {
      if (txn.origin === 'local' || txn.origin === LOAD) return;
      const found = replacedMapLosses(top, txn, incoming());
      txn.changed.forEach((keys, type) => {
        if (type === top) {
          for (const key of keys) {
            if (typeof key !== 'string') continue;
            for (const [win, lose] of fieldConflicts(top, key, txn)) {
              const winner = mapWrite(win);
              if (winner === null) continue;
              for (const loser of mapWrites(lose)) if (loser !== winner) found.push([key, winner, loser, 'record']);
            }
          }
          return;
        }
        if (!(type instanceof Y.Map) || !type._item || type._item.parent !== top) return;
        for (const key of keys) {
          if (typeof key !== 'string' || !key.startsWith('f:')) continue;
          for (const [win, lose] of fieldConflicts(type, key, txn)) {
            const winner = pairWrite(win);
            const loser = pairWrite(lose);
            if (winner !== null && loser !== null && winner !== loser) found.push([type._item.parentSub, winner, loser, 'field']);
          }
        }
      });
      for (const c of found.sort((a, b) => (a.join('\n') < b.join('\n') ? -1 : a.join('\n') > b.join('\n') ? 1 : 0))) {
        const once = JSON.stringify(c);
        if (reported.has(once)) continue;
        reported.add(once);
        const { type, id } = parseKey(c[0]);
        fx().add('conflict', { record: { type, id }, winner: c[1], loser: c[2], detail: c[3] });
      }
    });
  }

  /** True when state vector `a` has an item `b` lacks. */
  function ahead(a, b) {
    for (const [client, clock] of a) if (clock > (b.get(client) || 0)) return true;
    return false;
  }

  class Device {
    constructor(ctx) {
      this.ctx = ctx;
      this.doc = openDoc(`${ctx.dataDir}/yjs-updates.log`, lib.replicaId32('yjs', ctx.name, ctx.boot));
      this.top = this.doc.getMap('records');
      watchConflicts(this.doc, this.top, () => this.ctx.fx, () => this.incomingUpdate);
      this.serverSV = null;      // the server's state vector, as last heard
      this.localOps = 0;         // operations since the last complete round
      this.pulledKeys = new Set();
      this.top.observeDeep((events, txn) => {
        if (txn.origin !== 'server') return;
        for (const ev of events) {
          if (ev.target === this.top) for (const k of ev.keysChanged) this.pulledKeys.add(k);
          else if (ev.path.length) this.pulledKeys.add(String(ev.path[0]));
        }
      });
      this.rounds = new Rounds(ctx, this);
    }

    live(op) {
      const key = recordKey(op.type, op.id);
      const m = this.top.get(key);
      if (!(m instanceof Y.Map)) throw new Refused(E.NOT_FOUND, 'no such record');
      if (m.has('deleted')) throw new Refused(E.DELETED, 'the record is deleted');
      return m;
    }

    async op(op) {
      const key = recordKey(op.type, op.id);
      if (op.op === 'create') {
        const old = this.top.get(key);
        if (old instanceof Y.Map && !old.has('deleted')) throw new Refused(E.REFUSED, 'the record already exists');
        this.doc.transact(() => {
          const m = new Y.Map();
          this.top.set(key, m);
          for (const [name, pair] of Object.entries(op.fields)) m.set('f:' + name, pair);
          m.set('events', new Y.Array());
          m.set('w', op.w);
        }, 'local');
      } else if (op.op === 'update') {
        const m = this.live(op);
        this.doc.transact(() => {
          for (const [name, pair] of Object.entries(op.fields)) m.set('f:' + name, pair);
          m.set('w', op.w);
        }, 'local');
      } else if (op.op === 'delete') {
        const m = this.live(op);
        // The tombstone, and the fields go: a field set concurrently survives the merge (a
        // Y.Map delete removes only the entry it saw), under the tombstone.
        this.doc.transact(() => {
          for (const k of [...m.keys()].filter((k) => k.startsWith('f:')).sort()) m.delete(k);
          m.set('deleted', { v: true, w: op.w });
          m.set('w', op.w);
        }, 'local');
      } else if (op.op === 'append') {
        const m = this.live(op);
        const ev = m.get('events');
        if (!(ev instanceof Y.Array)) throw new Refused(E.INVALID, 'the record has no event log');
        this.doc.transact(() => {
          ev.push([{ w: op.w, f: op.fields }]);
          m.set('w', op.w);
        }, 'local');
      } else {
        throw new Refused(E.NOT_SUPPORTED, `Yjs has no '${op.op}' here`);
      }
      this.localOps++;
      this.rounds.wrote();
    }

    deliver(src, body) { return this.rounds.deliver(src, body); }
    control(what) { return this.rounds.control(what); }
    idle() { return this.rounds.idle(); }
    async records() { return recordsOf(this.doc, this.ctx.user, new Map()); }
    async kept() { return []; }   // a losing value is a deleted item: Yjs keeps no copy
    close() { this.doc.destroy(); }

    // --- the sync session (lib/sync.js)
    stateVector() { return Y.decodeStateVector(Y.encodeStateVector(this.doc)); }

    begin(first) {
      if (first) this.pulledKeys.clear();
      this.roundOps = this.localOps;
      return { kind: 'yjs', msgs: [encode((e) => sync.writeSyncStep1(e, this.doc))] };
    }

    reply(body) {
      if (body.kind !== 'yjs' || !Array.isArray(body.msgs)) throw new BadReply(`a '${body.kind}' answer`);
      let forServer = null;
      for (const text of body.msgs) {
        if (typeof text !== 'string') throw new BadReply('a message that is not base64');
        const d = decoding.createDecoder(lib.unb64(text));
        const type = decoding.readVarUint(d);
        if (type === sync.messageYjsSyncStep1) {
          // The server's step 1 comes first, as y-websocket's server sends it on connecting: our
          // step 2 is made before its update is applied, while our own items still hold their
          // content (an item that loses a conflict is garbage-collected once it is deleted).
          const theirSV = decoding.readVarUint8Array(d);
          this.serverSV = Y.decodeStateVector(theirSV);
          if (ahead(this.stateVector(), this.serverSV)) forServer = encode((e) => sync.writeSyncStep2(e, this.doc, theirSV));
        } else if (type === sync.messageYjsSyncStep2 || type === sync.messageYjsUpdate) {
          // y-protocols' readSyncStep2 / readUpdate, with the update kept for the conflict watch
          // while it is applied (replacedMapLosses).
          applyIncoming(this, this.doc, decoding.readVarUint8Array(d), 'server');
        } else {
          throw new BadReply(`an unknown sync message type ${type}`);
        }
      }
      if (!this.serverSV) throw new BadReply("the server's answer has no step 1");
      if (!forServer) {
        if (this.localOps === this.roundOps) this.localOps = 0;
        return null;
      }
      // The server lacks something: step 2 for it, and step 1 again so it answers with
      // whatever it got meanwhile (and says served).
      this.roundOps = this.localOps;
      return { kind: 'yjs', msgs: [forServer, encode((e) => sync.writeSyncStep1(e, this.doc))] };
    }

    abort() {}
    dirty() {
      if (this.serverSV) return ahead(this.stateVector(), this.serverSV);
      return this.stateVector().has(this.doc.clientID) || this.localOps > 0 || this.top.size > 0;
    }
    queue() { return this.localOps; }
    pulled() { return this.pulledKeys.size; }
  }

  /** The relay: a doc per user, answering each device's sync steps against its user's doc. */
  class Server {
    constructor(ctx) {
      this.ctx = ctx;
      this.docs = new Map();   // user -> Y.Doc
      this.seen = new Set();   // write ids reported received in this life
      for (const user of [...new Set(ctx.users.values())].sort()) this.docFor(user);
    }

    docFor(user) {
      let doc = this.docs.get(user);
      if (doc) return doc;
      doc = openDoc(`${this.ctx.dataDir}/${lib.userFile(user)}.ylog`, lib.replicaId32('yjs', this.ctx.name, this.ctx.boot, user));
      watchConflicts(doc, doc.getMap('records'), () => this.ctx.fx, () => this.incomingUpdate);
      this.docs.set(user, doc);
      return doc;
    }

    /**
     * Received: every write id an update carries in items this doc does not have yet, read
     * before the update is applied (an item that loses a conflict on arrival carries one too).
     */
    noteReceived(doc, update) {
      const sv = Y.decodeStateVector(Y.encodeStateVector(doc));
      for (const s of Y.decodeUpdate(update).structs) {
        if (!(s instanceof Y.Item) || !(s.content instanceof Y.ContentAny)) continue;
        const known = sv.get(s.id.client) || 0;
        s.content.arr.forEach((value, i) => {
          if (s.id.clock + i < known) return;
          const ws = lib.writeIdsIn(value);
          if (s.parentSub === 'w' && typeof value === 'string') ws.add(value);
          for (const w of ws) {
            if (this.seen.has(w)) continue;
            this.seen.add(w);
            this.ctx.fx.received(w);
          }
        });
      }
    }

    async deliver(src, body) {
      const user = this.ctx.users.get(src);
      if (user === undefined || !isObject(body) || body.kind !== 'yjs' || !Array.isArray(body.msgs)) {
        this.ctx.fx.log(`ignored a message from ${src} that is not a Yjs sync request`);
        return;
      }
      const doc = this.docFor(user);
      const out = [];   // after the server's own step 1, which goes first
      let answeredStep1 = false;
      for (const text of body.msgs) {
        if (typeof text !== 'string') continue;
        // y-protocols' readSyncMessage, with the update read before it is applied.
        const d = decoding.createDecoder(lib.unb64(text));
        const type = decoding.readVarUint(d);
        if (type === sync.messageYjsSyncStep1) {
          const sv = decoding.readVarUint8Array(d);
          out.push(encode((e) => sync.writeSyncStep2(e, doc, sv)));
          answeredStep1 = true;
        } else if (type === sync.messageYjsSyncStep2 || type === sync.messageYjsUpdate) {
          const update = decoding.readVarUint8Array(d);
          this.noteReceived(doc, update);
          applyIncoming(this, doc, update, src);
        } else {
          this.ctx.fx.log(`ignored a sync message of type ${type} from ${src}`);
        }
      }
      out.unshift(encode((e) => sync.writeSyncStep1(e, doc)));
      this.ctx.fx.send(src, { kind: 'yjs', req: body.req, msgs: out });
      if (answeredStep1) this.ctx.fx.served(src);   // step 2 held everything the device lacked
    }

    async op() { throw new ProtocolError(E.NOT_SUPPORTED, 'the server takes no user operations'); }
    async control() {}
    idle() { return true; }
    async records() {
      const out = new Map();
      for (const [user, doc] of this.docs) recordsOf(doc, user, out);
      return out;
    }
    async kept() { return []; }
    close() { for (const doc of this.docs.values()) doc.destroy(); }
  }

  return { device: (ctx) => new Device(ctx), server: (ctx) => new Server(ctx) };
}

lib.serve({
  name: 'yjs',
  ops: ['create', 'update', 'delete', 'append'],
  features: ['received'],
  load: engine,
});
