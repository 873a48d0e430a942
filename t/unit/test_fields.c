/*
 * Unit tests of apisec_fields.c: top-level fields of JSON objects and of
 * form data (values, types, escaped names, duplicates within an input and
 * across a query and a body, too-long values, nested values skipped,
 * the depth limit, every kind of malformed input), and the JSON string
 * decoder and UTF-8 validator that apisec_json.c shares.
 */


#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "apisec_fields.h"


#define S(s)  (s), (sizeof(s) - 1)

#define AMOUNT    (&fields[0])
#define CURRENCY  (&fields[1])
#define ADDRESS   (&fields[2])
#define NFIELDS   3


static apisec_field_t  fields[NFIELDS];
static char            amount_buf[40];
static char            currency_buf[8];     /* seven bytes and the NUL */
static char            address_buf[64];


static void reset(void);
static int json(const char *s);
static int json_n(const char *s, size_t len);
static int form(const char *s);
static int form_n(const char *s, size_t len);
static int found(const apisec_field_t *f, int type, const char *v, size_t len);
static int found_s(const apisec_field_t *f, int type, const char *v);
static int state(const apisec_field_t *f);
static char *nest(const char *open, const char *close, int depth,
    const char *tail);
static void test_json_found(void);
static void test_json_keys(void);
static void test_json_duplicates(void);
static void test_json_nested(void);
static void test_json_depth(void);
static void test_json_syntax(void);
static void test_json_numbers(void);
static void test_json_strings(void);
static void test_json_toolong(void);
static void test_form(void);
static void test_form_duplicates(void);
static void test_form_bad(void);
static void test_form_toolong(void);
static void test_unescape(void);
static void test_utf8(void);


static void
reset(void)
{
    memset(fields, 0, sizeof(fields));
    memset(amount_buf, 'x', sizeof(amount_buf));
    memset(currency_buf, 'x', sizeof(currency_buf));
    memset(address_buf, 'x', sizeof(address_buf));

    AMOUNT->name = "amount";
    AMOUNT->name_len = 6;
    AMOUNT->buf = amount_buf;
    AMOUNT->size = sizeof(amount_buf);

    CURRENCY->name = "currency";
    CURRENCY->name_len = 8;
    CURRENCY->buf = currency_buf;
    CURRENCY->size = sizeof(currency_buf);

    ADDRESS->name = "address";
    ADDRESS->name_len = 7;
    ADDRESS->buf = address_buf;
    ADDRESS->size = sizeof(address_buf);
}


/* a fresh array, then one input */

static int
json(const char *s)
{
    reset();
    return apisec_fields_json((const unsigned char *) s, strlen(s), fields,
                              NFIELDS);
}


static int
json_n(const char *s, size_t len)
{
    reset();
    return apisec_fields_json((const unsigned char *) s, len, fields,
                              NFIELDS);
}


static int
form(const char *s)
{
    reset();
    return apisec_fields_form((const unsigned char *) s, strlen(s), fields,
                              NFIELDS);
}


static int
form_n(const char *s, size_t len)
{
    reset();
    return apisec_fields_form((const unsigned char *) s, len, fields,
                              NFIELDS);
}


/* FOUND with this type and value, NUL-terminated in its buffer */

static int
found(const apisec_field_t *f, int type, const char *v, size_t len)
{
    return f->state == APISEC_FIELD_FOUND && f->type == type
           && f->len == len && len < f->size && memcmp(f->buf, v, len) == 0
           && f->buf[len] == '\0';
}


static int
found_s(const apisec_field_t *f, int type, const char *v)
{
    return found(f, type, v, strlen(v));
}


static int
state(const apisec_field_t *f)
{
    if (f->state == APISEC_FIELD_DUPLICATE
        || f->state == APISEC_FIELD_TOOLONG)
    {
        /* the buffer holds no value, never a truncated one */
        if (f->buf[0] != '\0') {
            return -1;
        }
    }

    return f->state;
}


/* {"a": open x depth, tail, close x depth } in a static buffer */

static char *
nest(const char *open, const char *close, int depth, const char *tail)
{
    int          i;
    char        *p;
    static char  buf[4096];

    p = buf;
    p += sprintf(p, "{\"a\":");

    for (i = 0; i < depth; i++) {
        p += sprintf(p, "%s", open);
    }

    p += sprintf(p, "%s", tail);

    for (i = 0; i < depth; i++) {
        p += sprintf(p, "%s", close);
    }

    sprintf(p, ",\"amount\":\"7\"}");

    return buf;
}


