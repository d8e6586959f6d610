/*-------------------------------------------------------------------------
 *
 * ps_store.c
 *	  Reading and writing the values of sorted keys across the leaves of a
 *	  ps table: the hot path of every push and pull.
 *
 * A request's keys arrive sorted (ps_keys.c).  The backend's directory copy
 * routes the first key to its leaf; the keys up to that leaf's upper bound
 * form the leaf's group, found by galloping, and are located on the page
 * in one merge (ps_leaf_locate).  Then the next group, and so on: each leaf
 * touched is locked once, and nothing is looked up from a root per key.
 *
 * Writes compute the new values of a leaf's group under its exclusive lock
 * without changing the page, and collect up to PS_MAX_SET_BLOCKS leaves in
 * a batch that is applied and WAL-logged as one XLOG_PS_SET record inside
 * one critical section, with after-images.  Leaves are locked in key order,
 * so batches of concurrent writers cannot deadlock.  A group that does not
 * fit its leaf flushes the batch, splits the leaf (ps_dir.c) and retries.
 * A write of pushes with exactly-once ids also changes their records in
 * each batch's record (ps_once.c), the metapage locked after the leaves.
 * A write captured for replication hands each batch's after-images on
 * before it releases the batch's leaves (PsCapture), in room it reserved
 * before the batch's first lock; a batch stops at the room it has.
 *
 * Layer 4 (store): pushes and pulls of sorted keys on a table's leaves,
 * with the update rule; calls the directory, pages, rules and WAL.  The
 * caller has validated, sorted and locked: nothing here checks privileges
 * or reads the configuration.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>
#include <cblas.h>

#include "access/xact.h"
#include "access/xloginsert.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "ps_dir.h"
#include "ps_page.h"
#include "ps_rule.h"
#include "ps_store.h"
#include "ps_xlog.h"

typedef struct BatchBlock
{
	Buffer		buf;
	const int64 *keys;			/* the leaf's group of request keys */
	const int  *slots;			/* their slots on the leaf, or missing */
	int			nkeys;
	int			missing;		/* keys not yet on the leaf */
	float4	   *vals;			/* after-images, inside data */
	char	   *data;			/* the block's WAL data */
	int			len;
} BatchBlock;

typedef struct WriteBatch
{
	Relation	rel;
	uint64		ts;
	int			nblocks;
	int			written;		/* keys of the batches flushed so far */
	PsOnceWrite *once;			/* exactly-once records it changes, or NULL */
	PsCapture  *capture;		/* after-images collected, or NULL */
	int			nkeys;			/* keys in the batch */
	int			room;			/* keys it may capture (capture->reserve) */
	BatchBlock	blocks[PS_MAX_SET_BLOCKS];
} WriteBatch;

/* keys made at a time for a range write (ps_store_write_range) */
#define RANGE_CHUNK 65536

static void store_write(Relation rel, PsDir *dir, const int64 *keys,
						int64 first, const float4 *vals, int n,
						const PsWrite *w);
static void write_keys(Relation rel, PsDir *dir, const int64 *keys,
					   const float4 *vals, int n, const PsWrite *w,
					   WriteBatch *batch, int *slots);

/* WAL data of a batch: PS_MAX_SET_BLOCKS areas of PS_KEYS_BLOCK_MAX bytes */
static char *batch_area = NULL;
static char leaf_scratch[PS_LEAF_SCRATCH_SIZE];

/*
 * Number of leading keys <= hi in a sorted array, by galloping: cheap both
 * when the group is small and when it is most of the array.
 */
static int
count_upto(const int64 *keys, int n, int64 hi)
{
	int			lo = 0,
				up = 1,
				step = 1;

	if (n == 0 || keys[0] > hi)
		return 0;
	/* invariant: keys[lo] <= hi */
	while (up < n && keys[up] <= hi)
	{
		lo = up;
		step <<= 1;
		up = lo + step;
	}
	if (up > n)
		up = n;
	while (up - lo > 1)
	{
		int			mid = lo + (up - lo) / 2;

		if (keys[mid] <= hi)
			lo = mid;
		else
			up = mid;
	}
	return lo + 1;
}

