# Copyright: the ps authors.  Licensed like the rest of ps.
#
# 016_appliers.pl: the scheduler as a pool of appliers
# (ps.scheduler_workers = 3).  008_scheduler.pl terminates and kills
# appliers of such a pool while clients push; this test makes the rest
# deterministic, freezing one applier inside an apply with gdb.
#
#   - Parallel: while applier 1 is frozen in the apply of a push to table
#     a, the other appliers apply pushes to table b and a second push to a
#     (another group of the same table).
#   - ps_wait on a for that second push's task timestamp waits for the
#     frozen push, whose timestamp is lower, and returns once it is applied.
#   - An applier is terminated and restarts while another applies: its
#     restart fails only the pushes it had taken itself; the frozen push is
#     applied and acknowledged, once.
#   - With applier 1 frozen and the other two stopped (SIGSTOP), a queued
#     push is cancelled: 57014, "taken out of the queue and not applied",
#     and it is not applied when the appliers run again.
#   - ps_scheduler() counts per applier: more than one applied pushes, and
#     the pool's sums match the pushes made.
#   - Large groups are split by key ranges across idle appliers: two
#     pushes of 30000 keys queued while the appliers are stopped are one
#     aggregate applied in several parts, with exact sums.  A part that
#     fails (an overflow at the top key) fails the pushes with keys in it,
#     each told how many of its keys were written, and exactly that many
#     hold their new values.  Appliers terminated in turn while two clients
#     push such groups: acknowledged pushes applied exactly once, failed
#     ones at most once.
#   - A failing aggregate fails only its pushes: one client's pushes that
#     overflow a value of table bad fail, while two clients pushing to
#     table good through the same pool have every push acknowledged and
#     exact sums.
#   - ps.scheduler = auto (the default): a push is queued only if it can be
#     aggregated there (the gather window holds it, or a push of its table
#     and clock waits in the queue); otherwise its backend applies it, and
#     row 0 of ps_scheduler() counts it.  The gather tests below run under
#     auto, and so do four clients pushing to one table at once: some of
#     their pushes applied by their backends, some queued and aggregated,
#     every one exactly once.
#   - The gather window: under sequential consistency a worker's push of
#     clock 0 is held back while the table's other worker has not pushed
#     at that clock, and both are applied as one aggregate when it does
#     (gather_waits counts it); held back at most ps.gather_window when the
#     other never pushes; never under eventual consistency.
#
# The gdb part needs gdb on x86-64 and the right to attach to the server's
# processes; without them it fails, saying why; it is never skipped.
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

my $tmp = PostgreSQL::Test::Utils::tempdir;

my $node = PostgreSQL::Test::Cluster->new('appliers');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'ps'
max_connections = 30
ps.scheduler_workers = 3
ps.scheduler = always
ps.gather_window = 0
ps.time_mark_interval = -1
});
$node->start;
$node->safe_psql(
	'postgres', q{
CREATE EXTENSION ps;
CREATE TABLE a (key bigint, val real) USING ps;
CREATE TABLE b (key bigint, val real) USING ps;
SELECT ps_push('a', ARRAY(SELECT generate_series(1, 10)::bigint), array_fill(0::real, ARRAY[10]));
});

# applier number => pid
sub applier_pids
{
	return map { split /\|/ } split /\n/,
	  $node->safe_psql('postgres', 'SELECT applier, pid FROM ps_scheduler() WHERE applier > 0 ORDER BY applier');
}

# applier number => pushes, and the pool's sums of pushes and failed
sub applier_pushes
{
	return map { split /\|/ } split /\n/,
	  $node->safe_psql('postgres', 'SELECT applier, pushes FROM ps_scheduler() WHERE applier > 0 ORDER BY applier');
}

sub pool_sums
{
	return split /\|/,
	  $node->safe_psql('postgres', 'SELECT sum(pushes), sum(failed), sum(gather_waits) FROM ps_scheduler()');
}

sub waits_in_extension
{
	my ($appname) = @_;
	return $node->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM pg_stat_activity WHERE application_name = '$appname' AND wait_event = 'Extension'"
	);
}

my %pid = applier_pids();
is(scalar(grep { defined $pid{$_} && $pid{$_} =~ /^\d+$/ } 1 .. 3), 3, 'three appliers run');
my %pushes0 = applier_pushes();
my ($sum0, $failed0) = pool_sums();

