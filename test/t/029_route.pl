# Copyright: the ps authors.  Licensed like the rest of ps.
#
# 029_route.pl: the client library routes each key to the server that
# holds it, and follows the ring when it moves (README, "Running a
# cluster", "The C client library").
#
#   - A client connected through one node of a 3-node cluster pushes
#     listed keys (some repeated) and a range across blocks of every
#     node, and pulls them back exactly; each server stores only the keys
#     the ring gives it.
#   - Clients that learnt the ring before a fourth node joined go on with
#     their old ring: a pull, and a push, refused with PS003 by a server
#     whose keys moved are sent again by the newer ring, read from the
#     servers; every value ends exact, once (nothing applied twice).
#   - A task of a worker that did not join through the client fails,
#     unsent (test/t/030_cluster_workers.pl has workers across servers).
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
my $bin = "$dir/ps_route_test";
build_client("$root/test/client/ps_route_test.c", $bin);

my @n = ps_nodes('route', 4);
my @conn = map { (my $c = $_->connstr('postgres')) =~ s/'/''/g; $c } @n;
my @id = map { $_->safe_psql('postgres', 'SELECT ps_node_id()') } @n;
$n[0]->safe_psql('postgres', "SELECT ps_cluster_add('$conn[$_]')") for 0 .. 2;
is(status_of($n[2]), '3|3|3|t', 'a cluster of 3 nodes, ring version 3');

my ($in, $out, $err) = ('', '', '');
my $h = IPC::Run::start([ $bin, $n[0]->connstr('postgres'), 'w' ],
	'<', \$in, '>', \$out, '2>', \$err, IPC::Run::timeout(120));
$h->pump until $out =~ /^# ready$/m || !$h->pumpable;
like($out, qr/^# ready$/m, 'phase 1 done') or diag($out . $err);

my $held = q{SELECT count(*), coalesce(sum(val), 0), bool_and(ps_key_node(key) = ps_node_id()) FROM w};
my @rows = map { [ split /\|/, $_->safe_psql('postgres', $held) ] } @n[0 .. 2];
is(join(',', map { $_->[2] } @rows), 't,t,t', 'every server stores only keys the ring gives it');
ok((grep { $_->[0] > 0 } @rows) == 3, 'and each of the 3 stores some');
is($rows[0][0] + $rows[1][0] + $rows[2][0], 20000 + 120000, '20000 listed keys and a range of 120000 in all');

# The ring moves under the two clients that wait.
$_->safe_psql('postgres', 'TRUNCATE w') for @n[0 .. 2];
is($n[1]->safe_psql('postgres', "SELECT ps_cluster_add('$conn[3]')"), '4', 'a fourth node joins: version 4');
$in = "go\n";
$h->finish;
is($h->result(0), 0, 'ps_route_test exits 0');
unlike($out, qr/^not ok/m, 'every check of ps_route_test passed') or diag($out . $err);
like($out, qr/^ok \d+ - a client with the old ring pushes everything: refused, sent again$/m,
	'including the pushes of a client with the old ring');
my @ok = $out =~ /^(?:not )?ok /mg;
is(scalar(@ok), 11, 'all 11 of its checks ran');

@rows = map { [ split /\|/, $_->safe_psql('postgres', $held) ] } @n;
is(join(',', map { $_->[2] } @rows), 't,t,t,t', 'after it, every server still stores only its own keys');
ok($rows[3][0] > 0, 'and the new node stores some');
is($rows[0][0] + $rows[1][0] + $rows[2][0] + $rows[3][0], 140000, '140000 keys in all');
my ($listed_want) = $out =~ /^# listed keys' values sum to (\d+) a round$/m;
my ($listed_sum, $range_sum, $range_want) = (0, 0, 0);
$listed_sum += $_->safe_psql('postgres', 'SELECT coalesce(sum(val), 0) FROM w WHERE key < 100000000') for @n;
$range_sum += $_->safe_psql('postgres', 'SELECT coalesce(sum(val), 0) FROM w WHERE key >= 100000000') for @n;
$range_want += $_ % 7 for 100000000 .. 100119999;
is($listed_sum, $listed_want, 'the listed keys\' values add up exactly over the four servers (repeats twice)');
is($range_sum, $range_want, 'so do the range\'s');

$_->stop for @n;
done_testing();
