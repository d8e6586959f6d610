/*-------------------------------------------------------------------------
 *
 * ps_sql_info.c
 *	  Looking into ps tables: ps_ranges, ps_clocks, ps_stats, ps_filters,
 *	  ps_scheduler, ps_version, and ps_check, which verifies a table's pages.
 *
 * Layer 9 (SQL entry points): called by PostgreSQL only; calls any lower
 * layer, never ps.c nor another SQL file but ps_sql.c.
 * Nothing here changes a table.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "tcop/utility.h"
#include "catalog/pg_class.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/tuplestore.h"

#include "ps_base.h"
#include "ps_dir.h"
#include "ps_page.h"
#include "ps_state.h"
#include "ps_store.h"
#include "ps_table.h"
#include "ps_config.h"
#include "ps_queue.h"
#include "ps_clock.h"
#include "ps_filter.h"
#include "ps_sql.h"

PG_FUNCTION_INFO_V1(ps_ranges);

PG_FUNCTION_INFO_V1(ps_clocks);

PG_FUNCTION_INFO_V1(ps_filters);

PG_FUNCTION_INFO_V1(ps_scheduler);

PG_FUNCTION_INFO_V1(ps_stats);

PG_FUNCTION_INFO_V1(ps_check);

PG_FUNCTION_INFO_V1(ps_version);

/* The workers and clocks of a vector clock range as two arrays. */
static void
vector_datums(const PsClockRange *r, Datum *workers, Datum *clocks)
{
	Datum	   *w = palloc(sizeof(Datum) * Max(r ? r->nworkers : 0, 1));
	Datum	   *c = palloc(sizeof(Datum) * Max(r ? r->nworkers : 0, 1));
	int			n = r ? r->nworkers : 0;
	int			i;

	for (i = 0; i < n; i++)
	{
		w[i] = Int32GetDatum(r->workers[i]);
		c[i] = Int64GetDatum(r->clocks[i]);
	}
	*workers = PointerGetDatum(construct_array(w, n, INT4OID, 4, true, TYPALIGN_INT));
	*clocks = PointerGetDatum(construct_array(c, n, INT8OID, 8, FLOAT8PASSBYVAL,
											  TYPALIGN_DOUBLE));
}

/* A row of ps_ranges being built. */
typedef struct RangeRow
{
	bool		open;
	int64		lo;
	int64		hi;
	int64		keys;
	int32		pages;
	uint64		clock;
	const PsClockRange *vector;
	BlockNumber lastblk;
} RangeRow;

static void
emit_range(ReturnSetInfo *rsinfo, RangeRow *row)
{
	Datum		values[7];
	bool		nulls[7] = {false, false, false, false, false, false, false};

	if (!row->open)
		return;
	values[0] = Int64GetDatum(row->lo);
	values[1] = Int64GetDatum(row->hi);
	values[2] = Int64GetDatum(row->keys);
	values[3] = Int32GetDatum(row->pages);
	values[4] = Int64GetDatum((int64) row->clock);
	vector_datums(row->vector, &values[5], &values[6]);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	row->open = false;
}

/*
 * ps_ranges(tbl regclass) returns setof (lo, hi, keys, pages, clock,
 * workers, clocks)
 *
 * The key ranges of the table in key order.  A range is a run of leaves
 * with the same clock (the timestamp of the newest push applied to them,
 * as in the paper's range clocks) and the same vector clock: workers[i] is
 * at clocks[i] on all of it.  Leaves are split where the vector clock
 * changes.  keys and pages count the keys and leaves in the range.
 */
