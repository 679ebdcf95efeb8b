/* The Responses codec (adapters/formats/responses*.c) on outside bytes.
 * Byte 0 picks what the rest is:
 *   0  a client body -> facts: OK or a 400 with a message; a model that is
 *      non-empty and fits; max_tokens within 0..1e8;
 *   1  a client body -> req_to_hub, then the hub into chat and back into
 *      Responses (req_from_hub): OK gives an object, a refusal a message;
 *   2  an upstream response -> resp_to_hub -> resp_from_hub, and usage():
 *      counts never negative, present only with a count;
 *   3  an error body -> parse_error: bounded, one line, NUL-terminated;
 *   4+ an upstream SSE stream (split by gw_sse_parser as the relay does)
 *      -> decode -> encode into a Responses client (bit 0) or a chat client:
 *      known actions, every Responses event is JSON with its type and a
 *      sequence_number one above the last, nothing after the terminal event,
 *      then stream_error and stream_free (LeakSanitizer sees the rest). */
#include "tests/fuzz/fuzz_format.h"
#include "adapters/format.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"

#define FUZZ_MAX_INPUT (64u << 10)

static const struct gw_format *R = &gw_format_responses;

static void check_usage(const struct gw_usage *u)
{
    FUZZ_CHECK(u->prompt >= 0 && u->completion >= 0 && u->total >= 0 && u->cached >= 0 &&
               u->cache_write >= 0 && u->reasoning >= 0);
    FUZZ_CHECK(u->present == 0 || u->present == 1);
}

struct run {
    const struct gw_format *to;
    struct gw_stream_state dec, enc;
    long long seq;
    int terminal, ended;
};

static int out(const char *event, const char *data, size_t len, void *ctx)
{
    struct run *r = ctx;
    FUZZ_CHECK(!r->terminal); /* nothing after completed / incomplete / failed */
    if (r->to != R)
        return 0;
    json_t *j = gw_json_parse(data, len, 0, NULL, 0);
    FUZZ_CHECK(json_is_object(j));
    const char *t = json_string_value(json_object_get(j, "type"));
    FUZZ_CHECK(t && event && strcmp(t, event) == 0);
    json_t *sn = json_object_get(j, "sequence_number");
    FUZZ_CHECK(json_is_integer(sn) && json_integer_value(sn) == r->seq);
    r->seq++;
    r->terminal = !strcmp(t, "response.completed") || !strcmp(t, "response.incomplete") ||
                  !strcmp(t, "response.failed");
    json_decref(j);
    return 0;
}

static int on_ev(const struct gw_ev *ev, void *ctx)
{
    struct run *r = ctx;
    if (ev->kind == GW_EV_USAGE)
        check_usage(ev->usage);
    if (ev->kind == GW_EV_END) {
        if (r->ended)
            return 0;
        r->ended = 1;
    }
    return r->to->encode(&r->enc, ev, "fuzz-model", out, r);
}

static int on_sse(const struct gw_sse_event *ev, void *data)
{
    struct run *r = data;
    int a = R->decode(&r->dec, ev, 0, on_ev, r);
    FUZZ_CHECK(a == GW_DEC_PASS || a == GW_DEC_DROP || a == GW_DEC_DONE || a == GW_ENOMEM ||
               a == GW_ETOOBIG);
    return a == GW_DEC_DONE;
}

static void stream(const struct gw_format *to, const char *body, size_t len)
{
    struct run r = {.to = to};
    fuzz_sse_feed(body, len, on_sse, &r);
    if (!r.ended && !r.terminal) {
        struct gw_ev end = {.kind = GW_EV_END};
        on_ev(&end, &r);
    }
    r.terminal = 0; /* a second close writes nothing: out() would still accept it */
    long long seq = r.seq;
    to->stream_error(&r.enc, "upstream_error", "x", "cut", out, &r);
    FUZZ_CHECK(to != R || r.seq == seq);
    if (to->stream_free)
        to->stream_free(&r.enc);
    if (R->stream_free)
        R->stream_free(&r.dec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > FUZZ_MAX_INPUT)
        return 0;
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    uint8_t mode = data[0] % 6;
    char msg[256];

    if (mode <= 1) {
        json_t *j = gw_json_parse(body, len, 0, NULL, 0);
        if (!json_is_object(j)) {
            json_decref(j);
            return 0;
        }
        if (mode == 0) {
            struct gw_req_facts f;
            int rc = R->facts(j, NULL, &f, msg, sizeof msg);
            FUZZ_CHECK(rc == GW_OK || rc == GW_EINVAL);
            if (rc == GW_OK)
                FUZZ_CHECK(f.model[0] && f.max_tokens >= 0 && f.max_tokens <= 100000000LL);
        } else {
            json_t *hub = NULL, *up = NULL, *back = NULL;
            struct gw_conv_opts o = {.upstream_model = "m", .stream = len & 1, .include_usage = 1};
            msg[0] = '\0';
            int rc = R->req_to_hub(j, NULL, &hub, msg, sizeof msg);
            FUZZ_CHECK(rc == GW_OK || rc == GW_EINVAL || rc == GW_ENOMEM || rc == GW_ETOOBIG);
            FUZZ_CHECK((rc == GW_OK) == (hub != NULL));
            if (rc == GW_EINVAL)
                FUZZ_CHECK(msg[0] != '\0');
            if (hub) {
                FUZZ_CHECK(json_is_array(json_object_get(hub, "messages")));
                rc = gw_format_chat.req_from_hub(hub, &o, &up, msg, sizeof msg);
                FUZZ_CHECK(rc == GW_OK ? json_is_object(up) : up == NULL);
                rc = R->req_from_hub(hub, &o, &back, msg, sizeof msg);
                FUZZ_CHECK(rc == GW_OK ? json_is_object(back) : back == NULL);
            }
            json_decref(hub);
            json_decref(up);
            json_decref(back);
        }
        json_decref(j);
    } else if (mode == 2) {
        struct gw_usage u;
        int rc = R->usage(body, len, &u);
        FUZZ_CHECK(rc == GW_OK || rc == GW_EINVAL);
        check_usage(&u);
        if (u.present)
            FUZZ_CHECK(u.total > 0 || u.prompt > 0 || u.completion > 0);
        json_t *o = NULL;
        rc = gw_format_convert_response(R, &gw_format_chat, body, len, "m", &o);
        FUZZ_CHECK(rc == GW_OK ? json_is_object(o) : o == NULL);
        json_decref(o);
        rc = gw_format_convert_response(&gw_format_chat, R, body, len, "m", &o);
        FUZZ_CHECK(rc == GW_OK ? json_is_object(o) : o == NULL);
        json_decref(o);
    } else if (mode == 3) {
        char m[64], code[16];
        size_t mcap = 1 + len % sizeof m;
        int rc = R->parse_error(body, len, m, mcap, code, sizeof code);
        FUZZ_CHECK(rc == GW_OK || rc == GW_EINVAL);
        FUZZ_CHECK(memchr(m, '\0', mcap) && memchr(code, '\0', sizeof code));
        FUZZ_CHECK(!strpbrk(m, "\r\n") && !strpbrk(code, "\r\n"));
    } else {
        stream(mode & 1 ? R : &gw_format_chat, body, len);
    }
    return 0;
}
