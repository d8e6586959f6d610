/*-------------------------------------------------------------------------
 *
 * ps_sched.h
 *	  The push queue and the scheduler background worker that aggregates
 *	  and applies pushes.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_SCHED_H
#define PS_SCHED_H

#include "access/xlogdefs.h"
#include "utils/relcache.h"

#include "ps_dir.h"
#include "ps_store.h"


extern void ps_sched_init(void);
extern bool ps_sched_push(Relation rel, PsDir *dir, const int64 *keys,
						  const float4 *vals, int n, const PsWrite *w,
						  int32 worker, int64 clock);
extern void ps_sched_wait_ts(Relation rel, uint64 ts);
extern void ps_sched_time_mark(Relation rel);
#define PS_SCHED_NCOUNTERS 7
extern void ps_sched_counters(int32 *pid, uint64 *counts);

extern PGDLLEXPORT void ps_scheduler_main(Datum arg);

#endif							/* PS_SCHED_H */
