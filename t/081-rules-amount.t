# Rules, amount: "apisec_rule amount max=DECIMAL [per=TIME] [field=NAME]
# [currency=CODE] [currency_field=NAME] [by=key|account] [action=A]
# [name=N]".  The amount is read from the query, a JSON body's top level or
# a form body, parsed exactly (up to 18 fractional digits) and, with per,
# summed over a sliding window per key or account and currency, this
# request included: over max, 403 rule-blocked (block), an event
# (monitor), or the key locked (lock).  The window is in the store before
# the request goes on, so sums are exact across workers and survive
# reload, restart and a killed worker.  A malformed amount is 400
# amount-invalid; a request refused by a later check does not count.
# Two workers throughout.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Test::More;
use IO::Socket::INET;
use IO::Select;
use ApisecTest;

my $s = 'AmountAmountAmountAmountAmount';

sub k {
    my ($ak, $acct) = @_;
    return { access_key => $ak, account => $acct, secret_key => "$s$ak",
             permissions => ['read', 'trade', 'withdraw'] };
}

ApisecTest::setup(keys => [
    k('amtKey0001', 'acct-amt'),
    k('amtKey0002', 'acct-shared'),
    k('amtKey0003', 'acct-shared'),
    k('amtKey0004', 'acct-other'),
    k('amtKey0005', 'acct-cur'),
    k('amtKey0006', 'acct-mon'),
    k('amtKey0007', 'acct-lock'),
    k('amtKey0008', 'acct-undo'),
    k('amtKey0009', 'acct-race'),
    k('amtKey0010', 'acct-win'),
    k('amtKey0011', 'acct-kill'),
]);

# a signed JSON POST to /withdraw/ by KEY with BODY (and more lines)
sub json {
    my ($key, $body, @more) = @_;

    return join "\n", 'POST /withdraw/v1?recvWindow=60000&timestamp={ts}&signature={sig}',
                      "X-HK-APIKEY: $key", 'Content-Type: application/json',
                      @more, '', $body;
}

# a signed form POST (the body is signed too)
sub form {
    my ($key, $body, @more) = @_;

    return join "\n", 'POST /withdraw/v1?signature={sig}',
                      "X-HK-APIKEY: $key",
                      'Content-Type: application/x-www-form-urlencoded',
                      @more, '', "$body&recvWindow=60000&timestamp={ts}";
}

# a signed GET with the amount in the query
sub query {
    my ($key, $q) = @_;

    return join "\n", "GET /withdraw/v1?$q&recvWindow=60000&timestamp={ts}&signature={sig}",
                      "X-HK-APIKEY: $key";
}

# the statuses of requests sent one after the other
sub statuses {
    return join ' ', map { (ApisecTest::send_signed($_))[0] } @_;
}

# status and error code of one request
sub outcome {
    my ($st, $res) = ApisecTest::send_signed($_[0]);
    my ($code) = $res =~ /"code":"([^"]+)"/;
    return "$st " . ($code // 'ok');
}

# N copies of one signed request on N connections to PORT, all written
# before any answer is read: the statuses, in order
sub concurrent {
    my ($n, $port, $text) = @_;

    my ($req, $hdr) = ApisecTest::signed_request($text);
    my $bytes = ApisecTest::raw_request($req, $hdr);

    my @socks = map {
        IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                              Timeout => 10)
            or die "connect to $port: $!"
    } 1 .. $n;

    print $_ $bytes for @socks;

    my @st;

    for my $sock (@socks) {
        my $res = do { local $/; <$sock> } // '';
        close $sock;
        push @st, ($res =~ m{^HTTP/1\.[01] (\d+) })[0] // 0;
    }

    return @st;
}

# the rows of "apisecctl --json usage KEY"
sub usage {
    require JSON::PP;
    return map { JSON::PP::decode_json($_) }
           split /\n/, ApisecTest::ctl('--json', 'usage', $_[0]);
}


$ENV{TEST_NGINX_APISEC_PORT2} = ($ENV{TEST_NGINX_SERVER_PORT} || 1984) + 2;


master_on();
workers(2);
worker_connections(1024);
no_shuffle();
my $flush = ApisecTest::flush_every('300ms');
add_block_preprocessor(sub { $flush->(@_) });
run_tests();

__DATA__

=== TEST 1: without per, one request's amount: up to max passes (JSON, form, query), above is 403 rule-blocked
--- config
    location /withdraw/ {
        apisec on;
        apisec_permission withdraw;
        apisec_rule amount max=10.5;
        add_header X-Amount $apisec_amount always;
        proxy_pass http://apisec_backend;
    }
