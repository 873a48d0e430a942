# Hostile input: oversized keys, headers, parameters and bodies;
# duplicated parameters and signatures; percent-encoding and case tricks;
# NUL bytes; chunked bodies; bodies that stall or stop.  Each request is
# refused with the status and JSON code of SPEC.md and an error-log line
# (or, where nginx refuses it before apisec sees it, with nginx's own
# status), or accepted only when its signature covers every byte that
# apisec reads; nothing unchecked reaches the upstream.
#
# The stalling requests are sent from "--- init" (ApisecTest::send_parts);
# the block's own request then reads the access log, where $status,
# $apisec_error and $upstream_addr show what became of them.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Test::More;
use ApisecTest;

ApisecTest::setup(keys => [
    { access_key => 'hoReader01', account => 'acct-hreader',
      secret_key => 'HostileReaderHostileReader000001',
      permissions => ['read'] },
    { access_key => 'hoTrader01', account => 'acct-htrader',
      secret_key => 'HostileTraderHostileTrader000001',
      permissions => ['read', 'trade'] },
    { access_key => 'hoOkx00001', account => 'acct-hokx',
      secret_key => 'HostileOkxHostileOkxHostileOkx01',
      passphrase => 'hostile pass', permissions => ['read', 'trade'] },
    { access_key => 'hoHtx00001', account => 'acct-hhtx',
      secret_key => 'HostileHtxHostileHtxHostileHtx01',
      permissions => ['read'] },
    { access_key => 'hoTotp0001', account => 'acct-htotp',
      secret_key => 'HostileTotpHostileTotpHostile001',
      permissions => ['read', 'withdraw'] },
    { access_key => ('k' x 128), account => 'acct-longest',
      secret_key => 'HostileLongestKeyHostileLongest1',
      permissions => ['read'] },
]);

ApisecTest::enroll('hoTotp0001');

# the access log of every block: what became of each request
our $Http = <<'END';
    log_format hostile '$request_method $uri $status "$apisec_error" "$upstream_addr"';
END

# /quiet/ and /v5q/: the backend is not sent the body (in a header, which
# cannot hold a NUL byte or 60 kB)
our $Config = <<'END';
    client_body_timeout 1s;
    access_log logs/hostile.log hostile;

    location /api/ {
        apisec on;
        proxy_pass http://apisec_backend;
    }

    location /trade/ {
        apisec on;
        apisec_permission trade;
        proxy_pass http://apisec_backend;
    }

    location /quiet/ {
        apisec on;
        apisec_permission trade;
        proxy_set_header X-Apisec-Account $apisec_account;
        proxy_set_header X-Apisec-Key $apisec_access_key;
        proxy_pass http://apisec_backend;
    }

    location /v5/ {
        apisec on;
        apisec_scheme okx;
        apisec_permission trade;
        proxy_pass http://apisec_backend;
    }

    location /v5q/ {
        apisec on;
        apisec_scheme okx;
        apisec_permission trade;
        proxy_set_header X-Apisec-Account $apisec_account;
        proxy_set_header X-Apisec-Key $apisec_access_key;
        proxy_pass http://apisec_backend;
    }

    location /htx/ {
        apisec on;
        apisec_scheme htx;
        proxy_pass http://apisec_backend;
    }

    location /withdraw/ {
        apisec on;
        apisec_permission withdraw;
        proxy_pass http://apisec_backend;
    }

    location /open/ {
        proxy_pass http://apisec_backend;
    }

    location /withdraw2fa/ {
        apisec on;
        apisec_permission withdraw;
        apisec_2fa on;
        proxy_pass http://apisec_backend;
    }

    location = /log {
        access_log off;
        alias logs/hostile.log;
    }
END

# a signed form POST to /trade/order with these body parameters (and
# more lines for the section): the bytes send_raw would send
sub form_post {
    my ($params, @more) = @_;

    my ($req, $hdr) = ApisecTest::signed_request(join "\n",
        'POST /trade/order', 'X-HK-APIKEY: hoTrader01',
        'Content-Type: application/x-www-form-urlencoded', @more, '',
        "$params&timestamp={ts}&signature={sig}");

    return ApisecTest::raw_request($req, $hdr);
}

# the same with an okx JSON body to /v5/trade/order
sub okx_post {
    my ($json, @more) = @_;

    my ($req, $hdr) = ApisecTest::signed_request(join "\n",
        'POST /v5/trade/order', 'OK-ACCESS-KEY: hoOkx00001',
        'OK-ACCESS-TIMESTAMP: {isoms}', 'OK-ACCESS-PASSPHRASE: hostile pass',
        'OK-ACCESS-SIGN: {sig}', 'Content-Type: application/json',
        '@scheme: okx', @more, '', $json);

    return ApisecTest::raw_request($req, $hdr);
}

# send_parts's result, checked: no response, closed by nginx after
# client_body_timeout (1 s)
sub stalled {
    my ($what, $pieces) = @_;

    my ($st, $res, $secs, $closed) = ApisecTest::send_parts($pieces, 5);

    Test::More::is($st, 0, "$what: no response");
    Test::More::is($res, '', "$what: nothing sent back");
    Test::More::ok($closed, "$what: nginx closed the connection");
    Test::More::ok($secs > 0.8 && $secs < 4,
                   "$what: after client_body_timeout ($secs s)");
}

