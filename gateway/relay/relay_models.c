/* GET /v1/models (filtered by the token's group and model limits; OpenAI,
 * Anthropic or Gemini form depending on how the key was sent) and the
 * OpenAI-compatible /dashboard/billing endpoints. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "gateway/core/alloc.h"
#include "gateway/core/err.h"
#include "gateway/relay/relay.h"
#include "gateway/relay/relay_call.h"
#include "gateway/state/ledger.h"
#include "gateway/worker.h"

static void list_models(struct rcall *c)
{
    gw_req *r = c->r;
    if (gw__relay_key_refused(c)) {
        gw__relay_to(c, GW_RS_DONE);
        return;
    }
    struct gw_route_ref *ref = gw__relay_route_ref(c->w);
    const char *group = c->key.token_group[0] ? c->key.token_group
                        : c->key.user_group[0] ? c->key.user_group
                                               : "default";
    size_t n = 0;
    const char *const *models = ref ? gw_routing_models(ref->table, group, &n) : NULL;
    int anthropic = gw_req_header(r, "x-api-key") && gw_req_header(r, "anthropic-version");
    int gemini = gw_req_header(r, "x-goog-api-key") || gw_req_query(r, "key");
    long long now = (long long)time(NULL);
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        if (!gw__key_model_allowed(&c->key, models[i]))
            continue;
        if (anthropic)
            json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s}", "type", "model", "id",
                                                  models[i], "display_name", models[i],
                                                  "created_at", "1970-01-01T00:00:00Z"));
        else if (gemini)
            json_array_append_new(
                list, json_pack("{s:s, s:s, s:s, s:[s]}", "name",
                                gw_arena_printf(r->arena, "models/%s", models[i]), "displayName",
                                models[i], "version", "001", "supportedGenerationMethods",
                                "generateContent"));
        else
            json_array_append_new(list, json_pack("{s:s, s:s, s:I, s:s}", "id", models[i],
                                                  "object", "model", "created", (json_int_t)now,
                                                  "owned_by", "token-factory"));
    }
    gw__relay_route_unref(ref);
    json_t *j;
    if (anthropic) {
        size_t k = json_array_size(list);
        j = json_pack("{s:o, s:b, s:s?, s:s?}", "data", list, "has_more", 0, "first_id",
                      k ? json_string_value(json_object_get(json_array_get(list, 0), "id")) : NULL,
                      "last_id",
                      k ? json_string_value(json_object_get(json_array_get(list, k - 1), "id"))
                        : NULL);
    } else if (gemini) {
        j = json_pack("{s:o, s:s}", "models", list, "nextPageToken", "");
    } else {
        j = json_pack("{s:b, s:s, s:o}", "success", 1, "object", "list", "data", list);
    }
    gw_resp_json(r, 200, j);
    json_decref(j);
    gw__relay_to(c, GW_RS_DONE);
}

static struct rcall *keyed_call(gw_req *r, void (*next)(struct rcall *))
{
    struct rcall *c = gw__relay_call_new(r, next, 1, 1);
    if (!c)
        return NULL;
    c->key_fresh = 1; /* rare calls: the listing shows the limits as saved now */
    if (gw__relay_resolve_key(c) != GW_OK) {
        gw__relay_to(c, GW_RS_DONE);
        return NULL;
    }
    return c;
}

void gw_relay_models(gw_req *r)
{
    struct rcall *c = keyed_call(r, list_models);
    if (c)
        gw__relay_begin(c);
}

/* ---- /dashboard/billing -------------------------------------------------------- */

static void billing_reply(int status, redisReply *reply, void *data)
{
    struct rcall *c = data;
    gw_req *r = c->r;
    long long v[4] = {0, 0, 0, 0};
    if (status != GW_OK || !reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 4) {
        gw__relay_fail(c, 503, "new_api_error", "state_unavailable", "quota service unavailable");
        gw__relay_to(c, GW_RS_DONE);
        return;
    }
    for (int i = 0; i < 4; i++)
        if (reply->element[i]->type == REDIS_REPLY_STRING)
            gw_str_to_ll(gw_str_c(reply->element[i]->str), -(1LL << 62), 1LL << 62, &v[i]);
    /* v: token remain_quota, token unlimited, token used_quota, token expired_time */
    json_t *j;
    if (strstr(r->path, "subscription")) {
        double usd = v[1] ? 100000000.0 : (double)v[0] / GW_QUOTA_PER_UNIT;
        j = json_pack("{s:s, s:b, s:f, s:f, s:f, s:I}", "object", "billing_subscription",
                      "has_payment_method", 1, "soft_limit_usd", usd, "hard_limit_usd", usd,
                      "system_hard_limit_usd", usd, "access_until",
                      (json_int_t)(v[3] > 0 ? v[3] : 0));
    } else {
        j = json_pack("{s:s, s:f}", "object", "list", "total_usage",
                      (double)v[2] / GW_QUOTA_PER_UNIT * 100.0);
    }
    gw_resp_json(r, 200, j);
    json_decref(j);
    gw__relay_to(c, GW_RS_DONE);
}

static void billing(struct rcall *c)
{
    char tk[64];
    if (gw__relay_key_refused(c)) {
        gw__relay_to(c, GW_RS_DONE);
        return;
    }
    gw_key_token(tk, sizeof tk, c->key.uid, c->key.tid);
    if (gw_redis_command(c->w->redis, billing_reply, c,
                         "HMGET %s remain_quota unlimited_quota used_quota expired_time",
                         tk) != GW_OK) {
        gw__relay_fail(c, 503, "new_api_error", "state_unavailable", "quota service unavailable");
        gw__relay_to(c, GW_RS_DONE);
    }
}

void gw_relay_dashboard_billing(gw_req *r)
{
    struct rcall *c = keyed_call(r, billing);
    if (c)
        gw__relay_begin(c);
}
