/*-------------------------------------------------------------------------
 *
 * ps_config.c
 *	  Per-table configuration: the rows of the ps_config table, read,
 *	  checked and written in C, and the backend's cached copy of each
 *	  table's configuration.
 *
 * The configuration of a ps table (update rule, consistency model, their
 * parameters) is a row of the extension's table ps_config, so it is plain
 * SQL to read, is dumped by pg_dump and replicated with the database.  A
 * table without a row has the defaults: the sum rule, eventual consistency.
 * Only ps_configure() (ps_sql_train.c) writes rows, after checking that the
 * caller owns the table and, here, that the values make sense for it
 * (ps_config_validate, ps_config_store); the object access hook (ps.c)
 * deletes the row of a dropped table through ps_config_forget().
 *
 * No SQL is run here.  The rows are read and written in C through the
 * table's primary-key index, like a system catalog (CatalogTupleInsert and
 * friends), so nothing the caller's search_path finds (operators,
 * functions, tables named like ours) can take part: an earlier version ran
 * "... WHERE tbl = $1" through SPI as the caller, and an operator planted
 * for that "=" ran with a superuser's privileges.  The table itself is
 * found as a member of the extension (pg_depend), never by name in a
 * schema, so a table named ps_config that someone else created (possible
 * in an extension still at version 0.1, which has none) is never used.
 * Reads take a fresh snapshot each time (ps_config has no syscache), so
 * they see committed changes and the current transaction's own.
 *
 * Backends cache each table's configuration, dropped when ps_configure()
 * invalidates the table's relcache entry.  The consistency model and
 * max_delay are also copied into the shared state (ps_state.c), where
 * waiting pulls see a change as soon as it commits.
 *
 * Layer 5 (configuration), above the table shape: reads and writes
 * ps_config rows in C.  It must not run SQL, nor call the shared state,
 * the workers or the SQL entry points: the SQL layer (ps_sql_train.c)
 * tells waiting pulls of a change.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/indexing.h"
#include "catalog/pg_class.h"
#include "catalog/pg_depend.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "ps_base.h"
#include "ps_config.h"
#include "ps_dir.h"
#include "ps_page.h"
#include "ps_table.h"


/* the columns of ps_config, in order */
#define Anum_cfg_tbl			1
#define Anum_cfg_update_rule	2
#define Anum_cfg_consistency	3
#define Anum_cfg_max_delay		4
#define Anum_cfg_learning_rate	5
#define Anum_cfg_l1				6
#define Anum_cfg_l2				7
#define Anum_cfg_beta			8
#define Anum_cfg_kkt_filter		9
#define Anum_cfg_significance	10
#define Natts_cfg				PS_CONFIG_NATTS

static const Oid cfg_types[Natts_cfg] = {
	REGCLASSOID, TEXTOID, TEXTOID, INT4OID, FLOAT4OID, FLOAT4OID, FLOAT4OID,
	FLOAT4OID, BOOLOID, FLOAT4OID
};

typedef struct ConfigEntry
{
	Oid			relid;			/* hash key */
	bool		valid;
	PsConfig	config;
} ConfigEntry;

static HTAB *config_hash = NULL;

/* OID of this database's ps_config, once found (InvalidOid: look it up) */
static Oid	config_relid = InvalidOid;

static const PsConfig default_config = {
	.rule = {.kind = PS_RULE_SUM, .lr = 0.1f, .l1 = 0.0f, .l2 = 0.0f, .beta = 1.0f},
	.consistency = PS_EVENTUAL,
	.max_delay = 0,
	.kkt_filter = false,
	.significance = 0.0f
};

static const char *const consistency_names[] = {"eventual", "sequential", "bounded"};

static const char *
ps_consistency_name(PsConsistency c)
{
	return consistency_names[c];
}

bool
ps_consistency_parse(const char *name, PsConsistency *c)
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

	if (!OidIsValid(relid) || relid == config_relid)
		config_relid = InvalidOid;
	if (config_hash == NULL)
		return;
	hash_seq_init(&status, config_hash);
	while ((e = hash_seq_search(&status)) != NULL)
		if (!OidIsValid(relid) || e->relid == relid)
			e->valid = false;
}

