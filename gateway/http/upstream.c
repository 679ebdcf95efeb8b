#include <stdio.h>
#include <string.h>
#include <curl/curl.h>
#include "gateway/core/alloc.h"
#include "gateway/core/err.h"
#include "gateway/core/log.h"
#include "gateway/http/upstream.h"

struct gw_upstream {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer;
    unsigned live;
    struct gw_xfer *xfers;   /* live transfers */
    struct sock *socks;      /* live polls */
};

struct gw_xfer {
    gw_upstream *u;
    struct gw_xfer *prev, *next;
    CURL *easy;
    struct gw_xfer_cbs cbs;
    void *data;
    int status;
    int headers_done;
    int paused;
    char err[CURL_ERROR_SIZE];
};

/* One uv_poll per curl socket. */
struct sock {
    uv_poll_t poll;
    curl_socket_t fd;
    gw_upstream *u;
    struct sock *prev, *next;
};

static void xfer_unlink(gw_xfer *x)
{
    gw_upstream *u = x->u;
    if (x->prev)
        x->prev->next = x->next;
    else
        u->xfers = x->next;
    if (x->next)
        x->next->prev = x->prev;
    u->live--;
}

static void check_done(gw_upstream *u)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(u->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        gw_xfer *x = NULL;
        CURLcode res = m->data.result;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        curl_multi_remove_handle(u->multi, m->easy_handle);
        int rc = res == CURLE_OK ? GW_OK
                 : res == CURLE_OPERATION_TIMEDOUT ? GW_ETIMEDOUT
                                                   : GW_EIO;
        if (x->cbs.on_done)
            x->cbs.on_done(x, rc, rc ? (x->err[0] ? x->err : curl_easy_strerror(res)) : NULL,
                           x->data);
        curl_easy_cleanup(x->easy);
        xfer_unlink(x);
        gw_free(x);
    }
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    struct sock *s = h->data;
    int flags = 0, running;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    gw_upstream *u = s->u;
    curl_multi_socket_action(u->multi, s->fd, flags, &running);
    check_done(u);
}

