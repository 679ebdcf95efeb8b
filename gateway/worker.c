/* Worker process: one libuv loop running lws (foreign loop), curl multi and
 * hiredis async; its own SO_REUSEPORT listener whose connections are
 * accept4()ed here and adopted by lws (c-core-notes §5: lws's own listen
 * sharing does not work with Debian's build). */
#include <dlfcn.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uv.h> /* before libwebsockets.h */
#include <curl/curl.h>
#include <libwebsockets.h>
#include "gateway/core/alloc.h"
#include "gateway/core/clock.h"
#include "gateway/core/err.h"
#include "gateway/core/log.h"
#include "gateway/app/app.h"
#include "gateway/http/http.h"
#include "gateway/http/upstream.h"
#include "gateway/relay/billing.h"
#include "gateway/relay/relay.h"
#include "gateway/state/config_watch.h"
#include "gateway/state/options.h"
#include "gateway/state/redis.h"
#include "persist/store.h"
#include "gateway/worker.h"

#define ACCEPT_BATCH 64
#define DRAIN_POLL_MS 50

static int open_listener(const struct gw_config *cfg)
{
    struct sockaddr_in sa;
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)cfg->port);
    inet_pton(AF_INET, cfg->bind_address, &sa.sin_addr);
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 1024) < 0) {
        GW_ERROR("listen on %s:%d: %s", cfg->bind_address, cfg->port, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* hiredis resolves host names with a blocking lookup on every (re)connect;
 * resolve once here, before the loop runs, and hand it an address literal. */
static void resolve_redis_host(struct gw_redis_addr *addr)
{
    struct addrinfo hints, *res = NULL;
    if (!addr->host[0])
        return;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(addr->host, NULL, &hints, &res) != 0 || !res) {
        GW_WARN("cannot resolve Redis host %s; hiredis will try", addr->host);
        return;
    }
    const void *a = res->ai_family == AF_INET
                        ? (const void *)&((struct sockaddr_in *)res->ai_addr)->sin_addr
                        : (const void *)&((struct sockaddr_in6 *)res->ai_addr)->sin6_addr;
    char ip[INET6_ADDRSTRLEN];
    if (inet_ntop(res->ai_family, a, ip, sizeof ip))
        snprintf(addr->host, sizeof addr->host, "%s", ip);
    freeaddrinfo(res);
}

static void on_accept(uv_poll_t *h, int status, int events)
{
    struct gw_worker *w = h->data;
    int one = 1;
    if (status < 0 || w->draining)
        return;
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        int fd = accept4(w->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
                errno != ECONNABORTED)
                GW_WARN("accept: %s", strerror(errno));
            return;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        gw_http_adopt(w, fd);
    }
}

static void close_listener(struct gw_worker *w)
{
    if (w->listen_fd < 0)
        return;
    uv_poll_stop(&w->listen_poll);
    uv_close((uv_handle_t *)&w->listen_poll, NULL);
    close(w->listen_fd);
    w->listen_fd = -1;
}

/* Teardown order from c-core-notes §1: lws first (closing every wsi aborts
 * the transfers through the requests' abort callbacks), then curl, then
 * Redis, then our own handles. */
static void shutdown_now(struct gw_worker *w)
{
    uv_timer_stop(&w->drain_timer);
    gw_http_close_pending(w); /* sockets still sending their first head (accept.c) */
    if (w->ctx)
        lws_context_destroy(w->ctx);
    gw_relay_worker_stop(w);
    gw_upstream_free(w->up);
    w->up = NULL;
    gw_cfgwatch_stop(w->cfgwatch); /* before Redis: its GET in flight comes back closed */
    w->cfgwatch = NULL;
    gw_redis_free(w->redis);
    w->redis = NULL;
    uv_close((uv_handle_t *)&w->drain_timer, NULL);
    uv_close((uv_handle_t *)&w->sig_term, NULL);
    uv_close((uv_handle_t *)&w->sig_int, NULL);
    /* Closing the uv handles restored the default action; the supervisor's
     * forwarded SIGTERM may still be on its way and must not kill us now. */
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
}

static void on_drain_tick(uv_timer_t *t)
{
    struct gw_worker *w = t->data;
    if (w->stats.live_reqs == 0 || gw_clock_mono_ms() >= w->drain_deadline_ms) {
        if (w->stats.live_reqs)
            GW_WARN("shutdown timeout: cutting %llu requests",
                    (unsigned long long)w->stats.live_reqs);
        shutdown_now(w);
    }
}

static void on_signal(uv_signal_t *s, int signum)
{
    struct gw_worker *w = s->data;
    if (w->draining)
        return;
    w->draining = 1;
    GW_INFO("draining (%llu in flight, up to %ds)", (unsigned long long)w->stats.live_reqs,
            w->cfg->shutdown_timeout);
    close_listener(w);
    w->drain_deadline_ms = gw_clock_mono_ms() + (uint64_t)w->cfg->shutdown_timeout * 1000u;
    uv_timer_start(&w->drain_timer, on_drain_tick, 0, DRAIN_POLL_MS);
}

static void lws_log_emit(int level, const char *line)
{
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    GW_WARN("lws: %.*s", (int)n, line);
}

