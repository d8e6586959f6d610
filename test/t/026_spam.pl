# Copyright: the ps authors.  Licensed like the rest of ps.
#
# 026_spam.pl: ps_train end to end on real data, the spam set of
# test/data (the SpamAssassin corpus, xz-compressed), with 2 workers
# against a real server, checked against liblinear's reference optima
# (test/data/README.md):
#
#   - L2 and L1 (the default batch method): the objective within 1e-3
#     relative of liblinear's, test accuracy within 0.5 points, test
#     log-loss within 2 %, AUC within 0.001; the table holds the nonzero
#     weights ps_train counted (L1: within 10 % of liblinear's count,
#     which moves by several percent among points of the same objective
#     to 1e-6: ps_train's 252 at 145.13400, liblinear's 236 at 145.134).
#   - ps_predict over the test set, loaded with ps_libsvm, gives the
#     accuracy ps_train reported.
#   - The SQL procedure (test/train/minibatch.sql), FTRL by minibatches of
#     100 for 30 epochs over the set loaded with ps_libsvm: a NOTICE per
#     epoch; test accuracy within 0.5 points and log-loss within 2 % of
#     liblinear L2's.
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
my $data = "$FindBin::RealBin/../data";
for my $set ('train', 'test')
{
	system("xz -dc '$data/spam.$set.svm.xz' > '$dir/spam.$set.svm'") == 0
	  or BAIL_OUT("cannot decompress $data/spam.$set.svm.xz");
}

my $node = ps_node('spam');
my $server = $node->connstr('postgres');

# liblinear 2.3, C = 1 (test/data/README.md)
my %ref = (
	l2 => { objective => 31.7333, nnz => 164162, acc => 0.9934, logloss => 0.0162, auc => 0.99985 },
	l1 => { objective => 145.134, nnz => 236, acc => 0.9926, logloss => 0.0183, auc => 0.99989 });

for my $reg ('l2', 'l1')
{
	my $r = $ref{$reg};
	my ($out, $err) = ('', '');
	IPC::Run::run(
		[
			$train_bin, '--server', $server, '--table', "spam_$reg", '--train', "$dir/spam.train.svm",
			'--test', "$dir/spam.test.svm", '--workers', '2', '--reg', $reg, '--lambda', '1'
		],
		'>', \$out, '2>', \$err);
	is($? >> 8, 0, "$reg: ps_train exits 0") or diag("$out\n$err");
	note(join("\n", grep { !/^iteration / } split /\n/, $out));
	my $j = json_of($out);
	my $rel = abs($j->{objective} - $r->{objective}) / $r->{objective};
	ok($rel <= 1e-3, sprintf("$reg: objective %s within 1e-3 of liblinear's %s (%.1e)",
		$j->{objective}, $r->{objective}, $rel));
	ok(abs($j->{test_accuracy} - $r->{acc}) <= 0.005,
		"$reg: test accuracy $j->{test_accuracy} within 0.5 points of liblinear's $r->{acc}");
	ok(abs($j->{test_logloss} - $r->{logloss}) <= 0.02 * $r->{logloss},
		"$reg: test log-loss $j->{test_logloss} within 2 % of liblinear's $r->{logloss}");
	ok(abs($j->{test_auc} - $r->{auc}) <= 0.001,
		"$reg: test AUC $j->{test_auc} within 0.001 of liblinear's $r->{auc}");
	if ($reg eq 'l2')
	{
		is($j->{nnz}, $r->{nnz}, 'l2: every weight nonzero');
	}
	else
	{
		ok(abs($j->{nnz} - $r->{nnz}) <= 0.1 * $r->{nnz},
			"l1: $j->{nnz} nonzero weights, within 10 % of liblinear's $r->{nnz}");
	}
	is($node->safe_psql('postgres', "SELECT count(*) FROM spam_$reg WHERE val <> 0"),
		$j->{nnz}, "$reg: the table holds the nonzero weights ps_train counted");
	note("$reg: $j->{seconds} s with 2 workers, file reading included (liblinear: "
		  . ($reg eq 'l2' ? '1.0' : '0.8') . ' s)');

	if ($reg eq 'l1')
	{
		$node->safe_psql('postgres', 'CREATE TABLE lines (n serial, line text)');
		$node->safe_psql('postgres', "COPY lines (line) FROM '$dir/spam.test.svm'");
		is( $node->safe_psql(
				'postgres', q{
SELECT round(avg(((ps_predict('spam_l1', e.keys, e.vals) > 0.5) = (e.label > 0))::int), 6)
  FROM (SELECT (ps_libsvm(line)).* FROM lines) e}),
			sprintf('%.6f', $j->{test_accuracy}),
			'ps_predict over the test set gives the accuracy ps_train reported');
	}
}

# The SQL procedure of test/train/minibatch.sql: FTRL by minibatches, from
# SQL, on the same set loaded with ps_libsvm; its test measures beside
# liblinear L2's (the ps_train run above).
$node->safe_psql('postgres', qq{
CREATE TABLE lines_train (n serial, line text);
COPY lines_train (line) FROM '$dir/spam.train.svm';
CREATE TABLE spam_train AS SELECT n::bigint AS id, (ps_libsvm(line)).* FROM lines_train;
CREATE TABLE spam_test AS SELECT n::bigint AS id, (ps_libsvm(line)).* FROM lines;
CREATE TABLE spam_sql (key bigint, val real) USING ps;
SELECT ps_configure('spam_sql', update_rule => 'ftrl', learning_rate => 0.1, beta => 0.1, l2 => 30);
});
$node->safe_psql('postgres', "\\i $FindBin::RealBin/../train/minibatch.sql");
my ($out, $err) = ('', '');
$node->psql('postgres', "CALL train_minibatches('spam_sql', 'spam_train', 30, 100)",
	stdout => \$out, stderr => \$err, on_error_die => 1);
note($err);
is(scalar(grep { /NOTICE:  train_minibatches: epoch \d+: mean log-loss before the steps [\d.]+, \d+ rows\/s/ }
	  split /\n/, $err), 30, 'the SQL procedure: a NOTICE per epoch');
my ($acc, $ll) = split /\|/, $node->safe_psql('postgres', q{
SELECT avg(((p > 0.5) = (label > 0))::int),
       avg(-ln(greatest(1e-15, CASE WHEN label > 0 THEN p ELSE 1 - p END)))
  FROM (SELECT label, ps_predict('spam_sql', keys, vals) AS p FROM spam_test) s});
my $r = $ref{l2};
ok(abs($acc - $r->{acc}) <= 0.005,
	sprintf('the SQL procedure: test accuracy %.4f within 0.5 points of liblinear L2\'s %s', $acc, $r->{acc}));
ok(abs($ll - $r->{logloss}) <= 0.02 * $r->{logloss},
	sprintf('the SQL procedure: test log-loss %.5f within 2 %% of liblinear L2\'s %s', $ll, $r->{logloss}));

$node->stop;
done_testing();
