/*-------------------------------------------------------------------------
 *
 * ps_filter.h
 *	  The paper's filters: the KKT filter for pushes under the L1 rule, and
 *	  the significantly-modified filter for pulls.
 *
 * Layer 7 (training services).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_FILTER_H
#define PS_FILTER_H

#include "utils/relcache.h"

#include "ps_dir.h"
#include "ps_rule.h"

typedef enum PsFilterKind
{
	PS_FILTER_KKT,				/* pushes of inactive keys dropped */
	PS_FILTER_CHANGED,			/* pulls of unchanged values left out */
	PS_FILTER_ACTIVE,			/* pulls of inactive (zero) keys left out */
	PS_NFILTERS
} PsFilterKind;

extern const char *const ps_filter_names[PS_NFILTERS];

extern int	ps_filter_kkt(Relation rel, PsDir *dir, const PsRule *rule,
						  int64 *keys, float4 *vals, int n, int dim);
extern int	ps_filter_changed(Relation rel, int32 worker, float4 threshold,
							  int64 *keys, float4 *vals, int n, int dim);
extern void ps_filter_forget(Oid relid);
extern void ps_filter_sweep(void);
extern void ps_filter_count(Oid dbid, Oid relid, PsFilterKind kind,
							int64 keys, int dim);

#endif							/* PS_FILTER_H */
