/*-------------------------------------------------------------------------
 *
 * ps_sql_cluster.c
 *	  The cluster seen from SQL: ps_node_id, ps_cluster_status,
 *	  ps_cluster_nodes, ps_ring, and ps_cluster_apply, the one function
 *	  that writes a node's ring (called by the admin functions of
 *	  ps_sql_cluster_admin.c on every node, inside a prepared transaction).
 *
 * Everyone may read the ring and the nodes' addresses (host, port,
 * database: what a client needs to route its requests); the conninfos
 * themselves, which may carry passwords, stay in ps_cluster, which only
 * superusers read.  ps_cluster_apply is for superusers.
 *
 * Layer 9 (SQL entry points): called by PostgreSQL only.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "libpq-fe.h"

#include "ps_base.h"
#include "ps_cluster.h"
#include "ps_dir.h"
#include "ps_monitor.h"
#include "ps_page.h"
#include "ps_store.h"
#include "ps_sql.h"
#include "ps_sql_cluster.h"

PG_FUNCTION_INFO_V1(ps_node_id);
PG_FUNCTION_INFO_V1(ps_cluster_status);
PG_FUNCTION_INFO_V1(ps_cluster_nodes);
PG_FUNCTION_INFO_V1(ps_ring_tokens);
PG_FUNCTION_INFO_V1(ps_cluster_apply);
PG_FUNCTION_INFO_V1(ps_key_node);
PG_FUNCTION_INFO_V1(ps_key_position);
PG_FUNCTION_INFO_V1(ps_cluster_holds_keys);

/* The cluster as this backend knows it; fails on an extension before 0.7. */
const PsCluster *
ps_sql_cluster(void)
{
	const PsCluster *c = ps_cluster_get();

	if (c->self == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the ps extension of this database has no cluster table"),
				 errdetail("The library is version %s; clusters came with extension version 0.7.",
						   PS_VERSION_STR),
				 errhint("Run ALTER EXTENSION ps UPDATE.")));
	return c;
}

void
ps_sql_require_superuser(const char *fn)
{
	if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for %s", fn),
				 errdetail("Changing the cluster makes this server connect to others with conninfos of the caller's choosing."),
				 errhint("Only superusers manage the cluster.")));
}

/* The first key of token i's arc (the wrap: after the last token). */
int64
ps_sql_arc_first(const PsRingToken *tokens, size_t ntokens, size_t i)
{
	int64		prev = tokens[i == 0 ? ntokens - 1 : i - 1].pos;

	return prev == PG_INT64_MAX ? PG_INT64_MIN : prev + 1;
}

/*
 * ps_node_id() returns integer: this server's node id.
 */
Datum
ps_node_id(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32((int32) ps_sql_cluster()->self);
}

/*
 * ps_cluster_status() returns (node, version, nodes, active, member,
 * replicas, replication): this server in its cluster.
 */
