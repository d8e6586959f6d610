/*-------------------------------------------------------------------------
 *
 * ps_table.c
 *	  What a ps table is: its two columns, its dim, and the checks on values
 *	  that every way of writing shares.
 *
 * A ps table has two columns, a bigint key and a real (dim 1) or real[]
 * value; dropped columns are skipped.  The dim of a real[] column is
 * declared with a CHECK constraint, CHECK (cardinality(val) = N) or
 * CHECK (array_length(val, 1) = N), which pg_dump and ALTER TABLE carry
 * along; a table without one takes the dim of its first write.  Once a
 * table has storage its dim is fixed in the metapage.
 *
 * Layer 5 (table shape): what a ps table is (its access method, two
 * columns, dim) and the checks on values; calls only PostgreSQL and the
 * layers below.  Must not read the configuration (ps_config.c is above).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/tableam.h"
#include "catalog/pg_operator_d.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "ps_page.h"
#include "ps_table.h"


/*
 * The access method's routine table, registered by the module entry
 * (_PG_init) before anything else runs: what makes a relation a ps table.
 * Lower layers ask here rather than call into the access method.
 */
static const TableAmRoutine *ps_am = NULL;

void
ps_table_set_am(const TableAmRoutine *routine)
{
	ps_am = routine;
}

const TableAmRoutine *
ps_table_am(void)
{
	Assert(ps_am != NULL);
	return ps_am;
}

/* Is rel a ps table? */
bool
ps_is_ps_relation(Relation rel)
{
	return ps_am != NULL && rel->rd_tableam == ps_am;
}

/* Is relid a ps table?  Cheap enough for hooks: one relcache lookup. */
bool
ps_relid_is_ps(Oid relid)
{
	Relation	rel = RelationIdGetRelation(relid);
	bool		result;

	if (!RelationIsValid(rel))
		return false;
	result = ps_is_ps_relation(rel);
	RelationClose(rel);
	return result;
}

/*
 * Find the key and value columns, skipping dropped ones.  Returns false if
 * the descriptor is not the shape of a ps table.
 */
bool
ps_shape(TupleDesc tupdesc, PsShape *shape)
{
	int			found = 0;
	int			i;

	for (i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);

		if (att->attisdropped)
			continue;
		if (found == 0)
			shape->keyatt = i;
		else if (found == 1)
			shape->valatt = i;
		found++;
	}
	if (found != 2)
		return false;
	if (TupleDescAttr(tupdesc, shape->keyatt)->atttypid != INT8OID)
		return false;
	switch (TupleDescAttr(tupdesc, shape->valatt)->atttypid)
	{
		case FLOAT4OID:
			shape->isarray = false;
			return true;
		case FLOAT4ARRAYOID:
			shape->isarray = true;
			return true;
	}
	return false;
}

/*
 * If rel is the transient table into which PostgreSQL rewrites a table
 * (ALTER TABLE ... SET LOGGED/UNLOGGED, ALTER COLUMN TYPE, SET ACCESS
 * METHOD, REFRESH MATERIALIZED VIEW, VACUUM FULL), the OID of the table
 * being rewritten; else InvalidOid.  make_new_heap() names the transient
 * table pg_temp_<oid of the table> in the table's schema, creates it in the
 * current transaction and holds the table's ACCESS EXCLUSIVE lock: all
 * four must hold, so that a table a user merely named that way is not
 * mistaken for one (it would pick up the other table's configuration).
 */
Oid
ps_rewrite_source(Relation rel)
{
	Oid			orig;
	char		tail;
	Relation	src;
	bool		locked;

	if (rel->rd_createSubid == InvalidSubTransactionId ||
		sscanf(RelationGetRelationName(rel), "pg_temp_%u%c", &orig, &tail) != 1 ||
		orig == RelationGetRelid(rel) ||
		get_rel_namespace(orig) != RelationGetNamespace(rel))
		return InvalidOid;
	src = RelationIdGetRelation(orig);
	if (!RelationIsValid(src))
		return InvalidOid;
	locked = CheckRelationLockedByMe(src, AccessExclusiveLock, false);
	RelationClose(src);
	return locked ? orig : InvalidOid;
}

/*
 * The name to show for rel in messages: the table being rewritten rather
 * than its transient copy (see ps_rewrite_source).
 */
const char *
ps_relname(Relation rel)
{
	Oid			orig = ps_rewrite_source(rel);
	char	   *origname;

	if (OidIsValid(orig) && (origname = get_rel_name(orig)) != NULL)
		return origname;
	return RelationGetRelationName(rel);
}

/*
 * "table name" for messages about a relation the current user may be
 * refused, as PostgreSQL's privilege errors say it: the name only if the
 * user could have named it (some privilege on it, or USAGE on its schema),
 * else "relation with OID n".  Looks at the catalogs only; takes no lock.
 */
char *
ps_visible_relname(Oid relid)
{
	Oid			nsp = get_rel_namespace(relid);
	char	   *name = get_rel_name(relid);

	if (name != NULL &&
		(pg_class_aclmask(relid, GetUserId(), ACL_ALL_RIGHTS_RELATION, ACLMASK_ANY) != 0 ||
		 (OidIsValid(nsp) &&
		  pg_namespace_aclcheck(nsp, GetUserId(), ACL_USAGE) == ACLCHECK_OK)))
		return psprintf("table %s", name);
	return psprintf("relation with OID %u", relid);
}

/* Raise the error for a table that is not shaped like a ps table. */
void
ps_validate_shape(Relation rel)
{
	PsShape		shape;

	if (!ps_shape(RelationGetDescr(rel), &shape))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TABLE_DEFINITION),
				 errmsg("\"%s\" does not have the columns of a ps table", ps_relname(rel)),
				 errdetail("A ps table has exactly two columns: a bigint key, then a real or real[] value."),
				 errhint("For example: CREATE TABLE w (key bigint, val real) USING ps.")));
}

