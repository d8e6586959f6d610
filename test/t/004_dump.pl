# Copyright: the ps authors.  Licensed like the rest of ps.
#
# 004_dump.pl: pg_dump and pg_restore carry ps tables over exactly.
#
# A database holds ps tables of every shape: dim 1 with dense ranges and
# sparse keys including both int64 extremes and awkward float4 values
# (largest, smallest normal, denormal, negative zero, fractions), dim 4
# declared by a CHECK constraint, a real[] table without CHECK whose dim
# comes from its data, empty tables with and without a declared dim (ps_stats
# must report the declared dim of an empty table: 1 for real, N for a CHECK
# on cardinality or array_length, none otherwise), and an
# ordinary heap table beside them.  It is dumped in custom format and
# restored with pg_restore (in parallel), and dumped as plain SQL and
# restored with psql.  In both copies every table has the same rows (md5 of
# the rows in key order, values printed exactly), the same dim, is still a
# ps table (pg_class.relam is the ps access method), passes ps_check, and
# takes pushes.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('dump');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'ps'");
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql(
	'src', q{
CREATE EXTENSION ps;

CREATE TABLE d1 (key bigint, val real) USING ps;
SELECT ps_push_range('d1', -15000,
	(SELECT array_agg((i * 0.1)::real) FROM generate_series(1, 30000) i));
SELECT ps_push('d1',
	(SELECT array_agg(j * 1234567890123) FROM generate_series(-5000, 5000) j
	 WHERE j NOT BETWEEN -100 AND 100),
	(SELECT array_agg((j / 3.0)::real) FROM generate_series(-5000, 5000) j
	 WHERE j NOT BETWEEN -100 AND 100));
INSERT INTO d1 VALUES
	(-9223372036854775808, 3.4028235e38),
	(9223372036854775807, -3.4028235e38),
	(-9223372036854775807, 1.17549435e-38),
	(9223372036854775806, 1.4e-45),
	(123456789012345678, '-0'),
	(-123456789012345678, 0.1),
	(20000000000000000, 16777216),
	(20000000000000001, 1e-7);

CREATE TABLE d4 (key bigint, val real[] CHECK (cardinality(val) = 4)) USING ps;
SELECT ps_push('d4',
	(SELECT array_agg(g::bigint * 1000003) FROM generate_series(-3000, 3000) g),
	(SELECT array_agg((i / 7.0)::real) FROM generate_series(1, 4 * 6001) i));
SELECT ps_push_range('d4', 5, array_fill(0.25::real, ARRAY[4 * 2000]));

CREATE TABLE arr3 (key bigint, val real[]) USING ps;
INSERT INTO arr3 SELECT g * 11, ARRAY[g, -g, g / 9.0]::real[]
	FROM generate_series(1, 7000) g;

CREATE TABLE empty1 (key bigint, val real) USING ps;
CREATE TABLE empty8 (key bigint, val real[] CHECK (array_length(val, 1) = 8)) USING ps;
CREATE TABLE emptyarr (key bigint, val real[]) USING ps;
CREATE TABLE emptied (key bigint, val real) USING ps;
SELECT ps_push_range('emptied', 0, array_fill(1::real, ARRAY[5000]));
TRUNCATE emptied;

CREATE TABLE plain_heap (id int PRIMARY KEY, note text);
INSERT INTO plain_heap SELECT g, 'row ' || g FROM generate_series(1, 100) g;
});

my @ps_tables = qw(d1 d4 arr3 empty1 empty8 emptyarr emptied);

# What a table looks like, to compare between databases.
sub contents
{
	my ($db, $tbl) = @_;
	return $node->safe_psql($db,
		"SELECT count(*) || ':' || coalesce(md5(string_agg(key || ':' || val::text, ',' ORDER BY key)), '-') FROM $tbl"
	);
}

sub shape
{
	my ($db, $tbl) = @_;
	return $node->safe_psql(
		$db, qq{
SELECT a.amname || ':' || coalesce(s.dim::text, 'none') || ':' || s.keys
FROM pg_class c JOIN pg_am a ON a.oid = c.relam, ps_stats('$tbl') s
WHERE c.oid = '$tbl'::regclass});
}

