/*-------------------------------------------------------------------------
 *
 * ps_sql_push.c
 *	  Pushes and pulls: ps_push, ps_push_range, ps_pull, ps_pull_range and
 *	  the filtered pulls ps_pull_active and ps_pull_changed.
 *
 * Layer 9 (SQL entry points).  Everything a request brings (table,
 * privileges, NULLs, array shapes, lengths against dim, finite values, size
 * limits) is checked before anything changes; then sorted keys go to the
 * store (ps_store.c), through the scheduler's queue where it can take them.
 * Nothing below re-checks a request: nothing may reach the store or the
 * queue from here unchecked.
 *
 * Pushes are not transactional, like nextval(): they take effect at once,
 * are not undone by ROLLBACK (unless the table's storage is the
 * transaction's own), and are durable (WAL flushed) when ps_push returns,
 * whatever synchronous_commit says.
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

#include "ps_am_scan.h"
#include "ps_base.h"
#include "ps_dir.h"
#include "ps_keys.h"
#include "ps_state.h"
#include "ps_store.h"
#include "ps_table.h"
#include "ps_config.h"
#include "ps_workers.h"
#include "ps_queue.h"
#include "ps_repl.h"
#include "ps_marks.h"
#include "ps_clock.h"
#include "ps_cluster.h"
#include "ps_filter.h"
#include "ps_sql.h"


PG_FUNCTION_INFO_V1(ps_push);

PG_FUNCTION_INFO_V1(ps_pull);

PG_FUNCTION_INFO_V1(ps_push_range);

PG_FUNCTION_INFO_V1(ps_pull_range);

PG_FUNCTION_INFO_V1(ps_pull_active);

PG_FUNCTION_INFO_V1(ps_pull_changed);

/* Does the call pass a worker (argument argno, NULL if not given)? */
static bool
names_worker(FunctionCallInfo fcinfo, int argno)
{
	return PG_NARGS() > argno && !PG_ARGISNULL(argno);
}

/* A real[] result of n zeroed floats. */
static ArrayType *
new_float4_array(Size n, float4 **data)
{
	return ps_sql_new_array(FLOAT4OID, sizeof(float4), n, (void **) data);
}

/* Apply a push in this backend (the scheduler did not take it). */
static void
push_here(Relation rel, PsDir *dir, const int64 *keys, int64 first,
		  const float4 *vals, int n, PsWrite *w, int32 worker, int64 clock)
{
	/* the push covers its keys as pushed, filtered or not */
	int64		lo = n == 0 ? 0 : keys ? keys[0] : first;
	int64		hi = n == 0 ? 0 : keys ? keys[n - 1] : first + n - 1;
	bool		covers = worker > 0 && n > 0;
	PsCapture	cap = {0};

	ps_mark_request(rel);
	w->capture = NULL;
	if (ps_repl_wanted(MyDatabaseId))
	{
		ps_repl_capture_start(&cap, rel, clock, w->dim, dir->width, w->once, w->nonce);
		w->capture = &cap;
	}
	if (w->kkt)
	{
		/* the filter compacts in place: work on copies */
		int64	   *k = palloc(sizeof(int64) * n);
		float4	   *v = palloc(sizeof(float4) * w->dim * n);
		int			i;

		for (i = 0; i < n; i++)
			k[i] = keys ? keys[i] : first + i;
		memcpy(v, vals, sizeof(float4) * w->dim * n);
		n = ps_filter_kkt(rel, dir, &w->rule, k, v, n, w->dim);
		keys = k;
		vals = v;
	}
	if (keys != NULL)
		ps_store_write(rel, dir, keys, vals, n, w);
	else
		ps_store_write_range(rel, dir, first, vals, n, w);
	if (w->capture && w->nonce > 0)
		ps_repl_capture_once(rel, w->once, w->nonce, &cap);
	w->capture = NULL;
	if (cap.n > 0 || cap.nonce > 0)
		ps_repl_enqueue(MyDatabaseId, RelationGetRelid(rel), clock, w->dim, &cap);
	if (covers)
		ps_clock_set(MyDatabaseId, RelationGetRelid(rel), worker, clock,
					 lo, hi);
}

