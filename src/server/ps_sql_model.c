/*-------------------------------------------------------------------------
 *
 * ps_sql_model.c
 *	  Training and serving from SQL: ps_libsvm (a LibSVM line parsed),
 *	  ps_predict (a logistic model's probability for one example) and the
 *	  aggregate ps_logistic_grad (the gradient and the loss of the logistic
 *	  loss over rows of examples, at the weights of a ps table).
 *
 * Layer 9 (SQL entry points).  The model is sparse logistic regression
 * without a bias (a bias is a feature every example has): P(y = +1 | x) =
 * 1 / (1 + exp(-w.x)), the loss of an example log(1 + exp(-y w.x)), y in
 * {-1, +1}.  The weights are the values of a ps table of dim 1, key =
 * feature id; keys never written weigh 0.  ps_predict and the aggregate
 * read the weights a request needs at once, sorted (one pass over the
 * leaves), and need SELECT on the table, checked before it is locked.
 * The aggregate keeps its rows' features in memory until its final
 * function reads the weights: a minibatch, not a whole table.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"


#include "access/htup_details.h"
#include "access/relation.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "mb/pg_wchar.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "ps_dir.h"
#include "ps_keys.h"
#include "ps_libsvm.h"
#include "ps_logistic.h"
#include "ps_sql.h"
#include "ps_store.h"
#include "ps_table.h"

PG_FUNCTION_INFO_V1(ps_libsvm);
PG_FUNCTION_INFO_V1(ps_predict);
PG_FUNCTION_INFO_V1(ps_logistic_grad_step);
PG_FUNCTION_INFO_V1(ps_logistic_grad_final);

/* features one aggregate may hold: its arrays stay below 1 GB */
#define MAX_FEATURES ((int64) (MaxAllocSize / sizeof(int64)))

/* A one-dimensional array of n elements of type elem, copied from data. */
static ArrayType *
raw_array(const void *data, int n, Oid elem, int elemsize)
{
	void	   *to;
	ArrayType  *arr = ps_sql_new_array(elem, elemsize, n, &to);

	if (n > 0)
		memcpy(to, data, (Size) elemsize * n);
	return arr;
}

/*
 * ps_libsvm(line text, OUT label real, OUT keys bigint[], OUT vals real[])
 */
Datum
ps_libsvm(PG_FUNCTION_ARGS)
{
	text	   *t;
	const char *p;
	size_t		len,
				cap,
				n;
	float		label;
	int64	   *ids;
	float4	   *vals;
	PsLibsvmError err;
	TupleDesc	desc;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	ps_arg_not_null(fcinfo, 0, "the line");
	t = PG_GETARG_TEXT_PP(0);
	p = VARDATA_ANY(t);
	len = VARSIZE_ANY_EXHDR(t);
	if (ps_libsvm_blank(p, len))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("ps_libsvm: the line is blank or a comment"),
				 errhint("Leave such lines out, as in WHERE line !~ '^\\s*(#|$)'.")));
	cap = PS_LIBSVM_MAX_FEATURES(len);
	if (cap > MaxAllocSize / sizeof(int64))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("ps_libsvm: a line of %zu bytes is longer than it can parse", len),
				 errhint("Lines of up to %zu bytes are parsed.", (Size) (MaxAllocSize / sizeof(int64)) * 4 - 4)));
	ids = palloc(sizeof(int64) * cap);
	vals = palloc(sizeof(float4) * cap);
	if (!ps_libsvm_parse(p, len, &label, ids, vals, cap, &n, &err))
	{
		/* up to 24 bytes of what is there, cut at a character boundary */
		size_t		at = Min(err.offset, len);
		int			show = pg_mbcliplen(p + at, (int) Min(len - at, 64), 24);

		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("ps_libsvm: %s, at byte %zu of the line", err.reason,
						err.offset + 1),
				 errdetail("The line reads there: \"%.*s\".", show, p + at),
				 errhint("A LibSVM line is a label (+1, -1, 1 or 0), then id:value pairs: decimal integer ids, finite values.")));
	}
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "ps_libsvm: the result is not a row");
	values[0] = Float4GetDatum(label);
	values[1] = PointerGetDatum(raw_array(ids, (int) n, INT8OID, sizeof(int64)));
	values[2] = PointerGetDatum(raw_array(vals, (int) n, FLOAT4OID, sizeof(float4)));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}

/* The table's dim must be 1 (a table with no dim yet reads as one). */
static void
check_logistic_table(const char *fn, Relation rel, PsDir *dir)
{
	int			dim = ps_table_dim(rel, dir, 1);

	if (dim != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: table \"%s\" has dim %d, a logistic model's weights have dim 1",
						fn, RelationGetRelationName(rel), dim),
				 errhint("Keep the weights in a table of (key bigint, val real).")));
}

