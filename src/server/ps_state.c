/*-------------------------------------------------------------------------
 *
 * ps_state.c
 *	  Shared-memory state of each ps table in use: the task timestamp
 *	  counter, and room for the workers training on it (ps_workers.c).
 *
 * Every write to a table gets a task timestamp, unique and increasing per
 * table.  Timestamps are handed out from shared memory and made crash-safe
 * the way sequences are: the metapage records a reservation
 * (ts_reserved) ahead of the counter, WAL-logged before any timestamp under
 * it is returned, and after a restart counting resumes above it.  So a
 * timestamp that reached a client is never issued again; timestamps
 * reserved but not issued before a crash are skipped.
 *
 * Entries are keyed by (database, table OID) and re-read from the metapage
 * when the table's storage changes (TRUNCATE): timestamps restart with the
 * new storage.  Because everything an entry knows is also in the metapage,
 * an entry without workers can be dropped at any time: when the table is
 * dropped, and when the fixed-size table of entries is full (the least
 * recently used entry without workers makes room; entries of tables that
 * no longer exist age out this way).  Users of an entry hold ps_state_lock
 * in shared mode, so an entry is never evicted under them; an entry with
 * active workers is never evicted (its workers would be lost).
 *
 * No role can exhaust the entries for others: tables with workers may
 * hold at most three quarters of them (the rest are always there for
 * plain pushes and INSERTs, which need an entry for their timestamps),
 * one role may have workers on at most ps.max_training_tables_per_role
 * tables and half of the training entries (superusers excepted), and a
 * table's entry stays pinned only while workers are active or pulls wait
 * on it (a waiting pull that is terminated takes its count back in an
 * exit callback), and workers silent for longer than
 * ps.worker_timeout are expired whenever an entry or a slot for a new
 * training table is needed, not only when someone touches their table.
 *
 * Layer 6 (shared state): per-table entries in shared memory; calls the
 * configuration and the directory.  Must not call the training services
 * above it (workers, clocks, filters, scheduler), which keep their data
 * in these entries.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "ps_base.h"
#include "ps_dir.h"
#include "ps_state.h"

/* timestamps reserved per metapage update */
#define PS_TS_BATCH 1024

static HTAB *ps_state_hash = NULL;
static LWLock *ps_state_lock = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;

static Size
state_entry_size(void)
{
	return MAXALIGN(offsetof(PsTableState, workers) +
					sizeof(PsWorker) * ps_max_workers +
					sizeof(PsClockSeg) * ps_max_clock_ranges);
}
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static void
ps_state_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(hash_estimate_size(ps_max_tables, state_entry_size()));
	RequestNamedLWLockTranche("ps", 1);
}

static void
ps_state_shmem_startup(void)
{
	HASHCTL		info;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	ps_state_lock = &(GetNamedLWLockTranche("ps"))->lock;
	info.keysize = sizeof(PsStateKey);
	info.entrysize = state_entry_size();
	ps_state_hash = ShmemInitHash("ps table state",
								  ps_max_tables, ps_max_tables,
								  &info, HASH_ELEM | HASH_BLOBS | HASH_FIXED_SIZE);
	LWLockRelease(AddinShmemInitLock);
}

void
ps_state_init(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = ps_state_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = ps_state_shmem_startup;
}

/*
 * Drop the workers of st silent longer than ps.worker_timeout (but not
 * except).  Caller holds ps_state_lock and st's mutex.  Returns whether
 * any was dropped (the caller then wakes st's waiters).
 */
bool
ps_state_expire_workers(PsTableState *st, TimestampTz now, int32 except)
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

/*
 * Drop silent workers in every entry, so that an entry or a training slot
 * they hold goes to someone who needs it now (nobody else may have looked
 * at their tables for a long time).  Caller holds the lock exclusively.
 */
