/* The relay: one call from a client to an upstream channel, as an explicit
 * state machine. Read top to bottom: the states, the one transition
 * function, the entry (route handlers), AUTH, ROUTE, the speculative
 * start's release, and the errors. The other states live beside it:
 * KEY in relay_key.c, UPSTREAM and RELAY in relay_io.c (transfer) and
 * relay_stream.c (events, budget), SETTLE in relay_settle.c.
 *
 *   entry ─► KEY ─► AUTH ──────────────► ROUTE ─► UPSTREAM ─► RELAY ─► SETTLE ─► DONE
 *             │      │  (authorize sent)   ▲  │     │  (stream      ▲      ▲
 *             │      │                     │  │     │   headers out)│      │
 *             │      └─► SPEC ─────────────┘  │     └── retry ──► ROUTE    │
 *             │   (speculative: upstream runs,│                            │
 *             │    all held until the reply)  └── no channel / gave up ────┘
 *             ├─► DONE (refused before anything was reserved)
 *             └─► UPSTREAM ─► SETTLE (count_tokens on a same-wire channel: free,
 *                                     nothing reserved, so SETTLE only frees)
 *
 * A client that leaves in any state aborts the transfer; the call still
 * settles for what was used. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "adapters/adapter.h"
#include "gateway/state/options.h"
#include "gateway/core/alloc.h"
#include "gateway/core/clock.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"
#include "gateway/core/log.h"
#include "gateway/relay/relay.h"
#include "gateway/relay/relay_call.h"
#include "gateway/relay/request.h"
#include "gateway/state/ledger.h"
#include "gateway/worker.h"

static void route(struct rcall *c);
static void relay_free(struct rcall *c);

/* ---- the transitions ------------------------------------------------------------ */

#define TO(s) (1u << (s))
/* From each state, the states it may go to. */
static const unsigned next_ok[] = {
    [GW_RS_KEY] = TO(GW_RS_KEY) | TO(GW_RS_AUTH) | TO(GW_RS_UPSTREAM) /* count_tokens */ |
                  TO(GW_RS_DONE),
    [GW_RS_AUTH] = TO(GW_RS_SPEC) | TO(GW_RS_ROUTE) | TO(GW_RS_SETTLE) | TO(GW_RS_DONE),
    [GW_RS_SPEC] = TO(GW_RS_ROUTE) | TO(GW_RS_UPSTREAM) | TO(GW_RS_SETTLE) | TO(GW_RS_DONE),
    [GW_RS_ROUTE] = TO(GW_RS_ROUTE) | TO(GW_RS_UPSTREAM) | TO(GW_RS_SETTLE),
    [GW_RS_UPSTREAM] = TO(GW_RS_ROUTE) | TO(GW_RS_RELAY) | TO(GW_RS_SETTLE),
    [GW_RS_RELAY] = TO(GW_RS_SETTLE),
    [GW_RS_SETTLE] = TO(GW_RS_SETTLE) | TO(GW_RS_DONE),
    [GW_RS_DONE] = 0,
};

static const char *const state_name[] = {
    [GW_RS_KEY] = "KEY", [GW_RS_AUTH] = "AUTH", [GW_RS_SPEC] = "SPEC",
    [GW_RS_ROUTE] = "ROUTE", [GW_RS_UPSTREAM] = "UPSTREAM", [GW_RS_RELAY] = "RELAY",
    [GW_RS_SETTLE] = "SETTLE", [GW_RS_DONE] = "DONE",
};

/* The one place a call changes state, and each state's entry action. Two
 * requests are absorbed here rather than at every caller: SETTLE during
 * SPEC (the client left before the authorize reply: held until it comes)
 * and SETTLE during SETTLE (a second end, e.g. the client leaving while the
 * settle is out: the first one counts). */
void gw__relay_to(struct rcall *c, enum gw_rstate to)
{
    enum gw_rstate from = c->state;
    if (to == GW_RS_SETTLE && from == GW_RS_SPEC) {
        c->held = GW_HELD_SETTLE;
        return;
    }
    if (to == GW_RS_SETTLE && from == GW_RS_SETTLE)
        return;
    if (!(next_ok[from] & TO(to))) /* a bug: say so, and still end the call's way */
        GW_ERROR("relay: transition %s -> %s is not in the machine rid=%s", state_name[from],
                 state_name[to], c->r->rid);
    c->state = to;
    switch (to) {
    case GW_RS_SPEC:
    case GW_RS_ROUTE:
        route(c);
        break;
    case GW_RS_RELAY:
        gw__relay_stream_begin(c);
        break;
    case GW_RS_SETTLE:
        gw__relay_settle(c);
        break;
    case GW_RS_DONE:
        relay_free(c);
        break;
    default: /* KEY, AUTH, UPSTREAM: their work is the caller's */
        break;
    }
}

