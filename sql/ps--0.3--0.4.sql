/* ps extension, upgrade from 0.3 to 0.4: the scheduler is a pool of appliers */

\echo Use "ALTER EXTENSION ps UPDATE TO '0.4'" to load this file. \quit

-- ps_scheduler shows a row per applier of the scheduler's pool, with the
-- time the gather window held pushes back.  (Under library 0.4, the 0.3
-- declaration still works: it returns the pool's totals.)
DROP FUNCTION @extschema@.ps_scheduler();
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
