/*-------------------------------------------------------------------------
 *
 * ps_queue.c
 *	  The push queue, backends' side: a push goes into a byte ring in shared
 *	  memory, and its backend waits until the scheduler has applied it.
 *
 * A backend's ps_push validates and sorts its keys and takes its task
 * timestamp.  Under ps.scheduler = auto it queues the push only if the
 * push can be aggregated there (worth_queueing, the gather window), and
 * applies it itself otherwise (status DIRECT while it does, so that other
 * pushes and ps_wait see it in flight).  A push to queue is appended to
 * the ring (many producers under one
 * LWLock; the payload is copied outside the lock and published with a
 * flag).  It then wakes an idle applier of the scheduler's pool (if all
 * are busy, the next to finish its round finds the push) and sleeps on a
 * condition variable until its slot says the push was applied and its WAL
 * flushed, or failed.  So ps_push still returns only when the push is durable and
 * applied, and a worker's later pull sees it.  Pushes the queue cannot take
 * (temporary tables, storage created in the current transaction, pushes
 * larger than a quarter of the ring, no scheduler running, ps.scheduler =
 * off) are applied by the backend itself: ps_queue_push returns false.
 * A cancel while a push is queued takes it back, under the same lock the
 * appliers take it with, or, if an applier has it already, waits until it
 * is applied and says so.
 *
 * Layer 7 (training services).  Calls the layers below; never the
 * appliers (ps_sched.c), which it only wakes through their latches.
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
#include "ps_dir.h"
#include "ps_queue.h"
#include "ps_queue_int.h"
#include "ps_store.h"
#include "ps_table.h"
#include "ps_workers.h"

PsQueue    *ps_queue = NULL;
char	   *ps_ring = NULL;
LWLock	   *ps_queue_lock = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;
static bool exit_callback_registered = false;

static Size
queue_struct_size(void)
{
	return add_size(offsetof(PsQueue, slots), mul_size(sizeof(PsSlot), MaxBackends));
}

static void
queue_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(add_size(queue_struct_size(),
									(Size) ps_queue_size * 1024 * 1024));
	RequestNamedLWLockTranche("ps queue", 1);
}

static void
queue_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	ps_queue_lock = &(GetNamedLWLockTranche("ps queue"))->lock;
	ps_queue = ShmemInitStruct("ps queue", queue_struct_size(), &found);
	ps_ring = ShmemInitStruct("ps queue ring", (Size) ps_queue_size * 1024 * 1024, &found);
	if (!found)
	{
		int			i;

		memset(ps_queue, 0, queue_struct_size());
		ps_queue->size = (Size) ps_queue_size * 1024 * 1024;
		ps_queue->nappliers = ps_scheduler_workers;
		for (i = 0; i < PS_MAX_APPLIERS; i++)
		{
			pg_atomic_init_u32(&ps_queue->appliers[i].idle, 0);
			pg_atomic_init_u32(&ps_queue->appliers[i].working, 0);
		}
		pg_atomic_init_u64(&ps_queue->last_mark, 0);
		ConditionVariableInit(&ps_queue->space_cv);
		ConditionVariableInit(&ps_queue->done_cv);
		ConditionVariableInit(&ps_queue->claim_cv);
	}
	LWLockRelease(AddinShmemInitLock);
}

/* Ask for the queue's shared memory (from _PG_init). */
void
ps_queue_init(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = queue_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = queue_shmem_startup;
}

static PsSlot *
my_slot(void)
{
	return &ps_queue->slots[MyBackendId - 1];
}

/* Under the queue lock: our slot holds a push of rel in flight. */
static void
slot_in_flight(PsSlot *slot, PsSlotStatus status, Relation rel, uint64 ts,
			   int64 clock)
{
	slot->status = status;
	slot->abandoned = false;
	slot->dbid = MyDatabaseId;
	slot->relid = RelationGetRelid(rel);
	slot->ts = ts;
	slot->clock = clock;
	slot->applier = -1;
	slot->split = -1;
}

/*
 * Wake one idle applier.  Called after the push is published (ready set):
 * an applier marks itself idle before it looks at the queue a last time
 * and sleeps, so either it sees the push or we see it idle.  If none is
 * idle, the busy ones look at the queue again when their round ends.
 */
