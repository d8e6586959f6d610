/*-------------------------------------------------------------------------
 *
 * ps_apply.c
 *	  How an applier of the scheduler applies one group of queued pushes
 *	  (all pushes of one table and clock it took): aggregate, apply the
 *	  update rule once per key, and account for a failed group.
 *
 * The pushes of a group are merged by their sorted keys, summing the
 * values of keys pushed more than once (a heap of the pushes' next keys,
 * ties broken by queue order so that sums do not depend on the merge),
 * then the KKT filter drops what it drops and the store applies the rule
 * (ps_store.c: one lock and one WAL record per up to 32 leaves).  A group
 * of one push is applied from the queue as it stands, a range as a range:
 * nothing is merged or copied.  The applier reads the tables by their
 * relfilenode through a fake relcache entry, as WAL replay does, with the
 * table's OID set so that its extension lock is the backends' lock; two
 * appliers writing one table meet at the store's leaf locks, taken in
 * ascending key order, as two backends do.  Each group is applied in a
 * transaction of its own: an error fails that group's pushes and nothing
 * else, and a push of a failed group whose keys were all written before
 * the error is applied all the same.
 *
 * Layer 7 (training services), under ps_sched.c: calls the range clocks,
 * the filters and the store; must not take pushes out of the queue or
 * acknowledge them (the applier's loop does, under the queue lock).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "access/xlogutils.h"
#include "catalog/pg_class.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "ps_apply.h"
#include "ps_clock.h"
#include "ps_dir.h"
#include "ps_filter.h"
#include "ps_store.h"
#include "ps_table.h"

/* May pushes a and b be aggregated? */
bool
ps_apply_same_group(const PsTaskHeader *a, const PsTaskHeader *b)
{
	return a->dbid == b->dbid && a->relid == b->relid &&
		RelFileNodeEquals(a->node, b->node) && a->clock == b->clock &&
		a->kkt == b->kkt &&
		a->dim == b->dim && a->width == b->width &&
		memcmp(&a->rule, &b->rule, sizeof(PsRule)) == 0;
}


/* Is push a's next key before push b's (ties: the earlier push first)? */
static inline bool
merge_before(PsGroup *g, const int *pos, int a, int b)
{
	int64		ka = TaskKey(g->tasks[a], pos[a]),
				kb = TaskKey(g->tasks[b], pos[b]);

	return ka < kb || (ka == kb && a < b);
}

/* Restore the heap order of heap[0 .. n - 1] below index i. */
static void
merge_sift_down(PsGroup *g, const int *pos, int *heap, int n, int i)
{
	for (;;)
	{
		int			l = 2 * i + 1,
					m = i,
					tmp;

		if (l < n && merge_before(g, pos, heap[l], heap[m]))
			m = l;
		if (l + 1 < n && merge_before(g, pos, heap[l + 1], heap[m]))
			m = l + 1;
		if (m == i)
			break;
		tmp = heap[i];
		heap[i] = heap[m];
		heap[m] = tmp;
		i = m;
	}
}

/*
 * Merge the sorted, distinct keys of a group's pushes into *okeys, summing
 * the values of keys pushed more than once, in queue order, into *ovals.
 * A heap of the pushes holds each one's next key: n log k for k pushes.
 * Returns the number of keys.
 */
static int
aggregate(PsGroup *g, int dim, int64 **okeys, float4 **ovals)
{
	int			k = g->ntasks;
	int		   *pos = palloc0(sizeof(int) * k);
	int		   *heap = palloc(sizeof(int) * k);
	int			nheap = 0;
	Size		total = 0;
	int64	   *keys;
	float4	   *vals;
	int			n = 0;
	int			t;

	for (t = 0; t < k; t++)
	{
		total += g->tasks[t]->nkeys;
		if (g->tasks[t]->nkeys > 0)
			heap[nheap++] = t;
	}
	for (t = nheap / 2 - 1; t >= 0; t--)
		merge_sift_down(g, pos, heap, nheap, t);
	keys = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int64) * Max(total, 1));
	vals = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(float4) * dim * Max(total, 1));
	while (nheap > 0)
	{
		int64		key = TaskKey(g->tasks[heap[0]], pos[heap[0]]);
		float4	   *dst = vals + (Size) n * dim;
		bool		first = true;

		/* the pushes holding key come off the heap in queue order */
		while (nheap > 0 && TaskKey(g->tasks[heap[0]], pos[heap[0]]) == key)
		{
			PsTaskHeader *h = g->tasks[heap[0]];
			const float4 *src = TaskVals(h) + (Size) pos[heap[0]] * dim;
			int			j;

			if (first)
				memcpy(dst, src, sizeof(float4) * dim);
			else
				for (j = 0; j < dim; j++)
					dst[j] += src[j];
			first = false;
			if (++pos[heap[0]] >= h->nkeys)
				heap[0] = heap[--nheap];
			merge_sift_down(g, pos, heap, nheap, 0);
		}
		keys[n++] = key;
	}
	pfree(pos);
	pfree(heap);
	*okeys = keys;
	*ovals = vals;
	return n;
}

