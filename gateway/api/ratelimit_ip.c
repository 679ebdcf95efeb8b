/* Per-client-IP limits (ratelimit_ip.h). */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include "gateway/api/ratelimit_ip.h"
#include "gateway/core/arena.h"
#include "gateway/core/err.h"
#include "gateway/core/log.h"
#include "gateway/core/str.h"
#include "gateway/http/http.h"
#include "gateway/http/router.h"
#include "gateway/state/ledger.h"
#include "gateway/worker.h"

#define MAX_PROXIES 32
#define XFF_MAX_HOPS 16

/* Critical routes (reference router/api-router.go CriticalRateLimit); matched
 * with the route matcher so ":id" and "*" mean what they mean in routes.c. */
static const struct gw_route critical[] = {
    {GW_M_POST, "/api/user/login", NULL, 0, NULL},
    {GW_M_POST, "/api/user/login/2fa", NULL, 0, NULL},
    {GW_M_POST, "/api/user/register", NULL, 0, NULL},
    {GW_M_POST, "/api/user/reset", NULL, 0, NULL},
    {GW_M_GET, "/api/reset_password", NULL, 0, NULL},
    {GW_M_GET, "/api/verification", NULL, 0, NULL},
    {GW_M_GET | GW_M_POST, "/api/oauth/*", NULL, 0, NULL},
    {GW_M_POST, "/api/setup", NULL, 0, NULL},
    {GW_M_POST, "/api/user/topup", NULL, 0, NULL},
    {GW_M_POST, "/api/user/pay", NULL, 0, NULL},
    {GW_M_POST, "/api/user/amount", NULL, 0, NULL},
    {GW_M_POST, "/api/channel/:id/key", NULL, 0, NULL},
};

struct limiter {
    const char *scope; /* key part: tf:rl:<scope>:<ip> */
    int enabled;
    long long limit, window_ms;
};

struct rl_ctx {
    gw_req *r;
    gw_ratelimit_next_cb next;
    struct limiter lim[2]; /* run in order; the first refusal answers */
    int n, at;
    const char *ip;
};

/* ---- client address ------------------------------------------------------- */

struct cidr {
    int family, bits;
    unsigned char addr[16];
};

static struct cidr proxies[MAX_PROXIES];
static int nproxies = -1; /* parsed once per worker; the config never changes */

static int parse_addr(const char *s, struct cidr *c)
{
    char item[64];
    size_t n = strlen(s);
    if (n == 0 || n >= sizeof item)
        return GW_EINVAL;
    memcpy(item, s, n + 1);
    char *slash = strchr(item, '/');
    if (slash)
        *slash = '\0';
    c->family = strchr(item, ':') ? AF_INET6 : AF_INET;
    c->bits = c->family == AF_INET6 ? 128 : 32;
    if (inet_pton(c->family, item, c->addr) != 1)
        return GW_EINVAL;
    long long b;
    if (slash && gw_str_to_ll(gw_str_c(slash + 1), 0, c->bits, &b) == GW_OK)
        c->bits = (int)b;
    return GW_OK;
}

static void load_proxies(const char *list)
{
    nproxies = 0;
    for (const char *p = list; p && *p && nproxies < MAX_PROXIES;) {
        size_t n = strcspn(p, ",");
        char item[64];
        while (n && *p == ' ')
            p++, n--;
        while (n && p[n - 1] == ' ')
            n--;
        if (n && n < sizeof item) {
            memcpy(item, p, n);
            item[n] = '\0';
            if (parse_addr(item, &proxies[nproxies]) == GW_OK)
                nproxies++;
        }
        p += strcspn(p, ",");
        if (*p == ',')
            p++;
    }
}

static int is_trusted(const char *ip)
{
    struct cidr a;
    if (nproxies <= 0 || parse_addr(ip, &a) != GW_OK)
        return 0;
    for (int i = 0; i < nproxies; i++) {
        const struct cidr *c = &proxies[i];
        if (c->family != a.family)
            continue;
        int full = c->bits / 8, rest = c->bits % 8;
        if (memcmp(c->addr, a.addr, (size_t)full) != 0)
            continue;
        if (rest && ((c->addr[full] ^ a.addr[full]) & (0xFF << (8 - rest)) & 0xFF))
            continue;
        return 1;
    }
    return 0;
}

