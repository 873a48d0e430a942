package Test::Nginx::Util;

# Compatibility re-implementation of the parts of CPAN's Test::Nginx::Util
# that t/compat/Test/Nginx/Socket.pm needs.  Only used when the real
# Test::Nginx is not installed (see t/compat/README.md).  The package name,
# the exported names and the observable behaviour follow the real module so
# that test files run unchanged under either implementation.

use strict;
use warnings;
use v5.10.1;

our $VERSION = '0.29_compat';

use base 'Exporter';

use Config ();
use POSIX qw( SIGQUIT SIGKILL SIGTERM WNOHANG );
use File::Spec ();
use File::Path qw( make_path remove_tree );
use File::Temp qw( tempfile );
use List::Util qw( shuffle );
use Scalar::Util qw( looks_like_number );
use Time::HiRes qw( sleep time );
use IO::Socket::INET ();
use Test::More ();
use Test::LongString;
use Carp qw( croak );

# ---------------------------------------------------------------------------
# settings (same names / env variables / defaults as the real module)
# ---------------------------------------------------------------------------

our $Verbose              = $ENV{TEST_NGINX_VERBOSE};
our $NoLongString;
our $RepeatEach           = 1;
our $NoShuffle            = $ENV{TEST_NGINX_NO_SHUFFLE} || 0;
our $Timeout              = $ENV{TEST_NGINX_TIMEOUT} || 3;
our $CheckAccumErrLog     = $ENV{TEST_NGINX_CHECK_ACCUM_ERR_LOG};
our $ServerAddr           = '127.0.0.1';
our $ServerName           = 'localhost';
our $NginxBinary          = $ENV{TEST_NGINX_BINARY} || 'nginx';
our $Workers              = 1;
our $WorkerConnections    = 64;
our $LogLevel             = $ENV{TEST_NGINX_LOG_LEVEL} || 'debug';
our $MasterProcessEnabled = $ENV{TEST_NGINX_MASTER_PROCESS} || 'off';
our $DaemonEnabled        = 'on';
our $ServerPort           = $ENV{TEST_NGINX_SERVER_PORT}
                            || $ENV{TEST_NGINX_PORT} || 1984;
our $ServerPortForClient  = $ENV{TEST_NGINX_CLIENT_PORT} || $ServerPort
                            || 1984;
our $NoRootLocation       = 0;
our $TestNginxSleep       = $ENV{TEST_NGINX_SLEEP} || 0.015;
our $ForceRestartOnTest   = defined $ENV{TEST_NGINX_FORCE_RESTART_ON_TEST}
                            ? $ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} : 1;
our $NoNginxManager       = $ENV{TEST_NGINX_NO_NGINX_MANAGER} || 0;
our $LoadModules          = $ENV{TEST_NGINX_LOAD_MODULES};
our $PostponeOutput       = $ENV{TEST_NGINX_POSTPONE_OUTPUT};
our $EventType            = $ENV{TEST_NGINX_EVENT_TYPE};
our $ReusePort            = $ENV{TEST_NGINX_REUSE_PORT};
our $WorkerUser           = $ENV{TEST_NGINX_WORKER_USER};
our $ConfigPreamble       = '';
our $FilterHttpConfig;
our $UseHup;              # not supported; kept for compatibility
our $UseStap;             # not supported
our $CheckLeak            = 0;
our $UseValgrind          = $ENV{TEST_NGINX_USE_VALGRIND};
our $TotalErrLog          = $ENV{TEST_NGINX_ERROR_LOG};
our $Benchmark            = 0;
our $BenchmarkWarmup      = 0;

if (defined $WorkerUser && $WorkerUser !~ /^\w+(?:\s+\w+)?$/) {
    die "Bad value in the env TEST_NGINX_WORKER_USER: $WorkerUser\n";
}

for my $unsupported (qw( TEST_NGINX_USE_HUP
                         TEST_NGINX_USE_STAP TEST_NGINX_CHECK_LEAK
                         TEST_NGINX_BENCHMARK TEST_NGINX_USE_HTTP2
                         TEST_NGINX_USE_HTTP3 TEST_NGINX_USE_RR
                         TEST_NGINX_RANDOMIZE ))
{
    if ($ENV{$unsupported}) {
        warn "WARNING: $unsupported is not supported by the compat "
             . "Test::Nginx runner (t/compat); ignored.\n";
    }
}

# valgrind: nginx in the foreground, a child of this process, so that
# valgrind's output goes to our stderr (the real module's behaviour)
if ($UseValgrind) {
    $DaemonEnabled = 'off';
}

our $ServRoot   = $ENV{TEST_NGINX_SERVROOT}
                  || File::Spec->rel2abs('t/servroot');
$ENV{TEST_NGINX_SERVER_ROOT} = $ServRoot;

our $LogDir     = File::Spec->catfile($ServRoot, 'logs');
our $ErrLogFile = File::Spec->catfile($LogDir, 'error.log');
our $AccLogFile = File::Spec->catfile($LogDir, 'access.log');
our $HtmlDir    = File::Spec->catfile($ServRoot, 'html');
our $ConfDir    = File::Spec->catfile($ServRoot, 'conf');
our $ConfFile   = File::Spec->catfile($ConfDir, 'nginx.conf');
our $PidFile    = File::Spec->catfile($LogDir, 'nginx.pid');

