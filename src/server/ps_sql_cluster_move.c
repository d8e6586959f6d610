/*-------------------------------------------------------------------------
 *
 * ps_sql_cluster_move.c
 *	  The range copy of a join or a leave, the paper's two phases: each
 *	  server copies the ranges it serves to the nodes that are to hold them
 *	  (ps_cluster_copy), the newcomers catch up with the writes made
 *	  meanwhile (ps_cluster_drain), and the switch waits, pushes held, for
 *	  the last of them.
 *
 * While a node joins or leaves (ps_cluster.c: states joining and leaving),
 * every write's after-images already go to the holders of its keys on
 * both rings, the one before and the one beyond the move, so a newcomer
 * to a range's holders gets every write made after its subscription
 * began.  The copy brings what was there before: each server walks the
 * leaves of its ps tables and, under each leaf's share lock, hands the
 * keys it serves whose newcomers are not itself to the replicator as
 * records for those nodes alone (ps_repl_enqueue_copy).  A write of those
 * keys waits for the lock, so its after-images follow the copy's in the
 * ring, and the newcomer, applying in order, ends with the newest.
 *
 * ps_cluster_drain waits, for at most a given time, until the replicator
 * has written all it was given and every newcomer's slot on this server
 * has confirmed the WAL flushed by then: the newcomers have applied
 * everything written here up to that moment.  The admin functions
 * (ps_sql_cluster_admin.c) call both on every server over libpq: the copy,
 * then drains until the newcomers are close behind, then the switch: a
 * ring change that makes the moving nodes active or gone, whose prepared
 * transaction closes the gate of pushes on every server that gives ranges
 * away (ps_cluster_gate_close), and that commits only once a last drain
 * has shown the newcomers through.  Held pushes then meet the new ring and
 * are refused, never applied, and the client library sends them to the
 * new server.  If the last drain takes longer than ps.switch_timeout the
 * switch rolls back, pushes go on, and the admin function tries again; a
 * newcomer that cannot keep up with the writes under way (one logical
 * apply worker against many pushing backends) thus delays the switch,
 * not the pushes.
 *
 * Layer 9 (SQL entry points): called by PostgreSQL and by
 * ps_sql_cluster_admin.c.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "access/xlog.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "replication/slot.h"
#include "storage/latch.h"
#include "utils/builtins.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "ps_cluster.h"
#include "ps_dir.h"
#include "ps_page.h"
#include "ps_remote.h"
#include "ps_repl.h"
#include "ps_sql.h"
#include "ps_sql_cluster.h"
#include "ps_sql_cluster_move.h"
#include "ps_sql_cluster_repl.h"
#include "ps_store.h"

PG_FUNCTION_INFO_V1(ps_cluster_copy);
PG_FUNCTION_INFO_V1(ps_cluster_drain);

/* A table's copy under way: per node of the cluster, the leaf's keys for it. */
typedef struct CopyState
{
	const PsCluster *c;
	Oid			relid;
	int			dim;
	int			width;
	uint32	   *scratch;
	int		   *n;				/* per node (c->nodes' order) */
	int64	  **keys;
	float4	  **vals;
	int64		copied;
} CopyState;

/*
 * The nodes newcomers to ranges that node serves on c, into out (room for
 * c->nnodes); returns how many.
 */
static int
newcomers_of(const PsCluster *c, uint32 node, uint32 *out)
{
	uint32	   *h = palloc(sizeof(uint32) * PS_CLUSTER_HOLDERS(c));
	int			n = 0;
	size_t		t;

	for (t = 0; t < c->ntokens; t++)
	{
		size_t		nh,
					i;
		int			j;

		if (c->tokens[t].node != node)
			continue;
		nh = ps_cluster_newcomers(c, t, h);
		for (i = 0; i < nh; i++)
		{
			for (j = 0; j < n && out[j] != h[i]; j++)
				;
			if (j == n && h[i] != node)
				out[n++] = h[i];
		}
	}
	pfree(h);
	return n;
}

