/*-------------------------------------------------------------------------
 *
 * ps_tableam.c
 *	  The ps table access method: the callbacks that let ordinary SQL
 *	  create, fill, scan, copy, analyze, vacuum, truncate and rewrite ps
 *	  tables, and the definition of what a ps table looks like.
 *
 * A ps table has two columns, a bigint key and a real (dim 1) or real[]
 * value.  Rows are (key, value) pairs kept in key order; scans return them
 * in that order from copies of one leaf at a time.  INSERT and COPY set
 * values (the last row for a key wins).  There is no MVCC: writes are not
 * undone by ROLLBACK and scans see the values as they are when each leaf is
 * read, like sequences.  UPDATE, DELETE, row locks, indexes, TABLESAMPLE
 * and parallel scans are refused with an error saying what to use instead.
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
#include "ps_config.h"
#include "ps_dir.h"
#include "ps_keys.h"
#include "ps_page.h"
#include "ps_marks.h"
#include "ps_state.h"
#include "ps_store.h"
#include "ps_table.h"

PG_FUNCTION_INFO_V1(ps_tableam_handler);

static const TableAmRoutine ps_methods;

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

const TableAmRoutine *
ps_tableam_routine(void)
{
	return &ps_methods;
}


/* ------------------------------------------------------------------------
 * Scans
 * ------------------------------------------------------------------------
 */

static const TupleTableSlotOps *
ps_slot_callbacks(Relation rel)
{
	return &TTSOpsVirtual;
}

static TableScanDesc
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

static void
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

static void
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

static bool
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

static Size
ps_parallelscan_estimate(Relation rel)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("parallel scans of ps tables are not supported")));
	return 0;
}

static Size
ps_parallelscan_initialize(Relation rel, ParallelTableScanDesc pscan)
{
	return ps_parallelscan_estimate(rel);
}

static void
ps_parallelscan_reinitialize(Relation rel, ParallelTableScanDesc pscan)
{
	ps_parallelscan_estimate(rel);
}

/* ------------------------------------------------------------------------
 * What ps tables do not do
 * ------------------------------------------------------------------------
 */

static void
not_by_tid(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("ps tables do not support UPDATE, DELETE, row locks or access by ctid"),
			 errdetail("Rows of a ps table have no stable identity: leaves split and move keys."),
			 errhint("Change values with ps_push() (adds) or INSERT (sets); to remove every key, use TRUNCATE.")));
}

static void
not_indexable(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("ps tables do not support indexes"),
			 errdetail("A ps table keeps its keys sorted in key ranges already."),
			 errhint("Read keys with ps_pull() or ps_pull_range(), or scan the table.")));
}

static IndexFetchTableData *
ps_index_fetch_begin(Relation rel)
{
	not_indexable();
	return NULL;
}

static void
ps_index_fetch_reset(IndexFetchTableData *data)
{
	not_indexable();
}

static void
ps_index_fetch_end(IndexFetchTableData *data)
{
	not_indexable();
}

static bool
ps_index_fetch_tuple(IndexFetchTableData *scan, ItemPointer tid,
					 Snapshot snapshot, TupleTableSlot *slot,
					 bool *call_again, bool *all_dead)
{
	not_indexable();
	return false;
}

static bool
ps_tuple_fetch_row_version(Relation rel, ItemPointer tid, Snapshot snapshot,
						   TupleTableSlot *slot)
{
	not_by_tid();
	return false;
}

static bool
ps_tuple_tid_valid(TableScanDesc scan, ItemPointer tid)
{
	not_by_tid();
	return false;
}

static void
ps_tuple_get_latest_tid(TableScanDesc scan, ItemPointer tid)
{
	not_by_tid();
}

static bool
ps_tuple_satisfies_snapshot(Relation rel, TupleTableSlot *slot,
							Snapshot snapshot)
{
	not_by_tid();
	return false;
}

static TransactionId
ps_index_delete_tuples(Relation rel, TM_IndexDeleteOp *delstate)
{
	not_indexable();
	return InvalidTransactionId;
}

