# The store is read live: keys created, disabled or rotated with apisecctl
# while nginx runs take effect at the next request, without a reload.  A
# record that cannot be read fails closed with 503 store-unavailable.
# "--- init" runs after nginx has started (and the workers have opened
# the store), before the request.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use ApisecTest;

ApisecTest::setup(keys => [
    { access_key => 'liveDisable1', account => 'acct-live',
      secret_key => 'LiveDisable1SecretLiveDisable1SecretLiveDisable1SecretLiveDis' },
    { access_key => 'liveRotate01', account => 'acct-live',
      secret_key => 'LiveRotate01SecretLiveRotate01SecretLiveRotate01SecretLiveRot' },
]);

# signed for in advance, created only once nginx runs
$ApisecTest::Secret{liveCreate01} =
    'LiveCreate01SecretLiveCreate01SecretLiveCreate01SecretLiveCre';

master_on();
workers(2);
no_shuffle();
add_block_preprocessor(\&ApisecTest::preprocess);
run_tests();

__DATA__

=== TEST 1: a key that does not exist yet: 401 key-unknown
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: liveCreate01
--- error_code: 401
--- response_body chomp
{"code":"key-unknown","msg":"The API key is unknown."}



=== TEST 2: created with apisecctl while nginx runs: accepted without a reload
--- init
ApisecTest::import_keys({ access_key => 'liveCreate01', account => 'acct-new',
    secret_key => $ApisecTest::Secret{liveCreate01} });
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: liveCreate01
--- error_code: 200
--- response_body_like: account=acct-new



=== TEST 3: disabled with apisecctl while nginx runs: 401 key-disabled
--- init
ApisecTest::ctl('disable', 'liveDisable1');
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: liveDisable1
--- error_code: 401
--- response_body chomp
{"code":"key-disabled","msg":"The API key is disabled."}
--- error_log
apisec: key "liveDisable1" refused: key-disabled



=== TEST 4: rotated while nginx runs: the old secret is refused at once
--- init
ApisecTest::ctl('rotate', 'liveRotate01');
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: liveRotate01
--- error_code: 401
--- response_body chomp
{"code":"signature-invalid","msg":"The signature is invalid."}
--- error_log
apisec: key "liveRotate01" refused: signature-invalid



=== TEST 5: revoked while nginx runs: 401 key-unknown
--- init
ApisecTest::ctl('revoke', 'liveCreate01');
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: liveCreate01
--- error_code: 401
--- response_body chomp
{"code":"key-unknown","msg":"The API key is unknown."}



=== TEST 6: a record that does not decode fails closed: 503 store-unavailable
--- init
system("printf 'liveCorrupt1\\nnot-a-record\\n' | mdb_load -T -s keys $ApisecTest::Store") == 0
    or die "mdb_load failed";
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: liveCorrupt1
--- error_code: 503
--- response_body chomp
{"code":"store-unavailable","msg":"The key store is unavailable."}
--- error_log eval
[qr/\[alert\] .* apisec: store ".*store": corrupt record/,
 qr/apisec: key "liveCorrupt1" refused: store-unavailable, the store cannot be read/]
