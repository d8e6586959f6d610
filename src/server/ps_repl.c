/*-------------------------------------------------------------------------
 *
 * ps_repl.c
 *	  Replication after aggregation, the pushing side: the ring in shared
 *	  memory that carries the after-images of applied aggregates to the
 *	  replicator, and the waits of synchronous replication.
 *
 * When this server's cluster keeps replicas (ps_cluster_configure), the
 * backend of a push marks its database as the replicated one and makes
 * sure its replicator runs (ps_repl_prepare); whoever applies the push,
 * an applier of the scheduler for a whole aggregate or the backend
 * itself, has the store hand the after-images it wrote (PsCapture) into
 * the ring as records of at most a quarter of it, each with a ticket, in
 * order: each batch of leaves while its leaves are still locked, so that
 * two writes of one key are in the ring in the order they wrote it (after
 * the locks, a later write could overtake an earlier one, and a replica
 * would end with the earlier's image).  So that nothing waits for room
 * under a leaf lock (a replica's apply worker may wait for that leaf, and
 * a synchronous replicator for such a worker elsewhere), room is reserved
 * before a batch's first lock (ps_repl_reserve).  The replicator
 * (ps_replicator.c) takes the records, writes them as rows of the
 * extension's table ps_delta, commits, and only then frees their room and
 * confirms their tickets.  In synchronous mode a push is answered once
 * every ticket given out by the time it was applied is confirmed
 * (ps_repl_wait): its own records were enqueued before.  A record is
 * freed only after its commit, so a replicator that restarts sends again
 * what it had not committed; replicas apply after-images, in order, so a
 * record sent twice changes nothing.
 *
 * One database per server may be replicated: its cluster is the server's.
 * A full ring holds the appliers back until the replicator has made room.
 *
 * Layer 7 (training services): used by the appliers (ps_apply.c), the
 * SQL push (ps_sql_push.c) and the replicator; reads the cluster row
 * (layer 5).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/condition_variable.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "ps_base.h"
#include "ps_cluster.h"
#include "ps_capture.h"
#include "ps_repl.h"

typedef struct PsReplShared
{
	Oid			dbid;			/* the database replicated, or InvalidOid */
	bool		synchronous;
	pid_t		replicator;		/* its pid, 0: not running */
	TimestampTz started;		/* when a replicator was last asked for */
	Latch	   *latch;
	uint64		head;			/* first byte not yet committed */
	uint64		tail;			/* first byte not yet written */
	uint64		taken;			/* first byte the replicator has not read */
	uint64		reserved;		/* bytes backends reserved (ps_repl_reserve) */
	uint64		tickets;		/* the last ticket given */
	uint64		confirmed;		/* every ticket up to it is committed */
	uint64		records;		/* records committed */
	uint64		bytes;			/* their bytes */
	TimestampTz last_commit;
	ConditionVariable space_cv;
	ConditionVariable confirmed_cv;
	Size		size;
} PsReplShared;

static PsReplShared *repl = NULL;
static Size my_reserved = 0;	/* of repl->reserved, this backend's */
static bool abort_callback = false;
static char *repl_ring = NULL;
static LWLock *repl_lock = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

#define RING_BYTES() ((Size) ps_replication_buffer * 1024 * 1024)
#define REC_HDRSZ MAXALIGN(sizeof(PsReplRecord))

static void
repl_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(add_size(MAXALIGN(sizeof(PsReplShared)), RING_BYTES()));
	RequestNamedLWLockTranche("ps replication", 1);
}

static void
repl_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	repl_lock = &(GetNamedLWLockTranche("ps replication"))->lock;
	repl = ShmemInitStruct("ps replication", sizeof(PsReplShared), &found);
	repl_ring = ShmemInitStruct("ps replication ring", RING_BYTES(), &found);
	if (!found)
	{
		memset(repl, 0, sizeof(PsReplShared));
		repl->size = RING_BYTES();
		ConditionVariableInit(&repl->space_cv);
		ConditionVariableInit(&repl->confirmed_cv);
	}
	LWLockRelease(AddinShmemInitLock);
}

