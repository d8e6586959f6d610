/*-------------------------------------------------------------------------
 *
 * ps.c
 *	  Module entry point of the ps extension: configuration parameters,
 *	  registration of the WAL resource manager, shared memory, and the
 *	  hooks that keep ps tables out of places they cannot work
 *	  (UPDATE/DELETE/MERGE, ON CONFLICT, row locks, parallel scans,
 *	  publications, column changes).
 *
 * The library must be loaded through shared_preload_libraries: the WAL
 * resource manager can only be registered then, and shared memory only
 * requested then.  Loaded any other way (a plain CREATE EXTENSION or a
 * function call in a server without the setting), it registers only the
 * access method's routine table with ps_table.c (so that a ps table is
 * known as one), and every entry point refuses to run, saying how to fix
 * it.
 *
 * Layer 10 (module entry): _PG_init defines the parameters, registers
 * the WAL resource manager, the access method, shared memory and the
 * scheduler, and installs the hooks.  It may call every layer; nothing
 * calls it (what all need is in ps_base.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <cblas.h>
#include <unistd.h>

#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/objectaccess.h"
#include "catalog/partition.h"
#include "catalog/pg_class.h"
#include "catalog/pg_publication.h"
#include "commands/publicationcmds.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "optimizer/plancat.h"
#include "parser/analyze.h"
#include "parser/parsetree.h"
#include "tcop/utility.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "ps_am.h"
#include "ps_base.h"
#include "ps_config.h"
#include "ps_dir.h"
#include "ps_filter.h"
#include "ps_monitor.h"
#include "ps_queue.h"
#include "ps_repl.h"
#include "ps_sched.h"
#include "ps_state.h"
#include "ps_table.h"
#include "ps_xlog.h"

PG_MODULE_MAGIC;

/* provided by OpenBLAS; declared here because cblas.h may not export it */
extern void openblas_set_num_threads(int num_threads);

static object_access_hook_type prev_object_access_hook = NULL;
static get_relation_info_hook_type prev_get_relation_info_hook = NULL;
static ProcessUtility_hook_type prev_ProcessUtility_hook = NULL;
static post_parse_analyze_hook_type prev_post_parse_analyze_hook = NULL;

void		_PG_init(void);

/*
 * Keep the two-column shape of ps tables (new or dropped columns would
 * change what a row is), and forget shared and cached state of dropped
 * tables.
 */
static void
ps_object_access(ObjectAccessType access, Oid classId, Oid objectId,
				 int subId, void *arg)
{
	if (prev_object_access_hook)
		prev_object_access_hook(access, classId, objectId, subId, arg);

	if (classId != RelationRelationId)
		return;

	if (access == OAT_POST_CREATE && subId > 0 && ps_relid_is_ps(objectId))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot add a column to ps table \"%s\"",
						get_rel_name(objectId)),
				 errdetail("A ps table has exactly two columns: a bigint key and a real or real[] value."),
				 errhint("Keep further attributes in an ordinary table that references the keys.")));

	if (access == OAT_DROP)
	{
		if (subId > 0)
		{
			if (ps_relid_is_ps(objectId))
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("cannot drop a column of ps table \"%s\"",
								get_rel_name(objectId)),
						 errdetail("A ps table has exactly two columns: a bigint key and a real or real[] value."),
						 errhint("Drop the whole table instead.")));
		}
		else
		{
			/*
			 * Only ps tables have shared state and directory copies (and
			 * only they make a transaction unpreparable); a configuration
			 * row may outlive a conversion to heap, so it goes with any
			 * relation.
			 */
			if (ps_relid_is_ps(objectId))
			{
				ps_state_forget_at_commit(objectId);
				ps_dir_forget(objectId);
				ps_filter_forget(objectId);
			}
			ps_config_forget(objectId);
		}
	}
}

/*
 * ps tables support only serial scans: leaves are visited along their
 * right-links, which is what keeps a scan consistent with concurrent
 * splits.  Tell the planner not to plan parallel scans of them, also when
 * it plans the workers of an index build (which asks with inhparent set):
 * CREATE INDEX then reaches the access method's serial build and fails
 * saying that ps tables have no indexes.
 */
