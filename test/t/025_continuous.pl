# Copyright: the ps authors.  Licensed like the rest of ps.
#
# 025_continuous.pl: continuous training (test/train/continuous.sql), run
# every minute by pg_cron, while examples arrive in an ordinary table and
# ps_predict keeps answering.
#
#   - Examples of a known linear model (labels with noise) arrive in two
#     waves, 100 rows and then 3000; after each, the pg_cron job (CALL
#     train_new_rows(...) every minute) trains on the rows newer than the
#     watermark, and the model's held-out accuracy and log-loss improve:
#     untrained < after 100 rows < after 3100.
#   - The job's runs succeed (cron.job_run_details), the watermark counts
#     every row once, and a run with no new rows trains nothing.
#   - ps_predict answers all the while (queried in a loop during the waits).
use strict;
use warnings;

use FindBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);

my $root = "$FindBin::RealBin/../..";

my $node = PostgreSQL::Test::Cluster->new('continuous');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'ps,pg_cron'
cron.database_name = 'postgres'
cron.use_background_workers = on
max_worker_processes = 32
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION ps; CREATE EXTENSION pg_cron');
$node->safe_psql('postgres', slurp_file("$root/test/train/continuous.sql"));
$node->safe_psql(
	'postgres', q{
CREATE TABLE stream (id bigserial PRIMARY KEY, label real, keys bigint[], vals real[]);
CREATE TABLE holdout (label real, keys bigint[], vals real[]);
-- examples over features 1 .. 50, ten of them (value 1) each; the true
-- weight of feature f is f % 5 - 2; labels are the sign with noise
CREATE FUNCTION synth(n int) RETURNS TABLE (label real, keys bigint[], vals real[])
LANGUAGE sql AS $$
  SELECT CASE WHEN m + (random() - 0.5) * 2 > 0 THEN 1 ELSE -1 END::real, k,
         array_fill(1::real, ARRAY[cardinality(k)])
    FROM (SELECT i, array_agg(DISTINCT f) AS k, sum((f % 5) - 2) AS m
            FROM generate_series(1, n) i,
                 LATERAL (SELECT 1 + (random() * 49)::int + 0 * i AS f FROM generate_series(1, 10)) x
           GROUP BY i) s $$;
SELECT setseed(0.5);
INSERT INTO holdout SELECT * FROM synth(1000);
CREATE TABLE live_w (key bigint, val real) USING ps;
SELECT ps_configure('live_w', update_rule => 'ftrl', learning_rate => 0.5, beta => 1, l2 => 1);
CREATE VIEW quality AS
  SELECT avg(((p > 0.5) = (label > 0))::int) AS acc,
         avg(-ln(CASE WHEN label > 0 THEN p ELSE 1 - p END)) AS logloss
    FROM (SELECT label, ps_predict('live_w', keys, vals) AS p FROM holdout) s;
});

sub quality { return split /\|/, $node->safe_psql('postgres', 'SELECT acc, logloss FROM quality'); }

my ($acc0, $ll0) = quality();
is(sprintf('%.4f', $ll0), '0.6931', 'untrained: every probability 1/2, log-loss log 2');

$node->safe_psql('postgres',
	q{SELECT cron.schedule('train-live', '* * * * *', $$CALL train_new_rows('live_w', 'stream')$$)});

# Wait until the watermark reaches last_id, asking ps_predict all the while.
sub wait_trained
{
	my ($last_id) = @_;
	my ($predictions, $failures) = (0, 0);
	my $deadline = time() + 150;
	while (time() < $deadline)
	{
		my ($ret, $out, $err) = $node->psql('postgres',
			"SELECT ps_predict('live_w', '{1,2,3}', '{1,1,1}') BETWEEN 0 AND 1");
		$ret == 0 && $out eq 't' ? $predictions++ : $failures++;
		my $mark = $node->safe_psql('postgres',
			"SELECT coalesce(max(last_id), 0) FROM ps_watermarks WHERE model = 'live_w'::regclass");
		return ($predictions, $failures) if $mark >= $last_id;
		sleep(0.5);
	}
	return ($predictions, $failures, 'timeout');
}

$node->safe_psql('postgres', q{SELECT setseed(0.25); INSERT INTO stream (label, keys, vals) SELECT * FROM synth(100)});
my ($p1, $f1, $t1) = wait_trained(100);
ok(!defined $t1, 'the pg_cron job trained on the first 100 rows');
my ($acc1, $ll1) = quality();
ok($ll1 < $ll0, "after 100 rows the held-out log-loss went down: $ll0 -> $ll1");

$node->safe_psql('postgres', q{SELECT setseed(0.75); INSERT INTO stream (label, keys, vals) SELECT * FROM synth(3000)});
my ($p2, $f2, $t2) = wait_trained(3100);
ok(!defined $t2, 'and on the next 3000 at a later run');
my ($acc2, $ll2) = quality();
ok($ll2 < $ll1 && $acc2 > $acc1,
	"after 3100 rows: accuracy $acc1 -> $acc2, log-loss $ll1 -> $ll2");
ok($acc2 > 0.8, "held-out accuracy $acc2 > 0.8");
is($f1 + $f2, 0, 'ps_predict answered every time it was asked during training (' . ($p1 + $p2) . ' times)');

is($node->safe_psql('postgres', "SELECT last_id, rows_trained FROM ps_watermarks WHERE model = 'live_w'::regclass"),
	'3100|3100', 'the watermark counts every row once');
is( $node->safe_psql(
		'postgres', q{SELECT count(*) > 0, bool_and(status = 'succeeded') FROM cron.job_run_details
		  WHERE status <> 'running'}),
	't|t', 'every finished run of the job succeeded');

# A run with nothing new trains nothing.
my ($ret, $out, $err) = $node->psql('postgres', q{CALL train_new_rows('live_w', 'stream')});
like($err, qr/train_new_rows: no rows newer than id 3100/, 'a run with no new rows says so');
is(join('|', quality()), "$acc2|$ll2", 'and changes nothing');

$node->safe_psql('postgres', q{SELECT cron.unschedule('train-live')});
$node->stop;
done_testing();
