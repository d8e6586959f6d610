# Copyright: the ps authors.  Licensed like the rest of ps.
#
# 024_train.pl: ps_train, the trainer, as installed, against a real server,
# on a synthetic LibSVM data set this test writes (a known linear model
# with label noise), and the model it leaves answering in SQL.
#
#   - L2, 2 workers, bounded delay: exit 0, a progress line per epoch, the
#     last line one JSON object with the fields the issue names; the
#     objective far below the untrained one (n log 2), test accuracy above
#     0.9; the table holds the weights, and ps_predict over the test lines
#     loaded with ps_libsvm gives the accuracy ps_train reported; the
#     workers left the table.
#   - L1: fewer nonzero weights than features; with the KKT filter (and
#     large batches) too, and pushes left out by the client's filter.
#   - --target-objective stops after the first epoch; --time-limit 0 after
#     none.
#   - Shards of different sizes (1001 examples, 2 workers, minibatches of
#     20: 26 and 25 of them) under sequential consistency finish: every
#     worker runs the same clocks an epoch.  More workers than examples:
#     one each.
#   - A table that is not empty is refused without --reset; --reset on a
#     table that is not a ps table is refused and changes nothing; a new
#     table's name is read as SQL reads it (Wmix is wmix).
#   - Bad flags exit 2 with a message; an unreadable file and a malformed
#     line (its file, line number and reason) exit 1.
use strict;
use warnings;

use File::Temp qw(tempdir);
use FindBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use lib "$FindBin::RealBin/../lib";
use PsTrain;
use Test::More;

my $dir = tempdir(CLEANUP => 1);
my $bindir = `pg_config --bindir`;
chomp $bindir;
my $train_bin = "$bindir/ps_train";
ok(-x $train_bin, "ps_train is installed in $bindir");

# A linear model over 40 features, 8 of them (value 1) in each example,
# labels its sign with 5 % flipped; a fixed seed.
my $seed = 12345;
write_set("$dir/train.svm", 2000, 40, 8, \$seed);
write_set("$dir/test.svm", 500, 40, 8, \$seed);
write_set("$dir/odd.svm", 1001, 40, 8, \$seed);
write_set("$dir/three.svm", 3, 40, 8, \$seed);

my $node = ps_node('train');
my $server = $node->connstr('postgres');

sub train
{
	my @args = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run([ $train_bin, '--server', $server, @args ], '>', \$out, '2>', \$err);
	return ($? >> 8, $out, $err);
}

my ($rc, $out, $err) = train('--method', 'ftrl', '--table', 'w2', '--train', "$dir/train.svm", '--test',
	"$dir/test.svm", '--workers', '2', '--reg', 'l2', '--lambda', '1',
	'--consistency', 'bounded', '--max-delay', '2', '--epochs', '6');
is($rc, 0, 'L2 training exits 0') or diag("$out\n$err");
note($out);
my $j = json_of($out);
is(scalar(grep { /^epoch \d+  clock \d+  \d+ examples\/s  objective [\d.]+  nnz \d+  pushed .* pulled .* filtered \d+  waiting \d+%$/ }
	  split /\n/, $out), 6, 'a progress line per epoch');
ok(exists $j->{$_}, "the JSON line has $_")
  for qw(objective nnz test_accuracy test_logloss test_auc seconds iterations bytes_pushed bytes_pulled);
is($j->{iterations}, 6, 'six epochs');
ok($j->{objective} < 0.5 * 2000 * log(2),
	"the objective ($j->{objective}) is far below the untrained model's (" . 2000 * log(2) . ')');
ok($j->{test_accuracy} > 0.85, "test accuracy $j->{test_accuracy} > 0.85 (labels 5 % flipped)");
ok($j->{test_auc} > 0.9, "test AUC $j->{test_auc} > 0.9");
ok($j->{bytes_pushed} > 0 && $j->{bytes_pulled} > 0, 'it counts the bytes pushed and pulled');
is($node->safe_psql('postgres', 'SELECT count(*) FROM w2 WHERE val <> 0'), $j->{nnz},
	'the table holds the nonzero weights ps_train counted');
is($node->safe_psql('postgres', "SELECT string_agg(state, ',') FROM ps_workers('w2')"), 'left,left',
	'the workers left the table');

