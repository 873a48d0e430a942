/*
 * Unit tests of the event log's store functions that the webhooks use:
 * the last sequence number, the subscribers' cursors (forwards only,
 * "never seen" apart from 0), retention (only what is old and
 * acknowledged, never the last event, so sequence numbers never start
 * again) and the log's id (kept, and new after a restore).
 */

#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>

#include "apisec_store.h"
#include "unit.h"


static const uint8_t  mk[APISEC_MASTER_KEY_LEN] = { 7, 7, 7 };


static void
rm_rf(const char *dir)
{
    char  cmd[512];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "cannot remove %s\n", dir);
    }
}


static uint64_t
append(apisec_store_t *st, const char *type, int64_t t)
{
    uint64_t        seq;
    apisec_wtxn_t  *w;

    seq = 0;

    CHECK_INT(apisec_store_begin(st, &w), APISEC_OK);
    CHECK_INT(apisec_event_append(w, type, t, "evKey00001", "acct", NULL,
                                  &seq), APISEC_OK);
    CHECK_INT(apisec_store_commit(w), APISEC_OK);

    return seq;
}


static int
count_cb(uint64_t seq, const char *json, size_t len, void *arg)
{
    (*(unsigned *) arg)++;
    return 0;
}


static unsigned
count(apisec_store_t *st)
{
    unsigned  n;

    n = 0;
    CHECK_INT(apisec_event_foreach(st, 0, count_cb, &n), APISEC_OK);

    return n;
}


static size_t
prune(apisec_store_t *st, int64_t before, uint64_t upto, size_t limit)
{
    size_t          n;
    apisec_wtxn_t  *w;

    n = 0;

    CHECK_INT(apisec_store_begin(st, &w), APISEC_OK);
    CHECK_INT(apisec_event_prune(w, before, upto, limit, &n), APISEC_OK);
    CHECK_INT(apisec_store_commit(w), APISEC_OK);

    return n;
}


