/*
 * fuzz_codec: key records as the store reads them (apisec_key_decode).
 * A record is read from a file the worker maps: a corrupted or forged
 * one must be refused (APISEC_ERR_CORRUPT), never crash or decode into
 * a key that breaks the record's own rules.
 *
 * Input: the record's bytes.  When it decodes: encoding it again
 * (apisec_key_encode) and decoding that gives the same key and the same
 * bytes (decode(encode(k)) == k); the idle test runs on it; the sealed
 * secret is opened with a fixed master key (the tag check refuses it).
 */

#include "fuzz.h"

#include "apisec_store.h"


static const uint8_t  fuzz_mk[APISEC_MASTER_KEY_LEN] = {
    0x61, 0x70, 0x69, 0x73, 0x65, 0x63, 0x2d, 0x66,
    0x75, 0x7a, 0x7a, 0x2d, 0x6d, 0x61, 0x73, 0x74,
    0x65, 0x72, 0x2d, 0x6b, 0x65, 0x79, 0x2d, 0x30,
    0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38
};


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int            rc;
    size_t         len, len2, n;
    uint8_t       *rec, *buf, *buf2, plain[APISEC_SEALED_MAX];
    apisec_key_t  *k, *k2;

    k = malloc(sizeof(apisec_key_t));
    k2 = malloc(sizeof(apisec_key_t));
    buf = malloc(APISEC_RECORD_MAX);
    buf2 = malloc(APISEC_RECORD_MAX);
    FUZZ_CHECK(k != NULL && k2 != NULL && buf != NULL && buf2 != NULL);

    rec = fuzz_dup(data, size);

    rc = apisec_key_decode(rec, size, k);
    FUZZ_CHECK(rc == APISEC_OK || rc == APISEC_ERR_CORRUPT);

    if (rc == APISEC_OK) {
        FUZZ_CHECK(strlen(k->access_key) > 0);
        FUZZ_CHECK(strlen(k->account) > 0);
        FUZZ_CHECK(k->perms != 0 && (k->perms & ~APISEC_PERM_ALL) == 0);
        FUZZ_CHECK(k->status >= 0 && k->status <= APISEC_STATUS_MAX);
        FUZZ_CHECK(k->n_ips <= APISEC_IPS_MAX);
        FUZZ_CHECK(k->secret_len > APISEC_SEAL_OVERHEAD
                   && k->secret_len <= APISEC_SEALED_MAX);

        rc = apisec_key_encode(k, buf, APISEC_RECORD_MAX, &len);
        FUZZ_CHECK(rc == APISEC_OK);
        FUZZ_CHECK(len <= APISEC_RECORD_MAX);

        rc = apisec_key_decode(buf, len, k2);
        FUZZ_CHECK(rc == APISEC_OK);
        FUZZ_CHECK(memcmp(k, k2, sizeof(apisec_key_t)) == 0);

        rc = apisec_key_encode(k2, buf2, APISEC_RECORD_MAX, &len2);
        FUZZ_CHECK(rc == APISEC_OK);
        FUZZ_CHECK(len2 == len && memcmp(buf, buf2, len) == 0);

        (void) apisec_key_idle(k, 1700000000, 90 * 86400, 0);
        (void) apisec_key_idle(k, 1700000000, 90 * 86400, 1);

        rc = apisec_unseal(fuzz_mk, (const uint8_t *) k->access_key,
                           strlen(k->access_key), k->secret, k->secret_len,
                           plain, sizeof(plain), &n);
        FUZZ_CHECK(rc == -1 || n == k->secret_len - APISEC_SEAL_OVERHEAD);
    }

    free(rec);
    free(k);
    free(k2);
    free(buf);
    free(buf2);

    return 0;
}
