/* /api/channel writes (reference controller/channel.go): create in modes
 * single | batch | multi_to_single, update, delete (one, disabled, a batch),
 * tag edit / enable / disable, abilities fix, import. Each is one SQL
 * transaction that rebuilds the abilities of every channel it touches; the
 * Redis mirror and the config-version bump are queued after the commit. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "gateway/api/api.h"
#include "gateway/api/channels.h"
#include "gateway/core/alloc.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"
#include "gateway/core/str.h"

#define DEL_CHUNK 200

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
                snprintf(nm, sizeof nm, "%.180s %.8s", name, k);
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
        rc = gw__ch_insert(st, json_array_get(j->rows, i), &id);
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
    if (rc == GW_OK && !j->fail[0])
        rc = gw__ch_update(st, j->id, j->vals);
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

/* ---- deletes ----------------------------------------------------------- */

/* Deletes channels ids[0..n) and their abilities; *deleted counts channels. */
static int delete_ids(gw_store *st, const long long *ids, size_t n, long long *deleted)
{
    gw_sql_arg a[DEL_CHUNK];
    char in[DEL_CHUNK * 3 + 8], sql[DEL_CHUNK * 3 + 96];
    int rc = GW_OK;
    *deleted = 0;
    for (size_t off = 0; rc == GW_OK && off < n; off += DEL_CHUNK) {
        size_t k = n - off < DEL_CHUNK ? n - off : DEL_CHUNK, l = 0;
        for (size_t i = 0; i < k; i++) {
            a[i] = GW_SQL_INT(ids[off + i]);
            l += (size_t)snprintf(in + l, sizeof in - l, "%s?", i ? "," : "");
        }
        long long aff = 0;
        snprintf(sql, sizeof sql, "DELETE FROM channels WHERE id IN (%s)", in);
        rc = gw_store_exec(st, sql, a, k, &aff);
        *deleted += aff;
        snprintf(sql, sizeof sql, "DELETE FROM abilities WHERE channel_id IN (%s)", in);
        if (rc == GW_OK)
            rc = gw_store_exec(st, sql, a, k, NULL);
    }
    return rc;
}

static int finish(gw_store *st, struct gw__chjob *j, int rc)
{
    if (rc == GW_OK && !j->fail[0])
        rc = gw_store_commit(st);
    if (rc != GW_OK || j->fail[0]) {
        gw_store_rollback(st);
        gw_rcmds_free(&j->cmds);
        return rc;
    }
    gw__ch_bump(&j->cmds);
    return GW_OK;
}

static int delete_one_work(gw_store *st, void *ctx)
{
    struct gw__chjob *j = ctx;
    long long n = 0;
    int rc = gw_store_begin(st);
    if (rc == GW_OK)
        rc = delete_ids(st, &j->id, 1, &n);
    if (rc == GW_OK && n == 0)
        rc = GW_ENOTFOUND;
    gw__ch_mirror_del(j->id, &j->cmds);
    return finish(st, j, rc);
}

void gw_api_channel_delete(gw_req *r, const struct gw_caller *who)
{
    long long id = gw__ch_path_id(r);
    struct gw__chjob *j = id ? gw__ch_job(r, who) : NULL;
    if (!id)
        return;
    if (!j) {
        gw_api_fail(r, "internal error");
        return;
    }
    j->id = id;
    gw__ch_run(r, j, delete_one_work);
}

/* Ids of a query's first column, at most cap. */
static int select_ids(gw_store *st, const char *sql, const gw_sql_arg *a, size_t na,
                      long long **ids, size_t *n)
{
    gw_rows *rows = NULL;
    int rc = gw_store_query(st, sql, a, na, &rows);
    *ids = NULL;
    *n = 0;
    if (rc == GW_OK && gw_rows_count(rows)) {
        *ids = gw_calloc(gw_rows_count(rows), sizeof **ids);
        if (!*ids)
            rc = GW_ENOMEM;
        for (size_t i = 0; rc == GW_OK && i < gw_rows_count(rows); i++)
            if (gw_rows_int(rows, i, 0, &(*ids)[*n]) == GW_OK)
                (*n)++;
    }
    gw_rows_free(rows);
    return rc;
}

