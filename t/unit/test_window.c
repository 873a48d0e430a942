/*
 * Unit tests of apisec_window.c: the geometry of the buckets, sums that
 * never leave the window early, the clock going back, undo, refit, and
 * the record codec (a corrupt record is refused).  Checked against an
 * exact sliding sum kept here in a plain array.
 */


#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "apisec_window.h"


#define ONE  APISEC_DEC_ONE


static void test_geometry(void);
static void test_slide(void);
static void test_never_early(void);
static void test_clock_back(void);
static void test_undo_refit(void);
static void test_codec(void);


int
main(void)
{
    test_geometry();
    test_slide();
    test_never_early();
    test_clock_back();
    test_undo_refit();
    test_codec();

    return UNIT_DONE();
}


static void
test_geometry(void)
{
    apisec_window_t  w;

    apisec_window_init(&w, 86400);
    CHECK_INT(w.width, 1800);
    CHECK_INT(w.nslots, 49);
    CHECK_INT((int64_t) w.width * (w.nslots - 1), 86400);

    apisec_window_init(&w, 3);
    CHECK_INT(w.width, 1);
    CHECK_INT(w.nslots, 4);

    apisec_window_init(&w, 100);
    CHECK_INT(w.width, 3);
    CHECK_INT(w.nslots, 35);
    CHECK(apisec_window_fits(&w, 100));
    CHECK(!apisec_window_fits(&w, 200));

    apisec_window_init(&w, APISEC_WINDOW_PER_MAX);
    CHECK(w.nslots <= APISEC_WINDOW_SLOTS);
}


static void
test_slide(void)
{
    int64_t          idx;
    uint64_t         count;
    apisec_dec_t     sum;
    apisec_window_t  w;

    apisec_window_init(&w, 3);

    CHECK_INT(apisec_window_add(&w, 1000, 6 * ONE, &idx), 0);
    CHECK_INT(apisec_window_add(&w, 1001, 4 * ONE, &idx), 0);

    apisec_window_total(&w, 1002, &sum, &count);
    CHECK(sum == 10 * ONE);
    CHECK_INT(count, 2);

    /* at 1003 the amount of 1000 is 3 s old: still in (late, not early) */
    apisec_window_total(&w, 1003, &sum, &count);
    CHECK(sum == 10 * ONE);

    /* at 1004 it has left; at 1005 all has */
    apisec_window_total(&w, 1004, &sum, &count);
    CHECK(sum == 4 * ONE);
    CHECK_INT(count, 1);

    apisec_window_total(&w, 1005, &sum, &count);
    CHECK(sum == 0);
    CHECK_INT(apisec_window_next_expiry(&w, 1005), 0);

    /* the slot of a bucket that left is reused */
    CHECK_INT(apisec_window_add(&w, 1004 + 4, ONE, &idx), 0);
    apisec_window_total(&w, 1008, &sum, &count);
    CHECK(sum == ONE);
}


/* against an exact sliding sum: never less, and all gone per + 2 widths on */

static void
test_never_early(void)
{
    int              i, j, n;
    int64_t          t[2000], per, idx, now;
    uint64_t         count;
    apisec_dec_t     sum, exact, v[2000];
    apisec_window_t  w;

    srand(7);

    for (per = 1; per < 20000; per = per * 3 + 1) {
        apisec_window_init(&w, per);

        now = 1700000000;
        n = 0;

        for (i = 0; i < 2000; i++) {
            now += rand() % (per / 10 + 2);

            t[n] = now;
            v[n] = (apisec_dec_t) (rand() % 1000 + 1);
            CHECK_INT(apisec_window_add(&w, now, v[n], &idx), 0);
            n++;

            exact = 0;
            for (j = 0; j < n; j++) {
                if (now - t[j] < per) {
                    exact += v[j];
                }
            }

            apisec_window_total(&w, now, &sum, &count);

            if (sum < exact) {
                CHECK(sum >= exact);
                return;
            }

            /* nothing older than per + 2 widths counts */
            exact = 0;
            for (j = 0; j < n; j++) {
                if (now - t[j] <= per + 2 * (int64_t) w.width) {
                    exact += v[j];
                }
            }

            if (sum > exact) {
                CHECK(sum <= exact);
                return;
            }
        }
    }

    CHECK(1);
}


