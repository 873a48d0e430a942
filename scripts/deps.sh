#!/bin/sh
# Install the Debian packages that a target needs, when they are missing.
#   scripts/deps.sh build|test|demo|bench|asan|valgrind|fuzz
# Runs apt-get only when something is missing (and only as root); otherwise
# it says what to install and fails.
set -eu

build="nginx-core nginx-dev liblmdb-dev lmdb-utils libssl-dev gcc make"
# libfaketime: t/098-clock.t steps nginx's clock; lmdb-utils (in build):
# mdb_stat -r for the reader slots in t/095-faults.t
test="$build curl libtest-base-perl libtext-diff-perl libtest-longstring-perl
      libwww-perl libipc-run-perl liblist-moreutils-perl liburi-perl
      libjson-pp-perl libio-pty-perl oathtool libfaketime"
demo="$build curl"
# make bench (docs/benchmarks.md): wrk drives the load, callgrind counts
# instructions, Debian's lua-nginx-module runs the Lua peer, perl signs the
# request pools, time measures the store import
bench="$build wrk valgrind libnginx-mod-http-lua perl time"
# make asan: clang and its sanitizer runtimes (the default SAN_CC), and
# gcc's (SAN_CC=gcc; gcc depends on them, named so that a trimmed system
# gets them back); make valgrind: memcheck; make fuzz: clang with
# libFuzzer and its sanitizer runtimes
asan="$build clang libclang-rt-14-dev libasan8 libubsan1"
valgrind="$test valgrind"
fuzz="$build clang libclang-rt-14-dev"

# ccxt's client tests need node >= 18 and npm; a machine may have them
# from elsewhere (NodeSource's nodejs includes npm and conflicts with
# Debian's npm package), so they are wanted only when the commands are not
# there.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    test="$test nodejs npm"
fi

case "${1:-build}" in
    build) want=$build ;;
    test)  want=$test ;;
    demo)  want=$demo ;;
    bench) want=$bench ;;
    asan)  want=$asan ;;
    valgrind) want=$valgrind ;;
    fuzz)  want=$fuzz ;;
    *) echo "deps.sh: unknown target \"$1\"" >&2; exit 2 ;;
esac

missing=
for p in $want; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null \
         | grep -q 'install ok installed'; then
        missing="$missing $p"
    fi
done

[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
    echo "apisec: missing Debian packages:$missing" >&2
    echo "apisec: run as root, or: apt-get install$missing" >&2
    exit 1
fi

echo "apisec: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# the nginx package starts a server on port 80 when installed; keep it off
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get install -y -qq --no-install-recommends $missing >/dev/null
