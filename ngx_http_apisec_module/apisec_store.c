/*
 * apisec: the key store over LMDB.  See apisec_store.h for the layout and
 * the rules for processes.  Nothing here allocates on the read path
 * (apisec_key_get): the handle's read transaction is renewed, the record
 * is decoded straight from the map into the caller's structure, and the
 * transaction is reset.
 */


#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>

#include "apisec_store.h"


#define APISEC_DB_META              "meta"
#define APISEC_DB_KEYS              "keys"
#define APISEC_DB_EVENTS            "events"
#define APISEC_DB_USAGE             "usage"
#define APISEC_META_FORMAT          "format"
#define APISEC_META_MKCHECK         "mkcheck"
#define APISEC_META_CURSOR          "cursor:"
#define APISEC_META_LOG_ID          "log_id"
#define APISEC_META_CACHE           "cache"
#define APISEC_CACHE_LOCAL          (1ULL << 63)
#define APISEC_LOG_ID_BYTES         16
#define APISEC_MKCHECK_AAD          "apisec-mkcheck"
#define APISEC_MKCHECK_TEXT         "apisec master key check, v1"
#define APISEC_MKCHECK_MAX          64
#define APISEC_PATH_MAX             4096
#define APISEC_COPY_BUF             (1024 * 1024)  /* restore */

#define APISEC_TAG_ACCESS_KEY       1
#define APISEC_TAG_ACCOUNT          2
#define APISEC_TAG_LABEL            3
#define APISEC_TAG_SECRET           4
#define APISEC_TAG_STATUS           5
#define APISEC_TAG_PERMS            6
#define APISEC_TAG_CREATED_AT       7
#define APISEC_TAG_LAST_USED_AT     8
#define APISEC_TAG_EXPIRES_AT       9
#define APISEC_TAG_LOCKED_UNTIL     10
#define APISEC_TAG_IPS              11
#define APISEC_TAG_TOTP             12
#define APISEC_TAG_TOTP_LAST_STEP   13
#define APISEC_TAG_PASSHASH         14
#define APISEC_TAG_LAST             14

#define APISEC_TAGS_MANDATORY                                                 \
    ((1u << APISEC_TAG_ACCESS_KEY) | (1u << APISEC_TAG_ACCOUNT)               \
     | (1u << APISEC_TAG_SECRET) | (1u << APISEC_TAG_STATUS)                  \
     | (1u << APISEC_TAG_PERMS) | (1u << APISEC_TAG_CREATED_AT))

#define APISEC_IP_REC_LEN           18      /* family, prefix, 16 bytes */


/*
 * The cache of the keys a handle reads (APISEC_OPEN_CACHE): each record as
 * stored and as decoded, and its secret unsealed at its first HMAC (wiped
 * when the entry goes), found by access key in a hash table, the least
 * recently used dropped first (a clock: apisec_kc_touch).
 * An entry is used while the store's generation of keys is still the one
 * it was read in (apisec_kc_generation), or while the record's bytes in
 * the store are the same; a key that apisecctl changed is decoded again at
 * its next request.
 *
 * The table and its entries are one mapping of the handle's own, made at
 * its opening (apisec_kc_new): entries aligned on cache lines, the lines
 * a request reads first together, a dropped entry wiped and kept for the
 * next, and the unsealed secrets out of core dumps (MADV_DONTDUMP) and
 * never in memory that malloc hands to someone else.
 */

typedef struct apisec_kc_link_s  apisec_kc_link_t;
typedef struct apisec_kc_entry_s  apisec_kc_entry_t;

#define APISEC_KC_LINE              64

struct apisec_kc_link_s {
    apisec_kc_link_t   *prev;
    apisec_kc_link_t   *next;
};

/*
 * In the order a request reads it, from the start of a cache line: the
 * lookup's chain and hash, what every request reads beside them (its
 * generation, the secret's length, the memo with the rate bucket's node),
 * 72 bytes in all, then the key, whose numbers end in the third line and
 * whose access key, up to 47 bytes, fills it (its account is in the
 * fifth), then what only a change of the entry reads, and last the
 * HMAC's pad states (one line, all of the secret a request reads) and
 * the unsealed secret, each from a line's start.
 */

struct apisec_kc_entry_s {
    apisec_kc_entry_t  *next;           /* in its bucket */
    uint64_t            gen;            /* the generation it was seen in */
    uint32_t            hash;
    uint16_t            slen;           /* of plain; 0: not unsealed yet */
    uint8_t             used;           /* since its last move (a clock) */
    uint8_t             padded;         /* pads made from plain */
    int64_t             memo[APISEC_KEY_MEMO_WORDS]; /* apisec_key_memo */
    apisec_key_t        key;            /* the record decoded */
    apisec_kc_link_t    lru;
    size_t              len;            /* of rec */
    size_t              cap;
    uint8_t            *rec;            /* the record as stored */

    /* the pads of plain (apisec_hmac_sha256_pads), with it */
    uint8_t             pads[APISEC_HMAC_PADS_LEN]
                            __attribute__((aligned(APISEC_KC_LINE)));

    /* key.secret unsealed, on first use; from a line's start */
    uint8_t             plain[APISEC_SECRET_MAX]
                            __attribute__((aligned(APISEC_KC_LINE)));
};

#if (APISEC_SECRET_MAX > 65535)
#error "apisec_kc_entry_t.slen is 16 bits"
#endif

#define apisec_kc_entry(l)                                                    \
    ((apisec_kc_entry_t *) ((uint8_t *) (l)                                   \
                            - offsetof(apisec_kc_entry_t, lru)))

typedef struct {
    apisec_kc_entry_t **buckets;
    size_t              mask;           /* buckets less one */
    size_t              n;
    size_t              max;
    apisec_kc_link_t    lru;            /* lru.next: most recently used */
    apisec_kc_entry_t  *last;           /* of the last apisec_key_get */
    size_t              txnid;          /* the snapshot gen is of */
    uint64_t            gen;            /* the keys' generation in it */
    uint64_t            local;          /* generations made up here */
    apisec_kc_entry_t  *free;           /* dropped, wiped (chained by next) */
    uint8_t            *entries;        /* max of them, stride bytes apart */
    size_t              stride;
    size_t              carved;         /* entries handed out so far */
    void               *map;            /* buckets, then entries */
    size_t              map_len;
} apisec_kc_t;


struct apisec_store_s {
    MDB_env        *env;
    MDB_txn        *rtxn;           /* renewable, reset between calls */
    size_t          rtxnid;         /* its snapshot, while live */
    unsigned        rlive;          /* renewed, not reset yet */
    unsigned        hold;           /* key reads keep it live */
    MDB_dbi         meta;
    MDB_dbi         keys;
    MDB_dbi         events;
    MDB_dbi         usage;
    unsigned        has_events;     /* the events database exists */
    unsigned        has_usage;      /* the usage database exists */
    unsigned        has_log_id;     /* meta has the event log's id */
    unsigned        threaded;       /* writes from other threads too */
    pthread_mutex_t wlock;          /* held by the write transaction */
    uint64_t        write_txns;     /* write transactions begun */
    unsigned        flags;
    unsigned        active;         /* apisec_key_foreach() in progress */
    unsigned        grow;           /* a write found the map full */
    time_t          grow_at;        /* the last look for a bigger map */
    apisec_wtxn_t  *wtxn;
    char           *dir;
    uint8_t         mk[APISEC_MASTER_KEY_LEN];
    char            err[APISEC_ERR_LEN];
    apisec_kc_t    *cache;          /* APISEC_OPEN_CACHE */
};


struct apisec_wtxn_s {
    apisec_store_t  *st;
    MDB_txn         *txn;
    int              failed;        /* rc of a failed put or delete */
    unsigned         dirty;         /* something was written */
    unsigned         keys_changed;  /* a key record, beyond a last use */
};


typedef struct {
    uint8_t  *buf;
    size_t    cap;
    size_t    pos;
} apisec_enc_t;


/* a backup, or a restored data.mdb, on its way to its place */
typedef struct {
    int          fd;
    const char  *path;
    char         dir[APISEC_PATH_MAX];
    char         tmp[APISEC_PATH_MAX];
} apisec_copy_t;


static void apisec_store_err(char *err, size_t errlen, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__ ((format (printf, 3, 4)))
#endif
    ;
static int apisec_store_new_dir(const char *dir, int *made, char *err,
    size_t errlen);
static int apisec_store_probe(const char *dir, char *err, size_t errlen);
static int apisec_store_env(const char *dir, unsigned flags, size_t map_size,
    MDB_env **envp, char *err, size_t errlen);
static void apisec_store_remove(const char *dir);
static int apisec_store_check(apisec_store_t *st, MDB_txn *txn, char *err,
    size_t errlen);
static int apisec_store_lmdb(apisec_store_t *st, int mrc, const char *what);
static int apisec_store_remap(apisec_store_t *st);
static int apisec_store_renew(apisec_store_t *st);
static void apisec_store_reset(apisec_store_t *st);
static apisec_kc_t *apisec_kc_new(size_t max);
static void apisec_kc_free(apisec_kc_t *kc);
static int apisec_key_read(apisec_store_t *st, const char *ak, size_t aklen,
    apisec_key_t *out, const apisec_key_t **found);
static uint32_t apisec_kc_hash(const char *ak, size_t len);
static void apisec_kc_generation(apisec_store_t *st, apisec_kc_t *kc,
    size_t txnid);
static int apisec_store_generation(apisec_wtxn_t *w);
static void apisec_kc_prefetch(apisec_kc_entry_t *e);
static apisec_kc_entry_t *apisec_kc_find(apisec_kc_t *kc, const char *ak,
    size_t len, uint32_t hash);
static void apisec_kc_touch(apisec_kc_entry_t *e);
static void apisec_kc_forget(apisec_kc_entry_t *e);
static apisec_kc_entry_t *apisec_kc_victim(apisec_kc_t *kc);
static void apisec_kc_use(apisec_kc_t *kc, apisec_kc_entry_t *e);
static void apisec_kc_put(apisec_kc_t *kc, apisec_kc_entry_t *e,
    uint32_t hash, const MDB_val *val, const apisec_key_t *k);
static void apisec_kc_drop(apisec_kc_t *kc, apisec_kc_entry_t *e);
static void apisec_store_grow(apisec_store_t *st);
static int apisec_store_record(apisec_store_t *st, const MDB_val *key,
    const MDB_val *val, apisec_key_t *out);
static const char *apisec_store_key_text(const MDB_val *key);
static int apisec_store_count_reader(const char *msg, void *ctx);
static int apisec_copy_begin(apisec_copy_t *c, const char *path,
    const char *what, const char *avoid, char *err, size_t errlen);
static int apisec_copy_sync(apisec_copy_t *c, const char *what, char *err,
    size_t errlen);
static int apisec_copy_place(apisec_copy_t *c, int overwrite,
    const char *what, char *err, size_t errlen);
static void apisec_copy_discard(apisec_copy_t *c);
static int apisec_copy_check(const char *file, const char *name,
    const uint8_t *mk, apisec_backup_info_t *info, char *err, size_t errlen);
static const char *apisec_key_check(const apisec_key_t *k);
static int apisec_ip_valid(const apisec_cidr_t *c);
static int apisec_enc_field(apisec_enc_t *e, unsigned tag, const void *data,
    size_t len);
static int apisec_enc_int(apisec_enc_t *e, unsigned tag, uint64_t v);
static void apisec_enc_be64(uint8_t *p, uint64_t v);
static uint64_t apisec_dec_be64(const uint8_t *p);
static const char *apisec_event_time(const char *json, size_t len);
static int apisec_log_id_new(MDB_txn *txn, MDB_dbi meta);


static const char  *apisec_rc_text[] = {
    "ok",
    "no such key",
    "key exists",
    "no store",
    "wrong master key",
    "unsupported store format version",
    "store is full",
    "corrupt record",
    "invalid argument",
    "system error",
    "crypto error"
};


const char *
apisec_rc_str(int rc)
{
    if (rc < 0
        || (size_t) rc >= sizeof(apisec_rc_text) / sizeof(apisec_rc_text[0]))
    {
        return "unknown error";
    }

    return apisec_rc_text[rc];
}


static void
apisec_store_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list  args;

    if (err == NULL || errlen == 0) {
        return;
    }

    va_start(args, fmt);
    vsnprintf(err, errlen, fmt, args);
    va_end(args);
}


/* APISEC_ERR_EXISTS: dir/data.mdb is there; APISEC_ERR_NOSTORE: it is not */

static int
apisec_store_probe(const char *dir, char *err, size_t errlen)
{
    int          n;
    char         path[APISEC_PATH_MAX];
    struct stat  sb;

    n = snprintf(path, sizeof(path), "%s/data.mdb", dir);

    if (n < 0 || (size_t) n >= sizeof(path)) {
        apisec_store_err(err, errlen, "store path \"%s\" is too long", dir);
        return APISEC_ERR_INVALID;
    }

    if (stat(path, &sb) == 0) {
        if (!S_ISREG(sb.st_mode)) {
            apisec_store_err(err, errlen,
                             "\"%s\" is not a regular file", path);
            return APISEC_ERR_SYSTEM;
        }

        if (sb.st_size == 0) {
            return APISEC_ERR_NOSTORE;
        }

        return APISEC_ERR_EXISTS;
    }

    if (errno == ENOENT || errno == ENOTDIR) {
        return APISEC_ERR_NOSTORE;
    }

    apisec_store_err(err, errlen, "cannot access store \"%s\": %s",
                     dir, strerror(errno));

    return APISEC_ERR_SYSTEM;
}


/*
 * The directory of a new store (init, restore): made with mode 0700 when
 * missing (*made 1), refused when it is not a directory or holds a store.
 */

static int
apisec_store_new_dir(const char *dir, int *made, char *err, size_t errlen)
{
    int          rc;
    struct stat  sb;

    *made = 0;

    if (mkdir(dir, 0700) == 0) {
        *made = 1;

    } else if (errno != EEXIST) {
        apisec_store_err(err, errlen, "cannot create directory \"%s\": %s",
                         dir, strerror(errno));
        return APISEC_ERR_SYSTEM;
    }

    if (stat(dir, &sb) == -1) {
        apisec_store_err(err, errlen, "cannot access \"%s\": %s",
                         dir, strerror(errno));
        return APISEC_ERR_SYSTEM;
    }

    if (!S_ISDIR(sb.st_mode)) {
        apisec_store_err(err, errlen, "\"%s\" is not a directory", dir);
        return APISEC_ERR_SYSTEM;
    }

    rc = apisec_store_probe(dir, err, errlen);

    if (rc == APISEC_ERR_EXISTS) {
        apisec_store_err(err, errlen, "an apisec store exists already at "
                         "\"%s\"", dir);
        return rc;
    }

    return (rc == APISEC_ERR_NOSTORE) ? APISEC_OK : rc;
}


static int
apisec_store_env(const char *dir, unsigned flags, size_t map_size,
    MDB_env **envp, char *err, size_t errlen)
{
    int       rc;
    MDB_env  *env;

    rc = mdb_env_create(&env);
    if (rc != MDB_SUCCESS) {
        apisec_store_err(err, errlen, "cannot open store \"%s\": %s",
                         dir, mdb_strerror(rc));
        return APISEC_ERR_SYSTEM;
    }

    rc = mdb_env_set_maxdbs(env, 8);

    if (rc == MDB_SUCCESS) {
        rc = mdb_env_set_maxreaders(env, APISEC_MAX_READERS);
    }

    if (rc == MDB_SUCCESS && map_size != 0) {
        rc = mdb_env_set_mapsize(env, map_size);
    }

    if (rc == MDB_SUCCESS) {
        rc = mdb_env_open(env, dir, flags | MDB_NOTLS | MDB_NORDAHEAD, 0600);
    }

    if (rc != MDB_SUCCESS) {
        mdb_env_close(env);

        apisec_store_err(err, errlen, "cannot open store \"%s\": %s",
                         dir, mdb_strerror(rc));

        if (rc == MDB_INVALID) {
            return APISEC_ERR_CORRUPT;
        }

        if (rc == MDB_VERSION_MISMATCH) {
            return APISEC_ERR_VERSION;
        }

        return APISEC_ERR_SYSTEM;
    }

    *envp = env;

    return APISEC_OK;
}


/* undo a failed apisec_store_init() that created the files */

