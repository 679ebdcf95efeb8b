/* sseload: the benchmark's SSE client (wrk cannot hold a response open or
 * time the first event of one).
 *
 *   sseload ttfe -p PORT -u PATH -b BODYFILE [-H "Name: value"]... -n N
 *       One keep-alive connection, N POSTs one after another. For each, the
 *       time from the request's send() to the first byte of the first
 *       "data:" line, and to the end of the response. Prints one JSON line:
 *       {"n":..,"errors":..,"first_p50_us":..,"first_p99_us":..,"full_p50_us":..}
 *
 *   sseload hold -p PORT -u PATH -b BODYFILE [-H ...] -n N -c PENDING -t SECONDS
 *       Opens N connections, each POSTing the body, at most PENDING of them
 *       waiting for their first event at a time (so the listen backlog never
 *       overflows). When every stream has delivered its first event (or a
 *       60 s ramp limit passes) prints "READY {json}", keeps reading (and
 *       discarding) for SECONDS, prints "DONE {json}", closes everything.
 *       Streams that end or fail early are counted, never reopened.
 *
 * Loopback only (127.0.0.1). Bounded: every wait has a deadline. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_HEADERS 8
#define RESP_MAX (1 << 20)
#define RAMP_LIMIT_S 60.0

static int port;
static const char *path = "/";
static const char *headers[MAX_HEADERS];
static int nheaders;
static char *req;
static size_t req_len;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    perror(what);
    exit(2);
}

static void build_request(const char *bodyfile)
{
    FILE *f = fopen(bodyfile, "rb");
    if (!f)
        die(bodyfile);
    char body[65536];
    size_t blen = fread(body, 1, sizeof body, f);
    fclose(f);
    size_t cap = blen + 4096;
    req = malloc(cap);
    if (!req)
        die("malloc");
    int n = snprintf(req, cap, "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                               "Content-Type: application/json\r\nContent-Length: %zu\r\n",
                     path, blen);
    for (int i = 0; i < nheaders; i++)
        n += snprintf(req + n, cap - (size_t)n, "%s\r\n", headers[i]);
    n += snprintf(req + n, cap - (size_t)n, "\r\n");
    memcpy(req + n, body, blen);
    req_len = (size_t)n + blen;
}

static int open_conn(int nonblock)
{
    int fd = socket(AF_INET, SOCK_STREAM | (nonblock ? SOCK_NONBLOCK : 0), 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port),
                            .sin_addr.s_addr = htonl(0x7f000001)};
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    return fd;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p)
{
    if (n == 0)
        return -1;
    int i = (int)(p * (n - 1) + 0.5);
    return v[i];
}

/* ---- ttfe ---------------------------------------------------------------------- */

/* Returns 1 when buf[0..len) holds a complete response (Content-Length or
 * chunked), 0 when more is needed, -1 on a malformed head. */
static int response_done(const char *buf, size_t len)
{
    const char *end = memmem(buf, len, "\r\n\r\n", 4);
    if (!end)
        return 0;
    size_t head = (size_t)(end - buf) + 4;
    const char *cl = memmem(buf, head, "\r\nContent-Length:", 17);
    if (!cl)
        cl = memmem(buf, head, "\r\ncontent-length:", 17);
    if (cl)
        return len - head >= strtoul(cl + 17, NULL, 10);
    if (memmem(buf, head, "chunked", 7))
        return len - head >= 5 && memmem(buf + head, len - head, "\r\n0\r\n\r\n", 7) != NULL;
    return -1;
}

