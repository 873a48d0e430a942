/*
 * apisec: API-key authentication for exchange-style REST APIs.
 *
 * Directives, configuration, the per-worker store and the access-phase
 * handler.  A request's path reads top to bottom in
 * ngx_http_apisec_handler(): body (when signed, or read by an amount rule)
 * -> scheme -> store -> checks -> rules (ngx_http_apisec_rules.c) ->
 * stamp -> the windows of the amount rules written to the store from a
 * thread (the request waits, the event loop does not).
 */


#include "ngx_http_apisec_module.h"


#define NGX_HTTP_APISEC_MAX_BODY   (64 * 1024)
#define NGX_HTTP_APISEC_PATH_MAX   256      /* in withdrawal events */
#define NGX_HTTP_APISEC_PRUNE_MAX  10000    /* events pruned a flush */


/*
 * A flush (ngx_http_apisec_flush): what it takes from shared memory, in
 * its own pool, and what its transaction did
 */

typedef struct {
    ngx_http_apisec_main_conf_t   *amcf;
    ngx_pool_t                    *pool;
    ngx_log_t                     *log;
    apisec_store_t                *store;
    int64_t                        now_ms;
    time_t                         now;
    ngx_http_apisec_stamp_t       *st;
    ngx_int_t                      n;
    ngx_http_apisec_rule_event_t  *ev;
    ngx_int_t                      nev;
    ngx_http_apisec_dirty_t       *dw;
    ngx_int_t                      nw;
    ngx_uint_t                     nh;             /* cursors that moved */
    uint64_t                       min_acked;      /* the lowest cursor */
    int                            rc;
    ngx_uint_t                     expired;
    size_t                         pruned;
    ngx_uint_t                     threaded;       /* in a thread */
    ngx_atomic_t                   written;        /* by the thread */
    char                           err[APISEC_ERR_LEN];
} ngx_http_apisec_flush_t;


static ngx_int_t ngx_http_apisec_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_apisec_post_read(ngx_http_request_t *r);
static void ngx_http_apisec_body_handler(ngx_http_request_t *r);
static ngx_uint_t ngx_http_apisec_content_types(ngx_http_request_t *r);
static ngx_int_t ngx_http_apisec_withdrawal(ngx_http_request_t *r,
    ngx_http_apisec_ctx_t *ctx);
static ngx_uint_t ngx_http_apisec_utf8(u_char *p, size_t len);
static void ngx_http_apisec_auth_failed(ngx_http_request_t *r,
    ngx_http_apisec_ctx_t *ctx, apisec_err_t err);
static ngx_int_t ngx_http_apisec_written(ngx_http_request_t *r,
    ngx_http_apisec_ctx_t *ctx);
static ngx_int_t ngx_http_apisec_write_windows(ngx_http_request_t *r,
    ngx_http_apisec_ctx_t *ctx);
#if (NGX_THREADS)
static void ngx_http_apisec_batch_start(ngx_http_apisec_main_conf_t *amcf,
    ngx_log_t *log);
static void ngx_http_apisec_batch_thread(void *data, ngx_log_t *log);
static void ngx_http_apisec_batch_done(ngx_event_t *ev);
static void ngx_http_apisec_batch_wait_handler(ngx_event_t *ev);
#endif
static ngx_int_t ngx_http_apisec_signed_body(ngx_http_request_t *r,
    const apisec_scheme_t *s);
static ngx_int_t ngx_http_apisec_gather_body(ngx_http_request_t *r,
    size_t max, ngx_str_t *body);
static apisec_err_t ngx_http_apisec_check(ngx_http_request_t *r,
    ngx_http_apisec_ctx_t *ctx, const char **detail);
static void ngx_http_apisec_request(ngx_http_request_t *r,
    const apisec_scheme_t *s, ngx_http_apisec_ctx_t *ctx, apisec_req_t *req);
static apisec_err_t ngx_http_apisec_key_state(const apisec_key_t *k,
    int64_t now, const char **detail);
static apisec_err_t ngx_http_apisec_2fa(ngx_http_request_t *r,
    ngx_http_apisec_ctx_t *ctx, apisec_store_t *store, const apisec_key_t *k,
    int64_t now, const char **detail);
static ngx_uint_t ngx_http_apisec_header(ngx_http_request_t *r,
    ngx_str_t *name, ngx_str_t *value);
static ngx_int_t ngx_http_apisec_ip_allowed(ngx_http_request_t *r,
    const apisec_key_t *k);
static apisec_store_t *ngx_http_apisec_store(ngx_log_t *log,
    ngx_http_apisec_main_conf_t *amcf);
static ngx_int_t ngx_http_apisec_refuse(ngx_http_request_t *r,
    ngx_http_apisec_ctx_t *ctx, apisec_err_t err, const char *detail);

static ngx_int_t ngx_http_apisec_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_apisec_error_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);

