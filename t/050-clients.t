# Client compatibility: requests produced by a widely used public client
# library, ccxt (the version pinned in t/clients/package-lock.json), for
# each exchange scheme, with the library's signing code unchanged and only
# its base URL pointed at nginx, are accepted; the same requests with one
# byte changed are refused (401 signature-invalid), and sent a second time
# with the replay guard on they are refused (401 signature-replayed).
#
# For each exchange, "--- init" runs t/clients/sign.mjs against the
# running nginx: it signs a private GET and a POST (a new order) with the
# exchange class's own sign(), sends each as produced, tampered and
# replayed, then makes one full library call, fetchBalance(), through
# ccxt's own HTTP code.  Its output (one line per request, see sign.mjs) is
# saved in html/clients.txt, which the block's request fetches.
#
# The signed requests go to the echo backend of t/lib/ApisecTest.pm; the
# balance endpoints go to a second server (http_config) that answers the
# JSON the library parses, with the account that apisec passed upstream.
#
# scripts/clients.sh installs ccxt into t/clients/node_modules (npm ci)
# when it is missing: this file needs node (18 or later) and npm.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use ApisecTest;
use Cwd qw(abs_path);
use IPC::Run ();

system('scripts/clients.sh') == 0
    or die "apisec: scripts/clients.sh failed: t/050-clients.t needs node, "
         . "npm and the ccxt of t/clients\n";

our %Client = (
    hashkey => { access_key => 'hkCcxtClient0001', account => 'acct-hashkey',
                 secret_key => 'Hk7sQ2mV9xL4pR8tW1zC6nB3jF5gD0aYeKuHoIqMlNbVcXzSaDfGhJkLpOiUyTrE' },
    binance => { access_key => 'vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A',
                 account => 'acct-binance',
                 secret_key => 'NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j' },
    htx     => { access_key => 'e2xxxxxx-99xxxxxx-84xxxxxx-7a3f1', account => 'acct-htx',
                 secret_key => 'b0c7e5d2-4f1a9e3c-8d6b2a7f-1e9c4' },
    okx     => { access_key => '5f1a2b3c-4d5e-6f70-8192-a3b4c5d6e7f8', account => 'acct-okx',
                 secret_key => '9B1E4F7A2C5D8E0B3A6F9C2E5D8A1B4F',
                 passphrase => 'Trading-Desk 7!' },
);

sub fixture { return { %{ $Client{$_[0]} }, permissions => ['read', 'trade'] } }

ApisecTest::setup(keys => [ map { fixture($_) } qw(hashkey binance htx) ]);

# on its own: a store that cannot import an OKX passphrase fails only the
# okx block (key-unknown), not the file
eval { ApisecTest::import_keys(fixture('okx')); 1 }
    or warn "apisec: the okx key was not imported: $@";

our $Sign = abs_path('t/clients/sign.mjs');


# run the client for one exchange against the running nginx; its output,
# and what went wrong if it did, goes to html/clients.txt
sub clients {
    my ($exchange) = @_;

    my $c = $Client{$exchange} or die "no client for $exchange";
    my $base = 'http://127.0.0.1:' . Test::Nginx::Util::server_port();

    local $ENV{APISEC_CLIENT_KEY} = $c->{access_key};
    local $ENV{APISEC_CLIENT_SECRET} = $c->{secret_key};
    local $ENV{APISEC_CLIENT_PASSPHRASE} = $c->{passphrase} // '';

    my ($out, $err) = ('', '');
    my $ok = eval {
        IPC::Run::run(['node', $Sign, $exchange, $base], \'', \$out, \$err,
                      IPC::Run::timeout(60));
    };
    $out .= "node exited with status " . ($? >> 8) . ": $err" unless $ok;
    $out .= "node failed: $@" if $@;

    my $file = Test::Nginx::Util::html_dir() . '/clients.txt';
    open my $fh, '>', $file or die "$file: $!";
    print $fh $out;
    close $fh;
}


no_shuffle();
no_long_string();
add_block_preprocessor(\&ApisecTest::preprocess);
run_tests();

__DATA__

=== TEST 1: hashkey: ccxt's requests are accepted; tampered and replayed ones refused
--- http_config
server {
    listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
    default_type application/json;

    location = /api/v1/account {
        return 200 '{"apisec_account":"$http_x_apisec_account","balances":[{"asset":"BTC","assetId":"BTC","assetName":"BTC","total":"1.5","free":"1.5","locked":"0"}],"userId":"1"}';
    }
}
--- config
location /api/ {
    apisec on;
    apisec_scheme hashkey;
    apisec_replay_guard on;
    apisec_permission trade;
    proxy_pass http://apisec_backend;
}

location = /api/v1/account {
    apisec on;
    apisec_scheme hashkey;
    apisec_replay_guard on;
    proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1;
}

