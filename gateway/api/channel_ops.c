/* /api/channel writes (reference controller/channel.go): create in modes
 * single | batch | multi_to_single, update, import. Each is one SQL
 * transaction that rebuilds the abilities of every channel it touches; the
 * Redis mirror and the config-version bump are queued after the commit.
 * Deletes, tag operations and the abilities fix are in channel_bulk.c. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "gateway/api/api.h"
#include "gateway/api/channels.h"
#include "gateway/core/alloc.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"
#include "gateway/core/str.h"

static int failf(char *err, size_t n, const char *msg)
{
    snprintf(err, n, "%s", msg);
    return GW_EINVAL;
}

/* The key list of a batch or multi-key channel: lines, trimmed, empty ones
 * dropped; for Vertex AI (type 41) a JSON array whose objects are kept as
 * compact JSON text (reference getVertexArrayKeys). */
static int split_keys(const char *key, int vertex, json_t *out, char *err, size_t n)
{
    gw_str all = gw_str_trim(gw_str_c(key)), tok;
    if (vertex && all.len && all.base[0] == '[') {
        json_t *arr = gw_json_parse(all.base, all.len, 32, NULL, 0);
        if (!json_is_array(arr)) {
            json_decref(arr);
            return failf(err, n, "Vertex AI keys must be a JSON array, e.g. [{...}, {...}]");
        }
        size_t i;
        json_t *v;
        json_array_foreach(arr, i, v) {
            char *s = json_is_string(v) ? NULL : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            gw_str t = gw_str_trim(gw_str_c(s ? s : json_string_value(v)));
            if (t.len)
                json_array_append_new(out, json_stringn(t.base, t.len));
            gw_free(s);
        }
        json_decref(arr);
    } else {
        while (gw_str_split(&all, '\n', &tok)) {
            gw_str t = gw_str_trim(tok);
            if (t.len)
                json_array_append_new(out, json_stringn(t.base, t.len));
        }
    }
    if (json_array_size(out) == 0)
        return failf(err, n, "key is required");
    if (json_array_size(out) > GW__CH_MAX_BATCH)
        return failf(err, n, "at most 1000 keys per request");
    return GW_OK;
}

static int check_mode(const json_t *v, const char **mode, char *err, size_t n)
{
    *mode = NULL;
    if (!v || json_is_null(v))
        return GW_OK;
    const char *s = json_string_value(v);
    if (!s)
        return failf(err, n, "multi_key_mode must be \"random\" or \"polling\"");
    if (!*s)
        return GW_OK;
    if (strcmp(s, "random") != 0 && strcmp(s, "polling") != 0)
        return failf(err, n, "multi_key_mode must be \"random\" or \"polling\"");
    *mode = strcmp(s, "random") == 0 ? "random" : "polling";
    return GW_OK;
}

/* Validated columns of one new channel from a client object (create's
 * `channel`, or an import entry): every writable field, a non-empty name
 * and key, defaults, created_time. The key is returned in *key, trimmed. */
static json_t *new_cols(const json_t *ch, char *err, size_t n)
{
    if (!json_is_object(ch)) {
        failf(err, n, "channel must be a JSON object");
        return NULL;
    }
    json_t *cols = json_object();
    if (!cols || gw__ch_take(ch, cols, err, n) != GW_OK) {
        json_decref(cols);
        return NULL;
    }
    const json_t *key = json_object_get(ch, "key");
    const char *name = json_string_value(json_object_get(cols, "name"));
    const char *why = NULL;
    if (!name || !gw_str_trim(gw_str_c(name)).len)
        why = "name is required";
    else if (!json_is_string(key) || !gw_str_trim(gw_str_c(json_string_value(key))).len)
        why = "key is required";
    else if (json_string_length(key) > GW__CH_KEY_MAX)
        why = "key is longer than 1 MiB";
    if (why) {
        failf(err, n, why);
        json_decref(cols);
        return NULL;
    }
    gw_str k = gw_str_trim(gw_str_c(json_string_value(key)));
    json_object_set_new(cols, "key", json_stringn(k.base, k.len));
    gw__ch_defaults(cols);
    json_object_set_new(cols, "created_time", json_integer((json_int_t)time(NULL)));
    return cols;
}

static int set_info(json_t *cols, int multi, int nkeys, const char *mode)
{
    char *info = gw__ch_info_text(multi, nkeys, mode);
    if (!info)
        return GW_ENOMEM;
    json_object_set_new(cols, "channel_info", json_string(info));
    gw_free(info);
    return GW_OK;
}

