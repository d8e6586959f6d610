/*-------------------------------------------------------------------------
 *
 * ps_client_kkt.c
 *	  The client library's KKT filter (the paper's section 3.6, for L1):
 *	  do not send a push that the server's KKT filter would drop.
 *
 * The server's filter (ftrl tables with kkt_filter on) drops a push of g
 * to a key whose weights are zero when |z + g| <= l1 in every component,
 * z being the key's FTRL accumulators.  A pull with PS_WIRE_SLACK answers,
 * for each such key, its slacks l1 - |z| (ps_pull_msg); a later push of g
 * with |g| <= slack in every component is then dropped here: the server
 * would have dropped it, as long as z did not change since the pull.
 *
 * z changes only when a push of the key is applied, so a slack is used
 * only if no push of the key was sent after the pull that told it: each
 * key's entry keeps the timestamp of that pull and of the last push that
 * sent the key, and the connection runs tasks in order.  A range push
 * makes every slack of its table told before it stale; so does forgetting
 * them all, which happens when max_keys keys are known.  Pushes by other
 * clients are not seen: between a pull and a push they can change z, so
 * that a push dropped here would have been applied (the staleness that
 * the table's consistency model allows its weights).
 *
 * Slacks are told by the server as of the pull: they are stale after
 * anything else changes z (another client's push, SQL writes to the
 * table, a crash that took back pushes acknowledged before their flush:
 * a reconnect forgets every slack) or l1, and the table is told apart
 * by the name the caller gives it.
 *
 * A key's slack is -1 where nothing of it is dropped (a nonzero weight,
 * or |z| > l1); the server's filter needs every component covered.
 *
 * Memory: an open-addressing table of 48-byte entries, at most half full,
 * and 4 bytes a slack: about 100 + 4 * dim bytes a key known (pulled with
 * a slack, or pushed since the first such pull).
 *
 * Layer 11 (client library), in src/client: plain C.
 *
 *-------------------------------------------------------------------------
 */
#include "ps_client_kkt.h"

#include "ps_client_alloc.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

/* 0 marks a free slot: no table is called that */
static inline uint64_t
tab(uint64_t table)
{
	return table ? table : 1;
}

static size_t
slot_of(const KktSlacks *s, uint64_t table, int64_t key)
{
	uint64_t	h = (table ^ ((uint64_t) key * 0x9E3779B97F4A7C15ULL)) * 0xBF58476D1CE4E5B9ULL;

	return (size_t) (h ^ (h >> 31)) & (s->cap - 1);
}

/* The key's entry, or the free slot where it would go. */
static KktEntry *
find(const KktSlacks *s, uint64_t table, int64_t key)
{
	size_t		i = slot_of(s, table, key);

	while (s->slots[i].table != 0 &&
		   (s->slots[i].table != table || s->slots[i].key != key))
		i = (i + 1) & (s->cap - 1);
	return &s->slots[i];
}

static void
grow(KktSlacks *s)
{
	KktEntry   *old = s->slots;
	size_t		oldcap = s->cap,
				i;

	s->cap = oldcap ? oldcap * 2 : 1024;
	s->slots = calloc(s->cap, sizeof(KktEntry));
	if (s->slots == NULL)
	{
		fprintf(stderr, "ps_client: out of memory (KKT filter)\n");
		abort();
	}
	for (i = 0; i < oldcap; i++)
		if (old[i].table != 0)
			*find(s, old[i].table, old[i].key) = old[i];
	free(old);
}

/* Forget every key: slacks told before floor are stale from now on. */
static void
forget_all(KktSlacks *s, int64_t floor)
{
	memset(s->slots, 0, sizeof(KktEntry) * s->cap);
	s->n = 0;
	s->pool_len = 0;
	if (floor > s->floor)
		s->floor = floor;
}

/* Room for one more entry; false if max_keys are known (then forgotten). */
static bool
make_room(KktSlacks *s, int64_t floor)
{
	if (s->n >= s->max_keys)
	{
		forget_all(s, floor);
		return false;
	}
	if ((s->n + 1) * 2 > s->cap)
		grow(s);
	return true;
}

static size_t
pool_take(KktSlacks *s, int dim)
{
	size_t		at = s->pool_len;

	if (s->pool_len + dim > s->pool_cap)
	{
		float	   *p;

		s->pool_cap = s->pool_cap ? s->pool_cap * 2 : 4096;
		while (s->pool_len + dim > s->pool_cap)
			s->pool_cap *= 2;
		p = realloc(s->pool, sizeof(float) * s->pool_cap);
		if (p == NULL)
		{
			fprintf(stderr, "ps_client: out of memory (KKT filter)\n");
			abort();
		}
		s->pool = p;
	}
	s->pool_len += dim;
	return at;
}

/* The timestamp before which slacks of table are stale. */
static int64_t
stale_before(const KktSlacks *s, uint64_t table)
{
	int64_t		ts = s->floor;
	size_t		i;

	table = tab(table);
	for (i = 0; i < s->nfloors; i++)
		if (s->floors[i].table == table && s->floors[i].ts > ts)
			ts = s->floors[i].ts;
	return ts;
}