static void
expire_all(void)
{
	HASH_SEQ_STATUS status;
	PsTableState *st;
	TimestampTz now = GetCurrentTimestamp();

	hash_seq_init(&status, ps_state_hash);
	while ((st = hash_seq_search(&status)) != NULL)
	{
		bool		dropped;

		SpinLockAcquire(&st->mutex);
		dropped = ps_state_expire_workers(st, now, 0);
		SpinLockRelease(&st->mutex);
		if (dropped)
			ConditionVariableBroadcast(&st->cv);
	}
}

/*
 * The least recently used entry without active workers or backends
 * sleeping on its condition variable, preferring entries that never had a
 * worker (giving up one whose workers left makes the table's worker ids
 * start at 1 again); NULL if there is none.  Caller holds the lock
 * exclusively.
 */
static PsTableState *
choose_victim(void)
{
	HASH_SEQ_STATUS status;
	PsTableState *st,
			   *victim = NULL,
			   *fallback = NULL;

	hash_seq_init(&status, ps_state_hash);
	while ((st = hash_seq_search(&status)) != NULL)
	{
		if (st->nactive != 0 || st->nwaiting != 0)
			continue;
		if (st->next_worker_id <= 1)
		{
			if (victim == NULL || st->last_used < victim->last_used)
				victim = st;
		}
		else if (fallback == NULL || st->last_used < fallback->last_used)
			fallback = st;
	}
	return victim ? victim : fallback;
}

/*
 * Make room for one entry.  Silent workers are expired first if nothing
 * else can go.  The reserve kept by ps_state_check_join (a quarter of the
 * entries never belongs to tables with workers) means that some entry can
 * always go: no role can make plain pushes and INSERTs fail for others.
 */
static void
evict_one(void)
{
	PsTableState *victim = choose_victim();

	if (victim == NULL)
	{
		expire_all();
		victim = choose_victim();
	}
	if (victim)
		hash_search(ps_state_hash, &victim->key, HASH_REMOVE, NULL);
}

/* Entries that tables with active workers may hold at most. */
static int
training_entries_max(void)
{
	return ps_max_tables - Max(ps_max_tables / 4, 4);
}

/*
 * Tables one role may have workers on at most: the setting, but never more
 * than half of what tables with workers may hold, so that no single role
 * takes all of it even when ps.max_tables is small.
 */
static int
per_role_max(void)
{
	return Min(ps_max_training_tables_per_role, Max(training_entries_max() / 2, 1));
}

/*
 * Entries with active workers, and of them those with an active worker
 * joined by role.  Caller holds the lock exclusively.
 */
static void
count_training(Oid role, int *total, int *of_role)
{
	HASH_SEQ_STATUS status;
	PsTableState *st;

	*total = *of_role = 0;
	hash_seq_init(&status, ps_state_hash);
	while ((st = hash_seq_search(&status)) != NULL)
	{
		int			i;
		bool		mine = false;

		if (st->nactive == 0)
			continue;
		(*total)++;
		for (i = 0; i < ps_max_workers && !mine; i++)
			mine = st->workers[i].state == PS_WORKER_ACTIVE &&
				st->workers[i].role == role;
		if (mine)
			(*of_role)++;
	}
}

/* Does st have an active worker joined by role?  Caller holds the lock. */
static bool
has_worker_of(PsTableState *st, Oid role)
{
	int			i;

	for (i = 0; i < ps_max_workers; i++)
		if (st->workers[i].state == PS_WORKER_ACTIVE && st->workers[i].role == role)
			return true;
	return false;
}

/*
 * May role join a worker on st (the entry of rel)?  Shared state is fixed
 * in size and every table with active workers keeps its entry, so two
 * limits bound what joining can take: tables with workers hold at most
 * three quarters of ps.max_tables entries (the rest stay free for tables
 * without workers, that is, for every plain push and INSERT), and one role
 * has workers on at most ps.max_training_tables_per_role tables at once,
 * and never on more than half of those three quarters (superusers are
 * exempt).  Silent workers are expired before counting.
 * Caller holds ps_state_lock exclusively (ps_state_acquire_exclusive);
 * on error it is released.
 */
