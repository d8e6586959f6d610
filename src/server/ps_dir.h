/*-------------------------------------------------------------------------
 *
 * ps_dir.h
 *	  The metapage, the leaf directory and leaf splits of a ps table, and
 *	  the backend-local copy of the directory that routes keys to leaves.
 *
 * Layer 3 (directory).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_DIR_H
#define PS_DIR_H

#include "access/xlogdefs.h"
#include "storage/buf.h"
#include "storage/relfilenode.h"
#include "utils/relcache.h"
#include "utils/timestamp.h"

/*
 * Backend-local directory of one table: leaf lower bounds in ascending
 * order with their blocks.  It may be stale (missing the newest splits):
 * leaves never merge and a split keeps the left leaf's lower bound, so a
 * stale entry still points at a leaf at or left of the right one, and
 * following right-links from there finds the key (as in Lehman-Yao).
 */
typedef struct PsDir
{
	Oid			dbid;			/* hash key: database and table */
	Oid			relid;
	RelFileNode node;			/* storage this copy describes */
	bool		valid;			/* false: reload from scratch */
	int			dim;			/* values per key; 0 = no storage yet */
	int			width;			/* floats stored per key: values, then state */
	int			declared_dim;	/* from the table definition; -1 = not read */
	uint32		n;				/* entries held */
	uint32		cap;			/* allocated entries */
	int64	   *lo;				/* leaf lower bounds, ascending */
	BlockNumber *blk;			/* leaf of each lower bound */
	Buffer	   *recent;			/* buffer that last held each leaf (a hint) */
	BlockNumber dirblk;			/* directory page where reading resumes */
	uint32		dirpos;			/* entries of dirblk already read */
	TimestampTz last_used;		/* start of the last transaction using it */
} PsDir;

extern PsDir *ps_dir_get(Relation rel, bool create, int dim, int width);
extern int	ps_dir_find(const PsDir *dir, int64 key, int from);
extern void ps_dir_forget(Oid relid);
extern void ps_dir_prune(TimestampTz now, int idle_ms);
extern long ps_dir_count(void);
extern void ps_dir_reset_storage(Relation rel);

extern Buffer ps_split_leaf(Relation rel, Buffer leftbuf, int64 splitkey);

extern uint64 ps_dir_ts_reserved(Relation rel);
extern uint64 ps_dir_reserve_ts(Relation rel, uint64 upto, XLogRecPtr *lsn);

extern bool ps_has_storage(Relation rel);
extern void ps_dir_read_disk(Relation rel, uint32 *n, int64 **lo,
							 BlockNumber **blk, uint32 *ndirpages);

#endif							/* PS_DIR_H */
