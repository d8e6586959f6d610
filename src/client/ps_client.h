/*-------------------------------------------------------------------------
 *
 * ps_client.h
 *	  The ps client library: asynchronous pushes and pulls to ps tables
 *	  over libpq, in the binary wire format.
 *
 *	  cc app.c $(pkg-config --cflags --libs ps-client)
 *
 * Every push and pull is a task: the call sends it and returns its
 * timestamp at once (a positive number, increasing per client), and many
 * tasks are in flight on one connection (libpq pipeline mode).  The
 * server runs a connection's tasks in order, so a task starts only after
 * every earlier task of the client finished; ps_client_wait(c, ts) blocks
 * until task ts (and so every earlier one) is finished.  A push is
 * finished once the server applied it and made it durable; a pull once
 * its values are in the caller's array, which must stay valid until then.
 * Keys may come in any order and repeat (a push's repeats add up; a
 * pull's get the same value).
 *
 * A PsClient is not thread-safe: use one per thread, or lock around
 * every call.
 *
 * Layer 11 (client library), in src/client: libps-client.so, not part of
 * ps.so; uses src/common (layer 1) and libpq only.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_CLIENT_H
#define PS_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C"
{
#endif

typedef struct PsClient PsClient;

/* Options of one task; NULL for the defaults (all zero). */
typedef struct PsTaskOptions
{
	int			dim;			/* values per key; 0: 1 */
	int			worker;			/* a worker's task (id from ps_client_join), 0: not */
	int64_t		clock;			/* the worker's clock for this task */
	const int64_t *after;		/* timestamps this task executes after: */
	int			nafter;			/* it fails, unsent, if one of them failed */

	/*
	 * Push filters for this push of listed keys (0: the client's, see
	 * ps_client_set_filters; negative: off for this push).
	 */
	float		significance;	/* keep a key back until |its sum| > this */
	float		skip_below;		/* keys whose values are all below this, */
	float		skip_prob;		/* sent with this probability, scaled up */

	/*
	 * The KKT filter for this task (0: the client's, see ps_client_set_kkt;
	 * positive: on; negative: off): a pull learns its keys' KKT slacks, a
	 * push of listed keys leaves out those its slacks cover.
	 */
	int			kkt;
} PsTaskOptions;

/* Connect (a libpq conninfo string); NULL on failure, *err then says why
 * (free it with free()). */
extern PsClient *ps_client_connect(const char *conninfo, char **err);

/*
 * Exactly once across reconnects.  Every push carries the client's id
 * (random, per PsClient) and its number; the server records, with the
 * values, how far each client's last push got.  When the connection is
 * lost (the server closed it, terminated the session, crashed or
 * restarted), the library connects again (attempts, waiting
 * first_delay_ms, then twice as long each time up to max_delay_ms) and
 * sends every task in flight again, in order: the server applies no push
 * twice, and finishes one it had applied in part.  If no attempt
 * connects, every task in flight fails (SQLSTATE 08006).  Defaults: 20
 * attempts, 50 ms, 2 s (about half a minute in all); attempts 0 turns
 * reconnecting off.  Returns -1 for values out of range.
 */
#define PS_CLIENT_RECONNECT_ATTEMPTS 20
#define PS_CLIENT_RECONNECT_FIRST_MS 50
#define PS_CLIENT_RECONNECT_MAX_MS 2000
extern int	ps_client_set_reconnect(PsClient *c, int attempts,
									int first_delay_ms, int max_delay_ms);

/*
 * When a push counts as finished (ps_client_wait returns 0 for it):
 * PS_CLIENT_ACK_DURABLE (the default) once applied and its WAL flushed;
 * PS_CLIENT_ACK_APPLIED once applied, the WAL flushed by the server in
 * the background within 3 x wal_writer_delay (600 ms by default), so a
 * crash of the server loses at most the pushes acknowledged in that time
 * (as synchronous_commit = off).  Either way the server answers a push
 * once applied and flushes for many at once: the library sends one
 * "sync" after them when they are waited for.  Returns -1 for another
 * value.
 */
#define PS_CLIENT_ACK_DURABLE 0
#define PS_CLIENT_ACK_APPLIED 1
extern int	ps_client_set_ack(PsClient *c, int when);

/* Times the connection was lost and opened again. */
extern uint64_t ps_client_reconnects(PsClient *c);

/* Finish every task in flight, then close the connection and free c. */
extern void ps_client_close(PsClient *c);

/* Push n keys (vals: dim per key) or the range first .. first + n - 1. */
extern int64_t ps_client_push(PsClient *c, const char *table,
							  const int64_t *keys, size_t n,
							  const float *vals, const PsTaskOptions *opt);
extern int64_t ps_client_push_range(PsClient *c, const char *table,
									int64_t first, size_t n,
									const float *vals,
									const PsTaskOptions *opt);

/* Pull n keys, or the range first .. first + n - 1, into vals (dim per key). */
extern int64_t ps_client_pull(PsClient *c, const char *table,
							  const int64_t *keys, size_t n, float *vals,
							  const PsTaskOptions *opt);
extern int64_t ps_client_pull_range(PsClient *c, const char *table,
									int64_t first, size_t n, float *vals,
									const PsTaskOptions *opt);