void
ps_state_check_join(Relation rel, PsTableState *st, Oid role, bool superuser)
{
	int			total,
				of_role;
	bool		new_table,
				new_for_role;

	SpinLockAcquire(&st->mutex);
	new_table = st->nactive == 0;
	new_for_role = !has_worker_of(st, role);
	SpinLockRelease(&st->mutex);
	if (!new_table && (!new_for_role || superuser))
		return;

	count_training(role, &total, &of_role);
	if ((new_table && total >= training_entries_max()) ||
		(new_for_role && !superuser && of_role >= per_role_max()))
	{
		expire_all();
		SpinLockAcquire(&st->mutex);
		new_table = st->nactive == 0;
		new_for_role = !has_worker_of(st, role);
		SpinLockRelease(&st->mutex);
		count_training(role, &total, &of_role);
	}
	if (new_table && total >= training_entries_max())
	{
		LWLockRelease(ps_state_lock);
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("too many ps tables with workers to join one on \"%s\"",
						RelationGetRelationName(rel)),
				 errdetail("%d tables have live workers; at most %d may (three quarters of ps.max_tables = %d, the rest is kept for tables without workers).",
						   total, training_entries_max(), ps_max_tables),
				 errhint("Let finished workers call ps_leave, or raise ps.max_tables and restart.")));
	}
	if (new_for_role && !superuser && of_role >= per_role_max())
	{
		LWLockRelease(ps_state_lock);
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("role \"%s\" has workers on %d ps tables, as many as one role may",
						GetUserNameFromId(role, false), of_role),
				 errdetail("One role may have workers on ps.max_training_tables_per_role (%d) tables, and on no more than half of the %d that tables with workers may hold.",
						   ps_max_training_tables_per_role, training_entries_max()),
				 errhint("Let finished workers call ps_leave, or raise ps.max_training_tables_per_role or ps.max_tables.")));
	}
}

static bool pending_committed(Oid relid, PsConsistency *c, int *max_delay);

/*
 * The entry of a table in mode (see ps_state_acquire).
 */
static PsTableState *
state_acquire(Relation rel, const PsConfig *cfg, LWLockMode mode)
{
	PsStateKey	key;
	PsTableState *st;
	bool		found;

	key.dbid = MyDatabaseId;
	key.relid = RelationGetRelid(rel);

	for (;;)
	{
		uint64		reserved;

		LWLockAcquire(ps_state_lock, mode);
		st = hash_search(ps_state_hash, &key, HASH_FIND, NULL);
		if (st && RelFileNodeEquals(st->node, rel->rd_node))
			return st;
		LWLockRelease(ps_state_lock);

		/*
		 * Create or reset the entry.  The reservation is read under the
		 * exclusive lock, so that no entry for the table can come and go
		 * between reading it and starting to count from it; and before the
		 * entry is made, so that an error leaves no half-made entry.
		 */
		LWLockAcquire(ps_state_lock, LW_EXCLUSIVE);
		reserved = ps_dir_ts_reserved(rel);
		st = hash_search(ps_state_hash, &key, HASH_ENTER_NULL, &found);
		if (st == NULL)
		{
			evict_one();
			st = hash_search(ps_state_hash, &key, HASH_ENTER_NULL, &found);
		}
		if (st == NULL)
		{
			LWLockRelease(ps_state_lock);
			ereport(ERROR,
					(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
					 errmsg("no room in shared ps table state for \"%s\"",
							RelationGetRelationName(rel)),
					 errdetail("All %d entries belong to tables whose workers are active or waiting.",
							   ps_max_tables),
					 errhint("Raise ps.max_tables and restart, or let finished workers call ps_leave.")));
		}
		if (!found)
		{
			/* workers and clocks survive a TRUNCATE; timestamps do not */
			SpinLockInit(&st->mutex);
			ConditionVariableInit(&st->cv);
			st->next_worker_id = 1;
			st->nactive = 0;
			st->nwaiting = 0;
			st->nsegs = 0;
			memset(st->filtered_keys, 0, sizeof(st->filtered_keys));
			memset(st->filtered_bytes, 0, sizeof(st->filtered_bytes));
			memset(st->workers, 0, sizeof(PsWorker) * ps_max_workers);
			st->consistency = cfg->consistency;
			st->max_delay = cfg->max_delay;
			/* not a change of ours that may yet roll back */
			(void) pending_committed(key.relid, &st->consistency, &st->max_delay);
		}
		if (!found || !RelFileNodeEquals(st->node, rel->rd_node))
		{
			st->node = rel->rd_node;
			st->last_ts = reserved;
			st->reserved = reserved;
			st->reserved_lsn = InvalidXLogRecPtr;
			st->last_used = GetCurrentTimestamp();
		}
		LWLockRelease(ps_state_lock);
	}
}

