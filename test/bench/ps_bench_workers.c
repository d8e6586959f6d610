/*
 * ps_bench_workers.c
 *	  Benchmark of concurrent workers training one ps table: pushes/s and
 *	  keys/s with 1, 2 and 4 workers under each consistency model and update
 *	  rule, with the scheduler aggregating pushes against every push applied
 *	  on its own by its backend (ps.scheduler = off), in the same run.
 *
 * Each worker is a process with its own libpq connection.  It joins the
 * table (ps_join) and runs its iterations; iteration c pulls for clock c
 * (which waits as the table's consistency model says) and pushes a
 * gradient for the same keys at clock c, as a data-parallel training
 * worker does.  Two workloads, each on a table of 1M keys per update rule:
 *	  sparse: ps_pull / ps_push of about 10k distinct keys drawn with a
 *			  skewed distribution (key = N u^3, u uniform), so workers share
 *			  their frequent keys as they do with real sparse features;
 *			  every update rule;
 *	  dense:  ps_pull_range / ps_push_range of keys 0 .. 99999, the same
 *			  range for every worker; the sum rule, a quarter of the
 *			  iterations;
 *	  shared: ps_pull / ps_push of 10k distinct uniform keys, the same
 *			  batches for every worker (workers that share all their keys,
 *			  where aggregation saves the most); the sum and sgd rules.
 * Batches are drawn before the clock starts; every call sends and receives
 * binary arrays.  A figure is all workers' pushes (and keys pushed)
 * divided by the wall time from the start signal to the last worker's
 * end, after a CHECKPOINT; each is the median of REPEATS runs, the
 * settings taking turns.  The aggregated runs use the server's defaults
 * (ps.scheduler = auto, no gather window); under bounded and sequential
 * consistency with several workers they are measured once more with a
 * gather window of WINDOW_MS, to show what it buys and costs.  For the
 * aggregated runs ps_scheduler() gives the pushes applied per aggregate;
 * for all, the WAL written per push (pg_current_wal_lsn before and
 * after).  The benchmark fails if the scheduler did not apply exactly
 * the aggregated runs' pushes, or applied any with ps.scheduler = off.
 *
 * Usage: ps_bench_workers [conninfo] [iterations]   (run by test/bench/run.sh)
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "bench_util.h"

#define NKEYS_TABLE 1000000
#define REPEATS 3				/* runs per figure, the median shown */
#define WINDOW_MS 1				/* the gather window measured beside */
static int	batch = 10000;		/* keys per push */
static int	dense = 0;			/* push and pull the range 0 .. batch-1 */
static int	shared = 0;			/* every worker the same uniform batches */

static const char *conninfo;


static PGconn *
connect_or_die(void)
{
	PGconn	   *c = PQconnectdb(conninfo);

	if (PQstatus(c) != CONNECTION_OK)
	{
		fprintf(stderr, "ps_bench_workers: connect: %s", PQerrorMessage(c));
		exit(1);
	}
	return c;
}

/* run sql and return its result (one row expected if rows >= 0) */
static PGresult *
run(PGconn *c, const char *sql, int nparams, char **vals, const int *lens,
	int rows)
{
	int			formats[2] = {1, 1};
	PGresult   *res = nparams == 0 ? PQexec(c, sql) :
	PQexecParams(c, sql, nparams, NULL, (const char *const *) vals, lens,
				 formats, 1);

	if (PQresultStatus(res) != PGRES_TUPLES_OK &&
		PQresultStatus(res) != PGRES_COMMAND_OK)
	{
		fprintf(stderr, "ps_bench_workers: %s: %s", sql, PQresultErrorMessage(res));
		exit(1);
	}
	if (rows >= 0 && PQntuples(res) != rows)
	{
		fprintf(stderr, "ps_bench_workers: %s returned %d rows\n", sql, PQntuples(res));
		exit(1);
	}
	return res;
}

static void
exec(PGconn *c, const char *sql)
{
	PQclear(run(c, sql, 0, NULL, NULL, -1));
}

static int
cmp_int64(const void *a, const void *b)
{
	int64_t		x = *(const int64_t *) a;
	int64_t		y = *(const int64_t *) b;

	return (x > y) - (x < y);
}

/* one batch: sorted distinct skewed keys, a small gradient per key */
typedef struct Batch
{
	char	   *keys;
	char	   *grads;
	int			keylen;
	int			gradlen;
	int			n;
} Batch;

