#!/usr/bin/env python3
"""A node that misbehaves on purpose, for syncsim's failure tests.

It serves every request through `syncsim node` (the built-in engine) and
breaks the protocol at a chosen point:

    faulty.py SYNCSIM MODE [AT] [--only NAME] [--even-seeds]

MODE   exit     exit with status 3 instead of answering request AT
       garbage  write a line that is not JSON instead of answering request AT
       hang     never answer request AT (sleep far beyond any timeout)
       version  answer init with another protocol version
       chatty   after answering request AT, write one more line (breaking lockstep)
AT     the request number (default 3); --only applies it to one replica,
       --even-seeds only to replicas whose init seed is even (so some seeds of
       a sweep fail and others pass).
"""
import json
import subprocess
import sys
import time


def main():
    args = sys.argv[1:]
    only = None
    even_seeds = False
    if "--only" in args:
        i = args.index("--only")
        only = args[i + 1]
        del args[i:i + 2]
    if "--even-seeds" in args:
        args.remove("--even-seeds")
        even_seeds = True
    syncsim, mode = args[0], args[1]
    at = int(args[2]) if len(args) > 2 else 3
    inner = subprocess.Popen([syncsim, "node"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    armed = True
    for line in sys.stdin:
        req = json.loads(line)
        if req["type"] == "init":
            name = req["node"]
            armed = (only is None or name == only) and (not even_seeds or int(req["seed"]) % 2 == 0)
            print(f"faulty: {name} starts, mode {mode} at request {at}, armed {armed}", file=sys.stderr, flush=True)
        if armed and mode == "version" and req["type"] == "init":
            sys.stdout.write(json.dumps({"type": "init_ok", "in_reply_to": req["seq"], "protocol": "syncsim-node/2",
                                         "idle": True}) + "\n")
            sys.stdout.flush()
            continue
        if armed and req["seq"] == at and mode != "chatty":
            print(f"faulty: breaking at request {at} ({req['type']})", file=sys.stderr, flush=True)
            if mode == "exit":
                sys.exit(3)
            if mode == "garbage":
                sys.stdout.write("Traceback (most recent call last): this is not JSON\n")
                sys.stdout.flush()
                time.sleep(30)
                sys.exit(1)
            if mode == "hang":
                time.sleep(3600)
        inner.stdin.write(line)
        inner.stdin.flush()
        answer = []
        while True:
            out = inner.stdout.readline()
            if not out:
                sys.exit(1)
            answer.append(out)
            kind = json.loads(out)["type"]
            if kind in ("done", "init_ok", "error"):
                break
        if armed and mode == "chatty" and req["seq"] == at:
            # In the same write as the terminator, so syncsim holds it when it reads the terminator: no race.
            print(f"faulty: writing between requests after {at}", file=sys.stderr, flush=True)
            answer.append(json.dumps({"type": "log", "text": "between requests"}) + "\n")
        sys.stdout.write("".join(answer))
        sys.stdout.flush()
        if req["type"] == "shutdown":
            break
    inner.stdin.close()
    inner.wait()


if __name__ == "__main__":
    main()
