/*-------------------------------------------------------------------------
 *
 * ps_client_int.h
 *	  What the files of the client library share: the client's state and
 *	  the calls between them.
 *
 * Layer 11 (client library), in src/client; not installed.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_CLIENT_INT_H
#define PS_CLIENT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "ps_client_conn.h"
#include "ps_client_filter.h"
#include "ps_client_kkt.h"
#include "ps_keymirror.h"
#include "ps_keyorder.h"
#include "ps_keys.h"

#define ERRLEN 1024

struct PsClient;
struct PsTaskOptions;

enum
{
	TASK_PENDING = 0,			/* outcome not known yet */
	TASK_OK = 1,
	TASK_FAILED = 2
};

typedef struct Task
{
	int64_t		ts;
	bool		pull;
	bool		got_result;		/* the answer came; the sync is next */
	bool		resend;			/* the server missed its cached keys */
	bool		cached;			/* it was sent with its keys' hash */
	bool		async;			/* a push answered before its flush */
	bool		sync;			/* a sync: flushes what the session wrote */
	bool		kkt;			/* a pull asking for KKT slacks */
	bool		fixed_id;		/* a push sent again under another node's
								 * exactly-once id: never with cached keys,
								 * never renumbered */
	bool		failed;			/* its failure is recorded (or, a sync's,
								 * in the client) */
	int64_t		covers;			/* a sync: the last task sent before it */
	char	   *table;
	uint8_t    *msg;			/* the message with its keys, uncompressed: */
	size_t		msg_len;		/* what is sent again */
	uint64_t	key_hash;
	uint32_t	key_count;
	float	   *out;			/* pull: the caller's array */
	int32_t    *slot;			/* pull: for each requested key, its */
	size_t		n;				/* position among the nuniq sent (NULL: */
	uint32_t	nuniq;			/* the same) */
	int			dim;
} Task;

typedef struct Failure
{
	int64_t		ts;
	char	   *message;
	char		sqlstate[6];
} Failure;

struct PsClient
{
	Session		sess;			/* the connection, its statements */
	char	   *conninfo;		/* to connect again */
	Retry		retry;
	uint64_t	reconnects;		/* connections lost and opened again */
	uint64_t	client_id;		/* exactly-once id: random, not 0 */
	uint64_t	last_seq;		/* of the last push, from 1 */
	uint64_t	as_client;		/* the next push's exactly-once id, if not */
	uint64_t	as_seq;			/* 0: a failed node's push sent again here */
	int64_t		next_ts;		/* the next task's timestamp, from 1 */
	Task	   *queue;			/* tasks in flight, a ring */
	size_t		qhead,
				qlen,
				qcap;
	Task	   *parked;			/* pushes applied, not known durable, */
	size_t		nparked,		/* in timestamp order */
				parked_cap;
	bool		ack_applied;	/* finish pushes once applied */
	int64_t		last_async;		/* the last push sent before its flush */
	int64_t		synced;			/* the last task a sync was sent after */
	size_t		nsyncs;			/* syncs in the queue */
	int			sync_failures;	/* in a row */
	char		sync_error[ERRLEN];	/* of the last sync that failed */
	char		sync_sqlstate[6];
	int			recoveries;		/* reconnects since a task last finished */
	unsigned char *outcome;		/* of task ts at outcome[ts - 1] */
	size_t		outcome_cap;
	Failure    *failures;		/* messages of failed tasks not waited for */
	size_t		nfailures,
				failures_cap;
	char		error[ERRLEN];
	char		sqlstate[6];
	bool		broken;			/* the connection is lost */
	Mirror		mirror;
	KeyOrders	orders;			/* the order of recent key lists */
	PushFilters filters;		/* their state and counters */
	bool		compress;		/* values compressed with zstd */
	uint64_t	compressed_saved;	/* bytes that saved, in pushes sent */
	KktSlacks	kkt;			/* the KKT filter's slacks and counters */
	bool		kkt_on;			/* the client's KKT filter setting */
	float		significance;	/* the client's filters (0: off) */
	float		skip_below;
	float		skip_prob;
	uint64_t	key_bytes_saved;	/* by sending cached lists' hashes */
	uint64_t	bytes_sent;		/* messages sent (as sent: cached, */
	uint64_t	bytes_received;	/* compressed), and pull answers received */
	uint64_t	cache_misses;
	struct Route *route;		/* a cluster's routing (ps_client_route.c),
								 * NULL for one server's connection */
};

