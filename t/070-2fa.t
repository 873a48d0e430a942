# Mandatory 2FA on withdrawal locations: after a valid signature, a current
# TOTP code (RFC 6238; codes made by Debian's oathtool) in X-Apisec-TOTP,
# accepted once per key, across workers and restarts; one step of drift
# either side.  Missing: 2fa-required; wrong, stale or used: 2fa-invalid
# (and a 2fa.failed event); a key not enrolled: 2fa-not-enrolled.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Test::More;
use ApisecTest;

my @enrolled = qw(tfaMain01 tfaOnce01 tfaMinus1 tfaZero01 tfaPlus01 tfaMinus2
                  tfaPlus02 tfaBad0001 tfaRestart1 tfaWorkers1 tfaHeader01);

ApisecTest::setup(keys => [
    (map { { access_key => $_, account => "acct-$_",
             secret_key => "TwoFactorTwoFactorTwoFactor-$_",
             permissions => ['read', 'withdraw'] } } @enrolled),
    { access_key => 'tfaNoEnrol1', account => 'acct-noenrol',
      secret_key => 'TwoFactorTwoFactorTwoFactor-none', permissions => ['read', 'withdraw'] },
]);

ApisecTest::enroll($_) for @enrolled;

my $port2 = ($ENV{TEST_NGINX_SERVER_PORT} || 1984) + 2;
$ENV{TEST_NGINX_APISEC_PORT2} = $port2;
my $log = "$ApisecTest::Dir/2fa.log";
unlink $log;

our $Config = <<'END';
    location /withdraw/ {
        apisec on;
        apisec_permission withdraw;
        apisec_2fa on;
        proxy_pass http://apisec_backend;
    }

    location /withdraw2/ {
        apisec on;
        apisec_permission withdraw;
        apisec_2fa on;
        apisec_2fa_header X-OTP;
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

# TEST 13: twenty copies over two workers, one accepted.  Each
# connection's worker is the kernel's reuseport hash's: all twenty on one
# worker (a run that shows nothing) about once in half a million runs;
# ten copies were all on one in a sanitizer run of the sixth session
open my $fh, '<', $log or die "$log: $!";
my (%pids, %status);
while (<$fh>) {
    my ($pid, $st, $err) = split;
    $err = '-' unless defined $err && length $err;
    $pids{$pid}++;
    $status{"$st $err"}++;
}
close $fh;
is_deeply(\%status, { '200 -' => 1, '403 2fa-invalid' => 19 },
          'one of twenty uses of a code accepted, nineteen refused');
cmp_ok(scalar(keys %pids), '>=', 2, 'the copies reached both workers');

__DATA__

=== TEST 1: signed, no code: 403 2fa-required
--- apisec_request
POST /withdraw/apply?coin=BTC&amount=1&timestamp={ts}&signature={sig}
X-HK-APIKEY: tfaMain01
--- error_code: 403
--- response_body chomp
{"code":"2fa-required","msg":"A two-factor code is required."}
--- error_log
apisec: key "tfaMain01" refused: 2fa-required, no 2FA code



=== TEST 2: a code from oathtool: accepted
--- apisec_request
POST /withdraw/apply?coin=BTC&amount=1&timestamp={ts}&signature={sig}
X-HK-APIKEY: tfaMain01
X-Apisec-TOTP: {totp:tfaMain01}
--- error_code: 200
--- response_body_like: ^backend POST /withdraw/apply account=acct-tfaMain01



=== TEST 3: the same code a second time: 403 2fa-invalid
--- apisec_request
POST /withdraw/apply?coin=BTC&amount=2&timestamp={ts}&signature={sig}
X-HK-APIKEY: tfaOnce01
X-Apisec-TOTP: {totp:tfaOnce01}
@prime: 1
--- error_code: 403
--- response_body chomp
{"code":"2fa-invalid","msg":"The two-factor code is invalid."}
--- error_log
apisec: key "tfaOnce01" refused: 2fa-invalid, the 2FA code was used before



=== TEST 4: a wrong code: 403 2fa-invalid, and a 2fa.failed event at the flush
--- http_config
    apisec_flush_interval 300ms;
--- apisec_request
POST /withdraw/apply?coin=BTC&amount=1&timestamp={ts}&signature={sig}
X-HK-APIKEY: tfaBad0001
X-Apisec-TOTP: 000000
--- wait: 0.8
--- error_code: 403
--- response_body chomp
{"code":"2fa-invalid","msg":"The two-factor code is invalid."}
--- error_log eval
[qr/apisec: key "tfaBad0001" refused: 2fa-invalid, the 2FA code (does not match|was used before)/,
 qr/apisec: flushed \d+ stamps/]



=== TEST 5: the 2fa.failed event is in the store
--- init
my @ev = grep { /"type":"2fa\.failed"/ && /"access_key":"tfaBad0001"/ }
         split /\n/, ApisecTest::ctl('--json', 'events');
Test::More::is(scalar @ev, 1, 'one 2fa.failed event');
Test::More::like($ev[0] // '', qr/"account":"acct-tfaBad0001".*"failures":1/,
                 'with the account and the count');
--- request
GET /withdraw/
--- error_code: 401



=== TEST 6: one step behind (30 s): accepted
--- apisec_request
POST /withdraw/apply?timestamp={ts}&signature={sig}
X-HK-APIKEY: tfaMinus1
X-Apisec-TOTP: {totp:tfaMinus1-30}
--- error_code: 200



=== TEST 7: the current step: accepted
--- apisec_request
POST /withdraw/apply?timestamp={ts}&signature={sig}
X-HK-APIKEY: tfaZero01
X-Apisec-TOTP: {totp:tfaZero01}
--- error_code: 200



=== TEST 8: one step ahead: accepted
--- apisec_request
POST /withdraw/apply?timestamp={ts}&signature={sig}
X-HK-APIKEY: tfaPlus01
X-Apisec-TOTP: {totp:tfaPlus01+30}
--- error_code: 200



=== TEST 9: two steps behind: 403 2fa-invalid
--- apisec_request
POST /withdraw/apply?timestamp={ts}&signature={sig}
X-HK-APIKEY: tfaMinus2
X-Apisec-TOTP: {totp:tfaMinus2-60}
--- error_code: 403
--- error_log
apisec: key "tfaMinus2" refused: 2fa-invalid, the 2FA code does not match



=== TEST 10: two steps ahead: 403 2fa-invalid
--- apisec_request
POST /withdraw/apply?timestamp={ts}&signature={sig}
X-HK-APIKEY: tfaPlus02
X-Apisec-TOTP: {totp:tfaPlus02+60}
--- error_code: 403
--- error_log
apisec: key "tfaPlus02" refused: 2fa-invalid, the 2FA code does not match



=== TEST 11: malformed codes: 403 2fa-invalid
--- apisec_request
POST /withdraw/apply?timestamp={ts}&signature={sig}
X-HK-APIKEY: tfaMain01
X-Apisec-TOTP: 12345
@also: s/X-Apisec-TOTP: 12345/X-Apisec-TOTP: 1234567/
--- error_code eval
[403, 403]
--- response_body_like eval
[qr/"2fa-invalid"/, qr/"2fa-invalid"/]
--- error_log
refused: 2fa-invalid, the 2FA code is not six digits



=== TEST 11b: a code with a space, or letters: 403 2fa-invalid
--- apisec_request
POST /withdraw/apply?timestamp={ts}&signature={sig}
X-HK-APIKEY: tfaMain01
X-Apisec-TOTP: 123 456
@also: s/X-Apisec-TOTP: 123 456/X-Apisec-TOTP: abcdef/
--- error_code eval
[403, 403]
--- error_log
refused: 2fa-invalid, the 2FA code is not six digits



=== TEST 12: a key not enrolled: 403 2fa-not-enrolled
--- apisec_request
POST /withdraw/apply?timestamp={ts}&signature={sig}
X-HK-APIKEY: tfaNoEnrol1
X-Apisec-TOTP: 123456
--- error_code: 403
--- response_body chomp
{"code":"2fa-not-enrolled","msg":"The API key is not enrolled for 2FA."}
--- error_log
apisec: key "tfaNoEnrol1" refused: 2fa-not-enrolled, the key is not enrolled for 2FA



=== TEST 13: one code on twenty connections hashed over two workers: accepted once
--- http_config
    log_format apisec_2fa '$pid $status $apisec_error';

    server {
        listen 127.0.0.1:$TEST_NGINX_APISEC_PORT2 reuseport;
        access_log $TEST_NGINX_APISEC_DIR/2fa.log apisec_2fa;

        location /withdraw/ {
            apisec on;
            apisec_permission withdraw;
            apisec_2fa on;
            proxy_pass http://apisec_backend;
        }
    }
--- config
    location /withdraw/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_APISEC_PORT2;
    }
