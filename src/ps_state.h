/*-------------------------------------------------------------------------
 *
 * ps_state.h
 *	  Per-table state in shared memory: task timestamps.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_STATE_H
#define PS_STATE_H

#include "access/xlogdefs.h"
#include "utils/relcache.h"

extern void ps_state_init(void);
extern uint64 ps_state_next_ts(Relation rel, XLogRecPtr *flush_lsn);
extern uint64 ps_state_last_ts(Relation rel);
extern void ps_state_forget(Oid relid);

#endif							/* PS_STATE_H */
