#!/usr/bin/env python3
"""
A small, complete offline-first sync system -- last-write-wins in server order --
speaking syncsim's node protocol (syncsim-node/1, docs/protocol.md) on stdin/stdout.

One program plays both roles: `init` says whether this process is the server or a
device. Copy this file to put your own system under test: keep the protocol part
(the main loop, Effects, the request checks) and replace Device and Server with calls
into your own client and server.

The design, in one paragraph (README.md has the long form):

  A device keeps its records and an outbox of pending operations in SQLite, written
  in one transaction per user operation. A sync round pushes the outbox in batches,
  then pulls every record changed after its server sequence cursor, page by page.
  The server applies each operation as it arrives, last-write-wins per field in
  arrival order, deduplicates retries by (device, op id), and keeps an append-only
  change log whose sequence numbers are the devices' cursors. A device shows the
  server's copy of a record with its own pending operations replayed on top, which is
  exactly what the server will hold once they arrive.

Rules every line of this file keeps, because syncsim replays a run bit for bit:

  - It never reads a clock, a random source, the environment or the network. Time is
    the request's `wall_us`/`mono_us`, randomness comes from the `seed` in `init`, and
    messages and timers arrive as requests.
  - It never acts between requests: one request in, effects and one terminator out.
  - It iterates in a deterministic order (SQL ORDER BY, sorted names, lists).
  - What it must remember across a crash is in SQLite under `data_dir`, committed
    before the terminator is written. Everything in memory is allowed to vanish.

Python 3.9 or later, standard library only.
"""

import copy
import json
import os
import random
import sqlite3
import sys
import traceback

PROTOCOL = "syncsim-node/1"
OPS = ["create", "update", "delete", "increment", "append"]
FEATURES = ["reset", "received"]

# Device timing, in microseconds of the device's monotonic clock.
SYNC_INTERVAL_US = 5 * 60 * 1000000    # periodic sync
SYNC_AFTER_WRITE_US = 2 * 1000000      # sync this long after a local write (batches quick edits)
REQUEST_TIMEOUT_US = 10 * 1000000      # a request unanswered this long has failed
RETRY_FIRST_US = 1000000               # backoff after the first failure, doubling ...
RETRY_MAX_US = 60 * 1000000            # ... up to this, with +-20% jitter from the seed

PUSH_BATCH = 50                        # operations per push
PULL_PAGE = 100                        # records per pull page (the device asks for it)
SERVER_PAGE_MAX = 500                  # the most records the server puts in one page

DB_FILE = "node.sqlite"

# Error codes (docs/protocol.md, "Error codes").
E_NOT_SUPPORTED = 10
E_MALFORMED = 12
E_CRASH = 13
E_NOT_FOUND = 20
E_DELETED = 21
E_INVALID = 22
E_REFUSED = 29


class ProtocolError(Exception):
    """The request cannot be answered: the node writes an `error` terminator and exits."""

    def __init__(self, code, text):
        super().__init__(text)
        self.code = code
        self.text = text


class Refused(Exception):
    """The device refuses a user operation: `done` with `refused`, nothing kept."""

    def __init__(self, code, text):
        super().__init__(text)
        self.code = code
        self.text = text


def malformed(text):
    return ProtocolError(E_MALFORMED, text)


# --- checking what arrives -------------------------------------------------------------

def is_int(x):
    return isinstance(x, int) and not isinstance(x, bool)


KINDS = {"str": ("a string", lambda x: isinstance(x, str)),
         "int": ("an integer", is_int),
         "obj": ("an object", lambda x: isinstance(x, dict)),
         "list": ("an array", lambda x: isinstance(x, list))}


def member(obj, name, kind, what):
    """obj[name], which must exist and be of `kind` (a key of KINDS); else a malformed request."""
    if name not in obj:
        raise malformed("%s has no member '%s'" % (what, name))
    words, ok = KINDS[kind]
    if not ok(obj[name]):
        raise malformed("%s: member '%s' should be %s" % (what, name, words))
    return obj[name]


def text(obj, name, what):
    """A string member that SQLite can store as TEXT (JSON can carry lone surrogates; UTF-8 cannot)."""
    s = member(obj, name, "str", what)
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        raise malformed("%s: member '%s' is not valid Unicode" % (what, name))
    return s


