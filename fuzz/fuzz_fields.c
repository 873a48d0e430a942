/*
 * fuzz_fields: the fields that the amount rule and the events read from a
 * JSON body, a form body or a query (apisec_fields_json,
 * apisec_fields_form), for amount, currency and address.
 *
 * Input: a mode byte, then the data.  Mode bit 0: the body is a form
 * (else JSON); bit 1: the data is a query, '\n', then the body, both read
 * into one array (a name in both is a duplicate); bits 2-5: the size of
 * amount's buffer (1 to 16 bytes); bits 6-7 both set: address gets no
 * buffer at all.  Buffers are heap blocks of exactly their size.
 *
 * Checked: the states' invariants (a FOUND value is NUL-terminated and
 * shorter than its buffer, a TOOLONG one does not fit, nothing is left in
 * the buffer of a TOOLONG or DUPLICATE field); the same input read with
 * buffers large enough for anything gives the same answer and the same
 * values (a small buffer only turns FOUND into TOOLONG); a check without
 * fields gives the same answer; a JSON value found as a string is valid
 * UTF-8; form data against a plain reference decoder written here; a JSON
 * line that apisecctl's stricter reader accepts is accepted, with the same
 * string values.
 */

#include "fuzz.h"

#include "apisec_fields.h"
#include "apisec_json.h"


#define FUZZ_NFIELDS  3


static const char  *fuzz_names[FUZZ_NFIELDS] = {
    "amount", "currency", "address"
};


typedef struct {
    int             count;
    size_t          len;
    unsigned char  *value;      /* the first value, decoded */
} fuzz_ref_t;


static int
fuzz_hex(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c |= 0x20;

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    return -1;
}


/* decode p[0..n) as a form part into out; -1 on a bad escape */

static long
fuzz_form_part(const uint8_t *p, size_t n, unsigned char *out)
{
    int     hi, lo;
    size_t  i, o;

    for (i = 0, o = 0; i < n; i++) {
        if (p[i] == '+') {
            out[o++] = ' ';

        } else if (p[i] != '%') {
            out[o++] = p[i];

        } else {
            if (n - i < 3) {
                return -1;
            }

            hi = fuzz_hex(p[i + 1]);
            lo = fuzz_hex(p[i + 2]);

            if (hi < 0 || lo < 0) {
                return -1;
            }

            out[o++] = (unsigned char) (hi * 16 + lo);
            i += 2;
        }
    }

    return (long) o;
}


/* the reference reading of form data: -1, or ref[] filled */

static int
fuzz_form_ref(const uint8_t *d, size_t len, fuzz_ref_t *ref,
    unsigned char *name, unsigned char *value)
{
    int             k;
    long            nl, vl;
    size_t          i, e, eq;
    const uint8_t  *q;

    for (i = 0; i <= len; i = e + 1) {
        for (e = i; e < len && d[e] != '&'; e++) {
            /* void */
        }

        if (e == i) {
            continue;
        }

        q = memchr(d + i, '=', e - i);
        eq = (q != NULL) ? (size_t) (q - d) : e;

        nl = fuzz_form_part(d + i, eq - i, name);
        vl = (eq < e) ? fuzz_form_part(d + eq + 1, e - eq - 1, value) : 0;

        if (nl < 0 || vl < 0 || memchr(name, '\0', (size_t) nl) != NULL) {
            return -1;
        }

        for (k = 0; k < FUZZ_NFIELDS; k++) {
            if ((size_t) nl == strlen(fuzz_names[k])
                && memcmp(name, fuzz_names[k], (size_t) nl) == 0)
            {
                if (ref[k].count++ == 0) {
                    ref[k].len = (size_t) vl;
                    memcpy(ref[k].value, value, (size_t) vl);
                }
            }
        }
    }

    return 0;
}


static void
fuzz_setup(apisec_field_t *f, const size_t *sizes)
{
    int  k;

    memset(f, 0, sizeof(apisec_field_t) * FUZZ_NFIELDS);

    for (k = 0; k < FUZZ_NFIELDS; k++) {
        f[k].name = fuzz_names[k];
        f[k].name_len = strlen(fuzz_names[k]);
        f[k].size = sizes[k];
        f[k].buf = (sizes[k] > 0) ? malloc(sizes[k]) : NULL;

        if (sizes[k] > 0) {
            FUZZ_CHECK(f[k].buf != NULL);
            memset(f[k].buf, 'x', sizes[k]);
        }
    }
}


