/* A new connection until its first request head is complete.
 *
 * lws cannot turn a raw-role connection into a WebSocket one, so the choice
 * between the two is made before lws sees the socket: we read the first
 * head ourselves (head.c), then adopt the socket in the raw role with the
 * bytes read so far (HTTP: lws_glue.c parses every request), or hand an
 * upgrade to lws's HTTP role with lws_adopt_socket_vhost_readbuf. An
 * upgrade whose head holds a header name that lws 4.1.6 misparses (it would
 * swallow the next line) is refused with 400 instead.
 *
 * Bounded: at most GW_HEAD_MAX bytes plus one read are held, and a socket
 * that has not sent a whole head within HEAD_TIMEOUT_MS is closed. */
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>
#include "gateway/core/alloc.h"
#include "gateway/core/err.h"
#include "gateway/core/log.h"
#include "gateway/http/head.h"
#include "gateway/http/http.h"
#include "gateway/worker.h"

#define HEAD_TIMEOUT_MS 30000
#define READ_CHUNK 16384

struct pending {
    uv_poll_t poll;
    uv_timer_t timer;
    struct gw_worker *w;
    int fd;
    int closes; /* handle close callbacks still due */
    gw_buf in;
    struct pending *prev, *next;
};

static struct pending *pendings; /* one worker per process, one loop thread */
static struct gw_http_head head;

static void on_closed(uv_handle_t *h)
{
    struct pending *p = h->data;
    if (--p->closes == 0) {
        gw_buf_free(&p->in);
        gw_free(p);
    }
}

/* Stops watching the socket (before lws starts watching it: libuv allows
 * one poll handle per fd) and unlinks; the memory goes once both handles
 * have closed. The fd is not touched. */
static void release(struct pending *p)
{
    if (p->prev)
        p->prev->next = p->next;
    else
        pendings = p->next;
    if (p->next)
        p->next->prev = p->prev;
    p->closes = 2;
    uv_close((uv_handle_t *)&p->poll, on_closed);
    uv_close((uv_handle_t *)&p->timer, on_closed);
}

static void drop(struct pending *p)
{
    close(p->fd);
    release(p);
}

/* A head that lws's own parser would get wrong never reaches it. */
static int lws_safe(const struct gw_http_head *h)
{
    for (size_t i = 0; i < h->nfields; i++)
        if (gw__http_lws_trips(h->fields[i].name))
            return 0;
    return 1;
}

static void hand_over(struct pending *p, int hl)
{
    struct gw_worker *w = p->w;
    int fd = p->fd;
    gw_buf first = p->in;
    p->in = (gw_buf){0};
    release(p);
    if (hl > 0 && head.websocket) {
        if (lws_safe(&head)) {
            gw__http_adopt_ws(w, fd, &first);
            return;
        }
        static const char bad[] = "HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain\r\n"
                                  "content-length: 46\r\nconnection: close\r\n\r\n"
                                  "header name not supported on WebSocket upgrade";
        ssize_t n = send(fd, bad, sizeof bad - 1, MSG_NOSIGNAL);
        (void)n; /* best effort: the socket is new and its buffer empty */
        gw_buf_free(&first);
        close(fd);
        return;
    }
    gw__http_adopt_raw(w, fd, &first); /* a bad head is answered there */
}

/* Reads what is there; returns the head's length, 0 to wait, or < 0 for a
 * head that is malformed or too large (answered in the raw role), or
 * GW_ECLOSED when the peer went away. */
static int read_some(struct pending *p)
{
    char buf[READ_CHUNK];
    for (;;) {
        ssize_t n = recv(p->fd, buf, sizeof buf, 0);
        if (n == 0)
            return GW_ECLOSED;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            return GW_ECLOSED;
        }
        if (gw_buf_append(&p->in, buf, (size_t)n) != GW_OK)
            return GW_ETOOBIG;
        if ((size_t)n < sizeof buf || p->in.len >= GW_HEAD_MAX)
            break;
    }
    return p->in.len ? gw_http_head_parse(p->in.base, p->in.len, &head) : 0;
}

static void on_readable(uv_poll_t *h, int status, int events)
{
    struct pending *p = h->data;
    (void)events;
    int hl = status < 0 ? GW_ECLOSED : read_some(p);
    if (hl == GW_ECLOSED)
        drop(p);
    else if (hl != 0)
        hand_over(p, hl);
}

static void on_timeout(uv_timer_t *t)
{
    drop(t->data);
}

int gw_http_adopt(struct gw_worker *w, int fd)
{
    struct pending *p = gw_calloc(1, sizeof *p);
    if (!p) {
        close(fd);
        return GW_ENOMEM;
    }
    p->w = w;
    p->fd = fd;
    gw_buf_init(&p->in, GW_HEAD_MAX + READ_CHUNK);
    if (uv_poll_init(&w->loop, &p->poll, fd) != 0) {
        gw_free(p);
        close(fd);
        return GW_EIO;
    }
    uv_timer_init(&w->loop, &p->timer);
    p->poll.data = p->timer.data = p;
    p->next = pendings;
    if (pendings)
        pendings->prev = p;
    pendings = p;
    uv_poll_start(&p->poll, UV_READABLE, on_readable);
    uv_timer_start(&p->timer, on_timeout, HEAD_TIMEOUT_MS, 0);
    return GW_OK;
}

void gw_http_close_pending(struct gw_worker *w)
{
    (void)w;
    while (pendings)
        drop(pendings);
}
