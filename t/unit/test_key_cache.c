/*
 * Unit tests of what nginx's workers use on every request: one HMAC-SHA256
 * context keyed again for every message (RFC 4231, and against a fresh
 * context), and the key cache of a store handle opened with
 * APISEC_OPEN_CACHE (apisec_key_get, apisec_key_find, apisec_key_memo,
 * apisec_key_hmac): a key changed, rotated, disabled or deleted, by this
 * handle or by another process, is seen at its next read; more keys than
 * the cache holds; flushes of last uses keep the cache, any other write,
 * by any writer, empties it (the cache's generation); the cache's memory,
 * where the unsealed secrets are, is left out of core dumps.
 */


#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lmdb.h>

#include "unit.h"
#include "apisec_store.h"


static void rm_rf(const char *dir);
static const char *new_store(const char *name);
static const char *cached_store(const char *name, apisec_store_t **st,
    apisec_hmac_t **h);
static void make_key(apisec_store_t *st, apisec_key_t *k, const char *ak,
    const char *secret);
static int put(apisec_store_t *st, const apisec_key_t *k);
static int del(apisec_store_t *st, const char *ak);
static int hmac_is(apisec_store_t *st, apisec_hmac_t *h,
    const apisec_key_t *k, const char *secret, const char *msg);
static int in_child(const char *dir, const char *ak, const char *secret,
    int status);
static void test_rekeyed(void);
static void test_cache(void);
static void test_other_process(void);
static void test_many(void);
static void test_find_memo(void);
static int touch(apisec_store_t *st, const char *ak, int64_t t);
static int raw_child(const char *dir, const char *ak, int status);
static void test_generation(void);
static void test_hold(void);
static int dontdump_maps(void);
static void test_no_dump(void);


static char     base[] = "/tmp/apisec-kc-XXXXXX";
static char     dirbuf[512];
static uint8_t  mk[APISEC_MASTER_KEY_LEN];


static void
rm_rf(const char *dir)
{
    DIR            *d;
    char            path[1024];
    struct dirent  *e;

    d = opendir(dir);
    if (d == NULL) {
        return;
    }

    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
            (void) unlink(path);
        }
    }

    closedir(d);
    (void) rmdir(dir);
}


static const char *
new_store(const char *name)
{
    char  err[APISEC_ERR_LEN];

    snprintf(dirbuf, sizeof(dirbuf), "%s/%s", base, name);
    rm_rf(dirbuf);

    if (apisec_store_init(dirbuf, mk, 0, err, sizeof(err)) != APISEC_OK) {
        fprintf(stderr, "init: %s\n", err);
    }

    return dirbuf;
}


/* a new store NAME opened with APISEC_OPEN_CACHE, and an HMAC context */

static const char *
cached_store(const char *name, apisec_store_t **st, apisec_hmac_t **h)
{
    char         err[APISEC_ERR_LEN];
    const char  *dir;

    dir = new_store(name);
    *h = apisec_hmac_new();
    *st = NULL;

    CHECK_INT(apisec_store_open(st, dir, mk, APISEC_OPEN_CACHE, 0, err,
                                sizeof(err)),
              APISEC_OK);

    if (*st == NULL || *h == NULL) {
        apisec_store_close(*st);
        apisec_hmac_free(*h);
        return NULL;
    }

    return dir;
}


static void
make_key(apisec_store_t *st, apisec_key_t *k, const char *ak,
    const char *secret)
{
    memset(k, 0, sizeof(apisec_key_t));

    strcpy(k->access_key, ak);
    strcpy(k->account, "acct");
    k->perms = APISEC_PERM_READ;
    k->status = APISEC_STATUS_ACTIVE;
    k->created_at = 1700000000;

    CHECK_INT(apisec_key_set_secret(st, k, secret, strlen(secret)),
              APISEC_OK);
}


static int
put(apisec_store_t *st, const apisec_key_t *k)
{
    int             rc;
    apisec_wtxn_t  *w;

    rc = apisec_store_begin(st, &w);
    if (rc != APISEC_OK) {
        return rc;
    }

    rc = apisec_key_put(w, k, 1);
    if (rc != APISEC_OK) {
        apisec_store_abort(w);
        return rc;
    }

    return apisec_store_commit(w);
}


static int
del(apisec_store_t *st, const char *ak)
{
    int             rc;
    apisec_wtxn_t  *w;

    rc = apisec_store_begin(st, &w);
    if (rc != APISEC_OK) {
        return rc;
    }

    rc = apisec_key_del(w, ak, strlen(ak));
    if (rc != APISEC_OK) {
        apisec_store_abort(w);
        return rc;
    }

    return apisec_store_commit(w);
}


/* 1 when the store's HMAC of msg under k is HMAC-SHA256(secret, msg) */

static int
hmac_is(apisec_store_t *st, apisec_hmac_t *h, const apisec_key_t *k,
    const char *secret, const char *msg)
{
    uint8_t  got[APISEC_SHA256_LEN], want[APISEC_SHA256_LEN];

    if (apisec_key_hmac(st, h, k, (const uint8_t *) msg, strlen(msg), got)
        != APISEC_OK
        || apisec_hmac_sha256(h, (const uint8_t *) secret, strlen(secret),
                              (const uint8_t *) msg, strlen(msg), want)
           != 0)
    {
        return 0;
    }

    return memcmp(got, want, sizeof(got)) == 0;
}


