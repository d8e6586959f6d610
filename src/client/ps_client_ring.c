/*-------------------------------------------------------------------------
 *
 * ps_client_ring.c
 *	  The ring as the client library knows it: read from a server, its
 *	  nodes' addresses, a connection per node, read again when it moved.
 *
 * ps_client_connect asks the server it is given for its ring (the nodes of
 * ps_cluster_nodes(): ids, virtual nodes, addresses) through a short
 * connection of its own.  A server on its own (ring version 0, or an
 * extension older than 0.7) gets no routing: every call goes to the one
 * connection.  In a cluster, the library builds the ring as the servers
 * do (common/ps_ring.c).  Each node has its own connection, opened when
 * first needed, with the caller's conninfo but the node's host, port and
 * database (the ring's addresses: a node added as host=a.example is
 * reached as host=a.example); the handle's own connection serves the node
 * it is connected to.  A node keeps its slot, and its connection, for as
 * long as the handle lives, also when a newer ring drops it.
 *
 * Reading the ring again asks the node that refused a key first, then the
 * caller's server, then every node, and keeps the newest ring.
 *
 * Layer 11 (client library), in src/client: uses the library's one-server
 * calls (ps_client_int.h), libpq and src/common (layer 1).
 *
 *-------------------------------------------------------------------------
 */
#include "ps_client.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "ps_client_alloc.h"
#include "ps_client_int.h"
#include "ps_client_ring.h"
#include "ps_ring.h"

void
route_error(Route *r, const char *sqlstate, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(r->error, sizeof(r->error), fmt, ap);
	va_end(ap);
	snprintf(r->sqlstate, sizeof(r->sqlstate), "%s", sqlstate ? sqlstate : "");
}

char *
route_strdup(const char *s)
{
	char	   *d;

	if (s == NULL)
		return NULL;
	d = ps_client_malloc(strlen(s) + 1);
	strcpy(d, s);
	return d;
}

/*
 * The ring of the server at conninfo: its version, and (version > 0) its
 * nodes with their addresses, into *nodes (malloc'd, *n of them; the
 * virtual nodes and states' first letters in vnodes and active).  Returns 0; -1 with *err
 * if it cannot be read; 1 if the server's extension has no clusters
 * (older than 0.7: a server on its own).
 */
static int
fetch_ring(const char *conninfo, int64_t *version, uint32_t *self, int *replicas,
		   RNode **nodes, uint32_t **vnodes, char **active, size_t *n,
		   char *err, size_t errlen)
{
	char		schema[PS_SCHEMALEN],
				extversion[PS_SCHEMALEN];
	PGconn	   *conn = ext_connect(conninfo, schema, extversion, err, errlen);
	PGresult   *res = NULL;
	char		sql[1024];
	int			rc = -1,
				i;

	*n = 0;
	*nodes = NULL;
	*vnodes = NULL;
	*active = NULL;
	if (conn == NULL)
		return -1;
	if (strlen(extversion) == 3 && strcmp(extversion, "0.7") < 0)
	{
		rc = 1;
		goto done;
	}
	snprintf(sql, sizeof(sql),
			 "SELECT s.version, s.node, n.node, n.host, n.port, n.dbname, n.virtual_nodes,"
			 " n.state, s.replicas"
			 " FROM %s.ps_cluster_status() s LEFT JOIN %s.ps_cluster_nodes() n ON true",
			 schema, schema);
	res = PQexec(conn, sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) < 1)
	{
		snprintf(err, errlen, "%s", PQresultErrorMessage(res));
		goto done;
	}
	*version = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	*self = (uint32_t) strtoul(PQgetvalue(res, 0, 1), NULL, 10);
	*replicas = atoi(PQgetvalue(res, 0, 8));
	*nodes = calloc(PQntuples(res), sizeof(RNode));
	*vnodes = calloc(PQntuples(res), sizeof(uint32_t));
	*active = calloc(PQntuples(res), sizeof(char));
	if (*nodes == NULL || *vnodes == NULL || *active == NULL)
	{
		fprintf(stderr, "ps_client: out of memory\n");
		abort();
	}
	for (i = 0; i < PQntuples(res); i++)
	{
		RNode	   *nd = &(*nodes)[*n];

		if (PQgetisnull(res, i, 2))
			continue;
		nd->id = (uint32_t) strtoul(PQgetvalue(res, i, 2), NULL, 10);
		nd->host = PQgetisnull(res, i, 3) ? NULL : route_strdup(PQgetvalue(res, i, 3));
		nd->port = PQgetisnull(res, i, 4) ? NULL : route_strdup(PQgetvalue(res, i, 4));
		nd->dbname = PQgetisnull(res, i, 5) ? NULL : route_strdup(PQgetvalue(res, i, 5));
		(*vnodes)[*n] = (uint32_t) strtoul(PQgetvalue(res, i, 6), NULL, 10);
		/* 'a'ctive, 'd'ead, 'j'oining, 'l'eaving, 'r'emoving (dead): the first letter */
		(*active)[*n] = PQgetvalue(res, i, 7)[0];
		(*n)++;
	}
	rc = 0;
