/*
 * apisec: a small JSON codec for apisecctl (see apisec_json.h).
 */

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "apisec_fields.h"
#include "apisec_json.h"


#define APISEC_JSON_NAME_SHOW    40      /* bytes of a name in a message */


typedef struct {
    const unsigned char    *p;
    const unsigned char    *start;
    const unsigned char    *end;
    apisec_json_object_t   *obj;
    char                   *err;
    size_t                  errlen;
} apisec_json_parser_t;


static int apisec_json_put(apisec_json_writer_t *w, const char *s, size_t n);
static int apisec_json_value(apisec_json_writer_t *w);
static int apisec_json_begin(apisec_json_writer_t *w, int object);
static int apisec_json_end(apisec_json_writer_t *w, int object);
static int apisec_json_escape(apisec_json_writer_t *w, const char *s,
    size_t len);
static void apisec_json_wipe(void *p, size_t n);
static int apisec_json_fail(apisec_json_parser_t *ps,
    const unsigned char *at, const char *msg, const char *arg);
static void apisec_json_skip_ws(apisec_json_parser_t *ps);
static int apisec_json_parse_string(apisec_json_parser_t *ps,
    apisec_json_str_t *out);
static int apisec_json_parse_int(apisec_json_parser_t *ps, int64_t *out);
static int apisec_json_parse_array(apisec_json_parser_t *ps,
    apisec_json_member_t *m);
static int apisec_json_parse_value(apisec_json_parser_t *ps,
    apisec_json_member_t *m);
static int apisec_json_literal(apisec_json_parser_t *ps, const char *lit);


static const char  apisec_json_hex[] = "0123456789abcdef";


/* the writer */

void
apisec_json_writer_init(apisec_json_writer_t *w, FILE *file)
{
    memset(w, 0, sizeof(apisec_json_writer_t));
    w->file = file;
}


void
apisec_json_writer_reset(apisec_json_writer_t *w)
{
    w->len = 0;
    w->error = 0;
    w->depth = 0;
    w->after_key = 0;

    if (w->data != NULL) {
        w->data[0] = '\0';
    }
}


void
apisec_json_writer_free(apisec_json_writer_t *w)
{
    if (w->data != NULL) {
        apisec_json_wipe(w->data, w->cap);
        free(w->data);
    }

    memset(w, 0, sizeof(apisec_json_writer_t));
}


static int
apisec_json_put(apisec_json_writer_t *w, const char *s, size_t n)
{
    char    *data;
    size_t   cap;

    if (w->error) {
        return -1;
    }

    if (n == 0) {
        return 0;
    }

    if (w->file != NULL) {
        if (fwrite(s, 1, n, w->file) != n) {
            w->error = -1;
            return -1;
        }

        return 0;
    }

    if (w->cap - w->len <= n) {
        cap = (w->cap == 0) ? 256 : w->cap;

        while (cap - w->len <= n) {
            if (cap > SIZE_MAX / 2) {
                w->error = -1;
                return -1;
            }

            cap *= 2;
        }

        data = malloc(cap);
        if (data == NULL) {
            w->error = -1;
            return -1;
        }

        if (w->data != NULL) {
            memcpy(data, w->data, w->len);
            apisec_json_wipe(w->data, w->cap);
            free(w->data);
        }

        w->data = data;
        w->cap = cap;
    }

    memcpy(w->data + w->len, s, n);
    w->len += n;
    w->data[w->len] = '\0';

    return 0;
}


/* the separator before a value, and a check that a value may come here */

static int
apisec_json_value(apisec_json_writer_t *w)
{
    unsigned  d;

    if (w->error) {
        return -1;
    }

    if (w->depth == 0) {
        return 0;
    }

    d = w->depth - 1;

    if (w->object[d]) {
        if (!w->after_key) {
            w->error = -1;
            return -1;
        }

        w->after_key = 0;
        return 0;
    }

    if (w->count[d]) {
        return apisec_json_put(w, ",", 1);
    }

    w->count[d] = 1;

    return 0;
}


static int
apisec_json_begin(apisec_json_writer_t *w, int object)
{
    if (apisec_json_value(w) != 0) {
        return -1;
    }

    if (w->depth == APISEC_JSON_WDEPTH_MAX) {
        w->error = -1;
        return -1;
    }

    w->object[w->depth] = (uint8_t) object;
    w->count[w->depth] = 0;
    w->depth++;

    return apisec_json_put(w, object ? "{" : "[", 1);
}


