# Self-test of the compat Test::Nginx::Socket runner (t/compat/).  Not part
# of the product test suite.  Run from the project root:
#
#     prove -I t/compat t/compat/selftest.t
#
# Uses the stock nginx binary only (no third-party module).  Phase 1 runs
# the fixtures under t/compat/fixtures/ in subprocesses (passing ones with
# exact test counts, deliberately failing ones, bail-out, death, SIGINT,
# TEST_NGINX_ERROR_LOG, TEST_NGINX_USE_VALGRIND);
# phase 2 is an ordinary Test::Nginx::Socket run over the __DATA__ blocks.
#
# It uses its own server root (a temporary directory) and a free port, so
# it does not collide with a product-suite run in t/servroot on port 1984.

use File::Temp ();
use IO::Socket::INET ();

BEGIN {
    if (!$ENV{TEST_NGINX_SERVROOT}) {
        my $dir = File::Temp::tempdir('compat-selftest-XXXXXX', TMPDIR => 1,
                                      CLEANUP => 1);
        $ENV{TEST_NGINX_SERVROOT} = "$dir/servroot";
    }
    if (!$ENV{TEST_NGINX_SERVER_PORT} && !$ENV{TEST_NGINX_PORT}) {
        my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                      LocalPort => 0, Proto => 'tcp',
                                      Listen => 1)
            or die "cannot find a free port: $!";
        $ENV{TEST_NGINX_SERVER_PORT} = $s->sockport;
        close $s;
    }
}

use Test::Nginx::Socket 'no_plan';
use POSIX ();
use Time::HiRes ();

my $Perl = $^X;
my @Inc  = ('-I', 't/compat');
my $Fix  = 't/compat/fixtures';

# live (non-zombie) nginx processes whose command line uses our server root
sub live_test_nginx {
    my $root = server_root();
    my @pids;
    for my $dir (glob "/proc/[0-9]*") {
        my ($pid) = $dir =~ m{(\d+)$};
        open my $c, '<', "$dir/cmdline" or next;
        my $cmd = do { local $/; <$c> } // '';
        close $c;
        next if $cmd !~ /nginx/ || index($cmd, $root) < 0;
        open my $s, '<', "$dir/stat" or next;
        my $stat = <$s> // '';
        close $s;
        next if $stat =~ /^\d+ \(.*\) [ZX]/s;
        push @pids, $pid;
    }
    return @pids;
}

sub run_fixture {
    my ($file, @prefix) = @_;
    my $cmd = join ' ', @prefix, $Perl, @Inc, "$Fix/$file", '2>&1';
    my $out = `$cmd`;
    my $rc = $? >> 8;
    return ($out, $rc);
}

sub no_leftover_nginx {
    my $what = shift;
    my @left = live_test_nginx();
    ok(!@left, "$what: no nginx process left behind")
        or diag("left running: @left");
}

# --- phase 1: subprocess fixtures -----------------------------------------

{
    my ($out, $rc) = run_fixture('pass_plan.fixture');
    is($rc, 0, 'pass_plan: exit status 0') or diag($out);
    like($out, qr/^1\.\.52$/m, 'pass_plan: explicit plan of 52 tests');
    unlike($out, qr/^not ok/m, 'pass_plan: no failing test');
    unlike($out, qr/Looks like you planned/, 'pass_plan: test count exact');
    my $oks = () = $out =~ /^ok \d+/mg;
    is($oks, 52, 'pass_plan: 52 passing tests');
    like($out, qr/TEST 3: must_die.*die with the expected exit code/,
         'pass_plan: must_die with exit code checked');
    no_leftover_nginx('pass_plan');
}

{
    my ($out, $rc) = run_fixture('only.fixture');
    is($rc, 0, 'only: exit status 0') or diag($out);
    like($out, qr/^1\.\.2$/m, 'only: blocks() counts the ONLY block alone');
    like($out, qr/I found ONLY/, 'only: Test::Base ONLY notice');
    like($out, qr/TEST 2: the only one - response_body/,
         'only: ONLY block ran (own "location /" via no_root_location)');
    unlike($out, qr/TEST [13]:/, 'only: other blocks did not run');
    no_leftover_nginx('only');
}

