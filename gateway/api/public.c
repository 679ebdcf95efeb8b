/* Public endpoints and groups (reference controller/misc.go, pricing.go,
 * group.go; service/group.go):
 *
 *  GET /api/notice, /api/about, /api/home_page_content  the option's text
 *  GET /api/pricing       guarded by HeaderNavModules' "pricing" module
 *                         (options.h gw_nav_access_parse): off → 403
 *                         "pricing is disabled"; requireAuth → a signed-in
 *                         user (gw_api_auth), else public. Models with an
 *                         enabled ability, priced by the
 *                         relay's own ratio tables (billing.h: the options
 *                         an admin saved, else the reference's built-in
 *                         tables), plus group_ratio and usable_group.
 *                         Envelope as the reference: no message.
 *  GET /api/user/groups   {group: {ratio, desc}} of the usable groups
 *  GET /api/group/        (admin) the names in GroupRatio
 *
 * Everything but the abilities and the prices comes from the worker's options
 * snapshot (options.h), read on the loop. */
#include <string.h>
#include "gateway/api/api.h"
#include "gateway/api/auth.h"
#include "gateway/state/groups.h"
#include "gateway/state/options.h"
#include "gateway/api/users.h"
#include "gateway/core/alloc.h"
#include "gateway/core/json.h"
#include "gateway/relay/tables.h"
#include "gateway/worker.h"

#define OPT_DEPTH 8

/* ---- options ------------------------------------------------------------------ */

/* The option parsed as a JSON object, else a new empty object. */
static json_t *opt_obj(struct gw_worker *w, const char *key)
{
    const char *v = gw_options_value(w->cfgwatch, key);
    json_t *o = v && *v ? gw_json_parse(v, strlen(v), OPT_DEPTH, NULL, 0) : NULL;
    if (!json_is_object(o)) {
        json_decref(o);
        o = json_object();
    }
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
    return gw_groups_usable(w->cfgwatch, user_group);
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
    const char *v = gw_options_value(r->worker->cfgwatch, key);
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

/* The relay's price of model: what a call would be charged before the group
 * ratio. self_use_mode, so that a model without a ratio shows the
 * reference's fallback (37.5) rather than nothing. */
static json_t *price_item(const gw_ratios *ratios, const char *model)
{
    struct gw_price p;
    if (gw_price_lookup(ratios, model, NULL, NULL, 1, &p) != GW_OK)
        return NULL;
    return json_pack("{s:s, s:i, s:f, s:f, s:s, s:f, s:[], s:[]}", "model_name", model,
                     "quota_type", p.use_price, "model_ratio", p.model_ratio, "model_price",
                     p.model_price, "owner_by", "", "completion_ratio", p.completion_ratio,
                     "enable_groups", "supported_endpoint_types");
}

static json_t *pricing_items(const gw_ratios *ratios, const gw_rows *rows)
{
    json_t *items = json_array(), *cur = NULL;
    const char *last = NULL;
    for (size_t i = 0; items && i < gw_rows_count(rows); i++) {
        const char *m = gw_rows_get(rows, i, 0), *g = gw_rows_get(rows, i, 1);
        if (!m || !g)
            continue;
        if (!last || strcmp(last, m) != 0) {
            cur = price_item(ratios, m);
            if (!cur)
                continue;
            json_array_append_new(items, cur);
            last = m;
        }
        json_array_append_new(json_object_get(cur, "enable_groups"), json_string(g));
    }
    return items;
}

/* The whole answer: prices, and the groups an anonymous visitor may use. */
static json_t *pricing_body(struct gw_worker *w, const gw_ratios *prices, const gw_rows *rows)
{
    json_t *usable = gw__usable_groups(w, "");
    json_t *all = opt_obj(w, "GroupRatio"), *ratios = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(all, k, v) {
        if (json_object_get(usable, k))
            json_object_set(ratios, k, v);
    }
    json_decref(all);
    const char *ag = gw_options_value(w->cfgwatch, "AutoGroups");
    json_t *autos = ag ? gw_json_parse(ag, strlen(ag), OPT_DEPTH, NULL, 0) : NULL;
    json_t *auto_groups = json_array();
    size_t i;
    json_array_foreach(autos, i, v) {
        if (json_is_string(v) && json_object_get(usable, json_string_value(v)))
            json_array_append(auto_groups, v);
    }
    json_decref(autos);
    return json_pack("{s:b, s:o, s:[], s:o, s:o, s:{}, s:o}", "success", 1, "data",
                     pricing_items(prices, rows), "vendors", "group_ratio", ratios,
                     "usable_group", usable, "supported_endpoint", "auto_groups", auto_groups);
}

static void pricing_done(gw_req *r, int rc, void *ctx)
{
    struct pricing_job *p = ctx;
    struct gw_worker *w = r->worker;
    json_t *body = NULL;
    const gw_ratios *prices = gw_relay_ratios(w); /* what the relay charges, as of now */
    if (rc != GW_OK)
        gw_api_fail(r, gw_api_store_msg(rc));
    else if (!prices) /* the saved options never built; the relay logged why */
        gw_api_fail(r, "invalid ratio options");
    else if (!(body = pricing_body(w, prices, p->rows)))
        gw_api_fail(r, "out of memory");
    else
        gw_resp_json(r, 200, body);
    json_decref(body);
    gw_rows_free(p->rows);
    gw_free(p);
}

static void pricing_start(gw_req *r)
{
    struct pricing_job *p = gw_calloc(1, sizeof *p);
    if (!p || gw_api_sql(r, pricing_work, pricing_done, p) != GW_OK) {
        gw_free(p);
        gw_api_fail(r, "internal error");
    }
}

static void pricing_authed(gw_req *r, const struct gw_caller *who)
{
    (void)who; /* the answer is the same for every signed-in user */
    pricing_start(r);
}

/* The HeaderNavModules guard (reference HeaderNavModuleAuth("pricing")). */
void gw_api_pricing(gw_req *r)
{
    struct gw_nav_access a = gw_options_nav_access(r->worker->cfgwatch, "pricing");
    if (!a.enabled)
        gw_resp_api_error(r, 403, "pricing is disabled");
    else if (a.require_auth)
        gw_api_auth(r, GW_ROLE_USER, pricing_authed);
    else
        pricing_start(r);
}
