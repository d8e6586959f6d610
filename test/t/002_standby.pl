# Copyright: the ps authors.  Licensed like the rest of ps.
#
# 002_standby.pl: a physical streaming standby replays ps tables to exactly
# the primary's contents, page for page.
#
# The primary runs with wal_consistency_checking = 'ps': every ps WAL record
# then carries full images of the pages it changes, and the standby, after
# replaying the record, compares its pages (masked by ps_mask) with them; a
# difference is a FATAL "inconsistent page" that stops the standby.  The
# workload makes every record type: XLOG_PS_INIT (first write), XLOG_PS_SET
# (pushes, INSERT, COPY, on new and existing keys, sparse and dense leaves,
# dim 1 and dim 8), XLOG_PS_SPLIT (hundreds of splits, including ones that
# start new directory pages), XLOG_PS_META (timestamp reservations), and the
# storage-level paths: TRUNCATE in the creating transaction and later,
# VACUUM FULL, ALTER TABLE SET ACCESS METHOD heap -> ps.
#
# After catch-up, both nodes must agree on every table's rows, key ranges
# with their clocks, shape (ps_stats), ps_check and pulls.  An UNLOGGED ps
# table exists on the standby but cannot be read there, as for any unlogged
# table (scans, ps_pull and ps_stats all say so).  ps_predict serves from
# the standby's replayed weights.  Sessions reading a table
# on the hot standby while hundreds of its splits are replayed never fail.
# Then the standby is promoted: it takes pushes, the timestamps it issues
# are above every timestamp the primary issued, and its unlogged table is
# empty and usable.
use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'ps'
wal_consistency_checking = 'ps'
shared_buffers = 32MB
max_wal_size = 1GB
});
$primary->start;
$primary->safe_psql('postgres', 'CREATE EXTENSION ps');
is($primary->safe_psql('postgres', 'SHOW wal_consistency_checking'),
	'ps', 'the primary checks the consistency of ps WAL records');

# A replication slot keeps the WAL the standby has not received yet: the
# split workload below writes more than max_wal_size (every record with a
# full-page image for wal_consistency_checking), faster than the standby
# may replay it.
$primary->safe_psql('postgres', "SELECT pg_create_physical_replication_slot('standby')");
$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
# queries on the standby are never cancelled for conflicts with replay
$standby->append_conf('postgresql.conf', "hot_standby_feedback = on\nprimary_slot_name = 'standby'");
$standby->start;

# ---------------------------------------------------------------------------
# The workload on the primary
# ---------------------------------------------------------------------------

# dim 1, sparse: 400k seeded random keys over the whole int64 range in
# pushes of 50k (new keys, and repeats summed within a push), then pushes
# on existing keys only, and the extreme keys.  Sparse leaves hold at most
# 676 keys and a directory page 507 leaves, so this splits hundreds of
# times and starts new directory pages.
$primary->safe_psql(
	'postgres', q{
CREATE TABLE sparse1 (key bigint, val real) USING ps;
SELECT setseed(0.42);
SELECT ps_push('sparse1',
	array_agg(((random() - 0.5) * 1.8e19)::bigint),
	array_agg((floor(random() * 10) - 5)::real))
FROM generate_series(1, 50000) g, generate_series(1, 8) push
GROUP BY push ORDER BY push;
SELECT ps_push('sparse1', array_agg(key), array_agg(1::real))
FROM sparse1 WHERE key % 3 = 0;
SELECT ps_push('sparse1', ARRAY[-9223372036854775808, 9223372036854775807, 0],
	ARRAY[1, 2, 3]::real[]);
});

# dim 8, dense: ranges, an overlapping range that extends them, then sparse
# keys that turn dense leaves sparse (and split them again).
$primary->safe_psql(
	'postgres', q{
CREATE TABLE dense8 (key bigint, val real[] CHECK (cardinality(val) = 8)) USING ps;
SELECT ps_push_range('dense8', 0,
	(SELECT array_agg((i % 11)::real) FROM generate_series(1, 8 * 50000) i));
SELECT ps_push_range('dense8', 25000,
	(SELECT array_agg((i % 3)::real) FROM generate_series(1, 8 * 50000) i));
SELECT setseed(0.17);
SELECT ps_push('dense8', array_agg((random() * 200000)::bigint * 7),
	(SELECT array_agg(1::real) FROM generate_series(1, 8 * 3000)))
FROM generate_series(1, 3000);
});

