/*-------------------------------------------------------------------------
 *
 * ps_store.h
 *	  Reading and writing values of sorted keys across the leaves of a ps
 *	  table.
 *
 * Layer 4 (store).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_STORE_H
#define PS_STORE_H

#include "storage/bufmgr.h"
#include "utils/relcache.h"

#include "ps_capture.h"
#include "ps_dir.h"
#include "ps_once.h"
#include "ps_rule.h"
#include "ps_store_leaf.h"

typedef enum PsWriteMode
{
	PS_WRITE_PUSH,				/* apply the update rule to pushed values */
	PS_WRITE_SET,				/* set values, fresh rule state (INSERT, COPY) */
	PS_WRITE_RECORDS			/* set whole records, values and state */
} PsWriteMode;

/* what a write does */
typedef struct PsWrite
{
	PsWriteMode mode;
	PsRule		rule;			/* for PUSH and SET */
	int			dim;			/* values per key */
	uint64		ts;				/* clock of the leaves written */
	bool		kkt;			/* drop pushes of inactive keys first */
	int		   *written;		/* if set: receives how many of the keys
								 * were written, also on error, and the
								 * caller reports a partial write itself */
	const PsOnceMark *once;		/* pushes with exactly-once ids in it, */
	int			nonce;			/* whose records it changes (ps_once.c) */
	bool		flush_later;	/* a push answered before its WAL flush */
	PsCapture  *capture;		/* if set: receives the after-images */
} PsWrite;

extern void ps_store_write(Relation rel, PsDir *dir, const int64 *keys,
						   const float4 *vals, int n, const PsWrite *w);
extern void ps_store_write_range(Relation rel, PsDir *dir, int64 first,
								 const float4 *vals, int n, const PsWrite *w);
extern void ps_store_read(Relation rel, PsDir *dir, const int64 *keys,
						  const int32 *perm, int n, int nfloats, float4 *out);
extern void ps_store_read_clock(Relation rel, PsDir *dir, const int64 *keys,
								const int32 *perm, int n, int nfloats,
								float4 *out, uint64 *clock);
extern void ps_store_read_range(Relation rel, PsDir *dir, int64 lo,
								int64 count, float4 *out);


#endif							/* PS_STORE_H */