static void
register_callback(void)
{
	static bool registered = false;

	if (!registered)
	{
		CacheRegisterRelcacheCallback(config_inval_callback, (Datum) 0);
		registered = true;
	}
}

/*
 * The OID of the table `name` among the members of extension ps in this
 * database (pg_depend), or InvalidOid if there is none (no extension, or
 * one too old to have it).  Never by name in a schema: a table of that
 * name that someone else created is never the extension's.
 */
Oid
ps_extension_table(const char *name)
{
	Oid			extoid;
	Relation	deprel;
	ScanKeyData key[2];
	SysScanDesc scan;
	HeapTuple	tup;
	Oid			result = InvalidOid;

	extoid = get_extension_oid("ps", true);
	if (!OidIsValid(extoid))
		return InvalidOid;

	deprel = table_open(DependRelationId, AccessShareLock);
	ScanKeyInit(&key[0], Anum_pg_depend_refclassid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(ExtensionRelationId));
	ScanKeyInit(&key[1], Anum_pg_depend_refobjid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(extoid));
	scan = systable_beginscan(deprel, DependReferenceIndexId, true, NULL, 2, key);
	while ((tup = systable_getnext(scan)) != NULL)
	{
		Form_pg_depend dep = (Form_pg_depend) GETSTRUCT(tup);
		char	   *relname;

		if (dep->deptype != DEPENDENCY_EXTENSION ||
			dep->classid != RelationRelationId || dep->objsubid != 0)
			continue;
		relname = get_rel_name(dep->objid);
		if (relname != NULL && strcmp(relname, name) == 0 &&
			get_rel_relkind(dep->objid) == RELKIND_RELATION)
		{
			result = dep->objid;
			break;
		}
	}
	systable_endscan(scan);
	table_close(deprel, AccessShareLock);
	return result;
}

/*
 * The OID of this database's ps_config (InvalidOid: none, as in an
 * extension still at version 0.1), cached until a relcache flush.
 */
static Oid
find_config_table(void)
{
	register_callback();
	if (!OidIsValid(config_relid))
		config_relid = ps_extension_table("ps_config");
	return config_relid;
}

/* Error for a database whose extension has no ps_config (version 0.1). */
static void
no_config_table(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("the ps extension of this database is older than the ps library"),
			 errdetail("The library is version %s; the extension has no table ps_config.",
					   PS_VERSION_STR),
			 errhint("Run ALTER EXTENSION ps UPDATE.")));
}

/*
 * Open ps_config and its primary-key index, checking that they have the
 * shape this library knows.  Returns NULL if the database has none and
 * missing_ok.
 */
static Relation
open_config_table(LOCKMODE lockmode, Oid *indexoid, bool missing_ok)
{
	Oid			relid = find_config_table();
	Relation	rel;
	TupleDesc	desc;
	int			i;

	if (!OidIsValid(relid) ||
		(rel = try_table_open(relid, lockmode)) == NULL)
	{
		if (missing_ok)
			return NULL;
		no_config_table();
	}
	desc = RelationGetDescr(rel);
	*indexoid = RelationGetPrimaryKeyIndex(rel);
	for (i = 0; i < Natts_cfg && desc->natts == Natts_cfg; i++)
		if (TupleDescAttr(desc, i)->atttypid != cfg_types[i] ||
			TupleDescAttr(desc, i)->attisdropped)
			break;
	/* half dropped (DROP EXTENSION drops its index first): as if gone */
	if (missing_ok && !OidIsValid(*indexoid))
	{
		table_close(rel, lockmode);
		return NULL;
	}
	if (desc->natts != Natts_cfg || i < Natts_cfg || !OidIsValid(*indexoid))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("table ps_config of extension ps does not have the shape ps %s expects",
						PS_VERSION_STR),
				 errhint("Run ALTER EXTENSION ps UPDATE, or restore ps_config as the extension created it.")));
	return rel;
}

/*
 * The row of table relid in ps_config (a copy), or NULL.  The index scan
 * compares OIDs with the btree's own procedure; a fresh snapshot sees
 * committed rows and this transaction's own.
 */
