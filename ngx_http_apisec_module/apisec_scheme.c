/*
 * apisec: signature schemes over one verification core.
 */


#include <string.h>

#include "apisec_parse.h"
#include "apisec_scheme.h"


#define apisec_lower(c)  (((c) >= 'A' && (c) <= 'Z') ? ((c) | 0x20) : (c))


static int apisec_name_next(apisec_bytes_t *n, size_t *i);
static int apisec_name_check(apisec_bytes_t n);
static unsigned apisec_name_plain(apisec_bytes_t n);
static int apisec_name_eq(apisec_bytes_t a, apisec_bytes_t b);
static int apisec_name_is(apisec_bytes_t a, const char *name);
static int apisec_param_is(const apisec_param_t *p, const char *name,
    size_t len);
static int apisec_param_same(const apisec_param_t *x,
    const apisec_param_t *y);
static apisec_err_t apisec_params_unique(apisec_auth_t *a);
static size_t apisec_copy_without(unsigned char *dst, apisec_bytes_t src,
    const apisec_param_t *cut);
static apisec_err_t apisec_hashkey_parse(const apisec_scheme_t *s,
    const apisec_req_t *r, int64_t window_ms, apisec_auth_t *a);
static size_t apisec_hashkey_canon_max(const apisec_req_t *r);
static apisec_err_t apisec_htx_parse(const apisec_scheme_t *s,
    const apisec_req_t *r, int64_t window_ms, apisec_auth_t *a);
static size_t apisec_htx_canon_max(const apisec_req_t *r);
static apisec_err_t apisec_okx_parse(const apisec_scheme_t *s,
    const apisec_req_t *r, int64_t window_ms, apisec_auth_t *a);
static size_t apisec_okx_canon_max(const apisec_req_t *r);
static int apisec_param_cmp(const apisec_param_t *x, const apisec_param_t *y);
static int apisec_base64_mac(apisec_bytes_t v, int pct, apisec_auth_t *a);
static int64_t apisec_window(const apisec_scheme_t *s, int64_t window_ms);


static const apisec_err_info_t  apisec_errors[APISEC_E_MAX] = {
    { 200, "", "" },
    { 400, "request-malformed", "The request is malformed." },
    { 400, "amount-invalid", "The amount is missing or malformed." },
    { 401, "key-missing", "The API key is missing." },
    { 401, "key-unknown", "The API key is unknown." },
    { 401, "key-disabled", "The API key is disabled." },
    { 401, "key-expired", "The API key has expired." },
    { 401, "key-locked", "The API key is locked." },
    { 401, "signature-missing", "The signature is missing." },
    { 401, "signature-invalid", "The signature is invalid." },
    { 401, "signature-replayed", "The signature was already used." },
    { 401, "timestamp-invalid",
      "The timestamp is missing, malformed or outside the window." },
    { 403, "ip-not-allowed", "The client address is not allowed for this key." },
    { 403, "permission-denied",
      "The API key lacks the permission for this endpoint." },
    { 403, "2fa-required", "A two-factor code is required." },
    { 403, "2fa-invalid", "The two-factor code is invalid." },
    { 403, "2fa-not-enrolled", "The API key is not enrolled for 2FA." },
    { 403, "rule-blocked", "The request was blocked by a risk rule." },
    { 429, "rate-limited", "Too many requests." },
    { 503, "store-unavailable", "The key store is unavailable." }
};


/*
 * The table of schemes.  A scheme is a set of headers, its windows and a
 * parse function that finds the timestamp and signature and lays out the
 * canonical bytes; the rest (key, window, MAC) is the shared core.
 */

const apisec_scheme_t  apisec_schemes[] = {

    { "hashkey",
      { "X-HK-APIKEY", NULL }, NULL,
      APISEC_BODY_FORM, 0,
      5000, 60000, APISEC_FUTURE_MS,
      apisec_hashkey_parse, apisec_hashkey_canon_max },

    { "binance",
      { "X-MBX-APIKEY", NULL }, NULL,
      APISEC_BODY_FORM, 0,
      5000, 60000, APISEC_FUTURE_MS,
      apisec_hashkey_parse, apisec_hashkey_canon_max },

    { "htx",
      { NULL }, "AccessKeyId",
      APISEC_BODY_NONE, 0,
      300000, 300000, -1,
      apisec_htx_parse, apisec_htx_canon_max },

    { "okx",
      { "OK-ACCESS-KEY", "OK-ACCESS-SIGN", "OK-ACCESS-TIMESTAMP",
        "OK-ACCESS-PASSPHRASE" }, NULL,
      APISEC_BODY_ANY, 1,
      30000, 30000, -1,
      apisec_okx_parse, apisec_okx_canon_max },

    { NULL, { NULL }, NULL, 0, 0, 0, 0, 0, NULL, NULL }
};


