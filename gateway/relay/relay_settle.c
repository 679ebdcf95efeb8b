/* SETTLE, the relay's last state: charge what the call used and write its
 * log row with settle.lua — and make sure that happens, whatever the client,
 * the upstream or Redis did.
 *
 * A reservation left behind is refunded by the reaper, so a settle that is
 * lost makes the call free. Hence:
 *  - every argument is built to pass settle.lua's checks: the log's `other`
 *    with jansson, strings that are valid UTF-8 and within the script's
 *    bounds, numbers clamped to its ranges;
 *  - a settle the script still refuses (ERR_BAD_ARG) is sent again at once
 *    with sanitized, then empty, strings, charging max(actual, reserved) when
 *    the answer reached the client, and `other` says why (settle_error);
 *  - a settle that could not be sent or whose reply was lost (Redis down, a
 *    timeout) is sent again with a back-off until it lands, each time after an
 *    extend of 0 that keeps the reservation alive. Repeating is safe: a
 *    settled reservation answers reservation_not_found and changes nothing.
 * Only a worker that stops while Redis stays unreachable past
 * SHUTDOWN_TIMEOUT leaves reservations to the reaper (logged as errors). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "gateway/core/alloc.h"
#include "gateway/core/clock.h"
#include "gateway/core/str.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"
#include "gateway/core/log.h"
#include "gateway/relay/relay_call.h"
#include "gateway/state/ledger.h"
#include "gateway/worker.h"

#define MAXQ GW_LEDGER_QUOTA_MAX /* settle.lua's bound on every amount and count */
#define RETRY_MIN_MS 100
#define RETRY_MAX_MS 2000
#define EIO_TRIES 20            /* an error reply that is not a bad argument */

/* settle.lua's string bounds (scripts/settle.lua) */
#define MODEL_MAX 191
#define SHORT_MAX 64
#define CONTENT_MAX 4096

enum { SETTLE_NORMAL, SETTLE_SAFE, SETTLE_BARE };

static long long clampq(long long v) { return v < 0 ? 0 : v > MAXQ ? MAXQ : v; }
static double fin(double v) { return isfinite(v) ? v : 0.0; }


/* A copy of s that any JSON writer, Lua check and SQL dialect accepts: valid
 * UTF-8 (invalid bytes as '?'; with ctl, control characters too), cut on a
 * character boundary to at most max bytes (max < cap). jansson escapes
 * control characters, so names keep them unless a settle was refused. */
static void sanitize_ctl(char *out, size_t cap, const char *s, size_t max, int ctl)
{
    if (max >= cap)
        max = cap - 1;
    gw_str_utf8_clean(out, max, s ? s : "", s ? strlen(s) : 0, ctl);
}

static void sanitize(char *out, size_t cap, const char *s, size_t max)
{
    sanitize_ctl(out, cap, s, max, 0);
}

/* The log's `other` (the reference's fields), serialized by jansson, so no
 * name can break it. NULL on OOM: the caller sends "". */
