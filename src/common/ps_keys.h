/*-------------------------------------------------------------------------
 *
 * ps_keys.h
 *	  Sorting request keys and aggregating the values pushed with them.
 *
 * Layer 1 (pure code), in src/common: plain C99 for the server and for
 * client programs; no PostgreSQL header.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_KEYS_H
#define PS_KEYS_H

#include <stddef.h>
#include <stdint.h>

/*
 * Where the functions get their memory: palloc/pfree in the server, a
 * client's own.  alloc must not return NULL: palloc raises an error, a
 * client's wrapper of malloc must abort or longjmp on failure.  (int64_t
 * is PostgreSQL's int64 on the 64-bit Linux this is built for.)
 */
typedef struct PsKeysAlloc
{
	void	   *(*alloc) (size_t size);
	void		(*free) (void *ptr);
} PsKeysAlloc;

/* how duplicate keys in one write combine */
typedef enum PsDupRule
{
	PS_DUP_SUM,					/* pushes: values of a key add up */
	PS_DUP_LAST					/* INSERT/COPY: the last row wins */
} PsDupRule;

extern void ps_sort_keys(const PsKeysAlloc *mem, const int64_t *keys, int n,
						 int64_t *sorted, int32_t *perm);
extern int	ps_aggregate(const PsKeysAlloc *mem, const int64_t *keys,
						 const float *vals, int n, int dim, PsDupRule rule,
						 int64_t **ukeys, float **uvals);

#endif							/* PS_KEYS_H */
