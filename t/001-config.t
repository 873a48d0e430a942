# Configuration: `nginx -t` refuses, with a clear message, a store or a
# master key that is missing or wrong, and a misused directive; and
# accepts a valid configuration.
#
# Each case runs `nginx -t` on a configuration of its own and checks the
# exit status and the message on stderr (where nginx reports
# configuration errors), so it does not depend on the test runner.

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

accepted('a valid store and master key', $ok,
         'location /api/ { apisec on; }');

accepted('map_size grows the store', "apisec_store $store map_size=2g;\n"
         . "apisec_master_key $mk;", 'location /api/ { apisec on; }');

accepted('every directive at every level',
         "$ok\napisec on;\napisec_scheme hashkey;\napisec_time_window 10s;\n"
         . "apisec_permission read;\napisec_max_body_size 1m;",
         "apisec_permission trade;\n"
         . "location /w/ { apisec_permission withdraw; }\n"
         . "location /p/ { apisec off; }");

accepted('the module loaded but not used', '', '');

refused('a directory without a store',
        "apisec_store $dir/empty;\napisec_master_key $mk;", '',
        qr/apisec_store: no apisec store at "\Q$dir\E\/empty"/);

refused('a path that does not exist',
        "apisec_store $dir/nowhere;\napisec_master_key $mk;", '',
        qr/apisec_store: no apisec store at "\Q$dir\E\/nowhere"/);

refused('the master key of another store',
        "apisec_store $store;\napisec_master_key $dir/other.key;", '',
        qr/apisec_store: the master key does not open the store at "\Q$store\E"/);

refused('a master key file that does not exist',
        "apisec_store $store;\napisec_master_key $dir/missing.key;", '',
        qr/apisec_master_key: .*\Q$dir\E\/missing\.key/);

refused('a master key file that others may read',
        "apisec_store $store;\napisec_master_key $dir/open.key;", '',
        qr/apisec_master_key: .*open\.key.*group or others/);

refused('a master key file of the wrong size',
        "apisec_store $store;\napisec_master_key $dir/short.key;", '',
        qr/apisec_master_key: .*short\.key.*32 bytes/);

refused('apisec_store without apisec_master_key',
        "apisec_store $store;", '',
        qr/"apisec_store" "\Q$store\E" is set, but "apisec_master_key" is not/);

refused('apisec_master_key without apisec_store',
        "apisec_master_key $mk;", '',
        qr/"apisec_master_key" is set, but "apisec_store" is not/);

refused('apisec on without a store', '', 'location /api/ { apisec on; }',
        qr/"apisec" is on, but "apisec_store" is not set/);

refused('an unknown scheme', $ok,
        'location /api/ { apisec on; apisec_scheme hashkey2; }',
        qr/unknown apisec scheme "hashkey2"/);

refused('an unknown permission', $ok,
        'location /api/ { apisec on; apisec_permission admin; }',
        qr/invalid permission "admin", it must be "read", "trade" or "withdraw"/);

refused('apisec_time_window 0', $ok,
        'location /api/ { apisec on; apisec_time_window 0; }',
        qr/"apisec_time_window" must be more than 0/);

refused('apisec_time_window not a time', $ok,
        'location /api/ { apisec on; apisec_time_window soon; }',
        qr/"apisec_time_window" directive invalid value/);

refused('apisec_store twice', "$ok\napisec_store $store;", '',
        qr/"apisec_store" directive is duplicate/);

refused('a bad map_size',
        "apisec_store $store map_size=lots;\napisec_master_key $mk;", '',
        qr/invalid map_size "map_size=lots"/);

refused('an unknown apisec_store parameter',
        "apisec_store $store size=1g;\napisec_master_key $mk;", '',
        qr/invalid parameter "size=1g"/);

refused('apisec_store in a server block', "apisec_master_key $mk;",
        "apisec_store $store;",
        qr/"apisec_store" directive is not allowed here/);

