# Last use and idle expiry: every accepted request stamps the key's last
# use in shared memory; a timer writes the stamps to the store, at most
# apisec_flush_interval late (500 ms here; 60 s by default), in one write
# transaction per tick, never from a request.  A key idle longer than
# apisec_idle_expiry (by its last use, or its creation when never used) is
# refused with key-expired and marked expired in the store for good, with
# a key.expired event.  Two workers throughout.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Test::More;
use ApisecTest;

my $D = 86400;
my $s = 'IdleIdleIdleIdleIdleIdleIdleIdle';

sub k {
    my ($ak, %f) = @_;
    return { access_key => $ak, account => "acct-$ak",
             secret_key => "$s$ak", %f };
}

ApisecTest::setup(keys => [
    k('idleUnder01', created_at => ApisecTest::ago(400 * $D),
      last_used_at => ApisecTest::ago(90 * $D - 3600)),
    k('idleOver01', created_at => ApisecTest::ago(400 * $D),
      last_used_at => ApisecTest::ago(90 * $D + 60)),
    k('neverOld01', created_at => ApisecTest::ago(90 * $D + 60)),
    k('neverNew01', created_at => ApisecTest::ago(90 * $D - 3600)),
    k('boundOld01', created_at => ApisecTest::ago(400 * $D),
      last_used_at => ApisecTest::ago(100 * $D), ips => ['127.0.0.1/32']),
    k('boundOld02', created_at => ApisecTest::ago(400 * $D),
      last_used_at => ApisecTest::ago(20 * $D), ips => ['127.0.0.1/32']),
    k('unboundOld1', created_at => ApisecTest::ago(400 * $D),
      last_used_at => ApisecTest::ago(100 * $D)),
    k('offOld01', created_at => ApisecTest::ago(2000 * $D),
      last_used_at => ApisecTest::ago(1000 * $D)),
    k('killKey01', created_at => ApisecTest::ago(10 * $D),
      last_used_at => ApisecTest::ago(5 * $D)),
    k('reloadKey01', created_at => ApisecTest::ago(10 * $D),
      last_used_at => ApisecTest::ago(5 * $D)),
    k('hupKey01', created_at => ApisecTest::ago(10 * $D),
      last_used_at => ApisecTest::ago(5 * $D)),
    k('tickKey01', created_at => ApisecTest::ago(10 * $D),
      last_used_at => ApisecTest::ago(5 * $D)),
]);

# imported by TEST 14 itself (it must be new then); signed with this secret
$ApisecTest::Secret{keptKey01} = "${s}keptKey01";

# a record's last use, Unix seconds (0: never used)
sub used_at {
    my ($key) = @_;

    my $t = ApisecTest::show($key)->{last_used_at} // return 0;
    my ($y, $m, $d, $H, $M, $S) = $t =~ /^(\d+)-(\d+)-(\d+)T(\d+):(\d+):(\d+)Z$/;
    require Time::Local;
    return Time::Local::timegm($S, $M, $H, $d, $m - 1, $y);
}

# the seconds since a record's last use
sub since_use {
    my ($key) = @_;

    my $t = used_at($key) || return 1e12;
    return time - $t;
}


master_on();
workers(2);
no_shuffle();
my $flush = ApisecTest::flush_every('500ms');
add_block_preprocessor(sub { $flush->(@_) });
run_tests();

__DATA__

=== TEST 1: last used 89 days 23 hours ago: accepted, and the store says "now" within a tick (written by a thread of the pool: the event loop does not wait for the disk)
--- apisec_request
GET /api/v1/account?recvWindow=60000&timestamp={ts}&signature={sig}
X-HK-APIKEY: idleUnder01
@prime: 1
--- init
select undef, undef, undef, 1.2;
Test::More::cmp_ok(main::since_use('idleUnder01'), '<=', 3,
                   'one tick later the store has the new last use');
--- error_code: 200
--- response_body_like: account=acct-idleUnder01
--- error_log eval
qr/apisec: flushed 1 stamps, 0 keys expired, in one write transaction \(this worker: (\d+) write transactions, \1 flushes; in a thread\)/



