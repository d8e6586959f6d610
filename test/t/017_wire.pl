# Copyright: the ps authors.  Licensed like the rest of ps.
#
# 017_wire.pl: the wire format's codec (src/common/ps_wire.c) on its own,
# built with AddressSanitizer and UndefinedBehaviorSanitizer, so that a
# read or write outside a message or an array, or an overflow, aborts the
# run instead of passing unseen.
#
#   - Every message the encoder writes decodes to exactly what was encoded:
#     pushes, pulls and values; keys over the whole bigint range, ranges up
#     to the largest bigint, dense and sparse values, with and without a
#     worker.
#   - No prefix of a valid message is accepted, and every single-bit change
#     of one is refused or decodes within its bounds.
#   - Each hostile field is refused with its own reason (see ps_wire.h).
#
# The checks are test/unit/ps_wire_test.c; this file builds and runs it
# and passes its TAP lines on.
use strict;
use warnings;

use File::Temp qw(tempdir);
use FindBin;
use PostgreSQL::Test::Utils;
use Test::More;

my $root = "$FindBin::RealBin/../..";
my $dir = tempdir(CLEANUP => 1);
my $bin = "$dir/ps_wire_test";
my ($ok, $out, $err);

$ok = IPC::Run::run(
	[
		'gcc', '-std=c99', '-g', '-O1', '-Wall', '-Wextra', '-Werror',
		'-fsanitize=address,undefined', '-fno-sanitize-recover=all',
		"-I$root/src/common", '-o', $bin,
		"$root/test/unit/ps_wire_test.c", "$root/src/common/ps_wire.c"
	],
	'>', \$out, '2>', \$err);
ok($ok, 'the codec test builds with the sanitizers') or diag($err);

$ok = IPC::Run::run([$bin], '>', \$out, '2>', \$err);
ok($ok, 'the codec test exits 0, no sanitizer report') or diag($err);
my ($plan) = $out =~ /^1\.\.(\d+)$/m;
ok(defined $plan && $plan >= 50, 'it ran its checks (' . ($plan // 0) . ')');
for my $line (split /\n/, $out)
{
	next unless $line =~ /^(not )?ok \d+ - (.*)$/;
	ok(!defined $1, $2);
}
done_testing();
