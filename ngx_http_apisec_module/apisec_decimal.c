/*
 * apisec: exact decimal amounts (see apisec_decimal.h).  The digits are
 * converted here, one at a time: no strtod, no locale, no printf.
 */


#include <stdint.h>

#include "apisec_decimal.h"


#define apisec_is_digit(c)    ((c) >= '0' && (c) <= '9')


int
apisec_dec_parse(const char *s, size_t len, apisec_dec_t *v)
{
    size_t        i, start, nfrac;
    uint64_t      frac;
    apisec_dec_t  ip;

    if (s == NULL || v == NULL || len == 0 || len > APISEC_DEC_LEN - 1) {
        return -1;
    }

    /* the integer part: "0", or no leading zero and at most 20 digits */

    i = 0;
    ip = 0;

    if (s[0] == '0') {
        i = 1;

    } else {
        while (i < len && apisec_is_digit(s[i])) {
            if (i == APISEC_DEC_INT) {
                return -1;
            }

            ip = ip * 10 + (unsigned) (s[i] - '0');
            i++;
        }

        if (i == 0) {
            return -1;
        }
    }

    frac = 0;
    nfrac = 0;

    if (i < len) {
        if (s[i] != '.') {
            return -1;
        }

        i++;
        start = i;

        while (i < len) {
            if (!apisec_is_digit(s[i]) || i - start == APISEC_DEC_FRAC) {
                return -1;
            }

            frac = frac * 10 + (unsigned) (s[i] - '0');
            i++;
        }

        nfrac = i - start;

        if (nfrac == 0) {
            return -1;
        }
    }

    /* frac had nfrac digits: scale it to 18 */

    for ( /* void */ ; nfrac < APISEC_DEC_FRAC; nfrac++) {
        frac *= 10;
    }

    *v = ip * APISEC_DEC_ONE + frac;

    return 0;
}


size_t
apisec_dec_format(apisec_dec_t v, char *out)
{
    int           i, last;
    char          tmp[APISEC_DEC_INT];
    size_t        n, k;
    uint64_t      frac;
    apisec_dec_t  ip;

    if (v > APISEC_DEC_MAX) {
        v = APISEC_DEC_MAX;
    }

    ip = v / APISEC_DEC_ONE;
    frac = (uint64_t) (v % APISEC_DEC_ONE);

    /* the integer part, backwards into tmp: at least one digit */

    k = 0;

    do {
        tmp[k++] = (char) ('0' + (unsigned) (ip % 10));
        ip /= 10;
    } while (ip != 0);

    for (n = 0; n < k; n++) {
        out[n] = tmp[k - 1 - n];
    }

    if (frac != 0) {
        out[n++] = '.';

        /* 18 digits with their leading zeros, then cut the trailing ones */

        for (i = APISEC_DEC_FRAC - 1; i >= 0; i--) {
            out[n + (size_t) i] = (char) ('0' + (unsigned) (frac % 10));
            frac /= 10;
        }

        for (last = APISEC_DEC_FRAC; out[n + (size_t) last - 1] == '0';
             last--)
        {
            /* void */
        }

        n += (size_t) last;
    }

    out[n] = '\0';

    return n;
}


int
apisec_dec_add(apisec_dec_t *sum, apisec_dec_t v)
{
    if (*sum > APISEC_DEC_MAX || v > APISEC_DEC_MAX - *sum) {
        return -1;
    }

    *sum += v;

    return 0;
}
