/* ps extension, upgrade from 0.4 to 0.5: the binary wire format */

\echo Use "ALTER EXTENSION ps UPDATE TO '0.5'" to load this file. \quit

-- Pushes and pulls in the wire format of the client library
-- (src/common/ps_wire.h), without PostgreSQL's array conversion.

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
