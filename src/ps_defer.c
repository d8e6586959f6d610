/*-------------------------------------------------------------------------
 *
 * ps_defer.c
 *	  INSERTs into a ps table by a statement that also reads that table:
 *	  the rows are kept until the statement has read everything, then
 *	  written, so that the statement sees the table as it was (as with a
 *	  heap table) and does not read its own rows.
 *
 * A ps table has no MVCC: a scan sees each leaf as it is when it reads it.
 * So "INSERT INTO t SELECT key + 10000, val FROM t" would read the rows it
 * has just written ahead of the scan and never end.  A heap table gives
 * that statement a snapshot taken before it started; here the executor
 * hooks find, when a statement starts, the ps tables it both inserts into
 * and reads (in its flattened range table: views, subqueries, CTEs and
 * partitions included), and for those the access method's insert
 * callback hands its rows to ps_insert_defer_hook, which keeps them in a
 * tuplestore (spilling to disk beyond work_mem).  When the statement's
 * plan has run to completion (ExecutorFinish), the rows are written in
 * their order, batch by batch, the last row for a key winning as usual.
 * An error before then writes none of them.  Statements nested in it
 * (functions, triggers) are statements of their own: their rows are not
 * kept with its.  Statement-level AFTER triggers of the table fire before
 * the rows are written.
 *
 * This file sits above the access method: it installs executor hooks and
 * the access method's defer hook, and writes kept rows with
 * ps_insert_rows.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "access/table.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "executor/executor.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "parser/parsetree.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/tuplestore.h"

#include "ps_defer.h"
#include "ps_table.h"

/* rows are written back in batches of this many */
#define DEFER_BATCH 1000

/* The kept rows of one table. */
typedef struct DeferredRel
{
	Oid			relid;
	Tuplestorestate *rows;		/* created at the first row */
	int64		nrows;
} DeferredRel;

/* A statement whose INSERTs into some ps tables are kept. */
typedef struct DeferredStmt
{
	QueryDesc  *query;
	int			level;			/* executor nesting level of its plan */
	List	   *rels;			/* DeferredRel * */
	MemoryContext cxt;			/* the statement's query context */
	MemoryContextCallback gone; /* unlinks it when that context goes */
	struct DeferredStmt *next;	/* the statement it is nested in */
} DeferredStmt;

static DeferredStmt *deferred = NULL;	/* innermost first */
static int	exec_level = 0;

static ExecutorStart_hook_type prev_ExecutorStart = NULL;
static ExecutorRun_hook_type prev_ExecutorRun = NULL;
static ExecutorFinish_hook_type prev_ExecutorFinish = NULL;

/*
 * The ps tables a statement inserts into (directly, or as partitions of a
 * partitioned table it inserts into) and also reads.
 */
static List *
self_reading_targets(PlannedStmt *stmt)
{
	List	   *targets = NIL;
	List	   *result = NIL;
	ListCell   *lc;
	int			rti;

	foreach(lc, stmt->resultRelations)
	{
		RangeTblEntry *rte = rt_fetch(lfirst_int(lc), stmt->rtable);

		if (rte->rtekind != RTE_RELATION)
			continue;
		if (rte->relkind == RELKIND_PARTITIONED_TABLE)
		{
			ListCell   *pc;

			foreach(pc, find_all_inheritors(rte->relid, NoLock, NULL))
				if (ps_relid_is_ps(lfirst_oid(pc)))
					targets = list_append_unique_oid(targets, lfirst_oid(pc));
		}
		else if (ps_relid_is_ps(rte->relid))
			targets = list_append_unique_oid(targets, rte->relid);
	}
	if (targets == NIL)
		return NIL;

	rti = 0;
	foreach(lc, stmt->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

		rti++;
		if (rte->rtekind != RTE_RELATION ||
			list_member_int(stmt->resultRelations, rti))
			continue;
		if (list_member_oid(targets, rte->relid))
			result = list_append_unique_oid(result, rte->relid);
	}
	return result;
}

static void
unlink_stmt(void *arg)
{
	DeferredStmt *d = (DeferredStmt *) arg;
	DeferredStmt **p;

	for (p = &deferred; *p != NULL; p = &(*p)->next)
		if (*p == d)
		{
			*p = d->next;
			break;
		}
}

