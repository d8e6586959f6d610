/*-------------------------------------------------------------------------
 *
 * ps_sql_msg.c
 *	  The binary entry points: ps_push_msg and ps_pull_msg take pushes and
 *	  pulls in the wire format of src/common/ps_wire.h (the client
 *	  library's), so that no request pays for PostgreSQL's array input and
 *	  output.
 *
 * Layer 9 (SQL entry points).  A message is checked whole before anything
 * changes: ps_wire_parse checks its layout against its length, the
 * request's size is checked against ps.max_request_keys before anything
 * is allocated from its counts, the keys are decoded (they must ascend;
 * the session's key cache is used or filled here, first), then the
 * privileges and the table, the values (finite), and only then does the push go the way
 * of every push (ps_sql_push: the worker's clock, the update rule, the
 * scheduler's queue or the backend itself).  Privileges are those of
 * ps_push and ps_pull: UPDATE to push, SELECT to pull (and UPDATE for a
 * worker's pull), checked before the table is locked.
 *
 * A push may carry an exactly-once id: under a claim on its client in the
 * queue, the table's record of the client (ps_once.c) says whether it was
 * applied, how far it got, or that it is new (push_once_claimed).  A push
 * may be answered once applied, its WAL flushed in the background, and a
 * later push (flag PS_WIRE_SYNC) answered once the session's WAL is
 * flushed: so the client library's pushes share flushes.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>
#include <zstd.h>

#include "access/relation.h"
#include "access/xlog.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "ps_base.h"
#include "ps_config.h"
#include "ps_dir.h"
#include "ps_keycache.h"
#include "ps_once.h"
#include "ps_queue.h"
#include "ps_sql.h"
#include "ps_store.h"
#include "ps_table.h"
#include "ps_wire.h"
#include "ps_workers.h"

/* a cached key list the session does not hold (class PS: ps's own) */
#define ERRCODE_PS_KEYS_NOT_CACHED MAKE_SQLSTATE('P','S','0','0','1')
/* a resent push the table keeps no exactly-once record of */
#define ERRCODE_PS_ONCE_UNKNOWN MAKE_SQLSTATE('P','S','0','0','2')

PG_FUNCTION_INFO_V1(ps_push_msg);

PG_FUNCTION_INFO_V1(ps_pull_msg);

static const char *const kind_names[] = {"", "push", "pull", "values"};

/* the message's cached keys were not there (its error is PS001) */
static bool keys_missed = false;

static uint64 push_msg(FunctionCallInfo fcinfo, const PsWireMsg *mp);

/*
 * zstd at level 1 for PS_WIRE_COMPRESSED (chosen by measurement: README,
 * "Compression: which codec").  Decompression writes into exactly the
 * count * dim floats the request was allowed, so a small message cannot
 * expand past ps.max_request_keys.
 */
static size_t
zstd_bound(size_t n)
{
	return ZSTD_compressBound(n);
}

static size_t
zstd_compress(void *dst, size_t cap, const void *src, size_t n)
{
	size_t		r = ZSTD_compress(dst, cap, src, n, 1);

	return ZSTD_isError(r) ? 0 : r;
}

static size_t
zstd_decompress(void *dst, size_t n, const void *src, size_t len)
{
	size_t		r = ZSTD_decompress(dst, n, src, len);

	return ZSTD_isError(r) ? (size_t) -1 : r;
}

static const PsWireCodec zstd_codec = {zstd_bound, zstd_compress, zstd_decompress};

static void
malformed(FunctionCallInfo fcinfo, const PsWireError *err)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
			 errmsg("%s: malformed message: %s",
					get_func_name(fcinfo->flinfo->fn_oid), err->reason),
			 errdetail("At byte %zu of the message.", err->offset),
			 errhint("Encode messages with the ps client library (ps_client.h), or as README's \"Wire format\" describes.")));
}

/*
 * The message argument, parsed (nothing decoded yet); it must be of the
 * given kind.
 */
