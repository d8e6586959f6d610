/*-------------------------------------------------------------------------
 *
 * ps_train_worker.c
 *	  One ps_train worker process: joins the table as a worker
 *	  (ps_client_join: of every server, in a cluster),
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
 * between minibatches when asked to.  It sends no SQL of its own: the
 * client library joins, pushes, pulls and leaves, and in a cluster routes
 * each key to its server and fails over when a server dies.
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
#include "ps_train_batch.h"
#include "ps_train_sync.h"

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
	PsClient   *c;
	int			wid;			/* its id from ps_client_join; 0: not joined */
} Worker;

/*
 * Leave the table (also after a failure: the other workers' pulls must
 * not wait for this one), close, and return the exit status.
 */
static int
finish(Worker *wk, const char *what, const char *why)
{
	if (what)
		fail(wk->r, what, why);
	if (wk->c && wk->wid > 0)
		(void) ps_client_leave(wk->c, wk->o->full_batch ? wk->o->sync_table : wk->o->table,
							   wk->wid);
	if (wk->c)
		ps_client_close(wk->c);
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

/* What the batch method's progress callback needs. */
typedef struct BatchRun
{
	Worker	   *wk;
	TrainShared *sh;
	Sync	   *sync;
	const Dataset *train;
	PsClient   *model;			/* worker 0: publishes the weights */
	float	   *mirror;			/* what the model table holds */
	float	   *delta;
	int64_t		t0,
				published;
	char		error[1024];
} BatchRun;

/*
 * Worker 0 writes the weights to the model table (sum rule): the change
 * from what it holds, computed in float as the server adds it, so that
 * the table ends holding float(w) and a zero weight exactly 0.  Waits for
 * it, so that no two of these pushes are summed before being applied.
 */
static bool
publish(BatchRun *b, const double *w)
{
	const TrainOptions *o = b->wk->o;
	size_t		i,
				at;
	int64_t		t = 0;

	for (i = 0; i < o->nkeys; i++)
	{
		b->delta[i] = (float) w[i] - b->mirror[i];
		b->mirror[i] += b->delta[i];
	}
	for (at = 0; at < o->nkeys; at += 1000000)
	{
		size_t		n = o->nkeys - at < 1000000 ? o->nkeys - at : 1000000;

		t = ps_client_push(b->model, o->table, o->keys + at, n, b->delta + at, NULL);
		if (t < 0)
			break;
	}
	if (t <= 0 || ps_client_wait(b->model, t) != 0)
	{
		snprintf(b->error, sizeof(b->error), "[%s] %s", ps_client_sqlstate(b->model),
				 ps_client_error(b->model));
		return false;
	}
	b->published = now_us();
	return true;
}

static bool
batch_reduce(void *ctx, double *vec, size_t nvec, double *scal, size_t nscal)
{
	return sync_reduce(((BatchRun *) ctx)->sync, vec, nvec, scal, nscal);
}

/* After each iteration: counters, and worker 0's progress line. */
static bool
batch_progress(void *ctx, const BatchStatus *st)
{
	BatchRun   *b = ctx;
	const TrainOptions *o = b->wk->o;
	WorkerReport *r = b->wk->r;
	uint64_t	sent,
				received;
	bool		stop = false;

	ps_client_traffic(b->sync->c, &sent, &received);
	r->bytes_pushed = sent;
	r->bytes_pulled = received;
	r->clock = st->inner;
	r->examples = (int64_t) (st->inner * (b->train->n / o->workers));
	r->epochs_done = st->iteration;
	if (b->sync->id == 0)
	{
		uint64_t	pushed = 0,
					pulled = 0;
		double		secs = (now_us() - b->t0) / 1e6;
		int			i;

		for (i = 0; i < o->workers; i++)
		{
			pushed += b->sh->w[i].bytes_pushed;
			pulled += b->sh->w[i].bytes_pulled;
		}
		if (b->model)
		{
			ps_client_traffic(b->model, &sent, &received);
			pushed += sent;
		}
		printf("iteration %d  reductions %lld  %.0f examples/s  objective %.6f  bound %.3g  nnz %zu  pushed %.1f MB  pulled %.1f MB\n",
			   st->iteration, (long long) st->inner,
			   secs > 0 ? st->inner * (double) b->train->n / secs : 0, st->objective,
			   st->gap, st->nnz, pushed / 1e6, pulled / 1e6);
		fflush(stdout);
		b->sh->iterations = st->iteration;
		b->sh->reductions = st->inner;
		b->sh->objective = st->objective;
		b->sh->gap = st->gap;
		stop = st->objective <= o->target;
		/* the table holds the model of at most a second ago */
		if (b->model && now_us() - b->published >= 1000000 && !publish(b, st->w))
			stop = true;
	}
	return stop || getppid() == 1;
}

/*
 * Tell the others this worker joined its table, and wait until every one
 * has: a worker starts at the clock of the slowest live one, so one that
 * joined after another had advanced would start past its first clock.
 * False (why says) if ps_train ended or another worker failed.
 */
static bool
wait_for_all_joined(Worker *wk, TrainShared *sh, char *why, size_t whylen)
{
	int			k,
				n = wk->o->workers;

	wk->r->joined = 1;
	for (;;)
	{
		struct timespec nap = {0, 1000 * 1000};

		for (k = 0; k < n && sh->w[k].joined; k++)
			;
		if (k == n)
			return true;
		if (getppid() == 1)
		{
			snprintf(why, whylen, "ps_train ended");
			return false;
		}
		for (k = 0; k < n; k++)
			if (sh->w[k].finished == 2)
			{
				snprintf(why, whylen, "a worker failed");
				return false;
			}
		nanosleep(&nap, NULL);
	}
}

/*
 * The batch method: join the sync table, wait for every worker to, run
 * the solver over this worker's shard with its reductions through the
 * sync table; worker 0 writes the weights to the model table.
 */
static int
batch_main(Worker *wk, const Dataset *train, int id, TrainShared *sh)
{
	const TrainOptions *o = wk->o;
	BatchRun	b;
	Sync		sync;
	BatchProblem p;
	BatchStatus st;
	size_t	   *rows,
				nrows = 0,
				i;
	double	   *w;
	char		why[1024];
	char	   *err = NULL;
	bool		ok;

	memset(&b, 0, sizeof(b));
	b.wk = wk;
	b.sh = sh;
	b.sync = &sync;
	b.train = train;
	b.t0 = now_us();
	ps_client_set_ack(wk->c, PS_CLIENT_ACK_APPLIED);	/* an unlogged table */
	if (id == 0)
	{
		b.model = ps_client_connect(o->server, &err);
		if (b.model == NULL)
			return finish(wk, "connecting the client library", err ? err : "");
		ps_client_set_compression(b.model, o->compress);
		b.mirror = calloc(o->nkeys + 1, sizeof(float));
		b.delta = calloc(o->nkeys + 1, sizeof(float));
	}
	rows = malloc(sizeof(size_t) * (train->n / o->workers + 1));
	w = malloc(sizeof(double) * (o->nkeys + 1));
	if (!rows || !w || (id == 0 && (!b.mirror || !b.delta)))
		return finish(wk, "memory", "out of memory");
	for (i = (size_t) id; i < train->n; i += o->workers)
		rows[nrows++] = i;
	if (!sync_init(&sync, wk->c, o->sync_table, wk->wid, id, o->workers,
				   batch_max_reduction(o->nkeys, o->l1), 4))
		return finish(wk, "memory", sync.error);

	/*
	 * Every worker joined before the first reduction, or it would not wait
	 * for them.  A stop asked for meanwhile is seen at that reduction, by
	 * all: one that left here would fail the others' sums.
	 */
	if (!wait_for_all_joined(wk, sh, why, sizeof(why)))
		return finish(wk, "waiting for the other workers", why);

	p.data = train;
	p.rows = rows;
	p.nrows = nrows;
	p.nkeys = o->nkeys;
	p.l1 = o->l1;
	p.lambda = o->lambda;
	p.tolerance = o->tolerance;
	p.max_iterations = o->max_iterations;
	p.reduce = batch_reduce;
	p.progress = batch_progress;
	p.ctx = &b;
	p.stop = &sh->stop;
	ok = batch_train(&p, w, &st);
	if (!ok)
	{
		snprintf(why, sizeof(why), "%s", sync.error);
		return finish(wk, "a reduction", why);
	}
	if (b.error[0])
		return finish(wk, "writing the weights", b.error);
	if (id == 0)
	{
		sh->iterations = st.iteration;
		sh->reductions = st.inner;
		sh->objective = st.objective;
		sh->gap = st.gap;
		if (!publish(&b, w))
			return finish(wk, "writing the weights", b.error);
		ps_client_close(b.model);
		free(b.mirror);
		free(b.delta);
	}
	sync_free(&sync);
	free(rows);
	free(w);
	return finish(wk, NULL, NULL);
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
	Worker		wk = {o, &sh->w[id], NULL, 0};
	pid_t		parent = getppid();
	WorkerReport *r = wk.r;
	char		why[1024];
	char	   *err = NULL;
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

	wk.c = ps_client_connect(o->server, &err);
	if (wk.c == NULL)
		return finish(&wk, "connecting the client library", err ? err : "");
	/* it starts at the clock of the slowest live worker, not always 0 */
	wk.wid = ps_client_join(wk.c, o->full_batch ? o->sync_table : o->table, &clock);
	if (wk.wid < 0)
	{
		wk.wid = 0;
		return client_failure(&wk, "ps_client_join");
	}
	if (o->full_batch)
		return batch_main(&wk, train, id, sh);
	if (!wait_for_all_joined(&wk, sh, why, sizeof(why)))
		return finish(&wk, "waiting for the other workers", why);
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
