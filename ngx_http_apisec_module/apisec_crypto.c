/*
 * apisec: master key file, sealing (AES-256-GCM), HMAC-SHA256,
 * constant-time comparison, random identifiers, hex and base64.
 * OpenSSL 3 EVP interfaces, but for SHA-256 under the HMAC of every
 * request (below).  Every temporary that held key material is wiped
 * before it goes out of scope.
 */


/*
 * SHA256_Init, _Update and _Final are deprecated in OpenSSL 3.0 but in
 * every 3.x release: used where the library still has them (not built
 * no-deprecated) and the build does not ask for EVP only
 * (-DAPISEC_HMAC_EVP, e.g. for a FIPS provider, which they bypass)
 */
#define OPENSSL_SUPPRESS_DEPRECATED  1


#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "apisec_parse.h"
#include "apisec_crypto.h"


#define APISEC_MASTER_KEY_FILE_MAX  (2 * APISEC_MASTER_KEY_LEN + 1)


/*
 * HMAC (RFC 2104) composed over a digest: EVP_MD, the digests fetched
 * once and one digest context reused for every MAC, or for SHA-256
 * OpenSSL's own SHA-256 calls.  Not EVP_MAC: OpenSSL 3.0's MAC layer costs
 * more than the HMAC itself (a key copied, and two digest contexts freed
 * and allocated again, for every MAC; docs/benchmarks.md, bench/hmac.c),
 * and this is the one signature check of every request.  Nor EVP_MD for
 * SHA-256 where the library has SHA256_Init: OpenSSL 3.0's
 * EVP_DigestInit_ex frees the digest's context and allocates a new one
 * each time, and asks for an ENGINE (about 550 instructions a call, two
 * calls a MAC); the same SHA-256 code (the CPU's SHA extensions) is
 * called directly.  A key used again keeps its two pads' states
 * (apisec_hmac_sha256_pads): its MACs then hash two blocks fewer.  The unit tests hold both ways (t/unit/test_crypto.c, built
 * twice) to RFC 4231's and RFC 6238's vectors and to EVP_MAC's output for
 * keys and messages of every length about a block.
 */

#if !defined(OPENSSL_NO_DEPRECATED_3_0) && !defined(APISEC_HMAC_EVP)
#define APISEC_SHA256_DIRECT  1
#endif

#if (APISEC_HMAC_PADS_LEN < 2 * 8 * 4)
#error "APISEC_HMAC_PADS_LEN holds two SHA-256 states"
#endif

#define APISEC_HMAC_BLOCK  64           /* SHA-1's and SHA-256's block */

/* a digest for the HMAC: EVP's (md), or SHA-256's own calls (md NULL) */

typedef struct {
    EVP_MD_CTX      *ctx;
    const EVP_MD    *md;
    size_t           size;
#ifdef APISEC_SHA256_DIRECT
    SHA256_CTX       sha;
#endif
} apisec_digest_t;

struct apisec_hmac_s {
    EVP_MD          *sha256;
    EVP_MD          *sha1;      /* TOTP (RFC 6238), fetched on first use */
    EVP_MD_CTX      *ctx;
    apisec_digest_t  d256;
};