void
ps_queue_wake_applier(void)
{
	int			i;

	pg_memory_barrier();
	for (i = 0; i < ps_queue->nappliers; i++)
	{
		PsApplier  *a = &ps_queue->appliers[i];
		uint32		expected = 1;

		/* the first to clear the flag wakes it; others look further */
		if (pg_atomic_read_u32(&a->idle) == 1 &&
			pg_atomic_compare_exchange_u32(&a->idle, &expected, 0))
		{
			Latch	   *latch = a->latch;

			if (latch)
				SetLatch(latch);
			return;
		}
	}
}

/*
 * Wait until a push of ours that was abandoned earlier has finished.  A
 * DONE or FAILED slot nobody collects (its backend is gone) is free too.
 */
static void
wait_slot_idle(PsSlot *slot)
{
	for (;;)
	{
		bool		idle;

		LWLockAcquire(ps_queue_lock, LW_SHARED);
		idle = slot->status == PS_SLOT_IDLE || slot->status == PS_SLOT_DONE ||
			slot->status == PS_SLOT_FAILED || slot->status == PS_SLOT_DIRECT;
		LWLockRelease(ps_queue_lock);
		if (idle)
			break;
		ConditionVariableTimedSleep(&ps_queue->done_cv, 1000, PG_WAIT_EXTENSION);
	}
	ConditionVariableCancelSleep();
}

/* What became of a push its backend stopped waiting for. */
typedef enum PsOutcome
{
	PS_PUSH_NOT_APPLIED,		/* taken out of the queue */
	PS_PUSH_APPLIED,			/* applied before we looked */
	PS_PUSH_FAILED,				/* the scheduler failed it */
	PS_PUSH_UNKNOWN				/* its scheduler died applying it */
} PsOutcome;

/*
 * Our backend stops waiting for its push (an error, a cancel, or exit).
 * The decision is made under the queue lock held exclusively, the lock
 * under which the scheduler takes pushes: a push still queued is marked
 * abandoned there, and the scheduler, which checks the mark when it takes
 * the push, skips it.  A push the scheduler has taken is waited for until
 * it is applied, so that we hold our lock on the table until then (a DROP
 * or TRUNCATE must not commit while it is being written); interrupts are
 * held, and the wait lasts one apply at most.  Returns what became of it.
 */
static PsOutcome
abandon_slot(PsSlot *slot)
{
	PsOutcome	outcome = PS_PUSH_NOT_APPLIED;

	HOLD_INTERRUPTS();
	for (;;)
	{
		bool		wait = false;

		LWLockAcquire(ps_queue_lock, LW_EXCLUSIVE);
		switch ((PsSlotStatus) slot->status)
		{
			case PS_SLOT_QUEUED:
				slot->abandoned = true;
				outcome = PS_PUSH_NOT_APPLIED;
				break;
			case PS_SLOT_APPLYING:

				/*
				 * The parts of a split group are applied by several
				 * appliers; any applier running finishes or fails them.
				 */
				if (slot->split >= 0 ? ps_queue->running > 0 :
					ps_queue->appliers[slot->applier].pid != 0)
					wait = true;
				else
				{
					/* its applier exited mid-apply; its next run fails it */
					slot->abandoned = true;
					outcome = PS_PUSH_UNKNOWN;
				}
				break;
			case PS_SLOT_DONE:
				slot->status = PS_SLOT_IDLE;
				outcome = PS_PUSH_APPLIED;
				break;
			case PS_SLOT_FAILED:
				slot->status = PS_SLOT_IDLE;
				outcome = PS_PUSH_FAILED;
				break;
			case PS_SLOT_DIRECT:
				slot->status = PS_SLOT_IDLE;
				break;
			case PS_SLOT_IDLE:
				break;
		}
		LWLockRelease(ps_queue_lock);
		if (!wait)
			break;
		ConditionVariableTimedSleep(&ps_queue->done_cv, 100, PG_WAIT_EXTENSION);
	}
	ConditionVariableCancelSleep();
	RESUME_INTERRUPTS();
	return outcome;
}

/*
 * A backend that exits while its push is in flight lets the slot go, and
 * then its claim on a client: the push is done with by then (applied,
 * failed, or passed over).
 */
