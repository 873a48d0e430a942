/*
 * apisec: risk-control rules (apisec_rule), check 7 of the access handler.
 *
 *     apisec_rule rate RATE [burst=N] [by=key|account|ip] [action=A]
 *                 [name=N];
 *     apisec_rule amount max=DECIMAL [per=TIME] [field=NAME]
 *                 [currency=CODE] [currency_field=NAME] [by=key|account]
 *                 [action=A] [name=N];
 *     apisec_rule failures max=N per=TIME [action=A] [name=N];
 *
 * The grammar of all three types is checked at nginx -t.  Actions:
 * monitor (an event, the request passes), block (refused), lock[:TIME]
 * (refused, and the key locked).
 *
 * rate: a leaky bucket in the rules zone (ngx_http_apisec_rate()).
 *
 * amount: the field read from the query, a JSON body's top level or a
 * form body (apisec_fields.h), an exact decimal (apisec_decimal.h).
 * Without per, one request's amount is limited; with per, the sum over a
 * sliding window (apisec_window.h) per key or account and currency.  The
 * window is checked and added to under the zone's lock, so that the sum
 * is exact across workers; the request goes on only once the store has
 * the window (ngx_http_apisec_module.c writes it from a thread), and an
 * add is taken back when a later check refuses the request.
 *
 * failures: failed signatures and TOTP codes of a key, counted in a
 * window in the rules zone when they happen (ngx_http_apisec_rules_failed)
 * and acted on when the count goes over max.
 */


#include "ngx_http_apisec_module.h"


#define NGX_HTTP_APISEC_RULE_ID_MAX     200
#define NGX_HTTP_APISEC_RATE_MAX        1000000

/* the bodies an amount rule reads */
#define NGX_HTTP_APISEC_BODY_JSON       1
#define NGX_HTTP_APISEC_BODY_FORM       2

/* the arguments seen, to refuse one given twice */
#define NGX_HTTP_APISEC_ARG_BURST          0x0001
#define NGX_HTTP_APISEC_ARG_BY             0x0002
#define NGX_HTTP_APISEC_ARG_ACTION         0x0004
#define NGX_HTTP_APISEC_ARG_NAME           0x0008
#define NGX_HTTP_APISEC_ARG_MAX            0x0010
#define NGX_HTTP_APISEC_ARG_PER            0x0020
#define NGX_HTTP_APISEC_ARG_FIELD          0x0040
#define NGX_HTTP_APISEC_ARG_CURRENCY       0x0080
#define NGX_HTTP_APISEC_ARG_CURRENCY_FIELD 0x0100


typedef struct {
    ngx_str_t                   name;
    ngx_uint_t                  type;
} ngx_http_apisec_rule_type_t;


static char *ngx_http_apisec_rule_rate(ngx_conf_t *cf, ngx_str_t *value,
    ngx_http_apisec_rule_t *rule);
static ngx_int_t ngx_http_apisec_rule_arg(ngx_str_t *arg, const char *name,
    ngx_str_t *val);
static ngx_int_t ngx_http_apisec_rule_token(ngx_str_t *s, size_t max);
static char *ngx_http_apisec_rule_dup(ngx_conf_t *cf, ngx_str_t *value,
    ngx_str_t *arg, ngx_uint_t *seen, ngx_uint_t bit);
static apisec_err_t ngx_http_apisec_rule_amount(ngx_http_request_t *r,
    ngx_http_apisec_ctx_t *ctx, ngx_http_apisec_rule_t *rule, int64_t now_ms,
    const char **detail);
static apisec_err_t ngx_http_apisec_amount_read(ngx_http_request_t *r,
    ngx_http_apisec_ctx_t *ctx, ngx_http_apisec_rule_t *rule,
    apisec_dec_t *amount, ngx_str_t *currency, const char **detail);
static ngx_int_t ngx_http_apisec_body_type(ngx_http_request_t *r);
static ngx_int_t ngx_http_apisec_usage_key(ngx_http_request_t *r,
    ngx_http_apisec_ctx_t *ctx, ngx_http_apisec_rule_t *rule,
    ngx_str_t *currency, ngx_str_t *key);
static apisec_err_t ngx_http_apisec_window_get(ngx_http_request_t *r,
    ngx_str_t *key, ngx_http_apisec_rule_t *rule, ngx_uint_t durable,
    int64_t now_ms, ngx_http_apisec_window_res_t *res, const char **detail);
static apisec_err_t ngx_http_apisec_rule_fired(ngx_http_request_t *r,
    ngx_http_apisec_ctx_t *ctx, ngx_http_apisec_rule_t *rule, int64_t now,
    ngx_str_t *what, ngx_str_t *extra, const char **detail);


static const char  *ngx_http_apisec_rule_type_names[] = {
    "", "rate", "amount", "failures"
};


static ngx_http_apisec_rule_type_t  ngx_http_apisec_rule_types[] = {
    { ngx_string("rate"), NGX_HTTP_APISEC_RULE_RATE },
    { ngx_string("amount"), NGX_HTTP_APISEC_RULE_AMOUNT },
    { ngx_string("failures"), NGX_HTTP_APISEC_RULE_FAILURES },
    { ngx_null_string, 0 }
};


/* apisec_rule TYPE ARGS... */

