#!/bin/sh
# Run the Test::Nginx suite: with the CPAN Test::Nginx when it is
# installed, else with the project's own runner for the subset of
# Test::Nginx::Socket that the suite uses (t/compat).
set -eu
cd "$(dirname "$0")/.."

: "${TEST_NGINX_BINARY:=/usr/sbin/nginx}"
export TEST_NGINX_BINARY

if perl -MTest::Nginx::Socket -e1 2>/dev/null; then
    echo "apisec: running t/ with the installed Test::Nginx"
    exec prove ${PROVE_ARGS:-} t/*.t
fi

echo "apisec: Test::Nginx is not installed; running t/ with t/compat"
exec prove -I t/compat ${PROVE_ARGS:-} t/compat/selftest.t t/*.t
