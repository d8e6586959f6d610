/*
 * ps_bench.c
 *	  Benchmark of the ps parameter store against a heap table, measured in
 *	  the same run through the same libpq binary protocol.
 *
 * For tables of 1M and 10M keys (keys 0 .. N-1) it times:
 *	  push: ps_push of 100k distinct random keys, against
 *			INSERT ... ON CONFLICT (key) DO UPDATE on a heap table with a
 *			primary key;
 *	  pull: ps_pull of 100k random keys, against
 *			SELECT val FROM heap WHERE key = ANY($1);
 * and, on the 1M tables, a dense range of 1M floats: ps_push_range /
 * ps_pull_range against the same heap statements over keys 0 .. 1M-1, and
 * the range push through the scheduler's queue (ps.scheduler = always)
 * against the same push applied by its backend (ps.scheduler = off), the
 * two taking turns call by call (once at the start, on the fresh server,
 * and once at the end of the run).
 * Then the same random pushes and pulls on ps tables whose 1M and 10M keys
 * are spread over the whole int64 range (as hashed feature ids are; they
 * are stored in sparse leaves), compared with the same heap figures.
 * Every call sends and receives binary arrays.  Each figure is the median
 * of several calls after one warm-up call (the first write after a
 * checkpoint pays full-page images; that call is reported separately).
 *
 * Usage: ps_bench [conninfo] [reps]      (run by test/bench/run.sh)
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "bench_util.h"

static PGconn *conn;

static void
die(const char *what, PGresult *res)
{
	fprintf(stderr, "ps_bench: %s: %s", what,
			res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
	exit(1);
}

static void
exec(const char *sql)
{
	PGresult   *res = PQexec(conn, sql);

	if (PQresultStatus(res) != PGRES_COMMAND_OK &&
		PQresultStatus(res) != PGRES_TUPLES_OK)
		die(sql, res);
	PQclear(res);
}

/* run a statement with binary params, binary results; returns ms */
static double
timed(const char *sql, int nparams, const Oid *types, char **vals,
	  const int *lens, int expect_rows)
{
	int			formats[3] = {1, 1, 1};
	double		t0 = now_ms();
	PGresult   *res = PQexecParams(conn, sql, nparams, types,
								   (const char *const *) vals, lens, formats, 1);
	double		t1 = now_ms();

	if (PQresultStatus(res) != PGRES_TUPLES_OK &&
		PQresultStatus(res) != PGRES_COMMAND_OK)
		die(sql, res);
	if (expect_rows >= 0 && PQntuples(res) != expect_rows)
	{
		fprintf(stderr, "ps_bench: %s returned %d rows, expected %d\n", sql,
				PQntuples(res), expect_rows);
		exit(1);
	}
	PQclear(res);
	return t1 - t0;
}

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return (x > y) - (x < y);
}

/* n distinct random keys from 0 .. range-1 (Floyd's sampling is overkill:
 * a partial Fisher-Yates over a lazily built permutation would cost range
 * memory, so draw and reject duplicates with a bitmap) */
static void
random_keys(int64_t *keys, int n, int64_t range, unsigned *seed)
{
	unsigned char *seen = calloc(range / 8 + 1, 1);
	int			i = 0;

	while (i < n)
	{
		int64_t		k = (((int64_t) rand_r(seed) << 31) ^ rand_r(seed)) % range;

		if (seen[k / 8] & (1 << (k % 8)))
			continue;
		seen[k / 8] |= 1 << (k % 8);
		keys[i++] = k;
	}
	free(seen);
}

/*
 * Key i of a "sparse" table: i times an odd 64-bit constant, so the keys
 * of 0 .. N-1 are distinct and spread over the whole int64 range like
 * hashed feature ids.
 */
static int64_t
sparse_key(int64_t i)
{
	return (int64_t) ((uint64_t) i * UINT64_C(0x9E3779B97F4A7C15));
}

