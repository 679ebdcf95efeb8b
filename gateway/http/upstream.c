/* Upstream transfers: curl multi_socket on the worker's loop (upstream.h).
 *
 * Per transfer this file tries to cost no more than curl itself needs:
 * - Easy handles are kept on a bounded free list (POOL_MAX) instead of
 *   curl_easy_init/cleanup per transfer. A handle goes back reset
 *   (curl_easy_reset: every option, so no header list, body, proxy, custom
 *   method, error buffer or PRIVATE pointer of the last transfer survives),
 *   and every option is set again for the next one.
 * - One uv_poll per curl socket, restarted only when the mask curl asks for
 *   really changes: libuv 1.44's uv_poll_start() always costs an epoll_ctl
 *   DEL plus an ADD on the next iteration, uv_poll_stop() a DEL.
 * - A keep-alive connection keeps its uv_poll between transfers ("parked"),
 *   instead of uv_poll_init_socket (ioctl) + start + stop + uv_close each
 *   transfer; see "socket identity" below for when that is safe.
 *
 * Socket identity. libuv aborts when two handles watch one fd, and a parked
 * poll whose fd was closed behind our back would watch whatever file gets
 * that number next (an lws client, the Redis connection). So a poll is
 * parked only when we are sure to hear of the close: curl 7.88.1 calls
 * CURLOPT_CLOSESOCKETFUNCTION for a connection's socket once it is the
 * connection's active socket, but closes a socket that never finished
 * connecting (a failed or losing happy-eyeballs attempt) and its resolver's
 * socketpair with a plain close(). A socket is therefore parked only if
 * (1) our CURLOPT_OPENSOCKETFUNCTION created it for the transfer that first
 *     reported it (fdent.opened holds that transfer's id until then), and
 * (2) curl has asked for CURL_POLL_IN on it since: while connecting curl
 *     polls only for writability, so reading means connected and active.
 * Everything else is closed at CURL_POLL_REMOVE, as before. A number that
 * our opensocket hands out again while a struct sock still holds it means the
 * old file was closed silently: that sock is restarted or dropped then. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <curl/curl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include "gateway/core/alloc.h"
#include "gateway/core/dest.h"
#include "gateway/core/err.h"
#include "gateway/core/log.h"
#include "gateway/http/upstream.h"

#define POOL_MAX 64            /* idle easy handles kept per worker */
#define STREAM_BUFSIZE 4096L   /* curl receive buffer of a streamed response */
#define DEFAULT_BUFSIZE 16384L /* curl's own default (CURL_MAX_WRITE_SIZE) */

struct fdent {
    struct sock *s;  /* the poll on this fd number, live or parked */
    uint64_t opened; /* id of the transfer our opensocket made it for, until
                        curl first reports it; 0 = none */
};

struct gw_upstream {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer;
    unsigned live;
    struct gw_xfer *xfers;   /* live transfers */
    struct sock *socks;      /* every open uv_poll, live or parked */
    struct fdent *fds;       /* by fd number, grown on demand */
    size_t nfds;
    CURL *pool[POOL_MAX];    /* reset easy handles */
    unsigned npool;
    uint64_t next_id;        /* transfer ids, from 1 */
    struct gw_upstream_stats st;
};

struct gw_xfer {
    gw_upstream *u;
    struct gw_xfer *prev, *next;
    CURL *easy;
    uint64_t id;
    struct gw_xfer_cbs cbs;
    void *data;
    int status;
    int headers_done;
    int paused;
    int has_dest;                /* dest holds the policy */
    int refused;                 /* the policy refused a connection: why in refusal */
    struct gw_dest_policy dest;
    char refusal[160];
    char err[CURL_ERROR_SIZE];
};

