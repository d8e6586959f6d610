/*-------------------------------------------------------------------------
 *
 * ps_config.h
 *	  Per-table configuration: update rule, consistency model, and their
 *	  parameters.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_CONFIG_H
#define PS_CONFIG_H

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

extern const PsConfig *ps_config_get(Relation rel);
extern const PsConfig *ps_config_get_for_write(Relation rel);
extern void ps_config_forget(Oid relid);
extern const char *ps_consistency_name(PsConsistency c);
extern int	ps_config_width(Relation rel, const PsConfig *cfg, int dim);

#endif							/* PS_CONFIG_H */
