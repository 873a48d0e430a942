# The binance scheme: hashkey's algorithm with the X-MBX-APIKEY header.
# Signatures are computed with Digest::SHA in t/lib/ApisecTest.pm; the
# canonical bytes are also unit-tested against Binance's published example
# in t/unit/test_scheme.c.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use ApisecTest;

ApisecTest::setup(keys => [
    { access_key => 'bnTrader0001', account => 'acct-bn',
      secret_key => 'NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j',
      permissions => ['read', 'trade'] },
]);

our $Config = <<'END';
    location /api/ {
        apisec on;
        apisec_scheme binance;
        apisec_permission trade;
        proxy_pass http://apisec_backend;
    }
END

no_shuffle();
add_block_preprocessor(sub {
    my ($block) = @_;
    $block->set_value('config', $Config) unless defined $block->config;
    ApisecTest::preprocess($block);
});
run_tests();

__DATA__

=== TEST 1: GET, signed in the query: accepted
--- apisec_request
GET /api/v3/account?recvWindow=5000&timestamp={ts}&signature={sig}
X-MBX-APIKEY: bnTrader0001
--- error_code: 200
--- response_body
backend GET /api/v3/account account=acct-bn key=bnTrader0001 body=



=== TEST 2: POST, the published example's parameters split between query and body: accepted
--- apisec_request
POST /api/v3/order?symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC
X-MBX-APIKEY: bnTrader0001
Content-Type: application/x-www-form-urlencoded

quantity=1&price=0.1&recvWindow=5000&timestamp={ts}&signature={sig}
--- error_code: 200
--- response_body_like: ^backend POST /api/v3/order account=acct-bn key=bnTrader0001 body=quantity=1&price=0.1



=== TEST 3: the hashkey header on a binance location: 401 key-missing
--- apisec_request
GET /api/v3/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: bnTrader0001
--- error_code: 401
--- response_body chomp
{"code":"key-missing","msg":"The API key is missing."}
--- error_log
apisec: key "-" refused: key-missing, no key header



=== TEST 4: the wrong secret: 401 signature-invalid
--- apisec_request
GET /api/v3/account?timestamp={ts}&signature={sig}
X-MBX-APIKEY: bnTrader0001
@secret: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
--- error_code: 401
--- response_body chomp
{"code":"signature-invalid","msg":"The signature is invalid."}
--- error_log
apisec: key "bnTrader0001" refused: signature-invalid, the signature does not match



=== TEST 5: a query value changed after signing: 401 signature-invalid
--- apisec_request
GET /api/v3/openOrders?symbol=LTCBTC&timestamp={ts}&signature={sig}
X-MBX-APIKEY: bnTrader0001
@tamper: s/LTCBTC/LTCBTD/
--- error_code: 401
--- response_body chomp
{"code":"signature-invalid","msg":"The signature is invalid."}
--- error_log
refused: signature-invalid, the signature does not match



=== TEST 6: a signed body byte changed: 401 signature-invalid
--- apisec_request
POST /api/v3/order?symbol=LTCBTC
X-MBX-APIKEY: bnTrader0001
Content-Type: application/x-www-form-urlencoded
@tamper: s/price=0.1/price=0.2/

quantity=1&price=0.1&timestamp={ts}&signature={sig}
--- error_code: 401
--- response_body chomp
{"code":"signature-invalid","msg":"The signature is invalid."}
--- error_log
refused: signature-invalid, the signature does not match



=== TEST 7: a timestamp 8 s old: 401 timestamp-invalid
--- apisec_request
GET /api/v3/account?timestamp={ts-8000}&signature={sig}
X-MBX-APIKEY: bnTrader0001
--- error_code: 401
--- response_body chomp
{"code":"timestamp-invalid","msg":"The timestamp is missing, malformed or outside the window."}
--- error_log
refused: timestamp-invalid, the timestamp is older than the window



=== TEST 8: a timestamp 3 s ahead: 401 timestamp-invalid
--- apisec_request
GET /api/v3/account?timestamp={ts+3000}&signature={sig}
X-MBX-APIKEY: bnTrader0001
--- error_code: 401
--- error_log
refused: timestamp-invalid, the timestamp is in the future



=== TEST 9: a malformed timestamp: 401 timestamp-invalid
--- apisec_request
GET /api/v3/account?timestamp=0x17&signature={sig}
X-MBX-APIKEY: bnTrader0001
--- error_code: 401
--- response_body chomp
{"code":"timestamp-invalid","msg":"The timestamp is missing, malformed or outside the window."}
--- error_log
refused: timestamp-invalid, the timestamp is not a number of milliseconds



=== TEST 10: a parameter twice: 400 request-malformed
--- apisec_request
GET /api/v3/order?symbol=LTCBTC&symbol=BTCUSDT&timestamp={ts}&signature={sig}
X-MBX-APIKEY: bnTrader0001
--- error_code: 400
--- response_body chomp
{"code":"request-malformed","msg":"The request is malformed."}
--- error_log
refused: request-malformed, a parameter is sent twice



=== TEST 11: the signature in the query and in the body: 400 request-malformed
--- apisec_request
POST /api/v3/order?signature={sig}
X-MBX-APIKEY: bnTrader0001
Content-Type: application/x-www-form-urlencoded

quantity=1&timestamp={ts}&signature={sig}
--- error_code: 400
--- response_body chomp
{"code":"request-malformed","msg":"The request is malformed."}
--- error_log
refused: request-malformed, the signature is sent twice



=== TEST 12: no signature: 401 signature-missing
--- apisec_request
GET /api/v3/account?timestamp={ts}
X-MBX-APIKEY: bnTrader0001
--- error_code: 401
--- response_body chomp
{"code":"signature-missing","msg":"The signature is missing."}
--- error_log
refused: signature-missing, no signature parameter
