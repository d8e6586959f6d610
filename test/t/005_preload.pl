# Copyright: the ps authors.  Licensed like the rest of ps.
#
# 005_preload.pl: ps works only when preloaded, says so clearly when it is
# not, and never loses data over it.
#
#   - Without shared_preload_libraries = 'ps', CREATE EXTENSION ps fails
#     with "ps must be loaded via shared_preload_libraries" and a hint that
#     says how to fix it, and leaves nothing behind; LOAD 'ps' does not
#     change that.
#   - A clean restart keeps every value, and timestamps keep increasing
#     across it (ps_wait still knows the old ones).
#   - A server with ps tables restarted without the preload refuses to use
#     them (scans, ps_pull, ps_push, INSERT all fail with that message)
#     while everything else works; once the preload is back, the tables are
#     intact and timestamps go on increasing.
#   - After a crash with ps WAL to replay, a server without the preload
#     refuses to start (it cannot replay the ps resource manager's records);
#     with the preload back it recovers everything.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../lib";
use PsCrash;

my $preload_msg = qr/ps must be loaded via shared_preload_libraries/;
my $preload_hint =
  qr/HINT:  Add 'ps' to shared_preload_libraries in postgresql.conf and restart the server/;

sub set_preload
{
	my ($node, $on) = @_;
	# the last setting in the file wins
	$node->append_conf('postgresql.conf',
		"shared_preload_libraries = '" . ($on ? 'ps' : '') . "'");
	return;
}

my $node = PostgreSQL::Test::Cluster->new('preload');
$node->init;
$node->start;

# ---------------------------------------------------------------------------
# Without the preload, the extension cannot be created
# ---------------------------------------------------------------------------

my ($ret, $out, $err) = $node->psql('postgres', 'CREATE EXTENSION ps');
isnt($ret, 0, 'CREATE EXTENSION ps fails without shared_preload_libraries');
like($err, $preload_msg, '... saying ps must be preloaded');
like($err, $preload_hint, '... with a hint saying how to preload it');
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_extension WHERE extname = 'ps'"),
	'0', '... and leaves no extension behind');
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_am WHERE amname = 'ps'"),
	'0', '... and no access method');

($ret, $out, $err) = $node->psql('postgres', "LOAD 'ps'; CREATE EXTENSION ps");
like($err, $preload_msg, 'LOAD \'ps\' in a session is not enough either');

# ---------------------------------------------------------------------------
# With the preload: tables, and a clean restart
# ---------------------------------------------------------------------------

set_preload($node, 1);
$node->restart;
$node->safe_psql(
	'postgres', q{
CREATE EXTENSION ps;
CREATE TABLE w (key bigint, val real) USING ps;
CREATE TABLE v (key bigint, val real[] CHECK (cardinality(val) = 3)) USING ps;
SELECT ps_push_range('w', 0, (SELECT array_agg(g::real) FROM generate_series(1, 5000) g));
SELECT ps_push('w', (SELECT array_agg(g::bigint * 1000000007) FROM generate_series(-2000, 2000) g),
	array_fill(0.5::real, ARRAY[4001]));
INSERT INTO v SELECT g, ARRAY[g, 2 * g, 3 * g] FROM generate_series(1, 3000) g;
});

my $md5_sql = q{
SELECT (SELECT md5(string_agg(key || ':' || val, ',' ORDER BY key)) FROM w)
    || ' ' || (SELECT md5(string_agg(key || ':' || val::text, ',' ORDER BY key)) FROM v)};
my $ts1 = $node->safe_psql('postgres',
	"SELECT ps_push('w', ARRAY[1], ARRAY[1]::real[])");
my $md5 = $node->safe_psql('postgres', $md5_sql);

$node->restart;
is($node->safe_psql('postgres', $md5_sql . " || ' ' || (SELECT ps_check('w') + ps_check('v'))"),
	"$md5 " . (5000 + 4000 + 3000),
	'a clean restart keeps every value');
$node->safe_psql('postgres', "SELECT ps_wait('w', $ts1)");
pass("ps_wait still knows timestamp $ts1 from before the restart");
($ret, $out, $err) = $node->psql('postgres', "SELECT ps_wait('w', $ts1 + 100000)");
like($err, qr/was not issued/, '... and refuses one never issued');
my $ts2 = $node->safe_psql('postgres',
	"SELECT ps_push('w', ARRAY[1], ARRAY[-1]::real[])");