const apisec_err_info_t *
apisec_err_info(apisec_err_t e)
{
    if ((unsigned) e >= APISEC_E_MAX) {
        e = APISEC_E_REQUEST_MALFORMED;
    }

    return &apisec_errors[e];
}


const apisec_scheme_t *
apisec_scheme_find(const char *name, size_t len)
{
    const apisec_scheme_t  *s;

    for (s = apisec_schemes; s->name != NULL; s++) {
        if (strlen(s->name) == len && memcmp(s->name, name, len) == 0) {
            return s;
        }
    }

    return NULL;
}


apisec_err_t
apisec_scheme_key(const apisec_scheme_t *s, const apisec_req_t *r,
    apisec_auth_t *a)
{
    size_t          i, n, start;
    apisec_bytes_t  k;

    if (s->key_param != NULL) {

        /* the first "name=" parameter of the query, raw */

        n = strlen(s->key_param);
        k.data = NULL;
        k.len = 0;

        for (i = 0; i < r->query.len; i = start + 1) {
            start = i;

            while (start < r->query.len && r->query.data[start] != '&') {
                start++;
            }

            if (start - i > n && r->query.data[i + n] == '='
                && memcmp(r->query.data + i, s->key_param, n) == 0)
            {
                k.data = r->query.data + i + n + 1;
                k.len = start - i - n - 1;
                break;
            }
        }

    } else {
        if (r->header_dup & 1) {
            a->detail = "the key header is sent twice";
            return APISEC_E_REQUEST_MALFORMED;
        }

        k = r->headers[0];
    }

    if (k.data == NULL || k.len == 0) {
        a->detail = (s->key_param != NULL) ? "no key parameter"
                                            : "no key header";
        return APISEC_E_KEY_MISSING;
    }

    a->access_key = k;

    if (k.len > APISEC_KEY_MAX) {
        a->detail = "the key is too long";
        return APISEC_E_KEY_UNKNOWN;
    }

    if (!apisec_valid_access_key((const char *) k.data, k.len)) {
        a->detail = "the key has characters no key has";
        return APISEC_E_KEY_UNKNOWN;
    }

    return APISEC_E_OK;
}


size_t
apisec_scheme_canon_max(const apisec_scheme_t *s, const apisec_req_t *r)
{
    return s->canon_max(r);
}


apisec_err_t
apisec_scheme_parse(const apisec_scheme_t *s, const apisec_req_t *r,
    int64_t window_ms, apisec_auth_t *a)
{
    a->nparams = 0;
    a->canon_len = 0;
    a->mac_len = 0;

    return s->parse(s, r, window_ms, a);
}


apisec_err_t
apisec_scheme_verify(const apisec_scheme_t *s, apisec_auth_t *a,
    int64_t now_ms, apisec_hmac_t *h, const unsigned char *secret,
    size_t secret_len)
{
    apisec_err_t   rc;
    unsigned char  mac[APISEC_SHA256_LEN];

    rc = apisec_scheme_window(s, a, now_ms);
    if (rc != APISEC_E_OK) {
        return rc;
    }

    if (apisec_hmac_sha256(h, secret, secret_len, a->canon, a->canon_len, mac)
        != 0)
    {
        a->detail = "HMAC failed";
        return APISEC_E_STORE_UNAVAILABLE;
    }

    return apisec_scheme_match(a, mac);
}