static void
ps_get_relation_info(PlannerInfo *root, Oid relationObjectId, bool inhparent,
					 RelOptInfo *rel)
{
	if (prev_get_relation_info_hook)
		prev_get_relation_info_hook(root, relationObjectId, inhparent, rel);
	if (ps_relid_is_ps(relationObjectId))
		rel->rel_parallel_workers = 0;
}

/*
 * Statements that need row identity or unique indexes are refused at parse
 * analysis, so they fail the same way whether or not any row matches.  The
 * access method callbacks refuse them too, for paths this misses (views,
 * partitioned parents).
 */
static void
refuse_unsupported(Query *query)
{
	ListCell   *lc;

	foreach(lc, query->cteList)
	{
		CommonTableExpr *cte = lfirst_node(CommonTableExpr, lc);

		if (IsA(cte->ctequery, Query))
			refuse_unsupported((Query *) cte->ctequery);
	}

	if (query->resultRelation > 0)
	{
		RangeTblEntry *rte = rt_fetch(query->resultRelation, query->rtable);
		const char *what = NULL;

		if (query->commandType == CMD_UPDATE)
			what = "UPDATE";
		else if (query->commandType == CMD_DELETE)
			what = "DELETE";
		else if (query->commandType == CMD_MERGE)
			what = "MERGE";
		else if (query->commandType == CMD_INSERT && query->onConflict != NULL)
			what = "INSERT ... ON CONFLICT";

		if (what && rte->rtekind == RTE_RELATION && ps_relid_is_ps(rte->relid))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("ps table \"%s\" does not support %s",
							get_rel_name(rte->relid), what),
					 errdetail("A ps table sets values with INSERT and adds to them with ps_push(); rows have no identity to update, delete or lock."),
					 errhint("Use ps_push() to add to values, INSERT to overwrite them, TRUNCATE to remove every key.")));
	}

	foreach(lc, query->rowMarks)
	{
		RowMarkClause *rc = lfirst_node(RowMarkClause, lc);
		RangeTblEntry *rte = rt_fetch(rc->rti, query->rtable);

		if (rte->rtekind == RTE_RELATION && ps_relid_is_ps(rte->relid))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("ps table \"%s\" does not support row locks",
							get_rel_name(rte->relid)),
					 errdetail("SELECT ... FOR UPDATE/SHARE needs rows with a stable identity."),
					 errhint("Read without FOR UPDATE/SHARE; concurrent pushes to a key never lose each other's changes.")));
	}
}

static void
ps_post_parse_analyze(ParseState *pstate, Query *query, JumbleState *jstate)
{
	if (prev_post_parse_analyze_hook)
		prev_post_parse_analyze_hook(pstate, query, jstate);
	refuse_unsupported(query);
}

/*
 * Logical decoding never sees a ps table's changes (they are in ps WAL
 * records, not heap records), so a publication that carried one would
 * replicate its rows at the initial synchronisation and nothing after.
 * A ps table may not be published by name, as a partition of a published
 * table, or through its schema; publications FOR ALL TABLES, which take
 * every table, get a warning.  Checked both ways: when a publication
 * changes, and when a ps table is created, converted, attached or moved.
 */
static void
refuse_published_ps(Oid relid, const char *pubname)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("publication \"%s\" would include ps table \"%s\"",
					pubname, get_rel_name(relid)),
			 errdetail("Logical decoding does not see changes of ps tables."),
			 errhint("Publish a list of tables without ps tables, and replicate ps tables with physical streaming replication.")));
}

static void
warn_all_tables(Oid relid, const char *pubname)
{
	ereport(WARNING,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("publication \"%s\" is FOR ALL TABLES and so includes ps table \"%s\"",
					pubname, get_rel_name(relid)),
			 errdetail("Logical decoding does not see changes of ps tables: subscribers will not receive them."),
			 errhint("Replicate ps tables with physical streaming replication.")));
}

