/*
 * apisec: the event log's subscribers and the metrics.
 *
 * Webhooks.  Events are written to the store by the flush (a tick of
 * the flush timer after they happen).  One worker at a time (the holder
 * of a lease in shared memory) delivers them: for each subscriber it
 * reads the next event after the subscriber's cursor from the store,
 * POSTs it from the event loop (never blocking it), and moves the cursor
 * when the subscriber answers 2xx; otherwise it tries the same event
 * again after a backoff that doubles up to max_backoff.  So events reach
 * each subscriber in order, at least once.  The cursors live in shared
 * memory (a worker that dies loses none) and are written to the store by
 * the flush, in the same transaction as the stamps, and at every exit:
 * after a restart delivery goes on from where it was (at most a tick of
 * events is delivered a second time after a crash of the whole server;
 * receivers de-duplicate by X-Apisec-Event-Id).
 *
 * Metrics.  Requests by result code and rule hits are counted in the
 * same shared zone (atomic increments, no lock); apisec_status writes
 * them, with the store's figures and the subscribers' state, as
 * Prometheus text.
 */


#include "ngx_http_apisec_module.h"


#define NGX_HTTP_APISEC_HOOK_TIMEOUT   10000   /* ms: connect, send, read */
#define NGX_HTTP_APISEC_HOOK_POLL      1000    /* ms: look for new events */
#define NGX_HTTP_APISEC_HOOK_LEASE     10000   /* ms a lease lasts */
#define NGX_HTTP_APISEC_HOOK_SECRET_MAX  1024
#define NGX_HTTP_APISEC_HOOK_BACKOFF   1000    /* ms: the first retry */
#define NGX_HTTP_APISEC_METRICS_MAGIC  0x61706d31  /* "apm1" */
#define NGX_HTTP_APISEC_KEYS_EVERY     60      /* s: a walk of the keys */
#define NGX_HTTP_APISEC_KEYS_IDLE      300     /* s: no scrape, no walk */
#define NGX_HTTP_APISEC_KEYS_STEP      1000    /* keys a step */
#define NGX_HTTP_APISEC_KEYS_TICK      50      /* ms between steps */
#define NGX_HTTP_APISEC_LEASE_HOOKS    0       /* the webhooks' deliverer */
#define NGX_HTTP_APISEC_LEASE_KEYS     1       /* the keys' walker */
#define NGX_HTTP_APISEC_STATUSES       (APISEC_STATUS_MAX + 1)


/* a subscriber's state, shared by the workers */
typedef struct ngx_http_apisec_hook_sh_s {
    u_char                      name[APISEC_CURSOR_NAME_MAX + 1];
    ngx_uint_t                  used;
    uint64_t                    acked;          /* last acknowledged */
    uint64_t                    stored;         /* what the store has */
    ngx_atomic_t                delivered;
    ngx_atomic_t                failures;
    int64_t                     last_ok;        /* Unix s */
    int64_t                     last_failure;   /* Unix s */
} ngx_http_apisec_hook_sh_t;


typedef struct {
    u_char                      id[NGX_HTTP_APISEC_RULE_ID_LEN];
    ngx_uint_t                  action;
    ngx_atomic_t                hits;
} ngx_http_apisec_rule_sh_t;


typedef struct {
    uint32_t                    magic;
    size_t                      size;
    ngx_atomic_t                requests[APISEC_E_MAX];
    ngx_pid_t                   lease_pid[2];
    int64_t                     lease_until[2]; /* Unix ms */
    int64_t                     last_flush;     /* Unix ms, any worker */
    ngx_atomic_t                flush_failures;
    int64_t                     keys_at;        /* Unix s, 0: never */
    uint64_t                    keys[NGX_HTTP_APISEC_STATUSES];
    int64_t                     scraped_at;     /* Unix s */
    ngx_uint_t                  walking;
    uint64_t                    walk_keys[NGX_HTTP_APISEC_STATUSES];
    size_t                      walk_len;
    u_char                      walk_after[APISEC_KEY_MAX + 1];
    ngx_http_apisec_hook_sh_t   hooks[NGX_HTTP_APISEC_HOOKS_MAX];
    ngx_http_apisec_rule_sh_t   rules[NGX_HTTP_APISEC_RULE_SLOTS];
} ngx_http_apisec_metrics_sh_t;


typedef struct {
    ngx_http_apisec_metrics_sh_t  *sh;
    ngx_slab_pool_t               *shpool;
    ngx_http_apisec_main_conf_t   *amcf;
} ngx_http_apisec_metrics_t;


/* the delivery of one event to one subscriber, in this worker */
struct ngx_http_apisec_delivery_s {
    ngx_http_apisec_webhook_t  *hook;
    ngx_http_apisec_main_conf_t *amcf;
    ngx_peer_connection_t       peer;
    ngx_pool_t                 *pool;           /* of this attempt */
    ngx_buf_t                  *out;            /* the request */
    u_char                      in[256];        /* the status line */
    size_t                      nin;
    uint64_t                    seq;            /* the event */
    ngx_msec_t                  backoff;
    ngx_msec_t                  retry_at;
    ngx_event_t                 retry;          /* a timer: try again */
    unsigned                    busy:1;
    unsigned                    connecting:1;
};


/* what ngx_http_apisec_hook_next() looks for */
typedef struct {
    ngx_http_apisec_webhook_t  *hook;
    uint64_t                    seq;            /* the event found */
    uint64_t                    skip;           /* the last seen */
    ngx_str_t                   json;
    ngx_pool_t                 *pool;
    ngx_uint_t                  error;
} ngx_http_apisec_next_t;


static ngx_int_t ngx_http_apisec_metrics_init(ngx_shm_zone_t *shm_zone,
    void *data);
static void ngx_http_apisec_metrics_slots(ngx_http_apisec_metrics_sh_t *sh,
    ngx_array_t *rules);
static ngx_http_apisec_metrics_sh_t *ngx_http_apisec_metrics(
    ngx_http_apisec_main_conf_t *amcf);
static char *ngx_http_apisec_hook_file(ngx_conf_t *cf, ngx_str_t *file,
    ngx_str_t *out);
static void ngx_http_apisec_hook_secret_wipe(void *data);
static ngx_uint_t ngx_http_apisec_lease(ngx_http_apisec_main_conf_t *amcf,
    ngx_uint_t which, ngx_uint_t release);
static void ngx_http_apisec_keys_tick(ngx_event_t *ev);
static void ngx_http_apisec_hooks_tick(ngx_event_t *ev);
static void ngx_http_apisec_hook_retry(ngx_event_t *ev);
static void ngx_http_apisec_hook_start(ngx_http_apisec_delivery_t *d);
static int ngx_http_apisec_hook_next(uint64_t seq, const char *json,
    size_t len, void *arg);
static ngx_int_t ngx_http_apisec_hook_request(ngx_http_apisec_delivery_t *d,
    ngx_str_t *json);
static void ngx_http_apisec_hook_connected(ngx_http_apisec_delivery_t *d);
#if (NGX_HTTP_SSL)
static void ngx_http_apisec_hook_handshake(ngx_connection_t *c);
#endif
static void ngx_http_apisec_hook_write(ngx_event_t *wev);
static void ngx_http_apisec_hook_read(ngx_event_t *rev);
static void ngx_http_apisec_hook_done(ngx_http_apisec_delivery_t *d,
    ngx_uint_t status, const char *why);
static void ngx_http_apisec_hook_close(ngx_http_apisec_delivery_t *d);
static ngx_int_t ngx_http_apisec_status_handler(ngx_http_request_t *r);
static int ngx_http_apisec_count_key(const apisec_key_t *k, void *arg);
static u_char *ngx_http_apisec_prom_hook(u_char *p, const char *name,
    ngx_http_apisec_webhook_t *hook, uint64_t value);


/* what a step of the keys' walk counted, and where it stopped */
typedef struct {
    uint64_t                    keys[NGX_HTTP_APISEC_STATUSES];
    size_t                      len;
    u_char                      last[APISEC_KEY_MAX + 1];
} ngx_http_apisec_walk_t;


static const char  *ngx_http_apisec_event_types[] = {
    "key.expired", "key.locked", "key.created", "key.revoked",
    "auth.failed", "2fa.failed", "rule.monitor", "rule.block",
    "withdrawal.requested", NULL
};


static const char  *ngx_http_apisec_action_names[] = {
    "", "monitor", "block", "lock"
};


/*
 * apisec_webhook URL [secret=FILE] [events=LIST] [name=NAME] [ca=FILE]
 *                [max_backoff=TIME];
 */