--- init
Test::More::is(main::outcome(main::json('amtKey0001', '{"amount":"10.5"}')),
               '200 ok', 'a JSON string at max passes');
Test::More::is(main::outcome(main::json('amtKey0001', '{"amount":10.499999999999999999}')),
               '200 ok', 'a JSON number below max passes');
Test::More::is(main::outcome(main::form('amtKey0001', 'amount=3&currency=BTC')),
               '200 ok', 'a form body passes');
Test::More::is(main::outcome(main::query('amtKey0001', 'amount=0')),
               '200 ok', 'zero in the query passes');
Test::More::is(main::outcome(main::json('amtKey0001', '{"amount":"10.500000000000000001"}')),
               '403 rule-blocked', 'one unit of 10^-18 above max is refused');
--- apisec_request
POST /withdraw/v1?recvWindow=60000&timestamp={ts}&signature={sig}
X-HK-APIKEY: amtKey0001
Content-Type: application/json

{"asset":"BTC","amount":"11"}
--- error_code: 403
--- response_headers
X-Amount: 11
--- response_body chomp
{"code":"rule-blocked","msg":"The request was blocked by a risk rule."}
--- error_log eval
qr/\[error\] .*apisec: key "amtKey0001" refused: rule-blocked, rule "amount1" \(amount\): 11 \(currency \) over max 10\.5/
--- no_error_log
[alert]



=== TEST 2: every malformed amount is 400 amount-invalid, and counts nothing
--- config
    location /withdraw/ {
        apisec on;
        apisec_rule amount max=100 per=1h;
        proxy_pass http://apisec_backend;
    }
--- init
my @bad = (
    [json => '{"amount":"-1"}'], [json => '{"amount":-1}'],
    [json => '{"amount":"1e5"}'], [json => '{"amount":1e5}'],
    [json => '{"amount":"0x10"}'], [json => '{"amount":"NaN"}'],
    [json => '{"amount":" 1"}'], [json => '{"amount":"1 "}'],
    [json => '{"amount":"1."}'], [json => '{"amount":".5"}'],
    [json => '{"amount":"+1"}'], [json => '{"amount":"007"}'],
    [json => "{\"amount\":\"\xef\xbc\x91\"}"],
    [json => "{\"amount\":\"\xd9\xa1\"}"],
    [json => '{"amount":"1.0000000000000000001"}'],
    [json => '{"amount":"123456789012345678901"}'],
    [json => '{"amount":""}'], [json => '{"amount":true}'],
    [json => '{"amount":null}'], [json => '{"amount":["1"]}'],
    [json => '{"amount":{"v":1}}'], [json => '{"amount":"1,5"}'],
    [json => '{"other":"1"}'], [json => '{"amount":"1","amount":"2"}'],
    [json => '{"amount":"1","\u0061mount":"2"}'],
    [json => '{"amount":"1"'], [json => '{"amount":"1"} x'],
    [json => '["amount","1"]'], [json => 'amount=1'],
    [form => 'amount=%2D1'],
    [form => 'amount=1%'], [form => 'amount=1%00'],
    [form => 'amount=1+'],
    [query => 'amount=-5'],
);

my @got;

for my $b (@bad) {
    my ($kind, $v) = @$b;
    my $req = $kind eq 'json' ? main::json('amtKey0010', $v)
            : $kind eq 'form' ? main::form('amtKey0010', $v)
            : main::query('amtKey0010', $v);
    my $o = main::outcome($req);
    push @got, "$kind $v: $o" unless $o eq '400 amount-invalid';
}

Test::More::is_deeply(\@got, [], 'every malformed amount is refused')
    or Test::More::diag(join "\n", @got);

# a parameter given twice in the query or a form: the scheme refuses it
# first (hashkey signs the parameters, and a duplicate is ambiguous)
Test::More::is(main::outcome(main::form('amtKey0010', 'amount=1&amount=2')),
               '400 request-malformed', 'twice in a form body');
Test::More::is(main::outcome(main::query('amtKey0010', 'amount=1&amount=1')),
               '400 request-malformed', 'twice in the query');

# in the query and in the body: given twice
Test::More::is(main::outcome(join "\n",
    'POST /withdraw/v1?amount=1&timestamp={ts}&signature={sig}',
    'X-HK-APIKEY: amtKey0010', 'Content-Type: application/json', '',
    '{"amount":"1"}'), '400 amount-invalid', 'in the query and the body');

# a body that is neither JSON nor a form
Test::More::is(main::outcome(join "\n",
    'POST /withdraw/v1?amount=1&timestamp={ts}&signature={sig}',
    'X-HK-APIKEY: amtKey0010', 'Content-Type: text/plain', '', 'amount=1'),
    '400 amount-invalid', 'a text/plain body');

