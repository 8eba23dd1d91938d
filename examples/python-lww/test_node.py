"""
Tests for node.py: each starts node.py as a subprocess and speaks syncsim-node/1 to it
with hand-written requests, as syncsim would, then checks the answers.

    python3 -m unittest discover -s examples/python-lww -p 'test_*.py'

The last tests wire a server and two devices together through a tiny stand-in for
syncsim's world (fixed latency, no clock skew, messages dropped or duplicated on
request) to check that whole sync rounds converge.
"""

import heapq
import json
import os
import random
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

NODE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "node.py")
EPOCH_US = 1735689600000000   # 2025-01-01T00:00:00Z
SECOND = 1000000
NODES = [{"name": "server", "role": "server"},
         {"name": "phone", "role": "device", "user": "alice"},
         {"name": "tablet", "role": "device", "user": "alice"},
         {"name": "bobphone", "role": "device", "user": "bob"}]
USERS = {n["name"]: n.get("user") for n in NODES}


def pair(v, w):
    return {"v": v, "w": w}


class Node:
    """One node.py process. request() sends a request and returns (effects, terminator)."""

    def __init__(self, test, name, data_dir, boot=1, seed="42"):
        self.name = name
        self.data_dir = data_dir
        self.log = open(os.path.join(os.path.dirname(data_dir), name + ".log"), "ab")
        self.proc = subprocess.Popen([sys.executable, NODE], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.log)
        test.addCleanup(self.close)
        self.buffer = b""
        self.seq = 0
        self.mono_us = 0
        role = "server" if name == "server" else "device"
        init = {"protocol": "syncsim-node/1", "node": name, "role": role, "nodes": NODES, "seed": seed,
                "data_dir": data_dir, "boot": boot}
        if role == "device":
            init["user"] = USERS[name]
        self.init_effects, self.init_ok = self.request("init", **init)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout, self.log):
            f.close()

    def send_line(self, line):
        self.proc.stdin.write(line if isinstance(line, bytes) else line.encode())
        self.proc.stdin.flush()

    def read_line(self, timeout_s=10):
        while b"\n" not in self.buffer:
            ready, _, _ = select.select([self.proc.stdout], [], [], timeout_s)
            if not ready:
                raise AssertionError("%s: no answer within %ss" % (self.name, timeout_s))
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def request(self, kind, mono_us=None, **members):
        self.seq += 1
        if mono_us is not None:
            self.mono_us = mono_us
        req = {"type": kind, "seq": self.seq, "wall_us": EPOCH_US + self.mono_us, "mono_us": self.mono_us}
        req.update(members)
        self.send_line(json.dumps(req) + "\n")
        effects = []
        while True:
            line = self.read_line()
            if line is None:
                raise AssertionError("%s exited while answering %s" % (self.name, kind))
            if line["type"] in ("done", "init_ok", "error"):
                assert line["in_reply_to"] == self.seq, line
                return effects, line
            effects.append(line)

    # Shorthands for the requests syncsim sends.

    def op(self, op, w, type_, id_, fields=None, **extra):
        members = {"op": op, "w": w, "record": {"type": type_, "id": id_}}
        if fields is not None:
            members["fields"] = {k: pair(v, w) for k, v in fields.items()}
        members.update(extra)
        return self.request("op", **members)

    def deliver(self, src, body, **extra):
        return self.request("deliver", src=src, body=body, **extra)

    def snapshot(self):
        _, done = self.request("snapshot")
        return {(r["type"], r["id"]): r for r in done["snapshot"]["records"]}


def of(effects, kind):
    return [e for e in effects if e["type"] == kind]


def sent(effects):
    return [e["body"] for e in of(effects, "send")]


def push(req, *ops):
    """A push body as a device sends it: ops are (op_id, op, w, type, id, fields or None)."""
    out = []
    for op_id, op, w, type_, id_, fields in ops:
        o = {"op_id": op_id, "op": op, "w": w, "type": type_, "id": id_}
        if fields is not None:
            o["fields"] = {k: pair(v, w) for k, v in fields.items()}
        out.append(o)
    return {"kind": "push", "req": req, "ops": out}


class NodeTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="python-lww-test-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def start(self, name, boot=1, seed="42"):
        data_dir = os.path.join(self.dir, name, "data")
        if boot == 1:
            os.makedirs(data_dir)
        return Node(self, name, data_dir, boot, seed)

    def online_device(self, name="phone"):
        """A device that went online and finished its first (empty) sync round."""
        d = self.start(name)
        effects, _ = d.request("control", control="net_up")
        (pull,) = sent(effects)
        effects, done = d.deliver("server", {"kind": "pull_ok", "req": pull["req"], "changes": [],
                                             "cursor": 0, "more": False})
        self.assertEqual(of(effects, "sync_end"), [{"type": "sync_end", "pulled": 0}])
        self.assertTrue(done["idle"])
        return d

    def flush_after_write(self, d, op_effects):
        """Fire the after-write timer an op's answer set; returns the push the device sends."""
        (timer,) = [e for e in of(op_effects, "set_timer") if e["delay_us"] == 2 * SECOND]
        effects, _ = d.request("timer", mono_us=d.mono_us + timer["delay_us"], token=timer["token"])
        (body,) = sent(effects)
        self.assertEqual(body["kind"], "push")
        return body


class ProtocolTest(NodeTest):
    def test_init_answers_init_ok_and_sets_the_periodic_sync_timer(self):
        d = self.start("phone")
        self.assertEqual(d.init_ok["type"], "init_ok")
        self.assertEqual(d.init_ok["protocol"], "syncsim-node/1")
        self.assertEqual(d.init_ok["in_reply_to"], 1)
        self.assertIs(d.init_ok["idle"], True)
        self.assertEqual(d.init_ok["ops"], ["create", "update", "delete", "increment", "append"])
        self.assertNotIn("resolve", d.init_ok["ops"])
        self.assertEqual(sorted(d.init_ok["features"]), ["received", "reset"])
        self.assertEqual(of(d.init_effects, "set_timer"), [{"type": "set_timer", "delay_us": 300 * SECOND,
                                                              "token": 1}])
        s = self.start("server")
        self.assertEqual(s.init_ok["protocol"], "syncsim-node/1")
        self.assertEqual(s.init_effects, [])   # the server sets no timers

    def test_malformed_requests_end_with_an_error_and_a_nonzero_exit(self):
        for line in (b"this is not json\n", b"[1, 2]\n",
                     b'{"type":"op","seq":2,"wall_us":0,"mono_us":0,"op":"update","w":"phone:1"}\n',
                     b'{"type":"frobnicate","seq":2,"wall_us":0,"mono_us":0}\n'):
            with self.subTest(line=line):
                shutil.rmtree(os.path.join(self.dir, "phone"), True)
                d = self.start("phone")
                d.send_line(line)
                err = d.read_line()
                self.assertEqual(err["type"], "error")
                self.assertIn(err["code"], (10, 12))
                self.assertEqual(d.read_line(), None)          # and nothing after it
                self.assertNotEqual(d.proc.wait(timeout=10), 0)
        # A request before init is malformed too.
        proc = subprocess.run([sys.executable, NODE], input=b'{"type":"snapshot","seq":1,"wall_us":0,"mono_us":0}\n',
                              capture_output=True, timeout=10)
        self.assertNotEqual(proc.returncode, 0)
        self.assertEqual(json.loads(proc.stdout)["code"], 12)

    def test_the_same_requests_and_seed_give_the_same_answers(self):
        def transcript(name, seed):
            d = self.start(name, seed=seed)
            lines = [d.init_effects]
            effects, _ = d.request("control", control="net_up")
            lines.append(effects)
            (timeout,) = [t for t in of(effects, "set_timer") if t["delay_us"] == 10 * SECOND]
            effects, _ = d.request("timer", mono_us=10 * SECOND, token=timeout["token"])   # jittered backoff
            lines.append(effects)
            lines.append(d.op("create", "%s:1" % name, "note", "n1", {"text": "x"})[0])
            lines.append(d.request("snapshot")[1])
            return lines
        first = transcript("phone", "123")
        self.assertEqual(transcript("tablet", "123"), json.loads(json.dumps(first).replace("phone", "tablet")))
        backoff = lambda lines: of(lines[2], "set_timer")[0]["delay_us"]
        self.assertNotEqual(backoff(transcript("bobphone", "124")), backoff(first))   # the seed decides the jitter

    def test_shutdown_answers_done_and_exits_zero(self):
        d = self.start("phone")
        _, done = d.request("shutdown")
        self.assertEqual(done["type"], "done")
        self.assertEqual(d.proc.wait(timeout=10), 0)

    def test_reset_forgets_everything(self):
        d = self.start("phone")
        d.request("control", control="net_down")
        d.op("create", "phone:1", "note", "n1", {"text": "x"})
        self.assertIn(("note", "n1"), d.snapshot())
        effects, ok = d.request("reset", protocol="syncsim-node/1", node="phone", role="device", user="alice",
                                nodes=NODES, seed="7", data_dir=d.data_dir, boot=1)
        self.assertEqual(ok["type"], "init_ok")
        self.assertIs(ok["idle"], True)   # the outbox is gone too
        self.assertEqual(d.snapshot(), {})


