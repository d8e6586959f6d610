/*-------------------------------------------------------------------------
 *
 * ps_keymirror.h
 *	  The client library's mirror of the server's key cache.
 *
 * Layer 11 (client library), in src/client; for ps_client.c only.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_KEYMIRROR_H
#define PS_KEYMIRROR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The mirror of the server's key cache (ps_keycache.c): the same policy
 * over the same sequence of puts and finds, so it knows which lists the
 * server holds.  Chained hash of entries, in a most-recently-used list.
 */
typedef struct MirrorEntry
{
	uint64_t	hash;
	uint32_t	count;
	struct MirrorEntry *chain,
			   *newer,
			   *older;
} MirrorEntry;

typedef struct Mirror
{
	MirrorEntry **buckets;
	size_t		nbuckets,
				n;
	MirrorEntry *newest,
			   *oldest;
	size_t		used,			/* bytes, as the server counts them */
				budget;			/* ps.key_cache_size; 0: no caching */
} Mirror;

extern void mirror_put(Mirror *mr, uint64_t hash, uint32_t count);
extern bool mirror_get(Mirror *mr, uint64_t hash, uint32_t count);
extern void mirror_clear(Mirror *mr);

#endif							/* PS_KEYMIRROR_H */
