/*-------------------------------------------------------------------------
 *
 * ps_config.c
 *	  Per-table configuration: the ps_config table, ps_configure(), and the
 *	  backend's cached copy of each table's configuration.
 *
 * The configuration of a ps table (update rule, consistency model, their
 * parameters) is a row of the extension's table ps_config, so it is plain
 * SQL to read, is dumped by pg_dump and replicated with the database.  A
 * table without a row has the defaults: the sum rule, eventual consistency.
 * Only ps_configure() writes rows, after checking that the caller owns the
 * table and that the values make sense for it; an sql_drop event trigger
 * (in the extension script) deletes the rows of dropped tables.
 *
 * Backends cache each table's configuration, dropped when ps_configure()
 * invalidates the table's relcache entry.  The consistency model and
 * max_delay are also copied into shared memory (ps_workers.c), where
 * waiting pulls see a change as soon as it commits.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "ps.h"
#include "ps_config.h"
#include "ps_dir.h"
#include "ps_page.h"
#include "ps_table.h"
#include "ps_workers.h"

PG_FUNCTION_INFO_V1(ps_configure);

typedef struct ConfigEntry
{
	Oid			relid;			/* hash key */
	bool		valid;
	PsConfig	config;
} ConfigEntry;

static HTAB *config_hash = NULL;

static const PsConfig default_config = {
	.rule = {.kind = PS_RULE_SUM, .lr = 0.1f, .l1 = 0.0f, .l2 = 0.0f, .beta = 1.0f},
	.consistency = PS_EVENTUAL,
	.max_delay = 0,
	.kkt_filter = false,
	.significance = 0.0f
};

static const char *const consistency_names[] = {"eventual", "sequential", "bounded"};

const char *
ps_consistency_name(PsConsistency c)
{
	return consistency_names[c];
}

static bool
consistency_parse(const char *name, PsConsistency *c)
{
	int			i;

	for (i = 0; i < (int) lengthof(consistency_names); i++)
		if (strcmp(name, consistency_names[i]) == 0)
		{
			*c = (PsConsistency) i;
			return true;
		}
	return false;
}

static void
config_inval_callback(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	ConfigEntry *e;

	hash_seq_init(&status, config_hash);
	while ((e = hash_seq_search(&status)) != NULL)
		if (!OidIsValid(relid) || e->relid == relid)
			e->valid = false;
}

/*
 * The extension's schema: that of the access method handler of a ps table,
 * which the extension created with ps_config.
 */
static Oid
extension_schema(Relation rel)
{
	return get_func_namespace(rel->rd_amhandler);
}

/*
 * The OID of ps_config.  An extension still at version 0.1 (from before
 * the library knew configurations) has none: say how to update it.
 */
static Oid
config_table_oid(Relation rel)
{
	Oid			relid = get_relname_relid("ps_config", extension_schema(rel));

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the ps extension of this database is older than the ps library"),
				 errdetail("The library is version %s; the extension has no table ps_config.",
						   PS_VERSION_STR),
				 errhint("Run ALTER EXTENSION ps UPDATE.")));
	return relid;
}

/* The schema-qualified name of ps_config, for SPI. */
static char *
config_table_name(Relation rel)
{
	(void) config_table_oid(rel);
	return quote_qualified_identifier(get_namespace_name(extension_schema(rel)),
									  "ps_config");
}

/* The owner of ps_config (the extension's owner). */
static Oid
config_table_owner(Relation rel)
{
	Relation	crel = table_open(config_table_oid(rel), AccessShareLock);
	Oid			owner = crel->rd_rel->relowner;

	table_close(crel, AccessShareLock);
	return owner;
}

/*
 * Read a table's configuration row into *cfg; false if it has none.
 * Runs a query: caller must be able to use SPI.
 */
static bool
config_read(Relation rel, PsConfig *cfg)
{
	Oid			relid = RelationGetRelid(rel);
	char	   *sql;
	Oid			argtypes[1] = {OIDOID};
	Datum		args[1] = {ObjectIdGetDatum(relid)};
	bool		found = false;

	sql = psprintf("SELECT update_rule, consistency, max_delay, learning_rate, l1, l2, beta, "
				   "kkt_filter, significance FROM %s WHERE tbl = $1", config_table_name(rel));
	SPI_connect();
	if (SPI_execute_with_args(sql, 1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "ps: could not read ps_config");
	if (SPI_processed == 1)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;

		if (!ps_rule_parse(TextDatumGetCString(SPI_getbinval(tup, desc, 1, &isnull)),
						   &cfg->rule.kind) ||
			!consistency_parse(TextDatumGetCString(SPI_getbinval(tup, desc, 2, &isnull)),
							   &cfg->consistency))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("ps_config holds an unknown rule or consistency for table %u", relid)));
		cfg->max_delay = DatumGetInt32(SPI_getbinval(tup, desc, 3, &isnull));
		cfg->rule.lr = DatumGetFloat4(SPI_getbinval(tup, desc, 4, &isnull));
		cfg->rule.l1 = DatumGetFloat4(SPI_getbinval(tup, desc, 5, &isnull));
		cfg->rule.l2 = DatumGetFloat4(SPI_getbinval(tup, desc, 6, &isnull));
		cfg->rule.beta = DatumGetFloat4(SPI_getbinval(tup, desc, 7, &isnull));
		cfg->kkt_filter = DatumGetBool(SPI_getbinval(tup, desc, 8, &isnull));
		cfg->significance = DatumGetFloat4(SPI_getbinval(tup, desc, 9, &isnull));
		found = true;
	}
	SPI_finish();
	return found;
}

