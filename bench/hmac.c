/*
 * What OpenSSL 3's layers cost an HMAC-SHA256 of a 150-byte message (a
 * signed query), over 10,000 keys taken in a random order: the numbers
 * behind docs/benchmarks.md's "OpenSSL's EVP_MAC layer".  Not part of the
 * module; the low-level SHA256_* calls (deprecated in OpenSSL 3) are here
 * only to measure what the EVP layers add.
 *
 *   cc -O2 -o build/bench/hmac bench/hmac.c -lcrypto
 *   build/bench/hmac MODE [ITERATIONS]
 *
 * MODE 0: one EVP_MAC_CTX keyed again for every MAC (the module's way)
 *      1: an EVP_MAC_CTX per key, keyed once, initialised again per MAC
 *      2: an HMAC by hand over EVP_MD: the pads' digest states per key,
 *         copied into one EVP_MD_CTX per MAC (EVP_MD_CTX_copy_ex)
 *      3: SHA256_* with the pads hashed again for every MAC
 *      4: SHA256_* with the pads' states per key (copied as structs)
 *      5: an HMAC by hand over one EVP_MD_CTX, the pads hashed again for
 *         every MAC (EVP_DigestInit_ex; no state per key)
 *
 * Every mode's MAC of the first message is checked against mode 0's.
 */

#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/sha.h>


#define NKEYS    10000
#define KEYLEN   64
#define MSGLEN   150


static uint8_t       keys[NKEYS][KEYLEN];
static EVP_MAC_CTX  *mac_ctx[NKEYS];
static EVP_MD_CTX   *md_in[NKEYS], *md_out[NKEYS];
static SHA256_CTX    sha_in[NKEYS], sha_out[NKEYS];


static double
now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec + ts.tv_nsec / 1e9;
}


static void
pads(const uint8_t *key, uint8_t *ipad, uint8_t *opad)
{
    int  i;

    for (i = 0; i < KEYLEN; i++) {
        ipad[i] = key[i] ^ 0x36;
        opad[i] = key[i] ^ 0x5c;
    }
}


