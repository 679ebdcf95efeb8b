/* Model lists from upstreams (fetch_models.h). One GET per page (Gemini
 * pages by nextPageToken, up to PAGES_MAX), each a curl transfer on the
 * loop with the channel's destination policy; the answer is read by the
 * adapter layer (gw_adapter_models_parse). Messages are the admin's (as a
 * channel test's: curl's text included), with the key replaced. */
#include <stdio.h>
#include <string.h>
#include "adapters/adapter.h"
#include "gateway/core/alloc.h"
#include "gateway/core/dest.h"
#include "gateway/core/err.h"
#include "gateway/core/str.h"
#include "gateway/http/upstream.h"
#include "gateway/relay/fetch_models.h"
#include "gateway/relay/relay_int.h"
#include "gateway/worker.h"

#define BODY_MAX ((size_t)8 << 20)
#define PAGES_MAX 20
#define KEY_MAX 8192

struct gw_fetch {
    struct gw_worker *w;
    gw_fetch_cb cb;
    void *data;
    struct gw_route_ref *route;  /* a saved channel's table, referenced */
    struct gw_channel *ch;       /* the saved one, or &tmp */
    struct gw_channel tmp;       /* an unsaved channel: type, base_url, one key */
    char *tmp_key;
    const char *key;
    char base[512];
    char page[512];              /* Gemini's next page token, "" = none */
    int pages;
    struct gw_upstream_req q;
    gw_buf body;
    gw_xfer *x;
    int status, toobig;
    json_t *models;
    char msg[400];
};

static void fetch_free(struct gw_fetch *f)
{
    if (!f)
        return;
    gw__relay_route_unref(f->route);
    gw_upstream_req_free(&f->q);
    gw_buf_free(&f->body);
    json_decref(f->models);
    gw_free(f->tmp_key);
    gw_free(f->tmp.base_url);
    gw_free(f);
}

/* The key never reaches a message, whatever an upstream or curl echoes. */
static void redact(char *msg, size_t cap, const char *key)
{
    size_t kl = key ? strlen(key) : 0;
    char *p;
    if (kl < 4)
        return;
    while ((p = strstr(msg, key)) != NULL) {
        static const char r[] = "[REDACTED]";
        size_t tail = strlen(p + kl) + 1;
        if ((size_t)(p - msg) + sizeof r - 1 + tail > cap)
            tail = cap - (size_t)(p - msg) - (sizeof r - 1);
        memmove(p + sizeof r - 1, p + kl, tail);
        memcpy(p, r, sizeof r - 1);
        msg[cap - 1] = '\0';
    }
}

static void report(struct gw_fetch *f, int ok)
{
    redact(f->msg, sizeof f->msg, f->key);
    struct gw_fetch_result res = {.ok = ok, .models = f->models, .message = f->msg};
    f->cb(&res, f->data);
    fetch_free(f);
}

static int start_page(struct gw_fetch *f);

static void on_headers(gw_xfer *x, int status, const char *ctype, void *data)
{
    ((struct gw_fetch *)data)->status = status;
}

static int on_data(gw_xfer *x, const char *p, size_t n, void *data)
{
    struct gw_fetch *f = data;
    if (f->body.len + n > BODY_MAX) {
        f->toobig = 1;
        return GW_ETOOBIG; /* ends the transfer */
    }
    return gw_buf_append(&f->body, p, n);
}

static void on_done(gw_xfer *x, int result, const char *errmsg, void *data)
{
    struct gw_fetch *f = data;
    char why[300] = "";
    f->x = NULL;
    if (f->toobig) {
        snprintf(f->msg, sizeof f->msg, "the upstream's model list is over %zu MiB",
                 BODY_MAX >> 20);
    } else if (result == GW_EPERM) {
        snprintf(f->msg, sizeof f->msg, "destination refused: %s", errmsg ? errmsg : "");
    } else if (result != GW_OK && !f->status) {
        snprintf(f->msg, sizeof f->msg, "upstream unreachable: %s",
                 errmsg ? errmsg : "connection failed");
    } else if (result != GW_OK) {
        snprintf(f->msg, sizeof f->msg, "upstream response incomplete: %s",
                 errmsg ? errmsg : "");
    } else if (f->status < 200 || f->status > 299) {
        char m[256] = "", code[64] = "";
        gw_format_chat.parse_error(f->body.base ? f->body.base : "", f->body.len, m, sizeof m,
                                   code, sizeof code);
        snprintf(f->msg, sizeof f->msg, "upstream answered HTTP %d%s%s", f->status,
                 m[0] ? ": " : "", m);
    } else if (gw_adapter_models_parse(f->ch->type, f->body.base ? f->body.base : "",
                                       f->body.len, f->models, f->page, sizeof f->page, why,
                                       sizeof why) != GW_OK) {
        snprintf(f->msg, sizeof f->msg, "%s", why);
    } else if (f->page[0] && ++f->pages < PAGES_MAX) {
        if (start_page(f) == GW_OK)
            return;
    } else {
        report(f, 1);
        return;
    }
    report(f, 0);
}

