/*-------------------------------------------------------------------------
 *
 * ps_sched.h
 *	  The scheduler background worker that aggregates and applies the
 *	  pushes of the queue.
 *
 * Layer 7 (training services).  Only the module entry includes this.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_SCHED_H
#define PS_SCHED_H

extern void ps_sched_init(void);
extern PGDLLEXPORT void ps_scheduler_main(Datum arg);

#endif							/* PS_SCHED_H */
