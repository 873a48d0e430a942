/*
 * apisec: shared memory.
 *
 * Three zones, of one kind: a slab pool holding an index and a queue in
 * order of insertion, under the pool's mutex (as limit_req's zones).  The
 * index is a table of small rbtrees, one picked by the low bits of a
 * node's hash (a bucket: the tree and its sentinel, one cache line), so
 * that a lookup among a zone's thousands of nodes walks two or three of
 * them and not twenty: each step is a cache miss in shared memory, and
 * they were most of what a request cost apisec beside the HMAC.
 *
 * The replay guard: every signature accepted at a location with
 * "apisec_replay_guard on" is remembered, across all workers, until its
 * timestamp leaves the window (after which the timestamp check refuses
 * it anyway).  An entry is evicted only once it has expired, so a zone
 * full of live entries refuses new requests (fail closed) rather than
 * forget one.
 *
 * The stamps: the last use of every key used since the last flush, and
 * the keys found idle, which the flush timer writes to the store in one
 * transaction per tick (ngx_http_apisec_module.c).  No request writes the
 * store.  The stamps live in shared memory, so a worker that dies loses
 * none of them: a use a flush has taken stays in its node (writing) until
 * the flush has committed, to be seen meanwhile, and is taken again a
 * minute on should the flush never end.  A key
 * locked by a rule is refused by every worker from the stamp node until
 * the flush that writes the lock has committed; then the store decides
 * (so that "apisecctl unlock" works at once).
 *
 * The rules: the leaky bucket of every rate rule and client (key, account
 * or address), as limit_req keeps it (excess in milli-requests), and the
 * sliding windows of the amount and failures rules (apisec_window.h), in
 * one rbtree, the least recently used at the queue's tail; and the rule
 * events waiting for the flush, in a second queue.  A window of an amount
 * rule is durable: the store has a copy (by gen), written before the
 * request that changed it goes on (ngx_http_apisec_module.c), and the
 * window is loaded from the store when it is not in the zone (after a
 * restart, or an eviction).  Such a window is evicted only when the store
 * has its last change.
 */


#include "ngx_http_apisec_module.h"


#define NGX_HTTP_APISEC_REPLAY_SCAN   32    /* entries looked at to free */
#define NGX_HTTP_APISEC_RATE_IDLE     60000 /* ms: never evicted sooner */
#define NGX_HTTP_APISEC_RULE_EVENTS   1024  /* pending events, at most */
#define NGX_HTTP_APISEC_HOUR_MS       3600000
#define NGX_HTTP_APISEC_DIRTY_MAX     256   /* windows a flush writes */
#define NGX_HTTP_APISEC_BUCKETS_MAX   (1 << 20)
#define NGX_HTTP_APISEC_LRU_LAG       1000  /* ms: a rate node's moves */
#define NGX_HTTP_APISEC_WRITING_MAX   60000 /* ms: a flush never ended */
/* the oldest TOTP step that may still come again at now (ms) */
#define NGX_HTTP_APISEC_TOTP_RECENT(ms)  ((ms) / 1000 / APISEC_TOTP_STEP - 2)

/* the kinds of node in the rules zone */
#define NGX_HTTP_APISEC_NODE_RATE     0
#define NGX_HTTP_APISEC_NODE_WINDOW   1

/* a key locked by a rule: its state in the stamp node */
#define NGX_HTTP_APISEC_LOCK_NONE     0
#define NGX_HTTP_APISEC_LOCK_NEW      1     /* not yet taken by a flush */
#define NGX_HTTP_APISEC_LOCK_TAKEN    2     /* being written */
#define NGX_HTTP_APISEC_LOCK_STORED   3     /* the store has it */


typedef struct {
    ngx_rbtree_t                 tree;
    ngx_rbtree_node_t            sentinel;
} ngx_http_apisec_bucket_t;


typedef struct {
    ngx_http_apisec_bucket_t    *buckets;
    ngx_uint_t                   mask;           /* buckets - 1 */
    ngx_uint_t                   freed;          /* nodes freed, ever */
    ngx_queue_t                  queue;          /* newest at the head */
    ngx_uint_t                   entries;
    int64_t                      last_flush;     /* stamps: Unix ms */
    ngx_uint_t                   dropped;        /* stamps: zone was full */
    ngx_queue_t                  events;         /* rules: oldest at head */
    ngx_uint_t                   nevents;
} ngx_http_apisec_sh_t;


typedef struct {
    ngx_http_apisec_sh_t        *sh;
    ngx_slab_pool_t             *shpool;
    ngx_rbtree_insert_pt         insert;
    const char                  *what;
} ngx_http_apisec_zone_t;


/* the tree of a node of this hash */
#define ngx_http_apisec_tree(sh, key)  (&(sh)->buckets[(key) & (sh)->mask].tree)


typedef struct {
    u_char                       color;
    u_char                       dummy;
    u_char                       mac[APISEC_SHA256_LEN];
    ngx_queue_t                  queue;
    int64_t                      expires;        /* Unix ms */
    ngx_msec_t                   mono;           /* the same, monotonic */
} ngx_http_apisec_replay_node_t;


/*
 * The head of the nodes keyed by a byte string (stamps: the access key;
 * rate: rule and client): the string is off bytes from the head.
 */

typedef struct {
    u_char                       color;
    u_char                       byte;           /* the node's own use */
    u_short                      len;
    u_short                      off;
} ngx_http_apisec_str_node_t;


typedef struct {
    u_char                       color;
    u_char                       expire;         /* found idle */
    u_short                      len;
    u_short                      off;
    ngx_queue_t                  queue;
    int64_t                      used;           /* Unix s, 0: not used */
    int64_t                      writing;        /* a use a flush took and
                                                    has not committed */
    int64_t                      writing_ms;     /* when it took it */
    int64_t                      totp_step;      /* last accepted, or 0 */
    ngx_uint_t                   totp_failed;    /* failed codes */
    int64_t                      locked_until;   /* Unix s, 0: until unlock */
    u_char                       lock;           /* NGX_HTTP_APISEC_LOCK_* */
    u_char                       lock_type;      /* the rule's type */
    u_char                       lock_rule[NGX_HTTP_APISEC_RULE_NAME_MAX + 1];
    u_char                       data[1];        /* the access key */
} ngx_http_apisec_stamp_node_t;


/* the nodes of the rules zone begin alike: kind, LRU queue, last use */

typedef struct {
    u_char                       color;
    u_char                       kind;           /* NGX_HTTP_APISEC_NODE_* */
    u_short                      len;
    u_short                      off;
    ngx_queue_t                  queue;          /* newest at the head */
    int64_t                      last;           /* Unix ms */
} ngx_http_apisec_lru_node_t;


typedef struct {
    u_char                       color;
    u_char                       kind;
    u_short                      len;
    u_short                      off;
    ngx_queue_t                  queue;          /* newest at the head */
    int64_t                      last;           /* Unix ms */
    uint64_t                     excess;         /* milli-requests */
    uint64_t                     rate;           /* milli-requests an hour */
    int64_t                      moved;          /* Unix ms: to the head */
    u_char                       data[1];        /* rule id, 0, client */
} ngx_http_apisec_rate_node_t;


typedef struct {
    u_char                       color;
    u_char                       kind;
    u_short                      len;
    u_short                      off;
    ngx_queue_t                  queue;          /* newest at the head */
    int64_t                      last;           /* Unix ms */
    uint64_t                     saved;          /* the gen the store has */
    ngx_uint_t                   durable;        /* amount: in the store */
    apisec_window_t              w;
    u_char                       data[1];        /* the usage key */
} ngx_http_apisec_window_node_t;


