/*
 * Unit tests of apisec_store.c: store creation and the checks at open,
 * key records through write and read transactions, sealed secrets, OKX
 * passphrase hashes, a full
 * map, a map grown by another process, reader slots of a killed process,
 * the record codec on valid, truncated, altered and random bytes, idle
 * keys (the idle test, touch, expiry with its key.expired event), the
 * event log (also of a store made before it), the count of write
 * transactions, TOTP enrolments (sealed, bound to their key, the last
 * accepted step) and backup and restore.
 * Every store lives in a fresh directory under a temporary directory.
 */


#define _GNU_SOURCE                     /* memmem() */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lmdb.h>

#include "unit.h"
#include "apisec_store.h"


/* the record format (apisec_store.c), spelt out to pin it down */
#define TAG_ACCESS_KEY      1
#define TAG_ACCOUNT         2
#define TAG_LABEL           3
#define TAG_SECRET          4
#define TAG_STATUS          5
#define TAG_PERMS           6
#define TAG_CREATED_AT      7
#define TAG_LAST_USED_AT    8
#define TAG_EXPIRES_AT      9
#define TAG_LOCKED_UNTIL    10
#define TAG_IPS             11
#define TAG_TOTP            12
#define TAG_TOTP_LAST_STEP  13
#define TAG_PASSHASH        14

#define KiB                 ((size_t) 1024)
#define MiB                 (1024 * KiB)


typedef struct {
    uint8_t   b[8192];
    size_t    n;
} rec_t;


typedef struct {
    int       n;
    int       stop_at;
    char      seen[16][APISEC_KEY_MAX + 1];
} walk_t;


typedef struct {
    int       n;
    int       stop_at;
    uint64_t  seq[16];
    char      json[16][APISEC_EVENT_MAX + 1];
} events_t;


static void rm_rf(const char *dir);
static const char *new_dir(const char *name);
static uint64_t rnd(void);
static void fill_key(apisec_key_t *k, const char *ak, const char *account);
static void fill_full_key(apisec_key_t *k);
static int keys_equal(const apisec_key_t *a, const apisec_key_t *b);
static int put_key(apisec_store_t *st, const char *ak, const char *label,
    int overwrite);
static int grow_in_child(const char *dir, size_t map_size,
    const char *prefix, int count, const char *label);
static int put_many(apisec_store_t *st, const char *prefix, int from,
    int count, const char *label);
static int raw_put(const char *dir, const char *db, const char *key,
    const void *val, size_t len);
static int walk_cb(const apisec_key_t *k, void *arg);
static int raw_drop(const char *dir, const char *db);
static int raw_has_db(const char *dir, const char *db);
static int event_cb(uint64_t seq, const char *json, size_t len, void *arg);
static void rec_start(rec_t *r);
static void rec_field(rec_t *r, unsigned tag, const void *v, size_t len);
static void rec_int(rec_t *r, unsigned tag, uint64_t v);
static void rec_base(rec_t *r, unsigned omit);
static int rec_decode(const rec_t *r);
static void test_rc_str(void);
static void test_init_open(void);
static void test_meta_checks(void);
static void test_keys(void);
static void test_secret(void);
static void test_passphrase(void);
static void test_rdonly(void);
static void test_map_full(void);
static void test_map_resized(void);
static void test_readers(void);
static void test_key_mismatch(void);
static void test_codec_roundtrip(void);
static void test_codec_invalid(void);
static void test_codec_crafted(void);
static void test_codec_truncation(void);
static void test_codec_flips(void);
static void test_codec_random(void);
static void test_idle(void);
static void test_touch(void);
static void test_expire_idle(void);
static void test_events(void);
static void test_write_txns(void);
static int file_has(const char *dir, const char *name, const void *bytes,
    size_t n);
static void test_totp(void);
static int dir_count(const char *dir, const char *sub, int *with);
static void test_backup(void);


static char      base[] = "/tmp/apisec-store-XXXXXX";
static char      dirbuf[512];
static uint8_t   mk[APISEC_MASTER_KEY_LEN];
static uint8_t   mk2[APISEC_MASTER_KEY_LEN];
static uint64_t  rnd_state = 0x243f6a8885a308d3ULL;


static void
rm_rf(const char *dir)
{
    DIR            *d;
    char            path[1024];
    struct stat     sb;
    struct dirent  *e;

    d = opendir(dir);
    if (d == NULL) {
        return;
    }

    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }

        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);

        if (lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
            rm_rf(path);

        } else {
            (void) unlink(path);
        }
    }

    closedir(d);
    (void) rmdir(dir);
}


static const char *
new_dir(const char *name)
{
    snprintf(dirbuf, sizeof(dirbuf), "%s/%s", base, name);
    rm_rf(dirbuf);

    return dirbuf;
}


static uint64_t
rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;

    return rnd_state;
}


/* a minimal valid key; its "secret" is opaque bytes of a sealed length */

static void
fill_key(apisec_key_t *k, const char *ak, const char *account)
{
    memset(k, 0, sizeof(apisec_key_t));

    strcpy(k->access_key, ak);
    strcpy(k->account, account);
    k->perms = APISEC_PERM_READ;
    k->status = APISEC_STATUS_ACTIVE;
    k->created_at = 1700000000;
    k->secret_len = 32 + APISEC_SEAL_OVERHEAD;
    memset(k->secret, 0x5a, k->secret_len);
}


static void
fill_full_key(apisec_key_t *k)
{
    unsigned  i;

    fill_key(k, "AKfull-0123456789._-", "acct:42@example.com");

    strcpy(k->label, "trading bot \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x94\x91");
    k->perms = APISEC_PERM_ALL;
    k->status = APISEC_STATUS_LOCKED;
    k->created_at = 1700000001;
    k->last_used_at = 1700000002;
    k->expires_at = 253402300799LL;
    k->locked_until = 1700000004;
    k->n_ips = APISEC_IPS_MAX;

    for (i = 0; i < APISEC_IPS_MAX; i++) {
        if (i % 2 == 0) {
            k->ips[i].family = 4;
            k->ips[i].prefix = (uint8_t) (8 + i);
            k->ips[i].addr[0] = 10;

        } else {
            k->ips[i].family = 6;
            k->ips[i].prefix = (uint8_t) (16 + i * 5);
            k->ips[i].addr[0] = 0x20;
            k->ips[i].addr[1] = 0x01;
        }
    }

    k->secret_len = APISEC_SEALED_MAX;

    for (i = 0; i < k->secret_len; i++) {
        k->secret[i] = (uint8_t) (i * 31 + 7);
    }

    k->totp_len = APISEC_TOTP_SEALED_MAX;

    for (i = 0; i < k->totp_len; i++) {
        k->totp[i] = (uint8_t) (i * 17 + 1);
    }

    k->totp_last_step = 56666666;
    k->passhash_len = APISEC_PASSHASH_LEN;

    for (i = 0; i < k->passhash_len; i++) {
        k->passhash[i] = (uint8_t) (255 - i);
    }
}


static int
keys_equal(const apisec_key_t *a, const apisec_key_t *b)
{
    unsigned  i;

    if (strcmp(a->access_key, b->access_key) != 0
        || strcmp(a->account, b->account) != 0
        || strcmp(a->label, b->label) != 0
        || a->perms != b->perms || a->status != b->status
        || a->created_at != b->created_at
        || a->last_used_at != b->last_used_at
        || a->expires_at != b->expires_at
        || a->locked_until != b->locked_until
        || a->n_ips != b->n_ips
        || a->secret_len != b->secret_len
        || memcmp(a->secret, b->secret, a->secret_len) != 0
        || a->totp_len != b->totp_len
        || memcmp(a->totp, b->totp, a->totp_len) != 0
        || a->totp_last_step != b->totp_last_step
        || a->passhash_len != b->passhash_len
        || memcmp(a->passhash, b->passhash, a->passhash_len) != 0)
    {
        return 0;
    }

    for (i = 0; i < a->n_ips; i++) {
        if (a->ips[i].family != b->ips[i].family
            || a->ips[i].prefix != b->ips[i].prefix
            || memcmp(a->ips[i].addr, b->ips[i].addr, 16) != 0)
        {
            return 0;
        }
    }

    return 1;
}


/* one key in its own write transaction */

static int
put_key(apisec_store_t *st, const char *ak, const char *label, int overwrite)
{
    int             rc;
    apisec_key_t    k;
    apisec_wtxn_t  *w;

    fill_key(&k, ak, "acct");
    strcpy(k.label, label);

    rc = apisec_store_begin(st, &w);
    if (rc != APISEC_OK) {
        return rc;
    }

    rc = apisec_key_put(w, &k, overwrite);
    if (rc != APISEC_OK) {
        apisec_store_abort(w);
        return rc;
    }

    return apisec_store_commit(w);
}


/* count keys "<prefix><from>"..., 100 per write transaction */

static int
put_many(apisec_store_t *st, const char *prefix, int from, int count,
    const char *label)
{
    int             rc, i;
    apisec_key_t    k;
    apisec_wtxn_t  *w;

    fill_key(&k, "x", "acct");
    strcpy(k.label, label);

    w = NULL;

    for (i = from; i < from + count; i++) {
        if (w == NULL) {
            rc = apisec_store_begin(st, &w);
            if (rc != APISEC_OK) {
                return rc;
            }
        }

        snprintf(k.access_key, sizeof(k.access_key), "%s%05d", prefix, i);

        rc = apisec_key_put(w, &k, 0);
        if (rc != APISEC_OK) {
            apisec_store_abort(w);
            return rc;
        }

        if ((i - from) % 100 == 99) {
            rc = apisec_store_commit(w);
            w = NULL;

            if (rc != APISEC_OK) {
                return rc;
            }
        }
    }

    return (w != NULL) ? apisec_store_commit(w) : APISEC_OK;
}


/*
 * Another process opens dir with map_size (growing it) and writes count
 * keys "<prefix><n>": 1 when it did.
 */

static int
grow_in_child(const char *dir, size_t map_size, const char *prefix,
    int count, const char *label)
{
    int              status;
    char             err[APISEC_ERR_LEN];
    pid_t            pid;
    apisec_store_t  *cst;

    fflush(NULL);
    pid = fork();

    if (pid == 0) {
        if (apisec_store_open(&cst, dir, mk, 0, map_size, err, sizeof(err))
            != APISEC_OK)
        {
            _exit(2);
        }

        if (put_many(cst, prefix, 0, count, label) != APISEC_OK) {
            _exit(3);
        }

        apisec_store_close(cst);
        _exit(0);
    }

    return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status)
           && WEXITSTATUS(status) == 0;
}


/* raw LMDB write (val == NULL deletes); no apisec handle may be open */

static int
raw_put(const char *dir, const char *db, const char *key, const void *val,
    size_t len)
{
    int       rc;
    MDB_dbi   dbi;
    MDB_env  *env;
    MDB_txn  *txn;
    MDB_val   k, v;

    if (mdb_env_create(&env) != 0) {
        return -1;
    }

    mdb_env_set_maxdbs(env, 8);

    rc = mdb_env_open(env, dir, 0, 0600);

    if (rc == 0) {
        rc = mdb_txn_begin(env, NULL, 0, &txn);
    }

    if (rc == 0) {
        rc = mdb_dbi_open(txn, db, MDB_CREATE, &dbi);

        if (rc == 0) {
            k.mv_data = (void *) key;
            k.mv_size = strlen(key);

            if (val == NULL) {
                rc = mdb_del(txn, dbi, &k, NULL);

            } else {
                v.mv_data = (void *) val;
                v.mv_size = len;
                rc = mdb_put(txn, dbi, &k, &v, 0);
            }
        }

        if (rc == 0) {
            rc = mdb_txn_commit(txn);

        } else {
            mdb_txn_abort(txn);
        }
    }

    mdb_env_close(env);

    return rc == 0 ? 0 : -1;
}


static int
walk_cb(const apisec_key_t *k, void *arg)
{
    walk_t  *w;

    w = arg;

    if (w->n < 16) {
        strcpy(w->seen[w->n], k->access_key);
    }

    w->n++;

    if (w->stop_at && w->n == w->stop_at) {
        return 42;
    }

    return 0;
}


static void
rec_start(rec_t *r)
{
    r->n = 0;
    r->b[r->n++] = APISEC_RECORD_VERSION;
}


static void
rec_field(rec_t *r, unsigned tag, const void *v, size_t len)
{
    r->b[r->n++] = (uint8_t) tag;
    r->b[r->n++] = (uint8_t) (len >> 8);
    r->b[r->n++] = (uint8_t) len;
    memcpy(r->b + r->n, v, len);
    r->n += len;
}


static void
rec_int(rec_t *r, unsigned tag, uint64_t v)
{
    int      i;
    uint8_t  b[8];

    for (i = 7; i >= 0; i--) {
        b[i] = (uint8_t) v;
        v >>= 8;
    }

    rec_field(r, tag, b, 8);
}


/* a valid record by hand, without the field omit (0: complete) */

static void
rec_base(rec_t *r, unsigned omit)
{
    uint8_t  secret[40];

    memset(secret, 0x33, sizeof(secret));

    rec_start(r);

    if (omit != TAG_ACCESS_KEY) {
        rec_field(r, TAG_ACCESS_KEY, "AKraw", 5);
    }

    if (omit != TAG_ACCOUNT) {
        rec_field(r, TAG_ACCOUNT, "acct", 4);
    }

    if (omit != TAG_SECRET) {
        rec_field(r, TAG_SECRET, secret, sizeof(secret));
    }

    if (omit != TAG_STATUS) {
        rec_int(r, TAG_STATUS, APISEC_STATUS_DISABLED);
    }

    if (omit != TAG_PERMS) {
        rec_int(r, TAG_PERMS, APISEC_PERM_READ | APISEC_PERM_TRADE);
    }

    if (omit != TAG_CREATED_AT) {
        rec_int(r, TAG_CREATED_AT, 1700000000);
    }
}


static int
rec_decode(const rec_t *r)
{
    apisec_key_t  k;

    return apisec_key_decode(r->b, r->n, &k);
}


static void
test_rc_str(void)
{
    CHECK_STR(apisec_rc_str(APISEC_OK), "ok");
    CHECK_STR(apisec_rc_str(APISEC_ERR_NOTFOUND), "no such key");
    CHECK_STR(apisec_rc_str(APISEC_ERR_EXISTS), "key exists");
    CHECK_STR(apisec_rc_str(APISEC_ERR_NOSTORE), "no store");
    CHECK_STR(apisec_rc_str(APISEC_ERR_MASTER_KEY), "wrong master key");
    CHECK_STR(apisec_rc_str(APISEC_ERR_VERSION),
              "unsupported store format version");
    CHECK_STR(apisec_rc_str(APISEC_ERR_MAP_FULL), "store is full");
    CHECK_STR(apisec_rc_str(APISEC_ERR_CORRUPT), "corrupt record");
    CHECK_STR(apisec_rc_str(APISEC_ERR_INVALID), "invalid argument");
    CHECK_STR(apisec_rc_str(APISEC_ERR_SYSTEM), "system error");
    CHECK_STR(apisec_rc_str(APISEC_ERR_CRYPTO), "crypto error");
    CHECK_STR(apisec_rc_str(APISEC_ERR_CRYPTO + 1), "unknown error");
    CHECK_STR(apisec_rc_str(-1), "unknown error");
}


static void
test_init_open(void)
{
    char                  path[600], err[APISEC_ERR_LEN];
    const char           *dir;
    struct stat           sb;
    apisec_key_t          k;
    apisec_store_t       *st;
    apisec_store_stat_t   s;

    dir = new_dir("init");

    /* no directory, then an empty directory: no store, nothing created */
    err[0] = '\0';
    st = (apisec_store_t *) 1;
    CHECK_INT(apisec_store_open(&st, dir, mk, 0, 0, err, sizeof(err)),
              APISEC_ERR_NOSTORE);
    CHECK(st == NULL);
    CHECK(strstr(err, dir) != NULL);
    CHECK(strstr(err, "apisecctl init") != NULL);

    CHECK(mkdir(dir, 0700) == 0);
    CHECK_INT(apisec_store_open(&st, dir, mk, 0, 0, err, sizeof(err)),
              APISEC_ERR_NOSTORE);
    CHECK_INT(apisec_store_open(&st, dir, mk, APISEC_OPEN_RDONLY, 0, err,
                                sizeof(err)),
              APISEC_ERR_NOSTORE);
    snprintf(path, sizeof(path), "%s/data.mdb", dir);
    CHECK(stat(path, &sb) == -1 && errno == ENOENT);
    CHECK(rmdir(dir) == 0);

    /* a path below a file */
    snprintf(path, sizeof(path), "%s/file", base);
    CHECK(close(open(path, O_WRONLY | O_CREAT, 0600)) == 0);
    snprintf(path, sizeof(path), "%s/file/store", base);
    CHECK_INT(apisec_store_open(&st, path, mk, 0, 0, err, sizeof(err)),
              APISEC_ERR_NOSTORE);
    CHECK(apisec_store_init(path, mk, 0, err, sizeof(err)) != APISEC_OK);
    snprintf(path, sizeof(path), "%s/file", base);
    CHECK(apisec_store_init(path, mk, 0, err, sizeof(err)) != APISEC_OK);
    (void) unlink(path);

    /* init creates the directory (0700) and the store (0600) */
    CHECK_INT(apisec_store_init(dir, mk, 0, err, sizeof(err)), APISEC_OK);
    CHECK(stat(dir, &sb) == 0 && (sb.st_mode & 0777) == 0700);
    snprintf(path, sizeof(path), "%s/data.mdb", dir);
    CHECK(stat(path, &sb) == 0 && (sb.st_mode & 077) == 0);

    CHECK_INT(apisec_store_open(&st, dir, mk, 0, 0, err, sizeof(err)),
              APISEC_OK);
    CHECK(st != NULL);

    if (st == NULL) {
        return;
    }

    CHECK_INT(apisec_store_stat(st, &s), APISEC_OK);
    CHECK_INT(s.keys, 0);
    CHECK_INT(s.map_size, APISEC_DEFAULT_MAP_SIZE);
    CHECK(s.map_used > 0 && s.map_used < 1 * MiB);
    CHECK(s.readers_max >= APISEC_MAX_READERS);
    CHECK_INT(s.readers_used, 1);

    CHECK_INT(put_key(st, "AK1", "first", 0), APISEC_OK);
    apisec_store_close(st);

    /* init again: refused, and the store is untouched */
    err[0] = '\0';
    CHECK_INT(apisec_store_init(dir, mk, 0, err, sizeof(err)),
              APISEC_ERR_EXISTS);
    CHECK(strstr(err, dir) != NULL);
    CHECK_INT(apisec_store_init(dir, mk2, 0, err, sizeof(err)),
              APISEC_ERR_EXISTS);

    CHECK_INT(apisec_store_open(&st, dir, mk, 0, 0, err, sizeof(err)),
              APISEC_OK);
    CHECK_INT(apisec_key_get(st, "AK1", 3, &k), APISEC_OK);
    CHECK_STR(k.label, "first");

    /* a smaller map_size never shrinks the store */
    apisec_store_close(st);
    CHECK_INT(apisec_store_open(&st, dir, mk, 0, 1 * MiB, err, sizeof(err)),
              APISEC_OK);
    CHECK_INT(apisec_store_stat(st, &s), APISEC_OK);
    CHECK_INT(s.map_size, APISEC_DEFAULT_MAP_SIZE);
    apisec_store_close(st);

    /* the wrong master key */
    err[0] = '\0';
    st = (apisec_store_t *) 1;
    CHECK_INT(apisec_store_open(&st, dir, mk2, 0, 0, err, sizeof(err)),
              APISEC_ERR_MASTER_KEY);
    CHECK(st == NULL);
    CHECK(strstr(err, "the master key does not open the store") != NULL);
    CHECK(strstr(err, dir) != NULL);
    CHECK_INT(apisec_store_open(&st, dir, mk2, APISEC_OPEN_RDONLY, 0, err,
                                sizeof(err)),
              APISEC_ERR_MASTER_KEY);

    /* arguments */
    CHECK_INT(apisec_store_open(NULL, dir, mk, 0, 0, err, sizeof(err)),
              APISEC_ERR_INVALID);
    CHECK_INT(apisec_store_open(&st, NULL, mk, 0, 0, err, sizeof(err)),
              APISEC_ERR_INVALID);
    CHECK_INT(apisec_store_open(&st, dir, NULL, 0, 0, err, sizeof(err)),
              APISEC_ERR_INVALID);
    CHECK_INT(apisec_store_open(&st, "", mk, 0, 0, NULL, 0),
              APISEC_ERR_INVALID);
    CHECK_INT(apisec_store_init(NULL, mk, 0, err, sizeof(err)),
              APISEC_ERR_INVALID);
    CHECK_INT(apisec_store_init(dir, NULL, 0, err, sizeof(err)),
              APISEC_ERR_INVALID);
    apisec_store_close(NULL);
    CHECK_STR(apisec_store_error(NULL), "no store");

    /* a map too small for even an empty store leaves nothing behind */
    dir = new_dir("tiny");
    CHECK_INT(apisec_store_init(dir, mk, 8 * KiB, err, sizeof(err)),
              APISEC_ERR_MAP_FULL);
    snprintf(path, sizeof(path), "%s/data.mdb", dir);
    CHECK(stat(path, &sb) == -1 && errno == ENOENT);
    CHECK_INT(apisec_store_init(dir, mk, 256 * KiB, err, sizeof(err)),
              APISEC_OK);
    CHECK_INT(apisec_store_open(&st, dir, mk, 0, 0, err, sizeof(err)),
              APISEC_OK);
    CHECK_INT(apisec_store_stat(st, &s), APISEC_OK);
    CHECK_INT(s.map_size, 256 * KiB);
    apisec_store_close(st);
}