# hooks installed by Test::Nginx::Socket
our $RunTestHelper;
our $CheckErrorLog;
our $CheckShutdownErrorLog;

our ($NginxVersion, $NginxRawVersion, $OpenSSLVersion);
our $PrevConfig;
our $PrevBlock;
our $ErrLogFilePos = 0;
our $InSubprocess;
our $ChildPid;
our @CleanupHandlers;
our @BlockPreprocessors;
our @EnvToNginx;
our $SubReaper;
our %StartedNginx;        # pid => 1 for every nginx this process started
our $TotalErrLogPos;      # TEST_NGINX_ERROR_LOG: error.log copied so far
our $TotalErrLogName;     # ... by this block

our @EXPORT = qw(
    env_to_nginx
    is_str
    check_accum_error_log
    is_running
    $NoLongString
    no_long_string
    $ServerAddr
    server_addr
    $ServerName
    server_name
    parse_time
    $UseStap
    verbose
    sleep_time
    bail_out
    add_cleanup_handler
    access_log_data
    error_log_data
    setup_server_root
    write_config_file
    get_canon_version
    get_nginx_version
    trim
    show_all_chars
    parse_headers
    run_tests
    get_pid_from_pidfile
    $ServerPortForClient
    $ServerPort
    $NginxVersion
    $PidFile
    $ServRoot
    $ConfFile
    $RunTestHelper
    $CheckErrorLog
    $CheckShutdownErrorLog
    $FilterHttpConfig
    $NoNginxManager
    $RepeatEach
    $CheckLeak
    $Benchmark
    $BenchmarkWarmup
    add_block_preprocessor
    timeout
    worker_connections
    workers
    master_on
    master_off
    config_preamble
    repeat_each
    master_process_enabled
    log_level
    no_shuffle
    no_root_location
    html_dir
    server_root
    server_port
    server_port_for_client
    no_nginx_manager
    use_hup
);

# ---------------------------------------------------------------------------
# process handling helpers
# ---------------------------------------------------------------------------

# Become a "child subreaper" (Linux prctl PR_SET_CHILD_SUBREAPER) so that the
# daemonized nginx, whose parent exits right away, is re-parented to this
# test process rather than to PID 1.  That lets us reap it: in containers
# PID 1 often never reaps, which would leave <defunct> nginx entries behind.
{
    my %prctl_nr = (
        'x86_64'  => 157,
        'aarch64' => 167,
        'i386'    => 172,
        'i686'    => 172,
    );
    my ($arch) = ($Config::Config{archname} =~ /^([^-]+)/);
    if ($^O eq 'linux' && defined $arch && $prctl_nr{$arch}) {
        local $!;
        my $rc = eval { syscall($prctl_nr{$arch}, 36, 1, 0, 0, 0) };
        $SubReaper = 1 if defined $rc && $rc == 0;
    }
}

sub _reap_children () {
    local ($!, $?);
    1 while waitpid(-1, WNOHANG) > 0;
}

sub is_running ($) {
    my $pid = shift;
    return undef if !defined $pid || $pid !~ /^\d+$/ || $pid <= 1;

    {
        local ($!, $?);
        my $rc = waitpid($pid, WNOHANG);
        return undef if $rc == $pid;    # it was our child and is gone now
    }

    if (open my $in, '<', "/proc/$pid/stat") {
        my $stat = <$in>;
        close $in;
        if (defined $stat && $stat =~ /^\d+ \(.*\) (\S)/s) {
            return undef if $1 eq 'Z' || $1 eq 'X';
        }
    }

    return kill 0, $pid;
}

sub kill_process ($$$) {
    my ($pid, $wait, $name) = @_;

    return if !defined $pid;

    if ($wait) {
        warn "sending QUIT signal to $pid\n" if $Verbose;
        kill SIGQUIT, $pid;

        my $left = timeout();
        while ($left > 0 && is_running($pid)) {
            sleep 0.05;
            $left -= 0.05;
        }

        if (is_running($pid)) {
            warn "$name - timeout when waiting for the process $pid to exit\n";
            _kill_hard($pid);
        }
    }

    my $step = $TestNginxSleep;
    for (my $i = 1; $i <= 20; $i++) {
        return if !is_running($pid);

        warn "WARNING: killing the child process $pid.\n" if $Verbose;
        if (!kill SIGTERM, $pid) {
            warn "WARNING: failed to send term signal to the child "
                 . "process with PID $pid.\n";
        }

        $step *= 1.2;
        $step = 0.5 if $step > 0.5;
        sleep $step;
    }

    return if !is_running($pid);

    warn "$name - WARNING: killing the child process $pid with force...\n";
    _kill_hard($pid);

    my $left = timeout();
    while ($left > 0 && is_running($pid)) {
        sleep 0.05;
        $left -= 0.05;
    }
}

sub _kill_hard ($) {
    my $pid = shift;
    my $pgrp = getpgrp($pid);
    if (defined $pgrp && $pgrp == $pid) {
        kill SIGKILL, -$pid;     # nginx daemon leads its own group
    } else {
        kill SIGKILL, $pid;
    }
    sleep 0.05;
    is_running($pid);            # reaps if it is our (sub-reaped) child
}

