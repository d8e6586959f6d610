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

#include "ps_keys.h"
#include "ps_wire.h"

#define ERRLEN 1024

enum
{
	TASK_PENDING = 0,			/* outcome not known yet */
	TASK_OK = 1,
	TASK_FAILED = 2
};

typedef struct Task
{
	int64_t		ts;
	bool		pull;
	bool		got_result;		/* the answer came; the sync is next */
	float	   *out;			/* pull: the caller's array */
	int32_t    *slot;			/* pull: for each requested key, its */
	size_t		n;				/* position among the nuniq sent (NULL: */
	uint32_t	nuniq;			/* the same) */
	int			dim;
} Task;

typedef struct Failure
{
	int64_t		ts;
	char	   *message;
	char		sqlstate[6];
} Failure;

struct PsClient
{
	PGconn	   *conn;
	char	   *push_sql;		/* the two statements, schema-qualified */
	char	   *pull_sql;
	int64_t		next_ts;		/* the next task's timestamp, from 1 */
	Task	   *queue;			/* tasks in flight, a ring */
	size_t		qhead,
				qlen,
				qcap;
	unsigned char *outcome;		/* of task ts at outcome[ts - 1] */
	size_t		outcome_cap;
	Failure    *failures;		/* messages of failed tasks not waited for */
	size_t		nfailures,
				failures_cap;
	char		error[ERRLEN];
	char		sqlstate[6];
	bool		broken;			/* the connection is lost */
};

static void *
xmalloc(size_t size)
{
	void	   *p = malloc(size ? size : 1);

	if (p == NULL)
	{
		fprintf(stderr, "ps_client: out of memory (%zu bytes)\n", size);
		abort();
	}
	return p;
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

static const PsKeysAlloc keys_malloc = {xmalloc, free};

static void
set_error(PsClient *c, const char *sqlstate, const char *fmt,...)
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
	set_error(c, "08006", "%s", msg);
}

/* A pull's answer: decode it into the caller's array. */
static bool
take_values(Task *t, const PGresult *r, char *why, size_t whylen)
{
	PsWireMsg	m;
	PsWireError err;
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
	if (!ps_wire_parse(buf, len, &m, &err) || m.kind != PS_WIRE_VALUES)
	{
		snprintf(why, whylen, "ps_client: malformed answer from the server: %s",
				 m.kind != PS_WIRE_VALUES && err.reason == NULL ? "not a values message" : err.reason);
		return false;
	}
	if (m.count != t->nuniq || (int) m.dim != t->dim)
	{
		snprintf(why, whylen, "ps_client: the table has dim %u, the pull asked for dim %d",
				 m.dim, t->dim);
		return false;
	}
	if (t->slot == NULL)
		return ps_wire_decode_values(&m, t->out, &err) ||
			(snprintf(why, whylen, "ps_client: malformed answer: %s", err.reason), false);
	tmp = xmalloc(sizeof(float) * (size_t) m.count * m.dim);
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
			/* the task's sync point: it is finished */
			if (t->got_result)
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
	c->push_sql = xmalloc(strlen(schema) + 64);
	c->pull_sql = xmalloc(strlen(schema) + 64);
	sprintf(c->push_sql, "SELECT %s.ps_push_msg($1, $2)", schema);
	sprintf(c->pull_sql, "SELECT %s.ps_pull_msg($1, $2)", schema);
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
	for (i = 0; i < c->nfailures; i++)
		free(c->failures[i].message);
	free(c->failures);
	free(c->queue);
	free(c->outcome);
	free(c->push_sql);
	free(c->pull_sql);
	free(c);
}

/*
 * The checks every task makes before it is sent; sets the error and
 * returns false if it cannot be.
 */