/* ---- entry: the route handlers ---------------------------------------------------- */

static void authorize(struct rcall *c);

/* A header value holding CR, LF or NUL could split the request a channel
 * forwards it in (header_override passthrough): the call is refused with a
 * 400 naming the header, whatever the channel does with it. */
static int client_headers_bad(struct rcall *c)
{
    size_t n = gw_req_header_count(c->r);
    for (size_t i = 0; i < n; i++) {
        const struct gw_req_field *f = gw_req_header_at(c->r, i);
        if (f && strpbrk(f->value, "\r\n")) {
            char msg[160];
            snprintf(msg, sizeof msg, "header %.64s contains a CR or LF character", f->name);
            gw__relay_fail(c, 400, "invalid_request_error", "invalid_request", msg);
            return 1;
        }
    }
    return 0;
}

/* A query parameter named name ("key" matches "key" and "key=..."). */
static int param_is(gw_str p, const char *name)
{
    size_t n = strlen(name);
    return p.len >= n && memcmp(p.base, name, n) == 0 && (p.len == n || p.base[n] == '=');
}

/* The path (and query) the same-format path sends up. Chat: the path as
 * before. Others keep their query (Anthropic's ?beta=true) but never the
 * client's key=, and a Gemini stream always asks for SSE upstream (a
 * client without ?alt=sse gets it framed back as a JSON array). NULL when
 * the query is too long to carry. */
static const char *client_path(gw_req *r, const struct gw_format *in, int stream)
{
    if (in == &gw_format_chat)
        return r->path;
    char q[2048];
    size_t n = 0;
    int gemini = in->wire == GW_WIRE_GEMINI;
    gw_str rest = gw_str_c(r->query ? r->query : ""), tok;
    while (gw_str_split(&rest, '&', &tok)) {
        if (!tok.len || param_is(tok, "key") || (gemini && param_is(tok, "alt")))
            continue;
        if (n + tok.len + 2 >= sizeof q)
            return NULL;
        q[n] = n ? '&' : '?';
        n++;
        memcpy(q + n, tok.base, tok.len);
        n += tok.len;
    }
    q[n] = '\0';
    if (gemini && stream)
        return gw_arena_printf(r->arena, "%s%s%salt=sse", r->path, q, n ? "&" : "?");
    return gw_arena_printf(r->arena, "%s%s", r->path, q);
}

struct rcall *gw__relay_call_new(gw_req *r, void (*after_key)(struct rcall *c),
                                size_t body_max, size_t line_max)
{
    struct rcall *c = gw_calloc(1, sizeof *c);
    if (!c) {
        gw_resp_openai_error(r, 500, "new_api_error", "out of memory");
        return NULL;
    }
    c->r = r;
    c->w = r->worker;
    c->after_key = after_key;
    c->content = "";
    snprintf(c->ip, sizeof c->ip, "%s", gw_req_peer(r));
    gw_buf_init(&c->up_body, body_max);
    gw_sse_parser_init(&c->sse, line_max, line_max, NULL, c);
    gw_req_ref(r);
    gw__relay_refresh(c->w);
    return c;
}

/* The playground's "group" field: taken out of the body (it is the
 * gateway's, never the upstream's) into c->pg_group; KEY checks it. 1 when
 * the call was refused. */
static int pg_take_group(struct rcall *c)
{
    json_t *g = json_object_get(c->body, "group");
    if (!g || json_is_null(g)) {
        json_object_del(c->body, "group");
        return 0;
    }
    const char *s = json_string_value(g);
    if (!s || strlen(s) >= sizeof c->pg_group) {
        gw__relay_fail(c, 400, "invalid_request_error", "invalid_request",
                       s ? "field 'group' is too long" : "field 'group' must be a string");
        return 1;
    }
    snprintf(c->pg_group, sizeof c->pg_group, "%s", s);
    json_object_del(c->body, "group");
    return 0;
}

/* Every relayed call starts here: the client's format (in), what its path
 * says (pf), and the operation (mode); count_only for count_tokens. pg_uid:
 * the playground's signed-in user (no token key), else 0. */
