/* The Gemini codec (adapters/formats/gemini*.c) on hostile input. Byte 0
 * picks what the rest is:
 *   0..2  a client's generateContent body -> facts, req_to_hub, then the
 *         hub back to Gemini (req_from_hub) and to chat: either a 400 with
 *         a message or a JSON object, never a crash or a leak;
 *   3..4  a Gemini response body -> usage and resp_to_hub, the hub back to
 *         a Gemini response (resp_from_hub): usage never negative;
 *   5..7  an upstream SSE stream -> decode, every event re-encoded for a
 *         Gemini client and for a chat client, END once, then
 *         stream_error: each client event is a JSON object or "[DONE]". */
#include "tests/fuzz/fuzz_format.h"
#include "adapters/format.h"
#include "adapters/formats/gemini_embed.h"
#include "gateway/core/alloc.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"

#define FUZZ_MAX_INPUT (64u << 10)

static void check_usage(const struct gw_usage *u)
{
    FUZZ_CHECK(u->prompt >= 0 && u->completion >= 0 && u->total >= 0 && u->cached >= 0 &&
               u->reasoning >= 0 && u->image >= 0 && u->audio_in >= 0 && u->text_in >= 0);
    FUZZ_CHECK(u->present == 0 || u->present == 1);
}

static void request(const char *body, size_t len, uint8_t knob)
{
    json_t *j = gw_json_parse(body, len, 0, NULL, 0);
    if (!json_is_object(j)) {
        json_decref(j);
        return;
    }
    const struct gw_format *g = &gw_format_gemini;
    struct gw_path_facts pf = {.model = knob & 1 ? "gemini-2.5-flash" : NULL, .stream = knob & 2};
    struct gw_req_facts f;
    char msg[256];
    json_t *hub = NULL, *back = NULL;
    int rc = g->facts(j, &pf, &f, msg, sizeof msg);
    FUZZ_CHECK(rc == GW_OK || (rc == GW_EINVAL && memchr(msg, '\0', sizeof msg)));
    if (rc == GW_OK)
        FUZZ_CHECK(f.model[0] && f.max_tokens >= 0 && f.max_tokens <= 100000000);
    rc = g->req_to_hub(j, &pf, &hub, msg, sizeof msg);
    FUZZ_CHECK((rc == GW_OK) == (hub != NULL));
    if (hub) {
        FUZZ_CHECK(json_is_array(json_object_get(hub, "messages")));
        struct gw_conv_opts o = {.upstream_model = "gemini-2.5-pro", .stream = knob & 2};
        rc = g->req_from_hub(hub, &o, &back, msg, sizeof msg);
        FUZZ_CHECK((rc == GW_OK) == json_is_object(back));
        json_decref(back);
        back = NULL;
        rc = gw_format_convert_request(g, &gw_format_chat, j, &pf, &o, &back, msg, sizeof msg);
        FUZZ_CHECK(rc != GW_OK || json_is_object(back));
        json_decref(back);
    }
    json_t *emb = NULL;
    int batch = 0;
    if (gw_gemini_embed_req_to_openai(j, "m", &emb, &batch, msg, sizeof msg) == GW_OK)
        FUZZ_CHECK(json_is_object(emb));
    json_decref(emb);
    json_decref(hub);
    json_decref(j);
}

static void response(const char *body, size_t len)
{
    struct gw_usage u;
    memset(&u, 0x55, sizeof u);
    int rc = gw_format_gemini.usage(body, len, &u);
    json_t *j = gw_json_parse(body, len, 0, NULL, 0);
    FUZZ_CHECK((rc == GW_OK) == json_is_object(j));
    check_usage(&u);
    json_t *out = NULL;
    if (gw_format_convert_response(&gw_format_gemini, &gw_format_chat, body, len, "m", &out) ==
        GW_OK)
        FUZZ_CHECK(json_is_object(out));
    json_decref(out);
    out = NULL;
    if (gw_format_convert_response(&gw_format_chat, &gw_format_gemini, body, len, "m", &out) ==
        GW_OK)
        FUZZ_CHECK(json_is_object(out));
    json_decref(out);
    out = NULL;
    if (json_is_object(j) && gw_gemini_embed_resp_to_openai(j, "m", 3, &out) == GW_OK)
        FUZZ_CHECK(json_is_array(json_object_get(out, "data")));
    json_decref(out);
    json_decref(j);
    char m[48], c[12];
    rc = gw_format_gemini.parse_error(body, len, m, sizeof m, c, sizeof c);
    FUZZ_CHECK((rc == GW_OK || rc == GW_EINVAL) && !strpbrk(m, "\r\n") && !strpbrk(c, "\r\n"));
}

struct stream {
    struct gw_stream_state dec, enc_g, enc_c;
    int ended;
};

static int on_out(const char *event, const char *data, size_t len, void *ctx)
{
    (void)event;
    (void)ctx;
    if (len == 6 && memcmp(data, "[DONE]", 6) == 0)
        return 0;
    fuzz_check_json_object(data, len);
    return 0;
}

static int on_ev(const struct gw_ev *ev, void *ctx)
{
    struct stream *s = ctx;
    if (ev->kind == GW_EV_USAGE)
        check_usage(ev->usage);
    if (ev->kind == GW_EV_END) {
        if (s->ended)
            return 0;
        s->ended = 1;
    }
    FUZZ_CHECK(gw_format_gemini.encode(&s->enc_g, ev, "m", on_out, NULL) == 0);
    FUZZ_CHECK(gw_format_chat.encode(&s->enc_c, ev, "m", on_out, NULL) == 0);
    return 0;
}

static int on_sse(const struct gw_sse_event *ev, void *data)
{
    struct stream *s = data;
    int rc = gw_format_gemini.decode(&s->dec, ev, 0, on_ev, s);
    FUZZ_CHECK(rc == GW_DEC_PASS || rc == GW_DEC_DONE);
    return rc == GW_DEC_DONE;
}

static void stream(const char *body, size_t len, uint8_t knob)
{
    struct stream *s = calloc(1, sizeof *s);
    if (!s)
        abort();
    fuzz_sse_feed(body, len, on_sse, s);
    if (knob & 1) {
        gw_format_gemini.stream_error(&s->enc_g, "insufficient_user_quota", "quota", "cut", on_out,
                                      NULL);
    } else {
        struct gw_ev end = {.kind = GW_EV_END};
        on_ev(&end, s);
    }
    gw_format_gemini.stream_free(&s->dec);
    gw_format_gemini.stream_free(&s->enc_g);
    if (gw_format_chat.stream_free)
        gw_format_chat.stream_free(&s->enc_c);
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > FUZZ_MAX_INPUT)
        return 0;
    gw_json_init();
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    uint8_t mode = data[0] % 8;
    if (mode < 3)
        request(body, len, data[0] >> 3);
    else if (mode < 5)
        response(body, len);
    else
        stream(body, len, data[0] >> 3);
    return 0;
}
