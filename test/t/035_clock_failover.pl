# Copyright: the ps authors.  Licensed like the rest of ps.
#
# 035_clock_failover.pl: a worker's clock across a failover (README, "The
# C client library", workers of a cluster); test/client/
# ps_clock_failover_test.c makes the calls and checks.
#
#   - 3 nodes, replicas => 1, synchronous, table w under sequential
#     consistency.  Two workers push 1 to a key of node 3 at clock 1; the
#     second's push waits at node 3 (a session holds a lock on w there)
#     when the worker asks for its pull of clock 2, and node 3 is killed.
#     The first worker's pull of clock 2 at the key's new server reads 2:
#     the second worker's pull went out only after its push, sent again
#     to the new server, was answered.  So a worker's clock means the same
#     on every server also across a failover.
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
use PsCluster;

my $root = "$FindBin::RealBin/../..";
my $dir = tempdir(CLEANUP => 1);
my $bin = "$dir/ps_clock_failover_test";
build_client("$root/test/client/ps_clock_failover_test.c", $bin);

my ($nr, undef, $ir) = ps_failover_cluster('clock', "SELECT ps_configure('w', consistency => 'sequential')");
my @n = @$nr;
my @id = @$ir;

# a key of node 3, and one of each other node
my ($ka, $k1, $k2) = map {
	$n[0]->safe_psql('postgres',
		"SELECT min(k) FROM generate_series(1, 1000000) k WHERE ps_key_node(k) = $id[$_]")
} (2, 0, 1);
ok($ka > 0 && $k1 > 0 && $k2 > 0, "keys $ka (node 3), $k1 (node 1), $k2 (node 2)");

my ($in, $out, $err) = ('', '', '');
my $h = IPC::Run::start([ $bin, 'w', $ka, $k1, $k2, map { $_->connstr('postgres') } @n[ 2, 0, 1 ] ],
	'<', \$in, '>', \$out, '2>', \$err, IPC::Run::timeout(120));
$h->pump until $out =~ /^# kill$/m || !$h->pumpable;
like($out, qr/^# kill$/m, 'the second worker\'s push waits at node 3') or diag($out . $err);
$n[2]->kill9;
$in = "killed\n";
$h->finish;
note($out);
is($h->result(0), 0, 'ps_clock_failover_test exits 0');
unlike($out, qr/^not ok/m, 'every check of ps_clock_failover_test passed') or diag($out . $err);
my @checks = $out =~ /^(?:not )?ok /mg;
is(scalar(@checks), 10, 'all 10 of its checks ran') or diag($out . $err);

# the key holds exactly both pushes at its new server
my $held = '';
for my $node (@n[0, 1])
{
	$held = $node->safe_psql('postgres', "SELECT val FROM w WHERE key = $ka AND ps_key_node(key) = ps_node_id()")
	  if $held eq '';
}
is($held, '2', "key $ka holds 2 at its new server");

$_->stop for @n[0, 1];
done_testing();