static void relay_entry(gw_req *r, enum gw_relay_mode mode, const struct gw_format *in,
                        const struct gw_path_facts *pf, int count_only, long long pg_uid)
{
    struct rcall *c = gw__relay_call_new(r, count_only ? gw__relay_count : authorize,
                                         GW_RELAY_BODY_MAX, GW_RELAY_SSE_LINE_MAX);
    if (!c)
        return;
    c->mode = mode;
    c->in = in;
    c->pf = *pf;
    c->count_only = count_only;
    c->t0_us = gw_clock_mono_us();
    c->pg = pg_uid > 0;
    c->key.uid = pg_uid;
    if (!c->pg && gw__relay_resolve_key(c) != GW_OK) {
        gw__relay_to(c, GW_RS_DONE);
        return;
    }
    if (client_headers_bad(c)) {
        gw__relay_to(c, GW_RS_DONE);
        return;
    }
    struct gw_relay_request q;
    char msg[260];
    const char *ctype = gw_req_header(r, "content-type");
    int rc = in == &gw_format_chat
                 ? gw_relay_request_parse(mode, ctype, r->body.base, r->body.len, &q, msg,
                                          sizeof msg)
                 : gw_relay_request_parse_as(in, pf, mode == GW_RELAY_CHAT && !count_only, ctype,
                                             r->body.base, r->body.len, &q, msg, sizeof msg);
    if (rc == GW_OK && !(c->client_path = client_path(r, in, q.stream))) {
        json_decref(q.body);
        rc = GW_EINVAL;
        snprintf(msg, sizeof msg, "the query string is too long");
    }
    if (rc != GW_OK) {
        if (rc == GW_ENOTSUP)
            gw__relay_fail(c, 501, "not_implemented", "not_implemented", msg);
        else
            gw__relay_fail(c, 400, "invalid_request_error", "invalid_request", msg);
        gw__relay_to(c, GW_RS_DONE);
        return;
    }
    c->body = q.body;
    if (c->pg && pg_take_group(c)) {
        gw__relay_to(c, GW_RS_DONE);
        return;
    }
    if (c->pg) /* upstream it is a chat completion like any other */
        c->client_path = "/v1/chat/completions";
    _Static_assert(sizeof c->model == sizeof q.model, "model buffers differ");
    memcpy(c->model, q.model, sizeof c->model);
    snprintf(c->upstream_model, sizeof c->upstream_model, "%s", c->model);
    gw__relay_settle_hooks(c);
    if (c->w->cfg->test_hooks)
        c->test_codec_missing = gw_req_header(r, "x-test-codec-missing");
    c->stream = q.stream;
    c->client_usage = q.client_usage;
    c->max_tokens = q.max_tokens;
    c->json_array = in->wire == GW_WIRE_GEMINI && c->stream && !pf->gemini_sse;
    gw__relay_begin(c);
}

static const struct gw_path_facts no_path_facts;

void gw_relay_chat(gw_req *r)
{
    relay_entry(r, GW_RELAY_CHAT, &gw_format_chat, &no_path_facts, 0, 0);
}
void gw_relay_completions(gw_req *r)
{
    relay_entry(r, GW_RELAY_COMPLETIONS, &gw_format_chat, &no_path_facts, 0, 0);
}
void gw_relay_embeddings(gw_req *r)
{
    relay_entry(r, GW_RELAY_EMBEDDINGS, &gw_format_chat, &no_path_facts, 0, 0);
}
void gw_relay_moderations(gw_req *r)
{
    relay_entry(r, GW_RELAY_MODERATIONS, &gw_format_chat, &no_path_facts, 0, 0);
}
void gw_relay_messages(gw_req *r)
{
    relay_entry(r, GW_RELAY_CHAT, &gw_format_messages, &no_path_facts, 0, 0);
}
void gw_relay_messages_count(gw_req *r)
{
    relay_entry(r, GW_RELAY_CHAT, &gw_format_messages, &no_path_facts, 1, 0);
}
void gw_relay_responses(gw_req *r)
{
    relay_entry(r, GW_RELAY_CHAT, &gw_format_responses, &no_path_facts, 0, 0);
}
void gw_relay_playground(gw_req *r, long long uid)
{
    relay_entry(r, GW_RELAY_CHAT, &gw_format_chat, &no_path_facts, 0, uid);
}

/* An error before any call exists, in the format's shape. */
static void early_error(gw_req *r, const struct gw_format *in, int status, const char *type,
                        const char *code, const char *msg)
{
    const struct gw_format *f = in->error_body ? in : &gw_format_chat;
    json_t *j = f->error_body(status, type, code, msg);
    gw_resp_json(r, status, j);
    json_decref(j);
}

