/*-------------------------------------------------------------------------
 *
 * ps_table.h
 *	  What a ps table is: its columns, its dim, and value checks shared by
 *	  the access method and the SQL functions.
 *
 * Layer 5 (table shape).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_TABLE_H
#define PS_TABLE_H

#include "access/tupdesc.h"
#include "utils/array.h"
#include "utils/rel.h"
#include "utils/relcache.h"

#include "ps_dir.h"

/* positions (0-based) of the key and value columns */
typedef struct PsShape
{
	int			keyatt;
	int			valatt;
	bool		isarray;		/* value column is real[] */
} PsShape;

/*
 * Start of an array's elements; ARR_DATA_PTR says the same but mixes signed
 * and unsigned operands, which -Wextra reports.
 */
static inline void *
ps_array_data(ArrayType *arr)
{
	Size		off = ARR_HASNULL(arr) ? (Size) arr->dataoffset :
		(Size) ARR_OVERHEAD_NONULLS(ARR_NDIM(arr));

	return (char *) arr + off;
}

/*
 * Was rel's storage created in the current transaction (CREATE TABLE,
 * TRUNCATE, a rewrite)?  Such storage exists only if the transaction
 * commits, and no other session can see it before then.
 */
static inline bool
ps_storage_is_new(Relation rel)
{
	return rel->rd_createSubid != InvalidSubTransactionId ||
		rel->rd_firstRelfilenodeSubid != InvalidSubTransactionId;
}

struct TableAmRoutine;
extern void ps_table_set_am(const struct TableAmRoutine *routine);
extern const struct TableAmRoutine *ps_table_am(void);
extern bool ps_is_ps_relation(Relation rel);
extern bool ps_relid_is_ps(Oid relid);

extern bool ps_shape(TupleDesc tupdesc, PsShape *shape);
extern void ps_validate_shape(Relation rel);
extern const char *ps_relname(Relation rel);
extern Oid	ps_rewrite_source(Relation rel);
extern char *ps_visible_relname(Oid relid);
extern int	ps_known_dim(Relation rel, PsDir *dir);
extern int	ps_table_dim(Relation rel, PsDir *dir, int inferred);
extern void ps_dim_mismatch(Relation rel, int dim, int stored);
extern void ps_check_finite(const float4 *vals, Size n, bool sums);

#endif							/* PS_TABLE_H */
