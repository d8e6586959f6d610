/*-------------------------------------------------------------------------
 *
 * ps_train_tables.c
 *	  The tables ps_train trains into: the model table (created if
 *	  missing, refused if not a ps table or not empty, configured) and the
 *	  batch method's sync table, on the server given, or, if it is a node
 *	  of a cluster, alike on every active node (ps_cluster_nodes()), each
 *	  reached with the conninfo the user gave but the node's host, port
 *	  and database, as the client library reaches them; every node is
 *	  checked before any changes.
 *
 * Layer 12 (tools), in src/tools: libpq only.
 *
 *-------------------------------------------------------------------------
 */
#include "ps_train_tables.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

/* Give up before the workers started: the sync tables go. */
static void
die(const char *what, const char *why)
{
	fprintf(stderr, "ps_train: %s: %s\n", what, why);
	train_drop_sync_table();
	exit(1);
}

/* The batch method's sync table, and the connections that made it (a node each). */
#define MAX_NODES 64
static PGconn *sync_conns[MAX_NODES];
static int	nsync;
static char *sync_name;

/* Drop the sync table on every node that has it (a run that ends or dies). */
void
train_drop_sync_table(void)
{
	char		sql[1024];

	if (sync_name == NULL)
		return;
	snprintf(sql, sizeof(sql), "DROP TABLE IF EXISTS %s", sync_name);
	for (; nsync > 0; nsync--)
	{
		PQclear(PQexec(sync_conns[nsync - 1], sql));
		PQfinish(sync_conns[nsync - 1]);
	}
}

static void *
xmalloc(size_t n)
{
	void	   *p = malloc(n);

	if (p == NULL)
	{
		fprintf(stderr, "ps_train: out of memory\n");
		exit(1);
	}
	return p;
}

/* Append kw='val' (quoted as libpq reads it) to buf, which has room. */
static void
add_option(char *buf, const char *kw, const char *val)
{
	char	   *p = buf + strlen(buf);

	p += sprintf(p, "%s%s='", *buf ? " " : "", kw);
	for (; *val; val++)
	{
		if (*val == '\'' || *val == '\\')
			*p++ = '\\';
		*p++ = *val;
	}
	*p++ = '\'';
	*p = '\0';
}

/* server's conninfo with host, port and dbname replaced. */
static char *
node_conninfo(const char *server, const char *host, const char *port, const char *dbname)
{
	PQconninfoOption *opts = PQconninfoParse(server, NULL);
	PQconninfoOption *o;
	size_t		room = strlen(server) * 2 + 2 * (strlen(host) + strlen(port) + strlen(dbname)) + 64;
	char	   *buf;

	for (o = opts; o && o->keyword; o++)
		room += strlen(o->keyword) + (o->val ? 2 * strlen(o->val) : 0) + 8;
	buf = xmalloc(room);
	buf[0] = '\0';
	for (o = opts; o && o->keyword; o++)
	{
		const char *v = o->val;

		if (strcmp(o->keyword, "host") == 0)
			v = host;
		else if (strcmp(o->keyword, "hostaddr") == 0)
			v = NULL;			/* the ring's host names the node */
		else if (strcmp(o->keyword, "port") == 0)
			v = port;
		else if (strcmp(o->keyword, "dbname") == 0)
			v = dbname;
		if (v && *v)
			add_option(buf, o->keyword, v);
	}
	if (opts)
		PQconninfoFree(opts);
	return buf;
}

/*
 * The conninfos of the servers to prepare (*n of them, malloc'd): the
 * active nodes of conn's cluster, or server alone.
 */
