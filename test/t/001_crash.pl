# Copyright: the ps authors.  Licensed like the rest of ps.
#
# 001_crash.pl: a push acknowledged to the client survives kill -9 of the
# postmaster and of every one of its backends.
#
# Four clients push in a loop (one statement per push, each push adding to
# shared keys every client writes and to thousands of fresh sparse keys only
# that push writes), printing every acknowledged push with its timestamps.
# Mid-stream the postmaster and all its children are frozen with SIGSTOP and
# then killed with SIGKILL, at an arbitrary point of their work.  After
# recovery:
#
#   - every acknowledged push is there, exactly once (integer values, so
#     sums are exact); a push that was in flight is there or not, or in part,
#     but never twice, and nothing that was never sent is there:
#     acknowledged <= applied <= attempted, for every key.  This holds for
#     a client running with synchronous_commit = off too: ps_push makes its
#     push durable before returning, whatever synchronous_commit says;
#   - ps_check() finds every table well-formed;
#   - timestamps issued after the restart are larger than every timestamp a
#     client saw before the crash;
#   - rows INSERTed or COPYed and committed before the crash are there;
#   - a table created and filled just before the crash, after the last
#     checkpoint (so its XLOG_PS_INIT and XLOG_PS_SPLIT records are replayed),
#     is intact;
#   - leaves split during the load, so split redo ran.
#
# The same holds with wal_level = minimal for tables created or truncated
# and filled in one transaction (made durable at commit, not through ps WAL
# records), and for the pushes that follow.
#
# Recovery replays everything since the checkpoint taken before the load:
# checkpoints are kept out of the way (checkpoint_timeout, max_wal_size) and
# the test verifies that the redo point precedes the load.
use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use FindBin;
use lib "$FindBin::RealBin/../lib";
use PsCrash;

my $nclients = 4;         # concurrent pushing sessions
my $min_acked = 25;       # pushes each client has acknowledged before the kill
my $script_pushes = 5000; # pushes in each client's script: never all sent
my $shared1 = 100;        # shared keys 0..99 of w1
my $sparse1 = 2000;       # fresh sparse keys per push in w1
my $shared4 = 50;         # shared keys 0..49 of w4
my $sparse4 = 300;        # fresh sparse keys per push in w4

# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

# Acknowledged pushes in a client's output: [p, ts_w1, ts_w4] in order.
sub acks
{
	my ($out) = @_;
	my @acks;
	for my $line (split /\n/, $out)
	{
		push @acks, [ $1, $2, $3 ] if $line =~ /^ack\|\d+\|(\d+)\|(\d+)\|(\d+)$/;
	}
	return @acks;
}

# ---------------------------------------------------------------------------
# A node with fsync on, ready for a long redo
# ---------------------------------------------------------------------------

my $node = PostgreSQL::Test::Cluster->new('crash');
$node->init(allows_streaming => 1);    # wal_level = replica
$node->append_conf(
	'postgresql.conf', qq{
shared_preload_libraries = 'ps'
fsync = on
shared_buffers = 64MB
max_connections = 20
checkpoint_timeout = '1h'
max_wal_size = '4GB'
# Nothing but ps itself flushes WAL before a push is acknowledged: the WAL
# writer sleeps 10 s (so that a forgotten flush loses the last pushes in
# the crash instead of being covered by the WAL writer's own), and no time
# marks are written (their asynchronous commits wake the WAL writer).
wal_writer_delay = '10000ms'
ps.time_mark_interval = -1
});
$node->start;

