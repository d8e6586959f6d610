# Copyright: the ps authors.  Licensed like the rest of ps.
#
# 013_recovery_time.pl: recovery to a point in time and delayed standbys see
# pushes, and ps WAL is written under a permanent resource manager id with
# a format in every record.
#
# PostgreSQL stops recovery at recovery_target_time, and holds a standby's
# replay back for recovery_min_apply_delay, only at commit records; ps
# changes write none.  The scheduler therefore writes a "time mark" (an
# empty transaction with an xid, committed) ahead of every round, and ahead
# of writes a backend makes itself (pushes with ps.scheduler = off or too
# large for the queue, INSERT, COPY) when the last mark is older than 1 ms.
# Guarantees checked here:
#
#   - Point-in-time recovery to a time T taken between pushes (with pauses
#     around T) restores exactly the state at T: a key pushed once before T
#     and 360 times after it reads 1; a T after the 100th of 360 pushes
#     reads 101; other ps tables hold exactly their rows at T, whether the
#     writes after T were pushes through the scheduler, pushes with
#     ps.scheduler = off, pushes too large for the queue, INSERT or COPY.
#     This holds both when nothing but ps writes happened after T (the
#     restore then stops at a time mark; before time marks, it refused to
#     start: "recovery ended before configured recovery target was
#     reached") and when ordinary heap commits followed (heap tables are
#     restored to T as well).  WAL between T and the end holds no commit
#     other than the marks in the first case (checked with pg_walinspect).
#   - With ps.time_mark_interval = -1 no marks are written (no commit record
#     in WAL while pushing), and a recovery to T keeps every push made after
#     T up to the next commit record, and the ps rows of an INSERT whose
#     commit came after T: what the setting costs.
#   - A streaming standby with recovery_min_apply_delay = 3s holds pushes
#     back: 1.5 s after a push (through the scheduler, and with
#     ps.scheduler = off) it still reads the old value; it reads the new one
#     no sooner than the delay and within 10 s.
#   - ps WAL records carry resource manager id 212 (pg_waldump names it
#     custom212; never custom128, the id reserved for development), named
#     'ps' by pg_walinspect, with record types INIT, SET, SPLIT and META, and
#     every description starts with "format 2: ".
#   - ps.replay_wal_0_2 is off by default; a server with it on (which also
#     registers the id 128 of library versions up to 0.2) starts, pushes
#     and creates tables as usual, still writes 'ps' records, and its crash
#     recovery (immediate stop, start) replays them.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(has_archiving => 1, allows_streaming => 1);
# autovacuum off: no ANALYZE commits at unplanned times; a small queue so
# that a push of 30000 keys (360 kB) is too large for it (over a quarter)
$primary->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'ps'
ps.queue_size = 1
# "through the scheduler" below means through its queue
ps.scheduler = always
autovacuum = off
checkpoint_timeout = 1h
max_wal_size = 1GB
});
$primary->start;
$primary->safe_psql('postgres', 'CREATE EXTENSION ps; CREATE EXTENSION pg_walinspect');
is($primary->safe_psql('postgres', 'SHOW ps.time_mark_interval'),
	'0', 'ps.time_mark_interval is 0 by default: a mark ahead of every round');
is($primary->safe_psql('postgres', 'SHOW ps.replay_wal_0_2'),
	'off', 'ps.replay_wal_0_2 is off by default');

$primary->backup('base');

# Everything below is replayed by the restores, from the base backup on.
$primary->safe_psql(
	'postgres', q{
CREATE TABLE a (key bigint, val real) USING ps;   -- pushed in phase 1
CREATE TABLE o1 (key bigint, val real) USING ps;  -- the other table of phase 1
CREATE TABLE b (key bigint, val real) USING ps;   -- pushed in phase 2
CREATE TABLE o2 (key bigint, val real) USING ps;  -- the other table of phase 2
CREATE TABLE c (key bigint, val real) USING ps;   -- pushed without marks
CREATE TABLE o3 (key bigint, val real) USING ps;
CREATE TABLE sd (key bigint, val real) USING ps;  -- the delayed standby's
CREATE TABLE h (id int);                          -- an ordinary heap table
SELECT ps_push('a', ARRAY[1], ARRAY[1]::real[]);
SELECT ps_push('b', ARRAY[1], ARRAY[1]::real[]);
SELECT ps_push('c', ARRAY[1], ARRAY[1]::real[]);
SELECT ps_push('sd', ARRAY[1], ARRAY[1]::real[]);
INSERT INTO o1 VALUES (1, 1), (2, 2);
INSERT INTO o2 VALUES (1, 1), (2, 2);
INSERT INTO o3 VALUES (1, 1);
INSERT INTO h VALUES (1);
-- the Transaction records in WAL from l0 to l1, and how many of them are
-- commits of transactions that wrote nothing else there (time marks)
CREATE FUNCTION commits(l0 pg_lsn, l1 pg_lsn, OUT total bigint, OUT marks bigint)
LANGUAGE sql AS $$
	WITH r AS (SELECT * FROM pg_get_wal_records_info(l0, l1))
	SELECT count(*),
	       count(*) FILTER (WHERE record_type = 'COMMIT' AND NOT EXISTS
	           (SELECT 1 FROM r o WHERE o.xid = t.xid AND o.resource_manager <> 'Transaction'))
	FROM r t WHERE resource_manager = 'Transaction' $$;
});

