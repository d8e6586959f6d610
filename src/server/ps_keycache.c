/*-------------------------------------------------------------------------
 *
 * ps_keycache.c
 *	  The session's cache of key lists sent in the wire format (the paper's
 *	  key caching): a worker that pushes and pulls the same keys again and
 *	  again sends the list once, then only its hash.
 *
 * A message with PS_WIRE_CACHE puts its decoded keys here under the hash
 * of their encoded bytes (ps_wire_hash); one with PS_WIRE_CACHED names a
 * list by that hash and count.  The cache holds at most
 * ps.key_cache_size: 8 bytes a key and PS_KEYCACHE_ENTRY_BYTES a list
 * (about what its entry really costs, so that many small lists cannot
 * take much more than the setting), evicting the least recently used list (put or found)
 * first; a list larger than the whole budget is not kept; a budget
 * lowered by a reload is enforced at the next put or find.  The client
 * library mirrors exactly this policy to know what the server holds, so
 * it must not change without the library's mirror (src/client/ps_keymirror.c).
 *
 * Memory is the backend's own (a child of TopMemoryContext), bounded by
 * the setting, which only a superuser changes: no session's cache takes
 * anything from another's.  The cache lives as long as the session.
 *
 * Layer 7 (training services); uses nothing of the layers above, and of
 * its own layer nothing.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/ilist.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"

#include "ps_base.h"
#include "ps_keycache.h"

/* what a list costs against the budget: its keys and its entry */
#define ENTRY_COST(count) ((Size) (count) * sizeof(int64) + PS_KEYCACHE_ENTRY_BYTES)

typedef struct CacheEntry
{
	uint64		hash;			/* key of the hash table: must be first */
	uint32		count;
	int64	   *keys;
	dlist_node	lru;			/* most recently used at the head */
} CacheEntry;

static HTAB *cache = NULL;
static MemoryContext cache_cxt = NULL;
static dlist_head lru = DLIST_STATIC_INIT(lru);
static Size used = 0;			/* bytes of keys held */

static Size
budget(void)
{
	return (Size) ps_key_cache_size * 1024;
}

static void
ensure_cache(void)
{
	HASHCTL		ctl;

	if (cache != NULL)
		return;
	cache_cxt = AllocSetContextCreate(TopMemoryContext, "ps key cache",
									  ALLOCSET_DEFAULT_SIZES);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(uint64);
	ctl.entrysize = sizeof(CacheEntry);
	ctl.hcxt = cache_cxt;
	cache = hash_create("ps key cache", 64, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

static void
evict(CacheEntry *e)
{
	dlist_delete(&e->lru);
	used -= ENTRY_COST(e->count);
	pfree(e->keys);
	hash_search(cache, &e->hash, HASH_REMOVE, NULL);
}

/* Hold no more than the budget, which a reload may have lowered. */
static void
trim(void)
{
	while (used > budget() && !dlist_is_empty(&lru))
		evict(dlist_tail_element(CacheEntry, lru, &lru));
}

/*
 * Remember keys[0 .. count - 1] under hash (a list there already is
 * replaced), evicting the least recently used lists to make room.
 */
void
ps_keycache_put(uint64 hash, const int64 *keys, uint32 count)
{
	Size		size = ENTRY_COST(count);
	CacheEntry *e;
	int64	   *copy;
	bool		found;

	ensure_cache();
	trim();
	e = hash_search(cache, &hash, HASH_FIND, NULL);
	if (e != NULL)
		evict(e);
	if (size > budget() || count == 0)
		return;
	while (used + size > budget() && !dlist_is_empty(&lru))
		evict(dlist_tail_element(CacheEntry, lru, &lru));
	/* the copy first: out of memory leaves the cache as it was */
	copy = MemoryContextAlloc(cache_cxt, (Size) count * sizeof(int64));
	memcpy(copy, keys, (Size) count * sizeof(int64));
	e = hash_search(cache, &hash, HASH_ENTER, &found);
	e->count = count;
	e->keys = copy;
	dlist_push_head(&lru, &e->lru);
	used += size;
}

/*
 * The list of count keys remembered under hash (now the most recently
 * used), or NULL.  Valid until the next put.
 */
const int64 *
ps_keycache_get(uint64 hash, uint32 count)
{
	CacheEntry *e;

	if (cache == NULL)
		return NULL;
	trim();
	e = hash_search(cache, &hash, HASH_FIND, NULL);
	if (e == NULL || e->count != count)
		return NULL;
	dlist_move_head(&lru, &e->lru);
	return e->keys;
}