/*
 * Would the leaf hold its keys plus the group's missing ones?
 */
static bool
group_fits(Page page, const int64 *keys, int nkeys, int missing)
{
	PsPageOpaque op = PsPageGetOpaque(page);
	int			n = op->nitems;
	int			newn = n + missing;
	int64		lo = keys[0],
				hi = keys[nkeys - 1];

	if (n > 0)
	{
		lo = Min(lo, PsLeafKeyAt(page, 0));
		hi = Max(hi, PsLeafKeyAt(page, n - 1));
	}
	return ps_leaf_fits(newn, (uint64) hi - (uint64) lo == (uint64) (newn - 1),
						op->width);
}

/*
 * Where to split a leaf that cannot take a group's missing keys.
 *
 * When every missing key lies above the leaf's keys (appending, as when a
 * table is loaded in key order), the leaf keeps its keys and is filled up
 * with the lowest new ones; the split goes at the first new key that does
 * not fit, so loading in order leaves full leaves behind.  Otherwise the
 * split goes at the median of the leaf's keys and the new ones.  The halves
 * are retried, and split again if they still do not fit.
 */
static int64
choose_split(Page page, const int64 *keys, const int *slots, int nkeys,
			 int missing)
{
	PsPageOpaque op = PsPageGetOpaque(page);
	int			n = op->nitems;
	int			width = op->width;
	int64	   *miss = palloc(sizeof(int64) * missing);
	int64		split;
	int			i,
				j;

	for (i = 0, j = 0; i < nkeys; i++)
		if (slots[i] == PS_SLOT_MISSING)
			miss[j++] = keys[i];

	if (n == 0 || miss[0] > PsLeafKeyAt(page, n - 1))
	{
		int			sparse_room = PsLeafSparseCapacity(width) - n;
		int			dense_room = PsLeafDenseCapacity(width) - n;
		int64		first = (n > 0) ? PsLeafKeyAt(page, 0) : miss[0];
		int			contiguous = 0;
		int			take;

		/* how many new keys continue the leaf's contiguous run */
		if (n == 0 || PsLeafIsDense(op))
			while (contiguous < missing &&
				   (uint64) miss[contiguous] - (uint64) first ==
				   (uint64) (n + contiguous))
				contiguous++;
		take = Max(Min(contiguous, dense_room), Min(missing, sparse_room));
		take = Max(take, 0);
		Assert(take < missing);
		split = miss[take];
	}
	else
	{
		int			k = (n + missing) / 2;
		int			c;

		i = j = 0;
		for (c = 0; c < k; c++)
		{
			if (j >= missing || (i < n && PsLeafKeyAt(page, i) < miss[j]))
				i++;
			else
				j++;
		}
		split = (j >= missing || (i < n && PsLeafKeyAt(page, i) < miss[j])) ?
			PsLeafKeyAt(page, i) : miss[j];
	}
	pfree(miss);
	return split;
}

/* the record of a key never written */
static const float4 zero_record[PS_MAX_WIDTH];

/*
 * Compute the after-images of a group into blk->vals (width floats per
 * key), without changing the page.  in holds dim floats per key (pushed
 * values, or values to set), or width floats per key for PS_WRITE_RECORDS.
 * Errors out (changing nothing on this leaf) if a value overflows float4.
 */
