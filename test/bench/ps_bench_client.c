/*
 * ps_bench_client.c
 *	  Benchmark of the client library (binary wire format, pipelined
 *	  tasks) against the SQL array path (ps_push / ps_pull with binary
 *	  bigint[] and real[] parameters), in the same run, on one connection
 *	  each, with the targets of issue 9.
 *
 * Cases: a 1M-key dense range push and pull (table of 1M keys), raw and
 * with zstd compression (the values repeat i % 5 - 2); 1M random
 * keys of a 10M-key table, push and pull, new keys every call and the
 * same keys again (which the library sends as their hash, key caching);
 * a 1k-key push and pull round
 * trip; 1k-key pushes and pulls 16 in flight (the SQL path runs them one
 * by one, as a synchronous client does); the 1k-key cases with random
 * keys of a 1M-key table (several hundred leaves a call) and with 1k
 * consecutive keys (one or two leaves: what a message costs apart from
 * the leaves it writes).  Each figure is the median of
 * REPS calls after a warm-up; "bytes/call" is what the call sends (push)
 * or receives (pull) beyond the protocol's own framing: the message or
 * the binary arrays.  Pushes are durable when they finish, in both paths.
 *
 * Usage: ps_bench_client [conninfo] [reps]   (run by test/bench/run.sh)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <ps_client.h>
#include <zstd.h>

#include "bench_util.h"
#include "ps_wire.h"

static PGconn *conn;
static PsClient *client;
static int	reps = 9;

static void
die(const char *what)
{
	fprintf(stderr, "ps_bench_client: %s: %s %s\n", what,
			conn ? PQerrorMessage(conn) : "",
			client ? ps_client_error(client) : "");
	exit(1);
}

static void
exec(const char *sql)
{
	PGresult   *r = PQexec(conn, sql);

	if (PQresultStatus(r) != PGRES_TUPLES_OK && PQresultStatus(r) != PGRES_COMMAND_OK)
		die(sql);
	PQclear(r);
}

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return (x > y) - (x < y);
}

static double
median(double *t, int n)
{
	qsort(t, n, sizeof(double), cmp_double);
	return t[n / 2];
}

/* n distinct random keys below range, in random order */
static void
random_keys(int64_t *keys, int n, int64_t range, unsigned *seed)
{
	unsigned char *seen = calloc(range / 8 + 1, 1);
	int			m = 0;
	int64_t		k;

	while (m < n)
	{
		k = (((int64_t) rand_r(seed) << 31) ^ rand_r(seed)) % range;
		if (seen[k / 8] & (1 << (k % 8)))
			continue;
		seen[k / 8] |= 1 << (k % 8);
		keys[m++] = k;
	}
	free(seen);
	/* left unsorted: sorting is the library's job, and ps_push's */
}

/*
 * n keys in blocks of n consecutive keys, each block at a random place
 * below range (n keys at 1 to 2 leaves each: the cost of a message apart
 * from the leaves it touches), in random order within the block.
 */
static void
block_keys(int64_t *keys, int nblocks, int n, int64_t range, unsigned *seed)
{
	int			b,
				i;

	for (b = 0; b < nblocks; b++)
	{
		int64_t		first = (int64_t) (rand_r(seed) % (unsigned) (range / n)) * n;

		for (i = 0; i < n; i++)
			keys[b * n + i] = first + (i * 7919) % n;
	}
}

/* one SQL array call: push (keys, vals) or pull (keys); returns ms */
static double
sql_call(const char *sql, const int64_t *keys, int n, const float *vals,
		 size_t *bytes)
{
	Oid			types[3] = {0, INT8ARRAYOID, FLOAT4ARRAYOID};
	char	   *pv[3];
	int			pl[3],
				pf[3] = {0, 1, 1};
	double		t0,
				t1;
	PGresult   *r;

	pv[0] = "bench_c";
	pl[0] = 0;
	pv[1] = bin_array(INT8OID, n, 8, keys, &pl[1]);
	if (vals)
		pv[2] = bin_array(FLOAT4OID, n, 4, vals, &pl[2]);
	t0 = now_ms();
	r = PQexecParams(conn, sql, vals ? 3 : 2, types, (const char *const *) pv, pl, pf, 1);
	t1 = now_ms();
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		die(sql);
	*bytes = vals ? (size_t) pl[1] + pl[2] : (size_t) pl[1] + PQgetlength(r, 0, 0);
	PQclear(r);
	free(pv[1]);
	if (vals)
		free(pv[2]);
	return t1 - t0;
}

