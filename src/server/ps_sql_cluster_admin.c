/*-------------------------------------------------------------------------
 *
 * ps_sql_cluster_admin.c
 *	  Changing the cluster: ps_cluster_add, ps_cluster_remove,
 *	  ps_cluster_configure and ps_cluster_fail (also the monitor's
 *	  failover), each applied to every live node of the cluster or to none,
 *	  by a two-phase commit from this backend.
 *
 * A change is a new ring row (ps_cluster.c) with the next version.  This
 * backend connects to every node that takes part (the active nodes of the
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
 * once every node is rolled back.
 *
 * If a node fails after it prepared and before it committed, its prepared
 * transaction stays (the change committed elsewhere): the function warns,
 * naming the transaction, and the operator runs COMMIT PREPARED on that
 * node once it is back (README, "Running a cluster").
 *
 * The change is not part of the caller's transaction: like a push, it is
 * not undone by the caller's ROLLBACK.  Superusers only: the function
 * opens connections with a conninfo of the caller's choosing, as the
 * server's operating-system user.
 *
 * Layer 9 (SQL entry points): called by PostgreSQL only.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "common/pg_prng.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/rel.h"

#include "ps_base.h"
#include "ps_cluster.h"
#include "ps_remote.h"
#include "ps_sql.h"
#include "ps_sql_cluster.h"
#include "ps_sql_cluster_admin.h"
#include "ps_sql_cluster_repl.h"

PG_FUNCTION_INFO_V1(ps_cluster_add);
PG_FUNCTION_INFO_V1(ps_cluster_remove);
PG_FUNCTION_INFO_V1(ps_cluster_reset);
PG_FUNCTION_INFO_V1(ps_cluster_configure);
PG_FUNCTION_INFO_V1(ps_cluster_fail);

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
static bool
open_participant(Participant *p, char **err)
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
static bool
remote_status(Participant *p, uint32 *node, int64 *version, char **err)
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
		   char **err)
{
	char	   *sql;
	char		expect[32];
	uint32		node;
	int64		version;
	PGresult   *res;

	if (!open_participant(p, err) || !remote_status(p, &node, &version, err))
		return false;
	if (node != p->node)
	{
		*err = psprintf("the server there is node %u, not node %u", node, p->node);
		return false;
	}
	if (!ps_remote_command(p->conn, "BEGIN", err))
		return false;
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
 * failure once every node is back at its old ring.
 */
static void
apply_everywhere(const PsCluster *new, Participant *parts, int nparts)
{
	const char *params[8];
	Datum		arrays[4];
	char		version[32],
				replicas[16];
	char	   *failure = NULL;
	int			failed = -1;
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

		if (!prepare_on(&parts[i], new, params, &err))
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

	/* phase two: all commit, or all roll back */
	for (i = 0; i < nparts; i++)
	{
		char	   *err = NULL;

		if (!parts[i].prepared)
			continue;
		if (!finish_on(&parts[i], failure == NULL, &err))
			ereport(WARNING,
					(errmsg("node %u did not %s prepared transaction %s: %s",
							parts[i].node, failure == NULL ? "commit" : "roll back",
							parts[i].gid, err),
					 errhint("Once the node is back, run %s PREPARED '%s' there.",
							 failure == NULL ? "COMMIT" : "ROLLBACK", parts[i].gid)));
	}
	for (i = 0; i < nparts; i++)
		ps_remote_close(parts[i].conn);
	CHECK_FOR_INTERRUPTS();
	if (failure != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("the cluster was not changed: node %u failed: %s",
						parts[failed].node, failure),
				 errdetail("The change (ring version " INT64_FORMAT ") was applied to every node or, as here, to none.",
						   new->version),
				 errhint("Every active node must be reachable, through its conninfo, as a superuser, with max_prepared_transactions > 0.")));
}