static void
compute_values(Relation rel, Page page, BatchBlock *blk, const float4 *in,
			   const PsWrite *w)
{
	int			width = PsPageGetOpaque(page)->width;
	int			dim = w->dim;
	int			cnt = blk->nkeys;
	const int  *slots = blk->slots;
	float4	   *out = blk->vals;
	const float4 *pv = PsLeafVals(page);
	Size		nfloats = (Size) cnt * width;
	Size		i;
	int			k;
	bool		finite = true;

	if (w->mode == PS_WRITE_RECORDS || (w->mode == PS_WRITE_SET && width == dim))
	{
		memcpy(out, in, sizeof(float4) * nfloats);
		return;
	}
	if (w->mode == PS_WRITE_SET)
	{
		for (k = 0; k < cnt; k++)
			ps_rule_set(&w->rule, dim, in + (Size) k * dim, out + (Size) k * width);
		return;
	}

	if (w->rule.kind == PS_RULE_SUM && width == dim)
	{
		if (blk->missing == 0 && slots[cnt - 1] - slots[0] == cnt - 1)
		{
			/* a run of neighbouring slots: one vector add */
			memcpy(out, pv + (Size) slots[0] * dim, sizeof(float4) * nfloats);
			cblas_saxpy((blasint) nfloats, 1.0f, in, 1, out, 1);
		}
		else if (dim == 1)
		{
			for (i = 0; i < (Size) cnt; i++)
				out[i] = (slots[i] >= 0 ? pv[slots[i]] : 0.0f) + in[i];
		}
		else
		{
			for (k = 0; k < cnt; k++)
				ps_rule_apply(&w->rule, dim,
							  slots[k] >= 0 ? pv + (Size) slots[k] * dim : zero_record,
							  in + (Size) k * dim, out + (Size) k * dim);
		}
	}
	else
	{
		for (k = 0; k < cnt; k++)
			ps_rule_apply(&w->rule, dim,
						  slots[k] >= 0 ? pv + (Size) slots[k] * width : zero_record,
						  in + (Size) k * dim, out + (Size) k * width);
	}

	for (i = 0; i < nfloats; i++)
		finite &= isfinite(out[i]) != 0;
	if (!finite)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("push overflows a value of ps table \"%s\"",
						RelationGetRelationName(rel)),
				 errhint("Values are real (float4); keep them within about 3.4e38.")));
}

/*
 * Apply and WAL-log the batch, then release its leaves.  With pushes that
 * have exactly-once ids, the record (XLOG_PS_SET_ONCE) also carries the
 * metapage with their records as the batch leaves them; final: the
 * write ends here, and the pushes are complete even if no leaf is left.
 */
static void
flush_batch(WriteBatch *batch, bool final)
{
	int			b;
	bool		needs_wal = RelationNeedsWAL(batch->rel);
	bool		once = false;
	XLogRecPtr	recptr = InvalidXLogRecPtr;

	if (batch->once)
	{
		BatchBlock *last = &batch->blocks[Max(batch->nblocks - 1, 0)];

		once = ps_once_prepare(batch->once, batch->nblocks > 0,
							   batch->nblocks > 0 ? last->keys[last->nkeys - 1] : 0,
							   final);
	}
	if (batch->nblocks == 0 && !once)
		return;

	START_CRIT_SECTION();
	for (b = 0; b < batch->nblocks; b++)
	{
		BatchBlock *blk = &batch->blocks[b];
		Page		page = BufferGetPage(blk->buf);
		PsPageOpaque op = PsPageGetOpaque(page);

		if (blk->missing == 0)
			ps_leaf_write_slots(page, blk->slots, blk->nkeys, blk->vals);
		else
			ps_leaf_set(page, blk->keys, blk->nkeys, blk->vals, leaf_scratch);
		if (batch->ts > op->clock)
			op->clock = batch->ts;
		MarkBufferDirty(blk->buf);
	}
	if (once)
		ps_once_apply(batch->once);
	if (needs_wal)
	{
		xl_ps_set	xlrec;

		xlrec.clock = batch->ts;
		xlrec.nblocks = batch->nblocks;
		ps_xlog_begin();
		XLogRegisterData((char *) &xlrec, SizeOfPsSet);
		for (b = 0; b < batch->nblocks; b++)
		{
			XLogRegisterBuffer(b, batch->blocks[b].buf, REGBUF_STANDARD);
			XLogRegisterBufData(b, batch->blocks[b].data, batch->blocks[b].len);
		}
		if (once)
			ps_once_register(batch->once, (uint8) batch->nblocks);
		recptr = XLogInsert(RM_PS_ID, once ? XLOG_PS_SET_ONCE : XLOG_PS_SET);
		for (b = 0; b < batch->nblocks; b++)
			PageSetLSN(BufferGetPage(batch->blocks[b].buf), recptr);
	}
	END_CRIT_SECTION();
	if (once)
		ps_once_finish(batch->once, recptr);

	/* the after-images, passed on before any leaf is released */
	for (b = 0; b < batch->nblocks && batch->capture; b++)
		ps_capture_append(batch->capture, batch->blocks[b].keys,
						  batch->blocks[b].vals, batch->blocks[b].nkeys,
						  PsPageGetOpaque(BufferGetPage(batch->blocks[b].buf))->width);
	if (batch->capture && batch->capture->hand_on)
		batch->capture->hand_on(batch->capture);
	for (b = 0; b < batch->nblocks; b++)
	{
		batch->written += batch->blocks[b].nkeys;
		UnlockReleaseBuffer(batch->blocks[b].buf);
	}
	batch->nblocks = 0;
	batch->nkeys = 0;
	batch->room = 0;
}

