/*-------------------------------------------------------------------------
 *
 * ps_base.c
 *	  The bottom of the ps extension: the variables behind its
 *	  configuration parameters, and the preload check.
 *
 * Layer 0 (base): calls no other file of ps.  What the parameters mean is
 * said where ps.c defines them, and in README.md ("Configuration").
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "ps_base.h"

int			ps_max_request_keys = 10000000;
int			ps_max_tables = 1024;
int			ps_max_workers = 64;
int			ps_max_training_tables_per_role = 64;
int			ps_max_clock_ranges = 256;

int			ps_worker_timeout = 60;	/* s */
int			ps_wait_timeout = 60000;	/* ms */

int			ps_scheduler_mode = PS_SCHEDULER_AUTO;
int			ps_scheduler_workers = 2;	/* set from the CPU count in _PG_init */
int			ps_gather_window = 0;	/* ms; 0: no gathering */
int			ps_key_cache_size = 16384;	/* kB of cached key lists per session */
int			ps_queue_size = 64;	/* MB */
int			ps_replication_buffer = 16;	/* MB */
int			ps_heartbeat_interval = 500;	/* ms */
int			ps_failure_timeout = 1000;	/* ms */
int			ps_switch_timeout = 1000;	/* ms */
int			ps_time_mark_interval = 0;	/* ms; -1: no time marks */

bool		ps_replay_wal_0_2 = false;

bool		ps_preloaded = false;

/*
 * Raise the error every entry point raises when the library was not
 * preloaded.
 */
void
ps_check_preloaded(void)
{
	if (!ps_preloaded)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("ps must be loaded via shared_preload_libraries"),
				 errdetail("ps tables need the ps WAL resource manager and shared memory, which exist only when the library is preloaded."),
				 errhint("Add 'ps' to shared_preload_libraries in postgresql.conf and restart the server.")));
}
