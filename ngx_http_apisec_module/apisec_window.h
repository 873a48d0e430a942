/*
 * apisec: the sliding window of an amount or failures rule.  Plain C, no
 * nginx types: the module keeps windows in shared memory and in the
 * store's "usage" database, apisecctl reads them back for `usage`.
 *
 * A window of per seconds is kept in buckets of width = ceil(per / 48)
 * seconds (at least one).  The buckets counted at time now are those
 * numbered from now / width - ceil(per / width) on, so an amount added at
 * t counts at least until t + per and at most until t + per + 2 * width
 * (4% of per, e.g. an hour for 24h): it leaves the window late, never
 * early, and the sum over the window is never less than the exact
 * sliding sum.  A bucket that seems to be from
 * the future (the clock went back) still counts.
 *
 * Each bucket holds the exact decimal sum (apisec_dec_t) and the number of
 * requests that made it.  gen grows at every change, so that of two copies
 * of one window the later is known (the store keeps the one with the
 * greater gen).
 */

#ifndef _APISEC_WINDOW_H_INCLUDED_
#define _APISEC_WINDOW_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include "apisec_decimal.h"


#define APISEC_WINDOW_BUCKETS   48      /* buckets across per */
#define APISEC_WINDOW_SLOTS     (APISEC_WINDOW_BUCKETS + 1)
#define APISEC_WINDOW_PER_MAX   (400LL * 86400)   /* per, at most */
#define APISEC_WINDOW_VERSION   1
#define APISEC_WINDOW_REC_MAX   (1 + 8 + 4 + 4                              \
                                 + APISEC_WINDOW_SLOTS * (8 + 16 + 4))


typedef struct {
    apisec_dec_t    sum;        /* first: 32 bytes a bucket, not 48 */
    int64_t         idx;        /* bucket number: its start / width */
    uint32_t        count;
} apisec_slot_t;


typedef struct {
    uint64_t        gen;
    uint32_t        width;      /* seconds per bucket */
    uint32_t        nslots;     /* ceil(per / width) + 1 */
    apisec_slot_t   slot[APISEC_WINDOW_SLOTS];
} apisec_window_t;


/* an empty window of per seconds (1 .. APISEC_WINDOW_PER_MAX) */
void apisec_window_init(apisec_window_t *w, int64_t per);

/* is w laid out for per seconds? */
int apisec_window_fits(const apisec_window_t *w, int64_t per);

/*
 * Lay w out for per seconds, keeping what it holds: each bucket moves to
 * the new bucket that holds its last second (so nothing leaves earlier
 * than it would have).  gen grows.
 */
void apisec_window_refit(apisec_window_t *w, int64_t per);

/* the sum and the count of the buckets in the window at now */
void apisec_window_total(const apisec_window_t *w, int64_t now,
    apisec_dec_t *sum, uint64_t *count);

/*
 * Add v and one request at now; *idx gets the bucket that took them (for
 * apisec_window_undo).  -1, and nothing changed, when the bucket's sum
 * would overflow.
 */
int apisec_window_add(apisec_window_t *w, int64_t now, apisec_dec_t v,
    int64_t *idx);

/* take back an add (v and one request) from bucket idx, if still kept */
void apisec_window_undo(apisec_window_t *w, int64_t idx, apisec_dec_t v);

/* when the oldest bucket in the window at now leaves it, or 0: empty */
int64_t apisec_window_next_expiry(const apisec_window_t *w, int64_t now);

/* the record of the store's "usage" database */
int apisec_window_encode(const apisec_window_t *w, uint8_t *buf, size_t cap,
    size_t *len);
int apisec_window_decode(const uint8_t *buf, size_t len, apisec_window_t *w);


#endif /* _APISEC_WINDOW_H_INCLUDED_ */
