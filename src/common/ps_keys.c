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
 * Layer 1 (pure code), in src/common: plain C99, compiled into the server
 * and into client programs alike.  It must include no PostgreSQL header
 * and no file of src/server; memory comes from the allocator the caller
 * passes (palloc in the server, malloc in a client).
 *
 *-------------------------------------------------------------------------
 */
#include <stdint.h>
#include <string.h>

#include "ps_keys.h"

typedef struct KeyIdx
{
	uint64_t	k;				/* key with the sign bit flipped */
	int32_t		idx;			/* position in the request */
} KeyIdx;

#define SIGN_FLIP(x) ((uint64_t) (x) ^ (UINT64_C(1) << 63))

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
ps_sort_keys(const PsKeysAlloc *mem, const int64_t *keys, int n,
			 int64_t *sorted, int32_t *perm)
{
	KeyIdx	   *a,
			   *b;
	uint32_t	(*counts)[256];
	int			i,
				pass;

	for (i = 1; i < n; i++)
		if (keys[i] < keys[i - 1])
			break;
	if (i >= n)
	{
		memcpy(sorted, keys, sizeof(int64_t) * n);
		for (i = 0; i < n; i++)
			perm[i] = i;
		return;
	}

	a = mem->alloc(sizeof(KeyIdx) * n);
	for (i = 0; i < n; i++)
	{
		a[i].k = SIGN_FLIP(keys[i]);
		a[i].idx = i;
	}

	if (n <= 64)
		insertion_sort(a, n);
	else
	{
		b = mem->alloc(sizeof(KeyIdx) * n);
		counts = mem->alloc(sizeof(uint32_t) * 256 * 8);
		memset(counts, 0, sizeof(uint32_t) * 256 * 8);
		for (i = 0; i < n; i++)
		{
			uint64_t	k = a[i].k;

			for (pass = 0; pass < 8; pass++)
				counts[pass][(k >> (pass * 8)) & 0xFF]++;
		}
		for (pass = 0; pass < 8; pass++)
		{
			uint32_t   *c = counts[pass];
			uint32_t	sum = 0;
			int			shift = pass * 8;
			KeyIdx	   *t;

			/* a byte equal in every key leaves the order unchanged */
			if (c[(a[0].k >> shift) & 0xFF] == (uint32_t) n)
				continue;
			for (i = 0; i < 256; i++)
			{
				uint32_t	cnt = c[i];

				c[i] = sum;
				sum += cnt;
			}
			for (i = 0; i < n; i++)
				b[c[(a[i].k >> shift) & 0xFF]++] = a[i];
			t = a;
			a = b;
			b = t;
		}
		mem->free(b);
		mem->free(counts);
	}

	for (i = 0; i < n; i++)
	{
		sorted[i] = (int64_t) SIGN_FLIP(a[i].k);
		perm[i] = a[i].idx;
	}
	mem->free(a);
}

/*
 * Sort a write's keys and combine the values of repeated keys by rule.
 * Returns the number of distinct keys; *ukeys and *uvals receive them
 * ascending with their values (dim per key).  When the keys are already
 * strictly ascending the inputs are returned as they are.
 */
int
ps_aggregate(const PsKeysAlloc *mem, const int64_t *keys, const float *vals,
			 int n, int dim, PsDupRule rule, int64_t **ukeys, float **uvals)
{
	int64_t    *sorted;
	int32_t    *perm;
	int64_t    *ok;
	float	   *ov;
	int			i,
				m;

	for (i = 1; i < n; i++)
		if (keys[i] <= keys[i - 1])
			break;
	if (i >= n)
	{
		*ukeys = (int64_t *) keys;
		*uvals = (float *) vals;
		return n;
	}

	sorted = mem->alloc(sizeof(int64_t) * n);
	perm = mem->alloc(sizeof(int32_t) * n);
	ps_sort_keys(mem, keys, n, sorted, perm);

	ok = sorted;				/* compacted in place */
	ov = mem->alloc(sizeof(float) * dim * n);
	m = 0;
	for (i = 0; i < n; i++)
	{
		const float *src = vals + (size_t) perm[i] * dim;
		float	   *dst;
		int			d;

		if (m > 0 && ok[m - 1] == sorted[i])
		{
			dst = ov + (size_t) (m - 1) * dim;
			if (rule == PS_DUP_SUM)
				for (d = 0; d < dim; d++)
					dst[d] += src[d];
			else
				memcpy(dst, src, sizeof(float) * dim);
			continue;
		}
		ok[m] = sorted[i];
		memcpy(ov + (size_t) m * dim, src, sizeof(float) * dim);
		m++;
	}
	mem->free(perm);
	*ukeys = ok;
	*uvals = ov;
	return m;
}