static void
ps_ExecutorStart(QueryDesc *queryDesc, int eflags)
{
	List	   *relids;

	if (prev_ExecutorStart)
		prev_ExecutorStart(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);

	if ((eflags & EXEC_FLAG_EXPLAIN_ONLY) != 0 ||
		queryDesc->plannedstmt->resultRelations == NIL)
		return;
	relids = self_reading_targets(queryDesc->plannedstmt);
	if (relids != NIL)
	{
		MemoryContext cxt = queryDesc->estate->es_query_cxt;
		DeferredStmt *d = MemoryContextAllocZero(cxt, sizeof(DeferredStmt));
		MemoryContext old = MemoryContextSwitchTo(cxt);
		ListCell   *lc;

		d->query = queryDesc;
		d->level = exec_level + 1;
		d->cxt = cxt;
		foreach(lc, relids)
		{
			DeferredRel *r = palloc0(sizeof(DeferredRel));

			r->relid = lfirst_oid(lc);
			d->rels = lappend(d->rels, r);
		}
		MemoryContextSwitchTo(old);
		d->gone.func = unlink_stmt;
		d->gone.arg = d;
		MemoryContextRegisterResetCallback(cxt, &d->gone);
		d->next = deferred;
		deferred = d;
	}
}

static void
ps_ExecutorRun(QueryDesc *queryDesc, ScanDirection direction, uint64 count,
			   bool execute_once)
{
	exec_level++;
	PG_TRY();
	{
		if (prev_ExecutorRun)
			prev_ExecutorRun(queryDesc, direction, count, execute_once);
		else
			standard_ExecutorRun(queryDesc, direction, count, execute_once);
	}
	PG_FINALLY();
	{
		exec_level--;
	}
	PG_END_TRY();
}

/* Write the kept rows of one table, in their order. */
static void
write_kept(DeferredRel *r)
{
	Relation	rel;
	TupleTableSlot *slots[DEFER_BATCH];
	int			n = 0,
				i;

	if (r->rows == NULL)
		return;
	rel = relation_open(r->relid, NoLock);	/* the statement holds its lock */
	for (i = 0; i < DEFER_BATCH; i++)
		slots[i] = MakeSingleTupleTableSlot(RelationGetDescr(rel),
											&TTSOpsMinimalTuple);
	for (;;)
	{
		bool		more = tuplestore_gettupleslot(r->rows, true, false, slots[n]);

		if (more)
			n++;
		if (n == DEFER_BATCH || (!more && n > 0))
		{
			CHECK_FOR_INTERRUPTS();
			ps_insert_rows(rel, slots, n);
			n = 0;
		}
		if (!more)
			break;
	}
	for (i = 0; i < DEFER_BATCH; i++)
		ExecDropSingleTupleTableSlot(slots[i]);
	tuplestore_end(r->rows);
	r->rows = NULL;
	relation_close(rel, NoLock);
}

static void
ps_ExecutorFinish(QueryDesc *queryDesc)
{
	DeferredStmt *d;

	exec_level++;
	PG_TRY();
	{
		if (prev_ExecutorFinish)
			prev_ExecutorFinish(queryDesc);
		else
			standard_ExecutorFinish(queryDesc);
	}
	PG_FINALLY();
	{
		exec_level--;
	}
	PG_END_TRY();

	/* the plan has read all it will: write what this statement kept */
	for (d = deferred; d != NULL; d = d->next)
		if (d->query == queryDesc)
		{
			ListCell   *lc;

			foreach(lc, d->rels)
				write_kept((DeferredRel *) lfirst(lc));
			break;
		}
}

/*
 * The access method's defer hook: keep the rows if the running statement
 * reads rel too.  Only the innermost statement's own rows are kept: a
 * statement nested in it runs at a deeper level.
 */
static bool
defer_rows(Relation rel, TupleTableSlot **slots, int nslots)
{
	DeferredStmt *d = deferred;
	ListCell   *lc;
	int			i;

	if (d == NULL || d->level != exec_level)
		return false;
	foreach(lc, d->rels)
	{
		DeferredRel *r = (DeferredRel *) lfirst(lc);

		if (r->relid != RelationGetRelid(rel))
			continue;
		if (r->rows == NULL)
		{
			MemoryContext old = MemoryContextSwitchTo(d->cxt);

			r->rows = tuplestore_begin_heap(false, false, work_mem);
			MemoryContextSwitchTo(old);
		}
		for (i = 0; i < nslots; i++)
			tuplestore_puttupleslot(r->rows, slots[i]);
		r->nrows += nslots;
		return true;
	}
	return false;
}

void
ps_defer_init(void)
{
	prev_ExecutorStart = ExecutorStart_hook;
	ExecutorStart_hook = ps_ExecutorStart;
	prev_ExecutorRun = ExecutorRun_hook;
	ExecutorRun_hook = ps_ExecutorRun;
	prev_ExecutorFinish = ExecutorFinish_hook;
	ExecutorFinish_hook = ps_ExecutorFinish;
	ps_insert_defer_hook = defer_rows;
}
