# Copyright: the ps authors.  Licensed like the rest of ps.
#
# 030_cluster_workers.pl: workers across the servers of a cluster, through
# the client library (README, "Running a cluster", "The C client
# library"); test/client/ps_cworker_test.c makes the calls and checks.
#
#   - On a server on its own, ps_client_join and ps_client_leave work as
#     ps_join and ps_leave.
#   - In a cluster of 3 nodes a worker joins every node at the same
#     clock; its pushes move its clock on every node, also where it pushes
#     no key, so sequential waits hold across the servers: a pull waits on
#     one server for a push another server gets, and then reads exactly
#     the pushes before it; a silent worker is dropped on every node, and
#     empty pushes keep a worker alive everywhere; leaving leaves all.
#   - A fourth node joins the ring while a worker pushes: the worker joins
#     it on the way, at its clock, and its values are exact.
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
my $bin = "$dir/ps_cworker_test";
build_client("$root/test/client/ps_cworker_test.c", $bin);

my @n = ps_nodes('cworker', 4);
for my $node (@n)
{
	$node->append_conf('postgresql.conf', 'ps.worker_timeout = 3');
	$node->reload;
	$node->safe_psql('postgres', "SELECT ps_configure('w', consistency => 'sequential')");
}
my @conn = map { (my $c = $_->connstr('postgres')) =~ s/'/''/g; $c } @n;
my @id = map { $_->safe_psql('postgres', 'SELECT ps_node_id()') } @n;
$n[0]->safe_psql('postgres', "SELECT ps_cluster_add('$conn[$_]')") for 0 .. 2;
is(status_of($n[2]), '3|3|3|t', 'a cluster of 3 nodes, ring version 3');

# a key node 1 holds, and one node 3 holds
my ($k1, $k3) = map {
	$n[0]->safe_psql('postgres',
		"SELECT min(k) FROM generate_series(1, 1000000) k WHERE ps_key_node(k) = $id[$_]")
} (0, 2);
ok($k1 > 0 && $k3 > 0, "keys $k1 (node 1) and $k3 (node 3)");

my ($in, $out, $err) = ('', '', '');
my $h = IPC::Run::start([ $bin, 'w', $k1, $k3, map { $_->connstr('postgres') } @n ],
	'<', \$in, '>', \$out, '2>', \$err, IPC::Run::timeout(120));
$h->pump until $out =~ /^# ready$/m || !$h->pumpable;
like($out, qr/^# ready$/m, 'the workers of the 3-node cluster are done') or diag($out . $err);

# The ring moves under worker C (a node joins only where no keys move with data).
$_->safe_psql('postgres', 'TRUNCATE w') for @n;
is($n[0]->safe_psql('postgres', "SELECT ps_cluster_add('$conn[3]')"), '4', 'a fourth node joins: version 4');
$in = "go\n";
$h->finish;
note($out);
is($h->result(0), 0, 'ps_cworker_test exits 0');
unlike($out, qr/^not ok/m, 'every check of ps_cworker_test passed') or diag($out . $err);
my @ok = $out =~ /^(?:not )?ok /mg;
is(scalar(@ok), 29, 'all 29 of its checks ran') or diag($out . $err);

my $held = q{SELECT count(*), coalesce(sum(val), 0) FROM w};
my ($keys, $sum) = (0, 0);
for my $node (@n)
{
	my ($k, $s) = split /\|/, $node->safe_psql('postgres', $held);
	$keys += $k;
	$sum += $s;
}
is("$keys|$sum", (4096 * 64) . '|' . (2 * 4096 * 64), 'the four servers hold the range once, each key twice pushed');

$_->stop for @n;
done_testing();