static void
ps_tuple_insert_speculative(Relation rel, TupleTableSlot *slot, CommandId cid,
							int options, BulkInsertState bistate,
							uint32 specToken)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("ps tables do not support INSERT ... ON CONFLICT"),
			 errhint("A plain INSERT already overwrites the value of an existing key; ps_push() adds to it.")));
}

static void
ps_tuple_complete_speculative(Relation rel, TupleTableSlot *slot,
							  uint32 specToken, bool succeeded)
{
	ps_tuple_insert_speculative(rel, slot, 0, 0, NULL, 0);
}

static TM_Result
ps_tuple_delete(Relation rel, ItemPointer tid, CommandId cid,
				Snapshot snapshot, Snapshot crosscheck, bool wait,
				TM_FailureData *tmfd, bool changingPart)
{
	not_by_tid();
	return TM_Ok;
}

static TM_Result
ps_tuple_update(Relation rel, ItemPointer otid, TupleTableSlot *slot,
				CommandId cid, Snapshot snapshot, Snapshot crosscheck,
				bool wait, TM_FailureData *tmfd, LockTupleMode *lockmode,
				bool *update_indexes)
{
	not_by_tid();
	return TM_Ok;
}

static TM_Result
ps_tuple_lock(Relation rel, ItemPointer tid, Snapshot snapshot,
			  TupleTableSlot *slot, CommandId cid, LockTupleMode mode,
			  LockWaitPolicy wait_policy, uint8 flags, TM_FailureData *tmfd)
{
	not_by_tid();
	return TM_Ok;
}

static double
ps_index_build_range_scan(Relation table_rel, Relation index_rel,
						  IndexInfo *index_info, bool allow_sync, bool anyvisible,
						  bool progress, BlockNumber start_blockno,
						  BlockNumber numblocks, IndexBuildCallback callback,
						  void *callback_state, TableScanDesc scan)
{
	not_indexable();
	return 0;
}

static void
ps_index_validate_scan(Relation table_rel, Relation index_rel,
					   IndexInfo *index_info, Snapshot snapshot,
					   ValidateIndexState *state)
{
	not_indexable();
}

static bool
ps_scan_sample_next_block(TableScanDesc scan, SampleScanState *scanstate)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("ps tables do not support TABLESAMPLE"),
			 errhint("Sample keys with a WHERE clause on random(), or pull a random set of keys.")));
	return false;
}

static bool
ps_scan_sample_next_tuple(TableScanDesc scan, SampleScanState *scanstate,
						  TupleTableSlot *slot)
{
	return ps_scan_sample_next_block(scan, scanstate);
}

/* ------------------------------------------------------------------------
 * INSERT and COPY: set values
 * ------------------------------------------------------------------------
 */

/*
 * The keys and values of the rows in slots (dim values per key, checked);
 * returns the dim.
 */