static void on_timer(uv_timer_t *t)
{
    gw_upstream *u = t->data;
    int running;
    curl_multi_socket_action(u->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(u);
}

static void free_sock(uv_handle_t *h) { gw_free(h->data); }

static void sock_close(gw_upstream *u, struct sock *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        u->socks = s->next;
    if (s->next)
        s->next->prev = s->prev;
    uv_poll_stop(&s->poll);
    uv_close((uv_handle_t *)&s->poll, free_sock);
}

static int socket_cb(CURL *e, curl_socket_t fd, int what, void *userp, void *sockp)
{
    gw_upstream *u = userp;
    struct sock *s = sockp;
    if (what == CURL_POLL_REMOVE) {
        if (s) {
            sock_close(u, s);
            curl_multi_assign(u->multi, fd, NULL);
        }
        return 0;
    }
    if (!s) {
        s = gw_xcalloc(1, sizeof *s);
        s->fd = fd;
        s->u = u;
        if (uv_poll_init_socket(u->loop, &s->poll, fd) != 0) {
            gw_free(s);
            return -1;
        }
        s->poll.data = s;
        s->next = u->socks;
        if (u->socks)
            u->socks->prev = s;
        u->socks = s;
        curl_multi_assign(u->multi, fd, s);
    }
    int ev = (what & CURL_POLL_IN ? UV_READABLE : 0) | (what & CURL_POLL_OUT ? UV_WRITABLE : 0);
    uv_poll_start(&s->poll, ev, on_poll);
    return 0;
}

/* Never call socket_action from here (c-core-notes §2). */
static int timer_cb(CURLM *m, long timeout_ms, void *userp)
{
    gw_upstream *u = userp;
    if (timeout_ms < 0)
        uv_timer_stop(&u->timer);
    else
        uv_timer_start(&u->timer, on_timer, (uint64_t)timeout_ms, 0);
    return 0;
}

int gw_upstream_new(uv_loop_t *loop, gw_upstream **out)
{
    gw_upstream *u = gw_calloc(1, sizeof *u);
    if (!u)
        return GW_ENOMEM;
    u->loop = loop;
    u->multi = curl_multi_init();
    if (!u->multi) {
        gw_free(u);
        return GW_ENOMEM;
    }
    uv_timer_init(loop, &u->timer);
    u->timer.data = u;
    curl_multi_setopt(u->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(u->multi, CURLMOPT_SOCKETDATA, u);
    curl_multi_setopt(u->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(u->multi, CURLMOPT_TIMERDATA, u);
    curl_multi_setopt(u->multi, CURLMOPT_MAXCONNECTS, 256L);
    *out = u;
    return GW_OK;
}

static size_t header_cb(char *p, size_t sz, size_t n, void *ud)
{
    gw_xfer *x = ud;
    size_t len = sz * n;
    long code = 0;
    if (len == 2 && p[0] == '\r') { /* end of a header block */
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
        if (code >= 200 && !x->headers_done) { /* skip 1xx interim blocks */
            char *ct = NULL;
            x->headers_done = 1;
            x->status = (int)code;
            curl_easy_getinfo(x->easy, CURLINFO_CONTENT_TYPE, &ct);
            if (x->cbs.on_headers)
                x->cbs.on_headers(x, x->status, ct, x->data);
        }
    }
    return len;
}

static size_t write_cb(char *p, size_t sz, size_t n, void *ud)
{
    gw_xfer *x = ud;
    size_t len = sz * n;
    int rc = x->cbs.on_data ? x->cbs.on_data(x, p, len, x->data) : GW_OK;
    if (rc == GW_EAGAIN) {
        x->paused = 1;
        return CURL_WRITEFUNC_PAUSE;
    }
    return rc < 0 ? 0 : len;
}

int gw_xfer_start(gw_upstream *u, const struct gw_xfer_opts *o, const struct gw_xfer_cbs *cbs,
                  void *data, gw_xfer **out)
{
    gw_xfer *x = gw_calloc(1, sizeof *x);
    if (!x)
        return GW_ENOMEM;
    x->u = u;
    x->cbs = *cbs;
    x->data = data;
    x->easy = curl_easy_init();
    if (!x->easy) {
        gw_free(x);
        return GW_ENOMEM;
    }
    CURL *e = x->easy;
    curl_easy_setopt(e, CURLOPT_URL, o->url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->err);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, o->idle_timeout_s ? o->idle_timeout_s : 120L);
    if (o->proxy && *o->proxy)
        curl_easy_setopt(e, CURLOPT_PROXY, o->proxy);
    if (o->connect_timeout_ms)
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms);
    if (o->headers)
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, o->headers);
    if (o->body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, o->body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)o->body_len);
    }
    if (o->method && strcmp(o->method, "GET") != 0 && strcmp(o->method, "POST") != 0)
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, o->method);
    if (curl_multi_add_handle(u->multi, e) != CURLM_OK) {
        curl_easy_cleanup(e);
        gw_free(x);
        return GW_EIO;
    }
    u->live++;
    x->next = u->xfers;
    if (u->xfers)
        u->xfers->prev = x;
    u->xfers = x;
    *out = x;
    return GW_OK;
}

void gw_xfer_resume(gw_xfer *x)
{
    if (!x->paused)
        return;
    x->paused = 0;
    curl_easy_pause(x->easy, CURLPAUSE_CONT); /* may call write_cb right here */
}

void gw_xfer_abort(gw_xfer *x)
{
    gw_upstream *u = x->u;
    curl_multi_remove_handle(u->multi, x->easy);
    curl_easy_cleanup(x->easy);
    xfer_unlink(x);
    gw_free(x);
}

unsigned gw_upstream_live(const gw_upstream *u) { return u->live; }

static void free_upstream(uv_handle_t *h) { gw_free(h->data); }

void gw_upstream_free(gw_upstream *u)
{
    if (!u)
        return;
    while (u->xfers)
        gw_xfer_abort(u->xfers);
    curl_multi_cleanup(u->multi);
    while (u->socks) /* cached connections curl closed without telling us */
        sock_close(u, u->socks);
    uv_timer_stop(&u->timer);
    uv_close((uv_handle_t *)&u->timer, free_upstream);
}
