/*-------------------------------------------------------------------------
 *
 * ps_client_route.c
 *	  A cluster's tasks in the client library: each split by the ring into
 *	  a sub-task per node it touches, sent again when the ring moved.
 *
 * Listed keys go to the nodes that hold them; a range is cut into pieces
 * of one node each (blocks of 4096 keys stay together: common/ps_ring.c).
 * The task's timestamp is the library's own; waiting for it waits for its
 * sub-tasks, in order, and for every earlier task's.  A sub-task refused
 * with PS003 (a key another node holds: the client's ring is older than
 * the server's) makes the library read the ring again (ps_client_ring.c)
 * and send the sub-task's keys again, split by the newer ring; a server
 * refuses before it changes anything, so nothing is applied twice.  It
 * gives up when a piece was refused ROUTE_RETRIES times.  A pull of listed
 * keys gets its values in a buffer per sub-task, copied to the caller's
 * array when waited for; a range pull's pieces go straight to the
 * caller's array.
 *
 * Across servers, tasks of different nodes run at the same time: the
 * order of tasks holds per node.  Options' `after` makes the call wait for
 * those tasks first.  A worker's task (opt->worker, joined through the
 * client: ps_client_worker.c) names the worker's id on each node, and a
 * worker's push reaches every node of the ring, empty where it has no
 * keys, so that the worker's clock moves on every server; and its call
 * for clock c waits until its pushes for earlier clocks are done on every
 * node (route_worker_pushed), so that the clock means the same on each.
 *
 * Layer 11 (client library), in src/client: uses the library's one-server
 * calls (ps_client_int.h), the ring (ps_client_ring.c) and src/common.
 *
 *-------------------------------------------------------------------------
 */
#include "ps_client.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ps_client_alloc.h"
#include "ps_client_int.h"
#include "ps_client_ring.h"
#include "ps_client_route.h"
#include "ps_client_worker.h"
#include "ps_ring.h"

static void
set_outcome(Route *r, int64_t ts, int outcome)
{
	if ((size_t) ts > r->outcome_cap)
	{
		size_t		cap = r->outcome_cap ? 2 * r->outcome_cap : 256;

		while (cap < (size_t) ts)
			cap *= 2;
		r->outcome = realloc(r->outcome, cap);
		if (r->outcome == NULL)
			abort();
		memset(r->outcome + r->outcome_cap, TASK_PENDING, cap - r->outcome_cap);
		r->outcome_cap = cap;
	}
	r->outcome[ts - 1] = (unsigned char) outcome;
}

static void
fail_task(Route *r, int64_t ts, const char *sqlstate, const char *message)
{
	RFailure   *f;

	set_outcome(r, ts, TASK_FAILED);
	if (r->nfailures == r->failures_cap)
	{
		r->failures_cap = r->failures_cap ? 2 * r->failures_cap : 16;
		r->failures = realloc(r->failures, sizeof(RFailure) * r->failures_cap);
		if (r->failures == NULL)
			abort();
	}
	f = &r->failures[r->nfailures++];
	f->ts = ts;
	f->message = route_strdup(message);
	snprintf(f->sqlstate, sizeof(f->sqlstate), "%s", sqlstate ? sqlstate : "");
}

static Sub *
add_sub(RTask *t)
{
	Sub		   *s;

	if (t->nsubs == t->cap)
	{
		t->cap = t->cap ? 2 * t->cap : 4;
		t->subs = realloc(t->subs, sizeof(Sub) * t->cap);
		if (t->subs == NULL)
			abort();
	}
	s = &t->subs[t->nsubs++];
	memset(s, 0, sizeof(Sub));
	return s;
}

static void
free_sub(Sub *s)
{
	free(s->keys);
	free(s->vals);
	free(s->pos);
	s->keys = NULL;
	s->vals = NULL;
	s->pos = NULL;
}

