/* The relay's edges: the route handlers (parse the request once), the
 * UPSTREAM and RELAY states (curl transfer callbacks, SSE passed through event
 * by event, retry and auto-disable decisions, the mid-stream budget) and the
 * client-abort path. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <uv.h>
#include <curl/curl.h>
#include "adapters/adapter.h"
#include "gateway/state/options.h"
#include "gateway/core/alloc.h"
#include "gateway/core/clock.h"
#include "gateway/core/dest.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"
#include "gateway/core/log.h"
#include "gateway/http/sse.h"
#include "gateway/relay/relay.h"
#include "gateway/relay/relay_call.h"
#include "gateway/relay/request.h"
#include "gateway/state/config_watch.h"
#include "gateway/state/ledger.h"
#include "gateway/worker.h"

#define ERROR_BODY_MAX ((size_t)64 * 1024)
#define DEFAULT_RETRY_RANGES "100-199,300-399,401-407,409-499,500-503,505-523,525-599"

/* ---- retry and auto-disable decisions ---------------------------------------------- */

static int in_ranges(const char *ranges, int status)
{
    gw_str rest = gw_str_c(ranges), tok;
    while (gw_str_split(&rest, ',', &tok)) {
        long long lo, hi;
        tok = gw_str_trim(tok);
        const char *dash = memchr(tok.base, '-', tok.len);
        gw_str a = dash ? (gw_str){tok.base, (size_t)(dash - tok.base)} : tok;
        gw_str b = dash ? (gw_str){dash + 1, tok.len - (size_t)(dash - tok.base) - 1} : tok;
        if (gw_str_to_ll(gw_str_trim(a), 0, 999, &lo) == GW_OK &&
            gw_str_to_ll(gw_str_trim(b), 0, 999, &hi) == GW_OK && status >= lo && status <= hi)
            return 1;
    }
    return 0;
}

static int should_retry(struct rcall *c, int status)
{
    if (c->pinned || c->state == GW_RS_RELAY)
        return 0;
    if (c->attempt > gw_options_int(c->w->cfgwatch, "RetryTimes", 0))
        return 0;
    if (status < 100 || status > 599)
        return 1;
    const char *ranges = gw_options_value(c->w->cfgwatch, "AutomaticRetryStatusCodes");
    return in_ranges(ranges && *ranges ? ranges : DEFAULT_RETRY_RANGES, status);
}

static const char *const disable_keywords[] = {
    "Your credit balance is too low", "This organization has been disabled.",
    "You exceeded your current quota", "Permission denied",
    "The security token included in the request is invalid", "Operation not allowed",
    "Your account is not authorized",
};

static int should_disable(struct rcall *c, int status, const char *msg)
{
    if (!c->ch->auto_ban || !gw_options_bool(c->w->cfgwatch, "AutomaticDisableChannelEnabled", 0))
        return 0;
    const char *codes = gw_options_value(c->w->cfgwatch, "AutomaticDisableStatusCodes");
    if (in_ranges(codes && *codes ? codes : "401", status))
        return 1;
    for (size_t i = 0; i < sizeof disable_keywords / sizeof disable_keywords[0]; i++)
        if (strcasestr(msg, disable_keywords[i]))
            return 1;
    return 0;
}

struct disable_job {
    uv_work_t work;
    struct gw_worker *w;
    long long cid;
    int rc;
};

static void disable_run(uv_work_t *wk)
{
    struct disable_job *j = wk->data;
    gw_store *st;
    if ((j->rc = gw_store_pool_get(j->w->pool, &st)) != GW_OK)
        return;
    gw_sql_arg a[1] = {GW_SQL_INT(j->cid)};
    gw_sql_arg b[2] = {GW_SQL_INT(0), GW_SQL_INT(j->cid)};
    if ((j->rc = gw_store_begin(st)) == GW_OK &&
        (j->rc = gw_store_exec(st, "UPDATE channels SET status = 3 WHERE id = ? AND status = 1", a,
                               1, NULL)) == GW_OK &&
        (j->rc = gw_store_exec(st, "UPDATE abilities SET enabled = ? WHERE channel_id = ?", b, 2,
                               NULL)) == GW_OK)
        j->rc = gw_store_commit(st);
    if (j->rc != GW_OK)
        gw_store_rollback(st);
    gw_store_pool_put(j->w->pool, st);
}

