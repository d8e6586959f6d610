# Copyright: the ps authors.  Licensed like the rest of ps.
#
# 011_cancel.pl: a cancel never lets a push be applied behind its session's
# back, a cancel sent to the scheduler cuts nothing short, and a write that
# fails half-way says how much of it was written.
#
#   - A cancelled push is never applied after its session let the table
#     lock go.  The one interleaving where that could happen is made to
#     happen with gdb: the session is cancelled while its push is queued, and
#     is held (a breakpoint on its first exclusive acquisition of the queue
#     lock after the cancel, in abandon_slot) until the scheduler has taken
#     the push and is frozen inside ps_store_write, mid-apply.  Released,
#     the session does not return while the apply lasts: it keeps its lock
#     on the table, so a TRUNCATE from a third session waits for it (on a
#     'Lock' wait event, blocked by that session).  Once the scheduler is
#     released, the session fails with 57014 and a DETAIL saying the push
#     was applied before the cancel took effect; then the TRUNCATE commits.
#     The scheduler counts the push as applied, not failed.  A streaming
#     standby (wal_consistency_checking = 'ps' on the primary) replays all
#     of it and is still running, its log without PANIC (XLOG_PS_SET records
#     for dropped storage make it PANIC with "WAL contains references to
#     invalid pages") or inconsistent page; after an immediate restart
#     (crash recovery) the primary starts and ps_check passes.
#   - A query cancel sent to the scheduler is ignored: 50 cancels while four
#     clients push (1001 keys a push, 200 pushes each), and every push is
#     acknowledged, the sums are exact, the scheduler's pid is unchanged
#     (it was not restarted), and it counts no failed push.
#   - A write that fails after part of it was written says so, and how
#     much.  The server runs under a file size limit (ulimit -f; PostgreSQL
#     ignores SIGXFSZ, so extending a relation beyond the limit fails with
#     EFBIG, "File too large", as on a full disk).  With the table's file
#     at or near the limit, pushes of keys already stored followed by new
#     keys that need new leaves fail with the extension error, through the
#     scheduler and applied by the backend itself (ps.scheduler = off); the
#     DETAIL says "The push is partly applied: N of its M keys were written
#     before the error and keep their new values.", and exactly the first N
#     keys (in key order) hold their new values, the other M - N read as
#     before.  A push that fails before writing anything has no such DETAIL
#     and changes nothing.  Of two pushes the scheduler aggregated, one
#     whose keys were all written before the failure is acknowledged, and
#     the other is told how many of its own keys were written.  After the
#     failures, pushes to stored keys work, and ps_check passes.
#
# The gdb part needs gdb on x86-64, and the right to attach to the server's
# processes (same uid and kernel.yama.ptrace_scope = 0, or CAP_SYS_PTRACE).
# Without them it fails, saying why; it is never skipped.
use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

use FindBin;
use lib "$FindBin::RealBin/../lib";
use PsGdb;

my $timeout = $PostgreSQL::Test::Utils::timeout_default;
my $tmp = PostgreSQL::Test::Utils::tempdir;

sub scheduler_counters
{
	my ($node) = @_;
	return split /\|/,
	  $node->safe_psql('postgres',
		'SELECT pid, pushes, failed FROM ps_scheduler() WHERE applier = 1');
}

# ---------------------------------------------------------------------------
# A primary with a streaming standby
# ---------------------------------------------------------------------------

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'ps'
wal_consistency_checking = 'ps'
shared_buffers = 32MB
max_connections = 30
# one applier, the one gdb freezes (016_appliers.pl has several), and
# every push through the queue
ps.scheduler_workers = 1
ps.scheduler = always
});
$primary->start;
$primary->safe_psql(
	'postgres', q{
CREATE EXTENSION ps;
CREATE TABLE t (key bigint, val real) USING ps;
SELECT ps_push('t', ARRAY(SELECT generate_series(1, 100)::bigint),
               array_fill(1::real, ARRAY[100]));
});
$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->start;