/*
 * Another process (apisecctl's way: its own handle, no cache) gives key ak
 * a new secret (secret != NULL) or status (status >= 0), or deletes it.
 */

static int
in_child(const char *dir, const char *ak, const char *secret, int status)
{
    int              rc, wst;
    char             err[APISEC_ERR_LEN];
    pid_t            pid;
    apisec_key_t     k;
    apisec_store_t  *cst;

    fflush(NULL);
    pid = fork();

    if (pid == 0) {
        if (apisec_store_open(&cst, dir, mk, 0, 0, err, sizeof(err))
            != APISEC_OK
            || apisec_key_get(cst, ak, strlen(ak), &k) != APISEC_OK)
        {
            _exit(2);
        }

        if (secret == NULL && status < 0) {
            rc = del(cst, ak);

        } else {
            if (secret != NULL) {
                rc = apisec_key_set_secret(cst, &k, secret, strlen(secret));
                if (rc != APISEC_OK) {
                    _exit(3);
                }
            }

            if (status >= 0) {
                k.status = status;
            }

            rc = put(cst, &k);
        }

        apisec_store_close(cst);
        _exit(rc == APISEC_OK ? 0 : 4);
    }

    if (pid < 0 || waitpid(pid, &wst, 0) != pid) {
        return -1;
    }

    return WIFEXITED(wst) ? WEXITSTATUS(wst) : -1;
}


/*
 * The handle's one HMAC context, its key set again for every message
 * (the key cache keeps secrets, not contexts): keys of every length, in
 * turns, give what a fresh context gives, and RFC 4231's test cases 2
 * and 6 (a key longer than a block)
 */

static void
test_rekeyed(void)
{
    int             i, j, bad;
    char            msg[300];
    uint8_t         key[131], got[32], want[32];
    apisec_hmac_t  *h, *fresh;

    /* test case 2: key "Jefe" */
    static const uint8_t  tc2[32] = {
        0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e,
        0x6a, 0x04, 0x24, 0x26, 0x08, 0x95, 0x75, 0xc7,
        0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27, 0x39, 0x83,
        0x9d, 0xec, 0x58, 0xb9, 0x64, 0xec, 0x38, 0x43
    };

    /* test case 6: a 131-byte key of 0xaa, longer than a block */
    static const uint8_t  tc6[32] = {
        0x60, 0xe4, 0x31, 0x59, 0x1e, 0xe0, 0xb6, 0x7f,
        0x0d, 0x8a, 0x26, 0xaa, 0xcb, 0xf5, 0xb7, 0x7f,
        0x8e, 0x0b, 0xc6, 0x21, 0x37, 0x28, 0xc5, 0x14,
        0x05, 0x46, 0x04, 0x0f, 0x0e, 0xe3, 0x7f, 0x54
    };

    h = apisec_hmac_new();
    CHECK(h != NULL);

    if (h == NULL) {
        return;
    }

    memset(key, 0xaa, sizeof(key));

    /* twice each, in turns: nothing of one key stays for the next */

    for (i = 0; i < 2; i++) {
        CHECK(apisec_hmac_sha256(h, (const uint8_t *) "Jefe", 4,
                  (const uint8_t *) "what do ya want for nothing?", 28, got)
              == 0);
        CHECK(memcmp(got, tc2, 32) == 0);

        CHECK(apisec_hmac_sha256(h, key, sizeof(key),
                  (const uint8_t *) "Test Using Larger Than Block-Size Key "
                  "- Hash Key First", 54, got)
              == 0);
        CHECK(memcmp(got, tc6, 32) == 0);
    }

    /* messages of 0 to 299 bytes under keys of 1 to 131 bytes, in turns */

    for (i = 0; i < (int) sizeof(msg); i++) {
        msg[i] = (char) ('a' + i % 26);
    }

    bad = 0;

    for (i = 1; i <= (int) sizeof(key); i += 13) {
        for (j = 0; j < (int) sizeof(msg); j += 37) {
            key[0] = (uint8_t) j;

            fresh = apisec_hmac_new();

            if (fresh == NULL
                || apisec_hmac_sha256(fresh, key, (size_t) i,
                                      (const uint8_t *) msg, (size_t) j,
                                      want) != 0
                || apisec_hmac_sha256(h, key, (size_t) i,
                                      (const uint8_t *) msg, (size_t) j,
                                      got) != 0
                || memcmp(got, want, 32) != 0
                || apisec_hmac_sha256(h, key, (size_t) (132 - i),
                                      (const uint8_t *) msg, (size_t) j,
                                      got) != 0)
            {
                bad++;
            }

            apisec_hmac_free(fresh);
        }
    }

    CHECK_INT(bad, 0);

    apisec_hmac_free(h);
}


/* changes made through the cached handle itself */