/*
 * Under the share lock of a leaf: its keys that this server serves, for
 * each newcomer to their range, to the replicator, in room reserved
 * before the lock was taken: nothing here waits.
 */
static void
copy_visit(void *arg, Page page)
{
	CopyState  *cs = arg;
	const PsCluster *c = cs->c;
	PsPageOpaque op = PsPageGetOpaque(page);
	const float4 *pv = PsLeafVals(page);
	int64		block = 0;
	size_t		nh = 0;
	bool		have = false;
	int			i,
				d;

	if (op->nitems == 0)
		return;
	if (op->width != cs->width)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("ps table %u has leaves of %d and %d floats a key", cs->relid,
						op->width, cs->width)));
	for (d = 0; d < c->nnodes; d++)
		cs->n[d] = 0;
	for (i = 0; i < (int) op->nitems; i++)
	{
		int64		key = PsLeafKeyAt(page, i);
		size_t		h;

		if (!have || (key >> PS_RING_BLOCK_BITS) != block)
		{
			size_t		t = ps_ring_key_owner(c->tokens, c->ntokens, key);

			block = key >> PS_RING_BLOCK_BITS;
			have = true;
			nh = c->tokens[t].node == c->self ? ps_cluster_newcomers(c, t, cs->scratch) : 0;
		}
		for (h = 0; h < nh; h++)
		{
			d = ps_cluster_find(c, cs->scratch[h]);
			if (d < 0 || cs->scratch[h] == c->self)
				continue;
			cs->keys[d][cs->n[d]] = key;
			memcpy(cs->vals[d] + (Size) cs->n[d] * cs->width, pv + (Size) i * cs->width,
				   sizeof(float4) * cs->width);
			cs->n[d]++;
		}
	}
	for (d = 0; d < c->nnodes; d++)
		if (cs->n[d] > 0)
		{
			ps_repl_enqueue_copy(MyDatabaseId, cs->relid, c->nodes[d].id, cs->dim,
								 cs->width, cs->keys[d], cs->vals[d], cs->n[d], NULL, 0);
			cs->copied += cs->n[d];
		}
}

/* Does slot name exist on this server? */
static bool
slot_exists(const char *name)
{
	bool		found = false;
	int			i;

	LWLockAcquire(ReplicationSlotControlLock, LW_SHARED);
	for (i = 0; i < max_replication_slots && !found; i++)
	{
		ReplicationSlot *s = &ReplicationSlotCtl->replication_slots[i];

		found = s->in_use && strcmp(NameStr(s->data.name), name) == 0;
	}
	LWLockRelease(ReplicationSlotControlLock);
	return found;
}

/* The oldest position the slots ps_<self>_<node> of nodes have confirmed. */
static XLogRecPtr
confirmed_by(uint32 self, const uint32 *nodes, int n)
{
	XLogRecPtr	min = InvalidXLogRecPtr;
	bool		any = false;
	int			i,
				j;

	LWLockAcquire(ReplicationSlotControlLock, LW_SHARED);
	for (j = 0; j < n; j++)
	{
		char		name[NAMEDATALEN];
		XLogRecPtr	lsn = InvalidXLogRecPtr;

		snprintf(name, sizeof(name), "ps_%u_%u", self, nodes[j]);
		for (i = 0; i < max_replication_slots; i++)
		{
			ReplicationSlot *s = &ReplicationSlotCtl->replication_slots[i];

			if (!s->in_use || strcmp(NameStr(s->data.name), name) != 0)
				continue;
			SpinLockAcquire(&s->mutex);
			lsn = s->data.confirmed_flush;
			SpinLockRelease(&s->mutex);
		}
		if (!any || lsn < min)
			min = lsn;
		any = true;
	}
	LWLockRelease(ReplicationSlotControlLock);
	return min;
}

/*
 * ps_cluster_copy() returns bigint
 *
 * The first phase of a join or leave, on this server: every key of its ps
 * tables that it serves goes, as it is now, to each node that is to hold
 * it and does not yet (through replication, as records for that node).
 * Returns how many key copies it sent.  Superusers only (the admin
 * functions call it).
 */
