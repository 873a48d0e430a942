/*
 * apisecctl: the command-line tool of apisec.  It creates the master key
 * and the store, and creates, imports, lists, changes, rotates and revokes
 * API keys, enrols them in 2FA (TOTP), expires idle keys, audits the store,
 * lists the event log, and backs the store up and restores it.
 * Plain C over the store and crypto code that the module uses.
 *
 *   apisecctl [--store DIR] [--master-key FILE] [--json] COMMAND [ARGS]
 *
 * Exit status: 0 on success, 1 on an error, 2 on a usage error, 3 when
 * audit has findings.  An error is one line on stderr, "apisecctl: error:
 * <message>", and leaves the store as it was.
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "apisec_parse.h"
#include "apisec_crypto.h"
#include "apisec_store.h"
#include "apisec_json.h"


#define CTL_VERSION           "0.1.0"

#define CTL_OK                0
#define CTL_ERROR             1
#define CTL_USAGE             2
#define CTL_FINDINGS          3       /* audit: something to act on */
#define CTL_EXIT              (-1)    /* done (help, version): exit 0 */

#define CTL_ARGS_MAX          4
#define CTL_MSG_LEN           1024
#define CTL_QUOTE_SHOW        64      /* bytes of a value in a message */
#define CTL_FLUSH_GRACE       120     /* expire-idle: s beyond --idle */
#define CTL_QUOTE_LEN         (CTL_QUOTE_SHOW * 4 + 8)
#define CTL_IPS_TEXT_LEN      (APISEC_IPS_MAX * APISEC_CIDR_LEN)
#define CTL_KEY_LEN           64      /* generated access keys */
#define CTL_SECRET_LEN        64      /* generated secrets */
#define CTL_IMPORT_BATCH      50000   /* keys in one write transaction */
#define CTL_MAP_SIZE_MIN      ((size_t) 1 << 20)
#define CTL_MAP_SIZE_MAX      ((size_t) 1 << 44)
#define CTL_POOL_BLOCK        (1024 * 1024)
#define CTL_IDLE_DEFAULT      "90d"   /* expire-idle, audit */
#define CTL_EXPIRING          (7 * 86400)  /* audit: expires_at this close */
#define CTL_SPAN_LEN          64      /* "<TIME> (89d 23h 59m ago)" */
#define CTL_EVENT_SHOW        512     /* bytes of an event value in text */
#define CTL_TOTP_ISSUER       "apisec"
#define CTL_TOTP_B32_LEN      ((APISEC_TOTP_SECRET_LEN * 8 + 4) / 5)
#define CTL_TOTP_URI_LEN      (64 + APISEC_ACCOUNT_MAX * 3 + CTL_TOTP_B32_LEN \
                               + 64)

/* what a command needs before it runs */
#define CTL_NEED_MK           0x01    /* the master key, loaded */
#define CTL_NEED_STORE        0x02    /* the store, opened */
#define CTL_RDONLY            0x04    /* ... read-only */


enum {
    CTL_OPT_STORE = 0,
    CTL_OPT_MASTER_KEY,
    CTL_OPT_JSON,
    CTL_OPT_MAP_SIZE,
    CTL_OPT_HELP,
    CTL_OPT_VERSION,
    CTL_OPT_ACCOUNT,
    CTL_OPT_PERM,
    CTL_OPT_IP,
    CTL_OPT_LABEL,
    CTL_OPT_EXPIRES,
    CTL_OPT_LAST_USED,
    CTL_OPT_STATUS,
    CTL_OPT_IDLE_OVER,
    CTL_OPT_PASSPHRASE,
    CTL_OPT_PASSPHRASE_FILE,
    CTL_OPT_IDLE,
    CTL_OPT_UNBOUND_IP_ONLY,
    CTL_OPT_DRY_RUN,
    CTL_OPT_SINCE,
    CTL_OPT_FOLLOW,
    CTL_OPT_FORCE,
    CTL_OPT_MAX
};

#define CTL_GLOBAL_OPTS       ((1u << CTL_OPT_ACCOUNT) - 1)
#define CTL_BIT(opt)          (1u << (opt))


typedef struct ctl_s  ctl_t;

typedef int (*ctl_handler_pt)(ctl_t *ctl);


typedef struct {
    const char            *name;        /* "--perm" */
    int                    id;
    int                    has_arg;
} ctl_option_t;


typedef struct {
    const char            *name;
    ctl_handler_pt         handler;     /* NULL: not available yet */
    unsigned               opts;        /* CTL_BIT() of its options */
    unsigned               min_args;
    unsigned               max_args;
    unsigned               flags;       /* CTL_NEED_*, CTL_RDONLY */
    const char            *synopsis;
    const char            *summary;
} ctl_command_t;


struct ctl_s {
    const ctl_command_t   *cmd;
    const char            *opt[CTL_OPT_MAX];
    const char            *args[CTL_ARGS_MAX];
    unsigned               nargs;
    const char            *store_dir;
    const char            *mk_path;
    int                    json;
    size_t                 map_size;
    int64_t                now;
    apisec_store_t        *st;
    apisec_json_writer_t   w;
    uint8_t                mk[APISEC_MASTER_KEY_LEN];
    size_t                 pass_len;    /* --passphrase, moved out of argv */
    char                   pass[APISEC_PASSPHRASE_MAX + 2];
};


/* a key as printed: a view of an apisec_key_t or a row of a list */
typedef struct {
    const char            *access_key;
    const char            *account;
    const char            *label;
    const apisec_cidr_t   *ips;
    unsigned               n_ips;
    unsigned               perms;
    int                    status;
    int                    totp_enrolled;
    int                    has_passphrase;
    int64_t                created_at;
    int64_t                last_used_at;
    int64_t                expires_at;
    int64_t                locked_until;
} ctl_row_t;


typedef struct ctl_block_s  ctl_block_t;

struct ctl_block_s {
    ctl_block_t           *next;
    size_t                 used;
    size_t                 size;
    char                   data[];
};


typedef struct {
    ctl_block_t           *head;
} ctl_pool_t;


typedef struct {
    ctl_t                 *ctl;
    ctl_pool_t             pool;
    ctl_row_t             *rows;
    size_t                 n;
    size_t                 cap;
    int                    nomem;
    const char            *account;
    int                    status;      /* -1: any */
    int64_t                idle_over;   /* 0: no filter */
    int64_t                lag;         /* expire-idle: seconds of grace */
    int                    unbound_only; /* idle: keys without IPs only */
} ctl_list_t;


/* audit: what an operator should act on */
enum {
    CTL_FIND_IDLE = 0,
    CTL_FIND_NEVER_USED,
    CTL_FIND_WITHDRAW_NO_IP,
    CTL_FIND_WITHDRAW_NO_2FA,
    CTL_FIND_EXPIRED,
    CTL_FIND_LOCKED,
    CTL_FIND_DISABLED,
    CTL_FIND_EXPIRING,
    CTL_FIND_MAX
};


typedef struct {
    const char            *name;        /* "withdraw-without-ip" */
    const char            *heading;     /* "%s": the idle duration */
} ctl_find_kind_t;


typedef struct {
    int                    kind;        /* CTL_FIND_* */
    int64_t                order;       /* within a kind, ascending */
    const ctl_row_t       *row;
} ctl_finding_t;


typedef struct {
    ctl_t                 *ctl;
    ctl_pool_t             pool;
    ctl_finding_t         *finds;
    size_t                 n;
    size_t                 cap;
    size_t                 keys;        /* keys looked at */
    size_t                 keys_found;  /* keys with a finding */
    size_t                 count[CTL_FIND_MAX];
    int                    nomem;
    int64_t                idle;
} ctl_audit_t;


/* events: the parser of the stored lines, for text */
typedef struct {
    ctl_t                 *ctl;
    apisec_json_object_t   obj;
    uint64_t               last;        /* the last seq printed */
} ctl_events_t;


/* the changes of set, enable, disable and rotate */
typedef struct {
    unsigned               what;        /* CTL_BIT() of the options given */
    unsigned               perms;
    unsigned               n_ips;
    apisec_cidr_t          ips[APISEC_IPS_MAX];
    const char            *label;
    int64_t                expires_at;
    int64_t                last_used_at;
    size_t                 passhash_len; /* 0: remove the passphrase */
    uint8_t                passhash[APISEC_PASSHASH_LEN];
    int                    action;      /* CTL_ACT_* */
    int                    was_status;
    char                   secret[CTL_SECRET_LEN + 1];
} ctl_change_t;

#define CTL_ACT_SET           0
#define CTL_ACT_DISABLE       1
#define CTL_ACT_ENABLE        2
#define CTL_ACT_ROTATE        3
#define CTL_ACT_UNLOCK        4

#define CTL_FOLLOW_MS         500     /* events --follow: the store read */


/* the plaintext secrets of an import line, wiped after use */
typedef struct {
    char                   secret[APISEC_SECRET_MAX + 1];
    size_t                 secret_len;
    char                   pass[APISEC_PASSPHRASE_MAX + 1];
    size_t                 pass_len;    /* 0: no passphrase */
} ctl_secrets_t;


/* import: the input, and the access keys seen so far */
typedef struct {
    const char            *data;
    size_t                 len;
    char                  *buf;         /* read from a pipe: malloc'ed */
    size_t                 cap;
    void                  *map;         /* a regular file: mapped */
    size_t                 map_len;
} ctl_input_t;


typedef struct {
    size_t                 off;         /* in arena */
    size_t                 line;
} ctl_seen_t;


typedef struct {
    char                  *arena;
    size_t                 arena_len;
    size_t                 arena_cap;
    ctl_seen_t            *ents;
    size_t                 n;
    size_t                 cap;
    uint32_t              *table;       /* index + 1; 0: empty */
    size_t                 table_size;  /* a power of 2 */
} ctl_keyset_t;


static int ctl_parse_args(ctl_t *ctl, int argc, char **argv);
static const ctl_command_t *ctl_find_command(const char *name);
static const ctl_option_t *ctl_find_option(const char *name, size_t len);
static void ctl_usage(FILE *f);
static void ctl_command_usage(FILE *f, const ctl_command_t *cmd);
static void ctl_print_wrapped(FILE *f, const char *prefix,
    const char *text);