static char **
train_nodes(PGconn *conn, const char *schema, const char *server, int *n)
{
	char		sql[512];
	PGresult   *r;
	char	  **out;
	int			i;

	snprintf(sql, sizeof(sql),
			 "SELECT host, port, dbname FROM %s.ps_cluster_nodes()"
			 " WHERE state OPERATOR(pg_catalog.=) 'active'", schema);
	r = PQexec(conn, sql);
	/* an extension before clusters (0.7), or a server on its own */
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) == 0)
	{
		PQclear(r);
		out = xmalloc(sizeof(char *));
		out[0] = strdup(server);
		*n = 1;
		return out;
	}
	*n = PQntuples(r);
	out = xmalloc(sizeof(char *) * *n);
	for (i = 0; i < *n; i++)
		out[i] = node_conninfo(server, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
							   PQgetvalue(r, i, 2));
	PQclear(r);
	return out;
}

/* One statement with text parameters; dies on error; returns the first value. */
static char *
sql_value(PGconn *conn, const char *sql, int n, const char *const *params)
{
	PGresult   *r = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
	char	   *v;

	if (PQresultStatus(r) != PGRES_TUPLES_OK && PQresultStatus(r) != PGRES_COMMAND_OK)
		die("preparing the table", PQerrorMessage(conn));
	v = strdup(PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "");
	PQclear(r);
	return v;
}

/*
 * The batch method: the model table takes the weights by the sum rule;
 * the sync table (UNLOGGED, named after the model table with _ps_sync,
 * in its schema, commented 'ps_train sync table') carries the reductions
 * under sequential consistency.  A session advisory lock on the model
 * table, held until the end, keeps two runs from sharing it; a sync table
 * left by a run that died is dropped, any other table of that name is
 * refused.
 */
static void
prepare_sync(TrainOptions *o, PGconn *conn, const char *schema, const char **p)
{
	char		sql[1024];
	char	   *locked,
			   *am;

	locked = sql_value(conn, "SELECT pg_catalog.pg_try_advisory_lock("
					   "'pg_catalog.pg_class'::pg_catalog.regclass::pg_catalog.oid::pg_catalog.int4, "
					   "$1::pg_catalog.regclass::pg_catalog.oid::pg_catalog.int4)", 1, p);
	if (strcmp(locked, "t") != 0)
	{
		fprintf(stderr, "ps_train: another ps_train is training %s (nothing was changed)\n", o->table);
		exit(1);
	}
	free(locked);
	sync_name = sql_value(conn, "SELECT pg_catalog.format('%I.%I', n.nspname, "
						  "pg_catalog.left(c.relname::pg_catalog.text, 54) OPERATOR(pg_catalog.||) '_ps_sync') "
						  "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
						  "ON n.oid OPERATOR(pg_catalog.=) c.relnamespace "
						  "WHERE c.oid OPERATOR(pg_catalog.=) $1::pg_catalog.regclass", 1, p);
	p[1] = sync_name;
	/* in the way: anything but a sync table an earlier run left */
	am = sql_value(conn, "SELECT CASE WHEN pg_catalog.obj_description(c.oid, 'pg_class') "
				   "OPERATOR(pg_catalog.=) 'ps_train sync table' AND a.amname OPERATOR(pg_catalog.=) 'ps' "
				   "THEN 'left' ELSE 'other' END FROM pg_catalog.pg_class c LEFT JOIN pg_catalog.pg_am a "
				   "ON a.oid OPERATOR(pg_catalog.=) c.relam "
				   "WHERE c.oid OPERATOR(pg_catalog.=) pg_catalog.to_regclass($1)", 1, p + 1);
	if (strcmp(am, "other") == 0)
	{
		fprintf(stderr, "ps_train: %s exists and is not a sync table of ps_train: the batch method needs that name for its reductions (nothing was changed)\n",
				sync_name);
		exit(1);
	}
	sync_conns[nsync++] = conn;
	if (strcmp(am, "left") == 0)
	{
		snprintf(sql, sizeof(sql), "DROP TABLE %s", sync_name);
		free(sql_value(conn, sql, 0, NULL));
	}
	free(am);
	snprintf(sql, sizeof(sql), "CREATE UNLOGGED TABLE %s (key bigint, val real) USING ps", sync_name);
	free(sql_value(conn, sql, 0, NULL));
	snprintf(sql, sizeof(sql), "COMMENT ON TABLE %s IS 'ps_train sync table'", sync_name);
	free(sql_value(conn, sql, 0, NULL));
	snprintf(sql, sizeof(sql),
			 "SELECT %s.ps_configure($1::pg_catalog.regclass, update_rule => 'sum', "
			 "l1 => 0, l2 => 0, kkt_filter => false) IS NOT NULL",
			 schema);
	free(sql_value(conn, sql, 1, p));
	p[0] = sync_name;
	snprintf(sql, sizeof(sql),
			 "SELECT %s.ps_configure($1::pg_catalog.regclass, update_rule => 'sum', "
			 "consistency => 'sequential') IS NOT NULL", schema);
	free(sql_value(conn, sql, 1, p));
	o->sync_table = sync_name;
}