static void disable_done(uv_work_t *wk, int status)
{
    struct disable_job *j = wk->data;
    if (j->rc == GW_OK) {
        GW_WARN("channel %lld auto-disabled (status 3)", j->cid);
        gw_cfgwatch_bump(j->w->cfgwatch); /* every worker reloads its routing table */
    } else {
        GW_ERROR("auto-disable of channel %lld failed: %s", j->cid, gw_strerror(j->rc));
    }
    gw_free(j);
}

static void record_health(struct rcall *c, int ok) { gw__relay_health(c->w, c->ch->id, ok); }

static void disable_channel(struct gw_worker *w, long long cid)
{
    gw__relay_mark_down(w, cid); /* this worker stops using it at once */
    struct disable_job *j = gw_calloc(1, sizeof *j);
    if (!j)
        return;
    j->w = w;
    j->cid = cid;
    j->work.data = j;
    if (uv_queue_work(&w->loop, &j->work, disable_run, disable_done) != 0)
        gw_free(j);
}

/* ---- RELAY: transfer callbacks ------------------------------------------------------- */

static void on_headers(gw_xfer *x, int status, const char *ctype, void *data)
{
    struct rcall *c = data;
    c->up_status = status;
    if (status == 200 && c->stream && gw_req_alive(c->r) && c->state == GW_RS_UPSTREAM)
        gw__relay_to(c, GW_RS_RELAY); /* in SPEC, the release begins it */
}

static int on_data(gw_xfer *x, const char *p, size_t n, void *data)
{
    struct rcall *c = data;
    c->got_bytes += n;
    if (c->up_status == 200 && c->stream) {
        if (!gw_req_alive(c->r) || c->budget == GW_BUDGET_CUT)
            return GW_ECLOSED;
        if (c->state == GW_RS_SPEC)
            return GW_EAGAIN; /* curl keeps it; resumed once authorized */
        if (gw_resp_queued(c->r) > GW_OUT_HIGH_WM)
            return GW_EAGAIN; /* resumed from on_drain */
        if (gw__relay_budget_wait(c, n))
            return GW_EAGAIN; /* could pass the reservation: extend.lua answers first */
        /* The first event goes out before the rest of its packet is parsed:
         * feed up to its end, pause, and skip that prefix when curl hands the
         * same bytes back after the write (on_drain resumes). */
        size_t first = 0;
        if (c->held_prefix) { /* curl may hand it back in smaller pieces */
            size_t k = c->held_prefix < n ? c->held_prefix : n;
            c->held_prefix -= k;
            p += k;
            n -= k;
        } else if (!c->first_out && n) {
            const char *e = memmem(p, n, "\n\n", 2);
            const char *e2 = memmem(p, n, "\r\n\r\n", 4);
            c->first_out = 1;
            if (e2 && (!e || e2 < e))
                first = (size_t)(e2 - p) + 4;
            else if (e)
                first = (size_t)(e - p) + 2;
            if (first && first < n) {
                int rc = gw_sse_parser_feed(&c->sse, p, first);
                if (rc != GW_OK)
                    return rc < 0 ? rc : GW_ECLOSED;
                if (gw_resp_queued(c->r) > 0) { /* its write brings on_drain */
                    c->held_prefix = first;
                    return GW_EAGAIN;
                }
                p += first; /* dropped (e.g. a usage chunk): go on */
                n -= first;
            }
        }
        int rc = gw_sse_parser_feed(&c->sse, p, n);
        if (rc != GW_OK)
            return rc < 0 ? rc : GW_ECLOSED;
        gw__relay_check_budget(c);
        return GW_OK;
    }
    size_t cap = c->up_status == 200 ? GW_RELAY_BODY_MAX : ERROR_BODY_MAX;
    if (c->up_body.len + n > cap)
        return c->up_status == 200 ? GW_ETOOBIG : GW_OK; /* keep the head of an error */
    return gw_buf_append(&c->up_body, p, n);
}

