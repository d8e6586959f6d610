/*-------------------------------------------------------------------------
 *
 * ps_filter.c
 *	  The paper's user-defined filters, run by the server.
 *
 * KKT filter (pushes, L1 rule): a key whose weight is zero and would stay
 * zero after the aggregated gradient is applied (FTRL: |z + g| within the
 * L1 threshold) is inactive; the scheduler drops it from the aggregate
 * before applying (ps_rule_kkt_inactive).  It reads the keys' records
 * first, so the write touches only the leaves of active keys.  Enabled per
 * table with ps_configure(kkt_filter => true) on an ftrl table with l1 > 0.
 *
 * Significantly-modified filter (pulls): ps_pull_changed returns only the
 * keys whose value moved by more than the table's significance threshold
 * (in some component) since this worker last pulled them, and keys it never
 * pulled.  What was sent to a worker is remembered by the backend serving
 * it, in sorted arrays merged at each pull; a worker that moves to another
 * connection receives every key once again.
 *
 * Active filter (pulls): ps_pull_active returns only keys with a nonzero
 * value, which under L1 are few.
 *
 * Every filter counts the keys it removed and the bytes they would have
 * taken (8 bytes of key and 4 per value), in the table's shared state;
 * ps_filters() shows the counts (since the server started).
 *
 * Layer 7 (training services): the filters; calls the shared state, the
 * store and the rules, never the scheduler (which calls it) or the queue.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "ps_filter.h"
#include "ps_state.h"
#include "ps_store.h"

const char *const ps_filter_names[PS_NFILTERS] = {"kkt", "changed", "active"};

StaticAssertDecl(PS_NFILTERS == lengthof(((PsTableState *) NULL)->filtered_keys),
				 "one counter per filter");

/*
 * Drop the inactive keys from sorted, distinct keys with their aggregated
 * gradients (dim per key), in place.  Returns how many keys remain.
 */
int
ps_filter_kkt(Relation rel, PsDir *dir, const PsRule *rule, int64 *keys,
			  float4 *vals, int n, int dim)
{
	int			width = dir->width;
	float4	   *recs;
	int			i,
				m = 0;

	if (n == 0 || rule->kind != PS_RULE_FTRL || rule->l1 <= 0)
		return n;
	recs = palloc0(sizeof(float4) * width * n);
	ps_store_read(rel, dir, keys, NULL, n, width, recs);
	for (i = 0; i < n; i++)
	{
		if (ps_rule_kkt_inactive(rule, dim, recs + (Size) i * width,
								 vals + (Size) i * dim))
			continue;
		keys[m] = keys[i];
		if (m != i)
			memmove(vals + (Size) m * dim, vals + (Size) i * dim,
					sizeof(float4) * dim);
		m++;
	}
	pfree(recs);
	ps_filter_count(rel->rd_node.dbNode, RelationGetRelid(rel), PS_FILTER_KKT,
					n - m, dim);
	return m;
}

/*
 * What this backend has sent to a worker of a table.  The entries live in
 * their own memory context and go when the worker does: when it leaves or
 * is dropped (swept at every filtered pull of this backend), when the
 * table is dropped, and when its id is reused after the table's shared
 * state was given up (joined tells the incarnations apart).  So memory is
 * bounded by the keys the backend's live workers pulled: 8 + 4 * dim
 * bytes per distinct key.
 */
typedef struct SentKey
{
	Oid			relid;
	int32		worker;
} SentKey;

typedef struct Sent
{
	SentKey		key;
	RelFileNode node;			/* storage the values came from */
	TimestampTz joined;			/* the worker it was sent to */
	int			dim;
	int			n;
	int64	   *keys;			/* sorted */
	float4	   *vals;
} Sent;

static HTAB *sent_hash = NULL;
static MemoryContext sent_cxt = NULL;

static void
sent_free(Sent *s)
{
	if (s->keys)
		pfree(s->keys);
	if (s->vals)
		pfree(s->vals);
	hash_search(sent_hash, &s->key, HASH_REMOVE, NULL);
}

/*
 * Forget what was sent to workers that are no longer active (called at
 * every filtered pull, and when a worker of this backend joins or leaves).
 */
void
ps_filter_sweep(void)
{
	HASH_SEQ_STATUS status;
	Sent	   *s;

	if (sent_hash == NULL)
		return;
	hash_seq_init(&status, sent_hash);
	while ((s = hash_seq_search(&status)) != NULL)
		if (ps_state_worker_joined(MyDatabaseId, s->key.relid, s->key.worker) != s->joined)
			sent_free(s);
}

