/*-------------------------------------------------------------------------
 *
 * ps_client_kkt.h
 *	  The client library's KKT filter: the slacks its pulls learned, and
 *	  the pushes it does not send because the server would drop them.
 *
 * Layer 11 (client library), in src/client; for the library's files only.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_CLIENT_KKT_H
#define PS_CLIENT_KKT_H

#include <stddef.h>
#include <stdint.h>

/* what the client knows of one key of one table */
typedef struct KktEntry
{
	uint64_t	table;			/* hash of the table's name; 0: a free slot */
	int64_t		key;
	int64_t		pull_ts;		/* the pull that told its slacks (0: none) */
	int64_t		sent_ts;		/* the last push that sent it (0: none) */
	size_t		at;				/* its dim slacks at pool[at] */
	uint32_t	dim;			/* 0: none told yet */
} KktEntry;

/* a table's range push: slacks told before it are stale */
typedef struct KktFloor
{
	uint64_t	table;
	int64_t		ts;
} KktFloor;

typedef struct KktSlacks
{
	KktEntry   *slots;			/* open addressing, a power of two */
	size_t		cap,
				n;
	float	   *pool;
	size_t		pool_len,
				pool_cap;
	size_t		max_keys;		/* more: forget them all */
	int64_t		floor;			/* slacks told before this are stale */
	KktFloor   *floors;
	size_t		nfloors;
	uint64_t	keys_filtered,	/* pushes of keys not sent */
				bytes_saved;	/* about 2 + 4 * dim a key */
} KktSlacks;

#define PS_KKT_MAX_KEYS_DEFAULT ((size_t) 1 << 20)

extern void kkt_arm(KktSlacks *s);
extern void kkt_forget(KktSlacks *s, int64_t floor);
extern void kkt_learn(KktSlacks *s, uint64_t table, int64_t pull_ts,
					  int64_t now_ts, const int64_t *keys, int64_t first,
					  size_t n, int dim, const float *answer);
extern size_t kkt_filter(KktSlacks *s, uint64_t table, int64_t *keys,
						 float *vals, size_t n, int dim);
extern void kkt_note_push(KktSlacks *s, uint64_t table, const int64_t *keys,
						  size_t n, int64_t ts);
extern void kkt_note_range_push(KktSlacks *s, uint64_t table, int64_t ts);
extern void kkt_free(KktSlacks *s);

#endif							/* PS_CLIENT_KKT_H */
