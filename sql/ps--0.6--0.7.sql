/* ps extension, upgrade from 0.6 to 0.7: clusters of servers on a consistent-hashing ring */

\echo Use "ALTER EXTENSION ps UPDATE TO '0.7'" to load this file. \quit

-- This database's place in a cluster of ps servers: its node id (random
-- here; a new one for every CREATE EXTENSION), the ring's version (0: on
-- its own, holding every key), replicas, and the nodes with their virtual
-- nodes, states and conninfos.  One row, written only by the library
-- (ps_cluster_apply, ps_cluster_reset), read by superusers only (the
-- conninfos may hold passwords).  Not dumped: a restored database is a
-- new server on its own.
CREATE TABLE @extschema@.ps_cluster (
	self integer NOT NULL,
	version bigint NOT NULL,
	replicas integer NOT NULL,
	synchronous boolean NOT NULL,
	nodes integer[] NOT NULL,
	virtual_nodes integer[] NOT NULL,
	states text[] NOT NULL,
	conninfos text[] NOT NULL
);
REVOKE ALL ON @extschema@.ps_cluster FROM PUBLIC;
INSERT INTO @extschema@.ps_cluster
	VALUES ((pg_catalog.floor(pg_catalog.random() OPERATOR(pg_catalog.*) 2147483646::pg_catalog.float8)
			 OPERATOR(pg_catalog.+) 1::pg_catalog.float8)::pg_catalog.int4,
			0, 0, true, '{}', '{}', '{}', '{}');
COMMENT ON TABLE @extschema@.ps_cluster IS
	'this server in its cluster: node id, ring version, replicas, the nodes; changed only by the ps_cluster_* functions';

CREATE FUNCTION @extschema@.ps_node_id() RETURNS integer
	AS 'MODULE_PATHNAME', 'ps_node_id'
	LANGUAGE C STRICT STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.ps_node_id() IS
	'this server''s node id in a cluster of ps servers';

CREATE FUNCTION @extschema@.ps_cluster_status(OUT node integer, OUT version bigint,
	OUT nodes integer, OUT active integer, OUT member boolean,
	OUT replicas integer, OUT replication text) RETURNS record
	AS 'MODULE_PATHNAME', 'ps_cluster_status'
	LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.ps_cluster_status() IS
	'this server in its cluster: node id, ring version (0: on its own), nodes, active nodes, whether it is on the ring, replicas, replication mode';

CREATE FUNCTION @extschema@.ps_cluster_nodes(OUT node integer, OUT host text,
	OUT port text, OUT dbname text, OUT virtual_nodes integer, OUT state text,
	OUT share double precision, OUT self boolean, OUT version bigint)
	RETURNS SETOF record
	AS 'MODULE_PATHNAME', 'ps_cluster_nodes'
	LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.ps_cluster_nodes() IS
	'the nodes of the cluster: id, where clients reach it (host, port, dbname of its conninfo), virtual nodes, state, share of the key space, whether it is this server, ring version';

CREATE FUNCTION @extschema@.ps_ring(OUT token bigint, OUT first_position bigint,
	OUT owner integer, OUT replicas integer[], OUT state text, OUT version bigint)
	RETURNS SETOF record
	AS 'MODULE_PATHNAME', 'ps_ring_tokens'
	LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.ps_ring() IS
	'the consistent-hashing ring, by token: the positions first_position .. token (the first token''s wrap around), the node holding their keys, the nodes with replicas, state, ring version';

CREATE FUNCTION @extschema@.ps_key_node(key bigint) RETURNS integer
	AS 'MODULE_PATHNAME', 'ps_key_node'
	LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.ps_key_node(bigint) IS
	'the node that holds key (NULL on a server on its own)';

CREATE FUNCTION @extschema@.ps_key_position(key bigint) RETURNS bigint
	AS 'MODULE_PATHNAME', 'ps_key_position'
	LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.ps_key_position(bigint) IS
	'the position of key on the ring: a hash of its block of 4096 keys (key >> 12)';

CREATE FUNCTION @extschema@.ps_cluster_apply(expect bigint, version bigint,
	replicas integer, synchronous boolean, nodes integer[],
	virtual_nodes integer[], states text[], conninfos text[]) RETURNS void
	AS 'MODULE_PATHNAME', 'ps_cluster_apply'
	LANGUAGE C VOLATILE PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION @extschema@.ps_cluster_apply(bigint, bigint, integer, boolean,
	integer[], integer[], text[], text[]) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.ps_cluster_apply(bigint, bigint, integer, boolean,
	integer[], integer[], text[], text[]) IS
	'internal: the admin functions'' change of this node''s ring, in a prepared transaction (superusers only)';