/* Builds and starts one page's transfer; GW_OK, or why in f->msg. */
static int start_page(struct gw_fetch *f)
{
    static const struct gw_xfer_cbs cbs = {on_headers, on_data, on_done};
    char err[256];
    gw_upstream_req_free(&f->q);
    gw_upstream_req_init(&f->q);
    gw_buf_free(&f->body);
    gw_buf_init(&f->body, BODY_MAX + 1);
    f->status = 0;
    if (gw_adapter_models_request(f->ch, f->base, f->key, f->page, &f->q, err, sizeof err) !=
        GW_OK) {
        snprintf(f->msg, sizeof f->msg, "cannot build the request: %s", err);
        return GW_EINVAL;
    }
    struct gw_dest_policy dest;
    const char *proxy = f->q.proxy.len ? f->q.proxy.base : NULL;
    if (gw__relay_dest(f->w, f->ch, f->q.url.base, proxy, &dest, err, sizeof err) != GW_OK) {
        snprintf(f->msg, sizeof f->msg, "destination refused: %s", err);
        return GW_EPERM;
    }
    struct gw_xfer_opts o = {.method = "GET", .url = f->q.url.base, .headers = f->q.headers,
                             .proxy = proxy, .connect_timeout_ms = 10000, .idle_timeout_s = 30,
                             .dest = &dest};
    if (gw_xfer_start(f->w->up, &o, &cbs, f, &f->x) != GW_OK) {
        snprintf(f->msg, sizeof f->msg, "cannot start the transfer");
        return GW_EIO;
    }
    return GW_OK;
}

/* The first line of key, trimmed (the reference's strings.Split(key, "\n")[0]). */
static char *first_line(const char *key)
{
    gw_str s = gw_str_c(key ? key : "");
    const char *nl = memchr(s.base, '\n', s.len);
    if (nl)
        s.len = (size_t)(nl - s.base);
    s = gw_str_trim(s);
    return s.len < KEY_MAX ? gw_strndup(s.base, s.len) : NULL;
}

int gw_fetch_models(struct gw_worker *w, const struct gw_fetch_spec *spec, gw_fetch_cb cb,
                    void *data, struct gw_fetch **out, char *err, size_t errlen)
{
    struct gw_fetch *f = gw_calloc(1, sizeof *f);
    int kidx;
    *out = NULL;
    if (!f || !(f->models = json_array())) {
        fetch_free(f);
        snprintf(err, errlen, "out of memory");
        return GW_ENOMEM;
    }
    f->w = w;
    f->cb = cb;
    f->data = data;
    gw_upstream_req_init(&f->q);
    gw_buf_init(&f->body, BODY_MAX + 1);
    if (spec->channel_id > 0) {
        gw__relay_refresh(w);
        f->route = gw__relay_route_ref(w);
        f->ch = f->route ? gw_routing_channel(f->route->table, spec->channel_id) : NULL;
        if (!f->ch) {
            fetch_free(f);
            snprintf(err, errlen, "channel not found (or its configuration is invalid)");
            return GW_ENOTFOUND;
        }
        f->key = gw_channel_pick_key(f->ch, &w->relay->rng, &kidx);
    } else {
        f->tmp.type = spec->type;
        f->tmp.dest_set_by_root = spec->set_by_root;
        f->tmp.base_url = gw_strdup(spec->base_url ? spec->base_url : "");
        f->tmp_key = first_line(spec->key);
        if (!f->tmp.base_url || !f->tmp_key) {
            snprintf(err, errlen, f->tmp.base_url ? "key too long" : "out of memory");
            fetch_free(f);
            return GW_EINVAL;
        }
        f->ch = &f->tmp;
        f->key = f->tmp_key;
    }
    if (!f->key) {
        fetch_free(f);
        snprintf(err, errlen, "the channel has no enabled key");
        return GW_EINVAL;
    }
    const struct gw_channel_type *ct = gw_channel_type(f->ch->type);
    if (!gw_channel_base_url(f->ch, ct, f->base, sizeof f->base) || !f->base[0]) {
        snprintf(err, errlen, "the channel has no base URL (type %d has no default)",
                 f->ch->type);
        fetch_free(f);
        return GW_EINVAL;
    }
    if (start_page(f) != GW_OK) {
        redact(f->msg, sizeof f->msg, f->key);
        snprintf(err, errlen, "%s", f->msg);
        fetch_free(f);
        return GW_EINVAL;
    }
    *out = f;
    return GW_OK;
}

void gw_fetch_abort(struct gw_fetch *f)
{
    if (!f)
        return;
    if (f->x)
        gw_xfer_abort(f->x);
    f->x = NULL;
    fetch_free(f);
}
