# Copyright: the ps authors.  Licensed like the rest of ps.
#
# PsTrain: what the ps_train tests share: a started node with ps
# preloaded and created, and the fields of ps_train's last line (its JSON
# object), and synthetic LibSVM sets.  Used by 024_train.pl, 026_spam.pl
# and 033_train_cluster.pl.
package PsTrain;

use strict;
use warnings;

use Exporter 'import';
use PostgreSQL::Test::Cluster;

our @EXPORT = qw(ps_node json_of write_set);

# A linear model over $features features, $per of them (value 1) in each
# example, labels its sign with 5 % flipped: $n examples into $path, from
# the seed in $$seed (which goes on from where it ends).
sub write_set
{
	my ($path, $n, $features, $per, $seed) = @_;
	my $rnd = sub { $$seed = ($$seed * 1103515245 + 12345) % 2147483648; return $$seed / 2147483648; };
	open(my $fh, '>', $path) or die;
	print $fh "# a synthetic set\n";
	for (1 .. $n)
	{
		my %f;
		$f{ 1 + int($rnd->() * $features) } = 1 while keys %f < $per;
		my $m = 0;
		$m += ($_ % 5) - 2 for keys %f;
		my $y = $m + ($rnd->() - 0.5) > 0 ? 1 : -1;
		$y = -$y if $rnd->() < 0.05;
		print $fh ($y > 0 ? '+1' : '-1'), join('', map { " $_:1" } sort { $a <=> $b } keys %f), "\n";
	}
	close $fh;
}

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
