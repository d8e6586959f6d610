/*-------------------------------------------------------------------------
 *
 * ps_sched.c
 *	  The scheduler: a pool of background workers, the appliers, that take
 *	  the pushes of all backends from the shared-memory queue, aggregate
 *	  those of the same table and clock, and apply each aggregate once.
 *
 * Backends put their pushes into the queue (ps_queue.c) and wake an idle
 * applier.  An applier takes, under the queue lock, the pushes of one
 * table and clock that are in the queue and no other applier has taken
 * (a group: pushes of workers at the same clock, or plain pushes,
 * arriving together), and applies them as one aggregate (ps_apply.c).
 * If no other applier is idle it takes every group in the queue, as one
 * round, and flushes WAL once for them all; otherwise it leaves the other
 * groups to the others and wakes one.  So aggregates of different tables,
 * and of different clocks of one table, are applied in parallel, each by
 * one applier; two appliers writing one table meet at the store's leaf
 * locks, as two backends do.  A worker's own pushes stay in order: its
 * backend waits for each until it is applied.
 *
 * The gather window (ps.gather_window): a workers' push of a table under
 * sequential or bounded-delay consistency is held back, at most that long
 * after it was queued, while a live worker of the table has not pushed at
 * its clock yet, so that the pushes of one clock, which such workers send
 * close together, are applied as one aggregate.  Eventual consistency and
 * plain pushes are never held back.
 *
 * Crash safety: a push is acknowledged only after it is applied and its WAL
 * flushed, so a crash loses only unacknowledged pushes (the queue is not
 * persistent).  If an applier exits while applying, its restart fails the
 * pushes it had taken rather than apply them again (they may be partly
 * applied); pushes still queued are taken by the other appliers, or taken
 * back and applied by their backends if no applier is running.
 *
 * Layer 7 (training services), the top of it: the appliers call the
 * applying of groups, the queue, the time marks and the workers' clocks;
 * nothing calls them but PostgreSQL (ps_scheduler_main) and the module
 * entry (ps_sched_init).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_class.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "port/atomics.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/condition_variable.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "ps_apply.h"
#include "ps_dir.h"
#include "ps_marks.h"
#include "ps_queue_int.h"
#include "ps_sched.h"
#include "ps_workers.h"

#define PS_MAX_ROUND 1024		/* pushes taken in one round at most */

static int	my_applier = -1;	/* this applier's number, from 0 */

/* Register the pool's background workers (from _PG_init). */
void
ps_sched_init(void)
{
	int			i;

	for (i = 0; i < ps_scheduler_workers; i++)
	{
		BackgroundWorker worker;

		memset(&worker, 0, sizeof(worker));
		worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
		worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
		worker.bgw_restart_time = 1;
		worker.bgw_main_arg = Int32GetDatum(i);
		snprintf(worker.bgw_library_name, BGW_MAXLEN, "ps");
		snprintf(worker.bgw_function_name, BGW_MAXLEN, "ps_scheduler_main");
		snprintf(worker.bgw_name, BGW_MAXLEN, "ps scheduler applier %d", i + 1);
		snprintf(worker.bgw_type, BGW_MAXLEN, "ps scheduler");
		RegisterBackgroundWorker(&worker);
	}
}

static void
applier_exit(int code, Datum arg)
{
	PsApplier  *me = &ps_queue->appliers[my_applier];

	LWLockAcquire(ps_queue_lock, LW_EXCLUSIVE);
	me->pid = 0;
	me->latch = NULL;
	pg_atomic_write_u32(&me->idle, 0);
	ps_queue->running--;
	LWLockRelease(ps_queue_lock);
	ConditionVariableBroadcast(&ps_queue->done_cv);
}

/* The entry at ring position pos (after the unusable tail it may skip). */
static inline PsTaskHeader *
entry_at(uint64 *pos)
{
	*pos += ps_queue_unusable_tail(*pos);
	return (PsTaskHeader *) (ps_ring + *pos % ps_queue->size);
}

/*
 * Under the queue lock held exclusively: move the head over the entries
 * nobody needs any more, giving their room back.
 */
static bool
advance_head(void)
{
	uint64		start = ps_queue->head;

	while (ps_queue->head < ps_queue->tail)
	{
		uint64		pos = ps_queue->head;
		PsTaskHeader *h = entry_at(&pos);

		if (pos >= ps_queue->tail || !(h->skip || h->done))
			break;
		ps_queue->head = pos + h->len;
	}
	if (ps_queue->head > ps_queue->tail)
		ps_queue->head = ps_queue->tail;
	return ps_queue->head != start;
}

/*
 * Is this workers' push to be held back for the gather window?  If so,
 * *until is lowered to when its window ends.
 */