static int ctl_prepare(ctl_t *ctl, unsigned flags);
static void ctl_error(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
static void ctl_warn(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
static void ctl_vmsg(const char *kind, const char *fmt, va_list ap);
static const char *ctl_quote(const char *s, size_t len, char *out);
static int ctl_store_error(ctl_t *ctl, int rc, const char *ak);
static void ctl_map_full_msg(ctl_t *ctl, char *out, size_t len);
static void ctl_format_size(size_t size, char *out, size_t len);
static int ctl_parse_size(const char *s, size_t *size);
static int ctl_parse_perms_opt(const char *s, unsigned *perms, char *msg,
    size_t len);
static int ctl_parse_ips_opt(const char *s, apisec_cidr_t *ips,
    unsigned *n_ips, char *msg, size_t len);
static int ctl_add_cidr(apisec_cidr_t *ips, unsigned *n_ips,
    const apisec_cidr_t *c);
static int ctl_parse_time_opt(const char *name, const char *s,
    int allow_none, int64_t *t);
static int ctl_check_label(const char *s, char *msg, size_t len);
static int ctl_check_key_arg(const char *ak);
static int ctl_check_passphrase(const char *s, size_t len, char *msg,
    size_t msglen);
static int ctl_passphrase_opt(ctl_t *ctl, char *pass, size_t *len);
static int ctl_read_passphrase(const char *path, char *pass, size_t *len,
    char *msg, size_t msglen);
static int ctl_hash_passphrase(ctl_t *ctl, apisec_key_t *k,
    const char *pass, size_t len);
static void ctl_key_row(const apisec_key_t *k, ctl_row_t *row);
static void ctl_ips_text(const apisec_cidr_t *ips, unsigned n, char *out,
    size_t len);
static void ctl_time_text(int64_t t, char *out);
static void ctl_span_text(int64_t secs, char *out, size_t len);
static void ctl_time_ago(int64_t now, int64_t t, char *out, size_t len);
static int64_t ctl_idle_for(const ctl_row_t *row, int64_t now);
static void ctl_last_use_text(const ctl_row_t *row, int64_t now, char *out,
    size_t len);
static int ctl_duration_opt(const char *name, const char *v, int64_t *secs);
static void ctl_json_fields(apisec_json_writer_t *w, const ctl_row_t *row,
    const char *secret);
static void ctl_json_row(apisec_json_writer_t *w, const ctl_row_t *row,
    const char *secret);
static void ctl_json_time(apisec_json_writer_t *w, const char *name,
    int64_t t);
static void ctl_print_row(ctl_t *ctl, const ctl_row_t *row);
static void ctl_print_secret(ctl_t *ctl, const ctl_row_t *row,
    const char *secret);
static void *ctl_pool_alloc(ctl_pool_t *pool, size_t size);
static char *ctl_pool_strdup(ctl_pool_t *pool, const char *s);
static void ctl_pool_free(ctl_pool_t *pool);
static int ctl_list_cb(const apisec_key_t *k, void *arg);
static int ctl_row_copy(ctl_pool_t *pool, const apisec_key_t *k,
    ctl_row_t *row);
static void ctl_expire_print(ctl_t *ctl, const ctl_row_t *row,
    int dry_run);
static int ctl_audit_cb(const apisec_key_t *k, void *arg);
static int ctl_audit_add(ctl_audit_t *au, int kind, int64_t order,
    const ctl_row_t *row);
static int ctl_finding_cmp(const void *a, const void *b);
static void ctl_finding_detail(ctl_t *ctl, const ctl_finding_t *f,
    char *out, size_t len);
static void ctl_audit_text(ctl_audit_t *au, const char *idle);
static void ctl_audit_json(ctl_audit_t *au, const char *idle);
static int ctl_parse_seq(const char *s, uint64_t *seq);
static int ctl_events_cb(uint64_t seq, const char *json, size_t len,
    void *arg);
static void ctl_event_value(const apisec_json_member_t *m, char *out,
    size_t len);
static void ctl_event_string(const char *s, size_t n, char *out,
    size_t len);
static void ctl_event_raw(const char *json, size_t n, char *out,
    size_t len);
static int ctl_row_cmp(const void *a, const void *b);
static void ctl_list_table(ctl_list_t *ls);
static void ctl_widen(size_t *width, const char *s);
static int ctl_change(ctl_t *ctl, const char *ak, ctl_change_t *ch,
    apisec_key_t *k);
static int ctl_apply(ctl_t *ctl, ctl_change_t *ch, apisec_key_t *k);
static int ctl_input_load(ctl_input_t *in, char *msg, size_t len);
static void ctl_input_free(ctl_input_t *in);
static int ctl_input_line(ctl_input_t *in, size_t *pos, const char **line,
    size_t *len);
static int ctl_blank(const char *s, size_t len);
static int ctl_import_line(ctl_t *ctl, apisec_json_object_t *obj,
    const char *line, size_t len, apisec_key_t *k, ctl_secrets_t *sec,
    char *msg, size_t msglen);
static int ctl_import_string(const apisec_json_member_t *m, int nullable,
    char *msg, size_t len);
static int ctl_import_time(const apisec_json_member_t *m, int64_t *t,
    char *msg, size_t len);
static int ctl_import_write(ctl_t *ctl, ctl_input_t *in,
    ctl_keyset_t *seen, size_t count);
static void ctl_import_rollback(ctl_t *ctl, ctl_keyset_t *seen,
    size_t written, char *msg, size_t len);
static uint64_t ctl_hash(const char *s, size_t len);
static int ctl_keyset_add(ctl_keyset_t *ks, const char *s, size_t len,
    size_t line, size_t *dup_line);
static int ctl_keyset_grow(ctl_keyset_t *ks);
static void ctl_keyset_free(ctl_keyset_t *ks);
static int ctl_2fa_enroll(ctl_t *ctl, const char *ak);
static int ctl_2fa_reset(ctl_t *ctl, const char *ak);
static void ctl_uri_escape(const char *s, char *out, size_t len);

static int ctl_cmd_help(ctl_t *ctl);
static int ctl_cmd_master_key(ctl_t *ctl);
static int ctl_cmd_init(ctl_t *ctl);
static int ctl_cmd_create(ctl_t *ctl);
static int ctl_cmd_import(ctl_t *ctl);
static int ctl_cmd_list(ctl_t *ctl);
static int ctl_cmd_show(ctl_t *ctl);
static int ctl_cmd_set(ctl_t *ctl);
static int ctl_cmd_disable(ctl_t *ctl);
static int ctl_cmd_enable(ctl_t *ctl);
static int ctl_cmd_revoke(ctl_t *ctl);
static int ctl_cmd_rotate(ctl_t *ctl);
static int ctl_cmd_expire_idle(ctl_t *ctl);
static int ctl_cmd_audit(ctl_t *ctl);
static int ctl_cmd_events(ctl_t *ctl);
static int ctl_cmd_2fa(ctl_t *ctl);
static int ctl_cmd_unlock(ctl_t *ctl);
static int ctl_status_change(ctl_t *ctl, int action, const char *done);
static int ctl_cmd_usage(ctl_t *ctl);
static int ctl_cmd_backup(ctl_t *ctl);
static int ctl_cmd_restore(ctl_t *ctl);
static void ctl_block_signals(sigset_t *old);
static void ctl_backup_print(ctl_t *ctl, const char *store,
    const char *file, const apisec_backup_info_t *bi);
static int ctl_usage_cb(const char *key, size_t len, const apisec_window_t *w,
    void *arg);


static const ctl_option_t  ctl_options[] = {
    { "--store",           CTL_OPT_STORE,             1 },
    { "--master-key",      CTL_OPT_MASTER_KEY,        1 },
    { "--json",            CTL_OPT_JSON,              0 },
    { "--map-size",        CTL_OPT_MAP_SIZE,          1 },
    { "--help",            CTL_OPT_HELP,              0 },
    { "--version",         CTL_OPT_VERSION,           0 },
    { "--account",         CTL_OPT_ACCOUNT,           1 },
    { "--perm",            CTL_OPT_PERM,              1 },
    { "--ip",              CTL_OPT_IP,                1 },
    { "--label",           CTL_OPT_LABEL,             1 },
    { "--expires",         CTL_OPT_EXPIRES,           1 },
    { "--last-used",       CTL_OPT_LAST_USED,         1 },
    { "--status",          CTL_OPT_STATUS,            1 },
    { "--idle-over",       CTL_OPT_IDLE_OVER,         1 },
    { "--passphrase",      CTL_OPT_PASSPHRASE,        1 },
    { "--passphrase-file", CTL_OPT_PASSPHRASE_FILE,   1 },
    { "--idle",            CTL_OPT_IDLE,              1 },
    { "--unbound-ip-only", CTL_OPT_UNBOUND_IP_ONLY,   0 },
    { "--dry-run",         CTL_OPT_DRY_RUN,           0 },
    { "--since",           CTL_OPT_SINCE,             1 },
    { "--follow",          CTL_OPT_FOLLOW,            0 },
    { "--force",           CTL_OPT_FORCE,             0 },
    { NULL, 0, 0 }
};


/* the commands; those without a handler come in a later version */

static const ctl_command_t  ctl_commands[] = {

    { "help", ctl_cmd_help, 0, 0, 1, 0,
      "help [COMMAND]",
      "print this help, or the help of one command" },

    { "master-key", ctl_cmd_master_key, 0, 0, 1, 0,
      "master-key FILE",
      "write a new random master key file (mode 0600, never overwritten)" },

    { "init", ctl_cmd_init, 0, 0, 0, CTL_NEED_MK,
      "init [--map-size SIZE]",
      "create an empty store (map size default 1G)" },

    { "create", ctl_cmd_create,
      CTL_BIT(CTL_OPT_ACCOUNT) | CTL_BIT(CTL_OPT_PERM) | CTL_BIT(CTL_OPT_IP)
      | CTL_BIT(CTL_OPT_LABEL) | CTL_BIT(CTL_OPT_EXPIRES)
      | CTL_BIT(CTL_OPT_PASSPHRASE) | CTL_BIT(CTL_OPT_PASSPHRASE_FILE),
      0, 0, CTL_NEED_MK | CTL_NEED_STORE,
      "create --account ID [--perm read,trade,withdraw] [--ip CIDR,...] "
      "[--label TEXT] [--expires RFC3339] "
      "[--passphrase P|--passphrase-file FILE]",
      "create a key; prints its access key and secret key once" },

    { "import", ctl_cmd_import, 0, 0, 0, CTL_NEED_MK | CTL_NEED_STORE,
      "import < FILE",
      "import keys from JSON lines on standard input, all or nothing" },

    { "list", ctl_cmd_list,
      CTL_BIT(CTL_OPT_ACCOUNT) | CTL_BIT(CTL_OPT_STATUS)
      | CTL_BIT(CTL_OPT_IDLE_OVER),
      0, 0, CTL_NEED_MK | CTL_NEED_STORE | CTL_RDONLY,
      "list [--account ID] [--status STATUS] [--idle-over DURATION]",
      "list keys, newest first, without secrets" },

    { "show", ctl_cmd_show, 0, 1, 1,
      CTL_NEED_MK | CTL_NEED_STORE | CTL_RDONLY,
      "show KEY",
      "show one key, without its secret" },

    { "set", ctl_cmd_set,
      CTL_BIT(CTL_OPT_PERM) | CTL_BIT(CTL_OPT_IP) | CTL_BIT(CTL_OPT_LABEL)
      | CTL_BIT(CTL_OPT_EXPIRES) | CTL_BIT(CTL_OPT_LAST_USED)
      | CTL_BIT(CTL_OPT_PASSPHRASE) | CTL_BIT(CTL_OPT_PASSPHRASE_FILE),
      1, 1, CTL_NEED_MK | CTL_NEED_STORE,
      "set KEY [--perm LIST] [--ip CIDR,...|none] [--label TEXT] "
      "[--expires RFC3339|none] [--last-used RFC3339|none] "
      "[--passphrase P|none|--passphrase-file FILE]",
      "change fields of a key" },

    { "disable", ctl_cmd_disable, 0, 1, 1, CTL_NEED_MK | CTL_NEED_STORE,
      "disable KEY",
      "disable a key" },

    { "enable", ctl_cmd_enable, 0, 1, 1, CTL_NEED_MK | CTL_NEED_STORE,
      "enable KEY",
      "make a key active again (also an expired or locked one)" },

    { "revoke", ctl_cmd_revoke, 0, 1, 1, CTL_NEED_MK | CTL_NEED_STORE,
      "revoke KEY",
      "delete a key for good" },

    { "rotate", ctl_cmd_rotate, 0, 1, 1, CTL_NEED_MK | CTL_NEED_STORE,
      "rotate KEY",
      "give a key a new secret; the old one stops working at once" },

    { "expire-idle", ctl_cmd_expire_idle,
      CTL_BIT(CTL_OPT_IDLE) | CTL_BIT(CTL_OPT_UNBOUND_IP_ONLY)
      | CTL_BIT(CTL_OPT_DRY_RUN),
      0, 0, CTL_NEED_MK | CTL_NEED_STORE,
      "expire-idle [--idle DURATION] [--unbound-ip-only] [--dry-run]",
      "expire the active keys idle for longer than DURATION (90d)" },

    { "audit", ctl_cmd_audit, CTL_BIT(CTL_OPT_IDLE_OVER), 0, 0,
      CTL_NEED_MK | CTL_NEED_STORE | CTL_RDONLY,
      "audit [--idle-over DURATION]",
      "report the keys to act on; exit status 3 when there are any" },

    { "events", ctl_cmd_events,
      CTL_BIT(CTL_OPT_SINCE) | CTL_BIT(CTL_OPT_FOLLOW), 0, 0,
      CTL_NEED_MK | CTL_NEED_STORE | CTL_RDONLY,
      "events [--since SEQ] [--follow]",
      "list the security event log (--follow: then the new events as "
      "they come, until interrupted)" },

    /* the store is opened by the handler, once the arguments are known */

    { "2fa", ctl_cmd_2fa, CTL_BIT(CTL_OPT_FORCE), 0, 2, 0,
      "2fa enroll KEY [--force] | 2fa reset KEY",
      "enrol a key in 2FA (TOTP), printing its secret once; or remove it" },

    { "unlock", ctl_cmd_unlock, 0, 1, 1, CTL_NEED_MK | CTL_NEED_STORE,
      "unlock KEY",
      "make a key locked by a rule active again" },

    { "usage", ctl_cmd_usage, 0, 1, 1,
      CTL_NEED_MK | CTL_NEED_STORE | CTL_RDONLY,
      "usage KEY",
      "the current window sums and counts of the amount and failures "
      "rules for a key (and its account)" },

    { "backup", ctl_cmd_backup, CTL_BIT(CTL_OPT_FORCE), 1, 1,
      CTL_NEED_MK | CTL_NEED_STORE | CTL_RDONLY,
      "backup FILE [--force]",
      "write a consistent compact copy of the store to FILE while nginx "
      "runs (--force: replace FILE)" },

    { "restore", ctl_cmd_restore, 0, 1, 1, CTL_NEED_MK,
      "restore FILE",
      "make a new store in the --store directory from a backup FILE" },

    { NULL, NULL, 0, 0, 0, 0, NULL, NULL }
};


static const char  ctl_units[] = "KMGT";


static const ctl_find_kind_t  ctl_find_kinds[CTL_FIND_MAX] = {
    { "idle", "active keys not used for over %s; apisecctl expire-idle "
              "deactivates them" },
    { "never-used", "keys never used since their creation" },
    { "withdraw-without-ip", "keys with withdraw permission and no IP "
                             "allow-list (apisecctl set KEY --ip CIDR,...)" },
    { "withdraw-without-2fa", "keys with withdraw permission and no TOTP "
                              "enrolment" },
    { "expired", "expired keys: apisecctl enable KEY revives one, revoke "
                 "deletes it" },
    { "locked", "locked keys" },
    { "disabled", "disabled keys" },
    { "expiring", "keys whose expires_at comes within 7 days" }
};


static const char  *ctl_import_fields[] = {
    "access_key", "secret_key", "account", "label", "permissions", "ips",
    "status", "created_at", "last_used_at", "expires_at", "locked_until",
    "totp_enrolled", "passphrase", "has_passphrase", NULL
};


int
main(int argc, char **argv)
{
    int    rc;
    ctl_t  ctl;

    memset(&ctl, 0, sizeof(ctl_t));

    rc = ctl_parse_args(&ctl, argc, argv);

    if (rc != CTL_OK) {
        apisec_wipe(ctl.pass, sizeof(ctl.pass));
    }

    if (rc == CTL_EXIT) {
        return (fflush(stdout) == 0 && !ferror(stdout)) ? CTL_OK : CTL_ERROR;
    }

    if (rc != CTL_OK) {
        return rc;
    }

    apisec_json_writer_init(&ctl.w, stdout);

    rc = ctl_prepare(&ctl, ctl.cmd->flags);

    if (rc == CTL_OK) {
        rc = ctl.cmd->handler(&ctl);
    }

    apisec_wipe(ctl.mk, sizeof(ctl.mk));
    apisec_wipe(ctl.pass, sizeof(ctl.pass));

    if (ctl.st != NULL) {
        apisec_store_close(ctl.st);
    }

    if ((fflush(stdout) != 0 || ferror(stdout) || ctl.w.error)
        && (rc == CTL_OK || rc == CTL_FINDINGS))
    {
        ctl_error("cannot write to standard output: %s", strerror(errno));
        rc = CTL_ERROR;
    }

    return rc;
}


/*
 * Global options may come before and after the command; the options of
 * the command come after it.  "--name value" and "--name=value"; "--"
 * ends the options.
 */

static int
ctl_parse_args(ctl_t *ctl, int argc, char **argv)
{
    int                   i, dashdash;
    size_t                nlen, n;
    char                 *value;
    const char           *a, *eq;
    const ctl_option_t   *o;
    const ctl_command_t  *cmd;
    char                  q[CTL_QUOTE_LEN];

    cmd = NULL;
    dashdash = 0;

    for (i = 1; i < argc; i++) {
        a = argv[i];

        if (!dashdash && strcmp(a, "--") == 0) {
            dashdash = 1;
            continue;
        }

        if (!dashdash && strcmp(a, "-h") == 0) {
            ctl->opt[CTL_OPT_HELP] = "";
            continue;
        }

        if (dashdash || a[0] != '-' || a[1] == '\0') {

            if (cmd == NULL) {
                cmd = ctl_find_command(a);

                if (cmd == NULL) {
                    ctl_error("unknown command \"%s\" (see apisecctl --help)",
                              ctl_quote(a, strlen(a), q));
                    return CTL_USAGE;
                }

                if (cmd->handler == NULL) {
                    ctl_error("command \"%s\" is not available in this "
                              "version", cmd->name);
                    return CTL_USAGE;
                }

                continue;
            }

            if (ctl->nargs == cmd->max_args) {
                ctl_error("unexpected argument \"%s\" (usage: apisecctl %s)",
                          ctl_quote(a, strlen(a), q), cmd->synopsis);
                return CTL_USAGE;
            }

            ctl->args[ctl->nargs++] = a;
            continue;
        }

        eq = strchr(a, '=');
        nlen = (eq != NULL) ? (size_t) (eq - a) : strlen(a);

        o = ctl_find_option(a, nlen);

        if (o != NULL && !(CTL_BIT(o->id) & CTL_GLOBAL_OPTS)
            && (cmd == NULL || !(CTL_BIT(o->id) & cmd->opts)))
        {
            o = NULL;
        }

        if (o == NULL) {
            if (cmd != NULL) {
                ctl_error("unknown option \"%s\" for \"%s\" "
                          "(usage: apisecctl %s)",
                          ctl_quote(a, nlen, q), cmd->name, cmd->synopsis);

            } else {
                ctl_error("unknown option \"%s\" (see apisecctl --help)",
                          ctl_quote(a, nlen, q));
            }

            return CTL_USAGE;
        }

        if (o->has_arg) {
            if (eq != NULL) {
                value = argv[i] + (eq - a) + 1;

            } else if (i + 1 < argc) {
                value = argv[++i];

            } else {
                ctl_error("option %s needs a value", o->name);
                return CTL_USAGE;
            }

        } else {
            if (eq != NULL) {
                ctl_error("option %s takes no value", o->name);
                return CTL_USAGE;
            }

            value = argv[i] + strlen(argv[i]);
        }

        if (ctl->opt[o->id] != NULL && o->has_arg) {
            ctl_error("option %s given more than once", o->name);
            return CTL_USAGE;
        }

        if (o->id == CTL_OPT_PASSPHRASE) {

            /*
             * The command line is visible to others (ps, /proc): keep a
             * copy (its first APISEC_PASSPHRASE_MAX + 1 bytes, enough to
             * judge it) and clear the argument at once.
             */

            ctl->pass_len = strlen(value);
            n = ctl->pass_len < sizeof(ctl->pass) - 1
                ? ctl->pass_len : sizeof(ctl->pass) - 1;
            memcpy(ctl->pass, value, n);
            ctl->pass[n] = '\0';
            apisec_wipe(value, ctl->pass_len);
            value = ctl->pass;
        }

        ctl->opt[o->id] = value;
    }

    if (ctl->opt[CTL_OPT_HELP] != NULL) {
        if (cmd != NULL && cmd->handler != ctl_cmd_help) {
            ctl_command_usage(stdout, cmd);

        } else {
            ctl_usage(stdout);
        }

        return CTL_EXIT;
    }

    if (ctl->opt[CTL_OPT_VERSION] != NULL) {
        printf("apisecctl %s\n", CTL_VERSION);
        return CTL_EXIT;
    }

    if (cmd == NULL) {
        ctl_error("no command given (see apisecctl --help)");
        return CTL_USAGE;
    }

    if (ctl->nargs < cmd->min_args) {
        ctl_error("missing argument (usage: apisecctl %s)", cmd->synopsis);
        return CTL_USAGE;
    }

    ctl->cmd = cmd;
    ctl->json = (ctl->opt[CTL_OPT_JSON] != NULL);

    ctl->store_dir = ctl->opt[CTL_OPT_STORE];
    if (ctl->store_dir == NULL) {
        ctl->store_dir = getenv("APISEC_STORE");
    }

    ctl->mk_path = ctl->opt[CTL_OPT_MASTER_KEY];
    if (ctl->mk_path == NULL) {
        ctl->mk_path = getenv("APISEC_MASTER_KEY");
    }

    if (ctl->store_dir != NULL && ctl->store_dir[0] == '\0') {
        ctl->store_dir = NULL;
    }

    if (ctl->mk_path != NULL && ctl->mk_path[0] == '\0') {
        ctl->mk_path = NULL;
    }

    if (ctl->opt[CTL_OPT_MAP_SIZE] != NULL) {
        if (ctl_parse_size(ctl->opt[CTL_OPT_MAP_SIZE], &ctl->map_size) != 0)
        {
            ctl_error("invalid --map-size \"%s\" (bytes, or a number with "
                      "K, M, G or T; from 1M to 16T)",
                      ctl_quote(ctl->opt[CTL_OPT_MAP_SIZE],
                                strlen(ctl->opt[CTL_OPT_MAP_SIZE]), q));
            return CTL_USAGE;
        }
    }

    ctl->now = (int64_t) time(NULL);

    return CTL_OK;
}


static const ctl_command_t *
ctl_find_command(const char *name)
{
    const ctl_command_t  *cmd;

    for (cmd = ctl_commands; cmd->name != NULL; cmd++) {
        if (strcmp(cmd->name, name) == 0) {
            return cmd;
        }
    }

    return NULL;
}


static const ctl_option_t *
ctl_find_option(const char *name, size_t len)
{
    const ctl_option_t  *o;

    for (o = ctl_options; o->name != NULL; o++) {
        if (strlen(o->name) == len && memcmp(o->name, name, len) == 0) {
            return o;
        }
    }

    return NULL;
}


static void
ctl_usage(FILE *f)
{
    const ctl_command_t  *cmd;

    fprintf(f,
        "usage: apisecctl [--store DIR] [--master-key FILE] [--json]\n"
        "                 [--map-size SIZE] COMMAND [ARGS]\n"
        "\n"
        "Manages the API keys of apisec, the nginx API key security "
        "module.\n"
        "\n"
        "global options (before or after the command):\n"
        "  --store DIR        the key store (default: $APISEC_STORE)\n"
        "  --master-key FILE  the master key file "
        "(default: $APISEC_MASTER_KEY)\n"
        "  --json             print JSON: one object, or one per line\n"
        "  --map-size SIZE    map size of the store (init), or a bigger "
        "size\n"
        "                     to grow it to (e.g. 64M, 1G, 4G)\n"
        "  --help, --version\n"
        "\n"
        "commands:\n");

    for (cmd = ctl_commands; cmd->name != NULL; cmd++) {
        if (cmd->handler != NULL) {
            ctl_print_wrapped(f, "  ", cmd->synopsis);
            fprintf(f, "        %s\n", cmd->summary);
        }
    }

    for (cmd = ctl_commands; cmd->name != NULL; cmd++) {
        if (cmd->handler == NULL) {
            break;
        }
    }

    if (cmd->name != NULL) {
        fprintf(f, "\nnot in this version:");

        for (cmd = ctl_commands; cmd->name != NULL; cmd++) {
            if (cmd->handler == NULL) {
                fprintf(f, " %s", cmd->name);
            }
        }

        fprintf(f, "\n");
    }

    fprintf(f,
        "\n"
        "Times are RFC 3339 (2030-01-01T00:00:00Z), durations N[smhd].\n"
        "Exit status: 0 success, 1 error, 2 usage error, 3 audit "
        "findings.\n");
}


static void
ctl_command_usage(FILE *f, const ctl_command_t *cmd)
{
    ctl_print_wrapped(f, "usage: apisecctl [global options] ",
                      cmd->synopsis);
    fprintf(f, "\n%s\n", cmd->summary);
}


/* prefix and text, broken before a "[" to stay within 79 columns */

static void
ctl_print_wrapped(FILE *f, const char *prefix, const char *text)
{
    size_t       col, n;
    const char  *p, *next;

    fputs(prefix, f);
    col = strlen(prefix);

    for (p = text; *p != '\0'; p = next) {
        next = strstr(p + 1, " [");
        next = (next != NULL) ? next : p + strlen(p);
        n = (size_t) (next - p);

        if (p != text && col + n > 79) {
            fprintf(f, "\n%*s", 10, "");
            col = 9;
        }

        fwrite(p, 1, n, f);
        col += n;
    }

    fputc('\n', f);
}


/* the master key and the store, as the command needs them */

static int
ctl_prepare(ctl_t *ctl, unsigned flags)
{
    int       rc;
    char      err[APISEC_ERR_LEN];
    unsigned  open_flags;

    if (!(flags & (CTL_NEED_MK | CTL_NEED_STORE))) {
        return CTL_OK;
    }

    if (ctl->store_dir == NULL) {
        ctl_error("no store given: use --store DIR or set APISEC_STORE");
        return CTL_USAGE;
    }

    if (ctl->mk_path == NULL) {
        ctl_error("no master key given: use --master-key FILE or set "
                  "APISEC_MASTER_KEY");
        return CTL_USAGE;
    }

    err[0] = '\0';

    if (apisec_master_key_load(ctl->mk_path, ctl->mk, err, sizeof(err))
        != 0)
    {
        ctl_error("%s", err[0] ? err : "cannot load the master key");
        return CTL_ERROR;
    }

    if (!(flags & CTL_NEED_STORE)) {
        return CTL_OK;
    }

    /* a dry run writes nothing, not even the event log of an old store */

    open_flags = ((flags & CTL_RDONLY) || ctl->opt[CTL_OPT_DRY_RUN] != NULL)
                 ? APISEC_OPEN_RDONLY : 0;

    rc = apisec_store_open(&ctl->st, ctl->store_dir, ctl->mk, open_flags,
                           ctl->map_size, err, sizeof(err));

    if (rc != APISEC_OK) {
        ctl->st = NULL;

        if (err[0] == '\0') {
            snprintf(err, sizeof(err), "%s: %s", ctl->store_dir,
                     apisec_rc_str(rc));
        }

        if (rc == APISEC_ERR_MAP_FULL) {
            ctl_error("%s: reopen with a bigger --map-size", err);

        } else {
            ctl_error("%s", err);
        }

        return CTL_ERROR;
    }

    return CTL_OK;
}


/* messages: one line each; control characters never reach the terminal */

static void
ctl_error(const char *fmt, ...)
{
    va_list  ap;

    va_start(ap, fmt);
    ctl_vmsg("error", fmt, ap);
    va_end(ap);
}


static void
ctl_warn(const char *fmt, ...)
{
    va_list  ap;

    va_start(ap, fmt);
    ctl_vmsg("warning", fmt, ap);
    va_end(ap);
}


static void
ctl_vmsg(const char *kind, const char *fmt, va_list ap)
{
    char    msg[CTL_MSG_LEN];
    size_t  i;

    vsnprintf(msg, sizeof(msg), fmt, ap);

    for (i = 0; msg[i] != '\0'; i++) {
        if ((unsigned char) msg[i] < 0x20 || msg[i] == 0x7f) {
            msg[i] = '?';
        }
    }

    fflush(stdout);
    fprintf(stderr, "apisecctl: %s: %s\n", kind, msg);
}


/* a value for a message: printable ASCII as is, else \xNN; cut if long */

static const char *
ctl_quote(const char *s, size_t len, char *out)
{
    apisec_json_show(s, len, CTL_QUOTE_SHOW, out, CTL_QUOTE_LEN);

    return out;
}


/* an error of a store call; ak names the key of APISEC_ERR_NOTFOUND */

static int
ctl_store_error(ctl_t *ctl, int rc, const char *ak)
{
    char         msg[CTL_MSG_LEN];
    const char  *detail;

    switch (rc) {

    case APISEC_ERR_NOTFOUND:
        ctl_error("unknown key \"%s\"", ak != NULL ? ak : "");
        break;

    case APISEC_ERR_MAP_FULL:
        ctl_map_full_msg(ctl, msg, sizeof(msg));
        ctl_error("%s", msg);
        break;

    default:
        detail = (ctl->st != NULL) ? apisec_store_error(ctl->st) : NULL;

        if (detail != NULL && detail[0] != '\0') {
            ctl_error("%s", detail);

        } else {
            ctl_error("%s", apisec_rc_str(rc));
        }
    }

    return CTL_ERROR;
}


static void
ctl_map_full_msg(ctl_t *ctl, char *out, size_t len)
{
    char                 size[32], bigger[32];
    apisec_store_stat_t  stat;

    memset(&stat, 0, sizeof(apisec_store_stat_t));

    if (ctl->st == NULL || apisec_store_stat(ctl->st, &stat) != APISEC_OK
        || stat.map_size == 0)
    {
        snprintf(out, len, "store is full: reopen with a bigger --map-size");
        return;
    }

    ctl_format_size(stat.map_size, size, sizeof(size));
    ctl_format_size(stat.map_size * 2, bigger, sizeof(bigger));

    snprintf(out, len, "store is full (map size %s): reopen with a bigger "
             "--map-size (e.g. --map-size %s)", size, bigger);
}


/* the biggest unit that divides size: "1G", "64M", "12345" */

static void
ctl_format_size(size_t size, char *out, size_t len)
{
    int  i;

    for (i = 3; i >= 0; i--) {
        if (size != 0 && size % ((size_t) 1 << (10 * (i + 1))) == 0) {
            snprintf(out, len, "%zu%c", size >> (10 * (i + 1)), ctl_units[i]);
            return;
        }
    }

    snprintf(out, len, "%zu", size);
}


/* "1073741824", "64M", "1G", "1g", "512K", "1T" */

static int
ctl_parse_size(const char *s, size_t *size)
{
    size_t       v, mul;
    const char  *p;

    v = 0;

    for (p = s; *p >= '0' && *p <= '9'; p++) {
        if (v > (CTL_MAP_SIZE_MAX - (size_t) (*p - '0')) / 10) {
            return -1;
        }

        v = v * 10 + (size_t) (*p - '0');
    }

    if (p == s) {
        return -1;
    }

    switch (*p) {
    case '\0':
        mul = 1;
        break;
    case 'k':
    case 'K':
        mul = (size_t) 1 << 10;
        break;
    case 'm':
    case 'M':
        mul = (size_t) 1 << 20;
        break;
    case 'g':
    case 'G':
        mul = (size_t) 1 << 30;
        break;
    case 't':
    case 'T':
        mul = (size_t) 1 << 40;
        break;
    default:
        return -1;
    }

    if (*p != '\0' && p[1] != '\0') {
        return -1;
    }

    if (v > CTL_MAP_SIZE_MAX / mul) {
        return -1;
    }

    v *= mul;

    if (v < CTL_MAP_SIZE_MIN || v > CTL_MAP_SIZE_MAX) {
        return -1;
    }

    *size = v;

    return 0;
}


/* values of options */

static int
ctl_parse_perms_opt(const char *s, unsigned *perms, char *msg, size_t len)
{
    size_t       n;
    unsigned     one;
    const char  *p, *comma;
    char         q[CTL_QUOTE_LEN];

    if (apisec_parse_perms(s, strlen(s), perms) == 0) {
        return 0;
    }

    /* name the culprit */

    for (p = s; ; p = comma + 1) {
        comma = strchr(p, ',');
        n = (comma != NULL) ? (size_t) (comma - p) : strlen(p);

        if (apisec_parse_perms(p, n, &one) != 0) {
            snprintf(msg, len, "unknown permission \"%s\" (expected read, "
                     "trade or withdraw)", ctl_quote(p, n, q));
            return -1;
        }

        if (comma == NULL) {
            break;
        }
    }

    snprintf(msg, len, "invalid permission list \"%s\" (expected a "
             "comma-separated list of read, trade, withdraw)",
             ctl_quote(s, strlen(s), q));

    return -1;
}


/* "CIDR,CIDR,..." or "none" */

static int
ctl_parse_ips_opt(const char *s, apisec_cidr_t *ips, unsigned *n_ips,
    char *msg, size_t len)
{
    size_t          n, count;
    const char     *p, *comma;
    apisec_cidr_t   c;
    char            q[CTL_QUOTE_LEN];

    *n_ips = 0;

    if (strcmp(s, "none") == 0) {
        return 0;
    }

    count = 1;

    for (p = s; *p != '\0'; p++) {
        if (*p == ',') {
            count++;
        }
    }

    if (count > APISEC_IPS_MAX) {
        snprintf(msg, len, "too many CIDRs in the IP allow-list: %zu (at "
                 "most %d)", count, APISEC_IPS_MAX);
        return -1;
    }

    for (p = s; ; p = comma + 1) {
        comma = strchr(p, ',');
        n = (comma != NULL) ? (size_t) (comma - p) : strlen(p);

        if (apisec_parse_cidr(p, n, &c) != 0) {
            snprintf(msg, len, "invalid CIDR \"%s\"", ctl_quote(p, n, q));
            return -1;
        }

        (void) ctl_add_cidr(ips, n_ips, &c);

        if (comma == NULL) {
            break;
        }
    }

    return 0;
}


/* add c unless the list holds it already; 1 when added */

static int
ctl_add_cidr(apisec_cidr_t *ips, unsigned *n_ips, const apisec_cidr_t *c)
{
    unsigned  i;

    for (i = 0; i < *n_ips; i++) {
        if (ips[i].family == c->family && ips[i].prefix == c->prefix
            && memcmp(ips[i].addr, c->addr, sizeof(c->addr)) == 0)
        {
            return 0;
        }
    }

    ips[(*n_ips)++] = *c;

    return 1;
}


static int
ctl_parse_time_opt(const char *name, const char *s, int allow_none,
    int64_t *t)
{
    char  q[CTL_QUOTE_LEN];

    if (allow_none && strcmp(s, "none") == 0) {
        *t = 0;
        return 0;
    }

    if (apisec_parse_time(s, strlen(s), t) != 0) {
        ctl_error("invalid time \"%s\" for %s (expected RFC 3339, e.g. "
                  "2030-01-01T00:00:00Z%s)", ctl_quote(s, strlen(s), q),
                  name, allow_none ? ", or none" : "");
        return -1;
    }

    return 0;
}


static int
ctl_check_label(const char *s, char *msg, size_t len)
{
    size_t  i, n;
    char    q[CTL_QUOTE_LEN];

    n = strlen(s);

    if (n == 0 || apisec_valid_label(s, n)) {
        return 0;
    }

    for (i = 0; i < n; i++) {
        if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f) {
            snprintf(msg, len, "invalid label \"%s\": control characters "
                     "are not allowed", ctl_quote(s, n, q));
            return -1;
        }
    }

    snprintf(msg, len, "invalid label \"%s\" (printable UTF-8 text of at "
             "most %d bytes)", ctl_quote(s, n, q), APISEC_LABEL_MAX);

    return -1;
}


static int
ctl_check_key_arg(const char *ak)
{
    char  q[CTL_QUOTE_LEN];

    if (!apisec_valid_access_key(ak, strlen(ak))) {
        ctl_error("invalid access key \"%s\"", ctl_quote(ak, strlen(ak), q));
        return -1;
    }

    return 0;
}


/*
 * The OKX passphrase: 1 to APISEC_PASSPHRASE_MAX bytes of printable
 * ASCII (space included).  A message never shows the passphrase, only
 * what is wrong with it.
 */

static int
ctl_check_passphrase(const char *s, size_t len, char *msg, size_t msglen)
{
    size_t  i;

    if (apisec_valid_passphrase(s, len)) {
        return 0;
    }

    if (len == 0) {
        snprintf(msg, msglen, "it is empty");

    } else if (len > APISEC_PASSPHRASE_MAX) {
        snprintf(msg, msglen, "it is %zu bytes long", len);

    } else {
        for (i = 0; i < len; i++) {
            if ((unsigned char) s[i] < 0x20 || (unsigned char) s[i] > 0x7e) {
                break;
            }
        }

        snprintf(msg, msglen, "byte %zu is %s", i + 1,
                 ((unsigned char) s[i] < 0x20 || s[i] == 0x7f)
                 ? "a control character" : "not ASCII");
    }

    return -1;
}


/*
 * --passphrase P or --passphrase-file FILE into pass (room for
 * APISEC_PASSPHRASE_MAX + 1 bytes).  *len is 0 for "--passphrase none".
 * CTL_OK, or an error code after its message.
 */

static int
ctl_passphrase_opt(ctl_t *ctl, char *pass, size_t *len)
{
    int          rc;
    size_t       n;
    const char  *v, *file;
    char         msg[CTL_MSG_LEN];

    *len = 0;

    v = ctl->opt[CTL_OPT_PASSPHRASE];
    file = ctl->opt[CTL_OPT_PASSPHRASE_FILE];

    if (v != NULL && file != NULL) {
        ctl_error("give either --passphrase or --passphrase-file, not both");
        return CTL_USAGE;
    }

    if (file != NULL) {
        if (ctl_read_passphrase(file, pass, len, msg, sizeof(msg)) != 0) {
            ctl_error("%s", msg);
            return CTL_ERROR;
        }

        return CTL_OK;
    }

    if (strcmp(v, "none") == 0) {
        return CTL_OK;
    }

    n = ctl->pass_len;
    rc = CTL_OK;

    if (ctl_check_passphrase(v, n, msg, sizeof(msg)) != 0) {
        ctl_error("invalid passphrase for --passphrase: %s (1 to %d "
                  "printable ASCII characters)", msg, APISEC_PASSPHRASE_MAX);
        rc = CTL_ERROR;

    } else {
        memcpy(pass, v, n);
        pass[n] = '\0';
        *len = n;
    }

    apisec_wipe(ctl->pass, sizeof(ctl->pass));

    return rc;
}


/*
 * The first line of a file, or of standard input for "-", without its
 * line end.  On a terminal, the line is read with echo off.
 */

static int
ctl_read_passphrase(const char *path, char *pass, size_t *len, char *msg,
    size_t msglen)
{
    int             fd, tty, err;
    char            buf[APISEC_PASSPHRASE_MAX + 3];
    char            src[CTL_QUOTE_LEN + 2], sub[CTL_MSG_LEN / 2];
    char            q[CTL_QUOTE_LEN];
    char           *nl;
    size_t          n;
    ssize_t         r;
    struct termios  saved, noecho;

    if (strcmp(path, "-") == 0) {
        fd = STDIN_FILENO;
        snprintf(src, sizeof(src), "standard input");

    } else {
        snprintf(src, sizeof(src), "\"%s\"",
                 ctl_quote(path, strlen(path), q));

        fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC);

        if (fd == -1) {
            snprintf(msg, msglen, "cannot open passphrase file %s: %s", src,
                     strerror(errno));
            return -1;
        }
    }

    tty = (isatty(fd) && tcgetattr(fd, &saved) == 0);

    if (tty) {

        /* echo off before the prompt, so that nothing typed shows */

        noecho = saved;
        noecho.c_lflag &= ~(tcflag_t) ECHO;
        noecho.c_lflag |= ECHONL;

        if (tcsetattr(fd, TCSANOW, &noecho) != 0) {
            snprintf(msg, msglen, "cannot turn off echo on the terminal "
                     "of %s: %s", src, strerror(errno));

            if (fd != STDIN_FILENO) {
                close(fd);
            }

            return -1;
        }

        fflush(stdout);
        fprintf(stderr, "apisecctl: passphrase (not echoed): ");
        fflush(stderr);
    }

    n = 0;
    nl = NULL;
    err = 0;

    while (n < sizeof(buf)) {
        r = read(fd, buf + n, sizeof(buf) - n);

        if (r == 0) {
            break;
        }

        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }

            err = errno;
            break;
        }

        nl = memchr(buf + n, '\n', (size_t) r);
        n += (size_t) r;

        if (nl != NULL) {
            break;
        }
    }

    if (tty) {
        (void) tcsetattr(fd, TCSANOW, &saved);
    }

    if (fd != STDIN_FILENO) {
        close(fd);
    }

    if (err != 0) {
        snprintf(msg, msglen, "cannot read the passphrase from %s: %s", src,
                 strerror(err));
        goto failed;
    }

    if (nl != NULL) {
        n = (size_t) (nl - buf);

    } else if (n == sizeof(buf)) {
        snprintf(msg, msglen, "invalid passphrase in %s: longer than %d "
                 "bytes", src, APISEC_PASSPHRASE_MAX);
        goto failed;
    }

    if (n > 0 && buf[n - 1] == '\r') {
        n--;
    }

    if (ctl_check_passphrase(buf, n, sub, sizeof(sub)) != 0) {
        snprintf(msg, msglen, "invalid passphrase in %s: %s (1 to %d "
                 "printable ASCII characters on the first line)", src, sub,
                 APISEC_PASSPHRASE_MAX);
        goto failed;
    }

    memcpy(pass, buf, n);
    pass[n] = '\0';
    *len = n;

    apisec_wipe(buf, sizeof(buf));

    return 0;

