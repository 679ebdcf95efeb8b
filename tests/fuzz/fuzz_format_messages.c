/* The Anthropic Messages codec (adapters/formats/messages.c,
 * messages_resp.c) on arbitrary input. Byte 0 picks what the rest is:
 *   0..3  an upstream SSE stream (split by gw_sse_parser as the relay does)
 *         -> decode with its state kept, every hub event straight into the
 *         Messages encoder: known actions, message_stop/error end with
 *         DONE, texts no longer than the event, usage never negative and
 *         merged (prompt = input + cache reads + cache writes >= each part,
 *         1h writes <= writes); the encoder writes JSON objects in
 *         Anthropic's order: message_start first, nothing after
 *         message_stop or error, content_block_delta only inside an open
 *         block;
 *   4..7  a client body -> facts (a model of 1..191 bytes, max_tokens in
 *         0..1e8, or a message), req_to_hub, req_from_hub back into
 *         Messages (max_tokens set, messages alternate, first is the
 *         user's), and the same body as a Messages response through
 *         resp_to_hub / resp_from_hub. */
#include "tests/fuzz/fuzz_format.h"
#include "adapters/format.h"
#include "gateway/core/alloc.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"

#define FUZZ_MAX_INPUT (64u << 10)

struct stream {
    struct gw_stream_state dec, enc;
    int started, stopped, open, outputs, ends;
    const struct gw_sse_event *ev;
};

static const char *str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static int on_out(const char *event, const char *data, size_t len, void *ctx)
{
    struct stream *s = ctx;
    FUZZ_CHECK(event != NULL);
    FUZZ_CHECK(!s->stopped); /* nothing after message_stop or error */
    json_t *j = gw_json_parse(data, len, 0, NULL, 0);
    FUZZ_CHECK(json_is_object(j));
    const char *type = str(j, "type");
    FUZZ_CHECK(type && strcmp(type, event) == 0);
    if (strcmp(type, "error") != 0)
        FUZZ_CHECK(s->started || strcmp(type, "message_start") == 0);
    if (strcmp(type, "message_start") == 0) {
        FUZZ_CHECK(!s->started);
        s->started = 1;
    } else if (strcmp(type, "content_block_start") == 0) {
        FUZZ_CHECK(!s->open);
        s->open = 1;
    } else if (strcmp(type, "content_block_stop") == 0) {
        FUZZ_CHECK(s->open);
        s->open = 0;
    } else if (strcmp(type, "content_block_delta") == 0) {
        /* a tool's late arguments may go to its closed block: only the
         * other kinds must be inside the open one */
        const char *dt = str(json_object_get(j, "delta"), "type");
        FUZZ_CHECK(dt);
        if (strcmp(dt, "input_json_delta") != 0)
            FUZZ_CHECK(s->open);
    } else if (strcmp(type, "message_delta") == 0) {
        FUZZ_CHECK(!s->open);
        const json_t *u = json_object_get(j, "usage");
        FUZZ_CHECK(json_integer_value(json_object_get(u, "input_tokens")) >= 0);
    } else if (strcmp(type, "message_stop") == 0 || strcmp(type, "error") == 0) {
        s->stopped = 1;
    }
    s->outputs++;
    json_decref(j);
    return 0;
}

static int on_ev(const struct gw_ev *ev, void *ctx)
{
    struct stream *s = ctx;
    fuzz_check_hub_event(ev, s->ev->data.len);
    if (ev->kind == GW_EV_USAGE) {
        const struct gw_usage *u = ev->usage;
        FUZZ_CHECK(u && u->present == 1);
        FUZZ_CHECK(u->prompt >= 0 && u->completion >= 0 && u->cached >= 0 &&
                   u->cache_write >= 0 && u->cache_write_1h >= 0);
        FUZZ_CHECK(u->cache_write_1h <= u->cache_write);
        FUZZ_CHECK(u->prompt >= u->cached && u->prompt >= u->cache_write);
        FUZZ_CHECK(u->total == u->prompt + u->completion);
    }
    if (ev->kind == GW_EV_END)
        s->ends++;
    FUZZ_CHECK(gw_format_messages.encode(&s->enc, ev, "client-model", on_out, s) == 0);
    return 0;
}

static int on_event(const struct gw_sse_event *ev, void *data)
{
    struct stream *s = data;
    s->ev = ev;
    int a = gw_format_messages.decode(&s->dec, ev, 0, on_ev, s);
    FUZZ_CHECK(a == GW_DEC_PASS || a == GW_DEC_DONE);
    return a == GW_DEC_DONE;
}

