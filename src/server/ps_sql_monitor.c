/*-------------------------------------------------------------------------
 *
 * ps_sql_monitor.c
 *	  The failure detector of a cluster node: the monitor, a background
 *	  worker that sends every other active node a heartbeat, declares a
 *	  node that stops answering dead on every live node (its ranges go to
 *	  their replicas), and fences this node if the others declared it dead;
 *	  and ps_cluster_health(), ps_cluster_monitor(), what it sees.
 *
 * Every ps.heartbeat_interval the monitor asks each other active node for
 * its ring row, over a connection it keeps open (libpq, non-blocking: a
 * node that hangs holds up no other).  A node is declared dead when
 *
 *	 - its connection is lost and a new one is refused at the socket (the
 *	   server is gone: a crash, a kill; detected within milliseconds), or
 *	 - it has not answered for ps.failure_timeout (a hung host, a network
 *	   that drops packets).
 *
 * A server that answers with an error (too many connections, say) is not
 * gone: only the timeout declares it dead.  The node with the lowest id
 * among those answering declares it (ps_sql_cluster_fail_node: a ring
 * change by two-phase commit on every live node); the others do it
 * themselves if the ring still lists it active twice the timeout later,
 * so that the failure of that node too does not stop the failover.  Two
 * at once are harmless: the second finds the version changed.
 *
 * A heartbeat answer whose ring is newer and lists this node as dead (it
 * was declared dead while it was down or cut off) makes this node take
 * that ring: it then serves no key, and sends clients to the new owners.
 * It comes back as a new node (README, "After a failure").  The detector
 * assumes crashes, not partitions: a node cut off from the others but
 * not from its clients serves them until it hears the others again.
 *
 * Layer 9 (SQL entry points): called by PostgreSQL only (ps_monitor_main,
 * started by ps_monitor.c); uses the admin functions' failover.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "libpq-fe.h"

#include "ps_base.h"
#include "ps_cluster.h"
#include "ps_monitor.h"
#include "ps_sql_cluster.h"
#include "ps_sql_cluster_admin.h"
#include "ps_sql_cluster_repl.h"

PGDLLEXPORT void ps_monitor_main(Datum arg);

PG_FUNCTION_INFO_V1(ps_cluster_health);
PG_FUNCTION_INFO_V1(ps_cluster_monitor);

typedef enum Phase
{
	PH_IDLE,					/* no connection; the next one at next_at */
	PH_CONNECTING,
	PH_SCHEMA,					/* asked for the extension's schema */
	PH_READY,					/* the next heartbeat at next_at */
	PH_WAITING					/* a heartbeat sent at sent_at */
} Phase;

typedef struct Peer
{
	uint32		node;
	char	   *conninfo;
	PGconn	   *conn;
	Phase		phase;
	PostgresPollingStatusType poll;
	bool		lost;			/* its connection was lost */
	bool		dead;			/* declared dead here (the ring may not say so yet) */
	bool		in_ring;		/* still an active node of the ring read last */
	char		schema[NAMEDATALEN * 2 + 3];
	TimestampTz connect_at,
				sent_at,
				next_at,
				last_ok,		/* its last answer (or when watching began) */
				lost_at,		/* when it stopped answering */
				dead_at,
				retry_at;		/* a failed declaration is tried again then */
	int64		rtt_us;
	uint64		failures;
} Peer;

static Peer peers[PS_MONITOR_MAX_PEERS];
static int	npeers = 0;
static uint64 heartbeats = 0;
static MemoryContext monitor_cxt;

static void
close_peer(Peer *p)
{
	if (p->conn)
		PQfinish(p->conn);
	p->conn = NULL;
	p->phase = PH_IDLE;
}

/*
 * The cluster as committed now: this node's id and ring version; false if
 * this node is not an active node of one (then the monitor has nothing to
 * watch).  Brings the list of peers up to date.  The ring is read only
 * here, in a transaction: outside one, the backend's copy of it may be
 * gone (an invalidation while it was read) and reading it again would
 * open a table with no transaction.
 */