static int create_lws(struct gw_worker *w)
{
    struct lws_context_creation_info info;
    void *foreign_loops[1] = {&w->loop};
    /* P8: lws dlclose()s the evlib plugin at the end of context destroy while
     * uv close callbacks may still point into it; pin it. */
    if (!dlopen("libwebsockets-evlib_uv.so", RTLD_NOW | RTLD_NODELETE))
        GW_WARN("cannot pin libwebsockets-evlib_uv.so: %s", dlerror());
    lws_set_log_level(LLL_ERR, lws_log_emit);
    memset(&info, 0, sizeof info);
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_DISABLE_IPV6;
    info.foreign_loops = foreign_loops;
    info.pcontext = &w->ctx;
    info.protocols = gw_http_protocols();
    info.vhost_name = "gw";
    info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
    info.max_http_header_data = 16384;
    info.keepalive_timeout = 60;
    info.timeout_secs = 30;
    info.pt_serv_buf_size = 32768;
    info.user = w;
    w->ctx = lws_create_context(&info);
    if (!w->ctx)
        return GW_EIO;
    w->vh = lws_get_vhost_by_name(w->ctx, "gw"); /* P7: must check */
    return w->vh ? GW_OK : GW_EIO;
}

int gw_worker_main(int id, const struct gw_config *cfg, const struct gw_static *statics,
                   uint64_t start_time)
{
    static struct gw_worker worker;
    struct gw_worker *w = &worker;
    char tag[16], err[256];
    struct gw_redis_addr addr;

    prctl(PR_SET_PDEATHSIG, SIGTERM); /* never outlive a supervisor killed with -9 */
    snprintf(tag, sizeof tag, "w%d", id);
    gw_log_set_process(tag);
    snprintf(tag, sizeof tag, "tf-worker-%d", id);
    prctl(PR_SET_NAME, tag); /* shows in ps and /proc/<pid>/comm */
    snprintf(tag, sizeof tag, "w%d", id);
    w->id = id;
    w->cfg = cfg;
    w->statics = statics;
    w->start_time = start_time;
    w->listen_fd = -1;
    w->rng = (uint64_t)getpid() * 0x9E3779B97F4A7C15ull ^ (uint64_t)time(NULL);
    if (!w->rng)
        w->rng = 1;

    uv_loop_init(&w->loop);
    /* The supervisor forked us with SIGTERM/SIGINT blocked; unblock them once
     * the loop handles them, so a stop during start-up drains cleanly. */
    uv_timer_init(&w->loop, &w->drain_timer);
    w->drain_timer.data = w;
    uv_signal_init(&w->loop, &w->sig_term);
    uv_signal_init(&w->loop, &w->sig_int);
    w->sig_term.data = w->sig_int.data = w;
    uv_signal_start(&w->sig_term, on_signal, SIGTERM);
    uv_signal_start(&w->sig_int, on_signal, SIGINT);
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    sigprocmask(SIG_UNBLOCK, &stop, NULL);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    gw_http_set_app(gw_app()); /* routes and guards live above http/ */
    gw_option_set_builtin(gw_ratios_default_json); /* price options default to billing's */
    if (create_lws(w) != GW_OK) {
        GW_ERROR("libwebsockets context creation failed");
        return 1; /* P7: do not destroy a half-built context */
    }
    w->listen_fd = open_listener(cfg);
    if (w->listen_fd < 0)
        return 1;
    uv_poll_init(&w->loop, &w->listen_poll, w->listen_fd);
    w->listen_poll.data = w;
    uv_poll_start(&w->listen_poll, UV_READABLE, on_accept);

    if (gw_redis_parse_url(cfg->redis_conn_string, &addr, err, sizeof err) != GW_OK) {
        GW_ERROR("REDIS_CONN_STRING: %s", err);
        return 1;
    }
    resolve_redis_host(&addr);
    w->redis = gw_redis_new(&w->loop, &addr, (unsigned)cfg->redis_timeout_ms);
    if (gw_store_pool_new(cfg->sql_dsn, cfg->sqlite_path, 4, &w->pool, err, sizeof err) !=
        GW_OK) {
        GW_ERROR("SQL: %s", err);
        return 1;
    }
    w->cfgwatch = gw_cfgwatch_start(&w->loop, w->redis, w->pool, GW_CFGWATCH_POLL_MS);
    if (!w->redis || !w->cfgwatch || gw_upstream_new(&w->loop, &w->up) != GW_OK ||
        gw_relay_worker_init(w) != GW_OK) {
        GW_ERROR("out of memory at worker start");
        return 1;
    }

    GW_DEBUG("worker %d serving", id);
    uv_run(&w->loop, UV_RUN_DEFAULT);
    if (w->ctx) { /* c-core-notes §1, shutdown step 2 */
        lws_context_destroy(w->ctx);
        uv_run(&w->loop, UV_RUN_DEFAULT);
    }
    gw_relay_worker_free(w); /* every call has ended: the loop is empty */
    int rc = uv_loop_close(&w->loop);
    if (rc != 0)
        GW_WARN("uv_loop_close: %s", uv_strerror(rc));
    gw_store_pool_free(w->pool);
    curl_global_cleanup();
    GW_DEBUG("worker %d stopped", id);
    return rc == 0 ? 0 : 1;
}