/* POST /v1beta/models/{model}:{action} (and /v1/models/...): the model is
 * what lies between "/models/" and the first ':' after it (the
 * reference's extractModelNameFromGeminiPath), the action says the rest. */
void gw_relay_gemini(gw_req *r)
{
    const char *m = strstr(r->path, "/models/");
    const char *colon = m ? strchr(m + 8, ':') : NULL;
    if (!colon || colon == m + 8) {
        early_error(r, &gw_format_gemini, 404, "invalid_request_error", "not_found",
                    "expected /v1beta/models/{model}:{action}");
        return;
    }
    const char *action = colon + 1, *alt = gw_req_query(r, "alt");
    struct gw_path_facts pf = {.model = gw_arena_strndup(r->arena, m + 8, (size_t)(colon - m - 8))};
    if (strcmp(action, "generateContent") == 0) {
        relay_entry(r, GW_RELAY_CHAT, &gw_format_gemini, &pf, 0, 0);
    } else if (strcmp(action, "streamGenerateContent") == 0) {
        pf.stream = 1;
        pf.gemini_sse = alt && strcmp(alt, "sse") == 0;
        relay_entry(r, GW_RELAY_CHAT, &gw_format_gemini, &pf, 0, 0);
    } else if (strcmp(action, "countTokens") == 0) {
        relay_entry(r, GW_RELAY_CHAT, &gw_format_gemini, &pf, 1, 0);
    } else if (strcmp(action, "embedContent") == 0 || strcmp(action, "batchEmbedContents") == 0) {
        relay_entry(r, GW_RELAY_EMBEDDINGS, &gw_format_gemini, &pf, 0, 0);
    } else {
        char msg[200];
        snprintf(msg, sizeof msg, "action %.*s is not implemented by this gateway",
                 (int)gw_str_utf8_cut(gw_str_c(action), 100), action);
        early_error(r, &gw_format_gemini, 501, "not_implemented", "not_implemented", msg);
    }
}

void gw_relay_not_implemented(gw_req *r)
{
    char msg[300];
    snprintf(msg, sizeof msg, "%s %.*s is not implemented by this gateway yet", r->method_name,
             (int)gw_str_utf8_cut(gw_str_c(r->path), 200), r->path);
    gw_resp_openai_error(r, 501, "not_implemented", msg);
}

/* ---- AUTH ------------------------------------------------------------------------- */

static void spec_release(struct rcall *c);
static void spec_cancel(struct rcall *c);
static void authorized(const struct gw_auth_result *res, void *data);

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
        gw__relay_to(c, GW_RS_DONE);
        return;
    }
    const char *using = c->key.token_group[0] ? c->key.token_group : c->key.user_group;
    snprintf(c->group, sizeof c->group, "%s", using[0] ? using : "default");
    /* No channel at all: 503 naming the model, before any price question
     * (the reference selects the channel before pricing too). */
    struct gw_route_ref *ref = gw__relay_route_ref(c->w);
    uint64_t probe = 1;
    struct gw_channel *first = ref && !c->pinned ? gw_routing_pick(ref->table, c->group, c->model,
                                                                   0, NULL, 0, NULL, NULL, &probe)
                                                 : NULL;
    int routable = ref && (c->pinned || first);
    /* A request the first channel's wire cannot express is a 400 now, before
     * anything is reserved (no log row for a malformed request). */
    char why[300];
    int refused = first && gw__relay_precheck(c, first, why, sizeof why) == GW_EINVAL;
    gw__relay_route_unref(ref);
    if (refused) {
        gw__relay_fail(c, 400, "invalid_request_error", "invalid_request", why);
        gw__relay_to(c, GW_RS_DONE);
        return;
    }
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
        gw__relay_to(c, GW_RS_DONE);
        return;
    }
    if (strchr(c->model, ',')) { /* authorize.lua's model limits are comma-separated */
        gw__relay_fail(c, 400, "invalid_request_error", "invalid_request",
                       "field 'model' may not contain ','");
        gw__relay_to(c, GW_RS_DONE);
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
        gw__relay_to(c, GW_RS_DONE);
        return;
    }
    c->prompt_est = gw__relay_estimate(c, c->body);
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
        gw__relay_to(c, GW_RS_DONE);
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
        .group = c->group, /* read by the ledger only without a token (tid 0) */
    };
    gw__relay_to(c, GW_RS_AUTH);
    if (gw_ledger_authorize(c->w->redis, &a, authorized, c) != GW_OK) {
        gw__relay_fail(c, 503, "new_api_error", "state_unavailable",
                       "the quota service is unavailable, retry shortly");
        gw__relay_to(c, GW_RS_DONE);
        return;
    }
    /* SPECULATIVE_AUTH: the upstream round trip overlaps the authorize one;
     * everything waits in GW_RS_SPEC until authorized() says yes. (The
     * reply may have come already, when the send failed inside.) */
    if (c->w->cfg->speculative_auth && c->key.spec_ok && !c->pinned && c->state == GW_RS_AUTH) {
        c->route = gw__relay_route_ref(c->w);
        gw__relay_to(c, GW_RS_SPEC);
    }
}



