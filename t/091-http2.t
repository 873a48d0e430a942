# HTTP/2: apisec checks requests that come over h2c (nginx "listen ...
# http2", curl --http2-prior-knowledge from Debian) as it checks HTTP/1.1
# ones.  An HTTP/2 request may send a body with no Content-Length at all
# (DATA frames until END_STREAM): a signed body is read and verified
# whenever the request does not say "Content-Length: 0", so a body cannot
# slip past the signature that way.
#
# The HTTP/2 server listens on the second port; each block sends its
# requests with curl from "--- init" (checked there: HTTP version, status,
# JSON code), then reads that server's access log over HTTP/1.1 as its
# own request; the error-log checks see both.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Test::More;
use ApisecTest;

ApisecTest::setup(keys => [
    { access_key => 'h2Trader01', account => 'acct-h2trader',
      secret_key => 'HttpTwoTraderHttpTwoTrader000001',
      permissions => ['read', 'trade'] },
    { access_key => 'h2Okx00001', account => 'acct-h2okx',
      secret_key => 'HttpTwoOkxHttpTwoOkxHttpTwoOkx01',
      passphrase => 'h2 pass', permissions => ['read', 'trade'] },
]);

my $port2 = ($ENV{TEST_NGINX_SERVER_PORT} || 1984) + 2;
$ENV{TEST_NGINX_APISEC_PORT2} = $port2;

# the h2c server; $http_content_length shows whether the request had one,
# $upstream_status whether the backend answered it
our $Http = <<'END';
    log_format h2 '$server_protocol $request_method $uri $status "$apisec_error" "$http_content_length" $upstream_status';

    server {
        listen 127.0.0.1:$TEST_NGINX_APISEC_PORT2 http2;
        access_log logs/h2.log h2;

        location /api/ {
            apisec on;
            proxy_pass http://apisec_backend;
        }

        location /trade/ {
            apisec on;
            apisec_permission trade;
            proxy_pass http://apisec_backend;
        }

        location /v5/ {
            apisec on;
            apisec_scheme okx;
            apisec_permission trade;
            apisec_max_body_size 100k;
            proxy_pass http://apisec_backend;
        }

        location /v5s/ {
            apisec on;
            apisec_scheme okx;
            apisec_permission trade;
            apisec_max_body_size 1k;
            proxy_pass http://apisec_backend;
        }

        # the body is not sent to the backend in a header (too large)
        location /v5q/ {
            apisec on;
            apisec_scheme okx;
            apisec_permission trade;
            apisec_max_body_size 100k;
            proxy_set_header X-Apisec-Account $apisec_account;
            proxy_set_header X-Apisec-Key $apisec_access_key;
            proxy_pass http://apisec_backend;
        }
    }
END

our $Config = <<'END';
    location = /h2.log {
        alias logs/h2.log;
    }
END

