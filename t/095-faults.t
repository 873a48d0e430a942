# Faults under load: a worker killed with SIGKILL, a reload (HUP), and
# apisecctl writing to the store, each while clients keep sending signed
# requests from background processes (ApisecTest::load_start: four
# clients, a connection per request, each request signed afresh).
#
# The assertions are counts, never timings: no request that should pass
# fails (zero failures), the store's amount sums equal exactly what the
# accepted requests added (a request cut off by the kill may have counted:
# never less than the accepted ones, never more than those plus the ones
# cut off), the reader slot of the killed worker is reclaimed, and a
# change made with apisecctl counts from the next request on.  Two workers
# throughout; the locations serve static files, so that a worker's death
# cannot fail a request through a proxied backend served by it.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Test::More;
use ApisecTest;

my $s = 'FaultsFaultsFaultsFaultsFaults';

sub k {
    my ($ak, $acct, @perm) = @_;
    return { access_key => $ak, account => $acct, secret_key => "$s$ak",
             permissions => [@perm ? @perm : ('read', 'withdraw')] };
}

ApisecTest::setup(keys => [
    k('fltKill001', 'acct-kill'),
    k('fltHup0001', 'acct-hup'),
    k('fltHup0002', 'acct-hup'),
    k('fltCtl0001', 'acct-ctl'),
    k('fltCtl0002', 'acct-ctl'),
    k('fltCtl0003', 'acct-ctl'),
]);

# a signed GET at /withdraw/ with the amount in the query
sub amount_get {
    my ($key, $amount) = @_;
    return "GET /withdraw/v1?amount=$amount&currency=USDT&recvWindow=60000"
           . "&timestamp={ts}&signature={sig}\nX-HK-APIKEY: $key";
}

# a signed GET at /api/
sub read_get {
    my ($key, $n) = @_;
    return "GET /api/v1/account?n=$n&recvWindow=60000&timestamp={ts}"
           . "&signature={sig}\nX-HK-APIKEY: $key";
}

# "status code" => how many, of a list of answers
sub tally {
    my %n;
    $n{"$_->{status} $_->{code}"}++ for @_;
    return \%n;
}

sub show_tally {
    my $t = tally(@_);
    return join ', ', map { "$_ x$t->{$_}" } sort keys %$t;
}

# the window of KEY's rule in the store: "sum count"
sub usage {
    my ($key) = @_;
    require JSON::PP;
    my @u = map { JSON::PP::decode_json($_) }
            split /\n/, ApisecTest::ctl('--json', 'usage', $key);
    return @u ? "$u[0]{sum} $u[0]{count}" : 'none';
}

our $Config = <<'END';
    location /withdraw/ {
        apisec on;
        apisec_permission withdraw;
        apisec_rule amount max=1000000000 per=1h name=load;
    }

    location /api/ {
        apisec on;
    }
END

our $Files = <<'END';
>>> withdraw/v1
withdrawn
>>> api/v1/account
account
END

master_on();
workers(2);
worker_connections(1024);
no_shuffle();
my $flush = ApisecTest::flush_every('300ms');
add_block_preprocessor(sub {
    my ($block) = @_;
    $block->set_value('config', $Config) unless defined $block->config;
    $block->set_value('user_files', $Files) unless defined $block->user_files;
    $flush->($block);
});
run_tests();

__DATA__

=== TEST 1: SIGKILL of a worker under load: no amount lost, the reader slot reclaimed, requests keep passing
--- init
my @workers = ApisecTest::worker_pids();
Test::More::is(scalar @workers, 2, 'two workers');
# each worker takes its slot when it opens the store (in init_process,
# which can come late under valgrind)
my @readers;
my $end = time + 120;
select undef, undef, undef, 0.2
    while !(grep { $_ == $workers[0] } @readers = ApisecTest::reader_pids())
          && time < $end;
Test::More::ok((grep { $_ == $workers[0] } @readers),
               'the worker to kill holds a reader slot')
    or Test::More::diag("readers: @readers, workers: @workers");

my $l = ApisecTest::load_start(clients => 4,
                               request => main::amount_get('fltKill001', '1'));
Test::More::cmp_ok(ApisecTest::load_wait($l, 60), '>=', 60,
                   '60 answers before the kill');

kill 'KILL', $workers[0];
my $killed = Time::HiRes::time();

# answers to requests sent after the kill, from the other and new workers
my $after = sub { scalar grep { $_->{t0} > $killed } ApisecTest::load_results($l) };
$end = time + 180;
select undef, undef, undef, 0.1 while $after->() < 100 && time < $end;
my @r = ApisecTest::load_stop($l);

