/*-------------------------------------------------------------------------
 *
 * ps_client_worker.c
 *	  Workers through the client library: ps_join and ps_leave on one
 *	  server, and a worker of a cluster, joined on every node it calls.
 *
 * On one server a worker is the server's: ps_client_join calls ps_join
 * (on a short connection of its own, as the caller's role) and returns
 * its id, which tasks name in opt.worker.  In a cluster each node keeps
 * workers of its own, so the library keeps, for each worker joined
 * through it, the worker's id on every node: it joins the handle's node
 * first (the worker starts at the slowest live worker's clock there), then
 * every other node of the ring at that clock (ps_join(tbl, clock)), and a
 * node that comes later (it joined the ring, or took keys over) when the
 * worker first calls it, at the clock the worker is at.  The caller names
 * the worker by its id on the first node.  Leaving leaves every node.
 *
 * Layer 11 (client library), in src/client: uses the ring and its
 * connections (ps_client_ring.c), libpq and the library's sessions.
 *
 *-------------------------------------------------------------------------
 */
#include "ps_client.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "ps_client_conn.h"
#include "ps_client_int.h"
#include "ps_client_ring.h"
#include "ps_client_worker.h"

/*
 * Join (leave < 0) table's workers on the server at conninfo, at clock
 * at (or, at < 0, the slowest live worker's): *id and its *clock.  Or
 * leave as worker `leave`.  Returns 0; -1 with the server's error in
 * err and sqlstate (6 bytes).
 */