/* keys and vals of one example: as many of each, values finite */
static void
check_example(const char *fn, int nkeys, int nvals, const float4 *vals)
{
	if (nkeys != nvals)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: %d keys but %d values", fn, nkeys, nvals),
				 errhint("Give one value per key: the example's feature values.")));
	ps_check_finite(vals, nvals, false);
}

/*
 * ps_predict(tbl regclass, keys bigint[], vals real[]) returns float8
 */
Datum
ps_predict(PG_FUNCTION_ARGS)
{
	Relation	rel = ps_open_table(fcinfo, ACL_SELECT, AccessShareLock);
	int64	   *keys;
	float4	   *vals;
	float4	   *w;
	int			nkeys,
				nvals,
				i;
	PsDir	   *dir;
	double		m = 0;

	nkeys = ps_sql_array_arg(fcinfo, 1, "keys", (void **) &keys);
	nvals = ps_sql_array_arg(fcinfo, 2, "values", (void **) &vals);
	check_example("ps_predict", nkeys, nvals, vals);
	dir = ps_dir_get(rel, false, 0, 0);
	check_logistic_table("ps_predict", rel, dir);
	ps_sql_check_request_size(fcinfo, nkeys, 1);
	ps_sql_check_held(rel, keys, 0, nkeys);
	w = palloc0(sizeof(float4) * Max(nkeys, 1));
	if (nkeys > 0)
		ps_sql_read_keys(rel, dir, keys, nkeys, 1, w);
	relation_close(rel, NoLock);
	for (i = 0; i < nkeys; i++)
		m += (double) w[i] * vals[i];
	PG_RETURN_FLOAT8(ps_sigmoid(m));
}

/* The aggregate's rows: their labels and features, in aggregate memory. */
typedef struct GradState
{
	Oid			relid;
	int64		nrows,
				rowcap;
	float4	   *labels;			/* +1 or -1 */
	int64	   *ends;			/* row r's features end at ends[r] */
	int64		nfeat,
				featcap;
	int64	   *keys;
	float4	   *vals;
} GradState;

/* a label as ps_libsvm reads one: 1 is +1, 0 and -1 are -1 */
static float4
example_label(FunctionCallInfo fcinfo, float4 y)
{
	if (y == 1.0f)
		return 1.0f;
	if (y == 0.0f || y == -1.0f)
		return -1.0f;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("ps_logistic_grad: label %g is not +1, -1, 1 or 0", y),
			 errhint("Labels of a logistic model are +1 / -1 (or 1 / 0).")));
	return 0;					/* keep compiler quiet */
}

/*
 * ps_logistic_grad_step(state internal, tbl regclass, label real,
 *						 keys bigint[], vals real[]) returns internal
 */
Datum
ps_logistic_grad_step(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt,
				old;
	GradState  *s;
	Oid			relid;
	float4		y;
	int64	   *keys;
	float4	   *vals;
	int			nkeys,
				nvals;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "ps_logistic_grad_step called in a non-aggregate context");
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("ps_logistic_grad: the %s is NULL", PG_ARGISNULL(1) ? "table" : "label"),
				 errhint("Leave examples without a label out (WHERE label IS NOT NULL).")));
	relid = PG_GETARG_OID(1);
	y = example_label(fcinfo, PG_GETARG_FLOAT4(2));
	nkeys = ps_sql_array_arg(fcinfo, 3, "keys", (void **) &keys);
	nvals = ps_sql_array_arg(fcinfo, 4, "values", (void **) &vals);
	check_example("ps_logistic_grad", nkeys, nvals, vals);

	if (PG_ARGISNULL(0))
	{
		/* the first row: may the caller read the table at all? */
		ps_check_table_privilege(relid, ACL_SELECT, NULL);
		s = MemoryContextAllocZero(aggcxt, sizeof(GradState));
		s->relid = relid;
	}
	else
		s = (GradState *) PG_GETARG_POINTER(0);
	if (relid != s->relid)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ps_logistic_grad: the rows name different tables"),
				 errhint("Aggregate the rows of one model at a time (GROUP BY the table).")));
	if (s->nfeat + nkeys > MAX_FEATURES || s->nrows >= MAX_FEATURES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("ps_logistic_grad: more than " INT64_FORMAT " features or rows in one aggregate",
						MAX_FEATURES),
				 errhint("Aggregate smaller minibatches.")));

	old = MemoryContextSwitchTo(aggcxt);
	if (s->nrows == s->rowcap)
	{
		s->rowcap = s->rowcap ? Min(s->rowcap * 2, MAX_FEATURES) : 64;
		s->labels = s->labels ? repalloc(s->labels, sizeof(float4) * s->rowcap) :
			palloc(sizeof(float4) * s->rowcap);
		s->ends = s->ends ? repalloc(s->ends, sizeof(int64) * s->rowcap) :
			palloc(sizeof(int64) * s->rowcap);
	}
	if (s->nfeat + nkeys > s->featcap)
	{
		s->featcap = Min(Max(s->featcap * 2, s->nfeat + nkeys + 256), MAX_FEATURES);
		s->keys = s->keys ? repalloc(s->keys, sizeof(int64) * s->featcap) :
			palloc(sizeof(int64) * s->featcap);
		s->vals = s->vals ? repalloc(s->vals, sizeof(float4) * s->featcap) :
			palloc(sizeof(float4) * s->featcap);
	}
	MemoryContextSwitchTo(old);
	memcpy(s->keys + s->nfeat, keys, sizeof(int64) * nkeys);
	memcpy(s->vals + s->nfeat, vals, sizeof(float4) * nkeys);
	s->nfeat += nkeys;
	s->labels[s->nrows] = y;
	s->ends[s->nrows] = s->nfeat;
	s->nrows++;
	PG_RETURN_POINTER(s);
}

