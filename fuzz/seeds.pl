#!/usr/bin/perl
# Write the seed corpora of fuzz/corpus/<target>/ (run from the repository
# root: perl fuzz/seeds.pl).  The seeds are small meaningful inputs: real
# requests of each scheme, signed with fuzz_scheme.c's secret so that the
# accepting path is covered; valid key records; import lines; times,
# CIDRs, encodings.  Files named regress-* are inputs that once found a
# bug: this script leaves them alone.
#
# Deterministic: running it again rewrites the same files.

use strict;
use warnings;

use Digest::SHA qw(hmac_sha256 hmac_sha256_hex);
use MIME::Base64 qw(encode_base64);

my $secret = 'fuzz-secret-3q2W8xZ7kP5vN1mB6tR9yU4e';     # fuzz_scheme.c
my $dir = 'fuzz/corpus';

-d 'fuzz' or die "run from the repository root\n";

sub seed {
    my ($target, $name, $data) = @_;

    mkdir "$dir/$target";
    open my $fh, '>:raw', "$dir/$target/$name" or die "$target/$name: $!";
    print $fh $data;
    close $fh;
}

sub pct {
    my ($s) = @_;
    $s =~ s/([^A-Za-z0-9_.~-])/sprintf('%%%02X', ord $1)/ge;
    return $s;
}

sub strip_sig {
    my ($s) = @_;
    return join '&', grep { !/^signature=/ } split /&/, $s, -1;
}

# scheme, method, host, path, query, headers (4), body
sub request {
    my ($scheme, $method, $host, $path, $query, $h, $body) = @_;
    my @h = (@$h, ('') x 4)[0 .. 3];
    return join("\n", $scheme, $method, $host, $path, $query, @h) . "\n"
           . $body;
}

# hashkey / binance: totalParams = query + form body, without signature