typedef struct {
    ngx_queue_t                  queue;
    size_t                       len;
    u_char                       data[1];        /* type, key, account,
                                                    extra; each ends in 0 */
} ngx_http_apisec_event_node_t;


static ngx_shm_zone_t *ngx_http_apisec_zone(ngx_conf_t *cf, const char *name,
    size_t size, ngx_rbtree_insert_pt insert, const char *what);
static ngx_int_t ngx_http_apisec_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static void ngx_http_apisec_replay_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static ngx_http_apisec_replay_node_t *ngx_http_apisec_replay_lookup(
    ngx_http_apisec_sh_t *sh, ngx_rbtree_key_t key, const u_char *mac);
static ngx_uint_t ngx_http_apisec_replay_expire(ngx_http_apisec_zone_t *z,
    int64_t now, ngx_uint_t n);
static void ngx_http_apisec_node_free(ngx_http_apisec_zone_t *z,
    ngx_queue_t *q, void *data);
static void ngx_http_apisec_str_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static void *ngx_http_apisec_str_lookup(ngx_http_apisec_sh_t *sh,
    ngx_rbtree_key_t key, const u_char *data, size_t len);
static ngx_uint_t ngx_http_apisec_stamp_done(
    ngx_http_apisec_stamp_node_t *sn, int64_t recent);
static ngx_http_apisec_stamp_node_t *ngx_http_apisec_stamp_node(
    ngx_http_apisec_zone_t *z, const u_char *ak, size_t len);
static void ngx_http_apisec_rate_memo(ngx_http_apisec_zone_t *z,
    int64_t *memo, ngx_http_apisec_rule_t *rule,
    ngx_http_apisec_rate_node_t *rn);
static uint64_t ngx_http_apisec_rate_leak(uint64_t excess, uint64_t rate,
    int64_t ms);
static ngx_http_apisec_window_node_t *ngx_http_apisec_window_find(
    ngx_http_apisec_zone_t *z, ngx_str_t *key);
static ngx_http_apisec_window_node_t *ngx_http_apisec_window_node(
    ngx_http_apisec_zone_t *z, ngx_str_t *key, ngx_uint_t durable,
    apisec_window_t *w, int64_t now_ms);
static ngx_uint_t ngx_http_apisec_rate_expire(ngx_http_apisec_zone_t *z,
    int64_t now, ngx_uint_t force);


ngx_shm_zone_t *
ngx_http_apisec_replay_zone(ngx_conf_t *cf, size_t size)
{
    return ngx_http_apisec_zone(cf, "apisec_replay", size,
                                ngx_http_apisec_replay_insert,
                                "apisec replay zone");
}


ngx_shm_zone_t *
ngx_http_apisec_stamp_zone(ngx_conf_t *cf, size_t size)
{
    return ngx_http_apisec_zone(cf, "apisec_stamps", size,
                                ngx_http_apisec_str_insert,
                                "apisec stamp zone");
}


ngx_shm_zone_t *
ngx_http_apisec_rule_zone(ngx_conf_t *cf, size_t size)
{
    return ngx_http_apisec_zone(cf, "apisec_rules", size,
                                ngx_http_apisec_str_insert,
                                "apisec rule zone");
}


static ngx_shm_zone_t *
ngx_http_apisec_zone(ngx_conf_t *cf, const char *name, size_t size,
    ngx_rbtree_insert_pt insert, const char *what)
{
    ngx_str_t                n;
    ngx_shm_zone_t          *zone;
    ngx_http_apisec_zone_t  *z;

    n.data = (u_char *) name;
    n.len = ngx_strlen(name);

    zone = ngx_shared_memory_add(cf, &n, size, &ngx_http_apisec_module);
    if (zone == NULL) {
        return NULL;
    }

    if (zone->data != NULL) {
        return zone;
    }

    z = ngx_pcalloc(cf->pool, sizeof(ngx_http_apisec_zone_t));
    if (z == NULL) {
        return NULL;
    }

    z->insert = insert;
    z->what = what;

    zone->init = ngx_http_apisec_init_zone;
    zone->data = z;

    return zone;
}


static ngx_int_t
ngx_http_apisec_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_apisec_zone_t  *oz = data;

    size_t                   len;
    ngx_uint_t               i, n;
    ngx_http_apisec_zone_t  *z;

    z = shm_zone->data;

    if (oz != NULL) {
        /*
         * A reload: keep what the previous cycle holds.  It is the same
         * build's (nginx reuses a zone of the same tag, the module's
         * address: a reload keeps the library loaded, and one loaded from
         * another path has another address, and zones of its own)
         */

        z->sh = oz->sh;
        z->shpool = oz->shpool;
        return NGX_OK;
    }

    z->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        z->sh = z->shpool->data;
        return NGX_OK;
    }

    z->sh = ngx_slab_calloc(z->shpool, sizeof(ngx_http_apisec_sh_t));
    if (z->sh == NULL) {
        return NGX_ERROR;
    }

    z->shpool->data = z->sh;

    /*
     * A bucket for every 1 KiB of the zone (a power of two, 64 at least):
     * 6% of it, and a few nodes a bucket when the zone is full.
     */

    n = 64;
    while (n < NGX_HTTP_APISEC_BUCKETS_MAX
           && n * 2 * 1024 <= shm_zone->shm.size)
    {
        n *= 2;
    }

    z->sh->buckets = ngx_slab_alloc(z->shpool,
                                    n * sizeof(ngx_http_apisec_bucket_t));
    if (z->sh->buckets == NULL) {
        return NGX_ERROR;
    }

    z->sh->mask = n - 1;

    for (i = 0; i < n; i++) {
        ngx_rbtree_init(&z->sh->buckets[i].tree, &z->sh->buckets[i].sentinel,
                        z->insert);
    }

    ngx_queue_init(&z->sh->queue);
    ngx_queue_init(&z->sh->events);

    len = sizeof(" in \"\"") + ngx_strlen(z->what);

    z->shpool->log_ctx = ngx_slab_alloc(z->shpool, len);
    if (z->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(z->shpool->log_ctx, " in %s%Z", z->what);

    /* a full zone is reported by the callers */
    z->shpool->log_nomem = 0;

    return NGX_OK;
}


/*
 * Replay guard: remember mac until expires (Unix ms).  NGX_OK: first
 * seen, now remembered; NGX_DECLINED: seen before; NGX_BUSY: no room
 * (every entry still live).
 */

ngx_int_t
ngx_http_apisec_replay_record(ngx_shm_zone_t *zone, const u_char *mac,
    int64_t expires, int64_t now)
{
    size_t                          n;
    ngx_rbtree_key_t                key;
    ngx_rbtree_node_t              *node;
    ngx_http_apisec_zone_t         *z;
    ngx_http_apisec_replay_node_t  *rn;

    z = zone->data;

    /* the MAC is uniformly distributed: its first bytes are a fine hash */

    ngx_memcpy(&key, mac, sizeof(ngx_rbtree_key_t));

    ngx_shmtx_lock(&z->shpool->mutex);

    (void) ngx_http_apisec_replay_expire(z, now, 2);

    if (ngx_http_apisec_replay_lookup(z->sh, key, mac) != NULL) {
        ngx_shmtx_unlock(&z->shpool->mutex);
        return NGX_DECLINED;
    }

    n = offsetof(ngx_rbtree_node_t, color)
        + sizeof(ngx_http_apisec_replay_node_t);

    node = ngx_slab_alloc_locked(z->shpool, n);

    if (node == NULL
        && ngx_http_apisec_replay_expire(z, now,
                                         NGX_HTTP_APISEC_REPLAY_SCAN) > 0)
    {
        node = ngx_slab_alloc_locked(z->shpool, n);
    }

    if (node == NULL) {
        ngx_shmtx_unlock(&z->shpool->mutex);
        return NGX_BUSY;
    }

    node->key = key;

    rn = (ngx_http_apisec_replay_node_t *) &node->color;
    ngx_memcpy(rn->mac, mac, APISEC_SHA256_LEN);
    rn->expires = expires;

    /*
     * and by the monotonic clock (ngx_current_msec, the same in every
     * worker): a step of the wall clock forwards must not forget a
     * signature that is live again once the clock is set back
     */

    rn->mono = ngx_current_msec + (ngx_msec_t) ngx_max(expires - now, 0);

    ngx_rbtree_insert(ngx_http_apisec_tree(z->sh, node->key), node);
    ngx_queue_insert_head(&z->sh->queue, &rn->queue);
    z->sh->entries++;

    ngx_shmtx_unlock(&z->shpool->mutex);

    return NGX_OK;
}


