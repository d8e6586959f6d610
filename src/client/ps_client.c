/*-------------------------------------------------------------------------
 *
 * ps_client.c
 *	  The ps client library (see ps_client.h): tasks over one libpq
 *	  connection in pipeline mode, in the wire format of src/common.
 *
 * Each task is one ps_push_msg or ps_pull_msg call followed by a pipeline
 * sync point, so that a failing task ends its own implicit transaction and
 * no other.  The connection is nonblocking: sending a task flushes what
 * the socket takes and reads the answers that have come, so a long
 * pipeline never stalls with both sides writing.  Answers come in the
 * order of the tasks; the queue of tasks in flight is a FIFO, and a
 * finished task leaves only its outcome (one byte, and the message of a
 * failure until it is waited for).
 *
 * Every push carries the client's exactly-once id and its number, and is
 * answered by the server once applied, before its WAL flush.  Such a push
 * leaves the FIFO for the parked list, with its message, until a sync (an
 * empty push answered once the session's WAL is flushed) sent after it
 * succeeds: then it is finished.  A wait sends the sync its pushes need;
 * with PS_CLIENT_ACK_APPLIED, a push is finished once answered.
 *
 * A lost connection is opened again (ps_client_conn.c) and every parked
 * and queued task sent again, in order, pushes marked as resent: the
 * server's records apply none twice.  A task whose answer had come keeps
 * it; a push the server refused for its cached keys goes again under a
 * new number only if nothing but syncs was sent after it.
 *
 * The tasks' messages are built by ps_client_task.c (a push's keys sorted
 * and repeats summed, a pull's sorted and made distinct, the answer
 * scattered back to the caller's order) and sent by ps_client_send.c.
 *
 * Not thread-safe (ps_client.h).
 *
 * Layer 11 (client library), in src/client: uses libpq and src/common
 * (layer 1) only, and no PostgreSQL server header.
 *
 *-------------------------------------------------------------------------
 */
#include "ps_client.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <zstd.h>

#include "ps_client_alloc.h"
#include "ps_client_int.h"
#include "ps_wire.h"

void *
ps_client_xmalloc(size_t size)
{
	return ps_client_malloc(size);
}

const PsKeysAlloc ps_client_keys_malloc = {ps_client_xmalloc, free};

/* zstd at level 1, as the server (ps_sql_msg.c) */
static size_t
zstd_bound(size_t n)
{
	return ZSTD_compressBound(n);
}

static size_t
zstd_compress(void *dst, size_t cap, const void *src, size_t n)
{
	size_t		r = ZSTD_compress(dst, cap, src, n, 1);

	return ZSTD_isError(r) ? 0 : r;
}

static size_t
zstd_decompress(void *dst, size_t n, const void *src, size_t len)
{
	size_t		r = ZSTD_decompress(dst, n, src, len);

	return ZSTD_isError(r) ? (size_t) -1 : r;
}

static const PsWireCodec zstd_codec = {zstd_bound, zstd_compress, zstd_decompress};

static bool resend_head(PsClient *c);
static bool send_sync(PsClient *c);
static bool needs_sync(PsClient *c, int64_t ts);

/* parked pushes that make the library send a sync by itself */
#define PS_PARKED_MAX 32

/*
 * A task finished: its outcome is known (a failure recorded before, from
 * its result, stays), it leaves the queue.
 */
static void
free_task(Task *t)
{
	free(t->slot);
	free(t->msg);
	free(t->table);
}

/*
 * The parked pushes (applied, answered before their flush) up to task
 * upto are finished: durable (ok: a sync after them succeeded), or failed
 * with the sync's error.
 */
static void
settle_parked(PsClient *c, int64_t upto, bool ok, const char *sqlstate,
			  const char *message)
{
	size_t		n = 0;

	if (ok && c->nparked > 0 && c->parked[0].ts <= upto)
		c->recoveries = 0;		/* tasks finished */
	while (n < c->nparked && c->parked[n].ts <= upto)
	{
		Task	   *t = &c->parked[n++];

		if (ok)
			record_outcome(c, t->ts, TASK_OK);
		else
			record_failure(c, t->ts, sqlstate,
						   message ? message : "ps_client: the push was applied, but whether it is durable is not known");
		free_task(t);
	}
	memmove(c->parked, c->parked + n, sizeof(Task) * (c->nparked - n));
	c->nparked -= n;
}

