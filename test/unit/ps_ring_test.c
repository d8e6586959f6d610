/*
 * ps_ring_test.c
 *	  Unit tests of the consistent-hashing ring (src/common/ps_ring.c),
 *	  run by test/t/027_ring.pl built with address and undefined-behaviour
 *	  sanitizers.
 *
 * What it shows: the ring is sorted and the same for the same nodes in any
 * order; a key's owner is the one a scan of the tokens finds (keys over
 * the whole bigint range, tokens' own positions and their neighbours); a
 * range splits into pieces that cover it exactly, in order, each wholly
 * owned by its token; holders are distinct and clockwise; adding a node
 * moves only keys to it and removing one moves only its keys; 3 nodes of
 * 16 virtual nodes share the key space within a bound; bad node lists are
 * refused with their reason; a key's position is its block's (4096 keys),
 * small feature ids spread over every node, and key ranges split into
 * pieces of one node each that cover them exactly.  Prints one "ok N - ..." line per check
 * (TAP) and exits non-zero if any failed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ps_ring.h"
#include "unit_tap.h"

static int64_t
rand_key(void)
{
	uint64_t	u = next_rand();
	int64_t		k;

	switch (u % 8)
	{
		case 0:
			return INT64_MIN + (int64_t) (u >> 60);
		case 1:
			return INT64_MAX - (int64_t) (u >> 60);
		case 2:
			return (int64_t) (u >> 40);	/* small feature ids */
		default:
			memcpy(&k, &u, sizeof(k));
			return k;
	}
}

/* the owner by a scan: the first token at or after key, else the first */
static size_t
scan_owner(const PsRingToken *t, size_t n, int64_t key)
{
	size_t		i;

	for (i = 0; i < n; i++)
		if (t[i].pos >= key)
			return i;
	return 0;
}

#define MAXT 20000

static PsRingToken toks[MAXT],
			toks2[MAXT];

static size_t
build(const uint32_t *nodes, const uint32_t *vn, size_t nn, PsRingToken *out)
{
	size_t		n = 0;
	const char *why = NULL;

	if (ps_ring_build(nodes, vn, nn, out, MAXT, &n, &why) != 0)
	{
		printf("# build failed: %s\n", why);
		return 0;
	}
	return n;
}

/*
 * Of random keys whose owner differs between ring a and ring b, those that
 * neither left node `from` nor went to node `to` (0 excuses none).
 */
static size_t
stray_moves(const PsRingToken *a, size_t na, const PsRingToken *b, size_t nb,
			uint32_t from, uint32_t to)
{
	size_t		bad = 0,
				i;

	for (i = 0; i < 200000; i++)
	{
		int64_t		k = rand_key();
		uint32_t	before = a[ps_ring_owner(a, na, k)].node,
					after = b[ps_ring_owner(b, nb, k)].node;

		bad += before != after && before != from && after != to;
	}
	return bad;
}