# h2(TEXT, OPTIONS, STATUS, BODY_RE, WHAT): sign TEXT (as an
# "--- apisec_request" section), send it over HTTP/2 with curl (options
# of ApisecTest::send_curl: no_length => 1), check the HTTP version, the
# status and the body
sub h2 {
    my ($text, $opt, $status, $body_re, $what) = @_;

    my ($req, $hdr) = ApisecTest::signed_request($text);
    my ($st, $res, $ver) = ApisecTest::send_curl($req, $hdr, port => $port2,
                                                 http2 => 1, %$opt);
    my ($body) = $res =~ /\r\n\r\n(.*)\z/s;

    Test::More::is($ver, '2', "$what: answered over HTTP/2");
    Test::More::is($st, $status, "$what: status $status");
    Test::More::like($body // '', $body_re, "$what: body");
}

# the okx headers of h2Okx00001
our $Okx = join "\n", 'OK-ACCESS-KEY: h2Okx00001',
                      'OK-ACCESS-TIMESTAMP: {isoms}',
                      'OK-ACCESS-PASSPHRASE: h2 pass',
                      'OK-ACCESS-SIGN: {sig}',
                      'Content-Type: application/json',
                      '@scheme: okx';

no_shuffle();
add_block_preprocessor(sub {
    my ($block) = @_;
    $block->set_value('config', $Config) unless defined $block->config;
    $block->set_value('http_config', $Http . ($block->http_config // ''));
    ApisecTest::preprocess($block);
});
run_tests();

__DATA__

=== TEST 1: hashkey GET over HTTP/2: accepted; the same request with a query byte changed: 401 signature-invalid
--- init
my $get = "GET /api/v1/account?symbol=BTCUSDT&timestamp={ts}&signature={sig}\n"
          . "X-HK-APIKEY: h2Trader01";
main::h2($get, {}, 200,
         qr/^backend GET \/api\/v1\/account account=acct-h2trader key=h2Trader01 /,
         'signed');
main::h2("$get\n\@tamper: s/BTCUSDT/BTCUSDU/", {}, 401,
         qr/^\{"code":"signature-invalid","msg":"The signature is invalid."\}\z/,
         'tampered');
--- request
GET /h2.log
--- response_body
HTTP/2.0 GET /api/v1/account 200 "" "-" 200
HTTP/2.0 GET /api/v1/account 401 "signature-invalid" "-" -
--- error_log
apisec: key "h2Trader01" refused: signature-invalid, the signature does not match



=== TEST 2: hashkey form POST over HTTP/2, with and without Content-Length: verified, accepted; the upstream gets the body
--- init
my $post = "POST /trade/order\nX-HK-APIKEY: h2Trader01\n"
           . "Content-Type: application/x-www-form-urlencoded\n\n"
           . "side=BUY&qty=1&timestamp={ts}&signature={sig}";
my $body = qr/^backend POST \/trade\/order account=acct-h2trader key=h2Trader01 body=side=BUY&qty=1&timestamp=\d+&signature=[0-9a-f]{64}\n\z/;
main::h2($post, {}, 200, $body, 'with a length');
main::h2($post, { no_length => 1 }, 200, $body, 'without a length');
--- request
GET /h2.log
--- response_body_like eval
qr{\AHTTP/2.0 POST /trade/order 200 "" "\d+" 200\nHTTP/2.0 POST /trade/order 200 "" "-" 200\n\z}
--- no_error_log
refused
[alert]



=== TEST 3: hashkey over HTTP/2: a form body without Content-Length, the signature over the query alone: the body is read and signed, 401 signature-invalid
--- init
main::h2("POST /trade/order?timestamp={ts}&signature={sig}\n"
         . "X-HK-APIKEY: h2Trader01\nContent-Type: application/json\n"
         . "\@tamper: s{application/json}{application/x-www-form-urlencoded}\n\n"
         . "side=SELL&qty=100",
         { no_length => 1 }, 401,
         qr/^\{"code":"signature-invalid","msg":"The signature is invalid."\}\z/,
         'unsigned body');
--- request
GET /h2.log
--- response_body
HTTP/2.0 POST /trade/order 401 "signature-invalid" "-" -
--- error_log
apisec: key "h2Trader01" refused: signature-invalid, the signature does not match



=== TEST 4: okx POST over HTTP/2 without Content-Length: the body is verified, accepted
--- init
main::h2("POST /v5/trade/order\n$main::Okx\n\n"
         . '{"instId":"BTC-USDT","side":"buy","sz":"1"}',
         { no_length => 1 }, 200,
         qr/^backend POST \/v5\/trade\/order account=acct-h2okx key=h2Okx00001 body=\{"instId":"BTC-USDT","side":"buy","sz":"1"\}\n\z/,
         'signed body');
--- request
GET /h2.log
--- response_body
HTTP/2.0 POST /v5/trade/order 200 "" "-" 200
--- no_error_log
refused
[alert]



=== TEST 5: okx over HTTP/2: signed over an empty body, a body sent without Content-Length: 401 signature-invalid
--- init
main::h2("POST /v5/trade/order\n$main::Okx\n"
         . '@tamper: s/\n\z/\n{"instId":"BTC-USDT","side":"buy","sz":"100"}/',
         { no_length => 1 }, 401,
         qr/^\{"code":"signature-invalid","msg":"The signature is invalid."\}\z/,
         'a body the signature does not cover');
--- request
GET /h2.log
--- response_body
HTTP/2.0 POST /v5/trade/order 401 "signature-invalid" "-" -
--- error_log
apisec: key "h2Okx00001" refused: signature-invalid, the signature does not match



=== TEST 6: okx over HTTP/2: a byte of the signed body changed, without Content-Length: 401 signature-invalid
--- init
main::h2("POST /v5/trade/order\n$main::Okx\n"
         . "\@tamper: s/\"sz\":\"1\"/\"sz\":\"9\"/\n\n"
         . '{"instId":"BTC-USDT","side":"buy","sz":"1"}',
         { no_length => 1 }, 401,
         qr/^\{"code":"signature-invalid","msg":"The signature is invalid."\}\z/,
         'tampered body');
--- request
GET /h2.log
--- response_body
HTTP/2.0 POST /v5/trade/order 401 "signature-invalid" "-" -
--- error_log
apisec: key "h2Okx00001" refused: signature-invalid, the signature does not match



=== TEST 7: okx over HTTP/2: a body of 60 kB without Content-Length (several DATA frames, spooled to a file): verified, accepted; one byte changed: refused
--- init
my $text = "POST /v5q/trade/order\n$main::Okx\n\n"
           . '{"memo":"{rep:60000:m}","sz":"1"}';
main::h2($text, { no_length => 1 }, 200,
         qr/^backend POST \/v5q\/trade\/order account=acct-h2okx key=h2Okx00001 /,
         'large body');
$text =~ s/\n\n/\n\@tamper: s\/"sz":"1"\/"sz":"9"\/\n\n/;
main::h2($text, { no_length => 1 }, 401,
         qr/^\{"code":"signature-invalid","msg":"The signature is invalid."\}\z/,
         'large body, tampered');
--- request
GET /h2.log
--- response_body
HTTP/2.0 POST /v5q/trade/order 200 "" "-" 200
HTTP/2.0 POST /v5q/trade/order 401 "signature-invalid" "-" -
--- error_log
a client request body is buffered to a temporary file
apisec: key "h2Okx00001" refused: signature-invalid, the signature does not match



=== TEST 8: okx over HTTP/2: a body above apisec_max_body_size without Content-Length: read up to the limit, 400 request-malformed
--- init
main::h2("POST /v5s/trade/order\n$main::Okx\n\n"
         . '{"memo":"{rep:3000:m}","sz":"1"}',
         { no_length => 1 }, 400,
         qr/^\{"code":"request-malformed","msg":"The request is malformed."\}\z/,
         'too large');
--- request
GET /h2.log
--- response_body
HTTP/2.0 POST /v5s/trade/order 400 "request-malformed" "-" -
--- error_log
apisec: key "-" refused: request-malformed, the body is too large



=== TEST 9: over HTTP/2, the key header twice: 400 request-malformed
--- init
main::h2("GET /api/v1/account?timestamp={ts}&signature={sig}\n"
         . "X-HK-APIKEY: h2Trader01\nX-HK-APIKEY: h2Okx00001",
         {}, 400,
         qr/^\{"code":"request-malformed","msg":"The request is malformed."\}\z/,
         'two keys');
--- request
GET /h2.log
--- response_body
HTTP/2.0 GET /api/v1/account 400 "request-malformed" "-" -
--- error_log
apisec: key "-" refused: request-malformed, the key header is sent twice



=== TEST 10: okx over HTTP/2: "Content-Length: 0" and a body all the same: apisec verifies the empty body (accepted), nginx refuses the extra data (400); the backend gets nothing
--- init
main::h2("POST /v5/trade/order\n$main::Okx\nContent-Length: 0\n"
         . '@tamper: s/\n\z/\n{"instId":"BTC-USDT","side":"buy","sz":"100"}/',
         {}, 400, qr/400 Bad Request/, 'a body after Content-Length: 0');
--- request
GET /h2.log
--- response_body
HTTP/2.0 POST /v5/trade/order 400 "" "0" -
--- error_log
client intended to send body data larger than declared
--- no_error_log
refused
[alert]



=== TEST 11: over HTTP/2, two Content-Type headers (JSON, then form) and a form body without Content-Length: 400 request-malformed
--- init
main::h2("POST /trade/order?timestamp={ts}&signature={sig}\n"
         . "X-HK-APIKEY: h2Trader01\nContent-Type: application/json\n"
         . "\@tamper: s{(Content-Type: application/json)}{\$1\\nContent-Type: application/x-www-form-urlencoded}\n\n"
         . "side=SELL&qty=100",
         { no_length => 1 }, 400,
         qr/^\{"code":"request-malformed","msg":"The request is malformed."\}\z/,
         'two types');
--- request
GET /h2.log
--- response_body
HTTP/2.0 POST /trade/order 400 "request-malformed" "-" -
--- error_log
apisec: key "-" refused: request-malformed, Content-Type is given more than once
