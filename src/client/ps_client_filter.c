/*-------------------------------------------------------------------------
 *
 * ps_client_filter.c
 *	  The client library's push filters (the paper's section 3.6), applied
 *	  to a push's distinct keys and summed values before it is encoded:
 *
 *	  significantly-modified: each key's values are added to what the
 *		client kept back of it before; if any of the sums passes the
 *		threshold in absolute value the key is sent with the sums, and its
 *		remainder forgotten; otherwise the sums are kept back.  Nothing is
 *		lost: a later push adds to them, and ps_node_flush sends them
 *		all.  Memory: about 48 + 4 * dim bytes a key kept back.
 *	  random skip: a key whose values are all smaller than a threshold in
 *		absolute value is sent with probability p, its values divided by p,
 *		so the expected update is unchanged; otherwise dropped.
 *
 * Each counts the keys it did not send, and about the bytes saved (2 for
 * the key's varint and 4 a value).
 *
 * Layer 11 (client library), in src/client: plain C.
 *
 *-------------------------------------------------------------------------
 */
#include "ps_client_filter.h"

#include "ps_client_alloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A table's name, as the filters tell tables apart (FNV-1a). */
uint64_t
filter_table_id(const char *table)
{
	uint64_t	h = 1469598103934665603ULL;

	for (; *table; table++)
		h = (h ^ (unsigned char) *table) * 1099511628211ULL;
	return h;
}

static size_t
bucket_of(const PushFilters *f, uint64_t table, int64_t key)
{
	uint64_t	h = (table ^ (uint64_t) key) * 0x9E3779B97F4A7C15ULL;

	return (size_t) (h >> 20) % f->nbuckets;
}

static Remainder **
find(PushFilters *f, uint64_t table, int64_t key)
{
	Remainder **p = &f->buckets[bucket_of(f, table, key)];

	while (*p && ((*p)->table != table || (*p)->key != key))
		p = &(*p)->chain;
	return p;
}

static void
grow(PushFilters *f)
{
	size_t		old = f->nbuckets,
				i;
	Remainder **b = f->buckets;

	f->nbuckets = old ? old * 2 : 4096;
	f->buckets = calloc(f->nbuckets, sizeof(Remainder *));
	if (f->buckets == NULL)
		abort();
	for (i = 0; i < old; i++)
		while (b[i])
		{
			Remainder  *r = b[i];
			Remainder **p;

			b[i] = r->chain;
			p = &f->buckets[bucket_of(f, r->table, r->key)];
			r->chain = *p;
			*p = r;
		}
	free(b);
}

/*
 * Significantly-modified: compact keys[0 .. n - 1] and vals (dim each) to
 * the keys to send, their values now with what was kept back; keep the
 * others back.  Returns how many to send.
 */
size_t
filter_significant(PushFilters *f, uint64_t table, int64_t *keys, float *vals,
				   size_t n, int dim, float significance)
{
	size_t		i,
				m = 0;
	int			d;

	if (f->n >= f->nbuckets)
		grow(f);
	for (i = 0; i < n; i++)
	{
		Remainder **p = find(f, table, keys[i]);
		float	   *v = vals + i * dim;
		int			send = 0;

		if (*p && (*p)->dim == dim)
			for (d = 0; d < dim; d++)
				v[d] += (*p)->sum[d];
		for (d = 0; d < dim; d++)
			send |= fabsf(v[d]) > significance;
		if (send)
		{
			if (*p)
			{
				Remainder  *r = *p;

				*p = r->chain;
				free(r->sum);
				free(r);
				f->n--;
			}
			keys[m] = keys[i];
			memmove(vals + m * dim, v, sizeof(float) * dim);
			m++;
			continue;
		}
		if (*p == NULL)
		{
			Remainder  *r = ps_client_malloc(sizeof(Remainder));

			r->table = table;
			r->key = keys[i];
			r->dim = dim;
			r->sum = ps_client_malloc(sizeof(float) * dim);
			r->chain = NULL;
			*p = r;
			f->n++;
		}
		memcpy((*p)->sum, v, sizeof(float) * dim);
		f->keys_held++;
		f->bytes_saved += 2 + 4 * (uint64_t) dim;
	}
	return m;
}

static double
next_uniform(PushFilters *f)
{
	if (f->rng == 0)
		f->rng = 0x2545F4914F6CDD1DULL;
	f->rng ^= f->rng << 13;
	f->rng ^= f->rng >> 7;
	f->rng ^= f->rng << 17;
	return (double) (f->rng >> 11) / 9007199254740992.0;
}

/*
 * Random skip: compact keys and vals to the keys sent: those with a value
 * of at least below in absolute value, and of the others a random fraction
 * prob, their values divided by prob.  Returns how many.
 */
size_t
filter_random_skip(PushFilters *f, int64_t *keys, float *vals, size_t n,
				   int dim, float below, float prob)
{
	size_t		i,
				m = 0;
	int			d;

	for (i = 0; i < n; i++)
	{
		float	   *v = vals + i * dim;
		int			small = 1;

		for (d = 0; d < dim; d++)
			small &= fabsf(v[d]) < below;
		if (small)
		{
			if (next_uniform(f) >= prob)
			{
				f->keys_skipped++;
				f->bytes_saved += 2 + 4 * (uint64_t) dim;
				continue;
			}
			for (d = 0; d < dim; d++)
				v[d] /= prob;
		}
		keys[m] = keys[i];
		memmove(vals + m * dim, v, sizeof(float) * dim);
		m++;
	}
	return m;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t		x = *(const int64_t *) a,
				y = *(const int64_t *) b;

	return (x > y) - (x < y);
}

/*
 * Take every remainder of a table with this dim: keys (ascending) and
 * values in malloc'd arrays, forgotten here.  Returns how many.
 */
size_t
filter_take_remainders(PushFilters *f, uint64_t table, int dim, int64_t **keys,
					   float **vals)
{
	size_t		i,
				m = 0,
				j;
	int64_t    *k = ps_client_malloc(sizeof(int64_t) * (f->n + 1));
	float	   *v;

	for (i = 0; i < f->nbuckets; i++)
		for (Remainder *r = f->buckets[i]; r; r = r->chain)
			if (r->table == table && r->dim == dim)
				k[m++] = r->key;
	qsort(k, m, sizeof(int64_t), cmp_i64);
	v = ps_client_malloc(sizeof(float) * (m * dim + 1));
	for (j = 0; j < m; j++)
	{
		Remainder **p = find(f, table, k[j]);
		Remainder  *r = *p;

		memcpy(v + j * dim, r->sum, sizeof(float) * dim);
		*p = r->chain;
		free(r->sum);
		free(r);
		f->n--;
	}
	*keys = k;
	*vals = v;
	return m;
}

void
filters_free(PushFilters *f)
{
	size_t		i;

	for (i = 0; i < f->nbuckets; i++)
		while (f->buckets[i])
		{
			Remainder  *r = f->buckets[i];

			f->buckets[i] = r->chain;
			free(r->sum);
			free(r);
		}
	free(f->buckets);
	memset(f, 0, sizeof(PushFilters));
}
