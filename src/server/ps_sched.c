/*-------------------------------------------------------------------------
 *
 * ps_sched.c
 *	  The push queue and the scheduler: a background worker that takes the
 *	  pushes of all backends from a shared-memory queue, aggregates those
 *	  of the same table and clock, and applies each aggregate once.
 *
 * A backend's ps_push validates and sorts its keys, takes its task
 * timestamp, and appends the push to a byte ring in shared memory (many
 * producers under one LWLock; the payload is copied outside the lock and
 * published with a flag).  It then sets the scheduler's latch and sleeps on
 * a condition variable until its slot says the push was applied and its
 * WAL flushed, or failed.  So ps_push still returns only when the push is
 * durable and applied, and a worker's later pull sees it.
 *
 * The scheduler takes the published prefix of the queue, groups the pushes
 * by table and clock (pushes of workers at the same clock, or plain pushes,
 * arriving together), merges each group's sorted keys summing the values
 * of equal keys, and applies the update rule once per key of the aggregate
 * (ps_store.c: one lock and one WAL record per up to 32 leaves).  It then
 * flushes WAL once for the whole round and acknowledges every push of it.
 * With several workers pushing at once, the aggregate visits each leaf
 * once instead of once per push.
 *
 * The scheduler is connected to no database: it reaches tables by their
 * relfilenode through a fake relcache entry, as WAL replay does, with the
 * table's OID set so that its extension lock is the backends' lock.  Each
 * group is applied in its own transaction: an error (an overflowing sum)
 * fails that group's pushes and nothing else.  Pushes it cannot take
 * (temporary tables, tables created in the same transaction under
 * wal_level = minimal, pushes larger than a quarter of the queue, no
 * scheduler running, ps.scheduler = off) are applied by the backend
 * itself, as are INSERT and COPY.
 *
 * Crash safety: a push is acknowledged only after it is applied and its WAL
 * flushed, so a crash loses only unacknowledged pushes (the queue is not
 * persistent).  If the scheduler exits while applying, the pushes of that
 * round are failed rather than applied again on restart; pushes still
 * queued are applied by the restarted scheduler, or taken back and applied
 * by their backends if no scheduler is running.
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
#include "ps_clock.h"
#include "ps_dir.h"
#include "ps_filter.h"
#include "ps_page.h"
#include "ps_sched.h"
#include "ps_store.h"
#include "ps_table.h"


#define PS_ERROR_LEN 256
#define PS_MAX_ROUND 1024		/* pushes taken in one round at most */

typedef enum PsSlotStatus
{
	PS_SLOT_IDLE = 0,
	PS_SLOT_QUEUED,				/* in the queue, not taken yet */
	PS_SLOT_APPLYING,			/* taken by the scheduler, or applied directly */
	PS_SLOT_DONE,
	PS_SLOT_FAILED
} PsSlotStatus;

/* An error of the scheduler, passed on to the pushes it failed. */
typedef struct PsError
{
	int			sqlerrcode;
	char		message[PS_ERROR_LEN];
	char		detail[PS_ERROR_LEN];
	char		hint[PS_ERROR_LEN];
} PsError;

/* A backend's in-flight push; protected by the queue lock. */
typedef struct PsSlot
{
	int32		status;			/* PsSlotStatus */
	bool		abandoned;		/* its backend stopped waiting */
	uint64		seq;			/* the push in the ring this slot is for */
	Oid			dbid;
	Oid			relid;
	uint64		ts;
	PsError		error;			/* of a FAILED push */
} PsSlot;

typedef struct PsQueue
{
	uint64		head;			/* first byte not yet consumed */
	uint64		tail;			/* first byte not yet reserved */
	Size		size;			/* bytes in the ring */
	pid_t		sched_pid;		/* 0: no scheduler running */
	Latch	   *sched_latch;
	ConditionVariable space_cv; /* the ring has room again */
	ConditionVariable done_cv;	/* a push was applied or failed */
	/* time marks: timestamped commit records ahead of ps WAL */
	pg_atomic_uint64 last_mark; /* TimestampTz of the last one written */
	uint64		marks_requested;	/* asked for by backends */
	uint64		marks_written;	/* requests served */
	/* counters since the server started, for ps_scheduler() */
	uint64		rounds;			/* rounds that applied something */
	uint64		aggregates;		/* groups applied */
	uint64		pushes;			/* pushes applied */
	uint64		failed;			/* pushes failed */
	uint64		keys_pushed;	/* keys in the pushes applied */
	uint64		keys_applied;	/* keys in the aggregates applied */
	uint64		directories;	/* directory copies the scheduler holds */
	PsSlot		slots[FLEXIBLE_ARRAY_MEMBER];	/* MaxBackends */
} PsQueue;