def check_pair(pair, what):
    """A provenance pair {"v": scalar, "w": write id}. Returns a clean copy of it."""
    if not isinstance(pair, dict):
        raise malformed("%s is not a {\"v\", \"w\"} pair" % what)
    if "v" not in pair:
        raise malformed("%s has no value 'v'" % what)
    v = pair["v"]
    if not (v is None or isinstance(v, (bool, int, float, str))):
        raise malformed("%s: a value is null, a boolean, a number or a string" % what)
    return {"v": v, "w": member(pair, "w", "str", what)}


def check_op(body, what):
    """An operation as a user made it, or as it travels in a push. Returns a clean copy."""
    kind = member(body, "op", "str", what)
    op = {"op": kind, "w": text(body, "w", what)}
    rec = body.get("record", body)   # a request names the record in "record"; a push inline
    if not isinstance(rec, dict):
        raise malformed("%s: 'record' is not an object" % what)
    op["type"] = text(rec, "type", what)
    op["id"] = text(rec, "id", what)
    if kind in ("create", "update", "increment", "append"):
        fields = member(body, "fields", "obj", what)
        op["fields"] = {name: check_pair(fields[name], "%s: field '%s'" % (what, name)) for name in sorted(fields)}
        if kind == "increment":
            if len(op["fields"]) != 1:
                raise malformed("%s: an increment names exactly one field" % what)
            amount = next(iter(op["fields"].values()))["v"]
            if not is_int(amount):
                raise malformed("%s: an increment's amount is an integer" % what)
    elif kind != "delete":
        raise ProtocolError(E_NOT_SUPPORTED, "%s: operation '%s' is not supported" % (what, kind))
    return op


# --- the record model ------------------------------------------------------------------
#
# A record, as stored, sent between replicas and (slightly trimmed, see public())
# reported to syncsim:
#
#   {"type", "id", "tenant", "deleted": bool, "w": last write, "del_w": the delete in effect,
#    "fields": {name: {"v": value, "w": write id}            a plain field: the pair as it came
#                      | {"v": total, "w": last increment,     a counter: the increments it adds up
#                         "also": [the other increments]}},
#    "events": [{"w": event id, "fields": {...}}]}          the event log, in server arrival order
#
# apply_op() is the one merge rule. The server runs it on every operation that arrives, in
# arrival order; a device runs the very same function on its own copy, which is why a device
# can predict what the server will hold.


def blank_record(type_, id_, tenant):
    return {"type": type_, "id": id_, "tenant": tenant, "deleted": False, "w": None, "del_w": None,
            "fields": {}, "events": []}


def apply_op(current, op, tenant):
    """The record after operation `op`, applied last (it wins). `current` may be None.

    - create: on a live record, writes its fields like an update (concurrent creates of one
      id merge field by field); on a deleted or absent one, starts a clean record: nothing
      written before the delete comes back, event log included.
    - update: writes its fields; the other fields stay. On a deleted record it revives it,
      with the fields it had when it was deleted (the editor was looking at them).
    - delete: makes a tombstone. The fields stay underneath, for a concurrent edit to revive.
    - increment: adds the amount to the field's integer value (anything else counts as 0),
      remembering every increment in the total. Revives a deleted record.
    - append: adds the event to the log once, by its id. Revives a deleted record.
    """
    kind = op["op"]
    if current is None or (kind == "create" and current["deleted"]):
        rec = blank_record(op["type"], op["id"], current["tenant"] if current else tenant)
    else:
        rec = copy.deepcopy(current)
    if kind == "increment":
        name, pair = next(iter(op["fields"].items()))
        old = rec["fields"].get(name)
        if old is not None and (old["w"] == pair["w"] or pair["w"] in old.get("also", [])):
            return rec   # this increment is already in the total
    if kind == "append" and any(e["w"] == op["w"] for e in rec["events"]):
        return rec       # this event is already in the log
    rec["w"] = op["w"]
    if kind == "delete":
        rec["deleted"] = True
        rec["del_w"] = op["w"]
        return rec
    rec["deleted"] = False
    rec["del_w"] = None
    if kind in ("create", "update"):
        for name in sorted(op["fields"]):
            rec["fields"][name] = dict(op["fields"][name])
    elif kind == "increment":
        base = old["v"] if old is not None and is_int(old["v"]) else 0
        also = old["also"] + [old["w"]] if old is not None and "also" in old else []
        rec["fields"][name] = {"v": base + pair["v"], "w": pair["w"], "also": also}
    elif kind == "append":
        rec["events"].append({"w": op["w"], "fields": op["fields"]})
    return rec