static int
worker_sql(const char *conninfo, const char *table, int64_t at, int leave,
		   int *id, int64_t *clock, char *err, size_t errlen, char *sqlstate)
{
	char		schema[PS_SCHEMALEN],
				sql[512],
				num[32];
	const char *params[2];
	PGconn	   *conn = ext_connect(conninfo, schema, NULL, err, errlen);
	PGresult   *res = NULL;
	int			rc = -1;

	snprintf(sqlstate, 6, "08006");
	if (conn == NULL)
		return -1;
	params[0] = table;
	params[1] = num;
	if (leave > 0)
	{
		snprintf(sql, sizeof(sql),
				 "SELECT %s.ps_leave($1::pg_catalog.regclass, $2::pg_catalog.int4)", schema);
		snprintf(num, sizeof(num), "%d", leave);
	}
	else
	{
		snprintf(sql, sizeof(sql), at < 0 ?
				 "SELECT %s.ps_join($1::pg_catalog.regclass)" :
				 "SELECT %s.ps_join($1::pg_catalog.regclass, $2::pg_catalog.int8)", schema);
		snprintf(num, sizeof(num), "%lld", (long long) at);
	}
	res = PQexecParams(conn, sql, at < 0 && leave <= 0 ? 1 : 2, NULL, params,
					   NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		goto failed;
	if (leave > 0)
	{
		rc = 0;
		goto done;
	}
	*id = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	snprintf(sql, sizeof(sql),
			 "SELECT w.clock FROM %s.ps_workers($1::pg_catalog.regclass) w"
			 " WHERE w.worker OPERATOR(pg_catalog.=) $2::pg_catalog.int4", schema);
	snprintf(num, sizeof(num), "%d", *id);
	res = PQexecParams(conn, sql, 2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		goto failed;
	*clock = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	rc = 0;
	goto done;
failed:
	{
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

		snprintf(err, errlen, "%s", PQresultStatus(res) == PGRES_TUPLES_OK ?
				 "ps_client: the worker's row is not in ps_workers" :
				 PQresultErrorMessage(res));
		snprintf(sqlstate, 6, "%s", state ? state : "XX000");
	}
done:
	PQclear(res);
	PQfinish(conn);
	return rc;
}

/* ps_client_join on a server on its own; the error in c. */
int
worker_join_one(PsClient *c, const char *table, int64_t *clock)
{
	char		err[ERRLEN],
				state[6];
	int			id = 0;
	int64_t		at = 0;

	if (worker_sql(c->conninfo, table, -1, 0, &id, &at, err, sizeof(err), state) != 0)
	{
		ps_client_set_error(c, state, "%s", err);
		return -1;
	}
	if (clock)
		*clock = at;
	return id;
}

/* ps_client_leave on a server on its own; the error in c. */
int
worker_leave_one(PsClient *c, const char *table, int worker)
{
	char		err[ERRLEN],
				state[6];

	if (worker_sql(c->conninfo, table, -1, worker, NULL, NULL, err, sizeof(err), state) != 0)
	{
		ps_client_set_error(c, state, "%s", err);
		return -1;
	}
	return 0;
}

/* Join (or leave, id > 0) on node slot i of r; false with the error in r. */
static bool
node_sql(Route *r, size_t i, const char *table, int64_t at, int leave,
		 int *id, int64_t *clock)
{
	char	   *ci = route_node_conninfo(r, &r->nodes[i]);
	char		err[ERRLEN],
				state[6];
	int			rc = worker_sql(ci, table, at, leave, id, clock, err, sizeof(err), state);

	free(ci);
	if (rc != 0)
		route_error(r, state, "ps_client: node %u: %s", r->nodes[i].id, err);
	return rc == 0;
}

/* The worker's ids as room for every node slot. */
static void
grow_slots(Route *r, RWorker *w)
{
	if (w->nslots < r->nnodes)
	{
		w->node_id = realloc(w->node_id, sizeof(int) * r->nnodes);
		if (w->node_id == NULL)
			abort();
		memset(w->node_id + w->nslots, 0, sizeof(int) * (r->nnodes - w->nslots));
		w->nslots = r->nnodes;
	}
}

/*
 * ps_client_join in a cluster: join the handle's node (or, if it is not
 * on the ring, the first node), then every other node of the ring at the
 * clock the worker starts at.  Returns the worker's id; -1 with the error
 * in r, left everywhere it had joined.
 */
int
route_join(PsClient *c, const char *table, int64_t *clock)
{
	Route	   *r = c->route;
	RWorker		w;
	size_t		first = r->nnodes,
				i;
	char		err[ERRLEN],
				state[6];

	memset(&w, 0, sizeof(w));
	for (i = 0; i < r->nnodes; i++)
		if (route_node_active(r, i) && (first == r->nnodes || r->nodes[i].own))
			first = i;
	if (first == r->nnodes)
	{
		route_error(r, "PS003", "ps_client: the cluster (ring version %lld) has no active node",
					(long long) r->version);
		return -1;
	}
	grow_slots(r, &w);
	if (!node_sql(r, first, table, -1, 0, &w.node_id[first], &w.clock))
	{
		free(w.node_id);
		return -1;
	}
	for (i = 0; i < r->nnodes; i++)
	{
		int64_t		at;

		if (i == first || !route_node_active(r, i))
			continue;
		if (!node_sql(r, i, table, w.clock, 0, &w.node_id[i], &at))
		{
			size_t		j;

			/* leave where it joined; the first error is the one told */
			snprintf(err, sizeof(err), "%s", r->error);
			snprintf(state, sizeof(state), "%s", r->sqlstate);
			for (j = 0; j < r->nnodes; j++)
				if (w.node_id[j] > 0)
					(void) node_sql(r, j, table, -1, w.node_id[j], NULL, NULL);
			route_error(r, state, "%s", err);
			free(w.node_id);
			return -1;
		}
	}
	w.id = w.node_id[first];
	w.table = route_strdup(table);
	if (r->nworkers == r->workers_cap)
	{
		r->workers_cap = r->workers_cap ? 2 * r->workers_cap : 8;
		r->workers = realloc(r->workers, sizeof(RWorker) * r->workers_cap);
		if (r->workers == NULL)
			abort();
	}
	r->workers[r->nworkers++] = w;
	if (clock)
		*clock = w.clock;
	return w.id;
}

/* The worker of table named id that joined through r; -1 if none. */
int
route_worker(Route *r, const char *table, int id)
{
	size_t		i;

	for (i = 0; i < r->nworkers; i++)
		if (r->workers[i].id == id && !r->workers[i].left &&
			strcmp(r->workers[i].table, table) == 0)
			return (int) i;
	return -1;
}

/*
 * Worker slot's id on node slot i, joining it there first (at the clock it
 * is at) if it has not yet.  0 with the error in r if it cannot join.
 */
int
route_worker_id(Route *r, int slot, size_t i)
{
	RWorker    *w = &r->workers[slot];
	int64_t		at;

	grow_slots(r, w);
	if (w->node_id[i] == 0 &&
		!node_sql(r, i, w->table, w->clock, 0, &w->node_id[i], &at))
		return 0;
	return w->node_id[i];
}

/* The worker made a call for clock: it is done with clock - 1. */
void
route_worker_called(Route *r, int slot, int64_t clock)
{
	RWorker    *w = &r->workers[slot];

	if (clock - 1 > w->clock)
		w->clock = clock - 1;
}

/*
 * The last pending push of worker slot for a clock before clock (its
 * timestamp), or 0.  A worker's call for clock c tells each node it
 * reaches that the worker is done with clock c - 1, so it is sent only
 * once those pushes were acknowledged by every node (in synchronous
 * replication, by their replicas too) or sent again where a lost node's
 * ranges went.  Otherwise a node could count the worker done while a push
 * still waited at another node, and after that node failed, serve the
 * ranges it took over to the other workers' pulls without that push.
 */
int64_t
route_worker_pushed(Route *r, int slot, int64_t clock)
{
	int64_t		ts = 0;
	size_t		i;

	for (i = 0; slot >= 0 && i < r->npending; i++)
		if (r->pending[i].worker == slot && !r->pending[i].pull &&
			r->pending[i].opt.clock < clock)
			ts = r->pending[i].ts;
	return ts;
}

/*
 * ps_client_leave in a cluster (its tasks finished): leave every node it
 * joined.  0, or -1 with the first error in r; it has left the others.
 */
int
route_leave(PsClient *c, const char *table, int id)
{
	Route	   *r = c->route;
	int			slot = route_worker(r, table, id);
	RWorker    *w;
	size_t		i;
	int			rc = 0;
	char		err[ERRLEN] = "",
				state[6] = "";

	if (slot < 0)
	{
		route_error(r, "42704", "ps_client: worker %d of table \"%s\" did not join through this client",
					id, table);
		return -1;
	}
	w = &r->workers[slot];
	for (i = 0; i < w->nslots; i++)
		if (w->node_id[i] > 0 && !node_sql(r, i, table, -1, w->node_id[i], NULL, NULL) &&
			rc == 0)
		{
			rc = -1;
			snprintf(err, sizeof(err), "%s", r->error);
			snprintf(state, sizeof(state), "%s", r->sqlstate);
		}
	w->left = true;
	if (rc != 0)
		route_error(r, state, "%s", err);
	return rc;
}
