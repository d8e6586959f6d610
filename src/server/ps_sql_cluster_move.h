/*-------------------------------------------------------------------------
 *
 * ps_sql_cluster_move.h
 *	  The range copy of a join or leave, run on every server from the
 *	  admin functions.
 *
 * Layer 9 (SQL entry points).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_SQL_CLUSTER_MOVE_H
#define PS_SQL_CLUSTER_MOVE_H

#include "ps_cluster.h"

extern bool ps_sql_cluster_copy_ranges(const PsCluster *c, int64 *copied,
									   char **err);
extern bool ps_sql_cluster_drain(const PsCluster *c, int timeout_ms,
								 int64 *behind, char **err);

#endif							/* PS_SQL_CLUSTER_MOVE_H */