/*
 * Where a walk over ascending keys stands: the last leaf it handled.
 */
typedef struct LeafCursor
{
	bool		valid;
	int64		lo;				/* lower bound of the last leaf */
	BlockNumber next;			/* its right sibling */
} LeafCursor;

static inline void
cursor_advance(LeafCursor *cur, PsPageOpaque op)
{
	cur->valid = true;
	cur->lo = op->lo;
	cur->next = op->next;
}

/*
 * The leaf to start looking for key at, which lies beyond the last leaf
 * handled.  The directory's answer is used unless it knows no leaf right of
 * the last one (it misses recent splits, maybe our own): then the last
 * leaf's right-link is the better start, and the only safe one while that
 * leaf is still locked by us.
 */
static inline BlockNumber
route(PsDir *dir, LeafCursor *cur, int64 key, int *d, Buffer **hint)
{
	*d = ps_dir_find(dir, key, *d);
	if (cur->valid && dir->lo[*d] <= cur->lo)
	{
		*hint = NULL;
		return cur->next;
	}
	*hint = &dir->recent[*d];
	return dir->blk[*d];
}

/*
 * Lock the leaf holding key, starting from a directory entry that may be
 * stale: follow right-links while the key lies beyond the leaf.  hint, if
 * not NULL, is the buffer that held blk last time; a buffer still holding
 * it is pinned without a lookup in the buffer mapping table.
 */
static Buffer
lock_leaf(Relation rel, BlockNumber blk, Buffer *hint, int64 key, int mode)
{
	for (;;)
	{
		Buffer		buf;
		Page		page;
		PsPageOpaque op;

		if (hint && BufferIsValid(*hint) &&
			ReadRecentBuffer(rel->rd_node, MAIN_FORKNUM, blk, *hint))
			buf = *hint;
		else
		{
			buf = ReadBuffer(rel, blk);
			if (hint)
				*hint = buf;
		}
		hint = NULL;

		LockBuffer(buf, mode);
		page = BufferGetPage(buf);
		op = PsPageGetOpaque(page);
		if (op->page_id != PS_PAGE_ID || op->kind != PS_PAGE_LEAF ||
			key < op->lo)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("ps table \"%s\": block %u is not the leaf for key " INT64_FORMAT,
							RelationGetRelationName(rel), blk, key)));
		if (key <= op->hi)
			return buf;
		blk = op->next;
		UnlockReleaseBuffer(buf);
	}
}

/*
 * Write sorted, distinct keys as w says: apply the update rule to pushed
 * values, set values, or set whole records.  Every leaf touched gets clock
 * w->ts.
 */
void
ps_store_write(Relation rel, PsDir *dir, const int64 *keys, const float4 *vals,
			   int n, const PsWrite *w)
{
	store_write(rel, dir, keys, 0, vals, n, w);
}

