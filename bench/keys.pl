#!/usr/bin/perl
# Keys and pre-signed requests for the benchmarks (bench/run.sh).
#
# Key number i (1..N) of a store of N keys is a function of i alone, so that
# requests can be signed without reading the store back:
#   access key  the first 40 hex digits (upper case) of SHA-256("apisec-bench-key-i")
#   secret      the 64 hex digits of SHA-256("apisec-bench-secret-i")
#
#   keys.pl import N        JSON lines for `apisecctl import`
#   keys.pl tsv N           "access_key TAB secret" lines (the Lua peer's keys)
#   keys.pl sign OPTIONS    a pool of signed requests for bench/pool.lua, one
#                           a line: METHOD TAB URI TAB ACCESS_KEY TAB BODY
#
# sign OPTIONS:
#   --keys N        the store's size (keys 1..N)
#   --sample S      how many distinct keys the pool uses, spread evenly over
#                   1..N (default 10000, at most N)
#   --count C       how many requests (default S)
#   --path P        the request path (default /auth/v1/account)
#   --method M      GET (signature in the query) or POST (an
#                   application/x-www-form-urlencoded body with the amount
#                   fields, signed in the body)
#   --recv MS       recvWindow sent by every request (default 60000, the
#                   largest the hashkey scheme accepts without
#                   apisec_time_window)
#   --now MS        the timestamp (Unix ms; default now)
#
# Every request of a pool differs from the others by its key or its
# timestamp (request j uses key j mod S and timestamp now - floor(j / S)),
# so with C <= 1000 * S no signature appears twice: the replay guard's pool
# is a pool of once-only requests.
use strict;
use warnings;

use Digest::SHA qw(sha256_hex hmac_sha256_hex);
use Getopt::Long qw(GetOptionsFromArray);
use Time::HiRes ();

sub access_key { uc substr(sha256_hex("apisec-bench-key-$_[0]"), 0, 40) }
sub secret     { sha256_hex("apisec-bench-secret-$_[0]") }

my $cmd = shift @ARGV // '';

if ($cmd eq 'import' || $cmd eq 'tsv') {
    my $n = shift @ARGV or die "usage: keys.pl $cmd N\n";

    # one buffered write per few thousand lines: 1M keys in a few seconds
    my $out = '';

    for my $i (1 .. $n) {
        my ($ak, $sk) = (access_key($i), secret($i));

        $out .= $cmd eq 'tsv'
                ? "$ak\t$sk\n"
                : qq({"access_key":"$ak","secret_key":"$sk",)
                  . qq("account":"acct-$i","permissions":["read","trade"]}\n);

        if (length $out > 1 << 20) {
            print $out;
            $out = '';
        }
    }

    print $out;
    exit 0;
}

if ($cmd ne 'sign') {
    die "usage: keys.pl import N | tsv N | sign OPTIONS\n";
}

my %o = (sample => 10000, path => '/auth/v1/account', method => 'GET',
         recv => 60000);

GetOptionsFromArray(\@ARGV, \%o, 'keys=i', 'sample=i', 'count=i', 'path=s',
                    'method=s', 'recv=i', 'now=i')
    or die "keys.pl sign: bad options\n";

my $n = $o{keys} or die "keys.pl sign: --keys N is required\n";
my $s = $o{sample} > $n ? $n : $o{sample};
my $count = $o{count} // $s;
my $now = $o{now} // int(Time::HiRes::time() * 1000);

die "keys.pl sign: --count above 1000 * sample would repeat signatures\n"
    if $count > 1000 * $s;

# the sampled keys, spread over the whole store (every part of the B-tree)
my (@ak, @sk);

for my $j (0 .. $s - 1) {
    my $i = 1 + int($j * $n / $s);
    push @ak, access_key($i);
    push @sk, secret($i);
}

my $out = '';

for my $j (0 .. $count - 1) {
    my $k = $j % $s;
    my $ts = $now - int($j / $s);
    my $line;

    if ($o{method} eq 'GET') {
        my $q = "symbol=BTCUSDT&recvWindow=$o{recv}&timestamp=$ts";
        my $sig = hmac_sha256_hex($q, $sk[$k]);
        $line = "GET\t$o{path}?$q&signature=$sig\t$ak[$k]\t";

    } else {
        # a withdrawal-like form: the amount rule reads "amount" and
        # "currency"; hashkey signs the whole form body
        my $b = "coin=USDT&address=TXbench$k&amount=125.50&currency=USDT"
                . "&recvWindow=$o{recv}&timestamp=$ts";
        my $sig = hmac_sha256_hex($b, $sk[$k]);
        $line = "POST\t$o{path}\t$ak[$k]\t$b&signature=$sig";
    }

    $out .= "$line\n";

    if (length $out > 1 << 20) {
        print $out;
        $out = '';
    }
}

print $out;
