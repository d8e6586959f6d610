# Copyright: the ps authors.  Licensed like the rest of ps.
#
# 032_failover.pl: a server killed while clients push (README, "Running a
# cluster", "After a failure"); test/client/ps_failover_test.c is each
# client.
#
#   - 3 nodes, replicas => 1, synchronous; every node's monitor sees the
#     other two up (ps_cluster_health).
#   - 3 clients, one through each node, push integer gradients to keys of
#     every node and wait for each push.  Node 3 is killed (SIGKILL of its
#     postmaster) in the middle.  Its monitor-less peers declare it dead,
#     its ranges go to their replicas, the clients send their unfinished
#     pushes there again under the same exactly-once ids: every push of
#     every client succeeds, and every key holds exactly the sum of all
#     pushes (nothing lost, nothing applied twice).  The time from the kill
#     to each client's first push that succeeded is printed.  A fourth
#     client pushes a range of 24 blocks: its pieces on node 3, sent again,
#     are split among the two other nodes, and every key of the range holds
#     exactly its sum too.
#   - The ring shows node 3 dead and its tokens failed over; its slots
#     and subscriptions are gone from the live nodes.
#   - Node 3, started again, learns that it was declared dead and serves
#     nothing (PS003 with the new ring), until it rejoins as a new node.
#   - Node 2 killed too: the keys whose owner and replica were nodes 2 and
#     3 are lost, and a request for them fails with PS004, not with a
#     silent empty value; the keys node 1 holds still work, and the ranges
#     cannot move (removing a dead node is refused: nothing to copy from).
use strict;
use warnings;

use File::Temp qw(tempdir);
use FindBin;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

use lib "$FindBin::RealBin/../lib";
use PsClientBuild;
use PsCluster;

my $root = "$FindBin::RealBin/../..";
my $dir = tempdir(CLEANUP => 1);
my $bin = "$dir/ps_failover_test";
build_client("$root/test/client/ps_failover_test.c", $bin);

my ($nr, $cr, $ir) = ps_failover_cluster('fail');
my @n = @$nr;
my @conn = @$cr;
my @id = @$ir;

my ($pushes, $nkeys) = (150, 60);
my @client;
for my $i (0 .. 2)
{
	my %c = (out => '', err => '');
	$c{h} = IPC::Run::start([ $bin, $n[$i]->connstr('postgres'), 'w', $i + 1, $pushes, $nkeys, 10 ],
		'>', \$c{out}, '2>', \$c{err}, IPC::Run::timeout(180));
	push @client, \%c;
}
# the range client: 24 blocks from key 2^20, through node 1
my ($range_first, $range_blocks) = (1048576, 24);
{
	my %c = (out => '', err => '');
	$c{h} = IPC::Run::start([ $bin, $n[0]->connstr('postgres'), 'w', 1, $pushes, $range_blocks, 10, $range_first ],
		'>', \$c{out}, '2>', \$c{err}, IPC::Run::timeout(180));
	push @client, \%c;
}
sub oks { my ($c) = @_; my @l = $c->{out} =~ /^ok /mg; return scalar @l; }
for (1 .. 600)
{
	$_->{h}->pump_nb for @client;
	last if !grep { oks($_) < 40 } @client;
	usleep(20_000);
}
ok(!grep({ oks($_) < 40 } @client), 'the 4 clients are pushing (40 pushes each)');