=== TEST 2: last used 90 days and 1 minute ago: 401 key-expired
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: idleOver01
--- wait: 1.2
--- error_code: 401
--- response_body chomp
{"code":"key-expired","msg":"The API key has expired."}
--- error_log eval
[qr/apisec: key "idleOver01" refused: key-expired, the key was idle longer than apisec_idle_expiry/,
 qr/apisec: key "idleOver01" of account "acct-idleOver01" expired: idle longer than 7776000 s/,
 qr/apisec: flushed 1 stamps, 1 keys expired, in one write transaction/]



=== TEST 3: it stays expired: the store says so, with one key.expired event, even with a longer apisec_idle_expiry
--- http_config
    apisec_flush_interval 500ms;
    apisec_idle_expiry 365d;
--- init
my $k = ApisecTest::show('idleOver01');
Test::More::is($k->{status}, 'expired', 'the store marks the key expired');
my @ev = grep { /"type":"key\.expired"/ && /"access_key":"idleOver01"/ }
         split /\n/, ApisecTest::ctl('--json', 'events');
Test::More::is(scalar @ev, 1, 'one key.expired event');
Test::More::like($ev[0] // '', qr/"reason":"idle".*"by":"nginx"/,
                 'the event says why and who');
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: idleOver01
--- error_code: 401
--- response_body chomp
{"code":"key-expired","msg":"The API key has expired."}
--- error_log
apisec: key "idleOver01" refused: key-expired, the key is expired



=== TEST 4: apisecctl enable revives it
--- init
ApisecTest::ctl('enable', 'idleOver01');
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: idleOver01
--- error_code: 200
--- response_body_like: account=acct-idleOver01



=== TEST 5: never used, created 90 days and 1 minute ago: 401 key-expired
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: neverOld01
--- error_code: 401
--- response_body chomp
{"code":"key-expired","msg":"The API key has expired."}
--- error_log
apisec: key "neverOld01" refused: key-expired, the key was idle longer than apisec_idle_expiry



=== TEST 6: never used, created 89 days 23 hours ago: accepted
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: neverNew01
--- error_code: 200



=== TEST 7: unbound_ip_only: a key with an allow-list, idle 100 days: accepted
--- http_config
    apisec_flush_interval 500ms;
    apisec_idle_expiry 90d unbound_ip_only;
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: boundOld01
--- error_code: 200



=== TEST 8: unbound_ip_only: a key without an allow-list, idle 100 days: 401 key-expired
--- http_config
    apisec_flush_interval 500ms;
    apisec_idle_expiry 90d unbound_ip_only;
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: unboundOld1
--- error_code: 401
--- response_body chomp
{"code":"key-expired","msg":"The API key has expired."}



=== TEST 9: apisec_idle_expiry off: idle 1000 days, accepted
--- http_config
    apisec_flush_interval 500ms;
    apisec_idle_expiry off;
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: offOld01
--- error_code: 200



=== TEST 10: apisec_idle_expiry 14d: a key last used 5 days ago passes
--- http_config
    apisec_flush_interval 500ms;
    apisec_idle_expiry 14d;
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: killKey01
--- error_code: 200



=== TEST 10b: apisec_idle_expiry 14d: a key idle 20 days (with an allow-list) does not
--- http_config
    apisec_flush_interval 500ms;
    apisec_idle_expiry 14d;
--- apisec_request
GET /api/v1/account?timestamp={ts}&signature={sig}
X-HK-APIKEY: boundOld02
--- error_code: 401
--- response_body chomp
{"code":"key-expired","msg":"The API key has expired."}



=== TEST 11: SIGKILL of both workers right after a use: the stamp survives in shared memory and is written by the new workers
--- http_config
    apisec_flush_interval 6s;
