/*
 * fuzz_scheme: a request as the module hands it to a signature scheme
 * (apisec_req_t), through the three steps of the access check: the key
 * (apisec_scheme_key), parameters, timestamp, signature and canonical
 * bytes (apisec_scheme_parse, with a buffer of apisec_scheme_canon_max
 * bytes exactly) and the window and MAC (apisec_scheme_verify, with a
 * fixed secret: the seeds are signed with it, so the accepting path is
 * covered too).
 *
 * Input, as lines:
 *
 *   scheme      "hashkey", "binance", "htx" or "okx"; anything else picks
 *               a scheme by its first byte, and its second byte is
 *               header_dup (a scheme header sent twice)
 *   method
 *   host
 *   path
 *   query       the URI as sent is path, then "?" and the query when the
 *               query is not empty
 *   header 0..3 the scheme's headers, in the order of its table entry
 *   body        the rest of the input, newlines included
 *
 * Every part lives in a heap block of its own exact size; an empty query,
 * host, header or body is NULL, as nginx may leave them (an empty method,
 * path or URI is not: nginx always has those).
 * FUZZ_VERBOSE=1 in the environment prints what each input came to:
 *
 *   FUZZ_VERBOSE=1 build/fuzz/fuzz_scheme fuzz/corpus/fuzz_scheme/...
 */

#include "fuzz.h"

#include "apisec_parse.h"
#include "apisec_scheme.h"


#define FUZZ_SECRET  "fuzz-secret-3q2W8xZ7kP5vN1mB6tR9yU4e"


static void fuzz_one(const apisec_scheme_t *s, const apisec_req_t *r,
    int64_t window_ms, apisec_hmac_t *h);


/* FUZZ_VERBOSE=1: what each input came to (to check the seeds) */
static int  verbose;


/* nonnull: nginx always has the bytes (method, path), even if empty */

static apisec_bytes_t
fuzz_bytes(const uint8_t *p, size_t n, int nonnull)
{
    apisec_bytes_t  b;

    b.data = nonnull ? fuzz_dup0(p, n) : fuzz_dup(p, n);
    b.len = n;

    return b;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t                  n, nschemes, i, ulen;
    unsigned char          *uri;
    apisec_req_t            req;
    const uint8_t          *line;
    const apisec_scheme_t  *s;
    static apisec_hmac_t   *h;

    if (h == NULL) {
        h = apisec_hmac_new();
        FUZZ_CHECK(h != NULL);
        verbose = (getenv("FUZZ_VERBOSE") != NULL);
    }

    for (nschemes = 0; apisec_schemes[nschemes].name != NULL; nschemes++) {
        /* void */
    }

    memset(&req, 0, sizeof(apisec_req_t));

    n = fuzz_line(&data, &size, &line);
    s = apisec_scheme_find((const char *) line, n);

    if (s == NULL) {
        s = &apisec_schemes[(n > 0 ? line[0] : 0) % nschemes];
        req.header_dup = (n > 1) ? line[1] & 0x0f : 0;
    }

    n = fuzz_line(&data, &size, &line);
    req.method = fuzz_bytes(line, n, 1);
    n = fuzz_line(&data, &size, &line);
    req.host = fuzz_bytes(line, n, 0);
    n = fuzz_line(&data, &size, &line);
    req.path = fuzz_bytes(line, n, 1);
    n = fuzz_line(&data, &size, &line);
    req.query = fuzz_bytes(line, n, 0);

    for (i = 0; i < APISEC_HDR_MAX; i++) {
        n = fuzz_line(&data, &size, &line);
        req.headers[i] = fuzz_bytes(line, n, 0);
    }

    req.body = fuzz_bytes(data, size, 0);

    ulen = req.path.len + (req.query.len ? 1 + req.query.len : 0);
    uri = malloc(ulen);
    FUZZ_CHECK(uri != NULL);

    if (ulen > 0) {
        if (req.path.len) {
            memcpy(uri, req.path.data, req.path.len);
        }

        if (req.query.len) {
            uri[req.path.len] = '?';
            memcpy(uri + req.path.len + 1, req.query.data, req.query.len);
        }
    }

    req.uri.data = uri;
    req.uri.len = ulen;

    /* the scheme's default window, and a location's shorter one */

    fuzz_one(s, &req, -1, h);
    fuzz_one(s, &req, 1000, h);

    free((void *) req.method.data);
    free((void *) req.host.data);
    free((void *) req.path.data);
    free((void *) req.query.data);
    free((void *) req.body.data);
    free(uri);

    for (i = 0; i < APISEC_HDR_MAX; i++) {
        free((void *) req.headers[i].data);
    }

    return 0;
}


static void
fuzz_one(const apisec_scheme_t *s, const apisec_req_t *r, int64_t window_ms,
    apisec_hmac_t *h)
{
    size_t                    cap;
    apisec_err_t              e;
    unsigned char            *canon;
    apisec_auth_t            *a;
    const apisec_err_info_t  *info;

    a = calloc(1, sizeof(apisec_auth_t));
    FUZZ_CHECK(a != NULL);

    e = apisec_scheme_key(s, r, a);
    FUZZ_CHECK(e == APISEC_E_OK || e == APISEC_E_KEY_MISSING
               || e == APISEC_E_KEY_UNKNOWN
               || e == APISEC_E_REQUEST_MALFORMED);

    if (e == APISEC_E_OK) {
        FUZZ_CHECK(a->access_key.len > 0
                   && a->access_key.len <= APISEC_KEY_MAX);
    }

    /* parse runs whatever the key gave: it must be safe on its own */

    cap = apisec_scheme_canon_max(s, r);
    canon = malloc(cap ? cap : 1);
    FUZZ_CHECK(canon != NULL);

    a->canon = canon;
    a->canon_cap = cap;

    e = apisec_scheme_parse(s, r, window_ms, a);

    if (verbose && window_ms < 0) {
        fprintf(stderr, "%s: parse: %s%s%s", s->name,
                e ? apisec_err_info(e)->code : "ok",
                a->detail ? ", " : "", a->detail ? a->detail : "");
    }

    info = apisec_err_info(e);
    FUZZ_CHECK(info != NULL && info->code != NULL && info->status >= 200
               && info->status < 600);

    if (e == APISEC_E_OK) {
        FUZZ_CHECK(a->canon_len <= cap);
        FUZZ_CHECK(a->mac_len == APISEC_SHA256_LEN);
        FUZZ_CHECK(a->nparams <= APISEC_PARAMS_MAX);
        FUZZ_CHECK(a->window_ms >= 0);

        /* at the request's own time: only the MAC decides */

        e = apisec_scheme_verify(s, a, a->ts_ms, h,
                                 (const unsigned char *) FUZZ_SECRET,
                                 sizeof(FUZZ_SECRET) - 1);
        FUZZ_CHECK(e == APISEC_E_OK || e == APISEC_E_SIGNATURE_INVALID);

        if (verbose && window_ms < 0) {
            fprintf(stderr, "; verify: %s", e ? apisec_err_info(e)->code
                                              : "ok (signature accepted)");
        }

        /* past the window: refused before the MAC */

        e = apisec_scheme_verify(s, a, a->ts_ms + a->window_ms + 1, h,
                                 (const unsigned char *) FUZZ_SECRET,
                                 sizeof(FUZZ_SECRET) - 1);
        FUZZ_CHECK(e == APISEC_E_TIMESTAMP_INVALID);
    }

    if (verbose && window_ms < 0) {
        fprintf(stderr, "\n");
    }

    free(canon);
    free(a);
}