apisec_err_t
apisec_scheme_window(const apisec_scheme_t *s, apisec_auth_t *a,
    int64_t now_ms)
{
    int64_t  future;

    future = (s->future_ms >= 0) ? s->future_ms : a->window_ms + 1;

    if (a->ts_ms - now_ms >= future) {
        a->detail = "the timestamp is in the future";
        return APISEC_E_TIMESTAMP_INVALID;
    }

    if (now_ms - a->ts_ms > a->window_ms) {
        a->detail = "the timestamp is older than the window";
        return APISEC_E_TIMESTAMP_INVALID;
    }

    return APISEC_E_OK;
}


apisec_err_t
apisec_scheme_match(apisec_auth_t *a, unsigned char mac[APISEC_SHA256_LEN])
{
    int  ok;

    ok = apisec_ct_equal(mac, APISEC_SHA256_LEN, a->mac, a->mac_len);

    apisec_wipe(mac, APISEC_SHA256_LEN);

    if (!ok) {
        a->detail = "the signature does not match";
        return APISEC_E_SIGNATURE_INVALID;
    }

    return APISEC_E_OK;
}


/*
 * Parameters.  Names are compared percent-decoded ('+' is a space), so
 * that "%74imestamp" is the timestamp too; values are taken as sent.
 */

apisec_err_t
apisec_params_split(apisec_bytes_t src, unsigned in_body, apisec_auth_t *a)
{
    size_t                start, end;
    apisec_param_t       *p;
    const unsigned char  *c;

    for (start = 0; start < src.len; start = end + 1) {

        c = memchr(src.data + start, '&', src.len - start);
        end = (c != NULL) ? (size_t) (c - src.data) : src.len;

        if (end == start) {
            continue;
        }

        if (a->nparams == APISEC_PARAMS_MAX) {
            a->detail = "too many parameters";
            return APISEC_E_REQUEST_MALFORMED;
        }

        p = &a->params[a->nparams++];
        p->start = start;
        p->end = end;
        p->in_body = in_body;
        p->name.data = src.data + start;

        c = memchr(src.data + start, '=', end - start);

        if (c == NULL) {
            p->name.len = end - start;
            p->value.data = src.data + end;
            p->value.len = 0;

        } else {
            p->name.len = c - p->name.data;
            p->value.data = c + 1;
            p->value.len = end - (start + p->name.len) - 1;
        }

        p->plain = apisec_name_plain(p->name);

        if ((p->plain && p->name.len > APISEC_PARAM_NAME_MAX)
            || (!p->plain && apisec_name_check(p->name) != 0))
        {
            a->detail = "a parameter name is malformed or too long";
            return APISEC_E_REQUEST_MALFORMED;
        }
    }

    return APISEC_E_OK;
}


const apisec_param_t *
apisec_params_find(const apisec_auth_t *a, const char *name)
{
    size_t    len;
    unsigned  i;

    len = strlen(name);

    for (i = 0; i < a->nparams; i++) {
        if (apisec_param_is(&a->params[i], name, len)) {
            return &a->params[i];
        }
    }

    return NULL;
}


int
apisec_parse_uint(apisec_bytes_t v, size_t maxdigits, int64_t *out)
{
    size_t    i;
    int64_t   n;
    unsigned  d;

    if (v.len == 0 || v.len > maxdigits || maxdigits > 18) {
        return -1;
    }

    n = 0;

    for (i = 0; i < v.len; i++) {
        d = (unsigned) v.data[i] - '0';

        if (d > 9) {
            return -1;
        }

        n = n * 10 + d;
    }

    *out = n;

    return 0;
}


/*
 * The next decoded character of a name: 0..255, -1 at the end, -2 for a
 * malformed escape.  *i is set to the number of bytes consumed.
 */

static int
apisec_name_next(apisec_bytes_t *n, size_t *i)
{
    int  hi, lo;

    if (n->len == 0) {
        return -1;
    }

    if (n->data[0] == '+') {
        *i = 1;
        return ' ';
    }

    if (n->data[0] != '%') {
        *i = 1;
        return n->data[0];
    }

    if (n->len < 3) {
        return -2;
    }

    hi = apisec_hex_value(n->data[1]);
    lo = apisec_hex_value(n->data[2]);

    if (hi < 0 || lo < 0) {
        return -2;
    }

    *i = 3;

    return hi * 16 + lo;
}


/* 0 when every escape is well formed and the decoded name is short */