static void upstream_failed(struct rcall *c, int status, const char *msg, const char *code)
{
    int mapped = gw_status_map(c->ch->status_code_mapping, status);
    snprintf(c->last_error, sizeof c->last_error, "%s", msg);
    snprintf(c->last_code, sizeof c->last_code, "%s", code);
    c->last_status = mapped >= 400 && mapped <= 599 ? mapped : 502;
    record_health(c, 0);
    if (should_disable(c, mapped, msg))
        disable_channel(c->w, c->ch->id);
    gw_upstream_req_free(&c->ureq);
    gw_buf_reset(&c->up_body);
    c->x = NULL;
    if (gw_req_alive(c->r) && should_retry(c, mapped)) {
        gw__relay_to(c, GW_RS_ROUTE);
        return;
    }
    gw__relay_upstream_gave_up(c);
}

void gw__relay_upstream_gave_up(struct rcall *c)
{
    c->failed_before_output = 1; /* settled with actual 0: the reservation goes back */
    if (strcmp(c->last_code, "bad_response_body") == 0)
        c->content = "the upstream's reply was unusable: not billed";
    const char *type = c->last_status == 400                         ? "invalid_request_error"
                       : strcmp(c->last_code, "not_implemented") == 0 ? "not_implemented"
                                                                      : "upstream_error";
    gw__relay_fail(c, c->last_status, type, c->last_code, c->last_error);
    gw__relay_to(c, GW_RS_SETTLE);
}

/* What a client may read of a transport failure: curl's text names hosts
 * and ports ("Failed to connect to 10.0.0.7 port 8080", "Could not resolve
 * host: ollama.internal"), so it goes to the gateway log with the channel,
 * and the call (and its log row) gets a fixed text by kind. */
static const char *transport_error(struct rcall *c, int result, const char *detail)
{
    if (c->budget != GW_BUDGET_CUT && gw_req_alive(c->r)) /* not our own stop */
        GW_WARN("channel %lld: upstream %s: %s", c->ch->id,
                result == GW_EPERM ? "destination refused" : "transfer failed",
                detail ? detail : gw_strerror(result));
    switch (result) {
    case GW_EPERM:
        return "the channel's upstream address is not allowed by the destination policy";
    case GW_ETIMEDOUT:
        return "upstream timed out";
    default:
        return c->up_status == 0 ? "upstream connection failed" : "upstream response incomplete";
    }
}

void gw__relay_finish(struct rcall *c, int result, const char *errmsg)
{
    gw_req *r = c->r;
    const struct gw_format *up = gw_format_of(c->wire);
    const char *body = c->up_body.base ? c->up_body.base : "";
    gw_req_set_callbacks(r, NULL, NULL, NULL);
    if (result != GW_OK)
        errmsg = transport_error(c, result, errmsg);
    if (c->up_status == 200 && c->stream) { /* else upstream_failed() or below */
        record_health(c, result == GW_OK);
        gw__relay_stream_end(c, result, errmsg);
        gw__relay_to(c, GW_RS_SETTLE);
        return;
    }
    if (result != GW_OK && c->up_status == 0) { /* no response at all */
        upstream_failed(c, 502, errmsg ? errmsg : "upstream connection failed", "bad_gateway");
        return;
    }
    if (c->up_status != 200) { /* read in the upstream wire's error shape */
        char msg[300] = "", code[64] = "";
        const struct gw_format *ef = up->parse_error ? up : &gw_format_chat;
        if (ef->parse_error(body, c->up_body.len, msg, sizeof msg, code, sizeof code) != GW_OK ||
            !msg[0])
            snprintf(msg, sizeof msg, "upstream answered HTTP %d", c->up_status);
        gw_str_utf8_fix(msg); /* the upstream's text, maybe cut or not UTF-8 */
        upstream_failed(c, c->up_status, msg, code[0] ? code : "upstream_error");
        return;
    }
    if (result != GW_OK) { /* 200 but cut short or too big */
        upstream_failed(c, 502, errmsg ? errmsg : "upstream response incomplete", "bad_response_body");
        return;
    }
    /* A 200 that is no answer (an SSE stream to a non-stream call, an HTML
     * page from a proxy) is a bad upstream, retried elsewhere, and never
     * passed on as if it were JSON. Converting, the new body is rendered
     * before anything is sent, so a body the codec cannot read is that too. */
    json_t *conv = NULL;
    int bad = c->mode == GW_RELAY_EMBEDDINGS && (c->convert || c->wire == GW_WIRE_GEMINI)
                  ? gw__relay_embed_response(c, body, c->up_body.len, &conv) != GW_OK
              : up->usage(body, c->up_body.len, &c->usage) != GW_OK ||
                  (c->convert && gw_format_convert_response(up, c->in, body, c->up_body.len,
                                                             c->model, &conv) != GW_OK);
    if (bad) {
        upstream_failed(c, 502, "the upstream answered 200 with a body that is not the expected "
                                "JSON response", "bad_response_body");
        return;
    }
    record_health(c, 1);
    c->t_first_us = gw_clock_mono_us();
    if (gw_req_alive(r) && conv)
        gw_resp_json(r, 200, conv);
    else if (gw_req_alive(r)) /* the same format: the bytes as they came */
        gw_resp_send(r, 200, "application/json", body, c->up_body.len);
    if (!c->convert && c->wire == GW_WIRE_RESPONSES) /* its GET/DELETE go to this channel */
        gw__responses_remember(c->w, body, c->up_body.len, c->ch->id, c->key.uid);
    json_decref(conv);
    gw__relay_to(c, GW_RS_SETTLE);
}

