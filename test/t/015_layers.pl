# Copyright: the ps authors.  Licensed like the rest of ps.
#
# 015_layers.pl: the source tree keeps its layers (README, "How the code is
# organised").
#
#   - Every file under src/ says its layer in its header comment ("Layer N
#     (name)"), a header the same layer as its .c file, and no file is
#     longer than 800 lines.
#   - No file includes a file of a higher layer (quoted or in angle
#     brackets); no include is computed (#include MACRO); an internal
#     header (*_int.h) is included only by files of its own layer.
#   - No object calls a function, or uses a variable, defined by a file of
#     a higher layer (read from the built objects with nm: every .c must
#     have its .o, newer than the .c, so this runs after the build, as make
#     installcheck does).
#   - Within a layer, includes and calls follow README's order ("a > b":
#     a may use b; files between two ">" do not use each other).
#   - Includes and calls together form no cycle between files.
#   - src/common is plain C: it includes only C library headers and files
#     of src/common, and its files, compiled alone, link into a shared
#     object with no undefined symbol outside the C library.
#   - README.md's "How the code is organised" names every .c file once, in
#     the layer the file says.
#
# It reads the tree it runs in; it starts no server.
use strict;
use warnings;

use File::Basename;
use File::Find;
use File::Temp qw(tempdir);
use IPC::Run;
use PostgreSQL::Test::Utils;
use Test::More;

-d $_ or BAIL_OUT("no $_ here: run from the top of the source tree")
  for ('src/common', 'src/server');

# Run a command; returns (exit status, stdout, stderr).
sub run
{
	my ($out, $err) = ('', '');
	my $ok = IPC::Run::run($_[0], '>', \$out, '2>', \$err);
	return ($ok ? 0 : ($? >> 8 || 1), $out, $err);
}