/*
 * The end of the WAL of this session's pushes that were answered before
 * their flush (ps_push_msg with PS_WIRE_ASYNC), not flushed by the session
 * since; the WAL writer flushes it in the background.
 */
static XLogRecPtr unflushed_lsn = InvalidXLogRecPtr;

/*
 * Make a push's WAL (up to lsn) durable: now, or, later, by the WAL
 * writer, as an asynchronous commit is: within three wal_writer_delay.
 */
static void
make_durable(Relation rel, XLogRecPtr lsn, bool later)
{
	if (!RelationNeedsWAL(rel) || XLogRecPtrIsInvalid(lsn))
		return;
	if (later)
	{
		XLogSetAsyncXactLSN(lsn);
		unflushed_lsn = Max(unflushed_lsn, lsn);
		return;
	}
	XLogFlush(lsn);
	if (lsn >= unflushed_lsn)
		unflushed_lsn = InvalidXLogRecPtr;
}

/*
 * Flush the WAL of every push of this session answered before its flush:
 * a client learns from this call's answer that they are durable.
 */
void
ps_sql_flush_session(void)
{
	if (!XLogRecPtrIsInvalid(unflushed_lsn))
		XLogFlush(unflushed_lsn);
	unflushed_lsn = InvalidXLogRecPtr;
}

/*
 * Apply sorted, distinct keys (or, keys NULL, the range first .. first +
 * n - 1) to a table, through the scheduler if it takes the push, and make
 * the push durable (or, w->flush_later, have it made durable in the
 * background).  Returns its task timestamp.
 */
static uint64
push_sorted(Relation rel, PsDir *dir, const int64 *keys, int64 first,
			const float4 *vals, int n, PsWrite *w, int32 worker, int64 clock)
{
	XLogRecPtr	flush_lsn;
	bool		synchronous;
	bool		replicated = ps_repl_prepare(&synchronous);

	ps_freeze_scans(rel);		/* this backend's scans of rel do not see it */
	w->ts = ps_state_next_ts(rel, &flush_lsn);
	if (!ps_queue_push(rel, dir, keys, first, vals, n, w, worker, clock))
	{
		/* in flight for the queue's choices (and ps_wait) until done */
		PG_TRY();
		{
			push_here(rel, dir, keys, first, vals, n, w, worker, clock);
			make_durable(rel, Max(XactLastRecEnd, flush_lsn), w->flush_later);
		}
		PG_CATCH();
		{
			ps_queue_direct_done(false, 0);
			PG_RE_THROW();
		}
		PG_END_TRY();
		ps_queue_direct_done(true, n);
	}
	else
		make_durable(rel, Max(XactLastRecEnd, flush_lsn), w->flush_later);
	/* its after-images are in the ring: answered once the replicas have them */
	if (replicated && synchronous)
		ps_repl_wait(ps_repl_last_ticket());
	return w->ts;
}

