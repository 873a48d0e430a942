# Rules, failures: "apisec_rule failures max=N per=TIME [action=A]
# [name=N]" counts the failed signatures (signature-invalid) and TOTP
# codes (2fa-invalid) of a key in a sliding window, across workers; when
# the count goes over max: lock (the default, lock:15m: the key is refused
# with key-locked at once on every worker, and locked in the store by the
# flush with a key.locked event), block (the key's requests are refused
# with 403 rule-blocked while the count is over), or monitor (a
# rule.monitor event).  The count is kept in the store by the flush
# (apisecctl usage).  Two workers throughout.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Test::More;
use ApisecTest;

my $s = 'FailuresFailuresFailuresFailures';

sub k {
    my ($ak, $acct) = @_;
    return { access_key => $ak, account => $acct, secret_key => "$s$ak",
             permissions => ['read', 'withdraw'] };
}

ApisecTest::setup(keys => [
    k('failKey001', 'acct-f1'),
    k('failKey002', 'acct-f2'),
    k('failKey003', 'acct-f3'),
    k('failKey004', 'acct-f4'),
    k('failKey005', 'acct-f5'),
    k('failKey006', 'acct-f6'),
]);

ApisecTest::enroll('failKey004');

sub req {
    my ($key, @more) = @_;

    return join "\n", 'GET /api/v1/account?recvWindow=60000&timestamp={ts}&signature={sig}',
                      "X-HK-APIKEY: $key", @more;
}

sub statuses {
    return join ' ', map { (ApisecTest::send_signed($_))[0] } @_;
}

sub bad {
    return req($_[0], '@secret: WrongWrongWrongWrongWrong');
}



master_on();
workers(2);
no_shuffle();
my $flush = ApisecTest::flush_every('300ms');
add_block_preprocessor(sub { $flush->(@_) });
run_tests();

__DATA__

=== TEST 1: the default action: three bad signatures over max=2 lock the key (lock:15m), on every worker at once
--- config
    location /api/ {
        apisec on;
        apisec_rule failures max=2 per=1m;
        proxy_pass http://apisec_backend;
    }
--- init
Test::More::is(main::statuses(main::bad('failKey001'), main::bad('failKey001')),
               '401 401', 'two bad signatures: refused, under max');
Test::More::is(main::statuses(main::req('failKey001')), '200',
               'the key still works');
--- apisec_request
GET /api/v1/account?recvWindow=60000&timestamp={ts}&signature={sig}
X-HK-APIKEY: failKey001
@secret: WrongWrongWrongWrongWrong
--- error_code: 401
--- response_body_like eval
qr/"signature-invalid"/
--- error_log eval
qr/\[warn\] .*apisec: key "failKey001": rule "failures1" \(failures\) locks it for 900 s: 3 failed attempts in 60 s/



=== TEST 2: then the key is locked, on every worker at once, and in the store with its time and a key.locked event; apisecctl usage shows the count
--- config
    location /api/ {
        apisec on;
        apisec_rule failures max=2 per=1m;
        proxy_pass http://apisec_backend;
    }
--- init
Test::More::is(main::statuses(map { main::req('failKey001') } 1 .. 4),
               '401 401 401 401', 'key-locked on both workers');
select undef, undef, undef, 0.5;
my $show = ApisecTest::ctl('show', 'failKey001');
Test::More::like($show, qr/status: locked/, 'locked in the store');
Test::More::like($show, qr/locked_until: \d{4}-/, 'until a time');
my @ev = ApisecTest::events('failKey001', 'key.locked');
Test::More::is(scalar(@ev), 1, 'one key.locked event');
Test::More::is("$ev[0]{rule} $ev[0]{rule_type}", 'failures1 failures',
               'naming the rule and its type');
require JSON::PP;
my ($u) = map { JSON::PP::decode_json($_) }
          split /\n/, ApisecTest::ctl('--json', 'usage', 'failKey001');
Test::More::is("$u->{rule_type} $u->{rule} $u->{sum} $u->{count}",
               'failures failures1@/api/ 3 3', 'the count, by the flush');
Test::More::like(ApisecTest::ctl('unlock', 'failKey001'), qr/unlocked/,
                 'apisecctl unlock');
--- apisec_request
GET /api/v1/account?recvWindow=60000&timestamp={ts}&signature={sig}
X-HK-APIKEY: failKey001
--- error_code: 200



