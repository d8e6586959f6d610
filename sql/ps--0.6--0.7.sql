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
