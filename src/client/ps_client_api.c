/*-------------------------------------------------------------------------
 *
 * ps_client_api.c
 *	  The public calls of the client library (ps_client.h): to the one
 *	  connection of a server on its own, or routed among a cluster's nodes.
 *
 * ps_client_connect opens the connection to the server named and learns
 * its ring (ps_client_ring.c).  For a server on its own each call is the
 * one-server call (ps_client.c, ps_client_task.c); in a cluster pushes,
 * pulls, flushes and waits are routed (ps_client_route.c), settings apply
 * to the handle's connection and to every node's, now and when opened
 * later, and counters are summed over the connections.
 *
 * Layer 11 (client library), in src/client: uses the library's one-server
 * calls (ps_client_int.h) and its routing.
 *
 *-------------------------------------------------------------------------
 */
#include "ps_client.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ps_client_int.h"
#include "ps_client_ring.h"
#include "ps_client_route.h"
#include "ps_client_worker.h"

PsClient *
ps_client_connect(const char *conninfo, char **err)
{
	PsClient   *c = ps_node_connect(conninfo, err);

	if (c != NULL && !route_open(c, conninfo, err))
	{
		ps_node_close(c);
		return NULL;
	}
	return c;
}

void
ps_client_close(PsClient *c)
{
	Route	   *r;

	if (c == NULL)
		return;
	r = c->route;
	if (r != NULL)
	{
		if (r->next_ts > 1)
			(void) route_wait(c, r->next_ts - 1);
		route_free(r);
		c->route = NULL;
	}
	ps_node_close(c);
}

int64_t
ps_client_push(PsClient *c, const char *table, const int64_t *keys, size_t n,
			   const float *vals, const PsTaskOptions *opt)
{
	if (c->route == NULL)
		return ps_node_push(c, table, keys, n, vals, opt);
	return route_keys(c, table, keys, n, vals, NULL, opt);
}

int64_t
ps_client_push_range(PsClient *c, const char *table, int64_t first, size_t n,
					 const float *vals, const PsTaskOptions *opt)
{
	if (c->route == NULL)
		return ps_node_push_range(c, table, first, n, vals, opt);
	return route_range(c, table, first, n, vals, NULL, opt);
}

int64_t
ps_client_pull(PsClient *c, const char *table, const int64_t *keys, size_t n,
			   float *vals, const PsTaskOptions *opt)
{
	if (c->route == NULL)
		return ps_node_pull(c, table, keys, n, vals, opt);
	return route_keys(c, table, keys, n, NULL, vals, opt);
}

int64_t
ps_client_pull_range(PsClient *c, const char *table, int64_t first, size_t n,
					 float *vals, const PsTaskOptions *opt)
{
	if (c->route == NULL)
		return ps_node_pull_range(c, table, first, n, vals, opt);
	return route_range(c, table, first, n, NULL, vals, opt);
}

int
ps_client_wait(PsClient *c, int64_t ts)
{
	return c->route == NULL ? ps_node_wait(c, ts) : route_wait(c, ts);
}

int64_t
ps_client_flush(PsClient *c, const char *table, const PsTaskOptions *opt)
{
	return c->route == NULL ? ps_node_flush(c, table, opt) : route_flush(c, table, opt);
}

/* A NULL table for ps_client_join or leave: the error, on the handle. */
static int
null_table(PsClient *c)
{
	if (c->route)
		route_error(c->route, "22023", "ps_client: a NULL table");
	else
		ps_client_set_error(c, "22023", "ps_client: a NULL table");
	return -1;
}

int
ps_client_join(PsClient *c, const char *table, int64_t *clock)
{
	if (table == NULL)
		return null_table(c);
	return c->route == NULL ? worker_join_one(c, table, clock) : route_join(c, table, clock);
}

/* Leave once the client's tasks finished (a worker's would fail after). */
int
ps_client_leave(PsClient *c, const char *table, int worker)
{
	if (table == NULL)
		return null_table(c);
	if (c->route == NULL)
	{
		if (c->next_ts > 1)
			(void) ps_node_wait(c, c->next_ts - 1);
		return worker_leave_one(c, table, worker);
	}
	if (c->route->next_ts > 1)
		(void) route_wait(c, c->route->next_ts - 1);
	return route_leave(c, table, worker);
}

/* A setting the handle refused: its error, as ps_client_error tells it. */
static int
setting_failed(PsClient *c)
{
	if (c->route != NULL)
		route_error(c->route, ps_node_sqlstate(c), "%s", ps_node_error(c));
	return -1;
}

/* Settings: the handle's (checked there), then every node's. */
int
ps_client_set_reconnect(PsClient *c, int attempts, int first_delay_ms, int max_delay_ms)
{
	Route	   *r = c->route;
	size_t		i;

	if (ps_node_set_reconnect(c, attempts, first_delay_ms, max_delay_ms) != 0)
		return setting_failed(c);
	if (r == NULL)
		return 0;
	r->set_reconnect = true;
	r->rc_attempts = attempts;
	r->rc_first = first_delay_ms;
	r->rc_max = max_delay_ms;
	for (i = 0; i < r->nnodes; i++)
		if (r->nodes[i].client && !r->nodes[i].own)
			ps_node_set_reconnect(r->nodes[i].client, attempts, first_delay_ms, max_delay_ms);
	return 0;
}

int
ps_client_set_ack(PsClient *c, int when)
{
	Route	   *r = c->route;
	size_t		i;

	if (ps_node_set_ack(c, when) != 0)
		return setting_failed(c);
	if (r == NULL)
		return 0;
	r->set_ack = true;
	r->ack = when;
	for (i = 0; i < r->nnodes; i++)
		if (r->nodes[i].client && !r->nodes[i].own)
			ps_node_set_ack(r->nodes[i].client, when);
	return 0;
}

