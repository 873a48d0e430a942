/*
 * fuzz_decimal: the amounts of the amount rule (apisec_dec_parse,
 * apisec_dec_format, apisec_dec_add).
 *
 * Input: text.  The parser must accept exactly what a plain reading of
 * the grammar accepts (checked here character by character); an accepted
 * text formats to itself without its trailing fractional zeros, and that
 * text parses to the same value.  The input's bytes are also read as two
 * 128-bit values (any, even above the maximum) and added: a sum never
 * passes APISEC_DEC_MAX and a refused sum leaves its operand alone.
 */

#include "fuzz.h"

#include "apisec_decimal.h"


/* [1-9][0-9]{0,19} or 0, then optionally '.' and [0-9]{1,18}; no more */

static int
fuzz_grammar(const uint8_t *s, size_t len)
{
    size_t  i, n;

    i = 0;

    if (len == 0 || s[0] < '0' || s[0] > '9') {
        return 0;
    }

    if (s[0] == '0') {
        i = 1;

    } else {
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            i++;
        }

        if (i > 20) {
            return 0;
        }
    }

    if (i == len) {
        return 1;
    }

    if (s[i] != '.') {
        return 0;
    }

    for (n = 0, i++; i < len; i++, n++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
    }

    return n >= 1 && n <= 18;
}


/* the input without trailing fractional zeros, nor a bare '.' */

static size_t
fuzz_shortest(const uint8_t *s, size_t len)
{
    if (memchr(s, '.', len) == NULL) {
        return len;
    }

    while (s[len - 1] == '0') {
        len--;
    }

    if (s[len - 1] == '.') {
        len--;
    }

    return len;
}


static apisec_dec_t
fuzz_u128(const uint8_t *data, size_t size, size_t off)
{
    size_t        i;
    apisec_dec_t  v;

    v = 0;

    for (i = 0; i < 16; i++) {
        v = (v << 8) | ((off + i < size) ? data[off + i] : 0);
    }

    return v;
}


static void
fuzz_add(apisec_dec_t a, apisec_dec_t b)
{
    int           rc;
    apisec_dec_t  sum;

    sum = a;
    rc = apisec_dec_add(&sum, b);

    if (a <= APISEC_DEC_MAX && b <= APISEC_DEC_MAX
        && a + b <= APISEC_DEC_MAX)
    {
        FUZZ_CHECK(rc == 0 && sum == a + b);

    } else {
        FUZZ_CHECK(rc == -1 && sum == a);
    }

    FUZZ_CHECK(rc == -1 || sum <= APISEC_DEC_MAX);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int            rc;
    char          *s, out[APISEC_DEC_LEN + 8];
    size_t         n, m;
    apisec_dec_t   v, w, a, b;

    s = (char *) fuzz_dup0(data, size);     /* exactly size bytes */

    v = 12345;
    rc = apisec_dec_parse(s, size, &v);

    FUZZ_CHECK(rc == 0 || rc == -1);
    FUZZ_CHECK((rc == 0) == fuzz_grammar(data, size));

    if (rc == -1) {
        FUZZ_CHECK(v == 12345);

    } else {
        FUZZ_CHECK(v <= APISEC_DEC_MAX);

        memset(out, 'x', sizeof(out));
        n = apisec_dec_format(v, out);

        FUZZ_CHECK(n < APISEC_DEC_LEN && out[n] == '\0' && strlen(out) == n);
        FUZZ_CHECK(memcmp(out + APISEC_DEC_LEN, "xxxxxxxx", 8) == 0);

        m = fuzz_shortest(data, size);
        FUZZ_CHECK(n == m && memcmp(out, data, n) == 0);

        FUZZ_CHECK(apisec_dec_parse(out, n, &w) == 0 && w == v);

        fuzz_add(v, v);
        fuzz_add(v, APISEC_DEC_MAX - v);
        fuzz_add(v, APISEC_DEC_MAX - v + 1);
    }

    /* any two values */

    a = fuzz_u128(data, size, 0);
    b = fuzz_u128(data, size, 16);

    fuzz_add(a, b);
    fuzz_add(a % (APISEC_DEC_MAX + 1), b % (APISEC_DEC_MAX + 1));
    fuzz_add(a >> (size % 128), b >> (size % 64));

    /* format of any value: at most the maximum, and it parses */

    memset(out, 'x', sizeof(out));
    n = apisec_dec_format(a, out);

    FUZZ_CHECK(n < APISEC_DEC_LEN && strlen(out) == n);
    FUZZ_CHECK(memcmp(out + APISEC_DEC_LEN, "xxxxxxxx", 8) == 0);
    FUZZ_CHECK(apisec_dec_parse(out, n, &w) == 0);
    FUZZ_CHECK(w == (a <= APISEC_DEC_MAX ? a : APISEC_DEC_MAX));

    free(s);

    return 0;
}