Test::More::is(scalar(main::usage('amtKey0010')), 0, 'nothing was counted');
--- apisec_request
POST /withdraw/v1?recvWindow=60000&timestamp={ts}&signature={sig}
X-HK-APIKEY: amtKey0010
Content-Type: application/json

{"amount":"-0.5"}
--- error_code: 400
--- response_body chomp
{"code":"amount-invalid","msg":"The amount is missing or malformed."}
--- error_log eval
qr/\[error\] .*apisec: key "amtKey0010" refused: amount-invalid, the amount is not a decimal/
--- no_error_log
[alert]



=== TEST 3: per: the sum over the window, this request included, exactly up to max; the window slides
--- config
    location /withdraw/ {
        apisec on;
        apisec_rule amount max=10 per=3s name=short;
        proxy_pass http://apisec_backend;
    }
--- init
Test::More::is(main::statuses(main::json('amtKey0010', '{"amount":"6"}'),
                              main::json('amtKey0010', '{"amount":"4"}'),
                              main::json('amtKey0010', '{"amount":"0.000000000000000001"}')),
               '200 200 403', '6 + 4 = 10 passes, one unit more does not');
my ($u) = main::usage('amtKey0010');
Test::More::is("$u->{rule} $u->{by} $u->{sum} $u->{count}", 'short@/withdraw/ key 10 2',
               'apisecctl usage: the sum and the count');
# the window slides: after 3 s (at most one bucket more), the sums are gone
select undef, undef, undef, 4.5;
--- apisec_request
POST /withdraw/v1?recvWindow=60000&timestamp={ts}&signature={sig}
X-HK-APIKEY: amtKey0010
Content-Type: application/json

{"amount":"10"}
--- error_code: 200
--- no_error_log
[alert]



=== TEST 4: the done-when: max=10000 per=24h, 200 concurrent requests of 100.000000000000000001 over two workers: exactly 99 pass
--- http_config
    log_format apisec_amt '$pid $status $apisec_error $apisec_amount';

    server {
        listen 127.0.0.1:$TEST_NGINX_APISEC_PORT2 reuseport;
        access_log $TEST_NGINX_APISEC_DIR/race.log apisec_amt;

        location /withdraw/ {
            apisec on;
            apisec_permission withdraw;
            apisec_rule amount max=10000 per=24h action=block name=daily;
            proxy_pass http://apisec_backend;
        }
    }
--- config
    location /t {
        return 200 "ok\n";
    }
--- init
my @st = main::concurrent(200, $ENV{TEST_NGINX_APISEC_PORT2},
    main::json('amtKey0009', '{"amount":"100.000000000000000001","currency":"USDT"}'));
my %n;
$n{$_}++ for @st;
Test::More::is($n{200}, 99, '99 pass');
Test::More::is($n{403}, 101, 'the 100th and later are refused');
my ($u) = main::usage('amtKey0009');
Test::More::is("$u->{currency} $u->{sum} $u->{count}",
               'USDT 9900.000000000000000099 99', 'the store has the exact sum');
select undef, undef, undef, 0.5;
open my $fh, '<', "$ApisecTest::Dir/race.log" or die $!;
# Which worker passes how many depends on the scheduling (a worker that
# runs first can take all 99): what the test needs is that both served
# the requests, each seeing the other's sum.
my (%pids, $logged);
while (<$fh>) { my ($pid, $st) = split; $pids{$pid}++; $logged++ }
Test::More::is($logged, 200, 'every request is logged');
Test::More::cmp_ok(scalar(keys %pids), '==', 2, 'both workers served some')
    or Test::More::diag(join ' ', %pids);
--- request
GET /t
--- error_code: 200



=== TEST 5: after a restart the next one is still refused (and a reload keeps the sum too)
--- http_config
    server {
        listen 127.0.0.1:$TEST_NGINX_APISEC_PORT2 reuseport;

        location /withdraw/ {
            apisec on;
            apisec_permission withdraw;
            apisec_rule amount max=10000 per=24h action=block name=daily;
            proxy_pass http://apisec_backend;
        }
    }
--- config
    location /withdraw/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_APISEC_PORT2;
    }
--- init
Test::More::is(main::outcome(main::json('amtKey0009', '{"amount":"99.999999999999999901","currency":"USDT"}')),
               '200 ok', 'up to the limit exactly, after the restart');
