# Copyright: the ps authors.  Licensed like the rest of ps.
#
# 034_join.pl: servers join and leave while clients push (README, "Running
# a cluster", "Adding and removing servers"); test/client/ps_failover_test.c
# is each client.
#
#   - Refusals: the copy and the drain are for superusers, a server that
#     holds keys cannot join, ps_cluster_copy() outside a join fails, a
#     negative drain timeout is refused.
#   - Nodes 1 and 2 (replicas => 1, synchronous) hold keys; 3 clients push
#     integer gradients to keys of every node and wait for each push.
#     Meanwhile node 3 joins, node 4 joins, and node 1 leaves, each by the
#     two-phase range copy.  Every push of every client succeeds, and every
#     key holds exactly the sum of all pushes on the one node that serves
#     it, and the same on its replica: nothing lost, nothing applied twice.
#     The time each switch held the pushes is printed, with the longest
#     push the clients saw.
#   - The ring: nodes 2, 3 and 4 active, node 1 gone and serving nothing;
#     no slot or subscription for node 1 is left on the others.
#   - Asynchronous replication: node 1 joins again (as a new node, empty)
#     under pushes, exact sums again.
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

my @n = ps_nodes('join', 4,
	"wal_level = logical\nmax_worker_processes = 16\nmax_wal_senders = 12\nmax_replication_slots = 12\n"
	  . "ps.heartbeat_interval = 500\nps.failure_timeout = 2000");