static int
rows_to_arrays(Relation rel, PsDir *dir, TupleTableSlot **slots, int nslots,
			   int64 **okeys, float4 **ovals)
{
	PsShape		shape;
	int			dim = 0;
	int64	   *keys;
	float4	   *vals = NULL;
	int			i;

	if (!ps_shape(RelationGetDescr(rel), &shape))
		ps_validate_shape(rel);
	keys = palloc(sizeof(int64) * nslots);
	for (i = 0; i < nslots; i++)
	{
		TupleTableSlot *slot = slots[i];
		bool		isnull;
		Datum		kd,
					vd;
		const float4 *v;
		float4		one;
		int			len;

		kd = slot_getattr(slot, shape.keyatt + 1, &isnull);
		if (isnull)
			ereport(ERROR,
					(errcode(ERRCODE_NOT_NULL_VIOLATION),
					 errmsg("null key in ps table \"%s\"", ps_relname(rel)),
					 errhint("Every row of a ps table needs a key.")));
		vd = slot_getattr(slot, shape.valatt + 1, &isnull);
		if (isnull)
			ereport(ERROR,
					(errcode(ERRCODE_NOT_NULL_VIOLATION),
					 errmsg("null value in ps table \"%s\"", ps_relname(rel)),
					 errhint("Missing keys already read as zero; leave the row out instead.")));
		if (shape.isarray)
		{
			ArrayType  *arr = DatumGetArrayTypeP(vd);

			if (ARR_NDIM(arr) > 1)
				ereport(ERROR,
						(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
						 errmsg("value of ps table \"%s\" must be a one-dimensional array",
								ps_relname(rel)),
						 errhint("A value is a plain array of dim floats.")));
			if (ARR_HASNULL(arr) && array_contains_nulls(arr))
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("value of ps table \"%s\" contains a NULL element",
								ps_relname(rel)),
						 errhint("Write 0 for elements without a value.")));
			len = ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr));
			v = (const float4 *) ps_array_data(arr);
		}
		else
		{
			one = DatumGetFloat4(vd);
			len = 1;
			v = &one;
		}
		if (i == 0)
		{
			dim = ps_table_dim(rel, dir, len);
			vals = palloc(sizeof(float4) * dim * nslots);
		}
		if (len != dim)
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 errmsg("value of ps table \"%s\" has %d elements, the table's dim is %d",
							ps_relname(rel), len, dim),
					 errhint("Every value of the table has exactly dim elements.")));
		ps_check_finite(v, dim, false);
		keys[i] = DatumGetInt64(kd);
		memcpy(vals + (Size) i * dim, v, sizeof(float4) * dim);
	}
	*okeys = keys;
	*ovals = vals;
	return dim;
}

/*
 * Rows that PostgreSQL copies into rel, the transient table of a rewrite
 * of table srcid (ALTER TABLE ... SET LOGGED/UNLOGGED, ALTER COLUMN TYPE,
 * SET ACCESS METHOD, REFRESH MATERIALIZED VIEW).  The rewrite hands over
 * values only; what a ps table keeps besides them is carried from the old
 * storage: the configured rule's room for state, the rule's state of every
 * key whose value the rewrite left unchanged (a changed value starts its
 * state afresh, as INSERT does), the leaves' clocks, and the timestamp
 * reservation, so that timestamps never go back.  No timestamps are
 * issued: a rewrite is not a push.
 */
static void
insert_rewrite(Relation rel, Oid srcid, const int64 *keys, const float4 *vals,
			   int n, int dim)
{
	Relation	src = relation_open(srcid, NoLock); /* the rewrite holds it */
	const PsConfig *cfg = ps_config_get(src);
	PsDir	   *dir = ps_config_storage(rel, dim, cfg);
	PsWrite		w;
	float4	   *recs = NULL;
	uint64		clock = 0;

	w.rule = cfg->rule;
	w.dim = dim;
	w.kkt = false;
	w.written = NULL;
	w.mode = PS_WRITE_SET;
	if (ps_is_ps_relation(src) && ps_has_storage(src))
	{
		PsDir	   *sdir = ps_dir_get(src, false, 0, 0);
		uint64		reserved = ps_dir_ts_reserved(src);
		XLogRecPtr	lsn;

		if (ps_dir_ts_reserved(rel) < reserved)
			ps_dir_reserve_ts(rel, reserved, &lsn);
		if (sdir->dim == dim && sdir->width == dir->width)
		{
			int			width = dir->width;
			int			k;

			recs = palloc0(sizeof(float4) * width * n);
			ps_store_read_clock(src, sdir, keys, NULL, n, width, recs, &clock);
			for (k = 0; k < n; k++)
				if (memcmp(recs + (Size) k * width, vals + (Size) k * dim,
						   sizeof(float4) * dim) != 0)
					ps_rule_set(&cfg->rule, dim, vals + (Size) k * dim,
								recs + (Size) k * width);
			w.mode = PS_WRITE_RECORDS;
		}
	}
	w.ts = clock;
	ps_store_write(rel, dir, keys, recs ? recs : vals, n, &w);
	relation_close(src, NoLock);
}