/* POST /api/channel/ body → rows (one column object per channel). */
static json_t *create_rows(const json_t *body, char *err, size_t n)
{
    const char *mode = json_string_value(json_object_get(body, "mode"));
    const json_t *prefix = json_object_get(body, "batch_add_set_key_prefix_2_name");
    const char *mk_mode;
    if (!mode || (strcmp(mode, "single") && strcmp(mode, "batch") && strcmp(mode, "multi_to_single"))) {
        failf(err, n, "mode must be \"single\", \"batch\" or \"multi_to_single\"");
        return NULL;
    }
    if (prefix && !json_is_boolean(prefix)) {
        failf(err, n, "batch_add_set_key_prefix_2_name must be a boolean");
        return NULL;
    }
    if (check_mode(json_object_get(body, "multi_key_mode"), &mk_mode, err, n) != GW_OK)
        return NULL;
    json_t *cols = new_cols(json_object_get(body, "channel"), err, n);
    if (!cols)
        return NULL;
    json_t *rows = json_array(), *keys = json_array();
    int vertex = json_integer_value(json_object_get(cols, "type")) == 41;
    int rc = GW_OK;
    if (strcmp(mode, "single") == 0) {
        rc = set_info(cols, 0, 0, "");
        json_array_append(rows, cols);
    } else if ((rc = split_keys(json_string_value(json_object_get(cols, "key")), vertex, keys,
                                err, n)) != GW_OK) {
    } else if (strcmp(mode, "multi_to_single") == 0) {
        gw_buf b;
        gw_buf_init(&b, GW__CH_KEY_MAX + 1);
        for (size_t i = 0; rc == GW_OK && i < json_array_size(keys); i++)
            if ((i && gw_buf_append(&b, "\n", 1) != GW_OK) ||
                gw_buf_appends(&b, json_string_value(json_array_get(keys, i))) != GW_OK)
                rc = failf(err, n, "key is longer than 1 MiB");
        if (rc == GW_OK) {
            json_object_set_new(cols, "key", json_stringn(b.base, b.len));
            rc = set_info(cols, 1, (int)json_array_size(keys), mk_mode ? mk_mode : "random");
            json_array_append(rows, cols);
        }
        gw_buf_free(&b);
    } else { /* batch: one channel per key */
        const char *name = json_string_value(json_object_get(cols, "name"));
        int add_prefix = json_is_true(prefix) && json_array_size(keys) > 1;
        for (size_t i = 0; rc == GW_OK && i < json_array_size(keys); i++) {
            json_t *c = json_deep_copy(cols);
            const char *k = json_string_value(json_array_get(keys, i));
            if (!c) {
                rc = GW_ENOMEM;
                break;
            }
            json_object_set_new(c, "key", json_string(k));
            if (add_prefix) { /* reference: "<name> <first 8 bytes of the key>" */
                char nm[256];
                snprintf(nm, sizeof nm, "%.*s %.*s", (int)gw_str_utf8_cut(gw_str_c(name), 180),
                         name, (int)gw_str_utf8_cut(gw_str_c(k), 8), k); /* valid UTF-8 */
                json_object_set_new(c, "name", json_string(nm));
            }
            rc = set_info(c, 0, 0, "");
            json_array_append_new(rows, c);
        }
    }
    json_decref(cols);
    json_decref(keys);
    if (rc != GW_OK) {
        if (!err[0])
            failf(err, n, "internal error");
        json_decref(rows);
        return NULL;
    }
    return rows;
}

/* Inserts j->rows in one transaction; j->out = {ids:[...]}. */
static int insert_work(gw_store *st, void *ctx)
{
    struct gw__chjob *j = ctx;
    json_t *ids = json_array();
    int rc = ids ? gw_store_begin(st) : GW_ENOMEM;
    for (size_t i = 0; rc == GW_OK && i < json_array_size(j->rows); i++) {
        long long id = 0;
        int by_root;
        rc = gw__ch_dest_apply(st, j, 0, json_array_get(j->rows, i), &by_root);
        if (rc == GW_OK)
            rc = gw__ch_insert(st, json_array_get(j->rows, i), &id);
        if (rc == GW_OK)
            rc = gw__ch_dest_store(st, id, by_root);
        if (rc == GW_OK)
            rc = gw__ch_mirror(st, id, &j->cmds);
        json_array_append_new(ids, json_integer((json_int_t)id));
    }
    if (rc == GW_OK)
        rc = gw_store_commit(st);
    if (rc != GW_OK) {
        gw_store_rollback(st);
        gw_rcmds_free(&j->cmds);
        json_decref(ids);
        return rc;
    }
    gw__ch_bump(&j->cmds);
    j->out = json_pack("{s:o}", "ids", ids);
    return GW_OK;
}