char *
ngx_http_apisec_webhook(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_apisec_main_conf_t *amcf = conf;

    u_char                      *p, *last;
    ngx_str_t                   *value, s, *type, file, cafile;
    ngx_int_t                    ms;
    ngx_uint_t                   i, j, k;
    ngx_http_apisec_webhook_t   *hook, *other;

    value = cf->args->elts;

    if (amcf->webhooks == NULL) {
        amcf->webhooks = ngx_array_create(cf->pool, 2,
                                          sizeof(ngx_http_apisec_webhook_t));
        if (amcf->webhooks == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    if (amcf->webhooks->nelts == NGX_HTTP_APISEC_HOOKS_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "too many \"apisec_webhook\" subscribers "
                           "(%d at most)", NGX_HTTP_APISEC_HOOKS_MAX);
        return NGX_CONF_ERROR;
    }

    hook = ngx_array_push(amcf->webhooks);
    if (hook == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(hook, sizeof(ngx_http_apisec_webhook_t));

    hook->url = value[1];
    hook->backoff_max = 60000;
    ngx_str_null(&file);
    ngx_str_null(&cafile);

    if (value[1].len > 7
        && ngx_strncasecmp(value[1].data, (u_char *) "http://", 7) == 0)
    {
        hook->u.url.data = value[1].data + 7;
        hook->u.url.len = value[1].len - 7;
        hook->u.default_port = 80;

    } else if (value[1].len > 8
               && ngx_strncasecmp(value[1].data, (u_char *) "https://", 8)
                  == 0)
    {
#if (NGX_HTTP_SSL)
        hook->u.url.data = value[1].data + 8;
        hook->u.url.len = value[1].len - 8;
        hook->u.default_port = 443;
        hook->ssl_on = 1;
#else
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "apisec_webhook \"%V\" needs nginx built with "
                           "SSL", &value[1]);
        return NGX_CONF_ERROR;
#endif

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid apisec_webhook URL \"%V\": http:// or "
                           "https:// expected", &value[1]);
        return NGX_CONF_ERROR;
    }

    hook->u.uri_part = 1;

    if (ngx_parse_url(cf->pool, &hook->u) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid apisec_webhook URL \"%V\": %s",
                           &value[1], hook->u.err ? hook->u.err : "bad URL");
        return NGX_CONF_ERROR;
    }

    if (hook->u.naddrs == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "apisec_webhook \"%V\": no address for the host",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    if (hook->u.uri.len == 0) {
        ngx_str_set(&hook->u.uri, "/");
    }

    hook->host_z = ngx_pnalloc(cf->pool, hook->u.host.len + 1);
    if (hook->host_z == NULL) {
        return NGX_CONF_ERROR;
    }

    *ngx_cpymem(hook->host_z, hook->u.host.data, hook->u.host.len) = '\0';

    /* no SNI for an address (RFC 6066) */
    hook->host_ip = (hook->u.host.len && hook->u.host.data[0] == '[')
                    || ngx_inet_addr(hook->u.host.data, hook->u.host.len)
                       != INADDR_NONE;

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "secret=", 7) == 0) {
            file.data = value[i].data + 7;
            file.len = value[i].len - 7;
            continue;
        }

        if (ngx_strncmp(value[i].data, "ca=", 3) == 0) {
            cafile.data = value[i].data + 3;
            cafile.len = value[i].len - 3;
            continue;
        }

        if (ngx_strncmp(value[i].data, "name=", 5) == 0) {
            hook->name.data = value[i].data + 5;
            hook->name.len = value[i].len - 5;

            /* the characters of an access key, 64 at most */

            if (hook->name.len > 64
                || !apisec_valid_access_key((char *) hook->name.data,
                                            hook->name.len))
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid apisec_webhook \"%V\": letters, "
                                   "digits, \"-\", \"_\" and \".\", 64 at "
                                   "most", &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "max_backoff=", 12) == 0) {
            s.data = value[i].data + 12;
            s.len = value[i].len - 12;

            ms = ngx_parse_time(&s, 0);

            if (ms == NGX_ERROR || ms < 100 || ms > 86400000) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid apisec_webhook \"%V\": a time "
                                   "from 100ms to 1d", &value[i]);
                return NGX_CONF_ERROR;
            }

            hook->backoff_max = (ngx_msec_t) ms;
            continue;
        }

        if (ngx_strncmp(value[i].data, "events=", 7) == 0) {
            hook->events = ngx_array_create(cf->pool, 4, sizeof(ngx_str_t));
            if (hook->events == NULL) {
                return NGX_CONF_ERROR;
            }

            p = value[i].data + 7;
            last = value[i].data + value[i].len;

            while (p <= last) {
                s.data = p;

                while (p < last && *p != ',') {
                    p++;
                }

                s.len = p - s.data;
                p++;

                for (k = 0; ngx_http_apisec_event_types[k] != NULL; k++) {
                    if (s.len == ngx_strlen(ngx_http_apisec_event_types[k])
                        && ngx_strncmp(s.data, ngx_http_apisec_event_types[k],
                                       s.len) == 0)
                    {
                        break;
                    }
                }

                if (ngx_http_apisec_event_types[k] == NULL) {
                    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                       "invalid apisec_webhook \"%V\": "
                                       "unknown event type \"%V\"",
                                       &value[i], &s);
                    return NGX_CONF_ERROR;
                }

                type = ngx_array_push(hook->events);
                if (type == NULL) {
                    return NGX_CONF_ERROR;
                }

                *type = s;
            }

            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid apisec_webhook parameter \"%V\"",
                           &value[i]);
        return NGX_CONF_ERROR;
    }

    /* the label of metrics and log lines: the name, or scheme://host:port */

    if (hook->name.len) {
        hook->label = hook->name;

    } else {
        hook->label.data = ngx_pnalloc(cf->pool, sizeof("https://:65535")
                                                 + hook->u.host.len);
        if (hook->label.data == NULL) {
            return NGX_CONF_ERROR;
        }

        hook->label.len = ngx_sprintf(hook->label.data, "%s://%V:%d",
                                      hook->ssl_on ? "https" : "http",
                                      &hook->u.host, (int) hook->u.port)
                          - hook->label.data;
    }

    /* the cursor's name in the store: the name, or the whole URL */

    hook->cursor = hook->name.len ? hook->name : hook->url;

    if (hook->cursor.len > APISEC_CURSOR_NAME_MAX - 8) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "apisec_webhook \"%V\" is too long: give it a "
                           "name=", &value[1]);
        return NGX_CONF_ERROR;
    }

    p = ngx_pnalloc(cf->pool, hook->cursor.len + 1);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    *ngx_cpymem(p, hook->cursor.data, hook->cursor.len) = '\0';
    hook->cursor.data = p;

    other = amcf->webhooks->elts;

    for (j = 0; j + 1 < amcf->webhooks->nelts; j++) {
        if (other[j].cursor.len == hook->cursor.len
            && ngx_strncmp(other[j].cursor.data, hook->cursor.data,
                           hook->cursor.len) == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "duplicate apisec_webhook \"%V\": give each "
                               "its own name=", &hook->cursor);
            return NGX_CONF_ERROR;
        }
    }

    if (file.len) {
        if (ngx_http_apisec_hook_file(cf, &file, &hook->secret)
            != NGX_CONF_OK)
        {
            return NGX_CONF_ERROR;
        }

    } else {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "apisec_webhook \"%V\" has no secret=: its "
                           "requests are not signed", &hook->label);
    }

#if (NGX_HTTP_SSL)
    if (hook->ssl_on) {
        ngx_pool_cleanup_t  *cln;

        hook->ssl = ngx_pcalloc(cf->pool, sizeof(ngx_ssl_t));
        if (hook->ssl == NULL) {
            return NGX_CONF_ERROR;
        }

        hook->ssl->log = cf->log;

        if (ngx_ssl_create(hook->ssl, NGX_SSL_TLSv1_2|NGX_SSL_TLSv1_3, NULL)
            != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }

        cln = ngx_pool_cleanup_add(cf->pool, 0);
        if (cln == NULL) {
            ngx_ssl_cleanup_ctx(hook->ssl);
            return NGX_CONF_ERROR;
        }

        cln->handler = ngx_ssl_cleanup_ctx;
        cln->data = hook->ssl;

        if (cafile.len) {
            if (ngx_conf_full_name(cf->cycle, &cafile, 1) != NGX_OK) {
                return NGX_CONF_ERROR;
            }

            if (SSL_CTX_load_verify_locations(hook->ssl->ctx,
                                              (char *) cafile.data, NULL)
                == 0)
            {
                ngx_ssl_error(NGX_LOG_EMERG, cf->log, 0,
                              "apisec_webhook: cannot load the CA "
                              "certificates of \"%V\"", &cafile);
                return NGX_CONF_ERROR;
            }

        } else if (SSL_CTX_set_default_verify_paths(hook->ssl->ctx) == 0) {
            ngx_ssl_error(NGX_LOG_EMERG, cf->log, 0,
                          "apisec_webhook: cannot load the system's CA "
                          "certificates");
            return NGX_CONF_ERROR;
        }
    }
#else
    (void) cafile;
#endif

    return NGX_CONF_OK;
}


/* the subscriber's secret: the file's bytes, without a final newline */