static int delete_list_work(gw_store *st, struct gw__chjob *j, long long *ids, size_t n)
{
    long long deleted = 0;
    int rc = delete_ids(st, ids, n, &deleted);
    for (size_t i = 0; rc == GW_OK && i < n; i++)
        gw__ch_mirror_del(ids[i], &j->cmds);
    if (rc == GW_OK && !(j->out = json_integer((json_int_t)deleted)))
        rc = GW_ENOMEM;
    return finish(st, j, rc);
}

static int delete_disabled_work(gw_store *st, void *ctx)
{
    struct gw__chjob *j = ctx;
    long long *ids = NULL;
    size_t n = 0;
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT id FROM channels WHERE status IN (2, 3)%s", gw__ch_lock(st));
    int rc = gw_store_begin(st);
    if (rc == GW_OK)
        rc = select_ids(st, sql, NULL, 0, &ids, &n);
    rc = rc == GW_OK ? delete_list_work(st, j, ids, n) : finish(st, j, rc);
    gw_free(ids);
    return rc;
}

/* DELETE /api/channel/disabled: channels with status 2 or 3, with their
 * abilities (the reference leaves those behind). data = how many. */
void gw_api_channel_delete_disabled(gw_req *r, const struct gw_caller *who)
{
    struct gw__chjob *j = gw__ch_job(r, who);
    if (!j) {
        gw_api_fail(r, "internal error");
        return;
    }
    gw__ch_run(r, j, delete_disabled_work);
}

static int batch_delete_work(gw_store *st, void *ctx)
{
    struct gw__chjob *j = ctx;
    const json_t *a = json_object_get(j->in, "ids");
    size_t n = json_array_size(a);
    long long *ids = gw_calloc(n, sizeof *ids);
    if (!ids)
        return GW_ENOMEM;
    for (size_t i = 0; i < n; i++)
        ids[i] = (long long)json_integer_value(json_array_get(a, i));
    int rc = gw_store_begin(st);
    rc = rc == GW_OK ? delete_list_work(st, j, ids, n) : finish(st, j, rc);
    gw_free(ids);
    return rc;
}

/* Body {"ids":[...]} or {"ids":[...]} from the console; data = channels deleted. */
static json_t *ids_body(gw_req *r, char *err, size_t n)
{
    json_t *body = gw_api_body(r);
    if (!body)
        return NULL;
    const json_t *ids = json_object_get(body, "ids");
    const char *why = NULL;
    if (!json_is_array(ids) || json_array_size(ids) == 0)
        why = "ids must be a non-empty array of channel ids";
    else if (json_array_size(ids) > GW__CH_MAX_BATCH)
        why = "at most 1000 ids per request";
    for (size_t i = 0; !why && i < json_array_size(ids); i++) {
        const json_t *v = json_array_get(ids, i);
        if (!json_is_integer(v) || json_integer_value(v) < 1)
            why = "ids must be a non-empty array of channel ids";
    }
    if (why) {
        failf(err, n, why);
        gw_api_fail(r, err);
        json_decref(body);
        return NULL;
    }
    return body;
}

void gw_api_channel_batch_delete(gw_req *r, const struct gw_caller *who)
{
    char err[128];
    json_t *body = ids_body(r, err, sizeof err);
    if (!body)
        return;
    struct gw__chjob *j = gw__ch_job(r, who);
    if (!j) {
        json_decref(body);
        gw_api_fail(r, "internal error");
        return;
    }
    j->in = body;
    gw__ch_run(r, j, batch_delete_work);
}

/* ---- tags -------------------------------------------------------------- */

/* Applies j->vals (may be empty) to every channel tagged j->tag, rebuilding
 * their abilities and mirrors. */
static int tag_work(gw_store *st, void *ctx)
{
    struct gw__chjob *j = ctx;
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT id FROM channels WHERE tag = ?%s", gw__ch_lock(st));
    gw_sql_arg a[1] = {GW_SQL_TEXT(j->tag)};
    long long *ids = NULL;
    size_t n = 0;
    int rc = gw_store_begin(st);
    if (rc == GW_OK)
        rc = select_ids(st, sql, a, 1, &ids, &n);
    for (size_t i = 0; rc == GW_OK && i < n; i++) {
        rc = gw__ch_update(st, ids[i], j->vals);
        if (rc == GW_OK)
            rc = gw__ch_mirror(st, ids[i], &j->cmds);
    }
    gw_free(ids);
    return finish(st, j, rc);
}

