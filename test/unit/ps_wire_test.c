/*
 * ps_wire_test.c
 *	  Unit tests of the wire codec (src/common/ps_wire.c), run by
 *	  test/t/017_wire.pl built with address and undefined-behaviour
 *	  sanitizers.
 *
 * What it shows: every message the encoder writes parses and decodes to
 * exactly what was encoded (keys over the whole int64 range, ranges up to
 * the largest bigint, dense and sparse values, with and without a
 * worker); every prefix of a valid message and every single-byte change
 * of one is either refused with a reason or decodes within its bounds
 * (the sanitizers catch any read or write outside them); and each
 * hostile field named in ps_wire.h is refused with its own reason.
 * Prints one "ok N - ..." line per check (TAP) and exits non-zero if any
 * failed.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ps_wire.h"
#include "unit_tap.h"

static int
cmp_i64(const void *a, const void *b)
{
	int64_t		x = *(const int64_t *) a,
				y = *(const int64_t *) b;

	return x < y ? -1 : x > y;
}

/* n distinct ascending keys; spread: over all of int64, else small gaps */
static int
random_keys(int64_t *keys, int n, int spread)
{
	int			i,
				m = 0;

	for (i = 0; i < n; i++)
		keys[i] = spread ? (int64_t) next_rand() : (int64_t) (next_rand() % (uint64_t) (4 * n + 1)) - 2 * n;
	if (spread && n >= 2)
	{
		keys[0] = INT64_MIN;
		keys[1] = INT64_MAX;
	}
	qsort(keys, n, sizeof(int64_t), cmp_i64);
	for (i = 0; i < n; i++)
		if (m == 0 || keys[i] != keys[m - 1])
			keys[m++] = keys[i];
	return m;
}

/* Decode buf fully; returns 1 if it parsed and decoded. */
static int
decode_all(const uint8_t *buf, size_t len, PsWireMsg *m, int64_t **keys,
		   float **vals, PsWireError *err)
{
	*keys = NULL;
	*vals = NULL;
	if (!ps_wire_parse(buf, len, m, err))
		return 0;
	if (m->kind != PS_WIRE_VALUES)
	{
		*keys = malloc(sizeof(int64_t) * (m->count + 1));
		if (!ps_wire_decode_keys(m, *keys, err))
			return 0;
	}
	if (m->kind != PS_WIRE_PULL)
	{
		*vals = malloc(sizeof(float) * ((size_t) m->count * m->dim + 1));
		if (!ps_wire_decode_values(m, *vals, err))
			return 0;
	}
	return 1;
}

static void
roundtrip(int kind, int n, int dim, int spread, int range, double zeros,
		  int with_worker, int sparse)
{
	int64_t    *keys = malloc(sizeof(int64_t) * (n + 1));
	float	   *vals = malloc(sizeof(float) * ((size_t) n * dim + 1));
	uint8_t    *buf;
	int64_t    *dk;
	float	   *dv;
	PsWireMsg	m;
	PsWireError err;
	int32_t		worker = 7;
	int64_t		first = range == 2 ? INT64_MAX - (n - 1) : -12345;
	size_t		len,
				i;
	char		what[200];
	int			ok;

	n = range ? n : random_keys(keys, n, spread);
	for (i = 0; i < (size_t) n * dim; i++)
		vals[i] = (double) (next_rand() % 1000) / 1000.0 < zeros ? 0.0f :
			(float) ((int64_t) (next_rand() % 2001) - 1000) / 7.0f;
	buf = malloc(ps_wire_bound(n, dim, 1, 1));
	with_worker &= kind != PS_WIRE_VALUES;	/* an answer names no worker */
	len = ps_wire_encode(buf, kind, n, dim, with_worker ? &worker : NULL, 42,
						 range ? NULL : keys, first, vals, sparse);
	ok = len <= ps_wire_bound(n, dim, kind != PS_WIRE_VALUES, kind != PS_WIRE_PULL) &&
		decode_all(buf, len, &m, &dk, &dv, &err) &&
		m.kind == kind && (int) m.count == n && (int) m.dim == dim &&
		(!with_worker || (m.worker == 7 && m.clock == 42)) &&
		((m.flags & PS_WIRE_WORKER) != 0) == (with_worker != 0);
	if (ok && kind != PS_WIRE_VALUES)
		for (i = 0; i < (size_t) n; i++)
			ok &= dk[i] == (range ? first + (int64_t) i : keys[i]);
	if (ok && kind != PS_WIRE_PULL)
		ok = memcmp(dv, vals, sizeof(float) * n * dim) == 0 || n * dim == 0;
	snprintf(what, sizeof(what),
			 "round trip: kind %d, %d keys of dim %d, %s%s, %.0f%% zeros%s%s: %zu bytes%s",
			 kind, n, dim, range == 2 ? "range ending at the largest bigint" : range ? "range" : "keys",
			 spread ? " over all of int64" : "", zeros * 100,
			 with_worker ? ", worker" : "", sparse ? ", sparse allowed" : "", len,
			 (m.flags & PS_WIRE_SPARSE) ? " (sent sparse)" : "");
	check(ok, what);
	free(dk);
	free(dv);
	free(keys);
	free(vals);
	free(buf);
}