static void
test_meta_checks(void)
{
    int              fd;
    char             path[600], err[APISEC_ERR_LEN], junk[8192];
    const char      *dir;
    apisec_store_t  *st;

    /* format version 2 */
    dir = new_dir("version");
    CHECK_INT(apisec_store_init(dir, mk, 0, err, sizeof(err)), APISEC_OK);
    CHECK(raw_put(dir, "meta", "format", "\0\0\0\2", 4) == 0);
    err[0] = '\0';
    st = (apisec_store_t *) 1;
    CHECK_INT(apisec_store_open(&st, dir, mk, 0, 0, err, sizeof(err)),
              APISEC_ERR_VERSION);
    CHECK(st == NULL);
    CHECK(strstr(err, "format version 2") != NULL);
    CHECK(strstr(err, "version 1") != NULL);
    CHECK(strstr(err, dir) != NULL);

    /* the version is checked before the master key */
    CHECK_INT(apisec_store_open(&st, dir, mk2, 0, 0, err, sizeof(err)),
              APISEC_ERR_VERSION);

    /* back to 1: opens again */
    CHECK(raw_put(dir, "meta", "format", "\0\0\0\1", 4) == 0);
    CHECK_INT(apisec_store_open(&st, dir, mk, 0, 0, err, sizeof(err)),
              APISEC_OK);
    apisec_store_close(st);

    /* a format of the wrong size, a missing format */
    CHECK(raw_put(dir, "meta", "format", "\0\0\1", 3) == 0);
    CHECK_INT(apisec_store_open(&st, dir, mk, 0, 0, err, sizeof(err)),
              APISEC_ERR_CORRUPT);
    CHECK(raw_put(dir, "meta", "format", NULL, 0) == 0);
    CHECK_INT(apisec_store_open(&st, dir, mk, 0, 0, err, sizeof(err)),
              APISEC_ERR_CORRUPT);
    CHECK(raw_put(dir, "meta", "format", "\0\0\0\1", 4) == 0);

    /* a master key check that does not unseal, then none at all */
    CHECK(raw_put(dir, "meta", "mkcheck", "0123456789012345678901234567890",
                  31) == 0);
    CHECK_INT(apisec_store_open(&st, dir, mk, 0, 0, err, sizeof(err)),
              APISEC_ERR_MASTER_KEY);
    CHECK(raw_put(dir, "meta", "mkcheck", NULL, 0) == 0);
    CHECK_INT(apisec_store_open(&st, dir, mk, 0, 0, err, sizeof(err)),
              APISEC_ERR_CORRUPT);

    /* an LMDB environment that is not an apisec store */
    dir = new_dir("foreign");
    CHECK(mkdir(dir, 0700) == 0);
    CHECK(raw_put(dir, "other", "k", "v", 1) == 0);
    err[0] = '\0';
    CHECK_INT(apisec_store_open(&st, dir, mk, 0, 0, err, sizeof(err)),
              APISEC_ERR_NOSTORE);
    CHECK(strstr(err, dir) != NULL);
    CHECK_INT(apisec_store_init(dir, mk, 0, err, sizeof(err)),
              APISEC_ERR_EXISTS);

    /* a data.mdb that is not an LMDB file */
    dir = new_dir("junk");
    CHECK(mkdir(dir, 0700) == 0);
    snprintf(path, sizeof(path), "%s/data.mdb", dir);
    memset(junk, 'j', sizeof(junk));
    fd = open(path, O_WRONLY | O_CREAT, 0600);
    CHECK(fd != -1 && write(fd, junk, sizeof(junk)) == sizeof(junk));
    close(fd);
    err[0] = '\0';
    CHECK_INT(apisec_store_open(&st, dir, mk, 0, 0, err, sizeof(err)),
              APISEC_ERR_CORRUPT);
    CHECK(strstr(err, dir) != NULL);

    /* an empty data.mdb (an interrupted init) is no store */
    dir = new_dir("empty");
    CHECK(mkdir(dir, 0700) == 0);
    snprintf(path, sizeof(path), "%s/data.mdb", dir);
    CHECK(close(open(path, O_WRONLY | O_CREAT, 0600)) == 0);
    CHECK_INT(apisec_store_open(&st, dir, mk, 0, 0, err, sizeof(err)),
              APISEC_ERR_NOSTORE);
    CHECK_INT(apisec_store_init(dir, mk, 0, err, sizeof(err)), APISEC_OK);
    CHECK_INT(apisec_store_open(&st, dir, mk, 0, 0, err, sizeof(err)),
              APISEC_OK);
    apisec_store_close(st);
}


static void
test_keys(void)
{
    int                   i;
    char                  err[APISEC_ERR_LEN], ak[300];
    walk_t                walk;
    const char           *dir;
    apisec_key_t          k, full, got;
    apisec_wtxn_t        *w, *w2;
    apisec_store_t       *st;
    apisec_store_stat_t   s;

    dir = new_dir("keys");
    CHECK_INT(apisec_store_init(dir, mk, 0, err, sizeof(err)), APISEC_OK);
    CHECK_INT(apisec_store_open(&st, dir, mk, 0, 0, err, sizeof(err)),
              APISEC_OK);

    if (st == NULL) {
        return;
    }

    fill_full_key(&full);

    CHECK_INT(apisec_store_begin(st, &w), APISEC_OK);

    /* one write transaction at a time per handle */
    CHECK_INT(apisec_store_begin(st, &w2), APISEC_ERR_INVALID);
    CHECK(w2 == NULL);

    CHECK_INT(apisec_key_put(w, &full, 0), APISEC_OK);

    fill_key(&k, "AK-b", "acct-1");
    CHECK_INT(apisec_key_put(w, &k, 0), APISEC_OK);
    fill_key(&k, "AK-a", "acct-1");
    CHECK_INT(apisec_key_put(w, &k, 0), APISEC_OK);
    fill_key(&k, "AK-c", "acct-2");
    CHECK_INT(apisec_key_put(w, &k, 0), APISEC_OK);

    /* visible inside the transaction, not outside before commit */
    CHECK_INT(apisec_key_get_w(w, "AK-c", 4, &got), APISEC_OK);
    CHECK_STR(got.account, "acct-2");
    CHECK_INT(apisec_key_get(st, "AK-c", 4, &got), APISEC_ERR_NOTFOUND);

    /* no overwrite unless asked */
    fill_key(&k, "AK-c", "acct-3");
    CHECK_INT(apisec_key_put(w, &k, 0), APISEC_ERR_EXISTS);
    CHECK(strstr(apisec_store_error(st), "AK-c") != NULL);
    CHECK_INT(apisec_key_put(w, &k, 1), APISEC_OK);

    /* an invalid record is refused */
    k.perms = 0;
    CHECK_INT(apisec_key_put(w, &k, 1), APISEC_ERR_INVALID);
    CHECK(strstr(apisec_store_error(st), "permissions") != NULL);
    fill_key(&k, "AK-c", "acct 3");
    CHECK_INT(apisec_key_put(w, &k, 1), APISEC_ERR_INVALID);
    CHECK(strstr(apisec_store_error(st), "account") != NULL);

    CHECK_INT(apisec_store_commit(w), APISEC_OK);

    CHECK_INT(apisec_key_get(st, "AK-c", 4, &got), APISEC_OK);
    CHECK_STR(got.account, "acct-3");
    CHECK_INT(apisec_key_get(st, full.access_key, strlen(full.access_key),
                             &got), APISEC_OK);
    CHECK(keys_equal(&got, &full));

    /* the length counts, not a NUL */
    CHECK_INT(apisec_key_get(st, "AK-cX", 4, &got), APISEC_OK);
    CHECK_INT(apisec_key_get(st, "AK-", 3, &got), APISEC_ERR_NOTFOUND);

    /* unknown and impossible keys */
    CHECK_INT(apisec_key_get(st, "AK-z", 4, &got), APISEC_ERR_NOTFOUND);
    CHECK_INT(apisec_key_get(st, "", 0, &got), APISEC_ERR_NOTFOUND);
    CHECK_INT(apisec_key_get(st, "bad key!", 8, &got), APISEC_ERR_NOTFOUND);
    memset(ak, 'a', sizeof(ak));
    CHECK_INT(apisec_key_get(st, ak, APISEC_KEY_MAX + 1, &got),
              APISEC_ERR_NOTFOUND);
    CHECK_INT(apisec_key_get(st, ak, sizeof(ak), &got), APISEC_ERR_NOTFOUND);
    CHECK_INT(apisec_key_get(st, ak, APISEC_KEY_MAX, &got),
              APISEC_ERR_NOTFOUND);
    CHECK_INT(apisec_key_get(st, NULL, 3, &got), APISEC_ERR_INVALID);
    CHECK_INT(apisec_key_get(st, "AK-a", 4, NULL), APISEC_ERR_INVALID);
    CHECK_INT(apisec_key_get(NULL, "AK-a", 4, &got), APISEC_ERR_INVALID);

    /* the longest key */
    fill_key(&k, "x", "acct");
    memset(k.access_key, 'K', APISEC_KEY_MAX);
    k.access_key[APISEC_KEY_MAX] = '\0';
    CHECK_INT(apisec_store_begin(st, &w), APISEC_OK);
    CHECK_INT(apisec_key_put(w, &k, 0), APISEC_OK);
    CHECK_INT(apisec_store_commit(w), APISEC_OK);
    CHECK_INT(apisec_key_get(st, k.access_key, APISEC_KEY_MAX, &got),
              APISEC_OK);

    CHECK_INT(apisec_store_stat(st, &s), APISEC_OK);
    CHECK_INT(s.keys, 5);

    /* in access-key order; the callback's value stops the walk */
    memset(&walk, 0, sizeof(walk));
    CHECK_INT(apisec_key_foreach(st, walk_cb, &walk), APISEC_OK);
    CHECK_INT(walk.n, 5);
    CHECK_STR(walk.seen[0], "AK-a");
    CHECK_STR(walk.seen[1], "AK-b");
    CHECK_STR(walk.seen[2], "AK-c");
    CHECK_STR(walk.seen[3], full.access_key);
    CHECK(walk.seen[4][0] == 'K');

    memset(&walk, 0, sizeof(walk));
    walk.stop_at = 2;
    CHECK_INT(apisec_key_foreach(st, walk_cb, &walk), 42);
    CHECK_INT(walk.n, 2);
    CHECK_INT(apisec_key_foreach(st, NULL, &walk), APISEC_ERR_INVALID);

    /* lookups and writes from inside a walk */
    memset(&walk, 0, sizeof(walk));
    CHECK_INT(apisec_key_foreach(st, walk_cb, &walk), APISEC_OK);
    CHECK_INT(apisec_key_get(st, "AK-a", 4, &got), APISEC_OK);

    /* abort drops the changes */
    CHECK_INT(apisec_store_begin(st, &w), APISEC_OK);
    CHECK_INT(apisec_key_del(w, "AK-a", 4), APISEC_OK);
    CHECK_INT(apisec_key_get_w(w, "AK-a", 4, &got), APISEC_ERR_NOTFOUND);
    apisec_store_abort(w);
    CHECK_INT(apisec_key_get(st, "AK-a", 4, &got), APISEC_OK);

    /* delete */
    CHECK_INT(apisec_store_begin(st, &w), APISEC_OK);
    CHECK_INT(apisec_key_del(w, "AK-a", 4), APISEC_OK);
    CHECK_INT(apisec_key_del(w, "AK-a", 4), APISEC_ERR_NOTFOUND);
    CHECK_INT(apisec_key_del(w, "AK-zz", 5), APISEC_ERR_NOTFOUND);
    CHECK_INT(apisec_key_del(w, "", 0), APISEC_ERR_NOTFOUND);
    CHECK_INT(apisec_key_get_w(w, "bad key", 7, &got), APISEC_ERR_NOTFOUND);
    CHECK_INT(apisec_store_commit(w), APISEC_OK);
    CHECK_INT(apisec_key_get(st, "AK-a", 4, &got), APISEC_ERR_NOTFOUND);

    CHECK_INT(apisec_store_stat(st, &s), APISEC_OK);
    CHECK_INT(s.keys, 4);

    /* many keys in one transaction, then every one reads back */
    CHECK_INT(apisec_store_begin(st, &w), APISEC_OK);

    for (i = 0; i < 500; i++) {
        snprintf(ak, sizeof(ak), "bulk-%04d", i);
        fill_key(&k, ak, "bulk");
        k.created_at = i;
        CHECK_INT(apisec_key_put(w, &k, 0), APISEC_OK);
    }

    CHECK_INT(apisec_store_commit(w), APISEC_OK);

    for (i = 0; i < 500; i++) {
        snprintf(ak, sizeof(ak), "bulk-%04d", i);

        if (apisec_key_get(st, ak, strlen(ak), &got) != APISEC_OK
            || got.created_at != i)
        {
            CHECK(0);
        }
    }

    CHECK_INT(apisec_store_stat(st, &s), APISEC_OK);
    CHECK_INT(s.keys, 504);

    /* commit, abort and the others on NULL */
    CHECK_INT(apisec_store_commit(NULL), APISEC_ERR_INVALID);
    apisec_store_abort(NULL);
    CHECK_INT(apisec_key_put(NULL, &k, 0), APISEC_ERR_INVALID);
    CHECK_INT(apisec_key_del(NULL, "a", 1), APISEC_ERR_INVALID);
    CHECK_INT(apisec_key_get_w(NULL, "a", 1, &got), APISEC_ERR_INVALID);
    CHECK_INT(apisec_store_begin(NULL, &w), APISEC_ERR_INVALID);
    CHECK_INT(apisec_store_stat(NULL, &s), APISEC_ERR_INVALID);

    /* closing with a write transaction open aborts it */
    CHECK_INT(apisec_store_begin(st, &w), APISEC_OK);
    CHECK_INT(apisec_key_del(w, "AK-b", 4), APISEC_OK);
    apisec_store_close(st);

    CHECK_INT(apisec_store_open(&st, dir, mk, 0, 0, err, sizeof(err)),
              APISEC_OK);
    CHECK_INT(apisec_key_get(st, "AK-b", 4, &got), APISEC_OK);
    apisec_store_close(st);
}