no_shuffle();
add_block_preprocessor(sub {
    my ($block) = @_;
    $block->set_value('config', $Config) unless defined $block->config;
    $block->set_value('http_config', $Http . ($block->http_config // ''));
    ApisecTest::preprocess($block);
});
run_tests();

__DATA__

=== TEST 1: an access key of 128 characters (the longest a key can be) is looked up: accepted
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: {rep:128:k}
--- error_code: 200
--- response_body_like: ^backend GET /api/v1/account account=acct-longest key=k{128} body=$



=== TEST 2: an access key of 129 characters: 401 key-unknown, not looked up, not logged
--- log_level: warn
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: {rep:129:k}
--- error_code: 401
--- response_body chomp
{"code":"key-unknown","msg":"The API key is unknown."}
--- error_log
apisec: key "-" refused: key-unknown, the key is too long
--- no_error_log
kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk
[alert]



=== TEST 3: an access key of 7000 characters: 401 key-unknown, not logged
--- log_level: warn
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: {rep:7000:K}
--- error_code: 401
--- response_body chomp
{"code":"key-unknown","msg":"The API key is unknown."}
--- error_log
apisec: key "-" refused: key-unknown, the key is too long
--- no_error_log
KKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKK
[alert]



=== TEST 4: a key header longer than large_client_header_buffers: nginx's 400, apisec never sees it
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: {rep:9000:K}
--- error_code: 400
--- response_body_like: Request Header Or Cookie Too Large
--- error_log
client sent too long header line
--- no_error_log
apisec: key



=== TEST 5: the key header in lower case is the key header (names are case-insensitive): accepted
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
x-hk-apikey: hoReader01
--- error_code: 200
--- response_body_like: ^backend GET /api/v1/account account=acct-hreader key=hoReader01



=== TEST 6: the key header twice, in two cases: 400 request-malformed
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: hoReader01
x-hk-apikey: hoTrader01
--- error_code: 400
--- response_body chomp
{"code":"request-malformed","msg":"The request is malformed."}
--- error_log
apisec: key "-" refused: request-malformed, the key header is sent twice



=== TEST 7: "X_HK_APIKEY" (underscores) is not the key header (nginx ignores such names): 401 key-missing
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X_HK_APIKEY: hoReader01
--- error_code: 401
--- response_body chomp
{"code":"key-missing","msg":"The API key is missing."}
--- error_log
apisec: key "-" refused: key-missing, no key header



=== TEST 8: 600 other header lines before the key header: found, accepted
--- init
my ($st, $res) = ApisecTest::send_signed(join "\n",
    'GET /api/v1/account?timestamp={ts}&signature={sig}',
    (map { "X-Pad-$_: 1" } 1 .. 600), 'X-HK-APIKEY: hoReader01');
Test::More::is($st, 200, 'accepted');
Test::More::like($res, qr/\nbackend GET \/api\/v1\/account account=acct-hreader key=hoReader01 /,
                 'by the backend, with the key');
--- request
GET /log
--- response_body_like: ^GET /api/v1/account 200 "" "unix:[^"]+"\n$



=== TEST 9: 128 parameters in the query and the body (the most there may be): accepted
--- apisec_request
POST /trade/order?{params:100}
X-HK-APIKEY: hoTrader01
Content-Type: application/x-www-form-urlencoded

{params:26:q}&timestamp={ts}&signature={sig}
--- error_code: 200
--- response_body_like: ^backend POST /trade/order account=acct-htrader



=== TEST 10: 129 parameters: 400 request-malformed
--- apisec_request
POST /trade/order?{params:100}
X-HK-APIKEY: hoTrader01
Content-Type: application/x-www-form-urlencoded

{params:27:q}&timestamp={ts}&signature={sig}
--- error_code: 400
--- response_body chomp
{"code":"request-malformed","msg":"The request is malformed."}
--- error_log
apisec: key "hoTrader01" refused: request-malformed, too many parameters



=== TEST 11: 5000 empty parameters ("&&&..."): not parameters, accepted
--- apisec_request
GET /api/v1/account?{rep:5000:&}timestamp={ts}&signature={sig}
X-HK-APIKEY: hoReader01
--- error_code: 200
--- response_body_like: ^backend GET /api/v1/account account=acct-hreader



=== TEST 12: a parameter name of 128 bytes: accepted
--- apisec_request
GET /api/v1/account?{rep:128:n}=1&timestamp={ts}&signature={sig}
X-HK-APIKEY: hoReader01
--- error_code: 200



=== TEST 13: a parameter name of 129 bytes: 400 request-malformed
--- apisec_request
GET /api/v1/account?{rep:129:n}=1&timestamp={ts}&signature={sig}
X-HK-APIKEY: hoReader01
--- error_code: 400
--- response_body chomp
{"code":"request-malformed","msg":"The request is malformed."}
--- error_log
apisec: key "hoReader01" refused: request-malformed, a parameter name is malformed or too long



=== TEST 14: a name of 129 characters percent-encoded ("%61" 129 times): decoded, too long: 400
--- apisec_request
GET /api/v1/account?{rep:129:%61}=1&timestamp={ts}&signature={sig}
X-HK-APIKEY: hoReader01
--- error_code: 400
--- response_body chomp
{"code":"request-malformed","msg":"The request is malformed."}
--- error_log
refused: request-malformed, a parameter name is malformed or too long



=== TEST 15: a broken escape in a name: 400 request-malformed
--- apisec_request
GET /api/v1/account?sym%4=1&timestamp={ts}&signature={sig}
X-HK-APIKEY: hoReader01
--- error_code: 400
--- response_body chomp
{"code":"request-malformed","msg":"The request is malformed."}
--- error_log
refused: request-malformed, a parameter name is malformed or too long



=== TEST 16: an escape that is not hex in a name: 400 request-malformed
--- apisec_request
POST /trade/order
X-HK-APIKEY: hoTrader01
Content-Type: application/x-www-form-urlencoded

%zzside=BUY&timestamp={ts}&signature={sig}
--- error_code: 400
--- response_body chomp
{"code":"request-malformed","msg":"The request is malformed."}
--- error_log
refused: request-malformed, a parameter name is malformed or too long



=== TEST 17: a value of 7000 bytes in the query: accepted
--- apisec_request
GET /api/v1/account?memo={rep:7000:v}&timestamp={ts}&signature={sig}
X-HK-APIKEY: hoReader01
--- error_code: 200
--- response_body_like: ^backend GET /api/v1/account account=acct-hreader



=== TEST 18: a value of 7000 bytes, its last byte changed after signing: 401 signature-invalid
--- apisec_request
GET /api/v1/account?memo={rep:7000:v}&timestamp={ts}&signature={sig}
X-HK-APIKEY: hoReader01
@tamper: s/vvv&timestamp/vvw&timestamp/
--- error_code: 401
--- response_body chomp
{"code":"signature-invalid","msg":"The signature is invalid."}
--- error_log
apisec: key "hoReader01" refused: signature-invalid, the signature does not match



=== TEST 19: a request line longer than large_client_header_buffers: nginx's 414, apisec never sees it
--- apisec_request
GET /api/v1/account?memo={rep:9000:v}&timestamp={ts}&signature={sig}
X-HK-APIKEY: hoReader01
--- error_code: 414
--- response_body_like: Request-URI Too Large
--- error_log
client sent too long URI
--- no_error_log
apisec: key



=== TEST 20: a timestamp of 16 nines (the most digits read): 401 timestamp-invalid, in the future
--- apisec_request
GET /api/v1/account?timestamp=9999999999999999&signature={sig}
X-HK-APIKEY: hoReader01
--- error_code: 401
--- response_body chomp
{"code":"timestamp-invalid","msg":"The timestamp is missing, malformed or outside the window."}
--- error_log
apisec: key "hoReader01" refused: timestamp-invalid, the timestamp is in the future



=== TEST 21: a timestamp of 40 digits (would overflow): 401 timestamp-invalid, not a number
--- apisec_request
GET /api/v1/account?timestamp={rep:40:9}&signature={sig}
X-HK-APIKEY: hoReader01
--- error_code: 401
--- response_body chomp
{"code":"timestamp-invalid","msg":"The timestamp is missing, malformed or outside the window."}
--- error_log
refused: timestamp-invalid, the timestamp is not a number of milliseconds



=== TEST 22: a recvWindow of 30 digits: 401 timestamp-invalid
--- apisec_request
GET /api/v1/account?recvWindow={rep:30:9}&timestamp={ts}&signature={sig}
X-HK-APIKEY: hoReader01
--- error_code: 401
--- response_body chomp
{"code":"timestamp-invalid","msg":"The timestamp is missing, malformed or outside the window."}
--- error_log
refused: timestamp-invalid, recvWindow is not a positive number



=== TEST 23: a signature of 6000 hex digits: 401 signature-invalid, not logged
--- log_level: warn
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={rep:3000:ab}
X-HK-APIKEY: hoReader01
--- error_code: 401
--- response_body chomp
{"code":"signature-invalid","msg":"The signature is invalid."}
--- error_log
apisec: key "hoReader01" refused: signature-invalid, the signature is not 64 hex digits
--- no_error_log
abababababababababababababababab



=== TEST 24: okx: an OK-ACCESS-SIGN of 6000 characters: 401 signature-invalid, not logged
--- log_level: warn
--- apisec_request
GET /v5/account/balance
OK-ACCESS-KEY: hoOkx00001
OK-ACCESS-TIMESTAMP: {isoms}
OK-ACCESS-PASSPHRASE: hostile pass
OK-ACCESS-SIGN: {rep:1500:QUJD}
@scheme: okx
--- error_code: 401
--- response_body chomp
{"code":"signature-invalid","msg":"The signature is invalid."}
--- error_log
apisec: key "hoOkx00001" refused: signature-invalid, the signature is not base64 of 32 bytes
--- no_error_log
QUJDQUJDQUJDQUJD



=== TEST 25: okx: an OK-ACCESS-TIMESTAMP of 6000 characters: 401 timestamp-invalid
--- apisec_request
GET /v5/account/balance
OK-ACCESS-KEY: hoOkx00001
OK-ACCESS-TIMESTAMP: {isoms}{rep:6000:0}
OK-ACCESS-PASSPHRASE: hostile pass
OK-ACCESS-SIGN: {sig}
@scheme: okx
--- error_code: 401
--- response_body chomp
{"code":"timestamp-invalid","msg":"The timestamp is missing, malformed or outside the window."}
--- error_log
apisec: key "hoOkx00001" refused: timestamp-invalid, the timestamp is not YYYY-MM-DDThh:mm:ss.sssZ



=== TEST 26: okx: an OK-ACCESS-PASSPHRASE of 6000 characters, properly signed: 401 signature-invalid, not logged
--- log_level: warn
--- apisec_request
GET /v5/account/balance
OK-ACCESS-KEY: hoOkx00001
OK-ACCESS-TIMESTAMP: {isoms}
OK-ACCESS-PASSPHRASE: {rep:6000:P}
OK-ACCESS-SIGN: {sig}
@scheme: okx
--- error_code: 401
--- response_body chomp
{"code":"signature-invalid","msg":"The signature is invalid."}
--- error_log
apisec: key "hoOkx00001" refused: signature-invalid, the passphrase does not match
--- no_error_log
PPPPPPPPPPPPPPPP



=== TEST 27: okx: the passphrase header in another case twice: 400 request-malformed
--- apisec_request
GET /v5/account/balance
OK-ACCESS-KEY: hoOkx00001
OK-ACCESS-TIMESTAMP: {isoms}
OK-ACCESS-PASSPHRASE: hostile pass
ok-access-passphrase: hostile pass
OK-ACCESS-SIGN: {sig}
@scheme: okx
--- error_code: 400
--- response_body chomp
{"code":"request-malformed","msg":"The request is malformed."}
--- error_log
apisec: key "hoOkx00001" refused: request-malformed, an OK-ACCESS header is sent twice



=== TEST 28: htx: a Signature of 6000 characters: 401 signature-invalid
--- apisec_request
GET /htx/v1/account?AccessKeyId=hoHtx00001&SignatureMethod=HmacSHA256&SignatureVersion=2&Timestamp={iso}&Signature={rep:6000:A}
@scheme: htx
--- error_code: 401
--- response_body chomp
{"code":"signature-invalid","msg":"The signature is invalid."}
--- error_log
apisec: key "hoHtx00001" refused: signature-invalid, the signature is not base64 of 32 bytes



=== TEST 29: htx: a Timestamp of 6000 characters: 401 timestamp-invalid
--- apisec_request
GET /htx/v1/account?AccessKeyId=hoHtx00001&SignatureMethod=HmacSHA256&SignatureVersion=2&Timestamp={iso}{rep:6000:0}&Signature={sig}
@scheme: htx
--- error_code: 401
--- response_body chomp
{"code":"timestamp-invalid","msg":"The timestamp is missing, malformed or outside the window."}
--- error_log
apisec: key "hoHtx00001" refused: timestamp-invalid, the Timestamp is not YYYY-MM-DDThh:mm:ss



=== TEST 30: okx: OK-ACCESS-SIGN without its "=" padding: 401 signature-invalid (one spelling of a signature)
--- apisec_request
GET /v5/account/balance
OK-ACCESS-KEY: hoOkx00001
OK-ACCESS-TIMESTAMP: {isoms}
OK-ACCESS-PASSPHRASE: hostile pass
OK-ACCESS-SIGN: {sig}
@scheme: okx
@tamper: s/^(OK-ACCESS-SIGN: \S+)=$/$1/m
--- error_code: 401
--- response_body chomp
{"code":"signature-invalid","msg":"The signature is invalid."}
--- error_log
apisec: key "hoOkx00001" refused: signature-invalid, the signature is not base64 of 32 bytes



=== TEST 31: a TOTP code of 7000 digits: 403 2fa-invalid, not logged
--- log_level: warn
--- apisec_request
POST /withdraw2fa/apply?timestamp={ts}&signature={sig}
X-HK-APIKEY: hoTotp0001
X-Apisec-TOTP: {rep:7000:7}
--- error_code: 403
--- response_body chomp
{"code":"2fa-invalid","msg":"The two-factor code is invalid."}
--- error_log
apisec: key "hoTotp0001" refused: 2fa-invalid, the 2FA code is not six digits
--- no_error_log
7777777777777777



=== TEST 32: a TOTP code in full-width digits (UTF-8): 403 2fa-invalid
--- apisec_request
POST /withdraw2fa/apply?timestamp={ts}&signature={sig}
X-HK-APIKEY: hoTotp0001
X-Apisec-TOTP: １２３４５６
--- error_code: 403
--- response_body chomp
{"code":"2fa-invalid","msg":"The two-factor code is invalid."}
--- error_log
apisec: key "hoTotp0001" refused: 2fa-invalid, the 2FA code is not six digits



=== TEST 33: the TOTP header twice: 400 request-malformed
--- apisec_request
POST /withdraw2fa/apply?timestamp={ts}&signature={sig}
X-HK-APIKEY: hoTotp0001
X-Apisec-TOTP: 123456
x-apisec-totp: 654321
--- error_code: 400
--- response_body chomp
{"code":"request-malformed","msg":"The request is malformed."}
--- error_log
apisec: key "hoTotp0001" refused: request-malformed, the 2FA header is sent twice



=== TEST 34: htx: AccessKeyId twice, the second percent-encoded: 400 request-malformed
--- apisec_request
GET /htx/v1/account?AccessKeyId=hoHtx00001&%41ccessKeyId=hoReader01&SignatureMethod=HmacSHA256&SignatureVersion=2&Timestamp={iso}&Signature={sig}
@scheme: htx
--- error_code: 400
--- response_body chomp
{"code":"request-malformed","msg":"The request is malformed."}
--- error_log
apisec: key "hoHtx00001" refused: request-malformed, a parameter is sent twice



=== TEST 35: timestamp twice in the query: 400 request-malformed
--- apisec_request
GET /api/v1/account?timestamp={ts}&timestamp={ts}&signature={sig}
X-HK-APIKEY: hoReader01
--- error_code: 400
--- response_body chomp
{"code":"request-malformed","msg":"The request is malformed."}
--- error_log
apisec: key "hoReader01" refused: request-malformed, a parameter is sent twice



=== TEST 36: "a+b" and "a%20b" are one name: 400 request-malformed
--- apisec_request
GET /api/v1/account?a+b=1&a%20b=2&timestamp={ts}&signature={sig}
X-HK-APIKEY: hoReader01
--- error_code: 400
--- response_body chomp
{"code":"request-malformed","msg":"The request is malformed."}
--- error_log
refused: request-malformed, a parameter is sent twice



=== TEST 37: "%7a" and "%7A" are one name (query and body): 400 request-malformed
--- apisec_request
POST /trade/order?%7aqty=1
X-HK-APIKEY: hoTrader01
Content-Type: application/x-www-form-urlencoded

%7Aqty=100&timestamp={ts}&signature={sig}
--- error_code: 400
--- response_body chomp
{"code":"request-malformed","msg":"The request is malformed."}
--- error_log
refused: request-malformed, a parameter is sent twice



=== TEST 38: the signature twice in the query: 400 request-malformed
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}&signature={sig}
X-HK-APIKEY: hoReader01
--- error_code: 400
--- response_body chomp
{"code":"request-malformed","msg":"The request is malformed."}
--- error_log
apisec: key "hoReader01" refused: request-malformed, the signature is sent twice



