# Copyright: the ps authors.  Licensed like the rest of ps.
#
# 006_storage.pl: the storage of a ps table copes with the odd states a
# server can leave it in, and with many tables.
#
#   - A table whose storage creation was cut short (the file extended by a
#     crash or an error, the pages never written: all zeros) reads as
#     empty, is not reported as damaged, and its next write creates the
#     storage in place.
#   - VACUUM resets the counters autovacuum looks at, so autovacuum does
#     not come back to an unchanged ps table over and over.
#   - With more tables in use than ps.max_tables, shared timestamp state is
#     evicted and re-read from the metapages: every table's timestamps stay
#     unique and increasing.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('storage');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'ps'
ps.max_tables = 16
autovacuum = off
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION ps');

# --- storage creation cut short --------------------------------------------

$node->safe_psql('postgres',
	'CREATE TABLE cut (key bigint, val real) USING ps');
my $path = $node->safe_psql('postgres', "SELECT pg_relation_filepath('cut')");
$node->stop;
# what a crash right after extending the file for the metapage leaves
open(my $fh, '>', $node->data_dir . "/$path") or die "cannot open $path: $!";
binmode $fh;
print $fh "\0" x 8192;
close $fh;
$node->start;

is($node->safe_psql('postgres', "SELECT pg_relation_size('cut')"),
	'8192', 'the table has one all-zero page');
is($node->safe_psql('postgres', 'SELECT count(*) FROM cut'),
	'0', 'a scan reads it as empty');
is($node->safe_psql('postgres', "SELECT ps_pull('cut', '{1,2}')"),
	'{0,0}', 'a pull reads zeros');
is( $node->safe_psql('postgres',
		"SELECT keys, leaves, last_timestamp FROM ps_stats('cut')"),
	'0|0|0',
	'ps_stats shows no storage');
is($node->safe_psql('postgres', "SELECT ps_push('cut', '{1,2}', '{3,4}')"),
	'1', 'the first push creates the storage in place');
is($node->safe_psql('postgres', 'SELECT string_agg(key || \'=\' || val, \' \' ORDER BY key) FROM cut'),
	'1=3 2=4', 'and its values are there');
is($node->safe_psql('postgres', "SELECT ps_check('cut')"),
	'2', 'ps_check passes');
is($node->safe_psql('postgres', "SELECT pg_relation_size('cut')"),
	'24576', 'the zero page was reused, not left behind');

# --- VACUUM and autovacuum's counters ----------------------------------------

$node->safe_psql('postgres', q{
	CREATE TABLE vac (key bigint, val real) USING ps;
	INSERT INTO vac SELECT g, g FROM generate_series(1, 5000) g;
});
ok( $node->poll_query_until('postgres',
		"SELECT n_ins_since_vacuum = 5000 FROM pg_stat_user_tables WHERE relname = 'vac'"),
	'inserts are counted for autovacuum');
$node->safe_psql('postgres', 'VACUUM vac');
ok( $node->poll_query_until('postgres',
		"SELECT n_ins_since_vacuum = 0 AND n_live_tup = 5000 FROM pg_stat_user_tables WHERE relname = 'vac'"),
	'VACUUM resets them and reports the live rows');
is( $node->safe_psql('postgres',
		"SELECT relpages, reltuples FROM pg_class WHERE relname = 'vac'"),
	'5|5000', 'and records exact pages (3 dense leaves, metapage, directory) and rows');

# --- more tables than ps.max_tables -------------------------------------------

my $ntables = 40;
$node->safe_psql('postgres', join(';',
	map { "CREATE TABLE many$_ (key bigint, val real) USING ps" } 1 .. $ntables));

# Round-robin pushes: every table's state is evicted between its pushes.
my %last;
my $ok = 1;
for my $round (1 .. 5)
{
	my $sql = join(' UNION ALL ',
		map { "SELECT $_, ps_push('many$_', '{$round}', '{1}')" } 1 .. $ntables);
	for my $line (split /\n/, $node->safe_psql('postgres', $sql))
	{
		my ($t, $ts) = split /\|/, $line;
		$ok = 0 if defined $last{$t} && $ts <= $last{$t};
		$last{$t} = $ts;
	}
}
ok($ok, "timestamps of $ntables tables stay increasing while their state is evicted");
# an evicted table's state is re-read from its metapage, whose reservation
# runs 1024 ahead: so eviction shows as a jump
cmp_ok($last{1}, '>', 1024, 'state was evicted and re-read (timestamps jumped past the reservation)');
is( $node->safe_psql('postgres',
		'SELECT ' . join(' + ', map { "(SELECT count(*) FROM many$_)" } 1 .. $ntables)),
	$ntables * 5,
	'and every push is there');

# After a restart (all shared state gone) they still increase.
$node->restart;
my $after = $node->safe_psql('postgres', "SELECT ps_push('many1', '{99}', '{1}')");
cmp_ok($after, '>', $last{1}, 'timestamps keep increasing after a restart');

$node->stop;
done_testing();