my @before = grep { $_->{t0} <= $killed } @r;
my @late = grep { $_->{t0} > $killed } @r;
my @ok = grep { $_->{status} == 200 } @r;
my @cut = grep { $_->{status} == 0 } @r;

Test::More::cmp_ok(scalar @late, '>=', 100, '100 requests sent after the kill');
Test::More::is(scalar(grep { $_->{status} != 200 } @late), 0,
               'every request sent after the kill passes')
    or Test::More::diag(main::show_tally(@late));
Test::More::is(scalar(grep { $_->{status} != 200 && $_->{status} != 0 } @before), 0,
               'before the kill: accepted, or cut off by it')
    or Test::More::diag(main::show_tally(@before));
Test::More::cmp_ok(scalar @cut, '<=', 4,
                   'at most one request per client was cut off');

# the killed worker's windows are in shared memory; the flush writes them
select undef, undef, undef, 1.5;
my ($sum, $count) = split ' ', main::usage('fltKill001');
Test::More::is($sum, $count, 'the sum is the count of amounts of 1');
Test::More::cmp_ok($count, '>=', scalar @ok,
                   'every accepted amount is in the store');
Test::More::cmp_ok($count, '<=', @ok + @cut,
                   'and nothing more than what was accepted or cut off');

my @new = ApisecTest::worker_pids();
Test::More::is(scalar @new, 2, 'two workers again');
Test::More::ok(!(grep { $_ == $workers[0] } @new), 'the killed one is gone');
@readers = ApisecTest::reader_pids();
Test::More::is(scalar(grep { !kill 0, $_ } @readers), 0,
               'no reader slot of a dead process')
    or Test::More::diag("readers: @readers");
Test::More::ok(!(grep { $_ == $workers[0] } @readers),
               'the killed worker\'s slot was reclaimed');
--- request
GET /api/v1/account
--- error_code: 401
--- response_body chomp
{"code":"key-missing","msg":"The API key is missing."}
--- error_log eval
[qr/\[alert\] .* worker process \d+ exited on signal 9/,
 qr/\[error\] .*apisec: key "-" refused: key-missing/]
--- no_error_log
[emerg]
[crit]
refused: store-unavailable



=== TEST 2: a reload (HUP) under load, twice: not one request fails, the sum is exact
--- init
my @workers = ApisecTest::worker_pids();
my @loads = (
    ApisecTest::load_start(clients => 3,
                           request => main::amount_get('fltHup0001', '0.000000000000000001')),
    ApisecTest::load_start(clients => 2,
                           request => sub { main::read_get('fltHup0002', $_[1]) }),
);
my $n = 0;
for my $round (1, 2) {
    $n += 40;
    Test::More::cmp_ok(ApisecTest::load_wait($loads[0], $n), '>=', $n,
                       "$n amounts before reload $round");
    kill 'HUP', Test::Nginx::Util::get_pid_from_pidfile('');
    # the new workers are up, the old ones gone
    my $end = time + 120;
    my @new;
    while (time < $end) {
        @new = ApisecTest::worker_pids();
        last if @new == 2 && !grep { my $w = $_; grep { $_ == $w } @workers } @new;
        select undef, undef, undef, 0.2;
    }
    Test::More::ok(!(grep { my $w = $_; grep { $_ == $w } @workers } @new),
                   "reload $round: new workers");
    @workers = @new;
}
$n += 40;
Test::More::cmp_ok(ApisecTest::load_wait($loads[0], $n), '>=', $n,
                   "$n amounts, the last after the second reload");
my @amounts = ApisecTest::load_stop($loads[0]);
my @reads = ApisecTest::load_stop($loads[1]);

Test::More::is(main::show_tally(@amounts), '200 ok x' . @amounts,
               'every amount request passes');
Test::More::is(main::show_tally(@reads), '200 ok x' . @reads,
               'every read passes');
