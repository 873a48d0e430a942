# Full shared-memory zones fail closed: the replay zone
# (apisec_replay_zone) full of live signatures, and the stamp zone
# (apisec_stamp_zone) full when a TOTP step must be recorded, answer 503
# store-unavailable with an alert in the error log; nothing is forgotten
# to make room.  (The rule zone's full case is t/080-rules-rate.t TEST 13.)
# Both zones at their smallest, 64k; they are filled from "--- init".

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Test::More;
use ApisecTest;

# more keys than a 64k stamp zone has room for (about 200 nodes of 256
# bytes; 430 if they shrank to 128).  The blocks' own requests are signed
# before their "--- init" runs: with recvWindow=60000, and a TOTP code
# good for a step more, so init has more than 30 s to fill a zone (nginx
# under valgrind is slow)
our $Fillers = 600;
our @Fillers = map { sprintf 'zfFill%04d', $_ } 1 .. $Fillers;

ApisecTest::setup(keys => [
    { access_key => 'zfReplay01', account => 'acct-zf',
      secret_key => 'ZonesFullReplayZonesFullReplay01', permissions => ['read'] },
    { access_key => 'tfaEarly01', account => 'acct-zf',
      secret_key => 'ZonesFullEarlyZonesFullEarly0001', permissions => ['read'] },
    { access_key => 'tfaLate001', account => 'acct-zf',
      secret_key => 'ZonesFullLateZonesFullLate000001', permissions => ['read'] },
    { access_key => 'tfaAfter01', account => 'acct-zf',
      secret_key => 'ZonesFullAfterZonesFullAfter0001', permissions => ['read'] },
    map { { access_key => $_, account => 'acct-zf-fill',
            secret_key => "ZonesFullFillerSecret-$_", permissions => ['read'] } }
        @Fillers,
]);

ApisecTest::enroll($_) for qw(tfaEarly01 tfaLate001 tfaAfter01);

# a signed GET of /api/v1/account by KEY, with more text for the query
sub get {
    my ($key, $query) = @_;

    return "GET /api/v1/account?${query}timestamp={ts}&signature={sig}\n"
           . "X-HK-APIKEY: $key";
}

# KEY's request with its current TOTP code at /withdraw/: the status
sub totp_status {
    my ($key) = @_;

    return (ApisecTest::send_signed(
        "POST /withdraw/apply?timestamp={ts}&signature={sig}\n"
        . "X-HK-APIKEY: $key\nX-Apisec-TOTP: {totp:$key}"))[0];
}

# a request by every filler key at /api/: the statuses, counted
sub fill_stamps {
    my %st;
    $st{(ApisecTest::send_signed(get($_, '')))[0]}++ for @Fillers;
    return join ' ', map { "$_ x$st{$_}" } sort keys %st;
}

our $StampConfig = <<'END';
    location /api/ {
        apisec on;
        proxy_pass http://apisec_backend;
    }

    location /withdraw/ {
        apisec on;
        apisec_2fa on;
        proxy_pass http://apisec_backend;
    }
END

master_on();
no_shuffle();
add_block_preprocessor(sub {
    my ($block) = @_;
    $block->set_value('config', $StampConfig) unless defined $block->config;
    ApisecTest::preprocess($block);
});
run_tests();

__DATA__

=== TEST 1: the replay zone full of live signatures: 503 store-unavailable with an alert; a replay is still a replay; no signature is forgotten
--- http_config
    apisec_replay_zone 64k;
--- config
    location /api/ {
        apisec on;
        apisec_replay_guard on;
        proxy_pass http://apisec_backend;
    }

    location /open/ {
        apisec on;
        proxy_pass http://apisec_backend;
    }
--- init
# each signature lives for its recvWindow (60 s): none expires meanwhile;
# the block's own request is signed before this runs: 60 s for it too
my ($first_req, $first_hdr) =
    ApisecTest::signed_request(main::get('zfReplay01', 'n=first&recvWindow=60000&'));