failed:

    apisec_wipe(buf, sizeof(buf));

    return -1;
}


/* the passphrase's salted hash into k->passhash */

static int
ctl_hash_passphrase(ctl_t *ctl, apisec_key_t *k, const char *pass,
    size_t len)
{
    int             rc;
    apisec_hmac_t  *h;

    h = apisec_hmac_new();
    if (h == NULL) {
        ctl_error("cannot hash the passphrase: %s",
                  apisec_rc_str(APISEC_ERR_CRYPTO));
        return CTL_ERROR;
    }

    rc = apisec_key_set_passphrase(ctl->st, h, k, pass, len);

    apisec_hmac_free(h);

    if (rc != APISEC_OK) {
        ctl_error("cannot hash the passphrase: %s", apisec_rc_str(rc));
        return CTL_ERROR;
    }

    return CTL_OK;
}


/* printing keys */

static void
ctl_key_row(const apisec_key_t *k, ctl_row_t *row)
{
    row->access_key = k->access_key;
    row->account = k->account;
    row->label = k->label;
    row->ips = k->ips;
    row->n_ips = k->n_ips;
    row->perms = k->perms;
    row->status = k->status;
    row->totp_enrolled = (k->totp_len != 0);
    row->has_passphrase = (k->passhash_len != 0);
    row->created_at = k->created_at;
    row->last_used_at = k->last_used_at;
    row->expires_at = k->expires_at;
    row->locked_until = k->locked_until;
}


static void
ctl_ips_text(const apisec_cidr_t *ips, unsigned n, char *out, size_t len)
{
    size_t    o;
    unsigned  i;
    char      cidr[APISEC_CIDR_LEN];

    o = 0;
    out[0] = '\0';

    for (i = 0; i < n; i++) {
        apisec_format_cidr(&ips[i], cidr);
        o += (size_t) snprintf(out + o, len - o, "%s%s", i ? "," : "", cidr);

        if (o >= len) {
            break;
        }
    }

    if (n == 0) {
        snprintf(out, len, "-");
    }
}


static void
ctl_time_text(int64_t t, char *out)
{
    if (t == 0) {
        out[0] = '-';
        out[1] = '\0';
        return;
    }

    apisec_format_time(t, out);
}


/*
 * "89d 23h", "90d 0h 1m", "5h", "12m 5s", "0s": at most three units from
 * the biggest one that is not zero, without zeros at the end
 */

static void
ctl_span_text(int64_t secs, char *out, size_t len)
{
    int        i, first, last;
    size_t     o;
    int64_t    v[4];

    static const char  unit[] = "dhms";

    if (secs < 0) {
        secs = -secs;
    }

    v[0] = secs / 86400;
    v[1] = secs % 86400 / 3600;
    v[2] = secs % 3600 / 60;
    v[3] = secs % 60;

    for (first = 0; first < 3 && v[first] == 0; first++) { /* void */ }

    last = first;

    for (i = first; i < 4 && i < first + 3; i++) {
        if (v[i] != 0) {
            last = i;
        }
    }

    o = 0;
    out[0] = '\0';

    for (i = first; i <= last && o < len; i++) {
        o += (size_t) snprintf(out + o, len - o, "%s%lld%c",
                               i == first ? "" : " ", (long long) v[i],
                               unit[i]);
    }
}


/* "2026-01-01T00:00:00Z (89d 23h ago)", "... (in 3d)", or "never" */

static void
ctl_time_ago(int64_t now, int64_t t, char *out, size_t len)
{
    char  tt[APISEC_TIME_LEN + 1], span[32];

    if (t == 0) {
        snprintf(out, len, "never");
        return;
    }

    apisec_format_time(t, tt);
    ctl_span_text(now - t, span, sizeof(span));

    snprintf(out, len, (t > now) ? "%s (in %s)" : "%s (%s ago)", tt, span);
}


/* seconds since the last use, or since the creation of a key never used */

static int64_t
ctl_idle_for(const ctl_row_t *row, int64_t now)
{
    return now - (row->last_used_at != 0 ? row->last_used_at
                                         : row->created_at);
}


/* "last used T (X ago)" or "never used, created T (X ago)" */

static void
ctl_last_use_text(const ctl_row_t *row, int64_t now, char *out, size_t len)
{
    char  t[CTL_SPAN_LEN];

    if (row->last_used_at != 0) {
        ctl_time_ago(now, row->last_used_at, t, sizeof(t));
        snprintf(out, len, "last used %s", t);

    } else {
        ctl_time_ago(now, row->created_at, t, sizeof(t));
        snprintf(out, len, "never used, created %s", t);
    }
}


static int
ctl_duration_opt(const char *name, const char *v, int64_t *secs)
{
    char  q[CTL_QUOTE_LEN];

    if (apisec_parse_duration(v, strlen(v), secs) != 0) {
        ctl_error("invalid duration \"%s\" for %s (expected N[smhd], e.g. "
                  "90d)", ctl_quote(v, strlen(v), q), name);
        return -1;
    }

    return 0;
}


static void
ctl_json_time(apisec_json_writer_t *w, const char *name, int64_t t)
{
    char  buf[APISEC_TIME_LEN + 1];

    apisec_json_key(w, name);

    if (t == 0) {
        apisec_json_null(w);
        return;
    }

    apisec_format_time(t, buf);
    apisec_json_cstring(w, buf);
}


static void
ctl_json_row(apisec_json_writer_t *w, const ctl_row_t *row,
    const char *secret)
{
    apisec_json_begin_object(w);
    ctl_json_fields(w, row, secret);
    apisec_json_end_object(w);
    apisec_json_newline(w);
}


/* a record's members, without the braces (for rows and audit findings) */

