/*-------------------------------------------------------------------------
 *
 * ps_sql_cluster_repl.c
 *	  The replication topology of a cluster: on every active node the
 *	  publications of its rows for each other node, the subscriptions to
 *	  the nodes whose ranges it replicates, and synchronous_standby_names.
 *
 * Node O replicates to node N when N keeps a copy of a range O serves:
 * N is alive and among the `replicas` nodes after the range's token
 * clockwise on the placement ring (ps_cluster_replicas).  Every node publishes
 * ps_to_N, the rows of its ps_delta for N (a row filter on dest, inserts
 * only); N subscribes to O's as subscription ps_O_N (its slot on O has
 * the same name), with copy_data = false (ps_delta holds only what is not
 * confirmed yet) and synchronous_commit = local (a subscriber that
 * flushes at once lets a synchronous commit on O go on at once; one that
 * waited for its own subscribers would wait in a cycle with them).  In synchronous
 * mode O's synchronous_standby_names waits for all of its subscribers
 * ("ANY m (...)" of its m subscriptions); asynchronous, it is reset.  This
 * takes the setting over: a node of a cluster with replicas cannot also
 * use it for its own standbys.
 *
 * Run by the admin functions after a change committed everywhere, over
 * libpq as top-level statements (CREATE SUBSCRIPTION and ALTER SYSTEM
 * cannot run in a function's transaction); a node that fails is warned
 * about and set up again by the next change or ps_cluster_configure.
 *
 * Layer 9 (SQL entry points): used by ps_sql_cluster_admin.c.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "utils/builtins.h"

#include "ps_cluster.h"
#include "ps_remote.h"
#include "ps_sql_cluster.h"
#include "ps_sql_cluster_repl.h"

/*
 * Does node `to` keep copies of some of the ranges node `from` serves on
 * c, or will serve once the nodes joining and leaving are through?  The
 * subscriptions for those are made before the switch, so that a range's
 * first writes at its new server have their replicas.
 */
static bool
replicates(const PsCluster *c, uint32 from, uint32 to)
{
	uint32	   *holders = palloc(sizeof(uint32) * PS_CLUSTER_HOLDERS(c));
	size_t		t;
	bool		yes = false;

	for (t = 0; t < c->ntokens && !yes; t++)
	{
		size_t		n,
					h;

		if (c->tokens[t].node != from && c->after[t].node != from)
			continue;
		n = ps_cluster_replicas_of(c, t, from, holders);
		for (h = 0; h < n; h++)
			yes |= holders[h] == to;
	}
	pfree(holders);
	return yes;
}

/* Is node i alive (active, joining or leaving)? */
static bool
active(const PsCluster *c, int i)
{
	return PS_NODE_LIVE(c->nodes[i].state);
}

/* The extension's schema on conn, quoted; NULL with *err. */
char *
ps_sql_remote_schema(PGconn *conn, char **err)
{
	PGresult   *res = ps_remote_exec(conn,
									 "SELECT pg_catalog.quote_ident(n.nspname) FROM pg_catalog.pg_extension e"
									 " JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace"
									 " WHERE e.extname OPERATOR(pg_catalog.=) 'ps'",
									 0, NULL, err);
	char	   *s = NULL;

	if (res != NULL && PQntuples(res) == 1)
		s = pstrdup(PQgetvalue(res, 0, 0));
	else if (res != NULL)
		*err = pstrdup("that database has no extension ps");
	if (res)
		PQclear(res);
	return s;
}

/* Does the query (one parameter) find a row?  -1 on failure. */
static int
exists(PGconn *conn, const char *sql, const char *param, char **err)
{
	const char *params[1] = {param};
	PGresult   *res = ps_remote_exec(conn, sql, 1, params, err);
	int			yes;

	if (res == NULL)
		return -1;
	yes = PQntuples(res) > 0;
	PQclear(res);
	return yes;
}