static int
apisec_name_check(apisec_bytes_t n)
{
    int     c;
    size_t  i, len;

    for (len = 0; /* void */; len++) {
        i = 0;
        c = apisec_name_next(&n, &i);

        if (c == -1) {
            return 0;
        }

        if (c == -2 || len == APISEC_PARAM_NAME_MAX) {
            return -1;
        }

        n.data += i;
        n.len -= i;
    }
}


/* 1 when n has no escape: then its bytes are its decoded name */

static unsigned
apisec_name_plain(apisec_bytes_t n)
{
    size_t  i;

    for (i = 0; i < n.len; i++) {
        if (n.data[i] == '%' || n.data[i] == '+') {
            return 0;
        }
    }

    return 1;
}


static int
apisec_name_eq(apisec_bytes_t a, apisec_bytes_t b)
{
    int     ca, cb;
    size_t  ia, ib;

    for ( ;; ) {
        ia = 0;
        ib = 0;
        ca = apisec_name_next(&a, &ia);
        cb = apisec_name_next(&b, &ib);

        if (ca != cb) {
            return 0;
        }

        if (ca < 0) {
            return 1;
        }

        a.data += ia;
        a.len -= ia;
        b.data += ib;
        b.len -= ib;
    }
}


static int
apisec_name_is(apisec_bytes_t a, const char *name)
{
    apisec_bytes_t  b;

    b.data = (const unsigned char *) name;
    b.len = strlen(name);

    if (a.len == b.len) {
        return memcmp(a.data, b.data, b.len) == 0;
    }

    if (a.len < b.len) {
        return 0;
    }

    return apisec_name_eq(a, b);
}


/* whether p's decoded name is name (of len bytes, no escape in it) */

static int
apisec_param_is(const apisec_param_t *p, const char *name, size_t len)
{
    if (p->plain) {
        return p->name.len == len && memcmp(p->name.data, name, len) == 0;
    }

    return apisec_name_is(p->name, name);
}


/* whether x and y have the same decoded name */

static int
apisec_param_same(const apisec_param_t *x, const apisec_param_t *y)
{
    if (x->plain && y->plain) {
        return x->name.len == y->name.len
               && memcmp(x->name.data, y->name.data, x->name.len) == 0;
    }

    return apisec_name_eq(x->name, y->name);
}


/* every parameter name once, across the query and the body */

static apisec_err_t
apisec_params_unique(apisec_auth_t *a)
{
    unsigned  i, j;

    for (i = 1; i < a->nparams; i++) {
        for (j = 0; j < i; j++) {
            if (apisec_param_same(&a->params[i], &a->params[j])) {
                a->detail = apisec_name_is(a->params[i].name, "signature")
                            ? "the signature is sent twice"
                            : "a parameter is sent twice";
                return APISEC_E_REQUEST_MALFORMED;
            }
        }
    }

    return APISEC_E_OK;
}


/* src without the parameter cut and one '&' next to it */

static size_t
apisec_copy_without(unsigned char *dst, apisec_bytes_t src,
    const apisec_param_t *cut)
{
    size_t  from, to;

    if (cut == NULL) {
        if (src.len > 0) {      /* an empty query or body may be NULL */
            memcpy(dst, src.data, src.len);
        }

        return src.len;
    }

    from = cut->start;
    to = cut->end;

    if (to < src.len) {
        to++;                   /* the '&' after it */

    } else if (from > 0) {
        from--;                 /* the '&' before it */
    }

    memcpy(dst, src.data, from);
    memcpy(dst + from, src.data + to, src.len - to);

    return src.len - (to - from);
}


/*
 * hashkey (and binance): totalParams = the query string followed by the
 * form body, each without its signature parameter; timestamp in ms,
 * optional recvWindow; signature = hex HMAC-SHA256.
 *
 * apisec_time_window caps recvWindow (default 60 s); a request without
 * recvWindow gets 5 s, or the cap when that is smaller.
 */

