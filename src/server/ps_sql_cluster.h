/*-------------------------------------------------------------------------
 *
 * ps_sql_cluster.h
 *	  What the cluster's SQL functions share: the cluster as the backend
 *	  knows it (or an error for an extension without one), the superuser
 *	  check of the admin functions, a token's first key, and taking the
 *	  ring that declared this node dead.
 *
 * Layer 9 (SQL entry points).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_SQL_CLUSTER_H
#define PS_SQL_CLUSTER_H

#include "nodes/pg_list.h"
#include "utils/array.h"

#include "ps_cluster.h"

extern const PsCluster *ps_sql_cluster(void);
extern void ps_sql_require_superuser(const char *fn);
extern int64 ps_sql_arc_first(const PsRingToken *tokens, size_t ntokens,
							  size_t i);
extern List *ps_sql_cluster_tables(void);
extern char *ps_sql_cluster_take_ring(int64 version, int32 replicas,
									  bool synchronous, ArrayType **arrays);

#endif							/* PS_SQL_CLUSTER_H */
