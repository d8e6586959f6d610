/*-------------------------------------------------------------------------
 *
 * ps_client_task.c
 *	  The client library's task calls (ps_node_push, ps_node_pull and
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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ps_wire.h"

/*
 * The checks every task makes before it is sent; sets the error and
 * returns false if it cannot be.
 */
static bool
task_prelude(PsClient *c, const char *what, const char *table, bool range,
			 const int64_t *keys, int64_t first, size_t n, const void *vals,
			 const PsTaskOptions *opt, int *dim)
{
	int			i;

	*dim = opt && opt->dim > 0 ? opt->dim : 1;
	if (!range && keys == NULL && n > 0)
	{
		ps_client_set_error(c, "22004", "ps_client: a %s of %zu keys without keys", what, n);
		return false;
	}
	if (range && n > 0 && (n - 1 > (uint64_t) INT64_MAX ||
						   first > INT64_MAX - (int64_t) (n - 1)))
	{
		ps_client_set_error(c, "22003", "ps_client: the range runs past the largest bigint");
		return false;
	}
	if (n > 0 && vals == NULL)
	{
		ps_client_set_error(c, "22004", "ps_client: a %s of %zu keys without a values array", what, n);
		return false;
	}
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
		if (ps_node_wait(c, dep) != 0)
		{
			char		why[1024];

			snprintf(why, sizeof(why), "%s", ps_node_error(c));
			ps_client_set_error(c, "2D000", "ps_client: task %lld this task executes after failed: %s",
								(long long) dep, why);
			return false;
		}
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

/* The filter setting of a push: its own (negative: off), else the client's. */
static float
setting(float own, float client)
{
	return own < 0 ? 0 : own > 0 ? own : client;
}

/* The KKT filter for a task: its own (negative: off, positive: on), else the client's. */
static bool
kkt_on(PsClient *c, const PsTaskOptions *opt)
{
	return opt && opt->kkt != 0 ? opt->kkt > 0 : c->kkt_on;
}

static bool
filters_on(PsClient *c, const PsTaskOptions *opt)
{
	return kkt_on(c, opt) ||
		setting(opt ? opt->significance : 0, c->significance) > 0 ||
		(setting(opt ? opt->skip_below : 0, c->skip_below) > 0 &&
		 setting(opt ? opt->skip_prob : 0, c->skip_prob) > 0);
}

/* Run the push filters over m distinct keys; returns how many to send. */
static uint32_t
apply_filters(PsClient *c, const char *table, const PsTaskOptions *opt,
			  int64_t *keys, float *vals, uint32_t m, int dim)
{
	float		sig = setting(opt ? opt->significance : 0, c->significance);
	float		below = setting(opt ? opt->skip_below : 0, c->skip_below);
	float		prob = setting(opt ? opt->skip_prob : 0, c->skip_prob);

	if (sig > 0)
		m = (uint32_t) filter_significant(&c->filters, filter_table_id(table),
										  keys, vals, m, dim, sig);
	if (below > 0 && prob > 0 && prob < 1)
		m = (uint32_t) filter_random_skip(&c->filters, keys, vals, m, dim,
										  below, prob);
	/* last, on the values the server would get */
	if (kkt_on(c, opt))
		m = (uint32_t) kkt_filter(&c->kkt, filter_table_id(table), keys, vals, m, dim);
	return m;
}

/* Encode and send a push of m sorted distinct keys (NULL: a range). */
static int64_t
send_push(PsClient *c, const char *table, const int64_t *keys, int64_t first,
		  uint32_t m, int dim, const float *vals, const PsTaskOptions *opt)
{
	Task		t;
	int32_t		worker = opt ? opt->worker : 0;
	uint8_t    *msg = ps_client_xmalloc(PS_WIRE_ONCE_SIZE + ps_wire_bound(m, dim, true, true));

	/* room in front for the exactly-once id, which ps_client_send_task adds */
	size_t		len = ps_wire_encode(msg + PS_WIRE_ONCE_SIZE, PS_WIRE_PUSH, m, dim,
									 worker ? &worker : NULL, opt ? opt->clock : 0,
									 keys, first, vals, true);
	int64_t		ts;

	memset(&t, 0, sizeof(t));
	t.pull = false;
	ts = ps_client_send_task(c, table, msg, len, &t);
	/* what it changes on the server makes the slacks of its keys stale */
	if (keys && m > 0)
		kkt_note_push(&c->kkt, filter_table_id(table), keys, m, ts);
	else if (m > 0)
		kkt_note_range_push(&c->kkt, filter_table_id(table), ts);
	return ts;
}

int
ps_node_set_filters(PsClient *c, float significance, float skip_below,
					  float skip_prob, uint64_t seed)
{
	if (!(significance >= 0) || !(skip_below >= 0) || !(skip_prob >= 0) || skip_prob > 1)
	{
		ps_client_set_error(c, "22023", "ps_client: filter settings must be >= 0, and skip_prob at most 1");
		return -1;
	}
	c->significance = significance;
	c->skip_below = skip_below;
	c->skip_prob = skip_prob;
	c->filters.rng = seed;
	return 0;
}

int64_t
ps_node_flush(PsClient *c, const char *table, const PsTaskOptions *opt)
{
	int			dim = opt && opt->dim > 0 ? opt->dim : 1;
	int64_t    *keys;
	float	   *vals;
	size_t		m;
	int64_t		ts;

	if (table == NULL)
	{
		ps_client_set_error(c, "22004", "ps_client: the table is NULL");
		return -1;
	}
	m = filter_take_remainders(&c->filters, filter_table_id(table), dim, &keys, &vals);
	ts = m == 0 ? 0 : send_push(c, table, keys, 0, (uint32_t) m, dim, vals, opt);
	free(keys);
	free(vals);
	return ts;
}

int
ps_node_set_kkt(PsClient *c, int on, size_t max_keys)
{
	if (max_keys > ((size_t) 1 << 31))
	{
		ps_client_set_error(c, "22023", "ps_client: the KKT filter keeps at most 2^31 keys");
		return -1;
	}
	c->kkt_on = on != 0;
	c->kkt.max_keys = max_keys ? max_keys : PS_KKT_MAX_KEYS_DEFAULT;
	return 0;
}

void
ps_node_kkt_stats(PsClient *c, uint64_t *keys_filtered, uint64_t *bytes_saved,
					uint64_t *keys_known)
{
	*keys_filtered = c->kkt.keys_filtered;
	*bytes_saved = c->kkt.bytes_saved;
	*keys_known = c->kkt.n;
}

void
ps_node_traffic(PsClient *c, uint64_t *bytes_sent, uint64_t *bytes_received)
{
	*bytes_sent = c->bytes_sent;
	*bytes_received = c->bytes_received;
}

void
ps_node_filter_stats(PsClient *c, uint64_t *keys_held, uint64_t *keys_skipped,
					   uint64_t *bytes_saved)
{
	*keys_held = c->filters.keys_held;
	*keys_skipped = c->filters.keys_skipped;
	*bytes_saved = c->filters.bytes_saved;
}

/* A push of keys (range: of first .. first + n - 1). */
static int64_t
push(PsClient *c, const char *table, bool range, const int64_t *keys,
	 int64_t first, size_t n, const float *vals, const PsTaskOptions *opt)
{
	int			dim;
	int64_t    *ukeys = (int64_t *) keys;
	float	   *uvals = (float *) vals;
	uint32_t	m = (uint32_t) n;
	int64_t		ts;

	if (!task_prelude(c, "push", table, range, keys, first, n, vals, opt, &dim))
		return -1;
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
	if (!range && m > 0 && filters_on(c, opt) && c->as_client == 0)
	{
		/* the filters compact keys and values: on copies of their own */
		int64_t    *fk = ps_client_xmalloc(sizeof(int64_t) * m);
		float	   *fv = ps_client_xmalloc(sizeof(float) * (size_t) m * dim);

		memcpy(fk, ukeys, sizeof(int64_t) * m);
		memcpy(fv, uvals, sizeof(float) * (size_t) m * dim);
		if (uvals != vals)
			free(uvals);
		m = apply_filters(c, table, opt, fk, fv, m, dim);
		ts = send_push(c, table, fk, 0, m, dim, fv, opt);
		free(fk);
		free(fv);
		return ts;
	}
	ts = send_push(c, table, range ? NULL : ukeys, first, m, dim, uvals, opt);
	if (uvals != vals)
		free(uvals);
	return ts;
}

int64_t
ps_node_push(PsClient *c, const char *table, const int64_t *keys, size_t n,
			   const float *vals, const PsTaskOptions *opt)
{
	return push(c, table, false, keys, 0, n, vals, opt);
}

int64_t
ps_node_push_range(PsClient *c, const char *table, int64_t first, size_t n,
					 const float *vals, const PsTaskOptions *opt)
{
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

	if (!task_prelude(c, "pull", table, range, keys, first, n, vals, opt, &dim))
		return -1;
	if (kkt_on(c, opt) && (size_t) dim > (size_t) INT32_MAX / 2 / (n ? n : 1))
	{
		/* the answer carries twice the values */
		ps_client_set_error(c, "54000", "ps_client: %zu keys of dim %d with their KKT slacks are more than one answer can carry", n, dim);
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
	if (kkt_on(c, opt))
	{
		/* the answer carries each key's KKT slacks, for later pushes */
		ps_wire_add_flags(msg, PS_WIRE_SLACK);
		t.kkt = true;
		kkt_arm(&c->kkt);		/* pushes sent from now on are noted */
	}
	t.pull = true;
	t.out = vals;
	t.n = n;
	t.nuniq = m;
	t.dim = dim;
	return ps_client_send_task(c, table, msg, len, &t);
}

int64_t
ps_node_pull(PsClient *c, const char *table, const int64_t *keys, size_t n,
			   float *vals, const PsTaskOptions *opt)
{
	return pull(c, table, false, keys, 0, n, vals, opt);
}

int64_t
ps_node_pull_range(PsClient *c, const char *table, int64_t first, size_t n,
					 float *vals, const PsTaskOptions *opt)
{
	return pull(c, table, true, NULL, first, n, vals, opt);
}

