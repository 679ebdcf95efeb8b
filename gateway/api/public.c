/* Public endpoints and groups (reference controller/misc.go, pricing.go,
 * group.go; service/group.go):
 *
 *  GET /api/notice, /api/about, /api/home_page_content  the option's text
 *  GET /api/pricing       models with an enabled ability, priced from the
 *                         options ModelPrice / ModelRatio / CompletionRatio
 *                         (an option left at "{}" means the reference's
 *                         built-in table, below), plus group_ratio and
 *                         usable_group. Envelope as the reference: no message.
 *  GET /api/user/groups   {group: {ratio, desc}} of the usable groups
 *  GET /api/group/        (admin) the names in GroupRatio
 *
 * Everything but the abilities comes from the worker's options snapshot
 * (options.h), read on the loop. */
#include <stdio.h>
#include <string.h>
#include "gateway/api/api.h"
#include "gateway/api/options.h"
#include "gateway/api/users.h"
#include "gateway/core/alloc.h"
#include "gateway/core/json.h"
#include "gateway/worker.h"

#define OPT_DEPTH 8
#define UNKNOWN_MODEL_RATIO 37.5 /* reference GetModelRatio's fallback */

/* ---- the reference's defaults (setting/ratio_setting/model_ratio.go) -------
 * A representative subset: the models people actually route. Ratio 1 =
 * $0.002 / 1K prompt tokens; prices are USD per call. */
struct num_def {
    const char *name;
    double v;
};

static const struct num_def model_ratio_defaults[] = {
    {"gpt-3.5-turbo", 0.25},          {"gpt-4", 15},
    {"gpt-4-turbo", 5},               {"gpt-4o", 1.25},
    {"gpt-4o-mini", 0.075},           {"chatgpt-4o-latest", 2.5},
    {"gpt-4.1", 1.0},                 {"gpt-4.1-mini", 0.2},
    {"gpt-4.1-nano", 0.05},           {"gpt-5", 0.625},
    {"gpt-5-mini", 0.125},            {"gpt-5-nano", 0.025},
    {"gpt-image-1", 2.5},             {"o1", 7.5},
    {"o1-mini", 0.55},                {"o3", 1.0},
    {"o3-mini", 0.55},                {"o4-mini", 0.55},
    {"text-embedding-3-small", 0.01}, {"text-embedding-3-large", 0.065},
    {"text-embedding-ada-002", 0.05}, {"whisper-1", 15},
    {"tts-1", 7.5},                   {"tts-1-hd", 15},
    {"claude-3-haiku-20240307", 0.125}, {"claude-3-5-haiku-20241022", 0.5},
    {"claude-3-5-sonnet-20241022", 1.5}, {"claude-3-7-sonnet-20250219", 1.5},
    {"claude-sonnet-4-20250514", 1.5},  {"claude-3-opus-20240229", 7.5},
    {"claude-opus-4-20250514", 7.5},    {"gemini-2.0-flash", 0.05},
    {"gemini-2.5-pro", 0.625},        {"gemini-2.5-flash", 0.15},
    {"deepseek-chat", 0.135},         {"deepseek-reasoner", 0.275},
    {"command-r", 0.25},              {"command-r-plus", 1.5},
    {"glm-4", 7.143},                 {"qwen-turbo", 0.8572},
    {"qwen-plus", 10},
};

static const struct num_def model_price_defaults[] = {
    {"dall-e-3", 0.04},    {"gpt-4-gizmo-*", 0.1},  {"gpt-4o-mini-tts", 0.3},
    {"mj_imagine", 0.1},   {"mj_upscale", 0.05},    {"mj_describe", 0.05},
    {"suno_music", 0.1},   {"suno_lyrics", 0.01},   {"sora-2", 0.3},
    {"sora-2-pro", 0.5},
};

static const struct num_def completion_ratio_defaults[] = {
    {"gpt-4-gizmo-*", 2}, {"gpt-4o-gizmo-*", 3}, {"gpt-4-all", 2}, {"gpt-image-1", 8}};

#define NDEF(t) (sizeof(t) / sizeof((t)[0]))

/* ---- options ------------------------------------------------------------------ */

