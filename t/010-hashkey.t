# The hashkey scheme: signed GET and POST requests are accepted and reach
# the upstream with the account; every refusal answers the status and JSON
# code of SPEC.md and logs the key and the reason, never the signature.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use ApisecTest;

ApisecTest::setup(keys => [
    { access_key => 'hkReader0001', account => 'acct-reader',
      secret_key => 'rS7tq2Xk9LmN4vB8cD1eF6gH3jK5pQ0wZyXaBcDeFgHiJkLmNoPqRsTuVwXyZ012',
      permissions => ['read'] },
    { access_key => 'hkTrader0001', account => 'acct-trader',
      secret_key => 'tR4d3rS3cr3tK3yV4lu3F0rT3st1ngPurp0s3sOnlyN0tR34lXyZ0123456789ab',
      permissions => ['read', 'trade'] },
]);

no_shuffle();
add_block_preprocessor(\&ApisecTest::preprocess);
run_tests();

__DATA__

=== TEST 1: GET signed in the query is accepted and the upstream sees the account
--- apisec_request
GET /api/v1/account?symbol=BTCUSDT&timestamp={ts}&signature={sig}
X-HK-APIKEY: hkReader0001
--- error_code: 200
--- response_body
backend GET /api/v1/account account=acct-reader key=hkReader0001 body=
--- no_error_log
refused
[error]



=== TEST 2: the signature in upper-case hex is accepted
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: hkReader0001
@upper: 1
--- error_code: 200
--- response_body_like: ^backend GET /api/v1/account account=acct-reader



=== TEST 3: POST form, signature in the body, the body reaches the upstream
--- apisec_request
POST /trade/order
X-HK-APIKEY: hkTrader0001
Content-Type: application/x-www-form-urlencoded

symbol=BTCUSDT&side=BUY&quantity=1&timestamp={ts}&signature={sig}
--- error_code: 200
--- response_body_like: ^backend POST /trade/order account=acct-trader key=hkTrader0001 body=symbol=BTCUSDT&side=BUY&quantity=1&timestamp=\d+&signature=[0-9a-f]{64}$



=== TEST 4: POST form, parameters split between query and body, signature in the query
--- apisec_request
POST /trade/order?symbol=BTCUSDT&side=BUY&signature={sig}
X-HK-APIKEY: hkTrader0001
Content-Type: application/x-www-form-urlencoded; charset=utf-8

quantity=1&price=0.1&recvWindow=5000&timestamp={ts}
--- error_code: 200
--- response_body_like: ^backend POST /trade/order account=acct-trader



=== TEST 5: POST with a JSON body: the query is signed, the body is not part of totalParams
--- apisec_request
POST /trade/order?timestamp={ts}&signature={sig}
X-HK-APIKEY: hkTrader0001
Content-Type: application/json

{"symbol":"BTCUSDT","quantity":"1"}
--- error_code: 200
--- response_body_like: ^backend POST /trade/order account=acct-trader



=== TEST 6: no key header: 401 key-missing
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
--- error_code: 401
--- response_headers
Content-Type: application/json
--- response_body chomp
{"code":"key-missing","msg":"The API key is missing."}
--- error_log
apisec: key "-" refused: key-missing, no key header



=== TEST 7: an empty key header: 401 key-missing
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: 
--- error_code: 401
--- response_body chomp
{"code":"key-missing","msg":"The API key is missing."}
--- error_log
refused: key-missing



=== TEST 8: a key that is not in the store: 401 key-unknown
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: hkNobody0001
--- error_code: 401
--- response_body chomp
{"code":"key-unknown","msg":"The API key is unknown."}
--- error_log
apisec: key "hkNobody0001" refused: key-unknown, no such key in the store



=== TEST 9: a key with characters no key has is not looked up: 401 key-unknown, not logged as sent
--- log_level: warn
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: bad"key<script>
--- error_code: 401
--- response_body chomp
{"code":"key-unknown","msg":"The API key is unknown."}
--- error_log
apisec: key "-" refused: key-unknown, the key has characters no key has
--- no_error_log
<script>



