/*-------------------------------------------------------------------------
 *
 * ps_once.c
 *	  Exactly-once records of a ps table: for each client that pushes with
 *	  an exactly-once id (the client library does), its last push (seq) and
 *	  how far that push got, so that a push sent again after a lost
 *	  connection is not applied twice.
 *
 * A write of pushes with ids (one push applied by its backend, or a group
 * an applier aggregated) changes the records in every XLOG_PS_SET_ONCE
 * record it writes: the leaves of the batch, and the metapage with the
 * records' after-images.  A push whose keys up to the batch's last key are
 * all written is recorded as written up to there, and complete once the
 * batch holds its last key (or the write ends).  Leaves are written in key
 * order, so "every key below next_key" describes a crash between records
 * exactly: redo brings back the values and the record of each batch
 * together, or neither.  The metapage is locked after the batch's leaves,
 * as a leaf split locks it after its leaf, so neither waits for the other
 * in a cycle.  Each entry is 64 bytes; the metapage holds PS_ONCE_CAPACITY
 * (126) of them, and beyond that the least recently written is given to
 * the new client (counted as an eviction, which ps_push_msg takes into
 * account).
 *
 * Layer 4 (store), under ps_store.c: reads and writes the metapage; must
 * not decide what a push may write (ps_sql_msg.c does, under its claim on
 * the client in the queue).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xloginsert.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/rel.h"

#include "ps_dir.h"
#include "ps_once.h"
#include "ps_xlog.h"

/*
 * The record of client in rel, if there is one (the table must have
 * storage); *evictions: entries the table gave away so far; *lsn: the
 * metapage's LSN, which covers the record.
 */
bool
ps_once_lookup(Relation rel, uint64 client, PsOnceEntry *entry,
			   uint64 *evictions, XLogRecPtr *lsn)
{
	Buffer		buf = ReadBuffer(rel, PS_META_BLKNO);
	Page		page;
	int			slot;

	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	slot = ps_once_find(page, client);
	if (slot >= 0)
		*entry = PsPageGetOnce(page)->entries[slot];
	*evictions = ps_once_area_valid(page) ? PsPageGetOnce(page)->evictions : 0;
	*lsn = PageGetLSN(page);
	UnlockReleaseBuffer(buf);
	return slot >= 0;
}

/*
 * Start the exactly-once side of a write at task timestamp ts, for the
 * pushes with ids in marks (distinct clients: the queue lets one push of
 * a client to a table be in flight at a time).
 */
void
ps_once_start(PsOnceWrite *ow, Relation rel, uint64 ts,
			  const PsOnceMark *marks, int nmarks)
{
	if (nmarks > PS_ONCE_CAPACITY)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("ps table \"%s\": %d pushes with exactly-once ids in one aggregate, more than its %d records",
						RelationGetRelationName(rel), nmarks, PS_ONCE_CAPACITY),
				 errhint("Keep the clients pushing to one table at once below %d.", PS_ONCE_CAPACITY)));
	ow->rel = rel;
	ow->ts = ts;
	ow->marks = marks;
	ow->nmarks = nmarks;
	ow->complete = palloc0(sizeof(bool) * Max(nmarks, 1));
	ow->want = palloc(sizeof(PsOnceEntry) * Max(nmarks, 1));
	ow->data = palloc(sizeof(PsOnceChange) + sizeof(PsOnceSlot) * Max(nmarks, 1));
	ow->len = 0;
	ow->meta = InvalidBuffer;
}

/*
 * Before a batch (any: it writes leaves, whose last key is batch_last;
 * final: the write ends with it) is written: the records it changes, if
 * any, planned against the metapage, which stays locked until
 * ps_once_finish.  Returns whether the batch changes records.  Called
 * with the batch's leaves locked, outside the critical section.
 */
bool
ps_once_prepare(PsOnceWrite *ow, bool any, int64 batch_last, bool final)
{
	int			i,
				n = 0;

	for (i = 0; i < ow->nmarks; i++)
	{
		const PsOnceMark *m = &ow->marks[i];
		PsOnceEntry *e;
		bool		done;

		if (ow->complete[i] || (!final && (!any || m->first > batch_last)))
			continue;			/* recorded complete, or not begun */
		done = final || m->last <= batch_last;
		e = &ow->want[n++];
		*e = m->base;
		if (m->resumes)
		{
			/* an earlier push, finished now or written further */
			e->unfinished_seq = done ? 0 : e->unfinished_seq;
			e->unfinished_next = done ? 0 : batch_last + 1;
		}
		else
		{
			e->complete = done;
			e->next_key = done ? 0 : batch_last + 1;
		}
		e->stamp = ow->ts;
		/* the change is made: nothing can fail between here and the record */
		ow->complete[i] = done;
	}
	if (n == 0)
		return false;
	ow->meta = ReadBuffer(ow->rel, PS_META_BLKNO);
	LockBuffer(ow->meta, BUFFER_LOCK_EXCLUSIVE);
	ow->len = ps_once_plan(BufferGetPage(ow->meta), ow->want, n, ow->data);
	return true;
}

