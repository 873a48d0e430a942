/*
 * apisec: named top-level fields of JSON and form data, and the JSON
 * string decoder (see apisec_fields.h).
 *
 * JSON is read in one pass by a loop over the top-level members; a nested
 * object or array is checked and skipped by a second loop that keeps one
 * bit per open container, so the depth is bounded and nothing recurses.
 * Form data is scanned once per pair: every escape is checked there, so
 * the decoding that follows (apisec_pct_decode, between the '+' signs)
 * cannot fail.
 */


#include <stdint.h>
#include <string.h>

#include "apisec_parse.h"
#include "apisec_scheme.h"
#include "apisec_fields.h"


#define apisec_is_digit(c)    ((c) >= '0' && (c) <= '9')
#define apisec_json_ws(c)                                                   \
    ((c) == ' ' || (c) == '\t' || (c) == '\n' || (c) == '\r')

#define APISEC_FIELDS_NONE    ((size_t) -1)


typedef struct {
    const unsigned char  *p;
    const unsigned char  *end;
} apisec_fields_parser_t;


static int apisec_json_hex4(const unsigned char *p, unsigned *cp);
static int apisec_json_unescape_fail(apisec_json_unescape_t *r,
    const unsigned char *in, const unsigned char *at, const char *err);
static void apisec_fields_ws(apisec_fields_parser_t *ps);
static int apisec_fields_key(apisec_fields_parser_t *ps, apisec_field_t *f,
    size_t n, apisec_field_t **fd);
static int apisec_fields_number(apisec_fields_parser_t *ps);
static int apisec_fields_literal(apisec_fields_parser_t *ps);
static int apisec_fields_scalar(apisec_fields_parser_t *ps);
static int apisec_fields_nested(apisec_fields_parser_t *ps);
static apisec_field_t *apisec_fields_match(apisec_field_t *f, size_t n,
    const unsigned char *name, size_t len);
static size_t apisec_field_cap(const apisec_field_t *fd);
static void apisec_field_set(apisec_field_t *fd, int type, size_t len,
    const unsigned char *copy);
static int apisec_form_decode(const unsigned char *p, size_t len,
    unsigned char *out);


/* JSON strings */

