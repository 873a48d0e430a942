# The wall clock steps forwards and backwards (an NTP step, an operator's
# date -s) while nginx runs: nginx runs under libfaketime (Debian's
# libfaketime; LD_PRELOAD), whose offset is read from a file at every
# call, so a block moves nginx's clock with clock_step(+3600) and back
# with clock_step(0).  The monotonic clock is left alone
# (DONT_FAKE_MONOTONIC=1), as a real step leaves it: nginx's timers keep
# running.  The clients and apisecctl keep the real time.
#
# apisec follows the wall clock (SPEC: timestamps against now; windows in
# seconds of the clock); what must hold whatever the clock does:
#
# * no signature passes outside its window by the server's clock: after a
#   step forwards a request signed by the real time is too old, after a
#   step backwards it is too far ahead; both 401 timestamp-invalid;
# * the replay guard forgets no live signature: a signature accepted
#   before a step forwards and back is still refused as replayed;
# * amount windows neither lose nor count twice: an amount counts for its
#   window by the clock when it was added; after a step backwards the
#   amounts added "later" still count (a sum never shrinks because of the
#   step), apisecctl usage shows each amount once;
# * a TOTP code of a step already passed is refused after the clock goes
#   back (a code is accepted once, for a step after the last accepted).
#
# Not under valgrind (TEST_NGINX_USE_VALGRIND): the requests carry the
# default recvWindow of 5 s, so that a step of five minutes is far outside
# it, and nginx under valgrind can take longer than that to answer; and
# the preloaded libfaketime would run under valgrind too.  Not under the
# sanitizers (make asan: APISEC_CHECK=asan): nginx gets the sanitizer
# runtime by LD_PRELOAD, which takes the place of libfaketime, and the two
# preloaded together hang at start (libfaketime's constructor calls into
# the runtime's interceptors before they are ready).

use lib 't/lib';
use Test::Nginx::Socket;
use Test::More;
use ApisecTest;

my $lib = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';