/* In the batch's critical section: change the records as planned. */
void
ps_once_apply(PsOnceWrite *ow)
{
	ps_once_change(BufferGetPage(ow->meta), ow->data, ow->len);
	MarkBufferDirty(ow->meta);
}

/* The metapage and its change as block block_id of the batch's record. */
void
ps_once_register(PsOnceWrite *ow, uint8 block_id)
{
	XLogRegisterBuffer(block_id, ow->meta, REGBUF_STANDARD);
	XLogRegisterBufData(block_id, ow->data, ow->len);
}

/*
 * After the batch's critical section (lsn: its record's, or invalid
 * without WAL): release the metapage.
 */
void
ps_once_finish(PsOnceWrite *ow, XLogRecPtr lsn)
{
	if (!XLogRecPtrIsInvalid(lsn))
		PageSetLSN(BufferGetPage(ow->meta), lsn);
	UnlockReleaseBuffer(ow->meta);
	ow->meta = InvalidBuffer;
}

/*
 * On a replica: make the records of the n clients in entries (distinct,
 * as their origin wrote them after a write the replica applied) this
 * table's records of those clients, but where the table has a later push
 * of the client already, or got as far with the same one.  Stamped `stamp` (the replica's own task time,
 * for its choice of the least recent).  One XLOG_PS_SET_ONCE record with
 * the metapage only.  A push the origin applied, sent again by its client
 * to this server after a failover, is then known as applied here.
 */
void
ps_once_install(Relation rel, const PsOnceEntry *entries, int n, uint64 stamp)
{
	PsOnceEntry *want = palloc(sizeof(PsOnceEntry) * Max(n, 1));
	char	   *data = palloc(sizeof(PsOnceChange) + sizeof(PsOnceSlot) * Max(n, 1));
	Buffer		meta;
	Page		page;
	Size		len;
	int			i,
				m = 0;

	if (n > PS_ONCE_CAPACITY)
		n = PS_ONCE_CAPACITY;	/* more cannot be kept: the first ones */
	meta = ReadBuffer(rel, PS_META_BLKNO);
	LockBuffer(meta, BUFFER_LOCK_EXCLUSIVE);
	page = BufferGetPage(meta);
	for (i = 0; i < n; i++)
	{
		int			slot = ps_once_area_valid(page) ? ps_once_find(page, entries[i].client) : -1;
		const PsOnceEntry *have = slot >= 0 ? &PsPageGetOnce(page)->entries[slot] : NULL;

		/*
		 * Newer records only; of the same push, one that got further (a
		 * write's batches each send how far its pushes got).
		 */
		if (entries[i].client == 0 ||
			(have != NULL &&
			 (have->seq > entries[i].seq ||
			  (have->seq == entries[i].seq &&
			   (have->complete || (!entries[i].complete &&
								   have->next_key >= entries[i].next_key))))))
			continue;
		want[m] = entries[i];
		want[m].stamp = stamp;
		m++;
	}
	if (m == 0)
	{
		UnlockReleaseBuffer(meta);
		return;
	}
	len = ps_once_plan(page, want, m, data);
	START_CRIT_SECTION();
	ps_once_change(page, data, len);
	MarkBufferDirty(meta);
	if (RelationNeedsWAL(rel))
	{
		xl_ps_set	xlrec;
		XLogRecPtr	recptr;

		xlrec.clock = 0;
		xlrec.nblocks = 0;
		ps_xlog_begin();
		XLogRegisterData((char *) &xlrec, SizeOfPsSet);
		XLogRegisterBuffer(0, meta, REGBUF_STANDARD);
		XLogRegisterBufData(0, data, len);
		recptr = XLogInsert(RM_PS_ID, XLOG_PS_SET_ONCE);
		PageSetLSN(page, recptr);
	}
	END_CRIT_SECTION();
	UnlockReleaseBuffer(meta);
}