my @conn = map { (my $c = $_->connstr('postgres')) =~ s/'/''/g; $c } @n;
my @id = map { $_->safe_psql('postgres', 'SELECT ps_node_id()') } @n;
$_->safe_psql('postgres', 'CREATE TABLE w2 (key bigint, val real) USING ps; CREATE TABLE w3 (key bigint, val real) USING ps') for @n;
my $tbl = 'w';

# refusals
$n[0]->safe_psql('postgres', 'CREATE ROLE plain LOGIN');
for my $f ('ps_cluster_copy()', 'ps_cluster_drain(0)', 'ps_cluster_holds_keys()')
{
	like(error_of($n[0], "SET ROLE plain; SELECT $f"), qr/42501: permission denied for function/,
		"$f is not for every role");
}
like(error_of($n[0], 'SELECT ps_cluster_copy()'), qr/no node of this cluster is joining or leaving/,
	'ps_cluster_copy() outside a join or leave fails');
like(error_of($n[0], 'SELECT ps_cluster_drain(-1)'), qr/22023: ps_cluster_drain: timeout_ms must not be negative/,
	'a negative drain timeout is refused');

$n[0]->safe_psql('postgres', "SELECT ps_cluster_add('$conn[$_]')") for 0 .. 1;
$n[0]->safe_psql('postgres', "SELECT ps_cluster_configure(replicas => 1, replication => 'synchronous')");
is(status_of($n[1]), '3|2|2|t', 'nodes 1 and 2, replicas => 1: ring version 3');

# keys the clients push: 60, one a block; and 120000 others pushed before
# (each on its own server), which the joins and leaves copy
my ($nkeys, $pushes, $preload) = (60, 250, 120000);
for my $node (@n[0, 1])
{
	$node->safe_psql('postgres',
		"SELECT ps_push('w', array_agg(k), array_agg(1::real)) FROM generate_series(1::bigint, $preload) k"
		  . " WHERE k % 4096 <> 0 AND ps_key_node(k) = ps_node_id()");
}
my $preloaded = $preload - int($preload / 4096);
my $keys = join(',', map { $_ * 4096 } 1 .. $nkeys);
$n[3]->safe_psql('postgres', "SELECT ps_push('w', '{4096}', '{1}')");
like(error_of($n[0], "SELECT ps_cluster_add('$conn[3]')"),
	qr/the cluster was not changed: node $id[3] failed: node $id[3] would give keys away while its ps tables hold keys/,
	'a server that holds keys cannot join');
$n[3]->safe_psql('postgres', 'TRUNCATE w');
is(status_of($n[0]), '3|2|2|t', 'and the ring stayed as it was');

# Start 3 clients (through nodes 1, 2 and 2) pushing 1, 2, 3 to every key.
sub start_clients
{
	my ($through, $count, $pause) = @_;
	my @client;
	for my $i (0 .. 2)
	{
		my %c = (out => '', err => '');
		$c{h} = IPC::Run::start(
			[ $bin, $through->[$i]->connstr('postgres'), $tbl, $i + 1, $count, $nkeys, $pause ],
			'>', \$c{out}, '2>', \$c{err}, IPC::Run::timeout(240));
		push @client, \%c;
	}
	return @client;
}
sub oks { my ($c) = @_; my @l = $c->{out} =~ /^ok /mg; return scalar @l; }
sub wait_pushing
{
	my ($want, @client) = @_;
	$want = $pushes if $want > $pushes;
	for (1 .. 1500)
	{
		$_->{h}->pump_nb for @client;
		return 1 if !grep { oks($_) < $want } @client;
		usleep(20_000);
	}
	return 0;
}
# the call (a join or leave) on $node while the clients push; its notice
sub during
{
	my ($node, $sql, $what, @client) = @_;
	my ($ret, $out, $err) = $node->psql('postgres', $sql);
	$_->{h}->pump_nb for @client;
	is($ret, 0, "$what under pushes") or diag($err);
	my ($held) = $err =~ /held for ([0-9.]+) ms/;
	my ($copies) = $err =~ /(\d+) key copies/;
	note("$what: $copies key copies, pushes held for " . ($held // '?') . ' ms');
	return $held // 1e9;
}
# every client done, every push ok; the longest push
sub finish_clients
{
	my ($what, @client) = @_;
	my $longest = 0;
	$_->{h}->finish for @client;
	for my $i (0 .. 2)
	{
		my ($done) = $client[$i]{out} =~ /^# done (\d+ \d+)$/m;
		is($done // '', "$pushes 0", "$what: client " . ($i + 1) . ': every push succeeded')
		  or diag($client[$i]{out} =~ /^(fail .*)$/m ? $1 : $client[$i]{err});
		for ($client[$i]{out} =~ /^ok \d+ ([0-9.]+ [0-9.]+)$/mg)
		{
			my ($s, $e) = split / /;
			$longest = $e - $s if $e - $s > $longest;
		}
	}
	note(sprintf("$what: the longest push took %.0f ms", 1000 * $longest));
}
# key => value on the nodes that serve them (each key once), and the keys
# whose replicas differ from it
sub values_of
{
	my (@nodes) = @_;
	my (%val, %rep);
	my $twice = 0;
	for my $node (@nodes)
	{
		for my $row (split /\n/, $node->safe_psql('postgres',
			"SELECT w.key, w.val, r.owner OPERATOR(pg_catalog.=) ps_node_id() FROM $tbl w, ps_ring() r"
			  . " WHERE (ps_key_position(w.key) BETWEEN r.first_position AND r.token"
			  . " OR (r.first_position > r.token AND (ps_key_position(w.key) >= r.first_position OR ps_key_position(w.key) <= r.token)))"
			  . " AND (r.owner = ps_node_id() OR ps_node_id() = ANY (r.replicas))"))
		{
			my ($k, $v, $own) = split /\|/, $row;
			if ($own eq 't') { $twice++ if exists $val{$k}; $val{$k} = $v; }
			else { push @{ $rep{$k} }, $v; }
		}
	}
	my @badrep = grep { my $k = $_; grep { $_ != ($val{$k} // -1) } @{ $rep{$k} } } keys %rep;
	my $norep = grep { !$rep{ $_ * 4096 } } 1 .. $nkeys;
	return (\%val, $twice, scalar(@badrep), $norep);
}
sub check_sums
{
	my ($what, $per, @nodes) = @_;
	my ($val, $twice, $badrep, $norep);
	for (1 .. 50)	# an asynchronous replica may be a moment behind
	{
		($val, $twice, $badrep, $norep) = values_of(@nodes);
		last if $badrep == 0;
		usleep(100_000);
	}
	my @wrong = grep { ($val->{ $_ * 4096 } // -1) != $per } 1 .. $nkeys;
	is(scalar(@wrong) . " $twice", '0 0', "$what: every key holds exactly $per, served by one node")
	  or diag(join(' ', map { $_ * 4096 . '=' . ($val->{ $_ * 4096 } // 'none') } @wrong));
	is("$badrep $norep", '0 0', "$what: and its replica holds the same");
	return if $tbl ne 'w';
	my ($count, $sum) = (0, 0);
	for my $node (@nodes)
	{
		my ($c, $s) = split /\|/, $node->safe_psql('postgres',
			"SELECT count(*), coalesce(sum(val), 0) FROM w WHERE key % 4096 <> 0 AND ps_key_node(key) = ps_node_id()");
		$count += $c;
		$sum += $s;
	}
	is("$count $sum", "$preloaded $preloaded", "$what: the $preloaded keys pushed before are each served once, exact");
}

my @client = start_clients([ @n[0, 1, 1] ], $pushes, 10);
ok(wait_pushing(20, @client), 'the 3 clients are pushing');
my @held;
push @held, during($n[0], "SELECT ps_cluster_add('$conn[2]')", 'node 3 joins', @client);
is($n[1]->safe_psql('postgres', "SELECT string_agg(state, ',' ORDER BY node) FROM ps_cluster_nodes()"),
	'active,active,active', 'node 3 is active');
ok(wait_pushing(oks($client[0]) + 20, @client), 'pushes go on');
push @held, during($n[1], "SELECT ps_cluster_add('$conn[3]')", 'node 4 joins', @client);
ok(wait_pushing(oks($client[0]) + 20, @client), 'pushes go on');
push @held, during($n[1], "SELECT ps_cluster_remove($id[0])", 'node 1 leaves', @client);
finish_clients('join, join, leave', @client);
check_sums('after two joins and a leave', 6 * $pushes, @n[1 .. 3]);
ok(!grep({ $_ > 1000 } @held), 'each switch held pushes for less than 1 s (' . join(', ', @held) . ' ms)');

is($n[2]->safe_psql('postgres', "SELECT count(*) FROM ps_cluster_nodes() WHERE state = 'active' AND node <> $id[0]"),
	'3', 'nodes 2, 3 and 4 are active, node 1 is off the ring');
is($n[0]->safe_psql('postgres', 'SELECT member FROM ps_cluster_status()'), 'f', 'node 1 knows it left');
like(error_of($n[0], "SELECT ps_pull('w', '{4096}')"), qr/PS003/, 'and serves nothing');
is(join(',', map { $_->safe_psql('postgres',
	"SELECT count(*) FROM pg_replication_slots WHERE slot_name ~ '^ps_($id[0]_[0-9]+|[0-9]+_$id[0])\$'") } @n[1 .. 3]),
	'0,0,0', 'no slot for node 1 is left on the others');
is(join(',', map { $_->safe_psql('postgres', "SELECT count(*) FROM pg_subscription WHERE subname ~ '^ps_$id[0]_'") } @n[1 .. 3]),
	'0,0,0', 'nor a subscription to it');

# node 1, off the ring, comes back as a new node, empty
$n[0]->safe_psql('postgres', 'SELECT ps_cluster_reset(force => true)');
$n[0]->safe_psql('postgres', 'TRUNCATE w');
my $new1 = $n[0]->safe_psql('postgres', 'SELECT ps_node_id()');

# asynchronous: node 1 joins again, as a new node, under pushes
$n[1]->safe_psql('postgres', "SELECT ps_cluster_configure(replication => 'asynchronous')");
@client = start_clients([ @n[1, 2, 3] ], $pushes, 5);
ok(wait_pushing(20, @client), 'the 3 clients push again (asynchronous replication)');
push @held, during($n[2], "SELECT ps_cluster_add('$conn[0]')", 'node 1 joins again, asynchronous', @client);
finish_clients('asynchronous join', @client);
check_sums('after the asynchronous join', 12 * $pushes, @n);
is($n[3]->safe_psql('postgres', "SELECT state FROM ps_cluster_nodes() WHERE node = $new1"), 'active',
	'node 1 is back, as a new node');

# The catch-up under load (asynchronous, where nothing slows the pushes
# down to the newcomer's one apply worker): 3 clients push 2000 keys each
# as fast as they can while node 4 leaves.
($tbl, $nkeys) = ('w2', 2000);
@client = start_clients([ @n[0, 1, 2] ], $pushes, 0);
ok(wait_pushing(20, @client), 'the 3 clients push 2000 keys a push, without a pause');
push @held, during($n[0], "SELECT ps_cluster_remove($id[3])", 'node 4 leaves under sustained pushes', @client);
ok(wait_pushing(oks($client[0]) + 10, @client), 'pushes go on');
finish_clients('leave under load', @client);
check_sums('after the leave under load', 6 * $pushes, @n[0 .. 2]);
is($n[0]->safe_psql('postgres', "SELECT count(*) FROM ps_cluster_nodes() WHERE node = $id[3]"), '0',
	'node 4 is off the ring');

# After a failure: node 3 killed while clients push (synchronous), declared
# dead; then removed, under pushes: the replicas of its ranges serve them
# and copy them to the nodes that now hold them, so every key has its
# replica again.
$n[0]->safe_psql('postgres', "SELECT ps_cluster_configure(replication => 'synchronous')");
($tbl, $nkeys) = ('w3', 60);
@client = start_clients([ @n[0, 1, 1] ], $pushes, 10);
ok(wait_pushing(30, @client), 'the 3 clients push (synchronous), through nodes 1 and 2');
my $pid3 = $n[2]->{_pid};
$n[2]->kill9;
my $state = poll_psql($n[0], "SELECT state FROM ps_cluster_nodes() WHERE node = $id[2]", sub { $_[0] eq 'dead' });
is($state, 'dead', 'node 3, killed, is declared dead');
ok(wait_pushing(oks($client[0]) + 20, @client), 'pushes go on');
push @held, during($n[1], "SELECT ps_cluster_remove($id[2])", 'dead node 3 is removed', @client);
finish_clients('a kill, then the removal of the dead node', @client);
check_sums('after the removal of the dead node', 6 * $pushes, @n[0, 1]);
is($n[0]->safe_psql('postgres', "SELECT count(*) FROM ps_ring() WHERE state <> 'active' OR cardinality(replicas) <> 1"),
	'0', 'every token is served by its own node and has its replica again');
for (1 .. 300)
{
	last unless kill(0, $pid3);
	usleep(100_000);
}

$_->stop for @n[0, 1];
done_testing();