class DeviceTest(NodeTest):
    def test_an_op_reports_the_record_with_its_pairs_and_is_pushed_from_the_outbox(self):
        d = self.online_device()
        effects, done = d.op("create", "phone:1", "note", "n1", {"text": "buy milk"})
        (rec,) = of(effects, "record")
        self.assertEqual(rec["record"]["fields"], {"text": {"v": "buy milk", "w": "phone:1"}})
        self.assertEqual((rec["record"]["w"], rec["record"]["deleted"], rec["record"]["tenant"]),
                         ("phone:1", False, "alice"))
        self.assertIs(done["idle"], False)   # a change waits to be pushed
        body = self.flush_after_write(d, effects)
        (op,) = body["ops"]
        self.assertEqual(op, {"op_id": 1, "op": "create", "w": "phone:1", "type": "note", "id": "n1",
                              "fields": {"text": {"v": "buy milk", "w": "phone:1"}}})
        # The server's answer empties the outbox; the round then pulls to the head.
        effects, done = d.deliver("server", {"kind": "push_ok", "req": body["req"], "acked": [1], "refused": []})
        (pull,) = sent(effects)
        self.assertEqual((pull["kind"], pull["after"]), ("pull", 0))
        self.assertIs(done["idle"], False)
        effects, done = d.deliver("server", {"kind": "pull_ok", "req": pull["req"], "changes": [],
                                             "cursor": 0, "more": False})
        self.assertIs(done["idle"], True)
        self.assertEqual(of(effects, "record"), [])   # nothing the user sees changed

    def test_update_of_a_deleted_record_is_refused_and_nothing_is_kept(self):
        d = self.start("phone")
        d.request("control", control="net_down")
        d.op("create", "phone:1", "note", "n1", {"text": "a"})
        d.op("delete", "phone:2", "note", "n1")
        effects, done = d.op("update", "phone:3", "note", "n1", {"text": "b"})
        self.assertEqual(done["refused"]["code"], 21)
        self.assertEqual(of(effects, "record"), [])
        rec = d.snapshot()[("note", "n1")]
        self.assertEqual((rec["deleted"], rec["w"], rec["del_w"]), (True, "phone:2", "phone:2"))
        self.assertEqual(rec["fields"]["text"]["w"], "phone:1")
        _, done = d.op("update", "phone:4", "note", "nope", {"text": "b"})
        self.assertEqual(done["refused"]["code"], 20)
        _, done = d.op("create", "phone:5", "note", "n1", {"text": "again"})   # a re-create is fine
        self.assertNotIn("refused", done)
        self.assertEqual(d.snapshot()[("note", "n1")]["fields"], {"text": {"v": "again", "w": "phone:5"}})
        # The refused write is not in the outbox: the push carries create, delete, create.
        effects, _ = d.request("control", control="net_up")
        (body,) = sent(effects)
        self.assertEqual([o["w"] for o in body["ops"]], ["phone:1", "phone:2", "phone:5"])

    def test_a_pull_keeps_the_users_pending_writes_on_top(self):
        d = self.online_device()
        effects, _ = d.deliver("server", {"kind": "x", "req": "nobody"})   # ignored: no request out
        self.assertEqual(effects, [])
        # The server's copy arrives through a pull; the user edits the title, and before the
        # edit is pushed another pull brings the tablet's edit of both fields.
        effects, _ = d.request("control", control="sync")
        server_rec = {"type": "note", "id": "n1", "tenant": "alice", "deleted": False, "w": "tablet:1",
                      "del_w": None, "fields": {"title": pair("t0", "tablet:1"), "body": pair("b0", "tablet:1")},
                      "events": []}
        d.deliver("server", {"kind": "pull_ok", "req": sent(effects)[0]["req"],
                             "changes": [{"seq": 1, "record": server_rec}], "cursor": 1, "more": False})
        d.op("update", "phone:1", "note", "n1", {"title": "mine"})
        newer = dict(server_rec, w="tablet:2", fields={"title": pair("t1", "tablet:2"), "body": pair("b1", "tablet:2")})
        effects, _ = d.request("control", control="sync")
        (body,) = sent(effects)
        self.assertEqual(body["kind"], "push")
        # The push's answer is lost (it times out), and a pull cannot overtake the push:
        (timeout,) = [t for t in of(effects, "set_timer") if t["delay_us"] == 10 * SECOND]
        effects, _ = d.request("timer", mono_us=d.mono_us + 10 * SECOND, token=timeout["token"])
        self.assertEqual(of(effects, "retry"), [{"type": "retry", "attempt": 1}])
        self.assertEqual(sent(effects), [])
        (backoff,) = of(effects, "set_timer")
        self.assertTrue(800000 <= backoff["delay_us"] <= 1200000, backoff)
        effects, _ = d.request("timer", mono_us=d.mono_us + backoff["delay_us"], token=backoff["token"])
        (retry,) = sent(effects)
        self.assertEqual((retry["kind"], retry["ops"]), ("push", body["ops"]))
        self.assertNotEqual(retry["req"], body["req"])
        # The late answer to the first push is ignored; the answer to the retry is taken.
        effects, _ = d.deliver("server", {"kind": "push_ok", "req": body["req"], "acked": [1], "refused": []})
        self.assertEqual(effects, [])
        effects, _ = d.deliver("server", {"kind": "push_ok", "req": retry["req"], "acked": [1], "refused": []})
        (pull,) = sent(effects)
        self.assertEqual(pull["after"], 1)
        # Meanwhile the user edits again; the pull brings the tablet's edit, which the pending
        # edit stays on top of; the body is the tablet's.
        d.op("update", "phone:2", "note", "n1", {"title": "mine again"})
        effects, _ = d.deliver("server", {"kind": "pull_ok", "req": pull["req"],
                                          "changes": [{"seq": 3, "record": newer}], "cursor": 3, "more": False})
        (rec,) = of(effects, "record")
        self.assertEqual(rec["record"]["fields"], {"title": pair("mine again", "phone:2"),
                                                   "body": pair("b1", "tablet:2")})
        self.assertEqual(of(effects, "sync_end"), [])   # the new edit is still to be pushed
        (push2,) = sent(effects)
        self.assertEqual([o["w"] for o in push2["ops"]], ["phone:2"])

    def test_a_refused_write_is_rolled_back(self):
        d = self.online_device("bobphone")
        effects, _ = d.op("create", "bobphone:1", "task", "t1", {"title": "mine"})
        body = self.flush_after_write(d, effects)
        effects, _ = d.deliver("server", {"kind": "push_ok", "req": body["req"], "acked": [],
                                          "refused": [{"op_id": 1, "w": "bobphone:1", "reason": "another user's"}]})
        self.assertEqual(of(effects, "refused"), [{"type": "refused", "w": "bobphone:1", "reason": "another user's"}])
        self.assertEqual(d.snapshot(), {})
        self.assertEqual(sent(effects)[0]["kind"], "pull")   # nothing left to push

    def test_a_crashed_device_recovers_its_records_and_outbox(self):
        d = self.start("phone")
        d.request("control", control="net_down")
        d.op("create", "phone:1", "note", "n1", {"text": "bread"})
        d.op("increment", "phone:2", "note", "n1", {"count": 2})
        before = d.snapshot()
        os.kill(d.proc.pid, signal.SIGKILL)
        d.proc.wait()
        d2 = Node(self, "phone", d.data_dir, boot=2, seed="43")
        self.assertIs(d2.init_ok["idle"], False)   # the outbox survived
        self.assertEqual(d2.snapshot(), before)
        self.assertEqual(before[("note", "n1")]["fields"]["count"], pair(2, "phone:2"))
        effects, _ = d2.request("control", control="net_up")
        (body,) = sent(effects)
        self.assertEqual([(o["op_id"], o["w"]) for o in body["ops"]], [(1, "phone:1"), (2, "phone:2")])
        self.assertTrue(body["req"].startswith("2-"))   # a request id the first life never used


