/*-------------------------------------------------------------------------
 *
 * ps_workers.c
 *	  Training workers of a ps table: joining, leaving, heartbeats, worker
 *	  clocks, and the waits of the consistency models (for ps_join,
 *	  ps_leave, ps_workers and the worker calls of ps_sql_*.c).
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
 * cancelled, and give up after ps.wait_timeout.  A waiting pull holds its
 * transaction's locks (on the ps table and on whatever else it read), so
 * a DROP, TRUNCATE or ALTER TABLE queued behind one of them holds up the
 * awaited workers' calls that need that lock: the deadlock detector
 * cannot see it, as the pull waits on a condition variable, so a pull
 * that sees a lock request wait for its transaction for longer than
 * deadlock_timeout fails with SQLSTATE 40P01.
 *
 * A worker belongs to the role that joined it: changing its state (its
 * clock, its heartbeat, leaving) needs what joining needs, UPDATE on the
 * table (checked by the SQL functions), and the privileges of that role;
 * the table's owner may also make any worker leave.
 *
 * All of this lives in the table's entry of shared state (ps_state.c),
 * under its spinlock.  It is not persistent: after a server restart,
 * workers join again.
 *
 * Layer 7 (training services): workers and the consistency models'
 * waits; calls the shared state and the configuration.  A configuration
 * change reaches waiting pulls through the shared state, not through
 * here.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/twophase.h"
#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/condition_variable.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "storage/ipc.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "utils/acl.h"
#include "utils/array.h"

#include "utils/builtins.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "ps_base.h"
#include "ps_config.h"
#include "ps_state.h"
#include "ps_workers.h"


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
 * Under st's mutex: the worker id that a call may act as, with its
 * heartbeat (last_seen, pid) taken.  NULL if it may not: *state says the
 * worker's state if it cannot make calls (FREE: unknown), *role the role
 * it belongs to if that is not the caller's, me (trusted: the caller may
 * act as any worker of the table).
 */
static PsWorker *
claim_worker(PsTableState *st, int32 id, Oid me, bool trusted,
			 TimestampTz now, int *state, Oid *role)
{
	PsWorker   *w = find_worker(st, id);

	*state = PS_WORKER_FREE;
	*role = InvalidOid;
	if (w == NULL)
		return NULL;
	if (w->state != PS_WORKER_ACTIVE)
	{
		*state = w->state;
		return NULL;
	}
	if (!trusted && w->role != me)
	{
		*role = w->role;
		return NULL;
	}
	w->last_seen = now;
	w->pid = MyProcPid;
	return w;
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
 * May the current user act as worker id, which role joined?  A worker's
 * calls move its clock and its heartbeat, which every other worker of the
 * table waits on, so only the role that joined it (and roles that have its
 * privileges) may make them.  Looks at the catalogs: never call it with
 * ps_state_lock held.
 */
static void
check_acts_as(Relation rel, int32 id, Oid role)
{
	const char *name;

	if (has_privs_of_role(GetUserId(), role))
		return;
	name = GetUserNameFromId(role, true);
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("worker %d of ps table \"%s\" belongs to role \"%s\"",
					id, RelationGetRelationName(rel),
					name ? name : psprintf("%u", role)),
			 errdetail("A worker's calls move its clock, which the other workers of the table wait on."),
			 errhint("Make the worker's calls as the role that joined it, or join a worker of your own with ps_join('%s').",
					 RelationGetRelationName(rel))));
}

/*
 * Join a table's workers; returns the new worker's id.  The worker starts
 * at clock `at`, or (at < 0) at the slowest live worker's clock, 0 if
 * none.  The caller has UPDATE on the table.  Joining may take a new
 * entry of shared state for the table, so it is bounded per role
 * (ps_state_check_join).
 */
int32
ps_workers_join(Relation rel, int64 at)
{
	const PsConfig *cfg = ps_config_get(rel);
	TimestampTz now = GetCurrentTimestamp();
	Oid			role = GetUserId();
	bool		su = superuser();
	PsTableState *st;
	PsWorker   *slot = NULL;
	int32		who;
	int32		id;
	int64		start;
	int			i;

	check_not_recovery();
	st = ps_state_acquire_exclusive(rel, cfg);
	ps_state_check_join(rel, st, role, su);
	SpinLockAcquire(&st->mutex);
	ps_state_expire_workers(st, now, 0);
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
				 errhint("Let finished workers call ps_leave (the table's owner may make any worker leave), or raise ps.max_workers and restart.")));
	}
	start = at >= 0 ? at : slowest(st, &who);
	if (start < 0)
		start = 0;
	id = st->next_worker_id++;
	slot->id = id;
	slot->state = PS_WORKER_ACTIVE;
	slot->clock = start;
	slot->position = start;
	slot->pushed = -1;
	slot->last_seen = now;
	slot->joined = now;
	slot->role = role;
	slot->pid = MyProcPid;
	st->nactive++;
	SpinLockRelease(&st->mutex);
	ps_state_release();
	return id;
}

