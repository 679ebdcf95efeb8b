/* gw_upstream against a small HTTP/1.1 server on loopback (a thread of this
 * test): easy handles reused without inheriting anything of the previous
 * transfer, the receive buffer of streams, keep-alive connections keeping
 * their uv_poll, and fd numbers reused after failed connects and closed
 * connections. Every loop run is bounded, and every test ends with
 * gw_upstream_free() and uv_loop_close() == 0. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <poll.h>
#include <pthread.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <uv.h>
#include "gateway/core/err.h"
#include "gateway/core/dest.h"
#include "gateway/http/upstream.h"
#include "tests/unit/support/uv_dog.h"

/* ---- the server --------------------------------------------------------------
 * One thread, poll(). Paths:
 *   /echo...    200, the body is the raw request (head and body)
 *   /big?n=N    200, N bytes of a pattern (byte i is 'a' + i % 23)
 *   /close...   200 "bye" with Connection: close, then closes
 *   /fin...     200 "fin", then closes the idle connection without notice */

#define MAXC 32
#define REQMAX 65536

struct conn {
    int fd;
    char buf[REQMAX];
    size_t len;
};

struct server {
    int lfd, port, wake[2];
    pthread_t th;
    pthread_mutex_t mu;
    int accepts, requests; /* under mu */
    struct conn c[MAXC];
};

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

static void respond(int fd, const char *extra, const char *body, size_t n)
{
    char head[256];
    int h = snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n%s"
                                        "Content-Length: %zu\r\n\r\n", extra, n);
    write_all(fd, head, (size_t)h);
    write_all(fd, body, n);
}

/* Returns 1 when the connection is to be closed. */
static int serve_one(struct server *sv, struct conn *c)
{
    char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
    size_t head, clen = 0, total;
    const char *cl;

    if (end == NULL)
        return 0;
    head = (size_t)(end - c->buf) + 4;
    c->buf[head - 1] = '\0'; /* the head as a string for the lookups below */
    if ((cl = strcasestr(c->buf, "\r\ncontent-length:")) != NULL)
        clen = strtoul(cl + 17, NULL, 10);
    c->buf[head - 1] = '\n';
    total = head + clen;
    if (c->len < total)
        return 0;
    pthread_mutex_lock(&sv->mu);
    sv->requests++;
    pthread_mutex_unlock(&sv->mu);

    const char *path = strchr(c->buf, ' ');
    int rc = 0;
    path = path ? path + 1 : "";
    if (strncmp(path, "/big?n=", 7) == 0) {
        size_t n = strtoul(path + 7, NULL, 10);
        char *b = malloc(n ? n : 1);
        for (size_t i = 0; i < n; i++)
            b[i] = (char)('a' + i % 23);
        respond(c->fd, "", b, n);
        free(b);
    } else if (strncmp(path, "/close", 6) == 0) {
        respond(c->fd, "Connection: close\r\n", "bye", 3);
        rc = 1;
    } else if (strncmp(path, "/fin", 4) == 0) {
        respond(c->fd, "", "fin", 3);
        rc = 1;
    } else {
        respond(c->fd, "", c->buf, total);
    }
    memmove(c->buf, c->buf + total, c->len - total);
    c->len -= total;
    return rc;
}

static void *server_main(void *arg)
{
    struct server *sv = arg;

    for (;;) {
        struct pollfd p[MAXC + 2];
        int map[MAXC + 2], n = 0;
        p[n] = (struct pollfd){.fd = sv->wake[0], .events = POLLIN};
        map[n++] = -1;
        p[n] = (struct pollfd){.fd = sv->lfd, .events = POLLIN};
        map[n++] = -2;
        for (int i = 0; i < MAXC; i++)
            if (sv->c[i].fd >= 0) {
                p[n] = (struct pollfd){.fd = sv->c[i].fd, .events = POLLIN};
                map[n++] = i;
            }
        if (poll(p, (nfds_t)n, -1) < 0)
            continue;
        if (p[0].revents)
            break;
        if (p[1].revents & POLLIN) {
            int fd = accept(sv->lfd, NULL, NULL);
            for (int i = 0; fd >= 0 && i < MAXC; i++)
                if (sv->c[i].fd < 0) {
                    sv->c[i].fd = fd;
                    sv->c[i].len = 0;
                    fd = -1;
                    pthread_mutex_lock(&sv->mu);
                    sv->accepts++;
                    pthread_mutex_unlock(&sv->mu);
                }
            if (fd >= 0)
                close(fd);
        }
        for (int k = 2; k < n; k++) {
            struct conn *c = &sv->c[map[k]];
            ssize_t r;
            if (!p[k].revents)
                continue;
            r = read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
            if (r <= 0) {
                close(c->fd);
                c->fd = -1;
                continue;
            }
            c->len += (size_t)r;
            while (c->fd >= 0 && c->len > 0) {
                size_t before = c->len;
                if (serve_one(sv, c)) {
                    close(c->fd);
                    c->fd = -1;
                } else if (c->len == before) {
                    break; /* incomplete */
                }
            }
        }
    }
    for (int i = 0; i < MAXC; i++)
        if (sv->c[i].fd >= 0)
            close(sv->c[i].fd);
    return NULL;
}

