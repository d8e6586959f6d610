# Copyright: the ps authors.  Licensed like the rest of ps.
#
# PsTrain: what the ps_train tests share: a started node with ps
# preloaded and created, and the fields of ps_train's last line (its JSON
# object).  Used by 024_train.pl and 026_spam.pl.
package PsTrain;

use strict;
use warnings;

use Exporter 'import';
use PostgreSQL::Test::Cluster;

our @EXPORT = qw(ps_node json_of);

# A started node named $name, shared_preload_libraries = 'ps', with
# CREATE EXTENSION ps in database postgres.
sub ps_node
{
	my ($name) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$node->append_conf('postgresql.conf', "shared_preload_libraries = 'ps'");
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION ps');
	return $node;
}

# The fields of the last line of ps_train's output, a flat JSON object
# (strings unquoted, null as 'null').
sub json_of
{
	my ($out) = @_;
	my @lines = split /\n/, $out;
	my %j = ($lines[-1] // '') =~ /"(\w+)": ("[^"]*"|[-+.\deE]+|null)/g;
	s/^"|"$//g for values %j;
	return \%j;
}

1;
