# Copyright: the ps authors.  Licensed like the rest of ps.
#
# 018_client.pl: the C client library (libps-client, ps_client.h) against
# a real server, built as a user builds it: cc prog.c $(pkg-config
# --cflags --libs ps-client), with the installed header, library and
# pkg-config file.
#
#   - A bad conninfo gives no client and libpq's reason; a database
#     without the extension is refused at connect.
#   - Pushes return their timestamps at once and are in flight together on
#     one connection (pipeline mode); waiting for the last finishes all.
#   - Keys in any order, with repeats: the sums are exact, in the table and
#     in the library's pulls, which come back in the order asked.
#   - Ranges, a table of dim 3, a worker's push (its clock moves).
#   - A failing task (unknown table, NaN, unknown worker, wrong dim) fails
#     alone with the server's SQLSTATE and message; the tasks after it
#     succeed; a task to execute after a failed one is not sent.
#   - Key caching: a key list sent again goes as its hash; when the
#     server's cache is turned off behind the library's back, its lists
#     miss and the library sends the keys again by itself, values exact.
#   - Push filters: significantly-modified keeps sums back until they pass
#     the threshold (and ps_client_flush sends the rest); random skip sends
#     a fraction of small keys, scaled up; both count what they saved.
#   - Compression (zstd) on and off gives the same values.
#   - The library runs no SQL through the caller's search_path.
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
my $bin = "$dir/ps_client_test";
my ($ok, $out, $err);

my @flags = build_client("$root/test/client/ps_client_test.c", $bin);

my $node = PostgreSQL::Test::Cluster->new('client');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'ps'");
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE noext');
$node->safe_psql(
	'postgres', q{
CREATE EXTENSION ps;
CREATE TABLE cl_w (key bigint, val real) USING ps;
CREATE TABLE cl_v (key bigint, val real[] CHECK (cardinality(val) = 3)) USING ps;
CREATE TABLE cl_f (key bigint, val real) USING ps;
SELECT ps_join('cl_w');
});

# A role whose search_path holds a trap: a ps_push_msg of its own that
# would record the call.  The library must not call it.
$node->safe_psql(
	'postgres', q{
CREATE SCHEMA trap;
CREATE TABLE trap.calls (n int);
CREATE FUNCTION trap.ps_push_msg(regclass, bytea) RETURNS bigint LANGUAGE sql
	AS $$ INSERT INTO trap.calls VALUES (1); SELECT 0::bigint $$;
CREATE FUNCTION trap.ps_pull_msg(regclass, bytea) RETURNS bytea LANGUAGE sql
	AS $$ INSERT INTO trap.calls VALUES (2); SELECT ''::bytea $$;
ALTER DATABASE postgres SET search_path = trap, public;
});

my $connstr = $node->connstr('postgres');
$ok = IPC::Run::run([$bin, $connstr], '>', \$out, '2>', \$err);
ok($ok, 'the client test program exits 0') or diag("$out\n$err");
for my $line (split /\n/, $out)
{
	next unless $line =~ /^(not )?ok \d+ - (.*)$/;
	ok(!defined $1, $2);
}
my %expect = $out =~ /^# expect (\d+) (-?\d+)$/mg;
ok(scalar(keys %expect) > 1000, 'the program reports the sums it expects (' . scalar(keys %expect) . ' keys)');
my %table = split /[|\n]/,
  $node->safe_psql('postgres', 'SELECT key, val FROM public.cl_w WHERE val <> 0 ORDER BY key');
is_deeply(\%table, \%expect, 'the table holds exactly the sums the program pushed');
is($node->safe_psql('postgres', 'SELECT count(*) FROM trap.calls'), '0',
	'no function of the caller\'s search_path was called');
is($node->safe_psql('postgres', "SELECT clock FROM public.ps_workers('cl_w') WHERE worker = 1"),
	'3', 'worker 1 is done with clock 3: its push was for clock 4');
is($node->safe_psql('postgres', 'SELECT key, val FROM public.cl_v ORDER BY key'),
	"3|{4,5,6}\n7|{1,2,3}", 'the dim-3 table holds the pushed vectors');

# A database without the extension: refused at connect, saying so.
my $noext = $node->connstr('noext');
open(my $fh, '>', "$dir/noext.c") or die;
print $fh <<'C';
#include <stdio.h>
#include <ps_client.h>
int main(int argc, char **argv)
{
	char *err = NULL;
	PsClient *c = ps_client_connect(argv[1], &err);
	printf("%s|%s", c ? "client" : "none", err ? err : "");
	return 0;
}
C
close $fh;
$ok = IPC::Run::run([ 'cc', '-o', "$dir/noext", "$dir/noext.c", @flags ], '>', \$out, '2>', \$err);
ok($ok, 'a second program builds') or diag($err);
IPC::Run::run([ "$dir/noext", $noext ], '>', \$out, '2>', \$err);
like($out, qr/^none\|the ps extension is not installed in this database/,
	'a database without the extension: no client, and the reason');

$node->stop;
done_testing();