location = /clients.txt {
    root html;
    default_type text/plain;
}
--- init
main::clients('hashkey');
--- request
GET /clients.txt
--- response_body
hashkey GET plain 200 account=acct-hashkey
hashkey GET tampered 401 signature-invalid
hashkey GET replayed 401 signature-replayed
hashkey POST plain 200 account=acct-hashkey
hashkey POST tampered 401 signature-invalid
hashkey POST replayed 401 signature-replayed
hashkey fetchBalance library ok BTC=1.5 account=acct-hashkey
--- error_log
apisec: key "hkCcxtClient0001" refused: signature-invalid
apisec: key "hkCcxtClient0001" refused: signature-replayed
--- no_error_log
[alert]
[crit]



=== TEST 2: binance: ccxt's requests are accepted; tampered and replayed ones refused
--- http_config
server {
    listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
    default_type application/json;

    location = /api/v3/account {
        return 200 '{"apisec_account":"$http_x_apisec_account","accountType":"SPOT","balances":[{"asset":"BTC","free":"1.5","locked":"0"}],"updateTime":1700000000000}';
    }
}
--- config
location /api/ {
    apisec on;
    apisec_scheme binance;
    apisec_replay_guard on;
    apisec_permission trade;
    proxy_pass http://apisec_backend;
}

location = /api/v3/account {
    apisec on;
    apisec_scheme binance;
    apisec_replay_guard on;
    proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1;
}

location = /clients.txt {
    root html;
    default_type text/plain;
}
--- init
main::clients('binance');
--- request
GET /clients.txt
--- response_body
binance GET plain 200 account=acct-binance
binance GET tampered 401 signature-invalid
binance GET replayed 401 signature-replayed
binance POST plain 200 account=acct-binance
binance POST tampered 401 signature-invalid
binance POST replayed 401 signature-replayed
binance fetchBalance library ok BTC=1.5 account=acct-binance
--- error_log
apisec: key "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A" refused: signature-invalid
apisec: key "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A" refused: signature-replayed
--- no_error_log
[alert]
[crit]



=== TEST 3: htx: ccxt's requests are accepted; tampered and replayed ones refused
--- http_config
server {
    listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
    default_type application/json;

    location = /v1/account/accounts {
        return 200 '{"status":"ok","apisec_account":"$http_x_apisec_account","data":[{"id":100001,"type":"spot","subtype":"","state":"working"}]}';
    }

    location = /v1/account/accounts/100001/balance {
        return 200 '{"status":"ok","apisec_account":"$http_x_apisec_account","data":{"id":100001,"type":"spot","state":"working","list":[{"currency":"btc","type":"trade","balance":"1.5"},{"currency":"btc","type":"frozen","balance":"0"}]}}';
    }
}
--- config
location /v1/ {
    apisec on;
    apisec_scheme htx;
    apisec_replay_guard on;
    apisec_permission trade;
    proxy_pass http://apisec_backend;
}

location /v1/account/ {
    apisec on;
    apisec_scheme htx;
    apisec_replay_guard on;
    proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1;
}

location = /clients.txt {
    root html;
    default_type text/plain;
}
--- init
main::clients('htx');
--- request
GET /clients.txt
--- response_body
htx GET plain 200 account=acct-htx
htx GET tampered 401 signature-invalid
htx GET replayed 401 signature-replayed
htx POST plain 200 account=acct-htx
htx POST tampered 401 signature-invalid
htx POST replayed 401 signature-replayed
htx fetchBalance library ok BTC=1.5 account=acct-htx
--- error_log
apisec: key "e2xxxxxx-99xxxxxx-84xxxxxx-7a3f1" refused: signature-invalid
apisec: key "e2xxxxxx-99xxxxxx-84xxxxxx-7a3f1" refused: signature-replayed
--- no_error_log
[alert]
[crit]



=== TEST 4: okx: ccxt's requests (passphrase included) are accepted; tampered and replayed ones refused
--- http_config
server {
    listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
    default_type application/json;

    location = /api/v5/account/balance {
        return 200 '{"code":"0","msg":"","apisec_account":"$http_x_apisec_account","data":[{"uTime":"1700000000000","totalEq":"1","details":[{"ccy":"BTC","availBal":"1.5","eq":"1.5","cashBal":"1.5","frozenBal":"0"}]}]}';
    }
}
--- config
location /api/ {
    apisec on;
    apisec_scheme okx;
    apisec_replay_guard on;
    apisec_permission trade;
    proxy_pass http://apisec_backend;
}

location = /api/v5/account/balance {
    apisec on;
    apisec_scheme okx;
    apisec_replay_guard on;
    proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1;
}

location = /clients.txt {
    root html;
    default_type text/plain;
}
--- init
main::clients('okx');
--- request
GET /clients.txt
--- response_body
okx GET plain 200 account=acct-okx
okx GET tampered 401 signature-invalid
okx GET replayed 401 signature-replayed
okx POST plain 200 account=acct-okx
okx POST tampered 401 signature-invalid
okx POST replayed 401 signature-replayed
okx fetchBalance library ok BTC=1.5 account=acct-okx
--- error_log
apisec: key "5f1a2b3c-4d5e-6f70-8192-a3b4c5d6e7f8" refused: signature-invalid
apisec: key "5f1a2b3c-4d5e-6f70-8192-a3b4c5d6e7f8" refused: signature-replayed
--- no_error_log
[alert]
[crit]