select undef, undef, undef, 1;
my $c = grep { $_->{status} == 200 } @amounts;
Test::More::is(main::usage('fltHup0001'),
               (sprintf('0.%018d', $c) =~ s/0+\z//r) . " $c",
               'the store has exactly their sum');
--- request
GET /api/v1/account
--- error_code: 401
--- response_body chomp
{"code":"key-missing","msg":"The API key is missing."}
--- error_log eval
qr/\[error\] .*apisec: key "-" refused: key-missing/
--- no_error_log
[emerg]
[alert]
[crit]



=== TEST 3: apisecctl writes under load: create, set, disable, rotate; no request that should pass fails, a change counts from the next request
--- init
require JSON::PP;
my @l = (
    ApisecTest::load_start(clients => 2,
                           request => sub { main::read_get('fltCtl0001', $_[1]) }),
    ApisecTest::load_start(clients => 1,
                           request => sub { main::read_get('fltCtl0002', $_[1]) }),
    ApisecTest::load_start(clients => 1,
                           request => sub { main::read_get('fltCtl0003', $_[1]) }),
);
ApisecTest::load_wait($_, 10) for @l;

# new keys, used at once; labels changed on the key under load
my @bad;
for my $i (1 .. 20) {
    my $k = JSON::PP::decode_json(ApisecTest::ctl('--json', 'create',
        '--account', 'acct-new', '--perm', 'read,withdraw', '--label', "new $i"));
    $ApisecTest::Secret{$k->{access_key}} = $k->{secret_key};
    ApisecTest::ctl('set', 'fltCtl0001', '--label', "under load $i");
    my ($st, $res) = ApisecTest::send_signed(main::read_get($k->{access_key}, $i));
    push @bad, "new key $i: $st" unless $st == 200;
    ($st) = ApisecTest::send_signed(main::amount_get($k->{access_key}, '1'));
    push @bad, "new key $i, an amount: $st" unless $st == 200;
}
Test::More::is_deeply(\@bad, [], '20 keys created under load pass at once');

my $n2 = ApisecTest::load_wait($l[1], 0);
ApisecTest::load_wait($l[1], $n2 + 10);
my $t_disable = Time::HiRes::time();
ApisecTest::ctl('disable', 'fltCtl0002');
my $t_disabled = Time::HiRes::time();

my $n3 = ApisecTest::load_wait($l[2], 0);
ApisecTest::load_wait($l[2], $n3 + 10);
my $t_rotate = Time::HiRes::time();
my $rot = JSON::PP::decode_json(ApisecTest::ctl('--json', 'rotate', 'fltCtl0003'));
my $t_rotated = Time::HiRes::time();

# 20 answers more for each after the change
for my $i (1, 2) {
    my $n = ApisecTest::load_wait($l[$i], 0);
    ApisecTest::load_wait($l[$i], $n + 20);
}
ApisecTest::load_wait($l[0], ApisecTest::load_wait($l[0], 0) + 20);

my @pass = ApisecTest::load_stop($l[0]);
my @dis = ApisecTest::load_stop($l[1]);
my @rot = ApisecTest::load_stop($l[2]);

Test::More::is(main::show_tally(@pass), '200 ok x' . @pass,
               'the key whose label changed 20 times: every request passes');

Test::More::is(main::show_tally(grep { $_->{t1} < $t_disable } @dis),
               '200 ok x' . (grep { $_->{t1} < $t_disable } @dis),
               'before disable: accepted');
my @d = grep { $_->{t0} > $t_disabled } @dis;
Test::More::cmp_ok(scalar @d, '>=', 20, 'requests after disable');
Test::More::is(main::show_tally(@d), '401 key-disabled x' . @d,
               'after disable: every one refused, key-disabled');
Test::More::is(scalar(grep { "$_->{status} $_->{code}" !~ /^(?:200 ok|401 key-disabled)$/ } @dis),
               0, 'while it ran: one or the other');

Test::More::is(main::show_tally(grep { $_->{t1} < $t_rotate } @rot),
               '200 ok x' . (grep { $_->{t1} < $t_rotate } @rot),
               'before rotate: accepted');
my @o = grep { $_->{t0} > $t_rotated } @rot;
Test::More::cmp_ok(scalar @o, '>=', 20, 'requests with the old secret after rotate');
Test::More::is(main::show_tally(@o), '401 signature-invalid x' . @o,
               'after rotate: the old secret is refused');
Test::More::is(scalar(grep { "$_->{status} $_->{code}" !~ /^(?:200 ok|401 signature-invalid)$/ } @rot),
               0, 'while it ran: one or the other');

$ApisecTest::Secret{fltCtl0003} = $rot->{secret_key};
Test::More::is((ApisecTest::send_signed(main::read_get('fltCtl0003', 0)))[0], 200,
               'the new secret passes');
--- request
GET /api/v1/account
--- error_code: 401
--- response_body chomp
{"code":"key-missing","msg":"The API key is missing."}
--- error_log eval
[qr/\[error\] .*apisec: key "fltCtl0002" refused: key-disabled/,
 qr/\[error\] .*apisec: key "fltCtl0003" refused: signature-invalid/]
--- no_error_log
[alert]
[crit]
refused: store-unavailable
