/*-------------------------------------------------------------------------
 *
 * ps_sql_cluster_admin.c
 *	  Changing the cluster: ps_cluster_add, ps_cluster_remove,
 *	  ps_cluster_configure and ps_cluster_fail (also the monitor's
 *	  failover), each applied to every live node of the cluster or to none,
 *	  by a two-phase commit from this backend.
 *
 * Each change is a new ring applied everywhere or nowhere
 * (ps_sql_cluster_change.c).  A node joins empty, as `joining`: it serves
 * nothing while the servers copy it the ranges it will hold; a live node
 * leaves as `leaving`, serving until its ranges are copied to the nodes
 * that take them; then the switch makes the move (ps_sql_cluster_move.c).
 * A join or leave that stops half-way (a node down, a switch that timed
 * out) goes on when the same call is made again.
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
#include "utils/timestamp.h"

#include "ps_base.h"
#include "ps_cluster.h"
#include "ps_remote.h"
#include "ps_sql.h"
#include "ps_sql_cluster.h"
#include "ps_sql_cluster_admin.h"
#include "ps_sql_cluster_change.h"
#include "ps_sql_cluster_move.h"
#include "ps_sql_cluster_repl.h"

PG_FUNCTION_INFO_V1(ps_cluster_add);
PG_FUNCTION_INFO_V1(ps_cluster_remove);
PG_FUNCTION_INFO_V1(ps_cluster_reset);
PG_FUNCTION_INFO_V1(ps_cluster_configure);
PG_FUNCTION_INFO_V1(ps_cluster_fail);

static bool
gives_ranges(const PsCluster *moving, uint32 node)
{
	size_t		t;

	for (t = 0; t < moving->ntokens; t++)
		if (moving->tokens[t].node == node && moving->after[t].node != node)
			return true;
	return false;
}

/*
 * The rest of a join or leave, from ring moving (a node joining or
 * leaving, committed everywhere): replication to the newcomers, the range
 * copy, catching up, and the switch to the ring with the moving nodes
 * through (ps_sql_cluster_move.c).  Returns the final ring's version.
 */
static int64
finish_move(const PsCluster *moving)
{
	PsCluster  *done = ps_sql_change_copy(moving, 0);
	Participant *parts = palloc0(sizeof(Participant) * (moving->nnodes + 1));
	TimestampTz start = GetCurrentTimestamp();
	int64		copied = 0,
				behind = 1;
	double		held = 0,
				copy_ms;
	char	   *err = NULL;
	uint32		leaving = 0;
	int			attempt,
				round,
				n = 0,
				i,
				pass;

	(void) ps_sql_setup_replication(moving);
	if (!ps_sql_cluster_copy_ranges(moving, &copied, &err))
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("the range copy failed: %s", err),
				 errdetail("Ring version " INT64_FORMAT " stays: the moving node is still joining or leaving, and every range keeps its server.",
						   moving->version),
				 errhint("Run the same ps_cluster_add() or ps_cluster_remove() again: it copies again and goes on.")));
	copy_ms = (double) (GetCurrentTimestamp() - start) / 1000.0;

	done->version = moving->version + 1;
	done->nnodes = 0;
	for (i = 0; i < moving->nnodes; i++)
	{
		PsClusterNode nd = moving->nodes[i];

		if (nd.state == PS_NODE_LEAVING)
			leaving = nd.id;
		if (nd.state == PS_NODE_LEAVING || nd.state == PS_NODE_REMOVING)
			continue;
		if (nd.state == PS_NODE_JOINING)
			nd.state = PS_NODE_ACTIVE;
		done->nodes[done->nnodes++] = nd;
	}
	ps_sql_change_check_ring(done);
	/* the receivers commit first, the servers giving ranges away last */
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < moving->nnodes; i++)
		{
			const PsClusterNode *nd = &moving->nodes[i];

			if (!PS_NODE_LIVE(nd->state) || gives_ranges(moving, nd->id) != (pass == 1))
				continue;
			parts[n].node = nd->id;
			parts[n].conninfo = nd->conninfo;
			parts[n].expect = moving->version;
			n++;
		}

	for (attempt = 0;; attempt++)
	{
		/* close behind first, without holding anything: each drain to a fixed point */
		for (round = 0; round < 12 && behind != 0; round++)
			if (!ps_sql_cluster_drain(moving, 5000, &behind, &err))
				ereport(ERROR,
						(errcode(ERRCODE_CONNECTION_FAILURE),
						 errmsg("the newcomers' catch-up failed: %s", err),
						 errhint("Run the same ps_cluster_add() or ps_cluster_remove() again: it goes on from where it is.")));
		for (i = 0; i < n; i++)
		{
			parts[i].conn = NULL;
			parts[i].prepared = false;
		}
		if (ps_sql_change_apply(done, parts, n, moving, &held))
			break;
		if (attempt == 4)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("the switch did not finish: the newcomers did not catch up within ps.switch_timeout (%d ms), %d times",
							ps_switch_timeout, attempt + 1),
					 errdetail("Ring version " INT64_FORMAT " stays: the moving node is still joining or leaving, and pushes go on.",
							   moving->version),
					 errhint("Run the same call again, when fewer pushes are under way, or raise ps.switch_timeout.")));
		behind = 1;
	}
	/* the node that left stops subscribing first: its slots are then idle */
	if (leaving != 0)
		ps_sql_unset_replication(moving->nodes[ps_cluster_find(moving, leaving)].conninfo);
	if (ps_cluster_replicating(done) || ps_cluster_replicating(moving))
		(void) ps_sql_setup_replication(done);
	ereport(NOTICE,
			(errmsg("ring version " INT64_FORMAT ": %lld key copies sent in %.0f ms; pushes to the moving ranges held for %.1f ms",
					done->version, (long long) copied, copy_ms, held)));
	return done->version;
}