def public(rec):
    """A record in the form syncsim reads (docs/protocol.md, "Records and provenance")."""
    fields = {}
    for name in sorted(rec["fields"]):
        f = rec["fields"][name]
        out = {"v": f["v"], "w": f["w"]}
        if f.get("also"):
            out["also"] = list(f["also"])
        fields[name] = out
    return {"type": rec["type"], "id": rec["id"], "deleted": rec["deleted"], "w": rec["w"],
            "del_w": rec["del_w"], "tenant": rec["tenant"], "fields": fields,
            "events": [{"w": e["w"]} for e in rec["events"]]}


def check_record(rec, what):
    """A record as the server sends it in a pull answer (ValueError if it is not one)."""
    if not isinstance(rec, dict):
        raise ValueError("%s is not an object" % what)
    for name, kinds in (("type", str), ("id", str), ("tenant", str), ("deleted", bool), ("fields", dict),
                        ("events", list)):
        if not isinstance(rec.get(name), kinds):
            raise ValueError("%s: bad or missing '%s'" % (what, name))
    for name, f in rec["fields"].items():
        if not isinstance(f, dict) or "v" not in f or not isinstance(f.get("w"), str) or \
                not isinstance(f.get("also", []), list):
            raise ValueError("%s: field '%s' is not a pair" % (what, name))
    if not all(isinstance(e, dict) and isinstance(e.get("w"), str) for e in rec["events"]):
        raise ValueError("%s: an event has no id" % what)
    return rec


def check_push_ok(body):
    """{"acked": [op id], "refused": [{"op_id", "w", "reason"}]} -> (set of acked, {op id: reason})."""
    acked, refused = body["acked"], body["refused"]
    if not isinstance(acked, list) or not all(is_int(x) for x in acked) or not isinstance(refused, list):
        raise ValueError("acked is a list of op ids, refused a list")
    reasons = {}
    for r in refused:
        if not isinstance(r, dict) or not is_int(r.get("op_id")) or not isinstance(r.get("reason"), str):
            raise ValueError("a refusal names an op_id and a reason")
        reasons[r["op_id"]] = r["reason"]
    return set(acked), reasons


def check_pull_ok(body):
    """{"changes": [{"seq", "record"}], "cursor", "more"} -> (records, cursor, more)."""
    changes, cursor, more = body["changes"], body["cursor"], body["more"]
    if not isinstance(changes, list) or not is_int(cursor) or not isinstance(more, bool):
        raise ValueError("a pull answer has changes, a cursor and more")
    return [check_record(c["record"] if isinstance(c, dict) else None, "change %d" % i)
            for i, c in enumerate(changes)], cursor, more


def dumps(x):
    # ASCII escapes keep any string JSON can hold (lone surrogates included) storable in SQLite.
    return json.dumps(x, separators=(",", ":"))


# --- storage -----------------------------------------------------------------------------


class Store:
    """One SQLite database in data_dir. Transactions are explicit: `with store.tx():`."""

    def __init__(self, data_dir, schema):
        os.makedirs(data_dir, exist_ok=True)
        self.path = os.path.join(data_dir, DB_FILE)
        self.db = sqlite3.connect(self.path, isolation_level=None)
        # WAL with synchronous=NORMAL: a committed transaction survives the process being
        # killed (SIGKILL), which is syncsim's crash. A phone losing power could lose the
        # last few; use FULL if your app promises more than that.
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        with self.tx():
            for statement in schema:
                self.db.execute(statement)

    def tx(self):
        return _Transaction(self.db)

    def one(self, sql, args=()):
        return self.db.execute(sql, args).fetchone()

    def all(self, sql, args=()):
        return self.db.execute(sql, args).fetchall()

    def run(self, sql, args=()):
        return self.db.execute(sql, args)

    def record(self, table, type_, id_):
        """The record kept under (type, id) in `table`, or None."""
        row = self.one("SELECT body FROM %s WHERE type=? AND id=?" % table, (type_, id_))
        return json.loads(row[0]) if row else None

    def put_record(self, table, rec):
        """Keep `rec` in a table of (type, id, body): a device's records or server_copy."""
        self.run("INSERT OR REPLACE INTO %s(type, id, body) VALUES(?,?,?)" % table,
                 (rec["type"], rec["id"], dumps(rec)))

    def close(self):
        self.db.close()

    @staticmethod
    def remove(data_dir):
        for suffix in ("", "-wal", "-shm", "-journal"):
            path = os.path.join(data_dir, DB_FILE + suffix)
            if os.path.exists(path):
                os.remove(path)


