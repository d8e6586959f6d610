/*-------------------------------------------------------------------------
 *
 * ps_wire.c
 *	  The codec of the wire format (see ps_wire.h for the layout).
 *
 * Parsing is two steps so that a server can check limits in between:
 * ps_wire_parse reads the header and finds every section, checking each
 * length against the bytes there (so that nothing is allocated from a
 * count the message cannot back: keys take at least a byte each, dense
 * values four); ps_wire_decode_keys and ps_wire_decode_values then decode
 * into the caller's arrays, checking that the keys ascend without
 * overflow, that the sparse positions ascend inside the vector, and that
 * each section is used up exactly.  Decoding reads bytes one at a time
 * (no unaligned loads), so a message may sit anywhere in memory.
 *
 * Layer 1 (pure code), in src/common: no PostgreSQL header, no allocation.
 *
 *-------------------------------------------------------------------------
 */
#include "ps_wire.h"

#include <string.h>

#define MAX_VALUES 0x7FFFFFFF	/* count * dim fits an int */
#define OFFSET(m, p) ((size_t) ((p) - (m)->base))

static const PsWireCodec *codec = NULL;	/* for PS_WIRE_COMPRESSED */

/* The compressor PS_WIRE_COMPRESSED uses (NULL: such values are refused). */
void
ps_wire_set_codec(const PsWireCodec *c)
{
	codec = c;
}

/* float32s are copied whole where the host is little-endian, as the wire */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HOST_IS_WIRE_ORDER 1
#else
#define HOST_IS_WIRE_ORDER 0
#endif

static inline bool
fail(PsWireError *err, const char *reason, size_t offset)
{
	err->reason = reason;
	err->offset = offset;
	return false;
}

static inline uint16_t
get_u16(const uint8_t *p)
{
	return (uint16_t) (p[0] | (p[1] << 8));
}

static inline uint32_t
get_u32(const uint8_t *p)
{
	return (uint32_t) p[0] | ((uint32_t) p[1] << 8) |
		((uint32_t) p[2] << 16) | ((uint32_t) p[3] << 24);
}

static inline uint64_t
get_u64(const uint8_t *p)
{
	return (uint64_t) get_u32(p) | ((uint64_t) get_u32(p + 4) << 32);
}

static inline float
get_f32(const uint8_t *p)
{
	uint32_t	u = get_u32(p);
	float		f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

static inline uint8_t *
put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t) v;
	p[1] = (uint8_t) (v >> 8);
	return p + 2;
}

static inline uint8_t *
put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) v;
	p[1] = (uint8_t) (v >> 8);
	p[2] = (uint8_t) (v >> 16);
	p[3] = (uint8_t) (v >> 24);
	return p + 4;
}

static inline uint8_t *
put_u64(uint8_t *p, uint64_t v)
{
	put_u32(p, (uint32_t) v);
	return put_u32(p + 4, (uint32_t) (v >> 32));
}

static inline uint8_t *
put_varint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80)
	{
		*p++ = (uint8_t) (v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t) v;
	return p;
}

/*
 * Read a varint from p (before end); returns the byte after it, or NULL
 * if it runs past end or is longer than 10 bytes or 64 bits.
 */
static inline const uint8_t *
get_varint(const uint8_t *p, const uint8_t *end, uint64_t *v)
{
	uint64_t	r = 0;
	int			shift;

	for (shift = 0; shift < 64 && p < end; shift += 7)
	{
		uint8_t		b = *p++;

		if (shift == 63 && b > 1)
			return NULL;		/* more than 64 bits */
		r |= (uint64_t) (b & 0x7F) << shift;
		if ((b & 0x80) == 0)
		{
			*v = r;
			return p;
		}
	}
	return NULL;
}

static inline uint64_t
zigzag(int64_t v)
{
	return ((uint64_t) v << 1) ^ (uint64_t) (v >> 63);
}

static inline int64_t
unzigzag(uint64_t u)
{
	return (int64_t) (u >> 1) ^ -(int64_t) (u & 1);
}

/*
 * Read the header and find the sections of the message buf[0 .. len - 1].
 * Fills m; on a malformed message returns false with err set.
 */