static void
test_secret(void)
{
    char             err[APISEC_ERR_LEN], out[APISEC_SECRET_MAX + 1];
    char             secret[APISEC_SECRET_MAX + 2];
    size_t           len;
    const char      *dir;
    apisec_key_t     k, got, other;
    apisec_wtxn_t   *w;
    apisec_store_t  *st;

    dir = new_dir("secret");
    CHECK_INT(apisec_store_init(dir, mk, 0, err, sizeof(err)), APISEC_OK);
    CHECK_INT(apisec_store_open(&st, dir, mk, 0, 0, err, sizeof(err)),
              APISEC_OK);

    if (st == NULL) {
        return;
    }

    fill_key(&k, "AKsecret", "acct");
    CHECK_INT(apisec_key_set_secret(st, &k, "s3cr3t-0123456789abcdef", 23),
              APISEC_OK);
    CHECK_INT(k.secret_len, 23 + APISEC_SEAL_OVERHEAD);
    CHECK(memmem(k.secret, k.secret_len, "s3cr3t", 6) == NULL);

    CHECK_INT(apisec_store_begin(st, &w), APISEC_OK);
    CHECK_INT(apisec_key_put(w, &k, 0), APISEC_OK);
    CHECK_INT(apisec_store_commit(w), APISEC_OK);

    CHECK_INT(apisec_key_get(st, "AKsecret", 8, &got), APISEC_OK);
    CHECK_INT(apisec_key_get_secret(st, &got, out, sizeof(out), &len),
              APISEC_OK);
    CHECK(len == 23 && memcmp(out, "s3cr3t-0123456789abcdef", 23) == 0);

    /* the largest secret */
    memset(secret, '~', sizeof(secret));
    CHECK_INT(apisec_key_set_secret(st, &k, secret, APISEC_SECRET_MAX),
              APISEC_OK);
    CHECK_INT(apisec_key_get_secret(st, &k, out, APISEC_SECRET_MAX, &len),
              APISEC_OK);
    CHECK(len == APISEC_SECRET_MAX && memcmp(out, secret, len) == 0);
    CHECK_INT(apisec_key_get_secret(st, &k, out, APISEC_SECRET_MAX - 1,
                                    &len),
              APISEC_ERR_INVALID);

    CHECK_INT(apisec_key_set_secret(st, &k, secret, APISEC_SECRET_MAX + 1),
              APISEC_ERR_INVALID);
    CHECK_INT(apisec_key_set_secret(st, &k, secret, 0), APISEC_ERR_INVALID);
    CHECK_INT(apisec_key_set_secret(st, &k, NULL, 5), APISEC_ERR_INVALID);

    /* a sealed secret is bound to its access key */
    fill_key(&other, "AKother", "acct");
    memcpy(other.secret, got.secret, got.secret_len);
    other.secret_len = got.secret_len;
    CHECK_INT(apisec_key_get_secret(st, &other, out, sizeof(out), &len),
              APISEC_ERR_CORRUPT);
    CHECK(strstr(apisec_store_error(st), "AKother") != NULL);

    /* tampering */
    got.secret[APISEC_SEAL_NONCE_LEN] ^= 1;
    CHECK_INT(apisec_key_get_secret(st, &got, out, sizeof(out), &len),
              APISEC_ERR_CORRUPT);

    /* no secret at all */
    got.secret_len = 0;
    CHECK_INT(apisec_key_get_secret(st, &got, out, sizeof(out), &len),
              APISEC_ERR_INVALID);

    /* an invalid access key cannot seal */
    fill_key(&other, "bad key", "acct");
    CHECK_INT(apisec_key_set_secret(st, &other, "secret", 6),
              APISEC_ERR_INVALID);

    apisec_store_close(st);

    /* another master key cannot read it (nor open the store) */
    CHECK_INT(apisec_store_open(&st, dir, mk2, 0, 0, err, sizeof(err)),
              APISEC_ERR_MASTER_KEY);
}


/* the OKX passphrase: salt || HMAC under a key derived from the master key */

static void
test_passphrase(void)
{
    char             err[APISEC_ERR_LEN], dir1[sizeof(dirbuf)];
    char             pass[APISEC_PASSPHRASE_MAX + 2];
    size_t           len;
    uint8_t          buf[APISEC_RECORD_MAX];
    uint8_t          first[APISEC_PASSHASH_LEN];
    const char      *dir;
    apisec_key_t     k, k2, got;
    apisec_hmac_t   *h;
    apisec_wtxn_t   *w;
    apisec_store_t  *st, *st2;

    static const char  right[] = "correct horse battery ~staple!";

#define RIGHT_LEN  (sizeof(right) - 1)

    dir = new_dir("passphrase");
    memcpy(dir1, dirbuf, sizeof(dir1));
    CHECK_INT(apisec_store_init(dir, mk, 0, err, sizeof(err)), APISEC_OK);
    CHECK_INT(apisec_store_open(&st, dir, mk, 0, 0, err, sizeof(err)),
              APISEC_OK);

    h = apisec_hmac_new();
    CHECK(h != NULL);

    if (st == NULL || h == NULL) {
        return;
    }

    /* a key without a passphrase matches none */
    fill_key(&k, "AKpass", "acct");
    CHECK_INT(apisec_key_check_passphrase(st, h, &k, right, RIGHT_LEN), 0);
    CHECK_INT(apisec_key_check_passphrase(st, h, &k, "", 0), 0);

    CHECK_INT(apisec_key_set_passphrase(st, h, &k, right, RIGHT_LEN),
              APISEC_OK);
    CHECK_INT(k.passhash_len, APISEC_PASSHASH_LEN);
    CHECK(memmem(k.passhash, k.passhash_len, "horse", 5) == NULL);
    memcpy(first, k.passhash, APISEC_PASSHASH_LEN);

    /* the right one, and every near miss */
    CHECK_INT(apisec_key_check_passphrase(st, h, &k, right, RIGHT_LEN), 1);
    CHECK_INT(apisec_key_check_passphrase(st, h, &k, "wrong", 5), 0);
    CHECK_INT(apisec_key_check_passphrase(st, h, &k, right, RIGHT_LEN - 1),
              0);
    CHECK_INT(apisec_key_check_passphrase(st, h, &k, "", 0), 0);
    CHECK_INT(apisec_key_check_passphrase(st, h, &k, NULL, 0), 0);

    memcpy(pass, right, RIGHT_LEN);
    pass[RIGHT_LEN] = '!';
    CHECK_INT(apisec_key_check_passphrase(st, h, &k, pass, RIGHT_LEN + 1),
              0);

    for (len = 0; len < RIGHT_LEN; len++) {
        memcpy(pass, right, RIGHT_LEN);
        pass[len] ^= 0x01;
        CHECK_INT(apisec_key_check_passphrase(st, h, &k, pass, RIGHT_LEN),
                  0);
    }

    /* case matters */
    memcpy(pass, right, RIGHT_LEN);
    pass[0] = 'C';
    CHECK_INT(apisec_key_check_passphrase(st, h, &k, pass, RIGHT_LEN), 0);

    /* invalid passphrases are refused and leave the hash as it was */
    memset(pass, 'p', sizeof(pass));
    CHECK_INT(apisec_key_set_passphrase(st, h, &k, pass,
                                        APISEC_PASSPHRASE_MAX + 1),
              APISEC_ERR_INVALID);
    CHECK_INT(apisec_key_set_passphrase(st, h, &k, "", 0),
              APISEC_ERR_INVALID);
    CHECK_INT(apisec_key_set_passphrase(st, h, &k, "tab\there", 8),
              APISEC_ERR_INVALID);
    CHECK_INT(apisec_key_set_passphrase(st, h, &k, "del\x7f", 4),
              APISEC_ERR_INVALID);
    CHECK_INT(apisec_key_set_passphrase(st, h, &k, "caf\xc3\xa9", 5),
              APISEC_ERR_INVALID);
    CHECK_INT(apisec_key_set_passphrase(st, h, &k, "nul\0x", 5),
              APISEC_ERR_INVALID);
    CHECK_INT(apisec_key_set_passphrase(st, h, &k, NULL, 3),
              APISEC_ERR_INVALID);
    CHECK_INT(apisec_key_set_passphrase(st, NULL, &k, right, RIGHT_LEN),
              APISEC_ERR_INVALID);
    CHECK_INT(apisec_key_set_passphrase(NULL, h, &k, right, RIGHT_LEN),
              APISEC_ERR_INVALID);
    CHECK(k.passhash_len == APISEC_PASSHASH_LEN
          && memcmp(k.passhash, first, APISEC_PASSHASH_LEN) == 0);
    CHECK_INT(apisec_key_check_passphrase(st, h, &k, right, RIGHT_LEN), 1);
    CHECK_INT(apisec_key_check_passphrase(st, h, &k, pass,
                                          APISEC_PASSPHRASE_MAX + 1),
              0);
    CHECK_INT(apisec_key_check_passphrase(st, NULL, &k, right, RIGHT_LEN),
              0);
    CHECK_INT(apisec_key_check_passphrase(NULL, h, &k, right, RIGHT_LEN), 0);
    CHECK_INT(apisec_key_check_passphrase(st, h, NULL, right, RIGHT_LEN), 0);

    /* the bounds: 1 byte, 128 bytes, spaces and the whole 0x20-0x7e range */
    fill_key(&k2, "AKbounds", "acct");
    CHECK_INT(apisec_key_set_passphrase(st, h, &k2, " ", 1), APISEC_OK);
    CHECK_INT(apisec_key_check_passphrase(st, h, &k2, " ", 1), 1);
    CHECK_INT(apisec_key_check_passphrase(st, h, &k2, "  ", 2), 0);

    memset(pass, 'p', sizeof(pass));
    CHECK_INT(apisec_key_set_passphrase(st, h, &k2, pass,
                                        APISEC_PASSPHRASE_MAX),
              APISEC_OK);
    CHECK_INT(apisec_key_check_passphrase(st, h, &k2, pass,
                                          APISEC_PASSPHRASE_MAX),
              1);
    CHECK_INT(apisec_key_check_passphrase(st, h, &k2, pass,
                                          APISEC_PASSPHRASE_MAX - 1),
              0);

    for (len = 0; len < 0x7f - 0x20; len++) {
        pass[len] = (char) (0x20 + len);
    }

    CHECK_INT(apisec_key_set_passphrase(st, h, &k2, pass, len), APISEC_OK);
    CHECK_INT(apisec_key_check_passphrase(st, h, &k2, pass, len), 1);

    /* the salt: the same passphrase hashes differently every time */
    CHECK_INT(apisec_key_set_passphrase(st, h, &k2, right, RIGHT_LEN),
              APISEC_OK);
    CHECK_INT(apisec_key_check_passphrase(st, h, &k2, right, RIGHT_LEN), 1);
    CHECK(memcmp(k2.passhash, k.passhash, APISEC_PASSHASH_SALT) != 0);
    CHECK(memcmp(k2.passhash + APISEC_PASSHASH_SALT,
                 k.passhash + APISEC_PASSHASH_SALT,
                 APISEC_PASSHASH_LEN - APISEC_PASSHASH_SALT)
          != 0);

    CHECK_INT(apisec_key_set_passphrase(st, h, &k2, right, RIGHT_LEN),
              APISEC_OK);
    CHECK(memcmp(k2.passhash, first, APISEC_PASSHASH_LEN) != 0);

    /* the hash of one key does not match under another salt */
    memcpy(k2.passhash, k.passhash, APISEC_PASSHASH_SALT);
    CHECK_INT(apisec_key_check_passphrase(st, h, &k2, right, RIGHT_LEN), 0);

    /* tampering with the salt or the hash */
    got = k;
    got.passhash[0] ^= 0x80;
    CHECK_INT(apisec_key_check_passphrase(st, h, &got, right, RIGHT_LEN), 0);
    got = k;
    got.passhash[APISEC_PASSHASH_LEN - 1] ^= 0x01;
    CHECK_INT(apisec_key_check_passphrase(st, h, &got, right, RIGHT_LEN), 0);
    got = k;
    got.passhash_len = APISEC_PASSHASH_LEN - 1;
    CHECK_INT(apisec_key_check_passphrase(st, h, &got, right, RIGHT_LEN), 0);

    /* through the record codec */
    CHECK_INT(apisec_key_encode(&k, buf, sizeof(buf), &len), APISEC_OK);
    CHECK(memmem(buf, len, "horse", 5) == NULL);
    CHECK_INT(apisec_key_decode(buf, len, &got), APISEC_OK);
    CHECK(keys_equal(&k, &got));
    CHECK_INT(apisec_key_check_passphrase(st, h, &got, right, RIGHT_LEN), 1);
    CHECK_INT(apisec_key_check_passphrase(st, h, &got, "wrong", 5), 0);

    /* through the store, and a key whose passphrase is removed */
    k2 = k;
    strcpy(k2.access_key, "AKnopass");
    k2.passhash_len = 0;

    CHECK_INT(apisec_store_begin(st, &w), APISEC_OK);
    CHECK_INT(apisec_key_put(w, &k, 0), APISEC_OK);
    CHECK_INT(apisec_key_put(w, &k2, 0), APISEC_OK);
    CHECK_INT(apisec_store_commit(w), APISEC_OK);

    CHECK_INT(apisec_key_get(st, "AKpass", 6, &got), APISEC_OK);
    CHECK(keys_equal(&k, &got));
    CHECK_INT(apisec_key_check_passphrase(st, h, &got, right, RIGHT_LEN), 1);
    CHECK_INT(apisec_key_check_passphrase(st, h, &got, "wrong", 5), 0);

    CHECK_INT(apisec_key_get(st, "AKnopass", 8, &got), APISEC_OK);
    CHECK_INT(got.passhash_len, 0);
    CHECK_INT(apisec_key_check_passphrase(st, h, &got, right, RIGHT_LEN), 0);

    apisec_store_close(st);

    /* the same store opened again: the hash still matches */
    CHECK_INT(apisec_store_open(&st, dir1, mk, APISEC_OPEN_RDONLY, 0, err,
                                sizeof(err)),
              APISEC_OK);

    if (st != NULL) {
        CHECK_INT(apisec_key_get(st, "AKpass", 6, &got), APISEC_OK);
        CHECK_INT(apisec_key_check_passphrase(st, h, &got, right, RIGHT_LEN),
                  1);
        apisec_store_close(st);
    }

    /*
     * Another store, of another master key: the record copied there does
     * not match, because the hash is keyed by the master key; the same
     * passphrase set there gives another hash, which does not match here.
     */
    dir = new_dir("passphrase2");
    CHECK_INT(apisec_store_init(dir, mk2, 0, err, sizeof(err)), APISEC_OK);
    CHECK_INT(apisec_store_open(&st2, dir, mk2, 0, 0, err, sizeof(err)),
              APISEC_OK);

    if (st2 != NULL) {
        CHECK_INT(apisec_key_check_passphrase(st2, h, &k, right, RIGHT_LEN),
                  0);

        k2 = k;
        CHECK_INT(apisec_key_set_passphrase(st2, h, &k2, right, RIGHT_LEN),
                  APISEC_OK);
        CHECK_INT(apisec_key_check_passphrase(st2, h, &k2, right, RIGHT_LEN),
                  1);
        CHECK(memcmp(k2.passhash, k.passhash, APISEC_PASSHASH_LEN) != 0);

        apisec_store_close(st2);
    }

    /* and the other way round */
    CHECK_INT(apisec_store_open(&st, dir1, mk, APISEC_OPEN_RDONLY, 0, err,
                                sizeof(err)),
              APISEC_OK);

    if (st != NULL) {
        CHECK_INT(apisec_key_check_passphrase(st, h, &k2, right, RIGHT_LEN),
                  0);
        CHECK_INT(apisec_key_check_passphrase(st, h, &k, right, RIGHT_LEN),
                  1);
        apisec_store_close(st);
    }

    apisec_hmac_free(h);

#undef RIGHT_LEN
}


static void
test_rdonly(void)
{
    char             err[APISEC_ERR_LEN];
    walk_t           walk;
    const char      *dir;
    apisec_key_t     got;
    apisec_wtxn_t   *w;
    apisec_store_t  *st, *rw;

    dir = new_dir("rdonly");
    CHECK_INT(apisec_store_init(dir, mk, 0, err, sizeof(err)), APISEC_OK);
    CHECK_INT(apisec_store_open(&rw, dir, mk, 0, 0, err, sizeof(err)),
              APISEC_OK);

    if (rw == NULL) {
        return;
    }

    CHECK_INT(put_key(rw, "AKro", "ro", 0), APISEC_OK);
    apisec_store_close(rw);

    CHECK_INT(apisec_store_open(&st, dir, mk, APISEC_OPEN_RDONLY, 64 * MiB,
                                err, sizeof(err)),
              APISEC_OK);

    if (st == NULL) {
        return;
    }

    CHECK_INT(apisec_key_get(st, "AKro", 4, &got), APISEC_OK);
    CHECK_STR(got.label, "ro");

    memset(&walk, 0, sizeof(walk));
    CHECK_INT(apisec_key_foreach(st, walk_cb, &walk), APISEC_OK);
    CHECK_INT(walk.n, 1);

    CHECK_INT(apisec_store_begin(st, &w), APISEC_ERR_INVALID);
    CHECK(strstr(apisec_store_error(st), "read-only") != NULL);

    apisec_store_close(st);
}


static void
test_map_full(void)
{
    int                   i, rc, n;
    char                  err[APISEC_ERR_LEN], ak[64];
    char                  label[APISEC_LABEL_MAX + 1];
    const char           *dir;
    apisec_key_t          k, got;
    apisec_wtxn_t        *w;
    apisec_store_t       *st;
    apisec_store_stat_t   s;

    dir = new_dir("full");
    CHECK_INT(apisec_store_init(dir, mk, 256 * KiB, err, sizeof(err)),
              APISEC_OK);
    CHECK_INT(apisec_store_open(&st, dir, mk, 0, 0, err, sizeof(err)),
              APISEC_OK);

    if (st == NULL) {
        return;
    }

    memset(label, 'L', APISEC_LABEL_MAX);
    label[APISEC_LABEL_MAX] = '\0';

    /* one key per transaction until the map is full */
    rc = APISEC_OK;

    for (n = 0; n < 100000; n++) {
        snprintf(ak, sizeof(ak), "full-%06d", n);
        rc = put_key(st, ak, label, 0);

        if (rc != APISEC_OK) {
            break;
        }
    }

    CHECK_INT(rc, APISEC_ERR_MAP_FULL);
    CHECK(n > 10 && n < 100000);
    CHECK(strstr(apisec_store_error(st), "map size") != NULL);
    CHECK(strstr(apisec_store_error(st), "262144") != NULL);
    CHECK(strstr(apisec_store_error(st), dir) != NULL);

    /* a put that fails makes the commit fail with the same reason */
    fill_key(&k, "full-extra", "acct");
    strcpy(k.label, label);
    CHECK_INT(apisec_store_begin(st, &w), APISEC_OK);

    for (i = 0; i < 1000; i++) {
        snprintf(k.access_key, sizeof(k.access_key), "full-x%04d", i);
        rc = apisec_key_put(w, &k, 0);

        if (rc != APISEC_OK) {
            break;
        }
    }

    CHECK_INT(rc, APISEC_ERR_MAP_FULL);
    CHECK_INT(apisec_store_commit(w), APISEC_ERR_MAP_FULL);

    /* still readable, and writable again after a delete */
    CHECK_INT(apisec_key_get(st, "full-000000", 11, &got), APISEC_OK);
    snprintf(ak, sizeof(ak), "full-%06d", n - 1);
    CHECK_INT(apisec_key_get(st, ak, strlen(ak), &got), APISEC_OK);
    snprintf(ak, sizeof(ak), "full-%06d", n);
    CHECK_INT(apisec_key_get(st, ak, strlen(ak), &got), APISEC_ERR_NOTFOUND);
    CHECK_INT(apisec_key_get(st, "full-x0000", 10, &got),
              APISEC_ERR_NOTFOUND);

    CHECK_INT(apisec_store_stat(st, &s), APISEC_OK);
    CHECK_INT(s.keys, n);
    CHECK_INT(s.map_size, 256 * KiB);
    CHECK(s.map_used <= s.map_size);

    apisec_store_close(st);

    /* a bigger map_size at open grows the store: puts succeed again */
    CHECK_INT(apisec_store_open(&st, dir, mk, 0, 4 * MiB, err, sizeof(err)),
              APISEC_OK);

    if (st == NULL) {
        return;
    }

    for (i = 0; i < 200; i++) {
        snprintf(ak, sizeof(ak), "more-%06d", i);
        rc = put_key(st, ak, label, 0);

        if (rc != APISEC_OK) {
            CHECK_INT(rc, APISEC_OK);
            break;
        }
    }

    CHECK_INT(apisec_store_stat(st, &s), APISEC_OK);
    CHECK_INT(s.keys, n + 200);
    CHECK_INT(s.map_size, 4 * MiB);
    CHECK(s.map_used > 256 * KiB);
    apisec_store_close(st);

    /* the new size is kept by the store */
    CHECK_INT(apisec_store_open(&st, dir, mk, 0, 0, err, sizeof(err)),
              APISEC_OK);
    CHECK_INT(apisec_store_stat(st, &s), APISEC_OK);
    CHECK_INT(s.map_size, 4 * MiB);
    CHECK_INT(apisec_key_get(st, "more-000199", 11, &got), APISEC_OK);
    apisec_store_close(st);
}