static char *ngx_http_apisec_store_directive(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_apisec_scheme(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_apisec_permission(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_apisec_replay_guard(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_apisec_idle_expiry(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void ngx_http_apisec_wipe_key(void *data);
static void ngx_http_apisec_flush_handler(ngx_event_t *ev);
static void ngx_http_apisec_release(ngx_event_t *ev);
static void ngx_http_apisec_flush(ngx_cycle_t *cycle,
    ngx_http_apisec_main_conf_t *amcf, ngx_uint_t force);
static void ngx_http_apisec_flush_write(ngx_http_apisec_flush_t *f);
#if (NGX_THREADS)
static void ngx_http_apisec_flush_thread(void *data, ngx_log_t *log);
static void ngx_http_apisec_flush_event(ngx_event_t *ev);
#endif
static void ngx_http_apisec_flush_done(ngx_http_apisec_flush_t *f);
static void ngx_http_apisec_flush_wait(ngx_http_apisec_main_conf_t *amcf);
static int ngx_http_apisec_flush_windows(apisec_wtxn_t *txn,
    ngx_http_apisec_dirty_t *d, ngx_int_t n);
static int ngx_http_apisec_flush_failures(apisec_wtxn_t *txn,
    ngx_http_apisec_stamp_t *st, int64_t now);
static int ngx_http_apisec_flush_lock(ngx_log_t *log, apisec_wtxn_t *txn,
    ngx_http_apisec_stamp_t *st, int64_t now);

static ngx_int_t ngx_http_apisec_add_variables(ngx_conf_t *cf);
static ngx_int_t ngx_http_apisec_init(ngx_conf_t *cf);
static ngx_int_t ngx_http_apisec_key_header(ngx_conf_t *cf,
    ngx_http_apisec_main_conf_t *amcf, const apisec_scheme_t *s);
static void *ngx_http_apisec_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_apisec_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_apisec_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_apisec_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_http_apisec_init_process(ngx_cycle_t *cycle);
static void ngx_http_apisec_exit_process(ngx_cycle_t *cycle);


static ngx_conf_enum_t  ngx_http_apisec_permissions[] = {
    { ngx_string("read"), APISEC_PERM_READ },
    { ngx_string("trade"), APISEC_PERM_TRADE },
    { ngx_string("withdraw"), APISEC_PERM_WITHDRAW },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_http_apisec_commands[] = {

    { ngx_string("apisec_store"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE12,
      ngx_http_apisec_store_directive,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("apisec_master_key"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_apisec_main_conf_t, master_key_file),
      NULL },

    { ngx_string("apisec"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_apisec_loc_conf_t, enable),
      NULL },

    { ngx_string("apisec_scheme"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_apisec_scheme,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("apisec_time_window"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_apisec_loc_conf_t, time_window),
      NULL },

    { ngx_string("apisec_permission"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_apisec_permission,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_apisec_loc_conf_t, permission),
      &ngx_http_apisec_permissions },

    { ngx_string("apisec_replay_guard"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_http_apisec_replay_guard,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_apisec_loc_conf_t, replay_guard),
      NULL },

    { ngx_string("apisec_replay_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_apisec_main_conf_t, replay_size),
      NULL },

    { ngx_string("apisec_idle_expiry"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE12,
      ngx_http_apisec_idle_expiry,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("apisec_flush_interval"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_apisec_main_conf_t, flush_interval),
      NULL },

    { ngx_string("apisec_stamp_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_apisec_main_conf_t, stamp_size),
      NULL },

    { ngx_string("apisec_2fa"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_apisec_loc_conf_t, twofa),
      NULL },

    { ngx_string("apisec_2fa_header"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_apisec_loc_conf_t, twofa_header),
      NULL },

    { ngx_string("apisec_rule"),
      NGX_HTTP_LOC_CONF|NGX_CONF_2MORE,
      ngx_http_apisec_rule,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("apisec_rule_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_apisec_main_conf_t, rule_size),
      NULL },

    { ngx_string("apisec_thread_pool"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_apisec_main_conf_t, thread_pool_name),
      NULL },

    { ngx_string("apisec_max_body_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_apisec_loc_conf_t, max_body_size),
      NULL },

    { ngx_string("apisec_webhook"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_apisec_webhook,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("apisec_event_retention"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_apisec_main_conf_t, event_retention),
      NULL },

    { ngx_string("apisec_status"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_apisec_status,
      0,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_apisec_module_ctx = {
    ngx_http_apisec_add_variables,         /* preconfiguration */
    ngx_http_apisec_init,                  /* postconfiguration */

    ngx_http_apisec_create_main_conf,      /* create main configuration */
    ngx_http_apisec_init_main_conf,        /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_apisec_create_loc_conf,       /* create location configuration */
    ngx_http_apisec_merge_loc_conf         /* merge location configuration */
};


ngx_module_t  ngx_http_apisec_module = {
    NGX_MODULE_V1,
    &ngx_http_apisec_module_ctx,           /* module context */
    ngx_http_apisec_commands,              /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_apisec_init_process,          /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_apisec_exit_process,          /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_http_variable_t  ngx_http_apisec_vars[] = {

    { ngx_string("apisec_access_key"), NULL, ngx_http_apisec_variable,
      offsetof(ngx_http_apisec_ctx_t, access_key),
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("apisec_account"), NULL, ngx_http_apisec_variable,
      offsetof(ngx_http_apisec_ctx_t, account),
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("apisec_error"), NULL, ngx_http_apisec_error_variable,
      0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("apisec_rule"), NULL, ngx_http_apisec_variable,
      offsetof(ngx_http_apisec_ctx_t, rule),
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("apisec_amount"), NULL, ngx_http_apisec_variable,
      offsetof(ngx_http_apisec_ctx_t, amount),
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


static ngx_str_t  ngx_http_apisec_json_type = ngx_string("application/json");

#if (NGX_THREADS)

/*
 * Per worker: the requests whose windows wait to be written, and whether
 * a batch is out.  One batch at a time: every request that arrives while
 * one is written goes in the next, one write transaction for all of them
 * (group commit).
 */

typedef struct {
    ngx_http_apisec_main_conf_t  *amcf;
    ngx_pool_t                   *pool;
    ngx_queue_t                   requests;
    ngx_http_apisec_dirty_t      *w;
    ngx_uint_t                    n;
    int                           rc;
    char                          err[APISEC_ERR_LEN];
} ngx_http_apisec_batch_t;


static ngx_queue_t  ngx_http_apisec_waiting;
static ngx_uint_t   ngx_http_apisec_batch_out;

/*
 * A timer that is not cancelable, set while a batch is out: a worker that
 * shuts down (a reload, a quit) waits for the batch and its requests,
 * which have no timer of their own, instead of exiting without them.
 */
static ngx_event_t  ngx_http_apisec_batch_wait;

#endif


/*
 * The post-read phase, before the location is found: where a scheme in
 * use carries the access key in a header, the key's bucket in the key
 * cache is asked for (apisec_key_prefetch), to be in the processor's cache
 * by the access phase, which then asks for the key's entry before the
 * signed parameters are parsed.  A hint only: nothing is decided here, and
 * a request of a location without apisec pays for a look at its header
 * names.
 */

static ngx_int_t
ngx_http_apisec_post_read(ngx_http_request_t *r)
{
    ngx_uint_t                    i, k;
    ngx_list_part_t              *part;
    ngx_table_elt_t              *h;
    ngx_http_apisec_main_conf_t  *amcf;

    amcf = ngx_http_get_module_main_conf(r, ngx_http_apisec_module);

    if (amcf->store == NULL) {
        return NGX_DECLINED;
    }

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        for (k = 0; k < amcf->key_headers; k++) {
            if (h[i].hash == amcf->key_header_hash[k]
                && h[i].key.len == amcf->key_header[k].len
                && ngx_memcmp(h[i].lowcase_key, amcf->key_header[k].data,
                              h[i].key.len)
                   == 0)
            {
                if (h[i].value.len <= APISEC_KEY_MAX) {
                    apisec_key_prefetch(amcf->store,
                                        (const char *) h[i].value.data,
                                        h[i].value.len);
                }

                return NGX_DECLINED;
            }
        }
    }

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_apisec_handler(ngx_http_request_t *r)
{
    ngx_int_t                    rc;
    const char                  *detail;
    apisec_err_t                 err;
    ngx_http_apisec_ctx_t       *ctx;
    ngx_http_apisec_loc_conf_t  *alcf;

    alcf = ngx_http_get_module_loc_conf(r, ngx_http_apisec_module);

    if (!alcf->enable) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_apisec_module);

    if (ctx == NULL) {
        ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_apisec_ctx_t));
        if (ctx == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_http_set_ctx(r, ctx, ngx_http_apisec_module);

        /*
         * Two Content-Type headers: apisec would judge the body by the
         * first, an upstream may parse it by the last (a form body the
         * signature never covered)
         */

        if (r->headers_in.content_type != NULL
            && ngx_http_apisec_content_types(r) > 1)
        {
            return ngx_http_apisec_refuse(r, ctx, APISEC_E_REQUEST_MALFORMED,
                                          "Content-Type is given more than "
                                          "once");
        }

        ctx->body_signed = ngx_http_apisec_signed_body(r, alcf->scheme);

        if (ctx->body_signed
            || ((alcf->amount_rules || alcf->withdrawals)
                && r->headers_in.content_length_n != 0))
        {
            /*
             * the body is signed, or an amount rule reads it: read it
             * first (mirror's pattern)
             */

            if (r->headers_in.content_length_n > (off_t) alcf->max_body_size)
            {
                return ngx_http_apisec_refuse(r, ctx,
                                              APISEC_E_REQUEST_MALFORMED,
                                              "the body is too large");
            }

            ctx->reading_body = 1;

            rc = ngx_http_read_client_request_body(r,
                                                ngx_http_apisec_body_handler);
            if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
                return rc;
            }

            ngx_http_finalize_request(r, NGX_DONE);
            return NGX_DONE;
        }

    } else if (ctx->done) {
        return (ctx->err == APISEC_E_OK) ? NGX_OK : NGX_HTTP_FORBIDDEN;

    } else if (ctx->writing != NGX_HTTP_APISEC_WRITE_NONE) {
        return ngx_http_apisec_written(r, ctx);

    } else if (ctx->reading_body && !ctx->body_done) {
        return NGX_DONE;
    }

    if (ctx->reading_body) {
        rc = ngx_http_apisec_gather_body(r, alcf->max_body_size, &ctx->body);

        if (rc == NGX_ERROR) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (rc == NGX_DECLINED) {
            return ngx_http_apisec_refuse(r, ctx, APISEC_E_REQUEST_MALFORMED,
                                          "the body is too large");
        }
    }

    detail = "";
    err = ngx_http_apisec_check(r, ctx, &detail);
    ctx->memo = NULL;

    if (err != APISEC_E_OK) {
        /* a refused request does not count against amount rules */
        ngx_http_apisec_rules_undo(r, ctx);

        if (err == APISEC_E_SIGNATURE_INVALID || err == APISEC_E_2FA_INVALID)
        {
            ngx_http_apisec_rules_failed(r, ctx,
                                         (int64_t) ngx_time() * 1000);
        }

        ngx_http_apisec_auth_failed(r, ctx, err);

        return ngx_http_apisec_refuse(r, ctx, err, detail);
    }

    /* a withdrawal.requested event, never dropped */

    if (alcf->withdrawals && ngx_http_apisec_withdrawal(r, ctx) != NGX_OK) {
        ngx_http_apisec_rules_undo(r, ctx);

        return ngx_http_apisec_refuse(r, ctx, APISEC_E_STORE_UNAVAILABLE,
                                      "the withdrawal event cannot be "
                                      "recorded");
    }

    if (ctx->reserves != NULL && ctx->reserves->nelts > 0) {

        /* the request goes on once the store has the windows */

        if (ngx_http_apisec_write_windows(r, ctx) == NGX_OK) {
            return NGX_AGAIN;
        }

        ngx_http_apisec_rules_undo(r, ctx);

        return ngx_http_apisec_refuse(r, ctx, APISEC_E_STORE_UNAVAILABLE,
                                      "the rule's window cannot be written");
    }

    ctx->done = 1;
    ctx->err = APISEC_E_OK;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "apisec: key \"%V\" of account \"%V\" accepted",
                   &ctx->access_key, &ctx->account);

    return NGX_OK;
}


/*
 * auth.failed: a request refused with a known key (so that it has an
 * account) for its signature, timestamp, address or the key's state;
 * queued as rule events are, so a flood of them is bounded (the excess
 * counted as dropped), never a store write per request.
 */

static void
ngx_http_apisec_auth_failed(ngx_http_request_t *r, ngx_http_apisec_ctx_t *ctx,
    apisec_err_t err)
{
    u_char                       *p;
    ngx_str_t                     extra;
    ngx_http_apisec_main_conf_t  *amcf;
    u_char                        buf[sizeof("\"reason\":\"\",\"ip\":\"\"")
                                      + 32 + NGX_SOCKADDR_STRLEN];

    switch (err) {
    case APISEC_E_KEY_DISABLED:
    case APISEC_E_KEY_EXPIRED:
    case APISEC_E_KEY_LOCKED:
    case APISEC_E_SIGNATURE_MISSING:
    case APISEC_E_SIGNATURE_INVALID:
    case APISEC_E_SIGNATURE_REPLAYED:
    case APISEC_E_TIMESTAMP_INVALID:
    case APISEC_E_IP_NOT_ALLOWED:
        break;
    default:
        return;
    }

    amcf = ngx_http_get_module_main_conf(r, ngx_http_apisec_module);

    if (ctx->account.len == 0 || amcf->rule_zone == NULL) {
        return;
    }

    p = ngx_sprintf(buf, "\"reason\":\"%s\",\"ip\":\"%V\"",
                    apisec_err_info(err)->code,
                    &r->connection->addr_text);

    extra.data = buf;
    extra.len = p - buf;

    (void) ngx_http_apisec_rule_event(amcf->rule_zone, "auth.failed",
                                      &ctx->access_key, &ctx->account,
                                      &extra);
}


/*
 * withdrawal.requested: an authorised request at a withdraw or 2FA
 * location, with its method and path and, when the request has them
 * (query, JSON or form body), its amount, currency and address.  Queued in
 * the rules zone for the flush, as rule events are, but never dropped:
 * NGX_ERROR (the request is refused) when the zone has no room.
 */

static ngx_int_t
ngx_http_apisec_withdrawal(ngx_http_request_t *r, ngx_http_apisec_ctx_t *ctx)
{
    ngx_log_t                    rlog;
    u_char                       *p;
    size_t                        len, i;
    ngx_str_t                     extra, path;
    apisec_dec_t                  amount;
    apisec_field_t                f[3];
    ngx_http_apisec_main_conf_t  *amcf;
    char                          abuf[NGX_HTTP_APISEC_FIELD_MAX + 1];
    char                          cbuf[NGX_HTTP_APISEC_CURRENCY_MAX + 1];
    char                          dbuf[NGX_HTTP_APISEC_ADDRESS_MAX + 1];

    static const char  *names[] = { "amount", "currency", "address" };

    amcf = ngx_http_get_module_main_conf(r, ngx_http_apisec_module);

    if (amcf->rule_zone == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(f, sizeof(f));

    f[0].buf = abuf;
    f[0].size = sizeof(abuf);
    f[1].buf = cbuf;
    f[1].size = sizeof(cbuf);
    f[2].buf = dbuf;
    f[2].size = sizeof(dbuf);

    for (i = 0; i < 3; i++) {
        f[i].name = names[i];
        f[i].name_len = ngx_strlen(names[i]);
    }

    /* what cannot be read is left out: the event is recorded anyway */

    if (r->args.len
        && apisec_fields_form(r->args.data, r->args.len, f, 3) != 0)
    {
        ngx_memzero(f, sizeof(f));
    }

    if (ctx->body.len) {
        if (apisec_fields_json(ctx->body.data, ctx->body.len, f, 3) != 0
            && apisec_fields_form(ctx->body.data, ctx->body.len, f, 3) != 0)
        {
            f[0].state = APISEC_FIELD_ABSENT;
            f[1].state = APISEC_FIELD_ABSENT;
            f[2].state = APISEC_FIELD_ABSENT;
        }
    }

    if (f[0].state == APISEC_FIELD_FOUND
        && apisec_dec_parse(abuf, f[0].len, &amount) != 0)
    {
        f[0].state = APISEC_FIELD_ABSENT;
    }

    /* text that is not UTF-8 is left out (the event is JSON) */

    for (i = 0; i < 3; i++) {
        if (f[i].state == APISEC_FIELD_FOUND
            && !ngx_http_apisec_utf8((u_char *) f[i].buf, f[i].len))
        {
            f[i].state = APISEC_FIELD_ABSENT;
        }
    }

    path = r->uri;

    if (path.len > NGX_HTTP_APISEC_PATH_MAX
        || !ngx_http_apisec_utf8(path.data, path.len))
    {
        ngx_str_set(&path, "");
    }

    len = sizeof(",\"method\":\"\",\"path\":\"\"") + r->method_name.len
          + path.len + ngx_escape_json(NULL, path.data, path.len);

    for (i = 0; i < 3; i++) {
        if (f[i].state == APISEC_FIELD_FOUND) {
            len += sizeof(",\"currency\":\"\"") + f[i].len
                   + ngx_escape_json(NULL, (u_char *) f[i].buf, f[i].len);
        }
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    extra.data = p;

    p = ngx_sprintf(p, "\"method\":\"%V\",\"path\":\"", &r->method_name);
    p = (u_char *) ngx_escape_json(p, path.data, path.len);
    *p++ = '"';

    for (i = 0; i < 3; i++) {
        if (f[i].state != APISEC_FIELD_FOUND) {
            continue;
        }

        p = ngx_sprintf(p, ",\"%s\":\"", names[i]);
        p = (u_char *) ngx_escape_json(p, (u_char *) f[i].buf, f[i].len);
        *p++ = '"';
    }

    extra.len = p - extra.data;

    if (ngx_http_apisec_event(amcf->rule_zone, "withdrawal.requested",
                              &ctx->access_key, &ctx->account, &extra, 1)
        != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ALERT, ngx_http_apisec_rlog(r, &rlog), 0,
                      "apisec: the rule zone has no room for a "
                      "withdrawal.requested event; raise apisec_rule_zone");
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* is it UTF-8, without control characters but tab? */

static ngx_uint_t
ngx_http_apisec_utf8(u_char *p, size_t len)
{
    size_t  n;

    while (len > 0) {
        if (*p < 0x20 && *p != '\t') {
            return 0;
        }

        n = apisec_utf8_len(p, len);
        if (n == 0) {
            return 0;
        }

        p += n;
        len -= n;
    }

    return 1;
}


/* how many Content-Type header lines the request has */

static ngx_uint_t
ngx_http_apisec_content_types(ngx_http_request_t *r)
{
    ngx_uint_t        i, n;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    n = 0;
    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == sizeof("Content-Type") - 1
            && ngx_strncasecmp(h[i].key.data, (u_char *) "Content-Type",
                               sizeof("Content-Type") - 1)
               == 0)
        {
            n++;
        }
    }

    return n;
}


/* the request's windows were written, or not: it goes on, or not */

static ngx_int_t
ngx_http_apisec_written(ngx_http_request_t *r, ngx_http_apisec_ctx_t *ctx)
{
    switch (ctx->writing) {

    case NGX_HTTP_APISEC_WRITE_WAIT:
        return NGX_AGAIN;

    case NGX_HTTP_APISEC_WRITE_DONE:
        ctx->done = 1;
        ctx->err = APISEC_E_OK;

        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "apisec: key \"%V\" of account \"%V\" accepted, "
                       "its windows written", &ctx->access_key,
                       &ctx->account);

        return NGX_OK;

    default:
        ngx_http_apisec_rules_undo(r, ctx);

        return ngx_http_apisec_refuse(r, ctx, APISEC_E_STORE_UNAVAILABLE,
                                      "the rule's window cannot be written "
                                      "to the store");
    }
}


/*
 * The windows that the request's amount rules added to go to the store
 * before it goes on: queued for the next batch, which a thread of the
 * pool writes in one transaction.  NGX_OK: queued (the request is blocked
 * until ngx_http_apisec_batch_done()).
 */

static ngx_int_t
ngx_http_apisec_write_windows(ngx_http_request_t *r,
    ngx_http_apisec_ctx_t *ctx)
{
#if (NGX_THREADS)
    ngx_http_apisec_main_conf_t  *amcf;

    amcf = ngx_http_get_module_main_conf(r, ngx_http_apisec_module);

    if (amcf->thread_pool == NULL || amcf->store == NULL) {
        return NGX_ERROR;
    }

    ctx->request = r;
    ctx->writing = NGX_HTTP_APISEC_WRITE_WAIT;

    ngx_queue_insert_tail(&ngx_http_apisec_waiting, &ctx->queue);

    r->main->blocked++;
    r->aio = 1;

    ngx_http_apisec_batch_start(amcf, r->connection->log);

    return NGX_OK;
#else
    return NGX_ERROR;
#endif
}


#if (NGX_THREADS)

static void
ngx_http_apisec_batch_start(ngx_http_apisec_main_conf_t *amcf,
    ngx_log_t *log)
{
    ngx_uint_t                  i, j, n;
    ngx_pool_t                 *pool;
    ngx_queue_t                *q;
    ngx_connection_t           *c;
    ngx_thread_task_t          *task;
    ngx_http_request_t         *r;
    ngx_http_apisec_ctx_t      *ctx;
    ngx_http_apisec_batch_t    *b;
    ngx_http_apisec_reserve_t  *rv;

    if (ngx_http_apisec_batch_out || ngx_queue_empty(&ngx_http_apisec_waiting))
    {
        return;
    }

    b = NULL;
    n = 0;

    for (q = ngx_queue_head(&ngx_http_apisec_waiting);
         q != ngx_queue_sentinel(&ngx_http_apisec_waiting);
         q = ngx_queue_next(q))
    {
        ctx = ngx_queue_data(q, ngx_http_apisec_ctx_t, queue);
        n += ctx->reserves->nelts;
    }

    /*
     * the cycle's log, not the request's: the pool outlives the request,
     * whose log goes with its connection's pool
     */

    pool = ngx_create_pool(NGX_DEFAULT_POOL_SIZE, ngx_cycle->log);
    if (pool == NULL) {
        goto failed;
    }

    task = ngx_thread_task_alloc(pool, sizeof(ngx_http_apisec_batch_t));
    if (task == NULL) {
        goto failed;
    }

    b = task->ctx;
    b->amcf = amcf;
    b->pool = pool;
    b->n = 0;

    b->w = ngx_palloc(pool, n * sizeof(ngx_http_apisec_dirty_t));
    if (b->w == NULL) {
        goto failed;
    }

    /* every window once, copied as it is now: this batch's adds are in */

    for (q = ngx_queue_head(&ngx_http_apisec_waiting);
         q != ngx_queue_sentinel(&ngx_http_apisec_waiting);
         q = ngx_queue_next(q))
    {
        ctx = ngx_queue_data(q, ngx_http_apisec_ctx_t, queue);
        rv = ctx->reserves->elts;

        for (i = 0; i < ctx->reserves->nelts; i++) {

            for (j = 0; j < b->n; j++) {
                if (b->w[j].key.len == rv[i].key.len
                    && ngx_memcmp(b->w[j].key.data, rv[i].key.data,
                                  rv[i].key.len)
                       == 0)
                {
                    break;
                }
            }

            if (j < b->n) {
                continue;
            }

            b->w[j].key.data = ngx_pstrdup(pool, &rv[i].key);
            if (b->w[j].key.data == NULL) {
                goto failed;
            }

            b->w[j].key.len = rv[i].key.len;

            if (ngx_http_apisec_window_copy(amcf->rule_zone, &rv[i].key,
                                            &b->w[j].w)
                != NGX_OK)
            {
                /* cannot be: a window not yet written is not evicted */
                goto failed;
            }

            b->n++;
        }
    }

    ngx_queue_init(&b->requests);
    ngx_queue_add(&b->requests, &ngx_http_apisec_waiting);
    ngx_queue_init(&ngx_http_apisec_waiting);

    for (q = ngx_queue_head(&b->requests);
         q != ngx_queue_sentinel(&b->requests);
         q = ngx_queue_next(q))
    {
        amcf->batched++;
    }

    amcf->batches++;

    task->handler = ngx_http_apisec_batch_thread;
    task->event.data = b;
    task->event.handler = ngx_http_apisec_batch_done;

    if (ngx_thread_task_post(amcf->thread_pool, task) != NGX_OK) {
        /* the requests are in b: fail them there */
        b->rc = APISEC_ERR_SYSTEM;
        ngx_cpystrn((u_char *) b->err, (u_char *) "the thread pool's queue "
                    "is full", sizeof(b->err));
        ngx_http_apisec_batch_out = 1;
        ngx_http_apisec_batch_done(&task->event);
        return;
    }

    ngx_http_apisec_batch_out = 1;

    ngx_add_timer(&ngx_http_apisec_batch_wait, 60000);

    return;

failed:

    ngx_log_error(NGX_LOG_ALERT, log, 0,
                  "apisec: no memory to write the windows of amount rules");

    if (pool != NULL) {
        ngx_destroy_pool(pool);
    }

    /* every waiting request is refused (and its adds taken back) */

    while (!ngx_queue_empty(&ngx_http_apisec_waiting)) {
        q = ngx_queue_head(&ngx_http_apisec_waiting);
        ngx_queue_remove(q);

        ctx = ngx_queue_data(q, ngx_http_apisec_ctx_t, queue);
        ctx->writing = NGX_HTTP_APISEC_WRITE_FAILED;

        r = ctx->request;
        c = r->connection;

        r->main->blocked--;
        r->aio = 0;

        r->write_event_handler(r);
        ngx_http_run_posted_requests(c);
    }
}


/* in a thread of the pool: one write transaction for the batch */

static void
ngx_http_apisec_batch_thread(void *data, ngx_log_t *log)
{
    ngx_http_apisec_batch_t *b = data;

    int              rc, written;
    ngx_uint_t       i;
    apisec_wtxn_t   *txn;
    apisec_store_t  *store;

    store = b->amcf->store;

    rc = apisec_store_begin(store, &txn);

    for (i = 0; rc == APISEC_OK && i < b->n; i++) {
        rc = apisec_usage_put(txn, (const char *) b->w[i].key.data,
                              b->w[i].key.len, &b->w[i].w, &written);
    }

    if (rc == APISEC_OK) {
        rc = apisec_store_commit(txn);

    } else if (txn != NULL) {
        apisec_store_abort(txn);
    }

    b->rc = rc;

    if (rc != APISEC_OK) {
        (void) snprintf(b->err, sizeof(b->err), "%s: %s", apisec_rc_str(rc),
                        apisec_store_error(store));
    }
}


/* back in the event loop: the batch's requests go on, or are refused */

static void
ngx_http_apisec_batch_done(ngx_event_t *ev)
{
    ngx_http_apisec_batch_t *b = ev->data;

    ngx_uint_t                    i;
    ngx_queue_t                  *q;
    ngx_connection_t             *c;
    ngx_http_request_t           *r;
    ngx_http_apisec_ctx_t        *ctx;
    ngx_http_apisec_main_conf_t  *amcf;

    amcf = b->amcf;

    ngx_http_apisec_batch_out = 0;

    if (ngx_http_apisec_batch_wait.timer_set) {
        ngx_del_timer(&ngx_http_apisec_batch_wait);
    }

    if (b->rc == APISEC_OK) {
        for (i = 0; i < b->n; i++) {
            ngx_http_apisec_window_saved(amcf->rule_zone, &b->w[i].key,
                                         b->w[i].w.gen);
        }

    } else {
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                      "apisec: the windows of amount rules cannot be "
                      "written to store \"%V\": %s; their requests are "
                      "refused", &amcf->store_path, b->err);
    }

    while (!ngx_queue_empty(&b->requests)) {
        q = ngx_queue_head(&b->requests);
        ngx_queue_remove(q);

        ctx = ngx_queue_data(q, ngx_http_apisec_ctx_t, queue);
        r = ctx->request;
        c = r->connection;

        /* a client gone meanwhile: its amount is taken back */

        ctx->writing = (b->rc == APISEC_OK && !c->error)
                       ? NGX_HTTP_APISEC_WRITE_DONE
                       : NGX_HTTP_APISEC_WRITE_FAILED;

        ngx_http_set_log_request(c->log, r);

        r->main->blocked--;
        r->aio = 0;

#if (NGX_HTTP_V2)
        if (r->stream) {
            c->write->ready = 1;
            c->write->active = 0;
        }
#endif

        r->write_event_handler(r);
        ngx_http_run_posted_requests(c);
    }

    ngx_destroy_pool(b->pool);

    /* the requests that came meanwhile */

    ngx_http_apisec_batch_start(amcf, ngx_cycle->log);
}


/* a batch out for a minute (a slow disk): keep waiting for it */

static void
ngx_http_apisec_batch_wait_handler(ngx_event_t *ev)
{
    if (ngx_http_apisec_batch_out) {
        ngx_add_timer(ev, 60000);
    }
}

#endif


static void
ngx_http_apisec_body_handler(ngx_http_request_t *r)
{
    ngx_http_apisec_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_apisec_module);
    ctx->body_done = 1;

    r->write_event_handler = ngx_http_core_run_phases;
    ngx_http_core_run_phases(r);
}


/*
 * Does the scheme sign this request's body: any body (okx), or an
 * application/x-www-form-urlencoded one (hashkey, binance), or none (htx)?
 */

static ngx_int_t
ngx_http_apisec_signed_body(ngx_http_request_t *r, const apisec_scheme_t *s)
{
    size_t            n;
    ngx_table_elt_t  *ct;

    static const char  form[] = "application/x-www-form-urlencoded";

    /*
     * Only a Content-Length of 0 says for sure that there is no body: an
     * HTTP/2 request may send one with no length at all.  Reading a body
     * that is not there returns at once, so when in doubt, read: a body
     * that is signed must never reach the upstream unread.
     */

    if (s->body == APISEC_BODY_NONE || r->headers_in.content_length_n == 0) {
        return 0;
    }

    if (s->body == APISEC_BODY_ANY) {
        return 1;
    }

    ct = r->headers_in.content_type;

    if (ct == NULL) {
        return 0;
    }

    n = sizeof(form) - 1;

    if (ct->value.len < n
        || ngx_strncasecmp(ct->value.data, (u_char *) form, n) != 0)
    {
        return 0;
    }

    return ct->value.len == n || ct->value.data[n] == ';'
           || ct->value.data[n] == ' ' || ct->value.data[n] == '\t';
}


/*
 * The body in one buffer, bounded by max.  A body larger than
 * client_body_buffer_size is in a temporary file: it is read back, at
 * most max bytes of it.
 */

static ngx_int_t
ngx_http_apisec_gather_body(ngx_http_request_t *r, size_t max,
    ngx_str_t *body)
{
    ngx_log_t     rlog;
    off_t         len;
    u_char       *p;
    size_t        size;
    ssize_t       n;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    body->len = 0;
    body->data = NULL;

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        return NGX_OK;
    }

    len = 0;

    for (cl = r->request_body->bufs; cl != NULL; cl = cl->next) {
        len += ngx_buf_size(cl->buf);

        if (len > (off_t) max) {
            return NGX_DECLINED;
        }
    }

    if (len == 0) {
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, (size_t) len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    body->data = p;
    body->len = (size_t) len;

    for (cl = r->request_body->bufs; cl != NULL; cl = cl->next) {
        b = cl->buf;
        size = (size_t) ngx_buf_size(b);

        if (size == 0) {
            continue;
        }

        if (ngx_buf_in_memory(b)) {
            p = ngx_cpymem(p, b->pos, size);
            continue;
        }

        if (b->in_file && b->file != NULL) {
            n = ngx_read_file(b->file, p, size, b->file_pos);

            if (n != (ssize_t) size) {
                ngx_log_error(NGX_LOG_ERR, ngx_http_apisec_rlog(r, &rlog), 0,
                              "apisec: cannot read the request body back "
                              "from \"%V\"", &b->file->name);
                return NGX_ERROR;
            }

            p += size;
            continue;
        }

        return NGX_ERROR;
    }

    return NGX_OK;
}


/* checks 1-5 of SPEC.md, in order */

static apisec_err_t
ngx_http_apisec_check(ngx_http_request_t *r, ngx_http_apisec_ctx_t *ctx,
    const char **detail)
{
    ngx_log_t                     rlog;
    int                           rc;
    ngx_uint_t                    fresh;
    u_char                        mac[APISEC_SHA256_LEN];
    int64_t                       now_ms, window;
    ngx_time_t                   *tp;
    int64_t                      *memo;
    const char                   *parsed_detail;
    apisec_key_t                  buf;
    const apisec_key_t           *key;
    apisec_req_t                  req;
    apisec_err_t                  err, parsed;
    apisec_auth_t                 auth;
    apisec_store_t               *store;
    const apisec_scheme_t        *scheme;
    ngx_http_apisec_loc_conf_t   *alcf;
    ngx_http_apisec_main_conf_t  *amcf;

    alcf = ngx_http_get_module_loc_conf(r, ngx_http_apisec_module);
    amcf = ngx_http_get_module_main_conf(r, ngx_http_apisec_module);

    scheme = alcf->scheme;

    ngx_http_apisec_request(r, scheme, ctx, &req);

    auth.detail = "";

    /* 1. the access key, looked up in one read transaction */

    err = apisec_scheme_key(scheme, &req, &auth);

    if (err != APISEC_E_OK) {
        *detail = auth.detail;
        return err;
    }

    ctx->access_key.data = (u_char *) auth.access_key.data;
    ctx->access_key.len = auth.access_key.len;

    store = ngx_http_apisec_store(r->connection->log, amcf);

    if (store == NULL) {
        *detail = "the store is not open";
        return APISEC_E_STORE_UNAVAILABLE;
    }

    /*
     * one snapshot of the store for the requests of this turn of the event
     * loop, let go before the loop waits again: a change to a key is seen
     * by the requests of the next turn
     */

    if (!amcf->release.posted) {
        apisec_store_hold(store, 1);
        ngx_post_event(&amcf->release, &ngx_posted_events);
    }

    /*
     * The signed parameters parsed and the string to sign made up (for
     * check 4) while the key's entry in the cache comes into the
     * processor's (its bucket was asked for at the post-read phase, where
     * the key is in a header): what the lookup waited for, in its memory.
     * They need no key, and their error, if any, is told after checks 1
     * to 3, in the order of the checks.
     */

    apisec_key_prefetch_entry(store, (const char *) ctx->access_key.data,
                              ctx->access_key.len);

    auth.canon_cap = apisec_scheme_canon_max(scheme, &req);
    auth.canon = ngx_pnalloc(r->pool, auth.canon_cap + 1);
    if (auth.canon == NULL) {
        *detail = "out of memory";
        return APISEC_E_STORE_UNAVAILABLE;
    }

    window = (alcf->time_window == NGX_CONF_UNSET_MSEC)
             ? -1 : (int64_t) alcf->time_window;

    parsed = apisec_scheme_parse(scheme, &req, window, &auth);
    parsed_detail = auth.detail;

    rc = apisec_key_find(store, (const char *) ctx->access_key.data,
                         ctx->access_key.len, &buf, &key);
    fresh = 0;

found:

    if (rc == APISEC_ERR_NOTFOUND) {
        *detail = "no such key in the store";
        return APISEC_E_KEY_UNKNOWN;
    }

    if (rc != APISEC_OK) {
        ngx_log_error(NGX_LOG_ALERT, ngx_http_apisec_rlog(r, &rlog), 0,
                      "apisec: store \"%V\": %s: %s", &amcf->store_path,
                      apisec_rc_str(rc), apisec_store_error(store));
        *detail = "the store cannot be read";
        return APISEC_E_STORE_UNAVAILABLE;
    }

    /* the key's memo, valid until the next call on the store handle */

    ctx->memo = apisec_key_memo(store);

    /*
     * the node of the key's rate bucket, known from the memo, on its way
     * into the cache while checks 2 to 6 run: most of what check 7 costs
     * is this miss; and the key's stamp node, where check 8 writes this
     * second's use
     */

    ngx_http_apisec_rate_prefetch(ctx->memo);
    ngx_http_apisec_stamp_prefetch(ctx->memo, (int64_t) ngx_time());

    ctx->account.len = ngx_strlen(key->account);
    ctx->account.data = ngx_pnalloc(r->pool, ctx->account.len);
    if (ctx->account.data == NULL) {
        *detail = "out of memory";
        return APISEC_E_STORE_UNAVAILABLE;
    }

    ngx_memcpy(ctx->account.data, key->account, ctx->account.len);

    tp = ngx_timeofday();
    now_ms = (int64_t) tp->sec * 1000 + (int64_t) tp->msec;

    /* 2. status and absolute expiry */

    err = ngx_http_apisec_key_state(key, (int64_t) tp->sec, detail);
    if (err != APISEC_E_OK) {
        return err;
    }

    /* locked by a rule, and the store may not know it yet */

    if (amcf->rule_lock
        && ngx_http_apisec_lock_check(amcf->stamp_zone, ctx->access_key.data,
                                      ctx->access_key.len, (int64_t) tp->sec)
           == NGX_DECLINED)
    {
        *detail = "the key was locked by a rule";
        return APISEC_E_KEY_LOCKED;
    }

    /*
     * idle longer than apisec_idle_expiry, by the store (at most one
     * flush behind) and by a use stamped since: marked expired for good
     * by the next flush, which checks the store's record again
     */

    if (apisec_key_idle(key, tp->sec, amcf->idle, amcf->idle_unbound_only)
        && (int64_t) tp->sec - ngx_http_apisec_stamp_get(amcf->stamp_zone,
                                                         ctx->access_key.data,
                                                         ctx->access_key.len)
           > (int64_t) amcf->idle)
    {
        /* the cache may be behind the store in the last use: look again */

        if (!fresh) {
            rc = apisec_key_reread(store, (const char *) ctx->access_key.data,
                                   ctx->access_key.len, &buf, &key);
            fresh = 1;
            goto found;
        }

        (void) ngx_http_apisec_stamp(amcf->stamp_zone, ctx->access_key.data,
                                     ctx->access_key.len, 0, NULL);
        *detail = "the key was idle longer than apisec_idle_expiry";
        return APISEC_E_KEY_EXPIRED;
    }

    /* 3. the client address in the key's allow-list */

    if (key->n_ips > 0 && !ngx_http_apisec_ip_allowed(r, key)) {
        *detail = "the client address is not in the key's allow-list";
        return APISEC_E_IP_NOT_ALLOWED;
    }

    /* 4. timestamp window and signature (parsed above) */

    if (parsed != APISEC_E_OK) {
        *detail = parsed_detail;
        return parsed;
    }

    err = apisec_scheme_window(scheme, &auth, now_ms);

    if (err != APISEC_E_OK) {
        *detail = auth.detail;
        return err;
    }

    /* the store's HMAC: the key's secret is unsealed once, then kept ready */

    if (amcf->hmac == NULL
        || apisec_key_hmac(store, amcf->hmac, key, auth.canon,
                           auth.canon_len, mac)
           != APISEC_OK)
    {
        ngx_log_error(NGX_LOG_ALERT, ngx_http_apisec_rlog(r, &rlog), 0,
                      "apisec: the secret of key \"%V\" cannot be unsealed",
                      &ctx->access_key);
        *detail = "the secret cannot be unsealed";
        return APISEC_E_STORE_UNAVAILABLE;
    }

    err = apisec_scheme_match(&auth, mac);

    if (err != APISEC_E_OK) {
        *detail = auth.detail;
        return err;
    }

    if (scheme->passphrase) {
        if (key->passhash_len == 0) {
            *detail = "the key has no passphrase";
            return APISEC_E_SIGNATURE_INVALID;
        }

        if (!apisec_key_check_passphrase(store, amcf->hmac, key,
                                         (const char *) auth.passphrase.data,
                                         auth.passphrase.len))
        {
            *detail = "the passphrase does not match";
            return APISEC_E_SIGNATURE_INVALID;
        }
    }

    /* 5. the location's permission */

    if ((key->perms & alcf->permission) == 0) {
        *detail = "the key lacks the location's permission";
        return APISEC_E_PERMISSION_DENIED;
    }

    /* 6. a TOTP code, once, where the location asks for one */

    if (alcf->twofa) {
        err = ngx_http_apisec_2fa(r, ctx, store, key, (int64_t) tp->sec,
                                  detail);
        if (err != APISEC_E_OK) {
            return err;
        }
    }

    /* 7. the location's rules, in the order written */

    err = ngx_http_apisec_rules_run(r, ctx, now_ms, detail);
    if (err != APISEC_E_OK) {
        return err;
    }

    /* the signature is accepted: once only, when the guard is on */

    if (alcf->replay_guard) {
        switch (ngx_http_apisec_replay_record(amcf->replay_zone, auth.mac,
                                              auth.ts_ms + auth.window_ms,
                                              now_ms))
        {
        case NGX_OK:
            break;

        case NGX_DECLINED:
            *detail = "the signature was accepted before";
            return APISEC_E_SIGNATURE_REPLAYED;

        default:
            ngx_log_error(NGX_LOG_ALERT, ngx_http_apisec_rlog(r, &rlog), 0,
                          "apisec: the replay guard zone is full of live "
                          "signatures; raise apisec_replay_zone");
            *detail = "the replay guard zone is full";
            return APISEC_E_STORE_UNAVAILABLE;
        }
    }

    /*
     * 8. the last use, in shared memory; the flush timer writes it.  Once
     * a second is enough (the store keeps seconds): the second this
     * worker last stamped the key is kept beside it in the key cache, and
     * a stamp of that second, whether still in the zone or written to the
     * store by a flush since, already says it.
     */

    memo = ctx->memo;

    if (memo != NULL && memo[NGX_HTTP_APISEC_MEMO_STAMP] == (int64_t) tp->sec)
    {
        return APISEC_E_OK;
    }

    if (ngx_http_apisec_stamp(amcf->stamp_zone, ctx->access_key.data,
                              ctx->access_key.len, tp->sec, memo)
        == NGX_OK
        && memo != NULL)
    {
        memo[NGX_HTTP_APISEC_MEMO_STAMP] = (int64_t) tp->sec;
    }

    return APISEC_E_OK;
}


/* the request as the scheme sees it: bytes as sent, nothing re-encoded */

static void
ngx_http_apisec_request(ngx_http_request_t *r, const apisec_scheme_t *s,
    ngx_http_apisec_ctx_t *ctx, apisec_req_t *req)
{
    size_t            n[APISEC_HDR_MAX];
    u_char           *q;
    ngx_uint_t        i, j, nh;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    ngx_memzero(req, sizeof(apisec_req_t));

    req->method.data = r->method_name.data;
    req->method.len = r->method_name.len;

    if (r->headers_in.host != NULL) {
        req->host.data = r->headers_in.host->value.data;
        req->host.len = r->headers_in.host->value.len;
    }

    req->uri.data = r->unparsed_uri.data;
    req->uri.len = r->unparsed_uri.len;

    req->path = req->uri;

    q = ngx_strlchr(r->unparsed_uri.data,
                    r->unparsed_uri.data + r->unparsed_uri.len, '?');
    if (q != NULL) {
        req->path.len = q - r->unparsed_uri.data;
    }

    req->query.data = r->args.data;
    req->query.len = r->args.len;

    if (ctx->body_signed) {
        req->body.data = ctx->body.data;
        req->body.len = ctx->body.len;
    }

    for (nh = 0; nh < APISEC_HDR_MAX && s->headers[nh] != NULL; nh++) {
        n[nh] = ngx_strlen(s->headers[nh]);
    }

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].hash == 0) {
            continue;
        }

        for (j = 0; j < nh; j++) {

            /* as the scheme spells it (most clients), or in another case */

            if (h[i].key.len != n[j]
                || (ngx_memcmp(h[i].key.data, s->headers[j], n[j]) != 0
                    && ngx_strncasecmp(h[i].key.data,
                                       (u_char *) s->headers[j], n[j])
                       != 0))
            {
                continue;
            }

            if (req->headers[j].data != NULL) {
                req->header_dup |= 1 << j;
            }

            req->headers[j].data = h[i].value.data;
            req->headers[j].len = h[i].value.len;
        }
    }
}


/*
 * Check 6: the TOTP code of the location's header (RFC 6238, one step of
 * drift either side), accepted once per key across workers (the last step
 * in shared memory, and in the store after the next flush).  Failed codes
 * are counted for 2fa.failed events; no fallback.
 */

static apisec_err_t
ngx_http_apisec_2fa(ngx_http_request_t *r, ngx_http_apisec_ctx_t *ctx,
    apisec_store_t *store, const apisec_key_t *k, int64_t now,
    const char **detail)
{
    ngx_log_t                     rlog;
    int                           rc;
    size_t                        len;
    uint8_t                       secret[APISEC_TOTP_SEALED_MAX];
    int64_t                       step;
    ngx_str_t                     code;
    ngx_uint_t                    n;
    ngx_http_apisec_loc_conf_t   *alcf;
    ngx_http_apisec_main_conf_t  *amcf;

    alcf = ngx_http_get_module_loc_conf(r, ngx_http_apisec_module);
    amcf = ngx_http_get_module_main_conf(r, ngx_http_apisec_module);

    if (k->totp_len == 0) {
        *detail = "the key is not enrolled for 2FA";
        return APISEC_E_2FA_NOT_ENROLLED;
    }

    n = ngx_http_apisec_header(r, &alcf->twofa_header, &code);

    if (n == 0 || code.len == 0) {
        *detail = "no 2FA code";
        return APISEC_E_2FA_REQUIRED;
    }

    if (n > 1) {
        *detail = "the 2FA header is sent twice";
        return APISEC_E_REQUEST_MALFORMED;
    }

    if (apisec_key_get_totp(store, k, secret, sizeof(secret), &len)
        != APISEC_OK)
    {
        ngx_log_error(NGX_LOG_ALERT, ngx_http_apisec_rlog(r, &rlog), 0,
                      "apisec: the TOTP secret of key \"%V\" cannot be "
                      "unsealed", &ctx->access_key);
        *detail = "the TOTP secret cannot be unsealed";
        return APISEC_E_STORE_UNAVAILABLE;
    }

    rc = apisec_totp_verify(amcf->hmac, secret, len, (const char *) code.data,
                            code.len, now, &step);

    apisec_wipe(secret, sizeof(secret));

    switch (rc) {

    case APISEC_TOTP_OK:
        break;

    case APISEC_TOTP_MALFORMED:
    case APISEC_TOTP_WRONG:
        (void) ngx_http_apisec_totp_failed(amcf->stamp_zone,
                                           ctx->access_key.data,
                                           ctx->access_key.len);
        *detail = (rc == APISEC_TOTP_MALFORMED)
                  ? "the 2FA code is not six digits"
                  : "the 2FA code does not match";
        return APISEC_E_2FA_INVALID;

    default:
        *detail = "TOTP failed";
        return APISEC_E_STORE_UNAVAILABLE;
    }

    switch (ngx_http_apisec_totp_use(amcf->stamp_zone, ctx->access_key.data,
                                     ctx->access_key.len, step,
                                     k->totp_last_step))
    {
    case NGX_OK:
        return APISEC_E_OK;

    case NGX_DECLINED:
        (void) ngx_http_apisec_totp_failed(amcf->stamp_zone,
                                           ctx->access_key.data,
                                           ctx->access_key.len);
        *detail = "the 2FA code was used before";
        return APISEC_E_2FA_INVALID;

    default:
        ngx_log_error(NGX_LOG_ALERT, ngx_http_apisec_rlog(r, &rlog), 0,
                      "apisec: the stamp zone is full: a TOTP step cannot "
                      "be recorded; raise apisec_stamp_zone");
        *detail = "the stamp zone is full";
        return APISEC_E_STORE_UNAVAILABLE;
    }
}


/* the number of headers called name, and the value of the last one */

static ngx_uint_t
ngx_http_apisec_header(ngx_http_request_t *r, ngx_str_t *name,
    ngx_str_t *value)
{
    ngx_uint_t        i, n;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    n = 0;
    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].hash == 0 || h[i].key.len != name->len
            || ngx_strncasecmp(h[i].key.data, name->data, name->len) != 0)
        {
            continue;
        }

        *value = h[i].value;
        n++;
    }

    return n;
}


static apisec_err_t
ngx_http_apisec_key_state(const apisec_key_t *k, int64_t now,
    const char **detail)
{
    switch (k->status) {

    case APISEC_STATUS_ACTIVE:
        break;

    case APISEC_STATUS_DISABLED:
        *detail = "the key is disabled";
        return APISEC_E_KEY_DISABLED;

    case APISEC_STATUS_EXPIRED:
        *detail = "the key is expired";
        return APISEC_E_KEY_EXPIRED;

    case APISEC_STATUS_LOCKED:
        if (k->locked_until == 0 || now < k->locked_until) {
            *detail = "the key is locked";
            return APISEC_E_KEY_LOCKED;
        }

        break;

    default:
        *detail = "the key has an unknown status";
        return APISEC_E_KEY_DISABLED;
    }

    if (k->expires_at != 0 && now >= k->expires_at) {
        *detail = "the key is past its expires_at";
        return APISEC_E_KEY_EXPIRED;
    }

    return APISEC_E_OK;
}


static ngx_int_t
ngx_http_apisec_ip_allowed(ngx_http_request_t *r, const apisec_key_t *k)
{
    int                   family;
    ngx_uint_t            i;
    const uint8_t        *addr;
    struct sockaddr_in   *sin;
#if (NGX_HAVE_INET6)
    struct sockaddr_in6  *sin6;
#endif

    switch (r->connection->sockaddr->sa_family) {

    case AF_INET:
        sin = (struct sockaddr_in *) r->connection->sockaddr;
        family = 4;
        addr = (const uint8_t *) &sin->sin_addr.s_addr;
        break;

#if (NGX_HAVE_INET6)
    case AF_INET6:
        sin6 = (struct sockaddr_in6 *) r->connection->sockaddr;

        if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
            family = 4;
            addr = &sin6->sin6_addr.s6_addr[12];

        } else {
            family = 6;
            addr = sin6->sin6_addr.s6_addr;
        }

        break;
#endif

    default:
        return 0;
    }

    for (i = 0; i < k->n_ips; i++) {
        if (apisec_cidr_match(&k->ips[i], family, addr)) {
            return 1;
        }
    }

    return 0;
}


/*
 * The worker's store handle.  It is opened in init_process; when that
 * failed (or the store went away), it is opened again here, at most once
 * a second, and requests fail closed meanwhile.
 */

static apisec_store_t *
ngx_http_apisec_store(ngx_log_t *log, ngx_http_apisec_main_conf_t *amcf)
{
    char  err[APISEC_ERR_LEN];

    if (amcf->store != NULL) {
        return amcf->store;
    }

    if ((ngx_msec_int_t) (ngx_current_msec - amcf->reopen_at) < 0) {
        return NULL;
    }

    amcf->reopen_at = ngx_current_msec + NGX_HTTP_APISEC_REOPEN_MSEC;

    if (apisec_store_open(&amcf->store, (char *) amcf->store_path.data,
                          amcf->master_key, APISEC_OPEN_CACHE,
                          amcf->map_size, err, sizeof(err))
        != APISEC_OK)
    {
        amcf->store = NULL;
        ngx_log_error(NGX_LOG_ALERT, log, 0, "apisec: %s", err);
        return NULL;
    }

#if (NGX_THREADS)
    if (amcf->thread_pool != NULL) {
        /* the thread pool writes through this handle too */
        apisec_store_set_threaded(amcf->store);
    }
#endif

    ngx_log_error(NGX_LOG_INFO, log, 0, "apisec: store \"%V\" open",
                  &amcf->store_path);

    return amcf->store;
}


/*
 * A refusal: the JSON body of SPEC.md with its status, and one error-log
 * line naming the key and the reason.  The log line leaves out the query
 * string and the headers, where the signature travels.
 */

static ngx_int_t
ngx_http_apisec_refuse(ngx_http_request_t *r, ngx_http_apisec_ctx_t *ctx,
    apisec_err_t err, const char *detail)
{
    u_char                   *p;
    size_t                    len;
    ngx_int_t                 rc;
    ngx_buf_t                *b;
    ngx_log_t                 log;
    ngx_str_t                 none = ngx_string("-");
    ngx_chain_t               out;
    ngx_table_elt_t          *h;
    const apisec_err_info_t  *info;

    info = apisec_err_info(err);

    ctx->err = err;
    ctx->done = 1;

    (void) ngx_http_apisec_rlog(r, &log);

    ngx_log_error(NGX_LOG_ERR, &log, 0,
                  "apisec: key \"%V\" refused: %s, %s",
                  ctx->access_key.len ? &ctx->access_key : &none,
                  info->code, detail);

    len = sizeof("{\"code\":\"\",\"msg\":\"\"}") - 1
          + ngx_strlen(info->code) + ngx_strlen(info->msg);

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = b->last;
    b->last = ngx_sprintf(p, "{\"code\":\"%s\",\"msg\":\"%s\"}",
                          info->code, info->msg);
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        r->keepalive = 0;
    }

    r->headers_out.status = info->status;
    r->headers_out.content_type = ngx_http_apisec_json_type;
    r->headers_out.content_type_len = ngx_http_apisec_json_type.len;
    r->headers_out.content_type_lowcase = NULL;
    r->headers_out.content_length_n = b->last - b->pos;

    if (err == APISEC_E_RATE_LIMITED) {
        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "Retry-After");

        h->value.data = ngx_pnalloc(r->pool, NGX_TIME_T_LEN);
        if (h->value.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->value.len = ngx_sprintf(h->value.data, "%T",
                                   ngx_max(ctx->retry_after, 1))
                       - h->value.data;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        ngx_http_finalize_request(r, rc);
        return NGX_DONE;
    }

    out.buf = b;
    out.next = NULL;

    rc = ngx_http_output_filter(r, &out);

    ngx_http_finalize_request(r, rc);
    return NGX_DONE;
}


/*
 * A request's log with apisec's context (below) instead of the request
 * line: for every line apisec writes about a request.
 */

ngx_log_t *
ngx_http_apisec_rlog(ngx_http_request_t *r, ngx_log_t *log)
{
    *log = *r->connection->log;
    log->handler = ngx_http_apisec_log_handler;

    return log;
}


/*
 * The context of apisec's log lines: client, server, method and path,
 * host.  Unlike the usual http context it leaves out the request line,
 * whose query string may hold a signature.
 */

u_char *
ngx_http_apisec_log_handler(ngx_log_t *log, u_char *buf, size_t len)
{
    u_char                    *p;
    ngx_http_request_t        *r;
    ngx_http_log_ctx_t        *ctx;
    ngx_http_core_srv_conf_t  *cscf;

    p = buf;

    if (log->action) {
        p = ngx_snprintf(buf, len, " while %s", log->action);
        len -= p - buf;
        buf = p;
    }

    ctx = log->data;

    if (ctx == NULL || ctx->request == NULL) {
        return p;
    }

    r = ctx->request;

    p = ngx_snprintf(buf, len, ", client: %V", &r->connection->addr_text);
    len -= p - buf;
    buf = p;

    cscf = ngx_http_get_module_srv_conf(r, ngx_http_core_module);

    p = ngx_snprintf(buf, len, ", server: %V, request: \"%V %V\"",
                     &cscf->server_name, &r->method_name, &r->uri);
    len -= p - buf;
    buf = p;

    if (r->headers_in.host) {
        p = ngx_snprintf(buf, len, ", host: \"%V\"",
                         &r->headers_in.host->value);
    }

    return p;
}


static ngx_int_t
ngx_http_apisec_variable(ngx_http_request_t *r, ngx_http_variable_value_t *v,
    uintptr_t data)
{
    ngx_str_t              *s;
    ngx_http_apisec_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_apisec_module);

    if (ctx == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    s = (ngx_str_t *) ((char *) ctx + data);

    v->len = s->len;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;
    v->data = s->data;

    return NGX_OK;
}


static ngx_int_t
ngx_http_apisec_error_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    const char             *code;
    ngx_http_apisec_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_apisec_module);

    if (ctx == NULL || !ctx->done) {
        v->not_found = 1;
        return NGX_OK;
    }

    code = (ctx->err == APISEC_E_OK) ? "" : apisec_err_info(ctx->err)->code;

    v->len = ngx_strlen(code);
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;
    v->data = (u_char *) code;

    return NGX_OK;
}


/* apisec_store PATH [map_size=SIZE] */

static char *
ngx_http_apisec_store_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_apisec_main_conf_t *amcf = conf;

    off_t       size;
    ngx_str_t  *value, s;

    if (amcf->store_path.data != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "empty apisec store path");
        return NGX_CONF_ERROR;
    }

    amcf->store_path = value[1];

    if (ngx_conf_full_name(cf->cycle, &amcf->store_path, 0) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (cf->args->nelts == 3) {
        if (ngx_strncmp(value[2].data, "map_size=", 9) != 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\"", &value[2]);
            return NGX_CONF_ERROR;
        }

        s.data = value[2].data + 9;
        s.len = value[2].len - 9;

        size = ngx_parse_offset(&s);

        if (size == NGX_ERROR || size < 1024 * 1024
            || (uint64_t) size > (uint64_t) NGX_MAX_SIZE_T_VALUE)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid map_size \"%V\", "
                               "it must be at least 1m", &value[2]);
            return NGX_CONF_ERROR;
        }

        amcf->map_size = (size_t) size;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_apisec_scheme(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_apisec_loc_conf_t *alcf = conf;

    ngx_str_t              *value;
    const apisec_scheme_t  *s;

    if (alcf->scheme != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    s = apisec_scheme_find((const char *) value[1].data, value[1].len);

    if (s == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "unknown apisec scheme \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    alcf->scheme = s;

    return NGX_CONF_OK;
}


/* ngx_conf_set_enum_slot, with a message that names the choices */

static char *
ngx_http_apisec_permission(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_apisec_loc_conf_t *alcf = conf;

    ngx_str_t        *value;
    ngx_uint_t        i;
    ngx_conf_enum_t  *e;

    if (alcf->permission != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;
    e = cmd->post;

    for (i = 0; e[i].name.len != 0; i++) {
        if (e[i].name.len == value[1].len
            && ngx_strcmp(e[i].name.data, value[1].data) == 0)
        {
            alcf->permission = e[i].value;
            return NGX_CONF_OK;
        }
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid permission \"%V\", "
                       "it must be \"read\", \"trade\" or \"withdraw\"",
                       &value[1]);
    return NGX_CONF_ERROR;
}


/* apisec_idle_expiry TIME [unbound_ip_only] | off */

static char *
ngx_http_apisec_idle_expiry(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_apisec_main_conf_t *amcf = conf;

    time_t      t;
    ngx_str_t  *value;

    if (amcf->idle != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        if (cf->args->nelts == 3) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\"", &value[2]);
            return NGX_CONF_ERROR;
        }

        amcf->idle = 0;
        return NGX_CONF_OK;
    }

    t = ngx_parse_time(&value[1], 1);

    if (t == (time_t) NGX_ERROR || t <= 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid apisec_idle_expiry \"%V\", "
                           "it must be a time like \"90d\" or \"off\"",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    amcf->idle = t;

    if (cf->args->nelts == 3) {
        if (ngx_strcmp(value[2].data, "unbound_ip_only") != 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\", "
                               "it must be \"unbound_ip_only\"", &value[2]);
            return NGX_CONF_ERROR;
        }

        amcf->idle_unbound_only = 1;
    }

    return NGX_CONF_OK;
}


/* ngx_conf_set_flag_slot, noting that the replay zone is needed */

static char *
ngx_http_apisec_replay_guard(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char                         *rv;
    ngx_http_apisec_loc_conf_t   *alcf = conf;
    ngx_http_apisec_main_conf_t  *amcf;

    rv = ngx_conf_set_flag_slot(cf, cmd, conf);

    if (rv == NGX_CONF_OK && alcf->replay_guard) {
        amcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_apisec_module);
        amcf->replay_used = 1;
    }

    return rv;
}


static void
ngx_http_apisec_wipe_key(void *data)
{
    ngx_http_apisec_main_conf_t *amcf = data;

    apisec_wipe(amcf->master_key, sizeof(amcf->master_key));
}


static ngx_int_t
ngx_http_apisec_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_apisec_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


/* the scheme's access key header, if it has one, among amcf's */

static ngx_int_t
ngx_http_apisec_key_header(ngx_conf_t *cf, ngx_http_apisec_main_conf_t *amcf,
    const apisec_scheme_t *s)
{
    size_t      len;
    ngx_uint_t  k;
    ngx_str_t  *name;

    if (s->key_param != NULL || s->headers[0] == NULL) {
        return NGX_OK;
    }

    len = ngx_strlen(s->headers[0]);

    for (k = 0; k < amcf->key_headers; k++) {
        if (amcf->key_header[k].len == len
            && ngx_strncasecmp(amcf->key_header[k].data,
                               (u_char *) s->headers[0], len)
               == 0)
        {
            return NGX_OK;
        }
    }

    if (amcf->key_headers == NGX_HTTP_APISEC_KEY_HEADERS) {
        return NGX_OK;      /* a hint the more: none */
    }

    name = &amcf->key_header[amcf->key_headers];
    name->data = ngx_pnalloc(cf->pool, len);
    if (name->data == NULL) {
        return NGX_ERROR;
    }

    name->len = len;
    amcf->key_header_hash[amcf->key_headers] =
        ngx_hash_strlow(name->data, (u_char *) s->headers[0], len);
    amcf->key_headers++;

    return NGX_OK;
}


static ngx_int_t
ngx_http_apisec_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt          *h;
    ngx_http_core_main_conf_t    *cmcf;
    ngx_http_apisec_main_conf_t  *amcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);
    amcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_apisec_module);

    /* the key cache's hint, where a scheme in use has a key header */

    if (amcf->key_headers > 0) {
        h = ngx_array_push(&cmcf->phases[NGX_HTTP_POST_READ_PHASE].handlers);
        if (h == NULL) {
            return NGX_ERROR;
        }

        *h = ngx_http_apisec_post_read;
    }

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_apisec_handler;

    /* the metrics count what apisec decided, once a request is done */

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_apisec_log_phase;

    return NGX_OK;
}