static json_t *tag_body(gw_req *r, char **tag)
{
    json_t *body = gw_api_body(r);
    if (!body)
        return NULL;
    const char *t = json_string_value(json_object_get(body, "tag"));
    if (!t || !*t) {
        gw_api_fail(r, "tag is required");
        json_decref(body);
        return NULL;
    }
    *tag = gw_strdup(t);
    if (!*tag) {
        gw_api_fail(r, "internal error");
        json_decref(body);
        return NULL;
    }
    return body;
}

static void tag_run(gw_req *r, const struct gw_caller *who, char *tag, json_t *vals)
{
    struct gw__chjob *j = gw__ch_job(r, who);
    if (!j) {
        gw_free(tag);
        json_decref(vals);
        gw_api_fail(r, "internal error");
        return;
    }
    j->tag = tag;
    j->vals = vals;
    gw__ch_run(r, j, tag_work);
}

static void tag_status(gw_req *r, const struct gw_caller *who, int status)
{
    char *tag = NULL;
    json_t *body = tag_body(r, &tag);
    if (!body)
        return;
    json_decref(body);
    tag_run(r, who, tag, json_pack("{s:i}", "status", status));
}

void gw_api_channel_tag_disable(gw_req *r, const struct gw_caller *who) { tag_status(r, who, 2); }
void gw_api_channel_tag_enable(gw_req *r, const struct gw_caller *who) { tag_status(r, who, 1); }

/* PUT /api/channel/tag {tag, new_tag, priority, weight, model_mapping,
 * models, groups, param_override, header_override} (reference
 * EditChannelByTag): model_mapping, models and groups apply only when
 * non-empty, new_tag only when it differs, the others whenever given. */
void gw_api_channel_tag_update(gw_req *r, const struct gw_caller *who)
{
    char *tag = NULL, err[256] = "";
    json_t *body = tag_body(r, &tag);
    if (!body)
        return;
    json_t *src = json_object(), *vals = json_object();
    static const char *const same[] = {"priority", "weight", "model_mapping", "models",
                                       "param_override", "header_override"};
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++)
        if (json_object_get(body, same[i]))
            json_object_set(src, same[i], json_object_get(body, same[i]));
    if (json_object_get(body, "groups"))
        json_object_set(src, "group", json_object_get(body, "groups"));
    if (json_object_get(body, "new_tag"))
        json_object_set(src, "tag", json_object_get(body, "new_tag"));
    int rc = gw__ch_take(src, vals, err, sizeof err);
    if (rc == GW_OK) {
        static const char *const nonempty[] = {"model_mapping", "models", "group"};
        for (size_t i = 0; i < 3; i++) {
            const char *s = json_string_value(json_object_get(vals, nonempty[i]));
            if (s && !*s)
                json_object_del(vals, nonempty[i]);
        }
        const char *nt = json_string_value(json_object_get(vals, "tag"));
        if (nt && strcmp(nt, tag) == 0)
            json_object_del(vals, "tag");
    }
    json_decref(src);
    json_decref(body);
    if (rc != GW_OK) {
        gw_free(tag);
        json_decref(vals);
        gw_api_fail(r, err);
        return;
    }
    tag_run(r, who, tag, vals);
}

/* ---- fix, import ------------------------------------------------------- */

static int fix_work(gw_store *st, void *ctx)
{
    struct gw__chjob *j = ctx;
    long long *ids = NULL;
    size_t n = 0, ok = 0;
    int rc = gw_store_begin(st);
    if (rc == GW_OK)
        rc = gw_store_exec(st, "DELETE FROM abilities", NULL, 0, NULL);
    if (rc == GW_OK)
        rc = select_ids(st, "SELECT id FROM channels ORDER BY id", NULL, 0, &ids, &n);
    for (size_t i = 0; rc == GW_OK && i < n; i++, ok++) {
        rc = gw__ab_rebuild(st, ids[i]);
        if (rc == GW_OK)
            rc = gw__ch_mirror(st, ids[i], &j->cmds);
    }
    gw_free(ids);
    if (rc == GW_OK)
        j->out = json_pack("{s:I, s:i}", "success", (json_int_t)ok, "fails", 0);
    return finish(st, j, rc);
}

/* POST /api/channel/fix: rebuilds every ability from the channels (reference
 * FixAbility); data = {success: channels rebuilt, fails: 0}. */
void gw_api_channel_fix(gw_req *r, const struct gw_caller *who)
{
    struct gw__chjob *j = gw__ch_job(r, who);
    if (!j) {
        gw_api_fail(r, "internal error");
        return;
    }
    gw__ch_run(r, j, fix_work);
}

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