static void
test_map_resized(void)
{
    int                   i, status, rc;
    char                  err[APISEC_ERR_LEN], label[APISEC_LABEL_MAX + 1];
    pid_t                 pid;
    const char           *dir;
    apisec_key_t          got;
    apisec_store_t       *st, *cst;
    apisec_store_stat_t   s;

    dir = new_dir("resized");
    CHECK_INT(apisec_store_init(dir, mk, 256 * KiB, err, sizeof(err)),
              APISEC_OK);
    CHECK_INT(apisec_store_open(&st, dir, mk, 0, 0, err, sizeof(err)),
              APISEC_OK);

    if (st == NULL) {
        return;
    }

    CHECK_INT(put_key(st, "A0", "parent", 0), APISEC_OK);
    CHECK_INT(apisec_key_get(st, "A0", 2, &got), APISEC_OK);
    CHECK_INT(apisec_store_stat(st, &s), APISEC_OK);
    CHECK_INT(s.map_size, 256 * KiB);

    memset(label, 'R', APISEC_LABEL_MAX);
    label[APISEC_LABEL_MAX] = '\0';

    /* another process grows the map and writes far past the old size */
    CHECK(grow_in_child(dir, 8 * MiB, "C", 2000, label));

    /* the read path adopts the new size */
    CHECK_INT(apisec_key_get(st, "C01999", 6, &got), APISEC_OK);
    CHECK_STR(got.label, label);
    CHECK_INT(apisec_key_get(st, "A0", 2, &got), APISEC_OK);
    CHECK_INT(apisec_store_stat(st, &s), APISEC_OK);
    CHECK_INT(s.map_size, 8 * MiB);
    CHECK_INT(s.keys, 2001);
    CHECK(s.map_used > 256 * KiB);

    /* again, and this time the first call is a write */
    fflush(NULL);
    pid = fork();

    if (pid == 0) {
        if (apisec_store_open(&cst, dir, mk, 0, 32 * MiB, err, sizeof(err))
            != APISEC_OK)
        {
            _exit(2);
        }

        for (i = 0; i < 30; i++) {
            if (put_many(cst, "D", i * 1000, 1000, label) != APISEC_OK) {
                _exit(3);
            }

            if (apisec_store_stat(cst, &s) != APISEC_OK) {
                _exit(4);
            }

            if (s.map_used > 9 * MiB) {
                break;
            }
        }

        apisec_store_close(cst);
        _exit(0);
    }

    CHECK(pid > 0);
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    rc = put_key(st, "A1", "after", 0);
    CHECK_INT(rc, APISEC_OK);

    if (rc != APISEC_OK) {
        fprintf(stderr, "%s\n", apisec_store_error(st));
    }

    CHECK_INT(apisec_key_get(st, "A1", 2, &got), APISEC_OK);
    CHECK_INT(apisec_key_get(st, "D00999", 6, &got), APISEC_OK);
    CHECK_INT(apisec_store_stat(st, &s), APISEC_OK);
    CHECK_INT(s.map_size, 32 * MiB);

    apisec_store_close(st);
}


static void
test_readers(void)
{
    int                   fds[2], status, dead;
    char                  c, err[APISEC_ERR_LEN];
    pid_t                 pid;
    const char           *dir;
    apisec_key_t          got;
    apisec_store_t       *st, *cst;
    apisec_store_stat_t   s;

    dir = new_dir("readers");
    CHECK_INT(apisec_store_init(dir, mk, 0, err, sizeof(err)), APISEC_OK);
    CHECK_INT(apisec_store_open(&st, dir, mk, 0, 0, err, sizeof(err)),
              APISEC_OK);

    if (st == NULL) {
        return;
    }

    CHECK_INT(put_key(st, "AKr", "r", 0), APISEC_OK);
    CHECK_INT(apisec_store_stat(st, &s), APISEC_OK);
    CHECK_INT(s.readers_used, 1);

    CHECK(pipe(fds) == 0);

    fflush(NULL);
    pid = fork();

    if (pid == 0) {
        close(fds[0]);

        if (apisec_store_open(&cst, dir, mk, 0, 0, err, sizeof(err))
            != APISEC_OK
            || apisec_key_get(cst, "AKr", 3, &got) != APISEC_OK)
        {
            c = 'E';

        } else {
            c = 'R';
        }

        if (write(fds[1], &c, 1) != 1) {
            _exit(1);
        }

        for ( ;; ) {
            pause();
        }
    }

    close(fds[1]);
    CHECK(pid > 0);
    CHECK(read(fds[0], &c, 1) == 1 && c == 'R');
    close(fds[0]);

    CHECK_INT(apisec_store_stat(st, &s), APISEC_OK);
    CHECK_INT(s.readers_used, 2);

    /* the reader dies holding its slot */
    CHECK(kill(pid, SIGKILL) == 0);
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

    CHECK_INT(apisec_store_stat(st, &s), APISEC_OK);
    CHECK_INT(s.readers_used, 2);

    dead = -1;
    CHECK_INT(apisec_store_reader_check(st, &dead), APISEC_OK);
    CHECK_INT(dead, 1);

    CHECK_INT(apisec_store_stat(st, &s), APISEC_OK);
    CHECK_INT(s.readers_used, 1);

    dead = -1;
    CHECK_INT(apisec_store_reader_check(st, &dead), APISEC_OK);
    CHECK_INT(dead, 0);
    CHECK_INT(apisec_store_reader_check(st, NULL), APISEC_OK);
    CHECK_INT(apisec_store_reader_check(NULL, &dead), APISEC_ERR_INVALID);

    /* the store works on */
    CHECK_INT(apisec_key_get(st, "AKr", 3, &got), APISEC_OK);
    CHECK_INT(put_key(st, "AKr2", "r2", 0), APISEC_OK);

    apisec_store_close(st);
}


/* records that do not belong under their LMDB key */

static void
test_key_mismatch(void)
{
    char             err[APISEC_ERR_LEN];
    size_t           len;
    walk_t           walk;
    uint8_t          buf[APISEC_RECORD_MAX];
    const char      *dir;
    apisec_key_t     k, got;
    apisec_wtxn_t   *w;
    apisec_store_t  *st;

    dir = new_dir("mismatch");
    CHECK_INT(apisec_store_init(dir, mk, 0, err, sizeof(err)), APISEC_OK);

    fill_key(&k, "X2", "acct");
    CHECK_INT(apisec_key_encode(&k, buf, sizeof(buf), &len), APISEC_OK);
    CHECK(raw_put(dir, "keys", "X1", buf, len) == 0);
    CHECK(raw_put(dir, "keys", "X3", "\1garbage", 8) == 0);

    CHECK_INT(apisec_store_open(&st, dir, mk, 0, 0, err, sizeof(err)),
              APISEC_OK);

    if (st == NULL) {
        return;
    }

    memset(&got, 0x77, sizeof(got));
    CHECK_INT(apisec_key_get(st, "X1", 2, &got), APISEC_ERR_CORRUPT);
    CHECK(got.access_key[0] == '\0');
    CHECK(strstr(apisec_store_error(st), "X1") != NULL);
    CHECK_INT(apisec_key_get(st, "X2", 2, &got), APISEC_ERR_NOTFOUND);
    CHECK_INT(apisec_key_get(st, "X3", 2, &got), APISEC_ERR_CORRUPT);
    CHECK(strstr(apisec_store_error(st), "X3") != NULL);

    memset(&walk, 0, sizeof(walk));
    CHECK_INT(apisec_key_foreach(st, walk_cb, &walk), APISEC_ERR_CORRUPT);
    CHECK_INT(walk.n, 0);

    /* the write path checks the same, and the corrupt keys can go */
    CHECK_INT(apisec_store_begin(st, &w), APISEC_OK);
    CHECK_INT(apisec_key_get_w(w, "X1", 2, &got), APISEC_ERR_CORRUPT);
    CHECK_INT(apisec_key_del(w, "X1", 2), APISEC_OK);
    CHECK_INT(apisec_key_del(w, "X3", 2), APISEC_OK);
    CHECK_INT(apisec_store_commit(w), APISEC_OK);

    CHECK_INT(apisec_key_foreach(st, walk_cb, &walk), APISEC_OK);

    /* the handle still works after all that */
    CHECK_INT(put_key(st, "X4", "ok", 0), APISEC_OK);
    CHECK_INT(apisec_key_get(st, "X4", 2, &got), APISEC_OK);

    apisec_store_close(st);
}


static void
test_codec_roundtrip(void)
{
    size_t        len, len2;
    uint8_t       buf[APISEC_RECORD_MAX], buf2[APISEC_RECORD_MAX];
    apisec_key_t  k, got;

    /* every field set, every field at its maximum */
    fill_full_key(&k);
    memset(k.account, 'a', APISEC_ACCOUNT_MAX);
    k.account[APISEC_ACCOUNT_MAX] = '\0';
    memset(k.access_key, 'k', APISEC_KEY_MAX);
    k.access_key[APISEC_KEY_MAX] = '\0';

    CHECK_INT(apisec_key_encode(&k, buf, sizeof(buf), &len), APISEC_OK);
    CHECK(len <= APISEC_RECORD_MAX);
    CHECK(buf[0] == APISEC_RECORD_VERSION);
    CHECK_INT(apisec_key_decode(buf, len, &got), APISEC_OK);
    CHECK(keys_equal(&k, &got));

    /* encoding is deterministic */
    CHECK_INT(apisec_key_encode(&got, buf2, sizeof(buf2), &len2), APISEC_OK);
    CHECK(len == len2 && memcmp(buf, buf2, len) == 0);

    /* the full label, too */
    memset(k.label, 'l', APISEC_LABEL_MAX);
    k.label[APISEC_LABEL_MAX] = '\0';
    CHECK_INT(apisec_key_encode(&k, buf, sizeof(buf), &len), APISEC_OK);
    CHECK_INT(apisec_key_decode(buf, len, &got), APISEC_OK);
    CHECK(keys_equal(&k, &got));

    /* the smallest key; optional fields stay absent */
    fill_key(&k, "a", "b");
    k.created_at = 0;
    CHECK_INT(apisec_key_encode(&k, buf, sizeof(buf), &len), APISEC_OK);
    CHECK_INT(apisec_key_decode(buf, len, &got), APISEC_OK);
    CHECK(keys_equal(&k, &got));
    CHECK(got.label[0] == '\0' && got.n_ips == 0 && got.totp_len == 0
          && got.passhash_len == 0 && got.expires_at == 0);
    CHECK_INT(len, 1 + (3 + 1) + (3 + 1) + 2 * (3 + 8)
                   + (3 + 32 + APISEC_SEAL_OVERHEAD) + (3 + 8));

    /* the capacity is respected */
    CHECK_INT(apisec_key_encode(&k, buf, len - 1, &len2), APISEC_ERR_INVALID);
    CHECK_INT(apisec_key_encode(&k, buf, len, &len2), APISEC_OK);
    CHECK_INT(apisec_key_encode(&k, buf, 0, &len2), APISEC_ERR_INVALID);
    CHECK_INT(apisec_key_encode(NULL, buf, sizeof(buf), &len2),
              APISEC_ERR_INVALID);
    CHECK_INT(apisec_key_decode(buf, len, NULL), APISEC_ERR_INVALID);
    CHECK_INT(apisec_key_decode(NULL, 0, &got), APISEC_ERR_CORRUPT);
}


/* apisec_key_encode() refuses what apisec_key_decode() would refuse */

static void
test_codec_invalid(void)
{
    size_t        len;
    uint8_t       buf[APISEC_RECORD_MAX];
    apisec_key_t  k;

#define BAD(stmt)                                                           \
    do {                                                                    \
        fill_key(&k, "AK", "acct");                                         \
        stmt;                                                               \
        CHECK_INT(apisec_key_encode(&k, buf, sizeof(buf), &len),            \
                  APISEC_ERR_INVALID);                                      \
    } while (0)

    fill_key(&k, "AK", "acct");
    CHECK_INT(apisec_key_encode(&k, buf, sizeof(buf), &len), APISEC_OK);

    BAD(k.access_key[0] = '\0');
    BAD(strcpy(k.access_key, "a b"));
    BAD(memset(k.access_key, 'k', sizeof(k.access_key)));
    BAD(k.account[0] = '\0');
    BAD(strcpy(k.account, "a/b"));
    BAD(memset(k.account, 'a', sizeof(k.account)));
    BAD(strcpy(k.label, "bell\a"));
    BAD(strcpy(k.label, "\xc3"));
    BAD(memset(k.label, 'l', sizeof(k.label)));
    BAD(k.perms = 0);
    BAD(k.perms = 8);
    BAD(k.perms = APISEC_PERM_ALL | 0x100);
    BAD(k.status = -1);
    BAD(k.status = APISEC_STATUS_MAX + 1);
    BAD(k.created_at = -1);
    BAD(k.last_used_at = -5);
    BAD(k.expires_at = INT64_MIN);
    BAD(k.locked_until = -1);
    BAD(k.totp_last_step = -1);
    BAD(k.n_ips = APISEC_IPS_MAX + 1);
    BAD(k.n_ips = 1; k.ips[0].family = 5);
    BAD(k.n_ips = 1; k.ips[0].family = 0);
    BAD(k.n_ips = 1; k.ips[0].family = 4; k.ips[0].prefix = 33);
    BAD(k.n_ips = 1; k.ips[0].family = 6; k.ips[0].prefix = 129);
    BAD(k.n_ips = 1; k.ips[0].family = 4; k.ips[0].prefix = 8;
        k.ips[0].addr[1] = 1);
    BAD(k.n_ips = 1; k.ips[0].family = 4; k.ips[0].prefix = 32;
        k.ips[0].addr[4] = 1);
    BAD(k.n_ips = 1; k.ips[0].family = 6; k.ips[0].prefix = 9;
        k.ips[0].addr[1] = 0x40);
    BAD(k.secret_len = 0);
    BAD(k.secret_len = APISEC_SEAL_OVERHEAD);
    BAD(k.secret_len = APISEC_SEALED_MAX + 1);
    BAD(k.totp_len = APISEC_SEAL_OVERHEAD);
    BAD(k.totp_len = APISEC_TOTP_SEALED_MAX + 1);
    BAD(k.passhash_len = APISEC_PASSHASH_LEN - 1);
    BAD(k.passhash_len = 1);

#undef BAD

    /* the edges that are fine */
    fill_key(&k, "AK", "acct");
    k.n_ips = 2;
    k.ips[0].family = 4;
    k.ips[0].prefix = 0;
    k.ips[1].family = 6;
    k.ips[1].prefix = 127;
    k.ips[1].addr[15] = 0xfe;
    k.status = APISEC_STATUS_MAX;
    k.perms = APISEC_PERM_WITHDRAW;
    k.secret_len = APISEC_SEAL_OVERHEAD + 1;
    CHECK_INT(apisec_key_encode(&k, buf, sizeof(buf), &len), APISEC_OK);
}