/*
 * Write the rows of slots as (key, value) settings, the last row of a key
 * winning.  Like ps_push, the change is not transactional.  This backend's
 * open scans of the table freeze first.
 */
static void
insert_rows(Relation rel, TupleTableSlot **slots, int nslots)
{
	PsDir	   *dir;
	int			dim;
	int64	   *keys;
	float4	   *vals;
	int64	   *ukeys;
	float4	   *uvals;
	int			n;
	const PsConfig *cfg;
	PsWrite		w;
	XLogRecPtr	flush_lsn;
	Oid			srcid;

	ps_check_preloaded();
	dir = ps_dir_get(rel, false, 0, 0);
	dim = rows_to_arrays(rel, dir, slots, nslots, &keys, &vals);

	/* commit then flushes WAL, as for any write */
	(void) GetCurrentTransactionId();
	n = ps_aggregate(keys, vals, nslots, dim, PS_DUP_LAST, &ukeys, &uvals);
	if (OidIsValid(srcid = ps_rewrite_source(rel)))
		insert_rewrite(rel, srcid, ukeys, uvals, n, dim);
	else
	{
		ps_freeze_scans(rel);
		cfg = ps_config_get_for_write(rel);
		dir = ps_config_storage(rel, dim, cfg);
		w.mode = PS_WRITE_SET;
		w.rule = cfg->rule;
		w.dim = dim;
		w.kkt = false;
		w.written = NULL;
		w.ts = ps_state_next_ts(rel, &flush_lsn);
		ps_mark_request(rel);
		ps_store_write(rel, dir, ukeys, uvals, n, &w);
	}
	pgstat_count_heap_insert(rel, nslots);
}

static void
ps_tuple_insert(Relation rel, TupleTableSlot *slot, CommandId cid,
				int options, BulkInsertState bistate)
{
	insert_rows(rel, &slot, 1);
}

static void
ps_multi_insert(Relation rel, TupleTableSlot **slots, int nslots,
				CommandId cid, int options, BulkInsertState bistate)
{
	insert_rows(rel, slots, nslots);
}

/* ------------------------------------------------------------------------
 * Storage: create, truncate, copy, rewrite, vacuum, analyze, size
 * ------------------------------------------------------------------------
 */

static void
ps_relation_set_new_filenode(Relation rel, const RelFileNode *newrnode,
							 char persistence, TransactionId *freezeXid,
							 MultiXactId *minmulti)
{
	SMgrRelation srel;

	ps_check_preloaded();
	ps_validate_shape(rel);

	/* no transaction ids are stored: nothing ever needs freezing */
	*freezeXid = InvalidTransactionId;
	*minmulti = InvalidMultiXactId;

	/* storage starts empty; the first write creates the metapage */
	srel = RelationCreateStorage(*newrnode, persistence, true);
	if (persistence == RELPERSISTENCE_UNLOGGED)
	{
		smgrcreate(srel, INIT_FORKNUM, false);
		log_smgrcreate(newrnode, INIT_FORKNUM);
		smgrimmedsync(srel, INIT_FORKNUM);
	}
	smgrclose(srel);
}

static void
ps_relation_nontransactional_truncate(Relation rel)
{
	RelationTruncate(rel, 0);
	ps_dir_reset_storage(rel);
	ps_state_reset_ts(RelationGetRelid(rel));
}

