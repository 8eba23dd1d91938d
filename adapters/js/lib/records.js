'use strict';
/*
 * The record form of docs/protocol.md ("Records and provenance"), the checks on what arrives,
 * and the refusals a device answers with.
 */

const E = {
  NOT_SUPPORTED: 10,
  MALFORMED: 12,
  CRASH: 13,
  NOT_FOUND: 20,
  DELETED: 21,
  INVALID: 22,
  NO_CONFLICT: 23,
  REFUSED: 29,
};

/** The request cannot be answered: an `error` terminator, and the node exits. */
class ProtocolError extends Error {
  constructor(code, text) {
    super(text);
    this.code = code;
  }
}

/** The device refuses a user operation: `done` with `refused`; nothing of it is kept. */
class Refused extends Error {
  constructor(code, text) {
    super(text);
    this.code = code;
  }
}

function malformed(text) {
  return new ProtocolError(E.MALFORMED, text);
}

const isObject = (x) => x !== null && typeof x === 'object' && !Array.isArray(x);
const isInt = (x) => Number.isInteger(x);

function member(obj, name, kind, what) {
  if (!isObject(obj) || !(name in obj)) throw malformed(`${what} has no member '${name}'`);
  const x = obj[name];
  const ok = kind === 'string' ? typeof x === 'string'
    : kind === 'int' ? isInt(x)
      : kind === 'object' ? isObject(x)
        : kind === 'array' ? Array.isArray(x) : false;
  if (!ok) throw malformed(`${what}: member '${name}' should be ${kind === 'int' ? 'an integer' : 'a' + (kind === 'object' || kind === 'array' ? 'n ' : ' ') + kind}`);
  return x;
}

/** A provenance pair {"v": scalar, "w": write id}: a clean copy of it. */
function checkPair(pair, what) {
  if (!isObject(pair) || !('v' in pair)) throw malformed(`${what} is not a {"v", "w"} pair`);
  const v = pair.v;
  if (!(v === null || typeof v === 'boolean' || typeof v === 'number' || typeof v === 'string')) {
    throw malformed(`${what}: a value is null, a boolean, a number or a string`);
  }
  if (typeof pair.w !== 'string') throw malformed(`${what}: 'w' is not a write id`);
  return { v, w: pair.w };
}

const OPS = ['create', 'update', 'delete', 'increment', 'append', 'resolve'];

/** A user operation from an `op` request: {op, w, type, id, fields} with fields in name order. */
function checkOp(req) {
  const op = member(req, 'op', 'string', 'op');
  if (!OPS.includes(op)) throw new ProtocolError(E.NOT_SUPPORTED, `operation '${op}' is not supported`);
  const w = member(req, 'w', 'string', 'op');
  const rec = member(req, 'record', 'object', 'op');
  const out = { op, w, type: member(rec, 'type', 'string', 'op record'), id: member(rec, 'id', 'string', 'op record') };
  if (op === 'create' || op === 'update' || op === 'increment' || op === 'append') {
    const fields = member(req, 'fields', 'object', 'op');
    out.fields = {};
    for (const name of Object.keys(fields).sort()) out.fields[name] = checkPair(fields[name], `field '${name}'`);
    if (op === 'increment') {
      const names = Object.keys(out.fields);
      if (names.length !== 1) throw malformed('an increment names exactly one field');
      if (!isInt(out.fields[names[0]].v)) throw malformed("an increment's amount is an integer");
    }
  }
  if (op === 'resolve') out.pick = req.pick;
  return out;
}

/** A record's key in an engine's store: its type and id, unambiguously. */
function recordKey(type, id) {
  return JSON.stringify([type, id]);
}

function parseKey(key) {
  const [type, id] = JSON.parse(key);
  return { type, id };
}

/**
 * The record form syncsim reads. `fields` maps names to the pairs as stored (a counter's pair
 * may carry `also`); `events` lists write ids in log order.
 */
function recordForm({ type, id, deleted = false, w, del_w, tenant, fields = {}, events }) {
  const out = { type, id, deleted: !!deleted };
  if (w !== undefined) out.w = w;
  out.del_w = deleted && del_w ? del_w : null;
  if (tenant !== undefined) out.tenant = tenant;
  const f = {};
  for (const name of Object.keys(fields).sort()) {
    const p = fields[name];
    const pair = { v: p.v, w: p.w === undefined ? null : p.w };
    if (p.also && p.also.length) pair.also = [...p.also];
    f[name] = pair;
  }
  out.fields = f;
  if (events) out.events = events.map((e) => ({ w: e }));
  return out;
}

/** The write ids a value carries wherever it keeps them under `w` (pairs, events, tombstones). */
function writeIdsIn(value, out = new Set()) {
  if (Array.isArray(value)) {
    for (const x of value) writeIdsIn(x, out);
  } else if (isObject(value)) {
    for (const [k, x] of Object.entries(value)) {
      if (k === 'w' && typeof x === 'string') out.add(x);
      else writeIdsIn(x, out);
    }
  }
  return out;
}

module.exports = {
  E, ProtocolError, Refused, malformed, member, checkPair, checkOp, recordKey, parseKey, recordForm,
  writeIdsIn, isObject, isInt,
};