static void apisec_crypto_err(char *err, size_t errlen, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__ ((format (printf, 3, 4)))
#endif
    ;
static int apisec_b64_value(int c);
static EVP_MD *apisec_hmac_digest(const char *name);
static int apisec_digest_init(apisec_digest_t *d);
static int apisec_digest_update(apisec_digest_t *d, const void *data,
    size_t len);
static int apisec_digest_final(apisec_digest_t *d, uint8_t *out);
static int apisec_hmac_block(apisec_digest_t *d, const uint8_t *key,
    size_t keylen, uint8_t *k);
static void apisec_hmac_pad(uint8_t *pad, const uint8_t *k, uint8_t x);
static int apisec_hmac_run(apisec_digest_t *d, const uint8_t *key,
    size_t keylen, const uint8_t *data, size_t len, uint8_t *out);


static const char  apisec_alnum[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

static const char  apisec_hex_lower[] = "0123456789abcdef";

static const char  apisec_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";


static void
apisec_crypto_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list  args;

    if (err == NULL || errlen == 0) {
        return;
    }

    va_start(args, fmt);
    vsnprintf(err, errlen, fmt, args);
    va_end(args);
}


int
apisec_master_key_load(const char *path, uint8_t *key, char *err,
    size_t errlen)
{
    int          fd, rc;
    size_t       n;
    ssize_t      r;
    struct stat  sb;
    uint8_t      buf[APISEC_MASTER_KEY_FILE_MAX + 1];

    if (path == NULL || key == NULL) {
        apisec_crypto_err(err, errlen, "no master key file given");
        return -1;
    }

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

    if (fd == -1) {
        apisec_crypto_err(err, errlen,
                          "cannot open master key file \"%s\": %s",
                          path, strerror(errno));
        return -1;
    }

    if (fstat(fd, &sb) == -1) {
        apisec_crypto_err(err, errlen,
                          "cannot stat master key file \"%s\": %s",
                          path, strerror(errno));
        (void) close(fd);
        return -1;
    }

    if (!S_ISREG(sb.st_mode)) {
        apisec_crypto_err(err, errlen,
                          "master key file \"%s\" is not a regular file",
                          path);
        (void) close(fd);
        return -1;
    }

    if ((sb.st_mode & 077) != 0) {
        apisec_crypto_err(err, errlen,
                          "master key file \"%s\" is readable by group or "
                          "others (chmod 600)", path);
        (void) close(fd);
        return -1;
    }

    n = 0;

    while (n < sizeof(buf)) {
        r = read(fd, buf + n, sizeof(buf) - n);

        if (r == -1) {
            if (errno == EINTR) {
                continue;
            }

            apisec_crypto_err(err, errlen,
                              "cannot read master key file \"%s\": %s",
                              path, strerror(errno));
            (void) close(fd);
            apisec_wipe(buf, sizeof(buf));
            return -1;
        }

        if (r == 0) {
            break;
        }

        n += (size_t) r;
    }

    (void) close(fd);

    rc = -1;

    if (n == APISEC_MASTER_KEY_LEN) {
        memcpy(key, buf, APISEC_MASTER_KEY_LEN);
        rc = 0;

    } else if (n == 2 * APISEC_MASTER_KEY_LEN
               || (n == 2 * APISEC_MASTER_KEY_LEN + 1
                   && buf[2 * APISEC_MASTER_KEY_LEN] == '\n'))
    {
        if (apisec_hex_decode((const char *) buf, 2 * APISEC_MASTER_KEY_LEN,
                              key, APISEC_MASTER_KEY_LEN)
            == APISEC_MASTER_KEY_LEN)
        {
            rc = 0;

        } else {
            apisec_wipe(key, APISEC_MASTER_KEY_LEN);
            apisec_crypto_err(err, errlen,
                              "master key file \"%s\" must hold 32 bytes "
                              "or 64 hex digits (bad hex digit)", path);
        }

    } else {
        apisec_crypto_err(err, errlen,
                          "master key file \"%s\" must hold 32 bytes "
                          "(or 64 hex digits), not %lld",
                          path, (long long) sb.st_size);
    }

    apisec_wipe(buf, sizeof(buf));

    return rc;
}


int
apisec_master_key_create(const char *path, char *err, size_t errlen)
{
    int      fd;
    size_t   n;
    ssize_t  r;
    uint8_t  key[APISEC_MASTER_KEY_LEN];

    if (path == NULL) {
        apisec_crypto_err(err, errlen, "no master key file given");
        return -1;
    }

    if (RAND_bytes(key, APISEC_MASTER_KEY_LEN) != 1) {
        apisec_crypto_err(err, errlen,
                          "cannot generate a master key for \"%s\": "
                          "RAND_bytes failed", path);
        return -1;
    }

    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY,
              0600);

    if (fd == -1) {
        apisec_crypto_err(err, errlen,
                          "cannot create master key file \"%s\": %s",
                          path, strerror(errno));
        apisec_wipe(key, sizeof(key));
        return -1;
    }

    n = 0;

    while (n < sizeof(key)) {
        r = write(fd, key + n, sizeof(key) - n);

        if (r == -1) {
            if (errno == EINTR) {
                continue;
            }

            goto failed;
        }

        n += (size_t) r;
    }

    apisec_wipe(key, sizeof(key));

    if (fsync(fd) == -1) {
        goto failed;
    }

    if (close(fd) == -1) {
        fd = -1;
        goto failed;
    }

    return 0;

failed:

    apisec_crypto_err(err, errlen, "cannot write master key file \"%s\": %s",
                      path, strerror(errno));

    apisec_wipe(key, sizeof(key));

    if (fd != -1) {
        (void) close(fd);
    }

    (void) unlink(path);

    return -1;
}