class ServerTest(NodeTest):
    def test_the_server_applies_a_push_and_answers_it(self):
        s = self.start("server")
        effects, done = s.deliver("phone", push("1-1", (1, "create", "phone:1", "note", "n1", {"text": "milk"})))
        (rec,) = of(effects, "record")
        self.assertEqual(rec["record"]["fields"], {"text": pair("milk", "phone:1")})
        self.assertEqual(rec["record"]["tenant"], "alice")
        self.assertEqual(of(effects, "received"), [{"type": "received", "w": "phone:1"}])
        self.assertEqual(of(effects, "send"), [{"type": "send", "dest": "phone", "body": {
            "kind": "push_ok", "req": "1-1", "acked": [1], "refused": []}}])
        self.assertIs(done["idle"], True)

    def test_a_replayed_push_is_applied_once(self):
        s = self.start("server")
        first = push("1-1", (1, "create", "phone:1", "volume", "v1", {"sets": 2}),
                     (2, "increment", "phone:2", "volume", "v1", {"sets": 3}))
        s.deliver("phone", first)
        # The same message delivered twice, then a retry of it under a new request id.
        for again in (first, dict(first, req="1-2")):
            effects, _ = s.deliver("phone", again)
            self.assertEqual(of(effects, "record"), [])
            self.assertEqual(of(effects, "received"), [])
            self.assertEqual(sent(effects), [{"kind": "push_ok", "req": again["req"], "acked": [1, 2],
                                              "refused": []}])
        self.assertEqual(s.snapshot()[("volume", "v1")]["fields"]["sets"], pair(5, "phone:2"))
        # Another device's op with the same op id is a different op.
        effects, _ = s.deliver("tablet", push("1-1", (1, "increment", "tablet:1", "volume", "v1", {"sets": 4})))
        (rec,) = of(effects, "record")
        self.assertEqual(rec["record"]["fields"]["sets"], {"v": 9, "w": "tablet:1", "also": ["phone:2"]})

    def test_pulls_come_in_pages_and_the_last_one_is_served(self):
        s = self.start("server")
        s.deliver("phone", push("1-1", *[(i, "create", "phone:%d" % i, "note", "n%d" % i, {"k": i})
                                         for i in (1, 2, 3)]))
        s.deliver("bobphone", push("1-1", (1, "create", "bobphone:1", "note", "b1", {"k": 0})))
        s.deliver("phone", push("1-2", (4, "update", "phone:4", "note", "n1", {"k": 10})))
        effects, _ = s.deliver("tablet", {"kind": "pull", "req": "1-1", "after": 0, "limit": 2})
        (page,) = sent(effects)
        self.assertEqual([(c["seq"], c["record"]["id"]) for c in page["changes"]], [(2, "n2"), (3, "n3")])
        self.assertEqual((page["cursor"], page["more"]), (3, True))
        self.assertEqual(of(effects, "served"), [])
        effects, _ = s.deliver("tablet", {"kind": "pull", "req": "1-2", "after": page["cursor"], "limit": 2})
        (page,) = sent(effects)
        # n1 changed last (seq 5, after bob's record at 4): once, in its latest state. Bob's is not alice's.
        self.assertEqual([(c["seq"], c["record"]["id"]) for c in page["changes"]], [(5, "n1")])
        self.assertEqual(page["changes"][0]["record"]["fields"]["k"], pair(10, "phone:4"))
        self.assertEqual((page["cursor"], page["more"]), (5, False))
        self.assertEqual(of(effects, "served"), [{"type": "served", "peer": "tablet"}])
        effects, _ = s.deliver("bobphone", {"kind": "pull", "req": "1-2", "after": 0, "limit": 100})
        self.assertEqual([c["record"]["id"] for c in sent(effects)[0]["changes"]], ["b1"])

    def test_last_write_wins_in_server_order_per_field(self):
        s = self.start("server")
        s.deliver("phone", push("1-1", (1, "create", "phone:1", "task", "t1", {"title": "a", "done": False})))
        # The tablet's edit arrives first even though its clock says later; the phone's
        # edit, made earlier by any clock, arrives last and wins the field it wrote.
        s.deliver("tablet", push("1-1", (1, "update", "tablet:1", "task", "t1", {"title": "tablet", "done": True})),
                  mono_us=600 * SECOND)
        s.deliver("phone", push("1-2", (2, "update", "phone:2", "task", "t1", {"title": "phone"})),
                  mono_us=601 * SECOND)
        rec = s.snapshot()[("task", "t1")]
        self.assertEqual(rec["fields"], {"title": pair("phone", "phone:2"), "done": pair(True, "tablet:1")})
        self.assertEqual(rec["w"], "phone:2")

    def test_delete_revival_and_recreate(self):
        s = self.start("server")
        s.deliver("phone", push("1-1", (1, "create", "phone:1", "note", "n1", {"a": 1, "b": 1}),
                                (2, "append", "phone:2", "note", "n1", {"kind": "start"}),
                                (3, "delete", "phone:3", "note", "n1", None)))
        rec = s.snapshot()[("note", "n1")]
        self.assertEqual((rec["deleted"], rec["del_w"], rec["w"]), (True, "phone:3", "phone:3"))
        # A concurrent edit arriving after the delete revives the record with its fields.
        s.deliver("tablet", push("1-1", (1, "update", "tablet:1", "note", "n1", {"b": 2})))
        rec = s.snapshot()[("note", "n1")]
        self.assertEqual((rec["deleted"], rec["del_w"]), (False, None))
        self.assertEqual(rec["fields"], {"a": pair(1, "phone:1"), "b": pair(2, "tablet:1")})
        self.assertEqual(rec["events"], [{"w": "phone:2"}])
        # A create after a delete starts clean: nothing from before the delete comes back.
        s.deliver("phone", push("1-2", (4, "delete", "phone:4", "note", "n1", None),
                                (5, "create", "phone:5", "note", "n1", {"c": 3})))
        rec = s.snapshot()[("note", "n1")]
        self.assertEqual((rec["deleted"], rec["fields"], rec["events"]), (False, {"c": pair(3, "phone:5")}, []))

    def test_counters_and_event_logs(self):
        s = self.start("server")
        s.deliver("phone", push("1-1", (1, "create", "phone:1", "attempt", "a1", {"n": 1}),
                                (2, "append", "phone:2", "attempt", "a1", {"kind": "start"}),
                                (3, "increment", "phone:3", "attempt", "a1", {"n": 2})))
        s.deliver("tablet", push("1-1", (1, "append", "tablet:1", "attempt", "a1", {"kind": "note"}),
                                 (2, "increment", "tablet:2", "attempt", "a1", {"n": -1})))
        s.deliver("phone", push("1-2", (4, "append", "phone:4", "attempt", "a1", {"kind": "stop"})))
        rec = s.snapshot()[("attempt", "a1")]
        self.assertEqual(rec["fields"]["n"], {"v": 2, "w": "tablet:2", "also": ["phone:3"]})
        self.assertEqual([e["w"] for e in rec["events"]], ["phone:2", "tablet:1", "phone:4"])

    def test_another_users_record_is_refused(self):
        s = self.start("server")
        s.deliver("phone", push("1-1", (1, "create", "phone:1", "task", "t1", {"title": "alice's"})))
        effects, _ = s.deliver("bobphone", push("1-1", (1, "update", "bobphone:1", "task", "t1", {"title": "bob"})))
        self.assertEqual(of(effects, "record"), [])
        self.assertEqual(of(effects, "refused")[0]["w"], "bobphone:1")
        self.assertEqual(sent(effects)[0]["refused"][0]["op_id"], 1)
        self.assertEqual(s.snapshot()[("task", "t1")]["fields"]["title"], pair("alice's", "phone:1"))

    def test_a_restarted_server_keeps_its_records_log_and_dedup_table(self):
        s = self.start("server")
        body = push("1-1", (1, "create", "phone:1", "note", "n1", {"text": "x"}),
                    (2, "increment", "phone:2", "note", "n1", {"count": 5}))
        s.deliver("phone", body)
        os.kill(s.proc.pid, signal.SIGKILL)
        s.proc.wait()
        s2 = Node(self, "server", s.data_dir, boot=2)
        effects, _ = s2.deliver("phone", dict(body, req="1-2"))   # the retry after a lost answer
        self.assertEqual(of(effects, "record"), [])
        self.assertEqual(sent(effects)[0]["acked"], [1, 2])
        effects, _ = s2.deliver("phone", {"kind": "pull", "req": "1-3", "after": 0, "limit": 10})
        (page,) = sent(effects)
        self.assertEqual([c["seq"] for c in page["changes"]], [2])
        self.assertEqual(page["changes"][0]["record"]["fields"]["count"], {"v": 5, "w": "phone:2", "also": []})
        effects, _ = s2.deliver("phone", push("1-4", (3, "update", "phone:3", "note", "n1", {"text": "y"})))
        self.assertEqual(sent(effects)[0]["acked"], [3])
        effects, _ = s2.deliver("phone", {"kind": "pull", "req": "1-5", "after": 2, "limit": 10})
        self.assertEqual([c["seq"] for c in sent(effects)[0]["changes"]], [3])   # the log goes on

    def test_a_malformed_message_is_ignored_not_fatal(self):
        s = self.start("server")
        effects, done = s.deliver("phone", {"kind": "push", "req": "1-1", "ops": [{"op": "create"}]})
        self.assertEqual(done["type"], "done")
        self.assertEqual(sent(effects), [])
        self.assertEqual(len(of(effects, "log")), 1)


