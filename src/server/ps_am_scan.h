/*-------------------------------------------------------------------------
 *
 * ps_am_scan.h
 *	  What the scans of ps tables offer the writers: before a backend writes
 *	  a table, its open scans of it freeze.
 *
 * Layer 8 (access method).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_AM_SCAN_H
#define PS_AM_SCAN_H

#include "utils/relcache.h"

/*
 * Before this backend writes rel, its open scans of rel freeze: they read
 * on from a copy of the table as it is then.
 */
extern void ps_freeze_scans(Relation rel);

#endif							/* PS_AM_SCAN_H */