static void
finish_head(PsClient *c, bool ok, const char *sqlstate, const char *message)
{
	Task	   *t = &c->queue[c->qhead];

	if (t->sync)
	{
		settle_parked(c, t->covers, ok, sqlstate, message);
		c->nsyncs--;
	}
	else if (outcome_of(c, t->ts) == TASK_PENDING)
	{
		c->recoveries = 0;
		if (ok)
			record_outcome(c, t->ts, TASK_OK);
		else
			record_failure(c, t->ts, sqlstate, message);
	}
	free_task(t);
	c->qhead = (c->qhead + 1) % c->qcap;
	c->qlen--;
}

/*
 * The head task is a push the server applied and answered before its
 * flush: it waits, with its message (to be sent again should the
 * connection be lost), for a sync after it.
 */
static void
park_head(PsClient *c)
{
	if (c->nparked == c->parked_cap)
	{
		c->parked_cap = c->parked_cap ? 2 * c->parked_cap : 64;
		c->parked = realloc(c->parked, sizeof(Task) * c->parked_cap);
		if (c->parked == NULL)
			abort();
	}
	c->parked[c->nparked++] = c->queue[c->qhead];
	c->qhead = (c->qhead + 1) % c->qcap;
	c->qlen--;
}

/*
 * The head task, a sync, is done.  Succeeded: the parked pushes it covers
 * are durable.  Failed (its table dropped, say): once, another sync is
 * sent when next needed (from a parked push's table, which exists); twice
 * in a row, the parked pushes it covers fail with its error, their
 * durability unknown.
 */
static void
finish_sync(PsClient *c)
{
	Task	   *t = &c->queue[c->qhead];

	if (!t->failed)
	{
		c->sync_failures = 0;
		finish_head(c, true, NULL, NULL);
	}
	else if (++c->sync_failures >= 2)
	{
		c->sync_failures = 0;
		finish_head(c, false, c->sync_sqlstate, c->sync_error);
	}
	else
	{
		t->covers = 0;			/* settles nothing */
		c->synced = 0;
		finish_head(c, true, NULL, NULL);
	}
}

/* The connection is lost for good: every task in flight fails. */
static void
lose_connection(PsClient *c, const char *why)
{
	char		msg[ERRLEN + 64];

	snprintf(msg, sizeof(msg), "ps_client: the connection was lost: %.*s", ERRLEN - 1, why);
	c->broken = true;
	settle_parked(c, INT64_MAX, false, "08006", msg);
	while (c->qlen > 0)
		finish_head(c, false, "08006", msg);
	ps_client_set_error(c, "08006", "%s", msg);
}


/*
 * Before the tasks in flight are sent again: the parked pushes go first
 * (they are older than every task in flight), to be sent again too.
 */
static void
unpark_all(PsClient *c)
{
	size_t		n = c->nparked + c->qlen,
				i;
	Task	   *q;

	if (c->nparked == 0)
		return;
	q = ps_client_xmalloc(sizeof(Task) * n);
	memcpy(q, c->parked, sizeof(Task) * c->nparked);
	for (i = 0; i < c->qlen; i++)
		q[c->nparked + i] = c->queue[(c->qhead + i) % c->qcap];
	free(c->queue);
	c->queue = q;
	c->qhead = 0;
	c->qlen = c->qcap = n;
	c->nparked = 0;
}

/*
 * The connection is lost: open a new one (ps_client_conn.c: bounded
 * retries with backoff) and send every task in flight again, in order,
 * pushes marked as sent again, so that the server applies none of them
 * twice (their exactly-once ids).  The new session's key cache is empty:
 * the mirror starts afresh.  Returns false, every task failed, if no
 * connection could be opened.
 */