/* One uv_poll per curl socket. */
struct sock {
    uv_poll_t poll;
    curl_socket_t fd;
    gw_upstream *u;
    struct sock *prev, *next;
    int events;            /* mask the poll runs with: 0 stopped, -1 unknown */
    unsigned ours : 1;     /* (1) above */
    unsigned reading : 1;  /* (2) above */
    unsigned parked : 1;   /* curl is not watching it now (keep-alive, idle) */
};

/* ---- easy handles ------------------------------------------------------- */

static CURL *easy_get(gw_upstream *u)
{
    if (u->npool > 0) {
        u->st.easy_reused++;
        return u->pool[--u->npool];
    }
    u->st.easy_created++;
    return curl_easy_init();
}

/* The handle must be out of the multi. */
static void easy_put(gw_upstream *u, CURL *e)
{
    if (u->npool < POOL_MAX) {
        curl_easy_reset(e);
        u->pool[u->npool++] = e;
    } else {
        curl_easy_cleanup(e);
    }
}

/* ---- sockets ------------------------------------------------------------ */

static struct fdent *fdent(gw_upstream *u, curl_socket_t fd, int grow)
{
    if (fd < 0)
        return NULL;
    if ((size_t)fd >= u->nfds) {
        size_t n = u->nfds ? u->nfds : 64;
        struct fdent *p;
        if (!grow)
            return NULL;
        while (n <= (size_t)fd)
            n *= 2;
        p = gw_realloc(u->fds, n * sizeof *p);
        if (!p)
            return NULL;
        memset(p + u->nfds, 0, (n - u->nfds) * sizeof *p);
        u->fds = p;
        u->nfds = n;
    }
    return &u->fds[fd];
}

static void on_poll(uv_poll_t *h, int status, int events);

/* The only place a poll is started or stopped. */
static void sock_poll(struct sock *s, int ev)
{
    if (ev == s->events)
        return;
    s->events = ev;
    if (ev)
        uv_poll_start(&s->poll, ev, on_poll);
    else
        uv_poll_stop(&s->poll);
}

static void free_sock(uv_handle_t *h) { gw_free(h->data); }

/* Closes the poll now (uv_close stops it: its epoll entry goes before the fd
 * is closed, so the number can be watched again at once). */
static void sock_close(gw_upstream *u, struct sock *s)
{
    struct fdent *fe = fdent(u, s->fd, 0);
    if (fe && fe->s == s)
        fe->s = NULL;
    if (s->prev)
        s->prev->next = s->next;
    else
        u->socks = s->next;
    if (s->next)
        s->next->prev = s->prev;
    uv_close((uv_handle_t *)&s->poll, free_sock);
}

static struct sock *sock_new(gw_upstream *u, curl_socket_t fd, struct fdent *fe)
{
    struct sock *s = gw_xcalloc(1, sizeof *s);
    if (uv_poll_init_socket(u->loop, &s->poll, fd) != 0) {
        gw_free(s);
        return NULL;
    }
    s->fd = fd;
    s->u = u;
    s->poll.data = s;
    s->next = u->socks;
    if (u->socks)
        u->socks->prev = s;
    u->socks = s;
    fe->s = s;
    u->st.polls_created++;
    return s;
}

static curl_socket_t open_cb(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
    gw_xfer *x = clientp;
    gw_upstream *u = x->u;
    struct fdent *fe;
    /* The channel destination policy sees the address curl resolved, right
     * before connect(): a name that resolves (or rebinds) to a refused
     * address is caught here, and no packet leaves. */
    if (x->has_dest &&
        gw_dest_check(&x->dest, &a->addr, x->refusal, sizeof x->refusal) != GW_OK) {
        x->refused = 1;
        u->st.dest_refused++;
        return CURL_SOCKET_BAD;
    }
    curl_socket_t fd = socket(a->family, a->socktype, a->protocol);
    if (fd == CURL_SOCKET_BAD)
        return fd;
    u->st.connects++;
    fe = fdent(u, fd, 1);
    if (!fe)
        return fd; /* not tracked: never parked */
    if (fe->s && fe->s->parked) {
        /* Cannot happen by the rules above; if it does, that poll watched
         * a dead number. Drop it rather than watch the new socket twice. */
        GW_WARN("upstream: fd %d reused behind a parked poll", (int)fd);
        sock_close(u, fe->s);
    } else if (fe->s) {
        fe->s->events = -1; /* a new file under a live number: restart the poll */
    }
    fe->opened = x->id;
    return fd;
}