# The model answers in SQL: the test set through ps_libsvm and ps_predict.
$node->safe_psql('postgres', 'CREATE TABLE lines (n serial, line text)');
$node->safe_psql('postgres', "COPY lines (line) FROM '$dir/test.svm'");
is( $node->safe_psql(
		'postgres', q{
SELECT round(avg(((ps_predict('w2', e.keys, e.vals) > 0.5) = (e.label > 0))::int), 6)
  FROM (SELECT (ps_libsvm(line)).* FROM lines WHERE line !~ '^\s*(#|$)') e}),
	sprintf('%.6f', $j->{test_accuracy}),
	'ps_predict over the test lines gives the accuracy ps_train reported');

# L1 and the KKT filter.
# (one worker: its pushes, and so the weights, do not depend on timing)
($rc, $out, $err) = train('--method', 'ftrl', '--table', 'w1', '--train', "$dir/train.svm", '--workers', '1',
	'--reg', 'l1', '--lambda', '2', '--epochs', '4');
is($rc, 0, 'L1 training exits 0') or diag("$out\n$err");
note($out);
$j = json_of($out);
ok($j->{nnz} > 0 && $j->{nnz} < 40, "L1: $j->{nnz} of 40 weights nonzero");
is($j->{filtered_keys}, 0, 'no KKT filter unless asked for');
is($j->{test_accuracy}, 'null', 'no test set: no test measures');
($rc, $out, $err) = train('--method', 'ftrl', '--table', 'w1', '--reset', '--train', "$dir/train.svm", '--workers', '1',
	'--reg', 'l1', '--lambda', '2', '--epochs', '4', '--batch', '500', '--kkt');
is($rc, 0, 'L1 with the KKT filter exits 0') or diag("$out\n$err");
note($out);
$j = json_of($out);
ok($j->{nnz} > 0 && $j->{nnz} < 40, "L1 with the KKT filter: $j->{nnz} of 40 weights nonzero");
ok($j->{filtered_keys} > 0, "the client's KKT filter left out $j->{filtered_keys} pushes of keys");

# The batch method on a table an FTRL L1 run configured (l1, the KKT
# filter): --reset, and it configures the sum rule without them.
($rc, $out, $err) = train('--table', 'w1', '--reset', '--train', "$dir/train.svm", '--workers', '2',
	'--reg', 'l1', '--lambda', '2');
is($rc, 0, 'batch after ftrl L1 on the same table: exits 0') or diag("$out\n$err");
is($node->safe_psql('postgres', "SELECT update_rule || ' ' || l1 || ' ' || kkt_filter FROM ps_config WHERE tbl = 'w1'::regclass"),
	'sum 0 false', 'the table is configured for the batch method');

# A worker of another client, live at clock 3 in the table: ps_train's
# workers join at its clock (the slowest live one's) and start there
# (eventual consistency: nothing waits for it), rather than pull at clock 1
# and be refused for going backwards.
$node->safe_psql('postgres', q{
CREATE TABLE wstale (key bigint, val real) USING ps;
SELECT ps_join('wstale');
SELECT ps_pull('wstale', '{1}', 1, 4);
});
($rc, $out, $err) = train('--method', 'ftrl', '--table', 'wstale', '--train', "$dir/train.svm", '--workers', '2',
	'--reg', 'l2', '--epochs', '2', '--consistency', 'eventual');
is($rc, 0, 'ftrl beside a live worker at clock 3: exits 0') or diag("$out\n$err");
is($node->safe_psql('postgres', "SELECT string_agg(worker || ':' || state || ':' || (clock >= 3), ',' ORDER BY worker) FROM ps_workers('wstale')"),
	'1:active:true,2:left:true,3:left:true', "its workers started at that clock and left; the other one's is kept");

# Stopping early.
($rc, $out, $err) = train('--method', 'ftrl', '--table', 'w1', '--reset', '--train', "$dir/train.svm",
	'--epochs', '50', '--target-objective', '1e9');
is(json_of($out)->{iterations}, 1, '--target-objective: stops after the first epoch that reaches it');
($rc, $out, $err) = train('--method', 'ftrl', '--table', 'w1', '--reset', '--train', "$dir/train.svm",
	'--epochs', '50', '--time-limit', '0');
is($rc . '|' . json_of($out)->{iterations}, '0|0', '--time-limit 0: stops before an epoch ends');