/* Ask for the ring's shared memory (from _PG_init). */
void
ps_repl_init(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = repl_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = repl_shmem_startup;
}

/* Start the replicator of database dbid (a dynamic background worker). */
static void
start_replicator(Oid dbid)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 1;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "ps");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "ps_replicator_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "ps replicator");
	snprintf(worker.bgw_type, BGW_MAXLEN, "ps replicator");
	worker.bgw_main_arg = ObjectIdGetDatum(dbid);
	worker.bgw_notify_pid = 0;
	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("could not start the ps replicator"),
				 errhint("Raise max_worker_processes: the replicator needs one background worker.")));
}

/*
 * Before a push to a table of this database: does the cluster keep
 * replicas?  If so, mark the database as the replicated one and make sure
 * its replicator runs; *synchronous tells whether the push must wait
 * (ps_repl_wait).  Errors if another database of the server is.
 */
bool
ps_repl_prepare(bool *synchronous)
{
	const PsCluster *c = ps_cluster_get();
	Oid			other = InvalidOid;
	bool		start = false;
	TimestampTz now;

	*synchronous = false;
	if (!ps_cluster_replicating(c) || ps_replication_buffer == 0)
		return false;
	now = GetCurrentTimestamp();
	LWLockAcquire(repl_lock, LW_EXCLUSIVE);
	if (OidIsValid(repl->dbid) && repl->dbid != MyDatabaseId)
		other = repl->dbid;
	else
	{
		repl->dbid = MyDatabaseId;
		repl->synchronous = c->synchronous;
		if (repl->replicator == 0 &&
			TimestampDifferenceExceeds(repl->started, now, 5000))
		{
			repl->started = now;
			start = true;
		}
	}
	LWLockRelease(repl_lock);
	if (OidIsValid(other))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("another database of this server (OID %u) is replicated", other),
				 errhint("One database per server may be in a cluster with replicas; restart the server to change which.")));
	if (start)
		start_replicator(MyDatabaseId);
	*synchronous = c->synchronous;
	return true;
}

/* Are pushes of database dbid replicated (ps_repl_prepare said so)? */
bool
ps_repl_wanted(Oid dbid)
{
	bool		yes;

	if (repl == NULL || ps_replication_buffer == 0)
		return false;
	LWLockAcquire(repl_lock, LW_SHARED);
	yes = repl->dbid == dbid;
	LWLockRelease(repl_lock);
	return yes;
}

/* Bytes of the ring left before its end at pos, if too few for a header. */
static Size
unusable_tail(uint64 pos)
{
	Size		left = repl->size - (Size) (pos % repl->size);

	return left < REC_HDRSZ ? left : 0;
}

/*
 * Put one record of n keys (width floats each) into the ring, waiting for
 * room unless this backend reserved it; for node dest only, if not 0; if
 * route is set (and n 0), for the holders of that key.  n is small enough
 * that the record is at most a quarter of the ring.
 */