static void
apisec_store_remove(const char *dir)
{
    char  path[APISEC_PATH_MAX];
    int   n;

    n = snprintf(path, sizeof(path), "%s/data.mdb", dir);
    if (n > 0 && (size_t) n < sizeof(path)) {
        (void) unlink(path);
    }

    n = snprintf(path, sizeof(path), "%s/lock.mdb", dir);
    if (n > 0 && (size_t) n < sizeof(path)) {
        (void) unlink(path);
    }
}


int
apisec_store_init(const char *dir, const uint8_t *mk, size_t map_size,
    char *err, size_t errlen)
{
    int          rc, mrc, made;
    size_t       len;
    MDB_dbi      meta, keys, events;
    MDB_env     *env;
    MDB_txn     *txn;
    MDB_val      key, val;
    uint8_t      fmt[4], sealed[APISEC_MKCHECK_MAX];

    if (dir == NULL || mk == NULL || dir[0] == '\0') {
        apisec_store_err(err, errlen, "no store directory given");
        return APISEC_ERR_INVALID;
    }

    rc = apisec_store_new_dir(dir, &made, err, errlen);
    if (rc != APISEC_OK) {
        return rc;
    }

    rc = apisec_store_env(dir, 0,
                          map_size ? map_size : APISEC_DEFAULT_MAP_SIZE,
                          &env, err, errlen);
    if (rc != APISEC_OK) {
        return rc;
    }

    txn = NULL;

    mrc = mdb_txn_begin(env, NULL, 0, &txn);
    if (mrc != MDB_SUCCESS) {
        txn = NULL;
        goto failed;
    }

    mrc = mdb_dbi_open(txn, APISEC_DB_META, MDB_CREATE, &meta);

    if (mrc == MDB_SUCCESS) {
        mrc = mdb_dbi_open(txn, APISEC_DB_KEYS, MDB_CREATE, &keys);
    }

    if (mrc == MDB_SUCCESS) {
        mrc = mdb_dbi_open(txn, APISEC_DB_EVENTS, MDB_CREATE, &events);
    }

    if (mrc == MDB_SUCCESS) {
        mrc = mdb_dbi_open(txn, APISEC_DB_USAGE, MDB_CREATE, &events);
    }

    if (mrc != MDB_SUCCESS) {
        goto failed;
    }

    fmt[0] = (uint8_t) (APISEC_STORE_FORMAT >> 24);
    fmt[1] = (uint8_t) (APISEC_STORE_FORMAT >> 16);
    fmt[2] = (uint8_t) (APISEC_STORE_FORMAT >> 8);
    fmt[3] = (uint8_t) APISEC_STORE_FORMAT;

    key.mv_data = APISEC_META_FORMAT;
    key.mv_size = sizeof(APISEC_META_FORMAT) - 1;
    val.mv_data = fmt;
    val.mv_size = sizeof(fmt);

    mrc = mdb_put(txn, meta, &key, &val, MDB_NOOVERWRITE);

    if (mrc == MDB_KEYEXIST) {
        /* another apisec_store_init() won the race */
        mdb_txn_abort(txn);
        mdb_env_close(env);
        apisec_store_err(err, errlen, "an apisec store exists already at "
                         "\"%s\"", dir);
        return APISEC_ERR_EXISTS;
    }

    if (mrc != MDB_SUCCESS) {
        goto failed;
    }

    if (apisec_seal(mk, (const uint8_t *) APISEC_MKCHECK_AAD,
                    sizeof(APISEC_MKCHECK_AAD) - 1,
                    (const uint8_t *) APISEC_MKCHECK_TEXT,
                    sizeof(APISEC_MKCHECK_TEXT) - 1,
                    sealed, sizeof(sealed), &len)
        != 0)
    {
        mdb_txn_abort(txn);
        mdb_env_close(env);
        apisec_store_remove(dir);
        apisec_store_err(err, errlen, "cannot create store \"%s\": "
                         "sealing failed", dir);
        return APISEC_ERR_CRYPTO;
    }

    key.mv_data = APISEC_META_MKCHECK;
    key.mv_size = sizeof(APISEC_META_MKCHECK) - 1;
    val.mv_data = sealed;
    val.mv_size = len;

    mrc = mdb_put(txn, meta, &key, &val, MDB_NOOVERWRITE);
    if (mrc != MDB_SUCCESS) {
        goto failed;
    }

    mrc = mdb_txn_commit(txn);
    txn = NULL;

    if (mrc != MDB_SUCCESS) {
        goto failed;
    }

    mdb_env_close(env);

    return APISEC_OK;

failed:

    if (txn != NULL) {
        mdb_txn_abort(txn);
    }

    mdb_env_close(env);
    apisec_store_remove(dir);

    if (mrc == MDB_MAP_FULL) {
        apisec_store_err(err, errlen, "cannot create store \"%s\": map size "
                         "%zu bytes is too small", dir,
                         map_size ? map_size : APISEC_DEFAULT_MAP_SIZE);
        return APISEC_ERR_MAP_FULL;
    }

    apisec_store_err(err, errlen, "cannot create store \"%s\": %s",
                     dir, mdb_strerror(mrc));

    return APISEC_ERR_SYSTEM;
}


/* the meta checks of apisec_store_open(), in a read transaction */

static int
apisec_store_check(apisec_store_t *st, MDB_txn *txn, char *err,
    size_t errlen)
{
    int       mrc;
    size_t    len;
    MDB_val   key, val;
    uint32_t  fmt;
    uint8_t   plain[APISEC_MKCHECK_MAX];

    mrc = mdb_dbi_open(txn, APISEC_DB_META, 0, &st->meta);

    if (mrc == MDB_NOTFOUND) {
        apisec_store_err(err, errlen, "no apisec store at \"%s\" (an LMDB "
                         "environment without apisec data)", st->dir);
        return APISEC_ERR_NOSTORE;
    }

    if (mrc != MDB_SUCCESS) {
        apisec_store_err(err, errlen, "cannot open store \"%s\": %s",
                         st->dir, mdb_strerror(mrc));
        return (mrc == MDB_INCOMPATIBLE) ? APISEC_ERR_CORRUPT
                                         : APISEC_ERR_SYSTEM;
    }

    key.mv_data = APISEC_META_FORMAT;
    key.mv_size = sizeof(APISEC_META_FORMAT) - 1;

    mrc = mdb_get(txn, st->meta, &key, &val);

    if (mrc == MDB_NOTFOUND || (mrc == MDB_SUCCESS && val.mv_size != 4)) {
        apisec_store_err(err, errlen, "store \"%s\" has no valid format "
                         "version", st->dir);
        return APISEC_ERR_CORRUPT;
    }

    if (mrc != MDB_SUCCESS) {
        apisec_store_err(err, errlen, "cannot read store \"%s\": %s",
                         st->dir, mdb_strerror(mrc));
        return APISEC_ERR_SYSTEM;
    }

    fmt = ((uint32_t) ((uint8_t *) val.mv_data)[0] << 24)
          | ((uint32_t) ((uint8_t *) val.mv_data)[1] << 16)
          | ((uint32_t) ((uint8_t *) val.mv_data)[2] << 8)
          | (uint32_t) ((uint8_t *) val.mv_data)[3];

    if (fmt != APISEC_STORE_FORMAT) {
        apisec_store_err(err, errlen, "store \"%s\" has format version %u, "
                         "this apisec supports version %u",
                         st->dir, (unsigned) fmt,
                         (unsigned) APISEC_STORE_FORMAT);
        return APISEC_ERR_VERSION;
    }

    mrc = mdb_dbi_open(txn, APISEC_DB_KEYS, 0, &st->keys);
    if (mrc != MDB_SUCCESS) {
        apisec_store_err(err, errlen, "store \"%s\" has no key database: %s",
                         st->dir, mdb_strerror(mrc));
        return (mrc == MDB_NOTFOUND || mrc == MDB_INCOMPATIBLE)
               ? APISEC_ERR_CORRUPT : APISEC_ERR_SYSTEM;
    }

    /* the event log, added after the first stores were made */

    mrc = mdb_dbi_open(txn, APISEC_DB_EVENTS, 0, &st->events);
    st->has_events = (mrc == MDB_SUCCESS);

    /* the windows of the amount rules, added later still */

    mrc = mdb_dbi_open(txn, APISEC_DB_USAGE, 0, &st->usage);
    st->has_usage = (mrc == MDB_SUCCESS);

    /* the event log's id, added with the webhooks */

    key.mv_data = APISEC_META_LOG_ID;
    key.mv_size = sizeof(APISEC_META_LOG_ID) - 1;

    mrc = mdb_get(txn, st->meta, &key, &val);
    st->has_log_id = (mrc == MDB_SUCCESS
                      && val.mv_size == APISEC_LOG_ID_BYTES);

    key.mv_data = APISEC_META_MKCHECK;
    key.mv_size = sizeof(APISEC_META_MKCHECK) - 1;

    mrc = mdb_get(txn, st->meta, &key, &val);

    if (mrc == MDB_NOTFOUND
        || (mrc == MDB_SUCCESS && val.mv_size > APISEC_MKCHECK_MAX))
    {
        apisec_store_err(err, errlen, "store \"%s\" has no valid master key "
                         "check", st->dir);
        return APISEC_ERR_CORRUPT;
    }

    if (mrc != MDB_SUCCESS) {
        apisec_store_err(err, errlen, "cannot read store \"%s\": %s",
                         st->dir, mdb_strerror(mrc));
        return APISEC_ERR_SYSTEM;
    }

    if (apisec_unseal(st->mk, (const uint8_t *) APISEC_MKCHECK_AAD,
                      sizeof(APISEC_MKCHECK_AAD) - 1,
                      val.mv_data, val.mv_size, plain, sizeof(plain), &len)
        != 0
        || len != sizeof(APISEC_MKCHECK_TEXT) - 1
        || memcmp(plain, APISEC_MKCHECK_TEXT, len) != 0)
    {
        apisec_store_err(err, errlen, "the master key does not open the "
                         "store at \"%s\"", st->dir);
        return APISEC_ERR_MASTER_KEY;
    }

    return APISEC_OK;
}


int
apisec_store_open(apisec_store_t **stp, const char *dir, const uint8_t *mk,
    unsigned flags, size_t map_size, char *err, size_t errlen)
{
    int              rc, mrc, dead;
    MDB_txn         *txn;
    MDB_envinfo      info;
    apisec_store_t  *st;

    if (stp == NULL || dir == NULL || mk == NULL || dir[0] == '\0') {
        apisec_store_err(err, errlen, "no store directory given");
        return APISEC_ERR_INVALID;
    }

    *stp = NULL;

    rc = apisec_store_probe(dir, err, errlen);

    if (rc == APISEC_ERR_NOSTORE) {
        apisec_store_err(err, errlen, "no apisec store at \"%s\" (create "
                         "one with: apisecctl init)", dir);
        return rc;
    }

    if (rc != APISEC_ERR_EXISTS) {
        return rc;
    }

    st = calloc(1, sizeof(apisec_store_t));
    if (st == NULL) {
        apisec_store_err(err, errlen, "cannot open store \"%s\": out of "
                         "memory", dir);
        return APISEC_ERR_SYSTEM;
    }

    st->flags = flags;
    memcpy(st->mk, mk, APISEC_MASTER_KEY_LEN);

    {
        pthread_mutexattr_t  attr;

        /* an error-checking mutex: a second begin in one thread fails */

        if (pthread_mutexattr_init(&attr) != 0
            || pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK)
               != 0
            || pthread_mutex_init(&st->wlock, &attr) != 0)
        {
            free(st);
            apisec_store_err(err, errlen, "cannot open store \"%s\": "
                             "cannot create a mutex", dir);
            return APISEC_ERR_SYSTEM;
        }

        (void) pthread_mutexattr_destroy(&attr);
    }

    st->dir = strdup(dir);
    if (st->dir == NULL) {
        apisec_store_err(err, errlen, "cannot open store \"%s\": out of "
                         "memory", dir);
        rc = APISEC_ERR_SYSTEM;
        goto failed;
    }

    rc = apisec_store_env(dir, (flags & APISEC_OPEN_RDONLY) ? MDB_RDONLY : 0,
                          0, &st->env, err, errlen);
    if (rc != APISEC_OK) {
        st->env = NULL;
        goto failed;
    }

    (void) mdb_reader_check(st->env, &dead);

    if (map_size != 0 && !(flags & APISEC_OPEN_RDONLY)
        && mdb_env_info(st->env, &info) == MDB_SUCCESS
        && map_size > info.me_mapsize)
    {
        mrc = mdb_env_set_mapsize(st->env, map_size);
        if (mrc != MDB_SUCCESS) {
            apisec_store_err(err, errlen, "cannot grow store \"%s\" to %zu "
                             "bytes: %s", dir, map_size, mdb_strerror(mrc));
            rc = APISEC_ERR_SYSTEM;
            goto failed;
        }
    }

    mrc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
    if (mrc != MDB_SUCCESS) {
        apisec_store_err(err, errlen, "cannot read store \"%s\": %s",
                         dir, mdb_strerror(mrc));
        rc = APISEC_ERR_SYSTEM;
        goto failed;
    }

    rc = apisec_store_check(st, txn, err, errlen);
    if (rc != APISEC_OK) {
        mdb_txn_abort(txn);
        goto failed;
    }

    /* committing keeps the database handles open for the handle's life */

    mrc = mdb_txn_commit(txn);

    if (mrc == MDB_SUCCESS) {
        mrc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &st->rtxn);
        st->rlive = (mrc == MDB_SUCCESS);
    }

    if (mrc != MDB_SUCCESS) {
        st->rtxn = NULL;
        apisec_store_err(err, errlen, "cannot read store \"%s\": %s",
                         dir, mdb_strerror(mrc));
        rc = APISEC_ERR_SYSTEM;
        goto failed;
    }

    apisec_store_reset(st);

    if ((!st->has_events || !st->has_usage || !st->has_log_id)
        && !(flags & APISEC_OPEN_RDONLY))
    {
        mrc = mdb_txn_begin(st->env, NULL, 0, &txn);

        if (mrc == MDB_SUCCESS) {
            mrc = mdb_dbi_open(txn, APISEC_DB_EVENTS, MDB_CREATE, &st->events);

            if (mrc == MDB_SUCCESS) {
                mrc = mdb_dbi_open(txn, APISEC_DB_USAGE, MDB_CREATE,
                                   &st->usage);
            }

            if (mrc == MDB_SUCCESS && !st->has_log_id) {
                mrc = apisec_log_id_new(txn, st->meta);
            }

            if (mrc == MDB_SUCCESS) {
                mrc = mdb_txn_commit(txn);

            } else {
                mdb_txn_abort(txn);
            }
        }

        if (mrc != MDB_SUCCESS) {
            apisec_store_err(err, errlen, "cannot add the event log and the "
                             "usage database to store \"%s\": %s", dir,
                             mdb_strerror(mrc));
            rc = APISEC_ERR_SYSTEM;
            goto failed;
        }

        st->has_events = 1;
        st->has_usage = 1;
        st->has_log_id = 1;
    }

    if (flags & APISEC_OPEN_CACHE) {
        st->cache = apisec_kc_new(APISEC_KEY_CACHE_MAX);
        if (st->cache == NULL) {
            apisec_store_err(err, errlen, "cannot open store \"%s\": out "
                             "of memory", dir);
            rc = APISEC_ERR_SYSTEM;
            goto failed;
        }
    }

    *stp = st;

    return APISEC_OK;

failed:

    apisec_store_close(st);

    return rc;
}


void
apisec_store_close(apisec_store_t *st)
{
    if (st == NULL) {
        return;
    }

    if (st->wtxn != NULL) {
        apisec_store_abort(st->wtxn);
    }

    if (st->rtxn != NULL) {
        mdb_txn_abort(st->rtxn);
    }

    if (st->env != NULL) {
        mdb_env_close(st->env);
    }

    apisec_kc_free(st->cache);

    (void) pthread_mutex_destroy(&st->wlock);

    apisec_wipe(st->mk, sizeof(st->mk));
    free(st->dir);
    free(st);
}


void
apisec_store_set_threaded(apisec_store_t *st)
{
    st->threaded = 1;
}


const char *
apisec_store_error(apisec_store_t *st)
{
    if (st == NULL) {
        return "no store";
    }

    return st->err;
}


/* an LMDB error as an apisec_rc_t, with the detail in st->err */

