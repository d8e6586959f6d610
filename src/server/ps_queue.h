/*-------------------------------------------------------------------------
 *
 * ps_queue.h
 *	  The push queue as backends see it: put a push in and wait for it to
 *	  be applied, wait for the pushes of a table, read the counters.
 *
 * Layer 7 (training services).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_QUEUE_H
#define PS_QUEUE_H

#include "utils/relcache.h"

#include "ps_dir.h"
#include "ps_store.h"

extern void ps_queue_init(void);
extern bool ps_queue_push(Relation rel, PsDir *dir, const int64 *keys,
						  int64 first, const float4 *vals, int n,
						  const PsWrite *w, int32 worker, int64 clock);
extern void ps_queue_direct_done(bool applied, int nkeys);
extern void ps_queue_claim_client(Relation rel, uint64 client);
extern void ps_queue_release_client(void);
extern void ps_queue_wait_ts(Relation rel, uint64 ts);

/* pid of the scheduler, and its counters (ps_scheduler()) */
#define PS_QUEUE_NCOUNTERS 10
extern int	ps_queue_counters(int32 *pids, uint64 *counts);

#endif							/* PS_QUEUE_H */
