/*-------------------------------------------------------------------------
 *
 * ps_funcs.c
 *	  The SQL API: ps_push, ps_pull, ps_push_range, ps_pull_range, ps_wait,
 *	  and the introspection functions ps_ranges, ps_stats and ps_check.
 *
 * This file checks everything a request brings (table, privileges, NULLs,
 * array shapes, lengths against dim, finite values, size limits) before
 * anything is changed, then hands sorted keys to ps_store.c.
 *
 * Pushes are not transactional, like nextval(): they take effect at once,
 * are not undone by ROLLBACK, and are durable (WAL flushed) when ps_push
 * returns, whatever synchronous_commit says.
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

#include "ps.h"
#include "ps_dir.h"
#include "ps_keys.h"
#include "ps_page.h"
#include "ps_state.h"
#include "ps_store.h"
#include "ps_table.h"
#include "ps_config.h"
#include "ps_workers.h"
#include "ps_sched.h"
#include "ps_clock.h"
#include "ps_filter.h"

PG_FUNCTION_INFO_V1(ps_push);
PG_FUNCTION_INFO_V1(ps_pull);
PG_FUNCTION_INFO_V1(ps_push_range);
PG_FUNCTION_INFO_V1(ps_pull_range);
PG_FUNCTION_INFO_V1(ps_wait);
PG_FUNCTION_INFO_V1(ps_ranges);
PG_FUNCTION_INFO_V1(ps_clocks);
PG_FUNCTION_INFO_V1(ps_pull_active);
PG_FUNCTION_INFO_V1(ps_pull_changed);
PG_FUNCTION_INFO_V1(ps_filters);
PG_FUNCTION_INFO_V1(ps_scheduler);
PG_FUNCTION_INFO_V1(ps_stats);
PG_FUNCTION_INFO_V1(ps_check);
PG_FUNCTION_INFO_V1(ps_version);
PG_FUNCTION_INFO_V1(ps_join);
PG_FUNCTION_INFO_V1(ps_leave);
PG_FUNCTION_INFO_V1(ps_workers);

/* ------------------------------------------------------------------------
 * Argument checks
 * ------------------------------------------------------------------------
 */

static void
arg_not_null(FunctionCallInfo fcinfo, int argno, const char *what)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s of %s must not be NULL", what,
						get_func_name(fcinfo->flinfo->fn_oid))));
}

/*
 * Does the current user have one of the privileges in mode on relid (on
 * the table, or on every column of it)?  Raises the error if not, naming
 * the table only if the user could have named it.  Takes no lock.
 */
static void
check_privilege(Oid relid, AclMode mode, const char *detail)
{
	bool		missing = false;
	AclResult	aclresult;

	aclresult = pg_class_aclcheck_ext(relid, GetUserId(), mode, &missing);
	if (missing)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid),
				 errhint("Pass the table by name, as in ps_pull('w', ...).")));
	/* the privilege on every column does as well as on the table */
	if (aclresult != ACLCHECK_OK &&
		pg_attribute_aclcheck_all(relid, GetUserId(), mode, ACLMASK_ALL) == ACLCHECK_OK)
		aclresult = ACLCHECK_OK;
	if (aclresult != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for %s", ps_visible_relname(relid)),
				 detail ? errdetail("%s", detail) : 0));
}

/*
 * Open a ps table for a request after checking privileges: pushing needs
 * UPDATE, reading needs SELECT (on the table or on all its columns); with
 * several bits in mode, any of them will do.  A call that names a worker
 * changes the worker's state and needs UPDATE as well (worker_call).
 * Privileges are checked before the lock is taken, so a role without them
 * cannot queue locks on the table.  The lock is held until the
 * transaction ends.
 */