int
apisec_seal(const uint8_t *mk, const uint8_t *aad, size_t aadlen,
    const uint8_t *pt, size_t ptlen, uint8_t *out, size_t outcap,
    size_t *outlen)
{
    int              n, rc;
    uint8_t         *nonce, *ct, *tag;
    OSSL_PARAM       params[2];
    EVP_CIPHER_CTX  *ctx;

    if (mk == NULL || out == NULL || outlen == NULL
        || (pt == NULL && ptlen != 0) || (aad == NULL && aadlen != 0)
        || ptlen > INT_MAX - APISEC_SEAL_OVERHEAD || aadlen > INT_MAX
        || outcap < ptlen + APISEC_SEAL_OVERHEAD)
    {
        return -1;
    }

    nonce = out;
    ct = out + APISEC_SEAL_NONCE_LEN;
    tag = ct + ptlen;

    if (RAND_bytes(nonce, APISEC_SEAL_NONCE_LEN) != 1) {
        return -1;
    }

    ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL) {
        return -1;
    }

    rc = -1;

    if (EVP_EncryptInit_ex2(ctx, EVP_aes_256_gcm(), mk, nonce, NULL) != 1) {
        goto done;
    }

    if (aadlen > 0
        && EVP_EncryptUpdate(ctx, NULL, &n, aad, (int) aadlen) != 1)
    {
        goto done;
    }

    if (ptlen > 0
        && (EVP_EncryptUpdate(ctx, ct, &n, pt, (int) ptlen) != 1
            || (size_t) n != ptlen))
    {
        goto done;
    }

    if (EVP_EncryptFinal_ex(ctx, ct + ptlen, &n) != 1 || n != 0) {
        goto done;
    }

    params[0] = OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG,
                                                  tag, APISEC_SEAL_TAG_LEN);
    params[1] = OSSL_PARAM_construct_end();

    if (EVP_CIPHER_CTX_get_params(ctx, params) != 1) {
        goto done;
    }

    *outlen = ptlen + APISEC_SEAL_OVERHEAD;
    rc = 0;

done:

    EVP_CIPHER_CTX_free(ctx);

    if (rc != 0) {
        apisec_wipe(out, ptlen + APISEC_SEAL_OVERHEAD);
    }

    return rc;
}


int
apisec_unseal(const uint8_t *mk, const uint8_t *aad, size_t aadlen,
    const uint8_t *in, size_t inlen, uint8_t *out, size_t outcap,
    size_t *outlen)
{
    int              n, rc;
    size_t           ctlen;
    uint8_t          tag[APISEC_SEAL_TAG_LEN];
    OSSL_PARAM       params[2];
    EVP_CIPHER_CTX  *ctx;

    if (mk == NULL || in == NULL || outlen == NULL
        || (aad == NULL && aadlen != 0) || aadlen > INT_MAX
        || inlen < APISEC_SEAL_OVERHEAD
        || inlen - APISEC_SEAL_OVERHEAD > INT_MAX)
    {
        return -1;
    }

    ctlen = inlen - APISEC_SEAL_OVERHEAD;

    if (outcap < ctlen || (out == NULL && ctlen != 0)) {
        return -1;
    }

    ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL) {
        return -1;
    }

    rc = -1;

    if (EVP_DecryptInit_ex2(ctx, EVP_aes_256_gcm(), mk, in, NULL) != 1) {
        goto done;
    }

    if (aadlen > 0
        && EVP_DecryptUpdate(ctx, NULL, &n, aad, (int) aadlen) != 1)
    {
        goto done;
    }

    if (ctlen > 0
        && (EVP_DecryptUpdate(ctx, out, &n, in + APISEC_SEAL_NONCE_LEN,
                              (int) ctlen) != 1
            || (size_t) n != ctlen))
    {
        goto done;
    }

    memcpy(tag, in + APISEC_SEAL_NONCE_LEN + ctlen, APISEC_SEAL_TAG_LEN);

    params[0] = OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG,
                                                  tag, APISEC_SEAL_TAG_LEN);
    params[1] = OSSL_PARAM_construct_end();

    if (EVP_CIPHER_CTX_set_params(ctx, params) != 1) {
        goto done;
    }

    if (EVP_DecryptFinal_ex(ctx, out == NULL ? tag : out + ctlen, &n) != 1
        || n != 0)
    {
        goto done;
    }

    *outlen = ctlen;
    rc = 0;

