# Copyright: the ps authors.  Licensed like the rest of ps.
#
# 023_kkt.pl: the client library's KKT filter (ps_client_set_kkt) against a
# real server, through test/client/ps_kkt_test.c.
#
#   - One client with the filter on and one with it off make the same
#     pulls and pushes (listed keys in any order with repeats, ranges,
#     pulls waited for or still in flight when the next push goes, range
#     pushes) to twin ftrl tables with l1 = 1 and the server's KKT filter:
#     every pull and the tables at the end are bit for bit the same, dim 1
#     and dim 2, so the client left out only pushes the server would have
#     dropped; and it left out over a thousand.
#   - The server's count of dropped keys (ps_filters) on the table without
#     the client's filter is exactly the client's count more than on the
#     table with it: each push the client left out is one the server
#     dropped on the twin.
#   - A client keeping at most 500 keys' slacks: the same.
#   - A pull with the filter from a table without the server's filter
#     fails with 55000; with the filter off for the task it succeeds.
#   - A max_keys above 2^31 is refused.
#   - A reconnect forgets the slacks: after z moved behind the client's
#     back and its backend was terminated, a push the old slack covered is
#     sent and applied.
#   - A pull asking for slacks needs UPDATE as well as SELECT.
use strict;
use warnings;

use File::Temp qw(tempdir);
use FindBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use lib "$FindBin::RealBin/../lib";
use PsClientBuild;

my $root = "$FindBin::RealBin/../..";
my $dir = tempdir(CLEANUP => 1);
my $bin = "$dir/ps_kkt_test";
my ($ok, $out, $err);

build_client("$root/test/client/ps_kkt_test.c", $bin);

my $node = PostgreSQL::Test::Cluster->new('kkt');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'ps'");
$node->start;

my $setup = "CREATE EXTENSION ps;\n";
for my $t (qw(kk_a1 kk_b1 kk_c kk_d kk_n kk_r))
{
	$setup .= "CREATE TABLE $t (key bigint, val real) USING ps;\n";
}
for my $t (qw(kk_a2 kk_b2))
{
	$setup .= "CREATE TABLE $t (key bigint, val real[] CHECK (cardinality(val) = 2)) USING ps;\n";
}
for my $t (qw(kk_a1 kk_b1 kk_a2 kk_b2 kk_c kk_d kk_r))
{
	$setup .= "SELECT ps_configure('$t', update_rule => 'ftrl', learning_rate => 0.5, "
	  . "beta => 1, l1 => 1, kkt_filter => true);\n";
}
$setup .= "SELECT ps_configure('kk_n', update_rule => 'ftrl', learning_rate => 0.5, l1 => 1);\n";
$node->safe_psql('postgres', $setup);

$ok = IPC::Run::run([ $bin, $node->connstr('postgres') ], '>', \$out, '2>', \$err);
ok($ok, 'the KKT test program exits 0') or diag("$out\n$err");
for my $line (split /\n/, $out)
{
	note($line) if $line =~ /^# /;
	next unless $line =~ /^(not )?ok \d+ - (.*)$/;
	ok(!defined $1, $2);
}

# Each push the client left out is one the server dropped on the twin.
my @pairs = $out =~ /^# kkt (\w+) (\w+) (\d+)$/mg;
is(scalar(@pairs), 9, 'the program names three pairs of tables');
while (my ($with, $without, $n) = splice(@pairs, 0, 3))
{
	my $q = "SELECT keys FROM public.ps_filters('%s') WHERE filter = 'kkt'";
	my $a = $node->safe_psql('postgres', sprintf($q, $with));
	my $b = $node->safe_psql('postgres', sprintf($q, $without));
	is($b - $a, $n,
		"$without: the server dropped $n keys' pushes more than on $with, which the client left out ($b - $a)");
	is( $node->safe_psql(
			'postgres', "SELECT count(*) FROM public.$with a FULL JOIN public.$without b USING (key)
			 WHERE a.val IS DISTINCT FROM b.val"),
		'0',
		"$with and $without hold the same rows");
	ok($node->safe_psql('postgres', "SELECT count(*) FROM public.$with") > 100,
		"$with holds nonzero weights");
}

# Slacks tell |z|: a role that may only read the table cannot ask for them.
my $pull = q{decode('50530102000400000100000000000000010000000' || '2', 'hex')};
$node->safe_psql('postgres', q{CREATE ROLE kk_reader; GRANT SELECT ON kk_a1 TO kk_reader;});
my ($ret, $stdout, $stderr) = $node->psql('postgres',
	"SET ROLE kk_reader; SELECT length(public.ps_pull_msg('kk_a1', $pull))");
like($stderr, qr/permission denied for table kk_a1.*\n.*DETAIL:  KKT slacks tell the FTRL state/s,
	'a pull asking for slacks with SELECT only: permission denied, saying why');
$node->safe_psql('postgres', q{GRANT UPDATE ON kk_a1 TO kk_reader;});
is($node->safe_psql('postgres', "SET ROLE kk_reader; SELECT length(public.ps_pull_msg('kk_a1', $pull))"),
	'24', 'with UPDATE as well it answers the weight and the slack');

$node->stop;
done_testing();