static void
backend_exit(int code, Datum arg)
{
	if (ps_queue != NULL && MyBackendId != InvalidBackendId)
	{
		(void) abandon_slot(my_slot());
		ps_queue_release_client();
	}
}

static void
register_exit_callback(void)
{
	if (!exit_callback_registered)
	{
		before_shmem_exit(backend_exit, (Datum) 0);
		exit_callback_registered = true;
	}
}

/*
 * Does another backend than slot's hold the claim on client's pushes to
 * relid?  With mode LW_SHARED the queue lock is taken here; with
 * LW_EXCLUSIVE the caller holds it.
 */
static bool
claim_held(PsSlot *slot, uint64 client, Oid relid, LWLockMode mode)
{
	bool		held = false;
	int			i;

	if (mode == LW_SHARED)
		LWLockAcquire(ps_queue_lock, LW_SHARED);
	for (i = 0; i < MaxBackends && !held; i++)
	{
		PsSlot	   *s = &ps_queue->slots[i];

		held = s != slot && s->once_client == client &&
			s->once_dbid == MyDatabaseId && s->once_relid == relid;
	}
	if (mode == LW_SHARED)
		LWLockRelease(ps_queue_lock);
	return held;
}

/*
 * Claim the pushes of an exactly-once client to rel for this backend:
 * wait while another backend holds them.  A client whose connection was
 * lost sends its pushes again on a new one, while its old backend may
 * still run what it had received, or have a push queued or being
 * applied; so that a push is not applied by both, and the records of
 * ps_once.c change in one backend's order, only the holder of the claim
 * reads and writes the client's records.  An old backend that was
 * terminated holds it until its push is done with (backend_exit).
 */
void
ps_queue_claim_client(Relation rel, uint64 client)
{
	PsSlot	   *slot;
	Oid			relid = RelationGetRelid(rel);

	if (ps_queue == NULL || MyBackendId == InvalidBackendId)
		return;
	register_exit_callback();
	slot = my_slot();
	for (;;)
	{
		bool		held = claim_held(slot, client, relid, LW_SHARED);

		/* looked at shared first: waiters hold the lock only briefly */
		if (!held)
		{
			LWLockAcquire(ps_queue_lock, LW_EXCLUSIVE);
			held = claim_held(slot, client, relid, LW_EXCLUSIVE);
			if (!held)
			{
				slot->once_client = client;
				slot->once_dbid = MyDatabaseId;
				slot->once_relid = relid;
			}
			LWLockRelease(ps_queue_lock);
			if (!held)
				break;
		}
		ConditionVariableTimedSleep(&ps_queue->claim_cv, 100, PG_WAIT_EXTENSION);
	}
	ConditionVariableCancelSleep();
}

/* Let go of the claim of ps_queue_claim_client, if this backend has one. */
void
ps_queue_release_client(void)
{
	PsSlot	   *slot;

	if (ps_queue == NULL || MyBackendId == InvalidBackendId)
		return;
	slot = my_slot();
	if (slot->once_client == 0)
		return;
	LWLockAcquire(ps_queue_lock, LW_EXCLUSIVE);
	slot->once_client = 0;
	LWLockRelease(ps_queue_lock);
	ConditionVariableBroadcast(&ps_queue->claim_cv);
}

/*
 * Put a push of n keys (need bytes) into the ring for slot: reserve room,
 * waiting for the scheduler to free some if need be, fill the entry
 * outside the lock, publish it and wake the scheduler.
 */