static int	use_sparse = 0;

typedef struct Result
{
	double		first;			/* first call after a checkpoint */
	double		median;			/* median of the others */
} Result;

/*
 * Time reps calls of sql after a CHECKPOINT, each with fresh random keys
 * (and values for pushes).
 */
static Result
measure(const char *sql, int nkeys, int64_t range, int with_vals, int reps,
		int expect_rows, unsigned seed)
{
	Oid			types[3] = {INT8ARRAYOID, FLOAT4ARRAYOID, 0};
	int64_t    *keys = malloc(sizeof(int64_t) * nkeys);
	float	   *vals = malloc(sizeof(float) * nkeys);
	double	   *t = malloc(sizeof(double) * reps);
	Result		r;
	int			i,
				j;

	for (j = 0; j < nkeys; j++)
		vals[j] = 1.0f;
	exec("CHECKPOINT");
	for (i = 0; i <= reps; i++)
	{
		char	   *pv[2];
		int			pl[2];

		random_keys(keys, nkeys, range, &seed);
		if (use_sparse)
			for (j = 0; j < nkeys; j++)
				keys[j] = sparse_key(keys[j]);
		pv[0] = bin_array(INT8OID, nkeys, 8, keys, &pl[0]);
		pv[1] = bin_array(FLOAT4OID, nkeys, 4, vals, &pl[1]);
		if (i == 0)
			r.first = timed(sql, with_vals ? 2 : 1, types, pv, pl, expect_rows);
		else
			t[i - 1] = timed(sql, with_vals ? 2 : 1, types, pv, pl, expect_rows);
		free(pv[0]);
		free(pv[1]);
	}
	qsort(t, reps, sizeof(double), cmp_double);
	r.median = t[reps / 2];
	free(keys);
	free(vals);
	free(t);
	return r;
}

/* time a parameterless range statement reps times */
static Result
measure_range(const char *sql, int reps, int expect_rows)
{
	double	   *t = malloc(sizeof(double) * reps);
	Result		r;
	int			i;

	exec("CHECKPOINT");
	r.first = timed(sql, 0, NULL, NULL, NULL, expect_rows);
	for (i = 0; i < reps; i++)
		t[i] = timed(sql, 0, NULL, NULL, NULL, expect_rows);
	qsort(t, reps, sizeof(double), cmp_double);
	r.median = t[reps / 2];
	free(t);
	return r;
}

/*
 * Time one parameterless statement under two settings of ps.scheduler,
 * taking turns call by call after one CHECKPOINT (the order swapped every
 * pair), so that WAL segment creation, full-page images and the machine's
 * drift fall on both alike.  The first call of each is a warm-up.
 */
static void
measure_range_pair(const char *sql, const char *mode_a, const char *mode_b,
				   int reps, Result *a, Result *b)
{
	double	   *ta = malloc(sizeof(double) * reps);
	double	   *tb = malloc(sizeof(double) * reps);
	char		set_a[128],
				set_b[128];
	int			i;

	snprintf(set_a, sizeof(set_a), "SET ps.scheduler = %s", mode_a);
	snprintf(set_b, sizeof(set_b), "SET ps.scheduler = %s", mode_b);
	exec("CHECKPOINT");
	exec(set_a);
	a->first = timed(sql, 0, NULL, NULL, NULL, 1);
	exec(set_b);
	b->first = timed(sql, 0, NULL, NULL, NULL, 1);
	for (i = 0; i < reps; i++)
	{
		int			a_first = i % 2 == 0;

		exec(a_first ? set_a : set_b);
		(a_first ? ta : tb)[i] = timed(sql, 0, NULL, NULL, NULL, 1);
		exec(a_first ? set_b : set_a);
		(a_first ? tb : ta)[i] = timed(sql, 0, NULL, NULL, NULL, 1);
	}
	exec("RESET ps.scheduler");
	qsort(ta, reps, sizeof(double), cmp_double);
	qsort(tb, reps, sizeof(double), cmp_double);
	a->median = ta[reps / 2];
	b->median = tb[reps / 2];
	free(ta);
	free(tb);
}