/* Send sub s of t to its node; false (the error in r) if it could not be. */
static bool
send_sub(Route *r, RTask *t, Sub *s)
{
	PsClient   *nc = route_node_client(r, s->node);
	PsTaskOptions o = t->opt;

	if (((nc == NULL && strncmp(r->sqlstate, "08", 2) == 0) ||
		 (nc != NULL && nc->broken)) && !s->flush)
	{
		s->unsent = true;		/* its node is down: the wait sends it on */
		return true;
	}
	if (nc == NULL)
		return false;
	s->via = nc;
	if (s->forced)
	{
		/* a lost node's push, sent again: a plain push under its id */
		o.worker = 0;
		o.clock = 0;
		ps_node_resend_as(nc, s->once_client, s->once_seq);
	}
	else if (t->worker >= 0 && (o.worker = route_worker_id(r, t->worker, s->node)) == 0)
		return false;
	if (s->empty)
		s->ts = ps_node_push(nc, t->table, NULL, 0, NULL, &o);
	else if (!t->pull)
		s->ts = s->keys ? ps_node_push(nc, t->table, s->keys, s->n, s->vals, &o)
			: ps_node_push_range(nc, t->table, s->first, s->n, s->vals, &o);
	else
		s->ts = s->keys ? ps_node_pull(nc, t->table, s->keys, s->n, s->vals, &o)
			: ps_node_pull_range(nc, t->table, s->first, s->n,
								 t->out + (size_t) (s->first - t->first) * t->dim, &o);
	nc->as_client = 0;
	if (!t->pull && !s->forced && s->ts > 0)
	{
		/* the id it went with, should its node be lost before it is done */
		s->once_client = nc->client_id;
		s->once_seq = nc->last_seq;
	}
	if (s->ts < 0)
	{
		route_error(r, ps_node_sqlstate(nc), "%s", ps_node_error(nc));
		return false;
	}
	return true;
}

/* The error for a key whose node and replicas all failed. */
static void
lost_error(Route *r, int64_t key)
{
	route_error(r, "PS004", "ps_client: key %lld is lost: the node that held it and its replicas failed (ring version %lld)",
				(long long) key, (long long) r->version);
}

/*
 * A piece of a push sent again after its node was lost goes under the
 * lost push's exactly-once id (from: the sub it was part of), as do its
 * pieces if it is refused and split again.
 */
static void
inherit(Sub *s, const Sub *from)
{
	if (from == NULL)
		return;
	s->once_client = from->once_client;
	s->once_seq = from->once_seq;
	s->forced = from->forced;
	s->failovers = from->failovers;
}

/*
 * Split keys[0 .. n - 1] (with vals, dim each; for a pull, pos: each key's
 * place in the caller's array) among the nodes of the ring into new subs
 * of t, and send them.  False, the error in r, if one could not be sent.
 */
static bool
split_keys(Route *r, RTask *t, const int64_t *keys, const float *vals,
		   const size_t *pos, size_t n, int round, const Sub *from)
{
	size_t	   *node = ps_client_malloc(sizeof(size_t) * (n + 1));
	size_t	   *count = calloc(r->nnodes + 1, sizeof(size_t));
	size_t	   *sub_of = calloc(r->nnodes + 1, sizeof(size_t));
	size_t		first_new = t->nsubs,
				i,
				j;
	bool		ok = true;

	if (count == NULL || sub_of == NULL)
		abort();
	if (r->ntokens == 0)
	{
		route_error(r, "PS003", "ps_client: the cluster (ring version %lld) has no active node",
					(long long) r->version);
		free(node);
		free(count);
		free(sub_of);
		return false;
	}
	for (i = 0; i < n; i++)
	{
		node[i] = r->tok_node[ps_ring_key_owner(r->tokens, r->ntokens, keys[i])];
		if (node[i] == ROUTE_LOST)
		{
			lost_error(r, keys[i]);
			free(node);
			free(count);
			free(sub_of);
			return false;
		}
		count[node[i]]++;
	}
	for (j = 0; j < r->nnodes; j++)
		if (count[j] > 0)
		{
			Sub		   *s = add_sub(t);

			s->round = round;
			s->node = j;
			inherit(s, from);
			s->keys = ps_client_malloc(sizeof(int64_t) * count[j]);
			s->vals = ps_client_malloc(sizeof(float) * count[j] * t->dim);
			if (t->pull)
				s->pos = ps_client_malloc(sizeof(size_t) * count[j]);
			sub_of[j] = t->nsubs - 1;
		}
	for (i = 0; i < n; i++)
	{
		Sub		   *s = &t->subs[sub_of[node[i]]];

		s->keys[s->n] = keys[i];
		if (t->pull)
			s->pos[s->n] = pos ? pos[i] : i;
		else
			memcpy(s->vals + s->n * t->dim, vals + i * t->dim, sizeof(float) * t->dim);
		s->n++;
	}
	for (j = first_new; j < t->nsubs && ok; j++)
		ok = send_sub(r, t, &t->subs[j]);
	free(node);
	free(count);
	free(sub_of);
	return ok;
}

