#!/usr/bin/perl
# Where a scenario's CPU goes: the profiles of a BENCH_PERF=1 run of
# bench/run.sh, each run's CPU a request (raw.tsv: the worker's CPU time
# over the run, divided by the requests counted) split by the shares of
# perf's samples, in microseconds a request.
#
#   bench/perf.pl OUT [TOP]     OUT: the run's BENCH_OUT; TOP: how many
#                               functions outside the kernel (default 15)
#
# A run of the slices driver alternates the scenario (B) with its base (A)
# on one worker: each sample goes to the slice it fell in, by its time
# (perf record -k CLOCK_MONOTONIC, the clock of the slices' bounds in
# slices.tsv; the first pair of slices is left out, as in the ratios), and
# each side's CPU a request is split by its own samples' shares.  Both
# sides are printed, and what B takes beyond A: the profile of what the
# scenario adds, measured in the same tenths of a second as its base.
#
# The VM has no hardware counters: perf samples cpu-clock, so a sample
# falls where the worker's time went, cache misses included, and the
# kernel's samples gather where interrupts are enabled again
# (_raw_spin_unlock_irqrestore): the kernel is given as one figure.
use strict;
use warnings;

my $out = shift or die "usage: bench/perf.pl OUT [TOP]\n";
my $top = shift // 15;

open my $fh, '<', "$out/raw.tsv" or die "$out/raw.tsv: $!\n";
<$fh>;

my %cpu;

while (<$fh>) {
    chomp;
    my ($id, $keys, $round, $req, $non2xx, $sockerr, $rps, $cpu) = split /\t/;
    $cpu{"$id.$round"} = $cpu;
}

# [share, name] pairs of one perf report, highest first
sub shares {
    my ($file, $sort) = @_;
    my @rows;

    open my $p, '-|', 'perf', 'report', '-i', $file, '--no-children',
        '--sort', $sort, '-g', 'none', '-q', '--percent-limit', '0.05'
        or die "perf: $!\n";

    while (<$p>) {
        next unless /^\s*([\d.]+)%\s+(.+?)\s*$/;
        push @rows, [$1 / 100, $2];
    }

    close $p;

    return @rows;
}

# the slices of each slices run (ID.ROUND): [A or B, start, end], and each
# side's requests and CPU time
my (%slices, %side);

if (open my $sf, '<', "$out/slices.tsv") {
    while (<$sf>) {
        chomp;
        my ($b, $id, $round, $i, $ab, $req, $err, $cpu, $wall, $t0, $t1)
            = split /\t/;
        next if $i < 2 || !defined $t1;
        push @{$slices{"$id.$round"}}, [$ab, $t0, $t1];
        $side{"$id.$round"}{$ab}{req} += $req;
        $side{"$id.$round"}{$ab}{cpu} += $cpu;
    }
}

# one slices run: [dso => samples] and [dso  sym => samples] by side
sub slice_shares {
    my ($file, $run) = @_;
    my @sl = sort { $a->[1] <=> $b->[1] } @{$slices{$run}};
    my (%dso, %sym, %n);
    my $k = 0;

    open my $p, '-|', 'perf', 'script', '-i', $file, '-F', 'time,ip,sym,dso',
        '--ns' or die "perf: $!\n";

    while (<$p>) {
        next unless /^\s*(\d+)\.(\d{9}):\s+\S+\s+(.*?)\s+\((.*)\)\s*$/;
        my $t = $1 * 1000000000 + $2;
        my ($sym, $dso) = ($3, $4);
        $k++ while $k < @sl && $sl[$k][2] < $t;
        next if $k >= @sl || $sl[$k][1] > $t;
        my $ab = $sl[$k][0];
        $dso = '[kernel.kallsyms]' if $dso =~ /^\[kernel/;
        $dso =~ s{.*/}{};
        $n{$ab}++;
        $dso{$ab}{$dso}++;
        $sym{$ab}{"$dso  $sym"}++ unless $dso eq '[kernel.kallsyms]';
    }

    close $p;

    return (\%n, \%dso, \%sym);
}

sub print_slices {
    my ($file, $run) = @_;
    my ($n, $dso, $sym) = slice_shares($file, $run);
    my %c;

    for my $ab ('A', 'B') {
        my $s = $side{$run}{$ab};
        unless ($n->{$ab} && $s->{req}) {
            warn "$file: no samples in the $ab slices\n";
            return;
        }
        $c{$ab} = $s->{cpu} / 1e3 / $s->{req};
    }

    printf "== %s (slices): A %.3f us, B %.3f us CPU a request " .
           "(B - A %.3f)\n", $run, $c{A}, $c{B}, $c{B} - $c{A};
    printf "  %9s %9s %9s\n", 'A us', 'B us', 'B - A';

    my $us = sub {
        my ($h, $ab, $key) = @_;
        return ($h->{$ab}{$key} // 0) / $n->{$ab} * $c{$ab};
    };

    my %keys = map { $_ => 1 } keys %{$dso->{A}}, keys %{$dso->{B}};
    for my $d (sort { $us->($dso, 'B', $b) <=> $us->($dso, 'B', $a) }
               keys %keys)
    {
        my ($a, $b) = ($us->($dso, 'A', $d), $us->($dso, 'B', $d));
        next if $a < 0.005 && $b < 0.005;
        printf "  %9.3f %9.3f %+9.3f  %s\n", $a, $b, $b - $a, $d;
    }

    print "  outside the kernel, by B - A:\n";

    %keys = map { $_ => 1 } keys %{$sym->{A}}, keys %{$sym->{B}};
    my @by = sort { ($us->($sym, 'B', $b) - $us->($sym, 'A', $b))
                    <=> ($us->($sym, 'B', $a) - $us->($sym, 'A', $a)) }
             keys %keys;
    my $i = 0;
    for my $f (@by) {
        last if $i++ >= $top;
        my ($a, $b) = ($us->($sym, 'A', $f), $us->($sym, 'B', $f));
        printf "  %9.3f %9.3f %+9.3f  %s\n", $a, $b, $b - $a, $f;
    }

    print "\n";
}

my @files = sort glob("$out/perf.*.data");
die "$out: no perf.*.data (BENCH_PERF=1 bench/run.sh)\n" unless @files;

for my $file (@files) {
    my ($run) = $file =~ m{perf\.(.+)\.data$};

    if ($slices{$run}) {
        print_slices($file, $run);
        next;
    }

    unless (defined $cpu{$run}) {
        warn "$file: no run $run in raw.tsv\n";
        next;
    }

    my $c = $cpu{$run};

    printf "== %s: %.3f us CPU a request\n", $run, $c;

    for my $r (shares($file, 'dso')) {
        printf "  %8.3f us  %5.1f%%  %s\n", $r->[0] * $c, 100 * $r->[0],
            $r->[1];
    }

    print "  outside the kernel:\n";

    my $n = 0;

    for my $r (shares($file, 'dso,sym')) {
        next if $r->[1] =~ /^\[kernel/;
        last if $n++ >= $top;
        my $name = $r->[1] =~ s/\s+\[\.\]\s+/  /r;
        printf "  %8.3f us  %5.2f%%  %s\n", $r->[0] * $c, 100 * $r->[0], $name;
    }

    print "\n";
}