/* Forget what was sent for a table (it is being dropped). */
void
ps_filter_forget(Oid relid)
{
	HASH_SEQ_STATUS status;
	Sent	   *s;

	if (sent_hash == NULL)
		return;
	hash_seq_init(&status, sent_hash);
	while ((s = hash_seq_search(&status)) != NULL)
		if (s->key.relid == relid)
			sent_free(s);
}

/*
 * Keep, of sorted, distinct keys with their current values (dim each), only
 * those whose value moved by more than threshold since worker last received
 * them, compacting keys and vals in place; remember what is returned.
 * Returns how many keys remain.  The worker is active (the caller checked).
 */
int
ps_filter_changed(Relation rel, int32 worker, float4 threshold, int64 *keys,
				  float4 *vals, int n, int dim)
{
	SentKey		key;
	Sent	   *s;
	bool		found;
	int64	   *mkeys;
	float4	   *mvals;
	TimestampTz joined;
	int			i = 0,
				j = 0,
				k = 0,
				m = 0;

	if (sent_hash == NULL)
	{
		HASHCTL		ctl;

		sent_cxt = AllocSetContextCreate(TopMemoryContext, "ps sent values",
										 ALLOCSET_DEFAULT_SIZES);
		ctl.keysize = sizeof(SentKey);
		ctl.entrysize = sizeof(Sent);
		ctl.hcxt = sent_cxt;
		sent_hash = hash_create("ps sent values", 16, &ctl,
								HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	ps_filter_sweep();
	joined = ps_state_worker_joined(MyDatabaseId, RelationGetRelid(rel), worker);
	key.relid = RelationGetRelid(rel);
	key.worker = worker;
	s = hash_search(sent_hash, &key, HASH_ENTER, &found);
	if (!found || s->dim != dim || s->joined != joined ||
		!RelFileNodeEquals(s->node, rel->rd_node))
	{
		if (found && s->keys)
			pfree(s->keys);
		if (found && s->vals)
			pfree(s->vals);
		s->node = rel->rd_node;
		s->joined = joined;
		s->dim = dim;
		s->n = 0;
		s->keys = NULL;
		s->vals = NULL;
	}

	/* merge the request into what was sent; keep the moved keys */
	mkeys = MemoryContextAllocHuge(sent_cxt, sizeof(int64) * Max(s->n + n, 1));
	mvals = MemoryContextAllocHuge(sent_cxt, sizeof(float4) * dim * Max(s->n + n, 1));	while (i < n || j < s->n)
	{
		if (j >= s->n || (i < n && keys[i] < s->keys[j]))
		{
			/* never sent: send */
			mkeys[k] = keys[i];
			memcpy(mvals + (Size) k * dim, vals + (Size) i * dim, sizeof(float4) * dim);
			keys[m] = keys[i];
			memmove(vals + (Size) m * dim, vals + (Size) i * dim, sizeof(float4) * dim);
			m++;
			i++;
		}
		else if (i >= n || s->keys[j] < keys[i])
		{
			/* not asked for: remember as it was */
			mkeys[k] = s->keys[j];
			memcpy(mvals + (Size) k * dim, s->vals + (Size) j * dim, sizeof(float4) * dim);
			j++;
		}
		else
		{
			const float4 *old = s->vals + (Size) j * dim;
			const float4 *cur = vals + (Size) i * dim;
			bool		moved = false;
			int			d;

			for (d = 0; d < dim; d++)
				moved |= fabsf(cur[d] - old[d]) > threshold;
			mkeys[k] = keys[i];
			if (moved)
			{
				memcpy(mvals + (Size) k * dim, cur, sizeof(float4) * dim);
				keys[m] = keys[i];
				memmove(vals + (Size) m * dim, cur, sizeof(float4) * dim);
				m++;
			}
			else
				memcpy(mvals + (Size) k * dim, old, sizeof(float4) * dim);
			i++;
			j++;
		}
		k++;
	}
	if (s->keys)
		pfree(s->keys);
	if (s->vals)
		pfree(s->vals);
	s->keys = mkeys;
	s->vals = mvals;
	s->n = k;
	ps_filter_count(MyDatabaseId, RelationGetRelid(rel), PS_FILTER_CHANGED, n - m, dim);
	return m;
}

/* Count keys a filter removed, in the table's shared state (if it has one). */
void
ps_filter_count(Oid dbid, Oid relid, PsFilterKind kind, int64 keys, int dim)
{
	PsTableState *st;

	if (keys == 0)
		return;
	st = ps_state_lookup(dbid, relid);
	if (st == NULL)
		return;
	SpinLockAcquire(&st->mutex);
	st->filtered_keys[kind] += keys;
	st->filtered_bytes[kind] += keys * (sizeof(int64) + sizeof(float4) * dim);
	SpinLockRelease(&st->mutex);
	ps_state_release();
}
