--
-- ps_security: what the hardening of version 0.3 guarantees.
--
-- 1. Nothing the extension runs itself calls anything found on the
--    caller's search_path.  An earlier library ran "SELECT ... FROM
--    ps_config WHERE tbl = $1" through SPI as the caller, so an operator
--    =(regclass, oid) planted in a schema that a superuser's search_path
--    reaches first ran with the superuser's privileges.  Here a schema
--    listed before pg_catalog holds a planted comparison operator for
--    every common type pair, functions named like common built-ins, and
--    a table ps_config holding rows that would change tables' rules;
--    every ps function, every statement on ps tables, DROP EXTENSION and
--    CREATE EXTENSION run under that search_path, and none of them calls
--    a planted object, nor reads the planted ps_config.
-- 2. A temporary table named pg_class does not keep a dropped table's
--    configuration row (version 0.2's event trigger could be blinded so).
-- 3. A worker's calls need UPDATE on the table and the privileges of the
--    role that joined the worker: a role that may only read cannot move a
--    worker's clock or heartbeat, another role cannot act as someone
--    else's worker or make it leave; members of the joining role may act
--    as it, and the table's owner may make any worker leave.
-- 4. Materialized views USING ps are written only by REFRESH: no push,
--    configuration or worker reaches them.
-- 5. ps_configure checks ownership before anything else, and errors name
--    a table only to roles that could name it (some privilege on it, or
--    USAGE on its schema); others read "relation with OID n".
-- 6. FTRL configurations under which a key's first step is infinite
--    (beta = 0 and l2 = 0) are refused, and a row of an older version
--    holding one stops writes, not reads; with beta > 0 an INSERTed weight
--    survives a zero gradient exactly.
--
-- After each statement that is expected to fail, \echo :LAST_ERROR_SQLSTATE
-- shows the error code it raised, and a query shows nothing changed.
--

--
-- 1. Nothing runs through the caller's search_path
--

-- The trap: in schema regress_ps_trap, the comparison operators for ten
-- type pairs and some thirty functions named like built-ins, each raising
-- "planted ... called".
CREATE SCHEMA regress_ps_trap;
DO $$
DECLARE
  ops text[] := '{=,<>,<,>,<=,>=}';
  opnames text[] := '{eq,ne,lt,gt,le,ge}';
  t text[];
  f text;
BEGIN
  FOR i IN 1 .. 6 LOOP
    FOREACH t SLICE 1 IN ARRAY '{{oid,oid},{regclass,oid},{oid,regclass},
        {regclass,regclass},{int4,int4},{int8,int8},{text,text},{name,name},
        {bool,bool},{float4,float4}}'::text[] LOOP
      f := format('regress_ps_trap.trap_%s_%s_%s', opnames[i], t[1], t[2]);
      EXECUTE format('CREATE FUNCTION %s(%s, %s) RETURNS boolean LANGUAGE plpgsql '
                     'AS $f$ BEGIN RAISE EXCEPTION ''planted %% called'', %L; END $f$',
                     f, t[1], t[2], format('%s(%s, %s)', ops[i], t[1], t[2]));
      EXECUTE format('CREATE OPERATOR regress_ps_trap.%s (LEFTARG = %s, RIGHTARG = %s, FUNCTION = %s)',
                     ops[i], t[1], t[2], f);
    END LOOP;
  END LOOP;
  -- signature|result
  FOREACH f IN ARRAY ARRAY[
      'cardinality(anyarray)|integer', 'array_length(anyarray, integer)|integer',
      'array_position(anyarray, anyelement)|integer', 'unnest(anyarray)|SETOF anyelement',
      'generate_series(bigint, bigint)|SETOF bigint', 'lower(text)|text', 'upper(text)|text',
      'length(text)|integer', 'format(text)|text', 'quote_ident(text)|text',
      'quote_literal(text)|text', 'textregexeq(text, text)|boolean',
      'texteq(text, text)|boolean', 'oideq(oid, oid)|boolean', 'int8eq(bigint, bigint)|boolean',
      'current_setting(text)|text', 'current_setting(text, boolean)|text',
      'set_config(text, text, boolean)|text', 'now()|timestamp with time zone',
      'txid_current()|bigint', 'pg_backend_pid()|integer', 'nextval(regclass)|bigint',
      'pg_advisory_xact_lock(bigint)|void', 'to_regclass(text)|regclass',
      'pg_table_is_visible(oid)|boolean', 'has_table_privilege(oid, text)|boolean',
      'has_table_privilege(text, text)|boolean', 'pg_has_role(name, text)|boolean',
      'pg_get_expr(pg_node_tree, oid)|text', 'pg_relation_size(regclass)|bigint',
      'pg_event_trigger_dropped_objects()|TABLE(classid oid, objid oid, objsubid integer)'] LOOP
    EXECUTE format('CREATE FUNCTION regress_ps_trap.%s RETURNS %s LANGUAGE plpgsql '
                   'AS $f$ BEGIN RAISE EXCEPTION ''planted %% called'', %L; END $f$',
                   split_part(f, '|', 1), split_part(f, '|', 2), split_part(f, '|', 1));
  END LOOP;
