# Copyright: the ps authors.  Licensed like the rest of ps.
#
# 009_upgrade.pl: databases whose extension is at an older version (0.1:
# before configurations, workers and filters; 0.2: before the library ran
# no SQL of its own; 0.3: before the scheduler was a pool of appliers;
# 0.4: before the binary wire format; 0.5: before training from SQL; 0.6:
# before clusters) under the current library.
#
#   - At 0.1, writes fail with a clear error saying to update the extension
#     (the library needs the extension's ps_config table); reads work.
#   - At 0.1 a role with CREATE in the extension's schema may create a
#     table named ps_config there: the library never uses it (it finds
#     ps_config as a member of the extension, not by name), so it cannot
#     set other users' update rules; the update refuses to run until the
#     planted table is gone.
#   - At 0.3, ps_scheduler() as 0.3 declared it (one row) works under the
#     current library and gives the totals of the pool of appliers.
#   - At 0.6 (no ps_cluster table) pushes and pulls work: the server is
#     one on its own, holding every key.
#   - ALTER EXTENSION ps UPDATE brings 0.1 (through 0.2 .. 0.6), 0.2, 0.3,
#     0.4, 0.5 and 0.6 to 0.7 with exactly the objects of a fresh
#     CREATE EXTENSION ps: the same
#     functions with the same arguments, results, volatility, parallel
#     safety and comments, the same ps_config table, constraints and
#     privileges and trigger, and no event trigger (0.2's is gone).
#   - After the update everything works: pushes, configuration, workers,
#     and the row of a dropped table goes with it.
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
$node->safe_psql('postgres', 'CREATE DATABASE mid');
$node->safe_psql('postgres', 'CREATE DATABASE fresh');
$node->safe_psql('postgres', 'CREATE DATABASE v03');
$node->safe_psql('postgres', 'CREATE DATABASE v04');
$node->safe_psql('postgres', 'CREATE DATABASE v05');
$node->safe_psql('postgres', 'CREATE DATABASE v06');
$node->safe_psql('v06', "CREATE EXTENSION ps VERSION '0.6'");
$node->safe_psql('v06', 'CREATE TABLE w6 (key bigint, val real) USING ps');
is($node->safe_psql('v06', "SELECT ps_push('w6', '{1,5000}', '{1,2}'); SELECT ps_pull('w6', '{1,5000}')"),
	"1\n{1,2}", 'a push at 0.6 (no cluster table) under the current library: every key is held');
$node->safe_psql('v05', "CREATE EXTENSION ps VERSION '0.5'");
$node->safe_psql('v05', 'CREATE TABLE w5 (key bigint, val real) USING ps');
is($node->safe_psql('v05', "SELECT ps_push('w5', '{1,2}', '{1,2}'); SELECT ps_pull('w5', '{1,2}')"),
	"1\n{1,2}", 'a push at 0.5 under the current library');
$node->safe_psql('v04', "CREATE EXTENSION ps VERSION '0.4'");
$node->safe_psql('v04', 'CREATE TABLE w4 (key bigint, val real) USING ps');
is($node->safe_psql('v04', "SELECT ps_push('w4', '{1,2}', '{1,2}'); SELECT ps_pull('w4', '{1,2}')"),
	"1\n{1,2}", 'a push at 0.4 under the current library');
$node->safe_psql('v03', "CREATE EXTENSION ps VERSION '0.3'");
$node->safe_psql('v03', 'CREATE TABLE w3 (key bigint, val real) USING ps');
my $before = $node->safe_psql('v03', 'SELECT pushes FROM ps_scheduler()');
is($node->safe_psql('v03', "SELECT ps_push('w3', '{1,2}', '{1,2}'); SELECT ps_pull('w3', '{1,2}')"),
	"1\n{1,2}", 'a push at 0.3 under the current library');
is($node->safe_psql('v03', "SELECT count(*), bool_and(pid IS NOT NULL), sum(pushes) - $before FROM ps_scheduler()"),
	'1|t|1', 'ps_scheduler() declared as in 0.3 gives one row: the totals of the pool and the pushing backends');
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

# A table named ps_config planted in the extension's schema by a role
# that may create there, naming the superuser's table with a rule of its
# choosing, is not the extension's: it is never read.
$node->safe_psql(
	'old', q{
CREATE ROLE mallory;
GRANT CREATE ON SCHEMA public TO mallory;
SET ROLE mallory;
CREATE TABLE public.ps_config (tbl regclass PRIMARY KEY, update_rule text,
  consistency text, max_delay integer, learning_rate real, l1 real, l2 real,
  beta real, kkt_filter boolean, significance real);
INSERT INTO public.ps_config VALUES ('w', 'sgd', 'eventual', 0, 1000, 0, 0, 1, false, 0);
GRANT SELECT ON public.ps_config TO PUBLIC;
});
($ret, $out, $err) = $node->psql('old', "SELECT ps_push('w', '{1}', '{1}')");
like($err, qr/ERROR:  the ps extension of this database is older than the ps library/,
	'a planted ps_config is not the extension\'s: a push still says to update');
is($node->safe_psql('old', "SELECT ps_pull('w', '{1}')"), '{0}',
	'and nothing was pushed through the planted rule');
($ret, $out, $err) = $node->psql('old', 'ALTER EXTENSION ps UPDATE');
like($err, qr/ERROR:  relation "ps_config" already exists/,
	'the update refuses to run while the planted table is there');
$node->safe_psql('old', 'DROP TABLE public.ps_config; DROP OWNED BY mallory; DROP ROLE mallory');

