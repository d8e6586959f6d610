# Copyright: the ps authors.  Licensed like the rest of ps.
#
# PsCluster: what the multi-node tests share: started nodes with ps
# preloaded and created (and a ps table w), each node's conninfo, a
# statement's error with its SQLSTATE, and the owner of each key; and the
# three-node cluster with one synchronous replica that the failover tests
# start.
package PsCluster;

use strict;
use warnings;

use Exporter 'import';
use PostgreSQL::Test::Cluster;
use Test::More;

our @EXPORT = qw(ps_nodes error_of status_of ps_failover_cluster poll_psql);

# $n started nodes named "${prefix}1" .. "${prefix}$n", on their own, with
# shared_preload_libraries = 'ps', prepared transactions (the admin
# functions' two-phase commit), a subscription's apply worker started
# within 200 ms of another's (PostgreSQL 15 starts one per
# wal_retrieve_retry_interval), and in database postgres the extension and
# a ps table w; $conf, if given, is added to each node's postgresql.conf.
sub ps_nodes
{
	my ($prefix, $n, $conf) = @_;
	my @nodes;
	for my $i (1 .. $n)
	{
		my $node = PostgreSQL::Test::Cluster->new("$prefix$i");
		$node->init;
		$node->append_conf('postgresql.conf', "shared_preload_libraries = 'ps'\nmax_prepared_transactions = 10\nwal_retrieve_retry_interval = 200ms" . ($conf ? "\n$conf" : ''));
		$node->start;
		$node->safe_psql('postgres', 'CREATE EXTENSION ps; CREATE TABLE w (key bigint, val real) USING ps');
		push @nodes, $node;
	}
	return @nodes;
}

# The error (with its SQLSTATE: "ERROR:  PS003: ...", and its detail) of
# $sql on $node, '' if it succeeded.
sub error_of
{
	my ($node, $sql) = @_;
	my ($ret, $out, $err) = $node->psql('postgres', "\\set VERBOSITY verbose\n$sql");
	return $ret == 0 ? '' : $err;
}

# "version|nodes|active|member" of $node's ps_cluster_status().
sub status_of
{
	my ($node) = @_;
	return $node->safe_psql('postgres',
		'SELECT version, nodes, active, member FROM ps_cluster_status()');
}

# $sql's result on $node, read every 0.1 s until $done->(result) holds
# or 10 s passed; returns the last result.
sub poll_psql
{
	my ($node, $sql, $done) = @_;
	my $got = '';
	for (1 .. 100)
	{
		$got = $node->safe_psql('postgres', $sql);
		last if $done->($got);
		select(undef, undef, undef, 0.1);
	}
	return $got;
}

# Three nodes "${prefix}1" .. 3 with 0.5 s heartbeats and a 1 s failure
# timeout, $setup (SQL, if given) run on each, made one cluster with
# replicas => 1, synchronous, once every monitor sees the two others up
# (two checks).  Returns the nodes, their conninfos quoted for SQL and
# their node ids, as array refs.
sub ps_failover_cluster
{
	my ($prefix, $setup) = @_;
	my @n = ps_nodes($prefix, 3,
		"wal_level = logical\nmax_worker_processes = 16\nmax_wal_senders = 10\nmax_replication_slots = 10\n"
		  . "ps.heartbeat_interval = 500\nps.failure_timeout = 1000");
	if ($setup)
	{
		$_->safe_psql('postgres', $setup) for @n;
	}
	my @conn = map { (my $c = $_->connstr('postgres')) =~ s/'/''/g; $c } @n;
	my @id = map { $_->safe_psql('postgres', 'SELECT ps_node_id()') } @n;
	$n[0]->safe_psql('postgres', "SELECT ps_cluster_add('$conn[$_]')") for 0 .. 2;
	is($n[0]->safe_psql('postgres', "SELECT ps_cluster_configure(replicas => 1, replication => 'synchronous')"),
		'4', 'replicas => 1, synchronous: ring version 4');
	my $up = join(',', map { poll_psql($_, "SELECT count(*) FROM ps_cluster_health() WHERE state = 'up'", sub { $_[0] eq '2' }) } @n);
	is($up, '2,2,2', 'each node\'s monitor sees the two others up');
	return (\@n, \@conn, \@id);
}

1;