static bool
read_ring(uint32 *self, int64 *version)
{
	const PsCluster *c;
	bool		watching;
	int			i,
				j;

	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	c = ps_cluster_get();
	*self = c->self;
	*version = c->version;
	watching = c->version > 0 && ps_cluster_node_active(c, c->self);
	for (j = 0; j < npeers; j++)
		peers[j].in_ring = false;
	for (i = 0; watching && i < c->nnodes; i++)
	{
		const PsClusterNode *nd = &c->nodes[i];

		if (nd->id == c->self || !PS_NODE_LIVE(nd->state))
			continue;
		for (j = 0; j < npeers && peers[j].node != nd->id; j++)
			;
		if (j == npeers)
		{
			if (npeers == PS_MONITOR_MAX_PEERS)
				continue;
			memset(&peers[j], 0, sizeof(Peer));
			peers[j].node = nd->id;
			peers[j].last_ok = GetCurrentTimestamp();
			peers[j].conninfo = MemoryContextStrdup(monitor_cxt, nd->conninfo);
			npeers++;
		}
		else if (strcmp(peers[j].conninfo, nd->conninfo) != 0)
		{
			close_peer(&peers[j]);
			pfree(peers[j].conninfo);
			peers[j].conninfo = MemoryContextStrdup(monitor_cxt, nd->conninfo);
		}
		peers[j].in_ring = true;
	}
	PopActiveSnapshot();
	CommitTransactionCommand();
	/* nodes gone from the ring, or dead in it, are not watched */
	for (j = 0; j < npeers;)
		if (!peers[j].in_ring)
		{
			close_peer(&peers[j]);
			pfree(peers[j].conninfo);
			peers[j] = peers[--npeers];
		}
		else
			j++;
	return watching;
}

/* The peer stopped answering at `when` (if it had not already). */
static void
stopped(Peer *p, TimestampTz when)
{
	if (!p->lost)
		p->lost_at = when;
	p->lost = true;
	p->failures++;
}

/* A connection attempt failed: gone at the socket, or refused by a server. */
static void
connect_failed(Peer *p, TimestampTz now)
{
	const char *msg = p->conn ? PQerrorMessage(p->conn) : "";
	bool		gone = strstr(msg, "FATAL") == NULL;

	if (!p->lost)
		stopped(p, now);
	else
		p->failures++;
	close_peer(p);
	/* a server that was there and now refuses at the socket is gone */
	if (gone && !p->dead)
	{
		p->dead = true;
		p->dead_at = now;
	}
	p->next_at = TimestampTzPlusMilliseconds(now, Max(ps_heartbeat_interval / 5, 20));
}

/* This node's ring is older than an answer that declares it dead: take it. */
static void
maybe_fenced(PGresult *res)
{
	ArrayType  *arrays[4];
	char	   *conninfo;
	int			i;

	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	for (i = 0; i < 4; i++)
		arrays[i] = DatumGetArrayTypeP(OidInputFunctionCall(F_ARRAY_IN,
															PQgetvalue(res, 0, 3 + i),
															i < 2 ? INT4OID : TEXTOID, -1));
	conninfo = ps_sql_cluster_take_ring(strtoll(PQgetvalue(res, 0, 0), NULL, 10),
										atoi(PQgetvalue(res, 0, 1)),
										PQgetvalue(res, 0, 2)[0] == 't', arrays);
	if (conninfo)
	{
		conninfo = MemoryContextStrdup(monitor_cxt, conninfo);
		ereport(LOG,
				(errmsg("ps monitor: the cluster declared this node dead at ring version %s; it serves no key now",
						PQgetvalue(res, 0, 0)),
				 errhint("Bring it back as a new node: ps_cluster_reset(force => true) here, then ps_cluster_add() from a node of the cluster.")));
	}
	PopActiveSnapshot();
	CommitTransactionCommand();
	/* its replicas are gone: nothing on it may wait for them */
	if (conninfo)
		ps_sql_unset_replication(conninfo);
}

