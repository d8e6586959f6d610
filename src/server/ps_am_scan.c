/*-------------------------------------------------------------------------
 *
 * ps_am_scan.c
 *	  Scans of ps tables: rows (key, value) in key order, one leaf copied at
 *	  a time; and the freezing that keeps a scan from reading what its own
 *	  backend writes after it began.
 *
 * There is no MVCC: a scan sees each leaf as it is when it reaches it.
 * Sequential scans, ANALYZE's sample and COPY TO read through here;
 * parallel scans are refused.
 *
 * Layer 8 (access method): called by PostgreSQL's executor and DDL through
 * the routine table (ps_am.c), and by every writer before it writes
 * (ps_freeze_scans: ps_am_write.c, ps_sql_push.c); calls the layers below,
 * never the SQL entry points or the module entry.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/heapam.h"
#include "access/relation.h"
#include "access/multixact.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/catalog.h"
#include "catalog/index.h"
#include "catalog/pg_operator_d.h"
#include "catalog/pg_type.h"
#include "catalog/storage.h"
#include "catalog/storage_xlog.h"
#include "commands/vacuum.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "pgstat.h"
#include "storage/buffile.h"
#include "storage/bufmgr.h"
#include "storage/proc.h"
#include "storage/smgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"

#include "ps_base.h"
#include "ps_dir.h"
#include "ps_page.h"
#include "ps_store.h"
#include "ps_table.h"
#include "ps_am_int.h"
#include "ps_am_scan.h"

typedef struct PsScanDescData
{
	TableScanDescData base;
	PsShape		shape;			/* of shape_desc */
	TupleDesc	shape_desc;		/* descriptor of the slots rows go to */
	int			dim;			/* values per key */
	BlockNumber curblk;			/* leaf held in page */
	BlockNumber nextblk;		/* next leaf, InvalidBlockNumber at the end */
	bool		started;
	bool		have_page;
	int			pos;			/* next slot of page to return */
	char	   *page;			/* BLCKSZ copy of the current leaf */
	MemoryContext rowcxt;		/* arrays of the row last returned */
	BufferAccessStrategy strategy;	/* ring buffer for big tables */
	/* open scans of this backend, and the table frozen for this one */
	struct ScanReg *reg;
	ResourceOwner owner;		/* at scan_begin: owns the frozen copy */
	bool		broken;			/* freezing failed: the scan cannot go on */
	BufFile    *frozen;			/* copy of every leaf, in chain order */
	BlockNumber *frozen_blk;	/* the leaf each page of it was */
	long		frozen_n;		/* pages in it */
	long		frozen_pos;		/* next page to read */
} PsScanDescData;

typedef PsScanDescData *PsScanDesc;

/*
 * The open scans of ps tables in this backend.  A ps table has no MVCC: a
 * scan sees each leaf as it is when it reaches it.  If the backend wrote
 * into the table it is scanning, ahead of the scan (INSERT INTO t SELECT
 * key + 10000, val FROM t; a PL/pgSQL loop over t inserting into t; a
 * trigger; ps_push in a SELECT over t), the scan would read its own rows
 * and might never end.  So before this backend writes a ps table, its
 * open scans of that table freeze (ps_freeze_scans): they copy the whole
 * table, as it is then, into a temporary file and read on from there, as a
 * heap scan reads on from its snapshot.  Writes by other sessions are
 * seen by scans that have not frozen, as always.  The registry entry
 * lives in the scan's memory context, which unlinks it when it goes; so
 * does the release of the scan's resource owner (a cursor whose fetch
 * failed in a subtransaction loses its owner, and its relation reference
 * and temporary files with it, long before its memory goes).
 */
typedef struct ScanReg
{
	PsScanDesc	scan;			/* NULL once ended */
	struct ScanReg *next;
	MemoryContextCallback gone;
} ScanReg;

static ScanReg *open_scans = NULL;

static void scan_check_writes(Relation rel, Snapshot snapshot);

static void scan_owner_released(ResourceReleasePhase phase, bool isCommit,
								bool isTopLevel, void *arg);

static void
scan_unlink(void *arg)
{
	ScanReg    *reg = (ScanReg *) arg;
	ScanReg   **p;

	for (p = &open_scans; *p != NULL; p = &(*p)->next)
		if (*p == reg)
		{
			*p = reg->next;
			break;
		}
	reg->scan = NULL;
}

