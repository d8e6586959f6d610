# Copyright: the ps authors.  Licensed like the rest of ps.
#
# 008_scheduler.pl: the scheduler aggregates concurrent pushes, loses none,
# and applies none twice, also when its appliers are stopped or killed
# mid-queue.  The scheduler runs as a pool of three appliers here.
#
#   - Six clients push at once, each push adding 1 to 1000 keys every push
#     shares and to one key of its own: the sums are exact, and the
#     scheduler served several pushes per apply (ps_scheduler(): fewer
#     aggregates than pushes, fewer keys applied than pushed).
#   - Each of the three appliers is terminated in turn while four clients
#     push (pg_terminate_backend): it is back within seconds, every
#     acknowledged push is applied exactly once, and a push that failed was
#     applied at most once.
#   - An applier is killed with SIGKILL while four clients push (a crash
#     mid-queue: the postmaster restarts every process): after recovery,
#     every acknowledged push is there exactly once, none twice.
#   - A session terminated while its push is queued (every applier stopped
#     with SIGSTOP): the push is not applied, and later sessions (which
#     reuse its backend slot) push as usual.
#   - Range pushes travel as ranges (values only) and a group of one push is
#     applied from the queue without a copy: with the appliers stopped,
#     two ps_push_range (one of 150000 keys, more than two of the store's
#     65536-key chunks, over leaves that exist and leaves that do not) and
#     an explicit push overlapping both wait in the queue of the stopped
#     appliers, with a worker's
#     range push of its own clock; released, they are applied as two
#     aggregates (the three plain pushes together, the worker's alone),
#     every sum is exact, and the worker's range clock covers its range.
#   - ps.scheduler = off: a session's pushes are applied by its backend.
use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $node = PostgreSQL::Test::Cluster->new('scheduler');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'ps'
max_connections = 30
restart_after_crash = on
# Nothing but ps itself flushes WAL before a push is acknowledged (see
# 001_crash.pl): a forgotten flush loses acknowledged pushes in the crash.
wal_writer_delay = '10000ms'
ps.time_mark_interval = -1
ps.scheduler_workers = 3
# every push through the queue (the default, auto, applies a push that
# nothing could be aggregated with in its own backend)
ps.scheduler = always
});
$node->start;
$node->safe_psql(
	'postgres', q{
CREATE EXTENSION ps;
-- the keys of push p of client c: 1000 shared keys, then one of its own
CREATE FUNCTION pkeys(c int, p int) RETURNS bigint[] LANGUAGE sql IMMUTABLE
AS $$ SELECT array_append(ARRAY(SELECT generate_series(0, 999)::bigint),
                          c * 1000000 + p) $$;
CREATE FUNCTION ones(n int) RETURNS real[] LANGUAGE sql IMMUTABLE
AS $$ SELECT array_fill(1::real, ARRAY[n]) $$;
});

# Start nclients psql clients, each running npushes pushes into tbl and
# printing "ack|c|p" for every push acknowledged.
sub start_clients
{
	my ($tbl, $nclients, $npushes, $stop_on_error) = @_;
	my $dir = PostgreSQL::Test::Utils::tempdir;
	my @clients;
	for my $c (1 .. $nclients)
	{
		my $script = "$dir/client$c.sql";
		open(my $fh, '>', $script) or die "cannot write $script: $!";
		for my $p (1 .. $npushes)
		{
			print $fh
			  "SELECT 'ack', $c, $p, ps_push('$tbl', pkeys($c, $p), ones(1001)) IS NOT NULL;\n";
		}
		close $fh;
		my ($out, $err) = ('', '');
		my $h = IPC::Run::start(
			[
				'psql', '-XAtq', '-v', 'ON_ERROR_STOP=' . ($stop_on_error ? 1 : 0),
				'-d', $node->connstr('postgres'), '-f', $script
			],
			'<', \undef, '>', \$out, '2>', \$err);
		push @clients, { h => $h, out => \$out, err => \$err, c => $c };
	}
	return @clients;
}

