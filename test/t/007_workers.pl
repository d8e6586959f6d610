# Copyright: the ps authors.  Licensed like the rest of ps.
#
# 007_workers.pl: workers of a ps table on a real server, where time
# passes, sessions wait, and the server restarts.
#
#   - With ps.worker_timeout = 2 (ALTER SYSTEM and a reload), two workers
#     train under sequential consistency.  Worker B goes silent; worker A's
#     pull for the next clock waits (pg_stat_activity shows the 'Extension'
#     wait event) and is released when B is dropped, 2 to 3 seconds after
#     B's last call, reading what B pushed.  ps_workers shows B 'dropped';
#     B's next call fails saying it was dropped; B joins again with a new
#     id, starting at A's clock.
#   - A waiting pull can be cancelled (pg_cancel_backend), and the worker
#     is still usable afterwards.
#   - A pull that waits longer than ps.wait_timeout fails with SQLSTATE
#     55P03 and a message naming the worker it waited for, after about
#     ps.wait_timeout.
#   - A server restart forgets all workers: ps_workers is empty and old ids
#     are unknown.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $node = PostgreSQL::Test::Cluster->new('workers');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'ps'
});
$node->start;

$node->safe_psql('postgres', q{
CREATE EXTENSION ps;
CREATE TABLE w (key bigint, val real) USING ps;
SELECT ps_configure('w', consistency => 'sequential');
});

sub workers
{
	return $node->safe_psql('postgres',
		"SELECT string_agg(worker || ':' || state || ':' || clock, ' ' ORDER BY worker) FROM ps_workers('w')");
}

# Set ps.worker_timeout server-wide and wait until new sessions see it.
sub set_worker_timeout
{
	my ($value, $shown) = @_;
	$node->safe_psql('postgres', "ALTER SYSTEM SET ps.worker_timeout = $value");
	$node->safe_psql('postgres', 'SELECT pg_reload_conf()');
	$node->poll_query_until('postgres',
		"SELECT current_setting('ps.worker_timeout') = '$shown'")
	  or die "ps.worker_timeout did not become $shown";
}

# Wait until the backend pid waits on the 'Extension' wait event.
sub waits
{
	my ($pid) = @_;
	return $node->poll_query_until('postgres', qq{
SELECT wait_event_type = 'Extension' AND wait_event = 'Extension'
  FROM pg_stat_activity WHERE pid = $pid});
}

# --- a silent worker is dropped --------------------------------------------

set_worker_timeout(2, '2s');

is($node->safe_psql('postgres', "SELECT ps_join('w'), ps_join('w')"),
	'1|2', 'workers A and B join as 1 and 2');
$node->safe_psql('postgres', "SELECT ps_push('w', '{1}', '{1}', 1, 1)");
my $t0 = time;
# B's last call: a push for clock 1 (B stays at clock 0).
$node->safe_psql('postgres', "SELECT ps_push('w', '{2}', '{10}', 2, 1)");

# A pulls for clock 2, which needs B done with clock 1.
my $a = $node->background_psql('postgres', on_error_stop => 0);
my $a_pid = $a->query_safe('SELECT pg_backend_pid()');
$a->query_until(qr/start\n/, q{\echo start
SELECT 'pulled ' || ps_pull('w', '{1,2}', 1, 2)::text;
});
ok(waits($a_pid), "A's pull for clock 2 waits on the Extension wait event");

my $out = $a->query_until(qr/pulled .*\n/, '');
my $elapsed = time - $t0;
like($out, qr/^pulled \{1,10\}$/m,
	"A's pull is released and reads what B pushed");
cmp_ok($elapsed, '>=', 2, "... not before B was silent for ps.worker_timeout (${elapsed}s)");
cmp_ok($elapsed, '<', 10, '... but within a few seconds');
is(workers(), '1:active:1 2:dropped:0', 'ps_workers shows B dropped');

my ($ret, $stdout, $stderr) = $node->psql('postgres',
	"SELECT ps_push('w', '{2}', '{10}', 2, 2)");
isnt($ret, 0, "B's next call fails");
like($stderr,
	qr/ERROR:  worker 2 of ps table "w" was dropped after more than 2 s without a call/,
	'... saying B was dropped');
