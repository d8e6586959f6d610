/*-------------------------------------------------------------------------
 *
 * ps_sched.c
 *	  The scheduler: a background worker that takes the pushes of all
 *	  backends from the shared-memory queue, aggregates those of the same
 *	  table and clock, and applies each aggregate once.
 *
 * Backends put their pushes into the queue (ps_queue.c).  The scheduler
 * takes the published prefix of the queue, groups the pushes by table and
 * clock (pushes of workers at the same clock, or plain pushes, arriving
 * together), merges each group's sorted keys summing the values of equal
 * keys, and applies the update rule once per key of the aggregate
 * (ps_store.c: one lock and one WAL record per up to 32 leaves).  It then
 * flushes WAL once for the whole round and acknowledges every push of it.
 * With several workers pushing at once, the aggregate visits each leaf
 * once instead of once per push.
 *
 * The scheduler is connected to no database: it reaches tables by their
 * relfilenode through a fake relcache entry, as WAL replay does, with the
 * table's OID set so that its extension lock is the backends' lock.  Each
 * group is applied in its own transaction: an error (an overflowing sum)
 * fails that group's pushes and nothing else.  Pushes the queue does not
 * take (ps_queue.c says which) are applied by their backends, as are
 * INSERT and COPY.
 *
 * Crash safety: a push is acknowledged only after it is applied and its WAL
 * flushed, so a crash loses only unacknowledged pushes (the queue is not
 * persistent).  If the scheduler exits while applying, the pushes of that
 * round are failed rather than applied again on restart; pushes still
 * queued are applied by the restarted scheduler, or taken back and applied
 * by their backends if no scheduler is running.
 *
 * Layer 7 (training services), the top of it: the scheduler process
 * calls the queue, the time marks, the range clocks, the filters and the
 * store; nothing calls it but PostgreSQL (ps_scheduler_main) and the
 * module entry (ps_sched_init).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_class.h"
#include "access/xlog.h"
#include "access/xlogutils.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "port/atomics.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/condition_variable.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "ps_clock.h"
#include "ps_dir.h"
#include "ps_filter.h"
#include "ps_marks.h"
#include "ps_queue_int.h"
#include "ps_sched.h"
#include "ps_store.h"
#include "ps_table.h"

#define PS_MAX_ROUND 1024		/* pushes taken in one round at most */

void
ps_sched_init(void)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 1;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "ps");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "ps_scheduler_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "ps scheduler");
	snprintf(worker.bgw_type, BGW_MAXLEN, "ps scheduler");
	RegisterBackgroundWorker(&worker);
}

typedef struct PushGroup
{
	PsTaskHeader **tasks;		/* in queue (timestamp) order */
	int			ntasks;
	bool		failed;
	PsError		error;
	int			nkeys;			/* keys in the aggregate */
	const int64 *keys;			/* the keys written, ascending; NULL: */
	int64		first;			/* the range first .. of a lone range push */
	int			nwrite;			/* how many (the KKT filter drops some) */
	int			written;		/* of them, written when an error came */
	bool	   *applied;		/* per push of a failed group: written whole */
	PsError    *errors;			/* per push of a failed group, if written */
} PushGroup;

static void
scheduler_exit(int code, Datum arg)
{
	LWLockAcquire(ps_queue_lock, LW_EXCLUSIVE);
	ps_queue->sched_pid = 0;
	ps_queue->sched_latch = NULL;
	LWLockRelease(ps_queue_lock);
	ConditionVariableBroadcast(&ps_queue->done_cv);
}

/*
 * Merge the sorted, distinct keys of a group's pushes, summing the values
 * of keys pushed more than once (in queue order).
 */
static int
aggregate(PushGroup *g, int dim, int64 **okeys, float4 **ovals)
{
	int			k = g->ntasks;
	int		   *pos = palloc0(sizeof(int) * k);
	Size		total = 0;
	int64	   *keys;
	float4	   *vals;
	int			n = 0;
	int			t;

	for (t = 0; t < k; t++)
		total += g->tasks[t]->nkeys;
	keys = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int64) * total);
	vals = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(float4) * dim * total);
	memset(vals, 0, sizeof(float4) * dim * total);
	for (;;)
	{
		int64		min = 0;
		bool		any = false;

		for (t = 0; t < k; t++)
			if (pos[t] < g->tasks[t]->nkeys &&
				(!any || TaskKey(g->tasks[t], pos[t]) < min))
			{
				min = TaskKey(g->tasks[t], pos[t]);
				any = true;
			}
		if (!any)
			break;
		keys[n] = min;
		for (t = 0; t < k; t++)
			if (pos[t] < g->tasks[t]->nkeys && TaskKey(g->tasks[t], pos[t]) == min)
			{
				const float4 *src = TaskVals(g->tasks[t]) + (Size) pos[t] * dim;
				float4	   *dst = vals + (Size) n * dim;
				int			j;

				for (j = 0; j < dim; j++)
					dst[j] += src[j];
				pos[t]++;
			}
		n++;
	}
	*okeys = keys;
	*ovals = vals;
	return n;
}

