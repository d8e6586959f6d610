# Copyright: the ps authors.  Licensed like the rest of ps.
#
# 031_replication.pl: replication after aggregation through logical
# replication (README, "Running a cluster", "Replicas").
#
#   - ps_cluster_configure(replicas => 1) on a cluster of 3 nodes sets up
#     on every node the publications of its ps_delta rows for each other
#     node and the subscriptions to the nodes whose ranges it replicates.
#   - Asynchronous: pushes to each owner reach their replica, exactly:
#     every key is held, with the owner's value, by exactly 2 nodes; the
#     delta rows are pruned once the subscribers confirmed them;
#     ps_replication() shows both sides.
#   - A subscriber stopped while its origins take pushes catches up when
#     it starts again, exactly.
#   - Synchronous: synchronous_standby_names names each node's
#     subscribers, and a push is answered only once its replica has it:
#     read on the replica right after the push returns, it is exact; with
#     the replica down a push waits (until its statement_timeout), and the
#     replica gets it when it is back.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

use FindBin;
use lib "$FindBin::RealBin/../lib";
use PsCluster;

# the failure detector off: a subscriber is stopped here, not failed over
my @n = ps_nodes('repl', 3, "wal_level = logical\nmax_worker_processes = 16\nmax_wal_senders = 10\nmax_replication_slots = 10\nps.heartbeat_interval = 0");
my @conn = map { (my $c = $_->connstr('postgres')) =~ s/'/''/g; $c } @n;
my @id = map { $_->safe_psql('postgres', 'SELECT ps_node_id()') } @n;
$n[0]->safe_psql('postgres', "SELECT ps_cluster_add('$conn[$_]')") for 0 .. 2;
is($n[0]->safe_psql('postgres', "SELECT ps_cluster_configure(replicas => 1, replication => 'asynchronous')"),
	'4', 'replicas => 1, asynchronous: ring version 4');
is(join(',', map { $_->safe_psql('postgres', 'SELECT replicas || replication FROM ps_cluster_status()') } @n),
	'1asynchronous,1asynchronous,1asynchronous', 'every node knows it');
my $subs = 0;
for my $i (0 .. 2)
{
	my $s = $n[$i]->safe_psql('postgres', 'SELECT count(*) FROM pg_subscription');
	ok($s >= 1, "node " . ($i + 1) . " subscribes to $s origin(s)");
	$subs += $s;
	is($n[$i]->safe_psql('postgres', "SELECT count(*) FROM pg_publication WHERE pubname LIKE 'ps\\_to\\_%'"),
		'2', "node " . ($i + 1) . " publishes its rows for each of the 2 others");
}

# 30 keys of each node, as listed below; the expected value of each key
my %owner_keys;
for my $i (0 .. 2)
{
	$owner_keys{$i} = $n[0]->safe_psql('postgres',
		"SELECT string_agg(k::text, ',') FROM (SELECT k FROM generate_series(1, 2000000, 997) k"
		  . " WHERE ps_key_node(k) = $id[$i] LIMIT 30) s");
}
my %want;

# push round r of node i's keys on node i: key k gets k % 7 + r
sub push_round
{
	my ($i, $r) = @_;
	my $keys = $owner_keys{$i};
	my @k = split /,/, $keys;
	my $vals = join(',', map { $_ % 7 + $r } @k);
	$n[$i]->safe_psql('postgres', "SELECT ps_push('w', '{$keys}', '{$vals}')");
	$want{$_} += $_ % 7 + $r for @k;
}

# "key:copies" for every key whose copies holding the expected value are not 2
sub not_replicated
{
	my %copies;
	for my $node (@n)
	{
		next unless $node->{_pid};
		for my $row (split /\n/, $node->safe_psql('postgres', 'SELECT key, val FROM w'))
		{
			my ($k, $v) = split /\|/, $row;
			$copies{$k}++ if defined $want{$k} && $v == $want{$k};
		}
	}
	return join(' ', map { "$_:" . ($copies{$_} // 0) } grep { ($copies{$_} // 0) != 2 } sort keys %want);
}

sub wait_replicated
{
	my ($what) = @_;
	my $left;
	for (1 .. 300)
	{
		$left = not_replicated();
		last if $left eq '';
		usleep(100_000);
	}
	is($left, '', $what) or diag(join("\n", map { $_->name . ': ' . $_->safe_psql('postgres', 'SELECT string_agg(key || \'=\' || val, \' \' ORDER BY key) FROM w WHERE key < 30000') } grep { $_->{_pid} } @n));
}

push_round($_, 1) for 0 .. 2;
push_round($_, 2) for 0 .. 2;
wait_replicated('asynchronous: every key is held exactly by its owner and one replica');
my $pruned = 0;
for (1 .. 100)
{
	$pruned = 1;
	$pruned &&= $_->safe_psql('postgres', 'SELECT count(*) FROM ps_delta') eq '0' for @n;
	last if $pruned;
	usleep(100_000);
}
ok($pruned, 'the delta rows are pruned once every subscriber confirmed them');
my $origin_rows = 0;
my (@replica_rows, @pairs);
my %owner_of;
for my $i (0 .. 2)
{
	$owner_of{$_} = $id[$i] for split /,/, $owner_keys{$i};
}
for my $j (0 .. 2)
{
	$origin_rows += $n[$j]->safe_psql('postgres', "SELECT count(*) FROM ps_replication() WHERE role = 'origin' AND active");
	push @replica_rows, split /\n/, $n[$j]->safe_psql('postgres',
		"SELECT node || '>$id[$j]' FROM ps_replication() WHERE role = 'replica' AND last_seq > 0");
	# the origins whose keys node j holds copies of
	my %from;
	$from{ $owner_of{$_} } = 1
	  for grep { $owner_of{$_} != $id[$j] } split /\n/, $n[$j]->safe_psql('postgres', 'SELECT key FROM w');
	push @pairs, map { "$_>$id[$j]" } keys %from;
}
is($origin_rows, $subs, 'ps_replication() shows every subscriber, active, on its origin');
is(join(' ', sort @replica_rows), join(' ', sort @pairs),
	'and on each replica every origin whose keys it holds, with rows applied');
ok($n[0]->safe_psql('postgres', 'SELECT bytes > 0 AND confirmed = tickets FROM ps_replication_stats()') eq 't',
	'the replicator confirmed every ticket, and wrote bytes');

# A subscriber stops while its origins take pushes.
$n[1]->stop('fast');
push_round($_, 3) for (0, 2);
push_round($_, 4) for (0, 2);
$n[1]->start;
wait_replicated('a replica that was stopped catches up exactly when it starts again');

# Synchronous: a push is answered once its replica has it.
is($n[2]->safe_psql('postgres', "SELECT ps_cluster_configure(replication => 'synchronous')"),
	'5', 'synchronous: ring version 5');
for my $i (0 .. 2)
{
	like($n[$i]->safe_psql('postgres', 'SHOW synchronous_standby_names'),
		qr/^ANY \d \("ps_$id[$i]_\d+"(, "ps_$id[$i]_\d+")*\)$/, "node " . ($i + 1) . " waits for its subscribers");
}
my $exact = 1;
for my $r (5 .. 7)
{
	for my $i (0 .. 2)
	{
		push_round($i, $r);
		$exact &&= not_replicated() eq '';
	}
}
ok($exact, 'synchronous: right after each push returns, its replica holds it exactly');

# With a subscriber down (and no failure detector), a synchronous push of
# an origin it replicates does not return: it waits, here until its
# statement_timeout; asynchronous, it would have returned at once.
my ($o) = grep { $n[$_]->safe_psql('postgres', 'SHOW synchronous_standby_names') =~ /"ps_$id[$_]_$id[1]"/ } (0, 2);
ok(defined $o, 'an origin that node 2 replicates: node ' . (($o // -1) + 1));
$n[1]->stop('fast');
{
	my @k = split /,/, $owner_keys{$o};
	my $t0 = time;
	like(error_of($n[$o], "SET statement_timeout = 1500; SELECT ps_push('w', '{$owner_keys{$o}}', '{"
		  . join(',', map { $_ % 7 + 8 } @k) . "}')"),
		qr/57014: canceling statement due to statement timeout/,
		'synchronous, with its replica down, a push waits for it (until its statement_timeout)');
	ok(time - $t0 >= 1.4, sprintf('it waited %.1f s', time - $t0));
	$want{$_} += $_ % 7 + 8 for @k;	# applied on its owner all the same
}
$n[1]->start;
wait_replicated('the replica back, the push it missed reaches it, exactly');

$_->stop for @n;
done_testing();
