/*-------------------------------------------------------------------------
 *
 * ps_keyorder.h
 *	  The client library's memory of the order of recent key lists.
 *
 * Layer 11 (client library), in src/client; for the library's files only.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_KEYORDER_H
#define PS_KEYORDER_H

#include <stddef.h>
#include <stdint.h>

/*
 * The order of a request's keys: the distinct keys
 * ascending, ukeys[0 .. m - 1], and for each key asked, its index there,
 * slot[0 .. n - 1] (NULL: the keys asked ascend already, ukeys are they).
 * The last few lists are remembered with a copy of the keys asked (raw),
 * so that a list sent again is not sorted again.
 */
typedef struct KeyOrder
{
	int64_t    *raw;
	size_t		n;
	uint32_t	m;
	const int64_t *ukeys;
	int32_t    *slot;
	int64_t    *own_ukeys;		/* what to free */
} KeyOrder;

#define PS_CLIENT_ORDERS 4		/* key lists whose order is remembered */
#define PS_CLIENT_ORDER_BYTES (64 * 1024 * 1024)	/* at most, together */

typedef struct KeyOrders
{
	KeyOrder	orders[PS_CLIENT_ORDERS + 1];	/* remembered; the last: one not */
	int			next;			/* which to replace next */
	size_t		bytes;
} KeyOrders;

extern const KeyOrder *key_order(KeyOrders *ko, const int64_t *keys, size_t n);
extern void key_orders_free(KeyOrders *ko);

#endif							/* PS_KEYORDER_H */
