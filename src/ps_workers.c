/*-------------------------------------------------------------------------
 *
 * ps_workers.c
 *	  Training workers of a ps table: ps_join, ps_leave, ps_workers,
 *	  heartbeats, worker clocks, and the waits of the consistency models.
 *
 * A worker joins a table and gets an id; its clock starts at the clock of
 * the slowest live worker (0 for the first).  Every push and pull a worker
 * makes names the clock (iteration) it belongs to and counts as a
 * heartbeat.  A call for clock c means the worker is done with clock c - 1:
 * its pushes for it were applied before the call was made, so the worker's
 * clock becomes c - 1.  Clocks never go backwards.
 *
 * A pull for clock c waits, under
 *	  sequential consistency, until every live worker is at clock c - 1;
 *	  bounded delay max_delay (tau), until every live worker is at c - 1 - tau;
 *	  eventual consistency, never.
 * A worker silent for longer than ps.worker_timeout is dropped and no
 * longer holds anyone back; if it comes back it is told so and may join
 * again.  Waits sleep on the table's condition variable (wait event
 * "Extension"), wake at least once a second to drop silent workers, can be
 * cancelled, and give up after ps.wait_timeout.
 *
 * All of this lives in the table's entry of shared state (ps_state.c),
 * under its spinlock.  It is not persistent: after a server restart,
 * workers join again.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xlog.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/condition_variable.h"
#include "utils/builtins.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "ps.h"
#include "ps_config.h"
#include "ps_state.h"
#include "ps_workers.h"

int			ps_worker_timeout = 60;
int			ps_wait_timeout = 60000;
int			ps_max_workers = 64;

static PsWorker *
find_worker(PsTableState *st, int32 id)
{
	int			i;

	for (i = 0; i < ps_max_workers; i++)
		if (st->workers[i].state != PS_WORKER_FREE && st->workers[i].id == id)
			return &st->workers[i];
	return NULL;
}

/*
 * Drop the workers silent longer than ps.worker_timeout (but not except).
 * Caller holds the entry's mutex.  Returns whether any was dropped.
 */
static bool
expire_workers(PsTableState *st, TimestampTz now, int32 except)
{
	bool		dropped = false;
	int			i;

	if (ps_worker_timeout <= 0)
		return false;
	for (i = 0; i < ps_max_workers; i++)
	{
		PsWorker   *w = &st->workers[i];

		if (w->state == PS_WORKER_ACTIVE && w->id != except &&
			TimestampDifferenceExceeds(w->last_seen, now, ps_worker_timeout * 1000))
		{
			w->state = PS_WORKER_DROPPED;
			st->nactive--;
			dropped = true;
		}
	}
	return dropped;
}

/* The slowest live worker's clock, and who it is (-1, 0 if none). */
static int64
slowest(PsTableState *st, int32 *who)
{
	int64		min = -1;
	int			i;

	*who = 0;
	for (i = 0; i < ps_max_workers; i++)
	{
		PsWorker   *w = &st->workers[i];

		if (w->state == PS_WORKER_ACTIVE && (min < 0 || w->clock < min))
		{
			min = w->clock;
			*who = w->id;
		}
	}
	return min;
}

/*
 * Raise the error for a worker id that cannot make calls; state is the
 * worker's state (FREE: unknown).
 */
static void
bad_worker(Relation rel, int32 id, int state)
{
	if (state == PS_WORKER_DROPPED)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("worker %d of ps table \"%s\" was dropped after more than %d s without a call",
						id, RelationGetRelationName(rel), ps_worker_timeout),
				 errdetail("A dropped worker no longer holds back the other workers' pulls."),
				 errhint("Call ps_join('%s') again for a new worker id.",
						 RelationGetRelationName(rel))));
	if (state == PS_WORKER_LEFT)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("worker %d of ps table \"%s\" has left", id,
						RelationGetRelationName(rel)),
				 errhint("Call ps_join('%s') again for a new worker id.",
						 RelationGetRelationName(rel))));
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("ps table \"%s\" has no worker %d", RelationGetRelationName(rel), id),
			 errhint("Worker ids come from ps_join('%s'); they do not survive a server restart.",
					 RelationGetRelationName(rel))));
}

static void
check_not_recovery(void)
{
	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("workers cannot train on a standby"),
				 errhint("Join, push and pull as a worker on the primary; plain pulls work on a standby.")));
}

/*
 * Join a table's workers; returns the new worker's id.
 */