# ---------------------------------------------------------------------------
# 1. A cancel that races the scheduler taking the push
# ---------------------------------------------------------------------------
#
# The old abandon_slot read the slot under a shared lock, saw QUEUED, let
# the lock go, and marked the slot abandoned under the exclusive lock; a
# scheduler taking the push in between applied it while the backend had
# already returned 57014 and let its table lock go.  The steps below put
# the scheduler exactly in that gap.

my ($sched_pid, $pushes0, $failed0) = scheduler_counters($primary);
my $ts0 = $primary->safe_psql('postgres', "SELECT ps_push('t', '{1}', '{1}')");

my $gdb_ok = eval {
	# the breakpoint condition in (c) reads x86-64 argument registers
	my $arch = `uname -m`;
	chomp $arch;
	die "the gdb part needs x86-64, this machine is $arch\n" unless $arch eq 'x86_64';
	my %f = map { $_ => "$tmp/$_" }
	  qw(sched_armed sched_go sched_stopped sched_release b_armed b_stopped b_go);

	# (a) Freeze the scheduler before B's push exists, with a breakpoint on
	# ps_store_write: when it runs again it takes B's push (marking it
	# APPLYING under the queue lock) and stops inside the apply, before
	# writing anything.  Attaching stops it; it stays stopped while its
	# gdb waits for sched_go.  Time marks (ps.time_mark_interval) stay on:
	# the scheduler writes its mark before the apply, out of the way of
	# both breakpoints.
	my $sched_gdb = start_gdb(
		'scheduler', $sched_pid, join("\n",
			'break ps_store_write',
			"shell touch '$f{sched_armed}'",
			gdb_wait_for($f{sched_go}),
			'continue',
			"shell touch '$f{sched_stopped}'",
			'bt 6',
			gdb_wait_for($f{sched_release})),
		$f{sched_go}, $f{sched_release});
	wait_for_file($f{sched_armed}, 'gdb attached to the scheduler', $sched_gdb);
	is(proc_state($sched_pid), 't', 'gdb holds the scheduler stopped');

	# (b) B pushes; its push waits in the queue of the frozen scheduler.
	my $b = start_client($primary, 'cancel_b',
		"SELECT ps_push('t', '{1,2,3}', '{10,20,30}')");
	ok( $primary->poll_query_until(
			'postgres', q{SELECT count(*) = 1 FROM pg_stat_activity
			  WHERE application_name = 'cancel_b' AND state = 'active'
			    AND wait_event_type = 'Extension'}),
		'B waits for the scheduler');
	my $b_pid = $primary->safe_psql('postgres',
		"SELECT pid FROM pg_stat_activity WHERE application_name = 'cancel_b'");

	# (c) Hold B at its first exclusive acquisition of the queue lock: that
	# is where abandon_slot decides what became of the push (new code), or
	# where it marks the slot abandoned after having read QUEUED under a
	# shared lock (old code).  While B waits for its push it takes the lock
	# only in shared mode, so nothing stops B before the cancel.  The
	# breakpoint is at the entry of LWLockAcquire (the server binary is
	# stripped: no prologue to skip): the lock is the first argument
	# (%rdi), the mode the second (%esi; LW_EXCLUSIVE is 0).
	my $b_gdb = start_gdb(
		'backend', $b_pid, join("\n",
			'break *LWLockAcquire if $rdi == (long) ps_queue_lock && ($rsi & 0xffffffff) == 0',
			"shell touch '$f{b_armed}'",
			'continue',
			"shell touch '$f{b_stopped}'",
			'bt 6',
			gdb_wait_for($f{b_go})),
		$f{b_go});
	wait_for_file($f{b_armed}, 'gdb attached to B', $b_gdb);

	# (d) Cancel B: it stops at the breakpoint, its push still QUEUED.
	is($primary->safe_psql('postgres', "SELECT pg_cancel_backend($b_pid)"),
		't', 'B is sent a cancel');
	wait_for_file($f{b_stopped}, 'B stopping at the breakpoint', $b_gdb);
	ok(gdb_printed($b_gdb, qr/Breakpoint 1, [^\n]*LWLockAcquire.*\n#1 [^\n]*\babandon_slot \(/s),
		'B stopped acquiring the queue lock exclusively in abandon_slot')
	  or diag ${ $b_gdb->{out} };

	# (e) Let the scheduler go: it takes the queued push (B does not hold
	# the queue lock, it is stopped before acquiring it) and stops in
	# ps_store_write, mid-apply, the push APPLYING.
	touch($f{sched_go});
	wait_for_file($f{sched_stopped}, 'the scheduler stopping in ps_store_write',
		$sched_gdb);
	ok(gdb_printed($sched_gdb, qr/Breakpoint 1, ps_store_write .*\n#1 [^\n]*\b(?:write|apply)_group \(/s),
		'the scheduler took the push and is frozen inside its apply')
	  or diag ${ $sched_gdb->{out} };

	# (f) Let B go.  It must not return while the push is being applied:
	# it holds its lock on t until the apply ends (the old code returned
	# 57014 here, at once, and let the lock go).
	touch($f{b_go});
	release_gdb($b_gdb);
	like(${ $b_gdb->{out} }, qr/Detaching from program|detached/i,
		'gdb detached from B');
	my $returned = 0;
	my $deadline = time + 2;
	while (time < $deadline)
	{
		$b->{h}->pump_nb;
		$returned = 1 if !$b->{h}->pumpable || ${ $b->{out} } ne '' || ${ $b->{err} } ne '';
		last if $returned;
		usleep(100_000);
	}
	ok(!$returned, 'B does not return while the scheduler applies its push')
	  or diag ${ $b->{err} };
	is( $primary->safe_psql(
			'postgres', "SELECT state, wait_event_type FROM pg_stat_activity WHERE pid = $b_pid"),
		'active|Extension',
		'B still runs its statement, waiting for the apply to end');

	# A TRUNCATE must wait for B's lock: it cannot commit, dropping the
	# storage the scheduler is writing, while the push is applied.
	my $c = start_client($primary, 'cancel_c', 'TRUNCATE t');
	ok( $primary->poll_query_until(
			'postgres', qq{SELECT count(*) = 1 FROM pg_stat_activity
			  WHERE application_name = 'cancel_c' AND wait_event_type = 'Lock'
			    AND pg_blocking_pids(pid) = ARRAY[$b_pid]}),
		"a TRUNCATE of t waits for B's lock");
	$b->{h}->pump_nb;
	$c->{h}->pump_nb;
	ok( $b->{h}->pumpable && $c->{h}->pumpable,
		'neither B nor the TRUNCATE has returned while the scheduler is frozen');

	# (g) Release the scheduler: the apply ends, B returns 57014 saying the
	# push was applied, and then the TRUNCATE commits.
	touch($f{sched_release});
	release_gdb($sched_gdb);
	like(${ $sched_gdb->{out} }, qr/Detaching from program|detached/i,
		'gdb detached from the scheduler');
	$b->{h}->finish;
	like(
		${ $b->{err} },
		qr/^ERROR:  57014: canceling statement due to user request\nDETAIL:  The push \(task timestamp (\d+)\) was applied before the cancel took effect; do not push it again\.\n/m,
		'B fails with 57014, saying its push was applied before the cancel took effect');
	my ($ts_b) = ${ $b->{err} } =~ /task timestamp (\d+)/;
	cmp_ok($ts_b // 0, '>', $ts0, "the DETAIL names B's push (task timestamp $ts_b)");
	ok($c->{h}->finish && ${ $c->{err} } eq '', 'the TRUNCATE completes after B returned')
	  or diag ${ $c->{err} };
	my ($pid1, $pushes1, $failed1) = scheduler_counters($primary);
	is($pushes1 - $pushes0, 2, "the scheduler applied B's push (and the one before)");
	is($failed1 - $failed0, 0, 'and failed none');
	is($pid1, $sched_pid, 'the scheduler is the same process');
	1;
};
my $gdb_error = $@;
release_everything();
note_gdb_sessions();
ok($gdb_ok, 'the gdb part ran to its end') or diag $gdb_error;

# t is empty after the TRUNCATE, and takes pushes to its new storage (and
# the scheduler writes no page of the dropped one).
is($primary->safe_psql('postgres', 'SELECT count(*) FROM t'), '0', 't is empty after the TRUNCATE');
$primary->safe_psql('postgres',
	"SELECT ps_push('t', ARRAY(SELECT generate_series(1, 50)::bigint), array_fill(2::real, ARRAY[50]))");
is($primary->safe_psql('postgres', 'SELECT count(*), sum(val) FROM t'),
	'50|100', 't takes pushes after the TRUNCATE');

# (h) The standby replayed everything, page for page, and is still up.
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery(), count(*), sum(val) FROM t'),
	't|50|100', 'the standby caught up and has the same t');
ok(!$standby->log_contains(qr/PANIC|invalid pages|inconsistent page|terminated by signal/),
	'no PANIC, invalid page or inconsistent page on the standby');

# Crash recovery replays the same WAL on the primary.
$primary->stop('immediate');
$primary->start;
is($primary->safe_psql('postgres', "SELECT ps_check('t'), sum(val) FROM t"),
	'50|100', 'after an immediate restart (crash recovery) ps_check passes on t');

# ---------------------------------------------------------------------------
# 2. Cancels sent to the scheduler
# ---------------------------------------------------------------------------
#
# Four clients push (1000 keys every push shares and one of its own), as in
# 008_scheduler.pl, 200 pushes each.  Client 1 sends the scheduler a query
# cancel after every fourth of its pushes (50 in all), each while the other
# clients push and followed by more pushes of its own, so every cancel
# reaches a scheduler with pushes to apply.  The scheduler ignores them: no
# aggregate is cut short, so no push fails, and it is not restarted (before,
# a cancel failed the aggregate it interrupted, or stopped the scheduler
# with an ERROR in its main loop).

$primary->safe_psql(
	'postgres', q{
CREATE TABLE cs (key bigint, val real) USING ps;
CREATE FUNCTION pkeys(c int, p int) RETURNS bigint[] LANGUAGE sql IMMUTABLE
AS $$ SELECT array_append(ARRAY(SELECT generate_series(0, 999)::bigint),
                          c * 1000000 + p) $$;
});
my ($spid, $pushes2, $failed2) = scheduler_counters($primary);
my $log_offset = -s $primary->logfile;
my @pushers;
for my $c (1 .. 4)
{
	my $script = "$tmp/pusher$c.sql";
	open(my $fh, '>', $script) or die "cannot write $script: $!";
	for my $p (1 .. 200)
	{
		print $fh
		  "SELECT 'ack', $c, $p, ps_push('cs', pkeys($c, $p), array_fill(1::real, ARRAY[1001])) IS NOT NULL;\n";
		print $fh "SELECT 'cancel', pg_cancel_backend(pid) FROM ps_scheduler() WHERE applier = 1;\n"
		  if $c == 1 && $p % 4 == 2;
	}
	close $fh;
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(
		[ 'psql', '-XAtq', '-d', $primary->connstr('postgres'), '-f', $script ],
		'<', \undef, '>', \$out, '2>', \$err);
	track_client($h);
	push @pushers, { h => $h, out => \$out, err => \$err, c => $c };
}
$_->{h}->finish for @pushers;
my $out_all = join '', map { ${ $_->{out} } } @pushers;
is(scalar(() = $out_all =~ /^cancel\|t$/mg), 50, 'the scheduler was sent 50 cancels');
is(scalar(() = $out_all =~ /^ack\|\d+\|\d+\|t$/mg), 800, 'every push was acknowledged');
is(join('', map { ${ $_->{err} } } @pushers), '', 'no push failed');
is( $primary->safe_psql(
		'postgres', 'SELECT count(*), min(val), max(val) FROM cs WHERE key < 1000'),
	'1000|800|800', 'every shared key holds exactly 800');
is( $primary->safe_psql(
		'postgres', 'SELECT count(*), min(val), max(val) FROM cs WHERE key >= 1000000'),
	'800|1|1', 'every own key exactly 1');
my ($spid2, $pushes3, $failed3) = scheduler_counters($primary);
is($spid2, $spid, 'the scheduler was not restarted (same pid)');
is($failed3 - $failed2, 0, 'the scheduler failed no push');
is($pushes3 - $pushes2, 800, 'the scheduler applied the 800 pushes');
ok( !$primary->log_contains(
		qr/ps scheduler.*(exited|terminated)|canceling statement/, $log_offset),
	'the log shows no cancelled statement and no exit of the scheduler');

$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres', 'SELECT count(*), sum(val) FROM cs'),
	'1800|800800', 'the standby has the same sums');
ok(!$standby->log_contains(qr/PANIC|invalid pages|inconsistent page|terminated by signal/),
	'the standby is still fine');
$standby->stop;
$primary->stop;

# ---------------------------------------------------------------------------
# 3. A write that fails half-way says how much it wrote
# ---------------------------------------------------------------------------

my $limit_kb = 48 * 1024;             # ulimit -f counts 1024-byte blocks
my $limit_blocks = $limit_kb / 8;     # 8 kB pages a file may hold
my $node = PostgreSQL::Test::Cluster->new('fsize');
$node->init;
# one applier: (e) stops it to have two pushes aggregated in one round
$node->append_conf('postgresql.conf',
	"shared_preload_libraries = 'ps'\nps.scheduler_workers = 1\nps.scheduler = always\n");

# $node->start cannot take a limit: start the postmaster as it would, under
# ulimit -f, and tell the node object it runs (_update_pid, as start does),
# so that $node->stop and the framework's cleanup stop it.  WAL segments
# (16 MB) stay below the limit.
PostgreSQL::Test::Utils::system_or_bail(
	'bash', '-c',
	'ulimit -f "$1" && exec pg_ctl -w -D "$2" -l "$3" -o "--cluster-name=$4" start',
	'bash', $limit_kb, $node->data_dir, $node->logfile, $node->name);
$node->_update_pid(1);
my ($pm) = split /\n/, slurp_file($node->data_dir . '/postmaster.pid');
like(slurp_file("/proc/$pm/limits"), qr/^Max file size\s+50331648\s+50331648\s+bytes/m,
	'the postmaster runs with a 48 MB file size limit');

# dim 64: 31 keys a dense leaf.  Keys 0 .. $next - 1, each holding 64 ones.
$node->safe_psql(
	'postgres', q{
CREATE EXTENSION ps;
CREATE TABLE f (key bigint, val real[] CHECK (cardinality(val) = 64)) USING ps;
});
my $next = 0;
sub nblocks
{
	return $node->safe_psql('postgres', "SELECT pg_relation_size('f') / 8192");
}
# Fill in key order (full dense leaves) until 15 to 25 pages are left.
while ((my $room = $limit_blocks - nblocks()) > 25)
{
	my $leaves = $room - 20 > 1000 ? 1000 : $room - 20;
	$node->safe_psql('postgres',
		"SET ps.scheduler = off; SELECT ps_push_range('f', $next, array_fill(1::real, ARRAY[31 * $leaves * 64]))");
	$next += 31 * $leaves;
}
my $filled = $limit_blocks - nblocks();
ok($filled >= 15 && $filled <= 25, "f is filled to $filled pages below the limit ($next keys)");

# Push keys: @old (stored, holding 1) then @new (never written), 1 to each
# element.  Returns the psql stderr (VERBOSITY verbose).
sub push_keys
{
	my ($scheduler, $old, $new) = @_;
	my $keys = "array_cat(ARRAY(SELECT generate_series($old->[0], $old->[1])::bigint), "
	  . "ARRAY(SELECT generate_series($new->[0], $new->[1])::bigint))";
	my $m = ($old->[1] - $old->[0] + 1) + ($new->[1] - $new->[0] + 1);
	my ($out, $err) = ('', '');
	$node->psql(
		'postgres',
		"\\set VERBOSITY verbose\nSET ps.scheduler = " . ($scheduler ? 'always' : 'off') . ";\n"
		  . "SELECT ps_push('f', $keys, array_fill(1::real, ARRAY[$m * 64]));",
		stdout => \$out,
		stderr => \$err);
	return $err;
}

# What the pushed keys hold now: how many have their new value (old keys
# 2, new keys 1), how many their value before (1, or 0: never written),
# and whether the new values are exactly the first keys in key order.
sub outcome
{
	my ($old, $new) = @_;
	my $nold = $old->[1] - $old->[0] + 1;
	return $node->safe_psql(
		'postgres', qq{
WITH k(keys) AS (
  SELECT array_cat(ARRAY(SELECT generate_series($old->[0], $old->[1])::bigint),
                   ARRAY(SELECT generate_series($new->[0], $new->[1])::bigint))),
v AS (
  SELECT (o - 1) / 64 AS i, min(x) AS lo, max(x) AS hi
  FROM k, unnest(ps_pull('f', k.keys)) WITH ORDINALITY AS u(x, o) GROUP BY 1),
c AS (
  SELECT i, lo = hi AND lo = CASE WHEN i < $nold THEN 2 ELSE 1 END AS is_new,
         lo = hi AND lo = CASE WHEN i < $nold THEN 1 ELSE 0 END AS is_old
  FROM v)
SELECT count(*) FILTER (WHERE is_new), count(*) FILTER (WHERE is_old),
       coalesce(max(i) FILTER (WHERE is_new), -1) < coalesce(min(i) FILTER (WHERE is_old), count(*))
FROM c});
}

my $partly = qr/^DETAIL:  The push is partly applied: (\d+) of its (\d+) keys were written before the error and keep their new values\.$/m;
my $extend = qr/^(?:psql:\S+ )?ERROR:  \w{5}: could not extend file "[^"]+": File too large$/m;

