/* OpenAI adapter and the OpenAI-compatible rows: recorded transcripts
 * (tests/adapters/openai_*.txt), the channel-type table, the request helpers,
 * paths, malformed input and allocation failure. */
#include <time.h>

#include "adapters/adapter_int.h"
#include "gateway/core/alloc.h"
#include "tests/adapters/harness.h"

/* The relay's meter over the chat format's decoder (what the adapters'
 * stream_event was): *u overwritten by a chunk with usage, *chars grown by
 * the delivered text; NULL outputs allowed. */
struct meter {
    struct gw_usage *u;
    size_t *chars;
};

static int meter_cb(const struct gw_ev *ev, void *data)
{
    struct meter *m = data;
    if (ev->kind == GW_EV_USAGE && m->u && ev->usage->present)
        *m->u = *ev->usage;
    if ((ev->kind == GW_EV_TEXT || ev->kind == GW_EV_REASONING || ev->kind == GW_EV_TOOL_ARGS) &&
        m->chars)
        *m->chars += gw_fmt_code_points(ev->text);
    return 0;
}

static int stream_event(const struct gw_sse_event *ev, int wants_usage, struct gw_usage *u,
                        size_t *chars)
{
    struct gw_stream_state st;
    struct meter m = {u, chars};
    memset(&st, 0, sizeof st);
    return gw_format_chat.decode(&st, ev, wants_usage, meter_cb, &m);
}

static void transcripts_build(void **state)
{
    (void)state;
    assert_true(h_run_file("openai_build.txt", &gw_adapter_openai) >= 40);
}

static void transcripts_stream(void **state)
{
    (void)state;
    assert_true(h_run_file("openai_stream.txt", &gw_adapter_openai) >= 15);
}

static void registry_rows(void **state)
{
    (void)state;
    static const struct {
        int type;
        const char *base;
        unsigned so;
    } rows[] = {
        {1, "https://api.openai.com", 1},      {3, "", 1},
        {4, "http://localhost:11434", 1},      {6, "https://api.openaimax.com", 0},
        {7, "https://api.ohmygpt.com", 0},     {8, "", 0},
        {9, "https://api.caipacity.com", 0},   {10, "https://api.aiproxy.io", 0},
        {12, "https://api.api2gpt.com", 0},    {13, "https://api.aigc2d.com", 0},
        {14, "https://api.anthropic.com", 0},
        {19, "https://api.360.cn", 0},         {20, "https://openrouter.ai/api", 0},
        {25, "https://api.moonshot.cn", 0},    {27, "https://api.perplexity.ai", 0},
        {31, "https://api.lingyiwanwu.com", 0}, {40, "https://api.siliconflow.cn", 0},
        {42, "https://api.mistral.ai", 0},     {43, "https://api.deepseek.com", 1},
        {47, "", 0},                           {48, "https://api.x.ai", 1},
        {24, "https://generativelanguage.googleapis.com", 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const struct gw_channel_type *ct = gw_channel_type(rows[i].type);
        assert_non_null(ct);
        assert_int_equal(ct->type, rows[i].type);
        assert_non_null(ct->name);
        assert_string_equal(ct->default_base_url, rows[i].base);
        assert_int_equal(!!(ct->flags & GW_CT_STREAM_OPTIONS), rows[i].so);
        assert_ptr_equal(ct->adapter, rows[i].type == 3    ? &gw_adapter_azure
                                      : rows[i].type == 14 ? &gw_adapter_anthropic
                                      : rows[i].type == 24 ? &gw_adapter_gemini
                                                           : &gw_adapter_openai);
        assert_int_equal(!!(ct->flags & GW_CT_HTTP), rows[i].type == 4);
    }
    static const int none[] = {-1, 0, 2, 5, 11, 33, 41, 99, 1 << 30};
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++)
        assert_null(gw_channel_type(none[i]));
}

static void base_url(void **state)
{
    (void)state;
    struct gw_channel ch = {0};
    char buf[32];
    const struct gw_channel_type *ct = gw_channel_type(1);

    ch.base_url = "";
    assert_string_equal(gw_channel_base_url(&ch, ct, buf, sizeof buf), "https://api.openai.com");
    ch.base_url = "http://h:1//";
    assert_string_equal(gw_channel_base_url(&ch, ct, buf, sizeof buf), "http://h:1");
    ch.base_url = "https://a-very-long-host-name.example.com";
    assert_null(gw_channel_base_url(&ch, ct, buf, sizeof buf));
    ch.base_url = NULL;
    assert_null(gw_channel_base_url(&ch, NULL, buf, sizeof buf));
    assert_string_equal(gw_channel_base_url(&ch, gw_channel_type(3), buf, sizeof buf), "");
}