/*
 * Drop node i's slots ps_<i>_<N> of subscribers N that do not replicate
 * it any more (the subscription of a live N was dropped with its slot by
 * N's own setup; a dead one's stays behind and would keep WAL for ever).
 * A slot still in use by a dead node's last connection is ended first.
 */
static bool
drop_stale_slots(const PsCluster *c, int i, PGconn *conn, char **err)
{
	uint32		me = c->nodes[i].id;
	char		pattern[32],
				prefix[32];
	const char *params[1];
	PGresult   *res;
	int			r;

	/* only names of this scheme: a user's slot named alike is not ours */
	snprintf(pattern, sizeof(pattern), "^ps_%u_[0-9]+$", me);
	snprintf(prefix, sizeof(prefix), "ps_%u_", me);
	params[0] = pattern;
	res = ps_remote_exec(conn,
						 "SELECT slot_name, active_pid FROM pg_catalog.pg_replication_slots"
						 " WHERE slot_name OPERATOR(pg_catalog.~) $1",
						 1, params, err);
	if (res == NULL)
		return false;
	for (r = 0; r < PQntuples(res); r++)
	{
		const char *name = PQgetvalue(res, r, 0);
		uint32		to = (uint32) strtoul(name + strlen(prefix), NULL, 10);
		int			j = ps_cluster_find(c, to);
		const char *drop[1] = {name};
		const char *pid[1] = {PQgetvalue(res, r, 1)};
		PGresult   *d;

		if (j >= 0 && active(c, j) && replicates(c, me, to))
			continue;
		if (!PQgetisnull(res, r, 1))
		{
			if (j >= 0 && active(c, j))
				continue;		/* a live node still dropping its subscription */
			d = ps_remote_exec(conn, "SELECT pg_catalog.pg_terminate_backend($1::pg_catalog.int4, 1000)",
							   1, pid, err);
			if (d)
				PQclear(d);
		}
		d = ps_remote_exec(conn, "SELECT pg_catalog.pg_drop_replication_slot($1)", 1, drop, err);
		if (d == NULL)
		{
			PQclear(res);
			return false;
		}
		PQclear(d);
	}
	PQclear(res);
	return true;
}

/*
 * Drop subscription name (quoted) on conn, with its slot on the origin if
 * the origin answers, else without; false with *err.
 */
static bool
drop_subscription(PGconn *conn, const char *name, char **err)
{
	return ps_remote_command(conn, psprintf("DROP SUBSCRIPTION %s", name), err) ||
		(ps_remote_command(conn, psprintf("ALTER SUBSCRIPTION %s DISABLE", name), err) &&
		 ps_remote_command(conn, psprintf("ALTER SUBSCRIPTION %s SET (slot_name = NONE)", name), err) &&
		 ps_remote_command(conn, psprintf("DROP SUBSCRIPTION %s", name), err));
}

/*
 * Drop node i's subscriptions ps_<O>_<i> that it does not want on c: O
 * gone from the ring, dead, or no longer replicated by i.
 */
static bool
drop_unwanted(const PsCluster *c, int i, PGconn *conn, char **err)
{
	uint32		me = c->nodes[i].id;
	char		pattern[32];
	const char *params[1] = {pattern};
	PGresult   *res;
	int			r;

	snprintf(pattern, sizeof(pattern), "^ps_[0-9]+_%u$", me);
	res = ps_remote_exec(conn, "SELECT subname FROM pg_catalog.pg_subscription"
						 " WHERE subname OPERATOR(pg_catalog.~) $1", 1, params, err);
	if (res == NULL)
		return false;
	for (r = 0; r < PQntuples(res); r++)
	{
		const char *name = PQgetvalue(res, r, 0);
		uint32		from = (uint32) strtoul(name + 3, NULL, 10);
		int			j = ps_cluster_find(c, from);

		if (j >= 0 && j != i && active(c, j) && replicates(c, from, me))
			continue;
		if (!drop_subscription(conn, quote_identifier(name), err))
		{
			PQclear(res);
			return false;
		}
	}
	PQclear(res);
	return true;
}