/*
 * The entry of a table, created (or reset from the metapage and cfg) if
 * need be.  Returns with ps_state_lock held in shared mode; the caller
 * releases it with ps_state_release.  cfg is the table's configuration
 * (read beforehand: reading it takes locks, which must not happen under
 * the LWLock).
 */
PsTableState *
ps_state_acquire(Relation rel, const PsConfig *cfg)
{
	return state_acquire(rel, cfg, LW_SHARED);
}

/* As ps_state_acquire, with the lock held exclusively (for joining). */
PsTableState *
ps_state_acquire_exclusive(Relation rel, const PsConfig *cfg)
{
	return state_acquire(rel, cfg, LW_EXCLUSIVE);
}

/*
 * When the active worker of a table joined, or 0 if it is not active (or
 * the table has no entry).
 */
TimestampTz
ps_state_worker_joined(Oid dbid, Oid relid, int32 worker)
{
	PsTableState *st = ps_state_lookup(dbid, relid);
	TimestampTz joined = 0;
	int			i;

	if (st == NULL)
		return 0;
	SpinLockAcquire(&st->mutex);
	for (i = 0; i < ps_max_workers; i++)
		if (st->workers[i].state == PS_WORKER_ACTIVE && st->workers[i].id == worker)
			joined = st->workers[i].joined;
	SpinLockRelease(&st->mutex);
	ps_state_release();
	return joined;
}

/*
 * Issue the next task timestamp of a table.  *flush_lsn receives the WAL
 * position that must be flushed before the timestamp may reach a client
 * (the reservation covering it).
 */
uint64
ps_state_next_ts(Relation rel, XLogRecPtr *flush_lsn)
{
	TimestampTz now = GetCurrentTimestamp();
	PsTableState *st = ps_state_acquire(rel, ps_config_get(rel));
	uint64		ts;
	uint64		reserved;
	XLogRecPtr	lsn;

	SpinLockAcquire(&st->mutex);
	ts = ++st->last_ts;
	reserved = st->reserved;
	lsn = st->reserved_lsn;
	st->last_used = now;
	SpinLockRelease(&st->mutex);

	if (ts > reserved)
	{
		/*
		 * Reserve a batch ahead.  Concurrent reservers serialise on the
		 * metapage lock; ps_dir_reserve_ts never lowers the reservation.
		 */
		reserved = ps_dir_reserve_ts(rel, ts + PS_TS_BATCH, &lsn);
		SpinLockAcquire(&st->mutex);
		if (reserved > st->reserved)
		{
			st->reserved = reserved;
			st->reserved_lsn = lsn;
		}
		SpinLockRelease(&st->mutex);
	}
	LWLockRelease(ps_state_lock);
	*flush_lsn = lsn;
	return ts;
}