static void
test_codec_crafted(void)
{
    rec_t         r;
    uint8_t       ips[(APISEC_IPS_MAX + 1) * 18], big[300];
    apisec_key_t  k;
    unsigned      tag;

    rec_base(&r, 0);
    CHECK_INT(rec_decode(&r), APISEC_OK);
    CHECK_INT(apisec_key_decode(r.b, r.n, &k), APISEC_OK);
    CHECK_STR(k.access_key, "AKraw");
    CHECK_STR(k.account, "acct");
    CHECK_INT(k.status, APISEC_STATUS_DISABLED);
    CHECK_INT(k.perms, APISEC_PERM_READ | APISEC_PERM_TRADE);
    CHECK_INT(k.created_at, 1700000000);
    CHECK_INT(k.secret_len, 40);

    /* each mandatory field */
    for (tag = TAG_ACCESS_KEY; tag <= TAG_CREATED_AT; tag++) {
        if (tag == TAG_LABEL) {
            continue;
        }

        rec_base(&r, tag);

        if (rec_decode(&r) != APISEC_ERR_CORRUPT) {
            fprintf(stderr, "record without tag %u decodes\n", tag);
            CHECK(0);
        }
    }

    /* unknown tags are skipped, wherever they are */
    rec_base(&r, 0);
    rec_field(&r, 200, "future", 6);
    rec_field(&r, 0, "", 0);
    rec_field(&r, 255, big, 0);
    CHECK_INT(rec_decode(&r), APISEC_OK);

    rec_start(&r);
    rec_field(&r, 99, "xx", 2);
    rec_field(&r, TAG_ACCESS_KEY, "AKraw", 5);
    rec_field(&r, TAG_ACCOUNT, "acct", 4);
    rec_field(&r, 15, big, sizeof(big));
    memset(big, 0x33, 40);
    rec_field(&r, TAG_SECRET, big, 40);
    rec_int(&r, TAG_STATUS, 0);
    rec_int(&r, TAG_PERMS, 1);
    rec_int(&r, TAG_CREATED_AT, 5);
    CHECK_INT(rec_decode(&r), APISEC_OK);

    /* duplicates of known tags */
    for (tag = TAG_ACCESS_KEY; tag <= TAG_CREATED_AT; tag++) {
        rec_base(&r, 0);

        switch (tag) {
        case TAG_ACCESS_KEY:
            rec_field(&r, tag, "AKraw", 5);
            break;
        case TAG_ACCOUNT:
            rec_field(&r, tag, "acct", 4);
            break;
        case TAG_LABEL:
            rec_field(&r, tag, "a", 1);
            rec_field(&r, tag, "a", 1);
            break;
        case TAG_SECRET:
            rec_field(&r, tag, big, 40);
            break;
        default:
            rec_int(&r, tag, 1);
            break;
        }

        if (rec_decode(&r) != APISEC_ERR_CORRUPT) {
            fprintf(stderr, "duplicated tag %u decodes\n", tag);
            CHECK(0);
        }
    }

    rec_base(&r, 0);
    rec_int(&r, TAG_LAST_USED_AT, 1);
    rec_int(&r, TAG_LAST_USED_AT, 1);
    CHECK_INT(rec_decode(&r), APISEC_ERR_CORRUPT);

    /* record version */
    rec_base(&r, 0);
    r.b[0] = APISEC_RECORD_VERSION + 1;
    CHECK_INT(rec_decode(&r), APISEC_ERR_CORRUPT);
    r.b[0] = 0;
    CHECK_INT(rec_decode(&r), APISEC_ERR_CORRUPT);

    /* over-long record */
    rec_base(&r, 0);
    memset(big, 0, sizeof(big));

    while (r.n <= APISEC_RECORD_MAX) {
        rec_field(&r, 200, big, sizeof(big));
    }

    CHECK_INT(rec_decode(&r), APISEC_ERR_CORRUPT);

    /* strings */
    memset(big, 'k', sizeof(big));
    rec_base(&r, TAG_ACCESS_KEY);
    rec_field(&r, TAG_ACCESS_KEY, big, APISEC_KEY_MAX + 1);
    CHECK_INT(rec_decode(&r), APISEC_ERR_CORRUPT);
    rec_base(&r, TAG_ACCESS_KEY);
    rec_field(&r, TAG_ACCESS_KEY, big, APISEC_KEY_MAX);
    CHECK_INT(rec_decode(&r), APISEC_OK);
    rec_base(&r, TAG_ACCESS_KEY);
    rec_field(&r, TAG_ACCESS_KEY, big, 0);
    CHECK_INT(rec_decode(&r), APISEC_ERR_CORRUPT);
    rec_base(&r, TAG_ACCESS_KEY);
    rec_field(&r, TAG_ACCESS_KEY, "A\0B", 3);
    CHECK_INT(rec_decode(&r), APISEC_ERR_CORRUPT);
    rec_base(&r, TAG_ACCESS_KEY);
    rec_field(&r, TAG_ACCESS_KEY, "A B", 3);
    CHECK_INT(rec_decode(&r), APISEC_ERR_CORRUPT);
    rec_base(&r, TAG_ACCOUNT);
    rec_field(&r, TAG_ACCOUNT, big, APISEC_ACCOUNT_MAX + 1);
    CHECK_INT(rec_decode(&r), APISEC_ERR_CORRUPT);
    rec_base(&r, TAG_ACCOUNT);
    rec_field(&r, TAG_ACCOUNT, "a\nb", 3);
    CHECK_INT(rec_decode(&r), APISEC_ERR_CORRUPT);
    rec_base(&r, 0);
    rec_field(&r, TAG_LABEL, big, APISEC_LABEL_MAX + 1);
    CHECK_INT(rec_decode(&r), APISEC_ERR_CORRUPT);
    rec_base(&r, 0);
    rec_field(&r, TAG_LABEL, big, APISEC_LABEL_MAX);
    CHECK_INT(rec_decode(&r), APISEC_OK);
    rec_base(&r, 0);
    rec_field(&r, TAG_LABEL, "", 0);
    CHECK_INT(rec_decode(&r), APISEC_OK);
    rec_base(&r, 0);
    rec_field(&r, TAG_LABEL, "a\0b", 3);
    CHECK_INT(rec_decode(&r), APISEC_ERR_CORRUPT);
    rec_base(&r, 0);
    rec_field(&r, TAG_LABEL, "\xed\xa0\x80", 3);
    CHECK_INT(rec_decode(&r), APISEC_ERR_CORRUPT);

    /* integers: exactly 8 bytes, in range */
    rec_base(&r, TAG_STATUS);
    rec_int(&r, TAG_STATUS, APISEC_STATUS_MAX + 1);
    CHECK_INT(rec_decode(&r), APISEC_ERR_CORRUPT);
    rec_base(&r, TAG_STATUS);
    rec_int(&r, TAG_STATUS, UINT64_MAX);
    CHECK_INT(rec_decode(&r), APISEC_ERR_CORRUPT);
    rec_base(&r, TAG_STATUS);
    rec_field(&r, TAG_STATUS, "\0\0\0\0\0\0\0", 7);
    CHECK_INT(rec_decode(&r), APISEC_ERR_CORRUPT);
    rec_base(&r, TAG_STATUS);
    rec_field(&r, TAG_STATUS, "\0\0\0\0\0\0\0\0\0", 9);
    CHECK_INT(rec_decode(&r), APISEC_ERR_CORRUPT);
    rec_base(&r, TAG_PERMS);
    rec_int(&r, TAG_PERMS, 0);
    CHECK_INT(rec_decode(&r), APISEC_ERR_CORRUPT);
    rec_base(&r, TAG_PERMS);
    rec_int(&r, TAG_PERMS, 8);
    CHECK_INT(rec_decode(&r), APISEC_ERR_CORRUPT);
    rec_base(&r, TAG_PERMS);
    rec_int(&r, TAG_PERMS, 0x100000001ULL);
    CHECK_INT(rec_decode(&r), APISEC_ERR_CORRUPT);
    rec_base(&r, TAG_CREATED_AT);
    rec_int(&r, TAG_CREATED_AT, 0x8000000000000000ULL);
    CHECK_INT(rec_decode(&r), APISEC_ERR_CORRUPT);
    rec_base(&r, TAG_CREATED_AT);
    rec_int(&r, TAG_CREATED_AT, INT64_MAX);
    CHECK_INT(rec_decode(&r), APISEC_OK);
    rec_base(&r, 0);
    rec_int(&r, TAG_EXPIRES_AT, UINT64_MAX);
    CHECK_INT(rec_decode(&r), APISEC_ERR_CORRUPT);
    rec_base(&r, 0);
    rec_int(&r, TAG_TOTP_LAST_STEP, UINT64_MAX);
    CHECK_INT(rec_decode(&r), APISEC_ERR_CORRUPT);

    /* sealed values and the passphrase hash */
    rec_base(&r, TAG_SECRET);
    rec_field(&r, TAG_SECRET, big, APISEC_SEAL_OVERHEAD);
    CHECK_INT(rec_decode(&r), APISEC_ERR_CORRUPT);
    rec_base(&r, TAG_SECRET);
    rec_field(&r, TAG_SECRET, big, APISEC_SEALED_MAX + 1);
    CHECK_INT(rec_decode(&r), APISEC_ERR_CORRUPT);
    rec_base(&r, TAG_SECRET);
    rec_field(&r, TAG_SECRET, big, APISEC_SEALED_MAX);
    CHECK_INT(rec_decode(&r), APISEC_OK);
    rec_base(&r, 0);
    rec_field(&r, TAG_TOTP, big, APISEC_TOTP_SEALED_MAX + 1);
    CHECK_INT(rec_decode(&r), APISEC_ERR_CORRUPT);
    rec_base(&r, 0);
    rec_field(&r, TAG_TOTP, big, 0);
    CHECK_INT(rec_decode(&r), APISEC_ERR_CORRUPT);
    rec_base(&r, 0);
    rec_field(&r, TAG_TOTP, big, APISEC_TOTP_SEALED_MAX);
    CHECK_INT(rec_decode(&r), APISEC_OK);
    rec_base(&r, 0);
    rec_field(&r, TAG_PASSHASH, big, APISEC_PASSHASH_LEN - 1);
    CHECK_INT(rec_decode(&r), APISEC_ERR_CORRUPT);
    rec_base(&r, 0);
    rec_field(&r, TAG_PASSHASH, big, APISEC_PASSHASH_LEN + 1);
    CHECK_INT(rec_decode(&r), APISEC_ERR_CORRUPT);
    rec_base(&r, 0);
    rec_field(&r, TAG_PASSHASH, big, 0);
    CHECK_INT(rec_decode(&r), APISEC_ERR_CORRUPT);
    rec_base(&r, 0);
    rec_field(&r, TAG_PASSHASH, big, APISEC_PASSHASH_LEN);
    CHECK_INT(rec_decode(&r), APISEC_OK);

    /* ips */
    memset(ips, 0, sizeof(ips));

    for (tag = 0; tag <= APISEC_IPS_MAX; tag++) {
        ips[tag * 18] = 4;
        ips[tag * 18 + 1] = 24;
        ips[tag * 18 + 2] = 192;
        ips[tag * 18 + 3] = 168;
        ips[tag * 18 + 4] = (uint8_t) tag;
    }

    rec_base(&r, 0);
    rec_field(&r, TAG_IPS, ips, APISEC_IPS_MAX * 18);
    CHECK_INT(rec_decode(&r), APISEC_OK);
    CHECK_INT(apisec_key_decode(r.b, r.n, &k), APISEC_OK);
    CHECK_INT(k.n_ips, APISEC_IPS_MAX);
    CHECK(k.ips[19].family == 4 && k.ips[19].prefix == 24
          && k.ips[19].addr[2] == 19);

    rec_base(&r, 0);
    rec_field(&r, TAG_IPS, ips, (APISEC_IPS_MAX + 1) * 18);
    CHECK_INT(rec_decode(&r), APISEC_ERR_CORRUPT);
    rec_base(&r, 0);
    rec_field(&r, TAG_IPS, ips, 19);
    CHECK_INT(rec_decode(&r), APISEC_ERR_CORRUPT);
    rec_base(&r, 0);
    rec_field(&r, TAG_IPS, ips, 17);
    CHECK_INT(rec_decode(&r), APISEC_ERR_CORRUPT);

    ips[0] = 5;
    rec_base(&r, 0);
    rec_field(&r, TAG_IPS, ips, 18);
    CHECK_INT(rec_decode(&r), APISEC_ERR_CORRUPT);
    ips[0] = 4;
    ips[1] = 33;
    rec_base(&r, 0);
    rec_field(&r, TAG_IPS, ips, 18);
    CHECK_INT(rec_decode(&r), APISEC_ERR_CORRUPT);
    ips[0] = 6;
    ips[1] = 128;
    rec_base(&r, 0);
    rec_field(&r, TAG_IPS, ips, 18);
    CHECK_INT(rec_decode(&r), APISEC_OK);
    ips[1] = 129;
    rec_base(&r, 0);
    rec_field(&r, TAG_IPS, ips, 18);
    CHECK_INT(rec_decode(&r), APISEC_ERR_CORRUPT);
    ips[0] = 4;
    ips[1] = 8;
    rec_base(&r, 0);
    rec_field(&r, TAG_IPS, ips, 18);
    CHECK_INT(rec_decode(&r), APISEC_ERR_CORRUPT);   /* host bits */

    /* a field length past the end */
    rec_base(&r, 0);
    r.b[r.n++] = TAG_LABEL;
    r.b[r.n++] = 0;
    r.b[r.n++] = 5;
    r.b[r.n++] = 'a';
    CHECK_INT(rec_decode(&r), APISEC_ERR_CORRUPT);
    rec_base(&r, 0);
    r.b[r.n++] = 200;
    r.b[r.n++] = 0xff;
    r.b[r.n++] = 0xff;
    CHECK_INT(rec_decode(&r), APISEC_ERR_CORRUPT);
    rec_base(&r, 0);
    r.b[r.n++] = 200;
    r.b[r.n++] = 0;
    CHECK_INT(rec_decode(&r), APISEC_ERR_CORRUPT);
}


/* no proper prefix of a valid record decodes */

static void
test_codec_truncation(void)
{
    int           bad;
    size_t        len, i;
    uint8_t       buf[APISEC_RECORD_MAX], *copy;
    apisec_key_t  k, got;

    fill_full_key(&k);
    CHECK_INT(apisec_key_encode(&k, buf, sizeof(buf), &len), APISEC_OK);

    bad = 0;

    for (i = 0; i < len; i++) {

        /* an exact-size heap copy, so that ASan sees any overread */
        copy = malloc(i ? i : 1);
        memcpy(copy, buf, i);

        if (apisec_key_decode(copy, i, &got) != APISEC_ERR_CORRUPT) {
            fprintf(stderr, "a record truncated to %zu bytes decodes\n", i);
            bad++;
        }

        free(copy);
    }

    CHECK_INT(bad, 0);

    fill_key(&k, "AK", "acct");
    CHECK_INT(apisec_key_encode(&k, buf, sizeof(buf), &len), APISEC_OK);

    bad = 0;

    for (i = 0; i < len; i++) {
        if (apisec_key_decode(buf, i, &got) != APISEC_ERR_CORRUPT) {
            bad++;
        }
    }

    CHECK_INT(bad, 0);
}


/* single-byte changes: no crash, and what decodes is valid */

static void
test_codec_flips(void)
{
    int           ok, bad;
    size_t        len, len2, i, m;
    uint8_t       buf[APISEC_RECORD_MAX], *copy, buf2[APISEC_RECORD_MAX];
    apisec_key_t  k, got, again;

    static const uint8_t  masks[] = {
        0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xff, 0x7f, 0x55
    };

    fill_full_key(&k);
    CHECK_INT(apisec_key_encode(&k, buf, sizeof(buf), &len), APISEC_OK);

    ok = 0;
    bad = 0;

    for (i = 0; i < len; i++) {
        for (m = 0; m < sizeof(masks); m++) {
            copy = malloc(len);
            memcpy(copy, buf, len);
            copy[i] ^= masks[m];

            if (apisec_key_decode(copy, len, &got) == APISEC_OK) {
                ok++;

                /* a decoded record is a valid one: it encodes again */
                if (apisec_key_encode(&got, buf2, sizeof(buf2), &len2)
                    != APISEC_OK
                    || apisec_key_decode(buf2, len2, &again) != APISEC_OK
                    || !keys_equal(&got, &again))
                {
                    bad++;
                }
            }

            free(copy);
        }
    }

    CHECK_INT(bad, 0);

    /* bytes inside secrets and labels may change; lengths may not */
    CHECK(ok > 0);
}


/* random bytes and random field sequences */

static void
test_codec_random(void)
{
    int           i, bad, decoded;
    size_t        n, len2, f, flen, j;
    uint8_t      *p, buf2[APISEC_RECORD_MAX];
    uint64_t      x;
    apisec_key_t  got;

    bad = 0;
    decoded = 0;

    for (i = 0; i < 20000; i++) {
        x = rnd();
        n = (size_t) (x % 700);
        p = malloc(n ? n : 1);

        if (i % 2 == 0) {
            for (j = 0; j < n; j++) {
                p[j] = (uint8_t) rnd();
            }

            if (n > 0 && (x & 0x100)) {
                p[0] = APISEC_RECORD_VERSION;
            }

        } else {
            /* plausible fields: known tags, small lengths */
            j = 0;

            if (n > 0) {
                p[j++] = APISEC_RECORD_VERSION;
            }

            for (f = 0; j + 3 <= n; f++) {
                x = rnd();
                p[j++] = (uint8_t) (x % 17);

                flen = (x >> 8) % 4 == 0 ? 8 : (x >> 16) % 80;

                if (flen > n - j - 2) {
                    flen = n - j - 2;
                }

                p[j++] = (uint8_t) (flen >> 8);
                p[j++] = (uint8_t) flen;

                while (flen-- > 0 && j < n) {
                    x = rnd();
                    p[j++] = (x & 1) ? (uint8_t) ('a' + (x >> 8) % 26)
                                     : (uint8_t) ((x >> 8) % 5);
                }
            }

            n = j;
        }

        if (apisec_key_decode(p, n, &got) == APISEC_OK) {
            decoded++;

            if (apisec_key_encode(&got, buf2, sizeof(buf2), &len2)
                != APISEC_OK)
            {
                bad++;
            }
        }

        free(p);
    }

    CHECK_INT(bad, 0);
    CHECK(decoded >= 0);
}


/* drop a named database (raw LMDB); no apisec handle may be open */

static int
raw_drop(const char *dir, const char *db)
{
    int       rc;
    MDB_dbi   dbi;
    MDB_env  *env;
    MDB_txn  *txn;

    if (mdb_env_create(&env) != 0) {
        return -1;
    }

    mdb_env_set_maxdbs(env, 8);

    rc = mdb_env_open(env, dir, 0, 0600);

    if (rc == 0) {
        rc = mdb_txn_begin(env, NULL, 0, &txn);
    }

    if (rc == 0) {
        rc = mdb_dbi_open(txn, db, 0, &dbi);

        if (rc == 0) {
            rc = mdb_drop(txn, dbi, 1);
        }

        if (rc == 0) {
            rc = mdb_txn_commit(txn);

        } else {
            mdb_txn_abort(txn);
        }
    }

    mdb_env_close(env);

    return rc == 0 ? 0 : -1;
}


/* 1 when the named database exists; no apisec handle may be open */

static int
raw_has_db(const char *dir, const char *db)
{
    int       rc;
    MDB_dbi   dbi;
    MDB_env  *env;
    MDB_txn  *txn;

    if (mdb_env_create(&env) != 0) {
        return -1;
    }

    mdb_env_set_maxdbs(env, 8);

    rc = mdb_env_open(env, dir, MDB_RDONLY, 0600);

    if (rc == 0) {
        rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);

        if (rc == 0) {
            rc = mdb_dbi_open(txn, db, 0, &dbi);
            mdb_txn_abort(txn);
        }
    }

    mdb_env_close(env);

    return rc == 0;
}


static int
event_cb(uint64_t seq, const char *json, size_t len, void *arg)
{
    events_t  *ev;

    ev = arg;

    if (ev->n < 16) {
        ev->seq[ev->n] = seq;
        snprintf(ev->json[ev->n], sizeof(ev->json[0]), "%.*s", (int) len,
                 json);
    }

    ev->n++;

    if (ev->stop_at && ev->n == ev->stop_at) {
        return 7;
    }

    return 0;
}


