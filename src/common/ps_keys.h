/*-------------------------------------------------------------------------
 *
 * ps_keys.h
 *	  Sorting request keys and aggregating the values pushed with them.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_KEYS_H
#define PS_KEYS_H

/* how duplicate keys in one write combine */
typedef enum PsDupRule
{
	PS_DUP_SUM,					/* pushes: values of a key add up */
	PS_DUP_LAST					/* INSERT/COPY: the last row wins */
} PsDupRule;

extern void ps_sort_keys(const int64 *keys, int n, int64 *sorted, int32 *perm);
extern int	ps_aggregate(const int64 *keys, const float4 *vals, int n, int dim,
						 PsDupRule rule, int64 **ukeys, float4 **uvals);

#endif							/* PS_KEYS_H */
