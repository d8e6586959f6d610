/*-------------------------------------------------------------------------
 *
 * ps_clock.c
 *	  Range vector clocks, as in the paper: for every key range, the clock
 *	  of each worker whose pushes to it have been applied.
 *
 * Each worker's clocks are a list of disjoint segments [lo, hi] -> clock.
 * When a worker's push for clock c is applied, the clock of the range it
 * covers (its smallest to its largest key) is set to c for that worker:
 * segments of the worker are split at the range's borders, the range gets
 * clock c, and neighbouring segments of the worker with equal clocks merge
 * again.  So a worker that pushes the same few ranges every iteration
 * keeps a few segments, whatever the number of pushes: the structure is
 * O(workers x distinct ranges pushed).  The vector clock of a key range is
 * read across the workers' lists (ps_clock_ranges); ps_clocks() and
 * ps_ranges() show it.
 *
 * The segments live in the table's entry of shared state (fixed room:
 * ps.max_clock_ranges).  When they do not fit, neighbouring segments of a
 * worker are merged keeping the smaller clock, which understates, never
 * overstates, what has been applied; failing that, the oldest segment is
 * forgotten.  Like worker membership, range clocks are not persistent.
 *
 * Layer 7 (training services): range vector clocks, kept in the shared
 * state; calls only the shared state and the base.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/spin.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "ps_base.h"
#include "ps_clock.h"
#include "ps_state.h"


/* Shrink the segment list by one.  Caller holds the entry's mutex. */
static void
coarsen(PsClockSeg *segs, int *nsegs)
{
	int			n = *nsegs;
	int			best = -1;
	int64		bestdiff = 0;
	int			i;

	/* touching segments of one worker: merge, keeping the smaller clock */
	for (i = 0; i + 1 < n; i++)
		if (segs[i].worker == segs[i + 1].worker && segs[i].hi + 1 == segs[i + 1].lo)
		{
			int64		diff = Abs(segs[i].clock - segs[i + 1].clock);

			if (best < 0 || diff < bestdiff)
			{
				best = i;
				bestdiff = diff;
			}
		}
	if (best >= 0)
	{
		segs[best].hi = segs[best + 1].hi;
		segs[best].clock = Min(segs[best].clock, segs[best + 1].clock);
		memmove(&segs[best + 1], &segs[best + 2], sizeof(PsClockSeg) * (n - best - 2));
		*nsegs = n - 1;
		return;
	}
	/* else forget the oldest segment */
	best = 0;
	for (i = 1; i < n; i++)
		if (segs[i].clock < segs[best].clock)
			best = i;
	memmove(&segs[best], &segs[best + 1], sizeof(PsClockSeg) * (n - best - 1));
	*nsegs = n - 1;
}

/*
 * The paper's rule: set worker's clock on [lo, hi], splitting its segments
 * at the borders and merging equal neighbours.  Caller holds the mutex and
 * passes two scratch arrays of ps_max_clock_ranges + 3 segments (nothing
 * may be allocated under a spinlock).
 */
static void
set_range(PsTableState *st, int32 worker, int64 clock, int64 lo, int64 hi,
		  PsClockSeg *mine, PsClockSeg *all)
{
	PsClockSeg *segs = PsStateSegs(st);
	int			n = st->nsegs;
	int			b,
				e,
				m = 0,
				i,
				k,
				total;

	/* the worker's block [b, e) in the list sorted by worker, then lo */
	for (b = 0; b < n && segs[b].worker < worker; b++)
		;
	for (e = b; e < n && segs[e].worker == worker; e++)
		;

	/* the worker's new segments: untouched parts, trimmed parts, the range */
	for (i = b; i < e && segs[i].hi < lo; i++)
		mine[m++] = segs[i];
	for (; i < e && segs[i].lo <= hi; i++)
	{
		if (segs[i].lo < lo)
		{
			mine[m] = segs[i];
			mine[m++].hi = lo - 1;
		}
		if (segs[i].hi > hi)
			break;				/* its right part stays, below */
	}
	mine[m].lo = lo;
	mine[m].hi = hi;
	mine[m].clock = clock;
	mine[m++].worker = worker;
	if (i < e && segs[i].lo <= hi && segs[i].hi > hi)
	{
		mine[m] = segs[i];
		mine[m++].lo = hi + 1;
		i++;
	}
	for (; i < e; i++)
		mine[m++] = segs[i];

	/* merge neighbours with equal clocks */
	for (i = 0, k = 0; i < m; i++)
	{
		if (k > 0 && mine[k - 1].hi + 1 == mine[i].lo && mine[k - 1].clock == mine[i].clock)
			mine[k - 1].hi = mine[i].hi;
		else
			mine[k++] = mine[i];
	}
	m = k;

	/* splice the worker's block back in, coarsening if there is no room */
	total = n - (e - b) + m;
	if (total <= ps_max_clock_ranges)
	{
		memmove(&segs[b + m], &segs[e], sizeof(PsClockSeg) * (n - e));
		memcpy(&segs[b], mine, sizeof(PsClockSeg) * m);
		st->nsegs = total;
	}
	else
	{
		memcpy(all, segs, sizeof(PsClockSeg) * b);
		memcpy(all + b, mine, sizeof(PsClockSeg) * m);
		memcpy(all + b + m, &segs[e], sizeof(PsClockSeg) * (n - e));
		while (total > ps_max_clock_ranges)
			coarsen(all, &total);
		memcpy(segs, all, sizeof(PsClockSeg) * total);
		st->nsegs = total;
	}
}