kill 'HUP', Test::Nginx::Util::get_pid_from_pidfile('');
select undef, undef, undef, 1.5;
--- apisec_request
POST /withdraw/v1?recvWindow=60000&timestamp={ts}&signature={sig}
X-HK-APIKEY: amtKey0009
Content-Type: application/json

{"amount":"0.000000000000000001","currency":"usdt"}
--- error_code: 403
--- error_log eval
qr/refused: rule-blocked, rule "daily" \(amount\): 0\.000000000000000001 \(currency USDT\) over max 10000, 10000 before in 86400 s/



=== TEST 6: currencies: summed apart; currency=CODE limits the rule to one (and a request without a currency counts as it)
--- config
    location /withdraw/ {
        apisec on;
        apisec_rule amount max=1 per=1h name=all;
        apisec_rule amount max=1 per=1h currency=eth name=eth;
        proxy_pass http://apisec_backend;
    }
--- init
Test::More::is(main::statuses(
    main::json('amtKey0005', '{"amount":"1","currency":"BTC"}'),
    main::json('amtKey0005', '{"amount":"1","currency":"ETH"}'),
    main::json('amtKey0005', '{"amount":"0.1","currency":"btc"}'),
    main::json('amtKey0005', '{"amount":"1","currency":"SOL"}')),
    '200 200 403 200', 'rule "all": each currency its own sum');
my %u = map { ("$_->{rule} $_->{currency}" => "$_->{sum} $_->{count}") }
        main::usage('amtKey0005');
Test::More::is_deeply(\%u, { 'all@/withdraw/ BTC' => '1 1',
                             'all@/withdraw/ ETH' => '1 1',
                             'all@/withdraw/ SOL' => '1 1',
                             'eth@/withdraw/ ETH' => '1 1' },
                      'the windows in the store')
    or Test::More::diag(Test::More::explain(\%u));
--- apisec_request
POST /withdraw/v1?recvWindow=60000&timestamp={ts}&signature={sig}
X-HK-APIKEY: amtKey0005
Content-Type: application/json

{"amount":"0.5"}
--- error_code: 403
--- error_log eval
qr/rule "eth" \(amount\): 0\.5 \(currency ETH\) over max 1, 1 before/



=== TEST 7: by=account: two keys of one account share a sum; another account does not
--- config
    location /withdraw/ {
        apisec on;
        apisec_rule amount max=10 per=1h by=account field=qty currency_field=coin name=acct;
        proxy_pass http://apisec_backend;
    }
--- init
Test::More::is(main::statuses(
    main::form('amtKey0002', 'qty=6&coin=USDT'),
    main::form('amtKey0004', 'qty=10&coin=USDT')),
    '200 200', 'key 2 (acct-shared) 6, key 4 (acct-other) 10');
my ($u) = grep { $_->{by} eq 'account' } main::usage('amtKey0003');
Test::More::is("$u->{sum} $u->{count}", '6 1', 'key 3 sees its account\'s sum');
--- apisec_request
POST /withdraw/v1?signature={sig}
X-HK-APIKEY: amtKey0003
Content-Type: application/x-www-form-urlencoded

qty=4.000000000000000001&coin=USDT&recvWindow=60000&timestamp={ts}
--- error_code: 403
--- error_log eval
qr/key "amtKey0003" refused: rule-blocked, rule "acct" \(amount\)/



=== TEST 8: monitor: over max passes, with the rule in $apisec_rule, a rule.monitor event, and it counts
--- config
    location /withdraw/ {
        apisec on;
        apisec_rule amount max=100 per=1h action=monitor name=large;
        add_header X-Rule $apisec_rule always;
        proxy_pass http://apisec_backend;
    }
--- init
Test::More::is(main::statuses(main::json('amtKey0006', '{"amount":"80","currency":"BTC","address":"bc1q"}')),
               '200', 'below max');
--- apisec_request
POST /withdraw/v1?recvWindow=60000&timestamp={ts}&signature={sig}
X-HK-APIKEY: amtKey0006
Content-Type: application/json

{"amount":"30","currency":"BTC"}
--- error_code: 200
--- response_headers
X-Rule: large
--- error_log eval
qr/\[warn\] .*apisec: key "amtKey0006": rule "large" \(amount\) matched, monitor only: 30 \(currency BTC\) over max 100, 80 before in 3600 s/
--- wait: 1



=== TEST 9: the rule.monitor event of TEST 8 is in the store, and the window has both amounts
--- config
    location /t {
        return 200 "ok\n";
    }
--- init
my @ev = ApisecTest::events('amtKey0006', 'rule.monitor');
Test::More::is(scalar(@ev), 1, 'one event');
Test::More::is(join(' ', map { $ev[0]{$_} } qw(rule rule_type amount currency max window_sum account)),
               'large amount 30 BTC 100 80 acct-mon', 'its fields');