# dim 1, dense: a long range, then a range over half of it.
$primary->safe_psql(
	'postgres', q{
CREATE TABLE dense1 (key bigint, val real) USING ps;
SELECT ps_push_range('dense1', -100000,
	(SELECT array_agg((i % 13)::real) FROM generate_series(1, 200000) i));
SELECT ps_push_range('dense1', -50000, array_fill(2::real, ARRAY[100000]));
});

# INSERT (one row at a time) and COPY (multi_insert); later rows win.
my $copy = join('', map { ($_ * 5) . "\t" . ($_ % 17) . "\n" } 1 .. 20000);
$primary->safe_psql(
	'postgres', qq{
CREATE TABLE ins (key bigint, val real) USING ps;
INSERT INTO ins SELECT g * 2, g FROM generate_series(1, 20000) g;
COPY ins FROM STDIN;
$copy\\.
INSERT INTO ins VALUES (10, -1), (10, -2);
});

# TRUNCATE in the creating transaction (in place) and in a later one (new
# storage); one table is left empty by it.
$primary->safe_psql(
	'postgres', q{
BEGIN;
CREATE TABLE trunc_same (key bigint, val real[]) USING ps;
SELECT ps_push('trunc_same', ARRAY[1, 2, 3], ARRAY[1, 1, 2, 2, 3, 3]::real[]);
TRUNCATE trunc_same;
SELECT ps_push('trunc_same', (SELECT array_agg(g * 1000) FROM generate_series(1, 5000) g),
	(SELECT array_agg(g::real) FROM generate_series(1, 3 * 5000) g));
COMMIT;
CREATE TABLE trunc_later (key bigint, val real) USING ps;
SELECT ps_push_range('trunc_later', 0, array_fill(1::real, ARRAY[10000]));
TRUNCATE trunc_later;
SELECT ps_push('trunc_later', ARRAY[5, 6], ARRAY[5, 6]::real[]);
CREATE TABLE trunc_empty (key bigint, val real) USING ps;
SELECT ps_push_range('trunc_empty', 0, array_fill(1::real, ARRAY[10000]));
TRUNCATE trunc_empty;
});

# VACUUM FULL packs a table into new storage; pushes continue after it.
$primary->safe_psql(
	'postgres', q{
CREATE TABLE vf (key bigint, val real) USING ps;
SELECT setseed(0.5);
SELECT ps_push('vf', array_agg((random() * 1e15)::bigint), array_agg(1::real))
FROM generate_series(1, 30000);
VACUUM FULL vf;
SELECT ps_push('vf', array_agg(g::bigint * 1000000000), array_agg(1::real))
FROM generate_series(1, 1000) g;
VACUUM vf;
});

# ALTER TABLE SET ACCESS METHOD: heap tables rewritten into ps tables.
$primary->safe_psql(
	'postgres', q{
CREATE TABLE from_heap (key bigint, val real);
INSERT INTO from_heap SELECT g * 7, g % 100 FROM generate_series(1, 5000) g;
ALTER TABLE from_heap SET ACCESS METHOD ps;
CREATE TABLE from_heap4 (key bigint, val real[] CHECK (cardinality(val) = 4));
INSERT INTO from_heap4 SELECT g, ARRAY[g, 1, 2, 3] FROM generate_series(1, 3000) g;
ALTER TABLE from_heap4 SET ACCESS METHOD ps;
SELECT ps_push('from_heap', ARRAY[7, 8], ARRAY[100, 100]::real[]);
});

# An unlogged table: its contents never reach WAL.
$primary->safe_psql(
	'postgres', q{
CREATE UNLOGGED TABLE unlogged1 (key bigint, val real) USING ps;
SELECT ps_push_range('unlogged1', 0, array_fill(1::real, ARRAY[5000]));
});

my @tables = qw(sparse1 dense8 dense1 ins trunc_same trunc_later trunc_empty
  vf from_heap from_heap4);

