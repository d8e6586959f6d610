"""ps_wire: pushes and pulls to ps tables from Python, in the binary wire
format of ps_push_msg and ps_pull_msg (README, "Wire format"), with numpy
and psycopg 3 (Debian: python3-numpy, python3-psycopg).

    import psycopg, numpy as np, ps_wire
    conn = psycopg.connect("host=127.0.0.1 port=5433 dbname=ml", autocommit=True)
    ps = ps_wire.Client(conn)
    ps.push("w", keys, grads)                 # any order, repeats add up
    weights = ps.pull("w", keys)              # float32, in the order asked
    ps.push_range("w", 0, dense_grads)
    ps.pull_range("w", 0, 1000)

Keys are int64 (any order, repeats allowed); values float32, dim per key
(a 2-D array of shape (n, dim), or flat for dim 1).  A worker passes
worker= and clock= as in ps_push.  Every call is one statement and
returns when the server has answered: a push once applied and durable.
Errors are psycopg's (the server's SQLSTATE and message).
"""
import struct

import numpy as np

VERSION = 1
PUSH, PULL, VALUES = 1, 2, 3
F_WORKER, F_RANGE, F_SPARSE = 0x1, 0x2, 0x4
_HEADER = struct.Struct("<2sBBHHII")


def _varints(u):
    """LEB128 of a uint64 array, as bytes (vectorised: one column per byte)."""
    u = np.asarray(u, dtype=np.uint64)
    if u.size == 0:
        return b""
    nbytes = np.ones(u.shape, dtype=np.int64)
    for k in range(1, 10):
        nbytes += u >= (np.uint64(1) << np.uint64(7 * k))
    cols = np.empty((u.size, 10), dtype=np.uint8)
    for k in range(10):
        part = (u >> np.uint64(7 * k)) & np.uint64(0x7F)
        more = (nbytes > k + 1).astype(np.uint64) << np.uint64(7)
        cols[:, k] = (part | more).astype(np.uint8)
    keep = np.arange(10)[None, :] < nbytes[:, None]
    return cols[keep].tobytes()


def _read_varints(b, count):
    """count LEB128 varints from the bytes b (all of them); a uint64 array."""
    a = np.frombuffer(b, dtype=np.uint8)
    ends = np.flatnonzero(a < 0x80)
    if ends.size != count or (count and ends[-1] != a.size - 1):
        raise ValueError("malformed varints in the answer")
    starts = np.concatenate(([0], ends[:-1] + 1))
    group = np.repeat(np.arange(count), ends - starts + 1)
    shift = (np.arange(a.size) - starts[group]) * 7
    if shift.size and shift.max() > 63:
        raise ValueError("a varint of more than 64 bits in the answer")
    parts = (a & 0x7F).astype(np.uint64) << shift.astype(np.uint64)
    return np.bitwise_or.reduceat(parts, starts) if count else parts


def encode(kind, count, dim, keys=None, first=0, vals=None, worker=None, clock=0):
    """A message; keys: ascending distinct int64 (None: the range first ..)."""
    flags = 0
    body = []
    if worker is not None:
        flags |= F_WORKER
        body.append(struct.pack("<iq", worker, clock))
    if kind != VALUES:
        if keys is None:
            flags |= F_RANGE
            body.append(struct.pack("<q", first))
        else:
            k = np.asarray(keys, dtype=np.int64)
            if k.size:
                zz = (k[:1].astype(np.uint64) << np.uint64(1)) ^ (k[:1] >> np.int64(63)).astype(np.uint64)
                gaps = np.diff(k.astype(np.uint64))
                kb = _varints(zz) + _varints(gaps)
            else:
                kb = b""
            body.append(struct.pack("<I", len(kb)))
            body.append(kb)
    if kind != PULL:
        body.append(np.ascontiguousarray(vals, dtype="<f4").tobytes())
    return _HEADER.pack(b"PS", VERSION, kind, flags, 0, count, dim) + b"".join(body)


