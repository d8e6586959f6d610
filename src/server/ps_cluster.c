/*-------------------------------------------------------------------------
 *
 * ps_cluster.c
 *	  This server's view of its cluster: the one row of the extension's
 *	  table ps_cluster, read and written in C, cached per backend, the
 *	  ring it makes, and the check that a request's keys are held here.
 *
 * The row says who this server is (its node id, random when the extension
 * was created), the ring's version (0: the server is not in a cluster and
 * holds every key), how many replicas each range has, and the nodes: id,
 * virtual nodes, state, and the conninfo by which the servers reach each
 * other.  Every node holds the same row but for `self`; only the admin
 * functions and the failover of a dead node change it (ps_sql_cluster.c),
 * on all the live nodes in one two-phase commit.  The ring is not stored:
 * every node, and every client, computes it from the nodes' ids, virtual
 * nodes and states with the same code (common/ps_ring.c): a dead node's
 * tokens stay where they are, served by the first replica alive.
 *
 * Pushes and pulls ask whether this server holds their keys.  The answer
 * comes from the backend's cached ring, so the hot path reads no table:
 * a change to the row invalidates the cache through a relcache
 * invalidation of ps_cluster, sent when the change commits (for a prepared
 * transaction, at COMMIT PREPARED), and every backend reads the row again
 * on its next request.  A key held elsewhere fails the request, before it
 * changes anything, with SQLSTATE PS003 and the ring's version in the
 * detail, so that a client with an older ring knows to refresh it.
 *
 * Layer 5 (configuration): reads and writes the ps_cluster row in C, as
 * ps_config.c does its rows (no SQL, the table found as a member of the
 * extension), and builds the ring with layer 1.  It must not call the
 * shared state, the services or the SQL entry points.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "storage/lmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "ps_base.h"
#include "ps_cluster.h"
#include "ps_config.h"

/* the columns of ps_cluster, in order */
enum
{
	Anum_cl_self = 1,
	Anum_cl_version,
	Anum_cl_replicas,
	Anum_cl_synchronous,
	Anum_cl_nodes,
	Anum_cl_vnodes,
	Anum_cl_states,
	Anum_cl_conninfos,
	Natts_cl = Anum_cl_conninfos
};

static const Oid cl_types[Natts_cl] = {
	INT4OID, INT8OID, INT4OID, BOOLOID, INT4ARRAYOID, INT4ARRAYOID,
	TEXTARRAYOID, TEXTARRAYOID
};

static const char *const state_names[] = {"active", "dead", "joining", "leaving", "removing"};

/* the backend's copy of the row, and the ring, in cluster_cxt */
static MemoryContext cluster_cxt = NULL;
static PsCluster *cached = NULL;
static Oid	cluster_relid = InvalidOid;

const char *
ps_node_state_name(PsNodeState s)
{
	return state_names[s];
}

bool
ps_node_state_parse(const char *name, PsNodeState *s)
{
	int			i;

	for (i = 0; i < (int) lengthof(state_names); i++)
		if (strcmp(name, state_names[i]) == 0)
		{
			*s = (PsNodeState) i;
			return true;
		}
	return false;
}

/*
 * A change to ps_cluster drops the cached row; so does any relcache
 * invalidation while the table is not known (a server on its own, whose
 * extension may be updated to one with ps_cluster).
 */
static void
cluster_inval_callback(Datum arg, Oid relid)
{
	if (!OidIsValid(relid) || !OidIsValid(cluster_relid) || relid == cluster_relid)
	{
		cached = NULL;
		cluster_relid = InvalidOid;
	}
}

/*
 * Open ps_cluster with lockmode, checking its shape; NULL if this
 * database's extension has none (one older than 0.7, or none at all).
 */
Relation
ps_cluster_open(LOCKMODE lockmode)
{
	static bool registered = false;
	Oid			relid;
	Relation	rel;
	TupleDesc	desc;
	int			i;

	if (!registered)
	{
		CacheRegisterRelcacheCallback(cluster_inval_callback, (Datum) 0);
		registered = true;
	}
	relid = ps_extension_table("ps_cluster");
	if (!OidIsValid(relid) || (rel = try_table_open(relid, lockmode)) == NULL)
		return NULL;
	desc = RelationGetDescr(rel);
	for (i = 0; i < Natts_cl && desc->natts == Natts_cl; i++)
		if (TupleDescAttr(desc, i)->atttypid != cl_types[i] ||
			TupleDescAttr(desc, i)->attisdropped)
			break;
	if (desc->natts != Natts_cl || i < Natts_cl)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("table ps_cluster of extension ps does not have the shape ps %s expects",
						PS_VERSION_STR),
				 errhint("Run ALTER EXTENSION ps UPDATE, or restore ps_cluster as the extension created it.")));
	cluster_relid = relid;
	return rel;
}

