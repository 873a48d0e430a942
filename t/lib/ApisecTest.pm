package ApisecTest;

# Helpers shared by the Test::Nginx::Socket files of apisec.
#
#   use lib 't/lib';
#   use Test::Nginx::Socket 'no_plan';
#   use ApisecTest;
#
#   ApisecTest::setup(keys => [ { access_key => ..., secret_key => ...,
#                                 account => ..., permissions => [...] } ]);
#   add_block_preprocessor(\&ApisecTest::preprocess);
#   run_tests();
#
# setup() makes a master key and a store (outside t/servroot, which
# Test::Nginx wipes) with apisecctl and imports the fixture keys.
#
# preprocess() runs right before each block: it loads the module, points
# the http block at the store, adds a backend that echoes what it sees,
# and turns an "--- apisec_request" section into a freshly signed request
# (timestamps must be fresh, so they cannot be computed when the file is
# parsed).  It is signed as the block starts, before nginx and the block's
# "--- init": after an init that takes seconds (under valgrind, on a
# loaded machine), the request says recvWindow=60000, or its timestamp is
# out of the default 5 s window when it is sent.  The section is the
# request as sent, with placeholders:
#
#   --- apisec_request
#   POST /api/order?symbol=BTCUSDT&signature={sig}
#   X-HK-APIKEY: reader
#   Content-Type: application/x-www-form-urlencoded
#
#   side=BUY&timestamp={ts}
#
#   {ts}, {ts-6000}, {ts+999}   now in Unix milliseconds, plus or minus
#   {iso}, {iso-400000}         now as YYYY-MM-DDThh%3Amm%3Ass (htx)
#   {isoms}, {isoms+5000}       now as YYYY-MM-DDThh:mm:ss.sssZ (okx)
#   {sig}                       the signature a client of the scheme sends:
#                               hashkey/binance: hex HMAC-SHA256 over
#                               totalParams (query, then form body, each
#                               without its signature parameter);
#                               htx: base64 (percent-encoded) over
#                               METHOD\nhost\npath\n + sorted params;
#                               okx: base64 over ts + METHOD + uri + body
#   @scheme: htx|okx            the scheme (default: hashkey/binance)
#   {totp:KEY}, {totp:KEY-30}   the key's TOTP code at now +- seconds, by
#                               oathtool (enrolled with enroll())
#   {totp_again:KEY}            the last code made for KEY
#   @secret: S                  sign with S instead of the key's secret
#   @tamper: s/a/b/             applied to the request (line, headers,
#                               body) after signing
#   @upper: 1                   send the signature in upper case
#   @repeat: N                  send the request N times (N connections)
#   @signer: openssl            sign with `openssl dgst`, not Digest::SHA
#   @also: s/a/b/               then send a copy of the signed request
#                               changed so (a second connection)
#   @prime: 1                   send the request once from "--- init",
#                               before the block sends it (a replay), and
#                               before the block's own "--- init"
#
#   {nul}                       a NUL byte (0x00)
#   {rep:N:TEXT}                TEXT N times (TEXT without "}")
#   {params:N}, {params:N:q}    N parameters p1=1&p2=1&...&pN=1 (or q1...)
#   @chunked: N                 send the body with Transfer-Encoding:
#                               chunked, in chunks of N bytes (signed as
#                               the decoded body)
#
# "--- apisec_then" lists plain requests ("GET /log") sent after the signed
# one; the block then gives error_code and response_body as eval arrays.
#
# From "--- init", besides send_signed and send_raw: send_parts (a raw
# request in pieces, with pauses, or stalling) and send_curl (a request
# by curl, over HTTP/2 with prior knowledge).
#
# The signature is computed here with Digest::SHA, independently of the
# module's code; t/011-hashkey-openssl.t also uses `openssl dgst`.

use strict;
use warnings;

use Cwd qw(abs_path);
use Digest::SHA qw(hmac_sha256_hex hmac_sha256);
use MIME::Base64 qw(encode_base64);
use POSIX qw(strftime);
use File::Path qw(make_path remove_tree);
use File::Basename qw(basename);
use IO::Socket::INET ();
use IO::Select ();
use IPC::Run ();
use Time::HiRes ();

