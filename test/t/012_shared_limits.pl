# Copyright: the ps authors.  Licensed like the rest of ps.
#
# 012_shared_limits.pl: what one role does with ps tables cannot take from
# other roles what they need, memory stays bounded, and two-phase commit
# works for everything but ps tables.
#
# Server: ps.max_tables = 16 (the minimum), ps.max_training_tables_per_role
# = 8, two databases with the extension ("train" and "other") and one
# without ("postgres").  ps.worker_timeout is 3600 s while the limits are
# filled (so that no worker expires half-way through, however slow the
# machine), and 3 s (ALTER SYSTEM and a reload) once they are to expire.
#
#   - Per role: regress_attacker, a non-superuser with CREATE, joins a
#     worker on 6 of its ps tables; the join on a 7th fails with 53400: one
#     role may have workers on ps.max_training_tables_per_role (8) tables,
#     but never on more than half of the 12 that tables with workers may
#     hold, so that no single role takes them all.  After ps_leave on one
#     of them, the join on the 7th succeeds at once.
#   - Globally: regress_attacker2 joins workers on 6 more tables (12 =
#     three quarters of 16); its join on a 7th, and a join by a third role
#     in the other database, fail with 53400 and the message of the global
#     limit.  After ps_leave on one of its tables its 7th join succeeds at
#     once.
#   - Meanwhile regress_user in the other database creates 20 ps tables
#     (more than there are entries, with 12 of the 16 held by the
#     attackers' tables) and pushes to, INSERTs into and again pushes to
#     each of them: all succeed, every table holds exactly what was
#     written, each table's second push gets a larger timestamp than its
#     first, and larger than 1024 (the metapage's reservation: the entry
#     was given up and re-read in between).
#   - A superuser joins a worker on each of the 12 training tables (more
#     than the per-role limit of 6; ps_workers shows which role joined
#     which worker), where regress_attacker, at its limit, cannot join one
#     of them; but the superuser's join on a 13th table fails with the
#     global message.
#   - Once every worker of the 12 tables is silent for longer than
#     ps.worker_timeout, regress_user's join on a new table succeeds
#     (polled; not before 3 s after the last of their calls), although
#     nobody made any call on those tables; ps_workers then shows all 24
#     of their workers dropped, and regress_attacker may join again.
#   - Memory of ps_pull_changed: in one session, 10 cycles of ps_join, two
#     ps_pull_changed over the same 200000 keys (all sent, then none) and
#     ps_leave.  The backend's memory context "ps sent values" (with its
#     hash table's context) holds several MB during each cycle, the same in
#     every cycle, and less than 1 MB after each ps_leave; after a DROP
#     TABLE of a table a worker pulled from (without ps_leave), too.
#   - Memory of the scheduler: one push through the scheduler to each of 60
#     ps tables (ps_scheduler() counts 60 more pushes) leaves it with at
#     least 60 directory copies; after the tables are dropped and a
#     CHECKPOINT removed their files, the copies go (polled): at most as
#     many remain as there are ps tables left in the cluster, and exactly
#     the 20 of the tables pushed to less than a minute ago that still
#     exist.
#   - Two-phase commit: BEGIN; DROP TABLE of a heap table (also one
#     converted from a configured ps table, whose configuration row goes
#     with it); PREPARE TRANSACTION works in a database with the extension
#     and in one without, and COMMIT PREPARED drops the table.  A
#     transaction that dropped a ps table or ran ps_configure cannot be
#     prepared (0A000, "cannot prepare a transaction that configured,
#     dropped or rewrote a ps table"), and the table, its values and its
#     configuration are all still there afterwards, with nothing left
#     prepared.
#   - A pull waiting for a worker keeps its table's entry of shared state
#     (the entry holds the condition variable it sleeps on); a waiting pull
#     ended by pg_terminate_backend (FATAL, no error handler runs) gives it
#     back too.  16 times: a table, two workers, a waiting pull, terminated,
#     both workers leave; then pushes to 16 fresh tables, which need every
#     entry, all succeed (a leaked count used to pin all 16 entries, and
#     every push of every role then failed with 53400 until a restart).
use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $node = PostgreSQL::Test::Cluster->new('shared_limits');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'ps'
ps.max_tables = 16
ps.max_training_tables_per_role = 8
ps.worker_timeout = 3600
# one applier, taking every push: the directory copies it holds are
# counted exactly below
ps.scheduler_workers = 1
ps.scheduler = always
max_prepared_transactions = 5
autovacuum = off
});
$node->start;

my $su = $node->safe_psql('postgres', 'SELECT current_user');

