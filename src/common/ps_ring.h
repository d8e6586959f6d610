/*-------------------------------------------------------------------------
 *
 * ps_ring.h
 *	  The consistent-hashing ring of a cluster of ps servers: virtual
 *	  nodes' tokens over the 64-bit key space, who owns a key, a key
 *	  range's pieces by owner, and a range's replicas.
 *
 * Positions on the ring are 64-bit, ordered as bigint (INT64_MIN first);
 * the token at position p owns the positions after the previous token's
 * up to p, and the first token also owns those after the last one (the
 * wrap).  A node's tokens are a hash of its id and its virtual node's
 * number, so every node computes the same ring from the same (node,
 * virtual nodes) list.
 *
 * A key's position is a hash of its block: keys in aligned blocks of
 * PS_RING_BLOCK keys (key >> 12 the same) share one position, so a
 * dense range splits into a piece per run of blocks of one owner, while
 * small feature ids (1, 2, 3, ...) still spread over every node.
 *
 * Layer 1 (pure code), in src/common: plain C99 and the C library.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_RING_H
#define PS_RING_H

#include <stddef.h>
#include <stdint.h>

/* at most this many virtual nodes a node, and nodes a ring */
#define PS_RING_MAX_VNODES 4096
#define PS_RING_MAX_NODES 4096

typedef struct PsRingToken
{
	int64_t		pos;			/* the last key this token owns */
	uint32_t	node;
} PsRingToken;

/* A piece of a key range: keys lo .. hi, owned by token `token`. */
typedef struct PsRingPiece
{
	int64_t		lo;
	int64_t		hi;
	size_t		token;
} PsRingPiece;

/* keys per block: a block's keys are on one node */
#define PS_RING_BLOCK_BITS 12
#define PS_RING_BLOCK ((int64_t) 1 << PS_RING_BLOCK_BITS)

/* The position of virtual node vnode of node `node`. */
extern int64_t ps_ring_token_pos(uint32_t node, uint32_t vnode);

/*
 * The ring of nnodes nodes, node i with vnodes[i] virtual nodes, into
 * out (room for the sum of vnodes), ascending; *ntokens their number.
 * Returns 0, or -1 with *why set: no nodes, a node twice, a count of
 * virtual nodes outside 1 .. PS_RING_MAX_VNODES, too many nodes, too
 * little room, or two tokens at one position (then change a node's id).
 */
extern int	ps_ring_build(const uint32_t *nodes, const uint32_t *vnodes,
						  size_t nnodes, PsRingToken *out, size_t room,
						  size_t *ntokens, const char **why);

/* The index of the token that owns position pos (ntokens >= 1). */
extern size_t ps_ring_owner(const PsRingToken *tokens, size_t ntokens,
							int64_t pos);

/*
 * Positions lo .. hi (lo <= hi) in pieces of one owning token each, ascending,
 * into out (room pieces); returns how many, or 0 if lo > hi or they do
 * not fit (at most ntokens + 1 are needed).
 */
extern size_t ps_ring_split(const PsRingToken *tokens, size_t ntokens,
							int64_t lo, int64_t hi, PsRingPiece *out,
							size_t room);

/* The position of key: a hash of its block. */
extern int64_t ps_ring_key_pos(int64_t key);

/* The index of the token that owns key's position (ntokens >= 1). */
extern size_t ps_ring_key_owner(const PsRingToken *tokens, size_t ntokens,
								int64_t key);

/*
 * Keys lo .. hi (lo <= hi) in pieces of consecutive keys of one owning
 * node each, ascending (a piece's token: the one that owns its first
 * block), into out (room pieces); returns how many, or 0 if lo > hi or
 * they do not fit.  It looks at every block of the range: the caller
 * bounds the range (at most (hi - lo) / PS_RING_BLOCK + 2 pieces).
 */
extern size_t ps_ring_split_keys(const PsRingToken *tokens, size_t ntokens,
								 int64_t lo, int64_t hi, PsRingPiece *out,
								 size_t room);

/*
 * The nodes that hold token `token`'s keys: its node, then the nodes of
 * the tokens after it clockwise, each once, up to 1 + k of them, into
 * out; returns how many (fewer when the ring has fewer nodes).
 */
extern size_t ps_ring_holders(const PsRingToken *tokens, size_t ntokens,
							  size_t token, size_t k, uint32_t *out);

/* the node of a token whose holders have all failed: its keys are lost */
#define PS_RING_LOST 0

/*
 * The ring that serves requests, from the placement ring (every node's
 * tokens, failed ones too) and the failed nodes dead[0 .. ndead - 1]:
 * each token of out (ntokens, positions as placement's) goes to the
 * first of its 1 + k holders (ps_ring_holders) that has not failed, or
 * to PS_RING_LOST if all have.  A failed node's keys are thus served by
 * the replica that holds them, and its successors keep their own.
 */
extern void ps_ring_serve(const PsRingToken *placement, size_t ntokens,
						  size_t k, const uint32_t *dead, size_t ndead,
						  PsRingToken *out);

#endif							/* PS_RING_H */