/* The result row: keys, gradient, loss, examples. */
static Datum
gradient_row(FunctionCallInfo fcinfo, const int64 *keys, const float4 *grad,
			 int n, double loss, int64 examples)
{
	TupleDesc	desc;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "ps_logistic_grad: the result is not a row");
	values[0] = PointerGetDatum(raw_array(keys, n, INT8OID, sizeof(int64)));
	values[1] = PointerGetDatum(raw_array(grad, n, FLOAT4OID, sizeof(float4)));
	values[2] = Float8GetDatum(loss);
	values[3] = Int64GetDatum(examples);
	return HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls));
}

/*
 * ps_logistic_grad_final(state internal) returns ps_gradient
 *
 * The distinct keys of the rows, ascending; the weights read once for
 * them; each row's margin m = w.x, its loss log(1 + exp(-y m)) and its
 * part of the gradient, -y x / (1 + exp(y m)), summed per key in double.
 * The state is only read (FINALFUNC_MODIFY = READ_ONLY).
 */
Datum
ps_logistic_grad_final(PG_FUNCTION_ARGS)
{
	GradState  *s;
	Relation	rel;
	PsDir	   *dir;
	int64	   *sorted,
			   *ukeys;
	int32	   *perm,
			   *slot;
	float4	   *w,
			   *grad;
	double	   *g,
				loss = 0;
	int			nf,
				m = 0,
				i;
	int64		r,
				j;

	if (!AggCheckCallContext(fcinfo, NULL))
		elog(ERROR, "ps_logistic_grad_final called in a non-aggregate context");
	if (PG_ARGISNULL(0))
		PG_RETURN_DATUM(gradient_row(fcinfo, NULL, NULL, 0, 0, 0));
	s = (GradState *) PG_GETARG_POINTER(0);
	/* below MAX_FEATURES, so an int */
	nf = (int) s->nfeat;

	/* the distinct keys, and where each feature's key went among them */
	sorted = palloc(sizeof(int64) * Max(nf, 1));
	perm = palloc(sizeof(int32) * Max(nf, 1));
	slot = palloc(sizeof(int32) * Max(nf, 1));
	ukeys = palloc(sizeof(int64) * Max(nf, 1));
	if (nf > 0)
		ps_sort_keys(&ps_keys_palloc, s->keys, nf, sorted, perm);
	for (i = 0; i < nf; i++)
	{
		if (m == 0 || sorted[i] != ukeys[m - 1])
			ukeys[m++] = sorted[i];
		slot[perm[i]] = m - 1;
	}

	/* checked again: the aggregate may have run across a REVOKE */
	ps_check_table_privilege(s->relid, ACL_SELECT, NULL);
	rel = ps_open_relid(fcinfo, s->relid, AccessShareLock);
	dir = ps_dir_get(rel, false, 0, 0);
	check_logistic_table("ps_logistic_grad", rel, dir);
	ps_sql_check_request_size(fcinfo, m, 1);
	ps_sql_check_held(rel, ukeys, 0, m);
	w = palloc0(sizeof(float4) * Max(m, 1));
	if (m > 0)
		ps_store_read(rel, dir, ukeys, NULL, m, 1, w);
	relation_close(rel, NoLock);

	g = palloc0(sizeof(double) * Max(m, 1));
	for (r = 0, j = 0; r < s->nrows; r++)
	{
		int64		end = s->ends[r],
					k;
		double		margin = 0,
					y = s->labels[r],
					c;

		for (k = j; k < end; k++)
			margin += (double) w[slot[k]] * s->vals[k];
		loss += ps_log1pexp(-y * margin);
		c = -y * ps_sigmoid(-y * margin);
		for (k = j; k < end; k++)
			g[slot[k]] += c * s->vals[k];
		j = end;
	}
	grad = palloc(sizeof(float4) * Max(m, 1));
	for (i = 0; i < m; i++)
		grad[i] = (float4) g[i];
	PG_RETURN_DATUM(gradient_row(fcinfo, ukeys, grad, m, loss, s->nrows));
}