static void
ctl_json_fields(apisec_json_writer_t *w, const ctl_row_t *row,
    const char *secret)
{
    unsigned  i;
    char      cidr[APISEC_CIDR_LEN];

    apisec_json_key(w, "access_key");
    apisec_json_cstring(w, row->access_key);

    if (secret != NULL) {
        apisec_json_key(w, "secret_key");
        apisec_json_cstring(w, secret);
    }

    apisec_json_key(w, "account");
    apisec_json_cstring(w, row->account);

    apisec_json_key(w, "label");
    apisec_json_cstring(w, row->label);

    apisec_json_key(w, "permissions");
    apisec_json_begin_array(w);

    if (row->perms & APISEC_PERM_READ) {
        apisec_json_cstring(w, "read");
    }

    if (row->perms & APISEC_PERM_TRADE) {
        apisec_json_cstring(w, "trade");
    }

    if (row->perms & APISEC_PERM_WITHDRAW) {
        apisec_json_cstring(w, "withdraw");
    }

    apisec_json_end_array(w);

    apisec_json_key(w, "ips");
    apisec_json_begin_array(w);

    for (i = 0; i < row->n_ips; i++) {
        apisec_format_cidr(&row->ips[i], cidr);
        apisec_json_cstring(w, cidr);
    }

    apisec_json_end_array(w);

    apisec_json_key(w, "status");
    apisec_json_cstring(w, apisec_status_name(row->status));

    ctl_json_time(w, "created_at", row->created_at);
    ctl_json_time(w, "last_used_at", row->last_used_at);
    ctl_json_time(w, "expires_at", row->expires_at);
    ctl_json_time(w, "locked_until", row->locked_until);

    apisec_json_key(w, "totp_enrolled");
    apisec_json_bool(w, row->totp_enrolled);

    apisec_json_key(w, "has_passphrase");
    apisec_json_bool(w, row->has_passphrase);
}


/* show's format: "field: value" lines, or one JSON object */

static void
ctl_print_row(ctl_t *ctl, const ctl_row_t *row)
{
    char  perms[APISEC_PERMS_LEN];
    char  ips[CTL_IPS_TEXT_LEN];
    char  t1[APISEC_TIME_LEN + 1], t2[CTL_SPAN_LEN];
    char  t3[APISEC_TIME_LEN + 1], t4[APISEC_TIME_LEN + 1];

    if (ctl->json) {
        ctl_json_row(&ctl->w, row, NULL);
        return;
    }

    apisec_format_perms(row->perms, perms);
    ctl_ips_text(row->ips, row->n_ips, ips, sizeof(ips));
    ctl_time_text(row->created_at, t1);
    ctl_time_ago(ctl->now, row->last_used_at, t2, sizeof(t2));
    ctl_time_text(row->expires_at, t3);
    ctl_time_text(row->locked_until, t4);

    printf("access_key: %s\n"
           "account: %s\n"
           "label: %s\n"
           "permissions: %s\n"
           "ips: %s\n"
           "status: %s\n"
           "created_at: %s\n"
           "last_used_at: %s\n"
           "expires_at: %s\n"
           "locked_until: %s\n"
           "totp_enrolled: %s\n"
           "has_passphrase: %s\n",
           row->access_key, row->account,
           row->label[0] ? row->label : "-",
           perms, ips, apisec_status_name(row->status), t1, t2, t3, t4,
           row->totp_enrolled ? "yes" : "no",
           row->has_passphrase ? "yes" : "no");
}


/* create's and rotate's format: the secret, once */

static void
ctl_print_secret(ctl_t *ctl, const ctl_row_t *row, const char *secret)
{
    if (ctl->json) {
        ctl_json_row(&ctl->w, row, secret);

    } else {
        printf("access_key: %s\nsecret_key: %s\n", row->access_key, secret);
    }

    fflush(stdout);
    fprintf(stderr, "apisecctl: the secret key is shown only this once: "
            "store it safely now\n");
}


/* a pool of memory for the rows of a list */

static void *
ctl_pool_alloc(ctl_pool_t *pool, size_t size)
{
    void         *p;
    size_t        bsize;
    ctl_block_t  *b;

    size = (size + 7) & ~(size_t) 7;
    b = pool->head;

    if (b == NULL || b->size - b->used < size) {
        bsize = (size > CTL_POOL_BLOCK) ? size : CTL_POOL_BLOCK;

        b = malloc(sizeof(ctl_block_t) + bsize);
        if (b == NULL) {
            return NULL;
        }

        b->next = pool->head;
        b->used = 0;
        b->size = bsize;
        pool->head = b;
    }

    p = b->data + b->used;
    b->used += size;

    return p;
}


static char *
ctl_pool_strdup(ctl_pool_t *pool, const char *s)
{
    char    *p;
    size_t   n;

    n = strlen(s) + 1;

    p = ctl_pool_alloc(pool, n);
    if (p != NULL) {
        memcpy(p, s, n);
    }

    return p;
}


static void
ctl_pool_free(ctl_pool_t *pool)
{
    ctl_block_t  *b, *next;

    for (b = pool->head; b != NULL; b = next) {
        next = b->next;
        free(b);
    }

    pool->head = NULL;
}


/* the commands */

static int
ctl_cmd_help(ctl_t *ctl)
{
    const ctl_command_t  *cmd;
    char                  q[CTL_QUOTE_LEN];

    if (ctl->nargs == 0) {
        ctl_usage(stdout);
        return CTL_OK;
    }

    cmd = ctl_find_command(ctl->args[0]);

    if (cmd == NULL) {
        ctl_error("unknown command \"%s\" (see apisecctl --help)",
                  ctl_quote(ctl->args[0], strlen(ctl->args[0]), q));
        return CTL_USAGE;
    }

    if (cmd->handler == NULL) {
        ctl_error("command \"%s\" is not available in this version",
                  cmd->name);
        return CTL_USAGE;
    }

    ctl_command_usage(stdout, cmd);

    return CTL_OK;
}


static int
ctl_cmd_master_key(ctl_t *ctl)
{
    char         err[APISEC_ERR_LEN];
    const char  *path;

    path = (ctl->nargs > 0) ? ctl->args[0] : ctl->mk_path;

    if (path == NULL) {
        ctl_error("missing argument (usage: apisecctl %s)",
                  ctl->cmd->synopsis);
        return CTL_USAGE;
    }

    err[0] = '\0';

    if (apisec_master_key_create(path, err, sizeof(err)) != 0) {
        ctl_error("%s", err[0] ? err : "cannot create the master key file");
        return CTL_ERROR;
    }

    if (ctl->json) {
        apisec_json_begin_object(&ctl->w);
        apisec_json_key(&ctl->w, "master_key");
        apisec_json_cstring(&ctl->w, path);
        apisec_json_key(&ctl->w, "created");
        apisec_json_bool(&ctl->w, 1);
        apisec_json_end_object(&ctl->w);
        apisec_json_newline(&ctl->w);

    } else {
        printf("wrote a new master key to %s (mode 0600): keep it secret "
               "and back it up\n", path);
    }

    return CTL_OK;
}


static int
ctl_cmd_init(ctl_t *ctl)
{
    char    err[APISEC_ERR_LEN], size[32];
    size_t  map_size;

    map_size = (ctl->map_size != 0) ? ctl->map_size : APISEC_DEFAULT_MAP_SIZE;

    err[0] = '\0';

    if (apisec_store_init(ctl->store_dir, ctl->mk, map_size, err,
                          sizeof(err))
        != APISEC_OK)
    {
        ctl_error("%s", err[0] ? err : "cannot create the store");
        return CTL_ERROR;
    }

    if (ctl->json) {
        apisec_json_begin_object(&ctl->w);
        apisec_json_key(&ctl->w, "store");
        apisec_json_cstring(&ctl->w, ctl->store_dir);
        apisec_json_key(&ctl->w, "map_size");
        apisec_json_int(&ctl->w, (int64_t) map_size);
        apisec_json_end_object(&ctl->w);
        apisec_json_newline(&ctl->w);

    } else {
        ctl_format_size(map_size, size, sizeof(size));
        printf("created an empty store in %s (map size %s)\n",
               ctl->store_dir, size);
    }

    return CTL_OK;
}


static int
ctl_cmd_create(ctl_t *ctl)
{
    int             rc, tries;
    char            secret[CTL_SECRET_LEN + 1];
    char            pass[APISEC_PASSPHRASE_MAX + 1];
    char            msg[CTL_MSG_LEN], q[CTL_QUOTE_LEN];
    size_t          pass_len;
    ctl_row_t       row;
    const char     *account, *v;
    apisec_key_t    k;
    apisec_wtxn_t  *txn;

    memset(&k, 0, sizeof(apisec_key_t));

    account = ctl->opt[CTL_OPT_ACCOUNT];

    if (account == NULL) {
        ctl_error("create needs --account ID (usage: apisecctl %s)",
                  ctl->cmd->synopsis);
        return CTL_USAGE;
    }

    if (!apisec_valid_account(account, strlen(account))
        || strlen(account) > APISEC_ACCOUNT_MAX)
    {
        ctl_error("invalid account \"%s\" (1 to %d characters of A-Z a-z "
                  "0-9 . _ @ : -)", ctl_quote(account, strlen(account), q),
                  APISEC_ACCOUNT_MAX);
        return CTL_ERROR;
    }

    memcpy(k.account, account, strlen(account) + 1);

    k.perms = APISEC_PERM_READ;

    v = ctl->opt[CTL_OPT_PERM];
    if (v != NULL && ctl_parse_perms_opt(v, &k.perms, msg, sizeof(msg)) != 0)
    {
        ctl_error("%s", msg);
        return CTL_ERROR;
    }

    v = ctl->opt[CTL_OPT_IP];
    if (v != NULL
        && ctl_parse_ips_opt(v, k.ips, &k.n_ips, msg, sizeof(msg)) != 0)
    {
        ctl_error("%s", msg);
        return CTL_ERROR;
    }

    v = ctl->opt[CTL_OPT_LABEL];
    if (v != NULL) {
        if (ctl_check_label(v, msg, sizeof(msg)) != 0) {
            ctl_error("%s", msg);
            return CTL_ERROR;
        }

        memcpy(k.label, v, strlen(v) + 1);
    }

    v = ctl->opt[CTL_OPT_EXPIRES];
    if (v != NULL) {
        if (ctl_parse_time_opt("--expires", v, 0, &k.expires_at) != 0) {
            return CTL_ERROR;
        }

        if (k.expires_at <= ctl->now) {
            ctl_error("--expires %s is in the past",
                      ctl_quote(v, strlen(v), q));
            return CTL_ERROR;
        }
    }

    if (ctl->opt[CTL_OPT_PASSPHRASE] != NULL
        || ctl->opt[CTL_OPT_PASSPHRASE_FILE] != NULL)
    {
        rc = ctl_passphrase_opt(ctl, pass, &pass_len);

        if (rc == CTL_OK && pass_len != 0) {
            rc = ctl_hash_passphrase(ctl, &k, pass, pass_len);
        }

        apisec_wipe(pass, sizeof(pass));

        if (rc != CTL_OK) {
            return rc;
        }
    }

    k.status = APISEC_STATUS_ACTIVE;
    k.created_at = ctl->now;

    rc = apisec_store_begin(ctl->st, &txn);
    if (rc != APISEC_OK) {
        return ctl_store_error(ctl, rc, NULL);
    }

    for (tries = 0; ; tries++) {
        if (apisec_random_alnum(k.access_key, CTL_KEY_LEN) != 0
            || apisec_random_alnum(secret, CTL_SECRET_LEN) != 0)
        {
            apisec_store_abort(txn);
            apisec_wipe(secret, sizeof(secret));
            ctl_error("cannot generate random keys");
            return CTL_ERROR;
        }

        rc = apisec_key_set_secret(ctl->st, &k, secret, CTL_SECRET_LEN);

        if (rc == APISEC_OK) {
            rc = apisec_key_put(txn, &k, 0);
        }

        if (rc != APISEC_ERR_EXISTS || tries == 3) {
            break;
        }
    }

    if (rc == APISEC_OK) {
        rc = apisec_event_append(txn, "key.created", ctl->now, k.access_key,
                                 k.account, "\"by\":\"apisecctl\"", NULL);
    }

    if (rc != APISEC_OK) {
        apisec_store_abort(txn);
        apisec_wipe(secret, sizeof(secret));
        return ctl_store_error(ctl, rc, NULL);
    }

    rc = apisec_store_commit(txn);
    if (rc != APISEC_OK) {
        apisec_wipe(secret, sizeof(secret));
        return ctl_store_error(ctl, rc, NULL);
    }

    ctl_key_row(&k, &row);
    ctl_print_secret(ctl, &row, secret);

    apisec_wipe(secret, sizeof(secret));

    return CTL_OK;
}


static int
ctl_cmd_list(ctl_t *ctl)
{
    int          rc;
    size_t       i;
    ctl_list_t   ls;
    const char  *v;
    char         q[CTL_QUOTE_LEN];

    memset(&ls, 0, sizeof(ctl_list_t));
    ls.ctl = ctl;
    ls.status = -1;

    v = ctl->opt[CTL_OPT_ACCOUNT];
    if (v != NULL) {
        if (!apisec_valid_account(v, strlen(v))) {
            ctl_error("invalid account \"%s\"", ctl_quote(v, strlen(v), q));
            return CTL_ERROR;
        }

        ls.account = v;
    }

    v = ctl->opt[CTL_OPT_STATUS];
    if (v != NULL && apisec_parse_status(v, strlen(v), &ls.status) != 0) {
        ctl_error("invalid status \"%s\" (expected active, disabled, "
                  "expired or locked)", ctl_quote(v, strlen(v), q));
        return CTL_ERROR;
    }

    v = ctl->opt[CTL_OPT_IDLE_OVER];
    if (v != NULL && ctl_duration_opt("--idle-over", v, &ls.idle_over) != 0)
    {
        return CTL_ERROR;
    }

    rc = apisec_key_foreach(ctl->st, ctl_list_cb, &ls);

    if (ls.nomem) {
        ctl_error("out of memory");
        rc = CTL_ERROR;
        goto done;
    }

    if (rc != APISEC_OK) {
        rc = ctl_store_error(ctl, rc, NULL);
        goto done;
    }

    if (ls.n > 1) {
        qsort(ls.rows, ls.n, sizeof(ctl_row_t), ctl_row_cmp);
    }

    if (ctl->json) {
        for (i = 0; i < ls.n; i++) {
            ctl_json_row(&ctl->w, &ls.rows[i], NULL);
        }

    } else {
        ctl_list_table(&ls);
    }

    rc = CTL_OK;

done:

    free(ls.rows);
    ctl_pool_free(&ls.pool);

    return rc;
}


static int
ctl_list_cb(const apisec_key_t *k, void *arg)
{
    ctl_list_t     *ls;
    ctl_row_t      *row, *rows;

    ls = arg;

    if (ls->account != NULL && strcmp(ls->account, k->account) != 0) {
        return 0;
    }

    if (ls->status != -1 && ls->status != k->status) {
        return 0;
    }

    if (ls->idle_over != 0
        && !apisec_key_idle(k, ls->ctl->now - ls->lag, ls->idle_over,
                            ls->unbound_only))
    {
        return 0;
    }

    if (ls->n == ls->cap) {
        ls->cap = (ls->cap == 0) ? 1024 : ls->cap * 2;

        rows = realloc(ls->rows, ls->cap * sizeof(ctl_row_t));
        if (rows == NULL) {
            ls->nomem = 1;
            return 1;
        }

        ls->rows = rows;
    }

    row = &ls->rows[ls->n];

    if (ctl_row_copy(&ls->pool, k, row) != 0) {
        ls->nomem = 1;
        return 1;
    }

    ls->n++;

    return 0;
}


/* k's row with its strings in pool (k is valid only in a callback) */

static int
ctl_row_copy(ctl_pool_t *pool, const apisec_key_t *k, ctl_row_t *row)
{
    apisec_cidr_t  *ips;

    ctl_key_row(k, row);

    row->access_key = ctl_pool_strdup(pool, k->access_key);
    row->account = ctl_pool_strdup(pool, k->account);
    row->label = (k->label[0] != '\0') ? ctl_pool_strdup(pool, k->label)
                                       : "";
    row->ips = NULL;

    if (k->n_ips != 0) {
        ips = ctl_pool_alloc(pool, k->n_ips * sizeof(apisec_cidr_t));

        if (ips != NULL) {
            memcpy(ips, k->ips, k->n_ips * sizeof(apisec_cidr_t));
        }

        row->ips = ips;
    }

    if (row->access_key == NULL || row->account == NULL
        || row->label == NULL || (k->n_ips != 0 && row->ips == NULL))
    {
        return -1;
    }

    return 0;
}


/* newest first, then by access key */

static int
ctl_row_cmp(const void *a, const void *b)
{
    const ctl_row_t  *ra, *rb;

    ra = a;
    rb = b;

    if (ra->created_at != rb->created_at) {
        return (ra->created_at > rb->created_at) ? -1 : 1;
    }

    return strcmp(ra->access_key, rb->access_key);
}


static void
ctl_list_table(ctl_list_t *ls)
{
    size_t       i;
    size_t       w_key, w_acc, w_st, w_perm, w_ips, w_cr, w_lu;
    ctl_row_t   *r;
    const char  *status;
    char         perms[APISEC_PERMS_LEN], ips[CTL_IPS_TEXT_LEN];
    char         created[APISEC_TIME_LEN + 1], used[APISEC_TIME_LEN + 1];

    w_key = sizeof("ACCESS_KEY") - 1;
    w_acc = sizeof("ACCOUNT") - 1;
    w_st = sizeof("STATUS") - 1;
    w_perm = sizeof("PERMISSIONS") - 1;
    w_ips = sizeof("IPS") - 1;
    w_cr = sizeof("CREATED") - 1;
    w_lu = sizeof("LAST_USED") - 1;

    for (i = 0; i < ls->n; i++) {
        r = &ls->rows[i];

        ctl_widen(&w_key, r->access_key);
        ctl_widen(&w_acc, r->account);
        ctl_widen(&w_st, apisec_status_name(r->status));

        apisec_format_perms(r->perms, perms);
        ctl_widen(&w_perm, perms);

        ctl_ips_text(r->ips, r->n_ips, ips, sizeof(ips));
        ctl_widen(&w_ips, ips);

        ctl_time_text(r->created_at, created);
        ctl_widen(&w_cr, created);

        ctl_time_text(r->last_used_at, used);
        ctl_widen(&w_lu, used);
    }

    printf("%-*s  %-*s  %-*s  %-*s  %-*s  %-*s  %-*s  %s\n",
           (int) w_key, "ACCESS_KEY", (int) w_acc, "ACCOUNT",
           (int) w_st, "STATUS", (int) w_perm, "PERMISSIONS",
           (int) w_ips, "IPS", (int) w_cr, "CREATED",
           (int) w_lu, "LAST_USED", "LABEL");

    for (i = 0; i < ls->n; i++) {
        r = &ls->rows[i];

        status = apisec_status_name(r->status);
        apisec_format_perms(r->perms, perms);
        ctl_ips_text(r->ips, r->n_ips, ips, sizeof(ips));
        ctl_time_text(r->created_at, created);
        ctl_time_text(r->last_used_at, used);

        printf("%-*s  %-*s  %-*s  %-*s  %-*s  %-*s  %-*s  %s\n",
               (int) w_key, r->access_key, (int) w_acc, r->account,
               (int) w_st, status, (int) w_perm, perms,
               (int) w_ips, ips, (int) w_cr, created,
               (int) w_lu, used, r->label[0] ? r->label : "-");
    }
}


static void
ctl_widen(size_t *width, const char *s)
{
    size_t  n;

    n = strlen(s);

    if (n > *width) {
        *width = n;
    }
}


