/* ps extension, version 0.1: the ps table access method and the SQL API */

\echo Use "CREATE EXTENSION ps" to load this file. \quit

CREATE FUNCTION ps_version() RETURNS text
	AS 'MODULE_PATHNAME', 'ps_version'
	LANGUAGE C STRICT STABLE PARALLEL SAFE;
COMMENT ON FUNCTION ps_version() IS
	'version of the ps library; fails unless ps is in shared_preload_libraries';

-- Refuse to install where the library is not preloaded: ps tables could not
-- be used there, and the error says how to fix it.
DO $$ BEGIN PERFORM ps_version(); END $$;

CREATE FUNCTION ps_tableam_handler(internal) RETURNS table_am_handler
	AS 'MODULE_PATHNAME', 'ps_tableam_handler'
	LANGUAGE C STRICT;

CREATE ACCESS METHOD ps TYPE TABLE HANDLER ps_tableam_handler;
COMMENT ON ACCESS METHOD ps IS
	'parameter tables: (key bigint, val real or real[]) in sorted key ranges';

-- Pushes and pulls check NULL arguments themselves (with a clear error),
-- so none of these functions is STRICT.  Readers are PARALLEL RESTRICTED:
-- they may be given a temporary table, which parallel workers cannot read.

CREATE FUNCTION ps_push(tbl regclass, keys bigint[], vals real[]) RETURNS bigint
	AS 'MODULE_PATHNAME', 'ps_push'
	LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION ps_push(regclass, bigint[], real[]) IS
	'add vals (dim per key) to the values of keys; returns the task timestamp';

CREATE FUNCTION ps_pull(tbl regclass, keys bigint[]) RETURNS real[]
	AS 'MODULE_PATHNAME', 'ps_pull'
	LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION ps_pull(regclass, bigint[]) IS
	'values of keys (dim per key) in the order of keys; missing keys read as 0';

CREATE FUNCTION ps_push_range(tbl regclass, first bigint, vals real[]) RETURNS bigint
	AS 'MODULE_PATHNAME', 'ps_push_range'
	LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION ps_push_range(regclass, bigint, real[]) IS
	'add vals to keys first, first+1, ...; returns the task timestamp';

CREATE FUNCTION ps_pull_range(tbl regclass, lo bigint, hi bigint) RETURNS real[]
	AS 'MODULE_PATHNAME', 'ps_pull_range'
	LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION ps_pull_range(regclass, bigint, bigint) IS
	'values of keys lo .. hi-1 (dim per key); missing keys read as 0';

CREATE FUNCTION ps_wait(tbl regclass, ts bigint) RETURNS void
	AS 'MODULE_PATHNAME', 'ps_wait'
	LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION ps_wait(regclass, bigint) IS
	'return once the push with timestamp ts is applied';

CREATE FUNCTION ps_ranges(tbl regclass,
	OUT lo bigint, OUT hi bigint, OUT keys bigint, OUT pages integer,
	OUT clock bigint) RETURNS SETOF record
	AS 'MODULE_PATHNAME', 'ps_ranges'
	LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION ps_ranges(regclass) IS
	'key ranges in key order: neighbouring leaves with equal clocks form one range';

CREATE FUNCTION ps_stats(tbl regclass,
	OUT dim integer, OUT keys bigint, OUT leaves integer,
	OUT dense_leaves integer, OUT directory_pages integer, OUT pages bigint,
	OUT last_timestamp bigint) RETURNS record
	AS 'MODULE_PATHNAME', 'ps_stats'
	LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION ps_stats(regclass) IS
	'size and shape of a ps table';

CREATE FUNCTION ps_check(tbl regclass) RETURNS bigint
	AS 'MODULE_PATHNAME', 'ps_check'
	LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION ps_check(regclass) IS
	'verify the structure of a ps table; returns its number of keys';
