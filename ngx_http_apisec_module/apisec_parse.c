/*
 * apisec: parsing and formatting of durations, RFC 3339 times, CIDRs,
 * permissions, statuses and identifiers.  Plain C, no nginx types, no
 * locale, no libc time functions: dates use days-from-civil arithmetic.
 */


#include <string.h>

#include "apisec_parse.h"


#define APISEC_DURATION_MAX   ((int64_t) 36525 * 86400)   /* 100 years */
#define APISEC_TIME_TEXT_MAX  64
#define APISEC_TIME_MAX       ((int64_t) 253402300799)    /* 9999-12-31 */
#define APISEC_CIDR_TEXT_MAX  64
#define APISEC_PERMS_TEXT_MAX 256

#define apisec_is_digit(c)    ((c) >= '0' && (c) <= '9')


static int apisec_digits(const char *p, size_t n, int *v);
static int64_t apisec_days_from_civil(int64_t y, int m, int d);
static void apisec_civil_from_days(int64_t z, int64_t *y, int *m, int *d);
static int apisec_days_in_month(int64_t y, int m);
static char *apisec_put_digits(char *p, unsigned v, int width);
static int apisec_parse_ipv4(const char *p, size_t len, uint8_t *addr);
static int apisec_parse_ipv6(const char *p, size_t len, uint8_t *addr);
static void apisec_cidr_clear_host(apisec_cidr_t *c);
static char *apisec_format_ipv6(const uint8_t *addr, char *p);
static int apisec_perm_word(const char *s, size_t len, unsigned *perm);


static const char  apisec_hex_lower[] = "0123456789abcdef";

/* 1 for the characters of an access key: [A-Za-z0-9._-] */

static const unsigned char  apisec_key_chars[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0,
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1,
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
};

static const char  *apisec_status_names[] = {
    "active", "disabled", "expired", "locked"
};


const signed char  apisec_hex_values[256] = {
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
     0,  1,  2,  3,  4,  5,  6,  7,  8,  9, -1, -1, -1, -1, -1, -1,
    -1, 10, 11, 12, 13, 14, 15, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, 10, 11, 12, 13, 14, 15, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1
};


/* exactly n decimal digits */

static int
apisec_digits(const char *p, size_t n, int *v)
{
    int     r;
    size_t  i;

    r = 0;

    for (i = 0; i < n; i++) {
        if (!apisec_is_digit(p[i])) {
            return -1;
        }

        r = r * 10 + (p[i] - '0');
    }

    *v = r;

    return 0;
}


int
apisec_parse_duration(const char *s, size_t len, int64_t *secs)
{
    size_t   i;
    int64_t  n, unit;

    if (s == NULL || secs == NULL || len < 2 || len > 32) {
        return -1;
    }

    switch (s[len - 1]) {
    case 's':
        unit = 1;
        break;
    case 'm':
        unit = 60;
        break;
    case 'h':
        unit = 3600;
        break;
    case 'd':
        unit = 86400;
        break;
    default:
        return -1;
    }

    n = 0;

    for (i = 0; i < len - 1; i++) {
        if (!apisec_is_digit(s[i])) {
            return -1;
        }

        n = n * 10 + (s[i] - '0');

        if (n > APISEC_DURATION_MAX) {
            return -1;
        }
    }

    if (n == 0 || n > APISEC_DURATION_MAX / unit) {
        return -1;
    }

    *secs = n * unit;

    return 0;
}


/* Howard Hinnant's days_from_civil: days since 1970-01-01 */

static int64_t
apisec_days_from_civil(int64_t y, int m, int d)
{
    int64_t  era, yoe, doy, doe;

    y -= (m <= 2);
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + doe - 719468;
}


static void
apisec_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    int64_t  era, doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;

    *d = (int) (doy - (153 * mp + 2) / 5 + 1);
    *m = (int) (mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}


static int
apisec_days_in_month(int64_t y, int m)
{
    static const int  days[] = {
        31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
    };

    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) {
        return 29;
    }

    return days[m - 1];
}


/*
 * "YYYY-MM-DDThh:mm:ss[.frac](Z|+hh:mm|-hh:mm)".  Seconds are 00..59: a
 * leap second (":60") is refused, as is any result before 1970 or after
 * 9999-12-31T23:59:59Z once the offset is applied.
 */

