# Metrics: "apisec_status" in a location serves Prometheus text: requests
# by result code, rule hits by rule and action, keys by status, the
# store's map, the flush's age, the event log and the webhooks.  The
# counters live in shared memory (every worker counts into them); the
# scrape is parsed line by line here.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Test::More;
use ApisecTest;

my $s = 'StatusStatusStatusStatusStatus';

ApisecTest::setup(keys => [
    map { { access_key => $_, account => "acct-st", secret_key => "$s$_",
            permissions => ['read', 'withdraw'] } }
        qw(stKey00001 stKey00002 stKey00003 stKey00004)
]);

ApisecTest::ctl('disable', 'stKey00004');

# 2500 more, 500 of them disabled: the walk of the keys takes three steps
ApisecTest::import_keys(map {
    { access_key => sprintf('bulk%06d', $_), account => 'acct-bulk',
      secret_key => "$s$_", status => $_ % 5 ? 'active' : 'disabled' }
} 1 .. 2500);

# the scrape, parsed: { 'name{labels}' => value }; dies on a line that is
# not a comment or a sample, or a sample whose TYPE was not given first
sub scrape {
    my ($st, $res) = ApisecTest::send_raw('GET /status');
    my ($body) = $res =~ /\r\n\r\n(.*)\z/s;

    my (%v, %typed);

    for my $line (split /\n/, $body) {
        if ($line =~ /^# TYPE (\w+) (counter|gauge)$/) {
            $typed{$1} = $2;
            next;
        }

        next if $line =~ /^# HELP \w+ \S/;

        $line =~ /^(\w+)((?:\{[a-z_]+="(?:[^"\\]|\\.)*"(?:,[a-z_]+="(?:[^"\\]|\\.)*")*\})?) (-?\d+(?:\.\d+)?)$/
            or die "not a Prometheus line: \"$line\"\n";

        die "$1 has no TYPE\n" unless $typed{$1};
        $v{"$1$2"} = $3;
    }

    return ($st, \%v);
}

# wait until the scrape's NAME is VALUE (the log phase of the last
# request may run just after its answer went out)
sub settled {
    my ($name, $value) = @_;

    my $v;

    for (1 .. 30) {
        (undef, $v) = scrape();
        return $v if ($v->{$name} // '') eq $value;
        select undef, undef, undef, 0.1;
    }

    return $v;
}


master_on();
workers(2);
no_shuffle();
my $flush = ApisecTest::flush_every('300ms');
add_block_preprocessor(sub { $flush->(@_) });
run_tests();

__DATA__

=== TEST 1: requests by result code, rule hits, keys by status, the store and the events, in valid Prometheus text
--- config
    location /api/ {
        apisec on;
        proxy_pass http://apisec_backend;
    }
    location /withdraw/ {
        apisec on;
        apisec_permission withdraw;
        apisec_rule amount max=5 action=monitor name=big;
        apisec_rule amount max=10 name=huge;
        proxy_pass http://apisec_backend;
    }
    location = /status {
        apisec_status;
    }
--- init
my @st = map { (ApisecTest::send_signed($_))[0] }
    "GET /api/v1?timestamp={ts}&signature={sig}\nX-HK-APIKEY: stKey00001",
    "GET /api/v1?timestamp={ts}&signature={sig}\nX-HK-APIKEY: stKey00002",
    "GET /api/v1?timestamp={ts}&signature={sig}\nX-HK-APIKEY: stKey00003\n\@secret: WrongWrongWrongWrongWrong",
    "GET /api/v1?timestamp={ts}&signature={sig}\nX-HK-APIKEY: stKeyNone1",
    "GET /api/v1?timestamp={ts}&signature={sig}\nX-HK-APIKEY: stKey00004",
    "GET /withdraw/v1?amount=7&timestamp={ts}&signature={sig}\nX-HK-APIKEY: stKey00001",
    "GET /withdraw/v1?amount=11&timestamp={ts}&signature={sig}\nX-HK-APIKEY: stKey00001",
    "GET /withdraw/v1?amount=x&timestamp={ts}&signature={sig}\nX-HK-APIKEY: stKey00001";
Test::More::is("@st", '200 200 401 401 401 200 403 400', 'the requests');
my $v = main::settled('apisec_requests_total{code="amount-invalid"}', 1);
Test::More::is($v->{'apisec_requests_total{code="ok"}'}, 3, 'ok');
Test::More::is($v->{'apisec_requests_total{code="signature-invalid"}'}, 1, 'signature-invalid');
Test::More::is($v->{'apisec_requests_total{code="key-unknown"}'}, 1, 'key-unknown');
Test::More::is($v->{'apisec_requests_total{code="key-disabled"}'}, 1, 'key-disabled');
Test::More::is($v->{'apisec_requests_total{code="rule-blocked"}'}, 1, 'rule-blocked');
Test::More::is($v->{'apisec_requests_total{code="amount-invalid"}'}, 1, 'amount-invalid');
Test::More::is($v->{'apisec_requests_total{code="store-unavailable"}'}, 0, 'a code never seen is 0');
Test::More::is(scalar(grep { /^apisec_requests_total\{/ } keys %$v), 20, 'every code');
Test::More::is($v->{'apisec_rule_hits_total{rule="big@/withdraw/",action="monitor"}'}, 2,
               'the monitor rule matched twice (7 and 11)');
Test::More::is($v->{'apisec_rule_hits_total{rule="huge@/withdraw/",action="block"}'}, 1,
               'the block rule once');
$v = main::settled('apisec_keys{status="active"}', 2003);
Test::More::is(join(' ', map { $v->{"apisec_keys{status=\"$_\"}"} } qw(active disabled expired locked)),
               '2003 501 0 0', 'keys by status, counted in steps');
Test::More::cmp_ok(abs($v->{apisec_keys_counted_timestamp_seconds} - time), '<', 30,
                   'counted lately');
Test::More::is($v->{apisec_store_up}, 1, 'the store is open');
Test::More::cmp_ok($v->{apisec_store_map_size_bytes}, '>=', 1 << 20, 'the map size');
Test::More::cmp_ok($v->{apisec_store_map_used_bytes}, '>', 0, 'the map in use');
Test::More::cmp_ok($v->{apisec_store_map_used_bytes}, '<=', $v->{apisec_store_map_size_bytes},
                   'within the map');
Test::More::cmp_ok($v->{apisec_store_readers_used}, '>=', 1, 'readers');
Test::More::is($v->{apisec_flush_interval_seconds}, '0.300', 'the flush interval (300ms)');
select undef, undef, undef, 1;
$v = main::settled('apisec_store_up', 1);
Test::More::cmp_ok($v->{apisec_flush_age_seconds}, '>=', 0, 'a flush ran');
Test::More::cmp_ok($v->{apisec_flush_age_seconds}, '<=', 2, 'lately');
my @e = split /\n/, ApisecTest::ctl('--json', 'events');
my ($last) = $e[-1] =~ /"seq":(\d+)/;
Test::More::is($v->{apisec_events_last_seq}, $last, 'the last event');
Test::More::is($v->{apisec_flush_failures_total}, 0, 'no flush failed');
--- request
GET /status
--- error_code: 200
--- response_headers
Content-Type: text/plain; version=0.0.4; charset=utf-8
--- response_body_like eval
qr/\A# HELP apisec_requests_total /



=== TEST 2: only GET and HEAD
--- config
    location = /status {
        apisec_status;
    }
--- request
POST /status
x=1
--- error_code: 405