/*
 * Apply one group: every push of one table and clock an applier took.
 */
static XLogRecPtr
apply_group(PsGroup *g, MemoryContext roundcxt)
{
	PsTaskHeader *first = g->tasks[0];
	Relation	rel;
	PsDir	   *dir;
	PsWrite		w;
	int64	   *keys;
	float4	   *vals;
	int			n,
				t;
	volatile XLogRecPtr lsn = InvalidXLogRecPtr;

	rel = CreateFakeRelcacheEntry(first->node);
	PG_TRY();
	{
		/* enough of a relcache entry for the storage code */
		rel->rd_id = first->relid;
		rel->rd_lockInfo.lockRelId.relId = first->relid;
		rel->rd_rel->relkind = RELKIND_RELATION;
		rel->rd_rel->relpersistence = first->persistence;
		rel->rd_rel->relname = first->relname;
		rel->rd_tableam = ps_table_am();

		dir = ps_dir_get(rel, false, 0, 0);
		if (dir->n == 0 || dir->width != first->width || dir->dim != first->dim)
			elog(ERROR, "ps scheduler: storage of \"%s\" changed while the push was queued",
				 NameStr(first->relname));
		w.mode = PS_WRITE_PUSH;
		w.rule = first->rule;
		w.dim = first->dim;
		w.kkt = first->kkt;
		w.written = &g->written;
		w.ts = 0;
		for (t = 0; t < g->ntasks; t++)
			w.ts = Max(w.ts, g->tasks[t]->ts);
		if (g->ntasks == 1 && !first->kkt)
		{
			/*
			 * A group of one push is applied from the queue as it stands,
			 * a range as a range: nothing to merge, nothing to copy (its
			 * values were checked by its backend).
			 */
			g->nkeys = g->nwrite = first->nkeys;
			g->keys = first->range ? NULL : TaskKeys(first);
			g->first = first->first;
			if (first->range)
				ps_store_write_range(rel, dir, first->first, TaskVals(first),
									 first->nkeys, &w);
			else
				ps_store_write(rel, dir, TaskKeys(first), TaskVals(first),
							   first->nkeys, &w);
		}
		else
		{
			/* the keys outlive a failed transaction: its outcomes need them */
			MemoryContext old = MemoryContextSwitchTo(roundcxt);

			n = aggregate(g, first->dim, &keys, &vals);
			MemoryContextSwitchTo(old);
			g->nkeys = n;
			ps_check_finite(vals, (Size) n * first->dim, true);
			if (first->kkt)
				n = ps_filter_kkt(rel, dir, &first->rule, keys, vals, n, first->dim);
			g->keys = keys;
			g->nwrite = n;
			ps_store_write(rel, dir, keys, vals, n, &w);
		}
		lsn = XactLastRecEnd;

		/* each worker's clock now holds on the range its push covered */
		for (t = 0; t < g->ntasks; t++)
			if (g->tasks[t]->worker > 0 && g->tasks[t]->nkeys > 0)
				ps_clock_set(first->dbid, first->relid, g->tasks[t]->worker,
							 g->tasks[t]->clock, TaskKey(g->tasks[t], 0),
							 TaskKey(g->tasks[t], g->tasks[t]->nkeys - 1));
	}
	PG_FINALLY();
	{
		FreeFakeRelcacheEntry(rel);
	}
	PG_END_TRY();
	return lsn;
}