/* A pull asking for slacks is sent: pushes from now on are noted. */
void
kkt_arm(KktSlacks *s)
{
	if (s->slots == NULL)
		grow(s);
}

/* Forget every slack: those told before floor are stale. */
void
kkt_forget(KktSlacks *s, int64_t floor)
{
	if (s->slots != NULL)
		forget_all(s, floor);
}

/*
 * Learn the slacks of the answer to pull pull_ts of table: n keys (keys,
 * or the range from first), each with dim weights then dim slacks in
 * answer.  now_ts is the next timestamp the client will give a task.
 */
void
kkt_learn(KktSlacks *s, uint64_t table, int64_t pull_ts, int64_t now_ts,
		  const int64_t *keys, int64_t first, size_t n, int dim,
		  const float *answer)
{
	size_t		i;
	int			d;

	table = tab(table);
	kkt_arm(s);
	if (pull_ts < stale_before(s, table))
		return;
	for (i = 0; i < n; i++)
	{
		int64_t		key = keys ? keys[i] : first + (int64_t) i;
		const float *slack = answer + i * 2 * dim + dim;
		KktEntry   *e = find(s, table, key);
		bool		usable = true;

		for (d = 0; d < dim; d++)
			usable &= slack[d] >= 0;
		if (e->table == 0)
		{
			if (!usable)
				continue;		/* nothing of it would be dropped */
			if (!make_room(s, now_ts))
				return;			/* all forgotten, this answer stale now */
			e = find(s, table, key);
			e->table = table;
			e->key = key;
			e->sent_ts = 0;
			e->dim = 0;
			s->n++;
		}
		if (e->sent_ts > pull_ts || e->pull_ts > pull_ts)
			continue;			/* a push after the pull changed it */
		if (e->dim == 0)
		{
			e->at = pool_take(s, dim);
			e->dim = (uint32_t) dim;
		}
		if (e->dim != (uint32_t) dim)
			continue;
		e->pull_ts = pull_ts;
		memcpy(s->pool + e->at, slack, sizeof(float) * dim);
	}
}

/*
 * Compact keys[0 .. n - 1] and vals (dim each, a push of table) to the
 * keys to send: those without a slack known to cover their values.
 * Returns how many.
 */
size_t
kkt_filter(KktSlacks *s, uint64_t table, int64_t *keys, float *vals,
		   size_t n, int dim)
{
	int64_t		stale;
	size_t		i,
				m = 0;
	int			d;

	if (s->slots == NULL)
		return n;
	table = tab(table);
	stale = stale_before(s, table);
	for (i = 0; i < n; i++)
	{
		const KktEntry *e = find(s, table, keys[i]);
		float	   *v = vals + i * dim;

		if (e->table != 0 && e->dim == (uint32_t) dim && e->pull_ts > 0 &&
			e->pull_ts >= stale && e->pull_ts > e->sent_ts)
		{
			const float *slack = s->pool + e->at;
			bool		covered = true;

			for (d = 0; d < dim; d++)
				covered &= fabsf(v[d]) <= slack[d];
			if (covered)
			{
				s->keys_filtered++;
				s->bytes_saved += 2 + 4 * (uint64_t) dim;
				continue;
			}
		}
		keys[m] = keys[i];
		memmove(vals + m * dim, v, sizeof(float) * dim);
		m++;
	}
	return m;
}

/*
 * A push (timestamp ts) sends keys[0 .. n - 1] of table: their slacks told
 * before it are stale, also those of pulls whose answers are still to come.
 */
void
kkt_note_push(KktSlacks *s, uint64_t table, const int64_t *keys, size_t n,
			  int64_t ts)
{
	size_t		i;

	if (s->slots == NULL)
		return;					/* no slack was ever asked for */
	table = tab(table);
	for (i = 0; i < n; i++)
	{
		KktEntry   *e = find(s, table, keys[i]);

		if (e->table == 0)
		{
			if (!make_room(s, ts))
				continue;		/* forgotten: stale before ts anyway */
			e = find(s, table, keys[i]);
			e->table = table;
			e->key = keys[i];
			e->pull_ts = 0;
			e->dim = 0;
			s->n++;
		}
		e->sent_ts = ts;
	}
}

/* A range push (timestamp ts) of table: its slacks told before are stale. */
void
kkt_note_range_push(KktSlacks *s, uint64_t table, int64_t ts)
{
	size_t		i;
	KktFloor   *f;

	if (s->slots == NULL)
		return;
	table = tab(table);
	for (i = 0; i < s->nfloors; i++)
		if (s->floors[i].table == table)
		{
			s->floors[i].ts = ts;
			return;
		}
	f = realloc(s->floors, sizeof(KktFloor) * (s->nfloors + 1));
	if (f == NULL)
	{
		fprintf(stderr, "ps_client: out of memory (KKT filter)\n");
		abort();
	}
	s->floors = f;
	s->floors[s->nfloors].table = table;
	s->floors[s->nfloors].ts = ts;
	s->nfloors++;
}

void
kkt_free(KktSlacks *s)
{
	size_t		max_keys = s->max_keys;

	free(s->slots);
	free(s->pool);
	free(s->floors);
	memset(s, 0, sizeof(KktSlacks));
	s->max_keys = max_keys;
}