class _Transaction:
    def __init__(self, db):
        self.db = db

    def __enter__(self):
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind, value, tb):
        self.db.execute("COMMIT" if kind is None else "ROLLBACK")
        return False


class Effects:
    """The lines of one answer, written together with its terminator."""

    def __init__(self):
        self.lines = []

    def add(self, kind, **members):
        line = {"type": kind}
        line.update(members)
        self.lines.append(line)

    def record(self, rec):
        self.add("record", record=public(rec))

    def log(self, text):
        self.add("log", text=text)


# --- the device ------------------------------------------------------------------------

DEVICE_SCHEMA = [
    # What the user sees: the server's copy with the pending operations replayed on top.
    "CREATE TABLE IF NOT EXISTS records(type TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL,"
    " PRIMARY KEY(type, id))",
    # The server's state of each record, as this device last learnt it.
    "CREATE TABLE IF NOT EXISTS server_copy(type TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL,"
    " PRIMARY KEY(type, id))",
    # Operations the server has not acknowledged, in the user's order; op_id is never reused.
    "CREATE TABLE IF NOT EXISTS outbox(op_id INTEGER PRIMARY KEY AUTOINCREMENT, type TEXT NOT NULL,"
    " id TEXT NOT NULL, body TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS outbox_record ON outbox(type, id, op_id)",
    # 'cursor': the change log seq this device has pulled up to.
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)",
]