/* ordered by key, then by the whole MAC */

static void
ngx_http_apisec_replay_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t             **p;
    ngx_http_apisec_replay_node_t  *rn, *rnt;

    for ( ;; ) {

        if (node->key < temp->key) {
            p = &temp->left;

        } else if (node->key > temp->key) {
            p = &temp->right;

        } else {
            rn = (ngx_http_apisec_replay_node_t *) &node->color;
            rnt = (ngx_http_apisec_replay_node_t *) &temp->color;

            p = (ngx_memcmp(rn->mac, rnt->mac, APISEC_SHA256_LEN) < 0)
                ? &temp->left : &temp->right;
        }

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}


static ngx_http_apisec_replay_node_t *
ngx_http_apisec_replay_lookup(ngx_http_apisec_sh_t *sh, ngx_rbtree_key_t key,
    const u_char *mac)
{
    ngx_int_t                       rc;
    ngx_rbtree_t                   *tree;
    ngx_rbtree_node_t              *node, *sentinel;
    ngx_http_apisec_replay_node_t  *rn;

    tree = ngx_http_apisec_tree(sh, key);
    node = tree->root;
    sentinel = tree->sentinel;

    while (node != sentinel) {

        if (key != node->key) {
            node = (key < node->key) ? node->left : node->right;
            continue;
        }

        rn = (ngx_http_apisec_replay_node_t *) &node->color;

        rc = ngx_memcmp(mac, rn->mac, APISEC_SHA256_LEN);

        if (rc == 0) {
            return rn;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


/*
 * Free expired entries among the n oldest (the queue's tail); live ones
 * are kept.  Returns how many were freed.
 */

static ngx_uint_t
ngx_http_apisec_replay_expire(ngx_http_apisec_zone_t *z, int64_t now,
    ngx_uint_t n)
{
    ngx_uint_t                      freed;
    ngx_queue_t                    *q, *prev;
    ngx_http_apisec_replay_node_t  *rn;

    freed = 0;

    for (q = ngx_queue_last(&z->sh->queue);
         n > 0 && q != ngx_queue_sentinel(&z->sh->queue);
         q = prev, n--)
    {
        prev = ngx_queue_prev(q);

        rn = ngx_queue_data(q, ngx_http_apisec_replay_node_t, queue);

        /* gone only when both clocks say so */

        if (rn->expires >= now
            || (ngx_msec_int_t) (ngx_current_msec - rn->mono) <= 0)
        {
            continue;
        }

        ngx_http_apisec_node_free(z, q, rn);
        freed++;
    }

    return freed;
}


/*
 * Stamps: the key was used at t (Unix s), or (t == 0) was found idle and
 * is to be marked expired.  NGX_ERROR when the zone is full; the stamp is
 * then lost (and counted) until the key's next use.
 */

ngx_int_t
ngx_http_apisec_stamp(ngx_shm_zone_t *zone, const u_char *ak, size_t len,
    int64_t t, int64_t *memo)
{
    ngx_http_apisec_zone_t        *z;
    ngx_http_apisec_stamp_node_t  *sn;

    z = zone->data;

    ngx_shmtx_lock(&z->shpool->mutex);

    /* the worker's memo of the node: still it while nothing was freed */

    sn = NULL;

    if (memo != NULL
        && memo[NGX_HTTP_APISEC_MEMO_STAMP_FREED] == (int64_t) z->sh->freed)
    {
        sn = (ngx_http_apisec_stamp_node_t *)
                 (uintptr_t) memo[NGX_HTTP_APISEC_MEMO_STAMP_NODE];
    }

    if (sn == NULL) {
        sn = ngx_http_apisec_stamp_node(z, ak, len);

        if (sn == NULL) {
            ngx_shmtx_unlock(&z->shpool->mutex);
            return NGX_ERROR;
        }

        if (memo != NULL) {
            memo[NGX_HTTP_APISEC_MEMO_STAMP_NODE] = (int64_t) (uintptr_t) sn;
            memo[NGX_HTTP_APISEC_MEMO_STAMP_FREED] = (int64_t) z->sh->freed;
        }
    }

    if (t == 0) {
        sn->expire = 1;

    } else if (t > sn->used) {
        sn->used = t;
    }

    ngx_shmtx_unlock(&z->shpool->mutex);

    return NGX_OK;
}


/*
 * TOTP: accept step as the key's last used one, when it is after the last
 * accepted here and in the store (last).  NGX_OK: accepted and recorded;
 * NGX_DECLINED: used before; NGX_ERROR: the zone is full.  One lock makes
 * the test and the record one step for all workers.
 */

ngx_int_t
ngx_http_apisec_totp_use(ngx_shm_zone_t *zone, const u_char *ak, size_t len,
    int64_t step, int64_t last)
{
    ngx_int_t                      rc;
    ngx_http_apisec_zone_t        *z;
    ngx_http_apisec_stamp_node_t  *sn;

    z = zone->data;

    ngx_shmtx_lock(&z->shpool->mutex);

    sn = ngx_http_apisec_stamp_node(z, ak, len);

    if (sn == NULL) {
        rc = NGX_ERROR;

    } else if (step <= last || step <= sn->totp_step) {
        rc = NGX_DECLINED;

    } else {
        sn->totp_step = step;
        rc = NGX_OK;
    }

    ngx_shmtx_unlock(&z->shpool->mutex);

    return rc;
}


/* a failed TOTP code, for a 2fa.failed event at the next flush */

ngx_int_t
ngx_http_apisec_totp_failed(ngx_shm_zone_t *zone, const u_char *ak,
    size_t len)
{
    ngx_http_apisec_zone_t        *z;
    ngx_http_apisec_stamp_node_t  *sn;

    z = zone->data;

    ngx_shmtx_lock(&z->shpool->mutex);

    sn = ngx_http_apisec_stamp_node(z, ak, len);

    if (sn != NULL) {
        sn->totp_failed++;
    }

    ngx_shmtx_unlock(&z->shpool->mutex);

    return (sn != NULL) ? NGX_OK : NGX_ERROR;
}


/* the key's node, made when missing; NULL when the zone is full */

static ngx_http_apisec_stamp_node_t *
ngx_http_apisec_stamp_node(ngx_http_apisec_zone_t *z, const u_char *ak,
    size_t len)
{
    size_t                         n;
    uint32_t                       hash;
    ngx_rbtree_node_t             *node;
    ngx_http_apisec_stamp_node_t  *sn;

    hash = ngx_crc32_short((u_char *) ak, len);

    sn = ngx_http_apisec_str_lookup(z->sh, hash, ak, len);

    if (sn != NULL) {
        return sn;
    }

    n = offsetof(ngx_rbtree_node_t, color)
        + offsetof(ngx_http_apisec_stamp_node_t, data) + len;

    node = ngx_slab_alloc_locked(z->shpool, n);

    if (node == NULL) {
        z->sh->dropped++;
        return NULL;
    }

    node->key = hash;

    sn = (ngx_http_apisec_stamp_node_t *) &node->color;
    sn->len = (u_short) len;
    sn->off = offsetof(ngx_http_apisec_stamp_node_t, data);
    sn->expire = 0;
    sn->used = 0;
    sn->totp_step = 0;
    sn->totp_failed = 0;
    sn->locked_until = 0;
    sn->lock = NGX_HTTP_APISEC_LOCK_NONE;
    sn->lock_rule[0] = '\0';
    sn->lock_type = 0;
    ngx_memcpy(sn->data, ak, len);

    ngx_rbtree_insert(ngx_http_apisec_tree(z->sh, node->key), node);
    ngx_queue_insert_head(&z->sh->queue, &sn->queue);
    z->sh->entries++;

    return sn;
}


/*
 * Lock the key (a rule's lock action), at once for every worker: until
 * locked_until (Unix s), or until unlocked when 0.  The flush writes it
 * to the store with a key.locked event.
 */

ngx_int_t
ngx_http_apisec_lock(ngx_shm_zone_t *zone, const u_char *ak, size_t len,
    int64_t locked_until, ngx_str_t *rule, ngx_uint_t type)
{
    size_t                         n;
    ngx_http_apisec_zone_t        *z;
    ngx_http_apisec_stamp_node_t  *sn;

    z = zone->data;

    ngx_shmtx_lock(&z->shpool->mutex);

    sn = ngx_http_apisec_stamp_node(z, ak, len);

    if (sn == NULL) {
        ngx_shmtx_unlock(&z->shpool->mutex);
        return NGX_ERROR;
    }

    n = ngx_min(rule->len, NGX_HTTP_APISEC_RULE_NAME_MAX);

    sn->lock = NGX_HTTP_APISEC_LOCK_NEW;
    sn->locked_until = locked_until;
    sn->lock_type = (u_char) type;
    ngx_memcpy(sn->lock_rule, rule->data, n);
    sn->lock_rule[n] = '\0';

    ngx_shmtx_unlock(&z->shpool->mutex);

    return NGX_OK;
}


/*
 * NGX_DECLINED: the key was locked by a rule at now (Unix s) and the
 * store may not know it yet; NGX_OK otherwise (the store decides).
 */

ngx_int_t
ngx_http_apisec_lock_check(ngx_shm_zone_t *zone, const u_char *ak,
    size_t len, int64_t now)
{
    ngx_int_t                      rc;
    ngx_http_apisec_zone_t        *z;
    ngx_http_apisec_stamp_node_t  *sn;

    z = zone->data;

    ngx_shmtx_lock(&z->shpool->mutex);

    sn = ngx_http_apisec_str_lookup(z->sh,
                                      ngx_crc32_short((u_char *) ak, len),
                                      ak, len);

    rc = NGX_OK;

    if (sn != NULL
        && (sn->lock == NGX_HTTP_APISEC_LOCK_NEW
            || sn->lock == NGX_HTTP_APISEC_LOCK_TAKEN)
        && (sn->locked_until == 0 || now < sn->locked_until))
    {
        rc = NGX_DECLINED;
    }

    ngx_shmtx_unlock(&z->shpool->mutex);

    return rc;
}


/*
 * After the flush: the lock it took is in the store (stored), or is to
 * be taken again by the next flush.
 */

void
ngx_http_apisec_lock_done(ngx_shm_zone_t *zone, const u_char *ak,
    size_t len, ngx_uint_t stored)
{
    ngx_http_apisec_zone_t        *z;
    ngx_http_apisec_stamp_node_t  *sn;

    z = zone->data;

    ngx_shmtx_lock(&z->shpool->mutex);

    sn = ngx_http_apisec_str_lookup(z->sh,
                                      ngx_crc32_short((u_char *) ak, len),
                                      ak, len);

    if (sn != NULL && sn->lock == NGX_HTTP_APISEC_LOCK_TAKEN) {
        sn->lock = stored ? NGX_HTTP_APISEC_LOCK_STORED
                          : NGX_HTTP_APISEC_LOCK_NEW;
    }

    ngx_shmtx_unlock(&z->shpool->mutex);
}


/* the last use stamped and not yet in the store, or 0 */

int64_t
ngx_http_apisec_stamp_get(ngx_shm_zone_t *zone, const u_char *ak, size_t len)
{
    int64_t                        used;
    ngx_http_apisec_zone_t        *z;
    ngx_http_apisec_stamp_node_t  *sn;

    z = zone->data;

    ngx_shmtx_lock(&z->shpool->mutex);

    sn = ngx_http_apisec_str_lookup(z->sh,
                                      ngx_crc32_short((u_char *) ak, len),
                                      ak, len);
    used = (sn == NULL) ? 0 : ngx_max(sn->used, sn->writing);

    ngx_shmtx_unlock(&z->shpool->mutex);

    return used;
}


/*
 * Whether a stamp node, once what it had to write is taken, holds nothing
 * more: no last TOTP step that may come again, no lock on its way to the
 * store, no use being written
 */

static ngx_uint_t
ngx_http_apisec_stamp_done(ngx_http_apisec_stamp_node_t *sn, int64_t recent)
{
    return sn->totp_step < recent && sn->writing == 0
           && sn->lock != NGX_HTTP_APISEC_LOCK_NEW
           && sn->lock != NGX_HTTP_APISEC_LOCK_TAKEN;
}


/*
 * A flush's uses are in the store (or, on failure, stamped again): they
 * need not be seen in the zone any more, and a node left with nothing is
 * freed
 */

void
ngx_http_apisec_stamps_written(ngx_shm_zone_t *zone,
    ngx_http_apisec_stamp_t *st, ngx_int_t n, int64_t now_ms)
{
    int64_t                        recent;
    ngx_int_t                      i;
    ngx_http_apisec_zone_t        *z;
    ngx_http_apisec_stamp_node_t  *sn;

    z = zone->data;
    recent = NGX_HTTP_APISEC_TOTP_RECENT(now_ms);

    ngx_shmtx_lock(&z->shpool->mutex);

    for (i = 0; i < n; i++) {
        if (st[i].used == 0) {
            continue;
        }

        sn = ngx_http_apisec_str_lookup(z->sh,
                                 ngx_crc32_short((u_char *) st[i].access_key,
                                                 st[i].len),
                                 (u_char *) st[i].access_key, st[i].len);

        /* a later flush may have taken a later use: it is its own */

        if (sn == NULL || sn->writing == 0 || sn->writing > st[i].used) {
            continue;
        }

        sn->writing = 0;

        if (sn->used || sn->expire || sn->totp_failed
            || !ngx_http_apisec_stamp_done(sn, recent))
        {
            continue;
        }

        ngx_http_apisec_node_free(z, &sn->queue, sn);
    }

    ngx_shmtx_unlock(&z->shpool->mutex);
}


/*
 * Take every stamp out of the zone, when the last flush (by any worker) is
 * at least min_ms old; they go into *out, allocated from pool.  Returns
 * the number taken, 0 when none or it is not time, NGX_ERROR on memory.
 */

ngx_int_t
ngx_http_apisec_stamps_take(ngx_shm_zone_t *zone, ngx_pool_t *pool,
    int64_t now_ms, int64_t min_ms, ngx_http_apisec_stamp_t **out,
    ngx_uint_t *dropped)
{
    u_char                        *p;
    int64_t                        recent;
    ngx_uint_t                     i;
    ngx_queue_t                   *q, *next;
    ngx_http_apisec_zone_t        *z;
    ngx_http_apisec_stamp_t       *st;
    ngx_http_apisec_stamp_node_t  *sn;

    z = zone->data;

    ngx_shmtx_lock(&z->shpool->mutex);

    if (now_ms - z->sh->last_flush < min_ms) {
        ngx_shmtx_unlock(&z->shpool->mutex);
        return 0;
    }

    z->sh->last_flush = now_ms;

    *dropped = z->sh->dropped;
    z->sh->dropped = 0;

    if (z->sh->entries == 0) {
        ngx_shmtx_unlock(&z->shpool->mutex);
        return 0;
    }

    st = ngx_palloc(pool, z->sh->entries * sizeof(ngx_http_apisec_stamp_t));
    p = ngx_pnalloc(pool, z->sh->entries * (APISEC_KEY_MAX + 1
                                            + NGX_HTTP_APISEC_RULE_NAME_MAX
                                            + 1));

    if (st == NULL || p == NULL) {
        ngx_shmtx_unlock(&z->shpool->mutex);
        return NGX_ERROR;
    }

    /*
     * a key whose last TOTP step may still come again (the store has it
     * only once this flush commits) stays, so that the step is refused
     * meanwhile; what it had to write is taken all the same
     */

    recent = NGX_HTTP_APISEC_TOTP_RECENT(now_ms);

    i = 0;

    for (q = ngx_queue_head(&z->sh->queue);
         q != ngx_queue_sentinel(&z->sh->queue);
         q = next)
    {
        next = ngx_queue_next(q);
        sn = ngx_queue_data(q, ngx_http_apisec_stamp_node_t, queue);

        /* a use taken by a flush that never ended (its worker killed) */

        if (sn->writing != 0
            && now_ms - sn->writing_ms > NGX_HTTP_APISEC_WRITING_MAX)
        {
            sn->used = ngx_max(sn->used, sn->writing);
            sn->writing = 0;
        }

        if (sn->used || sn->expire || sn->totp_failed
            || sn->totp_step >= recent || sn->lock == NGX_HTTP_APISEC_LOCK_NEW)
        {
            st[i].access_key = (char *) p;
            p = ngx_cpymem(p, sn->data, sn->len);
            *p++ = '\0';
            st[i].len = sn->len;
            st[i].used = sn->used;
            st[i].expire = sn->expire;
            st[i].totp_step = sn->totp_step;
            st[i].totp_failed = sn->totp_failed;
            st[i].lock = (sn->lock == NGX_HTTP_APISEC_LOCK_NEW);
            st[i].locked_until = sn->locked_until;
            st[i].lock_type = sn->lock_type;
            st[i].lock_rule = (char *) p;
            p = ngx_cpymem(p, sn->lock_rule, ngx_strlen(sn->lock_rule));
            *p++ = '\0';
            i++;

            if (sn->lock == NGX_HTTP_APISEC_LOCK_NEW) {
                sn->lock = NGX_HTTP_APISEC_LOCK_TAKEN;
            }

            /*
             * the use stays to be seen until the flush has committed it
             * (ngx_http_apisec_stamps_written): the key does not look
             * idle meanwhile
             */

            if (sn->used) {
                sn->writing = ngx_max(sn->writing, sn->used);
                sn->writing_ms = now_ms;
            }
        }

        /* a lock not yet in the store is kept, to be refused meanwhile */

        if (!ngx_http_apisec_stamp_done(sn, recent)) {
            sn->used = 0;
            sn->expire = 0;
            sn->totp_failed = 0;
            continue;
        }

        ngx_http_apisec_node_free(z, q, sn);
    }

    ngx_shmtx_unlock(&z->shpool->mutex);

    *out = st;

    return (ngx_int_t) i;
}


/*
 * Rate: one request of who (the key, account or address) under rule, at
 * now (Unix ms), in the leaky bucket of limit_req: the excess leaks at
 * the rule's rate, each request adds one (1000 milli-requests), and a
 * request that would take it over the burst is refused without counting.
 * NGX_OK: within the rate; NGX_BUSY: over it, *retry set to the seconds
 * until a request would pass; NGX_ERROR: the zone is full of entries used
 * in the last minute.
 */

ngx_int_t
ngx_http_apisec_rate(ngx_shm_zone_t *zone, ngx_http_apisec_rule_t *rule,
    ngx_str_t *who, int64_t now_ms, time_t *retry, int64_t *memo)
{
    u_char                       *p, buf[512];
    size_t                        len, n;
    int64_t                       ms;
    uint32_t                      hash;
    uint64_t                      excess, wait;
    ngx_rbtree_node_t            *node;
    ngx_http_apisec_zone_t       *z;
    ngx_http_apisec_rate_node_t  *rn;

    z = zone->data;

    len = rule->id.len + 1 + ngx_min(who->len, sizeof(buf) - 2
                                               - rule->id.len);
    hash = 0;

    ngx_shmtx_lock(&z->shpool->mutex);

    (void) ngx_http_apisec_rate_expire(z, now_ms, 0);

    /*
     * The worker's memo of the node (beside the key in its key cache):
     * still the node while no node of the zone was freed since
     */

    rn = NULL;

    if (memo != NULL
        && memo[NGX_HTTP_APISEC_MEMO_RULE] == (int64_t) (uintptr_t) rule
        && memo[NGX_HTTP_APISEC_MEMO_FREED] == (int64_t) z->sh->freed)
    {
        rn = (ngx_http_apisec_rate_node_t *)
                 (uintptr_t) memo[NGX_HTTP_APISEC_MEMO_NODE];
    }

    if (rn == NULL || rn->kind != NGX_HTTP_APISEC_NODE_RATE) {
        /* the node's key: rule id, 0, client (its hash costs) */

        p = ngx_cpymem(buf, rule->id.data, rule->id.len);
        *p++ = '\0';
        ngx_memcpy(p, who->data, len - rule->id.len - 1);

        hash = ngx_crc32_short(buf, len);

        rn = ngx_http_apisec_str_lookup(z->sh, hash, buf, len);
    }

    if (rn != NULL && rn->kind == NGX_HTTP_APISEC_NODE_RATE) {

        /*
         * To the queue's head at most once a second (each move touches
         * the neighbours' cache lines): the queue is in order of the last
         * move, and a node's last use is less than a second after its
         * last move, so an entry idle longer than a minute and a second
         * is never behind one that is not
         */

        if (now_ms - rn->moved >= NGX_HTTP_APISEC_LRU_LAG
            || now_ms < rn->moved)
        {
            ngx_queue_remove(&rn->queue);
            ngx_queue_insert_head(&z->sh->queue, &rn->queue);
            rn->moved = now_ms;
        }

        ngx_http_apisec_rate_memo(z, memo, rule, rn);

        ms = now_ms - rn->last;
        rn->rate = rule->rate;

        excess = ngx_http_apisec_rate_leak(rn->excess, rule->rate, ms) + 1000;

        if (excess > rule->burst) {
            wait = ((excess - rule->burst) * NGX_HTTP_APISEC_HOUR_MS
                    + rule->rate - 1) / rule->rate;
            wait = (wait + 999) / 1000;
            *retry = (time_t) ngx_max(wait, 1);

            ngx_shmtx_unlock(&z->shpool->mutex);
            return NGX_BUSY;
        }

        rn->excess = excess;

        if (ms > 0) {
            rn->last = now_ms;
        }

        ngx_shmtx_unlock(&z->shpool->mutex);
        return NGX_OK;
    }

    n = offsetof(ngx_rbtree_node_t, color)
        + offsetof(ngx_http_apisec_rate_node_t, data) + len;

    node = ngx_slab_alloc_locked(z->shpool, n);

    if (node == NULL && ngx_http_apisec_rate_expire(z, now_ms, 1) > 0) {
        node = ngx_slab_alloc_locked(z->shpool, n);
    }

    if (node == NULL) {
        ngx_shmtx_unlock(&z->shpool->mutex);
        return NGX_ERROR;
    }

    node->key = hash;

    rn = (ngx_http_apisec_rate_node_t *) &node->color;
    rn->kind = NGX_HTTP_APISEC_NODE_RATE;
    rn->len = (u_short) len;
    rn->off = offsetof(ngx_http_apisec_rate_node_t, data);
    rn->last = now_ms;
    rn->excess = 0;
    rn->rate = rule->rate;
    rn->moved = now_ms;
    ngx_memcpy(rn->data, buf, len);

    ngx_rbtree_insert(ngx_http_apisec_tree(z->sh, node->key), node);
    ngx_queue_insert_head(&z->sh->queue, &rn->queue);
    z->sh->entries++;

    ngx_http_apisec_rate_memo(z, memo, rule, rn);

    ngx_shmtx_unlock(&z->shpool->mutex);

    return NGX_OK;
}


/*
 * The node the memo names, on its way into the processor's cache before
 * ngx_http_apisec_rate needs it (its head and its second line: the
 * bucket's state); a node freed since is harmless to prefetch
 */

void
ngx_http_apisec_rate_prefetch(const int64_t *memo)
{
    u_char  *p;

    if (memo == NULL || memo[NGX_HTTP_APISEC_MEMO_NODE] == 0) {
        return;
    }

    p = (u_char *) (uintptr_t) memo[NGX_HTTP_APISEC_MEMO_NODE];

    apisec_prefetch(p);
    apisec_prefetch(p + offsetof(ngx_http_apisec_rate_node_t, moved));
}


/*
 * The same for the key's stamp node, when the memo says this worker has
 * not stamped the key in second sec (ngx_http_apisec_stamp will write
 * it): the line of its use
 */

void
ngx_http_apisec_stamp_prefetch(const int64_t *memo, int64_t sec)
{
    u_char  *p;

    if (memo == NULL || memo[NGX_HTTP_APISEC_MEMO_STAMP] == sec
        || memo[NGX_HTTP_APISEC_MEMO_STAMP_NODE] == 0)
    {
        return;
    }

    p = (u_char *) (uintptr_t) memo[NGX_HTTP_APISEC_MEMO_STAMP_NODE];

    apisec_prefetch(p + offsetof(ngx_http_apisec_stamp_node_t, used));
}


/* the worker's memo of rule's node rn, in memo's rate words (or none) */

static void
ngx_http_apisec_rate_memo(ngx_http_apisec_zone_t *z, int64_t *memo,
    ngx_http_apisec_rule_t *rule, ngx_http_apisec_rate_node_t *rn)
{
    if (memo != NULL) {
        memo[NGX_HTTP_APISEC_MEMO_NODE] = (int64_t) (uintptr_t) rn;
        memo[NGX_HTTP_APISEC_MEMO_FREED] = (int64_t) z->sh->freed;
        memo[NGX_HTTP_APISEC_MEMO_RULE] = (int64_t) (uintptr_t) rule;
    }
}


/* what is left of excess after ms at rate (milli-requests an hour) */

static uint64_t
ngx_http_apisec_rate_leak(uint64_t excess, uint64_t rate, int64_t ms)
{
    uint64_t  leak;

    if (ms <= 0 || excess == 0) {
        return excess;
    }

    /* all of it, in this time or more (bounds the product below) */

    if ((uint64_t) ms > excess * NGX_HTTP_APISEC_HOUR_MS / rate) {
        return 0;
    }

    leak = rate * (uint64_t) ms / NGX_HTTP_APISEC_HOUR_MS;

    return (leak >= excess) ? 0 : excess - leak;
}


/*
 * Free the least recently used entries unused for a minute: those that
 * hold nothing any more (a bucket leaked empty, a window with nothing in
 * it), at most two; with force, the oldest ones whatever they hold, at
 * most three.  An entry used in the last minute is never freed, nor a
 * window whose last change the store does not have yet.  Returns how
 * many were freed.
 */

static ngx_uint_t
ngx_http_apisec_rate_expire(ngx_http_apisec_zone_t *z, int64_t now,
    ngx_uint_t force)
{
    ngx_uint_t                      n, freed, empty;
    ngx_queue_t                    *q;
    ngx_http_apisec_lru_node_t     *ln;
    ngx_http_apisec_rate_node_t    *rn;
    ngx_http_apisec_window_node_t  *wn;

    freed = 0;

    for (n = force ? 3 : 2; n > 0; n--) {

        if (ngx_queue_empty(&z->sh->queue)) {
            break;
        }

        q = ngx_queue_last(&z->sh->queue);
        ln = ngx_queue_data(q, ngx_http_apisec_lru_node_t, queue);

        if (now - ln->last < NGX_HTTP_APISEC_RATE_IDLE && now >= ln->last) {
            break;
        }

        if (ln->kind == NGX_HTTP_APISEC_NODE_WINDOW) {
            wn = (ngx_http_apisec_window_node_t *) ln;

            if (wn->durable && wn->saved != wn->w.gen) {
                break;
            }

            empty = (apisec_window_next_expiry(&wn->w, now / 1000) == 0);

        } else {
            rn = (ngx_http_apisec_rate_node_t *) ln;

            empty = (ngx_http_apisec_rate_leak(rn->excess, rn->rate,
                                               now - rn->last)
                     == 0);
        }

        if (!force && !empty) {
            break;
        }

        ngx_http_apisec_node_free(z, q, ln);
        freed++;
    }

    return freed;
}


/* the window under key, or NULL; called locked */

static ngx_http_apisec_window_node_t *
ngx_http_apisec_window_find(ngx_http_apisec_zone_t *z, ngx_str_t *key)
{
    ngx_http_apisec_window_node_t  *wn;

    wn = ngx_http_apisec_str_lookup(z->sh,
                                    ngx_crc32_short(key->data, key->len),
                                    key->data, key->len);

    return (wn != NULL && wn->kind == NGX_HTTP_APISEC_NODE_WINDOW) ? wn
                                                                   : NULL;
}


/*
 * The window under key, made from w (the store's copy, or an empty one)
 * when the zone has none.  Called locked; NULL: the zone is full.
 */

static ngx_http_apisec_window_node_t *
ngx_http_apisec_window_node(ngx_http_apisec_zone_t *z, ngx_str_t *key,
    ngx_uint_t durable, apisec_window_t *w, int64_t now_ms)
{
    size_t                          n;
    ngx_rbtree_node_t              *node;
    ngx_http_apisec_window_node_t  *wn;

    wn = ngx_http_apisec_window_find(z, key);

    if (wn != NULL) {
        ngx_queue_remove(&wn->queue);
        ngx_queue_insert_head(&z->sh->queue, &wn->queue);
        wn->last = now_ms;
        return wn;
    }

    if (w == NULL) {
        return NULL;
    }

    n = offsetof(ngx_rbtree_node_t, color)
        + offsetof(ngx_http_apisec_window_node_t, data) + key->len;

    node = ngx_slab_alloc_locked(z->shpool, n);

    if (node == NULL && ngx_http_apisec_rate_expire(z, now_ms, 1) > 0) {
        node = ngx_slab_alloc_locked(z->shpool, n);
    }

    if (node == NULL) {
        return NULL;
    }

    node->key = ngx_crc32_short(key->data, key->len);

    wn = (ngx_http_apisec_window_node_t *) &node->color;
    wn->kind = NGX_HTTP_APISEC_NODE_WINDOW;
    wn->len = (u_short) key->len;
    wn->off = offsetof(ngx_http_apisec_window_node_t, data);
    wn->last = now_ms;
    wn->durable = durable;
    wn->w = *w;
    wn->saved = w->gen;
    ngx_memcpy(wn->data, key->data, key->len);

    ngx_rbtree_insert(ngx_http_apisec_tree(z->sh, node->key), node);
    ngx_queue_insert_head(&z->sh->queue, &wn->queue);
    z->sh->entries++;

    return wn;
}


/*
 * An amount (or, with amount 0 and max the count, a failure) against the
 * window under key.  The window is the zone's; when the zone has none it
 * is made from *stored (the store's copy, or NULL: an empty one), which
 * the caller read before.  Over max (sum in the window plus amount), it is
 * added only with force; *res tells what happened.
 *
 * NGX_OK; NGX_DECLINED: the zone has no such window and stored was not
 * given (the caller reads the store and calls again, which is safe: a
 * window found in the zone by then wins); NGX_ERROR: the zone is full.
 */

ngx_int_t
ngx_http_apisec_window(ngx_shm_zone_t *zone, ngx_str_t *key, int64_t per,
    ngx_uint_t durable, apisec_window_t *stored, ngx_uint_t have_stored,
    int64_t now_ms, ngx_http_apisec_window_res_t *res)
{
    apisec_dec_t                    total;
    uint64_t                        count;
    apisec_window_t                 empty;
    ngx_http_apisec_zone_t         *z;
    ngx_http_apisec_window_node_t  *wn;

    z = zone->data;

    ngx_shmtx_lock(&z->shpool->mutex);

    (void) ngx_http_apisec_rate_expire(z, now_ms, 0);

    wn = ngx_http_apisec_window_node(z, key, durable, NULL, now_ms);

    if (wn == NULL) {
        if (!have_stored) {
            ngx_shmtx_unlock(&z->shpool->mutex);
            return NGX_DECLINED;
        }

        if (stored == NULL) {
            apisec_window_init(&empty, per);
            stored = &empty;
        }

        wn = ngx_http_apisec_window_node(z, key, durable, stored, now_ms);

        if (wn == NULL) {
            ngx_shmtx_unlock(&z->shpool->mutex);
            return NGX_ERROR;
        }
    }

    if (!apisec_window_fits(&wn->w, per)) {
        /* per was changed: the window is laid out again, nothing lost */
        apisec_window_refit(&wn->w, per);
    }

    apisec_window_total(&wn->w, now_ms / 1000, &total, &count);

    res->sum = total;
    res->count = count;
    res->added = 0;
    res->over = 0;

    if (res->amount > res->max || total > res->max - res->amount) {
        res->over = 1;
    }

    if (res->peek) {
        /* looked at, not counted */

    } else if ((!res->over || res->force)
        && apisec_window_add(&wn->w, now_ms / 1000, res->amount, &res->idx)
           == 0)
    {
        res->added = 1;
        res->gen = wn->w.gen;

    } else if (!res->over) {
        /* a bucket at its limit: as good as over */
        res->over = 1;
    }

    ngx_shmtx_unlock(&z->shpool->mutex);

    return NGX_OK;
}


/* take back an add of ngx_http_apisec_window() */

void
ngx_http_apisec_window_undo(ngx_shm_zone_t *zone, ngx_str_t *key,
    int64_t idx, apisec_dec_t amount)
{
    ngx_http_apisec_zone_t         *z;
    ngx_http_apisec_window_node_t  *wn;

    z = zone->data;

    ngx_shmtx_lock(&z->shpool->mutex);

    wn = ngx_http_apisec_window_find(z, key);

    if (wn != NULL) {
        apisec_window_undo(&wn->w, idx, amount);
    }

    ngx_shmtx_unlock(&z->shpool->mutex);
}


/* a copy of the window under key, to be written; NGX_DECLINED: none */

ngx_int_t
ngx_http_apisec_window_copy(ngx_shm_zone_t *zone, ngx_str_t *key,
    apisec_window_t *w)
{
    ngx_int_t                       rc;
    ngx_http_apisec_zone_t         *z;
    ngx_http_apisec_window_node_t  *wn;

    z = zone->data;

    ngx_shmtx_lock(&z->shpool->mutex);

    wn = ngx_http_apisec_window_find(z, key);

    rc = NGX_DECLINED;

    if (wn != NULL) {
        *w = wn->w;
        rc = NGX_OK;
    }

    ngx_shmtx_unlock(&z->shpool->mutex);

    return rc;
}


/* the store has the window under key as of gen */

void
ngx_http_apisec_window_saved(ngx_shm_zone_t *zone, ngx_str_t *key,
    uint64_t gen)
{
    ngx_http_apisec_zone_t         *z;
    ngx_http_apisec_window_node_t  *wn;

    z = zone->data;

    ngx_shmtx_lock(&z->shpool->mutex);

    wn = ngx_http_apisec_window_find(z, key);

    if (wn != NULL && gen > wn->saved) {
        wn->saved = gen;
    }

    ngx_shmtx_unlock(&z->shpool->mutex);
}


/*
 * Copies of the durable windows whose last change the store does not
 * have (a write that failed, a worker killed while writing, an undo), at
 * most NGX_HTTP_APISEC_DIRTY_MAX, for the flush to write.
 */

ngx_int_t
ngx_http_apisec_windows_dirty(ngx_shm_zone_t *zone, ngx_pool_t *pool,
    ngx_http_apisec_dirty_t **out)
{
    ngx_uint_t                      n;
    ngx_queue_t                    *q;
    ngx_http_apisec_zone_t         *z;
    ngx_http_apisec_dirty_t        *d;
    ngx_http_apisec_lru_node_t     *ln;
    ngx_http_apisec_window_node_t  *wn;

    z = zone->data;

    d = ngx_palloc(pool,
                   NGX_HTTP_APISEC_DIRTY_MAX * sizeof(ngx_http_apisec_dirty_t));
    if (d == NULL) {
        return NGX_ERROR;
    }

    n = 0;

    ngx_shmtx_lock(&z->shpool->mutex);

    for (q = ngx_queue_head(&z->sh->queue);
         q != ngx_queue_sentinel(&z->sh->queue)
         && n < NGX_HTTP_APISEC_DIRTY_MAX;
         q = ngx_queue_next(q))
    {
        ln = ngx_queue_data(q, ngx_http_apisec_lru_node_t, queue);

        if (ln->kind != NGX_HTTP_APISEC_NODE_WINDOW) {
            continue;
        }

        wn = (ngx_http_apisec_window_node_t *) ln;

        if (!wn->durable || wn->saved == wn->w.gen) {
            continue;
        }

        d[n].key.data = ngx_pnalloc(pool, wn->len);
        if (d[n].key.data == NULL) {
            break;
        }

        ngx_memcpy(d[n].key.data, wn->data, wn->len);
        d[n].key.len = wn->len;
        d[n].w = wn->w;
        n++;
    }

    ngx_shmtx_unlock(&z->shpool->mutex);

    *out = d;

    return (ngx_int_t) n;
}


/*
 * An event for the next flush.  Rule events (must 0): NGX_DECLINED when
 * too many wait already or the zone is full, the event then counted as
 * dropped.  Events that must not be lost (must 1, withdrawal.requested):
 * no limit but the zone's memory, and NGX_DECLINED without counting when
 * that is exhausted (the caller refuses the request).
 */

ngx_int_t
ngx_http_apisec_rule_event(ngx_shm_zone_t *zone, const char *type,
    ngx_str_t *ak, ngx_str_t *account, ngx_str_t *extra)
{
    return ngx_http_apisec_event(zone, type, ak, account, extra, 0);
}


ngx_int_t
ngx_http_apisec_event(ngx_shm_zone_t *zone, const char *type,
    ngx_str_t *ak, ngx_str_t *account, ngx_str_t *extra, ngx_uint_t must)
{
    u_char                        *p;
    size_t                         len;
    ngx_http_apisec_zone_t        *z;
    ngx_http_apisec_event_node_t  *ev;

    z = zone->data;

    len = ngx_strlen(type) + ak->len + account->len + extra->len + 4;

    ngx_shmtx_lock(&z->shpool->mutex);

    ev = NULL;

    if (must || z->sh->nevents < NGX_HTTP_APISEC_RULE_EVENTS) {
        ev = ngx_slab_alloc_locked(z->shpool,
                           offsetof(ngx_http_apisec_event_node_t, data) + len);
    }

    if (ev == NULL) {
        if (!must) {
            z->sh->dropped++;
        }

        ngx_shmtx_unlock(&z->shpool->mutex);
        return NGX_DECLINED;
    }

    ev->len = len;

    p = ngx_cpymem(ev->data, type, ngx_strlen(type));
    *p++ = '\0';
    p = ngx_cpymem(p, ak->data, ak->len);
    *p++ = '\0';
    p = ngx_cpymem(p, account->data, account->len);
    *p++ = '\0';
    p = ngx_cpymem(p, extra->data, extra->len);
    *p = '\0';

    ngx_queue_insert_tail(&z->sh->events, &ev->queue);
    z->sh->nevents++;

    ngx_shmtx_unlock(&z->shpool->mutex);

    return NGX_OK;
}


/*
 * Events a flush took but could not write: back at the head of the
 * queue, in their order, for the next flush.  Only when the zone has no
 * memory left is one lost (and counted as dropped).
 */

void
ngx_http_apisec_rule_events_requeue(ngx_shm_zone_t *zone,
    ngx_http_apisec_rule_event_t *re, ngx_int_t n)
{
    u_char                        *p;
    size_t                         len, lt, la, lc, lx;
    ngx_int_t                      i;
    ngx_http_apisec_zone_t        *z;
    ngx_http_apisec_event_node_t  *ev;

    z = zone->data;

    ngx_shmtx_lock(&z->shpool->mutex);

    for (i = n - 1; i >= 0; i--) {
        lt = ngx_strlen(re[i].type);
        la = ngx_strlen(re[i].access_key);
        lc = ngx_strlen(re[i].account);
        lx = ngx_strlen(re[i].extra);

        len = lt + la + lc + lx + 4;

        ev = ngx_slab_alloc_locked(z->shpool,
                           offsetof(ngx_http_apisec_event_node_t, data) + len);
        if (ev == NULL) {
            z->sh->dropped++;
            continue;
        }

        ev->len = len;

        p = ngx_cpymem(ev->data, re[i].type, lt + 1);
        p = ngx_cpymem(p, re[i].access_key, la + 1);
        p = ngx_cpymem(p, re[i].account, lc + 1);
        ngx_memcpy(p, re[i].extra, lx + 1);

        ngx_queue_insert_head(&z->sh->events, &ev->queue);
        z->sh->nevents++;
    }

    ngx_shmtx_unlock(&z->shpool->mutex);
}


/*
 * Take the pending rule events, oldest first, when the last take is at
 * least min_ms old, as ngx_http_apisec_stamps_take() does.
 */

ngx_int_t
ngx_http_apisec_rule_events_take(ngx_shm_zone_t *zone, ngx_pool_t *pool,
    int64_t now_ms, int64_t min_ms, ngx_http_apisec_rule_event_t **out,
    ngx_uint_t *dropped)
{
    u_char                        *p;
    ngx_uint_t                     i;
    ngx_queue_t                   *q;
    ngx_http_apisec_zone_t        *z;
    ngx_http_apisec_rule_event_t  *re;
    ngx_http_apisec_event_node_t  *ev;

    z = zone->data;

    ngx_shmtx_lock(&z->shpool->mutex);

    if (now_ms - z->sh->last_flush < min_ms) {
        ngx_shmtx_unlock(&z->shpool->mutex);
        return 0;
    }

    z->sh->last_flush = now_ms;

    *dropped = z->sh->dropped;
    z->sh->dropped = 0;

    if (z->sh->nevents == 0) {
        ngx_shmtx_unlock(&z->shpool->mutex);
        return 0;
    }

    re = ngx_palloc(pool,
                    z->sh->nevents * sizeof(ngx_http_apisec_rule_event_t));
    if (re == NULL) {
        ngx_shmtx_unlock(&z->shpool->mutex);
        return NGX_ERROR;
    }

    i = 0;

    while (!ngx_queue_empty(&z->sh->events)) {
        q = ngx_queue_head(&z->sh->events);
        ev = ngx_queue_data(q, ngx_http_apisec_event_node_t, queue);

        p = ngx_pnalloc(pool, ev->len);
        if (p == NULL) {
            break;
        }

        ngx_memcpy(p, ev->data, ev->len);

        re[i].type = (char *) p;
        p += ngx_strlen(p) + 1;
        re[i].access_key = (char *) p;
        p += ngx_strlen(p) + 1;
        re[i].account = (char *) p;
        p += ngx_strlen(p) + 1;
        re[i].extra = (char *) p;
        i++;

        ngx_queue_remove(q);
        ngx_slab_free_locked(z->shpool, ev);
        z->sh->nevents--;
    }

    ngx_shmtx_unlock(&z->shpool->mutex);

    *out = re;

    return (ngx_int_t) i;
}


/*
 * A node out of its queue and its tree, and freed (data: the node's
 * color, where every kind of node begins); called locked.  Every free is
 * counted, so that a worker's memo of a node (ngx_http_apisec_rate) is
 * known to be still the node while the count has not moved.
 */

static void
ngx_http_apisec_node_free(ngx_http_apisec_zone_t *z, ngx_queue_t *q,
    void *data)
{
    ngx_rbtree_node_t  *node;

    node = (ngx_rbtree_node_t *)
               ((u_char *) data - offsetof(ngx_rbtree_node_t, color));

    ngx_queue_remove(q);
    ngx_rbtree_delete(ngx_http_apisec_tree(z->sh, node->key), node);
    ngx_slab_free_locked(z->shpool, node);
    z->sh->entries--;
    z->sh->freed++;
}


/* nodes keyed by a byte string: ordered by its hash, then by the bytes */

static void
ngx_http_apisec_str_insert(ngx_rbtree_node_t *temp, ngx_rbtree_node_t *node,
    ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t           **p;
    ngx_http_apisec_str_node_t   *n, *t;

    for ( ;; ) {

        if (node->key < temp->key) {
            p = &temp->left;

        } else if (node->key > temp->key) {
            p = &temp->right;

        } else {
            n = (ngx_http_apisec_str_node_t *) &node->color;
            t = (ngx_http_apisec_str_node_t *) &temp->color;

            p = (ngx_memn2cmp((u_char *) n + n->off, (u_char *) t + t->off,
                              n->len, t->len)
                 < 0)
                ? &temp->left : &temp->right;
        }

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}


/* the node (its head, at &node->color) keyed by data, or NULL */

static void *
ngx_http_apisec_str_lookup(ngx_http_apisec_sh_t *sh, ngx_rbtree_key_t key,
    const u_char *data, size_t len)
{
    ngx_int_t                    rc;
    ngx_rbtree_t                *tree;
    ngx_rbtree_node_t           *node, *sentinel;
    ngx_http_apisec_str_node_t  *n;

    tree = ngx_http_apisec_tree(sh, key);
    node = tree->root;
    sentinel = tree->sentinel;

    while (node != sentinel) {

        if (key != node->key) {
            node = (key < node->key) ? node->left : node->right;
            continue;
        }

        n = (ngx_http_apisec_str_node_t *) &node->color;

        rc = ngx_memn2cmp((u_char *) data, (u_char *) n + n->off, len, n->len);

        if (rc == 0) {
            return n;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}
