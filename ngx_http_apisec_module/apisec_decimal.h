/*
 * apisec: exact decimal amounts for the amount rule.  Plain C, no nginx
 * types, never floating point: an amount is an unsigned 128-bit count of
 * 10^-18 units, so every decimal with at most 20 integer and 18
 * fractional digits is held exactly and sums are exact.
 *
 * The parser takes a pointer and a length (the input need not be
 * NUL-terminated), bounds the length before it reads a digit, and returns
 * 0 on success or -1 on any text outside the grammar below.
 */

#ifndef _APISEC_DECIMAL_H_INCLUDED_
#define _APISEC_DECIMAL_H_INCLUDED_


#include <stddef.h>


/*
 * Aligned to 8, not 16: nginx pools and arrays align to 8 bytes, and a
 * 16-byte aligned type there would be copied with aligned SSE moves.
 */
typedef unsigned __int128  apisec_dec_t __attribute__((aligned(8)));
                                               /* units of 10^-18 */


#define APISEC_DEC_FRAC     18                 /* fractional digits at most */
#define APISEC_DEC_INT      20                 /* integer digits at most */
#define APISEC_DEC_LEN      (APISEC_DEC_INT + 1 + APISEC_DEC_FRAC + 1)
                                               /* text + NUL */

#define APISEC_DEC_ONE      ((apisec_dec_t) 1000000000000000000ULL)

/* the largest parseable value, 10^20 - 10^-18: twenty 9s, '.', eighteen */
#define APISEC_DEC_MAX      (APISEC_DEC_ONE * APISEC_DEC_ONE * 100 - 1)


/*
 * "0" or [1-9][0-9]{0,19}, optionally followed by '.' and 1 to 18 digits
 * (trailing zeros allowed: "1.50" is 1.5).  Nothing else: no sign, no
 * exponent, no leading zero ("007", "00.5"), no ".5" or "5.", no white
 * space, no digit other than ASCII 0-9, no separator.
 */
int apisec_dec_parse(const char *s, size_t len, apisec_dec_t *v);

/*
 * The shortest exact text of v ("0", "12.5", "10000",
 * "100.000000000000000001") plus NUL into out[APISEC_DEC_LEN]; returns
 * its length.  apisec_dec_parse() of it gives v back.  A v above
 * APISEC_DEC_MAX, which no parse or add produces, is written as
 * APISEC_DEC_MAX.
 */
size_t apisec_dec_format(apisec_dec_t v, char *out);

/* *sum += v; -1, *sum unchanged, when the result exceeds APISEC_DEC_MAX */
int apisec_dec_add(apisec_dec_t *sum, apisec_dec_t v);


#endif /* _APISEC_DECIMAL_H_INCLUDED_ */
