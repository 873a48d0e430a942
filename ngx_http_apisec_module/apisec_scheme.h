/*
 * apisec: signature schemes as entries of one table over one verification
 * core, and the error codes that every refusal uses.  Plain C, no nginx
 * types: the module fills an apisec_req_t from the request and the core
 * does the rest, so unit tests and fuzz targets drive the same code.
 *
 * A request is verified in steps that follow SPEC.md's order of checks:
 *
 *   apisec_scheme_key()     the access key (check 1, before the lookup)
 *   apisec_scheme_parse()   parameters, timestamp, signature, canonical
 *                           bytes (check 4, after status and allow-list)
 *   apisec_scheme_verify()  the timestamp window and the MAC
 */

#ifndef _APISEC_SCHEME_H_INCLUDED_
#define _APISEC_SCHEME_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include "apisec_crypto.h"


#define APISEC_HDR_MAX          4       /* headers a scheme reads */
#define APISEC_PARAMS_MAX       128     /* query and body together */
#define APISEC_PARAM_NAME_MAX   128     /* decoded parameter name */
#define APISEC_MAC_MAX          64      /* decoded signature bytes */
#define APISEC_FUTURE_MS        1000    /* timestamp < now + 1000 */

/* which request bodies a scheme signs, and so which the module reads */
#define APISEC_BODY_NONE        0       /* htx: the body is not signed */
#define APISEC_BODY_FORM        1       /* hashkey, binance: form bodies */
#define APISEC_BODY_ANY         2       /* okx: any body, as sent */


typedef enum {
    APISEC_E_OK = 0,
    APISEC_E_REQUEST_MALFORMED,
    APISEC_E_AMOUNT_INVALID,
    APISEC_E_KEY_MISSING,
    APISEC_E_KEY_UNKNOWN,
    APISEC_E_KEY_DISABLED,
    APISEC_E_KEY_EXPIRED,
    APISEC_E_KEY_LOCKED,
    APISEC_E_SIGNATURE_MISSING,
    APISEC_E_SIGNATURE_INVALID,
    APISEC_E_SIGNATURE_REPLAYED,
    APISEC_E_TIMESTAMP_INVALID,
    APISEC_E_IP_NOT_ALLOWED,
    APISEC_E_PERMISSION_DENIED,
    APISEC_E_2FA_REQUIRED,
    APISEC_E_2FA_INVALID,
    APISEC_E_2FA_NOT_ENROLLED,
    APISEC_E_RULE_BLOCKED,
    APISEC_E_RATE_LIMITED,
    APISEC_E_STORE_UNAVAILABLE,
    APISEC_E_MAX
} apisec_err_t;


typedef struct {
    int                  status;    /* HTTP status */
    const char          *code;      /* "signature-invalid" */
    const char          *msg;       /* text of the JSON body's "msg" */
} apisec_err_info_t;


typedef struct {
    const unsigned char  *data;
    size_t                len;
} apisec_bytes_t;


/* the parts of a request that a scheme reads, as sent */
typedef struct {
    apisec_bytes_t        method;
    apisec_bytes_t        host;
    apisec_bytes_t        path;      /* without the query */
    apisec_bytes_t        uri;       /* path and query, as sent */
    apisec_bytes_t        query;     /* after '?', as sent */
    apisec_bytes_t        body;      /* form body, empty when not a form */
    apisec_bytes_t        headers[APISEC_HDR_MAX];  /* scheme->headers[i] */
    unsigned              header_dup;   /* a scheme header sent twice */
} apisec_req_t;


/* one name=value parameter of a query or form body */
typedef struct {
    apisec_bytes_t        name;      /* raw */
    apisec_bytes_t        value;     /* raw */
    size_t                start;     /* offset of the name in its source */
    size_t                end;       /* offset just past the value */
    unsigned              in_body:1;
    unsigned              plain:1;   /* no '%' or '+': name is decoded */
} apisec_param_t;