static void
load_ps(int64_t n)
{
	char		sql[512];
	int64_t		lo;
	double		t0 = now_ms();

	snprintf(sql, sizeof(sql), "DROP TABLE IF EXISTS bench_ps_%lld", (long long) n);
	exec(sql);
	snprintf(sql, sizeof(sql), "CREATE TABLE bench_ps_%lld (key bigint, val real) USING ps",
			 (long long) n);
	exec(sql);
	for (lo = 0; lo < n; lo += 1000000)
	{
		snprintf(sql, sizeof(sql),
				 "SELECT ps_push_range('bench_ps_%lld', %lld, array_fill(0::real, ARRAY[%lld]))",
				 (long long) n, (long long) lo, (long long) (n - lo < 1000000 ? n - lo : 1000000));
		exec(sql);
	}
	fprintf(stderr, "loaded ps table of %lld keys in %.1f s\n", (long long) n,
			(now_ms() - t0) / 1000);
}

/* a ps table whose keys are sparse_key(0 .. n-1), pushed 1M at a time */
static void
load_sparse(int64_t n)
{
	char		sql[512];
	Oid			types[2] = {INT8ARRAYOID, FLOAT4ARRAYOID};
	int			chunk = 1000000;
	int64_t    *keys = malloc(sizeof(int64_t) * chunk);
	float	   *vals = calloc(chunk, sizeof(float));
	int64_t		lo;
	double		t0 = now_ms();

	snprintf(sql, sizeof(sql), "DROP TABLE IF EXISTS bench_sparse_%lld", (long long) n);
	exec(sql);
	snprintf(sql, sizeof(sql), "CREATE TABLE bench_sparse_%lld (key bigint, val real) USING ps",
			 (long long) n);
	exec(sql);
	snprintf(sql, sizeof(sql), "SELECT ps_push('bench_sparse_%lld', $1, $2)", (long long) n);
	for (lo = 0; lo < n; lo += chunk)
	{
		char	   *pv[2];
		int			pl[2];
		int			m = n - lo < chunk ? (int) (n - lo) : chunk;
		int			j;

		for (j = 0; j < m; j++)
			keys[j] = sparse_key(lo + j);
		pv[0] = bin_array(INT8OID, m, 8, keys, &pl[0]);
		pv[1] = bin_array(FLOAT4OID, m, 4, vals, &pl[1]);
		timed(sql, 2, types, pv, pl, 1);
		free(pv[0]);
		free(pv[1]);
	}
	free(keys);
	free(vals);
	fprintf(stderr, "loaded sparse ps table of %lld keys in %.1f s\n", (long long) n,
			(now_ms() - t0) / 1000);
}

static void
load_heap(int64_t n)
{
	char		sql[512];
	double		t0 = now_ms();

	snprintf(sql, sizeof(sql), "DROP TABLE IF EXISTS bench_heap_%lld", (long long) n);
	exec(sql);
	snprintf(sql, sizeof(sql),
			 "CREATE TABLE bench_heap_%lld (key bigint primary key, val real);"
			 "INSERT INTO bench_heap_%lld SELECT g, 0 FROM generate_series(0, %lld) g",
			 (long long) n, (long long) n, (long long) n - 1);
	exec(sql);
	snprintf(sql, sizeof(sql), "VACUUM ANALYZE bench_heap_%lld", (long long) n);
	exec(sql);
	fprintf(stderr, "loaded heap table of %lld rows in %.1f s\n", (long long) n,
			(now_ms() - t0) / 1000);
}

static void
drop(const char *kind, int64_t n)
{
	char		sql[128];

	snprintf(sql, sizeof(sql), "DROP TABLE bench_%s_%lld", kind, (long long) n);
	exec(sql);
}