static void
corrupted(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("table ps_cluster of extension ps holds %s", what),
			 errhint("Only the ps_cluster_* functions may change ps_cluster; recreate the node's extension if it was edited.")));
}

/* The elements of a one-dimensional array column without NULLs. */
static int
array_column(Datum d, Oid elem, Datum **elems)
{
	ArrayType  *a = DatumGetArrayTypeP(d);
	int16		typlen;
	bool		typbyval;
	char		typalign;
	bool	   *nulls;
	int			n,
				i;

	if (ARR_NDIM(a) > 1)
		corrupted("an array of more than one dimension");
	get_typlenbyvalalign(elem, &typlen, &typbyval, &typalign);
	deconstruct_array(a, elem, typlen, typbyval, typalign, elems, &nulls, &n);
	for (i = 0; i < n; i++)
		if (nulls[i])
			corrupted("a NULL in an array");
	return n;
}

/*
 * The ring of the nodes of c but those whose state is in skip (a mask of
 * 1 << state): their tokens into *ring (*n of them), who serves each (the
 * dead ones failed over) into *serve; false with *why if it cannot be
 * built.
 */
static bool
sub_ring(const PsCluster *c, uint32 skip, PsRingToken **ring,
		 PsRingToken **serve, size_t *n, const char **why)
{
	uint32	   *ids = palloc(sizeof(uint32) * Max(c->nnodes, 1));
	uint32	   *vn = palloc(sizeof(uint32) * Max(c->nnodes, 1));
	uint32	   *dead = palloc(sizeof(uint32) * Max(c->nnodes, 1));
	size_t		nn = 0,
				ndead = 0,
				room = 0;
	int			i;

	for (i = 0; i < c->nnodes; i++)
	{
		if (skip & (1U << c->nodes[i].state))
			continue;
		ids[nn] = c->nodes[i].id;
		vn[nn] = (uint32) c->nodes[i].vnodes;
		room += vn[nn];
		nn++;
		if (!PS_NODE_LIVE(c->nodes[i].state))
			dead[ndead++] = c->nodes[i].id;
	}
	*n = 0;
	*ring = palloc(sizeof(PsRingToken) * Max(room, 1));
	*serve = palloc(sizeof(PsRingToken) * Max(room, 1));
	if (nn == 0)
		return true;
	if (ps_ring_build(ids, vn, nn, *ring, room, n, why) != 0)
		return false;
	ps_ring_serve(*ring, *n, (size_t) Max(c->replicas, 0), dead, ndead, *serve);
	return true;
}

/* The server of placement position pos on a ring and its serving (n > 0). */
static uint32
served_by(const PsRingToken *ring, const PsRingToken *serve, size_t n, int64 pos)
{
	return n == 0 ? PS_RING_LOST : serve[ps_ring_owner(ring, n, pos)].node;
}

/*
 * Build c's ring from its nodes (none: no ring): the placement of every
 * node's tokens; who serves them now, with the dead nodes failed over and
 * the joining ones not yet; and who will, once the joining nodes have
 * joined and the leaving ones left.  Each arc of the placement lies in one
 * arc of the ring before and of the ring beyond.  False, with *why, if the
 * ring cannot be built (a count of virtual nodes out of range, two tokens
 * at one position).
 */
