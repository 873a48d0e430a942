# The timer's flush runs its write transaction in a thread of nginx's
# thread pool (apisec_thread_pool): the worker's event loop does not wait
# for the store's write lock or the commit's disk sync, and the uses the
# flush has taken stay to be seen in the stamp zone until it has
# committed, so that a key does not look idle in between.  One worker,
# so that a worker whose event loop waited would have to answer.  Another
# writer holds the write lock: mdb_load -T begins its transaction, then
# waits for its input.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Test::More;
use ApisecTest;

my $s = 'FlightFlightFlightFlightFlight12';

sub k {
    my ($ak, %f) = @_;
    return { access_key => $ak, account => "acct-$ak",
             secret_key => "$s$ak", %f };
}

# the seconds since a record's last use
sub since_use {
    my ($key) = @_;

    my $t = ApisecTest::show($key)->{last_used_at} // return 1e12;
    my ($y, $m, $d, $H, $M, $S) = $t =~ /^(\d+)-(\d+)-(\d+)T(\d+):(\d+):(\d+)Z$/;
    require Time::Local;
    return time - Time::Local::timegm($S, $M, $H, $d, $m - 1, $y);
}

ApisecTest::setup(keys => []);

# imported by the test itself (its last use must be recent then)
$ApisecTest::Secret{flightKey01} = "${s}flightKey01";

master_on();
workers(1);
no_shuffle();
add_block_preprocessor(\&ApisecTest::preprocess);
run_tests();

__DATA__
=== TEST 1: a flush that waits for the store's write lock (another writer holds it): the event loop serves meanwhile, and the use the flush took is still seen, so the key does not look idle before the flush commits
--- http_config
    apisec_flush_interval 300ms;
    apisec_idle_expiry 4s;
--- init
ApisecTest::import_keys(main::k('flightKey01',
                                created_at => ApisecTest::ago(10),
                                last_used_at => ApisecTest::ago(2)));
my $req = "GET /api/v1/account?timestamp={ts}&signature={sig}\n"
          . "X-HK-APIKEY: flightKey01";
# mdb_load -T begins its write transaction, then waits for its input.
# 0.8 s: the stored use (2 s old at the import, in whole seconds) is to be
# over 4 s old at the second request, 2.6 s after the first, whatever the
# seconds' boundaries (with 0.3 s it was 4, once, in a CI run); still under
# 4 at the first
open my $hold, '|-', 'mdb_load', '-T', '-s', 'keys', $ApisecTest::Store
    or die "mdb_load: $!";
select undef, undef, undef, 0.8;
my $send = sub {
    my $st = eval {
        local $SIG{ALRM} = sub { die "timeout\n" };
        alarm 10;
        my ($s) = ApisecTest::send_signed($req);
        alarm 0;
        $s;
    };
    return $st // 'timeout';
};
my $first = $send->();
# the flushes take the use and wait for the lock; the stored last use
# becomes older than 4 s, the stamped one is not
select undef, undef, undef, 2.6;
my $second = $send->();
Test::More::cmp_ok(main::since_use('flightKey01'), '>', 4,
                   'the store does not have the use yet');
close $hold;
for (1 .. 40) {
    select undef, undef, undef, 0.25;
    last if main::since_use('flightKey01') <= 4;
}
Test::More::is("$first $second", '200 200',
               'both accepted while the flush waited');
Test::More::cmp_ok(main::since_use('flightKey01'), '<=', 4,
                   'the flush wrote the use once the lock was free');
--- apisec_request
GET /api/v1/account?recvWindow=60000&timestamp={ts}&signature={sig}
X-HK-APIKEY: flightKey01
--- error_code: 200
--- response_body_like: account=acct-flightKey01
--- error_log eval
qr/apisec: flushed 1 stamps, 0 keys expired, in one write transaction \(this worker: \d+ write transactions, \d+ flushes; in a thread\)/
--- no_error_log
refused: key-expired