done:
	PQclear(res);
	PQfinish(conn);
	return rc;
}

/* Free what fetch_ring returned (install_ring did not take). */
static void
free_fetched(RNode *nodes, uint32_t *vnodes, char *active, size_t n)
{
	size_t		i;

	for (i = 0; i < n; i++)
	{
		free(nodes[i].host);
		free(nodes[i].port);
		free(nodes[i].dbname);
	}
	free(nodes);
	free(vnodes);
	free(active);
}

/* Append keyword = 'value' to buf (quoted as libpq reads it). */
static void
add_option(char **buf, size_t *len, size_t *cap, const char *kw, const char *val)
{
	size_t		need = *len + strlen(kw) + 2 * strlen(val) + 6;
	const char *p;

	if (need > *cap)
	{
		*cap = need * 2;
		*buf = realloc(*buf, *cap);
		if (*buf == NULL)
			abort();
	}
	*len += sprintf(*buf + *len, "%s%s='", *len ? " " : "", kw);
	for (p = val; *p; p++)
	{
		if (*p == '\'' || *p == '\\')
			(*buf)[(*len)++] = '\\';
		(*buf)[(*len)++] = *p;
	}
	(*buf)[(*len)++] = '\'';
	(*buf)[*len] = '\0';
}

/* The caller's conninfo with node nd's host, port and database. */
char *
route_node_conninfo(const Route *r, const RNode *nd)
{
	PQconninfoOption *opts = PQconninfoParse(r->conninfo ? r->conninfo : "", NULL);
	PQconninfoOption *o;
	char	   *buf = NULL;
	size_t		len = 0,
				cap = 0;

	for (o = opts; o != NULL && o->keyword != NULL; o++)
	{
		const char *v = o->val;

		if (strcmp(o->keyword, "host") == 0 && nd->host)
			v = nd->host;
		else if (strcmp(o->keyword, "hostaddr") == 0 && nd->host)
			v = NULL;			/* the ring's host names the node */
		else if (strcmp(o->keyword, "port") == 0 && nd->port)
			v = nd->port;
		else if (strcmp(o->keyword, "dbname") == 0 && nd->dbname)
			v = nd->dbname;
		if (v != NULL && v[0] != '\0')
			add_option(&buf, &len, &cap, o->keyword, v);
	}
	if (opts)
		PQconninfoFree(opts);
	return buf ? buf : route_strdup("");
}