Datum
ps_cluster_copy(PG_FUNCTION_ARGS)
{
	PsCluster  *c;
	uint32	   *dests;
	int			ndests,
				d;
	bool		sync;
	List	   *oids;
	ListCell   *lc;
	CopyState	cs = {0};

	ps_sql_require_superuser("ps_cluster_copy");
	c = ps_cluster_copy_of(ps_sql_cluster());
	if (!c->moving)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no node of this cluster is joining or leaving"),
				 errhint("ps_cluster_add() and ps_cluster_remove() copy ranges when they need to.")));
	dests = palloc(sizeof(uint32) * Max(c->nnodes, 1));
	ndests = newcomers_of(c, c->self, dests);
	if (ndests == 0)
		PG_RETURN_INT64(0);
	if (!ps_repl_prepare(&sync))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("this server does not replicate: ps.replication_buffer is 0"),
				 errhint("Ranges are copied through replication; set ps.replication_buffer and restart.")));
	for (d = 0; d < ndests; d++)
	{
		char		name[NAMEDATALEN];

		snprintf(name, sizeof(name), "ps_%u_%u", c->self, dests[d]);
		if (!slot_exists(name))
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("node %u does not subscribe to this server (node %u) yet", dests[d], c->self),
					 errdetail("Its replication slot %s is missing, so the copy would not reach it.", name),
					 errhint("Run ps_cluster_configure() to set replication up again, then ps_cluster_add() or ps_cluster_remove() again.")));
	}

	/*
	 * A push that read the ring before the move began does not send its
	 * after-images to the newcomers: let every push past the gate finish,
	 * so that the leaves read below hold its values.
	 */
	ps_cluster_gate_barrier();

	cs.c = c;
	cs.scratch = palloc(sizeof(uint32) * PS_CLUSTER_HOLDERS(c));
	cs.n = palloc0(sizeof(int) * c->nnodes);
	cs.keys = palloc0(sizeof(int64 *) * c->nnodes);
	cs.vals = palloc0(sizeof(float4 *) * c->nnodes);
	oids = ps_sql_cluster_tables();
	foreach(lc, oids)
	{
		Relation	rel = try_relation_open(lfirst_oid(lc), AccessShareLock);
		PsDir	   *dir;
		BlockNumber blk;
		int			cap;

		if (rel == NULL)
			continue;
		if (!ps_has_storage(rel) || (dir = ps_dir_get(rel, false, 0, 0))->dim == 0)
		{
			relation_close(rel, AccessShareLock);
			continue;
		}
		cs.relid = RelationGetRelid(rel);
		cs.dim = dir->dim;
		cs.width = dir->width;
		cap = PsLeafDenseCapacity(cs.width);
		for (d = 0; d < c->nnodes; d++)
		{
			cs.keys[d] = palloc(sizeof(int64) * cap);
			cs.vals[d] = palloc(sizeof(float4) * (Size) cap * cs.width);
		}
		for (blk = PS_FIRST_LEAF_BLKNO; blk != InvalidBlockNumber;)
		{
			CHECK_FOR_INTERRUPTS();
			/* room for a leaf's keys for each newcomer: no wait under the lock */
			ps_repl_reserve(cap * ndests, cs.width, ndests);
			blk = ps_store_visit_leaf(rel, blk, copy_visit, &cs);
			ps_repl_unreserve();
		}
		for (d = 0; d < c->nnodes; d++)
		{
			pfree(cs.keys[d]);
			pfree(cs.vals[d]);
		}
		relation_close(rel, AccessShareLock);
	}
	PG_RETURN_INT64(cs.copied);
}

/*
 * ps_cluster_drain(timeout_ms integer) returns bigint
 *
 * Wait, at most timeout_ms, until the nodes that newly hold ranges this
 * server serves have applied everything written here so far: the
 * replicator has written what it was given, and their slots here have
 * confirmed the WAL flushed then.  Returns 0 once they have; else the
 * bytes of WAL they are still behind (at least 1).  Superusers only.
 */
