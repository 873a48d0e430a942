# The key's IP allow-list (check 3): IPv4 and IPv6 CIDRs, at most 20.  The
# client address is nginx's: with the realip module in front (a load
# balancer), the address it sets, which lets these tests send IPv6 and
# other IPv4 clients over loopback.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use ApisecTest;

ApisecTest::setup(keys => [
    { access_key => 'ipV4only0001', account => 'acct-v4',
      secret_key => 'V4aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
      ips => ['127.0.0.1/32', '10.1.0.0/16'] },
    { access_key => 'ipV6only0001', account => 'acct-v6',
      secret_key => 'V6bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb',
      ips => ['2001:db8:1::/48'] },
    { access_key => 'ipAnywhere01', account => 'acct-any',
      secret_key => 'ANcccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc' },
]);

no_shuffle();
add_block_preprocessor(\&ApisecTest::preprocess);
run_tests();

__DATA__

=== TEST 1: IPv4 client inside a /32 of the allow-list: accepted
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: ipV4only0001
--- error_code: 200
--- response_body_like: account=acct-v4



=== TEST 2: IPv4 client inside a /16 (through realip): accepted
--- config
    set_real_ip_from 127.0.0.1;
    real_ip_header X-Real-IP;

    location /api/ {
        apisec on;
        proxy_pass http://apisec_backend;
    }
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: ipV4only0001
X-Real-IP: 10.1.255.254
--- error_code: 200
--- response_body_like: account=acct-v4



=== TEST 3: IPv4 client just outside the /16: 403 ip-not-allowed
--- config
    set_real_ip_from 127.0.0.1;
    real_ip_header X-Real-IP;

    location /api/ {
        apisec on;
        proxy_pass http://apisec_backend;
    }
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: ipV4only0001
X-Real-IP: 10.2.0.1
--- error_code: 403
--- response_body chomp
{"code":"ip-not-allowed","msg":"The client address is not allowed for this key."}
--- error_log
apisec: key "ipV4only0001" refused: ip-not-allowed, the client address is not in the key's allow-list, client: 10.2.0.1



=== TEST 4: IPv6 client inside the /48: accepted
--- config
    set_real_ip_from 127.0.0.1;
    real_ip_header X-Real-IP;

    location /api/ {
        apisec on;
        proxy_pass http://apisec_backend;
    }
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: ipV6only0001
X-Real-IP: 2001:db8:1:ffff::1
--- error_code: 200
--- response_body_like: account=acct-v6



=== TEST 5: IPv6 client outside the /48: 403 ip-not-allowed
--- config
    set_real_ip_from 127.0.0.1;
    real_ip_header X-Real-IP;

    location /api/ {
        apisec on;
        proxy_pass http://apisec_backend;
    }
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: ipV6only0001
X-Real-IP: 2001:db8:2::1
--- error_code: 403
--- response_body chomp
{"code":"ip-not-allowed","msg":"The client address is not allowed for this key."}
--- error_log
apisec: key "ipV6only0001" refused: ip-not-allowed



=== TEST 6: an IPv4 client against an IPv6-only allow-list: 403 ip-not-allowed
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: ipV6only0001
--- error_code: 403
--- error_log
apisec: key "ipV6only0001" refused: ip-not-allowed



=== TEST 7: the allow-list is checked before the signature: a bad signature from a foreign address is ip-not-allowed
--- config
    set_real_ip_from 127.0.0.1;
    real_ip_header X-Real-IP;

    location /api/ {
        apisec on;
        proxy_pass http://apisec_backend;
    }
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: ipV4only0001
X-Real-IP: 192.0.2.1
@secret: wrongwrongwrongwrongwrongwrongwrongwrongwrongwrongwrongwrongwrong
--- error_code: 403
--- response_body chomp
{"code":"ip-not-allowed","msg":"The client address is not allowed for this key."}



=== TEST 8: a key without an allow-list is accepted from any address
--- config
    set_real_ip_from 127.0.0.1;
    real_ip_header X-Real-IP;

    location /api/ {
        apisec on;
        proxy_pass http://apisec_backend;
    }
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: ipAnywhere01
X-Real-IP: 2001:db8:ffff::9
--- error_code: 200
--- response_body_like: account=acct-any



=== TEST 9: the allow-list before the parse: a foreign address without a signature is ip-not-allowed
--- config
    set_real_ip_from 127.0.0.1;
    real_ip_header X-Real-IP;

    location /api/ {
        apisec on;
        proxy_pass http://apisec_backend;
    }
--- apisec_request
GET /api/v1/account?timestamp={ts}
X-HK-APIKEY: ipV4only0001
X-Real-IP: 192.0.2.1
--- error_code: 403
--- response_body chomp
{"code":"ip-not-allowed","msg":"The client address is not allowed for this key."}
--- error_log
apisec: key "ipV4only0001" refused: ip-not-allowed
--- no_error_log
signature-missing
