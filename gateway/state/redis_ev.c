/* hiredis event adapter for redis.c (redis_ev.h).
 *
 * Why not hiredis's adapters/libuv.h: it calls uv_poll_start() for every
 * addRead/addWrite/delWrite, and libuv 1.44's uv_poll_start() always begins
 * with uv__poll_stop() (EPOLL_CTL_DEL) and re-adds the fd on the next loop
 * turn (ADD): about 8 epoll_ctl and an extra loop iteration (to learn that
 * the socket is writable) per command. This adapter:
 * - reads: one uv_poll per connection, started for UV_READABLE once and left
 *   on (hiredis calls addRead after every read and write: a no-op here);
 * - writes: a command marks the connection write-pending and is flushed with
 *   redisAsyncHandleWrite() from a uv_check (right after the I/O phase, so
 *   the commands issued by every lws/curl/Redis callback of one iteration
 *   leave in one write) or, when the loop is about to block, from a
 *   uv_prepare (commands issued from timer, idle or close callbacks, or
 *   outside the loop). Both run only while a write is pending; starting and
 *   stopping them makes no system call. No other prepare handle in the
 *   worker issues Redis commands (lws uses an idle handle, which runs before
 *   prepare): one that did would see its command wait until the loop wakes;
 * - the poll asks for UV_WRITABLE only while connecting (hiredis learns that
 *   connect(2) finished from the first writable event) and when a flush could
 *   not write everything (hiredis calls addWrite from inside it), until
 *   hiredis has drained its buffer. */
#include <stdlib.h>
#include "gateway/core/alloc.h"
#include "gateway/core/err.h"
#include "gateway/state/redis_ev.h"

/* The event state of one hiredis connection (ac->ev.data). Freed in the
 * poll's close callback, so it outlives any hiredis call stack that frees
 * the connection: after a call into hiredis, check ev->ac, not the memory. */
struct gw__redis_ev {
    struct gw__redis_flusher *f;
    redisAsyncContext *ac; /* NULL once hiredis called cleanup */
    uv_poll_t poll;
    int events;              /* mask the poll is started with; 0 = stopped */
    unsigned want_read : 1;  /* hiredis asked for reads (always, once connected) */
    unsigned poll_write : 1; /* writes wait for UV_WRITABLE (connecting, socket full) */
    unsigned flushing : 1;   /* inside our redisAsyncHandleWrite() */
};

static void on_ev_poll(uv_poll_t *h, int status, int events);
static void on_flush_check(uv_check_t *h);
static void on_flush_prepare(uv_prepare_t *h);

/* uv_poll_start() costs an epoll_ctl DEL + ADD even when the mask does not
 * change, uv_poll_stop() a DEL: only when the mask really changes. */
static void ev_apply(struct gw__redis_ev *ev)
{
    int want = (ev->want_read ? UV_READABLE : 0) | (ev->poll_write ? UV_WRITABLE : 0);

    if (want == ev->events || ev->ac == NULL)
        return;
    ev->events = want;
    if (want == 0)
        uv_poll_stop(&ev->poll);
    else
        uv_poll_start(&ev->poll, want, on_ev_poll);
}

static void flush_stop(struct gw__redis_flusher *f)
{
    f->pending = NULL;
    uv_check_stop(&f->check);
    uv_prepare_stop(&f->prepare);
}

static void ev_add_read(void *p)
{
    struct gw__redis_ev *ev = p;

    ev->want_read = 1;
    ev_apply(ev);
}

static void ev_del_read(void *p) /* not called by hiredis 0.14; for completeness */
{
    struct gw__redis_ev *ev = p;

    ev->want_read = 0;
    ev_apply(ev);
}

static void ev_add_write(void *p)
{
    struct gw__redis_ev *ev = p;
    struct gw__redis_flusher *f = ev->f;

    if (ev->poll_write)
        return; /* already waiting for the socket */
    if (!(ev->ac->c.flags & REDIS_CONNECTED) || ev->flushing) {
        /* Connecting, or our flush left bytes behind (socket full). */
        if (f->pending == ev)
            flush_stop(f);
        ev->poll_write = 1;
        ev_apply(ev);
        return;
    }
    if (f->pending == ev)
        return;
    f->pending = ev;
    uv_check_start(&f->check, on_flush_check);
    uv_prepare_start(&f->prepare, on_flush_prepare);
}

