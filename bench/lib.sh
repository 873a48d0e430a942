# Shared by bench/run.sh, bench/callgrind.sh and bench/latency.sh: the
# nginx configurations of the scenarios, starting and stopping nginx, and
# the signed pools.  Sourced, not run.

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bench=$top/build/bench
nginx=${NGINX_BINARY:-/usr/sbin/nginx}
build_dir=${BENCH_BUILD:-$top/build}
case $build_dir in /*) ;; *) build_dir=$top/$build_dir ;; esac
module=$build_dir/ngx_http_apisec_module.so
lua_modules=${BENCH_LUA_MODULES:-/usr/lib/nginx/modules}

# the scenarios: name, nginx instance (by store size), path, method, and
# what they show
#   bare       nginx alone: the same static file, no access check
#   bare-post  nginx alone, a POST with a form body (the amount scenario's
#              reference)
#   auth       apisec, hashkey signature in the query
#   rate       auth + `apisec_rule rate 100r/s burst=200` (per key)
#   amount     auth + `apisec_rule amount max=1000000000` (one request's
#              amount) over a signed form body
#   amount-1h  auth + `apisec_rule amount max=1000000000 per=1h` (the sum
#              over an hour, per key and currency, kept in the store)
#   replay     auth + `apisec_replay_guard on`, every request once only
#   lua        the same signature check in Lua (bench/lua/bench_hashkey.lua)
scenario_path() {
    case $1 in
        bare)      echo /bare/v1/account ;;
        bare-post) echo /bare-post/v1/withdraw ;;
        auth)      echo /auth/v1/account ;;
        rate)      echo /rate/v1/account ;;
        amount)    echo /amount/v1/withdraw ;;
        amount-1h) echo /amount-1h/v1/withdraw ;;
        replay)    echo /replay/v1/account ;;
        lua)       echo /lua/v1/account ;;
        *) echo "bench: unknown scenario $1" >&2; return 1 ;;
    esac
}

scenario_method() {
    case $1 in
        bare-post|amount|amount-1h) echo POST ;;
        *) echo GET ;;
    esac
}

# human-readable count: 1000 -> 1k, 1000000 -> 1M
count_name() {
    local n=$1

    if [ $((n % 1000000)) = 0 ]; then
        echo "$((n / 1000000))M"
    elif [ $((n % 1000)) = 0 ]; then
        echo "$((n / 1000))k"
    else
        echo "$n"
    fi
}

# bench_conf NAME KEYS PORT MODE AMOUNT [LUA]: write $bench/NAME/nginx.conf
# for the store of KEYS keys; MODE "load" (a master and one worker pinned
# to CPU 0) or "callgrind" (one process, no master, in the foreground);
# AMOUNT 1 to include the amount locations; LUA 0 to load no key into the
# Lua peer's dictionary (an instance that does not run it)
bench_conf() {
    local name=$1 keys=$2 port=$3 mode=$4 amount=$5 lua=${6:-1}
    local dir=$bench/$name tsv=$bench/keys-$2.tsv
    local dict=$(( keys * 320 / 1048576 + 8 ))
    local procs amount_loc=

    mkdir -p "$dir/logs" "$dir/html"
    printf '{"account":"bench","balances":[{"asset":"USDT","free":"1000.00"}]}\n' \
        > "$dir/html/ok.json"

    local flush=
    if [ "$mode" = callgrind ]; then
        procs="daemon off;
master_process off;"
        # the last-use flush (a store write transaction a minute) would
        # land in one counting window and not in the other: out of the
        # way; it is one transaction a minute whatever the request rate
        flush="apisec_flush_interval 1h;"
    else
        procs="worker_processes 1;
worker_cpu_affinity 01;"
    fi

    if [ "$amount" = 1 ]; then
        amount_loc="
        location /amount/ {
            apisec on;
            apisec_permission trade;
            apisec_rule amount max=1000000000;
            try_files /ok.json =404;
        }

        location /amount-1h/ {
            apisec on;
            apisec_permission trade;
            apisec_rule amount max=1000000000 per=1h;
            try_files /ok.json =404;
        }"
    fi

    local user=
    [ "$(id -u)" = 0 ] && user="user root;"

    if [ "$lua" = 0 ]; then
        tsv=$bench/keys-none.tsv
        : > "$tsv"
        dict=1
    else
        keys_tsv "$keys"
    fi

    cat > "$dir/nginx.conf" <<CONF
load_module $lua_modules/ndk_http_module.so;
load_module $lua_modules/ngx_http_lua_module.so;
load_module $module;

$procs
$user
error_log $dir/logs/error.log warn;
pid $dir/logs/nginx.pid;

events {
    worker_connections 1024;
}

http {
    access_log off;
    default_type application/json;

    # POST to a static file is 405: answer it with the file (a GET), the
    # same for bare-post and amount
    error_page 405 =200 /ok.json;

    apisec_store $bench/store-$keys;
    apisec_master_key $bench/master.key;
    apisec_replay_zone 256m;
    apisec_rule_zone 64m;
    $flush

    lua_shared_dict bench_keys ${dict}m;
    lua_package_path "$top/bench/lua/?.lua;;";
    init_by_lua_block {
        require("bench_hashkey").load("$tsv")
    }

    server {
        listen 127.0.0.1:$port;
        root $dir/html;

        location = /ok.json {
        }

        location /bare/ {
            try_files /ok.json =404;
        }

        location /bare-post/ {
            try_files /ok.json =404;
        }

        location /auth/ {
            apisec on;
            try_files /ok.json =404;
        }

        location /rate/ {
            apisec on;
            apisec_rule rate 100r/s burst=200;
            try_files /ok.json =404;
        }
$amount_loc
        location /replay/ {
            apisec on;
            apisec_replay_guard on;
            try_files /ok.json =404;
        }

        location /lua/ {
            access_by_lua_block {
                require("bench_hashkey").check()
            }
            try_files /ok.json =404;
        }
    }
}
CONF
}

# amount_available: 0 when this build's nginx -t refuses an amount rule
# ("not available in this version"), 1 when it accepts it; any other
# failure of nginx -t stops the benchmark
amount_available() {
    local dir=$bench/amount-check out

    bench_conf amount-check 1000 18499 load 1 0

    if out=$("$nginx" -t -p "$dir" -c "$dir/nginx.conf" 2>&1); then
        echo 1
        return 0
    fi

    if printf '%s\n' "$out" | grep -q 'amount is not available'; then
        echo 0
        return 0
    fi

    printf '%s\n' "$out" >&2
    echo "bench: nginx -t failed (above)" >&2
    return 1
}

# the Lua peer's keys: the same keys as the store
keys_tsv() {
    local keys=$1 f=$bench/keys-$1.tsv

    if [ ! -s "$f" ]; then
        perl "$top/bench/keys.pl" tsv "$keys" > "$f.tmp"
        mv "$f.tmp" "$f"
    fi
}

nginx_start() {
    local dir=$bench/$1

    "$nginx" -p "$dir" -c "$dir/nginx.conf"
}

nginx_stop() {
    local dir=$bench/$1 pid

    pid=$(cat "$dir/logs/nginx.pid" 2>/dev/null) || return 0
    "$nginx" -p "$dir" -c "$dir/nginx.conf" -s quit 2>/dev/null || true

    # wait for the master (and so its worker) to be gone
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill "$pid" 2>/dev/null || true
}

# the pid of the one worker of instance NAME
worker_pid() {
    local master

    master=$(cat "$bench/$1/logs/nginx.pid")
    cat "/proc/$master/task/$master/children" | awk '{print $1}'
}

# cpu_ns PID: the CPU time the process has run, in nanoseconds, all its
# threads (the worker's thread pool flushes the last-use stamps on the
# worker's CPU): se.sum_exec_runtime of /proc/PID/task/TID/sched (the
# scheduler's own clock, to the nanosecond) where the kernel has it
# (CONFIG_SCHED_DEBUG), else utime + stime of /proc/PID/stat (clock ticks:
# 10 ms, too coarse for runs of a second or two)
cpu_ns() {
    local pid=$1

    if [ -r "/proc/$pid/sched" ] \
        && awk '/^se.sum_exec_runtime/ { f = 1; t += $3 }
                END { if (f) printf "%.0f\n", t * 1e6; exit !f }' \
               /proc/"$pid"/task/*/sched 2>/dev/null
    then
        return 0
    fi

    awk -v t="$(getconf CLK_TCK)" '{ printf "%.0f\n", ($14 + $15) * 1e9 / t }' \
        "/proc/$pid/stat"
}

# wait_port PORT: until something listens on 127.0.0.1:PORT (30 s at most)
wait_port() {
    for _ in $(seq 1 300); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    echo "bench: nothing listens on port $1" >&2
    return 1
}

# sign_pool SCENARIO KEYS COUNT RECV FILE: a fresh pool (timestamps now),
# over BENCH_SAMPLE (default 10000) keys spread over the store (all of a
# smaller store)
sign_pool() {
    local sc=$1 keys=$2 count=$3 recv=$4 file=$5

    perl "$top/bench/keys.pl" sign --keys "$keys" --count "$count" \
        --sample "${BENCH_SAMPLE:-10000}" \
        --recv "$recv" --path "$(scenario_path "$sc")" \
        --method "$(scenario_method "$sc")" > "$file"
}

# build/bench/loadgen (bench/loadgen.c): exact request counts and
# fixed-rate latency
loadgen_build() {
    if [ ! -x "$bench/loadgen" ] || [ "$top/bench/loadgen.c" -nt "$bench/loadgen" ]
    then
        mkdir -p "$bench"
        ${CC:-cc} -O2 -Wall -Wextra -o "$bench/loadgen" "$top/bench/loadgen.c"
    fi
}