bool
ps_cluster_make_ring(PsCluster *c, const char **why)
{
	PsRingToken *all,
			   *bserve,
			   *yserve;
	size_t		t;
	int			i,
				live = 0;

	c->ntokens = c->nbefore = c->nbeyond = 0;
	c->tokens = c->placement = c->after = c->before = c->beyond = NULL;
	c->moving = false;
	for (i = 0; i < c->nnodes; i++)
	{
		if (c->nodes[i].vnodes < 1 || c->nodes[i].vnodes > PS_RING_MAX_VNODES)
		{
			*why = "a count of virtual nodes outside 1 .. 4096";
			return false;
		}
		live += PS_NODE_LIVE(c->nodes[i].state);
		c->moving |= c->nodes[i].state == PS_NODE_JOINING ||
			c->nodes[i].state == PS_NODE_LEAVING ||
			c->nodes[i].state == PS_NODE_REMOVING;
	}
	if (live == 0)
		return true;
	/* every node's tokens: no state is skipped */
	if (!sub_ring(c, 0, &c->placement, &all, &c->ntokens, why))
		return false;
	if (!c->moving)
	{
		c->tokens = c->after = all;
		c->before = c->beyond = c->placement;
		c->nbefore = c->nbeyond = c->ntokens;
		return true;
	}
	if (!sub_ring(c, 1U << PS_NODE_JOINING, &c->before, &bserve, &c->nbefore, why) ||
		!sub_ring(c, (1U << PS_NODE_LEAVING) | (1U << PS_NODE_REMOVING), &c->beyond,
				  &yserve, &c->nbeyond, why))
		return false;
	c->tokens = all;
	c->after = palloc(sizeof(PsRingToken) * c->ntokens);
	for (t = 0; t < c->ntokens; t++)
	{
		int64		pos = c->placement[t].pos;

		c->tokens[t].pos = c->after[t].pos = pos;
		c->tokens[t].node = served_by(c->before, bserve, c->nbefore, pos);
		c->after[t].node = served_by(c->beyond, yserve, c->nbeyond, pos);
	}
	return true;
}

/* Is node on c's ring and alive (active, joining or leaving)? */
bool
ps_cluster_node_active(const PsCluster *c, uint32 node)
{
	int			i = ps_cluster_find(c, node);

	return i >= 0 && PS_NODE_LIVE(c->nodes[i].state);
}

/* Append the holders of position pos on ring (n tokens) not in out yet. */
static size_t
add_holders(const PsCluster *c, const PsRingToken *ring, size_t n, int64 pos,
			uint32 *out, size_t have)
{
	uint32		h[64];
	size_t		k = (size_t) Min(Max(c->replicas, 0), 63),
				nh,
				i,
				j;

	if (n == 0)
		return have;
	nh = ps_ring_holders(ring, n, ps_ring_owner(ring, n, pos), k, h);
	for (i = 0; i < nh; i++)
	{
		for (j = 0; j < have && out[j] != h[i]; j++)
			;
		if (j == have)
			out[have++] = h[i];
	}
	return have;
}

/*
 * The live nodes that keep a copy of token `token`'s keys for the node
 * that serves them: its holders on the ring before and on the ring
 * beyond, but the dead ones and the server, into out (room for
 * PS_CLUSTER_HOLDERS(c)); returns how many.  While nodes join or leave,
 * both sets get the writes: the ones that will hold the keys and the ones
 * that may still serve them.
 */
size_t
ps_cluster_replicas(const PsCluster *c, size_t token, uint32 *out)
{
	return ps_cluster_replicas_of(c, token, c->tokens[token].node, out);
}

/* The same, for server `server` of the token (the one it will have, say). */
size_t
ps_cluster_replicas_of(const PsCluster *c, size_t token, uint32 server, uint32 *out)
{
	int64		pos = c->placement[token].pos;
	size_t		nh = add_holders(c, c->before, c->nbefore, pos, out, 0),
				n = 0,
				h;

	if (c->moving)
		nh = add_holders(c, c->beyond, c->nbeyond, pos, out, nh);
	for (h = 0; h < nh; h++)
		if (out[h] != server && ps_cluster_node_active(c, out[h]))
			out[n++] = out[h];
	return n;
}

/*
 * Do writes here go to other nodes: does the cluster keep replicas, or
 * are nodes joining or leaving (whose ranges' copies go through the same
 * replication)?
 */
bool
ps_cluster_replicating(const PsCluster *c)
{
	return c->version > 0 && c->ntokens > 0 && (c->replicas > 0 || c->moving);
}

/*
 * The live nodes that will hold token `token`'s keys once the nodes
 * joining and leaving are through, and do not hold them now: those the
 * token's server copies its keys to (ps_cluster_copy), into out (room for
 * PS_CLUSTER_HOLDERS(c)); returns how many.
 */
size_t
ps_cluster_newcomers(const PsCluster *c, size_t token, uint32 *out)
{
	int64		pos = c->placement[token].pos;
	size_t		nb,
				ny,
				n = 0,
				i;

	if (!c->moving)
		return 0;
	nb = add_holders(c, c->before, c->nbefore, pos, out, 0);
	ny = add_holders(c, c->beyond, c->nbeyond, pos, out, nb);
	for (i = nb; i < ny; i++)
		if (ps_cluster_node_active(c, out[i]))
			out[n++] = out[i];
	return n;
}

