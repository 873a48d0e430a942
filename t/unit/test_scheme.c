/*
 * Unit tests of the signature core and the hashkey scheme: parameter
 * splitting, canonical bytes, timestamp window, MAC.  The vectors are
 * Binance's published API example (the same algorithm as HashKey's),
 * checked independently with `openssl dgst -sha256 -hmac`.
 */


#include <stdlib.h>

#include "apisec_scheme.h"
#include "unit.h"


#define SECRET  "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
#define QUERY   "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC" \
                "&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
#define SIG     "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
#define Q2      "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC"
#define B2      "quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
#define SIG2    "0fd168b8ddb4876a0358a8d14d0c9f3da0e9b20c5d52b2a00fcf7d1c602f9a77"
#define TS      1499827319559LL


static const apisec_scheme_t  *hk, *bn, *htx, *okx;
static apisec_hmac_t          *hmac;
static unsigned char           canon[8192];
static apisec_auth_t           auth;


static apisec_bytes_t
b(const char *s)
{
    apisec_bytes_t  r;

    r.data = (const unsigned char *) s;
    r.len = (s != NULL) ? strlen(s) : 0;

    return r;
}


static apisec_err_t
run(const char *query, const char *body, const char *key, int64_t window,
    int64_t now)
{
    apisec_err_t  e;
    apisec_req_t  req;

    memset(&req, 0, sizeof(req));
    memset(&auth, 0, sizeof(auth));

    req.method = b("POST");
    req.path = b("/api/v3/order");
    req.query = b(query);
    req.body = b(body);
    req.headers[0] = b(key);

    auth.canon = canon;
    auth.canon_cap = apisec_scheme_canon_max(hk, &req);

    e = apisec_scheme_key(hk, &req, &auth);
    if (e != APISEC_E_OK) {
        return e;
    }

    e = apisec_scheme_parse(hk, &req, window, &auth);
    if (e != APISEC_E_OK) {
        return e;
    }

    return apisec_scheme_verify(hk, &auth, now, hmac,
                                (const unsigned char *) SECRET,
                                strlen(SECRET));
}


static int
canon_is(const char *want)
{
    return auth.canon_len == strlen(want)
           && memcmp(auth.canon, want, auth.canon_len) == 0;
}


static void
test_errors_table(void)
{
    int  e;

    CHECK_STR(apisec_err_info(APISEC_E_SIGNATURE_INVALID)->code,
              "signature-invalid");
    CHECK_INT(apisec_err_info(APISEC_E_SIGNATURE_INVALID)->status, 401);
    CHECK_INT(apisec_err_info(APISEC_E_IP_NOT_ALLOWED)->status, 403);
    CHECK_INT(apisec_err_info(APISEC_E_RATE_LIMITED)->status, 429);
    CHECK_INT(apisec_err_info(APISEC_E_STORE_UNAVAILABLE)->status, 503);
    CHECK_INT(apisec_err_info(APISEC_E_REQUEST_MALFORMED)->status, 400);

    for (e = 1; e < APISEC_E_MAX; e++) {
        CHECK(apisec_err_info((apisec_err_t) e)->code[0] != '\0');
        CHECK(strchr(apisec_err_info((apisec_err_t) e)->msg, '"') == NULL);
    }

    CHECK(apisec_scheme_find("hashkey", 7) == &apisec_schemes[0]);
    CHECK(apisec_scheme_find("hashke", 6) == NULL);
    CHECK(apisec_scheme_find("hashkeyx", 8) == NULL);
}


