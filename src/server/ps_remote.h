/*-------------------------------------------------------------------------
 *
 * ps_remote.h
 *	  Statements on another ps server, from a backend: libpq connections
 *	  and queries that wait on the backend's latch and report failures as
 *	  strings, never by ereport.
 *
 * Layer 7 (services).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_REMOTE_H
#define PS_REMOTE_H

#include "libpq-fe.h"

/* How long one connection attempt or one statement may take, in ms. */
#define PS_REMOTE_TIMEOUT_MS 10000

extern PGconn *ps_remote_connect(const char *conninfo, char **err);
extern PGresult *ps_remote_exec(PGconn *conn, const char *sql, int nparams,
								const char *const *params, char **err);
extern bool ps_remote_command(PGconn *conn, const char *sql, char **err);
extern void ps_remote_close(PGconn *conn);

#endif							/* PS_REMOTE_H */
