# A store or a master key that cannot be read at start: `nginx -t` fails
# with a message that names the file and the reason, never a crash.
# t/001-config.t has the store or master key that is missing, of another
# store, of the wrong size or readable by others; this file has the
# store directory, its data file or its lock file that the user running
# nginx cannot read or write, a master key file that it cannot read, a
# data file that is not LMDB or is cut short, and a store path that is a
# file.
#
# Permissions bind no one when the tests run as root, so those cases run
# `nginx -t` as the user nobody (setpriv), with a master key that nobody
# owns; as another user they run as that user.  Like t/001-config.t, each
# case runs `nginx -t` itself, on a configuration of its own.

use strict;
use warnings;
use lib 't/lib';
use Test::More;
use File::Copy qw(copy);
use IPC::Run ();
use ApisecTest;

ApisecTest::setup(keys => [
    { access_key => 'startKey01', account => 'acct-start',
      secret_key => 'StartFaultsStartFaultsStart01', permissions => ['read'] },
]);

my $dir = $ApisecTest::Dir;
my $nginx = $ENV{TEST_NGINX_BINARY} || 'nginx';
my $so = $ApisecTest::Module;
my ($store, $mk) = ($ApisecTest::Store, $ApisecTest::MasterKey);

# the user that nginx -t runs as for the permission cases
my ($user, $uid, $gid);

if ($> == 0) {
    ($user, $uid, $gid) = ('nobody', (getpwnam('nobody'))[2, 3]);
    defined $uid or BAIL_OUT('no user nobody to run nginx -t as');
} else {
    ($user, $uid, $gid) = (scalar getpwuid($>), $>, $) + 0);
}

chmod 0755, $dir;
mkdir "$dir/prefix";
mkdir "$dir/prefix/logs";
chown $uid, $gid, "$dir/prefix", "$dir/prefix/logs";

# a copy of the store and a master key that the user owns
sub store_copy {
    my ($name) = @_;

    my $d = "$dir/$name";
    mkdir $d or die "$d: $!";
    for my $f (qw(data.mdb lock.mdb)) {
        copy("$store/$f", "$d/$f") or die "$store/$f: $!";
    }
    chown $uid, $gid, $d, "$d/data.mdb", "$d/lock.mdb";
    chmod 0700, $d;
    chmod 0600, "$d/data.mdb", "$d/lock.mdb";

    return $d;
}

copy($mk, "$dir/user.key") or die "$mk: $!";
chown $uid, $gid, "$dir/user.key";
chmod 0600, "$dir/user.key";

# a free port to listen on (nginx -t binds it; port 1 needs root)
my $port = do {
    require IO::Socket::INET;
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Listen => 1) or die "a free port: $!";
    $s->sockport;
};

my $n = 0;

# nginx -t on an http block of its own, as the user when as_user is set
sub nginx_t {
    my ($http, $as_user) = @_;

    my $conf = "$dir/prefix/t" . ++$n . '.conf';

    open my $fh, '>', $conf or die "$conf: $!";
    print $fh <<"END";
load_module $so;
pid $dir/prefix/nginx.pid;
error_log $dir/prefix/logs/error.log;
events {}
http {
access_log $dir/prefix/logs/access.log;
$http
    server {
        listen 127.0.0.1:$port;
        location /api/ { apisec on; }
    }
}
END
    close $fh;

    my @cmd = ($nginx, '-t', '-q', '-p', "$dir/prefix", '-c', $conf);

    if ($as_user && $> == 0) {
        @cmd = ('setpriv', "--reuid=$uid", "--regid=$gid", '--clear-groups',
                @cmd);
    }

    my ($out, $err) = ('', '');
    IPC::Run::run(\@cmd, \undef, \$out, \$err);

    return ($? >> 8, $err);
}

sub refused {
    my ($name, $http, $as_user, $re) = @_;

    my ($rc, $err) = nginx_t($http, $as_user);

    isnt($rc, 0, "$name: nginx -t fails");
    like($err, $re, "$name: the message says why") or diag($err);
    note($err);
    unlike($err, qr/segmentation|core dumped|signal/i, "$name: no crash");
}

sub conf {
    my ($s, $k) = @_;
    return "apisec_store $s;\napisec_master_key $k;";
}

# first, the user can read what it owns: nginx -t passes
my $ok = store_copy('ok');
my ($rc, $err) = nginx_t(conf($ok, "$dir/user.key"), 1);
is($rc, 0, "as $user, a store and a master key of its own: nginx -t passes")
    or diag($err);

# the store directory that the user cannot enter
my $locked = store_copy('locked');
chown 0, 0, $locked if $> == 0;
chmod 0700, $locked;
chmod 0000, $locked if $> != 0;
refused('a store directory the user cannot read',
        conf($locked, "$dir/user.key"), 1,
        qr/apisec_store: cannot access store "\Q$locked\E": Permission denied/);

# its data file, or its lock file, that the user cannot open
my $data = store_copy('data');
chown 0, 0, "$data/data.mdb" if $> == 0;
chmod 0600, "$data/data.mdb";
chmod 0000, "$data/data.mdb" if $> != 0;
refused('a data file the user cannot read',
        conf($data, "$dir/user.key"), 1,
        qr/apisec_store: cannot open store "\Q$data\E": Permission denied/);

my $lock = store_copy('lock');
chown 0, 0, "$lock/lock.mdb" if $> == 0;
chmod 0644, "$lock/lock.mdb";
chmod 0444, "$lock/lock.mdb" if $> != 0;
refused('a lock file the user cannot write',
        conf($lock, "$dir/user.key"), 1,
        qr/apisec_store: cannot open store "\Q$lock\E": Permission denied/);

# the master key that the user cannot read
copy($mk, "$dir/root.key") or die;
chmod 0600, "$dir/root.key";
chmod 0000, "$dir/root.key" if $> != 0;
refused('a master key file the user cannot read',
        conf($ok, "$dir/root.key"), 1,
        qr/apisec_master_key: .*\Q$dir\E\/root\.key.*Permission denied/);

# a data file that is not LMDB, one cut short, a store path that is a file
my $junk = store_copy('junk');
open my $fh, '>', "$junk/data.mdb" or die;
print $fh "not an lmdb file\n" x 1000;
close $fh;
refused('a data file that is not LMDB', conf($junk, $mk), 0,
        qr/apisec_store: .*"\Q$junk\E".*(?:not an LMDB file|corrupt|Invalid argument)/i);

my $short = store_copy('short');
truncate "$short/data.mdb", 4096 or die;
refused('a data file cut short', conf($short, $mk), 0,
        qr/apisec_store: .*"\Q$short\E"/);

open $fh, '>', "$dir/plainfile" or die;
print $fh "x\n";
close $fh;
refused('a store path that is a file', conf("$dir/plainfile", $mk), 0,
        qr/apisec_store: .*"\Q$dir\E\/plainfile"/);

# the store itself was not touched by any of it
like(ApisecTest::ctl('show', 'startKey01'), qr/status: active/,
     'the store is intact');

done_testing();
