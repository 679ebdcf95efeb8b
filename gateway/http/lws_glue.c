/* The one module that talks to libwebsockets 4.1.6 as an HTTP/1.1 server.
 *
 * Every workaround for an lws 4.1.6 pitfall lives here, each named after the
 * entry in shared/reference/c-core-notes.md and covered by a regression test
 * in tests/integration/test_http.py:
 *   P1  BODY_COMPLETION is re-delivered when pipelined bytes arrive before the
 *       transaction completes, and lws then spins forever. We complete the
 *       transaction in the WRITEABLE callback that writes the last byte, and a
 *       second BODY_COMPLETION for the same request drops the connection.
 *   P2  lws_http_transaction_completed() frees the pss: the request is
 *       detached from the pss before that call and never touched through it.
 *   P3  CLOSED_HTTP may arrive with user == NULL (closed before a request).
 *   P4  lws never answers "Expect: 100-continue": we write the interim
 *       response ourselves.
 *   P5  lws cannot read chunked request bodies (they get 411 and a close),
 *       and waits for 100 MB when a POST/PUT/PATCH has no Content-Length
 *       (served as an empty body, then the connection is closed).
 *   P6  lws does not chunk responses: streamed responses are framed here.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <uv.h> /* before libwebsockets.h (c-core-notes §1) */
#include <libwebsockets.h>
#include "gateway/core/err.h"
#include "gateway/core/log.h"
#include "gateway/http/http.h"
#include "gateway/http/router.h"
#include "gateway/http/ws.h"
#include "gateway/worker.h"

#define WRITE_CHUNK (16 * 1024)
#define HEADER_ROOM 4096
#define STREAM_QUEUE_MAX (8u * 1024 * 1024) /* hard cap if a producer ignores backpressure */

struct pss {
    gw_req *r;  /* HTTP transaction */
    void *ws;   /* WebSocket connection (ws.c); upgrades never see LWS_CALLBACK_HTTP */
};

static unsigned char scratch[LWS_PRE + HEADER_ROOM + WRITE_CHUNK];

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

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

static void access_log(gw_req *r, int status)
{
    if (!r->worker->cfg->access_log)
        return;
    gw_log_access(r->method_name, r->path, status, r->resp_bytes,
                  (long long)(now_us() - r->t_start_us), r->rid);
}

/* The client is gone (or the transaction ended): cut the request loose from
 * the wsi and drop the connection's reference. */
static void detach(gw_req *r, struct pss *pss, int aborted)
{
    if (pss)
        pss->r = NULL;
    r->wsi = NULL;
    if (aborted) {
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
    r->t_start_us = now_us();
    gw_buf_init(&r->body, (size_t)w->cfg->max_request_body_mb * 1024 * 1024);
    gw_buf_init(&r->out, STREAM_QUEUE_MAX);
    make_request_id(w, r->rid, sizeof r->rid);
    w->stats.live_reqs++;
    return r;
}

static const struct {
    enum lws_token_indexes tok;
    int method;
    const char *name;
} methods[] = {
    {WSI_TOKEN_GET_URI, GW_M_GET, "GET"},       {WSI_TOKEN_POST_URI, GW_M_POST, "POST"},
    {WSI_TOKEN_PUT_URI, GW_M_PUT, "PUT"},       {WSI_TOKEN_PATCH_URI, GW_M_PATCH, "PATCH"},
    {WSI_TOKEN_DELETE_URI, GW_M_DELETE, "DELETE"}, {WSI_TOKEN_OPTIONS_URI, GW_M_OPTIONS, "OPTIONS"},
    {WSI_TOKEN_HEAD_URI, GW_M_HEAD, "HEAD"},
};

static int read_method(struct lws *wsi, gw_req *r)
{
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (lws_hdr_total_length(wsi, methods[i].tok) > 0) {
            r->method = methods[i].method;
            r->method_name = methods[i].name;
            return GW_OK;
        }
    return GW_ENOTSUP;
}

/* lws splits the query into '&'-separated, url-decoded fragments. */
static void read_query(struct lws *wsi, gw_req *r)
{
    int total = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_URI_ARGS);
    gw_buf q;
    char frag[1024];
    gw_buf_init(&q, 65536);
    for (int i = 0; total > 0; i++) {
        int n = lws_hdr_copy_fragment(wsi, frag, sizeof frag, WSI_TOKEN_HTTP_URI_ARGS, i);
        if (n < 0)
            break;
        if (i)
            gw_buf_append(&q, "&", 1);
        gw_buf_append(&q, frag, (size_t)n);
    }
    r->query = gw_arena_strndup(r->arena, q.base ? q.base : "", q.len);
    gw_buf_free(&q);
}