static Relation
open_ps_table_for(FunctionCallInfo fcinfo, AclMode mode, bool worker_call,
				  LOCKMODE lockmode)
{
	Oid			relid;
	Relation	rel;

	ps_check_preloaded();
	arg_not_null(fcinfo, 0, "the table");
	relid = PG_GETARG_OID(0);

	check_privilege(relid, mode, NULL);
	if (worker_call && (mode & ACL_UPDATE) == 0)
		check_privilege(relid, ACL_UPDATE,
						"A worker's call moves the worker's clock, which the other workers wait on: it needs UPDATE, as ps_join does.");

	rel = try_relation_open(relid, lockmode);
	if (rel == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	if (RecoveryInProgress() && !RelationIsPermanent(rel))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot access temporary or unlogged relations during recovery")));
	if (!ps_is_ps_relation(rel))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a ps table", RelationGetRelationName(rel)),
				 errhint("Create parameter tables with CREATE TABLE ... (key bigint, val real) USING ps, or convert one with ALTER TABLE ... SET ACCESS METHOD ps.")));
	if (check_enable_rls(relid, InvalidOid, false) == RLS_ENABLED)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s does not apply row-level security policies of \"%s\"",
						get_func_name(fcinfo->flinfo->fn_oid),
						RelationGetRelationName(rel)),
				 errhint("Disable row-level security on the table, or use a role that bypasses it.")));
	return rel;
}

static Relation
open_ps_table(FunctionCallInfo fcinfo, AclMode mode, LOCKMODE lockmode)
{
	return open_ps_table_for(fcinfo, mode, false, lockmode);
}

/* Does the call pass a worker (argument argno, NULL if not given)? */
static bool
names_worker(FunctionCallInfo fcinfo, int argno)
{
	return PG_NARGS() > argno && !PG_ARGISNULL(argno);
}

/*
 * Refuse writes to a ps table that only PostgreSQL may write: a
 * materialized view (REFRESH writes it).
 */
static void
check_writable(FunctionCallInfo fcinfo, Relation rel)
{
	if (rel->rd_rel->relkind == RELKIND_MATVIEW)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("%s cannot write to materialized view \"%s\"",
						get_func_name(fcinfo->flinfo->fn_oid), RelationGetRelationName(rel)),
				 errdetail("A materialized view holds what its query computed; only REFRESH MATERIALIZED VIEW writes it."),
				 errhint("Push to a ps table instead.")));
}

static void
check_request_size(FunctionCallInfo fcinfo, uint64 nkeys, int dim)
{
	if (nkeys > (uint64) ps_max_request_keys)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s request has " UINT64_FORMAT " keys, more than ps.max_request_keys (%d)",
						get_func_name(fcinfo->flinfo->fn_oid), nkeys,
						ps_max_request_keys),
				 errhint("Split the request, or raise ps.max_request_keys.")));
	if ((Size) nkeys * dim > (MaxAllocSize - ARR_OVERHEAD_NONULLS(1)) / sizeof(float4))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s request of " UINT64_FORMAT " keys of dim %d exceeds the 1 GB array limit",
						get_func_name(fcinfo->flinfo->fn_oid), nkeys, dim),
				 errhint("Split the request.")));
}

/*
 * A one-dimensional array argument without NULL elements; returns its
 * element count and data.
 */
static int
array_arg(FunctionCallInfo fcinfo, int argno, const char *what, void **data)
{
	ArrayType  *arr;
	int			n;

	arg_not_null(fcinfo, argno, what);
	arr = PG_GETARG_ARRAYTYPE_P(argno);
	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s of %s must be a one-dimensional array", what,
						get_func_name(fcinfo->flinfo->fn_oid)),
				 errhint("Flatten vector values in key order: dim values per key.")));
	if (ARR_HASNULL(arr) && array_contains_nulls(arr))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s of %s must not contain NULL elements", what,
						get_func_name(fcinfo->flinfo->fn_oid)),
				 errhint("Leave keys without values out of the request: missing keys read as 0.")));
	n = ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr));
	*data = ps_array_data(arr);
	return n;
}

