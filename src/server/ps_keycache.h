/*-------------------------------------------------------------------------
 *
 * ps_keycache.h
 *	  The session's cache of key lists sent in the wire format.
 *
 * Layer 7 (training services).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_KEYCACHE_H
#define PS_KEYCACHE_H

#include "c.h"

/*
 * What a list costs against ps.key_cache_size beyond its 8 bytes a key
 * (its hash entry and allocation headers); the client library's mirror
 * (src/client/ps_keymirror.c) counts the same.
 */
#define PS_KEYCACHE_ENTRY_BYTES 96

extern void ps_keycache_put(uint64 hash, const int64 *keys, uint32 count);
extern const int64 *ps_keycache_get(uint64 hash, uint32 count);

#endif							/* PS_KEYCACHE_H */
