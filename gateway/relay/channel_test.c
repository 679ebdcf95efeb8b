/* Channel tests (reference controller/channel-test.go): one small chat call
 * through the channel's adapter, outside any user's billing. Records the
 * response time; a passing test re-enables a channel that was disabled
 * automatically (status 3) when AutomaticEnableChannelEnabled is on; a
 * manually disabled channel (status 2) is never re-enabled. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <uv.h>
#include "adapters/adapter.h"
#include "gateway/core/alloc.h"
#include "gateway/core/clock.h"
#include "gateway/core/dest.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"
#include "gateway/core/log.h"
#include "gateway/http/upstream.h"
#include "gateway/relay/channel_test.h"
#include "gateway/relay/relay.h"
#include "gateway/relay/relay_call.h"
#include "gateway/relay/relay_int.h"
#include "gateway/state/config_watch.h"
#include "gateway/state/options.h"
#include "gateway/state/redis.h"
#include "gateway/worker.h"

#define TEST_BODY_MAX (256 * 1024)

struct ctest {
    struct ctest *prev, *next;  /* rw->ctests while the transfer is in flight */
    struct gw_worker *w;
    gw_channel_test_cb cb;      /* NULL for the background "test all" */
    void *cb_data;
    struct gw_route_ref *route;
    struct gw_channel *ch;
    struct gw_upstream_req q;
    gw_buf body;
    gw_xfer *x;
    int status;
    uint64_t t0;
    long long ms;
    int ok, enable, disable;
    enum gw_wire wire;          /* the wire the channel was asked in */
    char err[300];
    uv_work_t work;
};

static void unlink_test(struct ctest *t)
{
    struct gw_relay_worker *rw = t->w->relay;
    if (t->prev)
        t->prev->next = t->next;
    else if (rw->ctests == t)
        rw->ctests = t->next;
    if (t->next)
        t->next->prev = t->prev;
    t->prev = t->next = NULL;
}

static void ctest_free(struct ctest *t)
{
    unlink_test(t);
    gw__relay_route_unref(t->route);
    gw_upstream_req_free(&t->q);
    gw_buf_free(&t->body);
    gw_free(t);
}

/* Thread pool: record the result; maybe re-enable. */
static void record_run(uv_work_t *wk)
{
    struct ctest *t = wk->data;
    gw_store *st;
    if (gw_store_pool_get(t->w->pool, &st) != GW_OK)
        return;
    gw_sql_arg a[3] = {GW_SQL_INT(t->ms), GW_SQL_INT((long long)time(NULL)), GW_SQL_INT(t->ch->id)};
    gw_store_exec(st, "UPDATE channels SET response_time = ?, test_time = ? WHERE id = ?", a, 3,
                  NULL);
    if (t->enable || t->disable) {
        gw_sql_arg id[1] = {GW_SQL_INT(t->ch->id)};
        gw_sql_arg en[2] = {GW_SQL_INT(t->enable), GW_SQL_INT(t->ch->id)};
        long long n = 0;
        if (gw_store_begin(st) == GW_OK &&
            gw_store_exec(st,
                          t->enable ? "UPDATE channels SET status = 1 WHERE id = ? AND status = 3"
                                    : "UPDATE channels SET status = 3 WHERE id = ? AND status = 1",
                          id, 1, &n) == GW_OK &&
            gw_store_exec(st, "UPDATE abilities SET enabled = ? WHERE channel_id = ?", en, 2,
                          NULL) == GW_OK &&
            gw_store_commit(st) == GW_OK)
            t->enable = t->enable && n == 1, t->disable = t->disable && n == 1;
        else {
            gw_store_rollback(st);
            t->enable = t->disable = 0;
        }
    }
    gw_store_pool_put(t->w->pool, st);
}

/* Tells the caller, once. */
static void report(struct ctest *t)
{
    struct gw_channel_test_result res = {.ok = t->ok, .ms = t->ms,
                                         .message = t->ok ? "" : t->err};
    if (t->cb)
        t->cb(&res, t->cb_data);
    t->cb = NULL;
}

static void record_done(uv_work_t *wk, int status)
{
    struct ctest *t = wk->data;
    if (t->enable || t->disable) {
        GW_INFO("channel %lld %s by its test", t->ch->id,
                t->enable ? "re-enabled" : "auto-disabled");
        gw_cfgwatch_bump(t->w->cfgwatch);
    }
    report(t);
    ctest_free(t);
}

static void finish(struct ctest *t)
{
    t->ms = (long long)((gw_clock_mono_us() - t->t0) / 1000u);
    long long limit = gw_options_int(t->w->cfgwatch, "ChannelDisableThreshold", 5) * 1000;
    if (t->ok && limit > 0 && t->ms > limit) {
        t->ok = 0;
        snprintf(t->err, sizeof t->err, "response time %lld ms is over the %lld ms threshold",
                 t->ms, limit);
    }
    t->enable = t->ok && t->ch->status == 3 &&
                gw_options_bool(t->w->cfgwatch, "AutomaticEnableChannelEnabled", 0);
    t->disable = !t->ok && t->ch->status == 1 && t->ch->auto_ban &&
                 gw_options_bool(t->w->cfgwatch, "AutomaticDisableChannelEnabled", 0);
    t->work.data = t;
    if (uv_queue_work(&t->w->loop, &t->work, record_run, record_done) != 0) {
        report(t);
        ctest_free(t);
    }
}

