/*-------------------------------------------------------------------------
 *
 * ps_replicator.c
 *	  The replicator: a background worker of the replicated database that
 *	  writes the after-images of applied aggregates as rows of ps_delta,
 *	  which logical replication carries to the replicas.
 *
 * It takes the records of the ring (ps_repl.c) and, in one transaction,
 * splits each by the ring of the cluster into one row per replica that
 * holds its keys (the k nodes after the owner clockwise, ps_ring_holders):
 * (seq, origin, dest, table, clock, width, keys, values, made).  The
 * publication ps_to_N of every node publishes the rows for node N (a row
 * filter on dest) and node N subscribes to it (ps_sql_cluster_admin.c
 * sets them up); there a trigger applies each row (ps_sql_replica.c).  So
 * each aggregate crosses the network once per replica, not once per push.
 * After the commit, which in synchronous mode waits for the subscribers
 * (synchronous_standby_names names their subscriptions), the records'
 * room is freed and their tickets confirmed.  Rows every subscriber has
 * confirmed (their slots' confirmed_flush_lsn) are deleted once a second.
 *
 * It exits when the cluster keeps no replicas and nothing is pending;
 * after an error it exits and starts again a second later, sending again
 * what it had not committed.
 *
 * Layer 7 (training services), the top of it beside the scheduler:
 * nothing calls it but PostgreSQL (ps_replicator_main); uses the ring of
 * ps_repl.c, the cluster row (layer 5) and the ring's holders (layer 1).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "commands/sequence.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "replication/slot.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "ps_cluster.h"
#include "ps_config.h"
#include "ps_repl.h"
#include "ps_wire.h"

PGDLLEXPORT void ps_replicator_main(Datum arg);

#define TAKE_BYTES (8 * 1024 * 1024)	/* records a transaction, about */
#define MAX_BATCHES 1024		/* commits remembered for pruning */

enum
{
	Anum_d_seq = 1, Anum_d_origin, Anum_d_dest, Anum_d_tbl, Anum_d_clock,
	Anum_d_dim, Anum_d_width, Anum_d_keys, Anum_d_vals, Anum_d_made,
	Anum_d_once,
	Natts_delta = Anum_d_once
};

/* A committed transaction's rows: deleted once every subscriber has it. */
typedef struct Batch
{
	XLogRecPtr	lsn;
	int64		last_seq;
} Batch;

static Batch batches[MAX_BATCHES];
static int	nbatches = 0;

/* the keys of a record for one replica */
typedef struct DestBuf
{
	uint32		node;
	bool		once_only;		/* a row of no keys, for its once records */
	int			n;
	int64	   *keys;
	float4	   *vals;
} DestBuf;

static void
replicator_exit(int code, Datum arg)
{
	ps_repl_detach(false);
}

/* A bytea of len bytes at p. */
static Datum
bytes_datum(const void *p, Size len)
{
	bytea	   *b = palloc(VARHDRSZ + len);

	SET_VARSIZE(b, VARHDRSZ + len);
	if (len > 0)
		memcpy(VARDATA(b), p, len);
	return PointerGetDatum(b);
}

/* A bytea of n ascending keys as the wire format lists them (varints). */
static Datum
keys_datum(const int64 *keys, int n)
{
	bytea	   *b = palloc(VARHDRSZ + (Size) 10 * n);
	Size		len = ps_wire_put_key_list((uint8 *) VARDATA(b), keys, (size_t) n);

	SET_VARSIZE(b, VARHDRSZ + len);
	return PointerGetDatum(b);
}

/* The table's name for the replicas: schema-qualified and quoted. */
static char *
table_name(Oid relid)
{
	char	   *rel = get_rel_name(relid);
	Oid			nsp = get_rel_namespace(relid);

	if (rel == NULL || !OidIsValid(nsp))
		return NULL;
	return quote_qualified_identifier(get_namespace_name(nsp), rel);
}

/*
 * Write record r as one row per replica holding its keys; returns the
 * last seq used (or prev if none), and adds the rows' keys' and values'
 * bytes to *bytes.
 */
