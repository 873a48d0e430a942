/*
 * fuzz_time: RFC 3339 times (apisec_parse_time: htx and okx timestamps,
 * apisecctl's --expires and import times) and durations
 * (apisec_parse_duration: apisec_time_window, apisec_idle_expiry,
 * --idle-over).
 *
 * Input: the text to parse.  Round trips: a parsed time formats
 * (apisec_format_time) to text that parses back to the same second, and
 * the first eight bytes of the input, taken as any int64 time, format to
 * a text that parses back to that time clamped to 1970..9999.
 */

#include "fuzz.h"

#include "apisec_parse.h"


#define FUZZ_TIME_MAX  ((int64_t) 253402300799)     /* 9999-12-31T23:59:59Z */


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char        out[APISEC_TIME_LEN + 1];
    int64_t     t, t2, d, x;
    uint64_t    u;
    size_t      i;
    const char *s;
    char       *copy;

    copy = (char *) fuzz_dup(data, size);
    s = copy;

    if (apisec_parse_time(s, size, &t) == 0) {
        FUZZ_CHECK(t >= 0 && t <= FUZZ_TIME_MAX);

        memset(out, 0x55, sizeof(out));
        apisec_format_time(t, out);
        FUZZ_CHECK(strlen(out) == APISEC_TIME_LEN);
        FUZZ_CHECK(apisec_parse_time(out, APISEC_TIME_LEN, &t2) == 0);
        FUZZ_CHECK(t2 == t);
    }

    if (apisec_parse_duration(s, size, &d) == 0) {
        FUZZ_CHECK(d > 0 && d <= (int64_t) 36525 * 86400);
    }

    if (size >= 8) {
        u = 0;

        for (i = 0; i < 8; i++) {
            u = (u << 8) | data[i];
        }

        memcpy(&x, &u, sizeof(x));

        apisec_format_time(x, out);
        FUZZ_CHECK(strlen(out) == APISEC_TIME_LEN);
        FUZZ_CHECK(apisec_parse_time(out, APISEC_TIME_LEN, &t2) == 0);

        if (x < 0) {
            x = 0;
        }

        if (x > FUZZ_TIME_MAX) {
            x = FUZZ_TIME_MAX;
        }

        FUZZ_CHECK(t2 == x);
    }

    free(copy);

    return 0;
}
