/*-------------------------------------------------------------------------
 *
 * ps_marks.h
 *	  Time marks: timestamped commit records ahead of ps changes in WAL.
 *
 * Layer 7 (training services).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_MARKS_H
#define PS_MARKS_H

#include "datatype/timestamp.h"
#include "utils/relcache.h"

/* backends, before writing a table themselves */
extern void ps_mark_request(Relation rel);

/* the scheduler */
extern bool ps_mark_due(TimestampTz now, int floor_ms);
extern void ps_mark_write(void);
extern void ps_mark_serve(void);

#endif							/* PS_MARKS_H */
