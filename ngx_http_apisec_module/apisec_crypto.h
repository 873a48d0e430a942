/*
 * apisec: master key, sealing of secrets (AES-256-GCM), HMAC-SHA256,
 * constant-time comparison, random identifiers, hex and base64.
 * Plain C over OpenSSL 3, no nginx types.
 */

#ifndef _APISEC_CRYPTO_H_INCLUDED_
#define _APISEC_CRYPTO_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define APISEC_MASTER_KEY_LEN   32
#define APISEC_SEAL_NONCE_LEN   12
#define APISEC_SEAL_TAG_LEN     16
#define APISEC_SEAL_OVERHEAD    (APISEC_SEAL_NONCE_LEN + APISEC_SEAL_TAG_LEN)
#define APISEC_SHA256_LEN       32


/*
 * The master key file holds exactly 32 bytes, or 64 hex digits optionally
 * followed by a newline.  A file that group or others may read or write is
 * refused, as is any other size.  On error, a one-line message naming the
 * file is written into err and -1 is returned.
 */
int apisec_master_key_load(const char *path, uint8_t *key,
    char *err, size_t errlen);

/* new random key, raw 32 bytes, O_CREAT|O_EXCL, mode 0600 */
int apisec_master_key_create(const char *path, char *err, size_t errlen);

/*
 * out = nonce || ciphertext || tag, outlen = ptlen + APISEC_SEAL_OVERHEAD.
 * aad binds the sealed value to its owner (the access key).  -1 on error
 * (including outcap too small).
 */
int apisec_seal(const uint8_t *mk, const uint8_t *aad, size_t aadlen,
    const uint8_t *pt, size_t ptlen, uint8_t *out, size_t outcap,
    size_t *outlen);

/* -1 when the tag does not verify (wrong master key, tampering, wrong aad) */
int apisec_unseal(const uint8_t *mk, const uint8_t *aad, size_t aadlen,
    const uint8_t *in, size_t inlen, uint8_t *out, size_t outcap,
    size_t *outlen);


/*
 * A reusable HMAC context (SHA-256, and SHA-1 for TOTP): RFC 2104 over
 * EVP_MD, the digests fetched once, one EVP_MD_CTX reused, or for SHA-256
 * over OpenSSL's SHA-256 calls (apisec_crypto.c)
 */
typedef struct apisec_hmac_s  apisec_hmac_t;

apisec_hmac_t *apisec_hmac_new(void);
/* how this build computes the HMAC's SHA-256: "SHA256" (OpenSSL's own
 * SHA-256 calls) or "EVP" (-DAPISEC_HMAC_EVP, or a library without the
 * deprecated calls) */
const char *apisec_hmac_impl(void);
void apisec_hmac_free(apisec_hmac_t *h);
int apisec_hmac_sha256(apisec_hmac_t *h, const uint8_t *key, size_t keylen,
    const uint8_t *data, size_t len, uint8_t *out);

/*
 * The HMAC-SHA256 of a key used again and again, its two pads hashed
 * once: apisec_hmac_sha256_pads puts the SHA-256 states after the key's
 * inner and outer pad into pads[APISEC_HMAC_PADS_LEN] (as secret as the
 * key: wipe them with it); 0, 1 where this build cannot (EVP only: see
 * apisec_hmac_impl), -1 on failure.  apisec_hmac_sha256_padded is then
 * apisec_hmac_sha256 under that key, two SHA-256 blocks fewer; 0 or -1.
 */
#define APISEC_HMAC_PADS_LEN  64

int apisec_hmac_sha256_pads(apisec_hmac_t *h, const uint8_t *key,
    size_t keylen, uint8_t *pads);
int apisec_hmac_sha256_padded(apisec_hmac_t *h, const uint8_t *pads,
    const uint8_t *data, size_t len, uint8_t *out);


#define APISEC_TOTP_STEP        30      /* RFC 6238: 30 s steps */
#define APISEC_TOTP_DIGITS      6
#define APISEC_TOTP_SECRET_LEN  20      /* 160 bits, as RFC 4226 advises */

#define APISEC_TOTP_OK          0
#define APISEC_TOTP_MALFORMED   1       /* not six digits */
#define APISEC_TOTP_WRONG       2       /* no step of now +- 1 gives it */
#define APISEC_TOTP_ERROR       3       /* crypto failure */

/* the TOTP code (HMAC-SHA1, digits 6..8) of a step */
int apisec_totp(apisec_hmac_t *h, const uint8_t *secret, size_t len,
    uint64_t step, unsigned digits, unsigned *code);

/*
 * A six-digit code against the steps now/30 - 1 .. now/30 + 1 (one step
 * of drift either side); APISEC_TOTP_OK with *step the matching step.
 * Whether the step was used before is the caller's business.
 */
int apisec_totp_verify(apisec_hmac_t *h, const uint8_t *secret, size_t len,
    const char *code, size_t codelen, int64_t now, int64_t *step);

/* RFC 4648 base32, upper case, no padding; returns the length */
size_t apisec_base32_encode(const uint8_t *in, size_t n, char *out);

/* base32 of either case, padding optional; the length, or -1 */
int apisec_base32_decode(const char *in, size_t n, uint8_t *out, size_t cap);

/* 1 when equal; lengths compared first, contents in constant time */
int apisec_ct_equal(const void *a, size_t alen, const void *b, size_t blen);

/* n random bytes (RAND_bytes); 0, or -1 on failure */
int apisec_random_bytes(uint8_t *out, size_t n);

/* n characters of [A-Za-z0-9] from RAND_bytes (unbiased), then a NUL */
int apisec_random_alnum(char *out, size_t n);

/* lowercase hex of n bytes plus NUL into out[2n + 1] */
void apisec_hex_encode(const uint8_t *in, size_t n, char *out);

/* hex of either case; returns decoded length, or -1 (odd, bad digit, cap) */
int apisec_hex_decode(const char *in, size_t n, uint8_t *out, size_t outcap);

/* standard base64 with padding plus NUL; returns the length without NUL */
size_t apisec_base64_encode(const uint8_t *in, size_t n, char *out);

/* standard base64, padding required; returns length, or -1 */
int apisec_base64_decode(const char *in, size_t n, uint8_t *out,
    size_t outcap);

/* OPENSSL_cleanse */
void apisec_wipe(void *p, size_t n);


#endif /* _APISEC_CRYPTO_H_INCLUDED_ */
