/*-------------------------------------------------------------------------
 *
 * ps_defer.h
 *	  INSERTs by statements that also read the ps table they insert into
 *	  are written when the statement has read everything.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_DEFER_H
#define PS_DEFER_H

extern void ps_defer_init(void);

#endif							/* PS_DEFER_H */