# Uneven shards, sequential consistency; more workers than examples.
($rc, $out, $err) = train('--method', 'ftrl', '--table', 'wodd', '--train', "$dir/odd.svm", '--workers', '2',
	'--batch', '20', '--consistency', 'sequential', '--epochs', '3', '--time-limit', '100');
is($rc . '|' . json_of($out)->{iterations}, '0|3', 'shards of 501 and 500 examples, sequential: all 3 epochs')
  or diag("$out\n$err");
($rc, $out, $err) = train('--table', 'wthree', '--train', "$dir/three.svm", '--workers', '5');
like($out, qr/3 training examples: 3 workers, not 5/, 'more workers than examples: one each');
is($rc . '|' . json_of($out)->{workers}, '0|3', 'and it trains with 3');

# The batch method (the default): all workers in step, reductions through
# a sync table.  Its objective is checked against the same problem solved
# by one worker to a tolerance of 1e-9 (the optimum is unique for L2; for
# L1 its value is).
sub batch_run
{
	my ($table, @args) = @_;
	my ($rc, $out, $err) = train('--table', $table, '--reset', '--train', "$dir/train.svm",
		'--test', "$dir/test.svm", @args);
	is($rc, 0, "batch @args: exits 0") or diag("$out\n$err");
	note($out);
	return (json_of($out), $out);
}
for my $reg ('l2', 'l1')
{
	my ($ref) = batch_run("bref$reg", '--workers', '1', '--reg', $reg, '--tolerance', '1e-9');
	my ($jb, $outb) = batch_run("b$reg", '--workers', '2', '--reg', $reg);
	is($jb->{method}, $reg eq 'l2' ? 'trust-region-newton' : 'owl-qn', "$reg: the method");
	ok($jb->{objective} >= $ref->{objective} * (1 - 1e-6) && $jb->{objective} <= $ref->{objective} * (1 + 1e-3),
		"$reg, 2 workers: objective $jb->{objective} within 1e-3 of the optimum $ref->{objective}");
	is(scalar(grep { /^iteration \d+  reductions \d+  \d+ examples\/s  objective [\d.]+  bound \S+  nnz \d+  pushed [\d.]+ MB  pulled [\d.]+ MB$/ }
		  split /\n/, $outb), $jb->{iterations} + 1, "$reg: a progress line per iteration");
	cmp_ok($jb->{clocks}, '>=', $jb->{iterations}, "$reg: at least one reduction an iteration ($jb->{clocks})");
	is($node->safe_psql('postgres', "SELECT count(*) FROM b$reg WHERE val <> 0"), $jb->{nnz},
		"$reg: the table holds the nonzero weights ps_train counted");
	is($node->safe_psql('postgres', "SELECT to_regclass('b${reg}_ps_sync') IS NULL"), 't',
		"$reg: the sync table is dropped at the end");
	ok($jb->{test_accuracy} > 0.85, "$reg: test accuracy $jb->{test_accuracy} > 0.85");
	if ($reg eq 'l1')
	{
		ok($jb->{nnz} > 0 && $jb->{nnz} < 40, "L1: $jb->{nnz} of 40 weights nonzero");
	}
}
my ($jl) = batch_run('blim', '--epochs', '2');
is($jl->{iterations}, 2, 'batch: --epochs bounds the iterations');
($rc, $out, $err) = train('--table', 'blim', '--reset', '--train', "$dir/train.svm", '--target-objective', '1e9');
is(json_of($out)->{iterations}, 0, 'batch: --target-objective stops at the first iteration that reaches it');
($rc, $out, $err) = train('--table', 'blim', '--reset', '--train', "$dir/train.svm", '--workers', '2',
	'--time-limit', '0');
is($rc . '|' . json_of($out)->{iterations}, '0|0', 'batch: --time-limit 0 stops every worker at the first reduction')
  or diag("$out\n$err");
$node->safe_psql('postgres', 'CREATE TABLE bheap_ps_sync (key bigint, val real)');
($rc, $out, $err) = train('--table', 'bheap', '--train', "$dir/train.svm");
is($rc, 1, 'batch: a table in the way of the sync table: exit 1');
like($err, qr/bheap_ps_sync exists and is not a sync table of ps_train/, 'saying so');
$node->safe_psql('postgres', 'CREATE TABLE bps_ps_sync (key bigint, val real) USING ps; INSERT INTO bps_ps_sync VALUES (1, 1)');
($rc, $out, $err) = train('--table', 'bps', '--train', "$dir/train.svm");
is($rc . '|' . $node->safe_psql('postgres', 'SELECT count(*) FROM bps_ps_sync'), '1|1',
	'batch: a ps table of that name that ps_train did not make is refused, and kept');