sub cleanup () {
    warn "cleaning up everything\n" if $Verbose;

    for my $hdl (@CleanupHandlers) {
        $hdl->();
    }

    if (defined $ChildPid) {
        kill_process($ChildPid, 1, "cleanup");
        undef $ChildPid;
    }
}

# Is $pid an nginx that this very process started?  (With the subreaper
# on, our daemons are our children; otherwise match the command line.)
sub _is_own_nginx ($) {
    my $pid = shift;
    return 0 if !is_running($pid);

    open my $in, '<', "/proc/$pid/stat" or return 0;
    my $stat = <$in> // '';
    close $in;
    my ($ppid) = $stat =~ /^\d+ \(.*\) \S (\d+)/s;

    if ($SubReaper) {
        return defined $ppid && $ppid == $$;
    }

    open my $c, '<', "/proc/$pid/cmdline" or return 0;
    my $cmd = do { local $/; <$c> } // '';
    close $c;
    return index($cmd, "$ServRoot/") >= 0;
}

# Stop the nginx named by the pid file (the real module's behaviour, which
# also stops a leftover from an earlier TEST_NGINX_NO_CLEAN run), and any
# nginx we started ourselves whose pid file has gone missing meanwhile.
sub _stop_nginx ($) {
    my $name = shift;

    _stop_nginx_now($name);
    _append_total_errlog(undef, 1);
}

sub _stop_nginx_now ($) {
    my $name = shift;

    if (-f $PidFile) {
        my $pid = _read_pid_file();
        if (defined $pid && $pid =~ /^\d+$/ && is_running($pid)) {
            kill_process($pid, 1, $name);
        }

        if (-f $PidFile && !(defined $pid && is_running($pid))) {
            unlink $PidFile;
        }
    }

    for my $pid (sort keys %StartedNginx) {
        if (_is_own_nginx($pid)) {
            kill_process($pid, 1, $name);
        }
        delete $StartedNginx{$pid} if !is_running($pid);
    }
}

# TEST_NGINX_ERROR_LOG (as in the real module): after each block, its
# error.log is appended to that file under a "=== FILE BLOCK" title.  This
# runner also appends what nginx logs while it is being stopped (exit-time
# messages), which the real module loses when the next block wipes the
# server root.  $rest: only what was not copied yet.
sub _append_total_errlog ($$) {
    my ($title, $rest) = @_;

    return if !$TotalErrLog;
    return if $rest && !defined $TotalErrLogPos;

    my $from = $rest ? $TotalErrLogPos : 0;
    $title = "$TotalErrLogName (shutdown)" if $rest;

    open my $in, '<', $ErrLogFile or return;
    my $size = -s $in // 0;

    if ($size > $from) {
        seek $in, $from, 0;
        my $data = do { local $/; <$in> } // '';

        open my $out, '>>', $TotalErrLog
            or bail_out("Failed to append to $TotalErrLog: $!\n");
        print $out "\n=== $0 $title\n", $data;
        close $out;
    }

    close $in;
    $TotalErrLogPos = $rest ? undef : $size;
    $TotalErrLogName = $title;
}

END {
    return if $InSubprocess;

    local $?;
    local $@;

    cleanup();

    if (!$ENV{TEST_NGINX_NO_CLEAN}) {
        eval { _stop_nginx("END") };
    }

    _reap_children();
}

# make sure Ctrl-C / TERM still run the END block above (nginx is a daemon
# in its own session, so it would not receive the terminal's signal itself)
for my $sig (qw( INT TERM HUP )) {
    if (!defined $SIG{$sig} || $SIG{$sig} eq '' || $SIG{$sig} eq 'DEFAULT') {
        $SIG{$sig} = sub {
            warn "Test::Nginx (compat): caught SIG$sig, cleaning up\n";
            exit 128 + ($sig eq 'INT' ? 2 : $sig eq 'TERM' ? 15 : 1);
        };
    }
}

# ---------------------------------------------------------------------------
# small exported helpers
# ---------------------------------------------------------------------------

sub no_long_string () { $NoLongString = 1; }

sub is_str (@) {
    my ($got, $expected, $desc) = @_;

    local $Test::Builder::Level = $Test::Builder::Level + 1;

    if (ref $expected && ref $expected eq 'Regexp') {
        return Test::More::like($got, $expected, $desc);
    }

    if ($NoLongString) {
        return Test::More::is($got, $expected, $desc);
    }

    return is_string($got, $expected, $desc);
}

sub server_addr (@) {
    if (@_) { $ServerAddr = shift; return }
    return $ServerAddr;
}

sub server_name (@) {
    if (@_) { $ServerName = shift; return }
    return $ServerName;
}

sub timeout (@) {
    if (@_) { $Timeout = shift; return }
    return $Timeout;
}

sub no_shuffle ()       { $NoShuffle = 1; }
sub no_nginx_manager () { $NoNginxManager = 1; }
sub use_hup ()          {
    warn "WARNING: use_hup() is not supported by the compat runner; "
         . "ignored.\n";
}

