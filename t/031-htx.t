# The htx scheme (HTX/Huobi signature version 2): AccessKeyId,
# SignatureMethod, SignatureVersion, Timestamp and Signature in the query;
# base64 HMAC-SHA256 over METHOD\nhost\npath\n + the sorted parameters.
# The host is the Host header as sent, lower-cased.  POST bodies are not
# signed.  Signatures are computed in t/lib/ApisecTest.pm (htx_sign).

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use ApisecTest;

ApisecTest::setup(keys => [
    { access_key => 'e2a0b1c2-99d3e4f5-84a6b7c8-7d9e0', account => 'acct-htx',
      secret_key => 'b0a1b2c3-c6d4e5f6-94a7b8c9-d0e1f',
      permissions => ['read', 'trade'] },
]);

our $Config = <<'END';
    location /v1/ {
        apisec on;
        apisec_scheme htx;
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

=== TEST 1: GET, parameters in any order: accepted
--- apisec_request
GET /v1/order/orders?symbol=btcusdt&AccessKeyId=e2a0b1c2-99d3e4f5-84a6b7c8-7d9e0&SignatureMethod=HmacSHA256&SignatureVersion=2&Timestamp={iso}&states=filled&Signature={sig}
@scheme: htx
--- error_code: 200
--- response_body
backend GET /v1/order/orders account=acct-htx key=e2a0b1c2-99d3e4f5-84a6b7c8-7d9e0 body=



=== TEST 2: POST with a JSON body (not signed): accepted, the body reaches the upstream
--- apisec_request
POST /v1/order/orders/place?AccessKeyId=e2a0b1c2-99d3e4f5-84a6b7c8-7d9e0&SignatureMethod=HmacSHA256&SignatureVersion=2&Timestamp={iso}&Signature={sig}
Content-Type: application/json
@scheme: htx

{"account-id":"100009","amount":"10.1","price":"100.1","symbol":"ethusdt","type":"buy-limit"}
--- error_code: 200
--- response_body_like: ^backend POST /v1/order/orders/place account=acct-htx



=== TEST 3: the Host header is signed, lower-cased, with its port
--- apisec_request
GET /v1/account/accounts?AccessKeyId=e2a0b1c2-99d3e4f5-84a6b7c8-7d9e0&SignatureMethod=HmacSHA256&SignatureVersion=2&Timestamp={iso}&Signature={sig}
Host: API.Example.com:8443
@scheme: htx
--- error_code: 200



=== TEST 4: signed for another host: 401 signature-invalid
--- apisec_request
GET /v1/account/accounts?AccessKeyId=e2a0b1c2-99d3e4f5-84a6b7c8-7d9e0&SignatureMethod=HmacSHA256&SignatureVersion=2&Timestamp={iso}&Signature={sig}
Host: api.huobi.pro
@scheme: htx
@tamper: s/api.huobi.pro/api.evil.example/
--- error_code: 401
--- response_body chomp
{"code":"signature-invalid","msg":"The signature is invalid."}
--- error_log
apisec: key "e2a0b1c2-99d3e4f5-84a6b7c8-7d9e0" refused: signature-invalid, the signature does not match



=== TEST 5: no AccessKeyId: 401 key-missing
--- apisec_request
GET /v1/account/accounts?SignatureMethod=HmacSHA256&SignatureVersion=2&Timestamp={iso}&Signature={sig}
@scheme: htx
--- error_code: 401
--- response_body chomp
{"code":"key-missing","msg":"The API key is missing."}
--- error_log
apisec: key "-" refused: key-missing, no key parameter



=== TEST 6: the wrong secret: 401 signature-invalid
--- apisec_request
GET /v1/account/accounts?AccessKeyId=e2a0b1c2-99d3e4f5-84a6b7c8-7d9e0&SignatureMethod=HmacSHA256&SignatureVersion=2&Timestamp={iso}&Signature={sig}
@scheme: htx
@secret: ffffffff-ffffffff-ffffffff-fffff
--- error_code: 401
--- response_body chomp
{"code":"signature-invalid","msg":"The signature is invalid."}
--- error_log
refused: signature-invalid, the signature does not match



=== TEST 7: a query value changed: 401 signature-invalid
--- apisec_request
GET /v1/order/orders?symbol=btcusdt&AccessKeyId=e2a0b1c2-99d3e4f5-84a6b7c8-7d9e0&SignatureMethod=HmacSHA256&SignatureVersion=2&Timestamp={iso}&Signature={sig}
@scheme: htx
@tamper: s/btcusdt/ethusdt/
--- error_code: 401
--- error_log
refused: signature-invalid, the signature does not match



=== TEST 8: the path changed: 401 signature-invalid
--- apisec_request
GET /v1/order/orders?AccessKeyId=e2a0b1c2-99d3e4f5-84a6b7c8-7d9e0&SignatureMethod=HmacSHA256&SignatureVersion=2&Timestamp={iso}&Signature={sig}
@scheme: htx
@tamper: s{/v1/order/orders}{/v1/order/matchresults}
--- error_code: 401
--- error_log
refused: signature-invalid, the signature does not match



=== TEST 9: the body is not signed: a changed body still passes (documented)
--- apisec_request
POST /v1/order/orders/place?AccessKeyId=e2a0b1c2-99d3e4f5-84a6b7c8-7d9e0&SignatureMethod=HmacSHA256&SignatureVersion=2&Timestamp={iso}&Signature={sig}
Content-Type: application/json
@scheme: htx
@tamper: s/"amount":"10.1"/"amount":"99.9"/

{"account-id":"100009","amount":"10.1","symbol":"ethusdt","type":"buy-market"}
--- error_code: 200



=== TEST 10: a Timestamp 6 minutes old: 401 timestamp-invalid
--- apisec_request
GET /v1/account/accounts?AccessKeyId=e2a0b1c2-99d3e4f5-84a6b7c8-7d9e0&SignatureMethod=HmacSHA256&SignatureVersion=2&Timestamp={iso-360000}&Signature={sig}
@scheme: htx
--- error_code: 401
--- response_body chomp
{"code":"timestamp-invalid","msg":"The timestamp is missing, malformed or outside the window."}
--- error_log
refused: timestamp-invalid, the timestamp is older than the window



=== TEST 11: a Timestamp 4 minutes old: accepted (5 minutes either side)
--- apisec_request
GET /v1/account/accounts?AccessKeyId=e2a0b1c2-99d3e4f5-84a6b7c8-7d9e0&SignatureMethod=HmacSHA256&SignatureVersion=2&Timestamp={iso-240000}&Signature={sig}
@scheme: htx
--- error_code: 200



=== TEST 12: a Timestamp 6 minutes ahead: 401 timestamp-invalid
--- apisec_request
GET /v1/account/accounts?AccessKeyId=e2a0b1c2-99d3e4f5-84a6b7c8-7d9e0&SignatureMethod=HmacSHA256&SignatureVersion=2&Timestamp={iso+360000}&Signature={sig}
@scheme: htx
--- error_code: 401
--- error_log
refused: timestamp-invalid, the timestamp is in the future



=== TEST 13: apisec_time_window 1m narrows the window: 2 minutes old refused
--- config
    location /v1/ {
        apisec on;
        apisec_scheme htx;
        apisec_time_window 1m;
        proxy_pass http://apisec_backend;
    }
--- apisec_request
GET /v1/account/accounts?AccessKeyId=e2a0b1c2-99d3e4f5-84a6b7c8-7d9e0&SignatureMethod=HmacSHA256&SignatureVersion=2&Timestamp={iso-120000}&Signature={sig}
@scheme: htx
--- error_code: 401
--- error_log
refused: timestamp-invalid, the timestamp is older than the window



=== TEST 14: a malformed Timestamp (Unix seconds): 401 timestamp-invalid
--- apisec_request
GET /v1/account/accounts?AccessKeyId=e2a0b1c2-99d3e4f5-84a6b7c8-7d9e0&SignatureMethod=HmacSHA256&SignatureVersion=2&Timestamp=1700000000&Signature={sig}
@scheme: htx
--- error_code: 401
--- response_body chomp
{"code":"timestamp-invalid","msg":"The timestamp is missing, malformed or outside the window."}
--- error_log
refused: timestamp-invalid, the Timestamp is not YYYY-MM-DDThh:mm:ss



=== TEST 15: a parameter twice: 400 request-malformed
--- apisec_request
GET /v1/order/orders?symbol=btcusdt&symbol=ethusdt&AccessKeyId=e2a0b1c2-99d3e4f5-84a6b7c8-7d9e0&SignatureMethod=HmacSHA256&SignatureVersion=2&Timestamp={iso}&Signature={sig}
@scheme: htx
--- error_code: 400
--- response_body chomp
{"code":"request-malformed","msg":"The request is malformed."}
--- error_log
refused: request-malformed, a parameter is sent twice



=== TEST 16: no Signature: 401 signature-missing
--- apisec_request
GET /v1/account/accounts?AccessKeyId=e2a0b1c2-99d3e4f5-84a6b7c8-7d9e0&SignatureMethod=HmacSHA256&SignatureVersion=2&Timestamp={iso}
@scheme: htx
--- error_code: 401
--- response_body chomp
{"code":"signature-missing","msg":"The signature is missing."}
--- error_log
refused: signature-missing, no Signature parameter



=== TEST 17: SignatureVersion 1: 400 request-malformed
--- apisec_request
GET /v1/account/accounts?AccessKeyId=e2a0b1c2-99d3e4f5-84a6b7c8-7d9e0&SignatureMethod=HmacSHA256&SignatureVersion=1&Timestamp={iso}&Signature={sig}
@scheme: htx
--- error_code: 400
--- error_log
refused: request-malformed, not SignatureMethod=HmacSHA256 and SignatureVersion=2