static void server_start(struct server *sv)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    int one = 1;

    memset(sv, 0, sizeof *sv);
    for (int i = 0; i < MAXC; i++)
        sv->c[i].fd = -1;
    pthread_mutex_init(&sv->mu, NULL);
    sv->lfd = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(sv->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    assert_int_equal(bind(sv->lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(sv->lfd, 64), 0);
    getsockname(sv->lfd, (struct sockaddr *)&sa, &len);
    sv->port = ntohs(sa.sin_port);
    assert_int_equal(pipe(sv->wake), 0);
    assert_int_equal(pthread_create(&sv->th, NULL, server_main, sv), 0);
}

static void server_stop(struct server *sv)
{
    write_all(sv->wake[1], "x", 1);
    pthread_join(sv->th, NULL);
    close(sv->lfd);
    close(sv->wake[0]);
    close(sv->wake[1]);
    pthread_mutex_destroy(&sv->mu);
}

static int server_accepts(struct server *sv)
{
    pthread_mutex_lock(&sv->mu);
    int n = sv->accepts;
    pthread_mutex_unlock(&sv->mu);
    return n;
}

/* A loopback port with nobody listening. */
static int dead_port(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    bind(fd, (struct sockaddr *)&sa, sizeof sa);
    getsockname(fd, (struct sockaddr *)&sa, &len);
    port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

/* ---- fixture ------------------------------------------------------------ */

struct fx {
    uv_loop_t loop;
    struct gw_test_dog dog;
    gw_upstream *u;
    struct server sv;
};

#define RUN_UNTIL(f, cond, ms) GW_RUN_UNTIL(&(f)->loop, &(f)->dog, cond, ms)

static void run_for(struct fx *f, unsigned ms) { gw_test_run_for(&f->loop, &f->dog, ms); }

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    if (f == NULL || uv_loop_init(&f->loop) != 0)
        return -1;
    gw_test_dog_init(&f->loop, &f->dog);
    if (gw_upstream_new(&f->loop, &f->u) != GW_OK)
        return -1;
    server_start(&f->sv);
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;
    int rc;

    gw_upstream_free(f->u);
    uv_close((uv_handle_t *)&f->dog.timer, NULL);
    for (int i = 0; i < 1000 && uv_loop_alive(&f->loop); i++)
        uv_run(&f->loop, UV_RUN_NOWAIT);
    rc = uv_loop_close(&f->loop);
    if (rc != 0)
        print_error("uv_loop_close: %s\n", uv_strerror(rc));
    server_stop(&f->sv);
    free(f);
    return rc == 0 ? 0 : -1;
}

/* ---- one transfer ------------------------------------------------------- */

struct res {
    int done, result, status, chunks;
    size_t len, max_chunk, cap;
    char *body;
    char err[256];
    gw_xfer *x;
    int pause_once; /* on_data answers GW_EAGAIN once */
};

static void on_headers(gw_xfer *x, int status, const char *ctype, void *data)
{
    struct res *r = data;
    assert_ptr_equal(x, r->x);
    r->status = status;
}

static int on_data(gw_xfer *x, const char *p, size_t n, void *data)
{
    struct res *r = data;
    assert_ptr_equal(x, r->x);
    if (r->pause_once) {
        r->pause_once = 0;
        return GW_EAGAIN;
    }
    if (r->len + n > r->cap) {
        r->cap = (r->len + n) * 2;
        r->body = realloc(r->body, r->cap + 1);
    }
    memcpy(r->body + r->len, p, n);
    r->len += n;
    r->body[r->len] = '\0';
    r->chunks++;
    if (n > r->max_chunk)
        r->max_chunk = n;
    return GW_OK;
}

static void on_done(gw_xfer *x, int result, const char *errmsg, void *data)
{
    struct res *r = data;
    assert_ptr_equal(x, r->x);
    r->done++;
    r->result = result;
    snprintf(r->err, sizeof r->err, "%s", errmsg ? errmsg : "");
}

static const struct gw_xfer_cbs cbs = {on_headers, on_data, on_done};

static void start(struct fx *f, struct res *r, const struct gw_xfer_opts *o)
{
    memset(r, 0, sizeof *r);
    assert_int_equal(gw_xfer_start(f->u, o, &cbs, r, &r->x), GW_OK);
}

static void run_xfer(struct fx *f, struct res *r, const struct gw_xfer_opts *o)
{
    start(f, r, o);
    RUN_UNTIL(f, r->done > 0, 5000);
    assert_int_equal(r->done, 1);
}

static void url(struct fx *f, char *buf, size_t n, const char *path)
{
    snprintf(buf, n, "http://127.0.0.1:%d%s", f->sv.port, path);
}

/* ---- tests -------------------------------------------------------------- */

static void reused_handles_inherit_nothing(void **state)
{
    struct fx *f = *state;
    struct gw_upstream_stats st;
    struct curl_slist *h = NULL;
    struct res r;
    char u1[128], u2[128], proxy[64];

    /* 1: PUT with headers and a body, through a "proxy" (the same server,
     * which sees the absolute URL). */
    h = curl_slist_append(h, "X-First: one");
    h = curl_slist_append(h, "Content-Type: text/x-first");
    snprintf(proxy, sizeof proxy, "http://127.0.0.1:%d", f->sv.port);
    struct gw_xfer_opts o1 = {.method = "PUT", .url = "http://upstream.invalid/echo/1",
                              .headers = h, .body = "first-body", .body_len = 10,
                              .proxy = proxy};
    run_xfer(f, &r, &o1);
    assert_int_equal(r.result, GW_OK);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "PUT http://upstream.invalid/echo/1 HTTP/1.1\r\n"));
    assert_non_null(strstr(r.body, "X-First: one"));
    assert_non_null(strstr(r.body, "first-body"));
    free(r.body);
    curl_slist_free_all(h); /* the caller's, after on_done: the handle must not use it again */

    /* 2: a plain GET on the same (reused) handle: no proxy, no method, no
     * header list, no body of the first. */
    url(f, u2, sizeof u2, "/echo/2");
    struct gw_xfer_opts o2 = {.method = "GET", .url = u2};
    run_xfer(f, &r, &o2);
    assert_int_equal(r.result, GW_OK);
    assert_true(strncmp(r.body, "GET /echo/2 HTTP/1.1\r\n", 22) == 0);
    assert_null(strstr(r.body, "X-First"));
    assert_null(strstr(r.body, "text/x-first"));
    assert_null(strstr(r.body, "first-body"));
    assert_null(strstr(r.body, "Content-Length"));
    free(r.body);

    /* 3: a failed transfer fills its error buffer... */
    snprintf(u1, sizeof u1, "http://127.0.0.1:%d/x", dead_port());
    struct gw_xfer_opts o3 = {.method = "POST", .url = u1, .body = "b3", .body_len = 2};
    run_xfer(f, &r, &o3);
    assert_int_equal(r.result, GW_EIO);
    assert_string_not_equal(r.err, "");
    free(r.body);

    /* ...which the next one on the same handle does not see; a POST after a
     * PUT is a POST. */
    struct gw_xfer_opts o4 = {.method = "POST", .url = u2, .body = "b4", .body_len = 2};
    run_xfer(f, &r, &o4);
    assert_int_equal(r.result, GW_OK);
    assert_string_equal(r.err, "");
    assert_true(strncmp(r.body, "POST /echo/2 HTTP/1.1\r\n", 23) == 0);
    assert_non_null(strstr(r.body, "\r\n\r\nb4"));
    free(r.body);

    gw_upstream_get_stats(f->u, &st);
    assert_int_equal(st.easy_created, 1);
    assert_int_equal(st.easy_reused, 3);
    assert_int_equal(st.easy_idle, 1);
}