int
apisec_parse_time(const char *s, size_t len, int64_t *t)
{
    int      year, mon, day, hh, mm, ss, oh, om;
    size_t   i;
    int64_t  r, off;

    if (s == NULL || t == NULL || len < 20 || len > APISEC_TIME_TEXT_MAX) {
        return -1;
    }

    if (apisec_digits(s, 4, &year) != 0 || s[4] != '-'
        || apisec_digits(s + 5, 2, &mon) != 0 || s[7] != '-'
        || apisec_digits(s + 8, 2, &day) != 0
        || (s[10] != 'T' && s[10] != 't' && s[10] != ' ')
        || apisec_digits(s + 11, 2, &hh) != 0 || s[13] != ':'
        || apisec_digits(s + 14, 2, &mm) != 0 || s[16] != ':'
        || apisec_digits(s + 17, 2, &ss) != 0)
    {
        return -1;
    }

    if (year < 1970 || mon < 1 || mon > 12 || day < 1
        || day > apisec_days_in_month(year, mon)
        || hh > 23 || mm > 59 || ss > 59)
    {
        return -1;
    }

    i = 19;

    if (s[i] == '.') {
        i++;

        if (i == len || !apisec_is_digit(s[i])) {
            return -1;
        }

        while (i < len && apisec_is_digit(s[i])) {
            i++;
        }

        if (i == len) {
            return -1;
        }
    }

    off = 0;

    if (s[i] == 'Z' || s[i] == 'z') {
        i++;

    } else if (s[i] == '+' || s[i] == '-') {
        if (len - i != 6
            || apisec_digits(s + i + 1, 2, &oh) != 0 || s[i + 3] != ':'
            || apisec_digits(s + i + 4, 2, &om) != 0
            || oh > 23 || om > 59)
        {
            return -1;
        }

        off = (int64_t) oh * 3600 + om * 60;

        if (s[i] == '-') {
            off = -off;
        }

        i += 6;

    } else {
        return -1;
    }

    if (i != len) {
        return -1;
    }

    r = apisec_days_from_civil(year, mon, day) * 86400
        + (int64_t) hh * 3600 + mm * 60 + ss - off;

    if (r < 0 || r > APISEC_TIME_MAX) {
        return -1;
    }

    *t = r;

    return 0;
}


static char *
apisec_put_digits(char *p, unsigned v, int width)
{
    int  i;

    for (i = width - 1; i >= 0; i--) {
        p[i] = (char) ('0' + v % 10);
        v /= 10;
    }

    return p + width;
}


/* times outside 1970..9999 are clamped to the nearest end */

void
apisec_format_time(int64_t t, char *out)
{
    int      m, d;
    char    *p;
    int64_t  y, days, secs;

    if (t < 0) {
        t = 0;
    }

    if (t > APISEC_TIME_MAX) {
        t = APISEC_TIME_MAX;
    }

    days = t / 86400;
    secs = t % 86400;

    apisec_civil_from_days(days, &y, &m, &d);

    p = out;
    p = apisec_put_digits(p, (unsigned) y, 4);
    *p++ = '-';
    p = apisec_put_digits(p, (unsigned) m, 2);
    *p++ = '-';
    p = apisec_put_digits(p, (unsigned) d, 2);
    *p++ = 'T';
    p = apisec_put_digits(p, (unsigned) (secs / 3600), 2);
    *p++ = ':';
    p = apisec_put_digits(p, (unsigned) (secs / 60 % 60), 2);
    *p++ = ':';
    p = apisec_put_digits(p, (unsigned) (secs % 60), 2);
    *p++ = 'Z';
    *p = '\0';
}


/* exactly four decimal octets, no leading zeros, each 0..255 */

static int
apisec_parse_ipv4(const char *p, size_t len, uint8_t *addr)
{
    size_t    i, start;
    unsigned  v, parts;

    i = 0;

    for (parts = 0; parts < 4; parts++) {

        if (parts > 0) {
            if (i == len || p[i] != '.') {
                return -1;
            }

            i++;
        }

        start = i;
        v = 0;

        while (i < len && i - start < 3 && apisec_is_digit(p[i])) {
            v = v * 10 + (unsigned) (p[i] - '0');
            i++;
        }

        if (i == start || (i - start > 1 && p[start] == '0') || v > 255) {
            return -1;
        }

        addr[parts] = (uint8_t) v;
    }

    return (i == len) ? 0 : -1;
}