int
apisec_json_unescape(const unsigned char *in, size_t len, unsigned char *out,
    size_t cap, apisec_json_unescape_t *r)
{
    size_t                n, k, o;
    unsigned              cp, lo;
    unsigned char         c, u[4];
    const unsigned char  *p, *end, *esc;

    r->used = 0;
    r->len = 0;
    r->at = 0;
    r->err = NULL;

    if (in == NULL || len == 0 || in[0] != '"') {
        r->err = "expected a string";
        return -1;
    }

    p = in + 1;
    end = in + len;
    o = 0;

    for ( ;; ) {
        if (p == end) {
            return apisec_json_unescape_fail(r, in, p,
                                             "unterminated string");
        }

        c = *p;

        if (c == '"') {
            p++;
            break;
        }

        if (c < 0x20) {
            return apisec_json_unescape_fail(r, in, p,
                                             "control character in a string "
                                             "(use an escape)");
        }

        if (c != '\\') {

            /* a run of bytes as they are, one UTF-8 sequence at a time */

            n = 1;

            if (c >= 0x80) {
                n = apisec_utf8_len(p, (size_t) (end - p));
                if (n == 0) {
                    return apisec_json_unescape_fail(r, in, p,
                                                     "invalid UTF-8");
                }
            }

            for (k = 0; k < n; k++, o++) {
                if (o < cap) {
                    out[o] = p[k];
                }
            }

            p += n;
            continue;
        }

        esc = p;
        p++;

        if (p == end) {
            return apisec_json_unescape_fail(r, in, esc,
                                             "unterminated string");
        }

        n = 1;

        switch (*p) {
        case '"':
        case '\\':
        case '/':
            u[0] = *p;
            break;
        case 'b':
            u[0] = '\b';
            break;
        case 'f':
            u[0] = '\f';
            break;
        case 'n':
            u[0] = '\n';
            break;
        case 'r':
            u[0] = '\r';
            break;
        case 't':
            u[0] = '\t';
            break;
        case 'u':
            n = 0;
            break;
        default:
            return apisec_json_unescape_fail(r, in, esc, "invalid escape");
        }

        p++;

        if (n == 0) {

            /* \uXXXX, and \uXXXX again for a high surrogate */

            if (end - p < 4) {
                return apisec_json_unescape_fail(r, in, p,
                                                 "truncated \\u escape");
            }

            if (apisec_json_hex4(p, &cp) != 0) {
                return apisec_json_unescape_fail(r, in, p,
                                                 "invalid \\u escape");
            }

            p += 4;

            if (cp >= 0xdc00 && cp <= 0xdfff) {
                return apisec_json_unescape_fail(r, in, esc,
                                                 "lone low surrogate");
            }

            if (cp >= 0xd800 && cp <= 0xdbff) {
                if (end - p < 6 || p[0] != '\\' || p[1] != 'u') {
                    return apisec_json_unescape_fail(r, in, esc,
                                                     "lone high surrogate");
                }

                if (apisec_json_hex4(p + 2, &lo) != 0) {
                    return apisec_json_unescape_fail(r, in, p + 2,
                                                     "invalid \\u escape");
                }

                if (lo < 0xdc00 || lo > 0xdfff) {
                    return apisec_json_unescape_fail(r, in, esc,
                                                     "lone high surrogate");
                }

                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                p += 6;
            }

            if (cp < 0x80) {
                u[0] = (unsigned char) cp;
                n = 1;

            } else if (cp < 0x800) {
                u[0] = (unsigned char) (0xc0 | (cp >> 6));
                u[1] = (unsigned char) (0x80 | (cp & 0x3f));
                n = 2;

            } else if (cp < 0x10000) {
                u[0] = (unsigned char) (0xe0 | (cp >> 12));
                u[1] = (unsigned char) (0x80 | ((cp >> 6) & 0x3f));
                u[2] = (unsigned char) (0x80 | (cp & 0x3f));
                n = 3;

            } else {
                u[0] = (unsigned char) (0xf0 | (cp >> 18));
                u[1] = (unsigned char) (0x80 | ((cp >> 12) & 0x3f));
                u[2] = (unsigned char) (0x80 | ((cp >> 6) & 0x3f));
                u[3] = (unsigned char) (0x80 | (cp & 0x3f));
                n = 4;
            }
        }

        for (k = 0; k < n; k++, o++) {
            if (o < cap) {
                out[o] = u[k];
            }
        }
    }

    r->used = (size_t) (p - in);
    r->len = o;

    return 0;
}


static int
apisec_json_unescape_fail(apisec_json_unescape_t *r, const unsigned char *in,
    const unsigned char *at, const char *err)
{
    r->at = (size_t) (at - in);
    r->err = err;

    return -1;
}


/* four hex digits of either case (p has four bytes) */

static int
apisec_json_hex4(const unsigned char *p, unsigned *cp)
{
    int       d, i;
    unsigned  v;

    v = 0;

    for (i = 0; i < 4; i++) {
        d = apisec_hex_value(p[i]);
        if (d < 0) {
            return -1;
        }

        v = v * 16 + (unsigned) d;
    }

    *cp = v;

    return 0;
}


size_t
apisec_utf8_len(const unsigned char *p, size_t n)
{
    size_t         need, i;
    unsigned char  c, lo, hi;

    c = p[0];

    if (c < 0x80) {
        return 1;
    }

    lo = 0x80;
    hi = 0xbf;

    if (c >= 0xc2 && c <= 0xdf) {
        need = 2;

    } else if (c >= 0xe0 && c <= 0xef) {
        need = 3;

        if (c == 0xe0) {
            lo = 0xa0;                  /* no overlong form */

        } else if (c == 0xed) {
            hi = 0x9f;                  /* no UTF-16 surrogate */
        }

    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 4;

        if (c == 0xf0) {
            lo = 0x90;                  /* no overlong form */

        } else if (c == 0xf4) {
            hi = 0x8f;                  /* nothing above U+10FFFF */
        }

    } else {
        return 0;
    }

    if (n < need || p[1] < lo || p[1] > hi) {
        return 0;
    }

    for (i = 2; i < need; i++) {
        if (p[i] < 0x80 || p[i] > 0xbf) {
            return 0;
        }
    }

    return need;
}


/* JSON fields */