/* A real[] result of n zeroed floats. */
static ArrayType *
new_float4_array(Size n, float4 **data)
{
	Size		nbytes = ARR_OVERHEAD_NONULLS(1) + sizeof(float4) * n;
	ArrayType  *arr;

	if (n == 0)
	{
		*data = NULL;
		return construct_empty_array(FLOAT4OID);
	}
	arr = palloc0(nbytes);
	SET_VARSIZE(arr, nbytes);
	arr->ndim = 1;
	arr->dataoffset = 0;
	arr->elemtype = FLOAT4OID;
	ARR_DIMS(arr)[0] = (int) n;
	ARR_LBOUND(arr)[0] = 1;
	*data = (float4 *) ps_array_data(arr);
	return arr;
}

/*
 * Apply sorted, distinct keys to a table, through the scheduler if it takes
 * the push, and make the push durable.  Returns its task timestamp.
 */
static uint64
push_sorted(Relation rel, PsDir *dir, const int64 *keys, const float4 *vals,
			int n, PsWrite *w, int32 worker, int64 clock)
{
	XLogRecPtr	flush_lsn;

	ps_freeze_scans(rel);		/* this backend's scans of rel do not see it */
	w->ts = ps_state_next_ts(rel, &flush_lsn);
	if (!ps_sched_push(rel, dir, keys, vals, n, w, worker, clock))
	{
		/* the push covers its keys as pushed, filtered or not */
		int64		lo = n > 0 ? keys[0] : 0;
		int64		hi = n > 0 ? keys[n - 1] : 0;
		bool		covers = worker > 0 && n > 0;

		ps_sched_time_mark(rel);
		if (w->kkt)
		{
			/* the filter compacts in place: work on copies */
			int64	   *k = palloc(sizeof(int64) * n);
			float4	   *v = palloc(sizeof(float4) * w->dim * n);

			memcpy(k, keys, sizeof(int64) * n);
			memcpy(v, vals, sizeof(float4) * w->dim * n);
			n = ps_filter_kkt(rel, dir, &w->rule, k, v, n, w->dim);
			keys = k;
			vals = v;
		}
		ps_store_write(rel, dir, keys, vals, n, w);
		if (covers)
			ps_clock_set(MyDatabaseId, RelationGetRelid(rel), worker, clock,
						 lo, hi);
	}
	if (RelationNeedsWAL(rel))
		XLogFlush(Max(XactLastRecEnd, flush_lsn));
	return w->ts;
}

/* The table's last task timestamp; 0 for a table without storage. */
static uint64
table_last_ts(Relation rel)
{
	return ps_has_storage(rel) ? ps_state_last_ts(rel) : 0;
}

static void
prepare_write(FunctionCallInfo fcinfo, Relation rel)
{
	PreventCommandIfReadOnly(get_func_name(fcinfo->flinfo->fn_oid));
	PreventCommandIfParallelMode(get_func_name(fcinfo->flinfo->fn_oid));
	check_writable(fcinfo, rel);
	if (rel->rd_rel->relispartition)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s cannot write to \"%s\", a partition",
						get_func_name(fcinfo->flinfo->fn_oid), RelationGetRelationName(rel)),
				 errdetail("Its keys must satisfy the partition bound, which pushes do not check."),
				 errhint("Push to an unpartitioned ps table, or INSERT through the partitioned table.")));
}

/*
 * The dim of a push of nvals values for nkeys keys; checks the lengths
 * match.  A table without a dim yet takes the one its first write implies.
 */
static int
push_dim(FunctionCallInfo fcinfo, Relation rel, int64 nkeys, int nvals)
{
	PsDir	   *dir = ps_dir_get(rel, false, 0, 0);
	int			dim = ps_known_dim(rel, dir);

	if (dim == 0 && nkeys > 0 && nvals % nkeys == 0)
		dim = ps_table_dim(rel, dir, nvals / nkeys);
	if (dim == 0 || (int64) nvals != nkeys * dim)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s: the number of values (%d) does not match the number of keys (" INT64_FORMAT ")",
						get_func_name(fcinfo->flinfo->fn_oid), nvals, nkeys),
				 dim > 0 ?
				 errdetail("Table \"%s\" has dim %d, so it takes " INT64_FORMAT " values for these keys.",
						   RelationGetRelationName(rel), dim, nkeys * dim) :
				 errdetail("Table \"%s\" has no dim yet; its first write must carry the same number of values for every key.",
						   RelationGetRelationName(rel)),
				 errhint("Pass dim values per key, flattened in key order.")));
	check_request_size(fcinfo, nkeys, dim);
	return dim;
}