char *
ngx_http_apisec_rule(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_apisec_loc_conf_t *alcf = conf;

    u_char                       *p;
    char                         *rv;
    time_t                        t;
    ngx_int_t                     n;
    ngx_str_t                    *value, val, s;
    ngx_uint_t                    i, seen, bit, pos;
    ngx_array_t                 **lrules;
    ngx_http_apisec_rule_t       *rule, *rules;
    ngx_http_core_loc_conf_t     *clcf;
    ngx_http_apisec_rule_type_t  *tp;
    ngx_http_apisec_main_conf_t  *amcf;

    value = cf->args->elts;

    if (alcf->rules == NULL) {
        alcf->rules = ngx_array_create(cf->pool, 4,
                                       sizeof(ngx_http_apisec_rule_t));
        if (alcf->rules == NULL) {
            return NGX_CONF_ERROR;
        }

        /* every location's rules, for their counters in the metrics zone */

        amcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_apisec_module);

        if (amcf->all_rules == NULL) {
            amcf->all_rules = ngx_array_create(cf->pool, 8,
                                               sizeof(ngx_array_t *));
            if (amcf->all_rules == NULL) {
                return NGX_CONF_ERROR;
            }
        }

        lrules = ngx_array_push(amcf->all_rules);
        if (lrules == NULL) {
            return NGX_CONF_ERROR;
        }

        *lrules = alcf->rules;
    }

    pos = alcf->rules->nelts + 1;

    rule = ngx_array_push(alcf->rules);
    if (rule == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(rule, sizeof(ngx_http_apisec_rule_t));

    for (tp = ngx_http_apisec_rule_types; tp->name.len; tp++) {
        if (tp->name.len == value[1].len
            && ngx_strncmp(tp->name.data, value[1].data, value[1].len) == 0)
        {
            break;
        }
    }

    if (tp->name.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "unknown apisec_rule type \"%V\", "
                           "must be rate, amount or failures", &value[1]);
        return NGX_CONF_ERROR;
    }

    rule->type = tp->type;
    rule->by = NGX_HTTP_APISEC_BY_KEY;
    rule->action = NGX_HTTP_APISEC_ACT_BLOCK;

    i = 2;
    seen = 0;

    if (rule->type == NGX_HTTP_APISEC_RULE_FAILURES) {
        rule->action = NGX_HTTP_APISEC_ACT_LOCK;
        rule->lock_time = 15 * 60;
    }

    if (rule->type == NGX_HTTP_APISEC_RULE_RATE) {

        /* NGX_CONF_2MORE: value[2] is there */

        rv = ngx_http_apisec_rule_rate(cf, &value[2], rule);
        if (rv != NGX_CONF_OK) {
            return rv;
        }

        i = 3;
    }

    for ( /* void */ ; i < cf->args->nelts; i++) {

        if (ngx_http_apisec_rule_arg(&value[i], "name", &val)) {
            bit = NGX_HTTP_APISEC_ARG_NAME;

            if (ngx_http_apisec_rule_token(&val,
                                           NGX_HTTP_APISEC_RULE_NAME_MAX)
                != NGX_OK)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid apisec_rule name \"%V\": "
                                   "1 to 32 of A-Z a-z 0-9 . _ -",
                                   &value[i]);
                return NGX_CONF_ERROR;
            }

            rule->name = val;

        } else if (ngx_http_apisec_rule_arg(&value[i], "action", &val)) {
            bit = NGX_HTTP_APISEC_ARG_ACTION;

            if (val.len == 7 && ngx_strncmp(val.data, "monitor", 7) == 0) {
                rule->action = NGX_HTTP_APISEC_ACT_MONITOR;

            } else if (val.len == 5 && ngx_strncmp(val.data, "block", 5) == 0)
            {
                rule->action = NGX_HTTP_APISEC_ACT_BLOCK;

            } else if (val.len == 4 && ngx_strncmp(val.data, "lock", 4) == 0)
            {
                rule->action = NGX_HTTP_APISEC_ACT_LOCK;
                rule->lock_time = 0;

            } else if (val.len > 5 && ngx_strncmp(val.data, "lock:", 5) == 0)
            {
                s.data = val.data + 5;
                s.len = val.len - 5;

                t = ngx_parse_time(&s, 1);

                if (t == (time_t) NGX_ERROR || t == 0) {
                    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                       "invalid apisec_rule lock time "
                                       "in \"%V\"", &value[i]);
                    return NGX_CONF_ERROR;
                }

                rule->action = NGX_HTTP_APISEC_ACT_LOCK;
                rule->lock_time = t;

            } else {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid apisec_rule action \"%V\", "
                                   "must be monitor, block, lock or "
                                   "lock:TIME", &value[i]);
                return NGX_CONF_ERROR;
            }

        } else if (rule->type != NGX_HTTP_APISEC_RULE_FAILURES
                   && ngx_http_apisec_rule_arg(&value[i], "by", &val))
        {
            bit = NGX_HTTP_APISEC_ARG_BY;

            if (val.len == 3 && ngx_strncmp(val.data, "key", 3) == 0) {
                rule->by = NGX_HTTP_APISEC_BY_KEY;

            } else if (val.len == 7
                       && ngx_strncmp(val.data, "account", 7) == 0)
            {
                rule->by = NGX_HTTP_APISEC_BY_ACCOUNT;

            } else if (rule->type == NGX_HTTP_APISEC_RULE_RATE
                       && val.len == 2 && ngx_strncmp(val.data, "ip", 2) == 0)
            {
                rule->by = NGX_HTTP_APISEC_BY_IP;

            } else {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid apisec_rule %V \"%V\", must be "
                                   "%s", &value[1], &value[i],
                                   rule->type == NGX_HTTP_APISEC_RULE_RATE
                                   ? "by=key, by=account or by=ip"
                                   : "by=key or by=account");
                return NGX_CONF_ERROR;
            }

        } else if (rule->type == NGX_HTTP_APISEC_RULE_RATE
                   && ngx_http_apisec_rule_arg(&value[i], "burst", &val))
        {
            bit = NGX_HTTP_APISEC_ARG_BURST;

            n = ngx_atoi(val.data, val.len);

            if (n == NGX_ERROR || n > NGX_HTTP_APISEC_RATE_MAX) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid apisec_rule burst \"%V\", "
                                   "must be a number from 0 to 1000000",
                                   &value[i]);
                return NGX_CONF_ERROR;
            }

            rule->burst = (uint64_t) n * 1000;

        } else if (rule->type != NGX_HTTP_APISEC_RULE_RATE
                   && ngx_http_apisec_rule_arg(&value[i], "max", &val))
        {
            bit = NGX_HTTP_APISEC_ARG_MAX;

            if (val.len > 0 && val.data[0] == '-') {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid apisec_rule max \"%V\", "
                                   "must not be negative", &value[i]);
                return NGX_CONF_ERROR;
            }

            if (rule->type == NGX_HTTP_APISEC_RULE_AMOUNT) {
                n = (apisec_dec_parse((const char *) val.data, val.len,
                                      &rule->max)
                     == 0) ? NGX_OK : NGX_ERROR;

            } else {
                n = ngx_atoi(val.data, val.len);

                if (n != NGX_ERROR && n > 0 && n <= 1000000) {
                    rule->max = (apisec_dec_t) n;
                    n = NGX_OK;

                } else {
                    n = NGX_ERROR;
                }
            }

            if (n != NGX_OK) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid apisec_rule max \"%V\", must be "
                                   "%s", &value[i],
                                   rule->type == NGX_HTTP_APISEC_RULE_AMOUNT
                                   ? "a decimal with at most 20 integer and "
                                     "18 fractional digits, no sign, no "
                                     "exponent, no leading zeros"
                                   : "a number from 1 to 1000000");
                return NGX_CONF_ERROR;
            }

        } else if (rule->type != NGX_HTTP_APISEC_RULE_RATE
                   && ngx_http_apisec_rule_arg(&value[i], "per", &val))
        {
            bit = NGX_HTTP_APISEC_ARG_PER;

            t = ngx_parse_time(&val, 1);

            if (t == (time_t) NGX_ERROR || t == 0
                || t > APISEC_WINDOW_PER_MAX)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid apisec_rule per \"%V\", "
                                   "must be a TIME from 1s to 400d "
                                   "(e.g. 1h, 1d)", &value[i]);
                return NGX_CONF_ERROR;
            }

            rule->per = t;

        } else if (rule->type == NGX_HTTP_APISEC_RULE_AMOUNT
                   && (ngx_http_apisec_rule_arg(&value[i], "field", &val)
                       || ngx_http_apisec_rule_arg(&value[i], "currency",
                                                   &val)
                       || ngx_http_apisec_rule_arg(&value[i],
                                                   "currency_field", &val)))
        {
            bit = (value[i].data[0] == 'f') ? NGX_HTTP_APISEC_ARG_FIELD
                  : (value[i].data[8] == '=') ? NGX_HTTP_APISEC_ARG_CURRENCY
                  : NGX_HTTP_APISEC_ARG_CURRENCY_FIELD;

            if (ngx_http_apisec_rule_token(&val,
                                           bit == NGX_HTTP_APISEC_ARG_CURRENCY
                                           ? NGX_HTTP_APISEC_CURRENCY_MAX
                                           : NGX_HTTP_APISEC_FIELD_MAX)
                != NGX_OK)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid apisec_rule argument \"%V\": "
                                   "1 to %d of A-Z a-z 0-9 . _ -", &value[i],
                                   bit == NGX_HTTP_APISEC_ARG_CURRENCY
                                   ? NGX_HTTP_APISEC_CURRENCY_MAX
                                   : NGX_HTTP_APISEC_FIELD_MAX);
                return NGX_CONF_ERROR;
            }

            if (bit == NGX_HTTP_APISEC_ARG_FIELD) {
                rule->field = val;

            } else if (bit == NGX_HTTP_APISEC_ARG_CURRENCY_FIELD) {
                rule->currency_field = val;

            } else {
                /* currencies are compared upper-cased */
                rule->currency.data = ngx_pnalloc(cf->pool, val.len);
                if (rule->currency.data == NULL) {
                    return NGX_CONF_ERROR;
                }

                ngx_memcpy(rule->currency.data, val.data, val.len);
                rule->currency.len = val.len;

                for (n = 0; n < (ngx_int_t) val.len; n++) {
                    rule->currency.data[n] =
                                       ngx_toupper(rule->currency.data[n]);
                }
            }

        } else {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "unknown apisec_rule %V argument \"%V\"",
                               &value[1], &value[i]);
            return NGX_CONF_ERROR;
        }

        if (ngx_http_apisec_rule_dup(cf, value, &value[i], &seen, bit)
            != NGX_CONF_OK)
        {
            return NGX_CONF_ERROR;
        }
    }

    if (rule->type == NGX_HTTP_APISEC_RULE_AMOUNT
        && !(seen & NGX_HTTP_APISEC_ARG_MAX))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "apisec_rule amount needs max=DECIMAL");
        return NGX_CONF_ERROR;
    }

    if (rule->type == NGX_HTTP_APISEC_RULE_FAILURES
        && (seen & (NGX_HTTP_APISEC_ARG_MAX|NGX_HTTP_APISEC_ARG_PER))
           != (NGX_HTTP_APISEC_ARG_MAX|NGX_HTTP_APISEC_ARG_PER))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "apisec_rule failures needs max=N and per=TIME");
        return NGX_CONF_ERROR;
    }

    /* the name: given, or the type and the rule's position ("rate1") */

    if (rule->name.len == 0) {
        p = ngx_pnalloc(cf->pool, value[1].len + NGX_INT_T_LEN);
        if (p == NULL) {
            return NGX_CONF_ERROR;
        }

        rule->name.data = p;
        rule->name.len = ngx_sprintf(p, "%V%ui", &value[1], pos) - p;
    }

    rules = alcf->rules->elts;

    for (i = 0; i + 1 < alcf->rules->nelts; i++) {
        if (rules[i].name.len == rule->name.len
            && ngx_strncmp(rules[i].name.data, rule->name.data,
                           rule->name.len)
               == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "duplicate apisec_rule name \"%V\" in this "
                               "location", &rule->name);
            return NGX_CONF_ERROR;
        }
    }

    if (rule->type == NGX_HTTP_APISEC_RULE_AMOUNT) {
        if (rule->field.len == 0) {
            ngx_str_set(&rule->field, "amount");
        }

        if (rule->currency_field.len == 0) {
            ngx_str_set(&rule->currency_field, "currency");
        }
    }

    /* the state's id: the location and the rule's name */

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    s = clcf->name;
    s.len = ngx_min(s.len, NGX_HTTP_APISEC_RULE_ID_MAX);

    p = ngx_pnalloc(cf->pool, rule->name.len + 1 + s.len);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    rule->id.data = p;
    rule->id.len = ngx_sprintf(p, "%V@%V", &rule->name, &s) - p;

    amcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_apisec_module);
    amcf->rule_used = 1;
    rule->metric = NGX_HTTP_APISEC_RULE_SLOTS;

    if (rule->type == NGX_HTTP_APISEC_RULE_AMOUNT && rule->per) {
#if (NGX_THREADS)
        /* the windows are written to the store from a thread pool */
        amcf->amount_durable = 1;
#else
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "apisec_rule amount with per= needs nginx built "
                           "with --with-threads");
        return NGX_CONF_ERROR;