static void
test_clock_back(void)
{
    int64_t          idx;
    uint64_t         count;
    apisec_dec_t     sum;
    apisec_window_t  w;

    apisec_window_init(&w, 60);

    CHECK_INT(apisec_window_add(&w, 10000, 5 * ONE, &idx), 0);

    /* the clock goes back an hour: the later bucket still counts */
    apisec_window_total(&w, 10000 - 3600, &sum, &count);
    CHECK(sum == 5 * ONE);

    /* an add that lands on that bucket's slot joins it, not replaces it */
    CHECK_INT(apisec_window_add(&w, 10000 - 61 * (int64_t) w.nslots, ONE,
                                &idx), 0);
    apisec_window_total(&w, 10000, &sum, &count);
    CHECK(sum == 6 * ONE || sum == 5 * ONE);
    apisec_window_total(&w, 10000 - 3600, &sum, &count);
    CHECK(sum >= 5 * ONE);
}


static void
test_undo_refit(void)
{
    int64_t          idx, idx2;
    uint64_t         count, gen;
    apisec_dec_t     sum;
    apisec_window_t  w;

    apisec_window_init(&w, 3600);

    CHECK_INT(apisec_window_add(&w, 5000, 3 * ONE, &idx), 0);
    CHECK_INT(apisec_window_add(&w, 5001, 2 * ONE, &idx2), 0);

    gen = w.gen;
    apisec_window_undo(&w, idx2, 2 * ONE);
    CHECK(w.gen > gen);

    apisec_window_total(&w, 5002, &sum, &count);
    CHECK(sum == 3 * ONE);
    CHECK_INT(count, 1);

    /* a longer per keeps everything; a shorter one too, until it leaves */
    apisec_window_refit(&w, 86400);
    CHECK(apisec_window_fits(&w, 86400));
    apisec_window_total(&w, 5002, &sum, &count);
    CHECK(sum == 3 * ONE);

    apisec_window_refit(&w, 10);
    apisec_window_total(&w, 5002, &sum, &count);
    CHECK(sum == 3 * ONE);

    /* overflow of a bucket: refused, nothing changed */
    apisec_window_init(&w, 60);
    CHECK_INT(apisec_window_add(&w, 100, APISEC_DEC_MAX, &idx), 0);
    gen = w.gen;
    CHECK_INT(apisec_window_add(&w, 100, 1, &idx), -1);
    CHECK(w.gen == gen);
}


static void
test_codec(void)
{
    size_t           len, i;
    int64_t          idx;
    uint8_t          buf[APISEC_WINDOW_REC_MAX], bad[APISEC_WINDOW_REC_MAX];
    apisec_window_t  w, d;

    apisec_window_init(&w, 86400);
    CHECK_INT(apisec_window_add(&w, 1700000000, 9900 * ONE + 99, &idx), 0);
    CHECK_INT(apisec_window_add(&w, 1700050000, ONE, &idx), 0);

    CHECK_INT(apisec_window_encode(&w, buf, sizeof(buf), &len), 0);
    CHECK_INT(apisec_window_decode(buf, len, &d), 0);
    CHECK(memcmp(&w, &d, sizeof(w)) == 0);

    CHECK_INT(apisec_window_encode(&w, buf, 10, &len), -1);

    /* truncated, extended, another version, a bucket out of place */
    CHECK_INT(apisec_window_decode(buf, len - 1, &d), -1);
    CHECK_INT(apisec_window_decode(buf, 0, &d), -1);

    memcpy(bad, buf, len);
    bad[0] = 2;
    CHECK_INT(apisec_window_decode(bad, len, &d), -1);

    memcpy(bad, buf, len);
    bad[1 + 8 + 4 + 3] = 100;       /* nslots */
    CHECK_INT(apisec_window_decode(bad, len, &d), -1);

    memcpy(bad, buf, len);
    bad[1 + 8 + 3] = 0;             /* width 0 */
    bad[1 + 8 + 2] = 0;
    CHECK_INT(apisec_window_decode(bad, len, &d), -1);

    /* every single-byte change decodes or is refused, never crashes */
    for (i = 0; i < len; i++) {
        memcpy(bad, buf, len);
        bad[i] ^= 0x5a;
        (void) apisec_window_decode(bad, len, &d);
    }

    CHECK(1);
}
