/*-------------------------------------------------------------------------
 *
 * ps_sql_replica.c
 *	  The replica's side of replication after aggregation: the trigger on
 *	  ps_delta that applies a replicated aggregate to the local ps table,
 *	  and the replicator's counters for ps_replication().
 *
 * On a replica, logical replication's apply worker inserts the rows that
 * an owner's replicator wrote (ps_replicator.c) for this node into the
 * local ps_delta; the trigger ps_delta_apply, ENABLE ALWAYS so that it
 * fires in the apply worker (session_replication_role = replica), writes
 * the row's after-images (values and rule state) into the table of the
 * same name and returns NULL: nothing is stored.  A row is applied once
 * per origin and seq (ps_replica_progress, in the same transaction), and
 * after-images are idempotent anyway, so a transaction sent again changes
 * nothing.  Rows for other nodes, and rows inserted outside replication
 * (the replicator's own, on the origin), are left alone: stored.
 *
 * The replica keeps the keys it replicates in the same table as its own:
 * pushes and pulls still ask for the ring's owner (PS003 for the replica
 * keys), and a replica taking over a failed owner's ranges already holds
 * them.
 *
 * Layer 9 (SQL entry points): called by PostgreSQL only.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "ps_cluster.h"
#include "ps_config.h"
#include "ps_dir.h"
#include "ps_once.h"
#include "ps_repl.h"
#include "ps_sql.h"
#include "ps_sql_cluster.h"
#include "ps_store.h"
#include "ps_table.h"
#include "ps_wire.h"

PG_FUNCTION_INFO_V1(ps_delta_apply);
PG_FUNCTION_INFO_V1(ps_replication_stats);

/* The schema of the extension's table ps_replica_progress, quoted. */
static const char *
progress_table(void)
{
	Oid			relid = ps_extension_table("ps_replica_progress");

	if (!OidIsValid(relid))
		elog(ERROR, "extension ps has no table ps_replica_progress");
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
									  "ps_replica_progress");
}

/* Has the row of origin's seq been applied here?  (SPI connected) */
static bool
applied_before(const char *progress, int32 origin, int64 seq)
{
	Oid			types[1] = {INT4OID};
	Datum		values[1] = {Int32GetDatum(origin)};
	char	   *sql = psprintf("SELECT seq FROM %s WHERE origin OPERATOR(pg_catalog.=) $1 FOR UPDATE",
							   progress);
	bool		isnull;
	int64		done = 0;

	if (SPI_execute_with_args(sql, 1, types, values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "ps_delta_apply: reading %s failed", progress);
	if (SPI_processed == 1)
		done = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	return SPI_processed == 1 && done >= seq;
}

static void
record_progress(const char *progress, int32 origin, int64 seq, Datum made)
{
	Oid			types[3] = {INT4OID, INT8OID, TIMESTAMPTZOID};
	Datum		values[3] = {Int32GetDatum(origin), Int64GetDatum(seq), made};
	char	   *sql = psprintf("INSERT INTO %s AS p (origin, seq, made, applied)"
							   " VALUES ($1, $2, $3, pg_catalog.now())"
							   " ON CONFLICT (origin) DO UPDATE SET seq = EXCLUDED.seq,"
							   " made = EXCLUDED.made, applied = EXCLUDED.applied",
							   progress);

	if (SPI_execute_with_args(sql, 3, types, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "ps_delta_apply: writing %s failed", progress);
}

/* A bytea column of the row; its bytes and length. */
static const char *
bytes_of(HeapTuple tup, TupleDesc desc, int att, Size *len)
{
	bool		isnull;
	Datum		d = heap_getattr(tup, att, desc, &isnull);
	bytea	   *b;

	if (isnull)
		elog(ERROR, "ps_delta_apply: column %d is NULL", att);
	b = DatumGetByteaPP(d);
	*len = VARSIZE_ANY_EXHDR(b);
	return VARDATA_ANY(b);
}

static Datum
column(HeapTuple tup, TupleDesc desc, int att)
{
	bool		isnull;
	Datum		d = heap_getattr(tup, att, desc, &isnull);

	if (isnull)
		elog(ERROR, "ps_delta_apply: column %d is NULL", att);
	return d;
}

/*
 * Write n after-images (width floats each) into table tbl, then its
 * pushes' exactly-once records (nonce).
 */
static void
apply_images(const char *tbl, int dim, int width, const int64 *keys,
			 const float4 *vals, int n, const PsOnceEntry *once, int nonce)
{
	List	   *names = stringToQualifiedNameList(tbl);
	Oid			relid = RangeVarGetRelid(makeRangeVarFromNameList(names),
										 RowExclusiveLock, true);
	Relation	rel;
	const PsConfig *cfg;
	PsDir	   *dir;
	PsWrite		w;
	int			known;

	if (!OidIsValid(relid) || !ps_relid_is_ps(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("replica of ps table %s: no such ps table on this node", tbl),
				 errhint("Create the table (USING ps) on every node of the cluster; replication goes on once it exists.")));
	rel = table_open(relid, NoLock);
	dir = ps_dir_get(rel, false, 0, 0);
	known = ps_known_dim(rel, dir);
	if (known != 0 && known != dim)
		ps_dim_mismatch(rel, dim, known);
	cfg = ps_config_get_for_write(rel);
	dir = ps_config_storage(rel, ps_table_dim(rel, dir, dim), cfg);
	if (dir->width != width)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("replica of ps table %s: its records have %d floats here, %d on the origin",
						tbl, dir->width, width),
				 errhint("Configure the same update rule for the table on every node (ps_configure).")));
	memset(&w, 0, sizeof(w));
	w.mode = PS_WRITE_RECORDS;
	w.rule = cfg->rule;
	w.dim = dir->dim;
	if (n > 0)
		ps_store_write(rel, dir, keys, vals, n, &w);
	if (nonce > 0)
		ps_once_install(rel, once, nonce, ps_table_last_ts(rel));
	table_close(rel, NoLock);
}

