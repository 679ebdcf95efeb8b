/* Endpoints used only by the integration tests (GW_TEST_HOOKS=true): worker
 * counters, a streaming pass-through from an upstream URL (exercises the SSE
 * writer, backpressure and upstream abort on client disconnect), a delayed
 * response (drain on shutdown) and a WebSocket echo. With hooks off they all
 * answer 404, as if they did not exist. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>
#include "gateway/api/api.h"
#include "gateway/core/alloc.h"
#include "gateway/core/err.h"
#include "gateway/http/http.h"
#include "gateway/http/router.h"
#include "gateway/http/upstream.h"
#include "gateway/state/redis.h"
#include "gateway/worker.h"

static int hooks_off(gw_req *r)
{
    if (r->worker->cfg->test_hooks)
        return 0;
    gw_resp_send(r, 404, "text/plain; charset=utf-8", "404 page not found", 18);
    return 1;
}

void gw_test_stats(gw_req *r)
{
    if (hooks_off(r))
        return;
    struct gw_worker *w = r->worker;
    json_t *j = json_pack("{s:i, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "worker", w->id, "pid",
                          (int)getpid(), "requests", (json_int_t)w->stats.requests, "live_reqs",
                          (json_int_t)w->stats.live_reqs, "aborted",
                          (json_int_t)w->stats.aborted, "accepted",
                          (json_int_t)w->stats.accepted, "rejected",
                          (json_int_t)w->stats.rejected, "live_xfers",
                          (json_int_t)gw_upstream_live(w->up), "upstream_pauses",
                          (json_int_t)w->stats.upstream_pauses);
    struct gw_upstream_stats us;
    gw_upstream_get_stats(w->up, &us);
    json_object_set_new(j, "upstream_connects", json_integer((json_int_t)us.connects));
    json_object_set_new(j, "dest_refused", json_integer((json_int_t)us.dest_refused));
    struct gw_redis_stats rs;
    gw_redis_get_stats(w->redis, &rs); /* live reads: one pipelined write per page */
    json_object_set_new(j, "redis_sent", json_integer((json_int_t)rs.sent));
    json_object_set_new(j, "redis_flushes", json_integer((json_int_t)rs.flushes));
    gw_resp_json(r, 200, j);
    json_decref(j);
}

/* The route table with its guards, for the route-table test. */
void gw_test_routes(gw_req *r)
{
    const struct gw_route *routes = gw_http_app()->routes;
    size_t n = gw_http_app()->nroutes;
    if (hooks_off(r))
        return;
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_pack("{s:i, s:s, s:i}", "methods", routes[i].methods,
                                           "pattern", routes[i].pattern, "min_role",
                                           routes[i].authed ? routes[i].min_role : 0));
    gw_resp_json(r, 200, a);
    json_decref(a);
}

/* ---- streaming pass-through ---------------------------------------------- */

struct pass {
    gw_req *r;
    gw_xfer *x;
    int echo_headers; /* ?echo_headers=1: name the request headers seen after the stream */
};

static void pass_headers(gw_xfer *x, int status, const char *ctype, void *data)
{
    struct pass *p = data;
    gw_resp_stream_begin(p->r, status, gw_arena_strdup(p->r->arena, ctype ? ctype : "text/event-stream"));
}

static int pass_data(gw_xfer *x, const char *buf, size_t n, void *data)
{
    struct pass *p = data;
    if (!gw_req_alive(p->r))
        return GW_ECLOSED;
    if (gw_resp_queued(p->r) > GW_OUT_HIGH_WM) {
        p->r->worker->stats.upstream_pauses++;
        return GW_EAGAIN;
    } /* paused until the client drains (on_drain) */
    return gw_resp_stream_write(p->r, buf, n);
}

static void pass_done(gw_xfer *x, int result, const char *errmsg, void *data)
{
    struct pass *p = data;
    gw_req *r = p->r;
    gw_req_set_callbacks(r, NULL, NULL, NULL);
    if (gw_req_alive(r)) {
        if (r->streaming && p->echo_headers) {
            /* read after the stream began: lws's header table is released then */
            const char *ua = gw_req_header(r, "user-agent"), *px = gw_req_header(r, "x-probe");
            const char *line = gw_arena_printf(r->arena, "\n[user-agent=%s x-probe=%s]",
                                               ua ? ua : "(none)", px ? px : "(none)");
            gw_resp_stream_write(r, line, strlen(line));
        }
        if (r->streaming)
            gw_resp_stream_end(r);
        else
            gw_resp_openai_error(r, 502, "upstream_error", errmsg ? errmsg : "upstream failed");
    }
    gw_free(p);
    gw_req_unref(r);
}

static void pass_abort(gw_req *r, void *data)
{
    struct pass *p = data;
    gw_xfer_abort(p->x); /* frees curl's side now; no on_done */
    gw_free(p);
    gw_req_unref(r);
}