int
apisec_fields_json(const unsigned char *data, size_t len, apisec_field_t *f,
    size_t n)
{
    size_t                   cap;
    apisec_field_t          *fd;
    unsigned char            c;
    const unsigned char     *start;
    apisec_fields_parser_t   ps;
    apisec_json_unescape_t   r;

    if (data == NULL || len == 0 || len > APISEC_FIELDS_INPUT_MAX
        || (f == NULL && n != 0))
    {
        return -1;
    }

    ps.p = data;
    ps.end = data + len;

    apisec_fields_ws(&ps);

    if (ps.p == ps.end || *ps.p != '{') {
        return -1;
    }

    ps.p++;
    apisec_fields_ws(&ps);

    if (ps.p < ps.end && *ps.p == '}') {
        ps.p++;
        goto done;
    }

    for ( ;; ) {
        if (apisec_fields_key(&ps, f, n, &fd) != 0) {
            return -1;
        }

        if (ps.p == ps.end) {
            return -1;
        }

        c = *ps.p;
        start = ps.p;

        if (c == '"') {

            /* decoded into the field's buffer the first time only */

            cap = (fd != NULL && fd->state == APISEC_FIELD_ABSENT)
                  ? apisec_field_cap(fd) : 0;

            if (apisec_json_unescape(ps.p, (size_t) (ps.end - ps.p),
                                     cap ? (unsigned char *) fd->buf : NULL,
                                     cap, &r)
                != 0)
            {
                return -1;
            }

            ps.p += r.used;

            if (fd != NULL) {
                apisec_field_set(fd, APISEC_FIELD_STRING, r.len, NULL);
            }

        } else if (c == '-' || apisec_is_digit(c)) {
            if (apisec_fields_number(&ps) != 0) {
                return -1;
            }

            if (fd != NULL) {
                apisec_field_set(fd, APISEC_FIELD_NUMBER,
                                 (size_t) (ps.p - start), start);
            }

        } else {
            if (c == '{' || c == '[') {
                if (apisec_fields_nested(&ps) != 0) {
                    return -1;
                }

            } else if (apisec_fields_literal(&ps) != 0) {
                return -1;
            }

            if (fd != NULL) {
                apisec_field_set(fd, APISEC_FIELD_OTHER, 0, NULL);
            }
        }

        apisec_fields_ws(&ps);

        if (ps.p < ps.end && *ps.p == ',') {
            ps.p++;
            apisec_fields_ws(&ps);
            continue;
        }

        if (ps.p < ps.end && *ps.p == '}') {
            ps.p++;
            break;
        }

        return -1;
    }

done:

    apisec_fields_ws(&ps);

    return (ps.p == ps.end) ? 0 : -1;
}


static void
apisec_fields_ws(apisec_fields_parser_t *ps)
{
    while (ps->p < ps->end && apisec_json_ws(*ps->p)) {
        ps->p++;
    }
}


/*
 * A member name, then ':' and white space.  *fd: the field it names, or
 * NULL; a nested name (f NULL) is checked only.
 */

static int
apisec_fields_key(apisec_fields_parser_t *ps, apisec_field_t *f, size_t n,
    apisec_field_t **fd)
{
    unsigned char            name[APISEC_FIELD_NAME_MAX];
    apisec_json_unescape_t   r;

    if (ps->p == ps->end || *ps->p != '"') {
        return -1;
    }

    if (apisec_json_unescape(ps->p, (size_t) (ps->end - ps->p),
                             (f != NULL) ? name : NULL,
                             (f != NULL) ? sizeof(name) : 0, &r)
        != 0)
    {
        return -1;
    }

    ps->p += r.used;

    if (fd != NULL) {
        *fd = (f != NULL && r.len <= sizeof(name))
              ? apisec_fields_match(f, n, name, r.len) : NULL;
    }

    apisec_fields_ws(ps);

    if (ps->p == ps->end || *ps->p != ':') {
        return -1;
    }

    ps->p++;
    apisec_fields_ws(ps);

    return 0;
}


/* RFC 8259: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */

static int
apisec_fields_number(apisec_fields_parser_t *ps)
{
    const unsigned char  *p, *end, *d;

    p = ps->p;
    end = ps->end;

    if (*p == '-') {
        p++;
    }

    if (p == end || !apisec_is_digit(*p)) {
        return -1;
    }

    if (*p == '0') {
        p++;

    } else {
        while (p < end && apisec_is_digit(*p)) {
            p++;
        }
    }

    if (p < end && *p == '.') {
        d = ++p;

        while (p < end && apisec_is_digit(*p)) {
            p++;
        }

        if (p == d) {
            return -1;
        }
    }

    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;

        if (p < end && (*p == '+' || *p == '-')) {
            p++;
        }

        d = p;

        while (p < end && apisec_is_digit(*p)) {
            p++;
        }

        if (p == d) {
            return -1;
        }
    }

    ps->p = p;

    return 0;
}