#endif
    }

    if (rule->action == NGX_HTTP_APISEC_ACT_LOCK) {
        amcf->rule_lock = 1;
    }

    return NGX_CONF_OK;
}


/* RATE: Nr/s, Nr/m or Nr/h, kept in milli-requests an hour */

static char *
ngx_http_apisec_rule_rate(ngx_conf_t *cf, ngx_str_t *value,
    ngx_http_apisec_rule_t *rule)
{
    ngx_int_t  n;
    uint64_t   scale;

    if (value->len < 4 || ngx_strncmp(value->data + value->len - 3, "r/", 2))
    {
        goto invalid;
    }

    switch (value->data[value->len - 1]) {
    case 's':
        scale = 3600;
        break;
    case 'm':
        scale = 60;
        break;
    case 'h':
        scale = 1;
        break;
    default:
        goto invalid;
    }

    n = ngx_atoi(value->data, value->len - 3);

    if (n == NGX_ERROR || n == 0 || n > NGX_HTTP_APISEC_RATE_MAX) {
        goto invalid;
    }

    rule->rate = (uint64_t) n * 1000 * scale;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid apisec_rule rate \"%V\", must be Nr/s, "
                       "Nr/m or Nr/h with N from 1 to 1000000", value);
    return NGX_CONF_ERROR;
}