/*
 * Worker and clock arguments at argno and argno + 1: both or neither.
 * Returns whether they were given.
 */
static bool
worker_args(FunctionCallInfo fcinfo, int argno, int32 *worker, int64 *clock)
{
	bool		has_worker = PG_NARGS() > argno && !PG_ARGISNULL(argno);
	bool		has_clock = PG_NARGS() > argno + 1 && !PG_ARGISNULL(argno + 1);

	if (has_worker != has_clock)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s needs both a worker and a clock, or neither",
						get_func_name(fcinfo->flinfo->fn_oid)),
				 errhint("A worker's call names its id (from ps_join) and the clock (iteration) it belongs to.")));
	if (!has_worker)
		return false;
	*worker = PG_GETARG_INT32(argno);
	*clock = PG_GETARG_INT64(argno + 1);
	return true;
}

/*
 * Start a push of dim values per key: the configured update rule, the
 * storage (created if the table has none).  After this point the push
 * changes the table, so all input checks come before.
 */
static PsDir *
start_push(FunctionCallInfo fcinfo, Relation rel, int dim, int argno,
		   PsWrite *w, int32 *worker, int64 *clock)
{
	const PsConfig *cfg = ps_config_get_for_write(rel);

	*worker = 0;
	*clock = -1;
	if (worker_args(fcinfo, argno, worker, clock))
		ps_workers_call(rel, *worker, *clock, PS_CALL_PUSH);
	w->mode = PS_WRITE_PUSH;
	w->rule = cfg->rule;
	w->dim = dim;
	w->ts = 0;
	w->kkt = cfg->kkt_filter;
	w->written = NULL;
	return ps_table_storage(rel, dim, cfg);
}

/* ------------------------------------------------------------------------
 * Push and pull
 * ------------------------------------------------------------------------
 */

/*
 * ps_push(tbl regclass, keys bigint[], vals real[], worker int, clock bigint)
 * returns bigint
 *
 * Pushes vals (dim values per key) to keys: the table's update rule turns
 * them into new values (the sum rule adds them).  Repeated keys add up.  A
 * worker's push names its id and clock.  Returns the push's task
 * timestamp.
 */
Datum
ps_push(PG_FUNCTION_ARGS)
{
	Relation	rel = open_ps_table(fcinfo, ACL_UPDATE, RowExclusiveLock);
	int64	   *keys;
	float4	   *vals;
	int64	   *ukeys;
	float4	   *uvals;
	int			nkeys,
				nvals,
				dim,
				n;
	PsDir	   *dir;
	PsWrite		w;
	int32		worker;
	int64		clock;
	uint64		ts;

	prepare_write(fcinfo, rel);
	nkeys = array_arg(fcinfo, 1, "keys", (void **) &keys);
	nvals = array_arg(fcinfo, 2, "values", (void **) &vals);
	if (nkeys == 0 && nvals == 0)
	{
		int32		worker;
		int64		clock;

		if (worker_args(fcinfo, 3, &worker, &clock))
			ps_workers_call(rel, worker, clock, PS_CALL_PUSH);
		/* a no-op, even on a table whose dim is not known yet */
		ts = table_last_ts(rel);
		relation_close(rel, NoLock);
		PG_RETURN_INT64(ts);
	}
	dim = push_dim(fcinfo, rel, nkeys, nvals);
	ps_check_finite(vals, nvals, false);
	n = ps_aggregate(keys, vals, nkeys, dim, PS_DUP_SUM, &ukeys, &uvals);
	if (uvals != vals)
		ps_check_finite(uvals, (Size) n * dim, true);	/* sums of repeats */

	dir = start_push(fcinfo, rel, dim, 3, &w, &worker, &clock);
	ts = push_sorted(rel, dir, ukeys, uvals, n, &w, worker, clock);
	relation_close(rel, NoLock);
	PG_RETURN_INT64(ts);
}

