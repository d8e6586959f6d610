/*-------------------------------------------------------------------------
 *
 * ps_am.c
 *	  The ps table access method: its routine table, what ps tables refuse
 *	  to do, and the storage callbacks (create, truncate, copy, rewrite,
 *	  vacuum, size).  Scans are in ps_am_scan.c, INSERT and COPY in
 *	  ps_am_write.c.
 *
 * A ps table has two columns, a bigint key and a real (dim 1) or real[]
 * value.  Rows are (key, value) pairs kept in key order; scans return them
 * in that order from copies of one leaf at a time.  INSERT and COPY set
 * values (the last row for a key wins).  There is no MVCC: writes are not
 * undone by ROLLBACK and scans see the values as they are when each leaf is
 * read, like sequences.  UPDATE, DELETE, row locks, indexes, TABLESAMPLE
 * and parallel scans are refused with an error saying what to use instead.
 *
 * Layer 8 (access method): called by PostgreSQL's executor and DDL through
 * the routine table (ps_am.c); calls the layers below, never the SQL entry
 * points or the module entry.
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
#include "ps_page.h"
#include "ps_state.h"
#include "ps_store.h"
#include "ps_table.h"
#include "ps_am.h"
#include "ps_am_int.h"

PG_FUNCTION_INFO_V1(ps_tableam_handler);

static const TableAmRoutine ps_methods;

const TableAmRoutine *
ps_tableam_routine(void)
{
	return &ps_methods;
}

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
	w.once = NULL;
	w.capture = NULL;
	w.nonce = 0;
	w.flush_later = false;
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
