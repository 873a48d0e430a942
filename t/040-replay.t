# apisec_replay_guard: a signature already accepted inside its window is
# refused with 401 signature-replayed, across all workers (shared memory).

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Test::More;
use ApisecTest;

ApisecTest::setup(keys => [
    { access_key => 'rpKey000001', account => 'acct-rp',
      secret_key => 'ReplayReplayReplayReplayReplayReplayReplayReplay0000000000000001',
      permissions => ['read'] },
    { access_key => 'rpOkx000001', account => 'acct-rp',
      secret_key => 'ReplayOkxReplayOkxReplayOkx00001', passphrase => 'pass phrase',
      permissions => ['read'] },
]);

my $port2 = ($ENV{TEST_NGINX_SERVER_PORT} || 1984) + 2;
$ENV{TEST_NGINX_APISEC_PORT2} = $port2;
my $log = "$ApisecTest::Dir/replay.log";
unlink $log;

our $Config = <<'END';
    location /api/ {
        apisec on;
        apisec_replay_guard on;
        proxy_pass http://apisec_backend;
    }

    location /trade/ {
        apisec on;
        apisec_replay_guard on;
        apisec_permission trade;
        proxy_pass http://apisec_backend;
    }

    location /open/ {
        apisec on;
        proxy_pass http://apisec_backend;
    }

    location /api/v5/ {
        apisec on;
        apisec_scheme okx;
        apisec_replay_guard on;
        proxy_pass http://apisec_backend;
    }
END

master_on();
workers(2);
no_shuffle();
add_block_preprocessor(sub {
    my ($block) = @_;
    $block->set_value('config', $Config) unless defined $block->config;
    ApisecTest::preprocess($block);
});
run_tests();

# TEST 6: 20 copies over both workers, exactly one accepted
open my $fh, '<', $log or die "$log: $!";
my (%pids, %status);
while (<$fh>) {
    my ($pid, $st, $err) = split;
    $err = '-' unless defined $err && length $err;     # accepted: empty
    $pids{$pid}++;
    $status{"$st $err"}++;
}
close $fh;

is_deeply(\%status, { '200 -' => 1, '401 signature-replayed' => 19 },
          'one of 20 copies accepted, 19 refused as replayed');
cmp_ok(scalar(keys %pids), '>=', 2, 'the copies reached both workers');

__DATA__

=== TEST 1: a request already accepted once (from init): 401 signature-replayed
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: rpKey000001
@prime: 1
--- error_code: 401
--- response_body chomp
{"code":"signature-replayed","msg":"The signature was already used."}
--- error_log
apisec: key "rpKey000001" refused: signature-replayed, the signature was accepted before



=== TEST 1b: the same signed request twice on two connections: accepted, then refused
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: rpKey000001
@repeat: 2
--- error_code eval
[200, 401]
--- response_body_like eval
[qr/account=acct-rp/, qr/^\{"code":"signature-replayed","msg":"The signature was already used."\}$/]



=== TEST 2: the same signature in upper-case hex is the same signature: refused
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: rpKey000001
@also: s/signature=([0-9a-f]{64})/"signature=" . uc $1/e
--- error_code eval
[200, 401]
--- response_body_like eval
[qr/account=acct-rp/, qr/"signature-replayed"/]



=== TEST 3: without the guard, a replay passes
--- apisec_request
GET /open/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: rpKey000001
@repeat: 2
--- error_code eval
[200, 200]



=== TEST 4: a request refused by a later check is not remembered
--- apisec_request
GET /trade/v1/order?timestamp={ts}&signature={sig}
X-HK-APIKEY: rpKey000001
@also: s{/trade/}{/api/}
--- error_code eval
[403, 200]
--- response_body_like eval
[qr/"permission-denied"/, qr/account=acct-rp/]



=== TEST 5: okx: the same signed request twice: 401 signature-replayed
--- apisec_request
GET /api/v5/account/balance?ccy=BTC
OK-ACCESS-KEY: rpOkx000001
OK-ACCESS-TIMESTAMP: {isoms}
OK-ACCESS-PASSPHRASE: pass phrase
OK-ACCESS-SIGN: {sig}
@scheme: okx
@repeat: 2
--- error_code eval
[200, 401]
--- response_body_like eval
[qr/account=acct-rp/, qr/"signature-replayed"/]



=== TEST 6: 20 copies on 20 connections hashed over both workers: exactly one accepted
--- http_config
    log_format apisec_replay '$pid $status $apisec_error';

    server {
        listen 127.0.0.1:$TEST_NGINX_APISEC_PORT2 reuseport;
        access_log $TEST_NGINX_APISEC_DIR/replay.log apisec_replay;

        location /api/ {
            apisec on;
            apisec_replay_guard on;
            proxy_pass http://apisec_backend;
        }
    }
--- config
    location /api/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_APISEC_PORT2;
    }
--- apisec_request
GET /api/v1/account?recvWindow=60000&timestamp={ts}&signature={sig}
X-HK-APIKEY: rpKey000001
@repeat: 20
--- error_code eval
[200, (401) x 19]
--- response_body_like eval
[qr/^backend GET \/api\/v1\/account /, (qr/^\{"code":"signature-replayed",/) x 19]
