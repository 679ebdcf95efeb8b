/* The Responses codec where the goldens cannot reach: the client's facts and
 * their refusals, the error body, the mid-stream error (an "error" event,
 * then response.failed carrying what was delivered), an encoder driven in an
 * odd order, and stream_free on a decoder's state. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "adapters/format.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"

static const struct gw_format *R = &gw_format_responses;

static void facts_and_refusals(void **state)
{
    (void)state;
    static const struct {
        const char *body, *why; /* why NULL: accepted */
        int stream;
        long long max;
    } rows[] = {
        {"{\"model\":\"gpt-5\",\"input\":\"hi\"}", NULL, 0, 0},
        {"{\"model\":\"gpt-5\",\"input\":[],\"stream\":true,\"max_output_tokens\":300}", NULL, 1, 300},
        {"{\"input\":\"hi\"}", "'model'", 0, 0},
        {"{\"model\":\"\",\"input\":\"hi\"}", "'model'", 0, 0},
        {"{\"model\":7}", "'model'", 0, 0},
        {"{\"model\":\"m\",\"stream\":\"yes\"}", "'stream'", 0, 0},
        {"{\"model\":\"m\",\"max_output_tokens\":-1}", "'max_output_tokens'", 0, 0},
        {"{\"model\":\"m\",\"max_output_tokens\":100000001}", "'max_output_tokens'", 0, 0},
        {"{\"model\":\"m\",\"max_output_tokens\":1.5}", "'max_output_tokens'", 0, 0},
        {"{\"model\":\"m\",\"input\":42}", "'input'", 0, 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        json_t *b = json_loads(rows[i].body, 0, NULL);
        struct gw_req_facts f;
        char msg[200] = "";
        int rc = R->facts(b, NULL, &f, msg, sizeof msg);
        if (rows[i].why) {
            assert_int_equal(rc, GW_EINVAL);
            if (!strstr(msg, rows[i].why))
                fail_msg("%s: '%s' does not name %s", rows[i].body, msg, rows[i].why);
        } else {
            assert_int_equal(rc, GW_OK);
            assert_int_equal(f.stream, rows[i].stream);
            assert_int_equal(f.max_tokens, rows[i].max);
            assert_int_equal(f.client_usage, 0);
        }
        json_decref(b);
    }
    /* a 191-byte name fits, 192 bytes is refused, never cut */
    char big[300];
    memset(big, 'a', sizeof big);
    for (int n = 191; n <= 192; n++) {
        json_t *b = json_pack("{s:s#}", "model", big, (int)n);
        struct gw_req_facts f;
        char msg[200];
        assert_int_equal(R->facts(b, NULL, &f, msg, sizeof msg), n == 191 ? GW_OK : GW_EINVAL);
        json_decref(b);
    }
}

static void error_body_is_openais(void **state)
{
    (void)state;
    json_t *e = R->error_body(429, "rate_limit_error", "rate_limited", "slow down");
    json_t *want = json_loads("{\"error\":{\"message\":\"slow down\",\"type\":\"rate_limit_error\","
                              "\"param\":null,\"code\":\"rate_limited\"}}",
                              0, NULL);
    assert_true(json_equal(e, want));
    json_decref(e);
    json_decref(want);
    e = R->error_body(500, NULL, NULL, "x");
    assert_string_equal(json_string_value(json_object_get(json_object_get(e, "error"), "type")),
                        "api_error");
    assert_true(json_is_null(json_object_get(json_object_get(e, "error"), "code")));
    json_decref(e);
}

struct got {
    json_t *events;
};

static int collect(const char *event, const char *data, size_t len, void *ctx)
{
    struct got *g = ctx;
    json_t *d = json_loadb(data, len, 0, NULL);
    assert_non_null(d);
    assert_non_null(event);
    assert_string_equal(event, json_string_value(json_object_get(d, "type")));
    /* every event carries its sequence number, one above the last */
    assert_int_equal(json_integer_value(json_object_get(d, "sequence_number")),
                     (json_int_t)json_array_size(g->events));
    json_array_append_new(g->events, d);
    return 0;
}

static const char *type_at(const struct got *g, size_t i)
{
    return json_string_value(json_object_get(json_array_get(g->events, i), "type"));
}

static void mid_stream_error(void **state)
{
    (void)state;
    struct gw_stream_state st;
    struct got g = {json_array()};
    memset(&st, 0, sizeof st);
    struct gw_ev text = {.kind = GW_EV_TEXT, .text = GW_STRLIT("Par")};
    /* a TEXT before any START: the encoder starts the response itself */
    assert_int_equal(R->encode(&st, &text, "my-model", collect, &g), 0);
    assert_int_equal(R->stream_error(&st, "insufficient_quota", "insufficient_user_quota",
                                     "quota exhausted", collect, &g),
                     0);
    size_t n = json_array_size(g.events);
    assert_string_equal(type_at(&g, 0), "response.created");
    assert_string_equal(type_at(&g, n - 2), "error");
    assert_string_equal(type_at(&g, n - 1), "response.failed");
    json_t *err = json_array_get(g.events, n - 2);
    assert_string_equal(json_string_value(json_object_get(err, "code")), "insufficient_user_quota");
    assert_string_equal(json_string_value(json_object_get(err, "message")), "quota exhausted");
    json_t *resp = json_object_get(json_array_get(g.events, n - 1), "response");
    assert_string_equal(json_string_value(json_object_get(resp, "status")), "failed");
    assert_string_equal(json_string_value(json_object_get(resp, "model")), "my-model");
    assert_string_equal(json_string_value(json_object_get(json_object_get(resp, "error"), "code")),
                        "insufficient_user_quota");
    /* nothing after the end: a second error, an END */
    struct gw_ev end = {.kind = GW_EV_END};
    assert_int_equal(R->stream_error(&st, "x", "y", "z", collect, &g), 0);
    assert_int_equal(R->encode(&st, &end, "my-model", collect, &g), 0);
    assert_int_equal(json_array_size(g.events), n);
    R->stream_free(&st);
    R->stream_free(&st); /* twice is harmless */
    json_decref(g.events);
}

