#!/usr/bin/perl
# Where a scenario's CPU goes: the profiles of a BENCH_PERF=1 run of
# bench/run.sh, each run's CPU a request (raw.tsv: the worker's utime +
# stime over the run, divided by the requests wrk counted) split by the
# shares of perf's samples, in microseconds a request.
#
#   bench/perf.pl OUT [TOP]     OUT: the run's BENCH_OUT; TOP: how many
#                               functions outside the kernel (default 15)
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

my @files = sort glob("$out/perf.*.data");
die "$out: no perf.*.data (BENCH_PERF=1 bench/run.sh)\n" unless @files;

for my $file (@files) {
    my ($run) = $file =~ m{perf\.(.+)\.data$};

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
