/*-------------------------------------------------------------------------
 *
 * ps_sql_train.c
 *	  Training: workers join (ps_join), leave (ps_leave) and are listed
 *	  (ps_workers); pushes are waited for (ps_wait); a table's update rule
 *	  and consistency model are set (ps_configure, and the trigger on
 *	  ps_config for rows changed by SQL).
 *
 * Layer 9 (SQL entry points): called by PostgreSQL only; calls any lower
 * layer, never ps.c nor another SQL file but ps_sql.c.  A configuration
 * change reaches waiting pulls from here (ps_state_consistency_at_commit):
 * the configuration layer below knows nothing of workers.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "access/relation.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "tcop/utility.h"
#include "catalog/pg_class.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/syscache.h"
#include "utils/tuplestore.h"

#include "ps_base.h"
#include "ps_state.h"
#include "ps_table.h"
#include "ps_config.h"
#include "ps_workers.h"
#include "ps_queue.h"
#include "ps_filter.h"
#include "ps_sql.h"

PG_FUNCTION_INFO_V1(ps_wait);

PG_FUNCTION_INFO_V1(ps_join);

PG_FUNCTION_INFO_V1(ps_leave);

PG_FUNCTION_INFO_V1(ps_workers);
PG_FUNCTION_INFO_V1(ps_configure);
PG_FUNCTION_INFO_V1(ps_config_changed);

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
	Relation	rel = ps_open_table(fcinfo, ACL_SELECT | ACL_UPDATE, AccessShareLock);
	int64		ts;
	uint64		last;

	ps_arg_not_null(fcinfo, 1, "the timestamp");
	ts = PG_GETARG_INT64(1);
	last = ps_table_last_ts(rel);
	if (ts < 0 || (uint64) ts > last)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("timestamp " INT64_FORMAT " was not issued for ps table \"%s\"",
						ts, RelationGetRelationName(rel)),
				 errdetail("The last timestamp issued is " UINT64_FORMAT ".", last),
				 errhint("Pass a timestamp returned by ps_push on this table.")));
	ps_queue_wait_ts(rel, (uint64) ts);
	relation_close(rel, NoLock);
	PG_RETURN_VOID();
}

/*
 * ps_join(tbl regclass [, clock bigint]) returns integer: a new worker
 * id.  Joining means taking part in training: it needs UPDATE, like
 * pushing.  With a clock, the worker starts at it rather than at the
 * slowest live worker's: a worker of a cluster joining one more server
 * (the client library does), so that it may go on with the clocks it is
 * at.  That gives the caller no more than joining and calling slowly
 * would: to hold the others back.
 */
Datum
ps_join(PG_FUNCTION_ARGS)
{
	Relation	rel = ps_open_table(fcinfo, ACL_UPDATE, AccessShareLock);
	int64		at = -1;
	int32		id;

	ps_check_writable(fcinfo, rel);
	if (PG_NARGS() > 1)
	{
		ps_arg_not_null(fcinfo, 1, "the clock");
		at = PG_GETARG_INT64(1);
		if (at < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("clock " INT64_FORMAT " is negative", at),
					 errhint("Clocks count iterations from 0.")));
	}
	id = ps_workers_join(rel, at);
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
	Relation	rel = ps_open_table(fcinfo, ACL_UPDATE, AccessShareLock);

	ps_arg_not_null(fcinfo, 1, "the worker");
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
	Relation	rel = ps_open_table(fcinfo, ACL_SELECT, AccessShareLock);

	InitMaterializedSRF(fcinfo, 0);
	if (!RecoveryInProgress())
		ps_workers_list(rel, rsinfo->setResult, rsinfo->setDesc);
	relation_close(rel, NoLock);
	return (Datum) 0;
}

/* ps_configure's arguments, by number */
static const char *const arg_names[] = {
	"tbl", "update_rule", "consistency", "max_delay", "learning_rate", "l1",
	"l2", "beta", "kkt_filter", "significance"
};

static float4
finite_arg(FunctionCallInfo fcinfo, int argno, float4 current)
{
	float4		v;

	if (PG_ARGISNULL(argno))
		return current;
	v = PG_GETARG_FLOAT4(argno);
	if (!isfinite(v) || v < 0)
		ps_config_invalid(psprintf("%s is negative or not finite", arg_names[argno]), NULL,
				   "Pass finite values >= 0 (the learning rate > 0).");
	return v;
}

/*
 * Open the table to configure: its owner only.  Existence and ownership
 * are checked in the catalogs before any lock is taken, so a role cannot
 * queue locks on tables it does not own (nor learn their names).
 */
static Relation
open_for_configure(Oid relid)
{
	Relation	rel;

	if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	if (!pg_class_ownercheck(relid, GetUserId()))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be owner of %s", ps_visible_relname(relid)),
				 errhint("Only the owner of a ps table may configure it.")));
	rel = try_relation_open(relid, ShareUpdateExclusiveLock);
	if (rel == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	if (!ps_is_ps_relation(rel))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a ps table", RelationGetRelationName(rel)),
				 errhint("Only ps tables have a ps configuration.")));
	if (rel->rd_rel->relkind == RELKIND_MATVIEW)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("cannot configure materialized view \"%s\"",
						RelationGetRelationName(rel)),
				 errdetail("A materialized view is written only by REFRESH MATERIALIZED VIEW, never through an update rule."),
				 errhint("Configure a ps table instead.")));
	if (rel->rd_rel->relpersistence == RELPERSISTENCE_TEMP)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("temporary ps tables cannot be configured"),
				 errhint("Temporary tables use the sum rule and eventual consistency.")));
	return rel;
}

