/*-------------------------------------------------------------------------
 *
 * ps_am_int.h
 *	  The callbacks of the access method's routine table that live in
 *	  ps_am_scan.c and ps_am_write.c.
 *
 * Layer 8 (access method).  Included only by ps_am*.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_AM_INT_H
#define PS_AM_INT_H

#include "access/relscan.h"
#include "access/tableam.h"
#include "commands/vacuum.h"
#include "executor/tuptable.h"

/* ps_am_scan.c */
extern const TupleTableSlotOps *ps_slot_callbacks(Relation rel);
extern TableScanDesc ps_scan_begin(Relation rel, Snapshot snapshot, int nkeys,
								   ScanKey key, ParallelTableScanDesc pscan,
								   uint32 flags);
extern void ps_scan_end(TableScanDesc sscan);
extern void ps_scan_rescan(TableScanDesc sscan, ScanKey key, bool set_params,
						   bool allow_strat, bool allow_sync,
						   bool allow_pagemode);
extern bool ps_scan_getnextslot(TableScanDesc sscan, ScanDirection direction,
								TupleTableSlot *slot);
extern Size ps_parallelscan_estimate(Relation rel);
extern Size ps_parallelscan_initialize(Relation rel,
									   ParallelTableScanDesc pscan);
extern void ps_parallelscan_reinitialize(Relation rel,
										 ParallelTableScanDesc pscan);
extern bool ps_scan_analyze_next_block(TableScanDesc sscan,
									   BlockNumber blockno,
									   BufferAccessStrategy bstrategy);
extern bool ps_scan_analyze_next_tuple(TableScanDesc sscan,
									   TransactionId OldestXmin,
									   double *liverows, double *deadrows,
									   TupleTableSlot *slot);

/* ps_am_write.c */
extern void ps_tuple_insert(Relation rel, TupleTableSlot *slot, CommandId cid,
							int options, struct BulkInsertStateData *bistate);
extern void ps_multi_insert(Relation rel, TupleTableSlot **slots, int nslots,
							CommandId cid, int options,
							struct BulkInsertStateData *bistate);

#endif							/* PS_AM_INT_H */
