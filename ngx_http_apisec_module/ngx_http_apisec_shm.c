/*
 * apisec: shared memory.
 *
 * Two zones, of one kind: a slab pool holding an rbtree and a queue in
 * order of insertion, under the pool's mutex (as limit_req's zones).
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
 * none of them, except those of a flush it was in the middle of.
 */


#include "ngx_http_apisec_module.h"


#define NGX_HTTP_APISEC_REPLAY_SCAN   32    /* entries looked at to free */


typedef struct {
    ngx_rbtree_t                 rbtree;
    ngx_rbtree_node_t            sentinel;
    ngx_queue_t                  queue;          /* newest at the head */
    ngx_uint_t                   entries;
    int64_t                      last_flush;     /* stamps: Unix ms */
    ngx_uint_t                   dropped;        /* stamps: zone was full */
} ngx_http_apisec_sh_t;


typedef struct {
    ngx_http_apisec_sh_t        *sh;
    ngx_slab_pool_t             *shpool;
    ngx_rbtree_insert_pt         insert;
    const char                  *what;
} ngx_http_apisec_zone_t;


typedef struct {
    u_char                       color;
    u_char                       dummy;
    u_char                       mac[APISEC_SHA256_LEN];
    ngx_queue_t                  queue;
    int64_t                      expires;        /* Unix ms */
} ngx_http_apisec_replay_node_t;


typedef struct {
    u_char                       color;
    u_char                       expire;         /* found idle */
    u_short                      len;
    ngx_queue_t                  queue;
    int64_t                      used;           /* Unix s, 0: not used */
    int64_t                      totp_step;      /* last accepted, or 0 */
    ngx_uint_t                   totp_failed;    /* failed codes */
    u_char                       data[1];        /* the access key */
} ngx_http_apisec_stamp_node_t;


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
static void ngx_http_apisec_stamp_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static ngx_http_apisec_stamp_node_t *ngx_http_apisec_stamp_lookup(
    ngx_http_apisec_sh_t *sh, ngx_rbtree_key_t key, const u_char *ak,
    size_t len);