sub hk {
    my ($scheme, $name, $method, $path, $query, $body, %o) = @_;

    my $sig = hmac_sha256_hex(strip_sig($query) . strip_sig($body), $secret);
    $sig = uc $sig if $o{upper};

    if ($o{sig_in_body}) {
        $body .= "&signature=$sig";
    } else {
        $query .= "&signature=$sig";
    }

    seed('fuzz_scheme', $name,
         request($scheme, $method, 'localhost', $path, $query,
                 [$o{key} // 'hkReader0001'], $body));
}

my $ts = 1700000000000;

hk('hashkey', 'hashkey-get', 'GET', '/api/v1/account',
   "symbol=BTCUSDT&timestamp=$ts", '');
hk('hashkey', 'hashkey-get-recvwindow', 'GET', '/api/v1/account',
   "symbol=BTCUSDT&recvWindow=60000&timestamp=$ts", '');
hk('hashkey', 'hashkey-get-upper', 'GET', '/api/v1/account',
   "timestamp=$ts", '', upper => 1);
hk('hashkey', 'hashkey-post-form', 'POST', '/api/v1/spot/order',
   'symbol=BTCUSDT&side=BUY', "quantity=1&price=100.5&timestamp=$ts");
hk('hashkey', 'hashkey-post-sig-in-body', 'POST', '/api/v1/spot/order',
   'symbol=BTCUSDT', "type=LIMIT&timestamp=$ts", sig_in_body => 1);
hk('hashkey', 'hashkey-encoded-names', 'GET', '/api/v1/account',
   "sym%62ol=BTC+USDT&%74imestamp=$ts", '');
hk('binance', 'binance-get', 'GET', '/api/v3/account',
   "recvWindow=5000&timestamp=$ts", '', key => 'bnKey-0001');
hk('binance', 'binance-post', 'POST', '/api/v3/order',
   '', "symbol=LTCBTC&side=BUY&type=LIMIT&quantity=1&price=0.1"
       . "&timestamp=$ts", key => 'bnKey-0001');

seed('fuzz_scheme', 'hashkey-dup-timestamp',
     request('hashkey', 'GET', 'localhost', '/api/v1/account',
             "timestamp=$ts&timestamp=$ts&signature=" . ('0' x 64),
             ['hkReader0001'], ''));
seed('fuzz_scheme', 'hashkey-no-key',
     request('hashkey', 'GET', 'localhost', '/api/', "timestamp=$ts", [],
             ''));
seed('fuzz_scheme', 'hashkey-many-params',
     request('hashkey', 'GET', 'localhost', '/api/',
             join('&', map { "p$_=$_" } 1 .. 130), ['k'], ''));
seed('fuzz_scheme', 'picked-by-byte',
     request("\x02\x01", 'GET', 'h', '/', "AccessKeyId=a", ['a', 'b', 'c'],
             'x'));

# htx: METHOD \n host \n path \n sorted params (Signature aside)

sub htx {
    my ($name, $method, $host, $path, $params, $body) = @_;

    my @p = sort { (split /=/, $a)[0] cmp (split /=/, $b)[0] } @$params;
    my $mac = encode_base64(hmac_sha256(join("\n", $method, lc $host, $path,
                                             join('&', @p)), $secret), '');
    my $query = join('&', @$params) . '&Signature=' . pct($mac);

    seed('fuzz_scheme', $name,
         request('htx', $method, $host, $path, $query, [], $body));
}

my $iso = '2023-11-14T22%3A13%3A20';

htx('htx-get', 'GET', 'api.huobi.pro', '/v1/account/accounts',
    ['AccessKeyId=e2xxxxxx-99xxxxxx-84xxxxxx-7xxxx', 'SignatureMethod=HmacSHA256',
     'SignatureVersion=2', "Timestamp=$iso"], '');
htx('htx-get-params', 'GET', 'Localhost:1984', '/v1/order/orders',
    ['AccessKeyId=htxKey01', 'SignatureMethod=HmacSHA256',
     'SignatureVersion=2', "Timestamp=$iso", 'symbol=btcusdt',
     'states=filled', 'order-id=1234'], '');
htx('htx-post-unsigned-body', 'POST', 'localhost', '/v1/order/orders/place',
    ['AccessKeyId=htxKey01', 'SignatureMethod=HmacSHA256',
     'SignatureVersion=2', "Timestamp=$iso"],
    '{"account-id":"100009","amount":"10.1","symbol":"htxusdt"}');

# okx: base64 HMAC over timestamp + METHOD + path?query + body

sub okx {
    my ($name, $method, $uri, $body) = @_;

    my $t = '2023-11-14T22:13:20.123Z';
    my $mac = encode_base64(hmac_sha256($t . $method . $uri . $body,
                                        $secret), '');
    my ($path, $query) = split /\?/, $uri, 2;

    seed('fuzz_scheme', $name,
         request('okx', $method, 'www.okx.com', $path, $query // '',
                 ['okxKey01', $mac, $t, 'pass phrase 1'], $body));
}

okx('okx-get', 'GET', '/api/v5/account/balance?ccy=BTC', '');
okx('okx-get-noquery', 'GET', '/api/v5/account/balance', '');
okx('okx-post-json', 'POST', '/api/v5/trade/order',
    '{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit",'
    . '"px":"2.15","sz":"2"}');

# fuzz_params

my %params = (
    'plain'       => 'symbol=BTCUSDT&side=BUY&timestamp=1700000000000',
    'body'        => "symbol=BTCUSDT\nquantity=1&price=100.5&signature="
                     . ('ab' x 32),
    'encoded'     => 'a%20b=c%2Fd&%74imestamp=1&x+y=%zz&empty=&=v&novalue',
    'separators'  => '&&a=1&&b==2&',
    'long-name'   => ('n' x 130) . '=1',
    'escapes'     => '%41%42%43=%e2%82%ac&recvWindow=60000',
);

seed('fuzz_params', $_, $params{$_}) for keys %params;

# fuzz_time

my @times = (
    '2023-11-14T22:13:20Z', '2023-11-14T22:13:20.123Z',
    '2023-11-14T22:13:20.123456789+05:30', '2023-11-14 22:13:20-08:00',
    '1970-01-01T00:00:00Z', '9999-12-31T23:59:59Z', '2024-02-29t00:00:00z',
    '2023-02-29T00:00:00Z', '2023-11-14T22:13:60Z',
    '90d', '1s', '5m', '24h', '36525d', '0s',
);

my $n = 0;
seed('fuzz_time', sprintf('text-%02d', $n++), $_) for @times;
seed('fuzz_time', 'int64-now', pack('q>', 1700000000));
seed('fuzz_time', 'int64-negative', pack('q>', -1));
seed('fuzz_time', 'int64-max', pack('q>', 9223372036854775807));

# fuzz_cidr

my @cidrs = (
    "127.0.0.1/32\n\x7f\x00\x00\x01", "10.0.0.0/8\n\x0a\x01\x02\x03",
    '203.0.113.7/24', '0.0.0.0/0', "2001:db8::/32\n\x20\x01\x0d\xb8",
    '2001:db8:1::/48', '::ffff:192.0.2.1/120', '::/0', 'fe80::1',
    '1:2:3:4:5:6:7:8/128', '::ffff:1.2.3.4', '1::', '::1.2.3.4/100',
    '01.2.3.4', '1.2.3.4/033',
);

$n = 0;
seed('fuzz_cidr', sprintf('cidr-%02d', $n++), $_) for @cidrs;

# fuzz_codec: version 1, then tag (1 byte), length (2 bytes), value

sub tlv { my ($t, $v) = @_; return pack('Cn', $t, length $v) . $v; }
sub int8 { return pack('q>', $_[0]); }

my $sealed = join '', map { chr(($_ * 37 + 11) % 256) } 1 .. 60;
my $ip4 = pack('CC', 4, 24) . "\xcb\x00\x71\x00" . ("\0" x 12);
my $ip6 = pack('CC', 6, 48) . "\x20\x01\x0d\xb8\x00\x01" . ("\0" x 10);

my $min = "\x01" . tlv(1, 'hkReader0001') . tlv(2, 'acct-1')
          . tlv(4, $sealed) . tlv(5, int8(0)) . tlv(6, int8(1))
          . tlv(7, int8(1700000000));

seed('fuzz_codec', 'record-minimal', $min);
seed('fuzz_codec', 'record-full',
     "\x01" . tlv(1, 'fullKey_01.x-y') . tlv(2, 'user@example.com:7')
     . tlv(3, "label \xc3\xa9t\xc3\xa9") . tlv(4, $sealed)
     . tlv(5, int8(3)) . tlv(6, int8(7)) . tlv(7, int8(1700000000))
     . tlv(8, int8(1700000500)) . tlv(9, int8(1800000000))
     . tlv(10, int8(1700001000)) . tlv(11, $ip4 . $ip6)
     . tlv(12, substr($sealed, 0, 48)) . tlv(13, int8(56666666))
     . tlv(14, 'p' x 48));
seed('fuzz_codec', 'record-later-field', $min . tlv(200, 'from a later version'));
seed('fuzz_codec', 'record-truncated', substr($min, 0, length($min) - 3));
seed('fuzz_codec', 'record-twice', $min . tlv(5, int8(1)));
seed('fuzz_codec', 'record-bad-status', "\x01" . tlv(1, 'k') . tlv(2, 'a')
     . tlv(4, $sealed) . tlv(5, int8(9)) . tlv(6, int8(1))
     . tlv(7, int8(1)));

# fuzz_json: apisecctl import lines

my @json = (
    '{"access_key":"hkReader0001","secret_key":"' . ('s' x 40)
        . '","account":"acct-1","permissions":["read","trade"],'
        . '"ips":["127.0.0.1/32","2001:db8::/32"],"status":"active",'
        . '"created_at":"2023-11-14T22:13:20Z","last_used_at":null}',
    '{"access_key":"k","secret_key":"s","account":"a","label":'
        . '"caf\u00e9 \ud83d\ude00 \"q\" \\\\ \/ \b\f\n\r\t"}',
    '  {"n":-9223372036854775808,"m":9223372036854775807,"t":true,'
        . '"f":false,"z":null,"e":[]}  ',
    '{}',
    '{"a":"\u0000"}',
    '{"dup":1,"dup":2}',
    '{"a":1.5}',
    '{"a":"x"} trailing',
    "{\"utf8\":\"\xe2\x82\xac \xf0\x9f\x98\x80\"}",
);

$n = 0;
seed('fuzz_json', sprintf('line-%02d', $n++), $_) for @json;

# fuzz_b64

my $mac = hmac_sha256('data', $secret);
my @enc = (
    encode_base64($mac, ''), unpack('H*', $mac), uc unpack('H*', $mac),
    'JBSWY3DPEHPK3PXP', 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ', 'gezdgnbvgy======',
    '123456', '12345a', 'QQ==', 'QR==', 'QUI=', '', '====',
);

$n = 0;
seed('fuzz_b64', sprintf('text-%02d', $n++), $_) for @enc;

# fuzz_decimal: amounts, accepted and refused

my @decimals = (
    '0', '1', '12.5', '1.50', '10000', '0.000000000000000001',
    '100.000000000000000001', '99999999999999999999.999999999999999999',
    '18446744073709551616', '9900.000000000000000099',
    '007', '00.5', '.5', '5.', '-1', '+1', '1e5', '1E5', '0x10', 'NaN',
    'Infinity', ' 1', '1 ', "1\0", "\xef\xbc\x91", "\xd9\xa1", '1,000',
    '1_000', '0.0000000000000000001', '100000000000000000000',
);

$n = 0;
seed('fuzz_decimal', sprintf('text-%02d', $n++), $_) for @decimals;
seed('fuzz_decimal', 'u128-max', "\xff" x 32);

# fuzz_fields: a mode byte (bit 0 form, bit 1 query + "\n" + body, bits
# 2-5 amount's buffer size - 1, bits 6-7 both set: address has no
# buffer), then the data

my @fields = (
    "<" . '{"amount":"12.5","currency":"USD","address":"0xabc"}',
    "<" . '{"amount":12.5e0,"currency":null,"address":{"a":[1,true]}}',
    "<" . ' {"\u0061mount":"1","x":{"amount":"2"},"y":[[[]]]} ',
    "<" . '{"amount":"1","amount":"2"}',
    "<" . '{"address":"caf\u00e9 \ud83d\ude00 \"q\" \\\\ \/ \b\f\n\r\t"}',
    "<" . '{"a":"\ud800"}',
    "<" . "{\"a\":\"\xe2\x82\xac\xff\"}",
    "<" . '{"amount":"1"} x',
    "<" . '{"a":' . ('[' x 31) . (']' x 31) . ',"amount":-0.5E+3}',
    "<" . '{"a":' . ('[' x 32) . (']' x 32) . '}',
    "\x04" . '{"amount":"12345678901234567890","currency":"TOOLONGCODE"}',
    "\xfc" . '{"address":""}',
    "=" . 'amount=12.5&currency=USD&address=a+b%2Bc',
    "=" . '%61mount=1&&amount&x=%zz',
    "=" . 'amount=1%00&currency=%E2%82%AC&address=%4',
    "=" . 'amo%00unt=1',
    ">" . "amount=1\n" . '{"amount":"2","currency":"EUR"}',
    "?" . "currency=USD\namount=5&address=x",
);

$n = 0;
seed('fuzz_fields', sprintf('input-%02d', $n++), $_) for @fields;

print "seeds written under $dir\n";