static void
test_cache(void)
{
    uint8_t          mac[APISEC_SHA256_LEN];
    const char      *dir;
    apisec_key_t     a, b, got, stale;
    apisec_hmac_t   *h;
    apisec_store_t  *st;

    dir = cached_store("cache", &st, &h);

    if (dir == NULL) {
        return;
    }

    make_key(st, &a, "AKcacheA", "secret-A-one");
    make_key(st, &b, "AKcacheB", "secret-B-one");
    CHECK_INT(put(st, &a), APISEC_OK);
    CHECK_INT(put(st, &b), APISEC_OK);

    /* read, then read again from the cache: the same record, the same MAC */

    CHECK_INT(apisec_key_get(st, "AKcacheA", 8, &got), APISEC_OK);
    CHECK(memcmp(&got, &a, sizeof(apisec_key_t)) == 0);
    CHECK(hmac_is(st, h, &got, "secret-A-one", "symbol=BTCUSDT"));

    CHECK_INT(apisec_key_get(st, "AKcacheA", 8, &got), APISEC_OK);
    CHECK(memcmp(&got, &a, sizeof(apisec_key_t)) == 0);
    CHECK(hmac_is(st, h, &got, "secret-A-one", "symbol=BTCUSDT"));
    CHECK(hmac_is(st, h, &got, "secret-A-one", ""));

    /* B written: A's record is the same bytes, A's MAC too */

    b.perms = APISEC_PERM_ALL;
    CHECK_INT(put(st, &b), APISEC_OK);
    CHECK_INT(apisec_key_get(st, "AKcacheA", 8, &got), APISEC_OK);
    CHECK(hmac_is(st, h, &got, "secret-A-one", "timestamp=1"));
    CHECK_INT(apisec_key_get(st, "AKcacheB", 8, &got), APISEC_OK);
    CHECK_INT(got.perms, APISEC_PERM_ALL);
    CHECK(hmac_is(st, h, &got, "secret-B-one", "timestamp=1"));

    /* A rotated: the new secret at once, the old record's MAC not kept */

    stale = a;
    make_key(st, &a, "AKcacheA", "secret-A-two");
    CHECK_INT(put(st, &a), APISEC_OK);
    CHECK_INT(apisec_key_get(st, "AKcacheA", 8, &got), APISEC_OK);
    CHECK(memcmp(got.secret, a.secret, a.secret_len) == 0);
    CHECK(hmac_is(st, h, &got, "secret-A-two", "timestamp=2"));

    /* a record that is not the last one read is unsealed for the once */

    CHECK(hmac_is(st, h, &stale, "secret-A-one", "timestamp=2"));
    CHECK_INT(apisec_key_get(st, "AKcacheB", 8, &got), APISEC_OK);
    CHECK(hmac_is(st, h, &a, "secret-A-two", "timestamp=3"));
    CHECK(hmac_is(st, h, &got, "secret-B-one", "timestamp=3"));

    /* a sealed secret moved to another key does not pass as that key's */

    stale = got;
    memcpy(stale.secret, a.secret, a.secret_len);
    stale.secret_len = a.secret_len;
    CHECK_INT(apisec_key_hmac(st, h, &stale, (const uint8_t *) "x", 1, mac),
              APISEC_ERR_CORRUPT);

    /* A disabled, then deleted */

    a.status = APISEC_STATUS_DISABLED;
    CHECK_INT(put(st, &a), APISEC_OK);
    CHECK_INT(apisec_key_get(st, "AKcacheA", 8, &got), APISEC_OK);
    CHECK_INT(got.status, APISEC_STATUS_DISABLED);

    CHECK_INT(del(st, "AKcacheA"), APISEC_OK);
    CHECK_INT(apisec_key_get(st, "AKcacheA", 8, &got), APISEC_ERR_NOTFOUND);
    CHECK_INT(apisec_key_get(st, "AKcacheA", 8, &got), APISEC_ERR_NOTFOUND);

    /* and created again */

    make_key(st, &a, "AKcacheA", "secret-A-three");
    CHECK_INT(put(st, &a), APISEC_OK);
    CHECK_INT(apisec_key_get(st, "AKcacheA", 8, &got), APISEC_OK);
    CHECK(hmac_is(st, h, &got, "secret-A-three", "timestamp=4"));

    /* keys that no store holds, and prefixes of one that it does */

    CHECK_INT(apisec_key_get(st, "AKcache", 7, &got), APISEC_ERR_NOTFOUND);
    CHECK_INT(apisec_key_get(st, "AKcacheAB", 9, &got), APISEC_ERR_NOTFOUND);
    CHECK_INT(apisec_key_get(st, "AK cache", 8, &got), APISEC_ERR_NOTFOUND);
    CHECK_INT(apisec_key_get(st, "AKcacheA", 0, &got), APISEC_ERR_NOTFOUND);

    apisec_store_close(st);
    apisec_hmac_free(h);
}


/* changes made by apisecctl, another process with its own handle */