$node->safe_psql(
	'postgres', q{
CREATE DATABASE train;
CREATE DATABASE other;
CREATE ROLE regress_attacker LOGIN;
CREATE ROLE regress_attacker2 LOGIN;
CREATE ROLE regress_user LOGIN;
});
$node->safe_psql(
	'train', q{
CREATE EXTENSION ps;
GRANT CREATE ON SCHEMA public TO regress_attacker, regress_attacker2;
});
$node->safe_psql(
	'other', q{
CREATE EXTENSION ps;
GRANT CREATE ON SCHEMA public TO regress_user;
});

# Run sql in db as role; dies on error.
sub as_role
{
	my ($role, $db, $sql) = @_;
	local $ENV{PGUSER} = $role;
	return $node->safe_psql($db, $sql);
}

# Run sql (one statement that must fail) in db as role: its SQLSTATE and
# stderr.
sub fails_as
{
	my ($role, $db, $sql) = @_;
	local $ENV{PGUSER} = $role;
	my ($ret, $out, $err) = $node->psql(
		$db, "$sql;\n\\echo :LAST_ERROR_SQLSTATE",
		on_error_stop => 0);
	my @lines = split /\n/, $out;
	return ($lines[-1] // '', $err);
}

sub tables
{
	my ($prefix, @n) = @_;
	return join('; ',
		map { "CREATE TABLE $prefix$_ (key bigint, val real) USING ps" } @n);
}

my $role_msg = qr/ERROR:  role "regress_attacker" has workers on 6 ps tables, as many as one role may/;
my $role_detail = qr/DETAIL:  One role may have workers on ps.max_training_tables_per_role \(8\) tables, and on no more than half of the 12 that tables with workers may hold\./;
my $global_detail = qr/DETAIL:  12 tables have live workers; at most 12 may \(three quarters of ps.max_tables = 16, the rest is kept for tables without workers\)\./;

# --- per role ------------------------------------------------------------

as_role('regress_attacker', 'train', tables('a', 1 .. 10));
is( as_role('regress_attacker', 'train',
		'SELECT ' . join(', ', map { "ps_join('a$_')" } 1 .. 6)),
	join('|', (1) x 6),
	'regress_attacker joins a worker on each of 6 tables');

my ($state, $err) = fails_as('regress_attacker', 'train', "SELECT ps_join('a7')");
is($state, '53400', 'its join on a 7th table fails with 53400');
like($err, $role_msg, '... saying it has as many as one role may');
like($err, $role_detail,
	'... which is ps.max_training_tables_per_role (8), but no more than half of the 12 training entries');
like($err,
	qr/HINT:  Let finished workers call ps_leave, or raise ps.max_training_tables_per_role or ps.max_tables\./,
	'... and what to do');

as_role('regress_attacker', 'train', "SELECT ps_leave('a1', 1)");
is(as_role('regress_attacker', 'train', "SELECT ps_join('a7')"),
	'1', 'after ps_leave on one of them, the join on the 7th succeeds at once');

# --- globally ------------------------------------------------------------

as_role('regress_attacker2', 'train', tables('b', 1 .. 7));
is( as_role('regress_attacker2', 'train',
		'SELECT ' . join(', ', map { "ps_join('b$_')" } 1 .. 6)),
	'1|1|1|1|1|1',
	'regress_attacker2 joins a worker on 6 more tables: 12 tables have workers');

($state, $err) = fails_as('regress_attacker2', 'train', "SELECT ps_join('b7')");
is($state, '53400', "regress_attacker2's join on a 7th table fails with 53400");
like($err, qr/ERROR:  too many ps tables with workers to join one on "b7"/,
	'... with the message of the global limit');
like($err, $global_detail, '... and its numbers');
like($err,
	qr/HINT:  Let finished workers call ps_leave, or raise ps.max_tables and restart\./,
	'... and what to do');

as_role('regress_user', 'other', tables('c', 0 .. 20));
($state, $err) = fails_as('regress_user', 'other', "SELECT ps_join('c0')");
is($state, '53400', 'so does a join by a third role in the other database');
like($err, qr/ERROR:  too many ps tables with workers to join one on "c0"/,
	'... with the same message');

as_role('regress_attacker2', 'train', "SELECT ps_leave('b6', 1)");
is(as_role('regress_attacker2', 'train', "SELECT ps_join('b7')"),
	'1', 'after ps_leave on one of its tables, its 7th join succeeds at once');

my @training = ((map { "a$_" } 2 .. 7), (map { "b$_" } 1 .. 5, 7));

# --- plain pushes and INSERTs of others ----------------------------------

my $first = as_role('regress_user', 'other',
	"SELECT string_agg(ps_push(format('c%s', i)::regclass, '{1}', '{1}')::text, ' ' ORDER BY i) FROM generate_series(1, 20) i");
is($first, join(' ', (1) x 20),
	'meanwhile regress_user pushes to 20 tables in the other database: all succeed');
as_role('regress_user', 'other',
	join(";\n", map { "INSERT INTO c$_ VALUES (2, $_)" } 1 .. 20));
my $second = as_role('regress_user', 'other',
	"SELECT string_agg(ps_push(format('c%s', i)::regclass, '{1}', '{1}')::text, ' ' ORDER BY i) FROM generate_series(1, 20) i");
my @ts1 = split / /, $first;
my @ts2 = split / /, $second;
is(scalar(@ts2), 20, '... so do the INSERTs into them and a second push to each');
is( scalar(grep { $ts2[$_] > $ts1[$_] } 0 .. 19),
	20, "each table's second push has a larger timestamp than its first");
is(scalar(grep { $_ > 1024 } @ts2),
	20, '... above the reservation: every entry was given up and re-read from the metapage');
is( as_role('regress_user', 'other',
		"SELECT string_agg(ps_pull(format('c%s', i)::regclass, '{1,2}')::text, ' ' ORDER BY i) FROM generate_series(1, 20) i"),
	join(' ', map { "{2,$_}" } 1 .. 20),
	'every table holds exactly what was pushed and inserted');

# --- superusers ------------------------------------------------------------

my $t_last = time;
is( $node->safe_psql('train',
		'SELECT ' . join(', ', map { "ps_join('$_')" } @training)),
	join('|', (2) x 12),
	'a superuser joins a worker on each of the 12 tables with workers (more than the 6 a role may)');
is( $node->safe_psql('train',
		"SELECT string_agg(worker || ':' || state || ':' || role, ' ' ORDER BY worker) FROM ps_workers('a2')"),
	"1:active:regress_attacker 2:active:$su",
	'ps_workers shows the role that joined each worker');

as_role('regress_attacker2', 'train', 'GRANT UPDATE ON b1 TO regress_attacker');
($state, $err) = fails_as('regress_attacker', 'train', "SELECT ps_join('b1')");
is($state, '53400',
	'where regress_attacker, at its limit, cannot join one of them');
like($err, $role_msg, '... because of the per-role limit');

$node->safe_psql('train', tables('s', 1));
($state, $err) = fails_as($su, 'train', "SELECT ps_join('s1')");
is($state, '53400', "but the superuser's join on a 13th table fails with 53400");
like($err, qr/ERROR:  too many ps tables with workers to join one on "s1"/,
	'... with the message of the global limit');
like($err, $global_detail, '... and its numbers');

# --- silent workers expire when a slot is needed ---------------------------

$node->safe_psql('postgres', 'ALTER SYSTEM SET ps.worker_timeout = 3');
$node->safe_psql('postgres', 'SELECT pg_reload_conf()');
$node->poll_query_until('postgres',
	"SELECT current_setting('ps.worker_timeout') = '3s'")
  or die 'ps.worker_timeout did not become 3s';

{
	local $ENV{PGUSER} = 'regress_user';
	ok($node->poll_query_until('other', "SELECT ps_join('c0') = 1"),
		"regress_user's join on a new table succeeds once the workers are silent for ps.worker_timeout");
}
my $elapsed = time - $t_last;
cmp_ok($elapsed, '>=', 3, "... not before 3 s after their last call (${elapsed}s)");
cmp_ok($elapsed, '<', 20, '... but within seconds');
is( $node->safe_psql('train',
		"SELECT string_agg(state || ':' || n, ' ') FROM (SELECT state, count(*) AS n FROM unnest('{"
		  . join(',', @training)
		  . "}'::regclass[]) AS t, ps_workers(t) GROUP BY state) s"),
	'dropped:24',
	'ps_workers shows all 24 workers of those 12 tables dropped');
is(as_role('regress_attacker', 'train', "SELECT ps_join('a10')"),
	'1', 'and regress_attacker may join again');

# --- ps_pull_changed state is freed ----------------------------------------

my $sent_bytes = q{SELECT coalesce(sum(total_bytes), 0) FROM pg_backend_memory_contexts
  WHERE 'ps sent values' IN (name, ident)};
my $keys = 'ARRAY(SELECT generate_series(1, 200000)::bigint)';
my $script = q{
CREATE TABLE m (key bigint, val real) USING ps;
SELECT ps_push_range('m', 1, array_fill(1::real, ARRAY[200000])) > 0;
};
for my $cycle (1 .. 10)
{
	$script .= qq{
SELECT ps_join('m') AS wid \\gset
SELECT 'pulled', cardinality(changed_keys) FROM ps_pull_changed('m', $keys, :wid);
SELECT 'pulled', cardinality(changed_keys) FROM ps_pull_changed('m', $keys, :wid);
SELECT 'during', ($sent_bytes);
SELECT ps_leave('m', :wid);
SELECT 'after', ($sent_bytes);
};
}
$script .= qq{
SELECT ps_join('m') AS wid \\gset
SELECT 'pulled', cardinality(changed_keys) FROM ps_pull_changed('m', $keys, :wid);
SELECT 'before drop', ($sent_bytes);
DROP TABLE m;
SELECT 'after drop', ($sent_bytes);
};
my $out = $node->safe_psql('train', $script);
my (@pulled, @during, @after, $before_drop, $after_drop);
for my $line (split /\n/, $out)
{
	my ($what, $n) = split /\|/, $line;
	next unless defined $n;
	push @pulled, $n if $what eq 'pulled';
	push @during, $n if $what eq 'during';
	push @after,  $n if $what eq 'after';
	$before_drop = $n if $what eq 'before drop';
	$after_drop  = $n if $what eq 'after drop';
}
is(scalar(@during), 10, '10 cycles of ps_join, ps_pull_changed, ps_leave ran in one session');
is("@pulled", join(' ', ('200000 0') x 10, '200000'),
	'each new worker receives all 200000 keys, then none (nothing moved)');
is(scalar(grep { $_ > 2_000_000 } @during),
	10, "during each cycle \"ps sent values\" holds the worker's state (@during bytes)");
is(scalar(grep { $_ == $during[0] } @during),
	10, '... the same in every cycle: it does not grow');
is(scalar(grep { $_ < 1_000_000 } @after),
	10, "after each ps_leave it is back under 1 MB (@after bytes)");
cmp_ok($before_drop, '>', 2_000_000, 'a worker that does not leave keeps its state');
cmp_ok($after_drop, '<', 1_000_000, '... until its table is dropped');

# --- the scheduler's directory copies ----------------------------------------

$node->safe_psql('train', tables('d', 1 .. 60));
my $pushes0 = $node->safe_psql('train', 'SELECT pushes FROM ps_scheduler() WHERE applier = 1');
is( $node->safe_psql('train',
		"SELECT count(ps_push(format('d%s', i)::regclass, '{1}', '{1}')) FROM generate_series(1, 60) i"),
	'60', 'one push to each of 60 ps tables');
is($node->safe_psql('train', 'SELECT pushes FROM ps_scheduler() WHERE applier = 1') - $pushes0,
	60, '... all through the scheduler');
ok( $node->poll_query_until('train',
		'SELECT directories >= 60 FROM ps_scheduler() WHERE applier = 1'),
	'the scheduler holds at least 60 directory copies');

$node->safe_psql('train',
	'DROP TABLE ' . join(', ', map { "d$_" } 1 .. 60) . '; CHECKPOINT');
my $count_ps =
  q{SELECT count(*) FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE a.amname = 'ps'};
my $alive = $node->safe_psql('train', $count_ps) + $node->safe_psql('other', $count_ps);
ok( $node->poll_query_until('train',
		"SELECT directories <= $alive FROM ps_scheduler() WHERE applier = 1"),
	"once the dropped tables' files are gone, the scheduler keeps at most one copy per ps table alive ($alive)");
is($node->safe_psql('train', 'SELECT directories FROM ps_scheduler() WHERE applier = 1'),
	'20',
	'... exactly those of the 20 tables of the other database, pushed to less than a minute ago');

# --- two-phase commit ------------------------------------------------------

for my $db ('train', 'postgres')
{
	$node->safe_psql(
		$db, q{
CREATE TABLE h (x int);
INSERT INTO h VALUES (1);
BEGIN;
DROP TABLE h;
PREPARE TRANSACTION 'drop_h';
});
	is($node->safe_psql($db, 'SELECT gid FROM pg_prepared_xacts'),
		'drop_h', "in $db, a transaction that dropped a heap table is prepared");
	$node->safe_psql($db, "COMMIT PREPARED 'drop_h'");
	is($node->safe_psql($db, "SELECT to_regclass('h') IS NULL"),
		't', '... and COMMIT PREPARED drops the table');
}

$node->safe_psql(
	'train', q{
CREATE TABLE conv (key bigint, val real) USING ps;
SELECT ps_configure('conv', learning_rate => 0.5) IS NOT NULL;
SELECT ps_push('conv', '{1}', '{2}');
ALTER TABLE conv SET ACCESS METHOD heap;
});
is( $node->safe_psql('train',
		"SELECT (SELECT amname FROM pg_am a JOIN pg_class c ON c.relam = a.oid WHERE c.oid = 'conv'::regclass), (SELECT count(*) FROM ps_config WHERE tbl = 'conv'::regclass), (SELECT val FROM conv WHERE key = 1)"),
	'heap|1|2',
	'a configured ps table converted to heap keeps its values and configuration row');
$node->safe_psql(
	'train', q{
BEGIN;
DROP TABLE conv;
PREPARE TRANSACTION 'drop_conv';
COMMIT PREPARED 'drop_conv';
});
is( $node->safe_psql('train',
		"SELECT to_regclass('conv') IS NULL, (SELECT count(*) FROM ps_config)"),
	't|0',
	'dropping it in a prepared transaction works, and its configuration row goes with it');

$node->safe_psql(
	'train', q{
CREATE TABLE p (key bigint, val real) USING ps;
SELECT ps_configure('p', learning_rate => 0.5) IS NOT NULL;
SELECT ps_push('p', '{1}', '{3}');
});
my $p_state = q{SELECT to_regclass('p') IS NOT NULL, ps_pull('p', '{1}'),
  (SELECT learning_rate FROM ps_config WHERE tbl = 'p'::regclass),
  (SELECT count(*) FROM pg_prepared_xacts)};

($state, $err) = fails_as($su, 'train', q{BEGIN;
DROP TABLE p;
PREPARE TRANSACTION 'drop_p'});
is($state, '0A000', 'a transaction that dropped a ps table cannot be prepared (0A000)');
like($err,
	qr/ERROR:  cannot prepare a transaction that configured, dropped or rewrote a ps table/,
	'... saying so');
like($err,
	qr/HINT:  Run ps_configure, DROP TABLE and rewrites \(ALTER TABLE ... SET UNLOGGED, VACUUM FULL, ...\) of ps tables outside two-phase transactions\./,
	'... and what to do instead');
is($node->safe_psql('train', $p_state), 't|{3}|0.5|0',
	'the table, its values and its configuration are still there, nothing is prepared');

($state, $err) = fails_as($su, 'train', q{BEGIN;
SELECT ps_configure('p', learning_rate => 0.25) IS NOT NULL;
PREPARE TRANSACTION 'conf_p'});
is($state, '0A000', 'a transaction that ran ps_configure cannot be prepared (0A000)');
like($err,
	qr/ERROR:  cannot prepare a transaction that configured, dropped or rewrote a ps table/,
	'... saying so');
is($node->safe_psql('train', $p_state), 't|{3}|0.5|0',
	'the configuration is unchanged, nothing is prepared');

# --- a terminated waiting pull gives its table's entry back ---------------

$node->safe_psql('train', q{
CREATE ROLE regress_pinner LOGIN;
GRANT CREATE ON SCHEMA public TO regress_pinner;
});
for my $i (1 .. 16)
{
	as_role('regress_pinner', 'train', qq{
CREATE TABLE pin$i (key bigint, val real) USING ps;
SELECT ps_configure('pin$i', consistency => 'sequential');
SELECT ps_join('pin$i'), ps_join('pin$i');
});
	my ($pout, $perr) = ('', '');
	my $h = IPC::Run::start(
		[
			'psql', '-XAtq', '-d',
			$node->connstr('train') . " user=regress_pinner application_name=pin$i",
			'-c', 'SET ps.wait_timeout = 0',
			'-c', "SELECT ps_pull('pin$i', '{1}', 1, 5)"
		],
		'<', \undef, '>', \$pout, '2>', \$perr);
	$node->poll_query_until('train',
		"SELECT wait_event = 'Extension' FROM pg_stat_activity WHERE application_name = 'pin$i'")
	  or die "the pull on pin$i does not wait";
	$node->safe_psql('train',
		"SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity WHERE application_name = 'pin$i'");
	$h->finish;
	as_role('regress_pinner', 'train', "SELECT ps_leave('pin$i', 1), ps_leave('pin$i', 2)");
}
as_role('regress_user', 'other', tables('f', 1 .. 16));
is( as_role('regress_user', 'other',
		"SELECT string_agg(ps_push(format('f%s', i)::regclass, '{1}', '{1}')::text, ' ' ORDER BY i) FROM generate_series(1, 16) i"),
	join(' ', (1) x 16),
	'16 waiting pulls terminated: then pushes to 16 fresh tables, which need every entry, all succeed');

$node->stop;
done_testing();
