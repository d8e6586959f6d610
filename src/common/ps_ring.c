/*-------------------------------------------------------------------------
 *
 * ps_ring.c
 *	  The consistent-hashing ring (ps_ring.h): virtual nodes' positions,
 *	  the ring built from a list of nodes, a position's owner by binary
 *	  search, a key's position (a hash of its block of keys), position and
 *	  key ranges split by owner, and a token's holders
 *	  (its node and the next distinct nodes clockwise, the replicas).
 *
 * Layer 1 (pure code), in src/common: plain C99 and the C library.
 *
 *-------------------------------------------------------------------------
 */
#include "ps_ring.h"

#include <stdlib.h>
#include <string.h>

/* splitmix64's finaliser: every input bit moves every output bit */
static uint64_t
mix64(uint64_t x)
{
	x += UINT64_C(0x9E3779B97F4A7C15);
	x = (x ^ (x >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94D049BB133111EB);
	return x ^ (x >> 31);
}

int64_t
ps_ring_token_pos(uint32_t node, uint32_t vnode)
{
	uint64_t	h = mix64(((uint64_t) node << 32) | vnode);
	int64_t		pos;

	memcpy(&pos, &h, sizeof(pos));
	return pos;
}

static int
cmp_token(const void *a, const void *b)
{
	const PsRingToken *x = a,
			   *y = b;

	if (x->pos != y->pos)
		return x->pos < y->pos ? -1 : 1;
	return (x->node > y->node) - (x->node < y->node);
}

int
ps_ring_build(const uint32_t *nodes, const uint32_t *vnodes, size_t nnodes,
			  PsRingToken *out, size_t room, size_t *ntokens, const char **why)
{
	size_t		n = 0,
				i,
				j;

	*ntokens = 0;
	if (nnodes == 0)
	{
		*why = "a ring needs at least one node";
		return -1;
	}
	if (nnodes > PS_RING_MAX_NODES)
	{
		*why = "more nodes than PS_RING_MAX_NODES";
		return -1;
	}
	for (i = 0; i < nnodes; i++)
	{
		if (vnodes[i] < 1 || vnodes[i] > PS_RING_MAX_VNODES)
		{
			*why = "a node's virtual nodes must number 1 .. PS_RING_MAX_VNODES";
			return -1;
		}
		for (j = 0; j < i; j++)
			if (nodes[j] == nodes[i])
			{
				*why = "a node appears twice";
				return -1;
			}
		if (vnodes[i] > room - n)	/* n <= room so far */
		{
			*why = "no room for the ring's tokens";
			return -1;
		}
		for (j = 0; j < vnodes[i]; j++)
		{
			out[n].pos = ps_ring_token_pos(nodes[i], (uint32_t) j);
			out[n++].node = nodes[i];
		}
	}
	qsort(out, n, sizeof(PsRingToken), cmp_token);
	for (i = 1; i < n; i++)
		if (out[i].pos == out[i - 1].pos)
		{
			*why = "two virtual nodes fall on one position";
			return -1;
		}
	*ntokens = n;
	return 0;
}

size_t
ps_ring_owner(const PsRingToken *tokens, size_t ntokens, int64_t key)
{
	size_t		lo = 0,
				hi = ntokens;

	/* the first token at or after key; none: the first (the wrap) */
	while (lo < hi)
	{
		size_t		mid = lo + (hi - lo) / 2;

		if (tokens[mid].pos < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo == ntokens ? 0 : lo;
}

size_t
ps_ring_split(const PsRingToken *tokens, size_t ntokens, int64_t lo,
			  int64_t hi, PsRingPiece *out, size_t room)
{
	size_t		n = 0,
				i;
	int64_t		cur = lo;

	if (lo > hi || ntokens == 0)
		return 0;
	i = ps_ring_owner(tokens, ntokens, lo);
	for (;;)
	{
		/* past the last token the keys are the first token's, up to the end */
		int64_t		end = tokens[i].pos >= cur && tokens[i].pos < hi ? tokens[i].pos : hi;

		if (n == room)
			return 0;
		out[n].lo = cur;
		out[n].hi = end;
		out[n++].token = i;
		if (end == hi)
			return n;
		cur = end + 1;			/* end < hi: no overflow */
		i = (i + 1) % ntokens;
	}
}

size_t
ps_ring_holders(const PsRingToken *tokens, size_t ntokens, size_t token,
				size_t k, uint32_t *out)
{
	size_t		n = 0,
				step,
				j;

	for (step = 0; step < ntokens && n < k + 1; step++)
	{
		uint32_t	node = tokens[(token + step) % ntokens].node;
		int			seen = 0;

		for (j = 0; j < n && !seen; j++)
			seen = out[j] == node;
		if (!seen)
			out[n++] = node;
	}
	return n;
}

static int
is_dead(uint32_t node, const uint32_t *dead, size_t ndead)
{
	size_t		i;

	for (i = 0; i < ndead; i++)
		if (dead[i] == node)
			return 1;
	return 0;
}

void
ps_ring_serve(const PsRingToken *placement, size_t ntokens, size_t k,
			  const uint32_t *dead, size_t ndead, PsRingToken *out)
{
	size_t		t;

	for (t = 0; t < ntokens; t++)
	{
		size_t		distinct = 0,
					step;
		uint32_t	serve = PS_RING_LOST;

		/* the holders, in order: each node the first time it comes */
		for (step = 0; step < ntokens && distinct < k + 1 && serve == PS_RING_LOST; step++)
		{
			uint32_t	node = placement[(t + step) % ntokens].node;
			size_t		back;
			int			seen = 0;

			for (back = 0; back < step && !seen; back++)
				seen = placement[(t + back) % ntokens].node == node;
			if (seen)
				continue;
			distinct++;
			if (!is_dead(node, dead, ndead))
				serve = node;
		}
		out[t].pos = placement[t].pos;
		out[t].node = serve;
	}
}

int64_t
ps_ring_key_pos(int64_t key)
{
	uint64_t	block = (uint64_t) key >> PS_RING_BLOCK_BITS;
	uint64_t	h = mix64(block ^ UINT64_C(0x6A09E667F3BCC908));
	int64_t		pos;

	memcpy(&pos, &h, sizeof(pos));
	return pos;
}

size_t
ps_ring_key_owner(const PsRingToken *tokens, size_t ntokens, int64_t key)
{
	return ps_ring_owner(tokens, ntokens, ps_ring_key_pos(key));
}

size_t
ps_ring_split_keys(const PsRingToken *tokens, size_t ntokens, int64_t lo,
				   int64_t hi, PsRingPiece *out, size_t room)
{
	size_t		n = 0;
	int64_t		cur = lo;

	if (lo > hi || ntokens == 0)
		return 0;
	for (;;)
	{
		/* the last key of cur's block (two's complement: also below 0) */
		int64_t		end = cur | (PS_RING_BLOCK - 1);
		size_t		t = ps_ring_key_owner(tokens, ntokens, cur);

		if (end > hi)
			end = hi;
		if (n > 0 && tokens[out[n - 1].token].node == tokens[t].node)
			out[n - 1].hi = end;
		else
		{
			if (n == room)
				return 0;
			out[n].lo = cur;
			out[n].hi = end;
			out[n++].token = t;
		}
		if (end == hi)
			return n;
		cur = end + 1;			/* end < hi: no overflow */
	}
}