static void
enqueue(Relation rel, PsDir *dir, PsSlot *slot, Size need, const int64 *keys,
		int64 first, const float4 *vals, int n, const PsWrite *w,
		int32 worker, int64 clock)
{
	PsTaskHeader *h;
	uint64		pos;

	LWLockAcquire(ps_queue_lock, LW_EXCLUSIVE);
	for (;;)
	{
		Size		gap = ps_queue_unusable_tail(ps_queue->tail);
		Size		off = (Size) ((ps_queue->tail + gap) % ps_queue->size);
		Size		pad = (off + need > ps_queue->size) ? ps_queue->size - off : 0;

		if ((ps_queue->tail - ps_queue->head) + gap + pad + need <= ps_queue->size)
		{
			ps_queue->tail += gap;
			if (pad > 0)
			{
				h = (PsTaskHeader *) (ps_ring + off);
				h->len = pad;
				h->skip = true;
				h->ready = true;
				ps_queue->tail += pad;
			}
			break;
		}
		LWLockRelease(ps_queue_lock);
		ConditionVariableTimedSleep(&ps_queue->space_cv, 1000, PG_WAIT_EXTENSION);
		LWLockAcquire(ps_queue_lock, LW_EXCLUSIVE);
	}
	ConditionVariableCancelSleep();
	pos = ps_queue->tail;
	ps_queue->tail += need;
	h = (PsTaskHeader *) (ps_ring + pos % ps_queue->size);
	h->len = need;
	h->ready = false;
	h->skip = false;
	h->done = false;
	h->held = false;
	h->taken_by = -1;
	slot->seq++;
	slot_in_flight(slot, PS_SLOT_QUEUED, rel, w->ts, clock);
	LWLockRelease(ps_queue_lock);

	h->slot = MyBackendId - 1;
	h->seq = slot->seq;			/* only we change it, and not before this push is done */
	h->dbid = MyDatabaseId;
	h->relid = RelationGetRelid(rel);
	h->node = rel->rd_node;
	h->persistence = rel->rd_rel->relpersistence;
	namestrcpy(&h->relname, RelationGetRelationName(rel));
	h->dim = w->dim;
	h->width = dir->width;
	h->rule = w->rule;
	h->kkt = w->kkt;
	h->worker = worker;
	h->clock = clock;
	h->ts = w->ts;
	h->nkeys = n;
	h->range = (keys == NULL);
	h->first = first;
	if (w->nonce > 0)
		h->once = w->once[0];
	else
		memset(&h->once, 0, sizeof(PsOnceMark));
	if (keys != NULL)
		memcpy(TaskKeys(h), keys, sizeof(int64) * n);
	memcpy(TaskVals(h), vals, sizeof(float4) * w->dim * n);
	h->queued = GetCurrentTimestamp();
	pg_write_barrier();
	h->ready = true;
	ps_queue_wake_applier();
}

/* What became of the push with task timestamp ts, for a cancel's DETAIL. */
static char *
outcome_detail(PsOutcome outcome, uint64 ts)
{
	switch (outcome)
	{
		case PS_PUSH_APPLIED:
			return psprintf("The push (task timestamp " UINT64_FORMAT ") was applied before the cancel took effect; do not push it again.",
							ts);
		case PS_PUSH_FAILED:
			return psprintf("The push (task timestamp " UINT64_FORMAT ") failed in the scheduler; see ps_wait.",
							ts);
		case PS_PUSH_UNKNOWN:
			return psprintf("The scheduler exited while applying the push (task timestamp " UINT64_FORMAT "): it may be partly applied.",
							ts);
		default:
			return psprintf("The push (task timestamp " UINT64_FORMAT ") was taken out of the queue and not applied.",
							ts);
	}
}

/*
 * Wait for the outcome of slot's push (task timestamp ts): DONE or FAILED
 * in *status, true; false if it was taken back because no scheduler runs
 * (the caller then applies it).  If we are interrupted while the push is
 * queued, the scheduler skips it; while it is being applied, we wait for
 * the apply to end (abandon_slot) and it is applied, not acknowledged:
 * the error's DETAIL says which.
 */
static bool
await_outcome(PsSlot *slot, uint64 ts, PsSlotStatus *status)
{
	volatile PsSlotStatus st = PS_SLOT_QUEUED;
	volatile bool taken_back = false;

	PG_TRY();
	{
		for (;;)
		{
			bool		alive;

			LWLockAcquire(ps_queue_lock, LW_SHARED);
			st = slot->status;
			alive = ps_queue->running > 0;
			LWLockRelease(ps_queue_lock);
			if (st == PS_SLOT_DONE || st == PS_SLOT_FAILED)
				break;
			if (!alive && st == PS_SLOT_QUEUED)
			{
				/*
				 * No applier: take the push back.  An applier starts under
				 * this lock, and then finds the slot idle and passes over
				 * the queue entry.
				 */
				LWLockAcquire(ps_queue_lock, LW_EXCLUSIVE);
				if (slot->status == PS_SLOT_QUEUED && ps_queue->running == 0)
				{
					slot->status = PS_SLOT_IDLE;
					taken_back = true;
				}
				LWLockRelease(ps_queue_lock);
				if (taken_back)
					break;
			}
			ConditionVariableTimedSleep(&ps_queue->done_cv, 1000, PG_WAIT_EXTENSION);
		}
		ConditionVariableCancelSleep();
	}
	PG_CATCH();
	{
		ErrorData  *edata;
		char	   *what;

		/* we are in ErrorContext, which FlushErrorState resets */
		MemoryContextSwitchTo(CurTransactionContext);
		ConditionVariableCancelSleep();
		what = outcome_detail(abandon_slot(slot), ts);
		edata = CopyErrorData();
		FlushErrorState();
		edata->detail = edata->detail ? psprintf("%s\n%s", edata->detail, what) :
			pstrdup(what);
		ReThrowError(edata);
	}
	PG_END_TRY();
	*status = st;
	return !taken_back;
}