=== TEST 3: block: refused with 403 rule-blocked while over max; a good request of another key is not
--- config
    location /api/ {
        apisec on;
        apisec_rule failures max=1 per=1m action=block name=bf;
        proxy_pass http://apisec_backend;
    }
--- init
Test::More::is(main::statuses(main::bad('failKey002'), main::bad('failKey002')),
               '401 401', 'two bad signatures');
Test::More::is(main::statuses(main::req('failKey003')), '200',
               'another key is not concerned');
--- apisec_request
GET /api/v1/account?recvWindow=60000&timestamp={ts}&signature={sig}
X-HK-APIKEY: failKey002
--- error_code: 403
--- response_body chomp
{"code":"rule-blocked","msg":"The request was blocked by a risk rule."}
--- error_log eval
qr/\[error\] .*apisec: key "failKey002" refused: rule-blocked, rule "bf" \(failures\): 2 failed attempts in 60 s/



=== TEST 4: failed TOTP codes count too
--- config
    location /withdraw/ {
        apisec on;
        apisec_2fa on;
        apisec_permission withdraw;
        apisec_rule failures max=1 per=1m action=block name=totp;
        proxy_pass http://apisec_backend;
    }
--- init
Test::More::is(main::statuses(
    "GET /withdraw/x?recvWindow=60000&timestamp={ts}&signature={sig}\nX-HK-APIKEY: failKey004\nX-Apisec-TOTP: 000000",
    "GET /withdraw/x?recvWindow=60000&timestamp={ts}&signature={sig}\nX-HK-APIKEY: failKey004\nX-Apisec-TOTP: 999999"),
    '403 403', 'two wrong codes (2fa-invalid)');
--- apisec_request
GET /withdraw/x?recvWindow=60000&timestamp={ts}&signature={sig}
X-HK-APIKEY: failKey004
X-Apisec-TOTP: {totp:failKey004}
--- error_code: 403
--- response_body_like eval
qr/"rule-blocked"/
--- error_log eval
qr/refused: rule-blocked, rule "totp" \(failures\): 2 failed attempts/



=== TEST 5: monitor: an event when the count goes over, and the key keeps working
--- config
    location /api/ {
        apisec on;
        apisec_rule failures max=1 per=1m action=monitor name=watch;
        proxy_pass http://apisec_backend;
    }
--- init
Test::More::is(main::statuses(main::bad('failKey005'), main::bad('failKey005'),
                              main::bad('failKey005')),
               '401 401 401', 'three bad signatures');
--- apisec_request
GET /api/v1/account?recvWindow=60000&timestamp={ts}&signature={sig}
X-HK-APIKEY: failKey005
--- error_code: 200
--- wait: 1



=== TEST 6: the monitor event of TEST 5: once, when the count went over
--- config
    location /t {
        return 200 "ok\n";
    }
--- init
my @ev = ApisecTest::events('failKey005', 'rule.monitor');
Test::More::is(scalar(@ev), 1, 'one rule.monitor event');
Test::More::is("$ev[0]{rule} $ev[0]{rule_type}", 'watch failures', 'its rule');
--- request
GET /t
--- error_code: 200



=== TEST 7: the window slides: blocked while the failures are in it, then the key works again
--- config
    location /api/ {
        apisec on;
        apisec_rule failures max=1 per=2s action=block name=short;
        proxy_pass http://apisec_backend;
    }
--- init
Test::More::is(main::statuses(main::bad('failKey006'), main::bad('failKey006'),
                              main::req('failKey006')),
               '401 401 403', 'over max: blocked');
select undef, undef, undef, 3.5;
--- apisec_request
GET /api/v1/account?recvWindow=60000&timestamp={ts}&signature={sig}
X-HK-APIKEY: failKey006
--- error_code: 200



=== TEST 8: unknown keys and bad signatures at a location without a failures rule count nothing
--- config
    location /api/ {
        apisec on;
        proxy_pass http://apisec_backend;
    }
--- init
Test::More::is(main::statuses(main::bad('failKey003'), main::bad('failKey003'),
                              main::bad('noSuchKey1')),
               '401 401 401', 'refused');
--- apisec_request
GET /api/v1/account?recvWindow=60000&timestamp={ts}&signature={sig}
X-HK-APIKEY: failKey003
--- error_code: 200
