/*
 * apisec: named top-level fields of a request body or query string (the
 * amount rule's amount and currency, an event's address), found in one
 * pass for several names at once.  Plain C, no nginx types, no
 * allocation, no recursion.
 *
 * Also the one decoder of JSON strings (escapes, \uXXXX, surrogate
 * pairs, UTF-8 validation) and the one UTF-8 validator that the JSON
 * reader and writer of apisecctl (apisec_json.c) use too.
 *
 * Every parser takes a pointer and a length (the input need not be
 * NUL-terminated), bounds the length before it decodes anything, and
 * returns 0 on success or -1 on any malformed input.
 */

#ifndef _APISEC_FIELDS_H_INCLUDED_
#define _APISEC_FIELDS_H_INCLUDED_


#include <stddef.h>


#define APISEC_FIELD_NAME_MAX     64        /* longer names never match */
#define APISEC_FIELD_VALUE_MAX    65535     /* a value above: TOOLONG */
#define APISEC_FIELDS_DEPTH_MAX   32        /* JSON nesting, the top-level
                                               object included */
#define APISEC_FIELDS_INPUT_MAX   ((size_t) 1 << 30)     /* bytes */


/* apisec_field_t.state */
enum {
    APISEC_FIELD_ABSENT = 0,
    APISEC_FIELD_FOUND,
    APISEC_FIELD_DUPLICATE,
    APISEC_FIELD_TOOLONG
};

/* apisec_field_t.type: form and query values are STRING */
enum {
    APISEC_FIELD_STRING = 1,
    APISEC_FIELD_NUMBER,
    APISEC_FIELD_OTHER
};


typedef struct {
    const char           *name;       /* in: compared byte for byte with */
    size_t                name_len;   /*     the decoded name */
    char                 *buf;        /* in: where the decoded value goes */
    size_t                size;       /* in: of buf */
    size_t                len;        /* out: decoded value length */
    int                   state;      /* in/out: APISEC_FIELD_*; the caller
                                         zeroes it once */
    int                   type;       /* out: APISEC_FIELD_STRING... */
} apisec_field_t;


/* what apisec_json_unescape() found */
typedef struct {
    size_t                used;       /* input bytes, both quotes included */
    size_t                len;        /* decoded bytes, whether they fit in
                                         out or not */
    size_t                at;         /* on error: offset of the fault */
    const char           *err;        /* on error: what is wrong */
} apisec_json_unescape_t;


/*
 * The fields f[0..n) of data[0..len), which must be exactly one JSON
 * object (RFC 8259; white space around it, nothing else) and valid JSON
 * throughout: strings without raw control characters, with valid escapes
 * and valid UTF-8 once decoded (no lone surrogate), numbers of RFC 8259's
 * grammar, nesting at most APISEC_FIELDS_DEPTH_MAX deep.  Only the
 * object's own members count, their names compared after decoding
 * ("\u0061mount" is amount).  A found value is:
 *
 *   a string        decoded, type STRING;
 *   a number        its text as sent ("1.5e3"), type NUMBER;
 *   anything else   (true, false, null, an object, an array): the empty
 *                   string, type OTHER.
 *
 * For each field, by state before and after the call:
 *
 *   ABSENT -> FOUND       buf holds the value and a NUL, len its length
 *                         (a value may hold a NUL of its own: use len);
 *   ABSENT -> TOOLONG     the value is longer than size - 1 (or than
 *                         APISEC_FIELD_VALUE_MAX): buf holds "", len the
 *                         value's length, type its type;
 *   any    -> DUPLICATE   seen again, in this input or in an earlier call
 *                         on the same array (the query, then the body):
 *                         buf holds "", len is 0; it stays DUPLICATE.
 *
 * A size of 0 makes every value TOOLONG (there is no room for the NUL).
 * 0 when the whole input is well formed; -1 when not, and then the
 * states are meaningless.
 */
int apisec_fields_json(const unsigned char *data, size_t len,
    apisec_field_t *f, size_t n);

/*
 * The same for application/x-www-form-urlencoded data (a form body or a
 * query string): pairs separated by '&', name and value split at the
 * first '=' (a pair without one has an empty value), empty pairs
 * skipped, both percent-decoded with '+' a space.  Values are of type
 * STRING.  -1 on a malformed escape ("%zz", "%4" at the end) anywhere,
 * or a NUL byte in a decoded name.
 */
int apisec_fields_form(const unsigned char *data, size_t len,
    apisec_field_t *f, size_t n);

/*
 * The JSON string that starts with the opening quote at in[0], decoded:
 * escapes, \uXXXX into UTF-8, a surrogate pair into one character.  The
 * decoded bytes go to out[0..cap) as far as they fit (out may be NULL
 * when cap is 0: a check only); r->len is the decoded length either way,
 * r->used the bytes read.  No NUL is written.  -1, with r->err and r->at
 * set, on a raw control character, invalid UTF-8, a bad escape, a lone
 * surrogate or a missing closing quote.
 */
int apisec_json_unescape(const unsigned char *in, size_t len,
    unsigned char *out, size_t cap, apisec_json_unescape_t *r);

/*
 * The length of the valid UTF-8 sequence (RFC 3629: no overlong form, no
 * surrogate, nothing above U+10FFFF) that starts at p[0..n), n >= 1; 0
 * when there is none.
 */
size_t apisec_utf8_len(const unsigned char *p, size_t n);


#endif /* _APISEC_FIELDS_H_INCLUDED_ */