/* arg is "name=VALUE": the value in val */

static ngx_int_t
ngx_http_apisec_rule_arg(ngx_str_t *arg, const char *name, ngx_str_t *val)
{
    size_t  len;

    len = ngx_strlen(name);

    if (arg->len <= len || arg->data[len] != '='
        || ngx_strncmp(arg->data, name, len) != 0)
    {
        return 0;
    }

    val->data = arg->data + len + 1;
    val->len = arg->len - len - 1;

    return 1;
}


/* 1 to max characters of A-Z a-z 0-9 . _ - (JSON and log safe) */

static ngx_int_t
ngx_http_apisec_rule_token(ngx_str_t *s, size_t max)
{
    u_char  c;
    size_t  i;

    if (s->len == 0 || s->len > max) {
        return NGX_ERROR;
    }

    for (i = 0; i < s->len; i++) {
        c = s->data[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static char *
ngx_http_apisec_rule_dup(ngx_conf_t *cf, ngx_str_t *value, ngx_str_t *arg,
    ngx_uint_t *seen, ngx_uint_t bit)
{
    if (*seen & bit) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "duplicate apisec_rule %V argument \"%V\"",
                           &value[1], arg);
        return NGX_CONF_ERROR;
    }

    *seen |= bit;

    return NGX_CONF_OK;
}


/*
 * Check 7: the location's rules, in the order written.  Every monitor
 * that matches records an event and lets the request go on; the first
 * rule that blocks refuses it (the caller then takes back what amount
 * rules added, ngx_http_apisec_rules_undo()).
 */

apisec_err_t
ngx_http_apisec_rules_run(ngx_http_request_t *r, ngx_http_apisec_ctx_t *ctx,
    int64_t now_ms, const char **detail)
{
    ngx_log_t                     rlog;
    u_char                        *p;
    time_t                         retry;
    ngx_int_t                      rc;
    int64_t                       *memo;
    ngx_str_t                     *who, what, key;
    ngx_uint_t                     i, memo_used;
    apisec_err_t                   err;
    ngx_http_apisec_rule_t        *rule;
    ngx_http_apisec_loc_conf_t    *alcf;
    ngx_http_apisec_main_conf_t   *amcf;
    ngx_http_apisec_window_res_t   res;

    alcf = ngx_http_get_module_loc_conf(r, ngx_http_apisec_module);
    amcf = ngx_http_get_module_main_conf(r, ngx_http_apisec_module);

    if (alcf->rules == NULL || amcf->rule_zone == NULL) {
        return APISEC_E_OK;
    }

    rule = alcf->rules->elts;
    memo_used = 0;

    for (i = 0; i < alcf->rules->nelts; i++) {

        if (rule[i].type == NGX_HTTP_APISEC_RULE_AMOUNT) {
            err = ngx_http_apisec_rule_amount(r, ctx, &rule[i], now_ms,
                                              detail);
            if (err != APISEC_E_OK) {
                return err;
            }

            continue;
        }

        if (rule[i].type == NGX_HTTP_APISEC_RULE_FAILURES) {

            /* block: refused while the failures in the window are over */

            if (rule[i].action != NGX_HTTP_APISEC_ACT_BLOCK) {
                continue;
            }

            if (ngx_http_apisec_usage_key(r, ctx, &rule[i], NULL, &key)
                != NGX_OK)
            {
                *detail = "out of memory";
                return APISEC_E_STORE_UNAVAILABLE;
            }

            ngx_memzero(&res, sizeof(ngx_http_apisec_window_res_t));
            res.max = rule[i].max;
            res.peek = 1;

            err = ngx_http_apisec_window_get(r, &key, &rule[i], 1, now_ms,
                                             &res, detail);
            if (err != APISEC_E_OK) {
                return err;
            }

            if (res.sum <= rule[i].max) {
                continue;
            }

            p = ngx_pnalloc(r->pool, 64);
            if (p == NULL) {
                *detail = "out of memory";
                return APISEC_E_STORE_UNAVAILABLE;
            }

            what.data = p;
            what.len = ngx_sprintf(p, "%uL failed attempts in %T s",
                                   (uint64_t) res.sum, (time_t) rule[i].per)
                       - p;

            err = ngx_http_apisec_rule_fired(r, ctx, &rule[i],
                                             now_ms / 1000, &what, NULL,
                                             detail);
            if (err != APISEC_E_OK) {
                return err;
            }

            continue;
        }

        memo = NULL;

        switch (rule[i].by) {
        case NGX_HTTP_APISEC_BY_ACCOUNT:
            who = &ctx->account;
            break;
        case NGX_HTTP_APISEC_BY_IP:
            who = &r->connection->addr_text;
            break;
        default:
            who = &ctx->access_key;

            /* the key's memo: its first rate rule by key, or this one */

            if (ctx->memo != NULL && !memo_used) {
                memo = ctx->memo;
                memo_used = 1;
            }
        }

        retry = 1;

        rc = ngx_http_apisec_rate(amcf->rule_zone, &rule[i], who, now_ms,
                                  &retry, memo);

        if (rc == NGX_OK) {
            continue;
        }

        if (rc == NGX_ERROR) {
            ngx_log_error(NGX_LOG_ALERT, ngx_http_apisec_rlog(r, &rlog), 0,
                          "apisec: the rule zone is full of entries used in "
                          "the last minute; raise apisec_rule_zone");
            *detail = "the rule zone is full";
            return APISEC_E_STORE_UNAVAILABLE;
        }

        ctx->retry_after = retry;

        ngx_str_set(&what, "over the rate");

        err = ngx_http_apisec_rule_fired(r, ctx, &rule[i], now_ms / 1000,
                                         &what, NULL, detail);

        if (err != APISEC_E_OK) {
            return err;
        }
    }

    return APISEC_E_OK;
}


/*
 * An amount rule: the amount (and currency) read, and with per, checked
 * against and added to the window of this key or account and currency.
 */

static apisec_err_t
ngx_http_apisec_rule_amount(ngx_http_request_t *r, ngx_http_apisec_ctx_t *ctx,
    ngx_http_apisec_rule_t *rule, int64_t now_ms, const char **detail)
{
    u_char                        *p;
    size_t                         len;
    ngx_str_t                      currency, key, what, extra;
    apisec_err_t                   err;
    apisec_dec_t                   amount;
    ngx_http_apisec_reserve_t     *rv;
    ngx_http_apisec_main_conf_t   *amcf;
    ngx_http_apisec_window_res_t   res;
    char                           a[APISEC_DEC_LEN], m[APISEC_DEC_LEN];
    char                           sum[APISEC_DEC_LEN];

    amcf = ngx_http_get_module_main_conf(r, ngx_http_apisec_module);

    err = ngx_http_apisec_amount_read(r, ctx, rule, &amount, &currency,
                                      detail);
    if (err != APISEC_E_OK) {
        return err;
    }

    /* currency=CODE: another currency is not this rule's business */

    if (rule->currency.len) {
        if (currency.len
            && (currency.len != rule->currency.len
                || ngx_strncmp(currency.data, rule->currency.data,
                               currency.len)
                   != 0))
        {
            return APISEC_E_OK;
        }

        /* no currency in the request: counted as the rule's own */
        currency = rule->currency;
    }

    ngx_memzero(&res, sizeof(ngx_http_apisec_window_res_t));
    res.amount = amount;
    res.max = rule->max;
    res.force = (rule->action == NGX_HTTP_APISEC_ACT_MONITOR);

    if (rule->per == 0) {
        res.over = (amount > rule->max);

    } else {
        if (ngx_http_apisec_usage_key(r, ctx, rule, &currency, &key)
            != NGX_OK)
        {
            *detail = "out of memory";
            return APISEC_E_STORE_UNAVAILABLE;
        }

        err = ngx_http_apisec_window_get(r, &key, rule, 1, now_ms, &res,
                                         detail);
        if (err != APISEC_E_OK) {
            return err;
        }

        if (res.added) {
            if (ctx->reserves == NULL) {
                ctx->reserves = ngx_array_create(r->pool, 2,
                                          sizeof(ngx_http_apisec_reserve_t));
                if (ctx->reserves == NULL) {
                    ngx_http_apisec_window_undo(amcf->rule_zone, &key,
                                                res.idx, amount);
                    *detail = "out of memory";
                    return APISEC_E_STORE_UNAVAILABLE;
                }
            }

            rv = ngx_array_push(ctx->reserves);
            if (rv == NULL) {
                ngx_http_apisec_window_undo(amcf->rule_zone, &key, res.idx,
                                            amount);
                *detail = "out of memory";
                return APISEC_E_STORE_UNAVAILABLE;
            }

            rv->key = key;
            rv->idx = res.idx;
            rv->amount = amount;
            rv->gen = res.gen;
        }
    }

    if (!res.over) {
        return APISEC_E_OK;
    }

    (void) apisec_dec_format(amount, a);
    (void) apisec_dec_format(rule->max, m);
    (void) apisec_dec_format(res.sum, sum);

    len = sizeof(" (currency ) over max ,  before in  s") + 3 * APISEC_DEC_LEN
          + currency.len + NGX_TIME_T_LEN + 16;

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        *detail = "out of memory";
        return APISEC_E_STORE_UNAVAILABLE;
    }

    what.data = p;

    if (rule->per) {
        p = ngx_sprintf(p, "%s (currency %V) over max %s, %s before in %T s",
                        a, &currency, m, sum, (time_t) rule->per);
    } else {
        p = ngx_sprintf(p, "%s (currency %V) over max %s", a, &currency, m);
    }

    what.len = p - what.data;

    len = sizeof(",\"amount\":\"\",\"currency\":\"\",\"max\":\"\","
                 "\"window_sum\":\"\"")
          + 3 * APISEC_DEC_LEN + currency.len;

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        *detail = "out of memory";
        return APISEC_E_STORE_UNAVAILABLE;
    }

    extra.data = p;
    extra.len = ngx_sprintf(p, ",\"amount\":\"%s\",\"currency\":\"%V\","
                            "\"max\":\"%s\",\"window_sum\":\"%s\"",
                            a, &currency, m, sum)
                - p;

    return ngx_http_apisec_rule_fired(r, ctx, rule, now_ms / 1000, &what,
                                      &extra, detail);
}