static bool
task_prelude(PsClient *c, const char *table, size_t n, const PsTaskOptions *opt,
			 int *dim)
{
	int			i;

	*dim = opt && opt->dim > 0 ? opt->dim : 1;
	if (c->broken)
	{
		set_error(c, "08006", "ps_client: the connection is lost");
		return false;
	}
	if (table == NULL)
	{
		set_error(c, "22004", "ps_client: the table is NULL");
		return false;
	}
	if (n > (size_t) INT32_MAX / (size_t) *dim)
	{
		set_error(c, "54000", "ps_client: %zu keys of dim %d is more than one request can carry", n, *dim);
		return false;
	}
	if (opt && opt->dim < 0)
	{
		set_error(c, "22023", "ps_client: dim %d is negative", opt->dim);
		return false;
	}

	/* execute after: the tasks named must have finished, and well */
	for (i = 0; opt && i < opt->nafter; i++)
	{
		int64_t		dep = opt->after[i];

		if (dep < 1 || dep >= c->next_ts)
		{
			set_error(c, "22023", "ps_client: task %lld to execute after is not an earlier task",
					  (long long) dep);
			return false;
		}
		if (ps_client_wait(c, dep) != 0)
		{
			set_error(c, "2D000", "ps_client: task %lld this task executes after failed: %s",
					  (long long) dep, c->error);
			return false;
		}
	}
	return true;
}

/* Send a message for a new task and queue it; returns its timestamp or -1. */
static int64_t
send_task(PsClient *c, const char *table, const uint8_t *msg, size_t len,
		  Task *t)
{
	const char *values[2] = {table, (const char *) msg};
	int			lengths[2] = {0, (int) len};
	int			formats[2] = {0, 1};

	if (!PQsendQueryParams(c->conn, t->pull ? c->pull_sql : c->push_sql, 2, NULL,
						   values, lengths, formats, 1) ||
		!PQpipelineSync(c->conn))
	{
		set_error(c, "08006", "ps_client: could not send: %s", PQerrorMessage(c->conn));
		free(t->slot);
		return -1;
	}
	if (c->qlen == c->qcap)
	{
		size_t		cap = c->qcap ? 2 * c->qcap : 64,
					i;
		Task	   *q = xmalloc(sizeof(Task) * cap);

		for (i = 0; i < c->qlen; i++)
			q[i] = c->queue[(c->qhead + i) % c->qcap];
		free(c->queue);
		c->queue = q;
		c->qhead = 0;
		c->qcap = cap;
	}
	t->ts = c->next_ts++;
	t->got_result = false;
	c->queue[(c->qhead + c->qlen) % c->qcap] = *t;
	c->qlen++;
	(void) pump(c, false);
	return t->ts;
}

/* Does the range first .. first + n - 1 end at the largest bigint or before? */
static bool
range_fits(PsClient *c, int64_t first, size_t n)
{
	if (n > 0 && (n - 1 > (uint64_t) INT64_MAX ||
				  first > INT64_MAX - (int64_t) (n - 1)))
	{
		set_error(c, "22003", "ps_client: the range runs past the largest bigint");
		return false;
	}
	return true;
}

/* A push of keys (range: of first .. first + n - 1). */
static int64_t
push(PsClient *c, const char *table, bool range, const int64_t *keys,
	 int64_t first, size_t n, const float *vals, const PsTaskOptions *opt)
{
	Task		t;
	int			dim;
	int32_t		worker = opt ? opt->worker : 0;
	int64_t    *ukeys = (int64_t *) keys;
	float	   *uvals = (float *) vals;
	uint32_t	m = (uint32_t) n;
	uint8_t    *msg;
	size_t		len;
	int64_t		ts;

	if (!task_prelude(c, table, n, opt, &dim))
		return -1;
	if (n > 0 && vals == NULL)
	{
		set_error(c, "22004", "ps_client: a push of %zu keys without values", n);
		return -1;
	}
	if (!range && n > 0)
		m = (uint32_t) ps_aggregate(&keys_malloc, keys, vals, (int) n, dim, PS_DUP_SUM,
									&ukeys, &uvals);
	msg = xmalloc(ps_wire_bound(m, dim, true, true));
	len = ps_wire_encode(msg, PS_WIRE_PUSH, m, dim, worker ? &worker : NULL,
						 opt ? opt->clock : 0, range ? NULL : ukeys, first, uvals, true);
	if (ukeys != keys)
		free(ukeys);
	if (uvals != vals)
		free(uvals);
	memset(&t, 0, sizeof(t));
	t.pull = false;
	ts = send_task(c, table, msg, len, &t);
	free(msg);
	return ts;
}

