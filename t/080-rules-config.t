# Rules, configuration: `nginx -t` checks the grammar of every apisec_rule
# type (rate, amount, failures) and names the bad argument.
#
# Each case runs `nginx -t` on a configuration of its own and checks the
# exit status and the message on stderr.

use strict;
use warnings;
use lib 't/lib';
use Test::More;
use IPC::Run ();
use ApisecTest;

ApisecTest::setup();

my $dir = $ApisecTest::Dir;
my $ctl = $ApisecTest::Ctl;
my $nginx = $ENV{TEST_NGINX_BINARY} || 'nginx';
my $so = $ApisecTest::Module;
my ($store, $mk) = ($ApisecTest::Store, $ApisecTest::MasterKey);

# a second store with its own master key; an open, a short, a missing key
ApisecTest::ctl('master-key', "$dir/other.key");
ApisecTest::ctl('--store', "$dir/other", '--master-key', "$dir/other.key",
                'init');
system("cp $mk $dir/open.key && chmod 644 $dir/open.key") == 0 or die;
system("head -c 16 $mk > $dir/short.key && chmod 600 $dir/short.key") == 0
    or die;
mkdir "$dir/empty";
mkdir "$dir/prefix";
mkdir "$dir/prefix/logs";

my $n = 0;

sub nginx_t {
    my ($http, $server) = @_;

    $server //= '';
    my $conf = "$dir/prefix/t" . ++$n . '.conf';

    open my $fh, '>', $conf or die "$conf: $!";
    print $fh <<"END";
load_module $so;
pid $dir/prefix/nginx.pid;
events {}
http {
$http
    server {
        listen 127.0.0.1:1;
$server
    }
}
END
    close $fh;

    my ($out, $err) = ('', '');
    IPC::Run::run([$nginx, '-t', '-q', '-p', "$dir/prefix", '-c', $conf],
                  \undef, \$out, \$err);

    return ($? >> 8, $err);
}

sub refused {
    my ($name, $http, $server, $re) = @_;

    my ($rc, $err) = nginx_t($http, $server);

    isnt($rc, 0, "$name: nginx -t fails");
    like($err, $re, "$name: the message says why");
    unlike($err, qr/segmentation|core dumped|signal/i, "$name: no crash");
}

sub accepted {
    my ($name, $http, $server) = @_;

    my ($rc, $err) = nginx_t($http, $server);

    is($rc, 0, "$name: nginx -t passes") or diag($err);
}

my $ok = "apisec_store $store;\napisec_master_key $mk;";

sub rule_refused {
    my ($name, $rules, $re) = @_;

    refused($name, $ok, "location /api/ { apisec on;\n$rules\n}", $re);
}