/* Every prefix and every one-byte change of buf: refused or in bounds. */
static void
mutate(const uint8_t *buf, size_t len, const char *name)
{
	uint8_t    *copy = malloc(len);
	size_t		cut,
				i;
	int			accepted_prefix = 0,
				refused_changes = 0,
				bit;
	PsWireMsg	m;
	PsWireError err;
	int64_t    *dk;
	float	   *dv;
	char		what[200];

	for (cut = 0; cut < len; cut++)
	{
		uint8_t    *p = malloc(cut + 1);	/* exact size: ASan sees over-reads */

		memcpy(p, buf, cut);
		if (decode_all(p, cut, &m, &dk, &dv, &err))
			accepted_prefix++;
		free(dk);
		free(dv);
		free(p);
	}
	snprintf(what, sizeof(what), "%s: none of its %zu prefixes is accepted", name, len);
	check(accepted_prefix == 0, what);
	for (i = 0; i < len; i++)
		for (bit = 0; bit < 8; bit++)
		{
			memcpy(copy, buf, len);
			copy[i] ^= (uint8_t) (1 << bit);
			if (!decode_all(copy, len, &m, &dk, &dv, &err))
				refused_changes++;
			free(dk);
			free(dv);
		}
	/* the sanitizers abort the run on any access out of bounds */
	snprintf(what, sizeof(what), "%s: of its %zu single-bit changes, %d refused, the others decoded within bounds",
			 name, len * 8, refused_changes);
	check(refused_changes >= 8 * 8, what);	/* at least every header bit but count's */
	free(copy);
}

/* A hand-made message from hex: is it refused with this reason? */
static void
refused(const char *hex, const char *reason, const char *what)
{
	uint8_t		buf[256];
	size_t		len = 0;
	PsWireMsg	m;
	PsWireError err = {NULL, 0};
	int64_t    *dk;
	float	   *dv;
	int			ok;
	char		line[300];

	for (; hex[0] && hex[1]; hex += 2)
	{
		unsigned	b;

		if (hex[0] == ' ')
		{
			hex--;
			continue;
		}
		sscanf(hex, "%2x", &b);
		buf[len++] = (uint8_t) b;
	}
	ok = !decode_all(buf, len, &m, &dk, &dv, &err) && err.reason &&
		strcmp(err.reason, reason) == 0;
	snprintf(line, sizeof(line), "refused, %s: \"%s\"%s%s", what, reason,
			 ok ? "" : ", got: ", ok ? "" : (err.reason ? err.reason : "(accepted)"));
	check(ok, line);
	free(dk);
	free(dv);
}

