/*
 * apisec: helpers shared by the libFuzzer targets in fuzz/.  Each target
 * is one file, fuzz_<what>.c, built by `make fuzz` with clang
 * -fsanitize=fuzzer,address,undefined and linked with the plain C sources
 * (no nginx): see fuzz/README.md.
 *
 * A target checks more than "does not crash": round trips and invariants
 * go through FUZZ_CHECK, which aborts (libFuzzer then saves the input).
 */

#ifndef _APISEC_FUZZ_H_INCLUDED_
#define _APISEC_FUZZ_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#define FUZZ_CHECK(cond)                                                    \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "%s:%d: fuzz check failed: %s\n",               \
                    __FILE__, __LINE__, #cond);                             \
            abort();                                                        \
        }                                                                   \
    } while (0)


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


/*
 * A copy of len bytes in a heap block of exactly that size, so that
 * AddressSanitizer sees a read one byte past it; NULL when len is 0 (as
 * nginx leaves an absent query or body).  Free with free().
 */
static inline unsigned char *
fuzz_dup(const uint8_t *data, size_t len)
{
    unsigned char  *p;

    if (len == 0) {
        return NULL;
    }

    p = malloc(len);
    if (p == NULL) {
        abort();
    }

    memcpy(p, data, len);

    return p;
}


/*
 * The same, but never NULL (a block of size 0 for an empty input, which
 * ASan still guards): for what a caller always has a buffer for.
 */
static inline unsigned char *
fuzz_dup0(const uint8_t *data, size_t len)
{
    unsigned char  *p;

    p = malloc(len);
    if (p == NULL) {
        abort();
    }

    if (len > 0) {
        memcpy(p, data, len);
    }

    return p;
}


/*
 * The next line of *data (without its '\n'); *data and *size move past
 * it.  At the end of the input the line is what is left (maybe empty).
 */
static inline size_t
fuzz_line(const uint8_t **data, size_t *size, const uint8_t **line)
{
    size_t          n;
    const uint8_t  *nl;

    *line = *data;

    nl = (*size > 0) ? memchr(*data, '\n', *size) : NULL;

    if (nl == NULL) {
        n = *size;
        *data += n;
        *size = 0;
        return n;
    }

    n = (size_t) (nl - *data);
    *data += n + 1;
    *size -= n + 1;

    return n;
}


#endif /* _APISEC_FUZZ_H_INCLUDED_ */