done:

    EVP_CIPHER_CTX_free(ctx);

    if (rc != 0 && out != NULL) {
        apisec_wipe(out, ctlen);
    }

    return rc;
}


/* a digest of HMAC_BLOCK-byte blocks (SHA-1 or SHA-256), or NULL */

static EVP_MD *
apisec_hmac_digest(const char *name)
{
    EVP_MD  *md;

    md = EVP_MD_fetch(NULL, name, NULL);

    if (md != NULL && EVP_MD_get_block_size(md) != APISEC_HMAC_BLOCK) {
        EVP_MD_free(md);
        return NULL;
    }

    return md;
}


/* the digest's three steps; 0 or -1 */

static int
apisec_digest_init(apisec_digest_t *d)
{
#ifdef APISEC_SHA256_DIRECT
    if (d->md == NULL) {
        return (SHA256_Init(&d->sha) == 1) ? 0 : -1;
    }
#endif

    return (EVP_DigestInit_ex(d->ctx, d->md, NULL) == 1) ? 0 : -1;
}


static int
apisec_digest_update(apisec_digest_t *d, const void *data, size_t len)
{
    if (len == 0) {
        return 0;
    }

#ifdef APISEC_SHA256_DIRECT
    if (d->md == NULL) {
        return (SHA256_Update(&d->sha, data, len) == 1) ? 0 : -1;
    }
#endif

    return (EVP_DigestUpdate(d->ctx, data, len) == 1) ? 0 : -1;
}


/* out[d->size] */

static int
apisec_digest_final(apisec_digest_t *d, uint8_t *out)
{
    unsigned int  n;

#ifdef APISEC_SHA256_DIRECT
    if (d->md == NULL) {
        return (SHA256_Final(out, &d->sha) == 1) ? 0 : -1;
    }
#endif

    return (EVP_DigestFinal_ex(d->ctx, out, &n) == 1 && n == d->size)
           ? 0 : -1;
}


/*
 * The HMAC's K into k[APISEC_HMAC_BLOCK]: the key padded with zeros to
 * the block, or its digest (d's) when it is longer; 0 or -1
 */

static int
apisec_hmac_block(apisec_digest_t *d, const uint8_t *key, size_t keylen,
    uint8_t *k)
{
    memset(k, 0, APISEC_HMAC_BLOCK);

    if (keylen > APISEC_HMAC_BLOCK) {
        return (apisec_digest_init(d) != 0
                || apisec_digest_update(d, key, keylen) != 0
                || apisec_digest_final(d, k) != 0)
               ? -1 : 0;
    }

    if (keylen > 0) {
        memcpy(k, key, keylen);
    }

    return 0;
}


/* pad = K ^ x, the inner (0x36) or outer (0x5c) pad */

static void
apisec_hmac_pad(uint8_t *pad, const uint8_t *k, uint8_t x)
{
    size_t  i;

    for (i = 0; i < APISEC_HMAC_BLOCK; i++) {
        pad[i] = k[i] ^ x;
    }
}


/*
 * One HMAC of data under key into out[d->size]: H((K ^ opad) ||
 * H((K ^ ipad) || data)), K the key padded with zeros to the block, or
 * its digest when it is longer.  Every copy of the key is wiped (the
 * digest's own state too); on failure out is wiped too and -1 returned.
 */

