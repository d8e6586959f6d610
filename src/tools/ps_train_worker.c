/*-------------------------------------------------------------------------
 *
 * ps_train_worker.c
 *	  One ps_train worker process: joins the table as a worker (ps_join),
 *	  and for each minibatch of its shard of the training set (examples i
 *	  with i % workers == id, shuffled each epoch) advances its clock,
 *	  pulls the weights of the batch's features at that clock (so the
 *	  table's consistency model and max delay govern it), computes the
 *	  gradient of the logistic loss, and pushes it at that clock, through
 *	  the client library.  The server's update rule (FTRL, see ps_train.c)
 *	  turns the gradients into weights.
 *
 * The worker reports its counters in memory shared with the coordinator,
 * starts an epoch once the coordinator measured the one before (so each
 * progress line is the model after exactly that many epochs), and stops
 * between minibatches when asked to.  Its only SQL (ps_join,
 * ps_leave) calls the extension's functions schema-qualified.
 *
 * Layer 12 (tools), in src/tools: uses the client library and libpq.
 *
 *-------------------------------------------------------------------------
 */
#include "ps_train_worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <ps_client.h>

#include "ps_logistic.h"

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
fail(WorkerReport *r, const char *what, const char *why)
{
	snprintf(r->error, sizeof(r->error), "worker: %s: %s", what, why);
	r->finished = 2;
}