static void
message_arg(FunctionCallInfo fcinfo, int kind, PsWireMsg *m)
{
	bytea	   *msg;
	PsWireError err;

	ps_arg_not_null(fcinfo, 1, "the message");
	ps_wire_set_codec(&zstd_codec);
	msg = PG_GETARG_BYTEA_PP(1);
	if (!ps_wire_parse((const uint8 *) VARDATA_ANY(msg), VARSIZE_ANY_EXHDR(msg),
					   m, &err))
		malformed(fcinfo, &err);
	if (m->kind != kind)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("%s takes a %s message, not a %s message",
						get_func_name(fcinfo->flinfo->fn_oid), kind_names[kind],
						kind_names[m->kind]),
				 errhint("Pushes go to ps_push_msg, pulls to ps_pull_msg.")));
}

/*
 * The message's keys: decoded (and, with PS_WIRE_CACHE, remembered for
 * the session), or found in the session's cache (PS_WIRE_CACHED; a miss
 * is an error of its own SQLSTATE, which the client library answers by
 * sending the keys); NULL for a range.  Called first thing after the
 * message is parsed and its count checked, before anything else can fail,
 * so that the session's cache changes with every message the client sent,
 * as the client library's mirror of it assumes.
 */
static const int64 *
message_keys(FunctionCallInfo fcinfo, const PsWireMsg *m)
{
	int64	   *keys;
	const int64 *cached;
	PsWireError err;

	if (m->flags & PS_WIRE_RANGE)
		return NULL;
	if (m->flags & PS_WIRE_CACHED)
	{
		if (m->count == 0)
			return NULL;
		cached = ps_keycache_get(m->key_hash, m->count);
		if (cached == NULL)
		{
			keys_missed = true;
			ereport(ERROR,
					(errcode(ERRCODE_PS_KEYS_NOT_CACHED),
					 errmsg("%s: the key list %016llx of %u keys is not in this session's cache",
							get_func_name(fcinfo->flinfo->fn_oid),
							(unsigned long long) m->key_hash, m->count),
					 errdetail("The session keeps ps.key_cache_size of key lists (now %d kB), least recently used first out.",
							   ps_key_cache_size),
					 errhint("Send the keys again, with the cache flag; the client library does this by itself.")));
		}
		return cached;
	}
	keys = palloc(sizeof(int64) * Max(m->count, 1));
	if (!ps_wire_decode_keys(m, keys, &err))
		malformed(fcinfo, &err);
	if (m->flags & PS_WIRE_CACHE)
		ps_keycache_put(m->key_hash, keys, m->count);
	return keys;
}

/*
 * The first of n sorted keys (NULL: the range first ..) at or above key;
 * only a push resumed after a lost connection asks, so a scan will do.
 */
static int
first_at_or_above(const int64 *keys, int64 first, int n, int64 key)
{
	int			i = 0;

	if (keys == NULL)
		return key <= first ? 0 :
			(int) Min((uint64) n, (uint64) key - (uint64) first);
	while (i < n && keys[i] < key)
		i++;
	return i;
}

/*
 * Pushes with exactly-once ids that failed in this session and that no
 * later push of their client to their table has recorded yet: the next
 * one records them as unfinished, so that, sent again, they are not taken
 * for applied.
 */
typedef struct FailedPush
{
	Oid			dbid;
	Oid			relid;
	uint64		client;
	uint64		seq;
} FailedPush;

#define PS_MAX_FAILED 1024		/* failures a session remembers */

static FailedPush *failed_pushes = NULL;
static int	nfailed = 0;
static int	failed_cap = 0;

static void
remember_failure(Oid relid, uint64 client, uint64 seq)
{
	if (nfailed == PS_MAX_FAILED)
	{
		/* the oldest goes (a session whose pushes keep failing) */
		memmove(failed_pushes, failed_pushes + 1, sizeof(FailedPush) * (nfailed - 1));
		nfailed--;
	}
	if (nfailed == failed_cap)
	{
		failed_cap = failed_cap ? 2 * failed_cap : 16;
		failed_pushes = failed_pushes ?
			repalloc(failed_pushes, sizeof(FailedPush) * failed_cap) :
			MemoryContextAlloc(TopMemoryContext, sizeof(FailedPush) * failed_cap);
	}
	failed_pushes[nfailed].dbid = MyDatabaseId;
	failed_pushes[nfailed].relid = relid;
	failed_pushes[nfailed].client = client;
	failed_pushes[nfailed].seq = seq;
	nfailed++;
}