sub acked
{
	my ($client) = @_;
	my %acked;
	$acked{$1} = 1 while ${ $client->{out} } =~ /^ack\|\d+\|(\d+)\|t$/mg;
	return \%acked;
}

# For every client: acknowledged pushes applied exactly once, the others at
# most once; the shared keys between the two counts.
sub check_pushes
{
	my ($tbl, $what, $npushes, @clients) = @_;
	my ($acked_total, $ok_once, $ok_atmost) = (0, 1, 1);
	my %val = map { split /\|/ } split /\n/,
	  $node->safe_psql('postgres',
		"SELECT key, val FROM $tbl WHERE key >= 1000000");
	for my $cl (@clients)
	{
		my $acked = acked($cl);
		$acked_total += scalar(keys %$acked);
		for my $p (1 .. $npushes)
		{
			my $v = $val{ $cl->{c} * 1000000 + $p } // 0;
			$ok_once = 0 if $acked->{$p} && $v != 1;
			$ok_atmost = 0 if $v > 1;
		}
	}
	ok($ok_once, "$what: every acknowledged push is applied exactly once");
	ok($ok_atmost, "$what: no push is applied twice");
	my ($min, $max) = split /\|/,
	  $node->safe_psql('postgres',
		"SELECT min(val), max(val) FROM $tbl WHERE key < 1000");
	ok($min == $max, "$what: all shared keys have the same value ($min)");
	ok( $min >= $acked_total && $min <= scalar(@clients) * $npushes,
		"$what: shared keys count every acknowledged push ($acked_total <= $min)");
	return $acked_total;
}

# The appliers' pids (comma-separated, by applier), then the pool's sums.
sub counters
{
	return split /\|/,
	  $node->safe_psql('postgres',
		q{SELECT string_agg(coalesce(pid::text, '-'), ',' ORDER BY applier) FILTER (WHERE applier > 0),
		    sum(aggregates), sum(pushes), sum(failed), sum(keys_pushed), sum(keys_applied)
		  FROM ps_scheduler()});
}

sub applier_pids
{
	my ($pids) = counters();
	return split /,/, $pids;
}

# --- aggregation -------------------------------------------------------------

$node->safe_psql('postgres', 'CREATE TABLE agg (key bigint, val real) USING ps');
my (undef, $agg0, $push0, undef, $kp0, $ka0) = counters();
my @clients = start_clients('agg', 6, 150, 1);
$_->{h}->finish for @clients;
for my $cl (@clients)
{
	is(scalar(keys %{ acked($cl) }), 150, "client $cl->{c} had all its pushes acknowledged")
	  or diag ${ $cl->{err} };
}
is( $node->safe_psql('postgres',
		'SELECT count(*), min(val), max(val) FROM agg WHERE key < 1000'),
	'1000|900|900', 'every shared key was pushed 900 times');
is( $node->safe_psql('postgres',
		'SELECT count(*), min(val), max(val) FROM agg WHERE key >= 1000000'),
	'900|1|1', 'every own key once');
my (undef, $agg1, $push1, undef, $kp1, $ka1) = counters();
is($push1 - $push0, 900, 'the scheduler applied the 900 pushes');
cmp_ok($agg1 - $agg0, '<', $push1 - $push0,
	'in fewer applies than pushes: ' . ($agg1 - $agg0) . ' aggregates');
cmp_ok($ka1 - $ka0, '<', $kp1 - $kp0,
	'touching fewer keys than were pushed: ' . ($ka1 - $ka0) . ' of ' . ($kp1 - $kp0));
is($node->safe_psql('postgres', "SELECT ps_check('agg')"), '1900', 'ps_check passes');

# --- appliers are terminated while clients push ------------------------------