static int
ctl_cmd_show(ctl_t *ctl)
{
    int           rc;
    ctl_row_t     row;
    const char   *ak;
    apisec_key_t  k;

    ak = ctl->args[0];

    if (ctl_check_key_arg(ak) != 0) {
        return CTL_ERROR;
    }

    rc = apisec_key_get(ctl->st, ak, strlen(ak), &k);
    if (rc != APISEC_OK) {
        return ctl_store_error(ctl, rc, ak);
    }

    ctl_key_row(&k, &row);
    ctl_print_row(ctl, &row);

    return CTL_OK;
}


static int
ctl_cmd_set(ctl_t *ctl)
{
    int            rc;
    char           msg[CTL_MSG_LEN];
    char           pass[APISEC_PASSPHRASE_MAX + 1];
    size_t         pass_len;
    ctl_row_t      row;
    const char    *v;
    apisec_key_t   k;
    ctl_change_t   ch;

    memset(&ch, 0, sizeof(ctl_change_t));
    ch.action = CTL_ACT_SET;

    v = ctl->opt[CTL_OPT_PERM];
    if (v != NULL) {
        if (ctl_parse_perms_opt(v, &ch.perms, msg, sizeof(msg)) != 0) {
            ctl_error("%s", msg);
            return CTL_ERROR;
        }

        ch.what |= CTL_BIT(CTL_OPT_PERM);
    }

    v = ctl->opt[CTL_OPT_IP];
    if (v != NULL) {
        if (ctl_parse_ips_opt(v, ch.ips, &ch.n_ips, msg, sizeof(msg)) != 0) {
            ctl_error("%s", msg);
            return CTL_ERROR;
        }

        ch.what |= CTL_BIT(CTL_OPT_IP);
    }

    v = ctl->opt[CTL_OPT_LABEL];
    if (v != NULL) {
        if (ctl_check_label(v, msg, sizeof(msg)) != 0) {
            ctl_error("%s", msg);
            return CTL_ERROR;
        }

        ch.label = v;
        ch.what |= CTL_BIT(CTL_OPT_LABEL);
    }

    v = ctl->opt[CTL_OPT_EXPIRES];
    if (v != NULL) {
        if (ctl_parse_time_opt("--expires", v, 1, &ch.expires_at) != 0) {
            return CTL_ERROR;
        }

        ch.what |= CTL_BIT(CTL_OPT_EXPIRES);
    }

    v = ctl->opt[CTL_OPT_LAST_USED];
    if (v != NULL) {
        if (ctl_parse_time_opt("--last-used", v, 1, &ch.last_used_at) != 0) {
            return CTL_ERROR;
        }

        ch.what |= CTL_BIT(CTL_OPT_LAST_USED);
    }

    if (ctl->opt[CTL_OPT_PASSPHRASE] != NULL
        || ctl->opt[CTL_OPT_PASSPHRASE_FILE] != NULL)
    {
        rc = ctl_passphrase_opt(ctl, pass, &pass_len);

        if (rc == CTL_OK && pass_len != 0) {

            /* hashed now: only the hash goes into the write transaction */

            memset(&k, 0, sizeof(apisec_key_t));
            rc = ctl_hash_passphrase(ctl, &k, pass, pass_len);

            memcpy(ch.passhash, k.passhash, k.passhash_len);
            ch.passhash_len = k.passhash_len;
        }

        apisec_wipe(pass, sizeof(pass));

        if (rc != CTL_OK) {
            return rc;
        }

        ch.what |= CTL_BIT(CTL_OPT_PASSPHRASE);
    }

    if (ch.what == 0) {
        ctl_error("set needs at least one of --perm, --ip, --label, "
                  "--expires, --last-used, --passphrase, --passphrase-file "
                  "(usage: apisecctl %s)", ctl->cmd->synopsis);
        return CTL_USAGE;
    }

    if (ctl_check_key_arg(ctl->args[0]) != 0) {
        return CTL_ERROR;
    }

    rc = ctl_change(ctl, ctl->args[0], &ch, &k);
    if (rc != CTL_OK) {
        return rc;
    }

    ctl_key_row(&k, &row);
    ctl_print_row(ctl, &row);

    return CTL_OK;
}


static int
ctl_cmd_disable(ctl_t *ctl)
{
    return ctl_status_change(ctl, CTL_ACT_DISABLE, "disabled");
}


static int
ctl_cmd_unlock(ctl_t *ctl)
{
    return ctl_status_change(ctl, CTL_ACT_UNLOCK, "unlocked");
}


/* disable, unlock: the change, then the key (--json) or one line */

static int
ctl_status_change(ctl_t *ctl, int action, const char *done)
{
    int           rc;
    ctl_row_t     row;
    apisec_key_t  k;
    ctl_change_t  ch;

    if (ctl_check_key_arg(ctl->args[0]) != 0) {
        return CTL_ERROR;
    }

    memset(&ch, 0, sizeof(ctl_change_t));
    ch.action = action;

    rc = ctl_change(ctl, ctl->args[0], &ch, &k);
    if (rc != CTL_OK) {
        return rc;
    }

    if (ctl->json) {
        ctl_key_row(&k, &row);
        ctl_print_row(ctl, &row);

    } else {
        printf("key %s %s\n", k.access_key, done);
    }

    return CTL_OK;
}


static int
ctl_cmd_enable(ctl_t *ctl)
{
    int           rc;
    char          t[APISEC_TIME_LEN + 1];
    ctl_row_t     row;
    apisec_key_t  k;
    ctl_change_t  ch;

    if (ctl_check_key_arg(ctl->args[0]) != 0) {
        return CTL_ERROR;
    }

    memset(&ch, 0, sizeof(ctl_change_t));
    ch.action = CTL_ACT_ENABLE;

    rc = ctl_change(ctl, ctl->args[0], &ch, &k);
    if (rc != CTL_OK) {
        return rc;
    }

    if (ctl->json) {
        ctl_key_row(&k, &row);
        ctl_print_row(ctl, &row);

    } else {
        printf("key %s enabled (was %s)\n", k.access_key,
               apisec_status_name(ch.was_status));
    }

    if (k.expires_at != 0 && k.expires_at <= ctl->now) {
        apisec_format_time(k.expires_at, t);
        ctl_warn("key %s is past its expiry time %s and is still refused; "
                 "clear it with: apisecctl set %s --expires none",
                 k.access_key, t, k.access_key);
    }

    return CTL_OK;
}


/*
 * usage KEY: the windows of the store's "usage" database that belong to
 * the key ("k|KEY|...", "f|KEY|...") or to its account ("a|ACCOUNT|..."),
 * as of now.  nginx writes an amount rule's window before the request
 * goes on, a failures rule's window with the next flush.
 */

typedef struct {
    ctl_t               *ctl;
    const char          *access_key;
    unsigned             n;
} ctl_usage_t;


static int
ctl_cmd_usage(ctl_t *ctl)
{
    int            rc;
    size_t         n;
    char           prefix[2 + APISEC_ACCOUNT_MAX + 2];
    apisec_key_t   k;
    ctl_usage_t    u;
    const char    *ak;
    static const char  kinds[] = "kfa";
    unsigned       i;

    ak = ctl->args[0];

    if (ctl_check_key_arg(ak) != 0) {
        return CTL_ERROR;
    }

    rc = apisec_key_get(ctl->st, ak, strlen(ak), &k);
    if (rc != APISEC_OK) {
        return ctl_store_error(ctl, rc, ak);
    }

    memset(&u, 0, sizeof(ctl_usage_t));
    u.ctl = ctl;
    u.access_key = k.access_key;

    if (!ctl->json) {
        printf("%-24s %-8s %-9s %-8s %-42s %-6s %s\n", "RULE", "BY", "CURRENCY",
               "WINDOW", "SUM", "COUNT", "NEXT_EXPIRY");
    }

    for (i = 0; i < sizeof(kinds) - 1; i++) {
        n = (size_t) snprintf(prefix, sizeof(prefix), "%c|%s|", kinds[i],
                              kinds[i] == 'a' ? k.account : k.access_key);

        rc = apisec_usage_foreach(ctl->st, prefix, n, ctl_usage_cb, &u);
        if (rc != APISEC_OK) {
            return ctl_store_error(ctl, rc, NULL);
        }
    }

    if (!ctl->json && u.n == 0) {
        printf("(no amount or failures rule has counted for key %s or "
               "account %s)\n", k.access_key, k.account);
    }

    return CTL_OK;
}


static int
ctl_usage_cb(const char *key, size_t len, const apisec_window_t *w,
    void *arg)
{
    ctl_usage_t *u = arg;

    char           sum[APISEC_DEC_LEN], t[APISEC_TIME_LEN + 1];
    char           rule[APISEC_USAGE_KEY_MAX + 1];
    char           cur[APISEC_USAGE_KEY_MAX + 1];
    char           window[32];
    size_t         i, f[3], nf;
    int64_t        next, per;
    uint64_t       count;
    apisec_dec_t   total;
    const char    *by;
    ctl_t         *ctl;

    ctl = u->ctl;

    /* "k|WHO|CUR|RULE", "a|WHO|CUR|RULE", "f|WHO|RULE" */

    nf = 0;

    for (i = 0; i < len && nf < 3; i++) {
        if (key[i] == '|') {
            f[nf++] = i;
        }
    }

    if (key[0] == 'f') {
        if (nf < 2) {
            return 0;
        }

        by = "key";
        cur[0] = '\0';
        snprintf(rule, sizeof(rule), "%.*s", (int) (len - f[1] - 1),
                 key + f[1] + 1);

    } else {
        if (nf < 3) {
            return 0;
        }

        by = (key[0] == 'a') ? "account" : "key";
        snprintf(cur, sizeof(cur), "%.*s", (int) (f[2] - f[1] - 1),
                 key + f[1] + 1);
        snprintf(rule, sizeof(rule), "%.*s", (int) (len - f[2] - 1),
                 key + f[2] + 1);
    }

    apisec_window_total(w, ctl->now, &total, &count);
    next = apisec_window_next_expiry(w, ctl->now);
    per = (int64_t) w->width * (int64_t) (w->nslots - 1);

    if (key[0] == 'f') {
        snprintf(sum, sizeof(sum), "%llu", (unsigned long long) total);

    } else {
        (void) apisec_dec_format(total, sum);
    }

    u->n++;

    if (ctl->json) {
        apisec_json_begin_object(&ctl->w);
        apisec_json_key(&ctl->w, "access_key");
        apisec_json_cstring(&ctl->w, u->access_key);
        apisec_json_key(&ctl->w, "rule");
        apisec_json_cstring(&ctl->w, rule);
        apisec_json_key(&ctl->w, "rule_type");
        apisec_json_cstring(&ctl->w, key[0] == 'f' ? "failures" : "amount");
        apisec_json_key(&ctl->w, "by");
        apisec_json_cstring(&ctl->w, by);
        apisec_json_key(&ctl->w, "currency");
        apisec_json_cstring(&ctl->w, cur);
        apisec_json_key(&ctl->w, "window_seconds");
        apisec_json_int(&ctl->w, per);
        apisec_json_key(&ctl->w, "sum");
        apisec_json_cstring(&ctl->w, sum);
        apisec_json_key(&ctl->w, "count");
        apisec_json_int(&ctl->w, (int64_t) count);
        apisec_json_key(&ctl->w, "next_expiry");

        if (next) {
            apisec_format_time(next, t);
            apisec_json_cstring(&ctl->w, t);

        } else {
            apisec_json_null(&ctl->w);
        }

        apisec_json_end_object(&ctl->w);
        apisec_json_newline(&ctl->w);

        return 0;
    }

    snprintf(window, sizeof(window), "%llds", (long long) per);

    if (next) {
        apisec_format_time(next, t);

    } else {
        t[0] = '-';
        t[1] = '\0';
    }

    printf("%-24s %-8s %-9s %-8s %-42s %-6llu %s\n", rule, by,
           cur[0] ? cur : "-", window, sum, (unsigned long long) count, t);

    return 0;
}


/*
 * backup and restore.  An interrupt (^C, SIGTERM, SIGHUP) waits until the
 * copy is in place or removed, so that it never leaves a temporary file.
 */

static int
ctl_cmd_backup(ctl_t *ctl)
{
    int                   rc, force;
    sigset_t              old;
    const char           *file;
    apisec_backup_info_t  bi;

    file = ctl->args[0];
    force = (ctl->opt[CTL_OPT_FORCE] != NULL);

    memset(&bi, 0, sizeof(apisec_backup_info_t));

    ctl_block_signals(&old);
    rc = apisec_store_backup(ctl->st, file, force, &bi);
    (void) sigprocmask(SIG_SETMASK, &old, NULL);

    if (rc == APISEC_ERR_EXISTS) {
        ctl_error("%s (backup --force replaces it)",
                  apisec_store_error(ctl->st));
        return CTL_ERROR;
    }

    if (rc != APISEC_OK) {
        return ctl_store_error(ctl, rc, NULL);
    }

    ctl_backup_print(ctl, NULL, file, &bi);

    return CTL_OK;
}


static int
ctl_cmd_restore(ctl_t *ctl)
{
    int                   rc;
    char                  err[APISEC_ERR_LEN];
    sigset_t              old;
    apisec_backup_info_t  bi;

    memset(&bi, 0, sizeof(apisec_backup_info_t));
    err[0] = '\0';

    ctl_block_signals(&old);
    rc = apisec_store_restore(ctl->args[0], ctl->store_dir, ctl->mk, &bi,
                              err, sizeof(err));
    (void) sigprocmask(SIG_SETMASK, &old, NULL);

    if (rc != APISEC_OK) {
        ctl_error("%s", err[0] ? err : apisec_rc_str(rc));
        return CTL_ERROR;
    }

    ctl_backup_print(ctl, ctl->store_dir, ctl->args[0], &bi);

    return CTL_OK;
}


static void
ctl_block_signals(sigset_t *old)
{
    sigset_t  set;

    (void) sigemptyset(&set);
    (void) sigaddset(&set, SIGINT);
    (void) sigaddset(&set, SIGTERM);
    (void) sigaddset(&set, SIGHUP);
    (void) sigaddset(&set, SIGQUIT);
    (void) sigprocmask(SIG_BLOCK, &set, old);
}


/* store NULL: a backup written to file; else a store restored from it */

static void
ctl_backup_print(ctl_t *ctl, const char *store, const char *file,
    const apisec_backup_info_t *bi)
{
    if (ctl->json) {
        apisec_json_begin_object(&ctl->w);

        if (store != NULL) {
            apisec_json_key(&ctl->w, "store");
            apisec_json_cstring(&ctl->w, store);
        }

        apisec_json_key(&ctl->w, "file");
        apisec_json_cstring(&ctl->w, file);
        apisec_json_key(&ctl->w, "bytes");
        apisec_json_int(&ctl->w, (int64_t) bi->bytes);
        apisec_json_key(&ctl->w, "keys");
        apisec_json_int(&ctl->w, (int64_t) bi->keys);
        apisec_json_key(&ctl->w, "events");
        apisec_json_int(&ctl->w, (int64_t) bi->events);
        apisec_json_end_object(&ctl->w);
        apisec_json_newline(&ctl->w);
        return;
    }

    if (store == NULL) {
        printf("wrote a backup of %zu key%s and %zu event%s to %s "
               "(%llu bytes)\n", bi->keys, bi->keys == 1 ? "" : "s",
               bi->events, bi->events == 1 ? "" : "s", file,
               (unsigned long long) bi->bytes);

    } else {
        printf("restored a store of %zu key%s and %zu event%s from %s "
               "into %s\n", bi->keys, bi->keys == 1 ? "" : "s",
               bi->events, bi->events == 1 ? "" : "s", file, store);
    }
}


static int
ctl_cmd_rotate(ctl_t *ctl)
{
    int           rc;
    ctl_row_t     row;
    apisec_key_t  k;
    ctl_change_t  ch;

    if (ctl_check_key_arg(ctl->args[0]) != 0) {
        return CTL_ERROR;
    }

    memset(&ch, 0, sizeof(ctl_change_t));
    ch.action = CTL_ACT_ROTATE;

    rc = ctl_change(ctl, ctl->args[0], &ch, &k);

    if (rc == CTL_OK) {
        ctl_key_row(&k, &row);
        ctl_print_secret(ctl, &row, ch.secret);
    }

    apisec_wipe(ch.secret, sizeof(ch.secret));

    return rc;
}


static int
ctl_cmd_revoke(ctl_t *ctl)
{
    int             rc;
    const char     *ak;
    apisec_key_t    k;
    apisec_wtxn_t  *txn;

    ak = ctl->args[0];

    if (ctl_check_key_arg(ak) != 0) {
        return CTL_ERROR;
    }

    rc = apisec_store_begin(ctl->st, &txn);
    if (rc != APISEC_OK) {
        return ctl_store_error(ctl, rc, NULL);
    }

    rc = apisec_key_get_w(txn, ak, strlen(ak), &k);

    if (rc == APISEC_OK) {
        rc = apisec_key_del(txn, ak, strlen(ak));
    }

    if (rc == APISEC_OK) {
        rc = apisec_event_append(txn, "key.revoked", ctl->now, k.access_key,
                                 k.account, "\"by\":\"apisecctl\"", NULL);
    }

    if (rc != APISEC_OK) {
        apisec_store_abort(txn);
        return ctl_store_error(ctl, rc, ak);
    }

    rc = apisec_store_commit(txn);
    if (rc != APISEC_OK) {
        return ctl_store_error(ctl, rc, ak);
    }

    if (ctl->json) {
        apisec_json_begin_object(&ctl->w);
        apisec_json_key(&ctl->w, "access_key");
        apisec_json_cstring(&ctl->w, ak);
        apisec_json_key(&ctl->w, "revoked");
        apisec_json_bool(&ctl->w, 1);
        apisec_json_end_object(&ctl->w);
        apisec_json_newline(&ctl->w);

    } else {
        printf("key %s revoked\n", ak);
    }

    return CTL_OK;
}


/*
 * expire-idle: the keys are picked in a read transaction (nginx's writers
 * are not held up by the scan), then each one is read again, checked
 * again and expired in one write transaction: a key used in between, or
 * expired or changed by someone else, is left alone.
 */