my (%contents, %shape);
for my $tbl (@ps_tables)
{
	$contents{$tbl} = contents('src', $tbl);
	$shape{$tbl} = shape('src', $tbl);
}
is($shape{d1}, 'ps:1:39808', 'd1: dim 1, 39808 keys');
is($shape{d4}, 'ps:4:8001', 'd4: dim 4 (declared), 8001 keys');
is($shape{arr3}, 'ps:3:7000', 'arr3: dim 3 (from its data), 7000 keys');
is($shape{empty1}, 'ps:1:0', 'empty1: dim 1, empty');
is($shape{empty8}, 'ps:8:0', 'empty8: dim 8 (declared), empty');
is($shape{emptyarr}, 'ps:none:0', 'emptyarr: no dim yet (real[], no CHECK, no data)');
is($shape{emptied}, 'ps:1:0', 'emptied: dim 1, emptied by TRUNCATE');
is( $node->safe_psql('src',
		"SELECT ps_pull('d1', ARRAY[-9223372036854775808, 9223372036854775807, 9223372036854775806, 123456789012345678])"),
	'{3.4028235e+38,-3.4028235e+38,1e-45,-0}',
	'd1 holds the extreme keys and awkward values');
my $heap_md5 = $node->safe_psql('src',
	"SELECT md5(string_agg(id || note, ',' ORDER BY id)) FROM plain_heap");

# ---------------------------------------------------------------------------
# Dump and restore, both ways
# ---------------------------------------------------------------------------

my $tmp = PostgreSQL::Test::Utils::tempdir;

$node->command_ok([ 'pg_dump', '-Fc', '-f', "$tmp/src.dump", '-d', 'src' ],
	'pg_dump -Fc of the database');
$node->safe_psql('postgres', 'CREATE DATABASE restored_fc');
$node->command_ok(
	[
		'pg_restore', '--exit-on-error', '-j', '2', '-d', 'restored_fc',
		"$tmp/src.dump"
	],
	'pg_restore -j 2 into a new database');

$node->command_ok([ 'pg_dump', '-Fp', '-f', "$tmp/src.sql", '-d', 'src' ],
	'pg_dump of the database as plain SQL');
my $sql = slurp_file("$tmp/src.sql");
like($sql, qr/CREATE EXTENSION IF NOT EXISTS ps /,
	'the plain dump recreates the extension');
like($sql, qr/SET default_table_access_method = ps;/,
	'the plain dump creates ps tables with the ps access method');
$node->safe_psql('postgres', 'CREATE DATABASE restored_sql');
$node->command_ok(
	[
		'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', 'restored_sql',
		'-f', "$tmp/src.sql"
	],
	'the plain dump restores with psql');

for my $db (qw(restored_fc restored_sql))
{
	for my $tbl (@ps_tables)
	{
		is(contents($db, $tbl), $contents{$tbl},
			"$db: $tbl has the same rows");
		is(shape($db, $tbl), $shape{$tbl},
			"$db: $tbl is a ps table with the same dim and key count");
		my ($keys) = $shape{$tbl} =~ /(\d+)$/;
		is($node->safe_psql($db, "SELECT ps_check('$tbl')"),
			$keys, "$db: $tbl passes ps_check");
	}
	is($node->safe_psql($db,
			"SELECT md5(string_agg(id || note, ',' ORDER BY id)) FROM plain_heap"),
		$heap_md5, "$db: the heap table beside them is restored too");
	is( $node->safe_psql($db,
			"SELECT amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE c.oid = 'plain_heap'::regclass"),
		'heap',
		"$db: ... and is still a heap table");

	# The restored tables take pushes.
	is( $node->safe_psql(
			$db, q{
SELECT ps_push('d1', ARRAY[-15000, 50000], ARRAY[1, 2]::real[]) > 0,
       ps_pull('d1', ARRAY[-15000, 50000])}),
		't|{1.1,2}',
		"$db: d1 takes pushes on restored and new keys");
	is( $node->safe_psql(
			$db, q{
SELECT ps_push('d4', ARRAY[5], ARRAY[1, 1, 1, 1]::real[]) > 0,
       ps_pull('d4', ARRAY[5])}),
		't|{1.25,1.25,1.25,1.25}',
		"$db: d4 takes pushes of its dim");
	is( $node->safe_psql(
			$db, q{
SELECT ps_push('empty8', ARRAY[1], array_fill(2::real, ARRAY[8])) > 0,
       ps_pull('empty8', ARRAY[1, 2])}),
		't|{2,2,2,2,2,2,2,2,0,0,0,0,0,0,0,0}',
		"$db: the empty table takes its first push with the declared dim");
	is( $node->safe_psql(
			$db, q{
SELECT ps_push('emptyarr', ARRAY[1, 2], ARRAY[1, 2, 3, 4, 5, 6]::real[]) > 0,
       (SELECT dim FROM ps_stats('emptyarr'))}),
		't|3',
		"$db: the empty table without a declared dim takes its dim from its first push");
	my ($ret, $out, $err) = $node->psql($db,
		"SELECT ps_push('arr3', ARRAY[1], ARRAY[1, 2]::real[])");
	like($err, qr/Table "arr3" has dim 3/,
		"$db: arr3 keeps dim 3 and refuses values of another dim");
}

$node->stop;
done_testing();
