/*
 * apisec: sliding windows in buckets; see apisec_window.h.
 */


#include <string.h>

#include "apisec_window.h"


static uint32_t apisec_window_width(int64_t per);
static int64_t apisec_window_first(const apisec_window_t *w, int64_t now);
static void apisec_window_put(apisec_window_t *w, int64_t idx,
    apisec_dec_t sum, uint32_t count);
static void apisec_window_be(uint8_t *p, uint64_t v, int n);
static uint64_t apisec_window_get(const uint8_t *p, int n);


static uint32_t
apisec_window_width(int64_t per)
{
    if (per < 1) {
        per = 1;
    }

    if (per > APISEC_WINDOW_PER_MAX) {
        per = APISEC_WINDOW_PER_MAX;
    }

    return (uint32_t) ((per + APISEC_WINDOW_BUCKETS - 1)
                       / APISEC_WINDOW_BUCKETS);
}


void
apisec_window_init(apisec_window_t *w, int64_t per)
{
    uint32_t  width;

    memset(w, 0, sizeof(apisec_window_t));

    if (per < 1) {
        per = 1;
    }

    if (per > APISEC_WINDOW_PER_MAX) {
        per = APISEC_WINDOW_PER_MAX;
    }

    width = apisec_window_width(per);

    w->width = width;
    w->nslots = (uint32_t) ((per + width - 1) / width) + 1;
}


int
apisec_window_fits(const apisec_window_t *w, int64_t per)
{
    apisec_window_t  n;

    apisec_window_init(&n, per);

    return w->width == n.width && w->nslots == n.nslots;
}


void
apisec_window_refit(apisec_window_t *w, int64_t per)
{
    uint32_t         i;
    int64_t          end;
    apisec_window_t  old;

    old = *w;

    apisec_window_init(w, per);
    w->gen = old.gen + 1;

    for (i = 0; i < old.nslots; i++) {
        if (old.slot[i].count == 0 && old.slot[i].sum == 0) {
            continue;
        }

        end = (old.slot[i].idx + 1) * (int64_t) old.width - 1;

        apisec_window_put(w, end / (int64_t) w->width, old.slot[i].sum,
                          old.slot[i].count);
    }
}


/* the first bucket number in the window at now */

static int64_t
apisec_window_first(const apisec_window_t *w, int64_t now)
{
    if (now < 0) {
        now = 0;
    }

    return now / (int64_t) w->width - (int64_t) (w->nslots - 1);
}


void
apisec_window_total(const apisec_window_t *w, int64_t now,
    apisec_dec_t *sum, uint64_t *count)
{
    uint32_t  i;
    int64_t   first;

    *sum = 0;
    *count = 0;

    first = apisec_window_first(w, now);

    for (i = 0; i < w->nslots; i++) {
        if (w->slot[i].idx < first) {
            continue;
        }

        /* the sums were each checked on add: their total cannot wrap */
        *sum += w->slot[i].sum;
        *count += w->slot[i].count;
    }
}


/*
 * Merge sum and count into bucket idx.  The slot of idx may hold another
 * bucket: an older one is dropped (it has left the window), a newer one
 * (the clock went back) takes the amounts, which then leave later.
 */

static void
apisec_window_put(apisec_window_t *w, int64_t idx, apisec_dec_t sum,
    uint32_t count)
{
    apisec_slot_t  *s;

    if (idx < 0) {
        idx = 0;
    }

    s = &w->slot[(uint64_t) idx % w->nslots];

    if (s->idx < idx || (s->count == 0 && s->sum == 0)) {
        s->idx = idx;
        s->sum = 0;
        s->count = 0;
    }

    if (apisec_dec_add(&s->sum, sum) != 0) {
        s->sum = APISEC_DEC_MAX;
    }

    s->count = (s->count > UINT32_MAX - count) ? UINT32_MAX
                                                : s->count + count;
}


int
apisec_window_add(apisec_window_t *w, int64_t now, apisec_dec_t v,
    int64_t *idx)
{
    int64_t         i;
    apisec_dec_t    sum;
    apisec_slot_t  *s;

    i = (now < 0 ? 0 : now) / (int64_t) w->width;
    s = &w->slot[(uint64_t) i % w->nslots];

    if (s->idx >= i && (s->count != 0 || s->sum != 0)) {
        sum = s->sum;

        if (apisec_dec_add(&sum, v) != 0 || s->count == UINT32_MAX) {
            return -1;
        }

        i = s->idx;
    }

    apisec_window_put(w, i, v, 1);
    w->gen++;
    *idx = i;

    return 0;
}


