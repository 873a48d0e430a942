# Webhooks: "apisec_webhook URL [secret=FILE] [events=LIST] [name=NAME]
# [max_backoff=TIME]".  nginx itself POSTs every event of the store's log
# to each subscriber, from its event loop, in order, signed with
# X-Apisec-Signature = hex HMAC-SHA256(secret, timestamp + "." + body),
# and tries again with a growing backoff until a 2xx; the cursor is kept
# in shared memory and in the store, so nothing is lost or skipped across
# a reload or a restart.  A real receiver on loopback (t/lib/receiver.pl)
# takes the requests.  Two workers; one of them at a time delivers.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Test::More;
use IO::Socket::INET;
use Digest::SHA qw(hmac_sha256_hex);
use ApisecTest;

my $s = 'WebhookWebhookWebhookWebhookKey';

ApisecTest::setup(keys => [
    map { { access_key => $_, account => "acct-$_", secret_key => "$s$_",
            permissions => ['read', 'withdraw'] } }
        qw(whKey00001 whKey00002 whKey00003 whKey00004 whKey00005)
]);

my $dir = $ApisecTest::Dir;
my $secret = 'the-subscriber-secret';

open my $fh, '>', "$dir/hook.secret" or die $!;
print $fh "$secret\n";
close $fh;

our $Port = ($ENV{TEST_NGINX_SERVER_PORT} || 1984) + 3;    # and + 4, + 5
our $Log = "$dir/received.log";
our $Label = "http://127.0.0.1:$Port";

$ENV{TEST_NGINX_APISEC_HOOK_PORT} = $Port;

# a signed withdrawal by KEY of AMOUNT (JSON body)
sub withdrawal {
    my ($key, $amount) = @_;

    return join "\n", 'POST /withdraw/v1?recvWindow=60000&timestamp={ts}&signature={sig}',
                      "X-HK-APIKEY: $key", 'Content-Type: application/json',
                      '', qq({"amount":"$amount","currency":"BTC","address":"bc1qhook"});
}

# N copies of one signed request, C connections at a time: the statuses
sub many {
    my ($n, $c, $text) = @_;

    my ($req, $hdr) = ApisecTest::signed_request($text);
    my $bytes = ApisecTest::raw_request($req, $hdr);
    my $port = $ENV{TEST_NGINX_SERVER_PORT} || 1984;
    my %st;

    while ($n > 0) {
        my $k = $n < $c ? $n : $c;
        my @socks = map {
            IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Timeout => 10) or die "connect: $!"
        } 1 .. $k;
        print $_ $bytes for @socks;
        for my $sock (@socks) {
            my $res = do { local $/; <$sock> } // '';
            $st{($res =~ m{^HTTP/1\.[01] (\d+) })[0] // 0}++;
        }
        $n -= $k;
    }

    return join ' ', map { "$_ x$st{$_}" } sort keys %st;
}

# the requests the receiver took at PATH for KEY's events, decoded
sub hooks_of {
    my ($key, $path, @rec) = @_;

    require JSON::PP;

    return map { $_->{event} = JSON::PP::decode_json($_->{body}); $_ }
           grep { $_->{path} eq $path && $_->{body} =~ /"access_key":"\Q$key\E"/ }
           @rec;
}

sub verified {
    my ($r) = @_;

    return defined $r->{sig}
           && hmac_sha256_hex("$r->{ts}.$r->{body}", $secret) eq $r->{sig};
}

# a certificate for localhost, and one for another host (self-signed)
for my $cn (qw(localhost other.example)) {
    system("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=$cn "
           . "-addext subjectAltName=DNS:$cn -keyout $dir/$cn.key "
           . "-out $dir/$cn.crt 2>/dev/null") == 0
        or die "openssl req failed\n";
}

our $Tls = $Port + 1;
our $Tls2 = $Port + 2;