int64_t
ps_client_push(PsClient *c, const char *table, const int64_t *keys, size_t n,
			   const float *vals, const PsTaskOptions *opt)
{
	if (keys == NULL && n > 0)
	{
		set_error(c, "22004", "ps_client: a push of %zu keys without keys", n);
		return -1;
	}
	return push(c, table, false, keys, 0, n, vals, opt);
}

int64_t
ps_client_push_range(PsClient *c, const char *table, int64_t first, size_t n,
					 const float *vals, const PsTaskOptions *opt)
{
	if (!range_fits(c, first, n))
		return -1;
	return push(c, table, true, NULL, first, n, vals, opt);
}

/* A pull of keys (range: of first .. first + n - 1) into vals. */
static int64_t
pull(PsClient *c, const char *table, bool range, const int64_t *keys,
	 int64_t first, size_t n, float *vals, const PsTaskOptions *opt)
{
	Task		t;
	int			dim;
	int32_t		worker = opt ? opt->worker : 0;
	int64_t    *sorted = NULL;
	uint32_t	m = (uint32_t) n;
	uint8_t    *msg;
	size_t		len,
				i;
	int64_t		ts;

	if (!task_prelude(c, table, n, opt, &dim))
		return -1;
	if (n > 0 && vals == NULL)
	{
		set_error(c, "22004", "ps_client: a pull of %zu keys into no array", n);
		return -1;
	}
	memset(&t, 0, sizeof(t));
	if (!range)
	{
		for (i = 1; i < n; i++)
			if (keys[i] <= keys[i - 1])
				break;
		if (i < n)
		{
			/* sorted, distinct; slot[i]: where request key i went */
			int32_t    *perm = xmalloc(sizeof(int32_t) * n);

			sorted = xmalloc(sizeof(int64_t) * n);
			t.slot = xmalloc(sizeof(int32_t) * n);
			ps_sort_keys(&keys_malloc, keys, (int) n, sorted, perm);
			m = 0;
			for (i = 0; i < n; i++)
			{
				if (m == 0 || sorted[i] != sorted[m - 1])
					sorted[m++] = sorted[i];
				t.slot[perm[i]] = (int32_t) (m - 1);
			}
			free(perm);
		}
	}
	msg = xmalloc(ps_wire_bound(m, 0, true, false));
	len = ps_wire_encode(msg, PS_WIRE_PULL, m, 0, worker ? &worker : NULL,
						 opt ? opt->clock : 0, range ? NULL : (sorted ? sorted : keys),
						 first, NULL, false);
	free(sorted);
	t.pull = true;
	t.out = vals;
	t.n = n;
	t.nuniq = m;
	t.dim = dim;
	ts = send_task(c, table, msg, len, &t);
	free(msg);
	return ts;
}

int64_t
ps_client_pull(PsClient *c, const char *table, const int64_t *keys, size_t n,
			   float *vals, const PsTaskOptions *opt)
{
	if (keys == NULL && n > 0)
	{
		set_error(c, "22004", "ps_client: a pull of %zu keys without keys", n);
		return -1;
	}
	return pull(c, table, false, keys, 0, n, vals, opt);
}

int64_t
ps_client_pull_range(PsClient *c, const char *table, int64_t first, size_t n,
					 float *vals, const PsTaskOptions *opt)
{
	if (!range_fits(c, first, n))
		return -1;
	return pull(c, table, true, NULL, first, n, vals, opt);
}

int
ps_client_wait(PsClient *c, int64_t ts)
{
	size_t		i;

	if (ts < 1 || ts >= c->next_ts)
	{
		set_error(c, "22023", "ps_client: %lld is not the timestamp of a task of this client",
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

			set_error(c, f.sqlstate, "%s", f.message);
			free(f.message);
			c->failures[i] = c->failures[--c->nfailures];
			/* waited for: what remains is the outcome */
			return -1;
		}
	/* waited for before: the message was given then */
	set_error(c, "", "ps_client: task %lld failed (its error was reported by an earlier wait)",
			  (long long) ts);
	return -1;
}

int
ps_client_in_flight(PsClient *c)
{
	return (int) c->qlen;
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