const TupleTableSlotOps *
ps_slot_callbacks(Relation rel)
{
	return &TTSOpsVirtual;
}

TableScanDesc
ps_scan_begin(Relation rel, Snapshot snapshot, int nkeys, ScanKey key,
			  ParallelTableScanDesc pscan, uint32 flags)
{
	PsScanDesc	scan;

	ps_check_preloaded();
	if (pscan != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("parallel scans of ps tables are not supported")));

	scan_check_writes(rel, snapshot);
	scan = palloc0(sizeof(PsScanDescData));
	scan->base.rs_rd = rel;
	scan->base.rs_snapshot = snapshot;
	scan->base.rs_nkeys = nkeys;
	scan->base.rs_key = key;
	scan->base.rs_flags = flags;
	scan->base.rs_parallel = NULL;
	if (!ps_shape(RelationGetDescr(rel), &scan->shape))
		ps_validate_shape(rel);
	scan->shape_desc = RelationGetDescr(rel);
	scan->dim = ps_dir_get(rel, false, 0, 0)->dim;
	scan->page = palloc(BLCKSZ);
	scan->rowcxt = AllocSetContextCreate(CurrentMemoryContext, "ps scan row",
										 ALLOCSET_SMALL_SIZES);
	scan->started = false;
	scan->have_page = false;

	/* like heap: big tables are read through a ring, not all of shared buffers */
	if (RelationGetNumberOfBlocks(rel) > (BlockNumber) NBuffers / 4)
		scan->strategy = GetAccessStrategy(BAS_BULKREAD);

	scan->owner = CurrentResourceOwner;
	{
		static bool release_callback = false;

		if (!release_callback)
		{
			RegisterResourceReleaseCallback(scan_owner_released, NULL);
			release_callback = true;
		}
	}
	scan->reg = palloc0(sizeof(ScanReg));
	scan->reg->scan = scan;
	scan->reg->gone.func = scan_unlink;
	scan->reg->gone.arg = scan->reg;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &scan->reg->gone);
	scan->reg->next = open_scans;
	open_scans = scan->reg;
	return (TableScanDesc) scan;
}

/*
 * A resource owner is being released (CurrentResourceOwner is that owner):
 * the scans it held are over, whatever their memory says.  They leave the
 * registry, so that no later write freezes them; their relation reference
 * and frozen copy go with the owner.
 */
static void
scan_owner_released(ResourceReleasePhase phase, bool isCommit,
					bool isTopLevel, void *arg)
{
	ScanReg    *reg = open_scans;

	if (phase != RESOURCE_RELEASE_BEFORE_LOCKS)
		return;
	while (reg != NULL)
	{
		ScanReg    *next = reg->next;

		if (reg->scan != NULL && reg->scan->owner == CurrentResourceOwner)
		{
			reg->scan->frozen = NULL;	/* its files close with the owner */
			reg->scan->frozen_blk = NULL;
			reg->scan->broken = true;
			scan_unlink(reg);
		}
		reg = next;
	}
}

/*
 * Freeze scan: copy every leaf of its table, in chain order, into a
 * temporary file owned by the scan's resource owner, in the scan's memory
 * context.  The scan goes on from the leaf after the one it holds.  If the
 * copy fails (disk full, temp_file_limit, a cancel), the scan is broken:
 * its next read raises an error instead of reading a partial copy, also
 * when the caller catches this one.
 */
