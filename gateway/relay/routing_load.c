/* Loading the routing table from SQL: channels (every status, so pinned
 * channels can be found and their status reported) and abilities, then the
 * group → model → priority-sorted channels index. Runs on a thread-pool
 * thread; nothing here touches shared state. */
#include "gateway/relay/routing_impl.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/core/alloc.h"
#include "gateway/core/json.h"
#include "gateway/core/str.h"

enum {
    C_ID, C_TYPE, C_KEY, C_STATUS, C_NAME, C_BASE_URL, C_OTHER, C_ORG, C_TEST_MODEL,
    C_GROUP, C_MODELS, C_PRIORITY, C_WEIGHT, C_AUTO_BAN, C_TAG, C_MODEL_MAPPING,
    C_STATUS_CODE_MAPPING, C_PARAM_OVERRIDE, C_HEADER_OVERRIDE, C_SETTING, C_SETTINGS,
    C_CHANNEL_INFO,
    C_DEST_SET_BY_ROOT
};

static const char CHANNELS_SQL[] =
    "SELECT id, type, `key`, status, name, base_url, other, open_ai_organization, test_model, "
    "`group`, models, priority, weight, auto_ban, tag, model_mapping, status_code_mapping, "
    "param_override, header_override, setting, settings, channel_info, "
    "channel_destinations.set_by_root "
    "FROM channels LEFT JOIN channel_destinations "
    "ON channel_destinations.channel_id = channels.id ORDER BY channels.id";

/* enabled is read back with gw_rows_int rather than compared in SQL: SQLite
 * stores the reference's bool as 0/1, PostgreSQL as a real boolean. */
static const char ABILITIES_SQL[] =
    "SELECT `group`, model, channel_id, enabled FROM abilities";

#define MSG_MAX 256