/* A copy of c (its arrays, not the ring) to change. */
static PsCluster *
copy_cluster(const PsCluster *c, int extra)
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
static PsCluster *
current_cluster(void)
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
static int
active_participants(const PsCluster *new, int64 expect, Participant *parts)
{
	int			n = 0,
				i;

	for (i = 0; i < new->nnodes; i++)
		if (new->nodes[i].state == PS_NODE_ACTIVE)
		{
			parts[n].node = new->nodes[i].id;
			parts[n].conninfo = new->nodes[i].conninfo;
			parts[n].expect = expect;
			n++;
		}
	return n;
}

static void
check_ring(PsCluster *new)
{
	const char *why;

	if (!ps_cluster_make_ring(new, &why))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the new ring cannot be built: %s", why),
				 errhint("Two tokens at one position are a hash collision of node ids: run ps_cluster_reset() on the new node for another id.")));
}

/*
 * ps_cluster_add(conninfo text, virtual_nodes integer DEFAULT 16)
 * returns bigint
 *
 * Add the server at conninfo (a database with extension ps, on its own)
 * to this server's cluster, with virtual_nodes tokens on the ring; the
 * first call, on a server on its own, makes a cluster of the server
 * named (normally this one).  Returns the new ring version.
 */
Datum
ps_cluster_add(PG_FUNCTION_ARGS)
{
	PsCluster  *cur,
			   *new;
	Participant *parts;
	Participant joiner = {0};
	char	   *conninfo;
	int32		vnodes;
	char	   *err = NULL;
	uint32		id;
	int64		version;
	int			n,
				i;

	ps_sql_require_superuser("ps_cluster_add");
	ps_arg_not_null(fcinfo, 0, "the conninfo");
	ps_arg_not_null(fcinfo, 1, "virtual_nodes");
	conninfo = text_to_cstring(PG_GETARG_TEXT_PP(0));
	vnodes = PG_GETARG_INT32(1);
	if (vnodes < 1 || vnodes > PS_RING_MAX_VNODES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ps_cluster_add: virtual_nodes must be between 1 and %d, not %d",
						PS_RING_MAX_VNODES, vnodes),
				 errhint("More virtual nodes spread a node's share of the keys more evenly; 16 is the default.")));
	cur = current_cluster();

	joiner.conninfo = conninfo;
	if (!open_participant(&joiner, &err) ||
		!remote_status(&joiner, &id, &version, &err))
	{
		ps_remote_close(joiner.conn);
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("ps_cluster_add: cannot reach the new node: %s", err),
				 errhint("The conninfo must reach a database with extension ps as a superuser.")));
	}
	if (ps_cluster_find(cur, id) >= 0 || version != 0)
	{
		ps_remote_close(joiner.conn);
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 ps_cluster_find(cur, id) >= 0 ?
				 errmsg("node %u is in this cluster already", id) :
				 errmsg("node %u is in a cluster already (ring version " INT64_FORMAT ")", id, version),
				 errhint("A node joins from on its own: remove it from its cluster and run ps_cluster_reset() there first.")));
	}

	new = copy_cluster(cur, 1);
	new->version = cur->version + 1;
	new->nodes[new->nnodes].id = id;
	new->nodes[new->nnodes].vnodes = vnodes;
	new->nodes[new->nnodes].state = PS_NODE_ACTIVE;
	new->nodes[new->nnodes].conninfo = conninfo;
	new->nnodes++;
	check_ring(new);

	parts = palloc0(sizeof(Participant) * new->nnodes);
	n = active_participants(new, cur->version, parts);
	for (i = 0; i < n; i++)
		if (parts[i].node == id)
		{
			parts[i].expect = 0;
			parts[i].conn = joiner.conn;
			parts[i].schema = joiner.schema;
		}
	apply_everywhere(new, parts, n);
	if (new->replicas > 0)
		(void) ps_sql_setup_replication(new);
	PG_RETURN_INT64(new->version);
}

