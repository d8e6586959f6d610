/*-------------------------------------------------------------------------
 *
 * ps_sql_cluster_change.c
 *	  A ring change applied to every live node of the cluster or to none,
 *	  by a two-phase commit from this backend: what every admin function
 *	  and the monitor's failover do.
 *
 * A change is a new ring row (ps_cluster.c) with the next version.  This
 * backend connects to every node that takes part (the live nodes of the
 * new ring, this server included, through its own conninfo, and a node
 * being removed if it can be reached), and on each runs, in a transaction,
 * ps_cluster_apply(the version it expects that node to be at, the new
 * row), then PREPARE TRANSACTION.  Only when every node prepared does it
 * COMMIT PREPARED them all; if any failed, it rolls back those prepared,
 * and no node changed.  ps_cluster_apply's lock on the node's ps_cluster,
 * held by the prepared transaction, makes a second change made meanwhile
 * from another node wait, then fail on the version.  Between the first
 * PREPARE and the last COMMIT PREPARED nothing raises an error
 * (ps_remote.c reports failures as strings): the error, if any, comes
 * once every node is rolled back.  The switch of a join or leave waits
 * between the two phases for the newcomers to catch up
 * (ps_sql_cluster_move.c), and rolls back if they do not in time.
 *
 * If a node fails after it prepared and before it committed, its prepared
 * transaction stays (the change committed elsewhere): the function warns,
 * naming the transaction, and the operator runs COMMIT PREPARED on that
 * node once it is back (README, "Running a cluster").
 *
 * Layer 9 (SQL entry points): used by ps_sql_cluster_admin.c.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "catalog/pg_type.h"
#include "common/pg_prng.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/timestamp.h"

#include "ps_base.h"
#include "ps_cluster.h"
#include "ps_remote.h"
#include "ps_sql_cluster.h"
#include "ps_sql_cluster_change.h"
#include "ps_sql_cluster_move.h"

/* The extension's schema on conn, quoted; NULL with *err if none, or too old. */
static char *
remote_schema(PGconn *conn, char **err)
{
	PGresult   *res = ps_remote_exec(conn,
									 "SELECT pg_catalog.quote_ident(n.nspname), e.extversion"
									 " FROM pg_catalog.pg_extension e"
									 " JOIN pg_catalog.pg_namespace n"
									 " ON n.oid OPERATOR(pg_catalog.=) e.extnamespace"
									 " WHERE e.extname OPERATOR(pg_catalog.=) 'ps'",
									 0, NULL, err);
	char	   *schema;

	if (res == NULL)
		return NULL;
	if (PQntuples(res) != 1)
	{
		*err = pstrdup("that database has no extension ps");
		PQclear(res);
		return NULL;
	}
	/* versions 0.1 .. 0.6 had no cluster */
	if (strlen(PQgetvalue(res, 0, 1)) == 3 && strcmp(PQgetvalue(res, 0, 1), "0.7") < 0)
	{
		*err = psprintf("its extension ps is at version %s: run ALTER EXTENSION ps UPDATE there",
						PQgetvalue(res, 0, 1));
		PQclear(res);
		return NULL;
	}
	schema = pstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return schema;
}

/* Connect p (if not yet) and learn its schema; false with *err. */
bool
ps_sql_change_open(Participant *p, char **err)
{
	if (p->conn != NULL)
		return true;
	p->conn = ps_remote_connect(p->conninfo, err);
	if (p->conn == NULL)
		return false;
	p->schema = remote_schema(p->conn, err);
	return p->schema != NULL;
}

/* The node id and ring version of connected p; false with *err. */
bool
ps_sql_change_status(Participant *p, uint32 *node, int64 *version, char **err)
{
	char	   *sql = psprintf("SELECT node, version FROM %s.ps_cluster_status()",
							   p->schema);
	PGresult   *res = ps_remote_exec(p->conn, sql, 0, NULL, err);

	if (res == NULL)
		return false;
	if (PQntuples(res) != 1)
	{
		*err = pstrdup("ps_cluster_status() gave no row");
		PQclear(res);
		return false;
	}
	*node = (uint32) strtoul(PQgetvalue(res, 0, 0), NULL, 10);
	*version = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	PQclear(res);
	return true;
}

static char *
array_text(Datum a)
{
	return OidOutputFunctionCall(F_ARRAY_OUT, a);
}