static void
test_other_process(void)
{
    char             err[APISEC_ERR_LEN];
    const char      *dir;
    apisec_key_t     a, got;
    apisec_hmac_t   *h;
    apisec_store_t  *st;

    dir = new_store("other");
    h = apisec_hmac_new();

    CHECK_INT(apisec_store_open(&st, dir, mk, APISEC_OPEN_CACHE, 0, err,
                                sizeof(err)),
              APISEC_OK);

    if (st == NULL || h == NULL) {
        return;
    }

    make_key(st, &a, "AKother", "secret-one");
    CHECK_INT(put(st, &a), APISEC_OK);

    CHECK_INT(apisec_key_get(st, "AKother", 7, &got), APISEC_OK);
    CHECK(hmac_is(st, h, &got, "secret-one", "q=1"));

    CHECK_INT(in_child(dir, "AKother", "secret-two", -1), 0);
    CHECK_INT(apisec_key_get(st, "AKother", 7, &got), APISEC_OK);
    CHECK(hmac_is(st, h, &got, "secret-two", "q=1"));

    CHECK_INT(in_child(dir, "AKother", NULL, APISEC_STATUS_DISABLED), 0);
    CHECK_INT(apisec_key_get(st, "AKother", 7, &got), APISEC_OK);
    CHECK_INT(got.status, APISEC_STATUS_DISABLED);
    CHECK(hmac_is(st, h, &got, "secret-two", "q=2"));

    CHECK_INT(in_child(dir, "AKother", NULL, -1), 0);
    CHECK_INT(apisec_key_get(st, "AKother", 7, &got), APISEC_ERR_NOTFOUND);

    apisec_store_close(st);
    apisec_hmac_free(h);
}


/* more keys than the cache holds: the least recently used ones go */

static void
test_many(void)
{
    int              i, j, n, bad, stale;
    char             ak[32], secret[32];
    int64_t         *m;
    const char      *dir;
    apisec_key_t     k, got;
    apisec_wtxn_t   *w;
    apisec_hmac_t   *h;
    apisec_store_t  *st;

    n = APISEC_KEY_CACHE_MAX + 100;

    /* hints only, with or without a handle or a cache */

    apisec_key_prefetch(NULL, "AKmany000000", 12);
    apisec_key_prefetch_entry(NULL, "AKmany000000", 12);

    dir = cached_store("many", &st, &h);

    if (dir == NULL) {
        return;
    }

    CHECK_INT(apisec_store_begin(st, &w), APISEC_OK);

    for (i = 0; i < n; i++) {
        snprintf(ak, sizeof(ak), "AKmany%06d", i);
        snprintf(secret, sizeof(secret), "secret-%06d", i);
        make_key(st, &k, ak, secret);
        CHECK_INT(apisec_key_put(w, &k, 0), APISEC_OK);
    }

    CHECK_INT(apisec_store_commit(w), APISEC_OK);

    /*
     * every key, then the first ones again: dropped, and read again.  Each
     * key of the first pass comes into the cache new, the last 100 into
     * entries dropped for them: its memo is zero, whatever the entry's
     * last key left there (each leaves its number), and its secret its own
     */

    bad = 0;
    stale = 0;

    for (i = 0; i < n + 200; i++) {
        snprintf(ak, sizeof(ak), "AKmany%06d", i % n);
        snprintf(secret, sizeof(secret), "secret-%06d", i % n);

        /* both hints, as the module gives them (post-read, then access) */

        apisec_key_prefetch(st, ak, strlen(ak));
        apisec_key_prefetch_entry(st, ak, strlen(ak));

        if (apisec_key_get(st, ak, strlen(ak), &got) != APISEC_OK
            || strcmp(got.access_key, ak) != 0
            || !hmac_is(st, h, &got, secret, ak))
        {
            bad++;
        }

        m = apisec_key_memo(st);

        if (m == NULL) {
            stale++;
            continue;
        }

        /* the first pass: every key new to the cache */

        if (i < n) {
            for (j = 0; j < APISEC_KEY_MEMO_WORDS; j++) {
                if (m[j] != 0) {
                    stale++;
                }
            }
        }

        for (j = 0; j < APISEC_KEY_MEMO_WORDS; j++) {
            m[j] = i + 1;
        }
    }

    CHECK_INT(bad, 0);
    CHECK_INT(stale, 0);

    /* an unknown key's hint changes nothing */

    apisec_key_prefetch(st, "AKnone", 6);
    apisec_key_prefetch_entry(st, "AKnone", 6);
    CHECK_INT(apisec_key_get(st, "AKnone", 6, &got), APISEC_ERR_NOTFOUND);
    CHECK_INT(apisec_key_get(st, "AKmany000001", 12, &got), APISEC_OK);
    CHECK_STR(got.access_key, "AKmany000001");

    apisec_store_close(st);
    apisec_hmac_free(h);
}


/*
 * apisec_key_find: the cached key itself, not a copy; apisec_key_memo:
 * the caller's words beside it, kept while the key stays in the cache
 * (its record changed or not), zero for a key new to the cache, NULL
 * when nothing was found or without the cache
 */