/*
 * ps_push_range(tbl regclass, first bigint, vals real[], worker int,
 *				 clock bigint) returns bigint
 *
 * Pushes vals to keys first, first + 1, ... (dim values per key).
 */
Datum
ps_push_range(PG_FUNCTION_ARGS)
{
	Relation	rel = open_ps_table(fcinfo, ACL_UPDATE, RowExclusiveLock);
	int64		first;
	float4	   *vals;
	int64	   *keys;
	int			nvals,
				dim,
				i;
	int64		nkeys;
	PsDir	   *dir;
	PsWrite		w;
	int32		worker;
	int64		clock;
	uint64		ts;

	prepare_write(fcinfo, rel);
	arg_not_null(fcinfo, 1, "the first key");
	first = PG_GETARG_INT64(1);
	nvals = array_arg(fcinfo, 2, "values", (void **) &vals);
	if (nvals == 0)
	{
		int32		worker;
		int64		clock;

		if (worker_args(fcinfo, 3, &worker, &clock))
			ps_workers_call(rel, worker, clock, PS_CALL_PUSH);
		ts = table_last_ts(rel);
		relation_close(rel, NoLock);
		PG_RETURN_INT64(ts);
	}
	dir = ps_dir_get(rel, false, 0, 0);
	dim = ps_table_dim(rel, dir, 0);
	if (nvals % dim != 0)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("ps_push_range got %d values, not a multiple of dim %d of table \"%s\"",
						nvals, dim, RelationGetRelationName(rel)),
				 errhint("Pass dim values per key, flattened in key order.")));
	nkeys = nvals / dim;
	if (nkeys > 0 && first > PG_INT64_MAX - (nkeys - 1))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("ps_push_range: keys " INT64_FORMAT " and " INT64_FORMAT " more run past the largest bigint",
						first, nkeys - 1),
				 errhint("The last key of a range is first + (number of values / dim) - 1; it must be at most 9223372036854775807.")));
	check_request_size(fcinfo, nkeys, dim);
	ps_check_finite(vals, nvals, false);

	keys = palloc(sizeof(int64) * nkeys);
	for (i = 0; i < nkeys; i++)
		keys[i] = first + i;
	dir = start_push(fcinfo, rel, dim, 3, &w, &worker, &clock);
	ts = push_sorted(rel, dir, keys, vals, (int) nkeys, &w, worker, clock);
	relation_close(rel, NoLock);
	PG_RETURN_INT64(ts);
}

/*
 * The dim of a read: the table's, or the declared one if it has no storage.
 */
static int
read_dim(Relation rel, PsDir *dir)
{
	return ps_table_dim(rel, dir, 0);
}

/*
 * ps_pull(tbl regclass, keys bigint[], worker int, clock bigint)
 * returns real[]
 *
 * The values of keys, dim per key, in the order of keys; keys never
 * written read as zeros.  A worker's pull for a clock first waits as the
 * table's consistency model says.
 */
Datum
ps_pull(PG_FUNCTION_ARGS)
{
	Relation	rel = open_ps_table_for(fcinfo, ACL_SELECT, names_worker(fcinfo, 2),
										AccessShareLock);
	int64	   *keys;
	int			nkeys,
				dim,
				i;
	PsDir	   *dir;
	ArrayType  *result;
	float4	   *out;
	int32		worker;
	int64		clock;
	bool		has_worker;

	nkeys = array_arg(fcinfo, 1, "keys", (void **) &keys);
	has_worker = worker_args(fcinfo, 2, &worker, &clock);
	if (nkeys == 0 && !has_worker)
	{
		relation_close(rel, NoLock);
		PG_RETURN_ARRAYTYPE_P(construct_empty_array(FLOAT4OID));
	}
	dir = ps_dir_get(rel, false, 0, 0);
	dim = read_dim(rel, dir);
	check_request_size(fcinfo, nkeys, dim);
	if (has_worker)
	{
		/* may wait for the other workers; then read what is there now */
		ps_workers_call(rel, worker, clock, PS_CALL_PULL);
		dir = ps_dir_get(rel, false, 0, 0);
	}
	result = new_float4_array((Size) nkeys * dim, &out);

	for (i = 1; i < nkeys; i++)
		if (keys[i] < keys[i - 1])
			break;
	if (i >= nkeys)
		ps_store_read(rel, dir, keys, NULL, nkeys, dim, out);
	else
	{
		int64	   *sorted = palloc(sizeof(int64) * nkeys);
		int32	   *perm = palloc(sizeof(int32) * nkeys);

		ps_sort_keys(keys, nkeys, sorted, perm);
		ps_store_read(rel, dir, sorted, perm, nkeys, dim, out);
	}
	relation_close(rel, NoLock);
	PG_RETURN_ARRAYTYPE_P(result);
}