/*
 * Prepare the change to new on p: connect, check it is the node it should
 * be, apply, PREPARE TRANSACTION.  False, with *err, if any step failed
 * (then nothing stays prepared there).
 */
static bool
prepare_on(Participant *p, const PsCluster *new, const char **params,
		   bool switching, char **err)
{
	char	   *sql;
	char		expect[32];
	uint32		node;
	int64		version;
	PGresult   *res;

	if (!ps_sql_change_open(p, err) || !ps_sql_change_status(p, &node, &version, err))
		return false;
	if (node != p->node)
	{
		*err = psprintf("the server there is node %u, not node %u", node, p->node);
		return false;
	}
	if (!ps_remote_command(p->conn, "BEGIN", err))
		return false;

	/*
	 * The switch of a join or leave closes the gate of pushes there, which
	 * waits for the pushes past it, and new ones queue behind: a
	 * transaction left open after a push would hold them all, so it waits
	 * no longer than the switch may hold pushes.
	 */
	if (switching &&
		!ps_remote_command(p->conn, psprintf("SET LOCAL lock_timeout = %d", ps_switch_timeout), err))
	{
		char	   *ignore;

		(void) ps_remote_command(p->conn, "ROLLBACK", &ignore);
		return false;
	}
	snprintf(expect, sizeof(expect), INT64_FORMAT, p->expect);
	params[0] = expect;
	sql = psprintf("SELECT %s.ps_cluster_apply($1::pg_catalog.int8, $2::pg_catalog.int8,"
				   " $3::pg_catalog.int4, $4::pg_catalog.bool, $5::pg_catalog.int4[],"
				   " $6::pg_catalog.int4[], $7::pg_catalog.text[], $8::pg_catalog.text[])",
				   p->schema);
	res = ps_remote_exec(p->conn, sql, 8, params, err);
	if (res == NULL)
	{
		char	   *ignore;

		(void) ps_remote_command(p->conn, "ROLLBACK", &ignore);
		return false;
	}
	PQclear(res);
	snprintf(p->gid, sizeof(p->gid), "ps_cluster_v" INT64_FORMAT "_n%u_%08x",
			 new->version, p->node, (unsigned) pg_prng_uint32(&pg_global_prng_state));
	sql = psprintf("PREPARE TRANSACTION '%s'", p->gid);
	if (!ps_remote_command(p->conn, sql, err))
	{
		char	   *ignore;

		(void) ps_remote_command(p->conn, "ROLLBACK", &ignore);
		return false;
	}
	p->prepared = true;
	return true;
}

/* End p's prepared transaction; false with *err. */
static bool
finish_on(Participant *p, bool commit, char **err)
{
	char	   *sql = psprintf("%s PREPARED '%s'", commit ? "COMMIT" : "ROLLBACK", p->gid);

	if (p->conn == NULL || PQstatus(p->conn) != CONNECTION_OK)
	{
		ps_remote_close(p->conn);
		p->conn = ps_remote_connect(p->conninfo, err);
		if (p->conn == NULL)
			return false;
	}
	return ps_remote_command(p->conn, sql, err);
}

/*
 * Change every participant's ring to new, all or none; raises the first
 * failure once every node is back at its old ring.  With moving (the
 * switch of a join or leave, from ring moving): once every node has
 * prepared, and so the servers giving ranges away hold their pushes, wait
 * at most ps.switch_timeout for the newcomers to apply the last writes
 * (ps_sql_cluster_drain); if they do not, roll back and return false.
 * *held_ms: from the first PREPARE to the last COMMIT PREPARED.
 */