Datum
ps_cluster_status(PG_FUNCTION_ARGS)
{
	const PsCluster *c = ps_sql_cluster();
	TupleDesc	tupdesc;
	Datum		values[7];
	bool		nulls[7] = {0};
	int			active = 0,
				i;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	/* the other nodes' heartbeats ask this: a node back from a restart watches again */
	if (c->version > 0 && ps_cluster_node_active(c, c->self))
		ps_monitor_ensure();
	for (i = 0; i < c->nnodes; i++)
		if (c->nodes[i].state == PS_NODE_ACTIVE)
			active++;
	values[0] = Int32GetDatum((int32) c->self);
	values[1] = Int64GetDatum(c->version);
	values[2] = Int32GetDatum(c->nnodes);
	values[3] = Int32GetDatum(active);
	values[4] = BoolGetDatum(c->version == 0 || ps_cluster_node_active(c, c->self));
	values[5] = Int32GetDatum(c->replicas);
	values[6] = CStringGetTextDatum(c->synchronous ? "synchronous" : "asynchronous");
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/* The value of keyword in conninfo, or NULL. */
static char *
conninfo_value(PQconninfoOption *opts, const char *keyword)
{
	PQconninfoOption *o;

	for (o = opts; o != NULL && o->keyword != NULL; o++)
		if (strcmp(o->keyword, keyword) == 0 && o->val != NULL && o->val[0] != '\0')
			return pstrdup(o->val);
	return NULL;
}

/*
 * ps_cluster_nodes() returns setof (node, host, port, dbname,
 * virtual_nodes, state, share, self, version): each node of the cluster,
 * where clients reach it, and the share of the key space it holds.
 */
Datum
ps_cluster_nodes(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	const PsCluster *c;
	double	   *share;
	int			i;
	size_t		t;

	InitMaterializedSRF(fcinfo, 0);
	c = ps_sql_cluster();
	share = palloc0(sizeof(double) * Max(c->nnodes, 1));
	for (t = 0; t < c->ntokens; t++)
	{
		int64		first = ps_sql_arc_first(c->tokens, c->ntokens, t);
		double		len = (double) ((uint64) c->tokens[t].pos - (uint64) first) + 1.0;

		i = ps_cluster_find(c, c->tokens[t].node);
		if (i >= 0)
			share[i] += len / 18446744073709551616.0;
	}
	for (i = 0; i < c->nnodes; i++)
	{
		Datum		values[9];
		bool		nulls[9] = {0};
		PQconninfoOption *opts = PQconninfoParse(c->nodes[i].conninfo, NULL);
		char	   *host = conninfo_value(opts, "host");
		char	   *port = conninfo_value(opts, "port");
		char	   *dbname = conninfo_value(opts, "dbname");

		if (host == NULL)
			host = conninfo_value(opts, "hostaddr");
		if (opts)
			PQconninfoFree(opts);
		values[0] = Int32GetDatum((int32) c->nodes[i].id);
		values[1] = host ? CStringGetTextDatum(host) : (Datum) 0;
		nulls[1] = host == NULL;
		values[2] = port ? CStringGetTextDatum(port) : (Datum) 0;
		nulls[2] = port == NULL;
		values[3] = dbname ? CStringGetTextDatum(dbname) : (Datum) 0;
		nulls[3] = dbname == NULL;
		values[4] = Int32GetDatum(c->nodes[i].vnodes);
		values[5] = CStringGetTextDatum(ps_node_state_name(c->nodes[i].state));
		values[6] = Float8GetDatum(share[i]);
		values[7] = BoolGetDatum(c->nodes[i].id == c->self);
		values[8] = Int64GetDatum(c->version);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * ps_ring() returns setof (token, first_position, owner, replicas, state,
 * version): each token of the ring, ascending: the positions
 * first_position .. token (the first token's wrap around from the last
 * one), the node that serves their keys and the live nodes with copies;
 * state 'active' (its own node serves it), 'failed over' (its node is
 * dead, a replica serves it) or 'lost' (no holder alive: owner NULL).
 */
Datum
ps_ring_tokens(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	const PsCluster *c;
	uint32	   *holders;
	Datum	   *reps;
	size_t		t;

	InitMaterializedSRF(fcinfo, 0);
	c = ps_sql_cluster();
	holders = palloc(sizeof(uint32) * PS_CLUSTER_HOLDERS(c));
	reps = palloc(sizeof(Datum) * PS_CLUSTER_HOLDERS(c));
	for (t = 0; t < c->ntokens; t++)
	{
		Datum		values[6];
		bool		nulls[6] = {0};
		size_t		nh = ps_cluster_replicas(c, t, holders);
		size_t		j;
		uint32		owner = c->tokens[t].node;
		int			at = ps_cluster_find(c, c->placement[t].node);
		PsNodeState st = at >= 0 ? c->nodes[at].state : PS_NODE_ACTIVE;

		for (j = 0; j < nh; j++)
			reps[j] = Int32GetDatum((int32) holders[j]);
		values[0] = Int64GetDatum(c->tokens[t].pos);
		values[1] = Int64GetDatum(ps_sql_arc_first(c->tokens, c->ntokens, t));
		values[2] = Int32GetDatum((int32) owner);
		nulls[2] = owner == PS_RING_LOST;
		values[3] = PointerGetDatum(construct_array(reps, (int) nh, INT4OID,
													4, true, TYPALIGN_INT));
		/* a dead node's token: served by a replica, or by nobody */
		values[4] = CStringGetTextDatum(owner == PS_RING_LOST ? "lost" :
										st == PS_NODE_JOINING ? "joining" :
										st == PS_NODE_LEAVING ? "leaving" :
										owner == c->placement[t].node ? "active" :
										"failed over");
		values[5] = Int64GetDatum(c->version);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * ps_key_node(key bigint) returns integer: the node that serves key; NULL
 * on a server on its own, or if the key is lost.
 */
Datum
ps_key_node(PG_FUNCTION_ARGS)
{
	const PsCluster *c = ps_sql_cluster();

	uint32		node;

	if (c->version == 0 || c->ntokens == 0)
		PG_RETURN_NULL();
	node = c->tokens[ps_ring_key_owner(c->tokens, c->ntokens, PG_GETARG_INT64(0))].node;
	if (node == PS_RING_LOST)
		PG_RETURN_NULL();
	PG_RETURN_INT32((int32) node);
}

/* ps_key_position(key bigint) returns bigint: key's position on the ring. */
Datum
ps_key_position(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(ps_ring_key_pos(PG_GETARG_INT64(0)));
}

/* Elements of array a (one dimension, no NULLs). */
static int
array_elems(ArrayType *a, Oid elem, const char *what, Datum **elems)
{
	int16		typlen;
	bool		typbyval;
	char		typalign;
	bool	   *nulls;
	int			n,
				i;

	get_typlenbyvalalign(elem, &typlen, &typbyval, &typalign);
	deconstruct_array(a, elem, typlen, typbyval, typalign, elems, &nulls, &n);
	for (i = 0; i < n; i++)
		if (nulls[i] || ARR_NDIM(a) > 1)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("ps_cluster_apply: %s must be a one-dimensional array without NULLs",
							what)));
	return n;
}

/*
 * The cluster the arguments of ps_cluster_apply describe (version,
 * replicas, synchronous, then the four arrays), checked, with its ring.
 */
static PsCluster *
cluster_from_arrays(int64 version, int32 replicas, bool synchronous,
					ArrayType **arrays)
{
	PsCluster  *new;
	Datum	   *ids,
			   *vnodes,
			   *states,
			   *conninfos;
	const char *why;
	int			n,
				i,
				j;

	n = array_elems(arrays[0], INT4OID, "nodes", &ids);
	if (array_elems(arrays[1], INT4OID, "virtual_nodes", &vnodes) != n ||
		array_elems(arrays[2], TEXTOID, "states", &states) != n ||
		array_elems(arrays[3], TEXTOID, "conninfos", &conninfos) != n)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("ps_cluster_apply: nodes, virtual_nodes, states and conninfos must have the same length")));
	new = palloc0(sizeof(PsCluster));
	new->version = version;
	new->replicas = replicas;
	new->synchronous = synchronous;
	new->nnodes = n;
	new->nodes = palloc0(sizeof(PsClusterNode) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		PsClusterNode *nd = &new->nodes[i];

		nd->id = (uint32) DatumGetInt32(ids[i]);
		nd->vnodes = DatumGetInt32(vnodes[i]);
		nd->conninfo = TextDatumGetCString(conninfos[i]);
		if (DatumGetInt32(ids[i]) <= 0 ||
			!ps_node_state_parse(TextDatumGetCString(states[i]), &nd->state))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("ps_cluster_apply: node %d, state \"%s\": node ids are positive, states \"active\", \"dead\", \"joining\", \"leaving\" or \"removing\"",
							DatumGetInt32(ids[i]), TextDatumGetCString(states[i]))));
		for (j = 0; j < i; j++)
			if (new->nodes[j].id == nd->id)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("ps_cluster_apply: node %u is named twice", nd->id)));
	}
	if (!ps_cluster_make_ring(new, &why))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ps_cluster_apply: the ring cannot be built: %s", why)));
	return new;
}

