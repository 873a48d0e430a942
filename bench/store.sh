#!/bin/bash
# A benchmark key store of N keys (bench/keys.pl), made once and reused:
#   bench/store.sh N
# makes build/bench/store-N with `apisecctl import` unless it is there and
# complete, and records the import's wall and CPU time and the store's size
# in build/bench/import-N.txt (kept with the store; printed each time).
set -euo pipefail
cd "$(dirname "$0")/.."

n=$1
top=$(pwd)
dir=$top/build/bench
store=$dir/store-$n
ctl=${BENCH_BUILD:-$top/build}/apisecctl
case $ctl in /*) ;; *) ctl=$top/$ctl ;; esac
info=$dir/import-$n.txt

mkdir -p "$dir"
export APISEC_MASTER_KEY=$dir/master.key APISEC_STORE=$store

if [ ! -f "$APISEC_MASTER_KEY" ]; then
    "$ctl" master-key "$APISEC_MASTER_KEY" >/dev/null
fi

if [ -f "$store/.complete" ] && [ -f "$info" ]; then
    cat "$info"
    exit 0
fi

rm -rf "$store"

# about 820 bytes a key: 1 GiB (the default) is too small from a few
# million keys on
map=1G
if [ "$n" -gt 1000000 ]; then
    map=$(( (n / 1000000 + 1) * 1200 ))M
fi

"$ctl" init --map-size "$map" >/dev/null

jsonl=$dir/import-$n.jsonl
perl bench/keys.pl import "$n" > "$jsonl"

# the import alone is timed (the JSON lines are made beforehand)
tf=$dir/import-$n.time
/usr/bin/time -f '%e %U %S %M' -o "$tf" "$ctl" import < "$jsonl" >/dev/null
rm -f "$jsonl"

read -r wall user sys rss < "$tf"
rm -f "$tf"
size=$(du -sb "$store" | cut -f1)
data=$(stat -c %s "$store/data.mdb")

{
    printf 'apisecctl import of %d keys: %s s wall (%s s user, %s s system), ' \
        "$n" "$wall" "$user" "$sys"
    printf 'peak RSS %d MiB; store %d KiB on disk (data.mdb %d KiB, %d bytes a key)\n' \
        $((rss / 1024)) $((size / 1024)) $((data / 1024)) $((data / n))
} > "$info"

touch "$store/.complete"
cat "$info"