/* The same request as a new call, as relay_entry left it (settings changed:
 * it starts over at KEY with fields read afresh). */
struct rcall *gw__relay_clone(const struct rcall *c)
{
    struct rcall *n = gw_calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->r = c->r;
    n->w = c->w;
    n->mode = c->mode;
    n->in = c->in;
    n->pf = c->pf;
    n->client_path = c->client_path;
    n->count_only = c->count_only;
    n->json_array = c->json_array;
    n->body = json_incref(c->body);
    memcpy(n->model, c->model, sizeof n->model);
    memcpy(n->upstream_model, c->model, sizeof n->upstream_model);
    n->stream = c->stream;
    n->client_usage = c->client_usage;
    n->max_tokens = c->max_tokens;
    memcpy(n->ip, c->ip, sizeof n->ip);
    n->content = c->content;
    memcpy(n->keyhash, c->keyhash, sizeof n->keyhash);
    n->pinned = c->pinned;
    n->after_key = c->after_key;
    n->pg = c->pg;
    memcpy(n->pg_group, c->pg_group, sizeof n->pg_group);
    if (c->pg)
        n->key.uid = c->key.uid; /* the session's user: KEY reads the rest */
    n->t0_us = c->t0_us;
    n->test_settle_bad = c->test_settle_bad;
    n->test_settle_down = c->test_settle_down;
    n->test_codec_missing = c->test_codec_missing;
    gw_buf_init(&n->up_body, GW_RELAY_BODY_MAX);
    gw_sse_parser_init(&n->sse, GW_RELAY_SSE_LINE_MAX, GW_RELAY_SSE_LINE_MAX, NULL, n);
    gw_req_ref(n->r);
    return n;
}

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
    int spec = c->state == GW_RS_SPEC;
    if (!c->pg)
        gw__relay_key_hint(c->w, c->keyhash, ample(res, c->reserved));
    if ((res->status != GW_OK || !res->ok) && spec)
        spec_cancel(c);
    if (res->status != GW_OK) {
        gw__relay_fail(c, 503, "new_api_error", "state_unavailable",
                       "the quota service is unavailable, retry shortly");
        gw__relay_to(c, GW_RS_DONE);
        return;
    }
    if (!res->ok && res->reason == GW_REFUSE_SETTINGS_CHANGED) {
        /* The cached groups, IP list or role are stale and nothing was
         * reserved: the same request starts over with fields read afresh (a
         * new call, so no state of a cancelled speculative start remains). */
        if (!c->pg)
            gw__relay_key_drop(c->w, c->keyhash);
        struct rcall *n = c->key_rereads < 2 && gw_req_alive(c->r) && c->held != GW_HELD_SETTLE
                              ? gw__relay_clone(c)
                              : NULL;
        if (n) {
            n->key_fresh = 1;
            n->key_rereads = c->key_rereads + 1;
            gw__relay_to(c, GW_RS_DONE);
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
        gw__relay_to(c, GW_RS_DONE);
        return;
    }
    c->res_id = res->res_id;
    c->deadline_ms = res->deadline_ms;
    if (spec) {
        snprintf(c->group, sizeof c->group, "%s", res->group);
        spec_release(c);
        return;
    }
    if (!gw_req_alive(c->r)) { /* left while we reserved */
        c->failed_before_output = 1;
        gw__relay_to(c, GW_RS_SETTLE);
        return;
    }
    snprintf(c->group, sizeof c->group, "%s", res->group);
    c->route = gw__relay_route_ref(c->w);
    gw__relay_to(c, GW_RS_ROUTE);
}

/* ---- ROUTE ------------------------------------------------------------------------ */

static int tried(const struct rcall *c, long long id)
{
    for (int i = 0; i < c->ntried; i++)
        if (c->tried[i] == id)
            return 1;
    return 0;
}