=== TEST 39: the signature twice in the body: 400 request-malformed
--- apisec_request
POST /trade/order
X-HK-APIKEY: hoTrader01
Content-Type: application/x-www-form-urlencoded

signature={sig}&qty=1&timestamp={ts}&signature={sig}
--- error_code: 400
--- response_body chomp
{"code":"request-malformed","msg":"The request is malformed."}
--- error_log
refused: request-malformed, the signature is sent twice



=== TEST 40: "%73ignature" in the query and "signature" in the body: the signature twice, 400
--- apisec_request
POST /trade/order?%73ignature={sig}
X-HK-APIKEY: hoTrader01
Content-Type: application/x-www-form-urlencoded

qty=1&timestamp={ts}&signature={sig}
--- error_code: 400
--- response_body chomp
{"code":"request-malformed","msg":"The request is malformed."}
--- error_log
refused: request-malformed, the signature is sent twice



=== TEST 41: the signature's name percent-encoded is the signature (names are compared decoded): accepted
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: hoReader01
@tamper: s/&signature=/&%73ignature=/
--- error_code: 200
--- response_body_like: ^backend GET /api/v1/account account=acct-hreader



=== TEST 42: "Signature" is not "signature": 401 signature-missing
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: hoReader01
@tamper: s/&signature=/&Signature=/
--- error_code: 401
--- response_body chomp
{"code":"signature-missing","msg":"The signature is missing."}
--- error_log
apisec: key "hoReader01" refused: signature-missing, no signature parameter



