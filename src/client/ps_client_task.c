/*-------------------------------------------------------------------------
 *
 * ps_client_task.c
 *	  The client library's task calls (ps_client_push, ps_client_pull and
 *	  their ranges): each checks its arguments, puts its keys in the order
 *	  the wire format wants (a push's sorted and their repeats summed, a
 *	  pull's sorted and made distinct, with where each asked key went),
 *	  encodes the message and hands it to ps_client.c to send.
 *
 * Layer 11 (client library), in src/client.
 *
 *-------------------------------------------------------------------------
 */
#include "ps_client.h"
#include "ps_client_int.h"

#include <stdlib.h>
#include <string.h>

#include "ps_wire.h"

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
		ps_client_set_error(c, "08006", "ps_client: the connection is lost");
		return false;
	}
	if (table == NULL)
	{
		ps_client_set_error(c, "22004", "ps_client: the table is NULL");
		return false;
	}
	if (n > (size_t) INT32_MAX / (size_t) *dim)
	{
		ps_client_set_error(c, "54000", "ps_client: %zu keys of dim %d is more than one request can carry", n, *dim);
		return false;
	}
	if (opt && opt->dim < 0)
	{
		ps_client_set_error(c, "22023", "ps_client: dim %d is negative", opt->dim);
		return false;
	}

	/* execute after: the tasks named must have finished, and well */
	for (i = 0; opt && i < opt->nafter; i++)
	{
		int64_t		dep = opt->after[i];

		if (dep < 1 || dep >= c->next_ts)
		{
			ps_client_set_error(c, "22023", "ps_client: task %lld to execute after is not an earlier task",
					  (long long) dep);
			return false;
		}
		if (ps_client_wait(c, dep) != 0)
		{
			ps_client_set_error(c, "2D000", "ps_client: task %lld this task executes after failed: %s",
					  (long long) dep, c->error);
			return false;
		}
	}
	return true;
}

/* Does the range first .. first + n - 1 end at the largest bigint or before? */
static bool
range_fits(PsClient *c, int64_t first, size_t n)
{
	if (n > 0 && (n - 1 > (uint64_t) INT64_MAX ||
				  first > INT64_MAX - (int64_t) (n - 1)))
	{
		ps_client_set_error(c, "22003", "ps_client: the range runs past the largest bigint");
		return false;
	}
	return true;
}

/* Do keys[0 .. n - 1] ascend without repeats? */
static bool
ascending(const int64_t *keys, size_t n)
{
	size_t		i;

	for (i = 1; i < n; i++)
		if (keys[i] <= keys[i - 1])
			return false;
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
		ps_client_set_error(c, "22004", "ps_client: a push of %zu keys without values", n);
		return -1;
	}
	if (!range && n > 0 && !ascending(keys, n))
	{
		/* the distinct keys ascending, and each one's values summed in request order */
		const KeyOrder *o = key_order(&c->orders, keys, n);
		size_t		i;
		int			d;

		m = o->m;
		ukeys = (int64_t *) o->ukeys;
		uvals = calloc((size_t) m * dim, sizeof(float));
		if (uvals == NULL)
			abort();
		for (i = 0; i < n; i++)
			for (d = 0; d < dim; d++)
				uvals[(size_t) o->slot[i] * dim + d] += vals[i * dim + d];
	}
	msg = ps_client_xmalloc(ps_wire_bound(m, dim, true, true));
	len = ps_wire_encode(msg, PS_WIRE_PUSH, m, dim, worker ? &worker : NULL,
						 opt ? opt->clock : 0, range ? NULL : ukeys, first, uvals, true);
	memset(&t, 0, sizeof(t));
	t.pull = false;
	ts = ps_client_send_task(c, table, msg, len, &t, worker ? &worker : NULL,
				   opt ? opt->clock : 0, uvals);
	if (uvals != vals)
		free(uvals);
	free(msg);
	return ts;
}

int64_t
ps_client_push(PsClient *c, const char *table, const int64_t *keys, size_t n,
			   const float *vals, const PsTaskOptions *opt)
{
	if (keys == NULL && n > 0)
	{
		ps_client_set_error(c, "22004", "ps_client: a push of %zu keys without keys", n);
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
	size_t		len;
	int64_t		ts;

	if (!task_prelude(c, table, n, opt, &dim))
		return -1;
	if (n > 0 && vals == NULL)
	{
		ps_client_set_error(c, "22004", "ps_client: a pull of %zu keys into no array", n);
		return -1;
	}
	memset(&t, 0, sizeof(t));
	if (!range && n > 0 && !ascending(keys, n))
	{
		/* sent sorted and distinct; the answer goes back through the slots */
		const KeyOrder *o = key_order(&c->orders, keys, n);

		m = o->m;
		sorted = (int64_t *) o->ukeys;
		t.slot = ps_client_xmalloc(sizeof(int32_t) * n);
		memcpy(t.slot, o->slot, sizeof(int32_t) * n);
	}
	msg = ps_client_xmalloc(ps_wire_bound(m, 0, true, false));
	len = ps_wire_encode(msg, PS_WIRE_PULL, m, 0, worker ? &worker : NULL,
						 opt ? opt->clock : 0, range ? NULL : (sorted ? sorted : keys),
						 first, NULL, false);
	t.pull = true;
	t.out = vals;
	t.n = n;
	t.nuniq = m;
	t.dim = dim;
	ts = ps_client_send_task(c, table, msg, len, &t, worker ? &worker : NULL,
				   opt ? opt->clock : 0, NULL);
	free(msg);
	return ts;
}

int64_t
ps_client_pull(PsClient *c, const char *table, const int64_t *keys, size_t n,
			   float *vals, const PsTaskOptions *opt)
{
	if (keys == NULL && n > 0)
	{
		ps_client_set_error(c, "22004", "ps_client: a pull of %zu keys without keys", n);
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

