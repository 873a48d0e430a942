/*
 * fuzz_json: the reader of `apisecctl import` lines
 * (apisec_json_parse_object), which takes keys, secrets and accounts from
 * another system, and the writer that apisecctl's --json output uses.
 *
 * Input: one line.  One object is reused across inputs (as import reuses
 * it across lines), so the arena's reuse and wiping are exercised too.
 * When the line parses: every member written back with the writer parses
 * again to the same members (names, types, values, byte for byte).
 */

#include "fuzz.h"

#include "apisec_json.h"


static int
fuzz_str_eq(const apisec_json_str_t *a, const apisec_json_str_t *b)
{
    return a->len == b->len && memcmp(a->data, b->data, a->len) == 0
           && a->data[a->len] == '\0' && b->data[b->len] == '\0';
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                          rc;
    char                        *line, err[APISEC_JSON_ERR_LEN];
    char                         show[16 * 4 + 8];
    size_t                       i, j;
    apisec_json_writer_t         w;
    const apisec_json_member_t  *m, *m2;
    static apisec_json_object_t  obj, obj2;
    static int                   init;

    if (!init) {
        apisec_json_object_init(&obj);
        apisec_json_object_init(&obj2);
        init = 1;
    }

    line = (char *) fuzz_dup0(data, size);      /* import's line buffer */

    err[0] = '\0';
    rc = apisec_json_parse_object(&obj, line, size, err, sizeof(err));

    apisec_json_show(line, size, 16, show, sizeof(show));
    FUZZ_CHECK(memchr(show, '\0', sizeof(show)) != NULL);

    if (rc != 0) {
        FUZZ_CHECK(rc == -1);
        FUZZ_CHECK(err[0] != '\0' && memchr(err, '\0', sizeof(err)) != NULL);
        free(line);
        return 0;
    }

    FUZZ_CHECK(obj.n_members <= APISEC_JSON_MEMBERS_MAX);
    FUZZ_CHECK(obj.n_items <= APISEC_JSON_ITEMS_MAX);

    for (i = 0; i < obj.n_members; i++) {
        m = &obj.members[i];
        FUZZ_CHECK(apisec_json_find(&obj, m->name.data) != NULL
                   || strlen(m->name.data) != m->name.len);
        FUZZ_CHECK(apisec_json_type_name(m->type) != NULL);
    }

    /* write it back; a name with a NUL of its own cannot be (the writer
       takes names as C strings) */

    for (i = 0; i < obj.n_members; i++) {
        if (strlen(obj.members[i].name.data) != obj.members[i].name.len) {
            free(line);
            return 0;
        }
    }

    apisec_json_writer_init(&w, NULL);
    apisec_json_begin_object(&w);

    for (i = 0; i < obj.n_members; i++) {
        m = &obj.members[i];
        apisec_json_key(&w, m->name.data);

        switch (m->type) {
        case APISEC_JSON_NULL:
            apisec_json_null(&w);
            break;
        case APISEC_JSON_BOOL:
            apisec_json_bool(&w, (int) m->num);
            break;
        case APISEC_JSON_INT:
            apisec_json_int(&w, m->num);
            break;
        case APISEC_JSON_STRING:
            apisec_json_string(&w, m->str.data, m->str.len);
            break;
        case APISEC_JSON_ARRAY:
            apisec_json_begin_array(&w);
            for (j = 0; j < m->n_items; j++) {
                apisec_json_string(&w, m->items[j].data, m->items[j].len);
            }
            apisec_json_end_array(&w);
            break;
        }
    }

    apisec_json_end_object(&w);
    FUZZ_CHECK(w.error == 0);

    rc = apisec_json_parse_object(&obj2, w.data, w.len, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "written back: %s\nrefused: %s\n", w.data, err);
    }
    FUZZ_CHECK(rc == 0);
    FUZZ_CHECK(obj2.n_members == obj.n_members);

    for (i = 0; i < obj.n_members; i++) {
        m = &obj.members[i];
        m2 = &obj2.members[i];

        FUZZ_CHECK(fuzz_str_eq(&m->name, &m2->name));
        FUZZ_CHECK(m->type == m2->type);

        switch (m->type) {
        case APISEC_JSON_BOOL:
        case APISEC_JSON_INT:
            FUZZ_CHECK(m->num == m2->num);
            break;
        case APISEC_JSON_STRING:
            FUZZ_CHECK(fuzz_str_eq(&m->str, &m2->str));
            break;
        case APISEC_JSON_ARRAY:
            FUZZ_CHECK(m->n_items == m2->n_items);
            for (j = 0; j < m->n_items; j++) {
                FUZZ_CHECK(fuzz_str_eq(&m->items[j], &m2->items[j]));
            }
            break;
        default:
            break;
        }
    }

    apisec_json_writer_free(&w);
    free(line);

    return 0;
}
