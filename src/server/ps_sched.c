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
 * Splits: a large group (PS_SPLIT_MIN_KEYS per part, two parts at least)
 * taken while other appliers are idle is cut by key ranges into parts,
 * one per idle applier and one for the taker (the leader), who opens them
 * once its time mark is written.  Each part is applied by one applier,
 * merged from the pushes' keys in its range; the applier that finishes
 * the last part works out the pushes' outcomes and acknowledges them.
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
#define PS_SPLIT_MIN_KEYS 8192	/* keys per part of a split group, at least */

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
	pg_atomic_write_u32(&me->working, 0);
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

/* What take_work gives an applier to do. */
typedef struct Work
{
	int			ntasks;			/* pushes taken, into the caller's array */
	int			split;			/* or: a part of this split, -1: none */
	int			part;
	bool		new_split;		/* the applier made the split: opens it */
	bool		more;			/* takeable pushes were left for others */
	TimestampTz until;			/* a held-back group is due then (0: none) */
} Work;

/*
 * Under the queue lock: split the group of tasks[0 .. n - 1] by key ranges
 * into parts for this applier and idle ones, if it is large enough.
 * Returns the split, or -1.  The parts beyond the first stay closed until
 * the applier has written its time mark (open_split).
 */
static int
make_split(PsTaskHeader **tasks, int n, int idle)
{
	PsTaskHeader *big = tasks[0];
	Size		total = 0;
	PsSplit    *sp = NULL;
	int			nparts,
				i,
				j;

	if (n > PS_SPLIT_MAX_TASKS || idle == 0)
		return -1;
	for (i = 0; i < n; i++)
	{
		/* how far a push with an exactly-once id got is one key: not split */
		if (tasks[i]->once.base.client != 0)
			return -1;
		total += tasks[i]->nkeys;
		if (tasks[i]->nkeys > big->nkeys)
			big = tasks[i];
	}
	nparts = (int) Min((Size) (idle + 1), total / PS_SPLIT_MIN_KEYS);
	nparts = Min(nparts, big->nkeys);
	if (nparts < 2)
		return -1;
	for (j = 0; j < PS_MAX_SPLITS && ps_queue->splits[j].used; j++)
		;
	if (j == PS_MAX_SPLITS)
		return -1;
	sp = &ps_queue->splits[j];
	memset(sp, 0, sizeof(PsSplit));
	sp->used = true;
	sp->leader = my_applier;
	sp->ntasks = n;
	sp->nparts = nparts;
	for (i = 0; i < n; i++)
	{
		sp->tasks[i] = (Size) ((char *) tasks[i] - ps_ring);
		ps_queue->slots[tasks[i]->slot].split = j;
	}

	/* key ranges cut at quantiles of the largest push's keys */
	for (i = 0; i < nparts; i++)
	{
		PsPartResult *r = &sp->parts[i].result;

		sp->parts[i].taker = i == 0 ? my_applier : PS_PART_CLOSED;
		r->lo = i == 0 ? PG_INT64_MIN :
			TaskKey(big, (int) ((int64) big->nkeys * i / nparts));
		if (i > 0)
			sp->parts[i - 1].result.hi = r->lo - 1;
	}
	sp->parts[nparts - 1].result.hi = PG_INT64_MAX;
	return j;
}

/*
 * Take work: a part of a split group that no applier has taken yet; or
 * the groups of the queue no other applier has taken (all of them if no
 * other applier is idle, else the first, split across idle appliers if
 * large), up to PS_MAX_ROUND pushes.
 */