$node->safe_psql('postgres', 'CREATE TABLE term (key bigint, val real) USING ps');
my @pids0 = applier_pids();
is(scalar(grep { /^\d+$/ } @pids0), 3, 'three appliers run');
@clients = start_clients('term', 4, 400, 0);
my %seen_pids = map { $_ => 1 } @pids0;
for my $applier (1 .. 3)
{
	usleep(300_000);
	my $pid = (applier_pids())[ $applier - 1 ];
	$node->safe_psql('postgres', "SELECT pg_terminate_backend($pid)");
	ok( $node->poll_query_until(
			'postgres',
			"SELECT pid IS NOT NULL AND pid <> $pid FROM ps_scheduler() WHERE applier = $applier"),
		"applier $applier is back after being terminated");
	$seen_pids{ (applier_pids())[ $applier - 1 ] } = 1;
}
$_->{h}->finish for @clients;
is(scalar(keys %seen_pids), 6, 'six applier processes in all: three, and three restarted');
my $acked = check_pushes('term', 'terminated appliers', 400, @clients);
cmp_ok($acked, '>', 0, "pushes went on around the restarts ($acked acknowledged)");
my $errors = join '', map { ${ $_->{err} } } @clients;
my @other = grep { !/scheduler exited while applying|may be partly applied|^\s*$|CONTEXT|^psql/ }
  split /\n/, $errors;
is(scalar(@other), 0, 'the only errors are pushes the scheduler was applying when stopped')
  or diag $errors;
is($node->safe_psql('postgres', "SELECT ps_check('term') > 0"), 't', 'ps_check passes');

# --- an applier is killed: a crash mid-queue ----------------------------------

$node->safe_psql('postgres', 'CREATE TABLE crash (key bigint, val real) USING ps');
@clients = start_clients('crash', 4, 2000, 1);
my $deadline = time + $PostgreSQL::Test::Utils::timeout_default;
until (scalar(keys %{ acked($clients[0]) }) >= 20)
{
	$_->{h}->pump_nb for @clients;
	die 'clients too slow' if time > $deadline;
	usleep(50_000);
}
my $victim = (applier_pids())[1];
kill 'KILL', $victim;
$_->{h}->finish for @clients;    # they lose their connections
ok( $node->poll_query_until('postgres',
		'SELECT count(pid) = 3 FROM ps_scheduler() WHERE applier > 0'),
	'the server restarted after the crash, with its three appliers');
like($node->safe_psql('postgres', 'SELECT 1'), qr/1/, 'and accepts connections');
$acked = check_pushes('crash', 'killed applier', 2000, @clients);
cmp_ok($acked, '>=', 20, "$acked pushes were acknowledged before the crash");
is($node->safe_psql('postgres', "SELECT ps_check('crash') > 0"), 't', 'ps_check passes');
like(slurp_file($node->logfile), qr/ps scheduler.*was terminated by signal 9/,
	'the log shows the crash');

# --- a session terminated while its push is queued -----------------------------

# With every applier stopped (SIGSTOP), a session's push waits in the
# queue; the session is terminated.  Its push is not applied, and its
# backend slot does not hold up the sessions that come after it.
my @stopped = applier_pids();
kill 'STOP', @stopped;
my ($qout, $qerr) = ('', '');
my $queued = IPC::Run::start(
	[
		'psql', '-XAtq', '-d', $node->connstr('postgres'), '-c',
		"SELECT ps_push('agg', '{-1}', '{1}')"
	],
	'<', \undef, '>', \$qout, '2>', \$qerr);
ok( $node->poll_query_until(
		'postgres', q{SELECT count(*) = 1 FROM pg_stat_activity
		  WHERE query LIKE 'SELECT ps_push(''agg'', ''{-1}''%' AND wait_event = 'Extension'}),
	'a push waits in the queue of the stopped appliers');
$node->safe_psql('postgres', q{SELECT pg_terminate_backend(pid) FROM pg_stat_activity
  WHERE query LIKE 'SELECT ps_push(''agg'', ''{-1}''%'});
