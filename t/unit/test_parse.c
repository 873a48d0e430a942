/*
 * Unit tests of apisec_parse.c: durations, RFC 3339 times, CIDRs,
 * permissions, statuses and identifier validators.  inet_pton(),
 * inet_ntop() and gmtime_r() serve only as cross-checks here.
 */


#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "unit.h"
#include "apisec_parse.h"


#define S(s)  (s), (sizeof(s) - 1)


static int dur(const char *s, int64_t *v);
static int tm(const char *s, int64_t *v);
static const char *cidr(const char *s);
static int cidr_bad(const char *s);
static int match(const char *net, const char *ip);
static unsigned perms(const char *s);
static void test_duration(void);
static void test_time(void);
static void test_time_roundtrip(void);
static void test_cidr_v4(void);
static void test_cidr_v6(void);
static void test_cidr_pton(void);
static void test_cidr_random(void);
static void test_match(void);
static void test_perms(void);
static void test_status(void);
static void test_validators(void);


static int
dur(const char *s, int64_t *v)
{
    *v = -1;
    return apisec_parse_duration(s, strlen(s), v);
}


static int
tm(const char *s, int64_t *v)
{
    *v = -1;
    return apisec_parse_time(s, strlen(s), v);
}


/* the canonical text of a parsed CIDR, or "ERR" */

static const char *
cidr(const char *s)
{
    apisec_cidr_t  c;
    static char    out[APISEC_CIDR_LEN];

    if (apisec_parse_cidr(s, strlen(s), &c) != 0) {
        return "ERR";
    }

    apisec_format_cidr(&c, out);

    return out;
}


static int
cidr_bad(const char *s)
{
    apisec_cidr_t  c;

    return apisec_parse_cidr(s, strlen(s), &c) == -1;
}


static int
match(const char *net, const char *ip)
{
    apisec_cidr_t  c;
    uint8_t        a[16];

    if (apisec_parse_cidr(net, strlen(net), &c) != 0) {
        return -1;
    }

    if (strchr(ip, ':') != NULL) {
        if (inet_pton(AF_INET6, ip, a) != 1) {
            return -1;
        }

        return apisec_cidr_match(&c, 6, a);
    }

    if (inet_pton(AF_INET, ip, a) != 1) {
        return -1;
    }

    return apisec_cidr_match(&c, 4, a);
}


static unsigned
perms(const char *s)
{
    unsigned  p;

    if (apisec_parse_perms(s, strlen(s), &p) != 0) {
        return 0xdead;
    }

    return p;
}


static void
test_duration(void)
{
    int64_t  v;

    CHECK(dur("1s", &v) == 0 && v == 1);
    CHECK(dur("59s", &v) == 0 && v == 59);
    CHECK(dur("15m", &v) == 0 && v == 900);
    CHECK(dur("2h", &v) == 0 && v == 7200);
    CHECK(dur("90d", &v) == 0 && v == 7776000);
    CHECK(dur("007d", &v) == 0 && v == 7 * 86400);
    CHECK(dur("36525d", &v) == 0 && v == (int64_t) 36525 * 86400);
    CHECK(dur("3155760000s", &v) == 0 && v == 3155760000LL);
    CHECK(dur("876600h", &v) == 0 && v == 3155760000LL);

    /* more than 100 years */
    CHECK(dur("36526d", &v) == -1);
    CHECK(dur("3155760001s", &v) == -1);
    CHECK(dur("876601h", &v) == -1);

    /* overflow of every width */
    CHECK(dur("9223372036854775807s", &v) == -1);
    CHECK(dur("9223372036854775808d", &v) == -1);
    CHECK(dur("99999999999999999999999999999d", &v) == -1);
    CHECK(dur("18446744073709551617s", &v) == -1);
    CHECK(dur("106751991167300d", &v) == -1);

    CHECK(dur("0s", &v) == -1);
    CHECK(dur("0d", &v) == -1);
    CHECK(dur("000d", &v) == -1);
    CHECK(dur("1x", &v) == -1);
    CHECK(dur("1D", &v) == -1);
    CHECK(dur("1", &v) == -1);
    CHECK(dur(" 1d", &v) == -1);
    CHECK(dur("1d ", &v) == -1);
    CHECK(dur("1 d", &v) == -1);
    CHECK(dur("+1d", &v) == -1);
    CHECK(dur("-1d", &v) == -1);
    CHECK(dur("1.5h", &v) == -1);
    CHECK(dur("1dd", &v) == -1);
    CHECK(dur("1h30m", &v) == -1);
    CHECK(dur("0x10s", &v) == -1);
    CHECK(dur("", &v) == -1);
    CHECK(dur("d", &v) == -1);
    CHECK(dur("s", &v) == -1);
    CHECK(v == -1);

    CHECK(apisec_parse_duration(NULL, 2, &v) == -1);
    CHECK(apisec_parse_duration("1d", 2, NULL) == -1);

    /* not NUL-terminated: only len bytes count */
    CHECK(apisec_parse_duration("90dXYZ", 3, &v) == 0 && v == 7776000);
    CHECK(apisec_parse_duration("90d", 2, &v) == -1);
}


