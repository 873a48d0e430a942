/*
 * apisec: nginx glue shared by the module's files.
 */

#ifndef _NGX_HTTP_APISEC_MODULE_H_INCLUDED_
#define _NGX_HTTP_APISEC_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "apisec_parse.h"
#include "apisec_crypto.h"
#include "apisec_store.h"
#include "apisec_scheme.h"
#include "apisec_decimal.h"
#include "apisec_window.h"
#include "apisec_fields.h"


#define NGX_HTTP_APISEC_KEY_HEADERS  8        /* key headers of schemes */
#define NGX_HTTP_APISEC_REOPEN_MSEC  1000     /* store reopen backoff */
#define NGX_HTTP_APISEC_REPLAY_SIZE  (16 * 1024 * 1024)
#define NGX_HTTP_APISEC_STAMP_SIZE   (4 * 1024 * 1024)
#define NGX_HTTP_APISEC_IDLE         (90 * 86400)
#define NGX_HTTP_APISEC_FLUSH_MSEC   60000
#define NGX_HTTP_APISEC_RULE_SIZE    (10 * 1024 * 1024)
#define NGX_HTTP_APISEC_RULE_NAME_MAX  32
#define NGX_HTTP_APISEC_FIELD_MAX      64     /* field names in rules */
#define NGX_HTTP_APISEC_CURRENCY_MAX   16
#define NGX_HTTP_APISEC_ADDRESS_MAX    256
#define NGX_HTTP_APISEC_HOOKS_MAX      16     /* apisec_webhook subscribers */
#define NGX_HTTP_APISEC_RULE_SLOTS     256    /* rules with a hit counter */
#define NGX_HTTP_APISEC_RULE_ID_LEN    240    /* name@location, and a 0 */
#define NGX_HTTP_APISEC_RETENTION      (30 * 86400)


#define NGX_HTTP_APISEC_RULE_RATE      1
#define NGX_HTTP_APISEC_RULE_AMOUNT    2
#define NGX_HTTP_APISEC_RULE_FAILURES  3

#define NGX_HTTP_APISEC_BY_KEY         0
#define NGX_HTTP_APISEC_BY_ACCOUNT     1
#define NGX_HTTP_APISEC_BY_IP          2

#define NGX_HTTP_APISEC_ACT_MONITOR    1
#define NGX_HTTP_APISEC_ACT_BLOCK      2
#define NGX_HTTP_APISEC_ACT_LOCK       3


/* an apisec_rule of a location */
typedef struct {
    ngx_uint_t                 type;
    ngx_str_t                  name;
    ngx_str_t                  id;             /* location + name: state */
    ngx_uint_t                 by;
    ngx_uint_t                 action;
    time_t                     lock_time;      /* lock:TIME, 0: until unlock */
    uint64_t                   rate;           /* milli-requests an hour */
    uint64_t                   burst;          /* milli-requests */
    apisec_dec_t               max;            /* amount; failures: count */
    int64_t                    per;            /* s, 0: one request */
    ngx_str_t                  field;          /* amount: "amount" */
    ngx_str_t                  currency;       /* amount: only this one */
    ngx_str_t                  currency_field; /* amount: "currency" */
    ngx_uint_t                 metric;         /* its hit counter's slot */
} ngx_http_apisec_rule_t;


typedef struct ngx_http_apisec_delivery_s  ngx_http_apisec_delivery_t;


/* an apisec_webhook subscriber */
typedef struct {
    ngx_str_t                  url;
    ngx_str_t                  name;           /* name=, or empty */
    ngx_str_t                  label;          /* in metrics and logs */
    ngx_str_t                  cursor;         /* its cursor's name */
    ngx_url_t                  u;
    ngx_str_t                  secret;         /* secret=FILE's bytes */
    ngx_array_t               *events;         /* ngx_str_t; NULL: all */
    ngx_msec_t                 backoff_max;
    ngx_uint_t                 ssl_on;
#if (NGX_HTTP_SSL)
    ngx_ssl_t                 *ssl;
#endif
    u_char                    *host_z;         /* for SNI */
    ngx_uint_t                 host_ip;        /* an address: no SNI */
    struct ngx_http_apisec_hook_sh_s  *slot;   /* in the metrics zone */
    uint64_t                   saving;         /* the cursor being written */
    uint64_t                   start;          /* a new one's first cursor */
    ngx_http_apisec_delivery_t  *delivery;     /* this worker's */
} ngx_http_apisec_webhook_t;