static int
apisec_store_lmdb(apisec_store_t *st, int mrc, const char *what)
{
    MDB_envinfo  info;

    switch (mrc) {

    case MDB_MAP_FULL:
        if (mdb_env_info(st->env, &info) != MDB_SUCCESS) {
            info.me_mapsize = 0;
        }

        /* the next read looks whether apisecctl grew the map meanwhile */
        __atomic_store_n(&st->grow, 1, __ATOMIC_RELAXED);

        apisec_store_err(st->err, sizeof(st->err), "store \"%s\" is full: "
                         "%s needs more than the map size of %zu bytes "
                         "(raise map_size)", st->dir, what, info.me_mapsize);
        return APISEC_ERR_MAP_FULL;

    case MDB_NOTFOUND:
        apisec_store_err(st->err, sizeof(st->err), "%s: no such key", what);
        return APISEC_ERR_NOTFOUND;

    case MDB_KEYEXIST:
        apisec_store_err(st->err, sizeof(st->err), "%s: key exists", what);
        return APISEC_ERR_EXISTS;

    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
        apisec_store_err(st->err, sizeof(st->err), "%s in store \"%s\": %s",
                         what, st->dir, mdb_strerror(mrc));
        return APISEC_ERR_CORRUPT;

    default:
        apisec_store_err(st->err, sizeof(st->err), "%s in store \"%s\": %s",
                         what, st->dir, mdb_strerror(mrc));
        return APISEC_ERR_SYSTEM;
    }
}


/*
 * Another process grew the map: adopt the size recorded in the store.
 * Remapping moves every page, so it is refused while a transaction of
 * this handle (a write, or apisec_key_foreach()) is in progress.
 */

static int
apisec_store_remap(apisec_store_t *st)
{
    int  mrc;

    if (st->active > 0 || st->wtxn != NULL) {
        return MDB_MAP_RESIZED;
    }

    /* from the reading thread only (a threaded handle's writes do not) */

    apisec_store_reset(st);

    if (!st->threaded) {
        return mdb_env_set_mapsize(st->env, 0);
    }

    /*
     * A threaded handle remaps only from its own thread's reads, and only
     * while no other thread has a write transaction open (it would be
     * holding wlock): never from a write, which may run in a thread while
     * the main thread reads.
     */

    if (pthread_mutex_trylock(&st->wlock) != 0) {
        return MDB_MAP_RESIZED;
    }

    mrc = mdb_env_set_mapsize(st->env, 0);

    (void) pthread_mutex_unlock(&st->wlock);

    return mrc;
}


/*
 * A write found the map full.  A map grown by another process (apisecctl
 * --map-size) is seen by LMDB only once that process's data passes this
 * handle's map; until then this handle's writes stay within its old size.
 * Adopt the size recorded in the store, from a read (the thread that
 * reads also remaps), at most once a second, while no write is in
 * progress in any thread.
 */

static void
apisec_store_grow(apisec_store_t *st)
{
    time_t       now;
    size_t       before;
    MDB_envinfo  info;

    now = time(NULL);

    if (st->active > 0 || st->wtxn != NULL || now == st->grow_at) {
        return;
    }

    if (pthread_mutex_trylock(&st->wlock) != 0) {
        return;
    }

    st->grow_at = now;

    if (mdb_env_info(st->env, &info) == MDB_SUCCESS) {
        before = info.me_mapsize;

        if (st->rtxn != NULL) {
            mdb_txn_abort(st->rtxn);
            st->rtxn = NULL;
            st->rlive = 0;
        }

        if (mdb_env_set_mapsize(st->env, 0) == MDB_SUCCESS
            && mdb_env_info(st->env, &info) == MDB_SUCCESS
            && info.me_mapsize > before)
        {
            __atomic_store_n(&st->grow, 0, __ATOMIC_RELAXED);
        }
    }

    (void) pthread_mutex_unlock(&st->wlock);
}


/* renew the handle's read transaction, retrying once on MDB_MAP_RESIZED */

static int
apisec_store_renew(apisec_store_t *st)
{
    int  mrc, i;

    /* a snapshot kept by apisec_store_hold: a fresh one */

    apisec_store_reset(st);

    if (__atomic_load_n(&st->grow, __ATOMIC_RELAXED)) {
        apisec_store_grow(st);
    }

    mrc = MDB_MAP_RESIZED;

    for (i = 0; i < 2; i++) {

        if (st->rtxn != NULL) {
            mrc = mdb_txn_renew(st->rtxn);

        } else {
            mrc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &st->rtxn);
            if (mrc != MDB_SUCCESS) {
                st->rtxn = NULL;
            }
        }

        if (mrc != MDB_MAP_RESIZED || i == 1) {
            break;
        }

        if (st->active > 0 || st->wtxn != NULL) {
            break;
        }

        if (st->rtxn != NULL) {
            mdb_txn_abort(st->rtxn);
            st->rtxn = NULL;
        }

        mrc = apisec_store_remap(st);
        if (mrc != MDB_SUCCESS) {
            break;
        }
    }

    if (mrc == MDB_SUCCESS) {
        st->rlive = 1;
        st->rtxnid = mdb_txn_id(st->rtxn);
    }

    return mrc;
}


static void
apisec_store_reset(apisec_store_t *st)
{
    if (st->rlive) {
        mdb_txn_reset(st->rtxn);
        st->rlive = 0;
    }
}


void
apisec_store_hold(apisec_store_t *st, int on)
{
    if (st == NULL) {
        return;
    }

    st->hold = (on != 0);

    if (!on) {
        apisec_store_reset(st);
    }
}


static const char *
apisec_store_key_text(const MDB_val *key)
{
    if (apisec_valid_access_key(key->mv_data, key->mv_size)) {
        return key->mv_data;
    }

    return NULL;
}


/* decode a record found under key; the record's own key must match */

static int
apisec_store_record(apisec_store_t *st, const MDB_val *key,
    const MDB_val *val, apisec_key_t *out)
{
    const char  *name;

    if (apisec_key_decode(val->mv_data, val->mv_size, out) == APISEC_OK
        && strlen(out->access_key) == key->mv_size
        && memcmp(out->access_key, key->mv_data, key->mv_size) == 0)
    {
        return APISEC_OK;
    }

    memset(out, 0, sizeof(apisec_key_t));

    name = apisec_store_key_text(key);

    if (name != NULL) {
        apisec_store_err(st->err, sizeof(st->err), "the record of key "
                         "\"%.*s\" in store \"%s\" is corrupt",
                         (int) key->mv_size, name, st->dir);

    } else {
        apisec_store_err(st->err, sizeof(st->err), "a record with an "
                         "invalid key in store \"%s\" is corrupt", st->dir);
    }

    return APISEC_ERR_CORRUPT;
}


int
apisec_key_get(apisec_store_t *st, const char *ak, size_t aklen,
    apisec_key_t *out)
{
    return apisec_key_read(st, ak, aklen, out, NULL);
}


int
apisec_key_find(apisec_store_t *st, const char *ak, size_t aklen,
    apisec_key_t *buf, const apisec_key_t **k)
{
    if (k == NULL) {
        return APISEC_ERR_INVALID;
    }

    *k = NULL;

    return apisec_key_read(st, ak, aklen, buf, k);
}


int
apisec_key_reread(apisec_store_t *st, const char *ak, size_t aklen,
    apisec_key_t *buf, const apisec_key_t **k)
{
    apisec_kc_entry_t  *e;

    if (st != NULL && st->cache != NULL && ak != NULL && aklen > 0
        && aklen <= APISEC_KEY_MAX)
    {
        e = apisec_kc_find(st->cache, ak, aklen, apisec_kc_hash(ak, aklen));

        /* no generation is this one: the entry is compared with the store */

        if (e != NULL) {
            e->gen = APISEC_CACHE_LOCAL;
        }
    }

    /* and in a fresh snapshot, when one was held */

    if (st != NULL) {
        apisec_store_reset(st);
    }

    return apisec_key_find(st, ak, aklen, buf, k);
}


void
apisec_key_prefetch(apisec_store_t *st, const char *ak, size_t aklen)
{
    apisec_kc_t  *kc;

    kc = (st != NULL) ? st->cache : NULL;

    if (kc != NULL && ak != NULL) {
        apisec_prefetch(&kc->buckets[apisec_kc_hash(ak, aklen) & kc->mask]);
    }
}


void
apisec_key_prefetch_entry(apisec_store_t *st, const char *ak, size_t aklen)
{
    apisec_kc_t        *kc;
    apisec_kc_entry_t  *e;

    kc = (st != NULL) ? st->cache : NULL;

    if (kc == NULL || ak == NULL) {
        return;
    }

    /* the bucket's first entry: mostly the key's, two buckets an entry */

    e = kc->buckets[apisec_kc_hash(ak, aklen) & kc->mask];

    if (e != NULL) {
        apisec_kc_prefetch(e);
    }
}


int64_t *
apisec_key_memo(apisec_store_t *st)
{
    if (st == NULL || st->cache == NULL || st->cache->last == NULL) {
        return NULL;
    }

    return st->cache->last->memo;
}


/*
 * apisec_key_get and apisec_key_find: the record into out; with found, a
 * key in the cache is not copied (*found is the entry's), and a key
 * decoded is in out (*found is out)
 */

static int
apisec_key_read(apisec_store_t *st, const char *ak, size_t aklen,
    apisec_key_t *out, const apisec_key_t **found)
{
    int                 rc, mrc;
    size_t              txnid;
    MDB_val             key, val;
    uint32_t            hash;
    apisec_kc_t        *kc;
    apisec_kc_entry_t  *e;

    if (st == NULL || ak == NULL || out == NULL) {
        return APISEC_ERR_INVALID;
    }

    if (aklen == 0 || aklen > APISEC_KEY_MAX) {
        apisec_store_err(st->err, sizeof(st->err), "invalid access key");
        return APISEC_ERR_NOTFOUND;
    }

    /* the snapshot kept since the last read (apisec_store_hold), or anew */

    if (!st->rlive || !st->hold) {
        mrc = apisec_store_renew(st);
        if (mrc != MDB_SUCCESS) {
            return apisec_store_lmdb(st, mrc,
                                     "cannot begin a read transaction");
        }
    }

    kc = st->cache;
    e = NULL;
    hash = 0;

    if (kc != NULL) {
        kc->last = NULL;
        hash = apisec_kc_hash(ak, aklen);
        txnid = st->rtxnid;

        if (txnid != kc->txnid) {
            apisec_kc_generation(st, kc, txnid);
        }

        e = apisec_kc_find(kc, ak, aklen, hash);

        /* a key in the cache is as stored while no key changed since */

        if (e != NULL && e->gen == kc->gen) {
            goto cached;
        }
    }

    if (e == NULL && !apisec_valid_access_key(ak, aklen)) {
        apisec_store_err(st->err, sizeof(st->err), "invalid access key");
        rc = APISEC_ERR_NOTFOUND;
        goto done;
    }

    key.mv_data = (void *) ak;
    key.mv_size = aklen;

    mrc = mdb_get(st->rtxn, st->keys, &key, &val);

    if (mrc != MDB_SUCCESS) {
        if (e != NULL) {
            apisec_kc_drop(kc, e);
        }

        rc = apisec_store_lmdb(st, mrc, "key lookup");
        goto done;
    }

    if (e != NULL && e->len == val.mv_size
        && memcmp(e->rec, val.mv_data, val.mv_size) == 0)
    {
        e->gen = kc->gen;
        goto cached;
    }

    rc = apisec_store_record(st, &key, &val, out);

    if (found != NULL && rc == APISEC_OK) {
        *found = out;
    }

    if (kc != NULL) {
        if (rc == APISEC_OK) {
            apisec_kc_put(kc, e, hash, &val, out);

        } else if (e != NULL) {
            apisec_kc_drop(kc, e);
        }
    }

    goto done;

cached:

    /* the rest of a long secret, on its way while the caller checks */

    if (!e->padded && e->slen > APISEC_KC_LINE) {
        apisec_prefetch(e->plain + APISEC_KC_LINE);
    }

    if (found != NULL) {
        *found = &e->key;

    } else {
        memcpy(out, &e->key, sizeof(apisec_key_t));
    }

    apisec_kc_touch(e);
    kc->last = e;
    rc = APISEC_OK;

done:

    if (!st->hold) {
        apisec_store_reset(st);
    }

    return rc;
}


int
apisec_key_hmac(apisec_store_t *st, apisec_hmac_t *h, const apisec_key_t *k,
    const uint8_t *data, size_t len, uint8_t *mac)
{
    int                 rc, n;
    char                secret[APISEC_SECRET_MAX];
    size_t              slen;
    apisec_kc_entry_t  *e;

    if (st == NULL || h == NULL || k == NULL || mac == NULL) {
        return APISEC_ERR_INVALID;
    }

    /* the entry of the last apisec_key_get, when it is this key as read */

    e = (st->cache != NULL) ? st->cache->last : NULL;

    if (e != NULL && k != &e->key
        && (e->key.secret_len != k->secret_len
            || memcmp(e->key.secret, k->secret, k->secret_len) != 0
            || strcmp(e->key.access_key, k->access_key) != 0))
    {
        e = NULL;
    }

    /*
     * The secret is unsealed once and kept in the entry (wiped when the
     * entry goes or the sealed secret changes); the HMAC runs in the
     * handle's one digest context, which stays in the processor's cache,
     * where contexts prepared for each key are objects of OpenSSL's
     * scattered over the heap, copied (a free and an allocation) for each
     * use: measured, the pads hashed again each time are the cheaper
     * (docs/benchmarks.md)
     */

    if (e != NULL && e->padded) {
        n = apisec_hmac_sha256_padded(h, e->pads, data, len, mac);

    } else if (e != NULL && e->slen != 0) {
        n = apisec_hmac_sha256(h, e->plain, e->slen, data, len, mac);

    } else {
        rc = apisec_key_get_secret(st, k, secret, sizeof(secret), &slen);
        if (rc != APISEC_OK) {
            return rc;
        }

        n = apisec_hmac_sha256(h, (const uint8_t *) secret, slen, data, len,
                               mac);

        if (e != NULL && n == 0 && slen <= sizeof(e->plain)) {
            memcpy(e->plain, secret, slen);
            e->slen = (uint16_t) slen;

            /* the pads hashed once, where the build can (not EVP only) */

            e->padded = (apisec_hmac_sha256_pads(h, (const uint8_t *) secret,
                                                 slen, e->pads)
                         == 0);
        }

        apisec_wipe(secret, sizeof(secret));
    }

    if (n != 0) {
        apisec_store_err(st->err, sizeof(st->err), "HMAC-SHA256 failed");
        return APISEC_ERR_CRYPTO;
    }

    return APISEC_OK;
}


