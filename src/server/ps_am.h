/*-------------------------------------------------------------------------
 *
 * ps_am.h
 *	  The ps table access method's routine table.
 *
 * Layer 8 (access method).  Included by the module entry; nothing below
 * includes it (they ask ps_table.h whether a relation is a ps table).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_AM_H
#define PS_AM_H

#include "utils/relcache.h"

struct TableAmRoutine;

/* the routine table (the module entry registers it with ps_table.c) */
extern const struct TableAmRoutine *ps_tableam_routine(void);

#endif							/* PS_AM_H */