void gw_api_channel_create(gw_req *r, const struct gw_caller *who)
{
    json_t *body = gw_api_body(r);
    if (!body)
        return;
    char err[256] = "";
    json_t *rows = create_rows(body, err, sizeof err);
    json_decref(body);
    struct gw__chjob *j = rows ? gw__ch_job(r, who) : NULL;
    if (!j) {
        json_decref(rows);
        gw_api_fail(r, err[0] ? err : "internal error");
        return;
    }
    j->rows = rows;
    gw__ch_run(r, j, insert_work);
}

/* ---- update ------------------------------------------------------------ */

/* The stored channel_info after a key change: multi_key_size follows the key
 * list, statuses of keys that no longer exist are dropped (reference
 * Channel.Update). */
static char *updated_info(const char *stored, const char *key, const char *mode)
{
    json_t *info = stored && *stored ? gw_json_parse(stored, strlen(stored), 32, NULL, 0) : NULL;
    if (!json_is_object(info)) {
        json_decref(info);
        return NULL;
    }
    if (json_is_true(json_object_get(info, "is_multi_key"))) {
        if (key) {
            long long n = 0;
            gw_str rest = gw_str_c(key), tok;
            while (gw_str_split(&rest, '\n', &tok))
                n++;
            json_object_set_new(info, "multi_key_size", json_integer((json_int_t)n));
            json_t *sl = json_object_get(info, "multi_key_status_list");
            const char *k;
            json_t *v;
            void *tmp;
            json_object_foreach_safe(sl, tmp, k, v) {
                long long idx;
                if (gw_str_to_ll(gw_str_c(k), 0, 1LL << 40, &idx) != GW_OK || idx >= n)
                    json_object_del(sl, k);
            }
        }
        if (mode)
            json_object_set_new(info, "multi_key_mode", json_string(mode));
    }
    char *s = json_dumps(info, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(info);
    return s;
}

/* key_mode "append": the stored keys, then the new ones not already there. */
static int add_line(gw_buf *out, gw_str t)
{
    int rc = out->len ? gw_buf_append(out, "\n", 1) : GW_OK;
    return rc == GW_OK ? gw_buf_append(out, t.base, t.len) : rc;
}

static int append_keys(const char *stored, const char *add, gw_buf *out)
{
    gw_str rest = gw_str_trim(gw_str_c(stored)), tok;
    int rc = GW_OK;
    while (rc == GW_OK && gw_str_split(&rest, '\n', &tok))
        rc = add_line(out, tok);
    rest = gw_str_c(add);
    while (rc == GW_OK && gw_str_split(&rest, '\n', &tok)) {
        gw_str t = gw_str_trim(tok), have = {out->base, out->len}, h;
        int dup = !t.len;
        while (!dup && gw_str_split(&have, '\n', &h))
            dup = gw_str_eq(gw_str_trim(h), t);
        if (!dup)
            rc = add_line(out, t);
    }
    return rc;
}

static int update_tx(gw_store *st, struct gw__chjob *j)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT `key`, channel_info FROM channels WHERE id = ?%s",
             gw__ch_lock(st));
    gw_sql_arg a[1] = {GW_SQL_INT(j->id)};
    gw_rows *rows = NULL;
    int rc = gw_store_query(st, sql, a, 1, &rows);
    if (rc == GW_OK && gw_rows_count(rows) == 0)
        rc = GW_ENOTFOUND;
    if (rc != GW_OK) {
        gw_rows_free(rows);
        return rc;
    }
    const char *newkey = json_string_value(json_object_get(j->vals, "key"));
    const char *info_txt = gw_rows_get(rows, 0, 1);
    int multi = 0;
    json_t *info = info_txt ? gw_json_parse(info_txt, strlen(info_txt), 32, NULL, 0) : NULL;
    multi = json_is_true(json_object_get(info, "is_multi_key"));
    json_decref(info);
    if (newkey && multi && j->append_keys) {
        gw_buf b;
        gw_buf_init(&b, GW__CH_KEY_MAX);
        rc = append_keys(gw_rows_get(rows, 0, 0), newkey, &b);
        if (rc == GW_OK)
            json_object_set_new(j->vals, "key", json_stringn(b.base ? b.base : "", b.len));
        else
            snprintf(j->fail, sizeof j->fail, "key is longer than 1 MiB");
        gw_buf_free(&b);
        newkey = json_string_value(json_object_get(j->vals, "key"));
    }
    if (rc == GW_OK && multi && (newkey || j->mk_mode)) {
        char *ni = updated_info(info_txt, newkey, j->mk_mode);
        if (ni)
            json_object_set_new(j->vals, "channel_info", json_string(ni));
        gw_free(ni);
    }
    gw_rows_free(rows);
    int by_root = -1;
    if (rc == GW_OK && !j->fail[0])
        rc = gw__ch_dest_apply(st, j, j->id, j->vals, &by_root);
    if (rc == GW_OK && !j->fail[0])
        rc = gw__ch_update(st, j->id, j->vals);
    if (rc == GW_OK && !j->fail[0])
        rc = gw__ch_dest_store(st, j->id, by_root);
    return rc;
}