/* a range call through SQL: push (vals) or pull; returns ms */
static double
sql_range(int n, const float *vals, size_t *bytes)
{
	Oid			types[2] = {0, FLOAT4ARRAYOID};
	char	   *pv[2];
	int			pl[2],
				pf[2] = {0, 1};
	double		t0,
				t1;
	PGresult   *r;
	char		sql[128];

	pv[0] = "bench_r";
	pl[0] = 0;
	if (vals)
		pv[1] = bin_array(FLOAT4OID, n, 4, vals, &pl[1]);
	else
		snprintf(sql, sizeof(sql), "SELECT ps_pull_range($1, 0, %d)", n);
	t0 = now_ms();
	r = PQexecParams(conn, vals ? "SELECT ps_push_range($1, 0, $2)" : sql,
					 vals ? 2 : 1, types, (const char *const *) pv, pl, pf, 1);
	t1 = now_ms();
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		die("range");
	*bytes = vals ? (size_t) pl[1] : (size_t) PQgetlength(r, 0, 0);
	PQclear(r);
	if (vals)
		free(pv[1]);
	return t1 - t0;
}

/*
 * One case of n random keys of the 10M-key table, through the library
 * (times in tl) and SQL (ts): a push or pull, with new keys every call,
 * or (cached) the keys of the call before, which the library sends as
 * their hash.
 */
static void
random_case(int64_t *keys, int n, float *vals, float *out, int pull, int cached,
			unsigned *seed, double *tl, double *ts, size_t *bytes)
{
	int			k;

	for (k = -1; k < reps; k++)
	{
		double		t0;
		int64_t		t;

		if (!cached)
			random_keys(keys, n, 10000000, seed);
		t0 = now_ms();
		t = pull ? ps_client_pull(client, "bench_c", keys, n, out, NULL)
			: ps_client_push(client, "bench_c", keys, n, vals, NULL);
		if (t < 0 || ps_client_wait(client, t) != 0)
			die(pull ? "pull" : "push");
		if (k >= 0)
			tl[k] = now_ms() - t0;
		t0 = sql_call(pull ? "SELECT ps_pull($1, $2)" : "SELECT ps_push($1, $2, $3)",
					  keys, n, pull ? NULL : vals, bytes);
		if (k >= 0)
			ts[k] = t0;
	}
}

static size_t
zstd1(void *dst, size_t cap, const void *src, size_t n)
{
	size_t		r = ZSTD_compress(dst, cap, src, n, 1);

	return ZSTD_isError(r) ? 0 : r;
}

typedef struct Row
{
	const char *name;
	int			keys;			/* per call */
	int			inflight;
	double		lib_ms,
				sql_ms;
	size_t		lib_bytes,
				sql_bytes;
} Row;

static void
print_row(const Row *r)
{
	double		calls = r->inflight;

	printf("| %-38s | %9d | %9.3f | %12.3g | %11zu | %9.3f | %12.3g | %11zu | %7.2fx |\n",
		   r->name, r->keys, r->lib_ms, r->keys * calls / r->lib_ms * 1000,
		   r->lib_bytes, r->sql_ms, r->keys * calls / r->sql_ms * 1000,
		   r->sql_bytes, r->sql_ms / r->lib_ms);
}

/* the size of a library message for n keys (dim 1), as the library sends it */
static size_t
msg_size(const int64_t *keys, int64_t first, int n, const float *vals)
{
	uint8_t    *buf = malloc(ps_wire_bound(n, 1, 1, 1));
	size_t		len = ps_wire_encode(buf, vals ? PS_WIRE_PUSH : PS_WIRE_PULL, n,
									 vals ? 1 : 0, NULL, 0, keys, first, vals, true);

	free(buf);
	return len;
}