static void pass_drain(gw_req *r, void *data)
{
    struct pass *p = data;
    gw_xfer_resume(p->x);
}

void gw_test_stream(gw_req *r)
{
    static const struct gw_xfer_cbs cbs = {pass_headers, pass_data, pass_done};
    if (hooks_off(r))
        return;
    const char *url = gw_req_query(r, "url");
    if (!url || strncmp(url, "http://127.0.0.1:", 17) != 0) {
        gw_resp_openai_error(r, 400, "invalid_request_error", "url must be http://127.0.0.1:...");
        return;
    }
    struct pass *p = gw_calloc(1, sizeof *p);
    if (!p) {
        gw_resp_openai_error(r, 500, "server_error", "out of memory");
        return;
    }
    struct gw_xfer_opts o = {.method = "GET", .url = url};
    const char *eh = gw_req_query(r, "echo_headers");
    p->echo_headers = eh && strcmp(eh, "1") == 0;
    p->r = r;
    gw_req_ref(r);
    if (gw_xfer_start(r->worker->up, &o, &cbs, p, &p->x) != GW_OK) {
        gw_free(p);
        gw_req_unref(r);
        gw_resp_openai_error(r, 502, "upstream_error", "cannot start the upstream transfer");
        return;
    }
    gw_req_set_callbacks(r, pass_abort, pass_drain, p);
}

/* ---- delayed answer -------------------------------------------------------- */

struct delay {
    uv_timer_t t;
    gw_req *r;
    long ms;
};

static void delay_closed(uv_handle_t *h)
{
    struct delay *d = h->data;
    gw_req_unref(d->r);
    gw_free(d);
}

static void delay_fire(uv_timer_t *t)
{
    struct delay *d = t->data;
    gw_req_set_callbacks(d->r, NULL, NULL, NULL);
    json_t *j = json_pack("{s:I}", "slept_ms", (json_int_t)d->ms);
    gw_resp_json(d->r, 200, j);
    json_decref(j);
    uv_close((uv_handle_t *)&d->t, delay_closed);
}

static void delay_abort(gw_req *r, void *data)
{
    struct delay *d = data;
    uv_timer_stop(&d->t);
    uv_close((uv_handle_t *)&d->t, delay_closed);
}

void gw_test_delay(gw_req *r)
{
    long long ms = 0;
    if (hooks_off(r))
        return;
    const char *v = gw_req_query(r, "ms");
    if (!v || gw_str_to_ll(gw_str_c(v), 0, 60000, &ms) != GW_OK) {
        gw_resp_openai_error(r, 400, "invalid_request_error", "ms must be 0..60000");
        return;
    }
    struct delay *d = gw_calloc(1, sizeof *d);
    if (!d) {
        gw_resp_openai_error(r, 500, "server_error", "out of memory");
        return;
    }
    d->r = r;
    d->ms = (long)ms;
    gw_req_ref(r);
    uv_timer_init(&r->worker->loop, &d->t);
    d->t.data = d;
    uv_timer_start(&d->t, delay_fire, (uint64_t)ms, 0);
    gw_req_set_callbacks(r, delay_abort, NULL, d);
}

/* Echoes method, path, query, body length and its SHA-free checksum, and
 * every request header as [name, value] pairs in the order received. */
void gw_test_echo(gw_req *r)
{
    if (hooks_off(r))
        return;
    unsigned long sum = 0;
    for (size_t i = 0; i < r->body.len; i++)
        sum = sum * 31 + (unsigned char)r->body.base[i];
    json_t *hdrs = json_array();
    for (size_t i = 0; i < gw_req_header_count(r); i++) {
        const struct gw_req_field *f = gw_req_header_at(r, i);
        /* values are bytes as sent: invalid UTF-8 is shown, not refused */
        json_array_append_new(hdrs, json_pack("[s, s%]", f->name, f->value, strlen(f->value)));
    }
    json_t *j = json_pack("{s:s, s:s, s:s, s:I, s:I, s:o}", "method", r->method_name, "path",
                          r->path, "query", r->query, "body_len", (json_int_t)r->body.len,
                          "body_sum", (json_int_t)(sum & 0x7fffffff), "headers", hdrs);
    if (!j) {
        gw_resp_openai_error(r, 400, "invalid_request_error", "not representable as JSON");
        return;
    }
    gw_resp_json(r, 200, j);
    json_decref(j);
}

/* ---- WebSocket echo ---------------------------------------------------------- */

int gw_test_ws_open(gw_ws *c)
{
    return gw_ws_worker(c)->cfg->test_hooks ? 0 : -1;
}

int gw_test_ws_message(gw_ws *c, const void *data, size_t len, int binary)
{
    return gw_ws_send(c, data, len, binary) == GW_OK ? 0 : -1;
}
