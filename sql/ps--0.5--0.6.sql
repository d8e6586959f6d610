/* ps extension, upgrade from 0.5 to 0.6: training from SQL */

\echo Use "ALTER EXTENSION ps UPDATE TO '0.6'" to load this file. \quit

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
