/* Channel rows: validation of the writable columns, writes, the abilities
 * table (groups x models, reference model/ability.go) and the Redis mirror.
 * See channels.h. */
#include <stdio.h>
#include <string.h>
#include "gateway/api/channels.h"
#include "gateway/core/alloc.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"
#include "gateway/core/str.h"
#include "gateway/state/config_watch.h"

#define AB_CHUNK 50 /* rows per INSERT, as the reference */
#define JSON_DEPTH 32

enum kind { K_INT, K_STR, K_URL, K_LIST, K_MAP, K_OBJ };

/* The writable columns; JSON name == column name. Sizes follow the
 * narrowest column type among the three schemas (VARCHAR(191), MySQL TEXT
 * 65535 bytes, status_code_mapping VARCHAR(1024), group VARCHAR(64)). */
static const struct field {
    const char *name;
    enum kind kind;
    long long min, max; /* K_INT: range; others: max bytes */
    size_t item_max;    /* K_LIST: bytes per item */
} FIELDS[] = {
    {"type", K_INT, 0, GW__CH_TYPE_MAX, 0},
    {"openai_organization", K_STR, 0, 255, 0},
    {"test_model", K_STR, 0, 255, 0},
    {"status", K_INT, 1, 3, 0},
    {"name", K_STR, 0, 191, 0},
    {"weight", K_INT, 0, 4294967295LL, 0},
    {"base_url", K_URL, 0, 191, 0},
    {"other", K_STR, 0, 65535, 0},
    {"models", K_LIST, 0, 65535, 255},
    {"group", K_LIST, 0, 64, 64},
    {"model_mapping", K_MAP, 0, 65535, 0},
    {"status_code_mapping", K_MAP, 0, 1024, 0},
    {"priority", K_INT, -1000000000000000LL, 1000000000000000LL, 0},
    {"auto_ban", K_INT, 0, 1, 0},
    {"tag", K_STR, 0, 191, 0},
    {"setting", K_OBJ, 0, 65535, 0},
    {"param_override", K_OBJ, 0, 65535, 0},
    {"header_override", K_OBJ, 0, 65535, 0},
    {"remark", K_STR, 0, 255, 0},
    {"settings", K_OBJ, 0, 65535, 0},
};
#define NFIELDS (sizeof FIELDS / sizeof FIELDS[0])

/* Every column a write may set, in INSERT order. */
static const char *const WCOLS[] = {
    "type", "key", "openai_organization", "test_model", "status", "name", "weight",
    "created_time", "base_url", "other", "models", "group", "model_mapping",
    "status_code_mapping", "priority", "auto_ban", "tag", "setting", "param_override",
    "header_override", "remark", "channel_info", "settings",
};
#define NWCOLS (sizeof WCOLS / sizeof WCOLS[0])

/* The SQL column of a JSON field: GORM names OpenAIOrganization's column
 * open_ai_organization, while its JSON (and so WCOLS) says openai_organization. */
static const char *column_of(const char *field)
{
    return strcmp(field, "openai_organization") == 0 ? "open_ai_organization" : field;
}

int gw__ch_split(const char *s, size_t item_max, char ***items, size_t *n)
{
    size_t cap = 1, len = s ? strlen(s) : 0;
    for (size_t i = 0; i < len; i++)
        cap += s[i] == ',';
    /* one block: the pointer array, then a copy of s to cut in place */
    char **v = gw_malloc(cap * sizeof *v + len + 1);
    if (!v)
        return GW_ENOMEM;
    char *buf = (char *)(v + cap);
    memcpy(buf, s ? s : "", len + 1);
    size_t k = 0;
    gw_str rest = {buf, len}, tok;
    while (gw_str_split(&rest, ',', &tok)) {
        gw_str t = gw_str_trim(tok);
        if (!t.len)
            continue;
        if (t.len > item_max) {
            gw_free(v);
            return GW_EINVAL;
        }
        char *item = (char *)t.base;
        item[t.len] = '\0'; /* the separator or trailing space: already consumed */
        int dup = 0;
        for (size_t i = 0; i < k && !dup; i++)
            dup = strcmp(v[i], item) == 0;
        if (!dup)
            v[k++] = item;
    }
    *items = v;
    *n = k;
    return GW_OK;
}

