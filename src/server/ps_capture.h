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

#include "ps_page.h"

/*
 * Keys ascending, width floats each (values and rule state), grown in the
 * caller's memory context.
 */
typedef struct PsCapture
{
	int			width;
	int			n;
	int			cap;
	int64	   *keys;
	float4	   *vals;
	/* the exactly-once records of the write's pushes, as it left them */
	int			nonce;
	PsOnceEntry *once;
} PsCapture;

extern void ps_capture_append(PsCapture *cap, const int64 *keys,
							  const float4 *vals, int n, int width);
extern void ps_capture_once(PsCapture *cap, const PsOnceEntry *e, int room);

#endif							/* PS_CAPTURE_H */