static void stream(const char *body, size_t len)
{
    struct stream s;
    memset(&s, 0, sizeof s);
    fuzz_sse_feed(body, len, on_event, &s);
    struct gw_ev end = {.kind = GW_EV_END}; /* what the relay sends when none came */
    FUZZ_CHECK(gw_format_messages.encode(&s.enc, &end, "client-model", on_out, &s) == 0);
    FUZZ_CHECK(s.stopped && s.started + 0 >= 0);
    int n = s.outputs;
    FUZZ_CHECK(gw_format_messages.encode(&s.enc, &end, "client-model", on_out, &s) == 0);
    FUZZ_CHECK(s.outputs == n);
}

static void check_claude_request(const json_t *c)
{
    size_t i;
    json_t *m;
    const char *prev = NULL;
    FUZZ_CHECK(json_is_object(c));
    FUZZ_CHECK(json_integer_value(json_object_get(c, "max_tokens")) > 0);
    json_array_foreach(json_object_get(c, "messages"), i, m) {
        const char *role = str(m, "role");
        FUZZ_CHECK(role && (!strcmp(role, "user") || !strcmp(role, "assistant")));
        FUZZ_CHECK(i > 0 || !strcmp(role, "user"));
        FUZZ_CHECK(prev == NULL || strcmp(prev, role) != 0); /* alternation */
        const json_t *ct = json_object_get(m, "content");
        FUZZ_CHECK((json_is_string(ct) && json_string_length(ct)) ||
                   (json_is_array(ct) && json_array_size(ct)));
        prev = role;
    }
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
    int rc = gw_format_messages.facts(b, &pf, &f, msg, sizeof msg);
    if (rc == GW_OK) {
        FUZZ_CHECK(f.model[0] && strlen(f.model) < sizeof f.model);
        FUZZ_CHECK(f.max_tokens >= 0 && f.max_tokens <= 100000000);
        json_t *hub = NULL, *back = NULL;
        rc = gw_format_messages.req_to_hub(b, &pf, &hub, msg, sizeof msg);
        if (rc == GW_OK) {
            FUZZ_CHECK(json_is_object(hub) && json_is_array(json_object_get(hub, "messages")));
            struct gw_conv_opts o = {.upstream_model = "up", .stream = f.stream};
            rc = gw_format_messages.req_from_hub(hub, &o, &back, msg, sizeof msg);
            if (rc == GW_OK) {
                check_claude_request(back);
                FUZZ_CHECK(!strcmp(str(back, "model"), "up"));
            } else {
                FUZZ_CHECK(rc == GW_EINVAL && memchr(msg, '\0', sizeof msg));
            }
        } else {
            FUZZ_CHECK(rc == GW_EINVAL && memchr(msg, '\0', sizeof msg));
            FUZZ_CHECK(hub == NULL);
        }
        json_decref(hub);
        json_decref(back);
    } else {
        FUZZ_CHECK(rc == GW_EINVAL && memchr(msg, '\0', sizeof msg));
    }
    /* the body as an upstream response, and as a hub request into Claude */
    json_t *hub = NULL, *out = NULL;
    if (gw_format_messages.resp_to_hub(b, &hub) == GW_OK) {
        FUZZ_CHECK(gw_format_messages.resp_from_hub(hub, "client-model", &out) == GW_OK);
        FUZZ_CHECK(!strcmp(str(out, "model"), "client-model"));
        const json_t *u = json_object_get(out, "usage");
        FUZZ_CHECK(json_integer_value(json_object_get(u, "input_tokens")) >= 0);
    }
    json_decref(hub);
    json_decref(out);
    struct gw_conv_opts o = {.upstream_model = "up"};
    if (gw_format_messages.req_from_hub(b, &o, &out, msg, sizeof msg) == GW_OK)
        check_claude_request(out);
    json_decref(out);
    struct gw_usage u;
    char code[64];
    gw_format_messages.usage(body, len, &u);
    FUZZ_CHECK(u.prompt >= 0 && u.completion >= 0 && u.cache_write_1h <= u.cache_write);
    gw_format_messages.parse_error(body, len, msg, sizeof msg, code, sizeof code);
    FUZZ_CHECK(memchr(msg, '\0', sizeof msg) && memchr(code, '\0', sizeof code));
    json_decref(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > FUZZ_MAX_INPUT)
        return 0;
    gw_json_init();
    uint8_t sel = data[0];
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    if ((sel & 7) < 4)
        stream(body, len);
    else
        request(body, len, sel);
    return 0;
}