static void
make_batch(Batch *b, unsigned int *seed)
{
	int64_t    *k = malloc(sizeof(int64_t) * batch);
	float	   *g;
	int			i,
				n = 0;

	for (i = 0; i < batch; i++)
	{
		double		u = rand_r(seed) / (RAND_MAX + 1.0);

		k[i] = dense ? i : shared ? (int64_t) (NKEYS_TABLE * u) :
			(int64_t) (NKEYS_TABLE * u * u * u);
	}
	qsort(k, batch, sizeof(int64_t), cmp_int64);
	for (i = 0; i < batch; i++)
		if (n == 0 || k[i] != k[n - 1])
			k[n++] = k[i];
	g = malloc(sizeof(float) * n);
	for (i = 0; i < n; i++)
		g[i] = (rand_r(seed) / (RAND_MAX + 1.0) - 0.5) * 0.02;
	b->n = n;
	b->keys = bin_array(INT8OID, n, 8, k, &b->keylen);
	b->grads = bin_array(FLOAT4OID, n, 4, g, &b->gradlen);
	free(k);
	free(g);
}

/*
 * A worker process: join, draw the batches, say ready, wait for the start
 * signal, run the iterations, leave, and report the keys it pushed.
 */
static void
worker_main(const char *tbl, int wno, int iters, int scheduler, int ready_fd,
			int go_fd, int result_fd)
{
	PGconn	   *c = connect_or_die();
	Batch	   *batches = malloc(sizeof(Batch) * iters);
	unsigned int seed = 12345 + (shared ? 0 : 7919 * wno);
	char		sql[256],
				pullsql[256],
				pushsql[256],
				id[16],
				ch;
	long long	keys = 0;
	PGresult   *res;
	int			i;

	exec(c, scheduler ? "SET ps.scheduler = auto" : "SET ps.scheduler = off");
	snprintf(sql, sizeof(sql), "SELECT ps_join('%s')", tbl);
	res = run(c, sql, 0, NULL, NULL, 1);
	snprintf(id, sizeof(id), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	for (i = 0; i < iters; i++)
		make_batch(&batches[i], &seed);

	if (dense)
	{
		snprintf(pullsql, sizeof(pullsql),
				 "SELECT ps_pull_range('%s', 0, %d, %s, %s)", tbl, batch, id, "%lld");
		snprintf(pushsql, sizeof(pushsql),
				 "SELECT ps_push_range('%s', 0, $1::real[], %s, %s)", tbl, id, "%lld");
	}
	else
	{
		snprintf(pullsql, sizeof(pullsql),
				 "SELECT ps_pull('%s', $1::bigint[], %s, %s)", tbl, id, "%lld");
		snprintf(pushsql, sizeof(pushsql),
				 "SELECT ps_push('%s', $1::bigint[], $2::real[], %s, %s)", tbl, id, "%lld");
	}
	if (write(ready_fd, "r", 1) != 1 || read(go_fd, &ch, 1) != 1)
		exit(1);

	for (i = 0; i < iters; i++)
	{
		char	   *vals[2] = {batches[i].keys, batches[i].grads};
		int			lens[2] = {batches[i].keylen, batches[i].gradlen};

		snprintf(sql, sizeof(sql), pullsql, (long long) (i + 1));
		PQclear(run(c, sql, dense ? 0 : 1, vals, lens, 1));
		snprintf(sql, sizeof(sql), pushsql, (long long) (i + 1));
		if (dense)
			PQclear(run(c, sql, 1, vals + 1, lens + 1, 1));
		else
			PQclear(run(c, sql, 2, vals, lens, 1));
		keys += batches[i].n;
	}

	snprintf(sql, sizeof(sql), "SELECT ps_leave('%s', %s)", tbl, id);
	exec(c, sql);
	PQfinish(c);
	snprintf(sql, sizeof(sql), "%lld\n", keys);
	if (write(result_fd, sql, strlen(sql)) != (ssize_t) strlen(sql))
		exit(1);
	exit(0);
}

typedef struct Figure
{
	double		pushes_s;
	double		keys_s;
	double		per_apply;		/* pushes per aggregate; 0 if not aggregated */
	double		wal_kb;			/* WAL written per push */
} Figure;

typedef struct Counters
{
	long long	aggregates;
	long long	pushes;
	long long	wal;
} Counters;

static Counters
counters(PGconn *c)
{
	PGresult   *res = run(c, "SELECT sum(aggregates), sum(pushes), "
						  "pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint "
						  "FROM ps_scheduler()", 0, NULL, NULL, 1);
	Counters	k;

	k.aggregates = atoll(PQgetvalue(res, 0, 0));
	k.pushes = atoll(PQgetvalue(res, 0, 1));
	k.wal = atoll(PQgetvalue(res, 0, 2));
	PQclear(res);
	return k;
}

static Figure
run_workers(PGconn *c, const char *tbl, int nworkers, int iters, int scheduler)
{
	int			ready[2],
				go[2],
				result[2];
	Counters	k0,
				k1;
	long long	keys = 0;
	double		t0,
				t1;
	Figure		f;
	FILE	   *in;
	char		line[64],
				ch;
	int			w,
				status,
				failed = 0;

	exec(c, "CHECKPOINT");
	k0 = counters(c);
	if (pipe(ready) || pipe(go) || pipe(result))
		exit(1);
	fflush(NULL);
	for (w = 0; w < nworkers; w++)
		if (fork() == 0)
		{
			close(ready[0]);
			close(go[1]);
			close(result[0]);
			worker_main(tbl, w, iters, scheduler, ready[1], go[0], result[1]);
		}
	close(ready[1]);
	close(go[0]);
	close(result[1]);
	for (w = 0; w < nworkers; w++)
		if (read(ready[0], &ch, 1) != 1)
		{
			fprintf(stderr, "ps_bench_workers: a worker failed to start\n");
			exit(1);
		}
	t0 = now_ms();
	for (w = 0; w < nworkers; w++)
		if (write(go[1], "g", 1) != 1)
			exit(1);
	in = fdopen(result[0], "r");
	while (fgets(line, sizeof(line), in))
		keys += atoll(line);
	t1 = now_ms();
	fclose(in);
	for (w = 0; w < nworkers; w++)
	{
		wait(&status);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failed = 1;
	}
	close(ready[0]);
	close(go[1]);
	if (failed)
	{
		fprintf(stderr, "ps_bench_workers: a worker failed\n");
		exit(1);
	}
	k1 = counters(c);
	f.pushes_s = (double) nworkers * iters / (t1 - t0) * 1000;
	f.keys_s = keys / (t1 - t0) * 1000;
	f.per_apply = k1.aggregates > k0.aggregates ?
		(double) (k1.pushes - k0.pushes) / (k1.aggregates - k0.aggregates) : 0;
	f.wal_kb = (k1.wal - k0.wal) / 1024.0 / (nworkers * iters);
	if (scheduler && k1.pushes - k0.pushes != (long long) nworkers * iters)
	{
		fprintf(stderr, "ps_bench_workers: the scheduler applied %lld pushes, expected %d\n",
				k1.pushes - k0.pushes, nworkers * iters);
		exit(1);
	}
	if (!scheduler && k1.pushes != k0.pushes)
	{
		fprintf(stderr, "ps_bench_workers: the scheduler applied pushes with ps.scheduler = off\n");
		exit(1);
	}
	return f;
}

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return (x > y) - (x < y);
}