Datum
ps_ranges(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Relation	rel = ps_open_table(fcinfo, ACL_SELECT, AccessShareLock);
	char	   *page = palloc(BLCKSZ);
	BlockNumber blk;
	PsClockRange *vec;
	int			nvec,
				v = 0;
	RangeRow	row;

	InitMaterializedSRF(fcinfo, 0);
	memset(&row, 0, sizeof(row));
	nvec = RecoveryInProgress() ? 0 : ps_clock_ranges(rel, &vec);
	blk = ps_has_storage(rel) ? PS_FIRST_LEAF_BLKNO : InvalidBlockNumber;
	while (blk != InvalidBlockNumber)
	{
		BlockNumber cur = blk;
		PsPageOpaque op;
		int64		a;

		CHECK_FOR_INTERRUPTS();
		blk = ps_store_copy_leaf(rel, blk, page, NULL);
		op = PsPageGetOpaque((Page) page);

		/* cut the leaf at the borders of vector clock ranges */
		for (a = op->lo;;)
		{
			const PsClockRange *r = NULL;
			int64		b = op->hi;
			int64		nkeys;

			while (v < nvec && vec[v].hi < a)
				v++;
			if (v < nvec && vec[v].lo <= a)
			{
				r = &vec[v];
				b = Min(b, r->hi);
			}
			else if (v < nvec && vec[v].lo <= b)
				b = vec[v].lo - 1;
			nkeys = (b == PG_INT64_MAX ? (int64) op->nitems :
					 (int64) ps_leaf_lower_bound((Page) page, b + 1)) -
				ps_leaf_lower_bound((Page) page, a);

			if (!row.open || row.clock != op->clock || row.vector != r)
			{
				emit_range(rsinfo, &row);
				row.open = true;
				row.lo = a;
				row.keys = 0;
				row.pages = 0;
				row.clock = op->clock;
				row.vector = r;
				row.lastblk = InvalidBlockNumber;
			}
			row.hi = b;
			row.keys += nkeys;
			if (row.lastblk != cur)
				row.pages++;
			row.lastblk = cur;
			if (b >= op->hi)
				break;
			a = b + 1;
		}
	}
	emit_range(rsinfo, &row);
	relation_close(rel, NoLock);
	return (Datum) 0;
}

/*
 * ps_clocks(tbl regclass) returns setof (lo, hi, workers, clocks)
 *
 * The range vector clock alone: maximal key ranges over which every
 * worker's clock is the same; ranges no worker pushed to are left out.
 */
