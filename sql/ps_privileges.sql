--
-- ps_privileges: who may push and pull.
--
-- ps_push and ps_push_range change values, so they need the UPDATE
-- privilege on the table; ps_pull, ps_pull_range, ps_wait and the
-- introspection functions read, so they need SELECT.  INSERT needs INSERT,
-- as for any table.
--
-- After each statement that is expected to fail, \echo :LAST_ERROR_SQLSTATE
-- shows the error code it raised.
--

CREATE ROLE regress_ps_user;
CREATE TABLE priv_w (key bigint, val real) USING ps;
SELECT ps_push('priv_w', '{1,2}', '{1,2}');
CREATE VIEW priv_contents AS
  SELECT count(*) AS keys, string_agg(key || '=' || val, ' ' ORDER BY key) AS contents
  FROM priv_w;
SELECT * FROM priv_contents;

-- Without any privilege, every function is refused.
SET ROLE regress_ps_user;
SELECT ps_push('priv_w', '{1}', '{1}');
\echo :LAST_ERROR_SQLSTATE
SELECT ps_push_range('priv_w', 1, '{1}');
\echo :LAST_ERROR_SQLSTATE
SELECT ps_pull('priv_w', '{1}');
\echo :LAST_ERROR_SQLSTATE
SELECT ps_pull_range('priv_w', 0, 2);
\echo :LAST_ERROR_SQLSTATE
SELECT ps_wait('priv_w', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM ps_stats('priv_w');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM ps_ranges('priv_w');
\echo :LAST_ERROR_SQLSTATE
SELECT ps_check('priv_w');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM priv_w;
\echo :LAST_ERROR_SQLSTATE
INSERT INTO priv_w VALUES (1, 1);
\echo :LAST_ERROR_SQLSTATE
-- Only a superuser may change ps.max_request_keys.
SET ps.max_request_keys = 5;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT * FROM priv_contents;

-- SELECT allows pulls, but not pushes.
GRANT SELECT ON priv_w TO regress_ps_user;
SET ROLE regress_ps_user;
SELECT ps_pull('priv_w', '{2,1,3}');
SELECT ps_pull_range('priv_w', 0, 3);
SELECT ps_wait('priv_w', 1);
SELECT dim, keys FROM ps_stats('priv_w');
SELECT lo, hi, keys FROM ps_ranges('priv_w');
-- (ps_check locks writers out, so like LOCK TABLE ... SHARE it needs
-- UPDATE, DELETE or TRUNCATE)
SELECT ps_check('priv_w');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM priv_w;
SELECT ps_push('priv_w', '{1}', '{1}');
\echo :LAST_ERROR_SQLSTATE
SELECT ps_push_range('priv_w', 1, '{1}');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT * FROM priv_contents;

-- UPDATE allows pushes; without SELECT, pulls are refused again.
REVOKE SELECT ON priv_w FROM regress_ps_user;
GRANT UPDATE ON priv_w TO regress_ps_user;
SET ROLE regress_ps_user;
SELECT ps_push('priv_w', '{1,3}', '{10,30}');
SELECT ps_push_range('priv_w', 2, '{20}');
-- whoever may push may wait for the push, and check the table
SELECT ps_wait('priv_w', 1);
SELECT ps_check('priv_w');
SELECT ps_pull('priv_w', '{1}');
\echo :LAST_ERROR_SQLSTATE
-- UPDATE does not allow INSERT, which sets values.
INSERT INTO priv_w VALUES (4, 4);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT * FROM priv_contents;

-- INSERT allows INSERT.
GRANT INSERT ON priv_w TO regress_ps_user;
SET ROLE regress_ps_user;
INSERT INTO priv_w VALUES (4, 4);
RESET ROLE;
SELECT * FROM priv_contents;

-- Privileges on every column do as well as privileges on the table ...
REVOKE ALL ON priv_w FROM regress_ps_user;
GRANT SELECT (key, val), UPDATE (key, val) ON priv_w TO regress_ps_user;
SET ROLE regress_ps_user;
SELECT ps_pull('priv_w', '{1,2}');
SELECT ps_push('priv_w', '{2}', '{1}') > 0 AS pushed;
RESET ROLE;
-- ... but not privileges on some columns only.
REVOKE SELECT (key) ON priv_w FROM regress_ps_user;
SET ROLE regress_ps_user;
SELECT ps_pull('priv_w', '{1}');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT * FROM priv_contents;

-- A SECURITY DEFINER function lets a role push through the owner's
-- privileges only in the way the function allows.
REVOKE ALL ON priv_w FROM regress_ps_user;
CREATE FUNCTION priv_add_one(k bigint) RETURNS bigint
  LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public
  AS $$ SELECT ps_push('public.priv_w', ARRAY[k], '{1}') $$;
REVOKE ALL ON FUNCTION priv_add_one(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION priv_add_one(bigint) TO regress_ps_user;
SET ROLE regress_ps_user;
SELECT priv_add_one(4) > 0 AS pushed;
SELECT ps_push('priv_w', '{4}', '{1}');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT * FROM priv_contents;

-- With row-level security enabled, pulls by a role subject to it are
-- refused (the functions cannot apply policies); the owner is not
-- subject to it.
GRANT SELECT, UPDATE ON priv_w TO regress_ps_user;
ALTER TABLE priv_w ENABLE ROW LEVEL SECURITY;
SET ROLE regress_ps_user;
SELECT ps_pull('priv_w', '{1}');
\echo :LAST_ERROR_SQLSTATE
SELECT ps_push('priv_w', '{1}', '{1}');
\echo :LAST_ERROR_SQLSTATE
-- (A plain SELECT applies the policies: there are none, so no rows.)
SELECT * FROM priv_w;
RESET ROLE;
SELECT ps_pull('priv_w', '{1}');
SELECT * FROM priv_contents;
ALTER TABLE priv_w DISABLE ROW LEVEL SECURITY;

-- Clean up.
DROP FUNCTION priv_add_one(bigint);
DROP VIEW priv_contents;
DROP TABLE priv_w;
DROP OWNED BY regress_ps_user;
DROP ROLE regress_ps_user;