/*
 * RFC 4291 text: eight groups of 1..4 hex digits, at most one "::"
 * standing for one or more zero groups, an optional dotted IPv4 address
 * in place of the last two groups.  No zone index.
 */

static int
apisec_parse_ipv6(const char *p, size_t len, uint8_t *addr)
{
    int       gap, d;
    size_t    i, start, n, k;
    uint8_t   bytes[16];
    unsigned  v;

    if (len < 2) {
        return -1;
    }

    n = 0;
    gap = -1;
    i = 0;

    if (p[0] == ':') {
        if (p[1] != ':') {
            return -1;
        }

        gap = 0;
        i = 2;
    }

    while (i < len) {

        start = i;
        v = 0;

        while (i < len && i - start < 5) {
            d = apisec_hex_value((unsigned char) p[i]);

            if (d < 0) {
                break;
            }

            v = v * 16 + (unsigned) d;
            i++;
        }

        if (i < len && p[i] == '.') {
            if (n > 12 || apisec_parse_ipv4(p + start, len - start,
                                            bytes + n)
                          != 0)
            {
                return -1;
            }

            n += 4;
            break;
        }

        if (i == start || i - start > 4 || n == 16) {
            return -1;
        }

        bytes[n++] = (uint8_t) (v >> 8);
        bytes[n++] = (uint8_t) (v & 0xff);

        if (i == len) {
            break;
        }

        if (p[i] != ':') {
            return -1;
        }

        i++;

        if (i == len) {
            return -1;
        }

        if (p[i] == ':') {
            if (gap != -1) {
                return -1;
            }

            gap = (int) n;
            i++;
        }
    }

    if (gap == -1) {
        if (n != 16) {
            return -1;
        }

        memcpy(addr, bytes, 16);
        return 0;
    }

    if (n > 14) {
        return -1;
    }

    memset(addr, 0, 16);
    memcpy(addr, bytes, (size_t) gap);

    k = n - (size_t) gap;
    memcpy(addr + 16 - k, bytes + gap, k);

    return 0;
}


static void
apisec_cidr_clear_host(apisec_cidr_t *c)
{
    unsigned  full, rem;

    full = c->prefix / 8;
    rem = c->prefix % 8;

    if (rem) {
        c->addr[full] &= (uint8_t) (0xff << (8 - rem));
        full++;
    }

    if (full < 16) {
        memset(c->addr + full, 0, 16 - full);
    }
}


