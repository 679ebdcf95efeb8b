/* RELAY for streams: each upstream SSE event goes to the upstream wire's
 * decoder (adapters/format.h); its typed events feed the meter (usage, the
 * delivered text for the mid-stream budget and estimation) and, when the
 * client speaks another format, the client format's encoder, whose output
 * is framed here: SSE for every client but a Gemini one without ?alt=sse,
 * which gets a JSON array. On the same-format path the raw event is
 * forwarded untouched. The mid-stream budget (extend.lua) lives here too. */
#include <stdio.h>
#include <string.h>
#include "adapters/format.h"
#include "gateway/core/clock.h"
#include "gateway/core/err.h"
#include "gateway/core/log.h"
#include "gateway/http/sse.h"
#include "gateway/relay/relay_call.h"
#include "gateway/state/ledger.h"
#include "gateway/worker.h"

#define BUDGET_CUT_MSG \
    "quota exhausted during the stream: the response was cut and billed for what was delivered"
#define OVER_BUDGET GW_EPERM /* on_ev: this piece would pass the reservation */
#define EXTEND_ASKED 1       /* rcall.extending: extend.lua is asked */
#define EXTEND_PAUSED 2      /* ... and the transfer waits for its answer */

/* RELAY's entry action: the client's stream begins. */
void gw__relay_stream_begin(struct rcall *c)
{
    if (c->json_array)
        gw_resp_stream_begin(c->r, 200, "application/json");
    else
        gw_sse_begin(c->r);
    /* Committed to this channel: no retry rebuilds the request now, so the
     * parsed and the raw request body go (memory per held stream). */
    json_decref(c->body);
    c->body = NULL;
    gw_buf_free(&c->r->body);
}

/* gw_out_cb: one client event, framed for the client. */
static int out_frame(const char *event, const char *data, size_t len, void *ctx)
{
    struct rcall *c = ctx;
    int rc;
    if (c->json_array) { /* "[" first, ",\r\n" between (as Google's own arrays) */
        rc = gw_resp_stream_write(c->r, c->nout ? ",\r\n" : "[", c->nout ? 3 : 1);
        if (rc == GW_OK)
            rc = gw_resp_stream_write(c->r, data, len);
    } else {
        rc = gw_sse_event(c->r, event, data, len);
    }
    c->nout++;
    return rc == GW_OK ? 0 : GW_ECLOSED;
}

/* The client format's closing error events (falls back to chat's shape). */
static void stream_error(struct rcall *c, const char *type, const char *code, const char *msg)
{
    const struct gw_format *f = c->in && c->in->stream_error ? c->in : &gw_format_chat;
    f->stream_error(&c->enc, type, code, msg, out_frame, c);
}

static void budget_cut(struct rcall *c)
{
    c->budget = GW_BUDGET_CUT;
    stream_error(c, "insufficient_quota", "insufficient_user_quota", BUDGET_CUT_MSG);
}

/* What the stream has cost so far, as settle will count it without upstream
 * usage; -1 when the price does not grow with the stream. */
static long long running_cost(const struct rcall *c, size_t delta_chars)
{
    if (c->price.use_price || c->price.free)
        return -1;
    struct gw_usage u = {.prompt = c->prompt_est, .completion = (long long)(delta_chars + 3) / 4};
    return gw_billing_quota(&c->price, &u);
}

/* gw_ev_cb: the meter, then (converting) the encoder. */
static int on_ev(const struct gw_ev *ev, void *data)
{
    struct rcall *c = data;
    switch (ev->kind) {
    case GW_EV_USAGE: /* complete so far, not a delta: the last one counts */
        if (ev->usage && ev->usage->present)
            c->usage = *ev->usage;
        break;
    case GW_EV_TEXT:
    case GW_EV_REASONING:
    case GW_EV_TOOL_ARGS: {
        size_t n = c->delta_chars + gw_fmt_code_points(ev->text);
        /* Converting, each piece is delivered as it is encoded: the budget
         * is checked before it (the fast path checks the whole event). */
        if (c->convert && c->budget == GW_BUDGET_SPENT && n != c->delta_chars &&
            running_cost(c, n) > c->reserved)
            return OVER_BUDGET;
        c->delta_chars = n;
        break;
    }
    case GW_EV_END:
        c->saw_end = 1;
        break;
    default:
        break;
    }
    if (!c->convert)
        return 0;
    return c->in->encode(&c->enc, ev, c->model, out_frame, c) ? GW_ECLOSED : 0;
}