class Device:
    """A client: local store, outbox, sync rounds with one request in flight at a time.

    Invariant: records[k] == the ops in the outbox for k replayed with apply_op() on
    server_copy[k], in outbox order. A pull replaces server_copy and recomputes records
    (the user keeps seeing their own pending writes); an acknowledgement moves the op
    from the outbox into server_copy (nothing the user sees changes).
    """

    def __init__(self, init, fx):
        self.name = init["node"]
        self.user = init.get("user") or ""
        self.boot = init["boot"]
        self.rng = random.Random(int(init["seed"]))
        self.store = Store(init["data_dir"], DEVICE_SCHEMA)
        # Volatile state: a crash loses it, as it would lose a phone app's memory.
        self.online = False
        self.next_token = 1
        self.timers = {}             # token -> "periodic" | "after_write" | "timeout" | "retry"
        self.after_write_pending = False
        self.round = False           # a sync round is under way
        self.pulled = 0              # records pulled in this round
        self.inflight = None         # {"req", "kind", "op_ids", "timeout"} of the one request out
        self.retry_token = None      # the backoff timer a failed round waits for, if any
        self.failures = 0            # consecutive failed requests
        self.next_req = 1
        self.set_timer(fx, SYNC_INTERVAL_US, "periodic")

    def close(self):
        self.store.close()

    def idle(self):
        return not self.round and self.store.one("SELECT 1 FROM outbox LIMIT 1") is None

    # -- timers and requests

    def set_timer(self, fx, delay_us, purpose):
        """Timers cannot be cancelled: a stale one is recognised by its token when it fires."""
        token = self.next_token
        self.next_token += 1
        self.timers[token] = purpose
        fx.add("set_timer", delay_us=delay_us, token=token)
        return token

    def send(self, fx, body):
        req = "%d-%d" % (self.boot, self.next_req)   # unique across restarts: a late answer
        self.next_req += 1                            # to another life's request is ignored too
        body = dict(body, req=req)
        fx.add("send", dest="server", body=body)
        self.inflight = {"req": req, "kind": body["kind"], "op_ids": [op["op_id"] for op in body.get("ops", [])],
                         "timeout": self.set_timer(fx, REQUEST_TIMEOUT_US, "timeout")}

    def backoff_us(self):
        base = min(RETRY_MAX_US, RETRY_FIRST_US << min(self.failures - 1, 20))
        return base - base // 5 + self.rng.randrange(base * 2 // 5 + 1)

    # -- local records

    def recompute(self, fx, type_, id_):
        """records[k] := server_copy[k] with the pending ops replayed; report it if it changed."""
        rec = self.store.record("server_copy", type_, id_)
        for (body,) in self.store.all("SELECT body FROM outbox WHERE type=? AND id=? ORDER BY op_id", (type_, id_)):
            rec = apply_op(rec, json.loads(body), self.user)
        old = self.store.record("records", type_, id_)
        if rec == old:
            return
        if rec is None:
            # Nothing is left of a record the server refused: the protocol has no record form
            # for "absent", so this change is not reported (see README, "Questions").
            self.store.run("DELETE FROM records WHERE type=? AND id=?", (type_, id_))
            return
        self.store.put_record("records", rec)
        fx.record(rec)

    # -- requests

    def op(self, req, fx):
        if req.get("op") == "resolve":
            raise Refused(E_NOT_SUPPORTED, "this design leaves no conflict to the user")
        op = check_op(req, "op")
        cur = self.store.record("records", op["type"], op["id"])
        if op["op"] == "create":
            if cur is not None and not cur["deleted"]:
                raise Refused(E_REFUSED, "the record already exists")
        elif cur is None:
            raise Refused(E_NOT_FOUND, "no such record")
        elif cur["deleted"]:
            raise Refused(E_DELETED, "the record is deleted")
        if op["op"] == "increment":
            name = next(iter(op["fields"]))
            f = cur["fields"].get(name)
            if f is not None and not is_int(f["v"]):
                raise Refused(E_INVALID, "field '%s' is not a number" % name)
        rec = apply_op(cur, op, self.user)
        with self.store.tx():   # the change and its outbox entry, or neither
            self.store.put_record("records", rec)
            self.store.run("INSERT INTO outbox(type, id, body) VALUES(?,?,?)", (op["type"], op["id"], dumps(op)))
        fx.record(rec)
        if not self.after_write_pending:
            self.after_write_pending = True
            self.set_timer(fx, SYNC_AFTER_WRITE_US, "after_write")

    def control(self, req, fx):
        what = member(req, "control", "str", "control")
        if what == "net_down":
            self.online = False
            self.inflight = None        # its answer, if any, will not be accepted
            self.retry_token = None
            self.round = False          # abandoned; net_up starts a new one
        elif what == "net_up":
            self.online = True
            self.sync(fx, hurry=True)
        elif what == "sync":
            self.sync(fx, hurry=True)
        else:
            fx.log("unknown control %r ignored" % what)

    def timer(self, req, fx):
        token = member(req, "token", "int", "timer")
        purpose = self.timers.pop(token, None)
        if purpose == "periodic":
            self.set_timer(fx, SYNC_INTERVAL_US, "periodic")
            self.sync(fx)
        elif purpose == "after_write":
            self.after_write_pending = False
            self.sync(fx)
        elif purpose == "retry" and token == self.retry_token:
            self.retry_token = None
            self.step(fx)
        elif purpose == "timeout" and self.inflight and self.inflight["timeout"] == token:
            self.failed(fx)
        # anything else is stale: its request was answered, or given up at net_down

    def deliver(self, req, fx):
        src = member(req, "src", "str", "deliver")
        body = req.get("body")
        if src != "server" or not isinstance(body, dict):
            fx.log("ignored a message from %s that is not the server's answer" % src)
            return
        if not self.inflight or body.get("req") != self.inflight["req"]:
            return   # late, duplicated, or for a request given up on: its request was (or is) sent again
        kind = self.inflight["kind"]
        try:
            if body.get("kind") != kind + "_ok":
                raise ValueError("a %s answered by %r" % (kind, body.get("kind")))
            answer = check_push_ok(body) if kind == "push" else check_pull_ok(body)
        except (ValueError, KeyError, TypeError) as e:
            fx.log("a malformed answer from the server counts as a failed request: %s" % e)
            self.failed(fx)
            return
        sent = self.inflight["op_ids"]
        self.inflight = None
        self.failures = 0
        if kind == "push":
            self.pushed(answer[0], answer[1], sent, fx)
        else:
            self.pulled_page(answer, fx)
        self.step(fx)

    # -- the sync round

    def sync(self, fx, hurry=False):
        """Start a round unless one is under way. `hurry` (the user pressed sync, the network
        came back) also cuts a retry's backoff short; timers never do."""
        if not self.online:
            return
        if not self.round:
            self.round = True
            self.pulled = 0
            queue = self.store.one("SELECT COUNT(*) FROM outbox")[0]
            fx.add("sync_begin", queue=queue)
        if hurry:
            self.retry_token = None
        self.step(fx)

    def step(self, fx):
        """Send the round's next request: push while the outbox holds anything, then pull."""
        if not self.online or not self.round or self.inflight or self.retry_token is not None:
            return
        rows = self.store.all("SELECT op_id, body FROM outbox ORDER BY op_id LIMIT ?", (PUSH_BATCH,))
        if rows:
            ops = [dict(json.loads(body), op_id=op_id) for op_id, body in rows]
            self.send(fx, {"kind": "push", "ops": ops})
        else:
            row = self.store.one("SELECT value FROM meta WHERE key='cursor'")
            cursor = int(row[0]) if row else 0
            self.send(fx, {"kind": "pull", "after": cursor, "limit": PULL_PAGE})

    def failed(self, fx):
        self.inflight = None
        self.failures += 1
        fx.add("retry", attempt=self.failures)
        self.retry_token = self.set_timer(fx, self.backoff_us(), "retry")

    def pushed(self, acked, refused, sent, fx):
        """The server applied the ops in `acked` and refused those in `refused` for good."""
        touched = []
        with self.store.tx():
            for op_id in sent:   # in the order they were written
                row = self.store.one("SELECT body FROM outbox WHERE op_id=?", (op_id,))
                if row is None:
                    continue
                op = json.loads(row[0])
                if op_id in acked:
                    # The server applied it: the server's copy now holds it, as far as we know.
                    known = self.store.record("server_copy", op["type"], op["id"])
                    self.store.put_record("server_copy", apply_op(known, op, self.user))
                elif op_id in refused:
                    fx.add("refused", w=op["w"], reason=refused[op_id])
                    touched.append((op["type"], op["id"]))
                else:
                    continue
                self.store.run("DELETE FROM outbox WHERE op_id=?", (op_id,))
            for type_, id_ in touched:   # roll the refused writes back
                self.recompute(fx, type_, id_)

    def pulled_page(self, answer, fx):
        records, cursor, more = answer
        with self.store.tx():
            for rec in records:
                self.store.put_record("server_copy", rec)
                self.recompute(fx, rec["type"], rec["id"])
            self.store.run("INSERT OR REPLACE INTO meta(key, value) VALUES('cursor', ?)", (str(cursor),))
        self.pulled += len(records)
        if not more and self.store.one("SELECT 1 FROM outbox LIMIT 1") is None:
            self.round = False
            fx.add("sync_end", pulled=self.pulled)

    def snapshot(self):
        rows = self.store.all("SELECT body FROM records ORDER BY type, id")
        return {"records": [public(json.loads(b)) for (b,) in rows], "kept": []}


