/* ps extension, upgrade from 0.2 to 0.3: no SQL run by the library, workers show their role, the scheduler its directories */

\echo Use "ALTER EXTENSION ps UPDATE TO '0.3'" to load this file. \quit

-- The configuration row of a dropped table is deleted by the library (its
-- object access hook, in C), no longer by an event trigger running SQL: a
-- temporary table named pg_class could blind that trigger.
DROP EVENT TRIGGER ps_config_drop;
DROP FUNCTION @extschema@.ps_config_drop();

-- ps_workers shows the role that joined each worker (only that role may
-- act as the worker).
DROP FUNCTION @extschema@.ps_workers(regclass);
CREATE FUNCTION @extschema@.ps_workers(tbl regclass,
	OUT worker integer, OUT state text, OUT clock bigint,
	OUT last_seen timestamptz, OUT pid integer, OUT role regrole)
	RETURNS SETOF record
	AS 'MODULE_PATHNAME', 'ps_workers'
	LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.ps_workers(regclass) IS
	'workers of a ps table: id, state (active, left, dropped), clock, last call, backend, the role that joined it';

-- ps_scheduler shows how many table directories the scheduler holds (it
-- forgets those of dropped tables).
DROP FUNCTION @extschema@.ps_scheduler();
CREATE FUNCTION @extschema@.ps_scheduler(OUT pid integer, OUT rounds bigint,
	OUT aggregates bigint, OUT pushes bigint, OUT failed bigint,
	OUT keys_pushed bigint, OUT keys_applied bigint, OUT directories bigint)
	RETURNS record
	AS 'MODULE_PATHNAME', 'ps_scheduler'
	LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.ps_scheduler() IS
	'what the scheduler did since the server started: rounds, aggregates, pushes, keys; the table directories it holds';

-- A row changed by SQL (a superuser, pg_restore) takes effect like one
-- ps_configure writes: backends re-read the table's configuration, and
-- waiting pulls see a new consistency model, when the change commits.
CREATE FUNCTION @extschema@.ps_config_changed() RETURNS trigger
	AS 'MODULE_PATHNAME', 'ps_config_changed'
	LANGUAGE C;
REVOKE ALL ON FUNCTION @extschema@.ps_config_changed() FROM PUBLIC;
CREATE TRIGGER ps_config_changed AFTER INSERT OR UPDATE OR DELETE ON @extschema@.ps_config
	FOR EACH ROW EXECUTE FUNCTION @extschema@.ps_config_changed();
