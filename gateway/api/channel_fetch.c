/* /api/channel/fetch_models (reference controller/channel.go FetchModels,
 * FetchUpstreamModels): the model names an upstream lists, for the channel
 * form's "fetch models" button.
 *
 *  POST /api/channel/fetch_models      {base_url, type, key}: an unsaved
 *       channel (base_url "" = the type's default; the key's first line).
 *       Its destination counts as set by the caller: root's may be private,
 *       an admin's may not (as saving it would be judged).
 *  GET  /api/channel/fetch_models/:id  a saved channel, with its own key,
 *       header_override, proxy and destination approval.
 *
 * Answers {"success":true,"message":"","data":[names]}, or success false with
 * "failed to fetch the model list: <why>" (获取模型列表失败). The request is
 * held while the upstream answers (on the loop, never blocking); a client
 * that leaves stops the fetch. */
#include <stdio.h>
#include <string.h>
#include "gateway/api/api.h"
#include "gateway/api/apictx.h"
#include "gateway/api/auth.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"
#include "gateway/core/str.h"
#include "gateway/relay/fetch_models.h"
#include "gateway/worker.h"

#define TYPE_MAX 1000

static void answer(gw_req *r, int ok, const char *why, json_t *models)
{
    if (ok) {
        gw_api_ok(r, json_incref(models));
        return;
    }
    char msg[512];
    snprintf(msg, sizeof msg, "获取模型列表失败 (failed to fetch the model list): %s", why);
    gw_api_fail(r, msg);
}

static void fetched(const struct gw_fetch_result *res, void *data)
{
    gw_req *r = data;
    gw_req_set_callbacks(r, NULL, NULL, NULL);
    answer(r, res->ok, res->message, res->models);
    gw_req_unref(r);
}

static void left(gw_req *r, void *data)
{
    gw_req_set_callbacks(r, NULL, NULL, NULL);
    gw_fetch_abort(data);
    gw_req_unref(r);
}

static void start(gw_req *r, const struct gw_fetch_spec *spec)
{
    struct gw_fetch *f = NULL;
    char err[400];
    gw_req_ref(r);
    if (gw_fetch_models(r->worker, spec, fetched, r, &f, err, sizeof err) != GW_OK) {
        answer(r, 0, err, NULL);
        gw_req_unref(r);
        return;
    }
    gw_req_set_callbacks(r, left, NULL, f);
}

void gw_api_channel_fetch_models(gw_req *r, const struct gw_caller *who)
{
    json_t *b = gw_api_body(r);
    if (!b)
        return;
    long long type = 0;
    char err[160];
    const json_t *base = json_object_get(b, "base_url"), *key = json_object_get(b, "key");
    const json_t *cid = json_object_get(b, "channel_id");
    const char *bad = NULL;
    if (gw_api_opt_int(b, "type", 0, TYPE_MAX, &type, err, sizeof err) < 0)
        bad = err;
    else if (base && !json_is_null(base) && !json_is_string(base))
        bad = "base_url must be a string";
    else if (key && !json_is_null(key) && !json_is_string(key))
        bad = "key must be a string";
    else if (json_is_integer(cid) && json_integer_value(cid) > 0)
        /* the reference's channel_id previews an "advanced custom" channel */
        bad = "channel_id is for advanced custom channels, which this gateway does not have; "
              "use GET /api/channel/fetch_models/:id for a saved channel";
    if (bad) {
        json_decref(b);
        gw_api_fail(r, bad);
        return;
    }
    gw_str bu = gw_str_trim(gw_str_c(json_is_string(base) ? json_string_value(base) : ""));
    char *base_url = gw_arena_strndup(r->arena, bu.base, bu.len);
    char *k = gw_arena_strdup(r->arena, json_is_string(key) ? json_string_value(key) : "");
    json_decref(b);
    struct gw_fetch_spec spec = {.type = (int)type, .base_url = base_url, .key = k,
                                 .set_by_root = who->role >= GW_ROLE_ROOT};
    start(r, &spec);
}

void gw_api_channel_fetch_models_id(gw_req *r, const struct gw_caller *who)
{
    long long id = 0;
    if (!gw_api_param_id(r, &id)) {
        gw_api_fail(r, "invalid channel id");
        return;
    }
    struct gw_fetch_spec spec = {.channel_id = id};
    start(r, &spec);
}