static void ev_del_write(void *p)
{
    struct gw__redis_ev *ev = p;

    if (ev->f->pending == ev)
        flush_stop(ev->f);
    ev->poll_write = 0;
    ev_apply(ev);
}

static void on_ev_closed(uv_handle_t *h)
{
    gw_free(h->data);
}

/* Called exactly once per connection, from inside redisAsyncFree() or a
 * disconnect; the only place the poll is closed (pitfall P9). The fd is
 * still open here: hiredis closes it after this returns. */
static void ev_cleanup(void *p)
{
    struct gw__redis_ev *ev = p;

    if (ev->f->pending == ev)
        flush_stop(ev->f);
    ev->ac = NULL;
    uv_close((uv_handle_t *)&ev->poll, on_ev_closed);
}

static void on_ev_poll(uv_poll_t *h, int status, int events)
{
    struct gw__redis_ev *ev = h->data;

    if (status < 0) {
        /* POLLERR: libuv has stopped the poll. hiredis's own adapter ignores
         * this and the connection hangs; a read reports the socket's error
         * (or a failed connect) and hiredis tears the connection down. If it
         * does not, hiredis's addRead starts the poll again. */
        ev->events = 0;
        events = UV_READABLE;
    }
    if (ev->ac != NULL && (events & UV_READABLE))
        redisAsyncHandleRead(ev->ac);
    if (ev->ac != NULL && (events & UV_WRITABLE))
        redisAsyncHandleWrite(ev->ac);
}

static void flush(struct gw__redis_flusher *f)
{
    struct gw__redis_ev *ev = f->pending;

    if (ev == NULL || ev->ac == NULL) {
        flush_stop(f);
        return;
    }
    f->flushes++;
    /* Writes what hiredis holds: done -> delWrite (flush_stop); short ->
     * addWrite with flushing set (UV_WRITABLE); error -> the connection is
     * freed, with its pending callbacks, and cleanup runs. */
    ev->flushing = 1;
    redisAsyncHandleWrite(ev->ac);
    ev->flushing = 0;
    if (f->pending == ev && ev->ac == NULL)
        flush_stop(f);
}

static void on_flush_check(uv_check_t *h)
{
    flush(h->data);
}

/* Only when the loop is about to block. When it will not (lws's idle
 * handle is active, I/O callbacks are pending, ...), the uv_check after this
 * iteration's I/O phase sends these commands together with those the I/O
 * callbacks add: one write per iteration under load. */
static void on_flush_prepare(uv_prepare_t *h)
{
    if (uv_backend_timeout(h->loop) != 0)
        flush(h->data);
}

void gw__redis_flusher_init(uv_loop_t *loop, struct gw__redis_flusher *f, void *owner)
{
    uv_check_init(loop, &f->check);
    uv_prepare_init(loop, &f->prepare);
    f->check.data = f->prepare.data = f;
    f->pending = NULL;
    f->flushes = 0;
    f->owner = owner;
}

int gw__redis_ev_attach(uv_loop_t *loop, struct gw__redis_flusher *f, redisAsyncContext *ac)
{
    struct gw__redis_ev *ev = gw_calloc(1, sizeof *ev);

    if (ev == NULL)
        return GW_ENOMEM;
    if (uv_poll_init(loop, &ev->poll, ac->c.fd) != 0) {
        gw_free(ev);
        return GW_EIO;
    }
    ev->f = f;
    ev->ac = ac;
    ev->poll.data = ev;
    ac->ev.data = ev;
    ac->ev.addRead = ev_add_read;
    ac->ev.delRead = ev_del_read;
    ac->ev.addWrite = ev_add_write;
    ac->ev.delWrite = ev_del_write;
    ac->ev.cleanup = ev_cleanup;
    return GW_OK;
}