static char *
ngx_http_apisec_hook_file(ngx_conf_t *cf, ngx_str_t *file, ngx_str_t *out)
{
    u_char               buf[NGX_HTTP_APISEC_HOOK_SECRET_MAX + 1];
    ssize_t              n;
    ngx_fd_t             fd;
    ngx_str_t            name;
    ngx_pool_cleanup_t  *cln;

    name = *file;

    if (ngx_conf_full_name(cf->cycle, &name, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    fd = ngx_open_file(name.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "apisec_webhook: cannot open the secret \"%V\"",
                           &name);
        return NGX_CONF_ERROR;
    }

    n = read(fd, buf, sizeof(buf));

    (void) ngx_close_file(fd);

    if (n < 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "apisec_webhook: cannot read the secret \"%V\"",
                           &name);
        return NGX_CONF_ERROR;
    }

    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) {
        n--;
    }

    if (n == 0 || n > NGX_HTTP_APISEC_HOOK_SECRET_MAX) {
        apisec_wipe(buf, sizeof(buf));
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "apisec_webhook: the secret \"%V\" must hold 1 "
                           "to %d bytes", &name,
                           NGX_HTTP_APISEC_HOOK_SECRET_MAX);
        return NGX_CONF_ERROR;
    }

    out->data = ngx_pnalloc(cf->pool, n);
    if (out->data == NULL) {
        apisec_wipe(buf, sizeof(buf));
        return NGX_CONF_ERROR;
    }

    ngx_memcpy(out->data, buf, n);
    out->len = n;

    apisec_wipe(buf, sizeof(buf));

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_apisec_hook_secret_wipe;
    cln->data = out;

    return NGX_CONF_OK;
}


static void
ngx_http_apisec_hook_secret_wipe(void *data)
{
    ngx_str_t  *s = data;

    apisec_wipe(s->data, s->len);
}


/* apisec_status: Prometheus text metrics */

char *
ngx_http_apisec_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_apisec_status_handler;

    return NGX_CONF_OK;
}


/*
 * The metrics zone, with the subscribers' cursors and the delivery
 * lease.  Its rule slots are given to the rules here, at every
 * configuration, by id and action: a rule kept across a reload keeps its
 * counter.
 */

ngx_int_t
ngx_http_apisec_metrics_zone(ngx_conf_t *cf, ngx_http_apisec_main_conf_t *amcf)
{
    ngx_str_t                   name;
    ngx_shm_zone_t             *zone;
    ngx_http_apisec_metrics_t  *m;

    ngx_str_set(&name, "apisec_metrics");

    zone = ngx_shared_memory_add(cf, &name,
                     ngx_align(sizeof(ngx_http_apisec_metrics_sh_t)
                               + 8 * ngx_pagesize, ngx_pagesize),
                     &ngx_http_apisec_module);
    if (zone == NULL) {
        return NGX_ERROR;
    }

    m = ngx_pcalloc(cf->pool, sizeof(ngx_http_apisec_metrics_t));
    if (m == NULL) {
        return NGX_ERROR;
    }

    m->amcf = amcf;

    zone->init = ngx_http_apisec_metrics_init;
    zone->data = m;

    amcf->metrics_zone = zone;

    return NGX_OK;
}


static ngx_int_t
ngx_http_apisec_metrics_init(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_apisec_metrics_t  *om = data;

    ngx_uint_t                     l;
    ngx_array_t                  **lrules;
    ngx_http_apisec_metrics_t     *m;
    ngx_http_apisec_metrics_sh_t  *sh;

    m = shm_zone->data;

    if (om != NULL) {
        m->sh = om->sh;
        m->shpool = om->shpool;

    } else {
        m->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

        if (shm_zone->shm.exists) {
            m->sh = m->shpool->data;

        } else {
            m->sh = ngx_slab_alloc(m->shpool,
                                   sizeof(ngx_http_apisec_metrics_sh_t));
            if (m->sh == NULL) {
                return NGX_ERROR;
            }

            ngx_memzero(m->sh, sizeof(ngx_http_apisec_metrics_sh_t));
            m->shpool->data = m->sh;
        }
    }

    sh = m->sh;

    if (sh->magic != NGX_HTTP_APISEC_METRICS_MAGIC
        || sh->size != sizeof(ngx_http_apisec_metrics_sh_t))
    {
        /* new, or left by another version of the module */
        ngx_memzero(sh, sizeof(ngx_http_apisec_metrics_sh_t));
        sh->magic = NGX_HTTP_APISEC_METRICS_MAGIC;
        sh->size = sizeof(ngx_http_apisec_metrics_sh_t);
    }

    /* the rules of this configuration: their slots (the master, no race) */

    if (m->amcf->all_rules == NULL) {
        return NGX_OK;
    }

    lrules = m->amcf->all_rules->elts;

    for (l = 0; l < m->amcf->all_rules->nelts; l++) {
        ngx_http_apisec_metrics_slots(sh, lrules[l]);
    }

    return NGX_OK;
}


/* the slots of one location's rules: by id and action, or new */

static void
ngx_http_apisec_metrics_slots(ngx_http_apisec_metrics_sh_t *sh,
    ngx_array_t *rules)
{
    ngx_uint_t                  i, j, free;
    ngx_http_apisec_rule_t     *rule;
    ngx_http_apisec_rule_sh_t  *slot;

    rule = rules->elts;

    for (i = 0; i < rules->nelts; i++) {

        rule[i].metric = NGX_HTTP_APISEC_RULE_SLOTS;
        free = NGX_HTTP_APISEC_RULE_SLOTS;

        for (j = 0; j < NGX_HTTP_APISEC_RULE_SLOTS; j++) {
            slot = &sh->rules[j];

            if (slot->action == 0) {
                if (free == NGX_HTTP_APISEC_RULE_SLOTS) {
                    free = j;
                }

                continue;
            }

            if (slot->action == rule[i].action
                && ngx_strlen(slot->id) == rule[i].id.len
                && ngx_strncmp(slot->id, rule[i].id.data, rule[i].id.len)
                   == 0)
            {
                rule[i].metric = j;
                break;
            }
        }

        if (rule[i].metric == NGX_HTTP_APISEC_RULE_SLOTS
            && free != NGX_HTTP_APISEC_RULE_SLOTS
            && rule[i].id.len < NGX_HTTP_APISEC_RULE_ID_LEN)
        {
            slot = &sh->rules[free];
            ngx_memcpy(slot->id, rule[i].id.data, rule[i].id.len);
            slot->id[rule[i].id.len] = '\0';
            slot->action = rule[i].action;
            slot->hits = 0;
            rule[i].metric = free;
        }
    }
}


static ngx_http_apisec_metrics_sh_t *
ngx_http_apisec_metrics(ngx_http_apisec_main_conf_t *amcf)
{
    ngx_http_apisec_metrics_t  *m;

    if (amcf->metrics_zone == NULL) {
        return NULL;
    }

    m = amcf->metrics_zone->data;

    return m->sh;
}


/* the log phase: a request apisec judged, counted by its result */

ngx_int_t
ngx_http_apisec_log_phase(ngx_http_request_t *r)
{
    ngx_http_apisec_ctx_t         *ctx;
    ngx_http_apisec_main_conf_t   *amcf;
    ngx_http_apisec_metrics_sh_t  *sh;

    ctx = ngx_http_get_module_ctx(r, ngx_http_apisec_module);

    if (ctx == NULL || !ctx->done || ctx->err >= APISEC_E_MAX) {
        return NGX_OK;
    }

    amcf = ngx_http_get_module_main_conf(r, ngx_http_apisec_module);
    sh = ngx_http_apisec_metrics(amcf);

    if (sh != NULL) {
        (void) ngx_atomic_fetch_add(&sh->requests[ctx->err], 1);
    }

    return NGX_OK;
}


void
ngx_http_apisec_metrics_rule(ngx_http_request_t *r,
    ngx_http_apisec_rule_t *rule)
{
    ngx_http_apisec_main_conf_t   *amcf;
    ngx_http_apisec_metrics_sh_t  *sh;

    amcf = ngx_http_get_module_main_conf(r, ngx_http_apisec_module);
    sh = ngx_http_apisec_metrics(amcf);

    if (sh != NULL && rule->metric < NGX_HTTP_APISEC_RULE_SLOTS) {
        (void) ngx_atomic_fetch_add(&sh->rules[rule->metric].hits, 1);
    }
}


/* a flush wrote the store (or found nothing to write), at now_ms */

void
ngx_http_apisec_metrics_flushed(ngx_http_apisec_main_conf_t *amcf,
    int64_t now_ms, ngx_uint_t ok)
{
    ngx_http_apisec_metrics_sh_t  *sh;

    sh = ngx_http_apisec_metrics(amcf);

    if (sh == NULL) {
        return;
    }

    if (ok) {
        sh->last_flush = now_ms;

    } else {
        (void) ngx_atomic_fetch_add(&sh->flush_failures, 1);
    }
}


/*
 * The cursors for the flush: the subscribers whose cursor moved since
 * the store last had it, taken in the event loop (_take, which gives the
 * lowest cursor of all, below which events may be pruned), written in
 * the flush's transaction, wherever it runs (_write: it reads only what
 * _take set), then, once the transaction has committed, what the store
 * has (_saved).
 */