/*
 * The amount and the currency of the request: from the query and the
 * body (JSON or form; another body at an amount location is refused), a
 * field given twice (in either, or in both) refused.  The currency is
 * upper-cased; none: empty.
 */

static apisec_err_t
ngx_http_apisec_amount_read(ngx_http_request_t *r, ngx_http_apisec_ctx_t *ctx,
    ngx_http_apisec_rule_t *rule, apisec_dec_t *amount, ngx_str_t *currency,
    const char **detail)
{
    u_char          *p;
    size_t           i;
    ngx_int_t        type;
    apisec_field_t   f[2];
    char             abuf[NGX_HTTP_APISEC_FIELD_MAX + 1];
    char             cbuf[NGX_HTTP_APISEC_CURRENCY_MAX + 1];

    ngx_memzero(f, sizeof(f));

    f[0].name = (const char *) rule->field.data;
    f[0].name_len = rule->field.len;
    f[0].buf = abuf;
    f[0].size = sizeof(abuf);

    f[1].name = (const char *) rule->currency_field.data;
    f[1].name_len = rule->currency_field.len;
    f[1].buf = cbuf;
    f[1].size = sizeof(cbuf);

    if (r->args.len
        && apisec_fields_form(r->args.data, r->args.len, f, 2) != 0)
    {
        *detail = "the query string does not parse";
        return APISEC_E_AMOUNT_INVALID;
    }

    if (ctx->body.len) {
        type = ngx_http_apisec_body_type(r);

        if (type == NGX_HTTP_APISEC_BODY_JSON) {
            if (apisec_fields_json(ctx->body.data, ctx->body.len, f, 2) != 0)
            {
                *detail = "the JSON body does not parse";
                return APISEC_E_AMOUNT_INVALID;
            }

        } else if (type == NGX_HTTP_APISEC_BODY_FORM) {
            if (apisec_fields_form(ctx->body.data, ctx->body.len, f, 2) != 0)
            {
                *detail = "the form body does not parse";
                return APISEC_E_AMOUNT_INVALID;
            }

        } else {
            *detail = "the body is neither JSON nor a form";
            return APISEC_E_AMOUNT_INVALID;
        }
    }

    switch (f[0].state) {

    case APISEC_FIELD_FOUND:
        if (f[0].type == APISEC_FIELD_STRING
            || f[0].type == APISEC_FIELD_NUMBER)
        {
            break;
        }

        *detail = "the amount is not a number or a string";
        return APISEC_E_AMOUNT_INVALID;

    case APISEC_FIELD_DUPLICATE:
        *detail = "the amount is given more than once";
        return APISEC_E_AMOUNT_INVALID;

    case APISEC_FIELD_TOOLONG:
        *detail = "the amount is too long";
        return APISEC_E_AMOUNT_INVALID;

    default:
        *detail = "the request has no amount";
        return APISEC_E_AMOUNT_INVALID;
    }

    if (apisec_dec_parse(abuf, f[0].len, amount) != 0) {
        *detail = "the amount is not a decimal of at most 20 integer and "
                  "18 fractional digits";
        return APISEC_E_AMOUNT_INVALID;
    }

    if (ctx->amount.len == 0) {
        p = ngx_pnalloc(r->pool, f[0].len);
        if (p == NULL) {
            *detail = "out of memory";
            return APISEC_E_STORE_UNAVAILABLE;
        }

        ngx_memcpy(p, abuf, f[0].len);
        ctx->amount.data = p;
        ctx->amount.len = f[0].len;
    }

    currency->len = 0;
    currency->data = NULL;

    switch (f[1].state) {

    case APISEC_FIELD_ABSENT:
        return APISEC_E_OK;

    case APISEC_FIELD_FOUND:
        break;

    case APISEC_FIELD_DUPLICATE:
        *detail = "the currency is given more than once";
        return APISEC_E_AMOUNT_INVALID;

    default:
        *detail = "the currency is too long";
        return APISEC_E_AMOUNT_INVALID;
    }

    if (f[1].len == 0
        || (f[1].type != APISEC_FIELD_STRING
            && f[1].type != APISEC_FIELD_NUMBER))
    {
        *detail = "the currency is not 1 to 16 of A-Z a-z 0-9 . _ -";
        return APISEC_E_AMOUNT_INVALID;
    }

    p = ngx_pnalloc(r->pool, f[1].len);
    if (p == NULL) {
        *detail = "out of memory";
        return APISEC_E_STORE_UNAVAILABLE;
    }

    for (i = 0; i < f[1].len; i++) {
        p[i] = ngx_toupper((u_char) cbuf[i]);

        if (!((p[i] >= 'A' && p[i] <= 'Z') || (p[i] >= '0' && p[i] <= '9')
              || p[i] == '.' || p[i] == '_' || p[i] == '-'))
        {
            *detail = "the currency is not 1 to 16 of A-Z a-z 0-9 . _ -";
            return APISEC_E_AMOUNT_INVALID;
        }
    }

    currency->data = p;
    currency->len = f[1].len;

    return APISEC_E_OK;
}