/* Install a ring read by fetch_ring (takes the arrays); false if unusable. */
static bool
install_ring(Route *r, int64_t version, int replicas, RNode *nodes, uint32_t *vnodes,
			 char *active, size_t n)
{
	uint32_t   *ids = ps_client_malloc(sizeof(uint32_t) * (n + 1));
	uint32_t   *vn = ps_client_malloc(sizeof(uint32_t) * (n + 1));
	uint32_t   *dead = ps_client_malloc(sizeof(uint32_t) * (n + 1));
	size_t		room = 0,
				na = 0,
				ndead = 0,
				ntok = 0,
				i,
				j;
	PsRingToken *tokens,
			   *placement;
	const char *why = "";
	bool		ok;

	/*
	 * Every node's tokens but a joining node's, which serves nothing yet (a
	 * leaving one still serves); a dead node's are served by its first
	 * replica alive: the ring that serves, as the servers make it.
	 */
	for (i = 0; i < n; i++)
	{
		if (active[i] == 'j')
			continue;
		ids[na] = nodes[i].id;
		vn[na++] = vnodes[i];
		room += vnodes[i];
		if (active[i] == 'd' || active[i] == 'r')
			dead[ndead++] = nodes[i].id;
	}
	placement = ps_client_malloc(sizeof(PsRingToken) * (room + 1));
	tokens = ps_client_malloc(sizeof(PsRingToken) * (room + 1));
	ok = na == ndead || ps_ring_build(ids, vn, na, placement, room, &ntok, &why) == 0;
	if (ok && na > ndead)
		ps_ring_serve(placement, ntok, (size_t) (replicas > 0 ? replicas : 0), dead, ndead,
					  tokens);
	free(ids);
	free(vn);
	free(dead);
	free(placement);
	if (!ok)
	{
		route_error(r, "XX000", "ps_client: the ring of version %lld cannot be built: %s",
					(long long) version, why);
		free(tokens);
		free_fetched(nodes, vnodes, active, n);
		return false;
	}
	/* nodes keep their slot (and connection) for good; addresses update */
	for (i = 0; i < n; i++)
	{
		for (j = 0; j < r->nnodes && r->nodes[j].id != nodes[i].id; j++)
			;
		if (j == r->nnodes)
		{
			if (r->nnodes == r->nodes_cap)
			{
				r->nodes_cap = r->nodes_cap ? 2 * r->nodes_cap : 8;
				r->nodes = realloc(r->nodes, sizeof(RNode) * r->nodes_cap);
				if (r->nodes == NULL)
					abort();
			}
			memset(&r->nodes[j], 0, sizeof(RNode));
			r->nodes[j].id = nodes[i].id;
			r->nnodes++;
		}
		free(r->nodes[j].host);
		free(r->nodes[j].port);
		free(r->nodes[j].dbname);
		r->nodes[j].host = nodes[i].host;
		r->nodes[j].port = nodes[i].port;
		r->nodes[j].dbname = nodes[i].dbname;
	}
	free(nodes);
	free(vnodes);
	free(active);
	free(r->tokens);
	free(r->tok_node);
	r->tokens = tokens;
	r->ntokens = ntok;
	r->tok_node = ps_client_malloc(sizeof(size_t) * (ntok + 1));
	for (i = 0; i < ntok; i++)
	{
		r->tok_node[i] = ROUTE_LOST;
		for (j = 0; j < r->nnodes; j++)
			if (r->nodes[j].id == tokens[i].node)
				r->tok_node[i] = j;
	}
	r->version = version;
	return true;
}

/*
 * Read the ring again: from node `hint` (an index; or none), then from the
 * caller's server, then from every node; keep the newest.  Returns whether
 * it is newer than the one the client had.
 */
bool
route_refresh_ring(Route *r, size_t hint)
{
	int64_t		before = r->version;
	size_t		i;

	for (i = 0; i <= r->nnodes + 1 && r->version == before; i++)
	{
		char	   *ci;
		int64_t		version = 0;
		uint32_t	self = 0;
		int			replicas = 0;
		RNode	   *nodes;
		uint32_t   *vnodes;
		char	   *active;
		size_t		n;
		char		err[ERRLEN];

		if (i == 0 && hint >= r->nnodes)
			continue;
		ci = i == 0 ? route_node_conninfo(r, &r->nodes[hint]) :
			i == 1 ? route_strdup(r->conninfo) : route_node_conninfo(r, &r->nodes[i - 2]);
		if (fetch_ring(ci, &version, &self, &replicas, &nodes, &vnodes, &active, &n,
					   err, sizeof(err)) == 0 && version > r->version)
			install_ring(r, version, replicas, nodes, vnodes, active, n);
		else
			free_fetched(nodes, vnodes, active, n);
		free(ci);
	}
	return r->version > before;
}

/* Is node i on the ring (does it hold keys)? */
bool
route_node_active(const Route *r, size_t i)
{
	size_t		j;

	for (j = 0; j < r->ntokens; j++)
		if (r->tok_node[j] == i)
			return true;
	return false;
}

/* The connection to node i, opened (with the client's settings) if need be. */
PsClient *
route_node_client(Route *r, size_t i)
{
	RNode	   *nd = &r->nodes[i];
	char	   *ci,
			   *err = NULL;

	if (nd->client != NULL)
		return nd->client;
	ci = route_node_conninfo(r, nd);
	nd->client = ps_node_connect(ci, &err);
	free(ci);
	if (nd->client == NULL)
	{
		route_error(r, "08006", "ps_client: cannot connect to node %u: %s",
					nd->id, err ? err : "");
		free(err);
		return NULL;
	}
	if (r->set_reconnect)
		ps_node_set_reconnect(nd->client, r->rc_attempts, r->rc_first, r->rc_max);
	else
		ps_node_set_reconnect(nd->client, ROUTE_RECONNECT_ATTEMPTS, 50, 200);
	if (r->set_ack)
		ps_node_set_ack(nd->client, r->ack);
	if (r->set_compression)
		ps_node_set_compression(nd->client, r->compression);
	if (r->set_filters)
		ps_node_set_filters(nd->client, r->significance, r->skip_below, r->skip_prob,
							r->seed);
	if (r->set_kkt)
		ps_node_set_kkt(nd->client, r->kkt_on, r->kkt_max);
	return nd->client;
}