static void
check_publication(const char *pubname)
{
	Publication *pub = GetPublicationByName(pubname, true);
	List	   *relids;
	ListCell   *lc;

	if (pub == NULL)
		return;
	CommandCounterIncrement();
	relids = list_concat(GetPublicationRelations(pub->oid, PUBLICATION_PART_ALL),
						 GetAllSchemaPublicationRelations(pub->oid, PUBLICATION_PART_ALL));
	foreach(lc, relids)
		if (ps_relid_is_ps(lfirst_oid(lc)))
			refuse_published_ps(lfirst_oid(lc), pubname);
	if (pub->alltables)
		foreach(lc, GetAllTablesPublicationRelations(false))
			if (ps_relid_is_ps(lfirst_oid(lc)))
			{
				warn_all_tables(lfirst_oid(lc), pubname);
				break;
			}
}

/* The publications that name relid, one of its ancestors, or their schemas. */
static List *
publications_covering(Oid relid)
{
	List	   *rels = list_make1_oid(relid);
	List	   *pubs = NIL;
	ListCell   *lc;

	if (get_rel_relispartition(relid))
		rels = list_concat(rels, get_partition_ancestors(relid));
	foreach(lc, rels)
	{
		Oid			r = lfirst_oid(lc);

		pubs = list_concat(pubs, GetRelationPublications(r));
		pubs = list_concat(pubs, GetSchemaPublications(get_rel_namespace(r)));
	}
	return pubs;
}

/* A ps table was created, converted, attached or moved: is it published? */
static void
check_table_publications(Oid relid, bool created)
{
	List	   *pubs;

	if (!OidIsValid(relid) || !ps_relid_is_ps(relid))
		return;
	CommandCounterIncrement();
	pubs = publications_covering(relid);
	if (pubs != NIL)
		refuse_published_ps(relid, get_publication_name(linitial_oid(pubs), false));
	if (created && (pubs = GetAllTablesPublications()) != NIL)
		warn_all_tables(relid, get_publication_name(linitial_oid(pubs), false));
}

static void
ps_process_utility(PlannedStmt *pstmt, const char *queryString,
				   bool readOnlyTree, ProcessUtilityContext context,
				   ParamListInfo params, QueryEnvironment *queryEnv,
				   DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *parsetree = pstmt->utilityStmt;

	if (prev_ProcessUtility_hook)
		prev_ProcessUtility_hook(pstmt, queryString, readOnlyTree, context,
								 params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);

	switch (nodeTag(parsetree))
	{
		case T_CreatePublicationStmt:
			check_publication(((CreatePublicationStmt *) parsetree)->pubname);
			break;
		case T_AlterPublicationStmt:
			check_publication(((AlterPublicationStmt *) parsetree)->pubname);
			break;
		case T_CreateStmt:
			check_table_publications(RangeVarGetRelid(((CreateStmt *) parsetree)->relation,
													  NoLock, true), true);
			break;
		case T_CreateTableAsStmt:
			check_table_publications(RangeVarGetRelid(((CreateTableAsStmt *) parsetree)->into->rel,
													  NoLock, true), true);
			break;
		case T_AlterObjectSchemaStmt:
			{
				AlterObjectSchemaStmt *stmt = (AlterObjectSchemaStmt *) parsetree;

				/* the table is now in the new schema */
				if (stmt->objectType == OBJECT_TABLE)
					check_table_publications(get_relname_relid(stmt->relation->relname,
															   get_namespace_oid(stmt->newschema, true)),
											 false);
				break;
			}
		case T_AlterTableStmt:
			{
				AlterTableStmt *stmt = (AlterTableStmt *) parsetree;
				ListCell   *lc;

				foreach(lc, stmt->cmds)
				{
					AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);

					if (cmd->subtype == AT_SetAccessMethod)
						check_table_publications(RangeVarGetRelid(stmt->relation, NoLock, true),
												 false);
					else if (cmd->subtype == AT_AttachPartition)
						check_table_publications(RangeVarGetRelid(((PartitionCmd *) cmd->def)->name,
																  NoLock, true), false);
				}
				break;
			}
		default:
			break;
	}
}