{
    my ($out, $rc) = run_fixture('last.fixture');
    is($rc, 0, 'last: exit status 0') or diag($out);
    like($out, qr/^1\.\.4$/m, 'last: blocks after LAST are dropped');
    unlike($out, qr/TEST 3:/, 'last: block after LAST did not run');
    no_leftover_nginx('last');
}

{
    my ($out, $rc) = run_fixture('fail.fixture');
    my @not_ok = $out =~ /^(not ok \d+ .*)$/mg;
    is(scalar @not_ok, 9, 'fail: the 9 expected failures') or diag($out);
    like($out, qr/^not ok \d+ .*TEST 1: wrong body - response_body/m,
         'fail: wrong body reported');
    like($out, qr/strings begin to differ at char 2/,
         'fail: Test::LongString diagnostic for the body');
    like($out, qr/^not ok \d+ .*TEST 2: wrong status - status code ok/m,
         'fail: wrong status reported');
    like($out, qr/got: '404'\n#\s+expected: '200'/,
         'fail: status got/expected shown');
    like($out, qr/^not ok \d+ .*pattern "this text is never logged" should match a line in error\.log/m,
         'fail: missing error_log pattern reported');
    like($out, qr/^not ok \d+ .*pattern "No such file or directory" should not match any line in error\.log but matches line/m,
         'fail: present no_error_log pattern reported');
    like($out, qr/^not ok \d+ .*header X-Foo not present in the raw headers/m,
         'fail: unexpected header reported');
    like($out, qr/^not ok \d+ .*header X-Bar ok/m,
         'fail: wrong header value reported');
    like($out, qr/^not ok \d+ - ERROR: client socket timed out/m,
         'fail: client timeout reported');
    like($out, qr/^not ok \d+ .*response_body_like/m,
         'fail: response_body_like mismatch reported');
    no_leftover_nginx('fail');

    my $prove = `prove @Inc $Fix/fail.fixture 2>&1`;
    my $prc = $? >> 8;
    isnt($prc, 0, 'fail: prove exits non-zero');
    like($prove, qr/Result: FAIL/, 'fail: prove reports FAIL')
        or diag($prove);
    no_leftover_nginx('fail via prove');
}

