#!/usr/bin/perl
# Instructions a request from two callgrind dumps of N1 and N2 requests:
# (cost in dump 2 - cost in dump 1) / (N2 - N1), for the whole process and
# for each function (inclusive: the function and what it calls; self: its
# own instructions).  Uses callgrind_annotate.
#
#   cg_diff.pl --tsv N1 N2 DUMP1 DUMP2     one line: total, apisec handler,
#                                          HMAC, unseal, LMDB lookup, Lua
#   cg_diff.pl --top K N1 N2 BARE1 BARE2 DUMP1 DUMP2
#                         apisec's functions (inclusive), and the K functions
#                         whose own instructions grew most over bare nginx's
#   cg_diff.pl --table SUMMARY_TSV         the table of bench/callgrind.sh
use strict;
use warnings;

# OpenSSL's SHA-256 compression (sha256_block_data_order) is not an
# exported symbol: callgrind shows it as an address in libcrypto.  It is
# where the exported SHA256_Transform jumps; name it so.
my $sha_block;

sub sha256_block_address {
    my ($lib) = grep { -e } map { "$_/libcrypto.so.3" }
                '/usr/lib/x86_64-linux-gnu', '/usr/lib64', '/usr/lib';
    return undef unless defined $lib;

    my ($t) = map { /^([0-9a-f]+) T SHA256_Transform\b/ ? $1 : () }
              `nm -D $lib 2>/dev/null`;
    return undef unless defined $t;

    my $from = hex $t;
    my @dis = `objdump -d --start-address=$from --stop-address=@{[$from + 32]} $lib 2>/dev/null`;

    for (@dis) {
        return sprintf('0x%016x', hex $1) if /\s(?:jmp|call)\s+([0-9a-f]+)\s/;
    }

    return undef;
}

$sha_block = sha256_block_address();