CREATE FUNCTION @extschema@.ps_cluster_add(conninfo text, virtual_nodes integer DEFAULT 16)
	RETURNS bigint
	AS 'MODULE_PATHNAME', 'ps_cluster_add'
	LANGUAGE C VOLATILE PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION @extschema@.ps_cluster_add(text, integer) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.ps_cluster_add(text, integer) IS
	'add the server at conninfo to the cluster, on every node or none (superusers only); returns the new ring version';

CREATE FUNCTION @extschema@.ps_cluster_remove(node integer) RETURNS bigint
	AS 'MODULE_PATHNAME', 'ps_cluster_remove'
	LANGUAGE C VOLATILE PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION @extschema@.ps_cluster_remove(integer) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.ps_cluster_remove(integer) IS
	'take a node off the ring, on every live node or none (superusers only); returns the new ring version';

CREATE FUNCTION @extschema@.ps_cluster_reset(force boolean DEFAULT false) RETURNS integer
	AS 'MODULE_PATHNAME', 'ps_cluster_reset'
	LANGUAGE C VOLATILE PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION @extschema@.ps_cluster_reset(boolean) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.ps_cluster_reset(boolean) IS
	'make this server one on its own again, with a new node id (superusers only); returns the new id';

-- A worker of a cluster joins one more server at the clock it is at
CREATE FUNCTION @extschema@.ps_join(tbl regclass, clock bigint) RETURNS integer
	AS 'MODULE_PATHNAME', 'ps_join'
	LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.ps_join(regclass, bigint) IS
	'join the workers training a ps table at the given clock (a worker of a cluster joining one more server); returns the worker id';

-- Replication after aggregation: the rows a node's replicator writes for
-- its replicas (one per aggregate and replica: the after-images of its
-- keys), published to node N as ps_to_N; pruned once every subscriber
-- has confirmed them.  On a replica the trigger applies each row to the
-- local ps table and stores nothing.  Written by the library only.
CREATE TABLE @extschema@.ps_delta (
	seq bigserial NOT NULL,
	origin integer NOT NULL,
	dest integer NOT NULL,
	tbl text NOT NULL,
	clock bigint NOT NULL,
	dim integer NOT NULL,
	width integer NOT NULL,
	keys bytea NOT NULL,
	vals bytea NOT NULL,
	made timestamptz NOT NULL,
	once bytea
);
-- out of line and not compressed: an aggregate's values compress poorly,
-- and compressing them cost the replicator and every subscriber CPU
ALTER TABLE @extschema@.ps_delta ALTER COLUMN keys SET STORAGE EXTERNAL,
	ALTER COLUMN vals SET STORAGE EXTERNAL, ALTER COLUMN once SET STORAGE EXTERNAL;
REVOKE ALL ON @extschema@.ps_delta FROM PUBLIC;
REVOKE ALL ON SEQUENCE @extschema@.ps_delta_seq_seq FROM PUBLIC;
COMMENT ON TABLE @extschema@.ps_delta IS
	'replicated aggregates on their way to the replicas (keys: the wire format''s varint list; after-images: float4 records; the exactly-once records of their pushes); written by the replicator';

-- What a replica applied of each origin: the last seq, when it was made
-- there and when it was applied here.
CREATE TABLE @extschema@.ps_replica_progress (
	origin integer PRIMARY KEY,
	seq bigint NOT NULL,
	made timestamptz NOT NULL,
	applied timestamptz NOT NULL
);
REVOKE ALL ON @extschema@.ps_replica_progress FROM PUBLIC;
COMMENT ON TABLE @extschema@.ps_replica_progress IS
	'the last replicated aggregate this node applied from each origin';

CREATE FUNCTION @extschema@.ps_delta_apply() RETURNS trigger
	AS 'MODULE_PATHNAME', 'ps_delta_apply'
	LANGUAGE C;
REVOKE ALL ON FUNCTION @extschema@.ps_delta_apply() FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.ps_delta_apply() IS
	'internal: applies a replicated aggregate on a replica (the trigger on ps_delta)';
CREATE TRIGGER ps_delta_apply BEFORE INSERT ON @extschema@.ps_delta
	FOR EACH ROW EXECUTE FUNCTION @extschema@.ps_delta_apply();
ALTER TABLE @extschema@.ps_delta ENABLE ALWAYS TRIGGER ps_delta_apply;

CREATE FUNCTION @extschema@.ps_cluster_configure(replicas integer DEFAULT NULL,
	replication text DEFAULT NULL) RETURNS bigint
	AS 'MODULE_PATHNAME', 'ps_cluster_configure'
	LANGUAGE C VOLATILE PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION @extschema@.ps_cluster_configure(integer, text) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.ps_cluster_configure(integer, text) IS
	'replicas per range and synchronous or asynchronous replication, on every node or none, and the publications and subscriptions they need (superusers only); returns the new ring version';

