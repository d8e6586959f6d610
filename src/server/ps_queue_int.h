/*-------------------------------------------------------------------------
 *
 * ps_queue_int.h
 *	  The push queue in shared memory: the ring of pushes, and the slots in
 *	  which backends wait for their outcome.
 *
 * Layer 7 (training services).  Included only by the queue's own files:
 * ps_queue.c (backends put pushes in), ps_marks.c (time marks),
 * ps_sched.c (the appliers take them out) and ps_apply.c (and apply
 * them).  Everything else uses ps_queue.h.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_QUEUE_INT_H
#define PS_QUEUE_INT_H

#include "port/atomics.h"
#include "storage/condition_variable.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/relfilenode.h"
#include "utils/timestamp.h"

#include "ps_base.h"
#include "ps_once.h"
#include "ps_rule.h"

#define PS_ERROR_LEN 256

typedef enum PsSlotStatus
{
	PS_SLOT_IDLE = 0,
	PS_SLOT_QUEUED,				/* in the queue, not taken yet */
	PS_SLOT_APPLYING,			/* taken by an applier (slot->applier) */
	PS_SLOT_DIRECT,				/* being applied by its own backend */
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
	int64		clock;			/* of the pushing worker, -1 for plain pushes */
	int32		applier;		/* of an APPLYING push: who took it */
	int32		split;			/* ... and the split its group is, or -1 */
	PsError		error;			/* of a FAILED push */
	/* the exactly-once client whose pushes to a table it holds, 0: none */
	uint64		once_client;
	Oid			once_dbid;
	Oid			once_relid;
} PsSlot;

/*
 * One applier of the scheduler's pool, and what it did since the server
 * started (kept across its restarts).  Protected by the queue lock, but
 * for idle, which backends read without it to choose whom to wake.
 */
typedef struct PsApplier
{
	pid_t		pid;			/* 0: not running */
	Latch	   *latch;
	pg_atomic_uint32 idle;		/* waits for work, its latch reset */
	pg_atomic_uint32 working;	/* holds work taken (0: idle or just woken) */
	uint64		rounds;			/* rounds that applied something */
	uint64		aggregates;		/* groups applied */
	uint64		pushes;			/* pushes applied */
	uint64		failed;			/* pushes failed */
	uint64		keys_pushed;	/* keys in the pushes applied */
	uint64		keys_applied;	/* keys in the aggregates applied */
	uint64		directories;	/* directory copies it holds */
	uint64		parts;			/* parts of split groups it applied */
	uint64		gather_waits;	/* groups held back for the gather window */
	uint64		gather_us;		/* time they were held back, microseconds */
} PsApplier;

/*
 * What applying one part of a group (keys lo .. hi; a whole group is one
 * part) did: enough to tell each push how much of it was written.
 */
typedef struct PsPartResult
{
	int64		lo;
	int64		hi;
	bool		failed;
	bool		unknown;		/* its applier exited: may be partly written */
	bool		complete;		/* every key of it written (or filtered) */
	int64		stop;			/* if not: the first key it did not write */
	bool		wrote;			/* it wrote something */
	int32		nkeys;			/* keys in its aggregate */
	PsError		error;			/* of a failed part */
} PsPartResult;

#define PS_SPLIT_MAX_TASKS 64	/* pushes in a group split across appliers */
#define PS_MAX_SPLITS 8			/* groups split at once */
#define PS_PART_CLOSED (-2)		/* taker of a part not open yet */
#define PS_PART_OPEN (-1)		/* ... of one open to any applier */

/* A part of a split group: one applier applies it. */
typedef struct PsPart
{
	int32		taker;			/* applier, or PS_PART_OPEN, PS_PART_CLOSED */
	bool		done;
	PsPartResult result;		/* lo, hi set when the split is made */
} PsPart;

/*
 * A large group split by key ranges, so that several appliers apply its
 * parts at once.  The applier that took the group (the leader) makes it;
 * the one that finishes its last part acknowledges the pushes.
 */
typedef struct PsSplit
{
	bool		used;
	int32		leader;
	int32		ntasks;
	int32		nparts;
	int32		ndone;
	Size		tasks[PS_SPLIT_MAX_TASKS];	/* ring offsets, queue order */
	PsPart		parts[PS_MAX_APPLIERS];
} PsSplit;

typedef struct PsQueue
{
	uint64		head;			/* first byte not yet consumed */
	uint64		tail;			/* first byte not yet reserved */
	Size		size;			/* bytes in the ring */
	int32		nappliers;		/* ps.scheduler_workers */
	int32		running;		/* appliers running now */
	ConditionVariable space_cv; /* the ring has room again */
	ConditionVariable done_cv;	/* a push was applied or failed */
	ConditionVariable claim_cv; /* a claim on a client was let go */
	/* time marks: timestamped commit records ahead of ps WAL */
	pg_atomic_uint64 last_mark; /* TimestampTz of the last one written */
	uint64		marks_requested;	/* asked for by backends */
	uint64		marks_written;	/* requests served */
	/* pushes applied by their own backends, ps.scheduler = auto */
	uint64		direct_pushes;
	uint64		direct_failed;
	uint64		direct_keys;
	PsApplier	appliers[PS_MAX_APPLIERS];
	PsSplit		splits[PS_MAX_SPLITS];
	PsSlot		slots[FLEXIBLE_ARRAY_MEMBER];	/* MaxBackends */
} PsQueue;

/*
 * One push in the ring, followed by its keys and values.  len, skip,
 * taken_by and done change under the queue lock only; the rest is written
 * by the pushing backend before it sets ready.
 */
typedef struct PsTaskHeader
{
	uint32		len;			/* bytes of the entry, MAXALIGNed */
	bool		ready;			/* payload written */
	bool		skip;			/* padding at the end of the ring */
	bool		done;			/* applied, failed or passed over: room again */
	bool		held;			/* was held back for the gather window */
	int32		taken_by;		/* the applier that took it, -1: none */
	TimestampTz queued;			/* when it was published */
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
	bool		range;			/* keys first .. first + nkeys - 1, not stored */
	int64		first;
	PsOnceMark	once;			/* exactly-once id (base.client 0: none) */
} PsTaskHeader;

/*
 * The payload: nkeys sorted, distinct keys (not for a range), then dim
 * values per key.
 */
#define TASK_HDRSZ MAXALIGN(sizeof(PsTaskHeader))
#define TaskKeys(h) ((int64 *) ((char *) (h) + TASK_HDRSZ))
#define TaskVals(h) ((h)->range ? (float4 *) TaskKeys(h) : \
					 (float4 *) (TaskKeys(h) + (h)->nkeys))

/* Key i of a push, stored or of its range. */
static inline int64
TaskKey(const PsTaskHeader *h, int i)
{
	return h->range ? h->first + i : TaskKeys(h)[i];
}

/* in shared memory, attached by every process (ps_queue.c) */
extern PsQueue *ps_queue;
extern char *ps_ring;
extern LWLock *ps_queue_lock;

/* Wake an idle applier, if one is (ps_queue.c). */
extern void ps_queue_wake_applier(void);

/* Bytes of ring left before its end at pos, if too few for a header. */
static inline Size
ps_queue_unusable_tail(uint64 pos)
{
	Size		left = ps_queue->size - (Size) (pos % ps_queue->size);

	return left < TASK_HDRSZ ? left : 0;
}

#endif							/* PS_QUEUE_INT_H */