int gw__relay_stream_event(const struct gw_sse_event *ev, void *data)
{
    struct rcall *c = data;
    const struct gw_format *up = gw_format_of(c->wire);
    size_t before = c->delta_chars;
    if (!c->t_first_us)
        c->t_first_us = gw_clock_mono_us();
    int act = up->decode(&c->dec, ev, c->client_usage, on_ev, c);
    if (act == OVER_BUDGET) {
        /* The budget is spent: this piece is not delivered, so the charge
         * (settle) is exactly what was. */
        budget_cut(c);
        return GW_ECLOSED;
    }
    if (act < 0)
        return act; /* the client went away */
    if (c->convert || act == GW_DEC_DROP)
        return 0;
    if (c->budget == GW_BUDGET_SPENT && c->delta_chars != before &&
        running_cost(c, c->delta_chars) > c->reserved) {
        c->delta_chars = before;
        budget_cut(c);
        return GW_ECLOSED;
    }
    char name[64]; /* on the stack: memory per stream stays flat */
    if (ev->event.len >= sizeof name)
        return GW_EINVAL;
    memcpy(name, ev->event.base, ev->event.len);
    name[ev->event.len] = '\0';
    if (c->wire == GW_WIRE_RESPONSES && strcmp(name, "response.created") == 0)
        /* the channel that made it serves its GET/DELETE (responses_ops.c) */
        gw__responses_remember(c->w, ev->data.base, ev->data.len, c->ch->id, c->key.uid);
    return out_frame(ev->event.len ? name : NULL, ev->data.base, ev->data.len, c);
}

void gw__relay_stream_end(struct rcall *c, int result, const char *errmsg)
{
    gw_req *r = c->r;
    gw_sse_parser_finish(&c->sse);
    if (!gw_req_alive(r) || r->finished)
        return;
    if (c->budget != GW_BUDGET_CUT) {
        if (result != GW_OK && !c->saw_end) { /* cut short upstream: say so, in its shape */
            stream_error(c, "upstream_error", "upstream_stream_failed",
                         errmsg ? errmsg : "the upstream stream ended early");
        } else if (c->convert && !c->saw_end) {
            struct gw_ev end = {.kind = GW_EV_END};
            c->in->encode(&c->enc, &end, c->model, out_frame, c);
        }
    }
    if (c->json_array)
        gw_resp_stream_write(r, c->nout ? "]" : "[]", c->nout ? 1 : 2);
    gw_resp_stream_end(r);
}

/* ---- the mid-stream budget -------------------------------------------------------- */

static void ask_extension(struct rcall *c, int force);

int gw__relay_budget_wait(struct rcall *c, size_t n)
{
    if (c->budget != GW_BUDGET_GROWS)
        return 0; /* spent: checked event by event; cut: the transfer ends */
    size_t worst = c->delta_chars + n + c->sse.line.len + c->sse.data.len;
    long long cost = running_cost(c, worst);
    if (cost < 0 || cost <= c->reserved)
        return 0;
    if (!c->extending)
        ask_extension(c, 1);
    if (!c->extending)
        return 0; /* not asked (no budget holds more, or Redis refused the send) */
    c->extending = EXTEND_PAUSED;
    return 1;
}

static void extended(const struct gw_extend_result *res, void *data)
{
    struct rcall *c = data;
    int paused = c->extending == EXTEND_PAUSED;
    c->extending = 0;
    if (res->status == GW_OK && res->ok) {
        c->reserved = res->amount; /* doubled, or grown by what was left */
        c->deadline_ms = res->deadline_ms;
    } else if (res->status == GW_OK && res->reason != GW_REFUSE_RES_NOT_FOUND) {
        /* Nothing left to grow by: the stream goes on until the delivered
         * cost reaches the reservation (gw__relay_stream_event cuts it). */
        c->budget = GW_BUDGET_SPENT;
        if (gw_req_alive(c->r) && c->state == GW_RS_RELAY &&
            running_cost(c, c->delta_chars) > c->reserved)
            budget_cut(c); /* delivered past it while we asked: the transfer ends now */
    } else if (res->status == GW_OK && c->budget != GW_BUDGET_CUT && gw_req_alive(c->r) &&
               c->state == GW_RS_RELAY) {
        budget_cut(c); /* reaped: the transfer ends at its next data callback */
    } /* a Redis hiccup: try again at the next event */
    if (paused && c->x && c->state == GW_RS_RELAY)
        gw_xfer_resume(c->x); /* goes on, or ends at once when cut */
    gw_req_unref(c->r);
}

/* Mid-stream budget: extend the reservation before the running cost passes
 * it (doubling it, or by what the budget still holds); and renew its deadline
 * while the stream is alive, so that only a dead worker's reservations are
 * reaped. */
void gw__relay_check_budget(struct rcall *c) { ask_extension(c, 0); }

/* force: the next packet could pass the reservation, whatever is used now. */
static void ask_extension(struct rcall *c, int force)
{
    long long ttl = (long long)c->w->cfg->reservation_ttl * 1000, now = gw_clock_wall_ms();
    long long extra = 0;
    if (c->extending || c->budget == GW_BUDGET_CUT)
        return;
    long long cost = running_cost(c, c->delta_chars);
    if (c->budget == GW_BUDGET_GROWS && cost >= 0 && (force || cost * 5 >= c->reserved * 4)) {
        /* 80% used, or forced */
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
    c->extending = EXTEND_ASKED;
    if (gw_ledger_extend(c->w->redis, &e, extended, c) != GW_OK) {
        c->extending = 0;
        gw_req_unref(c->r);
    }
}