uint64_t
ngx_http_apisec_hooks_take(ngx_http_apisec_main_conf_t *amcf)
{
    uint64_t                       min_acked;
    ngx_uint_t                     i;
    ngx_http_apisec_webhook_t     *hook;
    ngx_http_apisec_hook_sh_t     *hs;
    ngx_http_apisec_metrics_t     *m;

    min_acked = UINT64_MAX;

    if (amcf->webhooks == NULL || amcf->metrics_zone == NULL) {
        return min_acked;
    }

    m = amcf->metrics_zone->data;
    hook = amcf->webhooks->elts;

    ngx_shmtx_lock(&m->shpool->mutex);

    for (i = 0; i < amcf->webhooks->nelts; i++) {
        hook[i].saving = 0;
        hs = hook[i].slot;

        if (hs == NULL || !hs->used) {
            /* not started yet: nothing may be pruned */
            min_acked = 0;
            continue;
        }

        if (hs->acked < min_acked) {
            min_acked = hs->acked;
        }

        if (hs->acked > hs->stored) {
            hook[i].saving = hs->acked;
        }
    }

    ngx_shmtx_unlock(&m->shpool->mutex);

    return min_acked;
}


int
ngx_http_apisec_hooks_write(ngx_http_apisec_main_conf_t *amcf,
    apisec_wtxn_t *txn)
{
    int                         rc;
    ngx_uint_t                  i;
    ngx_http_apisec_webhook_t  *hook;

    if (amcf->webhooks == NULL) {
        return APISEC_OK;
    }

    hook = amcf->webhooks->elts;

    for (i = 0; i < amcf->webhooks->nelts; i++) {
        if (hook[i].saving == 0) {
            continue;
        }

        rc = apisec_cursor_put(txn, (char *) hook[i].cursor.data,
                               hook[i].saving);
        if (rc != APISEC_OK) {
            return rc;
        }
    }

    return APISEC_OK;
}


ngx_uint_t
ngx_http_apisec_hooks_dirty(ngx_http_apisec_main_conf_t *amcf)
{
    ngx_uint_t                  i, n;
    ngx_http_apisec_webhook_t  *hook;

    if (amcf->webhooks == NULL) {
        return 0;
    }

    hook = amcf->webhooks->elts;
    n = 0;

    for (i = 0; i < amcf->webhooks->nelts; i++) {
        if (hook[i].slot != NULL && hook[i].slot->used
            && hook[i].slot->acked > hook[i].slot->stored)
        {
            n++;
        }
    }

    return n;
}


void
ngx_http_apisec_hooks_saved(ngx_http_apisec_main_conf_t *amcf)
{
    ngx_uint_t                  i;
    ngx_http_apisec_webhook_t  *hook;
    ngx_http_apisec_metrics_t  *m;

    if (amcf->webhooks == NULL || amcf->metrics_zone == NULL) {
        return;
    }

    m = amcf->metrics_zone->data;
    hook = amcf->webhooks->elts;

    ngx_shmtx_lock(&m->shpool->mutex);

    for (i = 0; i < amcf->webhooks->nelts; i++) {
        if (hook[i].saving && hook[i].slot != NULL
            && hook[i].slot->stored < hook[i].saving)
        {
            hook[i].slot->stored = hook[i].saving;
        }

        hook[i].saving = 0;
    }

    ngx_shmtx_unlock(&m->shpool->mutex);
}


/*
 * A worker's start: its subscribers' slots in the metrics zone (by
 * cursor name), and the delivery timer.  Every worker looks; the one
 * that holds the lease delivers.
 */

ngx_int_t
ngx_http_apisec_hooks_init(ngx_cycle_t *cycle,
    ngx_http_apisec_main_conf_t *amcf)
{
    ngx_uint_t                     i, j, free;
    ngx_http_apisec_webhook_t     *hook;
    ngx_http_apisec_hook_sh_t     *hs;
    ngx_http_apisec_metrics_t     *m;
    ngx_http_apisec_delivery_t    *d;

    if (amcf->metrics_zone == NULL) {
        return NGX_OK;
    }

    /* the walk of the keys for apisec_status, in steps */

    amcf->keys_tick.handler = ngx_http_apisec_keys_tick;
    amcf->keys_tick.data = amcf;
    amcf->keys_tick.log = cycle->log;
    amcf->keys_tick.cancelable = 1;

    ngx_add_timer(&amcf->keys_tick, NGX_HTTP_APISEC_KEYS_TICK);

    if (amcf->webhooks == NULL) {
        return NGX_OK;
    }

    m = amcf->metrics_zone->data;
    hook = amcf->webhooks->elts;

    ngx_shmtx_lock(&m->shpool->mutex);

    for (i = 0; i < amcf->webhooks->nelts; i++) {
        free = NGX_HTTP_APISEC_HOOKS_MAX;
        hook[i].slot = NULL;

        for (j = 0; j < NGX_HTTP_APISEC_HOOKS_MAX; j++) {
            hs = &m->sh->hooks[j];

            if (hs->name[0] == '\0') {
                if (free == NGX_HTTP_APISEC_HOOKS_MAX) {
                    free = j;
                }

                continue;
            }

            if (ngx_strlen(hs->name) == hook[i].cursor.len
                && ngx_strncmp(hs->name, hook[i].cursor.data,
                               hook[i].cursor.len) == 0)
            {
                hook[i].slot = hs;
                break;
            }
        }

        if (hook[i].slot == NULL && free == NGX_HTTP_APISEC_HOOKS_MAX) {
            /* slots of subscribers of older configurations: reuse one */
            for (j = 0; j < NGX_HTTP_APISEC_HOOKS_MAX; j++) {
                hs = &m->sh->hooks[j];
                if (hs->acked == hs->stored) {
                    free = j;
                    break;
                }
            }
        }

        if (hook[i].slot == NULL && free < NGX_HTTP_APISEC_HOOKS_MAX) {
            hs = &m->sh->hooks[free];
            ngx_memzero(hs, sizeof(ngx_http_apisec_hook_sh_t));
            ngx_memcpy(hs->name, hook[i].cursor.data, hook[i].cursor.len);
            hook[i].slot = hs;
        }
    }

    ngx_shmtx_unlock(&m->shpool->mutex);

    for (i = 0; i < amcf->webhooks->nelts; i++) {
        if (hook[i].slot == NULL) {
            ngx_log_error(NGX_LOG_ALERT, cycle->log, 0,
                          "apisec: webhook \"%V\": no slot in the metrics "
                          "zone; it is not delivered", &hook[i].label);
            continue;
        }

        d = ngx_pcalloc(cycle->pool, sizeof(ngx_http_apisec_delivery_t));
        if (d == NULL) {
            return NGX_ERROR;
        }

        d->hook = &hook[i];
        d->amcf = amcf;
        d->retry.handler = ngx_http_apisec_hook_retry;
        d->retry.data = d;
        d->retry.log = cycle->log;
        d->retry.cancelable = 1;

        hook[i].delivery = d;
    }

    amcf->hooks_tick.handler = ngx_http_apisec_hooks_tick;
    amcf->hooks_tick.data = amcf;
    amcf->hooks_tick.log = cycle->log;
    amcf->hooks_tick.cancelable = 1;

    ngx_add_timer(&amcf->hooks_tick, NGX_HTTP_APISEC_HOOK_POLL);

    return NGX_OK;
}


/*
 * At configuration time (the master, the store open read-only): where a
 * subscriber the store has never seen starts, the last event now, so it
 * gets every event recorded from the moment its configuration is loaded.
 */

ngx_int_t
ngx_http_apisec_hooks_conf(ngx_conf_t *cf, ngx_http_apisec_main_conf_t *amcf,
    apisec_store_t *st)
{
    int                         rc;
    uint64_t                    seq;
    ngx_uint_t                  i;
    ngx_http_apisec_webhook_t  *hook;

    if (amcf->webhooks == NULL) {
        return NGX_OK;
    }

    hook = amcf->webhooks->elts;

    for (i = 0; i < amcf->webhooks->nelts; i++) {
        rc = apisec_cursor_get(st, (char *) hook[i].cursor.data, &seq);

        if (rc == APISEC_ERR_NOTFOUND) {
            rc = apisec_event_last(st, &seq);
        }

        if (rc != APISEC_OK) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "apisec_webhook \"%V\": cannot read its cursor: "
                          "%s: %s", &hook[i].label, apisec_rc_str(rc),
                          apisec_store_error(st));
            return NGX_ERROR;
        }

        hook[i].start = seq;
    }

    return NGX_OK;
}


/* a worker's exit: the lease goes, a delivery under way is dropped */

void
ngx_http_apisec_hooks_exit(ngx_http_apisec_main_conf_t *amcf)
{
    ngx_uint_t                  i, n;
    ngx_http_apisec_webhook_t  *hook;

    if (amcf->metrics_zone == NULL) {
        return;
    }

    hook = (amcf->webhooks != NULL) ? amcf->webhooks->elts : NULL;
    n = (amcf->webhooks != NULL) ? amcf->webhooks->nelts : 0;

    for (i = 0; i < n; i++) {
        if (hook[i].delivery != NULL) {
            ngx_http_apisec_hook_close(hook[i].delivery);
        }
    }

    (void) ngx_http_apisec_lease(amcf, NGX_HTTP_APISEC_LEASE_HOOKS, 1);
    (void) ngx_http_apisec_lease(amcf, NGX_HTTP_APISEC_LEASE_KEYS, 1);
}


