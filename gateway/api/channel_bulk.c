/* /api/channel bulk writes (reference controller/channel.go): delete one,
 * the disabled ones or a list; tag edit / enable / disable; the abilities
 * fix. Each is one SQL transaction that rebuilds or deletes the abilities
 * of every channel it touches; the Redis mirror and the config-version bump
 * are queued after the commit. Creates, updates and imports are in
 * channel_ops.c. */
#include <stdio.h>
#include <string.h>
#include "gateway/api/api.h"
#include "gateway/api/channels.h"
#include "gateway/core/alloc.h"
#include "gateway/core/err.h"

#define DEL_CHUNK 200

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
        snprintf(sql, sizeof sql, "DELETE FROM channel_destinations WHERE channel_id IN (%s)", in);
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

/* Body {"ids":[...]}: 1 to 1000 channel ids; data = channels deleted. */
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
        snprintf(err, n, "%s", why);
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
        int by_root = -1; /* tag edits name no destination field today: a no-op */
        rc = gw__ch_dest_apply(st, j, ids[i], j->vals, &by_root);
        if (rc == GW_OK)
            rc = gw__ch_update(st, ids[i], j->vals);
        if (rc == GW_OK)
            rc = gw__ch_dest_store(st, ids[i], by_root);
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

/* ---- fix ------------------------------------------------------- */

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