static void
test_idle(void)
{
    int64_t       now, day;
    apisec_key_t  k;

    now = 1800000000;
    day = 86400;

    fill_key(&k, "AKidle", "acct");

    /* by the last use: just under, at, and just over the limit */
    k.created_at = now - 1000 * day;
    k.last_used_at = now - 90 * day + 1;
    CHECK_INT(apisec_key_idle(&k, now, 90 * day, 0), 0);
    k.last_used_at = now - 90 * day;
    CHECK_INT(apisec_key_idle(&k, now, 90 * day, 0), 0);
    k.last_used_at = now - 90 * day - 1;
    CHECK_INT(apisec_key_idle(&k, now, 90 * day, 0), 1);
    k.last_used_at = now - 89 * day - 23 * 3600;
    CHECK_INT(apisec_key_idle(&k, now, 90 * day, 0), 0);
    k.last_used_at = now - 90 * day - 60;
    CHECK_INT(apisec_key_idle(&k, now, 90 * day, 0), 1);

    /* a recent use counts, however old the key */
    k.last_used_at = now - 10;
    CHECK_INT(apisec_key_idle(&k, now, 90 * day, 0), 0);

    /* a use in the future (clock skew) is not idle */
    k.last_used_at = now + 3600;
    CHECK_INT(apisec_key_idle(&k, now, 90 * day, 0), 0);

    /* never used: by its creation */
    k.last_used_at = 0;
    k.created_at = now - 90 * day;
    CHECK_INT(apisec_key_idle(&k, now, 90 * day, 0), 0);
    k.created_at = now - 90 * day - 1;
    CHECK_INT(apisec_key_idle(&k, now, 90 * day, 0), 1);
    k.created_at = now - 5 * day;
    CHECK_INT(apisec_key_idle(&k, now, 90 * day, 0), 0);
    CHECK_INT(apisec_key_idle(&k, now, 4 * day, 0), 1);

    /* the other idle times of exchanges */
    k.created_at = now - 1000 * day;
    k.last_used_at = now - 20 * day;
    CHECK_INT(apisec_key_idle(&k, now, 14 * day, 0), 1);
    CHECK_INT(apisec_key_idle(&k, now, 30 * day, 0), 0);

    /* unbound_only: a key with an allow-list is never idle */
    k.last_used_at = now - 200 * day;
    k.n_ips = 0;
    CHECK_INT(apisec_key_idle(&k, now, 90 * day, 1), 1);
    k.n_ips = 1;
    k.ips[0].family = 4;
    k.ips[0].prefix = 8;
    k.ips[0].addr[0] = 10;
    CHECK_INT(apisec_key_idle(&k, now, 90 * day, 1), 0);
    CHECK_INT(apisec_key_idle(&k, now, 90 * day, 0), 1);

    /* idle 0 (or less): never */
    k.n_ips = 0;
    CHECK_INT(apisec_key_idle(&k, now, 0, 0), 0);
    CHECK_INT(apisec_key_idle(&k, now, 0, 1), 0);
    CHECK_INT(apisec_key_idle(&k, now, -1, 0), 0);
    k.last_used_at = 0;
    k.created_at = 1;
    CHECK_INT(apisec_key_idle(&k, now, 0, 0), 0);

    /* idle is not about the status: the caller decides */
    k.status = APISEC_STATUS_DISABLED;
    CHECK_INT(apisec_key_idle(&k, now, 90 * day, 0), 1);
}


static void
test_touch(void)
{
    char             err[APISEC_ERR_LEN];
    const char      *dir;
    apisec_key_t     k, got;
    apisec_wtxn_t   *w;
    apisec_store_t  *st;

    dir = new_dir("touch");
    CHECK_INT(apisec_store_init(dir, mk, 0, err, sizeof(err)), APISEC_OK);
    CHECK_INT(apisec_store_open(&st, dir, mk, 0, 0, err, sizeof(err)),
              APISEC_OK);

    if (st == NULL) {
        return;
    }

    fill_key(&k, "AKtouch", "acct");
    k.last_used_at = 0;

    CHECK_INT(apisec_store_begin(st, &w), APISEC_OK);
    CHECK_INT(apisec_key_put(w, &k, 0), APISEC_OK);
    CHECK_INT(apisec_store_commit(w), APISEC_OK);

    /* never used: the first stamp is taken */
    CHECK_INT(apisec_store_begin(st, &w), APISEC_OK);
    CHECK_INT(apisec_key_touch(w, "AKtouch", 7, 1700000100), APISEC_OK);
    CHECK_INT(apisec_store_commit(w), APISEC_OK);
    CHECK_INT(apisec_key_get(st, "AKtouch", 7, &got), APISEC_OK);
    CHECK_INT(got.last_used_at, 1700000100);

    /* forward */
    CHECK_INT(apisec_store_begin(st, &w), APISEC_OK);
    CHECK_INT(apisec_key_touch(w, "AKtouch", 7, 1700000200), APISEC_OK);
    CHECK_INT(apisec_store_commit(w), APISEC_OK);
    CHECK_INT(apisec_key_get(st, "AKtouch", 7, &got), APISEC_OK);
    CHECK_INT(got.last_used_at, 1700000200);

    /* backward (a late flush of an older stamp) and equal: no change */
    CHECK_INT(apisec_store_begin(st, &w), APISEC_OK);
    CHECK_INT(apisec_key_touch(w, "AKtouch", 7, 1700000150), APISEC_OK);
    CHECK_INT(apisec_key_touch(w, "AKtouch", 7, 1700000200), APISEC_OK);
    CHECK_INT(apisec_store_commit(w), APISEC_OK);
    CHECK_INT(apisec_key_get(st, "AKtouch", 7, &got), APISEC_OK);
    CHECK_INT(got.last_used_at, 1700000200);

    /* nothing else of the record changes */
    k.last_used_at = 1700000200;
    CHECK(keys_equal(&k, &got));

    /* several stamps in one transaction: the latest wins */
    CHECK_INT(apisec_store_begin(st, &w), APISEC_OK);
    CHECK_INT(apisec_key_touch(w, "AKtouch", 7, 1700000400), APISEC_OK);
    CHECK_INT(apisec_key_touch(w, "AKtouch", 7, 1700000300), APISEC_OK);
    CHECK_INT(apisec_key_get_w(w, "AKtouch", 7, &got), APISEC_OK);
    CHECK_INT(got.last_used_at, 1700000400);
    CHECK_INT(apisec_store_commit(w), APISEC_OK);

    /* a key revoked meanwhile */
    CHECK_INT(apisec_store_begin(st, &w), APISEC_OK);
    CHECK_INT(apisec_key_touch(w, "AKgone", 6, 1700000500),
              APISEC_ERR_NOTFOUND);
    apisec_store_abort(w);

    CHECK_INT(apisec_key_get(st, "AKtouch", 7, &got), APISEC_OK);
    CHECK_INT(got.last_used_at, 1700000400);

    apisec_store_close(st);
}


static void
test_expire_idle(void)
{
    int                   i;
    char                  err[APISEC_ERR_LEN], want[512];
    char                  t1[APISEC_TIME_LEN + 1], t2[APISEC_TIME_LEN + 1];
    int64_t               now, idle;
    events_t              ev;
    const char           *dir;
    apisec_key_t          k, got;
    apisec_wtxn_t        *w;
    apisec_store_t       *st;

    dir = new_dir("expire");
    CHECK_INT(apisec_store_init(dir, mk, 0, err, sizeof(err)), APISEC_OK);
    CHECK_INT(apisec_store_open(&st, dir, mk, 0, 0, err, sizeof(err)),
              APISEC_OK);

    if (st == NULL) {
        return;
    }

    now = 1800000000;
    idle = 90 * 86400;

    fill_key(&k, "AKused", "acct:1");
    k.last_used_at = now - idle - 60;

    CHECK_INT(apisec_store_begin(st, &w), APISEC_OK);
    CHECK_INT(apisec_key_put(w, &k, 0), APISEC_OK);
    fill_key(&k, "AKnever", "acct:2");
    CHECK_INT(apisec_key_put(w, &k, 0), APISEC_OK);
    CHECK_INT(apisec_store_commit(w), APISEC_OK);

    /* expire one: status expired, one event with its fields */
    CHECK_INT(apisec_store_begin(st, &w), APISEC_OK);
    CHECK_INT(apisec_key_get_w(w, "AKused", 6, &k), APISEC_OK);
    CHECK_INT(apisec_key_idle(&k, now, idle, 0), 1);
    CHECK_INT(apisec_key_expire_idle(w, &k, now, idle, "apisecctl"),
              APISEC_OK);
    CHECK_INT(k.status, APISEC_STATUS_EXPIRED);
    CHECK_INT(apisec_store_commit(w), APISEC_OK);

    CHECK_INT(apisec_key_get(st, "AKused", 6, &got), APISEC_OK);
    CHECK_INT(got.status, APISEC_STATUS_EXPIRED);
    CHECK_INT(got.last_used_at, now - idle - 60);
    CHECK(keys_equal(&k, &got));

    memset(&ev, 0, sizeof(events_t));
    CHECK_INT(apisec_event_foreach(st, 0, event_cb, &ev), APISEC_OK);
    CHECK_INT(ev.n, 1);
    CHECK_INT(ev.seq[0], 1);

    apisec_format_time(now, t1);
    apisec_format_time(now - idle - 60, t2);
    snprintf(want, sizeof(want), "{\"seq\":1,\"type\":\"key.expired\","
             "\"time\":\"%s\",\"access_key\":\"AKused\","
             "\"account\":\"acct:1\",\"reason\":\"idle\","
             "\"idle_seconds\":%lld,\"last_used_at\":\"%s\","
             "\"by\":\"apisecctl\"}", t1, (long long) idle, t2);
    CHECK_STR(ev.json[0], want);

    /* never used: last_used_at null; by nginx */
    CHECK_INT(apisec_store_begin(st, &w), APISEC_OK);
    CHECK_INT(apisec_key_get_w(w, "AKnever", 7, &k), APISEC_OK);
    CHECK_INT(apisec_key_expire_idle(w, &k, now + 5, idle, "nginx"),
              APISEC_OK);
    CHECK_INT(apisec_store_commit(w), APISEC_OK);

    memset(&ev, 0, sizeof(events_t));
    CHECK_INT(apisec_event_foreach(st, 0, event_cb, &ev), APISEC_OK);
    CHECK_INT(ev.n, 2);
    CHECK_INT(ev.seq[1], 2);

    apisec_format_time(now + 5, t1);
    snprintf(want, sizeof(want), "{\"seq\":2,\"type\":\"key.expired\","
             "\"time\":\"%s\",\"access_key\":\"AKnever\","
             "\"account\":\"acct:2\",\"reason\":\"idle\","
             "\"idle_seconds\":%lld,\"last_used_at\":null,"
             "\"by\":\"nginx\"}", t1, (long long) idle);
    CHECK_STR(ev.json[1], want);

    /* an aborted transaction leaves neither the status nor an event */
    fill_key(&k, "AKabort", "acct");
    CHECK_INT(apisec_store_begin(st, &w), APISEC_OK);
    CHECK_INT(apisec_key_put(w, &k, 0), APISEC_OK);
    CHECK_INT(apisec_store_commit(w), APISEC_OK);

    CHECK_INT(apisec_store_begin(st, &w), APISEC_OK);
    CHECK_INT(apisec_key_get_w(w, "AKabort", 7, &k), APISEC_OK);
    CHECK_INT(apisec_key_expire_idle(w, &k, now, idle, "apisecctl"),
              APISEC_OK);
    apisec_store_abort(w);

    CHECK_INT(apisec_key_get(st, "AKabort", 7, &got), APISEC_OK);
    CHECK_INT(got.status, APISEC_STATUS_ACTIVE);
    memset(&ev, 0, sizeof(events_t));
    CHECK_INT(apisec_event_foreach(st, 0, event_cb, &ev), APISEC_OK);
    CHECK_INT(ev.n, 2);

    /* several in one transaction: sequence numbers go on 3, 4, 5 */
    CHECK_INT(put_many(st, "AKmany", 0, 3, "m"), APISEC_OK);
    CHECK_INT(apisec_store_begin(st, &w), APISEC_OK);

    for (i = 0; i < 3; i++) {
        snprintf(want, sizeof(want), "AKmany%05d", i);
        CHECK_INT(apisec_key_get_w(w, want, strlen(want), &k), APISEC_OK);
        CHECK_INT(apisec_key_expire_idle(w, &k, now, idle, "apisecctl"),
                  APISEC_OK);
    }

    CHECK_INT(apisec_store_commit(w), APISEC_OK);

    memset(&ev, 0, sizeof(events_t));
    CHECK_INT(apisec_event_foreach(st, 0, event_cb, &ev), APISEC_OK);
    CHECK_INT(ev.n, 5);

    for (i = 0; i < 5; i++) {
        CHECK_INT(ev.seq[i], i + 1);
    }

    CHECK(strstr(ev.json[4], "\"access_key\":\"AKmany00002\"") != NULL);

    /* arguments */
    CHECK_INT(apisec_store_begin(st, &w), APISEC_OK);
    CHECK_INT(apisec_key_expire_idle(w, &k, now, idle, NULL),
              APISEC_ERR_INVALID);
    CHECK_INT(apisec_key_expire_idle(w, NULL, now, idle, "x"),
              APISEC_ERR_INVALID);
    CHECK_INT(apisec_key_expire_idle(NULL, &k, now, idle, "x"),
              APISEC_ERR_INVALID);
    apisec_store_abort(w);

    apisec_store_close(st);
}


static void
test_events(void)
{
    int                   i;
    char                  err[APISEC_ERR_LEN], extra[APISEC_EVENT_MAX + 64];
    char                  want[256], t[APISEC_TIME_LEN + 1];
    uint64_t              seq;
    events_t              ev;
    const char           *dir;
    apisec_key_t          got;
    apisec_wtxn_t        *w;
    apisec_store_t       *st, *ro;

    dir = new_dir("events");
    CHECK_INT(apisec_store_init(dir, mk, 0, err, sizeof(err)), APISEC_OK);
    CHECK(raw_has_db(dir, "events"));
    CHECK_INT(apisec_store_open(&st, dir, mk, 0, 0, err, sizeof(err)),
              APISEC_OK);

    if (st == NULL) {
        return;
    }

    /* none yet */
    memset(&ev, 0, sizeof(events_t));
    CHECK_INT(apisec_event_foreach(st, 0, event_cb, &ev), APISEC_OK);
    CHECK_INT(ev.n, 0);

    /* appended in order, numbered from 1, in one and in several txns */
    CHECK_INT(apisec_store_begin(st, &w), APISEC_OK);
    seq = 0;
    CHECK_INT(apisec_event_append(w, "key.created", 1700000000, "AK1",
                                  "acct", NULL, &seq),
              APISEC_OK);
    CHECK_INT(seq, 1);
    CHECK_INT(apisec_event_append(w, "auth.failed", 1700000001, "AK1",
                                  NULL, "\"code\":\"signature-invalid\"",
                                  &seq),
              APISEC_OK);
    CHECK_INT(seq, 2);
    CHECK_INT(apisec_store_commit(w), APISEC_OK);

    for (i = 0; i < 8; i++) {
        CHECK_INT(apisec_store_begin(st, &w), APISEC_OK);
        CHECK_INT(apisec_event_append(w, "rule.monitor", 1700000010 + i,
                                      NULL, NULL, "\"n\":1", &seq),
                  APISEC_OK);
        CHECK_INT(apisec_store_commit(w), APISEC_OK);
        CHECK_INT(seq, 3 + i);
    }

    /* an aborted append takes no number */
    CHECK_INT(apisec_store_begin(st, &w), APISEC_OK);
    CHECK_INT(apisec_event_append(w, "lost", 1700000100, NULL, NULL, NULL,
                                  &seq),
              APISEC_OK);
    CHECK_INT(seq, 11);
    apisec_store_abort(w);

    CHECK_INT(apisec_store_begin(st, &w), APISEC_OK);
    CHECK_INT(apisec_event_append(w, "key.revoked", 1700000200, "AK1",
                                  "acct", "", NULL),
              APISEC_OK);
    CHECK_INT(apisec_store_commit(w), APISEC_OK);

    memset(&ev, 0, sizeof(events_t));
    CHECK_INT(apisec_event_foreach(st, 0, event_cb, &ev), APISEC_OK);
    CHECK_INT(ev.n, 11);

    for (i = 0; i < 11; i++) {
        CHECK_INT(ev.seq[i], i + 1);
    }

    apisec_format_time(1700000000, t);
    snprintf(want, sizeof(want), "{\"seq\":1,\"type\":\"key.created\","
             "\"time\":\"%s\",\"access_key\":\"AK1\",\"account\":\"acct\"}",
             t);
    CHECK_STR(ev.json[0], want);

    apisec_format_time(1700000001, t);
    snprintf(want, sizeof(want), "{\"seq\":2,\"type\":\"auth.failed\","
             "\"time\":\"%s\",\"access_key\":\"AK1\","
             "\"code\":\"signature-invalid\"}", t);
    CHECK_STR(ev.json[1], want);

    apisec_format_time(1700000010, t);
    snprintf(want, sizeof(want), "{\"seq\":3,\"type\":\"rule.monitor\","
             "\"time\":\"%s\",\"n\":1}", t);
    CHECK_STR(ev.json[2], want);

    apisec_format_time(1700000200, t);
    snprintf(want, sizeof(want), "{\"seq\":11,\"type\":\"key.revoked\","
             "\"time\":\"%s\",\"access_key\":\"AK1\",\"account\":\"acct\"}",
             t);
    CHECK_STR(ev.json[10], want);

    /* since: only the later ones */
    memset(&ev, 0, sizeof(events_t));
    CHECK_INT(apisec_event_foreach(st, 9, event_cb, &ev), APISEC_OK);
    CHECK_INT(ev.n, 2);
    CHECK_INT(ev.seq[0], 10);
    CHECK_INT(ev.seq[1], 11);

    memset(&ev, 0, sizeof(events_t));
    CHECK_INT(apisec_event_foreach(st, 11, event_cb, &ev), APISEC_OK);
    CHECK_INT(ev.n, 0);

    memset(&ev, 0, sizeof(events_t));
    CHECK_INT(apisec_event_foreach(st, 1000000, event_cb, &ev), APISEC_OK);
    CHECK_INT(ev.n, 0);

    /* a callback stops the walk with its own value */
    memset(&ev, 0, sizeof(events_t));
    ev.stop_at = 3;
    CHECK_INT(apisec_event_foreach(st, 0, event_cb, &ev), 7);
    CHECK_INT(ev.n, 3);

    /* too long: refused, the transaction goes on */
    memset(extra, 'x', sizeof(extra));
    memcpy(extra, "\"pad\":\"", 7);
    extra[sizeof(extra) - 2] = '"';
    extra[sizeof(extra) - 1] = '\0';

    CHECK_INT(apisec_store_begin(st, &w), APISEC_OK);
    CHECK_INT(apisec_event_append(w, "big", 1700000300, NULL, NULL, extra,
                                  NULL),
              APISEC_ERR_INVALID);
    CHECK_INT(apisec_event_append(w, "small", 1700000300, NULL, NULL, NULL,
                                  &seq),
              APISEC_OK);
    CHECK_INT(seq, 12);
    CHECK_INT(apisec_store_commit(w), APISEC_OK);

    /* arguments */
    CHECK_INT(apisec_event_append(NULL, "x", 0, NULL, NULL, NULL, NULL),
              APISEC_ERR_INVALID);
    CHECK_INT(apisec_store_begin(st, &w), APISEC_OK);
    CHECK_INT(apisec_event_append(w, NULL, 0, NULL, NULL, NULL, NULL),
              APISEC_ERR_INVALID);
    apisec_store_abort(w);
    CHECK_INT(apisec_event_foreach(st, 0, NULL, NULL), APISEC_ERR_INVALID);
    CHECK_INT(apisec_event_foreach(NULL, 0, event_cb, &ev),
              APISEC_ERR_INVALID);

    CHECK_INT(put_key(st, "AKold", "kept", 0), APISEC_OK);
    apisec_store_close(st);

    /* a read-only handle reads them */
    CHECK_INT(apisec_store_open(&ro, dir, mk, APISEC_OPEN_RDONLY, 0, err,
                                sizeof(err)),
              APISEC_OK);

    if (ro != NULL) {
        memset(&ev, 0, sizeof(events_t));
        CHECK_INT(apisec_event_foreach(ro, 10, event_cb, &ev), APISEC_OK);
        CHECK_INT(ev.n, 2);
        CHECK_INT(ev.seq[1], 12);
        apisec_store_close(ro);
    }

    /*
     * A store made before the event log: read-only, it has no events
     * and nothing is added; read-write, the open adds the database.
     */

    CHECK_INT(raw_drop(dir, "events"), 0);
    CHECK(!raw_has_db(dir, "events"));

    CHECK_INT(apisec_store_open(&ro, dir, mk, APISEC_OPEN_RDONLY, 0, err,
                                sizeof(err)),
              APISEC_OK);

    if (ro != NULL) {
        memset(&ev, 0, sizeof(events_t));
        CHECK_INT(apisec_event_foreach(ro, 0, event_cb, &ev), APISEC_OK);
        CHECK_INT(ev.n, 0);
        CHECK_INT(apisec_key_get(ro, "AKold", 5, &got), APISEC_OK);
        apisec_store_close(ro);
    }

    CHECK(!raw_has_db(dir, "events"));

    CHECK_INT(apisec_store_open(&st, dir, mk, 0, 0, err, sizeof(err)),
              APISEC_OK);

    if (st == NULL) {
        return;
    }

    CHECK_INT(apisec_key_get(st, "AKold", 5, &got), APISEC_OK);
    CHECK_STR(got.label, "kept");

    memset(&ev, 0, sizeof(events_t));
    CHECK_INT(apisec_event_foreach(st, 0, event_cb, &ev), APISEC_OK);
    CHECK_INT(ev.n, 0);

    CHECK_INT(apisec_store_begin(st, &w), APISEC_OK);
    CHECK_INT(apisec_event_append(w, "key.created", 1700000400, "AKold",
                                  "acct", NULL, &seq),
              APISEC_OK);
    CHECK_INT(seq, 1);
    CHECK_INT(apisec_store_commit(w), APISEC_OK);
    apisec_store_close(st);

    /* raw LMDB only once no handle is open (a close clears the slots) */
    CHECK(raw_has_db(dir, "events"));

    CHECK_INT(apisec_store_open(&ro, dir, mk, APISEC_OPEN_RDONLY, 0, err,
                                sizeof(err)),
              APISEC_OK);

    if (ro != NULL) {
        memset(&ev, 0, sizeof(events_t));
        CHECK_INT(apisec_event_foreach(ro, 0, event_cb, &ev), APISEC_OK);
        CHECK_INT(ev.n, 1);
        CHECK(strstr(ev.json[0], "\"access_key\":\"AKold\"") != NULL);
        apisec_store_close(ro);
    }
}