static void request_headers(void **state)
{
    (void)state;
    struct gw_upstream_req q;
    char got[512];

    gw_upstream_req_init(&q);
    assert_int_equal(gw_upstream_req_header(&q, "A", "1"), GW_OK);
    assert_int_equal(gw_upstream_req_header(&q, "B", ""), GW_OK);
    assert_int_equal(gw_upstream_req_header(&q, "Expect", ""), GW_OK);
    assert_int_equal(gw_upstream_req_set_header(&q, "a", "2"), GW_OK);
    assert_string_equal(gw_upstream_req_get_header(&q, "A"), "2");
    assert_string_equal(gw_upstream_req_get_header(&q, "b"), "");
    assert_null(gw_upstream_req_get_header(&q, "Ab"));
    h_headers_text(q.headers, got, sizeof got);
    assert_string_equal(got, "B;\nExpect:\na: 2");
    assert_int_equal(gw_upstream_req_header(&q, "X", "a\r\nEvil: 1"), GW_EINVAL);
    assert_int_equal(gw_upstream_req_header(&q, "X:Y", "v"), GW_EINVAL);
    assert_int_equal(gw_upstream_req_header(&q, "", "v"), GW_EINVAL);
    assert_int_equal(gw_upstream_req_set_header(&q, "X", "a\nb"), GW_EINVAL);
    gw_upstream_req_free(&q);
    gw_upstream_req_free(&q);   /* harmless twice */
}

static void paths(void **state)
{
    (void)state;
    json_t *o = json_loads("{\"a\":{\"b\":[1,2,{\"c\":3}]},\"x.y\":5}", 0, NULL);
    char deep[4 * GW_PATH_MAX_DEPTH + 8] = "";

    assert_int_equal(json_integer_value(gw__path_get(o, "a.b.2.c")), 3);
    assert_int_equal(json_integer_value(gw__path_get(o, "a.b.-3")), 1);
    assert_null(gw__path_get(o, "a.b.-4"));
    assert_null(gw__path_get(o, "a.b.9"));
    assert_null(gw__path_get(o, "a.b.c"));
    assert_null(gw__path_get(o, ""));
    assert_null(gw__path_get(o, NULL));
    assert_int_equal(json_integer_value(gw__path_get(o, "x\\.y")), 5);
    assert_int_equal(gw__path_set(o, "a.b.5", json_integer(9)), GW_OK);   /* pads with null */
    assert_int_equal(json_array_size(gw__path_get(o, "a.b")), 6);
    assert_true(json_is_null(gw__path_get(o, "a.b.3")));
    assert_int_equal(gw__path_set(o, "a.b.-1", json_integer(10)), GW_OK);
    assert_int_equal(json_integer_value(gw__path_get(o, "a.b.5")), 10);
    assert_int_equal(gw__path_set(o, "n.0.k", json_true()), GW_OK);   /* array created */
    assert_true(json_is_array(gw__path_get(o, "n")));
    assert_int_equal(gw__path_set(o, "x\\.y.z", json_true()), GW_EINVAL);   /* scalar in the way */
    assert_int_equal(gw__path_set(o, "", json_true()), GW_EINVAL);
    assert_int_equal(gw__path_set(o, "a.b.-7", json_true()), GW_EINVAL);
    assert_int_equal(gw__path_set(o, "q", NULL), GW_ENOMEM);
    assert_int_equal(gw__path_del(o, "a.b.-1"), GW_OK);
    assert_int_equal(json_array_size(gw__path_get(o, "a.b")), 5);
    assert_int_equal(gw__path_del(o, "no.such.path"), GW_OK);
    size_t dl = 0;
    for (int i = 0; i <= GW_PATH_MAX_DEPTH && dl < sizeof deep; i++)
        dl += (size_t)snprintf(deep + dl, sizeof deep - dl, "%s", i ? ".a" : "a");
    assert_int_equal(gw__path_set(o, deep, json_true()), GW_EINVAL);
    json_decref(o);
}

