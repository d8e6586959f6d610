# Copyright: the ps authors.  Licensed like the rest of ps.
#
# 009_upgrade.pl: a database whose extension is at version 0.1 (before
# configurations, workers and filters) under the current library.
#
#   - At 0.1, writes fail with a clear error saying to update the extension
#     (the library needs the extension's ps_config table); reads work.
#   - ALTER EXTENSION ps UPDATE brings it to 0.2 with exactly the objects
#     of a fresh CREATE EXTENSION ps: the same functions with the same
#     arguments, results, volatility, parallel safety and comments, the
#     same ps_config table, constraints and privileges, the same event
#     trigger.
#   - After the update everything works: pushes, configuration, workers.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('upgrade');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'ps'");
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE old');
$node->safe_psql('postgres', 'CREATE DATABASE fresh');
$node->safe_psql(
	'old', q{
CREATE EXTENSION ps VERSION '0.1';
CREATE TABLE w (key bigint, val real) USING ps;
});
is($node->safe_psql('old', "SELECT extversion FROM pg_extension WHERE extname = 'ps'"),
	'0.1', 'the old database has ps 0.1');

my ($ret, $out, $err) = $node->psql('old', "SELECT ps_push('w', '{1}', '{1}')");
isnt($ret, 0, 'a push at 0.1 fails');
like($err, qr/ERROR:  the ps extension of this database is older than the ps library/,
	'saying the extension is older than the library');
like($err, qr/HINT:  Run ALTER EXTENSION ps UPDATE\./, 'and how to update it');
($ret, $out, $err) = $node->psql('old', "INSERT INTO w VALUES (1, 1)");
like($err, qr/older than the ps library/, 'so does an INSERT');
is($node->safe_psql('old', 'SELECT count(*) FROM w'), '0', 'nothing was written');
is($node->safe_psql('old', "SELECT ps_pull('w', '{1,2}')"), '{0,0}', 'reads work');

$node->safe_psql('old', 'ALTER EXTENSION ps UPDATE');
$node->safe_psql('fresh', 'CREATE EXTENSION ps');
is($node->safe_psql('old', "SELECT extversion FROM pg_extension WHERE extname = 'ps'"),
	'0.2', 'updated to 0.2');

# Every member of the extension, with what matters about it.
my $members = q{
SELECT string_agg(d, E'\n' ORDER BY d) FROM (
  SELECT pg_describe_object(e.classid, e.objid, 0)
         || CASE WHEN e.classid = 'pg_proc'::regclass THEN
              ' (' || pg_get_function_arguments(p.oid) || ') returns '
              || pg_get_function_result(p.oid) || ' ' || p.provolatile::text
              || p.proparallel::text || p.prosecdef::text || ' strict=' || p.proisstrict
              || ' acl=' || coalesce(p.proacl::text, '-')
              || ' comment=' || coalesce(obj_description(p.oid, 'pg_proc'), '-')
            ELSE '' END AS d
  FROM pg_depend e LEFT JOIN pg_proc p ON e.classid = 'pg_proc'::regclass AND p.oid = e.objid
  WHERE e.refclassid = 'pg_extension'::regclass AND e.deptype = 'e'
    AND e.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'ps')) s
};
my $config = q{
SELECT (SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod) || ' ' || attnotnull,
                          ', ' ORDER BY attnum)
          FROM pg_attribute WHERE attrelid = 'ps_config'::regclass AND attnum > 0
           AND NOT attisdropped)
    || E'\n' || (SELECT string_agg(pg_get_constraintdef(oid), E'\n' ORDER BY 1)
                   FROM pg_constraint WHERE conrelid = 'ps_config'::regclass)
    || E'\n' || (SELECT relacl::text FROM pg_class WHERE oid = 'ps_config'::regclass)
    || E'\n' || obj_description('ps_config'::regclass, 'pg_class')
    || E'\n' || (SELECT string_agg(evtname || ' ' || evtevent || ' ' || evtfoid::regproc, E'\n')
                   FROM pg_event_trigger)
    || E'\n' || (SELECT array_to_string(extconfig::regclass[], ',') || ' ' || array_to_string(extcondition, ',')
                   FROM pg_extension WHERE extname = 'ps')
};
my $fresh_members = $node->safe_psql('fresh', $members);
# 20 functions, the access method, ps_config and the event trigger
is(scalar(split /\n/, $fresh_members), 23, 'a fresh install has its 23 objects');
is($node->safe_psql('old', $members), $fresh_members,
	'the updated extension has exactly the objects of a fresh install');
is($node->safe_psql('old', $config), $node->safe_psql('fresh', $config),
	'the same ps_config table, privileges and event trigger');

# Everything works after the update.
is( $node->safe_psql(
		'old', q{
SELECT update_rule FROM ps_configure('w', update_rule => 'sgd', learning_rate => 0.5);
SELECT ps_join('w');
SELECT ps_push('w', '{1,2}', '{2,4}', 1, 1) > 0;
SELECT ps_pull('w', '{1,2}', 1, 2);
SELECT worker, clock FROM ps_workers('w');
DROP TABLE w;
SELECT count(*) FROM ps_config;
}),
	"sgd\n1\nt\n{-1,-2}\n1|1\n0",
	'configure, join, push through the rule, pull, drop after the update');

$node->stop;
done_testing();