static HeapTuple
config_lookup(Relation crel, Oid indexoid, Oid relid)
{
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;

	ScanKeyInit(&key, Anum_cfg_tbl, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(relid));
	scan = systable_beginscan(crel, indexoid, true, NULL, 1, &key);
	tup = systable_getnext(scan);
	if (tup != NULL)
		tup = heap_copytuple(tup);
	systable_endscan(scan);
	return tup;
}

/* Fill *cfg from a row of ps_config. */
static void
config_from_tuple(Relation crel, HeapTuple tup, Oid relid, PsConfig *cfg)
{
	TupleDesc	desc = RelationGetDescr(crel);
	Datum		values[Natts_cfg];
	bool		nulls[Natts_cfg];
	int			i;

	heap_deform_tuple(tup, desc, values, nulls);
	for (i = 0; i < Natts_cfg; i++)
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("ps_config holds a NULL for table %u", relid)));
	if (!ps_rule_parse(TextDatumGetCString(values[Anum_cfg_update_rule - 1]),
					   &cfg->rule.kind) ||
		!ps_consistency_parse(TextDatumGetCString(values[Anum_cfg_consistency - 1]),
						   &cfg->consistency))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("ps_config holds an unknown rule or consistency for table %u", relid)));
	cfg->max_delay = DatumGetInt32(values[Anum_cfg_max_delay - 1]);
	cfg->rule.lr = DatumGetFloat4(values[Anum_cfg_learning_rate - 1]);
	cfg->rule.l1 = DatumGetFloat4(values[Anum_cfg_l1 - 1]);
	cfg->rule.l2 = DatumGetFloat4(values[Anum_cfg_l2 - 1]);
	cfg->rule.beta = DatumGetFloat4(values[Anum_cfg_beta - 1]);
	cfg->kkt_filter = DatumGetBool(values[Anum_cfg_kkt_filter - 1]);
	cfg->significance = DatumGetFloat4(values[Anum_cfg_significance - 1]);
}

/*
 * Read the configuration row of relid into *cfg; false if it has none.
 */
static bool
config_read(Oid relid, PsConfig *cfg)
{
	Oid			indexoid;
	Relation	crel = open_config_table(AccessShareLock, &indexoid, false);
	HeapTuple	tup = config_lookup(crel, indexoid, relid);

	if (tup != NULL)
		config_from_tuple(crel, tup, relid, cfg);
	table_close(crel, AccessShareLock);
	return tup != NULL;
}

/*
 * A configuration the update rules cannot run with.  ps_configure refuses
 * to write one; a row written by an older library may hold one.
 */
static const char *
config_unusable(const PsConfig *cfg)
{
	if (cfg->rule.kind == PS_RULE_FTRL && cfg->rule.beta <= 0 && cfg->rule.l2 <= 0)
		return "ftrl with beta = 0 and l2 = 0";
	return NULL;
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
		register_callback();
	}
	e = hash_search(config_hash, &relid, HASH_ENTER, &found);
	if (!found)
		e->valid = false;
	if (!e->valid)
	{
		PsConfig	cfg = default_config;

		/* temporary tables cannot be configured; nothing to read */
		if (rel->rd_rel->relpersistence != RELPERSISTENCE_TEMP)
			config_read(relid, &cfg);
		/* the lookup may have processed invalidations: find the entry again */
		e = hash_search(config_hash, &relid, HASH_ENTER, &found);
		e->config = cfg;
		e->valid = true;
	}
	return &e->config;
}

/*
 * The configuration of a table that is about to be written: as
 * ps_config_get, but a configuration the rules cannot run with (a row
 * written by an older library) is refused rather than applied.
 */
const PsConfig *
ps_config_get_for_write(Relation rel)
{
	const PsConfig *cfg = ps_config_get(rel);
	const char *bad = config_unusable(cfg);

	if (bad != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("ps table \"%s\" is configured with %s", ps_relname(rel), bad),
				 errdetail("With both 0 the first FTRL step of a key is infinite, and its weight is lost."),
				 errhint("Run ps_configure('%s', beta => 1).", ps_relname(rel))));
	return cfg;
}

/*
 * Forget the configuration row of a table that is being dropped (called by
 * the object access hook, in the dropping transaction, so that a rollback
 * keeps it).  Tables of any kind: a table configured as a ps table may
 * have been converted to heap since.
 */