static int
ctl_cmd_expire_idle(ctl_t *ctl)
{
    int             rc, dry_run;
    size_t          i, n;
    ctl_row_t      *row;
    ctl_list_t      ls;
    const char     *idle;
    apisec_key_t    k;
    apisec_wtxn_t  *txn;

    memset(&ls, 0, sizeof(ctl_list_t));
    ls.ctl = ctl;
    ls.status = APISEC_STATUS_ACTIVE;
    ls.unbound_only = (ctl->opt[CTL_OPT_UNBOUND_IP_ONLY] != NULL);

    /*
     * nginx writes last uses at most apisec_flush_interval (60 s by
     * default) late: a key is expired only when idle two minutes more than
     * asked, so that a use still on its way to the store cannot be missed
     */
    ls.lag = CTL_FLUSH_GRACE;

    dry_run = (ctl->opt[CTL_OPT_DRY_RUN] != NULL);

    idle = ctl->opt[CTL_OPT_IDLE];
    if (idle == NULL) {
        idle = CTL_IDLE_DEFAULT;
    }

    if (ctl_duration_opt("--idle", idle, &ls.idle_over) != 0) {
        return CTL_ERROR;
    }

    rc = apisec_key_foreach(ctl->st, ctl_list_cb, &ls);

    if (ls.nomem) {
        ctl_error("out of memory");
        rc = CTL_ERROR;
        goto done;
    }

    if (rc != APISEC_OK) {
        rc = ctl_store_error(ctl, rc, NULL);
        goto done;
    }

    n = ls.n;

    if (!dry_run && ls.n != 0) {
        rc = apisec_store_begin(ctl->st, &txn);
        if (rc != APISEC_OK) {
            rc = ctl_store_error(ctl, rc, NULL);
            goto done;
        }

        n = 0;

        for (i = 0; i < ls.n; i++) {
            row = &ls.rows[i];

            rc = apisec_key_get_w(txn, row->access_key,
                                  strlen(row->access_key), &k);

            if (rc == APISEC_ERR_NOTFOUND) {
                continue;                   /* revoked meanwhile */
            }

            if (rc != APISEC_OK) {
                break;
            }

            if (k.status != APISEC_STATUS_ACTIVE
                || !apisec_key_idle(&k, ctl->now - ls.lag, ls.idle_over,
                                    ls.unbound_only))
            {
                continue;
            }

            rc = apisec_key_expire_idle(txn, &k, ctl->now, ls.idle_over,
                                        "apisecctl");
            if (rc != APISEC_OK) {
                break;
            }

            /* what was written, for the report after the commit */

            row->status = k.status;
            row->last_used_at = k.last_used_at;
            row->created_at = k.created_at;
            ls.rows[n++] = *row;
        }

        if (rc != APISEC_OK && rc != APISEC_ERR_NOTFOUND) {
            apisec_store_abort(txn);
            rc = ctl_store_error(ctl, rc, NULL);
            goto done;
        }

        rc = apisec_store_commit(txn);
        if (rc != APISEC_OK) {
            rc = ctl_store_error(ctl, rc, NULL);
            goto done;
        }
    }

    for (i = 0; i < n; i++) {
        ctl_expire_print(ctl, &ls.rows[i], dry_run);
    }

    if (ctl->json) {
        apisec_json_begin_object(&ctl->w);
        apisec_json_key(&ctl->w, "expired");
        apisec_json_int(&ctl->w, (int64_t) n);
        apisec_json_key(&ctl->w, "idle");
        apisec_json_cstring(&ctl->w, idle);
        apisec_json_key(&ctl->w, "unbound_ip_only");
        apisec_json_bool(&ctl->w, ls.unbound_only);
        apisec_json_key(&ctl->w, "dry_run");
        apisec_json_bool(&ctl->w, dry_run);
        apisec_json_end_object(&ctl->w);
        apisec_json_newline(&ctl->w);

    } else {
        printf("%s %zu key%s idle over %s%s%s\n",
               dry_run ? "would expire" : "expired", n, n == 1 ? "" : "s",
               idle, ls.unbound_only ? " (keys without an IP allow-list)" : "",
               dry_run ? " (dry run: nothing written)" : "");
    }

    rc = CTL_OK;

done:

    free(ls.rows);
    ctl_pool_free(&ls.pool);

    return rc;
}


static void
ctl_expire_print(ctl_t *ctl, const ctl_row_t *row, int dry_run)
{
    apisec_json_writer_t  *w;
    char                   use[CTL_SPAN_LEN + 32];

    if (!ctl->json) {
        ctl_last_use_text(row, ctl->now, use, sizeof(use));
        printf("%s %s (account %s): %s\n",
               dry_run ? "would expire" : "expired", row->access_key,
               row->account, use);
        return;
    }

    w = &ctl->w;

    apisec_json_begin_object(w);
    apisec_json_key(w, "access_key");
    apisec_json_cstring(w, row->access_key);
    apisec_json_key(w, "account");
    apisec_json_cstring(w, row->account);
    apisec_json_key(w, "label");
    apisec_json_cstring(w, row->label);
    apisec_json_key(w, "status");
    apisec_json_cstring(w, apisec_status_name(row->status));
    ctl_json_time(w, "created_at", row->created_at);
    ctl_json_time(w, "last_used_at", row->last_used_at);
    apisec_json_key(w, "idle_seconds");
    apisec_json_int(w, ctl_idle_for(row, ctl->now));
    apisec_json_end_object(w);
    apisec_json_newline(w);
}


/*
 * audit: read-only.  Every key is looked at once, in one read
 * transaction; a key may have several findings.  Exit status 3 when there
 * is any, so that cron can alert.
 */

static int
ctl_cmd_audit(ctl_t *ctl)
{
    int           rc;
    const char   *idle;
    ctl_audit_t   au;

    memset(&au, 0, sizeof(ctl_audit_t));
    au.ctl = ctl;

    idle = ctl->opt[CTL_OPT_IDLE_OVER];
    if (idle == NULL) {
        idle = CTL_IDLE_DEFAULT;
    }

    if (ctl_duration_opt("--idle-over", idle, &au.idle) != 0) {
        return CTL_ERROR;
    }

    rc = apisec_key_foreach(ctl->st, ctl_audit_cb, &au);

    if (au.nomem) {
        ctl_error("out of memory");
        rc = CTL_ERROR;
        goto done;
    }

    if (rc != APISEC_OK) {
        rc = ctl_store_error(ctl, rc, NULL);
        goto done;
    }

    if (au.n > 1) {
        qsort(au.finds, au.n, sizeof(ctl_finding_t), ctl_finding_cmp);
    }

    if (ctl->json) {
        ctl_audit_json(&au, idle);

    } else {
        ctl_audit_text(&au, idle);
    }

    rc = (au.n != 0) ? CTL_FINDINGS : CTL_OK;

done:

    free(au.finds);
    ctl_pool_free(&au.pool);

    return rc;
}


static int
ctl_audit_cb(const apisec_key_t *k, void *arg)
{
    int           kind;
    int64_t       now, order;
    unsigned      found;
    ctl_row_t    *row;
    ctl_audit_t  *au;

    au = arg;
    now = au->ctl->now;

    au->keys++;

    found = 0;

    if (k->status == APISEC_STATUS_ACTIVE
        && apisec_key_idle(k, now, au->idle, 0))
    {
        found |= 1u << CTL_FIND_IDLE;
    }

    if (k->last_used_at == 0) {
        found |= 1u << CTL_FIND_NEVER_USED;
    }

    if ((k->perms & APISEC_PERM_WITHDRAW) && k->n_ips == 0) {
        found |= 1u << CTL_FIND_WITHDRAW_NO_IP;
    }

    if ((k->perms & APISEC_PERM_WITHDRAW) && k->totp_len == 0) {
        found |= 1u << CTL_FIND_WITHDRAW_NO_2FA;
    }

    if (k->status == APISEC_STATUS_EXPIRED
        || (k->expires_at != 0 && k->expires_at <= now))
    {
        found |= 1u << CTL_FIND_EXPIRED;
    }

    if (k->status == APISEC_STATUS_LOCKED) {
        found |= 1u << CTL_FIND_LOCKED;
    }

    if (k->status == APISEC_STATUS_DISABLED) {
        found |= 1u << CTL_FIND_DISABLED;
    }

    if (k->status == APISEC_STATUS_ACTIVE && k->expires_at > now
        && k->expires_at <= now + CTL_EXPIRING)
    {
        found |= 1u << CTL_FIND_EXPIRING;
    }

    if (found == 0) {
        return 0;
    }

    row = ctl_pool_alloc(&au->pool, sizeof(ctl_row_t));

    if (row == NULL || ctl_row_copy(&au->pool, k, row) != 0) {
        au->nomem = 1;
        return 1;
    }

    for (kind = 0; kind < CTL_FIND_MAX; kind++) {
        if (!(found & (1u << kind))) {
            continue;
        }

        switch (kind) {
        case CTL_FIND_IDLE:
            order = (k->last_used_at != 0) ? k->last_used_at : k->created_at;
            break;
        case CTL_FIND_NEVER_USED:
            order = k->created_at;
            break;
        case CTL_FIND_EXPIRING:
            order = k->expires_at;
            break;
        default:
            order = 0;
        }

        if (ctl_audit_add(au, kind, order, row) != 0) {
            return 1;
        }
    }

    au->keys_found++;

    return 0;
}


static int
ctl_audit_add(ctl_audit_t *au, int kind, int64_t order, const ctl_row_t *row)
{
    size_t          cap;
    ctl_finding_t  *finds;

    if (au->n == au->cap) {
        cap = (au->cap == 0) ? 256 : au->cap * 2;

        finds = realloc(au->finds, cap * sizeof(ctl_finding_t));
        if (finds == NULL) {
            au->nomem = 1;
            return -1;
        }

        au->finds = finds;
        au->cap = cap;
    }

    au->finds[au->n].kind = kind;
    au->finds[au->n].order = order;
    au->finds[au->n].row = row;
    au->n++;

    au->count[kind]++;

    return 0;
}


/* by kind; then oldest use, nearest expiry first; then by access key */

static int
ctl_finding_cmp(const void *a, const void *b)
{
    const ctl_finding_t  *fa, *fb;

    fa = a;
    fb = b;

    if (fa->kind != fb->kind) {
        return (fa->kind < fb->kind) ? -1 : 1;
    }

    if (fa->order != fb->order) {
        return (fa->order < fb->order) ? -1 : 1;
    }

    return strcmp(fa->row->access_key, fb->row->access_key);
}


static void
ctl_finding_detail(ctl_t *ctl, const ctl_finding_t *f, char *out,
    size_t len)
{
    char              t[CTL_SPAN_LEN], use[CTL_SPAN_LEN + 32];
    char              perms[APISEC_PERMS_LEN];
    const ctl_row_t  *r;

    r = f->row;

    ctl_last_use_text(r, ctl->now, use, sizeof(use));

    switch (f->kind) {

    case CTL_FIND_IDLE:
        snprintf(out, len, "%s", use);
        break;

    case CTL_FIND_NEVER_USED:
        ctl_time_ago(ctl->now, r->created_at, t, sizeof(t));
        snprintf(out, len, "created %s, status %s", t,
                 apisec_status_name(r->status));
        break;

    case CTL_FIND_WITHDRAW_NO_IP:
    case CTL_FIND_WITHDRAW_NO_2FA:
        apisec_format_perms(r->perms, perms);
        snprintf(out, len, "permissions %s, status %s", perms,
                 apisec_status_name(r->status));
        break;

    case CTL_FIND_EXPIRED:
        if (r->status == APISEC_STATUS_EXPIRED) {
            snprintf(out, len, "status expired, %s", use);

        } else {
            ctl_time_ago(ctl->now, r->expires_at, t, sizeof(t));
            snprintf(out, len, "expires_at %s passed, status %s", t,
                     apisec_status_name(r->status));
        }

        break;

    case CTL_FIND_LOCKED:
        if (r->locked_until != 0) {
            ctl_time_ago(ctl->now, r->locked_until, t, sizeof(t));
            snprintf(out, len, "locked until %s", t);

        } else {
            snprintf(out, len, "locked until unlocked");
        }

        break;

    case CTL_FIND_DISABLED:
        snprintf(out, len, "%s", use);
        break;

    default: /* CTL_FIND_EXPIRING */
        ctl_time_ago(ctl->now, r->expires_at, t, sizeof(t));
        snprintf(out, len, "expires_at %s", t);
    }
}


static void
ctl_audit_text(ctl_audit_t *au, const char *idle)
{
    int                   kind;
    char                  now[APISEC_TIME_LEN + 1], detail[CTL_MSG_LEN];
    size_t                i, w_key, w_acc;
    const ctl_finding_t  *f;

    apisec_format_time(au->ctl->now, now);

    if (au->n == 0) {
        printf("audit of %zu key%s at %s (idle over %s): no findings\n",
               au->keys, au->keys == 1 ? "" : "s", now, idle);
        return;
    }

    printf("audit of %zu key%s at %s (idle over %s): %zu finding%s on "
           "%zu key%s\n", au->keys, au->keys == 1 ? "" : "s", now, idle,
           au->n, au->n == 1 ? "" : "s", au->keys_found,
           au->keys_found == 1 ? "" : "s");

    w_key = 0;
    w_acc = 0;

    for (i = 0; i < au->n; i++) {
        ctl_widen(&w_key, au->finds[i].row->access_key);
        ctl_widen(&w_acc, au->finds[i].row->account);
    }

    kind = -1;

    for (i = 0; i < au->n; i++) {
        f = &au->finds[i];

        if (f->kind != kind) {
            kind = f->kind;

            printf("\n%s (%zu): ", ctl_find_kinds[kind].name,
                   au->count[kind]);
            printf(ctl_find_kinds[kind].heading, idle);
            printf("\n");
        }

        ctl_finding_detail(au->ctl, f, detail, sizeof(detail));

        printf("  %-*s  %-*s  %s\n", (int) w_key, f->row->access_key,
               (int) w_acc, f->row->account, detail);
    }
}


static void
ctl_audit_json(ctl_audit_t *au, const char *idle)
{
    int                    kind;
    char                   detail[CTL_MSG_LEN];
    size_t                 i;
    const ctl_row_t       *r;
    apisec_json_writer_t  *w;

    w = &au->ctl->w;

    for (i = 0; i < au->n; i++) {
        r = au->finds[i].row;

        ctl_finding_detail(au->ctl, &au->finds[i], detail, sizeof(detail));

        apisec_json_begin_object(w);
        apisec_json_key(w, "finding");
        apisec_json_cstring(w, ctl_find_kinds[au->finds[i].kind].name);
        ctl_json_fields(w, r, NULL);
        apisec_json_key(w, "idle_seconds");
        apisec_json_int(w, ctl_idle_for(r, au->ctl->now));
        apisec_json_key(w, "detail");
        apisec_json_cstring(w, detail);
        apisec_json_end_object(w);
        apisec_json_newline(w);
    }

    apisec_json_begin_object(w);
    apisec_json_key(w, "findings");
    apisec_json_int(w, (int64_t) au->n);
    apisec_json_key(w, "keys");
    apisec_json_int(w, (int64_t) au->keys);
    apisec_json_key(w, "keys_with_findings");
    apisec_json_int(w, (int64_t) au->keys_found);
    apisec_json_key(w, "idle_over");
    apisec_json_cstring(w, idle);
    ctl_json_time(w, "time", au->ctl->now);
    apisec_json_key(w, "counts");
    apisec_json_begin_object(w);

    for (kind = 0; kind < CTL_FIND_MAX; kind++) {
        apisec_json_key(w, ctl_find_kinds[kind].name);
        apisec_json_int(w, (int64_t) au->count[kind]);
    }

    apisec_json_end_object(w);
    apisec_json_end_object(w);
    apisec_json_newline(w);
}


/*
 * events: the event log from the store, oldest first.  --json prints the
 * stored JSON lines as they are; text is "SEQ TIME TYPE ACCESS_KEY
 * ACCOUNT name=value ...", values from the store shown printable.
 */

static int
ctl_cmd_events(ctl_t *ctl)
{
    int            rc;
    uint64_t       since;
    const char    *v;
    ctl_events_t   ev;
    char           q[CTL_QUOTE_LEN];

    since = 0;

    v = ctl->opt[CTL_OPT_SINCE];
    if (v != NULL && ctl_parse_seq(v, &since) != 0) {
        ctl_error("invalid sequence number \"%s\" for --since (expected "
                  "0 or more, e.g. 42)", ctl_quote(v, strlen(v), q));
        return CTL_ERROR;
    }

    memset(&ev, 0, sizeof(ctl_events_t));
    ev.ctl = ctl;
    apisec_json_object_init(&ev.obj);

    ev.last = since;

    rc = apisec_event_foreach(ctl->st, since, ctl_events_cb, &ev);

    /*
     * --follow: then every new event, as tail -f does: the store is read
     * again every CTL_FOLLOW_MS (each time a new read transaction, so the
     * events nginx's flushes commit are seen), until interrupted or
     * standard output fails
     */

    while (rc == APISEC_OK && ctl->opt[CTL_OPT_FOLLOW] != NULL) {

        if (fflush(stdout) != 0 || ferror(stdout)) {
            break;
        }

        (void) usleep(CTL_FOLLOW_MS * 1000);

        rc = apisec_event_foreach(ctl->st, ev.last, ctl_events_cb, &ev);
    }

    apisec_json_object_free(&ev.obj);

    if (rc != APISEC_OK) {
        return ctl_store_error(ctl, rc, NULL);
    }

    return CTL_OK;
}


/* a decimal number below 2^63 */

static int
ctl_parse_seq(const char *s, uint64_t *seq)
{
    uint64_t     n;
    const char  *p;

    n = 0;

    for (p = s; *p >= '0' && *p <= '9'; p++) {
        if (n > ((uint64_t) INT64_MAX - (uint64_t) (*p - '0')) / 10) {
            return -1;
        }

        n = n * 10 + (uint64_t) (*p - '0');
    }

    if (p == s || *p != '\0') {
        return -1;
    }

    *seq = n;

    return 0;
}


static int
ctl_events_cb(uint64_t seq, const char *json, size_t len, void *arg)
{
    size_t                       i;
    ctl_events_t                *ev;
    const char                 **h;
    const apisec_json_member_t  *m;
    char                         err[APISEC_JSON_ERR_LEN];
    char                         q[CTL_QUOTE_LEN];
    char                         val[APISEC_EVENT_MAX * 4 + 8];

    static const char  *head[] = {
        "time", "type", "access_key", "account", NULL
    };

    ev = arg;
    ev->last = seq;

    if (ev->ctl->json) {
        fwrite(json, 1, len, stdout);
        fputc('\n', stdout);
        return 0;
    }

    if (apisec_json_parse_object(&ev->obj, json, len, err, sizeof(err))
        != 0)
    {
        ctl_event_raw(json, len, val, sizeof(val));
        printf("%" PRIu64 " %s\n", seq, val);
        return 0;
    }

    printf("%" PRIu64, seq);

    for (h = head; *h != NULL; h++) {
        m = apisec_json_find(&ev->obj, *h);

        if (m != NULL && m->type != APISEC_JSON_NULL) {
            ctl_event_value(m, val, sizeof(val));
            printf(" %s", val);

        } else {
            printf(" -");
        }
    }

    for (i = 0; i < ev->obj.n_members; i++) {
        m = &ev->obj.members[i];

        for (h = head; *h != NULL; h++) {
            if (strcmp(m->name.data, *h) == 0) {
                break;
            }
        }

        if (*h != NULL || strcmp(m->name.data, "seq") == 0) {
            continue;
        }

        ctl_event_value(m, val, sizeof(val));
        printf(" %s=%s", ctl_quote(m->name.data, m->name.len, q), val);
    }

    printf("\n");

    return 0;
}


/* a value of an event for text: as name=value takes it */

static void
ctl_event_value(const apisec_json_member_t *m, char *out, size_t len)
{
    size_t                    i, o;
    const apisec_json_str_t  *s;

    switch (m->type) {

    case APISEC_JSON_NULL:
        snprintf(out, len, "null");
        break;

    case APISEC_JSON_BOOL:
        snprintf(out, len, m->num ? "true" : "false");
        break;

    case APISEC_JSON_INT:
        snprintf(out, len, "%lld", (long long) m->num);
        break;

    case APISEC_JSON_ARRAY:
        o = 0;
        out[0] = '\0';

        for (i = 0; i < m->n_items && o + 1 < len; i++) {
            if (i != 0) {
                out[o++] = ',';
            }

            s = &m->items[i];
            ctl_event_string(s->data, s->len, out + o, len - o);
            o += strlen(out + o);
        }

        break;

    default: /* APISEC_JSON_STRING */
        ctl_event_string(m->str.data, m->str.len, out, len);
    }
}


/*
 * A string of an event: bare when it is printable ASCII without spaces
 * or quotes, else in double quotes with such bytes as \xNN
 */