=== TEST 10: the key header twice: 400 request-malformed
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: hkReader0001
X-HK-APIKEY: hkTrader0001
--- error_code: 400
--- response_body chomp
{"code":"request-malformed","msg":"The request is malformed."}
--- error_log
refused: request-malformed, the key header is sent twice



=== TEST 11: no signature: 401 signature-missing
--- apisec_request
GET /api/v1/account?timestamp={ts}
X-HK-APIKEY: hkReader0001
--- error_code: 401
--- response_body chomp
{"code":"signature-missing","msg":"The signature is missing."}
--- error_log
apisec: key "hkReader0001" refused: signature-missing, no signature parameter



=== TEST 12: signed with the wrong secret: 401 signature-invalid
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: hkReader0001
@secret: notTheSecretOfThisKeyButLongEnoughToLookLikeOne000000000000000000
--- error_code: 401
--- response_body chomp
{"code":"signature-invalid","msg":"The signature is invalid."}
--- error_log
apisec: key "hkReader0001" refused: signature-invalid, the signature does not match



=== TEST 13: one byte of the query changed after signing: 401 signature-invalid
--- apisec_request
GET /api/v1/account?symbol=BTCUSDT&timestamp={ts}&signature={sig}
X-HK-APIKEY: hkReader0001
@tamper: s/BTCUSDT/BTCUSDU/
--- error_code: 401
--- response_body chomp
{"code":"signature-invalid","msg":"The signature is invalid."}
--- error_log
refused: signature-invalid, the signature does not match



=== TEST 14: one byte of the signed form body changed: 401 signature-invalid
--- apisec_request
POST /trade/order
X-HK-APIKEY: hkTrader0001
Content-Type: application/x-www-form-urlencoded
@tamper: s/quantity=1/quantity=9/

symbol=BTCUSDT&quantity=1&timestamp={ts}&signature={sig}
--- error_code: 401
--- response_body chomp
{"code":"signature-invalid","msg":"The signature is invalid."}
--- error_log
refused: signature-invalid, the signature does not match



=== TEST 15: a signature that is not 64 hex digits: 401 signature-invalid
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature=abc
X-HK-APIKEY: hkReader0001
--- error_code: 401
--- response_body chomp
{"code":"signature-invalid","msg":"The signature is invalid."}
--- error_log
refused: signature-invalid, the signature is not 64 hex digits



=== TEST 16: the signature in both the query and the body: 400 request-malformed
--- apisec_request
POST /trade/order?signature={sig}
X-HK-APIKEY: hkTrader0001
Content-Type: application/x-www-form-urlencoded

quantity=1&timestamp={ts}&signature={sig}
--- error_code: 400
--- response_body chomp
{"code":"request-malformed","msg":"The request is malformed."}
--- error_log
refused: request-malformed, the signature is sent twice



=== TEST 17: a parameter twice (query and body): 400 request-malformed
--- apisec_request
POST /trade/order?quantity=1&signature={sig}
X-HK-APIKEY: hkTrader0001
Content-Type: application/x-www-form-urlencoded

quantity=100&timestamp={ts}
--- error_code: 400
--- response_body chomp
{"code":"request-malformed","msg":"The request is malformed."}
--- error_log
refused: request-malformed, a parameter is sent twice



=== TEST 18: a percent-encoded duplicate of timestamp: 400 request-malformed
--- apisec_request
GET /api/v1/account?timestamp={ts}&%74imestamp={ts}&signature={sig}
X-HK-APIKEY: hkReader0001
--- error_code: 400
--- response_body chomp
{"code":"request-malformed","msg":"The request is malformed."}
--- error_log
refused: request-malformed, a parameter is sent twice



=== TEST 19: a form body above apisec_max_body_size: 400 request-malformed
--- config
    location /trade/ {
        apisec on;
        apisec_permission trade;
        apisec_max_body_size 64;
        proxy_pass http://apisec_backend;
    }
--- apisec_request
POST /trade/order
X-HK-APIKEY: hkTrader0001
Content-Type: application/x-www-form-urlencoded

symbol=BTCUSDT&side=BUY&quantity=1&price=0.1&timestamp={ts}&signature={sig}
--- error_code: 400
--- response_body chomp
{"code":"request-malformed","msg":"The request is malformed."}
--- error_log
refused: request-malformed, the body is too large