/* The OIDs of this database's ps tables, but temporary ones. */
List *
ps_sql_cluster_tables(void)
{
	Oid			amoid = get_table_am_oid("ps", true);
	Relation	pgclass;
	TableScanDesc scan;
	HeapTuple	tup;
	List	   *oids = NIL;

	if (!OidIsValid(amoid))
		return NIL;
	pgclass = table_open(RelationRelationId, AccessShareLock);
	scan = table_beginscan_catalog(pgclass, 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		Form_pg_class cls = (Form_pg_class) GETSTRUCT(tup);

		if (cls->relam == amoid && cls->relkind == RELKIND_RELATION &&
			cls->relpersistence != RELPERSISTENCE_TEMP)
			oids = lappend_oid(oids, cls->oid);
	}
	table_endscan(scan);
	table_close(pgclass, AccessShareLock);
	return oids;
}

/* Does any ps table of this database (but temporary ones) hold a key? */
static bool
tables_hold_keys(void)
{
	List	   *oids = ps_sql_cluster_tables();
	ListCell   *lc;
	bool		found = false;
	char	   *page = palloc(BLCKSZ);

	foreach(lc, oids)
	{
		Relation	rel = try_relation_open(lfirst_oid(lc), AccessShareLock);
		BlockNumber blk;

		if (rel == NULL)
			continue;
		blk = ps_has_storage(rel) ? PS_FIRST_LEAF_BLKNO : InvalidBlockNumber;
		while (!found && blk != InvalidBlockNumber)
		{
			CHECK_FOR_INTERRUPTS();
			blk = ps_store_copy_leaf(rel, blk, page, NULL);
			found = PsPageGetOpaque((Page) page)->nitems > 0;
		}
		relation_close(rel, AccessShareLock);
		if (found)
			break;
	}
	return found;
}