/* The fast path's budget cut: the upstream's events reached the client, the
 * encoder saw none; the cut is the closing pair only, never a second
 * response.created. */
static void error_before_any_event(void **state)
{
    (void)state;
    struct gw_stream_state st;
    struct got g = {json_array()};
    memset(&st, 0, sizeof st);
    assert_int_equal(R->stream_error(&st, "insufficient_quota", "insufficient_user_quota",
                                     "quota exhausted", collect, &g),
                     0);
    assert_int_equal(json_array_size(g.events), 2);
    assert_string_equal(type_at(&g, 0), "error");
    assert_string_equal(type_at(&g, 1), "response.failed");
    R->stream_free(&st);
    json_decref(g.events);
}

static void odd_order_still_completes(void **state)
{
    (void)state;
    struct gw_stream_state st;
    struct got g = {json_array()};
    memset(&st, 0, sizeof st);
    struct gw_usage u = {.prompt = 10, .completion = 4, .total = 14, .cached = 2, .present = 1};
    const struct gw_ev evs[] = {
        {.kind = GW_EV_TOOL_ARGS, .index = 0, .text = GW_STRLIT("{}")}, /* no TOOL_START */
        {.kind = GW_EV_FINISH, .finish = "tool_calls"},
        {.kind = GW_EV_USAGE, .usage = &u}, /* usage after the finish */
        {.kind = GW_EV_END},
        {.kind = GW_EV_END}, /* a second END writes nothing */
    };
    for (size_t i = 0; i < sizeof evs / sizeof evs[0]; i++)
        assert_int_equal(R->encode(&st, &evs[i], "m", collect, &g), 0);
    size_t n = json_array_size(g.events);
    assert_string_equal(type_at(&g, n - 1), "response.completed");
    json_t *resp = json_object_get(json_array_get(g.events, n - 1), "response");
    json_t *fc = json_array_get(json_object_get(resp, "output"), 0);
    assert_string_equal(json_string_value(json_object_get(fc, "type")), "function_call");
    assert_string_equal(json_string_value(json_object_get(fc, "arguments")), "{}");
    assert_true(strncmp(json_string_value(json_object_get(fc, "call_id")), "call_", 5) == 0);
    json_t *usage = json_object_get(resp, "usage");
    assert_int_equal(json_integer_value(json_object_get(usage, "input_tokens")), 10);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(usage, "input_tokens_details"), "cached_tokens")),
                     2);
    R->stream_free(&st);
    json_decref(g.events);

    /* no FINISH and no USAGE at all: completed, usage null */
    memset(&st, 0, sizeof st);
    g.events = json_array();
    struct gw_ev end = {.kind = GW_EV_END};
    assert_int_equal(R->encode(&st, &end, "m", collect, &g), 0);
    resp = json_object_get(json_array_get(g.events, json_array_size(g.events) - 1), "response");
    assert_string_equal(json_string_value(json_object_get(resp, "status")), "completed");
    assert_true(json_is_null(json_object_get(resp, "usage")));
    R->stream_free(&st);
    json_decref(g.events);
}

static int ignore(const struct gw_ev *ev, void *ctx)
{
    (void)ev;
    (void)ctx;
    return 0;
}

static void stream_free_on_a_decoders_state(void **state)
{
    (void)state;
    struct gw_stream_state st;
    memset(&st, 0, sizeof st);
    /* many tool calls: the decoder's state fills its bytes */
    for (int i = 0; i < 40; i++) {
        char data[200];
        snprintf(data, sizeof data,
                 "{\"type\":\"response.output_item.added\",\"output_index\":%d,"
                 "\"item\":{\"type\":\"function_call\",\"call_id\":\"c%d\",\"name\":\"f\"}}",
                 i, i);
        struct gw_sse_event ev = {.event = GW_STRLIT(""), .data = gw_str_c(data)};
        assert_int_equal(R->decode(&st, &ev, 0, ignore, NULL), GW_DEC_PASS);
    }
    R->stream_free(&st); /* must not read the decoder's bytes as pointers */
}

int main(void)
{
    gw_json_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(facts_and_refusals),
        cmocka_unit_test(error_body_is_openais),
        cmocka_unit_test(mid_stream_error),
        cmocka_unit_test(error_before_any_event),
        cmocka_unit_test(odd_order_still_completes),
        cmocka_unit_test(stream_free_on_a_decoders_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