static apisec_kc_t *
apisec_kc_new(size_t max)
{
    size_t        n, table;
    void         *map;
    apisec_kc_t  *kc;

    kc = calloc(1, sizeof(apisec_kc_t));
    if (kc == NULL) {
        return NULL;
    }

    /*
     * about two buckets an entry, then the entries, in one mapping that
     * the kernel fills with zeroes page by page as the cache fills
     */

    for (n = 1; n < 2 * max; n <<= 1) { /* void */ }

    table = n * sizeof(apisec_kc_entry_t *);
    table = (table + APISEC_KC_LINE - 1) & ~(size_t) (APISEC_KC_LINE - 1);

    kc->stride = (sizeof(apisec_kc_entry_t) + APISEC_KC_LINE - 1)
                 & ~(size_t) (APISEC_KC_LINE - 1);
    kc->map_len = table + max * kc->stride;

    map = mmap(NULL, kc->map_len, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if (map == MAP_FAILED) {
        free(kc);
        return NULL;
    }

#ifdef MADV_DONTDUMP
    (void) madvise(map, kc->map_len, MADV_DONTDUMP);
#endif

    kc->map = map;
    kc->buckets = map;
    kc->entries = (uint8_t *) map + table;
    kc->mask = n - 1;
    kc->max = max;
    kc->txnid = (size_t) -1;
    kc->lru.prev = &kc->lru;
    kc->lru.next = &kc->lru;

    return kc;
}


static void
apisec_kc_free(apisec_kc_t *kc)
{
    size_t              i;
    apisec_kc_entry_t  *e, *next;

    if (kc == NULL) {
        return;
    }

    for (i = 0; i <= kc->mask; i++) {
        for (e = kc->buckets[i]; e != NULL; e = next) {
            next = e->next;
            apisec_kc_forget(e);
            free(e->rec);
        }
    }

    (void) munmap(kc->map, kc->map_len);
    free(kc);
}


/*
 * FNV-1a, eight bytes at a time: the table holds only keys found in the
 * store, so that a chosen access key cannot crowd a bucket
 */

static uint32_t
apisec_kc_hash(const char *ak, size_t len)
{
    size_t    i;
    uint64_t  h, w;

    h = 14695981039346656037ULL;

    for (i = 0; i + 8 <= len; i += 8) {
        memcpy(&w, ak + i, 8);
        h = (h ^ w) * 1099511628211ULL;
    }

    for ( /* void */ ; i < len; i++) {
        h = (h ^ (uint8_t) ak[i]) * 1099511628211ULL;
    }

    return (uint32_t) (h ^ (h >> 32));
}


/*
 * The generation of the keys in the snapshot txnid.  Every commit of this
 * code writes meta "cache": the generation, moved on when a key record
 * changed (beyond a last use: apisec_key_touch) or when a commit not of
 * this code came before (apisec_store_generation), and the commit's own
 * transaction id.  When the snapshot's last commit is not the one that
 * wrote it (a writer that does not keep it: an older apisecctl, mdb_load),
 * the generation is one made up here, that no entry has: every key is
 * looked at again.  So the flushes of last uses, a few a minute, keep the
 * cache, and anything else empties it.
 */

static void
apisec_kc_generation(apisec_store_t *st, apisec_kc_t *kc, size_t txnid)
{
    MDB_val   key, val;
    uint64_t  gen;

    key.mv_data = APISEC_META_CACHE;
    key.mv_size = sizeof(APISEC_META_CACHE) - 1;

    gen = 0;

    if (mdb_get(st->rtxn, st->meta, &key, &val) == MDB_SUCCESS
        && val.mv_size == 16
        && apisec_dec_be64((const uint8_t *) val.mv_data + 8)
           == (uint64_t) txnid)
    {
        gen = apisec_dec_be64(val.mv_data) & ~APISEC_CACHE_LOCAL;

    } else {
        gen = APISEC_CACHE_LOCAL | ++kc->local;
    }

    kc->txnid = txnid;
    kc->gen = gen;
}


/* meta "cache" of the commit of w (apisec_kc_generation) */

static int
apisec_store_generation(apisec_wtxn_t *w)
{
    int       mrc;
    size_t    txnid;
    MDB_val   key, val;
    uint8_t   buf[16];
    uint64_t  gen, last;

    key.mv_data = APISEC_META_CACHE;
    key.mv_size = sizeof(APISEC_META_CACHE) - 1;

    txnid = mdb_txn_id(w->txn);
    gen = 0;
    last = 0;

    mrc = mdb_get(w->txn, w->st->meta, &key, &val);

    if (mrc == MDB_SUCCESS && val.mv_size == 16) {
        gen = apisec_dec_be64(val.mv_data) & ~APISEC_CACHE_LOCAL;
        last = apisec_dec_be64((const uint8_t *) val.mv_data + 8);

    } else if (mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND) {
        return mrc;
    }

    if (w->keys_changed || last + 1 != (uint64_t) txnid) {
        gen = (gen + 1) & ~APISEC_CACHE_LOCAL;
    }

    apisec_enc_be64(buf, gen);
    apisec_enc_be64(buf + 8, (uint64_t) txnid);

    val.mv_data = buf;
    val.mv_size = sizeof(buf);

    return mdb_put(w->txn, w->st->meta, &key, &val, 0);
}


/*
 * The lines of an entry a request reads: its first, the key's numbers,
 * access key and account, and the HMAC's pads (its first read, a miss of
 * its own otherwise: perf), asked for at once, not one after the other as
 * the code reads them.  Only addresses are computed: nothing of the entry
 * is read.
 */

static void
apisec_kc_prefetch(apisec_kc_entry_t *e)
{
    apisec_prefetch(e);
    apisec_prefetch((uint8_t *) e + APISEC_KC_LINE);
    apisec_prefetch(e->key.access_key);
    apisec_prefetch(e->key.account);
    apisec_prefetch(e->pads);
}


static apisec_kc_entry_t *
apisec_kc_find(apisec_kc_t *kc, const char *ak, size_t len, uint32_t hash)
{
    apisec_kc_entry_t  *e;

    for (e = kc->buckets[hash & kc->mask]; e != NULL; e = e->next) {

        apisec_kc_prefetch(e);

        if (e->hash == hash && memcmp(e->key.access_key, ak, len) == 0
            && e->key.access_key[len] == '\0')
        {
            return e;
        }
    }

    return NULL;
}


/*
 * e used again: marked, not moved.  A move touches the neighbours' cache
 * lines, and a request's key is mostly not in the processor's cache: the
 * list is a clock (second chance), in order of the last move to its front,
 * and an entry used since then is moved when it comes to the tail.
 */

static void
apisec_kc_touch(apisec_kc_entry_t *e)
{
    if (!e->used) {
        e->used = 1;
    }
}


/* the entry to drop: the tail's, once those used since their move move */

static apisec_kc_entry_t *
apisec_kc_victim(apisec_kc_t *kc)
{
    size_t              n;
    apisec_kc_entry_t  *e;

    e = apisec_kc_entry(kc->lru.prev);

    /* each is moved once at most: after n moves, the tail is unused */

    for (n = 0; n < kc->n && e->used; n++) {
        apisec_kc_use(kc, e);
        e = apisec_kc_entry(kc->lru.prev);
    }

    return e;
}


/* e to the front of the list (unlinked first when linked), unmarked */

static void
apisec_kc_use(apisec_kc_t *kc, apisec_kc_entry_t *e)
{
    e->used = 0;

    if (e->lru.next != NULL) {
        e->lru.prev->next = e->lru.next;
        e->lru.next->prev = e->lru.prev;
    }

    e->lru.prev = &kc->lru;
    e->lru.next = kc->lru.next;
    kc->lru.next->prev = &e->lru;
    kc->lru.next = &e->lru;
}


/*
 * The record val, decoded into k, into e (NULL: a new entry, or the least
 * recently used one when the cache is full).  Without memory, nothing is
 * cached.
 */

static void
apisec_kc_put(apisec_kc_t *kc, apisec_kc_entry_t *e, uint32_t hash,
    const MDB_val *val, const apisec_key_t *k)
{
    uint8_t  *rec;

    if (e == NULL && kc->n == kc->max) {
        apisec_kc_drop(kc, apisec_kc_victim(kc));
    }

    if (e == NULL) {

        /* one dropped, or the next of the mapping: n < max of them are used */

        if (kc->free != NULL) {
            e = kc->free;
            kc->free = e->next;

        } else {
            e = (apisec_kc_entry_t *) (kc->entries + kc->carved++ * kc->stride);
        }

        e->hash = hash;
        e->next = kc->buckets[hash & kc->mask];
        kc->buckets[hash & kc->mask] = e;
        kc->n++;
    }

    if (e->cap < val->mv_size) {
        rec = realloc(e->rec, val->mv_size);
        if (rec == NULL) {
            apisec_kc_drop(kc, e);
            return;
        }

        e->rec = rec;
        e->cap = val->mv_size;
    }

    /* a secret sealed again (rotated) is unsealed again */

    if (e->slen != 0
        && (e->key.secret_len != k->secret_len
            || memcmp(e->key.secret, k->secret, k->secret_len) != 0))
    {
        apisec_kc_forget(e);
    }

    memcpy(e->rec, val->mv_data, val->mv_size);
    e->len = val->mv_size;
    e->gen = kc->gen;
    memcpy(&e->key, k, sizeof(apisec_key_t));

    apisec_kc_use(kc, e);
    kc->last = e;
}


/* e's unsealed secret wiped */

static void
apisec_kc_forget(apisec_kc_entry_t *e)
{
    apisec_wipe(e->pads, sizeof(e->pads));
    apisec_wipe(e->plain, sizeof(e->plain));
    e->padded = 0;
    e->slen = 0;
}


/* unlinks and frees e (and wipes its secret) */

static void
apisec_kc_drop(apisec_kc_t *kc, apisec_kc_entry_t *e)
{
    apisec_kc_entry_t  **pp;

    for (pp = &kc->buckets[e->hash & kc->mask]; *pp != e; pp = &(*pp)->next) {
        /* void */
    }

    *pp = e->next;

    if (e->lru.next != NULL) {
        e->lru.prev->next = e->lru.next;
        e->lru.next->prev = e->lru.prev;
    }

    if (kc->last == e) {
        kc->last = NULL;
    }

    kc->n--;

    /* wiped whole, secret and key: a new entry is all zeroes */

    free(e->rec);
    apisec_wipe(e, sizeof(apisec_kc_entry_t));

    e->next = kc->free;
    kc->free = e;
}


int
apisec_key_foreach(apisec_store_t *st, apisec_key_cb cb, void *arg)
{
    return apisec_key_walk(st, NULL, 0, (size_t) -1, cb, arg, NULL);
}


int
apisec_key_walk(apisec_store_t *st, const char *after, size_t alen,
    size_t limit, apisec_key_cb cb, void *arg, size_t *visited)
{
    int            rc, mrc, i;
    size_t         n;
    MDB_txn       *txn;
    MDB_val        key, val;
    MDB_cursor    *cur;
    MDB_cursor_op  op;
    apisec_key_t   k;

    if (visited != NULL) {
        *visited = 0;
    }

    if (st == NULL || cb == NULL || (alen > 0 && after == NULL)) {
        return APISEC_ERR_INVALID;
    }

    txn = NULL;
    mrc = MDB_MAP_RESIZED;

    for (i = 0; i < 2; i++) {
        mrc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);

        if (mrc != MDB_MAP_RESIZED || i == 1) {
            break;
        }

        mrc = apisec_store_remap(st);
        if (mrc != MDB_SUCCESS) {
            break;
        }
    }

    if (mrc != MDB_SUCCESS) {
        return apisec_store_lmdb(st, mrc, "cannot begin a read transaction");
    }

    mrc = mdb_cursor_open(txn, st->keys, &cur);
    if (mrc != MDB_SUCCESS) {
        mdb_txn_abort(txn);
        return apisec_store_lmdb(st, mrc, "cannot open a cursor");
    }

    st->active++;

    rc = APISEC_OK;
    op = MDB_FIRST;

    if (alen > 0) {
        /* the first key after `after` */
        key.mv_data = (void *) after;
        key.mv_size = alen;
        op = MDB_SET_RANGE;
    }

    for (n = 0; n < limit; /* void */) {
        mrc = mdb_cursor_get(cur, &key, &val, op);
        op = MDB_NEXT;

        if (mrc == MDB_NOTFOUND) {
            break;
        }

        if (mrc != MDB_SUCCESS) {
            rc = apisec_store_lmdb(st, mrc, "key scan");
            break;
        }

        if (alen > 0 && key.mv_size == alen
            && memcmp(key.mv_data, after, alen) == 0)
        {
            continue;               /* `after` itself */
        }

        rc = apisec_store_record(st, &key, &val, &k);
        if (rc != APISEC_OK) {
            break;
        }

        n++;

        rc = cb(&k, arg);
        if (rc != 0) {
            break;
        }
    }

    if (visited != NULL) {
        *visited = n;
    }

    st->active--;

    mdb_cursor_close(cur);
    mdb_txn_abort(txn);

    return rc;
}


int
apisec_store_begin(apisec_store_t *st, apisec_wtxn_t **txnp)
{
    int             mrc, i;
    apisec_wtxn_t  *w;

    if (st == NULL || txnp == NULL) {
        return APISEC_ERR_INVALID;
    }

    *txnp = NULL;

    if (st->flags & APISEC_OPEN_RDONLY) {
        apisec_store_err(st->err, sizeof(st->err), "store \"%s\" is open "
                         "read-only", st->dir);
        return APISEC_ERR_INVALID;
    }

    /* one write transaction at a time per handle, whatever the thread */

    if (pthread_mutex_lock(&st->wlock) != 0) {
        apisec_store_err(st->err, sizeof(st->err), "a write transaction on "
                         "store \"%s\" is in progress already", st->dir);
        return APISEC_ERR_INVALID;
    }

    w = calloc(1, sizeof(apisec_wtxn_t));
    if (w == NULL) {
        (void) pthread_mutex_unlock(&st->wlock);
        apisec_store_err(st->err, sizeof(st->err), "out of memory");
        return APISEC_ERR_SYSTEM;
    }

    mrc = MDB_MAP_RESIZED;

    for (i = 0; i < 2; i++) {
        mrc = mdb_txn_begin(st->env, NULL, 0, &w->txn);

        if (mrc != MDB_MAP_RESIZED || i == 1 || st->threaded) {
            break;
        }

        mrc = apisec_store_remap(st);
        if (mrc != MDB_SUCCESS) {
            break;
        }
    }

    if (mrc != MDB_SUCCESS) {
        free(w);
        (void) pthread_mutex_unlock(&st->wlock);
        return apisec_store_lmdb(st, mrc,
                                 "cannot begin a write transaction");
    }

    w->st = st;
    st->wtxn = w;
    st->write_txns++;
    *txnp = w;

    return APISEC_OK;
}


int
apisec_store_commit(apisec_wtxn_t *w)
{
    int              mrc, rc;
    apisec_store_t  *st;

    if (w == NULL) {
        return APISEC_ERR_INVALID;
    }

    st = w->st;
    st->wtxn = NULL;

    if (w->failed != APISEC_OK) {
        /* LMDB refuses to commit after a failed put; keep its reason */
        rc = w->failed;
        mdb_txn_abort(w->txn);
        free(w);
        (void) pthread_mutex_unlock(&st->wlock);
        return rc;
    }

    mrc = w->dirty ? apisec_store_generation(w) : MDB_SUCCESS;

    if (mrc != MDB_SUCCESS) {
        mdb_txn_abort(w->txn);

    } else {
        mrc = mdb_txn_commit(w->txn);
    }

    free(w);

    rc = (mrc == MDB_SUCCESS) ? APISEC_OK
                              : apisec_store_lmdb(st, mrc, "commit");

    (void) pthread_mutex_unlock(&st->wlock);

    return rc;
}


void
apisec_store_abort(apisec_wtxn_t *w)
{
    if (w == NULL) {
        return;
    }

    w->st->wtxn = NULL;
    mdb_txn_abort(w->txn);
    (void) pthread_mutex_unlock(&w->st->wlock);
    free(w);
}


int
apisec_key_get_w(apisec_wtxn_t *w, const char *ak, size_t aklen,
    apisec_key_t *out)
{
    int      mrc;
    MDB_val  key, val;

    if (w == NULL || ak == NULL || out == NULL) {
        return APISEC_ERR_INVALID;
    }

    if (!apisec_valid_access_key(ak, aklen)) {
        apisec_store_err(w->st->err, sizeof(w->st->err),
                         "invalid access key");
        return APISEC_ERR_NOTFOUND;
    }

    key.mv_data = (void *) ak;
    key.mv_size = aklen;

    mrc = mdb_get(w->txn, w->st->keys, &key, &val);
    if (mrc != MDB_SUCCESS) {
        return apisec_store_lmdb(w->st, mrc, "key lookup");
    }

    return apisec_store_record(w->st, &key, &val, out);
}


int
apisec_key_put(apisec_wtxn_t *w, const apisec_key_t *k, int overwrite)
{
    int          rc, mrc;
    size_t       len;
    MDB_val      key, val;
    uint8_t      buf[APISEC_RECORD_MAX];
    const char  *field;

    if (w == NULL || k == NULL) {
        return APISEC_ERR_INVALID;
    }

    field = apisec_key_check(k);

    if (field != NULL) {
        apisec_store_err(w->st->err, sizeof(w->st->err),
                         "invalid %s in key record", field);
        return APISEC_ERR_INVALID;
    }

    rc = apisec_key_encode(k, buf, sizeof(buf), &len);
    if (rc != APISEC_OK) {
        apisec_store_err(w->st->err, sizeof(w->st->err),
                         "invalid key record");
        return rc;
    }

    key.mv_data = (void *) k->access_key;
    key.mv_size = strlen(k->access_key);
    val.mv_data = buf;
    val.mv_size = len;

    w->dirty = 1;
    w->keys_changed = 1;

    mrc = mdb_put(w->txn, w->st->keys, &key, &val,
                  overwrite ? 0 : MDB_NOOVERWRITE);

    if (mrc == MDB_KEYEXIST) {
        apisec_store_err(w->st->err, sizeof(w->st->err),
                         "key \"%s\" exists", k->access_key);
        return APISEC_ERR_EXISTS;
    }

    if (mrc != MDB_SUCCESS) {
        rc = apisec_store_lmdb(w->st, mrc, "storing a key");
        w->failed = rc;
        return rc;
    }

    return APISEC_OK;
}