/* One push in the ring, followed by its keys and values. */
typedef struct PsTaskHeader
{
	uint32		len;			/* bytes of the entry, MAXALIGNed */
	bool		ready;			/* payload written */
	bool		skip;			/* padding at the end of the ring */
	int32		slot;
	uint64		seq;			/* matches the slot's while it is this push's */
	Oid			dbid;
	Oid			relid;
	RelFileNode node;
	char		persistence;
	NameData	relname;
	int32		dim;
	int32		width;
	PsRule		rule;
	bool		kkt;			/* drop pushes of inactive keys */
	int32		worker;			/* the pushing worker, 0 for plain pushes */
	int64		clock;			/* the worker's clock, -1 for plain pushes */
	uint64		ts;
	int32		nkeys;
} PsTaskHeader;

#define TASK_HDRSZ MAXALIGN(sizeof(PsTaskHeader))
#define TaskKeys(h) ((int64 *) ((char *) (h) + TASK_HDRSZ))
#define TaskVals(h) ((float4 *) (TaskKeys(h) + (h)->nkeys))

static PsQueue *queue = NULL;
static char *ring = NULL;
static LWLock *queue_lock = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;
static bool exit_callback_registered = false;

static Size
queue_struct_size(void)
{
	return add_size(offsetof(PsQueue, slots), mul_size(sizeof(PsSlot), MaxBackends));
}

static void
ps_sched_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(add_size(queue_struct_size(),
									(Size) ps_queue_size * 1024 * 1024));
	RequestNamedLWLockTranche("ps queue", 1);
}

static void
ps_sched_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	queue_lock = &(GetNamedLWLockTranche("ps queue"))->lock;
	queue = ShmemInitStruct("ps queue", queue_struct_size(), &found);
	ring = ShmemInitStruct("ps queue ring", (Size) ps_queue_size * 1024 * 1024, &found);
	if (!found)
	{
		memset(queue, 0, queue_struct_size());
		queue->size = (Size) ps_queue_size * 1024 * 1024;
		pg_atomic_init_u64(&queue->last_mark, 0);
		ConditionVariableInit(&queue->space_cv);
		ConditionVariableInit(&queue->done_cv);
	}
	LWLockRelease(AddinShmemInitLock);
}

void
ps_sched_init(void)
{
	BackgroundWorker worker;

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = ps_sched_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = ps_sched_shmem_startup;

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

/* Bytes of ring left before its end at pos, if too few for a header. */
static inline Size
unusable_tail(uint64 pos)
{
	Size		left = queue->size - (Size) (pos % queue->size);

	return left < TASK_HDRSZ ? left : 0;
}

static PsSlot *
my_slot(void)
{
	return &queue->slots[MyBackendId - 1];
}

/* ------------------------------------------------------------------------
 * Producers: backends
 * ------------------------------------------------------------------------
 */

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

		LWLockAcquire(queue_lock, LW_SHARED);
		idle = slot->status == PS_SLOT_IDLE || slot->status == PS_SLOT_DONE ||
			slot->status == PS_SLOT_FAILED;
		LWLockRelease(queue_lock);
		if (idle)
			break;
		ConditionVariableTimedSleep(&queue->done_cv, 1000, PG_WAIT_EXTENSION);
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

		LWLockAcquire(queue_lock, LW_EXCLUSIVE);
		switch ((PsSlotStatus) slot->status)
		{
			case PS_SLOT_QUEUED:
				slot->abandoned = true;
				outcome = PS_PUSH_NOT_APPLIED;
				break;
			case PS_SLOT_APPLYING:
				if (queue->sched_pid != 0)
					wait = true;
				else
				{
					/* its scheduler exited mid-apply; the next one fails it */
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
			case PS_SLOT_IDLE:
				break;
		}
		LWLockRelease(queue_lock);
		if (!wait)
			break;
		ConditionVariableTimedSleep(&queue->done_cv, 100, PG_WAIT_EXTENSION);
	}
	ConditionVariableCancelSleep();
	RESUME_INTERRUPTS();
	return outcome;
}

