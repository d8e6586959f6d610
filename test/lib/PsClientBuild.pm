# Copyright: the ps authors.  Licensed like the rest of ps.
#
# PsClientBuild: build a test program against the installed client
# library as a user builds one, cc prog.c $(pkg-config --cflags --libs
# ps-client), each step a test.  Used by 018_client.pl, 021_once.pl,
# 022_ack.pl and 023_kkt.pl.
package PsClientBuild;

use strict;
use warnings;

use Exporter 'import';
use IPC::Run;
use Test::More;

our @EXPORT = qw(build_client);

# Build $src into $bin (strict warnings); returns pkg-config's flags.
sub build_client
{
	my ($src, $bin) = @_;
	my ($out, $err);
	my $ok = IPC::Run::run([ 'pkg-config', '--cflags', '--libs', 'ps-client' ],
		'>', \$out, '2>', \$err);
	ok($ok, 'pkg-config knows ps-client') or diag($err);
	my @flags = split ' ', $out;
	$ok = IPC::Run::run(
		[
			'cc', '-std=c99', '-D_POSIX_C_SOURCE=200809L', '-Wall', '-Wextra', '-Werror',
			'-o', $bin, $src, @flags, '-lpq', '-lm'
		],
		'>', \$out, '2>', \$err);
	ok($ok, "$src builds against the installed library") or diag($err);
	return @flags;
}

1;