static const struct {
    const char *name;
    enum lws_token_indexes tok;
} known[GW_REQ_KNOWN_HEADERS] = {
    {"authorization", WSI_TOKEN_HTTP_AUTHORIZATION},
    {"content-type", WSI_TOKEN_HTTP_CONTENT_TYPE},
    {"content-length", WSI_TOKEN_HTTP_CONTENT_LENGTH},
    {"origin", WSI_TOKEN_ORIGIN},
    {"cookie", WSI_TOKEN_HTTP_COOKIE},
    {"host", WSI_TOKEN_HOST},
    {"user-agent", WSI_TOKEN_HTTP_USER_AGENT},
    {"if-none-match", WSI_TOKEN_HTTP_IF_NONE_MATCH},
    {"accept", WSI_TOKEN_HTTP_ACCEPT},
    {"accept-encoding", WSI_TOKEN_HTTP_ACCEPT_ENCODING},
    {"transfer-encoding", WSI_TOKEN_HTTP_TRANSFER_ENCODING},
    {"expect", WSI_TOKEN_HTTP_EXPECT},
    {"x-forwarded-for", WSI_TOKEN_X_FORWARDED_FOR},
    {"x-real-ip", WSI_TOKEN_HTTP_X_REAL_IP},
    {"connection", WSI_TOKEN_CONNECTION},
    {"upgrade", WSI_TOKEN_UPGRADE},
    {"access-control-request-headers", WSI_TOKEN_HTTP_AC_REQUEST_HEADERS},
};

static const char *known_header(gw_req *r, size_t i)
{
    int n = lws_hdr_total_length(r->wsi, known[i].tok);
    if (n <= 0)
        return NULL;
    char *v = gw_arena_alloc(r->arena, (size_t)n + 1);
    if (!v || lws_hdr_copy(r->wsi, v, n + 1, known[i].tok) < 0)
        return NULL;
    return v;
}

/* A stream holds its connection for minutes: once the answer starts, lws's
 * header table (max_http_header_data bytes plus its index) goes back to the
 * pool. The known headers are copied first and keep answering; custom
 * headers read after this point are absent (handlers read theirs before they
 * answer). lws keeps the table when unread bytes are still buffered. */
static void release_headers(gw_req *r)
{
    if (r->hdr_released || !r->wsi)
        return;
    for (size_t i = 0; i < GW_REQ_KNOWN_HEADERS; i++)
        r->hdr_known[i] = known_header(r, i);
    r->hdr_released = 1;
    lws_http_headers_detach(r->wsi);
}