bool
ps_wire_parse(const uint8_t *buf, size_t len, PsWireMsg *m, PsWireError *err)
{
	size_t		off = PS_WIRE_HEADER_SIZE;
	uint64_t	nvals;
	bool		want_keys,
				want_values;

	memset(m, 0, sizeof(PsWireMsg));
	m->base = buf;
	if (len < PS_WIRE_HEADER_SIZE)
		return fail(err, "the message is shorter than its 16-byte header", len);
	if (buf[0] != 'P' || buf[1] != 'S')
		return fail(err, "the message does not start with \"PS\"", 0);
	if (buf[2] != PS_WIRE_VERSION)
		return fail(err, "unknown wire format version", 2);
	m->kind = buf[3];
	if (m->kind < PS_WIRE_PUSH || m->kind > PS_WIRE_VALUES)
		return fail(err, "unknown message kind", 3);
	m->flags = get_u16(buf + 4);
	if (m->flags & ~PS_WIRE_KNOWN_FLAGS)
		return fail(err, "unknown flags", 4);
	if (get_u16(buf + 6) != 0)
		return fail(err, "reserved field is not zero", 6);
	m->count = get_u32(buf + 8);
	m->dim = get_u32(buf + 12);
	want_keys = m->kind != PS_WIRE_VALUES;
	want_values = m->kind != PS_WIRE_PULL;
	if (m->kind == PS_WIRE_VALUES && (m->flags & (PS_WIRE_WORKER | PS_WIRE_RANGE)))
		return fail(err, "a values message has no worker and no keys", 4);
	if ((m->flags & (PS_WIRE_ONCE | PS_WIRE_RESENT)) && m->kind != PS_WIRE_PUSH)
		return fail(err, "only a push carries an exactly-once id", 4);
	if ((m->flags & PS_WIRE_RESENT) && !(m->flags & PS_WIRE_ONCE))
		return fail(err, "a resent push carries its exactly-once id", 4);
	if ((m->flags & (PS_WIRE_ASYNC | PS_WIRE_SYNC)) && m->kind != PS_WIRE_PUSH)
		return fail(err, "only a push is answered before or after its flush", 4);
	if ((m->flags & PS_WIRE_ASYNC) && (m->flags & PS_WIRE_SYNC))
		return fail(err, "a push is answered before its flush or after it, not both", 4);
	if ((m->flags & PS_WIRE_SLACK) && m->kind == PS_WIRE_PUSH)
		return fail(err, "only a pull asks for KKT slacks", 4);
	if ((m->flags & PS_WIRE_SLACK) && m->kind == PS_WIRE_VALUES && m->dim % 2 != 0)
		return fail(err, "values with KKT slacks have an even dim", 12);
	if (m->kind == PS_WIRE_PULL && (m->flags & PS_WIRE_SPARSE))
		return fail(err, "a pull carries no values", 4);
	if ((m->flags & PS_WIRE_COMPRESSED) && (m->flags & PS_WIRE_SPARSE))
		return fail(err, "sparse values are not compressed", 4);
	if ((m->flags & (PS_WIRE_CACHE | PS_WIRE_CACHED)) &&
		(m->kind == PS_WIRE_VALUES || (m->flags & PS_WIRE_RANGE) ||
		 (m->flags & (PS_WIRE_CACHE | PS_WIRE_CACHED)) == (PS_WIRE_CACHE | PS_WIRE_CACHED)))
		return fail(err, "key caching applies to listed keys of a push or pull, one way at a time", 4);
	if (want_values && m->dim == 0 && m->count > 0)
		return fail(err, "dim is 0", 12);
	nvals = (uint64_t) m->count * m->dim;
	if (nvals > MAX_VALUES)
		return fail(err, "count * dim is more than 2^31 - 1 values", 8);

	if (m->flags & PS_WIRE_WORKER)
	{
		if (len - off < 12)
			return fail(err, "the worker section is cut short", off);
		m->worker = (int32_t) get_u32(buf + off);
		m->clock = (int64_t) get_u64(buf + off + 4);
		off += 12;
	}
	if (m->flags & PS_WIRE_ONCE)
	{
		if (len - off < PS_WIRE_ONCE_SIZE)
			return fail(err, "the once section is cut short", off);
		m->once_client = get_u64(buf + off);
		m->once_seq = get_u64(buf + off + 8);
		if (m->once_client == 0)
			return fail(err, "the exactly-once client id is 0", off);
		if (m->once_seq == 0)
			return fail(err, "the exactly-once sequence number is 0", off + 8);
		off += PS_WIRE_ONCE_SIZE;
	}
	if (want_keys && (m->flags & PS_WIRE_RANGE))
	{
		if (len - off < 8)
			return fail(err, "the range is cut short", off);
		m->first = (int64_t) get_u64(buf + off);
		if (m->count > 0 && m->first > INT64_MAX - (int64_t) (m->count - 1))
			return fail(err, "the range runs past the largest bigint", off);
		off += 8;
	}
	else if (want_keys && (m->flags & PS_WIRE_CACHED))
	{
		if (len - off < 8)
			return fail(err, "the hash of the cached keys is cut short", off);
		m->key_hash = get_u64(buf + off);
		off += 8;
	}
	else if (want_keys)
	{
		if (len - off < 4)
			return fail(err, "the length of the keys is cut short", off);
		m->keys_len = get_u32(buf + off);
		off += 4;
		if (m->keys_len > len - off)
			return fail(err, "the keys run past the end of the message", off - 4);
		if (m->keys_len < m->count || (m->count == 0 && m->keys_len > 0))
			return fail(err, "the keys take fewer bytes than there are keys", off - 4);
		m->keys = buf + off;
		off += m->keys_len;
		if (m->flags & PS_WIRE_CACHE)
			m->key_hash = ps_wire_hash(m->keys, m->keys_len, m->count);
	}
	if (want_values && (m->flags & PS_WIRE_SPARSE))
	{
		const uint8_t *p,
				   *end;
		uint64_t	gap;
		uint32_t	i;

		if (len - off < 4)
			return fail(err, "the number of nonzero values is cut short", off);
		m->nnz = get_u32(buf + off);
		off += 4;
		if (m->nnz > nvals)
			return fail(err, "more nonzero values than values", off - 4);
		if ((uint64_t) m->nnz * 5 > len - off)
			return fail(err, "the nonzero values run past the end of the message", off - 4);
		/* the positions end where the nnz float32s that fill the rest begin */
		m->positions = buf + off;
		p = m->positions;
		end = buf + len - (size_t) m->nnz * 4;
		for (i = 0; i < m->nnz; i++)
			if ((p = get_varint(p, end, &gap)) == NULL)
				return fail(err, "a position of a nonzero value is malformed or cut short",
							(size_t) (end - buf));
		m->positions_len = (size_t) (p - m->positions);
		off += m->positions_len;
		m->values = buf + off;
		off += (size_t) m->nnz * 4;
	}
	else if (want_values && (m->flags & PS_WIRE_COMPRESSED))
	{
		if (len - off < 4)
			return fail(err, "the length of the compressed values is cut short", off);
		m->values_len = get_u32(buf + off);
		off += 4;
		if (m->values_len > len - off)
			return fail(err, "the compressed values run past the end of the message", off - 4);
		m->values = buf + off;
		off += m->values_len;
	}
	else if (want_values)
	{
		if (nvals * 4 > len - off)
			return fail(err, "the values run past the end of the message", off);
		m->values = buf + off;
		off += (size_t) nvals * 4;
	}
	if (off != len)
		return fail(err, "bytes follow the last section", off);
	return true;
}

