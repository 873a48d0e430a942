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
 * The grammar of all three types is checked at nginx -t.  This version
 * enforces rate rules, with the actions monitor, block and lock[:TIME]; a
 * configuration with an amount or failures rule is refused after its
 * grammar was checked, since a rule that is silently not enforced would
 * be a hole.
 */


#include "ngx_http_apisec_module.h"


#define NGX_HTTP_APISEC_RULE_ID_MAX     200
#define NGX_HTTP_APISEC_RATE_MAX        1000000
#define NGX_HTTP_APISEC_DECIMAL_FRAC    18

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
static ngx_int_t ngx_http_apisec_rule_decimal(ngx_str_t *s);
static char *ngx_http_apisec_rule_dup(ngx_conf_t *cf, ngx_str_t *value,
    ngx_str_t *arg, ngx_uint_t *seen, ngx_uint_t bit);
static apisec_err_t ngx_http_apisec_rule_fired(ngx_http_request_t *r,
    ngx_http_apisec_ctx_t *ctx, ngx_http_apisec_rule_t *rule, int64_t now,
    const char **detail);


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
                n = ngx_http_apisec_rule_decimal(&val);

            } else {
                n = ngx_atoi(val.data, val.len);
                n = (n == NGX_ERROR || n == 0) ? NGX_ERROR : NGX_OK;
            }

            if (n != NGX_OK) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid apisec_rule max \"%V\", must be "
                                   "%s", &value[i],
                                   rule->type == NGX_HTTP_APISEC_RULE_AMOUNT
                                   ? "a decimal with at most 18 fractional "
                                     "digits"
                                   : "a number above 0");
                return NGX_CONF_ERROR;
            }

        } else if (rule->type != NGX_HTTP_APISEC_RULE_RATE
                   && ngx_http_apisec_rule_arg(&value[i], "per", &val))
        {
            bit = NGX_HTTP_APISEC_ARG_PER;

            t = ngx_parse_time(&val, 1);

            if (t == (time_t) NGX_ERROR || t == 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid apisec_rule per \"%V\", "
                                   "must be a TIME above 0 (e.g. 1h, 1d)",
                                   &value[i]);
                return NGX_CONF_ERROR;
            }

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

            if (ngx_http_apisec_rule_token(&val, 64) != NGX_OK) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid apisec_rule argument \"%V\": "
                                   "1 to 64 of A-Z a-z 0-9 . _ -",
                                   &value[i]);
                return NGX_CONF_ERROR;
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

    /* not enforced by this version: refused, never silently ignored */

    if (rule->type != NGX_HTTP_APISEC_RULE_RATE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "apisec_rule %V is not available in this version",
                           &value[1]);
        return NGX_CONF_ERROR;
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


/* DIGITS[.DIGITS], at most 18 fractional digits, no sign */