/*
 * The delivery lease: 1 when this worker holds it (taken, or renewed);
 * release gives it up.  The lease lapses when its holder stops renewing
 * it (a worker killed), so another worker goes on.
 */

static ngx_uint_t
ngx_http_apisec_lease(ngx_http_apisec_main_conf_t *amcf, ngx_uint_t which,
    ngx_uint_t release)
{
    int64_t                        now;
    ngx_uint_t                     held;
    ngx_time_t                    *tp;
    ngx_http_apisec_metrics_t     *m;
    ngx_http_apisec_metrics_sh_t  *sh;

    m = amcf->metrics_zone->data;
    sh = m->sh;

    tp = ngx_timeofday();
    now = (int64_t) tp->sec * 1000 + tp->msec;

    ngx_shmtx_lock(&m->shpool->mutex);

    held = 0;

    if (release) {
        if (sh->lease_pid[which] == ngx_pid) {
            sh->lease_pid[which] = 0;
            sh->lease_until[which] = 0;
        }

    } else if (sh->lease_pid[which] == ngx_pid || sh->lease_pid[which] == 0
               || sh->lease_until[which] < now)
    {
        sh->lease_pid[which] = ngx_pid;
        sh->lease_until[which] = now + NGX_HTTP_APISEC_HOOK_LEASE;
        held = 1;
    }

    ngx_shmtx_unlock(&m->shpool->mutex);

    return held;
}


static void
ngx_http_apisec_hooks_tick(ngx_event_t *ev)
{
    int                            rc;
    uint64_t                       seq;
    ngx_uint_t                     i, found;
    ngx_http_apisec_webhook_t     *hook;
    ngx_http_apisec_hook_sh_t     *hs;
    ngx_http_apisec_metrics_t     *m;
    ngx_http_apisec_delivery_t    *d;
    ngx_http_apisec_main_conf_t   *amcf;

    amcf = ev->data;

    if (ngx_exiting || ngx_terminate || ngx_quit) {
        (void) ngx_http_apisec_lease(amcf, NGX_HTTP_APISEC_LEASE_HOOKS, 1);
        return;
    }

    ngx_add_timer(ev, NGX_HTTP_APISEC_HOOK_POLL);

    if (!ngx_http_apisec_lease(amcf, NGX_HTTP_APISEC_LEASE_HOOKS, 0)) {
        amcf->hooks_holder = 0;
        return;
    }

    if (amcf->store == NULL) {
        return;
    }

    m = amcf->metrics_zone->data;
    hook = amcf->webhooks->elts;

    if (!amcf->hooks_holder) {
        /*
         * this worker has just taken the lease: the cursors from the
         * store, unless shared memory is ahead; a subscriber the store
         * has never seen starts after the last event
         */

        for (i = 0; i < amcf->webhooks->nelts; i++) {
            hs = hook[i].slot;

            if (hs == NULL) {
                continue;
            }

            found = 1;

            rc = apisec_cursor_get(amcf->store, (char *) hook[i].cursor.data,
                                   &seq);

            if (rc == APISEC_ERR_NOTFOUND) {
                /* the last event when the configuration was loaded */
                found = 0;
                seq = hook[i].start;
                rc = APISEC_OK;

                ngx_log_error(NGX_LOG_NOTICE, ev->log, 0,
                              "apisec: webhook \"%V\" is new: its events "
                              "are those after %uL", &hook[i].label, seq);
            }

            if (rc != APISEC_OK) {
                ngx_log_error(NGX_LOG_ALERT, ev->log, 0,
                              "apisec: webhook \"%V\": cannot read its "
                              "cursor: %s: %s", &hook[i].label,
                              apisec_rc_str(rc),
                              apisec_store_error(amcf->store));
                return;
            }

            ngx_shmtx_lock(&m->shpool->mutex);

            if (!hs->used) {
                hs->used = 1;
                hs->acked = seq;
                hs->stored = found ? seq : 0;   /* a new one: written */

            } else if (hs->acked < seq) {
                hs->acked = seq;
            }

            if (hs->stored > hs->acked) {
                hs->stored = hs->acked;
            }

            ngx_shmtx_unlock(&m->shpool->mutex);
        }

        /* the log's id, for the receivers' de-duplication */

        if (apisec_store_log_id(amcf->store, amcf->log_id) != APISEC_OK) {
            amcf->log_id[0] = '\0';
        }

        amcf->hooks_holder = 1;
    }

    for (i = 0; i < amcf->webhooks->nelts; i++) {
        d = hook[i].delivery;

        if (d != NULL && !d->busy && !d->retry.timer_set) {
            ngx_http_apisec_hook_start(d);
        }
    }
}


static void
ngx_http_apisec_hook_retry(ngx_event_t *ev)
{
    ngx_http_apisec_delivery_t  *d;

    d = ev->data;

    if (ngx_exiting || ngx_terminate || ngx_quit || !d->amcf->hooks_holder) {
        return;
    }

    ngx_http_apisec_hook_start(d);
}


/* the next event for this subscriber, if any: sent */

static void
ngx_http_apisec_hook_start(ngx_http_apisec_delivery_t *d)
{
    int                           rc;
    ngx_int_t                     n;
    ngx_connection_t             *c;
    ngx_http_apisec_next_t        next;
    ngx_http_apisec_webhook_t    *hook;
    ngx_http_apisec_hook_sh_t    *hs;
    ngx_http_apisec_metrics_t    *m;
    ngx_http_apisec_main_conf_t  *amcf;

    amcf = d->amcf;
    hook = d->hook;
    hs = hook->slot;
    m = amcf->metrics_zone->data;

    if (amcf->store == NULL || !hs->used) {
        return;
    }

    d->pool = ngx_create_pool(2048, ngx_cycle->log);
    if (d->pool == NULL) {
        return;
    }

    ngx_memzero(&next, sizeof(ngx_http_apisec_next_t));
    next.hook = hook;
    next.pool = d->pool;

    ngx_shmtx_lock(&m->shpool->mutex);
    next.skip = hs->acked;
    ngx_shmtx_unlock(&m->shpool->mutex);

    rc = apisec_event_foreach(amcf->store, next.skip,
                              ngx_http_apisec_hook_next, &next);

    /* -1: stopped at an event */

    if ((rc != APISEC_OK && rc != -1) || next.error) {
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                      "apisec: webhook \"%V\": cannot read the event "
                      "log: %s", &hook->label,
                      next.error ? "no memory"
                                 : apisec_store_error(amcf->store));
        ngx_destroy_pool(d->pool);
        d->pool = NULL;
        return;
    }

    if (next.seq == 0) {
        /* nothing to send: past the events of other types */

        ngx_shmtx_lock(&m->shpool->mutex);
        if (next.skip > hs->acked) {
            hs->acked = next.skip;
        }
        ngx_shmtx_unlock(&m->shpool->mutex);

        ngx_destroy_pool(d->pool);
        d->pool = NULL;
        return;
    }

    d->seq = next.seq;
    d->busy = 1;
    d->nin = 0;

    if (ngx_http_apisec_hook_request(d, &next.json) != NGX_OK) {
        ngx_http_apisec_hook_done(d, 0, "cannot make the request");
        return;
    }

    /* connect */

    ngx_memzero(&d->peer, sizeof(ngx_peer_connection_t));

    d->peer.sockaddr = hook->u.addrs[0].sockaddr;
    d->peer.socklen = hook->u.addrs[0].socklen;
    d->peer.name = &hook->u.addrs[0].name;
    d->peer.get = ngx_event_get_peer;
    d->peer.log = ngx_cycle->log;
    d->peer.log_error = NGX_ERROR_ERR;

    n = ngx_event_connect_peer(&d->peer);

    if (n == NGX_ERROR || n == NGX_BUSY || n == NGX_DECLINED) {
        ngx_http_apisec_hook_done(d, 0, "cannot connect");
        return;
    }

    c = d->peer.connection;
    c->data = d;
    c->pool = d->pool;
    c->read->handler = ngx_http_apisec_hook_read;
    c->write->handler = ngx_http_apisec_hook_write;

    ngx_add_timer(c->write, NGX_HTTP_APISEC_HOOK_TIMEOUT);

    if (n == NGX_AGAIN) {
        d->connecting = 1;      /* connected when writable */
        return;
    }

    ngx_http_apisec_hook_connected(d);
}


/* apisec_event_foreach()'s callback: the first event of a type wanted */