static void *
ngx_http_apisec_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_apisec_main_conf_t  *amcf;

    amcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_apisec_main_conf_t));
    if (amcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     amcf->store_path = { 0, NULL };
     *     amcf->master_key_file = { 0, NULL };
     *     amcf->map_size = 0;
     *     amcf->store = NULL;
     *     amcf->hmac = NULL;
     *     amcf->replay_used = 0;
     *     amcf->replay_zone = NULL;
     */

    amcf->replay_size = NGX_CONF_UNSET_SIZE;
    amcf->idle = NGX_CONF_UNSET;
    amcf->flush_interval = NGX_CONF_UNSET_MSEC;
    amcf->stamp_size = NGX_CONF_UNSET_SIZE;
    amcf->rule_size = NGX_CONF_UNSET_SIZE;
    amcf->event_retention = NGX_CONF_UNSET;

    return amcf;
}


/*
 * At configuration time (nginx -t, start, reload) the master loads the
 * master key and opens the store once, read-only, to check its format
 * and that the key opens it; then it closes it.  Workers open their own
 * handle after fork.
 */

static char *
ngx_http_apisec_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_apisec_main_conf_t *amcf = conf;

    char                 err[APISEC_ERR_LEN];
    apisec_store_t      *st;
    ngx_pool_cleanup_t  *cln;

    ngx_conf_init_size_value(amcf->replay_size, NGX_HTTP_APISEC_REPLAY_SIZE);
    ngx_conf_init_size_value(amcf->stamp_size, NGX_HTTP_APISEC_STAMP_SIZE);
    ngx_conf_init_size_value(amcf->rule_size, NGX_HTTP_APISEC_RULE_SIZE);
    ngx_conf_init_value(amcf->idle, NGX_HTTP_APISEC_IDLE);
    ngx_conf_init_msec_value(amcf->flush_interval,
                             NGX_HTTP_APISEC_FLUSH_MSEC);
    ngx_conf_init_value(amcf->event_retention, NGX_HTTP_APISEC_RETENTION);

    if (amcf->webhooks != NULL && amcf->store_path.len == 0) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"apisec_webhook\" is set, but \"apisec_store\" "
                      "is not");
        return NGX_CONF_ERROR;
    }

    if (amcf->flush_interval < 100 || amcf->flush_interval > 3600000) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"apisec_flush_interval\" must be between 100ms "
                      "and 1h");
        return NGX_CONF_ERROR;
    }

    if (amcf->stamp_size < 64 * 1024) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"apisec_stamp_zone\" must be at least 64k");
        return NGX_CONF_ERROR;
    }

    if (amcf->replay_size < 64 * 1024) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"apisec_replay_zone\" must be at least 64k");
        return NGX_CONF_ERROR;
    }

    if (amcf->rule_size < 64 * 1024) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"apisec_rule_zone\" must be at least 64k");
        return NGX_CONF_ERROR;
    }

    /* the rules, and the events of withdrawals, wherever there is a store */

    if (amcf->rule_used || amcf->store_path.len) {
        amcf->rule_zone = ngx_http_apisec_rule_zone(cf, amcf->rule_size);
        if (amcf->rule_zone == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    if (amcf->replay_used) {
        amcf->replay_zone = ngx_http_apisec_replay_zone(cf, amcf->replay_size);
        if (amcf->replay_zone == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    if (amcf->thread_pool_name.data == NULL) {
        ngx_str_set(&amcf->thread_pool_name, "default");
    }

#if (NGX_THREADS)
    if (amcf->amount_durable || amcf->store_path.len != 0) {
        /*
         * the pool that writes the flushes and the windows ("default"
         * made when missing)
         */
        amcf->thread_pool = ngx_thread_pool_add(cf, &amcf->thread_pool_name);
        if (amcf->thread_pool == NULL) {
            return NGX_CONF_ERROR;
        }
    }
#endif

    if (amcf->store_path.len == 0) {
        if (amcf->master_key_file.len != 0) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "\"apisec_master_key\" is set, "
                          "but \"apisec_store\" is not");
            return NGX_CONF_ERROR;
        }

        return NGX_CONF_OK;
    }

    if (amcf->master_key_file.len == 0) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"apisec_store\" \"%V\" is set, "
                      "but \"apisec_master_key\" is not",
                      &amcf->store_path);
        return NGX_CONF_ERROR;
    }

    if (ngx_conf_full_name(cf->cycle, &amcf->master_key_file, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    amcf->stamp_zone = ngx_http_apisec_stamp_zone(cf, amcf->stamp_size);
    if (amcf->stamp_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_apisec_metrics_zone(cf, amcf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_apisec_wipe_key;
    cln->data = amcf;

    if (apisec_master_key_load((char *) amcf->master_key_file.data,
                               amcf->master_key, err, sizeof(err))
        != 0)
    {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "apisec_master_key: %s", err);
        return NGX_CONF_ERROR;
    }

    amcf->master_key_loaded = 1;

    if (apisec_store_open(&st, (char *) amcf->store_path.data,
                          amcf->master_key, APISEC_OPEN_RDONLY, 0,
                          err, sizeof(err))
        != APISEC_OK)
    {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0, "apisec_store: %s", err);
        return NGX_CONF_ERROR;
    }

    if (ngx_http_apisec_hooks_conf(cf, amcf, st) != NGX_OK) {
        apisec_store_close(st);
        return NGX_CONF_ERROR;
    }

    apisec_store_close(st);

    return NGX_CONF_OK;
}


static void *
ngx_http_apisec_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_apisec_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_apisec_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->enable = NGX_CONF_UNSET;
    conf->scheme = NGX_CONF_UNSET_PTR;
    conf->time_window = NGX_CONF_UNSET_MSEC;
    conf->permission = NGX_CONF_UNSET_UINT;
    conf->max_body_size = NGX_CONF_UNSET_SIZE;
    conf->replay_guard = NGX_CONF_UNSET;
    conf->twofa = NGX_CONF_UNSET;

    /*
     * set by ngx_pcalloc():
     *
     *     conf->twofa_header = { 0, NULL };
     *     conf->rules = NULL;
     */

    return conf;
}


