/* ps extension, version 0.7: the ps table access method, the SQL API, the binary wire format, training from SQL, configuration, workers, filters and clusters */

-- Every object this script names is schema-qualified (@extschema@ or
-- pg_catalog), so that nothing the installing role's search_path finds can
-- take part.  The library runs no SQL of its own: the configuration is read
-- and written in C, and the row of a dropped table is deleted by the
-- library's object access hook (version 0.2 had an event trigger).

\echo Use "CREATE EXTENSION ps" to load this file. \quit

CREATE FUNCTION @extschema@.ps_version() RETURNS text
	AS 'MODULE_PATHNAME', 'ps_version'
	LANGUAGE C STRICT STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.ps_version() IS
	'version of the ps library; fails unless ps is in shared_preload_libraries';

-- Refuse to install where the library is not preloaded: ps tables could not
-- be used there, and the error says how to fix it.
DO $$ BEGIN PERFORM @extschema@.ps_version(); END $$;

CREATE FUNCTION @extschema@.ps_tableam_handler(internal) RETURNS table_am_handler
	AS 'MODULE_PATHNAME', 'ps_tableam_handler'
	LANGUAGE C STRICT;

CREATE ACCESS METHOD ps TYPE TABLE HANDLER @extschema@.ps_tableam_handler;
COMMENT ON ACCESS METHOD ps IS
	'parameter tables: (key bigint, val real or real[]) in sorted key ranges';

-- Pushes and pulls check NULL arguments themselves (with a clear error),
-- so none of these functions is STRICT.  Readers are PARALLEL RESTRICTED:
-- they may be given a temporary table, which parallel workers cannot read.

CREATE FUNCTION @extschema@.ps_push(tbl regclass, keys bigint[], vals real[],
	worker integer DEFAULT NULL, clock bigint DEFAULT NULL) RETURNS bigint
	AS 'MODULE_PATHNAME', 'ps_push'
	LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.ps_push(regclass, bigint[], real[], integer, bigint) IS
	'push vals (dim per key) to keys through the update rule; returns the task timestamp';

CREATE FUNCTION @extschema@.ps_pull(tbl regclass, keys bigint[],
	worker integer DEFAULT NULL, clock bigint DEFAULT NULL) RETURNS real[]
	AS 'MODULE_PATHNAME', 'ps_pull'
	LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.ps_pull(regclass, bigint[], integer, bigint) IS
	'values of keys (dim per key) in the order of keys; missing keys read as 0; a worker''s pull waits as the consistency model says';

CREATE FUNCTION @extschema@.ps_push_range(tbl regclass, first bigint, vals real[],
	worker integer DEFAULT NULL, clock bigint DEFAULT NULL) RETURNS bigint
	AS 'MODULE_PATHNAME', 'ps_push_range'
	LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.ps_push_range(regclass, bigint, real[], integer, bigint) IS
	'push vals to keys first, first+1, ...; returns the task timestamp';

CREATE FUNCTION @extschema@.ps_pull_range(tbl regclass, lo bigint, hi bigint,
	worker integer DEFAULT NULL, clock bigint DEFAULT NULL) RETURNS real[]
	AS 'MODULE_PATHNAME', 'ps_pull_range'
	LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.ps_pull_range(regclass, bigint, bigint, integer, bigint) IS
	'values of keys lo .. hi-1 (dim per key); missing keys read as 0';

CREATE FUNCTION @extschema@.ps_wait(tbl regclass, ts bigint) RETURNS void
	AS 'MODULE_PATHNAME', 'ps_wait'
	LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.ps_wait(regclass, bigint) IS
	'return once the push with timestamp ts is applied';

CREATE FUNCTION @extschema@.ps_ranges(tbl regclass,
	OUT lo bigint, OUT hi bigint, OUT keys bigint, OUT pages integer,
	OUT clock bigint, OUT workers integer[], OUT clocks bigint[]) RETURNS SETOF record
	AS 'MODULE_PATHNAME', 'ps_ranges'
	LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.ps_ranges(regclass) IS
	'key ranges in key order: runs of leaves with one clock and one vector clock (workers[i] at clocks[i])';

CREATE FUNCTION @extschema@.ps_clocks(tbl regclass,
	OUT lo bigint, OUT hi bigint, OUT workers integer[], OUT clocks bigint[])
	RETURNS SETOF record
	AS 'MODULE_PATHNAME', 'ps_clocks'
	LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.ps_clocks(regclass) IS
	'the range vector clock: key ranges over which every worker''s clock is the same';

