/* The stored-response operations of the Responses API, relayed to the
 * channel that served the response:
 *   GET    /v1/responses/{id}               (the response again)
 *   DELETE /v1/responses/{id}
 *   POST   /v1/responses/{id}/cancel        (a background response)
 *   GET    /v1/responses/{id}/input_items   (the client's query passed on)
 *
 * Which channel: when a Responses call to a channel that speaks the
 * Responses wire answers with an id (the non-stream body's "id", a stream's
 * response.created), the relay calls gw__responses_remember, which stores
 * tf:resp:<id> = "<channel id>:<user id>" for 30 days (OpenAI keeps a stored
 * response 30 days by default; an entry outliving it would only relay the
 * upstream's own 404). Only the user whose call made the response reaches
 * it: another user's key gets the same 404 as an unknown id, so ids cannot be
 * probed. These calls are free and write no consume log (the reference has
 * no such routes, so nothing to bill); the access log has them. */
#include <stdio.h>
#include <string.h>

#include "adapters/adapter.h"
#include "gateway/core/alloc.h"
#include "gateway/core/dest.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"
#include "gateway/core/log.h"
#include "gateway/relay/relay.h"
#include "gateway/relay/relay_call.h"
#include "gateway/state/redis.h"
#include "gateway/worker.h"

#define RESP_TTL_S (30 * 24 * 3600)
#define RESP_ID_MAX 128
#define OP_BODY_MAX ((size_t)16 * 1024 * 1024)

/* A response id we store and look up: [A-Za-z0-9_-]{1,128}. */
static int id_ok(const char *s, size_t n)
{
    if (n == 0 || n > RESP_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '-'))
            return 0;
    }
    return 1;
}

static void set_done(int status, redisReply *reply, void *data)
{
    (void)reply;
    (void)data;
    if (status != GW_OK)
        GW_WARN("could not record a response's channel (Redis): its GET/DELETE will answer 404");
}

static void remember_id(struct gw_worker *w, gw_str id, long long channel_id, long long uid)
{
    char key[RESP_ID_MAX + 16], val[48];
    if (!id_ok(id.base, id.len))
        return; /* nothing we would look up later */
    snprintf(key, sizeof key, "tf:resp:%.*s", (int)id.len, id.base);
    snprintf(val, sizeof val, "%lld:%lld", channel_id, uid);
    if (gw_redis_command(w->redis, set_done, NULL, "SET %s %s EX %d", key, val, RESP_TTL_S) !=
        GW_OK)
        set_done(GW_EIO, NULL, NULL);
}

void gw__responses_remember(struct gw_worker *w, const char *json, size_t len,
                            long long channel_id, long long uid)
{
    json_t *j = gw_json_parse(json, len, 0, NULL, 0);
    const json_t *resp = json_object_get(j, "response"); /* response.created */
    const json_t *id = json_object_get(json_is_object(resp) ? resp : j, "id");
    if (json_is_string(id))
        remember_id(w, (gw_str){json_string_value(id), json_string_length(id)}, channel_id, uid);
    json_decref(j);
}

/* ---- the operations --------------------------------------------------------------- */

static void done(struct rcall *c)
{
    gw__relay_to(c, GW_RS_DONE);
}

static void not_found(struct rcall *c, const char *id)
{
    char msg[RESP_ID_MAX + 64];
    snprintf(msg, sizeof msg, "Response with id '%s' not found.", id);
    gw__relay_fail(c, 404, "invalid_request_error", "response_not_found", msg);
    done(c);
}

/* The id in the path: /v1/responses/{id}[/cancel|/input_items]. */
static const char *path_id(struct rcall *c, char *id, size_t cap)
{
    const char *p = c->r->path + sizeof "/v1/responses/" - 1;
    const char *slash = strchr(p, '/');
    size_t n = slash ? (size_t)(slash - p) : strlen(p);
    if (n >= cap)
        n = cap - 1;
    memcpy(id, p, n);
    id[n] = '\0';
    return id;
}

static void on_abort(gw_req *r, void *data)
{
    struct rcall *c = data;
    (void)r;
    if (c->x) {
        gw_xfer_abort(c->x);
        c->x = NULL;
    }
    done(c);
}

static void on_headers(gw_xfer *x, int status, const char *ctype, void *data)
{
    struct rcall *c = data;
    (void)x;
    c->up_status = status;
    /* the answer's type as the upstream gave it (?stream=true is SSE); the
     * call's unused last_code holds it */
    snprintf(c->last_code, sizeof c->last_code, "%s",
             ctype && *ctype && strlen(ctype) < sizeof c->last_code && !strpbrk(ctype, "\r\n")
                 ? ctype
                 : "application/json");
}

static int on_data(gw_xfer *x, const char *p, size_t n, void *data)
{
    struct rcall *c = data;
    (void)x;
    return gw_buf_append(&c->up_body, p, n) == GW_OK ? GW_OK : GW_ETOOBIG;
}

static void on_done(gw_xfer *x, int result, const char *errmsg, void *data)
{
    struct rcall *c = data;
    (void)x;
    c->x = NULL;
    gw_req_set_callbacks(c->r, NULL, NULL, NULL);
    if (result != GW_OK || c->up_status == 0) {
        GW_WARN("responses operation on channel %lld failed: %s", c->ch ? c->ch->id : 0LL,
                errmsg ? errmsg : gw_strerror(result));
        gw__relay_fail(c, 502, "upstream_error", "bad_gateway",
                       result == GW_ETIMEDOUT ? "upstream timed out" : "upstream connection failed");
    } else if (gw_req_alive(c->r)) {
        /* the upstream's answer as it is: its own 404 or 400 is the truth */
        gw_resp_send(c->r, c->up_status, gw_arena_printf(c->r->arena, "%s", c->last_code),
                     c->up_body.base ? c->up_body.base : "",
                     c->up_body.len);
    }
    done(c);
}

