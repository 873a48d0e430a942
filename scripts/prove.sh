#!/bin/bash
# Run the Test::Nginx suite: with the CPAN Test::Nginx when it is
# installed, else with the project's own runner for the subset of
# Test::Nginx::Socket that the suite uses (t/compat).
#
# APISEC_TESTS    the test files (default: t/*.t)
# PROVE_ARGS      more arguments for prove
# APISEC_CHECK    a hardening pass over the same tests (make asan,
#                 make valgrind; see docs/security.md):
#   asan      APISEC_BUILD holds the module and apisecctl built with
#             AddressSanitizer and UBSan (by SAN_CC: clang, or gcc);
#             nginx runs with the sanitizer runtime preloaded.  Every
#             report goes to $APISEC_BUILD/reports (log_path), whichever
#             process wrote it (nginx, a worker, apisecctl, nginx -t),
#             and every block's error.log is kept in
#             $APISEC_BUILD/error.log (TEST_NGINX_ERROR_LOG).  The run
#             fails when there is a report, or when "ERROR:
#             AddressSanitizer", "runtime error:" or a worker killed by
#             SIGSEGV, SIGABRT, SIGILL, SIGBUS or SIGFPE shows up in
#             prove's output or in an error log.
#   valgrind  nginx runs under valgrind memcheck (TEST_NGINX_USE_VALGRIND,
#             with valgrind.suppress for nginx's own exit-time
#             allocations); the run fails on any error valgrind reports.
set -euo pipefail
cd "$(dirname "$0")/.."

: "${TEST_NGINX_BINARY:=/usr/sbin/nginx}"
export TEST_NGINX_BINARY

# shellcheck disable=SC2206
tests=(${APISEC_TESTS:-t/*.t})
# shellcheck disable=SC2206
args=(${PROVE_ARGS:-})

if perl -MTest::Nginx::Socket -e1 2>/dev/null; then
    echo "apisec: running t/ with the installed Test::Nginx"
    inc=()
    self=()
else
    echo "apisec: Test::Nginx is not installed; running t/ with t/compat"
    inc=(-I t/compat)
    self=(t/compat/selftest.t)
fi

check=${APISEC_CHECK:-}

if [ -z "$check" ]; then
    exec prove "${inc[@]}" "${args[@]}" "${self[@]}" "${tests[@]}"
fi

build=${APISEC_BUILD:?APISEC_BUILD must name the build directory}
servroot=${TEST_NGINX_SERVROOT:-t/servroot}

# prove with its output (stderr too) kept for the scan; its status
run_prove() {
    local log=$1 rc
    shift

    set +e
    prove "${inc[@]}" "${args[@]}" "$@" "${tests[@]}" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    set -e

    return "$rc"
}

case "$check" in

asan)
    reports=$build/reports
    rm -rf "$reports"
    mkdir -p "$reports"
    chmod 1777 "$reports"

    # the runtime that the module was linked against, for the nginx
    # binary, which is not instrumented: gcc's libasan, or clang's
    cc=${SAN_CC:-clang}
    case "$("$cc" --version 2>/dev/null)" in
    *clang*) rt=$("$cc" -print-file-name="libclang_rt.asan-$(uname -m).so") ;;
    *)       rt=$("$cc" -print-file-name=libasan.so) ;;
    esac
    if [ ! -f "$rt" ]; then
        echo "apisec: no AddressSanitizer runtime for $cc" >&2
        exit 1
    fi
    rt=$(readlink -f "$rt")

    # nginx without leak checks (its own exit-time allocations; leaks of
    # apisec's code are the unit tests' and valgrind's business);
    # apisecctl, a short-lived program, with them
    wrapper=$build/nginx-asan
    cat > "$wrapper" <<EOF
#!/bin/sh
# nginx with the sanitizer runtime preloaded (written by scripts/prove.sh)
ASAN_OPTIONS='detect_leaks=0:abort_on_error=1:log_path=$reports/asan' \\
LD_PRELOAD='$rt' exec '$TEST_NGINX_BINARY' "\$@"
EOF
    chmod 755 "$wrapper"

    export TEST_NGINX_BINARY=$wrapper
    export TEST_NGINX_ERROR_LOG=$build/error.log
    rm -f "$TEST_NGINX_ERROR_LOG"
    export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:log_path=$reports/asan"
    export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$reports/ubsan"

    rc=0
    run_prove "$build/prove.log" || rc=$?

    found=0

    for f in "$reports"/*; do
        [ -e "$f" ] || continue
        echo "apisec: sanitizer report $f:" >&2
        cat "$f" >&2
        found=1
    done

    pattern='ERROR: (Address|Leak)Sanitizer|runtime error:'
    pattern="$pattern|exited on signal (4|6|7|8|11)\\b"
    for f in "$build/prove.log" "$build/error.log" \
             "$servroot"*/logs/error.log
    do
        [ -f "$f" ] || continue
        if grep -Eq "$pattern" "$f"; then
            echo "apisec: sanitizer output in $f:" >&2
            grep -E -A20 "$pattern" "$f" >&2
            found=1
        fi
    done

    if [ "$found" != 0 ]; then
        echo "apisec: FAIL: the sanitizers reported errors (above)" >&2
        exit 1
    fi

    if [ "$rc" != 0 ]; then
        echo "apisec: FAIL: the suite failed under the sanitizers" >&2
        exit "$rc"
    fi

    echo "apisec: no sanitizer report"
    ;;

valgrind)
    if ! command -v valgrind >/dev/null 2>&1; then
        echo "apisec: valgrind is missing (apt-get install valgrind)" >&2
        exit 1
    fi

    # the runner wraps nginx in valgrind (--suppressions=valgrind.suppress
    # from the current directory) and sends its output to stderr
    export TEST_NGINX_USE_VALGRIND=${TEST_NGINX_USE_VALGRIND:-1}
    # the module's symbols even for leaks reported after nginx unloaded it
    export VALGRIND_OPTS="${VALGRIND_OPTS:-} --keep-debuginfo=yes"
    export TEST_NGINX_TIMEOUT=${TEST_NGINX_TIMEOUT:-15}
    export TEST_NGINX_SLEEP=${TEST_NGINX_SLEEP:-0.05}

    mkdir -p "$build/valgrind"
    log=$build/valgrind/prove.log

    rc=0
    run_prove "$log" || rc=$?

    # with -q, valgrind prints errors only: any "==PID== " line but its
    # warnings is an error (or part of one)
    errors=$(grep -E '^==[0-9]+== ' "$log" \
             | grep -Ev '^==[0-9]+== Warning: ' || true)

    if [ -n "$errors" ]; then
        echo "apisec: valgrind reported errors:" >&2
        grep -E -B2 -A40 '^==[0-9]+== [A-Z]' "$log" >&2 || true
        if grep -Eq '^==[0-9]+== .*apisec' "$log"; then
            echo "apisec: FAIL: some of them are in apisec's code" >&2
        else
            echo "apisec: FAIL: none names apisec's code; suppress it" \
                 "in valgrind.suppress if it is nginx's own" >&2
        fi
        exit 1
    fi

    if [ "$rc" != 0 ]; then
        echo "apisec: FAIL: the suite failed under valgrind" >&2
        exit "$rc"
    fi

    echo "apisec: no valgrind error"
    ;;

*)
    echo "apisec: unknown APISEC_CHECK \"$check\" (asan, valgrind)" >&2
    exit 2
    ;;
esac