static PsRingToken *
copy_tokens(const PsRingToken *t, size_t n)
{
	PsRingToken *copy = palloc(sizeof(PsRingToken) * Max(n, 1));

	if (n > 0)
		memcpy(copy, t, sizeof(PsRingToken) * n);
	return copy;
}

/*
 * A copy of c's row (but the conninfos) and ring, in the current memory
 * context: the backend's cached one may be rebuilt by any invalidation
 * that opening a relation takes in.
 */
PsCluster *
ps_cluster_copy_of(const PsCluster *c)
{
	PsCluster  *copy = palloc(sizeof(PsCluster));
	int			i;

	*copy = *c;
	copy->nodes = palloc(sizeof(PsClusterNode) * Max(c->nnodes, 1));
	for (i = 0; i < c->nnodes; i++)
	{
		copy->nodes[i] = c->nodes[i];
		copy->nodes[i].conninfo = pstrdup(c->nodes[i].conninfo);
	}
	copy->tokens = copy_tokens(c->tokens, c->ntokens);
	copy->placement = copy_tokens(c->placement, c->ntokens);
	copy->after = copy_tokens(c->after, c->ntokens);
	copy->before = copy_tokens(c->before, c->nbefore);
	copy->beyond = copy_tokens(c->beyond, c->nbeyond);
	return copy;
}

/*
 * The row of ps_cluster (crel, open) as this transaction sees it now, with
 * its ring, in the current memory context.
 */
PsCluster *
ps_cluster_read(Relation crel)
{
	Snapshot	snap = RegisterSnapshot(GetLatestSnapshot());
	TableScanDesc scan = table_beginscan(crel, snap, 0, NULL);
	HeapTuple	tup = heap_getnext(scan, ForwardScanDirection);
	Datum		values[Natts_cl];
	bool		nulls[Natts_cl];
	Datum	   *ids,
			   *vnodes,
			   *states,
			   *conninfos;
	PsCluster  *c = palloc0(sizeof(PsCluster));
	const char *why;
	int			i,
				n;

	if (tup == NULL)
		corrupted("no row");
	heap_deform_tuple(tup, RelationGetDescr(crel), values, nulls);
	for (i = 0; i < Natts_cl; i++)
		if (nulls[i])
			corrupted("a NULL");
	c->self = (uint32) DatumGetInt32(values[Anum_cl_self - 1]);
	c->version = DatumGetInt64(values[Anum_cl_version - 1]);
	c->replicas = DatumGetInt32(values[Anum_cl_replicas - 1]);
	c->synchronous = DatumGetBool(values[Anum_cl_synchronous - 1]);
	n = array_column(values[Anum_cl_nodes - 1], INT4OID, &ids);
	if (array_column(values[Anum_cl_vnodes - 1], INT4OID, &vnodes) != n ||
		array_column(values[Anum_cl_states - 1], TEXTOID, &states) != n ||
		array_column(values[Anum_cl_conninfos - 1], TEXTOID, &conninfos) != n)
		corrupted("node arrays of different lengths");
	c->nnodes = n;
	c->nodes = palloc0(sizeof(PsClusterNode) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		c->nodes[i].id = (uint32) DatumGetInt32(ids[i]);
		c->nodes[i].vnodes = DatumGetInt32(vnodes[i]);
		c->nodes[i].conninfo = TextDatumGetCString(conninfos[i]);
		if (!ps_node_state_parse(TextDatumGetCString(states[i]), &c->nodes[i].state))
			corrupted("an unknown node state");
	}
	if (heap_getnext(scan, ForwardScanDirection) != NULL)
		corrupted("more than one row");
	table_endscan(scan);
	UnregisterSnapshot(snap);
	if (!ps_cluster_make_ring(c, &why))
		corrupted(why);
	return c;
}

/* A text[] of n C strings. */
static Datum
text_array(char **s, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));
	int			i;

	for (i = 0; i < n; i++)
		d[i] = CStringGetTextDatum(s[i]);
	return PointerGetDatum(construct_array(d, n, TEXTOID, -1, false, TYPALIGN_INT));
}

/*
 * c's nodes as the four arrays of ps_cluster (and of ps_cluster_apply):
 * ids and virtual nodes (integer[]), states and conninfos (text[]).
 */