/* Decode the m->count keys of a push or pull into keys[], ascending. */
bool
ps_wire_decode_keys(const PsWireMsg *m, int64_t *keys, PsWireError *err)
{
	const uint8_t *p,
			   *end;
	uint64_t	u;
	int64_t		prev;
	uint32_t	i;

	if (m->flags & PS_WIRE_RANGE)
	{
		for (i = 0; i < m->count; i++)
			keys[i] = m->first + (int64_t) i;
		return true;
	}
	if (m->flags & PS_WIRE_CACHED)
		return fail(err, "the keys are cached, not in the message", 16);
	if (m->count == 0)
		return true;
	p = m->keys;
	end = m->keys + m->keys_len;
	if ((p = get_varint(p, end, &u)) == NULL)
		return fail(err, "the first key is malformed or cut short", OFFSET(m, m->keys));
	keys[0] = prev = unzigzag(u);
	for (i = 1; i < m->count; i++)
	{
		const uint8_t *at = p;

		if ((p = get_varint(p, end, &u)) == NULL)
			return fail(err, "a key is malformed or cut short", OFFSET(m, at));
		if (u == 0)
			return fail(err, "keys repeat or do not ascend", OFFSET(m, at));
		if (u > (uint64_t) INT64_MAX - (uint64_t) prev)
			return fail(err, "a key is beyond the largest bigint", OFFSET(m, at));
		keys[i] = prev = (int64_t) ((uint64_t) prev + u);
	}
	if (p != end)
		return fail(err, "bytes follow the last key", OFFSET(m, p));
	return true;
}

