/*-------------------------------------------------------------------------
 *
 * ps_client_outcome.c
 *	  What became of the client library's tasks: the outcome of each task
 *	  by its timestamp, the messages of failures until they are waited
 *	  for, the client's last error, and the decoding of a pull's answer
 *	  into the caller's array.
 *
 * Layer 11 (client library), in src/client, under ps_client.c: knows
 * nothing of the connection or the pipeline.
 *
 *-------------------------------------------------------------------------
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ps_client_alloc.h"
#include "ps_client_int.h"
#include "ps_wire.h"

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

void
ps_client_set_error(struct PsClient *c, const char *sqlstate, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(c->error, ERRLEN, fmt, ap);
	va_end(ap);
	snprintf(c->sqlstate, sizeof(c->sqlstate), "%s", sqlstate ? sqlstate : "");
}

void
record_outcome(struct PsClient *c, int64_t ts, int outcome)
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

int
outcome_of(struct PsClient *c, int64_t ts)
{
	size_t		i = (size_t) (ts - 1);

	return i < c->outcome_cap ? c->outcome[i] : TASK_PENDING;
}

void
record_failure(struct PsClient *c, int64_t ts, const char *sqlstate, const char *message)
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
 * Task ts failed: set the client's error to its message the first time it
 * is waited for (the message is then dropped), or say it was reported.
 */
void
report_failure(struct PsClient *c, int64_t ts)
{
	size_t		i;

	for (i = 0; i < c->nfailures; i++)
		if (c->failures[i].ts == ts)
		{
			Failure		f = c->failures[i];

			ps_client_set_error(c, f.sqlstate, "%s", f.message);
			free(f.message);
			c->failures[i] = c->failures[--c->nfailures];
			return;
		}
	/* waited for before: the message was given then */
	ps_client_set_error(c, "", "ps_client: task %lld failed (its error was reported by an earlier wait)",
						(long long) ts);
}

/*
 * The KKT slacks of a pull's answer (nf = 2 * dim floats a key in all):
 * learned for the keys the pull sent, which its message still holds.
 */
static bool
learn_slacks(struct PsClient *c, Task *t, const float *all, char *why,
			 size_t whylen)
{
	PsWireMsg	pm;
	PsWireError err = {NULL, 0};
	int64_t    *keys = NULL;

	if (!ps_wire_parse(t->msg, t->msg_len, &pm, &err))
	{
		snprintf(why, whylen, "ps_client: a pull's own message is malformed: %s", err.reason);
		return false;
	}
	if (!(pm.flags & PS_WIRE_RANGE))
	{
		keys = ps_client_malloc(sizeof(int64_t) * (pm.count + 1));
		if (!ps_wire_decode_keys(&pm, keys, &err))
		{
			snprintf(why, whylen, "ps_client: a pull's own keys are malformed: %s", err.reason);
			free(keys);
			return false;
		}
	}
	kkt_learn(&c->kkt, filter_table_id(t->table), t->ts, c->next_ts, keys,
			  pm.first, t->nuniq, t->dim, all);
	free(keys);
	return true;
}

/* A pull's answer: decode it into the caller's array. */
bool
take_values(struct PsClient *c, Task *t, const PGresult *r, char *why,
			size_t whylen)
{
	PsWireMsg	m;
	PsWireError err = {NULL, 0};
	const uint8_t *buf;
	size_t		len,
				i;
	int			nf = t->kkt ? 2 * t->dim : t->dim;
	float	   *tmp;
	bool		ok = true;

	if (PQntuples(r) != 1 || PQnfields(r) != 1 || PQgetisnull(r, 0, 0))
	{
		snprintf(why, whylen, "ps_client: the server's answer to a pull is not one value");
		return false;
	}
	buf = (const uint8_t *) PQgetvalue(r, 0, 0);
	len = (size_t) PQgetlength(r, 0, 0);
	c->bytes_received += len;
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
	if (t->kkt != ((m.flags & PS_WIRE_SLACK) != 0))
	{
		snprintf(why, whylen, "ps_client: the server's answer %s KKT slacks, the pull %s",
				 t->kkt ? "lacks" : "has", t->kkt ? "asked for them" : "did not ask");
		return false;
	}
	if (m.count != t->nuniq || (int) m.dim != nf)
	{
		snprintf(why, whylen, "ps_client: the table has dim %u, the pull asked for dim %d",
				 t->kkt ? m.dim / 2 : m.dim, t->dim);
		return false;
	}
	if (t->slot == NULL && !t->kkt)
		return ps_wire_decode_values(&m, t->out, &err) ||
			(snprintf(why, whylen, "ps_client: malformed answer: %s", err.reason), false);
	tmp = ps_client_malloc(sizeof(float) * (size_t) m.count * m.dim);
	if (!ps_wire_decode_values(&m, tmp, &err))
	{
		snprintf(why, whylen, "ps_client: malformed answer: %s", err.reason);
		free(tmp);
		return false;
	}
	if (t->kkt)
		ok = learn_slacks(c, t, tmp, why, whylen);
	/* each requested key's weights, the first dim of its nf floats */
	for (i = 0; i < t->n; i++)
		memcpy(t->out + i * t->dim,
			   tmp + (t->slot ? (size_t) t->slot[i] : i) * nf,
			   sizeof(float) * t->dim);
	free(tmp);
	return ok;
}
