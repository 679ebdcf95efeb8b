/* The upstream side of every wire format (adapters/format.h), reached the
 * way the relay reaches it: gw_format_of(wire) for each wire, each member
 * that is written. Byte 0 picks what the rest is:
 *   0..3  a non-streamed success body -> usage, then billed
 *         (gw_billing_quota) in ratio and price mode: usage and quota are
 *         never negative and the usage is zero when the body is refused;
 *   4..5  an error body -> parse_error: bounded, one-line, NUL-terminated;
 *   6..   an upstream SSE stream (split by gw_sse_parser as the relay does)
 *         -> decode per event, into a meter as the relay's: a known
 *         action, chat's "[DONE]" ends, the delivered text counted never
 *         exceeds the bytes delivered. */
#include "tests/fuzz/fuzz.h"
#include "adapters/format.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"
#include "gateway/relay/billing.h"

#define FUZZ_MAX_INPUT (64u << 10)

static void check_usage(const struct gw_usage *u)
{
    FUZZ_CHECK(u->prompt >= 0 && u->completion >= 0 && u->total >= 0 && u->cached >= 0 &&
               u->cache_write >= 0 && u->image >= 0 && u->text_in >= 0 && u->audio_in >= 0 &&
               u->text_out >= 0 && u->audio_out >= 0);
    FUZZ_CHECK(u->present == 0 || u->present == 1);
}

static void bill(const struct gw_usage *u, uint8_t knob)
{
    struct gw_price ratio = {.model_ratio = 0.5 + knob, .completion_ratio = 4, .cache_ratio = 0.1,
                             .cache_write_ratio = 1.25, .image_ratio = 2, .audio_ratio = 16,
                             .audio_completion_ratio = 2, .has_audio_ratio = knob & 1,
                             .group_ratio = 1, .group_special_ratio = -1};
    struct gw_price price = {.use_price = 1, .model_price = 0.002 * knob, .group_ratio = 1.5,
                             .group_special_ratio = -1};
    FUZZ_CHECK(gw_billing_quota(&ratio, u) >= 0);
    FUZZ_CHECK(gw_billing_quota(&price, u) >= 0);
}

struct stream {
    const struct gw_format *f;
    struct gw_stream_state st;
    int wants_usage;
    struct gw_usage u;
    size_t chars, bytes;
};

static int meter(const struct gw_ev *ev, void *data)
{
    struct stream *s = data;
    FUZZ_CHECK(ev->kind >= GW_EV_START && ev->kind <= GW_EV_END);
    if (ev->kind == GW_EV_USAGE && ev->usage && ev->usage->present)
        s->u = *ev->usage;
    if (ev->kind == GW_EV_TEXT || ev->kind == GW_EV_REASONING || ev->kind == GW_EV_TOOL_ARGS)
        s->chars += gw_fmt_code_points(ev->text);
    return 0;
}

static int on_event(const struct gw_sse_event *ev, void *data)
{
    struct stream *s = data;
    size_t before = s->chars;
    int a = s->f->decode(&s->st, ev, s->wants_usage, meter, s);
    FUZZ_CHECK(a == GW_DEC_PASS || a == GW_DEC_DROP || a == GW_DEC_DONE);
    FUZZ_CHECK(s->chars - before <= ev->data.len);
    check_usage(&s->u);
    gw_str t = gw_str_trim(ev->data);
    if (s->f->wire == GW_WIRE_CHAT && gw_str_eq(t, GW_STRLIT("[DONE]")))
        FUZZ_CHECK(a == GW_DEC_DONE);
    if (a == GW_DEC_DROP)
        FUZZ_CHECK(!s->wants_usage);
    return a == GW_DEC_DONE;
}

static void one(const struct gw_format *f, uint8_t mode, const char *body, size_t len)
{
    if (mode < 4 && f->usage) {
        struct gw_usage u;
        memset(&u, 0x55, sizeof u);
        int rc = f->usage(body, len, &u);
        json_t *j = gw_json_parse(body, len, 0, NULL, 0);
        FUZZ_CHECK(rc != GW_OK || json_is_object(j));
        json_decref(j);
        check_usage(&u);
        if (rc != GW_OK) {
            struct gw_usage zero = {0};
            FUZZ_CHECK(memcmp(&u, &zero, sizeof u) == 0);
        }
        if (u.present)
            FUZZ_CHECK(u.total > 0 || u.prompt > 0 || u.completion > 0);
        bill(&u, (uint8_t)(len & 0xff));
    } else if (mode >= 4 && mode < 6 && f->parse_error) {
        char msg[64], code[16];
        memset(msg, 'x', sizeof msg);
        memset(code, 'y', sizeof code);
        size_t mcap = mode == 4 ? sizeof msg : 1 + len % sizeof msg;
        int rc = f->parse_error(body, len, msg, mcap, code, sizeof code);
        FUZZ_CHECK(rc == GW_OK || rc == GW_EINVAL);
        FUZZ_CHECK(memchr(msg, '\0', mcap) && memchr(code, '\0', sizeof code));
        FUZZ_CHECK(!strpbrk(msg, "\r\n") && !strpbrk(code, "\r\n"));
        FUZZ_CHECK(f->parse_error(body, len, NULL, 0, NULL, 0) == rc);
    } else if (mode >= 6 && f->decode) {
        struct stream s = {.f = f, .wants_usage = mode & 1};
        struct gw_sse_parser p;
        gw_sse_parser_init(&p, 64u << 10, 1u << 20, on_event, &s);
        int rc = gw_sse_parser_feed(&p, body, len);
        if (rc == GW_OK)
            gw_sse_parser_finish(&p);
        gw_sse_parser_free(&p);
        bill(&s.u, mode);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > FUZZ_MAX_INPUT)
        return 0;
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    for (int w = GW_WIRE_CHAT; w <= GW_WIRE_RESPONSES; w++)
        one(gw_format_of((enum gw_wire)w), data[0] % 8, body, len);
    return 0;
}
