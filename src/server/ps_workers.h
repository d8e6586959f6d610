/*-------------------------------------------------------------------------
 *
 * ps_workers.h
 *	  Training workers of a table: membership, heartbeats, clocks and the
 *	  waits of the consistency models.
 *
 * Layer 7 (training services).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_WORKERS_H
#define PS_WORKERS_H

#include "access/tupdesc.h"
#include "utils/relcache.h"
#include "utils/tuplestore.h"


/* what a worker's call does to its clock */
typedef enum PsWorkerCall
{
	PS_CALL_PUSH,
	PS_CALL_PULL
} PsWorkerCall;


extern int32 ps_workers_join(Relation rel, int64 at);
extern void ps_workers_leave(Relation rel, int32 worker, bool owner);
extern void ps_workers_call(Relation rel, int32 worker, int64 clock,
							PsWorkerCall call);
extern void ps_workers_check(Relation rel, int32 worker);
extern void ps_workers_list(Relation rel, Tuplestorestate *ts, TupleDesc desc);
extern int	ps_workers_behind(Oid dbid, Oid relid, int64 clock);

#endif							/* PS_WORKERS_H */