static char *
ngx_http_apisec_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_apisec_loc_conf_t *prev = parent;
    ngx_http_apisec_loc_conf_t *conf = child;

    ngx_uint_t                    i;
    ngx_http_apisec_rule_t       *rule;
    ngx_http_apisec_main_conf_t  *amcf;

    ngx_conf_merge_value(conf->enable, prev->enable, 0);
    ngx_conf_merge_ptr_value(conf->scheme, prev->scheme, &apisec_schemes[0]);
    ngx_conf_merge_msec_value(conf->time_window, prev->time_window,
                              NGX_CONF_UNSET_MSEC);
    ngx_conf_merge_uint_value(conf->permission, prev->permission,
                              APISEC_PERM_READ);
    ngx_conf_merge_size_value(conf->max_body_size, prev->max_body_size,
                              NGX_HTTP_APISEC_MAX_BODY);
    ngx_conf_merge_value(conf->replay_guard, prev->replay_guard, 0);
    ngx_conf_merge_value(conf->twofa, prev->twofa, 0);
    ngx_conf_merge_str_value(conf->twofa_header, prev->twofa_header,
                             "X-Apisec-TOTP");

    if (conf->rules == NULL) {
        conf->rules = prev->rules;
    }

    conf->withdrawals = (conf->permission & APISEC_PERM_WITHDRAW)
                        || conf->twofa;

    if (conf->rules != NULL) {
        rule = conf->rules->elts;

        for (i = 0; i < conf->rules->nelts; i++) {
            if (rule[i].type == NGX_HTTP_APISEC_RULE_AMOUNT) {
                conf->amount_rules = 1;
            }

            if (rule[i].type == NGX_HTTP_APISEC_RULE_FAILURES) {
                conf->failure_rules = 1;
            }
        }
    }

    if (conf->time_window == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"apisec_time_window\" must be more than 0");
        return NGX_CONF_ERROR;
    }

    if (conf->enable) {
        amcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_apisec_module);

        if (amcf->store_path.len == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"apisec\" is on, but \"apisec_store\" "
                               "is not set");
            return NGX_CONF_ERROR;
        }

        if (ngx_http_apisec_key_header(cf, amcf, conf->scheme) != NGX_OK) {
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_apisec_init_process(ngx_cycle_t *cycle)
{
    ngx_http_apisec_main_conf_t  *amcf;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    amcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_apisec_module);

    if (amcf == NULL || amcf->store_path.len == 0) {
        return NGX_OK;
    }

    amcf->hmac = apisec_hmac_new();

    if (amcf->hmac == NULL) {
        ngx_log_error(NGX_LOG_ALERT, cycle->log, 0,
                      "apisec: cannot create an HMAC context");
    }

    amcf->reopen_at = ngx_current_msec;

#if (NGX_THREADS)
    ngx_queue_init(&ngx_http_apisec_waiting);
    ngx_http_apisec_batch_out = 0;

    ngx_memzero(&ngx_http_apisec_batch_wait, sizeof(ngx_event_t));
    ngx_http_apisec_batch_wait.handler = ngx_http_apisec_batch_wait_handler;
    ngx_http_apisec_batch_wait.data = amcf;
    ngx_http_apisec_batch_wait.log = cycle->log;
#endif

    (void) ngx_http_apisec_store(cycle->log, amcf);

    /*
     * The flush timer.  Every worker has one and looks every twelfth of
     * the interval; the one that finds the last flush (by any worker) an
     * interval old, less a look, writes every stamp in one transaction,
     * so the store is at most an interval behind.
     */

    amcf->flush_event.handler = ngx_http_apisec_flush_handler;
    amcf->flush_event.data = amcf;
    amcf->flush_event.log = cycle->log;
    amcf->flush_event.cancelable = 1;

    ngx_add_timer(&amcf->flush_event, amcf->flush_interval / 12);

    amcf->release.handler = ngx_http_apisec_release;
    amcf->release.data = amcf;
    amcf->release.log = cycle->log;

    /* the webhooks: delivered by the worker that holds the lease */

    return ngx_http_apisec_hooks_init(cycle, amcf);
}