static void
test_write_txns(void)
{
    char                  err[APISEC_ERR_LEN];
    walk_t                walk;
    const char           *dir;
    apisec_key_t          got;
    apisec_wtxn_t        *w, *w2;
    apisec_store_t       *st, *ro;
    apisec_store_stat_t   s;

    dir = new_dir("wtxns");
    CHECK_INT(apisec_store_init(dir, mk, 0, err, sizeof(err)), APISEC_OK);
    CHECK_INT(apisec_store_open(&st, dir, mk, 0, 0, err, sizeof(err)),
              APISEC_OK);

    if (st == NULL) {
        return;
    }

    CHECK_INT(apisec_store_stat(st, &s), APISEC_OK);
    CHECK_INT(s.write_txns, 0);

    /* reads are not counted */
    CHECK_INT(apisec_key_get(st, "AKnone", 6, &got), APISEC_ERR_NOTFOUND);
    memset(&walk, 0, sizeof(walk));
    CHECK_INT(apisec_key_foreach(st, walk_cb, &walk), APISEC_OK);
    CHECK_INT(apisec_store_stat(st, &s), APISEC_OK);
    CHECK_INT(s.write_txns, 0);

    /* committed, aborted: each begun one counts */
    CHECK_INT(put_key(st, "AK1", "one", 0), APISEC_OK);
    CHECK_INT(apisec_store_stat(st, &s), APISEC_OK);
    CHECK_INT(s.write_txns, 1);

    CHECK_INT(apisec_store_begin(st, &w), APISEC_OK);
    apisec_store_abort(w);
    CHECK_INT(apisec_store_stat(st, &s), APISEC_OK);
    CHECK_INT(s.write_txns, 2);

    /* two touches in one transaction, then 250 keys in three: 4 more */
    CHECK_INT(apisec_store_begin(st, &w), APISEC_OK);
    CHECK_INT(apisec_key_touch(w, "AK1", 3, 1700000001), APISEC_OK);
    CHECK_INT(apisec_key_touch(w, "AK1", 3, 1700000002), APISEC_OK);
    CHECK_INT(apisec_store_commit(w), APISEC_OK);
    CHECK_INT(put_many(st, "AKm", 0, 250, "m"), APISEC_OK);
    CHECK_INT(apisec_store_stat(st, &s), APISEC_OK);
    CHECK_INT(s.write_txns, 6);

    /* a refused begin (one in progress) is not counted */
    CHECK_INT(apisec_store_begin(st, &w), APISEC_OK);
    CHECK_INT(apisec_store_begin(st, &w2), APISEC_ERR_INVALID);
    apisec_store_abort(w);
    CHECK_INT(apisec_store_stat(st, &s), APISEC_OK);
    CHECK_INT(s.write_txns, 7);

    apisec_store_close(st);

    /* per handle, from 0; a read-only one never begins one */
    CHECK_INT(apisec_store_open(&ro, dir, mk, APISEC_OPEN_RDONLY, 0, err,
                                sizeof(err)),
              APISEC_OK);

    if (ro != NULL) {
        CHECK_INT(apisec_store_begin(ro, &w), APISEC_ERR_INVALID);
        CHECK_INT(apisec_store_stat(ro, &s), APISEC_OK);
        CHECK_INT(s.write_txns, 0);
        apisec_store_close(ro);
    }
}


/* 1 when the file dir/name holds the bytes, 0 when not, -1 on error */

static int
file_has(const char *dir, const char *name, const void *bytes, size_t n)
{
    int           fd, found;
    char          path[1024];
    char         *data;
    ssize_t       r;
    struct stat   sb;

    snprintf(path, sizeof(path), "%s/%s", dir, name);

    fd = open(path, O_RDONLY);
    if (fd == -1) {
        return -1;
    }

    if (fstat(fd, &sb) == -1 || sb.st_size <= 0) {
        close(fd);
        return -1;
    }

    data = malloc((size_t) sb.st_size);
    if (data == NULL) {
        close(fd);
        return -1;
    }

    r = read(fd, data, (size_t) sb.st_size);
    close(fd);

    if (r != sb.st_size) {
        free(data);
        return -1;
    }

    found = (memmem(data, (size_t) r, bytes, n) != NULL);
    free(data);

    return found;
}


/* TOTP enrolment: sealed with aad "totp:" + access key; the last step */

static void
test_totp(void)
{
    char             err[APISEC_ERR_LEN], dir1[sizeof(dirbuf)];
    char             sec[APISEC_SECRET_MAX + 1];
    size_t           len, len2, i;
    uint8_t          secret[APISEC_TOTP_SECRET_LEN], secret2[64 + 1];
    uint8_t          out[APISEC_TOTP_SEALED_MAX];
    uint8_t          sealed[APISEC_TOTP_SEALED_MAX];
    uint8_t          buf[APISEC_RECORD_MAX], buf2[APISEC_RECORD_MAX];
    const char      *dir;
    apisec_key_t     k, k2, got, other;
    apisec_wtxn_t   *w;
    apisec_store_t  *st, *st2;

    dir = new_dir("totp");
    memcpy(dir1, dirbuf, sizeof(dir1));
    CHECK_INT(apisec_store_init(dir, mk, 0, err, sizeof(err)), APISEC_OK);
    CHECK_INT(apisec_store_open(&st, dir, mk, 0, 0, err, sizeof(err)),
              APISEC_OK);

    if (st == NULL) {
        return;
    }

    for (i = 0; i < sizeof(secret); i++) {
        secret[i] = (uint8_t) (0xa0 + i);
    }

    /* not enrolled: nothing to unseal */
    fill_key(&k, "AKtotp", "acct");
    CHECK_INT(apisec_key_set_secret(st, &k, "api-secret-0123456789", 21),
              APISEC_OK);
    CHECK_INT(apisec_key_get_totp(st, &k, out, sizeof(out), &len),
              APISEC_ERR_INVALID);

    /* set: sealed (never in clear), the last step forgotten */
    k.totp_last_step = 1234;
    CHECK_INT(apisec_key_set_totp(st, &k, secret, sizeof(secret)),
              APISEC_OK);
    CHECK_INT(k.totp_len, APISEC_TOTP_SECRET_LEN + APISEC_SEAL_OVERHEAD);
    CHECK_INT(k.totp_last_step, 0);
    CHECK(memmem(k.totp, k.totp_len, secret, 8) == NULL);
    CHECK(memmem(k.totp, k.totp_len, secret + 12, 8) == NULL);

    len = 0;
    memset(out, 0, sizeof(out));
    CHECK_INT(apisec_key_get_totp(st, &k, out, sizeof(out), &len),
              APISEC_OK);
    CHECK(len == sizeof(secret) && memcmp(out, secret, len) == 0);

    /* the API secret is still the API secret */
    CHECK_INT(apisec_key_get_secret(st, &k, sec, sizeof(sec), &len),
              APISEC_OK);
    CHECK(len == 21 && memcmp(sec, "api-secret-0123456789", 21) == 0);

    /* through the store: a write transaction, then the read path */
    CHECK_INT(apisec_store_begin(st, &w), APISEC_OK);
    CHECK_INT(apisec_key_put(w, &k, 0), APISEC_OK);
    CHECK_INT(apisec_store_commit(w), APISEC_OK);

    CHECK_INT(apisec_key_get(st, "AKtotp", 6, &got), APISEC_OK);
    CHECK(keys_equal(&k, &got));
    len = 0;
    memset(out, 0, sizeof(out));
    CHECK_INT(apisec_key_get_totp(st, &got, out, sizeof(out), &len),
              APISEC_OK);
    CHECK(len == sizeof(secret) && memcmp(out, secret, len) == 0);

    /* an output buffer too small */
    CHECK(apisec_key_get_totp(st, &got, out, sizeof(secret) - 1, &len)
          != APISEC_OK);

    /* sealing again: another nonce, the same secret */
    memcpy(sealed, k.totp, k.totp_len);
    k2 = k;
    CHECK_INT(apisec_key_set_totp(st, &k2, secret, sizeof(secret)),
              APISEC_OK);
    CHECK(k2.totp_len == k.totp_len
          && memcmp(k2.totp, sealed, k.totp_len) != 0);
    CHECK_INT(apisec_key_get_totp(st, &k2, out, sizeof(out), &len),
              APISEC_OK);
    CHECK(len == sizeof(secret) && memcmp(out, secret, len) == 0);

    /* bound to its key: another key's record does not unseal it */
    fill_key(&other, "AKother", "acct");
    memcpy(other.totp, got.totp, got.totp_len);
    other.totp_len = got.totp_len;
    CHECK_INT(apisec_key_get_totp(st, &other, out, sizeof(out), &len),
              APISEC_ERR_CORRUPT);
    CHECK(strstr(apisec_store_error(st), "AKother") != NULL);

    /* ... nor a key whose name only starts the same */
    fill_key(&other, "AKtotp2", "acct");
    memcpy(other.totp, got.totp, got.totp_len);
    other.totp_len = got.totp_len;
    CHECK_INT(apisec_key_get_totp(st, &other, out, sizeof(out), &len),
              APISEC_ERR_CORRUPT);

    /* the API secret cannot stand in for the TOTP secret, nor back */
    other = got;
    memcpy(other.totp, got.secret, got.secret_len);
    other.totp_len = got.secret_len;
    CHECK_INT(apisec_key_get_totp(st, &other, out, sizeof(out), &len),
              APISEC_ERR_CORRUPT);

    other = got;
    memcpy(other.secret, got.totp, got.totp_len);
    other.secret_len = got.totp_len;
    CHECK_INT(apisec_key_get_secret(st, &other, sec, sizeof(sec), &len),
              APISEC_ERR_CORRUPT);

    /* a TOTP secret sealed as an API secret is no TOTP secret either */
    other = got;
    CHECK_INT(apisec_key_set_secret(st, &other, "0123456789abcdefghij", 20),
              APISEC_OK);
    memcpy(other.totp, other.secret, other.secret_len);
    other.totp_len = other.secret_len;
    CHECK_INT(apisec_key_get_totp(st, &other, out, sizeof(out), &len),
              APISEC_ERR_CORRUPT);

    /* tampering with any byte */
    for (i = 0; i < got.totp_len; i++) {
        other = got;
        other.totp[i] ^= 0x01;

        if (apisec_key_get_totp(st, &other, out, sizeof(out), &len)
            != APISEC_ERR_CORRUPT)
        {
            fprintf(stderr, "tampered TOTP byte %zu unsealed\n", i);
            CHECK(0);
        }
    }

    CHECK(1);

    other = got;
    other.totp_len--;
    CHECK_INT(apisec_key_get_totp(st, &other, out, sizeof(out), &len),
              APISEC_ERR_CORRUPT);

    /* arguments: empty, NULL, longer than the field holds */
    other = got;
    CHECK_INT(apisec_key_set_totp(st, &other, secret, 0),
              APISEC_ERR_INVALID);
    CHECK_INT(apisec_key_set_totp(st, &other, NULL, 20), APISEC_ERR_INVALID);
    CHECK_INT(apisec_key_set_totp(NULL, &other, secret, 20),
              APISEC_ERR_INVALID);
    CHECK_INT(apisec_key_set_totp(st, NULL, secret, 20), APISEC_ERR_INVALID);
    memset(secret2, 0x42, sizeof(secret2));
    CHECK_INT(apisec_key_set_totp(st, &other, secret2,
                                  APISEC_TOTP_SEALED_MAX
                                  - APISEC_SEAL_OVERHEAD + 1),
              APISEC_ERR_INVALID);
    CHECK(keys_equal(&other, &got));
    CHECK_INT(apisec_key_set_totp(st, &other, secret2,
                                  APISEC_TOTP_SEALED_MAX
                                  - APISEC_SEAL_OVERHEAD),
              APISEC_OK);
    CHECK_INT(other.totp_len, APISEC_TOTP_SEALED_MAX);
    CHECK_INT(apisec_key_encode(&other, buf, sizeof(buf), &len), APISEC_OK);
    CHECK_INT(apisec_key_get_totp(st, &got, NULL, sizeof(out), &len),
              APISEC_ERR_INVALID);
    CHECK_INT(apisec_key_get_totp(st, &got, out, sizeof(out), NULL),
              APISEC_ERR_INVALID);
    CHECK_INT(apisec_key_get_totp(NULL, &got, out, sizeof(out), &len),
              APISEC_ERR_INVALID);

    /* the record codec: the TOTP fields round-trip */
    k2 = got;
    k2.totp_last_step = 56666667;
    CHECK_INT(apisec_key_encode(&k2, buf, sizeof(buf), &len), APISEC_OK);
    CHECK(memmem(buf, len, secret, 8) == NULL);
    CHECK_INT(apisec_key_decode(buf, len, &other), APISEC_OK);
    CHECK(keys_equal(&k2, &other));
    CHECK_INT(other.totp_last_step, 56666667);
    CHECK_INT(apisec_key_get_totp(st, &other, out, sizeof(out), &len2),
              APISEC_OK);
    CHECK(len2 == sizeof(secret) && memcmp(out, secret, len2) == 0);

    /* without a last step, no field for it; without a secret, neither */
    k2.totp_last_step = 0;
    CHECK_INT(apisec_key_encode(&k2, buf2, sizeof(buf2), &len2), APISEC_OK);
    CHECK_INT(len2, len - (3 + 8));
    CHECK_INT(apisec_key_decode(buf2, len2, &other), APISEC_OK);
    CHECK(keys_equal(&k2, &other));

    apisec_key_clear_totp(&k2);
    CHECK_INT(apisec_key_encode(&k2, buf2, sizeof(buf2), &len2), APISEC_OK);
    CHECK_INT(len2, len - (3 + 8) - (3 + got.totp_len));
    CHECK_INT(apisec_key_decode(buf2, len2, &other), APISEC_OK);
    CHECK(keys_equal(&k2, &other));
    CHECK_INT(other.totp_len, 0);

    /* clear: no secret, no last step, the sealed bytes wiped */
    k2 = got;
    k2.totp_last_step = 99;
    apisec_key_clear_totp(&k2);
    CHECK_INT(k2.totp_len, 0);
    CHECK_INT(k2.totp_last_step, 0);

    for (i = 0; i < sizeof(k2.totp) && k2.totp[i] == 0; i++) {
        /* void */
    }

    CHECK_INT(i, sizeof(k2.totp));
    CHECK_INT(apisec_key_get_totp(st, &k2, out, sizeof(out), &len),
              APISEC_ERR_INVALID);

    /* the rest of the key stays */
    other = got;
    apisec_key_clear_totp(&other);
    other.totp_len = got.totp_len;
    memcpy(other.totp, got.totp, got.totp_len);
    CHECK(keys_equal(&other, &got));

    /* totp_used: the last step moves forward only */
    CHECK_INT(apisec_store_begin(st, &w), APISEC_OK);
    CHECK_INT(apisec_key_totp_used(w, "AKtotp", 6, 56666666), APISEC_OK);
    CHECK_INT(apisec_store_commit(w), APISEC_OK);
    CHECK_INT(apisec_key_get(st, "AKtotp", 6, &got), APISEC_OK);
    CHECK_INT(got.totp_last_step, 56666666);

    CHECK_INT(apisec_store_begin(st, &w), APISEC_OK);
    CHECK_INT(apisec_key_totp_used(w, "AKtotp", 6, 56666665), APISEC_OK);
    CHECK_INT(apisec_key_totp_used(w, "AKtotp", 6, 56666666), APISEC_OK);
    CHECK_INT(apisec_key_totp_used(w, "AKtotp", 6, 0), APISEC_OK);
    CHECK_INT(apisec_store_commit(w), APISEC_OK);
    CHECK_INT(apisec_key_get(st, "AKtotp", 6, &got), APISEC_OK);
    CHECK_INT(got.totp_last_step, 56666666);

    CHECK_INT(apisec_store_begin(st, &w), APISEC_OK);
    CHECK_INT(apisec_key_totp_used(w, "AKtotp", 6, 56666668), APISEC_OK);
    CHECK_INT(apisec_key_totp_used(w, "AKtotp", 6, 56666667), APISEC_OK);
    CHECK_INT(apisec_key_get_w(w, "AKtotp", 6, &other), APISEC_OK);
    CHECK_INT(other.totp_last_step, 56666668);
    CHECK_INT(apisec_store_commit(w), APISEC_OK);
    CHECK_INT(apisec_key_get(st, "AKtotp", 6, &got), APISEC_OK);
    CHECK_INT(got.totp_last_step, 56666668);

    /* nothing else of the record changes, the secret still unseals */
    k.totp_last_step = 56666668;
    CHECK(keys_equal(&k, &got));
    CHECK_INT(apisec_key_get_totp(st, &got, out, sizeof(out), &len),
              APISEC_OK);
    CHECK(len == sizeof(secret) && memcmp(out, secret, len) == 0);

    /* an aborted transaction leaves the step where it was */
    CHECK_INT(apisec_store_begin(st, &w), APISEC_OK);
    CHECK_INT(apisec_key_totp_used(w, "AKtotp", 6, 56666700), APISEC_OK);
    apisec_store_abort(w);
    CHECK_INT(apisec_key_get(st, "AKtotp", 6, &got), APISEC_OK);
    CHECK_INT(got.totp_last_step, 56666668);

    /* enrolling again forgets the step; so does clearing */
    k2 = got;
    CHECK_INT(apisec_key_set_totp(st, &k2, secret, sizeof(secret)),
              APISEC_OK);
    CHECK_INT(k2.totp_last_step, 0);

    /* a key without enrolment keeps no step; an unknown key is an error */
    fill_key(&k2, "AKnototp", "acct");
    CHECK_INT(apisec_store_begin(st, &w), APISEC_OK);
    CHECK_INT(apisec_key_put(w, &k2, 0), APISEC_OK);
    CHECK_INT(apisec_key_totp_used(w, "AKnototp", 8, 56666666), APISEC_OK);
    CHECK_INT(apisec_key_totp_used(w, "AKgone", 6, 56666666),
              APISEC_ERR_NOTFOUND);
    CHECK_INT(apisec_store_commit(w), APISEC_OK);
    CHECK_INT(apisec_key_get(st, "AKnototp", 8, &got), APISEC_OK);
    CHECK_INT(got.totp_last_step, 0);
    CHECK(keys_equal(&k2, &got));

    /* clear through the store: the record has no enrolment any more */
    CHECK_INT(apisec_store_begin(st, &w), APISEC_OK);
    CHECK_INT(apisec_key_get_w(w, "AKtotp", 6, &got), APISEC_OK);
    apisec_key_clear_totp(&got);
    CHECK_INT(apisec_key_put(w, &got, 1), APISEC_OK);
    CHECK_INT(apisec_store_commit(w), APISEC_OK);
    CHECK_INT(apisec_key_get(st, "AKtotp", 6, &got), APISEC_OK);
    CHECK_INT(got.totp_len, 0);
    CHECK_INT(got.totp_last_step, 0);
    CHECK_INT(apisec_key_get_totp(st, &got, out, sizeof(out), &len),
              APISEC_ERR_INVALID);

    /* a cleared key keeps no step */
    CHECK_INT(apisec_store_begin(st, &w), APISEC_OK);
    CHECK_INT(apisec_key_totp_used(w, "AKtotp", 6, 56666670), APISEC_OK);
    CHECK_INT(apisec_store_commit(w), APISEC_OK);
    CHECK_INT(apisec_key_get(st, "AKtotp", 6, &got), APISEC_OK);
    CHECK_INT(got.totp_last_step, 0);

    apisec_store_close(st);

    /* another master key does not unseal it */
    dir = new_dir("totp2");
    CHECK_INT(apisec_store_init(dir, mk2, 0, err, sizeof(err)), APISEC_OK);
    CHECK_INT(apisec_store_open(&st2, dir, mk2, 0, 0, err, sizeof(err)),
              APISEC_OK);

    if (st2 != NULL) {
        CHECK_INT(apisec_key_get_totp(st2, &k, out, sizeof(out), &len),
                  APISEC_ERR_CORRUPT);
        apisec_store_close(st2);
    }

    /* the store files hold no plaintext TOTP secret */
    CHECK(file_has(dir1, "data.mdb", secret, 8) == 0);

    apisec_wipe(secret, sizeof(secret));
}


