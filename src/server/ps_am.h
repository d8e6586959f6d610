/*-------------------------------------------------------------------------
 *
 * ps_am.h
 *	  The ps table access method, as the layers above it use it.
 *
 * Layer 8 (access method).  Included by the SQL entry points and the
 * module entry; nothing below includes it (they ask ps_table.h whether a
 * relation is a ps table).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_AM_H
#define PS_AM_H

#include "utils/relcache.h"

struct TableAmRoutine;

/* the routine table (the module entry registers it with ps_table.c) */
extern const struct TableAmRoutine *ps_tableam_routine(void);

/*
 * Before this backend writes rel, its open scans of rel freeze: they read
 * on from a copy of the table as it is then (ps_am_scan.c).
 */
extern void ps_freeze_scans(Relation rel);

#endif							/* PS_AM_H */