/* Garbage never crashes and never yields usage. */
static void malformed(void **state)
{
    (void)state;
    static const char *const datas[] = {
        "", "{", "{\"usage\":", "{\"usage\":5,\"choices\":[]}", "{\"choices\":{\"delta\":1}}",
        "{\"choices\":[1,null,{\"delta\":[]},{\"delta\":{\"content\":7,\"tool_calls\":{}}}]}",
        "{\"usage\":{\"prompt_tokens\":\"9\"},\"choices\":[]}",
        "{\"usage\":{\"prompt_tokens\":-5,\"completion_tokens\":1e300},\"choices\":[]}",
        "[\"usage\"]", "\"content\"", "[DONE", "DONE]",
        "{\"choices\":[{\"delta\":{\"content\":\"\\u0000\"}}],\"usage\":null}",
    };
    for (size_t i = 0; i < sizeof datas / sizeof datas[0]; i++) {
        struct gw_sse_event ev = {.data = gw_str_c(datas[i])};
        struct gw_usage u = {0};
        size_t chars = 0;
        int a = stream_event(&ev, 0, &u, &chars);
        assert_true(a == GW_DEC_PASS || a == GW_DEC_DROP);
        assert_int_equal(u.present, 0);
        assert_int_equal(stream_event(&ev, 1, NULL, NULL), GW_DEC_PASS);
    }
    struct gw_usage u;
    char m[4], c[2];
    assert_int_equal(gw_format_chat.usage(NULL, 0, &u), GW_EINVAL);
    assert_int_equal(gw_format_chat.usage("[1]", 3, &u), GW_EINVAL);
    assert_int_equal(gw_format_chat.usage("{\"usage\":[]}", 12, &u), GW_OK);
    assert_int_equal(u.present, 0);
    assert_int_equal(gw_format_chat.parse_error("{\"error\":{\"message\":\"long\",\"code\":\"xyz\"}}",
                                                   41, m, sizeof m, c, sizeof c), GW_OK);
    assert_string_equal(m, "lon");
    assert_string_equal(c, "x");
    assert_int_equal(gw_format_chat.parse_error(NULL, 0, m, sizeof m, c, sizeof c), GW_EINVAL);
    assert_int_equal(gw_format_chat.parse_error("", 0, m, 0, c, 0), GW_EINVAL);
}

/* Found by tests/fuzz/fuzz_adapter.c: a usage with total_tokens 0 and
 * prompt + completion past LLONG_MAX was summed with signed overflow (UB, a
 * worker abort under UBSan). Counts are clamped to GW_USAGE_TOKENS_MAX, in
 * the body and in stream chunks alike. */
static void absurd_usage_is_clamped(void **state)
{
    (void)state;
    static const char body[] = "{\"usage\":{\"prompt_tokens\":9223372036854775807,"
                               "\"completion_tokens\":1,\"total_tokens\":0,"
                               "\"prompt_tokens_details\":{\"cached_tokens\":5e12}}}";
    struct gw_usage u;
    assert_int_equal(gw_format_chat.usage(body, sizeof body - 1, &u), GW_OK);
    assert_int_equal(u.present, 1);
    assert_int_equal(u.prompt, GW_USAGE_TOKENS_MAX);
    assert_int_equal(u.completion, 1);
    assert_int_equal(u.total, GW_USAGE_TOKENS_MAX + 1);
    assert_int_equal(u.cached, GW_USAGE_TOKENS_MAX);

    static const char chunk[] = "{\"choices\":[],\"usage\":{\"prompt_tokens\":9223372036854775807,"
                                "\"completion_tokens\":9223372036854775807}}";
    struct gw_sse_event ev = {.data = {chunk, sizeof chunk - 1}};
    memset(&u, 0, sizeof u);
    assert_int_equal(stream_event(&ev, 1, &u, NULL), GW_DEC_PASS);
    assert_int_equal(u.total, 2 * GW_USAGE_TOKENS_MAX);

    /* ordinary counts are untouched */
    static const char ok[] = "{\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":3.0}}";
    assert_int_equal(gw_format_chat.usage(ok, sizeof ok - 1, &u), GW_OK);
    assert_int_equal(u.prompt, 12);
    assert_int_equal(u.completion, 3);
    assert_int_equal(u.total, 15);
}

/* Found by tests/fuzz/fuzz_param_override.c: a "move" without "to" failed
 * without a message, and "operation move failed: %s" then quoted whatever
 * the caller's (uninitialised, in the relay) err buffer held: a stack
 * over-read whose bytes reached the client's error. */