def decode_values(msg):
    """The values of a values message (a pull's answer): (count, dim) float32."""
    magic, version, kind, flags, reserved, count, dim = _HEADER.unpack_from(msg, 0)
    if magic != b"PS" or version != VERSION or kind != VALUES:
        raise ValueError("not a version-1 values message")
    off = _HEADER.size
    n = count * dim
    if flags & F_SPARSE:
        (nnz,) = struct.unpack_from("<I", msg, off)
        off += 4
        vals_at = len(msg) - 4 * nnz
        gaps = _read_varints(msg[off:vals_at], nnz)
        pos = np.cumsum(gaps.astype(np.int64) + 1) - 1
        out = np.zeros(n, dtype=np.float32)
        out[pos] = np.frombuffer(msg, dtype="<f4", count=nnz, offset=vals_at)
    else:
        out = np.frombuffer(msg, dtype="<f4", count=n, offset=off).astype(np.float32)
    return out.reshape(count, dim)


class Client:
    """Pushes and pulls over a psycopg 3 connection (autocommit suggested)."""

    def __init__(self, conn):
        self.conn = conn
        row = conn.execute(
            "SELECT pg_catalog.quote_ident(n.nspname) FROM pg_catalog.pg_extension e"
            " JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace"
            " WHERE e.extname OPERATOR(pg_catalog.=) 'ps'").fetchone()
        if row is None:
            raise RuntimeError("the ps extension is not installed in this database")
        # schema-qualified: the session's search_path takes no part
        self._push = f"SELECT {row[0]}.ps_push_msg(%s::pg_catalog.regclass, %b)"
        self._pull = f"SELECT {row[0]}.ps_pull_msg(%s::pg_catalog.regclass, %b)"

    @staticmethod
    def _values(vals, n):
        v = np.asarray(vals, dtype=np.float32)
        v = v.reshape(n, -1) if n else v.reshape(0, 1)
        return v

    def push(self, table, keys, vals, worker=None, clock=0):
        """Push vals (n x dim) to keys; repeats add up.  Returns the task timestamp."""
        keys = np.asarray(keys, dtype=np.int64)
        v = self._values(vals, keys.size)
        uk, inv = np.unique(keys, return_inverse=True)
        if uk.size != keys.size:
            sums = np.zeros((uk.size, v.shape[1]), dtype=np.float64)
            np.add.at(sums, inv, v)
            v = sums.astype(np.float32)
        else:
            v = v[np.argsort(keys, kind="stable")]
        msg = encode(PUSH, uk.size, v.shape[1], keys=uk, vals=v, worker=worker, clock=clock)
        return self.conn.execute(self._push, (table, msg)).fetchone()[0]

    def push_range(self, table, first, vals, worker=None, clock=0, dim=1):
        """Push vals (n x dim) to keys first .. first + n - 1."""
        v = np.asarray(vals, dtype=np.float32).reshape(-1, dim)
        msg = encode(PUSH, v.shape[0], dim, first=first, vals=v, worker=worker, clock=clock)
        return self.conn.execute(self._push, (table, msg)).fetchone()[0]

    def pull(self, table, keys, worker=None, clock=0):
        """The values of keys, (n x dim) float32 (flat for dim 1), in the order asked."""
        keys = np.asarray(keys, dtype=np.int64)
        uk, inv = np.unique(keys, return_inverse=True)
        msg = encode(PULL, uk.size, 0, keys=uk, worker=worker, clock=clock)
        answer = self.conn.execute(self._pull, (table, msg)).fetchone()[0]
        v = decode_values(bytes(answer))[inv]
        return v[:, 0] if v.shape[1] == 1 else v

    def pull_range(self, table, first, count, worker=None, clock=0):
        """The values of keys first .. first + count - 1."""
        msg = encode(PULL, count, 0, first=first, worker=worker, clock=clock)
        answer = self.conn.execute(self._pull, (table, msg)).fetchone()[0]
        v = decode_values(bytes(answer))
        return v[:, 0] if v.shape[1] == 1 else v