/*
 * ps_delta_apply(): BEFORE INSERT row trigger on ps_delta, ENABLE ALWAYS.
 */
Datum
ps_delta_apply(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	HeapTuple	tup;
	TupleDesc	desc;
	const PsCluster *c;
	int32		origin,
				dest,
				dim,
				width;
	int64		seq;
	const char *progress;
	const char *kb,
			   *vb,
			   *ob = NULL;
	Size		klen,
				vlen,
				olen = 0;
	bool		isnull;
	Datum		od;
	int			n;
	char	   *tbl;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(td->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(td->tg_event) || !TRIGGER_FIRED_BY_INSERT(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("ps_delta_apply must be a BEFORE INSERT row trigger")));
	tup = td->tg_trigtuple;
	if (SessionReplicationRole != SESSION_REPLICATION_ROLE_REPLICA)
		return PointerGetDatum(tup);	/* the replicator's own row */
	desc = RelationGetDescr(td->tg_relation);
	c = ps_cluster_get();
	dest = DatumGetInt32(column(tup, desc, 3));
	if ((uint32) dest != c->self)
		return PointerGetDatum(tup);
	seq = DatumGetInt64(column(tup, desc, 1));
	origin = DatumGetInt32(column(tup, desc, 2));
	tbl = TextDatumGetCString(column(tup, desc, 4));
	dim = DatumGetInt32(column(tup, desc, 6));
	width = DatumGetInt32(column(tup, desc, 7));
	kb = bytes_of(tup, desc, 8, &klen);
	vb = bytes_of(tup, desc, 9, &vlen);
	/* the keys are varints (the wire format's list): count them by the values */
	n = width > 0 ? (int) (vlen / (sizeof(float4) * width)) : 0;
	od = desc->natts >= 11 ? heap_getattr(tup, 11, desc, &isnull) : (Datum) 0;
	if (desc->natts >= 11 && !isnull)
	{
		bytea	   *b = DatumGetByteaPP(od);

		ob = VARDATA_ANY(b);
		olen = VARSIZE_ANY_EXHDR(b);
	}
	if (dim < 1 || width < dim || klen > (Size) 10 * n ||
		vlen != (Size) n * width * sizeof(float4) ||
		olen % sizeof(PsOnceEntry) != 0 || olen > sizeof(PsOnceEntry) * PS_ONCE_CAPACITY)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("row %lld of origin %d in ps_delta is malformed", (long long) seq, origin),
				 errdetail("%zu bytes of keys, %zu of values, %zu of exactly-once records, dim %d, width %d.",
						   klen, vlen, olen, dim, width)));

	progress = progress_table();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "ps_delta_apply: SPI_connect failed");
	if (!applied_before(progress, origin, seq))
	{
		int64	   *keys = palloc(sizeof(int64) * Max(n, 1));
		float4	   *vals = palloc(Max(vlen, 1));
		PsOnceEntry *once = palloc(Max(olen, 1));

		if (!ps_wire_get_key_list((const uint8 *) kb, klen, keys, (size_t) n))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("row %lld of origin %d in ps_delta is malformed", (long long) seq, origin),
					 errdetail("Its %zu bytes of keys are not %d ascending keys.", klen, n)));
		/* copied: the bytea may not be aligned for float4 */
		memcpy(vals, vb, vlen);
		if (olen > 0)
			memcpy(once, ob, olen);
		apply_images(tbl, dim, width, keys, vals, n, once,
					 (int) (olen / sizeof(PsOnceEntry)));
		record_progress(progress, origin, seq, column(tup, desc, 10));
	}
	SPI_finish();
	return PointerGetDatum(NULL);
}

/*
 * ps_replication_stats(): the replicator of this server: database OID,
 * pid, synchronous, bytes waiting in the ring, tickets given and
 * confirmed, records written and their rows' bytes, last commit.
 */
Datum
ps_replication_stats(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[9];
	bool		nulls[9] = {0};
	PsReplStats s;

	ps_sql_require_superuser("ps_replication_stats");
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	ps_repl_stats(&s);
	values[0] = ObjectIdGetDatum(s.dbid);
	nulls[0] = !OidIsValid(s.dbid);
	values[1] = Int32GetDatum((int32) s.replicator);
	nulls[1] = s.replicator == 0;
	values[2] = BoolGetDatum(s.synchronous);
	values[3] = Int64GetDatum((int64) s.pending_bytes);
	values[4] = Int64GetDatum((int64) s.tickets);
	values[5] = Int64GetDatum((int64) s.confirmed);
	values[6] = Int64GetDatum((int64) s.records);
	values[7] = Int64GetDatum((int64) s.bytes);
	values[8] = TimestampTzGetDatum(s.last_commit);
	nulls[8] = s.last_commit == 0;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
