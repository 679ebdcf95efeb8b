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

uint64_t gw__now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

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

void gw__relay_stream_begin(struct rcall *c)
{
    gw_sse_begin(c->r);
    /* Committed to this channel: no retry rebuilds the request now, so the
     * parsed and the raw request body go (memory per held stream). */
    json_decref(c->body);
    c->body = NULL;
    gw_buf_free(&c->r->body);
}

static void on_headers(gw_xfer *x, int status, const char *ctype, void *data)
{
    struct rcall *c = data;
    c->up_status = status;
    if (status == 200 && c->stream && gw_req_alive(c->r) && c->state == GW_RS_UPSTREAM)
        gw__relay_to(c, GW_RS_RELAY); /* in SPEC, the release begins it */
}

static void budget_cut(struct rcall *c);

/* What the stream has cost so far, as settle will count it without upstream
 * usage; -1 when the price does not grow with the stream. */
static long long running_cost(const struct rcall *c, size_t delta_chars)
{
    if (c->price.use_price || c->price.free)
        return -1;
    struct gw_usage u = {.prompt = c->prompt_est, .completion = (long long)(delta_chars + 3) / 4};
    return gw_billing_quota(&c->price, &u);
}

static int forward_event(const struct gw_sse_event *ev, void *data)
{
    struct rcall *c = data;
    const struct gw_channel_type *ct = gw_channel_type(c->ch->type);
    size_t before = c->delta_chars;
    enum gw_stream_action act =
        ct->adapter->stream_event(ev, c->client_usage, &c->usage, &c->delta_chars);
    if (!c->t_first_us)
        c->t_first_us = gw__now_us();
    if (act == GW_STREAM_DROP)
        return 0;
    if (c->budget == GW_BUDGET_SPENT && c->delta_chars != before && running_cost(c, c->delta_chars) > c->reserved) {
        /* The budget is spent: this event is not delivered, so the charge
         * (settle) is exactly what was. */
        c->delta_chars = before;
        budget_cut(c);
        return GW_ECLOSED;
    }
    char name[64]; /* on the stack: memory per stream stays flat */
    if (ev->event.len >= sizeof name)
        return GW_EINVAL;
    memcpy(name, ev->event.base, ev->event.len);
    name[ev->event.len] = '\0';
    if (gw_sse_event(c->r, ev->event.len ? name : NULL, ev->data.base, ev->data.len) != GW_OK)
        return GW_ECLOSED;
    return 0;
}

static void budget_cut(struct rcall *c)
{
    static const char ev[] =
        "{\"error\":{\"message\":\"quota exhausted during the stream: the response was cut and "
        "billed for what was delivered\",\"type\":\"insufficient_quota\",\"code\":"
        "\"insufficient_user_quota\"}}";
    c->budget = GW_BUDGET_CUT;
    gw_sse_event(c->r, NULL, ev, sizeof ev - 1);
    gw_sse_event(c->r, NULL, "[DONE]", 6);
}

static void extended(const struct gw_extend_result *res, void *data)
{
    struct rcall *c = data;
    c->extending = 0;
    if (res->status == GW_OK && res->ok) {
        c->reserved = res->amount; /* doubled, or grown by what was left */
        c->deadline_ms = res->deadline_ms;
    } else if (res->status == GW_OK && res->reason != GW_REFUSE_RES_NOT_FOUND) {
        /* Nothing left to grow by: the stream goes on until the delivered
         * cost reaches the reservation (forward_event cuts it there). */
        c->budget = GW_BUDGET_SPENT;
        if (gw_req_alive(c->r) && c->state == GW_RS_RELAY &&
            running_cost(c, c->delta_chars) > c->reserved)
            budget_cut(c); /* delivered past it while we asked: the transfer ends now */
    } else if (res->status == GW_OK && c->budget != GW_BUDGET_CUT && gw_req_alive(c->r) &&
               c->state == GW_RS_RELAY) {
        budget_cut(c); /* reaped: the transfer ends at its next data callback */
    } /* a Redis hiccup: try again at the next event */
    gw_req_unref(c->r);
}

/* Mid-stream budget: extend the reservation before the running cost passes
 * it (doubling it, or by what the budget still holds); and renew its deadline
 * while the stream is alive, so that only a dead worker's reservations are
 * reaped. */