$node->safe_psql('postgres', q{CREATE TABLE bleft_ps_sync (key bigint, val real) USING ps; COMMENT ON TABLE bleft_ps_sync IS 'ps_train sync table'});
($rc, $out, $err) = train('--table', 'bleft', '--train', "$dir/train.svm");
is($rc . '|' . $node->safe_psql('postgres', "SELECT to_regclass('bleft_ps_sync') IS NULL"), '0|t',
	'batch: a sync table an earlier run left is replaced, and dropped at the end');

# Names as SQL reads them; only ps tables.
($rc, $out, $err) = train('--table', 'Wmix', '--train', "$dir/three.svm", '--workers', '1');
is($rc . '|' . $node->safe_psql('postgres', "SELECT to_regclass('wmix') IS NOT NULL"), '0|t',
	'--table Wmix creates and trains wmix');
$node->safe_psql('postgres', 'CREATE TABLE heapish (key bigint, val real); INSERT INTO heapish VALUES (1, 1)');
($rc, $out, $err) = train('--table', 'heapish', '--reset', '--train', "$dir/three.svm");
is($rc, 1, '--reset on a table that is not a ps table: exit 1');
like($err, qr/heapish is not a ps table/, 'saying so');
is($node->safe_psql('postgres', 'SELECT count(*) FROM heapish'), '1', 'and its rows are still there');

# A table with weights is not overwritten.
($rc, $out, $err) = train('--table', 'w2', '--train', "$dir/train.svm");
is($rc, 1, 'a table that is not empty: exit 1');
like($err, qr/table w2 is not empty \(\d+ weights\): give --reset to empty it first/, 'saying so');

# Bad flags and bad files.
for my $case (
	[ [ '--workers', '0' ], qr/--workers must be a number from 1 to 64, not "0"/ ],
	[ [ '--reg', 'l3' ], qr/--reg must be l1 or l2, not "l3"/ ],
	[ [ '--lambda', 'x' ], qr/--lambda must be a number/ ],
	[ [ '--consistency', 'strong' ], qr/--consistency must be sequential, eventual or bounded/ ],
	[ [ '--epochs', '1.5' ], qr/--epochs must be an integer/ ],
	[ [ '--bogus' ], qr/unrecognized option/ ],
	[ [ '--consistency', 'sequential', '--max-delay', '2' ], qr/--max-delay needs --consistency bounded, not sequential/ ],
	[ [ '--kkt' ], qr/--kkt needs --reg l1/ ],
	[ [ '--reg', 'l1', '--kkt' ], qr/--kkt is for --method ftrl/ ],
	[ [ '--method', 'sgd' ], qr/--method must be batch or ftrl, not "sgd"/ ],
	[ [ '--method', 'ftrl', '--tolerance', '1e-3' ], qr/--tolerance is for --method batch/ ],
	[ [ '--tolerance', '2' ], qr/--tolerance must be a number from 1e-12 to 1/ ])
{
	($rc, $out, $err) = train('--table', 'wx', '--train', "$dir/train.svm", @{ $case->[0] });
	is($rc, 2, "@{$case->[0]}: exit 2");
	like($err, $case->[1], "@{$case->[0]}: the reason");
}
($rc, $out, $err) = train('--train', "$dir/train.svm");
like($err, qr/--server, --table and --train are required/, 'missing flags: the reason');
($rc, $out, $err) = train('--table', 'wx', '--train', "$dir/none.svm");
is($rc, 1, 'a missing file: exit 1');
like($err, qr/none\.svm: No such file or directory/, 'saying so');
open(my $fh, '>', "$dir/bad.svm") or die;
print $fh "+1 1:1 2:1\n\n-1 3:1 x:1\n";
close $fh;
($rc, $out, $err) = train('--table', 'wx', '--train', "$dir/bad.svm");
is($rc, 1, 'a malformed line: exit 1');
like($err, qr/bad\.svm:3: a feature id is not a decimal integer below 2\^64 \(at byte 8\)/,
	'naming the file, the line (blank lines counted) and the reason');
is($node->safe_psql('postgres', "SELECT to_regclass('wx') IS NULL"), 't',
	'nothing was created for runs that failed on their input');

$node->stop;
done_testing();