int
apisec_key_del(apisec_wtxn_t *w, const char *ak, size_t aklen)
{
    int      rc, mrc;
    MDB_val  key;

    if (w == NULL || ak == NULL) {
        return APISEC_ERR_INVALID;
    }

    if (!apisec_valid_access_key(ak, aklen)) {
        apisec_store_err(w->st->err, sizeof(w->st->err),
                         "invalid access key");
        return APISEC_ERR_NOTFOUND;
    }

    key.mv_data = (void *) ak;
    key.mv_size = aklen;

    w->dirty = 1;
    w->keys_changed = 1;

    mrc = mdb_del(w->txn, w->st->keys, &key, NULL);

    if (mrc == MDB_NOTFOUND) {
        apisec_store_err(w->st->err, sizeof(w->st->err),
                         "no key \"%.*s\"", (int) aklen, ak);
        return APISEC_ERR_NOTFOUND;
    }

    if (mrc != MDB_SUCCESS) {
        rc = apisec_store_lmdb(w->st, mrc, "deleting a key");
        w->failed = rc;
        return rc;
    }

    return APISEC_OK;
}


int
apisec_key_set_secret(apisec_store_t *st, apisec_key_t *k,
    const char *secret, size_t len)
{
    size_t  aklen;

    if (st == NULL || k == NULL || secret == NULL || len == 0
        || len > APISEC_SECRET_MAX)
    {
        return APISEC_ERR_INVALID;
    }

    aklen = strnlen(k->access_key, sizeof(k->access_key));

    if (!apisec_valid_access_key(k->access_key, aklen)) {
        apisec_store_err(st->err, sizeof(st->err), "invalid access key");
        return APISEC_ERR_INVALID;
    }

    if (apisec_seal(st->mk, (const uint8_t *) k->access_key, aklen,
                    (const uint8_t *) secret, len, k->secret,
                    sizeof(k->secret), &k->secret_len)
        != 0)
    {
        k->secret_len = 0;
        apisec_store_err(st->err, sizeof(st->err), "cannot seal the secret "
                         "of key \"%s\"", k->access_key);
        return APISEC_ERR_CRYPTO;
    }

    return APISEC_OK;
}


int
apisec_key_get_secret(apisec_store_t *st, const apisec_key_t *k, char *out,
    size_t cap, size_t *len)
{
    size_t  aklen;

    if (st == NULL || k == NULL || out == NULL || len == NULL
        || k->secret_len <= APISEC_SEAL_OVERHEAD
        || k->secret_len > sizeof(k->secret))
    {
        return APISEC_ERR_INVALID;
    }

    if (k->secret_len - APISEC_SEAL_OVERHEAD > cap) {
        apisec_store_err(st->err, sizeof(st->err), "secret buffer too small");
        return APISEC_ERR_INVALID;
    }

    aklen = strnlen(k->access_key, sizeof(k->access_key));

    if (apisec_unseal(st->mk, (const uint8_t *) k->access_key, aklen,
                      k->secret, k->secret_len, (uint8_t *) out, cap, len)
        != 0)
    {
        *len = 0;
        apisec_store_err(st->err, sizeof(st->err), "the secret of key "
                         "\"%.*s\" does not unseal", (int) aklen,
                         k->access_key);
        return APISEC_ERR_CORRUPT;
    }

    return APISEC_OK;
}


static int
apisec_passhash(apisec_store_t *st, apisec_hmac_t *h, const uint8_t *salt,
    const char *pass, size_t len, uint8_t *out)
{
    int      rc;
    uint8_t  pk[APISEC_SHA256_LEN];
    uint8_t  buf[APISEC_PASSHASH_SALT + APISEC_PASSPHRASE_MAX];

    static const char  label[] = "apisec passphrase v1";

    if (apisec_hmac_sha256(h, st->mk, sizeof(st->mk), (const uint8_t *) label,
                           sizeof(label) - 1, pk)
        != 0)
    {
        return APISEC_ERR_CRYPTO;
    }

    memcpy(buf, salt, APISEC_PASSHASH_SALT);
    memcpy(buf + APISEC_PASSHASH_SALT, pass, len);

    rc = apisec_hmac_sha256(h, pk, sizeof(pk), buf, APISEC_PASSHASH_SALT + len,
                            out);

    apisec_wipe(pk, sizeof(pk));
    apisec_wipe(buf, sizeof(buf));

    return (rc == 0) ? APISEC_OK : APISEC_ERR_CRYPTO;
}


int
apisec_key_set_passphrase(apisec_store_t *st, apisec_hmac_t *h,
    apisec_key_t *k, const char *pass, size_t len)
{
    uint8_t  salt[APISEC_PASSHASH_SALT];

    if (st == NULL || h == NULL || k == NULL
        || !apisec_valid_passphrase(pass, len))
    {
        return APISEC_ERR_INVALID;
    }

    if (apisec_random_bytes(salt, sizeof(salt)) != 0) {
        return APISEC_ERR_CRYPTO;
    }

    if (apisec_passhash(st, h, salt, pass, len,
                        k->passhash + APISEC_PASSHASH_SALT)
        != APISEC_OK)
    {
        k->passhash_len = 0;
        return APISEC_ERR_CRYPTO;
    }

    memcpy(k->passhash, salt, sizeof(salt));
    k->passhash_len = APISEC_PASSHASH_LEN;

    return APISEC_OK;
}


int
apisec_key_check_passphrase(apisec_store_t *st, apisec_hmac_t *h,
    const apisec_key_t *k, const char *pass, size_t len)
{
    int      ok;
    uint8_t  mac[APISEC_SHA256_LEN];

    if (st == NULL || h == NULL || k == NULL
        || k->passhash_len != APISEC_PASSHASH_LEN
        || !apisec_valid_passphrase(pass, len))
    {
        return 0;
    }

    if (apisec_passhash(st, h, k->passhash, pass, len, mac) != APISEC_OK) {
        return 0;
    }

    ok = apisec_ct_equal(mac, sizeof(mac), k->passhash + APISEC_PASSHASH_SALT,
                         APISEC_PASSHASH_LEN - APISEC_PASSHASH_SALT);

    apisec_wipe(mac, sizeof(mac));

    return ok;
}


static int
apisec_store_count_reader(const char *msg, void *ctx)
{
    unsigned  *n;

    n = ctx;

    while (*msg == ' ') {
        msg++;
    }

    if (*msg >= '0' && *msg <= '9') {
        (*n)++;
    }

    return 0;
}


int
apisec_store_stat(apisec_store_t *st, apisec_store_stat_t *stat)
{
    int          mrc;
    MDB_stat     ms;
    unsigned     readers;
    MDB_envinfo  info;

    if (st == NULL || stat == NULL) {
        return APISEC_ERR_INVALID;
    }

    memset(stat, 0, sizeof(apisec_store_stat_t));

    mrc = apisec_store_renew(st);
    if (mrc != MDB_SUCCESS) {
        return apisec_store_lmdb(st, mrc, "cannot begin a read transaction");
    }

    mrc = mdb_stat(st->rtxn, st->keys, &ms);
    apisec_store_reset(st);

    if (mrc != MDB_SUCCESS) {
        return apisec_store_lmdb(st, mrc, "key count");
    }

    stat->keys = ms.ms_entries;

    mrc = mdb_env_info(st->env, &info);

    if (mrc == MDB_SUCCESS) {
        mrc = mdb_env_stat(st->env, &ms);
    }

    if (mrc != MDB_SUCCESS) {
        return apisec_store_lmdb(st, mrc, "store statistics");
    }

    stat->write_txns = st->write_txns;
    stat->map_size = info.me_mapsize;
    stat->map_used = (info.me_last_pgno + 1) * ms.ms_psize;
    stat->readers_max = info.me_maxreaders;

    readers = 0;
    (void) mdb_reader_list(st->env, apisec_store_count_reader, &readers);
    stat->readers_used = readers;

    return APISEC_OK;
}


int
apisec_store_reader_check(apisec_store_t *st, int *dead)
{
    int  mrc, n;

    if (st == NULL) {
        return APISEC_ERR_INVALID;
    }

    n = 0;

    mrc = mdb_reader_check(st->env, &n);
    if (mrc != MDB_SUCCESS) {
        return apisec_store_lmdb(st, mrc, "reader check");
    }

    if (dead != NULL) {
        *dead = n;
    }

    return APISEC_OK;
}


/*
 * Backup and restore.  The file is made under a temporary name beside its
 * place (mkstemp: mode 0600, in the same directory, so that the move is a
 * rename), synced, and only then moved: a reader of path sees either
 * nothing or the whole copy.  Without overwrite the move is a link(),
 * which refuses a path that appeared meanwhile.
 */

static int
apisec_copy_begin(apisec_copy_t *c, const char *path, const char *what,
    const char *avoid, char *err, size_t errlen)
{
    int          n;
    size_t       len;
    const char  *slash;
    struct stat  sb, ab;

    len = strlen(path);
    slash = strrchr(path, '/');

    if (slash == NULL) {
        n = snprintf(c->dir, sizeof(c->dir), ".");

    } else if (slash == path) {
        n = snprintf(c->dir, sizeof(c->dir), "/");

    } else {
        n = snprintf(c->dir, sizeof(c->dir), "%.*s", (int) (slash - path),
                     path);
    }

    if (n < 0 || (size_t) n >= sizeof(c->dir)
        || len + sizeof(".tmp.XXXXXX") > sizeof(c->tmp))
    {
        apisec_store_err(err, errlen, "cannot write %s \"%s\": the path is "
                         "too long", what, path);
        return APISEC_ERR_INVALID;
    }

    if (stat(c->dir, &sb) == -1) {
        if (errno == ENOENT) {
            apisec_store_err(err, errlen, "cannot write %s \"%s\": "
                             "directory \"%s\" does not exist",
                             what, path, c->dir);

        } else {
            apisec_store_err(err, errlen, "cannot write %s \"%s\": "
                             "directory \"%s\": %s",
                             what, path, c->dir, strerror(errno));
        }

        return APISEC_ERR_SYSTEM;
    }

    if (!S_ISDIR(sb.st_mode)) {
        apisec_store_err(err, errlen, "cannot write %s \"%s\": \"%s\" is "
                         "not a directory", what, path, c->dir);
        return APISEC_ERR_SYSTEM;
    }

    /* a backup in the store's own directory could replace data.mdb */

    if (avoid != NULL && stat(avoid, &ab) == 0
        && ab.st_dev == sb.st_dev && ab.st_ino == sb.st_ino)
    {
        apisec_store_err(err, errlen, "cannot write %s \"%s\": it is in "
                         "the store's directory \"%s\"", what, path, avoid);
        return APISEC_ERR_INVALID;
    }

    if (path[len - 1] == '/'
        || (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)))
    {
        apisec_store_err(err, errlen, "cannot write %s \"%s\": it is a "
                         "directory", what, path);
        return APISEC_ERR_SYSTEM;
    }

    memcpy(c->tmp, path, len);
    memcpy(c->tmp + len, ".tmp.XXXXXX", sizeof(".tmp.XXXXXX"));

    c->fd = mkstemp(c->tmp);

    if (c->fd == -1) {
        apisec_store_err(err, errlen, "cannot write %s \"%s\": cannot "
                         "create a file in \"%s\": %s",
                         what, path, c->dir, strerror(errno));
        c->tmp[0] = '\0';
        return APISEC_ERR_SYSTEM;
    }

    if (fchmod(c->fd, 0600) == -1) {
        apisec_store_err(err, errlen, "cannot write %s \"%s\": %s",
                         what, path, strerror(errno));
        return APISEC_ERR_SYSTEM;
    }

    return APISEC_OK;
}


/* the data of the temporary file on disk, and the file closed */

static int
apisec_copy_sync(apisec_copy_t *c, const char *what, char *err,
    size_t errlen)
{
    int  rc;

    rc = fsync(c->fd);

    if (rc == 0) {
        rc = close(c->fd);
        c->fd = -1;
    }

    if (rc == -1) {
        apisec_store_err(err, errlen, "cannot write %s \"%s\": %s",
                         what, c->path, strerror(errno));
        return APISEC_ERR_SYSTEM;
    }

    return APISEC_OK;
}


/* the temporary file moved to its place, and the move on disk */

static int
apisec_copy_place(apisec_copy_t *c, int overwrite, const char *what,
    char *err, size_t errlen)
{
    int          fd, rc, e;
    struct stat  sb;

    if (overwrite) {
        rc = rename(c->tmp, c->path);

    } else {
        rc = link(c->tmp, c->path);
        e = errno;

        if (rc == 0) {
            (void) unlink(c->tmp);

        } else if (e == EEXIST) {
            apisec_store_err(err, errlen, "%s \"%s\" exists already",
                             what, c->path);
            return APISEC_ERR_EXISTS;

        } else if ((e == EPERM || e == EOPNOTSUPP || e == ENOSYS)
                   && lstat(c->path, &sb) == -1 && errno == ENOENT)
        {
            /* a file system without hard links (vfat, some FUSE) */
            rc = rename(c->tmp, c->path);

        } else {
            errno = e;
        }
    }

    if (rc == -1) {
        apisec_store_err(err, errlen, "cannot write %s \"%s\": %s",
                         what, c->path, strerror(errno));
        return APISEC_ERR_SYSTEM;
    }

    c->tmp[0] = '\0';

    fd = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    rc = -1;
    e = errno;

    if (fd != -1) {
        rc = fsync(fd);
        e = errno;
        (void) close(fd);
    }

    if (rc == -1 && e != EINVAL) {
        (void) unlink(c->path);
        apisec_store_err(err, errlen, "cannot write %s \"%s\": cannot sync "
                         "directory \"%s\": %s", what, c->path, c->dir,
                         strerror(e));
        return APISEC_ERR_SYSTEM;
    }

    return APISEC_OK;
}


static void
apisec_copy_discard(apisec_copy_t *c)
{
    if (c->fd != -1) {
        (void) close(c->fd);
        c->fd = -1;
    }

    if (c->tmp[0] != '\0') {
        (void) unlink(c->tmp);
        c->tmp[0] = '\0';
    }
}


/*
 * Open file, a single-file LMDB environment, read-only and without a lock
 * file, and run the checks of apisec_store_open() on it under mk: the
 * format version and the master key check; then count its keys and
 * events.  name is the file's name in messages.  A file shorter than its
 * own last page is refused before any page is read (a truncated copy
 * would fault in the map).
 */