/*
 * A call of worker id without a clock: a heartbeat, and if leave, the
 * worker leaves (it no longer holds anyone back).  Errors if the worker
 * cannot make calls, or is not the current user's to make (unless
 * trusted: the table's owner may make any worker leave).
 */
static void
touch_worker(Relation rel, int32 id, bool leave, bool trusted)
{
	TimestampTz now = GetCurrentTimestamp();
	Oid			me = GetUserId();

	check_not_recovery();
	for (;;)
	{
		PsTableState *st = ps_state_acquire(rel, ps_config_get(rel));
		PsWorker   *w;
		int			state;
		Oid			role;

		SpinLockAcquire(&st->mutex);
		w = claim_worker(st, id, me, trusted, now, &state, &role);
		if (w && leave)
		{
			w->state = PS_WORKER_LEFT;
			st->nactive--;
		}
		SpinLockRelease(&st->mutex);
		if (w && leave)
			ConditionVariableBroadcast(&st->cv);
		ps_state_release();

		if (w == NULL && !OidIsValid(role))
			bad_worker(rel, id, state);
		if (!OidIsValid(role))
			return;
		check_acts_as(rel, id, role);
		trusted = true;
	}
}

/*
 * A worker leaves: it no longer holds anyone back.  owner: the caller owns
 * the table, and may make any worker leave.
 */
void
ps_workers_leave(Relation rel, int32 id, bool owner)
{
	touch_worker(rel, id, true, owner);
}

/*
 * Is something this pull waits for stuck behind this transaction's locks?
 * The pull waits on a condition variable, not on a lock, so PostgreSQL's
 * deadlock detector cannot see such a cycle; this looks for it.  Two kinds
 * of process count (start, the candidates):
 *
 * - a process waiting for a lock on the ps table itself: the awaited
 *   workers' next calls on the table queue behind such a request (a
 *   TRUNCATE, DROP, ALTER TABLE or ps_check), as every new request that
 *   conflicts with a queued one does;
 * - the session of an awaited worker's last call (pids), wherever it waits:
 *   behind an ALTER TABLE of a feature table the pull's transaction read,
 *   or for an advisory lock it holds.
 *
 * A candidate is stuck behind us if this backend is among the processes
 * that block it, directly or through others (pg_blocking_pids, followed
 * transitively).  A process that waits for one of our locks while no
 * awaited worker waits behind it (an unrelated session wanting an
 * advisory lock, a row we updated) is no deadlock, and does not count.
 * Returns the process that waits for our lock on the way, 0 if none.
 */
static int
pull_blocks_itself(Relation rel, const int32 *pids, int npids)
{
	LOCKTAG		table;
	int		   *queue;
	int			nqueue = 0;
	int			head;
	int			maxqueue = MaxBackends + max_prepared_xacts + npids + 1;
	uint32		i;

	SET_LOCKTAG_RELATION(table, MyDatabaseId, RelationGetRelid(rel));
	queue = palloc(sizeof(int) * maxqueue);

	/*
	 * Candidates.  Another process's waitLock is read without its
	 * partition lock: at worst a candidate too many, which
	 * pg_blocking_pids, taking every partition lock, then clears.
	 */
	for (i = 0; i < ProcGlobal->allProcCount && nqueue < maxqueue; i++)
	{
		PGPROC	   *proc = &ProcGlobal->allProcs[i];
		LOCK	   *wait = proc->waitLock;

		if (proc != MyProc && wait != NULL && proc->pid != 0 &&
			memcmp(&wait->tag, &table, sizeof(LOCKTAG)) == 0)
			queue[nqueue++] = proc->pid;
	}
	for (i = 0; i < (uint32) npids && nqueue < maxqueue; i++)
	{
		PGPROC	   *proc = pids[i] != MyProcPid ? BackendPidGetProc(pids[i]) : NULL;

		if (proc != NULL && proc->waitLock != NULL)
			queue[nqueue++] = pids[i];
	}

	/* who blocks them, and who blocks those: is it us? */
	for (head = 0; head < nqueue; head++)
	{
		ArrayType  *arr;
		Datum	   *elems;
		int			nelems;
		int			j;

		arr = DatumGetArrayTypeP(DirectFunctionCall1(pg_blocking_pids,
													 Int32GetDatum(queue[head])));
		deconstruct_array(arr, INT4OID, sizeof(int32), true, TYPALIGN_INT,
						  &elems, NULL, &nelems);
		for (j = 0; j < nelems; j++)
		{
			int			pid = DatumGetInt32(elems[j]);
			int			k;

			if (pid == MyProcPid)
				return queue[head];
			for (k = 0; k < nqueue && queue[k] != pid; k++)
				;
			if (k == nqueue && nqueue < maxqueue)
				queue[nqueue++] = pid;
		}
	}
	return 0;
}