my $pid3 = $n[2]->{_pid};
my $killed_at = time;
$n[2]->kill9;
$_->{h}->finish for @client;
for my $i (0 .. 3)
{
	my ($done) = $client[$i]{out} =~ /^# done (\d+ \d+)$/m;
	is($done // '', "$pushes 0", "client " . ($i + 1) . " (through node " . ($i % 3 + 1) . "): every push succeeded")
	  or diag($client[$i]{out} =~ /^(fail .*)$/m ? $1 : $client[$i]{err});
}

# from the kill to each client's first push sent after it that succeeded
for my $i (0 .. 2)
{
	my ($first) = grep { $_->[0] > $killed_at } map { [ (split / /)[ 2, 3 ] ] } $client[$i]{out} =~ /^(ok .*)$/mg;
	note(sprintf("client %d: the first push sent after the kill succeeded %.0f ms after it",
			$i + 1, $first ? 1000 * ($first->[1] - $killed_at) : -1));
}
my @mon = map { [ split /\|/, $_->safe_psql('postgres', 'SELECT failovers, last_detect_ms, last_failover_ms FROM ps_cluster_monitor()') ] } @n[0, 1];
is($mon[0][0] + $mon[1][0], 1, 'one monitor declared node 3 dead');
note("the monitor that did: silent ${\ ($mon[0][0] ? $mon[0][1] : $mon[1][1])} ms before it was detected, the ring changed ${\ ($mon[0][0] ? $mon[0][2] : $mon[1][2])} ms later");

# exact sums: each key once on the node that serves it, 150 x (1 + 2 + 3)
my %val;
my $twice = 0;
for my $node (@n[0, 1])
{
	for my $row (split /\n/, $node->safe_psql('postgres', 'SELECT key, val FROM w WHERE ps_key_node(key) = ps_node_id()'))
	{
		my ($k, $v) = split /\|/, $row;
		$twice++ if exists $val{$k};
		$val{$k} = $v;
	}
}
my @wrong = grep { ($val{ $_ * 4096 } // -1) != 6 * $pushes } 1 .. $nkeys;
is(scalar(@wrong) . " $twice", '0 0', "every key holds exactly " . 6 * $pushes . ", served by one node")
  or diag(join(' ', map { $_ * 4096 . '=' . ($val{ $_ * 4096 } // 'none') } @wrong));
# the range: each of its keys once, holding exactly 150 x 1
my $range_end = $range_first + $range_blocks * 4096;
my ($range_ok, $range_bad) = (0, 0);
for my $node (@n[0, 1])
{
	my ($good, $bad) = split /\|/, $node->safe_psql('postgres',
		"SELECT count(*) FILTER (WHERE val = $pushes), count(*) FILTER (WHERE val <> $pushes) FROM w "
		  . "WHERE key >= $range_first AND key < $range_end AND ps_key_node(key) = ps_node_id()");
	$range_ok += $good;
	$range_bad += $bad;
}
is("$range_ok $range_bad", ($range_end - $range_first) . ' 0',
	"every key of the range push holds exactly $pushes, served by one node");
my $served3 = 0;
$served3 += $n[0]->safe_psql('postgres', "SELECT count(*) FROM ps_ring() WHERE state = 'failed over'");
ok($served3 > 0, "node 3's tokens are failed over ($served3)");
is($n[0]->safe_psql('postgres', "SELECT state FROM ps_cluster_nodes() WHERE node = $id[2]"), 'dead', 'node 3 is dead on the ring');
is($n[1]->safe_psql('postgres', "SELECT count(*) FROM ps_ring() WHERE owner = $id[2] OR $id[2] = ANY (replicas)"),
	'0', 'no token is served or replicated by node 3');
is(join(',', map { $_->safe_psql('postgres', "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'ps\\_%\\_$id[2]'") } @n[0, 1]),
	'0,0', 'the live nodes dropped the slots of node 3\'s subscriptions');
is(join(',', map { $_->safe_psql('postgres', "SELECT count(*) FROM pg_subscription WHERE subname LIKE 'ps\\_$id[2]\\_%'") } @n[0, 1]),
	'0,0', 'and their subscriptions to node 3');

# node 3 back: it takes the ring that declared it dead (once the killed
# postmaster is gone: it may stay a zombie for a moment)
for (1 .. 300)
{
	last unless kill(0, $pid3);
	usleep(100_000);
}
$n[2]->start;
my $member = poll_psql($n[2], 'SELECT member FROM ps_cluster_status()', sub { $_[0] eq 'f' });
is($member, 'f', 'node 3, started again, learns it was declared dead');
like(error_of($n[2], "SELECT ps_pull('w', '{4096}')"), qr/PS003: key 4096 .*\n.*DETAIL:  ring version 5:/,
	'and refuses requests, naming the new ring');

# node 2 killed too: beyond one replica some keys are lost
$n[1]->kill9;
my $lost = poll_psql($n[0], "SELECT count(*) FROM ps_ring() WHERE state = 'lost'", sub { $_[0] > 0 });
ok($lost > 0, "with nodes 2 and 3 dead, $lost tokens are lost");
my $lost_key = $n[0]->safe_psql('postgres', "SELECT min(k * 4096) FROM generate_series(1, $nkeys) k WHERE ps_key_node(k * 4096) IS NULL");
my $kept_key = $n[0]->safe_psql('postgres', "SELECT min(k * 4096) FROM generate_series(1, $nkeys) k WHERE ps_key_node(k * 4096) = ps_node_id()");
ok($lost_key ne '' && $kept_key ne '', "a lost key ($lost_key) and one node 1 serves ($kept_key)");
like(error_of($n[0], "SELECT ps_pull('w', '{$lost_key}')"),
	qr/PS004: key $lost_key of table "w" is lost: the node that held it and its 1 replicas failed/,
	'a pull of a lost key fails with PS004');
like(error_of($n[0], "SELECT ps_push('w', '{$lost_key}', '{1}')"), qr/PS004/, 'so does a push');
is($n[0]->safe_psql('postgres', "SELECT ps_pull('w', '{$kept_key}')"), '{' . 6 * $pushes . '}',
	'a key node 1 serves is still exact');

like(error_of($n[0], "SELECT ps_cluster_remove($id[2])"),
	qr/55000: ranges of this cluster are lost: their owner and replicas all failed\n.*DETAIL:  Moving ranges would give a lost range a new server with none of its values/,
	'removing a dead node while ranges are lost is refused: nothing to copy them from');

$_->stop for @n[0, 2];
done_testing();