sub env_to_nginx (@) {
    croak "env_to_nginx: no arguments specified" if !@_;
    for my $v (@_) {
        if ($v !~ /^[A-Za-z_]/ || $v =~ /\n/) {
            croak "env_to_nginx: bad argument value: $v\n";
        }
        push @EnvToNginx, $v;
    }
}

sub sleep_time { return $TestNginxSleep; }
sub verbose    { return $Verbose; }

sub server_port (@) {
    if (@_) { $ServerPort = shift; return }
    return $ServerPort;
}

sub server_port_for_client (@) {
    if (@_) { $ServerPortForClient = shift; return }
    return $ServerPortForClient;
}

sub repeat_each (@) {
    $RepeatEach = shift if @_;
    return $RepeatEach;
}

sub worker_connections (@) {
    if (@_) { $WorkerConnections = shift; return }
    return $WorkerConnections;
}

sub no_root_location () { $NoRootLocation = 1; }

sub workers (@) {
    if (@_) { $Workers = shift; return }
    return $Workers;
}

sub log_level (@) {
    if (@_) { $LogLevel = shift; return }
    return $LogLevel;
}

sub check_accum_error_log () { $CheckAccumErrLog = 1; }

sub master_on ()  { $MasterProcessEnabled = 'on'; }
sub master_off () { $MasterProcessEnabled = 'off'; }

sub master_process_enabled (@) {
    if (@_) {
        $MasterProcessEnabled = shift() ? 'on' : 'off';
        return;
    }
    return $MasterProcessEnabled;
}

sub config_preamble ($) { $ConfigPreamble = shift; }

sub add_block_preprocessor (&) { unshift @BlockPreprocessors, shift; }

sub add_cleanup_handler ($) { unshift @CleanupHandlers, shift; }

sub html_dir ()    { return $HtmlDir; }
sub server_root () { return $ServRoot; }

sub parse_time ($) {
    my $tm = shift;
    if (defined $tm) {
        if ($tm =~ s/([^_a-zA-Z])ms$/$1/) {
            $tm = $tm / 1000;
        } else {
            $tm =~ s/([^_a-zA-Z])s$/$1/;
        }
    }
    return $tm;
}

sub trim ($) {
    my $s = shift;
    return undef if !defined $s;
    $s =~ s/^\s+|\s+$//g;
    $s =~ s/\n/ /gs;
    $s =~ s/\s{2,}/ /gs;
    return $s;
}

sub show_all_chars ($) {
    my $s = shift;
    $s =~ s/\n/\\n/gs;
    $s =~ s/\r/\\r/gs;
    $s =~ s/\t/\\t/gs;
    return $s;
}

sub bail_out (@) {
    cleanup();
    Test::More::BAIL_OUT(@_);
}

sub get_canon_version (@) {
    return sprintf "%d.%03d%03d", $_[0], $_[1], $_[2];
}

sub get_nginx_version () {
    my $out = `$NginxBinary -V 2>&1`;
    if (!defined $out || $? != 0) {
        $out //= '';
        bail_out("Failed to get the version of the Nginx in PATH: $out");
    }

    if ($out =~ m{built with OpenSSL (\d+)\.(\d+)\.(\d+)}s) {
        $OpenSSLVersion = get_canon_version($1, $2, $3);
    }

    if ($out =~ m{(?:nginx|openresty)[^/]*/(\d+)\.(\d+)\.(\d+)}s
        || $out =~ m{\w+/(\d+)\.(\d+)\.(\d+)}s)
    {
        $NginxRawVersion = "$1.$2.$3";
        return get_canon_version($1, $2, $3);
    }

    bail_out("Failed to parse the output of \"nginx -V\": $out\n");
}

sub _read_pid_file () {
    open my $in, '<', $PidFile or return undef;
    my $pid = do { local $/; <$in> };
    close $in;
    return undef if !defined $pid;
    chomp $pid;
    $pid =~ s/^\s+|\s+$//g;
    return $pid;
}

sub get_pid_from_pidfile ($) {
    my ($name) = @_;
    if (!-f $PidFile) {
        bail_out("$name - Failed to open the pid file $PidFile for "
                 . "reading: $!");
    }
    return _read_pid_file();
}

sub parse_headers ($) {
    my $s = shift;
    my %headers;
    no warnings 'uninitialized';
    for my $line (split /\n/, $s) {
        $line =~ s/^\s+|\s+$//g;
        if ($line =~ s/^!\s*//) {
            $headers{$line} = undef;
        } else {
            my ($key, $val) = split /\s*:\s*/, $line, 2;
            $headers{$key} = $val;
        }
    }
    return \%headers;
}

# error log lines for the current check: starts at $ErrLogFilePos (reset to 0
# when nginx is (re)started and right before the first request of a block)
# and advances, so every repeat_each iteration sees only its own lines.
sub error_log_data () {
    sleep $TestNginxSleep * 3;

    open my $in, '<', $ErrLogFile or return undef;

    if (!$CheckAccumErrLog && $ErrLogFilePos > 0) {
        seek $in, $ErrLogFilePos, 0;
    }

    my @lines = <$in>;

    if (!$CheckAccumErrLog) {
        $ErrLogFilePos = tell($in);
    }

    close $in;
    return \@lines;
}

