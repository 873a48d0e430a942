/*
 * apisec: parsing and formatting of the small values that the store, the
 * module and apisecctl share: durations, RFC 3339 times, CIDRs,
 * permissions, statuses and identifiers.  Plain C, no nginx types.
 *
 * Every parser takes a pointer and a length (the input need not be
 * NUL-terminated), bounds the length before it decodes anything, and
 * returns 0 on success or -1 on any malformed input.
 */

#ifndef _APISEC_PARSE_H_INCLUDED_
#define _APISEC_PARSE_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define APISEC_PERM_READ       0x01
#define APISEC_PERM_TRADE      0x02
#define APISEC_PERM_WITHDRAW   0x04
#define APISEC_PERM_ALL        0x07

#define APISEC_STATUS_ACTIVE    0
#define APISEC_STATUS_DISABLED  1
#define APISEC_STATUS_EXPIRED   2
#define APISEC_STATUS_LOCKED    3
#define APISEC_STATUS_MAX       3

#define APISEC_KEY_MAX          128     /* access key: [A-Za-z0-9._-] */
#define APISEC_ACCOUNT_MAX      128     /* account: [A-Za-z0-9._@:-] */
#define APISEC_LABEL_MAX        256     /* label: printable, no controls */
#define APISEC_SECRET_MIN       16
#define APISEC_SECRET_MAX       256     /* secret: printable ASCII 0x21-0x7e */

#define APISEC_PASSPHRASE_MAX   128     /* OKX passphrase: 0x20-0x7e */

#define APISEC_TIME_LEN         20      /* "YYYY-MM-DDThh:mm:ssZ" */
#define APISEC_CIDR_LEN         64      /* room for any formatted CIDR */
#define APISEC_PERMS_LEN        32      /* "read,trade,withdraw" */

/*
 * A hint that p's cache line is needed soon (of memory the caller knows
 * the address of before it can use it); never faults, whatever p is
 */
#if defined(__GNUC__) || defined(__clang__)
#define apisec_prefetch(p)      __builtin_prefetch(p)
#else
#define apisec_prefetch(p)
#endif


typedef struct {
    uint8_t   family;       /* 4 or 6 */
    uint8_t   prefix;       /* 0..32 or 0..128 */
    uint8_t   addr[16];     /* network byte order; host bits zeroed */
} apisec_cidr_t;


/* "N[smhd]", N a positive decimal, at most 100 years; result in seconds */
int apisec_parse_duration(const char *s, size_t len, int64_t *secs);

/*
 * RFC 3339: "YYYY-MM-DDThh:mm:ss[.fraction](Z|+hh:mm|-hh:mm)"; "t" and
 * "z" and a space for "T" are accepted; the fraction is dropped.  Result:
 * Unix seconds, UTC.  Years 1970..9999.
 */
int apisec_parse_time(const char *s, size_t len, int64_t *t);

/* "YYYY-MM-DDThh:mm:ssZ" plus NUL into out[APISEC_TIME_LEN + 1] */
void apisec_format_time(int64_t t, char *out);

/*
 * "a.b.c.d", "a.b.c.d/N", IPv6 in any RFC 4291 text form, "v6/N".  A bare
 * address is a /32 or /128.  Host bits below the prefix are cleared (as
 * nginx's "allow" does).  IPv4-mapped IPv6 ("::ffff:a.b.c.d/N" with
 * N >= 96) is stored as the IPv4 network.
 */
int apisec_parse_cidr(const char *s, size_t len, apisec_cidr_t *c);

/* canonical text of c plus NUL into out[APISEC_CIDR_LEN] */
void apisec_format_cidr(const apisec_cidr_t *c, char *out);

/*
 * Is addr inside c?  family 4: addr has 4 bytes; family 6: 16 bytes.  The
 * caller maps IPv4-mapped IPv6 client addresses to family 4 first.
 */
int apisec_cidr_match(const apisec_cidr_t *c, int family,
    const uint8_t *addr);

/* comma-separated list of read, trade, withdraw (at least one) */
int apisec_parse_perms(const char *s, size_t len, unsigned *perms);

/* "read,trade,withdraw" order, plus NUL, into out[APISEC_PERMS_LEN] */
void apisec_format_perms(unsigned perms, char *out);

/* "active", "disabled", "expired", "locked" */
const char *apisec_status_name(int status);
int apisec_parse_status(const char *s, size_t len, int *status);

/* the value of a hex digit of either case, or -1: a table, for the hot path */
extern const signed char  apisec_hex_values[256];

#define apisec_hex_value(c)  apisec_hex_values[(unsigned char) (c)]

/* 1 when valid, 0 when not */
int apisec_valid_access_key(const char *s, size_t len);
int apisec_valid_account(const char *s, size_t len);
int apisec_valid_label(const char *s, size_t len);
int apisec_valid_secret(const char *s, size_t len);
int apisec_valid_passphrase(const char *s, size_t len);


#endif /* _APISEC_PARSE_H_INCLUDED_ */