/*
 * ps_configure(tbl, update_rule, consistency, max_delay, learning_rate, l1,
 *				l2, beta, kkt_filter, significance) returns ps_config
 *
 * Sets the given parts of a table's configuration (NULL: keep) and returns
 * the whole configuration.  Needs ownership of the table.  Waiting pulls
 * see a new consistency model when the change commits.
 */
Datum
ps_configure(PG_FUNCTION_ARGS)
{
	Oid			relid;
	Relation	rel;
	PsConfigEdit edit;
	PsConfig	cfg;
	PsConfig	old;
	Datum		values[PS_CONFIG_NATTS];
	bool		nulls[PS_CONFIG_NATTS];
	TupleDesc	resultdesc;

	ps_check_preloaded();
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the table of ps_configure must not be NULL"),
				 errhint("Pass ps_configure a value for the table; NULL is not read as a default.")));
	relid = PG_GETARG_OID(0);
	rel = open_for_configure(relid);
	ps_config_begin_edit(relid, &edit);
	old = cfg = edit.cfg;

	if (!PG_ARGISNULL(1) &&
		!ps_rule_parse(text_to_cstring(PG_GETARG_TEXT_PP(1)), &cfg.rule.kind))
		ps_config_invalid("unknown update rule", "The rules are sum, sgd, adagrad and ftrl.",
						  "Pass one of them as update_rule.");
	if (!PG_ARGISNULL(2) &&
		!ps_consistency_parse(text_to_cstring(PG_GETARG_TEXT_PP(2)), &cfg.consistency))
		ps_config_invalid("unknown consistency model",
						  "The models are eventual, sequential and bounded.",
						  "Pass one of them as consistency.");
	if (!PG_ARGISNULL(3))
	{
		cfg.max_delay = PG_GETARG_INT32(3);
		if (cfg.max_delay < 0)
			ps_config_invalid("max_delay is negative", NULL, "Pass a number of clocks >= 0.");
	}
	else if (cfg.consistency != PS_BOUNDED)
		cfg.max_delay = 0;		/* a bound kept from bounded consistency */
	cfg.rule.lr = finite_arg(fcinfo, 4, cfg.rule.lr);
	cfg.rule.l1 = finite_arg(fcinfo, 5, cfg.rule.l1);
	cfg.rule.l2 = finite_arg(fcinfo, 6, cfg.rule.l2);
	cfg.rule.beta = finite_arg(fcinfo, 7, cfg.rule.beta);
	if (!PG_ARGISNULL(8))
		cfg.kkt_filter = PG_GETARG_BOOL(8);
	cfg.significance = finite_arg(fcinfo, 9, cfg.significance);

	ps_config_validate(rel, &cfg, &old);
	ps_config_store(rel, &edit, &cfg, values, nulls);
	ps_state_consistency_at_commit(relid, cfg.consistency, cfg.max_delay,
								   old.consistency, old.max_delay);
	relation_close(rel, NoLock);

	if (get_call_result_type(fcinfo, NULL, &resultdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(resultdesc),
													  values, nulls)));
}

/*
 * ps_config_changed() returns trigger: AFTER INSERT, UPDATE or DELETE of a
 * row of ps_config by SQL (a superuser's direct change, pg_restore's COPY;
 * ps_configure writes in C and fires no trigger, doing the same itself):
 * backends drop their cached configuration of the table, and waiting
 * pulls see the new consistency model, when the change commits.
 */
Datum
ps_config_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	PsConfig	oldcfg;
	PsConfig	newcfg;
	Oid			oldrel = InvalidOid;
	Oid			newrel = InvalidOid;
	Relation	crel;

	if (!CALLED_AS_TRIGGER(fcinfo) ||
		!TRIGGER_FIRED_AFTER(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("ps_config_changed must be an AFTER ROW trigger of ps_config")));
	crel = trigdata->tg_relation;
	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ||
		TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
		ps_config_from_row(crel, trigdata->tg_trigtuple, &oldcfg, &oldrel);
	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
		ps_config_from_row(crel, trigdata->tg_newtuple, &newcfg, &newrel);
	else if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		ps_config_from_row(crel, trigdata->tg_trigtuple, &newcfg, &newrel);

	if (OidIsValid(oldrel) && oldrel != newrel &&
		SearchSysCacheExists1(RELOID, ObjectIdGetDatum(oldrel)))
	{
		CacheInvalidateRelcacheByRelid(oldrel);
		ps_state_consistency_at_commit(oldrel, PS_EVENTUAL, 0,
									   oldcfg.consistency, oldcfg.max_delay);
	}
	if (OidIsValid(newrel) &&
		SearchSysCacheExists1(RELOID, ObjectIdGetDatum(newrel)))
	{
		CacheInvalidateRelcacheByRelid(newrel);
		ps_state_consistency_at_commit(newrel, newcfg.consistency, newcfg.max_delay,
									   oldrel == newrel ? oldcfg.consistency : PS_EVENTUAL,
									   oldrel == newrel ? oldcfg.max_delay : 0);
	}
	return PointerGetDatum(NULL);
}

