/*-------------------------------------------------------------------------
 *
 * ps_client_conn.h
 *	  The client library's connection: opening a session ready for tasks,
 *	  telling a lost connection from a task's error, and reconnecting with
 *	  bounded retries.
 *
 * Layer 11 (client library), in src/client; for the library's files only.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_CLIENT_CONN_H
#define PS_CLIENT_CONN_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

/* room for a quoted schema name (63 bytes, doubled quotes) */
#define PS_SCHEMALEN 160

/* A session ready for tasks: what opening it learnt. */
typedef struct Session
{
	PGconn	   *conn;
	char	   *push_sql;		/* the two statements, schema-qualified */
	char	   *pull_sql;
	size_t		cache_budget;	/* the server's ps.key_cache_size, bytes */
} Session;

/* How a lost connection is reopened. */
typedef struct Retry
{
	int			attempts;		/* 0: not at all */
	int			first_ms;		/* the first wait; doubled each time */
	int			max_ms;			/* up to this */
} Retry;

extern PGconn *ext_connect(const char *conninfo, char *schema, char *version,
						   char *err, size_t errlen);
extern bool session_open(Session *s, const char *conninfo, char *err, size_t errlen);
extern void session_close(Session *s);
extern bool session_reopen(Session *s, const char *conninfo, const Retry *retry,
						   char *err, size_t errlen);
extern bool connection_lost(PGconn *conn, const PGresult *r);

#endif							/* PS_CLIENT_CONN_H */