/* Joins a split list back with ',' into a json string. */
static json_t *join_list(char **v, size_t n)
{
    gw_buf b;
    gw_buf_init(&b, 1 << 20);
    for (size_t i = 0; i < n; i++)
        if ((i && gw_buf_append(&b, ",", 1) != GW_OK) || gw_buf_appends(&b, v[i]) != GW_OK) {
            gw_buf_free(&b);
            return NULL;
        }
    json_t *j = json_stringn(b.base ? b.base : "", b.len);
    gw_buf_free(&b);
    return j;
}

static int bad(char *err, size_t n, const char *field, const char *why)
{
    snprintf(err, n, "invalid %s: %s", field, why);
    return GW_EINVAL;
}

/* A JSON-text column: "" or an object (K_OBJ), or an object of strings
 * (K_MAP: model_mapping {"from":"to"}, status_code_mapping {"429":"500"}). */
static int check_json_text(const struct field *f, const char *s, size_t len, char *err,
                           size_t n)
{
    gw_str t = gw_str_trim((gw_str){s, len});
    if (!t.len)
        return GW_OK;
    char perr[128];
    json_t *j = gw_json_parse(t.base, t.len, JSON_DEPTH, perr, sizeof perr);
    if (!j)
        return bad(err, n, f->name, "must be a JSON object");
    int rc = GW_OK;
    if (!json_is_object(j))
        rc = bad(err, n, f->name, "must be a JSON object");
    else if (f->kind == K_MAP) {
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v) {
            if (!json_is_string(v) || !*k) {
                rc = bad(err, n, f->name, "must map names to strings, e.g. {\"a\":\"b\"}");
                break;
            }
        }
    }
    json_decref(j);
    return rc;
}

static int take_one(const struct field *f, const json_t *v, json_t *dst, char *err, size_t n)
{
    if (f->kind == K_INT) {
        long long x;
        if (!json_is_integer(v))
            return bad(err, n, f->name, "must be an integer");
        x = (long long)json_integer_value(v);
        if (x < f->min || x > f->max) {
            char why[96];
            snprintf(why, sizeof why, "must be between %lld and %lld", f->min, f->max);
            return bad(err, n, f->name, why);
        }
        json_object_set_new(dst, f->name, json_integer((json_int_t)x));
        return GW_OK;
    }
    if (!json_is_string(v))
        return bad(err, n, f->name, "must be a string");
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (len > (size_t)f->max) {
        char why[64];
        snprintf(why, sizeof why, "longer than %lld bytes", f->max);
        return bad(err, n, f->name, why);
    }
    if (f->kind == K_URL && len && strncmp(s, "http://", 7) != 0 &&
        strncmp(s, "https://", 8) != 0)
        return bad(err, n, f->name, "must start with http:// or https://");
    if ((f->kind == K_MAP || f->kind == K_OBJ) && check_json_text(f, s, len, err, n) != GW_OK)
        return GW_EINVAL;
    if (f->kind == K_LIST) {
        char **items;
        size_t k;
        int rc = gw__ch_split(s, f->item_max, &items, &k);
        if (rc == GW_EINVAL)
            return bad(err, n, f->name, "an item is too long");
        if (rc != GW_OK)
            return rc;
        json_t *joined = join_list(items, k);
        gw_free(items);
        if (!joined)
            return GW_ENOMEM;
        json_object_set_new(dst, f->name, joined);
        return GW_OK;
    }
    json_object_set_new(dst, f->name, json_stringn(s, len));
    return GW_OK;
}