# --- the server --------------------------------------------------------------------------

SERVER_SCHEMA = [
    # Every record, with the seq of the change log entry of its last change.
    "CREATE TABLE IF NOT EXISTS records(type TEXT NOT NULL, id TEXT NOT NULL, tenant TEXT NOT NULL,"
    " seq INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY(type, id))",
    "CREATE INDEX IF NOT EXISTS records_tenant_seq ON records(tenant, seq)",
    # The change log: append-only; its seq is what devices keep as their cursor.
    "CREATE TABLE IF NOT EXISTS changes(seq INTEGER PRIMARY KEY AUTOINCREMENT, type TEXT NOT NULL,"
    " id TEXT NOT NULL, device TEXT NOT NULL, op_id INTEGER NOT NULL, w TEXT NOT NULL)",
    # Idempotency: the answer given to each (device, op id), given again to a retry.
    "CREATE TABLE IF NOT EXISTS applied(device TEXT NOT NULL, op_id INTEGER NOT NULL, status TEXT NOT NULL,"
    " reason TEXT, PRIMARY KEY(device, op_id))",
]


class Server:
    """Applies operations in arrival order, answers pulls from the change log."""

    def __init__(self, init, fx):
        self.users = {n["name"]: n.get("user") or "" for n in init["nodes"]
                      if isinstance(n, dict) and n.get("role") == "device" and isinstance(n.get("name"), str)}
        self.store = Store(init["data_dir"], SERVER_SCHEMA)

    def close(self):
        self.store.close()

    def idle(self):
        return True   # the server acts only when asked

    def op(self, req, fx):
        raise ProtocolError(E_NOT_SUPPORTED, "the server takes no user operations")

    def control(self, req, fx):
        pass

    def timer(self, req, fx):
        pass   # the server sets no timers

    def deliver(self, req, fx):
        src = member(req, "src", "str", "deliver")
        body = req.get("body")
        try:
            if not isinstance(body, dict) or not isinstance(body.get("req"), str):
                raise ValueError("not a request")
            if body.get("kind") == "push":
                ops = body["ops"]
                if not isinstance(ops, list):
                    raise ValueError("ops is not an array")
                checked = []
                for i, op in enumerate(ops):
                    if not isinstance(op, dict) or not is_int(op.get("op_id")):
                        raise ValueError("op %d has no op_id" % i)
                    checked.append((op["op_id"], check_op(op, "op %d" % i)))
                self.push(src, body["req"], checked, fx)
            elif body.get("kind") == "pull":
                after, limit = body["after"], body["limit"]
                if not is_int(after) or not is_int(limit):
                    raise ValueError("after and limit are integers")
                self.pull(src, body["req"], after, max(1, min(limit, SERVER_PAGE_MAX)), fx)
            else:
                raise ValueError("unknown kind %r" % body.get("kind"))
        except (ValueError, KeyError, ProtocolError) as e:
            fx.log("ignored a malformed message from %s: %s" % (src, e))

    def push(self, device, req, ops, fx):
        tenant = self.users.get(device, "")
        acked, refused = [], []
        with self.store.tx():   # the whole push, its change log entries and its dedup rows at once
            for op_id, op in ops:
                done = self.store.one("SELECT status, reason FROM applied WHERE device=? AND op_id=?",
                                      (device, op_id))
                if done is None:
                    done = self.apply(device, tenant, op_id, op, fx)
                    self.store.run("INSERT INTO applied(device, op_id, status, reason) VALUES(?,?,?,?)",
                                   (device, op_id) + done)
                if done[0] == "applied":
                    acked.append(op_id)
                else:
                    refused.append({"op_id": op_id, "w": op["w"], "reason": done[1]})
        fx.add("send", dest=device, body={"kind": "push_ok", "req": req, "acked": acked, "refused": refused})

    def apply(self, device, tenant, op_id, op, fx):
        """Apply one new operation; returns (status, reason) for the dedup table."""
        fx.add("received", w=op["w"])
        cur = self.store.record("records", op["type"], op["id"])
        if cur is not None and cur["tenant"] != tenant:
            reason = "the record belongs to another user"
            fx.add("refused", w=op["w"], reason=reason)
            return ("refused", reason)
        rec = apply_op(cur, op, tenant)
        if rec == cur:
            return ("applied", None)   # already in it (an increment or event seen before)
        seq = self.store.run("INSERT INTO changes(type, id, device, op_id, w) VALUES(?,?,?,?,?)",
                             (op["type"], op["id"], device, op_id, op["w"])).lastrowid
        self.store.run("INSERT OR REPLACE INTO records(type, id, tenant, seq, body) VALUES(?,?,?,?,?)",
                       (rec["type"], rec["id"], rec["tenant"], seq, dumps(rec)))
        fx.record(rec)
        return ("applied", None)

    def pull(self, device, req, after, limit, fx):
        rows = self.store.all("SELECT seq, body FROM records WHERE tenant=? AND seq>? ORDER BY seq LIMIT ?",
                              (self.users.get(device, ""), after, limit + 1))
        more = len(rows) > limit
        rows = rows[:limit]
        changes = [{"seq": seq, "record": json.loads(body)} for seq, body in rows]
        cursor = rows[-1][0] if rows else after
        fx.add("send", dest=device, body={"kind": "pull_ok", "req": req, "changes": changes,
                                          "cursor": cursor, "more": more})
        if not more:
            fx.add("served", peer=device)

    def snapshot(self):
        rows = self.store.all("SELECT body FROM records ORDER BY type, id")
        return {"records": [public(json.loads(b)) for (b,) in rows], "kept": []}