static int
ngx_http_apisec_hook_next(uint64_t seq, const char *json, size_t len,
    void *arg)
{
    ngx_http_apisec_next_t *next = arg;

    u_char      *p, *e;
    ngx_str_t   *type;
    ngx_uint_t   i;

    if (next->hook->events != NULL) {
        /* {"seq":N,"type":"T",... as the store writes it */

        p = ngx_strlchr((u_char *) json, (u_char *) json + len, ',');

        if (p == NULL || (size_t) ((u_char *) json + len - p) < 9
            || ngx_strncmp(p, ",\"type\":\"", 9) != 0)
        {
            next->skip = seq;
            return 0;           /* not an event (nothing to send) */
        }

        p += 9;
        e = ngx_strlchr(p, (u_char *) json + len, '"');

        if (e == NULL) {
            next->skip = seq;
            return 0;
        }

        type = next->hook->events->elts;

        for (i = 0; i < next->hook->events->nelts; i++) {
            if (type[i].len == (size_t) (e - p)
                && ngx_strncmp(type[i].data, p, type[i].len) == 0)
            {
                break;
            }
        }

        if (i == next->hook->events->nelts) {
            next->skip = seq;
            return 0;
        }
    }

    next->json.data = ngx_pnalloc(next->pool, len);
    if (next->json.data == NULL) {
        next->error = 1;
        return -1;
    }

    ngx_memcpy(next->json.data, json, len);
    next->json.len = len;
    next->seq = seq;

    return -1;
}


/*
 * The request: a JSON POST, signed as
 * hex HMAC-SHA256(secret, timestamp + "." + body).
 */

static ngx_int_t
ngx_http_apisec_hook_request(ngx_http_apisec_delivery_t *d, ngx_str_t *json)
{
    u_char                      *p, *signed_text;
    size_t                       len;
    time_t                       now;
    ngx_buf_t                   *b;
    ngx_http_apisec_webhook_t   *hook;
    u_char                       mac[APISEC_SHA256_LEN];
    char                         hex[2 * APISEC_SHA256_LEN + 1];

    hook = d->hook;
    now = ngx_time();

    hex[0] = '\0';

    if (hook->secret.len) {
        if (d->amcf->hmac == NULL) {
            return NGX_ERROR;
        }

        signed_text = ngx_pnalloc(d->pool, NGX_TIME_T_LEN + 1 + json->len);
        if (signed_text == NULL) {
            return NGX_ERROR;
        }

        p = ngx_sprintf(signed_text, "%T.", now);
        p = ngx_cpymem(p, json->data, json->len);

        if (apisec_hmac_sha256(d->amcf->hmac, hook->secret.data,
                               hook->secret.len, signed_text,
                               p - signed_text, mac)
            != 0)
        {
            return NGX_ERROR;
        }

        apisec_hex_encode(mac, sizeof(mac), hex);
        hex[2 * APISEC_SHA256_LEN] = '\0';
    }

    len = sizeof("POST  HTTP/1.1\r\nHost: :65535\r\n"
                 "Content-Type: application/json\r\n"
                 "Content-Length: \r\nUser-Agent: apisec\r\n"
                 "X-Apisec-Event-Id: \r\nX-Apisec-Timestamp: \r\n"
                 "X-Apisec-Signature: \r\nConnection: close\r\n\r\n"
                 "X-Apisec-Log-Id: \r\n") + APISEC_LOG_ID_LEN
          + hook->u.uri.len + hook->u.host.len + NGX_SIZE_T_LEN
          + NGX_INT64_LEN + NGX_TIME_T_LEN + sizeof(hex) + json->len;

    b = ngx_create_temp_buf(d->pool, len);
    if (b == NULL) {
        return NGX_ERROR;
    }

    p = ngx_sprintf(b->last, "POST %V HTTP/1.1\r\nHost: %V", &hook->u.uri,
                    &hook->u.host);

    if (hook->u.port != hook->u.default_port) {
        p = ngx_sprintf(p, ":%d", (int) hook->u.port);
    }

    p = ngx_sprintf(p, "\r\nContent-Type: application/json\r\n"
                    "Content-Length: %uz\r\nUser-Agent: apisec\r\n"
                    "X-Apisec-Event-Id: %uL\r\nX-Apisec-Timestamp: %T\r\n",
                    json->len, d->seq, now);

    if (d->amcf->log_id[0] != '\0') {
        p = ngx_sprintf(p, "X-Apisec-Log-Id: %s\r\n", d->amcf->log_id);
    }

    if (hex[0] != '\0') {
        p = ngx_sprintf(p, "X-Apisec-Signature: %s\r\n", hex);
    }

    p = ngx_cpymem(p, "Connection: close\r\n\r\n",
                   sizeof("Connection: close\r\n\r\n") - 1);
    p = ngx_cpymem(p, json->data, json->len);

    b->last = p;
    d->out = b;

    return NGX_OK;
}


static void
ngx_http_apisec_hook_connected(ngx_http_apisec_delivery_t *d)
{
#if (NGX_HTTP_SSL)
    ngx_int_t          rc;
    ngx_connection_t  *c;

    c = d->peer.connection;

    if (d->hook->ssl != NULL && c->ssl == NULL) {

        if (ngx_ssl_create_connection(d->hook->ssl, c, NGX_SSL_CLIENT)
            != NGX_OK)
        {
            ngx_http_apisec_hook_done(d, 0, "cannot start TLS");
            return;
        }

        if (!d->hook->host_ip
            && SSL_set_tlsext_host_name(c->ssl->connection,
                                        (char *) d->hook->host_z)
               == 0)
        {
            ngx_http_apisec_hook_done(d, 0, "cannot set the TLS host name");
            return;
        }

        rc = ngx_ssl_handshake(c);

        if (rc == NGX_AGAIN) {
            if (!c->write->timer_set) {
                ngx_add_timer(c->write, NGX_HTTP_APISEC_HOOK_TIMEOUT);
            }

            c->ssl->handler = ngx_http_apisec_hook_handshake;
            return;
        }

        ngx_http_apisec_hook_handshake(c);
        return;
    }
#endif

    ngx_http_apisec_hook_write(d->peer.connection->write);
}


#if (NGX_HTTP_SSL)

static void
ngx_http_apisec_hook_handshake(ngx_connection_t *c)
{
    long                         rc;
    ngx_http_apisec_delivery_t  *d;

    d = c->data;

    if (!c->ssl->handshaked) {
        ngx_http_apisec_hook_done(d, 0, "the TLS handshake failed");
        return;
    }

    rc = SSL_get_verify_result(c->ssl->connection);

    if (rc != X509_V_OK) {
        ngx_log_error(NGX_LOG_ERR, c->log, 0,
                      "apisec: webhook \"%V\": its certificate does not "
                      "verify: (%l:%s)", &d->hook->label, rc,
                      X509_verify_cert_error_string(rc));
        ngx_http_apisec_hook_done(d, 0, "the certificate does not verify");
        return;
    }

    if (ngx_ssl_check_host(c, &d->hook->u.host) != NGX_OK) {
        ngx_http_apisec_hook_done(d, 0, "the certificate is not for the "
                                  "host");
        return;
    }

    c->write->handler = ngx_http_apisec_hook_write;
    c->read->handler = ngx_http_apisec_hook_read;

    ngx_http_apisec_hook_write(c->write);
}

#endif


static void
ngx_http_apisec_hook_write(ngx_event_t *wev)
{
    int                          err;
    ssize_t                      n;
    socklen_t                    len;
    ngx_buf_t                   *b;
    ngx_connection_t            *c;
    ngx_http_apisec_delivery_t  *d;

    c = wev->data;
    d = c->data;

    if (wev->timedout) {
        ngx_http_apisec_hook_done(d, 0, "timed out connecting or sending");
        return;
    }

    if (d->connecting) {
        /* the outcome of the connect(), as the upstream module tests it */

        d->connecting = 0;
        err = 0;
        len = sizeof(int);

        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, (void *) &err, &len)
            == -1)
        {
            err = ngx_socket_errno;
        }

        if (err) {
            ngx_log_error(NGX_LOG_ERR, c->log, err,
                          "apisec: webhook \"%V\": connect() to %V failed",
                          &d->hook->label, d->peer.name);
            ngx_http_apisec_hook_done(d, 0, "cannot connect");
            return;
        }
    }

#if (NGX_HTTP_SSL)
    if (d->hook->ssl != NULL && c->ssl == NULL) {
        /* connected: TLS first */
        ngx_http_apisec_hook_connected(d);
        return;
    }
#endif

    b = d->out;

    while (b->pos < b->last) {
        n = c->send(c, b->pos, b->last - b->pos);

        if (n == NGX_AGAIN) {
            if (!wev->timer_set) {
                ngx_add_timer(wev, NGX_HTTP_APISEC_HOOK_TIMEOUT);
            }

            if (ngx_handle_write_event(wev, 0) != NGX_OK) {
                ngx_http_apisec_hook_done(d, 0, "cannot wait to send");
            }

            return;
        }

        if (n <= 0) {
            ngx_http_apisec_hook_done(d, 0, "cannot send");
            return;
        }

        b->pos += n;
    }

    /* sent: the answer's status line */

    if (wev->timer_set) {
        ngx_del_timer(wev);
    }

    if (!c->read->timer_set) {
        ngx_add_timer(c->read, NGX_HTTP_APISEC_HOOK_TIMEOUT);
    }

    if (c->read->ready) {
        ngx_http_apisec_hook_read(c->read);
        return;
    }

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        ngx_http_apisec_hook_done(d, 0, "cannot wait for the answer");
    }
}