static bool
recover(PsClient *c)
{
	char		why[ERRLEN];
	size_t		i;

	int			round;

	snprintf(why, sizeof(why), "%s", PQerrorMessage(c->sess.conn));

	/*
	 * A task whose answer came keeps it: finished as the answer said (a
	 * push answered before its flush is parked, and sent again with them).
	 */
	if (c->qlen > 0 && c->queue[c->qhead].resend && c->qlen - c->nsyncs > 1)
	{
		/* refused for its keys, with tasks after it: as take_answers would */
		mirror_clear(&c->mirror);
		finish_head(c, false, "PS001",
					"ps_client: the server no longer held this task's key list, and tasks sent after it had run: it was not applied; send it again");
	}
	else if (c->qlen > 0 && c->queue[c->qhead].got_result && !c->queue[c->qhead].resend)
	{
		Task	   *t = &c->queue[c->qhead];

		if (t->sync)
			finish_sync(c);
		else if (t->failed)
			finish_head(c, false, NULL, NULL);
		else if (t->async && !c->ack_applied)
			park_head(c);
		else
			finish_head(c, true, NULL, NULL);
	}

	/*
	 * The server may have lost pushes acknowledged before their flush, or
	 * be another one now: what the KKT slacks told may be stale.
	 */
	kkt_forget(&c->kkt, c->next_ts);
	/* a task that kills its session each time must not loop for ever */
	if (++c->recoveries > c->retry.attempts)
	{
		lose_connection(c, why);
		return false;
	}
	for (round = 0;; round++)
	{
		bool		sent = true;

		/* a server that keeps dropping new connections counts as down */
		if (round >= c->retry.attempts ||
			!session_reopen(&c->sess, c->conninfo, &c->retry, why, sizeof(why)))
		{
			lose_connection(c, why);
			return false;
		}
		c->reconnects++;
		mirror_clear(&c->mirror);
		c->mirror.budget = c->sess.cache_budget;
		unpark_all(c);
		for (i = 0; i < c->qlen && sent; i++)
		{
			Task	   *t = &c->queue[(c->qhead + i) % c->qcap];

			if (t->resend && (t->msg[4] & PS_WIRE_ONCE))
				task_renumber(c, t);	/* refused for its keys: never applied */
			else if (t->msg[4] & PS_WIRE_ONCE)
				t->msg[4] |= PS_WIRE_RESENT;
			t->got_result = false;
			t->resend = false;
			t->failed = false;
			sent = task_transmit(c, t, false);
		}
		if (sent && PQflush(c->sess.conn) >= 0)
			return true;
		snprintf(why, sizeof(why), "%s", PQerrorMessage(c->sess.conn));
	}
}

/*
 * Take every answer that has arrived, finishing the tasks it completes.
 * Returns false if the connection is lost for good.
 */
static bool
take_answers(PsClient *c)
{
	if (!PQconsumeInput(c->sess.conn))
		return recover(c);
	while (c->qlen > 0 && !PQisBusy(c->sess.conn))
	{
		Task	   *t = &c->queue[c->qhead];
		PGresult   *r = PQgetResult(c->sess.conn);
		ExecStatusType st;

		if (r == NULL)
			continue;			/* the end of one task's results */
		st = PQresultStatus(r);
		if (st == PGRES_PIPELINE_SYNC)
		{
			/*
			 * The task's sync point: it is finished, or sent again if its
			 * cached keys missed and no task but syncs was sent after it
			 * (the server would run them first); else it failed.
			 */
			if (t->resend && c->qlen - c->nsyncs == 1)
			{
				if (!resend_head(c))
					return recover(c);
			}
			else if (t->resend)
			{
				mirror_clear(&c->mirror);
				finish_head(c, false, "PS001",
							"ps_client: the server no longer held this task's key list, and tasks sent after it had run: it was not applied; send it again");
			}
			else if (t->sync)
				finish_sync(c);
			else if (t->failed)
				finish_head(c, false, NULL, NULL);	/* recorded */
			else if (t->got_result && t->async && !c->ack_applied)
			{
				park_head(c);
				/* many parked: one flush for them, and their memory back */
				if (c->nparked >= PS_PARKED_MAX && c->synced < c->parked[c->nparked - 1].ts &&
					!send_sync(c))
					return recover(c);
			}
			else if (t->got_result)
				finish_head(c, true, NULL, NULL);
			else
				finish_head(c, false, "", "ps_client: the server sent no result");
		}
		else if (st == PGRES_TUPLES_OK && !t->got_result)
		{
			char		why[ERRLEN];

			t->got_result = true;
			if (t->pull && !take_values(c, t, r, why, sizeof(why)))
			{
				/* failed, though the server is done with it: wait for the sync */
				record_failure(c, t->ts, "", why);
				t->failed = true;
			}
		}
		else if (st == PGRES_FATAL_ERROR && connection_lost(c->sess.conn, r))
		{
			PQclear(r);
			return recover(c);
		}
		else if (st == PGRES_FATAL_ERROR || st == PGRES_PIPELINE_ABORTED)
		{
			const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
			const char *msg = PQresultErrorMessage(r);

			if (t->sync)
			{
				snprintf(c->sync_error, sizeof(c->sync_error), "%s", msg);
				snprintf(c->sync_sqlstate, sizeof(c->sync_sqlstate), "%s", state ? state : "");
				t->failed = true;
			}
			else if (state && strcmp(state, "PS001") == 0 && t->cached)
				t->resend = true;	/* keys not cached there: resent at the sync */
			else
			{
				record_failure(c, t->ts, state, msg);
				t->failed = true;
			}
			t->got_result = true;
		}
		PQclear(r);
	}
	return true;
}