/* Learn the ring of the server c is connected to; false, *err, if unread. */
bool
route_open(PsClient *c, const char *conninfo, char **err)
{
	Route	   *r;
	int64_t		version = 0;
	uint32_t	self = 0;
	int			replicas = 0;
	RNode	   *nodes;
	uint32_t   *vnodes;
	char	   *active;
	size_t		n,
				i;
	char		why[ERRLEN];
	int			rc = fetch_ring(conninfo, &version, &self, &replicas, &nodes, &vnodes,
								&active, &n, why, sizeof(why));

	if (rc < 0)
	{
		*err = route_strdup(why);
		return false;
	}
	if (rc > 0 || version == 0)
	{
		free_fetched(nodes, vnodes, active, n);
		return true;			/* a server on its own */
	}
	r = calloc(1, sizeof(Route));
	if (r == NULL)
		abort();
	r->conninfo = route_strdup(conninfo ? conninfo : "");
	r->next_ts = 1;
	if (!install_ring(r, version, replicas, nodes, vnodes, active, n))
	{
		*err = route_strdup(r->error);
		free(r->conninfo);
		free(r);
		return false;
	}
	for (i = 0; i < r->nnodes; i++)
		if (r->nodes[i].id == self)
		{
			r->nodes[i].client = c;
			r->nodes[i].own = true;
			ps_node_set_reconnect(c, ROUTE_RECONNECT_ATTEMPTS, 50, 200);
		}
	c->route = r;
	return true;
}

/*
 * Node i's connection was lost for good: does the node answer again (a
 * restart)?  Then its next task opens a new connection (the old one is
 * kept until r is freed: sub-tasks sent by it wait on it), or, the
 * handle's own, reconnects it.
 */
bool
route_node_back(Route *r, size_t i)
{
	RNode	   *nd = &r->nodes[i];
	char	   *ci = route_node_conninfo(r, nd);
	PGconn	   *probe = PQconnectdb(ci);
	bool		back = PQstatus(probe) == CONNECTION_OK;

	PQfinish(probe);
	free(ci);
	if (!back || nd->client == NULL)
		return back;
	if (nd->own)
		ps_node_revive(nd->client);
	else
	{
		r->retired = realloc(r->retired, sizeof(PsClient *) * (r->nretired + 1));
		if (r->retired == NULL)
			abort();
		r->retired[r->nretired++] = nd->client;
		r->retired_unseen = true;
		nd->client = NULL;
	}
	return true;
}

/* Free r, its nodes' connections (but the handle's own) and its ring. */
void
route_free(Route *r)
{
	size_t		i;

	for (i = 0; i < r->nnodes; i++)
	{
		if (r->nodes[i].client != NULL && !r->nodes[i].own)
			ps_node_close(r->nodes[i].client);
		free(r->nodes[i].host);
		free(r->nodes[i].port);
		free(r->nodes[i].dbname);
	}
	for (i = 0; i < r->nretired; i++)
		ps_node_close(r->retired[i]);
	free(r->retired);
	for (i = 0; i < r->nfailures; i++)
		free(r->failures[i].message);
	for (i = 0; i < r->nworkers; i++)
	{
		free(r->workers[i].table);
		free(r->workers[i].node_id);
	}
	free(r->workers);
	free(r->failures);
	free(r->nodes);
	free(r->tokens);
	free(r->tok_node);
	free(r->pending);
	free(r->outcome);
	free(r->conninfo);
	free(r);
}

/*
 * The ring version a server's PS003 names ("ring version V: node N holds
 * it"), or INT64_MAX if it names none.  A server refuses by the ring it
 * has: one the client has already (an earlier task read it) makes the
 * client split the sub-task again without reading the ring once more.
 */
int64_t
route_refused_version(const char *message)
{
	const char *p = message ? strstr(message, "ring version ") : NULL;
	char	   *end;
	long long	v;

	if (p == NULL)
		return INT64_MAX;
	v = strtoll(p + strlen("ring version "), &end, 10);
	return end == p + strlen("ring version ") ? INT64_MAX : (int64_t) v;
}