static int
apisec_hmac_run(apisec_digest_t *d, const uint8_t *key, size_t keylen,
    const uint8_t *data, size_t len, uint8_t *out)
{
    int      rc;
    uint8_t  k[APISEC_HMAC_BLOCK], pad[APISEC_HMAC_BLOCK];
    uint8_t  inner[EVP_MAX_MD_SIZE];

    rc = -1;

    if (apisec_hmac_block(d, key, keylen, k) != 0) {
        goto done;
    }

    apisec_hmac_pad(pad, k, 0x36);

    if (apisec_digest_init(d) != 0
        || apisec_digest_update(d, pad, sizeof(pad)) != 0
        || apisec_digest_update(d, data, len) != 0
        || apisec_digest_final(d, inner) != 0)
    {
        goto done;
    }

    apisec_hmac_pad(pad, k, 0x5c);

    if (apisec_digest_init(d) != 0
        || apisec_digest_update(d, pad, sizeof(pad)) != 0
        || apisec_digest_update(d, inner, d->size) != 0
        || apisec_digest_final(d, out) != 0)
    {
        goto done;
    }

    rc = 0;

done:

    apisec_wipe(k, sizeof(k));
    apisec_wipe(pad, sizeof(pad));
    apisec_wipe(inner, sizeof(inner));

#ifdef APISEC_SHA256_DIRECT
    if (d->md == NULL) {
        apisec_wipe(&d->sha, sizeof(d->sha));
    }
#endif

    if (rc != 0) {
        apisec_wipe(out, d->size);
    }

    return rc;
}


const char *
apisec_hmac_impl(void)
{
#ifdef APISEC_SHA256_DIRECT
    return "SHA256";
#else
    return "EVP";
#endif
}


apisec_hmac_t *
apisec_hmac_new(void)
{
    apisec_hmac_t  *h;

    h = calloc(1, sizeof(apisec_hmac_t));
    if (h == NULL) {
        return NULL;
    }

    h->sha256 = apisec_hmac_digest("SHA256");
    h->ctx = EVP_MD_CTX_new();

    if (h->sha256 == NULL || h->ctx == NULL
        || EVP_MD_get_size(h->sha256) != APISEC_SHA256_LEN)
    {
        apisec_hmac_free(h);
        return NULL;
    }

    h->d256.ctx = h->ctx;
    h->d256.size = APISEC_SHA256_LEN;

#ifndef APISEC_SHA256_DIRECT
    h->d256.md = h->sha256;
#endif

    return h;
}


void
apisec_hmac_free(apisec_hmac_t *h)
{
    if (h == NULL) {
        return;
    }

    EVP_MD_CTX_free(h->ctx);
    EVP_MD_free(h->sha1);
    EVP_MD_free(h->sha256);
    apisec_wipe(h, sizeof(apisec_hmac_t));
    free(h);
}


int
apisec_hmac_sha256(apisec_hmac_t *h, const uint8_t *key, size_t keylen,
    const uint8_t *data, size_t len, uint8_t *out)
{
    if (h == NULL || out == NULL || (key == NULL && keylen != 0)
        || (data == NULL && len != 0))
    {
        return -1;
    }

    return apisec_hmac_run(&h->d256, key, keylen, data, len, out);
}


#ifdef APISEC_SHA256_DIRECT

/*
 * A SHA-256 state after one block, in pads: the eight words of the state
 * (SHA256_CTX's h, public in sha.h); the rest of such a state is what
 * SHA256_Init leaves, but for the 512 bits counted
 */

#define APISEC_SHA256_STATE  (8 * sizeof(SHA_LONG))

static void
apisec_sha256_resume(SHA256_CTX *c, const uint8_t *state)
{
    (void) SHA256_Init(c);
    memcpy(c->h, state, APISEC_SHA256_STATE);
    c->Nl = 8 * APISEC_HMAC_BLOCK;
}

#endif