/*
 * ps_pull_range(tbl regclass, lo bigint, hi bigint, worker int, clock bigint)
 * returns real[]
 *
 * The values of keys lo .. hi - 1 (hi excluded), dim per key; a worker's
 * pull waits as ps_pull does.
 */
Datum
ps_pull_range(PG_FUNCTION_ARGS)
{
	Relation	rel = open_ps_table_for(fcinfo, ACL_SELECT, names_worker(fcinfo, 3),
										AccessShareLock);
	int64		lo,
				hi;
	uint64		count;
	int			dim;
	PsDir	   *dir;
	ArrayType  *result;
	float4	   *out;
	int32		worker;
	int64		clock;
	bool		has_worker;

	arg_not_null(fcinfo, 1, "the lower bound");
	arg_not_null(fcinfo, 2, "the upper bound");
	lo = PG_GETARG_INT64(1);
	hi = PG_GETARG_INT64(2);
	has_worker = worker_args(fcinfo, 3, &worker, &clock);
	if (lo > hi)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ps_pull_range: lower bound " INT64_FORMAT " is above upper bound " INT64_FORMAT,
						lo, hi),
				 errhint("ps_pull_range(tbl, lo, hi) reads keys lo .. hi - 1.")));
	count = (uint64) hi - (uint64) lo;
	dir = ps_dir_get(rel, false, 0, 0);
	dim = read_dim(rel, dir);
	check_request_size(fcinfo, count, dim);
	if (has_worker)
	{
		ps_workers_call(rel, worker, clock, PS_CALL_PULL);
		dir = ps_dir_get(rel, false, 0, 0);
	}
	result = new_float4_array((Size) count * dim, &out);
	ps_store_read_range(rel, dir, lo, (int64) count, out);
	relation_close(rel, NoLock);
	PG_RETURN_ARRAYTYPE_P(result);
}

/*
 * ps_wait(tbl regclass, ts bigint) returns void
 *
 * Returns once the push with timestamp ts has been applied: ps_push
 * returns only then, but another session may wait for a push still
 * queued for the scheduler.
 * Needs SELECT or UPDATE: whoever may push may wait for the push.
 */
Datum
ps_wait(PG_FUNCTION_ARGS)
{
	Relation	rel = open_ps_table(fcinfo, ACL_SELECT | ACL_UPDATE, AccessShareLock);
	int64		ts;
	uint64		last;

	arg_not_null(fcinfo, 1, "the timestamp");
	ts = PG_GETARG_INT64(1);
	last = table_last_ts(rel);
	if (ts < 0 || (uint64) ts > last)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("timestamp " INT64_FORMAT " was not issued for ps table \"%s\"",
						ts, RelationGetRelationName(rel)),
				 errdetail("The last timestamp issued is " UINT64_FORMAT ".", last),
				 errhint("Pass a timestamp returned by ps_push on this table.")));
	ps_sched_wait_ts(rel, (uint64) ts);
	relation_close(rel, NoLock);
	PG_RETURN_VOID();
}

/* ------------------------------------------------------------------------
 * Filtered pulls
 * ------------------------------------------------------------------------
 */

/*
 * A filtered pull: the distinct keys asked for, in key order, with their
 * values, of which filter keeps some; returned as (keys, vals).
 */