int gw__ch_take(const json_t *src, json_t *dst, char *err, size_t errlen)
{
    for (size_t i = 0; i < NFIELDS; i++) {
        const json_t *v = json_object_get(src, FIELDS[i].name);
        if (!v || json_is_null(v)) /* absent and null both mean "not given" */
            continue;
        int rc = take_one(&FIELDS[i], v, dst, err, errlen);
        if (rc != GW_OK)
            return rc;
    }
    /* Vertex AI needs its region map in `other` (reference validateChannel). */
    const json_t *type = json_object_get(dst, "type");
    if (type && json_integer_value(type) == 41) {
        const char *o = json_string_value(json_object_get(dst, "other"));
        json_t *j = o && *o ? gw_json_parse(o, strlen(o), JSON_DEPTH, NULL, 0) : NULL;
        int ok = json_is_object(j) && json_object_get(j, "default");
        json_decref(j);
        if (!ok)
            return bad(err, errlen, "other",
                       "Vertex AI needs a JSON region map with a \"default\" entry");
    }
    return GW_OK;
}

void gw__ch_defaults(json_t *dst)
{
    /* GORM writes the column default for a zero value: status 0 → 1,
     * group "" → "default". */
    json_t *st = json_object_get(dst, "status");
    if (!st)
        json_object_set_new(dst, "status", json_integer(1));
    const char *g = json_string_value(json_object_get(dst, "group"));
    if (!g || !*g)
        json_object_set_new(dst, "group", json_string("default"));
    static const char *const zero[] = {"type", "weight", "priority"};
    for (size_t i = 0; i < 3; i++)
        if (!json_object_get(dst, zero[i]))
            json_object_set_new(dst, zero[i], json_integer(0));
    if (!json_object_get(dst, "auto_ban"))
        json_object_set_new(dst, "auto_ban", json_integer(1));
    static const char *const empty[] = {"name", "base_url", "models", "other",
                                        "status_code_mapping", "settings"};
    for (size_t i = 0; i < sizeof empty / sizeof empty[0]; i++)
        if (!json_object_get(dst, empty[i]))
            json_object_set_new(dst, empty[i], json_string(""));
}

char *gw__ch_info_text(int multi, int nkeys, const char *mode)
{
    /* The reference's ChannelInfo as GORM stores it (nil maps are null). */
    json_t *j = json_pack("{s:b, s:i, s:o, s:i, s:s}", "is_multi_key", multi, "multi_key_size",
                          multi ? nkeys : 0, "multi_key_status_list",
                          multi ? json_object() : json_null(), "multi_key_polling_index", 0,
                          "multi_key_mode", mode ? mode : "");
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(j);
    return s; /* jansson allocates through gw_malloc: free with gw_free */
}

static gw_sql_arg arg_of(const json_t *v)
{
    if (json_is_integer(v))
        return GW_SQL_INT((long long)json_integer_value(v));
    if (json_is_string(v))
        return GW_SQL_TEXTN(json_string_value(v), json_string_length(v));
    return GW_SQL_NULL;
}

int gw__ch_insert(gw_store *st, const json_t *cols, long long *id)
{
    char sql[1024], vals[160];
    gw_sql_arg args[NWCOLS];
    size_t n = 0, sl = 0, vl = 0;
    sl = (size_t)snprintf(sql, sizeof sql, "INSERT INTO channels (");
    for (size_t i = 0; i < NWCOLS; i++) {
        const json_t *v = json_object_get(cols, WCOLS[i]);
        if (!v)
            continue;
        sl += (size_t)snprintf(sql + sl, sizeof sql - sl, "%s`%s`", n ? ", " : "",
                               column_of(WCOLS[i]));
        vl += (size_t)snprintf(vals + vl, sizeof vals - vl, "%s?", n ? ", " : "");
        args[n++] = arg_of(v);
    }
    snprintf(sql + sl, sizeof sql - sl, ") VALUES (%s)", vals);
    int rc = gw_store_insert(st, sql, args, n, id);
    return rc == GW_OK ? gw__ab_rebuild(st, *id) : rc;
}

