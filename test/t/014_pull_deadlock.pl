# Copyright: the ps authors.  Licensed like the rest of ps.
#
# 014_pull_deadlock.pl: a pull waiting for another worker never waits for
# itself.
#
# A worker's pull under sequential consistency waits (on a condition
# variable) until the other workers are done with the previous clock, and
# it holds its lock on the table meanwhile.  A lock request that conflicts
# with a lock the pull's transaction holds queues behind it, and every
# later call on the table queues behind that request: the awaited worker's
# push too.  Nobody can go on, and PostgreSQL's deadlock detector cannot
# see it, as the pull does not wait on a lock.  This used to wait until
# ps.wait_timeout, and for ever with ps.wait_timeout = 0.
#
#   - A TRUNCATE (ACCESS EXCLUSIVE) queued behind a waiting pull, and the
#     awaited worker's push queued behind the TRUNCATE: the pull fails with
#     SQLSTATE 40P01 after deadlock_timeout (ps.wait_timeout is 0, so no
#     other timeout is involved); then the TRUNCATE and the push complete.
#   - The same with DROP TABLE: the push then fails, the table is gone.
#   - The same with a lock on another table: the pull read a feature table,
#     an ALTER TABLE of it queues behind the pull's transaction, and the
#     awaited worker's push reads that table too (in the session of the
#     worker's earlier call: the pull knows a worker by its last call's
#     session, and a push that waits before it reaches the ps table tells
#     nothing else).
#   - The same with ps_check (SHARE) against the ROW EXCLUSIVE lock of the
#     pulling transaction's earlier push, which the pull's own ACCESS SHARE
#     does not conflict with: the pull fails, its transaction gives up its
#     locks, and the others go on.
#   - Without a lock request queued, the pull keeps waiting (well beyond
#     deadlock_timeout) and is released as usual by the awaited worker.
#   - A process that waits for a lock the pulling transaction holds while
#     no awaited worker waits behind it is no deadlock: an unrelated session
#     wanting the pull's advisory lock leaves the pull waiting; once the
#     awaited worker's own session waits for that lock, the pull fails.
use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

my $node = PostgreSQL::Test::Cluster->new('pull_deadlock');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'ps'
deadlock_timeout = '300ms'
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION ps');

my @clients;

# A psql client in the background, known by its application_name.
sub start_client
{
	my ($appname, $sql) = @_;
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(
		[
			'psql', '-XAtq', '-d',
			$node->connstr('postgres') . " application_name=$appname",
			'-c', "SET ps.wait_timeout = 0", '-c', $sql
		],
		'<', \undef, '>', \$out, '2>', \$err);
	push @clients, $h;
	return { h => $h, out => \$out, err => \$err, name => $appname };
}

# A psql session fed statements one by one (a worker's connection).
sub start_session
{
	my ($appname) = @_;
	my ($in, $out, $err) = ('', '', '');
	my $h = IPC::Run::start(
		[
			'psql', '-XAtq', '-d',
			$node->connstr('postgres') . " application_name=$appname"
		],
		'<', \$in, '>', \$out, '2>', \$err);
	push @clients, $h;
	my $s = { h => $h, in => \$in, out => \$out, err => \$err, name => $appname };
	session_do($s, 'SET ps.wait_timeout = 0');
	return $s;
}

# Run $sql in session $s and wait for its output line (statements that
# print one line).
sub session_do
{
	my ($s, $sql, $noresult) = @_;
	${ $s->{out} } = '';
	${ $s->{in} } .= "$sql;\n";
	${ $s->{in} } .= "SELECT 'done';\n" if !$noresult;
	$s->{h}->pump until ${ $s->{out} } =~ /done\n/ || ${ $s->{err} } ne '' || !$s->{h}->pumpable;
	return ${ $s->{out} };
}

# Send $sql to session $s without waiting for it; end the session.
sub session_send
{
	my ($s, $sql) = @_;
	${ $s->{out} } = '';
	${ $s->{in} } .= "$sql;\n";
	$s->{h}->pump_nb;
}

sub session_end
{
	my ($s) = @_;
	${ $s->{in} } .= "\\q\n";
	$s->{h}->finish;
}

