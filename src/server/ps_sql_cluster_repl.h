/*-------------------------------------------------------------------------
 *
 * ps_sql_cluster_repl.h
 *	  The replication topology of a cluster, set up on every active node.
 *
 * Layer 9 (SQL entry points).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_SQL_CLUSTER_REPL_H
#define PS_SQL_CLUSTER_REPL_H

#include "ps_cluster.h"

#include "libpq-fe.h"

extern char *ps_sql_remote_schema(PGconn *conn, char **err);
extern int	ps_sql_setup_replication(const PsCluster *c);
extern void ps_sql_unset_replication(const char *conninfo);

#endif							/* PS_SQL_CLUSTER_REPL_H */
