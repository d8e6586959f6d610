# Copyright: the ps authors.  Licensed like the rest of ps.
#
# 019_fuzz.pl: a bounded libFuzzer run of the wire format's decoder
# (test/fuzz/ps_wire_fuzz.c, built with Debian's clang-14, AddressSanitizer
# and UndefinedBehaviorSanitizer) from the checked-in seed corpus
# (test/fuzz/corpus: one message of each kind and shape).
#
#   - Parsing any input stays inside it, and every refusal names a reason.
#   - Decoding a message that parses stays inside arrays sized from its
#     counts.
#   - A message that decodes comes out the same when encoded and decoded
#     again.
#
# The run lasts PS_FUZZ_SECONDS (default 20).  README, "Tests", says how
# to run it longer.  A failure leaves the input that broke it in the
# test's log (libFuzzer prints it in hex and base64).
use strict;
use warnings;

use File::Temp qw(tempdir);
use FindBin;
use PostgreSQL::Test::Utils;
use Test::More;

my $root = "$FindBin::RealBin/../..";
my $dir = tempdir(CLEANUP => 1);
my $bin = "$dir/ps_wire_fuzz";
my $seconds = $ENV{PS_FUZZ_SECONDS} // 20;
my ($ok, $out, $err);

$ok = IPC::Run::run(
	[
		'clang-14', '-g', '-O1', '-Wall', '-Wextra', '-Werror',
		'-fsanitize=fuzzer,address,undefined', '-fno-sanitize-recover=all',
		"-I$root/src/common", '-o', $bin,
		"$root/test/fuzz/ps_wire_fuzz.c", "$root/src/common/ps_wire.c", '-lzstd'
	],
	'>', \$out, '2>', \$err);
ok($ok, 'the fuzz target builds with clang-14 and the sanitizers') or diag($err);

mkdir "$dir/corpus";
$ok = IPC::Run::run(
	[
		$bin, "$dir/corpus", "$root/test/fuzz/corpus",
		"-max_total_time=$seconds", "-artifact_prefix=$dir/", '-print_final_stats=1'
	],
	'>', \$out, '2>', \$err);
ok($ok, "$seconds s of fuzzing found nothing") or diag($err);
my ($runs) = $err =~ /Done (\d+) runs/;
ok(defined $runs && $runs > 1000, 'it ran inputs (' . ($runs // 0) . ')');
my ($cov) = $err =~ /stat::number_of_executed_units:\s*(\d+)/;
my ($features) = $err =~ /cov: (\d+) ft:/;
note("executed units: " . ($cov // '?') . ", coverage points: " . ($features // '?'));
done_testing();
