/*-------------------------------------------------------------------------
 *
 * ps_keymirror.c
 *	  The client library's mirror of the server's key cache: which key
 *	  lists the session's server holds, so that a task whose list it holds
 *	  is sent with the list's hash in place of the keys.
 *
 * It follows exactly the policy of src/server/ps_keycache.c (a put
 * replaces the list and makes room by evicting the least recently used;
 * a find makes the list the most recent; a list larger than the budget is
 * not kept; 8 bytes a key and 96 a list) over the same sequence of puts and finds,
 * which the server sees in the order the client sends them.  Should it
 * ever be wrong (a setting changed, a task that failed before the server
 * reached its keys), the server answers PS001 and the library sends the
 * keys again and starts the mirror afresh.
 *
 * Layer 11 (client library), in src/client: plain C, for ps_client.c.
 *
 *-------------------------------------------------------------------------
 */
#include "ps_keymirror.h"

#include <stdlib.h>

/*
 * What a list costs against the budget, as the server counts it
 * (ps_keycache.c: 8 bytes a key and PS_KEYCACHE_ENTRY_BYTES a list).
 */
#define MIRROR_ENTRY_BYTES 96
#define MIRROR_COST(count) ((size_t) (count) * 8 + MIRROR_ENTRY_BYTES)

static MirrorEntry **
mirror_slot(Mirror *mr, uint64_t hash)
{
	MirrorEntry **p = &mr->buckets[hash % mr->nbuckets];

	while (*p && (*p)->hash != hash)
		p = &(*p)->chain;
	return p;
}

static void
mirror_unlink(Mirror *mr, MirrorEntry *e)
{
	if (e->newer)
		e->newer->older = e->older;
	else
		mr->newest = e->older;
	if (e->older)
		e->older->newer = e->newer;
	else
		mr->oldest = e->newer;
}

static void
mirror_push_newest(Mirror *mr, MirrorEntry *e)
{
	e->older = mr->newest;
	e->newer = NULL;
	if (mr->newest)
		mr->newest->newer = e;
	mr->newest = e;
	if (mr->oldest == NULL)
		mr->oldest = e;
}

static void
mirror_remove(Mirror *mr, MirrorEntry *e)
{
	MirrorEntry **p = mirror_slot(mr, e->hash);

	*p = e->chain;
	mirror_unlink(mr, e);
	mr->used -= MIRROR_COST(e->count);
	mr->n--;
	free(e);
}

/* As ps_keycache_put: replace, evict the least recently used, insert. */
void
mirror_put(Mirror *mr, uint64_t hash, uint32_t count)
{
	size_t		size = MIRROR_COST(count);
	MirrorEntry *e;

	if (mr->budget == 0)
		return;
	if (mr->buckets == NULL)
	{
		mr->nbuckets = 4096;
		mr->buckets = calloc(mr->nbuckets, sizeof(MirrorEntry *));
		if (mr->buckets == NULL)
			abort();
	}
	if (*mirror_slot(mr, hash))
		mirror_remove(mr, *mirror_slot(mr, hash));
	if (size > mr->budget || count == 0)
		return;
	while (mr->used + size > mr->budget && mr->oldest)
		mirror_remove(mr, mr->oldest);
	e = malloc(sizeof(MirrorEntry));
	if (e == NULL)
		abort();
	e->hash = hash;
	e->count = count;
	e->chain = NULL;
	*mirror_slot(mr, hash) = e;
	mirror_push_newest(mr, e);
	mr->used += size;
	mr->n++;
}

/* As ps_keycache_get: does the server hold it?  (Now the most recent.) */
bool
mirror_get(Mirror *mr, uint64_t hash, uint32_t count)
{
	MirrorEntry *e;

	if (mr->budget == 0 || mr->buckets == NULL)
		return false;
	e = *mirror_slot(mr, hash);
	if (e == NULL || e->count != count)
		return false;
	mirror_unlink(mr, e);
	mirror_push_newest(mr, e);
	return true;
}

void
mirror_clear(Mirror *mr)
{
	while (mr->oldest)
		mirror_remove(mr, mr->oldest);
}