static void start(struct rcall *c, long long channel_id)
{
    char err[256], base[1024];
    struct gw_route_ref *ref = gw__relay_route_ref(c->w);
    c->route = ref; /* released with the call */
    c->ch = ref ? gw_routing_channel(ref->table, channel_id) : NULL;
    const struct gw_channel_type *ct = c->ch ? gw_channel_type(c->ch->type) : NULL;
    if (!ct || c->ch->status != 1) {
        gw__relay_fail(c, 503, "new_api_error", "channel_unavailable",
                       "the channel that served this response is no longer available");
        done(c);
        return;
    }
    int kidx = 0;
    const char *key = gw_channel_pick_key(c->ch, &c->w->relay->rng, &kidx);
    const char *path = c->r->query && *c->r->query
                           ? gw_arena_printf(c->r->arena, "%s?%s", c->r->path, c->r->query)
                           : c->r->path;
    gw_upstream_req_init(&c->ureq);
    int rc = GW_EINVAL;
    snprintf(err, sizeof err, "the channel has no enabled key");
    if (key)
        rc = gw_adapter_responses_op(c->ch, gw_channel_base_url(c->ch, ct, base, sizeof base), key,
                                     path, &c->ureq, err, sizeof err);
    if (rc != GW_OK) {
        GW_WARN("responses operation on channel %lld: %s", c->ch->id, err);
        gw__relay_fail(c, 502, "upstream_error", "channel:request_build_failed",
                       "cannot build the upstream request for this channel");
        done(c);
        return;
    }
    struct gw_dest_policy dest;
    if (gw__relay_dest(c->w, c->ch, c->ureq.url.base, c->ureq.proxy.len ? c->ureq.proxy.base : NULL,
                       &dest, err, sizeof err) != GW_OK) {
        gw__relay_fail(c, 502, "upstream_error", "channel:destination_refused",
                       "the channel's upstream address is not allowed by the destination policy");
        done(c);
        return;
    }
    static const struct gw_xfer_cbs cbs = {on_headers, on_data, on_done};
    int m = c->r->method;
    struct gw_xfer_opts o = {
        .method = m == GW_M_DELETE ? "DELETE" : m == GW_M_POST ? "POST" : "GET",
        .url = c->ureq.url.base,
        .headers = c->ureq.headers,
        .body = m == GW_M_POST ? (c->r->body.len ? c->r->body.base : "{}") : NULL,
        .body_len = m == GW_M_POST ? (c->r->body.len ? c->r->body.len : 2) : 0,
        .proxy = c->ureq.proxy.len ? c->ureq.proxy.base : NULL,
        .connect_timeout_ms = 10000,
        .idle_timeout_s = 120,
        .dest = &dest,
    };
    gw_buf_init(&c->up_body, OP_BODY_MAX);
    if (gw_xfer_start(c->w->up, &o, &cbs, c, &c->x) != GW_OK) {
        gw__relay_fail(c, 502, "upstream_error", "bad_gateway", "cannot start the upstream transfer");
        done(c);
        return;
    }
    gw_req_set_callbacks(c->r, on_abort, NULL, c);
}

static void looked_up(int status, redisReply *reply, void *data)
{
    struct rcall *c = data;
    char id[RESP_ID_MAX + 1];
    long long cid = 0, uid = 0;
    path_id(c, id, sizeof id);
    if (status != GW_OK || !reply || (reply->type != REDIS_REPLY_STRING &&
                                      reply->type != REDIS_REPLY_NIL)) {
        gw__relay_fail(c, 503, "new_api_error", "state_unavailable",
                       "the quota service is unavailable, retry shortly");
        done(c);
        return;
    }
    if (!gw_req_alive(c->r)) {
        done(c);
        return;
    }
    if (reply->type == REDIS_REPLY_NIL || sscanf(reply->str, "%lld:%lld", &cid, &uid) != 2 ||
        uid != c->key.uid) {
        not_found(c, id);
        return;
    }
    start(c, cid);
}

static void after_key(struct rcall *c)
{
    char id[RESP_ID_MAX + 2], key[RESP_ID_MAX + 16];
    if (gw__relay_key_refused(c)) {
        done(c);
        return;
    }
    path_id(c, id, sizeof id);
    if (!id_ok(id, strlen(id))) {
        id[sizeof id - 2] = '\0';
        not_found(c, id);
        return;
    }
    snprintf(key, sizeof key, "tf:resp:%s", id);
    if (gw_redis_command(c->w->redis, looked_up, c, "GET %s", key) != GW_OK) {
        gw__relay_fail(c, 503, "new_api_error", "state_unavailable",
                       "the quota service is unavailable, retry shortly");
        done(c);
    }
}

void gw_relay_responses_op(gw_req *r)
{
    struct rcall *c = gw_calloc(1, sizeof *c);
    if (!c) {
        gw_resp_openai_error(r, 500, "new_api_error", "out of memory");
        return;
    }
    c->r = r;
    c->w = r->worker;
    c->after_key = after_key;
    c->content = "";
    snprintf(c->ip, sizeof c->ip, "%s", gw_req_peer(r));
    gw_buf_init(&c->up_body, 1);
    gw_sse_parser_init(&c->sse, 1, 1, NULL, c);
    gw_req_ref(r);
    gw__relay_refresh(c->w);
    if (gw__relay_resolve_key(c) != GW_OK) {
        done(c);
        return;
    }
    gw__relay_begin(c);
}