/* Forget the failures of client's pushes to relid up to seq upto. */
static void
forget_failures(Oid relid, uint64 client, uint64 upto)
{
	int			i,
				k = 0;

	for (i = 0; i < nfailed; i++)
	{
		FailedPush *f = &failed_pushes[i];

		if (!(f->dbid == MyDatabaseId && f->relid == relid &&
			  f->client == client && f->seq <= upto))
			failed_pushes[k++] = *f;
	}
	nfailed = k;
}

/*
 * Record an earlier push (seq) that did not finish, written below next,
 * in the record b: in its one place for that, or, if that is taken, as
 * doubt about the older of the two.
 */
static void
add_unfinished(PsOnceEntry *b, uint64 seq, int64 next)
{
	if (seq == 0 || seq == b->unfinished_seq)
		return;
	if (b->unfinished_seq == 0)
	{
		b->unfinished_seq = seq;
		b->unfinished_next = next;
	}
	else if (seq > b->unfinished_seq)
	{
		b->doubt_upto = Max(b->doubt_upto, b->unfinished_seq);
		b->unfinished_seq = seq;
		b->unfinished_next = next;
	}
	else
		b->doubt_upto = Max(b->doubt_upto, seq);
}

static void
cannot_tell(Relation rel, const PsWireMsg *m, const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_PS_ONCE_UNKNOWN),
			 errmsg("ps_push_msg: cannot tell whether push " UINT64_FORMAT " of client %016llx was applied to \"%s\"",
					m->once_seq, (unsigned long long) m->once_client,
					RelationGetRelationName(rel)),
			 errdetail("%s", why),
			 errhint("Check the table's values before pushing it again.")));
}

/*
 * A push with an exactly-once id (client, seq R), under the client's
 * claim: what the table's record of the client says was applied of it is
 * not applied again.  A client's pushes to a table run one after the
 * other, and a push that failed is recorded as unfinished by the next one
 * recorded (if it failed in this session, or wrote part of itself); so:
 *
 *	 R the record's push: complete, applied; else resumed where it stopped;
 *	 R its unfinished push: resumed where that stopped;
 *	 R below the record's push: applied, unless at or below its doubt (two
 *	   pushes unfinished at once): then nobody can tell, an error;
 *	 R above it, or no record: a new push, which records the pushes before
 *	   it that did not finish.
 *
 * An applied push is made durable (its WAL may not be flushed yet, if the
 * backend that applied it was cut off) and not applied again.  Without a
 * record, a push sent again to a table that gave records of other clients
 * away may be one whose record went: an error rather than a guess.  (A
 * client numbers its pushes across tables, so a number above 1 says
 * nothing about this table.)
 */