int
apisec_hmac_sha256_pads(apisec_hmac_t *h, const uint8_t *key, size_t keylen,
    uint8_t *pads)
{
#ifdef APISEC_SHA256_DIRECT
    int               rc;
    uint8_t           k[APISEC_HMAC_BLOCK], pad[APISEC_HMAC_BLOCK];
    apisec_digest_t  *d;

    if (h == NULL || pads == NULL || (key == NULL && keylen != 0)) {
        return -1;
    }

    /* K and each pad's block as apisec_hmac_run hashes them; the states */

    d = &h->d256;
    rc = -1;

    if (apisec_hmac_block(d, key, keylen, k) != 0) {
        goto done;
    }

    apisec_hmac_pad(pad, k, 0x36);

    if (apisec_digest_init(d) != 0
        || apisec_digest_update(d, pad, sizeof(pad)) != 0)
    {
        goto done;
    }

    memcpy(pads, d->sha.h, APISEC_SHA256_STATE);

    apisec_hmac_pad(pad, k, 0x5c);

    if (apisec_digest_init(d) != 0
        || apisec_digest_update(d, pad, sizeof(pad)) != 0)
    {
        goto done;
    }

    memcpy(pads + APISEC_SHA256_STATE, d->sha.h, APISEC_SHA256_STATE);
    rc = 0;

done:

    apisec_wipe(k, sizeof(k));
    apisec_wipe(pad, sizeof(pad));
    apisec_wipe(&d->sha, sizeof(d->sha));

    if (rc != 0) {
        apisec_wipe(pads, APISEC_HMAC_PADS_LEN);
    }

    return rc;

#else

    return (h == NULL || pads == NULL) ? -1 : 1;

#endif
}


int
apisec_hmac_sha256_padded(apisec_hmac_t *h, const uint8_t *pads,
    const uint8_t *data, size_t len, uint8_t *out)
{
#ifdef APISEC_SHA256_DIRECT
    int         rc;
    uint8_t     inner[APISEC_SHA256_LEN];
    SHA256_CTX  c;

    if (h == NULL || pads == NULL || out == NULL
        || (data == NULL && len != 0))
    {
        return -1;
    }

    rc = -1;

    apisec_sha256_resume(&c, pads);

    if ((len > 0 && SHA256_Update(&c, data, len) != 1)
        || SHA256_Final(inner, &c) != 1)
    {
        goto done;
    }

    apisec_sha256_resume(&c, pads + APISEC_SHA256_STATE);

    if (SHA256_Update(&c, inner, sizeof(inner)) != 1
        || SHA256_Final(out, &c) != 1)
    {
        goto done;
    }

    rc = 0;

done:

    apisec_wipe(inner, sizeof(inner));
    apisec_wipe(&c, sizeof(c));

    if (rc != 0) {
        apisec_wipe(out, APISEC_SHA256_LEN);
    }

    return rc;

#else

    return -1;

#endif
}


int
apisec_ct_equal(const void *a, size_t alen, const void *b, size_t blen)
{
    if (alen != blen) {
        return 0;
    }

    if (alen == 0) {
        return 1;
    }

    if (a == NULL || b == NULL) {
        return 0;
    }

    return CRYPTO_memcmp(a, b, alen) == 0;
}


/* rejection sampling: bytes >= 248 (= 4 * 62) are dropped, no bias */

int
apisec_random_bytes(uint8_t *out, size_t n)
{
    if (n > INT_MAX || RAND_bytes(out, (int) n) != 1) {
        return -1;
    }

    return 0;
}


int
apisec_random_alnum(char *out, size_t n)
{
    size_t   i, j;
    uint8_t  buf[64];

    if (out == NULL) {
        return -1;
    }

    i = 0;

    while (i < n) {
        if (RAND_bytes(buf, sizeof(buf)) != 1) {
            apisec_wipe(buf, sizeof(buf));
            apisec_wipe(out, i);
            out[0] = '\0';
            return -1;
        }

        for (j = 0; j < sizeof(buf) && i < n; j++) {
            if (buf[j] < 248) {
                out[i++] = apisec_alnum[buf[j] % 62];
            }
        }
    }

    out[n] = '\0';

    apisec_wipe(buf, sizeof(buf));

    return 0;
}


void
apisec_hex_encode(const uint8_t *in, size_t n, char *out)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        out[2 * i] = apisec_hex_lower[in[i] >> 4];
        out[2 * i + 1] = apisec_hex_lower[in[i] & 0xf];
    }

    out[2 * n] = '\0';
}


int
apisec_hex_decode(const char *in, size_t n, uint8_t *out, size_t outcap)
{
    int     hi, lo, bad;
    size_t  i;

    if ((in == NULL && n != 0) || n % 2 != 0 || n / 2 > outcap
        || n / 2 > INT_MAX)
    {
        return -1;
    }

    /* a bad digit is -1: it leaves bad negative, checked once at the end */

    bad = 0;

    for (i = 0; i < n; i += 2) {
        hi = apisec_hex_value(in[i]);
        lo = apisec_hex_value(in[i + 1]);

        bad |= hi | lo;
        out[i / 2] = (uint8_t) (((unsigned) hi << 4) | (unsigned) lo);
    }

    if (bad < 0) {
        apisec_wipe(out, n / 2);
        return -1;
    }

    return (int) (n / 2);
}