/* JSON (application/json, application/...+json) or a form, or other */

static ngx_int_t
ngx_http_apisec_body_type(ngx_http_request_t *r)
{
    u_char           *p, *end, *semi;
    ngx_table_elt_t  *ct;

    ct = r->headers_in.content_type;

    if (ct == NULL) {
        return NGX_DECLINED;
    }

    p = ct->value.data;
    end = p + ct->value.len;

    semi = ngx_strlchr(p, end, ';');
    if (semi != NULL) {
        end = semi;
    }

    while (end > p && (end[-1] == ' ' || end[-1] == '\t')) {
        end--;
    }

    if ((size_t) (end - p) == sizeof("application/x-www-form-urlencoded") - 1
        && ngx_strncasecmp(p, (u_char *) "application/x-www-form-urlencoded",
                           end - p)
           == 0)
    {
        return NGX_HTTP_APISEC_BODY_FORM;
    }

    if ((size_t) (end - p) == sizeof("application/json") - 1
        && ngx_strncasecmp(p, (u_char *) "application/json", end - p) == 0)
    {
        return NGX_HTTP_APISEC_BODY_JSON;
    }

    if ((size_t) (end - p) > sizeof("application/+json") - 1
        && ngx_strncasecmp(p, (u_char *) "application/", 12) == 0
        && ngx_strncasecmp(end - 5, (u_char *) "+json", 5) == 0)
    {
        return NGX_HTTP_APISEC_BODY_JSON;
    }

    return NGX_DECLINED;
}


