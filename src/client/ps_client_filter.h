/*-------------------------------------------------------------------------
 *
 * ps_client_filter.h
 *	  The client library's push filters (the paper's user-defined filters,
 *	  section 3.6): significantly-modified and random skip.
 *
 * Layer 11 (client library), in src/client; for the library's files only.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_CLIENT_FILTER_H
#define PS_CLIENT_FILTER_H

#include <stddef.h>
#include <stdint.h>

/* the unsent remainder of one key of one table (significantly-modified) */
typedef struct Remainder
{
	uint64_t	table;			/* hash of the table's name */
	int64_t		key;
	int			dim;
	float	   *sum;			/* dim floats */
	struct Remainder *chain;
} Remainder;

typedef struct PushFilters
{
	Remainder **buckets;
	size_t		nbuckets,
				n;
	uint64_t	rng;			/* random skip's xorshift state */
	uint64_t	keys_held,		/* significantly-modified: kept back */
				keys_skipped,	/* random skip: dropped */
				bytes_saved;	/* by both: about 2 + 4 * dim a key */
} PushFilters;

extern uint64_t filter_table_id(const char *table);
extern size_t filter_significant(PushFilters *f, uint64_t table, int64_t *keys,
								 float *vals, size_t n, int dim, float significance);
extern size_t filter_random_skip(PushFilters *f, int64_t *keys, float *vals,
								 size_t n, int dim, float below, float prob);
extern size_t filter_take_remainders(PushFilters *f, uint64_t table, int dim,
									 int64_t **keys, float **vals);
extern void filters_free(PushFilters *f);

#endif							/* PS_CLIENT_FILTER_H */
