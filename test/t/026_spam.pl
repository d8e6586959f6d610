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
#     weights ps_train counted (L1: a few percent of liblinear's count,
#     which moves that much near the optimum).
#   - ps_predict over the test set, loaded with ps_libsvm, gives the
#     accuracy ps_train reported.
use strict;
use warnings;

use File::Temp qw(tempdir);
use FindBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
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

my $node = PostgreSQL::Test::Cluster->new('spam');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'ps'");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION ps');
my $server = $node->connstr('postgres');

sub json_of
{
	my ($out) = @_;
	my @lines = split /\n/, $out;
	my %j = ($lines[-1] // '') =~ /"(\w+)": ("[^"]*"|[-+.\deE]+|null)/g;
	s/^"|"$//g for values %j;
	return \%j;
}

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
		ok(abs($j->{nnz} - $r->{nnz}) <= 0.05 * $r->{nnz},
			"l1: $j->{nnz} nonzero weights, within 5 % of liblinear's $r->{nnz}");
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

$node->stop;
done_testing();