static int
apisec_copy_check(const char *file, const char *name, const uint8_t *mk,
    apisec_backup_info_t *info, char *err, size_t errlen)
{
    int              rc, mrc;
    size_t           need;
    MDB_env         *env;
    MDB_txn         *txn;
    MDB_val          key, val;
    MDB_stat         ms;
    MDB_cursor      *cur;
    MDB_envinfo      ei;
    struct stat      sb;
    apisec_store_t   cp;

    memset(info, 0, sizeof(apisec_backup_info_t));

    if (stat(file, &sb) == -1) {
        apisec_store_err(err, errlen, "cannot open \"%s\": %s",
                         name, strerror(errno));
        return APISEC_ERR_SYSTEM;
    }

    if (!S_ISREG(sb.st_mode)) {
        apisec_store_err(err, errlen, "\"%s\" is not a regular file", name);
        return APISEC_ERR_INVALID;
    }

    if (sb.st_size == 0) {
        apisec_store_err(err, errlen, "\"%s\" is empty, not an apisec "
                         "backup", name);
        return APISEC_ERR_CORRUPT;
    }

    mrc = mdb_env_create(&env);
    if (mrc != MDB_SUCCESS) {
        apisec_store_err(err, errlen, "cannot open \"%s\": %s",
                         name, mdb_strerror(mrc));
        return APISEC_ERR_SYSTEM;
    }

    mrc = mdb_env_set_maxdbs(env, 8);

    if (mrc == MDB_SUCCESS) {
        mrc = mdb_env_open(env, file, MDB_NOSUBDIR | MDB_RDONLY | MDB_NOLOCK
                           | MDB_NORDAHEAD, 0600);
    }

    if (mrc != MDB_SUCCESS) {
        mdb_env_close(env);

        if (mrc == MDB_INVALID) {
            apisec_store_err(err, errlen, "\"%s\" is not an apisec backup "
                             "(not an LMDB file)", name);
            return APISEC_ERR_CORRUPT;
        }

        if (mrc == MDB_VERSION_MISMATCH) {
            apisec_store_err(err, errlen, "\"%s\" was made by another "
                             "version of LMDB", name);
            return APISEC_ERR_VERSION;
        }

        apisec_store_err(err, errlen, "cannot open \"%s\": %s",
                         name, mdb_strerror(mrc));
        return APISEC_ERR_SYSTEM;
    }

    mrc = mdb_env_info(env, &ei);

    if (mrc == MDB_SUCCESS) {
        mrc = mdb_env_stat(env, &ms);
    }

    if (mrc != MDB_SUCCESS) {
        mdb_env_close(env);
        apisec_store_err(err, errlen, "cannot read \"%s\": %s",
                         name, mdb_strerror(mrc));
        return APISEC_ERR_SYSTEM;
    }

    need = (ei.me_last_pgno + 1) * ms.ms_psize;

    if ((uint64_t) sb.st_size < (uint64_t) need) {
        mdb_env_close(env);
        apisec_store_err(err, errlen, "\"%s\" is truncated: %lld bytes of "
                         "%zu", name, (long long) sb.st_size, need);
        return APISEC_ERR_CORRUPT;
    }

    mrc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
    if (mrc != MDB_SUCCESS) {
        mdb_env_close(env);
        apisec_store_err(err, errlen, "cannot read \"%s\": %s",
                         name, mdb_strerror(mrc));
        return APISEC_ERR_SYSTEM;
    }

    memset(&cp, 0, sizeof(apisec_store_t));
    cp.env = env;
    cp.dir = (char *) name;
    memcpy(cp.mk, mk, APISEC_MASTER_KEY_LEN);

    rc = apisec_store_check(&cp, txn, err, errlen);

    apisec_wipe(cp.mk, sizeof(cp.mk));

    /* the messages of the checks speak of stores */

    if (rc == APISEC_ERR_MASTER_KEY) {
        apisec_store_err(err, errlen, "the master key does not open the "
                         "backup \"%s\" (a copy of a store of another "
                         "master key?)", name);

    } else if (rc == APISEC_ERR_NOSTORE) {
        apisec_store_err(err, errlen, "\"%s\" is an LMDB file without "
                         "apisec data, not an apisec backup", name);
    }

    if (rc == APISEC_OK) {
        mrc = mdb_stat(txn, cp.keys, &ms);
        info->keys = ms.ms_entries;

        if (mrc == MDB_SUCCESS && cp.has_events) {
            mrc = mdb_stat(txn, cp.events, &ms);
            info->events = ms.ms_entries;
        }

        if (mrc == MDB_SUCCESS && info->events > 0) {
            mrc = mdb_cursor_open(txn, cp.events, &cur);

            if (mrc == MDB_SUCCESS) {
                mrc = mdb_cursor_get(cur, &key, &val, MDB_LAST);

                if (mrc == MDB_SUCCESS && key.mv_size == 8) {
                    info->last_seq = apisec_dec_be64(key.mv_data);
                }

                mdb_cursor_close(cur);
            }
        }

        if (mrc != MDB_SUCCESS) {
            apisec_store_err(err, errlen, "cannot read \"%s\": %s",
                             name, mdb_strerror(mrc));
            rc = (mrc == MDB_CORRUPTED || mrc == MDB_PAGE_NOTFOUND)
                 ? APISEC_ERR_CORRUPT : APISEC_ERR_SYSTEM;
        }
    }

    mdb_txn_abort(txn);
    mdb_env_close(env);

    info->bytes = (uint64_t) sb.st_size;

    return rc;
}


int
apisec_store_backup(apisec_store_t *st, const char *path, int overwrite,
    apisec_backup_info_t *info)
{
    int                   rc, mrc, i;
    struct stat           sb;
    apisec_copy_t         c;
    apisec_backup_info_t  bi;

    memset(&bi, 0, sizeof(bi));

    if (st == NULL) {
        return APISEC_ERR_INVALID;
    }

    if (path == NULL || path[0] == '\0') {
        apisec_store_err(st->err, sizeof(st->err), "no backup file given");
        return APISEC_ERR_INVALID;
    }

    if (st->wtxn != NULL || st->active > 0) {
        apisec_store_err(st->err, sizeof(st->err), "a backup cannot run "
                         "within a transaction of the same handle");
        return APISEC_ERR_INVALID;
    }

    /* refused before the work; apisec_copy_place() refuses it again */

    if (!overwrite && lstat(path, &sb) == 0 && !S_ISDIR(sb.st_mode)) {
        apisec_store_err(st->err, sizeof(st->err), "backup \"%s\" exists "
                         "already", path);
        return APISEC_ERR_EXISTS;
    }

    memset(&c, 0, sizeof(apisec_copy_t));
    c.fd = -1;
    c.path = path;

    rc = apisec_copy_begin(&c, path, "backup", st->dir, st->err,
                           sizeof(st->err));
    if (rc != APISEC_OK) {
        goto failed;
    }

    mrc = MDB_MAP_RESIZED;

    for (i = 0; i < 2; i++) {
        mrc = mdb_env_copyfd2(st->env, c.fd, MDB_CP_COMPACT);

        if (mrc != MDB_MAP_RESIZED || i == 1) {
            break;
        }

        /* another process grew the map: adopt its size, start again */

        if (ftruncate(c.fd, 0) == -1 || lseek(c.fd, 0, SEEK_SET) == -1) {
            mrc = errno;
            break;
        }

        mrc = apisec_store_remap(st);
        if (mrc != MDB_SUCCESS) {
            break;
        }
    }

    if (mrc != MDB_SUCCESS) {
        apisec_store_err(st->err, sizeof(st->err), "cannot write backup "
                         "\"%s\": %s", path, mdb_strerror(mrc));
        rc = (mrc == MDB_CORRUPTED || mrc == MDB_PAGE_NOTFOUND
              || mrc == MDB_INCOMPATIBLE)
             ? APISEC_ERR_CORRUPT : APISEC_ERR_SYSTEM;
        goto failed;
    }

    rc = apisec_copy_sync(&c, "backup", st->err, sizeof(st->err));

    if (rc == APISEC_OK) {
        rc = apisec_copy_check(c.tmp, path, st->mk, &bi, st->err,
                               sizeof(st->err));
    }

    if (rc == APISEC_OK) {
        rc = apisec_copy_place(&c, overwrite, "backup", st->err,
                               sizeof(st->err));
    }

    if (rc != APISEC_OK) {
        goto failed;
    }

    if (info != NULL) {
        *info = bi;
    }

    return APISEC_OK;

failed:

    apisec_copy_discard(&c);

    return rc;
}


int
apisec_store_restore(const char *file, const char *dir, const uint8_t *mk,
    apisec_backup_info_t *info, char *err, size_t errlen)
{
    int                   rc, in, made, n;
    char                  path[APISEC_PATH_MAX];
    char                 *buf;
    ssize_t               r, w;
    size_t                off;
    uint64_t              copied;
    struct stat           sb;
    apisec_copy_t         c;
    apisec_store_t       *st;
    apisec_backup_info_t  bi;

    memset(&bi, 0, sizeof(bi));

    if (file == NULL || dir == NULL || mk == NULL || file[0] == '\0'
        || dir[0] == '\0')
    {
        apisec_store_err(err, errlen, "no backup file or store directory "
                         "given");
        return APISEC_ERR_INVALID;
    }

    n = snprintf(path, sizeof(path), "%s/data.mdb", dir);

    if (n < 0 || (size_t) n >= sizeof(path)) {
        apisec_store_err(err, errlen, "store path \"%s\" is too long", dir);
        return APISEC_ERR_INVALID;
    }

    in = open(file, O_RDONLY | O_CLOEXEC);

    if (in == -1) {
        apisec_store_err(err, errlen, "cannot open backup \"%s\": %s",
                         file, strerror(errno));
        return APISEC_ERR_SYSTEM;
    }

    /* the file checked before anything is made */

    rc = apisec_copy_check(file, file, mk, &bi, err, errlen);

    if (rc == APISEC_OK && fstat(in, &sb) == -1) {
        apisec_store_err(err, errlen, "cannot read backup \"%s\": %s",
                         file, strerror(errno));
        rc = APISEC_ERR_SYSTEM;
    }

    if (rc != APISEC_OK) {
        (void) close(in);
        return rc;
    }

    memset(&c, 0, sizeof(apisec_copy_t));
    c.fd = -1;
    c.path = path;
    buf = NULL;
    made = 0;

    rc = apisec_store_new_dir(dir, &made, err, errlen);
    if (rc != APISEC_OK) {
        goto failed;
    }

    rc = apisec_copy_begin(&c, path, "store file", NULL, err, errlen);
    if (rc != APISEC_OK) {
        goto failed;
    }

    buf = malloc(APISEC_COPY_BUF);
    if (buf == NULL) {
        apisec_store_err(err, errlen, "cannot restore \"%s\": out of "
                         "memory", file);
        rc = APISEC_ERR_SYSTEM;
        goto failed;
    }

    copied = 0;
    rc = APISEC_OK;

    for ( ;; ) {
        r = read(in, buf, APISEC_COPY_BUF);

        if (r == -1 && errno == EINTR) {
            continue;
        }

        if (r == -1) {
            apisec_store_err(err, errlen, "cannot read backup \"%s\": %s",
                             file, strerror(errno));
            rc = APISEC_ERR_SYSTEM;
            break;
        }

        if (r == 0) {
            break;
        }

        for (off = 0; off < (size_t) r; off += (size_t) w) {
            w = write(c.fd, buf + off, (size_t) r - off);

            if (w == -1 && errno == EINTR) {
                w = 0;
                continue;
            }

            if (w <= 0) {
                apisec_store_err(err, errlen, "cannot write store file "
                                 "\"%s\": %s", path,
                                 w == 0 ? "nothing written"
                                        : strerror(errno));
                rc = APISEC_ERR_SYSTEM;
                break;
            }
        }

        if (rc != APISEC_OK) {
            break;
        }

        copied += (uint64_t) r;
    }

    if (rc == APISEC_OK && copied != (uint64_t) sb.st_size) {
        apisec_store_err(err, errlen, "backup \"%s\" changed while it was "
                         "copied", file);
        rc = APISEC_ERR_SYSTEM;
    }

    if (rc == APISEC_OK) {
        rc = apisec_copy_sync(&c, "store file", err, errlen);
    }

    if (rc == APISEC_OK) {
        rc = apisec_copy_place(&c, 0, "store file", err, errlen);

        if (rc == APISEC_ERR_EXISTS) {
            apisec_store_err(err, errlen, "an apisec store exists already "
                             "at \"%s\"", dir);
        }
    }

    if (rc != APISEC_OK) {
        goto failed;
    }

    /*
     * a new id for the event log: the sequence numbers after the
     * backup's last event are given again, to other events
     */

    rc = apisec_store_open(&st, dir, mk, 0, 0, err, errlen);

    if (rc == APISEC_OK) {
        rc = apisec_store_new_log_id(st);

        if (rc != APISEC_OK) {
            apisec_store_err(err, errlen, "cannot give the restored event "
                             "log a new id: %s", apisec_store_error(st));
        }

        apisec_store_close(st);
    }

    if (rc != APISEC_OK) {
        n = snprintf(path, sizeof(path), "%s/data.mdb", dir);
        if (n > 0 && (size_t) n < sizeof(path)) {
            (void) unlink(path);
        }

        n = snprintf(path, sizeof(path), "%s/lock.mdb", dir);
        if (n > 0 && (size_t) n < sizeof(path)) {
            (void) unlink(path);
        }

        goto failed;
    }

    free(buf);
    (void) close(in);

    if (info != NULL) {
        *info = bi;
        info->bytes = copied;
    }

    return APISEC_OK;

failed:

    apisec_copy_discard(&c);
    free(buf);
    (void) close(in);

    if (made) {
        (void) rmdir(dir);
    }

    return rc;
}


/* the record codec */

static int
apisec_ip_valid(const apisec_cidr_t *c)
{
    unsigned  max, full, rem, i;

    if (c->family == 4) {
        max = 32;

    } else if (c->family == 6) {
        max = 128;

    } else {
        return 0;
    }

    if (c->prefix > max) {
        return 0;
    }

    /* host bits (and bytes beyond an IPv4 address) are zero */

    full = c->prefix / 8;
    rem = c->prefix % 8;

    if (rem && (c->addr[full] & (0xff >> rem)) != 0) {
        return 0;
    }

    for (i = full + (rem ? 1 : 0); i < 16; i++) {
        if (c->addr[i] != 0) {
            return 0;
        }
    }

    return 1;
}


/* NULL when k is a valid record, else the name of the first bad field */

static const char *
apisec_key_check(const apisec_key_t *k)
{
    unsigned  i;

    if (!apisec_valid_access_key(k->access_key,
                                 strnlen(k->access_key,
                                         sizeof(k->access_key))))
    {
        return "access key";
    }

    if (!apisec_valid_account(k->account,
                              strnlen(k->account, sizeof(k->account))))
    {
        return "account";
    }

    if (!apisec_valid_label(k->label, strnlen(k->label, sizeof(k->label)))) {
        return "label";
    }

    if (k->perms == 0 || (k->perms & ~(unsigned) APISEC_PERM_ALL) != 0) {
        return "permissions";
    }

    if (k->status < 0 || k->status > APISEC_STATUS_MAX) {
        return "status";
    }

    if (k->created_at < 0 || k->last_used_at < 0 || k->expires_at < 0
        || k->locked_until < 0 || k->totp_last_step < 0)
    {
        return "time";
    }

    if (k->n_ips > APISEC_IPS_MAX) {
        return "ip list";
    }

    for (i = 0; i < k->n_ips; i++) {
        if (!apisec_ip_valid(&k->ips[i])) {
            return "ip list";
        }
    }

    if (k->secret_len <= APISEC_SEAL_OVERHEAD
        || k->secret_len > APISEC_SEALED_MAX)
    {
        return "sealed secret";
    }

    if (k->totp_len != 0
        && (k->totp_len <= APISEC_SEAL_OVERHEAD
            || k->totp_len > APISEC_TOTP_SEALED_MAX))
    {
        return "sealed totp secret";
    }

    if (k->passhash_len != 0 && k->passhash_len != APISEC_PASSHASH_LEN) {
        return "passphrase hash";
    }

    return NULL;
}


static int
apisec_enc_field(apisec_enc_t *e, unsigned tag, const void *data, size_t len)
{
    if (len > 0xffff || e->cap - e->pos < 3 || e->cap - e->pos - 3 < len) {
        return -1;
    }

    e->buf[e->pos] = (uint8_t) tag;
    e->buf[e->pos + 1] = (uint8_t) (len >> 8);
    e->buf[e->pos + 2] = (uint8_t) len;

    if (len > 0) {
        memcpy(e->buf + e->pos + 3, data, len);
    }

    e->pos += 3 + len;

    return 0;
}


static int
apisec_enc_int(apisec_enc_t *e, unsigned tag, uint64_t v)
{
    uint8_t  b[8];

    apisec_enc_be64(b, v);

    return apisec_enc_field(e, tag, b, sizeof(b));
}


static void
apisec_enc_be64(uint8_t *p, uint64_t v)
{
    int  i;

    for (i = 7; i >= 0; i--) {
        p[i] = (uint8_t) v;
        v >>= 8;
    }
}


static uint64_t
apisec_dec_be64(const uint8_t *p)
{
    int       i;
    uint64_t  v;

    v = 0;

    for (i = 0; i < 8; i++) {
        v = (v << 8) | p[i];
    }

    return v;
}


