#!/bin/bash
# make bench: what apisec costs beside nginx itself.
#
# nginx runs one worker pinned to CPU 0 and wrk runs on CPU 1; each
# scenario (bench/lib.sh) is run for BENCH_SECONDS right after a run of
# bare nginx (A B A C A D ...; BENCH_PAIRED=0: A B C ...), and the whole
# list again BENCH_ROUNDS times, so that every scenario is compared with
# bare nginx of the same minute, as the VM's speed drifts.  For each
# run: requests a second (wrk) and the worker's CPU time a request (its
# run time by the scheduler's clock over the run, bench/lib.sh cpu_ns,
# divided by the requests wrk counted).  Then the instruction counts
# (bench/callgrind.sh) and the latency at a fixed rate (bench/latency.sh).
#
# Environment:
#   BENCH_SECONDS=3         length of one run (at most 50: pools are signed
#                           right before their run, for recvWindow=60000)
#   BENCH_ROUNDS=10         rounds of the interleaved runs (medians over
#                           them): many short rounds, as the VM's speed
#                           drifts from one run to the next
#   BENCH_DRIVER=slices     how the CPU ratios are measured: "slices"
#                           (bench/loadgen.c slices, where the kernel has
#                           /proc/PID/sched): each run alternates the
#                           scenario and its base (bare, or bare-post for
#                           the POSTs) on the same worker in slices of
#                           BENCH_SLICE_MS (100) ms, and the run's ratio is
#                           over its slices; "wrk": one wrk run a scenario,
#                           paired as BENCH_PAIRED says
#   BENCH_PAIRED=1          each scenario's run right after a run of its
#                           base (bare, or bare-post for the POSTs), its
#                           ratio to that run (0: A B C ... A B C ...,
#                           ratios to the round's one base run)
#   BENCH_CONNECTIONS=50    wrk's connections (keep-alive)
#   BENCH_KEYS=1000000      the large store
#   BENCH_SCENARIOS="..."   a subset of: bare auth-1k auth rate bare-post
#                           amount replay lua
#   BENCH_CALLGRIND=0       skip the instruction counts
#   BENCH_LATENCY=0         skip the fixed-rate latency runs
#   BENCH_PERF=1            perf record (cpu-clock, BENCH_PERF_HZ=2000) of
#                           the worker during each recorded run, into
#                           OUT/perf.SCENARIO.ROUND.data (-k
#                           CLOCK_MONOTONIC: in slices, each sample is
#                           told to its slice by time); bench/perf.pl OUT
#                           splits each run's CPU a request (each side's
#                           of a slices run) by library and function.  The
#                           sampling costs the worker a little: take
#                           ratios from runs without it
#   BENCH_OUT=DIR           where the raw results go (default
#                           build/bench/results/DATE)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$top"

sec=${BENCH_SECONDS:-3}
rounds=${BENCH_ROUNDS:-10}
conns=${BENCH_CONNECTIONS:-50}
big=${BENCH_KEYS:-1000000}
small=1000
scenarios=${BENCH_SCENARIOS:-bare auth-1k auth rate bare-post amount amount-1h replay lua}
out=${BENCH_OUT:-$bench/results/$(date -u +%Y%m%dT%H%M%SZ)}
port_small=18401
port_big=18402

if [ "${BENCH_PERF:-0}" != 0 ] && ! command -v perf >/dev/null 2>&1; then
    echo "bench: BENCH_PERF needs perf (Debian: apt-get install linux-perf)" >&2
    exit 2
fi

driver=${BENCH_DRIVER:-slices}
slice_ms=${BENCH_SLICE_MS:-100}

if [ "$driver" = slices ] && [ ! -r /proc/self/sched ]; then
    echo "bench: no /proc/PID/sched (CONFIG_SCHED_DEBUG) here: BENCH_DRIVER=wrk" >&2
    driver=wrk
fi

case $driver in
    slices|wrk) ;;
    *) echo "bench: BENCH_DRIVER is slices or wrk" >&2; exit 2 ;;