/*
 * ps_cluster_remove(node integer) returns bigint
 *
 * Take node off the ring: its ranges go to the next nodes clockwise.
 * The node itself is told if it can be reached (it then holds no key and
 * answers every request with the new ring's version).  Returns the new
 * ring version.
 */
Datum
ps_cluster_remove(PG_FUNCTION_ARGS)
{
	PsCluster  *cur,
			   *new;
	Participant *parts;
	uint32		node;
	int			at,
				n;

	ps_sql_require_superuser("ps_cluster_remove");
	ps_arg_not_null(fcinfo, 0, "the node");
	node = (uint32) PG_GETARG_INT32(0);
	cur = current_cluster();
	at = ps_cluster_find(cur, node);
	if (at < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("node %d is not in this cluster", PG_GETARG_INT32(0)),
				 errhint("ps_cluster_nodes() lists the nodes.")));
	new = copy_cluster(cur, 0);
	new->version = cur->version + 1;
	memmove(&new->nodes[at], &new->nodes[at + 1],
			sizeof(PsClusterNode) * (new->nnodes - at - 1));
	new->nnodes--;
	check_ring(new);

	parts = palloc0(sizeof(Participant) * (new->nnodes + 1));
	n = active_participants(new, cur->version, parts);
	if (cur->nodes[at].state == PS_NODE_ACTIVE)
	{
		parts[n].node = node;
		parts[n].conninfo = cur->nodes[at].conninfo;
		parts[n].expect = cur->version;
		parts[n].optional = true;
		n++;
	}
	apply_everywhere(new, parts, n);
	if (new->replicas > 0)
		(void) ps_sql_setup_replication(new);
	PG_RETURN_INT64(new->version);
}

/*
 * ps_cluster_configure(replicas integer DEFAULT NULL, replication text
 * DEFAULT NULL) returns bigint
 *
 * How many replicas each range has beyond its owner, and whether a push
 * waits for them ('synchronous') or not ('asynchronous'); NULL keeps a
 * setting.  Changed on every live node or none, as a ring change; then
 * the publications, subscriptions and synchronous_standby_names of every
 * node are set up (ps_sql_cluster_repl.c).  Returns the new ring version.
 */
Datum
ps_cluster_configure(PG_FUNCTION_ARGS)
{
	PsCluster  *cur,
			   *new;
	Participant *parts;
	int			n;

	ps_sql_require_superuser("ps_cluster_configure");
	cur = current_cluster();
	if (cur->version == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("this server is not in a cluster"),
				 errhint("Build the cluster with ps_cluster_add() first.")));
	new = copy_cluster(cur, 0);
	new->version = cur->version + 1;
	if (!PG_ARGISNULL(0))
	{
		new->replicas = PG_GETARG_INT32(0);
		if (new->replicas < 0 || new->replicas > 8)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("ps_cluster_configure: replicas must be between 0 and 8, not %d",
							new->replicas),
					 errhint("Each range is kept on its owner and on that many of the next nodes clockwise.")));
	}
	if (!PG_ARGISNULL(1))
	{
		char	   *mode = text_to_cstring(PG_GETARG_TEXT_PP(1));

		if (strcmp(mode, "synchronous") == 0)
			new->synchronous = true;
		else if (strcmp(mode, "asynchronous") == 0)
			new->synchronous = false;
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("ps_cluster_configure: unknown replication \"%s\"", mode),
					 errhint("Replication is 'synchronous' (a push waits for its replicas) or 'asynchronous'.")));
	}
	check_ring(new);
	parts = palloc0(sizeof(Participant) * new->nnodes);
	n = active_participants(new, cur->version, parts);
	apply_everywhere(new, parts, n);
	if (new->replicas > 0 || cur->replicas > 0)
		(void) ps_sql_setup_replication(new);
	PG_RETURN_INT64(new->version);
}