static void
test_find_memo(void)
{
    int                  i;
    char                 err[APISEC_ERR_LEN], ak[32], secret[32];
    int64_t             *m, *ma;
    const char          *dir;
    apisec_key_t         a, b, buf, got;
    apisec_wtxn_t       *w;
    apisec_hmac_t       *h;
    apisec_store_t      *st, *plain;
    const apisec_key_t  *k, *k2;

    dir = cached_store("memo", &st, &h);

    if (dir == NULL) {
        return;
    }

    make_key(st, &a, "AKmemoA", "secret-memo-A");
    make_key(st, &b, "AKmemoB", "secret-memo-B");
    CHECK_INT(put(st, &a), APISEC_OK);
    CHECK_INT(put(st, &b), APISEC_OK);

    /* first read: decoded, then in the cache; its memo is zero */

    k = NULL;
    CHECK_INT(apisec_key_find(st, "AKmemoA", 7, &buf, &k), APISEC_OK);
    CHECK(k != NULL && memcmp(k, &a, sizeof(apisec_key_t)) == 0);
    CHECK(hmac_is(st, h, k, "secret-memo-A", "symbol=ETHUSDT"));

    m = apisec_key_memo(st);
    CHECK(m != NULL);

    if (m == NULL) {
        return;
    }

    for (i = 0; i < APISEC_KEY_MEMO_WORDS; i++) {
        CHECK(m[i] == 0);
    }

    m[0] = 1796170000;
    m[APISEC_KEY_MEMO_WORDS - 1] = -7;
    ma = m;

    /* read again: the cache's own key (no copy), the same memo */

    k2 = NULL;
    CHECK_INT(apisec_key_find(st, "AKmemoA", 7, &buf, &k2), APISEC_OK);
    CHECK(k2 != NULL && k2 != &buf && memcmp(k2, &a, sizeof(a)) == 0);
    CHECK(apisec_key_memo(st) == ma);
    CHECK(ma[0] == 1796170000 && ma[APISEC_KEY_MEMO_WORDS - 1] == -7);
    CHECK(hmac_is(st, h, k2, "secret-memo-A", "symbol=ETHUSDT"));

    /* another key: its own memo, zero; A's is kept */

    CHECK_INT(apisec_key_find(st, "AKmemoB", 7, &buf, &k), APISEC_OK);
    m = apisec_key_memo(st);
    CHECK(m != NULL && m != ma && m[0] == 0);
    CHECK(hmac_is(st, h, k, "secret-memo-B", "x"));

    /* A's record changed: read anew, the memo stays with the key */

    a.perms = APISEC_PERM_ALL;
    CHECK_INT(put(st, &a), APISEC_OK);
    CHECK_INT(apisec_key_find(st, "AKmemoA", 7, &buf, &k), APISEC_OK);
    CHECK_INT(k->perms, APISEC_PERM_ALL);
    m = apisec_key_memo(st);
    CHECK(m != NULL && m[0] == 1796170000);

    /* apisec_key_get copies, and leaves the same memo */

    CHECK_INT(apisec_key_get(st, "AKmemoA", 7, &got), APISEC_OK);
    CHECK(memcmp(&got, &a, sizeof(a)) == 0);
    CHECK(apisec_key_memo(st) == m);

    /* nothing found: no key, no memo */

    CHECK_INT(apisec_key_find(st, "AKmemoC", 7, &buf, &k),
              APISEC_ERR_NOTFOUND);
    CHECK(k == NULL);
    CHECK(apisec_key_memo(st) == NULL);
    CHECK_INT(apisec_key_find(st, "AKmemoA", 7, &buf, NULL),
              APISEC_ERR_INVALID);

    /* deleted and made again: a new memo */

    CHECK_INT(del(st, "AKmemoA"), APISEC_OK);
    CHECK_INT(apisec_key_find(st, "AKmemoA", 7, &buf, &k),
              APISEC_ERR_NOTFOUND);
    CHECK_INT(put(st, &a), APISEC_OK);
    CHECK_INT(apisec_key_find(st, "AKmemoA", 7, &buf, &k), APISEC_OK);
    m = apisec_key_memo(st);
    CHECK(m != NULL && m[0] == 0);

    /* out of the cache (more keys than it holds): back with a zero memo */

    m[0] = 42;

    CHECK_INT(apisec_store_begin(st, &w), APISEC_OK);

    for (i = 0; i < APISEC_KEY_CACHE_MAX + 10; i++) {
        snprintf(ak, sizeof(ak), "AKmemo%06d", i);
        snprintf(secret, sizeof(secret), "secret-%06d", i);
        make_key(st, &got, ak, secret);
        CHECK_INT(apisec_key_put(w, &got, 0), APISEC_OK);
    }

    CHECK_INT(apisec_store_commit(w), APISEC_OK);

    for (i = 0; i < APISEC_KEY_CACHE_MAX + 10; i++) {
        snprintf(ak, sizeof(ak), "AKmemo%06d", i);
        (void) apisec_key_find(st, ak, strlen(ak), &buf, &k);
    }

    CHECK_INT(apisec_key_find(st, "AKmemoA", 7, &buf, &k), APISEC_OK);
    m = apisec_key_memo(st);
    CHECK(m != NULL && m[0] == 0);
    CHECK(hmac_is(st, h, k, "secret-memo-A", "y"));

    apisec_store_close(st);

    /* without the cache: decoded into buf, and no memo */

    CHECK_INT(apisec_store_open(&plain, dir, mk, 0, 0, err, sizeof(err)),
              APISEC_OK);

    if (plain != NULL) {
        k = NULL;
        CHECK_INT(apisec_key_find(plain, "AKmemoB", 7, &buf, &k), APISEC_OK);
        CHECK(k == &buf && memcmp(&buf, &b, sizeof(b)) == 0);
        CHECK(apisec_key_memo(plain) == NULL);
        CHECK(hmac_is(plain, h, k, "secret-memo-B", "z"));
        apisec_store_close(plain);
    }

    apisec_hmac_free(h);
}