static Datum
pull_filtered(FunctionCallInfo fcinfo, PsFilterKind filter)
{
	Relation	rel = open_ps_table_for(fcinfo, ACL_SELECT, names_worker(fcinfo, 2),
										AccessShareLock);
	int64	   *keys;
	int64	   *sorted;
	int32	   *perm;
	float4	   *vals;
	int			nkeys,
				n = 0,
				m,
				dim,
				i,
				j;
	PsDir	   *dir;
	int32		worker = 0;
	int64		clock = -1;
	bool		has_clock;
	TupleDesc	tupdesc;
	Datum		values[2];
	bool		nulls[2] = {false, false};
	Datum	   *kd;
	ArrayType  *varr;
	float4	   *vout;

	nkeys = array_arg(fcinfo, 1, "keys", (void **) &keys);
	if (filter == PS_FILTER_CHANGED)
	{
		/* the worker is required (whose last pulls count), the clock not */
		arg_not_null(fcinfo, 2, "the worker");
		worker = PG_GETARG_INT32(2);
		has_clock = !PG_ARGISNULL(3);
		if (has_clock)
			clock = PG_GETARG_INT64(3);
	}
	else
		has_clock = worker_args(fcinfo, 2, &worker, &clock);
	dir = ps_dir_get(rel, false, 0, 0);
	dim = read_dim(rel, dir);
	check_request_size(fcinfo, nkeys, dim);
	if (has_clock)
		ps_workers_call(rel, worker, clock, PS_CALL_PULL);
	else if (filter == PS_FILTER_CHANGED)
		ps_workers_check(rel, worker);
	dir = ps_dir_get(rel, false, 0, 0);

	/* distinct keys in key order, and their values */
	sorted = palloc(sizeof(int64) * Max(nkeys, 1));
	perm = palloc(sizeof(int32) * Max(nkeys, 1));
	ps_sort_keys(keys, nkeys, sorted, perm);
	for (i = 0; i < nkeys; i++)
		if (n == 0 || sorted[i] != sorted[n - 1])
			sorted[n++] = sorted[i];
	vals = palloc0(sizeof(float4) * dim * Max(n, 1));
	ps_store_read(rel, dir, sorted, NULL, n, dim, vals);

	if (filter == PS_FILTER_CHANGED)
		m = ps_filter_changed(rel, worker, ps_config_get(rel)->significance,
							  sorted, vals, n, dim);
	else
	{
		for (i = 0, m = 0; i < n; i++)
		{
			bool		active = false;
			int			d;

			for (d = 0; d < dim; d++)
				active |= vals[(Size) i * dim + d] != 0.0f;
			if (!active)
				continue;
			sorted[m] = sorted[i];
			memmove(vals + (Size) m * dim, vals + (Size) i * dim, sizeof(float4) * dim);
			m++;
		}
		ps_filter_count(MyDatabaseId, RelationGetRelid(rel), PS_FILTER_ACTIVE,
						n - m, dim);
	}

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	kd = palloc(sizeof(Datum) * Max(m, 1));
	for (j = 0; j < m; j++)
		kd[j] = Int64GetDatum(sorted[j]);
	values[0] = PointerGetDatum(construct_array(kd, m, INT8OID, 8, FLOAT8PASSBYVAL,
												TYPALIGN_DOUBLE));
	varr = new_float4_array((Size) m * dim, &vout);
	if (m > 0)
		memcpy(vout, vals, sizeof(float4) * dim * m);
	values[1] = PointerGetDatum(varr);
	relation_close(rel, NoLock);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * ps_pull_active(tbl, keys, worker, clock) returns (active_keys, vals):
 * of keys, those with a nonzero value (the active ones under L1).
 */
Datum
ps_pull_active(PG_FUNCTION_ARGS)
{
	return pull_filtered(fcinfo, PS_FILTER_ACTIVE);
}

/*
 * ps_pull_changed(tbl, keys, worker, clock) returns (changed_keys, vals):
 * of keys, those whose value moved by more than the table's significance
 * since this worker last pulled them here (the significantly-modified
 * filter), and those it never pulled.
 */
Datum
ps_pull_changed(PG_FUNCTION_ARGS)
{
	return pull_filtered(fcinfo, PS_FILTER_CHANGED);
}

/*
 * ps_filters(tbl) returns setof (filter, keys, bytes): what each filter
 * removed since the server started.
 */
Datum
ps_filters(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Relation	rel = open_ps_table(fcinfo, ACL_SELECT, AccessShareLock);
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
 * ps_scheduler() returns (pid, rounds, aggregates, pushes, failed,
 * keys_pushed, keys_applied, directories): what the scheduler did since
 * the server started, and the table directories it holds now.  pushes / aggregates is how many pushes an apply served on
 * average, keys_pushed / keys_applied how much aggregation saved.
 */
Datum
ps_scheduler(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[PS_SCHED_NCOUNTERS + 1];
	bool		nulls[PS_SCHED_NCOUNTERS + 1] = {false};
	int32		pid;
	uint64		counts[PS_SCHED_NCOUNTERS];
	int			i;

	ps_check_preloaded();
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	ps_sched_counters(&pid, counts);
	values[0] = Int32GetDatum(pid);
	nulls[0] = pid == 0;
	for (i = 0; i < PS_SCHED_NCOUNTERS; i++)
		values[i + 1] = Int64GetDatum((int64) counts[i]);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/* ------------------------------------------------------------------------
 * Workers
 * ------------------------------------------------------------------------
 */

/*
 * ps_join(tbl regclass) returns integer: a new worker id.  Joining means
 * taking part in training: it needs UPDATE, like pushing.
 */
Datum
ps_join(PG_FUNCTION_ARGS)
{
	Relation	rel = open_ps_table(fcinfo, ACL_UPDATE, AccessShareLock);
	int32		id;

	check_writable(fcinfo, rel);
	id = ps_workers_join(rel);
	ps_filter_sweep();

	relation_close(rel, NoLock);
	PG_RETURN_INT32(id);
}

/*
 * ps_leave(tbl regclass, worker integer) returns void: needs UPDATE, and
 * the worker must be the caller's own, unless the caller owns the table.
 */
Datum
ps_leave(PG_FUNCTION_ARGS)
{
	Relation	rel = open_ps_table(fcinfo, ACL_UPDATE, AccessShareLock);

	arg_not_null(fcinfo, 1, "the worker");
	ps_workers_leave(rel, PG_GETARG_INT32(1),
					 pg_class_ownercheck(RelationGetRelid(rel), GetUserId()));
	ps_filter_sweep();			/* what this backend sent it goes */
	relation_close(rel, NoLock);
	PG_RETURN_VOID();
}

/*
 * ps_workers(tbl regclass) returns setof (worker, state, clock, last_seen,
 * pid): the table's workers, including those that left or were dropped
 * (until their slot is reused).
 */
Datum
ps_workers(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Relation	rel = open_ps_table(fcinfo, ACL_SELECT, AccessShareLock);

	InitMaterializedSRF(fcinfo, 0);
	if (!RecoveryInProgress())
		ps_workers_list(rel, rsinfo->setResult, rsinfo->setDesc);
	relation_close(rel, NoLock);
	return (Datum) 0;
}

/* ------------------------------------------------------------------------
 * Introspection
 * ------------------------------------------------------------------------
 */

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
	Relation	rel = open_ps_table(fcinfo, ACL_SELECT, AccessShareLock);
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
	Relation	rel = open_ps_table(fcinfo, ACL_SELECT, AccessShareLock);
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
 * ps_stats(tbl regclass) returns (dim, keys, leaves, dense_leaves,
 * directory_pages, pages, last_timestamp)
 */
Datum
ps_stats(PG_FUNCTION_ARGS)
{
	Relation	rel = open_ps_table(fcinfo, ACL_SELECT, AccessShareLock);
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
	values[6] = Int64GetDatum((int64) table_last_ts(rel));
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
	Relation	rel = open_ps_table(fcinfo, ACL_UPDATE | ACL_DELETE | ACL_TRUNCATE,
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