int
apisec_key_encode(const apisec_key_t *k, uint8_t *buf, size_t cap,
    size_t *len)
{
    uint8_t       *p;
    unsigned       i;
    apisec_enc_t   e;
    uint8_t        ips[APISEC_IPS_MAX * APISEC_IP_REC_LEN];

    if (k == NULL || buf == NULL || len == NULL || cap < 1
        || apisec_key_check(k) != NULL)
    {
        return APISEC_ERR_INVALID;
    }

    e.buf = buf;
    e.cap = cap;
    e.pos = 0;

    buf[e.pos++] = APISEC_RECORD_VERSION;

    /*
     * The record ends with a mandatory field (created_at), so that no
     * proper prefix of a record decodes: a truncation is always refused.
     */

    if (apisec_enc_field(&e, APISEC_TAG_ACCESS_KEY, k->access_key,
                         strlen(k->access_key)) != 0
        || apisec_enc_field(&e, APISEC_TAG_ACCOUNT, k->account,
                            strlen(k->account)) != 0
        || (k->label[0] != '\0'
            && apisec_enc_field(&e, APISEC_TAG_LABEL, k->label,
                                strlen(k->label)) != 0)
        || apisec_enc_int(&e, APISEC_TAG_STATUS, (uint64_t) k->status) != 0
        || apisec_enc_int(&e, APISEC_TAG_PERMS, k->perms) != 0)
    {
        return APISEC_ERR_INVALID;
    }

    if ((k->last_used_at != 0
         && apisec_enc_int(&e, APISEC_TAG_LAST_USED_AT,
                           (uint64_t) k->last_used_at) != 0)
        || (k->expires_at != 0
            && apisec_enc_int(&e, APISEC_TAG_EXPIRES_AT,
                              (uint64_t) k->expires_at) != 0)
        || (k->locked_until != 0
            && apisec_enc_int(&e, APISEC_TAG_LOCKED_UNTIL,
                              (uint64_t) k->locked_until) != 0))
    {
        return APISEC_ERR_INVALID;
    }

    if (k->n_ips > 0) {
        p = ips;

        for (i = 0; i < k->n_ips; i++) {
            *p++ = k->ips[i].family;
            *p++ = k->ips[i].prefix;
            memcpy(p, k->ips[i].addr, 16);
            p += 16;
        }

        if (apisec_enc_field(&e, APISEC_TAG_IPS, ips, (size_t) (p - ips))
            != 0)
        {
            return APISEC_ERR_INVALID;
        }
    }

    if ((k->totp_len != 0
         && apisec_enc_field(&e, APISEC_TAG_TOTP, k->totp, k->totp_len) != 0)
        || (k->totp_last_step != 0
            && apisec_enc_int(&e, APISEC_TAG_TOTP_LAST_STEP,
                              (uint64_t) k->totp_last_step) != 0)
        || (k->passhash_len != 0
            && apisec_enc_field(&e, APISEC_TAG_PASSHASH, k->passhash,
                                k->passhash_len) != 0))
    {
        return APISEC_ERR_INVALID;
    }

    if (apisec_enc_field(&e, APISEC_TAG_SECRET, k->secret, k->secret_len)
        != 0
        || apisec_enc_int(&e, APISEC_TAG_CREATED_AT,
                          (uint64_t) k->created_at) != 0)
    {
        return APISEC_ERR_INVALID;
    }

    *len = e.pos;

    return APISEC_OK;
}


/*
 * Safe on any bytes: every length is bounded by the remaining input and
 * by the field's maximum before anything is copied.
 */

int
apisec_key_decode(const uint8_t *buf, size_t len, apisec_key_t *k)
{
    size_t          pos, flen, i;
    uint32_t        seen;
    unsigned        tag;
    uint64_t        v;
    const uint8_t  *f;

    if (k == NULL) {
        return APISEC_ERR_INVALID;
    }

    memset(k, 0, sizeof(apisec_key_t));

    if (buf == NULL || len < 1 || len > APISEC_RECORD_MAX
        || buf[0] != APISEC_RECORD_VERSION)
    {
        return APISEC_ERR_CORRUPT;
    }

    seen = 0;
    pos = 1;

    while (pos < len) {

        if (len - pos < 3) {
            goto corrupt;
        }

        tag = buf[pos];
        flen = ((size_t) buf[pos + 1] << 8) | buf[pos + 2];
        pos += 3;

        if (flen > len - pos) {
            goto corrupt;
        }

        f = buf + pos;
        pos += flen;

        if (tag >= 1 && tag <= APISEC_TAG_LAST) {
            if (seen & (1u << tag)) {
                goto corrupt;
            }

            seen |= 1u << tag;
        }

        switch (tag) {

        /* strings are checked as stored: a NUL inside is refused */

        case APISEC_TAG_ACCESS_KEY:
            if (!apisec_valid_access_key((const char *) f, flen)) {
                goto corrupt;
            }

            memcpy(k->access_key, f, flen);
            k->access_key[flen] = '\0';
            break;

        case APISEC_TAG_ACCOUNT:
            if (!apisec_valid_account((const char *) f, flen)) {
                goto corrupt;
            }

            memcpy(k->account, f, flen);
            k->account[flen] = '\0';
            break;

        case APISEC_TAG_LABEL:
            if (!apisec_valid_label((const char *) f, flen)) {
                goto corrupt;
            }

            memcpy(k->label, f, flen);
            k->label[flen] = '\0';
            break;

        case APISEC_TAG_SECRET:
            if (flen <= APISEC_SEAL_OVERHEAD || flen > APISEC_SEALED_MAX) {
                goto corrupt;
            }

            memcpy(k->secret, f, flen);
            k->secret_len = flen;
            break;

        case APISEC_TAG_TOTP:
            if (flen <= APISEC_SEAL_OVERHEAD
                || flen > APISEC_TOTP_SEALED_MAX)
            {
                goto corrupt;
            }

            memcpy(k->totp, f, flen);
            k->totp_len = flen;
            break;

        case APISEC_TAG_PASSHASH:
            if (flen != APISEC_PASSHASH_LEN) {
                goto corrupt;
            }

            memcpy(k->passhash, f, flen);
            k->passhash_len = flen;
            break;

        case APISEC_TAG_IPS:
            if (flen % APISEC_IP_REC_LEN != 0
                || flen / APISEC_IP_REC_LEN > APISEC_IPS_MAX)
            {
                goto corrupt;
            }

            k->n_ips = (unsigned) (flen / APISEC_IP_REC_LEN);

            for (i = 0; i < k->n_ips; i++) {
                k->ips[i].family = f[0];
                k->ips[i].prefix = f[1];
                memcpy(k->ips[i].addr, f + 2, 16);
                f += APISEC_IP_REC_LEN;
            }

            break;

        case APISEC_TAG_STATUS:
        case APISEC_TAG_PERMS:
        case APISEC_TAG_CREATED_AT:
        case APISEC_TAG_LAST_USED_AT:
        case APISEC_TAG_EXPIRES_AT:
        case APISEC_TAG_LOCKED_UNTIL:
        case APISEC_TAG_TOTP_LAST_STEP:
            if (flen != 8) {
                goto corrupt;
            }

            v = apisec_dec_be64(f);

            if (v > (uint64_t) INT64_MAX) {
                goto corrupt;
            }

            switch (tag) {
            case APISEC_TAG_STATUS:
                if (v > APISEC_STATUS_MAX) {
                    goto corrupt;
                }

                k->status = (int) v;
                break;

            case APISEC_TAG_PERMS:
                if (v == 0 || v > APISEC_PERM_ALL) {
                    goto corrupt;
                }

                k->perms = (unsigned) v;
                break;

            case APISEC_TAG_CREATED_AT:
                k->created_at = (int64_t) v;
                break;

            case APISEC_TAG_LAST_USED_AT:
                k->last_used_at = (int64_t) v;
                break;

            case APISEC_TAG_EXPIRES_AT:
                k->expires_at = (int64_t) v;
                break;

            case APISEC_TAG_LOCKED_UNTIL:
                k->locked_until = (int64_t) v;
                break;

            default: /* APISEC_TAG_TOTP_LAST_STEP */
                k->totp_last_step = (int64_t) v;
                break;
            }

            break;

        default:
            /* a field of a later version: skipped */
            break;
        }
    }

    if ((seen & APISEC_TAGS_MANDATORY) != APISEC_TAGS_MANDATORY
        || apisec_key_check(k) != NULL)
    {
        goto corrupt;
    }

    return APISEC_OK;

corrupt:

    memset(k, 0, sizeof(apisec_key_t));

    return APISEC_ERR_CORRUPT;
}


/*
 * Idle keys and the event log.
 */

int
apisec_key_idle(const apisec_key_t *k, int64_t now, int64_t idle,
    int unbound_only)
{
    int64_t  last;

    if (idle <= 0 || (unbound_only && k->n_ips > 0)) {
        return 0;
    }

    last = (k->last_used_at != 0) ? k->last_used_at : k->created_at;

    return now - last > idle;
}


int
apisec_key_touch(apisec_wtxn_t *w, const char *ak, size_t aklen, int64_t t)
{
    int           rc;
    unsigned      changed;
    apisec_key_t  k;

    rc = apisec_key_get_w(w, ak, aklen, &k);
    if (rc != APISEC_OK) {
        return rc;
    }

    if (k.last_used_at >= t) {
        return APISEC_OK;
    }

    k.last_used_at = t;

    /* a later last use is not a change a cache must see (apisec_key_read) */

    changed = w->keys_changed;
    rc = apisec_key_put(w, &k, 1);
    w->keys_changed = changed;

    return rc;
}


int
apisec_key_expire_idle(apisec_wtxn_t *w, apisec_key_t *k, int64_t now,
    int64_t idle, const char *by)
{
    int   rc;
    char  last[APISEC_TIME_LEN + 1], extra[160];

    if (w == NULL || k == NULL || by == NULL) {
        return APISEC_ERR_INVALID;
    }

    k->status = APISEC_STATUS_EXPIRED;

    rc = apisec_key_put(w, k, 1);
    if (rc != APISEC_OK) {
        return rc;
    }

    if (k->last_used_at != 0) {
        apisec_format_time(k->last_used_at, last);
        snprintf(extra, sizeof(extra), "\"reason\":\"idle\","
                 "\"idle_seconds\":%lld,\"last_used_at\":\"%s\","
                 "\"by\":\"%s\"", (long long) idle, last, by);

    } else {
        snprintf(extra, sizeof(extra), "\"reason\":\"idle\","
                 "\"idle_seconds\":%lld,\"last_used_at\":null,"
                 "\"by\":\"%s\"", (long long) idle, by);
    }

    return apisec_event_append(w, "key.expired", now, k->access_key,
                               k->account, extra, NULL);
}


int
apisec_event_append(apisec_wtxn_t *w, const char *type, int64_t time,
    const char *ak, const char *account, const char *extra, uint64_t *seqp)
{
    int           mrc, n;
    char          json[APISEC_EVENT_MAX], t[APISEC_TIME_LEN + 1];
    uint8_t       kb[8];
    uint64_t      seq;
    MDB_val       key, val;
    MDB_cursor   *cur;

    if (w == NULL || type == NULL) {
        return APISEC_ERR_INVALID;
    }

    if (!w->st->has_events) {
        apisec_store_err(w->st->err, sizeof(w->st->err), "store \"%s\" has "
                         "no event log", w->st->dir);
        return APISEC_ERR_CORRUPT;
    }

    /* the next sequence number: one more than the last */

    mrc = mdb_cursor_open(w->txn, w->st->events, &cur);
    if (mrc != MDB_SUCCESS) {
        return apisec_store_lmdb(w->st, mrc, "event log");
    }

    mrc = mdb_cursor_get(cur, &key, &val, MDB_LAST);
    mdb_cursor_close(cur);

    if (mrc == MDB_NOTFOUND) {
        seq = 1;

    } else if (mrc == MDB_SUCCESS && key.mv_size == 8) {
        seq = apisec_dec_be64(key.mv_data) + 1;

    } else {
        return apisec_store_lmdb(w->st, mrc == MDB_SUCCESS ? MDB_CORRUPTED
                                                           : mrc,
                                 "event log");
    }

    apisec_format_time(time, t);

    n = snprintf(json, sizeof(json), "{\"seq\":%llu,\"type\":\"%s\","
                 "\"time\":\"%s\"", (unsigned long long) seq, type, t);

    if (ak != NULL && ak[0] != '\0') {
        n += snprintf(json + n, sizeof(json) - n, ",\"access_key\":\"%s\"",
                      ak);
    }

    if (account != NULL && account[0] != '\0' && n < (int) sizeof(json)) {
        n += snprintf(json + n, sizeof(json) - n, ",\"account\":\"%s\"",
                      account);
    }

    if (extra != NULL && extra[0] != '\0' && n < (int) sizeof(json)) {
        n += snprintf(json + n, sizeof(json) - n, ",%s", extra);
    }

    if (n >= (int) sizeof(json) - 1) {
        apisec_store_err(w->st->err, sizeof(w->st->err), "event too long");
        return APISEC_ERR_INVALID;
    }

    json[n++] = '}';

    apisec_enc_be64(kb, seq);

    key.mv_data = kb;
    key.mv_size = sizeof(kb);
    val.mv_data = json;
    val.mv_size = (size_t) n;

    w->dirty = 1;

    mrc = mdb_put(w->txn, w->st->events, &key, &val, MDB_APPEND);
    if (mrc != MDB_SUCCESS) {
        w->failed = (mrc == MDB_MAP_FULL) ? APISEC_ERR_MAP_FULL
                                          : APISEC_ERR_SYSTEM;
        return apisec_store_lmdb(w->st, mrc, "event append");
    }

    if (seqp != NULL) {
        *seqp = seq;
    }

    return APISEC_OK;
}


int
apisec_event_foreach(apisec_store_t *st, uint64_t since, apisec_event_cb cb,
    void *arg)
{
    int          mrc, rc;
    uint8_t      kb[8];
    MDB_txn     *txn;
    MDB_val      key, val;
    MDB_cursor  *cur;
    MDB_cursor_op  op;

    if (st == NULL || cb == NULL) {
        return APISEC_ERR_INVALID;
    }

    if (!st->has_events) {
        return APISEC_OK;
    }

    mrc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
    if (mrc != MDB_SUCCESS) {
        return apisec_store_lmdb(st, mrc, "cannot begin a read transaction");
    }

    mrc = mdb_cursor_open(txn, st->events, &cur);
    if (mrc != MDB_SUCCESS) {
        mdb_txn_abort(txn);
        return apisec_store_lmdb(st, mrc, "event log");
    }

    since++;

    apisec_enc_be64(kb, since);

    key.mv_data = kb;
    key.mv_size = sizeof(kb);

    rc = APISEC_OK;

    for (op = MDB_SET_RANGE; /* void */; op = MDB_NEXT) {
        mrc = mdb_cursor_get(cur, &key, &val, op);

        if (mrc == MDB_NOTFOUND) {
            break;
        }

        if (mrc != MDB_SUCCESS || key.mv_size != 8) {
            rc = apisec_store_lmdb(st, mrc == MDB_SUCCESS ? MDB_CORRUPTED
                                                          : mrc,
                                   "event log");
            break;
        }

        rc = cb(apisec_dec_be64(key.mv_data), val.mv_data, val.mv_size, arg);
        if (rc != 0) {
            break;
        }
    }

    mdb_cursor_close(cur);
    mdb_txn_abort(txn);

    return rc;
}


/*
 * The webhook cursors: meta "cursor:" + name -> the sequence number of the
 * last event the subscriber acknowledged (8 bytes, big-endian).
 */

static int
apisec_cursor_key(apisec_store_t *st, const char *name, char *buf,
    size_t cap, MDB_val *key)
{
    size_t  len;

    len = (name != NULL) ? strlen(name) : 0;

    if (len == 0 || len + sizeof(APISEC_META_CURSOR) > cap) {
        apisec_store_err(st->err, sizeof(st->err), "bad cursor name");
        return APISEC_ERR_INVALID;
    }

    memcpy(buf, APISEC_META_CURSOR, sizeof(APISEC_META_CURSOR) - 1);
    memcpy(buf + sizeof(APISEC_META_CURSOR) - 1, name, len);

    key->mv_data = buf;
    key->mv_size = sizeof(APISEC_META_CURSOR) - 1 + len;

    return APISEC_OK;
}


int
apisec_cursor_get(apisec_store_t *st, const char *name, uint64_t *seq)
{
    int      rc, mrc;
    char     buf[APISEC_CURSOR_NAME_MAX + sizeof(APISEC_META_CURSOR)];
    MDB_val  key, val;

    if (st == NULL || seq == NULL) {
        return APISEC_ERR_INVALID;
    }

    *seq = 0;

    rc = apisec_cursor_key(st, name, buf, sizeof(buf), &key);
    if (rc != APISEC_OK) {
        return rc;
    }

    mrc = apisec_store_renew(st);
    if (mrc != MDB_SUCCESS) {
        return apisec_store_lmdb(st, mrc, "cannot begin a read transaction");
    }

    mrc = mdb_get(st->rtxn, st->meta, &key, &val);

    if (mrc == MDB_SUCCESS && val.mv_size == 8) {
        *seq = apisec_dec_be64(val.mv_data);
        rc = APISEC_OK;

    } else if (mrc == MDB_NOTFOUND) {
        rc = APISEC_ERR_NOTFOUND;   /* a subscriber never seen */

    } else {
        rc = apisec_store_lmdb(st, mrc == MDB_SUCCESS ? MDB_CORRUPTED : mrc,
                               "webhook cursor");
    }

    apisec_store_reset(st);

    return rc;
}