/* A backend that exits while its push is in flight lets the slot go. */
static void
backend_exit(int code, Datum arg)
{
	if (queue != NULL && MyBackendId != InvalidBackendId)
		(void) abandon_slot(my_slot());
}

/*
 * Queue a push of sorted, distinct keys for the scheduler and wait until it
 * is applied.  Returns false, having done nothing, if the scheduler cannot
 * take it: the caller then applies it itself.  Errors of the apply are
 * raised here.
 */
bool
ps_sched_push(Relation rel, PsDir *dir, const int64 *keys, const float4 *vals,
			  int n, const PsWrite *w, int32 worker, int64 clock)
{
	Size		need = MAXALIGN(TASK_HDRSZ + sizeof(int64) * n +
								sizeof(float4) * w->dim * n);
	PsSlot	   *slot;
	PsTaskHeader *h;
	uint64		pos;
	volatile PsSlotStatus status = PS_SLOT_QUEUED;
	volatile bool taken_back = false;
	Latch	   *latch;

	/*
	 * Storage created in this transaction is the backend's alone until it
	 * commits, and may be emptied in place (TRUNCATE in the same
	 * transaction) without the scheduler hearing of it: the backend writes
	 * it itself.
	 */
	if (!ps_use_scheduler || queue == NULL || MyBackendId == InvalidBackendId ||
		RelationUsesLocalBuffers(rel) || ps_storage_is_new(rel) ||
		need > queue->size / 4 || queue->sched_pid == 0)
		return false;

	slot = my_slot();
	if (!exit_callback_registered)
	{
		before_shmem_exit(backend_exit, (Datum) 0);
		exit_callback_registered = true;
	}
	wait_slot_idle(slot);

	/* reserve room; wait for the scheduler to free some if need be */
	LWLockAcquire(queue_lock, LW_EXCLUSIVE);
	for (;;)
	{
		Size		gap = unusable_tail(queue->tail);
		Size		off = (Size) ((queue->tail + gap) % queue->size);
		Size		pad = (off + need > queue->size) ? queue->size - off : 0;

		if ((queue->tail - queue->head) + gap + pad + need <= queue->size)
		{
			queue->tail += gap;
			if (pad > 0)
			{
				h = (PsTaskHeader *) (ring + off);
				h->len = pad;
				h->skip = true;
				h->ready = true;
				queue->tail += pad;
			}
			break;
		}
		LWLockRelease(queue_lock);
		ConditionVariableTimedSleep(&queue->space_cv, 1000, PG_WAIT_EXTENSION);
		LWLockAcquire(queue_lock, LW_EXCLUSIVE);
	}
	ConditionVariableCancelSleep();
	pos = queue->tail;
	queue->tail += need;
	h = (PsTaskHeader *) (ring + pos % queue->size);
	h->len = need;
	h->ready = false;
	h->skip = false;
	slot->status = PS_SLOT_QUEUED;
	slot->abandoned = false;
	slot->seq++;
	slot->dbid = MyDatabaseId;
	slot->relid = RelationGetRelid(rel);
	slot->ts = w->ts;
	latch = queue->sched_latch;
	LWLockRelease(queue_lock);

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
	memcpy(TaskKeys(h), keys, sizeof(int64) * n);
	memcpy(TaskVals(h), vals, sizeof(float4) * w->dim * n);
	pg_write_barrier();
	h->ready = true;
	if (latch)
		SetLatch(latch);

	/*
	 * Wait for the outcome.  If we are interrupted while the push is
	 * queued, the scheduler skips it; while it is being applied, we wait
	 * for the apply to end (abandon_slot) and it is applied, not
	 * acknowledged.  If no scheduler is running and the push is still
	 * queued, take it back.
	 */
	PG_TRY();
	{
		for (;;)
		{
			bool		alive;

			LWLockAcquire(queue_lock, LW_SHARED);
			status = slot->status;
			alive = queue->sched_pid != 0;
			LWLockRelease(queue_lock);
			if (status == PS_SLOT_DONE || status == PS_SLOT_FAILED)
				break;
			if (!alive && status == PS_SLOT_QUEUED)
			{
				/*
				 * No scheduler: take the push back.  A scheduler starts
				 * under this lock, and then finds the slot idle and skips
				 * the queue entry.
				 */
				LWLockAcquire(queue_lock, LW_EXCLUSIVE);
				if (slot->status == PS_SLOT_QUEUED && queue->sched_pid == 0)
				{
					slot->status = PS_SLOT_IDLE;
					taken_back = true;
				}
				LWLockRelease(queue_lock);
				if (taken_back)
					break;
			}
			ConditionVariableTimedSleep(&queue->done_cv, 1000, PG_WAIT_EXTENSION);
		}
		ConditionVariableCancelSleep();
	}
	PG_CATCH();
	{
		ErrorData  *edata;
		PsOutcome	outcome;
		const char *what;

		/* we are in ErrorContext, which FlushErrorState resets */
		MemoryContextSwitchTo(CurTransactionContext);
		ConditionVariableCancelSleep();
		outcome = abandon_slot(slot);

		/* say what became of the push (a client deciding to retry needs it) */
		switch (outcome)
		{
			case PS_PUSH_APPLIED:
				what = psprintf("The push (task timestamp " UINT64_FORMAT ") was applied before the cancel took effect; do not push it again.",
								w->ts);
				break;
			case PS_PUSH_FAILED:
				what = psprintf("The push (task timestamp " UINT64_FORMAT ") failed in the scheduler; see ps_wait.",
								w->ts);
				break;
			case PS_PUSH_UNKNOWN:
				what = psprintf("The scheduler exited while applying the push (task timestamp " UINT64_FORMAT "): it may be partly applied.",
								w->ts);
				break;
			default:
				what = psprintf("The push (task timestamp " UINT64_FORMAT ") was taken out of the queue and not applied.",
								w->ts);
				break;
		}
		edata = CopyErrorData();
		FlushErrorState();
		edata->detail = edata->detail ? psprintf("%s\n%s", edata->detail, what) :
			pstrdup(what);
		ReThrowError(edata);
	}
	PG_END_TRY();

	if (taken_back)
		return false;

	LWLockAcquire(queue_lock, LW_EXCLUSIVE);
	slot->status = PS_SLOT_IDLE;
	LWLockRelease(queue_lock);
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

/* ------------------------------------------------------------------------
 * Time marks
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
 * ------------------------------------------------------------------------
 */

/* Is a mark due before ps WAL written now?  floor_ms: shortest interval. */
static bool
mark_due(TimestampTz now, int floor_ms)
{
	int			interval = Max(ps_time_mark_interval, floor_ms);

	if (ps_time_mark_interval < 0 || !XLogIsNeeded())
		return false;
	return interval == 0 ||
		TimestampDifferenceExceeds((TimestampTz) pg_atomic_read_u64(&queue->last_mark),
								   now, interval);
}

/*
 * The scheduler writes a time mark.  Marks are for recovery by time only:
 * if one cannot be written (PostgreSQL refuses new transaction ids near
 * wraparound), the pushes go on without it, and a warning says so, at most
 * once a minute.
 */
static void
write_time_mark(void)
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
	pg_atomic_write_u64(&queue->last_mark, (uint64) now);
}