/* what ngx_http_apisec_window() is asked, and what it found */
typedef struct {
    apisec_dec_t               amount;         /* in: to add */
    apisec_dec_t               max;            /* in */
    ngx_uint_t                 force;          /* in: add even when over */
    ngx_uint_t                 peek;           /* in: add nothing */
    apisec_dec_t               sum;            /* out: before this one */
    uint64_t                   count;          /* out: before this one */
    ngx_uint_t                 over;           /* out: sum + amount > max */
    ngx_uint_t                 added;          /* out */
    int64_t                    idx;            /* out: the bucket, to undo */
    uint64_t                   gen;            /* out: after the add */
} ngx_http_apisec_window_res_t;


/* an amount added to a durable window by this request */
typedef struct {
    ngx_str_t                  key;            /* the usage key */
    int64_t                    idx;
    apisec_dec_t               amount;
    uint64_t                   gen;
} ngx_http_apisec_reserve_t;


/* a window to write, taken out of shared memory */
typedef struct {
    ngx_str_t                  key;
    apisec_window_t            w;
} ngx_http_apisec_dirty_t;


/* a rule event taken out of shared memory by the flush */
typedef struct {
    char                      *type;           /* "rule.monitor", ... */
    char                      *access_key;
    char                      *account;
    char                      *extra;          /* JSON members */
} ngx_http_apisec_rule_event_t;


/* a stamp taken out of shared memory by the flush */
typedef struct {
    char                      *access_key;
    size_t                     len;
    int64_t                    used;           /* Unix s, 0: not used */
    ngx_uint_t                 expire;         /* found idle */
    int64_t                    totp_step;      /* last accepted, or 0 */
    ngx_uint_t                 totp_failed;    /* failed codes */
    ngx_uint_t                 lock;           /* locked by a rule */
    int64_t                    locked_until;   /* Unix s, 0: until unlock */
    char                      *lock_rule;      /* the rule's name */
    ngx_uint_t                 lock_type;      /* and its type */
} ngx_http_apisec_stamp_t;


typedef struct {
    ngx_str_t                  store_path;
    size_t                     map_size;
    ngx_str_t                  master_key_file;
    u_char                     master_key[APISEC_MASTER_KEY_LEN];
    ngx_flag_t                 master_key_loaded;
    size_t                     replay_size;
    ngx_flag_t                 replay_used;    /* some location has it on */
    ngx_shm_zone_t            *replay_zone;

    time_t                     idle;           /* 0: off */
    ngx_flag_t                 idle_unbound_only;
    ngx_msec_t                 flush_interval;
    size_t                     stamp_size;
    ngx_shm_zone_t            *stamp_zone;
    size_t                     rule_size;
    ngx_flag_t                 rule_used;      /* some location has a rule */
    ngx_flag_t                 rule_lock;      /* some rule locks keys */
    ngx_flag_t                 amount_durable; /* some amount rule has per */
    ngx_shm_zone_t            *rule_zone;
    ngx_str_t                  thread_pool_name;
#if (NGX_THREADS)
    ngx_thread_pool_t         *thread_pool;
#endif
    ngx_event_t                flush_event;    /* per worker */
    ngx_event_t                release;        /* posted: the store's
                                                  snapshot goes at the end
                                                  of the loop's turn */
    void                      *flush_out;      /* the flush in a thread */
    ngx_uint_t                 flushes;        /* write txns of the timer */
    ngx_uint_t                 batches;        /* window writes (threads) */
    ngx_uint_t                 batched;        /* requests they carried */

    ngx_array_t               *webhooks;       /* ngx_http_apisec_webhook_t */
    ngx_array_t               *all_rules;      /* each location's rules */
    ngx_shm_zone_t            *metrics_zone;
    time_t                     event_retention;
    ngx_event_t                hooks_tick;     /* per worker */
    ngx_event_t                keys_tick;      /* per worker */
    ngx_uint_t                 hooks_holder;   /* holds the lease */
    char                       log_id[APISEC_LOG_ID_LEN + 1];

    /*
     * the access key headers of the schemes in use (apisec_key_prefetch
     * at the post-read phase), lowercase, with nginx's hash of each
     */
    ngx_str_t                  key_header[NGX_HTTP_APISEC_KEY_HEADERS];
    ngx_uint_t                 key_header_hash[NGX_HTTP_APISEC_KEY_HEADERS];
    ngx_uint_t                 key_headers;

    /* per worker, opened in init_process */
    apisec_store_t            *store;
    apisec_hmac_t             *hmac;
    ngx_msec_t                 reopen_at;
} ngx_http_apisec_main_conf_t;


