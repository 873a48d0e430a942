/*
 * Unit tests of apisec_decimal.c: the grammar (every accepted and refused
 * form), exact values, the shortest text, parse/format round trips, and
 * exact sums up to the largest value.
 */


#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "apisec_decimal.h"


static int dec(const char *s, apisec_dec_t *v);
static int bad(const char *s);
static const char *fmt(apisec_dec_t v);
static const char *canon(const char *s);
static apisec_dec_t units(uint64_t hi, uint64_t lo);
static void test_accepted(void);
static void test_refused(void);
static void test_values(void);
static void test_format(void);
static void test_roundtrip(void);
static void test_add(void);


static int
dec(const char *s, apisec_dec_t *v)
{
    *v = 12345;
    return apisec_dec_parse(s, strlen(s), v);
}


/* refused, and the output left alone */

static int
bad(const char *s)
{
    apisec_dec_t  v;

    v = 777;

    return apisec_dec_parse(s, strlen(s), &v) == -1 && v == 777;
}


static const char *
fmt(apisec_dec_t v)
{
    size_t       n;
    static char  out[APISEC_DEC_LEN];

    memset(out, 'x', sizeof(out));

    n = apisec_dec_format(v, out);

    if (n != strlen(out) || n >= APISEC_DEC_LEN) {
        return "BADLEN";
    }

    return out;
}


/* the text of a parsed value, or "ERR" */

static const char *
canon(const char *s)
{
    apisec_dec_t  v;

    if (dec(s, &v) != 0) {
        return "ERR";
    }

    return fmt(v);
}


static apisec_dec_t
units(uint64_t hi, uint64_t lo)
{
    return ((apisec_dec_t) hi << 64) | lo;
}


static void
test_accepted(void)
{
    apisec_dec_t  v;

    CHECK(dec("0", &v) == 0 && v == 0);
    CHECK(dec("1", &v) == 0 && v == APISEC_DEC_ONE);
    CHECK(dec("9", &v) == 0 && v == 9 * APISEC_DEC_ONE);
    CHECK(dec("10", &v) == 0 && v == 10 * APISEC_DEC_ONE);
    CHECK(dec("10000", &v) == 0 && v == 10000 * APISEC_DEC_ONE);
    CHECK(dec("0.5", &v) == 0 && v == APISEC_DEC_ONE / 2);
    CHECK(dec("0.0", &v) == 0 && v == 0);
    CHECK(dec("0.000000000000000000", &v) == 0 && v == 0);
    CHECK(dec("0.000000000000000001", &v) == 0 && v == 1);
    CHECK(dec("1.5", &v) == 0 && v == APISEC_DEC_ONE * 3 / 2);
    CHECK(dec("1.50", &v) == 0 && v == APISEC_DEC_ONE * 3 / 2);
    CHECK(dec("1.500000000000000000", &v) == 0
          && v == APISEC_DEC_ONE * 3 / 2);
    CHECK(dec("12.34", &v) == 0 && v == 1234 * APISEC_DEC_ONE / 100);
    CHECK(dec("100.000000000000000001", &v) == 0
          && v == 100 * APISEC_DEC_ONE + 1);

    /* twenty integer digits, eighteen fractional: the largest */
    CHECK(dec("99999999999999999999", &v) == 0
          && v == APISEC_DEC_MAX - (APISEC_DEC_ONE - 1));
    CHECK(dec("99999999999999999999.999999999999999999", &v) == 0
          && v == APISEC_DEC_MAX);
    CHECK(dec("10000000000000000000", &v) == 0
          && v == APISEC_DEC_ONE * APISEC_DEC_ONE * 10);
    CHECK(dec("18446744073709551616", &v) == 0               /* 2^64 */
          && v == units(1, 0) * APISEC_DEC_ONE);

    /* APISEC_DEC_MAX is 10^38 - 1 */
    CHECK(APISEC_DEC_MAX == units(0x4b3b4ca85a86c47aULL,
                                  0x098a223fffffffffULL));

    /* only len bytes count: the input need not be NUL-terminated */
    CHECK(apisec_dec_parse("12.5xyz", 4, &v) == 0
          && v == 125 * APISEC_DEC_ONE / 10);
    CHECK(apisec_dec_parse("12.5", 3, &v) == -1);           /* "12." */
    CHECK(apisec_dec_parse("12.5", 2, &v) == 0 && v == 12 * APISEC_DEC_ONE);
}


