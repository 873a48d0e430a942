/*
 * apisec: the key store.  An LMDB environment directory shared by every
 * nginx worker and by apisecctl.  Plain C over LMDB and OpenSSL, no nginx
 * types: the module, apisecctl, the unit tests and the fuzz targets link
 * this one implementation of the format.
 *
 * Layout (named databases):
 *   "meta"  "format"  -> 4 bytes, big-endian format version
 *           "mkcheck" -> a constant sealed under the master key, so that a
 *                        wrong master key is detected at open
 *   "keys"  access key -> encoded key record (apisec_key_encode)
 *   "events" sequence number (8 bytes, big-endian) -> event JSON
 *   "usage" usage key -> window of an amount rule (apisec_window_encode)
 *
 * Records carry their own record version byte and are made of
 * tag-length-value fields, so that later fields can be added without a
 * format change; decoding bounds every length and refuses a record that
 * does not parse (APISEC_ERR_CORRUPT), it never crashes.
 *
 * Processes: open the store after fork, never use a handle across fork,
 * never open one directory twice in a process.  Each handle keeps one
 * renewable read transaction (MDB_NOTLS): apisec_key_get() renews it,
 * copies the record out and resets it, so nothing is held between calls.
 * Writers take short write transactions; LMDB serialises them across
 * processes.
 */

#ifndef _APISEC_STORE_H_INCLUDED_
#define _APISEC_STORE_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include "apisec_parse.h"
#include "apisec_crypto.h"
#include "apisec_window.h"


#define APISEC_STORE_FORMAT        1
#define APISEC_RECORD_VERSION      1
#define APISEC_DEFAULT_MAP_SIZE    ((size_t) 1 << 30)    /* 1 GiB */
#define APISEC_MAX_READERS         1022
#define APISEC_IPS_MAX             20
#define APISEC_SEALED_MAX          (APISEC_SECRET_MAX + APISEC_SEAL_OVERHEAD)
#define APISEC_TOTP_SEALED_MAX     (64 + APISEC_SEAL_OVERHEAD)
#define APISEC_PASSHASH_SALT       16
#define APISEC_PASSHASH_LEN        48      /* 16 bytes salt, 32 bytes hash */
#define APISEC_RECORD_MAX          4096    /* an encoded record never exceeds */
#define APISEC_ERR_LEN             256
#define APISEC_EVENT_MAX           2048    /* an event's JSON never exceeds */
#define APISEC_USAGE_KEY_MAX       511     /* LMDB's largest key */

#define APISEC_OPEN_RDONLY         0x01    /* MDB_RDONLY */
#define APISEC_OPEN_CACHE          0x02    /* keep the keys read, below */

#define APISEC_KEY_CACHE_MAX       16384   /* keys kept by APISEC_OPEN_CACHE */
#define APISEC_KEY_MEMO_WORDS      6       /* apisec_key_memo */


typedef enum {
    APISEC_OK = 0,
    APISEC_ERR_NOTFOUND,        /* no such key */
    APISEC_ERR_EXISTS,          /* key or store exists already */
    APISEC_ERR_NOSTORE,         /* no store at this path */
    APISEC_ERR_MASTER_KEY,      /* master key does not open this store */
    APISEC_ERR_VERSION,         /* store of another format version */
    APISEC_ERR_MAP_FULL,        /* store's map size is exhausted */
    APISEC_ERR_CORRUPT,         /* a record or meta value does not decode */
    APISEC_ERR_INVALID,         /* bad argument */
    APISEC_ERR_SYSTEM,          /* OS or LMDB error, see apisec_store_error */
    APISEC_ERR_CRYPTO           /* OpenSSL failure */
} apisec_rc_t;


/*
 * In the order a request reads the fields (nginx's workers read the key
 * in place in their cache, and each cache line of it is a miss): the
 * numbers, the access key and account, then the rest.
 */

