/*-------------------------------------------------------------------------
 *
 * ps_monitor.h
 *	  The failure detector's shared side: which database's monitor runs,
 *	  starting it, and what it last saw of each other node.
 *
 * Layer 7 (training services).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_MONITOR_H
#define PS_MONITOR_H

#include "datatype/timestamp.h"

/* room for the other nodes' health */
#define PS_MONITOR_MAX_PEERS 64

typedef enum PsPeerState
{
	PS_PEER_UNKNOWN,			/* not answered yet */
	PS_PEER_UP,					/* answers heartbeats */
	PS_PEER_SUSPECT,			/* lost, not yet declared dead */
	PS_PEER_DEAD				/* declared dead by this node */
} PsPeerState;

typedef struct PsPeerHealth
{
	uint32		node;
	PsPeerState state;
	TimestampTz last_ok;		/* its last answer */
	int64		rtt_us;			/* that answer's round trip */
	uint64		failures;		/* connections lost or refused */
} PsPeerHealth;

typedef struct PsMonitorStats
{
	Oid			dbid;
	int			pid;			/* the monitor's, 0: none runs */
	uint64		heartbeats;		/* answers received */
	uint64		failovers;		/* nodes this monitor declared dead */
	int64		last_detect_ms; /* its last failover: loss to detection */
	int64		last_failover_ms;	/* detection to the ring committed */
	int			npeers;
	PsPeerHealth peers[PS_MONITOR_MAX_PEERS];
} PsMonitorStats;

extern void ps_monitor_init(void);
extern void ps_monitor_ensure(void);
extern bool ps_monitor_attach(Oid dbid);
extern void ps_monitor_detach(void);
extern void ps_monitor_publish(const PsPeerHealth *peers, int npeers,
							   uint64 heartbeats);
extern void ps_monitor_failover_done(int64 detect_ms, int64 failover_ms);
extern void ps_monitor_read(PsMonitorStats *out);

#endif							/* PS_MONITOR_H */