/*
 * Under the queue lock: should a push of rel at clock go to the queue?
 * Only if it can be aggregated there: another push of its table and clock
 * waits in the queue (not taken yet), or as many as there are appliers are
 * being applied (so that pushes arriving now would wait for one anyway).
 * Otherwise its backend applies it at once, as fast as without the
 * scheduler: handing it over costs context switches and cache misses and
 * buys nothing.
 */
static bool
worth_queueing(Oid relid, int64 clock)
{
	int			busy = 0,
				i;

	for (i = 0; i < MaxBackends; i++)
	{
		PsSlot	   *s = &ps_queue->slots[i];

		if (i == MyBackendId - 1 || s->dbid != MyDatabaseId ||
			s->relid != relid || s->clock != clock)
			continue;
		if (s->status == PS_SLOT_QUEUED && !s->abandoned)
			return true;
		if (s->status == PS_SLOT_APPLYING || s->status == PS_SLOT_DIRECT)
			busy++;
	}
	return busy >= ps_queue->nappliers;
}

/*
 * A push its backend applies itself (ps_queue_push returned false) is
 * done, applied (nkeys keys) or failed: it no longer counts as in flight.
 */
void
ps_queue_direct_done(bool applied, int nkeys)
{
	PsSlot	   *slot;

	if (ps_queue == NULL || MyBackendId == InvalidBackendId)
		return;
	slot = my_slot();
	LWLockAcquire(ps_queue_lock, LW_EXCLUSIVE);
	if (slot->status != PS_SLOT_DIRECT)
	{
		/* not one the queue chose to leave to us */
		LWLockRelease(ps_queue_lock);
		return;
	}
	slot->status = PS_SLOT_IDLE;
	if (applied)
	{
		ps_queue->direct_pushes++;
		ps_queue->direct_keys += nkeys;
	}
	else
		ps_queue->direct_failed++;
	LWLockRelease(ps_queue_lock);
	ConditionVariableBroadcast(&ps_queue->done_cv);
}

/*
 * Queue a push of sorted, distinct keys (keys; or, keys NULL, the range
 * first .. first + n - 1, of which only the values go into the queue) for
 * the scheduler, and wait until it is applied.  Returns false, having
 * done nothing, if the scheduler cannot take it, or if nothing in the
 * queue could be aggregated with it (worth_queueing; the gather window):
 * the caller then applies it itself, and calls ps_queue_direct_done when
 * it has.  Errors of the apply are raised here.
 */