int
main(void)
{
	int			kinds[] = {PS_WIRE_PUSH, PS_WIRE_PULL, PS_WIRE_VALUES};
	int			k;
	int64_t		keys[5] = {-3, 0, 1, 1000, INT64_MAX};
	float		vals[10] = {1, 0, 0, 0, 2.5f, 0, 0, 0, 0, -1};
	uint8_t		buf[512];
	size_t		len;
	int32_t		worker = 3;

	for (k = 0; k < 3; k++)
	{
		roundtrip(kinds[k], 0, 1, 0, 0, 0, 0, 0);
		roundtrip(kinds[k], 1, 1, 0, 0, 0, 1, 0);
		roundtrip(kinds[k], 1000, 1, 0, 0, 0, 0, 0);
		roundtrip(kinds[k], 1000, 1, 1, 0, 0.5, 1, 1);
		roundtrip(kinds[k], 100000, 4, 0, 0, 0.95, 0, 1);
		roundtrip(kinds[k], 100000, 1, 1, 0, 0, 1, 1);
	}
	roundtrip(PS_WIRE_PUSH, 100000, 1, 0, 1, 0, 1, 0);
	roundtrip(PS_WIRE_PUSH, 1000, 3, 0, 2, 0.9, 0, 1);
	roundtrip(PS_WIRE_PULL, 1000, 1, 0, 2, 0, 1, 0);
	/* an empty range with a worker: its 8-byte first key fits the bound */
	roundtrip(PS_WIRE_PULL, 0, 1, 0, 1, 0, 1, 0);
	roundtrip(PS_WIRE_PUSH, 0, 1, 0, 1, 0, 1, 0);

	len = ps_wire_encode(buf, PS_WIRE_PUSH, 5, 2, &worker, 9, keys, 0, vals, 0);
	mutate(buf, len, "push of 5 keys of dim 2, dense values");
	len = ps_wire_encode(buf, PS_WIRE_PUSH, 5, 2, NULL, 0, keys, 0, vals, 1);
	mutate(buf, len, "push of 5 keys of dim 2, sparse values");
	len = ps_wire_encode(buf, PS_WIRE_PUSH, 5, 2, NULL, 0, NULL, INT64_MAX - 4, vals, 0);
	mutate(buf, len, "push of a range ending at the largest bigint");
	len = ps_wire_encode(buf, PS_WIRE_PULL, 5, 0, &worker, 9, keys, 0, NULL, 0);
	mutate(buf, len, "pull of 5 keys");

	/* key caching: the hash of a listed message's keys, and the cached form */
	{
		PsWireMsg	m1,
					m2;
		PsWireError e;
		uint8_t		full[256],
					cached[256];
		size_t		l1,
					l2;
		float		back[10];

		size_t		klen;

		l1 = ps_wire_encode(full, PS_WIRE_PUSH, 5, 2, &worker, 9, keys, 0, vals, 0);
		full[4] |= PS_WIRE_CACHE;
		l2 = ps_wire_cached_form(full, l1, 0x1122334455667788ULL, cached);
		check(ps_wire_parse(full, l1, &m1, &e) && m1.key_hash != 0 &&
			  m1.key_hash == ps_wire_hash(m1.keys, m1.keys_len, 5),
			  "a message with the cache flag carries the hash of its key bytes");
		check(ps_wire_parse(cached, l2, &m2, &e) && (m2.flags & PS_WIRE_CACHED) &&
			  m2.key_hash == 0x1122334455667788ULL && m2.worker == 3 && m2.clock == 9 &&
			  ps_wire_decode_values(&m2, back, &e) && memcmp(back, vals, sizeof(back)) == 0 &&
			  l2 == l1 - (m1.keys_len + 4) + 8,
			  "the cached form: the hash in place of the keys, the same worker and values");
		check(!ps_wire_decode_keys(&m2, (int64_t *) back, &e),
			  "and its keys cannot be decoded from it");
		check(ps_wire_hash(m1.keys, m1.keys_len, 5) != ps_wire_hash(m1.keys, m1.keys_len, 4),
			  "the hash depends on the count as well");
		check(ps_wire_list_hash(full, &klen) == m1.key_hash && klen == m1.keys_len,
			  "ps_wire_list_hash finds the list the parser hashes");
		mutate(cached, l2, "push with cached keys");
	}

	/* an exactly-once id goes after the worker section, before the keys */
	{
		int64_t		keys[3] = {-5, 7, 1000};
		float		vals[3] = {1, 2, 3},
					back[3];
		int64_t		kback[3];
		int32_t		worker = 4;
		uint8_t		buf[PS_WIRE_ONCE_SIZE + 256];
		size_t		l;
		PsWireMsg	m;
		PsWireError e;

		l = ps_wire_encode(buf + PS_WIRE_ONCE_SIZE, PS_WIRE_PUSH, 3, 1, &worker, 12,
						   keys, 0, vals, false);
		l = ps_wire_insert_once(buf, l, 0xA1B2C3D4E5F60718ULL, 42);
		check(ps_wire_parse(buf, l, &m, &e) && (m.flags & PS_WIRE_ONCE) &&
			  m.once_client == 0xA1B2C3D4E5F60718ULL && m.once_seq == 42 &&
			  m.worker == 4 && m.clock == 12 &&
			  ps_wire_decode_keys(&m, kback, &e) && memcmp(kback, keys, sizeof(keys)) == 0 &&
			  ps_wire_decode_values(&m, back, &e) && memcmp(back, vals, sizeof(vals)) == 0,
			  "a push with an exactly-once id: id, worker, keys and values come back");
		check(ps_wire_once_offset(buf) == PS_WIRE_HEADER_SIZE + 12,
			  "the once section follows the worker section");
		{
			uint8_t		cbuf[sizeof(buf)];
			size_t		klen,
						cl;

			buf[4] |= PS_WIRE_CACHE;
			cl = ps_wire_cached_form(buf, l, ps_wire_list_hash(buf, &klen), cbuf);
			check(ps_wire_parse(cbuf, cl, &m, &e) && (m.flags & PS_WIRE_CACHED) &&
				  !(m.flags & PS_WIRE_CACHE) && m.once_client == 0xA1B2C3D4E5F60718ULL &&
				  m.once_seq == 42 && m.worker == 4 && cl == l - (4 + klen) + 8 &&
				  ps_wire_decode_values(&m, back, &e) && memcmp(back, vals, sizeof(vals)) == 0,
				  "its cached form keeps the id, the worker and the values");
			buf[4] &= (uint8_t) ~PS_WIRE_CACHE;
		}
		buf[4] |= PS_WIRE_RESENT;
		check(ps_wire_parse(buf, l, &m, &e) && (m.flags & PS_WIRE_RESENT),
			  "a resent push parses");
		mutate(buf, l, "push with an exactly-once id");
	}
	refused("5053 01 01 4000 0000 00000000 01000000 0100000000000000 01000000",
			"the once section is cut short", "a cut once section");
	refused("5053 01 01 4000 0000 00000000 01000000 0000000000000000 0100000000000000 00000000",
			"the exactly-once client id is 0", "client id 0");
	refused("5053 01 01 4000 0000 00000000 01000000 0100000000000000 0000000000000000 00000000",
			"the exactly-once sequence number is 0", "seq 0");
	refused("5053 01 02 4000 0000 00000000 00000000 0100000000000000 0100000000000000 00000000",
			"only a push carries an exactly-once id", "a pull with an id");
	refused("5053 01 01 8000 0000 00000000 01000000 00000000",
			"a resent push carries its exactly-once id", "resent without an id");

	/* a pull asking for KKT slacks, and its answer: dim 2, weight then slack */
	{
		int64_t		keys[2] = {3, 9};
		float		ws[4] = {0, 0.75f, -0.5f, 0},
					back[4];
		uint8_t		buf[128];
		size_t		l;
		PsWireMsg	m;
		PsWireError e;

		l = ps_wire_encode(buf, PS_WIRE_PULL, 2, 0, NULL, 0, keys, 0, NULL, false);
		ps_wire_add_flags(buf, PS_WIRE_SLACK);
		check(ps_wire_parse(buf, l, &m, &e) && (m.flags & PS_WIRE_SLACK) && m.count == 2,
			  "a pull asking for KKT slacks parses");
		l = ps_wire_encode(buf, PS_WIRE_VALUES, 2, 2, NULL, 0, NULL, 0, ws, true);
		ps_wire_add_flags(buf, PS_WIRE_SLACK);
		check(ps_wire_parse(buf, l, &m, &e) && (m.flags & PS_WIRE_SLACK) &&
			  (m.flags & PS_WIRE_SPARSE) && m.dim == 2 &&
			  ps_wire_decode_values(&m, back, &e) && memcmp(back, ws, sizeof(ws)) == 0,
			  "its answer with the slacks comes back, sparse");
	}

	/* header: PS 01 kind flags(2) reserved(2) count(4) dim(4) */
	refused("5053 01 01", "the message is shorter than its 16-byte header", "a cut header");
	refused("5054 01 01 0000 0000 00000000 01000000", "the message does not start with \"PS\"", "bad magic");
	refused("5053 02 01 0000 0000 00000000 01000000", "unknown wire format version", "version 2");
	refused("5053 01 07 0000 0000 00000000 01000000", "unknown message kind", "kind 7");
	refused("5053 01 01 0008 0000 00000000 01000000", "unknown flags", "an unknown flag");
	refused("5053 01 01 0004 0000 00000000 01000000", "only a pull asks for KKT slacks",
			"a push asking for KKT slacks");
	refused("5053 01 03 0004 0000 01000000 03000000 0000803F 0000803F 0000803F",
			"values with KKT slacks have an even dim", "values with slacks of odd dim");
	refused("5053 01 02 0a00 0000 01000000 00000000 0000000000000000",
			"key caching applies to listed keys of a push or pull, one way at a time", "cache flag on a range");
	refused("5053 01 02 1800 0000 01000000 00000000 01000000 02",
			"key caching applies to listed keys of a push or pull, one way at a time", "both caching flags");
	refused("5053 01 03 0800 0000 00000000 01000000",
			"key caching applies to listed keys of a push or pull, one way at a time", "cache flag on values");
	refused("5053 01 02 1000 0000 01000000 00000000 00000000",
			"the hash of the cached keys is cut short", "a cut hash");
	refused("5053 01 01 0000 0100 00000000 01000000", "reserved field is not zero", "reserved set");
	refused("5053 01 01 0000 0000 01000000 00000000", "dim is 0", "a push of dim 0");
	refused("5053 01 01 0000 0000 00000100 00000100", "count * dim is more than 2^31 - 1 values", "count * dim too large");
	refused("5053 01 03 0100 0000 00000000 01000000", "a values message has no worker and no keys", "values with a worker");
	refused("5053 01 02 0400 0000 00000000 00000000", "a pull carries no values", "a sparse pull");
	refused("5053 01 01 0100 0000 00000000 01000000 0700", "the worker section is cut short", "a cut worker section");
	refused("5053 01 01 0200 0000 02000000 01000000 FFFFFFFFFFFFFF7F 0000803F 0000803F",
			"the range runs past the largest bigint", "a range past the largest bigint");
	/* a huge count backed by nothing: refused before anything is allocated */
	refused("5053 01 02 0000 0000 FFFFFF7F 00000000 04000000 02020202",
			"the keys take fewer bytes than there are keys", "2^31 - 1 keys in 4 bytes");
	refused("5053 01 02 0000 0000 01000000 00000000 FF000000 02",
			"the keys run past the end of the message", "a key length past the end");
	refused("5053 01 02 0000 0000 02000000 00000000 02000000 0400",
			"keys repeat or do not ascend", "a repeated key");
	refused("5053 01 02 0000 0000 02000000 00000000 0B000000 FEFFFFFFFFFFFFFFFF01 01",
			"a key is beyond the largest bigint", "a key past the largest bigint");
	refused("5053 01 02 0000 0000 01000000 00000000 0B000000 8080808080808080808001",
			"the first key is malformed or cut short", "an 11-byte varint");
	refused("5053 01 02 0000 0000 01000000 00000000 0A000000 80808080808080808002",
			"the first key is malformed or cut short", "a varint of 65 bits");
	refused("5053 01 02 0000 0000 01000000 00000000 02000000 0202",
			"bytes follow the last key", "a key too many");
	refused("5053 01 01 0000 0000 01000000 01000000 01000000 02 0000",
			"the values run past the end of the message", "cut values");
	refused("5053 01 01 0000 0000 01000000 01000000 01000000 02 0000803F 00",
			"bytes follow the last section", "a byte after the values");
	refused("5053 01 01 0400 0000 01000000 01000000 01000000 02 02000000 00 0000803F",
			"more nonzero values than values", "two nonzero values of one");
	refused("5053 01 01 0400 0000 02000000 01000000 02000000 0202 01000000 05 0000803F",
			"a position of a nonzero value is beyond the values", "a position past the vector");
	refused("5053 01 01 0400 0000 02000000 01000000 02000000 0202 01000000 80 0000803F",
			"a position of a nonzero value is malformed or cut short", "a cut position");
	refused("5053 01 01 0400 0000 02000000 01000000 02000000 0202 01000000 0000 0000803F",
			"bytes follow the last section", "positions longer than their count");

	/* a bare key list, as replication writes an aggregate's keys */
	{
		int64_t		list[5] = {-3, 0, 7, 4096, INT64_MAX},
					back[5];
		uint8_t		buf[64];
		size_t		len = ps_wire_put_key_list(buf, list, 5);

		check(len > 0 && len < 5 * 8 && ps_wire_get_key_list(buf, len, back, 5) &&
			  memcmp(list, back, sizeof(list)) == 0, "a key list round trip, shorter than 8 bytes a key");
		check(!ps_wire_get_key_list(buf, len - 1, back, 5), "a key list cut short is refused");
		check(!ps_wire_get_key_list(buf, len, back, 4), "a key list with bytes after its keys is refused");
		buf[1] = 0;
		check(!ps_wire_get_key_list(buf, len, back, 5), "a key list that does not ascend is refused");
		check(ps_wire_put_key_list(buf, list, 0) == 0 && ps_wire_get_key_list(buf, 0, back, 0),
			  "an empty key list");
	}

	printf("1..%d\n", ntests);
	return nfailed > 0;
}