static char *other_json(const struct rcall *c, const char *settle_error)
{
    char up[sizeof c->upstream_model];
    gw_json_init();
    sanitize(up, sizeof up, c->upstream_model, sizeof up - 1);
    json_t *o = json_pack("{s:f, s:f, s:f, s:f, s:s, s:b, s:I, s:i, s:b}", "model_ratio",
                          fin(c->price.model_ratio), "completion_ratio",
                          fin(c->price.completion_ratio), "group_ratio",
                          fin(c->price.group_ratio), "model_price",
                          c->price.use_price ? fin(c->price.model_price) : -1.0,
                          "upstream_model_name", up, "is_model_mapped",
                          strcmp(c->model, c->upstream_model) != 0, "frt",
                          (json_int_t)(c->t_first_us ? (long long)(c->t_first_us - c->t0_us) / 1000
                                                     : -1LL),
                          "channels_tried", c->ntried, "local_count_tokens", !c->usage.present);
    /* the reference's cache fields (log_info_generate.go, text_quota.go) */
    if (o && !c->price.use_price && c->usage.cached > 0) {
        json_object_set_new(o, "cache_tokens", json_integer(c->usage.cached));
        json_object_set_new(o, "cache_ratio", json_real(fin(c->price.cache_ratio)));
    }
    if (o && !c->price.use_price && c->usage.cache_write > 0) {
        long long h1 = c->usage.cache_write_1h < c->usage.cache_write ? c->usage.cache_write_1h
                                                                      : c->usage.cache_write;
        json_object_set_new(o, "cache_creation_tokens", json_integer(c->usage.cache_write));
        json_object_set_new(o, "cache_creation_ratio", json_real(fin(c->price.cache_write_ratio)));
        if (h1 > 0) {
            json_object_set_new(o, "cache_creation_tokens_5m",
                                json_integer(c->usage.cache_write - h1));
            json_object_set_new(o, "cache_creation_ratio_5m",
                                json_real(fin(c->price.cache_write_ratio)));
            json_object_set_new(o, "cache_creation_tokens_1h", json_integer(h1));
            json_object_set_new(o, "cache_creation_ratio_1h",
                                json_real(fin(gw_billing_cache_write_1h_ratio(&c->price))));
        }
    }
    if (o && settle_error) {
        char why[sizeof c->settle_error];
        sanitize(why, sizeof why, settle_error, sizeof why - 1);
        json_object_set_new(o, "settle_error", json_string(why));
        json_object_set_new(o, "actual", json_integer(c->settle_actual));
        json_object_set_new(o, "reserved", json_integer(c->reserved));
    }
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
    json_decref(o);
    return s;
}

static void settled(const struct gw_settle_result *res, void *data);
static void retry_later(struct rcall *c, const char *why);
static void refused(struct rcall *c, const char *why);

/* One settle.lua call with the arguments of the current mode; a send
 * failure goes to the retry list. */
static void send_settle(struct rcall *c)
{
    char model[MODEL_MAX + 1] = "", group[SHORT_MAX + 1] = "", ip[SHORT_MAX + 1] = "";
    char rid[SHORT_MAX + 1] = "", content[CONTENT_MAX + 1] = "";
    long long actual = c->settle_actual;
    char *other = NULL;
    const char *bad_other = NULL;

    if (c->settle_mode == SETTLE_NORMAL) {
        sanitize(model, sizeof model, c->model, MODEL_MAX);
        sanitize(group, sizeof group, c->group, SHORT_MAX);
        sanitize(ip, sizeof ip, c->ip, SHORT_MAX);
        sanitize(rid, sizeof rid, c->r->rid, SHORT_MAX);
        sanitize(content, sizeof content, c->content, CONTENT_MAX);
        other = other_json(c, NULL);
        if (c->test_settle_bad) /* GW_TEST_HOOKS: make settle.lua refuse this one */
            bad_other = "{not json";
    } else {
        /* A refused settle: the call is paid for as if it used its whole
         * reservation when its answer reached the client. */
        if (!c->failed_before_output && actual < c->reserved)
            actual = clampq(c->reserved);
        if (c->settle_mode == SETTLE_SAFE) {
            sanitize_ctl(model, sizeof model, c->model, MODEL_MAX, 1);
            sanitize_ctl(group, sizeof group, c->group, SHORT_MAX, 1);
            sanitize_ctl(rid, sizeof rid, c->r->rid, SHORT_MAX, 1);
            sanitize_ctl(content, sizeof content, c->content, CONTENT_MAX, 1);
        }
        other = other_json(c, c->settle_error);
    }
    /* A call without a token (the playground) is logged under the name the
     * reference gives it: "playground-<group>". */
    char pg_name[sizeof "playground-" + SHORT_MAX];
    snprintf(pg_name, sizeof pg_name, "playground-%s", group);
    struct gw_settle_req s = {
        .uid = c->key.uid,
        .tid = c->key.tid,
        .res_id = c->res_id,
        .actual = actual,
        .actual_tokens = clampq(c->settle_pt + c->settle_ct),
        .now_ms = gw_clock_wall_ms(),
        .cid = c->ch ? c->ch->id : 0,
        .model = model,
        .group = group,
        .ip = ip,
        .request_id = rid,
        .content = content,
        .other = bad_other ? bad_other : other ? other : "",
        .prompt_tokens = c->settle_pt,
        .completion_tokens = c->settle_ct,
        .use_time_s = (long long)((gw_clock_mono_us() - c->t0_us) / 1000000u),
        .stream = c->stream,
        .token_name = c->key.tid == 0 ? pg_name : NULL,
    };
    int rc;
    c->settle_tries++;
    if (c->test_settle_down > 0) { /* GW_TEST_HOOKS: as if Redis were unreachable */
        c->test_settle_down--;
        rc = GW_ECLOSED;
    } else {
        rc = gw_ledger_settle(c->w->redis, &s, settled, c); /* copies the strings */
    }
    gw_free(other); /* jansson allocates through gw_malloc (gw_json_init) */
    if (rc == GW_EINVAL) /* refused before sending: as if settle.lua had */
        refused(c, "invalid settle arguments");
    else if (rc != GW_OK)
        retry_later(c, gw_strerror(rc));
}