const char *gw_req_header(gw_req *r, const char *name)
{
    if (!r->wsi)
        return NULL;
    for (size_t i = 0; i < GW_REQ_KNOWN_HEADERS; i++)
        if (strcasecmp(known[i].name, name) == 0)
            return r->hdr_released ? r->hdr_known[i] : known_header(r, i);
    if (r->hdr_released)
        return NULL;
    /* Custom headers are matched as lower-case "name:". */
    char key[128];
    size_t nl = strlen(name);
    if (nl + 2 > sizeof key)
        return NULL;
    for (size_t i = 0; i < nl; i++)
        key[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
    key[nl] = ':';
    key[nl + 1] = '\0';
    int n = lws_hdr_custom_length(r->wsi, key, (int)nl + 1);
    if (n < 0)
        return NULL;
    char *v = gw_arena_alloc(r->arena, (size_t)n + 1);
    if (!v || lws_hdr_custom_copy(r->wsi, v, n + 1, key, (int)nl + 1) < 0)
        return NULL;
    return v;
}

static void read_fields(gw_req *r)
{
    size_t n = 0;
    r->fields_read = 1;
    if (!r->wsi || r->hdr_released) {
        for (size_t i = 0; i < GW_REQ_KNOWN_HEADERS; i++)
            n += r->hdr_known[i] != NULL;
        r->fields = n ? gw_arena_alloc(r->arena, n * sizeof *r->fields) : NULL;
        for (size_t i = 0, k = 0; r->fields && i < GW_REQ_KNOWN_HEADERS; i++)
            if (r->hdr_known[i])
                r->fields[k++] = (struct gw_req_field){known[i].name, r->hdr_known[i]};
        r->nfields = r->fields ? n : 0;
        return;
    }
    for (int t = 0; t < WSI_TOKEN_COUNT; t++)
        n += lws_hdr_total_length(r->wsi, (enum lws_token_indexes)t) > 0;
    r->fields = n ? gw_arena_alloc(r->arena, n * sizeof *r->fields) : NULL;
    for (int t = 0; r->fields && t < WSI_TOKEN_COUNT; t++) {
        const char *tn = (const char *)lws_token_to_string((enum lws_token_indexes)t);
        int len = lws_hdr_total_length(r->wsi, (enum lws_token_indexes)t);
        size_t nl = tn ? strlen(tn) : 0;
        /* header tokens are "name:"; methods ("get "), ":path" and the
         * like are not headers */
        if (len <= 0 || nl < 2 || tn[nl - 1] != ':' || tn[0] == ':')
            continue;
        char *v = gw_arena_alloc(r->arena, (size_t)len + 1);
        char *nm = gw_arena_strndup(r->arena, tn, nl - 1);
        if (!v || !nm || lws_hdr_copy(r->wsi, v, len + 1, (enum lws_token_indexes)t) < 0)
            continue;
        r->fields[r->nfields++] = (struct gw_req_field){nm, v};
    }
}

size_t gw_req_header_count(gw_req *r)
{
    if (!r->fields_read)
        read_fields(r);
    return r->nfields;
}

const struct gw_req_field *gw_req_header_at(gw_req *r, size_t i)
{
    return i < gw_req_header_count(r) ? &r->fields[i] : NULL;
}

const char *gw_req_query(gw_req *r, const char *name)
{
    size_t nl = strlen(name);
    gw_str rest = gw_str_c(r->query), tok;
    while (gw_str_split(&rest, '&', &tok)) {
        if (tok.len > nl && memcmp(tok.base, name, nl) == 0 && tok.base[nl] == '=')
            return gw_arena_strndup(r->arena, tok.base + nl + 1, tok.len - nl - 1);
        if (tok.len == nl && memcmp(tok.base, name, nl) == 0)
            return "";
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
    release_headers(r);
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

static int add_hdr(struct lws *wsi, const char *name, const char *value, unsigned char **p,
                   unsigned char *end)
{
    char key[128];
    int n = snprintf(key, sizeof key, "%s:", name);
    if (n <= 0 || (size_t)n >= sizeof key)
        return -1;
    return lws_add_http_header_by_name(wsi, (const unsigned char *)key,
                                       (const unsigned char *)value, (int)strlen(value), p, end);
}

/* Status line and headers into scratch; returns the end pointer or NULL. */
static unsigned char *write_head(struct lws *wsi, gw_req *r, unsigned char *p)
{
    unsigned char *end = scratch + LWS_PRE + HEADER_ROOM;
    char num[32];
    if (lws_add_http_header_status(wsi, (unsigned)r->status, &p, end))
        return NULL;
    if (r->ctype && add_hdr(wsi, "content-type", r->ctype, &p, end))
        return NULL;
    if (r->status == 204 || r->status == 304) {
        /* no body, no Content-Length (RFC 9110 §8.6) */
    } else if (r->content_length >= 0) {
        snprintf(num, sizeof num, "%lld", r->content_length);
        if (add_hdr(wsi, "content-length", num, &p, end))
            return NULL;
    } else if (add_hdr(wsi, "transfer-encoding", "chunked", &p, end) ||
               add_hdr(wsi, "cache-control", "no-cache", &p, end) ||
               add_hdr(wsi, "x-accel-buffering", "no", &p, end)) {
        return NULL;
    }
    if (add_hdr(wsi, "x-oneapi-request-id", r->rid, &p, end) ||
        add_hdr(wsi, "x-new-api-version", GW_VERSION, &p, end))
        return NULL;
    if (r->is_cors && (add_hdr(wsi, "access-control-allow-origin", "*", &p, end) ||
                       add_hdr(wsi, "access-control-expose-headers", "*", &p, end)))
        return NULL;
    for (int i = 0; i < r->nhdr; i++)
        if (add_hdr(wsi, r->hdr_name[i], r->hdr_value[i], &p, end))
            return NULL;
    if (r->close_after && add_hdr(wsi, "connection", "close", &p, end))
        return NULL;
    if (lws_finalize_http_header(wsi, &p, end))
        return NULL;
    return p;
}

/* One lws_write per WRITEABLE callback: headers plus the first body bytes,
 * then up to WRITE_CHUNK at a time. Returns -1 to close the connection. */
static int on_writeable(struct lws *wsi, struct pss *pss)
{
    gw_req *r = pss ? pss->r : NULL;
    if (!r)
        return 0;
    if (r->close_after && r->finished && r->headers_sent && !r->out.len)
        return -1; /* the last bytes have been flushed; now hang up */
    if (!r->status)
        return 0; /* spurious: nothing to say yet */

    unsigned char *start = scratch + LWS_PRE, *p = start;
    if (!r->headers_sent) {
        p = write_head(wsi, r, p);
        if (!p) {
            GW_ERROR("response headers too large rid=%s", r->rid);
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
    if (p > start &&
        lws_write(wsi, start, (size_t)(p - start), last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) <
            (int)(p - start))
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
    /* P1 + P2: complete in the same callback as the last byte, after
     * detaching the request from the pss that lws is about to free. */
    detach(r, pss, 0);
    return lws_http_transaction_completed(wsi) ? -1 : 0;
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

static int on_http(struct lws *wsi, struct pss *pss, const char *uri)
{
    struct gw_worker *w = lws_context_user(lws_get_context(wsi));
    if (pss->r) /* a pipelined transaction before the last completed: P1 territory */
        return -1;
    gw_req *r = req_new(w, wsi);
    if (!r)
        return -1;
    pss->r = r;
    r->path = gw_arena_strdup(r->arena, uri ? uri : "/");
    read_query(wsi, r);
    if (read_method(wsi, r) != GW_OK) {
        r->method_name = "?";
        return refuse(r, 405, "invalid_request_error", "method not supported") ? -1 : 0;
    }
    r->is_cors = strncmp(r->path, "/api", 4) == 0 || strncmp(r->path, "/v1", 3) == 0;

    const char *te = gw_req_header(r, "transfer-encoding");
    const char *cl = gw_req_header(r, "content-length");
    int body_method = r->method & (GW_M_POST | GW_M_PUT | GW_M_PATCH);
    long long clen = 0;
    if (te) /* P5 */
        return refuse(r, 411, "invalid_request_error",
                      "chunked request bodies are not supported; send Content-Length") ? -1 : 0;
    if (cl && gw_str_to_ll(gw_str_c(cl), 0, (long long)1 << 50, &clen) != GW_OK)
        return refuse(r, 400, "invalid_request_error", "invalid Content-Length") ? -1 : 0;
    if (!cl && body_method) {
        /* No Content-Length and no Transfer-Encoding means an empty body
         * (RFC 9112 §6.3), but lws would wait for 100 MB of it (P5): serve
         * the empty body and close the connection after the answer. */
        r->close_after = 1;
    }
    if (clen > (long long)r->body.max) {
        char msg[128];
        snprintf(msg, sizeof msg, "request body too large: limit is %d MB (MAX_REQUEST_BODY_MB)",
                 w->cfg->max_request_body_mb);
        return refuse(r, 413, "invalid_request_error", gw_arena_strdup(r->arena, msg)) ? -1 : 0;
    }
    const char *expect = gw_req_header(r, "expect");
    if (expect && strcasecmp(expect, "100-continue") == 0 && clen > 0) { /* P4 */
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        unsigned char *p = scratch + LWS_PRE;
        memcpy(p, cont, sizeof cont - 1);
        if (lws_write(wsi, p, sizeof cont - 1, LWS_WRITE_HTTP_HEADERS) < (int)sizeof cont - 1)
            return -1;
    }
    /* lws delivers BODY_COMPLETION for a body, or for a POST with an explicit
     * Content-Length: 0; everything else is complete now. */
    if (clen > 0 || (r->method == GW_M_POST && cl))
        return 0;
    r->body_done = 1;
    dispatch(r);
    return 0;
}

static int on_body(struct pss *pss, const void *in, size_t len)
{
    gw_req *r = pss->r;
    if (!r || r->rejected || !len)
        return 0;
    if (gw_buf_append(&r->body, in, len) == GW_ETOOBIG)
        return -1; /* more bytes than the Content-Length we checked */
    return 0;
}

static int on_body_done(struct pss *pss)
{
    gw_req *r = pss->r;
    if (!r)
        return -1; /* P1: re-delivery after the transaction ended */
    if (r->body_done)
        return -1; /* P1: re-delivery within the transaction */
    r->body_done = 1;
    if (r->rejected)
        return 0;
    dispatch(r);
    return 0;
}

static int callback_gw(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len)
{
    struct pss *pss = user;
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        return on_http(wsi, pss, in);
    case LWS_CALLBACK_HTTP_BODY:
        return pss ? on_body(pss, in, len) : -1;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        return pss ? on_body_done(pss) : -1;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return on_writeable(wsi, pss);
    case LWS_CALLBACK_CLOSED_HTTP:
        if (pss && pss->r) /* P3: pss may be NULL */
            detach(pss->r, pss, 1);
        return 0;
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

int gw_http_adopt(struct gw_worker *w, int fd)
{
    struct lws *wsi = lws_adopt_socket_vhost(w->vh, fd);
    if (!wsi)
        return GW_EIO; /* lws closed the fd */
    w->stats.accepted++;
    return GW_OK;
}