$node->safe_psql(
	'postgres', qq{
CREATE EXTENSION ps;
CREATE TABLE w1 (key bigint, val real) USING ps;
CREATE TABLE w4 (key bigint, val real[] CHECK (cardinality(val) = 4)) USING ps;
CREATE TABLE ins (key bigint, val real) USING ps;
CREATE TABLE late (key bigint, val real[]) USING ps;

-- The keys of push p of client c.  Shared keys first (every push of every
-- client), then one fresh key per region j, spread over negative and
-- positive keys: j * 10^12 + c * 10^6 + p, unique per (c, p, j).
CREATE FUNCTION keys1(c int, p int) RETURNS bigint[] LANGUAGE sql IMMUTABLE
AS \$\$ SELECT array_cat(ARRAY(SELECT generate_series(0, $shared1 - 1)::bigint),
	ARRAY(SELECT j * 1000000000000 + c * 1000000 + p
	      FROM generate_series(-($sparse1 / 2), $sparse1 / 2 - 1) j)) \$\$;
CREATE FUNCTION keys4(c int, p int) RETURNS bigint[] LANGUAGE sql IMMUTABLE
AS \$\$ SELECT array_cat(ARRAY(SELECT generate_series(0, $shared4 - 1)::bigint),
	ARRAY(SELECT j * 1000000000000 + c * 1000000 + p
	      FROM generate_series(-($sparse4 / 2), $sparse4 / 2 - 1) j)) \$\$;
-- n ones; and n keys' worth of the vector (1, 2, 3, 4)
CREATE FUNCTION ones(n int) RETURNS real[] LANGUAGE sql IMMUTABLE
AS \$\$ SELECT array_fill(1::real, ARRAY[n]) \$\$;
CREATE FUNCTION vec4(n int) RETURNS real[] LANGUAGE sql IMMUTABLE
AS \$\$ SELECT array_agg(((i - 1) % 4 + 1)::real ORDER BY i)
	    FROM generate_series(1, 4 * n) i \$\$;
-- The client and push a fresh key belongs to: (c, p); NULL for shared keys.
CREATE FUNCTION owner(k bigint, OUT c int, OUT p int) LANGUAGE sql IMMUTABLE
AS \$\$ SELECT (r / 1000000)::int, (r % 1000000)::int
	    FROM (SELECT ((k % 1000000000000) + 1000000000000) % 1000000000000 AS r) s \$\$;
});

is($node->safe_psql('postgres', "SELECT ps_version()"),
	'0.7', 'ps is preloaded');

# Everything from here on is replayed after the crash.
$node->safe_psql('postgres', 'CHECKPOINT');
my $redo_before_load = $node->safe_psql('postgres',
	'SELECT redo_lsn FROM pg_control_checkpoint()');

# Rows committed through INSERT and COPY (multi_insert) before the load.
$node->safe_psql(
	'postgres', q{
INSERT INTO ins SELECT g * 3, g FROM generate_series(1, 5000) g;
COPY ins FROM STDIN;
-7	-1
9223372036854775807	42
-9223372036854775808	43
\.
});
my $ins_md5 = $node->safe_psql('postgres',
	"SELECT md5(string_agg(key || ':' || val, ',' ORDER BY key)) FROM ins");
is($node->safe_psql('postgres', 'SELECT count(*) FROM ins'),
	'5003', 'INSERT and COPY stored 5003 rows before the crash');

# ---------------------------------------------------------------------------
# The load: clients push until the crash
# ---------------------------------------------------------------------------

my $tmp = PostgreSQL::Test::Utils::tempdir;
my (@h, @out, @err);
for my $c (1 .. $nclients)
{
	my $script = "$tmp/client$c.sql";
	open(my $fh, '>', $script) or die "cannot write $script: $!";
	# The last client does not wait for its commits to be flushed: its pushes
	# must be durable all the same, since ps_push flushes WAL itself.
	print $fh "SET synchronous_commit = off;\n" if $c == $nclients;
	for my $p (1 .. $script_pushes)
	{
		print $fh "SELECT 'ack', $c, $p, "
		  . "ps_push('w1', keys1($c, $p), ones($shared1 + $sparse1)), "
		  . "ps_push('w4', keys4($c, $p), vec4($shared4 + $sparse4));\n";
	}
	close $fh;
	$out[$c] = '';
	$err[$c] = '';
	$h[$c] = IPC::Run::start(
		[
			'psql', '-XAtq', '-v', 'ON_ERROR_STOP=1',
			'-d', $node->connstr('postgres'), '-f', $script
		],
		'<', \undef, '>', \$out[$c], '2>', \$err[$c]);
}

# Wait until every client has some pushes acknowledged.
my $deadline = time + $PostgreSQL::Test::Utils::timeout_default;
for (;;)
{
	my $ready = 1;
	for my $c (1 .. $nclients)
	{
		$h[$c]->pump_nb;
		$ready = 0 if scalar(acks($out[$c])) < $min_acked;
		die "client $c stopped early: $err[$c]" unless $h[$c]->pumpable;
	}
	last if $ready;
	die "clients too slow" if time > $deadline;
	usleep(50_000);
}

my $leaves_before_crash =
  $node->safe_psql('postgres', "SELECT leaves FROM ps_stats('w1')");

# While the load runs: a table created and filled from scratch (INIT, SET
# and SPLIT records, sparse then dense leaves, dim 2 taken from the first
# write), and committed INSERTs into another table.  Both flush the WAL, so
# the leaves counted above are durable too.
my $lsn_before_fresh =
  $node->safe_psql('postgres', 'SELECT pg_current_wal_insert_lsn()');