my %layer;    # file name -> layer
my %dir_of;   # file name -> directory
my %lines;
my @paths;
find(sub { push @paths, $File::Find::name if /\.[ch]$/ }, 'src');
for my $path (sort @paths)
{
	my $f = basename($path);
	die "two files named $f" if $dir_of{$f};
	$dir_of{$f} = dirname($path);
	my $text = slurp_file($path);
	$lines{$f} = ($text =~ tr/\n//);
	my ($header) = $text =~ m{\A(/\*.*?\*/)}s;
	$layer{$f} = $1 if defined $header && $header =~ /\bLayer (\d+) \(/;
}
my @files = sort keys %dir_of;
ok(scalar(@files) > 20, 'the tree has its files (' . scalar(@files) . ')');
is(join(' ', grep { !defined $layer{$_} } @files), '',
	'every file says its layer in its header comment');
my @pairs;
for my $h (grep { /\.h$/ } @files)
{
	(my $c = $h) =~ s/\.h$/.c/;
	push @pairs, "$h (layer $layer{$h}) and $c (layer $layer{$c})"
	  if exists $layer{$c} && defined $layer{$h} && $layer{$h} != $layer{$c};
}
is(join("\n", @pairs), '', 'each header is in the layer of its .c file');
is(join(' ', map { "$_ ($lines{$_})" } grep { $lines{$_} > 800 } @files), '',
	'no file is longer than 800 lines');

# The unit a file belongs to, for calls and cycles: a .c file and the
# header of the same name (an internal header, x_int.h, is a unit of its
# own).
sub unit { (my $u = $_[0]) =~ s/\.[ch]$//; return $u; }

# README's diagram: each layer's files, in groups separated by ">".
my $readme = slurp_file('README.md');
my ($section) = $readme =~ /^## How the code is organised\n(.*?)^## /ms;
ok(defined $section, 'README has its section "How the code is organised"');
my ($diagram) = ($section // '') =~ /^```\n(\s?\d+ .*?)^```/ms;
ok(defined $diagram, 'and in it the diagram of the layers');
my (%readme_layer, %group, @twice);
my ($current, $g);
for my $l (split /\n/, $diagram // '')
{
	($current, $g) = ($1, 0) if $l =~ /^\s?(\d+) \S/;
	next unless defined $current;
	# the file names and the ">" between them, in order
	while ($l =~ /(>)|\b((?:common\/)?ps\w*\.c)\b/g)
	{
		if (defined $1) { $g++; next; }
		my $f = basename($2);
		push @twice, $f if exists $readme_layer{$f};
		$readme_layer{$f} = $current;
		$group{$f} = $g;
	}
}
my @mismatch;
for my $c (grep { /\.c$/ } @files)
{
	my $in = $readme_layer{$c};
	push @mismatch, "$c: layer " . ($layer{$c} // '?') . ', README ' . ($in // 'does not name it')
	  if !defined $in || !defined $layer{$c} || $in != $layer{$c};
}
push @mismatch, "$_: in README, not in the tree"
  for grep { !exists $dir_of{$_} } sort keys %readme_layer;
is(join("\n", @mismatch, map { "$_: named twice" } @twice), '',
	'README names every .c file once, in its layer');

# The group of a file within its layer: that of its .c file (headers and
# internal headers go with the .c of their name, or are below every group).
sub group_of
{
	my ($f) = @_;
	(my $c = $f) =~ s/(_int)?\.h$/.c/;
	return $group{$c} // 1e9;
}

# Is an edge from file a to file b (of the same layer or not) allowed?
# Returns the reason it is not, or undef.
sub forbidden
{
	my ($a, $b) = @_;
	return undef unless defined $layer{$a} && defined $layer{$b};
	return "a higher layer" if $layer{$b} > $layer{$a};
	return undef if $layer{$b} < $layer{$a} || unit($a) eq unit($b);
	return undef if $b =~ /_int\.h$/;    # within its layer: allowed
	return undef if group_of($b) > group_of($a);
	return "a file that README's order puts at or above it in layer $layer{$a}";
}

my %edges;    # unit -> {unit => what}
my (@bad_includes, @internal, @common_bad);
my $std = qr{^(assert|complex|ctype|errno|fenv|float|inttypes|iso646|limits|locale|math|setjmp|signal|stdalign|stdarg|stdatomic|stdbool|stddef|stdint|stdio|stdlib|stdnoreturn|string|tgmath|threads|time|uchar|wchar|wctype)\.h$};
for my $f (@files)
{
	my $text = slurp_file("$dir_of{$f}/$f");
	while ($text =~ /^[ \t]*#[ \t]*include[ \t]*(\S)([^\n]*)$/mg)
	{
		my ($open, $rest) = ($1, $2);
		if ($open ne '"' && $open ne '<')
		{
			push @bad_includes, "$f: computed #include $open$rest";
			next;
		}
		my ($inc) = $rest =~ /^([^">]+)/;
		my $to = basename($inc);
		my $ours = exists $dir_of{$to} && ($open eq '<' || $inc eq $to || "$dir_of{$to}/$to" =~ /\Q$inc\E$/);
		if ($dir_of{$f} =~ m{^src/common})
		{
			push @common_bad, "$f includes $open$inc"
			  unless ($ours && $dir_of{$to} =~ m{^src/common})
			  || (!$ours && $open eq '<' && $inc =~ $std);
		}
		next unless $ours && unit($to) ne unit($f);
		if (my $why = forbidden($f, $to))
		{
			push @bad_includes, "$f (layer $layer{$f}) includes $to (layer $layer{$to}): $why";
		}
		push @internal, "$f (layer $layer{$f}) includes $to (layer $layer{$to})"
		  if $to =~ /_int\.h$/ && defined $layer{$f} && defined $layer{$to}
		  && $layer{$to} != $layer{$f};
		$edges{ unit($f) }{ unit($to) } .= "#include $to ";
	}
}
is(join("\n", @bad_includes), '', 'no file includes a file above it');
is(join("\n", @internal), '', 'internal headers are included only within their layer');
is(join("\n", @common_bad), '', 'src/common includes only src/common and the C library');

# Calls, from the objects: who defines each symbol, who uses it.
my (%def, %uses, @no_object);
for my $c (grep { /\.c$/ } @files)
{
	(my $o = "$dir_of{$c}/$c") =~ s/\.c$/.o/;
	if (!-f $o || (stat $o)[9] < (stat "$dir_of{$c}/$c")[9])
	{
		push @no_object, "$c (" . (-f $o ? 'object older than the source' : 'no object') . ')';
		next;
	}
	my ($status, $out, $err) = run([ 'nm', $o ]);
	my $defined = 0;
	for my $l (split /\n/, $out)
	{
		if ($l =~ /^[0-9a-f]+ [TDBRCGSVW] (\S+)$/)
		{
			$def{$1} = $c;
			$defined++;
		}
		elsif ($l =~ /^\s+[Uw] (\S+)$/)
		{
			$uses{$c}{$1} = 1;
		}
	}
	push @no_object, "$c (nm: status $status, $defined symbols defined: $err)"
	  if $status != 0 || $defined == 0;
}
is(join("\n", @no_object), '', 'every .c file has its object, built after it, that nm reads');
my @calls;
for my $c (sort keys %uses)
{
	for my $sym (sort keys %{ $uses{$c} })
	{
		my $d = $def{$sym} or next;
		next if $d eq $c;
		if (my $why = forbidden($c, $d))
		{
			push @calls, "$c (layer $layer{$c}) uses $sym of $d (layer $layer{$d}): $why";
		}
		$edges{ unit($c) }{ unit($d) } .= "$sym ";
	}
}
is(join("\n", @calls), '', 'no file calls a file above it');

# No cycle: depth-first search over units.
my (%state, @cycle);
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
$why .= "$cycle[$_] -> $cycle[$_ + 1]: $edges{$cycle[$_]}{$cycle[$_ + 1]}\n" for 0 .. $#cycle - 1;
is($why, '', 'includes and calls form no cycle between files');

# src/common on its own: compiled without the server's include paths (so
# none of PostgreSQL's server headers can be found), and linked into a
# shared object that may leave nothing undefined but the C library's.
my $tmp = tempdir(CLEANUP => 1);
my @objs;
for my $c (grep { /\.c$/ && $dir_of{$_} =~ m{^src/common} } @files)
{
	(my $o = "$tmp/$c") =~ s/\.c$/.o/;
	my ($status, $out, $err) = run(
		[ 'gcc', '-std=c99', '-pedantic', '-Wall', '-Wextra', '-Werror', '-fPIC',
		  '-c', "-I$dir_of{$c}", "$dir_of{$c}/$c", '-o', $o ]);
	is("$status $err", '0 ', "$c compiles alone, with the C library's headers");
	push @objs, $o;
}
my ($status, $out, $err) = run(
	[ 'gcc', '-shared', '-Wl,--no-undefined', '-o', "$tmp/common.so", @objs, '-lm' ]);
is("$status $err", '0 ', 'src/common links with nothing but the C library');

done_testing();