static int64
write_record(Relation drel, Oid seqoid, const PsCluster *c,
			 const PsReplRecord *r, int64 prev, Size *bytes)
{
	const int64 *keys = PsReplRecordKeys(r);
	const float4 *vals = PsReplRecordVals(r);
	char	   *tbl = table_name(r->relid);
	DestBuf    *dests;
	uint32	   *holders;
	size_t		nh = 0;
	int64		block = 0;
	bool		have_block = false;
	int			i,
				d;
	int64		seq = prev;

	if (tbl == NULL)
		return prev;			/* dropped since */
	dests = palloc0(sizeof(DestBuf) * c->nnodes);
	holders = palloc(sizeof(uint32) * PS_CLUSTER_HOLDERS(c));
	for (d = 0; d < c->nnodes; d++)
		dests[d].node = c->nodes[d].id;
	if (r->dest != 0)
	{
		/* a range's copy for one node: all of it goes there */
		d = ps_cluster_find(c, r->dest);
		if (d < 0 || r->dest == c->self)
			return prev;
		dests[d].n = r->nkeys;
		dests[d].keys = (int64 *) keys;
		dests[d].vals = (float4 *) vals;
	}
	if (r->nkeys == 0 && r->routed)
	{
		/* a write's exactly-once records, after its values: to their holders */
		size_t		nr = ps_cluster_replicas(c, ps_ring_key_owner(c->tokens, c->ntokens,
																  r->route_key), holders),
					h;

		for (h = 0; h < nr; h++)
			if ((d = ps_cluster_find(c, holders[h])) >= 0 && holders[h] != c->self)
				dests[d].once_only = true;
	}
	for (i = 0; i < r->nkeys && r->dest == 0; i++)
	{
		size_t		h;

		if (!have_block || (keys[i] >> PS_RING_BLOCK_BITS) != block)
		{
			block = keys[i] >> PS_RING_BLOCK_BITS;
			have_block = true;
			nh = ps_cluster_replicas(c, ps_ring_key_owner(c->tokens, c->ntokens, keys[i]),
									 holders);
		}
		for (h = 0; h < nh; h++)
		{
			DestBuf    *b;

			if (holders[h] == c->self)
				continue;
			d = ps_cluster_find(c, holders[h]);
			if (d < 0)
				continue;
			b = &dests[d];
			if (b->keys == NULL)
			{
				b->keys = palloc(sizeof(int64) * r->nkeys);
				b->vals = palloc(sizeof(float4) * (Size) r->nkeys * r->width);
			}
			b->keys[b->n] = keys[i];
			memcpy(b->vals + (Size) b->n * r->width, vals + (Size) i * r->width,
				   sizeof(float4) * r->width);
			b->n++;
		}
	}
	for (d = 0; d < c->nnodes; d++)
	{
		Datum		values[Natts_delta];
		bool		nulls[Natts_delta] = {0};
		HeapTuple	tup;

		if (dests[d].n == 0 && !dests[d].once_only)
			continue;
		seq = nextval_internal(seqoid, false);
		values[Anum_d_seq - 1] = Int64GetDatum(seq);
		values[Anum_d_origin - 1] = Int32GetDatum((int32) c->self);
		values[Anum_d_dest - 1] = Int32GetDatum((int32) dests[d].node);
		values[Anum_d_tbl - 1] = CStringGetTextDatum(tbl);
		values[Anum_d_clock - 1] = Int64GetDatum(r->clock);
		values[Anum_d_dim - 1] = Int32GetDatum(r->dim);
		values[Anum_d_width - 1] = Int32GetDatum(r->width);
		values[Anum_d_keys - 1] = keys_datum(dests[d].keys, dests[d].n);
		values[Anum_d_vals - 1] = bytes_datum(dests[d].vals,
											  sizeof(float4) * (Size) dests[d].n * r->width);
		values[Anum_d_made - 1] = TimestampTzGetDatum(GetCurrentTimestamp());
		/* every replica of the write learns its pushes as applied */
		if (r->nonce > 0)
			values[Anum_d_once - 1] = bytes_datum(PsReplRecordOnce(r),
												  sizeof(PsOnceEntry) * r->nonce);
		nulls[Anum_d_once - 1] = r->nonce == 0;
		*bytes += VARSIZE(DatumGetPointer(values[Anum_d_keys - 1])) +
			VARSIZE(DatumGetPointer(values[Anum_d_vals - 1])) - 2 * VARHDRSZ +
			sizeof(PsOnceEntry) * r->nonce;
		tup = heap_form_tuple(RelationGetDescr(drel), values, nulls);
		simple_heap_insert(drel, tup);
		heap_freetuple(tup);
	}
	return seq;
}

/* ps_delta and its sequence; false if the extension has none (yet). */
static bool
delta_table(Oid *relid, Oid *seqoid)
{
	List	   *seqs;

	*relid = ps_extension_table("ps_delta");
	if (!OidIsValid(*relid))
		return false;
	seqs = getOwnedSequences(*relid);
	if (seqs == NIL)
		return false;
	*seqoid = linitial_oid(seqs);
	return true;
}

/*
 * One transaction: write what the ring holds.  Returns false if the
 * cluster keeps no replicas any more.
 */