static void
test_published_vectors(void)
{
    /* all parameters in the query */
    CHECK_INT(run(QUERY "&signature=" SIG, NULL, "k1", -1, TS + 100),
              APISEC_E_OK);
    CHECK(canon_is(QUERY));
    CHECK_INT(auth.window_ms, 5000);
    CHECK_INT(auth.ts_ms, TS);

    /* upper-case hex is the same signature */
    CHECK_INT(run(QUERY "&signature=C8DB56825AE71D6D79447849E617115F4A920FA2"
                  "ACDCAB2B053C4B2838BD6B71", NULL, "k1", -1, TS),
              APISEC_E_OK);

    /* split between query and body, signature in the body */
    CHECK_INT(run(Q2, B2 "&signature=" SIG2, "k1", -1, TS + 4999),
              APISEC_E_OK);
    CHECK(canon_is(Q2 B2));

    /* ... or in the query */
    CHECK_INT(run(Q2 "&signature=" SIG2, B2, "k1", -1, TS), APISEC_E_OK);
    CHECK(canon_is(Q2 B2));

    /* signature first: it and the '&' after it are cut */
    CHECK_INT(run("signature=" SIG "&" QUERY, NULL, "k1", -1, TS),
              APISEC_E_OK);
    CHECK(canon_is(QUERY));

    /* one byte changed anywhere */
    CHECK_INT(run(QUERY "&signature=" SIG, NULL, "k1", -1, TS),
              APISEC_E_OK);
    CHECK_INT(run("symbol=LTCBTD&side=BUY&type=LIMIT&timeInForce=GTC"
                  "&quantity=1&price=0.1&recvWindow=5000"
                  "&timestamp=1499827319559&signature=" SIG,
                  NULL, "k1", -1, TS),
              APISEC_E_SIGNATURE_INVALID);
    CHECK_INT(run(Q2, "quantity=2&price=0.1&recvWindow=5000"
                  "&timestamp=1499827319559&signature=" SIG2,
                  "k1", -1, TS),
              APISEC_E_SIGNATURE_INVALID);
    CHECK_INT(run(QUERY "&signature=d8db56825ae71d6d79447849e617115f4a920fa2"
                  "acdcab2b053c4b2838bd6b71", NULL, "k1", -1, TS),
              APISEC_E_SIGNATURE_INVALID);
}


static void
test_timestamp_window(void)
{
    /* now - timestamp <= recvWindow (5000 here) */
    CHECK_INT(run(QUERY "&signature=" SIG, NULL, "k", -1, TS + 5000),
              APISEC_E_OK);
    CHECK_INT(run(QUERY "&signature=" SIG, NULL, "k", -1, TS + 5001),
              APISEC_E_TIMESTAMP_INVALID);

    /* timestamp < now + 1000 */
    CHECK_INT(run(QUERY "&signature=" SIG, NULL, "k", -1, TS - 999),
              APISEC_E_OK);
    CHECK_INT(run(QUERY "&signature=" SIG, NULL, "k", -1, TS - 1000),
              APISEC_E_TIMESTAMP_INVALID);

    /* apisec_time_window caps recvWindow */
    CHECK_INT(run(QUERY "&signature=" SIG, NULL, "k", 4999, TS),
              APISEC_E_TIMESTAMP_INVALID);
    CHECK_INT(run(QUERY "&signature=" SIG, NULL, "k", 5000, TS),
              APISEC_E_OK);

    /* recvWindow: at most 60000 by default, positive, digits only */
    CHECK_INT(run("timestamp=1&recvWindow=60000&signature=" SIG, NULL, "k",
                  -1, 1),
              APISEC_E_SIGNATURE_INVALID);
    CHECK_INT(auth.window_ms, 60000);
    CHECK_INT(run("timestamp=1&recvWindow=60001&signature=" SIG, NULL, "k",
                  -1, 1),
              APISEC_E_TIMESTAMP_INVALID);
    CHECK_INT(run("timestamp=1&recvWindow=0&signature=" SIG, NULL, "k",
                  -1, 1),
              APISEC_E_TIMESTAMP_INVALID);
    CHECK_INT(run("timestamp=1&recvWindow=-5&signature=" SIG, NULL, "k",
                  -1, 1),
              APISEC_E_TIMESTAMP_INVALID);
    CHECK_INT(run("timestamp=1&recvWindow=5e3&signature=" SIG, NULL, "k",
                  -1, 1),
              APISEC_E_TIMESTAMP_INVALID);

    /* no recvWindow: 5 s, or the cap when smaller */
    CHECK_INT(run("timestamp=1&signature=" SIG, NULL, "k", 2000, 1),
              APISEC_E_SIGNATURE_INVALID);
    CHECK_INT(auth.window_ms, 2000);
    CHECK_INT(run("timestamp=1&signature=" SIG, NULL, "k", 90000, 1),
              APISEC_E_SIGNATURE_INVALID);
    CHECK_INT(auth.window_ms, 5000);

    /* malformed timestamps */
    CHECK_INT(run("signature=" SIG, NULL, "k", -1, 1),
              APISEC_E_TIMESTAMP_INVALID);
    CHECK_INT(run("timestamp=&signature=" SIG, NULL, "k", -1, 1),
              APISEC_E_TIMESTAMP_INVALID);
    CHECK_INT(run("timestamp=1499827319559.5&signature=" SIG, NULL, "k",
                  -1, 1),
              APISEC_E_TIMESTAMP_INVALID);
    CHECK_INT(run("timestamp=+1499827319559&signature=" SIG, NULL, "k",
                  -1, 1),
              APISEC_E_TIMESTAMP_INVALID);
    CHECK_INT(run("timestamp=12345678901234567&signature=" SIG, NULL, "k",
                  -1, 1),
              APISEC_E_TIMESTAMP_INVALID);
}