static uint64
push_once_claimed(FunctionCallInfo fcinfo, Relation rel, const PsWireMsg *m,
				  const int64 *keys, const float4 *vals, int dim)
{
	PsOnceEntry e;
	PsOnceMark	mark;
	uint64		evictions = 0,
				r = m->once_seq;
	XLogRecPtr	lsn = InvalidXLogRecPtr;
	bool		found = false,
				applied = false;
	int			n = (int) m->count,
				skip = 0,
				i;

	if (ps_has_storage(rel))
		found = ps_once_lookup(rel, m->once_client, &e, &evictions, &lsn);
	memset(&mark, 0, sizeof(mark));
	if (found && r == e.seq)
	{
		skip = e.complete ? n : first_at_or_above(keys, m->first, n, e.next_key);
		applied = skip == n;
		mark.base = e;
	}
	else if (found && r == e.unfinished_seq)
	{
		skip = first_at_or_above(keys, m->first, n, e.unfinished_next);
		applied = skip == n;
		mark.base = e;
		mark.resumes = true;
	}
	else if (found && r < e.seq)
	{
		if (r <= e.doubt_upto)
			cannot_tell(rel, m, "The table's record of the client says that more than one of its pushes before a later one did not finish, and keeps how far only one of them got.");
		applied = true;
	}
	else
	{
		if (!found && (m->flags & PS_WIRE_RESENT) && evictions > 0)
			cannot_tell(rel, m, psprintf("The push was sent again after a lost connection, and the table keeps no record of the client: it keeps the records of %d clients, and has given " UINT64_FORMAT " of them to newer ones.",
										 PS_ONCE_CAPACITY, evictions));
		if (found)
		{
			mark.base = e;
			if (!e.complete)
				add_unfinished(&mark.base, e.seq, e.next_key);
		}
		mark.base.client = m->once_client;
		mark.base.seq = r;
		mark.base.complete = 0;
		mark.base.next_key = 0;

		/*
		 * A table that gave records away may have given this client's: its
		 * earlier pushes, unfinished or not, are not known any more.
		 */
		if (!found && evictions > 0)
			mark.base.doubt_upto = r - 1;
		/* pushes of this session that failed since the record's */
		for (i = 0; i < nfailed && mark.base.doubt_upto < r - 1; i++)
		{
			FailedPush *f = &failed_pushes[i];

			if (f->dbid == MyDatabaseId && f->relid == RelationGetRelid(rel) &&
				f->client == m->once_client && f->seq < r &&
				(!found || f->seq > e.seq))
				add_unfinished(&mark.base, f->seq, PG_INT64_MIN);
		}
	}
	if (applied)
	{
		if (RelationNeedsWAL(rel))
			XLogFlush(lsn);
		ereport(DEBUG1,
				(errmsg_internal("ps_push_msg: push " UINT64_FORMAT " of client %016llx to \"%s\" was applied before",
								 r, (unsigned long long) m->once_client,
								 RelationGetRelationName(rel))));
		return ps_table_last_ts(rel);
	}
	mark.first = keys ? keys[skip] : m->first + skip;
	mark.last = keys ? keys[n - 1] : m->first + (n - 1);
	return ps_sql_push(rel, keys ? keys + skip : NULL, keys ? 0 : m->first + skip,
					   vals + (Size) skip * dim, n - skip, dim,
					   (m->flags & PS_WIRE_WORKER) != 0, m->worker, m->clock, &mark,
					   (m->flags & PS_WIRE_ASYNC) != 0);
}

/* A push with an exactly-once id: claim the client, push, let go. */
static uint64
push_once(FunctionCallInfo fcinfo, Relation rel, const PsWireMsg *m,
		  const int64 *keys, const float4 *vals, int dim)
{
	volatile uint64 ts = 0;

	ps_queue_claim_client(rel, m->once_client);
	PG_TRY();
	{
		ts = push_once_claimed(fcinfo, rel, m, keys, vals, dim);
	}
	PG_FINALLY();
	{
		ps_queue_release_client();
	}
	PG_END_TRY();
	/* recorded now, as this push's or in its record */
	forget_failures(RelationGetRelid(rel), m->once_client, m->once_seq);
	return ts;
}

/*
 * ps_push_msg(tbl regclass, msg bytea) returns bigint
 *
 * A push message: values for sorted keys or a range, of a worker at a
 * clock or not.  Returns the push's task timestamp, as ps_push does, once
 * the push is applied and durable.
 */
Datum
ps_push_msg(PG_FUNCTION_ARGS)
{
	PsWireMsg	m;
	uint64		ts = 0;

	message_arg(fcinfo, PS_WIRE_PUSH, &m);
	if (!(m.flags & PS_WIRE_ONCE))
		PG_RETURN_INT64(push_msg(fcinfo, &m));
	keys_missed = false;
	PG_TRY();
	{
		ts = push_msg(fcinfo, &m);
	}
	PG_CATCH();
	{
		/* refused for its cached keys, it is sent again as a new push */
		if (!keys_missed && m.count > 0)
			remember_failure(PG_GETARG_OID(0), m.once_client, m.once_seq);
		PG_RE_THROW();
	}
	PG_END_TRY();
	PG_RETURN_INT64(ts);
}

