#!/bin/bash
# The main job, end to end: a master key, a store with a demo key, nginx on
# loopback with the example configuration, and signed requests that are
# accepted and refused; then the security events, delivered as signed
# webhooks to a receiver on loopback, and the metrics.
#   scripts/demo.sh         run the demo (leaves nginx running)
#   scripts/demo.sh stop    stop the demo's nginx
set -euo pipefail
cd "$(dirname "$0")/.."

top=$(pwd)
dir=$top/build/demo
port=${APISEC_DEMO_PORT:-8080}
hook_port=${APISEC_DEMO_HOOK_PORT:-$((port + 1))}
nginx=${NGINX_BINARY:-/usr/sbin/nginx}
ctl=$top/build/apisecctl

stop() {
    if [ -f "$dir/receiver.pid" ]; then
        kill "$(cat "$dir/receiver.pid")" 2>/dev/null || true
        rm -f "$dir/receiver.pid"
    fi

    if [ -f "$dir/logs/nginx.pid" ]; then
        "$nginx" -p "$dir" -c "$dir/nginx.conf" -s quit 2>/dev/null || true
        for _ in $(seq 50); do
            [ -f "$dir/logs/nginx.pid" ] || break
            sleep 0.1
        done
    fi
}

if [ "${1:-}" = stop ]; then
    stop
    echo "apisec demo: stopped"
    exit 0
fi

stop
rm -rf "$dir"
mkdir -p "$dir/logs"

export APISEC_STORE=$dir/store APISEC_MASTER_KEY=$dir/master.key

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "a master key and an empty store"
echo "\$ apisecctl master-key $APISEC_MASTER_KEY"
"$ctl" master-key "$APISEC_MASTER_KEY"
echo "\$ apisecctl init"
"$ctl" init

say "a demo key that may read and trade, from 127.0.0.1 only"
echo "\$ apisecctl --json create --account demo-account --perm read,trade --ip 127.0.0.1/32 --label demo"
json=$("$ctl" --json create --account demo-account --perm read,trade \
       --ip 127.0.0.1/32 --label demo 2>/dev/null)