int
apisec_parse_cidr(const char *s, size_t len, apisec_cidr_t *c)
{
    size_t         alen, i;
    unsigned       prefix, max;
    apisec_cidr_t  r;

    if (s == NULL || c == NULL || len == 0 || len > APISEC_CIDR_TEXT_MAX) {
        return -1;
    }

    for (alen = 0; alen < len && s[alen] != '/'; alen++) {
        /* void */
    }

    memset(&r, 0, sizeof(apisec_cidr_t));

    if (memchr(s, ':', alen) != NULL) {
        if (apisec_parse_ipv6(s, alen, r.addr) != 0) {
            return -1;
        }

        r.family = 6;
        max = 128;

    } else {
        if (apisec_parse_ipv4(s, alen, r.addr) != 0) {
            return -1;
        }

        r.family = 4;
        max = 32;
    }

    prefix = max;

    if (alen < len) {
        i = alen + 1;

        if (i == len || len - i > 3 || (len - i > 1 && s[i] == '0')) {
            return -1;
        }

        prefix = 0;

        for ( /* void */ ; i < len; i++) {
            if (!apisec_is_digit(s[i])) {
                return -1;
            }

            prefix = prefix * 10 + (unsigned) (s[i] - '0');
        }

        if (prefix > max) {
            return -1;
        }
    }

    r.prefix = (uint8_t) prefix;

    /* ::ffff:0:0/96 and longer: the IPv4 network */

    if (r.family == 6 && prefix >= 96
        && memcmp(r.addr, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0)
    {
        r.family = 4;
        r.prefix = (uint8_t) (prefix - 96);
        memmove(r.addr, r.addr + 12, 4);
        memset(r.addr + 4, 0, 12);
    }

    apisec_cidr_clear_host(&r);

    *c = r;

    return 0;
}


/*
 * RFC 5952: lowercase, no leading zeros, the longest run of two or more
 * zero groups (the first one on a tie) as "::".
 */

static char *
apisec_format_ipv6(const uint8_t *addr, char *p)
{
    int       i, j, best, bestlen, d;
    unsigned  w[8], v;

    for (i = 0; i < 8; i++) {
        w[i] = ((unsigned) addr[2 * i] << 8) | addr[2 * i + 1];
    }

    best = -1;
    bestlen = 1;

    for (i = 0; i < 8; i = j + 1) {
        for (j = i; j < 8 && w[j] == 0; j++) {
            /* void */
        }

        if (j - i > bestlen) {
            best = i;
            bestlen = j - i;
        }
    }

    for (i = 0; i < 8; i++) {

        if (i == best) {
            *p++ = ':';
            *p++ = ':';
            i += bestlen - 1;
            continue;
        }

        if (i > 0 && i != best + bestlen) {
            *p++ = ':';
        }

        v = w[i];

        for (d = 12; d > 0 && (v >> d) == 0; d -= 4) {
            /* void */
        }

        for ( /* void */ ; d >= 0; d -= 4) {
            *p++ = apisec_hex_lower[(v >> d) & 0xf];
        }
    }

    return p;
}


void
apisec_format_cidr(const apisec_cidr_t *c, char *out)
{
    int    i;
    char  *p;

    p = out;

    if (c->family == 4) {
        for (i = 0; i < 4; i++) {
            if (i > 0) {
                *p++ = '.';
            }

            if (c->addr[i] >= 100) {
                p = apisec_put_digits(p, c->addr[i], 3);

            } else if (c->addr[i] >= 10) {
                p = apisec_put_digits(p, c->addr[i], 2);

            } else {
                p = apisec_put_digits(p, c->addr[i], 1);
            }
        }

    } else {
        p = apisec_format_ipv6(c->addr, p);
    }

    *p++ = '/';

    if (c->prefix >= 100) {
        p = apisec_put_digits(p, c->prefix, 3);

    } else if (c->prefix >= 10) {
        p = apisec_put_digits(p, c->prefix, 2);

    } else {
        p = apisec_put_digits(p, c->prefix, 1);
    }

    *p = '\0';
}


int
apisec_cidr_match(const apisec_cidr_t *c, int family, const uint8_t *addr)
{
    unsigned  full, rem, max;
    uint8_t   mask;

    if (c == NULL || addr == NULL || c->family != family) {
        return 0;
    }

    max = (family == 4) ? 32 : 128;

    if (c->prefix > max) {
        return 0;
    }

    full = c->prefix / 8;
    rem = c->prefix % 8;

    if (memcmp(c->addr, addr, full) != 0) {
        return 0;
    }

    if (rem) {
        mask = (uint8_t) (0xff << (8 - rem));

        if ((c->addr[full] & mask) != (addr[full] & mask)) {
            return 0;
        }
    }

    return 1;
}


static int
apisec_perm_word(const char *s, size_t len, unsigned *perm)
{
    if (len == 4 && memcmp(s, "read", 4) == 0) {
        *perm = APISEC_PERM_READ;
        return 0;
    }

    if (len == 5 && memcmp(s, "trade", 5) == 0) {
        *perm = APISEC_PERM_TRADE;
        return 0;
    }

    if (len == 8 && memcmp(s, "withdraw", 8) == 0) {
        *perm = APISEC_PERM_WITHDRAW;
        return 0;
    }

    return -1;
}


int
apisec_parse_perms(const char *s, size_t len, unsigned *perms)
{
    size_t    i, start;
    unsigned  r, p;

    if (s == NULL || perms == NULL || len == 0
        || len > APISEC_PERMS_TEXT_MAX)
    {
        return -1;
    }

    r = 0;
    start = 0;

    for (i = 0; i <= len; i++) {
        if (i < len && s[i] != ',') {
            continue;
        }

        if (apisec_perm_word(s + start, i - start, &p) != 0) {
            return -1;
        }

        r |= p;
        start = i + 1;
    }

    *perms = r;

    return 0;
}


void
apisec_format_perms(unsigned perms, char *out)
{
    char  *p;

    p = out;

    if (perms & APISEC_PERM_READ) {
        memcpy(p, "read,", 5);
        p += 5;
    }

    if (perms & APISEC_PERM_TRADE) {
        memcpy(p, "trade,", 6);
        p += 6;
    }

    if (perms & APISEC_PERM_WITHDRAW) {
        memcpy(p, "withdraw,", 9);
        p += 9;
    }

    if (p > out) {
        p--;
    }

    *p = '\0';
}


const char *
apisec_status_name(int status)
{
    if (status < 0 || status > APISEC_STATUS_MAX) {
        return "unknown";
    }

    return apisec_status_names[status];
}


int
apisec_parse_status(const char *s, size_t len, int *status)
{
    int  i;

    if (s == NULL || status == NULL) {
        return -1;
    }

    for (i = 0; i <= APISEC_STATUS_MAX; i++) {
        if (strlen(apisec_status_names[i]) == len
            && memcmp(apisec_status_names[i], s, len) == 0)
        {
            *status = i;
            return 0;
        }
    }

    return -1;
}


int
apisec_valid_access_key(const char *s, size_t len)
{
    size_t  i;

    if (s == NULL || len == 0 || len > APISEC_KEY_MAX) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (!apisec_key_chars[(unsigned char) s[i]]) {
            return 0;
        }
    }

    return 1;
}


