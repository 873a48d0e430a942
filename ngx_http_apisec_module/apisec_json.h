/*
 * apisec: a small JSON codec for apisecctl.  Plain C, no nginx types, no
 * other library.
 *
 * The writer emits objects, arrays, strings, integers, booleans and null
 * into a growable buffer or a FILE *.  Strings are escaped: quote and
 * backslash with a backslash, control characters (and DEL) as \u00XX;
 * valid UTF-8 is passed through, and a byte that does not start a valid
 * UTF-8 sequence is written as \ufffd, so the output is always valid JSON.
 * Errors (out of memory, a write error, a call out of order) are sticky:
 * every call after the first error does nothing and returns -1.
 *
 * The reader is strict and made for one JSON object per line (apisecctl
 * import): an object whose member values are strings, null, true, false,
 * integers or arrays of strings.  Strings may use every escape, including
 * \uXXXX and surrogate pairs; a lone surrogate, invalid UTF-8, a raw
 * control character, a duplicate member name, a fraction or exponent and
 * anything after the object are refused with a one-line message that
 * gives the byte offset (counted from 0).  The nesting depth (2), the
 * line length, the number of members and of array items are bounded, and
 * any sequence of bytes is safe to parse.
 */

#ifndef _APISEC_JSON_H_INCLUDED_
#define _APISEC_JSON_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <stdio.h>


#define APISEC_JSON_WDEPTH_MAX   32      /* writer: nesting depth */

#define APISEC_JSON_LINE_MAX     65536   /* reader: bytes in one line */
#define APISEC_JSON_MEMBERS_MAX  64      /* reader: members of the object */
#define APISEC_JSON_ITEMS_MAX    256     /* reader: items of all arrays */
#define APISEC_JSON_ERR_LEN      160     /* room for a reader error */


typedef struct {
    char           *data;       /* buffer mode: output, NUL-terminated */
    size_t          len;
    size_t          cap;
    FILE           *file;       /* file mode: output goes here */
    int             error;      /* sticky: 0, or -1 after any failure */
    unsigned        depth;
    unsigned        after_key;  /* a member name waits for its value */
    uint8_t         object[APISEC_JSON_WDEPTH_MAX];  /* 1: object level */
    uint8_t         count[APISEC_JSON_WDEPTH_MAX];   /* 1: not empty */
} apisec_json_writer_t;


/* file NULL: write into w->data; else write to file */
void apisec_json_writer_init(apisec_json_writer_t *w, FILE *file);
/* buffer mode: forget the output, keep the memory; clears the state */
void apisec_json_writer_reset(apisec_json_writer_t *w);
void apisec_json_writer_free(apisec_json_writer_t *w);

int apisec_json_begin_object(apisec_json_writer_t *w);
int apisec_json_end_object(apisec_json_writer_t *w);
int apisec_json_begin_array(apisec_json_writer_t *w);
int apisec_json_end_array(apisec_json_writer_t *w);

/* a member name inside an object; the value follows */
int apisec_json_key(apisec_json_writer_t *w, const char *name);

int apisec_json_string(apisec_json_writer_t *w, const char *s, size_t len);
int apisec_json_cstring(apisec_json_writer_t *w, const char *s);
int apisec_json_int(apisec_json_writer_t *w, int64_t n);
int apisec_json_bool(apisec_json_writer_t *w, int b);
int apisec_json_null(apisec_json_writer_t *w);

/* a newline between top-level values (JSON lines) */
int apisec_json_newline(apisec_json_writer_t *w);


typedef enum {
    APISEC_JSON_NULL = 0,
    APISEC_JSON_BOOL,
    APISEC_JSON_INT,
    APISEC_JSON_STRING,
    APISEC_JSON_ARRAY
} apisec_json_type_t;


typedef struct {
    const char     *data;       /* decoded UTF-8 plus a NUL; may hold a NUL
                                   byte of its own (from \u0000) */
    size_t          len;
} apisec_json_str_t;


typedef struct {
    apisec_json_str_t    name;
    apisec_json_type_t   type;
    size_t               offset;    /* byte offset of the value */
    int64_t              num;       /* INT; BOOL: 0 or 1 */
    apisec_json_str_t    str;       /* STRING */
    apisec_json_str_t   *items;     /* ARRAY of strings */
    size_t               n_items;
} apisec_json_member_t;


/*
 * One parsed line.  Initialise once, parse any number of lines into it
 * (each parse replaces the previous one), free at the end.  The decoded
 * strings live in an arena owned by the object; it is wiped (zeroed)
 * before each parse and at free, because import lines carry secrets.
 */
typedef struct {
    size_t                n_members;
    size_t                n_items;
    char                 *arena;
    size_t                arena_len;
    size_t                arena_cap;
    apisec_json_member_t  members[APISEC_JSON_MEMBERS_MAX];
    apisec_json_str_t     items[APISEC_JSON_ITEMS_MAX];
} apisec_json_object_t;


void apisec_json_object_init(apisec_json_object_t *obj);
void apisec_json_object_free(apisec_json_object_t *obj);

/*
 * Parse in[0..len) as one JSON object (leading and trailing JSON white
 * space allowed).  0 on success; -1 with a one-line message in err
 * ("at byte offset 12: expected ':' after a member name").
 */
int apisec_json_parse_object(apisec_json_object_t *obj, const char *in,
    size_t len, char *err, size_t errlen);

/* the member called name, or NULL */
const apisec_json_member_t *apisec_json_find(const apisec_json_object_t *obj,
    const char *name);

/* "string", "array", ... for messages */
const char *apisec_json_type_name(apisec_json_type_t type);


/*
 * A value for a message: printable ASCII as is, other bytes (and quotes
 * and backslashes) as \xNN, at most show bytes of it, then "...".  out
 * must hold show * 4 + 8 bytes.
 */
void apisec_json_show(const char *s, size_t len, size_t show, char *out,
    size_t cap);


#endif /* _APISEC_JSON_H_INCLUDED_ */