static void
test_malformed(void)
{
    char     big[4096], *p;
    int      i;
    int64_t  v;

    /* signature missing, empty, not hex, wrong length */
    CHECK_INT(run(QUERY, NULL, "k", -1, TS), APISEC_E_SIGNATURE_MISSING);
    CHECK_INT(run(QUERY "&signature=", NULL, "k", -1, TS),
              APISEC_E_SIGNATURE_INVALID);
    CHECK_INT(run(QUERY "&signature=zz", NULL, "k", -1, TS),
              APISEC_E_SIGNATURE_INVALID);
    CHECK_INT(run(QUERY "&signature=" SIG "00", NULL, "k", -1, TS),
              APISEC_E_SIGNATURE_INVALID);

    /* the signature in both the query and the body */
    CHECK_INT(run(QUERY "&signature=" SIG, "signature=" SIG, "k", -1, TS),
              APISEC_E_REQUEST_MALFORMED);
    CHECK_STR(auth.detail, "the signature is sent twice");

    /* any parameter twice, also across query and body, also encoded */
    CHECK_INT(run(QUERY "&timestamp=1499827319559&signature=" SIG, NULL,
                  "k", -1, TS),
              APISEC_E_REQUEST_MALFORMED);
    CHECK_INT(run(QUERY "&signature=" SIG, "symbol=X", "k", -1, TS),
              APISEC_E_REQUEST_MALFORMED);
    CHECK_INT(run(QUERY "&%74imestamp=1&signature=" SIG, NULL, "k", -1, TS),
              APISEC_E_REQUEST_MALFORMED);
    CHECK_INT(run(QUERY "&sym%62ol=1&signature=" SIG, NULL, "k", -1, TS),
              APISEC_E_REQUEST_MALFORMED);

    /* a name with a bad escape */
    CHECK_INT(run(QUERY "&%zz=1&signature=" SIG, NULL, "k", -1, TS),
              APISEC_E_REQUEST_MALFORMED);
    CHECK_INT(run(QUERY "&a%4=1&signature=" SIG, NULL, "k", -1, TS),
              APISEC_E_REQUEST_MALFORMED);

    /* a name too long */
    memset(big, 'n', 129);
    strcpy(big + 129, "=1&timestamp=1&signature=" SIG);
    CHECK_INT(run(big, NULL, "k", -1, 1), APISEC_E_REQUEST_MALFORMED);
    memset(big, 'n', 128);
    strcpy(big + 128, "=1&timestamp=1&signature=" SIG);
    CHECK_INT(run(big, NULL, "k", -1, 1), APISEC_E_SIGNATURE_INVALID);

    /* too many parameters */
    p = big;
    for (i = 0; i < APISEC_PARAMS_MAX; i++) {
        p += sprintf(p, "p%d=&", i);
    }
    strcpy(p, "signature=" SIG);
    CHECK_INT(run(big, NULL, "k", -1, 1), APISEC_E_REQUEST_MALFORMED);
    CHECK_STR(auth.detail, "too many parameters");

    /* empty segments are not parameters; the bytes are signed as sent */
    CHECK_INT(run("&&" QUERY "&&signature=" SIG, NULL, "k", -1, TS),
              APISEC_E_SIGNATURE_INVALID);
    CHECK(canon_is("&&" QUERY "&"));

    CHECK_INT(apisec_parse_uint(b("0"), 3, &v), 0);
    CHECK_INT(apisec_parse_uint(b("1234"), 3, &v), -1);
    CHECK_INT(apisec_parse_uint(b(""), 3, &v), -1);
    CHECK_INT(apisec_parse_uint(b("12a"), 3, &v), -1);
}