# (a) Through the scheduler (813 kB, well under a quarter of the queue):
# 80 stored keys, then 3000 new ones needing about 97 new leaves, more
# than there is room for: the write stops at the first split that cannot
# extend the file.
my (undef, undef, $sfailed0) = scheduler_counters($node);
my @old_a = (0, 79);
my @new_a = (1_000_000_000_000, 1_000_000_002_999);
my $err = push_keys(1, \@old_a, \@new_a);
like($err, $extend, 'a push through the scheduler fails extending the file');
like($err, $partly, 'it says it is partly applied');
like($err, qr/^HINT:  Check free disk space\.$/m, "with the extension error's hint");
my ($n_a, $m_a) = $err =~ $partly;
$n_a //= -1;
is($m_a, 3080, 'of its 3080 keys');
cmp_ok($n_a, '>', 80, "$n_a keys were written: the 80 stored ones and the new ones that found room");
is(outcome(\@old_a, \@new_a), "$n_a|" . (3080 - $n_a) . '|t',
	"exactly those $n_a keys hold their new values, the first in key order; the rest read as before");
my (undef, undef, $sfailed1) = scheduler_counters($node);
is($sfailed1 - $sfailed0, 1, 'the scheduler failed the push');
is(nblocks(), $limit_blocks, 'the file is at the limit');