/*
 * Declare node dead on every other live node, or on none: its tokens stay
 * on the ring and go to their first replica alive (ps_ring_serve), which
 * holds their keys already; then replication is set up again without it
 * (its subscriptions and slots dropped, synchronous_standby_names without
 * it).  Raises an error if the change fails.  Returns the new version, or
 * 0 if the node is not active on this server's ring (dead already, or not
 * in the cluster).
 */
int64
ps_sql_cluster_fail_node(uint32 node)
{
	PsCluster  *cur = current_cluster(),
			   *new;
	Participant *parts;
	int			at = ps_cluster_find(cur, node),
				n;

	if (at < 0 || cur->nodes[at].state != PS_NODE_ACTIVE)
		return 0;
	if (node == cur->self)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("node %u cannot declare itself dead", node),
				 errhint("Declare a node dead from another node; to take this one off the ring, run ps_cluster_remove().")));
	new = copy_cluster(cur, 0);
	new->version = cur->version + 1;
	new->nodes[at].state = PS_NODE_DEAD;
	check_ring(new);
	parts = palloc0(sizeof(Participant) * new->nnodes);
	n = active_participants(new, cur->version, parts);
	apply_everywhere(new, parts, n);
	if (new->replicas > 0)
		(void) ps_sql_setup_replication(new);
	return new->version;
}

/*
 * ps_cluster_fail(node integer) returns bigint
 *
 * Declare node dead, as the monitor does when the node stops answering
 * heartbeats (ps_sql_monitor.c): for an operator who knows it is gone, or
 * a cluster whose failure detector is off.  Returns the new ring version.
 */
Datum
ps_cluster_fail(PG_FUNCTION_ARGS)
{
	int64		version;

	ps_sql_require_superuser("ps_cluster_fail");
	ps_arg_not_null(fcinfo, 0, "the node");
	version = ps_sql_cluster_fail_node((uint32) PG_GETARG_INT32(0));
	if (version == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("node %d is not an active node of this cluster", PG_GETARG_INT32(0)),
				 errhint("ps_cluster_nodes() lists the nodes and their states.")));
	PG_RETURN_INT64(version);
}

/*
 * ps_cluster_reset(force boolean DEFAULT false) returns integer
 *
 * Make this server one on its own again, with a new node id (a server
 * that was removed, or failed and was taken off the ring, comes back as a
 * new node).  Only this server changes.  While it is active on a ring it
 * refuses, unless force: the other nodes would still send it requests as
 * the node it was.  Returns the new node id.
 */
Datum
ps_cluster_reset(PG_FUNCTION_ARGS)
{
	Relation	crel;
	PsCluster  *cur,
			   *new;
	uint32		id;

	ps_sql_require_superuser("ps_cluster_reset");
	ps_arg_not_null(fcinfo, 0, "force");
	PreventCommandIfReadOnly("ps_cluster_reset()");
	crel = ps_cluster_open(ShareRowExclusiveLock);
	if (crel == NULL)
		(void) ps_sql_cluster();
	cur = ps_cluster_read(crel);
	if (!PG_GETARG_BOOL(0) && cur->version > 0 && ps_cluster_find(cur, cur->self) >= 0 &&
		cur->nodes[ps_cluster_find(cur, cur->self)].state == PS_NODE_ACTIVE)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("this server (node %u) is active on the ring of its cluster (version " INT64_FORMAT ")",
						cur->self, cur->version),
				 errhint("Remove it from the cluster (ps_cluster_remove() on a node), or, if the cluster took it off while it was down, run ps_cluster_reset(force => true).")));
	new = palloc0(sizeof(PsCluster));
	do
		id = pg_prng_uint32(&pg_global_prng_state) & 0x7fffffff;
	while (id == 0 || id == cur->self);
	new->self = id;
	new->synchronous = true;
	ps_cluster_write(crel, new);
	table_close(crel, NoLock);
	PG_RETURN_INT32((int32) id);
}