=== TEST 20: a key without the location's permission: 403 permission-denied
--- apisec_request
POST /trade/order?timestamp={ts}&signature={sig}
X-HK-APIKEY: hkReader0001
--- error_code: 403
--- response_body chomp
{"code":"permission-denied","msg":"The API key lacks the permission for this endpoint."}
--- error_log
apisec: key "hkReader0001" refused: permission-denied, the key lacks the location's permission



=== TEST 21: trade does not include withdraw: 403 permission-denied
--- apisec_request
POST /withdraw/apply?timestamp={ts}&signature={sig}
X-HK-APIKEY: hkTrader0001
--- error_code: 403
--- response_body chomp
{"code":"permission-denied","msg":"The API key lacks the permission for this endpoint."}
--- error_log
apisec: key "hkTrader0001" refused: permission-denied



=== TEST 22: refusal log lines hold neither the signature nor the query string
--- log_level: warn
--- apisec_request
GET /api/v1/account?symbol=BTCUSDT&timestamp={ts}&signature={sig}
X-HK-APIKEY: hkReader0001
@tamper: s/BTCUSDT/ETHUSDT/
--- error_code: 401
--- error_log
request: "GET /api/v1/account"
--- no_error_log eval
[qr/[0-9a-fA-F]{64}/, qr/signature=/, qr/symbol=/]



=== TEST 23: apisec off in an inner location switches the checks off there
--- config
    location /api/ {
        apisec on;
        proxy_pass http://apisec_backend;

        location /api/public/ {
            apisec off;
            proxy_pass http://apisec_backend;
        }
    }
--- request
GET /api/public/time
--- error_code: 200
--- response_body
backend GET /api/public/time account= key= body=



=== TEST 24: a location without apisec is not checked
--- request
GET /open/time
--- error_code: 200
--- response_body
backend GET /open/time account= key= body=



=== TEST 25: $apisec_error, $apisec_account and $apisec_access_key in the access log
--- http_config
    log_format apisec '$status "$apisec_error" "$apisec_account" "$apisec_access_key"';
--- config
    location /api/ {
        access_log logs/apisec.log apisec;
        apisec on;
        proxy_pass http://apisec_backend;
    }

    location /trade/ {
        access_log logs/apisec.log apisec;
        apisec on;
        apisec_permission trade;
        proxy_pass http://apisec_backend;
    }

    location = /log {
        alias logs/apisec.log;
    }
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: hkReader0001
--- apisec_then
GET /trade/order
GET /log
--- error_code eval
[200, 401, 200]
--- response_body_like eval
[qr/account=acct-reader/, qr/"signature-missing"/,
 qr/\A200 "" "acct-reader" "hkReader0001"\n401 "signature-missing" "acct-reader" "hkReader0001"\n\z/]



=== TEST 26: HEAD refused: status and headers, no body
--- apisec_request
HEAD /api/v1/account?timestamp={ts}&signature=00
X-HK-APIKEY: hkReader0001
--- error_code: 401
--- response_headers
Content-Type: application/json
--- response_body



=== TEST 27: a key not in the store, with a parameter twice and no signature: 401 key-unknown (check 1 before the parse's error)
--- apisec_request
GET /api/v1/account?timestamp={ts}&timestamp={ts}
X-HK-APIKEY: hkNobody0001
--- error_code: 401
--- response_body chomp
{"code":"key-unknown","msg":"The API key is unknown."}
--- error_log
apisec: key "hkNobody0001" refused: key-unknown, no such key in the store
--- no_error_log
sent twice



=== TEST 28: a location without apisec, with access key headers (the post-read phase's hint to the key cache): not checked, served
--- request
GET /open/time
--- more_headers eval
"X-HK-APIKEY: hkReader0001\nx-hk-apikey: hkNobody0001\nX-MBX-APIKEY: "
. ("K" x 7000) . "\nOK-ACCESS-KEY: \n"
--- error_code: 200
--- response_body
backend GET /open/time account= key= body=
--- no_error_log
[alert]
[error]
