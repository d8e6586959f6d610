/*-------------------------------------------------------------------------
 *
 * ps_client_send.c
 *	  Putting the client library's tasks on the wire: the tail of the queue
 *	  of tasks in flight, the key cache (a repeated key list goes as its
 *	  hash), compression, and the number of a push sent again as new.
 *
 * Layer 11 (client library), in src/client, under ps_client.c: sends,
 * never reads answers or reconnects (ps_client.c does, when a send here
 * fails).
 *
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>
#include <string.h>

#include "ps_client_alloc.h"
#include "ps_client_int.h"
#include "ps_wire.h"

/* Send one message as a query and its sync point. */
static bool
send_query(struct PsClient *c, bool pull, const char *table, const uint8_t *msg, size_t len)
{
	const char *values[2] = {table, (const char *) msg};
	int			lengths[2] = {0, (int) len};
	int			formats[2] = {0, 1};

	return PQsendQueryParams(c->sess.conn, pull ? c->sess.pull_sql : c->sess.push_sql,
							 2, NULL, values, lengths, formats, 1) &&
		PQpipelineSync(c->sess.conn);
}

/* Put a task at the tail of the queue. */
void
task_enqueue(struct PsClient *c, const Task *t)
{
	if (c->qlen == c->qcap)
	{
		size_t		cap = c->qcap ? 2 * c->qcap : 64,
					i;
		Task	   *q = ps_client_malloc(sizeof(Task) * cap);

		for (i = 0; i < c->qlen; i++)
			q[i] = c->queue[(c->qhead + i) % c->qcap];
		free(c->queue);
		c->queue = q;
		c->qhead = 0;
		c->qcap = cap;
	}
	c->queue[(c->qhead + c->qlen) % c->qcap] = *t;
	c->qlen++;
}

static inline uint32_t
get_u32(const uint8_t *p)
{
	return (uint32_t) p[0] | ((uint32_t) p[1] << 8) | ((uint32_t) p[2] << 16) |
		((uint32_t) p[3] << 24);
}

/*
 * Send a task's message (t->msg), using the key cache for listed keys
 * (unless full: then the keys go, and the server is to remember them),
 * compressed if the client says so.  Returns false if the connection is
 * lost.
 */
bool
task_transmit(struct PsClient *c, Task *t, bool full)
{
	uint8_t    *msg = t->msg;
	const uint8_t *send = msg;
	size_t		send_len = t->msg_len;
	uint8_t    *alt = NULL;
	uint16_t	flags = (uint16_t) (msg[4] | (msg[5] << 8));
	uint32_t	count = get_u32(msg + 8);
	bool		ok;

	t->cached = false;
	if (c->mirror.budget > 0 && !(flags & PS_WIRE_RANGE) && count > 0 && !t->fixed_id)
	{
		size_t		klen;

		t->key_hash = ps_wire_list_hash(msg, &klen);
		t->key_count = count;
		if (klen + 4 > 8)
		{
			msg[4] |= PS_WIRE_CACHE;
			if (!full && mirror_get(&c->mirror, t->key_hash, count))
			{
				/* the same message with the list's hash in place of the list */
				alt = ps_client_malloc(t->msg_len);
				send_len = ps_wire_cached_form(msg, t->msg_len, t->key_hash, alt);
				send = alt;
				t->cached = true;
				c->key_bytes_saved += t->msg_len - send_len;
			}
			else
				mirror_put(&c->mirror, t->key_hash, count);
		}
	}
	if (c->compress && t->pull)
	{
		/* ask for the answer compressed */
		msg[4] |= PS_WIRE_COMPRESSED;
		if (alt)
			alt[4] |= PS_WIRE_COMPRESSED;
	}
	else if (c->compress)
	{
		/* the values compressed, if that is smaller */
		uint8_t    *packed = ps_client_malloc(send_len + 64);
		size_t		plen = ps_wire_compress(send, send_len, packed, send_len + 64);

		if (plen > 0)
		{
			c->compressed_saved += send_len - plen;
			free(alt);
			alt = packed;
			send = packed;
			send_len = plen;
		}
		else
			free(packed);
	}
	ok = send_query(c, t->pull, t->table, send, send_len);
	if (ok)
		c->bytes_sent += send_len;
	free(alt);
	return ok;
}

/*
 * A push the server refused without applying it (its cached keys missed)
 * goes again as a new push: the next number, not marked as sent again.
 */
void
task_renumber(struct PsClient *c, Task *t)
{
	size_t		at = ps_wire_once_offset(t->msg) + 8;
	uint64_t	seq = ++c->last_seq;
	int			b;

	for (b = 0; b < 8; b++)
		t->msg[at + b] = (uint8_t) (seq >> (8 * b));
	t->msg[4] &= (uint8_t) ~PS_WIRE_RESENT;
}

/*
 * The next push of c goes under exactly-once id (client, seq), flagged as
 * sent again: a push another node may have applied and replicated before
 * it failed, which the replicas' records then know (ps_client_route.c).
 */
void
ps_node_resend_as(struct PsClient *c, uint64_t client, uint64_t seq)
{
	c->as_client = client;
	c->as_seq = seq;
}

/*
 * The server of a connection lost for good answers again: the next task
 * reconnects, with the whole budget of attempts.
 */
void
ps_node_revive(struct PsClient *c)
{
	c->broken = false;
	c->recoveries = 0;
}