int32
ps_workers_join(Relation rel)
{
	const PsConfig *cfg = ps_config_get(rel);
	TimestampTz now = GetCurrentTimestamp();
	PsTableState *st;
	PsWorker   *slot = NULL;
	int32		who;
	int32		id;
	int64		start;
	int			i;

	check_not_recovery();
	st = ps_state_acquire(rel, cfg);
	SpinLockAcquire(&st->mutex);
	expire_workers(st, now, 0);
	/* a free slot, else the one that left or was dropped longest ago */
	for (i = 0; i < ps_max_workers; i++)
	{
		PsWorker   *w = &st->workers[i];

		if (w->state == PS_WORKER_FREE)
		{
			slot = w;
			break;
		}
		if (w->state != PS_WORKER_ACTIVE &&
			(slot == NULL || w->last_seen < slot->last_seen))
			slot = w;
	}
	if (slot == NULL)
	{
		SpinLockRelease(&st->mutex);
		ps_state_release();
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("ps table \"%s\" has %d live workers, as many as ps.max_workers allows",
						RelationGetRelationName(rel), ps_max_workers),
				 errhint("Let finished workers call ps_leave, or raise ps.max_workers and restart.")));
	}
	start = slowest(st, &who);
	if (start < 0)
		start = 0;
	id = st->next_worker_id++;
	slot->id = id;
	slot->state = PS_WORKER_ACTIVE;
	slot->clock = start;
	slot->position = start;
	slot->last_seen = now;
	slot->pid = MyProcPid;
	st->nactive++;
	SpinLockRelease(&st->mutex);
	ps_state_release();
	return id;
}

/*
 * A call of worker id without a clock: a heartbeat, and if leave, the
 * worker leaves (it no longer holds anyone back).  Errors if the worker
 * cannot make calls.
 */
static void
touch_worker(Relation rel, int32 id, bool leave)
{
	TimestampTz now = GetCurrentTimestamp();
	PsTableState *st;
	PsWorker   *w;
	int			state = PS_WORKER_FREE;

	check_not_recovery();
	st = ps_state_acquire(rel, ps_config_get(rel));
	SpinLockAcquire(&st->mutex);
	w = find_worker(st, id);
	if (w && w->state == PS_WORKER_ACTIVE)
	{
		w->last_seen = now;
		w->pid = MyProcPid;
		if (leave)
		{
			w->state = PS_WORKER_LEFT;
			st->nactive--;
		}
	}
	else if (w)
		state = w->state;
	SpinLockRelease(&st->mutex);
	if (leave && w && state == PS_WORKER_FREE)
		ConditionVariableBroadcast(&st->cv);
	ps_state_release();
	if (w == NULL || state != PS_WORKER_FREE)
		bad_worker(rel, id, w ? state : PS_WORKER_FREE);
}

/* A worker leaves: it no longer holds anyone back. */
void
ps_workers_leave(Relation rel, int32 id)
{
	touch_worker(rel, id, true);
}

/*
 * Wait until the consistency model lets worker id read for clock.
 */
static void
wait_for_clock(Relation rel, int32 id, int64 clock)
{
	const PsConfig *cfg = ps_config_get(rel);
	TimestampTz start = GetCurrentTimestamp();
	bool		counted = false;

	PG_TRY();
	{
		for (;;)
		{
			TimestampTz now = GetCurrentTimestamp();
			PsTableState *st = ps_state_acquire(rel, cfg);
			ConditionVariable *cv = &st->cv;
			PsWorker   *w;
			int			state = PS_WORKER_FREE;
			int64		need = 0,
						min = 0;
			int32		who = 0;
			bool		ready,
						dropped;

			SpinLockAcquire(&st->mutex);
			w = find_worker(st, id);
			if (w && w->state == PS_WORKER_ACTIVE)
			{
				w->last_seen = now; /* waiting is a sign of life */
				dropped = expire_workers(st, now, id);
				need = clock - 1 - (st->consistency == PS_BOUNDED ? st->max_delay : 0);
				min = slowest(st, &who);
				ready = st->consistency == PS_EVENTUAL || min >= need;
				if (!ready && !counted)
				{
					st->nwaiting++;
					counted = true;
				}
			}
			else
			{
				if (w)
					state = w->state;
				ready = dropped = false;
			}
			SpinLockRelease(&st->mutex);
			if (dropped)
				ConditionVariableBroadcast(cv);
			ps_state_release();

			if (w == NULL || state != PS_WORKER_FREE)
				bad_worker(rel, id, w ? state : PS_WORKER_FREE);
			if (ready)
				break;
			if (ps_wait_timeout > 0 &&
				TimestampDifferenceExceeds(start, now, ps_wait_timeout))
				ereport(ERROR,
						(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
						 errmsg("pull for clock " INT64_FORMAT " of ps table \"%s\" waited longer than ps.wait_timeout (%d ms)",
								clock, RelationGetRelationName(rel), ps_wait_timeout),
						 errdetail("Worker %d is at clock " INT64_FORMAT "; the consistency model needs every live worker at clock " INT64_FORMAT ".",
								   who, min, need),
						 errhint("A worker that stopped is dropped after ps.worker_timeout (%d s); raise ps.wait_timeout, or allow a larger max_delay.",
								 ps_worker_timeout)));
			{
				long		sleep_ms = 1000;

				if (ps_wait_timeout > 0)
				{
					long		left = ps_wait_timeout -
						(long) ((now - start) / 1000);

					if (left < sleep_ms)
						sleep_ms = Max(left, 1);
				}
				ConditionVariableTimedSleep(cv, sleep_ms, PG_WAIT_EXTENSION);
			}
		}
		ConditionVariableCancelSleep();
	}
	PG_CATCH();
	{
		ConditionVariableCancelSleep();
		if (counted)
		{
			PsTableState *st = ps_state_acquire(rel, cfg);

			SpinLockAcquire(&st->mutex);
			st->nwaiting--;
			SpinLockRelease(&st->mutex);
			ps_state_release();
		}
		PG_RE_THROW();
	}
	PG_END_TRY();

	if (counted)
	{
		PsTableState *st = ps_state_acquire(rel, cfg);

		SpinLockAcquire(&st->mutex);
		st->nwaiting--;
		SpinLockRelease(&st->mutex);
		ps_state_release();
	}
}

