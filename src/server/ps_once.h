/*-------------------------------------------------------------------------
 *
 * ps_once.h
 *	  Exactly-once records of a ps table: what each client's last push with
 *	  an exactly-once id wrote, kept in the metapage and changed in the same
 *	  WAL records as the values.
 *
 * Layer 4 (store).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_ONCE_H
#define PS_ONCE_H

#include "access/xlogdefs.h"
#include "storage/buf.h"
#include "utils/relcache.h"

#include "ps_page.h"

/*
 * A push with an exactly-once id in a write: its client's record as the
 * push leaves it (base: seq, unfinished pushes, doubt; ps_sql_msg.c works
 * it out), whose progress the write fills in: the push's own, or, if it
 * resumes base.unfinished_seq, that one's.  first and last: its first and
 * last key in this write.
 */
typedef struct PsOnceMark
{
	PsOnceEntry base;
	bool		resumes;
	int64		first;
	int64		last;
} PsOnceMark;

/* The exactly-once side of one write (ps_store.c keeps it per write). */
typedef struct PsOnceWrite
{
	Relation	rel;
	uint64		ts;
	const PsOnceMark *marks;
	int			nmarks;
	bool	   *complete;		/* of each mark: recorded complete */
	PsOnceEntry *want;			/* scratch: the entries of a batch */
	char	   *data;			/* the batch's change (PsOnceChange ...) */
	Size		len;
	Buffer		meta;			/* locked for the batch, or invalid */
} PsOnceWrite;

extern bool ps_once_lookup(Relation rel, uint64 client, PsOnceEntry *entry,
						   uint64 *evictions, XLogRecPtr *lsn);
extern void ps_once_start(PsOnceWrite *ow, Relation rel, uint64 ts,
						  const PsOnceMark *marks, int nmarks);
extern bool ps_once_prepare(PsOnceWrite *ow, bool any, int64 batch_last,
							bool final);
extern void ps_once_apply(PsOnceWrite *ow);
extern void ps_once_register(PsOnceWrite *ow, uint8 block_id);
extern void ps_once_finish(PsOnceWrite *ow, XLogRecPtr lsn);
extern void ps_once_install(Relation rel, const PsOnceEntry *entries, int n,
							uint64 stamp);

#endif							/* PS_ONCE_H */
