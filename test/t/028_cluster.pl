# Copyright: the ps authors.  Licensed like the rest of ps.
#
# 028_cluster.pl: a cluster of ps servers on one ring, changed by the admin
# functions on every live node or on none (README, "Running a cluster").
#
#   - A server on its own (ring version 0) holds every key.  Only
#     superusers change the cluster (the functions open connections with
#     conninfos of the caller's choosing).
#   - ps_cluster_add builds the cluster node by node; every node then has
#     the same ring (ps_ring(), ps_cluster_nodes()), the same owner for
#     every key (ps_key_node), and the keys spread over the nodes by
#     blocks of 4096.
#   - A server asked for a key it does not hold (push, pull, range push,
#     range pull, wire-format push and pull, predictions) fails with
#     SQLSTATE PS003 and the ring's version, and changes nothing; the
#     node that holds the key takes it.  Keys pushed to their owners add
#     up exactly.
#   - All or none: with one node down, adding a node changes no node's
#     ring and leaves no prepared transaction anywhere.  A change made
#     with an expected version that is not the node's is refused.
#   - A change that would take keys from a server whose ps tables hold
#     keys is refused (the range copy is not built yet), everywhere.
#   - A node removed while up is told: it then holds no key; it comes back
#     with ps_cluster_reset() as a new node on its own.  A node removed
#     while down is not; its keys go to the next nodes, which take pushes
#     for them; once back, it refuses to reset unless forced.
use strict;
use warnings;

use FindBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use lib "$FindBin::RealBin/../lib";
use PsCluster;

