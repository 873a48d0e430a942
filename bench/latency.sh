#!/bin/bash
# Latency at a fixed request rate below saturation, wrk2's way
# (bench/loadgen.c: open loop, each request's latency counted from when it
# was due, so a stall delays and counts the requests queued behind it).
# nginx runs one worker pinned to CPU 0 with the large store; the load
# generator runs on CPU 1.
#
# Environment:
#   BENCH_RATE=15000        requests a second
#   BENCH_LATENCY_SECONDS=10
#   BENCH_CONNECTIONS=50
#   BENCH_KEYS=1000000
#   BENCH_LATENCY_SCENARIOS="bare auth rate lua"
#   BENCH_OUT=DIR
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$top"

rate=${BENCH_RATE:-15000}
secs=${BENCH_LATENCY_SECONDS:-10}
conns=${BENCH_CONNECTIONS:-50}
keys=${BENCH_KEYS:-1000000}
scenarios=${BENCH_LATENCY_SCENARIOS:-bare auth rate lua}
out=${BENCH_OUT:-$bench/results/lat-$(date -u +%Y%m%dT%H%M%SZ)}
port=18403
name=lat-$(count_name "$keys")

mkdir -p "$out"
loadgen_build
bench/store.sh "$keys" > /dev/null
keys_tsv "$keys"

bench_conf "$name" "$keys" "$port" load "$(amount_available)"
nginx_start "$name"
trap 'nginx_stop "$name"' EXIT
wait_port "$port"

echo "== latency at $rate requests a second, $secs s, $conns connections, $(count_name "$keys") keys (microseconds, from when each request was due)"
printf '%-10s %8s %7s %8s %8s %8s %8s %8s\n' scenario 'req/s' errors \
    p50 p90 p99 p99.9 max

for sc in $scenarios; do
    pool=$out/lat-pool.txt
    sign_pool "$sc" "$keys" 10000 60000 "$pool"

    # a short warm-up at the same rate, then the measured run
    taskset -c 1 "$bench/loadgen" rate "$port" "$pool" "$rate" 2 "$conns" \
        > /dev/null
    taskset -c 1 "$bench/loadgen" rate "$port" "$pool" "$rate" "$secs" \
        "$conns" > "$out/lat-$sc.txt" || true
    rm -f "$pool"

    perl -e '
        my ($sc, $f) = @ARGV;
        open my $h, "<", $f or die;
        my %v = map { /^([\w.]+): (\d+)/ ? ($1, $2) : () } <$h>;
        printf "%-10s %8d %7d %8d %8d %8d %8d %8d\n", $sc, $v{rate},
            $v{errors}, $v{p50_us}, $v{p90_us}, $v{p99_us}, $v{"p99.9_us"},
            $v{max_us};
    ' "$sc" "$out/lat-$sc.txt"
done
