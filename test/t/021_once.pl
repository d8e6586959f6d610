# Copyright: the ps authors.  Licensed like the rest of ps.
#
# 021_once.pl: exactly-once pushes across lost connections.  What it
# proves:
#
#   - Clients of the C library (test/client/ps_once_test.c: 3 processes,
#     8 tasks in flight each, listed-key pushes, ranges and ranges of
#     100000 keys that span several WAL records) push integer-valued
#     gradients while their backends are terminated again and again and
#     while the whole server is killed with kill -9 and restarted, twice.
#     The library reconnects and sends every unfinished task again; the
#     sums in the table are exact afterwards: no push lost, none applied
#     twice, a push cut off by the crash finished, not repeated.
#   - With reconnecting turned off, a lost connection fails the next task
#     with 08006; bad retry settings are refused.
#   - The exactly-once records travel with the WAL: a push applied on the
#     primary, sent again to its standby after the standby is promoted,
#     is not applied again there.
use strict;
use warnings;

use File::Temp qw(tempdir);
use FindBin;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

use lib "$FindBin::RealBin/../lib";
use PsClientBuild;
use PsCrash;

my $root = "$FindBin::RealBin/../..";
my $dir = tempdir(CLEANUP => 1);
my $bin = "$dir/ps_once_test";

build_client("$root/test/client/ps_once_test.c", $bin);

my $node = PostgreSQL::Test::Cluster->new('once');
$node->init(allows_streaming => 1);
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'ps'");
$node->start;
$node->safe_psql('postgres',
	'CREATE EXTENSION ps; CREATE TABLE once_w (key bigint, val real) USING ps;');

# Pushes applied so far, read from the table: the sum of all values.
sub total
{
	return $node->safe_psql('postgres',
		'SELECT coalesce(sum(val), 0)::bigint FROM once_w');
}

sub terminate_clients
{
	return $node->safe_psql('postgres',
		"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'ps_once_test'"
	);
}

my $connstr = $node->connstr('postgres') . ' application_name=ps_once_test';
my ($cout, $cerr) = ('', '');
my $stop = "$dir/stop";
my $client = IPC::Run::start([ $bin, $connstr, 'once_w', 3, 1_000_000, $stop ],
	'>', \$cout, '2>', \$cerr,
	IPC::Run::timeout(4 * $PostgreSQL::Test::Utils::timeout_default));

# Wait until pushes are flowing, then cut the connections.
my $deadline = time + $PostgreSQL::Test::Utils::timeout_default;
usleep(50_000) while total() < 100_000 && time < $deadline;
my $terminated = 0;
for (1 .. 10)
{
	$terminated += terminate_clients();
	usleep(200_000);
}
ok($terminated >= 10, "backends of the clients were terminated ($terminated times)");

for my $round (1 .. 2)
{
	my $before = total();
	my $n = kill9_everything($node);
	$node->start;
	note "kill -9 of $n server processes at $before; restarted";
	my $seen = time + $PostgreSQL::Test::Utils::timeout_default;
	usleep(50_000) while total() <= $before && time < $seen;
	ok(total() > $before, "pushes go on after kill -9 number $round");
}
$terminated = terminate_clients();
open(my $fh, '>', $stop) or die "cannot create $stop: $!";
close $fh;

$client->finish;
like($cout, qr/^exact 200000 keys$/m,
	'every key holds exactly the sum of the pushes made: none lost, none applied twice')
  or diag("$cout\n$cerr");
is($?, 0, 'the clients saw no task fail') or diag($cerr);
my @reconnects = $cout =~ /^client \d pushes \d+ reconnects (\d+)$/mg;
note $cout;
is(scalar(@reconnects), 3, 'three clients reported');
ok(!grep({ $_ < 3 } @reconnects),
	'each client lost its connection and reconnected, at least 3 times (' .
	  join(', ', @reconnects) . ')');

# With reconnecting turned off, a lost connection fails the tasks in
# flight with 08006, saying so; bad retry settings are refused.
open(my $cfh, '>', "$dir/off.c") or die;
print $cfh <<'C';
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <ps_client.h>
int main(int argc, char **argv)
{
	char *err = NULL;
	PsClient *c = argc == 3 ? ps_client_connect(argv[1], &err) : NULL;
	int64_t key = 5;
	float one = 1;
	int64_t t;
	if (c == NULL)
		return 1;
	if (ps_client_set_reconnect(c, -1, 50, 2000) != -1 || ps_client_set_reconnect(c, 3, 0, 1) != -1 ||
		ps_client_set_reconnect(c, 0, 50, 2000) != 0)
		return 2;
	if (ps_client_wait(c, ps_client_push(c, "once_w", &key, 1, &one, NULL)) != 0)
		return 3;
	printf("ready\n");
	fflush(stdout);
	while (access(argv[2], F_OK) != 0)
	{
		struct timespec ts = {0, 20000000};
		nanosleep(&ts, NULL);
	}
	t = ps_client_push(c, "once_w", &key, 1, &one, NULL);
	printf("%s|%s|%llu\n", t < 0 || ps_client_wait(c, t) != 0 ? "failed" : "ok",
		   ps_client_sqlstate(c), (unsigned long long) ps_client_reconnects(c));
	return 0;
}
C
close $cfh;
build_client("$dir/off.c", "$dir/off");
my $go = "$dir/go";
my ($oout, $oerr) = ('', '');
my $off = IPC::Run::start([ "$dir/off", $connstr, $go ], '>', \$oout, '2>', \$oerr,
	IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
$off->pump until $oout =~ /ready/;
is(terminate_clients(), '1', 'the backend of the client without reconnecting is terminated');
open($fh, '>', $go) or die;
close $fh;
$off->finish;
like($oout, qr/^failed\|08006\|0$/m,
	'reconnecting off: the next task fails with 08006, and no reconnect was made')
  or diag("$oout\n$oerr");

# The records go to a standby with the WAL.  A push applied on the
# primary, then sent again to the promoted standby, is not applied twice.
$node->backup('b');
my $standby = PostgreSQL::Test::Cluster->new('once_standby');
$standby->init_from_backup($node, 'b', has_streaming => 1);
$standby->start;
$node->safe_psql(
	'postgres', q{
CREATE TABLE once_s (key bigint, val real) USING ps;
SELECT ps_push_msg('once_s', decode('5053010140000000010000000100000077000000000000000100000000000000010000000e0000803f', 'hex'));
});
$node->wait_for_catchup($standby);
$standby->promote;
$standby->safe_psql('postgres',
	"SELECT ps_push_msg('once_s', decode('50530101c0000000010000000100000077000000000000000100000000000000010000000e0000803f', 'hex'))"
);
is($standby->safe_psql('postgres', "SELECT val FROM once_s"),
	'1', 'the promoted standby holds the record: the push sent again is not applied again');
$standby->safe_psql('postgres',
	"SELECT ps_push_msg('once_s', decode('5053010140000000010000000100000077000000000000000200000000000000010000000e0000803f', 'hex'))"
);
is($standby->safe_psql('postgres', "SELECT val FROM once_s"),
	'2', 'and the client\'s next push is applied there');

$standby->stop;
$node->stop;
done_testing();