static void
freeze_scan(PsScanDesc scan)
{
	MemoryContext old = MemoryContextSwitchTo(GetMemoryChunkContext(scan));
	ResourceOwner save = CurrentResourceOwner;

	scan->broken = true;		/* until the copy is whole */
	PG_TRY();
	{
		Relation	rel = scan->base.rs_rd;
		char	   *page = palloc(BLCKSZ);
		long		cap = 64;
		long		n = 0;
		long		pos = 0;
		long		i;
		BlockNumber *blks = palloc(sizeof(BlockNumber) * cap);
		BlockNumber blk;

		CurrentResourceOwner = scan->owner;
		scan->frozen = BufFileCreateTemp(false);	/* closed by scan_end */
		CurrentResourceOwner = save;
		blk = ps_has_storage(rel) ? PS_FIRST_LEAF_BLKNO : InvalidBlockNumber;
		while (blk != InvalidBlockNumber)
		{
			BlockNumber next;

			CHECK_FOR_INTERRUPTS();
			next = ps_store_copy_leaf(rel, blk, page, scan->strategy);
			BufFileWrite(scan->frozen, page, BLCKSZ);
			if (n == cap)
			{
				cap *= 2;
				blks = repalloc_huge(blks, sizeof(BlockNumber) * cap);
			}
			blks[n++] = blk;
			blk = next;
		}
		pfree(page);

		/* where the scan stands: the leaf after the one it holds */
		if (scan->started && scan->nextblk == InvalidBlockNumber)
			pos = n;
		else if (scan->started)
			for (i = 0; i < n; i++)
				if (blks[i] == scan->nextblk)
				{
					pos = i;
					break;
				}
		if (scan->dim == 0 && n > 0)
			scan->dim = ps_dir_get(rel, false, 0, 0)->dim;
		scan->frozen_blk = blks;
		scan->frozen_n = n;
		scan->frozen_pos = pos;
	}
	PG_CATCH();
	{
		CurrentResourceOwner = save;
		PG_RE_THROW();
	}
	PG_END_TRY();
	scan->broken = false;
	MemoryContextSwitchTo(old);
}

/*
 * The ps tables the running top-level statement (one client message: a
 * query string, an extended-protocol Execute, a CALL) wrote, each with the
 * command id of its last write there.  A scan that begins in the same
 * statement with a snapshot that predates such a write (its curcid at or
 * below the write's command id: a partition or UNION branch read after
 * another was written, a stable function reading the table the statement
 * fills) would read the statement's own rows where a heap table shows the
 * old ones, and cannot be given those: it is refused (scan_check_writes).
 * A scan that begins in a later statement, a cursor's first FETCH after
 * the write, say, reads the table as it is then.  Entries of earlier
 * statements are reused; the array grows to the tables one statement
 * writes.
 */
typedef struct WrittenRel
{
	Oid			relid;
	LocalTransactionId lxid;
	TimestampTz stmt;
	CommandId	cid;
} WrittenRel;

static WrittenRel *written = NULL;

static int	nwritten = 0;

static int	maxwritten = 0;

static inline bool
written_now(const WrittenRel *w)
{
	return w->lxid == MyProc->lxid &&
		w->stmt == GetCurrentStatementStartTimestamp();
}

static void
note_write(Relation rel)
{
	Oid			relid = RelationGetRelid(rel);
	int			free_slot = -1;
	int			i;

	for (i = 0; i < nwritten; i++)
	{
		if (written[i].relid == relid)
			break;
		if (free_slot < 0 && !written_now(&written[i]))
			free_slot = i;
	}
	if (i == nwritten)
	{
		if (free_slot >= 0)
			i = free_slot;
		else
		{
			if (nwritten == maxwritten)
			{
				maxwritten = Max(16, maxwritten * 2);
				written = written == NULL ?
					MemoryContextAlloc(TopMemoryContext, sizeof(WrittenRel) * maxwritten) :
					repalloc(written, sizeof(WrittenRel) * maxwritten);
			}
			nwritten++;
		}
	}
	written[i].relid = relid;
	written[i].lxid = MyProc->lxid;
	written[i].stmt = GetCurrentStatementStartTimestamp();

	/*
	 * Mark the command id used: a push in a SELECT writes too, and the next
	 * statement of the transaction must get a later command id (and a
	 * snapshot that sees the push) as after an INSERT.
	 */
	written[i].cid = GetCurrentCommandId(true);
}

static void
scan_check_writes(Relation rel, Snapshot snapshot)
{
	int			i;

	if (snapshot == NULL || !IsMVCCSnapshot(snapshot))
		return;
	for (i = 0; i < nwritten; i++)
		if (written[i].relid == RelationGetRelid(rel) &&
			written_now(&written[i]) &&
			written[i].cid >= snapshot->curcid)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("a scan of ps table \"%s\" began after the statement wrote into it",
							RelationGetRelationName(rel)),
					 errdetail("A ps table has no snapshots: the scan would read the rows the statement wrote (a plan that reads partitions or UNION branches one after another, inserting as it goes, does this)."),
					 errhint("Read the rows into a temporary table first (CREATE TEMP TABLE ... AS SELECT ...), then insert from it.")));
}