static void check_budget(struct rcall *c)
{
    long long ttl = (long long)c->w->cfg->reservation_ttl * 1000, now = gw__now_ms_wall();
    long long extra = 0;
    if (c->extending || c->budget == GW_BUDGET_CUT)
        return;
    long long cost = running_cost(c, c->delta_chars);
    if (c->budget == GW_BUDGET_GROWS && cost >= 0 && cost * 5 >= c->reserved * 4) { /* 80% used */
        extra = c->reserved > 0 ? c->reserved : 1;
        if (extra > GW_LEDGER_QUOTA_MAX - c->reserved)
            extra = GW_LEDGER_QUOTA_MAX - c->reserved; /* extend.lua's bound */
        if (extra <= 0) {
            extra = 0;
            c->budget = GW_BUDGET_SPENT; /* no budget holds more */
        }
    }
    if (!extra && now < c->deadline_ms - ttl / 2)
        return;
    struct gw_extend_req e = {.uid = c->key.uid, .tid = c->key.tid, .res_id = c->res_id,
                              .extra = extra, .ttl_ms = ttl, .now_ms = now};
    gw_req_ref(c->r);
    c->extending = 1;
    if (gw_ledger_extend(c->w->redis, &e, extended, c) != GW_OK) {
        c->extending = 0;
        gw_req_unref(c->r);
    }
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
        check_budget(c);
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
    gw__relay_fail(c, c->last_status, "upstream_error", c->last_code, c->last_error);
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
    const struct gw_channel_type *ct = gw_channel_type(c->ch->type);
    gw_req_set_callbacks(r, NULL, NULL, NULL);
    if (result != GW_OK)
        errmsg = transport_error(c, result, errmsg);
    if (c->up_status == 200 && c->stream) /* else upstream_failed() or below */
        record_health(c, result == GW_OK);
    if (c->up_status == 200 && c->stream) {
        gw_sse_parser_finish(&c->sse);
        if (gw_req_alive(r) && !r->finished)
            gw_resp_stream_end(r);
        gw__relay_to(c, GW_RS_SETTLE);
        return;
    }
    if (result != GW_OK && c->up_status == 0) { /* no response at all */
        upstream_failed(c, 502, errmsg ? errmsg : "upstream connection failed", "bad_gateway");
        return;
    }
    if (c->up_status != 200) {
        char msg[300] = "", code[64] = "";
        if (ct->adapter->parse_error(c->up_body.base ? c->up_body.base : "", c->up_body.len, msg,
                                     sizeof msg, code, sizeof code) != GW_OK || !msg[0])
            snprintf(msg, sizeof msg, "upstream answered HTTP %d", c->up_status);
        gw_str_utf8_fix(msg); /* the upstream's text, maybe cut or not UTF-8 */
        upstream_failed(c, c->up_status, msg, code[0] ? code : "upstream_error");
        return;
    }
    if (result != GW_OK) { /* 200 but cut short or too big */
        upstream_failed(c, 502, errmsg ? errmsg : "upstream response incomplete", "bad_response_body");
        return;
    }
    if (ct->adapter->parse_response(c->up_body.base ? c->up_body.base : "", c->up_body.len,
                                    &c->usage) != GW_OK) {
        /* A 200 that is no answer (an SSE stream to a non-stream call, an
         * HTML page from a proxy): a bad upstream, retried elsewhere, and
         * never passed on as if it were JSON. */
        upstream_failed(c, 502, "the upstream answered 200 with a body that is not the expected "
                                "JSON response", "bad_response_body");
        return;
    }
    record_health(c, 1);
    c->t_first_us = gw__now_us();
    if (gw_req_alive(r))
        gw_resp_send(r, 200, "application/json", c->up_body.base, c->up_body.len);
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
static void each_client_header(void *ctx, gw_header_visit_cb visit, void *data)
{
    gw_req *r = ctx;
    size_t n = gw_req_header_count(r);
    for (size_t i = 0; i < n; i++) {
        const struct gw_req_field *f = gw_req_header_at(r, i);
        if (f && visit(f->name, f->value, data))
            return;
    }
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
    json_t *copy = json_deep_copy(c->body); /* a fresh body per attempt */
    struct gw_relay_call call = {
        .mode = c->mode,
        .path = c->r->path,
        .body = copy,
        .model = c->model,
        .upstream_model = c->upstream_model,
        .stream = c->stream,
        .inject_usage = c->stream && (ct->flags & GW_CT_STREAM_OPTIONS) &&
                        gw_options_bool(c->w->cfgwatch, "FORCE_STREAM_OPTION", 1),
        .api_key = key,
        .client_headers = each_client_header,
        .client_headers_ctx = c->r,
    };
    gw_upstream_req_free(&c->ureq);
    gw_upstream_req_init(&c->ureq);
    int rc = copy ? ct->adapter->build(c->ch, gw_channel_base_url(c->ch, ct, base, sizeof base),
                                       &call, &c->ureq, err, sizeof err)
                  : GW_ENOMEM;
    json_decref(copy);
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
    gw_sse_parser_init(&c->sse, GW_RELAY_SSE_LINE_MAX, GW_RELAY_SSE_LINE_MAX, forward_event, c);
    if (gw_xfer_start(c->w->up, &o, &cbs, c, &c->x) != GW_OK) {
        snprintf(c->last_error, sizeof c->last_error, "cannot start the upstream transfer");
        snprintf(c->last_code, sizeof c->last_code, "bad_gateway");
        c->last_status = 502;
        return GW_EIO;
    }
    gw_req_set_callbacks(c->r, on_abort, on_drain, c);
    return GW_OK;
}