/* The median figure of n runs (each field on its own). */
static Figure
median(Figure *runs, int n)
{
	double		v[REPEATS];
	Figure		m;
	int			i,
				f;

	for (f = 0; f < 4; f++)
	{
		for (i = 0; i < n; i++)
			v[i] = ((double *) &runs[i])[f];
		qsort(v, n, sizeof(double), cmp_double);
		((double *) &m)[f] = v[n / 2];
	}
	return m;
}

/* Set ps.gather_window for the whole server (0: off, -1: the default). */
static void
set_gather_window(PGconn *c, int ms)
{
	char		sql[128];
	PGresult   *res;

	if (ms < 0)
		snprintf(sql, sizeof(sql), "ALTER SYSTEM RESET ps.gather_window");
	else
		snprintf(sql, sizeof(sql), "ALTER SYSTEM SET ps.gather_window = %d", ms);
	exec(c, sql);
	exec(c, "SELECT pg_reload_conf()");
	/* the appliers read it at their next wake-up; give them one */
	usleep(200 * 1000);
	res = run(c, "SELECT current_setting('ps.gather_window')", 0, NULL, NULL, 1);
	PQclear(res);
}

/* one table per rule; every consistency model and number of workers */
static void
workload(PGconn *c, const char *name, const char *title,
		 const char *const *rules, int nrules, int iters, double t0)
{
	const char *models[] = {"eventual", "bounded", "sequential"};
	int			nworkers[] = {1, 2, 4};
	char		sql[512],
				tbl[64];
	int			r,
				m,
				w;

	printf("\n%s, %d iterations per worker, median of %d runs\n\n", title, iters, REPEATS);
	printf("| %-7s | %-11s | %7s | %12s | %12s | %8s | %11s | %12s | %12s | %11s | %10s | %21s | %10s |\n",
		   "rule", "consistency", "workers", "aggr. push/s", "aggr. keys/s",
		   "push/app", "aggr. WAL/p", "alone push/s", "alone keys/s",
		   "alone WAL/p", "aggr/alone", "window: push/s, p/a, WAL/p", "win/alone");
	printf("|---------|-------------|---------|--------------|--------------|----------|"
		   "-------------|--------------|--------------|-------------|------------|"
		   "-----------------------------|------------|\n");
	fflush(stdout);
	for (r = 0; r < nrules; r++)
	{
		snprintf(tbl, sizeof(tbl), "bench_w_%s", rules[r]);
		snprintf(sql, sizeof(sql),
				 "DROP TABLE IF EXISTS %s; CREATE TABLE %s (key bigint, val real) USING ps;"
				 "SELECT ps_configure('%s', update_rule => '%s', learning_rate => 0.05);"
				 "SELECT ps_push_range('%s', 0, array_fill(0::real, ARRAY[%d]))",
				 tbl, tbl, tbl, rules[r], tbl, NKEYS_TABLE);
		exec(c, sql);
		for (m = 0; m < 3; m++)
		{
			snprintf(sql, sizeof(sql),
					 "SELECT ps_configure('%s', consistency => '%s', max_delay => %d)",
					 tbl, models[m], m == 1 ? 2 : 0);
			exec(c, sql);
			for (w = 0; w < 3; w++)
			{
				Figure		aggs[REPEATS],
							alones[REPEATS],
							wins[REPEATS],
							agg,
							alone,
							win;
				char		win_text[48] = "",
							ratio_text[16] = "";
				int			window = m > 0 && nworkers[w] > 1,
							k;

				for (k = 0; k < REPEATS; k++)
				{
					aggs[k] = run_workers(c, tbl, nworkers[w], iters, 1);
					alones[k] = run_workers(c, tbl, nworkers[w], iters, 0);
					if (window)
					{
						/* what a gather window buys and costs */
						set_gather_window(c, WINDOW_MS);
						wins[k] = run_workers(c, tbl, nworkers[w], iters, 1);
						set_gather_window(c, -1);
					}
				}
				agg = median(aggs, REPEATS);
				alone = median(alones, REPEATS);
				if (window)
				{
					win = median(wins, REPEATS);
					snprintf(win_text, sizeof(win_text), "%.0f, %.2f, %.1f kB",
							 win.pushes_s, win.per_apply, win.wal_kb);
					snprintf(ratio_text, sizeof(ratio_text), "%.2fx",
							 win.pushes_s / alone.pushes_s);
				}
				printf("| %-7s | %-11s | %7d | %12.0f | %12.0f | %8.2f | %8.1f kB | %12.0f | %12.0f | %8.1f kB | %9.2fx | %27s | %10s |\n",
					   rules[r], m == 1 ? "bounded(2)" : models[m],
					   nworkers[w], agg.pushes_s, agg.keys_s, agg.per_apply,
					   agg.wal_kb, alone.pushes_s, alone.keys_s,
					   alone.wal_kb, agg.pushes_s / alone.pushes_s, win_text,
					   ratio_text);
				fflush(stdout);
				fprintf(stderr, "  %s %s %s, %d workers done (%.0f s)\n", name,
						rules[r], models[m], nworkers[w], (now_ms() - t0) / 1000);
			}
		}
		snprintf(sql, sizeof(sql), "DROP TABLE %s", tbl);
		exec(c, sql);
	}
}