/* Split the range first .. first + n - 1 into subs of t, and send them. */
static bool
split_range(Route *r, RTask *t, int64_t first, size_t n, const float *vals,
			int round, const Sub *from)
{
	size_t		room = (size_t) (n / PS_RING_BLOCK) + 3,
				np,
				i;
	PsRingPiece *pieces;
	bool		ok = true;

	if (r->ntokens == 0)
	{
		route_error(r, "PS003", "ps_client: the cluster (ring version %lld) has no active node",
					(long long) r->version);
		return false;
	}
	pieces = ps_client_malloc(sizeof(PsRingPiece) * room);
	np = ps_ring_split_keys(r->tokens, r->ntokens, first,
							first + (int64_t) (n - 1), pieces, room);
	for (i = 0; i < np; i++)
		if (r->tok_node[pieces[i].token] == ROUTE_LOST)
		{
			lost_error(r, pieces[i].lo);
			free(pieces);
			return false;
		}
	for (i = 0; i < np && ok; i++)
	{
		Sub		   *s = add_sub(t);

		s->round = round;
		inherit(s, from);
		s->node = r->tok_node[pieces[i].token];
		s->first = pieces[i].lo;
		s->n = (size_t) (pieces[i].hi - pieces[i].lo) + 1;
		if (!t->pull)
		{
			s->vals = ps_client_malloc(sizeof(float) * s->n * t->dim);
			memcpy(s->vals, vals + (size_t) (s->first - first) * t->dim,
				   sizeof(float) * s->n * t->dim);
		}
		ok = send_sub(r, t, s);
	}
	free(pieces);
	return ok;
}

/*
 * A worker's push: an empty push to every node of the ring that t sends
 * nothing, so that the worker's clock moves on every server.
 */
static bool
cover_nodes(Route *r, RTask *t)
{
	size_t		i,
				j;
	bool		ok = true;

	for (i = 0; i < r->nnodes && ok; i++)
	{
		Sub		   *s;

		if (!route_node_active(r, i))
			continue;
		for (j = 0; j < t->nsubs && t->subs[j].node != i; j++)
			;
		if (j < t->nsubs)
			continue;
		s = add_sub(t);
		s->node = i;
		s->empty = true;
		ok = send_sub(r, t, s);
	}
	return ok;
}

/* A new task of r (its slot in pending), before its subs. */
static RTask *
new_task(Route *r, const char *table, bool pull, const PsTaskOptions *opt)
{
	RTask	   *t;

	if (r->npending == r->pending_cap)
	{
		r->pending_cap = r->pending_cap ? 2 * r->pending_cap : 64;
		r->pending = realloc(r->pending, sizeof(RTask) * r->pending_cap);
		if (r->pending == NULL)
			abort();
	}
	t = &r->pending[r->npending];
	memset(t, 0, sizeof(RTask));
	t->ts = r->next_ts;
	t->pull = pull;
	t->table = route_strdup(table);
	if (opt)
		t->opt = *opt;
	t->opt.after = NULL;
	t->opt.nafter = 0;
	t->dim = opt && opt->dim > 0 ? opt->dim : 1;
	t->worker = opt && opt->worker != 0 ? route_worker(r, table, opt->worker) : -1;
	return t;
}

static void
drop_task(RTask *t)
{
	size_t		i;

	for (i = 0; i < t->nsubs; i++)
		free_sub(&t->subs[i]);
	free(t->subs);
	free(t->table);
}

static int failover(Route *r, RTask *t, Sub *s);
static void finish_through(Route *r, int64_t ts);

/*
 * Before a new task: the unfinished sub-tasks of a node whose connection
 * was lost go to the nodes that now hold their keys, in order, so that
 * they reach a server before anything this client sends after them (a
 * worker's next pull must not pass its own push).  A sub-task that could
 * not be sent again fails its task.
 */