void
ps_config_forget(Oid relid)
{
	Oid			indexoid;
	Relation	crel;
	HeapTuple	tup;

	char		relkind = get_rel_relkind(relid);

	/*
	 * Only tables and materialized views have rows (indexes and TOAST
	 * tables are dropped too, ps_config's own among them when the
	 * extension goes); temporary tables are never configured.
	 */
	if ((relkind != RELKIND_RELATION && relkind != RELKIND_MATVIEW) ||
		get_rel_persistence(relid) == RELPERSISTENCE_TEMP ||
		!OidIsValid(find_config_table()) || relid == config_relid)
		return;
	crel = open_config_table(RowExclusiveLock, &indexoid, true);
	if (crel == NULL)
		return;
	tup = config_lookup(crel, indexoid, relid);
	if (tup != NULL)
		CatalogTupleDelete(crel, &tup->t_self);
	table_close(crel, RowExclusiveLock);
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

/*
 * The storage of a table for a write of dim values per key under the
 * configuration cfg: created if the table has none, with room for the
 * update rule's state.  Errors if the storage was made for a rule that
 * keeps other state (a table restored by pg_restore before its
 * configuration, for instance).
 */
PsDir *
ps_config_storage(Relation rel, int dim, const PsConfig *cfg)
{
	int			width = ps_config_width(rel, cfg, dim);
	PsDir	   *dir = ps_dir_get(rel, true, dim, width);

	if (dir->dim != dim)
		ps_dim_mismatch(rel, dim, dir->dim);
	if (dir->width != width)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("ps table \"%s\" holds state for another update rule than its configured %s rule",
						ps_relname(rel), ps_rule_name(cfg->rule.kind)),
				 errdetail("The table stores %d floats per key; the %s rule needs %d.",
						   dir->width, ps_rule_name(cfg->rule.kind), width),
				 errhint("VACUUM FULL rebuilds the table for its configured rule (starting its state afresh).")));
	return dir;
}

/*
 * Raise the error for a configuration value that cannot be used.
 */
void
ps_config_invalid(const char *what, const char *detail, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid ps configuration: %s", what),
			 detail ? errdetail("%s", detail) : 0,
			 errhint("%s", hint)));
}

/*
 * Begin changing relid's configuration: its row is read under the lock
 * ps_config_store writes with, and written back at the same tuple, so a
 * change that another transaction commits in between fails ("tuple
 * concurrently updated") instead of being overwritten.  e->cfg holds the
 * configuration now (the defaults without a row).
 */
void
ps_config_begin_edit(Oid relid, PsConfigEdit *e)
{
	e->relid = relid;
	e->crel = open_config_table(RowExclusiveLock, &e->indexoid, false);
	e->oldtup = config_lookup(e->crel, e->indexoid, relid);
	e->cfg = default_config;
	if (e->oldtup != NULL)
		config_from_tuple(e->crel, e->oldtup, relid, &e->cfg);
}

/*
 * The table a row of ps_config names, and the configuration it holds (the
 * defaults where the table is NULL).  For the trigger on ps_config.
 */
void
ps_config_from_row(Relation crel, HeapTuple tup, PsConfig *cfg, Oid *relid)
{
	bool		isnull;

	*relid = DatumGetObjectId(heap_getattr(tup, Anum_cfg_tbl,
										   RelationGetDescr(crel), &isnull));
	*cfg = default_config;
	if (!isnull)
		config_from_tuple(crel, tup, *relid, cfg);
}

/*
 * Refuse a configuration cfg of rel that cannot apply to it (old: its
 * configuration now): parameters that mean nothing for the rule or the
 * consistency model, an FTRL that cannot run, a rule whose state does not
 * fit values the table already holds, or its dim.
 */