typedef struct {
    int            status;              /* APISEC_STATUS_* */
    unsigned       perms;               /* APISEC_PERM_* */
    int64_t        created_at;          /* Unix seconds */
    int64_t        last_used_at;        /* 0: never used */
    int64_t        expires_at;          /* 0: no absolute expiry */
    int64_t        locked_until;        /* 0: not locked / until unlocked */
    unsigned       n_ips;
    size_t         secret_len;          /* sealed secret, aad = access key */
    size_t         totp_len;            /* sealed TOTP secret, 0: none */
    size_t         passhash_len;        /* 0 or APISEC_PASSHASH_LEN */
    char           access_key[APISEC_KEY_MAX + 1];
    char           account[APISEC_ACCOUNT_MAX + 1];
    apisec_cidr_t  ips[APISEC_IPS_MAX];
    uint8_t        secret[APISEC_SEALED_MAX];
    char           label[APISEC_LABEL_MAX + 1];
    uint8_t        totp[APISEC_TOTP_SEALED_MAX];
    int64_t        totp_last_step;
    uint8_t        passhash[APISEC_PASSHASH_LEN];
} apisec_key_t;


typedef struct {
    size_t         keys;                /* number of key records */
    size_t         map_size;            /* bytes */
    size_t         map_used;            /* bytes in use (last page * psize) */
    unsigned       readers_used;
    unsigned       readers_max;
    uint64_t       write_txns;          /* begun by this handle */
} apisec_store_stat_t;


typedef struct apisec_store_s  apisec_store_t;
typedef struct apisec_wtxn_s   apisec_wtxn_t;

typedef int (*apisec_key_cb)(const apisec_key_t *k, void *arg);
typedef int (*apisec_event_cb)(uint64_t seq, const char *json, size_t len,
    void *arg);


/* the text of a return code, e.g. "wrong master key" */
const char *apisec_rc_str(int rc);


/*
 * Create a new empty store in dir (the directory is created with mode
 * 0700 when missing; an existing store there is APISEC_ERR_EXISTS).
 * map_size 0 means APISEC_DEFAULT_MAP_SIZE.  err gets a one-line message.
 */
int apisec_store_init(const char *dir, const uint8_t *mk, size_t map_size,
    char *err, size_t errlen);

/*
 * Open an existing store: checks that dir holds a store
 * (APISEC_ERR_NOSTORE), its format version (APISEC_ERR_VERSION) and that
 * mk opens it (APISEC_ERR_MASTER_KEY); runs mdb_reader_check to reclaim
 * reader slots of dead processes.  map_size 0 keeps the store's size; a
 * larger value grows it.  The handle keeps a copy of mk (wiped at close).
 */
int apisec_store_open(apisec_store_t **st, const char *dir,
    const uint8_t *mk, unsigned flags, size_t map_size,
    char *err, size_t errlen);

void apisec_store_close(apisec_store_t *st);

/* detail of the last error on this handle (LMDB's text, the path, ...) */
const char *apisec_store_error(apisec_store_t *st);

int apisec_store_stat(apisec_store_t *st, apisec_store_stat_t *stat);

/* number of stale reader slots cleared */
int apisec_store_reader_check(apisec_store_t *st, int *dead);


/*
 * Backup and restore.  A backup is one file: a compacted LMDB copy of the
 * store (the data.mdb of a store directory), made by mdb_env_copyfd2()
 * with MDB_CP_COMPACT in one read transaction, so it is consistent while
 * nginx's workers go on reading and writing.
 *
 * backup writes it to a temporary file beside path (mode 0600), syncs it,
 * checks that it opens with the handle's master key, and then moves it to
 * path (overwrite 0: an existing path is APISEC_ERR_EXISTS, also when it
 * appears meanwhile) and syncs the directory.  restore makes a new store
 * in dir from such a file (an existing store there is APISEC_ERR_EXISTS;
 * dir is created with mode 0700 when missing), after checking that the
 * file is a backup of this apisec format that mk opens.  On any error
 * neither leaves a file behind (nor the directory restore made), and the
 * message (apisec_store_error for backup, err for restore) is one line.
 */