for my $tbl (@tables)
{
	is($primary->safe_psql('postgres',
			"SELECT amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam
			 WHERE c.oid = '$tbl'::regclass"),
		'ps', "$tbl is a ps table");
}

# The shape the workload was meant to produce.
my ($sp_keys, $sp_leaves, $sp_dirpages) = split /\|/,
  $primary->safe_psql('postgres',
	"SELECT keys, leaves, directory_pages FROM ps_stats('sparse1')");
cmp_ok($sp_keys, '>', 390000, "sparse1 holds $sp_keys keys");
cmp_ok($sp_leaves, '>', 507,
	"sparse1 split into $sp_leaves leaves, more than one directory page lists");
cmp_ok($sp_dirpages, '>=', 2, "sparse1 has $sp_dirpages directory pages");
cmp_ok(
	$primary->safe_psql('postgres', "SELECT dense_leaves FROM ps_stats('dense1')"),
	'>', 50, 'dense1 is stored in dense leaves');
is($primary->safe_psql('postgres', "SELECT keys FROM ps_stats('trunc_empty')"),
	'0', 'trunc_empty is empty');

# ---------------------------------------------------------------------------
# The standby has the same contents
# ---------------------------------------------------------------------------

$primary->wait_for_catchup($standby);

is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'),
	't', 'the standby is still a running standby after replaying everything');
ok(!$standby->log_contains(qr/inconsistent page/),
	'wal_consistency_checking found no inconsistent page on the standby');
ok(!$standby->log_contains(qr/PANIC|terminated by signal/),
	'no process of the standby crashed');

my %rows_sql = (
	md5 => "SELECT count(*) || ':' || coalesce(md5(string_agg(key || ':' || val::text, ',' ORDER BY key)), '') FROM %s",
	ranges => "SELECT coalesce(md5(string_agg(lo || ':' || hi || ':' || keys || ':' || pages || ':' || clock, ',' ORDER BY lo)), 'none') FROM ps_ranges('%s')",
	stats => "SELECT concat_ws(':', dim, keys, leaves, dense_leaves, directory_pages, pages) FROM ps_stats('%s')",
	check => "SELECT ps_check('%s')",);

for my $tbl (@tables)
{
	for my $what (qw(md5 ranges stats check))
	{
		my $sql = sprintf($rows_sql{$what}, $tbl);
		my $p = $primary->safe_psql('postgres', $sql);
		my $s = $standby->safe_psql('postgres', $sql);
		is($s, $p, "$tbl: standby and primary agree on $what");
	}

	# Pulls of the first and last keys, keys in between and missing keys.
	my $keys = $primary->safe_psql(
		'postgres', qq{
SELECT array_agg(key) FROM (
  (SELECT key FROM $tbl ORDER BY key LIMIT 50)
  UNION ALL SELECT unnest(ARRAY[-9223372036854775808, -1, 0, 1, 4242,
                                9223372036854775807])
  UNION ALL (SELECT key FROM $tbl WHERE key % 97 = 5 ORDER BY key LIMIT 50)) s});
	my $sql = "SELECT ps_pull('$tbl', '$keys'::bigint[])";
	is($standby->safe_psql('postgres', $sql),
		$primary->safe_psql('postgres', $sql),
		"$tbl: standby and primary pull the same values");
}

# Values that only the right replay of each path produces.
is($standby->safe_psql('postgres', "SELECT ps_pull('ins', ARRAY[10, 20, 25, 40000])"),
	'{-2,4,5,10}', 'ins: the last INSERT or COPY row of a key wins');
is( $standby->safe_psql(
		'postgres', "SELECT count(*), min(key), max(key) FROM trunc_same"),
	'5000|1000|5000000',
	'trunc_same: only the rows written after the TRUNCATE in the creating transaction');
is($standby->safe_psql('postgres', "SELECT ps_pull('trunc_later', ARRAY[0, 5, 6])"),
	'{0,5,6}', 'trunc_later: only the rows written after the TRUNCATE');
is($standby->safe_psql('postgres', "SELECT ps_pull('from_heap', ARRAY[7, 8, 14])"),
	'{101,100,2}', 'from_heap: rows converted from heap, then pushed');