/* The arguments were refused: send again at once with safer ones, charging
 * at least the reservation (send_settle); after the bare form, give up. */
static void refused(struct rcall *c, const char *why)
{
    if (c->settle_mode == SETTLE_BARE) {
        GW_ERROR("settle of reservation %lld failed for good: %s; the reaper will refund it "
                 "rid=%s", c->res_id, why, c->r->rid);
        gw__relay_to(c, GW_RS_DONE);
        return;
    }
    GW_ERROR("settle of reservation %lld refused (%s): settling again with safe arguments "
             "rid=%s", c->res_id, why, c->r->rid);
    if (!c->settle_error[0])
        snprintf(c->settle_error, sizeof c->settle_error, "%s", why);
    c->settle_mode++;
    send_settle(c);
}

static void settled(const struct gw_settle_result *res, void *data)
{
    struct rcall *c = data;
    if (res->status == GW_OK) {
        if (res->ok && (c->settle_tries > 1 || c->settle_mode != SETTLE_NORMAL))
            GW_WARN("reservation %lld settled after %d attempts (%s): charged %lld rid=%s",
                    c->res_id, c->settle_tries, c->settle_error[0] ? c->settle_error : "retried",
                    res->charged, c->r->rid);
        else if (!res->ok && c->settle_tries == 1)
            GW_ERROR("settle of reservation %lld: %s rid=%s", c->res_id,
                     gw_ledger_reason_name(res->reason), c->r->rid);
        /* a retry finding no reservation: an earlier attempt ran after all */
        gw__relay_to(c, GW_RS_DONE);
        return;
    }
    if (res->status == GW_EINVAL) {
        refused(c, res->error);
        return;
    }
    if (res->status == GW_EIO && c->settle_tries >= EIO_TRIES) {
        GW_ERROR("settle of reservation %lld failed for good: %s; the reaper will refund it "
                 "rid=%s", c->res_id, res->error, c->r->rid);
        gw__relay_to(c, GW_RS_DONE);
        return;
    }
    retry_later(c, res->error);
}

/* Redis is unreachable, or the reply was lost: try again after a back-off,
 * from the relay's tick (gw__relay_settle_tick). */
static void retry_later(struct rcall *c, const char *why)
{
    struct gw_relay_worker *rw = gw__relay(c->w);
    if (!rw || rw->stopping) {
        GW_ERROR("settle of reservation %lld abandoned at shutdown (%s): the reaper will refund "
                 "it rid=%s", c->res_id, why, c->r->rid);
        gw__relay_to(c, GW_RS_DONE);
        return;
    }
    int shift = c->settle_tries < 6 ? c->settle_tries : 6;
    long long wait = (long long)RETRY_MIN_MS << shift;
    if (wait > RETRY_MAX_MS)
        wait = RETRY_MAX_MS;
    if (c->settle_tries == 1)
        GW_WARN("settle of reservation %lld failed (%s): retrying rid=%s", c->res_id, why,
                c->r->rid);
    c->retry_at_ms = gw_clock_wall_ms() + wait;
    c->retry_next = rw->settle_retries;
    rw->settle_retries = c;
}