static void
ctl_event_string(const char *s, size_t n, char *out, size_t len)
{
    size_t  i;
    char    shown[CTL_EVENT_SHOW * 4 + 8];

    for (i = 0; i < n; i++) {
        if (s[i] <= ' ' || s[i] >= 0x7f || s[i] == '"' || s[i] == '\\') {
            break;
        }
    }

    apisec_json_show(s, n, CTL_EVENT_SHOW, shown, sizeof(shown));

    snprintf(out, len, (i == n && n != 0) ? "%s" : "\"%s\"", shown);
}


/* an event that does not parse: as stored, control bytes as \xNN */

static void
ctl_event_raw(const char *json, size_t n, char *out, size_t len)
{
    size_t         i, o;
    unsigned char  c;

    o = 0;

    for (i = 0; i < n && o + 5 < len; i++) {
        c = (unsigned char) json[i];

        if (c < 0x20 || c >= 0x7f) {
            o += (size_t) snprintf(out + o, len - o, "\\x%02x", c);

        } else {
            out[o++] = (char) c;
        }
    }

    out[o] = '\0';
}


/*
 * 2fa enroll KEY [--force], 2fa reset KEY.  The subcommand and its
 * options are checked before the store is opened, so that a usage error
 * is one whatever the store and the master key.
 */

static int
ctl_cmd_2fa(ctl_t *ctl)
{
    int          rc, enroll;
    const char  *sub;
    char         q[CTL_QUOTE_LEN];

    if (ctl->nargs == 0) {
        ctl_error("2fa needs a subcommand, enroll or reset (usage: "
                  "apisecctl %s)", ctl->cmd->synopsis);
        return CTL_USAGE;
    }

    sub = ctl->args[0];

    if (strcmp(sub, "enroll") == 0) {
        enroll = 1;

    } else if (strcmp(sub, "reset") == 0) {
        enroll = 0;

    } else {
        ctl_error("unknown 2fa subcommand \"%s\" (expected enroll or reset)",
                  ctl_quote(sub, strlen(sub), q));
        return CTL_USAGE;
    }

    if (ctl->nargs < 2) {
        ctl_error("missing argument KEY (usage: apisecctl %s)",
                  ctl->cmd->synopsis);
        return CTL_USAGE;
    }

    if (!enroll && ctl->opt[CTL_OPT_FORCE] != NULL) {
        ctl_error("option --force is for \"2fa enroll\" only (usage: "
                  "apisecctl %s)", ctl->cmd->synopsis);
        return CTL_USAGE;
    }

    rc = ctl_prepare(ctl, CTL_NEED_MK | CTL_NEED_STORE);
    if (rc != CTL_OK) {
        return rc;
    }

    if (ctl_check_key_arg(ctl->args[1]) != 0) {
        return CTL_ERROR;
    }

    return enroll ? ctl_2fa_enroll(ctl, ctl->args[1])
                  : ctl_2fa_reset(ctl, ctl->args[1]);
}


/*
 * A new TOTP secret of APISEC_TOTP_SECRET_LEN random bytes, sealed into
 * the key in one write transaction, then printed once in base32 and as an
 * otpauth:// URI (Google's Key Uri Format, which authenticator apps
 * import): otpauth://totp/ISSUER:ACCOUNT?secret=B32&issuer=ISSUER&...
 * with the account percent-encoded.  The plaintext is wiped after.
 */

static int
ctl_2fa_enroll(ctl_t *ctl, const char *ak)
{
    int                    rc, replaced;
    char                   b32[CTL_TOTP_B32_LEN + 1];
    char                   label[APISEC_ACCOUNT_MAX * 3 + 1];
    char                   uri[CTL_TOTP_URI_LEN];
    uint8_t                secret[APISEC_TOTP_SECRET_LEN];
    apisec_key_t           k;
    apisec_wtxn_t         *txn;
    apisec_json_writer_t  *w;

    if (apisec_random_bytes(secret, sizeof(secret)) != 0) {
        ctl_error("cannot generate a random TOTP secret");
        return CTL_ERROR;
    }

    rc = apisec_store_begin(ctl->st, &txn);
    if (rc != APISEC_OK) {
        apisec_wipe(secret, sizeof(secret));
        return ctl_store_error(ctl, rc, NULL);
    }

    rc = apisec_key_get_w(txn, ak, strlen(ak), &k);
    if (rc != APISEC_OK) {
        goto failed;
    }

    replaced = (k.totp_len != 0);

    if (replaced && ctl->opt[CTL_OPT_FORCE] == NULL) {
        apisec_store_abort(txn);
        apisec_wipe(secret, sizeof(secret));
        ctl_error("key \"%s\" is enrolled in 2FA already (\"2fa enroll "
                  "--force\" replaces its TOTP secret)", ak);
        return CTL_ERROR;
    }

    rc = apisec_key_set_totp(ctl->st, &k, secret, sizeof(secret));
    if (rc != APISEC_OK) {
        goto failed;
    }

    rc = apisec_key_put(txn, &k, 1);
    if (rc != APISEC_OK) {
        goto failed;
    }

    rc = apisec_store_commit(txn);
    if (rc != APISEC_OK) {
        apisec_wipe(secret, sizeof(secret));
        return ctl_store_error(ctl, rc, ak);
    }

    apisec_base32_encode(secret, sizeof(secret), b32);
    apisec_wipe(secret, sizeof(secret));

    ctl_uri_escape(k.account, label, sizeof(label));

    snprintf(uri, sizeof(uri),
             "otpauth://totp/" CTL_TOTP_ISSUER ":%s?secret=%s&issuer="
             CTL_TOTP_ISSUER "&algorithm=SHA1&digits=%d&period=%d",
             label, b32, APISEC_TOTP_DIGITS, APISEC_TOTP_STEP);

    if (ctl->json) {
        w = &ctl->w;

        apisec_json_begin_object(w);
        apisec_json_key(w, "access_key");
        apisec_json_cstring(w, k.access_key);
        apisec_json_key(w, "account");
        apisec_json_cstring(w, k.account);
        apisec_json_key(w, "totp_secret");
        apisec_json_cstring(w, b32);
        apisec_json_key(w, "otpauth_uri");
        apisec_json_cstring(w, uri);
        apisec_json_key(w, "totp_enrolled");
        apisec_json_bool(w, 1);
        apisec_json_key(w, "replaced");
        apisec_json_bool(w, replaced);
        apisec_json_end_object(w);
        apisec_json_newline(w);

    } else {
        printf("access_key: %s\naccount: %s\ntotp_secret: %s\n"
               "otpauth_uri: %s\n", k.access_key, k.account, b32, uri);
    }

    fflush(stdout);

    apisec_wipe(b32, sizeof(b32));
    apisec_wipe(uri, sizeof(uri));

    if (replaced) {
        fprintf(stderr, "apisecctl: key %s was enrolled already: the new "
                "TOTP secret replaces the old one, whose codes no longer "
                "work\n", k.access_key);
    }

    fprintf(stderr, "apisecctl: the TOTP secret is shown only this once: "
            "add it to the authenticator app now\n");

    return CTL_OK;

failed:

    apisec_store_abort(txn);
    apisec_wipe(secret, sizeof(secret));

    return ctl_store_error(ctl, rc, ak);
}


/* remove the enrolment; a key without one is left as it is */

static int
ctl_2fa_reset(ctl_t *ctl, const char *ak)
{
    int             rc, was;
    apisec_key_t    k;
    apisec_wtxn_t  *txn;

    rc = apisec_store_begin(ctl->st, &txn);
    if (rc != APISEC_OK) {
        return ctl_store_error(ctl, rc, NULL);
    }

    rc = apisec_key_get_w(txn, ak, strlen(ak), &k);
    if (rc != APISEC_OK) {
        apisec_store_abort(txn);
        return ctl_store_error(ctl, rc, ak);
    }

    was = (k.totp_len != 0);

    if (!was) {
        apisec_store_abort(txn);

    } else {
        apisec_key_clear_totp(&k);

        rc = apisec_key_put(txn, &k, 1);
        if (rc != APISEC_OK) {
            apisec_store_abort(txn);
            return ctl_store_error(ctl, rc, ak);
        }

        rc = apisec_store_commit(txn);
        if (rc != APISEC_OK) {
            return ctl_store_error(ctl, rc, ak);
        }
    }

    if (ctl->json) {
        apisec_json_begin_object(&ctl->w);
        apisec_json_key(&ctl->w, "access_key");
        apisec_json_cstring(&ctl->w, k.access_key);
        apisec_json_key(&ctl->w, "totp_enrolled");
        apisec_json_bool(&ctl->w, 0);
        apisec_json_key(&ctl->w, "was_enrolled");
        apisec_json_bool(&ctl->w, was);
        apisec_json_end_object(&ctl->w);
        apisec_json_newline(&ctl->w);

    } else if (was) {
        printf("removed the 2FA enrolment of key %s\n", k.access_key);

    } else {
        printf("key %s was not enrolled in 2FA: nothing to remove\n",
               k.access_key);
    }

    return CTL_OK;
}


/* RFC 3986: every byte but the unreserved characters as %XX */

static void
ctl_uri_escape(const char *s, char *out, size_t len)
{
    size_t         o;
    unsigned char  c;

    static const char  hex[] = "0123456789ABCDEF";

    o = 0;

    for ( /* void */ ; *s != '\0' && o + 3 < len; s++) {
        c = (unsigned char) *s;

        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
            || (c >= '0' && c <= '9')
            || c == '-' || c == '.' || c == '_' || c == '~')
        {
            out[o++] = (char) c;

        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 0x0f];
        }
    }

    out[o] = '\0';
}


/* read, change and write one key in one write transaction */

static int
ctl_change(ctl_t *ctl, const char *ak, ctl_change_t *ch, apisec_key_t *k)
{
    int             rc;
    apisec_wtxn_t  *txn;

    rc = apisec_store_begin(ctl->st, &txn);
    if (rc != APISEC_OK) {
        return ctl_store_error(ctl, rc, NULL);
    }

    rc = apisec_key_get_w(txn, ak, strlen(ak), k);
    if (rc != APISEC_OK) {
        apisec_store_abort(txn);
        return ctl_store_error(ctl, rc, ak);
    }

    if (ctl_apply(ctl, ch, k) != CTL_OK) {
        apisec_store_abort(txn);
        return CTL_ERROR;
    }

    rc = apisec_key_put(txn, k, 1);
    if (rc != APISEC_OK) {
        apisec_store_abort(txn);
        return ctl_store_error(ctl, rc, ak);
    }

    rc = apisec_store_commit(txn);
    if (rc != APISEC_OK) {
        return ctl_store_error(ctl, rc, ak);
    }

    return CTL_OK;
}


static int
ctl_apply(ctl_t *ctl, ctl_change_t *ch, apisec_key_t *k)
{
    int  rc;

    ch->was_status = k->status;

    switch (ch->action) {

    case CTL_ACT_DISABLE:
        k->status = APISEC_STATUS_DISABLED;
        break;

    case CTL_ACT_ENABLE:

        /*
         * An expired key was idle too long: its idle time starts again
         * now, or the next request would expire it again at once.
         */

        if (k->status == APISEC_STATUS_EXPIRED) {
            k->last_used_at = ctl->now;
        }

        k->status = APISEC_STATUS_ACTIVE;
        k->locked_until = 0;
        break;

    case CTL_ACT_UNLOCK:
        if (k->status != APISEC_STATUS_LOCKED) {
            ctl_error("key %s is not locked (it is %s)", k->access_key,
                      apisec_status_name(k->status));
            return CTL_ERROR;
        }

        k->status = APISEC_STATUS_ACTIVE;
        k->locked_until = 0;
        break;

    case CTL_ACT_ROTATE:
        if (apisec_random_alnum(ch->secret, CTL_SECRET_LEN) != 0) {
            ctl_error("cannot generate a random secret");
            return CTL_ERROR;
        }

        rc = apisec_key_set_secret(ctl->st, k, ch->secret, CTL_SECRET_LEN);
        if (rc != APISEC_OK) {
            return ctl_store_error(ctl, rc, NULL);
        }

        break;

    default: /* CTL_ACT_SET */

        if (ch->what & CTL_BIT(CTL_OPT_PERM)) {
            k->perms = ch->perms;
        }

        if (ch->what & CTL_BIT(CTL_OPT_IP)) {
            k->n_ips = ch->n_ips;
            memcpy(k->ips, ch->ips, ch->n_ips * sizeof(apisec_cidr_t));
        }

        if (ch->what & CTL_BIT(CTL_OPT_LABEL)) {
            memcpy(k->label, ch->label, strlen(ch->label) + 1);
        }

        if (ch->what & CTL_BIT(CTL_OPT_EXPIRES)) {
            k->expires_at = ch->expires_at;
        }

        if (ch->what & CTL_BIT(CTL_OPT_LAST_USED)) {
            k->last_used_at = ch->last_used_at;
        }

        if (ch->what & CTL_BIT(CTL_OPT_PASSPHRASE)) {
            apisec_wipe(k->passhash, sizeof(k->passhash));
            memcpy(k->passhash, ch->passhash, ch->passhash_len);
            k->passhash_len = ch->passhash_len;
        }
    }

    return CTL_OK;
}


/*
 * import: JSON lines on stdin.  Every line is validated first (fields,
 * duplicates within the input, keys already in the store); then the keys
 * are written in write transactions of at most CTL_IMPORT_BATCH keys.
 * Should a later transaction fail (the map is full), the keys of the
 * earlier ones are deleted again, so that an import is all or nothing.
 */

static int
ctl_cmd_import(ctl_t *ctl)
{
    int                    rc, src;
    char                   msg[CTL_MSG_LEN];
    size_t                 pos, len, lineno, count, dup;
    const char            *line;
    ctl_input_t            in;
    apisec_key_t           k, old;
    ctl_keyset_t           seen;
    ctl_secrets_t          sec;
    apisec_json_object_t   obj;

    memset(&sec, 0, sizeof(ctl_secrets_t));
    memset(&seen, 0, sizeof(ctl_keyset_t));
    memset(&k, 0, sizeof(apisec_key_t));
    apisec_json_object_init(&obj);

    if (isatty(STDIN_FILENO)) {
        ctl_error("import reads JSON lines from standard input, e.g. "
                  "apisecctl import < keys.jsonl");
        return CTL_USAGE;
    }

    if (ctl_input_load(&in, msg, sizeof(msg)) != 0) {
        ctl_error("%s", msg);
        return CTL_ERROR;
    }

    pos = 0;
    lineno = 0;
    count = 0;
    rc = CTL_ERROR;

    while (ctl_input_line(&in, &pos, &line, &len)) {
        lineno++;

        if (ctl_blank(line, len)) {
            continue;
        }

        if (ctl_import_line(ctl, &obj, line, len, &k, &sec, msg,
                            sizeof(msg))
            != 0)
        {
            ctl_error("line %zu: %s", lineno, msg);
            goto done;
        }

        apisec_wipe(&sec, sizeof(ctl_secrets_t));

        switch (ctl_keyset_add(&seen, k.access_key, strlen(k.access_key),
                               lineno, &dup))
        {
        case 0:
            break;

        case 1:
            ctl_error("line %zu: field \"access_key\": key \"%s\" is "
                      "already on line %zu", lineno, k.access_key, dup);
            goto done;

        default:
            ctl_error("line %zu: out of memory", lineno);
            goto done;
        }

        src = apisec_key_get(ctl->st, k.access_key, strlen(k.access_key),
                             &old);

        if (src == APISEC_OK) {
            ctl_error("line %zu: field \"access_key\": key \"%s\" already "
                      "exists in the store", lineno, k.access_key);
            goto done;
        }

        if (src != APISEC_ERR_NOTFOUND) {
            rc = ctl_store_error(ctl, src, NULL);
            goto done;
        }

        count++;
    }

    rc = ctl_import_write(ctl, &in, &seen, count);

    if (rc == CTL_OK) {
        if (ctl->json) {
            apisec_json_begin_object(&ctl->w);
            apisec_json_key(&ctl->w, "imported");
            apisec_json_int(&ctl->w, (int64_t) count);
            apisec_json_end_object(&ctl->w);
            apisec_json_newline(&ctl->w);

        } else {
            printf("imported %zu keys\n", count);
        }
    }

done:

    apisec_wipe(&sec, sizeof(ctl_secrets_t));
    apisec_json_object_free(&obj);
    ctl_keyset_free(&seen);
    ctl_input_free(&in);

    return rc;
}


static int
ctl_import_write(ctl_t *ctl, ctl_input_t *in, ctl_keyset_t *seen,
    size_t count)
{
    int                    rc;
    char                   msg[CTL_MSG_LEN], undo[CTL_MSG_LEN];
    size_t                 pos, len, lineno, written, batch;
    const char            *line;
    apisec_key_t           k;
    apisec_hmac_t         *h;
    apisec_wtxn_t         *txn;
    ctl_secrets_t          sec;
    apisec_json_object_t   obj;

    if (count == 0) {
        return CTL_OK;
    }

    apisec_json_object_init(&obj);
    memset(&k, 0, sizeof(apisec_key_t));
    memset(&sec, 0, sizeof(ctl_secrets_t));
    h = NULL;

    pos = 0;
    lineno = 0;
    written = 0;
    batch = 0;
    txn = NULL;
    rc = APISEC_OK;
    msg[0] = '\0';

    while (ctl_input_line(in, &pos, &line, &len)) {
        lineno++;

        if (ctl_blank(line, len)) {
            continue;
        }

        /* the input may change under us (a file being written to) */

        if (written + batch == count) {
            snprintf(msg, sizeof(msg), "the input changed during the "
                     "import");
            rc = APISEC_ERR_INVALID;
            break;
        }

        if (ctl_import_line(ctl, &obj, line, len, &k, &sec, msg,
                            sizeof(msg))
            != 0)
        {
            rc = APISEC_ERR_INVALID;
            break;
        }

        if (sec.pass_len != 0) {
            if (h == NULL) {
                h = apisec_hmac_new();
            }

            rc = (h != NULL)
                 ? apisec_key_set_passphrase(ctl->st, h, &k, sec.pass,
                                             sec.pass_len)
                 : APISEC_ERR_CRYPTO;

            if (rc != APISEC_OK) {
                snprintf(msg, sizeof(msg), "cannot hash the passphrase: %s",
                         apisec_rc_str(rc));
                rc = APISEC_ERR_INVALID;
                break;
            }
        }

        if (txn == NULL) {
            rc = apisec_store_begin(ctl->st, &txn);
            if (rc != APISEC_OK) {
                txn = NULL;
                break;
            }
        }

        rc = apisec_key_set_secret(ctl->st, &k, sec.secret, sec.secret_len);
        apisec_wipe(&sec, sizeof(ctl_secrets_t));

        if (rc == APISEC_OK) {
            rc = apisec_key_put(txn, &k, 0);
        }

        if (rc != APISEC_OK) {
            break;
        }

        if (++batch == CTL_IMPORT_BATCH) {
            rc = apisec_store_commit(txn);
            txn = NULL;

            if (rc != APISEC_OK) {
                break;
            }

            written += batch;
            batch = 0;
        }
    }

    if (rc == APISEC_OK && txn != NULL) {
        rc = apisec_store_commit(txn);
        txn = NULL;

        if (rc == APISEC_OK) {
            written += batch;
        }
    }

    if (txn != NULL) {
        apisec_store_abort(txn);
    }

    if (h != NULL) {
        apisec_hmac_free(h);
    }

    apisec_wipe(&sec, sizeof(ctl_secrets_t));
    apisec_json_object_free(&obj);

    if (rc == APISEC_OK && written == count) {
        return CTL_OK;
    }

    /* the message of the failure, then undo what was written */

    if (rc == APISEC_ERR_MAP_FULL) {
        ctl_map_full_msg(ctl, msg, sizeof(msg));

    } else if (rc == APISEC_ERR_EXISTS) {
        snprintf(msg, sizeof(msg), "key \"%s\" was created by someone else "
                 "during the import", k.access_key);

    } else if (rc == APISEC_OK) {
        snprintf(msg, sizeof(msg), "the input changed during the import");

    } else if (rc != APISEC_ERR_INVALID) {
        snprintf(msg, sizeof(msg), "%s: %s", apisec_rc_str(rc),
                 apisec_store_error(ctl->st));
    }

    ctl_import_rollback(ctl, seen, written, undo, sizeof(undo));

    ctl_error("import failed at line %zu: %s; %s", lineno, msg, undo);

    return CTL_ERROR;
}