static void
resend_lost(Route *r)
{
	size_t		i,
				j;

	bool		lost = r->retired_unseen;

	for (i = 0; i < r->nnodes; i++)
		if (r->nodes[i].client)
		{
			ps_node_poll(r->nodes[i].client);
			lost |= r->nodes[i].client->broken;
		}
	r->retired_unseen = false;
	/* the common case: no connection lost, nothing to look for */
	for (i = 0; lost && i < r->npending; i++)
	{
		RTask	   *t = &r->pending[i];

		for (j = 0; j < t->nsubs; j++)
		{
			Sub		   *s = &t->subs[j];

			if (s->done || s->ts <= 0 || s->via == NULL || s->flush || s->empty ||
				!s->via->broken || outcome_of(s->via, s->ts) != TASK_FAILED)
				continue;
			s->done = true;
			if (failover(r, t, s) <= 0)
			{
				if (r->sqlstate[0] == '\0' || strncmp(r->sqlstate, "08", 2) != 0)
					route_error(r, "08006", "ps_client: a node's connection was lost, and its ranges did not move to another node within %d ms",
								ROUTE_FAILOVER_MS);
				fail_task(r, t->ts, r->sqlstate, r->error);
			}
		}
	}
}

/*
 * What every routed task checks first; returns false (the error in r) if
 * it is not sent.
 */
static bool
route_start(PsClient *c, const char *table, const void *keys, size_t n,
			const void *vals, const PsTaskOptions *opt)
{
	Route	   *r = c->route;
	int64_t		ts;
	int			i;

	/* a worker's call for clock c: its pushes for earlier ones acked */
	if (opt && opt->worker != 0 && r->nnodes > 1 &&
		(ts = route_worker_pushed(r, route_worker(r, table, opt->worker), opt->clock)) > 0)
		finish_through(r, ts);
	resend_lost(r);
	if (table == NULL || (n > 0 && (keys == NULL || vals == NULL)) ||
		(opt && (opt->dim < 0 || opt->nafter < 0 || (opt->nafter > 0 && opt->after == NULL))))
	{
		route_error(r, "22023", "ps_client: a NULL table, keys or values, or bad options");
		return false;
	}
	if (opt && opt->worker != 0 && route_worker(r, table, opt->worker) < 0)
	{
		route_error(r, "42704", "ps_client: worker %d of table \"%s\" did not join through this client",
					opt->worker, table);
		return false;
	}
	for (i = 0; opt && i < opt->nafter; i++)
		if (route_wait(c, opt->after[i]) != 0)
		{
			route_error(r, "55000", "ps_client: task %lld, which this one executes after, failed",
						(long long) opt->after[i]);
			return false;
		}
	return true;
}

/*
 * Keep t as pending.  If a sub could not be sent: none sent, the task is
 * not either (-1); some sent, it is a task that failed, whose subs sent
 * are waited for with it.
 */
static int64_t
route_commit(Route *r, RTask *t, bool sent, bool cover)
{
	size_t		i;
	bool		any = false;

	if (sent && cover && t->worker >= 0)
		sent = cover_nodes(r, t);
	for (i = 0; i < t->nsubs; i++)
		any |= t->subs[i].ts > 0;
	if (!sent && !any)
	{
		drop_task(t);
		return -1;
	}
	if (!sent)
		fail_task(r, t->ts, r->sqlstate, r->error);
	if (t->worker >= 0)
		route_worker_called(r, t->worker, t->opt.clock);
	r->npending++;
	return r->next_ts++;
}

int64_t
route_keys(PsClient *c, const char *table, const int64_t *keys, size_t n,
		   const float *vals, float *out, const PsTaskOptions *opt)
{
	Route	   *r = c->route;
	RTask	   *t;

	if (!route_start(c, table, keys, n, out ? (const void *) out : (const void *) vals, opt))
		return -1;
	t = new_task(r, table, out != NULL, opt);
	t->out = out;
	return route_commit(r, t, n == 0 || split_keys(r, t, keys, vals, NULL, n, 0, NULL), out == NULL);
}

int64_t
route_range(PsClient *c, const char *table, int64_t first, size_t n,
			const float *vals, float *out, const PsTaskOptions *opt)
{
	Route	   *r = c->route;
	RTask	   *t;

	if (!route_start(c, table, &first, n, out ? (const void *) out : (const void *) vals, opt))
		return -1;
	if (n > 0 && first > INT64_MAX - (int64_t) (n - 1))
	{
		route_error(r, "22003", "ps_client: the range from %lld of %zu keys runs past the largest key",
					(long long) first, n);
		return -1;
	}
	t = new_task(r, table, out != NULL, opt);
	t->out = out;
	t->first = first;
	return route_commit(r, t, n == 0 || split_range(r, t, first, n, vals, 0, NULL), out == NULL);
}

