/*-------------------------------------------------------------------------
 *
 * ps_client_route.h
 *	  A cluster's tasks in the client library, split among its nodes.
 *
 * Layer 11 (client library), in src/client; not installed.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_CLIENT_ROUTE_H
#define PS_CLIENT_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "ps_client.h"
#include "ps_client_ring.h"

/* ps_client_route.c: tasks split among the nodes */
extern int64_t route_keys(struct PsClient *c, const char *table,
						  const int64_t *keys, size_t n, const float *vals,
						  float *out, const struct PsTaskOptions *opt);
extern int64_t route_range(struct PsClient *c, const char *table,
						   int64_t first, size_t n, const float *vals,
						   float *out, const struct PsTaskOptions *opt);
extern int64_t route_flush(struct PsClient *c, const char *table,
						   const struct PsTaskOptions *opt);
extern int	route_wait(struct PsClient *c, int64_t ts);

#endif							/* PS_CLIENT_ROUTE_H */