/* Take the peer's answers, if any came; false if its connection is lost. */
static bool
take_answers(Peer *p, int64 my_version, TimestampTz now)
{
	PGresult   *res;

	if (!PQconsumeInput(p->conn))
		return false;
	while (!PQisBusy(p->conn) && (res = PQgetResult(p->conn)) != NULL)
	{
		if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		{
			if (p->phase == PH_SCHEMA)
			{
				snprintf(p->schema, sizeof(p->schema), "%s", PQgetvalue(res, 0, 0));
				p->phase = PH_READY;
				p->next_at = now;
			}
			else if (p->phase == PH_WAITING)
			{
				heartbeats++;
				p->last_ok = now;
				p->rtt_us = now - p->sent_at;
				p->lost = false;
				p->dead = false;
				p->phase = PH_READY;
				p->next_at = TimestampTzPlusMilliseconds(p->sent_at, ps_heartbeat_interval);
				/* a newer ring: its states say whether this node is dead */
				if (strtoll(PQgetvalue(res, 0, 0), NULL, 10) > my_version)
					maybe_fenced(res);
			}
		}
		else if (PQresultStatus(res) != PGRES_TUPLES_OK && PQstatus(p->conn) == CONNECTION_BAD)
		{
			PQclear(res);
			return false;		/* the server ended the session: it is going */
		}
		else if (PQresultStatus(res) != PGRES_TUPLES_OK)
		{
			/* a server that answers with an error is not gone: ask again later */
			ereport(DEBUG1,
					(errmsg_internal("ps monitor: node %u: %s", p->node, PQresultErrorMessage(res))));
			p->phase = p->schema[0] ? PH_READY : PH_IDLE;
			p->next_at = TimestampTzPlusMilliseconds(now, ps_heartbeat_interval);
			if (p->phase == PH_IDLE)
				close_peer(p);
		}
		else if (p->phase == PH_SCHEMA)
		{
			/* no extension ps there: nothing to watch but its connection */
			close_peer(p);
			p->next_at = TimestampTzPlusMilliseconds(now, ps_heartbeat_interval);
		}
		PQclear(res);
		if (p->conn == NULL)
			return true;
	}
	return PQstatus(p->conn) == CONNECTION_OK;
}

/* Move the peer's connection and heartbeat on as far as they go now. */
static void
drive(Peer *p, int64 my_version, TimestampTz now)
{
	if (p->phase == PH_IDLE && now >= p->next_at)
	{
		p->conn = PQconnectStart(p->conninfo);
		p->connect_at = now;
		if (p->conn == NULL || PQstatus(p->conn) == CONNECTION_BAD)
		{
			connect_failed(p, now);
			return;
		}
		p->phase = PH_CONNECTING;
		p->poll = PGRES_POLLING_WRITING;
	}
	if (p->phase == PH_CONNECTING)
	{
		p->poll = PQconnectPoll(p->conn);
		if (p->poll == PGRES_POLLING_FAILED)
		{
			connect_failed(p, now);
			return;
		}
		if (p->poll != PGRES_POLLING_OK)
		{
			if (TimestampDifferenceExceeds(p->connect_at, now, ps_failure_timeout))
			{
				if (!p->lost)
					stopped(p, p->connect_at);
				close_peer(p);
				p->next_at = now;
			}
			return;
		}
		if (PQsetnonblocking(p->conn, 1) != 0 ||
			!PQsendQuery(p->conn,
						 "SELECT pg_catalog.quote_ident(n.nspname) FROM pg_catalog.pg_extension e"
						 " JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace"
						 " WHERE e.extname OPERATOR(pg_catalog.=) 'ps'"))
		{
			stopped(p, now);
			close_peer(p);
			return;
		}
		p->schema[0] = '\0';
		p->phase = PH_SCHEMA;
	}
	if ((p->phase == PH_SCHEMA || p->phase == PH_WAITING || p->phase == PH_READY) &&
		!take_answers(p, my_version, now))
	{
		stopped(p, now);
		close_peer(p);
		p->next_at = now;		/* at once: refused, it is gone */
		return;
	}
	if (p->phase == PH_READY && now >= p->next_at)
	{
		char		sql[512];

		snprintf(sql, sizeof(sql),
				 "SELECT c.version, c.replicas, c.synchronous, c.nodes, c.virtual_nodes,"
				 " c.states, c.conninfos, s.version FROM %s.ps_cluster c, %s.ps_cluster_status() s",
				 p->schema, p->schema);
		if (!PQsendQuery(p->conn, sql))
		{
			stopped(p, now);
			close_peer(p);
			p->next_at = now;
			return;
		}
		p->sent_at = now;
		p->phase = PH_WAITING;
	}
	/* silent too long: dead, whatever the connection says */
	if (!p->dead && TimestampDifferenceExceeds(p->last_ok, now, ps_failure_timeout))
	{
		if (!p->lost)
			stopped(p, p->last_ok);
		p->dead = true;
		p->dead_at = now;
	}
}