static void
test_time(void)
{
    int64_t  v;

    CHECK(tm("1970-01-01T00:00:00Z", &v) == 0 && v == 0);
    CHECK(tm("2024-01-01T00:00:00Z", &v) == 0 && v == 1704067200);
    CHECK(tm("2024-02-29T12:34:56Z", &v) == 0 && v == 1709210096);
    CHECK(tm("2000-02-29T00:00:00Z", &v) == 0 && v == 951782400);
    CHECK(tm("2038-01-19T03:14:08Z", &v) == 0 && v == 2147483648LL);
    CHECK(tm("2100-03-01T00:00:00Z", &v) == 0 && v == 4107542400LL);
    CHECK(tm("1999-12-31T23:59:59Z", &v) == 0 && v == 946684799);
    CHECK(tm("9999-12-31T23:59:59Z", &v) == 0 && v == 253402300799LL);

    /* lowercase, space separator */
    CHECK(tm("2024-02-29t12:34:56z", &v) == 0 && v == 1709210096);
    CHECK(tm("2024-02-29 12:34:56Z", &v) == 0 && v == 1709210096);

    /* fractions are dropped */
    CHECK(tm("2024-02-29T12:34:56.999Z", &v) == 0 && v == 1709210096);
    CHECK(tm("2024-02-29T12:34:56.0Z", &v) == 0 && v == 1709210096);
    CHECK(tm("2024-02-29T12:34:56.123456789+00:00", &v) == 0
          && v == 1709210096);

    /* offsets */
    CHECK(tm("2024-01-01T01:00:00+01:00", &v) == 0 && v == 1704067200);
    CHECK(tm("2023-12-31T18:30:00-05:30", &v) == 0 && v == 1704067200);
    CHECK(tm("2024-01-01T00:00:00-00:00", &v) == 0 && v == 1704067200);
    CHECK(tm("2024-01-01T23:59:00+23:59", &v) == 0 && v == 1704067200);
    CHECK(tm("1970-01-01T00:00:00-00:01", &v) == 0 && v == 60);
    CHECK(tm("2024-02-29T12:34:56.5+02:00", &v) == 0
          && v == 1709210096 - 7200);

    /* calendar */
    CHECK(tm("2023-02-29T00:00:00Z", &v) == -1);
    CHECK(tm("2100-02-29T00:00:00Z", &v) == -1);
    CHECK(tm("1900-02-28T00:00:00Z", &v) == -1);
    CHECK(tm("2024-02-30T00:00:00Z", &v) == -1);
    CHECK(tm("2024-04-31T00:00:00Z", &v) == -1);
    CHECK(tm("2024-04-30T00:00:00Z", &v) == 0);
    CHECK(tm("2024-12-31T00:00:00Z", &v) == 0);
    CHECK(tm("2024-13-01T00:00:00Z", &v) == -1);
    CHECK(tm("2024-00-01T00:00:00Z", &v) == -1);
    CHECK(tm("2024-01-00T00:00:00Z", &v) == -1);
    CHECK(tm("2024-01-32T00:00:00Z", &v) == -1);

    /* clock: hh < 24, mm < 60, ss < 60 (a leap second is refused) */
    CHECK(tm("2024-01-01T24:00:00Z", &v) == -1);
    CHECK(tm("2024-01-01T23:60:00Z", &v) == -1);
    CHECK(tm("2024-01-01T23:59:60Z", &v) == -1);
    CHECK(tm("2016-12-31T23:59:60Z", &v) == -1);
    CHECK(tm("2024-01-01T23:59:59Z", &v) == 0);

    /* range: 1970..9999, before and after the offset */
    CHECK(tm("1969-12-31T23:59:59Z", &v) == -1);
    CHECK(tm("0000-01-01T00:00:00Z", &v) == -1);
    CHECK(tm("1970-01-01T00:00:00+00:01", &v) == -1);
    CHECK(tm("9999-12-31T23:59:59-00:01", &v) == -1);

    /* offsets */
    CHECK(tm("2024-01-01T00:00:00+24:00", &v) == -1);
    CHECK(tm("2024-01-01T00:00:00+01:60", &v) == -1);
    CHECK(tm("2024-01-01T00:00:00+0100", &v) == -1);
    CHECK(tm("2024-01-01T00:00:00+01", &v) == -1);
    CHECK(tm("2024-01-01T00:00:00+01:00:00", &v) == -1);
    CHECK(tm("2024-01-01T00:00:00 +01:00", &v) == -1);
    CHECK(tm("2024-01-01T00:00:00UTC", &v) == -1);

    /* shape */
    CHECK(tm("2024-01-01T00:00:00", &v) == -1);
    CHECK(tm("2024-01-01T00:00:00ZZ", &v) == -1);
    CHECK(tm("2024-01-01T00:00:00Z ", &v) == -1);
    CHECK(tm(" 2024-01-01T00:00:00Z", &v) == -1);
    CHECK(tm("2024-01-01T00:00:00.Z", &v) == -1);
    CHECK(tm("2024-01-01T00:00:00.", &v) == -1);
    CHECK(tm("2024-01-01T00:00:00.5", &v) == -1);
    CHECK(tm("2024-01-01T00:00:00,5Z", &v) == -1);
    CHECK(tm("2024-01-01X00:00:00Z", &v) == -1);
    CHECK(tm("2024-1-01T00:00:00Z", &v) == -1);
    CHECK(tm("2024-01-01T0:00:00Z", &v) == -1);
    CHECK(tm("2024/01/01T00:00:00Z", &v) == -1);
    CHECK(tm("+024-01-01T00:00:00Z", &v) == -1);
    CHECK(tm("2024-01-01T00:00:0aZ", &v) == -1);
    CHECK(tm("20240101T000000Z", &v) == -1);
    CHECK(tm("2024-01-01", &v) == -1);
    CHECK(tm("", &v) == -1);
    CHECK(tm("2024-01-01T00:00:00.0000000000000000000000000000000000000000"
             "0000000000Z", &v) == -1);
    CHECK(v == -1);

    CHECK(apisec_parse_time(NULL, 20, &v) == -1);
    CHECK(apisec_parse_time("2024-01-01T00:00:00Z", 20, NULL) == -1);

    /* not NUL-terminated */
    CHECK(apisec_parse_time("2024-01-01T00:00:00Z0000", 20, &v) == 0
          && v == 1704067200);
    CHECK(apisec_parse_time("2024-01-01T00:00:00Z", 19, &v) == -1);
}