static void
enqueue_one(Oid dbid, Oid relid, uint32 dest, const int64 *route, int64 clock,
			int dim, int width, const int64 *keys, const float4 *vals, int n,
			const PsOnceEntry *once, int nonce)
{
	Size		klen = sizeof(int64) * n;
	Size		vlen = sizeof(float4) * (Size) n * width;
	Size		olen = sizeof(PsOnceEntry) * nonce;
	Size		len = REC_HDRSZ + MAXALIGN(klen) + MAXALIGN(vlen) + MAXALIGN(olen);
	Latch	   *latch;

	for (;;)
	{
		uint64		pos;
		Size		left,
					skip;
		PsReplRecord *r;

		LWLockAcquire(repl_lock, LW_EXCLUSIVE);
		pos = repl->tail + unusable_tail(repl->tail);
		left = repl->size - (Size) (pos % repl->size);
		skip = left < len ? left : 0;
		/* the room others reserved stays theirs; this backend's is used */
		if (pos + skip + len - repl->head + (repl->reserved - my_reserved) <= repl->size)
		{
			Size		used = Min(my_reserved, (pos + skip + len) - repl->tail);

			my_reserved -= used;
			repl->reserved -= used;
			if (skip > 0)
			{
				r = (PsReplRecord *) (repl_ring + pos % repl->size);
				r->len = (uint32) skip;
				r->skip = true;
				pos += skip;
			}
			r = (PsReplRecord *) (repl_ring + pos % repl->size);
			r->len = (uint32) len;
			r->skip = false;
			r->dbid = dbid;
			r->relid = relid;
			r->dest = dest;
			r->routed = route != NULL;
			r->route_key = route ? *route : 0;
			r->dim = dim;
			r->width = width;
			r->nkeys = n;
			r->nonce = nonce;
			r->clock = clock;
			r->ticket = ++repl->tickets;
			if (n > 0)
			{
				memcpy((char *) r + REC_HDRSZ, keys, klen);
				memcpy((char *) r + REC_HDRSZ + MAXALIGN(klen), vals, vlen);
			}
			if (nonce > 0)
				memcpy((char *) r + REC_HDRSZ + MAXALIGN(klen) + MAXALIGN(vlen), once, olen);
			repl->tail = pos + len;
			latch = repl->latch;
			LWLockRelease(repl_lock);
			if (latch)
				SetLatch(latch);
			ConditionVariableCancelSleep();
			return;
		}
		latch = repl->latch;
		LWLockRelease(repl_lock);
		if (latch)
			SetLatch(latch);
		ConditionVariablePrepareToSleep(&repl->space_cv);
		ConditionVariableTimedSleep(&repl->space_cv, 1000, PG_WAIT_EXTENSION);
		CHECK_FOR_INTERRUPTS();
	}
}

/* Give back what this backend reserved and did not use. */
void
ps_repl_unreserve(void)
{
	if (my_reserved == 0)
		return;
	LWLockAcquire(repl_lock, LW_EXCLUSIVE);
	repl->reserved -= Min(my_reserved, repl->reserved);
	LWLockRelease(repl_lock);
	my_reserved = 0;
	ConditionVariableBroadcast(&repl->space_cv);
}

static void
unreserve_at_abort(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
		ps_repl_unreserve();
}

/* also at a savepoint's rollback: a session must not keep the room idle */
static void
unreserve_at_subabort(SubXactEvent event, SubTransactionId mySubid,
					  SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
		ps_repl_unreserve();
}

/*
 * Wait until the ring has room for nrecords records of nkeys keys in all
 * (width floats each), and keep it for this backend: its next enqueues
 * (under leaf locks) then never wait.  Room for twice that, since a record
 * may need padding up to its own size at the ring's end.  Called with no
 * lock held; the room goes back when used, by ps_repl_unreserve, or at
 * abort.
 */
void
ps_repl_reserve(int nkeys, int width, int nrecords)
{
	Size		bytes = 2 * ((Size) nrecords * (REC_HDRSZ + 2 * MAXIMUM_ALIGNOF) +
							 (Size) nkeys * (sizeof(int64) + sizeof(float4) * width));

	ps_repl_unreserve();		/* one left by an error */
	if (!abort_callback)
	{
		RegisterXactCallback(unreserve_at_abort, NULL);
		RegisterSubXactCallback(unreserve_at_subabort, NULL);
		abort_callback = true;
	}
	bytes = Min(bytes, repl->size / 2);
	for (;;)
	{
		bool		ok;

		LWLockAcquire(repl_lock, LW_EXCLUSIVE);
		ok = repl->tail - repl->head + repl->reserved + bytes <= repl->size;
		if (ok)
			repl->reserved += bytes;
		LWLockRelease(repl_lock);
		if (ok)
			break;
		ConditionVariablePrepareToSleep(&repl->space_cv);
		ConditionVariableTimedSleep(&repl->space_cv, 1000, PG_WAIT_EXTENSION);
		CHECK_FOR_INTERRUPTS();
	}
	ConditionVariableCancelSleep();
	my_reserved = bytes;
}

