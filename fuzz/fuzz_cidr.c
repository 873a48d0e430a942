/*
 * fuzz_cidr: IP allow-list entries (apisec_parse_cidr: apisecctl --ip,
 * import lines) and the client address match (apisec_cidr_match).
 *
 * Input: the CIDR text, optionally followed by '\n' and the bytes of an
 * address to match (4 or 16 of them; fewer are padded with zeros).
 * Checks: host bits are clear; the canonical text (apisec_format_cidr)
 * parses back to the same network; the network contains its own address;
 * the match agrees with a bit-by-bit reference.
 */

#include "fuzz.h"

#include "apisec_parse.h"


static int
fuzz_match_ref(const apisec_cidr_t *c, const uint8_t *addr)
{
    unsigned  i;

    for (i = 0; i < c->prefix; i++) {
        if (((c->addr[i / 8] ^ addr[i / 8]) >> (7 - i % 8)) & 1) {
            return 0;
        }
    }

    return 1;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char           *text, out[APISEC_CIDR_LEN];
    size_t          tlen, alen, i, bits;
    uint8_t         addr[16];
    apisec_cidr_t   c, c2;
    const uint8_t  *nl;

    nl = (size > 0) ? memchr(data, '\n', size) : NULL;
    tlen = (nl != NULL) ? (size_t) (nl - data) : size;

    memset(addr, 0, sizeof(addr));

    if (nl != NULL) {
        alen = size - tlen - 1;
        memcpy(addr, nl + 1, alen < 16 ? alen : 16);
    }

    text = (char *) fuzz_dup(data, tlen);

    if (apisec_parse_cidr(text, tlen, &c) != 0) {
        free(text);
        return 0;
    }

    free(text);

    FUZZ_CHECK(c.family == 4 || c.family == 6);
    bits = (c.family == 4) ? 32 : 128;
    FUZZ_CHECK(c.prefix <= bits);

    /* host bits clear, and nothing past the address */

    for (i = c.prefix; i < 128; i++) {
        FUZZ_CHECK(((c.addr[i / 8] >> (7 - i % 8)) & 1) == 0);
    }

    memset(out, 0x55, sizeof(out));
    apisec_format_cidr(&c, out);
    FUZZ_CHECK(memchr(out, '\0', sizeof(out)) != NULL);

    FUZZ_CHECK(apisec_parse_cidr(out, strlen(out), &c2) == 0);
    FUZZ_CHECK(memcmp(&c, &c2, sizeof(apisec_cidr_t)) == 0);

    FUZZ_CHECK(apisec_cidr_match(&c, c.family, c.addr) == 1);
    FUZZ_CHECK(apisec_cidr_match(&c, c.family == 4 ? 6 : 4, addr) == 0);

    FUZZ_CHECK(apisec_cidr_match(&c, c.family, addr)
               == fuzz_match_ref(&c, addr));

    return 0;
}
