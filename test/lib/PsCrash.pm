# Copyright: the ps authors.  Licensed like the rest of ps.
#
# PsCrash: a power cut for a test node.  kill9_everything freezes the
# postmaster and every process it started (so that none can fork or
# react), kills them all with SIGKILL, and waits until every pid is gone,
# zombies included: a zombie postmaster still "exists" for kill(0), and the
# next start would fail with 'lock file "postmaster.pid" already exists'.
# Used by 001_crash.pl, 005_preload.pl and 021_once.pl.
package PsCrash;

use strict;
use warnings;

use Exporter 'import';
use PostgreSQL::Test::Utils;
use Time::HiRes qw(usleep);

our @EXPORT = qw(children_of kill9_everything);

# Children of a process, from /proc.
sub children_of
{
	my ($ppid) = @_;
	my @kids;
	opendir(my $dh, '/proc') or die "cannot read /proc: $!";
	for my $pid (grep { /^\d+$/ } readdir($dh))
	{
		open(my $fh, '<', "/proc/$pid/stat") or next;
		my $stat = <$fh>;
		close $fh;
		next unless defined $stat;
		# pid (comm) state ppid ...; comm may hold spaces and parentheses
		push @kids, $pid + 0
		  if $stat =~ /^\d+ \(.*\) \S+ (\d+) /s && $1 == $ppid;
	}
	closedir $dh;
	return @kids;
}

# Is the process completely gone (not even a zombie)?
sub process_gone
{
	my ($pid) = @_;
	my $stat = `ps -o stat= -p $pid`;
	return $stat !~ /\S/;
}

# kill -9 the node's postmaster and every process it started; returns the
# number of processes killed, once all of them are gone.
sub kill9_everything
{
	my ($node) = @_;
	my ($pm) = split /\n/, slurp_file($node->data_dir . '/postmaster.pid');
	$pm += 0;

	kill 'STOP', $pm;
	my @kids = children_of($pm);
	kill 'STOP', @kids;
	kill 'KILL', $pm, @kids;
	$node->kill9;    # the framework's view: the node is down

	my $deadline = time + $PostgreSQL::Test::Utils::timeout_default;
	for my $pid ($pm, @kids)
	{
		while (!process_gone($pid))
		{
			die "process $pid still exists after SIGKILL" if time > $deadline;
			usleep(100_000);
		}
	}
	return 1 + scalar(@kids);
}

1;
