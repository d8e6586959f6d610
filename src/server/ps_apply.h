/*-------------------------------------------------------------------------
 *
 * ps_apply.h
 *	  How an applier of the scheduler applies one group of queued pushes:
 *	  the aggregation, the update rule, and the account of a failed group.
 *
 * Layer 7 (training services).  Used by ps_sched.c only.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_APPLY_H
#define PS_APPLY_H

#include "access/xlogdefs.h"

#include "ps_queue_int.h"

/* The pushes of one table and clock an applier took, and their outcome. */
typedef struct PsGroup
{
	PsTaskHeader **tasks;		/* in queue (timestamp) order */
	int			ntasks;
	bool		failed;
	PsError		error;
	int			nkeys;			/* keys in the aggregate */
	const int64 *keys;			/* the keys written, ascending; NULL: */
	int64		first;			/* the range first .. of a lone range push */
	int			nwrite;			/* how many (the KKT filter drops some) */
	int			written;		/* of them, written when an error came */
	bool	   *applied;		/* per push: applied (all its keys written) */
	PsError    *errors;			/* per push not applied: its error */
} PsGroup;

extern bool ps_apply_same_group(const PsTaskHeader *a, const PsTaskHeader *b);
extern XLogRecPtr ps_apply_group(PsGroup *g, MemoryContext roundcxt);
extern void ps_apply_outcomes(PsGroup *g);

#endif							/* PS_APPLY_H */