# The contents of a table as text.
sub rows
{
	my ($node, $tbl) = @_;
	return $node->safe_psql('postgres',
		"SELECT coalesce(string_agg(key || ':' || val::text, ',' ORDER BY key), '') FROM $tbl");
}

sub lsn
{
	return $primary->safe_psql('postgres', 'SELECT pg_current_wal_insert_lsn()');
}

# T: the server's clock, strictly between writes (nothing is written during
# the pauses around it).
sub take_time
{
	usleep(300_000);
	my ($t, $l) = split /\|/,
	  $primary->safe_psql('postgres',
		'SELECT clock_timestamp(), pg_current_wal_insert_lsn()');
	usleep(300_000);
	return ($t, $l);
}

# n pushes of +1 to key 1 of tbl, one after another (each its own round).
sub pushes
{
	my ($tbl, $n, $prefix) = @_;
	$prefix //= '';
	is( $primary->safe_psql('postgres',
			"$prefix SELECT count(ps_push('$tbl', ARRAY[1], ARRAY[1]::real[])) FROM generate_series(1, $n)"),
		$n, "$n pushes to $tbl" . ($prefix ? " ($prefix)" : ''));
}

# Close the current WAL segment and wait until it is archived.
sub archive_all
{
	my $walfile = $primary->safe_psql('postgres', 'SELECT pg_walfile_name(pg_switch_wal())');
	$primary->poll_query_until('postgres',
		"SELECT last_archived_wal >= '$walfile' FROM pg_stat_archiver")
	  or die "WAL segment $walfile was not archived";
}

# A new node restored from the base backup and the archive up to time T,
# promoted there.
sub restore_to
{
	my ($name, $target) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init_from_backup($primary, 'base', has_restoring => 1, standby => 0);
	# the copied configuration archives into the primary's archive: a
	# promoted restore must not add its timeline there
	$node->append_conf(
		'postgresql.conf', qq{
archive_mode = off
recovery_target_time = '$target'
recovery_target_action = 'promote'
});
	ok($node->start(fail_ok => 1), "$name: the restore to $target starts")
	  or die "$name did not start, see " . $node->logfile;
	ok(!$node->log_contains(qr/recovery ended before configured recovery target was reached/),
		"$name: recovery reached its target");
	$node->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()')
	  or die "$name was not promoted";
	ok($node->log_contains(qr/recovery stopping before commit of transaction \d+, time/),
		"$name: recovery stopped before a commit after the target");
	return $node;
}

# ---------------------------------------------------------------------------
# A delayed standby holds pushes back
# ---------------------------------------------------------------------------

my $standby = PostgreSQL::Test::Cluster->new('delayed');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->append_conf(
	'postgresql.conf', q{
recovery_min_apply_delay = '3s'
archive_mode = off
});
$standby->start;