/* ps.scheduler; "on" (and its synonyms) is auto, the default */
static const struct config_enum_entry scheduler_modes[] = {
	{"auto", PS_SCHEDULER_AUTO, false},
	{"always", PS_SCHEDULER_ALWAYS, false},
	{"off", PS_SCHEDULER_OFF, false},
	{"on", PS_SCHEDULER_AUTO, true},
	{"true", PS_SCHEDULER_AUTO, true},
	{"yes", PS_SCHEDULER_AUTO, true},
	{"1", PS_SCHEDULER_AUTO, true},
	{"false", PS_SCHEDULER_OFF, true},
	{"no", PS_SCHEDULER_OFF, true},
	{"0", PS_SCHEDULER_OFF, true},
	{NULL, 0, false}
};

void
_PG_init(void)
{
	ps_table_set_am(ps_tableam_routine());	/* what a ps table is, for all */
	if (!process_shared_preload_libraries_in_progress)
		return;					/* entry points will say what to do */

	DefineCustomIntVariable("ps.max_request_keys",
							"Largest number of keys one push or pull may carry.",
							"Bounds the memory one request may use (about 60 bytes per key).",
							&ps_max_request_keys,
							10000000, 1, 50000000,
							PGC_SUSET, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("ps.max_tables",
							"Largest number of ps tables with shared state at once.",
							"Each table in use keeps a small entry in shared memory.",
							&ps_max_tables,
							1024, 16, 1000000,
							PGC_POSTMASTER, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("ps.max_workers",
							"Largest number of workers one ps table may have at once.",
							"Workers that left or were dropped keep their slot until a new worker needs it.",
							&ps_max_workers,
							64, 1, 10000,
							PGC_POSTMASTER, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("ps.max_training_tables_per_role",
							"Largest number of ps tables one role may have joined workers on at once.",
							"Keeps one role from taking the shared state other roles' training needs; superusers are exempt.",
							&ps_max_training_tables_per_role,
							64, 1, 1000000,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("ps.worker_timeout",
							"Drops a worker silent for longer than this.",
							"A dropped worker no longer holds back other workers' pulls; 0 never drops.",
							&ps_worker_timeout,
							60, 0, INT_MAX / 1000,
							PGC_SIGHUP, GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("ps.wait_timeout",
							"Longest a pull waits for other workers' clocks.",
							"A pull that waits longer fails; 0 waits as long as it takes.",
							&ps_wait_timeout,
							60000, 0, INT_MAX,
							PGC_USERSET, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomEnumVariable("ps.scheduler",
							 "Which pushes go to the scheduler, which aggregates the pushes of a table and clock.",
							 "auto: those that can be aggregated in its queue (another push of their table and clock waits there, or the gather window holds them); always: every push it can take; off: none, each push is applied by its own backend.",
							 &ps_scheduler_mode,
							 PS_SCHEDULER_AUTO,
							 scheduler_modes,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);

	/* one applier per CPU core, at most 4 by default */
	{
		long		ncpu = sysconf(_SC_NPROCESSORS_ONLN);

		ps_scheduler_workers = (int) Max(1, Min(ncpu, 4));
	}
	DefineCustomIntVariable("ps.scheduler_workers",
							"Appliers in the scheduler's pool (background workers).",
							"Aggregates of different tables and clocks are applied in parallel, one per applier. Default: one per CPU core, at most 4. Each takes a slot of max_worker_processes.",
							&ps_scheduler_workers,
							ps_scheduler_workers, 1, PS_MAX_APPLIERS,
							PGC_POSTMASTER, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("ps.gather_window",
							"Longest time the scheduler holds back a workers' push for the other workers' pushes of its clock.",
							"Under sequential and bounded-delay consistency only, and only while a live worker of the table has not reached that clock. Default 0: no push is held back. A window saves WAL and writes when workers share keys, and costs throughput where the appliers have no cores of their own.",
							&ps_gather_window,
							0, 0, 10000,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("ps.key_cache_size",
							"Memory each session may hold for key lists that clients of the wire format cache.",
							"A list sent with the cache flag is kept, least recently used first out; later messages name it by its hash. 0 keeps none.",
							&ps_key_cache_size,
							16384, 0, 1024 * 1024,
							PGC_SUSET, GUC_UNIT_KB,
							NULL, NULL, NULL);

	DefineCustomIntVariable("ps.queue_size",
							"Shared memory for pushes waiting for the scheduler.",
							"A push larger than a quarter of it is applied by its backend.",
							&ps_queue_size,
							64, 1, 4096,
							PGC_POSTMASTER, GUC_UNIT_MB,
							NULL, NULL, NULL);

	DefineCustomIntVariable("ps.replication_buffer",
							"Shared memory for aggregates waiting to be replicated.",
							"Pushes wait when it is full, until the replicator has written what it holds; 0 turns replication off on this server.",
							&ps_replication_buffer,
							16, 0, 4096,
							PGC_POSTMASTER, GUC_UNIT_MB,
							NULL, NULL, NULL);

	DefineCustomIntVariable("ps.heartbeat_interval",
							"Time between a cluster node's heartbeats to each other node.",
							"The monitor of each node asks every other active node for its ring this often; 0 turns the failure detector off on this server.",
							&ps_heartbeat_interval,
							500, 0, 60000,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("ps.failure_timeout",
							"Time without an answer after which a cluster node is declared dead.",
							"A node whose connection is lost and refuses a new one is declared dead at once; one that accepts connections but does not answer, after this long. Its ranges then go to their replicas.",
							&ps_failure_timeout,
							1000, 100, 600000,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("ps.switch_timeout",
							"Longest time the switch of a join or leave holds pushes to the ranges that move.",
							"Set on the node that runs ps_cluster_add() or ps_cluster_remove(). The servers giving ranges away hold their pushes while the nodes taking them apply what is still on its way; if that takes longer, the switch is undone, pushes go on, and it is tried again.",
							&ps_switch_timeout,
							1000, 10, 600000,
							PGC_SUSET, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("ps.time_mark_interval",
							"Longest time a timestamped commit record may precede ps changes in WAL.",
							"Recovery to a time, and standbys with recovery_min_apply_delay, see pushes only through such records. 0: one ahead of every scheduler round, and at most 1 ms before a backend's own writes; -1: none.",
							&ps_time_mark_interval,
							0, -1, 3600 * 1000,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("ps.max_clock_ranges",
							"Room for range vector clock segments per ps table.",
							"Beyond it, neighbouring ranges of a worker merge, keeping the smaller clock.",
							&ps_max_clock_ranges,
							256, 16, 10000,
							PGC_POSTMASTER, 0,
							NULL, NULL, NULL);

	DefineCustomBoolVariable("ps.replay_wal_0_2",
							 "Also replays ps WAL written by library versions up to 0.2.",
							 "Those versions used resource manager id 128, which is for development: turn on only if such WAL is still to be replayed (a standby or a crash recovery after an upgrade from 0.2).",
							 &ps_replay_wal_0_2,
							 false,
							 PGC_POSTMASTER, 0,
							 NULL, NULL, NULL);

	MarkGUCPrefixReserved("ps");

	ps_xlog_register();
	ps_state_init();
	ps_queue_init();
	ps_repl_init();
	ps_monitor_init();
	ps_sched_init();

	prev_object_access_hook = object_access_hook;
	object_access_hook = ps_object_access;
	prev_get_relation_info_hook = get_relation_info_hook;
	get_relation_info_hook = ps_get_relation_info;
	prev_ProcessUtility_hook = ProcessUtility_hook;
	ProcessUtility_hook = ps_process_utility;
	prev_post_parse_analyze_hook = post_parse_analyze_hook;
	post_parse_analyze_hook = ps_post_parse_analyze;

	/* one BLAS thread per process: backends are the parallelism */
	openblas_set_num_threads(1);

	ps_preloaded = true;
}
