/*-------------------------------------------------------------------------
 *
 * ps_cluster.h
 *	  This server's view of its cluster: the one row of the extension's
 *	  table ps_cluster (this node's id, the ring's version, its nodes),
 *	  the ring it makes, and the check that a request's keys are held here.
 *
 * Layer 5 (configuration).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_CLUSTER_H
#define PS_CLUSTER_H

#include "storage/lockdefs.h"
#include "utils/relcache.h"

#include "ps_ring.h"

/* SQLSTATE of a request for keys another server holds */
#define ERRCODE_PS_NOT_OWNER MAKE_SQLSTATE('P','S','0','0','3')
/* SQLSTATE of a request for keys whose owner and replicas all failed */
#define ERRCODE_PS_KEYS_LOST MAKE_SQLSTATE('P','S','0','0','4')

typedef enum PsNodeState
{
	PS_NODE_ACTIVE,				/* on the ring: holds its ranges */
	PS_NODE_DEAD				/* failed: its ranges went to the next ones */
} PsNodeState;

typedef struct PsClusterNode
{
	uint32		id;
	int32		vnodes;
	PsNodeState state;
	char	   *conninfo;		/* how the servers reach it */
} PsClusterNode;

typedef struct PsCluster
{
	uint32		self;			/* this server's node id */
	int64		version;		/* of the ring; 0: not in a cluster */
	int32		replicas;		/* each range's copies beyond its owner */
	bool		synchronous;	/* a push waits for its replicas */
	int			nnodes;
	PsClusterNode *nodes;
	/*
	 * The ring, ascending (ntokens 0: no node): placement has every node's
	 * tokens, dead ones' too, and says who holds copies of what; tokens,
	 * at the same positions, says who serves each token's keys now: its
	 * first holder not dead, or PS_RING_LOST (ps_ring_serve).
	 */
	PsRingToken *placement;
	PsRingToken *tokens;
	size_t		ntokens;
} PsCluster;

extern const char *ps_node_state_name(PsNodeState s);
extern bool ps_node_state_parse(const char *name, PsNodeState *s);

extern const PsCluster *ps_cluster_get(void);
extern Relation ps_cluster_open(LOCKMODE lockmode);
extern PsCluster *ps_cluster_read(Relation crel);
extern void ps_cluster_write(Relation crel, const PsCluster *c);
extern void ps_cluster_node_arrays(const PsCluster *c, Datum *arrays);
extern bool ps_cluster_make_ring(PsCluster *c, const char **why);
extern int	ps_cluster_find(const PsCluster *c, uint32 node);
extern bool ps_cluster_node_active(const PsCluster *c, uint32 node);
extern size_t ps_cluster_replicas(const PsCluster *c, size_t token,
								  uint32 *out);

extern void ps_cluster_check_keys(Relation rel, const int64 *keys, int n);
extern void ps_cluster_check_range(Relation rel, int64 lo, int64 hi);

#endif							/* PS_CLUSTER_H */