static void
test_time_roundtrip(void)
{
    int        i;
    char       out[APISEC_TIME_LEN + 1], ref[64];
    int64_t    t, v;
    time_t     tt;
    uint64_t   x;
    struct tm  g;

    apisec_format_time(0, out);
    CHECK_STR(out, "1970-01-01T00:00:00Z");

    apisec_format_time(1709210096, out);
    CHECK_STR(out, "2024-02-29T12:34:56Z");

    apisec_format_time(951782399, out);
    CHECK_STR(out, "2000-02-28T23:59:59Z");

    apisec_format_time(253402300799LL, out);
    CHECK_STR(out, "9999-12-31T23:59:59Z");

    /* clamped */
    apisec_format_time(-1, out);
    CHECK_STR(out, "1970-01-01T00:00:00Z");

    apisec_format_time(INT64_MAX, out);
    CHECK_STR(out, "9999-12-31T23:59:59Z");

    CHECK_INT(strlen(out), APISEC_TIME_LEN);

    /* every day boundary of a leap-year span, then random instants */

    for (t = 946684800 - 86400; t < 946684800 + 2 * 366 * 86400; t += 86399) {
        apisec_format_time(t, out);
        CHECK(apisec_parse_time(out, strlen(out), &v) == 0 && v == t);
    }

    x = 0x9e3779b97f4a7c15ULL;

    for (i = 0; i < 20000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;

        t = (int64_t) (x % 253402300800ULL);

        apisec_format_time(t, out);

        if (apisec_parse_time(out, strlen(out), &v) != 0 || v != t) {
            CHECK_INT(v, t);
        }

        tt = (time_t) t;

        if (gmtime_r(&tt, &g) != NULL) {
            strftime(ref, sizeof(ref), "%Y-%m-%dT%H:%M:%SZ", &g);

            if (strcmp(out, ref) != 0) {
                CHECK_STR(out, ref);
            }
        }
    }

    CHECK(1);
}


static void
test_cidr_v4(void)
{
    apisec_cidr_t  c;

    CHECK_STR(cidr("192.168.1.0/24"), "192.168.1.0/24");
    CHECK_STR(cidr("10.0.0.1"), "10.0.0.1/32");
    CHECK_STR(cidr("10.0.0.1/32"), "10.0.0.1/32");
    CHECK_STR(cidr("0.0.0.0/0"), "0.0.0.0/0");
    CHECK_STR(cidr("1.2.3.4/0"), "0.0.0.0/0");
    CHECK_STR(cidr("255.255.255.255"), "255.255.255.255/32");
    CHECK_STR(cidr("10.1.2.3/8"), "10.0.0.0/8");
    CHECK_STR(cidr("1.2.3.5/31"), "1.2.3.4/31");
    CHECK_STR(cidr("1.2.3.4/31"), "1.2.3.4/31");
    CHECK_STR(cidr("192.168.1.255/25"), "192.168.1.128/25");
    CHECK_STR(cidr("172.31.255.255/12"), "172.16.0.0/12");
    CHECK_STR(cidr("203.0.113.77/1"), "128.0.0.0/1");
    CHECK_STR(cidr("0.0.0.0"), "0.0.0.0/32");
    CHECK_STR(cidr("100.20.3.0/23"), "100.20.2.0/23");

    CHECK(apisec_parse_cidr(S("10.9.8.7/16"), &c) == 0);
    CHECK(c.family == 4 && c.prefix == 16);
    CHECK(c.addr[0] == 10 && c.addr[1] == 9 && c.addr[2] == 0
          && c.addr[3] == 0);
    CHECK(memcmp(c.addr + 4, "\0\0\0\0\0\0\0\0\0\0\0\0", 12) == 0);

    CHECK(cidr_bad("01.2.3.4"));
    CHECK(cidr_bad("1.2.3.04"));
    CHECK(cidr_bad("1.2.3.00"));
    CHECK(cidr_bad("1.02.3.4"));
    CHECK(cidr_bad("256.1.1.1"));
    CHECK(cidr_bad("1.1.1.256"));
    CHECK(cidr_bad("1.1.1.999"));
    CHECK(cidr_bad("1234.1.1.1"));
    CHECK(cidr_bad("1.2.3"));
    CHECK(cidr_bad("1.2"));
    CHECK(cidr_bad("1"));
    CHECK(cidr_bad("1.2.3.4.5"));
    CHECK(cidr_bad("1.2.3."));
    CHECK(cidr_bad(".1.2.3"));
    CHECK(cidr_bad("1..2.3"));
    CHECK(cidr_bad("1.2.3.a"));
    CHECK(cidr_bad("0x1.1.1.1"));
    CHECK(cidr_bad("1.2.3.4 "));
    CHECK(cidr_bad(" 1.2.3.4"));
    CHECK(cidr_bad("1.2.3.-4"));
    CHECK(cidr_bad("+1.2.3.4"));
    CHECK(cidr_bad("1.2.3.4/33"));
    CHECK(cidr_bad("1.2.3.4/128"));
    CHECK(cidr_bad("1.2.3.4/1000"));
    CHECK(cidr_bad("1.2.3.4/"));
    CHECK(cidr_bad("1.2.3.4/-1"));
    CHECK(cidr_bad("1.2.3.4/+8"));
    CHECK(cidr_bad("1.2.3.4/08"));
    CHECK(cidr_bad("1.2.3.4/00"));
    CHECK(cidr_bad("1.2.3.4/ 8"));
    CHECK(cidr_bad("1.2.3.4/8 "));
    CHECK(cidr_bad("1.2.3.4/8/8"));
    CHECK(cidr_bad("1.2.3.4/8a"));
    CHECK(cidr_bad("1.2.3.4//8"));
    CHECK(cidr_bad("/8"));
    CHECK(cidr_bad("/"));
    CHECK(cidr_bad(""));
    CHECK(cidr_bad("localhost"));

    CHECK(apisec_parse_cidr(NULL, 7, &c) == -1);
    CHECK(apisec_parse_cidr("1.2.3.4", 7, NULL) == -1);

    /* only len bytes count */
    CHECK(apisec_parse_cidr("1.2.3.4/24", 7, &c) == 0 && c.prefix == 32);
    CHECK(apisec_parse_cidr("1.2.3.4/24", 9, &c) == 0 && c.prefix == 2);
}