static void
test_refused(void)
{
    apisec_dec_t  v;

    CHECK(bad(""));
    CHECK(apisec_dec_parse(NULL, 1, &v) == -1);
    CHECK(apisec_dec_parse("1", 1, NULL) == -1);
    CHECK(apisec_dec_parse("1", 0, &v) == -1);

    /* leading zeros */
    CHECK(bad("007"));
    CHECK(bad("00"));
    CHECK(bad("01"));
    CHECK(bad("00.5"));
    CHECK(bad("01.5"));
    CHECK(bad("000000000000000000001"));

    /* a point needs digits on both sides */
    CHECK(bad(".5"));
    CHECK(bad("5."));
    CHECK(bad("."));
    CHECK(bad("0."));
    CHECK(bad("1..5"));
    CHECK(bad("1.5.5"));

    /* signs */
    CHECK(bad("+1"));
    CHECK(bad("-1"));
    CHECK(bad("-0"));
    CHECK(bad("+0.5"));
    CHECK(bad("1-"));
    CHECK(bad("1.-5"));

    /* exponents, hex, special values */
    CHECK(bad("1e5"));
    CHECK(bad("1E5"));
    CHECK(bad("1.5e1"));
    CHECK(bad("1e-5"));
    CHECK(bad("0x10"));
    CHECK(bad("0X10"));
    CHECK(bad("0b1"));
    CHECK(bad("NaN"));
    CHECK(bad("nan"));
    CHECK(bad("Infinity"));
    CHECK(bad("inf"));

    /* white space anywhere */
    CHECK(bad(" 1"));
    CHECK(bad("1 "));
    CHECK(bad("1 000"));
    CHECK(bad("1. 5"));
    CHECK(bad("\t1"));
    CHECK(bad("1\n"));
    CHECK(bad("1\r"));
    CHECK(bad("\v1"));
    CHECK(bad("\f1"));
    CHECK(bad("1\xc2\xa0"));                /* U+00A0 no-break space */

    /* NUL bytes */
    CHECK(apisec_dec_parse("1\0", 2, &v) == -1);
    CHECK(apisec_dec_parse("\0" "1", 2, &v) == -1);
    CHECK(apisec_dec_parse("1.\0" "5", 4, &v) == -1);
    CHECK(apisec_dec_parse("1.5\0", 4, &v) == -1);

    /* digits that are not ASCII 0-9 */
    CHECK(bad("\xef\xbc\x91"));             /* U+FF11 fullwidth one */
    CHECK(bad("1\xef\xbc\x90"));            /* 1 and fullwidth zero */
    CHECK(bad("\xd9\xa1"));                 /* U+0661 Arabic-Indic one */
    CHECK(bad("1.\xd9\xa5"));               /* U+0665 Arabic-Indic five */
    CHECK(bad("\xdb\xb1"));                 /* U+06F1 extended one */
    CHECK(bad("\xe0\xa5\xa7"));             /* U+0967 Devanagari one */
    CHECK(bad("\xc2\xb9"));                 /* U+00B9 superscript one */
    CHECK(bad("\xb9"));
    CHECK(bad("1\x80"));

    /* too many digits */
    CHECK(bad("0.0000000000000000001"));                    /* 19 */
    CHECK(bad("1.1234567890123456789"));
    CHECK(bad("0.0000000000000000000"));
    CHECK(bad("100000000000000000000"));                    /* 21 */
    CHECK(bad("999999999999999999999"));
    CHECK(bad("100000000000000000000.5"));
    CHECK(bad("99999999999999999999.9999999999999999999"));
    CHECK(bad("340282366920938463463374607431768211456"));  /* 2^128 */
    CHECK(bad("1234567890123456789012345678901234567890")); /* 40 long */

    /* separators */
    CHECK(bad("1,000"));
    CHECK(bad("1,5"));
    CHECK(bad("1_000"));
    CHECK(bad("1'000"));

    /* anything else */
    CHECK(bad("abc"));
    CHECK(bad("1a"));
    CHECK(bad("a1"));
    CHECK(bad("1/2"));
    CHECK(bad("\"1\""));
}


/* sums of 10^-18 steps, and exact values against their texts */

static void
test_values(void)
{
    int           i;
    char          text[APISEC_DEC_LEN];
    apisec_dec_t  v, w;

    /* 0.1 + 0.2 is 0.3 exactly, as it is not in binary floating point */
    CHECK(dec("0.1", &v) == 0);
    CHECK(dec("0.2", &w) == 0);
    CHECK(apisec_dec_add(&v, w) == 0);
    CHECK(dec("0.3", &w) == 0 && v == w);
    CHECK_STR(fmt(v), "0.3");

    /* 10^k for every k: "1" followed by zeros, "0.00..1" */

    for (i = 0; i < APISEC_DEC_INT; i++) {
        memset(text, '0', sizeof(text));
        text[0] = '1';
        text[i + 1] = '\0';

        CHECK(dec(text, &v) == 0);
        CHECK_STR(fmt(v), text);
    }

    for (i = 1; i <= APISEC_DEC_FRAC; i++) {
        memset(text, '0', sizeof(text));
        text[1] = '.';
        text[i + 1] = '1';
        text[i + 2] = '\0';

        CHECK(dec(text, &v) == 0);
        CHECK_STR(fmt(v), text);
    }
}