/* A flush of each node's held pushes (filters), as one task. */
int64_t
route_flush(PsClient *c, const char *table, const PsTaskOptions *opt)
{
	Route	   *r = c->route;
	RTask	   *t;
	size_t		i;
	bool		sent = true;

	if (!route_start(c, table, NULL, 0, NULL, opt))
		return -1;
	t = new_task(r, table, false, opt);
	for (i = 0; i < r->nnodes && sent; i++)
	{
		int64_t		ts;
		PsTaskOptions o;

		if (r->nodes[i].client == NULL)
			continue;
		o = t->opt;
		if (t->worker >= 0 && (o.worker = route_worker_id(r, t->worker, i)) == 0)
		{
			sent = false;
			break;
		}
		ts = ps_node_flush(r->nodes[i].client, table, opt ? &o : NULL);
		if (ts < 0)
		{
			route_error(r, ps_node_sqlstate(r->nodes[i].client), "%s",
						ps_node_error(r->nodes[i].client));
			sent = false;
		}
		else if (ts > 0)
		{
			Sub		   *s = add_sub(t);

			s->node = i;
			s->ts = ts;
			s->flush = true;
		}
	}
	if (sent && t->nsubs == 0)
	{
		drop_task(t);
		return 0;
	}
	return route_commit(r, t, sent, false);
}

/* Sleep ms milliseconds. */
static void
pause_ms(long ms)
{
	struct timespec pause = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&pause, NULL);
}

/*
 * Sub s of t was lost with its node's connection (its node client gave up
 * reconnecting): wait until the ring moves the node's keys to a replica
 * (its monitor declares the node dead) or the node answers again, then
 * send s's keys again, split by the ring then, a push under the exactly-
 * once id it went with, so that a server that has it (applied before the
 * node failed, and replicated) does not apply it twice.  Returns 1 if
 * sent, 0 if the wait ran out (the caller fails the task with the node's
 * error), -1 if sending failed (the error in r).
 */
static int
failover(Route *r, RTask *t, Sub *s)
{
	struct timespec start,
				now;
	size_t		lost = s->node,
				first_new,
				i;
	Sub			old;
	bool		sent;

	if (s->failovers >= ROUTE_RETRIES)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;)
	{
		long		waited;

		(void) route_refresh_ring(r, lost);
		if (!route_node_active(r, lost))
			break;				/* its ranges moved */
		/* still on the ring: it may be back (a restart) */
		if (route_node_back(r, lost))
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		waited = (now.tv_sec - start.tv_sec) * 1000L + (now.tv_nsec - start.tv_nsec) / 1000000L;
		if (waited >= ROUTE_FAILOVER_MS)
			return 0;
		pause_ms(20);
	}
	old = *s;
	old.failovers++;
	old.forced = !t->pull && old.once_client != 0;
	old.unsent = false;
	old.via = NULL;
	memset(s, 0, sizeof(Sub));
	s->done = true;
	r->failovers++;
	first_new = t->nsubs;
	if (old.forced && old.keys == NULL)
	{
		/*
		 * Not as ranges: pieces of one node would each go under the lost
		 * push's id, and the node take the second for the first sent again.
		 */
		old.keys = ps_client_malloc(sizeof(int64_t) * old.n);
		for (i = 0; i < old.n; i++)
			old.keys[i] = old.first + (int64_t) i;
	}
	if (old.keys)
		sent = split_keys(r, t, old.keys, old.vals, old.pos, old.n, old.round,
						  old.forced ? &old : NULL);
	else
		sent = split_range(r, t, old.first, old.n, old.vals, old.round, NULL);
	for (i = first_new; i < t->nsubs; i++)
		t->subs[i].failovers = old.failovers;
	free_sub(&old);
	return sent ? 1 : -1;
}

/*
 * Finish pending task t: wait for each of its subs; a sub refused for a
 * key its node does not hold is split again by a newer ring.  Records the
 * outcome.
 */