static void
test_cidr_v6(void)
{
    apisec_cidr_t  c;

    CHECK_STR(cidr("::"), "::/128");
    CHECK_STR(cidr("::/0"), "::/0");
    CHECK_STR(cidr("::1"), "::1/128");
    CHECK_STR(cidr("::1/128"), "::1/128");
    CHECK_STR(cidr("1::"), "1::/128");
    CHECK_STR(cidr("2001:db8::/32"), "2001:db8::/32");
    CHECK_STR(cidr("2001:DB8:0:0:0:0:0:1"), "2001:db8::1/128");
    CHECK_STR(cidr("2001:0db8:0000:0000:0000:ff00:0042:8329"),
              "2001:db8::ff00:42:8329/128");

    /* RFC 5952 section 4 */
    CHECK_STR(cidr("2001:db8:0:0:1:0:0:1"), "2001:db8::1:0:0:1/128");
    CHECK_STR(cidr("2001:db8:0:1:1:1:1:1"), "2001:db8:0:1:1:1:1:1/128");
    CHECK_STR(cidr("2001:0:0:1:0:0:0:1"), "2001:0:0:1::1/128");
    CHECK_STR(cidr("2001:db8::0:1"), "2001:db8::1/128");
    CHECK_STR(cidr("2001:db8:aaaa:bbbb:cccc:dddd:0:1"),
              "2001:db8:aaaa:bbbb:cccc:dddd:0:1/128");
    CHECK_STR(cidr("2001:DB8::AbCd"), "2001:db8::abcd/128");
    CHECK_STR(cidr("0:0:0:0:0:0:0:0"), "::/128");
    CHECK_STR(cidr("0:0:0:0:0:0:0:1"), "::1/128");
    CHECK_STR(cidr("1:0:0:0:0:0:0:0"), "1::/128");
    CHECK_STR(cidr("1:0:1:0:1:0:1:0"), "1:0:1:0:1:0:1:0/128");
    CHECK_STR(cidr("1:0:0:1:0:0:0:0"), "1:0:0:1::/128");
    CHECK_STR(cidr("0:0:1:0:0:0:1:0"), "0:0:1::1:0/128");
    CHECK_STR(cidr("1:2:3:4:5:6:7::"), "1:2:3:4:5:6:7:0/128");
    CHECK_STR(cidr("::2:3:4:5:6:7:8"), "0:2:3:4:5:6:7:8/128");
    CHECK_STR(cidr("1:2:3:4:5:6:7:8"), "1:2:3:4:5:6:7:8/128");
    CHECK_STR(cidr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
              "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128");

    /* host bits */
    CHECK_STR(cidr("fe80::1:2:3:4/64"), "fe80::/64");
    CHECK_STR(cidr("2001:db8::1/64"), "2001:db8::/64");
    CHECK_STR(cidr("2001:db8:ffff::/33"), "2001:db8:8000::/33");
    CHECK_STR(cidr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/127"),
              "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127");
    CHECK_STR(cidr("ffff::/1"), "8000::/1");
    CHECK_STR(cidr("2001:db8::1/0"), "::/0");

    /* embedded IPv4 */
    CHECK_STR(cidr("::1.2.3.4"), "::102:304/128");
    CHECK_STR(cidr("2001:db8::ffff:1.2.3.4"), "2001:db8::ffff:102:304/128");
    CHECK_STR(cidr("1:2:3:4:5:6:1.2.3.4"), "1:2:3:4:5:6:102:304/128");
    CHECK_STR(cidr("64:ff9b::192.0.2.33/96"), "64:ff9b::/96");

    /* IPv4-mapped: stored as IPv4 */
    CHECK_STR(cidr("::ffff:1.2.3.4"), "1.2.3.4/32");
    CHECK_STR(cidr("::FFFF:102:304"), "1.2.3.4/32");
    CHECK_STR(cidr("::ffff:1.2.3.4/120"), "1.2.3.0/24");
    CHECK_STR(cidr("::ffff:1.2.3.4/96"), "0.0.0.0/0");
    CHECK_STR(cidr("::ffff:0:0/96"), "0.0.0.0/0");
    CHECK_STR(cidr("0:0:0:0:0:ffff:10.1.2.3/104"), "10.0.0.0/8");
    CHECK_STR(cidr("::ffff:1.2.3.4/95"), "::fffe:0:0/95");
    CHECK(apisec_parse_cidr(S("::ffff:1.2.3.4"), &c) == 0);
    CHECK(c.family == 4 && c.prefix == 32);
    CHECK(memcmp(c.addr, "\1\2\3\4\0\0\0\0\0\0\0\0\0\0\0\0", 16) == 0);

    /* not mapped: ::fffe:..., 1::ffff:... */
    CHECK_STR(cidr("::fffe:1.2.3.4"), "::fffe:102:304/128");
    CHECK_STR(cidr("1::ffff:1.2.3.4"), "1::ffff:102:304/128");

    CHECK(cidr_bad(":"));
    CHECK(cidr_bad(":::"));
    CHECK(cidr_bad("1:::2"));
    CHECK(cidr_bad("1::2::3"));
    CHECK(cidr_bad("::1::"));
    CHECK(cidr_bad(":1::"));
    CHECK(cidr_bad(":1:2:3:4:5:6:7:8"));
    CHECK(cidr_bad("1:2:3:4:5:6:7:8:"));
    CHECK(cidr_bad("1::2:"));
    CHECK(cidr_bad("1:2:3:4:5:6:7"));
    CHECK(cidr_bad("1:2:3:4:5:6:7:8:9"));
    CHECK(cidr_bad("1::2:3:4:5:6:7:8"));
    CHECK(cidr_bad("1:2:3:4:5:6:7:8::"));
    CHECK(cidr_bad("::1:2:3:4:5:6:7:8"));
    CHECK(cidr_bad("12345::"));
    CHECK(cidr_bad("::12345"));
    CHECK(cidr_bad("00000::"));
    CHECK(cidr_bad("g::"));
    CHECK(cidr_bad("::g"));
    CHECK(cidr_bad("1:2:3:4:5:6:7:-8"));
    CHECK(cidr_bad("::1/129"));
    CHECK(cidr_bad("::1/200"));
    CHECK(cidr_bad("::1/"));
    CHECK(cidr_bad("::1/064"));
    CHECK(cidr_bad("::/-0"));
    CHECK(cidr_bad("fe80::1%eth0"));
    CHECK(cidr_bad("fe80::1%1/64"));
    CHECK(cidr_bad("[::1]"));
    CHECK(cidr_bad(" ::1"));
    CHECK(cidr_bad("::1 "));
    CHECK(cidr_bad("1:2:3:4:5:6:7:1.2.3.4"));
    CHECK(cidr_bad("1:2:3:4:5:6:1.2.3.4:8"));
    CHECK(cidr_bad("::1.2.3"));
    CHECK(cidr_bad("::1.2.3.4.5"));
    CHECK(cidr_bad("::1.2.3.4:5"));
    CHECK(cidr_bad("::01.2.3.4"));
    CHECK(cidr_bad("::256.1.1.1"));
    CHECK(cidr_bad("::ffff:1.2.3.4/129"));
    CHECK_STR(cidr("::ffff:1.2.3.4/33"), "::/33");
    CHECK(cidr_bad("1.2.3.4::"));
    CHECK(cidr_bad("::1.2.3.4::"));
    CHECK(cidr_bad("::1.2.3.a"));
    CHECK(cidr_bad("::ffff:1.2.3.4 "));
}


