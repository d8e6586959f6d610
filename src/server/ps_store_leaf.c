/*-------------------------------------------------------------------------
 *
 * ps_store_leaf.c
 *	  A ps table's leaves one at a time, in key order, under their share
 *	  lock: copied out for scans, or shown to a visitor while locked.
 *
 * Scans (ps_am_scan.c, the information functions) work on copies, so they
 * hold no lock while returning rows.  The range copy of a join or leave
 * (ps_cluster_copy) needs more: what it reads of a leaf must go to the
 * replicator before any later write of those keys does, so it hands the
 * keys on while the leaf is still locked, through a visitor; a write waits
 * for the lock, and its after-images follow.
 *
 * Layer 4 (store): reads the leaves the directory chains; nothing above.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "storage/bufmgr.h"
#include "utils/rel.h"

#include "ps_page.h"
#include "ps_store_leaf.h"

/*
 * Lock leaf blk shared; copy it into dst (BLCKSZ bytes) if dst is set,
 * show it to visit(arg, page) if visit is; returns its right sibling
 * (InvalidBlockNumber after the last).
 */
static BlockNumber
leaf_locked(Relation rel, BlockNumber blk, BufferAccessStrategy strategy,
			char *dst, PsLeafVisitor visit, void *arg)
{
	Buffer		buf = ReadBufferExtended(rel, MAIN_FORKNUM, blk, RBM_NORMAL,
										 strategy);
	Page		page;
	PsPageOpaque op;
	BlockNumber next;

	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	op = PsPageGetOpaque(page);
	if (op->page_id != PS_PAGE_ID || op->kind != PS_PAGE_LEAF)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("ps table \"%s\": block %u is not a leaf",
						RelationGetRelationName(rel), blk)));
	if (dst != NULL)
		memcpy(dst, page, BLCKSZ);
	if (visit != NULL)
		visit(arg, page);
	next = op->next;
	UnlockReleaseBuffer(buf);
	return next;
}

/*
 * Copy leaf blk into dst (BLCKSZ bytes) under a share lock; returns its
 * right sibling.
 */
BlockNumber
ps_store_copy_leaf(Relation rel, BlockNumber blk, char *dst,
				   BufferAccessStrategy strategy)
{
	return leaf_locked(rel, blk, strategy, dst, NULL, NULL);
}

/*
 * Show leaf blk to visit(arg, page) under its share lock; returns its
 * right sibling.  visit runs with the buffer lock held: it may wait only
 * for what never waits for a leaf of this table (the replicator's room).
 */
BlockNumber
ps_store_visit_leaf(Relation rel, BlockNumber blk, PsLeafVisitor visit, void *arg)
{
	return leaf_locked(rel, blk, NULL, NULL, visit, arg);
}
