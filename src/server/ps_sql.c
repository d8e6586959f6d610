/*-------------------------------------------------------------------------
 *
 * ps_sql.c
 *	  What every SQL entry point does first: check its arguments for NULL,
 *	  check the caller's privileges on the table before locking it, open it
 *	  as a ps table.
 *
 * Layer 9 (SQL entry points), the helpers of ps_sql_*.c.  A role without
 * the privilege a function needs cannot even queue a lock on the table:
 * privileges are checked by OID first.  Nothing here may lock a table
 * before that check, nor name a table to a role that could not name it.
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
#include "ps_cluster.h"
#include "ps_dir.h"
#include "ps_monitor.h"
#include "ps_state.h"
#include "ps_table.h"
#include "ps_keys.h"
#include "ps_sql.h"
#include "ps_store.h"

void
ps_arg_not_null(FunctionCallInfo fcinfo, int argno, const char *what)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s of %s must not be NULL", what,
						get_func_name(fcinfo->flinfo->fn_oid)),
				 errhint("Pass %s a value for %s; NULL is not read as a default.",
						 get_func_name(fcinfo->flinfo->fn_oid), what)));
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

/* A request of nkeys keys of dim values each is within the limits. */
void
ps_sql_check_request_size(FunctionCallInfo fcinfo, uint64 nkeys, int dim)
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
int
ps_sql_array_arg(FunctionCallInfo fcinfo, int argno, const char *what, void **data)
{
	ArrayType  *arr;
	int			n;

	ps_arg_not_null(fcinfo, argno, what);
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

/* ps_keys.c (src/common) allocates through this */
const PsKeysAlloc ps_keys_palloc = {palloc, pfree};

/*
 * A one-dimensional array of n zeroed elements of type elem (elemsize
 * bytes, passed by value, no NULLs); *data points at its elements.
 */
ArrayType *
ps_sql_new_array(Oid elem, int elemsize, Size n, void **data)
{
	Size		nbytes = ARR_OVERHEAD_NONULLS(1) + (Size) elemsize * n;
	ArrayType  *arr;

	if (n == 0)
	{
		*data = NULL;
		return construct_empty_array(elem);
	}
	arr = palloc0(nbytes);
	SET_VARSIZE(arr, nbytes);
	arr->ndim = 1;
	arr->dataoffset = 0;
	arr->elemtype = elem;
	ARR_DIMS(arr)[0] = (int) n;
	ARR_LBOUND(arr)[0] = 1;
	*data = (char *) arr + ARR_OVERHEAD_NONULLS(1);
	return arr;
}

/*
 * Read the values of n keys in any order (repeats allowed), dim floats a
 * key, into out in the keys' order: sorted first if they are not, so the
 * leaves are read in one pass.
 */
void
ps_sql_read_keys(Relation rel, PsDir *dir, const int64 *keys, int n, int dim,
				 float4 *out)
{
	int			i;

	for (i = 1; i < n; i++)
		if (keys[i] < keys[i - 1])
			break;
	if (i >= n)
		ps_store_read(rel, dir, keys, NULL, n, dim, out);
	else
	{
		int64	   *sorted = palloc(sizeof(int64) * n);
		int32	   *perm = palloc(sizeof(int32) * n);

		ps_sort_keys(&ps_keys_palloc, keys, n, sorted, perm);
		ps_store_read(rel, dir, sorted, perm, n, dim, out);
		pfree(sorted);
		pfree(perm);
	}
}

/*
 * Check a further privilege a request needs on its table, with a detail
 * saying why; before the table is opened, so before a lock.
 */
void
ps_check_table_privilege(Oid relid, AclMode mode, const char *detail)
{
	ps_check_preloaded();
	check_privilege(relid, mode, detail);
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
Relation
ps_open_table_for(FunctionCallInfo fcinfo, AclMode mode, bool worker_call,
				  LOCKMODE lockmode)
{
	Oid			relid;

	ps_check_preloaded();
	ps_arg_not_null(fcinfo, 0, "the table");
	relid = PG_GETARG_OID(0);

	check_privilege(relid, mode, NULL);
	if (worker_call && (mode & ACL_UPDATE) == 0)
		check_privilege(relid, ACL_UPDATE,
						"A worker's call moves the worker's clock, which the other workers wait on: it needs UPDATE, as ps_join does.");
	return ps_open_relid(fcinfo, relid, lockmode);
}

/*
 * Open table relid, whose privileges the caller checked, as a ps table
 * for a request of the function of fcinfo.
 */
Relation
ps_open_relid(FunctionCallInfo fcinfo, Oid relid, LOCKMODE lockmode)
{
	Relation	rel;

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

Relation
ps_open_table(FunctionCallInfo fcinfo, AclMode mode, LOCKMODE lockmode)
{
	return ps_open_table_for(fcinfo, mode, false, lockmode);
}

/*
 * Refuse writes to a ps table that only PostgreSQL may write: a
 * materialized view (REFRESH writes it).
 */
void
ps_check_writable(FunctionCallInfo fcinfo, Relation rel)
{
	if (rel->rd_rel->relkind == RELKIND_MATVIEW)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("%s cannot write to materialized view \"%s\"",
						get_func_name(fcinfo->flinfo->fn_oid), RelationGetRelationName(rel)),
				 errdetail("A materialized view holds what its query computed; only REFRESH MATERIALIZED VIEW writes it."),
				 errhint("Push to a ps table instead.")));
}

/* The table's last task timestamp; 0 for a table without storage. */
uint64
ps_table_last_ts(Relation rel)
{
	return ps_has_storage(rel) ? ps_state_last_ts(rel) : 0;
}

/*
 * Fail, with SQLSTATE PS003 and the ring's version, unless this server
 * holds every key of the request: keys (n of them, any order), or, keys
 * NULL, the range first .. first + n - 1.
 */
void
ps_sql_check_held(Relation rel, const int64 *keys, int64 first, int64 n)
{
	if (n <= 0)
		return;
	if (ps_cluster_get()->version > 0)
		ps_monitor_ensure();	/* a node in a cluster watches the others */
	if (keys != NULL)
		ps_cluster_check_keys(rel, keys, (int) n);
	else
		ps_cluster_check_range(rel, first, first + (n - 1));
}