typedef struct {
    uint64_t       bytes;               /* size of the file */
    size_t         keys;                /* key records */
    size_t         events;              /* events in the log */
    uint64_t       last_seq;            /* of the last event, 0: none */
} apisec_backup_info_t;

int apisec_store_backup(apisec_store_t *st, const char *path, int overwrite,
    apisec_backup_info_t *info);
int apisec_store_restore(const char *file, const char *dir,
    const uint8_t *mk, apisec_backup_info_t *info, char *err, size_t errlen);


/*
 * Read path: one lookup in the handle's renewable read transaction
 * (renew, get, decode into out, reset).  Handles MDB_MAP_RESIZED (another
 * process grew the map) by adopting the new size and retrying once.
 *
 * A handle opened with APISEC_OPEN_CACHE (nginx's workers) keeps the last
 * APISEC_KEY_CACHE_MAX keys it found, as stored and decoded: a key read
 * again is copied out without a lookup while no transaction was committed
 * since, and without decoding while its record is byte for byte the same;
 * a change by apisecctl is seen at the key's next read, as without the
 * cache.
 */
int apisec_key_get(apisec_store_t *st, const char *ak, size_t aklen,
    apisec_key_t *out);

/*
 * apisec_key_get without the copy: *k is the key in the handle's cache,
 * valid until the next call on the handle, or, when the cache could not
 * keep it (or without APISEC_OPEN_CACHE), buf, where it was decoded.  The
 * hot path of nginx's workers: a key record is a few KiB, mostly its
 * address list.
 */
int apisec_key_find(apisec_store_t *st, const char *ak, size_t aklen,
    apisec_key_t *buf, const apisec_key_t **k);

/*
 * apisec_key_find, the record read from the store even when the cache
 * holds it: a cached record can be behind the store in its last use only
 * (the flushes of last uses keep the cache), so a key that looks idle is
 * read again before it is refused.  In a fresh snapshot, when one was held
 * (apisec_store_hold).
 */
int apisec_key_reread(apisec_store_t *st, const char *ak, size_t aklen,
    apisec_key_t *buf, const apisec_key_t **k);

/*
 * Hints: the access key ak will be looked up soon (apisec_key_find).
 * With APISEC_OPEN_CACHE, apisec_key_prefetch asks for its bucket in the
 * cache's table, nothing read; apisec_key_prefetch_entry, later, reads the
 * bucket (in the processor's cache by then, after the first hint) and asks
 * for the lines of the entry it leads to, while the caller does other
 * work before the lookup.  Neither changes anything.
 */
void apisec_key_prefetch(apisec_store_t *st, const char *ak, size_t aklen);
void apisec_key_prefetch_entry(apisec_store_t *st, const char *ak,
    size_t aklen);

/*
 * APISEC_KEY_MEMO_WORDS words of the caller's own, kept beside the cached
 * key the last apisec_key_get or apisec_key_find found (0 when the key
 * came into the cache; kept while it stays there, whatever the record
 * says), valid until the next call on the handle; NULL without
 * APISEC_OPEN_CACHE or when the last call left nothing in the cache.
 * nginx's workers keep there the second they last stamped the key's use
 * and where its rate rule's bucket is in shared memory.
 */
int64_t *apisec_key_memo(apisec_store_t *st);

/*
 * HMAC-SHA256 of data under k's secret into mac (32 bytes).  With
 * APISEC_OPEN_CACHE and k as the last apisec_key_get (or apisec_key_find)
 * found it, the secret is unsealed once and kept in the cache, in the
 * handle's memory only, until the record's sealed secret changes or the
 * key leaves the cache (then wiped); otherwise it is unsealed for this
 * once.  The HMAC runs in h's one context.  The secret itself never
 * leaves the store's functions.
 */
int apisec_key_hmac(apisec_store_t *st, apisec_hmac_t *h,
    const apisec_key_t *k, const uint8_t *data, size_t len, uint8_t *mac);