static void
ngx_http_apisec_hook_read(ngx_event_t *rev)
{
    u_char                      *p, *eol;
    ssize_t                      n;
    ngx_uint_t                   status;
    ngx_connection_t            *c;
    ngx_http_apisec_delivery_t  *d;

    c = rev->data;
    d = c->data;

    if (rev->timedout) {
        ngx_http_apisec_hook_done(d, 0, "timed out waiting for the answer");
        return;
    }

    if (d->out == NULL || d->out->pos < d->out->last) {
        /* not all sent yet: the answer waits */
        if (ngx_handle_read_event(rev, 0) != NGX_OK) {
            ngx_http_apisec_hook_done(d, 0, "cannot wait for the answer");
        }
        return;
    }

    for ( ;; ) {
        if (d->nin == sizeof(d->in)) {
            ngx_http_apisec_hook_done(d, 0, "the status line is too long");
            return;
        }

        n = c->recv(c, d->in + d->nin, sizeof(d->in) - d->nin);

        if (n == NGX_AGAIN) {
            if (ngx_handle_read_event(rev, 0) != NGX_OK) {
                ngx_http_apisec_hook_done(d, 0, "cannot wait for the "
                                          "answer");
            }
            return;
        }

        if (n == NGX_ERROR || n == 0) {
            ngx_http_apisec_hook_done(d, 0, "the connection closed before "
                                      "an answer");
            return;
        }

        d->nin += n;

        eol = ngx_strlchr(d->in, d->in + d->nin, '\n');
        if (eol != NULL) {
            break;
        }
    }

    /* HTTP/1.x NNN ... */

    p = d->in;

    if (eol - p < 12 || ngx_strncmp(p, "HTTP/1.", 7) != 0 || p[8] != ' '
        || p[9] < '1' || p[9] > '5' || p[10] < '0' || p[10] > '9'
        || p[11] < '0' || p[11] > '9')
    {
        ngx_http_apisec_hook_done(d, 0, "the answer is not HTTP");
        return;
    }

    status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');

    ngx_http_apisec_hook_done(d, status, NULL);
}


/*
 * The end of an attempt: 2xx acknowledges the event (the cursor moves,
 * the next one goes at once); anything else is tried again after the
 * backoff.
 */

static void
ngx_http_apisec_hook_done(ngx_http_apisec_delivery_t *d, ngx_uint_t status,
    const char *why)
{
    ngx_http_apisec_hook_sh_t  *hs;
    ngx_http_apisec_metrics_t  *m;

    m = d->amcf->metrics_zone->data;
    hs = d->hook->slot;

    ngx_http_apisec_hook_close(d);

    if (status >= 200 && status < 300) {
        ngx_shmtx_lock(&m->shpool->mutex);

        if (hs->acked < d->seq) {
            hs->acked = d->seq;
        }

        hs->last_ok = ngx_time();

        ngx_shmtx_unlock(&m->shpool->mutex);

        (void) ngx_atomic_fetch_add(&hs->delivered, 1);

        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                       "apisec: webhook \"%V\": event %uL delivered",
                       &d->hook->label, d->seq);

        d->backoff = 0;

        if (!ngx_exiting && !ngx_terminate && !ngx_quit) {
            ngx_http_apisec_hook_start(d);
        }

        return;
    }

    (void) ngx_atomic_fetch_add(&hs->failures, 1);
    hs->last_failure = ngx_time();

    d->backoff = (d->backoff == 0) ? NGX_HTTP_APISEC_HOOK_BACKOFF
                                   : ngx_min(d->backoff * 2,
                                             d->hook->backoff_max);

    if (d->backoff > d->hook->backoff_max) {
        d->backoff = d->hook->backoff_max;
    }

    if (status) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "apisec: webhook \"%V\": event %uL not delivered: "
                      "the answer is %ui; again in %M ms", &d->hook->label,
                      d->seq, status, d->backoff);

    } else {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "apisec: webhook \"%V\": event %uL not delivered: "
                      "%s; again in %M ms", &d->hook->label, d->seq, why,
                      d->backoff);
    }

    if (!ngx_exiting && !ngx_terminate && !ngx_quit) {
        ngx_add_timer(&d->retry, d->backoff);
    }
}


static void
ngx_http_apisec_hook_close(ngx_http_apisec_delivery_t *d)
{
    ngx_connection_t  *c;

    c = d->peer.connection;

    if (c != NULL) {
#if (NGX_HTTP_SSL)
        if (c->ssl) {
            c->ssl->no_wait_shutdown = 1;
            c->ssl->no_send_shutdown = 1;
            (void) ngx_ssl_shutdown(c);
        }
#endif
        ngx_close_connection(c);
        d->peer.connection = NULL;
    }

    if (d->pool != NULL) {
        ngx_destroy_pool(d->pool);
        d->pool = NULL;
    }

    d->out = NULL;
    d->busy = 0;
    d->connecting = 0;
}


/*
 * apisec_status: Prometheus text.  The keys by status come from a walk
 * of the store, at most once a minute (shared by the workers).
 */

