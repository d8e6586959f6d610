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
#include "ps_repl.h"
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


/* Index of the first key of push t that is >= key. */
static int
task_lower_bound(const PsTaskHeader *t, int64 key)
{
	int			lo = 0,
				hi = t->nkeys;

	if (t->range)
		return key <= t->first ? 0 :
			(int) Min((int64) t->nkeys, key - t->first);
	while (lo < hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (TaskKeys(t)[mid] < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Index after the last key of push t that is <= key. */
static int
task_upper_bound(const PsTaskHeader *t, int64 key)
{
	return key == PG_INT64_MAX ? t->nkeys : task_lower_bound(t, key + 1);
}

/* How many keys of push t lie in a .. b. */
static int
task_count_in(const PsTaskHeader *t, int64 a, int64 b)
{
	return a > b ? 0 : Max(0, task_upper_bound(t, b) - task_lower_bound(t, a));
}

/*
 * The aggregate's keys and values: a buffer kept from group to group (and
 * grown as needed) up to AGG_KEEP bytes, so that an applier does not take
 * fresh pages from the kernel for every aggregate; larger aggregates are
 * allocated in the round's context and given back after it.
 */
#define AGG_KEEP (32 * 1024 * 1024)
static char *agg_buf = NULL;
static Size agg_size = 0;

static void
agg_alloc(Size nkeys, Size nfloats, int64 **keys, float4 **vals)
{
	Size		kbytes = MAXALIGN(sizeof(int64) * Max(nkeys, 1));
	Size		need = kbytes + sizeof(float4) * Max(nfloats, 1);
	char	   *buf;

	if (need > AGG_KEEP)
		buf = MemoryContextAllocHuge(CurrentMemoryContext, need);
	else
	{
		if (need > agg_size)
		{
			Size		size = Max(need, Min(2 * agg_size, (Size) AGG_KEEP));

			if (agg_buf)
				pfree(agg_buf);
			agg_buf = MemoryContextAlloc(TopMemoryContext, size);
			agg_size = size;
		}
		buf = agg_buf;
	}
	*keys = (int64 *) buf;
	*vals = (float4 *) (buf + kbytes);
}

/* Pushes merged by a linear scan of their next keys; more go on a heap. */
#define MERGE_LINEAR 8

/* Is push a's next key before push b's (ties: the earlier push first)? */
static inline bool
merge_before(const int64 *next, int a, int b)
{
	return next[a] < next[b] || (next[a] == next[b] && a < b);
}

/* Restore the heap order of heap[0 .. n - 1] below index i. */
static void
merge_sift_down(const int64 *next, int *heap, int n, int i)
{
	for (;;)
	{
		int			l = 2 * i + 1,
					m = i,
					tmp;

		if (l < n && merge_before(next, heap[l], heap[m]))
			m = l;
		if (l + 1 < n && merge_before(next, heap[l + 1], heap[m]))
			m = l + 1;
		if (m == i)
			break;
		tmp = heap[i];
		heap[i] = heap[m];
		heap[m] = tmp;
		i = m;
	}
}

/* Add push t's values at its position pos[t] to dst, or copy them there. */
static inline void
merge_values(const PsTaskHeader *h, int pos, int dim, float4 *dst, bool first)
{
	const float4 *src = TaskVals(h) + (Size) pos * dim;
	int			j;

	if (first)
		memcpy(dst, src, sizeof(float4) * dim);
	else
		for (j = 0; j < dim; j++)
			dst[j] += src[j];
}

/*
 * Merge the slices start[t] .. end[t] - 1 of the sorted, distinct keys of
 * a group's pushes into *okeys, summing the values of keys pushed more
 * than once, in queue order, into *ovals.  Each push's next key is kept
 * at hand; a few pushes are scanned for the smallest, more are kept on a
 * heap (n log k for k pushes).  Returns the number of keys.
 */
static int
aggregate(PsGroup *g, int dim, int *start, const int *end, Size total,
		  int64 **okeys, float4 **ovals)
{
	int			k = g->ntasks;
	int		   *pos = start;
	int64	   *next = palloc(sizeof(int64) * k);
	int		   *live = palloc(sizeof(int) * k);
	int			nlive = 0;
	int64	   *keys;
	float4	   *vals;
	int			n = 0;
	int			t;

	for (t = 0; t < k; t++)
		if (pos[t] < end[t])
		{
			next[t] = TaskKey(g->tasks[t], pos[t]);
			live[nlive++] = t;
		}
	agg_alloc(total, total * dim, &keys, &vals);
	if (nlive <= MERGE_LINEAR)
	{
		/* live[] stays in queue order: ties sum in that order */
		while (nlive > 0)
		{
			int64		key = next[live[0]];
			float4	   *dst = vals + (Size) n * dim;
			bool		first = true;
			int			i,
						m = 0;

			for (i = 1; i < nlive; i++)
				key = Min(key, next[live[i]]);
			for (i = 0; i < nlive; i++)
			{
				t = live[i];
				if (next[t] == key)
				{
					merge_values(g->tasks[t], pos[t], dim, dst, first);
					first = false;
					if (++pos[t] >= end[t])
						continue;	/* dropped from live */
					next[t] = TaskKey(g->tasks[t], pos[t]);
				}
				live[m++] = t;
			}
			nlive = m;
			keys[n++] = key;
		}
	}
	else
	{
		int		   *heap = live;
		int			nheap = nlive;

		for (t = nheap / 2 - 1; t >= 0; t--)
			merge_sift_down(next, heap, nheap, t);
		while (nheap > 0)
		{
			int64		key = next[heap[0]];
			float4	   *dst = vals + (Size) n * dim;
			bool		first = true;

			/* the pushes holding key come off the heap in queue order */
			while (nheap > 0 && next[heap[0]] == key)
			{
				t = heap[0];
				merge_values(g->tasks[t], pos[t], dim, dst, first);
				first = false;
				if (++pos[t] >= end[t])
					heap[0] = heap[--nheap];
				else
					next[t] = TaskKey(g->tasks[t], pos[t]);
				merge_sift_down(next, heap, nheap, 0);
			}
			keys[n++] = key;
		}
	}
	pfree(next);
	pfree(live);
	*okeys = keys;
	*ovals = vals;
	return n;
}

/*
 * If the slices of the group's pushes are all ranges that together cover
 * one range without a gap, sum them into dense values over that range
 * (a vectorised add per push, no merge) and return its first key in
 * *ofirst and its length; else return -1.
 */
static int
aggregate_ranges(PsGroup *g, int dim, const int *start, const int *end,
				 int64 *ofirst, float4 **ovals)
{
	int64		lo = PG_INT64_MAX,
				hi = PG_INT64_MIN;
	Size		covered = 0;
	float4	   *vals;
	int			t;

	for (t = 0; t < g->ntasks; t++)
	{
		PsTaskHeader *h = g->tasks[t];

		if (start[t] >= end[t])
			continue;
		if (!h->range)
			return -1;
		lo = Min(lo, h->first + start[t]);
		hi = Max(hi, h->first + end[t] - 1);
		covered += end[t] - start[t];
	}
	if (lo > hi || hi - lo + 1 > (int64) covered)
	{
		/* gaps are possible: check that the ranges chain up */
		int64		reach = lo - 1;
		bool		moved = true;

		if (lo > hi)
			return -1;
		while (moved && reach < hi)
		{
			moved = false;
			for (t = 0; t < g->ntasks; t++)
			{
				PsTaskHeader *h = g->tasks[t];
				int64		a = h->first + start[t],
							b = h->first + end[t] - 1;

				if (start[t] < end[t] && a <= reach + 1 && b > reach)
				{
					reach = b;
					moved = true;
				}
			}
		}
		if (reach < hi)
			return -1;
	}
	{
		int64	   *unused;

		agg_alloc(0, (Size) dim * (hi - lo + 1), &unused, &vals);
	}
	memset(vals, 0, sizeof(float4) * dim * (Size) (hi - lo + 1));
	for (t = 0; t < g->ntasks; t++)
	{
		PsTaskHeader *h = g->tasks[t];
		const float4 *src;
		float4	   *dst;
		Size		m,
					j;

		if (start[t] >= end[t])
			continue;
		src = TaskVals(h) + (Size) start[t] * dim;
		dst = vals + (Size) (h->first + start[t] - lo) * dim;
		m = (Size) (end[t] - start[t]) * dim;
		for (j = 0; j < m; j++)
			dst[j] += src[j];
	}
	*ofirst = lo;
	*ovals = vals;
	return (int) (hi - lo + 1);
}

/*
 * The pushes of a group with exactly-once ids, and their slices' first
 * and last keys: the write records how far each got (ps_once.c).  Groups
 * with such pushes are not split across appliers (ps_sched.c), so a slice
 * is the whole push.
 */
static PsOnceMark *
once_marks(PsGroup *g, const int *start, const int *end, int *nmarks)
{
	PsOnceMark *marks = NULL;
	int			t;

	*nmarks = 0;
	for (t = 0; t < g->ntasks; t++)
	{
		PsTaskHeader *h = g->tasks[t];

		if (h->once.base.client == 0 || start[t] >= end[t])
			continue;
		if (marks == NULL)
			marks = palloc(sizeof(PsOnceMark) * g->ntasks);
		marks[*nmarks] = h->once;
		marks[*nmarks].first = TaskKey(h, start[t]);
		marks[*nmarks].last = TaskKey(h, end[t] - 1);
		(*nmarks)++;
	}
	return marks;
}

/*
 * Write the part of a group: the slices start[t] .. end[t] - 1 of its
 * pushes (total keys, from live pushes; one of them if live is 1).
 */
static void
write_group(Relation rel, PsGroup *g, int *start, const int *end, Size total,
			int live, int one, MemoryContext roundcxt)
{
	PsTaskHeader *first = g->tasks[0];
	PsDir	   *dir;
	PsWrite		w;
	PsCapture	cap = {0};
	int			t;

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
	w.once = once_marks(g, start, end, &w.nonce);
	w.flush_later = false;
	/* the aggregate's after-images go to the replicas (ps_repl.c) */
	w.capture = NULL;
	if (ps_repl_wanted(first->dbid))
	{
		ps_repl_capture_start(&cap, rel, first->clock, first->dim, dir->width, w.once,
							  w.nonce);
		w.capture = &cap;
	}
	if (live == 1 && !first->kkt)
	{
		/*
		 * One push in the part: applied from the queue as it stands, a range
		 * as a range; nothing to merge or copy (its values were checked by
		 * its backend).
		 */
		PsTaskHeader *h = g->tasks[one];
		int			n = end[one] - start[one];
		const float4 *vals = TaskVals(h) + (Size) start[one] * h->dim;

		g->result.nkeys = g->nwrite = n;
		if (h->range)
		{
			g->wfirst = h->first + start[one];
			ps_store_write_range(rel, dir, g->wfirst, vals, n, &w);
		}
		else
		{
			g->wkeys = TaskKeys(h) + start[one];
			ps_store_write(rel, dir, g->wkeys, vals, n, &w);
		}
	}
	else
	{
		/* the keys outlive a failed transaction: its outcomes need them */
		MemoryContext old = MemoryContextSwitchTo(roundcxt);
		int64	   *keys = NULL;
		float4	   *vals;
		int64		lo = 0;
		int			n;

		n = first->kkt ? -1 :
			aggregate_ranges(g, first->dim, start, end, &lo, &vals);
		if (n < 0)
			n = aggregate(g, first->dim, start, end, total, &keys, &vals);
		MemoryContextSwitchTo(old);
		g->result.nkeys = n;
		ps_check_finite(vals, (Size) n * first->dim, true);
		if (keys == NULL)
		{
			g->wfirst = lo;
			g->nwrite = n;
			ps_store_write_range(rel, dir, lo, vals, n, &w);
		}
		else
		{
			if (first->kkt)
				n = ps_filter_kkt(rel, dir, &first->rule, keys, vals, n, first->dim);
			g->wkeys = keys;
			g->nwrite = n;
			ps_store_write(rel, dir, keys, vals, n, &w);
		}
	}
	if (w.capture && w.nonce > 0)
		ps_repl_capture_once(rel, w.once, w.nonce, &cap);
	if (cap.n > 0 || cap.nonce > 0)
		ps_repl_enqueue(first->dbid, first->relid, first->clock, first->dim, &cap);
}

/*
 * Apply one group, or the part lo .. hi of its key space: every push of
 * one table and clock an applier took.
 */
static void
apply_group(PsGroup *g, MemoryContext roundcxt)
{
	PsTaskHeader *first = g->tasks[0];
	Relation	rel;
	int		   *start,
			   *end;
	volatile Size total = 0;	/* set before PG_TRY, read inside */
	volatile int live = 0,
				one = -1;
	int			t;
	MemoryContext old;

	/* the slice of each push in lo .. hi */
	old = MemoryContextSwitchTo(roundcxt);
	start = palloc(sizeof(int) * g->ntasks);
	end = palloc(sizeof(int) * g->ntasks);
	MemoryContextSwitchTo(old);
	for (t = 0; t < g->ntasks; t++)
	{
		start[t] = task_lower_bound(g->tasks[t], g->lo);
		end[t] = task_upper_bound(g->tasks[t], g->hi);
		if (start[t] < end[t])
		{
			total += end[t] - start[t];
			live++;
			one = t;
		}
	}
	g->wkeys = NULL;
	g->wfirst = g->lo;
	g->nwrite = 0;
	g->result.nkeys = 0;
	if (live == 0)
		return;

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
		write_group(rel, g, start, end, total, live, one, roundcxt);
	}
	PG_FINALLY();
	{
		FreeFakeRelcacheEntry(rel);
	}
	PG_END_TRY();
}

/*
 * Apply a group (the part g->lo .. g->hi of it) in a transaction of its
 * own, and say in g->result what it did; an error fails the group's
 * pushes and nothing else.  Returns the end of its WAL.
 */
XLogRecPtr
ps_apply_group(PsGroup *g, MemoryContext roundcxt)
{
	PsPartResult *r = &g->result;
	volatile XLogRecPtr lsn = InvalidXLogRecPtr;

	memset(r, 0, sizeof(PsPartResult));
	r->lo = g->lo;
	r->hi = g->hi;
	g->written = 0;

	/*
	 * No HOLD_INTERRUPTS here: an ERROR resets the holdoff count.  A
	 * shutdown may stop the applier between leaves of a group; its pushes
	 * are then failed, never applied twice (see ps_sched.c).
	 */
	StartTransactionCommand();
	PG_TRY();
	{
		apply_group(g, roundcxt);
		lsn = XactLastRecEnd;
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
		r->failed = true;
		r->error.sqlerrcode = edata->sqlerrcode;
		strlcpy(r->error.message, edata->message ? edata->message : "", PS_ERROR_LEN);
		strlcpy(r->error.detail, edata->detail ? edata->detail : "", PS_ERROR_LEN);
		strlcpy(r->error.hint, edata->hint ? edata->hint : "", PS_ERROR_LEN);
		FreeErrorData(edata);
	}
	PG_END_TRY();
	MemoryContextSwitchTo(roundcxt);
	/* a failure before the writes began (nwrite 0) wrote nothing */
	r->complete = !r->failed || (g->nwrite > 0 && g->written >= g->nwrite);
	if (!r->complete)
		r->stop = g->written >= g->nwrite ? g->lo :
			g->wkeys ? g->wkeys[g->written] : g->wfirst + g->written;
	r->wrote = g->written > 0;
	return lsn;
}

/*
 * How many keys of push t the parts of its group wrote.  Each part writes
 * its keys in ascending order: those below the first key a failed part
 * did not write.
 */
static int
task_keys_written(const PsTaskHeader *t, const PsPartResult *parts, int nparts)
{
	int			n = 0,
				j;

	for (j = 0; j < nparts; j++)
	{
		const PsPartResult *p = &parts[j];

		if (p->complete)
			n += task_count_in(t, p->lo, p->hi);
		else if (p->stop > p->lo)
			n += task_count_in(t, p->lo, p->stop - 1);
	}
	return n;
}

/*
 * The outcome of each push of a group applied in nparts parts (their
 * results in parts, ascending): all applied if no part failed; else the
 * pushes whose keys were all written are applied all the same, and the
 * others fail with the first failed part's error, learning how much of
 * them was written (or, with keys in a part whose applier exited, that it
 * may be partly applied).  The range clock of every push applied is set.
 */
void
ps_apply_outcomes(PsGroup *g, const PsPartResult *parts, int nparts)
{
	const PsPartResult *failed = NULL;
	bool		wrote = false;
	int			i,
				j;

	for (j = 0; j < nparts; j++)
	{
		if (parts[j].failed && failed == NULL)
			failed = &parts[j];
		wrote |= parts[j].wrote || (parts[j].complete && parts[j].nkeys > 0);
	}
	g->applied = palloc(sizeof(bool) * g->ntasks);
	g->errors = palloc(sizeof(PsError) * g->ntasks);
	for (i = 0; i < g->ntasks; i++)
	{
		PsTaskHeader *t = g->tasks[i];
		int			n = failed ? task_keys_written(t, parts, nparts) : t->nkeys;

		g->applied[i] = failed == NULL || (wrote && n == t->nkeys);
		if (g->applied[i])
		{
			/* the worker's clock now holds on the range its push covered */
			if (t->worker > 0 && t->nkeys > 0)
				ps_clock_set(t->dbid, t->relid, t->worker, t->clock,
							 TaskKey(t, 0), TaskKey(t, t->nkeys - 1));
			continue;
		}
		g->errors[i] = failed->error;

		/* a part whose applier exited: nobody knows how much it wrote */
		for (j = 0; j < nparts; j++)
			if (parts[j].unknown && task_count_in(t, parts[j].lo, parts[j].hi) > 0)
				break;
		if (j < nparts)
			g->errors[i] = parts[j].error;
		else if (wrote)
		{
			char		detail[PS_ERROR_LEN];

			snprintf(detail, sizeof(detail),
					 "The push is partly applied: %d of its %d keys were written before the error and keep their new values%s.",
					 n, t->nkeys,
					 g->ntasks > 1 ? psprintf(" (it was aggregated with %d other push%s)",
											  g->ntasks - 1, g->ntasks > 2 ? "es" : "") : "");
			if (failed->error.detail[0] != '\0')
				strlcat(detail, psprintf("\n%s", failed->error.detail), sizeof(detail));
			strlcpy(g->errors[i].detail, detail, PS_ERROR_LEN);
		}
	}
}
