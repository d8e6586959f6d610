/*-------------------------------------------------------------------------
 *
 * ps_sql.h
 *	  What the SQL entry points (ps_sql_*.c) share: argument checks, and
 *	  opening a ps table after checking privileges.
 *
 * Layer 9 (SQL entry points).  Only ps_sql*.c include this.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_SQL_H
#define PS_SQL_H

#include "fmgr.h"
#include "storage/lockdefs.h"
#include "utils/acl.h"
#include "utils/relcache.h"

extern void ps_arg_not_null(FunctionCallInfo fcinfo, int argno, const char *what);
extern Relation ps_open_table_for(FunctionCallInfo fcinfo, AclMode mode,
								  bool worker_call, LOCKMODE lockmode);
extern Relation ps_open_table(FunctionCallInfo fcinfo, AclMode mode,
							  LOCKMODE lockmode);
extern void ps_check_writable(FunctionCallInfo fcinfo, Relation rel);
extern uint64 ps_table_last_ts(Relation rel);

#endif							/* PS_SQL_H */