static int
apisec_json_end(apisec_json_writer_t *w, int object)
{
    if (w->error) {
        return -1;
    }

    if (w->depth == 0 || w->object[w->depth - 1] != object
        || w->after_key)
    {
        w->error = -1;
        return -1;
    }

    w->depth--;

    return apisec_json_put(w, object ? "}" : "]", 1);
}


int
apisec_json_begin_object(apisec_json_writer_t *w)
{
    return apisec_json_begin(w, 1);
}


int
apisec_json_end_object(apisec_json_writer_t *w)
{
    return apisec_json_end(w, 1);
}


int
apisec_json_begin_array(apisec_json_writer_t *w)
{
    return apisec_json_begin(w, 0);
}


int
apisec_json_end_array(apisec_json_writer_t *w)
{
    return apisec_json_end(w, 0);
}


int
apisec_json_key(apisec_json_writer_t *w, const char *name)
{
    unsigned  d;

    if (w->error) {
        return -1;
    }

    if (w->depth == 0 || !w->object[w->depth - 1] || w->after_key) {
        w->error = -1;
        return -1;
    }

    d = w->depth - 1;

    if (w->count[d]) {
        if (apisec_json_put(w, ",", 1) != 0) {
            return -1;
        }
    }

    w->count[d] = 1;

    if (apisec_json_escape(w, name, strlen(name)) != 0
        || apisec_json_put(w, ":", 1) != 0)
    {
        return -1;
    }

    w->after_key = 1;

    return 0;
}


int
apisec_json_string(apisec_json_writer_t *w, const char *s, size_t len)
{
    if (apisec_json_value(w) != 0) {
        return -1;
    }

    return apisec_json_escape(w, s, len);
}


int
apisec_json_cstring(apisec_json_writer_t *w, const char *s)
{
    return apisec_json_string(w, s, strlen(s));
}


int
apisec_json_int(apisec_json_writer_t *w, int64_t n)
{
    int   len;
    char  buf[32];

    if (apisec_json_value(w) != 0) {
        return -1;
    }

    len = snprintf(buf, sizeof(buf), "%" PRId64, n);

    return apisec_json_put(w, buf, (size_t) len);
}


int
apisec_json_bool(apisec_json_writer_t *w, int b)
{
    if (apisec_json_value(w) != 0) {
        return -1;
    }

    return b ? apisec_json_put(w, "true", 4) : apisec_json_put(w, "false", 5);
}


int
apisec_json_null(apisec_json_writer_t *w)
{
    if (apisec_json_value(w) != 0) {
        return -1;
    }

    return apisec_json_put(w, "null", 4);
}


int
apisec_json_newline(apisec_json_writer_t *w)
{
    if (w->error) {
        return -1;
    }

    if (w->depth != 0) {
        w->error = -1;
        return -1;
    }

    return apisec_json_put(w, "\n", 1);
}


static int
apisec_json_escape(apisec_json_writer_t *w, const char *s, size_t len)
{
    size_t                i, run, n;
    char                  esc[8];
    const unsigned char  *p;

    p = (const unsigned char *) s;

    if (apisec_json_put(w, "\"", 1) != 0) {
        return -1;
    }

    i = 0;

    while (i < len) {

        /* a run of bytes written as they are */

        run = i;

        while (i < len) {
            if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '"' && p[i] != '\\') {
                i++;
                continue;
            }

            if (p[i] >= 0x80) {
                n = apisec_utf8_len(p + i, len - i);
                if (n > 0) {
                    i += n;
                    continue;
                }
            }

            break;
        }

        if (apisec_json_put(w, s + run, i - run) != 0) {
            return -1;
        }

        if (i == len) {
            break;
        }

        if (p[i] == '"' || p[i] == '\\') {
            esc[0] = '\\';
            esc[1] = (char) p[i];
            n = 2;

        } else if (p[i] < 0x20 || p[i] == 0x7f) {
            esc[0] = '\\';
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = apisec_json_hex[p[i] >> 4];
            esc[5] = apisec_json_hex[p[i] & 0x0f];
            n = 6;

        } else {
            /* not valid UTF-8: the replacement character */
            memcpy(esc, "\\ufffd", 6);
            n = 6;
        }

        if (apisec_json_put(w, esc, n) != 0) {
            return -1;
        }

        i++;
    }

    return apisec_json_put(w, "\"", 1);
}