echo "$json"
field() { printf '%s' "$json" | sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"; }
key=$(field access_key)
secret=$(field secret_key)

echo "\$ apisecctl list"
"$ctl" list

cat > "$dir/nginx.conf" <<EOF
load_module $top/build/ngx_http_apisec_module.so;

worker_processes 2;
error_log $dir/logs/error.log info;
pid $dir/logs/nginx.pid;
$( [ "$(id -u)" = 0 ] && echo "user root;" )

events {
    worker_connections 1024;
}

http {
    access_log $dir/logs/access.log;
    client_body_temp_path $dir/body;
    proxy_temp_path $dir/proxy;

    apisec_store $dir/store;
    apisec_master_key $dir/master.key;
    apisec_flush_interval 12s;              # events reach the store within 1 s

    # every security event, signed, to a receiver (t/lib/receiver.pl)
    apisec_webhook http://127.0.0.1:$hook_port/apisec secret=$dir/hook.secret;

    upstream exchange {
        server unix:$dir/backend.sock;
    }

    # the API that apisec protects (here: a stand-in that echoes)
    server {
        listen unix:$dir/backend.sock;
        default_type application/json;

        location / {
            return 200 '{"ok":true,"path":"\$uri","account":"\$http_x_apisec_account"}\n';
        }
    }

    server {
        listen 127.0.0.1:$port;

        proxy_set_header X-Apisec-Account \$apisec_account;

        location /api/ {
            apisec on;                      # hashkey scheme, read permission
            proxy_pass http://exchange;
        }

        location /trade/ {
            apisec on;
            apisec_permission trade;
            proxy_pass http://exchange;
        }

        location /withdraw/ {
            apisec on;
            apisec_permission withdraw;
            proxy_pass http://exchange;
        }

        location = /metrics {
            apisec_status;                  # Prometheus text
            allow 127.0.0.1;
            deny all;
        }
    }
}
EOF

# the webhook receiver: it logs each request as a JSON line
head -c 24 /dev/urandom | base64 > "$dir/hook.secret"
chmod 600 "$dir/hook.secret"
perl "$top/t/lib/receiver.pl" "$hook_port" "$dir/webhooks.log" > /dev/null 2>&1 &
echo $! > "$dir/receiver.pid"

say "nginx with the module, on 127.0.0.1:$port"
"$nginx" -p "$dir" -c "$dir/nginx.conf" -t 2>&1 | sed 's/^/  /'
"$nginx" -p "$dir" -c "$dir/nginx.conf"
sleep 0.3

now_ms() { date +%s%3N; }
hmac() { printf '%s' "$1" | openssl dgst -sha256 -hmac "$2" | sed 's/^.*= //'; }

request() {
    # request TITLE METHOD PATH QUERY [BODY] -- QUERY and BODY unsigned
    local title=$1 method=$2 path=$3 query=$4 body=${5:-}
    echo
    echo "-- $title"
    local args=(-s -o - -w '\n%{http_code}' -X "$method"
                -H "X-HK-APIKEY: ${KEY:-$key}")
    [ -n "$body" ] && args+=(-H 'Content-Type: application/x-www-form-urlencoded' \
                             --data-binary "$body")
    echo "   $method $path?$query"
    [ -n "$body" ] && echo "   body: $body"
    local out
    out=$(curl "${args[@]}" "http://127.0.0.1:$port$path?$query")
    printf '   -> HTTP %s %s\n' "${out##*$'\n'}" "$(printf '%s' "${out%$'\n'*}" | tr -d '\n')"
}

say "signed requests (HMAC-SHA256 with openssl, as a HashKey client signs)"

q="symbol=BTCUSDT&timestamp=$(now_ms)"
request "accepted: a signed GET" GET /api/v1/account \
    "$q&signature=$(hmac "$q" "$secret")"

q="symbol=BTCUSDT&side=BUY"
b="quantity=1&price=100.5&timestamp=$(now_ms)"
request "accepted: a POST, signed over query and form body" POST /trade/order \
    "$q" "$b&signature=$(hmac "$q$b" "$secret")"

q="symbol=BTCUSDT&timestamp=$(now_ms)"
sig=$(hmac "$q" "$secret")
request "refused: the same request with one byte changed" GET /api/v1/account \
    "symbol=BTCUSDX&${q#*&}&signature=$sig"

q="symbol=BTCUSDT&timestamp=$(( $(now_ms) - 60000 ))"
request "refused: a timestamp a minute old" GET /api/v1/account \
    "$q&signature=$(hmac "$q" "$secret")"

q="amount=1&coin=BTC&timestamp=$(now_ms)"
request "refused: a withdrawal with a read+trade key" POST /withdraw/apply \
    "$q&signature=$(hmac "$q" "$secret")"

q="timestamp=$(now_ms)"
KEY=NoSuchKey0000000000000000000000000000000000000000000000000000000 \
request "refused: an unknown key" GET /api/v1/account \
    "$q&signature=$(hmac "$q" "$secret")"

echo
"$ctl" disable "$key" >/dev/null
q="timestamp=$(now_ms)"
request "refused: after apisecctl disable (no reload)" GET /api/v1/account \
    "$q&signature=$(hmac "$q" "$secret")"
"$ctl" enable "$key" >/dev/null

say "what nginx logged (no secret, no signature)"
grep 'apisec:' "$dir/logs/error.log" | grep refused | sed 's/^/  /'

say "the security events, in the store's log (apisecctl events)"
sleep 1.5
"$ctl" events | sed 's/^/  /'

say "... and delivered to the webhook receiver, each signed"
for _ in $(seq 50); do
    [ "$(wc -l < "$dir/webhooks.log" 2>/dev/null || echo 0)" -ge 1 ] && break
    sleep 0.1
done
sleep 0.5
perl -MJSON::PP -MDigest::SHA=hmac_sha256_hex -e '
    my ($secret, $log) = @ARGV;
    open my $fh, "<", $log or die "$log: $!\n";
    while (<$fh>) {
        my $r = decode_json($_);
        my $ok = hmac_sha256_hex("$r->{ts}.$r->{body}", $secret) eq $r->{sig};
        my $e = decode_json($r->{body});
        printf "  POST %s  X-Apisec-Event-Id: %s  %s %s  signature %s\n",
               $r->{path}, $r->{id}, $e->{type}, $e->{reason} // "",
               $ok ? "verified" : "WRONG";
    }' "$(cat "$dir/hook.secret")" "$dir/webhooks.log"

say "the metrics (apisec_status): requests by result, webhooks"
curl -s "http://127.0.0.1:$port/metrics" \
    | grep -E '^apisec_(requests_total|webhook_delivered_total)\{' \
    | grep -v ' 0$' | sed 's/^/  /'

say "nginx is running on 127.0.0.1:$port (stop it with: make demo-stop)"
echo "  store: $APISEC_STORE, key: $key"
echo "  webhooks received: $dir/webhooks.log; metrics: http://127.0.0.1:$port/metrics"
