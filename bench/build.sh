#!/bin/bash
# A build for the benchmarks, under build/bench, apart from the main build:
#
#   bench/build.sh rev REV    build/bench/rev-REV/: the module and apisecctl
#                             of git revision REV (git archive), to measure a
#                             committed revision while the work tree changes
#                             (BENCH_BUILD=build/bench/rev-REV bench/run.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

top=$(pwd)
src=${NGINX_SRC:-/usr/share/nginx/src}
nginx=${NGINX_BINARY:-/usr/sbin/nginx}

# configure DIR [MODULE_DIR]: the nginx sources in DIR, configured as the
# distribution's binary was
configure() {
    local dir=$1 mod=${2:-} v ccopt ldopt

    . "$src/conf_flags"
    v=$("$nginx" -V 2>&1)
    ccopt=$(printf '%s\n' "$v" | sed -n "s/.*--with-cc-opt='\([^']*\)'.*/\1/p")
    ldopt=$(printf '%s\n' "$v" | sed -n "s/.*--with-ld-opt='\([^']*\)'.*/\1/p")

    rm -rf "$dir"
    mkdir -p "$dir"
    cp -r "$src"/. "$dir"/
    (
        cd "$dir"
        ./configure "${NGX_CONF_FLAGS[@]}" --with-cc-opt="$ccopt" \
            --with-ld-opt="$ldopt" ${mod:+--add-dynamic-module="$mod"} \
            > configure.log 2>&1 \
            || { tail -20 configure.log >&2; exit 1; }
    )
}

case ${1:-} in
rev)
    rev=$(git rev-parse --short "${2:?bench/build.sh rev REV}")
    out=build/bench/rev-$rev
    if [ -f "$out/ngx_http_apisec_module.so" ] && [ -x "$out/apisecctl" ]; then
        echo "$out"
        exit 0
    fi
    rm -rf "$out"
    mkdir -p "$out/src"
    git archive "$rev" config ngx_http_apisec_module | tar -x -C "$out/src"
    configure "$out/nginx" "$top/$out/src" >&2
    make -C "$out/nginx" -f objs/Makefile modules > "$out/make.log" 2>&1 \
        || { tail -20 "$out/make.log" >&2; exit 1; }
    cp "$out/nginx/objs/ngx_http_apisec_module.so" "$out/"
    s=$out/src/ngx_http_apisec_module
    ${CC:-cc} -O2 -g -I"$s" -o "$out/apisecctl" "$s/apisecctl.c" \
        "$s/apisec_json.c" $(ls "$s"/apisec_*.c | grep -v -e apisec_json.c) \
        -llmdb -lcrypto
    echo "$out"
    ;;

*)
    echo "usage: bench/build.sh rev REV" >&2
    exit 2
    ;;
esac