void
apisec_window_undo(apisec_window_t *w, int64_t idx, apisec_dec_t v)
{
    apisec_slot_t  *s;

    if (idx < 0) {
        return;
    }

    s = &w->slot[(uint64_t) idx % w->nslots];

    if (s->idx != idx) {
        return;
    }

    s->sum = (s->sum > v) ? s->sum - v : 0;

    if (s->count > 0) {
        s->count--;
    }

    w->gen++;
}


int64_t
apisec_window_next_expiry(const apisec_window_t *w, int64_t now)
{
    uint32_t  i;
    int64_t   first, oldest;

    first = apisec_window_first(w, now);
    oldest = -1;

    for (i = 0; i < w->nslots; i++) {
        if (w->slot[i].idx < first
            || (w->slot[i].count == 0 && w->slot[i].sum == 0))
        {
            continue;
        }

        if (oldest < 0 || w->slot[i].idx < oldest) {
            oldest = w->slot[i].idx;
        }
    }

    if (oldest < 0) {
        return 0;
    }

    /* the bucket leaves when it is nslots - 1 buckets behind */

    return (oldest + (int64_t) w->nslots) * (int64_t) w->width;
}


/*
 * The record: version, gen, width, nslots, then per bucket its number
 * (8 bytes), sum (16) and count (4); big-endian.
 */

int
apisec_window_encode(const apisec_window_t *w, uint8_t *buf, size_t cap,
    size_t *len)
{
    size_t    n;
    uint8_t  *p;
    uint32_t  i;

    if (w->nslots < 2 || w->nslots > APISEC_WINDOW_SLOTS || w->width == 0) {
        return -1;
    }

    n = 1 + 8 + 4 + 4 + (size_t) w->nslots * (8 + 16 + 4);

    if (cap < n) {
        return -1;
    }

    p = buf;
    *p++ = APISEC_WINDOW_VERSION;
    apisec_window_be(p, w->gen, 8);
    p += 8;
    apisec_window_be(p, w->width, 4);
    p += 4;
    apisec_window_be(p, w->nslots, 4);
    p += 4;

    for (i = 0; i < w->nslots; i++) {
        apisec_window_be(p, (uint64_t) w->slot[i].idx, 8);
        p += 8;
        apisec_window_be(p, (uint64_t) (w->slot[i].sum >> 64), 8);
        p += 8;
        apisec_window_be(p, (uint64_t) w->slot[i].sum, 8);
        p += 8;
        apisec_window_be(p, w->slot[i].count, 4);
        p += 4;
    }

    *len = n;

    return 0;
}


int
apisec_window_decode(const uint8_t *buf, size_t len, apisec_window_t *w)
{
    uint32_t        i;
    uint64_t        width, nslots;
    const uint8_t  *p;

    memset(w, 0, sizeof(apisec_window_t));

    if (len < 1 + 8 + 4 + 4 || buf[0] != APISEC_WINDOW_VERSION) {
        return -1;
    }

    p = buf + 1;
    w->gen = apisec_window_get(p, 8);
    p += 8;
    width = apisec_window_get(p, 4);
    p += 4;
    nslots = apisec_window_get(p, 4);
    p += 4;

    if (width == 0 || width > APISEC_WINDOW_PER_MAX
        || nslots < 2 || nslots > APISEC_WINDOW_SLOTS
        || len != 1 + 8 + 4 + 4 + nslots * (8 + 16 + 4))
    {
        memset(w, 0, sizeof(apisec_window_t));
        return -1;
    }

    w->width = (uint32_t) width;
    w->nslots = (uint32_t) nslots;

    for (i = 0; i < w->nslots; i++) {
        w->slot[i].idx = (int64_t) apisec_window_get(p, 8);
        p += 8;
        w->slot[i].sum = ((apisec_dec_t) apisec_window_get(p, 8) << 64)
                         | apisec_window_get(p + 8, 8);
        p += 16;
        w->slot[i].count = (uint32_t) apisec_window_get(p, 4);
        p += 4;

        /* every bucket where it belongs, every sum within the limit */

        if (w->slot[i].idx < 0 || w->slot[i].sum > APISEC_DEC_MAX
            || (uint64_t) w->slot[i].idx % w->nslots != i)
        {
            if (w->slot[i].sum == 0 && w->slot[i].count == 0
                && w->slot[i].idx == 0)
            {
                continue;
            }

            memset(w, 0, sizeof(apisec_window_t));
            return -1;
        }
    }

    return 0;
}


static void
apisec_window_be(uint8_t *p, uint64_t v, int n)
{
    int  i;

    for (i = n - 1; i >= 0; i--) {
        p[i] = (uint8_t) v;
        v >>= 8;
    }
}


static uint64_t
apisec_window_get(const uint8_t *p, int n)
{
    int       i;
    uint64_t  v;

    v = 0;

    for (i = 0; i < n; i++) {
        v = (v << 8) | p[i];
    }

    return v;
}