--- apisec_request
POST /withdraw/apply?timestamp={ts}&signature={sig}
X-HK-APIKEY: tfaWorkers1
X-Apisec-TOTP: {totp:tfaWorkers1}
@repeat: 20
--- error_code eval
[200, (403) x 19]



=== TEST 14: a code accepted before a restart
--- apisec_request
POST /withdraw/apply?timestamp={ts}&signature={sig}
X-HK-APIKEY: tfaRestart1
X-Apisec-TOTP: {totp:tfaRestart1}
--- error_code: 200



=== TEST 15: ... is refused after it (nginx was stopped and started again)
--- http_config
    apisec_flush_interval 1h;
--- apisec_request
POST /withdraw/apply?timestamp={ts}&signature={sig}
X-HK-APIKEY: tfaRestart1
X-Apisec-TOTP: {totp_again:tfaRestart1}
--- error_code: 403
--- error_log
apisec: key "tfaRestart1" refused: 2fa-invalid, the 2FA code was used before



=== TEST 16: apisec_2fa_header names another header
--- apisec_request
POST /withdraw2/apply?timestamp={ts}&signature={sig}
X-HK-APIKEY: tfaHeader01
X-OTP: {totp:tfaHeader01}
--- error_code: 200



=== TEST 17: the default header is not read where another is named: 403 2fa-required
--- apisec_request
POST /withdraw2/apply?timestamp={ts}&signature={sig}
X-HK-APIKEY: tfaMain01
X-Apisec-TOTP: 123456
--- error_code: 403
--- response_body chomp
{"code":"2fa-required","msg":"A two-factor code is required."}