static void
apisec_json_wipe(void *p, size_t n)
{
    volatile unsigned char  *v;

    v = p;

    while (n--) {
        *v++ = 0;
    }
}


/* the reader */

void
apisec_json_object_init(apisec_json_object_t *obj)
{
    memset(obj, 0, sizeof(apisec_json_object_t));
}


void
apisec_json_object_free(apisec_json_object_t *obj)
{
    if (obj->arena != NULL) {
        apisec_json_wipe(obj->arena, obj->arena_cap);
        free(obj->arena);
    }

    memset(obj, 0, sizeof(apisec_json_object_t));
}


const char *
apisec_json_type_name(apisec_json_type_t type)
{
    switch (type) {
    case APISEC_JSON_NULL:
        return "null";
    case APISEC_JSON_BOOL:
        return "boolean";
    case APISEC_JSON_INT:
        return "integer";
    case APISEC_JSON_STRING:
        return "string";
    case APISEC_JSON_ARRAY:
        return "array";
    }

    return "value";
}


const apisec_json_member_t *
apisec_json_find(const apisec_json_object_t *obj, const char *name)
{
    size_t  i, len;

    len = strlen(name);

    for (i = 0; i < obj->n_members; i++) {
        if (obj->members[i].name.len == len
            && memcmp(obj->members[i].name.data, name, len) == 0)
        {
            return &obj->members[i];
        }
    }

    return NULL;
}


int
apisec_json_parse_object(apisec_json_object_t *obj, const char *in,
    size_t len, char *err, size_t errlen)
{
    size_t                 i, cap;
    apisec_json_str_t      name;
    apisec_json_parser_t   ps;
    apisec_json_member_t  *m;
    const unsigned char   *at;

    if (obj->arena != NULL) {
        apisec_json_wipe(obj->arena, obj->arena_len);
    }

    obj->n_members = 0;
    obj->n_items = 0;
    obj->arena_len = 0;

    ps.start = (const unsigned char *) in;
    ps.p = ps.start;
    ps.end = ps.start + len;
    ps.obj = obj;
    ps.err = err;
    ps.errlen = errlen;

    if (len > APISEC_JSON_LINE_MAX) {
        snprintf(err, errlen, "line longer than %d bytes",
                 APISEC_JSON_LINE_MAX);
        return -1;
    }

    /*
     * Decoded strings, each with its NUL, never take more bytes than the
     * input (an escape never decodes into more bytes than it is written
     * with, and each string has two quotes for its NUL), so one arena of
     * len + 1 bytes is enough and never moves during a parse.
     */

    if (obj->arena_cap < len + 1) {
        cap = (len + 1 < 256) ? 256 : len + 1;

        if (obj->arena != NULL) {
            apisec_json_wipe(obj->arena, obj->arena_cap);
            free(obj->arena);
        }

        obj->arena = malloc(cap);
        obj->arena_cap = 0;

        if (obj->arena == NULL) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }

        obj->arena_cap = cap;
    }

    apisec_json_skip_ws(&ps);

    if (ps.p == ps.end || *ps.p != '{') {
        return apisec_json_fail(&ps, ps.p, "expected '{'", NULL);
    }

    ps.p++;
    apisec_json_skip_ws(&ps);

    if (ps.p < ps.end && *ps.p == '}') {
        ps.p++;
        goto done;
    }

    for ( ;; ) {
        apisec_json_skip_ws(&ps);

        if (ps.p == ps.end || *ps.p != '"') {
            return apisec_json_fail(&ps, ps.p, "expected a member name",
                                    NULL);
        }

        at = ps.p;

        if (apisec_json_parse_string(&ps, &name) != 0) {
            return -1;
        }

        for (i = 0; i < obj->n_members; i++) {
            if (obj->members[i].name.len == name.len
                && memcmp(obj->members[i].name.data, name.data, name.len)
                   == 0)
            {
                return apisec_json_fail(&ps, at, "duplicate member",
                                        name.data);
            }
        }

        if (obj->n_members == APISEC_JSON_MEMBERS_MAX) {
            return apisec_json_fail(&ps, ps.p, "too many members", NULL);
        }

        m = &obj->members[obj->n_members];
        memset(m, 0, sizeof(apisec_json_member_t));
        m->name = name;

        apisec_json_skip_ws(&ps);

        if (ps.p == ps.end || *ps.p != ':') {
            return apisec_json_fail(&ps, ps.p,
                                    "expected ':' after a member name",
                                    NULL);
        }

        ps.p++;
        apisec_json_skip_ws(&ps);

        if (apisec_json_parse_value(&ps, m) != 0) {
            return -1;
        }

        obj->n_members++;

        apisec_json_skip_ws(&ps);

        if (ps.p < ps.end && *ps.p == ',') {
            ps.p++;
            continue;
        }

        if (ps.p < ps.end && *ps.p == '}') {
            ps.p++;
            break;
        }

        return apisec_json_fail(&ps, ps.p, "expected ',' or '}'", NULL);
    }