static int on_data(gw_xfer *x, const char *p, size_t n, void *data)
{
    struct ctest *t = data;
    if (t->body.len + n <= TEST_BODY_MAX)
        gw_buf_append(&t->body, p, n);
    return GW_OK;
}

static void on_headers(gw_xfer *x, int status, const char *ctype, void *data)
{
    ((struct ctest *)data)->status = status;
}

static void on_done(gw_xfer *x, int result, const char *errmsg, void *data)
{
    struct ctest *t = data;
    struct gw_usage u;
    t->x = NULL;
    unlink_test(t);
    if (result == GW_EPERM) {
        snprintf(t->err, sizeof t->err, "destination refused: %s", errmsg ? errmsg : "");
    } else if (result != GW_OK && !t->status) {
        snprintf(t->err, sizeof t->err, "%s", errmsg ? errmsg : "upstream unreachable");
    } else if (t->status != 200) {
        char msg[256] = "", code[64] = "";
        const struct gw_format *f = gw_format_of(t->wire);
        (f->parse_error ? f : &gw_format_chat)->parse_error(t->body.base ? t->body.base : "", t->body.len, msg, sizeof msg,
                                 code, sizeof code);
        snprintf(t->err, sizeof t->err, "HTTP %d: %s", t->status, msg[0] ? msg : "error");
    } else if (!gw_format_of(t->wire)->usage ||
               gw_format_of(t->wire)->usage(t->body.base ? t->body.base : "", t->body.len, &u) !=
                   GW_OK) {
        snprintf(t->err, sizeof t->err, "the upstream answer is not a %s response",
                 gw_format_of(t->wire)->name);
    } else {
        t->ok = 1;
    }
    finish(t);
}

/* Starts one test; GW_OK means finish() will run. */
static int start(struct ctest *t, const char *model_override)
{
    static const struct gw_xfer_cbs cbs = {on_headers, on_data, on_done};
    const struct gw_channel_type *ct = gw_channel_type(t->ch->type);
    char base[512], model[192], err[256];
    int kidx;
    if (!ct || !ct->adapter) {
        snprintf(t->err, sizeof t->err, "channel type %d has no adapter yet", t->ch->type);
        return GW_ENOTSUP;
    }
    const char *m = model_override && *model_override ? model_override
                    : t->ch->test_model && *t->ch->test_model ? t->ch->test_model
                                                              : NULL;
    if (!m) { /* the first of the channel's models */
        gw_str rest = gw_str_c(t->ch->models), tok;
        if (gw_str_split(&rest, ',', &tok) && (tok = gw_str_trim(tok)).len &&
            tok.len < sizeof model) {
            memcpy(model, tok.base, tok.len);
            model[tok.len] = '\0';
            m = model;
        }
    }
    if (!m) {
        snprintf(t->err, sizeof t->err, "the channel has no model to test");
        return GW_EINVAL;
    }
    char upstream[192];
    if (gw_model_map(t->ch->model_mapping, m, upstream, sizeof upstream) != GW_OK)
        snprintf(upstream, sizeof upstream, "%s", m);
    const char *key = gw_channel_pick_key(t->ch, &t->w->relay->rng, &kidx);
    if (!key) {
        snprintf(t->err, sizeof t->err, "the channel has no enabled key");
        return GW_ENOTFOUND;
    }
    /* A chat call, in the channel's own wire (through the hub when it is
     * not chat), read back with that wire's format. */
    json_t *chat = json_pack("{s:s, s:[{s:s, s:s}], s:i}", "model", m, "messages", "role", "user",
                             "content", "hi", "max_tokens", 16);
    struct gw_relay_call call = {.mode = GW_RELAY_CHAT, .wire = GW_WIRE_CHAT,
                                 .path = "/v1/chat/completions", .model = m,
                                 .upstream_model = upstream, .api_key = key,
                                 .is_channel_test = 1};
    t->wire = ct->adapter->wire ? ct->adapter->wire(t->ch, &call) : GW_WIRE_CHAT;
    struct gw_conv_opts co = {.upstream_model = upstream};
    json_t *body = NULL;
    int rc = chat ? gw_format_convert_request(&gw_format_chat, gw_format_of(t->wire), chat, NULL,
                                              &co, &body, err, sizeof err)
                  : GW_ENOMEM;
    json_decref(chat);
    call.wire = t->wire;
    call.path = t->wire == GW_WIRE_CHAT ? call.path : NULL;
    call.body = body;
    gw_upstream_req_init(&t->q);
    if (rc == GW_OK)
        rc = ct->adapter->build(t->ch, gw_channel_base_url(t->ch, ct, base, sizeof base), &call,
                                &t->q, err, sizeof err);
    json_decref(body);
    if (rc != GW_OK) {
        snprintf(t->err, sizeof t->err, "cannot build the test request: %s", err);
        return rc;
    }
    struct gw_dest_policy dest;
    if (gw__relay_dest(t->w, t->ch, t->q.url.base, t->q.proxy.len ? t->q.proxy.base : NULL,
                       &dest, err, sizeof err) != GW_OK) {
        snprintf(t->err, sizeof t->err, "destination refused: %s", err);
        return GW_EPERM;
    }
    struct gw_xfer_opts o = {.method = "POST", .url = t->q.url.base, .headers = t->q.headers,
                             .body = t->q.body.base, .body_len = t->q.body.len,
                             .proxy = t->q.proxy.len ? t->q.proxy.base : NULL,
                             .connect_timeout_ms = 10000, .idle_timeout_s = 60, .dest = &dest};
    gw_buf_init(&t->body, TEST_BODY_MAX + 1);
    t->t0 = gw_clock_mono_us();
    if (gw_xfer_start(t->w->up, &o, &cbs, t, &t->x) != GW_OK) {
        snprintf(t->err, sizeof t->err, "cannot start the transfer");
        return GW_EIO;
    }
    struct gw_relay_worker *rw = t->w->relay;
    t->next = rw->ctests;
    if (rw->ctests)
        rw->ctests->prev = t;
    rw->ctests = t;
    return GW_OK;
}

