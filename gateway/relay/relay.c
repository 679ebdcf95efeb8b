/* The relay state machine (see relay.h): KEY → AUTH → ROUTE → UPSTREAM →
 * RELAY → SETTLE. Each state's work is one function; transitions are the
 * calls at their ends. Response relaying lives in relay_io.c. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "adapters/adapter.h"
#include "gateway/state/options.h"
#include "gateway/core/alloc.h"
#include "gateway/core/clock.h"
#include "gateway/core/crypto.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"
#include "gateway/core/log.h"
#include "gateway/relay/relay.h"
#include "gateway/relay/relay_call.h"
#include "gateway/state/ledger.h"
#include "gateway/worker.h"

#define MAX_JSON_DEPTH 64

/* ---- errors in the OpenAI shape ------------------------------------------------ */

void gw__relay_fail(struct rcall *c, int status, const char *type, const char *code,
                    const char *msg)
{
    gw_req *r = c->r;
    if (!gw_req_alive(r) || r->status)
        return;
    char full[600];
    snprintf(full, sizeof full, "%s (request id: %s)", msg, r->rid);
    json_t *j = json_pack("{s:{s:o, s:s, s:s, s:s*}}", "error", "message", gw_json_text(full),
                          "type", type, "param", "", "code", code);
    if (status == 429 && c->retry_after_s > 0)
        gw_resp_header(r, "retry-after", gw_arena_printf(r->arena, "%lld", c->retry_after_s));
    gw_resp_json(r, status, j);
    json_decref(j);
}

/* ---- lifecycle ------------------------------------------------------------------- */

void gw__relay_free(struct rcall *c)
{
    gw_req *r = c->r;
    if (r->cb_data == c) /* the client may still leave later: never call into a freed call */
        gw_req_set_callbacks(r, NULL, NULL, NULL);
    gw__relay_route_unref(c->route);
    gw_upstream_req_free(&c->ureq);
    gw_buf_free(&c->up_body);
    gw_sse_parser_free(&c->sse);
    json_decref(c->body);
    gw__key_info_release(&c->key);
    gw_free(c);
    gw_req_unref(r);
}

/* ---- ROUTE + UPSTREAM -------------------------------------------------------------- */

static int tried(const struct rcall *c, long long id)
{
    for (int i = 0; i < c->ntried; i++)
        if (c->tried[i] == id)
            return 1;
    return 0;
}

/* Picks the next channel and starts the transfer; on no channel answers 503. */
void gw__relay_route(struct rcall *c)
{
    struct gw_channel *ch = NULL;
    if (c->auth == GW_AUTH_PENDING && !c->route) {
        c->route_held = 1; /* the error waits for the authorize reply */
        return;
    }
    if (!c->route) {
        gw__relay_fail(c, 503, "new_api_error", "model_not_found",
                       "the routing table is not loaded yet, retry shortly");
        gw__relay_settle(c);
        return;
    }
    if (c->pinned) {
        ch = tried(c, c->pinned) ? NULL : gw_routing_channel(c->route->table, c->pinned);
        if (ch && ch->status != 1)
            ch = NULL;
    } else {
        ch = gw_routing_pick(c->route->table, c->group, c->model, c->attempt, c->tried,
                             c->ntried, gw__relay_channel_down, c->w, &c->w->relay->rng);
    }
    if (!ch && c->auth == GW_AUTH_PENDING) {
        c->route_held = 1; /* a refusal would answer instead: wait for it */
        return;
    }
    if (!ch) {
        char msg[300];
        if (c->last_error[0]) { /* every channel failed: the last upstream error */
            gw__relay_upstream_gave_up(c); /* and nothing was delivered */
            return;
        } else {
            snprintf(msg, sizeof msg, "no available channel for model %.*s under group %.*s",
                     (int)gw_str_utf8_cut(gw_str_c(c->model), 150), c->model,
                     (int)gw_str_utf8_cut(gw_str_c(c->group), 60), c->group);
            gw__relay_fail(c, 503, "new_api_error", "model_not_found", msg);
        }
        gw__relay_settle(c);
        return;
    }
    c->ch = ch;
    if (c->ntried < GW_RELAY_MAX_TRIES)
        c->tried[c->ntried++] = ch->id;
    c->attempt++;
    if (gw__relay_start_upstream(c) != GW_OK) {
        /* a channel that cannot even build its request: try the next */
        gw__relay_route(c);
    }
}

