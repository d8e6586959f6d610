# Copyright: the ps authors.  Licensed like the rest of ps.
#
# 022_ack.pl: when the library acknowledges a push, and what a crash can
# take back.  The server answers a push of the library once applied and
# flushes its WAL later; what it proves:
#
#   - Acknowledged durable (the default: the library sends one sync after
#     the pushes it waits for, answered once the session's WAL is flushed):
#     a kill -9 of the server right after the acknowledgement loses none.
#   - Acknowledged applied (ps_client_set_ack(PS_CLIENT_ACK_APPLIED)), the
#     WAL flushed in the background as synchronous_commit = off does: a
#     crash may lose pushes acknowledged in the last 3 x wal_writer_delay,
#     and none before.  With wal_writer_delay = 10s a kill -9 right after
#     the acknowledgement may lose some (the test reports how many); with
#     the default 200ms, none acknowledged a second before the crash.
use strict;
use warnings;

use File::Temp qw(tempdir);
use FindBin;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use lib "$FindBin::RealBin/../lib";
use PsClientBuild;
use PsCrash;

my $root = "$FindBin::RealBin/../..";
my $dir = tempdir(CLEANUP => 1);
my $bin = "$dir/ps_ack_test";
build_client("$root/test/client/ps_ack_test.c", $bin);

my $node = PostgreSQL::Test::Cluster->new('ack');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'ps'");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION ps');

my $n = 2000;

# Push $n in mode $mode to a new table, then (after $pause seconds) kill
# -9 the server and start it again; returns what the table holds.
sub run_and_crash
{
	my ($table, $mode, $pause) = @_;
	$node->safe_psql('postgres', "CREATE TABLE $table (key bigint, val real) USING ps");
	my ($out, $err);
	my $ok = IPC::Run::run([ $bin, $node->connstr('postgres'), $table, $mode, $n ],
		'>', \$out, '2>', \$err);
	ok($ok && $out =~ /^acknowledged $n in flight 0$/m,
		"$mode: $n pushes acknowledged, none left in flight") or diag("$out\n$err");
	sleep $pause if $pause;
	kill9_everything($node);
	$node->start;
	return $node->safe_psql('postgres', "SELECT coalesce(sum(val), 0)::int FROM $table");
}

is(run_and_crash('ack_durable', 'durable', 0), $n,
	'acknowledged durable, killed right after: every push survives');

$node->append_conf('postgresql.conf', "wal_writer_delay = '10s'");
$node->restart;
my $kept = run_and_crash('ack_applied_slow', 'applied', 0);
ok($kept <= $n, "acknowledged applied, killed right after: $kept of $n survive");
note "with wal_writer_delay = 10s a kill -9 right after took back " . ($n - $kept) . " of $n acknowledged pushes";

$node->append_conf('postgresql.conf', "wal_writer_delay = '200ms'");
$node->restart;
is(run_and_crash('ack_applied', 'applied', 1), $n,
	'acknowledged applied, killed a second (> 3 x wal_writer_delay) after: every push survives');

$node->stop;
done_testing();
