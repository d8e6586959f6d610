/*-------------------------------------------------------------------------
 *
 * ps_capture.h
 *	  The after-images a write made, collected for replication.
 *
 * Layer 4 (store).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_CAPTURE_H
#define PS_CAPTURE_H

#include "utils/relcache.h"

#include "ps_page.h"

/*
 * Keys ascending, width floats each (values and rule state), grown in the
 * caller's memory context.  Replication (ps_repl_capture_start) sets
 * reserve, which the store calls before a batch of the write locks its
 * first leaf, for room for at least min_keys and at most want keys
 * (returns how many the batch may capture), and hand_on, which it calls
 * under the batch's leaf locks to pass what was captured on (n back to
 * 0): so the writes of one key reach the replicas in the order they took
 * its leaf's lock.  Without them, the images collect here.
 */
typedef struct PsCapture PsCapture;
struct PsCapture
{
	int			width;
	int			n;
	int			cap;
	int64	   *keys;
	float4	   *vals;
	/* the exactly-once records of the write's pushes, as it left them */
	int			nonce;
	PsOnceEntry *once;
	int			(*reserve) (PsCapture *cap, int want, int min_keys, int width);
	void		(*hand_on) (PsCapture *cap);
	/* what hand_on needs to know of the write */
	Oid			dbid;
	Oid			relid;
	int64		clock;
	int			dim;
	bool		handed;			/* hand_on passed keys on, the last: */
	int64		last_key;
	/* the write's pushes with exactly-once ids: each batch says how far */
	Relation	rel;
	const struct PsOnceMark *marks;
	int			nmarks;
};

extern void ps_capture_append(PsCapture *cap, const int64 *keys,
							  const float4 *vals, int n, int width);
extern void ps_capture_once(PsCapture *cap, const PsOnceEntry *e, int room);

#endif							/* PS_CAPTURE_H */