/* ---- AUTH ------------------------------------------------------------------------- */

static int refusal_status(enum gw_ledger_reason r, const char **code)
{
    switch (r) {
    case GW_REFUSE_TOKEN_NOT_FOUND: *code = "invalid_api_key"; return 401;
    case GW_REFUSE_TOKEN_DISABLED: *code = "token_disabled"; return 401;
    case GW_REFUSE_TOKEN_EXPIRED: *code = "token_expired"; return 401;
    case GW_REFUSE_TOKEN_EXHAUSTED: *code = "token_exhausted"; return 401;
    case GW_REFUSE_USER_NOT_FOUND: *code = "invalid_api_key"; return 401;
    case GW_REFUSE_USER_DISABLED: *code = "user_disabled"; return 403;
    case GW_REFUSE_USER_QUOTA: *code = "insufficient_user_quota"; return 403;
    case GW_REFUSE_TOKEN_QUOTA: *code = "pre_consume_token_quota_failed"; return 403;
    case GW_REFUSE_MODEL_NOT_ALLOWED: *code = "model_not_allowed"; return 403;
    case GW_REFUSE_RATE_LIMITED: *code = "rate_limit_exceeded"; return 429;
    case GW_REFUSE_CONCURRENCY: *code = "concurrency_limit_exceeded"; return 429;
    case GW_REFUSE_SETTINGS_CHANGED: *code = "settings_changed"; return 503; /* mid-edit */
    default: *code = "new_api_error"; return 500;
    }
}

/* Speculate next time only while the budget is far from its end and no
 * limit refused this key: a refusal then costs one aborted upstream call. */
static int ample(const struct gw_auth_result *res, long long reserved)
{
    long long need = reserved > 0 ? reserved * 10 : 0;
    return res->status == GW_OK && res->ok && res->user_left >= need &&
           (res->token_left < 0 || res->token_left >= need);
}

static void authorized(const struct gw_auth_result *res, void *data)
{
    struct rcall *c = data;
    c->auth = GW_AUTH_OK;
    gw__relay_key_hint(c->w, c->keyhash, ample(res, c->reserved));
    if ((res->status != GW_OK || !res->ok) && c->spec)
        gw__relay_spec_cancel(c);
    if (res->status != GW_OK) {
        gw__relay_fail(c, 503, "new_api_error", "state_unavailable",
                       "the quota service is unavailable, retry shortly");
        gw__relay_free(c);
        return;
    }
    if (!res->ok && res->reason == GW_REFUSE_SETTINGS_CHANGED) {
        /* The cached groups, IP list or role are stale and nothing was
         * reserved: the same request starts over with fields read afresh (a
         * new call, so no state of a cancelled speculative start remains). */
        gw__relay_key_drop(c->w, c->keyhash);
        struct rcall *n = c->key_rereads < 2 && gw_req_alive(c->r) && !c->settle_held
                              ? gw__relay_clone(c)
                              : NULL;
        if (n) {
            n->key_fresh = 1;
            n->key_rereads = c->key_rereads + 1;
            gw__relay_free(c);
            gw__relay_begin(n);
            return;
        }
    }
    if (!res->ok) {
        const char *code;
        int st = refusal_status(res->reason, &code);
        char msg[200];
        c->retry_after_s = (res->retry_after_ms + 999) / 1000;
        if (res->reason == GW_REFUSE_RATE_LIMITED || res->reason == GW_REFUSE_CONCURRENCY)
            snprintf(msg, sizeof msg, "%s (%s limit)", gw_ledger_reason_name(res->reason),
                     res->limit);
        else
            snprintf(msg, sizeof msg, "%s", gw_ledger_reason_name(res->reason));
        gw__relay_fail(c, st, st == 429 ? "rate_limit_error" : "invalid_request_error", code, msg);
        gw__relay_free(c);
        return;
    }
    c->res_id = res->res_id;
    c->deadline_ms = res->deadline_ms;
    if (c->spec) {
        snprintf(c->group, sizeof c->group, "%s", res->group);
        gw__relay_spec_release(c);
        return;
    }
    if (!gw_req_alive(c->r)) { /* left while we reserved */
        c->failed_before_output = 1;
        gw__relay_settle(c);
        return;
    }
    snprintf(c->group, sizeof c->group, "%s", res->group);
    c->route = gw__relay_route_ref(c->w);
    gw__relay_route(c);
}