int
apisec_valid_account(const char *s, size_t len)
{
    size_t  i;
    char    c;

    if (s == NULL || len == 0 || len > APISEC_ACCOUNT_MAX) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        c = s[i];

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || apisec_is_digit(c) || c == '.' || c == '_' || c == '-'
            || c == '@' || c == ':')
        {
            continue;
        }

        return 0;
    }

    return 1;
}


/*
 * Printable ASCII and well-formed UTF-8 (no overlong forms, no
 * surrogates, nothing above U+10FFFF); no C0 or C1 control character and
 * no DEL.  The empty label is valid.
 */

int
apisec_valid_label(const char *s, size_t len)
{
    size_t                i, n, k;
    unsigned char         c, lo, hi;
    const unsigned char  *p;

    if (len > APISEC_LABEL_MAX || (s == NULL && len != 0)) {
        return 0;
    }

    p = (const unsigned char *) s;

    for (i = 0; i < len; i += n + 1) {
        c = p[i];
        lo = 0x80;
        hi = 0xbf;

        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f) {
                return 0;
            }

            n = 0;

        } else if (c == 0xc2) {
            n = 1;
            lo = 0xa0;                  /* U+0080..U+009F: C1 controls */

        } else if (c > 0xc2 && c <= 0xdf) {
            n = 1;

        } else if (c == 0xe0) {
            n = 2;
            lo = 0xa0;

        } else if (c == 0xed) {
            n = 2;
            hi = 0x9f;                  /* no UTF-16 surrogates */

        } else if (c >= 0xe1 && c <= 0xef) {
            n = 2;

        } else if (c == 0xf0) {
            n = 3;
            lo = 0x90;

        } else if (c >= 0xf1 && c <= 0xf3) {
            n = 3;

        } else if (c == 0xf4) {
            n = 3;
            hi = 0x8f;

        } else {
            return 0;
        }

        if (len - i - 1 < n) {
            return 0;
        }

        if (n > 0 && (p[i + 1] < lo || p[i + 1] > hi)) {
            return 0;
        }

        for (k = 2; k <= n; k++) {
            if (p[i + k] < 0x80 || p[i + k] > 0xbf) {
                return 0;
            }
        }
    }

    return 1;
}


int
apisec_valid_secret(const char *s, size_t len)
{
    size_t  i;

    if (s == NULL || len < APISEC_SECRET_MIN || len > APISEC_SECRET_MAX) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (s[i] < 0x21 || s[i] > 0x7e) {
            return 0;
        }
    }

    return 1;
}


int
apisec_valid_passphrase(const char *s, size_t len)
{
    size_t  i;

    if (s == NULL || len == 0 || len > APISEC_PASSPHRASE_MAX) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if ((unsigned char) s[i] < 0x20 || (unsigned char) s[i] > 0x7e) {
            return 0;
        }
    }

    return 1;
}
