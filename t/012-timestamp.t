# The timestamp rule of the hashkey scheme: accepted when
# timestamp < now + 1000 and now - timestamp <= recvWindow; recvWindow is
# 5000 ms when absent and at most 60000 (or apisec_time_window).
# Margins keep clear of the edges by over a second, so that the time
# between signing and checking never decides a test; the exact edges are
# unit-tested in t/unit/test_scheme.c.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use ApisecTest;

ApisecTest::setup(keys => [
    { access_key => 'tsKey0001', account => 'acct-ts',
      secret_key => 'Ts0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ',
      permissions => ['read'] },
]);

no_shuffle();
add_block_preprocessor(\&ApisecTest::preprocess);
run_tests();

__DATA__

=== TEST 1: 3 s old, default window of 5 s: accepted
--- apisec_request
GET /api/v1/time?timestamp={ts-3000}&signature={sig}
X-HK-APIKEY: tsKey0001
--- error_code: 200
--- response_body_like: account=acct-ts



=== TEST 2: 7 s old, default window of 5 s: 401 timestamp-invalid
--- apisec_request
GET /api/v1/time?timestamp={ts-7000}&signature={sig}
X-HK-APIKEY: tsKey0001
--- error_code: 401
--- response_body chomp
{"code":"timestamp-invalid","msg":"The timestamp is missing, malformed or outside the window."}
--- error_log
apisec: key "tsKey0001" refused: timestamp-invalid, the timestamp is older than the window



=== TEST 3: 7 s old with recvWindow=10000: accepted
--- apisec_request
GET /api/v1/time?recvWindow=10000&timestamp={ts-7000}&signature={sig}
X-HK-APIKEY: tsKey0001
--- error_code: 200



=== TEST 4: 59 s old with recvWindow=60000: accepted
--- apisec_request
GET /api/v1/time?recvWindow=60000&timestamp={ts-59000}&signature={sig}
X-HK-APIKEY: tsKey0001
--- error_code: 200



=== TEST 5: recvWindow=60001: 401 timestamp-invalid
--- apisec_request
GET /api/v1/time?recvWindow=60001&timestamp={ts}&signature={sig}
X-HK-APIKEY: tsKey0001
--- error_code: 401
--- response_body chomp
{"code":"timestamp-invalid","msg":"The timestamp is missing, malformed or outside the window."}
--- error_log
refused: timestamp-invalid, recvWindow is above the maximum



=== TEST 6: 0.5 s in the future: accepted
--- apisec_request
GET /api/v1/time?timestamp={ts+500}&signature={sig}
X-HK-APIKEY: tsKey0001
--- error_code: 200



=== TEST 7: 2.5 s in the future: 401 timestamp-invalid
--- apisec_request
GET /api/v1/time?timestamp={ts+2500}&signature={sig}
X-HK-APIKEY: tsKey0001
--- error_code: 401
--- response_body chomp
{"code":"timestamp-invalid","msg":"The timestamp is missing, malformed or outside the window."}
--- error_log
refused: timestamp-invalid, the timestamp is in the future



=== TEST 8: no timestamp: 401 timestamp-invalid
--- apisec_request
GET /api/v1/time?symbol=BTCUSDT&signature={sig}
X-HK-APIKEY: tsKey0001
--- error_code: 401
--- response_body chomp
{"code":"timestamp-invalid","msg":"The timestamp is missing, malformed or outside the window."}
--- error_log
refused: timestamp-invalid, no timestamp parameter



=== TEST 9: a timestamp in seconds, not milliseconds: 401 timestamp-invalid
--- apisec_request
GET /api/v1/time?timestamp=1700000000&signature={sig}
X-HK-APIKEY: tsKey0001
--- error_code: 401
--- error_log
refused: timestamp-invalid, the timestamp is older than the window



=== TEST 10: a malformed timestamp: 401 timestamp-invalid
--- apisec_request
GET /api/v1/time?timestamp={ts}.5&signature={sig}
X-HK-APIKEY: tsKey0001
--- error_code: 401
--- response_body chomp
{"code":"timestamp-invalid","msg":"The timestamp is missing, malformed or outside the window."}
--- error_log
refused: timestamp-invalid, the timestamp is not a number of milliseconds



=== TEST 11: a malformed recvWindow: 401 timestamp-invalid
--- apisec_request
GET /api/v1/time?recvWindow=5s&timestamp={ts}&signature={sig}
X-HK-APIKEY: tsKey0001
--- error_code: 401
--- error_log
refused: timestamp-invalid, recvWindow is not a positive number



=== TEST 12: apisec_time_window 2s caps recvWindow: recvWindow=5000 refused
--- config
    location /api/ {
        apisec on;
        apisec_time_window 2s;
        proxy_pass http://apisec_backend;
    }
--- apisec_request
GET /api/v1/time?recvWindow=5000&timestamp={ts}&signature={sig}
X-HK-APIKEY: tsKey0001
--- error_code: 401
--- error_log
refused: timestamp-invalid, recvWindow is above the maximum



=== TEST 13: apisec_time_window 2s: without recvWindow a 3.5 s old request is refused
--- config
    location /api/ {
        apisec on;
        apisec_time_window 2s;
        proxy_pass http://apisec_backend;
    }
--- apisec_request
GET /api/v1/time?timestamp={ts-3500}&signature={sig}
X-HK-APIKEY: tsKey0001
--- error_code: 401
--- error_log
refused: timestamp-invalid, the timestamp is older than the window



=== TEST 14: apisec_time_window 5m raises the cap: recvWindow=120000, 90 s old, accepted
--- config
    location /api/ {
        apisec on;
        apisec_time_window 5m;
        proxy_pass http://apisec_backend;
    }
--- apisec_request
GET /api/v1/time?recvWindow=120000&timestamp={ts-90000}&signature={sig}
X-HK-APIKEY: tsKey0001
--- error_code: 200



=== TEST 15: apisec_time_window set at server level is inherited
--- config
    apisec_time_window 1s;

    location /api/ {
        apisec on;
        proxy_pass http://apisec_backend;
    }
--- apisec_request
GET /api/v1/time?recvWindow=1500&timestamp={ts}&signature={sig}
X-HK-APIKEY: tsKey0001
--- error_code: 401
--- error_log
refused: timestamp-invalid, recvWindow is above the maximum