/* The option parsed as a JSON object, else a new empty object. */
static json_t *opt_obj(struct gw_worker *w, const char *key)
{
    const char *v = gw_options_value(w, key);
    json_t *o = v && *v ? gw_json_parse(v, strlen(v), OPT_DEPTH, NULL, 0) : NULL;
    if (!json_is_object(o)) {
        json_decref(o);
        o = json_object();
    }
    return o;
}

/* A ratio table: the option, or the defaults when it is empty ("{}"). */
static json_t *ratio_table(struct gw_worker *w, const char *key, const struct num_def *def,
                           size_t n)
{
    json_t *o = opt_obj(w, key);
    if (o && json_object_size(o) == 0)
        for (size_t i = 0; i < n; i++)
            json_object_set_new(o, def[i].name, json_real(def[i].v));
    return o;
}

static int num_of(const json_t *o, const char *k, double *out)
{
    const json_t *v = json_object_get(o, k);
    if (!json_is_number(v))
        return 0;
    *out = json_number_value(v);
    return 1;
}

json_t *gw__usable_groups(struct gw_worker *w, const char *user_group)
{
    json_t *g = opt_obj(w, "UserUsableGroups");
    if (!g || !user_group || !*user_group)
        return g;
    json_t *special = opt_obj(w, "group_ratio_setting.group_special_usable_group");
    const json_t *mine = json_object_get(special, user_group);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)mine, k, v) {
        const char *desc = json_is_string(v) ? json_string_value(v) : "";
        if (strncmp(k, "-:", 2) == 0)
            json_object_del(g, k + 2);
        else
            json_object_set_new(g, strncmp(k, "+:", 2) == 0 ? k + 2 : k, json_string(desc));
    }
    json_decref(special);
    if (!json_object_get(g, user_group))
        json_object_set_new(g, user_group, json_string("用户分组"));
    return g;
}

double gw__group_ratio(struct gw_worker *w, const char *user_group, const char *g)
{
    double x = 1;
    json_t *gg = opt_obj(w, "GroupGroupRatio");
    int found = user_group && num_of(json_object_get(gg, user_group), g, &x);
    json_decref(gg);
    if (found)
        return x;
    json_t *gr = opt_obj(w, "GroupRatio");
    if (!num_of(gr, g, &x))
        x = 1; /* reference GetGroupRatio: unknown group → 1 */
    json_decref(gr);
    return x;
}

json_t *gw__groups_answer(struct gw_worker *w, const char *user_group)
{
    json_t *usable = gw__usable_groups(w, user_group);
    json_t *ratios = opt_obj(w, "GroupRatio");
    json_t *out = json_object();
    const char *k;
    json_t *v;
    if (!usable || !ratios || !out) {
        json_decref(usable);
        json_decref(ratios);
        json_decref(out);
        return NULL;
    }
    json_object_foreach(ratios, k, v) {
        const json_t *desc = json_object_get(usable, k);
        if (desc)
            json_object_set_new(out, k,
                                json_pack("{s:f, s:O}", "ratio", gw__group_ratio(w, user_group, k),
                                          "desc", desc));
    }
    const json_t *autod = json_object_get(usable, "auto");
    if (autod)
        json_object_set_new(out, "auto", json_pack("{s:s, s:O}", "ratio", "自动", "desc", autod));
    json_decref(usable);
    json_decref(ratios);
    return out;
}

/* ---- text options and groups ----------------------------------------------------- */

static void text_option(gw_req *r, const char *key)
{
    const char *v = gw_options_value(r->worker, key);
    json_t *s = json_string(v ? v : "");
    gw_api_ok(r, s ? s : json_string(""));
}

void gw_api_notice(gw_req *r) { text_option(r, "Notice"); }
void gw_api_about(gw_req *r) { text_option(r, "About"); }
void gw_api_home_page_content(gw_req *r) { text_option(r, "HomePageContent"); }

void gw_api_groups_public(gw_req *r)
{
    json_t *d = gw__groups_answer(r->worker, "");
    if (d)
        gw_api_ok(r, d);
    else
        gw_api_fail(r, "out of memory");
}

void gw_api_groups_admin(gw_req *r, const struct gw_caller *who)
{
    (void)who;
    json_t *ratios = opt_obj(r->worker, "GroupRatio");
    json_t *names = json_array();
    const char *k;
    json_t *v;
    json_object_foreach(ratios, k, v) {
        json_array_append_new(names, json_string(k));
    }
    json_decref(ratios);
    gw_api_ok(r, names);
}