/*
 * Write the range of keys first .. first + n - 1 as ps_store_write does,
 * without a key array: the keys are made RANGE_CHUNK at a time, so a
 * range of any length needs a fixed amount of memory.
 */
void
ps_store_write_range(Relation rel, PsDir *dir, int64 first,
					 const float4 *vals, int n, const PsWrite *w)
{
	store_write(rel, dir, NULL, first, vals, n, w);
}

static void
store_write(Relation rel, PsDir *dir, const int64 *keys, int64 first,
			const float4 *vals, int n, const PsWrite *w)
{
	static bool record_space_ready = false;
	WriteBatch	batch;
	PsOnceWrite ow;
	int		   *slots;

	Assert(w->dim == dir->dim);
	if (n == 0 && (w->mode != PS_WRITE_PUSH || w->nonce == 0))
		return;					/* (a push with ids still records them) */
	if (batch_area == NULL)
		batch_area = MemoryContextAlloc(TopMemoryContext,
										(Size) PS_MAX_SET_BLOCKS * PS_KEYS_BLOCK_MAX);
	if (!record_space_ready)
	{
		/* main data: header and xl_ps_set; one chunk per leaf, metapage */
		XLogEnsureRecordSpace(PS_MAX_SET_BLOCKS, PS_MAX_SET_BLOCKS + 3);
		record_space_ready = true;
	}

	slots = palloc(sizeof(int) * (keys ? n : Min(n, RANGE_CHUNK)));
	batch.rel = rel;
	batch.ts = w->ts;
	batch.nblocks = 0;
	batch.written = 0;
	batch.once = NULL;
	batch.capture = w->capture;
	batch.nkeys = 0;
	batch.room = 0;
	if (w->mode == PS_WRITE_PUSH && w->nonce > 0)
	{
		ps_once_start(&ow, rel, w->ts, w->once, w->nonce);
		batch.once = &ow;
	}

	/*
	 * An error (overflow, a full disk, a cancel) releases the leaves of the
	 * batch through transaction abort; they have not been changed yet.
	 * Query cancel is held off while leaves are locked, so it takes effect
	 * between batches.  Batches flushed before the error keep their
	 * changes: the error then says how much was written, so that nobody
	 * mistakes a partly applied write for one that changed nothing.
	 */
	if (w->written)
		*w->written = 0;
	PG_TRY();
	{
		if (keys != NULL)
			write_keys(rel, dir, keys, vals, n, w, &batch, slots);
		else
		{
			int			instride = (w->mode == PS_WRITE_RECORDS) ? dir->width : w->dim;
			int64	   *chunk = palloc(sizeof(int64) * Min(n, RANGE_CHUNK));
			int			off;

			for (off = 0; off < n; off += RANGE_CHUNK)
			{
				int			m = Min(RANGE_CHUNK, n - off);
				int			j;

				for (j = 0; j < m; j++)
					chunk[j] = first + off + j;
				write_keys(rel, dir, chunk, vals + (Size) off * instride, m, w,
						   &batch, slots);
			}
			pfree(chunk);
		}
		if (batch.once)
			flush_batch(&batch, true);
	}
	PG_CATCH();
	{
		if (w->written)
			*w->written = batch.written;
		else if (batch.written > 0)
		{
			MemoryContext ecxt = MemoryContextSwitchTo(CurTransactionContext);
			ErrorData  *edata = CopyErrorData();
			char	   *what;

			FlushErrorState();
			what = psprintf("The %s is partly applied: %d of its %d keys were written before the error and keep their new values.",
							w->mode == PS_WRITE_PUSH ? "push" : "write",
							batch.written, n);
			edata->detail = edata->detail ?
				psprintf("%s\n%s", what, edata->detail) : what;
			MemoryContextSwitchTo(ecxt);
			ReThrowError(edata);
		}
		PG_RE_THROW();
	}
	PG_END_TRY();
	if (w->written)
		*w->written = batch.written;
	pfree(slots);
}