/* Before every request, on a new or a reused keep-alive connection: a
 * connection opened for one transfer may be reused by another whose
 * policy is stricter (the same host name, another channel). */
static int prereq_cb(void *clientp, char *primary_ip, char *local_ip, int primary_port,
                     int local_port)
{
    gw_xfer *x = clientp;
    struct sockaddr_storage ss;
    (void)local_ip;
    (void)local_port;
    if (!x->has_dest)
        return CURL_PREREQFUNC_OK;
    memset(&ss, 0, sizeof ss);
    if (strchr(primary_ip, ':')) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)primary_port);
        if (inet_pton(AF_INET6, primary_ip, &s6->sin6_addr) != 1)
            ss.ss_family = AF_UNSPEC;
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)primary_port);
        if (inet_pton(AF_INET, primary_ip, &s4->sin_addr) != 1)
            ss.ss_family = AF_UNSPEC;
    }
    if (gw_dest_check(&x->dest, (struct sockaddr *)&ss, x->refusal, sizeof x->refusal) != GW_OK) {
        x->refused = 1;
        x->u->st.dest_refused++;
        return CURL_PREREQFUNC_ABORT;
    }
    return CURL_PREREQFUNC_OK;
}

static int close_cb(void *clientp, curl_socket_t fd)
{
    gw_upstream *u = clientp;
    struct fdent *fe = fdent(u, fd, 0);
    if (fe) {
        if (fe->s)
            sock_close(u, fe->s);
        fe->opened = 0;
    }
    return close(fd);
}

static int socket_cb(CURL *e, curl_socket_t fd, int what, void *userp, void *sockp)
{
    gw_upstream *u = userp;
    struct sock *s = sockp;
    struct fdent *fe = fdent(u, fd, 1);
    gw_xfer *x = NULL;

    if (!s && fe)
        s = fe->s;
    if (what == CURL_POLL_REMOVE) {
        if (!s)
            return 0;
        curl_multi_assign(u->multi, fd, NULL);
        if (s->ours && s->reading) { /* a keep-alive connection: see the top */
            s->parked = 1;
            if (s->events & UV_WRITABLE)
                sock_poll(s, 0); /* would fire at once */
        } else {
            sock_close(u, s);
        }
        return 0;
    }
    if (!fe)
        return -1; /* out of memory */
    if (!s && !(s = sock_new(u, fd, fe)))
        return -1;
    if (fe->opened) { /* first report since our opensocket made this fd */
        curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&x);
        s->ours = x && x->id == fe->opened;
        s->reading = 0;
        fe->opened = 0;
    }
    if (s->parked) {
        s->parked = 0;
        u->st.polls_reused++;
    }
    if (!sockp)
        curl_multi_assign(u->multi, fd, s);
    int ev = (what & CURL_POLL_IN ? UV_READABLE : 0) | (what & CURL_POLL_OUT ? UV_WRITABLE : 0);
    if (ev & UV_READABLE)
        s->reading = 1;
    sock_poll(s, ev);
    return 0;
}