/* A refusal decided on cached key fields is confirmed on fresh ones first
 * (one more read, on refusals only): a change that allows a call applies to
 * the next call, as one that refuses it does through authorize's settings
 * version. 1 when the fields are being read again (the call goes on there). */
static int recheck(struct rcall *c)
{
    if (!c->key_cached)
        return 0;
    gw__relay_key_drop(c->w, c->keyhash);
    gw__key_info_release(&c->key);
    memset(&c->key, 0, sizeof c->key);
    c->key_cached = 0;
    c->key_fresh = 1;
    gw__relay_begin(c);
    return 1;
}

/* Price, estimate and one authorize round trip. */
static void authorize(struct rcall *c)
{
    struct gw_relay_worker *rw = gw__relay(c->w);
    int pin_refused = c->pinned && c->key.role < 10;
    if (c->key.bad || pin_refused || !gw__key_ip_allowed(&c->key, c->ip)) {
        if (recheck(c))
            return;
        if (pin_refused && !c->key.bad)
            gw__relay_fail(c, 403, "invalid_request_error", "channel_pin_forbidden",
                           "only administrators may pin a channel with sk-KEY-CHANNELID");
        else
            gw__relay_key_refused(c);
        gw__relay_free(c);
        return;
    }
    const char *using = c->key.token_group[0] ? c->key.token_group : c->key.user_group;
    snprintf(c->group, sizeof c->group, "%s", using[0] ? using : "default");
    /* No channel at all: 503 naming the model, before any price question
     * (the reference selects the channel before pricing too). */
    struct gw_route_ref *ref = gw__relay_route_ref(c->w);
    uint64_t probe = 1;
    int routable = ref && (c->pinned || gw_routing_pick(ref->table, c->group, c->model, 0, NULL,
                                                        0, NULL, NULL, &probe));
    gw__relay_route_unref(ref);
    if (!routable && recheck(c))
        return;
    if (!routable && !c->freshened) { /* a channel added a moment ago? */
        gw__relay_freshen(c, authorize);
        return;
    }
    if (!routable) {
        char msg[300];
        snprintf(msg, sizeof msg, "no available channel for model %.*s under group %.*s",
                 (int)gw_str_utf8_cut(gw_str_c(c->model), 150), c->model,
                 (int)gw_str_utf8_cut(gw_str_c(c->group), 60), c->group);
        gw__relay_fail(c, 503, "new_api_error", "model_not_found", msg);
        gw__relay_free(c);
        return;
    }
    if (strchr(c->model, ',')) { /* authorize.lua's model limits are comma-separated */
        gw__relay_fail(c, 400, "invalid_request_error", "invalid_request",
                       "field 'model' may not contain ','");
        gw__relay_free(c);
        return;
    }
    int self_use = gw_options_bool(c->w->cfgwatch, "SelfUseModeEnabled", 0);
    int priced = rw->ratios && gw_price_lookup(rw->ratios, c->model, c->key.user_group,
                                                c->group, self_use, &c->price) == GW_OK;
    if (!priced && recheck(c))
        return;
    if (!priced && !c->freshened) { /* a price saved a moment ago? */
        gw__relay_freshen(c, authorize);
        return;
    }
    if (!priced) {
        char msg[300];
        snprintf(msg, sizeof msg, "model %.*s has no price or ratio configured (倍率或价格未配置)",
                 (int)gw_str_utf8_cut(gw_str_c(c->model), 150), c->model);
        gw__relay_fail(c, 503, "new_api_error", "model_price_error", msg);
        gw__relay_free(c);
        return;
    }
    c->prompt_est = c->mode == GW_RELAY_CHAT ? gw_estimate_request_tokens(c->model, c->body) : 0;
    if (!c->prompt_est) {
        const json_t *in = json_object_get(c->body, c->mode == GW_RELAY_COMPLETIONS ? "prompt" : "input");
        c->prompt_est = json_is_string(in) ? gw_estimate_text_tokens(c->model, json_string_value(in),
                                                                    json_string_length(in))
                                           : 1;
    }
    long long pre_min = gw_options_int(c->w->cfgwatch, "PreConsumedQuota", 500);
    c->reserved = gw_billing_reserve(&c->price, c->prompt_est, c->max_tokens, pre_min);
    if (c->reserved > GW_LEDGER_QUOTA_MAX) {
        /* More than any budget can hold (authorize.lua's bound): say why,
         * rather than let the script refuse the argument as an outage. */
        if (c->max_tokens > 0)
            gw__relay_fail(c, 400, "invalid_request_error", "invalid_request",
                           "max_tokens too large for the remaining quota: the call would reserve "
                           "more quota than any budget can hold; lower max_tokens");
        else
            gw__relay_fail(c, 503, "new_api_error", "model_price_error",
                           "the model's price is too large: one call would reserve more quota "
                           "than any budget can hold");
        gw__relay_free(c);
        return;
    }
    long long est = c->prompt_est + c->max_tokens;
    struct gw_auth_req a = {
        .uid = c->key.uid,
        .tid = c->key.tid,
        .model = c->model,
        .amount = c->reserved,
        .est_tokens = est < GW_LEDGER_QUOTA_MAX ? est : GW_LEDGER_QUOTA_MAX,
        .ttl_ms = (long long)c->w->cfg->reservation_ttl * 1000,
        .now_ms = gw_clock_wall_ms(),
        .settings_ver = c->key.ver,
    };
    c->auth = GW_AUTH_PENDING;
    if (gw_ledger_authorize(c->w->redis, &a, authorized, c) != GW_OK) {
        c->auth = GW_AUTH_NONE;
        gw__relay_fail(c, 503, "new_api_error", "state_unavailable",
                       "the quota service is unavailable, retry shortly");
        gw__relay_free(c);
        return;
    }
    /* SPECULATIVE_AUTH: the upstream round trip overlaps the authorize one;
     * relay_io.c holds everything until authorized() says yes. */
    if (c->w->cfg->speculative_auth && c->key.spec_ok && !c->pinned &&
        c->auth == GW_AUTH_PENDING) {
        c->spec = 1;
        c->route = gw__relay_route_ref(c->w);
        gw__relay_route(c);
    }
}