static bool
hold_back(PsTaskHeader *h, TimestampTz now, TimestampTz *until)
{
	TimestampTz end;

	if (h->worker <= 0 || h->clock < 0 || ps_gather_window <= 0)
		return false;
	end = TimestampTzPlusMilliseconds(h->queued, ps_gather_window);
	if (end <= now || ps_workers_behind(h->dbid, h->relid, h->clock) == 0)
		return false;
	if (*until == 0 || end < *until)
		*until = end;
	return true;
}

/*
 * Take pushes to apply: the groups of the queue no other applier has
 * taken (all of them if no other applier is idle, else the first), up to
 * PS_MAX_ROUND pushes.  Returns the number taken into tasks; *more says
 * whether takeable pushes were left for another applier, *until when a
 * group held back for the gather window is due (0: none).
 */
static int
take_pushes(PsTaskHeader **tasks, bool *more, TimestampTz *until)
{
	PsApplier  *me = &ps_queue->appliers[my_applier];
	PsTaskHeader *leads[PS_MAX_ROUND];	/* first push of each group taken */
	PsTaskHeader *held[PS_MAX_ROUND];	/* first push of each held back */
	int			nleads = 0,
				nheld = 0,
				ntasks = 0,
				i;
	bool		others_idle = false;
	TimestampTz now = GetCurrentTimestamp();
	uint64		pos;

	*more = false;
	*until = 0;
	for (i = 0; i < ps_queue->nappliers; i++)
		if (i != my_applier && ps_queue->appliers[i].pid != 0 &&
			pg_atomic_read_u32(&ps_queue->appliers[i].idle) == 1)
			others_idle = true;

	LWLockAcquire(ps_queue_lock, LW_EXCLUSIVE);
	advance_head();
	for (pos = ps_queue->head; pos < ps_queue->tail;)
	{
		PsTaskHeader *h = entry_at(&pos);
		PsSlot	   *s;

		if (pos >= ps_queue->tail)
			break;
		pos += h->len;
		if (!h->ready || h->skip || h->done || h->taken_by >= 0)
			continue;
		pg_read_barrier();
		s = &ps_queue->slots[h->slot];

		/*
		 * Take only a push its slot still waits for: not one taken back by
		 * its backend, nor one a previous run of an applier failed.
		 */
		if (s->seq != h->seq || s->status != PS_SLOT_QUEUED)
		{
			h->done = true;
			continue;
		}
		if (s->abandoned)
		{
			s->status = PS_SLOT_IDLE;
			h->done = true;
			continue;
		}
		if (ntasks >= PS_MAX_ROUND)
		{
			*more = true;
			continue;
		}
		for (i = 0; i < nleads; i++)
			if (ps_apply_same_group(leads[i], h))
				break;
		if (i == nleads)
		{
			/* a group not taken yet: held back, left to another, or ours */
			int			j;

			for (j = 0; j < nheld; j++)
				if (ps_apply_same_group(held[j], h))
					break;
			if (j < nheld)
				continue;
			if (hold_back(h, now, until))
			{
				h->held = true;
				held[nheld++] = h;
				continue;
			}
			if (nleads > 0 && others_idle)
			{
				*more = true;
				continue;
			}
			leads[nleads++] = h;
			/* the first push of a group is its oldest: it waited longest */
			if (h->held)
			{
				me->gather_waits++;
				me->gather_us += (uint64) Max(0, now - h->queued);
			}
		}
		h->taken_by = my_applier;
		s->status = PS_SLOT_APPLYING;
		s->applier = my_applier;
		tasks[ntasks++] = h;
	}
	if (ntasks > 0)
		pg_atomic_write_u32(&me->idle, 0);
	LWLockRelease(ps_queue_lock);
	return ntasks;
}

/*
 * One round: take pushes, apply them group by group, flush WAL once,
 * acknowledge.  Returns false if there was nothing to take; *until is when
 * a group held back for the gather window is due (0: none).
 */