/*
 * Move data: flush what the socket takes, read what came; if block, wait
 * on the socket once first.  Returns false if the connection is lost for
 * good.
 */
static bool
pump(PsClient *c, bool block)
{
	int			flushed = PQflush(c->sess.conn);

	if (flushed < 0)
		return recover(c);
	if (block)
	{
		struct pollfd p;

		p.fd = PQsocket(c->sess.conn);
		p.events = POLLIN | (flushed == 1 ? POLLOUT : 0);
		p.revents = 0;
		if ((poll(&p, 1, -1) < 0 && errno != EINTR) || PQflush(c->sess.conn) < 0)
			return recover(c);
	}
	return take_answers(c);
}

/* A random client id for exactly-once pushes: never 0. */
static uint64_t
new_client_id(PsClient *c)
{
	uint64_t	id = 0;
	FILE	   *f = fopen("/dev/urandom", "rb");

	if (f != NULL)
	{
		if (fread(&id, sizeof(id), 1, f) != 1)
			id = 0;
		fclose(f);
	}
	if (id == 0)
	{
		/* no /dev/urandom: the time, the process and this handle, mixed */
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		id = ((uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec) ^
			((uint64_t) getpid() << 40) ^ (uint64_t) (uintptr_t) c;
		id ^= id >> 33;
		id *= 0xFF51AFD7ED558CCDULL;
		id ^= id >> 33;
	}
	return id ? id : 1;
}

PsClient *
ps_node_connect(const char *conninfo, char **err)
{
	PsClient   *c;
	char		why[ERRLEN];

	if (err)
		*err = NULL;
	c = calloc(1, sizeof(PsClient));
	if (c == NULL)
		abort();
	c->next_ts = 1;
	c->retry.attempts = PS_CLIENT_RECONNECT_ATTEMPTS;
	c->retry.first_ms = PS_CLIENT_RECONNECT_FIRST_MS;
	c->retry.max_ms = PS_CLIENT_RECONNECT_MAX_MS;
	c->kkt.max_keys = PS_KKT_MAX_KEYS_DEFAULT;
	ps_wire_set_codec(&zstd_codec);
	if (!session_open(&c->sess, conninfo, why, sizeof(why)))
	{
		if (err)
			*err = strdup(why);
		free(c);
		return NULL;
	}
	c->conninfo = strdup(conninfo ? conninfo : "");
	c->mirror.budget = c->sess.cache_budget;
	c->client_id = new_client_id(c);
	return c;
}

void
ps_node_close(PsClient *c)
{
	size_t		i;

	if (c == NULL)
		return;
	while ((c->qlen > 0 || c->nparked > 0) && !c->broken)
	{
		if (needs_sync(c, c->next_ts) && !send_sync(c) && !recover(c))
			break;
		if (!pump(c, true))
			break;
	}
	session_close(&c->sess);
	mirror_clear(&c->mirror);
	free(c->mirror.buckets);
	key_orders_free(&c->orders);
	filters_free(&c->filters);
	kkt_free(&c->kkt);
	for (i = 0; i < c->nfailures; i++)
		free(c->failures[i].message);
	free(c->failures);
	free(c->queue);
	free(c->parked);
	free(c->outcome);
	free(c->conninfo);
	free(c);
}

int
ps_node_set_reconnect(PsClient *c, int attempts, int first_delay_ms,
						int max_delay_ms)
{
	if (attempts < 0 || first_delay_ms < 1 || max_delay_ms < first_delay_ms)
	{
		ps_client_set_error(c, "22023", "ps_client: reconnect attempts must be >= 0, and 1 <= first delay <= max delay");
		return -1;
	}
	c->retry.attempts = attempts;
	c->retry.first_ms = first_delay_ms;
	c->retry.max_ms = max_delay_ms;
	return 0;
}

uint64_t
ps_node_reconnects(PsClient *c)
{
	return c->reconnects;
}

/* Take the answers that came; a lost connection is noticed here. */
void
ps_node_poll(PsClient *c)
{
	if (!c->broken && c->qlen + c->nparked > 0)
		(void) pump(c, false);
}

/*
 * The server did not hold the head task's cached keys (an eviction the
 * mirror did not foresee): send it again with its keys, at the tail, and
 * start the mirror afresh, since what the server holds is not known.
 * Returns false if the connection is lost.
 */
static bool
resend_head(PsClient *c)
{
	Task		t = c->queue[c->qhead];

	c->qhead = (c->qhead + 1) % c->qcap;
	c->qlen--;
	c->cache_misses++;
	mirror_clear(&c->mirror);
	t.got_result = false;
	t.resend = false;
	if (t.msg[4] & PS_WIRE_ONCE)
		task_renumber(c, &t);	/* never applied: a new push, after the syncs */
	if (c->synced >= t.ts)
		c->synced = t.ts - 1;	/* the syncs sent were before it now */
	task_enqueue(c, &t);
	return task_transmit(c, &c->queue[(c->qhead + c->qlen - 1) % c->qcap], true);
}

/*
 * Send a task (its message msg, which the task keeps until it finishes,
 * of a push or a pull of table) and queue it.  A push gets its
 * exactly-once id here: msg + PS_WIRE_ONCE_SIZE holds the push as
 * encoded, and the id is put in front of its keys.  Returns the task's
 * timestamp.
 */
int64_t
ps_client_send_task(PsClient *c, const char *table, uint8_t *msg, size_t len,
					Task *t)
{
	Task	   *queued;

	if (!t->pull && c->as_client != 0)
	{
		/* another node's push, sent again here under its id (a failover) */
		len = ps_wire_insert_once(msg, len, c->as_client, c->as_seq);
		ps_wire_add_flags(msg, PS_WIRE_ASYNC | PS_WIRE_RESENT);
		t->fixed_id = true;
		t->async = true;
		c->last_async = c->next_ts;
		c->as_client = 0;
		c->as_seq = 0;
	}
	else if (!t->pull)
	{
		/* exactly once; answered once applied, flushed with a later sync */
		len = ps_wire_insert_once(msg, len, c->client_id, ++c->last_seq);
		ps_wire_add_flags(msg, PS_WIRE_ASYNC);
		t->async = true;
		c->last_async = c->next_ts;
	}
	t->msg = msg;
	t->msg_len = len;
	t->table = strdup(table);
	if (t->table == NULL)
		abort();
	t->ts = c->next_ts++;
	t->got_result = false;
	t->resend = false;
	task_enqueue(c, t);
	queued = &c->queue[(c->qhead + c->qlen - 1) % c->qcap];
	if (!task_transmit(c, queued, false))
	{
		(void) recover(c);		/* sends it, or fails it with the others */
		return t->ts;
	}
	(void) pump(c, false);
	return t->ts;
}

/*
 * Send a sync: an empty push with PS_WIRE_SYNC, answered once the
 * session's WAL is flushed, so that every push answered before its flush
 * and sent before the sync is durable when the sync's answer comes.  It
 * names the table of the last such push (the privilege to push there is
 * the one it needs).  It is no task of the caller's: no timestamp.
 */
static bool
send_sync(PsClient *c)
{
	Task		t;
	uint8_t    *msg = ps_client_xmalloc(PS_WIRE_HEADER_SIZE + 4);
	const char *table = NULL;
	size_t		i;

	/* a parked push's table exists and takes this client's pushes */
	if (c->nparked > 0)
		table = c->parked[c->nparked - 1].table;
	for (i = c->qlen; i > 0 && table == NULL; i--)
	{
		Task	   *q = &c->queue[(c->qhead + i - 1) % c->qcap];

		if (q->async && !q->failed)
			table = q->table;
	}
	if (table == NULL)
	{
		free(msg);
		return true;			/* nothing answered before its flush */
	}
	memset(msg, 0, PS_WIRE_HEADER_SIZE + 4);
	msg[0] = 'P';
	msg[1] = 'S';
	msg[2] = PS_WIRE_VERSION;
	msg[3] = PS_WIRE_PUSH;
	msg[5] = PS_WIRE_SYNC >> 8;
	memset(&t, 0, sizeof(t));
	t.sync = true;
	t.covers = c->next_ts - 1;
	t.msg = msg;
	t.msg_len = PS_WIRE_HEADER_SIZE + 4;
	t.table = strdup(table);
	if (t.table == NULL)
		abort();
	task_enqueue(c, &t);
	c->nsyncs++;
	c->synced = t.covers;
	return task_transmit(c, &c->queue[(c->qhead + c->qlen - 1) % c->qcap], false);
}

/*
 * Is a push up to task ts answered before its flush and not covered by a
 * sync sent after it?
 */
static bool
needs_sync(PsClient *c, int64_t ts)
{
	size_t		i;

	if (c->ack_applied || c->last_async <= c->synced)
		return false;
	if (c->nparked > 0 && c->parked[c->nparked - 1].ts > c->synced &&
		c->parked[0].ts <= ts)
		return true;
	for (i = 0; i < c->qlen; i++)
	{
		Task	   *q = &c->queue[(c->qhead + i) % c->qcap];

		if (q->async && q->ts > c->synced && q->ts <= ts)
			return true;
	}
	return false;
}

int
ps_node_wait(PsClient *c, int64_t ts)
{
	if (ts < 1 || ts >= c->next_ts)
	{
		ps_client_set_error(c, "22023", "ps_client: %lld is not the timestamp of a task of this client",
				  (long long) ts);
		return -1;
	}
	/* finished: its outcome known, and no earlier push still parked */
	while (outcome_of(c, ts) == TASK_PENDING ||
		   (c->nparked > 0 && c->parked[0].ts < ts))
	{
		if (needs_sync(c, ts) && !send_sync(c) && !recover(c))
			break;
		if (!pump(c, true))
			break;
	}
	if (outcome_of(c, ts) == TASK_PENDING)
		return -1;
	if (outcome_of(c, ts) == TASK_OK)
		return 0;
	report_failure(c, ts);
	return -1;
}

int
ps_node_in_flight(PsClient *c)
{
	return (int) (c->qlen - c->nsyncs + c->nparked);
}

int
ps_node_set_ack(PsClient *c, int when)
{
	if (when != PS_CLIENT_ACK_DURABLE && when != PS_CLIENT_ACK_APPLIED)
	{
		ps_client_set_error(c, "22023", "ps_client: acknowledge when: PS_CLIENT_ACK_DURABLE or PS_CLIENT_ACK_APPLIED");
		return -1;
	}
	c->ack_applied = when == PS_CLIENT_ACK_APPLIED;
	if (c->ack_applied)
		settle_parked(c, INT64_MAX, true, NULL, NULL);	/* applied is enough now */
	return 0;
}

void
ps_node_set_compression(PsClient *c, int on)
{
	c->compress = on != 0;
}

void
ps_node_key_cache_stats(PsClient *c, uint64_t *bytes_saved, uint64_t *misses)
{
	*bytes_saved = c->key_bytes_saved;
	*misses = c->cache_misses;
}

const char *
ps_node_error(PsClient *c)
{
	return c->error;
}

const char *
ps_node_sqlstate(PsClient *c)
{
	return c->sqlstate;
}