/* GW_RS_ROUTE (and GW_RS_SPEC): picks the next channel and starts the
 * transfer; on no channel answers 503. */
static void route(struct rcall *c)
{
    struct gw_channel *ch = NULL;
    int spec = c->state == GW_RS_SPEC;
    if (spec && !c->route) {
        c->held = GW_HELD_ROUTE; /* the error waits for the authorize reply */
        return;
    }
    if (!c->route) {
        gw__relay_fail(c, 503, "new_api_error", "model_not_found",
                       "the routing table is not loaded yet, retry shortly");
        gw__relay_to(c, GW_RS_SETTLE);
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
    if (!ch && spec) {
        c->held = GW_HELD_ROUTE; /* a refusal would answer instead: wait for it */
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
        gw__relay_to(c, GW_RS_SETTLE);
        return;
    }
    c->ch = ch;
    if (c->ntried < GW_RELAY_MAX_TRIES)
        c->tried[c->ntried++] = ch->id;
    c->attempt++;
    if (gw__relay_start_upstream(c) == GW_OK) {
        if (!spec)
            gw__relay_to(c, GW_RS_UPSTREAM);
    } else if (c->last_status == 400) {
        /* The client's request cannot be said in this channel's wire: the
         * answer is the refusal (in SPEC, once authorized). */
        if (spec)
            c->held = GW_HELD_ROUTE;
        else
            gw__relay_upstream_gave_up(c);
    } else {
        route(c); /* a channel that cannot even build its request: try the next */
    }
}

/* ---- the speculative start's end ------------------------------------------------ */

/* The authorize reply refused it or failed: the transfer is dropped unseen. */
static void spec_cancel(struct rcall *c)
{
    if (c->x) {
        gw_xfer_abort(c->x);
        c->x = NULL;
    }
    gw_req_set_callbacks(c->r, NULL, NULL, NULL);
}

/* The authorize reply said yes: deliver what was held. */
static void spec_release(struct rcall *c)
{
    enum gw_held held = c->held;
    c->held = GW_HELD_NONE;
    if (!gw_req_alive(c->r) || held == GW_HELD_SETTLE) { /* left while we reserved */
        spec_cancel(c);
        c->failed_before_output = 1;
        gw__relay_to(c, GW_RS_UPSTREAM); /* out of SPEC: SETTLE is not held again */
        gw__relay_to(c, GW_RS_SETTLE);
    } else if (held == GW_HELD_ROUTE) {
        gw__relay_to(c, GW_RS_ROUTE); /* fails again, now with the final answer */
    } else if (held == GW_HELD_DONE) {
        gw__relay_to(c, GW_RS_UPSTREAM);
        gw__relay_finish(c, c->held_result, c->held_err[0] ? c->held_err : NULL);
    } else {
        gw__relay_to(c, GW_RS_UPSTREAM);
        if (c->up_status == 200 && c->stream)
            gw__relay_to(c, GW_RS_RELAY);
        if (c->x)
            gw_xfer_resume(c->x); /* may deliver held events right here */
    }
}

/* ---- errors and the end --------------------------------------------------------- */

void gw__relay_fail(struct rcall *c, int status, const char *type, const char *code,
                    const char *msg)
{
    gw_req *r = c->r;
    if (!gw_req_alive(r) || r->status)
        return;
    char full[600];
    snprintf(full, sizeof full, "%s (request id: %s)", msg, r->rid);
    const struct gw_format *f = c->in && c->in->error_body ? c->in : &gw_format_chat;
    json_t *j = f->error_body(status, type, code, full);
    if (status == 429 && c->retry_after_s > 0)
        gw_resp_header(r, "retry-after", gw_arena_printf(r->arena, "%lld", c->retry_after_s));
    gw_resp_json(r, status, j);
    json_decref(j);
}

static void relay_free(struct rcall *c)
{
    gw_req *r = c->r;
    if (r->cb_data == c) /* the client may still leave later: never call into a freed call */
        gw_req_set_callbacks(r, NULL, NULL, NULL);
    gw__relay_route_unref(c->route);
    if (c->convert && c->in->stream_free)
        c->in->stream_free(&c->enc);
    gw_upstream_req_free(&c->ureq);
    gw_buf_free(&c->up_body);
    gw_sse_parser_free(&c->sse);
    json_decref(c->body);
    gw__key_info_release(&c->key);
    gw_free(c);
    gw_req_unref(r);
}

