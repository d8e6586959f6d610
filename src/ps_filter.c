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

/* What this backend has sent to a worker of a table. */
typedef struct SentKey
{
	Oid			relid;
	int32		worker;
} SentKey;

typedef struct Sent
{
	SentKey		key;
	RelFileNode node;			/* storage the values came from */
	int			dim;
	int			n;
	int64	   *keys;			/* sorted */
	float4	   *vals;
} Sent;

static HTAB *sent_hash = NULL;

/*
 * Keep, of sorted, distinct keys with their current values (dim each), only
 * those whose value moved by more than threshold since worker last received
 * them, compacting keys and vals in place; remember what is returned.
 * Returns how many keys remain.
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
	int			i = 0,
				j = 0,
				k = 0,
				m = 0;

	if (sent_hash == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(SentKey);
		ctl.entrysize = sizeof(Sent);
		ctl.hcxt = TopMemoryContext;
		sent_hash = hash_create("ps sent values", 16, &ctl,
								HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	key.relid = RelationGetRelid(rel);
	key.worker = worker;
	s = hash_search(sent_hash, &key, HASH_ENTER, &found);
	if (!found || s->dim != dim || !RelFileNodeEquals(s->node, rel->rd_node))
	{
		if (found && s->n > 0)
		{
			pfree(s->keys);
			pfree(s->vals);
		}
		s->node = rel->rd_node;
		s->dim = dim;
		s->n = 0;
		s->keys = NULL;
		s->vals = NULL;
	}

	/* merge the request into what was sent; keep the moved keys */
	mkeys = MemoryContextAlloc(TopMemoryContext, sizeof(int64) * (s->n + n));
	mvals = MemoryContextAlloc(TopMemoryContext, sizeof(float4) * dim * (s->n + n));
	while (i < n || j < s->n)
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
	if (s->n > 0)
	{
		pfree(s->keys);
		pfree(s->vals);
	}
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