/*
 * The loop of ps_store_write: route, lock, compute, batch, flush.
 */
static void
write_keys(Relation rel, PsDir *dir, const int64 *keys, const float4 *vals,
		   int n, const PsWrite *w, WriteBatch *batch, int *slots)
{
	int			width = dir->width;
	int			instride = (w->mode == PS_WRITE_RECORDS) ? width : w->dim;
	int			i = 0,
				d = 0;
	LeafCursor	cur = {false, 0, InvalidBlockNumber};

	while (i < n)
	{
		Buffer		buf;
		Page		page;
		PsPageOpaque op;
		BatchBlock *blk;
		BlockNumber blkno;
		Buffer	   *hint;
		int			cnt,
					probe,
					missing;

		CHECK_FOR_INTERRUPTS();
		/* room for its after-images, before the batch's first lock */
		if (batch->nblocks == 0 && batch->capture && batch->capture->reserve)
			batch->room = batch->capture->reserve(batch->capture, n - i,
												  Min(n - i, PsLeafDenseCapacity(width)),
												  width);
		blkno = route(dir, &cur, keys[i], &d, &hint);
		buf = lock_leaf(rel, blkno, hint, keys[i], BUFFER_LOCK_EXCLUSIVE);
		page = BufferGetPage(buf);
		op = PsPageGetOpaque(page);
		cnt = count_upto(keys + i, n - i, op->hi);
		if (batch->room > 0 && batch->nblocks > 0 && batch->nkeys + Min(cnt, PsLeafDenseCapacity(width)) > batch->room)
		{
			/* the batch has captured what its room holds */
			UnlockReleaseBuffer(buf);
			flush_batch(batch, false);
			continue;
		}

		/*
		 * A group larger than any leaf could hold is split without looking
		 * at all of it: the first keys decide where, and loading a big
		 * request into an empty table stays linear.
		 */
		probe = Min(cnt, (int) op->nitems + PsLeafDenseCapacity(op->width) + 1);
		missing = ps_leaf_locate(page, keys + i, probe, slots + i);

		if (probe < cnt || (missing > 0 && !group_fits(page, keys + i, cnt, missing)))
		{
			int64		split;
			Buffer		right;

			/* no leaf locks may be held across a split but this one */
			flush_batch(batch, false);
			split = choose_split(page, keys + i, slots + i, probe, missing);
			right = ps_split_leaf(rel, buf, split);
			UnlockReleaseBuffer(right);
			UnlockReleaseBuffer(buf);
			continue;		/* route keys[i] again */
		}

		cursor_advance(&cur, op);
		blk = &batch->blocks[batch->nblocks];
		blk->buf = buf;
		blk->keys = keys + i;
		blk->slots = slots + i;
		blk->nkeys = cnt;
		blk->missing = missing;
		blk->data = batch_area + (Size) batch->nblocks * PS_KEYS_BLOCK_MAX;
		blk->vals = ps_xlog_put_keys(blk->data, keys + i,
									 missing == 0 ? slots + i : NULL, cnt, width);
		blk->len = ((char *) blk->vals - blk->data) +
			sizeof(float4) * width * cnt;
		batch->nblocks++;
		batch->nkeys += cnt;
		compute_values(rel, page, blk, vals + (Size) i * instride, w);
		if (batch->nblocks == PS_MAX_SET_BLOCKS)
			flush_batch(batch, false);
		i += cnt;
	}
	flush_batch(batch, false);
}

/*
 * Read the values of sorted keys (repeats allowed) into out, which holds
 * n * nfloats zeroed floats: key i's first nfloats floats (dim for values,
 * width for whole records) go to position perm[i] (or i when perm is
 * NULL).  Keys not in the table stay zero.
 */
void
ps_store_read(Relation rel, PsDir *dir, const int64 *keys, const int32 *perm,
			  int n, int nfloats, float4 *out)
{
	ps_store_read_clock(rel, dir, keys, perm, n, nfloats, out, NULL);
}