--- apisec_request
GET /api/v1/account?recvWindow=60000&timestamp={ts}&signature={sig}
X-HK-APIKEY: reloadKey01
@prime: 1
--- init
my $master = Test::Nginx::Util::get_pid_from_pidfile('');
my @workers = split ' ', `pgrep -P $master`;
Test::More::is(scalar @workers, 2, 'two workers');
Test::More::cmp_ok(main::since_use('reloadKey01'), '>', 86400,
                   'not written before the kill');
my $before = int(CORE::time());
kill 'KILL', @workers;
# the new workers' first flush: within a tick of 6 s (later under valgrind)
my $used = 0;
for (1 .. 80) {
    select undef, undef, undef, 0.25;
    $used = main::used_at('reloadKey01');
    last if $used >= $before - 5;
}
Test::More::cmp_ok($used, '>=', $before - 5,
                   'the use stamped before the kill reached the store');
my @new = split ' ', `pgrep -P $master`;
Test::More::is(scalar @new, 2, 'the master started two new workers');
--- error_code: 200
--- response_body_like: account=acct-reloadKey01
--- error_log eval
qr/\[alert\] .* worker process \d+ exited on signal 9/



=== TEST 12: a reload (HUP) with a tick of an hour: the old workers write the stamps on their way out (in the event loop, at exit)
--- http_config
    apisec_flush_interval 1h;
--- apisec_request
GET /api/v1/account?recvWindow=60000&timestamp={ts}&signature={sig}
X-HK-APIKEY: hupKey01
@prime: 1
--- init
Test::More::cmp_ok(main::since_use('hupKey01'), '>', 86400,
                   'not written before the reload');
kill 'HUP', Test::Nginx::Util::get_pid_from_pidfile('');
select undef, undef, undef, 1.5;
Test::More::cmp_ok(main::since_use('hupKey01'), '<=', 4,
                   'the use before the reload reached the store');
--- error_code: 200
--- error_log eval
qr/apisec: flushed 1 stamps, 0 keys expired, in one write transaction \(this worker: \d+ write transactions, \d+ flushes; in the event loop\)/



=== TEST 13: a key used tick after tick: every use reaches the store (a worker stamps a key once a second, and finds its stamp again after a flush has freed it)
--- init
my $req = "GET /api/v1/account?timestamp={ts}&signature={sig}\n"
          . "X-HK-APIKEY: tickKey01";
my ($sent, @st);
for (1 .. 4) {
    $sent = int(CORE::time());
    push @st, (ApisecTest::send_signed($req))[0];
    select undef, undef, undef, 1.1;
    Test::More::cmp_ok(main::used_at('tickKey01'), '>=', $sent,
                       'the store has the use of that second');
}
Test::More::is("@st", '200 200 200 200', 'all accepted');
--- apisec_request
GET /api/v1/account?recvWindow=60000&timestamp={ts}&signature={sig}
X-HK-APIKEY: tickKey01
--- error_code: 200
--- response_body_like: account=acct-tickKey01



=== TEST 14: a key used every 1.4 s, idle after 2 s: always accepted, though each worker's cache keeps the record it read first (flushes of last uses keep the cache; a key that looks idle is read again before it is refused)
--- http_config
    apisec_flush_interval 500ms;
    apisec_idle_expiry 2s;
--- init
ApisecTest::import_keys(main::k('keptKey01', created_at => ApisecTest::ago(0)));
my $req = "GET /api/v1/account?timestamp={ts}&signature={sig}\n"
          . "X-HK-APIKEY: keptKey01";
my @st;
for (1 .. 5) {
    push @st, (ApisecTest::send_signed($req))[0];
    select undef, undef, undef, 1.4;
}
Test::More::is("@st", '200 200 200 200 200', 'all accepted');
Test::More::cmp_ok(main::since_use('keptKey01'), '<=', 2,
                   'the store has the last use');
--- apisec_request
GET /api/v1/account?recvWindow=60000&timestamp={ts}&signature={sig}
X-HK-APIKEY: keptKey01
--- error_code: 200
--- response_body_like: account=acct-keptKey01
--- no_error_log
refused: key-expired