bool
ps_queue_push(Relation rel, PsDir *dir, const int64 *keys, int64 first,
			  const float4 *vals, int n, const PsWrite *w, int32 worker,
			  int64 clock)
{
	Size		need = MAXALIGN(TASK_HDRSZ + (keys ? sizeof(int64) * n : 0) +
								sizeof(float4) * w->dim * n);
	PsSlot	   *slot;
	PsSlotStatus status;
	bool		gather;

	/*
	 * Storage created in this transaction is the backend's alone until it
	 * commits, and may be emptied in place (TRUNCATE in the same
	 * transaction) without the scheduler hearing of it: the backend writes
	 * it itself.
	 */
	if (ps_scheduler_mode == PS_SCHEDULER_OFF || ps_queue == NULL ||
		MyBackendId == InvalidBackendId ||
		RelationUsesLocalBuffers(rel) || ps_storage_is_new(rel) ||
		need > ps_queue->size / 4 || ps_queue->running == 0)
		return false;

	slot = my_slot();
	register_exit_callback();
	wait_slot_idle(slot);

	/*
	 * A workers' push the gather window will hold for the other workers of
	 * its clock goes to the queue; any other push only if it is worth it.
	 */
	gather = ps_scheduler_mode == PS_SCHEDULER_AUTO && worker > 0 &&
		clock >= 0 && ps_gather_window > 0 &&
		ps_workers_behind(MyDatabaseId, RelationGetRelid(rel), clock) > 0;
	LWLockAcquire(ps_queue_lock, LW_EXCLUSIVE);
	if (ps_scheduler_mode == PS_SCHEDULER_AUTO && !gather &&
		!worth_queueing(RelationGetRelid(rel), clock))
	{
		slot_in_flight(slot, PS_SLOT_DIRECT, rel, w->ts, clock);
		LWLockRelease(ps_queue_lock);
		return false;
	}
	LWLockRelease(ps_queue_lock);
	enqueue(rel, dir, slot, need, keys, first, vals, n, w, worker, clock);
	if (!await_outcome(slot, w->ts, &status))
		return false;

	LWLockAcquire(ps_queue_lock, LW_EXCLUSIVE);
	slot->status = PS_SLOT_IDLE;
	LWLockRelease(ps_queue_lock);
	if (status == PS_SLOT_FAILED)
	{
		PsError		e = slot->error;

		ereport(ERROR,
				(errcode(e.sqlerrcode),
				 errmsg("%s", e.message),
				 e.detail[0] ? errdetail("%s", e.detail) : 0,
				 e.hint[0] ? errhint("%s", e.hint) : 0));
	}
	return true;
}

/*
 * The counters of the pushing backends (row 0: pushes they applied
 * themselves under ps.scheduler = auto, each an aggregate of its own) and
 * of each applier (rows 1 ..), PS_QUEUE_NCOUNTERS per row in the order of
 * ps_scheduler(), with the applier's pid (0 if not running).  Returns the
 * number of rows.
 */
int
ps_queue_counters(int32 *pids, uint64 *counts)
{
	int			i;

	if (ps_queue == NULL)
		return 0;
	memset(counts, 0, sizeof(uint64) * PS_QUEUE_NCOUNTERS * (ps_queue->nappliers + 1));
	LWLockAcquire(ps_queue_lock, LW_SHARED);
	pids[0] = 0;
	counts[1] = counts[2] = ps_queue->direct_pushes;
	counts[3] = ps_queue->direct_failed;
	counts[4] = counts[5] = ps_queue->direct_keys;
	for (i = 0; i < ps_queue->nappliers; i++)
	{
		PsApplier  *a = &ps_queue->appliers[i];
		uint64	   *c = counts + (Size) (i + 1) * PS_QUEUE_NCOUNTERS;

		pids[i + 1] = a->pid;
		c[0] = a->rounds;
		c[1] = a->aggregates;
		c[2] = a->pushes;
		c[3] = a->failed;
		c[4] = a->keys_pushed;
		c[5] = a->keys_applied;
		c[6] = a->directories;
		c[7] = a->parts;
		c[8] = a->gather_waits;
		c[9] = a->gather_us;
	}
	LWLockRelease(ps_queue_lock);
	return i + 1;
}

/*
 * Wait until no push of rel with timestamp <= ts is in flight (queued, or
 * being applied by the scheduler).
 */
void
ps_queue_wait_ts(Relation rel, uint64 ts)
{
	if (ps_queue == NULL)
		return;
	for (;;)
	{
		bool		busy = false;
		int			i;

		LWLockAcquire(ps_queue_lock, LW_SHARED);
		for (i = 0; i < MaxBackends && !busy; i++)
		{
			PsSlot	   *s = &ps_queue->slots[i];

			busy = ((s->status == PS_SLOT_QUEUED && !s->abandoned) ||
					s->status == PS_SLOT_APPLYING || s->status == PS_SLOT_DIRECT) &&
				s->dbid == MyDatabaseId &&
				s->relid == RelationGetRelid(rel) && s->ts <= ts;
		}
		LWLockRelease(ps_queue_lock);
		if (!busy)
			break;
		ConditionVariableTimedSleep(&ps_queue->done_cv, 1000, PG_WAIT_EXTENSION);
	}
	ConditionVariableCancelSleep();
}
