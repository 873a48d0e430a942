/*
 * fuzz_params: query strings and form bodies as the schemes split them
 * (apisec_params_split, apisec_params_find), percent-decoding
 * (apisec_pct_decode) and the decimal integers of timestamps and windows
 * (apisec_parse_uint).
 *
 * Input: a query string; a first '\n' splits it into a query and a form
 * body, which are split into one parameter list as hashkey does.
 */

#include "fuzz.h"

#include "apisec_scheme.h"


static const char  *fuzz_names[] = {
    "signature", "timestamp", "recvWindow", "Signature", "Timestamp",
    "AccessKeyId", "SignatureMethod", "SignatureVersion", "amount", ""
};


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                    n;
    size_t                 qlen, i;
    int64_t                v;
    unsigned               k;
    apisec_err_t           e;
    apisec_auth_t         *a;
    apisec_bytes_t         q, b;
    unsigned char         *out;
    const uint8_t         *nl;
    const apisec_param_t  *p;

    a = calloc(1, sizeof(apisec_auth_t));
    FUZZ_CHECK(a != NULL);

    nl = (size > 0) ? memchr(data, '\n', size) : NULL;
    qlen = (nl != NULL) ? (size_t) (nl - data) : size;

    q.data = fuzz_dup(data, qlen);
    q.len = qlen;
    b.data = (nl != NULL) ? fuzz_dup(nl + 1, size - qlen - 1) : NULL;
    b.len = (nl != NULL) ? size - qlen - 1 : 0;

    e = apisec_params_split(q, 0, a);

    if (e == APISEC_E_OK) {
        e = apisec_params_split(b, 1, a);
    }

    FUZZ_CHECK(e == APISEC_E_OK || e == APISEC_E_REQUEST_MALFORMED);
    FUZZ_CHECK(a->nparams <= APISEC_PARAMS_MAX);

    for (k = 0; k < a->nparams; k++) {
        p = &a->params[k];

        /* the parameter lies inside its source, the value after the name */

        FUZZ_CHECK(p->start <= p->end);
        FUZZ_CHECK(p->end <= (p->in_body ? b.len : q.len));
        FUZZ_CHECK(p->name.data
                   == (p->in_body ? b.data : q.data) + p->start);
        FUZZ_CHECK(p->name.len <= p->end - p->start);
        FUZZ_CHECK(p->value.data + p->value.len
                   == (p->in_body ? b.data : q.data) + p->end);

        /* decoding never grows a value, and respects its cap */

        out = malloc(p->value.len ? p->value.len : 1);
        FUZZ_CHECK(out != NULL);

        n = apisec_pct_decode(p->value, out, p->value.len);
        FUZZ_CHECK(n >= -1 && n <= (int) p->value.len);

        if (p->value.len > 0) {
            n = apisec_pct_decode(p->value, out, p->value.len - 1);
            FUZZ_CHECK(n <= (int) p->value.len - 1);
        }

        free(out);

        if (apisec_parse_uint(p->value, 18, &v) == 0) {
            FUZZ_CHECK(v >= 0 && p->value.len > 0 && p->value.len <= 18);
        }
    }

    for (i = 0; i < sizeof(fuzz_names) / sizeof(fuzz_names[0]); i++) {
        p = apisec_params_find(a, fuzz_names[i]);

        if (p != NULL) {
            FUZZ_CHECK(p >= a->params && p < a->params + a->nparams);
        }
    }

    free((void *) q.data);
    free((void *) b.data);
    free(a);

    return 0;
}