/* A connection to server with the extension's schema in *schema; dies if none. */
static PGconn *
connect_node(const char *server, char **schema)
{
	PGconn	   *conn = PQconnectdb(server);

	if (PQstatus(conn) != CONNECTION_OK)
		die("connecting", PQerrorMessage(conn));
	PQclear(PQexec(conn, "SET client_min_messages = warning"));
	*schema = sql_value(conn,
						"SELECT pg_catalog.quote_ident(n.nspname) FROM pg_catalog.pg_extension e "
						"JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace "
						"WHERE e.extname OPERATOR(pg_catalog.=) 'ps'", 0, NULL);
	if (**schema == '\0')
		die("the database", "the ps extension is not installed (CREATE EXTENSION ps)");
	return conn;
}

/*
 * Before anything changes on any node: the table, where it exists, must
 * be a ps table, and empty unless reset.
 */
static void
check_table(const TrainOptions *o, PGconn *conn, bool reset)
{
	const char *p[1] = {o->table};
	char	   *am = sql_value(conn, "SELECT a.amname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_am a "
							   "ON a.oid OPERATOR(pg_catalog.=) c.relam "
							   "WHERE c.oid OPERATOR(pg_catalog.=) pg_catalog.to_regclass($1)", 1, p);
	char		sql[1024];
	char	   *rows;

	if (*am != '\0' && strcmp(am, "ps") != 0)
	{
		fprintf(stderr, "ps_train: %s is not a ps table: its weights would go nowhere (nothing was changed)\n",
				o->table);
		exit(1);
	}
	if (*am != '\0' && !reset)
	{
		snprintf(sql, sizeof(sql), "SELECT pg_catalog.count(*) FROM %s",
				 sql_value(conn, "SELECT $1::pg_catalog.regclass::pg_catalog.text", 1, p));
		rows = sql_value(conn, sql, 0, NULL);
		if (strcmp(rows, "0") != 0)
		{
			fprintf(stderr, "ps_train: table %s is not empty (%s weights): give --reset to empty it first\n",
					o->table, rows);
			exit(1);
		}
		free(rows);
	}
	free(am);
}

/*
 * The table on one server (conn; in a cluster, each node): created if
 * missing, refused if it is not a ps table, or not empty (unless reset),
 * and configured.
 */
