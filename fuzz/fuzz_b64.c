/*
 * fuzz_b64: the decoders of signatures and secrets: base64 (htx and okx
 * signatures), hex (hashkey and binance signatures, the master key file),
 * base32 (TOTP secrets), and the TOTP code check (the 2FA header).
 *
 * Input: the text to decode, and also the bytes to encode.  Checks:
 * decoders respect their output cap; base64 is strict, so a decoded text
 * encodes back to itself; decode(encode(x)) == x for all three; a TOTP
 * code that is not six digits is malformed.
 */

#include "fuzz.h"

#include "apisec_crypto.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                     n;
    char                   *text, *enc;
    size_t                  cap, len;
    int64_t                 step;
    uint8_t                *out;
    static apisec_hmac_t   *h;
    static const uint8_t    totp_secret[] = "12345678901234567890";

    if (h == NULL) {
        h = apisec_hmac_new();
        FUZZ_CHECK(h != NULL);
    }

    text = (char *) fuzz_dup(data, size);
    cap = size;                         /* no decoding is longer */
    out = malloc(cap ? cap : 1);
    enc = malloc(size * 2 + 8);         /* hex is the longest encoding */
    FUZZ_CHECK(out != NULL && enc != NULL);

    /* base64: strict, so what decodes encodes back to the same text */

    n = apisec_base64_decode(text, size, out, cap);
    FUZZ_CHECK(n >= -1 && n <= (int) cap);

    if (n >= 0) {
        len = apisec_base64_encode(out, (size_t) n, enc);
        FUZZ_CHECK(len == size && (size == 0 || memcmp(enc, text, size) == 0));
    }

    if (size >= 4) {
        n = apisec_base64_decode(text, size, out, size / 4 * 3 - 3);
        FUZZ_CHECK(n <= (int) (size / 4 * 3 - 3));
    }

    len = apisec_base64_encode(data, size, enc);
    FUZZ_CHECK(len == (size + 2) / 3 * 4);
    n = apisec_base64_decode(enc, len, out, cap);
    FUZZ_CHECK(n == (int) size && (size == 0 || memcmp(out, data, size) == 0));

    /* hex, either case */

    n = apisec_hex_decode(text, size, out, cap);
    FUZZ_CHECK(n == -1 || (size_t) n * 2 == size);

    if (size >= 2) {
        n = apisec_hex_decode(text, size, out, size / 2 - 1);
        FUZZ_CHECK(n == -1);
    }

    apisec_hex_encode(data, size, enc);
    FUZZ_CHECK(strlen(enc) == size * 2);
    n = apisec_hex_decode(enc, size * 2, out, cap);
    FUZZ_CHECK(n == (int) size && (size == 0 || memcmp(out, data, size) == 0));

    /* base32, either case, padding optional */

    n = apisec_base32_decode(text, size, out, cap);
    FUZZ_CHECK(n >= -1 && n <= (int) cap);

    if (n > 0) {
        n = apisec_base32_decode(text, size, out, (size_t) n - 1);
        FUZZ_CHECK(n == -1);
    }

    len = apisec_base32_encode(data, size, enc);
    FUZZ_CHECK(len == (size * 8 + 4) / 5);
    n = apisec_base32_decode(enc, len, out, cap);
    FUZZ_CHECK(n == (int) size && (size == 0 || memcmp(out, data, size) == 0));

    /* a TOTP code as the 2FA header sends it */

    n = apisec_totp_verify(h, totp_secret, APISEC_TOTP_SECRET_LEN, text, size,
                           1700000000, &step);
    FUZZ_CHECK(n == APISEC_TOTP_OK || n == APISEC_TOTP_MALFORMED
               || n == APISEC_TOTP_WRONG);

    if (size != APISEC_TOTP_DIGITS) {
        FUZZ_CHECK(n == APISEC_TOTP_MALFORMED);
    }

    if (n == APISEC_TOTP_OK) {
        FUZZ_CHECK(step >= 1700000000 / 30 - 1 && step <= 1700000000 / 30 + 1);
    }

    free(text);
    free(out);
    free(enc);

    return 0;
}