static void
test_json_found(void)
{
    CHECK(json("{\"amount\":\"12.5\",\"currency\":\"USD\"}") == 0);
    CHECK(found_s(AMOUNT, APISEC_FIELD_STRING, "12.5"));
    CHECK(found_s(CURRENCY, APISEC_FIELD_STRING, "USD"));
    CHECK(state(ADDRESS) == APISEC_FIELD_ABSENT);

    CHECK(json("{\"amount\":12.5}") == 0);
    CHECK(found_s(AMOUNT, APISEC_FIELD_NUMBER, "12.5"));
    CHECK(state(CURRENCY) == APISEC_FIELD_ABSENT);

    /* a number's text as sent */
    CHECK(json("{\"amount\":-1.50E+03}") == 0);
    CHECK(found_s(AMOUNT, APISEC_FIELD_NUMBER, "-1.50E+03"));
    CHECK(json("{\"amount\":0}") == 0);
    CHECK(found_s(AMOUNT, APISEC_FIELD_NUMBER, "0"));
    CHECK(json("{\"amount\" : 100 }") == 0);
    CHECK(found_s(AMOUNT, APISEC_FIELD_NUMBER, "100"));

    /* anything else: OTHER, empty */
    CHECK(json("{\"amount\":true}") == 0);
    CHECK(found_s(AMOUNT, APISEC_FIELD_OTHER, ""));
    CHECK(json("{\"amount\":false}") == 0);
    CHECK(found_s(AMOUNT, APISEC_FIELD_OTHER, ""));
    CHECK(json("{\"amount\":null}") == 0);
    CHECK(found_s(AMOUNT, APISEC_FIELD_OTHER, ""));
    CHECK(json("{\"amount\":{\"value\":\"1\"}}") == 0);
    CHECK(found_s(AMOUNT, APISEC_FIELD_OTHER, ""));
    CHECK(json("{\"amount\":[\"1\"]}") == 0);
    CHECK(found_s(AMOUNT, APISEC_FIELD_OTHER, ""));
    CHECK(json("{\"amount\":{}}") == 0);
    CHECK(found_s(AMOUNT, APISEC_FIELD_OTHER, ""));

    /* an empty string is a value */
    CHECK(json("{\"amount\":\"\"}") == 0);
    CHECK(found_s(AMOUNT, APISEC_FIELD_STRING, ""));

    /* all three, among others, any order, white space everywhere */
    CHECK(json(" \t\r\n{ \"x\" : 1 , \"address\" :\"0xabc\",\n"
               "\"currency\":\"BTC\" ,\"y\":[1,{\"z\":null}],"
               "\"amount\":\"0.001\"\n}\r\n ") == 0);
    CHECK(found_s(AMOUNT, APISEC_FIELD_STRING, "0.001"));
    CHECK(found_s(CURRENCY, APISEC_FIELD_STRING, "BTC"));
    CHECK(found_s(ADDRESS, APISEC_FIELD_STRING, "0xabc"));

    /* no field at all */
    CHECK(json("{}") == 0);
    CHECK(state(AMOUNT) == APISEC_FIELD_ABSENT);
    CHECK(json("{\"other\":\"1\"}") == 0);
    CHECK(state(AMOUNT) == APISEC_FIELD_ABSENT);

    /* decoded values */
    CHECK(json("{\"currency\":\"\\u0055SD\"}") == 0);
    CHECK(found_s(CURRENCY, APISEC_FIELD_STRING, "USD"));
    CHECK(json("{\"address\":\"caf\\u00e9 \\ud83d\\ude00 \\u20AC\"}") == 0);
    CHECK(found_s(ADDRESS, APISEC_FIELD_STRING,
                  "caf\xc3\xa9 \xf0\x9f\x98\x80 \xe2\x82\xac"));
    CHECK(json("{\"address\":\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"}") == 0);
    CHECK(found_s(ADDRESS, APISEC_FIELD_STRING, "a\"b\\c/d\b\f\n\r\t"));
    CHECK(json("{\"address\":\"caf\xc3\xa9\"}") == 0);
    CHECK(found_s(ADDRESS, APISEC_FIELD_STRING, "caf\xc3\xa9"));
    CHECK(json("{\"address\":\"del\x7f\"}") == 0);
    CHECK(found_s(ADDRESS, APISEC_FIELD_STRING, "del\x7f"));

    /* a NUL of its own: the length says so */
    CHECK(json("{\"amount\":\"1\\u00002\"}") == 0);
    CHECK(found(AMOUNT, APISEC_FIELD_STRING, "1\0" "2", 3));

    /* only len bytes count */
    CHECK(json_n("{\"amount\":\"1\"}garbage", 14) == 0);
    CHECK(found_s(AMOUNT, APISEC_FIELD_STRING, "1"));
    CHECK(json_n("{\"amount\":\"1\"}", 13) == -1);

    /* no fields: a check only */
    CHECK(apisec_fields_json((const unsigned char *) S("{\"amount\":1}"),
                             NULL, 0) == 0);
    CHECK(apisec_fields_json((const unsigned char *) S("{\"amount\":1"),
                             NULL, 0) == -1);
    CHECK(apisec_fields_json((const unsigned char *) S("{}"), NULL, 1) == -1);
    CHECK(apisec_fields_json(NULL, 0, fields, NFIELDS) == -1);
    CHECK(apisec_fields_json(NULL, 2, fields, NFIELDS) == -1);
}


static void
test_json_keys(void)
{
    /* names compared after decoding: an upstream parser sees the same */
    CHECK(json("{\"\\u0061mount\":\"1\"}") == 0);
    CHECK(found_s(AMOUNT, APISEC_FIELD_STRING, "1"));
    CHECK(json("{\"am\\u006Funt\":\"1\"}") == 0);
    CHECK(found_s(AMOUNT, APISEC_FIELD_STRING, "1"));
    CHECK(json("{\"\\u0063\\u0075\\u0072\\u0072\\u0065\\u006e\\u0063\\u0079\""
               ":\"EUR\"}") == 0);
    CHECK(found_s(CURRENCY, APISEC_FIELD_STRING, "EUR"));

    /* byte for byte: not another name */
    CHECK(json("{\"Amount\":\"1\",\"AMOUNT\":\"2\",\"amount \":\"3\","
               "\" amount\":\"4\",\"amoun\":\"5\",\"amountt\":\"6\","
               "\"amount\\u0000\":\"7\",\"a\\/mount\":\"8\"}") == 0);
    CHECK(state(AMOUNT) == APISEC_FIELD_ABSENT);

    /* a long name matches nothing and is still checked */
    CHECK(json("{\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
               "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\":1,\"amount\":2}")
          == 0);
    CHECK(found_s(AMOUNT, APISEC_FIELD_NUMBER, "2"));
    CHECK(json("{\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
               "aaaaaaaaaaaaaaaaaaaaaaa\\ud800\":1}") == -1);

    /* a name as escaped as can be, the same name */
    CHECK(json("{\"amount\":\"1\",\"\\u0061\\u006d\\u006f\\u0075\\u006e"
               "\\u0074\":\"2\"}") == 0);
    CHECK(state(AMOUNT) == APISEC_FIELD_DUPLICATE);

    /* names must be strings */
    CHECK(json("{amount:1}") == -1);
    CHECK(json("{'amount':1}") == -1);
    CHECK(json("{1:1}") == -1);
    CHECK(json("{null:1}") == -1);
}


static void
test_json_duplicates(void)
{
    CHECK(json("{\"amount\":\"1\",\"amount\":\"2\"}") == 0);
    CHECK(state(AMOUNT) == APISEC_FIELD_DUPLICATE);
    CHECK(AMOUNT->len == 0);

    CHECK(json("{\"amount\":\"1\",\"amount\":\"2\",\"amount\":\"3\"}") == 0);
    CHECK(state(AMOUNT) == APISEC_FIELD_DUPLICATE);

    /* whatever the types */
    CHECK(json("{\"amount\":1,\"amount\":null}") == 0);
    CHECK(state(AMOUNT) == APISEC_FIELD_DUPLICATE);
    CHECK(json("{\"amount\":{},\"x\":1,\"amount\":\"5\"}") == 0);
    CHECK(state(AMOUNT) == APISEC_FIELD_DUPLICATE);

    /* a too-long value seen again: duplicate */
    CHECK(json("{\"currency\":\"TOOLONGCODE\",\"currency\":\"X\"}") == 0);
    CHECK(state(CURRENCY) == APISEC_FIELD_DUPLICATE);
    CHECK(json("{\"currency\":\"X\",\"currency\":\"TOOLONGCODE\"}") == 0);
    CHECK(state(CURRENCY) == APISEC_FIELD_DUPLICATE);

    /* a duplicate of one field leaves the others alone */
    CHECK(json("{\"amount\":1,\"currency\":\"USD\",\"amount\":2}") == 0);
    CHECK(state(AMOUNT) == APISEC_FIELD_DUPLICATE);
    CHECK(found_s(CURRENCY, APISEC_FIELD_STRING, "USD"));

    /* nested names are not the top-level field */
    CHECK(json("{\"amount\":\"1\",\"x\":{\"amount\":\"2\"}}") == 0);
    CHECK(found_s(AMOUNT, APISEC_FIELD_STRING, "1"));
    CHECK(json("{\"x\":{\"amount\":\"2\"},\"amount\":\"1\"}") == 0);
    CHECK(found_s(AMOUNT, APISEC_FIELD_STRING, "1"));
    CHECK(json("{\"x\":{\"amount\":\"2\",\"amount\":\"3\"}}") == 0);
    CHECK(state(AMOUNT) == APISEC_FIELD_ABSENT);
    CHECK(json("{\"x\":[{\"amount\":1}],\"amount\":\"5\"}") == 0);
    CHECK(found_s(AMOUNT, APISEC_FIELD_STRING, "5"));
    CHECK(json("{\"amount\":{\"amount\":{\"amount\":1}}}") == 0);
    CHECK(found_s(AMOUNT, APISEC_FIELD_OTHER, ""));

    /* a string value that looks like a name is a value */
    CHECK(json("{\"x\":\"amount\",\"y\":[\"amount\"]}") == 0);
    CHECK(state(AMOUNT) == APISEC_FIELD_ABSENT);

    /* the state stays DUPLICATE across calls */
    CHECK(json("{\"amount\":1,\"amount\":2}") == 0);
    CHECK(apisec_fields_json((const unsigned char *) S("{}"), fields,
                             NFIELDS) == 0);
    CHECK(state(AMOUNT) == APISEC_FIELD_DUPLICATE);
    CHECK(apisec_fields_json((const unsigned char *) S("{\"amount\":3}"),
                             fields, NFIELDS) == 0);
    CHECK(state(AMOUNT) == APISEC_FIELD_DUPLICATE);

    /* the same array over two inputs: a second sighting is a duplicate */
    CHECK(json("{\"amount\":\"1\"}") == 0);
    CHECK(apisec_fields_json((const unsigned char *) S("{\"amount\":\"1\"}"),
                             fields, NFIELDS) == 0);
    CHECK(state(AMOUNT) == APISEC_FIELD_DUPLICATE);
}


static void
test_json_nested(void)
{
    CHECK(json("{\"a\":{},\"b\":[],\"c\":[[]],\"d\":{\"e\":{}},"
               "\"amount\":\"1\"}") == 0);
    CHECK(found_s(AMOUNT, APISEC_FIELD_STRING, "1"));

    CHECK(json("{\"a\":[1,-2.5e3,\"s\",true,false,null,{\"k\":[{}]},[]],"
               "\"b\":{\"x\":{\"y\":{\"z\":[1,[2,[3]]]}},\"w\":\"\\u00e9\"},"
               "\"amount\":2}") == 0);
    CHECK(found_s(AMOUNT, APISEC_FIELD_NUMBER, "2"));

    CHECK(json("{ \"a\" : [ 1 , { \"b\" : [ ] } , [ ] ] , \"amount\" : 3 }")
          == 0);
    CHECK(found_s(AMOUNT, APISEC_FIELD_NUMBER, "3"));

    /* nested values are checked too */
    CHECK(json("{\"a\":[1,]}") == -1);
    CHECK(json("{\"a\":[,1]}") == -1);
    CHECK(json("{\"a\":[1 2]}") == -1);
    CHECK(json("{\"a\":{\"b\"}}") == -1);
    CHECK(json("{\"a\":{\"b\":}}") == -1);
    CHECK(json("{\"a\":{\"b\":1,}}") == -1);
    CHECK(json("{\"a\":{,}}") == -1);
    CHECK(json("{\"a\":{1:2}}") == -1);
    CHECK(json("{\"a\":[1}") == -1);
    CHECK(json("{\"a\":{]}") == -1);
    CHECK(json("{\"a\":{\"b\":1]}") == -1);
    CHECK(json("{\"a\":[}") == -1);
    CHECK(json("{\"a\":[[]}") == -1);
    CHECK(json("{\"a\":[") == -1);
    CHECK(json("{\"a\":[1") == -1);
    CHECK(json("{\"a\":[1,") == -1);
    CHECK(json("{\"a\":{\"b\"") == -1);
    CHECK(json("{\"a\":{\"b\":") == -1);
    CHECK(json("{\"a\":[\"\\ud800\"]}") == -1);
    CHECK(json("{\"a\":{\"\\ud800\":1}}") == -1);
    CHECK(json("{\"a\":[\"x\ny\"]}") == -1);
    CHECK(json("{\"a\":[\"\xff\"]}") == -1);
    CHECK(json("{\"a\":[01]}") == -1);
    CHECK(json("{\"a\":[tru]}") == -1);
    CHECK(json("{\"a\":[True]}") == -1);
    CHECK(json("{\"a\":[undefined]}") == -1);
}


static void
test_json_depth(void)
{
    int    i;
    char  *s, *p;

    /* 32 levels, the top-level object included: fine */
    CHECK(json(nest("[", "]", 31, "")) == 0);
    CHECK(found_s(AMOUNT, APISEC_FIELD_STRING, "7"));
    CHECK(json(nest("[", "]", 31, "1")) == 0);
    CHECK(json(nest("{\"k\":", "}", 30, "{}")) == 0);
    CHECK(found_s(AMOUNT, APISEC_FIELD_STRING, "7"));
    CHECK(json(nest("[{\"k\":", "}]", 15, "[]")) == 0);

    /* 33: refused */
    CHECK(json(nest("[", "]", 32, "")) == -1);
    CHECK(json(nest("[", "]", 32, "1")) == -1);
    CHECK(json(nest("{\"k\":", "}", 31, "{}")) == -1);
    CHECK(json(nest("[{\"k\":", "}]", 16, "1")) == -1);

    /* far deeper, and unclosed: refused at the limit, not later */
    CHECK(json(nest("[", "]", 500, "")) == -1);

    s = malloc(100000);
    CHECK(s != NULL);

    if (s != NULL) {
        memcpy(s, "{\"a\":", 5);
        memset(s + 5, '[', 100000 - 5);
        CHECK(apisec_fields_json((const unsigned char *) s, 100000, fields,
                                 NFIELDS) == -1);
        free(s);
    }

    /* the depth goes down again: many containers one after the other */
    s = malloc(5 * 10000 + 64);
    CHECK(s != NULL);

    if (s != NULL) {
        p = s;
        p += sprintf(p, "{\"a\":[");

        for (i = 0; i < 10000; i++) {
            p += sprintf(p, "%s[[]]", i ? "," : "");
        }

        sprintf(p, "],\"amount\":1}");

        CHECK(json(s) == 0);
        CHECK(found_s(AMOUNT, APISEC_FIELD_NUMBER, "1"));
        free(s);
    }
}


static void
test_json_syntax(void)
{
    CHECK(json("{}") == 0);
    CHECK(json(" {}") == 0);
    CHECK(json("{} ") == 0);
    CHECK(json("\t\r\n{\t\r\n}\t\r\n") == 0);

    /* exactly one object */
    CHECK(json("") == -1);
    CHECK(json(" ") == -1);
    CHECK(json("[]") == -1);
    CHECK(json("[{\"amount\":1}]") == -1);
    CHECK(json("\"amount\"") == -1);
    CHECK(json("1") == -1);
    CHECK(json("null") == -1);
    CHECK(json("{}{}") == -1);
    CHECK(json("{} {}") == -1);
    CHECK(json("{}[]") == -1);

    /* trailing garbage */
    CHECK(json("{\"amount\":\"1\"}x") == -1);
    CHECK(json("{\"amount\":\"1\"},") == -1);
    CHECK(json("{\"amount\":\"1\"}}") == -1);
    CHECK(json("{\"amount\":\"1\"} 1") == -1);
    CHECK(json_n("{\"amount\":\"1\"}\0", 15) == -1);
    CHECK(json("{\"amount\":\"1\"}\f") == -1);
    CHECK(json("{\"amount\":\"1\"}\v") == -1);
    CHECK(json("{\"amount\":\"1\"}\xc2\xa0") == -1);

    /* leading garbage */
    CHECK(json("\xef\xbb\xbf{}") == -1);                    /* a BOM */
    CHECK(json_n("\0{}", 3) == -1);
    CHECK(json("x{}") == -1);
    CHECK(json("\f{}") == -1);

    /* unterminated */
    CHECK(json("{") == -1);
    CHECK(json("{\"amount\"") == -1);
    CHECK(json("{\"amount\":") == -1);
    CHECK(json("{\"amount\":\"1\"") == -1);
    CHECK(json("{\"amount\":\"1\",") == -1);
    CHECK(json("{\"amount\":\"1") == -1);
    CHECK(json("{\"amount") == -1);

    /* punctuation */
    CHECK(json("{,}") == -1);
    CHECK(json("{\"a\":1,}") == -1);
    CHECK(json("{\"a\":1,,\"b\":2}") == -1);
    CHECK(json("{\"a\" 1}") == -1);
    CHECK(json("{\"a\"::1}") == -1);
    CHECK(json("{\"a\":1 \"b\":2}") == -1);
    CHECK(json("{\"a\":1;\"b\":2}") == -1);
    CHECK(json("{\"a\"=1}") == -1);
    CHECK(json("{\"a\"}") == -1);
    CHECK(json("{\"a\":}") == -1);
    CHECK(json("{:1}") == -1);
    CHECK(json("{\"a\":1]") == -1);

    /* raw control characters outside strings are not white space */
    CHECK(json("{\"a\":1\x01}") == -1);
    CHECK(json_n("{\"a\":\0" "1}", 7) == -1);

    /* literals */
    CHECK(json("{\"a\":true,\"b\":false,\"c\":null}") == 0);
    CHECK(json("{\"a\":tru}") == -1);
    CHECK(json("{\"a\":truee}") == -1);
    CHECK(json("{\"a\":True}") == -1);
    CHECK(json("{\"a\":NULL}") == -1);
    CHECK(json("{\"a\":nul}") == -1);
    CHECK(json("{\"a\":f}") == -1);
    CHECK(json("{\"a\":undefined}") == -1);
    CHECK(json("{\"a\":t") == -1);
}


static void
test_json_numbers(void)
{
    int  i;

    static const char  *good[] = {
        "0", "-0", "1", "-1", "10", "1.5", "-1.5", "0.5", "0.000",
        "1e5", "1E5", "1e+5", "1e-5", "1E-05", "-0.0e0", "1.5e10",
        "123456789012345678901234567890", "12345678901234567890123456789.0"
    };

    static const char  *bad[] = {
        "01", "-01", "00", "-", "+1", ".5", "-.5", "1.", "1.e5", "1e",
        "1e+", "1e-", "1E", "0x10", "0X1", "NaN", "Infinity", "-Infinity",
        "--1", "1.5.5", "1e5e5", "1e5.5", "- 1", "1 5", "\xd9\xa1"
    };

    char  text[128];

    for (i = 0; i < (int) (sizeof(good) / sizeof(good[0])); i++) {
        snprintf(text, sizeof(text), "{\"amount\":%s}", good[i]);
        CHECK(json(text) == 0);
        CHECK(found_s(AMOUNT, APISEC_FIELD_NUMBER, good[i]));

        snprintf(text, sizeof(text), "{\"x\":[%s],\"amount\":%s}", good[i],
                 good[i]);
        CHECK(json(text) == 0);
    }

    for (i = 0; i < (int) (sizeof(bad) / sizeof(bad[0])); i++) {
        snprintf(text, sizeof(text), "{\"amount\":%s}", bad[i]);
        CHECK(json(text) == -1);

        snprintf(text, sizeof(text), "{\"x\":[%s]}", bad[i]);
        CHECK(json(text) == -1);

        snprintf(text, sizeof(text), "{\"x\":%s}", bad[i]);
        CHECK(json(text) == -1);
    }
}


static void
test_json_strings(void)
{
    /* invalid escapes */
    CHECK(json("{\"a\":\"\\x41\"}") == -1);
    CHECK(json("{\"a\":\"\\'\"}") == -1);
    CHECK(json("{\"a\":\"\\U0041\"}") == -1);
    CHECK(json("{\"a\":\"\\0\"}") == -1);
    CHECK(json("{\"a\":\"\\a\"}") == -1);
    CHECK(json("{\"a\":\"\\u00g1\"}") == -1);
    CHECK(json("{\"a\":\"\\u-001\"}") == -1);
    CHECK(json("{\"a\":\"\\u 001\"}") == -1);
    CHECK(json("{\"a\":\"\\u12\"}") == -1);
    CHECK(json("{\"a\":\"\\u12") == -1);
    CHECK(json("{\"a\":\"\\u") == -1);
    CHECK(json("{\"a\":\"\\") == -1);
    CHECK(json("{\"a\":\"\\\"}") == -1);
    CHECK(json("{\"a\\q\":1}") == -1);
    CHECK(json("{\"amount\":\"\\q\"}") == -1);

    /* surrogates: a pair is one character, a lone one is refused */
    CHECK(json("{\"address\":\"\\ud83d\\ude00\"}") == 0);
    CHECK(found_s(ADDRESS, APISEC_FIELD_STRING, "\xf0\x9f\x98\x80"));
    CHECK(json("{\"address\":\"\\uD800\\uDC00\\uDBFF\\uDFFF\"}") == 0);
    CHECK(found_s(ADDRESS, APISEC_FIELD_STRING,
                  "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf"));
    CHECK(json("{\"a\":\"\\ud800\"}") == -1);
    CHECK(json("{\"a\":\"\\udbff\"}") == -1);
    CHECK(json("{\"a\":\"\\udc00\"}") == -1);
    CHECK(json("{\"a\":\"\\udfff\"}") == -1);
    CHECK(json("{\"a\":\"\\ude00\\ud83d\"}") == -1);
    CHECK(json("{\"a\":\"\\ud800x\"}") == -1);
    CHECK(json("{\"a\":\"\\ud800\\u0041\"}") == -1);
    CHECK(json("{\"a\":\"\\ud800\\ud800\"}") == -1);
    CHECK(json("{\"a\":\"\\ud800\\n\"}") == -1);
    CHECK(json("{\"a\":\"\\ud800\\udc0\"}") == -1);
    CHECK(json("{\"a\":\"\\ud800\\udc0g\"}") == -1);
    CHECK(json("{\"a\":\"\\ud800\\") == -1);
    CHECK(json("{\"\\udc00mount\":1}") == -1);
    CHECK(json("{\"amount\":\"\\ud800\"}") == -1);

    /* raw control characters */
    CHECK(json("{\"a\":\"x\ny\"}") == -1);
    CHECK(json("{\"a\":\"x\ty\"}") == -1);
    CHECK(json("{\"a\":\"x\ry\"}") == -1);
    CHECK(json("{\"a\":\"\x01\"}") == -1);
    CHECK(json("{\"a\":\"\x1f\"}") == -1);
    CHECK(json_n("{\"a\":\"\0\"}", 9) == -1);
    CHECK(json("{\"a\nb\":1}") == -1);
    CHECK(json("{\"amount\":\"1\n\"}") == -1);

    /* invalid UTF-8 */
    CHECK(json("{\"a\":\"\xff\"}") == -1);
    CHECK(json("{\"a\":\"\xfe\"}") == -1);
    CHECK(json("{\"a\":\"\x80\"}") == -1);
    CHECK(json("{\"a\":\"\xbf\"}") == -1);
    CHECK(json("{\"a\":\"\xc0\xaf\"}") == -1);            /* overlong '/' */
    CHECK(json("{\"a\":\"\xc1\xbf\"}") == -1);
    CHECK(json("{\"a\":\"\xe0\x80\xaf\"}") == -1);
    CHECK(json("{\"a\":\"\xf0\x80\x80\xaf\"}") == -1);
    CHECK(json("{\"a\":\"\xed\xa0\x80\"}") == -1);        /* U+D800 */
    CHECK(json("{\"a\":\"\xed\xbf\xbf\"}") == -1);        /* U+DFFF */
    CHECK(json("{\"a\":\"\xf4\x90\x80\x80\"}") == -1);    /* U+110000 */
    CHECK(json("{\"a\":\"\xf5\x80\x80\x80\"}") == -1);
    CHECK(json("{\"a\":\"\xe2\x82\"}") == -1);            /* truncated */
    CHECK(json("{\"a\":\"\xe2\"}") == -1);
    CHECK(json("{\"a\":\"\xc3\"}") == -1);
    CHECK(json("{\"a\":\"\xc3\x28\"}") == -1);
    CHECK(json("{\"a\":\"\xe2\x28\xa1\"}") == -1);
    CHECK(json("{\"a\xff\":1}") == -1);
    CHECK(json("{\"amount\":\"1\xff\"}") == -1);
    CHECK(json_n("{\"a\":\"\xe2\x82", 8) == -1);

    /* valid UTF-8 at the edges */
    CHECK(json("{\"address\":\"\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf"
               "\xee\x80\x80\xef\xbf\xbf\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\"}")
          == 0);
    CHECK(state(ADDRESS) == APISEC_FIELD_FOUND && ADDRESS->len == 24);
}


static void
test_json_toolong(void)
{
    apisec_field_t  f;
    char            one[1];

    /* seven bytes fit in eight */
    CHECK(json("{\"currency\":\"ABCDEFG\"}") == 0);
    CHECK(found_s(CURRENCY, APISEC_FIELD_STRING, "ABCDEFG"));

    CHECK(json("{\"currency\":\"ABCDEFGH\"}") == 0);
    CHECK(state(CURRENCY) == APISEC_FIELD_TOOLONG);
    CHECK(CURRENCY->len == 8 && CURRENCY->type == APISEC_FIELD_STRING);

    /* the decoded length counts, not the text */
    CHECK(json("{\"currency\":\"\\u0041\\u0042\\u0043\\u0044\\u0045\\u0046"
               "\\u0047\"}") == 0);
    CHECK(found_s(CURRENCY, APISEC_FIELD_STRING, "ABCDEFG"));
    CHECK(json("{\"currency\":\"\\u00e9\\u00e9\\u00e9\"}") == 0);
    CHECK(found_s(CURRENCY, APISEC_FIELD_STRING, "\xc3\xa9\xc3\xa9\xc3\xa9"));
    CHECK(json("{\"currency\":\"\\u00e9\\u00e9\\u00e9\\u00e9\"}") == 0);
    CHECK(state(CURRENCY) == APISEC_FIELD_TOOLONG && CURRENCY->len == 8);
    CHECK(json("{\"currency\":\"\\ud83d\\ude00\\ud83d\\ude00\"}") == 0);
    CHECK(state(CURRENCY) == APISEC_FIELD_TOOLONG);
    CHECK(json("{\"currency\":\"\\ud83d\\ude00abc\"}") == 0);
    CHECK(found_s(CURRENCY, APISEC_FIELD_STRING, "\xf0\x9f\x98\x80" "abc"));

    /* numbers too */
    CHECK(json("{\"currency\":1234567}") == 0);
    CHECK(found_s(CURRENCY, APISEC_FIELD_NUMBER, "1234567"));
    CHECK(json("{\"currency\":12345678}") == 0);
    CHECK(state(CURRENCY) == APISEC_FIELD_TOOLONG);
    CHECK(CURRENCY->len == 8 && CURRENCY->type == APISEC_FIELD_NUMBER);

    /* a too-long value is still checked to its end */
    CHECK(json("{\"currency\":\"ABCDEFGHIJ\\q\"}") == -1);
    CHECK(json("{\"currency\":\"ABCDEFGHIJ\\ud800\"}") == -1);
    CHECK(json("{\"currency\":\"ABCDEFGHIJ\xff\"}") == -1);
    CHECK(json("{\"currency\":\"ABCDEFGHIJ\"") == -1);

    /* the neighbours are untouched */
    CHECK(json("{\"currency\":\"ABCDEFGHIJKLMNOP\",\"address\":\"x\"}") == 0);
    CHECK(found_s(ADDRESS, APISEC_FIELD_STRING, "x"));
    CHECK(currency_buf[0] == '\0');

    /* size 1: only the empty value; size 0: nothing fits */

    memset(&f, 0, sizeof(f));
    f.name = "amount";
    f.name_len = 6;
    f.buf = one;
    f.size = 1;

    CHECK(apisec_fields_json((const unsigned char *) S("{\"amount\":\"\"}"),
                             &f, 1) == 0);
    CHECK(f.state == APISEC_FIELD_FOUND && f.len == 0 && one[0] == '\0');

    f.state = 0;
    CHECK(apisec_fields_json((const unsigned char *) S("{\"amount\":\"1\"}"),
                             &f, 1) == 0);
    CHECK(f.state == APISEC_FIELD_TOOLONG && f.len == 1 && one[0] == '\0');

    f.state = 0;
    CHECK(apisec_fields_json((const unsigned char *) S("{\"amount\":null}"),
                             &f, 1) == 0);
    CHECK(f.state == APISEC_FIELD_FOUND && f.type == APISEC_FIELD_OTHER);

    f.state = 0;
    f.buf = NULL;
    f.size = 0;
    CHECK(apisec_fields_json((const unsigned char *) S("{\"amount\":\"\"}"),
                             &f, 1) == 0);
    CHECK(f.state == APISEC_FIELD_TOOLONG && f.len == 0);

    f.state = 0;
    CHECK(apisec_fields_form((const unsigned char *) S("amount="), &f, 1)
          == 0);
    CHECK(f.state == APISEC_FIELD_TOOLONG);

    f.state = 0;
    CHECK(apisec_fields_form((const unsigned char *) S("amount=1&amount=2"),
                             &f, 1) == 0);
    CHECK(f.state == APISEC_FIELD_DUPLICATE);
}


static void
test_form(void)
{
    CHECK(form("amount=12.5&currency=USD") == 0);
    CHECK(found_s(AMOUNT, APISEC_FIELD_STRING, "12.5"));
    CHECK(found_s(CURRENCY, APISEC_FIELD_STRING, "USD"));
    CHECK(state(ADDRESS) == APISEC_FIELD_ABSENT);

    /* percent and '+' decoding, in values and names */
    CHECK(form("amount=1%2E5") == 0);
    CHECK(found_s(AMOUNT, APISEC_FIELD_STRING, "1.5"));
    CHECK(form("address=a+b%20c%2Bd%2b") == 0);
    CHECK(found_s(ADDRESS, APISEC_FIELD_STRING, "a b c+d+"));
    CHECK(form("address=%2B+%2B++") == 0);
    CHECK(found_s(ADDRESS, APISEC_FIELD_STRING, "+ +  "));
    CHECK(form("address=a%26b%3Dc") == 0);
    CHECK(found_s(ADDRESS, APISEC_FIELD_STRING, "a&b=c"));
    CHECK(form("address=%e2%82%AC") == 0);
    CHECK(found_s(ADDRESS, APISEC_FIELD_STRING, "\xe2\x82\xac"));
    CHECK(form("%61mount=1") == 0);
    CHECK(found_s(AMOUNT, APISEC_FIELD_STRING, "1"));
    CHECK(form("%61%6D%6f%75%6e%74=2") == 0);
    CHECK(found_s(AMOUNT, APISEC_FIELD_STRING, "2"));

    /* '+' in a name is a space: another name */
    CHECK(form("amount+=1&+amount=2&amo+unt=3") == 0);
    CHECK(state(AMOUNT) == APISEC_FIELD_ABSENT);
    CHECK(form("Amount=1&AMOUNT=2&amoun=3&amountt=4") == 0);
    CHECK(state(AMOUNT) == APISEC_FIELD_ABSENT);

    /* a value holds a NUL of its own (the decimal parser refuses it) */
    CHECK(form("amount=1%002") == 0);
    CHECK(found(AMOUNT, APISEC_FIELD_STRING, "1\0" "2", 3));

    /* the first '=' splits; empty pairs skipped; no '=': empty value */
    CHECK(form("amount=1=2") == 0);
    CHECK(found_s(AMOUNT, APISEC_FIELD_STRING, "1=2"));
    CHECK(form("&&amount=1&&") == 0);
    CHECK(found_s(AMOUNT, APISEC_FIELD_STRING, "1"));
    CHECK(form("amount") == 0);
    CHECK(found_s(AMOUNT, APISEC_FIELD_STRING, ""));
    CHECK(form("x=1&amount&y=2") == 0);
    CHECK(found_s(AMOUNT, APISEC_FIELD_STRING, ""));
    CHECK(form("amount=") == 0);
    CHECK(found_s(AMOUNT, APISEC_FIELD_STRING, ""));
    CHECK(form("=1&=&==&amount==") == 0);
    CHECK(found_s(AMOUNT, APISEC_FIELD_STRING, "="));

    /* nothing */
    CHECK(form("") == 0);
    CHECK(state(AMOUNT) == APISEC_FIELD_ABSENT);
    CHECK(form("&") == 0);
    CHECK(form("&&&") == 0);
    CHECK(apisec_fields_form(NULL, 0, fields, NFIELDS) == 0);
    CHECK(apisec_fields_form(NULL, 1, fields, NFIELDS) == -1);
    CHECK(apisec_fields_form((const unsigned char *) S("a=%zz"), NULL, 0)
          == -1);
    CHECK(apisec_fields_form((const unsigned char *) S("a=1"), NULL, 0)
          == 0);

    /* raw bytes as they are: a form is not checked for UTF-8 */
    CHECK(form("address=\xff") == 0);
    CHECK(found_s(ADDRESS, APISEC_FIELD_STRING, "\xff"));

    /* only len bytes count */
    CHECK(form_n("amount=12%zz", 9) == 0);
    CHECK(found_s(AMOUNT, APISEC_FIELD_STRING, "12"));
    CHECK(form_n("amount=1%41", 10) == -1);

    /* a long name matches nothing and is still checked */
    CHECK(form("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
               "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=1&amount=2") == 0);
    CHECK(found_s(AMOUNT, APISEC_FIELD_STRING, "2"));
    CHECK(form("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
               "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa%00=1") == -1);
}


static void
test_form_duplicates(void)
{
    CHECK(form("amount=1&amount=2") == 0);
    CHECK(state(AMOUNT) == APISEC_FIELD_DUPLICATE && AMOUNT->len == 0);
    CHECK(form("amount=1&amount=1") == 0);
    CHECK(state(AMOUNT) == APISEC_FIELD_DUPLICATE);
    CHECK(form("amount=1&%61mount=2") == 0);
    CHECK(state(AMOUNT) == APISEC_FIELD_DUPLICATE);
    CHECK(form("amount&amount") == 0);
    CHECK(state(AMOUNT) == APISEC_FIELD_DUPLICATE);
    CHECK(form("currency=TOOLONGCODE&currency=X") == 0);
    CHECK(state(CURRENCY) == APISEC_FIELD_DUPLICATE);
    CHECK(form("amount=1&currency=USD&amount=2&address=x") == 0);
    CHECK(state(AMOUNT) == APISEC_FIELD_DUPLICATE);
    CHECK(found_s(CURRENCY, APISEC_FIELD_STRING, "USD"));
    CHECK(found_s(ADDRESS, APISEC_FIELD_STRING, "x"));

    /* the query, then the body, over one array */

    CHECK(form("amount=1") == 0);
    CHECK(apisec_fields_form((const unsigned char *) S("amount=2"), fields,
                             NFIELDS) == 0);
    CHECK(state(AMOUNT) == APISEC_FIELD_DUPLICATE);

    CHECK(form("currency=USD") == 0);
    CHECK(apisec_fields_form((const unsigned char *) S("amount=5"), fields,
                             NFIELDS) == 0);
    CHECK(found_s(CURRENCY, APISEC_FIELD_STRING, "USD"));
    CHECK(found_s(AMOUNT, APISEC_FIELD_STRING, "5"));

    /* a query, then a JSON body */
    CHECK(form("amount=1") == 0);
    CHECK(apisec_fields_json((const unsigned char *) S("{\"amount\":\"1\"}"),
                             fields, NFIELDS) == 0);
    CHECK(state(AMOUNT) == APISEC_FIELD_DUPLICATE);

    CHECK(form("currency=EUR") == 0);
    CHECK(apisec_fields_json((const unsigned char *)
                             S("{\"amount\":2.5,\"address\":\"a\"}"),
                             fields, NFIELDS) == 0);
    CHECK(found_s(CURRENCY, APISEC_FIELD_STRING, "EUR"));
    CHECK(found_s(AMOUNT, APISEC_FIELD_NUMBER, "2.5"));
    CHECK(found_s(ADDRESS, APISEC_FIELD_STRING, "a"));

    /* a query with an empty value still counts as a sighting */
    CHECK(form("amount") == 0);
    CHECK(apisec_fields_form((const unsigned char *) S("amount=3"), fields,
                             NFIELDS) == 0);
    CHECK(state(AMOUNT) == APISEC_FIELD_DUPLICATE);

    /* a too-long value in the query, the name again in the body */
    CHECK(form("currency=ABCDEFGHIJ") == 0);
    CHECK(state(CURRENCY) == APISEC_FIELD_TOOLONG);
    CHECK(apisec_fields_form((const unsigned char *) S("currency=X"), fields,
                             NFIELDS) == 0);
    CHECK(state(CURRENCY) == APISEC_FIELD_DUPLICATE);
}


static void
test_form_bad(void)
{
    CHECK(form("amount=%zz") == -1);
    CHECK(form("amount=%4") == -1);
    CHECK(form("amount=%") == -1);
    CHECK(form("amount=1%") == -1);
    CHECK(form("amount=%G0") == -1);
    CHECK(form("amount=%0G") == -1);
    CHECK(form("amount=% 1") == -1);
    CHECK(form("amount=%+1") == -1);
    CHECK(form("amount=%%41") == -1);
    CHECK(form("amount=%-1") == -1);
    CHECK(form("%zz=1") == -1);
    CHECK(form("%4") == -1);
    CHECK(form("%") == -1);
    CHECK(form("a%=1") == -1);

    /* anywhere, in pairs nobody asked for */
    CHECK(form("x=%4&amount=1") == -1);
    CHECK(form("amount=1&x=%zz") == -1);
    CHECK(form("amount=1&x=%4") == -1);
    CHECK(form("amount=1&%") == -1);
    CHECK(form("amount=1&x%4=1") == -1);

    /* a NUL in a decoded name */
    CHECK(form("amo%00unt=1") == -1);
    CHECK(form("%00=1") == -1);
    CHECK(form("%00") == -1);
    CHECK(form("x%00") == -1);
    CHECK(form("amount=1&y%00=2") == -1);
    CHECK(form_n("amo\0unt=1", 10) == -1);
    CHECK(form_n("\0", 1) == -1);
    CHECK(form_n("a=1&\0=2", 7) == -1);

    /* ... but not in a value */
    CHECK(form("x=%00") == 0);
    CHECK(form("x=a=%00") == 0);
    CHECK(form_n("amount=1\0", 9) == 0);
    CHECK(found(AMOUNT, APISEC_FIELD_STRING, "1\0", 2));
}


static void
test_form_toolong(void)
{
    CHECK(form("currency=ABCDEFG") == 0);
    CHECK(found_s(CURRENCY, APISEC_FIELD_STRING, "ABCDEFG"));
    CHECK(form("currency=ABCDEFGH") == 0);
    CHECK(state(CURRENCY) == APISEC_FIELD_TOOLONG && CURRENCY->len == 8);

    /* the decoded length counts */
    CHECK(form("currency=%41%42%43%44%45%46%47") == 0);
    CHECK(found_s(CURRENCY, APISEC_FIELD_STRING, "ABCDEFG"));
    CHECK(form("currency=%41%42%43%44%45%46%47%48") == 0);
    CHECK(state(CURRENCY) == APISEC_FIELD_TOOLONG && CURRENCY->len == 8);
    CHECK(form("currency=+++++++") == 0);
    CHECK(found_s(CURRENCY, APISEC_FIELD_STRING, "       "));
    CHECK(form("currency=++++++++") == 0);
    CHECK(state(CURRENCY) == APISEC_FIELD_TOOLONG);

    /* a too-long value's escapes are still checked */
    CHECK(form("currency=ABCDEFGHIJ%zz") == -1);

    /* the neighbours are untouched */
    CHECK(form("currency=ABCDEFGHIJKLMNOP&address=x&amount=1") == 0);
    CHECK(found_s(ADDRESS, APISEC_FIELD_STRING, "x"));
    CHECK(found_s(AMOUNT, APISEC_FIELD_STRING, "1"));
}


static void
test_unescape(void)
{
    unsigned char            out[16];
    apisec_json_unescape_t   r;

    CHECK(apisec_json_unescape((const unsigned char *) S("\"abc\"rest"), out,
                               sizeof(out), &r) == 0);
    CHECK(r.used == 5 && r.len == 3 && memcmp(out, "abc", 3) == 0);

    /* out too small: the length is still right, nothing past cap */
    memset(out, 'z', sizeof(out));
    CHECK(apisec_json_unescape((const unsigned char *) S("\"\\u00e9abc\""),
                               out, 2, &r) == 0);
    CHECK(r.used == 11 && r.len == 5 && out[0] == 0xc3 && out[1] == 0xa9
          && out[2] == 'z');

    CHECK(apisec_json_unescape((const unsigned char *) S("\"\\ud83d\\ude00\""),
                               NULL, 0, &r) == 0);
    CHECK(r.used == 14 && r.len == 4);

    /* where and what */
    CHECK(apisec_json_unescape((const unsigned char *) S("\"ab\\q\""), out,
                               sizeof(out), &r) == -1);
    CHECK(r.at == 3 && r.err != NULL && strcmp(r.err, "invalid escape") == 0);
    CHECK(apisec_json_unescape((const unsigned char *) S("\"\\ud800\""), out,
                               sizeof(out), &r) == -1);
    CHECK(r.at == 1 && strcmp(r.err, "lone high surrogate") == 0);
    CHECK(apisec_json_unescape((const unsigned char *) S("\"\\udc00\""), out,
                               sizeof(out), &r) == -1);
    CHECK(strcmp(r.err, "lone low surrogate") == 0);
    CHECK(apisec_json_unescape((const unsigned char *) S("\"a\xff\""), out,
                               sizeof(out), &r) == -1);
    CHECK(r.at == 2 && strcmp(r.err, "invalid UTF-8") == 0);
    CHECK(apisec_json_unescape((const unsigned char *) S("\"a\nb\""), out,
                               sizeof(out), &r) == -1);
    CHECK(r.at == 2);
    CHECK(apisec_json_unescape((const unsigned char *) S("\"abc"), out,
                               sizeof(out), &r) == -1);
    CHECK(r.at == 4 && strcmp(r.err, "unterminated string") == 0);
    CHECK(apisec_json_unescape((const unsigned char *) S("\"\\u12"), out,
                               sizeof(out), &r) == -1);
    CHECK(r.at == 3 && strcmp(r.err, "truncated \\u escape") == 0);
    CHECK(apisec_json_unescape((const unsigned char *) S("abc"), out,
                               sizeof(out), &r) == -1);
    CHECK(apisec_json_unescape((const unsigned char *) "", 0, out,
                               sizeof(out), &r) == -1);
    CHECK(apisec_json_unescape(NULL, 0, out, sizeof(out), &r) == -1);
}


static void
test_utf8(void)
{
    CHECK(apisec_utf8_len((const unsigned char *) S("a")) == 1);
    CHECK(apisec_utf8_len((const unsigned char *) S("\xc3\xa9")) == 2);
    CHECK(apisec_utf8_len((const unsigned char *) S("\xe2\x82\xac")) == 3);
    CHECK(apisec_utf8_len((const unsigned char *) S("\xf0\x9f\x98\x80"))
          == 4);
    CHECK(apisec_utf8_len((const unsigned char *) S("\xf0\x9f\x98")) == 0);
    CHECK(apisec_utf8_len((const unsigned char *) S("\xc0\x80")) == 0);
    CHECK(apisec_utf8_len((const unsigned char *) S("\xed\xa0\x80")) == 0);
    CHECK(apisec_utf8_len((const unsigned char *) S("\xf4\x90\x80\x80"))
          == 0);
    CHECK(apisec_utf8_len((const unsigned char *) S("\x80")) == 0);
}


int
main(void)
{
    test_json_found();
    test_json_keys();
    test_json_duplicates();
    test_json_nested();
    test_json_depth();
    test_json_syntax();
    test_json_numbers();
    test_json_strings();
    test_json_toolong();
    test_form();
    test_form_duplicates();
    test_form_bad();
    test_form_toolong();
    test_unescape();
    test_utf8();

    return UNIT_DONE();
}