Datum
ps_clocks(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Relation	rel = ps_open_table(fcinfo, ACL_SELECT, AccessShareLock);
	PsClockRange *vec;
	int			nvec,
				i;

	InitMaterializedSRF(fcinfo, 0);
	nvec = RecoveryInProgress() ? 0 : ps_clock_ranges(rel, &vec);
	for (i = 0; i < nvec; i++)
	{
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};

		values[0] = Int64GetDatum(vec[i].lo);
		values[1] = Int64GetDatum(vec[i].hi);
		vector_datums(&vec[i], &values[2], &values[3]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	relation_close(rel, NoLock);
	return (Datum) 0;
}

/*
 * ps_filters(tbl) returns setof (filter, keys, bytes): what each filter
 * removed since the server started.
 */
Datum
ps_filters(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Relation	rel = ps_open_table(fcinfo, ACL_SELECT, AccessShareLock);
	uint64		keys[PS_NFILTERS] = {0};
	uint64		bytes[PS_NFILTERS] = {0};
	int			i;

	InitMaterializedSRF(fcinfo, 0);
	ps_state_filter_counts(rel, keys, bytes);
	for (i = 0; i < PS_NFILTERS; i++)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		values[0] = CStringGetTextDatum(ps_filter_names[i]);
		values[1] = Int64GetDatum((int64) keys[i]);
		values[2] = Int64GetDatum((int64) bytes[i]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	relation_close(rel, NoLock);
	return (Datum) 0;
}

/*
 * ps_scheduler() returns a row per applier of the scheduler's pool, and
 * row 0 for the pushes their own backends applied under ps.scheduler =
 * auto (nothing in the queue to aggregate them with):
 * (applier, pid, rounds, aggregates, pushes, failed, keys_pushed,
 * keys_applied, directories, split_parts, gather_waits, gather_time), what
 * it did since the server started and the table directories it holds now;
 * pid is NULL for an applier not running.  pushes / aggregates is how many
 * pushes an apply served on average, keys_pushed / keys_applied how much
 * aggregation saved; split_parts counts the parts of large groups it
 * applied beside other appliers, gather_time (ms) how long the gather
 * window held groups back.  Declared as in version 0.3 (a single row without the
 * applier and gather columns), it returns the pool's totals.
 */
Datum
ps_scheduler(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	int32		pids[PS_MAX_APPLIERS + 1];
	uint64		counts[(PS_MAX_APPLIERS + 1) * PS_QUEUE_NCOUNTERS];
	int			n,
				i,
				k;

	ps_check_preloaded();
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	n = ps_queue_counters(pids, counts);
	if (tupdesc->natts == 8)
	{
		/* version 0.3: pid, rounds .. directories, totals of the pool */
		Datum		values[8];
		bool		nulls[8] = {false};
		int32		pid = 0;

		for (k = 0; k < 7; k++)
		{
			uint64		sum = 0;

			for (i = 0; i < n; i++)
				sum += counts[i * PS_QUEUE_NCOUNTERS + k];
			values[k + 1] = Int64GetDatum((int64) sum);
		}
		for (i = 1; i < n && pid == 0; i++)
			pid = pids[i];
		values[0] = Int32GetDatum(pid);
		nulls[0] = pid == 0;
		PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
	}

	InitMaterializedSRF(fcinfo, 0);
	for (i = 0; i < n; i++)
	{
		ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
		Datum		values[PS_QUEUE_NCOUNTERS + 2];
		bool		nulls[PS_QUEUE_NCOUNTERS + 2] = {false};
		const uint64 *c = counts + (Size) i * PS_QUEUE_NCOUNTERS;

		values[0] = Int32GetDatum(i);	/* 0: the pushing backends */
		values[1] = Int32GetDatum(pids[i]);
		nulls[1] = pids[i] == 0;
		for (k = 0; k < PS_QUEUE_NCOUNTERS - 1; k++)
			values[k + 2] = Int64GetDatum((int64) c[k]);
		/* gather time in ms */
		values[PS_QUEUE_NCOUNTERS + 1] = Float8GetDatum((double) c[PS_QUEUE_NCOUNTERS - 1] / 1000.0);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * ps_stats(tbl regclass) returns (dim, keys, leaves, dense_leaves,
 * directory_pages, pages, last_timestamp)
 */
Datum
ps_stats(PG_FUNCTION_ARGS)
{
	Relation	rel = ps_open_table(fcinfo, ACL_SELECT, AccessShareLock);
	TupleDesc	tupdesc;
	Datum		values[7];
	bool		nulls[7] = {false, false, false, false, false, false, false};
	char	   *page = palloc(BLCKSZ);
	bool		has_storage = ps_has_storage(rel);
	BlockNumber blk;
	PsDir	   *dir = ps_dir_get(rel, false, 0, 0);
	int64		keys = 0;
	int32		leaves = 0,
				dense = 0,
				dirpages = 0;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	blk = has_storage ? PS_FIRST_LEAF_BLKNO : InvalidBlockNumber;
	while (blk != InvalidBlockNumber)
	{
		PsPageOpaque op;

		CHECK_FOR_INTERRUPTS();
		blk = ps_store_copy_leaf(rel, blk, page, NULL);
		op = PsPageGetOpaque((Page) page);
		keys += op->nitems;
		leaves++;
		if (PsLeafIsDense(op))
			dense++;
	}
	if (has_storage)
	{
		uint32		n;
		int64	   *lo;
		BlockNumber *blks;
		uint32		ndirpages;

		ps_dir_read_disk(rel, &n, &lo, &blks, &ndirpages);
		dirpages = ndirpages;
	}
	values[0] = Int32GetDatum(ps_known_dim(rel, dir));
	nulls[0] = DatumGetInt32(values[0]) == 0;	/* no storage, no declared dim */
	values[1] = Int64GetDatum(keys);
	values[2] = Int32GetDatum(leaves);
	values[3] = Int32GetDatum(dense);
	values[4] = Int32GetDatum(dirpages);
	values[5] = Int64GetDatum((int64) RelationGetNumberOfBlocks(rel));
	values[6] = Int64GetDatum((int64) ps_table_last_ts(rel));
	relation_close(rel, NoLock);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

static void
corrupt(Relation rel, BlockNumber blk, const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("ps table \"%s\" is corrupt at block %u: %s",
					RelationGetRelationName(rel), blk, why)));
}

/*
 * ps_check(tbl regclass) returns bigint
 *
 * Verifies the table's structure: every leaf's own invariants, that the
 * leaves chained by right-links cover the key space exactly once in order,
 * and that the directory lists exactly those leaves.  Returns the number
 * of keys; raises an error naming the first problem found.  Holds a SHARE
 * lock, so writers wait while it runs; so it needs the privileges LOCK
 * TABLE ... IN SHARE MODE needs (UPDATE, DELETE or TRUNCATE).  On a standby,
 * which cannot take that lock, run it while replay is idle.
 */
Datum
ps_check(PG_FUNCTION_ARGS)
{
	/* SHARE keeps writers out, so it needs what LOCK TABLE ... SHARE needs */
	Relation	rel = ps_open_table(fcinfo, ACL_UPDATE | ACL_DELETE | ACL_TRUNCATE,
									RecoveryInProgress() ? AccessShareLock : ShareLock);
	char	   *page = palloc(BLCKSZ);
	BlockNumber nblocks = RelationGetNumberOfBlocks(rel);
	BlockNumber blk,
				cur;
	PsDir	   *dir;
	int64		keys = 0;
	int64		expect_lo = PG_INT64_MIN;
	int64	   *leaf_lo;
	BlockNumber *leaf_blk;
	int64	   *dir_lo;
	BlockNumber *dir_blk;
	uint32		ndir,
				ndirpages;
	int			nleaves = 0;
	uint32		i;
	bool		done = false;

	if (!ps_has_storage(rel))
	{
		relation_close(rel, NoLock);
		PG_RETURN_INT64(0);
	}
	dir = ps_dir_get(rel, false, 0, 0);
	leaf_lo = palloc(sizeof(int64) * nblocks);
	leaf_blk = palloc(sizeof(BlockNumber) * nblocks);
	for (blk = PS_FIRST_LEAF_BLKNO; blk != InvalidBlockNumber;)
	{
		PsPageOpaque op;
		char	   *why;

		CHECK_FOR_INTERRUPTS();
		if (done || blk >= nblocks || nleaves >= (int) nblocks)
			corrupt(rel, blk, "right-links leave the relation or loop");
		cur = blk;
		blk = ps_store_copy_leaf(rel, blk, page, NULL);
		op = PsPageGetOpaque((Page) page);
		if (!ps_leaf_check((Page) page, &why))
			corrupt(rel, cur, why);
		if (op->width != dir->width)
			corrupt(rel, cur, "leaf width differs from the metapage");
		if (op->lo != expect_lo)
			corrupt(rel, cur, "leaf does not start where its left neighbour ends");
		leaf_lo[nleaves] = op->lo;
		leaf_blk[nleaves] = cur;
		nleaves++;
		keys += op->nitems;
		if (op->hi == PG_INT64_MAX)
		{
			if (blk != InvalidBlockNumber)
				corrupt(rel, cur, "leaf covering the largest key has a right sibling");
			done = true;
		}
		else
		{
			expect_lo = op->hi + 1;
			if (blk == InvalidBlockNumber)
				corrupt(rel, cur, "last leaf does not reach the largest key");
		}
	}

	/* the directory as it is on disk, not this backend's copy of it */
	ps_dir_read_disk(rel, &ndir, &dir_lo, &dir_blk, &ndirpages);
	if (ndir != (uint32) nleaves)
		corrupt(rel, PS_META_BLKNO, "directory and leaf chain differ in length");
	for (i = 0; i < ndir; i++)
	{
		if (dir_lo[i] != leaf_lo[i] || dir_blk[i] != leaf_blk[i])
			corrupt(rel, dir_blk[i], "directory entry does not match the leaf chain");
	}
	relation_close(rel, NoLock);
	PG_RETURN_INT64(keys);
}

/*
 * ps_version() returns text: the library version; fails without preload.
 */
Datum
ps_version(PG_FUNCTION_ARGS)
{
	ps_check_preloaded();
	PG_RETURN_TEXT_P(cstring_to_text(PS_VERSION_STR));
}