like($stderr, qr/HINT:  Call ps_join\('w'\) again for a new worker id\./,
	'... and how to go on');
($ret, $stdout, $stderr) = $node->psql('postgres', "SELECT ps_leave('w', 2)");
like($stderr, qr/worker 2 of ps table "w" was dropped/,
	'a dropped worker cannot leave either');
is($node->safe_psql('postgres', "SELECT ps_pull('w', '{1,2}')"),
	'{1,10}', "B's failed push changed nothing");

# No more drops from here on.
set_worker_timeout(60, '1min');
is($node->safe_psql('postgres', "SELECT ps_join('w')"),
	'3', 'B joins again as worker 3');
is(workers(), '1:active:1 2:dropped:0 3:active:1',
	"... starting at A's clock 1");

# --- cancelling a waiting pull ---------------------------------------------

# A pulls for clock 3, which needs worker 3 done with clock 2.
$a->query_until(qr/start\n/, q{\echo start
SELECT ps_pull('w', '{1,2}', 1, 3);
\echo cancelled :LAST_ERROR_SQLSTATE :LAST_ERROR_MESSAGE
});
ok(waits($a_pid), "A's pull for clock 3 waits");
is($node->safe_psql('postgres', "SELECT pg_cancel_backend($a_pid)"),
	't', 'the waiting pull is cancelled');
$out = $a->query_until(qr/cancelled .*\n/, '');
like($out, qr/^cancelled 57014 canceling statement due to user request$/m,
	'... and fails with query_canceled');
is(workers(), '1:active:2 2:dropped:0 3:active:1',
	'A is still active, done with clock 2');
$node->safe_psql('postgres', "SELECT ps_push('w', '{2}', '{5}', 3, 3)");
# (query, not query_safe: the cancel's error is still in A's stderr)
is($a->query("SELECT ps_pull('w', '{1,2}', 1, 3)"),
	'{1,15}', "once worker 3 is done with clock 2, A's pull for clock 3 goes on at once");

# --- ps.wait_timeout -------------------------------------------------------

($ret, $stdout, $stderr) = $node->psql(
	'postgres', q{
SET ps.wait_timeout = 300;
SELECT clock_timestamp() AS t0 \gset
SELECT ps_pull('w', '{1,2}', 1, 4);
\echo :LAST_ERROR_SQLSTATE
SELECT extract(epoch FROM clock_timestamp() - :'t0');
}, on_error_stop => 0);
my ($sqlstate, $waited) = split /\n/, $stdout;
is($sqlstate, '55P03', 'a pull waiting longer than ps.wait_timeout fails with 55P03');
like($stderr,
	qr/ERROR:  pull for clock 4 of ps table "w" waited longer than ps.wait_timeout \(300 ms\)/,
	'... saying it waited too long');
like($stderr,
	qr/DETAIL:  Worker 3 is at clock 2; the consistency model needs every live worker at clock 3\./,
	'... for which worker');
like($stderr,
	qr/HINT:  A worker that stopped is dropped after ps.worker_timeout \(60 s\); raise ps.wait_timeout, or allow a larger max_delay\./,
	'... and what to do');
cmp_ok($waited, '>=', 0.3, "it waited ps.wait_timeout ($waited s)");
cmp_ok($waited, '<', 0.8, '... and not much longer');

# --- a restart forgets the workers -----------------------------------------

$a->quit;
$node->restart;
is(workers(), '', 'after a restart ps_workers is empty');
($ret, $stdout, $stderr) = $node->psql('postgres',
	"SELECT ps_push('w', '{1}', '{1}', 1, 4)");
like($stderr, qr/ERROR:  ps table "w" has no worker 1/,
	'the old ids are unknown');
like($stderr,
	qr/HINT:  Worker ids come from ps_join\('w'\); they do not survive a server restart\./,
	'... and the hint says why');
is($node->safe_psql('postgres', "SELECT ps_pull('w', '{1,2}')"),
	'{1,15}', 'the values are all there');
is($node->safe_psql('postgres',
		"SELECT consistency FROM ps_config WHERE tbl = 'w'::regclass"),
	'sequential', 'and so is the configuration');

$node->stop;
done_testing();