/*
 * A call (push or pull) of worker id for clock: heartbeat, clock checks,
 * the worker's clock moves to clock - 1; a pull then waits as the
 * consistency model says.
 */
void
ps_workers_call(Relation rel, int32 id, int64 clock, PsWorkerCall call)
{
	const PsConfig *cfg = ps_config_get(rel);
	TimestampTz now = GetCurrentTimestamp();
	PsTableState *st;
	PsWorker   *w;
	int			state = PS_WORKER_FREE;
	int64		position = 0;
	bool		advanced = false;
	bool		backwards = false;

	check_not_recovery();
	if (clock < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("clock " INT64_FORMAT " is negative", clock),
				 errhint("Clocks count iterations from 0.")));

	st = ps_state_acquire(rel, cfg);
	SpinLockAcquire(&st->mutex);
	w = find_worker(st, id);
	if (w && w->state == PS_WORKER_ACTIVE)
	{
		w->last_seen = now;
		w->pid = MyProcPid;
		if (clock < w->position)
		{
			backwards = true;
			position = w->position;
		}
		else
		{
			w->position = clock;
			if (clock - 1 > w->clock)
			{
				w->clock = clock - 1;
				advanced = true;
			}
		}
	}
	else if (w)
		state = w->state;
	SpinLockRelease(&st->mutex);
	if (advanced)
		ConditionVariableBroadcast(&st->cv);
	ps_state_release();

	if (w == NULL || state != PS_WORKER_FREE)
		bad_worker(rel, id, w ? state : PS_WORKER_FREE);
	if (backwards)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("clock of worker %d of ps table \"%s\" would go backwards from " INT64_FORMAT " to " INT64_FORMAT,
						id, RelationGetRelationName(rel), position, clock),
				 errhint("Pass the clock (iteration) the call belongs to; it may stay the same or grow.")));
	if (call == PS_CALL_PULL)
		wait_for_clock(rel, id, clock);
}

/*
 * A call of worker id that names no clock: a heartbeat; errors if the
 * worker cannot make calls.
 */
void
ps_workers_check(Relation rel, int32 id)
{
	touch_worker(rel, id, false);
}

/*
 * The consistency model changed from (old, old_delay): waiting pulls
 * re-check at once, when the change commits.
 */
void
ps_workers_set_consistency(Relation rel, PsConsistency c, int max_delay,
						   PsConsistency old, int old_delay)
{
	ps_state_consistency_at_commit(RelationGetRelid(rel), c, max_delay,
								   old, old_delay);
}

static const char *const state_names[] = {"free", "active", "left", "dropped"};

/*
 * Rows for ps_workers(tbl): worker, state, clock, last_seen, pid.
 */
void
ps_workers_list(Relation rel, Tuplestorestate *ts, TupleDesc desc)
{
	PsTableState *st = ps_state_acquire(rel, ps_config_get(rel));
	PsWorker   *copy = palloc(sizeof(PsWorker) * ps_max_workers);
	bool		dropped;
	int			i;

	TimestampTz now = GetCurrentTimestamp();

	SpinLockAcquire(&st->mutex);
	dropped = expire_workers(st, now, 0);
	memcpy(copy, st->workers, sizeof(PsWorker) * ps_max_workers);
	SpinLockRelease(&st->mutex);
	if (dropped)
		ConditionVariableBroadcast(&st->cv);
	ps_state_release();

	for (i = 0; i < ps_max_workers; i++)
	{
		Datum		values[5];
		bool		nulls[5] = {false, false, false, false, false};

		if (copy[i].state == PS_WORKER_FREE)
			continue;
		values[0] = Int32GetDatum(copy[i].id);
		values[1] = CStringGetTextDatum(state_names[copy[i].state]);
		values[2] = Int64GetDatum(copy[i].clock);
		values[3] = TimestampTzGetDatum(copy[i].last_seen);
		values[4] = Int32GetDatum(copy[i].pid);
		tuplestore_putvalues(ts, desc, values, nulls);
	}
}