refused('apisec with a value other than on or off', $ok,
        'location /api/ { apisec yes; }',
        qr/invalid value "yes" in "apisec" directive, it must be "on" or "off"/);

refused('apisec_permission twice', $ok,
        'location /api/ { apisec_permission read; apisec_permission trade; }',
        qr/"apisec_permission" directive is duplicate/);

refused('a map_size below 1m',
        "apisec_store $store map_size=64k;\napisec_master_key $mk;", '',
        qr/invalid map_size "map_size=64k", it must be at least 1m/);

refused('apisec_scheme twice', $ok,
        'location /api/ { apisec_scheme hashkey; apisec_scheme hashkey; }',
        qr/"apisec_scheme" directive is duplicate/);

# apisec_webhook and apisec_status

system("printf 'hook-secret\\n' > $dir/hook.secret && : > $dir/empty.secret")
    == 0 or die;

accepted('webhooks: every parameter, http and https, and apisec_status',
         "$ok\napisec_webhook http://127.0.0.1:9/h secret=$dir/hook.secret "
         . "events=withdrawal.requested,key.locked name=ops max_backoff=30s;\n"
         . "apisec_webhook https://127.0.0.1/x secret=$dir/hook.secret;\n"
         . "apisec_webhook http://127.0.0.1:9/other;\n"
         . "apisec_event_retention 7d;",
         'location /metrics { apisec_status; }');

refused('a webhook URL that is not http or https',
        "$ok\napisec_webhook ftp://127.0.0.1/;", '',
        qr/invalid apisec_webhook URL "ftp:\/\/127.0.0.1\/": http:\/\/ or https:\/\/ expected/);

refused('a webhook with an unknown event type',
        "$ok\napisec_webhook http://127.0.0.1:9/ events=withdrawal.requested,key.stolen;",
        '', qr/invalid apisec_webhook "events=withdrawal.requested,key.stolen": unknown event type "key.stolen"/);

refused('a webhook secret file that does not exist',
        "$ok\napisec_webhook http://127.0.0.1:9/ secret=$dir/nope.secret;",
        '', qr/apisec_webhook: cannot open the secret "\Q$dir\E\/nope.secret"/);

refused('an empty webhook secret',
        "$ok\napisec_webhook http://127.0.0.1:9/ secret=$dir/empty.secret;",
        '', qr/apisec_webhook: the secret "\Q$dir\E\/empty.secret" must hold 1 to 1024 bytes/);

refused('the same webhook twice',
        "$ok\napisec_webhook http://127.0.0.1:9/a;\napisec_webhook http://127.0.0.1:9/a;",
        '', qr/duplicate apisec_webhook "http:\/\/127.0.0.1:9\/a": give each its own name=/);

refused('a bad max_backoff',
        "$ok\napisec_webhook http://127.0.0.1:9/ max_backoff=10ms;", '',
        qr/invalid apisec_webhook "max_backoff=10ms": a time from 100ms to 1d/);

refused('a bad webhook name',
        "$ok\napisec_webhook http://127.0.0.1:9/ name=a/b;", '',
        qr/invalid apisec_webhook "name=a\/b": letters, digits/);

refused('an unknown webhook parameter',
        "$ok\napisec_webhook http://127.0.0.1:9/ retries=3;", '',
        qr/invalid apisec_webhook parameter "retries=3"/);

refused('a webhook without a store', 'apisec_webhook http://127.0.0.1:9/;', '',
        qr/"apisec_webhook" is set, but "apisec_store" is not/);

refused('apisec_status with an argument', $ok,
        'location /metrics { apisec_status on; }',
        qr/invalid number of arguments in "apisec_status" directive/);

refused('apisec_webhook in a server block', $ok,
        'apisec_webhook http://127.0.0.1:9/;',
        qr/"apisec_webhook" directive is not allowed here/);

done_testing();