/*
 * The steps of setting a node up, each done on every node before the next
 * starts: a subscription's slot is made only once every origin's
 * synchronous commits can go on (a slot waits for the transactions under
 * way on its origin, and a commit waiting for a subscriber not there yet
 * would wait for ever), and a subscription is dropped only once its origin
 * no longer waits for it.
 */
typedef enum SetupStep
{
	SETUP_PUBLICATIONS,
	SETUP_SUBSCRIPTIONS,
	SETUP_SYNCHRONOUS,
	SETUP_DROPS
} SetupStep;

/* Step `step` of setting node i up (connected as conn); false with *err. */
static bool
setup_node(const PsCluster *c, int i, PGconn *conn, SetupStep step, char **err)
{
	uint32		me = c->nodes[i].id;
	char	   *schema = ps_sql_remote_schema(conn, err);
	StringInfoData subs;
	int			nsubs = 0;
	int			j;

	if (schema == NULL)
		return false;
	/* publications: this node's rows for each other node */
	for (j = 0; j < c->nnodes; j++)
	{
		char	   *name = psprintf("ps_to_%u", c->nodes[j].id);
		int			e;

		if (j == i || !active(c, j))
			continue;
		e = exists(conn, "SELECT 1 FROM pg_catalog.pg_publication WHERE pubname OPERATOR(pg_catalog.=) $1",
				   name, err);
		if (e < 0)
			return false;
		if (e == 0 &&
			!ps_remote_command(conn,
							   psprintf("CREATE PUBLICATION %s FOR TABLE %s.ps_delta WHERE (dest = %u)"
										" WITH (publish = 'insert')", name, schema, c->nodes[j].id),
							   err))
			return false;
	}
	if (step == SETUP_PUBLICATIONS)
		return true;
	/* subscriptions: to the nodes whose ranges it replicates */
	for (j = 0; j < c->nnodes && step == SETUP_SUBSCRIPTIONS; j++)
	{
		uint32		from = c->nodes[j].id;
		char	   *name = psprintf("ps_%u_%u", from, me);
		int			e;

		if (j == i || !active(c, j) || !replicates(c, from, me))
			continue;
		e = exists(conn, "SELECT 1 FROM pg_catalog.pg_subscription WHERE subname OPERATOR(pg_catalog.=) $1",
				   name, err);
		if (e < 0)
			return false;
		if (e == 0 &&
			!ps_remote_command(conn,
							   psprintf("CREATE SUBSCRIPTION %s CONNECTION %s PUBLICATION ps_to_%u"
										" WITH (copy_data = false, synchronous_commit = 'local', slot_name = '%s')",
										name, quote_literal_cstr(c->nodes[j].conninfo), me, name),
							   err))
			return false;
	}
	/* and none other: to nodes gone from the ring too */
	if (step == SETUP_DROPS && !drop_unwanted(c, i, conn, err))
		return false;
	/* slots of subscribers gone (a dead node cannot drop its own) */
	if (step == SETUP_DROPS)
		return drop_stale_slots(c, i, conn, err);
	if (step == SETUP_SUBSCRIPTIONS)
		return true;

	/* synchronous mode: a commit waits for every subscriber of this node */
	initStringInfo(&subs);
	for (j = 0; j < c->nnodes; j++)
		if (j != i && active(c, j) && replicates(c, me, c->nodes[j].id))
		{
			appendStringInfo(&subs, "%s\"ps_%u_%u\"", nsubs > 0 ? ", " : "", me, c->nodes[j].id);
			nsubs++;
		}
	if (c->synchronous && nsubs > 0)
	{
		char	   *value = psprintf("ANY %d (%s)", nsubs, subs.data);

		if (!ps_remote_command(conn, psprintf("ALTER SYSTEM SET synchronous_standby_names = %s",
											  quote_literal_cstr(value)), err))
			return false;
	}
	else if (!ps_remote_command(conn, "ALTER SYSTEM RESET synchronous_standby_names", err))
		return false;
	if (!ps_remote_command(conn, "SELECT pg_catalog.pg_reload_conf()", err))
		return false;

	/*
	 * Commits waiting for a subscriber that is gone are released by the
	 * next reply of one that is not; a subscriber replies when its origin
	 * sends something.  A transaction of its own (empty for the
	 * subscribers, which are told of it all the same) makes them reply now
	 * rather than at their next status interval.  Twice: the first may
	 * reach a walsender before it read the new setting.
	 */
	pg_usleep(20000L);
	if (!ps_remote_command(conn, "SELECT pg_catalog.pg_current_xact_id()", err))
		return false;
	pg_usleep(50000L);
	return ps_remote_command(conn, "SELECT pg_catalog.pg_current_xact_id()", err);
}

