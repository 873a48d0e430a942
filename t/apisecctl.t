# apisecctl end to end: every command and option, text and --json, every
# error path (exit status, one line on stderr, the store unchanged), the
# all-or-nothing import, a store that runs out of room, 2FA enrolment
# (its secret checked against oathtool's codes), and backup and restore
# (also while another process writes).
#
# Runs the built binary: $APISEC_BUILD/apisecctl, else ./build/apisecctl.
#
#   prove -v t/apisecctl.t

use strict;
use warnings;

use Test::More;
use JSON::PP;
use File::Temp qw(tempdir);
use File::Spec;
use POSIX qw(strftime);
use Digest::SHA qw(hmac_sha1);

my $build = $ENV{APISEC_BUILD} // 'build';
my $bin = File::Spec->rel2abs("$build/apisecctl");

plan skip_all => "$bin not built (make build/apisecctl)" unless -x $bin;

delete @ENV{qw(APISEC_STORE APISEC_MASTER_KEY)};

my $tmp = tempdir('apisecctl-t-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $json = JSON::PP->new->utf8->canonical;
my $n_run = 0;

my @FIELDS = qw(access_key account label permissions ips status created_at
                last_used_at expires_at locked_until totp_enrolled
                has_passphrase);


# run apisecctl: run(\%opt, ARGS...) or run(ARGS...); opt: stdin, env
sub run {
    my $opt = ref $_[0] eq 'HASH' ? shift : {};
    my @args = @_;
    my $n = ++$n_run;
    my ($in, $out, $err) = map { "$tmp/run$n.$_" } qw(in out err);

    open my $fh, '>:raw', $in or die "$in: $!";
    print $fh ($opt->{stdin} // '');
    close $fh;

    my $pid = fork // die "fork: $!";

    if ($pid == 0) {
        local %ENV = (%ENV, %{ $opt->{env} // {} });
        open STDIN, '<', $in or die;
        open STDOUT, '>', $out or die;
        open STDERR, '>', $err or die;
        exec $bin, @args or exit 127;
    }

    waitpid $pid, 0;

    my $r = { rc => $? >> 8, sig => $? & 127, out => slurp($out),
              err => slurp($err) };
    unlink $in, $out, $err;

    return $r;
}

sub slurp {
    my ($f) = @_;
    open my $fh, '<:raw', $f or return '';
    local $/;
    my $s = <$fh>;
    return $s // '';
}

sub spew {
    my ($f, $s) = @_;
    open my $fh, '>:raw', $f or die "$f: $!";
    print $fh $s;
    close $fh;
}

sub ok_run {
    my ($r, $name) = @_;
    ok($r->{rc} == 0 && $r->{sig} == 0, $name)
        or diag("exit $r->{rc}, stderr: $r->{err}");
    return $r;
}

sub decode_lines {
    my ($s) = @_;
    return [ map { $json->decode($_) } grep { length } split /\n/, $s ];
}

sub iso {
    return strftime('%Y-%m-%dT%H:%M:%SZ', gmtime($_[0]));
}

sub from_iso {
    my ($s) = @_;
    my @t = $s =~ /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)Z$/ or return;
    require Time::Local;
    return Time::Local::timegm($t[5], $t[4], $t[3], $t[2], $t[1] - 1, $t[0]);
}

sub rand_alnum {
    my ($n) = @_;
    my @c = ('A' .. 'Z', 'a' .. 'z', '0' .. '9');
    return join '', map { $c[int rand @c] } 1 .. $n;
}

# TOTP in Perl (RFC 4226 truncation over HMAC-SHA1, RFC 6238 steps of
# 30 s), to check what apisecctl prints against oathtool
sub b32_decode {
    my ($s) = @_;
    $s =~ s/=+\z//;
    return undef if $s !~ /\A[A-Za-z2-7]*\z/;
    my $bits = join '', map {
        sprintf '%05b', index('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', uc $_)
    } split //, $s;
    return pack 'B*', substr($bits, 0, int(length($bits) / 8) * 8);
}

sub totp {
    my ($key, $t, $digits) = @_;
    $digits //= 6;
    my $step = int($t / 30);
    my $mac = hmac_sha1(pack('NN', int($step / 2**32), $step % 2**32), $key);
    my $off = ord(substr($mac, 19, 1)) & 0x0f;
    my $bin = unpack('N', substr($mac, $off, 4)) & 0x7fffffff;
    return sprintf '%0*d', $digits, $bin % 10**$digits;
}

# oathtool's code for a base32 secret, at Unix time $t (now without $t)
sub oathtool {
    my ($b32, $t) = @_;
    open my $fh, '-|', 'oathtool', '--totp', '-b',
         defined $t ? ('--now', "\@$t") : (), $b32
        or return '';
    my $code = <$fh> // '';
    close $fh;
    chomp $code;
    return $code;
}

my $have_oathtool = !system('sh', '-c', 'command -v oathtool >/dev/null');


# a store of its own for a group of tests: (dir, master key, @global opts)
my $n_store = 0;

sub new_store {
    my (%o) = @_;
    my $n = ++$n_store;
    my $mk = "$tmp/mk$n";
    my $st = "$tmp/store$n";

    ok_run(run('master-key', $mk), "master key $n");
    ok_run(run('--store', $st, '--master-key', $mk, 'init',
               defined $o{map_size} ? ('--map-size', $o{map_size}) : ()),
           "store $n");

    return ($st, $mk, '--store', $st, '--master-key', $mk);
}

sub list_json {
    my (@g) = @_;
    my $r = run(@g, '--json', 'list');
    die "list failed: $r->{err}" if $r->{rc} != 0;
    return $r->{out};
}

# an error: exit status, exactly one stderr line, stdout empty, the
# store as it was
sub fails {
    my ($g, $args, $rc, $re, $name, %o) = @_;
    my $before = list_json(@$g);
    my $r = run({ stdin => $o{stdin}, env => $o{env} }, @$args);

    subtest "error: $name" => sub {
        is($r->{rc}, $rc, "exit status $rc");
        is($r->{sig}, 0, 'no signal');
        like($r->{err}, qr/\Aapisecctl: error: [^\n]*\n\z/,
             'exactly one line on stderr');
        like($r->{err}, $re, 'message') if defined $re;
        is($r->{out}, '', 'nothing on stdout');
        is(list_json(@$g), $before, 'store unchanged');
    };

    return $r;
}

sub create_key {
    my ($g, @args) = @_;
    my $r = run(@$g, '--json', 'create', @args);
    die "create failed: $r->{err}" if $r->{rc} != 0;
    return $json->decode($r->{out});
}


# --- help and version ---------------------------------------------------

{
    my $r = ok_run(run('--version'), '--version');
    is($r->{out}, "apisecctl 0.1.0\n", 'version text');

    for my $h (['--help'], ['help'], ['-h']) {
        $r = ok_run(run(@$h), "@$h");
        like($r->{out}, qr/^usage: apisecctl/, "@$h: usage");
        like($r->{out}, qr/^  $_\b/m, "@$h: lists $_")
            for qw(master-key init create import list show set disable
                   enable revoke rotate expire-idle audit events 2fa
                   backup restore);
        is($r->{err}, '', "@$h: nothing on stderr");
    }

    $r = ok_run(run('help', 'create'), 'help create');
    like($r->{out}, qr/create --account ID/, 'help create: synopsis');
    like($r->{out}, qr/--expires RFC3339/, 'help create: options');
    like($r->{out}, qr/--passphrase P\|--passphrase-file FILE/,
         'help create: passphrase options');

    $r = ok_run(run('set', '--help'), 'set --help');
    like($r->{out}, qr/set KEY .*--last-used/s, 'set --help: synopsis');
    like($r->{out}, qr/--passphrase P\|none\|--passphrase-file FILE/,
         'set --help: passphrase options');

    $r = run('help', 'frob');
    is($r->{rc}, 2, 'help of an unknown command: exit 2');
}


# --- master-key -----------------------------------------------------------

{
    my $mk = "$tmp/mk-a";
    my $r = ok_run(run('master-key', $mk), 'master-key FILE');
    like($r->{out}, qr/\Q$mk\E/, 'names the file');
    ok(-f $mk, 'file exists');
    is((stat $mk)[2] & 07777, 0600, 'mode 0600');
    is(-s $mk, 32, '32 bytes');

    my $before = slurp($mk);
    $r = run('master-key', $mk);
    is($r->{rc}, 1, 'refuses to overwrite: exit 1');
    like($r->{err}, qr/\Aapisecctl: error: [^\n]*\n\z/, 'one error line');
    is(slurp($mk), $before, 'file unchanged');

    my $mk2 = "$tmp/mk-b";
    $r = ok_run(run('--json', 'master-key', $mk2), 'master-key --json');
    is_deeply($json->decode($r->{out}),
              { master_key => $mk2, created => JSON::PP::true },
              'JSON output');
    isnt(slurp($mk2), $before, 'two master keys differ');

    my $mk3 = "$tmp/mk-c";
    ok_run(run({ env => { APISEC_MASTER_KEY => $mk3 } }, 'master-key'),
           'master-key with APISEC_MASTER_KEY');
    ok(-s $mk3 == 32, 'file from the environment variable');

    $r = run('master-key');
    is($r->{rc}, 2, 'master-key without FILE: exit 2');

    $r = run('master-key', "$tmp/no/such/dir/mk");
    is($r->{rc}, 1, 'master-key in a missing directory: exit 1');
    like($r->{err}, qr/\Aapisecctl: error: [^\n]*\n\z/, 'one error line');
}


# --- init -----------------------------------------------------------------

{
    my $mk = "$tmp/mk-init";
    ok_run(run('master-key', $mk), 'master key for init');

    my $r = ok_run(run('--store', "$tmp/init1", '--master-key', $mk, 'init'),
                   'init');
    like($r->{out}, qr/map size 1G/, 'default map size 1G');
    ok(-f "$tmp/init1/data.mdb", 'store created');

    $r = ok_run(run('--json', '--store', "$tmp/init2", '--master-key', $mk,
                    'init', '--map-size', '64M'), 'init --map-size 64M');
    is_deeply($json->decode($r->{out}),
              { store => "$tmp/init2", map_size => 64 * 1024 * 1024 },
              'init --json');

    $r = ok_run(run('init', '--store', "$tmp/init3", '--master-key', $mk,
                    '--map-size=1048576', '--json'),
                'global options after the command, --opt=value');
    is($json->decode($r->{out})->{map_size}, 1048576, 'map size in bytes');

    $r = ok_run(run({ env => { APISEC_STORE => "$tmp/init4",
                               APISEC_MASTER_KEY => $mk } }, 'init'),
                'init from the environment');
    ok(-f "$tmp/init4/data.mdb", 'store from APISEC_STORE');

    $r = run('--store', "$tmp/init1", '--master-key', $mk, 'init');
    is($r->{rc}, 1, 'init over a store: exit 1');
    like($r->{err}, qr/\Aapisecctl: error: .*exists[^\n]*\n\z/,
         'init over a store: one line');

    $r = run('--master-key', $mk, 'init');
    is($r->{rc}, 2, 'init without a store: exit 2');
    like($r->{err}, qr/\Aapisecctl: error: no store given[^\n]*\n\z/,
         'names what is missing');

    $r = run('--store', "$tmp/init5", 'init');
    is($r->{rc}, 2, 'init without a master key: exit 2');
    like($r->{err}, qr/no master key given/, 'names what is missing');

    for my $bad ('12Q', '0', '512K', 'M', '', '99999T') {
        $r = run('--store', "$tmp/init6", '--master-key', $mk, 'init',
                 '--map-size', $bad);
        is($r->{rc}, 2, "bad map size \"$bad\": exit 2");
        like($r->{err}, qr/\Aapisecctl: error: invalid --map-size[^\n]*\n\z/,
             "bad map size \"$bad\": message");
    }

    ok(!-e "$tmp/init6/data.mdb", 'no store made by bad sizes');
}


# --- create, show, list ---------------------------------------------------

my ($st, $mk, @g) = new_store();

{
    my $r = run(@g, 'create', '--account', 'alice');
    ok_run($r, 'create text');
    like($r->{out}, qr/\Aaccess_key: ([A-Za-z0-9]{64})\nsecret_key: ([A-Za-z0-9]{64})\n\z/,
         'text output: access_key and secret_key, 64 alphanumerics each');
    my ($ak, $sk) = $r->{out} =~ /access_key: (\S+)\nsecret_key: (\S+)/;
    like($r->{err}, qr/shown only this once/, 'note on stderr');
    unlike($r->{err}, qr/error/, 'no error');
    isnt($ak, $sk, 'secret differs from access key');

    $r = ok_run(run(@g, '--json', 'show', $ak), 'show --json');
    my $k = $json->decode($r->{out});
    is_deeply([sort keys %$k], [sort @FIELDS], 'show --json: exactly the fields');
    is($k->{access_key}, $ak, 'access_key');
    is($k->{account}, 'alice', 'account');
    is($k->{label}, '', 'no label');
    is_deeply($k->{permissions}, ['read'], 'default permission read');
    is_deeply($k->{ips}, [], 'no IPs');
    is($k->{status}, 'active', 'active');
    my $created = from_iso($k->{created_at});
    ok(defined $created && abs($created - time) < 120, 'created now');
    ok(!defined $k->{$_}, "$_ null") for qw(last_used_at expires_at
                                            locked_until);
    ok(JSON::PP::is_bool($k->{totp_enrolled}) && !$k->{totp_enrolled},
       'totp_enrolled false');
    ok(JSON::PP::is_bool($k->{has_passphrase}) && !$k->{has_passphrase},
       'has_passphrase false');
    unlike($r->{out}, qr/\Q$sk\E/, 'show never prints the secret');
    unlike($r->{out}, qr/secret/, 'no secret field in show');

    $r = ok_run(run(@g, 'show', $ak), 'show text');
    my @lines = split /\n/, $r->{out};
    is_deeply([map { /^([a-z_]+): / ? $1 : '?' } @lines], \@FIELDS,
              'show text: one "field: value" line per field, in order');
    like($r->{out}, qr/^account: alice$/m, 'show text: account');
    like($r->{out}, qr/^permissions: read$/m, 'show text: permissions');
    like($r->{out}, qr/^status: active$/m, 'show text: status');
    like($r->{out}, qr/^last_used_at: never$/m, 'show text: never used');
    like($r->{out}, qr/^totp_enrolled: no$/m, 'show text: totp');
    like($r->{out}, qr/^has_passphrase: no$/m, 'show text: passphrase');
    unlike($r->{out}, qr/\Q$sk\E/, 'show text: no secret');

    my $exp = iso(time + 86400 * 30);
    $r = ok_run(run(@g, '--json', 'create', '--account', 'bob@corp:1',
                    '--perm', 'read,trade,withdraw',
                    '--ip', '10.1.2.3/8,192.168.0.7,2001:DB8:0:0::1/64,10.9.9.9/8',
                    '--label', "Bob's \"bot\" \\ caf\xc3\xa9",
                    '--expires', $exp),
                'create --json with every option');
    $k = $json->decode($r->{out});
    is_deeply([sort keys %$k], [sort(@FIELDS, 'secret_key')],
              'create --json: the record fields and secret_key');
    like($k->{access_key}, qr/\A[A-Za-z0-9]{64}\z/, 'access key');
    like($k->{secret_key}, qr/\A[A-Za-z0-9]{64}\z/, 'secret key');
    is($k->{account}, 'bob@corp:1', 'account');
    is_deeply($k->{permissions}, [qw(read trade withdraw)], 'permissions');
    is_deeply($k->{ips}, ['10.0.0.0/8', '192.168.0.7/32', '2001:db8::/64'],
              'IPs in canonical form, duplicates merged');
    is($k->{label}, "Bob's \"bot\" \\ caf\x{e9}", 'label with quotes, '
       . 'backslash and UTF-8 round-trips through JSON');
    is($k->{expires_at}, $exp, 'expires_at');
    like($r->{err}, qr/shown only this once/, 'note on stderr with --json');

    my $bob = { %$k };
    $r = ok_run(run(@g, '--json', 'show', $bob->{access_key}), 'show bob');
    my $shown = $json->decode($r->{out});
    delete $k->{secret_key};
    is_deeply($shown, $k, 'show gives what create printed, minus the secret');

    $r = ok_run(run(@g, 'show', $bob->{access_key}), 'show bob text');
    like($r->{out}, qr/^ips: 10\.0\.0\.0\/8,192\.168\.0\.7\/32,2001:db8::\/64$/m,
         'show text: IPs');
    like($r->{out}, qr/^permissions: read,trade,withdraw$/m,
         'show text: permissions');
    like($r->{out}, qr/^expires_at: \Q$exp\E$/m, 'show text: expires_at');

    # list
    $r = ok_run(run(@g, 'list'), 'list text');
    @lines = split /\n/, $r->{out};
    is(scalar @lines, 3, 'header and two keys');
    like($lines[0], qr/\AACCESS_KEY +ACCOUNT +STATUS +PERMISSIONS +IPS +CREATED +LAST_USED +LABEL\z/,
         'header');
    for my $col (qw(ACCOUNT STATUS PERMISSIONS IPS CREATED LAST_USED LABEL)) {
        my $at = index($lines[0], $col);
        ok($at > 0 && substr($lines[1], $at - 2, 2) eq '  '
           && substr($lines[2], $at - 2, 2) eq '  '
           && substr($lines[1], $at, 1) ne ' '
           && substr($lines[2], $at, 1) ne ' ',
           "column $col aligned");
    }
    unlike($r->{out}, qr/\Q$sk\E|\Q$bob->{secret_key}\E/, 'list: no secrets');

    $r = ok_run(run(@g, '--json', 'list'), 'list --json');
    my $rows = decode_lines($r->{out});
    is(scalar @$rows, 2, 'one object per line');
    is_deeply([sort keys %{ $rows->[0] }], [sort @FIELDS], 'list fields');
    unlike($r->{out}, qr/secret/, 'list --json: no secrets');

    $r = ok_run(run(@g, '--json', 'list', '--account', 'alice'),
                'list --account');
    $rows = decode_lines($r->{out});
    is_deeply([map { $_->{access_key} } @$rows], [$ak], 'only alice');

    $r = ok_run(run(@g, 'list', '--account', 'nobody'), 'list no match');
    like($r->{out}, qr/\AACCESS_KEY +ACCOUNT [^\n]*LABEL\n\z/,
         'only the header when nothing matches');

    $r = ok_run(run(@g, '--json', 'list', '--account', 'nobody'),
                'list --json no match');
    is($r->{out}, '', 'nothing');
}


# --- import, list order and filters ---------------------------------------

{
    my ($st2, $mk2, @g2) = new_store();
    my $secret = 'S3cr3t-' . rand_alnum(20);
    my @in = (
        { access_key => 'key.old', secret_key => $secret, account => 'acc1',
          created_at => '2020-01-01T00:00:00Z',
          last_used_at => '2020-06-01T00:00:00Z' },
        { access_key => 'key-new', secret_key => $secret, account => 'acc1',
          created_at => '2024-01-01T00:00:00+02:00', label => 'new one',
          permissions => ['trade', 'read'], ips => ['127.0.0.1', '::1'],
          status => 'disabled', expires_at => '2030-01-01T00:00:00Z',
          locked_until => undef, last_used_at => undef },
        { access_key => 'key_b', secret_key => $secret, account => 'acc2',
          created_at => '2022-05-05T05:05:05Z', status => 'expired',
          totp_enrolled => JSON::PP::false },
        { access_key => 'key_a', secret_key => $secret, account => 'acc2',
          created_at => '2022-05-05T05:05:05Z', status => 'locked',
          locked_until => '2030-01-01T00:00:00Z' },
    );
    my $text = join("\n", map { $json->encode($_) } @in[0, 1]) . "\n\n  \n"
               . join("\n", map { $json->encode($_) } @in[2, 3]) . "\n";

    my $r = ok_run(run({ stdin => $text }, @g2, 'import'), 'import');
    is($r->{out}, "imported 4 keys\n", 'import text output (blank lines skipped)');

    $r = ok_run(run(@g2, '--json', 'list'), 'list after import');
    my $rows = decode_lines($r->{out});
    is_deeply([map { $_->{access_key} } @$rows],
              [qw(key-new key_a key_b key.old)],
              'newest first, then by access key');

    my %by = map { $_->{access_key} => $_ } @$rows;
    is($by{'key-new'}{created_at}, '2023-12-31T22:00:00Z', 'offset to UTC');
    is_deeply($by{'key-new'}{permissions}, [qw(read trade)], 'permissions');
    is_deeply($by{'key-new'}{ips}, ['127.0.0.1/32', '::1/128'], 'ips');
    is($by{'key-new'}{status}, 'disabled', 'status');
    is($by{'key-new'}{label}, 'new one', 'label');
    is($by{'key-new'}{expires_at}, '2030-01-01T00:00:00Z', 'expires_at');
    ok(!defined $by{'key-new'}{last_used_at}, 'null last_used_at');
    is($by{'key.old'}{last_used_at}, '2020-06-01T00:00:00Z', 'last_used_at');
    is_deeply($by{'key.old'}{permissions}, ['read'], 'default permission');
    is($by{'key.old'}{status}, 'active', 'default status');
    is($by{key_a}{locked_until}, '2030-01-01T00:00:00Z', 'locked_until');

    for my $s (qw(active disabled expired locked)) {
        $r = ok_run(run(@g2, '--json', 'list', '--status', $s),
                    "list --status $s");
        is(scalar @{ decode_lines($r->{out}) }, 1, "one key $s");
    }

    $r = ok_run(run(@g2, '--json', 'list', '--idle-over', '1000d'),
                'list --idle-over');
    my %idle = map { $_->{access_key} => 1 } @{ decode_lines($r->{out}) };
    ok($idle{'key.old'}, 'a key unused for years is idle');
    $r = ok_run(run(@g2, '--json', 'list', '--idle-over', '36500d'),
                'list --idle-over 100 years');
    is($r->{out}, '', 'no key idle that long');

    $r = ok_run(run(@g2, '--json', 'list', '--account', 'acc2',
                    '--status', 'locked'), 'filters combine');
    is_deeply([map { $_->{access_key} } @{ decode_lines($r->{out}) }],
              ['key_a'], 'account and status');

    # a list --json line, with a secret added, imports again elsewhere
    my ($st3, $mk3, @g3) = new_store();
    my $line = $by{'key-new'};
    $line->{secret_key} = $secret;
    $r = ok_run(run({ stdin => $json->encode($line) }, @g3, '--json',
                    'import'), 'a list line imports');
    is_deeply($json->decode($r->{out}), { imported => 1 }, 'import --json');
    delete $line->{secret_key};
    is_deeply($json->decode(run(@g3, '--json', 'show', 'key-new')->{out}),
              $line, 'same record in the other store');

    # from a pipe (read, not mapped), with CRLF line ends
    my ($st7, $mk7, @g7) = new_store();
    my $file = "$tmp/pipe.jsonl";
    spew($file, join("\r\n", map { $json->encode($_) } @in) . "\r\n");
    my $out = "$tmp/pipe.out";
    system('sh', '-c', 'cat "$1" | "$2" --store "$3" --master-key "$4" '
           . '--json import > "$5" 2>&1', 'sh', $file, $bin, $st7, $mk7,
           $out);
    is($? >> 8, 0, 'import from a pipe');
    is(slurp($out), qq({"imported":4}\n), 'import from a pipe: output');
    is(list_json(@g7), list_json(@g2), 'same keys as from a file');

    spew($file, join("\n", map { $json->encode($_) } @in[0, 1])
                . "\n{\"access_key\":\"k\"}\n");
    my ($st8, $mk8, @g8) = new_store();
    system('sh', '-c', 'cat "$1" | "$2" --store "$3" --master-key "$4" '
           . 'import > "$5" 2>&1', 'sh', $file, $bin, $st8, $mk8, $out);
    is($? >> 8, 1, 'import from a pipe: bad line 3');
    like(slurp($out), qr/\Aapisecctl: error: line 3: missing field "secret_key"\n\z/,
         'import from a pipe: message');

    # enable revives expired and locked keys
    $r = ok_run(run(@g2, 'enable', 'key_b'), 'enable an expired key');
    like($r->{out}, qr/\Akey key_b enabled\b.*\n\z/, 'confirmation');
    my $k = $json->decode(run(@g2, '--json', 'show', 'key_b')->{out});
    is($k->{status}, 'active', 'expired key active again');
    my $lu = from_iso($k->{last_used_at} // '');
    ok(defined $lu && abs($lu - time) < 120, 'idle clock restarted');

    $r = ok_run(run(@g2, '--json', 'enable', 'key_a'), 'enable --json');
    $k = $json->decode($r->{out});
    is($k->{status}, 'active', 'locked key active again');
    ok(!defined $k->{locked_until}, 'locked_until cleared');

    $r = ok_run(run(@g2, 'enable', 'key-new'), 'enable a disabled key');
    is($json->decode(run(@g2, '--json', 'show', 'key-new')->{out})->{status},
       'active', 'disabled key active');
}


# --- set --------------------------------------------------------------------

{
    my $k = create_key(\@g, '--account', 'carol', '--ip', '10.0.0.1');
    my $ak = $k->{access_key};

    my $r = ok_run(run(@g, 'set', $ak, '--perm', 'trade,withdraw',
                       '--label', 'trading bot'), 'set --perm --label');
    like($r->{out}, qr/^permissions: trade,withdraw$/m, 'prints the record');
    like($r->{out}, qr/^label: trading bot$/m, 'label in output');

    my $t = '2031-02-03T04:05:06Z';
    $r = ok_run(run(@g, '--json', 'set', $ak, '--ip', '172.16.5.4/12,fe80::1',
                    '--expires', $t, '--last-used', '2024-01-02T03:04:05Z'),
                'set --json --ip --expires --last-used');
    my $s = $json->decode($r->{out});
    is_deeply($s->{ips}, ['172.16.0.0/12', 'fe80::1/128'], 'ips replaced');
    is($s->{expires_at}, $t, 'expires_at set');
    is($s->{last_used_at}, '2024-01-02T03:04:05Z', 'last_used_at set');
    is_deeply($s->{permissions}, [qw(trade withdraw)], 'permissions kept');
    is($s->{label}, 'trading bot', 'label kept');
    is($s->{created_at}, $k->{created_at}, 'created_at kept');

    $r = ok_run(run(@g, '--json', 'set', $ak, '--ip', 'none', '--expires',
                    'none', '--last-used', 'none', '--label', ''),
                'set ... none');
    $s = $json->decode($r->{out});
    is_deeply($s->{ips}, [], 'ips cleared');
    ok(!defined $s->{expires_at}, 'expires_at cleared');
    ok(!defined $s->{last_used_at}, 'last_used_at cleared');
    is($s->{label}, '', 'label cleared');

    is_deeply($json->decode(run(@g, '--json', 'show', $ak)->{out}), $s,
              'show agrees with set');

    # an IP list of exactly 20
    my $ips = join ',', map { "10.0.$_.0/24" } 1 .. 20;
    $r = ok_run(run(@g, '--json', 'set', $ak, '--ip', $ips), '20 CIDRs');
    is(scalar @{ $json->decode($r->{out})->{ips} }, 20, '20 kept');
}


# --- disable, enable, rotate, revoke ---------------------------------------

{
    my $k = create_key(\@g, '--account', 'dave', '--perm', 'read,trade');
    my $ak = $k->{access_key};

    my $r = ok_run(run(@g, 'disable', $ak), 'disable');
    is($r->{out}, "key $ak disabled\n", 'disable confirmation');
    is($json->decode(run(@g, '--json', 'show', $ak)->{out})->{status},
       'disabled', 'disabled');

    $r = ok_run(run(@g, '--json', 'disable', $ak), 'disable --json');
    is($json->decode($r->{out})->{status}, 'disabled', 'JSON record');

    $r = ok_run(run(@g, 'enable', $ak), 'enable');
    is($r->{out}, "key $ak enabled (was disabled)\n", 'enable confirmation');
    is($json->decode(run(@g, '--json', 'show', $ak)->{out})->{status},
       'active', 'active');

    # rotate: new secret, same access key, rest unchanged
    my $before = $json->decode(run(@g, '--json', 'show', $ak)->{out});
    $r = ok_run(run(@g, 'rotate', $ak), 'rotate');
    my ($rak, $rsk) = $r->{out} =~ /\Aaccess_key: (\S+)\nsecret_key: (\S+)\n\z/;
    is($rak, $ak, 'same access key');
    like($rsk // '', qr/\A[A-Za-z0-9]{64}\z/, 'new secret');
    isnt($rsk, $k->{secret_key}, 'secret changed');
    like($r->{err}, qr/shown only this once/, 'note on stderr');

    $r = ok_run(run(@g, '--json', 'rotate', $ak), 'rotate --json');
    my $j = $json->decode($r->{out});
    isnt($j->{secret_key}, $rsk, 'changed again');
    isnt($j->{secret_key}, $k->{secret_key}, 'not the first one either');
    my $sk = delete $j->{secret_key};
    is_deeply($j, $before, 'record otherwise unchanged');
    unlike(run(@g, '--json', 'show', $ak)->{out}, qr/\Q$sk\E/,
           'secret not shown afterwards');

    # revoke
    $r = ok_run(run(@g, 'revoke', $ak), 'revoke');
    is($r->{out}, "key $ak revoked\n", 'revoke confirmation');
    $r = run(@g, 'show', $ak);
    is($r->{rc}, 1, 'revoked key is gone');
    like($r->{err}, qr/\Aapisecctl: error: unknown key "\Q$ak\E"\n\z/,
         'unknown key');
    my %left = map { $_->{access_key} => 1 } @{ decode_lines(list_json(@g)) };
    ok(!$left{$ak}, 'not listed');

    $k = create_key(\@g, '--account', 'erin');
    $r = ok_run(run(@g, '--json', 'revoke', $k->{access_key}),
                'revoke --json');
    is_deeply($json->decode($r->{out}),
              { access_key => $k->{access_key}, revoked => JSON::PP::true },
              'revoke JSON');
}


# --- errors -------------------------------------------------------------------

{
    my $k = create_key(\@g, '--account', 'frank');
    my $ak = $k->{access_key};
    my $ok_secret = rand_alnum(32);
    my $cidrs21 = join ',', map { "10.1.$_.0/24" } 1 .. 21;

    # usage errors: exit 2
    fails(\@g, [@g, 'frob'], 2, qr/unknown command "frob"/, 'unknown command');
    fails(\@g, [@g, 'list', '--frob'], 2, qr/unknown option "--frob"/,
          'unknown option');
    fails(\@g, ['--frob', @g, 'list'], 2, qr/unknown option "--frob"/,
          'unknown global option');
    fails(\@g, [@g, 'show', $ak, '--perm', 'read'], 2,
          qr/unknown option "--perm" for "show"/, 'option of another command');
    fails(\@g, [@g, 'show'], 2, qr/missing argument/, 'missing argument');
    fails(\@g, [@g, 'show', $ak, 'x'], 2, qr/unexpected argument "x"/,
          'extra argument');
    fails(\@g, [@g, 'create', '--label'], 2, qr/--label needs a value/,
          'option without its value');
    fails(\@g, [@g, 'create'], 2, qr/--account/, 'create without --account');
    fails(\@g, [@g, 'create', '--account', 'a', '--account', 'b'], 2,
          qr/more than once/, 'option twice');
    fails(\@g, [@g, '--json=yes', 'list'], 2, qr/takes no value/,
          'value for a flag');
    fails(\@g, [@g, 'set', $ak], 2, qr/at least one of/, 'set without options');
    fails(\@g, [], 2, qr/no command given/, 'no command');
    fails(\@g, [@g, '--map-size', 'huge', 'list'], 2, qr/invalid --map-size/,
          'bad map size');


    # errors: exit 1
    for my $cmd (['show'], ['disable'], ['enable'], ['revoke'], ['rotate'],
                 ['set', '--label', 'x'])
    {
        my ($c, @o) = @$cmd;
        fails(\@g, [@g, $c, 'NoSuchKey', @o], 1, qr/unknown key "NoSuchKey"/,
              "$c: unknown key");
    }
    for my $c (qw(unlock usage)) {
        fails(\@g, [@g, $c, 'NoSuchKey'], 1, qr/unknown key "NoSuchKey"/,
              "$c: unknown key");
        fails(\@g, [@g, $c], 2, qr/missing argument \(usage: apisecctl \Q$c\E KEY\)/,
              "$c: no key");
    }
    fails(\@g, [@g, 'unlock', $ak], 1,
          qr/\Aapisecctl: error: key \Q$ak\E is not locked \(it is \w+\)\n\z/,
          'unlock: a key that is not locked');
    {
        my $u = run(@g, 'usage', $ak);
        is($u->{rc}, 0, 'usage of a key nothing counted for: exit 0');
        like($u->{out}, qr/no amount or failures rule has counted/,
             'usage: says so');
        is(run(@g, '--json', 'usage', $ak)->{out}, '',
           'usage --json: no rows');
    }

    fails(\@g, [@g, 'show', 'bad/key'], 1, qr/invalid access key "bad\/key"/,
          'malformed access key');
    fails(\@g, [@g, 'create', '--account', 'x', '--ip', '10.0.0.1,300.1.1.1/8'],
          1, qr/invalid CIDR "300\.1\.1\.1\/8"/, 'bad CIDR named');
    fails(\@g, [@g, 'create', '--account', 'x', '--ip', '10.0.0.0/33'],
          1, qr/invalid CIDR "10\.0\.0\.0\/33"/, 'bad prefix');
    fails(\@g, [@g, 'set', $ak, '--ip', '::1,zz::1'],
          1, qr/invalid CIDR "zz::1"/, 'set: bad CIDR');
    fails(\@g, [@g, 'create', '--account', 'x', '--ip', $cidrs21], 1,
          qr/too many CIDRs.*21.*at most 20/, 'more than 20 CIDRs');
    fails(\@g, [@g, 'set', $ak, '--ip', $cidrs21], 1, qr/too many CIDRs/,
          'set: more than 20 CIDRs');
    fails(\@g, [@g, 'create', '--account', 'x', '--perm', 'read,admin'], 1,
          qr/unknown permission "admin"/, 'unknown permission');
    fails(\@g, [@g, 'set', $ak, '--perm', 'fly'], 1,
          qr/unknown permission "fly"/, 'set: unknown permission');
    fails(\@g, [@g, 'create', '--account', 'x', '--expires', 'next week'], 1,
          qr/invalid time "next week" for --expires/, 'bad time');
    fails(\@g, [@g, 'create', '--account', 'x', '--expires',
                '2001-01-01T00:00:00Z'], 1, qr/in the past/,
          'expiry in the past');
    fails(\@g, [@g, 'set', $ak, '--last-used', '2024-13-01T00:00:00Z'], 1,
          qr/invalid time .* for --last-used/, 'set: bad time');
    fails(\@g, [@g, 'list', '--idle-over', '90x'], 1,
          qr/invalid duration "90x"/, 'bad duration');
    fails(\@g, [@g, 'list', '--status', 'sleeping'], 1,
          qr/invalid status "sleeping"/, 'bad status');
    fails(\@g, [@g, 'create', '--account', 'bad account'], 1,
          qr/invalid account "bad account"/, 'bad account');
    fails(\@g, [@g, 'create', '--account', 'x' x 129], 1,
          qr/invalid account/, 'account too long');
    fails(\@g, [@g, 'list', '--account', 'a/b'], 1, qr/invalid account/,
          'list: bad account');
    fails(\@g, [@g, 'create', '--account', 'x', '--label', "a\nb"], 1,
          qr/invalid label "a\\x0ab": control characters/,
          'label with a newline');
    fails(\@g, [@g, 'set', $ak, '--label', "tab\there"], 1,
          qr/control characters/, 'set: label with a tab');
    fails(\@g, [@g, 'create', '--account', 'x', '--label', 'L' x 257], 1,
          qr/invalid label/, 'label too long');

    # master key and store
    my $other = "$tmp/mk-other";
    ok_run(run('master-key', $other), 'master key of another store');
    fails(\@g, ['--store', $st, '--master-key', $other, 'list'], 1,
          qr/master key does not open the store/,
          'the master key of another store is refused');
    fails(\@g, ['--store', $st, '--master-key', $other, 'create',
                '--account', 'x'], 1, qr/master key does not open/,
          'create with a wrong master key');
    fails(\@g, ['--store', $st, '--master-key', "$tmp/no-such-mk", 'list'], 1,
          qr/no-such-mk/, 'missing master key file');
    fails(\@g, ['--store', "$tmp/no-such-store", '--master-key', $mk, 'list'],
          1, qr/no apisec store at .*no-such-store/, 'missing store');
    fails(\@g, ['--master-key', $mk, 'list'], 2, qr/no store given/,
          'no store given');
    fails(\@g, ['--store', $st, 'list'], 2, qr/no master key given/,
          'no master key given');

    my $loose = "$tmp/mk-loose";
    spew($loose, slurp($mk));
    chmod 0644, $loose;
    fails(\@g, ['--store', $st, '--master-key', $loose, 'list'], 1,
          qr/mk-loose/, 'a master key file others can read is refused');

    spew("$tmp/mk-short", 'x' x 10);
    chmod 0600, "$tmp/mk-short";
    fails(\@g, ['--store', $st, '--master-key', "$tmp/mk-short", 'list'], 1,
          qr/mk-short/, 'a master key file of the wrong size is refused');

    # import errors: the line and the field are named
    my $good = sub {
        my (%o) = @_;
        my %l = (access_key => 'imp' . rand_alnum(8),
                 secret_key => $ok_secret, account => 'imp', %o);
        delete $l{$_} for grep { !defined $o{$_} && exists $o{$_} } keys %o;
        return $json->encode(\%l);
    };
    my @cases = (
        [ '{"access_key":"x1","secret_key":"' . $ok_secret . '","account":"a","color":"red"}',
          qr/line 1: unknown field "color"/, 'unknown field' ],
        [ $good->(secret_key => undef), qr/line 1: missing field "secret_key"/,
          'missing secret_key' ],
        [ $good->(access_key => undef), qr/line 1: missing field "access_key"/,
          'missing access_key' ],
        [ $good->(account => undef), qr/line 1: missing field "account"/,
          'missing account' ],
        [ $good->(access_key => 'a b'),
          qr/line 1: field "access_key": invalid access key "a b"/,
          'bad access key' ],
        [ $good->(secret_key => 'short'),
          qr/line 1: field "secret_key": invalid secret/, 'short secret' ],
        [ $good->(account => 'a b'),
          qr/line 1: field "account": invalid account/, 'bad account' ],
        [ $good->(ips => ['1.2.3.4', '1.2.3.999']),
          qr/line 1: field "ips": invalid CIDR "1\.2\.3\.999"/, 'bad CIDR' ],
        [ $good->(ips => [map { "10.2.$_.0/24" } 1 .. 21]),
          qr/line 1: field "ips": too many CIDRs/, 'more than 20 CIDRs' ],
        [ $good->(ips => '10.0.0.0/8'),
          qr/line 1: field "ips": expected an array/, 'ips not an array' ],
        [ $good->(permissions => ['read', 'root']),
          qr/line 1: field "permissions": unknown permission "root"/,
          'unknown permission' ],
        [ $good->(permissions => []),
          qr/line 1: field "permissions": at least one/, 'no permission' ],
        [ $good->(status => 'zombie'),
          qr/line 1: field "status": invalid status "zombie"/, 'bad status' ],
        [ $good->(created_at => '2020-02-30T00:00:00Z'),
          qr/line 1: field "created_at": invalid time/, 'bad created_at' ],
        [ $good->(last_used_at => 1700000000),
          qr/line 1: field "last_used_at": expected a string/,
          'time as a number' ],
        [ $good->(expires_at => 'soon'),
          qr/line 1: field "expires_at": invalid time "soon"/,
          'bad expires_at' ],
        [ $good->(locked_until => 'x'),
          qr/line 1: field "locked_until": invalid time/, 'bad locked_until' ],
        [ $good->(label => "bell\x07"),
          qr/line 1: field "label": invalid label "bell\\x07": control characters/,
          'label with a control character' ],
        [ $good->(totp_enrolled => JSON::PP::true),
          qr/line 1: field "totp_enrolled": a TOTP enrolment cannot be imported/,
          'TOTP enrolment' ],
        [ '{"access_key":"x1","secret_key":"' . $ok_secret . '","account":"a",}',
          qr/line 1: invalid JSON at byte offset \d+: expected a member name/,
          'trailing comma' ],
        [ '{"access_key":"x1","access_key":"x2"}',
          qr/line 1: invalid JSON at byte offset 19: duplicate member "access_key"/,
          'duplicate member' ],
        [ "{\"access_key\":\"x1\",\"secret_key\":\"$ok_secret\",\"account\":\"a\",\"label\":\"\\ud800\"}",
          qr/line 1: invalid JSON .*lone high surrogate/, 'lone surrogate' ],
        [ "{\"access_key\":\"x1\",\"secret_key\":\"$ok_secret\",\"account\":\"a\",\"label\":\"\xc3\x28\"}",
          qr/line 1: invalid JSON .*invalid UTF-8/, 'invalid UTF-8' ],
        [ 'not json', qr/line 1: invalid JSON at byte offset 0/, 'not JSON' ],
        [ '{"access_key":"' . $ak . '","secret_key":"' . $ok_secret
          . '","account":"a"}',
          qr/line 1: field "access_key": key "\Q$ak\E" already exists in the store/,
          'key already in the store' ],
        [ $good->(access_key => 'dup1') . "\n" . $good->(access_key => 'dup2')
          . "\n" . $good->(access_key => 'dup1'),
          qr/line 3: field "access_key": key "dup1" is already on line 1/,
          'duplicate key in the input' ],
        [ '{"access_key":"x1","secret_key":"' . $ok_secret . '","account":"a",'
          . '"label":"' . ('y' x 70000) . '"}',
          qr/line 1: line longer than 65536 bytes/, 'line too long' ],
    );

    for my $c (@cases) {
        my $r = fails(\@g, [@g, 'import'], 1, $c->[1], "import: $c->[2]",
                      stdin => "$c->[0]\n");
        unlike($r->{err}, qr/\Q$ok_secret\E/, "import: $c->[2]: no secret "
               . 'in the message');
    }

    # all or nothing: line 3 of 5 is bad
    my @five = map { $good->(access_key => "five$_") } 1 .. 5;
    $five[2] = $good->(access_key => 'five3', ips => ['1.2.3.4/99']);
    fails(\@g, [@g, 'import'], 1,
          qr/\Aapisecctl: error: line 3: field "ips": invalid CIDR "1\.2\.3\.4\/99"\n\z/,
          'import: bad line 3 of 5 imports nothing',
          stdin => join("\n", @five) . "\n");
    my $r = run(@g, 'show', 'five1');
    is($r->{rc}, 1, 'line 1 was not imported');
}


# --- OKX passphrase ----------------------------------------------------------
#
# The store keeps salt || HMAC-SHA256(P, salt || passphrase) with
# P = HMAC-SHA256(master key, "apisec passphrase v1") under tag 14 of the
# key record; the record is read back with mdb_dump (lmdb-utils) to check
# that the right bytes were hashed.

{
    require Digest::SHA;

    my ($stp, $mkp, @gp) = new_store();
    my $have_dump = system('sh', '-c', 'command -v mdb_dump >/dev/null') == 0;
    my @outputs;            # everything printed in this section
    my @passes;             # every passphrase used in this section

    my $pass = sub {
        my $p = rand_alnum(20) . $_[0];
        push @passes, $p;
        return $p;
    };

    my $prun = sub {
        my $r = run(@_);
        push @outputs, $r->{out}, $r->{err};
        return $r;
    };

    my $pfails = sub {
        my $r = fails(@_);
        push @outputs, $r->{out}, $r->{err};
        return $r;
    };

    my $show = sub {
        my $r = $prun->(@gp, '--json', 'show', $_[0]);
        die "show failed: $r->{err}" if $r->{rc} != 0;
        return $json->decode($r->{out});
    };

    # the passhash field of a record in the store: undef without one
    my $passhash = sub {
        my ($ak, $st) = @_;
        open my $fh, '-|', 'mdb_dump', '-s', 'keys', $st // $stp
            or die "mdb_dump: $!";
        my @l = <$fh>;
        close $fh;
        my ($in, @kv) = (0);
        for (@l) {
            chomp;
            last if $_ eq 'DATA=END';
            push @kv, pack('H*', substr($_, 1)) if $in && /^ /;
            $in = 1 if $_ eq 'HEADER=END';
        }
        my %rec = @kv;
        my $rec = $rec{$ak} // die "no record $ak";
        my $pos = 1;
        while ($pos + 3 <= length $rec) {
            my ($tag, $len) = unpack 'C n', substr($rec, $pos, 3);
            return substr($rec, $pos + 3, $len) if $tag == 14;
            $pos += 3 + $len;
        }
        return undef;
    };

    # 1: the stored hash is that of $p; 0: of something else
    my $matches = sub {
        my ($ak, $p, $st, $mk) = @_;
        my $ph = $passhash->($ak, $st);
        return 0 unless defined $ph && length $ph == 48;
        my $key = Digest::SHA::hmac_sha256('apisec passphrase v1',
                                           slurp($mk // $mkp));
        return Digest::SHA::hmac_sha256(substr($ph, 0, 16) . $p, $key)
               eq substr($ph, 16) ? 1 : 0;
    };

    my $is_hash_of = sub {
        my ($ak, $p, $name) = @_;
        SKIP: {
            skip 'mdb_dump not installed', 2 unless $have_dump;
            is($matches->($ak, $p), 1, "$name: the stored hash is of it");
            is($matches->($ak, $p . 'x'), 0, "$name: and of nothing else");
        }
    };

    my $no_hash = sub {
        my ($ak, $name) = @_;
        SKIP: {
            skip 'mdb_dump not installed', 1 unless $have_dump;
            ok(!defined $passhash->($ak), "$name: no hash in the record");
        }
    };

    # create --passphrase, text
    my $p1 = $pass->(' with spaces ~!@#$%^&*()');
    my $r = ok_run($prun->(@gp, 'create', '--account', 'okx',
                           '--passphrase', $p1), 'create --passphrase');
    my ($ak1) = $r->{out} =~ /\Aaccess_key: (\S+)\nsecret_key: \S+\n\z/;
    ok(defined $ak1, 'create text: the two lines as before');
    $r = ok_run($prun->(@gp, 'show', $ak1), 'show text');
    like($r->{out}, qr/^has_passphrase: yes$/m, 'show text: has_passphrase yes');
    is_deeply([map { /^([a-z_]+): / ? $1 : '?' } split /\n/, $r->{out}],
              \@FIELDS, 'show text: one line per field, in order');
    my $k = $show->($ak1);
    ok(JSON::PP::is_bool($k->{has_passphrase}) && $k->{has_passphrase},
       'show --json: has_passphrase true');
    $is_hash_of->($ak1, $p1, 'create --passphrase');

    # create --json --passphrase=P
    my $p2 = $pass->('');
    $r = ok_run($prun->(@gp, '--json', 'create', '--account', 'okx',
                        "--passphrase=$p2", '--perm', 'read,trade'),
                'create --json --passphrase=P');
    $k = $json->decode($r->{out});
    is_deeply([sort keys %$k], [sort(@FIELDS, 'secret_key')],
              'create --json: the record fields and secret_key');
    ok($k->{has_passphrase}, 'create --json: has_passphrase true');
    my $ak2 = $k->{access_key};
    $is_hash_of->($ak2, $p2, 'create --passphrase=P');

    # the hash is salted: the same passphrase on two keys
    $r = ok_run($prun->(@gp, '--json', 'create', '--account', 'okx',
                        '--passphrase', $p2), 'the same passphrase again');
    my $ak2b = $json->decode($r->{out})->{access_key};
    SKIP: {
        skip 'mdb_dump not installed', 2 unless $have_dump;
        is($matches->($ak2b, $p2), 1, 'second key: hash of the passphrase');
        isnt($passhash->($ak2b), $passhash->($ak2),
             'same passphrase, another salt, another hash');
    }

    # without, and with none
    $k = create_key(\@gp, '--account', 'okx');
    ok(!$k->{has_passphrase}, 'create without: has_passphrase false');
    my $ak3 = $k->{access_key};
    $no_hash->($ak3, 'create without');

    $k = create_key(\@gp, '--account', 'okx', '--passphrase', 'none');
    ok(!$k->{has_passphrase}, 'create --passphrase none: false');
    $no_hash->($k->{access_key}, 'create --passphrase none');

    # set: add, replace, remove; nothing else changes
    my $before = $show->($ak3);
    my $p3 = $pass->('');
    $r = ok_run($prun->(@gp, 'set', $ak3, '--passphrase', $p3),
                'set --passphrase');
    like($r->{out}, qr/^has_passphrase: yes$/m, 'set prints the record');
    my $after = $show->($ak3);
    ok($after->{has_passphrase}, 'set: has_passphrase true');
    delete $_->{has_passphrase} for $before, $after;
    is_deeply($after, $before, 'set --passphrase: the rest unchanged');
    $is_hash_of->($ak3, $p3, 'set --passphrase');

    my $old = $have_dump ? $passhash->($ak3) : '';
    my $p4 = $pass->('');
    $r = ok_run($prun->(@gp, '--json', 'set', $ak3, '--passphrase', $p4,
                        '--label', 'okx bot'), 'set --json: replace it');
    $k = $json->decode($r->{out});
    ok($k->{has_passphrase}, 'set --json: has_passphrase');
    is($k->{label}, 'okx bot', 'with another option');
    $is_hash_of->($ak3, $p4, 'set --passphrase replaces');
    SKIP: {
        skip 'mdb_dump not installed', 2 unless $have_dump;
        is($matches->($ak3, $p3), 0, 'the old passphrase no longer matches');
        isnt($passhash->($ak3), $old, 'new salt and hash');
    }

    $r = ok_run($prun->(@gp, '--json', 'set', $ak3, '--passphrase', 'none'),
                'set --passphrase none');
    ok(!$json->decode($r->{out})->{has_passphrase}, 'removed');
    ok(!$show->($ak3)->{has_passphrase}, 'show agrees');
    $no_hash->($ak3, 'set --passphrase none');

    $r = ok_run($prun->(@gp, 'set', $ak3, '--passphrase', 'none'),
                'set --passphrase none on a key without one');
    like($r->{out}, qr/^has_passphrase: no$/m, 'still none');

    # other commands keep the passphrase and print has_passphrase
    for my $c (qw(disable enable rotate)) {
        $r = ok_run($prun->(@gp, '--json', $c, $ak1), "$c --json");
        ok($json->decode($r->{out})->{has_passphrase},
           "$c --json: has_passphrase");
    }
    $is_hash_of->($ak1, $p1, 'kept through disable, enable, rotate');

    # list --json, but no column in the text table
    my %has = map { $_->{access_key} => $_->{has_passphrase} }
              @{ decode_lines(list_json(@gp)) };
    ok($has{$ak1} && $has{$ak2} && !$has{$ak3}, 'list --json: has_passphrase');
    ok(!grep({ !JSON::PP::is_bool($_) } values %has), 'booleans');
    $r = ok_run($prun->(@gp, 'list'), 'list text');
    like($r->{out}, qr/\AACCESS_KEY +ACCOUNT +STATUS +PERMISSIONS +IPS +CREATED +LAST_USED +LABEL\n/,
         'list text: the same columns');

    # --passphrase-file: the first line, its line end stripped, nothing else
    my $pf = "$tmp/passfile";
    my %files = (
        'a file'                   => [ "%s\n", '' ],
        'no final newline'         => [ '%s', '' ],
        'CRLF'                     => [ "%s\r\n", '' ],
        'only the first line'      => [ "%s\nsecond line\n", '' ],
        'spaces kept'              => [ "  %s  \n", '  ' ],
    );
    for my $name (sort keys %files) {
        my $p = $pass->('');
        spew($pf, sprintf $files{$name}[0], $p);
        $r = ok_run($prun->(@gp, '--json', 'set', $ak3, '--passphrase-file',
                            $pf), "--passphrase-file: $name");
        ok($json->decode($r->{out})->{has_passphrase}, "$name: set");
        my $want = $name eq 'spaces kept' ? "  $p  " : $p;
        $is_hash_of->($ak3, $want, "--passphrase-file: $name");
    }

    my $p5 = $pass->('');
    $r = ok_run($prun->({ stdin => "$p5\n" }, @gp, '--json', 'create',
                        '--account', 'okx', '--passphrase-file', '-'),
                'create --passphrase-file - (standard input)');
    my $ak5 = $json->decode($r->{out})->{access_key};
    ok($json->decode($r->{out})->{has_passphrase}, 'stdin: has_passphrase');
    $is_hash_of->($ak5, $p5, 'create --passphrase-file -');

    my $p6 = $pass->('');
    ok_run($prun->({ stdin => "$p6\r\nrest" }, @gp, 'set', $ak5,
                   '--passphrase-file=-'), 'set --passphrase-file=-');
    $is_hash_of->($ak5, $p6, 'set --passphrase-file=-');

    # from a file, "none" is a passphrase like any other
    spew($pf, "none\n");
    $r = ok_run($prun->(@gp, '--json', 'set', $ak5, '--passphrase-file', $pf),
                'a passphrase file holding "none"');
    ok($json->decode($r->{out})->{has_passphrase}, '"none" is set, not removed');
    $is_hash_of->($ak5, 'none', 'the passphrase "none"');

    # the longest, and every printable character
    my $p128 = join '', map { chr(0x20 + $_ % 95) } 0 .. 127;
    spew($pf, "$p128\n");
    ok_run($prun->(@gp, 'set', $ak5, '--passphrase-file', $pf),
           '128 bytes of every printable character');
    $is_hash_of->($ak5, $p128, '128 bytes');

    # from a terminal: read with echo off, after a prompt on stderr
    SKIP: {
        skip 'IO::Pty not installed', 5 unless eval { require IO::Pty; 1 };

        my $p = $pass->(' typed');
        my $pty = IO::Pty->new;
        my $out = "$tmp/tty.out";
        my $pid = fork // die "fork: $!";

        if ($pid == 0) {
            my $slave = $pty->slave;
            close $pty;
            open STDIN, '<&', $slave or die;
            open STDERR, '>&', $slave or die;
            open STDOUT, '>', $out or die;
            exec $bin, @gp, '--json', 'set', $ak5, '--passphrase-file', '-'
                or exit 127;
        }

        $pty->close_slave;
        my ($seen, $buf) = ('', '');
        my $deadline = time + 10;
        my $sel = '';
        vec($sel, fileno($pty), 1) = 1;
        my $typed = 0;

        while (time < $deadline) {
            my $rin = $sel;
            last unless defined select($rin, undef, undef, 0.5);
            if ($rin ne "\0" x length $rin && vec($rin, fileno($pty), 1)) {
                my $n = sysread($pty, $buf, 4096);
                last unless $n;
                $seen .= $buf;
            }
            if (!$typed && $seen =~ /passphrase \(not echoed\): /) {
                syswrite($pty, "$p\n");
                $typed = 1;
            }
        }

        waitpid $pid, 0;
        push @outputs, $seen, slurp($out);
        is($? >> 8, 0, 'terminal: exit 0');
        like($seen, qr/\Aapisecctl: passphrase \(not echoed\): /,
             'terminal: a prompt on stderr');
        unlike($seen, qr/\Q$p\E/, 'terminal: the passphrase is not echoed');
        ok(eval { $json->decode(slurp($out))->{has_passphrase} },
           'terminal: set');
        SKIP: {
            skip 'mdb_dump not installed', 1 unless $have_dump;
            is($matches->($ak5, $p), 1, 'terminal: the typed line is hashed');
        }
    }

    # --passphrase P leaves the command line at once (ps shows it no
    # more): hold the store's write lock with mdb_load so that create
    # waits, and look at its /proc/PID/cmdline meanwhile
    SKIP: {
        skip 'mdb_load not installed or no /proc', 3
            unless -r '/proc/self/cmdline'
                   && system('sh', '-c', 'command -v mdb_load >/dev/null') == 0;

        my $p = $pass->('');
        open my $load, '|-', 'mdb_load', '-s', 'keys', $stp
            or die "mdb_load: $!";
        select((select($load), $| = 1)[0]);
        print $load "VERSION=3\nformat=bytevalue\ntype=btree\nHEADER=END\n";
        select(undef, undef, undef, 0.5);

        my $out = "$tmp/ps.out";
        my $pid = fork // die "fork: $!";
        if ($pid == 0) {
            open STDOUT, '>', $out or die;
            open STDERR, '>', '/dev/null' or die;
            exec $bin, @gp, '--json', 'create', '--account', 'ps',
                 '--passphrase', $p or exit 127;
        }

        my $cmdline;
        for (1 .. 50) {
            select(undef, undef, undef, 0.1);
            my $wchan = slurp("/proc/$pid/wchan");
            $cmdline = slurp("/proc/$pid/cmdline");
            last if $wchan =~ /futex/;
        }
        close $load;
        waitpid $pid, 0;

        $cmdline //= '';
        $cmdline =~ tr/\0/ /;
        like($cmdline, qr/ create --account ps --passphrase /,
             'the command line of the waiting process');
        unlike($cmdline, qr/\Q$p\E/, 'no longer holds the passphrase');
        my $ak = eval { $json->decode(slurp($out))->{access_key} };
        ok($ak && $matches->($ak, $p), 'and the key got it');
        push @outputs, slurp($out);
    }

    # import: "passphrase" (hashed), "has_passphrase" (must agree)
    my ($sti, $mki, @gi) = new_store();
    my $sk = rand_alnum(32);
    my $pi = $pass->(' imported');
    my @lines = (
        { access_key => 'okx-1', secret_key => $sk, account => 'okx',
          passphrase => $pi },
        { access_key => 'okx-2', secret_key => $sk, account => 'okx',
          passphrase => $pi, has_passphrase => JSON::PP::true },
        { access_key => 'okx-3', secret_key => $sk, account => 'okx',
          has_passphrase => JSON::PP::false },
        { access_key => 'okx-4', secret_key => $sk, account => 'okx',
          passphrase => undef, has_passphrase => undef },
    );
    $r = $prun->({ stdin => join '', map { $json->encode($_) . "\n" } @lines },
                 @gi, 'import');
    ok_run($r, 'import with passphrases');
    is($r->{out}, "imported 4 keys\n", 'four keys');
    %has = map { $_->{access_key} => $_->{has_passphrase} }
           @{ decode_lines(list_json(@gi)) };
    is_deeply(\%has, { 'okx-1' => JSON::PP::true, 'okx-2' => JSON::PP::true,
                       'okx-3' => JSON::PP::false, 'okx-4' => JSON::PP::false },
              'has_passphrase after import');
    SKIP: {
        skip 'mdb_dump not installed', 3 unless $have_dump;
        is($matches->('okx-1', $pi, $sti, $mki), 1,
           'import: the hash of the passphrase');
        is($matches->('okx-2', $pi, $sti, $mki), 1,
           'import: with has_passphrase true');
        isnt($passhash->('okx-1', $sti), $passhash->('okx-2', $sti),
             'salted');
    }

    # list --json re-imports: has_passphrase false as it is, true with the
    # passphrase added
    my ($stj, $mkj, @gj) = new_store();
    my @relist = map {
        my $l = $_;
        $l->{secret_key} = $sk;
        $l->{passphrase} = $pi if $l->{has_passphrase};
        $json->encode($l) . "\n";
    } @{ decode_lines(list_json(@gi)) };
    ok_run($prun->({ stdin => join '', @relist }, @gj, 'import'),
           'list --json lines import again');
    is(list_json(@gj), list_json(@gi), 'the same records');

    # import errors: named, never showing the passphrase
    my $bad = $pass->('');
    my $line = sub {
        my (%o) = @_;
        return $json->encode({ access_key => 'okx-new', secret_key => $sk,
                               account => 'okx', %o }) . "\n";
    };
    my @icases = (
        [ $line->(has_passphrase => JSON::PP::true),
          qr/line 2: field "has_passphrase": true needs the passphrase itself in "passphrase"/,
          'has_passphrase true without a passphrase' ],
        [ $line->(has_passphrase => JSON::PP::false, passphrase => $bad),
          qr/line 2: field "has_passphrase": false, but the line has a "passphrase"/,
          'has_passphrase false with a passphrase' ],
        [ $line->(has_passphrase => 'yes'),
          qr/line 2: field "has_passphrase": expected a boolean, not a string/,
          'has_passphrase not a boolean' ],
        [ $line->(passphrase => "$bad\t"),
          qr/line 2: field "passphrase": invalid passphrase: byte 21 is a control character/,
          'passphrase with a tab' ],
        [ $line->(passphrase => "$bad\x{e9}"),
          qr/line 2: field "passphrase": invalid passphrase: byte 21 is not ASCII/,
          'passphrase with a non-ASCII character' ],
        [ $line->(passphrase => $bad x 7),
          qr/line 2: field "passphrase": invalid passphrase: it is 140 bytes long/,
          'passphrase too long' ],
        [ $line->(passphrase => ''),
          qr/line 2: field "passphrase": invalid passphrase: it is empty/,
          'empty passphrase' ],
        [ $line->(passphrase => 12345),
          qr/line 2: field "passphrase": expected a string or null, not an integer/,
          'passphrase as a number' ],
        [ $line->(passphrase => [$bad]),
          qr/line 2: field "passphrase": expected a string or null, not an array/,
          'passphrase as an array' ],
    );
    for my $c (@icases) {
        my $ok_line = $json->encode({ access_key => 'okx-ok',
                                      secret_key => $sk, account => 'okx',
                                      passphrase => $pi }) . "\n";
        $r = $pfails->(\@gi, [@gi, 'import'], 1, $c->[1], "import: $c->[2]",
                       stdin => $ok_line . $c->[0]);
    }

    # errors of the options: exit status, one line, the store unchanged
    my $long = $pass->('') x 7;
    my @ocases = (
        [ ['--passphrase', "$bad\x01"], 1,
          qr/invalid passphrase for --passphrase: byte 21 is a control character \(1 to 128 printable ASCII characters\)/,
          'a control character' ],
        [ ['--passphrase', "$bad\n"], 1,
          qr/invalid passphrase for --passphrase: byte 21 is a control/,
          'a newline' ],
        [ ['--passphrase', "$bad\x7f"], 1,
          qr/byte 21 is a control character/, 'DEL' ],
        [ ['--passphrase', "$bad\xc3\xa9"], 1,
          qr/byte 21 is not ASCII/, 'UTF-8' ],
        [ ['--passphrase', $long], 1,
          qr/invalid passphrase for --passphrase: it is 140 bytes long/,
          'too long (140 bytes)' ],
        [ ['--passphrase', 'x' x 129], 1, qr/it is 129 bytes long/,
          'too long (129 bytes)' ],
        [ ['--passphrase', ''], 1,
          qr/invalid passphrase for --passphrase: it is empty/, 'empty' ],
        [ ['--passphrase', $bad, '--passphrase-file', $pf], 2,
          qr/give either --passphrase or --passphrase-file, not both/,
          'both options' ],
        [ ['--passphrase', $bad, '--passphrase', $bad], 2,
          qr/option --passphrase given more than once/, 'twice' ],
        [ ['--passphrase'], 2, qr/option --passphrase needs a value/,
          'no value' ],
        [ ['--passphrase-file', "$tmp/no-such-file"], 1,
          qr/cannot open passphrase file "\Q$tmp\E\/no-such-file": No such file or directory/,
          'missing file' ],
        [ ['--passphrase-file', $tmp], 1,
          qr/cannot read the passphrase from "\Q$tmp\E": Is a directory/,
          'a directory' ],
    );
    my @fcases = (
        [ '', qr/invalid passphrase in "[^"]+": it is empty \(1 to 128 printable ASCII characters on the first line\)/,
          'an empty file' ],
        [ "\n$bad\n", qr/it is empty/, 'an empty first line' ],
        [ "$bad\tx\n", qr/invalid passphrase in "[^"]+": byte 21 is a control character/,
          'a tab in the file' ],
        [ ('y' x 129) . "\n", qr/invalid passphrase in "[^"]+": it is 129 bytes long/,
          '129 bytes in the file' ],
        [ ('y' x 129) . "\r\n", qr/it is 129 bytes long/,
          '129 bytes and CRLF in the file' ],
        [ ('y' x 128) . "\r\r\n", qr/it is 129 bytes long/,
          '128 bytes and CRCRLF in the file' ],
        [ $long x 100, qr/invalid passphrase in "[^"]+": longer than 128 bytes/,
          'a long file' ],
    );

    my $target = create_key(\@gp, '--account', 'okx', '--passphrase', $p1);
    for my $c (@ocases) {
        my ($opts, $rc, $re, $name) = @$c;
        $pfails->(\@gp, [@gp, 'create', '--account', 'okx', @$opts], $rc,
                  $re, "create: $name");
        $pfails->(\@gp, [@gp, 'set', $target->{access_key}, @$opts], $rc,
                  $re, "set: $name");
    }
    for my $c (@fcases) {
        my ($text, $re, $name) = @$c;
        spew($pf, $text);
        $pfails->(\@gp, [@gp, 'create', '--account', 'okx',
                         '--passphrase-file', $pf], 1, $re, "create: $name");
        $pfails->(\@gp, [@gp, 'set', $target->{access_key},
                         '--passphrase-file', $pf], 1, $re, "set: $name");
        (my $sre = "$re") =~ s/in "\[\^"\]\+"/in standard input/;
        $pfails->(\@gp, [@gp, 'set', $target->{access_key},
                         '--passphrase-file', '-'], 1, qr/$sre/,
                  "set, standard input: $name", stdin => $text);
    }
    $is_hash_of->($target->{access_key}, $p1, 'the errors left it as it was');

    $pfails->(\@gp, [@gp, 'show', $ak1, '--passphrase', $bad], 2,
              qr/unknown option "--passphrase" for "show"/,
              'show takes no --passphrase');
    $pfails->(\@gp, [@gp, 'import', '--passphrase-file', $pf], 2,
              qr/unknown option "--passphrase-file" for "import"/,
              'import takes no --passphrase-file');
    $pfails->(\@gp, [@gp, 'set', $ak1], 2,
              qr/at least one of .*--passphrase, --passphrase-file/,
              'set names the passphrase options');

    # the passphrases never show, in any output nor in the store's files
    my @long = grep { length >= 20 } @passes;
    my $leaks = 0;
    for my $o (@outputs) {
        for my $p (@long) {
            $leaks++, diag("a passphrase in an output: $o")
                if index($o, $p) >= 0;
        }
    }
    is($leaks, 0, scalar(@outputs) . ' outputs hold none of '
       . scalar(@long) . ' passphrases');

    for my $dir ($stp, $sti, $stj) {
        for my $f (glob "$dir/*") {
            my $bytes = slurp($f);
            ok(!grep({ index($bytes, $_) >= 0 } @long),
               "$f holds no passphrase");
        }
    }
}


# --- idle expiry: expire-idle, enable, events, show with last use ---------------
#
# Time travel: last_used_at and created_at are set in the past through
# import and set --last-used; the limit is checked on either side (89d
# 23h stays active, 90d 3m expires).  expire-idle gives two minutes of
# grace beyond --idle, for uses nginx has not written yet (its flush is at
# most 60 s late by default): 90d 1m stays active.

my $DAY = 86400;

sub events_json {
    my (@g) = @_;
    my $r = run(@g, '--json', 'events');
    die "events failed: $r->{err}" if $r->{rc} != 0;
    return decode_lines($r->{out});
}

sub status_of {
    my ($g, $ak) = @_;
    my $r = run(@$g, '--json', 'show', $ak);
    die "show failed: $r->{err}" if $r->{rc} != 0;
    return $json->decode($r->{out})->{status};
}

{
    my ($sti, $mki, @gi) = new_store();
    my $now = time;
    my $secret = rand_alnum(32);
    my $near = $now - 89 * $DAY - 23 * 3600;        # stays active
    my $over = $now - 90 * $DAY - 180;              # idle
    my $grace = $now - 90 * $DAY - 60;              # idle, within the grace
    my $long = $now - 200 * $DAY;

    my @in = (
        { access_key => 'i-fresh', account => 'acc1', created_at => iso($long),
          last_used_at => iso($near) },
        { access_key => 'i-idle', account => 'acc1', created_at => iso($long),
          last_used_at => iso($over), permissions => ['read', 'withdraw'] },
        { access_key => 'i-new-unused', account => 'acc2',
          created_at => iso($near) },
        { access_key => 'i-old-unused', account => 'acc2',
          created_at => iso($over) },
        { access_key => 'i-bound', account => 'acc3', created_at => iso($long),
          last_used_at => iso($long), ips => ['10.0.0.0/8'] },
        { access_key => 'i-disabled', account => 'acc3', status => 'disabled',
          created_at => iso($long), last_used_at => iso($long) },
        { access_key => 'i-locked', account => 'acc3', status => 'locked',
          created_at => iso($long), last_used_at => iso($long) },
        { access_key => 'i-expired', account => 'acc3', status => 'expired',
          created_at => iso($long), last_used_at => iso($long) },
        { access_key => 'i-grace', account => 'acc4', created_at => iso($long),
          last_used_at => iso($grace), ips => ['10.9.0.0/16'] },
    );
    ok_run(run({ stdin => join('', map { $json->encode({ %$_,
               secret_key => $secret }) . "\n" } @in) }, @gi, 'import'),
           'import keys with past last use');

    # an empty event log
    my $r = ok_run(run(@gi, 'events'), 'events of a new store');
    is($r->{out}, '', 'no events');
    is_deeply(events_json(@gi), [], 'no events (--json)');

    # show: the last use and how long ago
    $r = ok_run(run(@gi, 'show', 'i-fresh'), 'show an unused-for-89d key');
    like($r->{out},
         qr/^last_used_at: \Q${\ iso($near)}\E \(89d 23h(?: \d+m)? ago\)$/m,
         'show text: last use and how long ago');
    $r = ok_run(run(@gi, 'show', 'i-new-unused'), 'show a key never used');
    like($r->{out}, qr/^last_used_at: never$/m, 'show text: never');
    is($json->decode(run(@gi, '--json', 'show', 'i-fresh')->{out})
       ->{last_used_at}, iso($near), 'show --json: last_used_at as before');

    # --dry-run: lists, writes nothing (not a byte of the store)
    my $before = list_json(@gi);
    my $data = slurp("$sti/data.mdb");
    $r = ok_run(run(@gi, 'expire-idle', '--dry-run'), 'expire-idle --dry-run');
    my @lines = split /\n/, $r->{out};
    is(scalar @lines, 4, 'three keys and a summary');
    like($lines[0], qr/\Awould expire i-bound \(account acc3\): last used \Q${\ iso($long)}\E \(200d(?: 0h \d+m)? ago\)\z/,
         'dry run: a key unused for 200 days');
    like($lines[1], qr/\Awould expire i-idle \(account acc1\): last used \Q${\ iso($over)}\E \(90d 0h \d+m(?: \d+s)? ago\)\z/,
         'dry run: a key unused for 90d 3m');
    like($lines[2], qr/\Awould expire i-old-unused \(account acc2\): never used, created \Q${\ iso($over)}\E /,
         'dry run: a key never used, by its creation');
    is($lines[3], 'would expire 3 keys idle over 90d (dry run: nothing written)',
       'dry run: summary');
    is(list_json(@gi), $before, 'dry run: keys unchanged');
    ok(slurp("$sti/data.mdb") eq $data, 'dry run: store file unchanged');
    is_deeply(events_json(@gi), [], 'dry run: no event');

    $r = ok_run(run(@gi, '--json', 'expire-idle', '--dry-run', '--idle',
                    '89d'), 'expire-idle --dry-run --idle 89d --json');
    my $objs = decode_lines($r->{out});
    is_deeply([map { $_->{access_key} } @$objs[0 .. $#$objs - 1]],
              [qw(i-bound i-fresh i-grace i-idle i-new-unused i-old-unused)],
              'a shorter idle time catches the 89-day keys too');
    is_deeply($objs->[-1], { expired => 6, idle => '89d',
                             unbound_ip_only => JSON::PP::false,
                             dry_run => JSON::PP::true },
              'dry run: JSON summary');
    is($objs->[0]{status}, 'active', 'dry run: status stays active');

    # --unbound-ip-only: keys with an allow-list are not touched
    $r = ok_run(run(@gi, '--json', 'expire-idle', '--unbound-ip-only'),
                'expire-idle --unbound-ip-only --json');
    $objs = decode_lines($r->{out});
    is(scalar @$objs, 3, 'two keys and a summary');
    is_deeply($objs->[-1], { expired => 2, idle => '90d',
                             unbound_ip_only => JSON::PP::true,
                             dry_run => JSON::PP::false },
              'JSON summary');
    is_deeply([map { $_->{access_key} } @$objs[0, 1]],
              [qw(i-idle i-old-unused)], 'the unbound idle keys');
    is_deeply([sort keys %{ $objs->[0] }],
              [sort qw(access_key account label status created_at
                       last_used_at idle_seconds)], 'fields of a key');
    is($objs->[0]{status}, 'expired', 'status expired');
    is($objs->[0]{last_used_at}, iso($over), 'last_used_at');
    ok(abs($objs->[0]{idle_seconds} - (90 * $DAY + 180)) < 120,
       'idle_seconds');
    ok(!defined $objs->[1]{last_used_at}, 'never used: null');
    ok(abs($objs->[1]{idle_seconds} - (90 * $DAY + 180)) < 120,
       'never used: idle since creation');

    is(status_of(\@gi, 'i-idle'), 'expired', 'i-idle expired');
    is(status_of(\@gi, 'i-old-unused'), 'expired', 'i-old-unused expired');
    is(status_of(\@gi, 'i-bound'), 'active', 'a key with an allow-list kept');
    is(status_of(\@gi, 'i-fresh'), 'active', '89d 23h: still active');
    is(status_of(\@gi, 'i-new-unused'), 'active',
       'never used, created 89d 23h ago: still active');

    my $ev = events_json(@gi);
    is(scalar @$ev, 2, 'two events');
    is_deeply([map { $_->{seq} } @$ev], [1, 2], 'sequence numbers 1, 2');
    is_deeply([map { $_->{type} } @$ev], ['key.expired', 'key.expired'],
              'key.expired');
    is_deeply([map { $_->{access_key} } @$ev], [qw(i-idle i-old-unused)],
              'the keys');
    is($ev->[0]{account}, 'acc1', 'account');
    is($ev->[0]{reason}, 'idle', 'reason');
    is($ev->[0]{by}, 'apisecctl', 'by');
    is($ev->[0]{idle_seconds}, 90 * $DAY, 'idle_seconds: the limit');
    is($ev->[0]{last_used_at}, iso($over), 'last_used_at');
    ok(exists $ev->[1]{last_used_at} && !defined $ev->[1]{last_used_at},
       'never used: last_used_at null');
    my $t = from_iso($ev->[0]{time});
    ok(defined $t && abs($t - time) < 120, 'time: now');

    # the rest, in text
    $r = ok_run(run(@gi, 'expire-idle'), 'expire-idle');
    like($r->{out}, qr/\Aexpired i-bound \(account acc3\): last used \Q${\ iso($long)}\E \(200d(?: 0h \d+m)?(?: \d+s)? ago\)\nexpired 1 key idle over 90d\n\z/,
         'text: the key, a summary');
    is(status_of(\@gi, 'i-bound'), 'expired', 'i-bound expired');

    # idempotent
    $before = list_json(@gi);
    $r = ok_run(run(@gi, 'expire-idle'), 'expire-idle again');
    is($r->{out}, "expired 0 keys idle over 90d\n", 'nothing left to expire');
    $r = ok_run(run(@gi, '--json', 'expire-idle'), 'expire-idle --json again');
    is_deeply(decode_lines($r->{out}),
              [{ expired => 0, idle => '90d',
                 unbound_ip_only => JSON::PP::false,
                 dry_run => JSON::PP::false }], 'only the summary');
    is(list_json(@gi), $before, 'store unchanged');
    is(scalar @{ events_json(@gi) }, 3, 'no new event');

    # disabled, locked and already expired keys are left alone
    is(status_of(\@gi, 'i-disabled'), 'disabled', 'disabled key left alone');
    is(status_of(\@gi, 'i-locked'), 'locked', 'locked key left alone');
    my %evkeys = map { $_->{access_key} => 1 } @{ events_json(@gi) };
    ok(!$evkeys{$_}, "no event for $_") for qw(i-disabled i-locked i-expired);

    # expired for good: a longer idle time does not bring a key back
    $r = ok_run(run(@gi, 'expire-idle', '--idle', '3650d'),
                'expire-idle --idle 3650d');
    is(status_of(\@gi, 'i-idle'), 'expired', 'still expired');

    # enable revives, and restarts the idle time
    $r = ok_run(run(@gi, 'enable', 'i-idle'), 'enable an idle-expired key');
    is($r->{out}, "key i-idle enabled (was expired)\n", 'enable says so');
    my $k = $json->decode(run(@gi, '--json', 'show', 'i-idle')->{out});
    is($k->{status}, 'active', 'active again');
    my $lu = from_iso($k->{last_used_at});
    ok(defined $lu && abs($lu - time) < 120, 'last_used_at: now');
    $r = ok_run(run(@gi, 'expire-idle'), 'expire-idle after enable');
    is($r->{out}, "expired 0 keys idle over 90d\n",
       'the revived key is not expired again');
    is(status_of(\@gi, 'i-idle'), 'active', 'still active');
    is(status_of(\@gi, 'i-grace'), 'active',
       'idle 90d 1m: within the two minutes of grace, not expired');

    # set --last-used moves it back in time: idle again, expired again
    ok_run(run(@gi, 'set', 'i-idle', '--last-used', iso($over)),
           'set --last-used 90d 3m ago');
    $r = ok_run(run(@gi, 'expire-idle', '--idle', '2160h'),
                'expire-idle --idle 2160h (90 days in hours)');
    like($r->{out}, qr/\Aexpired i-idle .*\nexpired 1 key idle over 2160h\n\z/,
         'expired again');

    # events: text, --since
    $r = ok_run(run(@gi, 'events'), 'events text');
    @lines = split /\n/, $r->{out};
    is(scalar @lines, 4, 'four events');
    like($lines[0], qr/\A1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ key\.expired i-idle acc1 reason=idle idle_seconds=7776000 last_used_at=\Q${\ iso($over)}\E by=apisecctl\z/,
         'text: SEQ TIME TYPE KEY ACCOUNT name=value...');
    like($lines[1], qr/\A2 \S+ key\.expired i-old-unused acc2 .*last_used_at=null/,
         'text: null');
    like($lines[3], qr/\A4 \S+ key\.expired i-idle acc1 reason=idle idle_seconds=7776000 /,
         'text: the fourth event');

    $r = ok_run(run(@gi, 'events', '--since', '2'), 'events --since 2');
    is_deeply([map { (split / /)[0] } split /\n/, $r->{out}], [3, 4],
              'only the events after 2');
    $r = ok_run(run(@gi, '--json', 'events', '--since=3'),
                'events --json --since=3');
    is_deeply([map { $_->{seq} } @{ decode_lines($r->{out}) }], [4],
              'the last one');
    my $raw = run(@gi, '--json', 'events')->{out};
    like($raw, qr/\A(\{"seq":\d+,"type":"key\.expired",[^\n]*\}\n){4}\z/,
         '--json: the stored lines, one a line');
    $r = ok_run(run(@gi, 'events', '--since', '4'), 'events --since last');
    is($r->{out}, '', 'nothing after the last');
    $r = ok_run(run(@gi, 'events', '--since', '0'), 'events --since 0');
    is(scalar(split /\n/, $r->{out}), 4, 'all of them');

    # errors: one line, the usual exit status, the store and its events
    # unchanged
    my $evs = run(@gi, '--json', 'events')->{out};
    fails(\@gi, [@gi, 'expire-idle', '--idle', '90x'], 1,
          qr/\Aapisecctl: error: invalid duration "90x" for --idle \(expected N\[smhd\], e\.g\. 90d\)\n\z/,
          'expire-idle: bad duration');
    fails(\@gi, [@gi, 'expire-idle', '--idle', '0d'], 1,
          qr/invalid duration "0d" for --idle/, 'expire-idle: zero duration');
    fails(\@gi, [@gi, 'expire-idle', '--idle', '-5d'], 1,
          qr/invalid duration "-5d" for --idle/,
          'expire-idle: negative duration');
    fails(\@gi, [@gi, 'expire-idle', '--idle'], 2, qr/--idle needs a value/,
          'expire-idle: --idle without its value');
    fails(\@gi, [@gi, 'expire-idle', '--dry-run=yes'], 2, qr/takes no value/,
          'expire-idle: a value for --dry-run');
    fails(\@gi, [@gi, 'expire-idle', 'i-fresh'], 2,
          qr/unexpected argument "i-fresh"/, 'expire-idle: an argument');
    fails(\@gi, [@gi, 'expire-idle', '--idle-over', '90d'], 2,
          qr/unknown option "--idle-over" for "expire-idle"/,
          'expire-idle: an option of audit');
    fails(\@gi, [@gi, 'audit', '--idle', '90d'], 2,
          qr/unknown option "--idle" for "audit"/,
          'audit: an option of expire-idle');
    fails(\@gi, [@gi, 'audit', '--idle-over', 'soon'], 1,
          qr/\Aapisecctl: error: invalid duration "soon" for --idle-over \(expected N\[smhd\], e\.g\. 90d\)\n\z/,
          'audit: bad duration');
    fails(\@gi, [@gi, 'events', '--since', 'x1'], 1,
          qr/\Aapisecctl: error: invalid sequence number "x1" for --since \(expected 0 or more, e\.g\. 42\)\n\z/,
          'events: bad --since');
    fails(\@gi, [@gi, 'events', '--since', '-1'], 1,
          qr/invalid sequence number "-1"/, 'events: negative --since');
    fails(\@gi, [@gi, 'events', '--since', '99999999999999999999'], 1,
          qr/invalid sequence number/, 'events: --since too big');
    fails(\@gi, [@gi, 'list', '--follow'], 2,
          qr/--follow/, '--follow is for events only');

    # events --follow: what is there, then the new events as they come
    {
        my $out = "$tmp/follow.out";
        my $pid = fork // die "fork: $!";

        if ($pid == 0) {
            open STDOUT, '>', $out or die;
            open STDERR, '>', "$out.err" or die;
            exec $bin, @gi, '--json', 'events', '--follow' or exit 127;
        }

        select undef, undef, undef, 1.2;
        my $before = slurp($out);
        my $c = ok_run(run(@gi, '--json', 'create', '--account', 'followed'),
                       'create while following');
        my $new = $json->decode($c->{out})->{access_key};
        select undef, undef, undef, 1.5;
        kill 'TERM', $pid;
        waitpid $pid, 0;
        my $after = slurp($out);

        is($before, $evs, 'events --follow: the events there at first');
        my @new = map { $json->decode($_) }
                  split /\n/, substr($after, length $before);
        is(scalar(@new), 1, 'events --follow: then one new event');
        is("$new[0]{type} $new[0]{access_key} $new[0]{account} $new[0]{by}",
           "key.created $new followed apisecctl",
           'events --follow: the key.created event of the new key');
        $c = ok_run(run(@gi, '--json', 'revoke', $new), 'revoke it');
        my @ev = map { $json->decode($_) }
                 split /\n/, run(@gi, '--json', 'events', '--since',
                                  $new[0]{seq})->{out};
        is("$ev[0]{type} $ev[0]{access_key} $ev[0]{account}",
           "key.revoked $new followed", 'revoke records key.revoked');
        $evs = run(@gi, '--json', 'events')->{out};
    }
    fails(\@gi, [@gi, 'list', '--idle-over', '90x'], 1,
          qr/invalid duration "90x" for --idle-over/, 'list: bad duration');
    is(run(@gi, '--json', 'events')->{out}, $evs, 'no event from the errors');

    $r = ok_run(run(@gi, 'help', 'expire-idle'), 'help expire-idle');
    like($r->{out}, qr/expire-idle \[--idle DURATION\]\s+\[--unbound-ip-only\] \[--dry-run\]/,
         'help expire-idle: synopsis');
    $r = ok_run(run(@gi, 'audit', '--help'), 'audit --help');
    like($r->{out}, qr/exit status 3/, 'audit --help: exit status 3');
    $r = ok_run(run('--help'), '--help');
    like($r->{out}, qr/3 audit findings/, '--help: exit status 3');
    unlike($r->{out}, qr/not in this version/,
           '--help: every command is in this version');
}


# --- a store made before the event log ------------------------------------------
#
# Its "meta" and "keys" databases copied with mdb_dump and mdb_load
# (lmdb-utils) into a store without "events": read-only commands see no
# event and add nothing; the first command that writes adds the log.

SKIP: {
    skip 'mdb_dump and mdb_load (lmdb-utils) not installed', 12
        unless system('sh', '-c', 'command -v mdb_dump >/dev/null && '
                      . 'command -v mdb_load >/dev/null') == 0;

    my ($sto, $mko, @go) = new_store();
    ok_run(run({ stdin => $json->encode({ access_key => 'o-old',
               secret_key => rand_alnum(32), account => 'old',
               created_at => '2020-01-01T00:00:00Z' }) . "\n" }, @go,
               'import'), 'a key in the store to copy');

    my $old = "$tmp/old-store";
    mkdir $old or die "$old: $!";
    for my $db (qw(meta keys)) {
        system('sh', '-c', 'mdb_dump -s "$1" "$2" | mdb_load -s "$1" "$3" '
               . '2>/dev/null', 'sh', $db, $sto, $old);
    }
    my @g_old = ('--store', $old, '--master-key', $mko);
    my $dbs = sub { scalar `mdb_stat -a "$old" 2>/dev/null` };
    unlike($dbs->(), qr/^Status of events$/m, 'a store without an event log');

    my $r = ok_run(run(@g_old, 'events'), 'events of the old store');
    is($r->{out}, '', 'no events');
    $r = ok_run(run(@g_old, 'expire-idle', '--dry-run'),
                'expire-idle --dry-run of the old store');
    unlike($dbs->(), qr/^Status of events$/m, 'a dry run adds nothing');
    $r = ok_run(run(@g_old, 'expire-idle'), 'expire-idle of the old store');
    like($dbs->(), qr/^Status of events$/m, 'the event log was added');
    is_deeply([map { "$_->{seq} $_->{type} $_->{access_key}" }
               @{ events_json(@g_old) }], ['1 key.expired o-old'],
              'and holds the event');
}


# --- audit ------------------------------------------------------------------------

{
    my ($sta, $mka, @ga) = new_store();
    my $now = time;
    my $secret = rand_alnum(32);
    my $used = iso($now - $DAY);

    # an empty store: no findings, exit 0
    my $r = ok_run(run(@ga, 'audit'), 'audit of an empty store');
    like($r->{out}, qr/\Aaudit of 0 keys at \S+ \(idle over 90d\): no findings\n\z/,
         'text: no findings');
    $r = ok_run(run(@ga, '--json', 'audit'), 'audit --json of an empty store');
    my $objs = decode_lines($r->{out});
    is(scalar @$objs, 1, 'only the summary');
    is($objs->[0]{findings}, 0, 'findings 0');

    my @in = (
        { access_key => 'a-ok', account => 'ok', last_used_at => $used,
          permissions => ['read', 'trade'],
          expires_at => iso($now + 30 * $DAY) },
        { access_key => 'a-idle', account => 'acc1',
          created_at => iso($now - 400 * $DAY),
          last_used_at => iso($now - 100 * $DAY) },
        { access_key => 'a-never', account => 'acc1',
          created_at => iso($now - 10 * $DAY) },
        { access_key => 'a-wd-noip', account => 'acc2', last_used_at => $used,
          permissions => ['read', 'withdraw'] },
        { access_key => 'a-wd-ip', account => 'acc2', last_used_at => $used,
          permissions => ['withdraw'], ips => ['203.0.113.0/24'] },
        { access_key => 'a-expired', account => 'acc3', status => 'expired',
          last_used_at => $used },
        { access_key => 'a-past', account => 'acc3', last_used_at => $used,
          expires_at => iso($now - 3600) },
        { access_key => 'a-locked', account => 'acc3', status => 'locked',
          last_used_at => $used, locked_until => iso($now + 600) },
        { access_key => 'a-disabled', account => 'acc3',
          status => 'disabled', last_used_at => $used },
        { access_key => 'a-expiring', account => 'acc4', last_used_at => $used,
          expires_at => iso($now + 3 * $DAY) },
    );

    # a store with nothing to report: exit 0
    ok_run(run({ stdin => $json->encode({ %{ $in[0] },
                 secret_key => $secret }) . "\n" }, @ga, 'import'),
           'import a key in good order');
    $r = ok_run(run(@ga, 'audit'), 'audit: nothing to report');
    like($r->{out}, qr/\Aaudit of 1 key at \S+ \(idle over 90d\): no findings\n\z/,
         'text: no findings');

    ok_run(run({ stdin => join('', map { $json->encode({ %$_,
               secret_key => $secret }) . "\n" } @in[1 .. $#in]) },
               @ga, 'import'),
           'import keys with something to report');

    my %want = (
        'idle'                 => ['a-idle'],
        'never-used'           => ['a-never'],
        'withdraw-without-ip'  => ['a-wd-noip'],
        'withdraw-without-2fa' => ['a-wd-ip', 'a-wd-noip'],
        'expired'              => ['a-expired', 'a-past'],
        'locked'               => ['a-locked'],
        'disabled'             => ['a-disabled'],
        'expiring'             => ['a-expiring'],
    );
    my @kinds = qw(idle never-used withdraw-without-ip withdraw-without-2fa
                   expired locked disabled expiring);

    my $data = slurp("$sta/data.mdb");
    my $before = list_json(@ga);

    $r = run(@ga, '--json', 'audit');
    is($r->{rc}, 3, 'audit --json with findings: exit 3');
    is($r->{err}, '', 'nothing on stderr');
    $objs = decode_lines($r->{out});
    my $sum = pop @$objs;
    my %got;
    push @{ $got{ $_->{finding} } }, $_->{access_key} for @$objs;
    $_ = [sort @$_] for values %got;
    is_deeply(\%got, \%want, 'every kind of finding, on the right keys');
    is_deeply([map { $_->{finding} } @$objs],
              [map { my $k = $_; ($k) x @{ $want{$k} } } @kinds],
              'grouped by kind, in order');
    is_deeply([sort keys %{ $objs->[0] }],
              [sort qw(finding access_key account label status permissions
                       ips created_at last_used_at expires_at locked_until
                       totp_enrolled has_passphrase idle_seconds detail)],
              'fields of a finding: the record\'s, as list prints them');
    my ($idle) = grep { $_->{finding} eq 'idle' } @$objs;
    is($idle->{last_used_at}, iso($now - 100 * $DAY), 'idle: last_used_at');
    ok(abs($idle->{idle_seconds} - 100 * $DAY) < 120, 'idle: idle_seconds');
    like($idle->{detail}, qr/\Alast used \S+ \(100d(?: 0h \d+m)?(?: \d+s)? ago\)\z/,
         'idle: detail');
    my ($never) = grep { $_->{finding} eq 'never-used' } @$objs;
    ok(!defined $never->{last_used_at}, 'never-used: last_used_at null');
    like($never->{detail}, qr/\Acreated \S+ \(10d[^)]* ago\), status active\z/,
         'never-used: says how old');
    my ($expiring) = grep { $_->{finding} eq 'expiring' } @$objs;
    like($expiring->{detail}, qr/\Aexpires_at \S+ \(in (?:2d 23h|3d)[^)]*\)\z/,
         'expiring: when');
    my ($past) = grep { $_->{access_key} eq 'a-past' } @$objs;
    like($past->{detail}, qr/\Aexpires_at \S+ \(1h[^)]* ago\) passed, status active\z/,
         'expired: past its expires_at');
    my ($wd) = grep { $_->{access_key} eq 'a-wd-noip' } @$objs;
    is_deeply($wd->{permissions}, ['read', 'withdraw'], 'permissions');
    ok(JSON::PP::is_bool($wd->{totp_enrolled}) && !$wd->{totp_enrolled},
       'totp_enrolled false');

    is($sum->{findings}, 10, 'summary: findings');
    is($sum->{keys}, 10, 'summary: keys looked at');
    is($sum->{keys_with_findings}, 9, 'summary: keys with findings');
    is($sum->{idle_over}, '90d', 'summary: idle_over');
    is_deeply($sum->{counts}, { map { $_ => scalar @{ $want{$_} } } @kinds },
              'summary: counts of every kind');
    ok(!exists $sum->{finding}, 'the summary is no finding');

    # text: grouped by kind with counts
    $r = run(@ga, 'audit');
    is($r->{rc}, 3, 'audit with findings: exit 3');
    is($r->{err}, '', 'nothing on stderr');
    like($r->{out}, qr/\Aaudit of 10 keys at \S+ \(idle over 90d\): 10 findings on 9 keys\n\n/,
         'text: header');
    for my $kind (@kinds) {
        my $n = @{ $want{$kind} };
        my ($block) = $r->{out} =~ /^(\Q$kind\E \($n\): [^\n]*\n(?:  [^\n]*\n)+)/m;
        ok(defined $block, "text: group $kind ($n)");
        my @keys = sort map { /^  (\S+)/ ? $1 : () } split /\n/, $block // '';
        is_deeply(\@keys, $want{$kind}, "text: the keys of $kind");
    }
    like($r->{out}, qr/^  a-idle +acc1 +last used \S+ \(100d[^)]* ago\)$/m,
         'text: idle key line');
    like($r->{out}, qr/^  a-locked +acc3 +locked until \S+ \(in (?:10m|9m \d+s)\)$/m,
         'text: locked until');
    unlike($r->{out}, qr/a-ok/, 'a key in good order is not mentioned');

    is(list_json(@ga), $before, 'audit changes no key');
    ok(slurp("$sta/data.mdb") eq $data, 'audit writes nothing');

    # a longer idle time: no idle key
    $r = run(@ga, '--json', 'audit', '--idle-over', '1000d');
    is($r->{rc}, 3, '--idle-over 1000d: still findings');
    $objs = decode_lines($r->{out});
    is($objs->[-1]{counts}{idle}, 0, '--idle-over 1000d: no idle key');
    is($objs->[-1]{idle_over}, '1000d', '--idle-over given');

    # after expire-idle, the idle key is an expired one
    ok_run(run(@ga, 'expire-idle'), 'expire-idle');
    $objs = decode_lines(run(@ga, '--json', 'audit')->{out});
    is($objs->[-1]{counts}{idle}, 0, 'no idle key left');
    is($objs->[-1]{counts}{expired}, 3, 'one more expired key');
}


# --- 2fa: enroll, reset ------------------------------------------------------------

{
    # the Perl TOTP is right: RFC 6238 Appendix B (SHA1), 8 and 6 digits
    my $rfc = '12345678901234567890';
    is(b32_decode('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ'), $rfc,
       'Perl base32 of the RFC 6238 secret');
    my %vec = (59 => '94287082', 1111111109 => '07081804',
               1111111111 => '14050471', 1234567890 => '89005924',
               2000000000 => '69279037', 20000000000 => '65353130');
    for my $t (sort { $a <=> $b } keys %vec) {
        is(totp($rfc, $t, 8), $vec{$t}, "Perl TOTP: RFC 6238 vector at $t");
        is(totp($rfc, $t), substr($vec{$t}, 2), "Perl TOTP: 6 digits at $t");
    }

    my ($st9, $mk9, @g9) = new_store();
    my $k = create_key(\@g9, '--account', 'bob@corp:1',
                       '--perm', 'read,withdraw', '--ip', '10.0.0.0/8');
    my $ak = $k->{access_key};
    my $k2 = create_key(\@g9, '--account', 'carol', '--perm', 'read');
    my $ak2 = $k2->{access_key};

    my $wd_no_2fa = sub {
        my $r = run(@g9, '--json', 'audit');
        return grep { ($_->{finding} // '') eq 'withdraw-without-2fa'
                      && $_->{access_key} eq $ak } @{ decode_lines($r->{out}) };
    };
    ok($wd_no_2fa->(), 'audit: withdraw-without-2fa before enrolment');

    # enroll, text
    my $r = ok_run(run(@g9, '2fa', 'enroll', $ak), '2fa enroll');
    my ($b32, $uri) = $r->{out} =~ /\Aaccess_key: \Q$ak\E\naccount: bob\@corp:1\ntotp_secret: (\S+)\notpauth_uri: (\S+)\n\z/;
    ok(defined $uri, 'text: access_key, account, totp_secret and '
       . 'otpauth_uri lines') or diag($r->{out});
    $b32 //= '';
    like($b32, qr/\A[A-Z2-7]{32}\z/,
         'the secret: 32 characters of base32, upper case, no padding');
    like($r->{err},
         qr/\Aapisecctl: the TOTP secret is shown only this once[^\n]*\n\z/,
         'note on stderr: shown once');
    my $raw = b32_decode($b32) // '';
    is(length $raw, 20, 'the secret decodes to 20 bytes');

    # the URI: otpauth://totp/apisec:ACCOUNT?..., the account encoded
    is($uri, "otpauth://totp/apisec:bob%40corp%3A1?secret=$b32"
             . '&issuer=apisec&algorithm=SHA1&digits=6&period=30',
       'otpauth URI');
    my ($label, $query) = ($uri // '') =~ m{\Aotpauth://totp/([^?/]+)\?(.+)\z};
    my ($issuer, $account) = ($label // '') =~ /\A([^:%]+):(.+)\z/;
    is($issuer, 'apisec', 'URI label: the issuer, a literal colon');
    unlike($account // ':', qr/[:@]/, 'URI label: ":" and "@" of the '
           . 'account percent-encoded');
    (my $acc = $account // '') =~ s/%([0-9A-F]{2})/chr hex $1/ge;
    is($acc, 'bob@corp:1', 'URI label: the account, decoded');
    my %q = map { split /=/, $_, 2 } split /&/, $query // '';
    is_deeply(\%q, { secret => $b32, issuer => 'apisec',
                     algorithm => 'SHA1', digits => 6, period => 30 },
              'URI parameters');

    # oathtool computes the same codes from the printed secret
    SKIP: {
        skip 'oathtool not installed (apt-get install oathtool)', 7
            unless $have_oathtool;

        for my $t (59, 1111111109, 1700000000, 1700000029, 1700000030) {
            is(oathtool($b32, $t), totp($raw, $t),
               "oathtool --totp -b SECRET at $t: the same code");
        }

        my $t0 = time;
        my $code = oathtool($b32);
        my $t1 = time;
        like($code, qr/\A\d{6}\z/, 'oathtool now: six digits');
        ok($code eq totp($raw, $t0) || $code eq totp($raw, $t1),
           'oathtool now: the code of now');
    }

    # show, list and audit say it
    $r = ok_run(run(@g9, 'show', $ak), 'show an enrolled key');
    like($r->{out}, qr/^totp_enrolled: yes$/m, 'show text: totp_enrolled yes');
    my $shown = $json->decode(run(@g9, '--json', 'show', $ak)->{out});
    ok(JSON::PP::is_bool($shown->{totp_enrolled}) && $shown->{totp_enrolled},
       'show --json: totp_enrolled true');
    is_deeply([sort keys %$shown], [sort @FIELDS], 'show --json: the fields');
    my %row = map { $_->{access_key} => $_ } @{ decode_lines(list_json(@g9)) };
    ok($row{$ak}{totp_enrolled}, 'list --json: enrolled');
    ok(!$row{$ak2}{totp_enrolled}, 'list --json: the other key is not');
    ok(!$wd_no_2fa->(), 'audit: no withdraw-without-2fa after enrolment');

    # the secret is nowhere in the store, nor in later output
    my $data = slurp("$st9/data.mdb");
    ok(length $data > 0, 'store file read');
    ok(index($data, $raw) < 0, 'data.mdb: not the raw secret');
    ok(index($data, substr($raw, 0, 10)) < 0
       && index($data, substr($raw, 10)) < 0,
       'data.mdb: no half of the raw secret');
    ok(index($data, $b32) < 0 && index($data, lc $b32) < 0,
       'data.mdb: not the base32 secret');
    my $lock = slurp("$st9/lock.mdb");
    ok(index($lock, $raw) < 0 && index($lock, $b32) < 0,
       'lock.mdb: not the secret');

    my $later = '';
    for my $cmd (['show', $ak], ['--json', 'show', $ak], ['list'],
                 ['--json', 'list'], ['audit'], ['--json', 'audit'],
                 ['events'], ['--json', 'events'])
    {
        my $o = run(@g9, @$cmd);
        $later .= $o->{out} . $o->{err};
    }
    ok(index($later, $b32) < 0 && index($later, lc $b32) < 0
       && index($later, $raw) < 0, 'no later output shows the secret');

    # enrolled already: refused, the store as it was
    $data = slurp("$st9/data.mdb");
    fails(\@g9, [@g9, '2fa', 'enroll', $ak], 1,
          qr/\Aapisecctl: error: key "\Q$ak\E" is enrolled in 2FA already \("2fa enroll --force" replaces its TOTP secret\)\n\z/,
          'enroll an enrolled key');
    ok(slurp("$st9/data.mdb") eq $data, 'enroll refused: store file unchanged');

    # --force replaces the secret; --json
    $r = ok_run(run(@g9, '--json', '2fa', 'enroll', $ak, '--force'),
                '2fa enroll --force --json');
    my $j = $json->decode($r->{out});
    is_deeply([sort keys %$j], [sort qw(access_key account totp_secret
                                        otpauth_uri totp_enrolled replaced)],
              'enroll --json: the fields');
    is($j->{access_key}, $ak, 'JSON: access_key');
    is($j->{account}, 'bob@corp:1', 'JSON: account');
    like($j->{totp_secret}, qr/\A[A-Z2-7]{32}\z/, 'JSON: totp_secret');
    isnt($j->{totp_secret}, $b32, '--force: a new secret');
    is(length(b32_decode($j->{totp_secret}) // ''), 20, 'JSON: 20 bytes');
    is($j->{otpauth_uri}, "otpauth://totp/apisec:bob%40corp%3A1?secret="
                          . "$j->{totp_secret}&issuer=apisec&algorithm=SHA1"
                          . '&digits=6&period=30', 'JSON: otpauth_uri');
    ok(JSON::PP::is_bool($j->{totp_enrolled}) && $j->{totp_enrolled},
       'JSON: totp_enrolled true');
    ok(JSON::PP::is_bool($j->{replaced}) && $j->{replaced},
       'JSON: replaced true');
    like($r->{err}, qr/\Aapisecctl: key \Q$ak\E was enrolled already: the new TOTP secret replaces the old one[^\n]*\napisecctl: the TOTP secret is shown only this once[^\n]*\n\z/,
         '--force says that it replaced the secret');
    $data = slurp("$st9/data.mdb");
    ok(index($data, b32_decode($j->{totp_secret})) < 0
       && index($data, $j->{totp_secret}) < 0, 'data.mdb: not the new secret');

    # --force on a key not enrolled: enrols it; replaced false
    $r = ok_run(run(@g9, '--json', '2fa', 'enroll', '--force', $ak2),
                'enroll --force a key not enrolled');
    $j = $json->decode($r->{out});
    ok(!$j->{replaced}, 'replaced false');
    is($j->{otpauth_uri}, "otpauth://totp/apisec:carol?secret="
                          . "$j->{totp_secret}&issuer=apisec&algorithm=SHA1"
                          . '&digits=6&period=30', 'a plain account as is');
    unlike($r->{err}, qr/replaces/, 'nothing replaced');

    # other changes keep the enrolment
    ok_run(run(@g9, 'rotate', $ak), 'rotate an enrolled key');
    ok_run(run(@g9, 'set', $ak, '--perm', 'read,trade,withdraw'),
           'set an enrolled key');
    ok_run(run(@g9, 'disable', $ak), 'disable an enrolled key');
    ok_run(run(@g9, 'enable', $ak), 'enable an enrolled key');
    ok($json->decode(run(@g9, '--json', 'show', $ak)->{out})->{totp_enrolled},
       'rotate, set, disable, enable keep the enrolment');

    # an enrolled key's list line does not import (the secret cannot)
    my ($st10, $mk10, @g10) = new_store();
    my $line = $json->decode(run(@g9, '--json', 'show', $ak)->{out});
    $line->{secret_key} = rand_alnum(32);
    fails(\@g10, [@g10, 'import'], 1,
          qr/line 1: field "totp_enrolled": a TOTP enrolment cannot be imported \(enrol the key again after the import\)/,
          'import of an enrolled key', stdin => $json->encode($line) . "\n");
    $line->{totp_enrolled} = JSON::PP::false;
    ok_run(run({ stdin => $json->encode($line) . "\n" }, @g10, 'import'),
           'the same line with totp_enrolled false imports');
    $r = ok_run(run(@g10, '2fa', 'enroll', $ak), 'and enrols again there');

    # reset
    $r = ok_run(run(@g9, '2fa', 'reset', $ak), '2fa reset');
    is($r->{out}, "removed the 2FA enrolment of key $ak\n", 'reset text');
    is($r->{err}, '', 'reset: nothing on stderr');
    $r = ok_run(run(@g9, 'show', $ak), 'show after reset');
    like($r->{out}, qr/^totp_enrolled: no$/m, 'show: not enrolled');
    ok(!$json->decode(run(@g9, '--json', 'show', $ak)->{out})->{totp_enrolled},
       'show --json: not enrolled');
    ok($wd_no_2fa->(), 'audit: withdraw-without-2fa again');

    # reset again: idempotent, nothing written
    $data = slurp("$st9/data.mdb");
    $r = ok_run(run(@g9, '2fa', 'reset', $ak), '2fa reset of a key not '
                . 'enrolled');
    is($r->{out}, "key $ak was not enrolled in 2FA: nothing to remove\n",
       'says it was not enrolled');
    ok(slurp("$st9/data.mdb") eq $data, 'nothing written');

    $r = ok_run(run(@g9, '--json', '2fa', 'reset', $ak2), 'reset --json');
    is_deeply($json->decode($r->{out}),
              { access_key => $ak2, totp_enrolled => JSON::PP::false,
                was_enrolled => JSON::PP::true }, 'reset --json');
    $r = ok_run(run(@g9, '--json', '2fa', 'reset', $ak2),
                'reset --json again');
    is_deeply($json->decode($r->{out}),
              { access_key => $ak2, totp_enrolled => JSON::PP::false,
                was_enrolled => JSON::PP::false }, 'was_enrolled false');

    # enrolled again after a reset, without --force
    $r = ok_run(run(@g9, '--json', '2fa', 'enroll', $ak),
                'enroll after reset');
    $j = $json->decode($r->{out});
    ok(!$j->{replaced}, 'nothing replaced');
    isnt($j->{totp_secret}, $b32, 'a new secret');
    ok(!$wd_no_2fa->(), 'audit: enrolled again');

    # help
    $r = ok_run(run('help', '2fa'), 'help 2fa');
    like($r->{out}, qr/2fa enroll KEY \[--force\] \| 2fa reset KEY/,
         'help 2fa: synopsis');
    $r = ok_run(run('2fa', '--help'), '2fa --help');
    like($r->{out}, qr/2fa enroll KEY/, '2fa --help: synopsis');

    # errors
    fails(\@g9, [@g9, '2fa'], 2,
          qr/\Aapisecctl: error: 2fa needs a subcommand, enroll or reset \(usage: apisecctl 2fa enroll KEY \[--force\] \| 2fa reset KEY\)\n\z/,
          '2fa without a subcommand');
    fails(\@g9, [@g9, '2fa', 'frob', $ak], 2,
          qr/unknown 2fa subcommand "frob" \(expected enroll or reset\)/,
          '2fa with an unknown subcommand');
    fails(\@g9, [@g9, '2fa', 'ENROLL', $ak], 2,
          qr/unknown 2fa subcommand "ENROLL"/, 'subcommands are lower case');
    fails(\@g9, [@g9, '2fa', 'enroll'], 2, qr/missing argument KEY/,
          '2fa enroll without KEY');
    fails(\@g9, [@g9, '2fa', 'reset'], 2, qr/missing argument KEY/,
          '2fa reset without KEY');
    fails(\@g9, [@g9, '2fa', 'enroll', $ak, 'x'], 2,
          qr/unexpected argument "x"/, '2fa enroll with an extra argument');
    fails(\@g9, [@g9, '2fa', 'reset', $ak, '--force'], 2,
          qr/option --force is for "2fa enroll" only/, 'reset --force');
    fails(\@g9, [@g9, '2fa', 'enroll', $ak, '--force=yes'], 2,
          qr/option --force takes no value/, '--force=yes');
    fails(\@g9, [@g9, 'show', $ak, '--force'], 2,
          qr/unknown option "--force" for "show"/, '--force of another command');
    fails(\@g9, [@g9, '2fa', 'enroll', 'NoSuchKey'], 1,
          qr/\Aapisecctl: error: unknown key "NoSuchKey"\n\z/,
          'enroll an unknown key');
    fails(\@g9, [@g9, '2fa', 'reset', 'NoSuchKey'], 1,
          qr/\Aapisecctl: error: unknown key "NoSuchKey"\n\z/,
          'reset an unknown key');
    fails(\@g9, [@g9, '2fa', 'enroll', 'bad/key'], 1,
          qr/invalid access key "bad\/key"/, 'enroll a malformed key');
    fails(\@g9, [@g9, '2fa', 'reset', "bad\nkey"], 1,
          qr/invalid access key "bad\\x0akey"/, 'reset a malformed key');

    my $other = "$tmp/mk-2fa-other";
    ok_run(run('master-key', $other), 'another master key');
    $data = slurp("$st9/data.mdb");
    fails(\@g9, ['--store', $st9, '--master-key', $other, '2fa', 'enroll',
                 $ak, '--force'], 1, qr/master key does not open the store/,
          'enroll with a wrong master key');
    fails(\@g9, ['--store', $st9, '--master-key', $other, '2fa', 'reset',
                 $ak], 1, qr/master key does not open the store/,
          'reset with a wrong master key');
    ok(slurp("$st9/data.mdb") eq $data, 'wrong master key: nothing written');
    fails(\@g9, ['--store', $st9, '--master-key', $other, '2fa', 'frob',
                 $ak], 2, qr/unknown 2fa subcommand/,
          'a usage error comes before the store');
    fails(\@g9, ['--master-key', $mk9, '2fa', 'enroll', $ak], 2,
          qr/no store given/, 'enroll without a store');
    fails(\@g9, ['--store', "$tmp/no-such-store", '--master-key', $mk9,
                 '2fa', 'enroll', $ak], 1, qr/no apisec store at/,
          'enroll in a missing store');
}


# --- 10,000 keys -----------------------------------------------------------------

{
    my ($st4, $mk4, @g4) = new_store();
    my $lines = '';
    my %want;

    for my $i (1 .. 10000) {
        my $ak = rand_alnum(40) . ".$i";
        $want{$ak} = 1;
        $lines .= $json->encode({
            access_key => $ak, secret_key => rand_alnum(64),
            account => 'acct' . ($i % 100),
            permissions => $i % 2 ? ['read'] : ['read', 'trade'],
            $i % 3 ? () : (ips => ["10.0." . ($i % 250) . ".0/24"]),
            created_at => iso(1_600_000_000 + $i),
        }) . "\n";
    }

    my $r = ok_run(run({ stdin => $lines }, @g4, 'import'),
                   'import 10000 keys');
    is($r->{out}, "imported 10000 keys\n", 'count');

    my $rows = decode_lines(list_json(@g4));
    is(scalar @$rows, 10000, 'list --json: 10000 keys');
    is(scalar(grep { $want{ $_->{access_key} } } @$rows), 10000,
       'the keys that were imported');
    is($rows->[0]{created_at}, iso(1_600_000_000 + 10000), 'newest first');
    is($rows->[-1]{created_at}, iso(1_600_000_000 + 1), 'oldest last');

    $r = ok_run(run(@g4, 'list'), 'list text of 10000');
    is(scalar(split /\n/, $r->{out}), 10001, 'header and 10000 rows');

    $r = ok_run(run(@g4, '--json', 'list', '--account', 'acct7'),
                'list --account of 10000');
    is(scalar @{ decode_lines($r->{out}) }, 100, '100 keys of acct7');

    # the same input again: every key exists, nothing is written
    fails(\@g4, [@g4, 'import'], 1,
          qr/line 1: field "access_key": key .* already exists/,
          'import the same keys again', stdin => $lines);

    # a store too small: nothing is imported, a clear message; a bigger
    # --map-size makes room
    my ($st5, $mk5, @g5) = new_store(map_size => '1M');
    fails(\@g5, [@g5, 'import'], 1,
          qr/store is full \(map size 1M\): reopen with a bigger --map-size/,
          'import into a full store', stdin => $lines);
    is(list_json(@g5), '', 'nothing imported into the full store');

    $r = ok_run(run({ stdin => $lines }, @g5, '--map-size', '64M', 'import'),
                'import after growing the store with --map-size');
    is($r->{out}, "imported 10000 keys\n", 'all imported');
    is(scalar @{ decode_lines(list_json(@g5)) }, 10000, 'all listed');

    # a full store refuses create with the same message
    my ($st6, $mk6, @g6) = new_store(map_size => '1M');
    my $filler = '';
    my $i = 0;
    for (;;) {
        $filler = join '', map {
            $json->encode({ access_key => "fill$i.$_",
                            secret_key => rand_alnum(200), account => 'f',
                            label => 'L' x 250 }) . "\n" } 1 .. 50;
        $i++;
        last if run({ stdin => $filler }, @g6, 'import')->{rc} != 0;
        last if $i > 200;
    }
    my $done = 0;
    for my $try (1 .. 100) {
        my $c = run(@g6, 'create', '--account', 'full', '--label', 'L' x 250);
        if ($c->{rc} != 0) {
            is($c->{rc}, 1, 'create in a full store: exit 1');
            like($c->{err},
                 qr/\Aapisecctl: error: store is full \(map size 1M\): reopen with a bigger --map-size[^\n]*\n\z/,
                 'create in a full store: message');
            $done = 1;
            last;
        }
    }
    ok($done, 'the store filled up');
}


# --- backup, restore -------------------------------------------------------------
#
# A backup is a compact copy of the store (mdb_env_copyfd2 with
# MDB_CP_COMPACT, in one read transaction): one file, mode 0600, which is
# the data.mdb of a store.  Restored (or put in a directory by hand) it
# has every key with the same sealed secret (the records compared with
# mdb_dump), the same passphrase hashes (checked under the master key),
# events and usage windows.  No error leaves a file behind.

# the names in a directory, but . and ..
sub dir_names {
    my ($d) = @_;
    opendir my $dh, $d or return ();
    my @n = sort grep { !/\A\.\.?\z/ } readdir $dh;
    closedir $dh;
    return @n;
}

# the records of one database of a store (directory) or a backup
# (file), as mdb_dump prints them
sub dump_db {
    my ($path, $db) = @_;
    open my $fh, '-|', 'mdb_dump', (-d $path ? () : '-n'), '-s', $db, $path
        or die "mdb_dump: $!";
    local $/;
    my $s = <$fh> // '';
    close $fh;
    unlink "$path-lock" unless -d $path;        # mdb_dump made it
    $s =~ s/\A.*?^HEADER=END\n//ms;              # maxreaders differs
    return $s;
}

my $have_lmdb_utils = system('sh', '-c', 'command -v mdb_dump >/dev/null && '
                             . 'command -v mdb_load >/dev/null') == 0;

{
    my ($stb, $mkb, @gb) = new_store();
    my $bdir = "$tmp/backups";
    mkdir $bdir or die "$bdir: $!";

    # keys of every kind: imported with their secrets, created, with a
    # passphrase, enrolled in 2FA, disabled, revoked
    my %secret = map { ("b-imp$_" => rand_alnum(40)) } 1 .. 3;
    ok_run(run({ stdin => join '', map {
                   $json->encode({ access_key => $_, secret_key => $secret{$_},
                                   account => 'bk', ips => ['10.1.0.0/16'],
                                   permissions => ['read', 'trade'],
                                   created_at => '2024-01-01T00:00:00Z',
                                   last_used_at => '2025-01-01T00:00:00Z' })
                   . "\n" } sort keys %secret }, @gb, 'import'),
           'backup: import keys with their secrets');
    my $kc = create_key(\@gb, '--account', 'bk2', '--perm', 'read,withdraw',
                        '--label', 'to back up');
    my $pass = rand_alnum(24);
    spew("$tmp/bk.pass", "$pass\n");
    my $kp = create_key(\@gb, '--account', 'bk3', '--passphrase-file',
                        "$tmp/bk.pass");
    my $kr = create_key(\@gb, '--account', 'bk4');
    ok_run(run(@gb, '2fa', 'enroll', $kc->{access_key}), 'backup: 2fa enroll');
    ok_run(run(@gb, 'disable', 'b-imp2'), 'backup: disable a key');
    ok_run(run(@gb, 'revoke', $kr->{access_key}), 'backup: revoke a key');

    # a usage window (one bucket of 5 in a 1h window), as nginx writes it
    my $usage_key = 'k|b-imp1|USDT|daily@/withdraw/';
    SKIP: {
        skip 'mdb_dump and mdb_load (lmdb-utils) not installed', 1
            unless $have_lmdb_utils;
        my ($width, $nslots, $idx) = (75, 49, int(time / 75));
        my $rec = pack('C Q> N N', 1, 1, $width, $nslots);
        for my $i (0 .. $nslots - 1) {
            $rec .= $i == $idx % $nslots
                  ? pack('Q> Q> Q> N', $idx, 0, 5 * 10**18, 1)
                  : pack('Q> Q> Q> N', 0, 0, 0, 0);
        }
        open my $fh, '|-', 'mdb_load', '-s', 'usage', $stb
            or die "mdb_load: $!";
        print $fh "VERSION=3\nformat=bytevalue\ntype=btree\nHEADER=END\n",
                  ' ', unpack('H*', $usage_key), "\n ", unpack('H*', $rec),
                  "\nDATA=END\n";
        ok(close($fh), 'a usage window in the store');
    }

    my $list = list_json(@gb);
    my $events = run(@gb, '--json', 'events')->{out};
    my $usage = run(@gb, '--json', 'usage', 'b-imp1')->{out};
    my %show = map { ($_ => run(@gb, 'show', $_)->{out}) }
               (sort(keys %secret), $kc->{access_key}, $kp->{access_key});
    my $n_events = scalar @{ decode_lines($events) };
    is(scalar @{ decode_lines($list) }, 5, 'five keys to back up');
    ok($n_events >= 4, 'and their events');
    like($usage, qr/"sum":"5"/, 'and a usage window') if $have_lmdb_utils;

    my $file = "$bdir/apisec.mdb";
    my $r = ok_run(run(@gb, 'backup', $file), 'backup FILE');
    like($r->{out},
         qr/\Awrote a backup of 5 keys and $n_events events to \Q$file\E \(\d+ bytes\)\n\z/,
         'backup: text output');
    is($r->{err}, '', 'backup: nothing on stderr');
    is((stat $file)[2] & 07777, 0600, 'backup: mode 0600');
    is_deeply([dir_names($bdir)], ['apisec.mdb'],
              'backup: no temporary file left');
    ok(-s $file <= -s "$stb/data.mdb", 'backup: no bigger than the store');
    is(list_json(@gb), $list, 'backup: the store unchanged');

    # restore into a new store
    my $rdir = "$tmp/restored";
    my @gr = ('--store', $rdir, '--master-key', $mkb);
    $r = ok_run(run(@gr, 'restore', $file), 'restore FILE');
    is($r->{out}, "restored a store of 5 keys and $n_events events from "
       . "$file into $rdir\n", 'restore: text output');
    is((stat $rdir)[2] & 07777, 0700, 'restore: the directory is mode 0700');
    is_deeply([dir_names($rdir)], ['data.mdb', 'lock.mdb'],
              'restore: data.mdb and the lock.mdb of the open that gave '
              . 'the event log a new id, nothing else');
    is(list_json(@gr), $list, 'restored: the same keys, field by field');
    is(run(@gr, '--json', 'events')->{out}, $events, 'restored: same events');
    is(run(@gr, '--json', 'usage', 'b-imp1')->{out}, $usage,
       'restored: same usage windows');
    is(run(@gr, 'show', $_)->{out}, $show{$_}, "restored: show $_")
        for sort keys %show;
    ok(!defined $json->decode(run(@gr, '--json', 'show', 'b-imp1')->{out})
                ->{secret_key}, 'restored: show prints no secret');

    SKIP: {
        skip 'mdb_dump not installed', 4 unless $have_lmdb_utils;
        is(dump_db($rdir, 'keys'), dump_db($stb, 'keys'),
           'restored: every key record, sealed secrets and TOTP seeds '
           . 'included, byte for byte');
        is(dump_db($file, 'keys'), dump_db($stb, 'keys'),
           'the backup file itself holds the same records');
        is(dump_db($rdir, 'usage'), dump_db($stb, 'usage'),
           'restored: the usage database byte for byte');

        # the passphrase hash, checked under the master key
        my %rec = map { pack('H*', substr($_, 1)) }
                  grep { /^ / } split /\n/, dump_db($rdir, 'keys');
        my ($rec, $pos, $hash) = ($rec{ $kp->{access_key} } // '', 1);
        while ($pos + 3 <= length $rec) {
            my ($tag, $len) = unpack 'C n', substr($rec, $pos, 3);
            $hash = substr($rec, $pos + 3, $len) if $tag == 14;
            $pos += 3 + $len;
        }
        my $hk = Digest::SHA::hmac_sha256('apisec passphrase v1', slurp($mkb));
        ok(defined $hash && length $hash == 48
           && Digest::SHA::hmac_sha256(substr($hash, 0, 16) . $pass, $hk)
              eq substr($hash, 16),
           'restored: the passphrase hash still matches under the master key');
    }

    # the restored store is a working store, apart from the original
    my $kn = create_key(\@gr, '--account', 'after');
    ok_run(run(@gr, 'rotate', 'b-imp3'), 'restored: rotate');
    my $au = run(@gr, 'audit');
    ok($au->{rc} == 0 || $au->{rc} == 3, 'restored: audit runs');
    is(list_json(@gb), $list, 'the original store unchanged by them');

    # by hand: a new directory holding the copy as data.mdb
    my $mdir = "$tmp/by-hand";
    mkdir $mdir, 0700 or die "$mdir: $!";
    spew("$mdir/data.mdb", slurp($file));
    my @gm = ('--store', $mdir, '--master-key', $mkb);
    is(list_json(@gm), $list, 'by hand (cp FILE DIR/data.mdb): same keys');
    is(run(@gm, '--json', 'events')->{out}, $events,
       'by hand: same events');

    # --json
    $r = ok_run(run(@gb, '--json', 'backup', "$bdir/b2.mdb"),
                'backup --json');
    is_deeply($json->decode($r->{out}),
              { file => "$bdir/b2.mdb", bytes => -s "$bdir/b2.mdb",
                keys => 5, events => $n_events }, 'backup --json: the object');
    $r = ok_run(run('--json', '--store', "$tmp/restored2", '--master-key',
                    $mkb, 'restore', "$bdir/b2.mdb"),
                'restore --json');
    is_deeply($json->decode($r->{out}),
              { store => "$tmp/restored2", file => "$bdir/b2.mdb",
                bytes => -s "$bdir/b2.mdb", keys => 5, events => $n_events },
              'restore --json: the object');

    # never over a file, unless --force
    my $before = slurp($file);
    fails(\@gb, [@gb, 'backup', $file], 1,
          qr/\Aapisecctl: error: backup "\Q$file\E" exists already \(backup --force replaces it\)\n\z/,
          'backup over an existing file');
    is(slurp($file), $before, 'the file unchanged');
    create_key(\@gb, '--account', 'later');
    $r = ok_run(run(@gb, 'backup', $file, '--force'), 'backup --force');
    like($r->{out}, qr/of 6 keys/, 'backup --force: the store as it is now');
    is_deeply([dir_names($bdir)], ['apisec.mdb', 'b2.mdb'],
              'backup --force: no temporary file left');
    is((stat $file)[2] & 07777, 0600, 'backup --force: mode 0600');
    ok_run(run('--store', "$tmp/restored3", '--master-key', $mkb, 'restore',
               $file), 'restore the replaced backup');
    is(list_json('--store', "$tmp/restored3", '--master-key', $mkb),
       list_json(@gb), 'it has the key created since');

    # errors: a clear line, exit 1, no file left anywhere
    fails(\@gb, [@gb, 'backup', "$tmp/no/such/dir/b.mdb"], 1,
          qr/\Aapisecctl: error: cannot write backup "\Q$tmp\E\/no\/such\/dir\/b.mdb": directory "\Q$tmp\E\/no\/such\/dir" does not exist\n\z/,
          'backup into a missing directory');
    ok(!-e "$tmp/no", 'nothing made');
    fails(\@gb, [@gb, 'backup', $bdir], 1, qr/it is a directory/,
          'backup onto a directory');
    my @in_store = dir_names($stb);
    fails(\@gb, [@gb, 'backup', "$stb/data.mdb", '--force'], 1,
          qr/cannot write backup "\Q$stb\E\/data.mdb": it is in the store's directory/,
          'backup --force onto the store itself');
    fails(\@gb, [@gb, 'backup', "$stb/copy.mdb"], 1,
          qr/it is in the store's directory/, 'backup into the store directory');
    is_deeply([dir_names($stb)], \@in_store, 'the store directory as it was');
    fails(\@gb, [@gb, 'backup'], 2,
          qr/missing argument \(usage: apisecctl backup FILE \[--force\]\)/,
          'backup without FILE');
    fails(\@gb, [@gb, 'backup', 'a', 'b'], 2, qr/unexpected argument "b"/,
          'backup with two files');

    my $mkx = "$tmp/mk-backup-other";
    ok_run(run('master-key', $mkx), 'another master key');
    fails(\@gb, ['--store', $stb, '--master-key', $mkx, 'backup',
                 "$bdir/x.mdb"], 1,
          qr/the master key does not open the store/,
          'backup with a wrong master key');
    ok(!-e "$bdir/x.mdb", 'no backup made with it');

    # a full file system (a 16k tmpfs, in a mount namespace of its own)
    SKIP: {
        my $full = "$tmp/full";
        mkdir $full or die;
        my $probe = system('unshare', '-m', 'sh', '-c',
                           'mount -t tmpfs -o size=16k none "$1"', 'sh',
                           $full);
        skip 'no tmpfs in a mount namespace (unshare -m, mount)', 3
            if $probe != 0;
        my $out = `unshare -m sh -c 'mount -t tmpfs -o size=16k none "\$1" && "\$2" --store "\$3" --master-key "\$4" backup "\$1/b.mdb" 2>&1; echo "rc=\$?"; ls -A "\$1"' sh '$full' '$bin' '$stb' '$mkb'`;
        like($out, qr/\Aapisecctl: error: cannot write backup "\Q$full\E\/b.mdb": No space left on device\n/,
             'a full file system: ENOSPC, one line');
        like($out, qr/^rc=1$/m, 'a full file system: exit 1');
        like($out, qr/^rc=1\n\z/m, 'a full file system: no file left on it');
    }

    # a file size limit (ulimit -f, SIGXFSZ ignored): the write fails
    {
        local $SIG{XFSZ} = 'IGNORE';
        my $out = `ulimit -f 8 && '$bin' --store '$stb' --master-key '$mkb' backup '$bdir/big.mdb' 2>&1; echo "rc=\$?"`;
        like($out, qr/\Aapisecctl: error: cannot write backup "\Q$bdir\E\/big.mdb": File too large\nrc=1\n\z/,
             'a write error (EFBIG): one line, exit 1');
        is_deeply([dir_names($bdir)], ['apisec.mdb', 'b2.mdb'],
                  'a write error: no file left');
    }

    # no permission to write in the directory (as nobody when root)
    {
        my $pd = tempdir('apisecctl-perm-XXXXXX', TMPDIR => 1, CLEANUP => 1);
        chmod 0755, $pd;
        my $uid = $> == 0 ? 65534 : undef;
        my $as = sub {
            my @a = @_;
            my $pid = fork // die "fork: $!";
            if ($pid == 0) {
                if (defined $uid) {
                    POSIX::setgid($uid);
                    POSIX::setuid($uid) or exit 126;
                }
                open STDOUT, '>', '/dev/null';
                open STDERR, '>', "$pd.err" or exit 125;
                exec $bin, @a or exit 127;
            }
            waitpid $pid, 0;
            my $err = slurp("$pd.err");
            unlink "$pd.err";
            return ($? >> 8, $err);
        };
        mkdir "$pd/own" or die;
        chown $uid, $uid, "$pd/own" if defined $uid;
        my @gn = ('--store', "$pd/own/store", '--master-key', "$pd/own/mk");
        my ($rc) = $as->('master-key', "$pd/own/mk");
        ($rc) = $as->(@gn, 'init') if $rc == 0;
        ($rc) = $as->(@gn, 'create', '--account', 'p') if $rc == 0;
        is($rc, 0, 'a store of the user that backs up');
        mkdir "$pd/closed", 0555 or die;
        my $err;
        ($rc, $err) = $as->(@gn, 'backup', "$pd/closed/b.mdb");
        is($rc, 1, 'backup into a directory without write permission: exit 1');
        like($err, qr/\Aapisecctl: error: cannot write backup "\Q$pd\E\/closed\/b.mdb": cannot create a file in "\Q$pd\E\/closed": Permission denied\n\z/,
             'permission denied: one line');
        is_deeply([dir_names("$pd/closed")], [], 'permission denied: no file');
        ($rc, $err) = $as->('--store', "$pd/closed/store", '--master-key',
                            "$pd/own/mk", 'restore', $file);
        is($rc, 1, 'restore of a backup the user cannot read: exit 1')
            if defined $uid;
        ($rc) = $as->(@gn, 'backup', "$pd/own/b.mdb");
        ($rc, $err) = $as->('--store', "$pd/closed/store", '--master-key',
                            "$pd/own/mk", 'restore', "$pd/own/b.mdb");
        is($rc, 1, 'restore into a directory without write permission: exit 1');
        like($err, qr/\Aapisecctl: error: cannot create directory "\Q$pd\E\/closed\/store": Permission denied\n\z/,
             'restore, permission denied: one line');
        is_deeply([dir_names("$pd/closed")], [], 'restore: nothing made');
    }

    # restore: refusals, and nothing made
    my $there = list_json(@gr);
    fails(\@gb, [@gr, 'restore', $file], 1,
          qr/\Aapisecctl: error: an apisec store exists already at "\Q$rdir\E"\n\z/,
          'restore over a store');
    is(list_json(@gr), $there, 'the store there unchanged');
    fails(\@gb, ['--store', "$tmp/r-wrong", '--master-key', $mkx, 'restore',
                 $file], 1,
          qr/\Aapisecctl: error: the master key does not open the backup "\Q$file\E" \(a copy of a store of another master key\?\)\n\z/,
          'restore with a wrong master key');
    ok(!-e "$tmp/r-wrong", 'restore with a wrong master key: no directory');
    mkdir "$tmp/r-empty", 0700 or die;
    fails(\@gb, ['--store', "$tmp/r-empty", '--master-key', $mkx, 'restore',
                 $file], 1, qr/does not open the backup/,
          'restore into an empty directory with a wrong master key');
    ok(-d "$tmp/r-empty" && !dir_names("$tmp/r-empty"),
       'the directory that was there stays, empty');
    spew("$tmp/not-a-backup", "hello\n" x 1000);
    fails(\@gb, ['--store', "$tmp/r-junk", '--master-key', $mkb, 'restore',
                 "$tmp/not-a-backup"], 1,
          qr/"\Q$tmp\E\/not-a-backup" is not an apisec backup \(not an LMDB file\)/,
          'restore of a file that is not a backup');
    spew("$tmp/half.mdb", substr($before, 0, length($before) / 2));
    fails(\@gb, ['--store', "$tmp/r-half", '--master-key', $mkb, 'restore',
                 "$tmp/half.mdb"], 1, qr/"\Q$tmp\E\/half.mdb" is truncated/,
          'restore of a truncated backup');
    spew("$tmp/empty.mdb", '');
    fails(\@gb, ['--store', "$tmp/r-empty2", '--master-key', $mkb, 'restore',
                 "$tmp/empty.mdb"], 1, qr/is empty, not an apisec backup/,
          'restore of an empty file');
    fails(\@gb, ['--store', "$tmp/r-none", '--master-key', $mkb, 'restore',
                 "$tmp/no-such.mdb"], 1,
          qr/cannot open backup "\Q$tmp\E\/no-such.mdb": No such file or directory/,
          'restore of a missing file');
    ok(!-e "$tmp/$_", "no $_ made")
        for qw(r-junk r-half r-empty2 r-none);
    fails(\@gb, ['--master-key', $mkb, 'restore', $file], 2,
          qr/no store given/, 'restore without --store');
}


# --- backup while another process writes ------------------------------------------
#
# A writer creates keys in a loop (each key and its key.created event in one
# transaction) while backups are taken: each backup is a snapshot, so the
# keys it holds are exactly those of its key.created events, and its
# events are numbered 1..N without a gap.

{
    my ($stw, $mkw, @gw) = new_store();
    create_key(\@gw, '--account', 'first');
    my $stop = "$tmp/writer.stop";

    my $writer = fork // die "fork: $!";
    if ($writer == 0) {
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', '/dev/null';
        for my $i (1 .. 2000) {
            last if -e $stop;
            system($bin, @gw, 'create', '--account', "w$i",
                   '--label', 'L' x ($i % 200)) == 0 or POSIX::_exit(1);
        }
        POSIX::_exit(0);
    }

    my (@counts, $ok);
    for my $n (1 .. 6) {
        select(undef, undef, undef, 0.15);
        my $f = "$tmp/live$n.mdb";
        my $r = run(@gw, '--json', 'backup', $f);
        $ok = is($r->{rc}, 0, "backup $n while a writer writes") or last;
        my $info = $json->decode($r->{out});

        my @gl = ('--store', "$tmp/live$n", '--master-key', $mkw);
        ok_run(run(@gl, 'restore', $f), "restore backup $n");
        my $keys = decode_lines(list_json(@gl));
        my $evs = events_json(@gl);
        my %in_list = map { ($_->{access_key} => 1) } @$keys;
        my %created = map { ($_->{access_key} => 1) }
                      grep { $_->{type} eq 'key.created' } @$evs;
        is_deeply(\%in_list, \%created,
                  "backup $n: its keys are those of its key.created events");
        is_deeply([map { $_->{seq} } @$evs], [1 .. scalar @$evs],
                  "backup $n: events 1..N, no gap");
        is($info->{keys}, scalar @$keys, "backup $n: keys as reported");
        push @counts, scalar @$keys;
    }

    spew($stop, '');
    waitpid $writer, 0;
    is($?, 0, 'the writer ran without an error');
    ok($counts[-1] > $counts[0], "the store grew during the backups (@counts)");
    ok(!grep({ $counts[$_] < $counts[$_ - 1] } 1 .. $#counts),
       'each backup has at least the keys of the one before');
    is_deeply([grep { /\.tmp\./ } dir_names($tmp)], [],
              'no temporary file left by the backups');

    my $r = ok_run(run(@gw, 'backup', "$tmp/live-end.mdb"),
                   'backup after the writer stopped');
    my @ge = ('--store', "$tmp/live-end", '--master-key', $mkw);
    ok_run(run(@ge, 'restore', "$tmp/live-end.mdb"), 'restore it');
    is(list_json(@ge), list_json(@gw), 'the same keys as the store');
    is(run(@ge, '--json', 'events')->{out}, run(@gw, '--json', 'events')->{out},
       'the same events as the store');
}


# --- environment variables and option placement --------------------------------

{
    my $env = { APISEC_STORE => $st, APISEC_MASTER_KEY => $mk };
    my $r = ok_run(run({ env => $env }, '--json', 'list'),
                   'store and master key from the environment');
    is($r->{out}, list_json(@g), 'same keys');

    $r = ok_run(run('list', '--json', '--store', $st, '--master-key', $mk),
                'global options after the command');
    is($r->{out}, list_json(@g), 'same keys');

    my $k = create_key(\@g, '--account', 'gina');
    $r = ok_run(run(@g, '--', 'show', $k->{access_key}), '-- before the command');
    like($r->{out}, qr/^account: gina$/m, 'works');

    $r = run({ env => { APISEC_STORE => "$tmp/nope", APISEC_MASTER_KEY => $mk } },
             '--store', $st, 'show', $k->{access_key});
    is($r->{rc}, 0, '--store wins over APISEC_STORE');
}


done_testing();
