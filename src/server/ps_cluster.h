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
	PS_NODE_DEAD,				/* failed: its ranges went to the next ones */
	PS_NODE_JOINING,			/* taking copies of its ranges, serves none yet */
	PS_NODE_LEAVING,			/* still serves its ranges, handing them over */
	PS_NODE_REMOVING			/* dead, its ranges copied to their next holders */
} PsNodeState;

/* a node that answers: it takes part in ring changes and replication */
#define PS_NODE_LIVE(s) ((s) != PS_NODE_DEAD && (s) != PS_NODE_REMOVING)

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
	 * tokens, dead ones' too; tokens, at the same positions, says who
	 * serves each token's keys now: the first holder not dead on the ring
	 * of the nodes but the joining ones (ps_ring_serve), or PS_RING_LOST;
	 * after, at the same positions, who will once the joining, leaving
	 * and removing nodes are through.  Copies are kept on the holders of
	 * both rings: before (every node but the joining ones) and beyond
	 * (every node but the leaving and removing ones); without such nodes
	 * both are the placement.
	 */
	PsRingToken *placement;
	PsRingToken *tokens;
	PsRingToken *after;
	size_t		ntokens;
	PsRingToken *before;
	size_t		nbefore;
	PsRingToken *beyond;
	size_t		nbeyond;
	bool		moving;			/* a node is joining or leaving */
} PsCluster;

/* room for the nodes ps_cluster_replicas and ps_cluster_newcomers name */
#define PS_CLUSTER_HOLDERS(c) (2 * ((c)->replicas + 1))

extern const char *ps_node_state_name(PsNodeState s);
extern bool ps_node_state_parse(const char *name, PsNodeState *s);

extern const PsCluster *ps_cluster_get(void);
extern Relation ps_cluster_open(LOCKMODE lockmode);
extern PsCluster *ps_cluster_read(Relation crel);
extern PsCluster *ps_cluster_copy_of(const PsCluster *c);
extern void ps_cluster_write(Relation crel, const PsCluster *c);
extern void ps_cluster_node_arrays(const PsCluster *c, Datum *arrays);
extern bool ps_cluster_make_ring(PsCluster *c, const char **why);
extern int	ps_cluster_find(const PsCluster *c, uint32 node);
extern bool ps_cluster_node_active(const PsCluster *c, uint32 node);
extern size_t ps_cluster_replicas(const PsCluster *c, size_t token,
								  uint32 *out);
extern size_t ps_cluster_replicas_of(const PsCluster *c, size_t token,
									 uint32 server, uint32 *out);
extern bool ps_cluster_replicating(const PsCluster *c);
extern size_t ps_cluster_newcomers(const PsCluster *c, size_t token,
								   uint32 *out);

extern void ps_cluster_gate_push(void);
extern void ps_cluster_gate_barrier(void);
extern void ps_cluster_gate_close(void);

extern void ps_cluster_check_keys(Relation rel, const int64 *keys, int n);
extern void ps_cluster_check_range(Relation rel, int64 lo, int64 hi);

#endif							/* PS_CLUSTER_H */