/* Decode the m->count * m->dim values of a push or an answer into vals[]. */
bool
ps_wire_decode_values(const PsWireMsg *m, float *vals, PsWireError *err)
{
	size_t		n = (size_t) m->count * m->dim,
				i;

	if (m->flags & PS_WIRE_COMPRESSED)
	{
		/* into exactly the room count * dim asks for, no more */
		if (codec == NULL)
			return fail(err, "compressed values, and no codec to read them", OFFSET(m, m->values));
		if (n == 0 ? m->values_len != 0 :
			codec->decompress(vals, n * 4, m->values, m->values_len) != n * 4)
			return fail(err, "the compressed values do not decompress to count * dim floats",
						OFFSET(m, m->values));
		if (!HOST_IS_WIRE_ORDER)
			for (i = 0; i < n; i++)
				vals[i] = get_f32((const uint8_t *) &vals[i]);
		return true;
	}
	if (!(m->flags & PS_WIRE_SPARSE))
	{
		if (HOST_IS_WIRE_ORDER && n > 0)
			memcpy(vals, m->values, n * 4);
		else
			for (i = 0; i < n; i++)
				vals[i] = get_f32(m->values + i * 4);
		return true;
	}
	else
	{
		const uint8_t *p = m->positions,
				   *end = m->positions + m->positions_len;
		uint64_t	pos = (uint64_t) -1,
					gap;
		uint32_t	j;

		memset(vals, 0, n * sizeof(float));
		for (j = 0; j < m->nnz; j++)
		{
			const uint8_t *at = p;

			p = get_varint(p, end, &gap);	/* parse checked they are there */
			if (p == NULL || gap >= n || pos + 1 + gap >= n)
				return fail(err, "a position of a nonzero value is beyond the values",
							OFFSET(m, at));
			pos += 1 + gap;
			vals[pos] = get_f32(m->values + (size_t) j * 4);
		}
	}
	return true;
}

/*
 * The most bytes a message of count keys of dim values can take: keys
 * (or none) and dense values (or none).  Sparse values never take more
 * than ps_wire_encode's choice allows: it sends them sparse only if that
 * is smaller.
 */
size_t
ps_wire_bound(uint32_t count, uint32_t dim, bool with_keys, bool with_values)
{
	/* keys: a range's or a hash's 8 bytes, or a length and the varints */
	return PS_WIRE_HEADER_SIZE + 12 + (with_keys ? 8 + (size_t) count * 10 : 0) +
		(with_values ? 4 + (size_t) count * dim * 4 : 0);
}

/*
 * The size of n values sent sparse (nonzero count in *nnz), without the
 * count itself: positions and float32s.
 */
size_t
ps_wire_sparse_size(const float *vals, size_t n, uint32_t *nnz)
{
	size_t		size = 0,
				i,
				last = (size_t) -1;
	uint8_t		tmp[10];

	*nnz = 0;
	for (i = 0; i < n; i++)
		if (vals[i] != 0.0f)
		{
			size += (size_t) (put_varint(tmp, (uint64_t) (i - last - 1)) - tmp) + 4;
			last = i;
			(*nnz)++;
		}
	return size;
}

/*
 * Write a message into out (ps_wire_bound bytes at least) and return its
 * length.  kind: PS_WIRE_PUSH (keys and vals), PS_WIRE_PULL (keys), or
 * PS_WIRE_VALUES (vals).  worker: NULL for none, else the worker and
 * clock.  keys: count ascending distinct keys, or NULL for the range first
 * .. first + count - 1.  sparse: send the values sparse if that is
 * smaller.  The caller guarantees what the parser checks.
 */