static void
ngx_http_apisec_exit_process(ngx_cycle_t *cycle)
{
    apisec_store_stat_t           stat;
    ngx_http_apisec_main_conf_t  *amcf;

    amcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_apisec_module);

    if (amcf == NULL) {
        return;
    }

    /* no more deliveries from this worker; the lease goes */
    ngx_http_apisec_hooks_exit(amcf);

    if (amcf->flush_out != NULL) {
        ngx_http_apisec_flush_wait(amcf);
    }

    /* a thread still in a transaction keeps the store open */

    if (amcf->store != NULL && amcf->flush_out == NULL) {
        /* a graceful exit (shutdown, reload): what is stamped is written */
        ngx_http_apisec_flush(cycle, amcf, 1);

        if (apisec_store_stat(amcf->store, &stat) == APISEC_OK) {
            ngx_log_error(NGX_LOG_INFO, cycle->log, 0,
                          "apisec: %uL write transactions, %ui of them by "
                          "the flush timer, %ui by the thread pool for the "
                          "windows of %ui requests", stat.write_txns,
                          amcf->flushes, amcf->batches, amcf->batched);
        }

        if (amcf->release.posted) {
            ngx_delete_posted_event(&amcf->release);
        }

        apisec_store_close(amcf->store);
        amcf->store = NULL;
    }

    if (amcf->hmac != NULL) {
        apisec_hmac_free(amcf->hmac);
        amcf->hmac = NULL;
    }

    apisec_wipe(amcf->master_key, sizeof(amcf->master_key));
}


