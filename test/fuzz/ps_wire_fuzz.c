/*
 * ps_wire_fuzz.c
 *	  libFuzzer target for the wire format's decoder (src/common/ps_wire.c),
 *	  built with AddressSanitizer and UndefinedBehaviorSanitizer by
 *	  test/t/019_fuzz.pl, which runs it for a bounded time from the seed
 *	  corpus in test/fuzz/corpus.
 *
 * For any input: parsing must not read outside it; a message that parses
 * must decode without reading or writing outside its arrays (sized, as the
 * server sizes them, from the parsed counts); and a message that decodes
 * must come out the same when encoded again and decoded again (keys,
 * values, kind, worker, clock, exactly-once id), or the fuzzer aborts with
 * the input.
 *
 * To run it longer than the test does (README, "Tests"):
 *	 clang-14 -g -O1 -fsanitize=fuzzer,address,undefined -Isrc/common \
 *		 test/fuzz/ps_wire_fuzz.c src/common/ps_wire.c -lzstd -o /tmp/ps_wire_fuzz
 *	 mkdir -p /tmp/corpus && /tmp/ps_wire_fuzz /tmp/corpus test/fuzz/corpus \
 *		 -max_total_time=3600
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "ps_wire.h"

#define MAX_VALUES (1 << 16)	/* what the target allocates at most */

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* zstd, as the server and the library use it, so that frames are fuzzed too */
static size_t
zbound(size_t n)
{
	return ZSTD_compressBound(n);
}

static size_t
zcompress(void *dst, size_t cap, const void *src, size_t n)
{
	size_t		r = ZSTD_compress(dst, cap, src, n, 1);

	return ZSTD_isError(r) ? 0 : r;
}

static size_t
zdecompress(void *dst, size_t n, const void *src, size_t len)
{
	size_t		r = ZSTD_decompress(dst, n, src, len);

	return ZSTD_isError(r) ? (size_t) -1 : r;
}

static const PsWireCodec zstd_codec = {zbound, zcompress, zdecompress};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	PsWireMsg	m,
				m2;
	PsWireError err;
	size_t		nvals;
	int64_t    *keys = NULL,
			   *keys2 = NULL;
	float	   *vals = NULL,
			   *vals2 = NULL;
	uint8_t    *again;
	size_t		len;
	int32_t		worker;

	ps_wire_set_codec(&zstd_codec);
	if (!ps_wire_parse(data, size, &m, &err))
	{
		if (err.reason == NULL || err.offset > size)
			abort();			/* a refusal must say why, and where */
		return 0;
	}
	nvals = (size_t) m.count * m.dim;
	if (nvals > MAX_VALUES || m.count > MAX_VALUES)
		return 0;				/* the server's ps.max_request_keys stops these */
	if (m.kind != PS_WIRE_VALUES)
	{
		keys = malloc(sizeof(int64_t) * (m.count ? m.count : 1));
		if (!ps_wire_decode_keys(&m, keys, &err))
			goto done;
	}
	if (m.kind != PS_WIRE_PULL)
	{
		vals = malloc(sizeof(float) * (nvals ? nvals : 1));
		if (!ps_wire_decode_values(&m, vals, &err))
			goto done;
	}

	/* encode what was decoded, decode it again: the same message */
	worker = m.worker;
	again = malloc(PS_WIRE_ONCE_SIZE + ps_wire_bound(m.count, m.dim, true, true));
	len = ps_wire_encode(again + PS_WIRE_ONCE_SIZE, m.kind, m.count, m.dim,
						 (m.flags & PS_WIRE_WORKER) ? &worker : NULL, m.clock,
						 (m.flags & PS_WIRE_RANGE) ? NULL : keys, m.first, vals, true);
	if (m.flags & PS_WIRE_ONCE)
		len = ps_wire_insert_once(again, len, m.once_client, m.once_seq);
	else
		memmove(again, again + PS_WIRE_ONCE_SIZE, len);
	if (!ps_wire_parse(again, len, &m2, &err))
		abort();
	if (m2.kind != m.kind || m2.count != m.count || m2.dim != m.dim ||
		m2.worker != m.worker || m2.clock != m.clock ||
		m2.once_client != m.once_client || m2.once_seq != m.once_seq)
		abort();
	if (keys)
	{
		keys2 = malloc(sizeof(int64_t) * (m.count ? m.count : 1));
		if (!ps_wire_decode_keys(&m2, keys2, &err) ||
			memcmp(keys, keys2, sizeof(int64_t) * m.count) != 0)
			abort();
	}
	if (vals)
	{
		size_t		i;

		vals2 = malloc(sizeof(float) * (nvals ? nvals : 1));
		if (!ps_wire_decode_values(&m2, vals2, &err))
			abort();
		/* -0 may come back as 0, NaN payloads as they were */
		for (i = 0; i < nvals; i++)
			if (memcmp(&vals[i], &vals2[i], 4) != 0 && !(vals[i] == 0 && vals2[i] == 0))
				abort();
	}
	free(again);
done:
	free(keys);
	free(keys2);
	free(vals);
	free(vals2);
	return 0;
}