class World:
    """A tiny stand-in for syncsim's world: one clock, fixed latency, timers, and a hook
    that may drop or duplicate messages. Good enough to run whole sync rounds."""

    LATENCY_US = 50000

    def __init__(self, test, devices):
        self.test = test
        self.latency = lambda: self.LATENCY_US
        self.now = 0
        self.queue = []     # (time, n, kind, target, payload)
        self.n = 0
        self.online = {}
        self.fault = lambda src, dest, body: 1   # how many copies of a message arrive
        self.nodes = {"server": test.start("server")}
        self.served = set()
        self.writes = {}    # device -> its last write's number
        for name in devices:
            self.nodes[name] = test.start(name)
            self.handle(name, self.nodes[name].init_effects)
            self.control(name, "net_up")

    def at(self, t, kind, target, payload):
        self.n += 1
        heapq.heappush(self.queue, (t, self.n, kind, target, payload))

    def handle(self, name, effects):
        for e in effects:
            if e["type"] == "send":
                if name != "server" and not self.online[name]:
                    continue
                if e["dest"] != "server" and not self.online[e["dest"]]:
                    continue
                for _ in range(self.fault(name, e["dest"], e["body"])):
                    self.at(self.now + self.latency(), "deliver", e["dest"], (name, e["body"]))
            elif e["type"] == "set_timer":
                self.at(self.now + e["delay_us"], "timer", name, e["token"])
            elif e["type"] == "served":
                self.served.add(e["peer"])
            elif e["type"] == "record" and name == "server":
                self.served.clear()

    def request(self, name, kind, **members):
        effects, done = self.nodes[name].request(kind, mono_us=self.now, **members)
        self.test.assertEqual(done["type"], "done", done)
        self.handle(name, effects)
        return effects, done

    def op(self, name, op, type_, id_, fields=None):
        self.writes[name] = self.writes.get(name, 0) + 1
        w = "%s:%d" % (name, self.writes[name])
        members = {"op": op, "w": w, "record": {"type": type_, "id": id_}}
        if fields is not None:
            members["fields"] = {k: pair(v, w) for k, v in fields.items()}
        return self.request(name, "op", **members)

    def control(self, name, what):
        self.online[name] = what != "net_down"
        self.request(name, "control", control=what)

    def crash(self, name, boot):
        """SIGKILL between requests; messages to it and its timers are lost. Restart it."""
        old = self.nodes[name]
        os.kill(old.proc.pid, signal.SIGKILL)
        old.proc.wait()
        self.queue = [e for e in self.queue if e[3] != name]
        heapq.heapify(self.queue)
        self.nodes[name] = Node(self.test, name, old.data_dir, boot=boot, seed=str(boot))
        self.nodes[name].mono_us = self.now
        self.handle(name, self.nodes[name].init_effects)
        if name != "server":
            self.control(name, "net_up" if self.online[name] else "net_down")

    def run(self, until_us):
        while self.queue and self.queue[0][0] <= until_us:
            t, _, kind, target, payload = heapq.heappop(self.queue)
            self.now = t
            if kind == "deliver":
                self.request(target, "deliver", src=payload[0], body=payload[1])
            else:
                self.request(target, "timer", token=payload)
        self.now = until_us

    def settle(self):
        """Heal, then run until every node is idle, nothing is in flight, and every device was served."""
        self.fault = lambda src, dest, body: 1
        self.latency = lambda: self.LATENCY_US
        for name in self.nodes:
            if name != "server" and not self.online[name]:
                self.control(name, "net_up")
        for _ in range(100):
            self.run(self.now + 60 * SECOND)
            idle = all(self.nodes[n].request("snapshot", mono_us=self.now)[1]["idle"] for n in self.nodes)
            in_flight = any(kind == "deliver" for _, _, kind, _, _ in self.queue)
            if idle and not in_flight and self.served >= set(self.nodes) - {"server"}:
                return
        self.test.fail("no quiescence")

    def assert_converged(self):
        server = self.nodes["server"].snapshot()
        for name in self.nodes:
            if name != "server":
                self.test.assertEqual(self.nodes[name].snapshot(), server, name)
        return server