/*
 * At exit, a flush still out: nginx's thread pools have run every task
 * queued before their exit (ngx_thread_pool_module's exit_process comes
 * before a dynamic module's), but the event that would end it in the
 * event loop will not come; it is ended here.  Should its thread still
 * be writing, it is waited for (its commit is a disk sync), 10 s at
 * most; after that its results are left alone (and its stamps are lost,
 * as those of a worker killed in a flush).
 */

static void
ngx_http_apisec_flush_wait(ngx_http_apisec_main_conf_t *amcf)
{
    ngx_uint_t                i;
    ngx_http_apisec_flush_t  *f;

    f = amcf->flush_out;

    for (i = 0; !f->written && i < 10000; i++) {
        ngx_msleep(1);
    }

    ngx_memory_barrier();

    if (!f->written) {
        ngx_log_error(NGX_LOG_ALERT, f->log, 0,
                      "apisec: a flush still writing at exit: %i stamps "
                      "and %i events may be lost", f->n, f->nev);
        return;
    }

    amcf->flush_out = NULL;

    ngx_http_apisec_flush_done(f);
}


/* the end of a turn of the event loop: the store's snapshot goes */

static void
ngx_http_apisec_release(ngx_event_t *ev)
{
    ngx_http_apisec_main_conf_t  *amcf;

    amcf = ev->data;

    apisec_store_hold(amcf->store, 0);
}