$node->safe_psql(
	'postgres', q{
CREATE TABLE fresh (key bigint, val real[]) USING ps;
SELECT ps_push('fresh',
	(SELECT array_agg(j * 3000000000000000) FROM generate_series(-3000, 3000) j),
	(SELECT array_agg((i % 5 + 1)::real) FROM generate_series(1, 2 * 6001) i));
SELECT ps_push_range('fresh', -5000,
	(SELECT array_agg((i % 7)::real ORDER BY i) FROM generate_series(1, 2 * 10000) i));
INSERT INTO late SELECT g, ARRAY[g, -g, 0.5]::real[] FROM generate_series(1, 3000) g;
});
my $fresh_md5 = $node->safe_psql('postgres',
	"SELECT md5(string_agg(key || ':' || val::text, ',' ORDER BY key)) FROM fresh");
my $fresh_stats = $node->safe_psql('postgres',
	"SELECT dim || ':' || keys || ':' || leaves FROM ps_stats('fresh')");
my $fresh_pull = $node->safe_psql('postgres',
	"SELECT ps_pull('fresh', ARRAY[4999, -5000, -9000000000000000000, 0, 42])");
my ($fresh_dim, $fresh_keys, $fresh_leaves) = split /:/, $fresh_stats;
is("$fresh_dim:$fresh_keys", '2:16000',
	'the table filled just before the crash has dim 2 and 16000 keys');
cmp_ok($fresh_leaves, '>', 10,
	'the table filled just before the crash has split into many leaves');
my $late_md5 = $node->safe_psql('postgres',
	"SELECT md5(string_agg(key || ':' || val::text, ',' ORDER BY key)) FROM late");

my $redo_at_crash = $node->safe_psql('postgres',
	'SELECT redo_lsn FROM pg_control_checkpoint()');
is($redo_at_crash, $redo_before_load,
	'no checkpoint since the load began: recovery replays all of it');
ok( $node->safe_psql('postgres',
		"SELECT '$redo_at_crash'::pg_lsn <= '$lsn_before_fresh'::pg_lsn") eq 't',
	'the redo point precedes the creation of the fresh table');

# The crash.
my $nkilled = kill9_everything($node);
cmp_ok($nkilled, '>=', $nclients + 1,
	"kill -9 of the postmaster and all its children ($nkilled processes), all gone");

for my $c (1 .. $nclients)
{
	$h[$c]->finish;
	like($err[$c],
		qr/server closed the connection unexpectedly|connection to server was lost|no connection to the server/,
		"client $c lost its connection in the crash");
	unlike($err[$c], qr/ERROR:/, "client $c saw no error before the crash");
}

# ---------------------------------------------------------------------------
# Recovery
# ---------------------------------------------------------------------------

my $logpos = -s $node->logfile;
$node->start;
ok($node->log_contains(qr/automatic recovery in progress/, $logpos),
	'the server ran crash recovery');
ok($node->log_contains(qr/redo starts at/, $logpos),
	'recovery replayed WAL');