const char *gw_client_ip(gw_req *r)
{
    const char *peer = gw_req_peer(r);
    if (nproxies < 0)
        load_proxies(r->worker->cfg->trusted_proxies);
    if (!nproxies || !is_trusted(peer))
        return peer;
    const char *xff = gw_req_header(r, "x-forwarded-for");
    if (!xff || !*xff)
        return peer;
    /* Right to left: the nearest hop that is not one of our proxies. */
    const char *end = xff + strlen(xff), *first = peer;
    for (int hop = 0; hop < XFF_MAX_HOPS && end > xff; hop++) {
        const char *start = end;
        while (start > xff && start[-1] != ',')
            start--;
        const char *b = start, *e = end;
        while (b < e && (*b == ' ' || *b == '\t'))
            b++;
        while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        struct cidr tmp;
        char *ip = gw_arena_strndup(r->arena, b, (size_t)(e - b));
        if (ip && parse_addr(ip, &tmp) == GW_OK) {
            if (!is_trusted(ip))
                return ip;
            first = ip;
        }
        end = start > xff ? start - 1 : xff;
    }
    return first; /* every hop is ours: the leftmost we could read */
}

/* ---- the check ------------------------------------------------------------ */

static int has_prefix_segment(const char *path, const char *prefix)
{
    size_t n = strlen(prefix);
    return strncmp(path, prefix, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static int is_critical(gw_req *r)
{
    const struct gw_route *rt;
    gw_str params[GW_MAX_PARAMS];
    int np;
    return gw_router_match(critical, sizeof critical / sizeof critical[0], r->method, r->path,
                           &rt, params, &np) == GW_OK;
}

static void refuse(gw_req *r, long long retry_after_ms)
{
    long long s = (retry_after_ms + 999) / 1000;
    gw_resp_header(r, "retry-after", gw_arena_printf(r->arena, "%lld", s < 1 ? 1 : s));
    if (has_prefix_segment(r->path, "/api") || has_prefix_segment(r->path, "/dashboard"))
        gw_resp_api_error(r, 429, "too many requests from this IP address, retry later");
    else
        gw_resp_openai_error(r, 429, "rate_limit_exceeded",
                             "too many requests from this IP address, retry later");
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void step(struct rl_ctx *c);

static void finish(struct rl_ctx *c, int go)
{
    gw_req *r = c->r;
    if (go && gw_req_alive(r))
        c->next(r);
    gw_req_unref(r);
}

static void warn_open(const char *why)
{
    static time_t last;
    time_t now = time(NULL);
    if (now != last) {
        last = now;
        GW_WARN("IP rate limit not checked (%s); request let through", why);
    }
}

static void on_reply(const struct gw_ratelimit_result *res, void *data)
{
    struct rl_ctx *c = data;
    if (res->status != GW_OK) {
        warn_open(res->error[0] ? res->error : gw_strerror(res->status));
    } else if (!res->allowed) {
        if (gw_req_alive(c->r))
            refuse(c->r, res->retry_after_ms);
        finish(c, 0);
        return;
    }
    c->at++;
    step(c);
}

static void step(struct rl_ctx *c)
{
    for (; c->at < c->n; c->at++) {
        const struct limiter *l = &c->lim[c->at];
        char key[GW_KEY_MAX + 80];
        if (gw_key_ratelimit(key, sizeof key, l->scope, c->ip) != GW_OK)
            continue;
        struct gw_ratelimit_req q = {key, l->limit, l->window_ms, now_ms(), 1};
        int rc = gw_ledger_ratelimit(c->r->worker->redis, &q, on_reply, c);
        if (rc == GW_OK)
            return; /* on_reply continues */
        warn_open(gw_strerror(rc));
    }
    finish(c, 1);
}

void gw_ratelimit_ip(gw_req *r, gw_ratelimit_next_cb next)
{
    const struct gw_config *cfg = r->worker->cfg;
    struct limiter lim[2];
    int n = 0;
    if (has_prefix_segment(r->path, "/api") || has_prefix_segment(r->path, "/dashboard")) {
        if (cfg->global_api_rl_enable)
            lim[n++] = (struct limiter){"ip:GA", 1, cfg->global_api_rl,
                                        cfg->global_api_rl_duration * 1000LL};
        if (cfg->critical_rl_enable && is_critical(r))
            lim[n++] = (struct limiter){"ip:CT", 1, cfg->critical_rl,
                                        cfg->critical_rl_duration * 1000LL};
    } else if (!gw_http_is_api_path(r->path) && !has_prefix_segment(r->path, "/__test")) {
        if (cfg->global_web_rl_enable)
            lim[n++] = (struct limiter){"ip:GW", 1, cfg->global_web_rl,
                                        cfg->global_web_rl_duration * 1000LL};
    }
    const char *ip = n ? gw_client_ip(r) : "";
    struct rl_ctx *c = n && *ip ? gw_arena_calloc(r->arena, sizeof *c) : NULL;
    if (!c) { /* nothing to check (or no address / no memory: fail open) */
        next(r);
        return;
    }
    c->r = r;
    c->next = next;
    c->ip = ip;
    c->n = n;
    memcpy(c->lim, lim, (size_t)n * sizeof lim[0]);
    gw_req_ref(r);
    step(c);
}
