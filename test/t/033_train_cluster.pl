# Copyright: the ps authors.  Licensed like the rest of ps.
#
# 033_train_cluster.pl: ps_train across the servers of a cluster (README,
# "Training with ps_train", "Running a cluster").
#
#   - A server on its own: the batch method (L2) on a synthetic set, the
#     objective it reaches.
#   - Three servers, one synchronous replica: ps_train given node 1's
#     address prepares the tables on every node, its workers join every
#     node through the client library, and it reaches the same objective;
#     the weights are spread over the nodes.
#   - Again, with node 3 killed while it trains: the run goes on through
#     the failover and reaches the same objective.
use strict;
use warnings;

use File::Temp qw(tempdir);
use FindBin;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

use lib "$FindBin::RealBin/../lib";
use PsCluster;
use PsTrain;

my $dir = tempdir(CLEANUP => 1);
my $bindir = `pg_config --bindir`;
chomp $bindir;
my $train_bin = "$bindir/ps_train";

# 20000 examples over 2000 features, 20 of them (value 1) in each, labels
# the sign of a known linear model with 5 % flipped; a fixed seed
my $seed = 4242;
write_set("$dir/train.svm", 20000, 2000, 20, \$seed);

sub train_args
{
	my ($server, $table) = @_;
	return ($train_bin, '--server', $server, '--table', $table, '--train', "$dir/train.svm",
		'--workers', '2', '--reg', 'l2', '--lambda', '1', '--reset');
}

my $alone = ps_node('alone');
my ($out, $err) = ('', '');
IPC::Run::run([ train_args($alone->connstr('postgres'), 'm') ], '>', \$out, '2>', \$err);
is($? >> 8, 0, 'on a server on its own, ps_train exits 0') or diag("$out\n$err");
my $base = json_of($out)->{objective};
ok($base > 0 && $base < 20000 * log(2), "it reaches objective $base");
$alone->stop;

my @n = ps_nodes('tc', 3,
	"wal_level = logical\nmax_worker_processes = 16\nmax_wal_senders = 10\nmax_replication_slots = 10");
my @conn = map { (my $c = $_->connstr('postgres')) =~ s/'/''/g; $c } @n;
$n[0]->safe_psql('postgres', "SELECT ps_cluster_add('$conn[$_]')") for 0 .. 2;
$n[0]->safe_psql('postgres', "SELECT ps_cluster_configure(replicas => 1, replication => 'synchronous')");

($out, $err) = ('', '');
IPC::Run::run([ train_args($n[0]->connstr('postgres'), 'm') ], '>', \$out, '2>', \$err);
is($? >> 8, 0, 'on 3 servers, through node 1, ps_train exits 0') or diag("$out\n$err");
like($err, qr/table m prepared on the 3 active nodes of the cluster/, 'it prepared the table on every node');
my $obj = json_of($out)->{objective};
ok(abs($obj - $base) <= 1e-3 * $base, "and reaches the same objective ($obj against $base)");
my $total = 0;
$total += $_->safe_psql('postgres', 'SELECT count(*) FROM m WHERE ps_key_node(key) = ps_node_id()') for @n;
ok($total > 1000, "the weights are spread over the nodes ($total served)");

# node 3 killed while it trains
($out, $err) = ('', '');
my $h = IPC::Run::start([ train_args($n[0]->connstr('postgres'), 'm') ], '>', \$out, '2>', \$err,
	IPC::Run::timeout(300));
for (1 .. 600)
{
	$h->pump_nb;
	last if $out =~ /^iteration 1 /m;
	usleep(20_000);
}
my $before = () = $out =~ /^iteration /mg;
$n[2]->kill9;
$h->finish;
is($? >> 8, 0, 'with node 3 killed while it trains, ps_train exits 0') or diag("$out\n$err");
my $after = (() = $out =~ /^iteration /mg) - $before;
ok($before >= 2 && $after >= 2, "node 3 was killed midway: $before iterations before, $after after");
$obj = json_of($out)->{objective} // -1;
ok(abs($obj - $base) <= 1e-3 * $base, "and reaches the same objective ($obj against $base)");
is($n[0]->safe_psql('postgres', "SELECT count(*) FROM ps_cluster_nodes() WHERE state = 'dead'"), '1',
	'node 3 was declared dead');

$_->stop for @n[0, 1];
done_testing();
