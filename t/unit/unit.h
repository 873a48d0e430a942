/*
 * A minimal unit-test harness for the plain C parts (no nginx).  Each
 * t/unit/test_*.c is one program: CHECK() records a failure with its
 * line and goes on; UNIT_DONE() prints a summary and returns the exit
 * status (non-zero when anything failed).
 */

#ifndef _APISEC_UNIT_H_INCLUDED_
#define _APISEC_UNIT_H_INCLUDED_


#include <stdio.h>
#include <string.h>


static int  unit_checks;
static int  unit_failed;


#define CHECK(cond)                                                         \
    do {                                                                    \
        unit_checks++;                                                      \
        if (!(cond)) {                                                      \
            unit_failed++;                                                  \
            fprintf(stderr, "%s:%d: check failed: %s\n",                    \
                    __FILE__, __LINE__, #cond);                             \
        }                                                                   \
    } while (0)

#define CHECK_STR(got, want)                                                \
    do {                                                                    \
        const char *g_ = (got), *w_ = (want);                               \
        unit_checks++;                                                      \
        if (g_ == NULL || strcmp(g_, w_) != 0) {                            \
            unit_failed++;                                                  \
            fprintf(stderr, "%s:%d: got \"%s\", want \"%s\"\n",             \
                    __FILE__, __LINE__, g_ ? g_ : "(null)", w_);            \
        }                                                                   \
    } while (0)

#define CHECK_INT(got, want)                                                \
    do {                                                                    \
        long long g_ = (long long) (got), w_ = (long long) (want);          \
        unit_checks++;                                                      \
        if (g_ != w_) {                                                     \
            unit_failed++;                                                  \
            fprintf(stderr, "%s:%d: %s: got %lld, want %lld\n",             \
                    __FILE__, __LINE__, #got, g_, w_);                      \
        }                                                                   \
    } while (0)

#define UNIT_DONE()                                                         \
    (printf("%s: %d checks, %d failed\n", __FILE__, unit_checks,            \
            unit_failed),                                                   \
     unit_failed ? 1 : 0)


#endif /* _APISEC_UNIT_H_INCLUDED_ */