/* every key in access-key order, in one read transaction; cb != 0 stops */
int apisec_key_foreach(apisec_store_t *st, apisec_key_cb cb, void *arg);

/*
 * At most limit keys after the access key `after` (alen 0: from the
 * first), in order, in one read transaction: a walk of the store in
 * bounded steps.  *visited: how many cb saw (fewer than limit: the end).
 */
int apisec_key_walk(apisec_store_t *st, const char *after, size_t alen,
    size_t limit, apisec_key_cb cb, void *arg, size_t *visited);


/* write transactions (one at a time per handle) */
int apisec_store_begin(apisec_store_t *st, apisec_wtxn_t **txn);
int apisec_store_commit(apisec_wtxn_t *txn);     /* frees txn, even on error */
void apisec_store_abort(apisec_wtxn_t *txn);     /* frees txn */

int apisec_key_get_w(apisec_wtxn_t *txn, const char *ak, size_t aklen,
    apisec_key_t *out);
/* overwrite 0: APISEC_ERR_EXISTS when the key exists */
int apisec_key_put(apisec_wtxn_t *txn, const apisec_key_t *k, int overwrite);
int apisec_key_del(apisec_wtxn_t *txn, const char *ak, size_t aklen);


/* seal secret (1..APISEC_SECRET_MAX bytes) into k, aad = k->access_key */
int apisec_key_set_secret(apisec_store_t *st, apisec_key_t *k,
    const char *secret, size_t len);

/* unseal k's secret into out (cap >= APISEC_SECRET_MAX); *len set */
int apisec_key_get_secret(apisec_store_t *st, const apisec_key_t *k,
    char *out, size_t cap, size_t *len);


/*
 * The OKX passphrase, kept as salt || HMAC-SHA256(P, salt || passphrase)
 * with P = HMAC-SHA256(master key, "apisec passphrase v1"): a salted hash
 * that the store alone does not let anyone brute-force.  set: a fresh
 * random salt (passphrase validated with apisec_valid_passphrase); check:
 * 1 when it matches (constant time), 0 when not or the key has none.
 */
int apisec_key_set_passphrase(apisec_store_t *st, apisec_hmac_t *h,
    apisec_key_t *k, const char *pass, size_t len);
int apisec_key_check_passphrase(apisec_store_t *st, apisec_hmac_t *h,
    const apisec_key_t *k, const char *pass, size_t len);


/*
 * Idle keys.  A key is idle when its last use (its creation, if it was
 * never used) is more than idle seconds before now; with unbound_only,
 * only keys without an IP allow-list can be idle.  idle <= 0: never.
 */
int apisec_key_idle(const apisec_key_t *k, int64_t now, int64_t idle,
    int unbound_only);

/* last_used_at = t, unless the record has a later one */
int apisec_key_touch(apisec_wtxn_t *txn, const char *ak, size_t aklen,
    int64_t t);

/*
 * Mark k (read with apisec_key_get_w in this transaction, found idle by
 * the caller) expired for good, and record a key.expired event; by says
 * who: "nginx" or "apisecctl".
 */
int apisec_key_expire_idle(apisec_wtxn_t *txn, apisec_key_t *k, int64_t now,
    int64_t idle, const char *by);


/*
 * The event log: JSON objects under a growing sequence number, appended
 * in write transactions: {"seq":N,"type":T,"time":RFC3339,
 * "access_key":..,"account":.., extra members}.  extra is a list of JSON
 * members ("a":1,"b":"x") or NULL; access key and account are validated
 * identifiers and need no escaping.
 */
int apisec_event_append(apisec_wtxn_t *txn, const char *type, int64_t time,
    const char *access_key, const char *account, const char *extra,
    uint64_t *seq);

/* events with a sequence number above since, in order; cb != 0 stops */
int apisec_event_foreach(apisec_store_t *st, uint64_t since,
    apisec_event_cb cb, void *arg);