static void
ps_relation_copy_data(Relation rel, const RelFileNode *newrnode)
{
	SMgrRelation dstrel = smgropen(*newrnode, rel->rd_backend);
	ForkNumber	fork;

	/* the copy reads files directly: write out buffered pages first */
	FlushRelationBuffers(rel);
	RelationCreateStorage(*newrnode, rel->rd_rel->relpersistence, true);
	RelationCopyStorage(RelationGetSmgr(rel), dstrel, MAIN_FORKNUM,
						rel->rd_rel->relpersistence);
	for (fork = MAIN_FORKNUM + 1; fork <= MAX_FORKNUM; fork++)
	{
		if (!smgrexists(RelationGetSmgr(rel), fork))
			continue;
		smgrcreate(dstrel, fork, false);
		if (RelationIsPermanent(rel) ||
			(rel->rd_rel->relpersistence == RELPERSISTENCE_UNLOGGED &&
			 fork == INIT_FORKNUM))
			log_smgrcreate(newrnode, fork);
		RelationCopyStorage(RelationGetSmgr(rel), dstrel, fork,
							rel->rd_rel->relpersistence);
	}
	RelationDropStorage(rel);
	smgrclose(dstrel);
}

/*
 * VACUUM FULL and CLUSTER: copy every key into the new storage, which packs
 * the leaves.  Leaf clocks and the timestamp reservation carry over.
 */
static void
ps_relation_copy_for_cluster(Relation OldTable, Relation NewTable,
							 Relation OldIndex, bool use_sort,
							 TransactionId OldestXmin,
							 TransactionId *xid_cutoff,
							 MultiXactId *multi_cutoff,
							 double *num_tuples,
							 double *tups_vacuumed,
							 double *tups_recently_dead)
{
	PsDir	   *olddir = ps_dir_get(OldTable, false, 0, 0);
	const PsConfig *cfg = ps_config_get(OldTable);	/* NewTable is transient */
	PsDir	   *newdir;
	PsWrite		w;
	char	   *page;
	BlockNumber blk;
	int64	   *keys;
	float4	   *vals;
	int			dim = olddir->dim;
	int			oldwidth = olddir->width;
	XLogRecPtr	lsn;

	*num_tuples = 0;
	*tups_vacuumed = 0;
	*tups_recently_dead = 0;
	if (olddir->n == 0)
		return;

	/*
	 * The new storage has room for the configured rule's state.  If that is
	 * what the old storage held, records are copied whole; if not (the rule
	 * was configured while the table held values of another rule's layout),
	 * values are copied and the state starts afresh.
	 */
	w.rule = cfg->rule;
	w.dim = dim;
	w.kkt = false;
	w.written = NULL;
	newdir = ps_dir_get(NewTable, true, dim, ps_config_width(OldTable, cfg, dim));
	w.mode = (newdir->width == oldwidth) ? PS_WRITE_RECORDS : PS_WRITE_SET;
	page = palloc(BLCKSZ);
	keys = palloc(sizeof(int64) * PsLeafDenseCapacity(1));
	vals = palloc(PS_PAGE_PAYLOAD);
	for (blk = PS_FIRST_LEAF_BLKNO; blk != InvalidBlockNumber;)
	{
		PsPageOpaque op;
		const float4 *recs;
		int			i;

		CHECK_FOR_INTERRUPTS();
		blk = ps_store_copy_leaf(OldTable, blk, page, NULL);
		op = PsPageGetOpaque((Page) page);
		recs = PsLeafVals((Page) page);
		for (i = 0; i < (int) op->nitems; i++)
		{
			keys[i] = PsLeafKeyAt((Page) page, i);
			if (w.mode == PS_WRITE_SET)
				memcpy(vals + (Size) i * dim, recs + (Size) i * oldwidth,
					   sizeof(float4) * dim);
		}
		w.ts = op->clock;
		ps_store_write(NewTable, newdir, keys,
					   w.mode == PS_WRITE_RECORDS ? recs : vals, op->nitems, &w);
		*num_tuples += op->nitems;
	}
	ps_dir_reserve_ts(NewTable, ps_dir_ts_reserved(OldTable), &lsn);
	pfree(vals);
	pfree(keys);
	pfree(page);
}

/*
 * VACUUM: there are no dead rows to reclaim.  Count keys and pages so the
 * planner's statistics are exact.
 */
