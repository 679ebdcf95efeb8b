/* The local prompt estimate of a call in any client format, and the free
 * counting endpoints (POST /v1/messages/count_tokens, Gemini :countTokens):
 * the key is checked as for a call (fields, IP, model limits, token and
 * user status); then, when the model's channel speaks the client's own
 * wire (an Anthropic channel for count_tokens, a Gemini one for
 * countTokens), the upstream's own count is relayed (same path, the
 * client's body with the model mapped), else — or when that fails — the
 * local estimate is answered in the client's shape. No reservation, no
 * charge, no log row: counting is free, as in the reference. The call goes
 * KEY → (UPSTREAM →) SETTLE, which frees it at once as nothing was
 * reserved. */
#include <stdio.h>
#include <string.h>
#include "adapters/adapter.h"
#include "adapters/format.h"
#include "gateway/core/dest.h"
#include "gateway/core/clock.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"
#include "gateway/relay/relay_call.h"
#include "gateway/state/ledger.h"
#include "gateway/worker.h"

#define COUNT_BODY_MAX ((size_t)64 * 1024)

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

/* The local estimate in the client's shape. */
static void answer_local(struct rcall *c)
{
    /* Gemini may wrap the request: {"generateContentRequest": {...}} */
    const json_t *inner = json_object_get(c->body, "generateContentRequest");
    long long n = gw__relay_estimate(c, json_is_object(inner) ? inner : c->body);
    json_t *j = c->in->wire == GW_WIRE_GEMINI ? json_pack("{s:I}", "totalTokens", (json_int_t)n)
                                              : json_pack("{s:I}", "input_tokens", (json_int_t)n);
    if (gw_req_alive(c->r))
        gw_resp_json(c->r, 200, j);
    json_decref(j);
}

/* ---- relayed to a same-wire channel ---- */

static void count_headers(gw_xfer *x, int status, const char *ctype, void *data)
{
    (void)x;
    (void)ctype;
    ((struct rcall *)data)->up_status = status;
}

static int count_data(gw_xfer *x, const char *p, size_t n, void *data)
{
    struct rcall *c = data;
    (void)x;
    if (c->up_body.len + n > COUNT_BODY_MAX)
        return GW_ETOOBIG;
    return gw_buf_append(&c->up_body, p, n);
}

static void count_done(gw_xfer *x, int result, const char *errmsg, void *data)
{
    struct rcall *c = data;
    (void)x;
    (void)errmsg;
    c->x = NULL;
    gw_req_set_callbacks(c->r, NULL, NULL, NULL);
    json_t *j = result == GW_OK && c->up_status == 200
                    ? gw_json_parse(c->up_body.base ? c->up_body.base : "", c->up_body.len, 0,
                                    NULL, 0)
                    : NULL;
    if (json_is_object(j) && gw_req_alive(c->r)) /* the upstream's own count, as it came */
        gw_resp_send(c->r, 200, "application/json", c->up_body.base, c->up_body.len);
    else /* an upstream that cannot count: the estimate, never a failed count */
        answer_local(c);
    json_decref(j);
    gw__relay_to(c, GW_RS_SETTLE);
}

static void count_abort(gw_req *r, void *data)
{
    struct rcall *c = data;
    (void)r;
    if (c->x) {
        gw_xfer_abort(c->x);
        c->x = NULL;
    }
    gw__relay_to(c, GW_RS_SETTLE);
}

/* Starts the count on the model's channel when it speaks the client's
 * wire; 0 (nothing started) otherwise. */
static int count_upstream(struct rcall *c)
{
    static const struct gw_xfer_cbs cbs = {count_headers, count_data, count_done};
    const char *group = c->key.token_group[0] ? c->key.token_group
                        : c->key.user_group[0] ? c->key.user_group
                                               : "default";
    char base[512], err[256];
    int kidx;
    c->route = gw__relay_route_ref(c->w);
    struct gw_channel *ch = c->route ? gw_routing_pick(c->route->table, group, c->model, 0, NULL, 0,
                                                       gw__relay_channel_down, c->w,
                                                       &c->w->relay->rng)
                                     : NULL;
    const struct gw_channel_type *ct = ch ? gw_channel_type(ch->type) : NULL;
    struct gw_relay_call call = {.mode = GW_RELAY_CHAT, .wire = c->in->wire, .model = c->model,
                                 .upstream_model = c->upstream_model,
                                 .client_headers = gw__relay_client_headers,
                                 .client_headers_ctx = c->r};
    if (!ct || !ct->adapter || !ct->adapter->wire || ct->adapter->wire(ch, &call) != c->in->wire)
        return 0;
    const char *key = gw_channel_pick_key(ch, &c->w->relay->rng, &kidx);
    if (!key ||
        gw_model_map(ch->model_mapping, c->model, c->upstream_model, sizeof c->upstream_model) !=
            GW_OK)
        return 0;
    struct gw_conv_opts co = {.upstream_model = c->upstream_model};
    json_t *body = NULL;
    if (gw_format_convert_request(c->in, c->in, c->body, &c->pf, &co, &body, err, sizeof err) !=
        GW_OK)
        return 0;
    c->ch = ch;
    call.api_key = key;
    call.path = c->client_path;
    call.body = body;
    gw_upstream_req_init(&c->ureq);
    int rc = ct->adapter->build(ch, gw_channel_base_url(ch, ct, base, sizeof base), &call,
                                &c->ureq, err, sizeof err);
    json_decref(body);
    struct gw_dest_policy dest;
    if (rc != GW_OK || gw__relay_dest(c->w, ch, c->ureq.url.base,
                                      c->ureq.proxy.len ? c->ureq.proxy.base : NULL, &dest, err,
                                      sizeof err) != GW_OK)
        return 0;
    struct gw_xfer_opts o = {
        .method = "POST",
        .url = c->ureq.url.base,
        .headers = c->ureq.headers,
        .body = c->ureq.body.base,
        .body_len = c->ureq.body.len,
        .proxy = c->ureq.proxy.len ? c->ureq.proxy.base : NULL,
        .connect_timeout_ms = 10000,
        .idle_timeout_s = 60,
        .dest = &dest,
    };
    if (gw_xfer_start(c->w->up, &o, &cbs, c, &c->x) != GW_OK)
        return 0;
    gw_req_set_callbacks(c->r, count_abort, NULL, c);
    gw__relay_to(c, GW_RS_UPSTREAM);
    return 1;
}

static void answer(struct rcall *c)
{
    if (c->last_status) {
        gw__relay_fail(c, c->last_status,
                       c->last_status == 503 ? "new_api_error" : "invalid_request_error",
                       c->last_code, c->last_error);
        gw__relay_to(c, GW_RS_DONE);
        return;
    }
    if (count_upstream(c))
        return;
    answer_local(c);
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
        if (st == 3 || (exp != -1 && exp < gw_clock_wall_ms() / 1000))
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
