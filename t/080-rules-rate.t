# Rules, rate: "apisec_rule rate RATE [burst=N] [by=key|account|ip]
# [action=monitor|block] [name=N]" runs after authentication (check 7), a
# leaky bucket per rule and key, account or client address in the shared
# zone apisec_rules, across workers and reloads.  Over the burst: 429
# rate-limited with Retry-After (block), or the request passes with the
# rule in $apisec_rule and a rule.monitor event (monitor), or refused and
# the key locked at once on every worker, then in the store by the flush
# with a key.locked event (lock, lock:TIME).  Rates of r/m
# with small bursts, so that no timing can flake.  Two workers throughout.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Test::More;
use ApisecTest;

my $s = 'RateRateRateRateRateRateRateRate';

sub k {
    my ($ak, $acct) = @_;
    return { access_key => $ak, account => $acct, secret_key => "$s$ak" };
}

ApisecTest::setup(keys => [
    k('rateKeyA1', 'acct-shared'),
    k('rateKeyA2', 'acct-shared'),
    k('rateKeyB1', 'acct-other'),
    k('rateKeyC1', 'acct-third'),
    k('lockKey01', 'acct-lock'),
    k('lockKey02', 'acct-lock'),
    k('memoKey01', 'acct-memo'),
]);

# a signed GET of /api/v1/account by KEY, with more header lines
sub req {
    my ($key, @more) = @_;

    return join "\n", 'GET /api/v1/account?timestamp={ts}&signature={sig}',
                      "X-HK-APIKEY: $key", @more;
}

# KEY's request sent n times from --- init: the statuses
sub send_n {
    my ($n, $key, @more) = @_;

    return join ' ', map { (ApisecTest::send_signed(req($key, @more)))[0] }
                         1 .. $n;
}


master_on();
workers(2);
no_shuffle();
my $flush = ApisecTest::flush_every('300ms');
add_block_preprocessor(sub { $flush->(@_) });
run_tests();

__DATA__

=== TEST 1: 1r/m burst=2: three pass, the fourth is 429 rate-limited with Retry-After
--- config
    location /api/ {
        apisec on;
        apisec_rule rate 1r/m burst=2;
        proxy_pass http://apisec_backend;
    }
--- init
my ($st, $res) = ApisecTest::send_signed(main::req('rateKeyA1'));
Test::More::is($st, 200, 'the first passes');
Test::More::like($res, qr/account=acct-shared key=rateKeyA1/,
                 'the backend saw it');
Test::More::unlike($res, qr/Retry-After/i, 'no Retry-After when it passes');
Test::More::is(main::send_n(2, 'rateKeyA1'), '200 200', 'the burst passes');
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: rateKeyA1
--- error_code: 429
--- response_headers_like
Retry-After: (59|60)
Content-Type: application/json
--- response_body chomp
{"code":"rate-limited","msg":"Too many requests."}
--- error_log eval
qr/\[error\] .*apisec: key "rateKeyA1" refused: rate-limited, rule "rate1" \(rate\): over the rate/
--- no_error_log
[alert]



=== TEST 2: 1r/s without burst: the second request at once is refused, Retry-After 1
--- config
    location /api/ {
        apisec on;
        apisec_rule rate 1r/s name=per_second;
        proxy_pass http://apisec_backend;
    }
--- init
Test::More::is(main::send_n(1, 'rateKeyA1'), '200', 'the first passes');
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: rateKeyA1
--- error_code: 429
--- response_headers
Retry-After: 1
--- error_log eval
qr/apisec: key "rateKeyA1" refused: rate-limited, rule "per_second" \(rate\)/



=== TEST 3: by=key (the default): another key's requests do not count
--- config
    location /api/ {
        apisec on;
        apisec_rule rate 1r/m burst=2;
        proxy_pass http://apisec_backend;
    }
--- init
Test::More::is(main::send_n(4, 'rateKeyB1'), '200 200 200 429',
               'the other key used its burst');
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: rateKeyA1
@repeat: 3
--- error_code eval
[200, 200, 200]