static void override_failure_always_has_a_message(void **state)
{
    (void)state;
    static const char *const ops[] = {
        "{\"operations\":[{\"mode\":\"move\",\"from\":\"model\"}]}",
        "{\"operations\":[{\"mode\":\"copy\",\"from\":\"model\",\"to\":\"model.x\"}]}",
        "{\"operations\":[{\"mode\":\"move\",\"from\":\"model\",\"to\":\"\"}]}",
    };
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        json_t *ov = json_loads(ops[i], 0, NULL), *body = json_loads("{\"model\":\"m\"}", 0, NULL);
        struct gw_override_ctx ctx = {"m", "m", "/v1/chat/completions", 0};
        char err[64];
        memset(err, 'x', sizeof err); /* no NUL: what a stack buffer may hold */
        assert_non_null(ov);
        assert_int_equal(gw__param_override(body, ov, &ctx, err, sizeof err), GW_EINVAL);
        assert_non_null(memchr(err, '\0', sizeof err));
        if (!strstr(err, "failed: cannot"))
            fail_msg("op %zu: message \"%s\"", i, err);
        json_decref(ov);
        json_decref(body);
    }
}

/* Deterministic pseudo-random bytes through every parser. */
static void fuzz_parsers(void **state)
{
    (void)state;
    uint64_t x = 88172645463325252ull;
    char buf[256];
    for (int round = 0; round < 20000; round++) {
        size_t n = 0, len;
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        len = x % sizeof buf;
        static const char alpha[] = "{}[]\":,usagecontentchoicesdelta0123456789 \\\n-etruflsn";
        for (; n < len; n++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            buf[n] = round & 1 ? (char)(x & 0xff) : alpha[x % (sizeof alpha - 1)];
        }
        struct gw_sse_event ev = {.data = {buf, len}};
        struct gw_usage u = {0};
        size_t chars = 0;
        char m[64], c[16];
        stream_event(&ev, (int)(x & 1), &u, &chars);
        gw_format_chat.usage(buf, len, &u);
        gw_format_chat.parse_error(buf, len, m, sizeof m, c, sizeof c);
    }
}

static void each(void *ctx, gw_header_visit_cb visit, void *data)
{
    (void)ctx;
    visit("X-Trace", "t", data);
    visit("User-Agent", "ua", data);
}

static void each_hostile(void *ctx, gw_header_visit_cb visit, void *data)
{
    (void)ctx;
    static const char *const h[][2] = {
        {"Connection", "keep-alive, X-Hop"}, {"X-Hop", "hop"}, {"Cookie", "s=1"},
        {"Authorization", "Bearer sk-client"}, {"Proxy-Authorization", "Basic x"},
        {"Expect", "100-continue"}, {"Content-Encoding", "gzip"}, {"X-Ok", "fine\tvalue"},
        {"X-Cr", "a\rInjected: 1"}, {"X-Lf", "a\nInjected: 1"}, {"X-Ctl", "a\x01b"},
        {"User-Agent", "ua\r\nX-Evil: 1"}, {"X-Long", NULL},
    };
    static char longv[9000];
    memset(longv, 'v', sizeof longv - 1);
    for (size_t i = 0; i < sizeof h / sizeof h[0]; i++)
        if (visit(h[i][0], h[i][1] ? h[i][1] : longv, data))
            return;
}

/* "*" passes no hop-by-hop, cookie, credential or framing header, nothing
 * named in Connection, and no value with a control character; a placeholder
 * never copies a value it would have to cut. */
static void passthrough_is_guarded(void **state)
{
    (void)state;
    struct gw_channel ch = {.type = 1, .base_url = ""};
    ch.header_override = json_loads("{\"*\":\"\",\"X-Up\":\"{client_header:X-Long}\","
                                    "\"X-Up2\":\"{client_header:X-Cr}\"}", 0, NULL);
    json_t *body = json_loads("{\"model\":\"g\",\"messages\":[]}", 0, NULL);
    struct gw_relay_call call = {.mode = GW_RELAY_CHAT, .path = "/v1/chat/completions",
                                 .body = body, .model = "g", .api_key = "k",
                                 .client_headers = each_hostile};
    struct gw_upstream_req q;
    char err[256];
    gw_upstream_req_init(&q);
    assert_int_equal(gw_adapter_openai.build(&ch, "https://api.openai.com", &call, &q, err,
                                             sizeof err), GW_OK);
    static const char *const gone[] = {"Connection", "X-Hop", "Cookie", "Proxy-Authorization",
                                       "Content-Encoding", "X-Cr", "X-Lf", "X-Ctl", "X-Long",
                                       "X-Up", "X-Up2"};
    for (size_t i = 0; i < sizeof gone / sizeof gone[0]; i++)
        if (gw_upstream_req_get_header(&q, gone[i]))
            fail_msg("%s was passed through", gone[i]);
    assert_string_equal(gw_upstream_req_get_header(&q, "X-Ok"), "fine\tvalue");
    assert_string_equal(gw_upstream_req_get_header(&q, "Authorization"), "Bearer k");
    assert_string_equal(gw_upstream_req_get_header(&q, "Expect"), "");
    const char *ua = gw_upstream_req_get_header(&q, "User-Agent");
    assert_true(ua == NULL || strpbrk(ua, "\r\n") == NULL);
    for (struct curl_slist *l = q.headers; l; l = l->next)
        assert_null(strpbrk(l->data, "\r\n"));
    gw_upstream_req_free(&q);
    json_decref(body);
    json_decref(ch.header_override);
}