/* the size of a range push of n values compressed as the library sends it */
static size_t
zstd_size(const int64_t *keys, int n, const float *vals)
{
	uint8_t    *buf = malloc(ps_wire_bound(n, 1, 1, 1));
	size_t		len = ps_wire_encode(buf, PS_WIRE_PUSH, n, 1, NULL, 0, keys, 0, vals, true);
	size_t		cap = len + 64;
	uint8_t    *packed = malloc(cap);
	size_t		plen;
	static const PsWireCodec codec = {ZSTD_compressBound, zstd1, NULL};

	/* this program's own copy of the codec (the library keeps its own) */
	ps_wire_set_codec(&codec);
	plen = ps_wire_compress(buf, len, packed, cap);
	free(buf);
	free(packed);
	return plen ? plen : len;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t		x = *(const int64_t *) a,
				y = *(const int64_t *) b;

	return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
	const char *conninfo = argc > 1 ? argv[1] : "";
	int			n1m = 1000000;
	float	   *vals = malloc(sizeof(float) * 10000000);
	float	   *out = malloc(sizeof(float) * 10000000);
	int64_t    *keys = malloc(sizeof(int64_t) * n1m);
	int64_t    *sorted = malloc(sizeof(int64_t) * n1m);
	double	   *tl,
			   *ts;
	char	   *err = NULL;
	Row			rows[16];
	int			nrows = 0,
				i,
				k;
	unsigned	seed = 4242;
	size_t		bytes = 0;

	if (argc > 2)
		reps = atoi(argv[2]);
	tl = malloc(sizeof(double) * reps);
	ts = malloc(sizeof(double) * reps);
	conn = PQconnectdb(conninfo);
	if (PQstatus(conn) != CONNECTION_OK)
		die("connect");
	exec("SET client_min_messages = warning");
	exec("CREATE EXTENSION IF NOT EXISTS ps");
	exec("DROP TABLE IF EXISTS bench_r, bench_c");
	exec("CREATE TABLE bench_r (key bigint, val real) USING ps");
	exec("CREATE TABLE bench_c (key bigint, val real) USING ps");
	exec("SELECT ps_push_range('bench_r', 0, array_fill(0::real, ARRAY[1000000]))");
	for (i = 0; i < 10; i++)
	{
		char		sql[160];

		snprintf(sql, sizeof(sql),
				 "SELECT ps_push_range('bench_c', %d, array_fill(0::real, ARRAY[1000000]))",
				 i * 1000000);
		exec(sql);
	}
	exec("CHECKPOINT");
	client = ps_client_connect(conninfo, &err);
	if (client == NULL)
	{
		fprintf(stderr, "ps_bench_client: %s", err);
		return 1;
	}
	for (i = 0; i < n1m; i++)
		vals[i] = (float) (i % 5) - 2;

	/* 1M dense range push and pull, raw and compressed (values i % 5 - 2) */
	for (k = 0; k < 2; k++)
	{
		int			r;

		ps_client_set_compression(client, k);
		for (r = -1; r < reps; r++)
		{
			double		t0 = now_ms();
			int64_t		t = ps_client_push_range(client, "bench_r", 0, n1m, vals, NULL);

			if (t < 0 || ps_client_wait(client, t) != 0)
				die("range push");
			if (r >= 0)
				tl[r] = now_ms() - t0;
			t0 = sql_range(n1m, vals, &bytes);
			if (r >= 0)
				ts[r] = t0;
		}
		rows[nrows++] = (Row) {k ? "push 1M-key dense range, zstd" : "push 1M-key dense range",
			n1m, 1, median(tl, reps), median(ts, reps),
		k ? zstd_size(NULL, n1m, vals) : msg_size(NULL, 0, n1m, vals), bytes};
		for (r = -1; r < reps; r++)
		{
			double		t0 = now_ms();
			int64_t		t = ps_client_pull_range(client, "bench_r", 0, n1m, out, NULL);

			if (t < 0 || ps_client_wait(client, t) != 0)
				die("range pull");
			if (r >= 0)
				tl[r] = now_ms() - t0;
			t0 = sql_range(n1m, NULL, &bytes);
			if (r >= 0)
				ts[r] = t0;
		}
		rows[nrows++] = (Row) {k ? "pull 1M-key dense range, zstd" : "pull 1M-key dense range",
			n1m, 1, median(tl, reps), median(ts, reps),
		/* the request (24 bytes) and the answer (a range push's size less its 8-byte first key) */
		24 + (k ? zstd_size(NULL, n1m, out) - 8 : 16 + (size_t) n1m * 4), bytes};
	}
	ps_client_set_compression(client, 0);

	/* 1M random keys of the 10M-key table: new keys each call, then the same */
	for (k = 0; k < 4; k++)
	{
		int			pull = k >= 2,
					cached = k % 2 == 1;
		static const char *const names[] = {
			"push 1M random keys, 10M-key table", "push 1M random keys, key cached",
			"pull 1M random keys, 10M-key table", "pull 1M random keys, key cached"};

		random_case(keys, n1m, vals, out, pull, cached, &seed, tl, ts, &bytes);
		memcpy(sorted, keys, sizeof(int64_t) * n1m);
		qsort(sorted, n1m, sizeof(int64_t), cmp_i64);
		rows[nrows++] = (Row) {names[k], n1m, 1, median(tl, reps), median(ts, reps),
			(cached ? 16 + 8 + (pull ? 0 : (size_t) n1m * 4) :
			 msg_size(sorted, 0, n1m, pull ? NULL : vals)) +
			(pull ? 20 + (size_t) n1m * 4 : 0), bytes};
	}

	/* 1k keys: round trips, and 16 in flight */
	{
		int			n = 1000,
					inflight;
		int			r100 = reps * 10;
		static const char *const names1k[2][2][2] = {
			{{"push 1k keys, round trip", "pull 1k keys, round trip"},
			 {"push 1k keys, 16 in flight", "pull 1k keys, 16 in flight"}},
			{{"push 1k consecutive keys, round trip", "pull 1k consecutive keys, round trip"},
			 {"push 1k consecutive keys, 16 in flight", "pull 1k consecutive keys, 16 in flight"}}};
		double	   *t1 = malloc(sizeof(double) * r100),
				   *t2 = malloc(sizeof(double) * r100);

		int			block;

		for (block = 0; block < 2; block++)
		for (inflight = 1; inflight <= 16; inflight += 15)
		{
			int			pull;

			for (pull = 0; pull < 2; pull++)
			{
				for (k = -1; k < r100; k++)
				{
					double		t0;
					int64_t		t = 0;
					int			j;

					if (block)
						block_keys(keys, inflight, n, 1000000, &seed);
					else
						random_keys(keys, n * inflight, 1000000, &seed);
					t0 = now_ms();
					for (j = 0; j < inflight; j++)
						t = pull ? ps_client_pull(client, "bench_r", keys + j * n, n, out + j * n, NULL)
							: ps_client_push(client, "bench_r", keys + j * n, n, vals, NULL);
					if (t < 0 || ps_client_wait(client, t) != 0)
						die("1k");
					if (k >= 0)
						t1[k] = now_ms() - t0;
					t0 = now_ms();
					for (j = 0; j < inflight; j++)
					{
						PGresult   *r;
						Oid			types[3] = {0, INT8ARRAYOID, FLOAT4ARRAYOID};
						char	   *pv[3];
						int			pl[3],
									pf[3] = {0, 1, 1};

						pv[0] = "bench_r";
						pl[0] = 0;
						pv[1] = bin_array(INT8OID, n, 8, keys + j * n, &pl[1]);
						if (!pull)
							pv[2] = bin_array(FLOAT4OID, n, 4, vals, &pl[2]);
						r = PQexecParams(conn, pull ? "SELECT ps_pull($1, $2)" : "SELECT ps_push($1, $2, $3)",
										 pull ? 2 : 3, types, (const char *const *) pv, pl, pf, 1);
						if (PQresultStatus(r) != PGRES_TUPLES_OK)
							die("1k sql");
						bytes = pull ? (size_t) pl[1] + PQgetlength(r, 0, 0) : (size_t) pl[1] + pl[2];
						PQclear(r);
						free(pv[1]);
						if (!pull)
							free(pv[2]);
					}
					if (k >= 0)
						t2[k] = now_ms() - t0;
				}
				memcpy(sorted, keys, sizeof(int64_t) * n);
				qsort(sorted, n, sizeof(int64_t), cmp_i64);
				rows[nrows++] = (Row) {
					names1k[block][inflight == 16][pull],
						n, inflight, median(t1, r100), median(t2, r100),
						msg_size(sorted, 0, n, pull ? NULL : vals) + (pull ? 20 + (size_t) n * 4 : 0),
						bytes};
			}
		}
	}

	printf("\nOne connection each, median of %d calls (1k-key cases: %d); ms per call (16 in flight: per 16 calls), keys/s, bytes per call\n\n",
		   reps, reps * 10);
	printf("| %-38s | %9s | %9s | %12s | %11s | %9s | %12s | %11s | %8s |\n",
		   "case", "keys/call", "lib ms", "lib keys/s", "lib bytes", "SQL ms", "SQL keys/s", "SQL bytes", "SQL/lib");
	printf("|----------------------------------------|-----------|-----------|--------------|-------------|-----------|--------------|-------------|----------|\n");
	for (i = 0; i < nrows; i++)
		print_row(&rows[i]);
	printf("\ntargets (durable, this machine): dense push >= 1e8 keys/s: %.3g; dense pull >= 1.4e8: %.3g; "
		   "random push >= 4e7 (key-cached): %.3g; random pull >= 7e7 (key-cached): %.3g; "
		   "1k push round trip <= 200 us: %.0f us; 1k pull round trip <= 120 us: %.0f us; "
		   "16 in flight >= 3.5e7 keys/s: push %.3g, pull %.3g\n",
		   n1m / rows[0].lib_ms * 1000, n1m / rows[1].lib_ms * 1000,
		   n1m / rows[5].lib_ms * 1000, n1m / rows[7].lib_ms * 1000,
		   rows[8].lib_ms * 1000, rows[9].lib_ms * 1000,
		   16000 / rows[10].lib_ms * 1000, 16000 / rows[11].lib_ms * 1000);
	ps_client_close(client);
	exec("DROP TABLE bench_r, bench_c");
	PQfinish(conn);
	return 0;
}
