/*-------------------------------------------------------------------------
 *
 * ps_keys.c
 *	  Sorting request keys and aggregating the values pushed with them.
 *
 * Requests carry keys in any order, with repeats.  The storage walks sorted
 * keys against sorted leaves, so every request is first sorted: keys that
 * already arrive ascending (common for range-like and client-sorted
 * requests) are detected in one pass and not sorted again; others go
 * through a stable LSD radix sort on the 64-bit key, one byte per pass,
 * skipping the bytes that are equal in every key (small or clustered key
 * sets need few passes).  Stability matters: it makes "last row wins" and
 * the order of summation well defined.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "ps_keys.h"

typedef struct KeyIdx
{
	uint64		k;				/* key with the sign bit flipped */
	int32		idx;			/* position in the request */
} KeyIdx;

#define SIGN_FLIP(x) ((uint64) (x) ^ (UINT64CONST(1) << 63))

static void
insertion_sort(KeyIdx *a, int n)
{
	int			i,
				j;

	for (i = 1; i < n; i++)
	{
		KeyIdx		t = a[i];

		for (j = i; j > 0 && a[j - 1].k > t.k; j--)
			a[j] = a[j - 1];
		a[j] = t;
	}
}

/*
 * Sort keys ascending; sorted[i] receives the i-th smallest key and
 * perm[i] its position in keys.  Equal keys keep their request order.
 */
void
ps_sort_keys(const int64 *keys, int n, int64 *sorted, int32 *perm)
{
	KeyIdx	   *a,
			   *b;
	uint32		(*counts)[256];
	int			i,
				pass;

	for (i = 1; i < n; i++)
		if (keys[i] < keys[i - 1])
			break;
	if (i >= n)
	{
		memcpy(sorted, keys, sizeof(int64) * n);
		for (i = 0; i < n; i++)
			perm[i] = i;
		return;
	}

	a = palloc(sizeof(KeyIdx) * n);
	for (i = 0; i < n; i++)
	{
		a[i].k = SIGN_FLIP(keys[i]);
		a[i].idx = i;
	}

	if (n <= 64)
		insertion_sort(a, n);
	else
	{
		b = palloc(sizeof(KeyIdx) * n);
		counts = palloc0(sizeof(uint32) * 256 * 8);
		for (i = 0; i < n; i++)
		{
			uint64		k = a[i].k;

			for (pass = 0; pass < 8; pass++)
				counts[pass][(k >> (pass * 8)) & 0xFF]++;
		}
		for (pass = 0; pass < 8; pass++)
		{
			uint32	   *c = counts[pass];
			uint32		sum = 0;
			int			shift = pass * 8;
			KeyIdx	   *t;

			/* a byte equal in every key leaves the order unchanged */
			if (c[(a[0].k >> shift) & 0xFF] == (uint32) n)
				continue;
			for (i = 0; i < 256; i++)
			{
				uint32		cnt = c[i];

				c[i] = sum;
				sum += cnt;
			}
			for (i = 0; i < n; i++)
				b[c[(a[i].k >> shift) & 0xFF]++] = a[i];
			t = a;
			a = b;
			b = t;
		}
		pfree(b);
		pfree(counts);
	}

	for (i = 0; i < n; i++)
	{
		sorted[i] = (int64) SIGN_FLIP(a[i].k);
		perm[i] = a[i].idx;
	}
	pfree(a);
}

/*
 * Sort a write's keys and combine the values of repeated keys by rule.
 * Returns the number of distinct keys; *ukeys and *uvals receive them
 * ascending with their values (dim per key).  When the keys are already
 * strictly ascending the inputs are returned as they are.
 */
int
ps_aggregate(const int64 *keys, const float4 *vals, int n, int dim,
			 PsDupRule rule, int64 **ukeys, float4 **uvals)
{
	int64	   *sorted;
	int32	   *perm;
	int64	   *ok;
	float4	   *ov;
	int			i,
				m;

	for (i = 1; i < n; i++)
		if (keys[i] <= keys[i - 1])
			break;
	if (i >= n)
	{
		*ukeys = (int64 *) keys;
		*uvals = (float4 *) vals;
		return n;
	}

	sorted = palloc(sizeof(int64) * n);
	perm = palloc(sizeof(int32) * n);
	ps_sort_keys(keys, n, sorted, perm);

	ok = sorted;				/* compacted in place */
	ov = palloc(sizeof(float4) * dim * n);
	m = 0;
	for (i = 0; i < n; i++)
	{
		const float4 *src = vals + (Size) perm[i] * dim;
		float4	   *dst;
		int			d;

		if (m > 0 && ok[m - 1] == sorted[i])
		{
			dst = ov + (Size) (m - 1) * dim;
			if (rule == PS_DUP_SUM)
				for (d = 0; d < dim; d++)
					dst[d] += src[d];
			else
				memcpy(dst, src, sizeof(float4) * dim);
			continue;
		}
		ok[m] = sorted[i];
		memcpy(ov + (Size) m * dim, src, sizeof(float4) * dim);
		m++;
	}
	pfree(perm);
	*ukeys = ok;
	*uvals = ov;
	return m;
}