static void on_done(gw_xfer *x, int result, const char *errmsg, void *data)
{
    struct rcall *c = data;
    c->x = NULL;
    if (c->state == GW_RS_SPEC) { /* finished before its authorize reply */
        c->held = GW_HELD_DONE;
        c->held_result = result;
        snprintf(c->held_err, sizeof c->held_err, "%s", errmsg ? errmsg : "");
        return;
    }
    gw__relay_finish(c, result, errmsg);
}

/* The client left: stop the upstream now and settle for what was used. */
static void on_abort(gw_req *r, void *data)
{
    struct rcall *c = data;
    if (c->x) {
        gw_xfer_abort(c->x);
        c->x = NULL;
    }
    if (!c->got_bytes || c->state == GW_RS_SPEC)
        c->failed_before_output = 1; /* nothing was delivered */
    gw__relay_to(c, GW_RS_SETTLE);
}

static void on_drain(gw_req *r, void *data)
{
    struct rcall *c = data;
    if (c->x)
        gw_xfer_resume(c->x);
}

/* ---- UPSTREAM ------------------------------------------------------------------------------ */

/* gw_client_headers_cb: the client's request headers, for header_override
 * ({client_header:Name}, "*" and "re:" passthrough) and the User-Agent the
 * reference passes on. The request keeps them for its whole life, so a
 * retry on another channel sees the same list. */
void gw__relay_client_headers(void *ctx, gw_header_visit_cb visit, void *data)
{
    gw_req *r = ctx;
    size_t n = gw_req_header_count(r);
    for (size_t i = 0; i < n; i++) {
        const struct gw_req_field *f = gw_req_header_at(r, i);
        if (f && visit(f->name, f->value, data))
            return;
    }
}

/* Records why this attempt cannot go (answered if every channel fails). */
static int cannot(struct rcall *c, int rc, int status, const char *code, const char *msg)
{
    snprintf(c->last_error, sizeof c->last_error, "%s", msg);
    snprintf(c->last_code, sizeof c->last_code, "%s", code);
    c->last_status = status;
    return rc;
}

/* 1 (with why) when a codec member this attempt needs is not written: the
 * channel is skipped like one whose request cannot be built, and the call
 * gets a 501 in its own format if no other channel can serve it. */
static int unsupported(const struct rcall *c, const struct gw_format *up, char *why, size_t len)
{
    const struct gw_format *in = c->in;
    const char *need = NULL;
    int embed = c->mode == GW_RELAY_EMBEDDINGS && (c->convert || c->wire == GW_WIRE_GEMINI);
    if (c->convert && c->mode != GW_RELAY_CHAT && !embed) {
        snprintf(why, len, "this request in the %s format cannot go to a channel speaking %s: "
                 "not implemented", in->name, up->name);
        return 1;
    }
    if (embed)
        return 0; /* relay_embed.c: its own conversions, no usage from Gemini */
    if (c->stream ? !up->decode : !up->usage)
        need = c->stream ? "decode" : "usage";
    else if (c->convert && c->stream && !in->encode)
        need = "encode";
    else if (c->convert && !c->stream && (!up->resp_to_hub || !in->resp_from_hub))
        need = !up->resp_to_hub ? "resp_to_hub" : "resp_from_hub";
    if (!need && c->test_codec_missing) /* GW_TEST_HOOKS */
        need = c->test_codec_missing;
    if (!need)
        return 0;
    snprintf(why, len, "relaying the %s format to a %s channel is not implemented yet (%s of "
             "the %s format)", in->name, up->name, need,
             strcmp(need, "encode") == 0 || strcmp(need, "resp_from_hub") == 0 ? in->name
                                                                                : up->name);
    gw_str_utf8_fix(why); /* a test hook's text */
    return 1;
}