extern const PsKeysAlloc ps_client_keys_malloc;
extern void *ps_client_xmalloc(size_t size);
extern void ps_client_set_error(struct PsClient *c, const char *sqlstate, const char *fmt,...);
/* ps_client_send.c */
extern void task_enqueue(struct PsClient *c, const Task *t);
extern bool task_transmit(struct PsClient *c, Task *t, bool full);
extern void task_renumber(struct PsClient *c, Task *t);

/* ps_client_outcome.c */
extern void record_outcome(struct PsClient *c, int64_t ts, int outcome);
extern int	outcome_of(struct PsClient *c, int64_t ts);
extern void record_failure(struct PsClient *c, int64_t ts, const char *sqlstate,
						   const char *message);
extern void report_failure(struct PsClient *c, int64_t ts);
extern bool take_values(struct PsClient *c, Task *t, const PGresult *r, char *why,
						size_t whylen);

extern int64_t ps_client_send_task(struct PsClient *c, const char *table, uint8_t *msg,
								   size_t len, Task *t);


/*
 * The API of ps_client.h for one server's connection (ps_client.c,
 * ps_client_task.c): ps_client_api.c's public functions call them for a
 * server on its own, and for each node of a cluster.
 */
extern struct PsClient *ps_node_connect(const char *conninfo, char **err);
extern int	ps_node_set_reconnect(struct PsClient *c, int attempts,
									int first_delay_ms, int max_delay_ms);
extern int	ps_node_set_ack(struct PsClient *c, int when);
extern uint64_t ps_node_reconnects(struct PsClient *c);
extern void ps_node_resend_as(struct PsClient *c, uint64_t client, uint64_t seq);
extern void ps_node_revive(struct PsClient *c);
extern void ps_node_poll(struct PsClient *c);
extern void ps_node_close(struct PsClient *c);
extern int64_t ps_node_push(struct PsClient *c, const char *table,
							  const int64_t *keys, size_t n,
							  const float *vals, const struct PsTaskOptions *opt);
extern int64_t ps_node_push_range(struct PsClient *c, const char *table,
									int64_t first, size_t n,
									const float *vals,
									const struct PsTaskOptions *opt);
extern int64_t ps_node_pull(struct PsClient *c, const char *table,
							  const int64_t *keys, size_t n, float *vals,
							  const struct PsTaskOptions *opt);
extern int64_t ps_node_pull_range(struct PsClient *c, const char *table,
									int64_t first, size_t n, float *vals,
									const struct PsTaskOptions *opt);
extern int	ps_node_wait(struct PsClient *c, int64_t ts);
extern int	ps_node_set_filters(struct PsClient *c, float significance,
								  float skip_below, float skip_prob,
								  uint64_t seed);
extern int64_t ps_node_flush(struct PsClient *c, const char *table,
							   const struct PsTaskOptions *opt);
extern void ps_node_filter_stats(struct PsClient *c, uint64_t *keys_held,
								   uint64_t *keys_skipped,
								   uint64_t *bytes_saved);
extern int	ps_node_set_kkt(struct PsClient *c, int on, size_t max_keys);
extern void ps_node_kkt_stats(struct PsClient *c, uint64_t *keys_filtered,
								uint64_t *bytes_saved, uint64_t *keys_known);
extern void ps_node_set_compression(struct PsClient *c, int on);
extern int	ps_node_in_flight(struct PsClient *c);
extern void ps_node_key_cache_stats(struct PsClient *c, uint64_t *bytes_saved,
									  uint64_t *misses);
extern void ps_node_traffic(struct PsClient *c, uint64_t *bytes_sent,
							  uint64_t *bytes_received);
extern const char *ps_node_error(struct PsClient *c);
extern const char *ps_node_sqlstate(struct PsClient *c);

#endif							/* PS_CLIENT_INT_H */
