/*-------------------------------------------------------------------------
 *
 * ps_sql_cluster_admin.h
 *	  Declaring a node dead on every live node, for the monitor.
 *
 * Layer 9 (SQL entry points).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_SQL_CLUSTER_ADMIN_H
#define PS_SQL_CLUSTER_ADMIN_H

extern int64 ps_sql_cluster_fail_node(uint32 node);

#endif							/* PS_SQL_CLUSTER_ADMIN_H */