/* The push of a parsed push message m: ps_push_msg's. */
static uint64
push_msg(FunctionCallInfo fcinfo, const PsWireMsg *mp)
{
	PsWireMsg	m = *mp;
	PsWireError err;
	Relation	rel;
	bool		has_worker;
	const int64 *keys;
	float4	   *vals;
	int			dim;
	uint64		ts;

	has_worker = (m.flags & PS_WIRE_WORKER) != 0;
	/* the count bounds the keys' allocation; the table's dim is checked below */
	ps_sql_check_request_size(fcinfo, m.count, Max(m.dim, 1));
	keys = message_keys(fcinfo, &m);
	rel = ps_open_table(fcinfo, ACL_UPDATE, RowExclusiveLock);
	ps_sql_prepare_write(fcinfo, rel);
	if (m.count == 0)
	{
		ts = ps_sql_empty_push(rel, has_worker, m.worker, m.clock);
		if (m.flags & PS_WIRE_SYNC)
			ps_sql_flush_session();
		relation_close(rel, NoLock);
		return ts;
	}

	dim = ps_sql_push_dim(fcinfo, rel, m.count, (int) (m.count * m.dim));
	vals = palloc(sizeof(float4) * m.count * dim);
	if (!ps_wire_decode_values(&m, vals, &err))
		malformed(fcinfo, &err);
	ps_check_finite(vals, (Size) m.count * dim, false);

	if (m.flags & PS_WIRE_ONCE)
		ts = push_once(fcinfo, rel, &m, keys, vals, dim);
	else
		ts = ps_sql_push(rel, keys, m.first, vals, (int) m.count, dim, has_worker,
						 m.worker, m.clock, NULL, (m.flags & PS_WIRE_ASYNC) != 0);
	if (m.flags & PS_WIRE_SYNC)
		ps_sql_flush_session();
	relation_close(rel, NoLock);
	return ts;
}

/*
 * The table's l1 for a pull asking for KKT slacks: only a table whose
 * server-side KKT filter is on has slacks to tell.
 */
static float4
slack_l1(Relation rel)
{
	const PsConfig *cfg = ps_config_get(rel);

	if (!cfg->kkt_filter)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("ps_pull_msg: table \"%s\" has no KKT filter, so its keys have no KKT slack",
						RelationGetRelationName(rel)),
				 errhint("Configure ps_configure(tbl, update_rule => 'ftrl', l1 => ..., kkt_filter => true), or pull without the slack flag.")));
	return cfg->rule.l1;
}

/*
 * l1 - |z| rounded toward zero, so that |g| <= it implies |z + g| <= l1
 * in float arithmetic too; -1 (no slack: nothing is dropped) if |z| > l1.
 */
static float4
kkt_slack(float4 l1, float4 z)
{
	double		d = (double) l1 - fabs((double) z);
	float4		s;

	if (d < 0 || isnan(d))
		return -1.0f;
	if (d == 0)
		return 0.0f;
	s = (float4) d;
	if ((double) s > d)
		s = nextafterf(s, 0.0f);
	return s;
}

/*
 * Read n keys (keys, or the range from first) of dim weights each with
 * their KKT slacks into out, 2 * dim floats a key: the weights, then for a
 * key whose weights are all zero l1 - |z| for each of its FTRL z (-1 where
 * |z| > l1), else -1s: no push of a key with a nonzero weight is dropped.  A push of g to such a key is dropped by the server's KKT filter
 * when |z + g| <= l1, so certainly when |g| <= l1 - |z|: the client
 * library's KKT filter drops those without sending them.
 */
static void
read_slacks(Relation rel, PsDir *dir, const int64 *keys, int64 first,
			int n, int dim, float4 l1, float4 *out)
{
	int			nf = 2 * dim;
	int			i,
				j;

	if (dir->n > 0)
	{
		int64	   *range = NULL;

		if (dir->width < nf)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("ps_pull_msg: the records of table \"%s\" hold %d floats a key, not the %d of an ftrl table",
							RelationGetRelationName(rel), dir->width, nf)));
		if (keys == NULL)
		{
			range = palloc(sizeof(int64) * Max(n, 1));
			for (i = 0; i < n; i++)
				range[i] = first + i;
			keys = range;
		}
		ps_store_read(rel, dir, keys, NULL, n, nf, out);
		if (range)
			pfree(range);
	}
	for (i = 0; i < n; i++)
	{
		float4	   *w = out + (Size) i * nf;
		bool		zero = true;

		for (j = 0; j < dim; j++)
			zero &= w[j] == 0.0f;
		for (j = 0; j < dim; j++)
			w[dim + j] = zero ? kkt_slack(l1, w[dim + j]) : -1.0f;
	}
}