/*
 * The configuration of a table, from the backend's cache.
 */
const PsConfig *
ps_config_get(Relation rel)
{
	Oid			relid = RelationGetRelid(rel);
	ConfigEntry *e;
	bool		found;

	if (config_hash == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(ConfigEntry);
		ctl.hcxt = CacheMemoryContext;
		config_hash = hash_create("ps configurations", 64, &ctl,
								  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		CacheRegisterRelcacheCallback(config_inval_callback, (Datum) 0);
	}
	e = hash_search(config_hash, &relid, HASH_ENTER, &found);
	if (!found)
		e->valid = false;
	if (!e->valid)
	{
		PsConfig	cfg = default_config;

		/* temporary tables cannot be configured; nothing to read */
		if (rel->rd_rel->relpersistence != RELPERSISTENCE_TEMP)
			config_read(rel, &cfg);
		/* the lookup may have processed invalidations: find the entry again */
		e = hash_search(config_hash, &relid, HASH_ENTER, &found);
		e->config = cfg;
		e->valid = true;
	}
	return &e->config;
}

/*
 * Floats stored per key for a table of this dim under this configuration;
 * errors if too many.
 */
int
ps_config_width(Relation rel, const PsConfig *cfg, int dim)
{
	int			width = dim * (1 + ps_rule_nstate(cfg->rule.kind));

	if (width > PS_MAX_WIDTH)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("dim %d is too large for the %s rule of ps table \"%s\"",
						dim, ps_rule_name(cfg->rule.kind), ps_relname(rel)),
				 errdetail("The rule keeps %d state floats per value; a key may hold at most %d floats.",
						   ps_rule_nstate(cfg->rule.kind), PS_MAX_WIDTH),
				 errhint("Use a smaller dim or a rule without state (sum, sgd).")));
	return width;
}

static void
bad_config(const char *what, const char *detail, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid ps configuration: %s", what),
			 detail ? errdetail("%s", detail) : 0,
			 errhint("%s", hint)));
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
		bad_config(psprintf("%s is negative or not finite", arg_names[argno]), NULL,
				   "Pass finite values >= 0 (the learning rate > 0).");
	return v;
}

/*
 * ps_configure(tbl, update_rule, consistency, max_delay, learning_rate, l1,
 *				l2, beta, kkt_filter, significance) returns ps_config
 *
 * Sets the given parts of a table's configuration (NULL: keep) and returns
 * the whole configuration.  Needs ownership of the table.
 */