sub rule_accepted {
    my ($name, $rules, $http) = @_;

    accepted($name, $ok . ($http // ''),
             "location /api/ { apisec on;\n$rules\n}");
}

# what works

rule_accepted('a rate rule with the defaults', 'apisec_rule rate 10r/s;');

rule_accepted('every argument of a rate rule, and r/m and r/h',
              "apisec_rule rate 10r/m burst=5 by=account action=monitor "
              . "name=acct_minute;\n"
              . "apisec_rule rate 100r/h by=ip action=block name=ip.hour;\n"
              . "apisec_rule rate 2r/s burst=0 by=key;");

rule_accepted('apisec_rule_zone', 'apisec_rule rate 1r/s;',
              "\napisec_rule_zone 1m;");

rule_accepted('the same names in two locations',
              "apisec_rule rate 1r/s name=a; }\n"
              . "location /b/ { apisec on; apisec_rule rate 1r/s name=a;");

refused('apisec_rule_zone too small', "$ok\napisec_rule_zone 16k;",
        'location /api/ { apisec on; apisec_rule rate 1r/s; }',
        qr/"apisec_rule_zone" must be at least 64k/);

refused('apisec_rule at the server level', $ok,
        'apisec_rule rate 1r/s;',
        qr/"apisec_rule" directive is not allowed here/);

# the grammar: each bad argument named

rule_refused('an unknown type', 'apisec_rule speed 10r/s;',
             qr/unknown apisec_rule type "speed"/);

rule_refused('a type without arguments', 'apisec_rule rate;',
             qr/invalid number of arguments in "apisec_rule"/);

for my $rate (qw(10 10r 10r/d r/s 0r/s -1r/s 1.5r/s 10x/s 2000000r/s)) {
    rule_refused("a bad RATE $rate", "apisec_rule rate $rate;",
                 qr/invalid apisec_rule rate "\Q$rate\E"/);
}

for my $burst (qw(burst=-1 burst=x burst= burst=1.5)) {
    rule_refused("a bad $burst", "apisec_rule rate 1r/s $burst;",
                 qr/(invalid apisec_rule burst|unknown apisec_rule rate argument) "\Q$burst\E"/);
}

rule_refused('a bad by', 'apisec_rule rate 1r/s by=host;',
             qr/invalid apisec_rule rate "by=host"/);

rule_refused('by=ip for an amount rule',
             'apisec_rule amount max=10 by=ip;',
             qr/invalid apisec_rule amount "by=ip"/);

for my $action (qw(action=deny action=lock: action=lock:x action=lock:0
                   action=Block)) {
    rule_refused("a bad $action", "apisec_rule rate 1r/s $action;",
                 qr/invalid apisec_rule (action|lock time in) "\Q$action\E"/);
}

rule_refused('an unknown argument', 'apisec_rule rate 1r/s delay=5;',
             qr/unknown apisec_rule rate argument "delay=5"/);

rule_refused('an argument of another type',
             'apisec_rule rate 1r/s max=5;',
             qr/unknown apisec_rule rate argument "max=5"/);

rule_refused('an argument twice', 'apisec_rule rate 1r/s burst=1 burst=2;',
             qr/duplicate apisec_rule rate argument "burst=2"/);

rule_refused('a bad name', 'apisec_rule rate 1r/s name=a,b;',
             qr/invalid apisec_rule name "name=a,b"/);

rule_refused('a duplicate name',
             "apisec_rule rate 1r/s name=r;\napisec_rule rate 1r/m name=r;",
             qr/duplicate apisec_rule name "r" in this location/);

rule_refused('a name that is another rule\'s default',
             "apisec_rule rate 1r/s;\napisec_rule rate 1r/m name=rate1;",
             qr/duplicate apisec_rule name "rate1" in this location/);

for my $max (qw(max=-5 max=-0.1)) {
    rule_refused("a negative amount $max", "apisec_rule amount $max;",
                 qr/invalid apisec_rule max "\Q$max\E", must not be negative/);
}

for my $max ('max=abc', 'max=1.', 'max=.5', 'max=1e5', 'max=1,5',
             'max=0.1234567890123456789', 'max=010', 'max=+5', 'max=0x10',
             'max=123456789012345678901', 'max=1_000', 'max=NaN') {
    rule_refused("a malformed amount $max", "apisec_rule amount $max;",
                 qr/invalid apisec_rule max "\Q$max\E", must be a decimal/);
}

rule_refused('an amount rule without max', 'apisec_rule amount per=1d;',
             qr/apisec_rule amount needs max=DECIMAL/);

rule_refused('a bad per', 'apisec_rule amount max=10 per=1x;',
             qr/invalid apisec_rule per "per=1x"/);

rule_refused('a per above 400 days', 'apisec_rule amount max=10 per=401d;',
             qr/invalid apisec_rule per "per=401d", must be a TIME from 1s/);

rule_refused('a currency too long',
             'apisec_rule amount max=10 currency=ABCDEFGHIJKLMNOPQ;',
             qr/invalid apisec_rule argument "currency=ABCDEFGHIJKLMNOPQ": 1 to 16/);

rule_refused('an amount rule by ip', 'apisec_rule amount max=10 by=ip;',
             qr/invalid apisec_rule amount "by=ip", must be by=key or by=account/);

rule_refused('a bad field', 'apisec_rule amount max=10 field=a"b;',
             qr/invalid apisec_rule argument "field=a"b"/);

rule_refused('failures without per', 'apisec_rule failures max=5;',
             qr/apisec_rule failures needs max=N and per=TIME/);

rule_refused('failures with max=0', 'apisec_rule failures max=0 per=1h;',
             qr/invalid apisec_rule max "max=0", must be a number from 1 to 1000000/);

rule_refused('failures with a huge max',
             'apisec_rule failures max=1000001 per=1h;',
             qr/invalid apisec_rule max "max=1000001", must be a number/);

rule_refused('failures with a by', 'apisec_rule failures max=5 per=1h by=key;',
             qr/unknown apisec_rule failures argument "by=key"/);

rule_accepted('an amount rule with every argument',
              'apisec_rule amount max=10000.50 per=1d field=qty currency=USDT '
              . 'currency_field=coin by=account action=monitor name=big;');

rule_accepted('amount rules: per request, per window, the largest values',
              "apisec_rule amount max=0;\n"
              . "apisec_rule amount max=99999999999999999999.999999999999999999 "
              . "per=400d action=lock:1d;");

rule_accepted('a failures rule, default action lock:15m',
              'apisec_rule failures max=5 per=10m;');

rule_accepted('a failures rule, every action',
              "apisec_rule failures max=5 per=10m action=block name=f1;\n"
              . "apisec_rule failures max=3 per=1h action=monitor name=f2;\n"
              . "apisec_rule failures max=9 per=1d action=lock name=f3;");

rule_accepted('the lock actions',
              "apisec_rule rate 1r/s action=lock name=l1;\n"
              . "apisec_rule rate 10r/m action=lock:15m name=l2;");

done_testing();