/* Keys of width floats that one record of the ring holds at most. */
static int
chunk_keys(int width, int nonce)
{
	Size		per_key = sizeof(int64) + sizeof(float4) * (Size) width;
	Size		olen = MAXALIGN(sizeof(PsOnceEntry) * nonce);

	return (int) Max(1, (repl->size / 4 - REC_HDRSZ - 32 - olen) / per_key);
}

/*
 * n keys (n may be 0) and their after-images into the ring, in records of
 * at most a quarter of it; the exactly-once records go with the last, so
 * that a replica has the values first.
 */
static void
enqueue_chunks(Oid dbid, Oid relid, const int64 *route, int64 clock, int dim,
			   int width, const int64 *keys, const float4 *vals, int n,
			   const PsOnceEntry *once, int nonce)
{
	int			chunk = chunk_keys(width, nonce),
				off = 0;

	do
	{
		int			m = Min(chunk, n - off);
		bool		last = off + m >= n;

		enqueue_one(dbid, relid, 0, route, clock, dim, width, keys + off,
					vals + (Size) off * width, m, last ? once : NULL, last ? nonce : 0);
		off += m;
	} while (off < n);
}

/*
 * The capture's reserve: before a batch of the write locks its first
 * leaf, room for at least min_keys and at most want keys (about a
 * sixteenth of the ring); returns how many keys it may capture.
 */
static int
capture_reserve(PsCapture *cap, int want, int min_keys, int width)
{
	Size		per_key = sizeof(int64) + sizeof(float4) * (Size) width;
	int			keys = Min(want, Max(min_keys, (int) (repl->size / 16 / per_key)));
	int			chunk = chunk_keys(width, 0);

	ps_repl_reserve(keys, width, (keys + chunk - 1) / chunk);
	return keys;
}

/*
 * The capture's hand-on, under the batch's leaf locks: what it captured
 * goes into the ring now, in the room reserved, so that the writes of a
 * key reach the replicas in the order they locked its leaf.
 */
static void
capture_hand_on(PsCapture *cap)
{
	PsOnceEntry *once = NULL;
	int			nonce = 0,
				i;

	/*
	 * The pushes' exactly-once records as this batch left them go with its
	 * values, in the same record: a replica that has these values knows
	 * how far each push got, so a push sent again after a failover is
	 * applied to the rest of its keys only.
	 */
	if (cap->nmarks > 0 && cap->n > 0)
	{
		once = palloc(sizeof(PsOnceEntry) * cap->nmarks);
		for (i = 0; i < cap->nmarks; i++)
		{
			uint64		evictions;
			XLogRecPtr	lsn;

			if (ps_once_lookup(cap->rel, cap->marks[i].base.client, &once[nonce],
							   &evictions, &lsn))
				nonce++;
		}
	}
	if (cap->n > 0)
	{
		enqueue_chunks(cap->dbid, cap->relid, NULL, cap->clock, cap->dim, cap->width,
					   cap->keys, cap->vals, cap->n, once, nonce);
		cap->handed = true;
		cap->last_key = cap->keys[cap->n - 1];
	}
	if (once)
		pfree(once);
	cap->n = 0;
	ps_repl_unreserve();
}

/*
 * Start capturing a write of table rel (at clock or -1, dim values and
 * width floats a key, with nmarks pushes of exactly-once ids) for the
 * replicas: its batches hand their after-images
 * on under their leaf locks.
 */