my $sd = 1;
for my $how ('', 'SET ps.scheduler = off;')
{
	my $what = $how ? 'a push with ps.scheduler = off' : 'a push through the scheduler';
	my $end = $primary->safe_psql('postgres', 'SELECT pg_current_wal_lsn()');
	$standby->poll_query_until('postgres',
		"SELECT pg_last_wal_replay_lsn() >= '$end'::pg_lsn")
	  or die 'the delayed standby did not catch up';
	is($standby->safe_psql('postgres', "SELECT ps_pull('sd', ARRAY[1])"),
		"{$sd}", "delayed standby: caught up, reads $sd before $what");

	my $t0 = time;
	$primary->safe_psql('postgres', "$how SELECT ps_push('sd', ARRAY[1], ARRAY[1]::real[])");
	$sd++;
	is($primary->safe_psql('postgres', "SELECT ps_pull('sd', ARRAY[1])"),
		"{$sd}", "the primary reads $sd after $what");
	my $wait = $t0 + 1.5 - time;
	usleep(int($wait * 1e6)) if $wait > 0;
	is($standby->safe_psql('postgres', "SELECT ps_pull('sd', ARRAY[1])"),
		'{' . ($sd - 1) . '}',
		"delayed standby: 1.5 s after $what, still the old value");

	my $seen;
	while (time < $t0 + 10)
	{
		if ($standby->safe_psql('postgres', "SELECT ps_pull('sd', ARRAY[1])") eq "{$sd}")
		{
			$seen = time - $t0;
			last;
		}
		usleep(50_000);
	}
	ok(defined $seen, "delayed standby: reads $sd within 10 s of $what");
	# the mark's commit time is after t0, and replay waits until 3 s after
	# it (rounded to the millisecond)
	cmp_ok($seen // 0, '>=', 2.9,
		"delayed standby: not before the 3 s delay (after "
		  . sprintf('%.2f', $seen // 0) . ' s)');
}
$standby->stop;

# ---------------------------------------------------------------------------
# Phase 1: only ps writes after T (nothing else commits)
# ---------------------------------------------------------------------------

sub sched_pushes
{
	return $primary->safe_psql('postgres', 'SELECT sum(pushes) FROM ps_scheduler() WHERE applier > 0');
}

my ($t1, $t1_lsn) = take_time();
my $sched0 = sched_pushes();
pushes('a', 100);
is($primary->safe_psql('postgres',
		"SET ps.scheduler = off; SELECT ps_push('o1', ARRAY[2], ARRAY[5]::real[]) > 0"),
	't', 'phase 1: a push with ps.scheduler = off to o1');
my ($t2, $t2_lsn) = take_time();
pushes('a', 260);
is(sched_pushes() - $sched0, 360, 'phase 1: the scheduler applied the 360 pushes');
pushes('a', 5, 'SET ps.scheduler = off;');
$primary->safe_psql('postgres', q{
SET ps.scheduler = off;
SELECT ps_push('o1', ARRAY[1, 3], ARRAY[10, 3]::real[]);
RESET ps.scheduler;
-- 30000 keys: over a quarter of the 1 MB queue, applied by the backend
SELECT ps_push('o1', (SELECT array_agg(g) FROM generate_series(1000, 30999) g),
	array_fill(1::real, ARRAY[30000]));
});
my $p1_end = lsn();
is(sched_pushes() - $sched0, 360,
	'phase 1: the pushes with ps.scheduler = off and the push too large for the queue were applied by their backends');
is($primary->safe_psql('postgres', "SELECT ps_pull('a', ARRAY[1])"),
	'{366}', 'phase 1: a key 1 is 1 + 360 + 5 on the primary');
is($primary->safe_psql('postgres', "SELECT count(*) FROM o1"),
	'30003', 'phase 1: o1 holds 30003 keys on the primary');

my ($p1_commits, $p1_marks) = split /\|/,
  $primary->safe_psql('postgres', "SELECT * FROM commits('$t1_lsn', '$p1_end')");
is($p1_commits, $p1_marks,
	"phase 1: every commit record after T1 ($p1_commits) is a time mark: nothing else committed");
cmp_ok($p1_marks, '>=', 360,
	'phase 1: at least one mark per scheduler round (360 rounds)');
my ($p1b_commits, $p1b_marks) = split /\|/,
  $primary->safe_psql('postgres', "SELECT * FROM commits('$t1_lsn', '$t2_lsn')");
cmp_ok($p1b_marks, '>=', 100, "phase 1: $p1b_marks marks between T1 and T2 (100 rounds)");
archive_all();

my $r1 = restore_to('only_ps_t1', $t1);
is($r1->safe_psql('postgres', "SELECT ps_pull('a', ARRAY[1])"),
	'{1}', 'restore to T1 (only ps writes after it): a key 1 reads 1, none of the 365 pushes after T1');
is(rows($r1, 'o1'), '1:1,2:2', 'restore to T1: o1 holds exactly its rows at T1');
is($r1->safe_psql('postgres', "SELECT ps_check('a') + ps_check('o1')"), '3',
	'restore to T1: ps_check passes');
$r1->stop;

my $r2 = restore_to('only_ps_t2', $t2);
is($r2->safe_psql('postgres', "SELECT ps_pull('a', ARRAY[1])"),
	'{101}', 'restore to T2 (after the 100th of 360 pushes): a key 1 reads exactly 101');
is(rows($r2, 'o1'), '1:1,2:7',
	'restore to T2: o1 holds the push with ps.scheduler = off before T2, none after');
# the restored server works: it pushes on from the restored state
is($r2->safe_psql('postgres',
		"SELECT ps_push('a', ARRAY[1], ARRAY[1]::real[]) > 0; SELECT ps_pull('a', ARRAY[1])"),
	"t\n{102}", 'restore to T2: pushes continue from the restored value');
$r2->stop;

# ---------------------------------------------------------------------------
# Phase 2: ps writes after T, then heap commits too
# ---------------------------------------------------------------------------

my ($t3, $t3_lsn) = take_time();
pushes('b', 120);
my ($p2_commits, $p2_marks) = split /\|/,
  $primary->safe_psql('postgres', "SELECT * FROM commits('$t3_lsn', '" . lsn() . "')");
is($p2_commits, $p2_marks,
	'phase 2: the first 120 pushes after T3 are followed by no commit but time marks '
	  . '(without marks, a restore to T3 would keep them)');
# INSERT and COPY into a ps table (each commits, after its ps writes)
my $copy = join('', map { "$_\t$_\n" } 100 .. 199);
$primary->safe_psql('postgres', qq{
INSERT INTO o2 VALUES (3, 3), (1, 50);
COPY o2 FROM STDIN;
$copy\\.
});
pushes('b', 120);
$primary->safe_psql('postgres', 'INSERT INTO h VALUES (2)');
pushes('b', 120);
pushes('b', 5, 'SET ps.scheduler = off;');
$primary->safe_psql('postgres', q{
SET ps.scheduler = off;
SELECT ps_push('o2', ARRAY[2], ARRAY[5]::real[]);
RESET ps.scheduler;
SELECT ps_push('o2', (SELECT array_agg(g) FROM generate_series(1000, 30999) g),
	array_fill(1::real, ARRAY[30000]));
INSERT INTO h VALUES (3);
});
is($primary->safe_psql('postgres', "SELECT ps_pull('b', ARRAY[1]) || ps_pull('o2', ARRAY[1, 2, 3])"),
	'{366,50,7,3}', 'phase 2: b and o2 on the primary');
archive_all();

my $r3 = restore_to('heap_t3', $t3);
is($r3->safe_psql('postgres', "SELECT ps_pull('b', ARRAY[1])"),
	'{1}', 'restore to T3 (heap commits after it too): b key 1 reads 1, none of the 365 pushes after T3');
is(rows($r3, 'o2'), '1:1,2:2',
	'restore to T3: o2 holds exactly its rows at T3 (no INSERT, COPY or push after it)');
is($r3->safe_psql('postgres', 'SELECT string_agg(id::text, \',\' ORDER BY id) FROM h'),
	'1', 'restore to T3: the heap table holds its rows at T3');
is($r3->safe_psql('postgres', "SELECT ps_pull('a', ARRAY[1])"),
	'{366}', 'restore to T3: a keeps all of phase 1');
$r3->stop;

# ---------------------------------------------------------------------------
# Phase 3: ps.time_mark_interval = -1, no marks
# ---------------------------------------------------------------------------

$primary->safe_psql('postgres',
	"ALTER SYSTEM SET ps.time_mark_interval = -1; SELECT pg_reload_conf();");
is($primary->safe_psql('postgres', 'SHOW ps.time_mark_interval'),
	'-1', 'ps.time_mark_interval = -1 after a reload');
# the scheduler reloads its configuration on its own: wait until a push
# through it writes no commit record
$primary->safe_psql(
	'postgres', q{
CREATE FUNCTION push_without_mark() RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
	l0 pg_lsn := pg_current_wal_insert_lsn();
	l1 pg_lsn;
BEGIN
	PERFORM ps_push('c', ARRAY[99], ARRAY[1]::real[]);
	l1 := pg_current_wal_insert_lsn();
	RETURN (SELECT total FROM commits(l0, l1)) = 0;
END $$;
});
$primary->poll_query_until('postgres', 'SELECT push_without_mark()')
  or die 'the scheduler still writes time marks';

my ($t4, $t4_lsn) = take_time();
pushes('c', 50);
pushes('c', 5, 'SET ps.scheduler = off;');
my $before_insert = lsn();
$primary->safe_psql('postgres', 'INSERT INTO o3 VALUES (2, 2)');
$primary->safe_psql('postgres', 'INSERT INTO h VALUES (4)');
is( $primary->safe_psql('postgres',
		"SELECT total FROM commits('$t4_lsn', '$before_insert')"),
	'0', 'ps.time_mark_interval = -1: 55 pushes wrote no commit record');
archive_all();

# Recovery stops at the first commit record after T4: the INSERT's, which
# follows all 55 pushes and the INSERT's own ps record.  Deterministic: no
# other commit record lies between T4 and it (checked above; autovacuum is
# off).
my $r4 = restore_to('no_marks_t4', $t4);
is($r4->safe_psql('postgres', "SELECT ps_pull('c', ARRAY[1])"),
	'{56}', 'restore to T4 without marks: c key 1 keeps the 55 pushes made after T4');
is(rows($r4, 'o3'), '1:1,2:2',
	'restore to T4 without marks: o3 holds the row of an INSERT committed after T4');
is($r4->safe_psql('postgres', 'SELECT string_agg(id::text, \',\' ORDER BY id) FROM h'),
	'1,2,3', 'restore to T4 without marks: heap commits after T4 are not restored');
$r4->stop;

$primary->safe_psql('postgres',
	"ALTER SYSTEM RESET ps.time_mark_interval; SELECT pg_reload_conf();");

# ---------------------------------------------------------------------------
# The resource manager and the record format
# ---------------------------------------------------------------------------

my $w0 = lsn();
$primary->safe_psql(
	'postgres', q{
CREATE TABLE wi (key bigint, val real) USING ps;
-- 3000 keys spread over the key space: several splits of sparse leaves
SELECT ps_push('wi', (SELECT array_agg(g * 3000000000000000) FROM generate_series(-1500, 1499) g),
	array_fill(1::real, ARRAY[3000]));
SELECT ps_push('wi', ARRAY[0, 1], ARRAY[1, 1]::real[]);
});
my $w1 = lsn();
$primary->safe_psql('postgres', 'SELECT txid_current()');    # flushes beyond w1

my $wi_filenode = $primary->safe_psql('postgres', "SELECT pg_relation_filenode('wi')");
is( $primary->safe_psql(
		'postgres', qq{
SELECT string_agg(DISTINCT record_type, ',' ORDER BY record_type)
FROM pg_get_wal_records_info('$w0', '$w1') WHERE resource_manager = 'ps'}),
	'INIT,META,SET,SPLIT',
	"pg_walinspect: the table's creation, pushes and splits are 'ps' records INIT, META, SET and SPLIT");
is( $primary->safe_psql(
		'postgres', qq{
SELECT count(*) FROM pg_get_wal_records_info('$w0', '$w1')
WHERE resource_manager LIKE 'custom%' OR resource_manager LIKE 'ps %'}),
	'0', "pg_walinspect: no record of an unnamed custom resource manager or of 'ps 0.2'");
is( $primary->safe_psql(
		'postgres', qq{
SELECT count(*) FILTER (WHERE description NOT LIKE 'format 2: %'),
       count(*) FILTER (WHERE block_ref LIKE '%/$wi_filenode %' OR block_ref LIKE '%/$wi_filenode')
FROM pg_get_wal_records_info('$w0', '$w1') WHERE resource_manager = 'ps'}),
	'0|' . $primary->safe_psql('postgres', qq{
SELECT count(*) FROM pg_get_wal_records_info('$w0', '$w1') WHERE resource_manager = 'ps'}),
	'pg_walinspect: every ps record describes itself as "format 2: ..." and is of the table wi');
like( $primary->safe_psql(
		'postgres', qq{
SELECT description FROM pg_get_wal_records_info('$w0', '$w1')
WHERE resource_manager = 'ps' AND record_type = 'INIT'}),
	qr/^format 2: dim 1, width \d+$/, 'pg_walinspect: the INIT record describes the table');

# pg_waldump, which does not load the library, shows the numeric id
my ($dump, $dump_err) = run_command(
	[ 'pg_waldump', '-p', $primary->data_dir . '/pg_wal', '-s', $w0, '-e', $w1 ]);
my @dump_rmgrs = ($dump =~ /^rmgr: (\S+)/mg);
my %dump_count;
$dump_count{$_}++ for @dump_rmgrs;
my $nps = $primary->safe_psql('postgres', qq{
SELECT count(*) FROM pg_get_wal_records_info('$w0', '$w1') WHERE resource_manager = 'ps'});
cmp_ok($nps, '>', 3, "pg_walinspect: $nps ps records");
is($dump_count{custom212} // 0, $nps,
	'pg_waldump: exactly these records are of resource manager id 212');
ok(!exists $dump_count{custom128}, 'pg_waldump: no record of id 128 (RM_EXPERIMENTAL_ID)');
ok($primary->log_contains(qr/registered custom resource manager "ps" with ID 212/),
	'the server log: ps registered resource manager id 212');
ok(!$primary->log_contains(qr/with ID 128/),
	'the server log: by default, id 128 is left to others (no ps.replay_wal_0_2)');

# ---------------------------------------------------------------------------
# ps.replay_wal_0_2 = on
# ---------------------------------------------------------------------------

$primary->stop;
$primary->append_conf('postgresql.conf', 'ps.replay_wal_0_2 = on');
my $logpos = -s $primary->logfile;
$primary->start;
ok( $primary->log_contains(
		qr/registered custom resource manager "ps" with ID 212\n.*registered custom resource manager "ps 0\.2" with ID 128/,
		$logpos),
	'ps.replay_wal_0_2 = on: ps registers id 212 and, for the WAL of 0.2, id 128');
is($primary->safe_psql('postgres', 'SHOW ps.replay_wal_0_2'),
	'on', 'a server with ps.replay_wal_0_2 = on starts');
is($primary->safe_psql('postgres', "SELECT ps_pull('wi', ARRAY[0, 1, 3000000000000000])"),
	'{2,1,1}', 'ps.replay_wal_0_2 = on: the tables read as before');

my $redo = $primary->safe_psql('postgres', 'SELECT redo_lsn FROM pg_control_checkpoint()');
my $c0 = lsn();
$primary->safe_psql(
	'postgres', q{
SELECT ps_push('wi', ARRAY[0, 7], ARRAY[10, 7]::real[]);
SET ps.scheduler = off;
SELECT ps_push('wi', ARRAY[0], ARRAY[100]::real[]);
CREATE TABLE wi2 (key bigint, val real[]) USING ps;
SELECT ps_push('wi2', (SELECT array_agg(g) FROM generate_series(1, 2000) g),
	(SELECT array_agg((g % 7)::real) FROM generate_series(1, 4000) g));
INSERT INTO wi2 VALUES (5000, ARRAY[1, 2]);
});
my $c1 = lsn();
my $wi_rows = rows($primary, 'wi');
my $wi2_rows = rows($primary, 'wi2');
is($primary->safe_psql('postgres', "SELECT ps_pull('wi', ARRAY[0, 7])"),
	'{112,7}', 'ps.replay_wal_0_2 = on: pushes work, through the scheduler and without it');
is( $primary->safe_psql(
		'postgres', qq{
SELECT string_agg(DISTINCT resource_manager, ',')
FROM pg_get_wal_records_info('$c0', '$c1') WHERE resource_manager LIKE 'ps%'}),
	'ps', "ps.replay_wal_0_2 = on: the server writes 'ps' records (never 'ps 0.2')");
ok($primary->safe_psql('postgres', "SELECT '$redo'::pg_lsn <= '$c0'::pg_lsn") eq 't',
	'no checkpoint since: crash recovery replays these records');

$logpos = -s $primary->logfile;
$primary->stop('immediate');
$primary->start;
ok($primary->log_contains(qr/database system was not properly shut down; automatic recovery in progress/, $logpos),
	'ps.replay_wal_0_2 = on: the server ran crash recovery');
ok($primary->log_contains(qr/redo done at/, $logpos), 'crash recovery replayed WAL');
is(rows($primary, 'wi'), $wi_rows, 'crash recovery: wi has its rows (pushes replayed)');
is(rows($primary, 'wi2'), $wi2_rows,
	'crash recovery: wi2, created and filled after the checkpoint, has its rows');
is($primary->safe_psql('postgres', "SELECT ps_check('wi2')"), '2001', 'crash recovery: wi2 passes ps_check');

$primary->stop;

done_testing();