/*
 * Ask node i of c whether its ps tables hold keys: 1 yes, 0 no, -1 it
 * cannot be asked.
 */
static int
node_keys(const PsCluster *c, int i)
{
	Participant p = {0};
	PGresult   *res = NULL;
	char	   *err = NULL;
	int			yes = -1;

	p.conninfo = c->nodes[i].conninfo;
	if (ps_sql_change_open(&p, &err))
		res = ps_remote_exec(p.conn, psprintf("SELECT %s.ps_cluster_holds_keys()", p.schema),
							 0, NULL, &err);
	if (res != NULL && PQntuples(res) == 1)
		yes = PQgetvalue(res, 0, 0)[0] == 't';
	if (res)
		PQclear(res);
	ps_remote_close(p.conn);
	return yes;
}

/*
 * Does a live node of c hold keys in its ps tables?  Then a node joins or
 * leaves by the range copy.  A node that cannot be asked is passed over:
 * the change then fails at that node, which must take part.
 */
static bool
any_keys(const PsCluster *c)
{
	int			i;

	for (i = 0; i < c->nnodes; i++)
		if (PS_NODE_LIVE(c->nodes[i].state) && node_keys(c, i) == 1)
			return true;
	return false;
}

/*
 * Refuse a join or leave by the range copy unless every live node of c,
 * and the joining one at conninfo (if not NULL), can replicate: the copy
 * goes through logical replication.
 */
static void
check_movable(const PsCluster *c, const char *conninfo)
{
	size_t		t;
	int			i;

	/* a lost range has no copy to bring: its new server would serve it empty */
	for (t = 0; t < c->ntokens; t++)
		if (c->tokens[t].node == PS_RING_LOST)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("ranges of this cluster are lost: their owner and replicas all failed"),
					 errdetail("Moving ranges would give a lost range a new server with none of its values; the cluster was not changed."),
					 errhint("ps_ring() shows the lost tokens; their values are only on the failed nodes' disks. Ranges can move again once the ps tables are emptied (TRUNCATE on every node).")));

	for (i = -1; i < c->nnodes; i++)
	{
		Participant p = {0};
		PGresult   *res = NULL;
		char	   *err = NULL;
		bool		ok;

		if (i < 0 ? conninfo == NULL : !PS_NODE_LIVE(c->nodes[i].state))
			continue;
		p.conninfo = i < 0 ? conninfo : c->nodes[i].conninfo;
		if (ps_sql_change_open(&p, &err))
			res = ps_remote_exec(p.conn,
								 "SELECT pg_catalog.current_setting('wal_level') OPERATOR(pg_catalog.=) 'logical'"
								 " AND pg_catalog.current_setting('max_wal_senders')::pg_catalog.int4 OPERATOR(pg_catalog.>) 0"
								 " AND pg_catalog.current_setting('max_replication_slots')::pg_catalog.int4 OPERATOR(pg_catalog.>) 0",
								 0, NULL, &err);
		ok = res != NULL && PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't';
		if (res)
			PQclear(res);
		ps_remote_close(p.conn);
		if (!ok)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("%s cannot take part in a range copy: %s",
							i < 0 ? "the new node" : psprintf("node %u", c->nodes[i].id),
							err ? err : "it lacks wal_level = logical, max_wal_senders or max_replication_slots"),
					 errdetail("The ps tables hold keys, so the ranges that move are copied, through logical replication; the cluster was not changed."),
					 errhint("Set wal_level = logical, max_wal_senders and max_replication_slots on every node and restart it; or TRUNCATE the ps tables first.")));
	}
}

