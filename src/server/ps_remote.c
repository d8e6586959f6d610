/*-------------------------------------------------------------------------
 *
 * ps_remote.c
 *	  Statements on another ps server, from a backend: libpq connections
 *	  and queries that wait on the backend's latch and report failures as
 *	  strings, never by ereport.
 *
 * The cluster's admin functions change every node's ring in one two-phase
 * commit, so between PREPARE and COMMIT PREPARED nothing may throw: a
 * failure must still roll back what was prepared elsewhere.  So nothing
 * here raises an error.  Each call returns NULL or false with *err set (a
 * palloc'd message naming what failed); a cancel or a terminate request
 * ends a wait the same way, and the caller's next CHECK_FOR_INTERRUPTS
 * acts on it.  Waits are on the backend's latch and the socket, bounded
 * by PS_REMOTE_TIMEOUT_MS, and end if the postmaster dies.
 *
 * The session of every connection reads pg_catalog first
 * (search_path = pg_catalog, pg_temp), so that the statements the caller
 * sends, all schema-qualified, meet nothing a role of the other database
 * planted; and commits with synchronous_commit = local: a cluster change
 * must not wait for a node's synchronous standbys (its subscribers), one
 * of which may be the dead node the change declares dead.
 *
 * Layer 7 (services): libpq only; knows nothing of rings or tables.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "utils/timestamp.h"

#include "ps_remote.h"

/*
 * Wait until the socket is ready as `events` says or `deadline` passes;
 * false, with *err, on a timeout or an interrupt.
 */
static bool
wait_socket(PGconn *conn, int events, TimestampTz deadline, char **err)
{
	for (;;)
	{
		long		ms = TimestampDifferenceMilliseconds(GetCurrentTimestamp(),
														 deadline);
		int			rc;

		if (QueryCancelPending || ProcDiePending)
		{
			*err = pstrdup("canceled");
			return false;
		}
		if (ms <= 0)
		{
			*err = psprintf("no answer within %d ms", PS_REMOTE_TIMEOUT_MS);
			return false;
		}
		rc = WaitLatchOrSocket(MyLatch,
							   WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH | events,
							   PQsocket(conn), ms, PG_WAIT_EXTENSION);
		if (rc & WL_LATCH_SET)
			ResetLatch(MyLatch);
		if (rc & events)
			return true;
	}
}

/* libpq's message on one line: its line breaks and tabs as spaces. */
static char *
conn_error(PGconn *conn)
{
	char	   *e = pstrdup(PQerrorMessage(conn));
	size_t		n = strlen(e),
				i;

	while (n > 0 && (e[n - 1] == '\n' || e[n - 1] == ' '))
		e[--n] = '\0';
	for (i = 0; i < n; i++)
		if (e[i] == '\n' || e[i] == '\t')
			e[i] = ' ';
	return e;
}

/*
 * Connect by conninfo, as application "ps cluster", the session reading
 * pg_catalog first.  NULL, with *err, if that fails.
 */
PGconn *
ps_remote_connect(const char *conninfo, char **err)
{
	const char *keys[] = {"dbname", "fallback_application_name", NULL};
	const char *vals[] = {conninfo, "ps cluster", NULL};
	TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
													   PS_REMOTE_TIMEOUT_MS);
	PGconn	   *conn = PQconnectStartParams(keys, vals, 1);
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;

	if (conn == NULL)
	{
		*err = pstrdup("out of memory");
		return NULL;
	}
	while (PQstatus(conn) != CONNECTION_BAD && st != PGRES_POLLING_OK)
	{
		if (st == PGRES_POLLING_FAILED)
			break;
		if (!wait_socket(conn, st == PGRES_POLLING_READING ?
						 WL_SOCKET_READABLE : WL_SOCKET_WRITEABLE,
						 deadline, err))
		{
			PQfinish(conn);
			return NULL;
		}
		st = PQconnectPoll(conn);
	}
	if (PQstatus(conn) != CONNECTION_OK)
	{
		*err = conn_error(conn);
		PQfinish(conn);
		return NULL;
	}
	if (!ps_remote_command(conn, "SET search_path = pg_catalog, pg_temp", err) ||
		!ps_remote_command(conn, "SET synchronous_commit = local", err))
	{
		PQfinish(conn);
		return NULL;
	}
	return conn;
}

/*
 * Run sql (with nparams text parameters) and return its last result,
 * which the caller frees with PQclear; NULL, with *err, if it failed.
 */
PGresult *
ps_remote_exec(PGconn *conn, const char *sql, int nparams,
			   const char *const *params, char **err)
{
	TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
													   PS_REMOTE_TIMEOUT_MS);
	PGresult   *res,
			   *last = NULL;
	int			f;

	if (!PQsendQueryParams(conn, sql, nparams, NULL, params, NULL, NULL, 0))
	{
		*err = conn_error(conn);
		return NULL;
	}
	while ((f = PQflush(conn)) == 1)
		if (!wait_socket(conn, WL_SOCKET_WRITEABLE, deadline, err))
			return NULL;
	if (f < 0)
	{
		*err = conn_error(conn);
		return NULL;
	}
	for (;;)
	{
		while (PQisBusy(conn))
		{
			if (!wait_socket(conn, WL_SOCKET_READABLE, deadline, err))
			{
				if (last)
					PQclear(last);
				return NULL;
			}
			if (!PQconsumeInput(conn))
			{
				*err = conn_error(conn);
				if (last)
					PQclear(last);
				return NULL;
			}
		}
		res = PQgetResult(conn);
		if (res == NULL)
			break;
		if (last)
			PQclear(last);
		last = res;
	}
	if (last == NULL)
	{
		*err = conn_error(conn);
		return NULL;
	}
	if (PQresultStatus(last) != PGRES_COMMAND_OK &&
		PQresultStatus(last) != PGRES_TUPLES_OK)
	{
		const char *m = PQresultErrorField(last, PG_DIAG_MESSAGE_PRIMARY);

		*err = pstrdup(m ? m : PQresStatus(PQresultStatus(last)));
		PQclear(last);
		return NULL;
	}
	return last;
}

/* Run a statement without parameters whose result is not needed. */
bool
ps_remote_command(PGconn *conn, const char *sql, char **err)
{
	PGresult   *res = ps_remote_exec(conn, sql, 0, NULL, err);

	if (res == NULL)
		return false;
	PQclear(res);
	return true;
}

void
ps_remote_close(PGconn *conn)
{
	if (conn != NULL)
		PQfinish(conn);
}