sub access_log_data () {
    sleep $TestNginxSleep * 3;

    open my $in, '<', $AccLogFile or do {
        die "open $AccLogFile failed: $!" if $AccLogFile ne 'off';
        return undef;
    };

    my @lines = <$in>;
    close $in;
    return \@lines;
}

# ---------------------------------------------------------------------------
# server root, user files, nginx.conf
# ---------------------------------------------------------------------------

sub setup_server_root (@) {
    if (-d $ServRoot) {
        # like the real module: only the directories it creates are removed
        # and the server root itself must then be empty.
        remove_tree($ConfDir, glob("$ServRoot/*_cache"),
                    glob("$ServRoot/*_temp"));
        remove_tree($HtmlDir, $LogDir);
        rmdir $ServRoot
            or bail_out("Can't remove $ServRoot (not empty?): $!");
    }

    for my $dir ($ServRoot, $LogDir, $HtmlDir, $ConfDir) {
        next if -d $dir;
        mkdir $dir or bail_out("Failed to do mkdir $dir\n");
    }

    my $index_file = "$HtmlDir/index.html";
    open my $out, '>', $index_file
        or bail_out("Can't open $index_file for writing: $!\n");
    print $out '<html><head><title>It works!</title></head>'
               . '<body>It works!</body></html>';
    close $out;
}

sub _gen_rand_port ($) {
    my $used = shift;
    for (1 .. 1000) {
        my $port = int(rand 63550) + 1985;
        next if $used->{$port};
        my $sock = IO::Socket::INET->new(
            LocalAddr => $ServerAddr,
            LocalPort => $port,
            Proto     => 'tcp',
            Timeout   => 0.1,
        );
        if ($sock) {
            close $sock;
            return $port;
        }
    }
    return undef;
}

sub expand_env_in_text ($$$) {
    my ($text, $name, $rand_ports) = @_;

    return undef if !defined $text;

    $text =~ s{\$(TEST_NGINX_[_A-Z0-9]+)}{
        my $var = $1;
        my $val;
        if ($var =~ /^TEST_NGINX_RAND_PORT_[0-9]+$/) {
            if (!defined $rand_ports->{$var}) {
                my %used = ($ServerPort => 1,
                            map { $_ => 1 } values %$rand_ports);
                my $port = _gen_rand_port(\%used);
                defined $port or bail_out("$name - Cannot find an available "
                                          . "listening port number for $var.\n");
                $rand_ports->{$var} = $port;
            }
            $val = $rand_ports->{$var};
        } else {
            defined $ENV{$var}
                or bail_out("$name - No environment $var defined.\n");
            $val = $ENV{$var};
        }
        $val;
    }ge;

    return $text;
}

sub write_user_files ($$) {
    my ($block, $rand_ports) = @_;

    my $name = $block->name;
    my $files = $block->user_files;
    return if !$files;

    if (!ref $files) {
        my @list;
        my ($fname, $body, $date);
        for my $line (split /^/m, $files) {
            if ($line =~ />>> (\S+)(?:\s+(.+))?/) {
                push @list, [$fname, $body, $date] if $fname;
                ($fname, $date) = ($1, $2);
                undef $body;
            } else {
                $body .= $line;
            }
        }
        push @list, [$fname, $body, $date] if $fname;
        $files = \@list;

    } elsif (ref $files ne 'ARRAY') {
        bail_out("$name - wrong value type: ", ref $files,
                 ", only scalar or ARRAY are accepted");
    }

    for my $file (@$files) {
        my ($fname, $body, $date) = @$file;
        $body = '' if !defined $body;

        my $path = $fname =~ m{^/} ? $fname : "$HtmlDir/$fname";

        if ($path =~ m{(.*)/}) {
            my $dir = $1;
            if (!-d $dir) {
                make_path($dir)
                    or bail_out("$name - Cannot create directory ", $dir);
            }
        }

        $body = expand_env_in_text($body, $name, $rand_ports);

        open my $out, '>', $path
            or bail_out("$name - Cannot open $path for writing: $!\n");
        binmode $out;
        print $out $body;
        close $out;

        if ($date) {
            my $cmd = "TZ=GMT touch -t '$date' $HtmlDir/$fname";
            system($cmd) == 0
                or bail_out("Failed to run shell command: $cmd\n");
        }
    }
}