CREATE FUNCTION @extschema@.ps_stats(tbl regclass,
	OUT dim integer, OUT keys bigint, OUT leaves integer,
	OUT dense_leaves integer, OUT directory_pages integer, OUT pages bigint,
	OUT last_timestamp bigint) RETURNS record
	AS 'MODULE_PATHNAME', 'ps_stats'
	LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.ps_stats(regclass) IS
	'size and shape of a ps table';

CREATE FUNCTION @extschema@.ps_check(tbl regclass) RETURNS bigint
	AS 'MODULE_PATHNAME', 'ps_check'
	LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.ps_check(regclass) IS
	'verify the structure of a ps table; returns its number of keys';

-- Configuration of ps tables: one row per configured table (a table
-- without a row has the sum rule and eventual consistency).  Written by
-- ps_configure() (and only by superusers otherwise), readable by all,
-- dumped by pg_dump.
CREATE TABLE @extschema@.ps_config (
	tbl regclass PRIMARY KEY,
	update_rule text NOT NULL CHECK (update_rule IN ('sum', 'sgd', 'adagrad', 'ftrl')),
	consistency text NOT NULL CHECK (consistency IN ('eventual', 'sequential', 'bounded')),
	max_delay integer NOT NULL CHECK (max_delay >= 0),
	learning_rate real NOT NULL CHECK (learning_rate > 0),
	l1 real NOT NULL CHECK (l1 >= 0),
	l2 real NOT NULL CHECK (l2 >= 0),
	beta real NOT NULL CHECK (beta >= 0),
	kkt_filter boolean NOT NULL,
	significance real NOT NULL CHECK (significance >= 0)
);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.ps_config'::pg_catalog.regclass, '');
REVOKE ALL ON @extschema@.ps_config FROM PUBLIC;
GRANT SELECT ON @extschema@.ps_config TO PUBLIC;
COMMENT ON TABLE @extschema@.ps_config IS
	'configuration of ps tables; change it with ps_configure()';

-- A row changed by SQL (a superuser, pg_restore) takes effect like one
-- ps_configure writes: backends re-read the table's configuration, and
-- waiting pulls see a new consistency model, when the change commits.
CREATE FUNCTION @extschema@.ps_config_changed() RETURNS trigger
	AS 'MODULE_PATHNAME', 'ps_config_changed'
	LANGUAGE C;
REVOKE ALL ON FUNCTION @extschema@.ps_config_changed() FROM PUBLIC;
CREATE TRIGGER ps_config_changed AFTER INSERT OR UPDATE OR DELETE ON @extschema@.ps_config
	FOR EACH ROW EXECUTE FUNCTION @extschema@.ps_config_changed();

CREATE FUNCTION @extschema@.ps_configure(tbl regclass,
	update_rule text DEFAULT NULL, consistency text DEFAULT NULL,
	max_delay integer DEFAULT NULL, learning_rate real DEFAULT NULL,
	l1 real DEFAULT NULL, l2 real DEFAULT NULL, beta real DEFAULT NULL,
	kkt_filter boolean DEFAULT NULL, significance real DEFAULT NULL)
	RETURNS @extschema@.ps_config
	AS 'MODULE_PATHNAME', 'ps_configure'
	LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.ps_configure(regclass, text, text, integer, real, real, real, real, boolean, real) IS
	'set the update rule, consistency model and their parameters of a ps table (NULL: keep); needs ownership';

-- Workers
CREATE FUNCTION @extschema@.ps_join(tbl regclass) RETURNS integer
	AS 'MODULE_PATHNAME', 'ps_join'
	LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.ps_join(regclass) IS
	'join the workers training a ps table; returns the worker id';

CREATE FUNCTION @extschema@.ps_leave(tbl regclass, worker integer) RETURNS void
	AS 'MODULE_PATHNAME', 'ps_leave'
	LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.ps_leave(regclass, integer) IS
	'a worker stops training: it no longer holds back other workers';

CREATE FUNCTION @extschema@.ps_workers(tbl regclass,
	OUT worker integer, OUT state text, OUT clock bigint,
	OUT last_seen timestamptz, OUT pid integer, OUT role regrole)
	RETURNS SETOF record
	AS 'MODULE_PATHNAME', 'ps_workers'
	LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.ps_workers(regclass) IS
	'workers of a ps table: id, state (active, left, dropped), clock, last call, backend, the role that joined it';

-- Filters
CREATE FUNCTION @extschema@.ps_pull_active(tbl regclass, keys bigint[],
	worker integer DEFAULT NULL, clock bigint DEFAULT NULL,
	OUT active_keys bigint[], OUT vals real[]) RETURNS record
	AS 'MODULE_PATHNAME', 'ps_pull_active'
	LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.ps_pull_active(regclass, bigint[], integer, bigint) IS
	'of keys, those with a nonzero value, with their values (dim per key), in key order';