/* ---- KEY ---------------------------------------------------------------------------- */

static void key_found(struct rcall *c)
{
    if (--c->pending_lookups)
        return;
    if (!c->key.bad && !c->key.lists)
        c->key.bad = GW_KEY_BAD_LOOKUP;
    if (!c->key.bad && gw_key_settings_version(c->key.ver, sizeof c->key.ver, c->tsv,
                                               strlen(c->tsv), c->usv, strlen(c->usv)) != GW_OK)
        c->key.bad = GW_KEY_BAD_DATA;
    if (!c->key.bad) /* a refused key is read again next time: nothing stale stays */
        gw__relay_key_put(c->w, c->keyhash, &c->key);
    c->after_key(c);
}

int gw__relay_key_refused(struct rcall *c)
{
    if (c->key.bad == GW_KEY_BAD_LOOKUP)
        gw__relay_fail(c, 503, "new_api_error", "state_unavailable",
                       "the quota service is unavailable, retry shortly");
    else if (c->key.bad)
        gw__relay_fail(c, 403, "invalid_request_error", "token_settings_invalid",
                       "this token's stored settings cannot be used; save the token again");
    else if (!gw__key_ip_allowed(&c->key, c->ip))
        gw__relay_fail(c, 403, "invalid_request_error", "ip_not_allowed",
                       "this token may not be used from your IP address");
    else
        return 0;
    return 1;
}