void
ps_client_set_compression(PsClient *c, int on)
{
	Route	   *r = c->route;
	size_t		i;

	ps_node_set_compression(c, on);
	if (r == NULL)
		return;
	r->set_compression = true;
	r->compression = on;
	for (i = 0; i < r->nnodes; i++)
		if (r->nodes[i].client && !r->nodes[i].own)
			ps_node_set_compression(r->nodes[i].client, on);
}

int
ps_client_set_filters(PsClient *c, float significance, float skip_below,
					  float skip_prob, uint64_t seed)
{
	Route	   *r = c->route;
	size_t		i;

	if (ps_node_set_filters(c, significance, skip_below, skip_prob, seed) != 0)
		return setting_failed(c);
	if (r == NULL)
		return 0;
	r->set_filters = true;
	r->significance = significance;
	r->skip_below = skip_below;
	r->skip_prob = skip_prob;
	r->seed = seed;
	for (i = 0; i < r->nnodes; i++)
		if (r->nodes[i].client && !r->nodes[i].own)
			ps_node_set_filters(r->nodes[i].client, significance, skip_below, skip_prob,
								seed + r->nodes[i].id);
	return 0;
}

int
ps_client_set_kkt(PsClient *c, int on, size_t max_keys)
{
	Route	   *r = c->route;
	size_t		i;

	if (ps_node_set_kkt(c, on, max_keys) != 0)
		return setting_failed(c);
	if (r == NULL)
		return 0;
	r->set_kkt = true;
	r->kkt_on = on;
	r->kkt_max = max_keys;
	for (i = 0; i < r->nnodes; i++)
		if (r->nodes[i].client && !r->nodes[i].own)
			ps_node_set_kkt(r->nodes[i].client, on, max_keys);
	return 0;
}

/* Is the handle's own connection one of the ring's nodes? */
static bool
own_node(PsClient *c)
{
	size_t		i;

	for (i = 0; i < c->route->nnodes; i++)
		if (c->route->nodes[i].own)
			return true;
	return false;
}

/* Counters: the sums over every connection (the handle's once). */
#define EACH_CLIENT(c, nc, ...) \
	do { \
		if ((c)->route == NULL) { PsClient *nc = (c); __VA_ARGS__; } \
		else { \
			size_t ec_; \
			for (ec_ = 0; ec_ < (c)->route->nnodes; ec_++) \
				if ((c)->route->nodes[ec_].client) { PsClient *nc = (c)->route->nodes[ec_].client; __VA_ARGS__; } \
			if (!own_node(c)) { PsClient *nc = (c); __VA_ARGS__; } \
		} \
	} while (0)

uint64_t
ps_client_reconnects(PsClient *c)
{
	uint64_t	n = 0;

	EACH_CLIENT(c, nc, n += ps_node_reconnects(nc));
	return n;
}

int
ps_client_in_flight(PsClient *c)
{
	int			n = 0;

	if (c->route != NULL)
		return (int) c->route->npending;
	EACH_CLIENT(c, nc, n += ps_node_in_flight(nc));
	return n;
}

/* Up to three counters of every connection, summed into out. */
typedef void (*Counters) (PsClient *nc, uint64_t *a, uint64_t *b, uint64_t *d);

static void
sum_counters(PsClient *c, Counters f, uint64_t *out)
{
	out[0] = out[1] = out[2] = 0;
	EACH_CLIENT(c, nc, {
		uint64_t v[3] = {0, 0, 0};

		f(nc, &v[0], &v[1], &v[2]);
		out[0] += v[0];
		out[1] += v[1];
		out[2] += v[2];
	});
}

static void
key_cache3(PsClient *nc, uint64_t *a, uint64_t *b, uint64_t *d)
{
	(void) d;
	ps_node_key_cache_stats(nc, a, b);
}

static void
traffic3(PsClient *nc, uint64_t *a, uint64_t *b, uint64_t *d)
{
	(void) d;
	ps_node_traffic(nc, a, b);
}

void
ps_client_filter_stats(PsClient *c, uint64_t *keys_held, uint64_t *keys_skipped,
					   uint64_t *bytes_saved)
{
	uint64_t	v[3];

	sum_counters(c, ps_node_filter_stats, v);
	*keys_held = v[0];
	*keys_skipped = v[1];
	*bytes_saved = v[2];
}

void
ps_client_kkt_stats(PsClient *c, uint64_t *keys_filtered, uint64_t *bytes_saved,
					uint64_t *keys_known)
{
	uint64_t	v[3];

	sum_counters(c, ps_node_kkt_stats, v);
	*keys_filtered = v[0];
	*bytes_saved = v[1];
	*keys_known = v[2];
}

void
ps_client_key_cache_stats(PsClient *c, uint64_t *bytes_saved, uint64_t *misses)
{
	uint64_t	v[3];

	sum_counters(c, key_cache3, v);
	*bytes_saved = v[0];
	*misses = v[1];
}

void
ps_client_traffic(PsClient *c, uint64_t *bytes_sent, uint64_t *bytes_received)
{
	uint64_t	v[3];

	sum_counters(c, traffic3, v);
	*bytes_sent = v[0];
	*bytes_received = v[1];
}

const char *
ps_client_error(PsClient *c)
{
	return c->route == NULL ? ps_node_error(c) : c->route->error;
}

const char *
ps_client_sqlstate(PsClient *c)
{
	return c->route == NULL ? ps_node_sqlstate(c) : c->route->sqlstate;
}
