# Hostile input that apisec does not refuse yet (issue 8): each block says
# what the module should do; it fails until the module does it.  Kept out
# of t/090-hostile.t so that the rest of the hostile tests stay green.
#
# Two Content-Type headers.  apisec decides whether a hashkey (or
# binance) body is signed from the first Content-Type header only;
# nginx passes both to the upstream.  An upstream that takes the last one
# (gunicorn's WSGI environ does) parses a form body that the signature
# never covered: parameters reach it unsigned, the kind of confusion that
# a key header sent twice is refused for.  Expected: 400
# request-malformed, as for a key header sent twice.

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use ApisecTest;

ApisecTest::setup(keys => [
    { access_key => 'hfTrader01', account => 'acct-hftrader',
      secret_key => 'HostileFindingsTraderSecret00001',
      permissions => ['read', 'trade'] },
]);

no_shuffle();
add_block_preprocessor(\&ApisecTest::preprocess);
run_tests();

__DATA__

=== TEST 1: two Content-Type headers, JSON then form, the form body unsigned (the signature covers the query): 400 request-malformed
--- apisec_request
POST /trade/order?timestamp={ts}&signature={sig}
X-HK-APIKEY: hfTrader01
Content-Type: application/json
@tamper: s{(Content-Type: application/json)}{$1\nContent-Type: application/x-www-form-urlencoded}

side=SELL&quantity=100
--- error_code: 400
--- response_body chomp
{"code":"request-malformed","msg":"The request is malformed."}
--- error_log
refused: request-malformed