/* a flush's way: ak's last use t, alone in a transaction */

static int
touch(apisec_store_t *st, const char *ak, int64_t t)
{
    int             rc;
    apisec_wtxn_t  *w;

    rc = apisec_store_begin(st, &w);
    if (rc != APISEC_OK) {
        return rc;
    }

    rc = apisec_key_touch(w, ak, strlen(ak), t);
    if (rc != APISEC_OK) {
        apisec_store_abort(w);
        return rc;
    }

    return apisec_store_commit(w);
}


/*
 * Another process gives key ak the status with plain LMDB, as a writer
 * that does not keep meta "cache" would (an older apisecctl, mdb_load)
 */

static int
raw_child(const char *dir, const char *ak, int status)
{
    int           wst;
    pid_t         pid;
    size_t        len;
    MDB_env      *env;
    MDB_txn      *txn;
    MDB_dbi       keys;
    MDB_val       key, val;
    uint8_t       buf[APISEC_RECORD_MAX];
    apisec_key_t  k;

    fflush(NULL);
    pid = fork();

    if (pid == 0) {
        key.mv_data = (void *) ak;
        key.mv_size = strlen(ak);

        if (mdb_env_create(&env) != 0
            || mdb_env_set_maxdbs(env, 8) != 0
            || mdb_env_set_mapsize(env, 0) != 0
            || mdb_env_open(env, dir, 0, 0600) != 0
            || mdb_txn_begin(env, NULL, 0, &txn) != 0
            || mdb_dbi_open(txn, "keys", 0, &keys) != 0
            || mdb_get(txn, keys, &key, &val) != 0
            || apisec_key_decode(val.mv_data, val.mv_size, &k) != APISEC_OK)
        {
            _exit(2);
        }

        k.status = status;

        if (apisec_key_encode(&k, buf, sizeof(buf), &len) != APISEC_OK) {
            _exit(3);
        }

        val.mv_data = buf;
        val.mv_size = len;

        if (mdb_put(txn, keys, &key, &val, 0) != 0
            || mdb_txn_commit(txn) != 0)
        {
            _exit(4);
        }

        mdb_env_close(env);
        _exit(0);
    }

    if (pid < 0 || waitpid(pid, &wst, 0) != pid) {
        return -1;
    }

    return WIFEXITED(wst) ? WEXITSTATUS(wst) : -1;
}


/*
 * The cache's generation: a flush of last uses alone (apisec_key_touch)
 * keeps a cached key as it was, its last use behind the store's, and
 * apisec_key_reread reads it again; a key written in the same transaction
 * as last uses, a key written by another process, and a key written by a
 * writer that does not keep meta "cache" (before a flush of last uses, or
 * read at once) are seen at their next read
 */