/*
 * The four calls above return the new task's timestamp, or -1 with no
 * task sent (bad arguments, a connection lost for good, a task to
 * execute after that failed; ps_client_error says which).
 *
 * ps_client_wait blocks until task ts is finished.  Returns 0 if it
 * succeeded, -1 if it failed: ps_client_error and ps_client_sqlstate give
 * the server's error (or the library's) the first time it is waited for.
 */
extern int	ps_client_wait(PsClient *c, int64_t ts);

/*
 * Join table's workers: returns the worker id for opt.worker, and in
 * *clock (if not NULL) the clock it starts at (its first call is for a
 * later one); -1 on failure.  On one server, as ps_join (which works too);
 * in a cluster the worker joins every node, and its pushes reach every
 * node, so that its clock is the same on all.  ps_client_leave waits for
 * the client's tasks, then leaves (every node); 0, or -1.
 */
extern int	ps_client_join(PsClient *c, const char *table, int64_t *clock);
extern int	ps_client_leave(PsClient *c, const char *table, int worker);

/*
 * Push filters (the paper's section 3.6) for every push of listed keys of
 * this client, unless a push's options say otherwise; 0 turns one off.
 * significance: significantly-modified: a key's values are kept back, and
 * added to its later pushes, until one of the sums passes this in absolute
 * value; ps_client_flush sends what is kept back.  skip_below, skip_prob:
 * random skip: a key whose values are all smaller than skip_below is sent
 * with probability skip_prob (0 < skip_prob <= 1), its values divided by
 * it, so that the expected update is unchanged; seed: its random numbers
 * (0: a fixed default).  Returns -1 for values out of range.
 */
extern int	ps_client_set_filters(PsClient *c, float significance,
								  float skip_below, float skip_prob,
								  uint64_t seed);

/*
 * Push what significantly-modified kept back for table (dim from opt, and
 * worker and clock); returns the task's timestamp, 0 if nothing was kept
 * back, or -1.
 */
extern int64_t ps_client_flush(PsClient *c, const char *table,
							   const PsTaskOptions *opt);

/* Keys the filters did not send (kept back, skipped), and about the bytes. */
extern void ps_client_filter_stats(PsClient *c, uint64_t *keys_held,
								   uint64_t *keys_skipped,
								   uint64_t *bytes_saved);

/*
 * The KKT filter (the paper's, for L1), for tables configured with
 * ps_configure(tbl, update_rule => 'ftrl', l1 => ..., kkt_filter => true):
 * the server drops a push of g to a key whose weights are zero when
 * |z + g| <= l1 (z: the key's FTRL accumulators).  With the filter on,
 * each pull also brings back its keys' slacks l1 - |z| (the pull needs
 * UPDATE as well as SELECT, and fails with SQLSTATE 55000 on a table
 * without the server's filter), and a push of listed keys (not those of
 * ps_client_flush) leaves out each key whose values are all within its
 * slacks: the server would have dropped it, as long as nothing but this
 * client's own pushes changed the key's z or the table's l1 since the
 * pull.  The client's pushes make the slacks they change stale (a range
 * push, those of its whole table), and a reconnect forgets them all;
 * another client's pushes, SQL writes and ps_configure are not seen, and
 * the table is told apart by the name given (name it the same way in
 * every call).  max_keys bounds the keys the filter keeps, pulled with a
 * slack or pushed since, about 100 + 4 * dim bytes each (0: 2^20); when
 * it is reached they are all forgotten until the next pulls.  Returns -1
 * for a max_keys above 2^31.
 */
extern int	ps_client_set_kkt(PsClient *c, int on, size_t max_keys);

/* Pushes of keys the KKT filter left out, about the bytes, and the keys
 * whose slacks the client keeps now. */
extern void ps_client_kkt_stats(PsClient *c, uint64_t *keys_filtered,
								uint64_t *bytes_saved, uint64_t *keys_known);

/*
 * Compression (zstd, level 1) of the values of this client's pushes, when
 * that makes the message smaller, and of the server's answers to its
 * pulls; off by default (on loopback it costs more than it saves: README,
 * "Compression: which codec").
 */
extern void ps_client_set_compression(PsClient *c, int on);

/* Tasks sent and not yet finished. */
extern int	ps_client_in_flight(PsClient *c);

/*
 * Key caching (on when the server's ps.key_cache_size is not 0): bytes
 * not sent because the server held a task's key list, and the times it
 * did not after all (the library then sent the keys again).
 */
extern void ps_client_key_cache_stats(PsClient *c, uint64_t *bytes_saved,
									  uint64_t *misses);

/*
 * Bytes of messages sent (as sent: a cached key list as its hash,
 * compressed values compressed; syncs too) and of pull answers received,
 * beyond the protocol's own framing.
 */
extern void ps_client_traffic(PsClient *c, uint64_t *bytes_sent,
							  uint64_t *bytes_received);

/* The last error: message, and its SQLSTATE ("" if not the server's). */
extern const char *ps_client_error(PsClient *c);
extern const char *ps_client_sqlstate(PsClient *c);

#ifdef __cplusplus
}
#endif

#endif							/* PS_CLIENT_H */
