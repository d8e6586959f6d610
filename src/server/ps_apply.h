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
	int64		lo;				/* the part of the key space to apply */
	int64		hi;
	PsPartResult result;		/* what ps_apply_group did */
	bool	   *applied;		/* per push (ps_apply_outcomes) */
	PsError    *errors;			/* per push not applied: its error */
	/* private to ps_apply.c */
	const int64 *wkeys;			/* the keys written, ascending; NULL: */
	int64		wfirst;			/* the range wfirst .. */
	int			nwrite;			/* how many (the KKT filter drops some) */
	int			written;		/* of them, written when an error came */
} PsGroup;

extern bool ps_apply_same_group(const PsTaskHeader *a, const PsTaskHeader *b);
extern XLogRecPtr ps_apply_group(PsGroup *g, MemoryContext roundcxt);
extern void ps_apply_outcomes(PsGroup *g, const PsPartResult *parts, int nparts);

#endif							/* PS_APPLY_H */