# (b) Applied by the backend: the file is full, so only the 80 stored keys
# are written (the batch flushed before the first split).
my @old_b = (100_000, 100_079);
my @new_b = (2_000_000_000_000, 2_000_000_002_999);
$err = push_keys(0, \@old_b, \@new_b);
like($err, $extend, 'a push applied by the backend fails extending the file');
like($err, qr/^DETAIL:  The push is partly applied: 80 of its 3080 keys were written before the error and keep their new values\.$/m,
	'it says 80 of its 3080 keys were written');
is(outcome(\@old_b, \@new_b), '80|3000|t',
	'exactly the 80 stored keys hold their new values; the 3000 new ones read as zeros');
my (undef, undef, $sfailed2) = scheduler_counters($node);
is($sfailed2, $sfailed1, 'the scheduler did not take it');

# (c) New keys only: the first split fails, nothing was written, and the
# error says nothing of a partial write.
my $count = $node->safe_psql('postgres', 'SELECT count(*) FROM f');
is($count, $next + $n_a - 80, 'f holds the filled keys and the new keys written in (a)');
for my $scheduler (1, 0)
{
	my $via = $scheduler ? 'through the scheduler' : 'applied by the backend';
	my @none = (3_000_000_000_000 + $scheduler * 1000, 3_000_000_000_099 + $scheduler * 1000);
	$err = push_keys($scheduler, [ 1, 0 ], \@none);
	like($err, $extend, "a push of new keys only fails $via");
	unlike($err, qr/partly applied/, 'without saying it is partly applied');
	is( $node->safe_psql('postgres',
			"SELECT count(*) FROM f WHERE key BETWEEN $none[0] AND $none[1]"),
		'0', 'and it wrote nothing');
}
is($node->safe_psql('postgres', 'SELECT count(*) FROM f'), $count, 'f holds the same keys');
my (undef, undef, $sfailed3) = scheduler_counters($node);
is($sfailed3 - $sfailed2, 1, 'the scheduler failed the push it took');

