/*-------------------------------------------------------------------------
 *
 * ps_sql_cluster_change.h
 *	  A ring change applied to every live node or to none (two-phase
 *	  commit), and the cluster rows the admin functions build it from.
 *
 * Layer 9 (SQL entry points).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_SQL_CLUSTER_CHANGE_H
#define PS_SQL_CLUSTER_CHANGE_H

#include "libpq-fe.h"

#include "ps_cluster.h"

/* A node taking part in a change. */
typedef struct Participant
{
	uint32		node;
	const char *conninfo;
	int64		expect;			/* the version it must be at */
	bool		optional;		/* a node being removed: best effort */
	PGconn	   *conn;
	char	   *schema;			/* of extension ps there, quoted */
	bool		prepared;
	char		gid[64];
} Participant;

extern bool ps_sql_change_open(Participant *p, char **err);
extern bool ps_sql_change_status(Participant *p, uint32 *node, int64 *version,
								 char **err);
extern bool ps_sql_change_apply(const PsCluster *new, Participant *parts,
								int nparts, const PsCluster *moving,
								double *held_ms);
extern PsCluster *ps_sql_change_copy(const PsCluster *c, int extra);
extern PsCluster *ps_sql_change_current(void);
extern int	ps_sql_change_participants(const PsCluster *new, int64 expect,
									   Participant *parts);
extern void ps_sql_change_check_ring(PsCluster *new);

#endif							/* PS_SQL_CLUSTER_CHANGE_H */
