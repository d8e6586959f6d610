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

extern void ps_keycache_put(uint64 hash, const int64 *keys, uint32 count);
extern const int64 *ps_keycache_get(uint64 hash, uint32 count);

#endif							/* PS_KEYCACHE_H */