$queued->finish;
like($qerr, qr/terminating connection/, 'its session is terminated');
kill 'CONT', @stopped;
my @late;
for my $i (1 .. 4)
{
	my $timed_out = 0;
	my ($ret, $out) = $node->psql('postgres', "SELECT ps_push('agg', '{-2}', '{1}') > 0",
		timeout => 30, timed_out => \$timed_out);
	push @late, $timed_out ? 'timeout' : $out;
}
is(join(',', @late), 't,t,t,t', 'the sessions after it push as usual');
is($node->safe_psql('postgres', "SELECT ps_pull('agg', '{-1,-2}')"), '{0,4}',
	'the terminated push was not applied, the later ones were');

# --- ranges in the queue --------------------------------------------------------

$node->safe_psql('postgres', q{
CREATE TABLE rg (key bigint, val real) USING ps;
SELECT ps_configure('rg', consistency => 'eventual');
SELECT ps_push_range('rg', 140000, array_fill(1::real, ARRAY[20000]));
});
my $rw = $node->safe_psql('postgres', "SELECT ps_join('rg')");
my @sched = applier_pids();
my (undef, $aggs0, $pushes0) = counters();
kill 'STOP', @sched;
my @rq;
for my $sql (
	"SELECT ps_push_range('rg', 0, array_fill(1::real, ARRAY[150000])) > 0",
	"SELECT ps_push('rg', '{5,70000,149999,200000}', '{10,10,10,10}') > 0",
	"SELECT ps_push_range('rg', 100000, array_fill(2::real, ARRAY[100000])) > 0",
	"SELECT ps_push_range('rg', 300000, array_fill(1::real, ARRAY[10]), $rw, 3) > 0")
{
	my ($o, $e) = ('', '');
	my $h = IPC::Run::start([ 'psql', '-XAtq', '-d', $node->connstr('postgres'), '-c', $sql ],
		'<', \undef, '>', \$o, '2>', \$e);
	push @rq, [ $h, \$o, \$e ];
	ok( $node->poll_query_until(
			'postgres', "SELECT count(*) = " . scalar(@rq) . q{ FROM pg_stat_activity
			  WHERE query LIKE 'SELECT ps_push%(''rg''%' AND wait_event = 'Extension'}),
		'push ' . scalar(@rq) . ' waits in the queue of the stopped appliers');
}
kill 'CONT', @sched;
$_->[0]->finish for @rq;
is(join(',', map { ${ $_->[1] } =~ s/\n//r } @rq), 't,t,t,t', 'the four pushes are acknowledged');
is(join('', map { ${ $_->[2] } } @rq), '', 'without an error');
my (undef, $aggs1, $pushes1) = counters();
is($pushes1 - $pushes0, 4, 'the appliers applied the four pushes');
is($aggs1 - $aggs0, 2, 'as two aggregates: the plain pushes together, the worker\'s alone');
is( $node->safe_psql(
		'postgres',
		"SELECT ps_pull('rg', '{0,5,65535,65536,99999,100000,139999,140000,149999,150000,159999,160000,199999,200000,200001,300000,300009,300010}')"
	),
	'{1,11,1,1,1,3,3,4,14,3,3,2,2,10,0,1,1,0}',
	'every key holds the exact sum of the pushes that reached it');
is($node->safe_psql('postgres', 'SELECT count(*), sum(val) FROM rg'), '200011|370050',
	'and no other key changed');
is( $node->safe_psql(
		'postgres', "SELECT lo, hi, clocks FROM ps_clocks('rg') WHERE 300000 BETWEEN lo AND hi"),
	'300000|300009|{3}',
	'the worker\'s clock is set on exactly the range it pushed');
is($node->safe_psql('postgres', "SELECT ps_check('rg') > 0"), 't', 'ps_check passes');

# --- ps.scheduler = off --------------------------------------------------------

my (undef, undef, $before) = counters();
is( $node->safe_psql(
		'postgres', q{
SET ps.scheduler = off;
SELECT ps_push('agg', '{1}', '{1}') > 0, ps_pull('agg', '{1}');
}),
	't|{901}',
	'with ps.scheduler = off the backend applies its push');
my (undef, undef, $after) = counters();
is($after, $before, 'and the scheduler did not');

$node->stop;
done_testing();