static void
test_key(void)
{
    char  key[200];

    CHECK_INT(run(QUERY "&signature=" SIG, NULL, NULL, -1, TS),
              APISEC_E_KEY_MISSING);
    CHECK_INT(run(QUERY "&signature=" SIG, NULL, "", -1, TS),
              APISEC_E_KEY_MISSING);
    CHECK_INT(run(QUERY "&signature=" SIG, NULL, "a b", -1, TS),
              APISEC_E_KEY_UNKNOWN);
    CHECK_INT(run(QUERY "&signature=" SIG, NULL, "a\"b", -1, TS),
              APISEC_E_KEY_UNKNOWN);
    CHECK_INT(run(QUERY "&signature=" SIG, NULL, "A-z_0.9", -1, TS),
              APISEC_E_OK);

    memset(key, 'k', sizeof(key));
    key[128] = '\0';
    CHECK_INT(run(QUERY "&signature=" SIG, NULL, key, -1, TS), APISEC_E_OK);
    key[128] = 'k';
    key[129] = '\0';
    CHECK_INT(run(QUERY "&signature=" SIG, NULL, key, -1, TS),
              APISEC_E_KEY_UNKNOWN);
}


/* a request to any scheme: headers in the scheme's order */

static apisec_err_t
run2(const apisec_scheme_t *s, const char *method, const char *host,
    const char *uri, const char *body, const char **hdr, const char *secret,
    int64_t window, int64_t now)
{
    const char    *q;
    apisec_err_t   e;
    apisec_req_t   req;
    unsigned       i;

    memset(&req, 0, sizeof(req));
    memset(&auth, 0, sizeof(auth));

    req.method = b(method);
    req.host = b(host);
    req.uri = b(uri);
    req.path = b(uri);
    q = strchr(uri, '?');

    if (q != NULL) {
        req.path.len = q - uri;
        req.query = b(q + 1);
    }

    req.body = b(body);

    for (i = 0; hdr != NULL && i < APISEC_HDR_MAX && hdr[i] != NULL; i++) {
        req.headers[i] = b(hdr[i][0] ? hdr[i] : NULL);
    }

    auth.canon = canon;
    auth.canon_cap = apisec_scheme_canon_max(s, &req);

    e = apisec_scheme_key(s, &req, &auth);
    if (e != APISEC_E_OK) {
        return e;
    }

    e = apisec_scheme_parse(s, &req, window, &auth);
    if (e != APISEC_E_OK) {
        return e;
    }

    return apisec_scheme_verify(s, &auth, now, hmac,
                                (const unsigned char *) secret,
                                strlen(secret));
}


/* Binance's published example, through the binance entry of the table */

static void
test_binance(void)
{
    const char  *h[] = { "k1", NULL };

    CHECK(bn->headers[0] != NULL && strcmp(bn->headers[0], "X-MBX-APIKEY") == 0);
    CHECK_INT(bn->body, APISEC_BODY_FORM);

    CHECK_INT(run2(bn, "GET", "h", "/api/v3/order?" QUERY "&signature=" SIG,
                   NULL, h, SECRET, -1, TS + 10),
              APISEC_E_OK);
    CHECK(canon_is(QUERY));

    CHECK_INT(run2(bn, "POST", "h", "/api/v3/order?" Q2,
                   B2 "&signature=" SIG2, h, SECRET, -1, TS),
              APISEC_E_OK);
    CHECK(canon_is(Q2 B2));

    CHECK_INT(run2(bn, "POST", "h", "/api/v3/order?" Q2,
                   B2 "&signature=" SIG, h, SECRET, -1, TS),
              APISEC_E_SIGNATURE_INVALID);
}