static void renewed(const struct gw_extend_result *res, void *data)
{
    (void)res;
    (void)data; /* best effort: the settle that follows is what counts */
}

void gw__relay_settle_tick(struct gw_worker *w)
{
    struct gw_relay_worker *rw = gw__relay(w);
    struct rcall *due = NULL, **pp = &rw->settle_retries;
    long long now = gw_clock_wall_ms();
    while (*pp) { /* unlink the due ones first: sending may relink them */
        struct rcall *c = *pp;
        if (c->retry_at_ms <= now) {
            *pp = c->retry_next;
            c->retry_next = due;
            due = c;
        } else {
            pp = &c->retry_next;
        }
    }
    while (due) {
        struct rcall *c = due;
        due = c->retry_next;
        c->retry_next = NULL;
        /* Keep the reservation from the reaper while we retry (pipelined
         * before the settle, so it lands first). */
        struct gw_extend_req e = {.uid = c->key.uid, .tid = c->key.tid, .res_id = c->res_id,
                                  .extra = 0,
                                  .ttl_ms = (long long)w->cfg->reservation_ttl * 1000,
                                  .now_ms = now};
        gw_ledger_extend(w->redis, &e, renewed, NULL);
        send_settle(c);
    }
}

void gw__relay_settle_stop(struct gw_worker *w)
{
    struct gw_relay_worker *rw = gw__relay(w);
    rw->stopping = 1;
    while (rw->settle_retries) {
        struct rcall *c = rw->settle_retries;
        rw->settle_retries = c->retry_next;
        GW_ERROR("settle of reservation %lld abandoned at shutdown: Redis unreachable; the "
                 "reaper will refund it rid=%s", c->res_id, c->r->rid);
        gw__relay_to(c, GW_RS_DONE);
    }
}

void gw__relay_settle_hooks(struct rcall *c)
{
    if (!c->w->cfg->test_hooks)
        return;
    const char *h = gw_req_header(c->r, "x-test-settle");
    long long n;
    if (!h)
        return;
    if (strcmp(h, "bad-arg") == 0)
        c->test_settle_bad = 1;
    else if (strncmp(h, "down-", 5) == 0 && gw_str_to_ll(gw_str_c(h + 5), 1, 50, &n) == GW_OK)
        c->test_settle_down = (int)n;
}

/* Charges what the call used and writes its ledger entry; frees the call. */
void gw__relay_settle(struct rcall *c)
{
    struct gw_usage u = c->usage;
    if (!c->res_id) { /* nothing was reserved */
        gw__relay_to(c, GW_RS_DONE);
        return;
    }
    if (!u.present && (c->delta_chars || c->got_bytes)) {
        /* No usage from the upstream: the reference's counting rules. */
        u.prompt = c->prompt_est;
        /* Only the count of delivered characters is kept, never the text
         * (bounded memory): about 4 characters per token. */
        u.completion = (long long)(c->delta_chars + 3) / 4;
        u.total = u.prompt + u.completion;
    } else if (u.present && c->stream && !c->saw_end) {
        /* A stream that did not reach its end (the budget cut, the client or
         * the upstream gone) holds a partial usage: Claude's message_start
         * says output_tokens 1 however much followed. The delivered text
         * counts when it says more, the input and cache counts stay (the
         * reference's HandleStreamFinalResponse). */
        long long est = (long long)(c->delta_chars + 3) / 4;
        if (est > u.completion) {
            u.completion = est;
            u.total = u.prompt + u.completion;
        }
    }
    /* An upstream may report any usage: settle.lua takes 0..1e15, and the
     * charge is capped by the budget anyway (the rest is a logged shortfall). */
    c->settle_pt = clampq(u.prompt);
    c->settle_ct = clampq(u.completion);
    c->settle_actual = c->failed_before_output ? 0 : clampq(gw_billing_quota(&c->price, &u));
    send_settle(c);
}