=== TEST 43: "TIMESTAMP" is not "timestamp": 401 timestamp-invalid
--- apisec_request
GET /api/v1/account?TIMESTAMP={ts}&signature={sig}
X-HK-APIKEY: hoReader01
--- error_code: 401
--- response_body chomp
{"code":"timestamp-invalid","msg":"The timestamp is missing, malformed or outside the window."}
--- error_log
apisec: key "hoReader01" refused: timestamp-invalid, no timestamp parameter



=== TEST 44: a timestamp whose digits are percent-encoded: 401 timestamp-invalid (values are taken as sent)
--- apisec_request
GET /api/v1/account?timestamp=%31{ts}&signature={sig}
X-HK-APIKEY: hoReader01
--- error_code: 401
--- response_body chomp
{"code":"timestamp-invalid","msg":"The timestamp is missing, malformed or outside the window."}
--- error_log
refused: timestamp-invalid, the timestamp is not a number of milliseconds



=== TEST 45: a signature in a JSON body is not a signature (the JSON body is not signed): 401 signature-missing
--- apisec_request
POST /trade/order?timestamp={ts}
X-HK-APIKEY: hoTrader01
Content-Type: application/json

{"signature":"{sig}"}
--- error_code: 401
--- response_body chomp
{"code":"signature-missing","msg":"The signature is missing."}
--- error_log
apisec: key "hoTrader01" refused: signature-missing, no signature parameter



