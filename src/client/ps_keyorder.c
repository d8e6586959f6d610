/*-------------------------------------------------------------------------
 *
 * ps_keyorder.c
 *	  The client library's memory of the order of recent key lists: the
 *	  wire format carries keys ascending and distinct, so each request's
 *	  keys are sorted (src/common's radix sort) and each asked key's place
 *	  among the distinct ones noted.  A worker sends the same list again and
 *	  again; profiled, sorting 1M keys took half of a 1M-key push's time.
 *	  So the last PS_CLIENT_ORDERS lists are remembered with a copy of the
 *	  keys (found again by comparing them whole, not by a hash), about 20
 *	  bytes a key and PS_CLIENT_ORDER_BYTES at most together.
 *
 * Layer 11 (client library), in src/client: plain C, using src/common.
 *
 *-------------------------------------------------------------------------
 */
#include "ps_keyorder.h"

#include "ps_client_alloc.h"

#include <stdlib.h>
#include <string.h>

#include "ps_keys.h"

static const PsKeysAlloc keys_malloc = {ps_client_malloc, free};

static size_t
order_size(const KeyOrder *o)
{
	return o->raw ? o->n * (8 + 4) + (size_t) o->m * 8 : 0;
}

static void
free_order(KeyOrder *o)
{
	free(o->raw);
	free(o->slot);
	free(o->own_ukeys);
	memset(o, 0, sizeof(KeyOrder));
}

void
key_orders_free(KeyOrders *ko)
{
	int			i;

	for (i = 0; i <= PS_CLIENT_ORDERS; i++)
		free_order(&ko->orders[i]);
	ko->bytes = 0;
}

/*
 * The order of keys[0 .. n - 1] (not ascending distinct): found among the
 * remembered lists (the same keys, compared whole), or worked out with
 * the radix sort and remembered, forgetting the oldest lists until all
 * fit in PS_CLIENT_ORDER_BYTES, oldest first (a list larger than that is
 * kept in a slot of its own until the next such list, or the close).
 */
const KeyOrder *
key_order(KeyOrders *ko, const int64_t *keys, size_t n)
{
	KeyOrder	o,
			   *dst;
	int32_t    *perm;
	int64_t    *sorted;
	size_t		i;
	int			j;

	for (j = 0; j <= PS_CLIENT_ORDERS; j++)
		if (ko->orders[j].raw && ko->orders[j].n == n &&
			memcmp(ko->orders[j].raw, keys, n * sizeof(int64_t)) == 0)
			return &ko->orders[j];

	memset(&o, 0, sizeof(o));
	o.n = n;
	perm = ps_client_malloc(sizeof(int32_t) * n);
	sorted = ps_client_malloc(sizeof(int64_t) * n);
	o.slot = ps_client_malloc(sizeof(int32_t) * n);
	ps_sort_keys(&keys_malloc, keys, (int) n, sorted, perm);
	for (i = 0; i < n; i++)
	{
		if (o.m == 0 || sorted[i] != sorted[o.m - 1])
			sorted[o.m++] = sorted[i];
		o.slot[perm[i]] = (int32_t) (o.m - 1);
	}
	free(perm);
	o.ukeys = o.own_ukeys = sorted;
	o.raw = ps_client_malloc(sizeof(int64_t) * n);
	memcpy(o.raw, keys, sizeof(int64_t) * n);

	if (order_size(&o) > PS_CLIENT_ORDER_BYTES)
	{
		/* too large to remember with the others: a slot of its own */
		dst = &ko->orders[PS_CLIENT_ORDERS];
		free_order(dst);
	}
	else
	{
		/* forget the oldest lists, in turn, until it fits */
		for (;;)
		{
			dst = &ko->orders[ko->next];
			ko->bytes -= order_size(dst);
			free_order(dst);
			if (ko->bytes + order_size(&o) <= PS_CLIENT_ORDER_BYTES)
				break;
			ko->next = (ko->next + 1) % PS_CLIENT_ORDERS;
		}
		ko->bytes += order_size(&o);
		ko->next = (ko->next + 1) % PS_CLIENT_ORDERS;
	}
	*dst = o;
	return dst;
}