size_t
ps_wire_encode(uint8_t *out, int kind, uint32_t count, uint32_t dim,
			   const int32_t *worker, int64_t clock, const int64_t *keys,
			   int64_t first, const float *vals, bool sparse)
{
	uint8_t    *p = out + PS_WIRE_HEADER_SIZE;
	uint16_t	flags = 0;
	size_t		n = (size_t) count * dim,
				i;
	uint32_t	nnz = 0;

	if (worker != NULL)
	{
		flags |= PS_WIRE_WORKER;
		p = put_u32(p, (uint32_t) *worker);
		p = put_u64(p, (uint64_t) clock);
	}
	if (kind != PS_WIRE_VALUES)
	{
		if (keys == NULL)
		{
			flags |= PS_WIRE_RANGE;
			p = put_u64(p, (uint64_t) first);
		}
		else
		{
			uint8_t    *lenp = p;

			p += 4;
			if (count > 0)
				p = put_varint(p, zigzag(keys[0]));
			for (i = 1; i < count; i++)
				p = put_varint(p, (uint64_t) keys[i] - (uint64_t) keys[i - 1]);
			put_u32(lenp, (uint32_t) (p - lenp - 4));
		}
	}
	if (kind != PS_WIRE_PULL)
	{
		/* a nonzero value takes 5 bytes sparse at least: count them first */
		if (sparse)
		{
			size_t		nonzero = 0;

			for (i = 0; i < n; i++)
				nonzero += vals[i] != 0.0f;
			sparse = nonzero * 5 + 4 < n * 4;
		}
		if (sparse && ps_wire_sparse_size(vals, n, &nnz) + 4 < n * 4)
		{
			size_t		last = (size_t) -1;
			uint8_t    *fp;

			flags |= PS_WIRE_SPARSE;
			p = put_u32(p, nnz);
			for (i = 0; i < n; i++)
				if (vals[i] != 0.0f)
				{
					p = put_varint(p, (uint64_t) (i - last - 1));
					last = i;
				}
			fp = p;
			for (i = 0; i < n; i++)
				if (vals[i] != 0.0f)
				{
					uint32_t	u;

					memcpy(&u, &vals[i], 4);
					fp = put_u32(fp, u);
				}
			p = fp;
		}
		else if (HOST_IS_WIRE_ORDER)
		{
			if (n > 0)
				memcpy(p, vals, n * 4);
			p += n * 4;
		}
		else
		{
			for (i = 0; i < n; i++)
			{
				uint32_t	u;

				memcpy(&u, &vals[i], 4);
				p = put_u32(p, u);
			}
		}
	}
	out[0] = 'P';
	out[1] = 'S';
	out[2] = PS_WIRE_VERSION;
	out[3] = (uint8_t) kind;
	put_u16(out + 4, flags);
	put_u16(out + 6, 0);
	put_u32(out + 8, count);
	put_u32(out + 12, dim);
	return (size_t) (p - out);
}

/*
 * The hash that names a key list in the cache: of the list's encoded
 * bytes (the varints, as sent) and its count.  64 bits, not
 * cryptographic: a session only ever finds its own lists by it.
 */
uint64_t
ps_wire_hash(const uint8_t *p, size_t len, uint32_t count)
{
	uint64_t	h = 0x9E3779B97F4A7C15ULL ^ ((uint64_t) count * 0xC2B2AE3D27D4EB4FULL);
	size_t		i = 0;

	for (; i + 8 <= len; i += 8)
	{
		h ^= get_u64(p + i) * 0x87C37B91114253D5ULL;
		h = (h << 31 | h >> 33) * 0x4CF5AD432745937FULL;
	}
	for (; i < len; i++)
	{
		h ^= (uint64_t) p[i] * 0xFF51AFD7ED558CCDULL;
		h = (h << 23 | h >> 41) * 0x9E3779B97F4A7C15ULL;
	}
	h ^= h >> 33;
	h *= 0xFF51AFD7ED558CCDULL;
	h ^= h >> 33;
	h *= 0xC4CEB9FE1A85EC53ULL;
	return h ^ (h >> 33);
}

/*
 * Where the keys section of a push or pull begins: after the header, the
 * worker section and the once section.
 */
size_t
ps_wire_keys_offset(const uint8_t *msg)
{
	return ps_wire_once_offset(msg) +
		((get_u16(msg + 4) & PS_WIRE_ONCE) ? PS_WIRE_ONCE_SIZE : 0);
}

/*
 * The hash of the key list of msg, a push or pull of listed keys, and the
 * list's length in bytes (*list_len).
 */
uint64_t
ps_wire_list_hash(const uint8_t *msg, size_t *list_len)
{
	size_t		at = ps_wire_keys_offset(msg);

	*list_len = get_u32(msg + at);
	return ps_wire_hash(msg + at + 4, *list_len, get_u32(msg + 8));
}

/*
 * msg (len bytes, a push or pull of listed keys) with its key list
 * replaced by key_hash, the list's hash, and flag PS_WIRE_CACHE by
 * PS_WIRE_CACHED: the message to send once the server holds the list.
 * out holds len bytes at least; returns the length written.
 */