void gw_channel_tests_abort(struct gw_worker *w)
{
    struct ctest *t;
    while ((t = w->relay->ctests) != NULL) {
        gw_xfer_abort(t->x); /* no on_done */
        t->x = NULL;
        if (t->cb)
            t->cb(NULL, t->cb_data); /* no result: the caller just lets go */
        ctest_free(t);
    }
}

static struct ctest *ctest_new(struct gw_worker *w, struct gw_route_ref *ref,
                               struct gw_channel *ch)
{
    struct ctest *t = gw_calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->w = w;
    t->ch = ch;
    t->route = ref;
    ref->refs++;
    return t;
}

int gw_channel_test(struct gw_worker *w, long long id, const char *model, gw_channel_test_cb cb,
                    void *data, char *err, size_t errlen)
{
    gw__relay_refresh(w);
    struct gw_route_ref *ref = gw__relay_route_ref(w);
    struct gw_channel *ch = ref ? gw_routing_channel(ref->table, id) : NULL;
    if (!ch) {
        gw__relay_route_unref(ref);
        snprintf(err, errlen, "channel not found (or its configuration is invalid)");
        return GW_ENOTFOUND;
    }
    struct ctest *t = ctest_new(w, ref, ch);
    gw__relay_route_unref(ref);
    if (!t) {
        snprintf(err, errlen, "out of memory");
        return GW_ENOMEM;
    }
    t->cb = cb;
    t->cb_data = data;
    if (start(t, model) != GW_OK) {
        report(t); /* ok 0, ms 0, why in t->err */
        ctest_free(t);
    }
    return GW_OK;
}

/* Starts a test of every channel of the current table; returns how many. */
long long gw_channel_test_all(struct gw_worker *w)
{
    gw__relay_refresh(w);
    struct gw_route_ref *ref = gw__relay_route_ref(w);
    long long n = 0;
    for (size_t i = 0; ref && i < gw_routing_count(ref->table); i++) {
        struct gw_channel *ch = gw_routing_at(ref->table, i);
        if (!ch || ch->status == 2) /* manually disabled channels are left alone */
            continue;
        struct ctest *t = ctest_new(w, ref, ch);
        if (t && start(t, NULL) == GW_OK)
            n++;
        else if (t)
            ctest_free(t);
    }
    gw__relay_route_unref(ref);
    return n;
}

/* Scheduled tests (monitor_setting.auto_test_channel_enabled, every
 * monitor_setting.auto_test_channel_minutes): whichever worker of whichever
 * replica takes the Redis lock for the period runs them. */
static void on_lock(int status, redisReply *reply, void *data)
{
    struct gw_worker *w = data;
    if (status == GW_OK && reply && reply->type == REDIS_REPLY_STATUS)
        GW_INFO("scheduled channel tests: %lld started", gw_channel_test_all(w));
}

static void on_schedule(uv_timer_t *t)
{
    struct gw_worker *w = t->data;
    if (!gw_options_bool(w->cfgwatch, "monitor_setting.auto_test_channel_enabled", 0))
        return;
    long long minutes =
        gw_options_int(w->cfgwatch, "monitor_setting.auto_test_channel_minutes", 10);
    if (minutes < 1)
        minutes = 1;
    gw_redis_command(w->redis, on_lock, w, "SET tf:lock:chtest %d NX PX %lld", w->id,
                     minutes * 60000 - 1000);
}

void gw_channel_tests_start(struct gw_worker *w, uv_timer_t *timer)
{
    uv_timer_init(&w->loop, timer);
    timer->data = w;
    uv_timer_start(timer, on_schedule, 5000, 5000); /* cheap: an option check */
}