/* Refuse a change while a join or leave is under way. */
static void
not_moving(const PsCluster *cur)
{
	if (cur->moving)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("a node of this cluster is joining or leaving"),
				 errhint("Finish that first: run its ps_cluster_add() or ps_cluster_remove() again (ps_cluster_nodes() shows which node), or ps_cluster_remove() a joining node.")));
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
				at,
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
	cur = ps_sql_change_current();

	joiner.conninfo = conninfo;
	if (!ps_sql_change_open(&joiner, &err) ||
		!ps_sql_change_status(&joiner, &id, &version, &err))
	{
		ps_remote_close(joiner.conn);
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("ps_cluster_add: cannot reach the new node: %s", err),
				 errhint("The conninfo must reach a database with extension ps as a superuser.")));
	}
	at = ps_cluster_find(cur, id);
	if (at >= 0 && cur->nodes[at].state == PS_NODE_JOINING && version == cur->version)
	{
		/* a join that stopped half-way goes on */
		ps_remote_close(joiner.conn);
		PG_RETURN_INT64(finish_move(cur));
	}
	not_moving(cur);
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

	new = ps_sql_change_copy(cur, 1);
	new->version = cur->version + 1;
	new->nodes[new->nnodes].id = id;
	new->nodes[new->nnodes].vnodes = vnodes;
	/*
	 * The first node holds every key already; the others join by a copy,
	 * unless no node holds a key (the joiner's own keys are refused by its
	 * ps_cluster_apply: a node joins empty).
	 */
	new->nodes[new->nnodes].state =
		cur->ntokens > 0 && any_keys(cur) ? PS_NODE_JOINING : PS_NODE_ACTIVE;
	if (new->nodes[new->nnodes].state == PS_NODE_JOINING)
		check_movable(cur, conninfo);
	new->nodes[new->nnodes].conninfo = conninfo;
	new->nnodes++;
	ps_sql_change_check_ring(new);

	parts = palloc0(sizeof(Participant) * new->nnodes);
	n = ps_sql_change_participants(new, cur->version, parts);
	for (i = 0; i < n; i++)
		if (parts[i].node == id)
		{
			parts[i].expect = 0;
			parts[i].conn = joiner.conn;
			parts[i].schema = joiner.schema;
		}
	(void) ps_sql_change_apply(new, parts, n, NULL, NULL);
	if (new->moving)
		PG_RETURN_INT64(finish_move(new));
	if (new->replicas > 0)
		(void) ps_sql_setup_replication(new);
	PG_RETURN_INT64(new->version);
}

/*
 * ps_cluster_remove(node integer) returns bigint
 *
 * Take node off the ring: its ranges go to the next nodes clockwise.  A
 * live node leaves by the range copy: it is `leaving` (still serving)
 * while its ranges and their copies are brought to the nodes that take
 * them, then the switch takes it off.  A dead node is `removing` the same
 * way: its ranges' replicas serve them and copy them to the nodes that
 * will hold them, which restores the copies it took with it.  A joining
 * node (the join is given up), one that does not answer, or the last
 * node goes at once.  The node itself is
 * told if it can be reached (it then holds no key and answers every
 * request with the new ring's version).  Returns the new ring version.
 */
