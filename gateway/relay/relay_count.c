/* The local prompt estimate of a call in any client format, and the free
 * counting endpoints (POST /v1/messages/count_tokens, Gemini :countTokens):
 * the key is checked as for a call (fields, IP, model limits, token and
 * user status), then the estimate is answered in the client's shape. No
 * reservation, no charge, no log row: counting is free, as in the
 * reference. */
#include <stdio.h>
#include <string.h>
#include "adapters/format.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"
#include "gateway/relay/relay_call.h"
#include "gateway/state/ledger.h"
#include "gateway/worker.h"

/* Keys whose strings are not text a model reads (ids, kinds, base64). */
static int not_text(const char *key)
{
    static const char *const skip[] = {"model", "type", "role", "signature", "data",
                                       "mime_type", "mimeType", "media_type", "id",
                                       "tool_use_id", "tool_call_id", "url", "file_uri",
                                       "fileUri", "image_url", "file_data", "cache_control"};
    for (size_t i = 0; i < sizeof skip / sizeof skip[0]; i++)
        if (strcmp(key, skip[i]) == 0)
            return 1;
    return 0;
}

/* Every text string of a body the hub cannot hold yet (the codec has no
 * req_to_hub): a rough count, never 0 for a non-empty request. */
static long long text_tokens(const char *model, const json_t *j, int depth)
{
    long long n = 0;
    if (depth > 64)
        return 0;
    if (json_is_string(j))
        return gw_estimate_text_tokens(model, json_string_value(j), json_string_length(j));
    if (json_is_array(j)) {
        size_t i;
        const json_t *v;
        json_array_foreach (j, i, v)
            n += text_tokens(model, v, depth + 1);
    } else if (json_is_object(j)) {
        const char *k;
        const json_t *v;
        json_object_foreach ((json_t *)j, k, v)
            if (!not_text(k))
                n += text_tokens(model, v, depth + 1);
    }
    return n;
}

long long gw__relay_estimate(const struct rcall *c, const json_t *body)
{
    if (c->in == &gw_format_chat) { /* as before the format layer */
        long long n = c->mode == GW_RELAY_CHAT ? gw_estimate_request_tokens(c->model, body) : 0;
        if (!n) {
            const json_t *in =
                json_object_get(body, c->mode == GW_RELAY_COMPLETIONS ? "prompt" : "input");
            n = json_is_string(in)
                    ? gw_estimate_text_tokens(c->model, json_string_value(in), json_string_length(in))
                    : 1;
        }
        return n;
    }
    /* Another format: the chat estimator on its hub form (message overheads
     * and image tiles counted the same way), else its text. */
    long long n = 0;
    json_t *hub = NULL;
    char msg[8];
    if (c->mode == GW_RELAY_CHAT && c->in->req_to_hub &&
        c->in->req_to_hub(body, &c->pf, &hub, msg, sizeof msg) == GW_OK)
        n = gw_estimate_request_tokens(c->model, hub);
    json_decref(hub);
    if (!n)
        n = text_tokens(c->model, body, 0);
    return n > 0 ? n : 1;
}

/* ---- count_tokens ------------------------------------------------------------------ */

static void answer(struct rcall *c)
{
    if (c->last_status) {
        gw__relay_fail(c, c->last_status,
                       c->last_status == 503 ? "new_api_error" : "invalid_request_error",
                       c->last_code, c->last_error);
        gw__relay_to(c, GW_RS_DONE);
        return;
    }
    /* Gemini may wrap the request: {"generateContentRequest": {...}} */
    const json_t *inner = json_object_get(c->body, "generateContentRequest");
    long long n = gw__relay_estimate(c, json_is_object(inner) ? inner : c->body);
    json_t *j = c->in->wire == GW_WIRE_GEMINI ? json_pack("{s:I}", "totalTokens", (json_int_t)n)
                                              : json_pack("{s:I}", "input_tokens", (json_int_t)n);
    gw_resp_json(c->r, 200, j);
    json_decref(j);
    gw__relay_to(c, GW_RS_DONE);
}

