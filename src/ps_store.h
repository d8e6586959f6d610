/*-------------------------------------------------------------------------
 *
 * ps_store.h
 *	  Reading and writing values of sorted keys across the leaves of a ps
 *	  table.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_STORE_H
#define PS_STORE_H

#include "storage/bufmgr.h"
#include "utils/relcache.h"

#include "ps_dir.h"

typedef enum PsWriteMode
{
	PS_WRITE_ADD,				/* value += pushed value (the sum rule) */
	PS_WRITE_SET				/* value = given value (INSERT, COPY) */
} PsWriteMode;

extern void ps_store_write(Relation rel, PsDir *dir, const int64 *keys,
						   const float4 *vals, int n, PsWriteMode mode,
						   uint64 ts);
extern void ps_store_read(Relation rel, PsDir *dir, const int64 *keys,
						  const int32 *perm, int n, float4 *out);
extern void ps_store_read_range(Relation rel, PsDir *dir, int64 lo,
								int64 count, float4 *out);
extern BlockNumber ps_store_copy_leaf(Relation rel, BlockNumber blk,
									  char *dst, BufferAccessStrategy strategy);

#endif							/* PS_STORE_H */