/*
 * As ps_store_read; *clock (if not NULL) receives the largest clock of the
 * leaves the keys were read from (0 if none).
 */
void
ps_store_read_clock(Relation rel, PsDir *dir, const int64 *keys,
					const int32 *perm, int n, int nfloats, float4 *out,
					uint64 *clock)
{
	int			dim = nfloats;
	int			width = dir->width;
	int		   *slots;
	int			i = 0,
				d = 0;
	LeafCursor	cur = {false, 0, InvalidBlockNumber};

	if (clock)
		*clock = 0;
	if (n == 0 || dir->n == 0)
		return;
	slots = palloc(sizeof(int) * n);
	while (i < n)
	{
		Buffer		buf;
		Page		page;
		const float4 *pv;
		BlockNumber blkno;
		Buffer	   *hint;
		int			cnt,
					k;

		CHECK_FOR_INTERRUPTS();
		blkno = route(dir, &cur, keys[i], &d, &hint);
		buf = lock_leaf(rel, blkno, hint, keys[i], BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		cursor_advance(&cur, PsPageGetOpaque(page));
		if (clock)
			*clock = Max(*clock, PsPageGetOpaque(page)->clock);
		cnt = count_upto(keys + i, n - i, PsPageGetOpaque(page)->hi);
		ps_leaf_locate(page, keys + i, cnt, slots + i);
		pv = PsLeafVals(page);
		if (width == 1)
		{
			for (k = i; k < i + cnt; k++)
				if (slots[k] >= 0)
					out[perm ? perm[k] : k] = pv[slots[k]];
		}
		else
		{
			for (k = i; k < i + cnt; k++)
				if (slots[k] >= 0)
					memcpy(out + (Size) (perm ? perm[k] : k) * dim,
						   pv + (Size) slots[k] * width, sizeof(float4) * dim);
		}
		UnlockReleaseBuffer(buf);
		i += cnt;
	}
	pfree(slots);
}

/*
 * Read the values of keys lo .. lo + count - 1 into out (count * dim zeroed
 * floats), walking leaves along their right-links.
 */
void
ps_store_read_range(Relation rel, PsDir *dir, int64 lo, int64 count,
					float4 *out)
{
	int			dim = dir->dim;
	int			width = dir->width;
	int64		last = lo + (count - 1);
	int64		cur = lo;
	BlockNumber blk;

	if (count <= 0 || dir->n == 0)
		return;
	blk = dir->blk[ps_dir_find(dir, lo, 0)];
	for (;;)
	{
		Buffer		buf;
		Page		page;
		PsPageOpaque op;
		int64		end;
		int			s,
					n;
		const float4 *pv;

		CHECK_FOR_INTERRUPTS();
		buf = lock_leaf(rel, blk, NULL, cur, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		op = PsPageGetOpaque(page);
		end = Min(last, op->hi);
		n = op->nitems;
		pv = PsLeafVals(page);
		s = ps_leaf_lower_bound(page, cur);
		if (PsLeafIsDense(op))
		{
			/* slots s .. e hold keys base + s .. base + e, all in range */
			int			e = ps_leaf_lower_bound(page, end);

			if (e < n && op->base + e <= end)
				e++;
			if (e > s && width == dim)
				memcpy(out + (Size) (op->base + s - lo) * dim,
					   pv + (Size) s * dim, sizeof(float4) * dim * (e - s));
			else
				for (; s < e; s++)
					memcpy(out + (Size) (op->base + s - lo) * dim,
						   pv + (Size) s * width, sizeof(float4) * dim);
		}
		else
		{
			const int64 *pk = PsLeafKeys(page);

			for (; s < n && pk[s] <= end; s++)
				memcpy(out + (Size) (pk[s] - lo) * dim, pv + (Size) s * width,
					   sizeof(float4) * dim);
		}
		blk = op->next;
		UnlockReleaseBuffer(buf);
		if (end >= last)
			break;
		cur = end + 1;
	}
}
