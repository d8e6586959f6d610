/*-------------------------------------------------------------------------
 *
 * ps_wire.h
 *	  The binary wire format of pushes and pulls (ps_push_msg, ps_pull_msg
 *	  and the client library): one codec for the server and the clients.
 *
 * A message is a 16-byte header and sections whose presence the header's
 * flags say, in this order, all integers little-endian:
 *
 *	 header	  "PS", version (1), kind (push 1, pull 2, values 3), flags
 *			  (uint16), reserved (uint16, 0), count (uint32: keys), dim
 *			  (uint32: values per key; 0 in a pull: the table's)
 *	 worker	  (PS_WIRE_WORKER) worker int32, clock int64
 *	 once	  (PS_WIRE_ONCE, pushes only) client uint64, seq uint64, both
 *			  nonzero: the push's exactly-once id, a client's own random
 *			  id and its count of pushes to the table (1, 2, ...); with
 *			  PS_WIRE_RESENT the push was sent before, on a connection
 *			  that was lost
 *	 keys	  push and pull: (PS_WIRE_RANGE) first int64: the keys first ..
 *			  first + count - 1; or (PS_WIRE_CACHED) the hash (uint64) of
 *			  a key list sent before with PS_WIRE_CACHE; or the byte
 *			  length (uint32) of count varints: the first key
 *			  zigzag-encoded, then each key's distance from the one before
 *			  (at least 1: keys ascend)
 *	 values	  push and values: count * dim float32, or (PS_WIRE_SPARSE)
 *			  the number of nonzero ones (uint32), their positions in the
 *			  count * dim vector as varint gaps (position - previous - 1,
 *			  the first from -1), and their float32 values, or
 *			  (PS_WIRE_COMPRESSED) the byte length (uint32) of the dense
 *			  float32s compressed with zstd, and those bytes.  A values
 *			  message with PS_WIRE_SLACK (the answer to a pull with it)
 *			  has dim twice the table's: each key's weights, then its
 *			  KKT slacks (ps_pull_msg)
 *
 * Nothing follows the last section.  A varint is LEB128 (7 bits a byte,
 * low first), at most 10 bytes.  The parser checks every field and every
 * length against the bytes there before anything is decoded or allocated
 * from it: a malformed message is refused with a reason and its offset.
 *
 * Layer 1 (pure code), in src/common: plain C99 for the server and for
 * client programs; no PostgreSQL header, no allocation.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_WIRE_H
#define PS_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PS_WIRE_VERSION 1
#define PS_WIRE_HEADER_SIZE 16

/* kinds */
#define PS_WIRE_PUSH 1
#define PS_WIRE_PULL 2
#define PS_WIRE_VALUES 3		/* a pull's answer */

/* flags */
#define PS_WIRE_WORKER 0x0001	/* a worker section follows the header */
#define PS_WIRE_RANGE 0x0002	/* keys as (first, count) */
#define PS_WIRE_SPARSE 0x0004	/* values as (position, value) pairs */
#define PS_WIRE_CACHE 0x0008	/* the server is to remember the keys listed */
#define PS_WIRE_CACHED 0x0010	/* keys: the hash of a list it remembers */
#define PS_WIRE_COMPRESSED 0x0020	/* push, values: the dense values are
									 * compressed; pull: compress the answer */
#define PS_WIRE_ONCE 0x0040	/* a once section follows the worker's */
#define PS_WIRE_RESENT 0x0080	/* with PS_WIRE_ONCE: a push sent again */
#define PS_WIRE_ASYNC 0x0100	/* push: answer once applied, flush later */
#define PS_WIRE_SYNC 0x0200		/* push: answer once this session's WAL is
								 * flushed, earlier pushes' included */
#define PS_WIRE_SLACK 0x0400	/* pull: answer each key's KKT slack too;
								 * values: the answer has it */
#define PS_WIRE_KNOWN_FLAGS 0x07FF

#define PS_WIRE_ONCE_SIZE 16	/* bytes of the once section */