static void setf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void setf(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (err == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static gw_str cell(const gw_rows *r, size_t row, size_t col)
{
    const char *v = gw_rows_get(r, row, col);
    return v ? (gw_str){ v, gw_rows_len(r, row, col) } : (gw_str){ "", 0 };
}

static long long cell_int(const gw_rows *r, size_t row, size_t col, long long dflt)
{
    long long v;
    return gw_rows_int(r, row, col, &v) == GW_OK ? v : dflt;
}

static char *cell_dup(gw_arena *a, const gw_rows *r, size_t row, size_t col)
{
    gw_str s = cell(r, row, col);
    return gw_arena_strndup(a, s.base, s.len);
}

/* A JSON object column: NULL for SQL NULL, blank, "null" and "{}". */
static int parse_obj(const gw_rows *r, size_t row, size_t col, const char *name, json_t **out,
                     char *msg)
{
    char jerr[160];
    gw_str s = gw_str_trim(cell(r, row, col));

    *out = NULL;
    if (s.len == 0 || gw_str_eq(s, GW_STRLIT("null")))
        return GW_OK;
    json_t *j = gw_json_parse(s.base, s.len, 0, jerr, sizeof jerr);
    if (j == NULL) {
        setf(msg, MSG_MAX, "%s: %s", name, jerr);
        return GW_EINVAL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        setf(msg, MSG_MAX, "%s: not a JSON object", name);
        return GW_EINVAL;
    }
    if (json_object_size(j) == 0)
        json_decref(j);
    else
        *out = j;
    return GW_OK;
}

static int keys_alloc(gw_arena *a, struct gw_channel *c, size_t n)
{
    c->nkeys = (int)n;
    c->keys = gw_arena_calloc(a, (n ? n : 1) * sizeof c->keys[0]);
    c->key_disabled = gw_arena_calloc(a, (n ? n : 1) * sizeof c->key_disabled[0]);
    return c->keys && c->key_disabled ? GW_OK : GW_ENOMEM;
}

/* Keys as the reference's Channel.GetKeys splits them (see routing.h). */
static int split_keys(gw_arena *a, struct gw_channel *c, gw_str raw)
{
    gw_str t = gw_str_trim(raw), tok;
    size_t n = 0;

    if (t.len && t.base[0] == '[') {
        json_t *arr = gw_json_parse(t.base, t.len, 0, NULL, 0);
        if (json_is_array(arr)) {
            size_t i;
            json_t *v;
            if (keys_alloc(a, c, json_array_size(arr)) != GW_OK) {
                json_decref(arr);
                return GW_ENOMEM;
            }
            json_array_foreach(arr, i, v) {
                if (json_is_string(v)) {
                    c->keys[i] = gw_arena_strndup(a, json_string_value(v), json_string_length(v));
                } else {
                    char *d = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
                    c->keys[i] = d ? gw_arena_strdup(a, d) : NULL;
                    gw_free(d);
                }
                if (c->keys[i] == NULL) {
                    json_decref(arr);
                    return GW_ENOMEM;
                }
                c->key_disabled[i] = c->keys[i][0] == '\0';
            }
            json_decref(arr);
            return GW_OK;
        }
        json_decref(arr);       /* not an array after all: newline split */
    }
    /* strings.Split(strings.Trim(key, "\n"), "\n"): inner blank lines keep
     * their index. */
    while (raw.len && raw.base[0] == '\n')
        raw.base++, raw.len--;
    while (raw.len && raw.base[raw.len - 1] == '\n')
        raw.len--;
    for (size_t i = 0; i < raw.len; i++)
        n += raw.base[i] == '\n';
    if (keys_alloc(a, c, raw.len ? n + 1 : 0) != GW_OK)
        return GW_ENOMEM;
    for (n = 0; gw_str_split(&raw, '\n', &tok); n++) {
        gw_str k = gw_str_trim(tok);
        if ((c->keys[n] = gw_arena_strndup(a, k.base, k.len)) == NULL)
            return GW_ENOMEM;
        c->key_disabled[n] = k.len == 0;
    }
    return GW_OK;
}

static int load_keys(gw_arena *a, struct gw_channel *c, gw_str raw, const json_t *info)
{
    const char *mode = json_string_value(json_object_get(info, "multi_key_mode"));
    const json_t *list = json_object_get(info, "multi_key_status_list");
    const json_t *poll = json_object_get(info, "multi_key_polling_index");
    const char *k;
    json_t *v;

    c->multi_key = json_is_true(json_object_get(info, "is_multi_key"));
    c->multi_key_mode = mode && strcmp(mode, "random") == 0    ? GW_MULTI_KEY_RANDOM
                      : mode && strcmp(mode, "polling") == 0   ? GW_MULTI_KEY_POLLING
                                                               : GW_MULTI_KEY_FIRST;
    if (!c->multi_key) {
        gw_str t = gw_str_trim(raw);
        if (keys_alloc(a, c, 1) != GW_OK || !(c->keys[0] = gw_arena_strndup(a, t.base, t.len)))
            return GW_ENOMEM;
        return GW_OK;
    }
    if (split_keys(a, c, raw) != GW_OK)
        return GW_ENOMEM;
    /* multi_key_status_list {"<index>": status}: anything but 1 is off. */
    json_object_foreach((json_t *)list, k, v) {
        long long idx;
        if (gw_str_to_ll(gw_str_c(k), 0, (long long)c->nkeys - 1, &idx) == GW_OK &&
            json_is_integer(v) && json_integer_value(v) != 1)
            c->key_disabled[idx] = 1;
    }
    if (json_is_integer(poll) && json_integer_value(poll) >= 0 &&
        json_integer_value(poll) < c->nkeys)
        c->polling = (unsigned)json_integer_value(poll);
    return GW_OK;
}

void gw__routing_channel_release(struct gw_channel *c)
{
    json_decref(c->model_mapping);
    json_decref(c->status_code_mapping);
    json_decref(c->param_override);
    json_decref(c->header_override);
    json_decref(c->setting);
    json_decref(c->settings);
}

/* One channels row into *c. GW_EINVAL (reason in msg, nothing held) leaves
 * the channel out; GW_ENOMEM fails the load. */
static int fill_channel(gw_arena *a, const gw_rows *r, size_t row, struct gw_channel *c,
                        char *msg)
{
    static const struct { size_t col; const char *name; size_t off; } objs[] = {
        { C_MODEL_MAPPING, "model_mapping", offsetof(struct gw_channel, model_mapping) },
        { C_STATUS_CODE_MAPPING, "status_code_mapping",
          offsetof(struct gw_channel, status_code_mapping) },
        { C_PARAM_OVERRIDE, "param_override", offsetof(struct gw_channel, param_override) },
        { C_HEADER_OVERRIDE, "header_override", offsetof(struct gw_channel, header_override) },
        { C_SETTING, "setting", offsetof(struct gw_channel, setting) },
        { C_SETTINGS, "settings", offsetof(struct gw_channel, settings) },
    };
    json_t *info = NULL;
    int rc;

    memset(c, 0, sizeof *c);
    if (gw_rows_int(r, row, C_ID, &c->id) != GW_OK) {
        setf(msg, MSG_MAX, "id: not an integer");
        return GW_EINVAL;
    }
    for (size_t i = 0; i < sizeof objs / sizeof objs[0]; i++) {
        json_t **slot = (json_t **)((char *)c + objs[i].off);
        if ((rc = parse_obj(r, row, objs[i].col, objs[i].name, slot, msg)) != GW_OK)
            goto fail;
    }
    if ((rc = parse_obj(r, row, C_CHANNEL_INFO, "channel_info", &info, msg)) != GW_OK)
        goto fail;

    long long weight = cell_int(r, row, C_WEIGHT, 0);
    c->type = (int)cell_int(r, row, C_TYPE, 0);
    c->status = (int)cell_int(r, row, C_STATUS, 0);
    c->priority = cell_int(r, row, C_PRIORITY, 0);
    c->weight = weight < 0 ? 0 : weight > UINT_MAX ? UINT_MAX : (unsigned)weight;
    c->auto_ban = cell_int(r, row, C_AUTO_BAN, 0) == 1;
    c->dest_set_by_root = cell_int(r, row, C_DEST_SET_BY_ROOT, 0) == 1;
    rc = GW_ENOMEM;
    if (!(c->name = cell_dup(a, r, row, C_NAME)) ||
        !(c->base_url = cell_dup(a, r, row, C_BASE_URL)) ||
        !(c->other = cell_dup(a, r, row, C_OTHER)) ||
        !(c->openai_organization = cell_dup(a, r, row, C_ORG)) ||
        !(c->test_model = cell_dup(a, r, row, C_TEST_MODEL)) ||
        !(c->group = cell_dup(a, r, row, C_GROUP)) ||
        !(c->models = cell_dup(a, r, row, C_MODELS)) ||
        !(c->tag = cell_dup(a, r, row, C_TAG)) ||
        load_keys(a, c, cell(r, row, C_KEY), info) != GW_OK)
        goto fail;
    json_decref(info);
    return GW_OK;
fail:
    json_decref(info);
    gw__routing_channel_release(c);
    return rc;
}

static int cmp_channel_id(const void *x, const void *y)
{
    long long a = ((const struct gw_channel *)x)->id, b = ((const struct gw_channel *)y)->id;
    return a < b ? -1 : a > b;
}

static int load_channels(gw_store *st, gw_routing *t, char *err, size_t errlen)
{
    gw_rows *r = NULL;
    char msg[MSG_MAX];
    int rc = gw_store_query(st, CHANNELS_SQL, NULL, 0, &r);

    if (rc != GW_OK) {
        setf(err, errlen, "channels: %s", gw_store_errmsg(st));
        return rc;
    }
    size_t n = gw_rows_count(r);
    t->channels = gw_arena_calloc(t->arena, (n ? n : 1) * sizeof t->channels[0]);
    t->bad = gw_arena_calloc(t->arena, (n ? n : 1) * sizeof t->bad[0]);
    if (!t->channels || !t->bad)
        goto oom;
    for (size_t i = 0; i < n; i++) {
        struct gw_channel *c = &t->channels[t->nchannels];
        rc = fill_channel(t->arena, r, i, c, msg);
        if (rc == GW_OK) {
            t->nchannels++;
        } else if (rc == GW_EINVAL) {
            struct gw__bad_channel *b = &t->bad[t->nbad++];
            b->id = c->id;
            if (!(b->msg = gw_arena_strdup(t->arena, msg)))
                goto oom;
            memset(c, 0, sizeof *c);
        } else {
            goto oom;
        }
    }
    gw_rows_free(r);
    qsort(t->channels, t->nchannels, sizeof t->channels[0], cmp_channel_id);
    return GW_OK;
oom:
    gw_rows_free(r);
    setf(err, errlen, "channels: out of memory");
    return GW_ENOMEM;
}

struct member {
    const char *group, *model;      /* point into the abilities rows */
    struct gw_channel *ch;
};

static int cmp_member(const void *x, const void *y)
{
    const struct member *a = x, *b = y;
    int c = strcmp(a->group, b->group);
    if (c == 0)
        c = strcmp(a->model, b->model);
    if (c == 0 && a->ch->priority != b->ch->priority)
        c = a->ch->priority > b->ch->priority ? -1 : 1;
    if (c == 0)
        c = a->ch->id < b->ch->id ? -1 : a->ch->id > b->ch->id;
    return c;
}

/* Members [s, e) of one (group, model), sorted and without duplicates. */
static int build_route(gw_arena *a, struct gw__route *rt, const struct member *m, size_t s,
                       size_t e)
{
    size_t ntiers = 0;

    if (!(rt->model = gw_arena_strdup(a, m[s].model)) ||
        !(rt->chans = gw_arena_alloc(a, (e - s) * sizeof rt->chans[0])))
        return GW_ENOMEM;
    for (size_t i = s; i < e; i++) {
        rt->chans[rt->nchans++] = m[i].ch;
        ntiers += i == s || m[i].ch->priority != m[i - 1].ch->priority;
    }
    if (!(rt->tier = gw_arena_alloc(a, (ntiers + 1) * sizeof rt->tier[0])))
        return GW_ENOMEM;
    for (size_t i = 0; i < rt->nchans; i++)
        if (i == 0 || rt->chans[i]->priority != rt->chans[i - 1]->priority)
            rt->tier[rt->ntiers++] = i;
    rt->tier[rt->ntiers] = rt->nchans;
    return GW_OK;
}

static size_t run_end(const struct member *m, size_t n, size_t s, int by_model)
{
    size_t e = s + 1;
    while (e < n && strcmp(m[e].group, m[s].group) == 0 &&
           (!by_model || strcmp(m[e].model, m[s].model) == 0))
        e++;
    return e;
}

/* m is sorted and deduplicated. */
static int build_index(gw_routing *t, const struct member *m, size_t n)
{
    gw_arena *a = t->arena;
    size_t ngroups = 0;

    for (size_t s = 0; s < n; s = run_end(m, n, s, 0))
        ngroups++;
    if (!(t->groups = gw_arena_calloc(a, (ngroups ? ngroups : 1) * sizeof t->groups[0])))
        return GW_ENOMEM;
    for (size_t gs = 0, ge; gs < n; gs = ge) {
        struct gw__route_group *g = &t->groups[t->ngroups++];
        size_t nroutes = 0;
        ge = run_end(m, n, gs, 0);
        for (size_t s = gs; s < ge; s = run_end(m, n, s, 1))
            nroutes++;
        if (!(g->name = gw_arena_strdup(a, m[gs].group)) ||
            !(g->routes = gw_arena_calloc(a, nroutes * sizeof g->routes[0])) ||
            !(g->models = gw_arena_alloc(a, nroutes * sizeof g->models[0])))
            return GW_ENOMEM;
        for (size_t s = gs, e; s < ge; s = e) {
            e = run_end(m, n, s, 1);
            struct gw__route *rt = &g->routes[g->nroutes];
            if (build_route(a, rt, m, s, e) != GW_OK)
                return GW_ENOMEM;
            g->models[g->nroutes++] = rt->model;
        }
    }
    return GW_OK;
}

static int load_abilities(gw_store *st, gw_routing *t, char *err, size_t errlen)
{
    gw_rows *r = NULL;
    struct member *m = NULL;
    size_t n = 0, kept = 0;
    int rc = gw_store_query(st, ABILITIES_SQL, NULL, 0, &r);

    if (rc != GW_OK) {
        setf(err, errlen, "abilities: %s", gw_store_errmsg(st));
        return rc;
    }
    size_t rows = gw_rows_count(r);
    if (rows && !(m = gw_malloc(rows * sizeof *m))) {
        rc = GW_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < rows; i++) {
        const char *group = gw_rows_get(r, i, 0), *model = gw_rows_get(r, i, 1);
        long long id, enabled;
        struct gw_channel *ch;
        if (!group || !*group || !model || !*model ||
            gw_rows_int(r, i, 2, &id) != GW_OK ||
            gw_rows_int(r, i, 3, &enabled) != GW_OK || !enabled ||
            !(ch = gw_routing_channel(t, id)) || ch->status != 1)
            continue;
        m[n++] = (struct member){ group, model, ch };
    }
    if (n)
        qsort(m, n, sizeof *m, cmp_member);
    for (size_t i = 0; i < n; i++)     /* the primary key makes these rare */
        if (kept == 0 || cmp_member(&m[i], &m[kept - 1]) != 0)
            m[kept++] = m[i];
    rc = build_index(t, m, kept);
out:
    if (rc == GW_ENOMEM)
        setf(err, errlen, "abilities: out of memory");
    gw_free(m);
    gw_rows_free(r);
    return rc;
}

int gw_routing_load(gw_store *st, gw_routing **out, char *err, size_t errlen)
{
    gw_arena *a = gw_arena_new(64 * 1024);
    gw_routing *t = a ? gw_arena_calloc(a, sizeof *t) : NULL;
    int rc;

    *out = NULL;
    if (t == NULL) {
        gw_arena_free(a);
        setf(err, errlen, "routing: out of memory");
        return GW_ENOMEM;
    }
    t->arena = a;
    if ((rc = load_channels(st, t, err, errlen)) != GW_OK ||
        (rc = load_abilities(st, t, err, errlen)) != GW_OK) {
        gw_routing_free(t);
        return rc;
    }
    *out = t;
    return GW_OK;
}
