# Copyright: the ps authors.  Licensed like the rest of ps.
#
# 003_concurrency.pl: concurrent sessions writing the same ps table lose
# nothing, and concurrent readers see consistent values.
#
# Workload 1: eight pgbench clients, 200 pushes each, all at once, into a
# table that has no storage yet (so the first pushes also race to create
# it).  Every push adds 1 to a block of 1000 shared keys that every push
# writes, to one key of its own client, and to 256 new keys spread over the
# whole int64 range (one per region, so every push inserts into leaves all
# over the table and pushes split leaves concurrently).  Meanwhile two
# sessions pull the shared keys in a loop and check that no value ever
# decreases, that every value is a whole number of pushes, and that they
# saw the pushes in progress.  Afterwards the sums are exact: shared keys =
# 8 * 200, each client's key = 200, each new key = 1, the key count is
# exact, and 1600 pushes issued timestamps 1 .. 1600.
#
# Workload 2: INSERTs of overlapping keys (last writer wins, one row per
# key) from four clients, and pushes of disjoint keys from four others, at
# once.
#
# Both tables must pass ps_check, and ps_stats, ps_ranges, ps_check and
# count(*) must agree on the number of keys.
use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $clients = 8;
my $xacts = 200;
my $total = $clients * $xacts;
my $regions = 256;

my $node = PostgreSQL::Test::Cluster->new('concurrency');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'ps'
max_connections = 40
});
$node->start;

$node->safe_psql(
	'postgres', qq{
CREATE EXTENSION ps;
CREATE TABLE w (key bigint, val real) USING ps;
CREATE SEQUENCE push_no;

-- The keys of push n by client cid: shared keys 0..999, the client's own
-- key 10^18 + cid, and one new key in each of $regions regions spread over
-- the int64 range: (j - 128) * 72 * 10^15 + n * 1000 + cid.
CREATE FUNCTION push_keys(cid int, n bigint) RETURNS bigint[] LANGUAGE sql
AS \$\$ SELECT ARRAY(SELECT generate_series(0, 999)::bigint)
	|| (1000000000000000000 + cid)
	|| ARRAY(SELECT (j - 128) * 72000000000000000 + n * 1000 + cid
	         FROM generate_series(0, $regions - 1) j) \$\$;

-- Pull the shared keys until they reach the final count or time runs out;
-- fail if a value ever decreases, is not a whole number or is too large.
-- Returns the number of pulls and of pulls that saw something new.
CREATE FUNCTION puller(total int, secs int) RETURNS text LANGUAGE plpgsql
AS \$\$
DECLARE
	keys bigint[] := ARRAY(SELECT generate_series(0, 999)::bigint);
	prev real[] := array_fill(0::real, ARRAY[1000]);
	cur real[];
	pulls int := 0;
	news int := 0;
	bad text;
	stop timestamptz := clock_timestamp() + make_interval(secs => secs);
BEGIN
	LOOP
		IF pulls % 2 = 0 THEN
			cur := ps_pull('w', keys);
		ELSE
			cur := ps_pull_range('w', 0, 1000);
		END IF;
		pulls := pulls + 1;
		SELECT string_agg(format('key %s: %s after %s', k - 1, c, p), '; ') INTO bad
		FROM unnest(cur, prev) WITH ORDINALITY AS u(c, p, k)
		WHERE c < p OR c <> trunc(c) OR c > total;
		IF bad IS NOT NULL THEN
			RAISE EXCEPTION 'pull % saw %', pulls, bad;
		END IF;
		IF cur <> prev THEN
			news := news + 1;
		END IF;
		prev := cur;
		EXIT WHEN (SELECT bool_and(c = total) FROM unnest(cur) c)
			OR clock_timestamp() > stop;
	END LOOP;
	RETURN format('%s pulls, %s new, final %s..%s', pulls, news,
		(SELECT min(c) FROM unnest(cur) c), (SELECT max(c) FROM unnest(cur) c));
END \$\$;
});

# ---------------------------------------------------------------------------
# Workload 1: pushes of overlapping keys, with pullers
# ---------------------------------------------------------------------------

my @pullers;
for my $i (1 .. 2)
{
	my %p = (out => '', err => '');
	$p{h} = IPC::Run::start(
		[
			'psql', '-XAtq', '-v', 'ON_ERROR_STOP=1',
			'-d', $node->connstr('postgres'),
			'-c', "SELECT puller($total, $PostgreSQL::Test::Utils::timeout_default)"
		],
		'>', \$p{out}, '2>', \$p{err});
	push @pullers, \%p;
}

$node->poll_query_until('postgres',
	"SELECT count(*) = 2 FROM pg_stat_activity WHERE query LIKE 'SELECT puller(%' AND state = 'active'")
  or die 'the pullers did not start';

$node->pgbench(
	"--no-vacuum --client=$clients --jobs=$clients --transactions=$xacts",
	0,
	[qr{processed: $total/$total}],
	[qr{^$}],
	"$clients clients push $xacts times each at once",
	{
		'003_push' => q{
SELECT nextval('push_no') AS n \gset
SELECT ps_push('w', push_keys(:client_id, :n),
	array_fill(1::real, ARRAY[1001 + } . $regions . q{])) AS ts \gset
}
	});