/*
 * ps_pull_msg(tbl regclass, msg bytea) returns bytea
 *
 * A pull message: sorted keys or a range, of a worker at a clock (which
 * waits as ps_pull does) or not.  Returns a values message: dim values per
 * key in key order (sent sparse if that is smaller), keys never written
 * reading as zeros.  With PS_WIRE_SLACK (a table with the KKT filter on;
 * UPDATE as well) each key's KKT slacks follow its weights (read_slacks).
 */
Datum
ps_pull_msg(PG_FUNCTION_ARGS)
{
	PsWireMsg	m;
	Relation	rel;
	bool		has_worker;
	bool		slack;
	const int64 *keys;
	float4	   *vals;
	PsDir	   *dir;
	int			dim;
	int			nf;
	float4		l1 = 0;
	bytea	   *result;
	size_t		len;

	message_arg(fcinfo, PS_WIRE_PULL, &m);
	has_worker = (m.flags & PS_WIRE_WORKER) != 0;
	slack = (m.flags & PS_WIRE_SLACK) != 0;
	/* the count bounds the keys' allocation; with the table's dim again below */
	ps_sql_check_request_size(fcinfo, m.count, Max(m.dim, 1));
	keys = message_keys(fcinfo, &m);
	ps_arg_not_null(fcinfo, 0, "the table");
	if (slack)
		ps_check_table_privilege(PG_GETARG_OID(0), ACL_UPDATE,
								 "KKT slacks tell the FTRL state |z| of keys at zero, which only a role that pushes needs: a pull asking for them needs UPDATE as well.");
	rel = ps_open_table_for(fcinfo, ACL_SELECT, has_worker, AccessShareLock);
	dir = ps_dir_get(rel, false, 0, 0);
	dim = ps_table_dim(rel, dir, 0);
	if (m.dim != 0 && m.dim != (uint32) dim)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ps_pull_msg: the message asks for dim %u, but table \"%s\" has dim %d",
						m.dim, RelationGetRelationName(rel), dim),
				 errhint("Send dim 0 to take the table's dim.")));
	nf = slack ? 2 * dim : dim;
	ps_sql_check_request_size(fcinfo, m.count, nf);
	ps_sql_check_held(rel, keys, m.first, m.count);
	if (slack)
		l1 = slack_l1(rel);
	if (has_worker)
	{
		ps_workers_call(rel, m.worker, m.clock, PS_CALL_PULL);
		dir = ps_dir_get(rel, false, 0, 0);
	}

	vals = palloc0(sizeof(float4) * Max((Size) m.count * nf, 1));
	if (slack)
		read_slacks(rel, dir, keys, m.first, (int) m.count, dim, l1, vals);
	else if (m.count > 0 && keys != NULL)
		ps_store_read(rel, dir, keys, NULL, (int) m.count, dim, vals);
	else if (m.count > 0)
		ps_store_read_range(rel, dir, m.first, (int64) m.count, vals);
	relation_close(rel, NoLock);

	result = palloc(VARHDRSZ + ps_wire_bound(m.count, nf, false, true));
	len = ps_wire_encode((uint8 *) VARDATA(result), PS_WIRE_VALUES, m.count, nf,
						 NULL, 0, NULL, 0, vals, true);
	if (slack)
		ps_wire_add_flags((uint8 *) VARDATA(result), PS_WIRE_SLACK);
	SET_VARSIZE(result, VARHDRSZ + len);
	if (m.flags & PS_WIRE_COMPRESSED)
	{
		/* the answer compressed, if that is smaller */
		Size		cap = len + 64;
		bytea	   *packed = palloc(VARHDRSZ + cap);
		size_t		plen = ps_wire_compress((uint8 *) VARDATA(result), len,
											(uint8 *) VARDATA(packed), cap);

		if (plen > 0)
		{
			SET_VARSIZE(packed, VARHDRSZ + plen);
			result = packed;
		}
	}
	PG_RETURN_BYTEA_P(result);
}