/*
 * htx: the canonical string of signature version 2; the expected MAC is
 * `printf 'GET\napi.huobi.pro\n/v1/order/orders\nAccessKeyId=...' |
 * openssl dgst -sha256 -hmac b0xxxxxx-c6xxxxxx-94xxxxxx-dxxxx -binary |
 * base64`.
 */

#define HTX_SECRET  "b0xxxxxx-c6xxxxxx-94xxxxxx-dxxxx"
#define HTX_AK      "AccessKeyId=e2xxxxxx-99xxxxxx-84xxxxxx-7xxxx"
#define HTX_SM      "SignatureMethod=HmacSHA256&SignatureVersion=2"
#define HTX_TS      "Timestamp=2017-05-11T15%3A19%3A30"
#define HTX_SIG     "Signature=Nmd8AU8uAe0mkFpxNbiava0aeZzBEtYjCdie1ZYZjoM%3D"
#define HTX_NOW     1494515970000LL
#define HTX_CANON   "GET\napi.huobi.pro\n/v1/order/orders\n" HTX_AK "&" HTX_SM \
                    "&" HTX_TS "&order-id=1234567890"

static void
test_htx(void)
{
    CHECK(htx->key_param != NULL);
    CHECK_INT(htx->body, APISEC_BODY_NONE);

    /* sent unsorted, the host in mixed case: signed sorted, lower-cased */
    CHECK_INT(run2(htx, "GET", "API.Huobi.Pro",
                   "/v1/order/orders?order-id=1234567890&" HTX_AK "&" HTX_SM
                   "&" HTX_TS "&" HTX_SIG, NULL, NULL, HTX_SECRET, -1,
                   HTX_NOW + 1000),
              APISEC_E_OK);
    CHECK(canon_is(HTX_CANON));
    CHECK_INT(auth.ts_ms, HTX_NOW);
    CHECK_INT(auth.window_ms, 300000);
    CHECK(auth.access_key.len == 32
          && memcmp(auth.access_key.data, "e2xxxxxx", 8) == 0);

    /* the Timestamp with raw colons is the same time; signed as sent */
    CHECK_INT(run2(htx, "GET", "api.huobi.pro",
                   "/v1/order/orders?order-id=1234567890&" HTX_AK "&" HTX_SM
                   "&Timestamp=2017-05-11T15:19:30&" HTX_SIG, NULL, NULL,
                   HTX_SECRET, -1, HTX_NOW),
              APISEC_E_SIGNATURE_INVALID);
    CHECK_INT(auth.ts_ms, HTX_NOW);

    /* a body is not signed: POST with a body, same query, same MAC */
    CHECK_INT(run2(htx, "GET", "api.huobi.pro",
                   "/v1/order/orders?" HTX_AK "&" HTX_SM "&" HTX_TS
                   "&order-id=1234567890&" HTX_SIG, "{\"x\":1}", NULL,
                   HTX_SECRET, -1, HTX_NOW),
              APISEC_E_OK);

    /* another host, path, method or value: another MAC */
    CHECK_INT(run2(htx, "GET", "api.huobi.pro:443",
                   "/v1/order/orders?order-id=1234567890&" HTX_AK "&" HTX_SM
                   "&" HTX_TS "&" HTX_SIG, NULL, NULL, HTX_SECRET, -1,
                   HTX_NOW),
              APISEC_E_SIGNATURE_INVALID);
    CHECK_INT(run2(htx, "POST", "api.huobi.pro",
                   "/v1/order/orders?order-id=1234567890&" HTX_AK "&" HTX_SM
                   "&" HTX_TS "&" HTX_SIG, NULL, NULL, HTX_SECRET, -1,
                   HTX_NOW),
              APISEC_E_SIGNATURE_INVALID);
    CHECK_INT(run2(htx, "GET", "api.huobi.pro",
                   "/v1/order/orders?order-id=1234567891&" HTX_AK "&" HTX_SM
                   "&" HTX_TS "&" HTX_SIG, NULL, NULL, HTX_SECRET, -1,
                   HTX_NOW),
              APISEC_E_SIGNATURE_INVALID);

    /* the window: 5 minutes either side */
    CHECK_INT(run2(htx, "GET", "api.huobi.pro",
                   "/v1/order/orders?order-id=1234567890&" HTX_AK "&" HTX_SM
                   "&" HTX_TS "&" HTX_SIG, NULL, NULL, HTX_SECRET, -1,
                   HTX_NOW + 300000),
              APISEC_E_OK);
    CHECK_INT(run2(htx, "GET", "api.huobi.pro",
                   "/v1/order/orders?order-id=1234567890&" HTX_AK "&" HTX_SM
                   "&" HTX_TS "&" HTX_SIG, NULL, NULL, HTX_SECRET, -1,
                   HTX_NOW + 300001),
              APISEC_E_TIMESTAMP_INVALID);
    CHECK_INT(run2(htx, "GET", "api.huobi.pro",
                   "/v1/order/orders?order-id=1234567890&" HTX_AK "&" HTX_SM
                   "&" HTX_TS "&" HTX_SIG, NULL, NULL, HTX_SECRET, -1,
                   HTX_NOW - 300000),
              APISEC_E_OK);
    CHECK_INT(run2(htx, "GET", "api.huobi.pro",
                   "/v1/order/orders?order-id=1234567890&" HTX_AK "&" HTX_SM
                   "&" HTX_TS "&" HTX_SIG, NULL, NULL, HTX_SECRET, -1,
                   HTX_NOW - 300001),
              APISEC_E_TIMESTAMP_INVALID);
    CHECK_INT(run2(htx, "GET", "api.huobi.pro",
                   "/v1/order/orders?order-id=1234567890&" HTX_AK "&" HTX_SM
                   "&" HTX_TS "&" HTX_SIG, NULL, NULL, HTX_SECRET, 10000,
                   HTX_NOW + 10001),
              APISEC_E_TIMESTAMP_INVALID);

    /* refusals */
    CHECK_INT(run2(htx, "GET", "h", "/v?" HTX_SM "&" HTX_TS "&" HTX_SIG,
                   NULL, NULL, HTX_SECRET, -1, HTX_NOW),
              APISEC_E_KEY_MISSING);
    CHECK_INT(run2(htx, "GET", "h", "/v?" HTX_AK "&" HTX_SM "&" HTX_TS,
                   NULL, NULL, HTX_SECRET, -1, HTX_NOW),
              APISEC_E_SIGNATURE_MISSING);
    CHECK_INT(run2(htx, "GET", "h", "/v?" HTX_AK "&" HTX_SM "&" HTX_SIG,
                   NULL, NULL, HTX_SECRET, -1, HTX_NOW),
              APISEC_E_TIMESTAMP_INVALID);
    CHECK_INT(run2(htx, "GET", "h", "/v?" HTX_AK "&" HTX_SM
                   "&Timestamp=2017-05-11%2015%3A19%3A30&" HTX_SIG,
                   NULL, NULL, HTX_SECRET, -1, HTX_NOW),
              APISEC_E_TIMESTAMP_INVALID);
    CHECK_INT(run2(htx, "GET", "h", "/v?" HTX_AK "&" HTX_SM
                   "&Timestamp=1494515970&" HTX_SIG,
                   NULL, NULL, HTX_SECRET, -1, HTX_NOW),
              APISEC_E_TIMESTAMP_INVALID);
    CHECK_INT(run2(htx, "GET", "h", "/v?" HTX_AK
                   "&SignatureMethod=HmacSHA1&SignatureVersion=2&" HTX_TS
                   "&" HTX_SIG, NULL, NULL, HTX_SECRET, -1, HTX_NOW),
              APISEC_E_REQUEST_MALFORMED);
    CHECK_INT(run2(htx, "GET", "h", "/v?" HTX_AK
                   "&SignatureMethod=HmacSHA256&SignatureVersion=1&" HTX_TS
                   "&" HTX_SIG, NULL, NULL, HTX_SECRET, -1, HTX_NOW),
              APISEC_E_REQUEST_MALFORMED);
    CHECK_INT(run2(htx, "GET", "h", "/v?" HTX_AK "&" HTX_SM "&" HTX_TS
                   "&" HTX_TS "&" HTX_SIG, NULL, NULL, HTX_SECRET, -1,
                   HTX_NOW),
              APISEC_E_REQUEST_MALFORMED);
    CHECK_INT(run2(htx, "GET", "h", "/v?" HTX_AK "&" HTX_SM "&" HTX_TS
                   "&Signature=bm90IGEgbWFj", NULL, NULL, HTX_SECRET, -1,
                   HTX_NOW),
              APISEC_E_SIGNATURE_INVALID);
    CHECK_INT(run2(htx, "GET", "h", "/v?" HTX_AK "&" HTX_SM "&" HTX_TS
                   "&Signature=%zz", NULL, NULL, HTX_SECRET, -1, HTX_NOW),
              APISEC_E_SIGNATURE_INVALID);
}