int gw__relay_precheck(const struct rcall *c, const struct gw_channel *ch, char *why, size_t len)
{
    const struct gw_channel_type *ct = gw_channel_type(ch->type);
    if (!ct || !ct->adapter || c->mode != GW_RELAY_CHAT)
        return GW_OK;
    struct gw_relay_call call = {
        .mode = c->mode,
        .wire = c->in->wire,
        .model = c->model,
        .upstream_model = c->model,
        .stream = c->stream,
        .chat_to_responses_policy =
            gw_options_value(c->w->cfgwatch, "global.chat_completions_to_responses_policy"),
        .responses_to_chat_policy =
            gw_options_value(c->w->cfgwatch, "global.responses_to_chat_completions_policy"),
    };
    enum gw_wire wire = ct->adapter->wire ? ct->adapter->wire(ch, &call) : GW_WIRE_CHAT;
    if (wire == c->in->wire)
        return GW_OK; /* the fast path refuses nothing */
    struct gw_conv_opts co = {.upstream_model = c->model, .stream = c->stream};
    json_t *out = NULL;
    int rc = gw_format_convert_request(c->in, gw_format_of(wire), c->body, &c->pf, &co, &out, why,
                                       len);
    json_decref(out);
    return rc == GW_EINVAL ? GW_EINVAL : GW_OK;
}

