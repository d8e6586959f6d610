# Copyright: the ps authors.  Licensed like the rest of ps.
#
# PsGdb: freezing server processes at a chosen point with gdb, for tests
# that make a race deterministic (011_cancel.pl, 016_appliers.pl), and
# background psql clients that are stopped whatever happens.
#
# A gdb session attaches to a process, sets its breakpoints and waits
# (inside gdb, so that the process stays stopped) for files the test
# creates to move it on.  Every session and client started is released at
# the end of the test (END below, which runs before the framework stops
# the nodes: use this module after PostgreSQL::Test::Cluster), so that no
# server process is left stopped.
package PsGdb;

use strict;
use warnings;

use Exporter 'import';
use IPC::Run;
use PostgreSQL::Test::Utils;
use Time::HiRes qw(time usleep);

our @EXPORT = qw(gdb_wait_for start_gdb wait_for_file gdb_printed release_gdb
  release_everything note_gdb_sessions track_client touch proc_state start_client);

my $timeout = $PostgreSQL::Test::Utils::timeout_default;
my $tmp = PostgreSQL::Test::Utils::tempdir;

# Every gdb session and background client started, so that they can be
# released and stopped whatever happens (END below, and the eval around
# the gdb part).  A gdb left attached would keep a server process stopped,
# and the framework's own END (an immediate stop of every node) would hang.
my @gdbs;       # { h => IPC::Run handle, out => \$out, files => [...] }
my @clients;    # IPC::Run handles

# gdb commands that wait (inside gdb, so that the inferior stays stopped)
# until a file appears: how the test moves each gdb session on.  The wait
# is bounded, so that a gdb never outlives the test.
sub gdb_wait_for
{
	my ($file) = @_;
	my $n = $timeout * 20;
	return "shell i=0; while [ ! -e '$file' ] && [ \$i -lt $n ]; do sleep 0.05; i=\$((i+1)); done";
}

# Start gdb in the background on a script attaching to pid.  @files are the
# files its script waits for (created by release_gdb to let it finish).
sub start_gdb
{
	my ($name, $pid, $body, @files) = @_;
	my $script = "$tmp/$name.gdb";
	open(my $fh, '>', $script) or die "cannot write $script: $!";
	# Signals the server sends its processes are passed on silently:
	# SIGINT is the cancel itself, SIGUSR1 and SIGURG wake latches.
	print $fh <<"EOF";
set pagination off
set confirm off
set width 0
handle SIGINT nostop noprint pass
handle SIGUSR1 nostop noprint pass
handle SIGUSR2 nostop noprint pass
handle SIGURG nostop noprint pass
handle SIGALRM nostop noprint pass
handle SIGPIPE nostop noprint pass
handle SIGCHLD nostop noprint pass
handle SIGTERM nostop noprint pass
handle SIGQUIT nostop noprint pass
attach $pid
$body
delete
detach
quit
EOF
	close $fh;
	my $out = '';
	local $ENV{DEBUGINFOD_URLS} = '';    # no symbol downloads
	local $ENV{SHELL} = '/bin/sh';       # runs the script's shell commands
	my $h = IPC::Run::start([ 'gdb', '-batch', '-nx', '-q', '-x', $script ],
		'<', \undef, '>', \$out, '2>&1');
	my $g = { name => $name, h => $h, out => \$out, files => [@files] };
	push @gdbs, $g;
	return $g;
}

# Wait until a file exists; die if one of the gdb sessions given exits
# first (it could not attach, or a command of its script failed).
sub wait_for_file
{
	my ($file, $what, @watch) = @_;
	my $deadline = time + $timeout;
	until (-e $file)
	{
		for my $g (@watch)
		{
			$g->{h}->pump_nb if $g->{h}->pumpable;
			die "gdb ($g->{name}) exited before $what (gdb must be able to attach "
			  . "to the server's processes: same uid and kernel.yama.ptrace_scope = 0, "
			  . "or CAP_SYS_PTRACE):\n${ $g->{out} }"
			  unless $g->{h}->pumpable;
		}
		die "timed out waiting for $what" if time > $deadline;
		usleep(20_000);
	}
	$_->{h}->pump_nb for grep { $_->{h}->pumpable } @watch;
	return 1;
}

# Wait until a gdb session has printed something matching $re (its output
# comes through a pipe, some time after the commands ran); returns whether
# it did.
sub gdb_printed
{
	my ($g, $re) = @_;
	my $deadline = time + $timeout;
	while (${ $g->{out} } !~ $re)
	{
		return 0 if !$g->{h}->pumpable || time > $deadline;
		$g->{h}->pump_nb;
		usleep(20_000);
	}
	return 1;
}

# Let a gdb session run to its end (create every file its script waits for:
# it deletes its breakpoints and detaches); if it does not end, SIGTERM
# (gdb then detaches too, also from inside a `continue`), then SIGKILL.
sub release_gdb
{
	my ($g) = @_;
	return if $g->{released};
	$g->{released} = 1;
	for my $f (@{ $g->{files} })
	{
		if (open(my $fh, '>', $f)) { close $fh; }
	}
	my $h = $g->{h};
	for my $signal (undef, 'TERM', 'KILL')
	{
		$h->signal($signal) if defined $signal && $h->pumpable;
		my $deadline = time + 10;
		while ($h->pumpable && time < $deadline)
		{
			$h->pump_nb;
			usleep(20_000);
		}
		last unless $h->pumpable;
	}
	eval { $h->finish; };
	return;
}

sub release_everything
{
	release_gdb($_) for @gdbs;
	for my $c (@clients)
	{
		eval { $c->kill_kill if $c->pumpable; $c->finish; };
	}
	@clients = ();
	return;
}

# Show what every gdb session printed (as TAP notes).
sub note_gdb_sessions
{
	Test::More::note("gdb session ($_->{name}):\n${ $_->{out} }") for @gdbs;
	return;
}

# A background client (IPC::Run handle) to stop at the end.
sub track_client
{
	my ($h) = @_;
	push @clients, $h;
	return $h;
}

END
{
	local $?;    # keep the test's exit status
	release_everything();
}

sub touch
{
	my ($file) = @_;
	open(my $fh, '>', $file) or die "cannot create $file: $!";
	close $fh;
	return;
}

# The state letter of a process in /proc ('t': stopped by its tracer).
sub proc_state
{
	my ($pid) = @_;
	open(my $fh, '<', "/proc/$pid/stat") or return 'gone';
	my $stat = <$fh>;
	close $fh;
	return $stat =~ /^\d+ \(.*\) (\S) /s ? $1 : '?';
}

# A psql client in the background, identified by its application_name.
sub start_client
{
	my ($node, $appname, $sql) = @_;
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(
		[
			'psql', '-XAtq', '-v', 'VERBOSITY=verbose', '-d',
			$node->connstr('postgres') . " application_name=$appname",
			'-c', $sql
		],
		'<', \undef, '>', \$out, '2>', \$err);
	push @clients, $h;
	return { h => $h, out => \$out, err => \$err };
}

1;