for my $i (0 .. $#pullers)
{
	my $p = $pullers[$i];
	$p->{h}->finish;
	chomp $p->{out};
	is($p->{err}, '', "puller $i: no value ever decreased or was fractional");
	like($p->{out}, qr/^\d+ pulls, \d+ new, final $total\.\.$total$/,
		"puller $i: ended with every shared key at $total ($p->{out})");
	my ($news) = $p->{out} =~ /, (\d+) new/;
	cmp_ok($news // 0, '>=', 2,
		"puller $i: saw the pushes in progress, not only before or after");
}

is( $node->safe_psql(
		'postgres', q{
SELECT count(*), min(val), max(val) FROM w WHERE key BETWEEN 0 AND 999}),
	"1000|$total|$total",
	"every shared key holds exactly $total (= $clients x $xacts) pushes");
is( $node->safe_psql(
		'postgres', q{
SELECT string_agg((key - 1000000000000000000) || '=' || val, ',' ORDER BY key)
FROM w WHERE key BETWEEN 1000000000000000000 AND 1000000000000000999}),
	join(',', map { "$_=$xacts" } 0 .. $clients - 1),
	"each client's own key holds exactly its $xacts pushes");

my $nregion = $total * $regions;
is( $node->safe_psql(
		'postgres', qq{
SELECT count(*), count(DISTINCT ((key % 72000000000000000) + 72000000000000000)
                              % 72000000000000000 / 1000),
       min(val), max(val)
FROM w WHERE key NOT BETWEEN 0 AND 999
     AND key NOT BETWEEN 1000000000000000000 AND 1000000000000000999}),
	"$nregion|$total|1|1",
	"all $nregion new keys of the $total pushes are there, once each");

my $nkeys = 1000 + $clients + $nregion;
is($node->safe_psql('postgres', 'SELECT count(*) FROM w'),
	$nkeys, "w holds exactly $nkeys keys");

sub check_counts
{
	my ($tbl, $expect) = @_;
	is( $node->safe_psql(
			'postgres', qq{
SELECT (SELECT keys FROM ps_stats('$tbl')),
       (SELECT sum(keys) FROM ps_ranges('$tbl')),
       ps_check('$tbl'),
       (SELECT count(*) FROM $tbl)}),
		"$expect|$expect|$expect|$expect",
		"$tbl: ps_stats, ps_ranges, ps_check and count(*) agree on $expect keys");
	is( $node->safe_psql(
			'postgres', qq{
SELECT bool_and(lo = coalesce(prev_hi + 1, -9223372036854775808))
       AND max(hi) = 9223372036854775807
       AND sum(pages) = (SELECT leaves FROM ps_stats('$tbl'))
       AND max(clock) <= (SELECT last_timestamp FROM ps_stats('$tbl'))
FROM (SELECT lo, hi, pages, clock, lag(hi) OVER (ORDER BY lo) AS prev_hi
      FROM ps_ranges('$tbl')) r}),
		't',
		"$tbl: ps_ranges cover the key space once, in order, over all leaves");
}

check_counts('w', $nkeys);
cmp_ok($node->safe_psql('postgres', "SELECT leaves FROM ps_stats('w')"),
	'>', 500, 'w: concurrent pushes split leaves hundreds of times');
is($node->safe_psql('postgres', "SELECT last_timestamp FROM ps_stats('w')"),
	$total, "w: $total pushes, $total timestamps");

# ---------------------------------------------------------------------------
# Workload 2: INSERTs of overlapping keys, pushes of disjoint keys
# ---------------------------------------------------------------------------

my $xacts2 = 100;
$node->safe_psql(
	'postgres', q{
CREATE TABLE w2 (key bigint, val real) USING ps;
CREATE SEQUENCE write_no;
});

$node->pgbench(
	"--no-vacuum --client=$clients --jobs=$clients --transactions=$xacts2",
	0,
	[qr{processed: @{[$clients * $xacts2]}/@{[$clients * $xacts2]}}],
	[qr{^$}],
	'INSERTs of overlapping keys and pushes of disjoint keys at once',
	{
		'003_insert_push' => q{
SELECT nextval('write_no') AS n \gset
\if :client_id % 2 = 0
INSERT INTO w2 SELECT g, :client_id + 1 FROM generate_series(0, 499) g;
INSERT INTO w2 SELECT (j - 64) * 144000000000000000 + :n * 1000, -1
	FROM generate_series(0, 127) j;
\else
SELECT ps_push('w2',
	ARRAY(SELECT generate_series(1000000, 1000999)::bigint)
	|| ARRAY(SELECT (j - 64) * 144000000000000000 + :n * 1000 + 1
	         FROM generate_series(0, 127) j),
	array_fill(1::real, ARRAY[1128]));
\endif
}
	});

my $inserts = ($clients / 2) * $xacts2;
my $pushes = ($clients / 2) * $xacts2;
is( $node->safe_psql(
		'postgres', q{
SELECT count(*), count(DISTINCT key),
       count(*) FILTER (WHERE val::int IN (1, 3, 5, 7))
FROM w2 WHERE key BETWEEN 0 AND 499}),
	'500|500|500',
	'overlapping INSERTs: one row per key, each the value of one inserting client');
is( $node->safe_psql(
		'postgres', q{
SELECT count(*), min(val), max(val) FROM w2 WHERE key BETWEEN 1000000 AND 1000999}),
	"1000|$pushes|$pushes",
	"pushes on disjoint keys: every key holds exactly $pushes pushes");
is( $node->safe_psql(
		'postgres', q{
SELECT count(*) FILTER (WHERE val = -1), count(*) FILTER (WHERE val = 1),
       count(*) FILTER (WHERE val NOT IN (-1, 1))
FROM w2 WHERE key NOT BETWEEN 0 AND 499 AND key NOT BETWEEN 1000000 AND 1000999}),
	($inserts * 128) . '|' . ($pushes * 128) . '|0',
	'every sparse key inserted or pushed is there once with its value');

check_counts('w2', 500 + 1000 + 128 * ($inserts + $pushes));

$node->stop;
done_testing();