/*
 * Apply one group: every push of one table and clock in this round.
 */
static XLogRecPtr
apply_group(PushGroup *g, MemoryContext roundcxt)
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
			/* the keys outlive a failed transaction: see scheduler_round */
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
static XLogRecPtr
apply_group_in_xact(PushGroup *g, MemoryContext roundcxt)
{
	volatile XLogRecPtr lsn = InvalidXLogRecPtr;

	/*
	 * No HOLD_INTERRUPTS here: an ERROR resets the holdoff count.  A
	 * shutdown may stop the scheduler between leaves of a group; its pushes
	 * are then failed, never applied twice (see ps_scheduler_main).
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
task_keys_written(const PushGroup *g, const PsTaskHeader *t)
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
task_fully_written(const PushGroup *g, const PsTaskHeader *t)
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
describe_partial_write(const PushGroup *g, const PsTaskHeader *t, PsError *e)
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

static bool
same_group(const PsTaskHeader *a, const PsTaskHeader *b)
{
	return a->dbid == b->dbid && a->relid == b->relid &&
		RelFileNodeEquals(a->node, b->node) && a->clock == b->clock &&
		a->kkt == b->kkt &&
		a->dim == b->dim && a->width == b->width &&
		memcmp(&a->rule, &b->rule, sizeof(PsRule)) == 0;
}

/*
 * One round: take the published prefix of the queue, apply it group by
 * group, flush WAL, acknowledge.
 */
static bool
scheduler_round(MemoryContext roundcxt)
{
	PsTaskHeader *tasks[PS_MAX_ROUND];
	PushGroup	   *groups;
	int			ntasks = 0,
				ngroups = 0,
				i,
				j;
	uint64		pos,
				end;
	XLogRecPtr	flush = InvalidXLogRecPtr;
	MemoryContext old;

	/* take the published prefix */
	LWLockAcquire(ps_queue_lock, LW_EXCLUSIVE);
	pos = ps_queue->head;
	end = ps_queue->tail;
	while (pos < end && ntasks < PS_MAX_ROUND)
	{
		PsTaskHeader *h;

		pos += ps_queue_unusable_tail(pos);
		if (pos >= end)
			break;
		h = (PsTaskHeader *) (ps_ring + pos % ps_queue->size);
		if (!h->ready)
			break;
		pg_read_barrier();
		if (!h->skip)
		{
			PsSlot	   *s = &ps_queue->slots[h->slot];

			/*
			 * Apply only a push its slot still waits for: not one taken back
			 * by its backend, nor one a previous scheduler failed.
			 */
			if (s->seq != h->seq || s->status != PS_SLOT_QUEUED)
				;
			else if (s->abandoned)
				s->status = PS_SLOT_IDLE;
			else
			{
				s->status = PS_SLOT_APPLYING;
				tasks[ntasks++] = h;
			}
		}
		pos += h->len;
	}
	end = pos;
	if (end == ps_queue->head)
	{
		LWLockRelease(ps_queue_lock);
		return false;
	}
	LWLockRelease(ps_queue_lock);

	/* group by table and clock, keeping queue order */
	old = MemoryContextSwitchTo(roundcxt);
	groups = palloc0(sizeof(PushGroup) * Max(ntasks, 1));
	for (i = 0; i < ntasks; i++)
	{
		for (j = 0; j < ngroups; j++)
			if (same_group(groups[j].tasks[0], tasks[i]))
				break;
		if (j == ngroups)
		{
			groups[j].tasks = palloc(sizeof(PsTaskHeader *) * ntasks);
			ngroups++;
		}
		groups[j].tasks[groups[j].ntasks++] = tasks[i];
	}

	/* a time mark ahead of the round's WAL (logged tables only) */
	for (i = 0; i < ntasks; i++)
		if (tasks[i]->persistence == RELPERSISTENCE_PERMANENT)
		{
			if (ps_mark_due(GetCurrentTimestamp(), 0))
				ps_mark_write();
			break;
		}

	/* apply each group in a transaction of its own */
	for (j = 0; j < ngroups; j++)
	{
		XLogRecPtr	lsn = apply_group_in_xact(&groups[j], roundcxt);

		flush = Max(flush, lsn);
		ps_mark_serve();	/* backends writing themselves wait for one */
	}

	/*
	 * Of a failed group, the pushes whose keys were all written are applied
	 * all the same; the others learn how much of them was written.
	 */
	for (j = 0; j < ngroups; j++)
	{
		PushGroup  *g = &groups[j];

		g->applied = palloc0(sizeof(bool) * g->ntasks);
		if (!g->failed || g->written == 0)
			continue;
		g->errors = palloc(sizeof(PsError) * g->ntasks);
		for (i = 0; i < g->ntasks; i++)
		{
			g->applied[i] = task_fully_written(g, g->tasks[i]);
			g->errors[i] = g->error;
			if (!g->applied[i])
				describe_partial_write(g, g->tasks[i], &g->errors[i]);
		}
	}

	/* durable before acknowledged */
	if (!XLogRecPtrIsInvalid(flush))
		XLogFlush(flush);

	LWLockAcquire(ps_queue_lock, LW_EXCLUSIVE);
	ps_queue->rounds++;
	for (j = 0; j < ngroups; j++)
	{
		if (!groups[j].failed)
		{
			ps_queue->aggregates++;
			ps_queue->keys_applied += groups[j].nkeys;
		}
		for (i = 0; i < groups[j].ntasks; i++)
		{
			PsTaskHeader *t = groups[j].tasks[i];
			PsSlot	   *s = &ps_queue->slots[t->slot];
			bool		failed = groups[j].failed && !groups[j].applied[i];

			if (s->abandoned)
				s->status = PS_SLOT_IDLE;
			else if (failed)
			{
				s->status = PS_SLOT_FAILED;
				s->error = groups[j].errors ? groups[j].errors[i] : groups[j].error;
			}
			else
				s->status = PS_SLOT_DONE;
			if (failed)
				ps_queue->failed++;
			else
			{
				ps_queue->pushes++;
				ps_queue->keys_pushed += t->nkeys;
			}
		}
	}
	ps_queue->head = end;
	LWLockRelease(ps_queue_lock);
	ConditionVariableBroadcast(&ps_queue->done_cv);
	ConditionVariableBroadcast(&ps_queue->space_cv);

	MemoryContextSwitchTo(old);
	MemoryContextReset(roundcxt);
	return true;
}

void
ps_scheduler_main(Datum arg)
{
	MemoryContext roundcxt;
	TimestampTz last_prune = GetCurrentTimestamp();
	TimestampTz now;
	bool		busy;
	int			i;

	/*
	 * Query cancel is ignored: an aggregate is applied whole or fails whole
	 * (an error), never cut short between leaves by a cancel that no
	 * pushing client asked for.  SIGTERM still stops the scheduler; the
	 * pushes of the round it was applying are then failed, saying they may
	 * be partly applied.
	 */
	pqsignal(SIGTERM, die);
	pqsignal(SIGINT, SIG_IGN);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	pgstat_report_appname("ps scheduler");
	/* time marks commit asynchronously: the round's flush covers them */
	SetConfigOption("synchronous_commit", "off", PGC_SUSET, PGC_S_OVERRIDE);

	/*
	 * Pushes a previous scheduler was applying when it exited may be partly
	 * applied: fail them rather than apply them twice.
	 */
	LWLockAcquire(ps_queue_lock, LW_EXCLUSIVE);
	for (i = 0; i < MaxBackends; i++)
	{
		PsSlot	   *s = &ps_queue->slots[i];

		if (s->status == PS_SLOT_APPLYING)
		{
			s->status = s->abandoned ? PS_SLOT_IDLE : PS_SLOT_FAILED;
			memset(&s->error, 0, sizeof(PsError));
			s->error.sqlerrcode = ERRCODE_OPERATOR_INTERVENTION;
			strlcpy(s->error.message, "the ps scheduler exited while applying this push",
					PS_ERROR_LEN);
			strlcpy(s->error.detail, "The push may be partly applied.", PS_ERROR_LEN);
		}
	}
	ps_queue->sched_pid = MyProcPid;
	ps_queue->sched_latch = MyLatch;
	LWLockRelease(ps_queue_lock);
	before_shmem_exit(scheduler_exit, (Datum) 0);
	ConditionVariableBroadcast(&ps_queue->done_cv);

	roundcxt = AllocSetContextCreate(TopMemoryContext, "ps scheduler round",
									 ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		ps_mark_serve();
		busy = scheduler_round(roundcxt);

		/*
		 * The scheduler gets no relcache invalidations: it forgets the
		 * directory copies of tables not pushed to for a minute (dropped
		 * ones among them), checking every ten seconds.
		 */
		now = GetCurrentTimestamp();
		if (TimestampDifferenceExceeds(last_prune, now, 10 * 1000))
		{
			ps_dir_prune(now, 60 * 1000);
			last_prune = now;
		}
		LWLockAcquire(ps_queue_lock, LW_EXCLUSIVE);
		ps_queue->directories = (uint64) ps_dir_count();
		LWLockRelease(ps_queue_lock);
		if (busy)
			continue;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 1000L, PG_WAIT_EXTENSION);
	}
}