/*
 * Apply a group in a transaction of its own; an error fails the group's
 * pushes and nothing else.  Returns the end of its WAL.
 */
XLogRecPtr
ps_apply_group(PsGroup *g, MemoryContext roundcxt)
{
	volatile XLogRecPtr lsn = InvalidXLogRecPtr;

	/*
	 * No HOLD_INTERRUPTS here: an ERROR resets the holdoff count.  A
	 * shutdown may stop the applier between leaves of a group; its pushes
	 * are then failed, never applied twice (see ps_sched.c).
	 */
	StartTransactionCommand();
	PG_TRY();
	{
		lsn = apply_group(g, roundcxt);
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		/* the batches written before the error must be durable too */
		if (g->written > 0)
			lsn = XactLastRecEnd;
		MemoryContextSwitchTo(roundcxt);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		g->failed = true;
		g->error.sqlerrcode = edata->sqlerrcode;
		strlcpy(g->error.message, edata->message ? edata->message : "", PS_ERROR_LEN);
		strlcpy(g->error.detail, edata->detail ? edata->detail : "", PS_ERROR_LEN);
		strlcpy(g->error.hint, edata->hint ? edata->hint : "", PS_ERROR_LEN);
		FreeErrorData(edata);
	}
	PG_END_TRY();
	MemoryContextSwitchTo(roundcxt);
	return lsn;
}

/*
 * How many of a push's keys a failed group wrote.  Writes go in ascending
 * key order, so they are the push's keys below the first key the group
 * did not write.
 */
static int
task_keys_written(const PsGroup *g, const PsTaskHeader *t)
{
	int64		first;
	int			lo = 0,
				hi = t->nkeys;

	if (g->written >= g->nwrite)
		return t->nkeys;
	/* the first key the group did not write */
	first = g->keys ? g->keys[g->written] : g->first + g->written;
	if (t->range)
		return (int) Max(0, Min((int64) t->nkeys, first - t->first));
	while (lo < hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (TaskKeys(t)[mid] < first)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * A push of a failed group whose keys were all written before the error
 * (which came from the keys of a push aggregated with it) is applied: it
 * is acknowledged, its WAL flushed with the round's, and its range clock
 * set.
 */
static bool
task_fully_written(const PsGroup *g, const PsTaskHeader *t)
{
	if (g->written == 0 || task_keys_written(g, t) < t->nkeys)
		return false;
	if (t->worker > 0 && t->nkeys > 0)
		ps_clock_set(t->dbid, t->relid, t->worker, t->clock, TaskKey(t, 0),
					 TaskKey(t, t->nkeys - 1));
	return true;
}

/* The error of a push that a failed group wrote in part: say how much. */
static void
describe_partial_write(const PsGroup *g, const PsTaskHeader *t, PsError *e)
{
	char		detail[PS_ERROR_LEN];

	snprintf(detail, sizeof(detail),
			 "The push is partly applied: %d of its %d keys were written before the error and keep their new values%s.",
			 task_keys_written(g, t), t->nkeys,
			 g->ntasks > 1 ? psprintf(" (it was aggregated with %d other push%s)",
									  g->ntasks - 1, g->ntasks > 2 ? "es" : "") : "");
	if (e->detail[0] != '\0')
		strlcat(detail, psprintf("\n%s", e->detail), sizeof(detail));
	strlcpy(e->detail, detail, PS_ERROR_LEN);
}

/*
 * The outcome of each push of a group: all applied if the group was;
 * of a failed group, the pushes whose keys were all written are applied
 * all the same, the others fail, learning how much of them was written.
 */
void
ps_apply_outcomes(PsGroup *g)
{
	int			i;

	g->applied = palloc(sizeof(bool) * g->ntasks);
	g->errors = palloc(sizeof(PsError) * g->ntasks);
	for (i = 0; i < g->ntasks; i++)
	{
		g->applied[i] = !g->failed ||
			(g->written > 0 && task_fully_written(g, g->tasks[i]));
		g->errors[i] = g->error;
		if (!g->applied[i] && g->written > 0)
			describe_partial_write(g, g->tasks[i], &g->errors[i]);
	}
}