static void
ps_relation_vacuum(Relation rel, struct VacuumParams *params,
				   BufferAccessStrategy bstrategy)
{
	BlockNumber nblocks = RelationGetNumberOfBlocks(rel);
	BlockNumber blk;
	double		nkeys = 0;
	char	   *page;

	if (ps_has_storage(rel))
	{
		page = palloc(BLCKSZ);
		for (blk = PS_FIRST_LEAF_BLKNO; blk != InvalidBlockNumber;)
		{
			CHECK_FOR_INTERRUPTS();
			blk = ps_store_copy_leaf(rel, blk, page, bstrategy);
			nkeys += PsPageGetOpaque((Page) page)->nitems;
		}
		pfree(page);
	}
	vac_update_relstats(rel, nblocks, nkeys, 0, false,
						InvalidTransactionId, InvalidMultiXactId,
						NULL, NULL, false);
	/* resets the counters that make autovacuum choose the table */
	pgstat_report_vacuum(RelationGetRelid(rel), rel->rd_rel->relisshared,
						 (PgStat_Counter) nkeys, 0);
}

static bool
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

static bool
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

static bool
ps_relation_needs_toast_table(Relation rel)
{
	return false;
}

static void
ps_relation_estimate_size(Relation rel, int32 *attr_widths,
						  BlockNumber *pages, double *tuples,
						  double *allvisfrac)
{
	table_block_relation_estimate_size(rel, attr_widths, pages, tuples,
									   allvisfrac, 0, PS_PAGE_PAYLOAD);
}

static const TableAmRoutine ps_methods = {
	.type = T_TableAmRoutine,

	.slot_callbacks = ps_slot_callbacks,

	.scan_begin = ps_scan_begin,
	.scan_end = ps_scan_end,
	.scan_rescan = ps_scan_rescan,
	.scan_getnextslot = ps_scan_getnextslot,

	.parallelscan_estimate = ps_parallelscan_estimate,
	.parallelscan_initialize = ps_parallelscan_initialize,
	.parallelscan_reinitialize = ps_parallelscan_reinitialize,

	.index_fetch_begin = ps_index_fetch_begin,
	.index_fetch_reset = ps_index_fetch_reset,
	.index_fetch_end = ps_index_fetch_end,
	.index_fetch_tuple = ps_index_fetch_tuple,

	.tuple_insert = ps_tuple_insert,
	.tuple_insert_speculative = ps_tuple_insert_speculative,
	.tuple_complete_speculative = ps_tuple_complete_speculative,
	.multi_insert = ps_multi_insert,
	.tuple_delete = ps_tuple_delete,
	.tuple_update = ps_tuple_update,
	.tuple_lock = ps_tuple_lock,

	.tuple_fetch_row_version = ps_tuple_fetch_row_version,
	.tuple_get_latest_tid = ps_tuple_get_latest_tid,
	.tuple_tid_valid = ps_tuple_tid_valid,
	.tuple_satisfies_snapshot = ps_tuple_satisfies_snapshot,
	.index_delete_tuples = ps_index_delete_tuples,

	.relation_set_new_filenode = ps_relation_set_new_filenode,
	.relation_nontransactional_truncate = ps_relation_nontransactional_truncate,
	.relation_copy_data = ps_relation_copy_data,
	.relation_copy_for_cluster = ps_relation_copy_for_cluster,
	.relation_vacuum = ps_relation_vacuum,
	.scan_analyze_next_block = ps_scan_analyze_next_block,
	.scan_analyze_next_tuple = ps_scan_analyze_next_tuple,
	.index_build_range_scan = ps_index_build_range_scan,
	.index_validate_scan = ps_index_validate_scan,

	.relation_size = table_block_relation_size,
	.relation_needs_toast_table = ps_relation_needs_toast_table,
	.relation_estimate_size = ps_relation_estimate_size,

	.scan_sample_next_block = ps_scan_sample_next_block,
	.scan_sample_next_tuple = ps_scan_sample_next_tuple
};

Datum
ps_tableam_handler(PG_FUNCTION_ARGS)
{
	ps_check_preloaded();
	PG_RETURN_POINTER(&ps_methods);
}