=== TEST 46: the form Content-Type in mixed case is the form type: the body is signed, accepted
--- apisec_request
POST /trade/order
X-HK-APIKEY: hoTrader01
Content-Type: Application/X-WWW-Form-URLEncoded; Charset=UTF-8

qty=1&timestamp={ts}&signature={sig}
--- error_code: 200
--- response_body_like: ^backend POST /trade/order account=acct-htrader key=hoTrader01 body=qty=1&



=== TEST 47: the form Content-Type in mixed case, a body byte changed: 401 signature-invalid
--- apisec_request
POST /trade/order
X-HK-APIKEY: hoTrader01
Content-Type: APPLICATION/X-WWW-FORM-URLENCODED
@tamper: s/qty=1/qty=9/

qty=1&timestamp={ts}&signature={sig}
--- error_code: 401
--- response_body chomp
{"code":"signature-invalid","msg":"The signature is invalid."}
--- error_log
refused: signature-invalid, the signature does not match



=== TEST 48: two Content-Type headers, JSON then form, the form body not signed (an upstream taking the last one would parse it): 400 request-malformed
--- apisec_request
POST /trade/order?timestamp={ts}&signature={sig}
X-HK-APIKEY: hoTrader01
Content-Type: application/json
@tamper: s{(Content-Type: application/json)}{$1\nContent-Type: application/x-www-form-urlencoded}

side=SELL&qty=100
--- error_code: 400
--- response_body chomp
{"code":"request-malformed","msg":"The request is malformed."}
--- error_log
apisec: key "-" refused: request-malformed, Content-Type is given more than once



=== TEST 49: two Content-Type headers, form then JSON (in two cases), the body signed: 400 request-malformed all the same
--- apisec_request
POST /trade/order
X-HK-APIKEY: hoTrader01
Content-Type: application/x-www-form-urlencoded
content-type: application/json

side=SELL&qty=100&timestamp={ts}&signature={sig}
--- error_code: 400
--- response_body chomp
{"code":"request-malformed","msg":"The request is malformed."}
--- error_log
apisec: key "-" refused: request-malformed, Content-Type is given more than once