# What the clients saw.
my (@acked, %max_ts, %seen_ts);
my $total_acked = 0;
my $ts_unique = 1;
my $ts_increasing = 1;
for my $c (1 .. $nclients)
{
	my @a = acks($out[$c]);
	my $in_order = 1;
	for my $i (0 .. $#a)
	{
		$in_order = 0 unless $a[$i][0] == $i + 1;
		if ($i > 0)
		{
			$ts_increasing = 0
			  unless $a[$i][1] > $a[ $i - 1 ][1]
			  && $a[$i][2] > $a[ $i - 1 ][2];
		}
		for my $t (1, 2)
		{
			my $tbl = $t == 1 ? 'w1' : 'w4';
			$ts_unique = 0 if $seen_ts{$tbl}{ $a[$i][$t] }++;
			$max_ts{$tbl} = $a[$i][$t]
			  if !defined $max_ts{$tbl} || $a[$i][$t] > $max_ts{$tbl};
		}
	}
	ok($in_order, "client $c: pushes acknowledged in order");
	cmp_ok(scalar(@a), '>=', $min_acked,
		"client $c: at least $min_acked pushes acknowledged");
	cmp_ok(scalar(@a), '<', $script_pushes,
		"client $c: cut off mid-stream");
	$acked[$c] = scalar(@a);
	$total_acked += $acked[$c];
}
ok($ts_unique,
	'timestamps acknowledged before the crash are unique per table');
ok($ts_increasing,
	'timestamps acknowledged to each client increase');

# Acknowledged counts as a VALUES list for SQL.
my $acked_sql = join(', ', map { "($_, $acked[$_])" } 1 .. $nclients);

for my $t (
	[ 'w1', $shared1, $sparse1, '1',         "1" ],
	[ 'w4', $shared4, $sparse4, '1,2,3,4', "'{1,2,3,4}'::real[]" ])
{
	my ($tbl, $nshared, $nsparse, $unit, $unit_sql) = @$t;

	is($node->safe_psql('postgres', "SELECT ps_check('$tbl') = count(*) FROM $tbl"),
		't', "$tbl: ps_check passes after recovery");

	# Fresh keys: each belongs to one push and holds exactly one push's value.
	my $res = $node->safe_psql(
		'postgres', qq{
WITH acked(c, n) AS (VALUES $acked_sql),
fresh AS (SELECT key, val, (owner(key)).* FROM $tbl
          WHERE key < 0 OR key >= $nshared)
SELECT
  -- fresh keys of acknowledged pushes that hold their value
  count(*) FILTER (WHERE f.p <= a.n AND f.val = $unit_sql),
  -- fresh keys of the push in flight at the crash (0 .. $nsparse per client)
  count(*) FILTER (WHERE f.p = a.n + 1 AND f.val = $unit_sql),
  -- anything else: a wrong value, or a push never sent
  count(*) FILTER (WHERE a.c IS NULL OR f.p > a.n + 1 OR f.p < 1
                   OR f.val <> $unit_sql)
FROM fresh f LEFT JOIN acked a ON a.c = f.c});
	my ($ok_keys, $inflight_keys, $bad_keys) = split /\|/, $res;
	is($ok_keys, $total_acked * $nsparse,
		"$tbl: all $total_acked acknowledged pushes are there "
		  . "(their $ok_keys fresh keys hold exactly one push's value)");
	cmp_ok($inflight_keys, '<=', $nclients * $nsparse,
		"$tbl: pushes in flight at the crash applied at most once ($inflight_keys keys)");
	is($bad_keys, '0', "$tbl: no key holds a value that was never acknowledged or sent");

	# Shared keys: every push of every client added one unit.
	my $first = $tbl eq 'w1' ? 'val' : 'val[1]';
	$res = $node->safe_psql(
		'postgres', qq{
SELECT count(*), count(*) FILTER (WHERE v = round(v)), min(v), max(v)
FROM (SELECT ($first)::numeric AS v FROM $tbl
      WHERE key >= 0 AND key < $nshared) s});
	my ($n, $integral, $min, $max) = split /\|/, $res;
	is($n, $nshared, "$tbl: all $nshared shared keys are there");
	is($integral, $nshared, "$tbl: shared keys hold whole push counts");
	cmp_ok($min, '>=', $total_acked,
		"$tbl: every shared key counts all $total_acked acknowledged pushes");
	cmp_ok($max, '<=', $total_acked + $nclients,
		"$tbl: no shared key counts more pushes than were sent");

	# Timestamps go on above everything acknowledged.
	my $ts = $node->safe_psql('postgres',
		"SELECT ps_push('$tbl', ARRAY[$nshared + 5]::bigint[], '{$unit}'::real[])");
	cmp_ok($ts, '>', $max_ts{$tbl},
		"$tbl: first timestamp after the restart ($ts) is above the last acknowledged ($max_ts{$tbl})");
}

# The shared keys of w4 carry the whole vector.
is( $node->safe_psql(
		'postgres',
		"SELECT count(*) FROM w4 WHERE key >= 0 AND key < $shared4
		 AND val[2] = 2 * val[1] AND val[3] = 3 * val[1] AND val[4] = 4 * val[1]"),
	$shared4,
	'w4: shared vectors are whole multiples of (1, 2, 3, 4)');

my $leaves_after = $node->safe_psql('postgres', "SELECT leaves FROM ps_stats('w1')");
cmp_ok($leaves_after, '>', 100,
	"w1: $leaves_after leaves after recovery: splits were replayed");
cmp_ok($leaves_after, '>=', $leaves_before_crash,
	"w1: recovery keeps the $leaves_before_crash leaves seen before the crash");

# Rows committed before the crash.
is( $node->safe_psql('postgres',
		"SELECT md5(string_agg(key || ':' || val, ',' ORDER BY key)) FROM ins"),
	$ins_md5,
	'rows INSERTed and COPYed before the load survive');
is($node->safe_psql('postgres', "SELECT ps_check('ins')"),
	'5003', 'ins: ps_check passes');
is( $node->safe_psql('postgres',
		"SELECT md5(string_agg(key || ':' || val::text, ',' ORDER BY key)) FROM late"),
	$late_md5,
	'rows INSERTed and committed during the load survive');

# The table born just before the crash.
is( $node->safe_psql('postgres',
		"SELECT md5(string_agg(key || ':' || val::text, ',' ORDER BY key)) FROM fresh"),
	$fresh_md5,
	'the table created and filled just before the crash is intact');
is( $node->safe_psql('postgres',
		"SELECT dim || ':' || keys || ':' || leaves FROM ps_stats('fresh')"),
	$fresh_stats,
	'fresh: same dim, keys and leaves as before the crash');
is($node->safe_psql('postgres', "SELECT ps_check('fresh')"),
	$fresh_keys, 'fresh: ps_check passes');
is( $node->safe_psql('postgres',
		"SELECT ps_pull('fresh', ARRAY[4999, -5000, -9000000000000000000, 0, 42])"),
	$fresh_pull,
	"fresh: pulls read the values from before the crash ($fresh_pull)");

# And the server keeps working: a clean restart changes nothing.
my $w1_md5 = $node->safe_psql('postgres',
	"SELECT md5(string_agg(key || ':' || val, ',' ORDER BY key)) FROM w1");
$node->restart;
is( $node->safe_psql('postgres',
		"SELECT md5(string_agg(key || ':' || val, ',' ORDER BY key)) FROM w1"),
	$w1_md5,
	'w1: a clean restart after recovery keeps every value');

$node->stop;

# ---------------------------------------------------------------------------
# wal_level = minimal: tables created (or truncated) and filled in one
# transaction skip WAL and are made durable at commit instead, by WAL-logging
# their pages (small ones) or by syncing their files (ones over
# wal_skip_threshold).  Later pushes are WAL-logged on top of that.
# ---------------------------------------------------------------------------

my $mini = PostgreSQL::Test::Cluster->new('minimal');
$mini->init;    # wal_level = minimal
$mini->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'ps'
fsync = on
wal_skip_threshold = '2MB'
});
$mini->start;
is($mini->safe_psql('postgres', 'SHOW wal_level'), 'minimal', 'a node with wal_level = minimal');
$mini->safe_psql(
	'postgres', q{
CREATE EXTENSION ps;
BEGIN;
CREATE TABLE small (key bigint, val real) USING ps;
SELECT ps_push_range('small', 0, array_fill(2::real, ARRAY[5000]));
CREATE TABLE big (key bigint, val real) USING ps;
SELECT setseed(0.3);
SELECT ps_push('big', array_agg(((random() - 0.5) * 1.8e19)::bigint), array_agg(1::real))
FROM generate_series(1, 300000);
COMMIT;
CREATE TABLE later (key bigint, val real) USING ps;
SELECT ps_push_range('later', 0, array_fill(1::real, ARRAY[3000]));
BEGIN;
TRUNCATE later;
SELECT ps_push_range('later', 10, array_fill(5::real, ARRAY[3000]));
COMMIT;
SELECT ps_push('small', ARRAY[1, 100000], ARRAY[1, 1]::real[]);
SELECT ps_push('big', ARRAY[1, 100000], ARRAY[1, 1]::real[]);
SELECT ps_push('later', ARRAY[1, 100000], ARRAY[1, 1]::real[]);
});
cmp_ok($mini->safe_psql('postgres', "SELECT pages FROM ps_stats('big')"),
	'>', 256, 'big is larger than wal_skip_threshold: synced at commit');
cmp_ok($mini->safe_psql('postgres', "SELECT pages FROM ps_stats('small')"),
	'<', 256, 'small is smaller: WAL-logged at commit');

my %mini_md5;
my $mini_sql = "SELECT count(*) || ':' || md5(string_agg(key || ':' || val, ',' ORDER BY key)) FROM %s";
$mini_md5{$_} = $mini->safe_psql('postgres', sprintf($mini_sql, $_))
  for qw(small big later);
kill9_everything($mini);
$mini->start;
for my $tbl (qw(small big later))
{
	is($mini->safe_psql('postgres', sprintf($mini_sql, $tbl)),
		$mini_md5{$tbl}, "wal_level = minimal: $tbl is intact after kill -9");
	is($mini->safe_psql('postgres', "SELECT ps_check('$tbl') = count(*) FROM $tbl"),
		't', "wal_level = minimal: $tbl passes ps_check");
}
is($mini->safe_psql('postgres', "SELECT ps_pull('later', ARRAY[0, 1, 10, 100000])"),
	'{0,1,5,1}', 'wal_level = minimal: the TRUNCATE and what followed it are kept');
$mini->stop;

done_testing();