if ($ENV{TEST_NGINX_USE_VALGRIND}) {
    plan skip_all => 'nginx under valgrind with libfaketime preloaded';
} elsif (($ENV{APISEC_CHECK} // '') eq 'asan') {
    plan skip_all => 'nginx with the sanitizer runtime preloaded instead of libfaketime';
} elsif (!-e $lib) {
    plan skip_all => "no $lib (Debian package libfaketime; scripts/deps.sh test)";
} else {
    plan 'no_plan';
}

my $s = 'ClockClockClockClockClockClock';

sub k {
    my ($ak, %more) = @_;
    return { access_key => $ak, account => "acct-$ak", secret_key => "$s$ak",
             permissions => ['read', 'withdraw'], %more };
}

ApisecTest::setup(keys => [
    k('clkFwd0001'), k('clkBack001'), k('clkReplay1'), k('clkAmount1'),
    k('clkTotp001'), k('clkExpire1', expires_at => ApisecTest::ago(-1800)),
]);
ApisecTest::enroll('clkTotp001');

our $Offset = "$ApisecTest::Dir/faketime";

# nginx's clock: the real one plus SECONDS
sub clock_step {
    my ($secs) = @_;
    open my $fh, '>', "$Offset.tmp" or die "$Offset.tmp: $!";
    printf $fh "%+d\n", $secs;
    close $fh;
    rename "$Offset.tmp", $Offset or die "$Offset: $!";
    # nginx reads its clock once an event loop turn: let one pass
    select undef, undef, undef, 0.3;
}

clock_step(0);

# for nginx, and only for nginx: the runner starts it with this
# environment; apisecctl and the other tools run with LD_PRELOAD cleared
$ENV{LD_PRELOAD} = $lib;
$ENV{FAKETIME_TIMESTAMP_FILE} = $Offset;
$ENV{FAKETIME_NO_CACHE} = 1;
$ENV{DONT_FAKE_MONOTONIC} = 1;

{
    no warnings 'redefine';
    my $ctl_in = \&ApisecTest::ctl_in;
    *ApisecTest::ctl_in = sub { local $ENV{LD_PRELOAD}; $ctl_in->(@_) };
    my $totp = \&ApisecTest::totp;
    *ApisecTest::totp = sub { local $ENV{LD_PRELOAD}; $totp->(@_) };
}

# a signed GET by KEY at PATH, with the timestamp moved by OFF ms
sub get {
    my ($key, $path, $off, $more) = @_;
    $off //= 0;
    my $ts = $off ? sprintf('{ts%+d}', $off) : '{ts}';
    return "GET $path?recvWindow=5000&timestamp=$ts&signature={sig}\n"
           . "X-HK-APIKEY: $key" . ($more // '');
}

sub outcome {
    my ($st, $res) = ApisecTest::send_signed($_[0]);
    my ($code) = $res =~ /"code":"([^"]+)"/;
    return "$st " . ($code // 'ok');
}

sub usage {
    require JSON::PP;
    return map { JSON::PP::decode_json($_) }
           split /\n/, ApisecTest::ctl('--json', 'usage', $_[0]);
}

our $Config = <<'END';
    location /api/ {
        apisec on;
    }

    location /guarded/ {
        apisec on;
        apisec_replay_guard on;
    }

    location /amount/ {
        apisec on;
        apisec_rule amount max=10 per=1h name=hourly;
    }

    location /withdraw/ {
        apisec on;
        apisec_permission withdraw;
        apisec_2fa on;
    }
END

our $Files = <<'END';
>>> api/v1
api
>>> guarded/v1
guarded
>>> amount/v1
amount
>>> withdraw/v1
withdraw
END

master_on();
workers(2);
no_shuffle();
my $flush = ApisecTest::flush_every('300ms');
add_block_preprocessor(sub {
    my ($block) = @_;
    $block->set_value('main_config', "env FAKETIME_TIMESTAMP_FILE;\n"
                      . "env FAKETIME_NO_CACHE;\nenv DONT_FAKE_MONOTONIC;\n"
                      . ($block->main_config // ''));
    $block->set_value('config', $Config) unless defined $block->config;
    $block->set_value('user_files', $Files) unless defined $block->user_files;
    $flush->($block);
});
run_tests();

__DATA__

=== TEST 1: a step forwards: a request signed by the real time is too old, one signed by nginx's clock passes; expires_at counts by nginx's clock
--- init
main::clock_step(0);
Test::More::is(main::outcome(main::get('clkFwd0001', '/api/v1')), '200 ok',
               'before the step: accepted');
Test::More::is(main::outcome(main::get('clkExpire1', '/api/v1')), '200 ok',
               'a key that expires in 30 minutes: accepted');
main::clock_step(3600);
Test::More::is(main::outcome(main::get('clkFwd0001', '/api/v1')),
               '401 timestamp-invalid', 'an hour ahead: the real time is too old');
Test::More::is(main::outcome(main::get('clkFwd0001', '/api/v1', 3600_000)),
               '200 ok', 'signed by nginx\'s clock: accepted');
Test::More::is(main::outcome(main::get('clkExpire1', '/api/v1', 3600_000)),
               '401 key-expired', 'past expires_at by nginx\'s clock');
main::clock_step(0);
Test::More::is(main::outcome(main::get('clkFwd0001', '/api/v1', 3600_000)),
               '401 timestamp-invalid', 'back: the hour-ahead signature is refused');
Test::More::is(main::outcome(main::get('clkExpire1', '/api/v1')), '200 ok',
               'back: not past expires_at, accepted again');
--- request
GET /api/v1
--- error_code: 401
--- response_body chomp
{"code":"key-missing","msg":"The API key is missing."}
--- error_log eval
[qr/\[error\] .*apisec: key "clkFwd0001" refused: timestamp-invalid/,
 qr/\[error\] .*apisec: key "clkExpire1" refused: key-expired/]
--- no_error_log
[alert]
[crit]



=== TEST 2: a step backwards: a request signed by the real time is too far ahead
--- init
main::clock_step(-300);
Test::More::is(main::outcome(main::get('clkBack001', '/api/v1')),
               '401 timestamp-invalid', 'five minutes back: the real time is ahead');
Test::More::is(main::outcome(main::get('clkBack001', '/api/v1', -300_000)),
               '200 ok', 'signed by nginx\'s clock: accepted');
main::clock_step(0);
Test::More::is(main::outcome(main::get('clkBack001', '/api/v1')), '200 ok',
               'the clock right again: accepted');
--- request
GET /api/v1
--- error_code: 401
--- response_body chomp
{"code":"key-missing","msg":"The API key is missing."}
--- error_log eval
qr/\[error\] .*apisec: key "clkBack001" refused: timestamp-invalid/
--- no_error_log
[alert]
[crit]



=== TEST 3: the replay guard across steps: a signature accepted before a step forwards (and guarded requests then) and back is still refused
--- init
main::clock_step(0);
my ($req, $hdr) = ApisecTest::signed_request(
    main::get('clkReplay1', '/guarded/v1', 0, '') =~ s/recvWindow=5000/recvWindow=60000/r);
Test::More::is((ApisecTest::send_raw($req, $hdr))[0], 200, 'accepted once');
Test::More::is((ApisecTest::send_raw($req, $hdr))[0], 401, 'refused again');
main::clock_step(3600);
# guarded requests an hour ahead: each may purge entries its clock finds old
for my $i (1 .. 20) {
    my $o = main::outcome(main::get('clkReplay1', "/guarded/v1", 3600_000) =~ s/\?/?n=$i&/r);
    Test::More::is($o, '200 ok', "an hour ahead, guarded request $i") if $i == 1 || $o ne '200 ok';
}
main::clock_step(0);
my ($st, $res) = ApisecTest::send_raw($req, $hdr);
Test::More::is($st, 401, 'back: the first signature, inside its window, is still refused');
Test::More::like($res, qr/"code":"signature-replayed"/, 'as replayed');
--- request
GET /api/v1
--- error_code: 401
--- response_body chomp
{"code":"key-missing","msg":"The API key is missing."}
--- error_log eval
qr/\[error\] .*apisec: key "clkReplay1" refused: signature-replayed/



=== TEST 4: amount windows across steps: an amount counts for its window by the clock of its time; a step back never makes one count twice or drop out early
--- init
main::clock_step(0);
Test::More::is(main::outcome(main::get('clkAmount1', '/amount/v1', 0, '') =~ s/\?/?amount=10&/r),
               '200 ok', '10 of 10 now');
Test::More::is(main::outcome(main::get('clkAmount1', '/amount/v1', 0, '') =~ s/\?/?amount=0.1&/r),
               '403 rule-blocked', 'the window is full');
main::clock_step(7200);
Test::More::is(main::outcome(main::get('clkAmount1', '/amount/v1', 7200_000, '') =~ s/\?/?amount=10&/r),
               '200 ok', 'two hours ahead: the window of nginx\'s clock is empty, 10 pass');
main::clock_step(0);
Test::More::is(main::outcome(main::get('clkAmount1', '/amount/v1', 0, '') =~ s/\?/?amount=0.1&/r),
               '403 rule-blocked', 'back: both amounts count, nothing more passes');
select undef, undef, undef, 1;
my @u = main::usage('clkAmount1');
Test::More::is(scalar(@u), 1, 'one window');
Test::More::is("$u[0]{sum} $u[0]{count}", '20 2', 'each amount once, by apisecctl\'s real clock');
--- request
GET /api/v1
--- error_code: 401
--- response_body chomp
{"code":"key-missing","msg":"The API key is missing."}
--- error_log eval
[qr/\[error\] .*apisec: key "clkAmount1" refused: rule-blocked, rule "hourly" \(amount\): 0\.1 \(currency \) over max 10, 10 before/,
 qr/\[error\] .*apisec: key "clkAmount1" refused: rule-blocked, rule "hourly" \(amount\): 0\.1 \(currency \) over max 10, 20 before/]



=== TEST 5: TOTP across a step back: the code of a step before the last accepted one is refused
--- init
main::clock_step(0);
Test::More::is(main::outcome(main::get('clkTotp001', '/withdraw/v1', 0,
                                        "\nX-Apisec-TOTP: {totp:clkTotp001}")),
               '200 ok', 'a code now');
main::clock_step(-120);
Test::More::is(main::outcome(main::get('clkTotp001', '/withdraw/v1', -120_000,
                                        "\nX-Apisec-TOTP: {totp:clkTotp001-120}")),
               '403 2fa-invalid', 'two minutes back: the code of that step is refused');
main::clock_step(0);
--- request
GET /api/v1
--- error_code: 401
--- response_body chomp
{"code":"key-missing","msg":"The API key is missing."}
--- error_log eval
qr/\[error\] .*apisec: key "clkTotp001" refused: 2fa-invalid/