=== TEST 50: a path that climbs out of a location without apisec ("/open/%2e%2e/withdraw/") is checked where nginx lands it: 403 permission-denied
--- apisec_request
GET /open/%2e%2e/withdraw/apply?timestamp={ts}&signature={sig}
X-HK-APIKEY: hoReader01
--- error_code: 403
--- response_body chomp
{"code":"permission-denied","msg":"The API key lacks the permission for this endpoint."}
--- error_log
apisec: key "hoReader01" refused: permission-denied, the key lacks the location's permission



=== TEST 51: the same with an encoded slash ("/open/..%2Fwithdraw/"): 403 permission-denied
--- apisec_request
GET /open/..%2Fwithdraw/apply?timestamp={ts}&signature={sig}
X-HK-APIKEY: hoReader01
--- error_code: 403
--- response_body chomp
{"code":"permission-denied","msg":"The API key lacks the permission for this endpoint."}
--- error_log
apisec: key "hoReader01" refused: permission-denied, the key lacks the location's permission



=== TEST 52: a NUL byte in the query: nginx's 400, apisec never sees it
--- apisec_request
GET /api/v1/account?memo=a{nul}b&timestamp={ts}&signature={sig}
X-HK-APIKEY: hoReader01
--- error_code: 400
--- response_body_like: 400 Bad Request
--- error_log
client sent invalid request
--- no_error_log
apisec: key



=== TEST 53: a NUL byte in the key header: nginx's 400, apisec never sees it
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: hoReader01{nul}hoTrader01
--- error_code: 400
--- response_body_like: 400 Bad Request
--- error_log
client sent invalid header line
--- no_error_log
apisec: key



=== TEST 54: a NUL byte inside a signed form body: the MAC covers it, accepted
--- apisec_request
POST /quiet/order
X-HK-APIKEY: hoTrader01
Content-Type: application/x-www-form-urlencoded

memo=a{nul}b&timestamp={ts}&signature={sig}
--- error_code: 200
--- response_body_like: ^backend POST /quiet/order account=acct-htrader key=hoTrader01



=== TEST 55: a NUL byte in a form body, a byte after it changed: 401 signature-invalid (nothing stops at the NUL)
--- apisec_request
POST /quiet/order
X-HK-APIKEY: hoTrader01
Content-Type: application/x-www-form-urlencoded
@tamper: s/qty=1/qty=9/

memo=a{nul}b&qty=1&timestamp={ts}&signature={sig}
--- error_code: 401
--- response_body chomp
{"code":"signature-invalid","msg":"The signature is invalid."}
--- error_log
apisec: key "hoTrader01" refused: signature-invalid, the signature does not match



=== TEST 56: a NUL byte right after the signature's 64 hex digits: 401 signature-invalid
--- apisec_request
POST /quiet/order
X-HK-APIKEY: hoTrader01
Content-Type: application/x-www-form-urlencoded

qty=1&timestamp={ts}&signature={sig}{nul}
--- error_code: 401
--- response_body chomp
{"code":"signature-invalid","msg":"The signature is invalid."}
--- error_log
refused: signature-invalid, the signature is not 64 hex digits



=== TEST 57: okx: a NUL byte in a signed JSON body, a byte after it changed: 401 signature-invalid
--- apisec_request
POST /v5q/trade/order
OK-ACCESS-KEY: hoOkx00001
OK-ACCESS-TIMESTAMP: {isoms}
OK-ACCESS-PASSPHRASE: hostile pass
OK-ACCESS-SIGN: {sig}
Content-Type: application/json
@scheme: okx
@tamper: s/"sz":"1"/"sz":"9"/

{"memo":"a{nul}b","sz":"1"}
--- error_code: 401
--- response_body chomp
{"code":"signature-invalid","msg":"The signature is invalid."}
--- error_log
apisec: key "hoOkx00001" refused: signature-invalid, the signature does not match



=== TEST 58: okx: the same NUL-bearing body unchanged: accepted
--- apisec_request
POST /v5q/trade/order
OK-ACCESS-KEY: hoOkx00001
OK-ACCESS-TIMESTAMP: {isoms}
OK-ACCESS-PASSPHRASE: hostile pass
OK-ACCESS-SIGN: {sig}
Content-Type: application/json
@scheme: okx

{"memo":"a{nul}b","sz":"1"}
--- error_code: 200
--- response_body_like: ^backend POST /v5q/trade/order account=acct-hokx key=hoOkx00001



=== TEST 59: a form body above apisec_max_body_size (64k by default), by its Content-Length: 400 request-malformed, before it is read
--- apisec_request
POST /quiet/order
X-HK-APIKEY: hoTrader01
Content-Type: application/x-www-form-urlencoded

memo={rep:66000:m}&timestamp={ts}&signature={sig}
--- error_code: 400
--- response_body chomp
{"code":"request-malformed","msg":"The request is malformed."}
--- error_log
apisec: key "-" refused: request-malformed, the body is too large



=== TEST 60: a form body of 60 kB, spooled to a temporary file (client_body_buffer_size 1k): read back and verified, accepted
--- config
    location /quiet/ {
        apisec on;
        apisec_permission trade;
        client_body_buffer_size 1k;
        proxy_set_header X-Apisec-Account $apisec_account;
        proxy_set_header X-Apisec-Key $apisec_access_key;
        proxy_pass http://apisec_backend;
    }
--- apisec_request
POST /quiet/order
X-HK-APIKEY: hoTrader01
Content-Type: application/x-www-form-urlencoded

