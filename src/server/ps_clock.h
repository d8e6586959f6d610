/*-------------------------------------------------------------------------
 *
 * ps_clock.h
 *	  Range vector clocks: per key range, the clock of every worker whose
 *	  pushes to that range have been applied.
 *
 * Layer 7 (training services).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_CLOCK_H
#define PS_CLOCK_H

#include "utils/relcache.h"


/* One range of the vector clock: workers[i] is at clocks[i] on [lo, hi]. */
typedef struct PsClockRange
{
	int64		lo;
	int64		hi;
	int			nworkers;
	int32	   *workers;
	int64	   *clocks;
} PsClockRange;

extern void ps_clock_set(Oid dbid, Oid relid, int32 worker, int64 clock,
						 int64 lo, int64 hi);
extern int	ps_clock_ranges(Relation rel, PsClockRange **ranges);

#endif							/* PS_CLOCK_H */