/*
 * ps_cluster_holds_keys() returns boolean: does a ps table of this
 * database hold a key?  A server joins or leaves by the range copy only if
 * some node does (the admin functions ask each).  Superusers only.
 */
Datum
ps_cluster_holds_keys(PG_FUNCTION_ARGS)
{
	ps_sql_require_superuser("ps_cluster_holds_keys");
	PG_RETURN_BOOL(tables_hold_keys());
}

/* Does new give every key of lo .. hi to self? */
static bool
keeps(const PsCluster *new, int64 lo, int64 hi)
{
	PsRingPiece *pieces;
	size_t		n,
				i;

	if (new->ntokens == 0 || !ps_cluster_node_active(new, new->self))
		return false;
	pieces = palloc(sizeof(PsRingPiece) * (new->ntokens + 1));
	n = ps_ring_split(new->tokens, new->ntokens, lo, hi, pieces, new->ntokens + 1);
	for (i = 0; i < n; i++)
		if (new->tokens[pieces[i].token].node != new->self)
			return false;
	return true;
}

/* Would going from cur to new take keys away from this server? */
static bool
keys_move_away(const PsCluster *cur, const PsCluster *new)
{
	size_t		t;

	if (cur->version == 0)		/* on its own it held every key */
		return !keeps(new, PG_INT64_MIN, PG_INT64_MAX);
	for (t = 0; t < cur->ntokens; t++)
	{
		int64		first = ps_sql_arc_first(cur->tokens, cur->ntokens, t);
		int64		last = cur->tokens[t].pos;

		if (cur->tokens[t].node != cur->self)
			continue;
		if (first <= last ? !keeps(new, first, last) :
			!keeps(new, first, PG_INT64_MAX) || !keeps(new, PG_INT64_MIN, last))
			return true;
	}
	return false;
}

/* Does new give every key of lo .. hi to self or to one of holders[0 .. nh - 1]? */
static bool
goes_to(const PsCluster *new, int64 lo, int64 hi, uint32 self, const uint32 *holders,
		size_t nh)
{
	PsRingPiece *pieces = palloc(sizeof(PsRingPiece) * (new->ntokens + 1));
	size_t		n = ps_ring_split(new->tokens, new->ntokens, lo, hi, pieces, new->ntokens + 1),
				i,
				h;

	for (i = 0; i < n; i++)
	{
		uint32		to = new->tokens[pieces[i].token].node;

		for (h = 0; h < nh && holders[h] != to; h++)
			;
		if (to != self && h == nh)
			return false;
	}
	return true;
}

/*
 * Does every key this server serves on cur, and does not on new, go to a
 * node that keeps a copy of it on cur (a node the range copy of a join or
 * leave brought it to)?
 */