size_t
apisec_base64_encode(const uint8_t *in, size_t n, char *out)
{
    char      *p;
    size_t     i;
    uint32_t   v;

    p = out;

    for (i = 0; i + 2 < n; i += 3) {
        v = ((uint32_t) in[i] << 16) | ((uint32_t) in[i + 1] << 8) | in[i + 2];

        *p++ = apisec_b64[(v >> 18) & 0x3f];
        *p++ = apisec_b64[(v >> 12) & 0x3f];
        *p++ = apisec_b64[(v >> 6) & 0x3f];
        *p++ = apisec_b64[v & 0x3f];
    }

    if (n - i == 1) {
        v = (uint32_t) in[i] << 16;

        *p++ = apisec_b64[(v >> 18) & 0x3f];
        *p++ = apisec_b64[(v >> 12) & 0x3f];
        *p++ = '=';
        *p++ = '=';

    } else if (n - i == 2) {
        v = ((uint32_t) in[i] << 16) | ((uint32_t) in[i + 1] << 8);

        *p++ = apisec_b64[(v >> 18) & 0x3f];
        *p++ = apisec_b64[(v >> 12) & 0x3f];
        *p++ = apisec_b64[(v >> 6) & 0x3f];
        *p++ = '=';
    }

    *p = '\0';

    return (size_t) (p - out);
}


static int
apisec_b64_value(int c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }

    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }

    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }

    if (c == '+') {
        return 62;
    }

    if (c == '/') {
        return 63;
    }

    return -1;
}


/*
 * Strict RFC 4648: length a multiple of 4, '=' only as the last one or
 * two characters, and the unused bits before the padding must be zero,
 * so that every byte string has exactly one accepted encoding.
 */

int
apisec_base64_decode(const char *in, size_t n, uint8_t *out, size_t outcap)
{
    int       a, b, c, d;
    size_t    i, len, pad;
    uint8_t  *p;

    if ((in == NULL && n != 0) || n % 4 != 0 || n / 4 * 3 > INT_MAX) {
        return -1;
    }

    pad = 0;

    if (n > 0 && in[n - 1] == '=') {
        pad = (in[n - 2] == '=') ? 2 : 1;
    }

    len = n / 4 * 3 - pad;

    if (len > outcap) {
        return -1;
    }

    p = out;

    for (i = 0; i < n; i += 4) {
        a = apisec_b64_value(in[i]);
        b = apisec_b64_value(in[i + 1]);

        if (i + 4 == n && pad == 2) {
            c = 0;
            d = 0;

            if ((b & 0x0f) != 0) {
                goto failed;
            }

        } else if (i + 4 == n && pad == 1) {
            c = apisec_b64_value(in[i + 2]);
            d = 0;

            if (c >= 0 && (c & 0x03) != 0) {
                goto failed;
            }

        } else {
            c = apisec_b64_value(in[i + 2]);
            d = apisec_b64_value(in[i + 3]);
        }

        if (a < 0 || b < 0 || c < 0 || d < 0) {
            goto failed;
        }

        *p++ = (uint8_t) ((a << 2) | (b >> 4));

        if (i + 4 < n || pad < 2) {
            *p++ = (uint8_t) (((b & 0x0f) << 4) | (c >> 2));
        }

        if (i + 4 < n || pad < 1) {
            *p++ = (uint8_t) (((c & 0x03) << 6) | d);
        }
    }

    return (int) len;

failed:

    apisec_wipe(out, (size_t) (p - out));

    return -1;
}


void
apisec_wipe(void *p, size_t n)
{
    if (p != NULL && n > 0) {
        OPENSSL_cleanse(p, n);
    }
}


/*
 * TOTP (RFC 6238 over RFC 4226): HMAC-SHA1 of the 8-byte big-endian
 * step, dynamically truncated, modulo 10^digits.
 */