memo={rep:60000:m}&timestamp={ts}&signature={sig}
--- error_code: 200
--- response_body_like: ^backend POST /quiet/order account=acct-htrader key=hoTrader01
--- error_log
a client request body is buffered to a temporary file



=== TEST 61: the same 60 kB body from its temporary file, its last byte changed: 401 signature-invalid
--- config
    location /quiet/ {
        apisec on;
        apisec_permission trade;
        client_body_buffer_size 1k;
        proxy_pass http://apisec_backend;
    }
--- apisec_request
POST /quiet/order
X-HK-APIKEY: hoTrader01
Content-Type: application/x-www-form-urlencoded
@tamper: s/mmm&timestamp/mmn&timestamp/

memo={rep:60000:m}&timestamp={ts}&signature={sig}
--- error_code: 401
--- response_body chomp
{"code":"signature-invalid","msg":"The signature is invalid."}
--- error_log
a client request body is buffered to a temporary file
apisec: key "hoTrader01" refused: signature-invalid, the signature does not match



=== TEST 62: Expect: 100-continue: nginx asks for the body when apisec reads it; verified, accepted
--- init
my $raw = main::form_post('side=BUY&qty=1', 'Expect: 100-continue');
my ($head, $body) = split /\r\n\r\n/, $raw, 2;
my ($st, $res) = ApisecTest::send_parts(["$head\r\n\r\n", \0.3, $body]);
Test::More::like($res, qr{\AHTTP/1\.1 100 Continue\r\n\r\nHTTP/1\.1 200 OK\r\n},
                 '100 Continue, then 200');
Test::More::like($res, qr/\nbackend POST \/trade\/order account=acct-htrader /,
                 'the backend got it');
--- request
GET /log
--- response_body_like: ^POST /trade/order 200 "" "unix:



=== TEST 63: Expect: 100-continue with a body above apisec_max_body_size: refused at once, before the body is sent
--- init
my $raw = main::form_post('memo=' . ('m' x 66000), 'Expect: 100-continue');
my ($head) = split /\r\n\r\n/, $raw, 2;
my ($st, $res) = ApisecTest::send_parts(["$head\r\n\r\n"], 2);
Test::More::like($res, qr{^HTTP/1\.1 400 Bad Request\r\n.*\r\n\r\n\{"code":"request-malformed","msg":"The request is malformed."\}\z}sm,
                 '400 request-malformed, no body sent');
--- request
GET /log
--- response_body
POST /trade/order 400 "request-malformed" "-"
--- error_log
apisec: key "-" refused: request-malformed, the body is too large



=== TEST 64: keep-alive: the body of a refused request (above apisec_max_body_size) holding a second request is discarded, never run; the next request is
--- init
my $smuggled = main::form_post('side=SELL&qty=100');
my $pad = 66000 - length $smuggled;
my $first = "POST /trade/order HTTP/1.1\r\nHost: localhost\r\n"
            . "X-HK-APIKEY: hoTrader01\r\n"
            . "Content-Type: application/x-www-form-urlencoded\r\n"
            . "Content-Length: 66000\r\n\r\n" . $smuggled . ('x' x $pad);
my $next = "GET /open/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
my ($st, $res) = ApisecTest::send_parts([$first . $next]);
my @st = $res =~ m{HTTP/1\.1 (\d+) }g;
Test::More::is("@st", '400 200', 'the refusal, then the next request') or Test::More::diag($res);
--- request
GET /log
--- response_body_like eval
qr{\APOST /trade/order 400 "request-malformed" "-"\nGET /open/ 200 "-" "unix:[^"]+"\n\z}
--- error_log
apisec: key "-" refused: request-malformed, the body is too large



=== TEST 65: chunked form body (7-byte chunks): decoded, verified, accepted; the upstream gets the body
--- apisec_request
POST /trade/order
X-HK-APIKEY: hoTrader01
Content-Type: application/x-www-form-urlencoded
@chunked: 7

side=BUY&qty=1&timestamp={ts}&signature={sig}
--- error_code: 200
--- response_body_like: ^backend POST /trade/order account=acct-htrader key=hoTrader01 body=side=BUY&qty=1&timestamp=\d+&signature=[0-9a-f]{64}$



=== TEST 66: chunked form body, a byte changed: 401 signature-invalid
--- apisec_request
POST /trade/order
X-HK-APIKEY: hoTrader01
Content-Type: application/x-www-form-urlencoded
@tamper: s/qty=1/qty=9/
@chunked: 7

side=BUY&qty=1&timestamp={ts}&signature={sig}
--- error_code: 401
--- response_body chomp
{"code":"signature-invalid","msg":"The signature is invalid."}
--- error_log
apisec: key "hoTrader01" refused: signature-invalid, the signature does not match



=== TEST 67: okx: chunked JSON body (one byte a chunk): accepted
--- apisec_request
POST /v5/trade/order
OK-ACCESS-KEY: hoOkx00001
OK-ACCESS-TIMESTAMP: {isoms}
OK-ACCESS-PASSPHRASE: hostile pass
OK-ACCESS-SIGN: {sig}
Content-Type: application/json
@scheme: okx
@chunked: 1

{"instId":"BTC-USDT","sz":"1"}
--- error_code: 200
--- response_body_like: ^backend POST /v5/trade/order account=acct-hokx key=hoOkx00001 body=\{"instId":"BTC-USDT","sz":"1"\}$