void
ps_repl_capture_start(PsCapture *cap, Relation rel, int64 clock, int dim, int width,
					  const PsOnceMark *marks, int nmarks)
{
	Oid			dbid = MyDatabaseId,
				relid = RelationGetRelid(rel);

	memset(cap, 0, sizeof(PsCapture));
	cap->rel = rel;
	cap->marks = marks;
	cap->nmarks = nmarks;
	cap->width = width;			/* also for a record of once records only */
	cap->dbid = dbid;
	cap->relid = relid;
	cap->clock = clock;
	cap->dim = dim;
	cap->reserve = capture_reserve;
	cap->hand_on = capture_hand_on;
}

/*
 * Hand the after-images of an applied write of table relid (at clock, or
 * -1) and its pushes' exactly-once records to the replicator, in records
 * of at most a quarter of the ring.
 */
void
ps_repl_enqueue(Oid dbid, Oid relid, int64 clock, int dim, const PsCapture *cap)
{
	/*
	 * Values handed on batch by batch (hand_on): the final records go after
	 * them, to the holders of the write's last key.
	 */
	enqueue_chunks(dbid, relid, cap->n == 0 && cap->handed ? &cap->last_key : NULL,
				   clock, dim, cap->width, cap->keys, cap->vals, cap->n,
				   cap->once, cap->nonce);
}

/*
 * Hand n after-images of table relid (keys ascending, width floats each),
 * with nonce exactly-once records, to the replicator for node dest only:
 * a range's copy for a node that joins its holders (ps_cluster_copy).
 * The caller holds the lock of the page they were read from, so that no
 * write of those keys is in the ring before them but after their read,
 * and has reserved the room (ps_repl_reserve).  n is at most what one
 * page holds.
 */
void
ps_repl_enqueue_copy(Oid dbid, Oid relid, uint32 dest, int dim, int width,
					 const int64 *keys, const float4 *vals, int n,
					 const PsOnceEntry *once, int nonce)
{
	enqueue_one(dbid, relid, dest, NULL, -1, dim, width, keys, vals, n, once, nonce);
}

/*
 * After a write with pushes that have exactly-once ids (marks): their
 * clients' records as the write left them, for the replicas, which then
 * know those pushes as applied.  The pushes' clients are claimed (one push
 * of a client to a table in flight), so the records stay as read.
 */
void
ps_repl_capture_once(Relation rel, const PsOnceMark *marks, int nmarks, PsCapture *cap)
{
	int			i;

	for (i = 0; i < nmarks; i++)
	{
		PsOnceEntry e;
		uint64		evictions;
		XLogRecPtr	lsn;

		if (ps_once_lookup(rel, marks[i].base.client, &e, &evictions, &lsn))
			ps_capture_once(cap, &e, nmarks);
	}
}

/* The last ticket given out: what a synchronous push waits for. */
uint64
ps_repl_last_ticket(void)
{
	uint64		t;

	LWLockAcquire(repl_lock, LW_SHARED);
	t = repl->tickets;
	LWLockRelease(repl_lock);
	return t;
}

/*
 * Wait until every ticket up to `ticket` is committed by the replicator,
 * and so (synchronous_standby_names) on the replicas.
 */
void
ps_repl_wait(uint64 ticket)
{
	for (;;)
	{
		uint64		done;
		bool		running;

		LWLockAcquire(repl_lock, LW_SHARED);
		done = repl->confirmed;
		running = repl->replicator != 0;
		LWLockRelease(repl_lock);
		if (done >= ticket)
			break;
		if (!running)
		{
			bool		sync;

			(void) ps_repl_prepare(&sync);	/* starts it again if need be */
		}
		ConditionVariablePrepareToSleep(&repl->confirmed_cv);
		ConditionVariableTimedSleep(&repl->confirmed_cv, 1000, PG_WAIT_EXTENSION);
		CHECK_FOR_INTERRUPTS();
	}
	ConditionVariableCancelSleep();
}

