/* Gemini adapter (type 24): recorded transcripts (tests/adapters/gemini_*.txt)
 * for build(), the stream meter, usage and errors. */
#include "adapters/adapter_int.h"
#include "tests/adapters/harness.h"

static void transcripts_build(void **state)
{
    (void)state;
    assert_true(h_run_file("gemini_build.txt", &gw_adapter_gemini) >= 10);
}

static void transcripts_stream(void **state)
{
    (void)state;
    assert_true(h_run_file("gemini_stream.txt", &gw_adapter_gemini) >= 8);
}

static void registry_row(void **state)
{
    (void)state;
    const struct gw_channel_type *ct = gw_channel_type(24);
    assert_non_null(ct);
    assert_ptr_equal(ct->adapter, &gw_adapter_gemini);
    assert_string_equal(ct->default_base_url, "https://generativelanguage.googleapis.com");
    assert_int_equal(gw_adapter_gemini.wire(NULL, NULL), GW_WIRE_GEMINI);
}

static void facts(void **state)
{
    (void)state;
    const struct gw_format *g = &gw_format_gemini;
    struct gw_path_facts pf = {.model = "gemini-2.5-flash", .stream = 1, .gemini_sse = 0};
    struct gw_req_facts f;
    char msg[128];
    json_t *b = json_loads("{\"contents\":[],\"generationConfig\":{\"maxOutputTokens\":77}}", 0, NULL);

    assert_int_equal(g->facts(b, &pf, &f, msg, sizeof msg), GW_OK);
    assert_string_equal(f.model, "gemini-2.5-flash");
    assert_int_equal(f.stream, 1);
    assert_int_equal(f.max_tokens, 77);
    json_decref(b);

    b = json_loads("{\"model\":\"models/gemini-2.5-pro\",\"generation_config\":{\"max_output_tokens\":5e9}}",
                   0, NULL);
    struct gw_path_facts none = {0};
    assert_int_equal(g->facts(b, &none, &f, msg, sizeof msg), GW_OK);
    assert_string_equal(f.model, "gemini-2.5-pro");
    assert_int_equal(f.max_tokens, 100000000);
    json_decref(b);

    b = json_loads("{\"contents\":{}}", 0, NULL);
    assert_int_equal(g->facts(b, &pf, &f, msg, sizeof msg), GW_EINVAL);
    assert_string_equal(msg, "contents must be an array");
    json_decref(b);
    b = json_loads("{\"contents\":[]}", 0, NULL);
    assert_int_equal(g->facts(b, &none, &f, msg, sizeof msg), GW_EINVAL);
    assert_string_equal(msg, "model is required");
    json_decref(b);
}

static void error_shapes(void **state)
{
    (void)state;
    static const struct { int status; const char *text; } want[] = {
        {400, "INVALID_ARGUMENT"}, {401, "UNAUTHENTICATED"}, {403, "PERMISSION_DENIED"},
        {404, "NOT_FOUND"}, {429, "RESOURCE_EXHAUSTED"}, {500, "INTERNAL"}, {503, "UNAVAILABLE"},
        {502, "INTERNAL"}, {413, "INVALID_ARGUMENT"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        json_t *e = gw_format_gemini.error_body(want[i].status, "x", "y", "bad \xff thing");
        json_t *in = json_object_get(e, "error");
        assert_int_equal(json_integer_value(json_object_get(in, "code")), want[i].status);
        assert_string_equal(json_string_value(json_object_get(in, "status")), want[i].text);
        assert_non_null(json_string_value(json_object_get(in, "message")));
        assert_int_equal(json_object_size(in), 3);
        json_decref(e);
    }
}

struct outs {
    char buf[4][512];
    int n;
};

static int collect(const char *event, const char *data, size_t len, void *ctx)
{
    struct outs *o = ctx;
    assert_null(event);
    assert_true(o->n < 4 && len < sizeof o->buf[0]);
    memcpy(o->buf[o->n], data, len);
    o->buf[o->n++][len] = '\0';
    return 0;
}

static void stream_errors(void **state)
{
    (void)state;
    struct gw_stream_state st;
    struct outs o = {.n = 0};
    memset(&st, 0, sizeof st);
    struct gw_ev text = {.kind = GW_EV_TEXT, .text = GW_STRLIT("partial")};
    assert_int_equal(gw_format_gemini.encode(&st, &text, "m", collect, &o), 0);
    assert_int_equal(gw_format_gemini.stream_error(&st, "insufficient_user_quota", "quota",
                                                   "quota exhausted", collect, &o), 0);
    struct gw_ev end = {.kind = GW_EV_END};
    assert_int_equal(gw_format_gemini.encode(&st, &end, "m", collect, &o), 0); /* nothing after */
    assert_int_equal(o.n, 2);
    assert_non_null(strstr(o.buf[0], "\"text\":\"partial\""));
    assert_string_equal(o.buf[1], "{\"error\":{\"code\":429,\"message\":\"quota exhausted\","
                                  "\"status\":\"RESOURCE_EXHAUSTED\"}}");
    gw_format_gemini.stream_free(&st);

    /* an upstream error event, then the relay's END: one error chunk */
    memset(&st, 0, sizeof st);
    o.n = 0;
    struct gw_ev err = {.kind = GW_EV_ERROR, .text = GW_STRLIT("overloaded"), .name = GW_STRLIT("UNAVAILABLE")};
    assert_int_equal(gw_format_gemini.encode(&st, &err, "m", collect, &o), 0);
    assert_int_equal(gw_format_gemini.encode(&st, &end, "m", collect, &o), 0);
    assert_int_equal(o.n, 1);
    assert_string_equal(o.buf[0], "{\"error\":{\"code\":500,\"message\":\"overloaded\","
                                  "\"status\":\"UNAVAILABLE\"}}");

    /* a tool call whose arguments never complete still ends as a functionCall */
    memset(&st, 0, sizeof st);
    o.n = 0;
    struct gw_ev ts = {.kind = GW_EV_TOOL_START, .index = 0, .name = GW_STRLIT("f")};
    struct gw_ev ta = {.kind = GW_EV_TOOL_ARGS, .index = 0, .text = GW_STRLIT("{\"a\":")};
    assert_int_equal(gw_format_gemini.encode(&st, &ts, "m", collect, &o), 0);
    assert_int_equal(gw_format_gemini.encode(&st, &ta, "m", collect, &o), 0);
    assert_int_equal(gw_format_gemini.encode(&st, &end, "m", collect, &o), 0);
    assert_int_equal(gw_format_gemini.encode(&st, &end, "m", collect, &o), 0);
    assert_int_equal(o.n, 1);
    assert_non_null(strstr(o.buf[0], "\"functionCall\":{\"name\":\"f\",\"args\":{\"arguments\":\"{\\\"a\\\":\"}}"));
    gw_format_gemini.stream_free(&st);
    gw_format_gemini.stream_free(&st); /* twice is harmless */
}

int main(void)
{
    gw_json_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(transcripts_build),
        cmocka_unit_test(transcripts_stream),
        cmocka_unit_test(registry_row),
        cmocka_unit_test(facts),
        cmocka_unit_test(error_shapes),
        cmocka_unit_test(stream_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