static int update_work(gw_store *st, void *ctx)
{
    struct gw__chjob *j = ctx;
    int rc = gw_store_begin(st);
    if (rc == GW_OK)
        rc = update_tx(st, j);
    if (rc == GW_OK && !j->fail[0])
        rc = gw__ch_mirror(st, j->id, &j->cmds);
    if (rc == GW_OK && !j->fail[0])
        rc = gw_store_commit(st);
    if (rc != GW_OK || j->fail[0]) {
        gw_store_rollback(st);
        gw_rcmds_free(&j->cmds);
        return rc;
    }
    gw__ch_bump(&j->cmds);
    gw_sql_arg a[1] = {GW_SQL_INT(j->id)};
    gw_rows *rows = NULL;
    if (gw_store_query(st, "SELECT " GW__CH_OUT_COLS " FROM channels WHERE id = ?", a, 1,
                       &rows) == GW_OK && gw_rows_count(rows) == 1)
        j->out = gw__ch_row_json(rows, 0);
    gw_rows_free(rows);
    return GW_OK;
}

/* PUT /api/channel/: partial update of channel `id`, as the reference's
 * GORM Updates: absent or null fields are kept, and so are the non-pointer
 * fields at their zero value (type 0, name/models/group/other/settings "").
 * The key changes only when a non-empty one is sent; on a multi-key channel
 * key_mode "append" adds keys instead of replacing them. `status` is
 * accepted (1, 2, 3) — the Feb tree's console toggles channels this way and
 * this API has no separate status route. channel_info and the read-only
 * columns (used_quota, balance, test times, created_time) are ignored. */
void gw_api_channel_update(gw_req *r, const struct gw_caller *who)
{
    json_t *body = gw_api_body(r);
    if (!body)
        return;
    char err[256] = "";
    const json_t *idv = json_object_get(body, "id"), *key = json_object_get(body, "key");
    const json_t *km = json_object_get(body, "key_mode");
    const char *mk_mode = NULL;
    json_t *vals = json_object();
    int rc = GW_OK;
    if (!json_is_integer(idv) || json_integer_value(idv) < 1)
        rc = failf(err, sizeof err, "id must be a channel id");
    else if (key && !json_is_null(key) && !json_is_string(key))
        rc = failf(err, sizeof err, "invalid key: must be a string");
    else if (json_is_string(key) && json_string_length(key) > GW__CH_KEY_MAX)
        rc = failf(err, sizeof err, "key is longer than 1 MiB");
    else if (km && !json_is_null(km) &&
             (!json_is_string(km) || (strcmp(json_string_value(km), "append") &&
                                      strcmp(json_string_value(km), "replace"))))
        rc = failf(err, sizeof err, "key_mode must be \"append\" or \"replace\"");
    else if ((rc = check_mode(json_object_get(body, "multi_key_mode"), &mk_mode, err,
                              sizeof err)) == GW_OK)
        rc = gw__ch_take(body, vals, err, sizeof err);
    if (rc == GW_OK) {
        static const char *const keep_empty[] = {"name", "models", "group", "other", "settings"};
        for (size_t i = 0; i < sizeof keep_empty / sizeof keep_empty[0]; i++) {
            const char *s = json_string_value(json_object_get(vals, keep_empty[i]));
            if (s && !gw_str_trim(gw_str_c(s)).len)
                json_object_del(vals, keep_empty[i]);
        }
        if (json_integer_value(json_object_get(vals, "type")) == 0)
            json_object_del(vals, "type");
        gw_str k = gw_str_trim(gw_str_c(json_string_value(key)));
        if (k.len)
            json_object_set_new(vals, "key", json_stringn(k.base, k.len));
    }
    struct gw__chjob *j = rc == GW_OK ? gw__ch_job(r, who) : NULL;
    if (j) {
        j->id = (long long)json_integer_value(idv);
        j->append_keys = json_is_string(km) && strcmp(json_string_value(km), "append") == 0;
        j->mk_mode = mk_mode; /* points at a literal */
        j->vals = vals;
        vals = NULL;
    }
    json_decref(body);
    json_decref(vals);
    if (!j) {
        gw_api_fail(r, err[0] ? err : "internal error");
        return;
    }
    gw__ch_run(r, j, update_work);
}