int gw__ch_update(gw_store *st, long long id, const json_t *cols)
{
    char sql[1024];
    gw_sql_arg args[NWCOLS + 1];
    size_t n = 0, sl = (size_t)snprintf(sql, sizeof sql, "UPDATE channels SET ");
    for (size_t i = 0; i < NWCOLS; i++) {
        const json_t *v = json_object_get(cols, WCOLS[i]);
        if (!v || strcmp(WCOLS[i], "created_time") == 0)
            continue;
        sl += (size_t)snprintf(sql + sl, sizeof sql - sl, "%s`%s` = ?", n ? ", " : "",
                               column_of(WCOLS[i]));
        args[n++] = arg_of(v);
    }
    int rc = GW_OK;
    if (n) {
        snprintf(sql + sl, sizeof sql - sl, " WHERE id = ?");
        args[n++] = GW_SQL_INT(id);
        rc = gw_store_exec(st, sql, args, n, NULL);
    }
    return rc == GW_OK ? gw__ab_rebuild(st, id) : rc;
}

static int ab_insert(gw_store *st, long long id, char **groups, size_t ng, char **models,
                     size_t nm, long long enabled, long long prio, long long weight,
                     const char *tag)
{
    enum { NA = 7 };
    gw_sql_arg args[AB_CHUNK * NA];
    char sql[AB_CHUNK * 24 + 128];
    size_t rows = 0, total = ng * nm;
    int rc = GW_OK;
    for (size_t k = 0; k < total && rc == GW_OK; k++) {
        gw_sql_arg *a = args + rows * NA;
        a[0] = GW_SQL_TEXT(groups[k / nm]);
        a[1] = GW_SQL_TEXT(models[k % nm]);
        a[2] = GW_SQL_INT(id);
        a[3] = GW_SQL_INT(enabled);
        a[4] = GW_SQL_INT(prio);
        a[5] = GW_SQL_INT(weight);
        a[6] = tag ? GW_SQL_TEXT(tag) : GW_SQL_NULL;
        if (++rows < AB_CHUNK && k + 1 < total)
            continue;
        size_t sl = (size_t)snprintf(sql, sizeof sql,
                                     "INSERT INTO abilities (`group`, model, channel_id, "
                                     "enabled, priority, weight, tag) VALUES ");
        for (size_t i = 0; i < rows; i++)
            sl += (size_t)snprintf(sql + sl, sizeof sql - sl, "%s(?, ?, ?, ?, ?, ?, ?)",
                                   i ? ", " : "");
        rc = gw_store_exec(st, sql, args, rows * NA, NULL);
        rows = 0;
    }
    return rc;
}

int gw__ab_rebuild(gw_store *st, long long id)
{
    gw_sql_arg a[1] = {GW_SQL_INT(id)};
    gw_rows *rows = NULL;
    int rc = gw_store_exec(st, "DELETE FROM abilities WHERE channel_id = ?", a, 1, NULL);
    if (rc == GW_OK)
        rc = gw_store_query(st,
                            "SELECT models, `group`, status, priority, weight, tag FROM "
                            "channels WHERE id = ?",
                            a, 1, &rows);
    if (rc != GW_OK || gw_rows_count(rows) == 0) {
        gw_rows_free(rows);
        return rc;
    }
    long long status = 0, prio = 0, weight = 0;
    gw_rows_int(rows, 0, 2, &status);
    gw_rows_int(rows, 0, 3, &prio);
    gw_rows_int(rows, 0, 4, &weight);
    char **models = NULL, **groups = NULL;
    size_t nm = 0, ng = 0;
    /* item limits as the abilities columns: model VARCHAR(255), group VARCHAR(64);
     * longer items (only in a database written by someone else) are skipped */
    rc = gw__ch_split(gw_rows_get(rows, 0, 0), (size_t)-1, &models, &nm);
    if (rc == GW_OK)
        rc = gw__ch_split(gw_rows_get(rows, 0, 1), (size_t)-1, &groups, &ng);
    if (rc == GW_OK) {
        size_t km = 0, kg = 0;
        for (size_t i = 0; i < nm; i++)
            if (strlen(models[i]) <= 255)
                models[km++] = models[i];
        for (size_t i = 0; i < ng; i++)
            if (strlen(groups[i]) <= 64)
                groups[kg++] = groups[i];
        rc = ab_insert(st, id, groups, kg, models, km, status == 1, prio, weight,
                       gw_rows_get(rows, 0, 5));
    }
    gw_free(models);
    gw_free(groups);
    gw_rows_free(rows);
    return rc;
}

