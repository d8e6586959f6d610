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

static bool resend_head(PsClient *c);

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
	free(t->msg);
	free(t->table);
	c->qhead = (c->qhead + 1) % c->qcap;
	c->qlen--;
}

/* The connection is lost for good: every task in flight fails. */
static void
lose_connection(PsClient *c, const char *why)
{
	char		msg[ERRLEN + 64];

	snprintf(msg, sizeof(msg), "ps_client: the connection was lost: %.*s", ERRLEN - 1, why);
	c->broken = true;
	while (c->qlen > 0)
		finish_head(c, false, "08006", msg);
	ps_client_set_error(c, "08006", "%s", msg);
}

static bool transmit(PsClient *c, Task *t, bool full);

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
		for (i = 0; i < c->qlen && sent; i++)
		{
			Task	   *t = &c->queue[(c->qhead + i) % c->qcap];

			t->got_result = false;
			t->resend = false;
			if (t->msg[4] & PS_WIRE_ONCE)
				t->msg[4] |= PS_WIRE_RESENT;
			sent = transmit(c, t, false);
		}
		if (sent && PQflush(c->sess.conn) >= 0)
			return true;
		snprintf(why, sizeof(why), "%s", PQerrorMessage(c->sess.conn));
	}
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
			 * cached keys missed and no task was sent after it (which the
			 * server would then run first); else it failed.
			 */
			if (t->resend && c->qlen == 1)
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
		else if (st == PGRES_FATAL_ERROR && connection_lost(c->sess.conn, r))
		{
			PQclear(r);
			return recover(c);
		}
		else if (st == PGRES_FATAL_ERROR || st == PGRES_PIPELINE_ABORTED)
		{
			const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
			const char *msg = PQresultErrorMessage(r);

			if (state && strcmp(state, "PS001") == 0 && t->cached)
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
ps_client_connect(const char *conninfo, char **err)
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
ps_client_close(PsClient *c)
{
	size_t		i;

	if (c == NULL)
		return;
	while (c->qlen > 0 && !c->broken)
		if (!pump(c, true))
			break;
	session_close(&c->sess);
	mirror_clear(&c->mirror);
	free(c->mirror.buckets);
	key_orders_free(&c->orders);
	filters_free(&c->filters);
	for (i = 0; i < c->nfailures; i++)
		free(c->failures[i].message);
	free(c->failures);
	free(c->queue);
	free(c->outcome);
	free(c->conninfo);
	free(c);
}

int
ps_client_set_reconnect(PsClient *c, int attempts, int first_delay_ms,
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
ps_client_reconnects(PsClient *c)
{
	return c->reconnects;
}

/* Send one message as a query and its sync point. */
static bool
send_query(PsClient *c, bool pull, const char *table, const uint8_t *msg, size_t len)
{
	const char *values[2] = {table, (const char *) msg};
	int			lengths[2] = {0, (int) len};
	int			formats[2] = {0, 1};

	return PQsendQueryParams(c->sess.conn, pull ? c->sess.pull_sql : c->sess.push_sql,
							 2, NULL, values, lengths, formats, 1) &&
		PQpipelineSync(c->sess.conn);
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
	enqueue(c, &t);
	return transmit(c, &c->queue[(c->qhead + c->qlen - 1) % c->qcap], true);
}

static inline uint32_t
get_u32(const uint8_t *p)
{
	return (uint32_t) p[0] | ((uint32_t) p[1] << 8) | ((uint32_t) p[2] << 16) |
		((uint32_t) p[3] << 24);
}

/*
 * Send a task's message (t->msg), using the key cache for listed keys
 * (unless full: then the keys go, and the server is to remember them),
 * compressed if the client says so.  Returns false if the connection is
 * lost.
 */
static bool
transmit(PsClient *c, Task *t, bool full)
{
	uint8_t    *msg = t->msg;
	const uint8_t *send = msg;
	size_t		send_len = t->msg_len;
	uint8_t    *alt = NULL;
	uint16_t	flags = (uint16_t) (msg[4] | (msg[5] << 8));
	uint32_t	count = get_u32(msg + 8);
	bool		ok;

	t->cached = false;
	if (c->mirror.budget > 0 && !(flags & PS_WIRE_RANGE) && count > 0)
	{
		size_t		at = ps_wire_once_offset(msg) +
			((flags & PS_WIRE_ONCE) ? PS_WIRE_ONCE_SIZE : 0);
		size_t		klen = get_u32(msg + at);

		t->key_hash = ps_wire_hash(msg + at + 4, klen, count);
		t->key_count = count;
		if (klen + 4 > 8)
		{
			msg[4] |= PS_WIRE_CACHE;
			if (!full && mirror_get(&c->mirror, t->key_hash, count))
			{
				/* the same message with the list's hash in place of the list */
				size_t		rest = t->msg_len - (at + 4 + klen);
				int			b;

				alt = ps_client_xmalloc(at + 8 + rest);

				memcpy(alt, msg, at);
				for (b = 0; b < 8; b++)
					alt[at + b] = (uint8_t) (t->key_hash >> (8 * b));
				memcpy(alt + at + 8, msg + at + 4 + klen, rest);
				alt[4] = (uint8_t) ((msg[4] & ~PS_WIRE_CACHE) | PS_WIRE_CACHED);
				send = alt;
				send_len = at + 8 + rest;
				t->cached = true;
				c->key_bytes_saved += t->msg_len - send_len;
			}
			else
				mirror_put(&c->mirror, t->key_hash, count);
		}
	}
	if (c->compress && t->pull)
	{
		/* ask for the answer compressed */
		msg[4] |= PS_WIRE_COMPRESSED;
		if (alt)
			alt[4] |= PS_WIRE_COMPRESSED;
	}
	else if (c->compress)
	{
		/* the values compressed, if that is smaller */
		uint8_t    *packed = ps_client_xmalloc(send_len + 64);
		size_t		plen = ps_wire_compress(send, send_len, packed, send_len + 64);

		if (plen > 0)
		{
			c->compressed_saved += send_len - plen;
			free(alt);
			alt = packed;
			send = packed;
			send_len = plen;
		}
		else
			free(packed);
	}
	ok = send_query(c, t->pull, t->table, send, send_len);
	free(alt);
	return ok;
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

	if (!t->pull)
		len = ps_wire_insert_once(msg, len, c->client_id, ++c->last_seq);
	t->msg = msg;
	t->msg_len = len;
	t->table = strdup(table);
	if (t->table == NULL)
		abort();
	t->ts = c->next_ts++;
	t->got_result = false;
	t->resend = false;
	enqueue(c, t);
	queued = &c->queue[(c->qhead + c->qlen - 1) % c->qcap];
	if (!transmit(c, queued, false))
	{
		(void) recover(c);		/* sends it, or fails it with the others */
		return t->ts;
	}
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