=== TEST 4: by=account: two keys of one account share the bucket; another account does not
--- config
    location /api/ {
        apisec on;
        apisec_rule rate 1r/m burst=2 by=account name=acct;
        proxy_pass http://apisec_backend;
    }
--- init
Test::More::is(main::send_n(3, 'rateKeyA1'), '200 200 200',
               'the first key of the account used the burst');
Test::More::is(main::send_n(1, 'rateKeyB1'), '200',
               'a key of another account passes');
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: rateKeyA2
--- error_code: 429
--- response_body chomp
{"code":"rate-limited","msg":"Too many requests."}
--- error_log eval
qr/apisec: key "rateKeyA2" refused: rate-limited, rule "acct" \(rate\)/



=== TEST 5: by=ip (through realip): keys from one address share the bucket; another address does not
--- config
    set_real_ip_from 127.0.0.1;
    real_ip_header X-Real-IP;

    location /api/ {
        apisec on;
        apisec_rule rate 1r/m burst=1 by=ip name=addr;
        proxy_pass http://apisec_backend;
    }
--- init
Test::More::is(main::send_n(2, 'rateKeyA1', 'X-Real-IP: 10.0.0.1'),
               '200 200', 'one address used the burst');
Test::More::is(main::send_n(1, 'rateKeyA1', 'X-Real-IP: 10.0.0.2'),
               '200', 'the same key from another address passes');
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: rateKeyB1
X-Real-IP: 10.0.0.1
--- error_code: 429
--- error_log eval
qr/apisec: key "rateKeyB1" refused: rate-limited, rule "addr" \(rate\)/



=== TEST 6: monitor: over the rate the requests pass, named in $apisec_rule (every monitor that matches); a block rule after them refuses
--- config
    location /api/ {
        apisec on;
        apisec_rule rate 1r/m name=watch action=monitor;
        apisec_rule rate 1r/m name=watch2 action=monitor;
        apisec_rule rate 1r/m burst=1 name=hard;
        add_header X-Rule $apisec_rule always;
        proxy_pass http://apisec_backend;
    }
--- init
my ($st, $res) = ApisecTest::send_signed(main::req('rateKeyC1'));
Test::More::is($st, 200, 'the first passes');
Test::More::unlike($res, qr/X-Rule/i, 'no rule fired: $apisec_rule empty');
($st, $res) = ApisecTest::send_signed(main::req('rateKeyC1'));
Test::More::is($st, 200, 'the second passes: the monitors only record');
Test::More::like($res, qr/\r\nX-Rule: watch,watch2\r\n/,
                 '$apisec_rule names both monitors');
Test::More::like($res, qr/key=rateKeyC1/, 'the backend saw it');
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: rateKeyC1
--- error_code: 429
--- response_headers
X-Rule: watch,watch2,hard
Retry-After: 60
--- error_log eval
[qr/\[warn\] .*apisec: key "rateKeyC1": rule "watch" \(rate\) matched, monitor only/,
 qr/\[warn\] .*apisec: key "rateKeyC1": rule "watch2" \(rate\) matched, monitor only/,
 qr/apisec: key "rateKeyC1" refused: rate-limited, rule "hard" \(rate\)/]
--- wait: 1



=== TEST 7: the events of TEST 6 are in the store: rule.monitor and rule.block, with the rule's name and type
--- init
require JSON::PP;
my @ev = map { JSON::PP::decode_json($_) }
         grep { /"access_key":"rateKeyC1"/ }
         split /\n/, ApisecTest::ctl('--json', 'events');