# function => [inclusive, self] of one dump
sub annotate {
    my ($file) = @_;
    my %f;

    for my $incl (1, 0) {
        my $mode = $incl ? 'yes' : 'no';
        open my $h, '-|', 'callgrind_annotate', "--inclusive=$mode",
             '--threshold=100', '--auto=no', $file
            or die "callgrind_annotate: $!";

        while (<$h>) {
            next unless /^\s*([\d,]+)\s+(?:\([\s\d.]+%\)\s+)?(\S.*?)\s*$/;
            my ($n, $name) = ($1, $2);
            $n =~ tr/,//d;

            if ($name eq 'PROGRAM TOTALS') {
                $f{'TOTAL'} = [$n, $n];
                next;
            }

            # "file:function [object]" -> "function [object base name]"
            $name =~ s/^[^:\[]*?:(?=[^:])//;
            $name =~ s{\[(?:.*/)?([^/\]]+)\]$}{[$1]};
            $name =~ s/^\Q$sha_block\E (?=\[libcrypto)/sha256_block_data_order /
                if defined $sha_block;
            $f{$name}[$incl ? 0 : 1] += $n;
        }
        close $h;
    }

    # the frames that were on the stack when the counters were zeroed
    # (main and the event loop) show the whole total as their own: drop
    # those self costs
    for my $name (keys %f) {
        next if $name eq 'TOTAL';
        $f{$name}[1] = 0 if ($f{$name}[1] // 0) >= $f{TOTAL}[1];
    }

    return \%f;
}

sub per_request {
    my ($n1, $n2, $d1, $d2) = @_;
    my ($a, $b) = (annotate($d1), annotate($d2));
    my %r;

    for my $name (keys %$b) {
        for my $i (0, 1) {
            my $v = (($b->{$name}[$i] // 0) - ($a->{$name}[$i] // 0))
                    / ($n2 - $n1);
            $r{$name}[$i] = $v;
        }
    }

    return \%r;
}

# inclusive cost a request of the functions whose name matches
sub incl {
    my ($r, $re) = @_;
    my $sum = 0;

    for my $name (keys %$r) {
        $sum += $r->{$name}[0] if $name =~ $re;
    }

    return $sum;
}

my $mode = shift // '';

if ($mode eq '--tsv') {
    my $r = per_request(@ARGV);

    # apisec's HMAC: apisec_hmac_sha256 (keyed with the cached secret each
    # time), apisec_hmac_sha256_padded (from the key's pads, made by
    # apisec_hmac_sha256_pads when the secret is unsealed: since 2026-12-07)
    # or apisec_hmac_key_sha256 (builds before 2026-12-02); HMAC_Init_ex,
    # HMAC_Update and HMAC_Final count for the Lua peer only (EVP_MAC's
    # HMAC calls them too)
    my $hmac = incl($r, qr/^apisec_hmac_(?:key_)?sha256(?:_padded|_pads)? /)
               || incl($r, qr/^(?:HMAC_Init_ex|HMAC_Update|HMAC_Final) /);

    my $sha = 0;
    for my $name (keys %$r) {
        $sha += $r->{$name}[1] if $name =~ /^sha256_block_data_order /;
    }

    printf "%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\n",
        $r->{TOTAL}[0],
        incl($r, qr/^ngx_http_apisec_handler /),
        $hmac, $sha,
        incl($r, qr/^apisec_unseal /),
        incl($r, qr/^apisec_key_get /) + incl($r, qr/^apisec_key_find /),
        incl($r, qr/^ngx_http_lua_access_handler /);
    exit 0;
}

if ($mode eq '--top') {
    # the functions of apisec's path: what apisec's own functions cost
    # with their callees, then which functions (anywhere) run more
    # instructions than with bare nginx, by their own instructions
    my ($k, $n1, $n2, $b1, $b2, $s1, $s2) = @ARGV;
    my $bare = per_request($n1, $n2, $b1, $b2);
    my $r = per_request($n1, $n2, $s1, $s2);
    my $over = $r->{TOTAL}[0] - $bare->{TOTAL}[0];

    printf "instructions a request: %.0f; bare nginx: %.0f; difference: %.0f\n\n",
        $r->{TOTAL}[0], $bare->{TOTAL}[0], $over;

    print "apisec's functions, inclusive (with what they call):\n";
    printf "%10s %10s  %s\n", 'inclusive', 'self', 'function';

    my @mod = sort { $r->{$b}[0] <=> $r->{$a}[0] }
              grep { /\[ngx_http_apisec_module\.so\]$/ && $r->{$_}[0] >= 20 }
              keys %$r;

    for my $name (@mod[0 .. ($k < @mod ? $k : @mod) - 1]) {
        (my $short = $name) =~ s/ \[ngx_http_apisec_module\.so\]$//;
        printf "%10.0f %10.0f  %s\n", $r->{$name}[0], $r->{$name}[1], $short;
    }

    print "\nfunctions by their own instructions a request, minus bare "
        . "nginx's (where the difference goes):\n";
    printf "%10s %6s  %s\n", 'self', 'share', 'function [object]';

    my %d;
    for my $name (keys %$r) {
        next if $name eq 'TOTAL';
        $d{$name} = $r->{$name}[1] - ($bare->{$name}[1] // 0);
    }

    my @top = sort { $d{$b} <=> $d{$a} } grep { $d{$_} >= 1 } keys %d;
    my $shown = 0;

    for my $name (@top[0 .. ($k < @top ? $k : @top) - 1]) {
        printf "%10.0f %5.1f%%  %s\n", $d{$name}, 100 * $d{$name} / $over,
            $name;
        $shown += $d{$name};
    }

    printf "%10.0f %5.1f%%  the rest\n", $over - $shown,
        100 * ($over - $shown) / $over;
    exit 0;
}

if ($mode eq '--table') {
    my $file = shift;
    open my $h, '<', $file or die "$file: $!";

    my (@rows, %bare);

    while (<$h>) {
        chomp;
        my ($sc, $keys, $inst, $total, $handler, $hmac, $sha, $unseal, $get,
            $lua) = split /\t/;
        push @rows, [$sc, $keys, $inst, $total, $handler, $hmac, $sha,
                     $unseal, $get, $lua];
        $bare{"$inst/$sc"} = $total if $sc =~ /^bare/;
    }

    my $kn = sub {
        my ($n) = @_;
        return ($n / 1000000) . 'M' if $n % 1000000 == 0;
        return ($n / 1000) . 'k' if $n % 1000 == 0;
        return $n;
    };

    printf "%-10s %5s %9s %9s %9s %8s %7s %11s %8s %8s\n", 'scenario',
        'keys', 'Ir/req', 'over bare', 'handler', 'HMAC', 'SHA-256',
        'beyond HMAC', 'unseal', 'lookup';

    for my $row (@rows) {
        my ($sc, $keys, $inst, $total, $handler, $hmac, $sha, $unseal, $get,
            $lua) = @$row;
        my $base = $sc =~ /^(?:bare-post|amount|amount-1h)$/ ? 'bare-post' : 'bare';
        my $b = $bare{"$inst/$base"};

        if ($sc =~ /^bare/ || !defined $b) {
            printf "%-10s %5s %9.0f %9s %9s %8s %7s %11s %8s %8s\n", $sc,
                $kn->($keys), $total, '-', '-', '-', '-', '-', '-', '-';
            next;
        }

        my $over = $total - $b;
        my $h = $sc eq 'lua' ? $lua : $handler;

        printf "%-10s %5s %9.0f %9.0f %9.0f %8.0f %7.0f %11.0f %8s %8s\n",
            $sc, $kn->($keys), $total, $over, $h, $hmac, $sha, $over - $hmac,
            $sc eq 'lua' ? '-' : sprintf('%.0f', $unseal),
            $sc eq 'lua' ? '-' : sprintf('%.0f', $get);
    }

    print "\nIr/req: instructions a request, the whole nginx process; over "
        . "bare: minus bare nginx's (bare-post for POST) in the same process;\n"
        . "handler: apisec's access handler (the Lua access handler for "
        . "lua), inclusive; HMAC: the HMAC-SHA256 call (apisec_hmac_sha256 "
        . "or _padded; HMAC_Init_ex/Update/Final for lua), "
        . "inclusive; SHA-256: of "
        . "which the SHA-256 compression function (sha256_block_data_order);\n"
        . "beyond HMAC: over bare minus HMAC; unseal: AES-256-GCM opening "
        . "of the key's secret; lookup: apisec_key_find (or apisec_key_get: the "
        . "key cache, the LMDB read transaction, record decoding)\n";
    exit 0;
}

die "usage: cg_diff.pl --tsv N1 N2 DUMP1 DUMP2 | --top K N1 N2 BARE1 BARE2 DUMP1 DUMP2 | --table FILE\n";