done:

    apisec_json_skip_ws(&ps);

    if (ps.p != ps.end) {
        return apisec_json_fail(&ps, ps.p, "unexpected data after the object",
                                NULL);
    }

    return 0;
}


static int
apisec_json_parse_value(apisec_json_parser_t *ps, apisec_json_member_t *m)
{
    unsigned char  c;

    m->offset = (size_t) (ps->p - ps->start);

    if (ps->p == ps->end) {
        return apisec_json_fail(ps, ps->p, "expected a value", NULL);
    }

    c = *ps->p;

    switch (c) {

    case '"':
        m->type = APISEC_JSON_STRING;
        return apisec_json_parse_string(ps, &m->str);

    case '[':
        m->type = APISEC_JSON_ARRAY;
        return apisec_json_parse_array(ps, m);

    case '{':
        return apisec_json_fail(ps, ps->p, "nested objects are not supported",
                                NULL);

    case 't':
        m->type = APISEC_JSON_BOOL;
        m->num = 1;
        return apisec_json_literal(ps, "true");

    case 'f':
        m->type = APISEC_JSON_BOOL;
        m->num = 0;
        return apisec_json_literal(ps, "false");

    case 'n':
        m->type = APISEC_JSON_NULL;
        return apisec_json_literal(ps, "null");

    default:
        if (c == '-' || (c >= '0' && c <= '9')) {
            m->type = APISEC_JSON_INT;
            return apisec_json_parse_int(ps, &m->num);
        }
    }

    return apisec_json_fail(ps, ps->p, "expected a value", NULL);
}


static int
apisec_json_literal(apisec_json_parser_t *ps, const char *lit)
{
    size_t  n;

    n = strlen(lit);

    if ((size_t) (ps->end - ps->p) < n || memcmp(ps->p, lit, n) != 0) {
        return apisec_json_fail(ps, ps->p, "invalid literal, expected",
                                lit);
    }

    ps->p += n;

    return 0;
}


static int
apisec_json_parse_array(apisec_json_parser_t *ps, apisec_json_member_t *m)
{
    apisec_json_object_t  *obj;

    obj = ps->obj;

    ps->p++;    /* '[' */

    m->items = &obj->items[obj->n_items];
    m->n_items = 0;

    apisec_json_skip_ws(ps);

    if (ps->p < ps->end && *ps->p == ']') {
        ps->p++;
        return 0;
    }

    for ( ;; ) {
        apisec_json_skip_ws(ps);

        if (ps->p == ps->end) {
            return apisec_json_fail(ps, ps->p, "unterminated array", NULL);
        }

        if (*ps->p == '[' || *ps->p == '{') {
            return apisec_json_fail(ps, ps->p,
                                    "nested arrays and objects are not "
                                    "supported", NULL);
        }

        if (*ps->p != '"') {
            return apisec_json_fail(ps, ps->p,
                                    "expected a string (arrays hold strings "
                                    "only)", NULL);
        }

        if (obj->n_items == APISEC_JSON_ITEMS_MAX) {
            return apisec_json_fail(ps, ps->p, "too many array items", NULL);
        }

        if (apisec_json_parse_string(ps, &obj->items[obj->n_items]) != 0) {
            return -1;
        }

        obj->n_items++;
        m->n_items++;

        apisec_json_skip_ws(ps);

        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }

        if (ps->p < ps->end && *ps->p == ']') {
            ps->p++;
            return 0;
        }

        return apisec_json_fail(ps, ps->p, "expected ',' or ']'", NULL);
    }
}


