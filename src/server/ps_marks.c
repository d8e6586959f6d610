/*-------------------------------------------------------------------------
 *
 * ps_marks.c
 *	  Time marks: timestamped commit records ahead of ps changes in WAL, so
 *	  that recovery to a point in time and delayed standbys place pushes.
 *
 * PostgreSQL stops recovery at recovery_target_time, and holds back a
 * standby's replay for recovery_min_apply_delay, only at commit records,
 * and ps changes write none: without help, a restore to a point in time
 * would keep every push after it, and a delayed standby would show pushes
 * at once.  So a commit record stamped with the current time, a "time
 * mark" (an empty transaction with an xid, committed by the scheduler),
 * goes into WAL ahead of ps changes: ahead of every scheduler round (or
 * when the last mark is older than ps.time_mark_interval, if that is
 * set), and when the last mark is older than 1 ms (or the interval)
 * ahead of changes a backend writes itself (pushes the scheduler does not
 * take, INSERT, COPY), which ask the scheduler for one and wait.  Recovery
 * to time T then stops at the first mark after T, before the changes
 * that follow it; a delayed standby holds them back with it.  A mark costs
 * one xid and a commit record; it is committed asynchronously, the flush
 * of the round (or of the push) that follows makes it durable.  Nothing
 * is marked when wal_level is minimal (no archive, no standby), or when
 * ps.time_mark_interval is -1.
 *
 * Layer 7 (training services): backends ask (ps_mark_request), the
 * scheduler writes (ps_mark_write, ps_mark_serve); both meet in the
 * queue's shared memory.  A mark must never hold a write back for long,
 * nor fail one: marks are for recovery by time only.
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

#include "ps_base.h"
#include "ps_marks.h"
#include "ps_queue_int.h"
#include "ps_table.h"

/* Is a mark due before ps WAL written now?  floor_ms: shortest interval. */
bool
ps_mark_due(TimestampTz now, int floor_ms)
{
	int			interval = Max(ps_time_mark_interval, floor_ms);

	if (ps_time_mark_interval < 0 || !XLogIsNeeded())
		return false;
	return interval == 0 ||
		TimestampDifferenceExceeds((TimestampTz) pg_atomic_read_u64(&ps_queue->last_mark),
								   now, interval);
}

/*
 * The scheduler writes a time mark.  Marks are for recovery by time only:
 * if one cannot be written (PostgreSQL refuses new transaction ids near
 * wraparound), the pushes go on without it, and a warning says so, at most
 * once a minute.
 */
void
ps_mark_write(void)
{
	static TimestampTz last_warning = 0;
	TimestampTz now = GetCurrentTimestamp();
	MemoryContext cxt = CurrentMemoryContext;

	PG_TRY();
	{
		StartTransactionCommand();
		(void) GetTopTransactionId();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		if (TimestampDifferenceExceeds(last_warning, now, 60 * 1000))
		{
			ereport(WARNING,
					(errcode(edata->sqlerrcode),
					 errmsg("ps scheduler could not write a time mark: %s", edata->message),
					 errdetail("Pushes go on; recovery to a point in time may place them at an earlier commit record."),
					 edata->hint ? errhint("%s", edata->hint) : 0));
			last_warning = now;
		}
		FreeErrorData(edata);
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	pg_atomic_write_u64(&ps_queue->last_mark, (uint64) now);
}

/* An applier serves the marks backends asked for. */
void
ps_mark_serve(void)
{
	uint64		requested;

	LWLockAcquire(ps_queue_lock, LW_SHARED);
	requested = ps_queue->marks_requested;
	LWLockRelease(ps_queue_lock);
	if (requested <= ps_queue->marks_written)
		return;
	ps_mark_write();
	/* another applier may have served later requests meanwhile */
	LWLockAcquire(ps_queue_lock, LW_EXCLUSIVE);
	ps_queue->marks_written = Max(ps_queue->marks_written, requested);
	LWLockRelease(ps_queue_lock);
	ConditionVariableBroadcast(&ps_queue->done_cv);
}

/*
 * A backend is about to write ps changes to rel itself: make sure a time
 * mark precedes them.  Waits for the scheduler, 50 ms at most (it serves
 * requests between the groups of a round, so it answers within one
 * group's apply); goes on without a mark if none runs or the wait runs
 * out (recovery by time then places the changes at the commit record
 * before them): a write never waits long for a mark.  Storage created in
 * this transaction needs none: it exists only once the transaction's own
 * commit record does.
 */
void
ps_mark_request(Relation rel)
{
	uint64		ticket;
	TimestampTz start;

	if (ps_queue == NULL || !RelationNeedsWAL(rel) || ps_storage_is_new(rel) ||
		!ps_mark_due(GetCurrentTimestamp(), 1))
		return;
	LWLockAcquire(ps_queue_lock, LW_EXCLUSIVE);
	if (ps_queue->running == 0)
	{
		LWLockRelease(ps_queue_lock);
		return;
	}
	ticket = ++ps_queue->marks_requested;
	LWLockRelease(ps_queue_lock);
	ps_queue_wake_applier();
	start = GetCurrentTimestamp();
	for (;;)
	{
		bool		done;

		LWLockAcquire(ps_queue_lock, LW_SHARED);
		done = ps_queue->marks_written >= ticket || ps_queue->running == 0;
		LWLockRelease(ps_queue_lock);
		if (done || TimestampDifferenceExceeds(start, GetCurrentTimestamp(), 50))
			break;
		ConditionVariableTimedSleep(&ps_queue->done_cv, 10, PG_WAIT_EXTENSION);
	}
	ConditionVariableCancelSleep();
}