=== TEST 68: okx: chunked JSON body, a byte changed: 401 signature-invalid
--- apisec_request
POST /v5/trade/order
OK-ACCESS-KEY: hoOkx00001
OK-ACCESS-TIMESTAMP: {isoms}
OK-ACCESS-PASSPHRASE: hostile pass
OK-ACCESS-SIGN: {sig}
Content-Type: application/json
@scheme: okx
@tamper: s/"sz":"1"/"sz":"9"/
@chunked: 5

{"instId":"BTC-USDT","sz":"1"}
--- error_code: 401
--- response_body chomp
{"code":"signature-invalid","msg":"The signature is invalid."}
--- error_log
apisec: key "hoOkx00001" refused: signature-invalid, the signature does not match



=== TEST 69: okx: a chunked body above apisec_max_body_size (no length to refuse it by): read, then 400 request-malformed
--- config
    location /v5/ {
        apisec on;
        apisec_scheme okx;
        apisec_permission trade;
        apisec_max_body_size 1k;
        proxy_pass http://apisec_backend;
    }
--- apisec_request
POST /v5/trade/order
OK-ACCESS-KEY: hoOkx00001
OK-ACCESS-TIMESTAMP: {isoms}
OK-ACCESS-PASSPHRASE: hostile pass
OK-ACCESS-SIGN: {sig}
Content-Type: application/json
@scheme: okx
@chunked: 500

{"memo":"{rep:2000:m}"}
--- error_code: 400
--- response_body chomp
{"code":"request-malformed","msg":"The request is malformed."}
--- error_log
apisec: key "-" refused: request-malformed, the body is too large



=== TEST 70: a chunked body above client_max_body_size: nginx's 413 while apisec reads it
--- config
    location /trade/ {
        apisec on;
        apisec_permission trade;
        client_max_body_size 1k;
        proxy_pass http://apisec_backend;
    }
--- apisec_request
POST /trade/order
X-HK-APIKEY: hoTrader01
Content-Type: application/x-www-form-urlencoded
@chunked: 300

memo={rep:2000:m}&timestamp={ts}&signature={sig}
--- error_code: 413
--- response_body_like: 413 Request Entity Too Large
--- error_log
client intended to send too large chunked body
--- no_error_log
apisec: key



=== TEST 71: chunked and Content-Length together: nginx's 400, apisec never sees it
--- apisec_request
POST /trade/order
X-HK-APIKEY: hoTrader01
Content-Type: application/x-www-form-urlencoded
Content-Length: 5
@chunked: 7

qty=1&timestamp={ts}&signature={sig}
--- error_code: 400
--- response_body_like: 400 Bad Request
--- error_log
client sent "Content-Length" and "Transfer-Encoding" headers at the same time
--- no_error_log
apisec: key



=== TEST 72: a broken chunked body: nginx's 400 while apisec reads it
--- init
my $raw = main::form_post('side=BUY&qty=1', '@chunked: 7');
$raw =~ s/\r\n0\r\n\r\n\z/\r\nzz\r\n0\r\n\r\n/ or die 'no last chunk';
my ($st, $res) = ApisecTest::send_parts([$raw]);
Test::More::is($st, 400, 'refused by nginx');
Test::More::unlike($res, qr/backend|"code"/, 'not by apisec, not the backend');
--- request
GET /log
--- response_body
POST /trade/order 400 "-" "-"
--- error_log
client sent invalid chunked body
--- no_error_log
apisec: key



=== TEST 73: a body that stalls half-way (hashkey form, okx JSON, chunked): closed after client_body_timeout with 408; the upstream never sees it
--- init
my $raw = main::form_post('side=BUY&qty=1');
main::stalled('form', [substr($raw, 0, length($raw) - 30)]);
$raw = main::okx_post('{"instId":"BTC-USDT","sz":"1"}');
main::stalled('okx', [substr($raw, 0, length($raw) - 10)]);
$raw = main::form_post('side=BUY&qty=1', '@chunked: 5');
main::stalled('chunked', [substr($raw, 0, length($raw) - 12)]);
--- request
GET /log
--- response_body
POST /trade/order 408 "-" "-"
POST /v5/trade/order 408 "-" "-"
POST /trade/order 408 "-" "-"
--- no_error_log
apisec: key
[alert]



=== TEST 74: a body that comes slowly, in three pieces with pauses shorter than client_body_timeout: verified when complete, accepted
--- init
for my $raw (main::form_post('side=BUY&qty=1'),
             main::okx_post('{"instId":"BTC-USDT","sz":"1"}'),
             main::form_post('side=BUY&qty=1', '@chunked: 5')) {
    my $n = length $raw;
    my ($st, $res) = ApisecTest::send_parts(
        [substr($raw, 0, $n - 40), \0.4, substr($raw, $n - 40, 20), \0.4,
         substr($raw, $n - 20)]);
    Test::More::is($st, 200, 'the slow request is accepted');
    Test::More::like($res, qr/\nbackend POST /, 'by the backend');
}
--- request
GET /log
--- response_body_like eval
qr{\APOST /trade/order 200 "" "unix:[^"]+"\nPOST /v5/trade/order 200 "" "unix:[^"]+"\nPOST /trade/order 200 "" "unix:[^"]+"\n\z}
--- no_error_log
[alert]



=== TEST 75: the client goes away half-way through the body: nothing reaches the upstream
--- init
my $raw = main::form_post('side=BUY&qty=1');
my ($st, $res) = ApisecTest::send_parts([substr($raw, 0, length($raw) - 30)], 0.3);
Test::More::is($st, 0, 'no response before the client left');
select undef, undef, undef, 0.3;
--- request
GET /log
--- response_body_like: ^POST /trade/order 400 "-" "-"\n$
--- error_log
client prematurely closed connection
--- no_error_log
apisec: key
[alert]