/*
 * okx: prehash = timestamp + METHOD + path with query + body; the MACs
 * are `printf '%s' "$prehash" | openssl dgst -sha256 -hmac $S -binary |
 * base64`.
 */

#define OKX_SECRET  "22582BD0CFF14C41EDBF1AB98506286D"
#define OKX_TS      "2020-12-08T09:08:57.715Z"
#define OKX_NOW     1607418537715LL
#define OKX_GETSIG  "HiZhvSfMtWJA3uUIVXV3a/bSXNPCWvYFXoGCVS8V4zY="
#define OKX_POSTSIG "gLoEHvSwOThUNff+Hv0T7J9JHtjIwa/gKHKIkc4vvhM="
#define OKX_BODY    "{\"instId\":\"BTC-USDT\",\"tdMode\":\"cash\"," \
                    "\"side\":\"buy\",\"ordType\":\"market\",\"sz\":\"100\"}"

static void
test_okx(void)
{
    const char  *get[] = { "okKey1", OKX_GETSIG, OKX_TS, "pass", NULL };
    const char  *post[] = { "okKey1", OKX_POSTSIG, OKX_TS, "pass", NULL };
    const char  *h[5];

    CHECK_INT(okx->body, APISEC_BODY_ANY);
    CHECK(okx->passphrase);

    CHECK_INT(run2(okx, "GET", "h", "/api/v5/account/balance?ccy=BTC", NULL,
                   get, OKX_SECRET, -1, OKX_NOW),
              APISEC_E_OK);
    CHECK(canon_is(OKX_TS "GET/api/v5/account/balance?ccy=BTC"));
    CHECK_INT(auth.ts_ms, OKX_NOW);
    CHECK_INT(auth.window_ms, 30000);
    CHECK(auth.passphrase.len == 4);

    CHECK_INT(run2(okx, "POST", "h", "/api/v5/trade/order", OKX_BODY, post,
                   OKX_SECRET, -1, OKX_NOW + 30000),
              APISEC_E_OK);
    CHECK(canon_is(OKX_TS "POST/api/v5/trade/order" OKX_BODY));

    /* one byte of the body, the query, the method */
    CHECK_INT(run2(okx, "POST", "h", "/api/v5/trade/order",
                   "{\"instId\":\"BTC-USDT\",\"tdMode\":\"cash\","
                   "\"side\":\"buy\",\"ordType\":\"market\",\"sz\":\"900\"}",
                   post, OKX_SECRET, -1, OKX_NOW),
              APISEC_E_SIGNATURE_INVALID);
    CHECK_INT(run2(okx, "GET", "h", "/api/v5/account/balance?ccy=ETH", NULL,
                   get, OKX_SECRET, -1, OKX_NOW),
              APISEC_E_SIGNATURE_INVALID);
    CHECK_INT(run2(okx, "POST", "h", "/api/v5/account/balance?ccy=BTC", NULL,
                   get, OKX_SECRET, -1, OKX_NOW),
              APISEC_E_SIGNATURE_INVALID);

    /* the window: 30 s either side */
    CHECK_INT(run2(okx, "GET", "h", "/api/v5/account/balance?ccy=BTC", NULL,
                   get, OKX_SECRET, -1, OKX_NOW + 30001),
              APISEC_E_TIMESTAMP_INVALID);
    CHECK_INT(run2(okx, "GET", "h", "/api/v5/account/balance?ccy=BTC", NULL,
                   get, OKX_SECRET, -1, OKX_NOW - 30000),
              APISEC_E_OK);
    CHECK_INT(run2(okx, "GET", "h", "/api/v5/account/balance?ccy=BTC", NULL,
                   get, OKX_SECRET, -1, OKX_NOW - 30001),
              APISEC_E_TIMESTAMP_INVALID);

    /* missing and malformed headers */
    memcpy(h, get, sizeof(get));
    h[0] = "";
    CHECK_INT(run2(okx, "GET", "h", "/x", NULL, h, OKX_SECRET, -1, OKX_NOW),
              APISEC_E_KEY_MISSING);

    memcpy(h, get, sizeof(get));
    h[1] = "";
    CHECK_INT(run2(okx, "GET", "h", "/x", NULL, h, OKX_SECRET, -1, OKX_NOW),
              APISEC_E_SIGNATURE_MISSING);

    memcpy(h, get, sizeof(get));
    h[3] = "";
    CHECK_INT(run2(okx, "GET", "h", "/x", NULL, h, OKX_SECRET, -1, OKX_NOW),
              APISEC_E_SIGNATURE_MISSING);

    memcpy(h, get, sizeof(get));
    h[2] = "";
    CHECK_INT(run2(okx, "GET", "h", "/x", NULL, h, OKX_SECRET, -1, OKX_NOW),
              APISEC_E_TIMESTAMP_INVALID);

    memcpy(h, get, sizeof(get));
    h[2] = "2020-12-08T09:08:57Z";
    CHECK_INT(run2(okx, "GET", "h", "/x", NULL, h, OKX_SECRET, -1, OKX_NOW),
              APISEC_E_TIMESTAMP_INVALID);

    memcpy(h, get, sizeof(get));
    h[2] = "2020-12-08T09:08:57.7a5Z";
    CHECK_INT(run2(okx, "GET", "h", "/x", NULL, h, OKX_SECRET, -1, OKX_NOW),
              APISEC_E_TIMESTAMP_INVALID);

    memcpy(h, get, sizeof(get));
    h[2] = "1607418537715";
    CHECK_INT(run2(okx, "GET", "h", "/x", NULL, h, OKX_SECRET, -1, OKX_NOW),
              APISEC_E_TIMESTAMP_INVALID);

    memcpy(h, get, sizeof(get));
    h[1] = "HiZhvSfMtWJA3uUIVXV3a/bSXNPCWvYFXoGCVS8V4zY";
    CHECK_INT(run2(okx, "GET", "h", "/x", NULL, h, OKX_SECRET, -1, OKX_NOW),
              APISEC_E_SIGNATURE_INVALID);

    /* a query parameter twice */
    CHECK_INT(run2(okx, "GET", "h", "/api/v5/account/balance?ccy=BTC&ccy=ETH",
                   NULL, get, OKX_SECRET, -1, OKX_NOW),
              APISEC_E_REQUEST_MALFORMED);
}


int
main(void)
{
    hk = apisec_scheme_find("hashkey", 7);
    bn = apisec_scheme_find("binance", 7);
    htx = apisec_scheme_find("htx", 3);
    okx = apisec_scheme_find("okx", 3);

    if (hk == NULL || bn == NULL || htx == NULL || okx == NULL) {
        fprintf(stderr, "a scheme is missing from the table\n");
        return 2;
    }
    hmac = apisec_hmac_new();

    if (hmac == NULL) {
        fprintf(stderr, "no HMAC context\n");
        return 2;
    }

    test_errors_table();
    test_published_vectors();
    test_timestamp_window();
    test_malformed();
    test_key();
    test_binance();
    test_htx();
    test_okx();

    apisec_hmac_free(hmac);

    return UNIT_DONE();
}
