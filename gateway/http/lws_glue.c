/* The one module that talks to libwebsockets 4.1.6 about HTTP.
 *
 * lws only moves bytes: accepted sockets are adopted in lws's raw role and
 * every HTTP/1.1 request is framed and parsed by head.c, then answered with
 * heads written here. lws's own HTTP/1 server is used only for WebSocket
 * upgrades (accept.c decides). Why: lws 4.1.6's header parser swallows the
 * line after a header whose name is a strict prefix of a name it knows
 * ("X-F", "Us", "Con", ...), and with it the blank line and the next
 * pipelined request (issue 10 part 5); and its h1 server drops or wedges on
 * pipelined requests (P1). The pitfalls of c-core-notes, as they stand now:
 *   P1  gone with lws's h1 server: a connection reads one request, answers
 *       it, then parses the next one from its own buffer, so pipelined
 *       requests are answered in order.
 *   P2  the pss is per connection in the raw role; the request is still
 *       detached from it before it is released.
 *   P3  CLOSE may arrive with user == NULL (kept as a guard).
 *   P4  "Expect: 100-continue" is answered here.
 *   P5  chunked request bodies get 411 and a close; a POST/PUT/PATCH without
 *       Content-Length is served with an empty body, then closed.
 *   P6  streamed responses are chunked here.
 * Each has a regression test in tests/integration/test_http.py. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <uv.h> /* before libwebsockets.h (c-core-notes §1) */
#include <libwebsockets.h>
#include "gateway/core/clock.h"
#include "gateway/core/err.h"
#include "gateway/core/log.h"
#include "gateway/http/head.h"
#include "gateway/http/http.h"
#include "gateway/http/router.h"
#include "gateway/http/ws.h"
#include "gateway/worker.h"

#define WRITE_CHUNK (16 * 1024)
#define HEADER_ROOM 4096
#define STREAM_QUEUE_MAX (8u * 1024 * 1024) /* hard cap if a producer ignores backpressure */
#define IN_SOFT_MAX (64 * 1024)  /* stop reading while this much waits unparsed */
#define IN_MAX (IN_SOFT_MAX + 2 * 32768) /* plus what lws may hand over in flight */
#define IDLE_TIMEOUT_S 60        /* keep-alive: waiting for the next request head */
#define BODY_TIMEOUT_S 30        /* no body byte for this long: give up */

enum conn_state {
    C_HEAD, /* reading a request head */
    C_BODY, /* reading its body */
    C_BUSY, /* dispatched: the next request waits in `in` until this one ends */
    C_DONE, /* answering, then closing: further input is discarded */
};

/* Per connection in the raw role (lws frees it after RAW_CLOSE); per
 * upgrade in the HTTP role, where only `ws` is used. */
struct pss {
    gw_req *r;        /* the transaction being read or answered */
    void *ws;         /* WebSocket connection (ws.c) */
    gw_buf in;        /* received, not yet consumed */
    long long body_left;
    enum conn_state state;
    int paused;       /* rx flow control is off */
};

static unsigned char scratch[LWS_PRE + HEADER_ROOM + WRITE_CHUNK];
static struct gw_http_head parsed; /* one worker thread: parsed in place, copied out at once */

/* Request id in the reference's format: UTC YYYYMMDDhhmmss, nanos % 1e9, and
 * 8 random alphanumerics. A per-worker xorshift is enough: ids need to be
 * unique, not secret. */