static void
ngx_http_apisec_flush_handler(ngx_event_t *ev)
{
    ngx_http_apisec_main_conf_t  *amcf;

    amcf = ev->data;

    if (ngx_exiting || ngx_terminate || ngx_quit) {
        return;             /* exit_process writes the last stamps */
    }

    ngx_http_apisec_flush((ngx_cycle_t *) ngx_cycle, amcf, 0);

    ngx_add_timer(ev, amcf->flush_interval / 12);
}


/*
 * Write the stamps in one transaction: last uses, and the keys found idle,
 * marked expired (with a key.expired event) if the store's record still
 * says so; with them the rule events, the windows the store lacks and
 * the webhooks' cursors.  It runs from the timer (or at exit), never for
 * a request.  What is written is taken from shared memory here, in the
 * event loop; the transaction runs in a thread of the pool when there is
 * one (its commit waits for the disk), and what it did is told to shared
 * memory back in the event loop (ngx_http_apisec_flush_done).  At exit
 * it all runs here.
 */

static void
ngx_http_apisec_flush(ngx_cycle_t *cycle, ngx_http_apisec_main_conf_t *amcf,
    ngx_uint_t force)
{
    int64_t                   now_ms, min_ms;
    ngx_int_t                 n, nev, nw;
    ngx_uint_t                dropped, nh;
    ngx_pool_t               *pool;
    ngx_time_t               *tp;
    apisec_store_t           *store;
    ngx_http_apisec_flush_t  *f;
#if (NGX_THREADS)
    ngx_thread_task_t        *task;
#endif

    if (amcf->flush_out != NULL) {
        return;             /* the last one is still being written */
    }

    store = ngx_http_apisec_store(cycle->log, amcf);

    if (store == NULL || amcf->stamp_zone == NULL) {
        return;
    }

    ngx_time_update();
    tp = ngx_timeofday();
    now_ms = (int64_t) tp->sec * 1000 + tp->msec;

    min_ms = force ? 0 : (int64_t) (amcf->flush_interval
                                    - amcf->flush_interval / 12);

    pool = ngx_create_pool(NGX_DEFAULT_POOL_SIZE, cycle->log);
    if (pool == NULL) {
        return;
    }

#if (NGX_THREADS)
    task = ngx_thread_task_alloc(pool, sizeof(ngx_http_apisec_flush_t));
    if (task == NULL) {
        ngx_destroy_pool(pool);
        return;
    }

    f = task->ctx;
#else
    f = ngx_pcalloc(pool, sizeof(ngx_http_apisec_flush_t));
    if (f == NULL) {
        ngx_destroy_pool(pool);
        return;
    }
#endif

    f->amcf = amcf;
    f->pool = pool;
    f->log = cycle->log;
    f->store = store;
    f->now_ms = now_ms;
    f->now = tp->sec;

    dropped = 0;
    n = ngx_http_apisec_stamps_take(amcf->stamp_zone, pool, now_ms, min_ms,
                                    &f->st, &dropped);

    if (dropped) {
        ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                      "apisec: the stamp zone was full: %ui uses were not "
                      "recorded; raise apisec_stamp_zone", dropped);
    }

    if (n == NGX_ERROR) {
        ngx_log_error(NGX_LOG_ALERT, cycle->log, 0,
                      "apisec: no memory to flush the stamps");
        n = 0;
    }

    /* the rule events waiting, on the same schedule */

    nev = 0;

    if (amcf->rule_zone != NULL) {
        dropped = 0;
        /* events at every tick: the webhooks wait for them */
        nev = ngx_http_apisec_rule_events_take(amcf->rule_zone, pool, now_ms,
                                               0, &f->ev, &dropped);

        if (dropped) {
            ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                          "apisec: %ui rule events were not recorded: too "
                          "many waited for the flush, or the rule zone "
                          "was full", dropped);
        }

        if (nev == NGX_ERROR) {
            ngx_log_error(NGX_LOG_ALERT, cycle->log, 0,
                          "apisec: no memory to flush the rule events");
            nev = 0;
        }
    }

    /*
     * windows that the store does not have: those of failures rules, and
     * of amount rules only when a write failed or a worker died writing
     */

    nw = 0;

    if (amcf->rule_zone != NULL) {
        nw = ngx_http_apisec_windows_dirty(amcf->rule_zone, pool, &f->dw);

        if (nw == NGX_ERROR) {
            nw = 0;
        }
    }

    /* the webhooks' cursors that moved */

    nh = ngx_http_apisec_hooks_dirty(amcf);

    if (n == 0 && nev == 0 && nw == 0 && nh == 0) {
        ngx_http_apisec_metrics_flushed(amcf, now_ms, 1);
        ngx_destroy_pool(pool);
        return;
    }

    f->n = n;
    f->nev = nev;
    f->nw = nw;
    f->nh = nh;
    f->min_acked = ngx_http_apisec_hooks_take(amcf);