void
ps_cluster_node_arrays(const PsCluster *c, Datum *arrays)
{
	Datum	   *ids = palloc(sizeof(Datum) * Max(c->nnodes, 1));
	Datum	   *vnodes = palloc(sizeof(Datum) * Max(c->nnodes, 1));
	char	  **states = palloc(sizeof(char *) * Max(c->nnodes, 1));
	char	  **conninfos = palloc(sizeof(char *) * Max(c->nnodes, 1));
	int			i;

	for (i = 0; i < c->nnodes; i++)
	{
		ids[i] = Int32GetDatum((int32) c->nodes[i].id);
		vnodes[i] = Int32GetDatum(c->nodes[i].vnodes);
		states[i] = (char *) ps_node_state_name(c->nodes[i].state);
		conninfos[i] = c->nodes[i].conninfo;
	}
	arrays[0] = PointerGetDatum(construct_array(ids, c->nnodes, INT4OID, 4,
												true, TYPALIGN_INT));
	arrays[1] = PointerGetDatum(construct_array(vnodes, c->nnodes, INT4OID, 4,
												true, TYPALIGN_INT));
	arrays[2] = text_array(states, c->nnodes);
	arrays[3] = text_array(conninfos, c->nnodes);
}

/*
 * Replace the row of ps_cluster (crel, open with a lock that excludes
 * other writers) by c; every backend reads it again once this transaction
 * commits.
 */
void
ps_cluster_write(Relation crel, const PsCluster *c)
{
	Snapshot	snap = RegisterSnapshot(GetLatestSnapshot());
	TableScanDesc scan = table_beginscan(crel, snap, 0, NULL);
	HeapTuple	old = heap_getnext(scan, ForwardScanDirection);
	HeapTuple	tup;
	Datum		values[Natts_cl];
	bool		nulls[Natts_cl] = {0};
	bool		repl[Natts_cl] = {0};
	int			i;

	if (old == NULL)
		corrupted("no row");
	values[Anum_cl_self - 1] = Int32GetDatum((int32) c->self);
	values[Anum_cl_version - 1] = Int64GetDatum(c->version);
	values[Anum_cl_replicas - 1] = Int32GetDatum(c->replicas);
	values[Anum_cl_synchronous - 1] = BoolGetDatum(c->synchronous);
	ps_cluster_node_arrays(c, &values[Anum_cl_nodes - 1]);
	for (i = Anum_cl_self; i <= Natts_cl; i++)
		repl[i - 1] = true;
	tup = heap_modify_tuple(old, RelationGetDescr(crel), values, nulls, repl);
	simple_heap_update(crel, &old->t_self, tup);
	table_endscan(scan);
	UnregisterSnapshot(snap);
	CacheInvalidateRelcacheByRelid(RelationGetRelid(crel));
	CommandCounterIncrement();
}

/* The index of node in c->nodes, or -1. */
int
ps_cluster_find(const PsCluster *c, uint32 node)
{
	int			i;

	for (i = 0; i < c->nnodes; i++)
		if (c->nodes[i].id == node)
			return i;
	return -1;
}

/*
 * The cluster as this backend knows it: read again after a change
 * committed.  A database whose extension has no ps_cluster is a server on
 * its own.
 */
const PsCluster *
ps_cluster_get(void)
{
	Relation	crel;
	MemoryContext old;

	if (cached != NULL)
		return cached;
	if (cluster_cxt == NULL)
		cluster_cxt = AllocSetContextCreate(CacheMemoryContext, "ps cluster",
											ALLOCSET_SMALL_SIZES);
	MemoryContextReset(cluster_cxt);
	old = MemoryContextSwitchTo(cluster_cxt);
	crel = ps_cluster_open(AccessShareLock);
	if (crel == NULL)
		cached = palloc0(sizeof(PsCluster));
	else
	{
		PsCluster  *c = ps_cluster_read(crel);

		table_close(crel, AccessShareLock);
		/* a relcache flush while reading leaves it for the next call */
		if (OidIsValid(cluster_relid))
			cached = c;
		MemoryContextSwitchTo(old);
		return c;
	}
	MemoryContextSwitchTo(old);
	return cached;
}