size_t
ps_wire_cached_form(const uint8_t *msg, size_t len, uint64_t key_hash,
					uint8_t *out)
{
	size_t		at = ps_wire_keys_offset(msg);
	size_t		list = 4 + (size_t) get_u32(msg + at);

	memcpy(out, msg, at);
	put_u64(out + at, key_hash);
	memcpy(out + at + 8, msg + at + list, len - at - list);
	put_u16(out + 4, (uint16_t) ((get_u16(msg + 4) & ~PS_WIRE_CACHE) | PS_WIRE_CACHED));
	return len - list + 8;
}

/*
 * Where a message's once section goes (and, without one, its keys begin):
 * after the header and the worker section.
 */
size_t
ps_wire_once_offset(const uint8_t *msg)
{
	return PS_WIRE_HEADER_SIZE + ((get_u16(msg + 4) & PS_WIRE_WORKER) ? 12 : 0);
}

/* Set flags that change no section's layout (PS_WIRE_SLACK) in a message. */
void
ps_wire_add_flags(uint8_t *msg, uint16_t flags)
{
	put_u16(msg + 4, (uint16_t) (get_u16(msg + 4) | flags));
}

/*
 * Give a push an exactly-once id.  out + PS_WIRE_ONCE_SIZE holds a push
 * of len bytes without one (encoded there, so that nothing but its header
 * and worker section moves); the push with the once section is written
 * at out.  Returns its length.
 */
size_t
ps_wire_insert_once(uint8_t *out, size_t len, uint64_t client, uint64_t seq)
{
	const uint8_t *in = out + PS_WIRE_ONCE_SIZE;
	size_t		at = ps_wire_once_offset(in);

	memmove(out, in, at);
	put_u64(out + at, client);
	put_u64(out + at + 8, seq);
	put_u16(out + 4, (uint16_t) (get_u16(out + 4) | PS_WIRE_ONCE));
	return len + PS_WIRE_ONCE_SIZE;
}

/*
 * The message msg[0 .. len - 1] (a push or values, dense values) with its
 * values compressed, written into out (cap bytes); returns its length, or
 * 0 if it is not smaller, or there is no codec or nothing to compress.
 */
size_t
ps_wire_compress(const uint8_t *msg, size_t len, uint8_t *out, size_t cap)
{
	PsWireMsg	m;
	PsWireError err;
	size_t		head,
				clen,
				n;

	if (codec == NULL || !ps_wire_parse(msg, len, &m, &err) ||
		m.kind == PS_WIRE_PULL || (m.flags & (PS_WIRE_SPARSE | PS_WIRE_COMPRESSED)))
		return 0;
	n = (size_t) m.count * m.dim * 4;
	head = (size_t) (m.values - msg);
	if (n == 0 || cap < head + 4 + 1)
		return 0;
	clen = codec->compress(out + head + 4, cap - head - 4, m.values, n);
	if (clen == 0 || head + 4 + clen >= len)
		return 0;
	memcpy(out, msg, head);
	put_u16(out + 4, (uint16_t) (m.flags | PS_WIRE_COMPRESSED));
	put_u32(out + head, (uint32_t) clen);
	return head + 4 + clen;
}

size_t
ps_wire_put_key_list(uint8_t *out, const int64_t *keys, size_t n)
{
	uint8_t    *p = out;
	size_t		i;

	if (n == 0)
		return 0;
	p = put_varint(p, zigzag(keys[0]));
	for (i = 1; i < n; i++)
		p = put_varint(p, (uint64_t) keys[i] - (uint64_t) keys[i - 1]);
	return (size_t) (p - out);
}

bool
ps_wire_get_key_list(const uint8_t *in, size_t len, int64_t *keys, size_t n)
{
	const uint8_t *p = in,
			   *end = in + len;
	uint64_t	u;
	int64_t		prev;
	size_t		i;

	if (n == 0)
		return len == 0;
	if ((p = get_varint(p, end, &u)) == NULL)
		return false;
	keys[0] = prev = unzigzag(u);
	for (i = 1; i < n; i++)
	{
		if ((p = get_varint(p, end, &u)) == NULL || u == 0 ||
			u > (uint64_t) INT64_MAX - (uint64_t) prev)
			return false;
		keys[i] = prev = (int64_t) ((uint64_t) prev + u);
	}
	return p == end;
}