/*
 * Match CHECK (cardinality(val) = N) or CHECK (array_length(val, 1) = N),
 * either side of the =, on value column attnum.  Returns N or 0.
 */
static int
dim_from_check(Node *node, AttrNumber attnum)
{
	OpExpr	   *op;
	Node	   *a,
			   *b;
	FuncExpr   *fn;
	Const	   *c;
	Var		   *var;

	if (!IsA(node, OpExpr))
		return 0;
	op = (OpExpr *) node;
	if (op->opno != Int4EqualOperator || list_length(op->args) != 2)
		return 0;
	a = linitial(op->args);
	b = lsecond(op->args);
	if (IsA(a, Const))
	{
		Node	   *t = a;

		a = b;
		b = t;
	}
	if (!IsA(a, FuncExpr) || !IsA(b, Const))
		return 0;
	fn = (FuncExpr *) a;
	c = (Const *) b;
	if (c->constisnull || c->consttype != INT4OID)
		return 0;
	if (fn->funcid == F_CARDINALITY && list_length(fn->args) == 1)
		;
	else if (fn->funcid == F_ARRAY_LENGTH && list_length(fn->args) == 2)
	{
		Const	   *d = lsecond(fn->args);

		if (!IsA(d, Const) || d->constisnull || DatumGetInt32(d->constvalue) != 1)
			return 0;
	}
	else
		return 0;
	var = linitial(fn->args);
	if (!IsA(var, Var) || var->varattno != attnum)
		return 0;
	return DatumGetInt32(c->constvalue);
}

/* The dim a table's definition declares; 0 when it declares none. */
static int
declared_dim(Relation rel, const PsShape *shape)
{
	TupleConstr *constr = rel->rd_att->constr;
	int			i;

	if (!shape->isarray)
		return 1;
	if (constr == NULL)
		return 0;
	for (i = 0; i < constr->num_check; i++)
	{
		int			dim = dim_from_check(stringToNode(constr->check[i].ccbin),
										 shape->valatt + 1);

		if (dim != 0)
			return dim;
	}
	return 0;
}

/*
 * The dim of a table if it is known: the metapage's when the table has
 * storage, else the declared one; 0 if neither.  Errors if the declared dim
 * is out of range or disagrees with the stored values.
 */
int
ps_known_dim(Relation rel, PsDir *dir)
{
	PsShape		shape;
	int			declared;

	if (!ps_shape(RelationGetDescr(rel), &shape))
		ps_validate_shape(rel);
	if (dir->declared_dim < 0)
		dir->declared_dim = declared_dim(rel, &shape);
	declared = dir->declared_dim;

	if (declared < 0 || declared > PS_MAX_DIM)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TABLE_DEFINITION),
				 errmsg("ps table \"%s\" declares dim %d", ps_relname(rel), declared),
				 errhint("dim must be between 1 and %d.", PS_MAX_DIM)));
	if (dir->dim > 0)
	{
		if (declared > 0 && declared != dir->dim)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TABLE_DEFINITION),
					 errmsg("ps table \"%s\" declares dim %d but its values have dim %d",
							ps_relname(rel), declared, dir->dim),
					 errhint("Make the CHECK constraint on the value column say cardinality = %d.",
							 dir->dim)));
		return dir->dim;
	}
	return declared;
}

/*
 * Raise the error for a write of dim values per key to a table whose
 * values have another dim (found only once storage exists, e.g. when
 * another session's first write got there first).
 */
void
ps_dim_mismatch(Relation rel, int dim, int stored)
{
	ereport(ERROR,
			(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
			 errmsg("ps table \"%s\" has dim %d, not %d", ps_relname(rel), stored, dim),
			 errdetail("Another write fixed the table's dim first."),
			 errhint("Pass %d values per key, or declare the dim with a CHECK constraint.",
					 stored)));
}

/*
 * The dim of a table for a request: the known dim, else the one the first
 * write implies (inferred; 0 if the caller cannot tell).  Errors if there
 * is none.
 */
int
ps_table_dim(Relation rel, PsDir *dir, int inferred)
{
	int			dim = ps_known_dim(rel, dir);
	PsShape		shape;

	if (dim > 0)
		return dim;
	if (inferred > 0 && inferred <= PS_MAX_DIM)
		return inferred;
	ps_shape(RelationGetDescr(rel), &shape);
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TABLE_DEFINITION),
			 errmsg("the dim of ps table \"%s\" is not known", ps_relname(rel)),
			 errdetail("The table has a real[] value column, no CHECK constraint declaring its length, and no values yet."),
			 errhint("Declare it, as in ALTER TABLE %s ADD CHECK (cardinality(%s) = 8), or write a first value.",
					 RelationGetRelationName(rel),
					 NameStr(TupleDescAttr(RelationGetDescr(rel), shape.valatt)->attname))));
	return 0;					/* keep compiler quiet */
}

/*
 * Check that values are finite; errors otherwise.  sums: the values are sums
 * of repeated keys' values, so a non-finite one is an overflow.
 */
void
ps_check_finite(const float4 *vals, Size n, bool sums)
{
	Size		i;
	bool		ok = true;

	for (i = 0; i < n; i++)
		ok &= isfinite(vals[i]) != 0;
	if (ok)
		return;
	if (sums)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("the values pushed for a repeated key add up beyond the range of real"),
				 errhint("Values are real (float4); keep them within about 3.4e38.")));
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("ps values must be finite"),
			 errdetail("A value is NaN or infinite."),
			 errhint("Filter out NaN and infinite values before writing them.")));
}
