# An independent HashKey client: a key made with `apisecctl create --json`,
# requests signed with the openssl command line (`openssl dgst -sha256
# -hmac`), as a shell client of HashKey's API signs them.  Accepted; the
# same request with one byte changed is refused.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use ApisecTest;
use JSON::PP ();

ApisecTest::setup();

my $k = JSON::PP::decode_json(ApisecTest::ctl('--json', 'create',
    '--account', 'acct-client', '--perm', 'read,trade', '--label', 'client'));

die "create --json: no key" unless $k->{access_key} && $k->{secret_key};
die "create --json: wrong account" unless $k->{account} eq 'acct-client';

$ApisecTest::Secret{$k->{access_key}} = $k->{secret_key};

no_shuffle();
add_block_preprocessor(sub {
    my ($block) = @_;
    # the key is only known now: put it in the request
    if (defined(my $r = $block->apisec_request)) {
        $r =~ s/\$KEY/$k->{access_key}/g;
        $block->set_value('apisec_request', $r);
    }
    ApisecTest::preprocess($block);
});
run_tests();

__DATA__

=== TEST 1: GET signed by openssl: accepted
--- apisec_request
GET /api/v1/account?symbol=BTCUSDT&recvWindow=5000&timestamp={ts}&signature={sig}
X-HK-APIKEY: $KEY
@signer: openssl
--- error_code: 200
--- response_body_like: ^backend GET /api/v1/account account=acct-client



=== TEST 2: the same with one byte changed: 401 signature-invalid
--- apisec_request
GET /api/v1/account?symbol=BTCUSDT&recvWindow=5000&timestamp={ts}&signature={sig}
X-HK-APIKEY: $KEY
@signer: openssl
@tamper: s/recvWindow=5000/recvWindow=5001/
--- error_code: 401
--- response_body chomp
{"code":"signature-invalid","msg":"The signature is invalid."}
--- error_log eval
qr/apisec: key "[A-Za-z0-9]{64}" refused: signature-invalid, the signature does not match/



=== TEST 3: POST with a form body signed by openssl: accepted
--- apisec_request
POST /trade/order?symbol=BTCUSDT
X-HK-APIKEY: $KEY
Content-Type: application/x-www-form-urlencoded
@signer: openssl

side=SELL&type=LIMIT&quantity=0.25&price=43210.5&timestamp={ts}&signature={sig}
--- error_code: 200
--- response_body_like: ^backend POST /trade/order account=acct-client



=== TEST 4: the same with one byte of the body changed: 401 signature-invalid
--- apisec_request
POST /trade/order?symbol=BTCUSDT
X-HK-APIKEY: $KEY
Content-Type: application/x-www-form-urlencoded
@signer: openssl
@tamper: s/price=43210.5/price=43210.4/

side=SELL&type=LIMIT&quantity=0.25&price=43210.5&timestamp={ts}&signature={sig}
--- error_code: 401
--- response_body chomp
{"code":"signature-invalid","msg":"The signature is invalid."}



=== TEST 5: one byte of the signature changed: 401 signature-invalid
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: $KEY
@signer: openssl
@tamper: s/signature=(.)/"signature=" . ($1 eq "0" ? "1" : "0")/e
--- error_code: 401
--- response_body chomp
{"code":"signature-invalid","msg":"The signature is invalid."}