$node->safe_psql('old', 'ALTER EXTENSION ps UPDATE');
$node->safe_psql('mid', "CREATE EXTENSION ps VERSION '0.2'");
$node->safe_psql('mid', 'CREATE TABLE w2 (key bigint, val real) USING ps');
$node->safe_psql('mid', "SELECT ps_configure('w2', update_rule => 'sgd')");
is($node->safe_psql('mid', "SELECT count(*) FROM pg_event_trigger"), '1',
	'0.2 has the event trigger');
$node->safe_psql('mid', 'ALTER EXTENSION ps UPDATE');
$node->safe_psql('fresh', 'CREATE EXTENSION ps');
$node->safe_psql('v03', 'ALTER EXTENSION ps UPDATE');
$node->safe_psql('v04', 'ALTER EXTENSION ps UPDATE');
$node->safe_psql('v05', 'ALTER EXTENSION ps UPDATE');
$node->safe_psql('v06', 'ALTER EXTENSION ps UPDATE');
is($node->safe_psql('v06', "SELECT extversion FROM pg_extension WHERE extname = 'ps'"),
	'0.7', '0.6 updated to 0.7');
is($node->safe_psql('v06', "SELECT ps_pull('w6', '{1,5000}'), version, nodes, member, node > 0 FROM ps_cluster_status()"),
	'{1,2}|0|0|t|t', 'and its table keeps its values; the server is on its own, with a node id');
is($node->safe_psql('v05', "SELECT extversion FROM pg_extension WHERE extname = 'ps'"),
	'0.7', '0.5 updated to 0.7');
is($node->safe_psql('v05', "SELECT ps_pull('w5', '{1,2}'), ps_predict('w5', '{1,2}', '{0,0}')"),
	'{1,2}|0.5', 'and its table keeps its values, and serves predictions');
is($node->safe_psql('v04', "SELECT extversion FROM pg_extension WHERE extname = 'ps'"),
	'0.7', '0.4 updated to 0.7');
is($node->safe_psql('v04', "SELECT ps_pull('w4', '{1,2}')"), '{1,2}',
	'and its table keeps its values');
is($node->safe_psql('v03', "SELECT extversion FROM pg_extension WHERE extname = 'ps'"),
	'0.7', '0.3 updated to 0.7');
is($node->safe_psql('v03', 'SELECT count(*) = current_setting(\'ps.scheduler_workers\')::int + 1, min(applier) FROM ps_scheduler()'),
	't|0', 'and ps_scheduler() gives a row per applier, and row 0 for the pushing backends');
is($node->safe_psql('old', "SELECT extversion FROM pg_extension WHERE extname = 'ps'"),
	'0.7', '0.1 updated to 0.7');
is($node->safe_psql('mid', "SELECT extversion FROM pg_extension WHERE extname = 'ps'"),
	'0.7', '0.2 updated to 0.7');
is($node->safe_psql('mid', "SELECT update_rule FROM ps_config WHERE tbl = 'w2'::regclass"),
	'sgd', 'the update keeps configurations');

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
    || E'\n' || coalesce((SELECT string_agg(evtname || ' ' || evtevent || ' ' || evtfoid::regproc, E'\n')
                   FROM pg_event_trigger), 'no event triggers')
    || E'\n' || (SELECT string_agg(pg_get_triggerdef(oid), E'\n' ORDER BY tgname)
                   FROM pg_trigger WHERE tgrelid = 'ps_config'::regclass)
    || E'\n' || (SELECT array_to_string(extconfig::regclass[], ',') || ' ' || array_to_string(extcondition, ',')
                   FROM pg_extension WHERE extname = 'ps')
};
my $fresh_members = $node->safe_psql('fresh', $members);
# 44 functions (the trigger functions of ps_config and ps_delta among them),
# an aggregate, a type, the access method, the tables ps_config, ps_cluster,
# ps_delta (and its sequence) and ps_replica_progress
is(scalar(split /\n/, $fresh_members), 55, 'a fresh install has its 55 objects');
is($node->safe_psql('old', $members), $fresh_members,
	'0.1 updated has exactly the objects of a fresh install');
is($node->safe_psql('mid', $members), $fresh_members,
	'0.2 updated has exactly the objects of a fresh install');
is($node->safe_psql('v03', $members), $fresh_members,
	'0.3 updated has exactly the objects of a fresh install');
is($node->safe_psql('v04', $members), $fresh_members,
	'0.4 updated has exactly the objects of a fresh install');
is($node->safe_psql('v05', $members), $fresh_members,
	'0.5 updated has exactly the objects of a fresh install');
is($node->safe_psql('v06', $members), $fresh_members,
	'0.6 updated has exactly the objects of a fresh install');
my $fresh_config = $node->safe_psql('fresh', $config);
like($fresh_config, qr/no event triggers/, 'a fresh install has no event trigger');
like($fresh_config, qr/CREATE TRIGGER ps_config_changed AFTER INSERT OR DELETE OR UPDATE ON public\.ps_config FOR EACH ROW EXECUTE FUNCTION ps_config_changed\(\)/,
	'and the trigger that applies changes made to ps_config by SQL');
is($node->safe_psql('old', $config), $fresh_config,
	'0.1 updated: the same ps_config table and privileges, no event trigger');
is($node->safe_psql('mid', $config), $fresh_config,
	'0.2 updated: the same ps_config table and privileges, no event trigger');
is($node->safe_psql('v03', $config), $fresh_config,
	'0.3 updated: the same ps_config table and privileges');

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
