#!/bin/bash
# Instructions a request, by scenario and by store size, with
# valgrind --tool=callgrind: nginx (one process, no master) runs under
# callgrind; after a warm-up, the counters are zeroed, N1 requests are sent
# and the counters dumped, then N2 requests and dumped again.  A request
# costs (dump 2 - dump 1) / (N2 - N1): what does not depend on the number
# of requests (the event loop waking, timers, the dumps themselves)
# cancels.  Instruction counts do not depend on the machine's load, so
# these figures repeat from run to run.
#
# Environment:
#   BENCH_OUT=DIR            where the dumps and annotations go
#   BENCH_CG_SIZES="1000 100000 1000000"   store sizes for the auth and
#                            rate scenarios (add 10000000 with BENCH_10M=1)
#   BENCH_CG_N1=1000 BENCH_CG_N2=3000      the two request counts
#   BENCH_CG_SCENARIOS="bare auth rate bare-post amount amount-1h replay lua"
#                            the scenarios at BENCH_KEYS (default 1000000)
#                            keys; the other sizes run bare, auth and rate
#   AMOUNT=0|1               whether nginx -t accepts the amount rule
#                            (checked when not given)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

out=${BENCH_OUT:-$bench/results/cg-$(date -u +%Y%m%dT%H%M%SZ)}
n1=${BENCH_CG_N1:-1000}
n2=${BENCH_CG_N2:-3000}
sizes=${BENCH_CG_SIZES:-1000 100000 1000000}
[ "${BENCH_10M:-0}" = 1 ] && sizes="$sizes 10000000"
scenarios=${BENCH_CG_SCENARIOS:-bare auth rate bare-post amount amount-1h replay lua}
full=${BENCH_KEYS:-1000000}
sample=1000
cg=$out/callgrind
mkdir -p "$cg"
loadgen_build

amount=${AMOUNT:-$(amount_available)}
if [ "$amount" = 0 ]; then
    scenarios=$(printf '%s\n' $scenarios | grep -v '^amount' | tr '\n' ' ')
fi

# send SCENARIO KEYS PORT COUNT: COUNT signed requests, one after another
# on one keep-alive connection (bench/loadgen.c); any status but 200 stops
# the benchmark
send() {
    local sc=$1 keys=$2 port=$3 count=$4 pool=$cg/pool.txt

    perl "$top/bench/keys.pl" sign --keys "$keys" --sample "$sample" \
        --count "$count" --recv 60000 --path "$(scenario_path "$sc")" \
        --method "$(scenario_method "$sc")" > "$pool"

    taskset -c 1 "$bench/loadgen" count "$port" "$pool" "$count" > /dev/null
}

# the callgrind dump files of process PID, oldest first
dumps() {
    ls -1tr "$cg"/callgrind.out."$1".* 2>/dev/null
}

# measure NAME KEYS SCENARIOS...: one nginx under callgrind, every scenario
measure() {
    local name=$1 keys=$2 port=$3
    shift 3
    local dir=$bench/$name pid sc d1 d2 base

    local lua=0
    case " $* " in *" lua "*) lua=1 ;; esac

    bench_conf "$name" "$keys" "$port" callgrind "$amount" "$lua"

    taskset -c 0 valgrind --tool=callgrind --dump-instr=no \
        --callgrind-out-file="$cg/callgrind.out.%p" \
        "$nginx" -p "$dir" -c "$dir/nginx.conf" \
        > "$cg/$name.valgrind.log" 2>&1 &
    pid=$!

    # under callgrind, the Lua peer's keys take a while to load
    for _ in $(seq 1 1200); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            break
        fi
        kill -0 "$pid" 2>/dev/null || {
            tail "$cg/$name.valgrind.log" >&2; return 1; }
        sleep 0.5
    done

    for sc in "$@"; do
        # the warm-up sends every key of the sample twice (first uses
        # allocate stamps and rule entries; later ones do not), and gives
        # LuaJIT the time to compile the Lua peer
        send "$sc" "$keys" "$port" $((2 * sample))
        callgrind_control --zero "$pid" > /dev/null 2>&1

        send "$sc" "$keys" "$port" "$n1"
        callgrind_control --dump="$sc-n1" "$pid" > /dev/null 2>&1
        send "$sc" "$keys" "$port" "$n2"
        callgrind_control --dump="$sc-n2" "$pid" > /dev/null 2>&1

        d1=$(dumps "$pid" | sed -n '1p')
        d2=$(dumps "$pid" | sed -n '2p')
        mv "$d1" "$cg/$name.$sc.n1"
        mv "$d2" "$cg/$name.$sc.n2"

        printf '%s\t%s\t%s\t' "$sc" "$keys" "$name" >> "$cg/summary.tsv"
        perl "$top/bench/cg_diff.pl" --tsv "$n1" "$n2" \
            "$cg/$name.$sc.n1" "$cg/$name.$sc.n2" >> "$cg/summary.tsv"

        if [ "$sc" != bare ] && [ "$sc" != bare-post ]; then
            base=bare
            [ "$(scenario_method "$sc")" = POST ] && base=bare-post
            perl "$top/bench/cg_diff.pl" --top 25 "$n1" "$n2" \
                "$cg/$name.$base.n1" "$cg/$name.$base.n2" \
                "$cg/$name.$sc.n1" "$cg/$name.$sc.n2" \
                > "$cg/$name.$sc.top.txt"
        fi
    done

    kill -QUIT "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    rm -f "$cg"/callgrind.out."$pid"*
}

echo "== callgrind: instructions a request ((N2 - N1) requests: $n2 - $n1, $sample keys of the store)"

: > "$cg/summary.tsv"
port=18410

for keys in $sizes; do
    port=$((port + 1))
    name=cg-$(count_name "$keys")

    if [ "$keys" = "$full" ]; then
        list=$scenarios
    else
        list="bare auth rate"
    fi

    bench/store.sh "$keys" > /dev/null
    measure "$name" "$keys" "$port" $list
done

perl "$top/bench/cg_diff.pl" --table "$cg/summary.tsv"

echo
echo "== where apisec's instructions go (auth, $(count_name "$full") keys, per request)"
cat "$cg/cg-$(count_name "$full").auth.top.txt"
