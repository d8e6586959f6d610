/*-------------------------------------------------------------------------
 *
 * ps_sql_cluster_repl.c
 *	  The replication topology of a cluster: on every active node the
 *	  publications of its rows for each other node, the subscriptions to
 *	  the nodes whose ranges it replicates, and synchronous_standby_names.
 *
 * Node O replicates to node N when N is among the `replicas` nodes after
 * one of O's tokens clockwise (ps_ring_holders).  Every node publishes
 * ps_to_N, the rows of its ps_delta for N (a row filter on dest, inserts
 * only); N subscribes to O's as subscription ps_O_N (its slot on O has
 * the same name), with copy_data = false (ps_delta holds only what is not
 * confirmed yet) and synchronous_commit = on (a subscriber that flushes
 * at once lets a synchronous commit on O go on at once).  In synchronous
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

/* Does node `to` replicate some of node `from`'s ranges on ring c? */
static bool
replicates(const PsCluster *c, uint32 from, uint32 to)
{
	uint32	   *holders = palloc(sizeof(uint32) * (c->replicas + 1));
	size_t		t;
	bool		yes = false;

	for (t = 0; t < c->ntokens && !yes; t++)
	{
		size_t		n,
					h;

		if (c->tokens[t].node != from)
			continue;
		n = ps_ring_holders(c->tokens, c->ntokens, t, (size_t) c->replicas, holders);
		for (h = 1; h < n; h++)
			yes |= holders[h] == to;
	}
	pfree(holders);
	return yes;
}

static bool
active(const PsCluster *c, int i)
{
	return c->nodes[i].state == PS_NODE_ACTIVE;
}

/* The extension's schema on conn, quoted; NULL with *err. */
static char *
schema_of(PGconn *conn, char **err)
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

/* Set node i up (connected as conn), or only its publications; false with *err. */
static bool
setup_node(const PsCluster *c, int i, PGconn *conn, bool publications_only, char **err)
{
	uint32		me = c->nodes[i].id;
	char	   *schema = schema_of(conn, err);
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
	if (publications_only)
		return true;
	/* subscriptions: to the nodes whose ranges it replicates, none other */
	for (j = 0; j < c->nnodes; j++)
	{
		uint32		from = c->nodes[j].id;
		char	   *name = psprintf("ps_%u_%u", from, me);
		bool		want = j != i && active(c, j) && c->replicas > 0 &&
			replicates(c, from, me);
		int			e = exists(conn, "SELECT 1 FROM pg_catalog.pg_subscription WHERE subname OPERATOR(pg_catalog.=) $1",
							   name, err);

		if (e < 0)
			return false;
		if (want && e == 0)
		{
			if (!ps_remote_command(conn,
								   psprintf("CREATE SUBSCRIPTION %s CONNECTION %s PUBLICATION ps_to_%u"
											" WITH (copy_data = false, synchronous_commit = 'on', slot_name = '%s')",
											name, quote_literal_cstr(c->nodes[j].conninfo), me, name),
								   err))
				return false;
		}
		else if (!want && e == 1)
		{
			/* its slot on the origin goes with it, if the origin answers */
			if (!ps_remote_command(conn, psprintf("DROP SUBSCRIPTION %s", name), err) &&
				(!ps_remote_command(conn, psprintf("ALTER SUBSCRIPTION %s DISABLE", name), err) ||
				 !ps_remote_command(conn, psprintf("ALTER SUBSCRIPTION %s SET (slot_name = NONE)", name), err) ||
				 !ps_remote_command(conn, psprintf("DROP SUBSCRIPTION %s", name), err)))
				return false;
		}
	}
	/* synchronous mode: a commit waits for every subscriber of this node */
	initStringInfo(&subs);
	for (j = 0; j < c->nnodes; j++)
		if (j != i && active(c, j) && c->replicas > 0 && replicates(c, me, c->nodes[j].id))
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
	return ps_remote_command(conn, "SELECT pg_catalog.pg_reload_conf()", err);
}

/*
 * Set up replication on every active node of c as its ring asks; warns
 * about the nodes that failed.  Returns how many did.
 */
int
ps_sql_setup_replication(const PsCluster *c)
{
	int			failed = 0;
	int			pass,
				i;

	/* publications everywhere before any subscription asks for one */
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < c->nnodes; i++)
		{
			char	   *err = NULL;
			PGconn	   *conn;

			if (!active(c, i))
				continue;
			conn = ps_remote_connect(c->nodes[i].conninfo, &err);
			if (conn != NULL && setup_node(c, i, conn, pass == 0, &err))
			{
				ps_remote_close(conn);
				continue;
			}
			ps_remote_close(conn);
			if (pass == 1)
				failed++;
			ereport(WARNING,
					(errmsg("replication of node %u was not set up: %s", c->nodes[i].id,
							err ? err : "unknown error"),
					 errhint("Run ps_cluster_configure() again once the node answers.")));
		}
	return failed;
}