static bool
handed_over(const PsCluster *cur, const PsCluster *new)
{
	uint32	   *scratch = palloc(sizeof(uint32) * PS_CLUSTER_HOLDERS(cur));
	size_t		t;

	if (cur->version == 0 || new->ntokens == 0)
		return false;
	for (t = 0; t < cur->ntokens; t++)
	{
		int64		first = ps_sql_arc_first(cur->tokens, cur->ntokens, t);
		int64		last = cur->tokens[t].pos;
		size_t		nr;

		if (cur->tokens[t].node != cur->self)
			continue;
		nr = ps_cluster_replicas(cur, t, scratch);
		if (first <= last ? !goes_to(new, first, last, cur->self, scratch, nr) :
			!goes_to(new, first, PG_INT64_MAX, cur->self, scratch, nr) ||
			!goes_to(new, PG_INT64_MIN, last, cur->self, scratch, nr))
			return false;
	}
	return true;
}

/*
 * Does this server serve token t of c, or keep a copy of its keys (and,
 * if not a newcomer's, one it has now, not one a range copy is to bring)?
 */
static bool
holds_token(const PsCluster *c, size_t t, bool not_newcomer, uint32 *scratch)
{
	size_t		n,
				h;

	if (c->tokens[t].node == c->self)
		return true;
	n = ps_cluster_replicas(c, t, scratch);
	for (h = 0; h < n; h++)
		if (scratch[h] == c->self)
			break;
	if (h == n)
		return false;
	if (not_newcomer)
	{
		n = ps_cluster_newcomers(c, t, scratch);
		for (h = 0; h < n; h++)
			if (scratch[h] == c->self)
				return false;
	}
	return true;
}

/* Does this server hold every position of lo .. hi on cur's ring? */
static bool
held_before(const PsCluster *cur, int64 lo, int64 hi, uint32 *scratch)
{
	PsRingPiece *pieces = palloc(sizeof(PsRingPiece) * (cur->ntokens + 1));
	size_t		n = ps_ring_split(cur->placement, cur->ntokens, lo, hi, pieces,
								  cur->ntokens + 1),
				i;

	for (i = 0; i < n; i++)
		if (!holds_token(cur, pieces[i].token, false, scratch))
			return false;
	return true;
}

/*
 * Would going from cur to new make this server serve, or keep a copy of,
 * keys it holds no copy of now?  Their values are elsewhere (a node
 * removed or a new replica).  Copies that a join or leave starting now is
 * to bring (ps_cluster_newcomers of new) do not count: the range copy
 * brings them before the switch.
 */
static bool
gains_keys(const PsCluster *cur, const PsCluster *new)
{
	uint32	   *scratch = palloc(sizeof(uint32) * Max(PS_CLUSTER_HOLDERS(cur),
													PS_CLUSTER_HOLDERS(new)));
	size_t		t;

	if (cur->version == 0 || cur->ntokens == 0)
		return false;			/* on its own it held every key */
	for (t = 0; t < new->ntokens; t++)
	{
		int64		first = ps_sql_arc_first(new->tokens, new->ntokens, t);
		int64		last = new->tokens[t].pos;

		if (!holds_token(new, t, true, scratch))
			continue;
		if (first <= last ? !held_before(cur, first, last, scratch) :
			!held_before(cur, first, PG_INT64_MAX, scratch) ||
			!held_before(cur, PG_INT64_MIN, last, scratch))
			return true;
	}
	return false;
}

/*
 * ps_cluster_apply(expect bigint, version bigint, replicas integer,
 * synchronous boolean, nodes integer[], virtual_nodes integer[],
 * states text[], conninfos text[]) returns void
 *
 * Make this node's ring the one given, if this node's ring is at version
 * expect.  The admin functions call it on every node in a transaction they
 * prepare there and commit everywhere or nowhere; its lock on ps_cluster,
 * held until then, makes two changes at once wait for each other, and
 * the second then fails on the version.  While its ps tables hold keys,
 * a change that would take keys from this server, or give it keys it has
 * no copy of, is refused, but for the two steps of a join or leave: the
 * start (a node joining or leaving: the servers stay, the newcomers to a
 * range's holders are to be copied to), and the switch (the nodes through:
 * each range goes to a node that had a copy).  The switch closes this
 * server's gate of pushes if it gives ranges away, until it commits.
 */