esac

if [ "$sec" -gt 50 ]; then
    echo "bench: BENCH_SECONDS is at most 50 (pools are signed for a 60 s window)" >&2
    exit 2
fi

mkdir -p "$out"

echo "== stores"
bench/store.sh "$small"
bench/store.sh "$big"
keys_tsv "$small"
keys_tsv "$big"

amount=$(amount_available)
if [ "$amount" = 0 ]; then
    echo "== amount: skipped: this build's nginx -t refuses apisec_rule amount" \
         "(\"not available in this version\"); it runs once the rule is accepted"
    scenarios=$(printf '%s\n' $scenarios | grep -v '^amount' | tr '\n' ' ')
fi

name_small=s$(count_name "$small")
name_big=s$(count_name "$big")

stop_all() {
    nginx_stop "$name_small"
    nginx_stop "$name_big"
}
trap stop_all EXIT

bench_conf "$name_small" "$small" "$port_small" load "$amount"
bench_conf "$name_big" "$big" "$port_big" load "$amount"
nginx_start "$name_small"
nginx_start "$name_big"
wait_port "$port_small"
wait_port "$port_big"

# run SCENARIO ROUND SECONDS: one wrk run, a line of raw.tsv (ROUND 0: a
# warm-up, not recorded)
bare_rps=100000

# target ID SECS: for scenario ID (SCENARIO, SCENARIO-1k, SCENARIO-aa),
# into the caller's locals: sc, the nginx instance (keys, name, port), and
# the pool's size and window (count, recv)
target() {
    local id=$1 secs=$2

    sc=${id%-1k}
    sc=${sc%-aa}
    keys=$big name=$name_big port=$port_big count=10000 recv=60000

    case $id in
        *-1k) keys=$small name=$name_small port=$port_small ;;
    esac

    if [ "$sc" = replay ]; then
        # once-only requests: more than the run can send (it cannot go
        # faster than bare nginx), valid for the run and ten seconds more
        count=$(( bare_rps * secs * 3 / 2 ))
        [ "$count" -lt 10000 ] && count=10000
        recv=$(( (secs + 10) * 1000 ))
    fi
}

# perf_start PID FILE, perf_stop: a profile (BENCH_PERF) of PID spanning
# the run, started before it (in prof) and stopped after it; on
# CLOCK_MONOTONIC, loadgen's clock of the slices
prof=

perf_start() {
    prof=

    if [ "${BENCH_PERF:-0}" != 0 ]; then
        taskset -c 1 perf record -q -k CLOCK_MONOTONIC \
            -F "${BENCH_PERF_HZ:-2000}" -p "$1" -o "$2" > /dev/null 2>&1 &
        prof=$!
        sleep 0.5
    fi
}

perf_stop() {
    if [ -n "$prof" ]; then
        kill -INT "$prof" 2>/dev/null || true
        wait "$prof" 2>/dev/null || true
        prof=
    fi
}

run() {
    local id=$1 round=$2 secs=$3
    local sc keys name port count recv pool=$out/pool.txt w c0 c1

    target "$id" "$secs"
    sign_pool "$sc" "$keys" "$count" "$recv" "$pool"

    w=$(worker_pid "$name")

    [ "$round" != 0 ] && perf_start "$w" "$out/perf.$id.$round.data"

    c0=$(cpu_ns "$w")

    /usr/bin/time -f '%U %S' -o "$out/wrk.time" \
        taskset -c 1 wrk -t1 -c"$conns" -d"${secs}s" -s "$top/bench/pool.lua" \
        "http://127.0.0.1:$port" -- "$pool" > "$out/wrk.out"

    c1=$(cpu_ns "$w")

    perf_stop
    rm -f "$pool"

    [ "$round" = 0 ] && return 0

    perl -e '
        my ($id, $keys, $round, $ns, $wrkt, $f) = @ARGV;
        my %w = map { /^(\w+): (\d+)/ ? ($1, $2) : () }
                do { open my $h, "<", $f or die; <$h> };
        open my $t, "<", $wrkt or die;
        my ($u, $s) = split " ", scalar <$t>;
        my $rps = $w{requests} / ($w{duration_us} / 1e6);
        my $cpu = $ns / 1e3 / $w{requests};
        printf "%s\t%d\t%d\t%d\t%d\t%d\t%.1f\t%.3f\t%.2f\n", $id, $keys,
            $round, $w{requests}, $w{non2xx}, $w{socket_errors}, $rps, $cpu,
            ($u + $s) / ($w{duration_us} / 1e6);
    ' "$id" "$keys" "$round" "$((c1 - c0))" "$out/wrk.time" \
        "$out/wrk.out" >> "$out/raw.tsv"

    tail -1 "$out/raw.tsv" | awk -F'\t' '{
        printf "   round %d %-10s %9.0f req/s  %7.3f us CPU/req  non-2xx %d\n",
               $3, $1, $7, $8, $5 }'

    if [ "$sc" = bare ]; then
        bare_rps=$(tail -1 "$out/raw.tsv" | awk -F'\t' '{printf "%d", $7}')
    fi
}

