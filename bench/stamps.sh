#!/bin/bash
# Last-use stamps under load: 100k+ signed requests over 1000 keys with two
# workers and the default 60 s flush interval; then count the store's
# write transactions (every one is a timer flush: the flush log line gives
# each worker's write transactions next to its flushes) and check that
# every key's last_used_at is within a minute of the run.
#
# The requests are signed in advance (wrk's Lua has no HMAC), so the run
# widens the window: recvWindow=600000 with apisec_time_window 10m.
#   bench/stamps.sh [DURATION]      (default 15s)
set -euo pipefail
cd "$(dirname "$0")/.."

top=$(pwd)
dir=$top/build/bench/stamps
nginx=${NGINX_BINARY:-/usr/sbin/nginx}
ctl=$top/build/apisecctl
port=${APISEC_BENCH_PORT:-18481}
dur=${1:-15s}
keys=1000

rm -rf "$dir"
mkdir -p "$dir/logs" "$dir/html"
: > "$dir/html/ok"
export APISEC_STORE=$dir/store APISEC_MASTER_KEY=$dir/master.key
"$ctl" master-key "$APISEC_MASTER_KEY" >/dev/null 2>&1
"$ctl" init >/dev/null 2>&1

# 1000 keys last used 30 days ago, and one signed request for each
perl -MDigest::SHA=hmac_sha256_hex -MPOSIX=strftime -e '
    my ($n, $dir) = @ARGV;
    my $old = strftime("%Y-%m-%dT%H:%M:%SZ", gmtime(time - 30 * 86400));
    open my $imp, ">", "$dir/keys.jsonl" or die;
    open my $lua, ">", "$dir/pool.lua" or die;
    print $lua "pool = {\n";
    my $ts = int(time * 1000);
    for my $i (1 .. $n) {
        my $ak = sprintf("benchKey%05d", $i);
        my $sk = sprintf("bench-secret-%05d-0123456789abcdefghijklmnop", $i);
        print $imp qq({"access_key":"$ak","secret_key":"$sk","account":"acct-$i",)
                 . qq("created_at":"$old","last_used_at":"$old"}\n);
        my $q = "symbol=BTCUSDT&recvWindow=600000&timestamp=$ts";
        my $sig = hmac_sha256_hex($q, $sk);
        print $lua qq(  { "/api/v1/account?$q&signature=$sig", "$ak" },\n);
    }
    print $lua "}\n";
' "$keys" "$dir"
"$ctl" import < "$dir/keys.jsonl" >/dev/null

cat >> "$dir/pool.lua" <<'LUA'
local i = 0
request = function()
    i = i % #pool + 1
    return wrk.format("GET", pool[i][1], { ["X-HK-APIKEY"] = pool[i][2] })
end
done = function(summary)
    io.write(string.format("requests: %d\n", summary.requests))
    io.write(string.format("status not 2xx or 3xx: %d\n",
                           summary.errors.status))
end
LUA

user=
[ "$(id -u)" = 0 ] && user="user root;"

cat > "$dir/nginx.conf" <<CONF
load_module $top/build/ngx_http_apisec_module.so;
worker_processes 2;
error_log $dir/logs/error.log info;
pid $dir/logs/nginx.pid;
$user
events { worker_connections 1024; }
http {
    access_log off;
    apisec_store $dir/store;
    apisec_master_key $dir/master.key;
    server {
        listen 127.0.0.1:$port;
        location /api/ {
            apisec on;
            apisec_time_window 10m;
            root $dir/html;
            try_files /ok =404;
        }
    }
}
CONF

"$nginx" -p "$dir" -c "$dir/nginx.conf"
trap '"$nginx" -p "$dir" -c "$dir/nginx.conf" -s quit 2>/dev/null || true' EXIT
sleep 0.5

wrk -t1 -c16 -d"$dur" -s "$dir/pool.lua" "http://127.0.0.1:$port" \
    | grep -E '^(requests|status|Requests/sec)'
end=$(date +%s)

# nginx still runs: wait one tick, so that the timer flushes what is left
sleep 62

flushes=$(grep -c 'apisec: flushed' "$dir/logs/error.log" || true)
echo "store write transactions (timer flushes) during the run and the tick after: $flushes"
grep 'apisec: flushed' "$dir/logs/error.log" | sed 's/^.*apisec: /  /'

bad=$(grep 'apisec: flushed' "$dir/logs/error.log" \
      | perl -ne 'print if /this worker: (\d+) write transactions, (\d+) flushes/ && $1 != $2' \
      | wc -l)
echo "flush lines where a worker's write transactions exceed its flushes: $bad"
[ "$bad" = 0 ] && echo "  => zero write transactions on the request path"

"$ctl" --json list | perl -MTime::Local -ne '
    BEGIN { $end = shift @ARGV }
    /"last_used_at":"(\d+)-(\d+)-(\d+)T(\d+):(\d+):(\d+)Z"/ or next;
    my $t = timegm($6, $5, $4, $3, $2 - 1, $1);
    $n++;
    $stale++ if $end - $t > 60;
    $oldest = $t if !defined $oldest || $t < $oldest;
    END {
        printf "keys: %d; last_used_at more than a minute before the end "
               . "of the run: %d (oldest: %d s before the end)\n",
               $n, $stale // 0, $end - $oldest;
    }
' "$end"