/* ---- transfers ---------------------------------------------------------- */

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
        CURL *e = m->easy_handle;
        CURLcode res = m->data.result;
        curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&x);
        curl_multi_remove_handle(u->multi, e);
        int rc = res == CURLE_OK ? GW_OK
                 : x->refused ? GW_EPERM
                 : res == CURLE_OPERATION_TIMEDOUT ? GW_ETIMEDOUT
                                                   : GW_EIO;
        const char *msg = rc == GW_EPERM ? x->refusal
                          : x->err[0] ? x->err : curl_easy_strerror(res);
        if (x->cbs.on_done)
            x->cbs.on_done(x, rc, rc ? msg : NULL, x->data);
        easy_put(u, e);
        xfer_unlink(x);
        gw_free(x);
    }
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    struct sock *s = h->data;
    gw_upstream *u = s->u;
    int flags = 0, running;
    if (status < 0)
        s->events = 0; /* libuv has stopped the poll (POLLERR) */
    if (s->parked) {
        /* An idle keep-alive connection became readable: the server closed
         * it (or sent junk). curl finds out when it next checks the
         * connection; stop watching until curl asks again. */
        sock_poll(s, 0);
        return;
    }
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
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

/* A handle from easy_get() with its receive buffer size set. curl refuses
 * CURLOPT_BUFFERSIZE while it still holds a receive buffer, which it frees
 * when a transfer is done but keeps when one was removed before it had a
 * connection; curl_easy_reset() does not free it either. Such a handle's
 * buffer has the old size: a fresh handle is the safe answer. */
static CURL *easy_for(gw_upstream *u, long bufsize)
{
    CURL *e = easy_get(u);
    if (e && curl_easy_setopt(e, CURLOPT_BUFFERSIZE, bufsize) != CURLE_OK) {
        curl_easy_cleanup(e);
        u->st.easy_created++;
        e = curl_easy_init();
        if (e && curl_easy_setopt(e, CURLOPT_BUFFERSIZE, bufsize) != CURLE_OK) {
            curl_easy_cleanup(e);
            e = NULL;
        }
    }
    return e;
}

int gw_xfer_start(gw_upstream *u, const struct gw_xfer_opts *o, const struct gw_xfer_cbs *cbs,
                  void *data, gw_xfer **out)
{
    gw_xfer *x = gw_calloc(1, sizeof *x);
    if (!x)
        return GW_ENOMEM;
    x->u = u;
    x->id = ++u->next_id;
    x->cbs = *cbs;
    x->data = data;
    x->easy = easy_for(u, o->stream ? STREAM_BUFSIZE : DEFAULT_BUFSIZE);
    if (!x->easy) {
        gw_free(x);
        return GW_ENOMEM;
    }
    CURL *e = x->easy;
    if (o->dest) {
        x->dest = *o->dest;
        x->has_dest = 1;
    }
    curl_easy_setopt(e, CURLOPT_URL, o->url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, prereq_cb);
    curl_easy_setopt(e, CURLOPT_PREREQDATA, x);
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->err);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_cb);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, x);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, close_cb);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, u);
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
        easy_put(u, e);
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
    easy_put(u, x->easy);
    xfer_unlink(x);
    gw_free(x);
}

unsigned gw_upstream_live(const gw_upstream *u) { return u->live; }

void gw_upstream_get_stats(const gw_upstream *u, struct gw_upstream_stats *out)
{
    unsigned parked = 0;
    *out = u->st;
    for (const struct sock *s = u->socks; s; s = s->next)
        parked += s->parked;
    out->polls_parked = parked;
    out->easy_idle = u->npool;
}

static void free_upstream(uv_handle_t *h)
{
    gw_upstream *u = h->data;
    gw_free(u->fds);
    gw_free(u);
}

void gw_upstream_free(gw_upstream *u)
{
    if (!u)
        return;
    while (u->xfers)
        gw_xfer_abort(u->xfers);
    /* Closes the cached connections through close_cb, which closes their
     * parked polls. */
    curl_multi_cleanup(u->multi);
    while (u->npool > 0)
        curl_easy_cleanup(u->pool[--u->npool]);
    while (u->socks) /* anything curl closed without telling us */
        sock_close(u, u->socks);
    uv_timer_stop(&u->timer);
    uv_close((uv_handle_t *)&u->timer, free_upstream);
}