int gw__relay_start_upstream(struct rcall *c)
{
    static const struct gw_xfer_cbs cbs = {on_headers, on_data, on_done};
    const struct gw_channel_type *ct = gw_channel_type(c->ch->type);
    char err[256], base[512];
    int kidx;
    if (!ct || !ct->adapter) {
        snprintf(c->last_error, sizeof c->last_error, "channel type %d is not supported yet",
                 c->ch->type);
        snprintf(c->last_code, sizeof c->last_code, "channel:type_not_supported");
        c->last_status = 501;
        return GW_ENOTSUP;
    }
    const char *key = gw_channel_pick_key(c->ch, &c->w->relay->rng, &kidx);
    if (!key) {
        snprintf(c->last_error, sizeof c->last_error, "channel %lld has no enabled key", c->ch->id);
        snprintf(c->last_code, sizeof c->last_code, "channel:no_available_key");
        c->last_status = 503;
        return GW_ENOTFOUND;
    }
    int mrc = gw_model_map(c->ch->model_mapping, c->model, c->upstream_model,
                           sizeof c->upstream_model);
    if (mrc != GW_OK) {
        snprintf(c->last_error, sizeof c->last_error,
                 mrc == GW_ETOOBIG ? "model_mapping of channel %lld maps to a name over 191 bytes"
                                   : "model_mapping of channel %lld has a cycle",
                 c->ch->id);
        snprintf(c->last_code, sizeof c->last_code,
                 mrc == GW_ETOOBIG ? "model_mapping_invalid" : "model_mapping_contains_cycle");
        c->last_status = 500;
        return GW_EINVAL;
    }
    /* The wire: the adapter's choice given the client's format. */
    struct gw_relay_call call = {
        .mode = c->mode,
        .wire = c->in->wire,
        .model = c->model,
        .upstream_model = c->upstream_model,
        .stream = c->stream,
        .inject_usage = c->stream && (ct->flags & GW_CT_STREAM_OPTIONS) &&
                        gw_options_bool(c->w->cfgwatch, "FORCE_STREAM_OPTION", 1),
        .api_key = key,
        .client_headers = gw__relay_client_headers,
        .client_headers_ctx = c->r,
        .chat_to_responses_policy =
            gw_options_value(c->w->cfgwatch, "global.chat_completions_to_responses_policy"),
        .responses_to_chat_policy =
            gw_options_value(c->w->cfgwatch, "global.responses_to_chat_completions_policy"),
    };
    c->wire = ct->adapter->wire ? ct->adapter->wire(c->ch, &call) : GW_WIRE_CHAT;
    c->convert = c->wire != c->in->wire;
    const struct gw_format *up = gw_format_of(c->wire);
    char msg[300];
    if (unsupported(c, up, msg, sizeof msg))
        return cannot(c, GW_ENOTSUP, 501, "not_implemented", msg);
    /* The body for that wire: the client's own (model mapped) on the same
     * format, else through the hub; a fresh tree per attempt. */
    struct gw_conv_opts co = {.upstream_model = c->upstream_model, .stream = c->stream,
                              .include_usage = call.inject_usage};
    json_t *body = NULL;
    int rc = c->mode == GW_RELAY_EMBEDDINGS && c->convert
                 ? gw__relay_embed_request(c, &body, msg, sizeof msg)
                 : gw_format_convert_request(c->in, up, c->body, &c->pf, &co, &body, msg,
                                             sizeof msg);
    if (rc == GW_EINVAL) /* the client's request cannot be said in that wire */
        return cannot(c, rc, 400, "invalid_request", msg);
    if (rc == GW_ENOTSUP)
        return cannot(c, rc, 501, "not_implemented", msg);
    if (rc != GW_OK)
        return cannot(c, rc, 500, "channel:request_build_failed",
                      "cannot build the upstream request: out of memory");
    call.wire = c->wire;
    call.path = c->convert ? NULL : c->client_path;
    call.body = body;
    gw_upstream_req_free(&c->ureq);
    gw_upstream_req_init(&c->ureq);
    rc = ct->adapter->build(c->ch, gw_channel_base_url(c->ch, ct, base, sizeof base), &call,
                            &c->ureq, err, sizeof err);
    json_decref(body);
    if (rc != GW_OK) {
        snprintf(c->last_error, sizeof c->last_error, "cannot build the upstream request: %s",
                 rc == GW_ENOMEM ? "out of memory" : err);
        snprintf(c->last_code, sizeof c->last_code, "channel:request_build_failed");
        c->last_status = 500;
        return rc;
    }
    struct gw_dest_policy dest;
    if (gw__relay_dest(c->w, c->ch, c->ureq.url.base, c->ureq.proxy.len ? c->ureq.proxy.base : NULL,
                       &dest, err, sizeof err) != GW_OK) {
        snprintf(c->last_error, sizeof c->last_error, "%s", transport_error(c, GW_EPERM, err));
        snprintf(c->last_code, sizeof c->last_code, "channel:destination_refused");
        c->last_status = 502;
        return GW_EPERM;
    }
    struct gw_xfer_opts o = {
        .method = "POST",
        .url = c->ureq.url.base,
        .headers = c->ureq.headers,
        .body = c->ureq.body.base,
        .body_len = c->ureq.body.len,
        .proxy = c->ureq.proxy.len ? c->ureq.proxy.base : NULL, /* channel setting.proxy */
        .connect_timeout_ms = 10000,
        .idle_timeout_s = c->w->cfg->streaming_timeout ? c->w->cfg->streaming_timeout : 300,
        .stream = c->stream, /* a small receive buffer: memory per held stream */
        .dest = &dest,       /* copied by gw_xfer_start */
    };
    c->up_status = 0;
    gw_buf_reset(&c->up_body);
    gw_sse_parser_free(&c->sse);
    gw_sse_parser_init(&c->sse, GW_RELAY_SSE_LINE_MAX, GW_RELAY_SSE_LINE_MAX,
                       gw__relay_stream_event, c);
    memset(&c->dec, 0, sizeof c->dec);
    memset(&c->enc, 0, sizeof c->enc);
    c->saw_end = 0;
    if (gw_xfer_start(c->w->up, &o, &cbs, c, &c->x) != GW_OK) {
        snprintf(c->last_error, sizeof c->last_error, "cannot start the upstream transfer");
        snprintf(c->last_code, sizeof c->last_code, "bad_gateway");
        c->last_status = 502;
        return GW_EIO;
    }
    gw_req_set_callbacks(c->r, on_abort, on_drain, c);
    return GW_OK;
}