/*
 * A push of worker at clock, covering keys lo .. hi, has been applied.
 * Tables whose shared state is gone (no workers) are skipped.
 */
void
ps_clock_set(Oid dbid, Oid relid, int32 worker, int64 clock, int64 lo, int64 hi)
{
	static PsClockSeg *mine = NULL,
			   *all = NULL;
	PsTableState *st;

	if (mine == NULL)
	{
		mine = MemoryContextAlloc(TopMemoryContext,
								  sizeof(PsClockSeg) * (ps_max_clock_ranges + 3));
		all = MemoryContextAlloc(TopMemoryContext,
								 sizeof(PsClockSeg) * (ps_max_clock_ranges + 3));
	}
	st = ps_state_lookup(dbid, relid);
	if (st == NULL)
		return;
	SpinLockAcquire(&st->mutex);
	set_range(st, worker, clock, lo, hi, mine, all);
	SpinLockRelease(&st->mutex);
	ps_state_release();
}

static int
cmp_int64(const void *a, const void *b)
{
	int64		x = *(const int64 *) a,
				y = *(const int64 *) b;

	return (x > y) - (x < y);
}

/*
 * The vector clock of a table as ranges: maximal key ranges over which
 * every worker's clock is the same, with the workers that have a clock
 * there.  Returns the number of ranges.
 */
int
ps_clock_ranges(Relation rel, PsClockRange **out)
{
	PsTableState *st = ps_state_lookup(MyDatabaseId, RelationGetRelid(rel));
	PsClockSeg *segs;
	int			n,
				nb = 0,
				nr = 0,
				i,
				j;
	int64	   *bounds;
	PsClockRange *ranges;

	*out = NULL;
	if (st == NULL)
		return 0;
	segs = palloc(sizeof(PsClockSeg) * ps_max_clock_ranges);
	SpinLockAcquire(&st->mutex);
	n = st->nsegs;
	memcpy(segs, PsStateSegs(st), sizeof(PsClockSeg) * n);
	SpinLockRelease(&st->mutex);
	ps_state_release();
	if (n == 0)
		return 0;

	/* elementary intervals start at every segment's lo and after every hi */
	bounds = palloc(sizeof(int64) * 2 * n);
	for (i = 0; i < n; i++)
	{
		bounds[nb++] = segs[i].lo;
		if (segs[i].hi < PG_INT64_MAX)
			bounds[nb++] = segs[i].hi + 1;
	}
	qsort(bounds, nb, sizeof(int64), cmp_int64);
	ranges = palloc(sizeof(PsClockRange) * nb);
	for (i = 0; i < nb; i++)
	{
		int64		lo = bounds[i];
		int64		hi;
		PsClockRange *r;
		int			c = 0;

		if (i > 0 && bounds[i] == bounds[i - 1])
			continue;
		for (j = i + 1; j < nb && bounds[j] == lo; j++)
			;
		hi = (j < nb) ? bounds[j] - 1 : PG_INT64_MAX;

		for (j = 0; j < n; j++)
			if (segs[j].lo <= lo && segs[j].hi >= hi)
				c++;
		if (c == 0)
			continue;			/* no worker has pushed here */
		r = &ranges[nr];
		r->workers = palloc(sizeof(int32) * c);
		r->clocks = palloc(sizeof(int64) * c);
		c = 0;
		for (j = 0; j < n; j++)
			if (segs[j].lo <= lo && segs[j].hi >= hi)
			{
				r->workers[c] = segs[j].worker;
				r->clocks[c++] = segs[j].clock;
			}
		r->nworkers = c;
		r->lo = lo;
		r->hi = hi;

		/* merge with the previous range if the vector is the same */
		if (nr > 0 && ranges[nr - 1].hi + 1 == lo && ranges[nr - 1].nworkers == c &&
			memcmp(ranges[nr - 1].workers, r->workers, sizeof(int32) * c) == 0 &&
			memcmp(ranges[nr - 1].clocks, r->clocks, sizeof(int64) * c) == 0)
			ranges[nr - 1].hi = hi;
		else
			nr++;
	}
	*out = ranges;
	return nr;
}