# Serving from the replica: ps_predict on the standby answers as on the
# primary, from the replayed weights (w.x = 2 * 1 - 0.5 * 2 = 1 here).
$primary->safe_psql('postgres', q{
CREATE TABLE serve_w (key bigint, val real) USING ps;
SELECT ps_push('serve_w', '{5,9}', '{2,-0.5}');
});
$primary->wait_for_catchup($standby);
my $predict = "SELECT round(ps_predict('serve_w', '{9,5}', '{2,1}')::numeric, 6)";
is($standby->safe_psql('postgres', $predict), '0.731059',
	'ps_predict on the hot standby: 1 / (1 + exp(-1)) from the replayed weights');
is($primary->safe_psql('postgres', $predict), '0.731059', 'as on the primary');

# The unlogged table exists on the standby, but cannot be read there.
is($standby->safe_psql('postgres',
		"SELECT relpersistence FROM pg_class WHERE relname = 'unlogged1'"),
	'u', 'the unlogged table exists in the standby catalog');
my ($ret, $out, $err) = $standby->psql('postgres', 'SELECT count(*) FROM unlogged1');
isnt($ret, 0, 'scanning the unlogged table on the standby fails');
like($err, qr/cannot access temporary or unlogged relations during recovery/,
	'... with the error PostgreSQL gives for any unlogged table');
for my $call ("ps_pull('unlogged1', ARRAY[1])", "ps_stats('unlogged1')")
{
	($ret, $out, $err) = $standby->psql('postgres', "SELECT $call");
	isnt($ret, 0, "$call on the standby fails");
	like($err, qr/cannot access temporary or unlogged relations during recovery/,
		'... with the same error, not an error about missing files');
}

# ---------------------------------------------------------------------------
# Hot standby readers while splits are replayed
# ---------------------------------------------------------------------------

# Readers on the standby pull and scan a table while the standby replays
# hundreds of splits of it.  Replay must never show them a half-done split:
# a right-link to a leaf that does not exist yet, or a metapage that counts
# a directory entry not written yet.
my $hs_pushes = 500;
my $hs_keys = 1000 * $hs_pushes + 1;
$primary->safe_psql(
	'postgres', q{
CREATE TABLE hs (key bigint, val real) USING ps;
SELECT ps_push('hs', ARRAY[0], ARRAY[1]::real[]);
CREATE FUNCTION hs_reader(expect bigint, secs int) RETURNS text LANGUAGE plpgsql
AS $$
DECLARE
	stop timestamptz := clock_timestamp() + make_interval(secs => secs);
	n int := 0;
	keys bigint := 0;
	rows bigint := 0;
	v real[];
BEGIN
	LOOP
		-- mostly small pulls, to look at the directory as often as possible
		v := ps_pull('hs', ARRAY(SELECT ((random() - 0.5) * 1.8e19)::bigint
		                         FROM generate_series(1, CASE WHEN n % 10 = 0 THEN 50 ELSE 1 END)));
		n := n + 1;
		IF n % 20 = 0 THEN
			SELECT s.keys INTO keys FROM ps_stats('hs') s;
		END IF;
		IF n % 100 = 0 THEN
			SELECT count(*) INTO rows FROM hs;
		END IF;
		EXIT WHEN keys = expect OR clock_timestamp() > stop;
	END LOOP;
	RETURN format('%s keys after %s pulls', keys, n);
END $$;
});
$primary->wait_for_catchup($standby);

my @readers;
for my $i (1 .. 3)
{
	my %r = (out => '', err => '');
	$r{h} = IPC::Run::start(
		[
			'psql', '-XAtq', '-d', $standby->connstr('postgres'),
			'-c', "SELECT hs_reader($hs_keys, $PostgreSQL::Test::Utils::timeout_default)"
		],
		'>', \$r{out}, '2>', \$r{err});
	push @readers, \%r;
}
$standby->poll_query_until('postgres',
	"SELECT count(*) = 3 FROM pg_stat_activity WHERE query LIKE 'SELECT hs_reader(%' AND state = 'active'")
  or die 'the standby readers did not start';