static bool
replicate_round(void)
{
	char	   *buf = NULL;
	uint64		last_ticket = 0;
	int			n;
	PsCluster  *c;
	bool		replicating;
	Oid			drelid,
				seqoid;
	int64		last_seq = 0;
	Size		bytes = 0;

	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	c = ps_cluster_copy_of(ps_cluster_get());
	replicating = ps_cluster_replicating(c);
	n = ps_repl_take(TAKE_BYTES, &buf, &last_ticket);
	if (n > 0 && replicating && delta_table(&drelid, &seqoid))
	{
		Relation	drel = table_open(drelid, RowExclusiveLock);
		Size		off = 0;
		int			i;

		for (i = 0; i < n; i++)
		{
			PsReplRecord *r = (PsReplRecord *) (buf + off);

			last_seq = write_record(drel, seqoid, c, r, last_seq, &bytes);
			off += r->len;
		}
		table_close(drel, NoLock);
	}
	PopActiveSnapshot();
	CommitTransactionCommand();
	if (last_seq > 0)
	{
		if (nbatches == MAX_BATCHES)
		{
			memmove(batches, batches + 1, sizeof(Batch) * (MAX_BATCHES - 1));
			nbatches--;
		}
		batches[nbatches].lsn = XactLastCommitEnd;
		batches[nbatches].last_seq = last_seq;
		nbatches++;
	}
	/* buf went with the transaction's memory */
	if (n > 0)
		ps_repl_committed(last_ticket, n, bytes);
	return replicating;
}

/*
 * The oldest position every subscriber of this node has confirmed (its
 * slots ps_<self>_<node>); InvalidXLogRecPtr if it has none.
 */
static XLogRecPtr
confirmed_by_all(uint32 self, bool *any)
{
	char		prefix[NAMEDATALEN];
	XLogRecPtr	min = InvalidXLogRecPtr;
	int			i;

	*any = false;
	snprintf(prefix, sizeof(prefix), "ps_%u_", self);
	LWLockAcquire(ReplicationSlotControlLock, LW_SHARED);
	for (i = 0; i < max_replication_slots; i++)
	{
		ReplicationSlot *s = &ReplicationSlotCtl->replication_slots[i];
		XLogRecPtr	lsn;

		if (!s->in_use || strncmp(NameStr(s->data.name), prefix, strlen(prefix)) != 0)
			continue;
		SpinLockAcquire(&s->mutex);
		lsn = s->data.confirmed_flush;
		SpinLockRelease(&s->mutex);
		if (!*any || lsn < min)
			min = lsn;
		*any = true;
	}
	LWLockRelease(ReplicationSlotControlLock);
	return min;
}

/* Delete the rows every subscriber has confirmed. */
static void
prune(void)
{
	bool		any;
	XLogRecPtr	upto;
	int64		seq = 0;
	int			done = 0;
	Oid			drelid,
				seqoid;

	if (nbatches == 0)
		return;
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	upto = confirmed_by_all(ps_cluster_get()->self, &any);
	while (done < nbatches && (!any || batches[done].lsn <= upto))
		seq = batches[done++].last_seq;
	if (done > 0 && delta_table(&drelid, &seqoid))
	{
		Relation	drel = table_open(drelid, RowExclusiveLock);
		TableScanDesc scan = table_beginscan(drel, GetActiveSnapshot(), 0, NULL);
		HeapTuple	tup;

		while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
		{
			bool		isnull;
			Datum		d = heap_getattr(tup, Anum_d_seq, RelationGetDescr(drel), &isnull);

			if (!isnull && DatumGetInt64(d) <= seq)
				simple_heap_delete(drel, &tup->t_self);
		}
		table_endscan(scan);
		table_close(drel, NoLock);
	}
	PopActiveSnapshot();
	CommitTransactionCommand();
	memmove(batches, batches + done, sizeof(Batch) * (nbatches - done));
	nbatches -= done;
}

void
ps_replicator_main(Datum arg)
{
	Oid			dbid = DatumGetObjectId(arg);
	TimestampTz last_prune = GetCurrentTimestamp();

	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(dbid, InvalidOid, 0);
	pgstat_report_appname("ps replicator");
	/* a commit waits for the subscribers named in synchronous_standby_names */
	SetConfigOption("synchronous_commit", "on", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("search_path", "", PGC_SUSET, PGC_S_OVERRIDE);
	if (!ps_repl_attach(dbid))
		proc_exit(0);			/* another one runs */
	before_shmem_exit(replicator_exit, (Datum) 0);

	while (!ShutdownRequestPending)
	{
		TimestampTz now;
		bool		replicating;

		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		replicating = replicate_round();
		now = GetCurrentTimestamp();
		if (TimestampDifferenceExceeds(last_prune, now, 1000))
		{
			prune();
			last_prune = now;
		}
		if (!replicating && ps_repl_idle())
		{
			ps_repl_detach(true);
			proc_exit(0);
		}
		if (!ps_repl_idle())
			continue;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 200L, PG_WAIT_EXTENSION);
	}
	proc_exit(0);
}
