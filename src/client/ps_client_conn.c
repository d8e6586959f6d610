/*-------------------------------------------------------------------------
 *
 * ps_client_conn.c
 *	  The client library's connection: a session ready for tasks (the
 *	  extension's schema found, the server's key cache size read, the
 *	  connection nonblocking and in pipeline mode), the test of whether an
 *	  error means the connection is gone, and reopening it with bounded
 *	  retries and exponential backoff.
 *
 * A session's statements name the extension's schema, quoted, so that no
 * search_path of the server takes part in what they call.  Reopening
 * waits first_ms, then twice that, and so on up to max_ms between
 * attempts, for at most the given number of attempts; with the defaults
 * (ps_client.h) that is about half a minute, enough for a server killed
 * and restarted.  Which tasks to send again is ps_client.c's business.
 *
 * Layer 11 (client library), in src/client, under ps_client.c: libpq
 * only, nothing of tasks.
 *
 *-------------------------------------------------------------------------
 */
#include "ps_client_conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ps_client_alloc.h"

/*
 * A connection to conninfo's database, with the ps extension's schema
 * (quoted) and version in schema and version (PS_SCHEMALEN bytes each, or
 * NULL for version).  NULL with err set if it cannot connect or the database
 * has no ps extension.
 */
PGconn *
ext_connect(const char *conninfo, char *schema, char *version,
			char *err, size_t errlen)
{
	PGconn	   *conn = PQconnectdb(conninfo ? conninfo : "");
	PGresult   *r;

	if (PQstatus(conn) != CONNECTION_OK)
	{
		snprintf(err, errlen, "%s", PQerrorMessage(conn));
		PQfinish(conn);
		return NULL;
	}
	r = PQexec(conn,
			   "SELECT pg_catalog.quote_ident(n.nspname), e.extversion FROM pg_catalog.pg_extension e "
			   "JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace "
			   "WHERE e.extname OPERATOR(pg_catalog.=) 'ps'");
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
	{
		snprintf(err, errlen, "%s", PQresultStatus(r) == PGRES_TUPLES_OK ?
				 "the ps extension is not installed in this database (CREATE EXTENSION ps)\n" :
				 PQresultErrorMessage(r));
		PQclear(r);
		PQfinish(conn);
		return NULL;
	}
	snprintf(schema, PS_SCHEMALEN, "%s", PQgetvalue(r, 0, 0));
	if (version)
		snprintf(version, PS_SCHEMALEN, "%s", PQgetvalue(r, 0, 1));
	PQclear(r);
	return conn;
}

/* Open a session on conninfo; false with err set if it cannot be. */
bool
session_open(Session *s, const char *conninfo, char *err, size_t errlen)
{
	PGresult   *r;
	char		schema[PS_SCHEMALEN];

	memset(s, 0, sizeof(Session));
	s->conn = ext_connect(conninfo, schema, NULL, err, errlen);
	if (s->conn == NULL)
		return false;
	s->push_sql = ps_client_malloc(strlen(schema) + 64);
	s->pull_sql = ps_client_malloc(strlen(schema) + 64);
	sprintf(s->push_sql, "SELECT %s.ps_push_msg($1, $2)", schema);
	sprintf(s->pull_sql, "SELECT %s.ps_pull_msg($1, $2)", schema);

	/* the server's key cache, which the mirror follows (0: none) */
	r = PQexec(s->conn, "SELECT pg_catalog.current_setting('ps.key_cache_size', true)::pg_catalog.text");
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
	{
		/* as SHOW prints it: a number and a unit */
		char	   *unit;
		double		v = strtod(PQgetvalue(r, 0, 0), &unit);

		s->cache_budget = (size_t) (v * (strcmp(unit, "GB") == 0 ? 1 << 30 :
										 strcmp(unit, "MB") == 0 ? 1 << 20 :
										 strcmp(unit, "kB") == 0 ? 1 << 10 : 1));
	}
	PQclear(r);

	if (PQsetnonblocking(s->conn, 1) != 0 || PQenterPipelineMode(s->conn) != 1)
	{
		snprintf(err, errlen, "%s", PQerrorMessage(s->conn));
		session_close(s);
		return false;
	}
	return true;
}

void
session_close(Session *s)
{
	PQfinish(s->conn);
	free(s->push_sql);
	free(s->pull_sql);
	memset(s, 0, sizeof(Session));
}

static void
sleep_ms(int ms)
{
	struct timespec ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long) (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0)
		;
}

/*
 * Close the lost session and open a new one, retrying as retry says.
 * Returns false with err set (the last attempt's reason) if none worked.
 */
bool
session_reopen(Session *s, const char *conninfo, const Retry *retry,
			   char *err, size_t errlen)
{
	int			wait = retry->first_ms;
	int			i;

	session_close(s);
	snprintf(err, errlen, "reconnecting is off");
	for (i = 0; i < retry->attempts; i++)
	{
		sleep_ms(wait);
		if (session_open(s, conninfo, err, errlen))
			return true;
		wait = wait > retry->max_ms / 2 ? retry->max_ms : wait * 2;
	}
	return false;
}

/*
 * Does this error (r, or the connection's state) mean the connection is
 * gone rather than that the task failed: the socket closed, the server
 * said it ends the session (57P01 terminated, 57P02 crash, 57P03 starting
 * or stopping), or a connection error (class 08)?
 */
bool
connection_lost(PGconn *conn, const PGresult *r)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

	if (PQstatus(conn) == CONNECTION_BAD)
		return true;
	if (state == NULL)
		return r == NULL || PQresultStatus(r) == PGRES_FATAL_ERROR;
	return strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0 ||
		strcmp(state, "57P02") == 0 || strcmp(state, "57P03") == 0;
}