static void
prepare_node(TrainOptions *o, PGconn *conn, char *schema, const char *consistency,
			 int max_delay, bool reset)
{
	char	   *exists,
			   *name,
			   *rows,
			   *am;
	char		sql[1024],
				lambda[64],
				lr[64],
				delay[32];
	const char *p[7];

	p[0] = o->table;
	exists = sql_value(conn, "SELECT pg_catalog.to_regclass($1) IS NOT NULL", 1, p);
	if (strcmp(exists, "f") == 0)
	{
		/* the name as SQL reads it (w and W are w; "W" is W), quoted */
		char	   *q = sql_value(conn,
								  "SELECT CASE WHEN pg_catalog.array_length(pg_catalog.parse_ident($1), 1) "
								  "OPERATOR(pg_catalog.=) 1 THEN pg_catalog.quote_ident((pg_catalog.parse_ident($1))[1]) END",
								  1, p);

		if (*q == '\0')
			die("the table", "it does not exist; give an unqualified name to have it created, or create it");
		snprintf(sql, sizeof(sql), "CREATE TABLE %s (key bigint, val real) USING %s", q, "ps");
		free(q);
		free(sql_value(conn, sql, 0, NULL));
	}
	am = sql_value(conn, "SELECT a.amname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_am a "
				   "ON a.oid OPERATOR(pg_catalog.=) c.relam WHERE c.oid OPERATOR(pg_catalog.=) $1::pg_catalog.regclass",
				   1, p);
	if (strcmp(am, "ps") != 0)
	{
		fprintf(stderr, "ps_train: %s is not a ps table: its weights would go nowhere (nothing was changed)\n",
				o->table);
		exit(1);
	}
	free(am);
	name = sql_value(conn, "SELECT $1::pg_catalog.regclass::pg_catalog.text", 1, p);
	if (reset)
	{
		snprintf(sql, sizeof(sql), "TRUNCATE %s", name);
		free(sql_value(conn, sql, 0, NULL));
	}
	snprintf(sql, sizeof(sql), "SELECT pg_catalog.count(*) FROM %s", name);
	rows = sql_value(conn, sql, 0, NULL);
	if (strcmp(rows, "0") != 0)
	{
		fprintf(stderr, "ps_train: table %s is not empty (%s weights): give --reset to empty it first\n",
				name, rows);
		exit(1);
	}
	if (o->full_batch)
	{
		prepare_sync(o, conn, schema, p);
		free(exists);
		free(name);
		free(rows);
		return;
	}

	/*
	 * FTRL regularises the sum of every gradient pushed: after E epochs,
	 * E times the training loss; E * lambda makes that E times the
	 * objective, whose minimum is the objective's.
	 */
	snprintf(lambda, sizeof(lambda), "%.17g", o->lambda * o->epochs);
	snprintf(lr, sizeof(lr), "%.17g", o->learning_rate);
	snprintf(delay, sizeof(delay), "%d", max_delay);
	p[1] = consistency;
	p[2] = delay;
	p[3] = lr;
	p[4] = o->l1 ? lambda : "0";
	p[5] = o->l1 ? "0" : lambda;
	p[6] = o->kkt ? "true" : "false";
	snprintf(sql, sizeof(sql),
			 "SELECT %s.ps_configure($1::pg_catalog.regclass, update_rule => 'ftrl', "
			 "consistency => $2, max_delay => $3::integer, learning_rate => $4::real, "
			 "l1 => $5::real, l2 => $6::real, beta => 1, kkt_filter => $7::boolean) IS NOT NULL",
			 schema);
	free(sql_value(conn, sql, 7, p));
	free(exists);
	free(name);
	free(rows);
	PQfinish(conn);
}

/*
 * The table, and the batch method's sync table, on the server, or on
 * every active node of its cluster: checked everywhere first, then made
 * and configured alike on each.
 */
void
train_prepare_tables(TrainOptions *o, const char *consistency, int max_delay,
					 bool reset)
{
	char	   *schema;
	PGconn	   *conn = connect_node(o->server, &schema);
	int			n,
				i;
	char	  **nodes = train_nodes(conn, schema, o->server, &n);

	if (n > MAX_NODES)
		die("the cluster", "ps_train prepares at most 64 nodes");
	for (i = 0; i < n; i++)
	{
		char	   *s;
		PGconn	   *c = connect_node(nodes[i], &s);

		check_table(o, c, reset);
		PQfinish(c);
		free(s);
	}
	for (i = 0; i < n; i++)
	{
		char	   *s;
		PGconn	   *c = connect_node(nodes[i], &s);

		prepare_node(o, c, s, consistency, max_delay, reset);
		free(s);
		free(nodes[i]);
	}
	if (n > 1)
		fprintf(stderr, "ps_train: table %s prepared on the %d active nodes of the cluster\n", o->table, n);
	free(nodes);
	free(schema);
	PQfinish(conn);
}

