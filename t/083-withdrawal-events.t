# Events: every authorised request at a location with
# "apisec_permission withdraw" or "apisec_2fa on" records a
# withdrawal.requested event (key, account, method, path and, when the
# request has them in its query or a JSON or form body, amount, currency
# and address), queued in shared memory and written by the flush, never
# by the request.  Refused requests, and requests at other locations,
# record none.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Test::More;
use ApisecTest;

my $s = 'WithdrawalEventsWithdrawalEvents';

ApisecTest::setup(keys => [
    map { { access_key => $_, account => "acct-$_", secret_key => "$s$_",
            permissions => ['read', 'withdraw'] } }
        qw(wdKey00001 wdKey00002 wdKey00003)
]);

ApisecTest::enroll('wdKey00003');



master_on();
workers(2);
no_shuffle();
my $flush = ApisecTest::flush_every('300ms');
add_block_preprocessor(sub { $flush->(@_) });
run_tests();

__DATA__

=== TEST 1: a withdrawal (JSON body): accepted; reads and refused withdrawals are not events
--- init
my @st = map { (ApisecTest::send_signed($_))[0] }
    "GET /api/v1/account?timestamp={ts}&signature={sig}\nX-HK-APIKEY: wdKey00001",
    "POST /withdraw/v1?timestamp={ts}&signature={sig}\nX-HK-APIKEY: wdKey00001\n"
    . "Content-Type: application/json\n\@secret: WrongWrongWrongWrongWrong\n\n{\"amount\":\"9\"}";
Test::More::is("@st", '200 401', 'a read, a refused withdrawal');
--- apisec_request
POST /withdraw/v1/btc?timestamp={ts}&signature={sig}
X-HK-APIKEY: wdKey00001
Content-Type: application/json

{"amount":"1.25","currency":"btc","address":"bc1q\"x\u00e9","memo":{"a":1}}
--- error_code: 200
--- wait: 1



=== TEST 2: the store has exactly one withdrawal.requested event for TEST 1, with its fields (JSON-escaped)
--- config
    location /t {
        return 200 "ok\n";
    }
--- init
my @ev = ApisecTest::events('wdKey00001', 'withdrawal.requested');
Test::More::is(scalar(@ev), 1, 'one event: the accepted withdrawal');
Test::More::is(join('|', map { $ev[0]{$_} // '-' }
                         qw(account method path amount currency address)),
               "acct-wdKey00001|POST|/withdraw/v1/btc|1.25|btc|bc1q\"x\x{e9}",
               'its fields');
Test::More::like($ev[0]{seq}, qr/^\d+$/, 'a sequence number');
--- request
GET /t
--- error_code: 200



=== TEST 3: at an apisec_2fa location, with the fields of a form body and the query
--- config
    location /withdraw/ {
        apisec on;
        apisec_2fa on;
        proxy_pass http://apisec_backend;
    }
--- apisec_request
POST /withdraw/v2?currency=USDT&signature={sig}
X-HK-APIKEY: wdKey00003
X-Apisec-TOTP: {totp:wdKey00003}
Content-Type: application/x-www-form-urlencoded

amount=100&address=T9yD%2B14&timestamp={ts}
--- error_code: 200
--- wait: 1



=== TEST 4: the event of TEST 3
--- config
    location /t {
        return 200 "ok\n";
    }
--- init
my @ev = ApisecTest::events('wdKey00003', 'withdrawal.requested');
Test::More::is(scalar(@ev), 1, 'one event');
Test::More::is(join('|', map { $ev[0]{$_} // '-' } qw(path amount currency address)),
               '/withdraw/v2|100|USDT|T9yD+14', 'its fields');
--- request
GET /t
--- error_code: 200