my @got = map { join ' ', $_->{type}, $_->{rule} // '-',
                          $_->{rule_type} // '-', $_->{account} } @ev;
Test::More::is_deeply(\@got,
    ['rule.monitor watch rate acct-third',
     'rule.monitor watch2 rate acct-third',
     'rule.monitor watch rate acct-third',
     'rule.monitor watch2 rate acct-third',
     'rule.block hard rate acct-third'],
    'one event per rule that fired, in order')
    or Test::More::diag(join "\n", @got);
--- config
    location /open/ {
        return 200 "ok\n";
    }
--- request
GET /open/
--- error_code: 200



=== TEST 8: the state is kept across a reload (HUP)
--- config
    location /api/ {
        apisec on;
        apisec_rule rate 1r/m burst=1;
        proxy_pass http://apisec_backend;
    }
--- apisec_request
GET /api/v1/account?recvWindow=60000&timestamp={ts}&signature={sig}
X-HK-APIKEY: rateKeyA1
@prime: 1
@repeat: 2
--- init
kill 'HUP', Test::Nginx::Util::get_pid_from_pidfile('');
select undef, undef, undef, 1.5;
--- error_code eval
[200, 429]



=== TEST 9: refused requests (a bad signature) do not count toward the rate
--- config
    location /api/ {
        apisec on;
        apisec_rule rate 1r/m;
        proxy_pass http://apisec_backend;
    }
--- init
Test::More::is(main::send_n(3, 'rateKeyA1', '@secret: wrongwrongwrong'),
               '401 401 401', 'bad signatures are refused');
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: rateKeyA1
@repeat: 2
--- error_code eval
[200, 429]



=== TEST 10: lock:1h: the request over the rate is 429 and the key is locked at once, on every worker, before any flush
--- http_config
    apisec_flush_interval 1h;
--- config
    location /api/ {
        apisec on;
        apisec_rule rate 1r/m burst=1 action=lock:1h name=lockit;
        proxy_pass http://apisec_backend;
    }
--- init
Test::More::is(main::send_n(3, 'lockKey01'), '200 200 429',
               'the burst passes, the next is refused');
Test::More::is(main::send_n(2, 'lockKey01'), '401 401',
               'then the key is refused by both workers');
Test::More::is(ApisecTest::show('lockKey01')->{status}, 'active',
               'the store does not know yet (no flush for an hour)');
Test::More::is(main::send_n(1, 'lockKey02'), '200',
               'another key of the account passes');
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: lockKey01
--- error_code: 401
--- response_body chomp
{"code":"key-locked","msg":"The API key is locked."}
--- error_log eval
[qr/\[warn\] .*apisec: key "lockKey01": rule "lockit" \(rate\) locks it for 3600 s/,
 qr/apisec: key "lockKey01" refused: rate-limited, rule "lockit" \(rate\): over the rate/,
 qr/apisec: key "lockKey01" refused: key-locked, the key was locked by a rule/]



=== TEST 11: the lock of TEST 10 reached the store on the way out: status locked for an hour, a key.locked event; apisecctl enable lets it in again (unlock: not in apisecctl yet)
--- init
my $k = ApisecTest::show('lockKey01');
Test::More::is($k->{status}, 'locked', 'the store has the lock');
require Time::Local;
my ($y, $m, $d, $H, $M, $S) =
    ($k->{locked_until} // '') =~ /^(\d+)-(\d+)-(\d+)T(\d+):(\d+):(\d+)Z$/;
my $left = defined $y ? Time::Local::timegm($S, $M, $H, $d, $m - 1, $y) - time
                      : -1;
Test::More::ok($left > 3500 && $left <= 3600, "locked for an hour ($left s)");
require JSON::PP;
my @ev = map { JSON::PP::decode_json($_) }
         grep { /"type":"key\.locked"/ && /"access_key":"lockKey01"/ }
         split /\n/, ApisecTest::ctl('--json', 'events');
Test::More::is(scalar @ev, 1, 'one key.locked event');
Test::More::is(join(' ', map { $_ // '-' } @{ $ev[0] // {} }{qw(rule rule_type account)}),
               'lockit rate acct-lock', 'it names the rule');
Test::More::is(main::send_n(1, 'lockKey01'), '401', 'still locked');
ApisecTest::ctl('enable', 'lockKey01');
--- config
    location /api/ {
        apisec on;
        apisec_rule rate 1r/m burst=1 action=lock:1h name=lockit;
        proxy_pass http://apisec_backend;
    }
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: lockKey01
--- error_code: 200



=== TEST 12: lock without TIME: locked until unlocked; once the flush wrote it, apisecctl enable works at once (no key-locked; the rate still counts)
--- config
    location /api/ {
        apisec on;
        apisec_rule rate 1r/m action=lock name=forever;
        proxy_pass http://apisec_backend;
    }
--- init
Test::More::is(main::send_n(3, 'lockKey02'), '200 429 401',
               'the second is refused and locks the key');
select undef, undef, undef, 1;
my $k = ApisecTest::show('lockKey02');
Test::More::is($k->{status}, 'locked', 'the flush wrote the lock');
Test::More::ok(!defined $k->{locked_until}, 'until unlocked');
Test::More::is(main::send_n(1, 'lockKey02'), '401', 'refused by the store');
ApisecTest::ctl('enable', 'lockKey02');
--- apisec_request
GET /api/v1/account?recvWindow=60000&timestamp={ts}&signature={sig}
X-HK-APIKEY: lockKey02
--- error_code: 429
--- error_log eval
qr/apisec: key "lockKey02" of account "acct-lock" locked by rule "forever"/



=== TEST 13: a full rule zone evicts nothing used in the last minute: it fails closed, 503 store-unavailable with an alert
--- http_config
    apisec_flush_interval 300ms;
    apisec_rule_zone 64k;
--- config
    set_real_ip_from 127.0.0.1;
    real_ip_header X-Real-IP;

    location /api/ {
        apisec on;
        apisec_rule rate 1r/m burst=5 by=ip;
        proxy_pass http://apisec_backend;
    }
--- init
my ($i, $st, %seen);
for ($i = 0; $i < 3000; $i++) {
    ($st) = ApisecTest::send_signed(main::req('rateKeyB1',
                'X-Real-IP: 10.7.' . int($i / 250) . '.' . ($i % 250 + 1)));
    $seen{$st}++;
    last if $st != 200;
}
Test::More::is($st, 503, "full after $i addresses");
Test::More::cmp_ok($i, '>', 100, 'after many addresses');
--- apisec_request
GET /api/v1/account?recvWindow=60000&timestamp={ts}&signature={sig}
X-HK-APIKEY: rateKeyB1
X-Real-IP: 10.9.9.9
--- error_code: 503
--- response_body chomp
{"code":"store-unavailable","msg":"The key store is unavailable."}
--- error_log eval
qr/\[alert\] .*apisec: the rule zone is full of entries used in the last minute; raise apisec_rule_zone/



=== TEST 14: one key at two locations, each with its own rule by key, in turns: two buckets (a worker remembers where a key's bucket is, for one rule at a time)
--- config
    location /api/ {
        apisec on;
        apisec_rule rate 1r/m burst=2 name=api;
        proxy_pass http://apisec_backend;
    }

    location /other/ {
        apisec on;
        apisec_rule rate 1r/m burst=4 name=other;
        proxy_pass http://apisec_backend;
    }
--- init
my $other = "GET /other/v1/account?timestamp={ts}&signature={sig}\n"
            . "X-HK-APIKEY: memoKey01";
my @st;
for (1 .. 3) {
    push @st, (ApisecTest::send_signed(main::req('memoKey01')))[0];
    push @st, (ApisecTest::send_signed($other))[0];
}
Test::More::is("@st", '200 200 200 200 200 200',
               'three in turns at each: within both bursts');
Test::More::is((ApisecTest::send_signed(main::req('memoKey01')))[0], 429,
               'the fourth at /api/ is over its burst');
Test::More::is(join(' ', map { (ApisecTest::send_signed($other))[0] } 1 .. 2),
               '200 200', '/other/ still has two');
--- apisec_request
GET /other/v1/account?recvWindow=60000&timestamp={ts}&signature={sig}
X-HK-APIKEY: memoKey01
--- error_code: 429
--- response_body chomp
{"code":"rate-limited","msg":"Too many requests."}
--- error_log eval
qr/apisec: key "memoKey01" refused: rate-limited, rule "other" \(rate\)/