typedef struct {
    ngx_flag_t                 enable;
    const apisec_scheme_t     *scheme;
    ngx_msec_t                 time_window;
    ngx_uint_t                 permission;
    size_t                     max_body_size;
    ngx_flag_t                 replay_guard;
    ngx_flag_t                 twofa;
    ngx_str_t                  twofa_header;
    ngx_array_t               *rules;          /* ngx_http_apisec_rule_t */
    ngx_flag_t                 amount_rules;   /* some rule is an amount */
    ngx_flag_t                 failure_rules;  /* some rule is failures */
    ngx_flag_t                 withdrawals;    /* withdraw or 2fa: events */
} ngx_http_apisec_loc_conf_t;


/*
 * The words of a worker's memo beside a key in its key cache
 * (apisec_key_memo): the second it last stamped the key's use; the node
 * of the key's bucket of its first rate rule by key, with the rule and
 * the rules zone's count of freed nodes when it was found; the key's
 * stamp node, with the stamp zone's count
 */
#define NGX_HTTP_APISEC_MEMO_STAMP         0
#define NGX_HTTP_APISEC_MEMO_NODE          1
#define NGX_HTTP_APISEC_MEMO_FREED         2
#define NGX_HTTP_APISEC_MEMO_RULE          3
#define NGX_HTTP_APISEC_MEMO_STAMP_NODE    4
#define NGX_HTTP_APISEC_MEMO_STAMP_FREED   5


typedef struct {
    apisec_err_t               err;
    ngx_str_t                  access_key;     /* as sent, once validated */
    ngx_str_t                  account;
    ngx_str_t                  body;           /* the body, when read */
    ngx_str_t                  rule;           /* the rules that fired */
    ngx_str_t                  amount;         /* as read, validated */
    time_t                     retry_after;    /* s, for rate-limited */
    ngx_array_t               *reserves;       /* ngx_http_apisec_reserve_t */
    int64_t                   *memo;           /* apisec_key_memo, during
                                                  the checks only */
    ngx_http_request_t        *request;
    ngx_queue_t                queue;          /* waiting for a write */
    unsigned                   reading_body:1;
    unsigned                   body_done:1;
    unsigned                   body_signed:1;  /* the scheme signs it */
    unsigned                   done:1;
    unsigned                   writing:2;      /* NGX_HTTP_APISEC_WRITE_* */
} ngx_http_apisec_ctx_t;


/* ctx->writing: the durable windows that this request changed */
#define NGX_HTTP_APISEC_WRITE_NONE     0
#define NGX_HTTP_APISEC_WRITE_WAIT     1       /* in the store soon */
#define NGX_HTTP_APISEC_WRITE_DONE     2       /* in the store */
#define NGX_HTTP_APISEC_WRITE_FAILED   3


ngx_shm_zone_t *ngx_http_apisec_replay_zone(ngx_conf_t *cf, size_t size);
ngx_int_t ngx_http_apisec_replay_record(ngx_shm_zone_t *zone,
    const u_char *mac, int64_t expires, int64_t now);
ngx_shm_zone_t *ngx_http_apisec_stamp_zone(ngx_conf_t *cf, size_t size);
ngx_int_t ngx_http_apisec_stamp(ngx_shm_zone_t *zone, const u_char *ak,
    size_t len, int64_t t, int64_t *memo);
int64_t ngx_http_apisec_stamp_get(ngx_shm_zone_t *zone, const u_char *ak,
    size_t len);
ngx_int_t ngx_http_apisec_totp_use(ngx_shm_zone_t *zone, const u_char *ak,
    size_t len, int64_t step, int64_t last);
ngx_int_t ngx_http_apisec_totp_failed(ngx_shm_zone_t *zone,
    const u_char *ak, size_t len);
ngx_int_t ngx_http_apisec_lock(ngx_shm_zone_t *zone, const u_char *ak,
    size_t len, int64_t locked_until, ngx_str_t *rule, ngx_uint_t type);
ngx_int_t ngx_http_apisec_lock_check(ngx_shm_zone_t *zone, const u_char *ak,
    size_t len, int64_t now);
void ngx_http_apisec_lock_done(ngx_shm_zone_t *zone, const u_char *ak,
    size_t len, ngx_uint_t stored);
ngx_int_t ngx_http_apisec_stamps_take(ngx_shm_zone_t *zone, ngx_pool_t *pool,
    int64_t now_ms, int64_t min_ms, ngx_http_apisec_stamp_t **out,
    ngx_uint_t *dropped);
void ngx_http_apisec_stamps_written(ngx_shm_zone_t *zone,
    ngx_http_apisec_stamp_t *st, ngx_int_t n, int64_t now_ms);