# run_slices BASE SCENARIO ROUND SECONDS: one bench/loadgen slices run,
# BASE and SCENARIO alternated on SCENARIO's worker; a line of raw.tsv for
# each (their slices' requests and CPU time summed) and the slices in
# slices.tsv (ROUND 0: a warm-up, not recorded).  The slices go A B B A
# A B B A ... after a first pair A B left out of the sums: the worker comes
# to it from idle (the pools signed meanwhile), and that first slice cost
# 2-4% more in A-against-A runs than the rest
run_slices() {
    local b=$1 id=$2 round=$3 secs=$4
    local sc keys name port count recv n w

    target "$id" "$secs"
    sign_pool "$b" "$keys" 10000 60000 "$out/pool-a.txt"
    sign_pool "$sc" "$keys" "$count" "$recv" "$out/pool-b.txt"

    n=$(( secs * 1000 / slice_ms ))
    n=$(( (n < 4 ? 4 : n - n % 4) + 2 ))
    w=$(worker_pid "$name")

    [ "$round" != 0 ] && perf_start "$w" "$out/perf.$id.$round.data"

    /usr/bin/time -f '%U %S' -o "$out/wrk.time" \
        taskset -c 1 "$bench/loadgen" slices "$port" "$out/pool-a.txt" \
        "$out/pool-b.txt" "$w" "$slice_ms" "$n" "$conns" > "$out/slices.out"
    rm -f "$out/pool-a.txt" "$out/pool-b.txt"

    perf_stop

    [ "$round" = 0 ] && return 0

    awk -v b="$b" -v id="$id" -v r="$round" 'BEGIN { OFS = "\t" }
        { print b, id, r, $0 }' "$out/slices.out" >> "$out/slices.tsv"

    perl -e '
        my ($b, $id, $keys, $round, $wrkt, $f) = @ARGV;
        my (%req, %err, %cpu, %wall);
        open my $h, "<", $f or die;
        while (<$h>) {
            my ($i, $ab, $req, $err, $cpu, $wall) = split /\t/;
            next if $i < 2;
            $req{$ab} += $req; $err{$ab} += $err;
            $cpu{$ab} += $cpu; $wall{$ab} += $wall;
        }
        open my $t, "<", $wrkt or die;
        my ($u, $s) = split " ", scalar <$t>;
        my $gen = ($u + $s) / (($wall{A} + $wall{B}) / 1e9);
        for (["A", $b], ["B", $id]) {
            my ($ab, $name) = @$_;
            printf "%s\t%d\t%d\t%d\t%d\t0\t%.1f\t%.3f\t%.2f\n", $name, $keys,
                $round, $req{$ab}, $err{$ab}, $req{$ab} / ($wall{$ab} / 1e9),
                $cpu{$ab} / 1e3 / $req{$ab}, $gen;
        }
    ' "$b" "$id" "$keys" "$round" "$out/wrk.time" "$out/slices.out" \
        >> "$out/raw.tsv"

    tail -2 "$out/raw.tsv" | awk -F'\t' '{
        printf "   round %d %-10s %9.0f req/s  %7.3f us CPU/req  non-2xx %d\n",
               $3, $1, $7, $8, $5 }'

    if [ "$b" = bare ]; then
        bare_rps=$(tail -2 "$out/raw.tsv" | head -1 \
                   | awk -F'\t' '{printf "%d", $7}')
    fi
}