/*
 * The waiting pull's entry of shared state counts it (nwaiting, which
 * keeps the entry, and so its condition variable, from being given up).
 * A pull ended by FATAL (pg_terminate_backend) never reaches its
 * PG_CATCH: this exit callback takes the count back.
 */
static Oid	waiting_relid = InvalidOid;

static void
uncount_waiter(Oid relid)
{
	PsTableState *st = ps_state_lookup(MyDatabaseId, relid);

	if (st == NULL)
		return;
	SpinLockAcquire(&st->mutex);
	if (st->nwaiting > 0)
		st->nwaiting--;
	SpinLockRelease(&st->mutex);
	ps_state_release();
}

static void
waiter_exit(int code, Datum arg)
{
	if (OidIsValid(waiting_relid))
	{
		ConditionVariableCancelSleep();
		uncount_waiter(waiting_relid);
		waiting_relid = InvalidOid;
	}
}

/*
 * Wait until the consistency model lets worker id read for clock.
 */
static void
wait_for_clock(Relation rel, int32 id, int64 clock)
{
	static bool exit_callback = false;
	const PsConfig *cfg = ps_config_get(rel);
	TimestampTz start = GetCurrentTimestamp();
	TimestampTz blocked_since = 0;
	int32	   *pids = palloc(sizeof(int32) * ps_max_workers);
	MemoryContext checkcxt = AllocSetContextCreate(CurrentMemoryContext,
												   "ps pull deadlock check",
												   ALLOCSET_SMALL_SIZES);
	MemoryContext oldcxt;

	if (!exit_callback)
	{
		before_shmem_exit(waiter_exit, (Datum) 0);
		exit_callback = true;
	}

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
			int			npids = 0;
			bool		ready,
						dropped;

			SpinLockAcquire(&st->mutex);
			w = find_worker(st, id);
			if (w && w->state == PS_WORKER_ACTIVE)
			{
				w->last_seen = now; /* waiting is a sign of life */
				dropped = ps_state_expire_workers(st, now, id);
				need = clock - 1 - (st->consistency == PS_BOUNDED ? st->max_delay : 0);
				min = slowest(st, &who);
				ready = st->consistency == PS_EVENTUAL || min >= need;
				if (!ready)
				{
					int			i;

					/* the sessions of the awaited workers' last calls */
					for (i = 0; i < ps_max_workers; i++)
						if (st->workers[i].state == PS_WORKER_ACTIVE &&
							st->workers[i].clock < need &&
							st->workers[i].pid != 0)
							pids[npids++] = st->workers[i].pid;
				}
				if (!ready && !OidIsValid(waiting_relid))
				{
					st->nwaiting++;
					waiting_relid = RelationGetRelid(rel);
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

			/*
			 * Something the pull waits for stuck behind this transaction
			 * for longer than deadlock_timeout: give up, as the deadlock
			 * detector would.
			 */
			{
				int			blocked;

				MemoryContextReset(checkcxt);
				oldcxt = MemoryContextSwitchTo(checkcxt);
				blocked = pull_blocks_itself(rel, pids, npids);
				MemoryContextSwitchTo(oldcxt);
				if (blocked == 0)
					blocked_since = 0;
				else if (blocked_since == 0)
					blocked_since = now;
				else if (TimestampDifferenceExceeds(blocked_since, now, DeadlockTimeout))
					ereport(ERROR,
							(errcode(ERRCODE_T_R_DEADLOCK_DETECTED),
							 errmsg("deadlock detected: pull for clock " INT64_FORMAT " of ps table \"%s\" waits for worker %d, and process %d waits for a lock this pull's transaction holds",
									clock, RelationGetRelationName(rel), who, blocked),
							 errdetail("Process %d waits for a lock that conflicts with one of this transaction's (a DROP, TRUNCATE or ALTER TABLE, say), and an awaited worker's call, or its session, waits behind it: the pull would wait for itself.",
									   blocked),
							 errhint("Retry the pull when the other statement is done.")));
			}
			{
				long		sleep_ms = Min(1000, Max(DeadlockTimeout / 2, 10));

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
		if (OidIsValid(waiting_relid))
		{
			uncount_waiter(waiting_relid);
			waiting_relid = InvalidOid;
		}
		PG_RE_THROW();
	}
	PG_END_TRY();
	MemoryContextDelete(checkcxt);
	pfree(pids);

	if (OidIsValid(waiting_relid))
	{
		uncount_waiter(waiting_relid);
		waiting_relid = InvalidOid;
	}
}

/*
 * A call (push or pull) of worker id for clock: heartbeat, clock checks,
 * the worker's clock moves to clock - 1; a pull then waits as the
 * consistency model says.  The caller has UPDATE on the table; the worker
 * must be the current user's (check_acts_as).
 */
void
ps_workers_call(Relation rel, int32 id, int64 clock, PsWorkerCall call)
{
	const PsConfig *cfg = ps_config_get(rel);
	TimestampTz now = GetCurrentTimestamp();
	Oid			me = GetUserId();
	bool		trusted = false;

	check_not_recovery();
	if (clock < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("clock " INT64_FORMAT " is negative", clock),
				 errhint("Clocks count iterations from 0.")));

	for (;;)
	{
		PsTableState *st = ps_state_acquire(rel, cfg);
		PsWorker   *w;
		int			state;
		int64		position = 0;
		bool		advanced = false;
		bool		backwards = false;
		Oid			role;

		SpinLockAcquire(&st->mutex);
		w = claim_worker(st, id, me, trusted, now, &state, &role);
		if (w && clock < w->position)
		{
			backwards = true;
			position = w->position;
		}
		else if (w)
		{
			w->position = clock;
			if (call == PS_CALL_PUSH)
				w->pushed = Max(w->pushed, clock);
			if (clock - 1 > w->clock)
			{
				w->clock = clock - 1;
				advanced = true;
			}
		}
		SpinLockRelease(&st->mutex);
		if (advanced)
			ConditionVariableBroadcast(&st->cv);
		ps_state_release();

		if (w == NULL && !OidIsValid(role))
			bad_worker(rel, id, state);
		if (OidIsValid(role))
		{
			check_acts_as(rel, id, role);
			trusted = true;
			continue;
		}
		if (backwards)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("clock of worker %d of ps table \"%s\" would go backwards from " INT64_FORMAT " to " INT64_FORMAT,
							id, RelationGetRelationName(rel), position, clock),
					 errhint("Pass the clock (iteration) the call belongs to; it may stay the same or grow.")));
		break;
	}
	if (call == PS_CALL_PULL)
		wait_for_clock(rel, id, clock);
}