static int
apisec_fields_literal(apisec_fields_parser_t *ps)
{
    size_t       i, n, left;
    const char  *lit;

    static const char  *literals[] = { "true", "false", "null" };

    left = (size_t) (ps->end - ps->p);

    for (i = 0; i < sizeof(literals) / sizeof(literals[0]); i++) {
        lit = literals[i];
        n = strlen(lit);

        if (left >= n && memcmp(ps->p, lit, n) == 0) {
            ps->p += n;
            return 0;
        }
    }

    return -1;
}


/* a string, number or literal, checked and skipped */

static int
apisec_fields_scalar(apisec_fields_parser_t *ps)
{
    apisec_json_unescape_t  r;

    if (ps->p == ps->end) {
        return -1;
    }

    if (*ps->p == '"') {
        if (apisec_json_unescape(ps->p, (size_t) (ps->end - ps->p), NULL, 0,
                                 &r)
            != 0)
        {
            return -1;
        }

        ps->p += r.used;
        return 0;
    }

    if (*ps->p == '-' || apisec_is_digit(*ps->p)) {
        return apisec_fields_number(ps);
    }

    return apisec_fields_literal(ps);
}


/*
 * An object or array inside the top-level object (ps->p at its '{' or
 * '['), checked and skipped.  Bit d of arrays tells whether the
 * container at depth d + 1 is an array; the top-level object is depth 1.
 */

static int
apisec_fields_nested(apisec_fields_parser_t *ps)
{
    unsigned       depth;
    uint32_t       arrays, bit;
    unsigned char  c;

    depth = 1;
    arrays = 0;

    for ( ;; ) {

        /* a value */

        if (ps->p == ps->end) {
            return -1;
        }

        c = *ps->p;

        if (c == '{' || c == '[') {
            if (depth == APISEC_FIELDS_DEPTH_MAX) {
                return -1;
            }

            bit = (uint32_t) 1 << depth;
            arrays = (c == '[') ? (arrays | bit) : (arrays & ~bit);
            depth++;

            ps->p++;
            apisec_fields_ws(ps);

            if (ps->p == ps->end) {
                return -1;
            }

            if (*ps->p != (c == '[' ? ']' : '}')) {
                if (c == '{' && apisec_fields_key(ps, NULL, 0, NULL) != 0) {
                    return -1;
                }

                continue;       /* its first value */
            }

            ps->p++;            /* empty */
            depth--;

        } else if (apisec_fields_scalar(ps) != 0) {
            return -1;
        }

        /* after a value: the next one, or the ends of containers */

        for ( ;; ) {
            if (depth == 1) {
                return 0;
            }

            bit = (uint32_t) 1 << (depth - 1);

            apisec_fields_ws(ps);

            if (ps->p == ps->end) {
                return -1;
            }

            if (*ps->p == ',') {
                ps->p++;
                apisec_fields_ws(ps);

                if (!(arrays & bit)
                    && apisec_fields_key(ps, NULL, 0, NULL) != 0)
                {
                    return -1;
                }

                break;
            }

            if (*ps->p != ((arrays & bit) ? ']' : '}')) {
                return -1;
            }

            ps->p++;
            depth--;
        }
    }
}


static apisec_field_t *
apisec_fields_match(apisec_field_t *f, size_t n, const unsigned char *name,
    size_t len)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (f[i].name_len == len
            && (len == 0 || memcmp(f[i].name, name, len) == 0))
        {
            return &f[i];
        }
    }

    return NULL;
}


/* the longest value that fits in the field's buffer with its NUL */

static size_t
apisec_field_cap(const apisec_field_t *fd)
{
    if (fd->size == 0) {
        return 0;
    }

    return (fd->size - 1 < APISEC_FIELD_VALUE_MAX) ? fd->size - 1
                                                   : APISEC_FIELD_VALUE_MAX;
}


/*
 * The field's name was seen with a value of len bytes: FOUND (the value
 * copied from copy, or already in buf when copy is NULL), TOOLONG, or
 * DUPLICATE when it was seen before.
 */