Datum
ps_cluster_apply(PG_FUNCTION_ARGS)
{
	Relation	crel;
	PsCluster  *cur,
			   *new;
	ArrayType  *arrays[4];
	int64		expect;
	bool		gives,
				switching;
	int			i;

	ps_sql_require_superuser("ps_cluster_apply");
	for (i = 0; i < 8; i++)
		ps_arg_not_null(fcinfo, i, i == 0 ? "the expected version" :
						i == 1 ? "the version" : i == 2 ? "replicas" :
						i == 3 ? "synchronous" : i == 4 ? "nodes" :
						i == 5 ? "virtual_nodes" : i == 6 ? "states" : "conninfos");
	expect = PG_GETARG_INT64(0);
	if (PG_GETARG_INT64(1) <= expect || PG_GETARG_INT32(2) < 0 ||
		PG_GETARG_INT32(2) >= PS_RING_MAX_NODES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ps_cluster_apply: version " INT64_FORMAT " after " INT64_FORMAT " with %d replicas is not a change it makes",
						PG_GETARG_INT64(1), expect, PG_GETARG_INT32(2))));
	for (i = 0; i < 4; i++)
		arrays[i] = PG_GETARG_ARRAYTYPE_P(4 + i);
	new = cluster_from_arrays(PG_GETARG_INT64(1), PG_GETARG_INT32(2), PG_GETARG_BOOL(3),
							  arrays);

	/* one change at a time: held until the change commits or aborts */
	crel = ps_cluster_open(ShareRowExclusiveLock);
	if (crel == NULL)
		(void) ps_sql_cluster();
	cur = ps_cluster_read(crel);
	new->self = cur->self;
	if (cur->version != expect)
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("node %u is at ring version " INT64_FORMAT ", not " INT64_FORMAT,
						cur->self, cur->version, expect),
				 errdetail("Another change of the cluster came first, or this node missed one."),
				 errhint("Look at ps_cluster_status() on every node, then try again.")));
	gives = keys_move_away(cur, new);
	switching = cur->moving && !new->moving;
	if (gives && !(switching && handed_over(cur, new)) && tables_hold_keys())
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("node %u would give keys away while its ps tables hold keys",
						cur->self),
				 errdetail("The change moves ranges this server holds (or, on its own, all keys) to servers that have no copy of them."),
				 errhint("A server joins a cluster empty: TRUNCATE its ps tables first.  Ranges move between servers by ps_cluster_add() and ps_cluster_remove(), which copy them.")));
	if (gains_keys(cur, new) && tables_hold_keys())
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("node %u would serve or keep copies of keys whose values it does not have, while ps tables hold keys",
						cur->self),
				 errdetail("The change gives this server ranges, or copies of ranges, that other servers hold, and is not a join or leave, whose range copy would bring them."),
				 errhint("Change replicas or remove a dead node while the ps tables are empty (TRUNCATE), or leave the dead node on the ring: its ranges are served by their replicas.")));
	/* the switch: hold pushes here until it commits (ps_cluster_gate_push) */
	if (gives && switching)
		ps_cluster_gate_close();
	ps_cluster_write(crel, new);
	table_close(crel, NoLock);
	PG_RETURN_VOID();
}

/*
 * This node learnt from another (the monitor's heartbeat) that the
 * cluster declared it dead at ring version `version`, whose row the
 * arguments are: it takes that ring, and so serves no key and refuses
 * every request with the new ring's version, which sends clients to the
 * nodes that took its ranges.  A failed server comes back as a new node
 * (ps_cluster_reset(force => true), then ps_cluster_add()).  Returns
 * this node's conninfo if it changed the row, NULL if not (this node's
 * ring is as new already, or says it is active).
 */
char *
ps_sql_cluster_take_ring(int64 version, int32 replicas, bool synchronous,
						 ArrayType **arrays)
{
	PsCluster  *new = cluster_from_arrays(version, replicas, synchronous, arrays);
	Relation	crel = ps_cluster_open(ShareRowExclusiveLock);
	PsCluster  *cur;
	int			me;

	if (crel == NULL)
		return NULL;
	cur = ps_cluster_read(crel);
	new->self = cur->self;
	me = ps_cluster_find(new, cur->self);
	if (cur->version >= version || (me >= 0 && PS_NODE_LIVE(new->nodes[me].state)))
	{
		table_close(crel, ShareRowExclusiveLock);
		return NULL;
	}
	ps_cluster_write(crel, new);
	table_close(crel, NoLock);
	me = ps_cluster_find(cur, cur->self);
	return me >= 0 ? pstrdup(cur->nodes[me].conninfo) : NULL;
}
