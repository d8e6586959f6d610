/*-------------------------------------------------------------------------
 *
 * ps_repl.h
 *	  Replication after aggregation, the pushing side: the ring of
 *	  after-images for the replicator, and synchronous waits.
 *
 * Layer 7 (training services).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_REPL_H
#define PS_REPL_H

#include "utils/timestamp.h"

#include "ps_once.h"
#include "ps_store.h"

/*
 * A record in the ring: followed by nkeys keys, then their floats, then
 * nonce exactly-once records.
 */
typedef struct PsReplRecord
{
	uint32		len;			/* bytes, header included, MAXALIGNed */
	bool		skip;			/* padding up to the ring's end */
	Oid			dbid;
	Oid			relid;
	uint32		dest;			/* the one node to send it to; 0: its holders */
	bool		routed;			/* no keys: to the holders of route_key */
	int64		route_key;
	int32		dim;			/* values per key */
	int32		width;			/* floats per key: values and rule state */
	int32		nkeys;
	int32		nonce;			/* exactly-once records after the values */
	int64		clock;			/* of the pushes applied, -1: plain */
	uint64		ticket;
} PsReplRecord;

#define PsReplRecordKeys(r) ((int64 *) ((char *) (r) + MAXALIGN(sizeof(PsReplRecord))))
#define PsReplRecordVals(r) ((float4 *) ((char *) PsReplRecordKeys(r) + \
										 MAXALIGN(sizeof(int64) * (r)->nkeys)))
#define PsReplRecordOnce(r) ((PsOnceEntry *) ((char *) PsReplRecordVals(r) + \
											  MAXALIGN(sizeof(float4) * (Size) (r)->nkeys * (r)->width)))

typedef struct PsReplStats
{
	Oid			dbid;
	pid_t		replicator;
	bool		synchronous;
	uint64		pending_bytes;
	uint64		tickets;
	uint64		confirmed;
	uint64		records;
	uint64		bytes;
	TimestampTz last_commit;
} PsReplStats;

extern void ps_repl_init(void);

/* pushing */
extern bool ps_repl_prepare(bool *synchronous);
extern bool ps_repl_wanted(Oid dbid);
extern void ps_repl_enqueue(Oid dbid, Oid relid, int64 clock, int dim,
							const PsCapture *cap);
extern void ps_repl_capture_start(PsCapture *cap, Relation rel, int64 clock,
								  int dim, int width, const PsOnceMark *marks,
								  int nmarks);
extern void ps_repl_reserve(int nkeys, int width, int nrecords);
extern void ps_repl_unreserve(void);
extern void ps_repl_enqueue_copy(Oid dbid, Oid relid, uint32 dest, int dim,
								 int width, const int64 *keys,
								 const float4 *vals, int n,
								 const PsOnceEntry *once, int nonce);
extern void ps_repl_capture_once(Relation rel, const PsOnceMark *marks,
								 int nmarks, PsCapture *cap);
extern uint64 ps_repl_last_ticket(void);
extern void ps_repl_wait(uint64 ticket);

/* the replicator */
extern bool ps_repl_attach(Oid dbid);
extern void ps_repl_detach(bool stop_replicating);
extern int	ps_repl_take(Size max_bytes, char **out, uint64 *last_ticket);
extern void ps_repl_committed(uint64 last_ticket, int nrecords, Size bytes);
extern bool ps_repl_idle(void);
extern void ps_repl_stats(PsReplStats *s);

#endif							/* PS_REPL_H */