int
main(void)
{
    int              i;
    char             dir[] = "/tmp/apisec-unit-events-XXXXXX";
    char             err[APISEC_ERR_LEN], name[APISEC_CURSOR_NAME_MAX + 2];
    char             id1[APISEC_LOG_ID_LEN + 1], id2[APISEC_LOG_ID_LEN + 1];
    char             file[128], dir2[128];
    uint64_t         seq, last;
    apisec_wtxn_t   *w;
    apisec_store_t  *st;

    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }

    CHECK_INT(apisec_store_init(dir, mk, 0, err, sizeof(err)), APISEC_OK);
    CHECK_INT(apisec_store_open(&st, dir, mk, 0, 0, err, sizeof(err)),
              APISEC_OK);

    /* an empty log */

    last = 99;
    CHECK_INT(apisec_event_last(st, &last), APISEC_OK);
    CHECK_INT(last, 0);

    /* cursors: never seen, then forwards only */

    seq = 5;
    CHECK_INT(apisec_cursor_get(st, "http://h/hook", &seq),
              APISEC_ERR_NOTFOUND);
    CHECK_INT(seq, 0);

    CHECK_INT(apisec_store_begin(st, &w), APISEC_OK);
    CHECK_INT(apisec_cursor_put(w, "http://h/hook", 0), APISEC_OK);
    CHECK_INT(apisec_cursor_put(w, "ops", 7), APISEC_OK);
    CHECK_INT(apisec_store_commit(w), APISEC_OK);

    CHECK_INT(apisec_cursor_get(st, "http://h/hook", &seq), APISEC_OK);
    CHECK_INT(seq, 0);
    CHECK_INT(apisec_cursor_get(st, "ops", &seq), APISEC_OK);
    CHECK_INT(seq, 7);

    CHECK_INT(apisec_store_begin(st, &w), APISEC_OK);
    CHECK_INT(apisec_cursor_put(w, "ops", 3), APISEC_OK);    /* kept at 7 */
    CHECK_INT(apisec_store_commit(w), APISEC_OK);
    CHECK_INT(apisec_cursor_get(st, "ops", &seq), APISEC_OK);
    CHECK_INT(seq, 7);

    CHECK_INT(apisec_store_begin(st, &w), APISEC_OK);
    CHECK_INT(apisec_cursor_put(w, "ops", 1ULL << 40), APISEC_OK);
    CHECK_INT(apisec_store_commit(w), APISEC_OK);
    CHECK_INT(apisec_cursor_get(st, "ops", &seq), APISEC_OK);
    CHECK_INT(seq, 1ULL << 40);

    /* bad names */

    CHECK_INT(apisec_cursor_get(st, "", &seq), APISEC_ERR_INVALID);
    memset(name, 'n', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    CHECK_INT(apisec_cursor_get(st, name, &seq), APISEC_ERR_INVALID);

    /* ten events at t = 1000 .. 1009 */

    for (i = 0; i < 10; i++) {
        seq = append(st, "withdrawal.requested", 1000 + i);
        CHECK_INT(seq, i + 1);
    }

    CHECK_INT(apisec_event_last(st, &last), APISEC_OK);
    CHECK_INT(last, 10);

    /* retention: old enough but not acknowledged: nothing goes */

    CHECK_INT(prune(st, 2000, 0, 100), 0);
    CHECK_INT(count(st), 10);

    /* acknowledged up to 4: those, if old enough */

    CHECK_INT(prune(st, 1002, 4, 100), 2);          /* t 1000, 1001 */
    CHECK_INT(count(st), 8);
    CHECK_INT(prune(st, 2000, 4, 100), 2);          /* seq 3, 4 */
    CHECK_INT(count(st), 6);

    /* a limit a transaction */

    CHECK_INT(prune(st, 2000, 100, 2), 2);
    CHECK_INT(count(st), 4);

    /* never the last one: the sequence goes on */

    CHECK_INT(prune(st, 2000, UINT64_MAX, 100), 3);
    CHECK_INT(count(st), 1);
    CHECK_INT(apisec_event_last(st, &last), APISEC_OK);
    CHECK_INT(last, 10);
    CHECK_INT(append(st, "key.locked", 3000), 11);

    /* the log's id: made by the first open that may write, kept */

    CHECK_INT(apisec_store_log_id(st, id1), APISEC_OK);
    CHECK_INT(strlen(id1), APISEC_LOG_ID_LEN);
    CHECK(strspn(id1, "0123456789abcdef") == APISEC_LOG_ID_LEN);

    /* a backup has it; a restore gives the log a new one, and the rest */

    snprintf(file, sizeof(file), "%s.backup", dir);
    snprintf(dir2, sizeof(dir2), "%s.restored", dir);
    CHECK_INT(apisec_store_backup(st, file, 0, NULL), APISEC_OK);

    apisec_store_close(st);

    CHECK_INT(apisec_store_restore(file, dir2, mk, NULL, err, sizeof(err)),
              APISEC_OK);
    CHECK_INT(apisec_store_open(&st, dir2, mk, APISEC_OPEN_RDONLY, 0, err,
                                sizeof(err)), APISEC_OK);
    CHECK_INT(apisec_store_log_id(st, id2), APISEC_OK);
    CHECK_INT(strlen(id2), APISEC_LOG_ID_LEN);
    CHECK(strcmp(id1, id2) != 0);
    CHECK_INT(apisec_event_last(st, &last), APISEC_OK);
    CHECK_INT(last, 11);
    CHECK_INT(apisec_cursor_get(st, "ops", &seq), APISEC_OK);
    CHECK_INT(seq, 1ULL << 40);
    apisec_store_close(st);

    (void) unlink(file);
    rm_rf(dir2);

    CHECK_INT(apisec_store_open(&st, dir, mk, 0, 0, err, sizeof(err)),
              APISEC_OK);
    CHECK_INT(apisec_store_log_id(st, id2), APISEC_OK);
    CHECK_STR(id2, id1);
    apisec_store_close(st);

    /* a read-only handle reads cursors and the last event too */

    CHECK_INT(apisec_store_open(&st, dir, mk, APISEC_OPEN_RDONLY, 0, err,
                                sizeof(err)), APISEC_OK);
    CHECK_INT(apisec_cursor_get(st, "ops", &seq), APISEC_OK);
    CHECK_INT(seq, 1ULL << 40);
    CHECK_INT(apisec_event_last(st, &last), APISEC_OK);
    CHECK_INT(last, 11);
    apisec_store_close(st);

    rm_rf(dir);

    return UNIT_DONE();
}