# (e) Two pushes aggregated in one scheduler round, the file still full:
# X pushes 10 stored keys, Y 80 stored keys and 3000 new ones.  The
# aggregate's first batch (all 90 stored keys, below the new ones) is
# written, then the split for Y's new keys fails.  X's keys were all
# written: X is applied and acknowledged.  Y is told about its own keys:
# 80 of its 3080, and that it was aggregated with another push.
my ($agg_sched) = scheduler_counters($node);
kill 'STOP', $agg_sched;
my $kx = 'ARRAY(SELECT generate_series(50000, 50009)::bigint)';
my $ky = 'array_cat(ARRAY(SELECT generate_series(60000, 60079)::bigint), '
  . 'ARRAY(SELECT generate_series(4000000000000, 4000000002999)::bigint))';
my $x = start_client($node, 'agg_x',
	"SELECT ps_push('f', $kx, array_fill(1::real, ARRAY[10 * 64])) > 0");
my $y = start_client($node, 'agg_y',
	"SELECT ps_push('f', $ky, array_fill(1::real, ARRAY[3080 * 64])) > 0");
$node->poll_query_until('postgres',
	"SELECT count(*) = 2 FROM pg_stat_activity WHERE application_name IN ('agg_x', 'agg_y')"
	  . " AND wait_event_type = 'Extension'")
  or die 'the two pushes do not wait for the scheduler';