static void
not_owner(Relation rel, const PsCluster *c, int64 key, uint32 owner)
{
	bool		member = ps_cluster_find(c, c->self) >= 0;

	if (c->ntokens > 0 && owner == PS_RING_LOST)
		ereport(ERROR,
				(errcode(ERRCODE_PS_KEYS_LOST),
				 errmsg("key " INT64_FORMAT " of table \"%s\" is lost: the node that held it and its %d replicas failed",
						key, RelationGetRelationName(rel), c->replicas),
				 errdetail("ring version " INT64_FORMAT ": every node that kept a copy of this key's range is dead.",
						   c->version),
				 errhint("The range's values are only on the failed nodes' disks (ps_cluster_nodes() lists them); more replicas (ps_cluster_configure()) let a range outlive more failures.")));
	ereport(ERROR,
			(errcode(ERRCODE_PS_NOT_OWNER),
			 errmsg("key " INT64_FORMAT " of table \"%s\" is not held by this server",
					key, RelationGetRelationName(rel)),
			 c->ntokens == 0 ?
			 errdetail("ring version " INT64_FORMAT ": the cluster has no active node.",
					   c->version) :
			 member ?
			 errdetail("ring version " INT64_FORMAT ": node %u holds it, this server is node %u.",
					   c->version, owner, c->self) :
			 errdetail("ring version " INT64_FORMAT ": node %u holds it, this server (node %u) is not on the ring.",
					   c->version, owner, c->self),
			 errhint("Read the ring again (ps_cluster_nodes()) and send each key to the node that holds it; the client library does.")));
}

/* Fail unless every one of keys (any order) is held by this server. */
void
ps_cluster_check_keys(Relation rel, const int64 *keys, int n)
{
	const PsCluster *c = ps_cluster_get();
	int			i;

	if (c->version == 0)
		return;
	if (c->ntokens == 0)
	{
		if (n > 0)
			not_owner(rel, c, keys[0], 0);
		return;
	}
	for (i = 0; i < n; i++)
	{
		size_t		t = ps_ring_key_owner(c->tokens, c->ntokens, keys[i]);

		if (c->tokens[t].node != c->self)
			not_owner(rel, c, keys[i], c->tokens[t].node);
	}
}

/*
 * Fail unless every key of lo .. hi (inclusive; none if lo > hi) is held
 * here.  It looks at each block of keys of the range: the caller has
 * bounded the range's size.
 */
void
ps_cluster_check_range(Relation rel, int64 lo, int64 hi)
{
	const PsCluster *c = ps_cluster_get();
	int64		cur = lo;

	if (c->version == 0 || lo > hi)
		return;
	if (c->ntokens == 0)
		not_owner(rel, c, lo, 0);
	for (;;)
	{
		int64		end = cur | (PS_RING_BLOCK - 1);
		size_t		t = ps_ring_key_owner(c->tokens, c->ntokens, cur);

		if (c->tokens[t].node != c->self)
			not_owner(rel, c, cur, c->tokens[t].node);
		if (end >= hi)
			return;
		cur = end + 1;
	}
}

/*
 * The gate of pushes: a push takes it shared, until its transaction ends,
 * before it asks whether its keys are held here; the switch of a join or
 * a leave closes it (exclusively, in the prepared transaction of the ring
 * change) on the servers that give ranges away, which waits for the
 * pushes past the gate and holds new ones until the new ring commits.
 * Then they ask the new ring, and are refused (PS003) the keys gone.  A
 * lock of its own, on an object no SQL command locks: replication's apply
 * workers, which write the same tables, never wait for it, nor can a
 * role take it to hold the pushes of others.
 */
static void
gate(LOCKMODE mode)
{
	if (!OidIsValid(cluster_relid))
		(void) ps_cluster_get();
	if (OidIsValid(cluster_relid))
		LockDatabaseObject(RelationRelationId, cluster_relid, 1, mode);
}

/* Before a push, in a cluster: pass the gate (and read the ring anew). */
void
ps_cluster_gate_push(void)
{
	gate(ShareLock);
}

/*
 * Wait for every push past the gate now: the pushes after it have read
 * the ring as it is (the range copy's start, which must not miss a push
 * that read the ring before the move began).
 */
void
ps_cluster_gate_barrier(void)
{
	gate(ExclusiveLock);
	if (OidIsValid(cluster_relid))
		UnlockDatabaseObject(RelationRelationId, cluster_relid, 1, ExclusiveLock);
}

/* Close the gate until this transaction ends: for the switch. */
void
ps_cluster_gate_close(void)
{
	gate(ExclusiveLock);
}