static int
apisec_json_parse_int(apisec_json_parser_t *ps, int64_t *out)
{
    int                   neg;
    uint64_t              v, limit;
    const unsigned char  *start;

    start = ps->p;
    neg = 0;

    if (*ps->p == '-') {
        neg = 1;
        ps->p++;
    }

    if (ps->p == ps->end || *ps->p < '0' || *ps->p > '9') {
        return apisec_json_fail(ps, start, "invalid number", NULL);
    }

    if (*ps->p == '0' && ps->p + 1 < ps->end
        && ps->p[1] >= '0' && ps->p[1] <= '9')
    {
        return apisec_json_fail(ps, start, "invalid number (leading zero)",
                                NULL);
    }

    limit = neg ? (uint64_t) INT64_MAX + 1 : (uint64_t) INT64_MAX;
    v = 0;

    while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
        if (v > (limit - (uint64_t) (*ps->p - '0')) / 10) {
            return apisec_json_fail(ps, start, "integer out of range", NULL);
        }

        v = v * 10 + (uint64_t) (*ps->p - '0');
        ps->p++;
    }

    if (ps->p < ps->end
        && (*ps->p == '.' || *ps->p == 'e' || *ps->p == 'E'))
    {
        return apisec_json_fail(ps, start,
                                "only integers are supported as numbers",
                                NULL);
    }

    if (neg) {
        *out = (v == (uint64_t) INT64_MAX + 1) ? INT64_MIN : -(int64_t) v;

    } else {
        *out = (int64_t) v;
    }

    return 0;
}


/*
 * ps->p is at the opening quote; on success it is past the closing one.
 * The decoder is apisec_fields.c's, the one the module uses too.
 */

static int
apisec_json_parse_string(apisec_json_parser_t *ps, apisec_json_str_t *out)
{
    char                    *start;
    size_t                   cap;
    apisec_json_unescape_t   r;

    start = ps->obj->arena + ps->obj->arena_len;
    cap = ps->obj->arena_cap - ps->obj->arena_len;

    if (apisec_json_unescape(ps->p, (size_t) (ps->end - ps->p),
                             (unsigned char *) start, cap, &r)
        != 0)
    {
        return apisec_json_fail(ps, ps->p + r.at, r.err, NULL);
    }

    /* never: a string with its NUL takes no more than its quoted text */

    if (r.len >= cap) {
        return apisec_json_fail(ps, ps->p, "string too long", NULL);
    }

    start[r.len] = '\0';

    out->data = start;
    out->len = r.len;

    ps->obj->arena_len += r.len + 1;
    ps->p += r.used;

    return 0;
}


static void
apisec_json_skip_ws(apisec_json_parser_t *ps)
{
    while (ps->p < ps->end
           && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\r'
               || *ps->p == '\n'))
    {
        ps->p++;
    }
}


/* "at byte offset N: message", and arg, shown safely, in quotes */

static int
apisec_json_fail(apisec_json_parser_t *ps, const unsigned char *at,
    const char *msg, const char *arg)
{
    char    shown[APISEC_JSON_NAME_SHOW * 4 + 8];
    size_t  off;

    off = (size_t) (at - ps->start);

    if (arg == NULL) {
        snprintf(ps->err, ps->errlen, "at byte offset %zu: %s", off, msg);
        return -1;
    }

    apisec_json_show(arg, strlen(arg), APISEC_JSON_NAME_SHOW, shown,
                     sizeof(shown));

    snprintf(ps->err, ps->errlen, "at byte offset %zu: %s \"%s\"", off, msg,
             shown);

    return -1;
}


/* printable ASCII as is, other bytes as \xNN, cut after a few bytes */

void
apisec_json_show(const char *s, size_t len, size_t show, char *out,
    size_t cap)
{
    size_t          i, o;
    unsigned char   c;

    o = 0;

    for (i = 0; i < len && i < show; i++) {
        c = (unsigned char) s[i];

        if (o + 8 >= cap) {
            break;
        }

        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
            out[o++] = (char) c;

        } else {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = apisec_json_hex[c >> 4];
            out[o++] = apisec_json_hex[c & 0x0f];
        }
    }

    if (i < len && o + 4 < cap) {
        out[o++] = '.';
        out[o++] = '.';
        out[o++] = '.';
    }

    out[o] = '\0';
}