int
main(int argc, char **argv)
{
    int           mode, k, i;
    long          n, iters;
    double        t0;
    size_t        outlen;
    uint8_t       msg[MSGLEN], mac[32], inner[32], want[32], ipad[KEYLEN],
                  opad[KEYLEN];
    uint32_t      x;
    unsigned int  mdlen;
    EVP_MD       *sha256;
    EVP_MAC      *hmac;
    EVP_MD_CTX   *md;
    SHA256_CTX    c;
    EVP_MAC_CTX  *one;
    OSSL_PARAM    params[2];

    if (argc < 2) {
        fprintf(stderr, "usage: %s MODE [ITERATIONS]\n", argv[0]);
        return 2;
    }

    mode = atoi(argv[1]);
    iters = (argc > 2) ? atol(argv[2]) : 2000000;

    srand(1);

    for (k = 0; k < NKEYS; k++) {
        for (i = 0; i < KEYLEN; i++) {
            keys[k][i] = (uint8_t) rand();
        }
    }

    memset(msg, 'a', sizeof(msg));

    hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                                 (char *) "SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();

    one = EVP_MAC_CTX_new(hmac);
    md = EVP_MD_CTX_new();

    if (hmac == NULL || sha256 == NULL || one == NULL || md == NULL
        || !EVP_MAC_CTX_set_params(one, params)
        || !EVP_DigestInit_ex(md, sha256, NULL))
    {
        fprintf(stderr, "OpenSSL set-up failed\n");
        return 1;
    }

    /* what each mode keeps per key */

    for (k = 0; k < NKEYS; k++) {
        pads(keys[k], ipad, opad);

        if (mode == 1) {
            mac_ctx[k] = EVP_MAC_CTX_new(hmac);
            EVP_MAC_CTX_set_params(mac_ctx[k], params);
            EVP_MAC_init(mac_ctx[k], keys[k], KEYLEN, NULL);

        } else if (mode == 2) {
            md_in[k] = EVP_MD_CTX_new();
            md_out[k] = EVP_MD_CTX_new();
            EVP_DigestInit_ex(md_in[k], sha256, NULL);
            EVP_DigestUpdate(md_in[k], ipad, KEYLEN);
            EVP_DigestInit_ex(md_out[k], sha256, NULL);
            EVP_DigestUpdate(md_out[k], opad, KEYLEN);

        } else if (mode == 4) {
            SHA256_Init(&sha_in[k]);
            SHA256_Update(&sha_in[k], ipad, KEYLEN);
            SHA256_Init(&sha_out[k]);
            SHA256_Update(&sha_out[k], opad, KEYLEN);
        }
    }

    EVP_MAC_init(one, keys[0], KEYLEN, NULL);
    EVP_MAC_update(one, msg, MSGLEN);
    EVP_MAC_final(one, want, &outlen, sizeof(want));

    x = 0;
    t0 = 0;

    for (n = -1; n < iters; n++) {

        /* n == -1: the first key, checked; then keys in a random order */

        if (n == 0) {
            t0 = now();
        }

        k = (n < 0) ? 0 : (int) ((x = x * 1103515245 + 12345) >> 8) % NKEYS;

        switch (mode) {

        case 0:
            EVP_MAC_init(one, keys[k], KEYLEN, NULL);
            EVP_MAC_update(one, msg, MSGLEN);
            EVP_MAC_final(one, mac, &outlen, sizeof(mac));
            break;

        case 1:
            EVP_MAC_init(mac_ctx[k], NULL, 0, NULL);
            EVP_MAC_update(mac_ctx[k], msg, MSGLEN);
            EVP_MAC_final(mac_ctx[k], mac, &outlen, sizeof(mac));
            break;

        case 2:
            EVP_MD_CTX_copy_ex(md, md_in[k]);
            EVP_DigestUpdate(md, msg, MSGLEN);
            EVP_DigestFinal_ex(md, inner, &mdlen);
            EVP_MD_CTX_copy_ex(md, md_out[k]);
            EVP_DigestUpdate(md, inner, sizeof(inner));
            EVP_DigestFinal_ex(md, mac, &mdlen);
            break;

        case 3:
            pads(keys[k], ipad, opad);
            SHA256_Init(&c);
            SHA256_Update(&c, ipad, KEYLEN);
            SHA256_Update(&c, msg, MSGLEN);
            SHA256_Final(inner, &c);
            SHA256_Init(&c);
            SHA256_Update(&c, opad, KEYLEN);
            SHA256_Update(&c, inner, sizeof(inner));
            SHA256_Final(mac, &c);
            break;

        case 5:
            pads(keys[k], ipad, opad);
            EVP_DigestInit_ex(md, sha256, NULL);
            EVP_DigestUpdate(md, ipad, KEYLEN);
            EVP_DigestUpdate(md, msg, MSGLEN);
            EVP_DigestFinal_ex(md, inner, &mdlen);
            EVP_DigestInit_ex(md, sha256, NULL);
            EVP_DigestUpdate(md, opad, KEYLEN);
            EVP_DigestUpdate(md, inner, sizeof(inner));
            EVP_DigestFinal_ex(md, mac, &mdlen);
            break;

        default:
            c = sha_in[k];
            SHA256_Update(&c, msg, MSGLEN);
            SHA256_Final(inner, &c);
            c = sha_out[k];
            SHA256_Update(&c, inner, sizeof(inner));
            SHA256_Final(mac, &c);
            break;
        }

        if (n < 0 && memcmp(mac, want, sizeof(mac)) != 0) {
            fprintf(stderr, "mode %d: wrong MAC\n", mode);
            return 1;
        }
    }

    printf("mode %d: %.1f ns a MAC (%ld MACs over %d keys)\n", mode,
           (now() - t0) / iters * 1e9, iters, NKEYS);

    return 0;
}