CREATE FUNCTION @extschema@.ps_pull_changed(tbl regclass, keys bigint[],
	worker integer, clock bigint DEFAULT NULL,
	OUT changed_keys bigint[], OUT vals real[]) RETURNS record
	AS 'MODULE_PATHNAME', 'ps_pull_changed'
	LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.ps_pull_changed(regclass, bigint[], integer, bigint) IS
	'of keys, those whose value moved by more than the table''s significance since this worker last pulled them';

CREATE FUNCTION @extschema@.ps_push_msg(tbl regclass, msg bytea) RETURNS bigint
	AS 'MODULE_PATHNAME', 'ps_push_msg'
	LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.ps_push_msg(regclass, bytea) IS
	'a push in the binary wire format of the client library (keys or a range, values, worker and clock); returns its task timestamp';

CREATE FUNCTION @extschema@.ps_pull_msg(tbl regclass, msg bytea) RETURNS bytea
	AS 'MODULE_PATHNAME', 'ps_pull_msg'
	LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.ps_pull_msg(regclass, bytea) IS
	'a pull in the binary wire format of the client library; returns a values message: dim values per key, in key order';

CREATE FUNCTION @extschema@.ps_filters(tbl regclass,
	OUT filter text, OUT keys bigint, OUT bytes bigint) RETURNS SETOF record
	AS 'MODULE_PATHNAME', 'ps_filters'
	LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.ps_filters(regclass) IS
	'keys and bytes each filter removed from pushes and pulls since the server started';

CREATE FUNCTION @extschema@.ps_scheduler(OUT applier integer, OUT pid integer,
	OUT rounds bigint, OUT aggregates bigint, OUT pushes bigint,
	OUT failed bigint, OUT keys_pushed bigint, OUT keys_applied bigint,
	OUT directories bigint, OUT split_parts bigint, OUT gather_waits bigint,
	OUT gather_time double precision)
	RETURNS SETOF record
	AS 'MODULE_PATHNAME', 'ps_scheduler'
	LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.ps_scheduler() IS
	'what each applier of the scheduler did since the server started: rounds, aggregates, pushes, keys, parts of split groups, gather-window waits (ms); the table directories it holds';

-- Training from SQL: a LibSVM line parser, predictions, and the gradient
-- of the logistic loss over rows of examples (label, keys, vals).

CREATE FUNCTION @extschema@.ps_libsvm(line text,
	OUT label real, OUT keys bigint[], OUT vals real[]) RETURNS record
	AS 'MODULE_PATHNAME', 'ps_libsvm'
	LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.ps_libsvm(text) IS
	'one line of LibSVM text parsed: label (+1 or -1; 1/0 read as +1/-1), feature ids as keys and their values, in the order of the line';

CREATE FUNCTION @extschema@.ps_predict(tbl regclass, keys bigint[], vals real[])
	RETURNS double precision
	AS 'MODULE_PATHNAME', 'ps_predict'
	LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.ps_predict(regclass, bigint[], real[]) IS
	'the probability 1 / (1 + exp(-w.x)) of the positive class for the features (keys, vals) under the weights of a ps table of dim 1';

CREATE TYPE @extschema@.ps_gradient AS (keys bigint[], grad real[],
	loss double precision, examples bigint);
COMMENT ON TYPE @extschema@.ps_gradient IS
	'what ps_logistic_grad returns: the distinct keys of its rows (ascending), the gradient of the logistic loss at each, the loss, the number of rows';

CREATE FUNCTION @extschema@.ps_logistic_grad_step(internal, regclass, real, bigint[], real[])
	RETURNS internal
	AS 'MODULE_PATHNAME', 'ps_logistic_grad_step'
	LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.ps_logistic_grad_step(internal, regclass, real, bigint[], real[]) IS
	'transition function of ps_logistic_grad';

CREATE FUNCTION @extschema@.ps_logistic_grad_final(internal)
	RETURNS @extschema@.ps_gradient
	AS 'MODULE_PATHNAME', 'ps_logistic_grad_final'
	LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.ps_logistic_grad_final(internal) IS
	'final function of ps_logistic_grad';

CREATE AGGREGATE @extschema@.ps_logistic_grad(tbl regclass, label real, keys bigint[], vals real[]) (
	SFUNC = @extschema@.ps_logistic_grad_step,
	STYPE = internal,
	FINALFUNC = @extschema@.ps_logistic_grad_final,
	FINALFUNC_MODIFY = READ_ONLY
);
COMMENT ON AGGREGATE @extschema@.ps_logistic_grad(regclass, real, bigint[], real[]) IS
	'the gradient of sum log(1 + exp(-y w.x)) over its rows at the weights of a ps table of dim 1 (read once, for all the rows'' keys), and the loss';


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