static void keepalive_connection_keeps_its_poll(void **state)
{
    struct fx *f = *state;
    struct gw_upstream_stats st;
    struct res r;
    char u[128];

    url(f, u, sizeof u, "/echo/ka");
    struct gw_xfer_opts o = {.method = "POST", .url = u, .body = "x", .body_len = 1};
    for (int i = 0; i < 20; i++) {
        run_xfer(f, &r, &o);
        assert_int_equal(r.result, GW_OK);
        free(r.body);
    }
    gw_upstream_get_stats(f->u, &st);
    assert_int_equal(server_accepts(&f->sv), 1);
    assert_int_equal(st.polls_created, 1);
    assert_int_equal(st.polls_reused, 19);
    assert_int_equal(st.polls_parked, 1);

    /* The server closes the idle connection: the parked poll stops, curl
     * finds the connection dead at the next transfer and opens another. */
    url(f, u, sizeof u, "/fin");
    struct gw_xfer_opts of = {.method = "GET", .url = u};
    run_xfer(f, &r, &of);
    assert_int_equal(r.result, GW_OK);
    free(r.body);
    run_for(f, 50);
    url(f, u, sizeof u, "/echo/after-fin");
    run_xfer(f, &r, &o);
    assert_int_equal(r.result, GW_OK);
    free(r.body);
    assert_int_equal(server_accepts(&f->sv), 2);

    /* Connection: close: curl closes it itself (through the close callback). */
    url(f, u, sizeof u, "/close");
    run_xfer(f, &r, &of);
    assert_int_equal(r.result, GW_OK);
    assert_string_equal(r.body, "bye");
    free(r.body);
    gw_upstream_get_stats(f->u, &st);
    assert_int_equal(st.polls_parked, 0);
    url(f, u, sizeof u, "/echo/after-close");
    run_xfer(f, &r, &o);
    assert_int_equal(r.result, GW_OK);
    free(r.body);
    assert_int_equal(server_accepts(&f->sv), 3);
    gw_upstream_get_stats(f->u, &st);
    assert_int_equal(st.polls_parked, 1);
}