static ngx_int_t
ngx_http_apisec_rule_decimal(ngx_str_t *s)
{
    size_t  i, int_digits, frac_digits;

    int_digits = 0;
    frac_digits = 0;

    for (i = 0; i < s->len && s->data[i] >= '0' && s->data[i] <= '9'; i++) {
        int_digits++;
    }

    if (i < s->len && s->data[i] == '.') {
        for (i++; i < s->len && s->data[i] >= '0' && s->data[i] <= '9'; i++)
        {
            frac_digits++;
        }

        if (frac_digits == 0) {
            return NGX_ERROR;
        }
    }

    if (i != s->len || int_digits == 0 || int_digits > 30
        || frac_digits > NGX_HTTP_APISEC_DECIMAL_FRAC)
    {
        return NGX_ERROR;
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
 * rule that blocks refuses it.
 */

apisec_err_t
ngx_http_apisec_rules_run(ngx_http_request_t *r, ngx_http_apisec_ctx_t *ctx,
    int64_t now_ms, const char **detail)
{
    time_t                        retry;
    ngx_int_t                     rc;
    ngx_str_t                    *who;
    ngx_uint_t                    i;
    apisec_err_t                  err;
    ngx_http_apisec_rule_t       *rule;
    ngx_http_apisec_loc_conf_t   *alcf;
    ngx_http_apisec_main_conf_t  *amcf;

    alcf = ngx_http_get_module_loc_conf(r, ngx_http_apisec_module);
    amcf = ngx_http_get_module_main_conf(r, ngx_http_apisec_module);

    if (alcf->rules == NULL || amcf->rule_zone == NULL) {
        return APISEC_E_OK;
    }

    rule = alcf->rules->elts;

    for (i = 0; i < alcf->rules->nelts; i++) {

        switch (rule[i].by) {
        case NGX_HTTP_APISEC_BY_ACCOUNT:
            who = &ctx->account;
            break;
        case NGX_HTTP_APISEC_BY_IP:
            who = &r->connection->addr_text;
            break;
        default:
            who = &ctx->access_key;
        }

        retry = 1;

        rc = ngx_http_apisec_rate(amcf->rule_zone, &rule[i], who, now_ms,
                                  &retry);

        if (rc == NGX_OK) {
            continue;
        }

        if (rc == NGX_ERROR) {
            ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                          "apisec: the rule zone is full of entries used in "
                          "the last minute; raise apisec_rule_zone");
            *detail = "the rule zone is full";
            return APISEC_E_STORE_UNAVAILABLE;
        }

        ctx->retry_after = retry;

        err = ngx_http_apisec_rule_fired(r, ctx, &rule[i], now_ms / 1000,
                                         detail);

        if (err != APISEC_E_OK) {
            return err;
        }
    }

    return APISEC_E_OK;
}


/* a rule matched: its name in $apisec_rule, an event, the verdict */

static apisec_err_t
ngx_http_apisec_rule_fired(ngx_http_request_t *r, ngx_http_apisec_ctx_t *ctx,
    ngx_http_apisec_rule_t *rule, int64_t now, const char **detail)
{
    u_char                       *p, *start;
    ngx_log_t                     log;
    ngx_str_t                     extra;
    ngx_uint_t                    monitor;
    ngx_http_apisec_main_conf_t  *amcf;

    amcf = ngx_http_get_module_main_conf(r, ngx_http_apisec_module);

    monitor = (rule->action == NGX_HTTP_APISEC_ACT_MONITOR);

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

    /*
     * lock: the key is refused at once by every worker (check 2), and
     * locked in the store by the next flush, with a key.locked event
     */

    if (rule->action == NGX_HTTP_APISEC_ACT_LOCK) {
        log = *r->connection->log;
        log.handler = ngx_http_apisec_log_handler;

        if (ngx_http_apisec_lock(amcf->stamp_zone, ctx->access_key.data,
                                 ctx->access_key.len,
                                 rule->lock_time ? now + rule->lock_time : 0,
                                 &rule->name)
            != NGX_OK)
        {
            ngx_log_error(NGX_LOG_ALERT, &log, 0,
                          "apisec: key \"%V\": rule \"%V\" cannot lock it: "
                          "the stamp zone is full; raise apisec_stamp_zone",
                          &ctx->access_key, &rule->name);

        } else if (rule->lock_time) {
            ngx_log_error(NGX_LOG_WARN, &log, 0,
                          "apisec: key \"%V\": rule \"%V\" (rate) locks it "
                          "for %T s", &ctx->access_key, &rule->name,
                          rule->lock_time);

        } else {
            ngx_log_error(NGX_LOG_WARN, &log, 0,
                          "apisec: key \"%V\": rule \"%V\" (rate) locks it "
                          "until unlocked", &ctx->access_key, &rule->name);
        }

        goto refuse;
    }

    /* the event, written to the store by the next flush */

    extra.data = ngx_pnalloc(r->pool,
                             sizeof("\"rule\":\"\",\"rule_type\":\"rate\"")
                             + rule->name.len);
    if (extra.data == NULL) {
        *detail = "out of memory";
        return APISEC_E_STORE_UNAVAILABLE;
    }

    extra.len = ngx_sprintf(extra.data,
                            "\"rule\":\"%V\",\"rule_type\":\"rate\"",
                            &rule->name)
                - extra.data;

    /* when too many wait, it is counted, and reported by the flush */

    (void) ngx_http_apisec_rule_event(amcf->rule_zone,
                                      monitor ? "rule.monitor" : "rule.block",
                                      &ctx->access_key, &ctx->account,
                                      &extra);

    if (monitor) {
        log = *r->connection->log;
        log.handler = ngx_http_apisec_log_handler;

        ngx_log_error(NGX_LOG_WARN, &log, 0,
                      "apisec: key \"%V\": rule \"%V\" (rate) matched, "
                      "monitor only", &ctx->access_key, &rule->name);

        return APISEC_E_OK;
    }

refuse:

    p = ngx_pnalloc(r->pool, sizeof("rule \"\" (rate): over the rate") - 1
                             + rule->name.len + 1);
    if (p == NULL) {
        *detail = "out of memory";
        return APISEC_E_STORE_UNAVAILABLE;
    }

    ngx_sprintf(p, "rule \"%V\" (rate): over the rate%Z", &rule->name);

    *detail = (const char *) p;

    return APISEC_E_RATE_LIMITED;
}