static int run_ttfe(int n)
{
    double *first = calloc((size_t)n, sizeof *first), *full = calloc((size_t)n, sizeof *full);
    char *buf = malloc(RESP_MAX);
    if (!first || !full || !buf)
        die("malloc");
    int fd = -1, ok = 0, errors = 0;
    double deadline = now_s() + 120;
    for (int i = 0; i < n && now_s() < deadline; i++) {
        if (fd < 0 && (fd = open_conn(0)) < 0)
            die("connect");
        struct timeval tv = {10, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        double t0 = now_s(), t1 = 0;
        if (send(fd, req, req_len, MSG_NOSIGNAL) != (ssize_t)req_len) {
            errors++, close(fd), fd = -1;
            continue;
        }
        size_t len = 0;
        int done = 0;
        while (!done) {
            ssize_t r = recv(fd, buf + len, RESP_MAX - len - 1, 0);
            if (r <= 0)
                break;
            len += (size_t)r;
            buf[len] = 0;
            if (!t1 && memmem(buf, len, "data:", 5))
                t1 = now_s();
            done = response_done(buf, len);
        }
        double t2 = now_s();
        if (done != 1 || !t1 || strncmp(buf, "HTTP/1.1 200", 12) != 0) {
            errors++;
            if (fd >= 0)
                close(fd);
            fd = -1;
            continue;
        }
        first[ok] = (t1 - t0) * 1e6;
        full[ok] = (t2 - t0) * 1e6;
        ok++;
        if (memmem(buf, len, "Connection: close", 17) || memmem(buf, len, "connection: close", 17))
            close(fd), fd = -1;
    }
    if (fd >= 0)
        close(fd);
    qsort(first, (size_t)ok, sizeof *first, cmp_d);
    qsort(full, (size_t)ok, sizeof *full, cmp_d);
    printf("{\"n\":%d,\"errors\":%d,\"first_p50_us\":%.1f,\"first_p90_us\":%.1f,"
           "\"first_p99_us\":%.1f,\"full_p50_us\":%.1f,\"full_p99_us\":%.1f}\n",
           ok, errors, pct(first, ok, .5), pct(first, ok, .9), pct(first, ok, .99),
           pct(full, ok, .5), pct(full, ok, .99));
    return ok > 0 ? 0 : 1;
}

/* ---- hold ---------------------------------------------------------------------- */

enum { S_CONNECTING, S_WAITING, S_STREAMING, S_CLOSED };

struct conn {
    int fd;
    int state;
    size_t sent;
    double t0;
    char tail[8]; /* last bytes of the previous read, so "data:" split across reads is seen */
};

static int run_hold(int n, int pending_max, double hold_s)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    struct conn *c = calloc((size_t)n, sizeof *c);
    double *first = calloc((size_t)n, sizeof *first);
    int ep = epoll_create1(0);
    if (!c || !first || ep < 0)
        die("setup");
    int opened = 0, pending = 0, streaming = 0, failed = 0, ended = 0, nfirst = 0;
    static char rbuf[65536];
    double start = now_s(), ramp_end = 0;
    struct epoll_event evs[256];
    int phase = 0; /* 0 ramp, 1 hold */
    double hold_end = 0;
    for (;;) {
        double t = now_s();
        if (phase == 0) {
            while (opened < n && pending < pending_max) {
                struct conn *k = &c[opened];
                k->fd = open_conn(1);
                k->t0 = t;
                opened++;
                if (k->fd < 0) {
                    k->state = S_CLOSED, failed++;
                    continue;
                }
                struct epoll_event e = {.events = EPOLLOUT | EPOLLIN, .data.u32 = (unsigned)(opened - 1)};
                epoll_ctl(ep, EPOLL_CTL_ADD, k->fd, &e);
                pending++;
            }
            if ((opened == n && pending == 0) || t - start > RAMP_LIMIT_S) {
                ramp_end = t;
                qsort(first, (size_t)nfirst, sizeof *first, cmp_d);
                printf("READY {\"streams\":%d,\"failed\":%d,\"ended\":%d,\"pending\":%d,"
                       "\"ramp_s\":%.3f,\"first_p50_ms\":%.2f,\"first_p99_ms\":%.2f}\n",
                       streaming, failed, ended, pending, ramp_end - start,
                       pct(first, nfirst, .5), pct(first, nfirst, .99));
                fflush(stdout);
                phase = 1;
                hold_end = t + hold_s;
            }
        } else if (t >= hold_end) {
            break;
        }
        int k = epoll_wait(ep, evs, 256, 50);
        for (int i = 0; i < k; i++) {
            struct conn *x = &c[evs[i].data.u32];
            if (x->state == S_CLOSED)
                continue;
            if (x->state == S_CONNECTING && (evs[i].events & EPOLLOUT)) {
                ssize_t w = send(x->fd, req + x->sent, req_len - x->sent, MSG_NOSIGNAL);
                if (w > 0 && (x->sent += (size_t)w) == req_len) {
                    x->state = S_WAITING;
                    struct epoll_event e = {.events = EPOLLIN, .data.u32 = evs[i].data.u32};
                    epoll_ctl(ep, EPOLL_CTL_MOD, x->fd, &e);
                } else if (w < 0 && errno != EAGAIN) {
                    goto fail;
                }
                continue;
            }
            if (!(evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                continue;
            for (;;) {
                ssize_t r = recv(x->fd, rbuf, sizeof rbuf, 0);
                if (r == 0 || (r < 0 && errno != EAGAIN)) {
                    if (x->state == S_STREAMING)
                        streaming--, ended++;
                    else
                        goto fail;
                    close(x->fd), x->state = S_CLOSED;
                    break;
                }
                if (r < 0)
                    break;
                if (x->state == S_WAITING) {
                    char probe[16];
                    size_t tl = strlen(x->tail), m = (size_t)r < 8 ? (size_t)r : 8;
                    memcpy(probe, x->tail, tl);
                    memcpy(probe + tl, rbuf, m);
                    int seen = memmem(probe, tl + m, "data:", 5) || memmem(rbuf, (size_t)r, "data:", 5);
                    if (seen) {
                        x->state = S_STREAMING;
                        first[nfirst++] = (now_s() - x->t0) * 1e3;
                        pending--, streaming++;
                    } else {
                        size_t keep = (size_t)r < 7 ? (size_t)r : 7;
                        memcpy(x->tail, rbuf + r - keep, keep);
                        x->tail[keep] = 0;
                    }
                }
            }
            continue;
        fail:
            failed++, pending--;
            close(x->fd), x->state = S_CLOSED;
        }
    }
    printf("DONE {\"streams_at_end\":%d,\"ended_early\":%d,\"failed\":%d}\n", streaming, ended,
           failed);
    fflush(stdout);
    for (int i = 0; i < opened; i++)
        if (c[i].state != S_CLOSED)
            close(c[i].fd);
    return streaming > 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: sseload ttfe|hold -p PORT -u PATH -b BODYFILE [-H h]... -n N "
                        "[-c PENDING -t SECONDS]\n");
        return 2;
    }
    const char *mode = argv[1], *bodyfile = NULL;
    int n = 100, pending = 500;
    double hold = 10;
    for (int i = 2; i + 1 < argc; i += 2) {
        const char *o = argv[i], *v = argv[i + 1];
        if (!strcmp(o, "-p"))
            port = (int)strtol(v, NULL, 10);
        else if (!strcmp(o, "-u"))
            path = v;
        else if (!strcmp(o, "-b"))
            bodyfile = v;
        else if (!strcmp(o, "-H") && nheaders < MAX_HEADERS)
            headers[nheaders++] = v;
        else if (!strcmp(o, "-n"))
            n = (int)strtol(v, NULL, 10);
        else if (!strcmp(o, "-c"))
            pending = (int)strtol(v, NULL, 10);
        else if (!strcmp(o, "-t"))
            hold = strtod(v, NULL);
    }
    if (!port || !bodyfile || n <= 0 || pending <= 0) {
        fprintf(stderr, "sseload: -p, -b and a positive -n are required\n");
        return 2;
    }
    build_request(bodyfile);
    return !strcmp(mode, "ttfe") ? run_ttfe(n) : run_hold(n, pending, hold);
}
