# Copyright: the ps authors.  Licensed like the rest of ps.
#
# 010_rules.pl: the update rules' state (AdaGrad's n, FTRL's z and n) is
# stored with the weights, WAL-logged and crash-safe: values computed by
# hand before and after a crash of the primary, and on a streaming standby
# that replays every record under wal_consistency_checking.
#
# AdaGrad, learning rate 1, no l2: w -= g / (sqrt(n) + 1e-6), n += g^2.
#   g = 3:  n = 9,   w = -3/3            = -1
#   g = 4:  n = 25,  w = -1 - 4/5        = -1.8
#   crash
#   g = 12: n = 169, w = -1.8 - 12/13    = -2.7231  (with n lost: -2.8)
# FTRL, learning rate 1, beta 1, l1 1, l2 0:
#   g = 3:  n = 9, sigma = 3, z = 3 - 3*0 = 3;  w = -(3 - 1)/((1 + 3)/1) = -0.5
#   crash
#   g = -4: n = 25, sigma = (5 - 3)/1 = 2, z = 3 - 4 - 2*(-0.5) = 0;  |z| <= 1: w = 0
#           (with z and n lost: z = -4 + 4*0.5 = -2, w = 1/5 = 0.2)
# Each table also gets one push applied by its backend (ps.scheduler =
# off) and the rest by the scheduler: both keep the state.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'ps'
wal_consistency_checking = 'ps'
# every push through the scheduler but those with ps.scheduler = off
ps.scheduler = always
});
$primary->start;
$primary->safe_psql(
	'postgres', q{
CREATE EXTENSION ps;
CREATE TABLE ada (key bigint, val real) USING ps;
SELECT ps_configure('ada', update_rule => 'adagrad', learning_rate => 1);
CREATE TABLE ftrl (key bigint, val real) USING ps;
SELECT ps_configure('ftrl', update_rule => 'ftrl', learning_rate => 1, beta => 1, l1 => 1);
});
$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->start;

my $weights = q{SELECT string_agg(key || '=' || round(val::numeric, 4), ' ' ORDER BY key)
  FROM (SELECT * FROM ada UNION ALL SELECT key + 100, val FROM ftrl) s};

$primary->safe_psql(
	'postgres', q{
SET ps.scheduler = off;
SELECT ps_push('ada', '{1,2}', '{3,3}');
RESET ps.scheduler;
SELECT ps_push('ada', '{1,2}', '{4,4}');
SELECT ps_push('ftrl', '{1,2}', '{3,3}');
});
is($primary->safe_psql('postgres', $weights),
	'1=-1.8000 2=-1.8000 101=-0.5000 102=-0.5000', 'weights before the crash');

$primary->stop('immediate');
$primary->start;

$primary->safe_psql(
	'postgres', q{
SELECT ps_push('ada', '{1}', '{12}');
SELECT ps_push('ftrl', '{1}', '{-4}');
SET ps.scheduler = off;
SELECT ps_push('ada', '{2}', '{12}');
SELECT ps_push('ftrl', '{2}', '{-4}');
});
is($primary->safe_psql('postgres', $weights),
	'1=-2.7231 2=-2.7231 101=0.0000 102=0.0000',
	'after the crash the rules go on from the state they had');
is($primary->safe_psql('postgres', q{SELECT ps_pull('ftrl', '{1,2,3}'), ps_check('ada'), ps_check('ftrl')}),
	'{0,0,0}|2|2', 'pulls show the weights; both tables check');

$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));
is($standby->safe_psql('postgres', $weights),
	$primary->safe_psql('postgres', $weights),
	'the standby replayed the same weights');
is($standby->safe_psql('postgres', q{SELECT ps_pull('ada', '{1,2}')}),
	$primary->safe_psql('postgres', q{SELECT ps_pull('ada', '{1,2}')}),
	'and pulls there agree');

# The standby's state is the primary's: promoted, it computes the next
# step as the primary would.  AdaGrad: g = 0 leaves w; FTRL: g = 2 from
# z = 0, n = 25: n = 29, sigma = sqrt(29) - 5, z = 2 - sigma*0 = 2,
# w = -(2 - 1)/(1 + sqrt(29)) = -0.1566.
$standby->promote;
$standby->safe_psql('postgres', q{SELECT ps_push('ftrl', '{1}', '{2}')});
is($standby->safe_psql('postgres', q{SELECT round(val::numeric, 4) FROM ftrl WHERE key = 1}),
	'-0.1566', 'the promoted standby goes on from the replicated state');
my $log = slurp_file($standby->logfile);
unlike($log, qr/inconsistent page/, 'no inconsistent page during replay');

$standby->stop;
$primary->stop;
done_testing();