class WorldTest(NodeTest):
    def test_offline_edits_converge_per_field_and_the_later_arrival_wins(self):
        world = World(self, ["phone", "tablet"])
        world.op("phone", "create", "note", "n1", {"title": "groceries", "body": "milk"})
        world.run(60 * SECOND)
        world.request("tablet", "control", control="sync")
        world.run(120 * SECOND)
        self.assertIn(("note", "n1"), world.nodes["tablet"].snapshot())
        world.control("phone", "net_down")
        world.control("tablet", "net_down")
        world.op("phone", "update", "note", "n1", {"title": "Groceries"})
        world.op("tablet", "update", "note", "n1", {"body": "milk, eggs"})
        world.op("tablet", "update", "note", "n1", {"title": "tablet title"})
        world.op("phone", "create", "note", "n2", {"title": "from the phone"})
        world.run(300 * SECOND)
        world.control("tablet", "net_up")   # the tablet's edits reach the server first ...
        world.run(310 * SECOND)
        world.control("phone", "net_up")    # ... so the phone's title, arriving later, wins
        world.settle()
        server = world.assert_converged()
        self.assertEqual(server[("note", "n1")]["fields"], {"title": pair("Groceries", "phone:2"),
                                                            "body": pair("milk, eggs", "tablet:1")})
        self.assertEqual(server[("note", "n2")]["fields"]["title"]["v"], "from the phone")

    def test_lost_and_duplicated_messages_apply_every_write_once(self):
        world = World(self, ["phone", "tablet"])
        world.op("phone", "create", "volume", "v1", {"sets": 2})
        world.run(60 * SECOND)
        world.request("tablet", "control", control="sync")
        world.run(70 * SECOND)
        dropped = []

        def fault(src, dest, body):
            # Every answer to a push is lost once; everything else arrives twice.
            if body.get("kind") == "push_ok" and (dest, tuple(body["acked"])) not in dropped:
                dropped.append((dest, tuple(body["acked"])))
                return 0
            return 2
        world.fault = fault
        for name, by in (("phone", 4), ("tablet", 3), ("tablet", -1), ("phone", 1)):
            world.op(name, "increment", "volume", "v1", {"sets": by})
            world.op(name, "append", "volume", "v1", {"kind": "set"})
            world.run(world.now + 30 * SECOND)
        self.assertTrue(dropped)
        world.settle()
        server = world.assert_converged()
        rec = server[("volume", "v1")]
        self.assertEqual(rec["fields"]["sets"]["v"], 2 + 4 + 3 - 1 + 1)
        self.assertEqual(len(rec["events"]), 4)
        self.assertEqual(len({e["w"] for e in rec["events"]}), 4)

    def test_a_device_crash_between_requests_loses_nothing_it_acknowledged(self):
        world = World(self, ["phone", "tablet"])
        world.control("phone", "net_down")
        world.op("phone", "create", "list", "l1", {"name": "shopping"})
        world.op("phone", "update", "list", "l1", {"name": "weekly shopping"})
        phone = world.nodes["phone"]
        os.kill(phone.proc.pid, signal.SIGKILL)
        phone.proc.wait()
        world.queue = [e for e in world.queue if e[3] != "phone"]   # its timers die with it
        world.nodes["phone"] = Node(self, "phone", phone.data_dir, boot=2, seed="99")
        world.handle("phone", world.nodes["phone"].init_effects)
        world.control("phone", "net_up")
        world.settle()
        server = world.assert_converged()
        self.assertEqual(server[("list", "l1")]["fields"]["name"]["v"], "weekly shopping")

    def test_a_random_faulty_run_converges_and_applies_every_write_once(self):
        rng = random.Random(2024)
        devices = ["phone", "tablet"]
        world = World(self, devices)
        world.op("phone", "create", "volume", "v1", {"sets": 1})
        world.op("phone", "create", "attempt", "a1", {"activity": "plank"})
        world.run(60 * SECOND)
        world.request("tablet", "control", control="sync")
        world.run(120 * SECOND)
        # Reordering (latency 10 ms to 3 s), loss and duplication, both ways.
        world.latency = lambda: rng.randrange(10000, 3 * SECOND)
        world.fault = lambda src, dest, body: rng.choice([0, 1, 1, 1, 1, 1, 1, 2])
        total, events, boots = 1, set(), {"phone": 1, "tablet": 1, "server": 1}
        for step in range(80):
            name = rng.choice(devices)
            roll = rng.random()
            if roll < 0.05:
                world.control(name, "net_down" if world.online[name] else "net_up")
            elif roll < 0.08:
                who = rng.choice(devices + ["server"])
                boots[who] += 1
                world.crash(who, boots[who])
            elif roll < 0.3:
                by = rng.randrange(-3, 6)
                _, done = world.op(name, "increment", "volume", "v1", {"sets": by})
                total += by if "refused" not in done else 0
            elif roll < 0.45:
                effects, done = world.op(name, "append", "attempt", "a1", {"n": step})
                if "refused" not in done:
                    events.add(of(effects, "record")[0]["record"]["events"][-1]["w"])
            else:
                note = "n%d" % rng.randrange(3)
                op = rng.choice(["create", "update", "update", "delete"])
                world.op(name, op, "note", note, None if op == "delete" else {"text": "s%d" % step})
            world.run(world.now + rng.randrange(1, 120) * SECOND)
        world.settle()
        server = world.assert_converged()
        self.assertEqual(server[("volume", "v1")]["fields"]["sets"]["v"], total)
        logged = [e["w"] for e in server[("attempt", "a1")]["events"]]
        self.assertEqual(sorted(logged), sorted(events))   # each event once, none lost
        self.assertGreater(boots["phone"] + boots["tablet"] + boots["server"], 3)   # crashes happened


if __name__ == "__main__":
    unittest.main()
