/* The chat format's codec (adapters/formats/chat.c, chat_stream.c) on
 * arbitrary input. Byte 0 picks what the rest is:
 *   0..3  an upstream SSE stream (split by gw_sse_parser as the relay does)
 *         -> decode with its state kept, every hub event straight into the
 *         chat encoder: known actions, a drop only when the client did not
 *         ask for usage, "[DONE]" ends with one END, texts no longer than
 *         the event, usage never negative; the encoder writes JSON objects
 *         and one final "[DONE]";
 *   4..7  a client body -> facts (a model of 1..191 bytes, max_tokens in
 *         0..1e8 or a message), req_to_hub, req_from_hub (the upstream model,
 *         stream and stream_options as asked, no "gw_" key left where the
 *         hub puts them, cleaning twice changes nothing), and the same body
 *         as a response through resp_to_hub / resp_from_hub (the client's
 *         model). */
#include "tests/fuzz/fuzz_format.h"
#include "adapters/format.h"
#include "adapters/formats/chat_int.h"
#include "gateway/core/alloc.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"

#define FUZZ_MAX_INPUT (64u << 10)

struct stream {
    struct gw_stream_state dec, enc;
    int wants_usage, ends, done_out, outputs;
    const struct gw_sse_event *ev;
};

static int on_out(const char *event, const char *data, size_t len, void *ctx)
{
    struct stream *s = ctx;
    FUZZ_CHECK(event == NULL);
    FUZZ_CHECK(!s->done_out); /* nothing after [DONE] */
    s->outputs++;
    if (len == 6 && memcmp(data, "[DONE]", 6) == 0) {
        s->done_out = 1;
        return 0;
    }
    fuzz_check_json_object(data, len);
    return 0;
}

static int on_ev(const struct gw_ev *ev, void *ctx)
{
    struct stream *s = ctx;
    fuzz_check_hub_event(ev, s->ev->data.len);
    if (ev->kind == GW_EV_USAGE) {
        const struct gw_usage *u = ev->usage;
        FUZZ_CHECK(u && u->present == 1);
        FUZZ_CHECK(u->prompt >= 0 && u->completion >= 0 && u->total >= 0 && u->cached >= 0 &&
                   u->cache_write >= 0 && u->reasoning >= 0);
    }
    if (ev->kind == GW_EV_END)
        s->ends++;
    FUZZ_CHECK(gw_format_chat.encode(&s->enc, ev, "client-model", on_out, s) == 0);
    return 0;
}

static int on_event(const struct gw_sse_event *ev, void *data)
{
    struct stream *s = data;
    int ends = s->ends;
    s->ev = ev;
    int a = gw_format_chat.decode(&s->dec, ev, s->wants_usage, on_ev, s);
    FUZZ_CHECK(a == GW_DEC_PASS || a == GW_DEC_DROP || a == GW_DEC_DONE);
    if (a == GW_DEC_DROP)
        FUZZ_CHECK(!s->wants_usage);
    gw_str t = gw_str_trim(ev->data);
    FUZZ_CHECK((a == GW_DEC_DONE) == gw_str_eq(t, GW_STRLIT("[DONE]")));
    FUZZ_CHECK(s->ends == ends + (a == GW_DEC_DONE));
    return a == GW_DEC_DONE;
}

static void stream(const char *body, size_t len, int wants)
{
    struct stream s;
    memset(&s, 0, sizeof s);
    s.wants_usage = wants;
    fuzz_sse_feed(body, len, on_event, &s);
    struct gw_ev end = {.kind = GW_EV_END}; /* what the relay sends when none came */
    FUZZ_CHECK(gw_format_chat.encode(&s.enc, &end, "client-model", on_out, &s) == 0);
    FUZZ_CHECK(s.done_out);
    FUZZ_CHECK(gw_format_chat.encode(&s.enc, &end, "client-model", on_out, &s) == 0);
}

static void no_gw_keys(const json_t *o)
{
    const char *k;
    json_t *v;
    if (!json_is_object(o))
        return;
    json_object_foreach((json_t *)o, k, v)
        FUZZ_CHECK(strncmp(k, "gw_", 3) != 0);
}

static void request(const char *body, size_t len, uint8_t mode)
{
    json_t *b = gw_json_parse(body, len, 64, NULL, 0);
    if (!b)
        return;
    struct gw_req_facts f;
    char msg[200];
    memset(msg, 'x', sizeof msg);
    struct gw_path_facts pf = {.model = (mode & 1) ? "path-model" : NULL, .stream = mode & 2};
    int rc = gw_format_chat.facts(b, &pf, &f, msg, sizeof msg);
    FUZZ_CHECK(rc == GW_OK || rc == GW_EINVAL);
    FUZZ_CHECK(memchr(msg, '\0', sizeof msg));
    if (rc == GW_OK) {
        FUZZ_CHECK(f.model[0] && strlen(f.model) < sizeof f.model);
        FUZZ_CHECK(f.max_tokens >= 0 && f.max_tokens <= 100000000LL);
        FUZZ_CHECK(f.stream == 0 || f.stream == 1);
    } else {
        FUZZ_CHECK(msg[0]);
    }

    json_t *hub = NULL, *out = NULL, *again = NULL;
    rc = gw_format_chat.req_to_hub(b, &pf, &hub, msg, sizeof msg);
    FUZZ_CHECK((rc == GW_OK) == json_is_object(b));
    if (rc == GW_OK) {
        FUZZ_CHECK(json_equal(hub, b));
        struct gw_conv_opts o = {.upstream_model = "up", .stream = mode & 2,
                                 .include_usage = mode & 1};
        FUZZ_CHECK(gw_format_chat.req_from_hub(hub, &o, &out, msg, sizeof msg) == GW_OK);
        FUZZ_CHECK(!strcmp(json_string_value(json_object_get(out, "model")), "up"));
        FUZZ_CHECK(json_is_true(json_object_get(out, "stream")) == !!o.stream);
        FUZZ_CHECK((json_object_get(out, "stream_options") != NULL) ==
                   (o.stream && o.include_usage));
        no_gw_keys(out);
        size_t i, j;
        json_t *m, *p;
        json_array_foreach(json_object_get(out, "messages"), i, m) {
            no_gw_keys(m);
            json_array_foreach(json_object_get(m, "content"), j, p) {
                no_gw_keys(p);
                FUZZ_CHECK(!json_is_object(p) || !json_object_get(p, "cache_control"));
            }
        }
        json_array_foreach(json_object_get(out, "tools"), i, m) {
            no_gw_keys(m);
            FUZZ_CHECK(!json_is_object(m) || !json_object_get(m, "cache_control"));
        }
        again = json_deep_copy(out);
        FUZZ_CHECK(again);
        gw__chat_clean_request(again);
        FUZZ_CHECK(json_equal(again, out));
        json_decref(again);
        json_decref(out);
        json_decref(hub);

        hub = NULL;
        out = NULL;
        FUZZ_CHECK(gw_format_chat.resp_to_hub(b, &hub) == GW_OK);
        FUZZ_CHECK(gw_format_chat.resp_from_hub(hub, "client-model", &out) == GW_OK);
        FUZZ_CHECK(!strcmp(json_string_value(json_object_get(out, "model")), "client-model"));
        no_gw_keys(out);
        no_gw_keys(json_object_get(out, "usage"));
        json_decref(out);
        json_decref(hub);
    }
    json_decref(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > FUZZ_MAX_INPUT)
        return 0;
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    uint8_t mode = data[0] % 8;
    if (mode < 4)
        stream(body, len, mode & 1);
    else
        request(body, len, mode);
    return 0;
}
