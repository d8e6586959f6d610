/*-------------------------------------------------------------------------
 *
 * ps_capture.c
 *	  Collecting the after-images a write made (keys and whole records),
 *	  for replication after aggregation (ps_repl.c sends them on).
 *
 * The store appends each batch's keys and after-images once the batch is
 * written and logged, so a capture holds exactly what the write changed,
 * in key order.
 *
 * Layer 4 (store): plain memory; called by ps_store.c (after-images) and
 * the replication ring's side (exactly-once records, ps_repl.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/memutils.h"

#include "ps_capture.h"

/* Add a push's exactly-once record (room: at most that many in all). */
void
ps_capture_once(PsCapture *cap, const PsOnceEntry *e, int room)
{
	if (cap->once == NULL)
		cap->once = palloc(sizeof(PsOnceEntry) * Max(room, 1));
	if (cap->nonce < room)
		cap->once[cap->nonce++] = *e;
}

/* Append n keys and their after-images (width floats each) to cap. */
void
ps_capture_append(PsCapture *cap, const int64 *keys, const float4 *vals,
				  int n, int width)
{
	if (cap->n == 0)
		cap->width = width;
	Assert(cap->width == width);
	if (cap->n + n > cap->cap)
	{
		int			want = Max(cap->n + n, Max(1024, cap->cap * 2));

		cap->keys = cap->keys ? repalloc_huge(cap->keys, sizeof(int64) * want) :
			MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int64) * want);
		cap->vals = cap->vals ? repalloc_huge(cap->vals, sizeof(float4) * (Size) want * width) :
			MemoryContextAllocHuge(CurrentMemoryContext, sizeof(float4) * (Size) want * width);
		cap->cap = want;
	}
	memcpy(cap->keys + cap->n, keys, sizeof(int64) * n);
	memcpy(cap->vals + (Size) cap->n * width, vals, sizeof(float4) * (Size) n * width);
	cap->n += n;
}