static void
apisec_field_set(apisec_field_t *fd, int type, size_t len,
    const unsigned char *copy)
{
    if (fd->state != APISEC_FIELD_ABSENT) {
        fd->state = APISEC_FIELD_DUPLICATE;
        fd->len = 0;

        if (fd->size > 0) {
            fd->buf[0] = '\0';
        }

        return;
    }

    fd->type = type;
    fd->len = len;

    if (fd->size == 0 || len > apisec_field_cap(fd)) {
        fd->state = APISEC_FIELD_TOOLONG;

        if (fd->size > 0) {
            fd->buf[0] = '\0';
        }

        return;
    }

    if (copy != NULL && len > 0) {
        memcpy(fd->buf, copy, len);
    }

    fd->buf[len] = '\0';
    fd->state = APISEC_FIELD_FOUND;
}


/* form fields */

int
apisec_fields_form(const unsigned char *data, size_t len, apisec_field_t *f,
    size_t n)
{
    int              hi, lo;
    size_t           i, start, end, eq, nesc, vesc, nlen, vlen;
    unsigned char    name[APISEC_FIELD_NAME_MAX];
    apisec_field_t  *fd;

    if ((data == NULL && len != 0) || len > APISEC_FIELDS_INPUT_MAX
        || (f == NULL && n != 0))
    {
        return -1;
    }

    i = 0;

    while (i < len) {
        start = i;
        eq = APISEC_FIELDS_NONE;
        nesc = 0;
        vesc = 0;

        /* the pair: its '=', and every escape checked and counted */

        for ( /* void */ ; i < len && data[i] != '&'; i++) {

            if (data[i] == '=') {
                if (eq == APISEC_FIELDS_NONE) {
                    eq = i;
                }

                continue;
            }

            if (data[i] != '%') {
                if (data[i] == '\0' && eq == APISEC_FIELDS_NONE) {
                    return -1;          /* a NUL in a name */
                }

                continue;
            }

            if (len - i < 3) {
                return -1;
            }

            hi = apisec_hex_value(data[i + 1]);
            lo = apisec_hex_value(data[i + 2]);

            if (hi < 0 || lo < 0) {
                return -1;
            }

            if (eq == APISEC_FIELDS_NONE) {
                if (hi == 0 && lo == 0) {
                    return -1;          /* a NUL in a name */
                }

                nesc++;

            } else {
                vesc++;
            }

            i += 2;
        }

        end = i++;

        if (end == start) {
            continue;
        }

        /* decoded lengths: each escape is three bytes for one */

        nlen = ((eq == APISEC_FIELDS_NONE) ? end : eq) - start - 2 * nesc;
        vlen = (eq == APISEC_FIELDS_NONE) ? 0 : end - eq - 1 - 2 * vesc;

        if (nlen > sizeof(name)) {
            continue;
        }

        if (apisec_form_decode(data + start, nlen + 2 * nesc, name) < 0) {
            return -1;
        }

        fd = apisec_fields_match(f, n, name, nlen);

        if (fd == NULL) {
            continue;
        }

        if (fd->state == APISEC_FIELD_ABSENT && vlen > 0
            && vlen <= apisec_field_cap(fd))
        {
            if (apisec_form_decode(data + eq + 1, end - eq - 1,
                                   (unsigned char *) fd->buf)
                < 0)
            {
                return -1;
            }
        }

        apisec_field_set(fd, APISEC_FIELD_STRING, vlen, NULL);
    }

    return 0;
}


/*
 * Percent-decoding with '+' a space: apisec_pct_decode between the '+'
 * signs (a '+' is never part of a well-formed escape).  The escapes were
 * checked, and out has room for the decoded length.  The length, or -1.
 */

static int
apisec_form_decode(const unsigned char *p, size_t len, unsigned char *out)
{
    int                   rc;
    size_t                o, k;
    apisec_bytes_t        run;
    const unsigned char  *plus;

    o = 0;

    for ( ;; ) {
        plus = (len > 0) ? memchr(p, '+', len) : NULL;
        k = (plus != NULL) ? (size_t) (plus - p) : len;

        run.data = p;
        run.len = k;

        rc = apisec_pct_decode(run, out + o, k);
        if (rc < 0) {
            return -1;
        }

        o += (size_t) rc;

        if (plus == NULL) {
            return (int) o;
        }

        out[o++] = ' ';
        p += k + 1;
        len -= k + 1;
    }
}