static apisec_err_t
apisec_hashkey_parse(const apisec_scheme_t *s, const apisec_req_t *r,
    int64_t window_ms, apisec_auth_t *a)
{
    int                    n;
    int64_t                max, rw;
    apisec_err_t           rc;
    const apisec_param_t  *sig, *ts, *recv;

    rc = apisec_params_split(r->query, 0, a);
    if (rc != APISEC_E_OK) {
        return rc;
    }

    rc = apisec_params_split(r->body, 1, a);
    if (rc != APISEC_E_OK) {
        return rc;
    }

    rc = apisec_params_unique(a);
    if (rc != APISEC_E_OK) {
        return rc;
    }

    sig = apisec_params_find(a, "signature");

    if (sig == NULL) {
        a->detail = "no signature parameter";
        return APISEC_E_SIGNATURE_MISSING;
    }

    ts = apisec_params_find(a, "timestamp");

    if (ts == NULL) {
        a->detail = "no timestamp parameter";
        return APISEC_E_TIMESTAMP_INVALID;
    }

    if (apisec_parse_uint(ts->value, 16, &a->ts_ms) != 0) {
        a->detail = "the timestamp is not a number of milliseconds";
        return APISEC_E_TIMESTAMP_INVALID;
    }

    max = apisec_window(s, window_ms);

    recv = apisec_params_find(a, "recvWindow");

    if (recv == NULL) {
        a->window_ms = (s->window_default_ms < max) ? s->window_default_ms
                                                    : max;

    } else {
        if (apisec_parse_uint(recv->value, 9, &rw) != 0 || rw == 0) {
            a->detail = "recvWindow is not a positive number";
            return APISEC_E_TIMESTAMP_INVALID;
        }

        if (rw > max) {
            a->detail = "recvWindow is above the maximum";
            return APISEC_E_TIMESTAMP_INVALID;
        }

        a->window_ms = rw;
    }

    n = apisec_hex_decode((const char *) sig->value.data, sig->value.len,
                          a->mac, sizeof(a->mac));

    if (n != APISEC_SHA256_LEN) {
        a->detail = "the signature is not 64 hex digits";
        return APISEC_E_SIGNATURE_INVALID;
    }

    a->mac_len = (size_t) n;

    if (a->canon_cap < r->query.len + r->body.len) {
        a->detail = "canonical buffer too small";
        return APISEC_E_REQUEST_MALFORMED;
    }

    a->canon_len = apisec_copy_without(a->canon, r->query,
                                       sig->in_body ? NULL : sig);
    a->canon_len += apisec_copy_without(a->canon + a->canon_len, r->body,
                                        sig->in_body ? sig : NULL);

    return APISEC_E_OK;
}


static size_t
apisec_hashkey_canon_max(const apisec_req_t *r)
{
    return r->query.len + r->body.len;
}


/*
 * htx (HTX/Huobi signature version 2): AccessKeyId, SignatureMethod,
 * SignatureVersion, Timestamp and Signature in the query; Signature =
 * base64 HMAC-SHA256 over "METHOD\nhost\npath\n" and the other query
 * parameters sorted by name, joined by '&', as sent.  The host is the
 * Host header as sent, lower-cased.  The body is not signed.
 */