Datum
ps_configure(PG_FUNCTION_ARGS)
{
	Oid			relid;
	Relation	rel;
	PsConfig	cfg = default_config;
	PsConfig	old;
	PsDir	   *dir;
	char	   *sql;
	Oid			argtypes[10] = {OIDOID, TEXTOID, TEXTOID, INT4OID, FLOAT4OID,
	FLOAT4OID, FLOAT4OID, FLOAT4OID, BOOLOID, FLOAT4OID};
	Datum		args[10];
	Oid			save_userid;
	int			save_sec;
	Datum		result;

	ps_check_preloaded();
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the table of ps_configure must not be NULL")));
	relid = PG_GETARG_OID(0);
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
	if (!pg_class_ownercheck(relid, GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER, OBJECT_TABLE, RelationGetRelationName(rel));
	if (rel->rd_rel->relpersistence == RELPERSISTENCE_TEMP)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("temporary ps tables cannot be configured"),
				 errhint("Temporary tables use the sum rule and eventual consistency.")));

	config_read(rel, &cfg);
	old = cfg;

	if (!PG_ARGISNULL(1) &&
		!ps_rule_parse(text_to_cstring(PG_GETARG_TEXT_PP(1)), &cfg.rule.kind))
		bad_config("unknown update rule", "The rules are sum, sgd, adagrad and ftrl.",
				   "Pass one of them as update_rule.");
	if (!PG_ARGISNULL(2) &&
		!consistency_parse(text_to_cstring(PG_GETARG_TEXT_PP(2)), &cfg.consistency))
		bad_config("unknown consistency model",
				   "The models are eventual, sequential and bounded.",
				   "Pass one of them as consistency.");
	if (!PG_ARGISNULL(3))
	{
		cfg.max_delay = PG_GETARG_INT32(3);
		if (cfg.max_delay < 0)
			bad_config("max_delay is negative", NULL, "Pass a number of clocks >= 0.");
	}
	cfg.rule.lr = finite_arg(fcinfo, 4, cfg.rule.lr);
	cfg.rule.l1 = finite_arg(fcinfo, 5, cfg.rule.l1);
	cfg.rule.l2 = finite_arg(fcinfo, 6, cfg.rule.l2);
	cfg.rule.beta = finite_arg(fcinfo, 7, cfg.rule.beta);
	if (!PG_ARGISNULL(8))
		cfg.kkt_filter = PG_GETARG_BOOL(8);
	cfg.significance = finite_arg(fcinfo, 9, cfg.significance);

	/* values that cannot apply to this table */
	if (cfg.rule.lr <= 0)
		bad_config("learning_rate must be positive", NULL, "Pass a learning rate > 0.");
	if (cfg.rule.l1 > 0 && cfg.rule.kind != PS_RULE_FTRL)
		bad_config("l1 needs the ftrl rule",
				   "Only FTRL-proximal applies an L1 penalty (and yields exact zeros).",
				   "Configure update_rule => 'ftrl', or leave l1 at 0.");
	if (cfg.kkt_filter && (cfg.rule.kind != PS_RULE_FTRL || cfg.rule.l1 <= 0))
		bad_config("kkt_filter needs the ftrl rule with l1 > 0",
				   "The KKT filter drops pushes of keys that the L1 penalty keeps at zero.",
				   "Configure update_rule => 'ftrl' and l1 > 0 with it, or leave kkt_filter off.");
	if (cfg.consistency != PS_BOUNDED && !PG_ARGISNULL(3) && cfg.max_delay > 0)
		bad_config("max_delay needs bounded consistency",
				   "Sequential consistency is a max_delay of 0; eventual has no bound.",
				   "Configure consistency => 'bounded' together with max_delay.");
	if (cfg.consistency != PS_BOUNDED)
		cfg.max_delay = 0;

	dir = ps_dir_get(rel, false, 0, 0);
	if (dir->dim > 0)
	{
		int			width = dir->dim * (1 + ps_rule_nstate(cfg.rule.kind));

		if (width != dir->width)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("cannot change the update rule of ps table \"%s\" from %s to %s while it holds values",
							RelationGetRelationName(rel), ps_rule_name(old.rule.kind),
							ps_rule_name(cfg.rule.kind)),
					 errdetail("The two rules keep different state with each value (%d and %d floats per value).",
							   dir->width / dir->dim - 1, ps_rule_nstate(cfg.rule.kind)),
					 errhint("TRUNCATE the table first, or configure a new table.")));
	}
	else if (dir->declared_dim > 0 || ps_known_dim(rel, dir) > 0)
		ps_config_width(rel, &cfg, ps_known_dim(rel, dir));

	/* write the row as the owner of ps_config, which the caller may not be */
	args[0] = ObjectIdGetDatum(relid);
	args[1] = CStringGetTextDatum(ps_rule_name(cfg.rule.kind));
	args[2] = CStringGetTextDatum(ps_consistency_name(cfg.consistency));
	args[3] = Int32GetDatum(cfg.max_delay);
	args[4] = Float4GetDatum(cfg.rule.lr);
	args[5] = Float4GetDatum(cfg.rule.l1);
	args[6] = Float4GetDatum(cfg.rule.l2);
	args[7] = Float4GetDatum(cfg.rule.beta);
	args[8] = BoolGetDatum(cfg.kkt_filter);
	args[9] = Float4GetDatum(cfg.significance);
	sql = psprintf("INSERT INTO %s AS c VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
				   "ON CONFLICT (tbl) DO UPDATE SET update_rule = $2, consistency = $3, "
				   "max_delay = $4, learning_rate = $5, l1 = $6, l2 = $7, beta = $8, "
				   "kkt_filter = $9, significance = $10 "
				   "RETURNING c.*", config_table_name(rel));
	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(config_table_owner(rel), save_sec | SECURITY_LOCAL_USERID_CHANGE);
	SPI_connect();
	if (SPI_execute_with_args(sql, 10, argtypes, args, NULL, false, 1) != SPI_OK_INSERT_RETURNING ||
		SPI_processed != 1)
		elog(ERROR, "ps: could not write ps_config");
	result = PointerGetDatum(SPI_returntuple(SPI_tuptable->vals[0],
											 SPI_tuptable->tupdesc));
	SPI_finish();
	SetUserIdAndSecContext(save_userid, save_sec);

	/* every backend re-reads the configuration; waiting pulls see it now */
	CacheInvalidateRelcache(rel);
	ps_workers_set_consistency(rel, cfg.consistency, cfg.max_delay,
							   old.consistency, old.max_delay);
	relation_close(rel, NoLock);
	PG_RETURN_DATUM(result);
}