kill 'CONT', $agg_sched;
$x->{h}->finish;
$y->{h}->finish;
is(${ $x->{out} }, "t\n", 'the push whose keys were all written is acknowledged');
is(${ $x->{err} }, '', 'without an error');
like(${ $y->{err} }, $extend, 'the other fails extending the file');
like(${ $y->{err} },
	qr/^DETAIL:  The push is partly applied: 80 of its 3080 keys were written before the error and keep their new values \(it was aggregated with 1 other push\)\.$/m,
	'saying how many of its own keys were written, and that it was aggregated');
is( $node->safe_psql(
		'postgres', "SELECT count(*) FILTER (WHERE x = 2) FROM unnest(ps_pull('f', $kx || $ky)) AS x"),
	90 * 64, "X's 10 keys and Y's 80 stored keys hold their new values");
is( $node->safe_psql(
		'postgres', 'SELECT count(*) FROM f WHERE key >= 4000000000000'),
	'0', "Y's new keys were not written");

# (d) Keys already stored need no new page: pushes to them work, both ways.
$node->safe_psql('postgres',
	"SELECT ps_push('f', ARRAY(SELECT generate_series(0, 79)::bigint), array_fill(1::real, ARRAY[80 * 64]))");
$node->safe_psql('postgres',
	"SET ps.scheduler = off; SELECT ps_push('f', ARRAY(SELECT generate_series(100000, 100079)::bigint), array_fill(1::real, ARRAY[80 * 64]))");