/* the names in dir but . and ..: how many, and whether one has sub */

static int
dir_count(const char *dir, const char *sub, int *with)
{
    int             n;
    DIR            *d;
    struct dirent  *e;

    n = 0;
    *with = 0;

    d = opendir(dir);
    if (d == NULL) {
        return -1;
    }

    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }

        n++;

        if (sub != NULL && strstr(e->d_name, sub) != NULL) {
            (*with)++;
        }
    }

    closedir(d);

    return n;
}


/*
 * Backup and restore: the copy opens under the master key with every key,
 * secret, TOTP seed, passphrase hash, event and usage window; a map grown
 * by another process meanwhile; the refusals and errors leave nothing.
 */

static void
test_backup(void)
{
    int                    i, n, tmps;
    char                   err[APISEC_ERR_LEN], sdir[sizeof(dirbuf)];
    char                   file[sizeof(dirbuf) + 32], rdir[sizeof(dirbuf) + 32];
    char                   path[sizeof(dirbuf) + 64], ak[16];
    char                   sec[APISEC_SECRET_MAX + 1];
    char                   want[APISEC_SECRET_MAX + 1];
    char                   label[APISEC_LABEL_MAX + 1];
    size_t                 len;
    uint8_t                seed[APISEC_TOTP_SECRET_LEN], got_seed[64];
    int64_t                idx;
    uint64_t               seq;
    events_t               ev, rev;
    struct stat            sb;
    apisec_key_t           k, got;
    apisec_hmac_t         *h;
    apisec_wtxn_t         *w;
    apisec_store_t        *st, *rs;
    apisec_window_t        win, wgot;
    apisec_backup_info_t   bi, ri;

    static const char      usage_key[] = "k|AKb0|USDT|daily@/withdraw/";
    static const char      pass[] = "backup passphrase";

    new_dir("backup");
    memcpy(sdir, dirbuf, sizeof(sdir));
    CHECK(mkdir(sdir, 0700) == 0);
    snprintf(path, sizeof(path), "%s/store", sdir);
    snprintf(file, sizeof(file), "%s/copy.mdb", sdir);
    snprintf(rdir, sizeof(rdir), "%s/restored", sdir);

    CHECK_INT(apisec_store_init(path, mk, 0, err, sizeof(err)), APISEC_OK);
    CHECK_INT(apisec_store_open(&st, path, mk, 0, 0, err, sizeof(err)),
              APISEC_OK);

    h = apisec_hmac_new();
    CHECK(h != NULL);

    if (st == NULL || h == NULL) {
        apisec_hmac_free(h);
        apisec_store_close(st);
        return;
    }

    /* 10 keys with secrets, one with a TOTP seed and one with a passphrase */

    for (i = 0; i < (int) sizeof(seed); i++) {
        seed[i] = (uint8_t) (0xa0 + i);
    }

    CHECK_INT(apisec_store_begin(st, &w), APISEC_OK);

    for (i = 0; i < 10; i++) {
        snprintf(ak, sizeof(ak), "AKb%d", i);
        fill_key(&k, ak, "backup");
        snprintf(sec, sizeof(sec), "secret-of-key-%d-0123456789", i);
        CHECK_INT(apisec_key_set_secret(st, &k, sec, strlen(sec)), APISEC_OK);

        if (i == 1) {
            CHECK_INT(apisec_key_set_totp(st, &k, seed, sizeof(seed)),
                      APISEC_OK);
        }

        if (i == 2) {
            CHECK_INT(apisec_key_set_passphrase(st, h, &k, pass,
                                                sizeof(pass) - 1),
                      APISEC_OK);
        }

        CHECK_INT(apisec_key_put(w, &k, 0), APISEC_OK);
        CHECK_INT(apisec_event_append(w, "key.created", 1700000000 + i, ak,
                                      "backup", "\"by\":\"unit\"", &seq),
                  APISEC_OK);
    }

    apisec_window_init(&win, 3600);
    CHECK_INT(apisec_window_add(&win, 1700000000, (apisec_dec_t) 5, &idx),
              0);
    CHECK_INT(apisec_usage_put(w, usage_key, sizeof(usage_key) - 1, &win,
                               &i),
              APISEC_OK);
    CHECK_INT(apisec_store_commit(w), APISEC_OK);

    /* not within a write transaction of the same handle */
    CHECK_INT(apisec_store_begin(st, &w), APISEC_OK);
    CHECK_INT(apisec_store_backup(st, file, 0, &bi), APISEC_ERR_INVALID);
    apisec_store_abort(w);
    CHECK(stat(file, &sb) == -1);

    memset(&bi, 0, sizeof(bi));
    CHECK_INT(apisec_store_backup(st, file, 0, &bi), APISEC_OK);
    CHECK_INT(bi.keys, 10);
    CHECK_INT(bi.events, 10);
    CHECK_INT(bi.last_seq, 10);
    CHECK(stat(file, &sb) == 0 && S_ISREG(sb.st_mode)
          && (sb.st_mode & 07777) == 0600 && (uint64_t) sb.st_size == bi.bytes);

    n = dir_count(sdir, ".tmp.", &tmps);
    CHECK_INT(n, 2);                            /* store, copy.mdb */
    CHECK_INT(tmps, 0);

    /* restore, and everything there */
    memset(&ri, 0, sizeof(ri));
    CHECK_INT(apisec_store_restore(file, rdir, mk, &ri, err, sizeof(err)),
              APISEC_OK);
    CHECK_INT(ri.keys, 10);
    CHECK_INT(ri.events, 10);
    CHECK_INT(ri.bytes, bi.bytes);
    CHECK(stat(rdir, &sb) == 0 && (sb.st_mode & 07777) == 0700);

    CHECK_INT(apisec_store_open(&rs, rdir, mk, 0, 0, err, sizeof(err)),
              APISEC_OK);

    if (rs != NULL) {
        for (i = 0; i < 10; i++) {
            snprintf(ak, sizeof(ak), "AKb%d", i);
            snprintf(want, sizeof(want), "secret-of-key-%d-0123456789", i);
            CHECK_INT(apisec_key_get(rs, ak, strlen(ak), &got), APISEC_OK);
            len = 0;
            CHECK_INT(apisec_key_get_secret(rs, &got, sec, sizeof(sec), &len),
                      APISEC_OK);
            CHECK(len == strlen(want) && memcmp(sec, want, len) == 0);
        }

        CHECK_INT(apisec_key_get(rs, "AKb1", 4, &got), APISEC_OK);
        CHECK_INT(apisec_key_get_totp(rs, &got, got_seed, sizeof(got_seed),
                                      &len),
                  APISEC_OK);
        CHECK(len == sizeof(seed) && memcmp(got_seed, seed, len) == 0);

        CHECK_INT(apisec_key_get(rs, "AKb2", 4, &got), APISEC_OK);
        CHECK_INT(apisec_key_check_passphrase(rs, h, &got, pass,
                                              sizeof(pass) - 1), 1);

        memset(&ev, 0, sizeof(ev));
        memset(&rev, 0, sizeof(rev));
        CHECK_INT(apisec_event_foreach(st, 0, event_cb, &ev), APISEC_OK);
        CHECK_INT(apisec_event_foreach(rs, 0, event_cb, &rev), APISEC_OK);
        CHECK_INT(rev.n, 10);
        CHECK(memcmp(ev.seq, rev.seq, sizeof(ev.seq)) == 0
              && memcmp(ev.json, rev.json, sizeof(ev.json)) == 0);

        CHECK_INT(apisec_usage_get(rs, usage_key, sizeof(usage_key) - 1,
                                   &wgot),
                  APISEC_OK);
        CHECK(wgot.gen == win.gen && wgot.width == win.width
              && memcmp(wgot.slot, win.slot, sizeof(win.slot)) == 0);

        /* a working store: it takes a write */
        CHECK_INT(put_key(rs, "AKnew", "after restore", 0), APISEC_OK);
        apisec_store_close(rs);
    }

    /* never over a store, never over a file unless overwrite */
    CHECK_INT(apisec_store_restore(file, rdir, mk, &ri, err, sizeof(err)),
              APISEC_ERR_EXISTS);
    CHECK(strstr(err, "exists already") != NULL);

    CHECK_INT(put_key(st, "AKlater", "later", 0), APISEC_OK);
    CHECK_INT(apisec_store_backup(st, file, 0, &bi), APISEC_ERR_EXISTS);
    CHECK(strstr(apisec_store_error(st), "exists already") != NULL);
    CHECK(stat(file, &sb) == 0 && (uint64_t) sb.st_size == ri.bytes);
    CHECK_INT(apisec_store_backup(st, file, 1, &bi), APISEC_OK);
    CHECK_INT(bi.keys, 11);

    /* a wrong master key opens neither the copy nor makes a directory */
    snprintf(path, sizeof(path), "%s/wrong", sdir);
    CHECK_INT(apisec_store_restore(file, path, mk2, &ri, err, sizeof(err)),
              APISEC_ERR_MASTER_KEY);
    CHECK(strstr(err, "does not open the backup") != NULL);
    CHECK(stat(path, &sb) == -1 && errno == ENOENT);

    /* a missing directory, the store's own directory, a directory */
    snprintf(path, sizeof(path), "%s/no/such/dir/b.mdb", sdir);
    CHECK_INT(apisec_store_backup(st, path, 0, &bi), APISEC_ERR_SYSTEM);
    CHECK(strstr(apisec_store_error(st), "does not exist") != NULL);

    snprintf(path, sizeof(path), "%s/store/data.mdb", sdir);
    CHECK_INT(apisec_store_backup(st, path, 1, &bi), APISEC_ERR_INVALID);
    CHECK(strstr(apisec_store_error(st), "store's directory") != NULL);
    snprintf(path, sizeof(path), "%s/store", sdir);
    CHECK_INT(dir_count(path, NULL, &tmps), 2);     /* data.mdb, lock.mdb */

    CHECK_INT(apisec_store_backup(st, sdir, 1, &bi), APISEC_ERR_SYSTEM);
    CHECK(strstr(apisec_store_error(st), "is a directory") != NULL);

    CHECK_INT(apisec_store_backup(st, "", 0, &bi), APISEC_ERR_INVALID);
    CHECK_INT(apisec_store_backup(NULL, file, 0, &bi), APISEC_ERR_INVALID);

    /* restore of a truncated copy, of bytes that are no copy, of nothing */
    snprintf(path, sizeof(path), "%s/half.mdb", sdir);
    {
        int      in, out;
        char     buf[4096];
        ssize_t  r;
        off_t    left;

        in = open(file, O_RDONLY);
        out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        CHECK(in != -1 && out != -1);
        left = (off_t) (bi.bytes / 2);

        while (in != -1 && out != -1 && left > 0
               && (r = read(in, buf, sizeof(buf))) > 0)
        {
            CHECK(write(out, buf, (size_t) r) == r);
            left -= r;
        }

        if (in != -1) {
            close(in);
        }

        if (out != -1) {
            close(out);
        }
    }

    snprintf(rdir, sizeof(rdir), "%s/r-half", sdir);
    CHECK_INT(apisec_store_restore(path, rdir, mk, &ri, err, sizeof(err)),
              APISEC_ERR_CORRUPT);
    CHECK(strstr(err, "is truncated") != NULL);
    CHECK(stat(rdir, &sb) == -1);

    CHECK(truncate(path, 100) == 0);
    CHECK_INT(apisec_store_restore(path, rdir, mk, &ri, err, sizeof(err)),
              APISEC_ERR_CORRUPT);
    CHECK(strstr(err, "not an apisec backup") != NULL);
    CHECK(truncate(path, 0) == 0);
    CHECK_INT(apisec_store_restore(path, rdir, mk, &ri, err, sizeof(err)),
              APISEC_ERR_CORRUPT);
    CHECK(strstr(err, "is empty") != NULL);
    CHECK_INT(apisec_store_restore(sdir, rdir, mk, &ri, err, sizeof(err)),
              APISEC_ERR_INVALID);
    CHECK(stat(rdir, &sb) == -1);

    apisec_hmac_free(h);
    apisec_store_close(st);

    /*
     * another process grows the map and writes past the old size: the
     * backup adopts the new size (MDB_MAP_RESIZED) and has it all
     */

    snprintf(path, sizeof(path), "%s/small", sdir);
    CHECK_INT(apisec_store_init(path, mk, 256 * KiB, err, sizeof(err)),
              APISEC_OK);
    CHECK_INT(apisec_store_open(&st, path, mk, 0, 0, err, sizeof(err)),
              APISEC_OK);

    if (st == NULL) {
        return;
    }

    CHECK_INT(put_key(st, "AKsmall", "small", 0), APISEC_OK);
    memset(label, 'G', APISEC_LABEL_MAX);
    label[APISEC_LABEL_MAX] = '\0';

    CHECK(grow_in_child(path, 8 * MiB, "G", 2000, label));

    CHECK_INT(apisec_store_backup(st, file, 1, &bi), APISEC_OK);
    CHECK_INT(bi.keys, 2001);
    CHECK(bi.bytes > 256 * KiB);

    n = dir_count(sdir, ".tmp.", &tmps);
    CHECK_INT(tmps, 0);

    apisec_store_close(st);
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
        mk[i] = (uint8_t) (i + 1);
        mk2[i] = (uint8_t) (i + 1);
    }

    mk2[0] ^= 0x80;

    test_rc_str();
    test_init_open();
    test_meta_checks();
    test_keys();
    test_secret();
    test_passphrase();
    test_rdonly();
    test_map_full();
    test_map_resized();
    test_readers();
    test_key_mismatch();
    test_codec_roundtrip();
    test_codec_invalid();
    test_codec_crafted();
    test_codec_truncation();
    test_codec_flips();
    test_codec_random();
    test_idle();
    test_touch();
    test_expire_idle();
    test_events();
    test_write_txns();
    test_totp();
    test_backup();

    rm_rf(base);

    return UNIT_DONE();
}
