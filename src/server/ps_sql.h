/*-------------------------------------------------------------------------
 *
 * ps_sql.h
 *	  What the SQL entry points (ps_sql_*.c) share: argument checks,
 *	  opening a ps table after checking privileges, and the push path.
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

#include "utils/array.h"

#include "ps_dir.h"
#include "ps_keys.h"
#include "ps_once.h"

extern void ps_arg_not_null(FunctionCallInfo fcinfo, int argno, const char *what);
extern ArrayType *ps_sql_new_array(Oid elem, int elemsize, Size n, void **data);
extern const PsKeysAlloc ps_keys_palloc;
extern void ps_sql_read_keys(Relation rel, PsDir *dir, const int64 *keys,
							 int n, int dim, float4 *out);
extern int	ps_sql_array_arg(FunctionCallInfo fcinfo, int argno, const char *what,
							 void **data);
extern void ps_check_table_privilege(Oid relid, AclMode mode,
									 const char *detail);
extern Relation ps_open_relid(FunctionCallInfo fcinfo, Oid relid,
							  LOCKMODE lockmode);
extern Relation ps_open_table_for(FunctionCallInfo fcinfo, AclMode mode,
								  bool worker_call, LOCKMODE lockmode);
extern Relation ps_open_table(FunctionCallInfo fcinfo, AclMode mode,
							  LOCKMODE lockmode);
extern void ps_check_writable(FunctionCallInfo fcinfo, Relation rel);
extern uint64 ps_table_last_ts(Relation rel);

/* ps_sql_push.c: the checks and the write every push goes through */
extern void ps_sql_check_held(Relation rel, const int64 *keys, int64 first,
							  int64 n);
extern void ps_sql_check_request_size(FunctionCallInfo fcinfo, uint64 nkeys, int dim);
extern void ps_sql_prepare_write(FunctionCallInfo fcinfo, Relation rel);
extern int	ps_sql_push_dim(FunctionCallInfo fcinfo, Relation rel, int64 nkeys, int nvals);
extern uint64 ps_sql_push(Relation rel, const int64 *keys, int64 first,
						  const float4 *vals, int n, int dim, bool has_worker,
						  int32 worker, int64 clock, const PsOnceMark *once,
						  bool flush_later);
extern void ps_sql_flush_session(void);
extern uint64 ps_sql_empty_push(Relation rel, bool has_worker, int32 worker,
								int64 clock);

#endif							/* PS_SQL_H */