static void
row(const char *op, const char *table, int nkeys, Result ps, Result heap)
{
	printf("| %-28s | %-9s | %9d | %8.2f | %8.2f | %12.0f | %12.0f | %7.1fx |\n",
		   op, table, nkeys, ps.median, ps.first, nkeys / ps.median * 1000,
		   nkeys / heap.median * 1000, heap.median / ps.median);
}

int
main(int argc, char **argv)
{
	const char *conninfo = argc > 1 ? argv[1] : "";
	int			reps = argc > 2 ? atoi(argv[2]) : 9;
	int64_t		sizes[2] = {1000000, 10000000};
	int			nkeys = 100000;
	Result		push_sp[2],
				pull_sp[2],
				push_ps[2],
				push_heap[2],
				pull_ps[2],
				pull_heap[2],
				rpush_ps,
				rpush_direct,
				rpush_ps_late,
				rpush_direct_late,
				rpush_heap,
				rpull_ps,
				rpull_heap;
	char		sql[512];
	int			s;

	conn = PQconnectdb(conninfo);
	if (PQstatus(conn) != CONNECTION_OK)
		die("connect", NULL);
	exec("SET client_min_messages = warning");
	exec("CREATE EXTENSION IF NOT EXISTS ps");

	/*
	 * Each table is loaded and measured alone, so neither evicts the
	 * other's pages from shared buffers during the other's measurements.
	 */
	for (s = 0; s < 2; s++)
	{
		long long	n = (long long) sizes[s];

		load_ps(sizes[s]);
		snprintf(sql, sizeof(sql), "SELECT ps_push('bench_ps_%lld', $1, $2)", n);
		push_ps[s] = measure(sql, nkeys, sizes[s], 1, reps, 1, 1);
		snprintf(sql, sizeof(sql), "SELECT ps_pull('bench_ps_%lld', $1)", n);
		pull_ps[s] = measure(sql, nkeys, sizes[s], 0, reps, 1, 2);
		if (s == 0)
		{
			/*
			 * Through the scheduler's queue (a lone push, split by the
			 * appliers) and applied by the backend itself, taking turns.
			 */
			measure_range_pair("SELECT ps_push_range('bench_ps_1000000', 0, array_fill(1::real, ARRAY[1000000]))",
							   "always", "off", reps, &rpush_ps, &rpush_direct);
			rpull_ps = measure_range("SELECT ps_pull_range('bench_ps_1000000', 0, 1000000)", reps, 1);
		}
		drop("ps", sizes[s]);

		load_heap(sizes[s]);
		snprintf(sql, sizeof(sql),
				 "INSERT INTO bench_heap_%lld AS h SELECT * FROM unnest($1::bigint[], $2::real[]) "
				 "ON CONFLICT (key) DO UPDATE SET val = h.val + excluded.val", n);
		push_heap[s] = measure(sql, nkeys, sizes[s], 1, reps, 0, 1);
		snprintf(sql, sizeof(sql), "SELECT val FROM bench_heap_%lld WHERE key = ANY($1)", n);
		pull_heap[s] = measure(sql, nkeys, sizes[s], 0, reps, nkeys, 2);
		if (s == 0)
		{
			rpush_heap = measure_range("INSERT INTO bench_heap_1000000 AS h SELECT g, 1 FROM generate_series(0, 999999) g "
									   "ON CONFLICT (key) DO UPDATE SET val = h.val + excluded.val",
									   3, 0);
			rpull_heap = measure_range("SELECT val FROM bench_heap_1000000 WHERE key >= 0 AND key < 1000000 ORDER BY key",
									   reps, 1000000);
		}
		drop("heap", sizes[s]);
	}

	/* the same pushes and pulls on tables of sparse (hashed) keys */
	use_sparse = 1;
	for (s = 0; s < 2; s++)
	{
		long long	n = (long long) sizes[s];

		load_sparse(sizes[s]);
		snprintf(sql, sizeof(sql), "SELECT ps_push('bench_sparse_%lld', $1, $2)", n);
		push_sp[s] = measure(sql, nkeys, sizes[s], 1, reps, 1, 1);
		snprintf(sql, sizeof(sql), "SELECT ps_pull('bench_sparse_%lld', $1)", n);
		pull_sp[s] = measure(sql, nkeys, sizes[s], 0, reps, 1, 2);
		drop("sparse", sizes[s]);
	}

	/*
	 * The range push once more, at the end of the run: by now the server
	 * has WAL segments to recycle, as one that has run a while does.
	 */
	load_ps(sizes[0]);
	measure_range_pair("SELECT ps_push_range('bench_ps_1000000', 0, array_fill(1::real, ARRAY[1000000]))",
					   "always", "off", reps, &rpush_ps_late, &rpush_direct_late);
	drop("ps", sizes[0]);

	printf("\n| %-28s | %-9s | %9s | %8s | %8s | %12s | %12s | %8s |\n",
		   "operation", "table", "keys/call", "ms/call", "1st ms", "ps keys/s",
		   "heap keys/s", "ps/heap");
	printf("|------------------------------|-----------|-----------|----------|----------|--------------|--------------|----------|\n");
	row("push 100k random keys", "1M keys", nkeys, push_ps[0], push_heap[0]);
	row("push 100k random keys", "10M keys", nkeys, push_ps[1], push_heap[1]);
	row("pull 100k random keys", "1M keys", nkeys, pull_ps[0], pull_heap[0]);
	row("pull 100k random keys", "10M keys", nkeys, pull_ps[1], pull_heap[1]);
	row("push dense range", "1M keys", 1000000, rpush_ps, rpush_heap);
	row("pull dense range", "1M keys", 1000000, rpull_ps, rpull_heap);
	row("push 100k keys, sparse keys", "1M keys", nkeys, push_sp[0], push_heap[0]);
	row("push 100k keys, sparse keys", "10M keys", nkeys, push_sp[1], push_heap[1]);
	row("pull 100k keys, sparse keys", "1M keys", nkeys, pull_sp[0], pull_heap[0]);
	row("pull 100k keys, sparse keys", "10M keys", nkeys, pull_sp[1], pull_heap[1]);
	printf("\npush time per call, 10M-key table / 1M-key table: %.2f (target <= 1.5); "
		   "with sparse keys: %.2f\n",
		   push_ps[1].median / push_ps[0].median,
		   push_sp[1].median / push_sp[0].median);
	printf("range push of 1M floats: %.2f ms through the scheduler (ps.scheduler = always), "
		   "%.2f ms applied by the backend (ps.scheduler = off): %.2fx (target <= 1.15)\n",
		   rpush_ps.median, rpush_direct.median, rpush_ps.median / rpush_direct.median);
	printf("the same at the end of the run: %.2f ms through the scheduler, %.2f ms applied by the backend: %.2fx\n",
		   rpush_ps_late.median, rpush_direct_late.median,
		   rpush_ps_late.median / rpush_direct_late.median);
	printf("targets: push >= 30x heap upsert: %s (%.1fx, %.1fx); pull >= 10x heap pull: %s (%.1fx, %.1fx)\n",
		   push_heap[0].median / push_ps[0].median >= 30 && push_heap[1].median / push_ps[1].median >= 30 ? "met" : "MISSED",
		   push_heap[0].median / push_ps[0].median, push_heap[1].median / push_ps[1].median,
		   pull_heap[0].median / pull_ps[0].median >= 10 && pull_heap[1].median / pull_ps[1].median >= 10 ? "met" : "MISSED",
		   pull_heap[0].median / pull_ps[0].median, pull_heap[1].median / pull_ps[1].median);
	PQfinish(conn);
	return 0;
}