void
ps_config_validate(Relation rel, const PsConfig *cfg, const PsConfig *old)
{
	const char *bad;
	PsDir	   *dir;

	if (cfg->rule.lr <= 0)
		ps_config_invalid("learning_rate must be positive", NULL, "Pass a learning rate > 0.");
	if (cfg->rule.l1 > 0 && cfg->rule.kind != PS_RULE_FTRL)
		ps_config_invalid("l1 needs the ftrl rule",
						  "Only FTRL-proximal applies an L1 penalty (and yields exact zeros).",
						  "Configure update_rule => 'ftrl', or leave l1 at 0.");
	if ((bad = config_unusable(cfg)) != NULL)
		ps_config_invalid(bad,
						  "FTRL's step for a key is learning_rate / (beta + sqrt(n) + learning_rate * l2): with beta and l2 both 0 it is infinite at a key's first push, and an INSERTed weight cannot be kept.",
						  "Pass beta => 1 (the usual value), or an l2 > 0.");
	if (cfg->kkt_filter && (cfg->rule.kind != PS_RULE_FTRL || cfg->rule.l1 <= 0))
		ps_config_invalid("kkt_filter needs the ftrl rule with l1 > 0",
						  "The KKT filter drops pushes of keys that the L1 penalty keeps at zero.",
						  "Configure update_rule => 'ftrl' and l1 > 0 with it, or leave kkt_filter off.");
	if (cfg->consistency != PS_BOUNDED && cfg->max_delay > 0)
		ps_config_invalid("max_delay needs bounded consistency",
						  "Sequential consistency is a max_delay of 0; eventual has no bound.",
						  "Configure consistency => 'bounded' together with max_delay.");

	dir = ps_dir_get(rel, false, 0, 0);
	if (dir->dim > 0)
	{
		int			width = dir->dim * (1 + ps_rule_nstate(cfg->rule.kind));

		if (width != dir->width)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("cannot change the update rule of ps table \"%s\" from %s to %s while it holds values",
							RelationGetRelationName(rel), ps_rule_name(old->rule.kind),
							ps_rule_name(cfg->rule.kind)),
					 errdetail("The two rules keep different state with each value (%d and %d floats per value).",
							   dir->width / dir->dim - 1, ps_rule_nstate(cfg->rule.kind)),
					 errhint("TRUNCATE the table first, or configure a new table.")));
	}
	else if (dir->declared_dim > 0 || ps_known_dim(rel, dir) > 0)
		ps_config_width(rel, cfg, ps_known_dim(rel, dir));
}

/*
 * Store cfg (a valid one: ps_config_validate) as the configuration of the
 * table being edited (rel), in C, so no permission check applies (see
 * above).  values and nulls (of PS_CONFIG_NATTS) receive the row.  Every
 * backend re-reads the configuration once this commits; this transaction
 * at once.
 */
void
ps_config_store(Relation rel, PsConfigEdit *e, const PsConfig *cfg,
				Datum *values, bool *nulls)
{
	HeapTuple	newtup;

	Assert(RelationGetRelid(rel) == e->relid);
	memset(nulls, 0, sizeof(bool) * Natts_cfg);
	values[Anum_cfg_tbl - 1] = ObjectIdGetDatum(e->relid);
	values[Anum_cfg_update_rule - 1] = CStringGetTextDatum(ps_rule_name(cfg->rule.kind));
	values[Anum_cfg_consistency - 1] = CStringGetTextDatum(ps_consistency_name(cfg->consistency));
	values[Anum_cfg_max_delay - 1] = Int32GetDatum(cfg->max_delay);
	values[Anum_cfg_learning_rate - 1] = Float4GetDatum(cfg->rule.lr);
	values[Anum_cfg_l1 - 1] = Float4GetDatum(cfg->rule.l1);
	values[Anum_cfg_l2 - 1] = Float4GetDatum(cfg->rule.l2);
	values[Anum_cfg_beta - 1] = Float4GetDatum(cfg->rule.beta);
	values[Anum_cfg_kkt_filter - 1] = BoolGetDatum(cfg->kkt_filter);
	values[Anum_cfg_significance - 1] = Float4GetDatum(cfg->significance);
	newtup = heap_form_tuple(RelationGetDescr(e->crel), values, nulls);
	if (e->oldtup != NULL)
		CatalogTupleUpdate(e->crel, &e->oldtup->t_self, newtup);
	else
		CatalogTupleInsert(e->crel, newtup);
	table_close(e->crel, RowExclusiveLock);
	e->crel = NULL;

	CacheInvalidateRelcache(rel);
	CommandCounterIncrement();
}
