# Copyright: the ps authors.  Licensed like the rest of ps.
#
# 015_layers.pl: the source tree keeps its layers (README, "How the code is
# organised").
#
#   - Every file of src/server and src/common says its layer in its header
#     comment ("Layer N (name)"), and no file is longer than 800 lines.
#   - No file includes a file of a higher layer; an internal header
#     (*_int.h) is included only by files of its own layer; a file of
#     src/common includes only files of src/common and the C library, and
#     compiles with no PostgreSQL header on the include path.
#   - No object calls a function, or uses a variable, defined by a file of
#     a higher layer (read from the built objects with nm: every .c must
#     have its .o, so run this after the build, as make installcheck does).
#   - Includes and calls together form no cycle between files.
#   - README.md's "How the code is organised" names every .c file once, in
#     the layer the file says.
#
# It reads the tree it runs in; it starts no server.
use strict;
use warnings;

use File::Basename;
use PostgreSQL::Test::Utils;
use Test::More;

my @dirs = ('src/common', 'src/server');
-d $_ or BAIL_OUT("no $_ here: run from the top of the source tree") for @dirs;

my %layer;     # file name -> layer
my %dir_of;    # file name -> directory
my %lines;
for my $dir (@dirs)
{
	for my $path (sort glob("$dir/*.c $dir/*.h"))
	{
		my $f = basename($path);
		die "two files named $f" if $dir_of{$f};
		$dir_of{$f} = $dir;
		my $text = slurp_file($path);
		$lines{$f} = ($text =~ tr/\n//);
		my ($header) = $text =~ m{\A(/\*.*?\*/)}s;
		if (defined $header && $header =~ /\bLayer (\d+) \(/)
		{
			$layer{$f} = $1;
		}
	}
}
my @files = sort keys %dir_of;
ok(scalar(@files) > 20, 'the tree has its files (' . scalar(@files) . ')');

my @no_layer = grep { !defined $layer{$_} } @files;
is("@no_layer", '', 'every file says its layer in its header comment');
my @long = map { "$_ ($lines{$_})" } grep { $lines{$_} > 800 } @files;
is("@long", '', 'no file is longer than 800 lines');

# The unit a file belongs to, for calls and cycles: a .c file and the
# header of the same name are one unit (an internal header, x_int.h, is a
# unit of its own).
sub unit
{
	my ($f) = @_;
	(my $u = $f) =~ s/\.[ch]$//;
	return $u;
}

my %edges;    # "from unit" -> {"to unit" => what}
my @upward;
my @internal;
my @common_bad;
for my $f (@files)
{
	my $text = slurp_file("$dir_of{$f}/$f");
	while ($text =~ /^#include\s+([<"])([^>"]+)[>"]/mg)
	{
		my ($kind, $inc) = ($1, $2);
		my $to = basename($inc);
		if ($dir_of{$f} eq 'src/common')
		{
			push @common_bad, "$f includes $inc"
			  if ($kind eq '"' && ($dir_of{$to} // '') ne 'src/common')
			  || ($kind eq '<' && $inc !~ m{^(stddef|stdint|stdlib|string|stdbool|stdio|math|errno|limits|inttypes)\.h$});
		}
		next unless $kind eq '"' && exists $dir_of{$to};
		next if unit($to) eq unit($f);
		push @upward, "$f (layer $layer{$f}) includes $to (layer $layer{$to})"
		  if defined $layer{$f} && defined $layer{$to} && $layer{$to} > $layer{$f};
		push @internal, "$f (layer $layer{$f}) includes $to (layer $layer{$to})"
		  if $to =~ /_int\.h$/ && defined $layer{$f} && defined $layer{$to}
		  && $layer{$to} != $layer{$f};
		$edges{ unit($f) }{ unit($to) } .= "#include $to ";
	}
}
is(join("\n", @upward), '', 'no file includes a file of a higher layer');
is(join("\n", @internal), '', 'internal headers are included only within their layer');
is(join("\n", @common_bad), '', 'src/common includes only src/common and the C library');

# src/common is plain C: it compiles without any PostgreSQL header.
for my $c (grep { /\.c$/ && $dir_of{$_} eq 'src/common' } @files)
{
	# PostgreSQL's headers are not on gcc's default path: only -I would
	# bring them in, and none is given.
	my ($out, $err) = run_command(
		[ 'gcc', '-std=c99', '-pedantic', '-Wall', '-Wextra', '-Werror',
		  '-fsyntax-only', '-Isrc/common', "src/common/$c" ]);
	is($err, '', "src/common/$c compiles with only the C library's headers");
}

# Calls, from the objects: who defines each symbol, who uses it.
my %def;
my %uses;
my @no_object;
for my $c (grep { /\.c$/ } @files)
{
	(my $o = "$dir_of{$c}/$c") =~ s/\.c$/.o/;
	if (!-f $o)
	{
		push @no_object, $c;
		next;
	}
	my ($out, $err) = run_command([ 'nm', $o ]);
	for my $l (split /\n/, $out)
	{
		if ($l =~ /^[0-9a-f]+ [TDBRC] (\S+)$/)
		{
			$def{$1} = $c;
		}
		elsif ($l =~ /^\s+U (\S+)$/)
		{
			$uses{$c}{$1} = 1;
		}
	}
}
is("@no_object", '', 'every .c file has its object (built)');
my @upcalls;
for my $c (sort keys %uses)
{
	for my $sym (sort keys %{ $uses{$c} })
	{
		my $d = $def{$sym} or next;
		next if $d eq $c;
		push @upcalls, "$c (layer $layer{$c}) uses $sym of $d (layer $layer{$d})"
		  if $layer{$d} > $layer{$c};
		$edges{ unit($c) }{ unit($d) } .= "$sym ";
	}
}
is(join("\n", @upcalls), '', 'no file calls into a file of a higher layer');

# No cycle: depth-first search over units.
my %state;    # 1: on the path, 2: done
my @cycle;
sub visit
{
	my ($u, @path) = @_;
	return if @cycle || ($state{$u} // 0) == 2;
	if (($state{$u} // 0) == 1)
	{
		my @from = @path;
		shift @from while @from && $from[0] ne $u;
		@cycle = (@from, $u);
		return;
	}
	$state{$u} = 1;
	visit($_, @path, $u) for sort keys %{ $edges{$u} // {} };
	$state{$u} = 2;
}
visit($_) for sort keys %edges;
my $why = '';
for my $i (0 .. $#cycle - 1)
{
	$why .= "$cycle[$i] -> $cycle[$i + 1]: $edges{$cycle[$i]}{$cycle[$i + 1]}\n";
}
is($why, '', 'includes and calls form no cycle between files');

# README's diagram: lines that begin with a layer number, and the lines
# that continue them, name the files of that layer.
my $readme = slurp_file('README.md');
my ($section) = $readme =~ /^## How the code is organised\n(.*?)^## /ms;
ok(defined $section, 'README has its section "How the code is organised"');
my %readme_layer;
my @twice;
my $current;
for my $l (split /\n/, $section // '')
{
	$current = $1 if $l =~ /^\s?(\d+) \S/;
	$current = undef if $l =~ /^```/;
	next unless defined $current;
	for my $c ($l =~ /\b((?:common\/)?ps\w*\.c)\b/g)
	{
		my $f = basename($c);
		push @twice, $f if exists $readme_layer{$f};
		$readme_layer{$f} = $current;
	}
}
my @mismatch;
for my $c (grep { /\.c$/ } @files)
{
	my $in = $readme_layer{$c};
	push @mismatch, "$c: layer $layer{$c}, README " . ($in // 'does not name it')
	  if !defined $in || !defined $layer{$c} || $in != $layer{$c};
}
push @mismatch, "$_: in README, not in the tree"
  for grep { !exists $dir_of{$_} } sort keys %readme_layer;
is(join("\n", @mismatch, map { "$_: named twice" } @twice), '',
	'README names every .c file once, in its layer');

done_testing();