int
main(int argc, char **argv)
{
	const char *rules[] = {"sum", "sgd", "adagrad", "ftrl"};
	int			iters;
	PGconn	   *c;
	char		title[256];
	double		t0 = now_ms();

	conninfo = argc > 1 ? argv[1] : "";
	iters = argc > 2 ? atoi(argv[2]) : 200;
	c = connect_or_die();
	exec(c, "SET client_min_messages = warning");
	exec(c, "CREATE EXTENSION IF NOT EXISTS ps");

	batch = 10000;
	dense = 0;
	snprintf(title, sizeof(title),
			 "Sparse: each iteration pulls and pushes %d skewed keys (about 9300 distinct) of a %d-key table",
			 batch, NKEYS_TABLE);
	workload(c, "sparse", title, rules, 4, iters, t0);

	batch = 100000;
	dense = 1;
	snprintf(title, sizeof(title),
			 "Dense: each iteration pulls and pushes the range of keys 0 .. %d (every worker the same)",
			 batch - 1);
	workload(c, "dense", title, rules, 1, iters / 4, t0);

	batch = 10000;
	dense = 0;
	shared = 1;
	snprintf(title, sizeof(title),
			 "Shared: each iteration pulls and pushes the same %d uniform keys in every worker",
			 batch);
	workload(c, "shared", title, rules, 2, iters, t0);
	PQfinish(c);
	return 0;
}