static ngx_int_t
ngx_http_apisec_status_handler(ngx_http_request_t *r)
{
    u_char                        *p;
    size_t                         len;
    int64_t                        now_ms, lag, keys_at;
    uint64_t                       last, keys[NGX_HTTP_APISEC_STATUSES], acked;
    ngx_int_t                      rv;
    ngx_buf_t                     *b;
    ngx_uint_t                     i;
    ngx_chain_t                    out;
    ngx_time_t                    *tp;
    apisec_store_stat_t            stat;
    const apisec_err_info_t       *info;
    ngx_http_apisec_webhook_t     *hook;
    ngx_http_apisec_hook_sh_t     *hs;
    ngx_http_apisec_rule_sh_t     *rs;
    ngx_http_apisec_metrics_t     *m;
    ngx_http_apisec_metrics_sh_t  *sh;
    ngx_http_apisec_main_conf_t   *amcf;

    if (r->method != NGX_HTTP_GET && r->method != NGX_HTTP_HEAD) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rv = ngx_http_discard_request_body(r);
    if (rv != NGX_OK) {
        return rv;
    }

    amcf = ngx_http_get_module_main_conf(r, ngx_http_apisec_module);

    if (amcf->metrics_zone == NULL || amcf->store_path.len == 0) {
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    m = amcf->metrics_zone->data;
    sh = m->sh;

    tp = ngx_timeofday();
    now_ms = (int64_t) tp->sec * 1000 + tp->msec;

    /* labels escaped: at most twice their length */

    len = 16384 + NGX_HTTP_APISEC_RULE_SLOTS * (2 * NGX_HTTP_APISEC_RULE_ID_LEN
                                                + 64)
          + NGX_HTTP_APISEC_HOOKS_MAX * 4 * (2 * APISEC_CURSOR_NAME_MAX + 128);

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = b->last;

    /* requests by result */

    p = ngx_sprintf(p, "# HELP apisec_requests_total Requests apisec "
                    "judged, by result code (\"ok\": accepted).\n"
                    "# TYPE apisec_requests_total counter\n");

    for (i = 0; i < APISEC_E_MAX; i++) {
        info = apisec_err_info((apisec_err_t) i);
        p = ngx_sprintf(p, "apisec_requests_total{code=\"%s\"} %uA\n",
                        i == APISEC_E_OK ? "ok" : info->code,
                        sh->requests[i]);
    }

    /* rule hits */

    p = ngx_sprintf(p, "# HELP apisec_rule_hits_total Rules that fired, "
                    "by rule (name@location) and action.\n"
                    "# TYPE apisec_rule_hits_total counter\n");

    for (i = 0; i < NGX_HTTP_APISEC_RULE_SLOTS; i++) {
        rs = &sh->rules[i];

        if (rs->action == 0 || rs->action > NGX_HTTP_APISEC_ACT_LOCK) {
            continue;
        }

        p = ngx_sprintf(p, "apisec_rule_hits_total{rule=\"");
        p = ngx_http_apisec_prom_label(p, rs->id, ngx_strlen(rs->id));
        p = ngx_sprintf(p, "\",action=\"%s\"} %uA\n",
                        ngx_http_apisec_action_names[rs->action], rs->hits);
    }

    /* the store */

    if (amcf->store == NULL
        || apisec_store_stat(amcf->store, &stat) != APISEC_OK)
    {
        ngx_memzero(&stat, sizeof(apisec_store_stat_t));
        p = ngx_sprintf(p, "# TYPE apisec_store_up gauge\n"
                        "apisec_store_up 0\n");

    } else {
        p = ngx_sprintf(p, "# TYPE apisec_store_up gauge\n"
                        "apisec_store_up 1\n"
                        "# HELP apisec_store_map_size_bytes The store's "
                        "map size.\n"
                        "# TYPE apisec_store_map_size_bytes gauge\n"
                        "apisec_store_map_size_bytes %uz\n"
                        "# HELP apisec_store_map_used_bytes Bytes of the "
                        "map in use.\n"
                        "# TYPE apisec_store_map_used_bytes gauge\n"
                        "apisec_store_map_used_bytes %uz\n"
                        "# TYPE apisec_store_readers_used gauge\n"
                        "apisec_store_readers_used %ui\n"
                        "# TYPE apisec_store_readers_max gauge\n"
                        "apisec_store_readers_max %ui\n",
                        stat.map_size, stat.map_used,
                        (ngx_uint_t) stat.readers_used,
                        (ngx_uint_t) stat.readers_max);

        /*
         * keys by status: a walk of the store in steps, by a timer
         * (ngx_http_apisec_keys_tick), at most once a minute while
         * someone scrapes
         */

        ngx_shmtx_lock(&m->shpool->mutex);
        sh->scraped_at = tp->sec;
        keys_at = sh->keys_at;
        ngx_memcpy(keys, sh->keys, sizeof(keys));
        ngx_shmtx_unlock(&m->shpool->mutex);
        if (keys_at != 0) {
            p = ngx_sprintf(p, "# HELP apisec_keys Keys in the store by "
                            "status, at the last walk of the store.\n"
                            "# TYPE apisec_keys gauge\n");

            for (i = 0; i < NGX_HTTP_APISEC_STATUSES; i++) {
                p = ngx_sprintf(p, "apisec_keys{status=\"%s\"} %uL\n",
                                apisec_status_name((int) i), keys[i]);
            }

            p = ngx_sprintf(p, "# TYPE apisec_keys_counted_timestamp_seconds "
                            "gauge\n"
                            "apisec_keys_counted_timestamp_seconds %L\n",
                            keys_at);
        }
    }

    /* the flush */

    lag = (sh->last_flush == 0) ? -1 : (now_ms - sh->last_flush) / 1000;

    p = ngx_sprintf(p, "# HELP apisec_flush_age_seconds Seconds since the "
                    "last flush of last-used stamps and events (-1: none "
                    "yet).\n"
                    "# TYPE apisec_flush_age_seconds gauge\n"
                    "apisec_flush_age_seconds %L\n"
                    "# TYPE apisec_flush_interval_seconds gauge\n"
                    "apisec_flush_interval_seconds %M.%03M\n"
                    "# TYPE apisec_flush_failures_total counter\n"
                    "apisec_flush_failures_total %uA\n",
                    lag, amcf->flush_interval / 1000,
                    amcf->flush_interval % 1000, sh->flush_failures);

    /* events and subscribers */

    last = 0;

    if (amcf->store != NULL) {
        (void) apisec_event_last(amcf->store, &last);
    }

    p = ngx_sprintf(p, "# HELP apisec_events_last_seq The sequence number "
                    "of the last event in the store.\n"
                    "# TYPE apisec_events_last_seq gauge\n"
                    "apisec_events_last_seq %uL\n", last);

    if (amcf->webhooks != NULL && amcf->webhooks->nelts) {
        p = ngx_sprintf(p, "# HELP apisec_webhook_backlog_events Events "
                        "in the store not yet acknowledged by the "
                        "subscriber.\n"
                        "# TYPE apisec_webhook_backlog_events gauge\n"
                        "# TYPE apisec_webhook_delivered_total counter\n"
                        "# TYPE apisec_webhook_failures_total counter\n"
                        "# TYPE apisec_webhook_last_success_timestamp_seconds"
                        " gauge\n");

        hook = amcf->webhooks->elts;

        for (i = 0; i < amcf->webhooks->nelts; i++) {
            hs = hook[i].slot;

            if (hs == NULL) {
                continue;
            }

            acked = hs->used ? hs->acked : last;

            p = ngx_http_apisec_prom_hook(p, "backlog_events", &hook[i],
                                          last > acked ? last - acked : 0);
            p = ngx_http_apisec_prom_hook(p, "delivered_total", &hook[i],
                                          hs->delivered);
            p = ngx_http_apisec_prom_hook(p, "failures_total", &hook[i],
                                          hs->failures);
            p = ngx_http_apisec_prom_hook(p, "last_success_timestamp_seconds",
                                          &hook[i], (uint64_t) hs->last_ok);
        }
    }

    b->last = p;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = b->last - b->pos;
    ngx_str_set(&r->headers_out.content_type,
                "text/plain; version=0.0.4; charset=utf-8");
    r->headers_out.content_type_len = r->headers_out.content_type.len;

    rv = ngx_http_send_header(r);

    if (rv == NGX_ERROR || rv > NGX_OK || r->header_only) {
        return rv;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


static int
ngx_http_apisec_count_key(const apisec_key_t *k, void *arg)
{
    ngx_http_apisec_walk_t *w = arg;

    if (k->status >= 0 && k->status < NGX_HTTP_APISEC_STATUSES) {
        w->keys[k->status]++;
    }

    w->len = ngx_min(ngx_strlen(k->access_key), APISEC_KEY_MAX);
    ngx_memcpy(w->last, k->access_key, w->len);

    return 0;
}


/*
 * A step of the walk of the keys, by the worker that holds its lease:
 * NGX_HTTP_APISEC_KEYS_STEP keys after where the last step stopped, so
 * that no step holds the event loop for long (a million keys take about
 * a second to decode when the store is in the page cache, much longer
 * when it is not).  Only while someone scrapes.
 */

static void
ngx_http_apisec_keys_tick(ngx_event_t *ev)
{
    int                            rc;
    size_t                         n;
    ngx_uint_t                     i;
    ngx_time_t                    *tp;
    ngx_http_apisec_walk_t         w;
    ngx_http_apisec_metrics_t     *m;
    ngx_http_apisec_metrics_sh_t  *sh;
    ngx_http_apisec_main_conf_t   *amcf;

    amcf = ev->data;

    if (ngx_exiting || ngx_terminate || ngx_quit) {
        (void) ngx_http_apisec_lease(amcf, NGX_HTTP_APISEC_LEASE_KEYS, 1);
        return;
    }

    ngx_add_timer(ev, NGX_HTTP_APISEC_KEYS_TICK);

    m = amcf->metrics_zone->data;
    sh = m->sh;
    tp = ngx_timeofday();

    if (amcf->store == NULL || sh->scraped_at == 0
        || tp->sec - sh->scraped_at > NGX_HTTP_APISEC_KEYS_IDLE)
    {
        return;
    }

    if (!sh->walking && sh->keys_at != 0
        && tp->sec - sh->keys_at < NGX_HTTP_APISEC_KEYS_EVERY)
    {
        return;
    }

    if (!ngx_http_apisec_lease(amcf, NGX_HTTP_APISEC_LEASE_KEYS, 0)) {
        return;
    }

    ngx_memzero(&w, sizeof(ngx_http_apisec_walk_t));

    ngx_shmtx_lock(&m->shpool->mutex);

    if (!sh->walking) {
        sh->walking = 1;
        sh->walk_len = 0;
        ngx_memzero(sh->walk_keys, sizeof(sh->walk_keys));
    }

    w.len = sh->walk_len;
    ngx_memcpy(w.last, sh->walk_after, w.len);

    ngx_shmtx_unlock(&m->shpool->mutex);

    rc = apisec_key_walk(amcf->store, (char *) w.last, w.len,
                         NGX_HTTP_APISEC_KEYS_STEP, ngx_http_apisec_count_key,
                         &w, &n);

    ngx_shmtx_lock(&m->shpool->mutex);

    if (rc != APISEC_OK) {
        sh->walking = 0;        /* again at the next tick */
        ngx_shmtx_unlock(&m->shpool->mutex);

        ngx_log_error(NGX_LOG_ERR, ev->log, 0,
                      "apisec: cannot count the keys: %s: %s",
                      apisec_rc_str(rc), apisec_store_error(amcf->store));
        return;
    }

    for (i = 0; i < NGX_HTTP_APISEC_STATUSES; i++) {
        sh->walk_keys[i] += w.keys[i];
    }

    sh->walk_len = w.len;
    ngx_memcpy(sh->walk_after, w.last, w.len);

    if (n < NGX_HTTP_APISEC_KEYS_STEP) {
        /* the end: published */
        ngx_memcpy(sh->keys, sh->walk_keys, sizeof(sh->keys));
        sh->keys_at = tp->sec;
        sh->walking = 0;
    }

    ngx_shmtx_unlock(&m->shpool->mutex);
}


/* apisec_webhook_NAME{subscriber="LABEL"} VALUE */

static u_char *
ngx_http_apisec_prom_hook(u_char *p, const char *name,
    ngx_http_apisec_webhook_t *hook, uint64_t value)
{
    p = ngx_sprintf(p, "apisec_webhook_%s{subscriber=\"", name);
    p = ngx_http_apisec_prom_label(p, hook->label.data, hook->label.len);

    return ngx_sprintf(p, "\"} %uL\n", value);
}


/* a Prometheus label value: \, " and newlines escaped */

u_char *
ngx_http_apisec_prom_label(u_char *p, u_char *s, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (s[i] == '\\' || s[i] == '"') {
            *p++ = '\\';
            *p++ = s[i];

        } else if (s[i] == '\n') {
            *p++ = '\\';
            *p++ = 'n';

        } else {
            *p++ = s[i];
        }
    }

    return p;
}
