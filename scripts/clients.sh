#!/bin/sh
# Install the public client libraries that t/050-clients.t signs with
# (ccxt, pinned in t/clients/package.json and package-lock.json) into
# t/clients/node_modules, with `npm ci`, when they are missing or were
# installed from another lockfile.  Does nothing when they are current.
#
#   scripts/clients.sh            install if needed
#   scripts/clients.sh --force    reinstall
#
# Needs node (18 or later, for its built-in fetch) and npm: Debian's
# `nodejs` and `npm` packages.  npm fetches from the registry that npm is
# configured for (the public one unless npm_config_registry says otherwise).
set -eu

dir="$(cd "$(dirname "$0")/.." && pwd)/t/clients"
stamp="$dir/node_modules/.apisec-lock"

for tool in node npm; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "apisec: $tool is missing; t/050-clients.t needs node and npm" \
             "(Debian: apt-get install nodejs npm)" >&2
        exit 1
    fi
done

major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 18 ]; then
    echo "apisec: node $(node -v) is too old for t/clients (18 or later)" >&2
    exit 1
fi

cd "$dir"

lock=$(cksum < package-lock.json)

if [ "${1:-}" != --force ] && [ -f "$stamp" ] \
   && [ "$(cat "$stamp")" = "$lock" ] && [ -f node_modules/ccxt/package.json ]
then
    exit 0
fi

echo "apisec: installing the client libraries of t/clients (npm ci)" >&2

# the lockfile is the whole truth: no audit, no funding notes, no install
# scripts (ccxt's only prints a banner; its optional native helpers are
# not needed)
npm ci --no-audit --no-fund --ignore-scripts --loglevel=error 1>&2

echo "$lock" > "$stamp"
