#!/bin/bash
# Configure the distribution's nginx sources (nginx-dev) in a build
# directory, with the distribution's flags, so that apisec builds as a
# dynamic module that /usr/sbin/nginx loads.
#   scripts/configure-nginx.sh SRC BUILDDIR MODULEDIR [EXTRA_CC_OPT]
set -euo pipefail
src=$1 dir=$2 mod=$3 extra=${4:-}
nginx=${NGINX_BINARY:-/usr/sbin/nginx}

if [ ! -f "$src/conf_flags" ]; then
    echo "apisec: $src/conf_flags not found: apt-get install nginx-dev" >&2
    exit 1
fi

rm -rf "$dir"
mkdir -p "$dir"
cp -r "$src"/. "$dir"/

# NGX_CONF_FLAGS: the configure flags of the distribution's build
. "$src/conf_flags"

# the compiler and linker options the distribution's binary was built with
v=$("$nginx" -V 2>&1)
ccopt=$(printf '%s\n' "$v" | sed -n "s/.*--with-cc-opt='\([^']*\)'.*/\1/p")
ldopt=$(printf '%s\n' "$v" | sed -n "s/.*--with-ld-opt='\([^']*\)'.*/\1/p")

cd "$dir"
if ! ./configure "${NGX_CONF_FLAGS[@]}" \
        --with-cc-opt="$ccopt $extra" --with-ld-opt="$ldopt" \
        --add-dynamic-module="$mod" > configure.log 2>&1
then
    tail -20 configure.log >&2
    echo "apisec: nginx configure failed, see $dir/configure.log" >&2
    exit 1
fi