static void make_request_id(struct gw_worker *w, char *out, size_t cap)
{
    static const char alnum[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    struct timespec ts;
    struct tm tm;
    char rnd[9];
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    for (int i = 0; i < 8; i++) {
        w->rng ^= w->rng << 13;
        w->rng ^= w->rng >> 7;
        w->rng ^= w->rng << 17;
        rnd[i] = alnum[w->rng % 62];
    }
    rnd[8] = '\0';
    snprintf(out, cap, "%04d%02d%02d%02d%02d%02d%ld%s", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec % 1000000000L, rnd);
}

static void req_free(gw_req *r)
{
    r->worker->stats.live_reqs--;
    gw_buf_free(&r->body);
    gw_buf_free(&r->out);
    gw_arena_free(r->arena);
}

void gw_req_ref(gw_req *r) { r->refs++; }

void gw_req_unref(gw_req *r)
{
    if (--r->refs == 0)
        req_free(r);
}

/* One line per request, written when its last byte is queued or when the
 * client goes away first, never both. */
static void access_log(gw_req *r, int status)
{
    if (r->logged)
        return;
    r->logged = 1;
    if (!r->worker->cfg->access_log)
        return;
    gw_log_access(r->method_name, r->path, status, r->resp_bytes,
                  (long long)(gw_clock_mono_us() - r->t_start_us), r->rid);
}

/* The client is gone (or the transaction ended): cut the request loose from
 * the wsi and drop the connection's reference. A connection that closes
 * after the whole answer was written (close_after) is not an abort. */
static void detach(gw_req *r, struct pss *pss, int aborted)
{
    if (pss)
        pss->r = NULL;
    r->wsi = NULL;
    if (aborted && !r->logged) {
        r->worker->stats.aborted++;
        access_log(r, r->headers_sent ? r->status : 499);
        if (r->on_abort)
            r->on_abort(r, r->cb_data);
    }
    gw_req_unref(r);
}


static gw_req *req_new(struct gw_worker *w, struct lws *wsi)
{
    gw_arena *a = gw_arena_new(4096 - 64); /* one page with malloc's header */
    if (!a)
        return NULL;
    gw_req *r = gw_arena_calloc(a, sizeof *r);
    if (!r) {
        gw_arena_free(a);
        return NULL;
    }
    r->arena = a;
    r->wsi = wsi;
    r->worker = w;
    r->refs = 1;
    r->content_length = -1;
    r->t_start_us = gw_clock_mono_us();
    r->method_name = "?";
    r->path = "/";
    r->query = "";
    gw_buf_init(&r->body, (size_t)w->cfg->max_request_body_mb * 1024 * 1024);
    gw_buf_init(&r->out, STREAM_QUEUE_MAX);
    make_request_id(w, r->rid, sizeof r->rid);
    w->stats.live_reqs++;
    return r;
}

/* ---- request headers and query ------------------------------------------- */

const char *gw_req_header(gw_req *r, const char *name)
{
    gw_str n = gw_str_c(name);
    const char *first = NULL;
    gw_buf joined = {0};
    for (size_t i = 0; i < r->nfields; i++) {
        if (!gw_str_ieq(gw_str_c(r->fields[i].name), n))
            continue;
        if (!first) {
            first = r->fields[i].value;
            continue;
        }
        if (!joined.len) {
            gw_buf_init(&joined, GW_HEAD_MAX);
            gw_buf_appends(&joined, first);
        }
        if (gw_buf_appends(&joined, ", ") || gw_buf_appends(&joined, r->fields[i].value)) {
            gw_buf_free(&joined);
            return NULL; /* cannot happen: the head itself is smaller */
        }
    }
    if (!joined.len)
        return first;
    const char *v = gw_arena_strndup(r->arena, joined.base, joined.len);
    gw_buf_free(&joined);
    return v;
}

size_t gw_req_header_count(const gw_req *r) { return r->nfields; }

const struct gw_req_field *gw_req_header_at(const gw_req *r, size_t i)
{
    return i < r->nfields ? &r->fields[i] : NULL;
}

const char *gw_req_query(gw_req *r, const char *name)
{
    size_t nl = strlen(name);
    gw_str rest = gw_str_c(r->query), tok;
    while (gw_str_split(&rest, '&', &tok)) {
        size_t kl = 0;
        while (kl < tok.len && tok.base[kl] != '=')
            kl++;
        char *key = gw_arena_alloc(r->arena, kl + 1);
        if (!key)
            return NULL;
        if (gw_http_query_decode((gw_str){tok.base, kl}, key, kl + 1) != nl ||
            memcmp(key, name, nl) != 0)
            continue;
        if (kl == tok.len)
            return "";
        gw_str v = {tok.base + kl + 1, tok.len - kl - 1};
        char *out = gw_arena_alloc(r->arena, v.len + 1);
        if (!out)
            return NULL;
        gw_http_query_decode(v, out, v.len + 1);
        return out;
    }
    return NULL;
}

const char *gw_req_peer(gw_req *r)
{
    char ip[64] = "";
    if (r->wsi)
        lws_get_peer_simple(r->wsi, ip, sizeof ip);
    return gw_arena_strdup(r->arena, ip);
}

/* ---- responses ---------------------------------------------------------- */

int gw_resp_header(gw_req *r, const char *name, const char *value)
{
    if (r->nhdr >= GW_MAX_RESP_HEADERS)
        return GW_ETOOBIG;
    r->hdr_name[r->nhdr] = name;
    r->hdr_value[r->nhdr] = value;
    r->nhdr++;
    return GW_OK;
}

int gw_resp_send(gw_req *r, int status, const char *ctype, const void *body, size_t len)
{
    if (!r->wsi)
        return GW_ECLOSED;
    if (r->finished || r->streaming)
        return GW_EINVAL;
    r->status = status;
    r->ctype = ctype;
    r->content_length = (long long)len;
    r->out.max = len + 1; /* a fixed body is already bounded by its producer */
    if (r->method != GW_M_HEAD && len && gw_buf_append(&r->out, body, len) != GW_OK)
        return GW_ENOMEM;
    r->finished = 1;
    lws_callback_on_writable(r->wsi);
    return GW_OK;
}

int gw_resp_stream_begin(gw_req *r, int status, const char *ctype)
{
    if (!r->wsi)
        return GW_ECLOSED;
    if (r->finished || r->streaming)
        return GW_EINVAL;
    r->status = status;
    r->ctype = ctype;
    r->streaming = 1;
    r->content_length = -1;
    lws_callback_on_writable(r->wsi);
    return GW_OK;
}
/* One HTTP/1.1 chunk per write (P6), so each event is flushed on its own. */
int gw_resp_stream_write(gw_req *r, const void *data, size_t len)
{
    char head[20];
    if (!r->wsi)
        return GW_ECLOSED;
    if (!r->streaming || r->finished)
        return GW_EINVAL;
    if (!len)
        return GW_OK; /* a zero-length chunk would end the body */
    int hl = snprintf(head, sizeof head, "%zx\r\n", len);
    size_t before = r->out.len;
    if (gw_buf_append(&r->out, head, (size_t)hl) || gw_buf_append(&r->out, data, len) ||
        gw_buf_append(&r->out, "\r\n", 2)) {
        r->out.len = before;
        return GW_ETOOBIG;
    }
    r->resp_bytes += len;
    lws_callback_on_writable(r->wsi);
    return GW_OK;
}

int gw_resp_stream_end(gw_req *r)
{
    if (!r->wsi)
        return GW_ECLOSED;
    if (!r->streaming || r->finished)
        return GW_EINVAL;
    r->out.max += 5;
    if (gw_buf_append(&r->out, "0\r\n\r\n", 5))
        return GW_ENOMEM;
    r->finished = 1;
    lws_callback_on_writable(r->wsi);
    return GW_OK;
}

size_t gw_resp_queued(const gw_req *r) { return r->out.len; }

void gw_req_set_callbacks(gw_req *r, gw_req_cb on_abort, gw_req_cb on_drain, void *data)
{
    r->on_abort = on_abort;
    r->on_drain = on_drain;
    r->cb_data = data;
}


static const char *reason(int status)
{
    static const struct {
        int code;
        const char *text;
    } t[] = {{100, "Continue"},           {200, "OK"},
             {201, "Created"},            {202, "Accepted"},
             {204, "No Content"},         {206, "Partial Content"},
             {301, "Moved Permanently"},  {302, "Found"},
             {303, "See Other"},          {304, "Not Modified"},
             {307, "Temporary Redirect"}, {308, "Permanent Redirect"},
             {400, "Bad Request"},        {401, "Unauthorized"},
             {402, "Payment Required"},   {403, "Forbidden"},
             {404, "Not Found"},          {405, "Method Not Allowed"},
             {408, "Request Timeout"},    {409, "Conflict"},
             {411, "Length Required"},    {413, "Content Too Large"},
             {415, "Unsupported Media Type"}, {422, "Unprocessable Content"},
             {429, "Too Many Requests"},  {431, "Request Header Fields Too Large"},
             {500, "Internal Server Error"}, {501, "Not Implemented"},
             {502, "Bad Gateway"},        {503, "Service Unavailable"},
             {504, "Gateway Timeout"}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (t[i].code == status)
            return t[i].text;
    return "Status";
}

/* Appends "name: value\r\n"; -1 when it does not fit or would break the
 * framing (a CR or LF in a handler-supplied name or value). */
static int add_hdr(unsigned char **p, unsigned char *end, const char *name, const char *value)
{
    size_t nl = strlen(name), vl = strlen(value);
    if (strpbrk(name, "\r\n:") || strpbrk(value, "\r\n"))
        return -1;
    if ((size_t)(end - *p) < nl + vl + 4)
        return -1;
    memcpy(*p, name, nl);
    *p += nl;
    memcpy(*p, ": ", 2);
    *p += 2;
    memcpy(*p, value, vl);
    *p += vl;
    memcpy(*p, "\r\n", 2);
    *p += 2;
    return 0;
}

/* Status line and headers into scratch; returns the end pointer or NULL. */
static unsigned char *write_head(gw_req *r, unsigned char *p)
{
    unsigned char *end = scratch + LWS_PRE + HEADER_ROOM;
    char num[32];
    int n = snprintf((char *)p, (size_t)(end - p), "HTTP/1.1 %d %s\r\n", r->status,
                     reason(r->status));
    if (n <= 0 || n >= end - p)
        return NULL;
    p += n;
    if (r->ctype && add_hdr(&p, end, "content-type", r->ctype))
        return NULL;
    if (r->status == 204 || r->status == 304) {
        /* no body, no Content-Length (RFC 9110 §8.6) */
    } else if (r->content_length >= 0) {
        snprintf(num, sizeof num, "%lld", r->content_length);
        if (add_hdr(&p, end, "content-length", num))
            return NULL;
    } else if (add_hdr(&p, end, "transfer-encoding", "chunked") ||
               add_hdr(&p, end, "cache-control", "no-cache") ||
               add_hdr(&p, end, "x-accel-buffering", "no")) {
        return NULL;
    }
    if (add_hdr(&p, end, "x-oneapi-request-id", r->rid) ||
        add_hdr(&p, end, "x-new-api-version", GW_VERSION))
        return NULL;
    if (r->is_cors && (add_hdr(&p, end, "access-control-allow-origin", "*") ||
                       add_hdr(&p, end, "access-control-expose-headers", "*")))
        return NULL;
    for (int i = 0; i < r->nhdr; i++)
        if (add_hdr(&p, end, r->hdr_name[i], r->hdr_value[i]))
            return NULL;
    if (r->close_after && add_hdr(&p, end, "connection", "close"))
        return NULL;
    if (end - p < 2)
        return NULL;
    memcpy(p, "\r\n", 2);
    return p + 2;
}

static int pump(struct lws *wsi, struct pss *c);

/* One lws_write per WRITEABLE callback: headers plus the first body bytes,
 * then up to WRITE_CHUNK at a time. Returns -1 to close the connection. */
static int on_writeable(struct lws *wsi, struct pss *c)
{
    gw_req *r = c ? c->r : NULL;
    if (!r)
        return 0;
    if (r->close_after && r->finished && r->headers_sent && !r->out.len)
        return -1; /* lws has flushed the last bytes; now hang up */
    if (!r->status)
        return 0; /* spurious: nothing to say yet */

    unsigned char *start = scratch + LWS_PRE, *p = start;
    if (!r->headers_sent) {
        p = write_head(r, p);
        if (!p) {
            GW_ERROR("response headers too large or malformed rid=%s", r->rid);
            return -1;
        }
        r->headers_sent = 1;
    }
    size_t n = r->out.len < WRITE_CHUNK ? r->out.len : WRITE_CHUNK;
    if (n) {
        memcpy(p, r->out.base, n);
        p += n;
        gw_buf_consume(&r->out, n);
    }
    if (!r->streaming)
        r->resp_bytes += n;
    int last = r->finished && !r->out.len;
    if (p > start && lws_write(wsi, start, (size_t)(p - start), LWS_WRITE_RAW) < (int)(p - start))
        return -1;

    if (!last) {
        if (r->out.len)
            lws_callback_on_writable(wsi);
        if (r->on_drain && r->out.len < GW_OUT_LOW_WM)
            r->on_drain(r, r->cb_data); /* may re-enter gw_resp_stream_write (P10) */
        return 0;
    }
    access_log(r, r->status);
    if (r->close_after) {
        lws_callback_on_writable(wsi); /* lws calls back once the partial is flushed */
        return 0;
    }
    /* The transaction is over: the next request may already be buffered. */
    detach(r, c, 0);
    c->state = C_HEAD;
    lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_KEEPALIVE_IDLE, IDLE_TIMEOUT_S);
    return pump(wsi, c);
}

/* ---- request intake ------------------------------------------------------ */

static void dispatch(gw_req *r)
{
    r->dispatched = 1;
    r->worker->stats.requests++;
    lws_set_timeout(r->wsi, NO_PENDING_TIMEOUT, 0); /* long upstream waits are ours to bound */
    gw_log_set_request_id(r->rid);
    gw_req_ref(r); /* the handler may drop the last connection ref synchronously */
    gw_http_dispatch(r);
    gw_req_unref(r);
    gw_log_set_request_id(NULL);
}

/* Transport-level refusal: answer and close, never read the body. */
static int refuse(gw_req *r, int status, const char *type, const char *msg)
{
    r->rejected = 1;
    r->close_after = 1;
    r->worker->stats.rejected++;
    return gw_resp_openai_error(r, status, type, msg);
}

/* Copies what the handlers read out of the parsed head into the request's
 * arena (the head's bytes are consumed from the connection buffer next). */
static int copy_head(gw_req *r, const struct gw_http_head *h)
{
    char *path = gw_arena_alloc(r->arena, h->target.len + 2);
    if (!path)
        return GW_ENOMEM;
    int n = gw_http_path_decode(h->target, path, h->target.len + 2);
    if (n < 0)
        return GW_EINVAL;
    r->path = path;
    gw_str q = gw_http_target_query(h->target);
    r->query = gw_arena_strndup(r->arena, q.base, q.len);
    r->fields = h->nfields ? gw_arena_alloc(r->arena, h->nfields * sizeof *r->fields) : NULL;
    if (!r->query || (h->nfields && !r->fields))
        return GW_ENOMEM;
    for (size_t i = 0; i < h->nfields; i++) {
        r->fields[i].name = gw_arena_strndup(r->arena, h->fields[i].name.base,
                                             h->fields[i].name.len);
        r->fields[i].value = gw_arena_strndup(r->arena, h->fields[i].value.base,
                                              h->fields[i].value.len);
        if (!r->fields[i].name || !r->fields[i].value)
            return GW_ENOMEM;
    }
    r->nfields = h->nfields;
    return GW_OK;
}

/* f describes the request at the start of c->in (gw_http_frame): creates
 * the transaction and decides how to read it. */
static int on_head(struct lws *wsi, struct pss *c, const struct gw_http_frame *f)
{
    struct gw_worker *w = lws_context_user(lws_get_context(wsi));
    gw_req *r = req_new(w, wsi);
    if (!r)
        return -1;
    c->r = r;
    int rc = GW_OK;
    if (f->head_len > 0) {
        rc = copy_head(r, &parsed);
        r->method = f->method;
        if (f->method)
            r->method_name = gw_arena_strndup(r->arena, parsed.method.base, parsed.method.len);
        r->is_cors = strncmp(r->path, "/api", 4) == 0 || strncmp(r->path, "/v1", 3) == 0;
    }
    if (rc == GW_ENOMEM)
        return -1;
    if (f->verdict == GW_HEAD_REFUSE || rc != GW_OK) {
        c->state = C_DONE;
        gw_buf_reset(&c->in);
        const char *msg = f->msg ? f->msg : "malformed request path";
        if (f->status == 413)
            msg = gw_arena_printf(r->arena,
                                  "request body too large: limit is %d MB (MAX_REQUEST_BODY_MB)",
                                  w->cfg->max_request_body_mb);
        return refuse(r, rc != GW_OK ? 400 : f->status, "invalid_request_error", msg) ? -1 : 0;
    }
    gw_buf_consume(&c->in, (size_t)f->head_len);
    r->close_after = f->verdict == GW_HEAD_SERVE_CLOSE;
    c->body_left = f->body_len;
    c->state = C_BODY;
    if (parsed.expect_continue && f->body_len > (long long)c->in.len) { /* P4 */
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        unsigned char *p = scratch + LWS_PRE;
        memcpy(p, cont, sizeof cont - 1);
        if (lws_write(wsi, p, sizeof cont - 1, LWS_WRITE_RAW) < (int)sizeof cont - 1)
            return -1;
    }
    return 0;
}

/* Parses and dispatches what c->in holds, one transaction at a time: a
 * request that follows in the same packet waits there until the one before
 * it has been answered (pipelining, RFC 9112 §9.3.2). */
static int pump(struct lws *wsi, struct pss *c)
{
    if (c->state == C_HEAD && c->in.len) {
        struct gw_worker *w = lws_context_user(lws_get_context(wsi));
        struct gw_http_frame f;
        size_t body_max = (size_t)w->cfg->max_request_body_mb * 1024 * 1024;
        if (gw_http_frame(c->in.base, c->in.len, body_max, &parsed, &f) && on_head(wsi, c, &f))
            return -1;
    }
    if (c->state == C_BODY) {
        gw_req *r = c->r;
        size_t k = c->body_left < (long long)c->in.len ? (size_t)c->body_left : c->in.len;
        if (k && gw_buf_append(&r->body, c->in.base, k) != GW_OK)
            return -1; /* the limit was checked against Content-Length */
        gw_buf_consume(&c->in, k);
        c->body_left -= (long long)k;
        if (c->body_left > 0) {
            lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_CONTENT, BODY_TIMEOUT_S);
        } else {
            c->state = r->close_after ? C_DONE : C_BUSY;
            if (c->state == C_DONE)
                gw_buf_reset(&c->in);
            dispatch(r);
        }
    }
    if (!c->in.len)
        gw_buf_free(&c->in); /* an idle or streaming connection holds no buffer */
    int pause = c->state == C_BUSY && c->in.len >= IN_SOFT_MAX;
    if (pause != c->paused) {
        c->paused = pause;
        lws_rx_flow_control(wsi, !pause);
    }
    return 0;
}