#if (NGX_THREADS)
    if (!force && amcf->thread_pool != NULL) {
        task->handler = ngx_http_apisec_flush_thread;
        task->event.data = f;
        task->event.handler = ngx_http_apisec_flush_event;

        f->threaded = 1;

        if (ngx_thread_task_post(amcf->thread_pool, task) == NGX_OK) {
            amcf->flush_out = f;
            return;
        }

        f->threaded = 0;

        /* the pool's queue is full: written here, the loop waits */
    }
#endif

    ngx_http_apisec_flush_write(f);
    ngx_http_apisec_flush_done(f);
}


/* the flush's one write transaction: in a thread, or in the event loop */

static void
ngx_http_apisec_flush_write(ngx_http_apisec_flush_t *f)
{
    int                            rc;
    ngx_int_t                      i;
    apisec_key_t                   k;
    apisec_wtxn_t                 *txn;
    ngx_http_apisec_stamp_t       *st;
    ngx_http_apisec_rule_event_t  *ev;
    ngx_http_apisec_main_conf_t   *amcf;

    /*
     * In a thread, only the write transaction: the handle's read
     * transaction (apisec_store_stat, key reads) is the event loop's
     */

    amcf = f->amcf;
    st = f->st;
    ev = f->ev;

    rc = apisec_store_begin(f->store, &txn);

    for (i = 0; rc == APISEC_OK && i < f->n; i++) {

        if (st[i].totp_step != 0) {
            rc = apisec_key_totp_used(txn, st[i].access_key, st[i].len,
                                      st[i].totp_step);
        }

        if (rc == APISEC_OK && st[i].totp_failed) {
            rc = ngx_http_apisec_flush_failures(txn, &st[i], f->now);
        }

        if (rc == APISEC_OK && st[i].lock) {
            rc = ngx_http_apisec_flush_lock(f->log, txn, &st[i], f->now);
        }

        if (rc != APISEC_OK) {
            /* below */

        } else if (st[i].used) {
            rc = apisec_key_touch(txn, st[i].access_key, st[i].len,
                                  st[i].used);

        } else if (st[i].expire) {
            rc = apisec_key_get_w(txn, st[i].access_key, st[i].len, &k);

            if (rc == APISEC_OK && k.status == APISEC_STATUS_ACTIVE
                && apisec_key_idle(&k, f->now, amcf->idle,
                                   amcf->idle_unbound_only))
            {
                rc = apisec_key_expire_idle(txn, &k, f->now, amcf->idle,
                                            "nginx");
                if (rc == APISEC_OK) {
                    f->expired++;
                    ngx_log_error(NGX_LOG_WARN, f->log, 0,
                                  "apisec: key \"%s\" of account \"%s\" "
                                  "expired: idle longer than %T s",
                                  k.access_key, k.account, amcf->idle);
                }
            }
        }

        if (rc == APISEC_ERR_NOTFOUND) {
            rc = APISEC_OK;     /* revoked since */
        }
    }

    for (i = 0; rc == APISEC_OK && i < f->nev; i++) {
        rc = apisec_event_append(txn, ev[i].type, f->now,
                                 ev[i].access_key, ev[i].account,
                                 ev[i].extra, NULL);
    }

    if (rc == APISEC_OK && f->nw > 0) {
        rc = ngx_http_apisec_flush_windows(txn, f->dw, f->nw);
    }

    /*
     * the cursors; then the events past their retention that every
     * subscriber has (a bounded number a flush)
     */

    if (rc == APISEC_OK) {
        rc = ngx_http_apisec_hooks_write(amcf, txn);
    }

    if (rc == APISEC_OK && amcf->event_retention > 0) {
        rc = apisec_event_prune(txn, f->now - amcf->event_retention,
                                f->min_acked, NGX_HTTP_APISEC_PRUNE_MAX,
                                &f->pruned);
    }

    if (rc == APISEC_OK) {
        rc = apisec_store_commit(txn);

    } else if (txn != NULL) {
        apisec_store_abort(txn);
    }

    f->rc = rc;

    if (rc != APISEC_OK) {
        (void) snprintf(f->err, sizeof(f->err), "%s: %s", apisec_rc_str(rc),
                        apisec_store_error(f->store));
    }
}


#if (NGX_THREADS)

static void
ngx_http_apisec_flush_thread(void *data, ngx_log_t *log)
{
    ngx_http_apisec_flush_t *f = data;

    ngx_http_apisec_flush_write(f);

    ngx_memory_barrier();
    f->written = 1;
}


static void
ngx_http_apisec_flush_event(ngx_event_t *ev)
{
    ngx_http_apisec_flush_t *f = ev->data;

    f->amcf->flush_out = NULL;

    ngx_http_apisec_flush_done(f);
}

#endif


/*
 * Back in the event loop: on success the locks are the store's and the
 * cursors are saved; on failure everything taken goes back to shared
 * memory, for the next flush.  The flush's pool goes.
 */

static void
ngx_http_apisec_flush_done(ngx_http_apisec_flush_t *f)
{
    ngx_int_t                     i;
    apisec_store_stat_t           stat;
    ngx_http_apisec_stamp_t      *st;
    ngx_http_apisec_dirty_t      *dw;
    ngx_http_apisec_main_conf_t  *amcf;

    amcf = f->amcf;
    st = f->st;
    dw = f->dw;

    if (f->rc != APISEC_OK) {
        ngx_log_error(NGX_LOG_ALERT, f->log, 0,
                      "apisec: cannot write %i stamps, %i events, %i windows "
                      "of amount rules and %ui webhook cursors to the store: "
                      "%s; they are kept for the next flush",
                      f->n, f->nev, f->nw, f->nh, f->err);

        ngx_http_apisec_metrics_flushed(amcf, f->now_ms, 0);

        /* the events go back to the head of the queue, in order */

        if (f->nev > 0) {
            ngx_http_apisec_rule_events_requeue(amcf->rule_zone, f->ev,
                                                f->nev);
        }

        for (i = 0; i < f->n; i++) {
            (void) ngx_http_apisec_stamp(amcf->stamp_zone,
                                         (u_char *) st[i].access_key,
                                         st[i].len, st[i].used, NULL);

            if (st[i].lock) {
                ngx_http_apisec_lock_done(amcf->stamp_zone,
                                          (u_char *) st[i].access_key,
                                          st[i].len, 0);
            }
        }

        ngx_http_apisec_stamps_written(amcf->stamp_zone, st, f->n,
                                       f->now_ms);
        ngx_destroy_pool(f->pool);
        return;
    }

    /* the uses are the store's: the zone need not show them any more */

    ngx_http_apisec_stamps_written(amcf->stamp_zone, st, f->n, f->now_ms);

    amcf->flushes++;

    ngx_http_apisec_hooks_saved(amcf);
    ngx_http_apisec_metrics_flushed(amcf, f->now_ms, 1);

    if (f->pruned) {
        ngx_log_error(NGX_LOG_INFO, f->log, 0,
                      "apisec: %uz events older than %T s, delivered "
                      "to every webhook, pruned", f->pruned,
                      amcf->event_retention);
    }

    for (i = 0; i < f->nw; i++) {
        ngx_http_apisec_window_saved(amcf->rule_zone, &dw[i].key,
                                     dw[i].w.gen);
    }

    if (f->nw > 0) {
        ngx_log_error(NGX_LOG_INFO, f->log, 0,
                      "apisec: flushed %i windows of amount rules", f->nw);
    }

    /* the locks are in the store: from now on it decides */

    for (i = 0; i < f->n; i++) {
        if (st[i].lock) {
            ngx_http_apisec_lock_done(amcf->stamp_zone,
                                      (u_char *) st[i].access_key,
                                      st[i].len, 1);
        }
    }

    /* the worker's write transactions so far */

    if (apisec_store_stat(f->store, &stat) != APISEC_OK) {
        stat.write_txns = 0;
    }

    ngx_log_error(NGX_LOG_INFO, f->log, 0,
                  "apisec: flushed %i stamps, %ui keys expired, in one "
                  "write transaction (this worker: %uL write "
                  "transactions, %ui flushes; %s)",
                  f->n, f->expired, stat.write_txns, amcf->flushes,
                  f->threaded ? "in a thread" : "in the event loop");

    if (f->nev) {
        ngx_log_error(NGX_LOG_INFO, f->log, 0,
                      "apisec: flushed %i rule events", f->nev);
    }

    ngx_destroy_pool(f->pool);
}


/* the windows that the store does not have yet */

static int
ngx_http_apisec_flush_windows(apisec_wtxn_t *txn, ngx_http_apisec_dirty_t *d,
    ngx_int_t n)
{
    int        rc, written;
    ngx_int_t  i;

    rc = APISEC_OK;

    for (i = 0; rc == APISEC_OK && i < n; i++) {
        rc = apisec_usage_put(txn, (const char *) d[i].key.data, d[i].key.len,
                              &d[i].w, &written);
    }

    return rc;
}


/* a 2fa.failed event per failed code (at most 32 a key a tick) */

static int
ngx_http_apisec_flush_failures(apisec_wtxn_t *txn, ngx_http_apisec_stamp_t *st,
    int64_t now)
{
    int           rc;
    char          extra[64];
    ngx_uint_t    i, n;
    apisec_key_t  k;

    rc = apisec_key_get_w(txn, st->access_key, st->len, &k);
    if (rc != APISEC_OK) {
        return rc;
    }

    n = ngx_min(st->totp_failed, 32);

    ngx_sprintf((u_char *) extra, "\"failures\":%ui%Z", st->totp_failed);

    for (i = 0; i < n; i++) {
        rc = apisec_event_append(txn, "2fa.failed", now, k.access_key,
                                 k.account, extra, NULL);
        if (rc != APISEC_OK) {
            return rc;
        }
    }

    return APISEC_OK;
}


/*
 * A key locked by a rule: status locked until st->locked_until (0: until
 * unlocked), unless it is disabled or expired meanwhile or already locked
 * for longer; and a key.locked event.
 */

static int
ngx_http_apisec_flush_lock(ngx_log_t *log, apisec_wtxn_t *txn,
    ngx_http_apisec_stamp_t *st, int64_t now)
{
    int           rc;
    char          extra[160], until[APISEC_TIME_LEN + 1];
    apisec_key_t  k;

    rc = apisec_key_get_w(txn, st->access_key, st->len, &k);
    if (rc != APISEC_OK) {
        return rc;
    }

    if (k.status != APISEC_STATUS_ACTIVE
        && k.status != APISEC_STATUS_LOCKED)
    {
        return APISEC_OK;
    }

    if (k.status == APISEC_STATUS_LOCKED
        && (k.locked_until == 0
            || (st->locked_until != 0 && k.locked_until >= st->locked_until)))
    {
        return APISEC_OK;
    }

    k.status = APISEC_STATUS_LOCKED;
    k.locked_until = st->locked_until;

    rc = apisec_key_put(txn, &k, 1);
    if (rc != APISEC_OK) {
        return rc;
    }

    if (st->locked_until) {
        apisec_format_time(st->locked_until, until);
        ngx_sprintf((u_char *) extra, "\"rule\":\"%s\",\"rule_type\":\"%s\","
                    "\"locked_until\":\"%s\"%Z", st->lock_rule,
                    ngx_http_apisec_rule_type_name(st->lock_type), until);

    } else {
        ngx_sprintf((u_char *) extra, "\"rule\":\"%s\",\"rule_type\":\"%s\","
                    "\"locked_until\":null%Z", st->lock_rule,
                    ngx_http_apisec_rule_type_name(st->lock_type));
    }

    ngx_log_error(NGX_LOG_WARN, log, 0,
                  "apisec: key \"%s\" of account \"%s\" locked by rule "
                  "\"%s\"", k.access_key, k.account, st->lock_rule);

    return apisec_event_append(txn, "key.locked", now, k.access_key,
                               k.account, extra, NULL);
}