int
apisec_cursor_put(apisec_wtxn_t *w, const char *name, uint64_t seq)
{
    int      rc, mrc;
    char     buf[APISEC_CURSOR_NAME_MAX + sizeof(APISEC_META_CURSOR)];
    uint8_t  vb[8];
    MDB_val  key, val;

    if (w == NULL) {
        return APISEC_ERR_INVALID;
    }

    rc = apisec_cursor_key(w->st, name, buf, sizeof(buf), &key);
    if (rc != APISEC_OK) {
        return rc;
    }

    /* a cursor only moves forwards */

    mrc = mdb_get(w->txn, w->st->meta, &key, &val);

    if (mrc == MDB_SUCCESS && val.mv_size == 8
        && apisec_dec_be64(val.mv_data) >= seq)
    {
        return APISEC_OK;
    }

    if (mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND) {
        return apisec_store_lmdb(w->st, mrc, "webhook cursor");
    }

    apisec_enc_be64(vb, seq);

    val.mv_data = vb;
    val.mv_size = sizeof(vb);

    w->dirty = 1;

    mrc = mdb_put(w->txn, w->st->meta, &key, &val, 0);
    if (mrc != MDB_SUCCESS) {
        w->failed = (mrc == MDB_MAP_FULL) ? APISEC_ERR_MAP_FULL
                                          : APISEC_ERR_SYSTEM;
        return apisec_store_lmdb(w->st, mrc, "webhook cursor");
    }

    return APISEC_OK;
}


int
apisec_event_last(apisec_store_t *st, uint64_t *seq)
{
    int          rc, mrc;
    MDB_val      key, val;
    MDB_cursor  *cur;

    if (st == NULL || seq == NULL) {
        return APISEC_ERR_INVALID;
    }

    *seq = 0;

    if (!st->has_events) {
        return APISEC_OK;
    }

    mrc = apisec_store_renew(st);
    if (mrc != MDB_SUCCESS) {
        return apisec_store_lmdb(st, mrc, "cannot begin a read transaction");
    }

    mrc = mdb_cursor_open(st->rtxn, st->events, &cur);

    if (mrc == MDB_SUCCESS) {
        mrc = mdb_cursor_get(cur, &key, &val, MDB_LAST);
        mdb_cursor_close(cur);
    }

    if (mrc == MDB_SUCCESS && key.mv_size == 8) {
        *seq = apisec_dec_be64(key.mv_data);
        rc = APISEC_OK;

    } else if (mrc == MDB_NOTFOUND) {
        rc = APISEC_OK;

    } else {
        rc = apisec_store_lmdb(st, mrc == MDB_SUCCESS ? MDB_CORRUPTED : mrc,
                               "event log");
    }

    apisec_store_reset(st);

    return rc;
}


/*
 * The event log's id: 16 random bytes in meta, made by the first open
 * that may write, and made anew by a restore, whose log gives again the
 * sequence numbers that came after the backup.  Subscribers de-duplicate
 * by the id and the sequence number together.
 */

static int
apisec_log_id_new(MDB_txn *txn, MDB_dbi meta)
{
    int      mrc;
    uint8_t  id[APISEC_LOG_ID_BYTES];
    MDB_val  key, val;

    if (apisec_random_bytes(id, sizeof(id)) != 0) {
        return MDB_PANIC;
    }

    key.mv_data = APISEC_META_LOG_ID;
    key.mv_size = sizeof(APISEC_META_LOG_ID) - 1;
    val.mv_data = id;
    val.mv_size = sizeof(id);

    mrc = mdb_put(txn, meta, &key, &val, 0);

    return mrc;
}


int
apisec_store_log_id(apisec_store_t *st, char *out)
{
    int      rc, mrc;
    MDB_val  key, val;

    out[0] = '\0';

    if (st == NULL) {
        return APISEC_ERR_INVALID;
    }

    mrc = apisec_store_renew(st);
    if (mrc != MDB_SUCCESS) {
        return apisec_store_lmdb(st, mrc, "cannot begin a read transaction");
    }

    key.mv_data = APISEC_META_LOG_ID;
    key.mv_size = sizeof(APISEC_META_LOG_ID) - 1;

    mrc = mdb_get(st->rtxn, st->meta, &key, &val);

    if (mrc == MDB_SUCCESS && val.mv_size == APISEC_LOG_ID_BYTES) {
        apisec_hex_encode(val.mv_data, APISEC_LOG_ID_BYTES, out);
        out[2 * APISEC_LOG_ID_BYTES] = '\0';
        rc = APISEC_OK;

    } else if (mrc == MDB_NOTFOUND) {
        rc = APISEC_OK;             /* a store not yet opened to write */

    } else {
        rc = apisec_store_lmdb(st, mrc == MDB_SUCCESS ? MDB_CORRUPTED : mrc,
                               "event log id");
    }

    apisec_store_reset(st);

    return rc;
}


int
apisec_store_new_log_id(apisec_store_t *st)
{
    int             rc, mrc;
    apisec_wtxn_t  *w;

    rc = apisec_store_begin(st, &w);
    if (rc != APISEC_OK) {
        return rc;
    }

    w->dirty = 1;

    mrc = apisec_log_id_new(w->txn, st->meta);
    if (mrc != MDB_SUCCESS) {
        apisec_store_abort(w);
        return apisec_store_lmdb(st, mrc, "event log id");
    }

    return apisec_store_commit(w);
}


/* where the time of an event's JSON starts, or NULL */

static const char *
apisec_event_time(const char *json, size_t len)
{
    size_t  i;

    for (i = 0; i + 8 <= len; i++) {
        if (json[i] == '"' && memcmp(json + i, "\"time\":\"", 8) == 0) {
            return json + i + 8;
        }
    }

    return NULL;
}


/*
 * Retention: delete the oldest events while their time is before
 * `before` and their sequence number is at most `upto` (what every
 * subscriber has acknowledged), at most limit of them; the last event is
 * always kept, so that sequence numbers never start again.
 */

int
apisec_event_prune(apisec_wtxn_t *w, int64_t before, uint64_t upto,
    size_t limit, size_t *pruned)
{
    int          mrc;
    size_t       n;
    int64_t      t;
    uint64_t     seq, last;
    MDB_val      key, val;
    MDB_cursor  *cur;
    const char  *p, *e;

    *pruned = 0;

    if (w == NULL || !w->st->has_events) {
        return APISEC_OK;
    }

    mrc = mdb_cursor_open(w->txn, w->st->events, &cur);
    if (mrc != MDB_SUCCESS) {
        return apisec_store_lmdb(w->st, mrc, "event log");
    }

    mrc = mdb_cursor_get(cur, &key, &val, MDB_LAST);
    if (mrc != MDB_SUCCESS || key.mv_size != 8) {
        mdb_cursor_close(cur);
        return (mrc == MDB_NOTFOUND || mrc == MDB_SUCCESS)
               ? APISEC_OK : apisec_store_lmdb(w->st, mrc, "event log");
    }

    last = apisec_dec_be64(key.mv_data);

    for (n = 0; n < limit; n++) {
        mrc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
        if (mrc != MDB_SUCCESS || key.mv_size != 8) {
            break;
        }

        seq = apisec_dec_be64(key.mv_data);

        if (seq >= last || seq > upto) {
            break;
        }

        /* the event's time: {"seq":N,"type":"T","time":"RFC3339",... */

        p = apisec_event_time(val.mv_data, val.mv_size);
        if (p == NULL) {
            break;
        }

        e = memchr(p, '"', (const char *) val.mv_data + val.mv_size - p);

        if (e == NULL || apisec_parse_time(p, e - p, &t) != 0 || t >= before)
        {
            break;
        }

        w->dirty = 1;

        mrc = mdb_cursor_del(cur, 0);
        if (mrc != MDB_SUCCESS) {
            mdb_cursor_close(cur);
            w->failed = APISEC_ERR_SYSTEM;
            return apisec_store_lmdb(w->st, mrc, "event log");
        }

        (*pruned)++;
    }

    mdb_cursor_close(cur);

    return APISEC_OK;
}


/*
 * The usage database: windows of the amount rules (apisec_window.h).
 */

int
apisec_usage_get(apisec_store_t *st, const char *key, size_t len,
    apisec_window_t *w)
{
    int      rc, mrc;
    MDB_val  k, v;

    if (st == NULL || key == NULL || len == 0
        || len > APISEC_USAGE_KEY_MAX || w == NULL)
    {
        return APISEC_ERR_INVALID;
    }

    if (!st->has_usage) {
        return APISEC_ERR_NOTFOUND;
    }

    mrc = apisec_store_renew(st);
    if (mrc != MDB_SUCCESS) {
        return apisec_store_lmdb(st, mrc, "cannot begin a read transaction");
    }

    k.mv_data = (void *) key;
    k.mv_size = len;

    mrc = mdb_get(st->rtxn, st->usage, &k, &v);

    if (mrc == MDB_SUCCESS) {
        rc = APISEC_OK;

        if (apisec_window_decode(v.mv_data, v.mv_size, w) != 0) {
            apisec_store_err(st->err, sizeof(st->err), "a usage record in "
                             "store \"%s\" is corrupt", st->dir);
            rc = APISEC_ERR_CORRUPT;
        }

    } else {
        rc = apisec_store_lmdb(st, mrc, "usage lookup");
    }

    apisec_store_reset(st);

    return rc;
}


int
apisec_usage_put(apisec_wtxn_t *txn, const char *key, size_t len,
    const apisec_window_t *w, int *written)
{
    int               mrc;
    size_t            n;
    MDB_val           k, v;
    uint8_t           buf[APISEC_WINDOW_REC_MAX];
    apisec_window_t   old;
    apisec_store_t   *st;

    *written = 0;

    if (txn == NULL || key == NULL || len == 0
        || len > APISEC_USAGE_KEY_MAX || w == NULL)
    {
        return APISEC_ERR_INVALID;
    }

    st = txn->st;

    if (!st->has_usage) {
        apisec_store_err(st->err, sizeof(st->err), "store \"%s\" has no "
                         "usage database", st->dir);
        return APISEC_ERR_CORRUPT;
    }

    k.mv_data = (void *) key;
    k.mv_size = len;

    /* the store keeps the later of two copies: the one with greater gen */

    mrc = mdb_get(txn->txn, st->usage, &k, &v);

    if (mrc == MDB_SUCCESS
        && apisec_window_decode(v.mv_data, v.mv_size, &old) == 0
        && old.gen >= w->gen)
    {
        return APISEC_OK;
    }

    if (mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND) {
        return apisec_store_lmdb(st, mrc, "usage lookup");
    }

    if (apisec_window_encode(w, buf, sizeof(buf), &n) != 0) {
        return APISEC_ERR_INVALID;
    }

    v.mv_data = buf;
    v.mv_size = n;

    txn->dirty = 1;

    mrc = mdb_put(txn->txn, st->usage, &k, &v, 0);

    if (mrc != MDB_SUCCESS) {
        txn->failed = apisec_store_lmdb(st, mrc, "usage write");
        return txn->failed;
    }

    *written = 1;

    return APISEC_OK;
}


int
apisec_usage_foreach(apisec_store_t *st, const char *prefix, size_t plen,
    apisec_usage_cb cb, void *arg)
{
    int              mrc, rc;
    MDB_txn         *txn;
    MDB_val          k, v;
    MDB_cursor      *cur;
    MDB_cursor_op    op;
    apisec_window_t  w;

    if (st == NULL || cb == NULL || plen > APISEC_USAGE_KEY_MAX) {
        return APISEC_ERR_INVALID;
    }

    if (!st->has_usage) {
        return APISEC_OK;
    }

    mrc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
    if (mrc != MDB_SUCCESS) {
        return apisec_store_lmdb(st, mrc, "cannot begin a read transaction");
    }

    mrc = mdb_cursor_open(txn, st->usage, &cur);
    if (mrc != MDB_SUCCESS) {
        mdb_txn_abort(txn);
        return apisec_store_lmdb(st, mrc, "usage database");
    }

    k.mv_data = (void *) prefix;
    k.mv_size = plen;

    rc = APISEC_OK;

    for (op = plen ? MDB_SET_RANGE : MDB_FIRST; /* void */; op = MDB_NEXT) {
        mrc = mdb_cursor_get(cur, &k, &v, op);

        if (mrc == MDB_NOTFOUND) {
            break;
        }

        if (mrc != MDB_SUCCESS) {
            rc = apisec_store_lmdb(st, mrc, "usage database");
            break;
        }

        if (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0) {
            break;
        }

        if (apisec_window_decode(v.mv_data, v.mv_size, &w) != 0) {
            apisec_store_err(st->err, sizeof(st->err), "a usage record in "
                             "store \"%s\" is corrupt", st->dir);
            rc = APISEC_ERR_CORRUPT;
            break;
        }

        rc = cb(k.mv_data, k.mv_size, &w, arg);
        if (rc != 0) {
            break;
        }
    }

    mdb_cursor_close(cur);
    mdb_txn_abort(txn);

    return rc;
}


/*
 * TOTP enrolment.
 */

static size_t
apisec_totp_aad(const apisec_key_t *k, uint8_t *aad)
{
    size_t  n;

    n = strnlen(k->access_key, sizeof(k->access_key));

    memcpy(aad, "totp:", 5);
    memcpy(aad + 5, k->access_key, n);

    return n + 5;
}


int
apisec_key_set_totp(apisec_store_t *st, apisec_key_t *k,
    const uint8_t *secret, size_t len)
{
    size_t   n;
    uint8_t  aad[APISEC_KEY_MAX + 6];

    if (st == NULL || k == NULL || secret == NULL || len == 0
        || len + APISEC_SEAL_OVERHEAD > sizeof(k->totp))
    {
        return APISEC_ERR_INVALID;
    }

    n = apisec_totp_aad(k, aad);

    if (apisec_seal(st->mk, aad, n, secret, len, k->totp, sizeof(k->totp),
                    &k->totp_len)
        != 0)
    {
        k->totp_len = 0;
        apisec_store_err(st->err, sizeof(st->err), "cannot seal the TOTP "
                         "secret of key \"%s\"", k->access_key);
        return APISEC_ERR_CRYPTO;
    }

    k->totp_last_step = 0;

    return APISEC_OK;
}


int
apisec_key_get_totp(apisec_store_t *st, const apisec_key_t *k, uint8_t *out,
    size_t cap, size_t *len)
{
    size_t   n;
    uint8_t  aad[APISEC_KEY_MAX + 6];

    if (st == NULL || k == NULL || out == NULL || len == NULL
        || k->totp_len <= APISEC_SEAL_OVERHEAD
        || k->totp_len > sizeof(k->totp))
    {
        return APISEC_ERR_INVALID;
    }

    n = apisec_totp_aad(k, aad);

    if (apisec_unseal(st->mk, aad, n, k->totp, k->totp_len, out, cap, len)
        != 0)
    {
        *len = 0;
        apisec_store_err(st->err, sizeof(st->err), "the TOTP secret of key "
                         "\"%s\" does not unseal", k->access_key);
        return APISEC_ERR_CORRUPT;
    }

    return APISEC_OK;
}


void
apisec_key_clear_totp(apisec_key_t *k)
{
    apisec_wipe(k->totp, sizeof(k->totp));
    k->totp_len = 0;
    k->totp_last_step = 0;
}


int
apisec_key_totp_used(apisec_wtxn_t *w, const char *ak, size_t aklen,
    int64_t step)
{
    int           rc;
    apisec_key_t  k;

    rc = apisec_key_get_w(w, ak, aklen, &k);
    if (rc != APISEC_OK) {
        return rc;
    }

    if (k.totp_len == 0 || k.totp_last_step >= step) {
        return APISEC_OK;
    }

    k.totp_last_step = step;

    return apisec_key_put(w, &k, 1);
}