/*
 * The last timestamp issued for a table (0 if none since the table's
 * storage was created).  During recovery nothing is issued here and the
 * counter lives on the primary: the replayed reservation, which is at or
 * above every timestamp the primary issued, stands in for it.  No entry is
 * made then, so that a promoted standby starts counting from the
 * reservation as it is at promotion.
 */
uint64
ps_state_last_ts(Relation rel)
{
	PsTableState *st;
	uint64		ts;

	if (RecoveryInProgress())
		return ps_dir_ts_reserved(rel);
	st = ps_state_acquire(rel, ps_config_get(rel));
	SpinLockAcquire(&st->mutex);
	ts = st->last_ts;
	SpinLockRelease(&st->mutex);
	LWLockRelease(ps_state_lock);
	return ts;
}

/*
 * The entry of a table if there is one, by database and table (the
 * scheduler serves every database).  Returns with ps_state_lock held in
 * shared mode (release it with ps_state_release), or NULL without it.
 */
PsTableState *
ps_state_lookup(Oid dbid, Oid relid)
{
	PsStateKey	key;
	PsTableState *st;

	key.dbid = dbid;
	key.relid = relid;
	LWLockAcquire(ps_state_lock, LW_SHARED);
	st = hash_search(ps_state_hash, &key, HASH_FIND, NULL);
	if (st == NULL)
		LWLockRelease(ps_state_lock);
	return st;
}

void
ps_state_release(void)
{
	LWLockRelease(ps_state_lock);
}

/* The filter counters of a table (zeros if it has no shared state). */
void
ps_state_filter_counts(Relation rel, uint64 *keys, uint64 *bytes)
{
	PsTableState *st = ps_state_lookup(MyDatabaseId, RelationGetRelid(rel));

	if (st == NULL)
		return;
	SpinLockAcquire(&st->mutex);
	memcpy(keys, st->filtered_keys, sizeof(st->filtered_keys));
	memcpy(bytes, st->filtered_bytes, sizeof(st->filtered_bytes));
	SpinLockRelease(&st->mutex);
	ps_state_release();
}

/* Storage emptied in place: timestamps start again, workers stay. */
void
ps_state_reset_ts(Oid relid)
{
	PsStateKey	key;
	PsTableState *st;

	if (ps_state_hash == NULL)
		return;
	key.dbid = MyDatabaseId;
	key.relid = relid;
	LWLockAcquire(ps_state_lock, LW_EXCLUSIVE);
	st = hash_search(ps_state_hash, &key, HASH_FIND, NULL);
	if (st)
		memset(&st->node, 0, sizeof(st->node));
	LWLockRelease(ps_state_lock);
}

/*
 * Changes of shared state that a transaction makes only if it commits: a
 * dropped table's entry is forgotten, a new consistency model reaches the
 * waiters.  They are queued with the subtransaction that asked for them
 * and done by the transaction callback at commit; an aborted
 * (sub)transaction discards its own.  A consistency change also keeps the
 * committed model, for an entry made before the commit (ps_state_acquire
 * is given the configuration this transaction sees).  A transaction with
 * such changes cannot be prepared: a prepared transaction's commit runs
 * in another backend, without these callbacks.
 */
typedef struct PsPending
{
	Oid			relid;
	SubTransactionId subid;
	bool		forget;			/* else: set consistency */
	PsConsistency consistency;
	int			max_delay;
	PsConsistency committed;	/* the model before this transaction */
	int			committed_delay;
} PsPending;

static List *pending = NIL;		/* in TopTransactionContext */
static bool pending_callbacks = false;

static void
pending_apply(PsPending *p)
{
	PsStateKey	key;
	PsTableState *st;

	if (p->forget)
	{
		ps_state_forget(p->relid);
		return;
	}
	key.dbid = MyDatabaseId;
	key.relid = p->relid;
	LWLockAcquire(ps_state_lock, LW_SHARED);
	st = hash_search(ps_state_hash, &key, HASH_FIND, NULL);
	if (st)
	{
		SpinLockAcquire(&st->mutex);
		st->consistency = p->consistency;
		st->max_delay = p->max_delay;
		SpinLockRelease(&st->mutex);
		ConditionVariableBroadcast(&st->cv);	/* waiters re-check */
	}
	LWLockRelease(ps_state_lock);
}

