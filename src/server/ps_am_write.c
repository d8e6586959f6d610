/*-------------------------------------------------------------------------
 *
 * ps_am_write.c
 *	  INSERT and COPY into ps tables: rows set values (the last row for a
 *	  key wins), and rewrites (ALTER TABLE, REFRESH) carry each value's
 *	  rule state and the task timestamps into the new storage.
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
#include "ps_keys.h"
#include "ps_marks.h"
#include "ps_state.h"
#include "ps_store.h"
#include "ps_table.h"
#include "ps_am_int.h"
#include "ps_am_scan.h"

/* ps_keys.c (src/common) allocates through this */
static const PsKeysAlloc keys_palloc = {palloc, pfree};

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
	w.once = NULL;
	w.nonce = 0;
	w.flush_later = false;
	w.capture = NULL;
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
	n = ps_aggregate(&keys_palloc, keys, vals, nslots, dim, PS_DUP_LAST, &ukeys, &uvals);
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
		w.once = NULL;
		w.nonce = 0;
		w.flush_later = false;
		w.capture = NULL;
		w.ts = ps_state_next_ts(rel, &flush_lsn);
		ps_mark_request(rel);
		ps_store_write(rel, dir, ukeys, uvals, n, &w);
	}
	pgstat_count_heap_insert(rel, nslots);
}

void
ps_tuple_insert(Relation rel, TupleTableSlot *slot, CommandId cid,
				int options, BulkInsertState bistate)
{
	insert_rows(rel, &slot, 1);
}

void
ps_multi_insert(Relation rel, TupleTableSlot **slots, int nslots,
				CommandId cid, int options, BulkInsertState bistate)
{
	insert_rows(rel, slots, nslots);
}
