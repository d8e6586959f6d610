/*-------------------------------------------------------------------------
 *
 * ps_base.h
 *	  The bottom of the ps extension: its version, the preload check, and
 *	  the variables behind its configuration parameters (GUCs).
 *
 * Layer 0 (base).  Every other file of src/server may include this one;
 * it includes no other file of ps, and calls none.  The parameters are
 * defined (DefineCustom...Variable) by the module entry, ps.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_BASE_H
#define PS_BASE_H

#define PS_VERSION_STR "0.7"

#define PS_MAX_APPLIERS 16		/* ps.scheduler_workers at most */

/* requests and shared state */
extern int	ps_max_request_keys;
extern int	ps_max_tables;
extern int	ps_max_workers;
extern int	ps_max_training_tables_per_role;
extern int	ps_max_clock_ranges;

/* workers and their waits */
extern int	ps_worker_timeout;
extern int	ps_wait_timeout;

/* the scheduler */
/* ps.scheduler */
typedef enum PsSchedulerMode
{
	PS_SCHEDULER_OFF,			/* every push applied by its backend */
	PS_SCHEDULER_AUTO,			/* queued when it can be aggregated there */
	PS_SCHEDULER_ALWAYS			/* every push the queue can take */
} PsSchedulerMode;

extern int	ps_scheduler_mode;
extern int	ps_scheduler_workers;
extern int	ps_gather_window;
extern int	ps_key_cache_size;
extern int	ps_queue_size;
extern int	ps_replication_buffer;
extern int	ps_heartbeat_interval;
extern int	ps_failure_timeout;
extern int	ps_switch_timeout;
extern int	ps_time_mark_interval;

/* WAL */
extern bool ps_replay_wal_0_2;

/* set by _PG_init when loaded through shared_preload_libraries */
extern bool ps_preloaded;
extern void ps_check_preloaded(void);

#endif							/* PS_BASE_H */