/*
 * The compressor of PS_WIRE_COMPRESSED (zstd), which the program provides:
 * src/common links nothing but the C library.  compress returns the
 * compressed length, 0 if it does not fit cap; decompress returns the
 * bytes it wrote into dst (of exactly n), or (size_t) -1.
 */
typedef struct PsWireCodec
{
	size_t		(*bound) (size_t n);
	size_t		(*compress) (void *dst, size_t cap, const void *src, size_t n);
	size_t		(*decompress) (void *dst, size_t n, const void *src, size_t len);
} PsWireCodec;

/* A message as parsed: the header's fields and where each section is. */
typedef struct PsWireMsg
{
	const uint8_t *base;		/* the message */
	int			kind;
	uint16_t	flags;
	uint32_t	count;			/* keys */
	uint32_t	dim;			/* values per key */
	int32_t		worker;			/* PS_WIRE_WORKER */
	int64_t		clock;
	uint64_t	once_client;	/* PS_WIRE_ONCE */
	uint64_t	once_seq;
	int64_t		first;			/* PS_WIRE_RANGE: the first key */
	const uint8_t *keys;		/* else: the key varints */
	size_t		keys_len;
	uint64_t	key_hash;		/* PS_WIRE_CACHE, PS_WIRE_CACHED: the list's */
	uint32_t	nnz;			/* PS_WIRE_SPARSE: nonzero values */
	const uint8_t *positions;	/* their position gaps (varints) */
	size_t		positions_len;
	const uint8_t *values;		/* float32s: count * dim, or nnz; or */
	size_t		values_len;		/* (PS_WIRE_COMPRESSED) their compressed bytes */
} PsWireMsg;

/* Why a message was refused: a fixed reason and the byte offset of the field. */
typedef struct PsWireError
{
	const char *reason;
	size_t		offset;
} PsWireError;

extern bool ps_wire_parse(const uint8_t *buf, size_t len, PsWireMsg *m,
						  PsWireError *err);
extern bool ps_wire_decode_keys(const PsWireMsg *m, int64_t *keys,
								PsWireError *err);
extern bool ps_wire_decode_values(const PsWireMsg *m, float *vals,
								  PsWireError *err);

/* Encoding: the sizes to reserve, then the writers (they return the length). */
extern size_t ps_wire_bound(uint32_t count, uint32_t dim, bool with_keys,
							bool with_values);
extern size_t ps_wire_encode(uint8_t *out, int kind, uint32_t count,
							 uint32_t dim, const int32_t *worker,
							 int64_t clock, const int64_t *keys,
							 int64_t first, const float *vals, bool sparse);
extern size_t ps_wire_sparse_size(const float *vals, size_t n, uint32_t *nnz);
extern void ps_wire_set_codec(const PsWireCodec *codec);
extern size_t ps_wire_compress(const uint8_t *msg, size_t len, uint8_t *out,
							   size_t cap);
extern size_t ps_wire_insert_once(uint8_t *out, size_t len, uint64_t client,
								  uint64_t seq);
extern size_t ps_wire_once_offset(const uint8_t *msg);
extern void ps_wire_add_flags(uint8_t *msg, uint16_t flags);
extern uint64_t ps_wire_hash(const uint8_t *p, size_t len, uint32_t count);
extern size_t ps_wire_keys_offset(const uint8_t *msg);
extern uint64_t ps_wire_list_hash(const uint8_t *msg, size_t *list_len);
/*
 * A list of n ascending distinct keys as the format writes listed keys
 * (the first zigzag-encoded, then each one's distance from the one before,
 * varints) into out (room for 10 bytes a key); returns its length.  And
 * reading one of n keys from in[0 .. len - 1]: false if it is malformed,
 * short, does not ascend, or bytes follow.
 */
extern size_t ps_wire_put_key_list(uint8_t *out, const int64_t *keys, size_t n);
extern bool ps_wire_get_key_list(const uint8_t *in, size_t len, int64_t *keys,
								 size_t n);
extern size_t ps_wire_cached_form(const uint8_t *msg, size_t len,
								  uint64_t key_hash, uint8_t *out);

#endif							/* PS_WIRE_H */