/* the address part agrees with inet_pton() and yields the same bytes */

static void
test_cidr_pton(void)
{
    int             r;
    size_t          i;
    uint8_t         a[16];
    apisec_cidr_t   c;

    static const char  *v6[] = {
        "::", "::1", "1::", "1::2", "1:2::3:4", "::ffff:0:1", "::fffe:1:2",
        "2001:db8::1", "2001:db8:0:0:1:0:0:1", "1:2:3:4:5:6:7:8",
        "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8", "::1.2.3.4",
        "1:2:3:4:5:6:1.2.3.4", "1::1.2.3.4", "FFFF::ffff", "0::0",
        "0000:0000:0000:0000:0000:0000:0000:0001",
        ":", ":::", "1:::2", "1::2::3", ":1::", "1::2:", "1:2:3:4:5:6:7",
        "1:2:3:4:5:6:7:8:9", "1::2:3:4:5:6:7:8", "12345::", "g::",
        "1:2:3:4:5:6:7:1.2.3.4", "::1.2.3", "::1.2.3.4:5", "::01.2.3.4",
        "::256.1.1.1", "1.2.3.4::", "fe80::1%eth0", "::1.2.3.4.5",
        ":1:2:3:4:5:6:7", "1:2:3:4:5:6:7:", "::1:2:3:4:5:6:7:8",
        "1:2:3:4:5:6:7:8::", "::x", "1:2:3:4:5:6:1.2.3.4:8"
    };

    static const char  *v4[] = {
        "1.2.3.4", "0.0.0.0", "255.255.255.255", "10.0.0.1", "01.2.3.4",
        "1.2.3.04", "256.1.1.1", "1.2.3", "1.2.3.4.5", "1..2.3", "1.2.3.",
        ".1.2.3", "1234.1.1.1", "0x1.1.1.1", "1.2.3.4 ", "00.1.1.1"
    };

    for (i = 0; i < sizeof(v6) / sizeof(v6[0]); i++) {
        r = inet_pton(AF_INET6, v6[i], a);

        if ((apisec_parse_cidr(v6[i], strlen(v6[i]), &c) == 0) != (r == 1)) {
            fprintf(stderr, "inet_pton disagrees on \"%s\"\n", v6[i]);
            CHECK(0);
            continue;
        }

        if (r == 1) {
            if (c.family == 4) {
                CHECK(memcmp(a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0);
                CHECK(memcmp(a + 12, c.addr, 4) == 0);

            } else {
                CHECK(memcmp(a, c.addr, 16) == 0);
            }
        }
    }

    for (i = 0; i < sizeof(v4) / sizeof(v4[0]); i++) {
        r = inet_pton(AF_INET, v4[i], a);

        if ((apisec_parse_cidr(v4[i], strlen(v4[i]), &c) == 0) != (r == 1)) {
            fprintf(stderr, "inet_pton disagrees on \"%s\"\n", v4[i]);
            CHECK(0);
            continue;
        }

        if (r == 1) {
            CHECK(c.family == 4 && memcmp(a, c.addr, 4) == 0);
        }
    }
}


/*
 * Random addresses (rich in zero groups): our text parses back to the
 * same bytes, and matches inet_ntop() except where glibc prints an
 * IPv4-compatible address in dotted form.
 */

static void
test_cidr_random(void)
{
    int            i, j, bad;
    char           out[APISEC_CIDR_LEN], ref[INET6_ADDRSTRLEN + 8];
    uint8_t        a[16];
    uint64_t       x;
    apisec_cidr_t  c, d;

    x = 0x0123456789abcdefULL;
    bad = 0;

    for (i = 0; i < 20000; i++) {
        for (j = 0; j < 8; j++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;

            switch (x % 4) {
            case 0:
            case 1:
                a[2 * j] = 0;
                a[2 * j + 1] = 0;
                break;
            case 2:
                a[2 * j] = 0;
                a[2 * j + 1] = (uint8_t) (x >> 8);
                break;
            default:
                a[2 * j] = (uint8_t) (x >> 16);
                a[2 * j + 1] = (uint8_t) (x >> 24);
                break;
            }
        }

        if (memcmp(a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0) {
            continue;
        }

        c.family = 6;
        c.prefix = 128;
        memcpy(c.addr, a, 16);

        apisec_format_cidr(&c, out);

        if (apisec_parse_cidr(out, strlen(out), &d) != 0 || d.family != 6
            || d.prefix != 128 || memcmp(d.addr, a, 16) != 0)
        {
            bad++;
            continue;
        }

        if (memcmp(a, "\0\0\0\0\0\0\0\0\0\0\0\0", 12) == 0) {
            continue;
        }

        inet_ntop(AF_INET6, a, ref, sizeof(ref));
        strcat(ref, "/128");

        if (strcmp(out, ref) != 0) {
            fprintf(stderr, "format \"%s\", inet_ntop \"%s\"\n", out, ref);
            bad++;
        }
    }

    CHECK_INT(bad, 0);
}


static void
test_match(void)
{
    apisec_cidr_t  c;

    CHECK(match("10.0.0.0/8", "10.0.0.0") == 1);
    CHECK(match("10.0.0.0/8", "10.255.255.255") == 1);
    CHECK(match("10.0.0.0/8", "11.0.0.0") == 0);
    CHECK(match("10.0.0.0/8", "9.255.255.255") == 0);
    CHECK(match("192.168.1.128/25", "192.168.1.128") == 1);
    CHECK(match("192.168.1.128/25", "192.168.1.255") == 1);
    CHECK(match("192.168.1.128/25", "192.168.1.127") == 0);
    CHECK(match("192.168.1.128/25", "192.168.2.128") == 0);
    CHECK(match("1.2.3.4/31", "1.2.3.5") == 1);
    CHECK(match("1.2.3.4/31", "1.2.3.6") == 0);
    CHECK(match("1.2.3.4/31", "1.2.3.3") == 0);
    CHECK(match("1.2.3.4", "1.2.3.4") == 1);
    CHECK(match("1.2.3.4", "1.2.3.5") == 0);
    CHECK(match("0.0.0.0/0", "255.255.255.255") == 1);
    CHECK(match("0.0.0.0/0", "0.0.0.0") == 1);
    CHECK(match("128.0.0.0/1", "127.255.255.255") == 0);
    CHECK(match("128.0.0.0/1", "128.0.0.0") == 1);
    CHECK(match("::ffff:10.0.0.0/104", "10.1.1.1") == 1);

    CHECK(match("2001:db8::/32", "2001:db8::") == 1);
    CHECK(match("2001:db8::/32", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff")
          == 1);
    CHECK(match("2001:db8::/32", "2001:db9::") == 0);
    CHECK(match("2001:db8::/32", "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff")
          == 0);
    CHECK(match("2001:db8::/33", "2001:db8:7fff::1") == 1);
    CHECK(match("2001:db8::/33", "2001:db8:8000::") == 0);
    CHECK(match("2001:db8::/127", "2001:db8::1") == 1);
    CHECK(match("2001:db8::/127", "2001:db8::2") == 0);
    CHECK(match("::1", "::1") == 1);
    CHECK(match("::1", "::") == 0);
    CHECK(match("::/0", "ffff::1") == 1);

    /* families never mix */
    CHECK(match("::/0", "1.2.3.4") == 0);
    CHECK(match("0.0.0.0/0", "::1") == 0);

    CHECK(apisec_parse_cidr(S("1.2.3.4"), &c) == 0);
    CHECK(apisec_cidr_match(&c, 4, NULL) == 0);
    CHECK(apisec_cidr_match(NULL, 4, (const uint8_t *) "\1\2\3\4") == 0);
    CHECK(apisec_cidr_match(&c, 4, (const uint8_t *) "\1\2\3\4") == 1);
    CHECK(apisec_cidr_match(&c, 6, (const uint8_t *) "\1\2\3\4"
                                                     "\0\0\0\0\0\0\0\0"
                                                     "\0\0\0\0") == 0);
}


static void
test_perms(void)
{
    unsigned  p;
    char      out[APISEC_PERMS_LEN];

    CHECK(perms("read") == APISEC_PERM_READ);
    CHECK(perms("trade") == APISEC_PERM_TRADE);
    CHECK(perms("withdraw") == APISEC_PERM_WITHDRAW);
    CHECK(perms("read,trade,withdraw") == APISEC_PERM_ALL);
    CHECK(perms("withdraw,read") == (APISEC_PERM_READ | APISEC_PERM_WITHDRAW));
    CHECK(perms("trade,read") == (APISEC_PERM_READ | APISEC_PERM_TRADE));
    CHECK(perms("read,read") == APISEC_PERM_READ);

    CHECK(perms("") == 0xdead);
    CHECK(perms(",") == 0xdead);
    CHECK(perms("read,") == 0xdead);
    CHECK(perms(",read") == 0xdead);
    CHECK(perms("read,,trade") == 0xdead);
    CHECK(perms("Read") == 0xdead);
    CHECK(perms("READ") == 0xdead);
    CHECK(perms("read ,trade") == 0xdead);
    CHECK(perms("read, trade") == 0xdead);
    CHECK(perms(" read") == 0xdead);
    CHECK(perms("admin") == 0xdead);
    CHECK(perms("read;trade") == 0xdead);
    CHECK(perms("readtrade") == 0xdead);
    CHECK(perms("rea") == 0xdead);
    CHECK(perms("reads") == 0xdead);
    CHECK(perms("all") == 0xdead);
    CHECK(apisec_parse_perms(NULL, 4, &p) == -1);
    CHECK(apisec_parse_perms("read,trade", 4, &p) == 0
          && p == APISEC_PERM_READ);

    apisec_format_perms(APISEC_PERM_ALL, out);
    CHECK_STR(out, "read,trade,withdraw");
    apisec_format_perms(APISEC_PERM_READ | APISEC_PERM_WITHDRAW, out);
    CHECK_STR(out, "read,withdraw");
    apisec_format_perms(APISEC_PERM_TRADE, out);
    CHECK_STR(out, "trade");
    apisec_format_perms(0, out);
    CHECK_STR(out, "");

    for (p = 1; p <= APISEC_PERM_ALL; p++) {
        apisec_format_perms(p, out);
        CHECK(perms(out) == p);
    }
}


static void
test_status(void)
{
    int          s, r;
    const char  *name;

    CHECK_STR(apisec_status_name(APISEC_STATUS_ACTIVE), "active");
    CHECK_STR(apisec_status_name(APISEC_STATUS_DISABLED), "disabled");
    CHECK_STR(apisec_status_name(APISEC_STATUS_EXPIRED), "expired");
    CHECK_STR(apisec_status_name(APISEC_STATUS_LOCKED), "locked");
    CHECK_STR(apisec_status_name(4), "unknown");
    CHECK_STR(apisec_status_name(-1), "unknown");

    for (s = 0; s <= APISEC_STATUS_MAX; s++) {
        name = apisec_status_name(s);
        r = -1;
        CHECK(apisec_parse_status(name, strlen(name), &r) == 0 && r == s);
    }

    CHECK(apisec_parse_status(S("Active"), &s) == -1);
    CHECK(apisec_parse_status(S("activex"), &s) == -1);
    CHECK(apisec_parse_status(S("activ"), &s) == -1);
    CHECK(apisec_parse_status(S(""), &s) == -1);
    CHECK(apisec_parse_status(S("unknown"), &s) == -1);
    CHECK(apisec_parse_status(S(" locked"), &s) == -1);
    CHECK(apisec_parse_status("lockedX", 6, &s) == 0
          && s == APISEC_STATUS_LOCKED);
}


static void
test_validators(void)
{
    char  buf[300];

    CHECK(apisec_valid_access_key(S("abc")) == 1);
    CHECK(apisec_valid_access_key(S("A-Z_a.z-0.9")) == 1);
    CHECK(apisec_valid_access_key(S("")) == 0);
    CHECK(apisec_valid_access_key(S("a b")) == 0);
    CHECK(apisec_valid_access_key(S("a/b")) == 0);
    CHECK(apisec_valid_access_key(S("a@b")) == 0);
    CHECK(apisec_valid_access_key(S("a:b")) == 0);
    CHECK(apisec_valid_access_key(S("a+b")) == 0);
    CHECK(apisec_valid_access_key(S("a\nb")) == 0);
    CHECK(apisec_valid_access_key(S("\xc3\xa9")) == 0);
    CHECK(apisec_valid_access_key("a\0b", 3) == 0);
    CHECK(apisec_valid_access_key(NULL, 3) == 0);

    memset(buf, 'k', sizeof(buf));
    CHECK(apisec_valid_access_key(buf, APISEC_KEY_MAX) == 1);
    CHECK(apisec_valid_access_key(buf, APISEC_KEY_MAX + 1) == 0);
    CHECK(apisec_valid_account(buf, APISEC_ACCOUNT_MAX) == 1);
    CHECK(apisec_valid_account(buf, APISEC_ACCOUNT_MAX + 1) == 0);

    CHECK(apisec_valid_account(S("user@example.com")) == 1);
    CHECK(apisec_valid_account(S("acct:1")) == 1);
    CHECK(apisec_valid_account(S("sub-acct_2.x")) == 1);
    CHECK(apisec_valid_account(S("")) == 0);
    CHECK(apisec_valid_account(S("a b")) == 0);
    CHECK(apisec_valid_account(S("a/b")) == 0);
    CHECK(apisec_valid_account(S("a,b")) == 0);
    CHECK(apisec_valid_account(S("a\"b")) == 0);
    CHECK(apisec_valid_account(S("\xc3\xa9")) == 0);

    CHECK(apisec_valid_label(S("")) == 1);
    CHECK(apisec_valid_label(NULL, 0) == 1);
    CHECK(apisec_valid_label(S("trading bot #3 (prod)")) == 1);
    CHECK(apisec_valid_label(S("na\xc3\xafve caf\xc3\xa9")) == 1);
    CHECK(apisec_valid_label(S("\xe6\x97\xa5\xe6\x9c\xac")) == 1);
    CHECK(apisec_valid_label(S("\xf0\x9f\x94\x91 key")) == 1);
    CHECK(apisec_valid_label(S("\xc2\xa0nbsp")) == 1);
    CHECK(apisec_valid_label(S("\xef\xbf\xbd")) == 1);
    CHECK(apisec_valid_label(S("\xf4\x8f\xbf\xbf")) == 1);
    CHECK(apisec_valid_label(S("\xed\x9f\xbf")) == 1);
    CHECK(apisec_valid_label(S("~")) == 1);

    CHECK(apisec_valid_label(S("\x7f")) == 0);
    CHECK(apisec_valid_label(S("a\tb")) == 0);
    CHECK(apisec_valid_label(S("a\nb")) == 0);
    CHECK(apisec_valid_label(S("a\rb")) == 0);
    CHECK(apisec_valid_label(S("\x1b[31m")) == 0);
    CHECK(apisec_valid_label("a\0b", 3) == 0);
    CHECK(apisec_valid_label(S("\xc2\x85")) == 0);         /* C1 NEL */
    CHECK(apisec_valid_label(S("\xc2\x9b")) == 0);         /* C1 CSI */
    CHECK(apisec_valid_label(S("\xc0\xaf")) == 0);         /* overlong */
    CHECK(apisec_valid_label(S("\xc1\xbf")) == 0);
    CHECK(apisec_valid_label(S("\xe0\x80\xaf")) == 0);
    CHECK(apisec_valid_label(S("\xf0\x80\x80\xaf")) == 0);
    CHECK(apisec_valid_label(S("\xed\xa0\x80")) == 0);     /* surrogate */
    CHECK(apisec_valid_label(S("\xed\xbf\xbf")) == 0);
    CHECK(apisec_valid_label(S("\xf4\x90\x80\x80")) == 0); /* > U+10FFFF */
    CHECK(apisec_valid_label(S("\xf5\x80\x80\x80")) == 0);
    CHECK(apisec_valid_label(S("\xe6\x97")) == 0);         /* truncated */
    CHECK(apisec_valid_label(S("\xf0\x9f\x94")) == 0);
    CHECK(apisec_valid_label(S("\xc3")) == 0);
    CHECK(apisec_valid_label(S("\x80")) == 0);             /* continuation */
    CHECK(apisec_valid_label(S("a\xbf")) == 0);
    CHECK(apisec_valid_label(S("\xc3\x28")) == 0);
    CHECK(apisec_valid_label(S("\xe6\x97\x28")) == 0);
    CHECK(apisec_valid_label(S("\xfe")) == 0);
    CHECK(apisec_valid_label(S("\xff")) == 0);

    memset(buf, 'l', sizeof(buf));
    CHECK(apisec_valid_label(buf, APISEC_LABEL_MAX) == 1);
    CHECK(apisec_valid_label(buf, APISEC_LABEL_MAX + 1) == 0);

    /* a multibyte character cut by the length is refused */
    memcpy(buf + APISEC_LABEL_MAX - 1, "\xc3\xa9", 2);
    CHECK(apisec_valid_label(buf, APISEC_LABEL_MAX) == 0);

    memset(buf, 's', sizeof(buf));
    CHECK(apisec_valid_secret(buf, APISEC_SECRET_MIN) == 1);
    CHECK(apisec_valid_secret(buf, APISEC_SECRET_MIN - 1) == 0);
    CHECK(apisec_valid_secret(buf, APISEC_SECRET_MAX) == 1);
    CHECK(apisec_valid_secret(buf, APISEC_SECRET_MAX + 1) == 0);
    CHECK(apisec_valid_secret(S("!~abcdefghijklmnopqrstuvwxyz\"'")) == 1);
    CHECK(apisec_valid_secret(S("abcdefgh ijklmnopq")) == 0);
    CHECK(apisec_valid_secret(S("abcdefgh\x7fijklmnopq")) == 0);
    CHECK(apisec_valid_secret(S("abcdefgh\x80ijklmnopq")) == 0);
    CHECK(apisec_valid_secret(S("abcdefgh\tijklmnopq")) == 0);
    CHECK(apisec_valid_secret("abcdefgh\0ijklmnopq", 18) == 0);
    CHECK(apisec_valid_secret(NULL, 20) == 0);
}


int
main(void)
{
    test_duration();
    test_time();
    test_time_roundtrip();
    test_cidr_v4();
    test_cidr_v6();
    test_cidr_pton();
    test_cidr_random();
    test_match();
    test_perms();
    test_status();
    test_validators();

    return UNIT_DONE();
}
