/*-------------------------------------------------------------------------
 *
 * ps_config.h
 *	  Per-table configuration: update rule, consistency model, and their
 *	  parameters.
 *
 * Layer 5 (configuration).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_CONFIG_H
#define PS_CONFIG_H

#include "access/htup.h"
#include "utils/relcache.h"

#include "ps_dir.h"
#include "ps_rule.h"

typedef enum PsConsistency
{
	PS_EVENTUAL,				/* pulls never wait */
	PS_SEQUENTIAL,				/* a pull for clock c waits for clocks < c */
	PS_BOUNDED					/* ... for clocks < c - max_delay */
} PsConsistency;

typedef struct PsConfig
{
	PsRule		rule;
	PsConsistency consistency;
	int			max_delay;		/* tau of bounded delay */
	bool		kkt_filter;		/* drop pushes of inactive keys (ftrl, l1) */
	float4		significance;	/* ps_pull_changed: smallest change sent */
} PsConfig;

/* columns of a row of ps_config */
#define PS_CONFIG_NATTS 10

extern Oid	ps_extension_table(const char *name);
extern const PsConfig *ps_config_get(Relation rel);
extern const PsConfig *ps_config_get_for_write(Relation rel);
extern void ps_config_forget(Oid relid);
extern int	ps_config_width(Relation rel, const PsConfig *cfg, int dim);
extern PsDir *ps_config_storage(Relation rel, int dim, const PsConfig *cfg);

/* reading and writing rows (ps_configure, the trigger on ps_config) */
extern bool ps_consistency_parse(const char *name, PsConsistency *c);
extern void ps_config_invalid(const char *what, const char *detail,
							  const char *hint) pg_attribute_noreturn();
extern void ps_config_from_row(Relation crel, HeapTuple tup, PsConfig *cfg,
							   Oid *relid);
extern void ps_config_validate(Relation rel, const PsConfig *cfg,
							   const PsConfig *old);

/* a row being changed: read, then written back at the same tuple */
typedef struct PsConfigEdit
{
	Oid			relid;
	Relation	crel;			/* ps_config, RowExclusiveLock */
	Oid			indexoid;
	HeapTuple	oldtup;			/* NULL: no row yet */
	PsConfig	cfg;			/* the configuration now */
} PsConfigEdit;

extern void ps_config_begin_edit(Oid relid, PsConfigEdit *e);
extern void ps_config_store(Relation rel, PsConfigEdit *e, const PsConfig *cfg,
							Datum *values, bool *nulls);

#endif							/* PS_CONFIG_H */