END $$;
-- A table named ps_config with the columns of the extension's.
CREATE TABLE regress_ps_trap.ps_config (LIKE public.ps_config);
SELECT (SELECT count(*) FROM pg_operator WHERE oprnamespace = 'regress_ps_trap'::regnamespace) AS operators,
       (SELECT count(*) FROM pg_proc WHERE pronamespace = 'regress_ps_trap'::regnamespace) AS functions;

-- From here on, the trap schema comes before pg_catalog (so this file's
-- own statements name pg_catalog's objects where they use any).
SET search_path = regress_ps_trap, pg_catalog, public;

-- The trap works: an unqualified comparison or function call runs the
-- planted one.
SELECT 1::oid = 1::oid;
\echo :LAST_ERROR_SQLSTATE
SELECT 'x'::text < 'y'::text;
\echo :LAST_ERROR_SQLSTATE
SELECT cardinality('{1,2}'::real[]);
\echo :LAST_ERROR_SQLSTATE

-- CREATE TABLE, with a dim declared in pg_catalog's terms.  The tables go
-- to the first schema of the search_path, regress_ps_trap.
CREATE TABLE sec_w (key bigint, val real) USING ps;
CREATE TABLE sec_plain (key bigint, val real) USING ps;
CREATE TABLE sec_vec (key bigint,
  val real[] CHECK (pg_catalog.cardinality(val) OPERATOR(pg_catalog.=) 4)) USING ps;
SELECT dim FROM ps_stats('sec_vec');

-- The planted ps_config (the one this search_path finds) says sec_w and
-- sec_plain use sgd with learning rate 100: if the library read it, a
-- push of 1 would give -100 (and ps_configure would return its values).
INSERT INTO ps_config VALUES
  ('sec_w', 'sgd', 'sequential', 0, 100, 0, 0, 1, false, 0),
  ('sec_plain', 'sgd', 'sequential', 0, 100, 0, 0, 1, false, 0);
SELECT tbl, update_rule, consistency, learning_rate FROM ps_config ORDER BY tbl::text;

-- ps_configure with several rules: each returns the row of the extension's
-- ps_config, built from its own previous row, not the planted one.
SELECT * FROM ps_configure('sec_w', consistency => 'bounded', max_delay => 2);
CREATE TABLE sec_rules (key bigint, val real) USING ps;
SELECT * FROM ps_configure('sec_rules', 'adagrad', learning_rate => 0.5);
SELECT * FROM ps_configure('sec_rules', 'ftrl', l1 => 0.5, kkt_filter => true);
SELECT * FROM ps_configure('sec_rules', consistency => 'sequential', significance => 0.25);
SELECT tbl, update_rule, consistency, max_delay, learning_rate, l1, kkt_filter
  FROM public.ps_config ORDER BY tbl::text;
-- The statement the library used to run would have called the planted
-- operator.
SELECT update_rule FROM public.ps_config WHERE tbl = 'sec_w'::regclass;
\echo :LAST_ERROR_SQLSTATE

-- Pushes and pulls: sec_plain has no row, so the sum rule (key 2:
-- 2 + 1 = 3); sec_w has the sum rule of its own row.
SELECT ps_push('sec_plain', '{1,2}', '{1,2}');
SELECT ps_push('sec_plain', '{2,3}', '{1,1}');
SELECT ps_push_range('sec_w', 1, '{1,2,3}');
SELECT ps_pull('sec_plain', '{3,2,1,4}'), ps_pull_range('sec_w', 0, 5), ps_wait('sec_w', 1);
-- ftrl, learning rate 0.5, l1 0.5, beta 1: key 1, g = 2: n = 4,
-- z = 2, w = -(2 - 0.5) / ((1 + 2) / 0.5) = -0.25; key 2, g = 0.25:
-- |0 + 0.25| <= l1, so the KKT filter drops it and it stays 0.
SELECT ps_push('sec_rules', '{1,2}', '{2,0.25}');
SELECT ps_pull('sec_rules', '{1,2}');
SELECT * FROM ps_filters('sec_rules');
-- dim 4
SELECT ps_push('sec_vec', '{7}', '{1,2,3,4}');
SELECT ps_pull('sec_vec', '{7,8}');

-- Workers (one worker: its pulls never wait).
SELECT ps_join('sec_w');
SELECT ps_push('sec_w', '{1}', '{10}', 1, 3);
SELECT ps_pull('sec_w', '{1,2}', 1, 4), ps_pull_range('sec_w', 1, 3, 1, 4);
SELECT * FROM ps_pull_active('sec_w', '{0,1,2,9}', 1, 4);
SELECT * FROM ps_pull_changed('sec_w', '{1,2}', 1);
SELECT * FROM ps_pull_changed('sec_w', '{1,2}', 1, 4);
SELECT worker, state, clock, role FROM ps_workers('sec_w');
SELECT * FROM ps_clocks('sec_w');
SELECT lo, hi, keys, pages, workers, clocks FROM ps_ranges('sec_w');
SELECT ps_leave('sec_w', 1);
SELECT worker, state, clock, role FROM ps_workers('sec_w');
SELECT ps_check('sec_w'), ps_check('sec_plain'), ps_version(),
       (SELECT bool_and(rounds IS NOT NULL) FROM ps_scheduler()) AS scheduler;
SELECT dim, keys, leaves FROM ps_stats('sec_w');

-- INSERT, INSERT ... SELECT from the same table (written once the
-- statement has read everything), COPY both ways, SELECT.
INSERT INTO sec_plain VALUES (10, 0.5), (11, 1.5);
INSERT INTO sec_plain SELECT key + 100, val FROM sec_plain;
COPY sec_plain FROM stdin;
20	-1
21	-2
\.
COPY sec_plain TO stdout;
INSERT INTO sec_vec VALUES (8, '{5,6,7,8}');
SELECT * FROM sec_vec;

-- TRUNCATE, VACUUM, VACUUM FULL, ANALYZE.
TRUNCATE sec_plain;
SELECT * FROM sec_plain;
INSERT INTO sec_plain VALUES (1, 1), (2, 2);
VACUUM sec_plain;
VACUUM FULL sec_plain;
ANALYZE sec_plain;
SELECT * FROM sec_plain;

-- Rewrites keep the values and the configuration.
ALTER TABLE sec_w SET UNLOGGED;
ALTER TABLE sec_w SET LOGGED;
ALTER TABLE sec_w SET ACCESS METHOD heap;
SELECT * FROM sec_w;
ALTER TABLE sec_w SET ACCESS METHOD ps;
SELECT * FROM sec_w;
SELECT ps_push('sec_w', '{1}', '{1}') IS NOT NULL AS pushed;
SELECT ps_pull('sec_w', '{1,2,3}');
SELECT tbl, update_rule, consistency, max_delay FROM public.ps_config ORDER BY tbl::text;

-- Materialized views and CREATE TABLE AS.
CREATE MATERIALIZED VIEW sec_mv USING ps AS SELECT key, val FROM sec_w;
SELECT * FROM sec_mv;
SELECT ps_push('sec_w', '{4}', '{4}') IS NOT NULL AS pushed;
REFRESH MATERIALIZED VIEW sec_mv;
SELECT * FROM sec_mv;
CREATE TABLE sec_ctas USING ps AS SELECT key, val FROM sec_mv;
SELECT ps_pull('sec_ctas', '{1,4}');
DROP MATERIALIZED VIEW sec_mv;

-- DROP TABLE of a configured table: its row goes (deleted in C), and
-- nothing planted is called.
SELECT count(*) FROM public.ps_config;
DROP TABLE sec_rules;
SELECT tbl FROM public.ps_config ORDER BY tbl::text;

-- The planted table changed nothing, and still holds its two rows.
SELECT count(*) FROM ps_config;

-- DROP EXTENSION ps CASCADE drops the ps tables with it (and their rows
-- with ps_config); CREATE EXTENSION (into public: without SCHEMA it would
-- go to the first schema of this search_path) works again at once.
SET client_min_messages = warning;
DROP EXTENSION ps CASCADE;
RESET client_min_messages;
SELECT count(*) FROM pg_catalog.pg_class WHERE relname OPERATOR(pg_catalog.~~) 'sec\_%';
CREATE EXTENSION ps SCHEMA public;
SELECT extversion, extnamespace::regnamespace FROM pg_catalog.pg_extension
  WHERE extname OPERATOR(pg_catalog.=) 'ps';
CREATE TABLE sec_again (key bigint, val real) USING ps;
SELECT tbl, update_rule, learning_rate FROM ps_configure('sec_again', 'sgd', learning_rate => 0.5);
SELECT ps_push('sec_again', '{1}', '{4}');
SELECT ps_pull('sec_again', '{1}');
SELECT tbl, update_rule FROM public.ps_config;
DROP TABLE sec_again;
SELECT count(*) FROM public.ps_config;

RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA regress_ps_trap CASCADE;
RESET client_min_messages;

--
-- 2. A temporary table named pg_class cannot keep a configuration row
--

-- Version 0.2's event trigger looked up 'pg_class'::regclass with
-- search_path pg_catalog, where a temporary table comes first.
CREATE TEMP TABLE pg_class (oid oid, relname name);
CREATE TABLE sec_cfg (key bigint, val real) USING ps;
SELECT update_rule FROM ps_configure('sec_cfg', 'sgd');
SELECT 'sec_cfg'::regclass::oid AS sec_cfg_oid \gset
SELECT count(*) FROM ps_config;
-- A DROP that is rolled back keeps the row ...
BEGIN;
DROP TABLE sec_cfg;
SELECT count(*) FROM ps_config WHERE tbl = :sec_cfg_oid;
ROLLBACK;
SELECT count(*) FROM ps_config WHERE tbl = :sec_cfg_oid;
-- ... a committed one deletes it.
DROP TABLE sec_cfg;
SELECT count(*) FROM ps_config WHERE tbl = :sec_cfg_oid;
SELECT count(*) FROM ps_config;
DROP TABLE pg_temp.pg_class;

--
-- 3. A worker's calls need UPDATE and the joining role's privileges
--

CREATE ROLE regress_ps_reader;  -- SELECT only
CREATE ROLE regress_ps_trainer; -- SELECT, UPDATE: joins worker 1
CREATE ROLE regress_ps_other;   -- SELECT, UPDATE
CREATE ROLE regress_ps_member IN ROLE regress_ps_trainer;   -- all through trainer
CREATE ROLE regress_ps_noinherit NOINHERIT IN ROLE regress_ps_trainer; -- SELECT, UPDATE
CREATE ROLE regress_ps_owner;   -- will own the table
CREATE TABLE sec_train (key bigint, val real) USING ps;
GRANT SELECT ON sec_train TO regress_ps_reader;
GRANT SELECT, UPDATE ON sec_train TO regress_ps_trainer, regress_ps_other,
  regress_ps_noinherit;
CREATE VIEW sec_workers AS
  SELECT worker, state, clock, role FROM ps_workers('sec_train') ORDER BY worker;
-- The values of keys 1, 2 and 3.
CREATE VIEW sec_train_vals AS SELECT ps_pull('sec_train', '{1,2,3}') AS vals;

-- The trainer joins worker 1 and pushes for clock 2: it is at clock 1.
SET ROLE regress_ps_trainer;
SELECT ps_join('sec_train');
SELECT ps_push('sec_train', '{1}', '{1}', 1, 2);
RESET ROLE;
SELECT * FROM sec_workers;
SELECT last_seen AS seen FROM ps_workers('sec_train') WHERE worker = 1 \gset
-- (Whether worker 1's last call is still that one.)
CREATE VIEW sec_seen AS
  SELECT last_seen = :'seen' AS same_last_seen FROM ps_workers('sec_train') WHERE worker = 1;

-- The reader may pull, but no call of a worker: each would move its clock
-- or its heartbeat.
SET ROLE regress_ps_reader;
SELECT ps_pull('sec_train', '{1,2}');
SELECT ps_pull_range('sec_train', 1, 3);
SELECT * FROM ps_pull_active('sec_train', '{1,2}');
SELECT worker, state, clock, role FROM ps_workers('sec_train');
SELECT ps_pull('sec_train', '{1,2}', 1, 5);
\echo :LAST_ERROR_SQLSTATE
SELECT ps_pull_range('sec_train', 1, 3, 1, 5);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM ps_pull_active('sec_train', '{1,2}', 1, 5);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM ps_pull_changed('sec_train', '{1,2}', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM ps_pull_changed('sec_train', '{1,2}', 1, 5);
\echo :LAST_ERROR_SQLSTATE
SELECT ps_push('sec_train', '{1}', '{1}', 1, 5);
\echo :LAST_ERROR_SQLSTATE
SELECT ps_join('sec_train');
\echo :LAST_ERROR_SQLSTATE
SELECT ps_leave('sec_train', 1);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT * FROM sec_workers;
SELECT * FROM sec_seen;
SELECT * FROM sec_train_vals;

-- Another role with UPDATE has workers of its own, but may not act as the
-- trainer's worker, nor make it leave.
SET ROLE regress_ps_other;
SELECT ps_join('sec_train');
SELECT ps_push('sec_train', '{2}', '{2}', 2, 1);
SELECT ps_push('sec_train', '{1}', '{1}', 1, 5);
\echo :LAST_ERROR_SQLSTATE
SELECT ps_push_range('sec_train', 1, '{1}', 1, 5);
\echo :LAST_ERROR_SQLSTATE
SELECT ps_pull('sec_train', '{1}', 1, 5);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM ps_pull_changed('sec_train', '{1}', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT ps_leave('sec_train', 1);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT * FROM sec_workers;
SELECT * FROM sec_seen;
SELECT * FROM sec_train_vals;

-- A member of the trainer role has its privileges (UPDATE included) and
-- may act as its worker; the worker stays the trainer's.
SET ROLE regress_ps_member;
SELECT ps_push('sec_train', '{3}', '{3}', 1, 3);
SELECT ps_pull('sec_train', '{1,2,3}', 1, 4);
SELECT * FROM ps_pull_changed('sec_train', '{1,3}', 1);
RESET ROLE;
SELECT * FROM sec_workers;
SELECT last_seen AS seen FROM ps_workers('sec_train') WHERE worker = 1 \gset
CREATE OR REPLACE VIEW sec_seen AS
  SELECT last_seen = :'seen' AS same_last_seen FROM ps_workers('sec_train') WHERE worker = 1;
-- A member that does not inherit the trainer's privileges may not, even
-- with UPDATE of its own.
SET ROLE regress_ps_noinherit;
SELECT ps_push('sec_train', '{1}', '{1}', 1, 5);
\echo :LAST_ERROR_SQLSTATE
SELECT ps_leave('sec_train', 1);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT * FROM sec_workers;
SELECT * FROM sec_seen;

-- The table's owner (not a superuser, not a member of either role) may
-- make any worker leave, but not act as one.
ALTER TABLE sec_train OWNER TO regress_ps_owner;
SET ROLE regress_ps_owner;
SELECT ps_push('sec_train', '{1}', '{1}', 1, 5);
\echo :LAST_ERROR_SQLSTATE
SELECT ps_leave('sec_train', 1);
SELECT ps_leave('sec_train', 2);
RESET ROLE;
SELECT * FROM sec_workers;
SELECT * FROM sec_train_vals;

DROP VIEW sec_workers, sec_train_vals, sec_seen;
DROP TABLE sec_train;

--
-- 4. Materialized views USING ps are written only by REFRESH
--

CREATE TABLE sec_src (key bigint, val real) USING ps;
SELECT ps_push('sec_src', '{1,2}', '{1,2}');
CREATE MATERIALIZED VIEW sec_view USING ps AS SELECT key, val FROM sec_src;
SELECT ps_push('sec_view', '{1}', '{10}');
\echo :LAST_ERROR_SQLSTATE
SELECT ps_push_range('sec_view', 1, '{10}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM ps_configure('sec_view', 'sgd');
\echo :LAST_ERROR_SQLSTATE
SELECT ps_join('sec_view');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM sec_view;
SELECT count(*) FROM ps_config WHERE tbl = 'sec_view'::regclass;
SELECT * FROM ps_workers('sec_view');
-- Pulls and SELECT read it; REFRESH writes it.
SELECT ps_pull('sec_view', '{2,1,3}'), ps_pull_range('sec_view', 0, 3);
SELECT * FROM ps_pull_active('sec_view', '{0,1,2}');
SELECT ps_push('sec_src', '{3}', '{3}');
REFRESH MATERIALIZED VIEW sec_view;
SELECT * FROM sec_view;
SELECT ps_check('sec_view');
DROP MATERIALIZED VIEW sec_view;
DROP TABLE sec_src;

--
-- 5. ps_configure checks ownership first; errors name tables only to
--    those who could name them
--

CREATE ROLE regress_ps_stranger;
CREATE SCHEMA sec_hidden;
CREATE TABLE sec_hidden.t (key bigint, val real) USING ps;
CREATE TABLE sec_hidden.h (key bigint, val real);
SELECT 'sec_hidden.t'::regclass::oid AS hidden_t, 'sec_hidden.h'::regclass::oid AS hidden_h \gset
-- Runs stmt, returns its SQLSTATE and message with the OID hide replaced.
CREATE FUNCTION sec_error(stmt text, hide oid) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE stmt;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || replace(SQLERRM, hide::text, '<oid>');
END $$;

-- Without any privilege on the table nor USAGE on its schema: the OID
-- only.  Ownership is checked before the values (a bad rule) and before
-- the kind of table (a heap table); the isolation test
-- lock_before_privilege shows it is checked before any lock, too.
SET ROLE regress_ps_stranger;
SELECT sec_error(format('SELECT ps_configure(%s)', :hidden_t), :hidden_t);
SELECT sec_error(format('SELECT ps_configure(%s, %L)', :hidden_t, 'momentum'), :hidden_t);
SELECT sec_error(format('SELECT ps_configure(%s)', :hidden_h), :hidden_h);
SELECT sec_error(format('SELECT ps_pull(%s, %L)', :hidden_t, '{1}'), :hidden_t);
SELECT sec_error(format('SELECT ps_push(%s, %L, %L)', :hidden_t, '{1}', '{1}'), :hidden_t);
SELECT sec_error(format('SELECT ps_join(%s)', :hidden_t), :hidden_t);
RESET ROLE;
-- With USAGE on the schema, the name.
GRANT USAGE ON SCHEMA sec_hidden TO regress_ps_stranger;
SET ROLE regress_ps_stranger;
SELECT ps_configure('sec_hidden.t');
\echo :LAST_ERROR_SQLSTATE
SELECT ps_configure('sec_hidden.t', 'momentum');
\echo :LAST_ERROR_SQLSTATE
SELECT ps_configure('sec_hidden.h');
\echo :LAST_ERROR_SQLSTATE
SELECT ps_pull('sec_hidden.t', '{1}');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- With a privilege on the table but no USAGE on the schema, the name too
-- (and the privilege allows the pull).
REVOKE USAGE ON SCHEMA sec_hidden FROM regress_ps_stranger;
GRANT SELECT ON sec_hidden.t TO regress_ps_stranger;
SET ROLE regress_ps_stranger;
SELECT sec_error(format('SELECT ps_configure(%s)', :hidden_t), :hidden_t);
SELECT sec_error(format('SELECT ps_push(%s, %L, %L)', :hidden_t, '{1}', '{1}'), :hidden_t);
SELECT ps_pull(:hidden_t, '{1}');
RESET ROLE;
SELECT count(*) FROM ps_config WHERE tbl = :hidden_t;
DROP FUNCTION sec_error(text, oid);
DROP SCHEMA sec_hidden CASCADE;
DROP OWNED BY regress_ps_stranger;

--
-- 6. FTRL configurations that would lose weights are refused
--

-- With beta = 0 and l2 = 0 the first step of a key divides by
-- (0 + sqrt(0)) / lr + 0 = 0.
CREATE TABLE sec_ftrl (key bigint, val real) USING ps;
SELECT * FROM ps_configure('sec_ftrl', update_rule => 'ftrl', beta => 0, l2 => 0);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM ps_config WHERE tbl = 'sec_ftrl'::regclass;
-- beta 0 with l2 > 0, and beta > 0 with l2 0, are fine ...
SELECT update_rule, l2, beta FROM ps_configure('sec_ftrl', update_rule => 'ftrl', beta => 0, l2 => 0.5);
SELECT update_rule, l2, beta FROM ps_configure('sec_ftrl', beta => 1, l2 => 0);
-- ... but not reaching both 0 one at a time.
SELECT update_rule, l2, beta FROM ps_configure('sec_ftrl', beta => 0);
\echo :LAST_ERROR_SQLSTATE
SELECT update_rule, l2, beta FROM ps_configure('sec_ftrl', beta => 0, l2 => 0.5);
SELECT update_rule, l2, beta FROM ps_configure('sec_ftrl', l2 => 0);
\echo :LAST_ERROR_SQLSTATE
SELECT tbl, update_rule, l2, beta FROM ps_config WHERE tbl = 'sec_ftrl'::regclass;

-- beta 0, l2 0.5, lr 0.1: INSERT sets w = 2 with z = -w * l2 = -1; a zero
-- gradient keeps it: w = -(-1) / (0 / 0.1 + 0.5) = 2.
INSERT INTO sec_ftrl VALUES (1, 2);
SELECT ps_push('sec_ftrl', '{1}', '{0}');
SELECT ps_pull('sec_ftrl', '{1}');

-- A row written by an older version with beta = 0 and l2 = 0 (here by
-- hand, then read by a new session: backends cache configurations, and
-- only ps_configure tells them of a change): pushes and INSERTs are
-- refused, pulls and SELECT still work.
UPDATE ps_config SET beta = 0, l2 = 0 WHERE tbl = 'sec_ftrl'::regclass;
\c -
SELECT ps_push('sec_ftrl', '{1}', '{1}');
\echo :LAST_ERROR_SQLSTATE
SELECT ps_push_range('sec_ftrl', 1, '{1}');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO sec_ftrl VALUES (2, 1);
\echo :LAST_ERROR_SQLSTATE
SELECT ps_pull('sec_ftrl', '{1,2}'), ps_pull_range('sec_ftrl', 1, 3);
SELECT * FROM sec_ftrl;

-- As the hint says: beta 1, here with lr 0.5 and l1 0.5.  An INSERTed
-- weight w = 0.25 gets n = 0 and z with -(z - sign(z) * l1) / D = w,
-- D = (beta + sqrt(0)) / lr + l2 = 2: z = -(0.25 * 2) - 0.5 = -1.
SELECT update_rule, learning_rate, l1, l2, beta
  FROM ps_configure('sec_ftrl', learning_rate => 0.5, l1 => 0.5, beta => 1);
INSERT INTO sec_ftrl VALUES (2, 0.25);
-- A zero gradient: n and z stay, so w = -(-1 + 0.5) / 2 = 0.25 exactly.
SELECT ps_push('sec_ftrl', '{2}', '{0}');
SELECT ps_pull('sec_ftrl', '{2}'), ps_pull('sec_ftrl', '{2}') = '{0.25}'::real[] AS exact;
-- g = -1: n' = 1, sigma = (1 - 0) / 0.5 = 2, z = -1 + (-1) - 2 * 0.25 = -2.5,
-- D = (1 + 1) / 0.5 = 4, w = -(-2.5 + 0.5) / 4 = 0.5.
SELECT ps_push('sec_ftrl', '{2}', '{-1}');
SELECT ps_pull('sec_ftrl', '{2}'), ps_pull('sec_ftrl', '{2}') = '{0.5}'::real[] AS exact;
DROP TABLE sec_ftrl;
SELECT count(*) FROM ps_config;

-- Clean up.
DROP ROLE regress_ps_reader, regress_ps_trainer, regress_ps_other,
  regress_ps_member, regress_ps_noinherit, regress_ps_owner,
  regress_ps_stranger;