static int on_rx(struct lws *wsi, struct pss *c, const void *in, size_t len)
{
    if (c->state == C_DONE)
        return 0; /* answering, then closing: the rest is not read */
    c->in.max = IN_MAX;
    if (gw_buf_append(&c->in, in, len) != GW_OK)
        return -1;
    if (c->state == C_BUSY)
        return c->paused || c->in.len < IN_SOFT_MAX ? 0 : pump(wsi, c);
    return pump(wsi, c);
}

static int callback_gw(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len)
{
    struct pss *pss = user;
    switch (reason) {
    case LWS_CALLBACK_RAW_RX:
        return pss ? on_rx(wsi, pss, in, len) : -1;
    case LWS_CALLBACK_RAW_WRITEABLE:
        return on_writeable(wsi, pss);
    case LWS_CALLBACK_RAW_CLOSE:
        if (pss && pss->r) /* P3: pss may be NULL */
            detach(pss->r, pss, 1);
        if (pss)
            gw_buf_free(&pss->in);
        return 0;
    case LWS_CALLBACK_HTTP:
        /* lws's h1 server serves only the upgrades accept.c hands it; one it
         * does not upgrade after all is not served over its parser. */
        return -1;
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
    case LWS_CALLBACK_ESTABLISHED:
    case LWS_CALLBACK_RECEIVE:
    case LWS_CALLBACK_SERVER_WRITEABLE:
    case LWS_CALLBACK_CLOSED:
        return gw_ws_callback(wsi, (int)reason, pss ? &pss->ws : NULL, in, len);
    default:
        return 0;
    }
}