our %Secret;
our %Totp;          # access key -> base32 TOTP secret (enroll)
our %LastTotp;      # access key -> the last code made for it
our %Receivers;     # pid -> pipe of the webhook receivers running
our ($Dir, $Store, $MasterKey, $Module, $Ctl);

my $build = $ENV{APISEC_BUILD} || abs_path('build');

$Module = "$build/ngx_http_apisec_module.so";
$Ctl = "$build/apisecctl";


sub setup {
    my (%opt) = @_;

    my $name = basename($0, '.t');

    # APISEC_TMP: another directory for the stores, for a run beside
    # another one (each with its TEST_NGINX_SERVROOT and port)
    $Dir = ($ENV{APISEC_TMP} || abs_path('t') . '/tmp') . "/$name";
    remove_tree($Dir);
    make_path($Dir);

    $Store = "$Dir/store";
    $MasterKey = "$Dir/master.key";

    $ENV{APISEC_STORE} = $Store;
    $ENV{APISEC_MASTER_KEY} = $MasterKey;
    $ENV{TEST_NGINX_APISEC_STORE} = $Store;
    $ENV{TEST_NGINX_APISEC_MASTER_KEY} = $MasterKey;
    $ENV{TEST_NGINX_APISEC_DIR} = $Dir;
    $ENV{TEST_NGINX_APISEC_MODULE} = $Module;

    die "apisec: $Module is not built (run make)\n" unless -f $Module;
    die "apisec: $Ctl is not built (run make)\n" unless -x $Ctl;

    ctl('master-key', $MasterKey);
    ctl('init', $opt{map_size} ? ('--map-size', $opt{map_size}) : ());

    if (my $keys = $opt{keys}) {
        import_keys(@$keys);
    }
}


sub import_keys {
    my (@keys) = @_;

    my $lines = '';

    for my $k (@keys) {
        $Secret{$k->{access_key}} = $k->{secret_key};
        $lines .= json_line($k) . "\n";
    }

    ctl_in($lines, 'import');
}


# run apisecctl; die with its stderr unless it exits 0
sub ctl {
    my (@args) = @_;
    return ctl_in('', @args);
}


sub ctl_in {
    my ($in, @args) = @_;

    my ($out, $err) = ('', '');

    IPC::Run::run([$Ctl, @args], \$in, \$out, \$err)
        or die "apisecctl @args: exit " . ($? >> 8) . ": $err";

    return $out;
}