/* The destination policy: refused before a socket exists on a new
 * connection, and before the request on a reused keep-alive connection
 * that a transfer with a looser policy opened; other schemes refused. */
static void destination_policy_on_new_and_reused_connections(void **state)
{
    struct fx *f = *state;
    struct gw_upstream_stats st0, st1;
    struct gw_dest_policy loose = {.allow_private = 1}, strict = {0};
    struct res r;
    char u[128];

    url(f, u, sizeof u, "/echo/open");
    struct gw_xfer_opts o = {.method = "GET", .url = u, .dest = &loose};
    run_xfer(f, &r, &o); /* leaves a keep-alive connection in curl's cache */
    assert_int_equal(r.result, GW_OK);
    free(r.body);
    gw_upstream_get_stats(f->u, &st0);
    assert_int_equal(st0.connects, 1);

    url(f, u, sizeof u, "/echo/reuse");
    o.dest = &strict;
    run_xfer(f, &r, &o);
    assert_int_equal(r.result, GW_EPERM);
    assert_null(r.body);
    assert_non_null(strstr(r.err, "private"));
    assert_null(strstr(r.err, "127.0.0.1"));
    gw_upstream_get_stats(f->u, &st1);
    assert_int_equal(st1.connects, st0.connects);         /* the cached one was checked */
    assert_int_equal(st1.dest_refused, st0.dest_refused + 1);
    assert_int_equal(server_accepts(&f->sv), 1);

    /* a fresh connection: refused in the opensocket callback, no socket */
    o.url = "http://localhost:1/x"; /* resolved by curl itself, never sent */
    run_xfer(f, &r, &o);
    assert_int_equal(r.result, GW_EPERM);
    gw_upstream_get_stats(f->u, &st0);
    assert_int_equal(st0.connects, st1.connects);
    assert_true(st0.dest_refused >= st1.dest_refused + 1);

    /* only http and https */
    struct gw_xfer_opts of = {.method = "GET", .url = "file:///etc/hostname", .dest = &loose};
    run_xfer(f, &r, &of);
    assert_int_equal(r.result, GW_EIO);
    assert_null(r.body);
}

static void fd_numbers_reused_after_failed_connects(void **state)
{
    struct fx *f = *state;
    struct res r, many[8];
    char ok[128], bad[128];

    /* curl 7.88 closes a socket that never connected with a plain close(),
     * without the close callback: its number comes back for the next
     * socket at once. Interleave failures, successes and parallel
     * transfers; none may hang, and libuv must never see one fd twice. */
    url(f, ok, sizeof ok, "/echo/mix");
    snprintf(bad, sizeof bad, "http://127.0.0.1:%d/x", dead_port());
    struct gw_xfer_opts og = {.method = "GET", .url = ok}, ob = {.method = "GET", .url = bad};
    for (int round = 0; round < 10; round++) {
        run_xfer(f, &r, &ob);
        assert_int_equal(r.result, GW_EIO);
        free(r.body);
        run_xfer(f, &r, &og);
        assert_int_equal(r.result, GW_OK);
        free(r.body);
        for (int i = 0; i < 8; i++)
            start(f, &many[i], i % 2 ? &og : &ob);
        RUN_UNTIL(f, many[0].done && many[1].done && many[2].done && many[3].done &&
                         many[4].done && many[5].done && many[6].done && many[7].done,
                  5000);
        for (int i = 0; i < 8; i++) {
            assert_int_equal(many[i].result, i % 2 ? GW_OK : GW_EIO);
            free(many[i].body);
        }
    }
    /* Every poll of a live connection is parked, none of a failed one. */
    struct gw_upstream_stats st;
    gw_upstream_get_stats(f->u, &st);
    assert_in_range(st.polls_parked, 1, 4);
}