/* A Redis string copied whole, or the key marked bad: security data is never
 * cut to fit (a cut group or version would name something else). */
static void copy_field(struct rcall *c, char *dst, size_t cap, const redisReply *v,
                       const char *what)
{
    if (v->type != REDIS_REPLY_STRING)
        return; /* absent: "" */
    if (v->len >= cap || memchr(v->str, '\0', v->len)) {
        GW_ERROR("token %lld of user %lld: stored %s (%zu bytes) is unusable; its calls are "
                 "refused until it is saved again", c->key.tid, c->key.uid, what, v->len);
        c->key.bad = GW_KEY_BAD_DATA;
        return;
    }
    memcpy(dst, v->str, v->len);
    dst[v->len] = '\0';
}

/* The lists, parsed once per read: allow_ips into networks, model_limits
 * whole. An allow-list that no longer parses (an old row, a hand edit)
 * denies every address and is logged: it never opens access. */
static struct gw_key_lists *read_lists(struct rcall *c, const redisReply *ips,
                                       const redisReply *ml)
{
    struct gw_key_lists *l = gw_calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->refs = 1;
    int s = ips->type == REDIS_REPLY_STRING;
    char err[200];
    int rc = gw_cidr_list_parse(s ? ips->str : "", s ? ips->len : 0, &l->ips, err, sizeof err);
    if (rc == GW_EINVAL) {
        GW_ERROR("token %lld of user %lld: stored allow_ips does not parse (%s); every IP is "
                 "refused until it is saved again", c->key.tid, c->key.uid, err);
        l->ips_bad = 1;
    }
    s = ml->type == REDIS_REPLY_STRING;
    l->model_limits = s ? gw_strndup(ml->str, ml->len) : gw_strdup("");
    if ((rc != GW_OK && rc != GW_EINVAL) || !l->model_limits) {
        gw_cidr_list_free(l->ips);
        gw_free(l->model_limits);
        gw_free(l);
        return NULL;
    }
    return l;
}

static void token_fields(int status, redisReply *reply, void *data)
{
    struct rcall *c = data;
    if (status == GW_OK && reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 5) {
        long long v = 0;
        copy_field(c, c->key.token_group, sizeof c->key.token_group, reply->element[0], "group");
        if (reply->element[2]->type == REDIS_REPLY_STRING &&
            gw_str_to_ll(gw_str_c(reply->element[2]->str), 0, 1, &v) == GW_OK)
            c->key.model_limits_enabled = (int)v;
        copy_field(c, c->tsv, sizeof c->tsv, reply->element[4], "sv");
        c->key.lists = read_lists(c, reply->element[1], reply->element[3]);
    }
    key_found(c);
}

static void user_fields(int status, redisReply *reply, void *data)
{
    struct rcall *c = data;
    if (status == GW_OK && reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 3) {
        long long v = 0;
        copy_field(c, c->key.user_group, sizeof c->key.user_group, reply->element[0], "user group");
        if (reply->element[1]->type == REDIS_REPLY_STRING &&
            gw_str_to_ll(gw_str_c(reply->element[1]->str), 0, 1000, &v) == GW_OK)
            c->key.role = (int)v;
        copy_field(c, c->usv, sizeof c->usv, reply->element[2], "user sv");
    } else if (!c->key.bad) {
        c->key.bad = GW_KEY_BAD_LOOKUP;
    }
    key_found(c);
}

/* First use of a key in this worker: the index, then (pipelined) the token's
 * and the user's fields the relay needs before authorize. Cached afterwards
 * until the next configuration change. */
