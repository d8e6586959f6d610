/*-------------------------------------------------------------------------
 *
 * ps_client_ring.h
 *	  A cluster's routing state in the client library: the ring it knows,
 *	  a connection per node, and its tasks split into sub-tasks per node.
 *
 * Layer 11 (client library), in src/client; not installed.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_CLIENT_RING_H
#define PS_CLIENT_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ps_client.h"
#include "ps_client_int.h"
#include "ps_ring.h"

/* times a task's keys may be refused and split again */
#define ROUTE_RETRIES 5
/* tok_node of a token whose holders all failed */
#define ROUTE_LOST ((size_t) -1)
/*
 * A node's connection tries this many times to reconnect (50, then 100
 * ms) before the task waits for the ring instead (ps_client_route.c).
 */
#define ROUTE_RECONNECT_ATTEMPTS 2
/* how long a task waits for a lost node's ranges to move, or for it */
#define ROUTE_FAILOVER_MS 30000

typedef struct RNode
{
	uint32_t	id;
	char	   *host;			/* from the ring; NULL: the caller's */
	char	   *port;
	char	   *dbname;
	PsClient   *client;			/* NULL until first used */
	bool		own;			/* client is the handle itself */
} RNode;

typedef struct Sub
{
	size_t		node;			/* index in nodes */
	int64_t		ts;				/* the node's task */
	bool		done;
	bool		flush;			/* a node's ps_client_flush: not split */
	int			round;			/* times its keys were refused and split again */
	bool		empty;			/* a worker's empty push: its clock moves */
	int64_t		first;			/* a range: first .. first + n - 1 */
	size_t		n;
	int64_t    *keys;			/* listed keys, or NULL for a range */
	float	   *vals;			/* a push's values; a listed pull's buffer */
	size_t	   *pos;			/* a listed pull: each key's place in out */
	uint64_t	once_client;	/* a push: the exactly-once id it went with */
	uint64_t	once_seq;
	bool		forced;			/* that id is another node's (a failover) */
	int			failovers;		/* times sent again after losing its node */
	bool		unsent;			/* its node could not be reached */
	struct PsClient *via;		/* the node's connection it went by */
} Sub;

typedef struct RTask
{
	int64_t		ts;
	bool		pull;
	char	   *table;
	int			dim;
	float	   *out;			/* a pull's caller's array */
	int64_t		first;			/* a range pull's first key (out[0]) */
	PsTaskOptions opt;			/* as given, without after */
	int			worker;			/* opt.worker's slot in workers, or -1 */
	Sub		   *subs;
	size_t		nsubs,
				cap;
} RTask;

typedef struct RFailure
{
	int64_t		ts;
	char	   *message;
	char		sqlstate[6];
} RFailure;

/* A worker joined through this client (ps_client_join) on the nodes. */
typedef struct RWorker
{
	char	   *table;			/* as the caller names it */
	int			id;				/* the caller's: its id on the first node */
	int64_t		clock;			/* done with: its start, then the last call's - 1 */
	int		   *node_id;		/* its id on each node (by slot), 0: not joined */
	size_t		nslots;
	bool		left;
} RWorker;

typedef struct Route
{
	char	   *conninfo;		/* the caller's */
	int64_t		version;
	RNode	   *nodes;			/* every node seen on a ring, for good */
	size_t		nnodes,
				nodes_cap;
	PsRingToken *tokens;
	size_t		ntokens;
	size_t	   *tok_node;		/* token -> index in nodes */
	RTask	   *pending;		/* tasks not finished, ascending */
	size_t		npending,
				pending_cap;
	unsigned char *outcome;		/* of task ts at outcome[ts - 1] */
	size_t		outcome_cap;
	RFailure   *failures;
	size_t		nfailures,
				failures_cap;
	struct PsClient **retired;	/* lost nodes' connections, until closed */
	size_t		nretired;
	bool		retired_unseen;	/* one retired since resend_lost last looked */
	uint64_t	failovers;		/* sub-tasks sent again after a lost node */
	RWorker    *workers;
	size_t		nworkers,
				workers_cap;
	int64_t		next_ts;
	char		error[ERRLEN];
	char		sqlstate[6];
	/* settings, for the connections opened later */
	bool		set_reconnect,
				set_ack,
				set_compression,
				set_filters,
				set_kkt;
	int			rc_attempts,
				rc_first,
				rc_max,
				ack,
				compression,
				kkt_on;
	float		significance,
				skip_below,
				skip_prob;
	uint64_t	seed;
	size_t		kkt_max;
} Route;

/* ps_client_ring.c: the ring, the nodes and their connections */
extern void route_error(Route *r, const char *sqlstate, const char *fmt,...)
#ifdef __GNUC__
			__attribute__((format(printf, 3, 4)))
#endif
			;
extern char *route_strdup(const char *s);
extern bool route_open(struct PsClient *c, const char *conninfo, char **err);
extern bool route_refresh_ring(Route *r, size_t hint);
extern int64_t route_refused_version(const char *message);
extern char *route_node_conninfo(const Route *r, const RNode *nd);
extern bool route_node_active(const Route *r, size_t i);
extern struct PsClient *route_node_client(Route *r, size_t i);
extern bool route_node_back(Route *r, size_t i);
extern void route_free(Route *r);

#endif							/* PS_CLIENT_RING_H */