static ngx_http_apisec_stamp_node_t *ngx_http_apisec_stamp_node(
    ngx_http_apisec_zone_t *z, const u_char *ak, size_t len);


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
                                ngx_http_apisec_stamp_insert,
                                "apisec stamp zone");
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
    ngx_http_apisec_zone_t  *z;

    z = shm_zone->data;

    if (oz != NULL) {
        /* a reload: keep what the previous cycle holds */
        z->sh = oz->sh;
        z->shpool = oz->shpool;
        return NGX_OK;
    }

    z->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        z->sh = z->shpool->data;
        return NGX_OK;
    }

    z->sh = ngx_slab_alloc(z->shpool, sizeof(ngx_http_apisec_sh_t));
    if (z->sh == NULL) {
        return NGX_ERROR;
    }

    z->shpool->data = z->sh;

    ngx_rbtree_init(&z->sh->rbtree, &z->sh->sentinel, z->insert);
    ngx_queue_init(&z->sh->queue);

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

    ngx_rbtree_insert(&z->sh->rbtree, node);
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
    ngx_rbtree_node_t              *node, *sentinel;
    ngx_http_apisec_replay_node_t  *rn;

    node = sh->rbtree.root;
    sentinel = sh->rbtree.sentinel;

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
    ngx_rbtree_node_t              *node;
    ngx_http_apisec_replay_node_t  *rn;

    freed = 0;

    for (q = ngx_queue_last(&z->sh->queue);
         n > 0 && q != ngx_queue_sentinel(&z->sh->queue);
         q = prev, n--)
    {
        prev = ngx_queue_prev(q);

        rn = ngx_queue_data(q, ngx_http_apisec_replay_node_t, queue);

        if (rn->expires >= now) {
            continue;
        }

        ngx_queue_remove(q);

        node = (ngx_rbtree_node_t *)
                   ((u_char *) rn - offsetof(ngx_rbtree_node_t, color));

        ngx_rbtree_delete(&z->sh->rbtree, node);
        ngx_slab_free_locked(z->shpool, node);

        z->sh->entries--;
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
    int64_t t)
{
    ngx_http_apisec_zone_t        *z;
    ngx_http_apisec_stamp_node_t  *sn;

    z = zone->data;

    ngx_shmtx_lock(&z->shpool->mutex);

    sn = ngx_http_apisec_stamp_node(z, ak, len);

    if (sn == NULL) {
        ngx_shmtx_unlock(&z->shpool->mutex);
        return NGX_ERROR;
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

    sn = ngx_http_apisec_stamp_lookup(z->sh, hash, ak, len);

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
    sn->expire = 0;
    sn->used = 0;
    sn->totp_step = 0;
    sn->totp_failed = 0;
    ngx_memcpy(sn->data, ak, len);

    ngx_rbtree_insert(&z->sh->rbtree, node);
    ngx_queue_insert_head(&z->sh->queue, &sn->queue);
    z->sh->entries++;

    return sn;
}


/* the last use stamped since the last flush, or 0 */

int64_t
ngx_http_apisec_stamp_get(ngx_shm_zone_t *zone, const u_char *ak, size_t len)
{
    int64_t                        used;
    ngx_http_apisec_zone_t        *z;
    ngx_http_apisec_stamp_node_t  *sn;

    z = zone->data;

    ngx_shmtx_lock(&z->shpool->mutex);

    sn = ngx_http_apisec_stamp_lookup(z->sh,
                                      ngx_crc32_short((u_char *) ak, len),
                                      ak, len);
    used = (sn != NULL) ? sn->used : 0;

    ngx_shmtx_unlock(&z->shpool->mutex);

    return used;
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
    ngx_rbtree_node_t             *node;
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
    p = ngx_pnalloc(pool, z->sh->entries * (APISEC_KEY_MAX + 1));

    if (st == NULL || p == NULL) {
        ngx_shmtx_unlock(&z->shpool->mutex);
        return NGX_ERROR;
    }

    /*
     * a key whose last TOTP step may still come again (the store has it
     * only once this flush commits) stays, so that the step is refused
     * meanwhile; what it had to write is taken all the same
     */

    recent = now_ms / 1000 / APISEC_TOTP_STEP - 2;

    i = 0;

    for (q = ngx_queue_head(&z->sh->queue);
         q != ngx_queue_sentinel(&z->sh->queue);
         q = next)
    {
        next = ngx_queue_next(q);
        sn = ngx_queue_data(q, ngx_http_apisec_stamp_node_t, queue);

        if (sn->used || sn->expire || sn->totp_failed
            || sn->totp_step >= recent)
        {
            st[i].access_key = (char *) p;
            p = ngx_cpymem(p, sn->data, sn->len);
            *p++ = '\0';
            st[i].len = sn->len;
            st[i].used = sn->used;
            st[i].expire = sn->expire;
            st[i].totp_step = sn->totp_step;
            st[i].totp_failed = sn->totp_failed;
            i++;
        }

        if (sn->totp_step >= recent) {
            sn->used = 0;
            sn->expire = 0;
            sn->totp_failed = 0;
            continue;
        }

        ngx_queue_remove(q);

        node = (ngx_rbtree_node_t *)
                   ((u_char *) sn - offsetof(ngx_rbtree_node_t, color));

        ngx_rbtree_delete(&z->sh->rbtree, node);
        ngx_slab_free_locked(z->shpool, node);
        z->sh->entries--;
    }

    ngx_shmtx_unlock(&z->shpool->mutex);

    *out = st;

    return (ngx_int_t) i;
}


static void
ngx_http_apisec_stamp_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t             **p;
    ngx_http_apisec_stamp_node_t   *sn, *snt;

    for ( ;; ) {

        if (node->key < temp->key) {
            p = &temp->left;

        } else if (node->key > temp->key) {
            p = &temp->right;

        } else {
            sn = (ngx_http_apisec_stamp_node_t *) &node->color;
            snt = (ngx_http_apisec_stamp_node_t *) &temp->color;

            p = (ngx_memn2cmp(sn->data, snt->data, sn->len, snt->len) < 0)
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


static ngx_http_apisec_stamp_node_t *
ngx_http_apisec_stamp_lookup(ngx_http_apisec_sh_t *sh, ngx_rbtree_key_t key,
    const u_char *ak, size_t len)
{
    ngx_int_t                      rc;
    ngx_rbtree_node_t             *node, *sentinel;
    ngx_http_apisec_stamp_node_t  *sn;

    node = sh->rbtree.root;
    sentinel = sh->rbtree.sentinel;

    while (node != sentinel) {

        if (key != node->key) {
            node = (key < node->key) ? node->left : node->right;
            continue;
        }

        sn = (ngx_http_apisec_stamp_node_t *) &node->color;

        rc = ngx_memn2cmp((u_char *) ak, sn->data, len, sn->len);

        if (rc == 0) {
            return sn;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}