/* ---- pricing ------------------------------------------------------------------------ */

static int pfx(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

static int sfx(const char *s, const char *x)
{
    size_t n = strlen(s), m = strlen(x);
    return n >= m && strcmp(s + n - m, x) == 0;
}

/* FormatMatchingModelName: thinking-budget variants and GPTs share a price. */
static const char *match_name(const char *name, char *buf, size_t cap)
{
    static const char *const thinking[] = {"gemini-2.5-flash-lite", "gemini-2.5-flash",
                                           "gemini-2.5-pro"};
    for (size_t i = 0; i < 3; i++)
        if (pfx(name, thinking[i])) {
            if (strstr(name, "-thinking-")) {
                snprintf(buf, cap, "%s-thinking-*", thinking[i]);
                return buf;
            }
            break;
        }
    if (pfx(name, "gpt-4-gizmo"))
        return "gpt-4-gizmo-*";
    if (pfx(name, "gpt-4o-gizmo"))
        return "gpt-4o-gizmo-*";
    return name;
}

/* getHardcodedCompletionModelRatio: *fixed says the value wins over the option. */
static double hard_completion(const char *n, int *fixed)
{
    *fixed = 1;
    if (sfx(n, "-all") || sfx(n, "-gizmo-*"))
        return *fixed = 0, 2;
    if (pfx(n, "gpt-")) {
        if (pfx(n, "gpt-4o")) {
            if (strcmp(n, "gpt-4o-2024-05-13") == 0)
                return 3;
            *fixed = 0;
            return pfx(n, "gpt-4o-mini-tts") ? 20 : 4;
        }
        if (pfx(n, "gpt-5"))
            return 8;
        if (pfx(n, "gpt-4.5-preview"))
            return 2;
        if (pfx(n, "gpt-4-turbo") || sfx(n, "gpt-4-1106") || sfx(n, "gpt-4-1105"))
            return 3;
        if (pfx(n, "gpt-3.5")) /* unreachable in the reference too ("gpt-" first) */
            return 3;
        return *fixed = 0, 2;
    }
    if (pfx(n, "o1") || pfx(n, "o3"))
        return 4;
    if (strcmp(n, "chatgpt-4o-latest") == 0)
        return 3;
    if (strstr(n, "claude-3") || strstr(n, "claude-sonnet-4") || strstr(n, "claude-opus-4") ||
        strstr(n, "claude-haiku-4"))
        return 5;
    if (pfx(n, "mistral-"))
        return 3;
    if (pfx(n, "gemini-")) {
        *fixed = 0;
        if (pfx(n, "gemini-1.5") || pfx(n, "gemini-2.0"))
            return *fixed = 1, 4;
        if (pfx(n, "gemini-2.5-pro"))
            return 8;
        if (pfx(n, "gemini-2.5-flash-preview"))
            return sfx(n, "-nothinking") ? 4 : 3.5 / 0.15;
        if (pfx(n, "gemini-2.5-flash-lite"))
            return 4;
        if (pfx(n, "gemini-2.5-flash") || pfx(n, "gemini-robotics-er-1.5"))
            return 2.5 / 0.3;
        if (pfx(n, "gemini-3-pro"))
            return pfx(n, "gemini-3-pro-image") ? 60 : 6;
        return 4;
    }
    if (pfx(n, "command")) {
        if (strcmp(n, "command-r") == 0)
            return 3;
        if (strcmp(n, "command-r-plus") == 0)
            return 5;
        if (strcmp(n, "command-r-08-2024") == 0 || strcmp(n, "command-r-plus-08-2024") == 0)
            return 4;
        return *fixed = 0, 4;
    }
    if (pfx(n, "ERNIE-Speed-") || pfx(n, "ERNIE-Lite-") || pfx(n, "ERNIE-Character") ||
        pfx(n, "ERNIE-Functions") || strcmp(n, "llama3-8b-8192") == 0)
        return 2;
    if (strcmp(n, "llama2-70b-4096") == 0)
        return 0.8 / 0.64;
    if (strcmp(n, "llama3-70b-8192") == 0)
        return 0.79 / 0.59;
    return *fixed = 0, 1;
}

static double completion_ratio(const json_t *table, const char *n)
{
    double x;
    int fixed;
    if (strchr(n, '/') && num_of(table, n, &x))
        return x;
    double h = hard_completion(n, &fixed);
    if (!fixed && num_of(table, n, &x))
        return x;
    return h;
}

struct pricing_job {
    gw_rows *rows; /* model, group of enabled abilities, ordered by model */
};

static int pricing_work(gw_store *st, void *ctx)
{
    struct pricing_job *p = ctx;
    return gw_store_query(st,
                          "SELECT DISTINCT model, `group` FROM abilities WHERE enabled = TRUE "
                          "ORDER BY model, `group`",
                          NULL, 0, &p->rows);
}

static json_t *price_item(const json_t *prices, const json_t *ratios, const json_t *completions,
                          const char *model)
{
    char buf[300];
    const char *n = match_name(model, buf, sizeof buf);
    double price, ratio = 0, comp = 0;
    int by_price = num_of(prices, n, &price);
    if (!by_price) {
        if (!num_of(ratios, n, &ratio))
            ratio = UNKNOWN_MODEL_RATIO;
        comp = completion_ratio(completions, n);
        price = 0;
    }
    return json_pack("{s:s, s:i, s:f, s:f, s:s, s:f, s:[], s:[]}", "model_name", model,
                     "quota_type", by_price, "model_ratio", ratio, "model_price", price,
                     "owner_by", "", "completion_ratio", comp, "enable_groups",
                     "supported_endpoint_types");
}

static json_t *pricing_items(struct gw_worker *w, const gw_rows *rows)
{
    json_t *prices = ratio_table(w, "ModelPrice", model_price_defaults,
                                 NDEF(model_price_defaults));
    json_t *ratios = ratio_table(w, "ModelRatio", model_ratio_defaults,
                                 NDEF(model_ratio_defaults));
    json_t *comps = ratio_table(w, "CompletionRatio", completion_ratio_defaults,
                                NDEF(completion_ratio_defaults));
    json_t *items = json_array(), *cur = NULL;
    const char *last = NULL;
    for (size_t i = 0; items && i < gw_rows_count(rows); i++) {
        const char *m = gw_rows_get(rows, i, 0), *g = gw_rows_get(rows, i, 1);
        if (!m || !g)
            continue;
        if (!last || strcmp(last, m) != 0) {
            cur = price_item(prices, ratios, comps, m);
            if (!cur)
                continue;
            json_array_append_new(items, cur);
            last = m;
        }
        json_array_append_new(json_object_get(cur, "enable_groups"), json_string(g));
    }
    json_decref(prices);
    json_decref(ratios);
    json_decref(comps);
    return items;
}

static void pricing_done(gw_req *r, int rc, void *ctx)
{
    struct pricing_job *p = ctx;
    struct gw_worker *w = r->worker;
    if (rc != GW_OK) {
        gw_api_fail(r, gw_api_store_msg(rc));
        gw_free(p);
        return;
    }
    json_t *usable = gw__usable_groups(w, "");
    json_t *all = opt_obj(w, "GroupRatio"), *ratios = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(all, k, v) {
        if (json_object_get(usable, k))
            json_object_set(ratios, k, v);
    }
    json_decref(all);
    const char *ag = gw_options_value(w, "AutoGroups");
    json_t *autos = ag ? gw_json_parse(ag, strlen(ag), OPT_DEPTH, NULL, 0) : NULL;
    json_t *auto_groups = json_array();
    size_t i;
    json_array_foreach(autos, i, v) {
        if (json_is_string(v) && json_object_get(usable, json_string_value(v)))
            json_array_append(auto_groups, v);
    }
    json_decref(autos);
    json_t *body = json_pack("{s:b, s:o, s:[], s:o, s:o, s:{}, s:o}", "success", 1, "data",
                             pricing_items(w, p->rows), "vendors", "group_ratio", ratios,
                             "usable_group", usable, "supported_endpoint", "auto_groups",
                             auto_groups);
    gw_rows_free(p->rows);
    gw_free(p);
    if (body)
        gw_resp_json(r, 200, body);
    else
        gw_api_fail(r, "out of memory");
    json_decref(body);
}

void gw_api_pricing(gw_req *r)
{
    struct pricing_job *p = gw_calloc(1, sizeof *p);
    if (!p || gw_api_sql(r, pricing_work, pricing_done, p) != GW_OK) {
        gw_free(p);
        gw_api_fail(r, "internal error");
    }
}
