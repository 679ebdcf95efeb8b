/* The adapters' response side (adapters/openai.c, azure.c), reached the way
 * the relay reaches them: through the channel-type table (adapter.h) for
 * every adapter it lists. Byte 0 picks what the rest is:
 *   0..3  a non-streamed success body -> parse_response, then billed
 *         (gw_billing_quota) in ratio and price mode: usage and quota are
 *         never negative and the usage is zero when the body is refused;
 *   4..5  an error body -> parse_error: bounded, one-line, NUL-terminated;
 *   6..   an upstream SSE stream (split by gw_sse_parser as the relay does)
 *         -> stream_event per event: a known action, "[DONE]" ends, the
 *         delivered text counted never exceeds the bytes delivered. */
#include "tests/fuzz/fuzz.h"
#include "adapters/adapter.h"
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
    const struct gw_adapter *ad;
    int wants_usage;
    struct gw_usage u;
    size_t chars, bytes;
    int done;
};

static int on_event(const struct gw_sse_event *ev, void *data)
{
    struct stream *s = data;
    size_t before = s->chars;
    enum gw_stream_action a = s->ad->stream_event(ev, s->wants_usage, &s->u, &s->chars);
    FUZZ_CHECK(a == GW_STREAM_PASS || a == GW_STREAM_DROP || a == GW_STREAM_DONE);
    FUZZ_CHECK(s->chars - before <= ev->data.len);
    check_usage(&s->u);
    gw_str t = gw_str_trim(ev->data);
    if (gw_str_eq(t, GW_STRLIT("[DONE]")))
        FUZZ_CHECK(a == GW_STREAM_DONE);
    if (a == GW_STREAM_DROP)
        FUZZ_CHECK(!s->wants_usage);
    /* the NULL outputs are allowed too, and change nothing */
    FUZZ_CHECK(s->ad->stream_event(ev, s->wants_usage, NULL, NULL) == a);
    return a == GW_STREAM_DONE;
}

static void one(const struct gw_adapter *ad, uint8_t mode, const char *body, size_t len)
{
    if (mode < 4) {
        struct gw_usage u;
        memset(&u, 0x55, sizeof u);
        int rc = ad->parse_response(body, len, &u);
        json_t *j = gw_json_parse(body, len, 0, NULL, 0);
        FUZZ_CHECK((rc == GW_OK) == json_is_object(j));
        json_decref(j);
        check_usage(&u);
        if (rc != GW_OK) {
            struct gw_usage zero = {0};
            FUZZ_CHECK(memcmp(&u, &zero, sizeof u) == 0);
        }
        if (u.present)
            FUZZ_CHECK(u.total > 0 || u.prompt > 0 || u.completion > 0);
        bill(&u, (uint8_t)(len & 0xff));
    } else if (mode < 6) {
        char msg[64], code[16];
        memset(msg, 'x', sizeof msg);
        memset(code, 'y', sizeof code);
        size_t mcap = mode == 4 ? sizeof msg : 1 + len % sizeof msg;
        int rc = ad->parse_error(body, len, msg, mcap, code, sizeof code);
        FUZZ_CHECK(rc == GW_OK || rc == GW_EINVAL);
        FUZZ_CHECK(memchr(msg, '\0', mcap) && memchr(code, '\0', sizeof code));
        FUZZ_CHECK(!strpbrk(msg, "\r\n") && !strpbrk(code, "\r\n"));
        FUZZ_CHECK(ad->parse_error(body, len, NULL, 0, NULL, 0) == rc);
    } else {
        struct stream s = {.ad = ad, .wants_usage = mode & 1};
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
    const struct gw_adapter *seen[16];
    size_t nseen = 0;

    /* every distinct adapter of the channel-type table */
    for (int type = 0; type < 128; type++) {
        const struct gw_channel_type *ct = gw_channel_type(type);
        if (!ct || !ct->adapter)
            continue;
        int dup = 0;
        for (size_t i = 0; i < nseen; i++)
            dup |= seen[i] == ct->adapter;
        if (dup)
            continue;
        FUZZ_CHECK(nseen < sizeof seen / sizeof seen[0]);
        seen[nseen++] = ct->adapter;
        one(ct->adapter, data[0] % 8, body, len);
    }
    FUZZ_CHECK(nseen >= 2); /* openai and azure */
    return 0;
}