/* The committed model of relid, if this transaction is changing it. */
static bool
pending_committed(Oid relid, PsConsistency *c, int *max_delay)
{
	ListCell   *lc;

	foreach(lc, pending)
	{
		PsPending  *p = lfirst(lc);

		if (!p->forget && p->relid == relid)
		{
			*c = p->committed;
			*max_delay = p->committed_delay;
			return true;
		}
	}
	return false;
}

static void
pending_xact_callback(XactEvent event, void *arg)
{
	ListCell   *lc;

	switch (event)
	{
		case XACT_EVENT_PRE_PREPARE:
			if (pending != NIL)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("cannot prepare a transaction that configured, dropped or rewrote a ps table"),
						 errhint("Run ps_configure, DROP TABLE and rewrites (ALTER TABLE ... SET UNLOGGED, VACUUM FULL, ...) of ps tables outside two-phase transactions.")));
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			foreach(lc, pending)
				pending_apply(lfirst(lc));
			pending = NIL;		/* the memory goes with the transaction */
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			pending = NIL;
			break;
		default:
			break;
	}
}

static void
pending_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						 SubTransactionId parentSubid, void *arg)
{
	ListCell   *lc;

	foreach(lc, pending)
	{
		PsPending  *p = lfirst(lc);

		if (p->subid != mySubid)
			continue;
		if (event == SUBXACT_EVENT_COMMIT_SUB)
			p->subid = parentSubid;
		else if (event == SUBXACT_EVENT_ABORT_SUB)
			pending = foreach_delete_current(pending, lc);
	}
}

static void
pending_add(Oid relid, bool forget, PsConsistency c, int max_delay,
			PsConsistency old, int old_delay)
{
	PsPending  *p;
	MemoryContext oldcxt;

	if (!pending_callbacks)
	{
		RegisterXactCallback(pending_xact_callback, NULL);
		RegisterSubXactCallback(pending_subxact_callback, NULL);
		pending_callbacks = true;
	}
	p = MemoryContextAlloc(TopTransactionContext, sizeof(PsPending));
	p->relid = relid;
	p->subid = GetCurrentSubTransactionId();
	p->forget = forget;
	p->consistency = c;
	p->max_delay = max_delay;
	/* the first change of this transaction saw the committed model */
	if (forget || !pending_committed(relid, &p->committed, &p->committed_delay))
	{
		p->committed = old;
		p->committed_delay = old_delay;
	}
	oldcxt = MemoryContextSwitchTo(TopTransactionContext);
	pending = lappend(pending, p);
	MemoryContextSwitchTo(oldcxt);
}

/* The table is being dropped: forget its entry if the drop commits. */
void
ps_state_forget_at_commit(Oid relid)
{
	pending_add(relid, true, PS_EVENTUAL, 0, PS_EVENTUAL, 0);
}

/*
 * A new consistency model (c, max_delay, replacing old, old_delay), for
 * the table's waiters once it commits.
 */
void
ps_state_consistency_at_commit(Oid relid, PsConsistency c, int max_delay,
							   PsConsistency old, int old_delay)
{
	pending_add(relid, false, c, max_delay, old, old_delay);
}

/* Drop the entry of a table (dropped, or its storage emptied in place). */
void
ps_state_forget(Oid relid)
{
	PsStateKey	key;

	if (ps_state_hash == NULL)
		return;
	key.dbid = MyDatabaseId;
	key.relid = relid;
	LWLockAcquire(ps_state_lock, LW_EXCLUSIVE);
	hash_search(ps_state_hash, &key, HASH_REMOVE, NULL);
	LWLockRelease(ps_state_lock);
}