static apisec_err_t
apisec_htx_parse(const apisec_scheme_t *s, const apisec_req_t *r,
    int64_t window_ms, apisec_auth_t *a)
{
    int                    n;
    char                   ts[24];
    size_t                 i, j;
    unsigned char         *p;
    apisec_err_t           rc;
    const apisec_param_t  *sig, *m, *v, *t, *sorted[APISEC_PARAMS_MAX];

    rc = apisec_params_split(r->query, 0, a);
    if (rc != APISEC_E_OK) {
        return rc;
    }

    rc = apisec_params_unique(a);
    if (rc != APISEC_E_OK) {
        return rc;
    }

    sig = apisec_params_find(a, "Signature");

    if (sig == NULL) {
        a->detail = "no Signature parameter";
        return APISEC_E_SIGNATURE_MISSING;
    }

    m = apisec_params_find(a, "SignatureMethod");
    v = apisec_params_find(a, "SignatureVersion");

    if (m == NULL || m->value.len != 10
        || memcmp(m->value.data, "HmacSHA256", 10) != 0
        || v == NULL || v->value.len != 1 || v->value.data[0] != '2')
    {
        a->detail = "not SignatureMethod=HmacSHA256 and SignatureVersion=2";
        return APISEC_E_REQUEST_MALFORMED;
    }

    t = apisec_params_find(a, "Timestamp");

    if (t == NULL) {
        a->detail = "no Timestamp parameter";
        return APISEC_E_TIMESTAMP_INVALID;
    }

    /* "YYYY-MM-DDThh:mm:ss", UTC, percent-encoded */

    n = apisec_pct_decode(t->value, (unsigned char *) ts, sizeof(ts) - 2);

    if (n != 19 || ts[10] != 'T') {
        a->detail = "the Timestamp is not YYYY-MM-DDThh:mm:ss";
        return APISEC_E_TIMESTAMP_INVALID;
    }

    ts[19] = 'Z';

    if (apisec_parse_time(ts, 20, &a->ts_ms) != 0) {
        a->detail = "the Timestamp is not YYYY-MM-DDThh:mm:ss";
        return APISEC_E_TIMESTAMP_INVALID;
    }

    a->ts_ms *= 1000;
    a->window_ms = apisec_window(s, window_ms);

    if (!apisec_base64_mac(sig->value, 1, a)) {
        return APISEC_E_SIGNATURE_INVALID;
    }

    if (a->canon_cap < apisec_htx_canon_max(r)) {
        a->detail = "canonical buffer too small";
        return APISEC_E_REQUEST_MALFORMED;
    }

    /* the parameters but Signature, sorted by name (insertion sort) */

    for (i = 0, j = 0; i < a->nparams; i++) {
        if (&a->params[i] == sig) {
            continue;
        }

        n = (int) j++;

        while (n > 0 && apisec_param_cmp(sorted[n - 1], &a->params[i]) > 0) {
            sorted[n] = sorted[n - 1];
            n--;
        }

        sorted[n] = &a->params[i];
    }

    p = a->canon;
    memcpy(p, r->method.data, r->method.len);
    p += r->method.len;
    *p++ = '\n';

    for (i = 0; i < r->host.len; i++) {
        *p++ = (unsigned char) apisec_lower(r->host.data[i]);
    }

    *p++ = '\n';
    memcpy(p, r->path.data, r->path.len);
    p += r->path.len;
    *p++ = '\n';

    for (i = 0; i < j; i++) {
        if (i > 0) {
            *p++ = '&';
        }

        memcpy(p, r->query.data + sorted[i]->start,
               sorted[i]->end - sorted[i]->start);
        p += sorted[i]->end - sorted[i]->start;
    }

    a->canon_len = p - a->canon;

    return APISEC_E_OK;
}


static size_t
apisec_htx_canon_max(const apisec_req_t *r)
{
    return r->method.len + r->host.len + r->path.len + r->query.len + 3;
}


/*
 * okx (OKX v5): OK-ACCESS-KEY, OK-ACCESS-SIGN = base64 HMAC-SHA256 over
 * timestamp + METHOD + path with query as sent + body as sent,
 * OK-ACCESS-TIMESTAMP (ISO 8601, milliseconds, UTC),
 * OK-ACCESS-PASSPHRASE (checked by the caller against the key's).
 */