/* What every push checks of its table before anything else. */
void
ps_sql_prepare_write(FunctionCallInfo fcinfo, Relation rel)
{
	PreventCommandIfReadOnly(get_func_name(fcinfo->flinfo->fn_oid));
	PreventCommandIfParallelMode(get_func_name(fcinfo->flinfo->fn_oid));
	ps_check_writable(fcinfo, rel);
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
int
ps_sql_push_dim(FunctionCallInfo fcinfo, Relation rel, int64 nkeys, int nvals)
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
	ps_sql_check_request_size(fcinfo, nkeys, dim);
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
 * Start a push of dim values per key (of worker at clock, if has_worker):
 * the configured update rule, the storage (created if the table has
 * none).  After this point the push changes the table, so all input
 * checks come before.
 */
static PsDir *
start_push(Relation rel, int dim, PsWrite *w, bool has_worker, int32 worker,
		   int64 clock)
{
	const PsConfig *cfg = ps_config_get_for_write(rel);

	if (has_worker)
		ps_workers_call(rel, worker, clock, PS_CALL_PUSH);
	w->mode = PS_WRITE_PUSH;
	w->rule = cfg->rule;
	w->dim = dim;
	w->ts = 0;
	w->kkt = cfg->kkt_filter;
	w->written = NULL;
	w->once = NULL;
	w->nonce = 0;
	w->flush_later = false;
	w->capture = NULL;
	return ps_config_storage(rel, dim, cfg);
}

/*
 * Push n sorted, distinct keys (or, keys NULL, the range first .. first +
 * n - 1) of dim values each, checked by the caller, for worker at clock
 * if has_worker; once, if not NULL: the push's exactly-once id, whose
 * record the write changes (the caller holds the client's claim);
 * flush_later: return once applied, the WAL flushed in the background.
 * Returns the push's task timestamp.
 */
uint64
ps_sql_push(Relation rel, const int64 *keys, int64 first, const float4 *vals,
			int n, int dim, bool has_worker, int32 worker, int64 clock,
			const PsOnceMark *once, bool flush_later)
{
	PsWrite		w;
	PsDir	   *dir;

	/* a join or leave switching ranges holds the push here (ps_cluster.c) */
	if (n > 0 && ps_cluster_get()->version > 0)
		ps_cluster_gate_push();
	ps_sql_check_held(rel, keys, first, n);
	dir = start_push(rel, dim, &w, has_worker, worker, clock);

	w.once = once;
	w.nonce = once ? 1 : 0;
	w.flush_later = flush_later;

	return push_sorted(rel, dir, keys, first, vals, n, &w,
					   has_worker ? worker : 0, has_worker ? clock : -1);
}

/*
 * A push of nothing changes no value, even on a table whose dim is not
 * known yet; a worker's still moves its clock.  Returns the table's last
 * task timestamp.
 */
uint64
ps_sql_empty_push(Relation rel, bool has_worker, int32 worker, int64 clock)
{
	if (has_worker)
		ps_workers_call(rel, worker, clock, PS_CALL_PUSH);
	return ps_table_last_ts(rel);
}

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
	Relation	rel = ps_open_table(fcinfo, ACL_UPDATE, RowExclusiveLock);
	int64	   *keys;
	float4	   *vals;
	int64	   *ukeys;
	float4	   *uvals;
	int			nkeys,
				nvals,
				dim,
				n;
	int32		worker = 0;
	int64		clock = -1;
	bool		has_worker;
	uint64		ts;

	ps_sql_prepare_write(fcinfo, rel);
	nkeys = ps_sql_array_arg(fcinfo, 1, "keys", (void **) &keys);
	nvals = ps_sql_array_arg(fcinfo, 2, "values", (void **) &vals);
	has_worker = worker_args(fcinfo, 3, &worker, &clock);
	if (nkeys == 0 && nvals == 0)
	{
		ts = ps_sql_empty_push(rel, has_worker, worker, clock);
		relation_close(rel, NoLock);
		PG_RETURN_INT64(ts);
	}
	dim = ps_sql_push_dim(fcinfo, rel, nkeys, nvals);
	ps_check_finite(vals, nvals, false);
	n = ps_aggregate(&ps_keys_palloc, keys, vals, nkeys, dim, PS_DUP_SUM, &ukeys, &uvals);
	if (uvals != vals)
		ps_check_finite(uvals, (Size) n * dim, true);	/* sums of repeats */

	ts = ps_sql_push(rel, ukeys, 0, uvals, n, dim, has_worker, worker, clock,
					 NULL, false);
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
	Relation	rel = ps_open_table(fcinfo, ACL_UPDATE, RowExclusiveLock);
	int64		first;
	float4	   *vals;
	int			nvals,
				dim;
	int64		nkeys;
	PsDir	   *dir;
	int32		worker = 0;
	int64		clock = -1;
	bool		has_worker;
	uint64		ts;

	ps_sql_prepare_write(fcinfo, rel);
	ps_arg_not_null(fcinfo, 1, "the first key");
	first = PG_GETARG_INT64(1);
	nvals = ps_sql_array_arg(fcinfo, 2, "values", (void **) &vals);
	has_worker = worker_args(fcinfo, 3, &worker, &clock);
	if (nvals == 0)
	{
		ts = ps_sql_empty_push(rel, has_worker, worker, clock);
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
	ps_sql_check_request_size(fcinfo, nkeys, dim);
	ps_check_finite(vals, nvals, false);

	ts = ps_sql_push(rel, NULL, first, vals, (int) nkeys, dim, has_worker, worker,
					 clock, NULL, false);
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
 * What both pulls do before reading count keys: the table's dim, the
 * request's size against the limits, a worker's wait for the others (then
 * the directory as it is after it), and the result array.
 */
static ArrayType *
pull_prepare(FunctionCallInfo fcinfo, Relation rel, uint64 count,
			 bool has_worker, int32 worker, int64 clock,
			 PsDir **dir, int *dim, float4 **out)
{
	*dir = ps_dir_get(rel, false, 0, 0);
	*dim = read_dim(rel, *dir);
	ps_sql_check_request_size(fcinfo, count, *dim);
	if (has_worker)
	{
		ps_workers_call(rel, worker, clock, PS_CALL_PULL);
		*dir = ps_dir_get(rel, false, 0, 0);
	}
	return new_float4_array((Size) count * *dim, out);
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
	Relation	rel = ps_open_table_for(fcinfo, ACL_SELECT, names_worker(fcinfo, 2),
										AccessShareLock);
	int64	   *keys;
	int			nkeys,
				dim;
	PsDir	   *dir;
	ArrayType  *result;
	float4	   *out;
	int32		worker = 0;
	int64		clock = 0;
	bool		has_worker;

	nkeys = ps_sql_array_arg(fcinfo, 1, "keys", (void **) &keys);
	has_worker = worker_args(fcinfo, 2, &worker, &clock);
	if (nkeys == 0 && !has_worker)
	{
		relation_close(rel, NoLock);
		PG_RETURN_ARRAYTYPE_P(construct_empty_array(FLOAT4OID));
	}
	ps_sql_check_held(rel, keys, 0, nkeys);
	result = pull_prepare(fcinfo, rel, nkeys, has_worker, worker, clock,
						  &dir, &dim, &out);

	ps_sql_read_keys(rel, dir, keys, nkeys, dim, out);
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
	Relation	rel = ps_open_table_for(fcinfo, ACL_SELECT, names_worker(fcinfo, 3),
										AccessShareLock);
	int64		lo,
				hi;
	uint64		count;
	int			dim;
	PsDir	   *dir;
	ArrayType  *result;
	float4	   *out;
	int32		worker = 0;
	int64		clock = 0;
	bool		has_worker;

	ps_arg_not_null(fcinfo, 1, "the lower bound");
	ps_arg_not_null(fcinfo, 2, "the upper bound");
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
	result = pull_prepare(fcinfo, rel, count, has_worker, worker, clock,
						  &dir, &dim, &out);
	if (count > 0)
		ps_cluster_check_range(rel, lo, hi - 1);
	ps_store_read_range(rel, dir, lo, (int64) count, out);
	relation_close(rel, NoLock);
	PG_RETURN_ARRAYTYPE_P(result);
}

/*
 * A filtered pull: the distinct keys asked for, in key order, with their
 * values, of which filter keeps some; returned as (keys, vals).
 */
static Datum
pull_filtered(FunctionCallInfo fcinfo, PsFilterKind filter)
{
	Relation	rel = ps_open_table_for(fcinfo, ACL_SELECT, names_worker(fcinfo, 2),
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

	nkeys = ps_sql_array_arg(fcinfo, 1, "keys", (void **) &keys);
	if (filter == PS_FILTER_CHANGED)
	{
		/* the worker is required (whose last pulls count), the clock not */
		ps_arg_not_null(fcinfo, 2, "the worker");
		worker = PG_GETARG_INT32(2);
		has_clock = !PG_ARGISNULL(3);
		if (has_clock)
			clock = PG_GETARG_INT64(3);
	}
	else
		has_clock = worker_args(fcinfo, 2, &worker, &clock);
	dir = ps_dir_get(rel, false, 0, 0);
	dim = read_dim(rel, dir);
	ps_sql_check_request_size(fcinfo, nkeys, dim);
	ps_sql_check_held(rel, keys, 0, nkeys);
	if (has_clock)
		ps_workers_call(rel, worker, clock, PS_CALL_PULL);
	else if (filter == PS_FILTER_CHANGED)
		ps_workers_check(rel, worker);
	dir = ps_dir_get(rel, false, 0, 0);

	/* distinct keys in key order, and their values */
	sorted = palloc(sizeof(int64) * Max(nkeys, 1));
	perm = palloc(sizeof(int32) * Max(nkeys, 1));
	ps_sort_keys(&ps_keys_palloc, keys, nkeys, sorted, perm);
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