{
    my ($out, $rc) = run_fixture('fail_diff.fixture');
    isnt($rc, 0, 'fail_diff: exit status non-zero');
    like($out, qr/^not ok 2 /m, 'fail_diff: body failure');
    like($out, qr/^#\s*\@\@ -1,3 \+1,3 \@\@/m,
         'fail_diff: Text::Diff hunk with no_long_string')
        or diag($out);
    like($out, qr/^#\s*-line 2$/m, 'fail_diff: expected line in diff');
    like($out, qr/^#\s*\+line two$/m, 'fail_diff: actual line in diff');
    no_leftover_nginx('fail_diff');
}

{
    my ($out, $rc) = run_fixture('startfail.fixture');
    is($rc, 255, 'startfail: bails out (exit 255)') or diag($out);
    like($out, qr/^Bail out!.*Cannot start nginx/m,
         'startfail: "Cannot start nginx" bail out');
    like($out, qr/unknown directive "this_directive_does_not_exist"/,
         'startfail: nginx error shown');
    like($out, qr/^# tail of .*error\.log:\n# .*\[emerg\].*unknown directive/m,
         'startfail: error.log content shown');
    no_leftover_nginx('startfail');
}

{
    my ($out, $rc) = run_fixture('die.fixture');
    isnt($rc, 0, 'die: non-zero exit status');
    like($out, qr/deliberate death in block preprocessor/, 'die: died');
    like($out, qr/^ok 2 .*TEST 1: starts nginx - response_body/m,
         'die: first block ran (nginx was up)');
    no_leftover_nginx('die');
}

{
    my ($out, $rc) = run_fixture('pidgone.fixture');
    is($rc, 0, 'pidgone: exit status 0') or diag($out);
    no_leftover_nginx('pidgone (pid file deleted while nginx ran)');
}

{
    my $pid_file = server_root() . '/logs/nginx.pid';
    unlink $pid_file;

    my $pid = fork();
    die "fork: $!" if !defined $pid;
    if ($pid == 0) {
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', '/dev/null';
        exec $Perl, @Inc, "$Fix/sigint.fixture" or POSIX::_exit(127);
    }

    my $ngx;
    for (1 .. 500) {
        if (-s $pid_file) {
            open my $in, '<', $pid_file;
            $ngx = <$in>;
            chomp $ngx if defined $ngx;
            last if $ngx;
        }
        Time::HiRes::sleep(0.02);
    }
    Time::HiRes::sleep(0.3);      # the fixture is now sleeping in --- init
    ok($ngx && kill(0, $ngx), 'sigint: nginx up while init runs');

    kill 'INT', $pid;
    waitpid($pid, 0);
    my $st = $?;
    ok(POSIX::WIFEXITED($st) && POSIX::WEXITSTATUS($st) == 130,
       'sigint: runner exited through its INT handler');
    no_leftover_nginx('sigint');
}

# TEST_NGINX_ERROR_LOG: each block's error.log, and what nginx logged
# while it was being stopped, kept in one file under the block's name
{
    my $log = server_root() . '.errlog';
    unlink $log;
    my ($out, $rc) = run_fixture('last.fixture', "TEST_NGINX_ERROR_LOG=$log");
    is($rc, 0, 'error_log: exit status 0') or diag($out);
    my $all = '';
    if (open my $in, '<', $log) {
        local $/;
        $all = <$in> // '';
        close $in;
    }
    like($all, qr/^=== .*last\.fixture TEST 1: first\n/m,
         'error_log: the first block, under its name');
    like($all, qr/^=== .*last\.fixture TEST 2: last\n/m,
         'error_log: the second block');
    like($all, qr/^=== .*TEST 2: last \(shutdown\)\n.*\bexit/ms,
         'error_log: the last nginx shutting down');
    unlink $log;
    no_leftover_nginx('error_log');
}

# TEST_NGINX_USE_VALGRIND: nginx in the foreground under valgrind, the
# block's name on stderr before valgrind's output, valgrind.suppress (in
# the current directory) applied, nginx stopped after each block
SKIP: {
    skip 'valgrind is not installed', 4
        if system('command -v valgrind >/dev/null 2>&1') != 0;
    my ($out, $rc) = run_fixture('last.fixture',
                                 'TEST_NGINX_USE_VALGRIND=1',
                                 'TEST_NGINX_TIMEOUT=15');
    is($rc, 0, 'valgrind: exit status 0') or diag($out);
    like($out, qr/^\S+last\.fixture TEST 1: first$/m,
         'valgrind: the block name on stderr');
    unlike($out, qr/^==\d+== /m,
           "valgrind: nothing reported (nginx's own allocations suppressed)")
        or diag($out);
    no_leftover_nginx('valgrind');
}

# --- phase 2: the blocks below --------------------------------------------

$ENV{TEST_NGINX_GREETING} = 'howdy';
$ENV{COMPAT_SELFTEST_ENV} = 'yes';
env_to_nginx('COMPAT_SELFTEST_ENV');

is(server_port(), $Test::Nginx::Util::ServerPort, 'server_port()');
is(html_dir(), server_root() . '/html', 'html_dir()');
is(repeat_each(), 1, 'repeat_each() default');
is(workers(), 1, 'workers() default');
is(master_process_enabled(), 'off', 'master off by default');

no_shuffle();
run_tests();

# --- phase 3: the generated nginx.conf (of the last block) -----------------

{
    my $conf = do {
        local $/;
        open my $in, '<', "$Test::Nginx::Util::ConfFile" or die $!;
        <$in>;
    };
    my $root = server_root();
    my $port = server_port();

    like($conf, qr/\Aworker_processes  1;\ndaemon on;\nmaster_process off;\n/,
         'conf: header');
    like($conf, qr/^error_log \Q$root\E\/logs\/error\.log debug;$/m,
         'conf: error_log at debug');
    like($conf, qr/^pid       \Q$root\E\/logs\/nginx\.pid;$/m, 'conf: pid');
    like($conf, qr/^env COMPAT_SELFTEST_ENV;$/m, 'conf: env_to_nginx');
    like($conf, qr/^worker_rlimit_nofile 2048;\n+http \{\n    access_log \Q$root\E\/logs\/access\.log;\n/m,
         'conf: main_config right before the http block');
    like($conf, qr/default_type text\/plain;\n    keepalive_timeout  68;\n\n    map \$uri \$mapped/,
         'conf: http_config after the http defaults');
    like($conf, qr/^        listen          \Q$port\E;\n        server_name     'localhost';$/m,
         'conf: listen/server_name');
    like($conf, qr/# Begin test case config\.\.\.\n    location = \/last \{/,
         'conf: config inside the server block');
    like($conf, qr/^        location \/ \{\n            root \Q$root\E\/html;\n            index index\.html index\.htm;\n        \}$/m,
         'conf: default root location');
    like($conf, qr/^events \{\n    accept_mutex off;\n\n    worker_connections  64;\n\}$/m,
         'conf: events block');
    if ($> == 0) {
        like($conf, qr/\nuser root;\n\z/, 'conf: "user root;" when root');
    } else {
        unlike($conf, qr/^user /m, 'conf: no user directive');
    }
}

__DATA__

=== TEST 1: plain GET, comment and indentation in the request
--- config
    location = /t {
        return 200 "hello\n";
    }
--- request
    # a comment line before the request line
    GET /t
--- response_body
hello
--- no_error_log
[error]
[alert]



=== TEST 2: TEST_NGINX_* expansion, http_config, main_config, request eval
--- main_config
worker_rlimit_nofile 2048;
--- http_config
    map $uri $mapped {
        default "mapped";
    }
--- config
    location = /env {
        return 200 "$TEST_NGINX_GREETING $mapped port=$TEST_NGINX_SERVER_PORT\n";
    }
--- request eval
"GET /e" . "nv"
--- response_body_like chomp
^howdy mapped port=\d+$



=== TEST 3: $ServerPort in the expected body, more_headers, response_headers
--- config
    location = /h {
        add_header X-Echo $http_x_test;
        add_header X-Port $server_port;
        return 200 "port=$server_port\n";
    }
--- more_headers
X-Test: abc
--- request
GET /h
--- response_headers
X-Echo: abc
X-Port: $ServerPort
Content-Type: text/plain
!X-Absent
--- response_body
port=$ServerPort



=== TEST 4: more_headers eval, response_headers_like
--- config
    location = /h {
        add_header X-Echo $http_x_test;
        return 200 "ok\n";
    }
--- more_headers eval
"X-Test: " . ("a" x 3) . "\nX-Other: 1"
--- request
GET /h
--- response_headers_like
X-Echo: a{3}
Server: nginx/\d+\.\d+\.\d+
--- response_body
ok



=== TEST 5: POST body spanning lines
--- http_config
    log_format bodylog '$request_body';
--- config
    location = /post {
        access_log $TEST_NGINX_SERVER_ROOT/logs/access.log bodylog;
        add_header X-Req-Len $content_length;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/len;
    }
    location = /len {
        return 200 "len=$http_content_length method=$request_method\n";
    }
--- request
POST /post
hello
world
--- response_headers
X-Req-Len: 11
--- response_body
len=11 method=POST
--- access_log
hello\x0Aworld



=== TEST 6: POST via request eval with an explicit Content-Type
--- config
    location = /post {
        add_header X-Type $content_type;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/len;
    }
    location = /len {
        return 200 "len=$http_content_length\n";
    }
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- request eval
"POST /post\n" . "k1=v1&k2=v2" . "&k3=v3"
--- response_headers
X-Type: application/x-www-form-urlencoded
--- response_body
len=17



=== TEST 7: error_code and plain error_log (one pattern per line)
--- config
    location /files/ {
        root $TEST_NGINX_SERVER_ROOT/html;
    }
--- request
GET /files/nothere
--- error_code: 404
--- error_log
open() "
/files/nothere" failed (2: No such file or directory)



=== TEST 8: error_log eval qr//
--- config
    location /files/ {
        root $TEST_NGINX_SERVER_ROOT/html;
    }
--- request
GET /files/nothere8
--- error_code: 404
--- error_log eval
qr/\[error\] \d+#\d+: \*\d+ open\(\) ".*nothere8" failed/



=== TEST 9: error_log eval array of strings and regexes
--- config
    location /files/ {
        root $TEST_NGINX_SERVER_ROOT/html;
    }
--- request
GET /files/nothere9
--- error_code: 404
--- error_log eval
["nothere9", qr/No such file or directory/, "[error]"]



=== TEST 10: new config => fresh error.log (TEST 9's error is gone)
--- config
    location = /t10 {
        return 200 "t10\n";
    }
--- request
GET /t10
--- response_body
t10
--- no_error_log eval
["nothere9", qr/\[(?:error|alert|crit|emerg)\]/]



=== TEST 11: no config: nginx reused, error.log read from its start again
--- request
GET /t10
--- response_body
t10
--- error_log
http request line: "GET /t10 HTTP/1.1"



=== TEST 12: user_files
--- config
    location /uf/ {
        root $TEST_NGINX_SERVER_ROOT/html;
    }
--- user_files
>>> uf/a.txt
file a
>>> uf/sub/b.txt
file b in $TEST_NGINX_GREETING dir
--- request eval
["GET /uf/a.txt", "GET /uf/sub/b.txt"]
--- response_body eval
["file a\n", "file b in howdy dir\n"]



=== TEST 13: init runs after nginx started, before the request
--- config
    location = /from_init.txt {
        root $TEST_NGINX_SERVER_ROOT/html;
    }
--- init
my $pid = get_pid_from_pidfile("init");
is_running($pid) or die "nginx is not running when --- init runs\n";
system("sh", "-c", "echo 'from init, nginx pid '$pid > " . html_dir() . "/from_init.txt") == 0
    or die "shell command failed\n";
--- request
GET /from_init.txt
--- response_body_like
^from init, nginx pid \d+$



=== TEST 14: must_die (bad directive arguments)
--- config
    location = /t {
        return a b c;
    }
--- must_die
--- error_log
invalid number of arguments in "return" directive
--- no_error_log
[alert]



=== TEST 15: must_die with an exit code, bad main_config
--- main_config
bogus_main_directive on;
--- config
    location = /t {
        return 200;
    }
--- must_die: 1
--- error_log eval
qr/\[emerg\] .*unknown directive "bogus_main_directive"/



=== TEST 16: pipelined requests
--- config
    location = /a { return 200 "a\n"; }
    location = /b { return 404; }
--- pipelined_requests eval
["GET /a", "GET /b"]
--- error_code eval
[200, 404]
--- response_body_like eval
["^a\$", "404 Not Found"]



=== TEST 17: chunked response body
--- config
    location = /chunky.txt {
        root $TEST_NGINX_SERVER_ROOT/html;
        sub_filter_types *;
        sub_filter 'cat' 'dog';
        sub_filter_once off;
    }
--- user_files
>>> chunky.txt
cat cat
cat
--- request
GET /chunky.txt
--- response_headers
Transfer-Encoding: chunked
!Content-Length
--- response_body
dog dog
dog



=== TEST 18: timeout with abort: the slow body is cut, no failure
--- config
    location = /slow.txt {
        root $TEST_NGINX_SERVER_ROOT/html;
        limit_rate_after 600;
        limit_rate 1;
    }
--- user_files eval
[["slow.txt", "0123456789" x 100]]
--- request
GET /slow.txt
--- timeout: 300ms
--- abort
--- response_body_like: ^0123456789



=== TEST 19: per-block log_level
--- log_level: warn
--- config
    location = /t { return 200 "t\n"; }
--- request
GET /t
--- response_body
t
--- no_error_log
[debug]
[info]



=== TEST 20: a skipped block (would bail out)
--- SKIP
--- config
    location = /t { this_is_not_valid; }
--- request
GET /t



=== TEST 21: last block, its nginx.conf is inspected afterwards
--- main_config
worker_rlimit_nofile 2048;
--- http_config
    map $uri $mapped {
        default "m";
    }
--- config
    location = /last {
        return 200 "$mapped\n";
    }
--- request
GET /last
--- response_body
m