/*
 * This backend is about to write rel: its open scans of rel freeze first,
 * so that they do not read what it writes (see ScanReg above).
 */
void
ps_freeze_scans(Relation rel)
{
	ScanReg    *reg;

	note_write(rel);
	for (reg = open_scans; reg != NULL; reg = reg->next)
		if (reg->scan != NULL && reg->scan->frozen == NULL &&
			!reg->scan->broken &&
			RelationGetRelid(reg->scan->base.rs_rd) == RelationGetRelid(rel))
			freeze_scan(reg->scan);
}

void
ps_scan_end(TableScanDesc sscan)
{
	PsScanDesc	scan = (PsScanDesc) sscan;

	scan_unlink(scan->reg);		/* the entry itself goes with its context */
	if (scan->frozen)
		BufFileClose(scan->frozen);
	if (scan->frozen_blk)
		pfree(scan->frozen_blk);
	MemoryContextDelete(scan->rowcxt);
	if (scan->strategy)
		FreeAccessStrategy(scan->strategy);
	pfree(scan->page);
	pfree(scan);
}

void
ps_scan_rescan(TableScanDesc sscan, ScanKey key, bool set_params,
			   bool allow_strat, bool allow_sync, bool allow_pagemode)
{
	PsScanDesc	scan = (PsScanDesc) sscan;

	scan->started = false;
	scan->have_page = false;
	scan->frozen_pos = 0;		/* a frozen scan reads its copy again */
}

/*
 * Put slot pos of the page copy into slot as a (key, value) row, shaped as
 * the slot's descriptor says.  That is usually the relation's; but ALTER
 * TABLE ... ALTER COLUMN TYPE reads the old rows through slots of the old
 * descriptor after the relation's has changed (real to real[], say): the
 * stored floats are the same, their column type is the slot's.
 */
static void
store_row(PsScanDesc scan, TupleTableSlot *slot)
{
	Page		page = (Page) scan->page;
	int			dim = scan->dim;
	const float4 *v = PsLeafVals(page) + (Size) scan->pos * PsPageGetOpaque(page)->width;
	int			natts = slot->tts_tupleDescriptor->natts;
	int			i;

	if (slot->tts_tupleDescriptor != scan->shape_desc)
	{
		if (!ps_shape(slot->tts_tupleDescriptor, &scan->shape))
			ps_validate_shape(scan->base.rs_rd);
		scan->shape_desc = slot->tts_tupleDescriptor;
	}
	if (!scan->shape.isarray && dim != 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("ps table \"%s\" holds %d values per key, which a real column cannot show",
						RelationGetRelationName(scan->base.rs_rd), dim),
				 errhint("Read it through a real[] value column.")));

	ExecClearTuple(slot);
	for (i = 0; i < natts; i++)
		slot->tts_isnull[i] = true;	/* dropped columns */
	slot->tts_values[scan->shape.keyatt] = Int64GetDatum(PsLeafKeyAt(page, scan->pos));
	slot->tts_isnull[scan->shape.keyatt] = false;
	if (scan->shape.isarray)
	{
		ArrayType  *arr;
		Size		nbytes = ARR_OVERHEAD_NONULLS(1) + sizeof(float4) * dim;

		MemoryContextReset(scan->rowcxt);
		arr = MemoryContextAlloc(scan->rowcxt, nbytes);
		SET_VARSIZE(arr, nbytes);
		arr->ndim = 1;
		arr->dataoffset = 0;
		arr->elemtype = FLOAT4OID;
		ARR_DIMS(arr)[0] = dim;
		ARR_LBOUND(arr)[0] = 1;
		memcpy(ps_array_data(arr), v, sizeof(float4) * dim);
		slot->tts_values[scan->shape.valatt] = PointerGetDatum(arr);
	}
	else
		slot->tts_values[scan->shape.valatt] = Float4GetDatum(v[0]);
	slot->tts_isnull[scan->shape.valatt] = false;
	ExecStoreVirtualTuple(slot);
	ItemPointerSet(&slot->tts_tid, scan->curblk, scan->pos + 1);
	scan->pos++;
}