CREATE FUNCTION @extschema@.ps_replication_stats(OUT dbid oid, OUT pid integer,
	OUT synchronous boolean, OUT pending_bytes bigint, OUT tickets bigint,
	OUT confirmed bigint, OUT records bigint, OUT bytes bigint,
	OUT last_commit timestamptz) RETURNS record
	AS 'MODULE_PATHNAME', 'ps_replication_stats'
	LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;
REVOKE ALL ON FUNCTION @extschema@.ps_replication_stats() FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.ps_replication_stats() IS
	'this server''s replicator: aggregates waiting, written, their bytes (superusers only)';

-- Replication as this node sees it: a row per subscriber of its rows
-- (role 'origin': its slot, how far behind it is) and per origin it
-- replicates (role 'replica': the last row applied, and how long it took).
CREATE FUNCTION @extschema@.ps_replication(OUT role text, OUT node integer,
	OUT active boolean, OUT lag_bytes numeric, OUT last_seq bigint,
	OUT lag interval, OUT applied timestamptz) RETURNS SETOF record
	LANGUAGE sql STABLE PARALLEL RESTRICTED SET search_path = pg_catalog
	AS $$
	SELECT 'origin'::text,
		   pg_catalog.split_part(s.slot_name::text, '_', 3)::integer,
		   s.active,
		   pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), s.confirmed_flush_lsn),
		   NULL::bigint, NULL::interval, NULL::timestamptz
	  FROM pg_catalog.pg_replication_slots s
	 WHERE s.slot_name::text OPERATOR(pg_catalog.~) ('^ps_' OPERATOR(pg_catalog.||) @extschema@.ps_node_id() OPERATOR(pg_catalog.||) '_[0-9]+$')
	UNION ALL
	SELECT 'replica'::text, p.origin, true, NULL::numeric, p.seq,
		   p.applied OPERATOR(pg_catalog.-) p.made, p.applied
	  FROM @extschema@.ps_replica_progress p
	$$;
REVOKE ALL ON FUNCTION @extschema@.ps_replication() FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.ps_replication() IS
	'replication of this node: its subscribers and how far behind they are, the origins it replicates and their lag (superusers only)';

-- The failure detector (ps.heartbeat_interval, ps.failure_timeout): each
-- node's monitor watches the others and declares a silent one dead; an
-- operator may too.
CREATE FUNCTION @extschema@.ps_cluster_fail(node integer) RETURNS bigint
	AS 'MODULE_PATHNAME', 'ps_cluster_fail'
	LANGUAGE C VOLATILE PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION @extschema@.ps_cluster_fail(integer) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.ps_cluster_fail(integer) IS
	'declare a node dead on every live node: its ranges go to their replicas; returns the new ring version (superusers)';

-- The two phases of a join or leave, run on every server by ps_cluster_add
-- and ps_cluster_remove: copy the ranges it serves to the nodes that are to
-- hold them; wait until those nodes have applied what was written here.
CREATE FUNCTION @extschema@.ps_cluster_holds_keys() RETURNS boolean
	AS 'MODULE_PATHNAME', 'ps_cluster_holds_keys'
	LANGUAGE C VOLATILE PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION @extschema@.ps_cluster_holds_keys() FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.ps_cluster_holds_keys() IS
	'internal: does a ps table of this database hold a key? (superusers)';
CREATE FUNCTION @extschema@.ps_cluster_copy() RETURNS bigint
	AS 'MODULE_PATHNAME', 'ps_cluster_copy'
	LANGUAGE C VOLATILE PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION @extschema@.ps_cluster_copy() FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.ps_cluster_copy() IS
	'internal: copies the ranges this server serves to the nodes joining their holders; returns the key copies sent (superusers)';
CREATE FUNCTION @extschema@.ps_cluster_drain(timeout_ms integer) RETURNS bigint
	AS 'MODULE_PATHNAME', 'ps_cluster_drain'
	LANGUAGE C VOLATILE PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION @extschema@.ps_cluster_drain(integer) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.ps_cluster_drain(integer) IS
	'internal: waits until the nodes joining the holders of this server''s ranges have applied its writes; returns the bytes they are behind, 0 when through (superusers)';

CREATE FUNCTION @extschema@.ps_cluster_health(OUT node integer, OUT state text,
	OUT last_answer timestamptz, OUT rtt_ms double precision, OUT failures bigint)
	RETURNS SETOF record
	AS 'MODULE_PATHNAME', 'ps_cluster_health'
	LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.ps_cluster_health() IS
	'what this node''s monitor sees of each other active node: up, suspect or dead, its last answer, round trip, failures';

CREATE FUNCTION @extschema@.ps_cluster_monitor(OUT pid integer, OUT heartbeats bigint,
	OUT failovers bigint, OUT last_detect_ms bigint, OUT last_failover_ms bigint)
	RETURNS record
	AS 'MODULE_PATHNAME', 'ps_cluster_monitor'
	LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.ps_cluster_monitor() IS
	'this node''s monitor: its process, heartbeats answered, nodes it declared dead, and how long its last failover took';
