# Two workers share the store: with ten thousand keys imported, keys from
# anywhere in the store are authenticated, and requests spread over both
# workers (a reuseport listener hashes each connection to one of them) are
# authenticated on each.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Test::More;
use ApisecTest;

my @keys = map {
    { access_key => sprintf('wk%05d', $_), account => sprintf('acct-%05d', $_),
      secret_key => sprintf('worker-secret-%05d-0123456789abcdefghij', $_),
      permissions => ['read', 'trade'] }
} 1 .. 10000;

ApisecTest::setup(keys => \@keys);

my $port2 = ($ENV{TEST_NGINX_SERVER_PORT} || 1984) + 2;
$ENV{TEST_NGINX_APISEC_PORT2} = $port2;
my $log = "$ApisecTest::Dir/workers.log";
unlink $log;

master_on();
workers(2);
no_shuffle();
add_block_preprocessor(\&ApisecTest::preprocess);
run_tests();

# every request of TEST 4 was authenticated, and both workers took some
open my $fh, '<', $log or die "$log: $!";
my (%pids, $ok, $lines);
while (<$fh>) {
    $lines++;
    my ($pid, $status, $account) = split;
    $pids{$pid}++;
    $ok++ if $status == 200 && $account eq 'acct-05000';
}
close $fh;

is($lines, 40, 'the reuseport server logged 40 requests');
is($ok, 40, 'all 40 were authenticated');
cmp_ok(scalar(keys %pids), '>=', 2, 'both workers authenticated requests');

__DATA__

=== TEST 1: the first key imported
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: wk00001
--- error_code: 200
--- response_body_like: account=acct-00001



=== TEST 2: the last key imported
--- apisec_request
POST /trade/order?timestamp={ts}&signature={sig}
X-HK-APIKEY: wk10000
--- error_code: 200
--- response_body_like: account=acct-10000



=== TEST 3: a key just past the last: 401 key-unknown
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: wk10001
--- error_code: 401
--- response_body chomp
{"code":"key-unknown","msg":"The API key is unknown."}



=== TEST 4: 40 connections hashed over both workers, all authenticated
--- http_config
    log_format apisec_pid '$pid $status $apisec_account';

    server {
        listen 127.0.0.1:$TEST_NGINX_APISEC_PORT2 reuseport;
        access_log $TEST_NGINX_APISEC_DIR/workers.log apisec_pid;

        location /api/ {
            apisec on;
            proxy_pass http://apisec_backend;
        }
    }
--- config
    location /api/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_APISEC_PORT2;
    }
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: wk05000
@repeat: 40
--- error_code eval
[(200) x 40]
--- response_body_like eval
[(qr/account=acct-05000/) x 40]