my ($st) = ApisecTest::send_raw($first_req, $first_hdr);
Test::More::is($st, 200, 'the first signature is accepted');
my $i;
for ($i = 1; $i < 5000; $i++) {
    ($st) = ApisecTest::send_signed(main::get('zfReplay01', "n=$i&recvWindow=60000&"));
    last if $st != 200;
}
Test::More::is($st, 503, "the zone is full after $i signatures");
Test::More::cmp_ok($i, '>', 100, 'after many signatures');
($st, my $res) = ApisecTest::send_raw($first_req, $first_hdr);
Test::More::is($st, 401, 'the first signature again: still known');
Test::More::like($res, qr/"signature-replayed"/, 'refused as replayed');
($st) = ApisecTest::send_signed(main::get('zfReplay01', 'n=open&')
                                =~ s{/api/}{/open/}r);
Test::More::is($st, 200, 'a location without the guard does not use the zone');
--- apisec_request
GET /api/v1/account?n=last&recvWindow=60000&timestamp={ts}&signature={sig}
X-HK-APIKEY: zfReplay01
--- error_code: 503
--- response_headers
Content-Type: application/json
--- response_body chomp
{"code":"store-unavailable","msg":"The key store is unavailable."}
--- error_log eval
[qr/\[alert\] .*apisec: the replay guard zone is full of live signatures; raise apisec_replay_zone/,
 qr/\[error\] .*apisec: key "zfReplay01" refused: store-unavailable, the replay guard zone is full/]



=== TEST 2: the stamp zone full: requests without 2FA still pass (their last use is lost); a TOTP step that cannot be recorded: 503 store-unavailable with an alert
--- http_config
    apisec_stamp_zone 64k;
    apisec_flush_interval 1h;
--- init
# tfaEarly01 has its stamp node before the zone fills up
Test::More::is((ApisecTest::send_signed(main::get('tfaEarly01', '')))[0], 200,
               'a first request by tfaEarly01');
Test::More::is(main::fill_stamps(), "200 x$main::Fillers",
               "$main::Fillers other keys: all accepted");
Test::More::is(main::totp_status('tfaEarly01'), 200,
               'a TOTP code of a key that has its node: accepted');
--- apisec_request
POST /withdraw/apply?recvWindow=60000&timestamp={ts}&signature={sig}
X-HK-APIKEY: tfaLate001
X-Apisec-TOTP: {totp:tfaLate001}
--- error_code: 503
--- response_headers
Content-Type: application/json
--- response_body chomp
{"code":"store-unavailable","msg":"The key store is unavailable."}
--- error_log eval
[qr/\[alert\] .*apisec: the stamp zone is full: a TOTP step cannot be recorded; raise apisec_stamp_zone, client: [^,]+, server: [^,]*, request: "POST \/withdraw\/apply", host/,
 qr/\[error\] .*apisec: key "tfaLate001" refused: store-unavailable, the stamp zone is full/]
--- no_error_log eval
[qr/apisec: .*signature=/, '[crit]', '[emerg]']



=== TEST 3: once a flush empties the stamp zone (the workers' exit at a reload), it reports the uses it lost and a TOTP step is recorded again
--- http_config
    apisec_stamp_zone 64k;
    apisec_flush_interval 1h;
--- init
Test::More::is(main::fill_stamps(), "200 x$main::Fillers",
               "$main::Fillers keys: all accepted");
Test::More::is(main::totp_status('tfaAfter01'), 503, 'the zone is full');
kill 'HUP', Test::Nginx::Util::get_pid_from_pidfile('');
select undef, undef, undef, 1.5;
--- apisec_request
POST /withdraw/apply?recvWindow=60000&timestamp={ts}&signature={sig}
X-HK-APIKEY: tfaAfter01
X-Apisec-TOTP: {totp:tfaAfter01}
--- error_code: 200
--- response_body_like: ^backend POST /withdraw/apply account=acct-zf key=tfaAfter01
--- error_log eval
qr/\[warn\] .*apisec: the stamp zone was full: \d+ uses were not recorded; raise apisec_stamp_zone/