static bool
applier_round(MemoryContext roundcxt, TimestampTz *until)
{
	PsApplier  *me = &ps_queue->appliers[my_applier];
	PsTaskHeader *tasks[PS_MAX_ROUND];
	PsGroup    *groups;
	int			ntasks,
				ngroups = 0,
				i,
				j;
	bool		more;
	XLogRecPtr	flush = InvalidXLogRecPtr;
	MemoryContext old;

	ntasks = take_pushes(tasks, &more, until);
	if (ntasks == 0)
		return false;
	if (more)
		ps_queue_wake_applier();

	/* group by table and clock, keeping queue order */
	old = MemoryContextSwitchTo(roundcxt);
	groups = palloc0(sizeof(PsGroup) * ntasks);
	for (i = 0; i < ntasks; i++)
	{
		for (j = 0; j < ngroups; j++)
			if (ps_apply_same_group(groups[j].tasks[0], tasks[i]))
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
		XLogRecPtr	lsn = ps_apply_group(&groups[j], roundcxt);

		flush = Max(flush, lsn);
		ps_apply_outcomes(&groups[j]);
		ps_mark_serve();		/* backends writing themselves wait for one */
	}

	/* durable before acknowledged */
	if (!XLogRecPtrIsInvalid(flush))
		XLogFlush(flush);

	LWLockAcquire(ps_queue_lock, LW_EXCLUSIVE);
	me->rounds++;
	for (j = 0; j < ngroups; j++)
	{
		PsGroup    *g = &groups[j];

		if (!g->failed)
		{
			me->aggregates++;
			me->keys_applied += g->nkeys;
		}
		for (i = 0; i < g->ntasks; i++)
		{
			PsTaskHeader *t = g->tasks[i];
			PsSlot	   *s = &ps_queue->slots[t->slot];

			if (s->abandoned)
				s->status = PS_SLOT_IDLE;
			else if (!g->applied[i])
			{
				s->status = PS_SLOT_FAILED;
				s->error = g->errors[i];
			}
			else
				s->status = PS_SLOT_DONE;
			s->applier = -1;
			if (g->applied[i])
			{
				me->pushes++;
				me->keys_pushed += t->nkeys;
			}
			else
				me->failed++;
			t->done = true;
		}
	}
	advance_head();
	LWLockRelease(ps_queue_lock);
	ConditionVariableBroadcast(&ps_queue->done_cv);
	ConditionVariableBroadcast(&ps_queue->space_cv);

	MemoryContextSwitchTo(old);
	MemoryContextReset(roundcxt);
	return true;
}

/*
 * Under the queue lock: the pushes a previous run of this applier had
 * taken when it exited may be partly applied: fail them rather than apply
 * them twice, and give their room in the queue back.
 */
static void
fail_previous_run(void)
{
	uint64		pos;
	int			i;

	for (i = 0; i < MaxBackends; i++)
	{
		PsSlot	   *s = &ps_queue->slots[i];

		if (s->status == PS_SLOT_APPLYING && s->applier == my_applier)
		{
			s->status = s->abandoned ? PS_SLOT_IDLE : PS_SLOT_FAILED;
			s->applier = -1;
			memset(&s->error, 0, sizeof(PsError));
			s->error.sqlerrcode = ERRCODE_OPERATOR_INTERVENTION;
			strlcpy(s->error.message, "the ps scheduler exited while applying this push",
					PS_ERROR_LEN);
			strlcpy(s->error.detail, "The push may be partly applied.", PS_ERROR_LEN);
		}
	}
	for (pos = ps_queue->head; pos < ps_queue->tail;)
	{
		PsTaskHeader *h = entry_at(&pos);

		if (pos >= ps_queue->tail)
			break;
		pos += h->len;
		if (!h->skip && h->taken_by == my_applier)
			h->done = true;
	}
	advance_head();
}

void
ps_scheduler_main(Datum arg)
{
	PsApplier  *me;
	MemoryContext roundcxt;
	TimestampTz last_prune = GetCurrentTimestamp();
	TimestampTz now;
	bool		busy;

	my_applier = DatumGetInt32(arg);
	me = &ps_queue->appliers[my_applier];

	/*
	 * Query cancel is ignored: an aggregate is applied whole or fails whole
	 * (an error), never cut short between leaves by a cancel that no
	 * pushing client asked for.  SIGTERM still stops the applier; the
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

	LWLockAcquire(ps_queue_lock, LW_EXCLUSIVE);
	fail_previous_run();
	me->pid = MyProcPid;
	me->latch = MyLatch;
	ps_queue->running++;
	LWLockRelease(ps_queue_lock);
	before_shmem_exit(applier_exit, (Datum) 0);
	ConditionVariableBroadcast(&ps_queue->done_cv);
	ConditionVariableBroadcast(&ps_queue->space_cv);

	roundcxt = AllocSetContextCreate(TopMemoryContext, "ps scheduler round",
									 ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		TimestampTz until = 0;
		long		timeout = 1000;

		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		ps_mark_serve();

		/*
		 * Idle from here until it takes something: a push published after
		 * the look below wakes it (ps_queue_wake_applier).
		 */
		pg_atomic_write_u32(&me->idle, 1);
		pg_memory_barrier();
		busy = applier_round(roundcxt, &until);

		/*
		 * The appliers get no relcache invalidations: each forgets the
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
		me->directories = (uint64) ps_dir_count();
		LWLockRelease(ps_queue_lock);
		if (busy)
			continue;
		if (until != 0)
			timeout = Max(1, (long) ((until - now + 999) / 1000));
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 Min(timeout, 1000L), PG_WAIT_EXTENSION);
	}
}