/* ---- import ----------------------------------------------------------- */

/* One import entry: a new channel as create's `channel`, plus the exported
 * channel_info (multi-key state) and created_time. */
static json_t *import_cols(const json_t *e, char *err, size_t n)
{
    json_t *cols = new_cols(e, err, n);
    if (!cols)
        return NULL;
    const json_t *info = json_object_get(e, "channel_info"), *ct = json_object_get(e, "created_time");
    const char *mode = NULL;
    int multi = 0, rc = GW_OK;
    if (info && !json_is_null(info)) {
        const json_t *m = json_object_get(info, "is_multi_key");
        if (!json_is_object(info) || (m && !json_is_boolean(m)))
            rc = failf(err, n, "invalid channel_info: must be an object");
        else
            rc = check_mode(json_object_get(info, "multi_key_mode"), &mode, err, n);
        multi = json_is_true(m);
    }
    if (rc == GW_OK && ct && !json_is_null(ct)) {
        if (!json_is_integer(ct) || json_integer_value(ct) < 0)
            rc = failf(err, n, "invalid created_time: must be a unix time");
        else
            json_object_set_new(cols, "created_time", json_integer(json_integer_value(ct)));
    }
    if (rc == GW_OK) {
        int nkeys = 0;
        gw_str rest = gw_str_c(json_string_value(json_object_get(cols, "key"))), tok;
        while (gw_str_split(&rest, '\n', &tok))
            nkeys++;
        rc = set_info(cols, multi, nkeys, multi ? (mode ? mode : "random") : "");
        if (rc == GW_OK && multi) { /* keep the per-key statuses that still index a key */
            char *txt = updated_info(json_string_value(json_object_get(cols, "channel_info")),
                                     NULL, NULL);
            json_t *sl = json_object_get(info, "multi_key_status_list");
            json_t *st = txt ? json_loads(txt, 0, NULL) : NULL;
            const char *k;
            json_t *v;
            json_object_foreach(sl, k, v) {
                long long idx;
                if (json_is_integer(v) && gw_str_to_ll(gw_str_c(k), 0, nkeys - 1, &idx) == GW_OK)
                    json_object_set(json_object_get(st, "multi_key_status_list"), k, v);
            }
            char *out = st ? json_dumps(st, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
            if (out)
                json_object_set_new(cols, "channel_info", json_string(out));
            gw_free(out);
            gw_free(txt);
            json_decref(st);
        }
    }
    if (rc != GW_OK) {
        json_decref(cols);
        return NULL;
    }
    return cols;
}

/* POST /api/channel/import {channels:[...]} (what export answers): every
 * entry is validated first, then all are inserted in one transaction, or
 * none. Ids are new; keys are required (export them as root). */
void gw_api_channel_import(gw_req *r, const struct gw_caller *who)
{
    json_t *body = gw_api_body(r);
    if (!body)
        return;
    const json_t *list = json_object_get(body, "channels");
    char err[300] = "";
    json_t *rows = json_array();
    if (!json_is_array(list) || json_array_size(list) == 0)
        failf(err, sizeof err, "channels must be a non-empty array");
    else if (json_array_size(list) > GW__CH_MAX_BATCH)
        failf(err, sizeof err, "at most 1000 channels per import");
    for (size_t i = 0; !err[0] && i < json_array_size(list); i++) {
        char why[256] = "";
        json_t *c = import_cols(json_array_get(list, i), why, sizeof why);
        if (!c)
            snprintf(err, sizeof err, "channels[%zu]: %s", i, why[0] ? why : "internal error");
        json_array_append_new(rows, c);
    }
    json_decref(body);
    struct gw__chjob *j = err[0] ? NULL : gw__ch_job(r, who);
    if (!j) {
        json_decref(rows);
        gw_api_fail(r, err[0] ? err : "internal error");
        return;
    }
    j->rows = rows;
    gw__ch_run(r, j, insert_work);
}