my $gdb_ok = eval {
	my $arch = `uname -m`;
	chomp $arch;
	die "the gdb part needs x86-64, this machine is $arch\n" unless $arch eq 'x86_64';
	my %f = map { $_ => "$tmp/$_" } qw(armed go stopped release);

	# Applier 1 alone can take the next push: 2 and 3 are stopped, and
	# applier 1 stops in ps_store_write, inside the apply, before writing.
	kill 'STOP', $pid{2}, $pid{3};
	my $gdb = start_gdb(
		'applier1', $pid{1}, join("\n",
			'break ps_store_write',
			"shell touch '$f{armed}'",
			PsGdb::gdb_wait_for($f{go}),
			'continue',
			"shell touch '$f{stopped}'",
			'bt 6',
			PsGdb::gdb_wait_for($f{release})),
		$f{go}, $f{release});
	wait_for_file($f{armed}, 'gdb attached to applier 1', $gdb);
	my $a1 = start_client($node, 'a1',
		"SELECT ps_push('a', ARRAY(SELECT generate_series(1, 10)::bigint), array_fill(1::real, ARRAY[10]))");
	touch($f{go});
	wait_for_file($f{stopped}, 'applier 1 stopping in ps_store_write', $gdb);
	ok(gdb_printed($gdb, qr/Breakpoint 1, ps_store_write .*\n#1 [^\n]*\b(?:write|apply)_group \(/s),
		'applier 1 took the push to a and is frozen inside its apply')
	  or diag ${ $gdb->{out} };
	kill 'CONT', $pid{2}, $pid{3};

	# The other appliers go on: another table, and another group of a.
	is($node->safe_psql('postgres', "SELECT ps_push('b', '{1,2,3}', '{1,2,3}') > 0"),
		't', 'a push to b is applied while applier 1 is frozen');
	my $ts2 = $node->safe_psql('postgres',
		"SELECT ps_push('a', ARRAY(SELECT generate_series(1, 10)::bigint), array_fill(2::real, ARRAY[10]))");
	like($ts2, qr/^\d+$/, 'so is a second push to a, as a group of its own');
	is($node->safe_psql('postgres', "SELECT ps_pull('a', '{1,10}')"), '{2,2}',
		'a holds the second push, not yet the frozen one');
	ok($a1->{h}->pumpable, 'the frozen push has not returned');

	# ps_wait for the second push's timestamp waits for the frozen push.
	my $w = start_client($node, 'waiter', "SELECT ps_wait('a', $ts2)");
	ok(waits_in_extension('waiter'), "ps_wait('a', $ts2) waits");

	# Applier 2 is terminated and restarts: its restart fails what it had
	# taken (nothing), not the push applier 1 is applying.
	$node->safe_psql('postgres', "SELECT pg_terminate_backend($pid{2})");
	ok( $node->poll_query_until('postgres',
			"SELECT pid IS NOT NULL AND pid <> $pid{2} FROM ps_scheduler() WHERE applier = 2"),
		'applier 2 is back after being terminated');
	my %now = applier_pids();
	ok($a1->{h}->pumpable, 'the frozen push is still being applied');

	# Nothing can take a push now: a queued push is cancelled.
	kill 'STOP', $now{2}, $now{3};
	my $c = start_client($node, 'queued', "SELECT ps_push('a', '{100}', '{5}')");
	ok(waits_in_extension('queued'), 'a push waits in the queue of the stopped appliers');
	$node->safe_psql('postgres',
		"SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'queued'");
	$c->{h}->finish;
	like(
		${ $c->{err} },
		qr/ERROR:  57014: canceling statement due to user request\nDETAIL:  The push \(task timestamp \d+\) was taken out of the queue and not applied\./,
		'the cancelled push says it was taken out of the queue and not applied');
	kill 'CONT', $now{2}, $now{3};
	ok($w->{h}->pumpable, 'ps_wait still waits for the frozen push');

	# Release applier 1: the frozen push is applied and acknowledged.
	touch($f{release});
	release_gdb($gdb);
	$a1->{h}->finish;
	like(${ $a1->{out} }, qr/^\d+$/, 'the frozen push is acknowledged once applier 1 goes on');
	is(${ $a1->{err} }, '', 'without an error');
	$w->{h}->finish;
	is(${ $w->{err} }, '', 'and ps_wait returns');
	is(proc_state($pid{1}) ne 'gone', 1, 'applier 1 is the same process');
	1;
};
my $gdb_error = $@;
release_everything();
note_gdb_sessions();
ok($gdb_ok, 'the gdb part ran to its end') or diag $gdb_error;

is($node->safe_psql('postgres', "SELECT ps_pull('a', '{1,5,10,100}'), ps_pull('b', '{1,2,3}')"),
	'{3,3,3,0}|{1,2,3}', 'every push applied exactly once, the cancelled one not at all');
my ($sum1, $failed1) = pool_sums();
is($sum1 - $sum0, 3, 'the pool applied the three pushes');
is($failed1 - $failed0, 0, 'and failed none');
my %pushes1 = applier_pushes();
my @busy = grep { $pushes1{$_} > $pushes0{$_} } 1 .. 3;
cmp_ok(scalar(@busy), '>=', 2, 'more than one applier applied them (appliers ' . join(',', @busy) . ')');
is($node->safe_psql('postgres', "SELECT ps_check('a') > 0 AND ps_check('b') > 0"), 't', 'ps_check passes');

# --- large groups are split across appliers -----------------------------------

# With every applier stopped, two pushes of 30000 keys each wait in the
# queue; released, the applier that takes them splits the group by key
# ranges, and idle appliers apply the other parts.
sub stopped_pushes
{
	my ($tbl, @sql) = @_;
	my %p = applier_pids();
	kill 'STOP', values %p;
	my @c;
	for my $i (0 .. $#sql)
	{
		push @c, start_client($node, "split$i", $sql[$i]);
		ok(waits_in_extension("split$i"), "push $i to $tbl waits in the queue of the stopped appliers");
	}
	kill 'CONT', values %p;
	$_->{h}->finish for @c;
	return @c;
}

sub split_counts
{
	return split /\|/, $node->safe_psql('postgres',
		'SELECT sum(aggregates), sum(pushes), sum(split_parts), sum(failed) FROM ps_scheduler()');
}

$node->safe_psql('postgres', 'CREATE TABLE s (key bigint, val real) USING ps');
my @k0 = split_counts();
my @c = stopped_pushes('s',
	"SELECT ps_push('s', ARRAY(SELECT generate_series(0, 29999)::bigint), array_fill(1::real, ARRAY[30000])) > 0",
	"SELECT ps_push('s', ARRAY(SELECT generate_series(10000, 39999)::bigint), array_fill(1::real, ARRAY[30000])) > 0");
is(join(',', map { ${ $_->{out} } =~ s/\n//r } @c), 't,t', 'both pushes are acknowledged');
my @k1 = split_counts();
is($k1[0] - $k0[0], 1, 'as one aggregate');
is($k1[1] - $k0[1], 2, 'of two pushes');
cmp_ok($k1[2] - $k0[2], '>=', 2, 'applied in ' . ($k1[2] - $k0[2]) . ' parts by several appliers');
is($node->safe_psql('postgres',
		"SELECT count(*), sum(val), min(val) FILTER (WHERE key BETWEEN 10000 AND 29999), max(val) FILTER (WHERE key < 10000 OR key >= 30000) FROM s"),
	'40000|60000|2|1', 'every key holds the exact sum');

# A part that fails: key 39999 holds 3e38 and the second push adds 3e38
# more.  Each push is told how many of its keys were written, and exactly
# that many hold their new values.
$node->safe_psql('postgres', q{
CREATE TABLE sf (key bigint, val real) USING ps;
SELECT ps_push('sf', '{39999}', '{3e38}');
});
@k0 = split_counts();
@c = stopped_pushes('sf',
	"SELECT ps_push('sf', ARRAY(SELECT generate_series(0, 29999)::bigint), array_fill(1::real, ARRAY[30000])) > 0",
	"SELECT ps_push('sf', ARRAY(SELECT generate_series(20000, 39999)::bigint), array_append(array_fill(1::real, ARRAY[19999]), 3e38::real)) > 0");
@k1 = split_counts();
cmp_ok($k1[2] - $k0[2], '>=', 2, 'the group was split (' . ($k1[2] - $k0[2]) . ' parts)');
like(${ $c[1]{err} }, qr/ERROR:  22003: push overflows a value of ps table "sf"\nDETAIL:  The push is partly applied: (\d+) of its 20000 keys were written before the error and keep their new values \(it was aggregated with 1 other push\)\./,
	'the push that overflows fails, saying how much of it was written');
my ($n_b) = ${ $c[1]{err} } =~ /partly applied: (\d+) of/;
is($node->safe_psql('postgres', "SELECT count(*) FROM sf WHERE key BETWEEN 20000 AND 39999 AND val BETWEEN 1 AND 2"),
	$n_b // -1, "exactly $n_b of its keys hold their new values");
my $a_written = $node->safe_psql('postgres', "SELECT count(*) FROM sf WHERE key BETWEEN 0 AND 29999 AND val >= 1");
if (${ $c[0]{out} } eq "t\n")
{
	is($a_written, 30000, 'the other push is acknowledged, and all its keys were written');
}
else
{
	my ($n_a) = ${ $c[0]{err} } =~ /partly applied: (\d+) of its 30000 keys/;
	is($a_written, $n_a // -1, "the other push fails, saying $n_a of its keys were written, as they were");
}
is($node->safe_psql('postgres', "SELECT val FROM sf WHERE key = 39999"), '3e+38', 'the overflowing key is unchanged');
is($node->safe_psql('postgres', "SELECT ps_check('s') > 0 AND ps_check('sf') > 0"), 't', 'ps_check passes');

# Appliers are terminated in turn while two clients push groups large
# enough to be split: every acknowledged push is applied exactly once, a
# failed one at most once.
$node->safe_psql('postgres', q{
CREATE TABLE st (key bigint, val real) USING ps;
CREATE FUNCTION skeys(c int, p int) RETURNS bigint[] LANGUAGE sql IMMUTABLE
AS $$ SELECT array_append(ARRAY(SELECT generate_series(0, 19999)::bigint), c * 1000000 + p) $$;
});
my @pushers;
for my $c (1, 2)
{
	my $script = "$tmp/split$c.sql";
	open(my $fh, '>', $script) or die "cannot write $script: $!";
	print $fh "SELECT 'ack', $_, ps_push('st', skeys($c, $_), array_fill(1::real, ARRAY[20001])) IS NOT NULL;\n"
	  for 1 .. 150;
	close $fh;
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start([ 'psql', '-XAtq', '-d', $node->connstr('postgres'), '-f', $script ],
		'<', \undef, '>', \$out, '2>', \$err);
	push @pushers, { h => $h, out => \$out, err => \$err, c => $c };
}
for my $applier (1 .. 3)
{
	usleep(250_000);
	my %p = applier_pids();
	$node->safe_psql('postgres', "SELECT pg_terminate_backend($p{$applier})");
	ok($node->poll_query_until('postgres',
			"SELECT pid IS NOT NULL AND pid <> $p{$applier} FROM ps_scheduler() WHERE applier = $applier"),
		"applier $applier is back after being terminated");
}
$_->{h}->finish for @pushers;
my %val = map { split /\|/ } split /\n/,
  $node->safe_psql('postgres', 'SELECT key, val FROM st WHERE key >= 1000000');
my ($acked, $once, $atmost) = (0, 1, 1);
for my $pu (@pushers)
{
	my %ack = map { $_ => 1 } ${ $pu->{out} } =~ /^ack\|(\d+)\|t$/mg;
	$acked += scalar(keys %ack);
	for my $p (1 .. 150)
	{
		my $v = $val{ $pu->{c} * 1000000 + $p } // 0;
		$once = 0 if $ack{$p} && $v != 1;
		$atmost = 0 if $v > 1;
	}
}
ok($once, "every acknowledged push is applied exactly once ($acked acknowledged)");
ok($atmost, 'no push is applied twice');
my ($smin, $smax) = split /\|/, $node->safe_psql('postgres', 'SELECT min(val), max(val) FROM st WHERE key < 20000');
cmp_ok($smin, '>=', $acked, "the shared keys count every acknowledged push ($smin)");
cmp_ok($smax, '<=', 300, 'and no push twice');
my @other = grep { !/scheduler exited while applying|may be partly applied|partly applied|^\s*$|CONTEXT|^psql/ }
  split /\n/, join '', map { ${ $_->{err} } } @pushers;
is(scalar(@other), 0, 'the only errors are pushes an applier was applying when stopped')
  or diag join "\n", @other;
cmp_ok($node->safe_psql('postgres', 'SELECT sum(split_parts) FROM ps_scheduler()'), '>', $k1[2],
	'the pushes were applied in parts');
is($node->safe_psql('postgres', "SELECT ps_check('st') > 0"), 't', 'ps_check passes');

# --- a failing aggregate fails only its pushes -------------------------------

$node->safe_psql('postgres', q{
CREATE TABLE good (key bigint, val real) USING ps;
CREATE TABLE bad (key bigint, val real) USING ps;
SELECT ps_push('bad', '{1}', '{3e38}');
});
my @runs;
for my $c (1 .. 3)
{
	my $sql = join '', map {
		$c == 3
		  ? "SELECT 'bad', ps_push('bad', '{1,2}', '{3e38,1}') > 0;\n"
		  : "SELECT 'ack', ps_push('good', ARRAY[0, $c * 1000 + $_]::bigint[], '{1,1}') > 0;\n"
	} 1 .. 150;
	my $script = "$tmp/overflow$c.sql";
	open(my $fh, '>', $script) or die "cannot write $script: $!";
	print $fh $sql;
	close $fh;
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start([ 'psql', '-XAtq', '-d', $node->connstr('postgres'), '-f', $script ],
		'<', \undef, '>', \$out, '2>', \$err);
	push @runs, { h => $h, out => \$out, err => \$err };
}
$_->{h}->finish for @runs;
for my $c (1, 2)
{
	is(scalar(() = ${ $runs[ $c - 1 ]{out} } =~ /^ack\|t$/mg), 150,
		"client $c: its 150 pushes to good are acknowledged");
	is(${ $runs[ $c - 1 ]{err} }, '', "client $c: without an error");
}
is(scalar(() = ${ $runs[2]{err} } =~ /ERROR:  push overflows a value of ps table "bad"/g), 150,
	'client 3: each of its 150 pushes to bad fails with the overflow');
is($node->safe_psql('postgres', "SELECT ps_pull('good', '{0,1001,1150,2001,2150}'), ps_pull('bad', '{1,2}')"),
	'{300,1,1,1,1}|{3e+38,0}', 'good holds every push exactly; bad is unchanged');

# --- the gather window ---------------------------------------------------------

$node->safe_psql('postgres', q{
ALTER SYSTEM SET ps.gather_window = '5s';
SELECT pg_reload_conf();
CREATE TABLE g (key bigint, val real) USING ps;
SELECT ps_configure('g', consistency => 'sequential');
CREATE TABLE ge (key bigint, val real) USING ps;
SELECT ps_configure('ge', consistency => 'eventual');
});
ok($node->poll_query_until('postgres', "SELECT current_setting('ps.gather_window') = '5s'"),
	'ps.gather_window is 5s');
my ($g1, $g2) = split /\n/, $node->safe_psql('postgres', "SELECT ps_join('g'); SELECT ps_join('g')");
my (undef, undef, $waits0) = pool_sums();
my ($aggs0) = $node->safe_psql('postgres', 'SELECT sum(aggregates) FROM ps_scheduler()');
# These pushes run with ps.scheduler = auto, the default: a push goes to
# the queue only if it can be aggregated there.
my $auto = 'SET ps.scheduler = auto;';
my $first = start_client($node, 'gather1', "$auto SELECT ps_push('g', '{1,2}', '{1,1}', $g1, 0) > 0");
ok(waits_in_extension('gather1'), "worker ${g1}'s push of clock 0 is held back");
usleep(300_000);
ok($first->{h}->pumpable, '... while worker ' . $g2 . ' has not pushed at clock 0');
is($node->safe_psql('postgres', "$auto SELECT ps_push('g', '{2,3}', '{1,1}', $g2, 0) > 0"), 't',
	"worker $g2 pushes at clock 0");
$first->{h}->finish;
is(${ $first->{out} } . ${ $first->{err} }, "t\n", "and worker ${g1}'s push returns, acknowledged");
my ($aggs1) = $node->safe_psql('postgres', 'SELECT sum(aggregates) FROM ps_scheduler()');
my (undef, undef, $waits1) = pool_sums();
is($aggs1 - $aggs0, 1, 'both pushes were applied as one aggregate');
is($waits1 - $waits0, 1, 'gather_waits counts the group held back');
cmp_ok($node->safe_psql('postgres', 'SELECT sum(gather_time) FROM ps_scheduler()'), '>=', 300,
	'gather_time counts the time it was held (ms)');
is($node->safe_psql('postgres', "SELECT ps_pull('g', '{1,2,3}')"), '{1,2,1}', 'the sums are exact');

# Held back at most the window when the other worker never pushes.
$node->safe_psql('postgres', q{ALTER SYSTEM SET ps.gather_window = '400ms'; SELECT pg_reload_conf();});
ok($node->poll_query_until('postgres', "SELECT current_setting('ps.gather_window') = '400ms'"),
	'ps.gather_window is 400ms');
is($node->safe_psql('postgres', "$auto SELECT ps_push('g', '{1}', '{1}', $g1, 1) > 0"), 't',
	"worker ${g1}'s push of clock 1 is applied though worker $g2 never pushes at clock 1");
my (undef, undef, $waits2) = pool_sums();
is($waits2 - $waits1, 1, '... after being held back for the window');

# Never under eventual consistency.
my ($e1) = $node->safe_psql('postgres', "SELECT ps_join('ge')");
$node->safe_psql('postgres', "SELECT ps_join('ge')");
$node->safe_psql('postgres', q{ALTER SYSTEM SET ps.gather_window = '5s'; SELECT pg_reload_conf();});
ok($node->poll_query_until('postgres', "SELECT current_setting('ps.gather_window') = '5s'"),
	'ps.gather_window is 5s again');
my $start = time;
my $direct0 = $node->safe_psql('postgres', 'SELECT pushes FROM ps_scheduler() WHERE applier = 0');
is($node->safe_psql('postgres', "$auto SELECT ps_push('ge', '{1}', '{1}', $e1, 0) > 0"), 't',
	'under eventual consistency a worker pushes at a clock the other has not reached');
my (undef, undef, $waits3) = pool_sums();
is($waits3 - $waits2, 0, '... and is not held back');
cmp_ok(time - $start, '<', 5, '... for the window (it returned sooner)');
is($node->safe_psql('postgres', 'SELECT pushes FROM ps_scheduler() WHERE applier = 0') - $direct0, 1,
	'... nor queued: with nothing to aggregate it with, its backend applied it (row 0 of ps_scheduler())');

# ps.scheduler = auto: a lone plain push is applied by its backend; with
# ps.scheduler = always it goes through the queue.
my %by0 = map { split /\|/ } split /\n/, $node->safe_psql('postgres', 'SELECT applier, pushes FROM ps_scheduler()');
is($node->safe_psql('postgres', "$auto SELECT ps_push('ge', '{5}', '{1}') > 0"), 't', 'a lone push under auto');
is($node->safe_psql('postgres', "SELECT ps_push('ge', '{5}', '{1}') > 0"), 't', 'and one under always');
my %by1 = map { split /\|/ } split /\n/, $node->safe_psql('postgres', 'SELECT applier, pushes FROM ps_scheduler()');
is($by1{0} - $by0{0}, 1, 'the one under auto was applied by its backend');
is((sum0(map { $by1{$_} } 1 .. 3) - sum0(map { $by0{$_} } 1 .. 3)), 1, 'the other by an applier');
is($node->safe_psql('postgres', "SELECT ps_pull('ge', '{1,5}')"), '{1,2}', 'both are applied');

# Under auto, concurrent plain pushes of one table: some applied by their
# backends, some queued behind pushes in flight and aggregated; every one
# exactly once either way.
$node->safe_psql('postgres', 'CREATE TABLE mix (key bigint, val real) USING ps');
my $total0 = $node->safe_psql('postgres', 'SELECT sum(pushes) FROM ps_scheduler()');
my @mixers;
for my $c (1 .. 4)
{
	my $script = "$tmp/mix$c.sql";
	open(my $fh, '>', $script) or die "cannot write $script: $!";
	print $fh "SET ps.scheduler = auto;\n";
	print $fh "SELECT 'ack', ps_push('mix', array_append(ARRAY(SELECT generate_series(0, 999)::bigint), $c * 1000000 + $_), array_fill(1::real, ARRAY[1001])) > 0;\n"
	  for 1 .. 100;
	close $fh;
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start([ 'psql', '-XAtq', '-d', $node->connstr('postgres'), '-f', $script ],
		'<', \undef, '>', \$out, '2>', \$err);
	push @mixers, { h => $h, out => \$out, err => \$err };
}
$_->{h}->finish for @mixers;
is(join(',', map { scalar(() = ${ $_->{out} } =~ /^ack\|t$/mg) } @mixers), '100,100,100,100',
	'under auto, four clients have their 100 pushes each acknowledged');
is($node->safe_psql('postgres',
		'SELECT count(*) FILTER (WHERE key < 1000), min(val) FILTER (WHERE key < 1000), max(val) FILTER (WHERE key < 1000), count(*) FILTER (WHERE key >= 1000000 AND val = 1) FROM mix'),
	'1000|400|400|400', 'every push applied exactly once');
is($node->safe_psql('postgres', 'SELECT sum(pushes) FROM ps_scheduler()') - $total0, 400,
	'ps_scheduler() counts each, by its backend (row 0) or an applier');

sub sum0
{
	my $t = 0;
	$t += $_ for @_;
	return $t;
}

$node->stop;
done_testing();