/* Every allocation failing in turn: build() fails cleanly or succeeds, and
 * ASan sees no leak. */
static void build_under_alloc_failure(void **state)
{
    (void)state;
    const char *ovr = "{\"operations\":[{\"path\":\"a\",\"mode\":\"set\",\"value\":{\"x\":[1,2]}},"
                      "{\"path\":\"messages\",\"mode\":\"append\",\"value\":[{\"role\":\"user\"}]},"
                      "{\"path\":\"m\",\"mode\":\"replace\",\"from\":\"a\",\"to\":\"bb\","
                      "\"conditions\":[{\"path\":\"model\",\"mode\":\"prefix\",\"value\":\"g\"}]}]}";
    struct gw_channel ch = {.type = 1, .base_url = "", .openai_organization = "org"};
    ch.param_override = json_loads(ovr, 0, NULL);
    ch.header_override = json_loads("{\"*\":\"\",\"X-K\":\"{api_key}\",\"X-T\":\"{client_header:x-trace}\"}", 0, NULL);
    ch.setting = json_loads("{\"system_prompt\":\"sys\",\"proxy\":\"http://p:1\"}", 0, NULL);
    int ok = 0, failed = 0;

    for (long n = 0; n < 400; n++) {
        json_t *body = json_loads("{\"model\":\"g\",\"m\":\"aaa\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", 0, NULL);
        struct gw_relay_call call = {.mode = GW_RELAY_CHAT, .path = "/v1/chat/completions",
                                     .body = body, .model = "g", .upstream_model = "g2",
                                     .stream = 1, .inject_usage = 1, .api_key = "k",
                                     .client_headers = each};
        struct gw_upstream_req q;
        char err[256];
        gw_upstream_req_init(&q);
        gw_alloc_fail_after(n);
        int rc = gw_adapter_openai.build(&ch, "https://api.openai.com", &call, &q, err, sizeof err);
        gw_alloc_fail_after(-1);
        if (rc == GW_OK)
            ok++;
        else
            failed++;
        gw_upstream_req_free(&q);
        json_decref(body);
        if (rc == GW_OK && n > 50)
            break;
    }
    assert_true(ok > 0);
    assert_true(failed > 0);
    json_decref(ch.param_override);
    json_decref(ch.header_override);
    json_decref(ch.setting);
}

/* Cost of stream_event on typical chunks (printed; the bound is loose so
 * sanitizer builds pass). */
static void stream_event_cost(void **state)
{
    (void)state;
    static const char chunk[] =
        "{\"id\":\"chatcmpl-AbC1\",\"object\":\"chat.completion.chunk\",\"created\":1735689600,"
        "\"model\":\"gpt-4o-mini-2024-07-18\",\"service_tier\":\"default\",\"system_fingerprint\":"
        "\"fp_0aa8d3e20b\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" token\"},"
        "\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}";
    struct gw_sse_event ev = {.data = {chunk, sizeof chunk - 1}};
    struct gw_usage u = {0};
    size_t chars = 0;
    struct timespec a, b;
    const int n = 20000;

    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < n; i++)
        stream_event(&ev, 0, &u, &chars);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double us = ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / 1e3 / n;
    print_message("stream_event: %.2f us per %zu-byte chunk\n", us, sizeof chunk - 1);
    assert_int_equal(chars, (size_t)n * 6);
    assert_true(us < 500);
}

int main(void)
{
    gw_json_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(transcripts_build),
        cmocka_unit_test(transcripts_stream),
        cmocka_unit_test(registry_rows),
        cmocka_unit_test(base_url),
        cmocka_unit_test(request_headers),
        cmocka_unit_test(paths),
        cmocka_unit_test(malformed),
        cmocka_unit_test(absurd_usage_is_clamped),
        cmocka_unit_test(override_failure_always_has_a_message),
        cmocka_unit_test(fuzz_parsers),
        cmocka_unit_test(build_under_alloc_failure),
        cmocka_unit_test(passthrough_is_guarded),
        cmocka_unit_test(stream_event_cost),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