static const struct lws_protocols protocols[] = {
    {"gw", callback_gw, sizeof(struct pss), 4096, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

const struct lws_protocols *gw_http_protocols(void) { return protocols; }

int gw__http_adopt_raw(struct gw_worker *w, int fd, gw_buf *first)
{
    lws_sock_file_fd_type desc;
    desc.sockfd = fd;
    struct lws *wsi = lws_adopt_descriptor_vhost(w->vh, LWS_ADOPT_SOCKET, desc, "gw", NULL);
    if (!wsi) {
        gw_buf_free(first);
        return GW_EIO; /* lws closed the fd */
    }
    w->stats.accepted++;
    struct pss *c = lws_wsi_user(wsi);
    if (!c) {
        gw_buf_free(first);
        lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        return GW_ENOMEM;
    }
    c->in = *first; /* the bytes accept.c read while it waited for the first head */
    c->in.max = IN_MAX;
    *first = (gw_buf){0};
    c->state = C_HEAD;
    lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_KEEPALIVE_IDLE, IDLE_TIMEOUT_S);
    if (pump(wsi, c))
        lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
    return GW_OK;
}

int gw__http_adopt_ws(struct gw_worker *w, int fd, gw_buf *first)
{
    struct lws *wsi = lws_adopt_socket_vhost_readbuf(w->vh, fd, first->base, first->len);
    gw_buf_free(first);
    if (!wsi)
        return GW_EIO; /* lws closed the fd */
    w->stats.accepted++;
    return GW_OK;
}

/* Header names that trip lws 4.1.6's parser: not a name in its table but a
 * strict prefix of one ("x-f" of "x-forwarded-for:", "ge" of "get "). A
 * known name that prefixes another ("upgrade" of "upgrade-insecure-...")
 * is matched by its own entry first and is fine. */
int gw__http_lws_trips(gw_str name)
{
    int prefix = 0;
    for (int t = 0; t < WSI_TOKEN_COUNT; t++) {
        const char *s = (const char *)lws_token_to_string((enum lws_token_indexes)t);
        if (!s || strlen(s) <= name.len)
            continue;
        size_t i = 0;
        while (i < name.len && (name.base[i] >= 'A' && name.base[i] <= 'Z' ? name.base[i] + 32
                                                                          : name.base[i]) == s[i])
            i++;
        if (i < name.len)
            continue;
        if (s[i] == ':' && s[i + 1] == '\0')
            return 0; /* a known header */
        prefix = 1;
    }
    return prefix;
}