sub write_config_file ($$$) {
    my ($block, $config, $rand_ports) = @_;

    my $name             = $block->name;
    my $http_config      = $block->http_config;
    my $main_config      = $block->main_config;
    my $post_main_config = $block->post_main_config;
    my $err_log_file     = $block->error_log_file || $ErrLogFile;
    my $server_name      = $block->server_name;
    $server_name = $ServerName if !defined $server_name;

    $config = '' if !defined $config;

    $http_config = expand_env_in_text($http_config, $name, $rand_ports);
    $http_config = '' if !defined $http_config;
    $http_config = $FilterHttpConfig->($http_config) if $FilterHttpConfig;

    my $postpone = $PostponeOutput;
    undef $postpone if $http_config =~ /\bpostpone_output\b/;
    my $extra_http_config = '';
    if (defined $postpone) {
        $postpone =~ /^\d+$/
            or bail_out("Bad TEST_NGINX_POSTPONE_OUTPUT value: $postpone\n");
        $extra_http_config = "\n    postpone_output $postpone;\n";
    }

    $main_config = '' if !defined $main_config;
    if ($LoadModules) {
        my @mods = map { "load_module $_;" } grep { $_ } split /\s+/,
                   $LoadModules;
        $main_config .= join ' ', @mods if @mods;
    }
    $main_config = expand_env_in_text($main_config, $name, $rand_ports);

    $post_main_config = '' if !defined $post_main_config;
    $post_main_config = expand_env_in_text($post_main_config, $name,
                                           $rand_ports);

    my $listen_opts = $ReusePort ? ' reuseport' : '';

    my $env_lines = '';
    for my $v (@EnvToNginx) {
        my $e = $v =~ /\s/ ? "'$v'" : $v;
        $env_lines .= "env $e;\n";
    }

    my $root_location = $NoRootLocation ? '' : <<"_EOC_";
        location / {
            root $HtmlDir;
            index index.html index.htm;
        }
_EOC_

    my $events_use = $EventType ? "    use $EventType;\n" : '';

    my $user = '';
    if (defined $WorkerUser) {
        $user = "user $WorkerUser;\n";
    } elsif ($> == 0) {
        $user = "user root;\n";
    }

    # The layout below reproduces the file generated by the real module.
    # The postpone_output line is only emitted in the real module's HUP mode
    # (a quirk we keep: it is never written here).
    my $conf = <<"_EOC_";
worker_processes  $Workers;
daemon $DaemonEnabled;
master_process $MasterProcessEnabled;
error_log $err_log_file $LogLevel;
pid       $PidFile;
env MOCKEAGAIN_VERBOSE;
env MOCKEAGAIN;
env MOCKEAGAIN_WRITE_TIMEOUT_PATTERN;
env LD_PRELOAD;
env LD_LIBRARY_PATH;
env DYLD_INSERT_LIBRARIES;
env DYLD_FORCE_FLAT_NAMESPACE;
${env_lines}#env LUA_PATH;
#env LUA_CPATH;

$main_config

http {
    access_log $AccLogFile;
    #access_log off;

    default_type text/plain;
    keepalive_timeout  68;

$http_config

    server {
        listen          $ServerPort$listen_opts;
        server_name     '$server_name';

        client_max_body_size 30M;
        #client_body_buffer_size 4k;


        # Begin preamble config...
$ConfigPreamble
        # End preamble config...

        # Begin test case config...
$config
        # End test case config.

${root_location}    }
}

$post_main_config

#timer_resolution 100ms;

events {
    accept_mutex off;

    worker_connections  $WorkerConnections;
${events_use}}
env ASAN_OPTIONS;
env MOCKNOEAGAIN_VERBOSE;
env MOCKNOEAGAIN;
$user
_EOC_

    $conf =~ s/\n\z//;    # "$user" already ends the file with a newline
    $conf .= "\n" if $conf !~ /\n\z/;

    open my $out, '>', $ConfFile
        or bail_out("Can't open $ConfFile for writing: $!\n");
    print $out $conf;
    close $out;
}

# ---------------------------------------------------------------------------
# running the blocks
# ---------------------------------------------------------------------------

