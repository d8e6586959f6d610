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

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>
#include <ps_client.h>

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

/* The worker's whole life; returns its exit status. */
int
worker_main(const TrainOptions *o, const Dataset *train, int id, TrainShared *sh)
{
	WorkerReport *r = &sh->w[id];
	PGconn	   *admin = PQconnectdb(o->server);
	PsClient   *c;
	char		why[1024];
	char	   *err = NULL;
	char	   *joined;
	char		widtext[32];
	int			wid;
	size_t		nshard = 0,
				i,
				maxnnz = 0;
	size_t	   *shard;
	int64_t    *keys;
	float	   *x,
			   *w,
			   *g;
	double	   *margin;
	int64_t		clock = 0,
				last = 0;
	uint64_t	rng = 0x9E3779B97F4A7C15ULL * (uint64_t) (id + 1);
	int			e;

	if (PQstatus(admin) != CONNECTION_OK)
	{
		fail(r, "connecting", PQerrorMessage(admin));
		PQfinish(admin);
		return 1;
	}
	joined = ext_call(admin, "SELECT %s.ps_join($1::pg_catalog.regclass)", o->table,
					  NULL, why, sizeof(why));
	if (joined == NULL)
	{
		fail(r, "ps_join", why);
		PQfinish(admin);
		return 1;
	}
	wid = atoi(joined);
	free(joined);
	c = ps_client_connect(o->server, &err);
	if (c == NULL)
	{
		fail(r, "connecting the client library", err ? err : "");
		PQfinish(admin);
		return 1;
	}
	if (o->kkt)
		ps_client_set_kkt(c, 1, 0);
	ps_client_set_compression(c, o->compress);

	shard = malloc(sizeof(size_t) * (train->n / o->workers + 1));
	for (i = (size_t) id; i < train->n; i += o->workers)
	{
		shard[nshard++] = i;
		if (train->start[i + 1] - train->start[i] > maxnnz)
			maxnnz = train->start[i + 1] - train->start[i];
	}
	maxnnz *= (size_t) o->batch;
	keys = malloc(sizeof(int64_t) * (maxnnz + 1));
	x = malloc(sizeof(float) * (maxnnz + 1));
	w = malloc(sizeof(float) * (maxnnz + 1));
	g = malloc(sizeof(float) * (maxnnz + 1));
	margin = malloc(sizeof(double) * (o->batch + 1));
	if (!shard || !keys || !x || !w || !g || !margin)
	{
		fail(r, "memory", "out of memory");
		return 1;
	}

	for (e = 0; e < o->epochs && !sh->stop; e++)
	{
		size_t		b;

		/* a new order each epoch (Fisher-Yates) */
		for (i = nshard; i > 1; i--)
		{
			size_t		j = (size_t) (next_random(&rng) % i),
						t = shard[i - 1];

			shard[i - 1] = shard[j];
			shard[j] = t;
		}
		for (b = 0; b < nshard && !sh->stop; b += (size_t) o->batch)
		{
			size_t		end = b + (size_t) o->batch < nshard ? b + (size_t) o->batch : nshard,
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

			opt.worker = wid;
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
			t = ps_client_pull(c, o->table, keys, n, w, &opt);
			t0 = now_us();
			if (t < 0 || ps_client_wait(c, t) != 0)
			{
				snprintf(why, sizeof(why), "[%s] %s", ps_client_sqlstate(c), ps_client_error(c));
				fail(r, "pull", why);
				ps_client_close(c);
				PQfinish(admin);
				return 1;
			}
			r->wait_us += now_us() - t0;
			t0 = now_us();
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
				/* -y sigma(-y m), without overflow */
				coef = y * m >= 0 ? -y * exp(-y * m) / (1 + exp(-y * m)) : -y / (1 + exp(y * m));
				for (f = first; f < n; f++)
					g[f] = (float) (coef * x[f]);
			}
			r->busy_us += now_us() - t0;
			last = ps_client_push(c, o->table, keys, n, g, &opt);
			if (last < 0)
			{
				snprintf(why, sizeof(why), "[%s] %s", ps_client_sqlstate(c), ps_client_error(c));
				fail(r, "push", why);
				ps_client_close(c);
				PQfinish(admin);
				return 1;
			}
			r->examples += (int64_t) (end - b);
			r->clock = clock;
			ps_client_traffic(c, &sent, &received);
			ps_client_kkt_stats(c, &filtered, &fbytes, &known);
			r->bytes_pushed = sent;
			r->bytes_pulled = received;
			r->filtered = filtered;
		}
		/* the epoch counts once its last push is applied */
		if (last > 0 && ps_client_wait(c, last) != 0)
			break;
		if (sh->stop)
			break;
		r->epochs_done = e + 1;
		/* the next epoch once the coordinator measured this one */
		while (sh->measured < e + 1 && !sh->stop)
		{
			struct timespec nap = {0, 1000 * 1000};

			nanosleep(&nap, NULL);
		}
	}
	if (last > 0 && ps_client_wait(c, last) != 0)
	{
		snprintf(why, sizeof(why), "[%s] %s", ps_client_sqlstate(c), ps_client_error(c));
		fail(r, "push", why);
		ps_client_close(c);
		PQfinish(admin);
		return 1;
	}
	ps_client_close(c);
	snprintf(widtext, sizeof(widtext), "%d", wid);
	joined = ext_call(admin, "SELECT %s.ps_leave($1::pg_catalog.regclass, $2::integer) IS NULL",
					  o->table, widtext, why, sizeof(why));
	free(joined);
	PQfinish(admin);
	r->finished = 1;
	return 0;
}
