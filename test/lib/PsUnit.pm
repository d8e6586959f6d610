# Copyright: the ps authors.  Licensed like the rest of ps.
#
# PsUnit: build a unit test of src/common (test/unit/NAME.c with the
# src/common files it tests) with AddressSanitizer and
# UndefinedBehaviorSanitizer, run it, and pass its TAP lines on, each a
# test here; its "# " lines become notes.  Used by 017_wire.pl and
# 027_ring.pl.
package PsUnit;

use strict;
use warnings;

use Exporter 'import';
use File::Temp qw(tempdir);
use IPC::Run;
use Test::More;

our @EXPORT = qw(run_unit_test);

# run_unit_test($root, $name, $min_checks, @common_sources)
sub run_unit_test
{
	my ($root, $name, $min, @sources) = @_;
	my $dir = tempdir(CLEANUP => 1);
	my $bin = "$dir/$name";
	my ($ok, $out, $err);

	$ok = IPC::Run::run(
		[
			'gcc', '-std=c99', '-g', '-O1', '-Wall', '-Wextra', '-Werror',
			'-fsanitize=address,undefined', '-fno-sanitize-recover=all',
			"-I$root/src/common", '-o', $bin, "$root/test/unit/$name.c",
			map { "$root/src/common/$_" } @sources
		],
		'>', \$out, '2>', \$err);
	ok($ok, "$name builds with the sanitizers") or diag($err);
	$ok = IPC::Run::run([$bin], '>', \$out, '2>', \$err);
	ok($ok, "$name exits 0, no sanitizer report") or diag($err);
	my ($plan) = $out =~ /^1\.\.(\d+)$/m;
	ok(defined $plan && $plan >= $min, "it ran its checks (" . ($plan // 0) . ")");
	for my $line (split /\n/, $out)
	{
		note(substr($line, 2)) if $line =~ /^# /;
		next unless $line =~ /^(not )?ok \d+ - (.*)$/;
		ok(!defined $1, $2);
	}
	return;
}

1;