# --- the protocol loop -------------------------------------------------------------------


def check_init(req):
    for name, kind in (("protocol", "str"), ("node", "str"), ("role", "str"), ("seed", "str"),
                       ("data_dir", "str"), ("boot", "int"), ("nodes", "list")):
        member(req, name, kind, req["type"])
    if req["role"] not in ("server", "device"):
        raise malformed("role is 'server' or 'device', not %r" % req["role"])
    if not req["seed"].isdigit():
        raise malformed("the seed is a decimal string")


def answer(node, req, fx):
    """Handle one request after init. Returns the terminator's extra members."""
    kind = req["type"]
    if kind == "op":
        try:
            node.op(req, fx)
        except Refused as r:
            return {"refused": {"code": r.code, "text": r.text}}
    elif kind == "deliver":
        node.deliver(req, fx)
    elif kind == "timer":
        node.timer(req, fx)
    elif kind == "control":
        node.control(req, fx)
    elif kind == "snapshot":
        return {"snapshot": node.snapshot()}
    else:
        raise ProtocolError(E_NOT_SUPPORTED, "request type %r is not supported" % kind)
    return {}


def write(lines):
    out = sys.stdout.buffer
    out.write("".join(dumps(line) + "\n" for line in lines).encode("ascii"))
    out.flush()


