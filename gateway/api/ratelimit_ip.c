/* Per-client-IP limits (ratelimit_ip.h). */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "gateway/api/ratelimit_ip.h"
#include "gateway/core/arena.h"
#include "gateway/core/cidr.h"
#include "gateway/core/clock.h"
#include "gateway/core/err.h"
#include "gateway/core/log.h"
#include "gateway/core/str.h"
#include "gateway/http/http.h"
#include "gateway/http/router.h"
#include "gateway/state/ledger.h"
#include "gateway/worker.h"

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

/* TRUSTED_PROXIES, parsed once per worker by the one CIDR parser
 * (core/cidr.h; the configuration check used it before start, so it
 * parses); kept for the worker's life. */
static gw_cidr_list *proxies;
static int proxies_loaded;

static int is_trusted(const char *ip)
{
    /* An empty list means "any address" to the matcher: here, no proxy. */
    return gw_cidr_list_count(proxies) > 0 && gw_cidr_list_match(proxies, ip);
}

const char *gw_client_ip(gw_req *r)
{
    const char *peer = gw_req_peer(r);
    if (!proxies_loaded) {
        const char *list = r->worker->cfg->trusted_proxies;
        proxies_loaded = 1;
        if (gw_cidr_list_parse(list, list ? strlen(list) : 0, &proxies, NULL, 0) != GW_OK)
            GW_WARN("TRUSTED_PROXIES does not parse: X-Forwarded-For is ignored");
    }
    if (!is_trusted(peer))
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
        char *ip = gw_arena_strndup(r->arena, b, (size_t)(e - b));
        if (ip && gw_cidr_ip_valid(ip)) {
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
    if (has_prefix_segment(r->path, "/api") || has_prefix_segment(r->path, "/dashboard/billing"))
        gw_resp_api_error(r, 429, "too many requests from this IP address, retry later");
    else
        gw_resp_openai_error(r, 429, "rate_limit_exceeded",
                             "too many requests from this IP address, retry later");
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
        struct gw_ratelimit_req q = {key, l->limit, l->window_ms, gw_clock_wall_ms(), 1};
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
    if (has_prefix_segment(r->path, "/api") || has_prefix_segment(r->path, "/dashboard/billing")) {
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
