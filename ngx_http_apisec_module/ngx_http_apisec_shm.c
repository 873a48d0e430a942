/*
 * apisec: shared memory.
 *
 * The replay guard: every signature accepted at a location with
 * "apisec_replay_guard on" is remembered, across all workers, until its
 * timestamp leaves the window (after which the timestamp check refuses
 * it anyway).  A slab pool holds an rbtree keyed by the MAC and a queue
 * in order of insertion; an entry is evicted only once it has expired,
 * so a zone full of live entries refuses new requests (fail closed)
 * rather than forget one.
 */


#include "ngx_http_apisec_module.h"


#define NGX_HTTP_APISEC_REPLAY_SCAN   32    /* entries looked at to free */


typedef struct {
    ngx_rbtree_t                 rbtree;
    ngx_rbtree_node_t            sentinel;
    ngx_queue_t                  queue;          /* newest at the head */
    ngx_uint_t                   entries;
} ngx_http_apisec_replay_sh_t;


typedef struct {
    ngx_http_apisec_replay_sh_t  *sh;
    ngx_slab_pool_t              *shpool;
} ngx_http_apisec_replay_ctx_t;


typedef struct {
    u_char                       color;
    u_char                       dummy;
    u_char                       mac[APISEC_SHA256_LEN];
    ngx_queue_t                  queue;
    int64_t                      expires;        /* Unix ms */
} ngx_http_apisec_replay_node_t;


static ngx_int_t ngx_http_apisec_replay_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static void ngx_http_apisec_replay_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static ngx_http_apisec_replay_node_t *ngx_http_apisec_replay_lookup(
    ngx_http_apisec_replay_sh_t *sh, ngx_rbtree_key_t key, const u_char *mac);
static ngx_uint_t ngx_http_apisec_replay_expire(
    ngx_http_apisec_replay_ctx_t *ctx, int64_t now, ngx_uint_t n);


static ngx_str_t  ngx_http_apisec_replay_name = ngx_string("apisec_replay");


ngx_shm_zone_t *
ngx_http_apisec_replay_zone(ngx_conf_t *cf, size_t size)
{
    ngx_shm_zone_t                *zone;
    ngx_http_apisec_replay_ctx_t  *ctx;

    ctx = ngx_pcalloc(cf->pool, sizeof(ngx_http_apisec_replay_ctx_t));
    if (ctx == NULL) {
        return NULL;
    }

    zone = ngx_shared_memory_add(cf, &ngx_http_apisec_replay_name, size,
                                 &ngx_http_apisec_module);
    if (zone == NULL) {
        return NULL;
    }

    if (zone->data != NULL) {
        return zone;
    }

    zone->init = ngx_http_apisec_replay_init_zone;
    zone->data = ctx;

    return zone;
}


/*
 * Remember mac until expires (Unix ms).  NGX_OK: first seen, now
 * remembered; NGX_DECLINED: seen before; NGX_BUSY: no room (every entry
 * still live).
 */

ngx_int_t
ngx_http_apisec_replay_record(ngx_shm_zone_t *zone, const u_char *mac,
    int64_t expires, int64_t now)
{
    size_t                          n;
    ngx_rbtree_key_t                key;
    ngx_rbtree_node_t              *node;
    ngx_http_apisec_replay_ctx_t   *ctx;
    ngx_http_apisec_replay_node_t  *rn;

    ctx = zone->data;

    /* the MAC is uniformly distributed: its first bytes are a fine hash */

    ngx_memcpy(&key, mac, sizeof(ngx_rbtree_key_t));

    ngx_shmtx_lock(&ctx->shpool->mutex);

    (void) ngx_http_apisec_replay_expire(ctx, now, 2);

    if (ngx_http_apisec_replay_lookup(ctx->sh, key, mac) != NULL) {
        ngx_shmtx_unlock(&ctx->shpool->mutex);
        return NGX_DECLINED;
    }

    n = offsetof(ngx_rbtree_node_t, color)
        + sizeof(ngx_http_apisec_replay_node_t);

    node = ngx_slab_alloc_locked(ctx->shpool, n);

    if (node == NULL
        && ngx_http_apisec_replay_expire(ctx, now,
                                         NGX_HTTP_APISEC_REPLAY_SCAN) > 0)
    {
        node = ngx_slab_alloc_locked(ctx->shpool, n);
    }

    if (node == NULL) {
        ngx_shmtx_unlock(&ctx->shpool->mutex);
        return NGX_BUSY;
    }

    node->key = key;

    rn = (ngx_http_apisec_replay_node_t *) &node->color;
    ngx_memcpy(rn->mac, mac, APISEC_SHA256_LEN);
    rn->expires = expires;

    ngx_rbtree_insert(&ctx->sh->rbtree, node);
    ngx_queue_insert_head(&ctx->sh->queue, &rn->queue);
    ctx->sh->entries++;

    ngx_shmtx_unlock(&ctx->shpool->mutex);

    return NGX_OK;
}


static ngx_int_t
ngx_http_apisec_replay_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_apisec_replay_ctx_t  *octx = data;

    size_t                         len;
    ngx_http_apisec_replay_ctx_t  *ctx;

    ctx = shm_zone->data;

    if (octx != NULL) {
        /* a reload: keep what the previous cycle remembered */
        ctx->sh = octx->sh;
        ctx->shpool = octx->shpool;
        return NGX_OK;
    }

    ctx->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        ctx->sh = ctx->shpool->data;
        return NGX_OK;
    }

    ctx->sh = ngx_slab_alloc(ctx->shpool,
                             sizeof(ngx_http_apisec_replay_sh_t));
    if (ctx->sh == NULL) {
        return NGX_ERROR;
    }

    ctx->shpool->data = ctx->sh;

    ngx_rbtree_init(&ctx->sh->rbtree, &ctx->sh->sentinel,
                    ngx_http_apisec_replay_insert);
    ngx_queue_init(&ctx->sh->queue);

    len = sizeof(" in apisec replay zone \"\"") + shm_zone->shm.name.len;

    ctx->shpool->log_ctx = ngx_slab_alloc(ctx->shpool, len);
    if (ctx->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(ctx->shpool->log_ctx, " in apisec replay zone \"%V\"%Z",
                &shm_zone->shm.name);

    /* a full zone is reported by the caller, once per refusal */
    ctx->shpool->log_nomem = 0;

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
ngx_http_apisec_replay_lookup(ngx_http_apisec_replay_sh_t *sh,
    ngx_rbtree_key_t key, const u_char *mac)
{
    ngx_int_t                       rc;
    ngx_rbtree_node_t              *node, *sentinel;
    ngx_http_apisec_replay_node_t  *rn;

    node = sh->rbtree.root;
    sentinel = sh->rbtree.sentinel;

    while (node != sentinel) {

        if (key < node->key) {
            node = node->left;
            continue;
        }

        if (key > node->key) {
            node = node->right;
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
ngx_http_apisec_replay_expire(ngx_http_apisec_replay_ctx_t *ctx,
    int64_t now, ngx_uint_t n)
{
    ngx_uint_t                      freed;
    ngx_queue_t                    *q, *prev;
    ngx_rbtree_node_t              *node;
    ngx_http_apisec_replay_node_t  *rn;

    freed = 0;

    for (q = ngx_queue_last(&ctx->sh->queue);
         n > 0 && q != ngx_queue_sentinel(&ctx->sh->queue);
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

        ngx_rbtree_delete(&ctx->sh->rbtree, node);
        ngx_slab_free_locked(ctx->shpool, node);

        ctx->sh->entries--;
        freed++;
    }

    return freed;
}