def main():
    node = None
    data_dir = None
    stdin = sys.stdin.buffer
    while True:
        raw = stdin.readline()
        if not raw:
            sys.stderr.write("node.py: standard input closed before shutdown\n")
            return 1
        seq = None
        fx = Effects()
        try:
            try:
                req = json.loads(raw)
            except ValueError as e:
                raise malformed("the request is not JSON: %s" % e)
            if not isinstance(req, dict):
                raise malformed("the request is not a JSON object")
            seq = req.get("seq") if is_int(req.get("seq")) else None
            kind = member(req, "type", "str", "the request")
            member(req, "seq", "int", kind)
            member(req, "wall_us", "int", kind)
            member(req, "mono_us", "int", kind)
            if kind in ("init", "reset"):
                if (kind == "init") != (node is None):
                    raise malformed("init comes once, first; reset only after it")
                if kind == "reset":
                    if "reset" not in FEATURES:
                        raise ProtocolError(E_NOT_SUPPORTED, "reset is not supported")
                    node.close()
                    Store.remove(data_dir)   # forget everything, in memory and on disk
                    node = None
                check_init(req)
                if kind == "reset":
                    Store.remove(req["data_dir"])
                # A protocol version we do not speak is answered with ours: syncsim ends the
                # run with a message that names both.
                node = (Server if req["role"] == "server" else Device)(req, fx)
                data_dir = req["data_dir"]
                write(fx.lines + [{"type": "init_ok", "in_reply_to": req["seq"], "protocol": PROTOCOL,
                                   "idle": node.idle(), "ops": OPS, "features": FEATURES}])
                continue
            if node is None:
                raise malformed("the first request must be init")
            if kind == "shutdown":
                write([{"type": "done", "in_reply_to": req["seq"], "idle": node.idle()}])
                node.close()
                return 0
            extra = answer(node, req, fx)
            done = {"type": "done", "in_reply_to": req["seq"], "idle": node.idle()}
            done.update(extra)
            write(fx.lines + [done])
        except ProtocolError as e:
            sys.stderr.write("node.py: request %s: %s\n" % (seq, e.text))
            write([{"type": "error", "in_reply_to": seq, "code": e.code, "text": e.text}])
            return 2
        except Exception as e:   # a bug: say so, and stop
            traceback.print_exc(file=sys.stderr)
            write([{"type": "error", "in_reply_to": seq, "code": E_CRASH, "text": "%s: %s" % (type(e).__name__, e)}])
            return 1


if __name__ == "__main__":
    sys.exit(main())
