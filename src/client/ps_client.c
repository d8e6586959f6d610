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
 * A push's keys are sorted and repeats summed before they are sent
 * (src/common/ps_keys.c), since the wire format carries ascending keys; a
 * pull's are sorted and made distinct, and the answer is scattered back to
 * the caller's order.
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

static void *
xrealloc(void *p, size_t size)
{
	p = realloc(p, size ? size : 1);
	if (p == NULL)
	{
		fprintf(stderr, "ps_client: out of memory (%zu bytes)\n", size);
		abort();
	}
	return p;
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

static void resend_head(PsClient *c);

void
ps_client_set_error(PsClient *c, const char *sqlstate, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(c->error, ERRLEN, fmt, ap);
	va_end(ap);
	snprintf(c->sqlstate, sizeof(c->sqlstate), "%s", sqlstate ? sqlstate : "");
}

static void
record_outcome(PsClient *c, int64_t ts, int outcome)
{
	size_t		i = (size_t) (ts - 1);

	if (i >= c->outcome_cap)
	{
		size_t		cap = c->outcome_cap ? c->outcome_cap : 1024;

		while (cap <= i)
			cap *= 2;
		c->outcome = xrealloc(c->outcome, cap);
		memset(c->outcome + c->outcome_cap, TASK_PENDING, cap - c->outcome_cap);
		c->outcome_cap = cap;
	}
	c->outcome[i] = (unsigned char) outcome;
}

static int
outcome_of(PsClient *c, int64_t ts)
{
	size_t		i = (size_t) (ts - 1);

	return i < c->outcome_cap ? c->outcome[i] : TASK_PENDING;
}

static void
record_failure(PsClient *c, int64_t ts, const char *sqlstate, const char *message)
{
	Failure    *f;

	if (c->nfailures == c->failures_cap)
	{
		c->failures_cap = c->failures_cap ? 2 * c->failures_cap : 16;
		c->failures = xrealloc(c->failures, sizeof(Failure) * c->failures_cap);
	}
	f = &c->failures[c->nfailures++];
	f->ts = ts;
	f->message = strdup(message ? message : "unknown error");
	snprintf(f->sqlstate, sizeof(f->sqlstate), "%s", sqlstate ? sqlstate : "");
	record_outcome(c, ts, TASK_FAILED);
}

/*
 * A task finished: its outcome is known (a failure recorded before, from
 * its result, stays), it leaves the queue.
 */
static void
finish_head(PsClient *c, bool ok, const char *sqlstate, const char *message)
{
	Task	   *t = &c->queue[c->qhead];

	if (outcome_of(c, t->ts) == TASK_PENDING)
	{
		if (ok)
			record_outcome(c, t->ts, TASK_OK);
		else
			record_failure(c, t->ts, sqlstate, message);
	}
	free(t->slot);
	free(t->full);
	free(t->table);
	c->qhead = (c->qhead + 1) % c->qcap;
	c->qlen--;
}

/* The connection is lost: every task in flight fails. */
static void
lose_connection(PsClient *c)
{
	char		msg[ERRLEN];

	snprintf(msg, sizeof(msg), "ps_client: the connection was lost: %s",
			 PQerrorMessage(c->conn));
	c->broken = true;
	while (c->qlen > 0)
		finish_head(c, false, "08006", msg);
	ps_client_set_error(c, "08006", "%s", msg);
}

/* A pull's answer: decode it into the caller's array. */
static bool
take_values(Task *t, const PGresult *r, char *why, size_t whylen)
{
	PsWireMsg	m;
	PsWireError err = {NULL, 0};
	const uint8_t *buf;
	size_t		len,
				i;
	float	   *tmp;

	if (PQntuples(r) != 1 || PQnfields(r) != 1 || PQgetisnull(r, 0, 0))
	{
		snprintf(why, whylen, "ps_client: the server's answer to a pull is not one value");
		return false;
	}
	buf = (const uint8_t *) PQgetvalue(r, 0, 0);
	len = (size_t) PQgetlength(r, 0, 0);
	if (!ps_wire_parse(buf, len, &m, &err))
	{
		snprintf(why, whylen, "ps_client: malformed answer from the server: %s", err.reason);
		return false;
	}
	if (m.kind != PS_WIRE_VALUES)
	{
		snprintf(why, whylen, "ps_client: the server's answer to a pull is not a values message");
		return false;
	}
	if (m.count == 0 && t->nuniq == 0)
		return true;			/* nothing asked: any dim will do */
	if (m.count != t->nuniq || (int) m.dim != t->dim)
	{
		snprintf(why, whylen, "ps_client: the table has dim %u, the pull asked for dim %d",
				 m.dim, t->dim);
		return false;
	}
	if (t->slot == NULL)
		return ps_wire_decode_values(&m, t->out, &err) ||
			(snprintf(why, whylen, "ps_client: malformed answer: %s", err.reason), false);
	tmp = ps_client_xmalloc(sizeof(float) * (size_t) m.count * m.dim);
	if (!ps_wire_decode_values(&m, tmp, &err))
	{
		snprintf(why, whylen, "ps_client: malformed answer: %s", err.reason);
		free(tmp);
		return false;
	}
	for (i = 0; i < t->n; i++)
		memcpy(t->out + i * t->dim, tmp + (size_t) t->slot[i] * t->dim,
			   sizeof(float) * t->dim);
	free(tmp);
	return true;
}

/*
 * Take every answer that has arrived, finishing the tasks it completes.
 * Returns false if the connection is lost.
 */
static bool
take_answers(PsClient *c)
{
	if (!PQconsumeInput(c->conn))
	{
		lose_connection(c);
		return false;
	}
	while (c->qlen > 0 && !PQisBusy(c->conn))
	{
		Task	   *t = &c->queue[c->qhead];
		PGresult   *r = PQgetResult(c->conn);
		ExecStatusType st;

		if (r == NULL)
			continue;			/* the end of one task's results */
		st = PQresultStatus(r);
		if (st == PGRES_PIPELINE_SYNC)
		{
			/*
			 * The task's sync point: it is finished, or sent again if its
			 * cached keys missed and no task was sent after it (which the
			 * server would then run first); else it failed.
			 */
			if (t->resend && c->qlen == 1)
				resend_head(c);
			else if (t->resend)
			{
				mirror_clear(&c->mirror);
				finish_head(c, false, "PS001",
							"ps_client: the server no longer held this task's key list, and tasks sent after it had run: it was not applied; send it again");
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
			if (t->pull && !take_values(t, r, why, sizeof(why)))
			{
				/* failed, though the server is done with it: wait for the sync */
				record_failure(c, t->ts, "", why);
				t->pull = false;
			}
		}
		else if (st == PGRES_FATAL_ERROR || st == PGRES_PIPELINE_ABORTED)
		{
			const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
			const char *msg = PQresultErrorMessage(r);

			if (state && strcmp(state, "PS001") == 0 && t->full != NULL)
				t->resend = true;	/* keys not cached there: resent at the sync */
			else
				record_failure(c, t->ts, state, msg);
			t->got_result = true;
		}
		PQclear(r);
	}
	return true;
}

/*
 * Move data: flush what the socket takes, read what came; if block, wait
 * on the socket once first.  Returns false if the connection is lost.
 */
static bool
pump(PsClient *c, bool block)
{
	int			flushed = PQflush(c->conn);

	if (flushed < 0)
	{
		lose_connection(c);
		return false;
	}
	if (block)
	{
		struct pollfd p;

		p.fd = PQsocket(c->conn);
		p.events = POLLIN | (flushed == 1 ? POLLOUT : 0);
		p.revents = 0;
		if (poll(&p, 1, -1) < 0 && errno != EINTR)
		{
			lose_connection(c);
			return false;
		}
		if (PQflush(c->conn) < 0)
		{
			lose_connection(c);
			return false;
		}
	}
	return take_answers(c);
}

PsClient *
ps_client_connect(const char *conninfo, char **err)
{
	PsClient   *c;
	PGresult   *r;
	char	   *schema;

	if (err)
		*err = NULL;
	c = calloc(1, sizeof(PsClient));
	if (c == NULL)
		abort();
	c->next_ts = 1;
	ps_wire_set_codec(&zstd_codec);
	c->conn = PQconnectdb(conninfo ? conninfo : "");
	if (PQstatus(c->conn) != CONNECTION_OK)
	{
		if (err)
			*err = strdup(PQerrorMessage(c->conn));
		PQfinish(c->conn);
		free(c);
		return NULL;
	}

	/* the extension's schema, quoted: no search_path takes part */
	r = PQexec(c->conn,
			   "SELECT pg_catalog.quote_ident(n.nspname) FROM pg_catalog.pg_extension e "
			   "JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace "
			   "WHERE e.extname OPERATOR(pg_catalog.=) 'ps'");
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
	{
		if (err)
		{
			const char *why = PQresultStatus(r) == PGRES_TUPLES_OK ?
				"the ps extension is not installed in this database (CREATE EXTENSION ps)\n" :
				PQresultErrorMessage(r);

			*err = strdup(why);
		}
		PQclear(r);
		PQfinish(c->conn);
		free(c);
		return NULL;
	}
	schema = PQgetvalue(r, 0, 0);
	c->push_sql = ps_client_xmalloc(strlen(schema) + 64);
	c->pull_sql = ps_client_xmalloc(strlen(schema) + 64);
	sprintf(c->push_sql, "SELECT %s.ps_push_msg($1, $2)", schema);
	sprintf(c->pull_sql, "SELECT %s.ps_pull_msg($1, $2)", schema);
	PQclear(r);

	/* the server's key cache, which the mirror follows (0: none) */
	r = PQexec(c->conn, "SELECT pg_catalog.current_setting('ps.key_cache_size', true)::pg_catalog.text");
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
	{
		/* as SHOW prints it: a number and a unit */
		char	   *unit;
		double		v = strtod(PQgetvalue(r, 0, 0), &unit);

		c->mirror.budget = (size_t) (v * (strcmp(unit, "GB") == 0 ? 1 << 30 :
										 strcmp(unit, "MB") == 0 ? 1 << 20 :
										 strcmp(unit, "kB") == 0 ? 1 << 10 : 1));
	}
	PQclear(r);

	if (PQsetnonblocking(c->conn, 1) != 0 || PQenterPipelineMode(c->conn) != 1)
	{
		if (err)
			*err = strdup(PQerrorMessage(c->conn));
		ps_client_close(c);
		return NULL;
	}
	return c;
}

void
ps_client_close(PsClient *c)
{
	size_t		i;

	if (c == NULL)
		return;
	while (c->qlen > 0 && !c->broken)
		if (!pump(c, true))
			break;
	PQfinish(c->conn);
	mirror_clear(&c->mirror);
	free(c->mirror.buckets);
	key_orders_free(&c->orders);
	filters_free(&c->filters);
	for (i = 0; i < c->nfailures; i++)
		free(c->failures[i].message);
	free(c->failures);
	free(c->queue);
	free(c->outcome);
	free(c->push_sql);
	free(c->pull_sql);
	free(c);
}

/* Send one message as a query and its sync point. */
static bool
send_query(PsClient *c, bool pull, const char *table, const uint8_t *msg, size_t len)
{
	const char *values[2] = {table, (const char *) msg};
	int			lengths[2] = {0, (int) len};
	int			formats[2] = {0, 1};

	if (!PQsendQueryParams(c->conn, pull ? c->pull_sql : c->push_sql, 2, NULL,
						   values, lengths, formats, 1) ||
		!PQpipelineSync(c->conn))
	{
		ps_client_set_error(c, "08006", "ps_client: could not send: %s", PQerrorMessage(c->conn));
		c->broken = true;		/* the pipeline is no longer in step */
		return false;
	}
	return true;
}

/* Put a task at the tail of the queue. */
static void
enqueue(PsClient *c, const Task *t)
{
	if (c->qlen == c->qcap)
	{
		size_t		cap = c->qcap ? 2 * c->qcap : 64,
					i;
		Task	   *q = ps_client_xmalloc(sizeof(Task) * cap);

		for (i = 0; i < c->qlen; i++)
			q[i] = c->queue[(c->qhead + i) % c->qcap];
		free(c->queue);
		c->queue = q;
		c->qhead = 0;
		c->qcap = cap;
	}
	c->queue[(c->qhead + c->qlen) % c->qcap] = *t;
	c->qlen++;
}

/*
 * The server did not hold the head task's cached keys (an eviction the
 * mirror did not foresee): send it again with its keys, at the tail, and
 * start the mirror afresh, since what the server holds is not known.
 */
static void
resend_head(PsClient *c)
{
	Task		t = c->queue[c->qhead];

	c->qhead = (c->qhead + 1) % c->qcap;
	c->qlen--;
	c->cache_misses++;
	mirror_clear(&c->mirror);
	mirror_put(&c->mirror, t.key_hash, t.key_count);
	t.got_result = false;
	t.resend = false;
	if (!send_query(c, t.pull, t.table, t.full, t.full_len))
	{
		record_failure(c, t.ts, "08006", c->error);
		free(t.slot);
		free(t.full);
		free(t.table);
		return;
	}
	free(t.full);
	t.full = NULL;
	enqueue(c, &t);
}

/*
 * Send a task's message (a push or pull; msg is the caller's), using the
 * key cache for listed keys, and queue the task.  Returns its timestamp,
 * or -1.
 */
int64_t
ps_client_send_task(PsClient *c, const char *table, uint8_t *msg, size_t len,
		  Task *t, const int32_t *worker, int64_t clock, const float *vals)
{
	const uint8_t *send = msg;
	size_t		send_len = len;
	uint8_t    *cached = NULL;
	uint16_t	flags = (uint16_t) (msg[4] | (msg[5] << 8));
	uint32_t	count = (uint32_t) msg[8] | ((uint32_t) msg[9] << 8) |
		((uint32_t) msg[10] << 16) | ((uint32_t) msg[11] << 24);
	uint32_t	dim = (uint32_t) msg[12] | ((uint32_t) msg[13] << 8) |
		((uint32_t) msg[14] << 16) | ((uint32_t) msg[15] << 24);

	t->full = NULL;
	t->table = NULL;
	if (c->mirror.budget > 0 && !(flags & PS_WIRE_RANGE) && count > 0)
	{
		size_t		at = PS_WIRE_HEADER_SIZE + (worker ? 12 : 0);
		size_t		klen = (size_t) msg[at] | ((size_t) msg[at + 1] << 8) |
			((size_t) msg[at + 2] << 16) | ((size_t) msg[at + 3] << 24);

		t->key_hash = ps_wire_hash(msg + at + 4, klen, count);
		t->key_count = count;
		if (klen + 4 <= 8)
			goto send;			/* its hash would not be shorter */
		flags |= PS_WIRE_CACHE;
		msg[4] = (uint8_t) flags;
		msg[5] = (uint8_t) (flags >> 8);
		if (mirror_get(&c->mirror, t->key_hash, count))
		{
			cached = ps_client_xmalloc(ps_wire_bound(count, dim, false, true) + 8);
			send_len = ps_wire_encode_cached(cached, msg[3], count, dim, worker,
											 clock, t->key_hash, vals, true);
			send = cached;
			/* kept to be sent again should the server not have the keys */
			t->full = ps_client_xmalloc(len);
			memcpy(t->full, msg, len);
			t->full_len = len;
			t->table = strdup(table);
			c->key_bytes_saved += len - send_len;
		}
		else
			mirror_put(&c->mirror, t->key_hash, count);
	}
send:
	if (c->compress && t->pull)
	{
		/* ask for the answer compressed */
		msg[4] |= PS_WIRE_COMPRESSED;
		if (t->full)
			t->full[4] |= PS_WIRE_COMPRESSED;
		if (cached)
			cached[4] |= PS_WIRE_COMPRESSED;
	}
	else if (c->compress)
	{
		/* the values compressed, if that is smaller */
		uint8_t    *packed = ps_client_xmalloc(send_len + 64);
		size_t		plen = ps_wire_compress(send, send_len, packed, send_len + 64);

		if (plen > 0)
		{
			c->compressed_saved += send_len - plen;
			free(cached);
			cached = packed;
			send = packed;
			send_len = plen;
		}
		else
			free(packed);
	}
	if (!send_query(c, t->pull, table, send, send_len))
	{
		free(cached);
		free(t->slot);
		free(t->full);
		free(t->table);
		return -1;
	}
	free(cached);
	t->ts = c->next_ts++;
	t->got_result = false;
	t->resend = false;
	enqueue(c, t);
	(void) pump(c, false);
	return t->ts;
}

int
ps_client_wait(PsClient *c, int64_t ts)
{
	size_t		i;

	if (ts < 1 || ts >= c->next_ts)
	{
		ps_client_set_error(c, "22023", "ps_client: %lld is not the timestamp of a task of this client",
				  (long long) ts);
		return -1;
	}
	while (outcome_of(c, ts) == TASK_PENDING)
		if (!pump(c, true) && outcome_of(c, ts) == TASK_PENDING)
			return -1;
	if (outcome_of(c, ts) == TASK_OK)
		return 0;
	for (i = 0; i < c->nfailures; i++)
		if (c->failures[i].ts == ts)
		{
			Failure		f = c->failures[i];

			ps_client_set_error(c, f.sqlstate, "%s", f.message);
			free(f.message);
			c->failures[i] = c->failures[--c->nfailures];
			/* waited for: what remains is the outcome */
			return -1;
		}
	/* waited for before: the message was given then */
	ps_client_set_error(c, "", "ps_client: task %lld failed (its error was reported by an earlier wait)",
			  (long long) ts);
	return -1;
}

int
ps_client_in_flight(PsClient *c)
{
	return (int) c->qlen;
}

void
ps_client_set_compression(PsClient *c, int on)
{
	c->compress = on != 0;
}

void
ps_client_key_cache_stats(PsClient *c, uint64_t *bytes_saved, uint64_t *misses)
{
	*bytes_saved = c->key_bytes_saved;
	*misses = c->cache_misses;
}

const char *
ps_client_error(PsClient *c)
{
	return c->error;
}

const char *
ps_client_sqlstate(PsClient *c)
{
	return c->sqlstate;
}