/* Is this node the one to declare dead peer `dead` (the lowest id answering)? */
static bool
mine_to_declare(uint32 self, const Peer *dead, TimestampTz now)
{
	int			j;

	if (TimestampDifferenceExceeds(dead->dead_at, now, 2 * ps_failure_timeout))
		return true;
	for (j = 0; j < npeers; j++)
		if (!peers[j].dead && !peers[j].lost && peers[j].node < self)
			return false;
	return true;
}

/* Declare peer p dead on every live node; true if the ring changed. */
static bool
declare_dead(Peer *p, TimestampTz now)
{
	MemoryContext old = CurrentMemoryContext;
	volatile int64 version = 0;

	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	PG_TRY();
	{
		version = ps_sql_cluster_fail_node(p->node);
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		ErrorData  *e;

		MemoryContextSwitchTo(old);
		e = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		ereport(WARNING,
				(errmsg("ps monitor: node %u stopped answering and could not be declared dead: %s",
						p->node, e->message),
				 e->detail ? errdetail_internal("%s", e->detail) : 0));
		FreeErrorData(e);
		return false;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(old);
	if (version > 0)
	{
		TimestampTz done = GetCurrentTimestamp();

		ps_monitor_failover_done((p->dead_at - p->lost_at) / 1000, (done - p->dead_at) / 1000);
		ereport(LOG,
				(errmsg("ps monitor: declared node %u dead (ring version " INT64_FORMAT "): silent %.0f ms before it was detected, ring changed %.0f ms after",
						p->node, version, (double) (p->dead_at - p->lost_at) / 1000.0,
						(double) (done - p->dead_at) / 1000.0)));
	}
	return true;
}

static void
publish(void)
{
	PsPeerHealth h[PS_MONITOR_MAX_PEERS];
	int			j;

	for (j = 0; j < npeers; j++)
	{
		h[j].node = peers[j].node;
		h[j].state = peers[j].dead ? PS_PEER_DEAD : peers[j].lost ? PS_PEER_SUSPECT :
			peers[j].rtt_us > 0 ? PS_PEER_UP : PS_PEER_UNKNOWN;
		h[j].last_ok = peers[j].last_ok;
		h[j].rtt_us = peers[j].rtt_us;
		h[j].failures = peers[j].failures;
	}
	ps_monitor_publish(h, npeers, heartbeats);
}

/* Wait for a socket of a peer, the latch, or the next heartbeat due. */
static void
wait_for_peers(TimestampTz now)
{
	WaitEventSet *set = CreateWaitEventSet(CurrentMemoryContext, npeers + 2);
	WaitEvent	events[PS_MONITOR_MAX_PEERS + 2];
	long		timeout = Max(ps_heartbeat_interval, 10);
	int			j;

	AddWaitEventToSet(set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
	AddWaitEventToSet(set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
	for (j = 0; j < npeers; j++)
	{
		Peer	   *p = &peers[j];
		long		due = 0;

		if (p->conn != NULL && PQsocket(p->conn) >= 0)
		{
			uint32		ev = p->phase == PH_CONNECTING && p->poll == PGRES_POLLING_WRITING ?
				WL_SOCKET_WRITEABLE : WL_SOCKET_READABLE;

			AddWaitEventToSet(set, ev, PQsocket(p->conn), NULL, NULL);
		}
		if (p->phase == PH_IDLE || p->phase == PH_READY)
			due = (long) ((p->next_at - now) / 1000);
		else
			due = Max(ps_failure_timeout / 4, 10);
		timeout = Min(timeout, Max(due, 1));
	}
	(void) WaitEventSetWait(set, timeout, events, lengthof(events), PG_WAIT_EXTENSION);
	FreeWaitEventSet(set);
}

void
ps_monitor_main(Datum arg)
{
	Oid			dbid = DatumGetObjectId(arg);

	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(dbid, InvalidOid, 0);
	pgstat_report_appname("ps monitor");
	SetConfigOption("search_path", "", PGC_SUSET, PGC_S_OVERRIDE);
	/* its commits (a fence) must not wait for standbys that may be gone */
	SetConfigOption("synchronous_commit", "local", PGC_SUSET, PGC_S_OVERRIDE);
	if (!ps_monitor_attach(dbid))
		proc_exit(0);			/* another one runs */
	monitor_cxt = AllocSetContextCreate(TopMemoryContext, "ps monitor",
										ALLOCSET_DEFAULT_SIZES);

	while (!ShutdownRequestPending)
	{
		uint32		self;
		int64		my_version;
		TimestampTz now;
		int			j;

		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		if (ps_heartbeat_interval == 0 || !read_ring(&self, &my_version))
			break;				/* off, or nothing to watch */
		now = GetCurrentTimestamp();
		for (j = 0; j < npeers; j++)
			drive(&peers[j], my_version, now);
		for (j = 0; j < npeers; j++)
			if (peers[j].dead && now >= peers[j].retry_at &&
				mine_to_declare(self, &peers[j], now))
			{
				if (declare_dead(&peers[j], now))
					break;		/* one change a round: the ring is read again */
				peers[j].retry_at = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
																ps_failure_timeout);
			}
		publish();
		wait_for_peers(GetCurrentTimestamp());
	}
	while (npeers > 0)
		close_peer(&peers[--npeers]);
	proc_exit(0);
}

static const char *const peer_states[] = {"unknown", "up", "suspect", "dead"};

/*
 * ps_cluster_health() returns setof (node, state, last_answer, rtt_ms,
 * failures): what this node's monitor sees of each other active node.
 */
Datum
ps_cluster_health(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PsMonitorStats s;
	int			i;

	InitMaterializedSRF(fcinfo, 0);
	ps_monitor_read(&s);
	if (s.dbid != MyDatabaseId || s.pid == 0)
		return (Datum) 0;
	for (i = 0; i < s.npeers; i++)
	{
		Datum		values[5];
		bool		nulls[5] = {0};

		values[0] = Int32GetDatum((int32) s.peers[i].node);
		values[1] = CStringGetTextDatum(peer_states[s.peers[i].state]);
		values[2] = TimestampTzGetDatum(s.peers[i].last_ok);
		values[3] = Float8GetDatum((double) s.peers[i].rtt_us / 1000.0);
		values[4] = Int64GetDatum((int64) s.peers[i].failures);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * ps_cluster_monitor() returns (pid, heartbeats, failovers,
 * last_detect_ms, last_failover_ms): this node's monitor; pid NULL if
 * none watches this database.
 */
Datum
ps_cluster_monitor(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	PsMonitorStats s;
	Datum		values[5];
	bool		nulls[5] = {0};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	ps_monitor_read(&s);
	if (s.dbid != MyDatabaseId)
		memset(&s, 0, sizeof(s));
	values[0] = Int32GetDatum(s.pid);
	nulls[0] = s.pid == 0;
	values[1] = Int64GetDatum((int64) s.heartbeats);
	values[2] = Int64GetDatum((int64) s.failovers);
	values[3] = Int64GetDatum(s.last_detect_ms);
	values[4] = Int64GetDatum(s.last_failover_ms);
	nulls[3] = nulls[4] = s.failovers == 0;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