int
apisec_totp(apisec_hmac_t *h, const uint8_t *secret, size_t len,
    uint64_t step, unsigned digits, unsigned *code)
{
    int               i;
    uint8_t           msg[8], mac[20];
    uint32_t          bin, mod;
    apisec_digest_t   d;

    if (h == NULL || secret == NULL || len == 0 || len > INT_MAX
        || digits < 6 || digits > 8 || code == NULL)
    {
        return -1;
    }

    if (h->sha1 == NULL) {
        h->sha1 = apisec_hmac_digest("SHA1");
        if (h->sha1 == NULL) {
            return -1;
        }
    }

    for (i = 7; i >= 0; i--) {
        msg[i] = (uint8_t) step;
        step >>= 8;
    }

    d.ctx = h->ctx;
    d.md = h->sha1;
    d.size = sizeof(mac);

    if (apisec_hmac_run(&d, secret, len, msg, sizeof(msg), mac) != 0) {
        return -1;
    }

    i = mac[19] & 0x0f;

    bin = ((uint32_t) (mac[i] & 0x7f) << 24) | ((uint32_t) mac[i + 1] << 16)
          | ((uint32_t) mac[i + 2] << 8) | (uint32_t) mac[i + 3];

    for (mod = 1; digits > 0; digits--) {
        mod *= 10;
    }

    *code = bin % mod;

    apisec_wipe(mac, sizeof(mac));

    return 0;
}


int
apisec_totp_verify(apisec_hmac_t *h, const uint8_t *secret, size_t len,
    const char *code, size_t codelen, int64_t now, int64_t *step)
{
    int       d;
    size_t    i;
    int64_t   s;
    unsigned  want, got;

    if (codelen != APISEC_TOTP_DIGITS) {
        return APISEC_TOTP_MALFORMED;
    }

    want = 0;

    for (i = 0; i < codelen; i++) {
        if (code[i] < '0' || code[i] > '9') {
            return APISEC_TOTP_MALFORMED;
        }

        want = want * 10 + (unsigned) (code[i] - '0');
    }

    /* every candidate is computed, so that the time does not tell which */

    d = APISEC_TOTP_WRONG;

    for (s = now / APISEC_TOTP_STEP - 1; s <= now / APISEC_TOTP_STEP + 1; s++) {
        if (apisec_totp(h, secret, len, (uint64_t) s, APISEC_TOTP_DIGITS,
                        &got)
            != 0)
        {
            return APISEC_TOTP_ERROR;
        }

        if (apisec_ct_equal(&got, sizeof(got), &want, sizeof(want))
            && d == APISEC_TOTP_WRONG)
        {
            d = APISEC_TOTP_OK;
            *step = s;
        }
    }

    return d;
}


static const char  apisec_b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";


size_t
apisec_base32_encode(const uint8_t *in, size_t n, char *out)
{
    int       bits;
    size_t    i, o;
    uint32_t  acc;

    acc = 0;
    bits = 0;
    o = 0;

    for (i = 0; i < n; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;

        while (bits >= 5) {
            out[o++] = apisec_b32[(acc >> (bits - 5)) & 0x1f];
            bits -= 5;
        }
    }

    if (bits > 0) {
        out[o++] = apisec_b32[(acc << (5 - bits)) & 0x1f];
    }

    out[o] = '\0';

    return o;
}


int
apisec_base32_decode(const char *in, size_t n, uint8_t *out, size_t cap)
{
    int       bits, v;
    char      c;
    size_t    i, o;
    uint32_t  acc;

    acc = 0;
    bits = 0;
    o = 0;

    for (i = 0; i < n; i++) {
        c = in[i];

        if (c == '=') {
            break;
        }

        if (c >= 'a' && c <= 'z') {
            c = (char) (c - 'a' + 'A');
        }

        if (c >= 'A' && c <= 'Z') {
            v = c - 'A';

        } else if (c >= '2' && c <= '7') {
            v = c - '2' + 26;

        } else {
            return -1;
        }

        acc = (acc << 5) | (uint32_t) v;
        bits += 5;

        if (bits >= 8) {
            if (o == cap || o > INT_MAX) {
                return -1;
            }

            out[o++] = (uint8_t) (acc >> (bits - 8));
            bits -= 8;
        }
    }

    for ( /* void */ ; i < n; i++) {
        if (in[i] != '=') {
            return -1;
        }
    }

    return (int) o;
}