bool
ps_sql_change_apply(const PsCluster *new, Participant *parts, int nparts,
				 const PsCluster *moving, double *held_ms)
{
	const char *params[8];
	Datum		arrays[4];
	char		version[32],
				replicas[16];
	char	   *failure = NULL;
	int			failed = -1;
	bool		drained = true;
	TimestampTz start = GetCurrentTimestamp();
	int			i;

	snprintf(version, sizeof(version), INT64_FORMAT, new->version);
	snprintf(replicas, sizeof(replicas), "%d", new->replicas);
	ps_cluster_node_arrays(new, arrays);
	params[1] = version;
	params[2] = replicas;
	params[3] = new->synchronous ? "true" : "false";
	for (i = 0; i < 4; i++)
		params[4 + i] = array_text(arrays[i]);

	/* phase one: nothing below may raise an error until every node is done */
	for (i = 0; i < nparts && failure == NULL; i++)
	{
		char	   *err = NULL;

		if (!prepare_on(&parts[i], new, params, moving != NULL, &err))
		{
			if (parts[i].optional)
			{
				ereport(WARNING,
						(errmsg("node %u is removed without being told: %s",
								parts[i].node, err),
						 errhint("If it comes back, it still serves its old ring: stop it, or run ps_cluster_reset() there.")));
				continue;
			}
			failure = err;
			failed = i;
		}
	}

	/* the switch: pushes to the moving ranges are held now */
	if (failure == NULL && moving != NULL)
	{
		int64		behind = 0;
		char	   *err = NULL;

		if (!ps_sql_cluster_drain(moving, ps_switch_timeout, &behind, &err))
			failure = err;
		drained = failure == NULL && behind == 0;
	}

	/* phase two: all commit, or all roll back */
	for (i = 0; i < nparts; i++)
	{
		char	   *err = NULL;

		if (!parts[i].prepared)
			continue;
		if (!finish_on(&parts[i], failure == NULL && drained, &err))
			ereport(WARNING,
					(errmsg("node %u did not %s prepared transaction %s: %s",
							parts[i].node, failure == NULL && drained ? "commit" : "roll back",
							parts[i].gid, err),
					 errhint("Once the node is back, run %s PREPARED '%s' there.",
							 failure == NULL && drained ? "COMMIT" : "ROLLBACK", parts[i].gid)));
	}
	if (held_ms)
		*held_ms = (double) (GetCurrentTimestamp() - start) / 1000.0;
	for (i = 0; i < nparts; i++)
		ps_remote_close(parts[i].conn);
	CHECK_FOR_INTERRUPTS();
	if (failure != NULL && failed < 0)
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("the switch was undone: %s", failure),
				 errdetail("The change (ring version " INT64_FORMAT ") was applied to no node.",
						   new->version),
				 errhint("Run the same ps_cluster_add() or ps_cluster_remove() again once every node answers: it goes on from where it is.")));
	if (failure != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("the cluster was not changed: node %u failed: %s",
						parts[failed].node, failure),
				 errdetail("The change (ring version " INT64_FORMAT ") was applied to every node or, as here, to none.",
						   new->version),
				 errhint("Every active node must be reachable, through its conninfo, as a superuser, with max_prepared_transactions > 0.")));
	return drained;
}

/* A copy of c (its arrays, not the ring) to change. */
PsCluster *
ps_sql_change_copy(const PsCluster *c, int extra)
{
	PsCluster  *n = palloc0(sizeof(PsCluster));

	*n = *c;
	n->nodes = palloc0(sizeof(PsClusterNode) * (c->nnodes + extra + 1));
	memcpy(n->nodes, c->nodes, sizeof(PsClusterNode) * c->nnodes);
	n->tokens = NULL;
	n->placement = NULL;
	n->ntokens = 0;
	return n;
}

/* The cluster as committed now, read afresh; refuses a server not on it. */
PsCluster *
ps_sql_change_current(void)
{
	Relation	crel = ps_cluster_open(AccessShareLock);
	PsCluster  *c;

	if (crel == NULL)
		(void) ps_sql_cluster();
	c = ps_cluster_read(crel);
	table_close(crel, AccessShareLock);
	if (c->version > 0 && ps_cluster_find(c, c->self) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("this server (node %u) is not in its cluster any more", c->self),
				 errdetail("It was removed at ring version " INT64_FORMAT " or before.", c->version),
				 errhint("Change the cluster from one of its nodes (ps_cluster_nodes() lists them).")));
	return c;
}

/* The active nodes of new as participants expecting version expect. */
int
ps_sql_change_participants(const PsCluster *new, int64 expect, Participant *parts)
{
	int			n = 0,
				i;

	for (i = 0; i < new->nnodes; i++)
		if (PS_NODE_LIVE(new->nodes[i].state))
		{
			parts[n].node = new->nodes[i].id;
			parts[n].conninfo = new->nodes[i].conninfo;
			parts[n].expect = expect;
			n++;
		}
	return n;
}

void
ps_sql_change_check_ring(PsCluster *new)
{
	const char *why;

	if (!ps_cluster_make_ring(new, &why))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the new ring cannot be built: %s", why),
				 errhint("Two tokens at one position are a hash collision of node ids: run ps_cluster_reset() on the new node for another id.")));
}

/* Does node serve, on moving, a range that it will not once through? */