printf 'scenario\tkeys\tround\trequests\tnon2xx\tsocket_errors\trps\tcpu_us_per_req\twrk_cpu\n' \
    > "$out/raw.tsv"

# the scenario a scenario's ratios are taken against (bench/summary.pl)
base_of() {
    perl "$top/bench/summary.pl" --base-of "$1"
}

echo "== warm-up: every scenario for 2 s (not recorded)"
for id in $scenarios; do
    if [ "$driver" = slices ]; then
        loadgen_build
        run_slices "$(base_of "$id")" "$id" 0 2
    else
        run "$id" 0 2
    fi
done

if [ "$driver" = slices ]; then
    # each scenario alternated with its base in one run, slice by slice;
    # a base alone (bare, bare-post) against itself: the method's own
    # spread (A against A)
    echo "== $rounds rounds of: $scenarios ($sec s each, $conns connections;" \
         "each alternated with bare nginx in slices of $slice_ms ms)"
    for r in $(seq 1 "$rounds"); do
        k=0
        for id in $scenarios; do
            k=$((k + 1))
            b=$(base_of "$id")
            if [ "$id" = "$b" ]; then
                run_slices "$b" "$b-aa" $((r * 100 + k)) "$sec"
            else
                run_slices "$b" "$id" $((r * 100 + k)) "$sec"
            fi
        done
    done
elif [ "${BENCH_PAIRED:-1}" != 0 ]; then
    # each scenario right after a run of its base, the pair under one
    # round number (ROUND * 100 + its place), so that its ratio is to
    # the base of the same minute: A B A C A D ...
    echo "== $rounds rounds of: $scenarios ($sec s each, $conns connections;" \
         "each after a run of bare nginx)"
    for r in $(seq 1 "$rounds"); do
        k=0
        for id in $scenarios; do
            k=$((k + 1))
            b=$(base_of "$id")
            if [ "$id" = "$b" ]; then
                # a base runs alone only when nothing is paired with it
                for o in $scenarios; do
                    [ "$o" != "$id" ] && [ "$(base_of "$o")" = "$id" ] \
                        && continue 2
                done
                run "$id" $((r * 100 + k)) "$sec"
                continue
            fi
            case " $scenarios " in
                *" $b "*) run "$b" $((r * 100 + k)) "$sec" ;;
            esac
            run "$id" $((r * 100 + k)) "$sec"
        done
    done
else
    echo "== $rounds rounds of: $scenarios ($sec s each, $conns connections)"
    for r in $(seq 1 "$rounds"); do
        for id in $scenarios; do
            run "$id" "$r" "$sec"
        done
    done
fi

stop_all
trap - EXIT

{
    case $driver in
        slices) how="of the same run, slice by slice" ;;
        *)      how="of the same round (with BENCH_PAIRED, the same pair)" ;;
    esac
    echo "== throughput ($driver): medians of $rounds rounds, $sec s runs;" \
         "ratios to bare nginx $how"
    perl "$top/bench/summary.pl" "$out/raw.tsv"
} | tee "$out/table.txt"

if [ "${BENCH_CALLGRIND:-1}" != 0 ]; then
    BENCH_OUT=$out AMOUNT=$amount bench/callgrind.sh | tee "$out/callgrind.txt"
fi

if [ "${BENCH_LATENCY:-1}" != 0 ]; then
    BENCH_OUT=$out bench/latency.sh | tee "$out/latency.txt"
fi

echo "== store import"
cat "$bench/import-$small.txt" "$bench/import-$big.txt"
echo "== raw results in $out"
