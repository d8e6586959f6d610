/*-------------------------------------------------------------------------
 *
 * ps_state.h
 *	  Per-table state in shared memory: task timestamps, the consistency
 *	  model in force, and the workers training on the table.
 *
 * Layer 6 (shared state).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_STATE_H
#define PS_STATE_H

#include "access/xlogdefs.h"
#include "storage/condition_variable.h"
#include "storage/relfilenode.h"
#include "storage/spin.h"
#include "utils/relcache.h"
#include "utils/timestamp.h"

#include "ps_base.h"
#include "ps_config.h"

typedef enum PsWorkerState
{
	PS_WORKER_FREE = 0,			/* slot unused */
	PS_WORKER_ACTIVE,			/* joined, heard from recently */
	PS_WORKER_LEFT,				/* called ps_leave */
	PS_WORKER_DROPPED			/* silent longer than ps.worker_timeout */
} PsWorkerState;

typedef struct PsWorker
{
	int32		id;				/* worker id, unique per table */
	int32		state;			/* PsWorkerState */
	int64		clock;			/* clocks up to this are complete */
	int64		position;		/* highest clock the worker has used */
	int64		pushed;			/* highest clock it pushed at, -1: none */
	TimestampTz last_seen;		/* last call (heartbeat) */
	TimestampTz joined;			/* when it joined: tells apart reused ids */
	Oid			role;			/* the role that joined it */
	int32		pid;			/* backend of the last call */
} PsWorker;

/* A range clock of one worker: its pushes up to clock are applied on [lo, hi]. */
typedef struct PsClockSeg
{
	int64		lo;
	int64		hi;
	int64		clock;
	int32		worker;
} PsClockSeg;

typedef struct PsStateKey
{
	Oid			dbid;
	Oid			relid;
} PsStateKey;

/*
 * One table's entry.  mutex protects everything but key and node, which
 * change only under ps_state_lock held exclusively.
 */
typedef struct PsTableState
{
	PsStateKey	key;
	RelFileNode node;			/* storage the timestamps belong to */
	slock_t		mutex;
	uint64		last_ts;		/* last timestamp issued */
	uint64		reserved;		/* timestamps up to this are reserved */
	XLogRecPtr	reserved_lsn;	/* WAL record of that reservation */
	TimestampTz last_used;		/* for choosing an entry to evict */
	PsConsistency consistency;	/* copy of the configuration, for waiters */
	int32		max_delay;
	int32		next_worker_id;
	int32		nactive;		/* ACTIVE workers */
	int32		nwaiting;		/* backends sleeping on cv */
	int32		nsegs;			/* range clock segments in use */
	uint64		filtered_keys[3];	/* per PsFilterKind: keys removed */
	uint64		filtered_bytes[3];	/* ... and the bytes they would take */
	ConditionVariable cv;		/* a clock advanced, or the rules changed */
	PsWorker	workers[FLEXIBLE_ARRAY_MEMBER]; /* ps_max_workers slots */
	/* then ps_max_clock_ranges PsClockSeg, sorted by worker then lo */
} PsTableState;

#define PsStateSegs(st) ((PsClockSeg *) &(st)->workers[ps_max_workers])

extern void ps_state_init(void);
extern PsTableState *ps_state_acquire(Relation rel, const PsConfig *cfg);
extern PsTableState *ps_state_acquire_exclusive(Relation rel, const PsConfig *cfg);
extern bool ps_state_expire_workers(PsTableState *st, TimestampTz now,
									int32 except);
extern void ps_state_check_join(Relation rel, PsTableState *st, Oid role,
								bool superuser);
extern TimestampTz ps_state_worker_joined(Oid dbid, Oid relid, int32 worker);
extern PsTableState *ps_state_lookup(Oid dbid, Oid relid);
extern void ps_state_release(void);
extern uint64 ps_state_next_ts(Relation rel, XLogRecPtr *flush_lsn);
extern uint64 ps_state_last_ts(Relation rel);
extern void ps_state_forget(Oid relid);
extern void ps_state_forget_at_commit(Oid relid);
extern void ps_state_consistency_at_commit(Oid relid, PsConsistency c,
										   int max_delay, PsConsistency old,
										   int old_delay);
extern void ps_state_reset_ts(Oid relid);
extern void ps_state_filter_counts(Relation rel, uint64 *keys, uint64 *bytes);

#endif							/* PS_STATE_H */