# Wait until a client's statement waits on wait event type $type.
sub await_wait
{
	my ($c, $type) = @_;
	$node->poll_query_until('postgres',
		"SELECT wait_event_type = '$type' FROM pg_stat_activity WHERE application_name = '$c->{name}'")
	  or die "$c->{name} does not wait on $type";
}

# A table under sequential consistency with workers 1 and 2, and worker 1
# at clock 1: its pull for clock 2 waits for worker 2 (at clock 0).
sub setup_table
{
	$node->safe_psql('postgres', q{
DROP TABLE IF EXISTS w;
CREATE TABLE w (key bigint, val real) USING ps;
SELECT ps_configure('w', consistency => 'sequential');
SELECT ps_join('w'), ps_join('w');
SELECT ps_push('w', '{1}', '{1}', 1, 1);
});
}

for my $ddl ('TRUNCATE w', 'DROP TABLE w')
{
	setup_table();
	my $pull = start_client('pull', "SELECT ps_pull('w', '{1,2}', 1, 2)");
	await_wait($pull, 'Extension');
	my $ddl_c = start_client('ddl', $ddl);
	await_wait($ddl_c, 'Lock');
	my $push = start_client('push', "SELECT ps_push('w', '{2}', '{10}', 2, 2) > 0");
	await_wait($push, 'Lock');
	my $t0 = time;
	$pull->{h}->finish;
	my $waited = time - $t0;
	like(${ $pull->{err} }, qr/ERROR:  deadlock detected: pull for clock 2 of ps table "w" waits for worker 2, and process \d+ waits for a lock this pull's transaction holds/,
		"$ddl queued behind a waiting pull, and the awaited push behind it: the pull fails as a deadlock");
	like(${ $pull->{err} }, qr/DETAIL:  Process \d+ waits for a lock that conflicts with one of this transaction's/, 'saying why');
	cmp_ok($waited, '<', 10, 'within seconds (deadlock_timeout is 300 ms)');
	$ddl_c->{h}->finish;
	is(${ $ddl_c->{err} }, '', "then $ddl completes");
	$push->{h}->finish;
	if ($ddl eq 'TRUNCATE w')
	{
		is(${ $push->{out} }, "t\n", 'and the push after it');
		is($node->safe_psql('postgres', "SELECT ps_pull('w', '{1,2}')"), '{0,10}',
			'to the emptied table');
	}
	else
	{
		like(${ $push->{err} }, qr/ERROR:  relation with OID \d+ does not exist/,
			'and the push after it finds the table gone');
	}
}

# ps_check (SHARE) conflicts with the ROW EXCLUSIVE lock the pulling
# transaction took for its push, not with the pull's ACCESS SHARE.
setup_table();
my $txn = start_session('txn');
session_send($txn, "BEGIN;\nSELECT ps_push('w', '{1}', '{1}', 1, 2) > 0;\n"
	  . "SELECT ps_pull('w', '{1,2}', 1, 2)");
await_wait($txn, 'Extension');
my $check = start_client('check', "SELECT ps_check('w')");
await_wait($check, 'Lock');
my $push = start_client('push', "SELECT ps_push('w', '{2}', '{10}', 2, 2) > 0");
await_wait($push, 'Lock');
$txn->{h}->pump until ${ $txn->{err} } =~ /deadlock detected/ || !$txn->{h}->pumpable;
like(${ $txn->{err} }, qr/ERROR:  deadlock detected: pull for clock 2 of ps table "w" waits for worker 2, and process \d+ waits/,
	'a ps_check queued behind the ROW EXCLUSIVE lock of the pulling transaction: the pull fails');
# the failed transaction gives its locks up at once (the block stays open)
$check->{h}->finish;
is(${ $check->{out} }, "1\n", 'then ps_check completes');
$push->{h}->finish;
is(${ $push->{out} }, "t\n", 'and so does the push');
session_send($txn, 'ROLLBACK');
session_end($txn);

# The lock need not be on the ps table: the pull read a feature table, an
# ALTER TABLE of that table queues behind the pull's lock on it, and the
# awaited worker's push reads it too.
setup_table();
$node->safe_psql('postgres', q{
DROP TABLE IF EXISTS feats;
CREATE TABLE feats (key bigint);
INSERT INTO feats VALUES (1), (2);
});
# worker 2's session: a call for clock 1 (done with clock 0: not enough
# for worker 1's pull for clock 2)
my $w2 = start_session('w2');
is(session_do($w2, "SELECT ps_pull('w', '{2}', 2, 1)"), "{0}\ndone\n", 'worker 2 makes a call');
my $pull = start_client('pull', "SELECT ps_pull('w', ARRAY(SELECT key FROM feats), 1, 2)");
await_wait($pull, 'Extension');
my $alter = start_client('alter', 'ALTER TABLE feats ADD COLUMN x int');
await_wait($alter, 'Lock');
session_send($w2, "SELECT ps_push('w', ARRAY(SELECT key FROM feats), '{10,10}', 2, 2) > 0");
await_wait($w2, 'Lock');
$pull->{h}->finish;
like(${ $pull->{err} }, qr/ERROR:  deadlock detected: pull for clock 2 of ps table "w" waits for worker 2, and process \d+ waits/,
	'an ALTER TABLE queued behind the pull\'s lock on another table it read: the pull fails');
$alter->{h}->finish;
is(${ $alter->{err} }, '', 'then the ALTER TABLE completes');
$w2->{h}->pump until ${ $w2->{out} } =~ /\n/ || !$w2->{h}->pumpable;
is(${ $w2->{out} }, "t\n", 'and the push that read that table');

# Without a lock request queued the pull waits on, beyond deadlock_timeout,
# until worker 2 is done with clock 1.
setup_table();
$pull = start_client('pull', "SELECT ps_pull('w', '{1,2}', 1, 2)");
await_wait($pull, 'Extension');
usleep(1_500_000);
is($node->safe_psql('postgres',
		"SELECT wait_event_type FROM pg_stat_activity WHERE application_name = 'pull'"),
	'Extension', 'without a lock request queued, the pull keeps waiting past deadlock_timeout');
# worker 2's pull for clock 2: it is done with clock 1 (and pushed nothing)
$node->safe_psql('postgres', "SELECT ps_pull('w', '{2}', 2, 2)");
$pull->{h}->finish;
is(${ $pull->{out} }, "{1,0}\n", 'and is released by the awaited worker');
is(${ $pull->{err} }, '', 'without an error');

# An advisory lock held by the pulling transaction: an unrelated session
# waits for it, and the pull goes on waiting.  Worker 2's own session then
# waits for it as well: now the pull waits for itself, and fails.
setup_table();
is(session_do($w2, "SELECT ps_pull('w', '{2}', 2, 1)"), "{0}\ndone\n", 'worker 2 makes a call');
$txn = start_session('txn2');
session_send($txn, "BEGIN;\nSELECT pg_advisory_xact_lock(7);\n"
	  . "SELECT ps_pull('w', '{1,2}', 1, 2)");
await_wait($txn, 'Extension');
my $other = start_client('other', 'SELECT pg_advisory_xact_lock(7)');
await_wait($other, 'Lock');
usleep(1_500_000);
is($node->safe_psql('postgres',
		"SELECT wait_event_type FROM pg_stat_activity WHERE application_name = 'txn2'"),
	'Extension', 'a session waiting for the pull\'s advisory lock, no worker behind it: the pull keeps waiting');
session_send($w2, 'SELECT pg_advisory_xact_lock(7)');
await_wait($w2, 'Lock');
$txn->{h}->pump until ${ $txn->{err} } =~ /deadlock detected/ || !$txn->{h}->pumpable;
like(${ $txn->{err} }, qr/ERROR:  deadlock detected: pull for clock 2 of ps table "w" waits for worker 2, and process \d+ waits for a lock this pull's transaction holds/,
	'the awaited worker\'s session waits for that lock too: the pull fails');
session_send($txn, 'ROLLBACK');
session_end($txn);
$other->{h}->finish;
is(${ $other->{err} }, '', 'then the other session gets the lock');
$w2->{h}->pump until ${ $w2->{out} } =~ /\n/ || !$w2->{h}->pumpable;
is(${ $w2->{err} }, '', 'and so does the worker\'s session');
session_end($w2);

$_->kill_kill for grep { $_->pumpable } @clients;
$node->stop;
done_testing();