int gw__ch_mirror(gw_store *st, long long id, struct gw_rcmds *b)
{
    gw_sql_arg a[1] = {GW_SQL_INT(id)};
    gw_rows *rows = NULL;
    int rc = gw_store_query(st, "SELECT " GW_RR_CHANNEL_COLS " FROM channels WHERE id = ?", a, 1,
                            &rows);
    if (rc == GW_OK) {
        if (gw_rows_count(rows) == 1)
            rc = gw_rr_channel(b, rows, 0);
        else
            gw__ch_mirror_del(id, b);
    }
    gw_rows_free(rows);
    return rc;
}

void gw__ch_mirror_del(long long id, struct gw_rcmds *b) { gw_rr_channel_del(b, id); }

void gw__ch_bump(struct gw_rcmds *b)
{
    const char *argv[] = {"INCR", GW_CFGWATCH_VERSION_KEY};
    gw_rcmds_add(b, 2, argv);
}

const char *gw__ch_lock(gw_store *st) { return gw_store_kind(st) == GW_DB_SQLITE ? "" : " FOR UPDATE"; }

static const struct gw_col OUT_SPEC[] = {
    {"id", GW_COL_INT},         {"type", GW_COL_INT},         {"status", GW_COL_INT},
    {"weight", GW_COL_INT},     {"created_time", GW_COL_INT}, {"test_time", GW_COL_INT},
    {"response_time", GW_COL_INT}, {"balance", GW_COL_REAL},
    {"balance_updated_time", GW_COL_INT}, {"used_quota", GW_COL_INT},
    {"priority", GW_COL_INT},   {"auto_ban", GW_COL_INT},
};

json_t *gw__ch_row_json(const gw_rows *rows, size_t i)
{
    json_t *o = gw_api_row_json(rows, i, OUT_SPEC, sizeof OUT_SPEC / sizeof OUT_SPEC[0]);
    if (!o)
        return NULL;
    const char *txt = json_string_value(json_object_get(o, "channel_info"));
    json_t *info = txt && *txt ? gw_json_parse(txt, strlen(txt), JSON_DEPTH, NULL, 0) : NULL;
    if (!json_is_object(info)) {
        json_decref(info);
        char *def = gw__ch_info_text(0, 0, "");
        info = def ? json_loads(def, 0, NULL) : NULL;
        gw_free(def);
    }
    if (info && json_is_true(json_object_get(info, "is_multi_key"))) {
        /* reference clearChannelInfo: per-key reasons and times stay inside */
        json_object_del(info, "multi_key_disabled_reason");
        json_object_del(info, "multi_key_disabled_time");
    }
    json_object_set_new(o, "channel_info", info ? info : json_object());
    return o;
}

json_t *gw__ch_rows_json(const gw_rows *rows)
{
    json_t *a = json_array();
    for (size_t i = 0; a && rows && i < gw_rows_count(rows); i++)
        json_array_append_new(a, gw__ch_row_json(rows, i));
    return a;
}