Datum
ps_cluster_remove(PG_FUNCTION_ARGS)
{
	PsCluster  *cur,
			   *new;
	Participant *parts;
	uint32		node;
	int			at,
				others = 0,
				n,
				i;

	ps_sql_require_superuser("ps_cluster_remove");
	ps_arg_not_null(fcinfo, 0, "the node");
	node = (uint32) PG_GETARG_INT32(0);
	cur = ps_sql_change_current();
	at = ps_cluster_find(cur, node);
	if (at < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("node %d is not in this cluster", PG_GETARG_INT32(0)),
				 errhint("ps_cluster_nodes() lists the nodes.")));
	if (cur->nodes[at].state == PS_NODE_LEAVING || cur->nodes[at].state == PS_NODE_REMOVING)
		PG_RETURN_INT64(finish_move(cur));	/* a leave that stopped half-way */
	if (cur->nodes[at].state != PS_NODE_JOINING)
		not_moving(cur);
	new = ps_sql_change_copy(cur, 0);
	new->version = cur->version + 1;
	for (i = 0; i < cur->nnodes; i++)
		others += i != at && cur->nodes[i].state == PS_NODE_ACTIVE;
	/*
	 * A live node that answers leaves by the copy, and a dead one's ranges
	 * are copied from their replicas to the nodes that will hold them; a
	 * node that does not answer is cut off.
	 */
	if (others > 0 && any_keys(cur) &&
		(cur->nodes[at].state == PS_NODE_DEAD ||
		 (cur->nodes[at].state == PS_NODE_ACTIVE && node_keys(cur, at) >= 0)))
	{
		check_movable(cur, NULL);
		new->nodes[at].state = cur->nodes[at].state == PS_NODE_DEAD ?
			PS_NODE_REMOVING : PS_NODE_LEAVING;
		ps_sql_change_check_ring(new);
		parts = palloc0(sizeof(Participant) * new->nnodes);
		n = ps_sql_change_participants(new, cur->version, parts);
		(void) ps_sql_change_apply(new, parts, n, NULL, NULL);
		PG_RETURN_INT64(finish_move(new));
	}
	memmove(&new->nodes[at], &new->nodes[at + 1],
			sizeof(PsClusterNode) * (new->nnodes - at - 1));
	new->nnodes--;
	ps_sql_change_check_ring(new);

	parts = palloc0(sizeof(Participant) * (new->nnodes + 1));
	n = ps_sql_change_participants(new, cur->version, parts);
	if (PS_NODE_LIVE(cur->nodes[at].state))
	{
		parts[n].node = node;
		parts[n].conninfo = cur->nodes[at].conninfo;
		parts[n].expect = cur->version;
		parts[n].optional = true;
		n++;
	}
	(void) ps_sql_change_apply(new, parts, n, NULL, NULL);
	if (ps_cluster_replicating(new) || ps_cluster_replicating(cur))
		(void) ps_sql_setup_replication(new);
	if (cur->nodes[at].state == PS_NODE_JOINING)
		ps_sql_unset_replication(cur->nodes[at].conninfo);
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
	cur = ps_sql_change_current();
	if (cur->version == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("this server is not in a cluster"),
				 errhint("Build the cluster with ps_cluster_add() first.")));
	not_moving(cur);
	new = ps_sql_change_copy(cur, 0);
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
	ps_sql_change_check_ring(new);
	parts = palloc0(sizeof(Participant) * new->nnodes);
	n = ps_sql_change_participants(new, cur->version, parts);
	(void) ps_sql_change_apply(new, parts, n, NULL, NULL);
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
	PsCluster  *cur = ps_sql_change_current(),
			   *new;
	Participant *parts;
	int			at = ps_cluster_find(cur, node),
				n;

	if (at < 0 || !PS_NODE_LIVE(cur->nodes[at].state))
		return 0;
	if (node == cur->self)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("node %u cannot declare itself dead", node),
				 errhint("Declare a node dead from another node; to take this one off the ring, run ps_cluster_remove().")));
	new = ps_sql_change_copy(cur, 0);
	new->version = cur->version + 1;
	new->nodes[at].state = PS_NODE_DEAD;
	if (cur->nodes[at].state == PS_NODE_JOINING)
	{
		/* it served nothing yet: the join is given up */
		memmove(&new->nodes[at], &new->nodes[at + 1],
				sizeof(PsClusterNode) * (new->nnodes - at - 1));
		new->nnodes--;
	}
	ps_sql_change_check_ring(new);
	parts = palloc0(sizeof(Participant) * new->nnodes);
	n = ps_sql_change_participants(new, cur->version, parts);
	(void) ps_sql_change_apply(new, parts, n, NULL, NULL);
	if (ps_cluster_replicating(new) || ps_cluster_replicating(cur))
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
