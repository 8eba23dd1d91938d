#!/usr/bin/env bash
# README.md's example of the results databases syncsim refuses: a damaged one, a file that is
# not SQLite and a SQLite file of another shape, each given to a sweep (tests/readme.py runs
# this in a scratch directory, with syncsim on the PATH). tests/results-db.sh tests the same
# refusals for every command that opens a results database.
set -u
# A directory of its own: the README's other examples write results.sqlite beside this one.
mkdir -p damaged-dbs && cd damaged-dbs && ln -sfn ../scenarios scenarios
syncsim sweep scenarios/random/lww-skew.yaml --seeds 1..40 --db results.sqlite >/dev/null 2>&1
/usr/bin/python3 - <<'PYEOF'
import os, random, sqlite3
random.seed(1)
with open("results.sqlite", "r+b") as f:   # garbage in every page's header but the first's
    for offset in range(4096, os.path.getsize("results.sqlite"), 4096):
        f.seek(offset)
        f.write(bytes(random.randrange(256) for _ in range(64)))
open("notes.sqlite", "w").write("meeting notes, not a database\n")
db = sqlite3.connect("other.sqlite")
db.execute("create table runs(x)")
db.commit()
PYEOF
# What quick_check says first depends on where the rows fell, which their wall-clock columns move.
for db in results.sqlite notes.sqlite other.sqlite; do
  syncsim sweep scenarios/random/lww-skew.yaml --seeds 1..40 --db "$db" 2>&1 >/dev/null |
    sed 's/quick_check: .*); move it/quick_check: ...); move it/'
  echo "exit ${PIPESTATUS[0]}"
done