bool
ps_scan_getnextslot(TableScanDesc sscan, ScanDirection direction,
					TupleTableSlot *slot)
{
	PsScanDesc	scan = (PsScanDesc) sscan;
	Relation	rel = sscan->rs_rd;

	if (ScanDirectionIsBackward(direction))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("ps tables can only be scanned forward"),
				 errhint("Declare the cursor NO SCROLL, or over a query whose result is materialized.")));

	if (!scan->started)
	{
		scan->started = true;
		scan->have_page = false;
		if (scan->frozen == NULL)
			scan->nextblk = ps_has_storage(rel) ? PS_FIRST_LEAF_BLKNO : InvalidBlockNumber;
	}
	for (;;)
	{
		if (scan->have_page &&
			scan->pos < (int) PsPageGetOpaque((Page) scan->page)->nitems)
		{
			store_row(scan, slot);
			return true;
		}
		CHECK_FOR_INTERRUPTS();
		if (scan->broken)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("scan of ps table \"%s\" cannot go on: the copy of the table it needed failed",
							RelationGetRelationName(rel)),
					 errdetail("Before this session writes a ps table, its open scans of the table copy it to a temporary file, so that they do not read what it writes; that copy failed, and the error said why."),
					 errhint("Make room for temporary files (temp_file_limit, disk space), or read the table into a temporary table first.")));
		if (scan->frozen != NULL)
		{
			/* the copy made when this backend began writing the table */
			if (scan->frozen_pos >= scan->frozen_n)
			{
				ExecClearTuple(slot);
				return false;
			}
			if (BufFileSeekBlock(scan->frozen, scan->frozen_pos) != 0 ||
				BufFileRead(scan->frozen, scan->page, BLCKSZ) != BLCKSZ)
				ereport(ERROR,
						(errcode_for_file_access(),
						 errmsg("could not read the frozen copy of ps table \"%s\": %m",
								RelationGetRelationName(rel))));
			scan->curblk = scan->frozen_blk[scan->frozen_pos++];
		}
		else
		{
			if (scan->nextblk == InvalidBlockNumber)
			{
				ExecClearTuple(slot);
				return false;
			}
			scan->curblk = scan->nextblk;
			scan->nextblk = ps_store_copy_leaf(rel, scan->curblk, scan->page,
											   scan->strategy);
		}
		scan->have_page = true;
		scan->pos = 0;
	}
}

Size
ps_parallelscan_estimate(Relation rel)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("parallel scans of ps tables are not supported")));
	return 0;
}

Size
ps_parallelscan_initialize(Relation rel, ParallelTableScanDesc pscan)
{
	return ps_parallelscan_estimate(rel);
}

void
ps_parallelscan_reinitialize(Relation rel, ParallelTableScanDesc pscan)
{
	ps_parallelscan_estimate(rel);
}

bool
ps_scan_analyze_next_block(TableScanDesc sscan, BlockNumber blockno,
						   BufferAccessStrategy bstrategy)
{
	PsScanDesc	scan = (PsScanDesc) sscan;
	Buffer		buf;
	Page		page;

	buf = ReadBufferExtended(sscan->rs_rd, MAIN_FORKNUM, blockno, RBM_NORMAL,
							 bstrategy);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	scan->have_page = !PageIsNew(page) && PsPageIsLeaf(page);
	if (scan->have_page)
		memcpy(scan->page, page, BLCKSZ);
	UnlockReleaseBuffer(buf);
	scan->curblk = blockno;
	scan->pos = 0;
	return true;
}

bool
ps_scan_analyze_next_tuple(TableScanDesc sscan, TransactionId OldestXmin,
						   double *liverows, double *deadrows,
						   TupleTableSlot *slot)
{
	PsScanDesc	scan = (PsScanDesc) sscan;

	if (!scan->have_page ||
		scan->pos >= (int) PsPageGetOpaque((Page) scan->page)->nitems)
	{
		ExecClearTuple(slot);
		return false;
	}
	store_row(scan, slot);
	*liverows += 1;
	return true;
}