ngx_shm_zone_t *ngx_http_apisec_rule_zone(ngx_conf_t *cf, size_t size);
ngx_int_t ngx_http_apisec_rate(ngx_shm_zone_t *zone,
    ngx_http_apisec_rule_t *rule, ngx_str_t *who, int64_t now_ms,
    time_t *retry, int64_t *memo);
void ngx_http_apisec_rate_prefetch(const int64_t *memo);
void ngx_http_apisec_stamp_prefetch(const int64_t *memo, int64_t sec);
ngx_int_t ngx_http_apisec_window(ngx_shm_zone_t *zone, ngx_str_t *key,
    int64_t per, ngx_uint_t durable, apisec_window_t *stored,
    ngx_uint_t have_stored, int64_t now_ms,
    ngx_http_apisec_window_res_t *res);
void ngx_http_apisec_window_undo(ngx_shm_zone_t *zone, ngx_str_t *key,
    int64_t idx, apisec_dec_t amount);
ngx_int_t ngx_http_apisec_window_copy(ngx_shm_zone_t *zone, ngx_str_t *key,
    apisec_window_t *w);
void ngx_http_apisec_window_saved(ngx_shm_zone_t *zone, ngx_str_t *key,
    uint64_t gen);
ngx_int_t ngx_http_apisec_windows_dirty(ngx_shm_zone_t *zone,
    ngx_pool_t *pool, ngx_http_apisec_dirty_t **out);
ngx_int_t ngx_http_apisec_event(ngx_shm_zone_t *zone, const char *type,
    ngx_str_t *ak, ngx_str_t *account, ngx_str_t *extra, ngx_uint_t must);
ngx_int_t ngx_http_apisec_rule_event(ngx_shm_zone_t *zone,
    const char *type, ngx_str_t *ak, ngx_str_t *account, ngx_str_t *extra);
ngx_int_t ngx_http_apisec_rule_events_take(ngx_shm_zone_t *zone,
    ngx_pool_t *pool, int64_t now_ms, int64_t min_ms,
    ngx_http_apisec_rule_event_t **out, ngx_uint_t *dropped);

u_char *ngx_http_apisec_log_handler(ngx_log_t *log, u_char *buf,
    size_t len);
ngx_log_t *ngx_http_apisec_rlog(ngx_http_request_t *r, ngx_log_t *log);
char *ngx_http_apisec_rule(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
apisec_err_t ngx_http_apisec_rules_run(ngx_http_request_t *r,
    ngx_http_apisec_ctx_t *ctx, int64_t now_ms, const char **detail);
const char *ngx_http_apisec_rule_type_name(ngx_uint_t type);
void ngx_http_apisec_rules_undo(ngx_http_request_t *r,
    ngx_http_apisec_ctx_t *ctx);
void ngx_http_apisec_rules_failed(ngx_http_request_t *r,
    ngx_http_apisec_ctx_t *ctx, int64_t now_ms);


char *ngx_http_apisec_webhook(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_apisec_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
ngx_int_t ngx_http_apisec_metrics_zone(ngx_conf_t *cf,
    ngx_http_apisec_main_conf_t *amcf);
ngx_int_t ngx_http_apisec_log_phase(ngx_http_request_t *r);
void ngx_http_apisec_metrics_rule(ngx_http_request_t *r,
    ngx_http_apisec_rule_t *rule);
void ngx_http_apisec_metrics_flushed(ngx_http_apisec_main_conf_t *amcf,
    int64_t now_ms, ngx_uint_t ok);
uint64_t ngx_http_apisec_hooks_take(ngx_http_apisec_main_conf_t *amcf);
int ngx_http_apisec_hooks_write(ngx_http_apisec_main_conf_t *amcf,
    apisec_wtxn_t *txn);
ngx_uint_t ngx_http_apisec_hooks_dirty(ngx_http_apisec_main_conf_t *amcf);
void ngx_http_apisec_hooks_saved(ngx_http_apisec_main_conf_t *amcf);
ngx_int_t ngx_http_apisec_hooks_init(ngx_cycle_t *cycle,
    ngx_http_apisec_main_conf_t *amcf);
void ngx_http_apisec_hooks_exit(ngx_http_apisec_main_conf_t *amcf);
ngx_int_t ngx_http_apisec_hooks_conf(ngx_conf_t *cf,
    ngx_http_apisec_main_conf_t *amcf, apisec_store_t *st);
u_char *ngx_http_apisec_prom_label(u_char *p, u_char *s, size_t len);
void ngx_http_apisec_rule_events_requeue(ngx_shm_zone_t *zone,
    ngx_http_apisec_rule_event_t *ev, ngx_int_t n);


extern ngx_module_t  ngx_http_apisec_module;


#endif /* _NGX_HTTP_APISEC_MODULE_H_INCLUDED_ */
