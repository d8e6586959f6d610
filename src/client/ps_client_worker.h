/*-------------------------------------------------------------------------
 *
 * ps_client_worker.h
 *	  Workers through the client library, on one server or a cluster.
 *
 * Layer 11 (client library), in src/client; not installed.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_CLIENT_WORKER_H
#define PS_CLIENT_WORKER_H

#include <stddef.h>
#include <stdint.h>

#include "ps_client.h"
#include "ps_client_ring.h"

/* a server on its own */
extern int	worker_join_one(PsClient *c, const char *table, int64_t *clock);
extern int	worker_leave_one(PsClient *c, const char *table, int worker);

/* a cluster */
extern int	route_join(PsClient *c, const char *table, int64_t *clock);
extern int	route_leave(PsClient *c, const char *table, int id);
extern int	route_worker(Route *r, const char *table, int id);
extern int	route_worker_id(Route *r, int slot, size_t i);
extern void route_worker_called(Route *r, int slot, int64_t clock);
extern int64_t route_worker_pushed(Route *r, int slot, int64_t clock);

#endif							/* PS_CLIENT_WORKER_H */
