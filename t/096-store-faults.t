# The store's map full: a store made with a map of 1 MiB (apisecctl init
# --map-size 1M) is filled by the windows of an amount rule, one more for
# each currency, until the write of a request's window hits MDB_MAP_FULL.
# That request is refused, 503 store-unavailable, with an alert naming the
# full store and the way out; requests that write nothing still pass; the
# store is intact (apisecctl reads it, every accepted amount is there, the
# refused one is not).  Once apisecctl grows the map (--map-size 8M with
# a write), the workers adopt the new size and requests pass again,
# without a restart or a reload.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Test::More;
use ApisecTest;

my $s = 'StoreFaultsStoreFaultsStoreFaults';

ApisecTest::setup(map_size => '1M', keys => [
    (map { { access_key => $_, account => 'acct-full', secret_key => "$s$_",
             permissions => ['read'] } } qw(fullKey001 fullKey002)),
    { access_key => 'fullKey003', account => 'acct-full',
      secret_key => "${s}fullKey003", permissions => ['read', 'withdraw'] },
]);

# a signed GET of /amount/ by KEY of 1 in CURRENCY
sub amount {
    my ($key, $cur) = @_;
    return "GET /amount/v1?amount=1&currency=$cur&recvWindow=60000"
           . "&timestamp={ts}&signature={sig}\nX-HK-APIKEY: $key";
}

sub read_get {
    my ($key) = @_;
    return "GET /api/v1/account?recvWindow=60000&timestamp={ts}"
           . "&signature={sig}\nX-HK-APIKEY: $key";
}

# status and JSON code of a signed request
sub outcome {
    my ($st, $res) = ApisecTest::send_signed($_[0]);
    my ($code) = $res =~ /"code":"([^"]+)"/;
    return "$st " . ($code // 'ok');
}

# the rows of "apisecctl --json usage KEY"
sub usage {
    require JSON::PP;
    return map { JSON::PP::decode_json($_) }
           split /\n/, ApisecTest::ctl('--json', 'usage', $_[0]);
}

our $Config = <<'END';
    location /amount/ {
        apisec on;
        apisec_rule amount max=1000 per=1h name=cur;
    }

    location /api/ {
        apisec on;
    }

    location /withdraw/ {
        apisec on;
        apisec_permission withdraw;
    }
END

our $Files = <<'END';
>>> amount/v1
amount
>>> api/v1/account
account
>>> withdraw/v1
withdrawn
END

master_on();
workers(2);
no_shuffle();
my $flush = ApisecTest::flush_every('300ms');
add_block_preprocessor(sub {
    my ($block) = @_;
    $block->set_value('config', $Config) unless defined $block->config;
    $block->set_value('user_files', $Files) unless defined $block->user_files;
    $flush->($block);
});
run_tests();

__DATA__

=== TEST 1: the map full: the request whose window cannot be written is refused (503 store-unavailable, an alert); the store is intact; once apisecctl grows the map, requests pass again without a restart
--- init
my ($n, $o);
for ($n = 0; $n < 5000; $n++) {
    $o = main::outcome(main::amount('fullKey001', sprintf 'C%04d', $n));
    last if $o ne '200 ok';
}
Test::More::is($o, '503 store-unavailable', "full after $n currencies");
Test::More::cmp_ok($n, '>', 50, 'after many windows');
my @u = main::usage('fullKey001');
Test::More::is(scalar @u, $n, 'every accepted window is in the store, the refused one is not');
Test::More::is(scalar(grep { $_->{sum} eq '1' && $_->{count} == 1 } @u), $n,
               'each with its amount');
Test::More::like(ApisecTest::ctl('list'), qr/fullKey001.*\n.*fullKey002|fullKey002.*\n.*fullKey001/,
                 'apisecctl list reads the store');
Test::More::like(ApisecTest::ctl('show', 'fullKey002'), qr/status: active/,
                 'apisecctl show too');
Test::More::is(main::outcome(main::read_get('fullKey002')), '200 ok',
               'a request that writes nothing passes');
Test::More::is(main::outcome(main::amount('fullKey002', 'C9999')),
               '503 store-unavailable', 'another key\'s new window: refused too');

# a withdrawal writes nothing on its way: its event waits in shared
# memory, and every flush that fails puts it back
Test::More::is(main::outcome("GET /withdraw/v1?amount=3&currency=BTC&recvWindow=60000"
                             . "&timestamp={ts}&signature={sig}\nX-HK-APIKEY: fullKey003"),
               '200 ok', 'a withdrawal passes');
select undef, undef, undef, 1;
Test::More::is(scalar(ApisecTest::events('fullKey003', 'withdrawal.requested')), 0,
               'its event is not in the full store');

# grown by apisecctl (its write records the new size in the store); a
# worker looks for a bigger map at most once a second, from a read
ApisecTest::ctl('--map-size', '8M', 'set', 'fullKey002', '--label', 'grown');
select undef, undef, undef, 1.1;
my @after = map { main::outcome(main::amount($_ % 2 ? 'fullKey001' : 'fullKey002',
                                             "AGAIN$_")) } 1 .. 20;
Test::More::is("@after", join(' ', ('200 ok') x 20),
               '20 new windows pass once the map is grown, on both workers');
my %u = map { ($_->{currency} => "$_->{sum} $_->{count}") } main::usage('fullKey001');
Test::More::is(scalar(grep { $u{$_} eq '1 1' } keys %u), $n + 10,
               'the windows from before and the new ones, each with its amount');
select undef, undef, undef, 1;
my @w = ApisecTest::events('fullKey003', 'withdrawal.requested');
Test::More::is(scalar(@w), 1, 'the withdrawal\'s event is written once the map is grown, once');
Test::More::is($w[0]{amount}, '3', 'with its amount');
my $refused = sprintf 'C%04d', $n;
Test::More::ok(!defined $u{$refused} || $u{$refused} eq '0 0',
               'the refused request counted nothing')
    or Test::More::diag("$refused: $u{$refused}");
--- apisec_request
GET /amount/v1?amount=1&currency=LAST&recvWindow=60000&timestamp={ts}&signature={sig}
X-HK-APIKEY: fullKey001
--- error_code: 200
--- response_body
amount
--- error_log eval
[qr/\[alert\] .*apisec: the windows of amount rules cannot be written to store "[^"]*store": store is full: store "[^"]*store" is full: [\w ]+ needs more than the map size of 1048576 bytes \(raise map_size\); their requests are refused/,
 qr/\[error\] .*apisec: key "fullKey001" refused: store-unavailable, the rule's window cannot be written to the store/,
 qr/\[error\] .*apisec: key "fullKey002" refused: store-unavailable, the rule's window cannot be written to the store/,
 qr/\[alert\] .*apisec: cannot write \d+ stamps, [1-9]\d* events, \d+ windows of amount rules and \d+ webhook cursors to the store: store is full: .*; they are kept for the next flush/]
--- no_error_log
[emerg]
[crit]
signal