static void
fuzz_free(apisec_field_t *f)
{
    int  k;

    for (k = 0; k < FUZZ_NFIELDS; k++) {
        free(f[k].buf);
    }
}


static int
fuzz_read(int mode, const unsigned char *q, size_t qlen,
    const unsigned char *b, size_t blen, apisec_field_t *f, size_t n)
{
    if ((mode & 2) && apisec_fields_form(q, qlen, f, n) != 0) {
        return -1;
    }

    if (mode & 1) {
        return apisec_fields_form(b, blen, f, n);
    }

    return apisec_fields_json(b, blen, f, n);
}


static void
fuzz_invariants(int mode, const apisec_field_t *f)
{
    int                   k;
    size_t                i, n;
    const apisec_field_t  *fd;

    for (k = 0; k < FUZZ_NFIELDS; k++) {
        fd = &f[k];

        switch (fd->state) {

        case APISEC_FIELD_ABSENT:
            break;

        case APISEC_FIELD_FOUND:
            FUZZ_CHECK(fd->size > 0 && fd->len < fd->size);
            FUZZ_CHECK(fd->buf[fd->len] == '\0');
            FUZZ_CHECK(fd->type == APISEC_FIELD_STRING
                       || fd->type == APISEC_FIELD_NUMBER
                       || fd->type == APISEC_FIELD_OTHER);
            FUZZ_CHECK(fd->type != APISEC_FIELD_OTHER || fd->len == 0);

            if (mode & 1) {                 /* form data throughout */
                FUZZ_CHECK(fd->type == APISEC_FIELD_STRING);
            }

            if (fd->type == APISEC_FIELD_NUMBER) {
                FUZZ_CHECK(fd->len > 0);
                FUZZ_CHECK(fd->buf[0] == '-'
                           || (fd->buf[0] >= '0' && fd->buf[0] <= '9'));
            }

            if (mode == 0 && fd->type == APISEC_FIELD_STRING) {  /* JSON */
                for (i = 0; i < fd->len; i += n) {
                    n = apisec_utf8_len((const unsigned char *) fd->buf + i,
                                        fd->len - i);
                    FUZZ_CHECK(n > 0);
                }
            }

            break;

        case APISEC_FIELD_TOOLONG:
            FUZZ_CHECK(fd->size == 0 || fd->len > fd->size - 1);
            FUZZ_CHECK(fd->size == 0 || fd->buf[0] == '\0');
            break;

        case APISEC_FIELD_DUPLICATE:
            FUZZ_CHECK(fd->len == 0);
            FUZZ_CHECK(fd->size == 0 || fd->buf[0] == '\0');
            break;

        default:
            FUZZ_CHECK(0);
        }
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                           mode, rc, rc2, k;
    char                          err[APISEC_JSON_ERR_LEN];
    size_t                        qlen, blen, sizes[FUZZ_NFIELDS];
    size_t                        big[FUZZ_NFIELDS];
    fuzz_ref_t                    ref[FUZZ_NFIELDS];
    unsigned char                *q, *b, *name, *value;
    const uint8_t                *nl;
    apisec_field_t                f[FUZZ_NFIELDS], g[FUZZ_NFIELDS];
    const apisec_json_member_t   *m;
    static int                    init;
    static apisec_json_object_t   obj;

    if (size == 0) {
        return 0;
    }

    if (!init) {
        apisec_json_object_init(&obj);
        init = 1;
    }

    mode = data[0];
    data++;
    size--;

    qlen = 0;
    q = NULL;

    if (mode & 2) {
        nl = memchr(data, '\n', size);
        qlen = (nl != NULL) ? (size_t) (nl - data) : size;
        q = fuzz_dup(data, qlen);
        data += (nl != NULL) ? qlen + 1 : qlen;
        size -= (nl != NULL) ? qlen + 1 : qlen;
    }

    blen = size;
    b = fuzz_dup(data, blen);

    /* small buffers */

    sizes[0] = 1 + ((mode >> 2) & 15);
    sizes[1] = 8;
    sizes[2] = ((mode & 0xc0) == 0xc0) ? 0 : 24;

    fuzz_setup(f, sizes);
    rc = fuzz_read(mode & 3, q, qlen, b, blen, f, FUZZ_NFIELDS);
    FUZZ_CHECK(rc == 0 || rc == -1);

    /* a check without fields: the same answer */

    rc2 = fuzz_read(mode & 3, q, qlen, b, blen, NULL, 0);
    FUZZ_CHECK(rc2 == rc);

    /* buffers that any value fits in: the same answer, the same values */

    for (k = 0; k < FUZZ_NFIELDS; k++) {
        big[k] = qlen + blen + 1;
    }

    fuzz_setup(g, big);
    rc2 = fuzz_read(mode & 3, q, qlen, b, blen, g, FUZZ_NFIELDS);
    FUZZ_CHECK(rc2 == rc);

    if (rc == 0) {
        fuzz_invariants(mode & 3, f);
        fuzz_invariants(mode & 3, g);

        for (k = 0; k < FUZZ_NFIELDS; k++) {
            FUZZ_CHECK(g[k].state != APISEC_FIELD_TOOLONG);

            if (g[k].state != APISEC_FIELD_FOUND) {
                FUZZ_CHECK(f[k].state == g[k].state);
                continue;
            }

            FUZZ_CHECK(f[k].type == g[k].type && f[k].len == g[k].len);

            if (f[k].state == APISEC_FIELD_FOUND) {
                FUZZ_CHECK(memcmp(f[k].buf, g[k].buf, g[k].len) == 0);

            } else {
                FUZZ_CHECK(f[k].state == APISEC_FIELD_TOOLONG);
                FUZZ_CHECK(f[k].size == 0 || g[k].len > f[k].size - 1);
            }
        }
    }

    /* form data against the reference */

    if ((mode & 3) == 1) {
        name = malloc(blen + 1);
        value = malloc(blen + 1);
        FUZZ_CHECK(name != NULL && value != NULL);

        memset(ref, 0, sizeof(ref));

        for (k = 0; k < FUZZ_NFIELDS; k++) {
            ref[k].value = malloc(blen + 1);
            FUZZ_CHECK(ref[k].value != NULL);
        }

        rc2 = fuzz_form_ref(b, blen, ref, name, value);
        FUZZ_CHECK(rc2 == rc);

        for (k = 0; rc == 0 && k < FUZZ_NFIELDS; k++) {
            if (ref[k].count == 0) {
                FUZZ_CHECK(g[k].state == APISEC_FIELD_ABSENT);

            } else if (ref[k].count > 1) {
                FUZZ_CHECK(g[k].state == APISEC_FIELD_DUPLICATE);

            } else {
                FUZZ_CHECK(g[k].state == APISEC_FIELD_FOUND
                           && g[k].len == ref[k].len
                           && memcmp(g[k].buf, ref[k].value, ref[k].len)
                              == 0);
            }
        }

        for (k = 0; k < FUZZ_NFIELDS; k++) {
            free(ref[k].value);
        }

        free(name);
        free(value);
    }

    /*
     * A line that apisecctl import accepts is JSON: accepted here too.
     * (import always has a line buffer: never NULL, unlike an absent body)
     */

    if ((mode & 3) == 0
        && apisec_json_parse_object(&obj, (b != NULL) ? (const char *) b : "",
                                    blen, err, sizeof(err))
           == 0)
    {
        FUZZ_CHECK(rc == 0);

        for (k = 0; k < FUZZ_NFIELDS; k++) {
            m = apisec_json_find(&obj, fuzz_names[k]);

            if (m == NULL) {
                FUZZ_CHECK(g[k].state == APISEC_FIELD_ABSENT);
                continue;
            }

            FUZZ_CHECK(g[k].state == APISEC_FIELD_FOUND);

            switch (m->type) {
            case APISEC_JSON_STRING:
                FUZZ_CHECK(g[k].type == APISEC_FIELD_STRING
                           && g[k].len == m->str.len
                           && memcmp(g[k].buf, m->str.data, m->str.len)
                              == 0);
                break;
            case APISEC_JSON_INT:
                FUZZ_CHECK(g[k].type == APISEC_FIELD_NUMBER);
                break;
            default:
                FUZZ_CHECK(g[k].type == APISEC_FIELD_OTHER);
            }
        }
    }

    fuzz_free(f);
    fuzz_free(g);
    free(q);
    free(b);

    return 0;
}