/*
 * The replicator of dbid starts: false if another one runs (it then
 * exits).  It reads again whatever was not committed.
 */
bool
ps_repl_attach(Oid dbid)
{
	bool		ok;

	LWLockAcquire(repl_lock, LW_EXCLUSIVE);
	ok = repl->replicator == 0 && (repl->dbid == dbid || !OidIsValid(repl->dbid));
	if (ok)
	{
		repl->dbid = dbid;
		repl->replicator = MyProcPid;
		repl->latch = MyLatch;
		repl->taken = repl->head;
	}
	LWLockRelease(repl_lock);
	return ok;
}

/* The replicator exits (also on error, from its exit callback). */
void
ps_repl_detach(bool stop_replicating)
{
	LWLockAcquire(repl_lock, LW_EXCLUSIVE);
	if (repl->replicator == MyProcPid)
	{
		repl->replicator = 0;
		repl->latch = NULL;
		if (stop_replicating && repl->head == repl->tail)
			repl->dbid = InvalidOid;
	}
	LWLockRelease(repl_lock);
	ConditionVariableBroadcast(&repl->confirmed_cv);
}

/*
 * Records not read yet, up to about max_bytes, copied into palloc'd
 * memory (one block: records back to back, skips left out).  Returns how
 * many; *last_ticket is the last one's ticket.
 */
int
ps_repl_take(Size max_bytes, char **out, uint64 *last_ticket)
{
	uint64		pos,
				end;
	Size		used = 0;
	int			n = 0;
	char	   *buf;

	LWLockAcquire(repl_lock, LW_EXCLUSIVE);
	pos = repl->taken;
	end = repl->tail;
	LWLockRelease(repl_lock);
	if (pos == end)
		return 0;
	buf = palloc(Min((Size) (end - pos), max_bytes + repl->size / 4));
	while (pos < end && used < max_bytes)
	{
		PsReplRecord *r;

		pos += unusable_tail(pos);
		if (pos >= end)
			break;
		r = (PsReplRecord *) (repl_ring + pos % repl->size);
		if (!r->skip)
		{
			memcpy(buf + used, r, r->len);
			used += r->len;
			*last_ticket = r->ticket;
			n++;
		}
		pos += r->len;
	}
	LWLockAcquire(repl_lock, LW_EXCLUSIVE);
	repl->taken = pos;
	LWLockRelease(repl_lock);
	*out = buf;
	return n;
}

/*
 * What was taken is committed: free its room, confirm its tickets.
 */
void
ps_repl_committed(uint64 last_ticket, int nrecords, Size bytes)
{
	LWLockAcquire(repl_lock, LW_EXCLUSIVE);
	repl->head = repl->taken;
	repl->confirmed = Max(repl->confirmed, last_ticket);
	repl->records += nrecords;
	repl->bytes += bytes;
	repl->last_commit = GetCurrentTimestamp();
	LWLockRelease(repl_lock);
	ConditionVariableBroadcast(&repl->space_cv);
	ConditionVariableBroadcast(&repl->confirmed_cv);
}

/* The replicator should stop: nothing to replicate, nothing pending. */
bool
ps_repl_idle(void)
{
	bool		idle;

	LWLockAcquire(repl_lock, LW_SHARED);
	idle = repl->head == repl->tail;
	LWLockRelease(repl_lock);
	return idle;
}

/* Counters for ps_replication(). */
void
ps_repl_stats(PsReplStats *s)
{
	LWLockAcquire(repl_lock, LW_SHARED);
	s->dbid = repl->dbid;
	s->replicator = repl->replicator;
	s->synchronous = repl->synchronous;
	s->pending_bytes = repl->tail - repl->head;
	s->tickets = repl->tickets;
	s->confirmed = repl->confirmed;
	s->records = repl->records;
	s->bytes = repl->bytes;
	s->last_commit = repl->last_commit;
	LWLockRelease(repl_lock);
}
