#!/usr/bin/perl
# The table of bench/run.sh from its raw.tsv: per scenario the medians over
# the rounds, and the medians of the per-round ratios to bare nginx of the
# same round (bare-post for the POST scenarios).
#   req/s ratio:  scenario req/s / bare req/s (1.00 = as fast as bare)
#   CPU ratio:    bare CPU a request / scenario CPU a request (1.00 = costs
#                 what bare nginx costs; 0.90 = the scenario's request costs
#                 1/0.90 of bare's)
#   CPU q1-q3:    the per-round CPU ratios' lower and upper quartiles: how
#                 far one round's ratio strays as the VM's speed drifts
# A row "bare A/A" (bench/run.sh's slices, SCENARIO-aa) is the base against
# itself: the ratios the method finds where there is no difference.
use strict;
use warnings;

# the scenario each scenario's ratios are to (bare unless listed)
my %base_of = ('bare-post' => 'bare-post', amount => 'bare-post',
               'amount-1h' => 'bare-post');

# summary.pl --base-of SCENARIO: that scenario (for bench/run.sh's pairs)
if (@ARGV == 2 && $ARGV[0] eq '--base-of') {
    my $sc = $ARGV[1] =~ s/-(1k|aa)$//r;
    print $base_of{$sc} // 'bare', "\n";
    exit 0;
}

my $file = shift or die "usage: summary.pl raw.tsv | --base-of SCENARIO\n";

open my $fh, '<', $file or die "$file: $!";
my $head = <$fh>;

my (%run, @order, %seen);

while (<$fh>) {
    chomp;
    my ($id, $keys, $round, $req, $non2xx, $sockerr, $rps, $cpu, $wrk)
        = split /\t/;
    push @order, $id unless $seen{$id}++;
    $run{$id}{$round} = { keys => $keys, req => $req, non2xx => $non2xx,
                          sockerr => $sockerr, rps => $rps, cpu => $cpu,
                          wrk => $wrk };
}

sub median {
    my @v = sort { $a <=> $b } @_;
    return undef unless @v;
    return $v[$#v / 2] if @v % 2;
    return ($v[@v / 2 - 1] + $v[@v / 2]) / 2;
}

# the lower and upper quartiles (the medians of each half; n >= 2)
sub quartiles {
    my @v = sort { $a <=> $b } @_;
    return (undef, undef) if @v < 2;
    my $h = int(@v / 2);
    return (median(@v[0 .. $h - 1]), median(@v[$#v - $h + 1 .. $#v]));
}

sub keys_name {
    my ($n) = @_;
    return ($n / 1000000) . 'M' if $n % 1000000 == 0;
    return ($n / 1000) . 'k' if $n % 1000 == 0;
    return $n;
}


printf "%-13s %5s %10s %7s %12s %9s %10s %8s %9s\n",
    'scenario', 'keys', 'req/s', 'ratio', 'CPU us/req', 'CPU ratio',
    'CPU q1-q3', 'non-2xx', 'gen CPU';

for my $id (@order) {
    my $r = $run{$id};
    my @rounds = sort { $a <=> $b } keys %$r;
    my $sc = $id =~ s/-(1k|aa)$//r;
    my $base = $base_of{$sc} // 'bare';
    my (@rps_ratio, @cpu_ratio);

    for my $n (@rounds) {
        my $b = $run{$base}{$n} or next;
        push @rps_ratio, $r->{$n}{rps} / $b->{rps};
        push @cpu_ratio, $b->{cpu} / $r->{$n}{cpu};
    }

    my $non2xx = 0;
    $non2xx += $r->{$_}{non2xx} + $r->{$_}{sockerr} for @rounds;

    my $label = $base ne 'bare' && $sc ne $base ? "$sc*" : $sc;
    $label .= ' A/A' if $id =~ /-aa$/;

    # the replay pool is large: loading it takes wrk seconds of CPU
    my $wrk = $sc eq 'replay'
              ? '-'
              : sprintf('%.0f%%', 100 * median(map { $_->{wrk} } values %$r));

    my ($q1, $q3) = $id eq $base ? () : quartiles(@cpu_ratio);
    my $iqr = defined $q1 ? sprintf('%.2f-%.2f', $q1, $q3) : '-';

    printf "%-13s %5s %10.0f %7.2f %12.3f %9.2f %10s %8d %9s\n",
        $label, $sc eq $base ? '-' : keys_name($r->{$rounds[0]}{keys}),
        median(map { $_->{rps} } values %$r),
        median(@rps_ratio) // 0,
        median(map { $_->{cpu} } values %$r),
        median(@cpu_ratio) // 0,
        $iqr, $non2xx, $wrk;
}

print "\n* POST with a form body: ratios to bare-post (nginx alone, the same "
    . "POST)\n"
    if grep { ($base_of{$_ =~ s/-1k$//r} // '') eq 'bare-post'
              && $_ ne 'bare-post' } @order;
print "ratio: req/s over bare's req/s; CPU ratio: bare's CPU a request over "
    . "the scenario's (>= 0.90 is the goal)\n"
    . "CPU q1-q3: the quartiles of the rounds' CPU ratios (their spread is "
    . "the VM's drift)\n"
    . "gen CPU: the load generator's CPU use on its core (wrk, or "
    . "bench/loadgen in slices; near 100%: it, not nginx, sets the pace)\n";
print "A/A: the base against itself, the same way (the method's spread)\n"
    if grep { /-aa$/ } @order;
