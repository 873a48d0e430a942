# The okx scheme (OKX v5): OK-ACCESS-KEY, OK-ACCESS-SIGN (base64
# HMAC-SHA256 over timestamp + METHOD + path with query + body, as sent),
# OK-ACCESS-TIMESTAMP (ISO 8601 with ms, UTC), OK-ACCESS-PASSPHRASE,
# checked against the passphrase stored (hashed) for the key.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use ApisecTest;

ApisecTest::setup(keys => [
    { access_key => 'okTrader0001', account => 'acct-okx',
      secret_key => '22582BD0CFF14C41EDBF1AB98506286D',
      passphrase => 'Correct Horse 9!', permissions => ['read', 'trade'] },
    { access_key => 'okNoPass0001', account => 'acct-okx',
      secret_key => '33582BD0CFF14C41EDBF1AB98506286D',
      permissions => ['read', 'trade'] },
]);

our $Config = <<'END';
    location /api/v5/ {
        apisec on;
        apisec_scheme okx;
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

=== TEST 1: GET with a query: accepted
--- apisec_request
GET /api/v5/account/balance?ccy=BTC,ETH
OK-ACCESS-KEY: okTrader0001
OK-ACCESS-TIMESTAMP: {isoms}
OK-ACCESS-PASSPHRASE: Correct Horse 9!
OK-ACCESS-SIGN: {sig}
@scheme: okx
--- error_code: 200
--- response_body
backend GET /api/v5/account/balance account=acct-okx key=okTrader0001 body=



=== TEST 2: POST with a JSON body (signed): accepted, the body reaches the upstream
--- apisec_request
POST /api/v5/trade/order
OK-ACCESS-KEY: okTrader0001
OK-ACCESS-TIMESTAMP: {isoms}
OK-ACCESS-PASSPHRASE: Correct Horse 9!
OK-ACCESS-SIGN: {sig}
Content-Type: application/json
@scheme: okx

{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","px":"2.15","sz":"2"}
--- error_code: 200
--- response_body
backend POST /api/v5/trade/order account=acct-okx key=okTrader0001 body={"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","px":"2.15","sz":"2"}



=== TEST 3: a signed body byte changed: 401 signature-invalid
--- apisec_request
POST /api/v5/trade/order
OK-ACCESS-KEY: okTrader0001
OK-ACCESS-TIMESTAMP: {isoms}
OK-ACCESS-PASSPHRASE: Correct Horse 9!
OK-ACCESS-SIGN: {sig}
Content-Type: application/json
@scheme: okx
@tamper: s/"sz":"2"/"sz":"9"/

{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"market","sz":"2"}
--- error_code: 401
--- response_body chomp
{"code":"signature-invalid","msg":"The signature is invalid."}
--- error_log
apisec: key "okTrader0001" refused: signature-invalid, the signature does not match



=== TEST 4: a query value changed: 401 signature-invalid
--- apisec_request
GET /api/v5/account/balance?ccy=BTC
OK-ACCESS-KEY: okTrader0001
OK-ACCESS-TIMESTAMP: {isoms}
OK-ACCESS-PASSPHRASE: Correct Horse 9!
OK-ACCESS-SIGN: {sig}
@scheme: okx
@tamper: s/ccy=BTC/ccy=ETH/
--- error_code: 401
--- error_log
refused: signature-invalid, the signature does not match



=== TEST 5: the wrong secret: 401 signature-invalid
--- apisec_request
GET /api/v5/account/balance
OK-ACCESS-KEY: okTrader0001
OK-ACCESS-TIMESTAMP: {isoms}
OK-ACCESS-PASSPHRASE: Correct Horse 9!
OK-ACCESS-SIGN: {sig}
@scheme: okx
@secret: 00000000000000000000000000000000
--- error_code: 401
--- error_log
refused: signature-invalid, the signature does not match



=== TEST 6: the wrong passphrase: 401 signature-invalid, the passphrase not logged
--- log_level: warn
--- apisec_request
GET /api/v5/account/balance
OK-ACCESS-KEY: okTrader0001
OK-ACCESS-TIMESTAMP: {isoms}
OK-ACCESS-PASSPHRASE: Correct Horse 8!
OK-ACCESS-SIGN: {sig}
@scheme: okx
--- error_code: 401
--- response_body chomp
{"code":"signature-invalid","msg":"The signature is invalid."}
--- error_log
apisec: key "okTrader0001" refused: signature-invalid, the passphrase does not match
--- no_error_log
Correct Horse



=== TEST 7: a key created without a passphrase: 401 signature-invalid
--- apisec_request
GET /api/v5/account/balance
OK-ACCESS-KEY: okNoPass0001
OK-ACCESS-TIMESTAMP: {isoms}
OK-ACCESS-PASSPHRASE: anything
OK-ACCESS-SIGN: {sig}
@scheme: okx
--- error_code: 401
--- response_body chomp
{"code":"signature-invalid","msg":"The signature is invalid."}
--- error_log
apisec: key "okNoPass0001" refused: signature-invalid, the key has no passphrase



=== TEST 8: no passphrase header: 401 signature-missing
--- apisec_request
GET /api/v5/account/balance
OK-ACCESS-KEY: okTrader0001
OK-ACCESS-TIMESTAMP: {isoms}
OK-ACCESS-SIGN: {sig}
@scheme: okx
--- error_code: 401
--- response_body chomp
{"code":"signature-missing","msg":"The signature is missing."}
--- error_log
refused: signature-missing, no OK-ACCESS-PASSPHRASE header



=== TEST 9: no OK-ACCESS-KEY: 401 key-missing
--- apisec_request
GET /api/v5/account/balance
OK-ACCESS-TIMESTAMP: {isoms}
OK-ACCESS-PASSPHRASE: Correct Horse 9!
OK-ACCESS-SIGN: {sig}
@scheme: okx
--- error_code: 401
--- response_body chomp
{"code":"key-missing","msg":"The API key is missing."}



=== TEST 10: no OK-ACCESS-SIGN: 401 signature-missing
--- apisec_request
GET /api/v5/account/balance
OK-ACCESS-KEY: okTrader0001
OK-ACCESS-TIMESTAMP: {isoms}
OK-ACCESS-PASSPHRASE: Correct Horse 9!
@scheme: okx
--- error_code: 401
--- error_log
refused: signature-missing, no OK-ACCESS-SIGN header



=== TEST 11: a timestamp 40 s old: 401 timestamp-invalid
--- apisec_request
GET /api/v5/account/balance
OK-ACCESS-KEY: okTrader0001
OK-ACCESS-TIMESTAMP: {isoms-40000}
OK-ACCESS-PASSPHRASE: Correct Horse 9!
OK-ACCESS-SIGN: {sig}
@scheme: okx
--- error_code: 401
--- response_body chomp
{"code":"timestamp-invalid","msg":"The timestamp is missing, malformed or outside the window."}
--- error_log
refused: timestamp-invalid, the timestamp is older than the window



=== TEST 12: a timestamp 20 s old: accepted (30 s either side)
--- apisec_request
GET /api/v5/account/balance
OK-ACCESS-KEY: okTrader0001
OK-ACCESS-TIMESTAMP: {isoms-20000}
OK-ACCESS-PASSPHRASE: Correct Horse 9!
OK-ACCESS-SIGN: {sig}
@scheme: okx
--- error_code: 200



=== TEST 13: a timestamp 40 s ahead: 401 timestamp-invalid
--- apisec_request
GET /api/v5/account/balance
OK-ACCESS-KEY: okTrader0001
OK-ACCESS-TIMESTAMP: {isoms+40000}
OK-ACCESS-PASSPHRASE: Correct Horse 9!
OK-ACCESS-SIGN: {sig}
@scheme: okx
--- error_code: 401
--- error_log
refused: timestamp-invalid, the timestamp is in the future



=== TEST 14: a malformed timestamp (Unix ms): 401 timestamp-invalid
--- apisec_request
GET /api/v5/account/balance
OK-ACCESS-KEY: okTrader0001
OK-ACCESS-TIMESTAMP: {ts}
OK-ACCESS-PASSPHRASE: Correct Horse 9!
OK-ACCESS-SIGN: {sig}
@scheme: okx
--- error_code: 401
--- error_log
refused: timestamp-invalid, the timestamp is not YYYY-MM-DDThh:mm:ss.sssZ



=== TEST 15: a query parameter twice: 400 request-malformed
--- apisec_request
GET /api/v5/account/balance?ccy=BTC&ccy=ETH
OK-ACCESS-KEY: okTrader0001
OK-ACCESS-TIMESTAMP: {isoms}
OK-ACCESS-PASSPHRASE: Correct Horse 9!
OK-ACCESS-SIGN: {sig}
@scheme: okx
--- error_code: 400
--- error_log
refused: request-malformed, a parameter is sent twice



=== TEST 16: a header twice: 400 request-malformed
--- apisec_request
GET /api/v5/account/balance
OK-ACCESS-KEY: okTrader0001
OK-ACCESS-TIMESTAMP: {isoms}
OK-ACCESS-PASSPHRASE: Correct Horse 9!
OK-ACCESS-PASSPHRASE: Correct Horse 9!
OK-ACCESS-SIGN: {sig}
@scheme: okx
--- error_code: 400
--- error_log
refused: request-malformed, an OK-ACCESS header is sent twice



=== TEST 17: a body above apisec_max_body_size: 400 request-malformed
--- config
    location /api/v5/ {
        apisec on;
        apisec_scheme okx;
        apisec_permission trade;
        apisec_max_body_size 32;
        proxy_pass http://apisec_backend;
    }
--- apisec_request
POST /api/v5/trade/order
OK-ACCESS-KEY: okTrader0001
OK-ACCESS-TIMESTAMP: {isoms}
OK-ACCESS-PASSPHRASE: Correct Horse 9!
OK-ACCESS-SIGN: {sig}
Content-Type: application/json
@scheme: okx

{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"market","sz":"2"}
--- error_code: 400
--- error_log
refused: request-malformed, the body is too large