static void
test_format(void)
{
    CHECK_STR(fmt(0), "0");
    CHECK_STR(fmt(1), "0.000000000000000001");
    CHECK_STR(fmt(APISEC_DEC_ONE), "1");
    CHECK_STR(fmt(APISEC_DEC_ONE * 10000), "10000");
    CHECK_STR(fmt(APISEC_DEC_ONE * 125 / 10), "12.5");
    CHECK_STR(fmt(APISEC_DEC_ONE * 100 + 1), "100.000000000000000001");
    CHECK_STR(fmt(APISEC_DEC_MAX), "99999999999999999999.999999999999999999");
    CHECK_STR(fmt(APISEC_DEC_MAX - APISEC_DEC_ONE + 1),
              "99999999999999999999");

    /* above the maximum: written as the maximum */
    CHECK_STR(fmt(APISEC_DEC_MAX + 1),
              "99999999999999999999.999999999999999999");
    CHECK_STR(fmt(~(apisec_dec_t) 0),
              "99999999999999999999.999999999999999999");

    /* the shortest text: trailing zeros go */
    CHECK_STR(canon("1.50"), "1.5");
    CHECK_STR(canon("1.000000000000000000"), "1");
    CHECK_STR(canon("0.0"), "0");
    CHECK_STR(canon("0.100"), "0.1");
    CHECK_STR(canon("10.010"), "10.01");
    CHECK_STR(canon("100.000000000000000001"), "100.000000000000000001");
    CHECK_STR(canon("00.5"), "ERR");
}


/* parse(format(v)) == v over many values, format(parse(s)) == s */

static void
test_roundtrip(void)
{
    int           i, ok;
    char          out[APISEC_DEC_LEN];
    size_t        n;
    uint64_t      x;
    apisec_dec_t  v, w;

    static const char  *texts[] = {
        "0", "1", "0.1", "12.5", "10000", "123456789.123456789",
        "18446744073709551615.999999999999999999",
        "99999999999999999999.999999999999999999",
        "0.000000000000000001", "5000000000000000000.5"
    };

    for (i = 0; i < (int) (sizeof(texts) / sizeof(texts[0])); i++) {
        CHECK_STR(canon(texts[i]), texts[i]);
    }

    /* a deterministic sequence over the whole range */

    x = 0x9e3779b97f4a7c15ULL;
    ok = 1;

    for (i = 0; i < 100000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;

        v = units(x >> (i % 64), x * 0x2545f4914f6cdd1dULL);
        v %= APISEC_DEC_MAX + 1;

        n = apisec_dec_format(v, out);

        if (n != strlen(out) || apisec_dec_parse(out, n, &w) != 0 || w != v)
        {
            ok = 0;
            fprintf(stderr, "round trip failed at %d: %s\n", i, out);
            break;
        }
    }

    CHECK(ok);
}


static void
test_add(void)
{
    int           i;
    apisec_dec_t  sum, v, w, limit;

    sum = 0;
    CHECK(apisec_dec_add(&sum, 0) == 0 && sum == 0);
    CHECK(apisec_dec_add(&sum, APISEC_DEC_MAX) == 0 && sum == APISEC_DEC_MAX);
    CHECK(apisec_dec_add(&sum, 0) == 0 && sum == APISEC_DEC_MAX);

    /* one unit above the maximum: refused, the sum unchanged */
    CHECK(apisec_dec_add(&sum, 1) == -1 && sum == APISEC_DEC_MAX);
    CHECK(apisec_dec_add(&sum, APISEC_DEC_MAX) == -1 && sum == APISEC_DEC_MAX);

    sum = APISEC_DEC_MAX - 5;
    CHECK(apisec_dec_add(&sum, 5) == 0 && sum == APISEC_DEC_MAX);

    sum = APISEC_DEC_MAX - 5;
    CHECK(apisec_dec_add(&sum, 6) == -1 && sum == APISEC_DEC_MAX - 5);

    /* values no parse gives: refused, never wrapped */
    sum = 1;
    CHECK(apisec_dec_add(&sum, ~(apisec_dec_t) 0) == -1 && sum == 1);
    sum = ~(apisec_dec_t) 0;
    CHECK(apisec_dec_add(&sum, 0) == -1 && sum == ~(apisec_dec_t) 0);

    /* half and half */
    CHECK(dec("50000000000000000000", &v) == 0);
    sum = 0;
    CHECK(apisec_dec_add(&sum, v) == 0);
    CHECK(apisec_dec_add(&sum, v) == -1);
    CHECK(dec("49999999999999999999.999999999999999999", &w) == 0);
    CHECK(apisec_dec_add(&sum, w) == 0 && sum == APISEC_DEC_MAX);

    /* 99 times 100.000000000000000001, exactly; once more passes 10000 */

    CHECK(dec("100.000000000000000001", &v) == 0);
    CHECK(dec("10000", &limit) == 0);

    sum = 0;

    for (i = 0; i < 99; i++) {
        CHECK(apisec_dec_add(&sum, v) == 0);
    }

    CHECK_STR(fmt(sum), "9900.000000000000000099");
    CHECK(dec("9900.000000000000000099", &w) == 0 && w == sum);
    CHECK(sum <= limit);

    CHECK(apisec_dec_add(&sum, v) == 0);
    CHECK_STR(fmt(sum), "10000.0000000000000001");
    CHECK(sum > limit);
}


int
main(void)
{
    test_accepted();
    test_refused();
    test_values();
    test_format();
    test_roundtrip();
    test_add();

    return UNIT_DONE();
}