static apisec_err_t
apisec_okx_parse(const apisec_scheme_t *s, const apisec_req_t *r,
    int64_t window_ms, apisec_auth_t *a)
{
    char            ts[24];
    int64_t         ms;
    unsigned char  *p;
    apisec_err_t    rc;
    apisec_bytes_t  t, ms3;

    if (r->header_dup) {
        a->detail = "an OK-ACCESS header is sent twice";
        return APISEC_E_REQUEST_MALFORMED;
    }

    /* the query is signed as sent; still, no parameter twice */

    rc = apisec_params_split(r->query, 0, a);
    if (rc != APISEC_E_OK) {
        return rc;
    }

    rc = apisec_params_unique(a);
    if (rc != APISEC_E_OK) {
        return rc;
    }

    if (r->headers[1].len == 0) {
        a->detail = "no OK-ACCESS-SIGN header";
        return APISEC_E_SIGNATURE_MISSING;
    }

    if (r->headers[3].len == 0) {
        a->detail = "no OK-ACCESS-PASSPHRASE header";
        return APISEC_E_SIGNATURE_MISSING;
    }

    a->passphrase = r->headers[3];

    /* "YYYY-MM-DDThh:mm:ss.sssZ" */

    t = r->headers[2];

    if (t.len == 0) {
        a->detail = "no OK-ACCESS-TIMESTAMP header";
        return APISEC_E_TIMESTAMP_INVALID;
    }

    if (t.len != 24 || t.data[10] != 'T' || t.data[19] != '.'
        || t.data[23] != 'Z')
    {
        a->detail = "the timestamp is not YYYY-MM-DDThh:mm:ss.sssZ";
        return APISEC_E_TIMESTAMP_INVALID;
    }

    memcpy(ts, t.data, 19);
    ts[19] = 'Z';
    ms3.data = t.data + 20;
    ms3.len = 3;

    if (apisec_parse_time(ts, 20, &a->ts_ms) != 0
        || apisec_parse_uint(ms3, 3, &ms) != 0)
    {
        a->detail = "the timestamp is not YYYY-MM-DDThh:mm:ss.sssZ";
        return APISEC_E_TIMESTAMP_INVALID;
    }

    a->ts_ms = a->ts_ms * 1000 + ms;
    a->window_ms = apisec_window(s, window_ms);

    if (!apisec_base64_mac(r->headers[1], 0, a)) {
        return APISEC_E_SIGNATURE_INVALID;
    }

    if (a->canon_cap < apisec_okx_canon_max(r)) {
        a->detail = "canonical buffer too small";
        return APISEC_E_REQUEST_MALFORMED;
    }

    p = a->canon;
    memcpy(p, t.data, t.len);
    p += t.len;
    memcpy(p, r->method.data, r->method.len);
    p += r->method.len;
    memcpy(p, r->uri.data, r->uri.len);
    p += r->uri.len;

    if (r->body.len) {
        memcpy(p, r->body.data, r->body.len);
        p += r->body.len;
    }

    a->canon_len = p - a->canon;

    return APISEC_E_OK;
}


static size_t
apisec_okx_canon_max(const apisec_req_t *r)
{
    return r->headers[2].len + r->method.len + r->uri.len + r->body.len;
}


int
apisec_pct_decode(apisec_bytes_t src, unsigned char *out, size_t cap)
{
    int     hi, lo;
    size_t  i, o;

    for (i = 0, o = 0; i < src.len; i++, o++) {
        if (o == cap) {
            return -1;
        }

        if (src.data[i] != '%') {
            out[o] = src.data[i];
            continue;
        }

        if (i + 2 >= src.len) {
            return -1;
        }

        hi = apisec_hex_value(src.data[i + 1]);
        lo = apisec_hex_value(src.data[i + 2]);

        if (hi < 0 || lo < 0) {
            return -1;
        }

        out[o] = (unsigned char) (hi * 16 + lo);
        i += 2;
    }

    return (int) o;
}


/* parameters ordered by name as sent, then by position */

static int
apisec_param_cmp(const apisec_param_t *x, const apisec_param_t *y)
{
    int     rc;
    size_t  n;

    n = (x->name.len < y->name.len) ? x->name.len : y->name.len;

    rc = memcmp(x->name.data, y->name.data, n);
    if (rc != 0) {
        return rc;
    }

    return (x->name.len > y->name.len) - (x->name.len < y->name.len);
}


/* a base64 HMAC-SHA256 (percent-encoded when pct) into a->mac */

static int
apisec_base64_mac(apisec_bytes_t v, int pct, apisec_auth_t *a)
{
    int            n;
    unsigned char  buf[64];

    if (pct) {
        n = apisec_pct_decode(v, buf, sizeof(buf));
        if (n < 0) {
            a->detail = "the signature is not base64 of 32 bytes";
            return 0;
        }

        v.data = buf;
        v.len = (size_t) n;
    }

    n = apisec_base64_decode((const char *) v.data, v.len, a->mac,
                             sizeof(a->mac));

    if (n != APISEC_SHA256_LEN) {
        a->detail = "the signature is not base64 of 32 bytes";
        return 0;
    }

    a->mac_len = APISEC_SHA256_LEN;

    return 1;
}


/* the location's apisec_time_window, else the scheme's */

static int64_t
apisec_window(const apisec_scheme_t *s, int64_t window_ms)
{
    return (window_ms >= 0) ? window_ms : s->window_max_ms;
}