/*
 * A call of worker id that names no clock: a heartbeat; errors if the
 * worker cannot make calls or is not the current user's.
 */
void
ps_workers_check(Relation rel, int32 id)
{
	touch_worker(rel, id, false, false);
}

static const char *const state_names[] = {"free", "active", "left", "dropped"};

/*
 * Rows for ps_workers(tbl): worker, state, clock, last_seen, pid, role.
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
	dropped = ps_state_expire_workers(st, now, 0);
	memcpy(copy, st->workers, sizeof(PsWorker) * ps_max_workers);
	SpinLockRelease(&st->mutex);
	if (dropped)
		ConditionVariableBroadcast(&st->cv);
	ps_state_release();

	for (i = 0; i < ps_max_workers; i++)
	{
		Datum		values[6];
		bool		nulls[6] = {false, false, false, false, false, false};

		if (copy[i].state == PS_WORKER_FREE)
			continue;
		values[0] = Int32GetDatum(copy[i].id);
		values[1] = CStringGetTextDatum(state_names[copy[i].state]);
		values[2] = Int64GetDatum(copy[i].clock);
		values[3] = TimestampTzGetDatum(copy[i].last_seen);
		values[4] = Int32GetDatum(copy[i].pid);
		values[5] = ObjectIdGetDatum(copy[i].role);
		tuplestore_putvalues(ts, desc, values, nulls);
	}
}

/*
 * For the scheduler's gather window: how many live workers of a table
 * under sequential or bounded-delay consistency have not pushed at clock
 * yet (and so may still push for it).  0 for eventual consistency,
 * or if the table has no shared state.  Reads the state, changes nothing;
 * a worker silent for longer than ps.worker_timeout is not counted.
 */
int
ps_workers_behind(Oid dbid, Oid relid, int64 clock)
{
	PsTableState *st = ps_state_lookup(dbid, relid);
	TimestampTz now = GetCurrentTimestamp();
	int			n = 0;
	int			i;

	if (st == NULL)
		return 0;
	SpinLockAcquire(&st->mutex);
	if (st->consistency != PS_EVENTUAL)
		for (i = 0; i < ps_max_workers; i++)
		{
			PsWorker   *w = &st->workers[i];

			if (w->state == PS_WORKER_ACTIVE && w->pushed < clock &&
				(ps_worker_timeout == 0 ||
				 !TimestampDifferenceExceeds(w->last_seen, now,
											 ps_worker_timeout * 1000)))
				n++;
		}
	SpinLockRelease(&st->mutex);
	ps_state_release();
	return n;
}
