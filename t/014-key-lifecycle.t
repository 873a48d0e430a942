# Key status (check 2) and changes made with apisecctl: disabled, expired,
# locked, past expires_at, revoked, rotated (the old secret stops working
# at once), enabled again.  The store is changed before nginx starts here;
# t/015-live-store.t changes it while nginx runs.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use ApisecTest;
use JSON::PP ();

my $s = 'S' x 40;

ApisecTest::setup(keys => [
    { access_key => 'lcDisabled01', account => 'acct-lc', secret_key => "${s}disabled0000000000000000", status => 'disabled' },
    { access_key => 'lcExpired001', account => 'acct-lc', secret_key => "${s}expired00000000000000000", status => 'expired' },
    { access_key => 'lcLocked0001', account => 'acct-lc', secret_key => "${s}locked000000000000000000", status => 'locked' },
    { access_key => 'lcLockPast01', account => 'acct-lc', secret_key => "${s}lockpast0000000000000000", status => 'locked', locked_until => '2020-01-01T00:00:00Z' },
    { access_key => 'lcLockFut001', account => 'acct-lc', secret_key => "${s}lockfut00000000000000000", status => 'locked', locked_until => '2099-01-01T00:00:00Z' },
    { access_key => 'lcPastExp001', account => 'acct-lc', secret_key => "${s}pastexp00000000000000000", expires_at => '2021-06-01T00:00:00Z' },
    { access_key => 'lcFutExp0001', account => 'acct-lc', secret_key => "${s}futexp000000000000000000", expires_at => '2099-06-01T00:00:00Z' },
    { access_key => 'lcRevived001', account => 'acct-lc', secret_key => "${s}revived00000000000000000", status => 'expired' },
    { access_key => 'lcRevoked001', account => 'acct-lc', secret_key => "${s}revoked00000000000000000" },
    { access_key => 'lcRotated001', account => 'acct-lc', secret_key => "${s}rotated00000000000000000" },
    { access_key => 'lcDisLater01', account => 'acct-lc', secret_key => "${s}dislater0000000000000000" },
]);

ApisecTest::ctl('enable', 'lcRevived001');
ApisecTest::ctl('revoke', 'lcRevoked001');
ApisecTest::ctl('disable', 'lcDisLater01');

my $rot = JSON::PP::decode_json(ApisecTest::ctl('--json', 'rotate', 'lcRotated001'));
$ApisecTest::Secret{lcRotated001} = $rot->{secret_key};

no_shuffle();
add_block_preprocessor(\&ApisecTest::preprocess);
run_tests();

__DATA__

=== TEST 1: disabled at import: 401 key-disabled
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: lcDisabled01
--- error_code: 401
--- response_body chomp
{"code":"key-disabled","msg":"The API key is disabled."}
--- error_log
apisec: key "lcDisabled01" refused: key-disabled, the key is disabled



=== TEST 2: disabled with apisecctl disable: 401 key-disabled
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: lcDisLater01
--- error_code: 401
--- response_body chomp
{"code":"key-disabled","msg":"The API key is disabled."}
--- error_log
apisec: key "lcDisLater01" refused: key-disabled



=== TEST 3: status expired: 401 key-expired
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: lcExpired001
--- error_code: 401
--- response_body chomp
{"code":"key-expired","msg":"The API key has expired."}
--- error_log
apisec: key "lcExpired001" refused: key-expired, the key is expired



=== TEST 4: expired, then apisecctl enable: accepted
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: lcRevived001
--- error_code: 200
--- response_body_like: account=acct-lc



=== TEST 5: locked without an end: 401 key-locked
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: lcLocked0001
--- error_code: 401
--- response_body chomp
{"code":"key-locked","msg":"The API key is locked."}
--- error_log
apisec: key "lcLocked0001" refused: key-locked, the key is locked



=== TEST 6: locked until a future time: 401 key-locked
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: lcLockFut001
--- error_code: 401
--- response_body chomp
{"code":"key-locked","msg":"The API key is locked."}



=== TEST 7: locked until a time now past: accepted
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: lcLockPast01
--- error_code: 200



=== TEST 8: past its expires_at: 401 key-expired
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: lcPastExp001
--- error_code: 401
--- response_body chomp
{"code":"key-expired","msg":"The API key has expired."}
--- error_log
apisec: key "lcPastExp001" refused: key-expired, the key is past its expires_at



=== TEST 9: before its expires_at: accepted
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: lcFutExp0001
--- error_code: 200



=== TEST 10: revoked: 401 key-unknown
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: lcRevoked001
--- error_code: 401
--- response_body chomp
{"code":"key-unknown","msg":"The API key is unknown."}
--- error_log
apisec: key "lcRevoked001" refused: key-unknown



=== TEST 11: rotated: the new secret is accepted
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: lcRotated001
--- error_code: 200



=== TEST 12: rotated: the old secret is refused, 401 signature-invalid
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: lcRotated001
@secret: SSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSrotated00000000000000000
--- error_code: 401
--- response_body chomp
{"code":"signature-invalid","msg":"The signature is invalid."}
--- error_log
apisec: key "lcRotated001" refused: signature-invalid, the signature does not match



=== TEST 13: a disabled key with a bad signature is key-disabled (status before signature)
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: lcDisabled01
@secret: wrongwrongwrongwrongwrongwrongwrongwrongwrongwrong
--- error_code: 401
--- response_body chomp
{"code":"key-disabled","msg":"The API key is disabled."}
--- error_log
apisec: key "lcDisabled01" refused: key-disabled



=== TEST 14: a disabled key with a parameter twice and no signature is key-disabled (status before the parse's error)
--- apisec_request
GET /api/v1/account?timestamp={ts}&timestamp={ts}
X-HK-APIKEY: lcDisabled01
--- error_code: 401
--- response_body chomp
{"code":"key-disabled","msg":"The API key is disabled."}
--- error_log
apisec: key "lcDisabled01" refused: key-disabled
--- no_error_log
sent twice
