# Copyright: the ps authors.  Licensed like the rest of ps.
#
# PsCluster: what the multi-node tests share: started nodes with ps
# preloaded and created (and a ps table w), each node's conninfo, a
# statement's error with its SQLSTATE, and the owner of each key.
package PsCluster;

use strict;
use warnings;

use Exporter 'import';
use PostgreSQL::Test::Cluster;
use Test::More;

our @EXPORT = qw(ps_nodes error_of status_of);

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

1;