/* Run one statement of the extension's functions; returns its one value. */
static char *
ext_call(PGconn *conn, const char *fmt, const char *table, const char *arg,
		 char *why, size_t whylen)
{
	PGresult   *r = PQexec(conn,
						   "SELECT pg_catalog.quote_ident(n.nspname) FROM pg_catalog.pg_extension e "
						   "JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace "
						   "WHERE e.extname OPERATOR(pg_catalog.=) 'ps'");
	char		sql[512];
	const char *params[2] = {table, arg};
	char	   *value = NULL;

	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
	{
		snprintf(why, whylen, "the ps extension is not installed in this database");
		PQclear(r);
		return NULL;
	}
	snprintf(sql, sizeof(sql), fmt, PQgetvalue(r, 0, 0));
	PQclear(r);
	r = PQexecParams(conn, sql, arg ? 2 : 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
		snprintf(why, whylen, "%s", PQerrorMessage(conn));
	else
		value = strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	return value;
}

static uint64_t
next_random(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* What a worker holds, for its one way out. */
typedef struct Worker
{
	const TrainOptions *o;
	WorkerReport *r;
	PGconn	   *admin;
	PsClient   *c;
	int			wid;			/* its id from ps_join; 0: not joined */
} Worker;

/*
 * Leave the table (also after a failure: the other workers' pulls must
 * not wait for this one), close, and return the exit status.
 */
static int
finish(Worker *wk, const char *what, const char *why)
{
	char		widtext[32],
				ignored[256];

	if (what)
		fail(wk->r, what, why);
	if (wk->c)
		ps_client_close(wk->c);
	if (wk->wid > 0)
	{
		snprintf(widtext, sizeof(widtext), "%d", wk->wid);
		free(ext_call(wk->admin, "SELECT %s.ps_leave($1::pg_catalog.regclass, $2::integer) IS NULL",
					  wk->o->table, widtext, ignored, sizeof(ignored)));
	}
	PQfinish(wk->admin);
	if (what == NULL)
		wk->r->finished = 1;
	return what ? 1 : 0;
}

static int
client_failure(Worker *wk, const char *what)
{
	char		why[1024];

	snprintf(why, sizeof(why), "[%s] %s", ps_client_sqlstate(wk->c), ps_client_error(wk->c));
	return finish(wk, what, why);
}

/*
 * The worker's whole life; returns its exit status.  Every worker runs
 * the same number of clocks an epoch (the largest shard's minibatches;
 * one with fewer pulls and pushes nothing at its last clocks), so that
 * no worker waits at the end of an epoch for a clock another one will
 * not reach.
 */
int
worker_main(const TrainOptions *o, const Dataset *train, int id, TrainShared *sh)
{
	Worker		wk = {o, &sh->w[id], PQconnectdb(o->server), NULL, 0};
	pid_t		parent = getppid();
	WorkerReport *r = wk.r;
	char		why[1024];
	char	   *err = NULL;
	char	   *joined;
	size_t		nshard = 0,
				i,
				maxnnz = 0,
				per_epoch;
	size_t	   *shard;
	int64_t    *keys;
	float	   *x,
			   *w,
			   *g;
	int64_t		clock = 0,
				last = 0;
	uint64_t	rng = 0x9E3779B97F4A7C15ULL * (uint64_t) (id + 1);
	int			e;

	if (PQstatus(wk.admin) != CONNECTION_OK)
		return finish(&wk, "connecting", PQerrorMessage(wk.admin));
	joined = ext_call(wk.admin, "SELECT %s.ps_join($1::pg_catalog.regclass)", o->table,
					  NULL, why, sizeof(why));
	if (joined == NULL)
		return finish(&wk, "ps_join", why);
	wk.wid = atoi(joined);
	free(joined);
	wk.c = ps_client_connect(o->server, &err);
	if (wk.c == NULL)
		return finish(&wk, "connecting the client library", err ? err : "");
	if (o->kkt)
		ps_client_set_kkt(wk.c, 1, 0);
	ps_client_set_compression(wk.c, o->compress);

	shard = malloc(sizeof(size_t) * (train->n / o->workers + 1));
	for (i = (size_t) id; shard && i < train->n; i += o->workers)
	{
		shard[nshard++] = i;
		if (train->start[i + 1] - train->start[i] > maxnnz)
			maxnnz = train->start[i + 1] - train->start[i];
	}
	/* the largest shard's minibatches: worker 0's */
	per_epoch = ((train->n + o->workers - 1) / o->workers + o->batch - 1) / o->batch;
	maxnnz *= (size_t) o->batch;
	keys = malloc(sizeof(int64_t) * (maxnnz + 1));
	x = malloc(sizeof(float) * (maxnnz + 1));
	w = malloc(sizeof(float) * (maxnnz + 1));
	g = malloc(sizeof(float) * (maxnnz + 1));
	if (!shard || !keys || !x || !w || !g)
		return finish(&wk, "memory", "out of memory");

	for (e = 0; e < o->epochs && !sh->stop; e++)
	{
		size_t		bi;

		/* a new order each epoch (Fisher-Yates) */
		for (i = nshard; i > 1; i--)
		{
			size_t		j = (size_t) (next_random(&rng) % i),
						t = shard[i - 1];

			shard[i - 1] = shard[j];
			shard[j] = t;
		}
		for (bi = 0; bi < per_epoch && !sh->stop && getppid() == parent; bi++)
		{
			size_t		b = bi * (size_t) o->batch,
						end = b + (size_t) o->batch,
						n = 0,
						k;
			PsTaskOptions opt = {0};
			int64_t		t0,
						t;
			uint64_t	sent,
						received,
						filtered,
						fbytes,
						known;

			if (b > nshard)
				b = nshard;
			if (end > nshard)
				end = nshard;
			opt.worker = wk.wid;
			opt.clock = ++clock;
			for (k = b; k < end; k++)
			{
				size_t		ex = shard[k],
							f;

				for (f = train->start[ex]; f < train->start[ex + 1]; f++)
				{
					keys[n] = train->keys[f];
					x[n++] = train->vals[f];
				}
			}
			/* the pull waits as the consistency model says */
			t = ps_client_pull(wk.c, o->table, keys, n, w, &opt);
			t0 = now_us();
			if (t < 0 || ps_client_wait(wk.c, t) != 0)
				return client_failure(&wk, "pull");
			r->wait_us += now_us() - t0;
			/* margins, then each feature's part of the gradient */
			n = 0;
			for (k = b; k < end; k++)
			{
				size_t		ex = shard[k],
							f,
							first = n;
				double		m = 0,
							y = train->labels[ex],
							coef;

				for (f = train->start[ex]; f < train->start[ex + 1]; f++, n++)
					m += (double) w[n] * x[n];
				coef = -y * ps_sigmoid(-y * m);
				for (f = first; f < n; f++)
					g[f] = (float) (coef * x[f]);
			}
			last = ps_client_push(wk.c, o->table, keys, n, g, &opt);
			if (last < 0)
				return client_failure(&wk, "push");
			r->examples += (int64_t) (end - b);
			r->clock = clock;
			ps_client_traffic(wk.c, &sent, &received);
			ps_client_kkt_stats(wk.c, &filtered, &fbytes, &known);
			r->bytes_pushed = sent;
			r->bytes_pulled = received;
			r->filtered = filtered;
		}
		/* the epoch counts once its last push is applied */
		if (last > 0 && ps_client_wait(wk.c, last) != 0)
			return client_failure(&wk, "push");
		if (sh->stop || getppid() != parent)
			break;
		r->epochs_done = e + 1;
		/* the next epoch once the coordinator measured this one */
		while (sh->measured < e + 1 && !sh->stop && getppid() == parent)
		{
			struct timespec nap = {0, 1000 * 1000};

			nanosleep(&nap, NULL);
		}
	}
	if (last > 0 && ps_client_wait(wk.c, last) != 0)
		return client_failure(&wk, "push");
	free(shard);
	free(keys);
	free(x);
	free(w);
	free(g);
	return finish(&wk, NULL, NULL);
}