# the failure detector off: nodes are stopped here to see changes refused
my @n = ps_nodes('node', 4, 'ps.heartbeat_interval = 0');
# conninfos as SQL string literals' contents (connstr quotes the dbname)
my @conn = map { (my $c = $_->connstr('postgres')) =~ s/'/''/g; $c } @n;
my @id = map { $_->safe_psql('postgres', 'SELECT ps_node_id()') } @n;

is(status_of($n[0]), '0|0|0|t', 'on its own: ring version 0, no nodes, holds its keys');
is($n[0]->safe_psql('postgres', "SELECT ps_push('w', '{1,5000,-7}', '{1,2,3}'); SELECT ps_pull('w', '{1,5000,-7}'); SELECT ps_key_node(1) IS NULL"),
	"1\n{1,2,3}\nt", 'it takes any key; no key has a node');
$n[0]->safe_psql('postgres', 'TRUNCATE w');
isnt($id[0], $id[1], 'every server has its own node id');

# Superusers only.
$n[0]->safe_psql('postgres', 'CREATE ROLE alice LOGIN');
like(error_of($n[0], "SET ROLE alice; SELECT ps_cluster_add('$conn[1]')"),
	qr/42501: permission denied for function ps_cluster_add/, 'a role that is not superuser may not call ps_cluster_add');
$n[0]->safe_psql('postgres', 'GRANT EXECUTE ON FUNCTION ps_cluster_add(text, integer), ps_cluster_apply(bigint, bigint, integer, boolean, integer[], integer[], text[], text[]) TO alice');
like(error_of($n[0], "SET ROLE alice; SELECT ps_cluster_add('$conn[1]')"),
	qr/42501: permission denied for ps_cluster_add.*\n.*DETAIL:  Changing the cluster makes this server connect to others/,
	'even when granted EXECUTE: the function checks, and says why');
like(error_of($n[0], "SET ROLE alice; SELECT ps_cluster_apply(0, 1, 0, true, '{1}', '{16}', '{active}', '{x}')"),
	qr/42501: permission denied for ps_cluster_apply/, 'so does the internal ps_cluster_apply');
is(status_of($n[0]), '0|0|0|t', 'nothing changed');

# Building the cluster, node by node, from node 1.
is($n[0]->safe_psql('postgres', "SELECT ps_cluster_add('$conn[0]', virtual_nodes => 16)"), '1',
	'node 1 makes a cluster of itself: ring version 1');
is($n[0]->safe_psql('postgres', "SELECT ps_cluster_add('$conn[1]', 16)"), '2', 'node 2 joins: version 2');
is($n[0]->safe_psql('postgres', "SELECT ps_cluster_add('$conn[2]')"), '3', 'node 3 joins: version 3');
is(status_of($_), '3|3|3|t', 'every node is at version 3 with 3 active nodes')
  for @n[0 .. 2];
is(status_of($n[3]), '0|0|0|t', 'node 4 is still on its own');
my $ring = $n[0]->safe_psql('postgres', 'SELECT * FROM ps_ring()');
is(scalar(split /\n/, $ring), 48, '3 nodes x 16 virtual nodes: 48 tokens');
is($n[$_]->safe_psql('postgres', 'SELECT * FROM ps_ring()'), $ring, "node " . ($_ + 1) . " has the same ring")
  for (1, 2);
my $nodes_sql = 'SELECT node, host, port, dbname, virtual_nodes, state, share, version FROM ps_cluster_nodes() ORDER BY node';
is($n[2]->safe_psql('postgres', $nodes_sql), $n[0]->safe_psql('postgres', $nodes_sql),
	'and the same nodes, addresses and shares');
is($n[1]->safe_psql('postgres', 'SELECT node FROM ps_cluster_nodes() WHERE self'), $id[1],
	'each node knows which one it is');
is($n[0]->safe_psql('postgres', 'SELECT round(sum(share)::numeric, 9) FROM ps_cluster_nodes()'), '1.000000000',
	'the shares add up to the whole key space');
my $owners_sql = 'SELECT string_agg(ps_key_node(k)::text, \',\' ORDER BY k) FROM generate_series(-40000, 400000, 1000) k';
my $owners = $n[0]->safe_psql('postgres', $owners_sql);
is($n[2]->safe_psql('postgres', $owners_sql), $owners, 'every node gives every key the same owner');
is($n[0]->safe_psql('postgres', q{
SELECT count(DISTINCT ps_key_node(k)), bool_and(ps_key_node(k) = ps_key_node(k - k % 4096))
  FROM generate_series(1, 400000) k}), "3|t",
	'feature ids 1 .. 400000 spread over all 3 nodes, in blocks of 4096 keys');

# Requests go to the node that holds their keys.
my %at = map { ($id[$_] => $_) } 0 .. 3;
# 20 test keys of each node: the first multiples of 977 it holds (the
# node ids are random, so the ring is another one each run)
my %mine;
for my $row (split /\n/, $n[0]->safe_psql('postgres',
	'SELECT ps_key_node(k), k FROM generate_series(977, 977 * 5000, 977) k ORDER BY k'))
{
	my ($owner, $k) = split /\|/, $row;
	push @{ $mine{$owner} }, $k if @{ $mine{$owner} // [] } < 20;
}
is(join(',', map { scalar(@{ $mine{$_} // [] }) } @id[0 .. 2]), '20,20,20',
	'20 test keys on each of the 3 nodes');
my ($o, $other) = ($id[0], $id[1]);
my $k_other = $mine{$other}[0];
like(error_of($n[0], "SELECT ps_push('w', '{$mine{$o}[0],$k_other}', '{1,1}')"),
	qr/PS003: key $k_other of table "w" is not held by this server\n.*DETAIL:  ring version 3: node $other holds it, this server is node $o\.\n.*HINT:  Read the ring again/,
	'a push with a key of another node fails: PS003, the ring version, the node that holds it');
like(error_of($n[0], "SELECT ps_pull('w', '{$k_other}')"), qr/PS003: key $k_other /, 'so does a pull');
like(error_of($n[0], "SELECT ps_push_range('w', $k_other, '{1}')"), qr/PS003: key $k_other /, 'and a range push');
like(error_of($n[0], "SELECT ps_pull_range('w', $k_other, $k_other + 1)"), qr/PS003: key $k_other /, 'and a range pull');
like(error_of($n[0], "SELECT ps_predict('w', '{$k_other}', '{1}')"), qr/PS003: key $k_other /, 'and a prediction');
like(error_of($n[0], "SELECT ps_pull_active('w', '{$k_other}')"), qr/PS003: key $k_other /, 'and a filtered pull');
is($n[0]->safe_psql('postgres', 'SELECT count(*) FROM w'), '0', 'nothing was written');

# A range across blocks of two owners fails; one inside a block the node
# holds works.
my $blk = $n[0]->safe_psql('postgres', "SELECT min(k) FROM generate_series(0, 4096 * 200, 4096) k WHERE ps_key_node(k) = $o AND ps_key_node(k + 4096) <> $o");
like(error_of($n[0], "SELECT ps_push_range('w', $blk + 4090, array_fill(1::real, ARRAY[10]))"),
	qr/PS003: key @{[ $blk + 4096 ]} /, 'a range push crossing into a block of another node fails at that block');
is($n[0]->safe_psql('postgres', "SELECT ps_push_range('w', $blk, array_fill(1::real, ARRAY[4096])) > 0; SELECT sum(v) FROM unnest(ps_pull_range('w', $blk, $blk + 4096)) v"),
	"t\n4096", 'a whole block of its own: pushed and pulled');
$n[0]->safe_psql('postgres', 'TRUNCATE w');

# Pushes routed by owner, from every node's side, add up exactly.
for my $round (1 .. 3)
{
	for my $owner (keys %mine)
	{
		my @k = @{ $mine{$owner} };
		my $vals = join(',', map { $_ % 7 + $round } @k);
		$n[ $at{$owner} ]->safe_psql('postgres', "SELECT ps_push('w', '{" . join(',', @k) . "}', '{$vals}')");
	}
}
my $bad = 0;
for my $owner (keys %mine)
{
	my @k = @{ $mine{$owner} };
	my $got = $n[ $at{$owner} ]->safe_psql('postgres', "SELECT ps_pull('w', '{" . join(',', @k) . "}')");
	my $want = '{' . join(',', map { 3 * ($_ % 7) + 6 } @k) . '}';
	$bad++ if $got ne $want;
}
is($bad, 0, 'three rounds of pushes, each key to its owner: every sum exact');
is(join(',', map { $_->safe_psql('postgres', 'SELECT count(*) FROM w') } @n[0 .. 2]),
	join(',', map { scalar(@{ $mine{$_} }) } @id[0 .. 2]), 'each node stores only its own keys');

# All or none: node 3 down, adding node 4 changes nothing anywhere.
$n[0]->safe_psql('postgres', 'TRUNCATE w');
$n[1]->safe_psql('postgres', 'TRUNCATE w');
$n[2]->safe_psql('postgres', 'TRUNCATE w');
$n[2]->stop('immediate');
my $err = error_of($n[0], "SELECT ps_cluster_add('$conn[3]')");
like($err, qr/08006: the cluster was not changed: node $id[2] failed: .*\n.*DETAIL:  The change \(ring version 4\) was applied to every node or, as here, to none\./,
	'with node 3 down, adding node 4 fails, naming node 3');
is(status_of($_), '3|3|3|t', 'nodes 1 and 2 stay at version 3') for @n[0, 1];
is(status_of($n[3]), '0|0|0|t', 'node 4 stays on its own');
is(join(',', map { $_->safe_psql('postgres', 'SELECT count(*) FROM pg_prepared_xacts') } @n[0, 1, 3]),
	'0,0,0', 'and no prepared transaction is left on any node');
$n[2]->start;
is(status_of($n[2]), '3|3|3|t', 'node 3 comes back at version 3');
like(error_of($n[1], "SELECT ps_cluster_apply(2, 4, 0, true, '{$id[1]}', '{16}', '{active}', '{x}')"),
	qr/40001: node $id[1] is at ring version 3, not 2/, 'a change expecting another version is refused');

# Keys held: no change may take them away.
$n[ $at{$_} ]->safe_psql('postgres', "SELECT ps_push('w', '{$mine{$_}[0]}', '{1}')") for @id[0 .. 2];
$err = error_of($n[1], "SELECT ps_cluster_add('$conn[3]')");
like($err, qr/55000: (node \d+|the new node) cannot take part in a range copy: it lacks wal_level = logical.*\n.*DETAIL:  The ps tables hold keys, so the ranges that move are copied, through logical replication; the cluster was not changed\./,
	'with keys on every node and wal_level = replica, adding a node, which takes some of them, is refused');
is(join(',', map { status_of($_) } @n), '3|3|3|t,3|3|3|t,3|3|3|t,0|0|0|t', 'and no node changed');
is(join(',', map { $_->safe_psql('postgres', 'SELECT count(*) FROM pg_prepared_xacts') } @n),
	'0,0,0,0', 'nor has any a prepared transaction left');
$_->safe_psql('postgres', 'TRUNCATE w') for @n[0 .. 2];
$n[3]->safe_psql('postgres', "SELECT ps_push('w', '{1}', '{1}')");
like(error_of($n[1], "SELECT ps_cluster_add('$conn[3]')"),
	qr/node $id[3] failed: node $id[3] would give keys away/, 'nor may a joining node with keys join');
$n[3]->safe_psql('postgres', 'TRUNCATE w');

# Node 4 joins (from node 2), then is removed while up: it is told.
is($n[1]->safe_psql('postgres', "SELECT ps_cluster_add('$conn[3]', 8)"), '4', 'node 4 joins from node 2: version 4');
is(status_of($_), '4|4|4|t', 'all four nodes at version 4') for @n;
is($n[3]->safe_psql('postgres', 'SELECT * FROM ps_ring()'), $n[0]->safe_psql('postgres', 'SELECT * FROM ps_ring()'),
	'the new node has the same ring');
like(error_of($n[0], "SELECT ps_cluster_add('$conn[3]')"), qr/node $id[3] is in this cluster already/,
	'a node is added once');
is($n[2]->safe_psql('postgres', "SELECT ps_cluster_remove($id[3])"), '5', 'node 4 removed from node 3: version 5');
is(status_of($n[3]), '5|3|3|f', 'node 4 was told: it is at version 5, not on the ring');
like(error_of($n[3], "SELECT ps_push('w', '{1}', '{1}')"),
	qr/PS003: key 1 .*\n.*DETAIL:  ring version 5: node \d+ holds it, this server \(node $id[3]\) is not on the ring\./,
	'and holds no key');
like(error_of($n[3], "SELECT ps_cluster_add('$conn[0]')"), qr/this server \(node $id[3]\) is not in its cluster any more/,
	'nor may it change the cluster');
my $newid = $n[3]->safe_psql('postgres', 'SELECT ps_cluster_reset()');
isnt($newid, $id[3], 'reset, it is a new node');
is(status_of($n[3]), '0|0|0|t', 'on its own again');
is($n[3]->safe_psql('postgres', "SELECT ps_push('w', '{1}', '{1}') > 0"), 't', 'holding every key');

# Node 3 removed while down: not told; its keys go to the next nodes.
$n[2]->stop('immediate');
my ($ret, $out, $stderr) = $n[0]->psql('postgres', "SELECT ps_cluster_remove($id[2])");
is($out, '6', 'node 3 removed while down: version 6');
like($stderr, qr/WARNING:  node $id[2] is removed without being told/, 'with a warning that it was not told');
is(status_of($_), '6|2|2|t', 'nodes 1 and 2 at version 6, with 2 nodes') for @n[0, 1];
my $k3 = $mine{ $id[2] }[0];
my $heir = $n[0]->safe_psql('postgres', "SELECT ps_key_node($k3)");
ok($heir eq $id[0] || $heir eq $id[1], "a key of node 3 now belongs to node 1 or 2");
is($n[ $at{$heir} ]->safe_psql('postgres', "SELECT ps_push('w', '{$k3}', '{5}'); SELECT ps_pull('w', '{$k3}')"),
	"1\n{5}", 'which takes pushes for it');
$n[2]->start;
is(status_of($n[2]), '5|3|3|t', 'node 3, back, still has its old ring');
like(error_of($n[2], 'SELECT ps_cluster_reset()'), qr/this server \(node $id[2]\) is active on the ring of its cluster \(version 5\)/,
	'and refuses to reset without force');
isnt($n[2]->safe_psql('postgres', 'SELECT ps_cluster_reset(force => true)'), $id[2], 'forced, it is a new node');
is(status_of($n[2]), '0|0|0|t', 'on its own');

# Declaring a node dead by hand: superusers only, a live node of the
# ring, not the caller's own
like(error_of($n[0], "SET ROLE alice; SELECT ps_cluster_fail($id[1])"),
	qr/42501: permission denied for function ps_cluster_fail/, 'ps_cluster_fail is for superusers');
$n[0]->safe_psql('postgres', 'GRANT EXECUTE ON FUNCTION ps_cluster_fail(integer) TO alice');
like(error_of($n[0], "SET ROLE alice; SELECT ps_cluster_fail($id[1])"),
	qr/42501: permission denied for ps_cluster_fail/, 'even when granted EXECUTE');
like(error_of($n[0], "SELECT ps_cluster_fail(NULL)"), qr/22004: .*the node/, 'a NULL node is refused');
like(error_of($n[0], "SELECT ps_cluster_fail(12345)"),
	qr/42704: node 12345 is not an active node of this cluster
.*HINT:  ps_cluster_nodes\(\) lists/, 'so is a node not in the cluster');
like(error_of($n[0], "SELECT ps_cluster_fail($id[0])"), qr/22023: node $id[0] cannot declare itself dead/,
	'and the node itself');
is(status_of($n[0]), '6|2|2|t', 'nothing changed');
is($n[0]->safe_psql('postgres', "SELECT ps_cluster_fail($id[1])"), '7', 'node 2 declared dead: version 7');
is($n[0]->safe_psql('postgres', "SELECT state FROM ps_cluster_nodes() WHERE node = $id[1]"), 'dead', 'it is dead on the ring');
is($n[0]->safe_psql('postgres', "SELECT count(*) > 0, count(*) FILTER (WHERE owner IS NOT NULL) FROM ps_ring() WHERE state = 'lost'"),
	"t|0", 'without replicas its tokens are lost: no owner');
my $lost = $n[0]->safe_psql('postgres', "SELECT min(k) FROM generate_series(1, 1000000) k WHERE ps_key_node(k) IS NULL");
like(error_of($n[0], "SELECT ps_pull('w', '{$lost}')"), qr/PS004: key $lost of table "w" is lost: the node that held it and its 0 replicas failed/,
	'and its keys fail with PS004');
like(error_of($n[0], "SELECT ps_cluster_fail($id[1])"), qr/42704: node $id[1] is not an active node/, 'a dead node is declared once');

$_->stop for @n;
done_testing();