static void
test_generation(void)
{
    const char          *dir;
    apisec_key_t         a, b, buf;
    apisec_wtxn_t       *w;
    apisec_hmac_t       *h;
    apisec_store_t      *st;
    const apisec_key_t  *k, *k2;

    dir = cached_store("gen", &st, &h);

    if (dir == NULL) {
        return;
    }

    make_key(st, &a, "AKgenA", "secret-A");
    make_key(st, &b, "AKgenB", "secret-B");
    CHECK_INT(put(st, &a), APISEC_OK);
    CHECK_INT(put(st, &b), APISEC_OK);

    /* the first read decodes into buf, the second finds the entry */

    k = NULL;
    CHECK_INT(apisec_key_find(st, "AKgenA", 6, &buf, &k), APISEC_OK);
    CHECK_INT(apisec_key_find(st, "AKgenA", 6, &buf, &k), APISEC_OK);
    CHECK(k != NULL && k != &buf && k->last_used_at == 0);

    /* last uses flushed: the cached key, behind the store */

    CHECK_INT(touch(st, "AKgenA", 1800000000), APISEC_OK);
    CHECK_INT(touch(st, "AKgenB", 1800000000), APISEC_OK);

    k2 = NULL;
    CHECK_INT(apisec_key_find(st, "AKgenA", 6, &buf, &k2), APISEC_OK);
    CHECK(k2 == k && k2->last_used_at == 0);
    CHECK(hmac_is(st, h, k2, "secret-A", "q=1"));

    /* read again: the store's last use, in the same entry from then on */

    k2 = NULL;
    CHECK_INT(apisec_key_reread(st, "AKgenA", 6, &buf, &k2), APISEC_OK);
    CHECK(k2 != NULL && k2->last_used_at == 1800000000);
    CHECK(hmac_is(st, h, k2, "secret-A", "q=2"));
    CHECK_INT(apisec_key_find(st, "AKgenA", 6, &buf, &k2), APISEC_OK);
    CHECK(k2 == k && k2->last_used_at == 1800000000);
    CHECK_INT(apisec_key_reread(st, "AKgenX", 6, &buf, &k2),
              APISEC_ERR_NOTFOUND);

    CHECK_INT(touch(st, "AKgenA", 1800000100), APISEC_OK);
    CHECK_INT(apisec_key_find(st, "AKgenA", 6, &buf, &k2), APISEC_OK);
    CHECK_INT(k2->last_used_at, 1800000000);

    /* another key changed: every key is compared with the store */

    b.perms = APISEC_PERM_ALL;
    CHECK_INT(put(st, &b), APISEC_OK);
    CHECK_INT(apisec_key_find(st, "AKgenA", 6, &buf, &k2), APISEC_OK);
    CHECK_INT(k2->last_used_at, 1800000100);

    /* a last use and a change in one transaction: the change is seen */

    CHECK_INT(apisec_store_begin(st, &w), APISEC_OK);
    CHECK_INT(apisec_key_touch(w, "AKgenA", 6, 1800000200), APISEC_OK);
    CHECK_INT(apisec_key_get_w(w, "AKgenA", 6, &a), APISEC_OK);
    a.status = APISEC_STATUS_DISABLED;
    CHECK_INT(apisec_key_put(w, &a, 1), APISEC_OK);
    CHECK_INT(apisec_key_touch(w, "AKgenB", 6, 1800000200), APISEC_OK);
    CHECK_INT(apisec_store_commit(w), APISEC_OK);

    CHECK_INT(apisec_key_find(st, "AKgenA", 6, &buf, &k2), APISEC_OK);
    CHECK_INT(k2->status, APISEC_STATUS_DISABLED);
    CHECK_INT(k2->last_used_at, 1800000200);

    /* another process (this code): seen */

    CHECK_INT(in_child(dir, "AKgenA", NULL, APISEC_STATUS_ACTIVE), 0);
    CHECK_INT(apisec_key_find(st, "AKgenA", 6, &buf, &k2), APISEC_OK);
    CHECK_INT(k2->status, APISEC_STATUS_ACTIVE);

    /* plain LMDB, read at once: seen */

    CHECK_INT(raw_child(dir, "AKgenA", APISEC_STATUS_DISABLED), 0);
    CHECK_INT(apisec_key_find(st, "AKgenA", 6, &buf, &k2), APISEC_OK);
    CHECK_INT(k2->status, APISEC_STATUS_DISABLED);

    /* plain LMDB, then a flush of last uses before the next read: seen */

    CHECK_INT(raw_child(dir, "AKgenA", APISEC_STATUS_ACTIVE), 0);
    CHECK_INT(touch(st, "AKgenB", 1800000300), APISEC_OK);
    CHECK_INT(apisec_key_find(st, "AKgenA", 6, &buf, &k2), APISEC_OK);
    CHECK_INT(k2->status, APISEC_STATUS_ACTIVE);

    CHECK_INT(raw_child(dir, "AKgenA", APISEC_STATUS_DISABLED), 0);
    CHECK_INT(touch(st, "AKgenB", 1800000400), APISEC_OK);
    CHECK_INT(touch(st, "AKgenB", 1800000500), APISEC_OK);
    CHECK_INT(apisec_key_find(st, "AKgenA", 6, &buf, &k2), APISEC_OK);
    CHECK_INT(k2->status, APISEC_STATUS_DISABLED);

    /* deleted after a flush of last uses */

    CHECK_INT(touch(st, "AKgenA", 1800000600), APISEC_OK);
    CHECK_INT(del(st, "AKgenA"), APISEC_OK);
    CHECK_INT(apisec_key_find(st, "AKgenA", 6, &buf, &k2),
              APISEC_ERR_NOTFOUND);

    apisec_store_close(st);
    apisec_hmac_free(h);
}


/*
 * apisec_store_hold: key reads keep one snapshot until it is let go (a
 * change by another process or by this handle is seen after), every other
 * read and apisec_key_reread take a fresh one, writes go on meanwhile
 */