static void
take_work(PsTaskHeader **tasks, Work *work)
{
	PsApplier  *me = &ps_queue->appliers[my_applier];
	PsTaskHeader *leads[PS_MAX_ROUND];	/* first push of each group taken */
	PsTaskHeader *held[PS_MAX_ROUND];	/* first push of each held back */
	int			nleads = 0,
				nheld = 0,
				ntasks = 0,
				nonce = 0,
				idle = 0,
				i,
				j;
	TimestampTz now = GetCurrentTimestamp();
	uint64		pos;

	memset(work, 0, sizeof(Work));
	work->split = -1;

	/*
	 * Free appliers: those not holding work.  One that a backend has just
	 * woken (its idle flag cleared, so that the next push wakes another)
	 * and that has not taken anything yet is free as well: counting only
	 * the sleeping ones would leave a group unsplit whenever two pushes
	 * had woken the two others a moment before.
	 */
	for (i = 0; i < ps_queue->nappliers; i++)
		if (i != my_applier && ps_queue->appliers[i].pid != 0 &&
			pg_atomic_read_u32(&ps_queue->appliers[i].working) == 0)
			idle++;

	LWLockAcquire(ps_queue_lock, LW_EXCLUSIVE);

	/* first, the open parts of split groups */
	for (i = 0; i < PS_MAX_SPLITS; i++)
	{
		PsSplit    *sp = &ps_queue->splits[i];

		if (!sp->used)
			continue;
		for (j = 0; j < sp->nparts; j++)
			if (sp->parts[j].taker == PS_PART_OPEN)
			{
				sp->parts[j].taker = my_applier;
				work->split = i;
				work->part = j;
				pg_atomic_write_u32(&me->idle, 0);
				pg_atomic_write_u32(&me->working, 1);
				LWLockRelease(ps_queue_lock);
				return;
			}
	}

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
		if (ntasks >= PS_MAX_ROUND ||
			(h->once.base.client != 0 && nonce >= PS_ONCE_CAPACITY))
		{
			/* (a write records at most a table's worth of exactly-once ids) */
			work->more = true;
			continue;
		}
		if (h->once.base.client != 0)
			nonce++;
		for (i = 0; i < nleads; i++)
			if (ps_apply_same_group(leads[i], h))
				break;
		if (i == nleads)
		{
			/* a group not taken yet: held back, left to another, or ours */
			for (j = 0; j < nheld; j++)
				if (ps_apply_same_group(held[j], h))
					break;
			if (j < nheld)
				continue;
			if (hold_back(h, now, &work->until))
			{
				h->held = true;
				held[nheld++] = h;
				continue;
			}
			if (nleads > 0 && idle > 0)
			{
				work->more = true;
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
		s->split = -1;
		tasks[ntasks++] = h;
	}
	work->ntasks = ntasks;
	if (nleads == 1)
	{
		work->split = make_split(tasks, ntasks, idle);
		work->part = 0;
		work->new_split = work->split >= 0;
	}
	if (ntasks > 0)
	{
		pg_atomic_write_u32(&me->idle, 0);
		pg_atomic_write_u32(&me->working, 1);
	}
	LWLockRelease(ps_queue_lock);
}

/*
 * Under the queue lock: settle the pushes of a group applied: acknowledge
 * those applied, fail the others, give their room in the queue back, and
 * count them for this applier.
 */
static void
settle_group(PsGroup *g, bool failed, int nkeys)
{
	PsApplier  *me = &ps_queue->appliers[my_applier];
	int			i;

	if (!failed)
	{
		me->aggregates++;
		me->keys_applied += nkeys;
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
		s->split = -1;
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

/* The pushes of a split, as a group with their headers in the ring. */
static void
split_group(PsSplit *sp, PsGroup *g)
{
	int			i;

	memset(g, 0, sizeof(PsGroup));
	g->ntasks = sp->ntasks;
	g->tasks = palloc(sizeof(PsTaskHeader *) * sp->ntasks);
	for (i = 0; i < sp->ntasks; i++)
		g->tasks[i] = (PsTaskHeader *) (ps_ring + sp->tasks[i]);
}

/*
 * Every part of split k is done: work out each push's outcome from the
 * parts' results, set the range clocks, and settle the pushes.  Called
 * without the queue lock by the one applier that finished the last part.
 */
static void
complete_split(int k)
{
	PsSplit    *sp = &ps_queue->splits[k];
	PsPartResult results[PS_MAX_APPLIERS];
	PsGroup		g;
	bool		failed = false;
	int			nkeys = 0,
				j;

	/* nobody changes the split now: it is done, and still in use */
	for (j = 0; j < sp->nparts; j++)
	{
		results[j] = sp->parts[j].result;
		failed |= results[j].failed;
		nkeys += results[j].nkeys;
	}
	split_group(sp, &g);
	ps_apply_outcomes(&g, results, sp->nparts);

	LWLockAcquire(ps_queue_lock, LW_EXCLUSIVE);
	settle_group(&g, failed, nkeys);
	sp->used = false;
	advance_head();
	LWLockRelease(ps_queue_lock);
	ConditionVariableBroadcast(&ps_queue->done_cv);
	ConditionVariableBroadcast(&ps_queue->space_cv);
}

/*
 * Apply part j of split k: its key range of every push of the group, with
 * its WAL flushed before it counts as done.  The applier that finishes the
 * last part completes the split.
 */
static void
apply_part(int k, int j, MemoryContext roundcxt)
{
	PsSplit    *sp = &ps_queue->splits[k];
	PsApplier  *me = &ps_queue->appliers[my_applier];
	PsGroup		g;
	XLogRecPtr	lsn;
	bool		last;

	split_group(sp, &g);
	g.lo = sp->parts[j].result.lo;
	g.hi = sp->parts[j].result.hi;
	lsn = ps_apply_group(&g, roundcxt);
	if (!XLogRecPtrIsInvalid(lsn))
		XLogFlush(lsn);

	LWLockAcquire(ps_queue_lock, LW_EXCLUSIVE);
	sp->parts[j].result = g.result;
	sp->parts[j].done = true;
	last = ++sp->ndone == sp->nparts;
	me->parts++;
	LWLockRelease(ps_queue_lock);
	if (last)
		complete_split(k);
}

/* The leader of a new split has written its time mark: open the parts. */
static void
open_split(int k)
{
	PsSplit    *sp = &ps_queue->splits[k];
	int			j;

	LWLockAcquire(ps_queue_lock, LW_EXCLUSIVE);
	for (j = 1; j < sp->nparts; j++)
		sp->parts[j].taker = PS_PART_OPEN;
	LWLockRelease(ps_queue_lock);
	for (j = 1; j < sp->nparts; j++)
		ps_queue_wake_applier();
}

/* A time mark ahead of WAL for these pushes (logged tables only). */
static void
mark_ahead(PsTaskHeader **tasks, int ntasks)
{
	int			i;

	for (i = 0; i < ntasks; i++)
		if (tasks[i]->persistence == RELPERSISTENCE_PERMANENT)
		{
			if (ps_mark_due(GetCurrentTimestamp(), 0))
				ps_mark_write();
			break;
		}
}

/*
 * One round: take work and do it.  Pushes taken are applied group by
 * group with one WAL flush for them all, and acknowledged; a large lone
 * group is split, this applier applying its first part; a part of another
 * applier's split is applied.  Returns false if there was nothing to take;
 * *until is when a group held back for the gather window is due (0: none).
 */
static bool
applier_round(MemoryContext roundcxt, TimestampTz *until)
{
	PsApplier  *me = &ps_queue->appliers[my_applier];
	PsTaskHeader *tasks[PS_MAX_ROUND];
	PsGroup    *groups;
	Work		work;
	int			ngroups = 0,
				i,
				j;
	XLogRecPtr	flush = InvalidXLogRecPtr;
	MemoryContext old;

	take_work(tasks, &work);
	*until = work.until;
	if (work.ntasks == 0 && work.split < 0)
		return false;
	if (work.more)
		ps_queue_wake_applier();
	old = MemoryContextSwitchTo(roundcxt);

	if (work.split >= 0)
	{
		if (work.new_split)
		{
			mark_ahead(tasks, work.ntasks);
			open_split(work.split);
			LWLockAcquire(ps_queue_lock, LW_EXCLUSIVE);
			me->rounds++;
			LWLockRelease(ps_queue_lock);
		}
		apply_part(work.split, work.part, roundcxt);
		ps_mark_serve();
		MemoryContextSwitchTo(old);
		MemoryContextReset(roundcxt);
		return true;
	}

	/* group by table and clock, keeping queue order */
	groups = palloc0(sizeof(PsGroup) * work.ntasks);
	for (i = 0; i < work.ntasks; i++)
	{
		for (j = 0; j < ngroups; j++)
			if (ps_apply_same_group(groups[j].tasks[0], tasks[i]))
				break;
		if (j == ngroups)
		{
			groups[j].tasks = palloc(sizeof(PsTaskHeader *) * work.ntasks);
			groups[j].lo = PG_INT64_MIN;
			groups[j].hi = PG_INT64_MAX;
			ngroups++;
		}
		groups[j].tasks[groups[j].ntasks++] = tasks[i];
	}

	mark_ahead(tasks, work.ntasks);

	/* apply each group in a transaction of its own */
	for (j = 0; j < ngroups; j++)
	{
		XLogRecPtr	lsn = ps_apply_group(&groups[j], roundcxt);

		flush = Max(flush, lsn);
		ps_apply_outcomes(&groups[j], &groups[j].result, 1);
		ps_mark_serve();		/* backends writing themselves wait for one */
	}

	/* durable before acknowledged */
	if (!XLogRecPtrIsInvalid(flush))
		XLogFlush(flush);

	LWLockAcquire(ps_queue_lock, LW_EXCLUSIVE);
	me->rounds++;
	for (j = 0; j < ngroups; j++)
		settle_group(&groups[j], groups[j].result.failed, groups[j].result.nkeys);
	advance_head();
	LWLockRelease(ps_queue_lock);
	ConditionVariableBroadcast(&ps_queue->done_cv);
	ConditionVariableBroadcast(&ps_queue->space_cv);

	MemoryContextSwitchTo(old);
	MemoryContextReset(roundcxt);
	return true;
}

/* The error of a push an applier was applying when it exited. */
static void
exited_error(PsError *e)
{
	memset(e, 0, sizeof(PsError));
	e->sqlerrcode = ERRCODE_OPERATOR_INTERVENTION;
	strlcpy(e->message, "the ps scheduler exited while applying this push", PS_ERROR_LEN);
	strlcpy(e->detail, "The push may be partly applied.", PS_ERROR_LEN);
}

/*
 * Under the queue lock: the pushes a previous run of this applier had
 * taken when it exited may be partly applied: fail them rather than apply
 * them twice, and give their room in the queue back.  The parts of split
 * groups it was applying (or, as their leader, had not opened yet) fail
 * the same way; the splits so finished are returned in done[] (their
 * number), to be completed without the lock.
 */
static int
fail_previous_run(int *done)
{
	uint64		pos;
	int			ndone = 0,
				i,
				j;

	for (i = 0; i < MaxBackends; i++)
	{
		PsSlot	   *s = &ps_queue->slots[i];

		if (s->status == PS_SLOT_APPLYING && s->applier == my_applier && s->split < 0)
		{
			s->status = s->abandoned ? PS_SLOT_IDLE : PS_SLOT_FAILED;
			s->applier = -1;
			exited_error(&s->error);
		}
	}
	for (i = 0; i < PS_MAX_SPLITS; i++)
	{
		PsSplit    *sp = &ps_queue->splits[i];
		bool		mine = false;

		if (!sp->used)
			continue;
		for (j = 0; j < sp->nparts; j++)
		{
			PsPart	   *p = &sp->parts[j];

			if (p->done || !(p->taker == my_applier ||
							 (p->taker == PS_PART_CLOSED && sp->leader == my_applier)))
				continue;
			p->done = true;
			p->result.failed = p->result.unknown = true;
			p->result.complete = false;
			p->result.stop = p->result.lo;
			exited_error(&p->result.error);
			sp->ndone++;
			mine = true;
		}
		if (mine && sp->ndone == sp->nparts)
			done[ndone++] = i;
	}
	for (pos = ps_queue->head; pos < ps_queue->tail;)
	{
		PsTaskHeader *h = entry_at(&pos);

		if (pos >= ps_queue->tail)
			break;
		pos += h->len;
		if (!h->skip && h->taken_by == my_applier && !h->done &&
			ps_queue->slots[h->slot].split < 0)
			h->done = true;
	}
	advance_head();
	return ndone;
}

void
ps_scheduler_main(Datum arg)
{
	PsApplier  *me;
	MemoryContext roundcxt;
	TimestampTz last_prune = GetCurrentTimestamp();
	TimestampTz now;
	bool		busy;
	int			splits_done[PS_MAX_SPLITS];
	int			nsplits,
				i;

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
	nsplits = fail_previous_run(splits_done);
	me->pid = MyProcPid;
	me->latch = MyLatch;
	ps_queue->running++;
	LWLockRelease(ps_queue_lock);
	before_shmem_exit(applier_exit, (Datum) 0);
	for (i = 0; i < nsplits; i++)
		complete_split(splits_done[i]);
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
		pg_atomic_write_u32(&me->working, 0);
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