/*
 * The event log's id, 32 hex digits into out (33 bytes), "" for a store
 * no open has written yet; new_log_id gives the log a new one (restore).
 */
#define APISEC_LOG_ID_LEN          32

int apisec_store_log_id(apisec_store_t *st, char *out);
int apisec_store_new_log_id(apisec_store_t *st);

/* the sequence number of the last event, 0 when there is none */
int apisec_event_last(apisec_store_t *st, uint64_t *seq);

/*
 * Retention: delete, oldest first and at most limit, the events whose time
 * is before `before` and whose sequence number is at most upto; the last
 * event is always kept (sequence numbers never start again).
 */
int apisec_event_prune(apisec_wtxn_t *txn, int64_t before, uint64_t upto,
    size_t limit, size_t *pruned);

/*
 * Webhook cursors, in "meta" under "cursor:" + name: the last sequence
 * number a subscriber acknowledged; get: APISEC_ERR_NOTFOUND (and 0) for a
 * subscriber never seen.  put never moves a cursor backwards.
 */
#define APISEC_CURSOR_NAME_MAX     255

int apisec_cursor_get(apisec_store_t *st, const char *name, uint64_t *seq);
int apisec_cursor_put(apisec_wtxn_t *txn, const char *name, uint64_t seq);


/*
 * TOTP enrolment: the secret (APISEC_TOTP_SECRET_LEN bytes) sealed under
 * the master key with aad "totp:" + access key, so that it cannot stand in
 * for the API secret; set also forgets the last accepted step.
 */
int apisec_key_set_totp(apisec_store_t *st, apisec_key_t *k,
    const uint8_t *secret, size_t len);
int apisec_key_get_totp(apisec_store_t *st, const apisec_key_t *k,
    uint8_t *out, size_t cap, size_t *len);
void apisec_key_clear_totp(apisec_key_t *k);

/* totp_last_step = step, unless the record has a later one */
int apisec_key_totp_used(apisec_wtxn_t *txn, const char *ak, size_t aklen,
    int64_t step);


/*
 * Usage: the windows of the amount rules, under a usage key made by the
 * module: "k|ACCESS_KEY|CURRENCY|RULE@LOCATION" (by=key) or
 * "a|ACCOUNT|CURRENCY|RULE@LOCATION" (by=account).  get reads the
 * handle's read transaction (APISEC_ERR_NOTFOUND: never used); put keeps
 * the stored copy when its gen is not lower (*written 0); foreach visits
 * the keys that start with prefix, in order.
 */
typedef int (*apisec_usage_cb)(const char *key, size_t len,
    const apisec_window_t *w, void *arg);

int apisec_usage_get(apisec_store_t *st, const char *key, size_t len,
    apisec_window_t *w);
int apisec_usage_put(apisec_wtxn_t *txn, const char *key, size_t len,
    const apisec_window_t *w, int *written);
int apisec_usage_foreach(apisec_store_t *st, const char *prefix, size_t plen,
    apisec_usage_cb cb, void *arg);

/*
 * The handle's write transactions may be begun from other threads (the
 * module's thread pool) while this thread reads: a map grown by another
 * process is then adopted only by this thread's reads.
 */
void apisec_store_set_threaded(apisec_store_t *st);

/*
 * With on, the key reads (apisec_key_get, apisec_key_find) keep their
 * read transaction's snapshot from one read to the next, until
 * apisec_store_hold(st, 0): nginx's workers keep one for the requests of
 * one turn of the event loop.  Every other read, and a remap, takes a
 * fresh one; a write is not held back by it (LMDB's readers do not block
 * its writer).
 */
void apisec_store_hold(apisec_store_t *st, int on);


/* the record codec (exposed for unit tests and fuzzing) */
int apisec_key_encode(const apisec_key_t *k, uint8_t *buf, size_t cap,
    size_t *len);
int apisec_key_decode(const uint8_t *buf, size_t len, apisec_key_t *k);


#endif /* _APISEC_STORE_H_INCLUDED_ */