/*
 * The key of a window: "k|ACCESS_KEY|CURRENCY|RULE_ID" (by=key),
 * "a|ACCOUNT|CURRENCY|RULE_ID" (by=account); failures (currency NULL):
 * "f|ACCESS_KEY|RULE_ID", in the zone only.
 */

static ngx_int_t
ngx_http_apisec_usage_key(ngx_http_request_t *r, ngx_http_apisec_ctx_t *ctx,
    ngx_http_apisec_rule_t *rule, ngx_str_t *currency, ngx_str_t *key)
{
    u_char     *p;
    ngx_str_t  *who;

    who = (rule->by == NGX_HTTP_APISEC_BY_ACCOUNT) ? &ctx->account
                                                   : &ctx->access_key;

    p = ngx_pnalloc(r->pool, 2 + who->len + 1 + NGX_HTTP_APISEC_CURRENCY_MAX
                             + 1 + rule->id.len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    key->data = p;

    if (currency == NULL) {
        p = ngx_sprintf(p, "f|%V|%V", who, &rule->id);

    } else {
        p = ngx_sprintf(p, "%c|%V|%V|%V",
                        rule->by == NGX_HTTP_APISEC_BY_ACCOUNT ? 'a' : 'k',
                        who, currency, &rule->id);
    }

    key->len = p - key->data;

    if (key->len > APISEC_USAGE_KEY_MAX) {
        key->len = APISEC_USAGE_KEY_MAX;
    }

    return NGX_OK;
}


/*
 * The window under key, from the zone, or from the store when the zone
 * has none (a durable window), or a new one; res as
 * ngx_http_apisec_window() leaves it.
 */

static apisec_err_t
ngx_http_apisec_window_get(ngx_http_request_t *r, ngx_str_t *key,
    ngx_http_apisec_rule_t *rule, ngx_uint_t durable, int64_t now_ms,
    ngx_http_apisec_window_res_t *res, const char **detail)
{
    ngx_log_t                     rlog;
    int                           rc;
    ngx_int_t                     n;
    apisec_window_t               w, *stored;
    ngx_http_apisec_main_conf_t  *amcf;

    amcf = ngx_http_get_module_main_conf(r, ngx_http_apisec_module);

    n = ngx_http_apisec_window(amcf->rule_zone, key, rule->per, durable,
                               NULL, !durable, now_ms, res);

    if (n == NGX_DECLINED) {

        /* not in the zone: the store's copy, read outside the lock */

        rc = (amcf->store != NULL)
             ? apisec_usage_get(amcf->store, (const char *) key->data,
                                key->len, &w)
             : APISEC_ERR_SYSTEM;

        if (rc == APISEC_OK) {
            stored = &w;

        } else if (rc == APISEC_ERR_NOTFOUND) {
            stored = NULL;

        } else {
            ngx_log_error(NGX_LOG_ALERT, ngx_http_apisec_rlog(r, &rlog), 0,
                          "apisec: rule \"%V\": the window cannot be read "
                          "from store \"%V\": %s", &rule->name,
                          &amcf->store_path,
                          amcf->store ? apisec_store_error(amcf->store)
                                      : "not open");
            *detail = "the rule's window cannot be read";
            return APISEC_E_STORE_UNAVAILABLE;
        }

        n = ngx_http_apisec_window(amcf->rule_zone, key, rule->per, durable,
                                   stored, 1, now_ms, res);
    }

    if (n == NGX_ERROR) {
        ngx_log_error(NGX_LOG_ALERT, ngx_http_apisec_rlog(r, &rlog), 0,
                      "apisec: the rule zone is full of entries used in "
                      "the last minute or not yet written; raise "
                      "apisec_rule_zone");
        *detail = "the rule zone is full";
        return APISEC_E_STORE_UNAVAILABLE;
    }

    return APISEC_E_OK;
}


const char *
ngx_http_apisec_rule_type_name(ngx_uint_t type)
{
    return (type <= NGX_HTTP_APISEC_RULE_FAILURES)
           ? ngx_http_apisec_rule_type_names[type] : "";
}


/* a refused request takes back what its amount rules added */

void
ngx_http_apisec_rules_undo(ngx_http_request_t *r, ngx_http_apisec_ctx_t *ctx)
{
    ngx_uint_t                    i;
    ngx_http_apisec_reserve_t    *rv;
    ngx_http_apisec_main_conf_t  *amcf;

    if (ctx->reserves == NULL) {
        return;
    }

    amcf = ngx_http_get_module_main_conf(r, ngx_http_apisec_module);

    rv = ctx->reserves->elts;

    for (i = 0; i < ctx->reserves->nelts; i++) {
        ngx_http_apisec_window_undo(amcf->rule_zone, &rv[i].key, rv[i].idx,
                                    rv[i].amount);
    }

    ctx->reserves->nelts = 0;
}


/*
 * A failed signature or TOTP code of a known key: counted by every
 * failures rule of the location, which acts when the count goes over max
 * (the request itself is refused anyway).
 */

void
ngx_http_apisec_rules_failed(ngx_http_request_t *r,
    ngx_http_apisec_ctx_t *ctx, int64_t now_ms)
{
    u_char                        *p;
    ngx_str_t                      key, what;
    ngx_uint_t                     i;
    const char                    *detail;
    ngx_http_apisec_rule_t        *rule;
    ngx_http_apisec_loc_conf_t    *alcf;
    ngx_http_apisec_main_conf_t   *amcf;
    ngx_http_apisec_window_res_t   res;

    alcf = ngx_http_get_module_loc_conf(r, ngx_http_apisec_module);
    amcf = ngx_http_get_module_main_conf(r, ngx_http_apisec_module);

    if (!alcf->failure_rules || amcf->rule_zone == NULL
        || ctx->account.len == 0)
    {
        return;
    }

    rule = alcf->rules->elts;

    for (i = 0; i < alcf->rules->nelts; i++) {

        if (rule[i].type != NGX_HTTP_APISEC_RULE_FAILURES) {
            continue;
        }

        if (ngx_http_apisec_usage_key(r, ctx, &rule[i], NULL, &key)
            != NGX_OK)
        {
            return;
        }

        ngx_memzero(&res, sizeof(ngx_http_apisec_window_res_t));
        res.amount = 1;
        res.max = rule[i].max;
        res.force = 1;

        detail = "";

        if (ngx_http_apisec_window_get(r, &key, &rule[i], 1, now_ms, &res,
                                       &detail)
            != APISEC_E_OK)
        {
            return;
        }

        /* once, when the count goes over */

        if (!res.over || res.sum != rule[i].max) {
            continue;
        }

        p = ngx_pnalloc(r->pool, 64);
        if (p == NULL) {
            return;
        }

        what.data = p;
        what.len = ngx_sprintf(p, "%uL failed attempts in %T s",
                               (uint64_t) res.sum + 1, (time_t) rule[i].per)
                   - p;

        (void) ngx_http_apisec_rule_fired(r, ctx, &rule[i], now_ms / 1000,
                                          &what, NULL, &detail);
    }
}


/*
 * A rule matched: its name in $apisec_rule, a log line, an event (or for
 * lock, the key locked), the verdict.  what says why, extra holds more
 * members of the event (",\"a\":\"b\"") or is NULL.
 */

static apisec_err_t
ngx_http_apisec_rule_fired(ngx_http_request_t *r, ngx_http_apisec_ctx_t *ctx,
    ngx_http_apisec_rule_t *rule, int64_t now, ngx_str_t *what,
    ngx_str_t *extra, const char **detail)
{
    u_char                       *p, *start;
    ngx_log_t                     log;
    ngx_str_t                     ev, none;
    const char                   *type;
    ngx_uint_t                    monitor;
    ngx_http_apisec_main_conf_t  *amcf;

    amcf = ngx_http_get_module_main_conf(r, ngx_http_apisec_module);

    type = ngx_http_apisec_rule_type_names[rule->type];
    monitor = (rule->action == NGX_HTTP_APISEC_ACT_MONITOR);

    ngx_http_apisec_metrics_rule(r, rule);

    ngx_str_null(&none);

    if (extra == NULL) {
        extra = &none;
    }

    start = ngx_pnalloc(r->pool, ctx->rule.len + 1 + rule->name.len);
    if (start == NULL) {
        *detail = "out of memory";
        return APISEC_E_STORE_UNAVAILABLE;
    }

    p = start;

    if (ctx->rule.len) {
        p = ngx_cpymem(p, ctx->rule.data, ctx->rule.len);
        *p++ = ',';
    }

    p = ngx_cpymem(p, rule->name.data, rule->name.len);

    ctx->rule.data = start;
    ctx->rule.len = p - start;

    (void) ngx_http_apisec_rlog(r, &log);

    /*
     * lock: the key is refused at once by every worker (check 2), and
     * locked in the store by the next flush, with a key.locked event
     */

    if (rule->action == NGX_HTTP_APISEC_ACT_LOCK) {

        if (ngx_http_apisec_lock(amcf->stamp_zone, ctx->access_key.data,
                                 ctx->access_key.len,
                                 rule->lock_time ? now + rule->lock_time : 0,
                                 &rule->name, rule->type)
            != NGX_OK)
        {
            ngx_log_error(NGX_LOG_ALERT, &log, 0,
                          "apisec: key \"%V\": rule \"%V\" (%s) cannot "
                          "lock it: the stamp zone is full; raise "
                          "apisec_stamp_zone (%V)", &ctx->access_key,
                          &rule->name, type, what);

        } else if (rule->lock_time) {
            ngx_log_error(NGX_LOG_WARN, &log, 0,
                          "apisec: key \"%V\": rule \"%V\" (%s) locks it "
                          "for %T s: %V", &ctx->access_key, &rule->name,
                          type, rule->lock_time, what);

        } else {
            ngx_log_error(NGX_LOG_WARN, &log, 0,
                          "apisec: key \"%V\": rule \"%V\" (%s) locks it "
                          "until unlocked: %V", &ctx->access_key,
                          &rule->name, type, what);
        }

        goto refuse;
    }

    /* the event, written to the store by the next flush */

    ev.data = ngx_pnalloc(r->pool, sizeof("\"rule\":\"\",\"rule_type\":\"\"")
                                   + rule->name.len + ngx_strlen(type)
                                   + extra->len);
    if (ev.data == NULL) {
        *detail = "out of memory";
        return APISEC_E_STORE_UNAVAILABLE;
    }

    ev.len = ngx_sprintf(ev.data, "\"rule\":\"%V\",\"rule_type\":\"%s\"%V",
                         &rule->name, type, extra)
             - ev.data;

    /* when too many wait, it is counted, and reported by the flush */

    (void) ngx_http_apisec_rule_event(amcf->rule_zone,
                                      monitor ? "rule.monitor" : "rule.block",
                                      &ctx->access_key, &ctx->account, &ev);

    if (monitor) {
        ngx_log_error(NGX_LOG_WARN, &log, 0,
                      "apisec: key \"%V\": rule \"%V\" (%s) matched, "
                      "monitor only: %V", &ctx->access_key, &rule->name,
                      type, what);

        return APISEC_E_OK;
    }

refuse:

    p = ngx_pnalloc(r->pool, sizeof("rule \"\" (): ") + rule->name.len
                             + ngx_strlen(type) + what->len + 1);
    if (p == NULL) {
        *detail = "out of memory";
        return APISEC_E_STORE_UNAVAILABLE;
    }

    ngx_sprintf(p, "rule \"%V\" (%s): %V%Z", &rule->name, type, what);

    *detail = (const char *) p;

    return (rule->type == NGX_HTTP_APISEC_RULE_RATE)
           ? APISEC_E_RATE_LIMITED : APISEC_E_RULE_BLOCKED;
}