static void
finish_task(Route *r, RTask *t)
{
	bool		failed = r->outcome_cap >= (size_t) t->ts &&
		r->outcome[t->ts - 1] == TASK_FAILED;
	size_t		i;

	for (i = 0; i < t->nsubs; i++)
	{
		Sub		   *s = &t->subs[i];
		PsClient   *nc = s->via ? s->via : r->nodes[s->node].client;
		size_t		j;

		if (s->unsent && !s->done && !failed)
		{
			int			got;

			s->done = true;
			got = s->empty ? 1 : failover(r, t, s);
			if (got <= 0)
			{
				if (got == 0)
					route_error(r, "08006", "ps_client: node %u could not be reached, and its ranges did not move to another node within %d ms",
								r->nodes[s->node].id, ROUTE_FAILOVER_MS);
				fail_task(r, t->ts, r->sqlstate, r->error);
				failed = true;
			}
			continue;
		}
		if (s->done || s->ts <= 0 || nc == NULL)
			continue;
		s->done = true;
		if (ps_node_wait(nc, s->ts) == 0)
		{
			if (t->pull && s->keys)
				for (j = 0; j < s->n; j++)
					memcpy(t->out + s->pos[j] * t->dim, s->vals + j * t->dim,
						   sizeof(float) * t->dim);
			free_sub(s);
			continue;
		}
		if (failed)
			continue;
		if (strncmp(ps_node_sqlstate(nc), "08", 2) == 0)
		{
			/* a flush or a worker's clock on a lost node: nothing to send on */
			int			got = s->empty || s->flush ? 1 : failover(r, t, s);

			if (got > 0)
				continue;		/* sent again, or nothing to send */
			if (got < 0)
			{
				fail_task(r, t->ts, r->sqlstate, r->error);
				failed = true;
				continue;
			}
		}
		if (strcmp(ps_node_sqlstate(nc), "PS003") == 0 && !s->flush &&
			s->round < ROUTE_RETRIES &&
			(route_refused_version(ps_node_error(nc)) <= r->version ||
			 route_refresh_ring(r, s->node)))
		{
			/* the subs array may move: take what s holds first */
			Sub			old = *s;
			bool		sent;

			/* a node behind the client's ring: give its commit a moment */
			if (route_refused_version(ps_node_error(nc)) < r->version)
				pause_ms(20L * (s->round + 1));
			memset(s, 0, sizeof(Sub));
			s->done = true;
			if (old.keys)
				sent = split_keys(r, t, old.keys, old.vals, old.pos, old.n,
								  old.round + 1, old.forced ? &old : NULL);
			else
				sent = split_range(r, t, old.first, old.n, old.vals, old.round + 1,
								   old.forced ? &old : NULL);
			free_sub(&old);
			if (!sent)
			{
				fail_task(r, t->ts, r->sqlstate, r->error);
				failed = true;
			}
			continue;
		}
		fail_task(r, t->ts, ps_node_sqlstate(nc), ps_node_error(nc));
		failed = true;
	}
	if (!failed)
		set_outcome(r, t->ts, TASK_OK);
}

/* Finish task ts and every earlier one; their outcomes stay recorded. */
static void
finish_through(Route *r, int64_t ts)
{
	size_t		done = 0;

	while (done < r->npending && r->pending[done].ts <= ts)
	{
		finish_task(r, &r->pending[done]);
		drop_task(&r->pending[done]);
		done++;
	}
	memmove(r->pending, r->pending + done, sizeof(RTask) * (r->npending - done));
	r->npending -= done;
}

/* Wait for task ts and every earlier one. */
int
route_wait(PsClient *c, int64_t ts)
{
	Route	   *r = c->route;
	size_t		i;

	if (ts < 1 || ts >= r->next_ts)
	{
		route_error(r, "22023", "ps_client: %lld is not the timestamp of a task of this client",
					(long long) ts);
		return -1;
	}
	finish_through(r, ts);
	if (r->outcome_cap >= (size_t) ts && r->outcome[ts - 1] == TASK_FAILED)
	{
		for (i = 0; i < r->nfailures && r->failures[i].ts != ts; i++)
			;
		if (i < r->nfailures)
		{
			route_error(r, r->failures[i].sqlstate, "%s", r->failures[i].message);
			free(r->failures[i].message);
			r->failures[i] = r->failures[--r->nfailures];
		}
		return -1;
	}
	return 0;
}