static void
test_hold(void)
{
    uint64_t             seq;
    const char          *dir;
    apisec_key_t         a, buf, got;
    apisec_wtxn_t       *w;
    apisec_hmac_t       *h;
    apisec_store_t      *st;
    const apisec_key_t  *k;

    dir = cached_store("hold", &st, &h);

    if (dir == NULL) {
        return;
    }

    make_key(st, &a, "AKholdA", "secret-A");
    CHECK_INT(put(st, &a), APISEC_OK);

    apisec_store_hold(st, 1);

    CHECK_INT(apisec_key_find(st, "AKholdA", 7, &buf, &k), APISEC_OK);
    CHECK_INT(k->status, APISEC_STATUS_ACTIVE);

    /* disabled by another process: not in the snapshot held */

    CHECK_INT(in_child(dir, "AKholdA", NULL, APISEC_STATUS_DISABLED), 0);
    CHECK_INT(apisec_key_find(st, "AKholdA", 7, &buf, &k), APISEC_OK);
    CHECK_INT(k->status, APISEC_STATUS_ACTIVE);
    CHECK(hmac_is(st, h, k, "secret-A", "q=1"));

    /* other reads and writes meanwhile */

    CHECK_INT(apisec_event_last(st, &seq), APISEC_OK);
    CHECK_INT(apisec_store_begin(st, &w), APISEC_OK);
    CHECK_INT(apisec_event_append(w, "test.event", 1800000000, "AKholdA",
                                  "acct", NULL, NULL), APISEC_OK);
    CHECK_INT(apisec_store_commit(w), APISEC_OK);

    /* a key read after them takes a fresh snapshot, and holds it */

    CHECK_INT(apisec_key_get(st, "AKholdA", 7, &got), APISEC_OK);
    CHECK_INT(got.status, APISEC_STATUS_DISABLED);

    CHECK_INT(in_child(dir, "AKholdA", NULL, APISEC_STATUS_ACTIVE), 0);
    CHECK_INT(apisec_key_get(st, "AKholdA", 7, &got), APISEC_OK);
    CHECK_INT(got.status, APISEC_STATUS_DISABLED);

    /* read again: a fresh snapshot */

    CHECK_INT(apisec_key_reread(st, "AKholdA", 7, &buf, &k), APISEC_OK);
    CHECK_INT(k->status, APISEC_STATUS_ACTIVE);

    /* let go: the next read sees the store */

    CHECK_INT(in_child(dir, "AKholdA", NULL, APISEC_STATUS_DISABLED), 0);
    CHECK_INT(apisec_key_get(st, "AKholdA", 7, &got), APISEC_OK);
    CHECK_INT(got.status, APISEC_STATUS_ACTIVE);

    apisec_store_hold(st, 0);

    CHECK_INT(apisec_key_get(st, "AKholdA", 7, &got), APISEC_OK);
    CHECK_INT(got.status, APISEC_STATUS_DISABLED);

    /* not held: every read sees the store */

    CHECK_INT(in_child(dir, "AKholdA", NULL, APISEC_STATUS_ACTIVE), 0);
    CHECK_INT(apisec_key_get(st, "AKholdA", 7, &got), APISEC_OK);
    CHECK_INT(got.status, APISEC_STATUS_ACTIVE);

    apisec_store_hold(NULL, 1);
    apisec_store_close(st);
    apisec_hmac_free(h);
}


/* the mappings of this process left out of core dumps ("dd"), or -1 */

static int
dontdump_maps(void)
{
    int    n;
    char   line[512];
    FILE  *f;

    f = fopen("/proc/self/smaps", "r");
    if (f == NULL) {
        return -1;
    }

    n = 0;

    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "VmFlags:", 8) == 0 && strstr(line, " dd") != NULL) {
            n++;
        }
    }

    fclose(f);

    return n;
}


/*
 * A handle with the key cache maps its memory apart, out of core dumps
 * (MADV_DONTDUMP), and unmaps it when closed; a handle without does not
 */

static void
test_no_dump(void)
{
    int              before;
    char             err[APISEC_ERR_LEN];
    const char      *dir;
    apisec_store_t  *st;

    dir = new_store("cache");

    before = dontdump_maps();

#ifdef __linux__
    CHECK(before >= 0);
#endif

    if (before < 0) {
        return;
    }

    st = NULL;
    CHECK_INT(apisec_store_open(&st, dir, mk, 0, 0, err, sizeof(err)),
              APISEC_OK);
    CHECK_INT(dontdump_maps(), before);
    apisec_store_close(st);

    st = NULL;
    CHECK_INT(apisec_store_open(&st, dir, mk, APISEC_OPEN_CACHE, 0, err,
                                sizeof(err)),
              APISEC_OK);
    CHECK_INT(dontdump_maps(), before + 1);
    apisec_store_close(st);

    CHECK_INT(dontdump_maps(), before);
}


int
main(void)
{
    size_t  i;

    if (mkdtemp(base) == NULL) {
        perror("mkdtemp");
        return 1;
    }

    for (i = 0; i < sizeof(mk); i++) {
        mk[i] = (uint8_t) (0x40 + i);
    }

    test_rekeyed();
    test_cache();
    test_other_process();
    test_many();
    test_find_memo();
    test_generation();
    test_hold();
    test_no_dump();

    snprintf(dirbuf, sizeof(dirbuf), "%s/%s", base, "cache");
    rm_rf(dirbuf);
    snprintf(dirbuf, sizeof(dirbuf), "%s/%s", base, "memo");
    rm_rf(dirbuf);
    snprintf(dirbuf, sizeof(dirbuf), "%s/%s", base, "other");
    rm_rf(dirbuf);
    snprintf(dirbuf, sizeof(dirbuf), "%s/%s", base, "many");
    rm_rf(dirbuf);
    snprintf(dirbuf, sizeof(dirbuf), "%s/%s", base, "gen");
    rm_rf(dirbuf);
    snprintf(dirbuf, sizeof(dirbuf), "%s/%s", base, "hold");
    rm_rf(dirbuf);
    (void) rmdir(base);

    return UNIT_DONE();
}