/*
 * Set up replication on every active node of c as its ring asks; warns
 * about the nodes that failed.  Returns how many did.
 */
int
ps_sql_setup_replication(const PsCluster *c)
{
	bool	   *failed = palloc0(sizeof(bool) * Max(c->nnodes, 1));
	int			nfailed = 0,
				pass,
				i;

	/* each step everywhere before the next (SetupStep) */
	for (pass = SETUP_PUBLICATIONS; pass <= SETUP_DROPS; pass++)
		for (i = 0; i < c->nnodes; i++)
		{
			char	   *err = NULL;
			PGconn	   *conn;

			if (!active(c, i))
				continue;
			conn = ps_remote_connect(c->nodes[i].conninfo, &err);
			if (conn != NULL && setup_node(c, i, conn, (SetupStep) pass, &err))
			{
				ps_remote_close(conn);
				continue;
			}
			ps_remote_close(conn);
			nfailed += !failed[i];
			failed[i] = true;
			ereport(WARNING,
					(errmsg("replication of node %u was not set up: %s", c->nodes[i].id,
							err ? err : "unknown error"),
					 errhint("Run ps_cluster_configure() again once the node answers.")));
		}
	return nfailed;
}

/*
 * This node was declared dead (the monitor took the ring that says so):
 * over conninfo, its own, drop its subscriptions and slots (the other
 * nodes dropped their sides) and stop waiting for synchronous standbys,
 * so that nothing on it waits for replicas it no longer has.  Warns if it
 * could not.
 */
void
ps_sql_unset_replication(const char *conninfo)
{
	char	   *err = NULL;
	PGconn	   *conn = ps_remote_connect(conninfo, &err);
	PGresult   *res = NULL;
	bool		ok = conn != NULL;
	int			r;

	if (ok)
		ok = ps_remote_command(conn, "ALTER SYSTEM RESET synchronous_standby_names", &err) &&
			ps_remote_command(conn, "SELECT pg_catalog.pg_reload_conf()", &err) &&
			(res = ps_remote_exec(conn,
								  "SELECT subname FROM pg_catalog.pg_subscription"
								  " WHERE subname OPERATOR(pg_catalog.~) '^ps_[0-9]+_[0-9]+$'",
								  0, NULL, &err)) != NULL;
	for (r = 0; ok && r < PQntuples(res); r++)
	{
		const char *name = quote_identifier(PQgetvalue(res, r, 0));

		ok = drop_subscription(conn, name, &err);
	}
	if (res)
		PQclear(res);
	if (ok)
	{
		res = ps_remote_exec(conn,
							 "SELECT pg_catalog.pg_drop_replication_slot(slot_name)"
							 " FROM pg_catalog.pg_replication_slots"
							 " WHERE slot_name OPERATOR(pg_catalog.~) '^ps_[0-9]+_[0-9]+$' AND NOT active",
							 0, NULL, &err);
		ok = res != NULL;
		if (res)
			PQclear(res);
	}
	ps_remote_close(conn);
	if (!ok)
		ereport(WARNING,
				(errmsg("this node, declared dead, could not take down its replication: %s",
						err ? err : "unknown error"),
				 errhint("Drop its subscriptions ps_*_* and reset synchronous_standby_names by hand.")));
}
