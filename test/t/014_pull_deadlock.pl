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
#     awaited worker's push reads that table too.
#   - The same with ps_check (SHARE) against the ROW EXCLUSIVE lock of the
#     pulling transaction's earlier push, which the pull's own ACCESS SHARE
#     does not conflict with: the pull fails, its transaction gives up its
#     locks, and the others go on.
#   - Without a lock request queued, the pull keeps waiting (well beyond
#     deadlock_timeout) and is released as usual by the awaited worker.
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
my ($in, $out, $err) = ('', '', '');
my $txn = IPC::Run::start(
	[ 'psql', '-XAtq', '-d', $node->connstr('postgres') . ' application_name=txn' ],
	'<', \$in, '>', \$out, '2>', \$err);
push @clients, $txn;
$in .= "SET ps.wait_timeout = 0;\nBEGIN;\nSELECT ps_push('w', '{1}', '{1}', 1, 2) > 0;\n"
  . "SELECT ps_pull('w', '{1,2}', 1, 2);\n";
$txn->pump_nb;
await_wait({ name => 'txn' }, 'Extension');
my $check = start_client('check', "SELECT ps_check('w')");
await_wait($check, 'Lock');
my $push = start_client('push', "SELECT ps_push('w', '{2}', '{10}', 2, 2) > 0");
await_wait($push, 'Lock');
$txn->pump until $err =~ /deadlock detected/ || !$txn->pumpable;
like($err, qr/ERROR:  deadlock detected: pull for clock 2 of ps table "w" waits for worker 2, and process \d+ waits/,
	'a ps_check queued behind the ROW EXCLUSIVE lock of the pulling transaction: the pull fails');
# the failed transaction gives its locks up at once (the block stays open)
$check->{h}->finish;
is(${ $check->{out} }, "1\n", 'then ps_check completes');
$push->{h}->finish;
is(${ $push->{out} }, "t\n", 'and so does the push');
$in .= "ROLLBACK;\n\\q\n";
$txn->finish;

# The lock need not be on the ps table: the pull read a feature table, an
# ALTER TABLE of that table queues behind the pull's lock on it, and the
# awaited worker's push reads it too.
setup_table();
$node->safe_psql('postgres', q{
DROP TABLE IF EXISTS feats;
CREATE TABLE feats (key bigint);
INSERT INTO feats VALUES (1), (2);
});
my $pull = start_client('pull', "SELECT ps_pull('w', ARRAY(SELECT key FROM feats), 1, 2)");
await_wait($pull, 'Extension');
my $alter = start_client('alter', 'ALTER TABLE feats ADD COLUMN x int');
await_wait($alter, 'Lock');
$push = start_client('push',
	"SELECT ps_push('w', ARRAY(SELECT key FROM feats), '{10,10}', 2, 2) > 0");
await_wait($push, 'Lock');
$pull->{h}->finish;
like(${ $pull->{err} }, qr/ERROR:  deadlock detected: pull for clock 2 of ps table "w" waits for worker 2/,
	'an ALTER TABLE queued behind the pull\'s lock on another table it read: the pull fails');
$alter->{h}->finish;
is(${ $alter->{err} }, '', 'then the ALTER TABLE completes');
$push->{h}->finish;
is(${ $push->{out} }, "t\n", 'and the push that read that table');

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

$_->kill_kill for grep { $_->pumpable } @clients;
$node->stop;
done_testing();
