"""A worker's loop from Python through ps_wire (README, "Python").

    python3 test/python/example.py "host=... dbname=..."

Creates a table ex_w of 1000 keys, joins it as a worker, and runs 20
iterations: pull the keys of a random batch, push integer gradients for
them (repeats included), then checks the table against the sums kept in
numpy, and pulls a range.  Prints one line per check.
"""
import sys

import numpy as np
import psycopg

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import ps_wire  # noqa: E402

conn = psycopg.connect(sys.argv[1] if len(sys.argv) > 1 else "", autocommit=True)
conn.execute("DROP TABLE IF EXISTS ex_w")
conn.execute("CREATE TABLE ex_w (key bigint, val real) USING ps")
worker = conn.execute("SELECT ps_join('ex_w')").fetchone()[0]
ps = ps_wire.Client(conn)

rng = np.random.default_rng(7)
expect = np.zeros(1000)
for clock in range(1, 21):
    keys = rng.integers(0, 1000, size=300)               # repeats included
    w = ps.pull("ex_w", keys, worker=worker, clock=clock)
    assert np.array_equal(w, expect[keys].astype(np.float32)), "pulled what was pushed"
    grads = rng.integers(-3, 4, size=300).astype(np.float32)
    ps.push("ex_w", keys, grads, worker=worker, clock=clock)
    np.add.at(expect, keys, grads)
print("20 iterations: every pull saw exactly the pushes before it")

rows = conn.execute("SELECT key, val FROM ex_w ORDER BY key").fetchall()
table = np.zeros(1000)
for k, v in rows:
    table[k] = v
print("table equals the sums kept in numpy:", bool(np.array_equal(table, expect)))
r = ps.pull_range("ex_w", 0, 1000)
print("range pull equals them too:", bool(np.array_equal(r, expect.astype(np.float32))))
ps.push_range("ex_w", 10, np.ones(5, dtype=np.float32))
print("range push:", ps.pull("ex_w", [9, 10, 14, 15]) - expect[[9, 10, 14, 15]].astype(np.float32))
print("worker clock:", conn.execute(
    "SELECT clock FROM ps_workers('ex_w') WHERE worker = %s", (worker,)).fetchone()[0])
conn.execute("DROP TABLE ex_w")