Datum
ps_cluster_drain(PG_FUNCTION_ARGS)
{
	PsCluster  *c;
	uint32	   *dests;
	int			ndests;
	int32		timeout;
	TimestampTz start = GetCurrentTimestamp();
	uint64		ticket = ps_repl_last_ticket();
	XLogRecPtr	target = InvalidXLogRecPtr;

	ps_sql_require_superuser("ps_cluster_drain");
	ps_arg_not_null(fcinfo, 0, "the timeout");
	timeout = PG_GETARG_INT32(0);
	if (timeout < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ps_cluster_drain: timeout_ms must not be negative, not %d", timeout),
				 errhint("Give the longest wait in milliseconds; 0 only looks.")));
	c = ps_cluster_copy_of(ps_sql_cluster());
	dests = palloc(sizeof(uint32) * Max(c->nnodes, 1));
	ndests = c->moving ? newcomers_of(c, c->self, dests) : 0;
	if (ndests == 0)
		PG_RETURN_INT64(0);
	for (;;)
	{
		PsReplStats s;
		XLogRecPtr	done;

		ps_repl_stats(&s);
		if (s.confirmed >= ticket && XLogRecPtrIsInvalid(target))
			target = GetFlushRecPtr(NULL);
		if (!XLogRecPtrIsInvalid(target) &&
			(done = confirmed_by(c->self, dests, ndests)) >= target)
			PG_RETURN_INT64(0);
		if (TimestampDifferenceExceeds(start, GetCurrentTimestamp(), timeout))
		{
			if (XLogRecPtrIsInvalid(target))
				PG_RETURN_INT64((int64) Max(s.pending_bytes, 1));
			PG_RETURN_INT64((int64) Max(target - done, 1));
		}
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 2L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * Run sql (returning one bigint) on every live node of c that serves a
 * range with newcomers, adding the results into *sum; false with *err
 * (naming the node) if one fails.
 */
static bool
on_sources(const PsCluster *c, const char *fn, const char *arg, int64 *sum, char **err)
{
	uint32	   *dests = palloc(sizeof(uint32) * Max(c->nnodes, 1));
	int			i;

	*sum = 0;
	for (i = 0; i < c->nnodes; i++)
	{
		PGconn	   *conn;
		char	   *schema;
		PGresult   *res = NULL;
		const char *params[1] = {arg};

		if (!PS_NODE_LIVE(c->nodes[i].state) || newcomers_of(c, c->nodes[i].id, dests) == 0)
			continue;
		conn = ps_remote_connect(c->nodes[i].conninfo, err);
		schema = conn ? ps_sql_remote_schema(conn, err) : NULL;
		if (schema != NULL)
			res = ps_remote_exec(conn, psprintf("SELECT %s.%s(%s)", schema, fn,
												arg ? "$1::pg_catalog.int4" : ""),
								 arg ? 1 : 0, params, err);
		if (res != NULL && PQntuples(res) == 1)
			*sum += strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		if (res)
			PQclear(res);
		ps_remote_close(conn);
		if (res == NULL)
		{
			*err = psprintf("node %u: %s", c->nodes[i].id, *err ? *err : "no answer");
			return false;
		}
	}
	return true;
}

/* The first phase on every server: copy; returns the key copies sent. */
bool
ps_sql_cluster_copy_ranges(const PsCluster *c, int64 *copied, char **err)
{
	return on_sources(c, "ps_cluster_copy", NULL, copied, err);
}

/*
 * Drain on every server, each for at most timeout_ms; *behind: the bytes
 * of WAL the newcomers are still behind, summed (0: through).
 */
bool
ps_sql_cluster_drain(const PsCluster *c, int timeout_ms, int64 *behind, char **err)
{
	char		arg[16];

	snprintf(arg, sizeof(arg), "%d", timeout_ms);
	return on_sources(c, "ps_cluster_drain", arg, behind, err);
}
