/*-------------------------------------------------------------------------
 *
 * ps_store_leaf.h
 *	  A ps table's leaves one at a time, under their share lock.
 *
 * Layer 4 (store).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_STORE_LEAF_H
#define PS_STORE_LEAF_H

#include "storage/bufmgr.h"
#include "utils/relcache.h"

typedef void (*PsLeafVisitor) (void *arg, Page page);

extern BlockNumber ps_store_copy_leaf(Relation rel, BlockNumber blk,
									  char *dst, BufferAccessStrategy strategy);
extern BlockNumber ps_store_visit_leaf(Relation rel, BlockNumber blk,
									   PsLeafVisitor visit, void *arg);

#endif							/* PS_STORE_LEAF_H */