int
main(void)
{
	uint32_t	nodes[8] = {11, 22, 33, 44, 55, 66, 77, 88},
				vn[8] = {16, 16, 16, 16, 16, 16, 16, 16},
				rev[3] = {33, 22, 11},
				holders[8];
	size_t		n,
				n2,
				i,
				bad;
	const char *why = NULL;
	PsRingPiece pieces[MAXT + 1];

	/* building */
	n = build(nodes, vn, 3, toks);
	check(n == 48, "3 nodes of 16 virtual nodes: 48 tokens");
	bad = 0;
	for (i = 1; i < n; i++)
		bad += toks[i - 1].pos >= toks[i].pos;
	check(bad == 0, "tokens strictly ascending");
	n2 = build(rev, vn, 3, toks2);
	check(n2 == n && memcmp(toks, toks2, n * sizeof(PsRingToken)) == 0,
		  "the same ring from the nodes in another order");
	check(ps_ring_build(nodes, vn, 0, toks2, MAXT, &n2, &why) == -1 && strstr(why, "at least one"),
		  "no nodes: refused");
	{
		uint32_t	twice[2] = {5, 5};

		check(ps_ring_build(twice, vn, 2, toks2, MAXT, &n2, &why) == -1 && strstr(why, "twice"),
			  "a node twice: refused");
	}
	{
		uint32_t	zero[1] = {0},
					big[1] = {PS_RING_MAX_VNODES + 1};

		check(ps_ring_build(nodes, zero, 1, toks2, MAXT, &n2, &why) == -1 && strstr(why, "virtual"),
			  "0 virtual nodes: refused");
		check(ps_ring_build(nodes, big, 1, toks2, MAXT, &n2, &why) == -1 && strstr(why, "virtual"),
			  "too many virtual nodes: refused");
	}
	check(ps_ring_build(nodes, vn, 3, toks2, 47, &n2, &why) == -1 && strstr(why, "room") && n2 == 0,
		  "too little room: refused, nothing written counted");

	/* owners */
	bad = 0;
	for (i = 0; i < 200000; i++)
	{
		int64_t		k = rand_key();

		bad += ps_ring_owner(toks, n, k) != scan_owner(toks, n, k);
	}
	for (i = 0; i < n; i++)
	{
		int64_t		p = toks[i].pos;

		bad += ps_ring_owner(toks, n, p) != i;
		if (p != INT64_MAX)
			bad += ps_ring_owner(toks, n, p + 1) != (i + 1) % n;
		if (p != INT64_MIN)
			bad += ps_ring_owner(toks, n, p - 1) != scan_owner(toks, n, p - 1);
	}
	bad += ps_ring_owner(toks, n, INT64_MIN) != scan_owner(toks, n, INT64_MIN);
	bad += ps_ring_owner(toks, n, INT64_MAX) != scan_owner(toks, n, INT64_MAX);
	check(bad == 0, "owners agree with a scan: random keys, every token's position and neighbours, the ends");
	{
		PsRingToken one = {42, 7};

		check(ps_ring_owner(&one, 1, INT64_MIN) == 0 && ps_ring_owner(&one, 1, INT64_MAX) == 0,
			  "one token owns every key");
	}

	/* splits */
	bad = 0;
	for (i = 0; i < 2000; i++)
	{
		int64_t		a = rand_key(),
					b = i % 3 == 0 ? (a > INT64_MAX - 1000 ? a : a + (int64_t) (next_rand() % 1000)) : rand_key(),
					lo = a < b ? a : b,
					hi = a < b ? b : a;
		size_t		np = ps_ring_split(toks, n, lo, hi, pieces, MAXT + 1),
					j;

		if (i == 0)
		{
			lo = INT64_MIN;
			hi = INT64_MAX;
			np = ps_ring_split(toks, n, lo, hi, pieces, MAXT + 1);
			bad += np != n + 1;	/* the wrap's two ends are pieces of token 0 */
		}
		if (np == 0 || pieces[0].lo != lo || pieces[np - 1].hi != hi)
		{
			bad++;
			continue;
		}
		for (j = 0; j < np; j++)
		{
			bad += pieces[j].lo > pieces[j].hi;
			bad += j > 0 && pieces[j].lo != pieces[j - 1].hi + 1;
			bad += ps_ring_owner(toks, n, pieces[j].lo) != pieces[j].token;
			bad += ps_ring_owner(toks, n, pieces[j].hi) != pieces[j].token;
			/* the next key is another token's */
			bad += j + 1 < np && ps_ring_owner(toks, n, pieces[j].hi + 1) == pieces[j].token;
		}
	}
	check(bad == 0, "splits cover their range exactly, in order, one owner a piece");
	check(ps_ring_split(toks, n, 5, 4, pieces, MAXT) == 0, "a range with lo > hi: no pieces");
	check(ps_ring_split(toks, n, INT64_MIN, INT64_MAX, pieces, 3) == 0,
		  "too little room for the pieces: 0");
	check(ps_ring_split(toks, n, toks[3].pos, toks[3].pos, pieces, 1) == 1 && pieces[0].token == 3,
		  "a one-key range at a token: one piece of that token");

	/* holders */
	bad = 0;
	for (i = 0; i < n; i++)
	{
		size_t		h = ps_ring_holders(toks, n, i, 2, holders),
					j,
					l;

		bad += h != 3 || holders[0] != toks[i].node;
		for (j = 0; j < h; j++)
			for (l = 0; l < j; l++)
				bad += holders[j] == holders[l];
		/* the first replica is the node of the next token of another node */
		for (j = 1; toks[(i + j) % n].node == toks[i].node; j++)
			;
		bad += holders[1] != toks[(i + j) % n].node;
	}
	check(bad == 0, "holders: the owner, then distinct nodes clockwise");
	check(ps_ring_holders(toks, n, 0, 5, holders) == 3, "k beyond the ring's nodes: every node once");

	/* serving with failed nodes: the first holder alive, or lost */
	{
		static PsRingToken serve[MAXT];
		uint32_t	dead1[1] = {22},
					dead2[2] = {22, 33};
		int			lost = 0;

		ps_ring_serve(toks, n, 1, NULL, 0, serve);
		bad = 0;
		for (i = 0; i < n; i++)
			bad += serve[i].pos != toks[i].pos || serve[i].node != toks[i].node;
		check(bad == 0, "serve: no failed node, every token its own node's");
		ps_ring_serve(toks, n, 1, dead1, 1, serve);
		bad = 0;
		for (i = 0; i < n; i++)
		{
			ps_ring_holders(toks, n, i, 1, holders);
			bad += serve[i].node != (toks[i].node == 22 ? holders[1] : toks[i].node);
		}
		check(bad == 0, "serve: a failed node's tokens go to their first replica, the others stay");
		ps_ring_serve(toks, n, 1, dead2, 2, serve);
		bad = 0;
		for (i = 0; i < n; i++)
		{
			size_t		h = ps_ring_holders(toks, n, i, 1, holders);
			int			alive = -1,
						j;

			for (j = 0; j < (int) h && alive < 0; j++)
				if (holders[j] != 22 && holders[j] != 33)
					alive = j;
			bad += serve[i].node != (alive < 0 ? PS_RING_LOST : holders[alive]);
			lost += serve[i].node == PS_RING_LOST;
		}
		check(bad == 0 && lost > 0, "serve: two failures with one replica lose the tokens both held, and only those");
		ps_ring_serve(toks, n, 2, dead2, 2, serve);
		bad = 0;
		for (i = 0; i < n; i++)
			bad += serve[i].node != 11;
		check(bad == 0, "serve: with two replicas of three nodes, the last node serves every key");
	}

	/* adding and removing nodes */
	n2 = build(nodes, vn, 4, toks2);
	check(stray_moves(toks, n, toks2, n2, 0, 44) == 0, "a node added takes keys only to itself");
	{
		uint32_t	rest[3] = {11, 33, 44};

		n2 = build(rest, vn, 3, toks2);
		n = build(nodes, vn, 4, toks);
		check(stray_moves(toks, n, toks2, n2, 22, 0) == 0, "a node removed gives away only its keys");
	}

	/* balance: each node's share of the key space */
	{
		double		share[3] = {0, 0, 0},
					lo = 1,
					hi = 0;
		size_t		j;

		n = build(nodes, vn, 3, toks);
		for (i = 0; i < n; i++)
		{
			/* the arc before token i, as a fraction of 2^64 */
			double		prev = i == 0 ? (double) toks[n - 1].pos - 18446744073709551616.0
			: (double) toks[i - 1].pos;

			for (j = 0; j < 3; j++)
				if (toks[i].node == nodes[j])
					share[j] += ((double) toks[i].pos - prev) / 18446744073709551616.0;
		}
		for (j = 0; j < 3; j++)
		{
			lo = share[j] < lo ? share[j] : lo;
			hi = share[j] > hi ? share[j] : hi;
		}
		printf("# 3 nodes of 16 virtual nodes: shares %.3f %.3f %.3f\n", share[0], share[1], share[2]);
		check(share[0] + share[1] + share[2] > 0.999999 && share[0] + share[1] + share[2] < 1.000001,
			  "the shares add up to the whole key space");
		check(lo > 0.15 && hi < 0.55, "every node holds between 15 % and 55 % of the key space");
	}

	/* keys: positions by blocks, and key ranges split by owning node */
	{
		static PsRingPiece kp[4096];
		size_t		counts[3] = {0, 0, 0},
					j,
					np;
		int64_t		k;

		n = build(nodes, vn, 3, toks);
		bad = 0;
		for (i = 0; i < 20000; i++)
		{
			k = rand_key();
			bad += ps_ring_key_pos(k) != ps_ring_key_pos(k | (PS_RING_BLOCK - 1));
			bad += ps_ring_key_pos(k) != ps_ring_key_pos(k & ~(PS_RING_BLOCK - 1));
			bad += ps_ring_key_owner(toks, n, k) != ps_ring_owner(toks, n, ps_ring_key_pos(k));
		}
		check(bad == 0, "a block of 4096 aligned keys has one position; a key's owner is its position's");
		bad = 0;
		for (i = 1; i < 400000; i += PS_RING_BLOCK)
			bad += ps_ring_key_pos((int64_t) i) == ps_ring_key_pos((int64_t) i + PS_RING_BLOCK);
		check(bad == 0, "neighbouring blocks of small ids get different positions");
		for (k = 1; k <= 400000; k++)
			for (j = 0; j < 3; j++)
				counts[j] += toks[ps_ring_key_owner(toks, n, k)].node == nodes[j];
		printf("# feature ids 1 .. 400000 over 3 nodes: %zu %zu %zu\n", counts[0], counts[1], counts[2]);
		check(counts[0] > 40000 && counts[1] > 40000 && counts[2] > 40000,
			  "feature ids 1 .. 400000 spread over all 3 nodes (each more than 10 %)");

		bad = 0;
		for (i = 0; i < 300; i++)
		{
			int64_t		lo = rand_key(),
						hi;
			uint64_t	span = next_rand() % (i % 3 == 0 ? 50 : 3000000);

			if (i == 0)
				lo = INT64_MAX - 10000;
			if (i == 1)
				lo = -5000;		/* across 0 */
			hi = lo > INT64_MAX - (int64_t) span ? INT64_MAX : lo + (int64_t) span;
			np = ps_ring_split_keys(toks, n, lo, hi, kp, 4096);
			bad += np == 0;
			for (j = 0; j < np; j++)
			{
				uint32_t	node = toks[kp[j].token].node;

				bad += kp[j].lo > kp[j].hi;
				bad += j == 0 ? kp[j].lo != lo : kp[j].lo != kp[j - 1].hi + 1;
				bad += j + 1 == np && kp[j].hi != hi;
				bad += j > 0 && toks[kp[j - 1].token].node == node;
				bad += toks[ps_ring_key_owner(toks, n, kp[j].lo)].node != node;
				bad += toks[ps_ring_key_owner(toks, n, kp[j].hi)].node != node;
				/* every block boundary inside the piece: the same node */
				for (k = (kp[j].lo | (PS_RING_BLOCK - 1)); k < kp[j].hi; k = k + PS_RING_BLOCK)
				{
					bad += toks[ps_ring_key_owner(toks, n, k + 1)].node != node;
					if (k > INT64_MAX - PS_RING_BLOCK)
						break;
				}
			}
		}
		check(bad == 0, "key ranges split into pieces that cover them exactly, one node a piece, neighbours apart");
		check(ps_ring_split_keys(toks, n, 0, 100 * PS_RING_BLOCK, kp, 2) == 0,
			  "a key range with more pieces than room: 0");
		check(ps_ring_split_keys(toks, n, 9, 8, kp, 10) == 0, "a key range with lo > hi: no pieces");
	}

	printf("1..%d\n", ntests);
	return nfailed > 0;
}