sub can_run ($) {
    my ($cmd) = @_;

    if ($cmd =~ m{[/\\]}) {
        return (-f $cmd && -x $cmd) ? $cmd : undef;
    }

    for my $dir ((split /\Q$Config::Config{path_sep}\E/, $ENV{PATH} // ''),
                 '.')
    {
        next if $dir eq '';
        my $abs = File::Spec->catfile($dir, $cmd);
        return $abs if -f $abs && -x $abs;
    }

    return undef;
}

sub run_tests () {
    $NginxVersion = get_nginx_version();

    if (!defined $ENV{TEST_NGINX_SERVER_PORT}) {
        $ENV{TEST_NGINX_SERVER_PORT} = $ServerPort;
    }

    my @blocks = Test::Base::blocks();
    @blocks = shuffle @blocks if !$NoShuffle;

    for my $block (@blocks) {
        for my $hdl (@BlockPreprocessors) {
            $hdl->($block);
        }

        $block->set_value("name", $0 . " " . $block->name);
        run_test($block);

        $PrevBlock = $block;
    }

    cleanup();
}

sub _slurp ($) {
    my $file = shift;
    open my $in, '<', $file or return '';
    local $/;
    my $s = <$in>;
    close $in;
    return $s // '';
}

sub _tail ($$) {
    my ($text, $n) = @_;
    my @lines = split /\n/, $text;
    @lines = @lines[-$n .. -1] if @lines > $n;
    return join "\n", @lines;
}

sub _nginx_cmd ($) {
    my $stderr_file = shift;

    my $cmd;
    if ($NginxVersion >= 0.007053) {
        $cmd = "$NginxBinary -p $ServRoot/ -c $ConfFile";
    } else {
        $cmd = "$NginxBinary -c $ConfFile";
    }

    # nginx >= 1.19.5: route the early (pre-configuration) log, where config
    # errors go, to the test error.log.  A default source build of nginx
    # already logs there ("logs/error.log" relative to -p), which is what the
    # real Test::Nginx relies on; distribution builds such as Debian's use
    # --error-log-path=stderr or an absolute path instead.
    if ($NginxVersion >= 1.019005) {
        $cmd .= " -e $ErrLogFile";
    }

    if (!defined $stderr_file) {
        return $cmd;
    }

    $cmd .= " > /dev/null 2> $stderr_file";
    return $cmd;
}

# TEST_NGINX_USE_VALGRIND, as the real module does it: a number runs
# memcheck with full leak checks (and valgrind.suppress from the current
# directory when it is there); any other value is valgrind's options.
# Output goes to stderr, after the block's name.
sub _valgrind_cmd ($) {
    my $cmd = shift;

    if ($UseValgrind =~ /^\d+$/) {
        my $opts = "--tool=memcheck --leak-check=full --show-possibly-lost=no";

        if (-f 'valgrind.suppress') {
            return "valgrind --num-callers=100 -q $opts --gen-suppressions=all "
                   . "--suppressions=valgrind.suppress $cmd > /dev/null";
        }

        return "valgrind --num-callers=100 -q $opts --gen-suppressions=all "
               . "$cmd > /dev/null";
    }

    return "valgrind -q $UseValgrind $cmd > /dev/null";
}

# Start nginx under valgrind in the foreground, in its own process group,
# and wait for its pid file (written once it listens: valgrind is slow to
# start).  Returns an error text when nginx exits before that.
sub _start_valgrind ($$) {
    my ($name, $cmd) = @_;

    warn "$name\n";
    warn "CMD: $cmd\n" if $Verbose;

    my $pid = fork();
    bail_out("$name - fork() failed: $!") if !defined $pid;

    if ($pid == 0) {
        setpgrp;
        my $tb = Test::More->builder;
        $tb->no_ending(1);
        $InSubprocess = 1;
        exec "exec $cmd" or POSIX::_exit(127);
    }

    $ChildPid = $pid;
    $StartedNginx{$pid} = 1;

    my $wait = 60;
    while ($wait > 0) {
        local ($!, $?);
        if (waitpid($pid, WNOHANG) == $pid) {
            undef $ChildPid;
            delete $StartedNginx{$pid};
            return "nginx exited with status $?";
        }

        my $running = _read_pid_file();
        if (defined $running && $running eq $pid) {
            return undef;
        }

        sleep 0.1;
        $wait -= 0.1;
    }

    return "nginx did not write its pid file within 60 seconds";
}

# after each block under valgrind (the real module's behaviour): QUIT
# nginx and wait for it to exit, so that valgrind reports the block's
# leaks right after its name
sub _stop_valgrind ($) {
    my $name = shift;

    my $pid = $ChildPid;
    return if !defined $pid;

    kill SIGQUIT, $pid;

    my $left = 30;
    while ($left > 0) {
        local ($!, $?);
        last if waitpid($pid, WNOHANG) == $pid;
        sleep 0.05;
        $left -= 0.05;
    }

    if ($left <= 0) {
        warn "$name - timeout when waiting for nginx $pid to exit under "
             . "valgrind\n";
        kill SIGKILL, -$pid;
        local ($!, $?);
        waitpid($pid, 0);
    }

    undef $ChildPid;
    delete $StartedNginx{$pid};
    unlink $PidFile if -f $PidFile;
    _append_total_errlog(undef, 1);
}

sub _start_failure_details ($) {
    my $stderr = shift;
    my $details = '';
    if ($stderr =~ /\S/) {
        $details .= "nginx stderr:\n$stderr";
        $details .= "\n" if $details !~ /\n\z/;
    }
    my $log = _slurp($ErrLogFile);
    if ($log =~ /\S/) {
        $details .= "tail of $ErrLogFile:\n" . _tail($log, 30) . "\n";
    }
    return $details;
}

sub run_test ($) {
    my $block = shift;

    return if defined $block->SKIP;

    my $name = $block->name;
    my $rand_ports = {};

    my $config = expand_env_in_text($block->config, $name, $rand_ports);

    my $dry_run = 0;
    my $should_restart = 1;
    my $should_reconfig = 1;

    local $LogLevel = $LogLevel;
    if ($block->log_level) {
        $LogLevel = $block->log_level;
    }

    my $must_die = $block->must_die;

    local $UseValgrind = $UseValgrind;
    local $DaemonEnabled = $DaemonEnabled;
    if (defined $must_die && $UseValgrind) {
        undef $UseValgrind;
        $DaemonEnabled = 'on';
    }

    if (!defined $config) {
        if (!$NoNginxManager && !defined $PrevConfig) {
            bail_out("$name - No '--- config' section specified and could "
                     . "not get previous one. Use TEST_NGINX_NO_NGINX_MANAGER ?");
        }
        # the running nginx (previous block's config) is reused as is
        $should_restart = 0;
        $should_reconfig = 0;

    } elsif ($NoNginxManager) {
        Test::More::diag("NO_NGINX_MANAGER activated: config for $name ignored");
        $should_restart = 0;
        $should_reconfig = 0;

    } else {
        $should_reconfig = (!defined $PrevConfig || $config ne $PrevConfig)
                           ? 1 : 0;
        $should_restart = ($should_reconfig || $ForceRestartOnTest) ? 1 : 0;
    }

    if (!$NoNginxManager && $should_restart) {
        $PrevConfig = $config if $should_reconfig;

        # stop the nginx of the previous block (if any)
        _stop_nginx($name);
        if (-f $PidFile) {
            unlink $PidFile
                or warn "WARNING: failed to remove pid file $PidFile\n";
        }

        setup_server_root();
        write_user_files($block, $rand_ports);
        write_config_file($block, $config, $rand_ports);

        if (!can_run($NginxBinary)) {
            bail_out("$name - Cannot find the nginx executable in the PATH "
                     . "environment");
        }

        $ErrLogFilePos = 0;

        if ($UseValgrind) {
            my $cmd = _valgrind_cmd(_nginx_cmd(undef));
            my $err = _start_valgrind($name, $cmd);

            if (defined $err) {
                my $details = _start_failure_details('');
                Test::More::diag("$name - nginx failed to start under "
                                 . "valgrind ($err):\n$details");
                bail_out("$name - Cannot start nginx using command "
                         . "\"$cmd\" ($err).");
            }

            goto REQUEST;
        }

        my (undef, $stderr_file) = tempfile("test-nginx-stderr-XXXXXX",
                                            TMPDIR => 1, UNLINK => 1);
        my $cmd = _nginx_cmd($stderr_file);

        my $i = 0;
        my $waited = 0;

      RUN_AGAIN:
        warn "CMD: $cmd\n" if $Verbose;
        system($cmd);
        my $status = $?;

        my $stderr = _slurp($stderr_file);
        print STDERR $stderr if $stderr ne '';   # like the real module

        my ($exec_failed, $exit_code, $coredump);
        if ($status == -1) {
            $exec_failed = 1;
        } else {
            $exit_code = $status >> 8;
            $coredump = $status & 128;
            if ($exit_code > 128) {      # killed, reported by the shell
                $coredump = 1 if ($exit_code - 128) =~ /^(?:6|11|4|7|8)$/;
            }
        }

        if (defined $must_die) {
            if ($exec_failed) {
                Test::More::fail("$name - failed to execute the nginx "
                                 . "command line");
            } elsif ($coredump) {
                Test::More::fail("$name - nginx core dumped");
            } elsif (looks_like_number($must_die)) {
                Test::More::is($must_die, $exit_code,
                               "$name - die with the expected exit code");
            } else {
                Test::More::isnt($status, 0, "$name - die as expected");
            }

            $CheckErrorLog->($block, undef, $dry_run, $i, 0);

            if ($status == 0) {
                warn "WARNING: $name - nginx must die but it does not; "
                     . "killing it (req $i)\n";
                for (1 .. 15) {
                    last if -f $PidFile;
                    sleep $TestNginxSleep;
                }
                my $pid = _read_pid_file();
                $StartedNginx{$pid} = 1 if defined $pid && $pid =~ /^\d+$/;
                _stop_nginx($name);
            }

            goto RUN_AGAIN if ++$i < $RepeatEach;
            _append_total_errlog($block->name, 0);
            return;
        }

        if ($status != 0) {
            my $details = _start_failure_details($stderr);

            # the real module retries for up to 30 seconds (the previous
            # nginx may still hold the port); we only keep retrying when the
            # failure looks transient, a config error will not go away.
            if ($details =~ /Address already in use|still could not bind/
                && $waited < 30)
            {
                $i++;
                my $delay = 0.1 * $i;
                $delay = 1 if $delay > 1;
                sleep $delay;
                $waited += $delay;
                goto RUN_AGAIN;
            }

            Test::More::diag("$name - nginx failed to start "
                             . "(status $status):\n$details");
            bail_out("$name - Cannot start nginx using command \"$cmd\" "
                     . "(status code $status).");
        }

        # nginx daemonizes after binding its listening sockets; the pid
        # file is written by the daemon child, so wait for it briefly.
        for (1 .. 200) {
            last if -f $PidFile && -s $PidFile;
            sleep 0.01;
        }

        {
            my $pid = _read_pid_file();
            $StartedNginx{$pid} = 1 if defined $pid && $pid =~ /^\d+$/;
        }

        sleep $TestNginxSleep;
    }

  REQUEST:

    # "--- init" runs after nginx has been started (or reused) and before
    # the first request of the block; once per block, not per repeat_each.
    if ($block->init) {
        eval $block->init;
        if ($@) {
            bail_out("$name - init failed: $@");
        }
    }

    $ErrLogFilePos = 0;
    for (my $i = 1; $i <= $RepeatEach; $i++) {
        warn "Run the test block ", $block->name, " ...\n" if $Verbose;

        if ($i > 1) {
            write_user_files($block, $rand_ports);
        }

        $RunTestHelper->($block, $dry_run, $i - 1);
    }

    _append_total_errlog($block->name, 0);

    if ($UseValgrind) {
        _stop_valgrind($name);
    }
}

1;