my ($u) = main::usage('amtKey0006');
Test::More::is("$u->{sum} $u->{count}", '110 2', 'both counted');
--- request
GET /t
--- error_code: 200



=== TEST 10: lock: over max, refused and the key locked; apisecctl unlock makes it active again
--- config
    location /withdraw/ {
        apisec on;
        apisec_rule amount max=1 action=lock name=hard;
        proxy_pass http://apisec_backend;
    }
--- init
Test::More::is(main::outcome(main::json('amtKey0007', '{"amount":"2"}')),
               '403 rule-blocked', 'over max: refused');
Test::More::is(main::outcome(main::json('amtKey0007', '{"amount":"1"}')),
               '401 key-locked', 'then the key is locked, on every worker');
select undef, undef, undef, 1;
Test::More::like(ApisecTest::ctl('show', 'amtKey0007'), qr/status: locked/,
                 'the store has it after the flush');
Test::More::like(ApisecTest::ctl('unlock', 'amtKey0007'),
                 qr/key amtKey0007 unlocked/, 'apisecctl unlock');
Test::More::ok(!eval { ApisecTest::ctl('unlock', 'amtKey0001'); 1 }
               && $@ =~ /key amtKey0001 is not locked \(it is active\)/,
               'unlock of a key that is not locked: an error');
--- apisec_request
POST /withdraw/v1?recvWindow=60000&timestamp={ts}&signature={sig}
X-HK-APIKEY: amtKey0007
Content-Type: application/json

{"amount":"1"}
--- error_code: 200
--- no_error_log
[alert]



=== TEST 11: a request refused by a later check (a replayed signature) does not count
--- config
    location /withdraw/ {
        apisec on;
        apisec_replay_guard on;
        apisec_rule amount max=10 per=1h name=undo;
        proxy_pass http://apisec_backend;
    }
--- apisec_request
POST /withdraw/v1?recvWindow=60000&timestamp={ts}&signature={sig}
X-HK-APIKEY: amtKey0008
Content-Type: application/json
@repeat: 3

{"amount":"4"}
--- error_code eval
[200, 401, 401]
--- response_body_like eval
[qr/acct-undo/, qr/signature-replayed/, qr/signature-replayed/]



=== TEST 12: ... so 6 more still pass, and then nothing
--- config
    location /withdraw/ {
        apisec on;
        apisec_replay_guard on;
        apisec_rule amount max=10 per=1h name=undo;
        proxy_pass http://apisec_backend;
    }
--- init
Test::More::is(main::statuses(main::json('amtKey0008', '{"amount":"6"}')), '200',
               'the replays took nothing');
--- apisec_request
POST /withdraw/v1?recvWindow=60000&timestamp={ts}&signature={sig}
X-HK-APIKEY: amtKey0008
Content-Type: application/json

{"amount":"0.1"}
--- error_code: 403



=== TEST 13: a body in a temporary file is read (client_body_buffer_size 1k, a 20k JSON body with the amount last)
--- config
    location /withdraw/ {
        apisec on;
        client_body_buffer_size 1k;
        apisec_rule amount max=5;
        proxy_pass http://apisec_backend;
    }
--- apisec_request
POST /withdraw/v1?recvWindow=60000&timestamp={ts}&signature={sig}
X-HK-APIKEY: amtKey0001
Content-Type: application/json

{"memo":"{rep:20000:x}","amount":"6"}
--- error_code: 403
--- error_log eval
qr/rule "amount1" \(amount\): 6 \(currency \) over max 5/



=== TEST 14: a worker killed right after accepting: the sum is in the store and shared memory, the next worker refuses over max
--- config
    location /withdraw/ {
        apisec on;
        apisec_rule amount max=10 per=1h name=kill;
        proxy_pass http://apisec_backend;
    }
--- init
Test::More::is(main::statuses(main::json('amtKey0011', '{"amount":"9"}')), '200', '9 passes');
my $master = Test::Nginx::Util::get_pid_from_pidfile('');
my @workers = grep { /\d/ } split /\s+/, `pgrep -P $master`;
kill 'KILL', @workers;
select undef, undef, undef, 1;
my ($u) = main::usage('amtKey0011');
Test::More::is("$u->{sum} $u->{count}", '9 1', 'the store has it');
--- apisec_request
POST /withdraw/v1?recvWindow=60000&timestamp={ts}&signature={sig}
X-HK-APIKEY: amtKey0011
Content-Type: application/json

{"amount":"1.000000000000000001"}
--- error_code: 403