static void key_index(int status, redisReply *reply, void *data)
{
    struct rcall *c = data;
    long long uid = 0, tid = 0;
    if (status != GW_OK) {
        gw__relay_fail(c, 503, "new_api_error", "state_unavailable",
                       "the quota service is unavailable, retry shortly");
        gw__relay_free(c);
        return;
    }
    if (!reply || reply->type != REDIS_REPLY_STRING ||
        sscanf(reply->str, "%lld:%lld", &uid, &tid) != 2 || uid <= 0 || tid <= 0) {
        gw__relay_fail(c, 401, "invalid_request_error", "invalid_api_key", "invalid token");
        gw__relay_free(c);
        return;
    }
    char uk[64], tk[64];
    c->key.uid = uid;
    c->key.tid = tid;
    gw_key_user(uk, sizeof uk, uid);
    gw_key_token(tk, sizeof tk, uid, tid);
    c->tsv[0] = c->usv[0] = '\0';
    c->pending_lookups = 3; /* the two replies, and this function */
    if (gw_redis_command(c->w->redis, token_fields, c,
                         "HMGET %s group allow_ips model_limits_enabled model_limits sv", tk) != GW_OK)
        c->pending_lookups--;
    if (gw_redis_command(c->w->redis, user_fields, c, "HMGET %s group role sv", uk) != GW_OK) {
        c->pending_lookups--;
        c->key.bad = GW_KEY_BAD_LOOKUP;
    }
    key_found(c);
}

/* The token key from the places the reference reads it (§3 TokenAuth). */
static const char *client_key(gw_req *r)
{
    const char *h = gw_req_header(r, "authorization");
    if (h && strncasecmp(h, "Bearer ", 7) == 0)
        h += 7;
    if (!h || !*h)
        h = gw_req_header(r, "x-api-key");
    if (!h || !*h)
        h = gw_req_header(r, "x-goog-api-key");
    if (!h || !*h)
        h = gw_req_query(r, "key");
    while (h && *h == ' ')
        h++;
    return h && *h ? h : NULL;
}

/* Parses the key: "sk-KEY" or "sk-KEY-CHANNELID" (pinning a channel, for
 * admins only: checked once the owner's role is known). */
int gw__relay_resolve_key(struct rcall *c)
{
    const char *k = client_key(c->r);
    char key[160];
    if (!k) {
        gw__relay_fail(c, 401, "invalid_request_error", "invalid_api_key",
                       "no API key provided: send Authorization: Bearer sk-...");
        return GW_EINVAL;
    }
    if (strncmp(k, "sk-", 3) == 0)
        k += 3;
    if (strlen(k) >= sizeof key) {
        gw__relay_fail(c, 401, "invalid_request_error", "invalid_api_key", "invalid token");
        return GW_EINVAL;
    }
    snprintf(key, sizeof key, "%s", k);
    char *dash = strchr(key, '-');
    if (dash) {
        *dash = '\0';
        if (gw_str_to_ll(gw_str_c(dash + 1), 1, (long long)1 << 53, &c->pinned) != GW_OK) {
            gw__relay_fail(c, 401, "invalid_request_error", "invalid_api_key", "invalid token");
            return GW_EINVAL;
        }
    }
    unsigned char sha[32];
    gw_sha256(key, strlen(key), sha);
    gw_hex_encode(sha, sizeof sha, c->keyhash);
    return GW_OK;
}

void gw__relay_begin(struct rcall *c)
{
    if (!c->after_key)
        c->after_key = authorize;
    if (!c->key_fresh && gw__relay_key_get(c->w, c->keyhash, &c->key) == GW_OK) {
        c->key_cached = 1;
        c->after_key(c);
        return;
    }
    char ik[80];
    gw_key_token_lookup(ik, sizeof ik, c->keyhash);
    if (gw_redis_command(c->w->redis, key_index, c, "GET %s", ik) != GW_OK) {
        gw__relay_fail(c, 503, "new_api_error", "state_unavailable",
                       "the quota service is unavailable, retry shortly");
        gw__relay_free(c);
    }
}