/* what parsing found, and the bytes to be signed */
typedef struct {
    apisec_bytes_t        access_key;
    int64_t               ts_ms;        /* the request's timestamp */
    int64_t               window_ms;    /* accepted age of the timestamp */
    unsigned char         mac[APISEC_MAC_MAX];   /* the signature, decoded */
    size_t                mac_len;
    unsigned char        *canon;        /* caller's buffer */
    size_t                canon_len;
    size_t                canon_cap;    /* >= apisec_scheme_canon_max() */
    apisec_bytes_t        passphrase;   /* okx: OK-ACCESS-PASSPHRASE */
    const char           *detail;       /* why it failed; no secret */
    unsigned              nparams;
    apisec_param_t        params[APISEC_PARAMS_MAX];
} apisec_auth_t;


typedef struct apisec_scheme_s  apisec_scheme_t;

struct apisec_scheme_s {
    const char           *name;
    const char           *headers[APISEC_HDR_MAX];   /* NULL-terminated */
    const char           *key_param;    /* the key in the query, or NULL:
                                           then it is in headers[0] */
    unsigned              body;         /* APISEC_BODY_* */
    unsigned              passphrase;   /* a passphrase is required */
    int64_t               window_default_ms;
    int64_t               window_max_ms;
    int64_t               future_ms;    /* -1: as far ahead as behind */
    apisec_err_t        (*parse)(const apisec_scheme_t *s,
                                 const apisec_req_t *r, int64_t window_ms,
                                 apisec_auth_t *a);
    size_t              (*canon_max)(const apisec_req_t *r);
};


extern const apisec_scheme_t  apisec_schemes[];


const apisec_err_info_t *apisec_err_info(apisec_err_t e);

/* by name; NULL when unknown */
const apisec_scheme_t *apisec_scheme_find(const char *name, size_t len);

/*
 * The access key sent with the request (the scheme's first header, or
 * its key parameter in the query).
 * APISEC_E_KEY_MISSING when absent or empty; APISEC_E_KEY_UNKNOWN when it
 * cannot be a key at all (too long, bad characters: it is not looked up);
 * APISEC_E_REQUEST_MALFORMED when sent twice.
 */
apisec_err_t apisec_scheme_key(const apisec_scheme_t *s,
    const apisec_req_t *r, apisec_auth_t *a);

/* the size of the canonical-bytes buffer that parse needs */
size_t apisec_scheme_canon_max(const apisec_scheme_t *s,
    const apisec_req_t *r);

/*
 * Parameters, timestamp, signature and the canonical bytes, into a.
 * window_ms is the location's apisec_time_window, or -1 for the scheme's
 * default.  a->canon and a->canon_cap must be set by the caller.
 */
apisec_err_t apisec_scheme_parse(const apisec_scheme_t *s,
    const apisec_req_t *r, int64_t window_ms, apisec_auth_t *a);

/*
 * The timestamp window at now_ms, then HMAC-SHA256(secret, canonical
 * bytes) against the signature, in constant time.
 */
apisec_err_t apisec_scheme_verify(const apisec_scheme_t *s, apisec_auth_t *a,
    int64_t now_ms, apisec_hmac_t *h, const unsigned char *secret,
    size_t secret_len);

/*
 * The two halves of apisec_scheme_verify, for a caller that computes the
 * HMAC-SHA256 of the canonical bytes itself (nginx, with a key prepared
 * once): the timestamp window, then the MAC against the signature in
 * constant time (mac is wiped).
 */
apisec_err_t apisec_scheme_window(const apisec_scheme_t *s, apisec_auth_t *a,
    int64_t now_ms);
apisec_err_t apisec_scheme_match(apisec_auth_t *a,
    unsigned char mac[APISEC_SHA256_LEN]);

/*
 * Split a query string or form body into a->params (appending), bounding
 * the count and the decoded name length.  Exposed for tests and fuzzing.
 */
apisec_err_t apisec_params_split(apisec_bytes_t src, unsigned in_body,
    apisec_auth_t *a);

/* the first parameter whose percent-decoded name is name, or NULL */
const apisec_param_t *apisec_params_find(const apisec_auth_t *a,
    const char *name);

/* percent-decode src into out; the length, or -1 (bad escape, cap) */
int apisec_pct_decode(apisec_bytes_t src, unsigned char *out, size_t cap);

/* a decimal integer of 1..maxdigits digits, nothing else; -1 when not */
int apisec_parse_uint(apisec_bytes_t v, size_t maxdigits, int64_t *out);


#endif /* _APISEC_SCHEME_H_INCLUDED_ */