/* The scheduler serves the marks backends asked for. */
static void
serve_mark_requests(void)
{
	uint64		requested;

	LWLockAcquire(queue_lock, LW_SHARED);
	requested = queue->marks_requested;
	LWLockRelease(queue_lock);
	if (requested <= queue->marks_written)
		return;
	write_time_mark();
	LWLockAcquire(queue_lock, LW_EXCLUSIVE);
	queue->marks_written = requested;
	LWLockRelease(queue_lock);
	ConditionVariableBroadcast(&queue->done_cv);
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
ps_sched_time_mark(Relation rel)
{
	uint64		ticket;
	Latch	   *latch;
	TimestampTz start;

	if (queue == NULL || !RelationNeedsWAL(rel) || ps_storage_is_new(rel) ||
		!mark_due(GetCurrentTimestamp(), 1))
		return;
	LWLockAcquire(queue_lock, LW_EXCLUSIVE);
	if (queue->sched_pid == 0)
	{
		LWLockRelease(queue_lock);
		return;
	}
	ticket = ++queue->marks_requested;
	latch = queue->sched_latch;
	LWLockRelease(queue_lock);
	if (latch)
		SetLatch(latch);
	start = GetCurrentTimestamp();
	for (;;)
	{
		bool		done;

		LWLockAcquire(queue_lock, LW_SHARED);
		done = queue->marks_written >= ticket || queue->sched_pid == 0;
		LWLockRelease(queue_lock);
		if (done || TimestampDifferenceExceeds(start, GetCurrentTimestamp(), 50))
			break;
		ConditionVariableTimedSleep(&queue->done_cv, 10, PG_WAIT_EXTENSION);
	}
	ConditionVariableCancelSleep();
}

/*
 * The scheduler's counters: pid (0 if not running), rounds, aggregates,
 * pushes applied and failed, keys pushed, keys applied, and the directory
 * copies it holds.
 */
void
ps_sched_counters(int32 *pid, uint64 *counts)
{
	if (queue == NULL)
	{
		*pid = 0;
		memset(counts, 0, sizeof(uint64) * PS_SCHED_NCOUNTERS);
		return;
	}
	LWLockAcquire(queue_lock, LW_SHARED);
	*pid = queue->sched_pid;
	counts[0] = queue->rounds;
	counts[1] = queue->aggregates;
	counts[2] = queue->pushes;
	counts[3] = queue->failed;
	counts[4] = queue->keys_pushed;
	counts[5] = queue->keys_applied;
	counts[6] = queue->directories;
	LWLockRelease(queue_lock);
}

/*
 * Wait until no push of rel with timestamp <= ts is in flight (queued, or
 * being applied by the scheduler).
 */
void
ps_sched_wait_ts(Relation rel, uint64 ts)
{
	if (queue == NULL)
		return;
	for (;;)
	{
		bool		busy = false;
		int			i;

		LWLockAcquire(queue_lock, LW_SHARED);
		for (i = 0; i < MaxBackends && !busy; i++)
		{
			PsSlot	   *s = &queue->slots[i];

			busy = ((s->status == PS_SLOT_QUEUED && !s->abandoned) ||
					s->status == PS_SLOT_APPLYING) &&
				s->dbid == MyDatabaseId &&
				s->relid == RelationGetRelid(rel) && s->ts <= ts;
		}
		LWLockRelease(queue_lock);
		if (!busy)
			break;
		ConditionVariableTimedSleep(&queue->done_cv, 1000, PG_WAIT_EXTENSION);
	}
	ConditionVariableCancelSleep();
}

/* ------------------------------------------------------------------------
 * The scheduler
 * ------------------------------------------------------------------------
 */

typedef struct PushGroup
{
	PsTaskHeader **tasks;		/* in queue (timestamp) order */
	int			ntasks;
	bool		failed;
	PsError		error;
	int			nkeys;			/* keys in the aggregate */
	int64	   *keys;			/* the keys written, ascending */
	int			nwrite;			/* how many (the KKT filter drops some) */
	int			written;		/* of them, written when an error came */
	bool	   *applied;		/* per push of a failed group: written whole */
	PsError    *errors;			/* per push of a failed group, if written */
} PushGroup;

static void
scheduler_exit(int code, Datum arg)
{
	LWLockAcquire(queue_lock, LW_EXCLUSIVE);
	queue->sched_pid = 0;
	queue->sched_latch = NULL;
	LWLockRelease(queue_lock);
	ConditionVariableBroadcast(&queue->done_cv);
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
				(!any || TaskKeys(g->tasks[t])[pos[t]] < min))
			{
				min = TaskKeys(g->tasks[t])[pos[t]];
				any = true;
			}
		if (!any)
			break;
		keys[n] = min;
		for (t = 0; t < k; t++)
			if (pos[t] < g->tasks[t]->nkeys && TaskKeys(g->tasks[t])[pos[t]] == min)
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
		/* the keys outlive a failed transaction: see scheduler_round */
		{
			MemoryContext old = MemoryContextSwitchTo(roundcxt);

			n = aggregate(g, first->dim, &keys, &vals);
			MemoryContextSwitchTo(old);
		}
		g->nkeys = n;
		ps_check_finite(vals, (Size) n * first->dim, true);
		if (first->kkt)
			n = ps_filter_kkt(rel, dir, &first->rule, keys, vals, n, first->dim);
		g->keys = keys;
		g->nwrite = n;
		w.mode = PS_WRITE_PUSH;
		w.rule = first->rule;
		w.dim = first->dim;
		w.kkt = first->kkt;
		w.written = &g->written;
		w.ts = 0;
		for (t = 0; t < g->ntasks; t++)
			w.ts = Max(w.ts, g->tasks[t]->ts);
		ps_store_write(rel, dir, keys, vals, n, &w);
		lsn = XactLastRecEnd;

		/* each worker's clock now holds on the range its push covered */
		for (t = 0; t < g->ntasks; t++)
			if (g->tasks[t]->worker > 0 && g->tasks[t]->nkeys > 0)
				ps_clock_set(first->dbid, first->relid, g->tasks[t]->worker,
							 g->tasks[t]->clock, TaskKeys(g->tasks[t])[0],
							 TaskKeys(g->tasks[t])[g->tasks[t]->nkeys - 1]);
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
	const int64 *k = TaskKeys(t);
	int			lo = 0,
				hi = t->nkeys;

	if (g->written >= g->nwrite)
		return t->nkeys;
	first = g->keys[g->written];
	while (lo < hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (k[mid] < first)
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
		ps_clock_set(t->dbid, t->relid, t->worker, t->clock, TaskKeys(t)[0],
					 TaskKeys(t)[t->nkeys - 1]);
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
	LWLockAcquire(queue_lock, LW_EXCLUSIVE);
	pos = queue->head;
	end = queue->tail;
	while (pos < end && ntasks < PS_MAX_ROUND)
	{
		PsTaskHeader *h;

		pos += unusable_tail(pos);
		if (pos >= end)
			break;
		h = (PsTaskHeader *) (ring + pos % queue->size);
		if (!h->ready)
			break;
		pg_read_barrier();
		if (!h->skip)
		{
			PsSlot	   *s = &queue->slots[h->slot];

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
	if (end == queue->head)
	{
		LWLockRelease(queue_lock);
		return false;
	}
	LWLockRelease(queue_lock);

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
			if (mark_due(GetCurrentTimestamp(), 0))
				write_time_mark();
			break;
		}

	/* apply each group in a transaction of its own */
	for (j = 0; j < ngroups; j++)
	{
		XLogRecPtr	lsn = apply_group_in_xact(&groups[j], roundcxt);

		flush = Max(flush, lsn);
		serve_mark_requests();	/* backends writing themselves wait for one */
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

	LWLockAcquire(queue_lock, LW_EXCLUSIVE);
	queue->rounds++;
	for (j = 0; j < ngroups; j++)
	{
		if (!groups[j].failed)
		{
			queue->aggregates++;
			queue->keys_applied += groups[j].nkeys;
		}
		for (i = 0; i < groups[j].ntasks; i++)
		{
			PsTaskHeader *t = groups[j].tasks[i];
			PsSlot	   *s = &queue->slots[t->slot];
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
				queue->failed++;
			else
			{
				queue->pushes++;
				queue->keys_pushed += t->nkeys;
			}
		}
	}
	queue->head = end;
	LWLockRelease(queue_lock);
	ConditionVariableBroadcast(&queue->done_cv);
	ConditionVariableBroadcast(&queue->space_cv);

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
	LWLockAcquire(queue_lock, LW_EXCLUSIVE);
	for (i = 0; i < MaxBackends; i++)
	{
		PsSlot	   *s = &queue->slots[i];

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
	queue->sched_pid = MyProcPid;
	queue->sched_latch = MyLatch;
	LWLockRelease(queue_lock);
	before_shmem_exit(scheduler_exit, (Datum) 0);
	ConditionVariableBroadcast(&queue->done_cv);

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
		serve_mark_requests();
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
		LWLockAcquire(queue_lock, LW_EXCLUSIVE);
		queue->directories = (uint64) ps_dir_count();
		LWLockRelease(queue_lock);
		if (busy)
			continue;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 1000L, PG_WAIT_EXTENSION);
	}
}