# nginx's own TLS in front of the receiver, for the https subscribers
our $TlsServers = <<"END";
    server {
        listen 127.0.0.1:$Tls ssl;
        ssl_certificate $dir/localhost.crt;
        ssl_certificate_key $dir/localhost.key;
        location / { proxy_pass http://127.0.0.1:$Port; }
    }
    server {
        listen 127.0.0.1:$Tls2 ssl;
        ssl_certificate $dir/other.example.crt;
        ssl_certificate_key $dir/other.example.key;
        location / { proxy_pass http://127.0.0.1:$Port; }
    }
END

our $Hooks = <<"END";
    apisec_webhook http://127.0.0.1:$Port/hook secret=$dir/hook.secret max_backoff=500ms;
    apisec_webhook http://127.0.0.1:$Port/locks name=locks events=key.locked,rule.block secret=$dir/hook.secret;
END


# the locations of every block but one
our $Config = <<'END';
    location /withdraw/ {
        apisec on;
        apisec_permission withdraw;
        proxy_pass http://apisec_backend;
    }
    location = /status {
        apisec_status;
    }
    location /t {
        return 200 "ok\n";
    }
END


master_on();
workers(2);
worker_connections(1024);
no_shuffle();
my $flush = ApisecTest::flush_every('300ms');
add_block_preprocessor(sub {
    my ($block) = @_;
    $block->set_value('http_config', $Hooks . ($block->http_config // ''));
    $block->set_value('config', $Config) unless defined $block->config;
    $flush->($block);
});
run_tests();

__DATA__

=== TEST 1: each withdrawal is delivered once, in order, as the store has it, signed with the subscriber's secret; a subscriber of other types gets none
--- init
$main::Recv = ApisecTest::receiver_start($main::Port, $main::Log);
my @st = map { (ApisecTest::send_signed(main::withdrawal('whKey00001', $_)))[0] }
    qw(1.5 2.25 3);
Test::More::is("@st", '200 200 200', 'three withdrawals accepted');
Test::More::ok(ApisecTest::wait_received($main::Log, 20,
    sub { (() = main::hooks_of('whKey00001', '/hook', @_)) >= 3 }), 'delivered');
my @h = main::hooks_of('whKey00001', '/hook', ApisecTest::received($main::Log));
Test::More::is(scalar(@h), 3, 'each once');
Test::More::is(join(' ', map { $_->{event}{amount} } @h), '1.5 2.25 3', 'in order');
Test::More::is(join(' ', map { $_->{event}{type} } @h),
               'withdrawal.requested withdrawal.requested withdrawal.requested', 'the type');
Test::More::is(join(' ', map { $_->{event}{currency} . ':' . $_->{event}{address} } @h),
               'BTC:bc1qhook BTC:bc1qhook BTC:bc1qhook', 'currency and address');
Test::More::is($h[0]{event}{account}, 'acct-whKey00001', 'the account');
Test::More::ok((!grep { $_->{id} ne $_->{event}{seq} } @h), 'X-Apisec-Event-Id is the sequence number');
Test::More::ok($h[0]{event}{seq} < $h[1]{event}{seq} && $h[1]{event}{seq} < $h[2]{event}{seq},
               'growing sequence numbers');
Test::More::ok((!grep { !main::verified($_) } @h), 'every signature verifies with the secret');
Test::More::ok((!grep { Digest::SHA::hmac_sha256_hex("$_->{ts}.$_->{body}", 'another') eq $_->{sig} } @h),
               'and not with another');
Test::More::ok((!grep { abs($_->{ts} - time) > 60 } @h), 'X-Apisec-Timestamp is now');
Test::More::is(join(' ', map { "$_->{method} $_->{type} $_->{ua}" } $h[0]),
               'POST application/json apisec', 'a JSON POST');
Test::More::like($h[0]{log}, qr/^[0-9a-f]{32}$/, 'X-Apisec-Log-Id: the log\'s id');
Test::More::ok((!grep { $_->{log} ne $h[0]{log} } @h), 'the same for every event');
my @e = ApisecTest::events('whKey00001', 'withdrawal.requested');
Test::More::is(scalar(@e), 3, 'the store has the three events');
Test::More::is($h[2]{event}{seq}, $e[2]{seq}, 'the same events');
Test::More::is(scalar(main::hooks_of('whKey00001', '/locks', ApisecTest::received($main::Log))), 0,
               'the subscriber of key.locked and rule.block got none');
# its cursor passes the events it does not take at its own next look,
# which may come after the other subscriber's deliveries (under valgrind)
for (1 .. 100) {
    my (undef, $res) = ApisecTest::send_raw('GET /status');
    last if $res =~ /^apisec_webhook_backlog_events\{subscriber="locks"\} 0\r?$/m;
    select undef, undef, undef, 0.2;
}
--- request
GET /status
--- error_code: 200
--- response_body_like eval
[qr/^apisec_webhook_backlog_events\{subscriber="locks"\} 0$/m,
 qr/^apisec_webhook_delivered_total\{subscriber="http:\/\/127\.0\.0\.1:\d+"\} [3-9]$/m]
--- no_error_log
[crit]
[emerg]



=== TEST 2: the receiver answers 503: the same event again, with a growing backoff, until a 2xx; counted as failures
--- init
open my $fh, '>', "$main::Log.status" or die $!;
print $fh "503\n";
close $fh;
Test::More::is((ApisecTest::send_signed(main::withdrawal('whKey00002', '7')))[0], 200, 'accepted');
Test::More::ok(ApisecTest::wait_received($main::Log, 20,
    sub { (grep { $_->{status} == 503 } main::hooks_of('whKey00002', '/hook', @_)) >= 3 }),
    'tried three times');
unlink "$main::Log.status";
Test::More::ok(ApisecTest::wait_received($main::Log, 20,
    sub { (grep { $_->{status} == 200 } main::hooks_of('whKey00002', '/hook', @_)) > 0 }),
    'then acknowledged');
my @h = main::hooks_of('whKey00002', '/hook', ApisecTest::received($main::Log));
my %ids = map { $_->{id} => 1 } @h;
Test::More::is(scalar(keys %ids), 1, 'always the same event');
Test::More::is($h[-1]{status}, 200, 'the last attempt acknowledged');
Test::More::ok((!grep { !main::verified($_) } @h), 'each attempt signed');
select undef, undef, undef, 1.5;
Test::More::is(scalar(main::hooks_of('whKey00002', '/hook', ApisecTest::received($main::Log))),
               scalar(@h), 'not sent again once acknowledged');
--- request
GET /status
--- error_code: 200
--- response_body_like eval
qr/^apisec_webhook_failures_total\{subscriber="http:\/\/127\.0\.0\.1:\d+"\} [1-9]\d*$/m
--- error_log eval
qr/\[warn\] .*apisec: webhook "http:\/\/127\.0\.0\.1:\d+": event \d+ not delivered: the answer is 503; again in \d+ ms/



=== TEST 3: the done-when, first half: the receiver stopped, 1000 withdrawals are accepted (and nginx restarts after this block)
--- init
ApisecTest::receiver_stop($main::Recv);
Test::More::is(main::many(1000, 50, main::withdrawal('whKey00003', '0.001')), '200 x1000',
               '1000 withdrawals accepted');
select undef, undef, undef, 1.5;
--- request
GET /t
--- error_code: 200
--- error_log eval
qr/\[warn\] .*apisec: webhook "http:\/\/127\.0\.0\.1:\d+": event \d+ not delivered: cannot connect; again in \d+ ms/
--- no_error_log
[crit]
[emerg]



=== TEST 4: the done-when, second half: after the restart the receiver comes back and gets all 1000, in order, each verifiable
--- init
my @e = ApisecTest::events('whKey00003', 'withdrawal.requested');
Test::More::is(scalar(@e), 1000, 'the store has the 1000 events');
$main::Recv = ApisecTest::receiver_start($main::Port, $main::Log);
Test::More::ok(ApisecTest::wait_received($main::Log, 90, sub {
    my %id = map { $_->{id} => 1 } grep { $_->{status} == 200 }
             main::hooks_of('whKey00003', '/hook', @_);
    keys(%id) >= 1000 }), 'delivered');
my @h = grep { $_->{status} == 200 }
        main::hooks_of('whKey00003', '/hook', ApisecTest::received($main::Log));
my %id = map { $_->{id} => 1 } @h;
Test::More::is(scalar(keys %id), 1000, 'all 1000 events');
Test::More::is(join(',', sort { $a <=> $b } keys %id), join(',', map { $_->{seq} } @e),
               'exactly those of the store');
my $order = 1;
for my $i (1 .. $#h) { $order = 0 if $h[$i]{id} < $h[$i - 1]{id} }
Test::More::ok($order, 'in order');
Test::More::ok(@h <= 1002, 'none twice, but for an attempt a restart cut short')
    or Test::More::diag(scalar(@h) . ' requests');
Test::More::ok((!grep { !main::verified($_) } @h), 'each verifiable with the shared secret');
Test::More::is(scalar(grep { $_->{event}{type} ne 'withdrawal.requested' } @h), 0,
               'all withdrawal.requested');
--- request
GET /t
--- error_code: 200
--- no_error_log
[crit]
[emerg]



=== TEST 5: a reload in the middle: events recorded before it, while the receiver is down, are all delivered after it
--- init
ApisecTest::receiver_stop($main::Recv);
Test::More::is(main::many(50, 25, main::withdrawal('whKey00004', '5')), '200 x50', '50 accepted');
kill 'HUP', Test::Nginx::Util::get_pid_from_pidfile('');
select undef, undef, undef, 1.5;
Test::More::is(main::many(10, 10, main::withdrawal('whKey00004', '6')), '200 x10',
               '10 more after the reload');
$main::Recv = ApisecTest::receiver_start($main::Port, $main::Log);
Test::More::ok(ApisecTest::wait_received($main::Log, 30, sub {
    my %id = map { $_->{id} => 1 } grep { $_->{status} == 200 }
             main::hooks_of('whKey00004', '/hook', @_);
    keys(%id) >= 60 }), 'all 60 delivered');
my @h = grep { $_->{status} == 200 }
        main::hooks_of('whKey00004', '/hook', ApisecTest::received($main::Log));
my $order = 1;
for my $i (1 .. $#h) { $order = 0 if $h[$i]{id} < $h[$i - 1]{id} }
Test::More::ok($order, 'in order across the reload');
Test::More::is(join(' ', map { $_->{event}{amount} } @h[0, 49, 50, 59]), '5 5 6 6',
               'the ones before the reload first');
--- request
GET /t
--- error_code: 200
--- no_error_log
[crit]
[emerg]



=== TEST 6: events= filters: a rule.block reaches the subscriber of key.locked,rule.block; the other subscriber gets it too
--- config
    location /withdraw/ {
        apisec on;
        apisec_permission withdraw;
        apisec_rule amount max=1 name=small;
        proxy_pass http://apisec_backend;
    }
    location /t {
        return 200 "ok\n";
    }
--- init
Test::More::is((ApisecTest::send_signed(main::withdrawal('whKey00005', '2')))[0], 403, 'blocked');
Test::More::ok(ApisecTest::wait_received($main::Log, 20, sub {
    (() = main::hooks_of('whKey00005', '/locks', @_)) >= 1
    && (() = main::hooks_of('whKey00005', '/hook', @_)) >= 1 }),
    'delivered to both');
my @l = main::hooks_of('whKey00005', '/locks', ApisecTest::received($main::Log));
Test::More::is(join(' ', map { $_->{event}{type} } @l), 'rule.block', 'only the rule.block');
Test::More::is($l[0]{event}{rule}, 'small', 'the rule');
Test::More::ok(main::verified($l[0]), 'signed with its own secret');
--- request
GET /t
--- error_code: 200



=== TEST 7: https: a subscriber whose certificate verifies (ca=) gets its events; one whose certificate is for another host gets none
--- http_config eval
$main::TlsServers . <<"END"
    apisec_webhook https://localhost:$main::Tls/tls name=tls secret=$ApisecTest::Dir/hook.secret ca=$ApisecTest::Dir/localhost.crt max_backoff=500ms;
    apisec_webhook https://localhost:$main::Tls2/wrong name=wrong secret=$ApisecTest::Dir/hook.secret ca=$ApisecTest::Dir/other.example.crt max_backoff=500ms;
END
--- init
Test::More::is((ApisecTest::send_signed(main::withdrawal('whKey00005', '8')))[0], 200, 'accepted');
Test::More::ok(ApisecTest::wait_received($main::Log, 20, sub {
    (() = main::hooks_of('whKey00005', '/tls', @_)) >= 1 }), 'delivered over TLS');
my @t = main::hooks_of('whKey00005', '/tls', ApisecTest::received($main::Log));
Test::More::is($t[0]{event}{amount}, '8', 'the event');
Test::More::ok(main::verified($t[0]), 'signed');
select undef, undef, undef, 1;
Test::More::is(scalar(main::hooks_of('whKey00005', '/wrong', ApisecTest::received($main::Log))), 0,
               'nothing to the host whose certificate is for another');
--- request
GET /status
--- error_code: 200
--- response_body_like eval
[qr/^apisec_webhook_delivered_total\{subscriber="tls"\} 1$/m,
 qr/^apisec_webhook_failures_total\{subscriber="wrong"\} [1-9]\d*$/m,
 qr/^apisec_webhook_backlog_events\{subscriber="wrong"\} [1-9]\d*$/m]
--- error_log eval
qr/\[warn\] .*apisec: webhook "wrong": event \d+ not delivered: the certificate is not for the host/



=== TEST 8: every worker killed (SIGKILL) while events wait: the new workers take the lease over and deliver them all
--- init
ApisecTest::receiver_stop($main::Recv);
Test::More::is(main::many(20, 20, main::withdrawal('whKey00002', '9')), '200 x20', '20 accepted');
select undef, undef, undef, 1;
my @e = ApisecTest::events('whKey00002', 'withdrawal.requested');
Test::More::is(scalar(grep { $_->{amount} eq '9' } @e), 20, 'in the store');
my $master = Test::Nginx::Util::get_pid_from_pidfile('');
my @workers = grep { /^\d+$/ } split /\s+/, `pgrep -P $master`;
Test::More::cmp_ok(scalar(@workers), '>=', 2, 'two workers');
kill 'KILL', @workers;
select undef, undef, undef, 1;
$main::Recv = ApisecTest::receiver_start($main::Port, $main::Log);
Test::More::ok(ApisecTest::wait_received($main::Log, 40, sub {
    my %id = map { $_->{id} => 1 } grep { $_->{status} == 200 && $_->{event}{amount} eq '9' }
             main::hooks_of('whKey00002', '/hook', @_);
    keys(%id) >= 20 }), 'all 20 delivered');
--- request
GET /t
--- error_code: 200
--- error_log eval
qr/exited on signal 9/