static void
ctl_import_rollback(ctl_t *ctl, ctl_keyset_t *seen, size_t written,
    char *msg, size_t len)
{
    int             rc;
    size_t          i, j, batch;
    const char     *ak;
    apisec_wtxn_t  *txn;

    if (written == 0) {
        snprintf(msg, len, "nothing was imported");
        return;
    }

    for (i = 0; i < written; i += batch) {
        batch = written - i;
        if (batch > CTL_IMPORT_BATCH) {
            batch = CTL_IMPORT_BATCH;
        }

        rc = apisec_store_begin(ctl->st, &txn);
        if (rc != APISEC_OK) {
            goto failed;
        }

        for (j = i; j < i + batch; j++) {
            ak = seen->arena + seen->ents[j].off;

            rc = apisec_key_del(txn, ak, strlen(ak));
            if (rc != APISEC_OK && rc != APISEC_ERR_NOTFOUND) {
                apisec_store_abort(txn);
                goto failed;
            }
        }

        rc = apisec_store_commit(txn);
        if (rc != APISEC_OK) {
            goto failed;
        }
    }

    snprintf(msg, len, "the %zu keys written before were removed: nothing "
             "was imported", written);
    return;

failed:

    snprintf(msg, len, "the keys of the first %zu lines that hold keys "
             "were written and could not all be removed (%s)", written,
             apisec_rc_str(rc));
}


/*
 * Validate one import line into k, and its secret and passphrase into
 * sec.  0, or -1 with a message naming the field.
 */

static int
ctl_import_line(ctl_t *ctl, apisec_json_object_t *obj, const char *line,
    size_t len, apisec_key_t *k, ctl_secrets_t *sec, char *msg,
    size_t msglen)
{
    size_t                       i, j;
    unsigned                     perm;
    apisec_cidr_t                c;
    const char                 **f;
    const apisec_json_str_t     *s;
    const apisec_json_member_t  *m;
    char                         err[APISEC_JSON_ERR_LEN], why[64];
    char                         sub[CTL_MSG_LEN / 2], q[CTL_QUOTE_LEN];

    if (len > APISEC_JSON_LINE_MAX) {
        snprintf(msg, msglen, "line longer than %d bytes",
                 APISEC_JSON_LINE_MAX);
        return -1;
    }

    if (apisec_json_parse_object(obj, line, len, err, sizeof(err)) != 0) {
        snprintf(msg, msglen, "invalid JSON %s", err);
        return -1;
    }

    for (i = 0; i < obj->n_members; i++) {
        m = &obj->members[i];

        for (f = ctl_import_fields; *f != NULL; f++) {
            if (strlen(*f) == m->name.len
                && memcmp(*f, m->name.data, m->name.len) == 0)
            {
                break;
            }
        }

        if (*f == NULL) {
            snprintf(msg, msglen, "unknown field \"%s\"",
                     ctl_quote(m->name.data, m->name.len, q));
            return -1;
        }
    }

    for (f = ctl_import_fields; f < ctl_import_fields + 3; f++) {
        m = apisec_json_find(obj, *f);

        if (m == NULL || m->type == APISEC_JSON_NULL) {
            snprintf(msg, msglen, "missing field \"%s\"", *f);
            return -1;
        }
    }

    memset(k, 0, sizeof(apisec_key_t));

    /* access_key */

    m = apisec_json_find(obj, "access_key");

    if (ctl_import_string(m, 0, sub, sizeof(sub)) != 0) {
        goto field_error;
    }

    if (m->str.len > APISEC_KEY_MAX
        || !apisec_valid_access_key(m->str.data, m->str.len))
    {
        snprintf(sub, sizeof(sub), "invalid access key \"%s\" (1 to %d "
                 "characters of A-Z a-z 0-9 . _ -)",
                 ctl_quote(m->str.data, m->str.len, q), APISEC_KEY_MAX);
        goto field_error;
    }

    memcpy(k->access_key, m->str.data, m->str.len + 1);

    /* secret_key: never shown in a message */

    m = apisec_json_find(obj, "secret_key");

    if (ctl_import_string(m, 0, sub, sizeof(sub)) != 0) {
        goto field_error;
    }

    if (m->str.len > APISEC_SECRET_MAX
        || !apisec_valid_secret(m->str.data, m->str.len))
    {
        snprintf(sub, sizeof(sub), "invalid secret (%d to %d printable "
                 "ASCII characters, no spaces)", APISEC_SECRET_MIN,
                 APISEC_SECRET_MAX);
        goto field_error;
    }

    memcpy(sec->secret, m->str.data, m->str.len + 1);
    sec->secret_len = m->str.len;

    /* account */

    m = apisec_json_find(obj, "account");

    if (ctl_import_string(m, 0, sub, sizeof(sub)) != 0) {
        goto field_error;
    }

    if (m->str.len > APISEC_ACCOUNT_MAX
        || !apisec_valid_account(m->str.data, m->str.len))
    {
        snprintf(sub, sizeof(sub), "invalid account \"%s\" (1 to %d "
                 "characters of A-Z a-z 0-9 . _ @ : -)",
                 ctl_quote(m->str.data, m->str.len, q), APISEC_ACCOUNT_MAX);
        goto field_error;
    }

    memcpy(k->account, m->str.data, m->str.len + 1);

    /* label */

    m = apisec_json_find(obj, "label");

    if (m != NULL && m->type != APISEC_JSON_NULL) {
        if (ctl_import_string(m, 1, sub, sizeof(sub)) != 0) {
            goto field_error;
        }

        if (m->str.len > APISEC_LABEL_MAX
            || strlen(m->str.data) != m->str.len)
        {
            snprintf(sub, sizeof(sub), "invalid label \"%s\" (printable "
                     "UTF-8 text of at most %d bytes)",
                     ctl_quote(m->str.data, m->str.len, q), APISEC_LABEL_MAX);
            goto field_error;
        }

        if (ctl_check_label(m->str.data, sub, sizeof(sub)) != 0) {
            goto field_error;
        }

        memcpy(k->label, m->str.data, m->str.len + 1);
    }

    /* permissions */

    k->perms = APISEC_PERM_READ;

    m = apisec_json_find(obj, "permissions");

    if (m != NULL && m->type != APISEC_JSON_NULL) {
        if (m->type != APISEC_JSON_ARRAY) {
            snprintf(sub, sizeof(sub), "expected an array of strings, not "
                     "a %s", apisec_json_type_name(m->type));
            goto field_error;
        }

        if (m->n_items == 0) {
            snprintf(sub, sizeof(sub), "at least one of read, trade, "
                     "withdraw");
            goto field_error;
        }

        k->perms = 0;

        for (j = 0; j < m->n_items; j++) {
            s = &m->items[j];

            if (apisec_parse_perms(s->data, s->len, &perm) != 0
                || memchr(s->data, ',', s->len) != NULL)
            {
                snprintf(sub, sizeof(sub), "unknown permission \"%s\" "
                         "(expected read, trade or withdraw)",
                         ctl_quote(s->data, s->len, q));
                goto field_error;
            }

            k->perms |= perm;
        }
    }

    /* ips */

    m = apisec_json_find(obj, "ips");

    if (m != NULL && m->type != APISEC_JSON_NULL) {
        if (m->type != APISEC_JSON_ARRAY) {
            snprintf(sub, sizeof(sub), "expected an array of CIDR strings, "
                     "not a %s", apisec_json_type_name(m->type));
            goto field_error;
        }

        if (m->n_items > APISEC_IPS_MAX) {
            snprintf(sub, sizeof(sub), "too many CIDRs in the IP "
                     "allow-list: %zu (at most %d)", m->n_items,
                     APISEC_IPS_MAX);
            goto field_error;
        }

        for (j = 0; j < m->n_items; j++) {
            s = &m->items[j];

            if (apisec_parse_cidr(s->data, s->len, &c) != 0) {
                snprintf(sub, sizeof(sub), "invalid CIDR \"%s\"",
                         ctl_quote(s->data, s->len, q));
                goto field_error;
            }

            (void) ctl_add_cidr(k->ips, &k->n_ips, &c);
        }
    }

    /* status */

    k->status = APISEC_STATUS_ACTIVE;

    m = apisec_json_find(obj, "status");

    if (m != NULL && m->type != APISEC_JSON_NULL) {
        if (ctl_import_string(m, 1, sub, sizeof(sub)) != 0) {
            goto field_error;
        }

        if (apisec_parse_status(m->str.data, m->str.len, &k->status) != 0) {
            snprintf(sub, sizeof(sub), "invalid status \"%s\" (expected "
                     "active, disabled, expired or locked)",
                     ctl_quote(m->str.data, m->str.len, q));
            goto field_error;
        }
    }

    /* times */

    k->created_at = ctl->now;

    m = apisec_json_find(obj, "created_at");
    if (ctl_import_time(m, &k->created_at, sub, sizeof(sub)) != 0) {
        goto field_error;
    }

    m = apisec_json_find(obj, "last_used_at");
    if (ctl_import_time(m, &k->last_used_at, sub, sizeof(sub)) != 0) {
        goto field_error;
    }

    m = apisec_json_find(obj, "expires_at");
    if (ctl_import_time(m, &k->expires_at, sub, sizeof(sub)) != 0) {
        goto field_error;
    }

    m = apisec_json_find(obj, "locked_until");
    if (ctl_import_time(m, &k->locked_until, sub, sizeof(sub)) != 0) {
        goto field_error;
    }

    /* totp_enrolled: only false, as "list --json" prints it */

    m = apisec_json_find(obj, "totp_enrolled");

    if (m != NULL && m->type != APISEC_JSON_NULL) {
        if (m->type != APISEC_JSON_BOOL) {
            snprintf(sub, sizeof(sub), "expected a boolean, not a %s",
                     apisec_json_type_name(m->type));
            goto field_error;
        }

        if (m->num) {
            snprintf(sub, sizeof(sub), "a TOTP enrolment cannot be "
                     "imported (enrol the key again after the import)");
            goto field_error;
        }
    }

    /* passphrase: plaintext, hashed when written; never shown */

    sec->pass_len = 0;

    m = apisec_json_find(obj, "passphrase");

    if (m != NULL && m->type != APISEC_JSON_NULL) {
        if (ctl_import_string(m, 1, sub, sizeof(sub)) != 0) {
            goto field_error;
        }

        if (ctl_check_passphrase(m->str.data, m->str.len, why, sizeof(why))
            != 0)
        {
            snprintf(sub, sizeof(sub), "invalid passphrase: %s (1 to %d "
                     "printable ASCII characters)", why,
                     APISEC_PASSPHRASE_MAX);
            goto field_error;
        }

        memcpy(sec->pass, m->str.data, m->str.len + 1);
        sec->pass_len = m->str.len;
    }

    /* has_passphrase: as "list --json" prints it, it must agree */

    m = apisec_json_find(obj, "has_passphrase");

    if (m != NULL && m->type != APISEC_JSON_NULL) {
        if (m->type != APISEC_JSON_BOOL) {
            snprintf(sub, sizeof(sub), "expected a boolean, not a %s",
                     apisec_json_type_name(m->type));
            goto field_error;
        }

        if (m->num && sec->pass_len == 0) {
            snprintf(sub, sizeof(sub), "true needs the passphrase itself in "
                     "\"passphrase\" (a passphrase hash cannot be "
                     "imported)");
            goto field_error;
        }

        if (!m->num && sec->pass_len != 0) {
            snprintf(sub, sizeof(sub), "false, but the line has a "
                     "\"passphrase\"");
            goto field_error;
        }
    }

    return 0;

field_error:

    /* m->name is one of ctl_import_fields */

    snprintf(msg, msglen, "field \"%s\": %s", m->name.data, sub);

    return -1;
}


static int
ctl_import_string(const apisec_json_member_t *m, int nullable, char *msg,
    size_t len)
{
    if (m->type != APISEC_JSON_STRING) {
        snprintf(msg, len, "expected a string%s, not a%s %s",
                 nullable ? " or null" : "",
                 (m->type == APISEC_JSON_INT || m->type == APISEC_JSON_ARRAY)
                 ? "n" : "", apisec_json_type_name(m->type));
        return -1;
    }

    return 0;
}


static int
ctl_import_time(const apisec_json_member_t *m, int64_t *t, char *msg,
    size_t len)
{
    char  q[CTL_QUOTE_LEN];

    if (m == NULL || m->type == APISEC_JSON_NULL) {
        return 0;
    }

    if (ctl_import_string(m, 1, msg, len) != 0) {
        return -1;
    }

    if (apisec_parse_time(m->str.data, m->str.len, t) != 0) {
        snprintf(msg, len, "invalid time \"%s\" (expected RFC 3339, e.g. "
                 "2030-01-01T00:00:00Z)",
                 ctl_quote(m->str.data, m->str.len, q));
        return -1;
    }

    return 0;
}


/* the input of import: a regular file is mapped, a pipe is read */

static int
ctl_input_load(ctl_input_t *in, char *msg, size_t len)
{
    char         *buf, *nbuf;
    off_t         off;
    size_t        cap, n;
    ssize_t       r;
    struct stat   sb;

    memset(in, 0, sizeof(ctl_input_t));

    if (fstat(STDIN_FILENO, &sb) == 0 && S_ISREG(sb.st_mode)
        && sb.st_size > 0)
    {
        off = lseek(STDIN_FILENO, 0, SEEK_CUR);

        if (off == 0) {
            in->map = mmap(NULL, (size_t) sb.st_size, PROT_READ, MAP_PRIVATE,
                           STDIN_FILENO, 0);

            if (in->map != MAP_FAILED) {
                in->map_len = (size_t) sb.st_size;
                in->data = in->map;
                in->len = in->map_len;
                return 0;
            }

            in->map = NULL;
        }
    }

    cap = 65536;
    n = 0;

    buf = malloc(cap);
    if (buf == NULL) {
        snprintf(msg, len, "out of memory");
        return -1;
    }

    for ( ;; ) {
        if (n == cap) {
            nbuf = malloc(cap * 2);
            if (nbuf == NULL) {
                apisec_wipe(buf, n);
                free(buf);
                snprintf(msg, len, "out of memory");
                return -1;
            }

            memcpy(nbuf, buf, n);
            apisec_wipe(buf, n);
            free(buf);
            buf = nbuf;
            cap *= 2;
        }

        r = read(STDIN_FILENO, buf + n, cap - n);

        if (r == 0) {
            break;
        }

        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }

            snprintf(msg, len, "cannot read standard input: %s",
                     strerror(errno));
            apisec_wipe(buf, n);
            free(buf);
            return -1;
        }

        n += (size_t) r;
    }

    in->buf = buf;
    in->data = buf;
    in->len = n;
    in->cap = cap;

    return 0;
}


static void
ctl_input_free(ctl_input_t *in)
{
    if (in->map != NULL) {
        munmap(in->map, in->map_len);

    } else if (in->buf != NULL) {
        apisec_wipe(in->buf, in->cap);
        free(in->buf);
    }

    memset(in, 0, sizeof(ctl_input_t));
}


/* the next line, without its "\n"; 0 at the end */

static int
ctl_input_line(ctl_input_t *in, size_t *pos, const char **line, size_t *len)
{
    const char  *p, *nl;

    if (*pos >= in->len) {
        return 0;
    }

    p = in->data + *pos;

    nl = memchr(p, '\n', in->len - *pos);

    if (nl == NULL) {
        *len = in->len - *pos;
        *pos = in->len;

    } else {
        *len = (size_t) (nl - p);
        *pos += *len + 1;
    }

    *line = p;

    return 1;
}


static int
ctl_blank(const char *s, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r') {
            return 0;
        }
    }

    return 1;
}


/* the access keys of an import: input order, and a hash table */

static uint64_t
ctl_hash(const char *s, size_t len)
{
    size_t    i;
    uint64_t  h;

    h = 0xcbf29ce484222325ULL;

    for (i = 0; i < len; i++) {
        h ^= (unsigned char) s[i];
        h *= 0x100000001b3ULL;
    }

    return h ^ (h >> 29);
}


/* 0: added; 1: seen before, on *dup_line; -1: out of memory */

static int
ctl_keyset_add(ctl_keyset_t *ks, const char *s, size_t len, size_t line,
    size_t *dup_line)
{
    char      *arena;
    size_t     i, cap;
    uint32_t   e;
    ctl_seen_t *ents;

    if ((ks->n + 1) * 2 > ks->table_size) {
        if (ctl_keyset_grow(ks) != 0) {
            return -1;
        }
    }

    i = (size_t) ctl_hash(s, len) & (ks->table_size - 1);

    while ((e = ks->table[i]) != 0) {
        if (strcmp(ks->arena + ks->ents[e - 1].off, s) == 0) {
            *dup_line = ks->ents[e - 1].line;
            return 1;
        }

        i = (i + 1) & (ks->table_size - 1);
    }

    if (ks->arena_cap - ks->arena_len < len + 1) {
        cap = (ks->arena_cap == 0) ? 65536 : ks->arena_cap;

        while (cap - ks->arena_len < len + 1) {
            cap *= 2;
        }

        arena = realloc(ks->arena, cap);
        if (arena == NULL) {
            return -1;
        }

        ks->arena = arena;
        ks->arena_cap = cap;
    }

    if (ks->n == ks->cap) {
        cap = (ks->cap == 0) ? 1024 : ks->cap * 2;

        ents = realloc(ks->ents, cap * sizeof(ctl_seen_t));
        if (ents == NULL) {
            return -1;
        }

        ks->ents = ents;
        ks->cap = cap;
    }

    if (ks->n >= UINT32_MAX - 1) {
        return -1;
    }

    memcpy(ks->arena + ks->arena_len, s, len);
    ks->arena[ks->arena_len + len] = '\0';

    ks->ents[ks->n].off = ks->arena_len;
    ks->ents[ks->n].line = line;
    ks->arena_len += len + 1;

    ks->table[i] = (uint32_t) (ks->n + 1);
    ks->n++;

    return 0;
}


static int
ctl_keyset_grow(ctl_keyset_t *ks)
{
    size_t     size, i, j;
    uint32_t  *table;
    const char *s;

    size = (ks->table_size == 0) ? 4096 : ks->table_size * 2;

    table = calloc(size, sizeof(uint32_t));
    if (table == NULL) {
        return -1;
    }

    for (i = 0; i < ks->n; i++) {
        s = ks->arena + ks->ents[i].off;
        j = (size_t) ctl_hash(s, strlen(s)) & (size - 1);

        while (table[j] != 0) {
            j = (j + 1) & (size - 1);
        }

        table[j] = (uint32_t) (i + 1);
    }

    free(ks->table);
    ks->table = table;
    ks->table_size = size;

    return 0;
}


static void
ctl_keyset_free(ctl_keyset_t *ks)
{
    free(ks->arena);
    free(ks->ents);
    free(ks->table);

    memset(ks, 0, sizeof(ctl_keyset_t));
}