# One new key in each of 1000 regions per push: every leaf splits, again
# and again.
$primary->safe_psql('postgres', qq{
SELECT ps_push('hs', array_agg((g - 500) * 18000000000000000 + push), array_agg(1::real))
FROM generate_series(0, 999) g, generate_series(1, $hs_pushes) push
GROUP BY push ORDER BY push;
});
$primary->wait_for_catchup($standby);
for my $i (0 .. $#readers)
{
	my $r = $readers[$i];
	$r->{h}->finish;
	chomp $r->{out};
	is($r->{err}, '',
		"standby reader $i: pulls and scans during split replay never fail");
	like($r->{out}, qr/^$hs_keys keys after \d+ pulls$/,
		"standby reader $i: read on until the standby had all $hs_keys keys");
}
is($standby->safe_psql('postgres', sprintf($rows_sql{md5}, 'hs')),
	$primary->safe_psql('postgres', sprintf($rows_sql{md5}, 'hs')),
	'hs: standby and primary agree after the reads');

# ---------------------------------------------------------------------------
# Promotion
# ---------------------------------------------------------------------------

# A table the standby reads (ps_stats) while the primary still pushes to
# it, well beyond one batch of reserved timestamps (1024): the standby must
# not keep the timestamp counter it saw then.
$primary->safe_psql('postgres', q{
CREATE TABLE tsx (key bigint, val real) USING ps;
SELECT ps_push('tsx', ARRAY[1], ARRAY[1]::real[]);
});
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres', "SELECT keys FROM ps_stats('tsx')"),
	'1', 'tsx: the standby reads the table early on');
$primary->safe_psql('postgres',
	"SELECT count(ps_push('tsx', ARRAY[g], ARRAY[1]::real[])) FROM generate_series(1, 2500) g");
$primary->wait_for_catchup($standby);

my @promoted = qw(sparse1 dense8 vf hs tsx);
my %primary_ts;
for my $tbl (@promoted)
{
	$primary_ts{$tbl} = $primary->safe_psql('postgres',
		"SELECT last_timestamp FROM ps_stats('$tbl')");
}
my $sparse1_md5 = $primary->safe_psql('postgres', sprintf($rows_sql{md5}, 'sparse1'));
$primary->stop;

$standby->promote;
$standby->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()')
  or die 'timed out waiting for the promotion';

is($standby->safe_psql('postgres', sprintf($rows_sql{md5}, 'sparse1')),
	$sparse1_md5, 'sparse1: the promoted standby has the primary\'s last contents');

for my $tbl (@promoted)
{
	my $vals = $tbl eq 'dense8' ? "array_fill(1::real, ARRAY[16])" : "ARRAY[1, 1]::real[]";
	my $before = $standby->safe_psql('postgres', "SELECT ps_pull('$tbl', ARRAY[3, 123456789])");
	my $ts = $standby->safe_psql('postgres',
		"SELECT ps_push('$tbl', ARRAY[3, 123456789], $vals)");
	cmp_ok($ts, '>', $primary_ts{$tbl},
		"$tbl: the promoted standby issues timestamp $ts, above the primary's last ($primary_ts{$tbl})");
	isnt($standby->safe_psql('postgres', "SELECT ps_pull('$tbl', ARRAY[3, 123456789])"),
		$before, "$tbl: the push to the promoted standby took effect");
	is($standby->safe_psql('postgres', "SELECT ps_check('$tbl') = count(*) FROM $tbl"),
		't', "$tbl: ps_check passes after the push on the promoted standby");
}

# Promotion resets unlogged tables to empty, and they work from then on.
is($standby->safe_psql('postgres', 'SELECT count(*) FROM unlogged1'),
	'0', 'the unlogged table is empty on the promoted standby');
$standby->safe_psql('postgres',
	"SELECT ps_push('unlogged1', ARRAY[1, 2], ARRAY[3, 4]::real[])");
is($standby->safe_psql('postgres', "SELECT ps_pull('unlogged1', ARRAY[1, 2, 3])"),
	'{3,4,0}', 'the unlogged table takes pushes on the promoted standby');

$standby->stop;
done_testing();