# a fixture key as an import line (flat JSON; values are plain strings)
sub json_line {
    my ($k) = @_;

    my @f;

    for my $name (sort keys %$k) {
        my $v = $k->{$name};

        if (ref $v eq 'ARRAY') {
            push @f, qq{"$name":[} . join(',', map { qq{"$_"} } @$v) . ']';

        } elsif (!defined $v) {
            push @f, qq{"$name":null};

        } else {
            push @f, qq{"$name":"$v"};
        }
    }

    return '{' . join(',', @f) . '}';
}


sub now_ms {
    return int(Time::HiRes::time() * 1000);
}


# enrol a key for 2FA; its TOTP secret is kept for {totp:KEY}
sub enroll {
    my ($key) = @_;

    require JSON::PP;
    my $r = JSON::PP::decode_json(ctl('--json', '2fa', 'enroll', $key));
    $Totp{$key} = $r->{totp_secret} or die "2fa enroll $key: no secret";

    return $r;
}


# the TOTP code of a key at now + off seconds, by oathtool
sub totp {
    my ($key, $off) = @_;

    my $b32 = $Totp{$key} // die "no TOTP secret for $key";
    my ($out, $err) = ('', '');

    IPC::Run::run(['oathtool', '--totp', '-b', $b32, '-N',
                   '@' . (time + $off)], \undef, \$out, \$err)
        or die "oathtool: $err";
    chomp $out;

    return $LastTotp{$key} = $out;
}


# a key's record, as apisecctl --json show prints it
sub show {
    my ($key) = @_;

    require JSON::PP;
    return JSON::PP::decode_json(ctl('--json', 'show', $key));
}


# RFC 3339 for a time so many seconds ago
sub ago {
    my ($secs) = @_;
    return strftime('%Y-%m-%dT%H:%M:%SZ', gmtime(time - $secs));
}


# what a HashKey/Binance client signs
sub total_params {
    my ($query, $body) = @_;

    my $strip = sub {
        my ($s) = @_;
        return '' unless defined $s && length $s;
        return join '&', grep { !/^signature=/ } split /&/, $s, -1;
    };

    return $strip->($query) . $strip->($body);
}


sub sign {
    my ($secret, $query, $body, $signer) = @_;

    my $data = total_params($query, $body);

    return hmac_sha256_hex($data, $secret) unless ($signer // '') eq 'openssl';

    # the openssl command line, as a shell client signs
    my ($out, $err) = ('', '');
    IPC::Run::run(['openssl', 'dgst', '-sha256', '-hmac', $secret],
                  \$data, \$out, \$err)
        or die "openssl dgst: $err";
    $out =~ /= ([0-9a-f]{64})$/m or die "openssl dgst: $out";

    return $1;
}


# Unix ms as YYYY-MM-DDThh%3Amm%3Ass (htx, encoded) or ...sss Z (okx)
sub iso {
    my ($ms, $okx) = @_;

    my $s = strftime('%Y-%m-%dT%H:%M:%S', gmtime(int($ms / 1000)));

    return sprintf('%s.%03dZ', $s, $ms % 1000) if $okx;

    $s =~ s/:/%3A/g;
    return $s;
}


# HTX signature version 2, as its clients compute it
sub htx_sign {
    my ($secret, $method, $host, $path, $query) = @_;

    my @p = sort { (split /=/, $a)[0] cmp (split /=/, $b)[0] }
            grep { length && !/^Signature=/ } split /&/, $query // '';

    my $mac = encode_base64(hmac_sha256(join("\n", uc $method, lc $host,
                                             $path, join('&', @p)),
                                        $secret), '');

    $mac =~ s/([+\/=])/sprintf('%%%02X', ord $1)/ge;

    return $mac;
}


sub signed_request {
    my ($text) = @_;

    my ($head, $body) = split /\n\n/, $text, 2;
    my @lines = split /\n/, $head;
    my $first = shift @lines;
    my (%at, @headers);

    for my $l (@lines) {
        if ($l =~ /^@(\w+):\s*(.*)$/) {
            $at{$1} = $2;

        } else {
            push @headers, $l;
        }
    }

    $body = '' unless defined $body;
    $body =~ s/\n+\z//;

    # codes must not straddle a 30 s step: wait for the next one if late
    if ($text =~ /\{totp/) {
        my $t = Time::HiRes::time();
        my $in = $t - 30 * int($t / 30);
        Time::HiRes::sleep(30.3 - $in) if $in > 27;
    }

    my $now = now_ms();
    my $fill = sub {
        my ($s) = @_;
        $s =~ s/\{ts([+-]\d+)?\}/$now + ($1 || 0)/ge;
        $s =~ s/\{iso([+-]\d+)?\}/iso($now + ($1 || 0), 0)/ge;
        $s =~ s/\{isoms([+-]\d+)?\}/iso($now + ($1 || 0), 1)/ge;
        $s =~ s/\{totp:([\w.-]+?)([+-]\d+)?\}/totp($1, $2 || 0)/ge;
        $s =~ s/\{totp_again:([\w.-]+)\}/$LastTotp{$1}/g;
        $s =~ s/\{rep:(\d+):([^}]*)\}/$2 x $1/ge;
        $s =~ s/\{params:(\d+)(?::(\w+))?\}/
                join '&', map { ($2 \/\/ 'p') . "$_=1" } 1 .. $1/gex;
        $s =~ s/\{nul\}/\0/g;
        return $s;
    };

    $first = $fill->($first);
    $body = $fill->($body);
    @headers = map { $fill->($_) } @headers;

    my ($method, $uri) = split / /, $first, 2;
    my ($path, $query) = split /\?/, $uri, 2;

    my $scheme = $at{scheme} // 'hashkey';
    my ($key) = map { /^(?:X-HK-APIKEY|X-MBX-APIKEY|OK-ACCESS-KEY):\s*(.*)$/i
                      ? $1 : () } @headers;
    ($key) = ($query // '') =~ /(?:^|&)AccessKeyId=([^&]*)/ if $scheme eq 'htx';
    my $secret = $at{secret};
    $secret = $Secret{$key} if !defined $secret && defined $key;
    $secret = 'x' x 64 unless defined $secret;

    my $form = grep { m{^Content-Type:\s*application/x-www-form-urlencoded}i }
               @headers;

    my $sig;

    if ($scheme eq 'htx') {
        my ($host) = map { /^Host:\s*(.*)$/i ? $1 : () } @headers;
        $sig = htx_sign($secret, $method, $host // 'localhost', $path, $query);

    } elsif ($scheme eq 'okx') {
        my ($ts) = map { /^OK-ACCESS-TIMESTAMP:\s*(.*)$/i ? $1 : () } @headers;
        $sig = encode_base64(hmac_sha256(($ts // '') . $method . $uri . $body,
                                         $secret), '');

    } else {
        $sig = sign($secret, $query, $form ? $body : '', $at{signer});
        $sig = uc $sig if $at{upper};
    }

    my $req = "$method $uri\n$body";
    my $hdr = join "\n", @headers;

    s/\{sig\}/$sig/g for $req, $hdr;

    if (my $t = $at{tamper}) {
        for ($req, $hdr) {
            eval $t;
            die "bad \@tamper $t: $@" if $@;
        }
    }

    if (my $n = $at{chunked}) {
        $req = chunked($req, $n);
        $hdr .= (length $hdr ? "\n" : '') . 'Transfer-Encoding: chunked';
    }

    my @also;

    if (my $t = $at{also}) {
        for (my $r = $req) {
            eval $t;
            die "bad \@also $t: $@" if $@;
            push @also, $r;
        }
    }

    return ($req, $hdr, $at{repeat}, $at{prime}, @also);
}


# "@prime: 1": the block's "--- init" sends its signed request once before
# the block does (so that the block's own request is the replay)
our %Prime;

sub prime {
    my ($name) = @_;

    my ($status, $res) = send_raw(@{ $Prime{$name} });

    $status == 200 or die "prime: not accepted: $res";
}


# send_signed(TEXT): sign TEXT (as an "--- apisec_request" section) and
# send it on a connection of its own, from "--- init"; returns the status
# and the whole response
sub send_signed {
    my ($text) = @_;

    my ($req, $hdr) = signed_request($text);

    return send_raw($req, $hdr);
}


# one request ("METHOD URI\nBODY" and header lines) on a connection of its
# own; the status and the whole response
sub send_raw {
    my ($req, $hdr) = @_;

    my $port = Test::Nginx::Socket::server_port();
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                     PeerPort => $port, Timeout => 5)
        or die "connect to $port: $!";

    print $sock raw_request($req, $hdr);

    my $res = do { local $/; <$sock> };
    close $sock;

    my ($status) = ($res // '') =~ m{^HTTP/1\.[01] (\d+) };

    return ($status // 0, $res // '');
}


# the bytes that send_raw sends for a request and its header lines
sub raw_request {
    my ($req, $hdr) = @_;

    my ($line, $body) = split /\n/, $req, 2;
    $body //= '';
    $hdr //= '';

    # as the runner: no Content-Length when the headers have one, or
    # say chunked
    my $len = $hdr =~ /^(?:Content-Length|Transfer-Encoding):/mi
              ? '' : 'Content-Length: ' . length($body) . "\r\n";

    return join '', "$line HTTP/1.1\r\nHost: localhost\r\n",
                    "Connection: close\r\n",
                    map({ "$_\r\n" } grep { length } split /\n/, $hdr),
                    "$len\r\n$body";
}


# "METHOD URI\nBODY" with the body in chunks of n bytes (chunked coding)
sub chunked {
    my ($req, $n) = @_;

    my ($line, $body) = split /\n/, $req, 2;
    $body //= '';

    my $out = '';

    for (my $i = 0; $i < length $body; $i += $n) {
        my $c = substr $body, $i, $n;
        $out .= sprintf("%x\r\n", length $c) . "$c\r\n";
    }

    return "$line\n${out}0\r\n\r\n";
}


# send_parts([PIECES], TIMEOUT): one connection; each piece is bytes to
# send or a reference to a number of seconds to pause; then read until
# the server closes or TIMEOUT seconds (default 5) pass without a byte.
# The status (0: none), the whole response, the seconds from the last
# piece sent to the end, and whether it ended by the server closing.
sub send_parts {
    my ($pieces, $timeout) = @_;

    $timeout //= 5;

    my $port = Test::Nginx::Socket::server_port();
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                     PeerPort => $port, Timeout => 5)
        or die "connect to $port: $!";
    $sock->autoflush(1);

    for my $p (@$pieces) {
        if (ref $p) {
            Time::HiRes::sleep($$p);

        } else {
            # the server may have closed already: no SIGPIPE
            local $SIG{PIPE} = 'IGNORE';
            syswrite($sock, $p) // last;
        }
    }

    my $t0 = Time::HiRes::time();
    my ($res, $closed) = ('', 0);
    my $sel = IO::Select->new($sock);

    while ($sel->can_read($timeout)) {
        my $n = sysread($sock, my $buf, 65536);
        if (!$n) {
            $closed = 1;
            last;
        }
        $res .= $buf;
    }

    close $sock;

    my ($status) = $res =~ m{^HTTP/1\.[01] (\d+) };

    return ($status // 0, $res, Time::HiRes::time() - $t0, $closed);
}


# send_curl(REQ, HDR, OPTIONS): the request (as signed_request makes it)
# sent by curl to 127.0.0.1:port (default: the server's) with the header
# lines as they are and the body as given; options: port => N, http2 => 1
# (HTTP/2 with prior knowledge, h2c), no_length => 1 (the body streamed
# from stdin without a Content-Length: chunked in HTTP/1.1, DATA frames
# alone in HTTP/2).  The status, the whole response (status line and
# headers too) and the HTTP version of the response.
sub send_curl {
    my ($req, $hdr, %opt) = @_;

    my ($line, $body) = split /\n/, $req, 2;
    $body //= '';
    my ($method, $uri) = split / /, $line, 2;
    my $port = $opt{port} // Test::Nginx::Socket::server_port();

    my @cmd = ('curl', '-sS', '-i', '--path-as-is', '--max-time', '10',
               '-X', $method, '-H', 'Expect:',
               $opt{http2} ? ('--http2-prior-knowledge') : ());

    push @cmd, '-H', $_ for grep { length } split /\n/, $hdr // '';

    my $in = '';

    if ($opt{no_length}) {
        push @cmd, '-T', '-';
        $in = $body;

    } elsif (length $body) {
        push @cmd, '--data-binary', '@-';
        $in = $body;
    }

    push @cmd, "http://127.0.0.1:$port$uri";

    my ($out, $err) = ('', '');

    my $ok = IPC::Run::run(\@cmd, \$in, \$out, \$err);
    my ($ver, $status) = $out =~ m{^HTTP/([\d.]+) (\d+)};

    # a refusal sent before the body was read ends the HTTP/2 stream with
    # RST_STREAM (nginx does not read the rest); when that comes while
    # curl is still sending, it exits 92 although it has the answer
    unless ($ok || (($? >> 8) == 92 && ($status // 0) >= 400
                    && $out =~ /\r\n\r\n/))
    {
        die "curl: exit " . ($? >> 8) . ": $err";
    }

    return ($status // 0, $out, $ver // '');
}


# the locations that a block gets when it has no "--- config"
our $DefaultConfig = <<'END';
    location /api/ {
        apisec on;
        proxy_pass http://apisec_backend;
    }

    location /trade/ {
        apisec on;
        apisec_permission trade;
        proxy_pass http://apisec_backend;
    }

    location /withdraw/ {
        apisec on;
        apisec_permission withdraw;
        proxy_pass http://apisec_backend;
    }

    location /open/ {
        proxy_pass http://apisec_backend;
    }
END


# a block preprocessor that sets "apisec_flush_interval INTERVAL" in every
# block's http_config that does not set its own, then runs preprocess():
#   add_block_preprocessor(ApisecTest::flush_every('300ms'));
sub flush_every {
    my ($interval) = @_;

    return sub {
        my ($block) = @_;
        my $http = $block->http_config // '';
        $block->set_value('http_config',
                          "apisec_flush_interval $interval;\n" . $http)
            unless $http =~ /apisec_flush_interval/;
        preprocess($block);
    };
}


# A webhook receiver (t/lib/receiver.pl) on 127.0.0.1:PORT that logs
# every request to LOG as a JSON line and answers with the status in
# LOG.status, else 200: its pid, once it listens.
sub receiver_start {
    my ($port, $log) = @_;

    my $pid = open my $fh, '-|', $^X, abs_path('t/lib/receiver.pl'),
                  $port, $log;
    die "receiver: $!" unless $pid;

    my $ready = <$fh>;
    die "receiver on $port did not start\n" unless defined $ready;

    $Receivers{$pid} = $fh;

    return $pid;
}

sub receiver_stop {
    my ($pid) = @_;

    kill 'TERM', $pid;
    close delete $Receivers{$pid};
}

# what the receiver logged: its requests, decoded, oldest first
sub received {
    my ($log) = @_;

    require JSON::PP;

    open my $fh, '<', $log or return ();
    return map { JSON::PP::decode_json($_) } <$fh>;
}

# wait (up to TIMEOUT s) until COND(@received) holds; its last value
sub wait_received {
    my ($log, $timeout, $cond) = @_;

    my $until = Time::HiRes::time() + $timeout;
    my $ok;

    while (1) {
        $ok = $cond->(received($log));
        last if $ok || Time::HiRes::time() > $until;
        Time::HiRes::sleep(0.1);
    }

    return $ok;
}

END {
    kill 'TERM', $_ for keys %Receivers;
}


# the store's events of KEY (decoded), of TYPE when given, oldest first
sub events {
    my ($key, $type) = @_;

    require JSON::PP;
    return grep { !defined $type || $_->{type} eq $type }
           grep { $_->{access_key} eq $key }
           map { JSON::PP::decode_json($_) }
           split /\n/, ctl('--json', 'events');
}


sub preprocess {
    my ($block) = @_;

    my $main = $block->main_config // '';
    $block->set_value('main_config', "load_module $Module;\n$main");

    my $http = $block->http_config // '';
    my $backend = Test::Nginx::Socket::html_dir() . '/../backend.sock';

    my $pre = '';

    if (($block->apisec_store // '') ne 'none') {
        $pre .= "apisec_store $Store;\napisec_master_key $MasterKey;\n";
    }

    $pre .= <<"END";
upstream apisec_backend {
    server unix:$backend;
}

server {
    listen unix:$backend;

    location / {
        return 200 "backend \$request_method \$uri account=\$http_x_apisec_account key=\$http_x_apisec_key body=\$http_x_apisec_body\\n";
    }
}

proxy_set_header X-Apisec-Account \$apisec_account;
proxy_set_header X-Apisec-Key \$apisec_access_key;
proxy_set_header X-Apisec-Body \$request_body;
END

    $block->set_value('http_config', "$pre$http");

    if (!defined $block->config) {
        $block->set_value('config', $DefaultConfig);
    }

    if (defined(my $r = $block->apisec_request)) {
        my ($req, $hdr, $at_repeat, $at_prime, @also) = signed_request($r);

        if ($at_prime) {
            $Prime{$block->name} = [$req, $hdr];
            $block->set_value('init',
                              'ApisecTest::prime(q{' . $block->name . "});\n"
                              . ($block->init // ''));
        }
        $block->set_value('more_headers', $hdr) if length $hdr;

        if (my $n = $at_repeat) {
            # the same signed request on n connections
            $block->set_value('request', [($req) x $n]);

        } elsif (@also) {
            $block->set_value('request', [$req, @also]);

        } elsif (defined(my $then = $block->apisec_then)) {
            # more plain requests after the signed one, on new connections
            $block->set_value('request', [$req, split /\n/, $then]);

        } else {
            $block->set_value('request', $req);
        }
    }
}



# Load from background processes, for the fault tests (t/095-faults.t):
#
#   my $l = ApisecTest::load_start(clients => 4, request => TEXT or CODE);
#   ApisecTest::load_wait($l, 50);          # 50 answers in all, so far
#   ... kill, reload, apisecctl ...
#   my @r = ApisecTest::load_stop($l);
#
# Each client is a process of its own that sends requests one after the
# other, each signed afresh (as an "--- apisec_request" section; CODE gets
# the client's number and the request's and returns the text) on a
# connection of its own, to port (default: the server's), until
# load_stop.  Every answer is a hash: client, n, t0 (sent), t1 (answered;
# Unix seconds), status (0: no answer: refused, reset or closed) and code
# (the JSON error code, or "ok").  No request is counted twice and none is
# left out: a client writes its line before it sends the next.

our $LoadSeq = 0;

sub load_start {
    my (%opt) = @_;

    my $dir = "$Dir/load-" . ++$LoadSeq;
    remove_tree($dir);
    make_path($dir);

    my $port = $opt{port} // Test::Nginx::Socket::server_port();
    my @pids;

    for my $c (1 .. $opt{clients} // 4) {
        my $pid = fork;
        die "fork: $!" unless defined $pid;

        if ($pid == 0) {
            # no END block of the runner here: it would stop nginx
            eval { load_client($dir, $c, $port, $opt{request}) };
            POSIX::_exit($@ ? 1 : 0);
        }

        push @pids, $pid;
    }

    return { dir => $dir, pids => \@pids, clients => scalar @pids };
}


sub load_client {
    my ($dir, $c, $port, $request) = @_;

    open my $log, '>', "$dir/$c.log" or die "$dir/$c.log: $!";
    $log->autoflush(1);

    for (my $n = 1; !-e "$dir/stop"; $n++) {
        my $text = ref $request eq 'CODE' ? $request->($c, $n) : $request;
        my ($req, $hdr) = signed_request($text);
        my $bytes = raw_request($req, $hdr);

        my $t0 = Time::HiRes::time();
        my $res = '';
        my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                         PeerPort => $port, Timeout => 30);

        if ($sock) {
            local $SIG{PIPE} = 'IGNORE';

            if (syswrite($sock, $bytes)) {
                my $sel = IO::Select->new($sock);

                # 120 s without a byte: an answer that never comes
                while ($sel->can_read(120)) {
                    my $got = sysread($sock, my $buf, 65536);
                    last unless $got;
                    $res .= $buf;
                }
            }

            close $sock;
        }

        my $t1 = Time::HiRes::time();
        my ($status) = $res =~ m{^HTTP/1\.[01] (\d+) };
        my ($code) = $res =~ /"code":"([^"]+)"/;

        printf $log "%d %d %.6f %.6f %d %s\n", $c, $n, $t0, $t1,
               $status // 0, $code // ($status ? 'ok' : 'none');
    }

    close $log;
    open my $done, '>', "$dir/$c.done" or die "$dir/$c.done: $!";
    close $done;
}


# the answers so far, from the clients' logs
sub load_results {
    my ($l) = @_;

    my @r;

    for my $c (1 .. $l->{clients}) {
        open my $fh, '<', "$l->{dir}/$c.log" or next;

        while (my $line = <$fh>) {
            next unless $line =~ /\n\z/;    # a line being written
            my %h;
            @h{qw(client n t0 t1 status code)} = split ' ', $line;
            push @r, \%h;
        }
    }

    return @r;
}


# wait until the clients have n answers in all (at most timeout seconds,
# default 180); the number of answers
sub load_wait {
    my ($l, $n, $timeout) = @_;

    my $end = Time::HiRes::time() + ($timeout // 180);
    my $got;

    while (($got = () = load_results($l)) < $n
           && Time::HiRes::time() < $end)
    {
        Time::HiRes::sleep(0.05);
    }

    return $got;
}


# stop the clients, wait for them (each ends its request in progress);
# every answer
sub load_stop {
    my ($l) = @_;

    open my $fh, '>', "$l->{dir}/stop" or die "$l->{dir}/stop: $!";
    close $fh;

    my $end = Time::HiRes::time() + 300;

    for my $c (1 .. $l->{clients}) {
        Time::HiRes::sleep(0.05)
            while !-e "$l->{dir}/$c.done" && Time::HiRes::time() < $end
                  && kill(0, $l->{pids}[$c - 1]);
        waitpid($l->{pids}[$c - 1], 0);
    }

    return load_results($l);
}


# the worker processes of the running nginx
sub worker_pids {
    my $master = Test::Nginx::Util::get_pid_from_pidfile('');
    return sort { $a <=> $b } grep { /^\d+$/ } split /\s+/, `pgrep -P $master`;
}


# the pids in the store's reader table (mdb_stat -r), one per slot
sub reader_pids {
    my ($store) = @_;

    # (its exit status is 1 even when it succeeds)
    my $out = `mdb_stat -r "${\($store // $Store)}" 2>&1`;
    die "mdb_stat -r: $out" unless $out =~ /^Reader Table Status/;

    return map { /^\s+(\d+)\s+[0-9a-f]+\s+(?:\d+|-)\s*$/ ? $1 : () }
           split /\n/, $out;
}

1;