static void stream_buffer_and_default_after_reuse(void **state)
{
    struct fx *f = *state;
    struct res r;
    char u[128];
    enum { N = 300000 };

    url(f, u, sizeof u, "/big?n=300000");
    /* A stream: curl hands the body over in pieces of at most 4 KiB. */
    struct gw_xfer_opts os = {.method = "GET", .url = u, .stream = 1};
    run_xfer(f, &r, &os);
    assert_int_equal(r.result, GW_OK);
    assert_int_equal(r.len, N);
    assert_true(r.max_chunk <= 4096);
    for (size_t i = 0; i < N; i++)
        if (r.body[i] != (char)('a' + i % 23))
            fail_msg("byte %zu", i);
    free(r.body);

    /* The same handle, not a stream: curl's default 16 KiB buffer again
     * (a handle still holding the 4 KiB buffer would overflow here, which
     * AddressSanitizer reports). */
    struct gw_xfer_opts od = {.method = "GET", .url = u};
    run_xfer(f, &r, &od);
    assert_int_equal(r.result, GW_OK);
    assert_int_equal(r.len, N);
    assert_true(r.max_chunk > 4096);
    for (size_t i = 0; i < N; i++)
        if (r.body[i] != (char)('a' + i % 23))
            fail_msg("byte %zu", i);
    free(r.body);
}

static void aborted_transfers_return_clean_handles(void **state)
{
    struct fx *f = *state;
    struct gw_upstream_stats st;
    struct res r, a;
    char u[128], big[128];

    url(f, big, sizeof big, "/big?n=2000000");
    url(f, u, sizeof u, "/echo/after-abort");
    /* Aborted at once, before curl did anything. */
    struct gw_xfer_opts ob = {.method = "GET", .url = big, .stream = 1};
    start(f, &a, &ob);
    gw_xfer_abort(a.x);
    /* Aborted mid-body while paused. */
    start(f, &a, &ob);
    a.pause_once = 1;
    RUN_UNTIL(f, a.status == 200 && a.pause_once == 0, 5000);
    run_for(f, 20);
    gw_xfer_abort(a.x);
    assert_int_equal(a.done, 0);
    free(a.body);

    struct gw_xfer_opts o = {.method = "POST", .url = u, .body = "z", .body_len = 1};
    run_xfer(f, &r, &o);
    assert_int_equal(r.result, GW_OK);
    assert_true(strncmp(r.body, "POST /echo/after-abort HTTP/1.1\r\n", 33) == 0);
    free(r.body);
    gw_upstream_get_stats(f->u, &st);
    assert_int_equal(st.easy_created, 1);
    assert_int_equal(gw_upstream_live(f->u), 0);
}

static void free_with_live_and_parked(void **state)
{
    struct fx *f = *state;
    struct res r, a;
    char u[128], big[128];

    /* Freed with a parked keep-alive poll and a live paused transfer: no
     * callback runs, and teardown closes every handle once. */
    url(f, u, sizeof u, "/echo/p");
    url(f, big, sizeof big, "/big?n=3000000");
    struct gw_xfer_opts o = {.method = "GET", .url = u}, ob = {.method = "GET", .url = big};
    run_xfer(f, &r, &o);
    free(r.body);
    start(f, &a, &ob);
    a.pause_once = 1;
    RUN_UNTIL(f, a.status == 200 && a.pause_once == 0, 5000);
    gw_upstream_free(f->u);
    f->u = NULL;
    run_for(f, 20);
    assert_int_equal(a.done, 0);
    free(a.body);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
    const struct CMUnitTest tests[] = {
        T(reused_handles_inherit_nothing),
        T(keepalive_connection_keeps_its_poll),
        T(destination_policy_on_new_and_reused_connections),
        T(fd_numbers_reused_after_failed_connects),
        T(stream_buffer_and_default_after_reuse),
        T(aborted_transfers_return_clean_handles),
        T(free_with_live_and_parked),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