cmp_ok($ts2, '>', $ts1,
	"timestamps keep increasing over a clean restart ($ts1, then $ts2)");
$md5 = $node->safe_psql('postgres', $md5_sql);

# ---------------------------------------------------------------------------
# Restarted without the preload: ps tables refuse to work
# ---------------------------------------------------------------------------

set_preload($node, 0);
$node->restart;
is($node->safe_psql('postgres', 'SHOW shared_preload_libraries'),
	'', 'restarted without the preload');

for my $case (
	[ 'SELECT * FROM w', 'a scan' ],
	[ 'SELECT count(*) FROM v', 'a count' ],
	[ "SELECT ps_pull('w', ARRAY[1])", 'ps_pull' ],
	[ "SELECT ps_push('w', ARRAY[1], ARRAY[1]::real[])", 'ps_push' ],
	[ "SELECT ps_stats('w')", 'ps_stats' ],
	[ 'INSERT INTO w VALUES (1, 1)', 'INSERT' ],
	[ "SELECT ps_version()", 'ps_version' ])
{
	my ($sql, $what) = @$case;
	($ret, $out, $err) = $node->psql('postgres', $sql);
	isnt($ret, 0, "without the preload, $what fails");
	like($err, $preload_msg, "... saying ps must be preloaded ($what)");
}
is( $node->safe_psql(
		'postgres', "SELECT count(*) FROM pg_class WHERE relname IN ('w', 'v')"),
	'2',
	'the rest of the server works: the catalog still lists the tables');

# Back with the preload: intact, and timestamps go on.
set_preload($node, 1);
$node->restart;
is($node->safe_psql('postgres', $md5_sql),
	$md5, 'with the preload back, every value is intact');
my $ts3 = $node->safe_psql('postgres',
	"SELECT ps_push('w', ARRAY[1], ARRAY[1]::real[])");
cmp_ok($ts3, '>', $ts2,
	"timestamps keep increasing ($ts2, then $ts3)");
is($node->safe_psql('postgres', "SELECT ps_pull('w', ARRAY[0, 1, 2])"),
	'{1.5,3,3}', 'pushes work again');

# ---------------------------------------------------------------------------
# A crash with ps WAL to replay: recovery needs the preload
# ---------------------------------------------------------------------------

$node->safe_psql('postgres', 'CHECKPOINT');
$node->safe_psql(
	'postgres', q{
SELECT ps_push('w', (SELECT array_agg(g::bigint * 999999937) FROM generate_series(1, 3000) g),
	array_fill(7::real, ARRAY[3000]));
CREATE TABLE born (key bigint, val real) USING ps;
SELECT ps_push_range('born', 100, array_fill(3::real, ARRAY[4000]));
});
my $ts4 = $node->safe_psql('postgres',
	"SELECT ps_push('w', ARRAY[1], ARRAY[1]::real[])");
my $crash_md5 = $node->safe_psql('postgres', $md5_sql);
kill9_everything($node);

set_preload($node, 0);
my $logpos = -s $node->logfile;
ok(!$node->start(fail_ok => 1),
	'after a crash, the server does not start without the preload');
ok($node->log_contains(qr/FATAL:  resource manager with ID 212 not registered/, $logpos),
	'... because it cannot replay the records of the ps resource manager');
ok($node->log_contains(qr/HINT:  Include the extension module that implements this resource manager in shared_preload_libraries/, $logpos),
	'... and the log says how to fix it');

set_preload($node, 1);
$node->start;
is($node->safe_psql('postgres', $md5_sql),
	$crash_md5, 'with the preload back, recovery restores everything written before the crash');
is( $node->safe_psql('postgres',
		"SELECT count(*) || ':' || sum(val) || ':' || ps_check('born') FROM born"),
	'4000:12000:4000',
	'... including a table created after the last checkpoint');
my $ts5 = $node->safe_psql('postgres',
	"SELECT ps_push('w', ARRAY[1], ARRAY[1]::real[])");
cmp_ok($ts5, '>', $ts4, "timestamps keep increasing over the crash ($ts4, then $ts5)");

$node->stop;
done_testing();