is( $node->safe_psql(
		'postgres', q{SELECT count(*), min(x), max(x)
  FROM unnest(ps_pull('f', ARRAY(SELECT generate_series(0, 79)::bigint)
                        || ARRAY(SELECT generate_series(100000, 100079)::bigint))) AS x}),
	'10240|3|3', 'after the failures, pushes to stored keys work, through the scheduler and not');

# (f) Range pushes (only values travel through the queue; the store makes
# the keys in chunks), each alone: over the last stored keys and on into
# new keys.  The filled leaves hold exactly 31 keys each, and the new keys
# go to the last of them, which must split, with no room to: the keys of
# the leaves before it are written (50 - 31 = 19 of the first range, 100 -
# 31 = 69 of the second), the last leaf's are not, through the scheduler
# and applied by the backend alike, and the error says so.
for my $case ([ 1, $next - 50, 3050, 19 ], [ 0, $next - 100, 3100, 69 ])
{
	my ($scheduler, $first, $n, $stored) = @$case;
	my $via = $scheduler ? 'through the scheduler' : 'applied by the backend';
	my ($out, $rerr) = ('', '');
	$node->psql(
		'postgres',
		"\\set VERBOSITY verbose\nSET ps.scheduler = " . ($scheduler ? 'always' : 'off') . ";\n"
		  . "SELECT ps_push_range('f', $first, array_fill(1::real, ARRAY[$n * 64]));",
		stdout => \$out,
		stderr => \$rerr);
	like($rerr, $extend, "a range push $via fails extending the file");
	like($rerr, qr/^DETAIL:  The push is partly applied: $stored of its $n keys were written before the error and keep their new values\.$/m,
		"it says $stored of its $n keys were written");
}
is( $node->safe_psql(
		'postgres', qq{SELECT count(*) FILTER (WHERE k < $next - 50 AND x = 2),
       count(*) FILTER (WHERE k >= $next - 50 AND k < $next - 31 AND x = 3),
       count(*) FILTER (WHERE k >= $next - 31 AND x = 1)
  FROM generate_series($next - 100, $next - 1) k, unnest(ps_pull('f', ARRAY[k])) AS x}),
	(50 * 64) . '|' . (19 * 64) . '|' . (31 * 64),
	'the keys written hold their new values (one push or two), the last leaf\'s their old ones');
is($node->safe_psql('postgres', "SELECT count(*) FROM f WHERE key >= $next AND key < $next + 3100"),
	'0', 'and no new key was written');
my (undef, undef, $sfailed4) = scheduler_counters($node);
is($sfailed4 - $sfailed3, 2, 'the scheduler failed two more pushes: Y, and the range');
is($node->safe_psql('postgres', "SELECT ps_check('f')"), $count, 'ps_check passes on f');

$node->stop;
done_testing();
