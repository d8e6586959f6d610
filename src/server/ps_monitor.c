/*-------------------------------------------------------------------------
 *
 * ps_monitor.c
 *	  The failure detector's shared side: one monitor (a dynamic
 *	  background worker, ps_sql_monitor.c) per server watches the other
 *	  nodes of its database's cluster; this file keeps, in shared memory,
 *	  which database it serves, its process, and what it last saw of each
 *	  node, for ps_cluster_health().
 *
 * A backend of a database in a cluster calls ps_monitor_ensure on each
 * request that checks the ring: if no monitor runs it starts one (at most
 * once every two seconds, so that a monitor that cannot start does not
 * cost every request a registration).  A monitor that finds its node on
 * its own, or declared dead, exits; the next request starts it again if
 * needed.  Like replication, one database per server is watched: the
 * first one in a cluster to ask.
 *
 * Layer 7 (training services): shared memory and worker registration;
 * the worker itself is in layer 9.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/timestamp.h"

#include "ps_base.h"
#include "ps_monitor.h"

typedef struct PsMonitorShared
{
	slock_t		mutex;
	TimestampTz started;		/* the last start asked for */
	PsMonitorStats stats;
} PsMonitorShared;

static PsMonitorShared *mon = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static void
monitor_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(PsMonitorShared)));
}

static void
monitor_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	mon = ShmemInitStruct("ps monitor", sizeof(PsMonitorShared), &found);
	if (!found)
	{
		memset(mon, 0, sizeof(PsMonitorShared));
		SpinLockInit(&mon->mutex);
	}
	LWLockRelease(AddinShmemInitLock);
}

/* Ask for the monitor's shared memory (from _PG_init). */
void
ps_monitor_init(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = monitor_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = monitor_shmem_startup;
}

/*
 * This database is in a cluster: make sure a monitor watches it, unless
 * one watches another database, or the detector is off.
 */
void
ps_monitor_ensure(void)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;
	TimestampTz now;
	bool		start = false;

	if (mon == NULL || ps_heartbeat_interval == 0 || mon->stats.pid != 0)
		return;					/* the unlocked look: the common case */
	now = GetCurrentTimestamp();
	SpinLockAcquire(&mon->mutex);
	if (mon->stats.pid == 0 &&
		(!OidIsValid(mon->stats.dbid) || mon->stats.dbid == MyDatabaseId) &&
		TimestampDifferenceExceeds(mon->started, now, 2000))
	{
		mon->started = now;
		start = true;
	}
	SpinLockRelease(&mon->mutex);
	if (!start)
		return;
	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "ps");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "ps_monitor_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "ps monitor");
	snprintf(worker.bgw_type, BGW_MAXLEN, "ps monitor");
	worker.bgw_main_arg = ObjectIdGetDatum(MyDatabaseId);
	worker.bgw_notify_pid = 0;
	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
		ereport(WARNING,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("could not start the ps monitor: no background worker slot"),
				 errhint("Raise max_worker_processes: each node of a cluster runs a monitor that detects failed nodes.")));
}

static void
monitor_exit(int code, Datum arg)
{
	ps_monitor_detach();
}

/* The monitor of dbid starts; false if another one runs. */
bool
ps_monitor_attach(Oid dbid)
{
	bool		ok = false;

	SpinLockAcquire(&mon->mutex);
	if (mon->stats.pid == 0 &&
		(!OidIsValid(mon->stats.dbid) || mon->stats.dbid == dbid))
	{
		mon->stats.pid = MyProcPid;
		mon->stats.dbid = dbid;
		mon->stats.npeers = 0;
		ok = true;
	}
	SpinLockRelease(&mon->mutex);
	if (ok)
		before_shmem_exit(monitor_exit, (Datum) 0);
	return ok;
}

/* The monitor stops (its database may be watched again later). */
void
ps_monitor_detach(void)
{
	SpinLockAcquire(&mon->mutex);
	if (mon->stats.pid == MyProcPid)
	{
		mon->stats.pid = 0;
		mon->stats.npeers = 0;
	}
	SpinLockRelease(&mon->mutex);
}

/* What the monitor sees now. */
void
ps_monitor_publish(const PsPeerHealth *peers, int npeers, uint64 heartbeats)
{
	npeers = Min(npeers, PS_MONITOR_MAX_PEERS);
	SpinLockAcquire(&mon->mutex);
	memcpy(mon->stats.peers, peers, sizeof(PsPeerHealth) * npeers);
	mon->stats.npeers = npeers;
	mon->stats.heartbeats = heartbeats;
	SpinLockRelease(&mon->mutex);
}

/* The monitor declared a node dead: how long detecting and changing the ring took. */
void
ps_monitor_failover_done(int64 detect_ms, int64 failover_ms)
{
	SpinLockAcquire(&mon->mutex);
	mon->stats.failovers++;
	mon->stats.last_detect_ms = detect_ms;
	mon->stats.last_failover_ms = failover_ms;
	SpinLockRelease(&mon->mutex);
}

void
ps_monitor_read(PsMonitorStats *out)
{
	if (mon == NULL)
	{
		memset(out, 0, sizeof(PsMonitorStats));
		return;
	}
	SpinLockAcquire(&mon->mutex);
	*out = mon->stats;
	SpinLockRelease(&mon->mutex);
}