static void refuse(struct rcall *c, int status, const char *code, const char *msg)
{
    if (c->last_status)
        return; /* the first reason stands */
    c->last_status = status;
    snprintf(c->last_code, sizeof c->last_code, "%s", code);
    snprintf(c->last_error, sizeof c->last_error, "%s", msg);
}

static void one_reply(struct rcall *c)
{
    if (--c->pending_lookups == 0)
        answer(c);
}

/* authorize.lua's token checks, read-only: status and expiry. */
static void token_status(int status, redisReply *reply, void *data)
{
    struct rcall *c = data;
    long long uid = 0;
    if (status != GW_OK || !reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 3) {
        refuse(c, 503, "state_unavailable", "the quota service is unavailable, retry shortly");
    } else if (reply->element[0]->type != REDIS_REPLY_STRING ||
               gw_str_to_ll(gw_str_c(reply->element[0]->str), 1, (long long)1 << 62, &uid) !=
                   GW_OK ||
               uid != c->key.uid) {
        refuse(c, 401, "invalid_api_key", "token_not_found");
    } else {
        long long st = 1, exp = -1;
        if (reply->element[1]->type == REDIS_REPLY_STRING)
            gw_str_to_ll(gw_str_c(reply->element[1]->str), -1000, 1000, &st);
        if (reply->element[2]->type == REDIS_REPLY_STRING)
            gw_str_to_ll(gw_str_c(reply->element[2]->str), -1, (long long)1 << 53, &exp);
        if (st == 3 || (exp != -1 && exp < gw__now_ms_wall() / 1000))
            refuse(c, 401, "token_expired", "token_expired");
        else if (st == 4)
            refuse(c, 401, "token_exhausted", "token_exhausted");
        else if (st != 1)
            refuse(c, 401, "token_disabled", "token_disabled");
    }
    one_reply(c);
}

static void user_status(int status, redisReply *reply, void *data)
{
    struct rcall *c = data;
    if (status != GW_OK || !reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) {
        refuse(c, 503, "state_unavailable", "the quota service is unavailable, retry shortly");
    } else if (reply->element[0]->type != REDIS_REPLY_STRING) {
        refuse(c, 401, "invalid_api_key", "user_not_found");
    } else {
        long long st = 1;
        if (reply->element[1]->type == REDIS_REPLY_STRING)
            gw_str_to_ll(gw_str_c(reply->element[1]->str), -1000, 1000, &st);
        if (st != 1)
            refuse(c, 403, "user_disabled", "user_disabled");
    }
    one_reply(c);
}

/* after_key of a counting call: the checks authorize would make, without
 * reserving anything. */
void gw__relay_count(struct rcall *c)
{
    if (gw__relay_key_refused(c)) {
        gw__relay_to(c, GW_RS_DONE);
        return;
    }
    if (!gw__key_model_allowed(&c->key, c->model)) {
        char msg[260];
        snprintf(msg, sizeof msg, "this token may not use model %.*s",
                 (int)gw_str_utf8_cut(gw_str_c(c->model), 190), c->model);
        gw__relay_fail(c, 403, "invalid_request_error", "model_not_allowed", msg);
        gw__relay_to(c, GW_RS_DONE);
        return;
    }
    char uk[64], tk[64];
    gw_key_user(uk, sizeof uk, c->key.uid);
    gw_key_token(tk, sizeof tk, c->key.uid, c->key.tid);
    c->pending_lookups = 3; /* the two replies, and this function */
    if (gw_redis_command(c->w->redis, token_status, c, "HMGET %s uid status expired_time", tk) !=
        GW_OK) {
        refuse(c, 503, "state_unavailable", "the quota service is unavailable, retry shortly");
        c->pending_lookups--;
    }
    if (gw_redis_command(c->w->redis, user_status, c, "HMGET %s quota status", uk) != GW_OK) {
        refuse(c, 503, "state_unavailable", "the quota service is unavailable, retry shortly");
        c->pending_lookups--;
    }
    one_reply(c);
}
