/* GET /v1/models (filtered by the token's group and model limits; OpenAI,
 * Anthropic or Gemini form depending on how the key was sent) and the
 * OpenAI-compatible /dashboard/billing endpoints. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "adapters/format.h"
#include "gateway/core/alloc.h"
#include "gateway/core/err.h"
#include "gateway/relay/relay.h"
#include "gateway/relay/relay_call.h"
#include "gateway/state/ledger.h"
#include "gateway/worker.h"

enum form { FORM_OPENAI, FORM_ANTHROPIC, FORM_GEMINI };

static json_t *model_entry(gw_req *r, enum form f, const char *m, long long now)
{
    if (f == FORM_ANTHROPIC)
        return json_pack("{s:s, s:s, s:s, s:s}", "type", "model", "id", m, "display_name", m,
                         "created_at", "1970-01-01T00:00:00Z");
    if (f == FORM_GEMINI)
        return json_pack("{s:s, s:s, s:s, s:[s]}", "name",
                         gw_arena_printf(r->arena, "models/%s", m), "displayName", m, "version",
                         "001", "supportedGenerationMethods", "generateContent");
    return json_pack("{s:s, s:s, s:I, s:s}", "id", m, "object", "model", "created",
                     (json_int_t)now, "owned_by", "token-factory");
}

/* The models the key may call (routable for its group, within its model
 * limits): the whole list, or the one c->model names (GET /v1/models/{id},
 * /v1beta/models/{id}; a 404 in the form's error shape when it is not one
 * of them). The form follows how the key was sent, and /v1beta is Gemini's. */
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
    enum form f = FORM_OPENAI;
    if (strncmp(r->path, "/v1beta/", 8) == 0 || gw_req_header(r, "x-goog-api-key") ||
        gw_req_query(r, "key"))
        f = FORM_GEMINI;
    else if (gw_req_header(r, "x-api-key") && gw_req_header(r, "anthropic-version"))
        f = FORM_ANTHROPIC;
    long long now = (long long)time(NULL);
    json_t *list = json_array(), *one = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!gw__key_model_allowed(&c->key, models[i]))
            continue;
        if (c->model[0] && strcmp(c->model, models[i]) == 0)
            one = model_entry(r, f, models[i], now);
        else if (!c->model[0])
            json_array_append_new(list, model_entry(r, f, models[i], now));
    }
    gw__relay_route_unref(ref);
    json_t *j;
    if (c->model[0]) {
        json_decref(list);
        if (!one) {
            char msg[300];
            snprintf(msg, sizeof msg, "The model '%.*s' does not exist or is not available to "
                     "this key (request id: %s)",
                     (int)gw_str_utf8_cut(gw_str_c(c->model), 150), c->model, r->rid);
            const struct gw_format *fmt = f == FORM_GEMINI      ? &gw_format_gemini
                                          : f == FORM_ANTHROPIC ? &gw_format_messages
                                                                : &gw_format_chat;
            j = fmt->error_body(404, "invalid_request_error", "model_not_found", msg);
            gw_resp_json(r, 404, j);
            json_decref(j);
            gw__relay_to(c, GW_RS_DONE);
            return;
        }
        j = one;
    } else if (f == FORM_ANTHROPIC) {
        size_t k = json_array_size(list);
        j = json_pack("{s:o, s:b, s:s?, s:s?}", "data", list, "has_more", 0, "first_id",
                      k ? json_string_value(json_object_get(json_array_get(list, 0), "id")) : NULL,
                      "last_id",
                      k ? json_string_value(json_object_get(json_array_get(list, k - 1), "id"))
                        : NULL);
    } else if (f == FORM_GEMINI) {
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

void gw_relay_model_get(gw_req *r)
{
    const char *m = strstr(r->path, "/models/") + 8; /* the routes end in /models/ + "*" */
    if (strncmp(m, "models/", 7) == 0) /* Gemini's resource name */
        m += 7;
    struct rcall *c = keyed_call(r, list_models);
    if (!c)
        return;
    if (!*m || strlen(m) >= sizeof c->model) {
        gw__relay_fail(c, 404, "invalid_request_error", "model_not_found",
                       "no such model name");
        gw__relay_to(c, GW_RS_DONE);
        return;
    }
    snprintf(c->model, sizeof c->model, "%s", m);
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
