/* The Anthropic adapter (type 14) and the parts of the Messages codec the
 * goldens do not reach: the request it builds (URL, auth, version and beta
 * headers, default max_tokens, system prompt, overrides), facts refusals,
 * the Anthropic error shapes, the stateless meter, encoder edge cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "adapters/adapter_int.h"
#include "adapters/formats/messages_int.h"
#include "gateway/core/alloc.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"
#include "gateway/relay/routing.h"

static const char *const *client_hdrs;

static void each(void *ctx, gw_header_visit_cb visit, void *data)
{
    (void)ctx;
    for (const char *const *h = client_hdrs; h && h[0]; h += 2)
        if (visit(h[0], h[1], data))
            return;
}

/* Builds for channel ch and the body text; returns the body sent, parsed. */
static json_t *build(struct gw_channel *ch, const char *body, const char *path, int stream,
                     struct gw_upstream_req *q, int want_rc)
{
    json_t *b = gw_json_parse(body, strlen(body), 0, NULL, 0);
    struct gw_relay_call call = {.mode = GW_RELAY_CHAT, .wire = GW_WIRE_MESSAGES, .path = path,
                                 .body = b, .model = "claude-x", .upstream_model = "claude-up",
                                 .stream = stream, .api_key = "sk-ant-1",
                                 .client_headers = each};
    char err[256] = "";
    char base[256];
    const struct gw_channel_type *ct = gw_channel_type(14);
    assert_non_null(ct);
    assert_ptr_equal(ct->adapter, &gw_adapter_anthropic);
    assert_int_equal(ct->adapter->wire(ch, &call), GW_WIRE_MESSAGES);
    gw_upstream_req_init(q);
    int rc = ct->adapter->build(ch, gw_channel_base_url(ch, ct, base, sizeof base), &call, q, err,
                                sizeof err);
    json_decref(b);
    if (rc != want_rc)
        fail_msg("build rc %d (%s)", rc, err);
    return rc == GW_OK ? gw_json_parse(q->body.base, q->body.len, 0, NULL, 0) : NULL;
}

static void builds_request(void **state)
{
    (void)state;
    struct gw_channel ch = {.type = 14, .base_url = ""};
    struct gw_upstream_req q;
    static const char *const h1[] = {"anthropic-beta", "prompt-caching-2024-07-31,oauth",
                                     "User-Agent", "claude-cli/2.0", NULL};
    client_hdrs = h1;
    json_t *b = build(&ch,
                      "{\"model\":\"claude-x\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
                      "\"unknown_field\":{\"keep\":1}}",
                      "/v1/messages?beta=true", 1, &q, GW_OK);
    assert_string_equal(q.url.base, "https://api.anthropic.com/v1/messages?beta=true");
    assert_string_equal(gw_upstream_req_get_header(&q, "x-api-key"), "sk-ant-1");
    assert_string_equal(gw_upstream_req_get_header(&q, "anthropic-version"), "2023-06-01");
    assert_string_equal(gw_upstream_req_get_header(&q, "anthropic-beta"),
                        "prompt-caching-2024-07-31,oauth");
    assert_string_equal(gw_upstream_req_get_header(&q, "User-Agent"), "claude-cli/2.0");
    assert_null(gw_upstream_req_get_header(&q, "Authorization"));
    assert_string_equal(json_string_value(json_object_get(b, "model")), "claude-up");
    assert_int_equal(json_integer_value(json_object_get(b, "max_tokens")), GW_MSG_DEFAULT_MAX_TOKENS);
    assert_non_null(json_object_get(json_object_get(b, "unknown_field"), "keep"));
    json_decref(b);
    gw_upstream_req_free(&q);

    /* the client's version wins; no beta header when the client sent none;
     * converted calls (no path) go to /v1/messages */
    static const char *const h2[] = {"anthropic-version", "2024-01-01", NULL};
    client_hdrs = h2;
    ch.base_url = "http://127.0.0.1:9/";
    b = build(&ch, "{\"messages\":[],\"max_tokens\":5}", NULL, 0, &q, GW_OK);
    assert_string_equal(q.url.base, "http://127.0.0.1:9/v1/messages");
    assert_string_equal(gw_upstream_req_get_header(&q, "anthropic-version"), "2024-01-01");
    assert_null(gw_upstream_req_get_header(&q, "anthropic-beta"));
    assert_int_equal(json_integer_value(json_object_get(b, "max_tokens")), 5);
    json_decref(b);
    gw_upstream_req_free(&q);

    /* count_tokens takes no max_tokens */
    client_hdrs = NULL;
    b = build(&ch, "{\"messages\":[]}", "/v1/messages/count_tokens", 0, &q, GW_OK);
    assert_string_equal(q.url.base, "http://127.0.0.1:9/v1/messages/count_tokens");
    assert_null(json_object_get(b, "max_tokens"));
    json_decref(b);
    gw_upstream_req_free(&q);
}

static void channel_transforms(void **state)
{
    (void)state;
    struct gw_channel ch = {.type = 14, .base_url = ""};
    struct gw_upstream_req q;
    client_hdrs = NULL;
    ch.setting = json_pack("{s:s, s:b}", "system_prompt", "Be safe.", "system_prompt_override", 1);
    ch.header_override = json_pack("{s:s}", "anthropic-version", "2099-01-01");
    ch.param_override = json_pack("{s:i}", "top_k", 7);

    json_t *b = build(&ch, "{\"messages\":[],\"system\":\"Old.\"}", NULL, 0, &q, GW_OK);
    assert_string_equal(json_string_value(json_object_get(b, "system")), "Be safe.\nOld.");
    assert_int_equal(json_integer_value(json_object_get(b, "top_k")), 7);
    assert_string_equal(gw_upstream_req_get_header(&q, "anthropic-version"), "2099-01-01");
    json_decref(b);
    gw_upstream_req_free(&q);

    b = build(&ch, "{\"messages\":[],\"system\":[{\"type\":\"text\",\"text\":\"Old.\"}]}", NULL, 0,
              &q, GW_OK);
    assert_int_equal(json_array_size(json_object_get(b, "system")), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(b, "system"), 0), "text")),
                        "Be safe.");
    json_decref(b);
    gw_upstream_req_free(&q);

    b = build(&ch, "{\"messages\":[]}", NULL, 0, &q, GW_OK);
    assert_string_equal(json_string_value(json_object_get(b, "system")), "Be safe.");
    json_decref(b);
    gw_upstream_req_free(&q);

    build(&ch, "[1]", NULL, 0, &q, GW_EINVAL);
    gw_upstream_req_free(&q);
    json_decref(ch.setting);
    json_decref(ch.header_override);
    json_decref(ch.param_override);
}

static void facts_refusals(void **state)
{
    (void)state;
    static const struct {
        const char *body, *want;
    } cases[] = {
        {"{\"messages\":[]}", "model"},
        {"{\"model\":\"m\"}", "messages"},
        {"{\"model\":\"m\",\"messages\":[],\"stream\":\"yes\"}", "stream"},
        {"{\"model\":\"m\",\"messages\":[],\"max_tokens\":-1}", "max_tokens"},
        {"{\"model\":\"m\",\"messages\":[],\"max_tokens\":1.5}", "max_tokens"},
        {"{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":\"x\"}]}", "role"},
        {"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":5}]}", "content"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *b = gw_json_parse(cases[i].body, strlen(cases[i].body), 0, NULL, 0);
        struct gw_req_facts f;
        char msg[200] = "";
        json_t *hub = NULL;
        int rc = gw_format_messages.facts(b, NULL, &f, msg, sizeof msg);
        if (rc == GW_OK)
            rc = gw_format_messages.req_to_hub(b, NULL, &hub, msg, sizeof msg);
        if (rc != GW_EINVAL || !strstr(msg, cases[i].want))
            fail_msg("case %zu: rc %d msg '%s'", i, rc, msg);
        assert_null(hub);
        json_decref(b);
    }
    const char *ok = "{\"model\":\"m\",\"messages\":[],\"stream\":true,\"max_tokens\":9}";
    json_t *b = gw_json_parse(ok, strlen(ok), 0, NULL, 0);
    struct gw_req_facts f;
    assert_int_equal(gw_format_messages.facts(b, NULL, &f, NULL, 0), GW_OK);
    assert_string_equal(f.model, "m");
    assert_int_equal(f.stream, 1);
    assert_int_equal(f.max_tokens, 9);
    json_decref(b);
}

/* A hub with thinking, converted for Claude, meets Claude's documented
 * limits: budget >= 1024 and < max_tokens, no temperature but 1, no top_k,
 * top_p only in [0.95, 1]; a forced tool sends no thinking. */
static void thinking_limits(void **state)
{
    (void)state;
    static const struct {
        const char *hub, *want;
    } cases[] = {
        /* Gemini's budget above its maxOutputTokens: the answer keeps its allowance */
        {"{\"messages\":[],\"max_tokens\":3000,\"gw_thinking_budget\":8192,\"temperature\":0.2,"
         "\"gw_top_k\":20,\"top_p\":0.5}",
         "{\"max_tokens\":11192,\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":8192}}"},
        /* a budget under Claude's floor; temperature 1 and top_p 0.97 are allowed */
        {"{\"messages\":[],\"max_tokens\":4000,\"gw_thinking_budget\":128,\"temperature\":1,"
         "\"top_p\":0.97}",
         "{\"max_tokens\":4000,\"temperature\":1,\"top_p\":0.97,"
         "\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":1024}}"},
        /* effort high (4096) with max_tokens 4096: budget must stay below */
        {"{\"messages\":[],\"max_tokens\":4096,\"reasoning_effort\":\"high\"}",
         "{\"max_tokens\":8192,\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":4096}}"},
        /* a forced tool: no thinking, the sampling fields untouched */
        {"{\"messages\":[],\"max_tokens\":100,\"reasoning_effort\":\"low\",\"temperature\":0.2,"
         "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":{}}}],"
         "\"tool_choice\":\"required\"}",
         "{\"max_tokens\":100,\"temperature\":0.2}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *hub = gw_json_parse(cases[i].hub, strlen(cases[i].hub), 0, NULL, 0);
        json_t *want = gw_json_parse(cases[i].want, strlen(cases[i].want), 0, NULL, 0);
        assert_non_null(hub);
        assert_non_null(want);
        struct gw_conv_opts o = {.upstream_model = "claude-x"};
        json_t *out = NULL;
        char msg[200] = "";
        assert_int_equal(gw_format_messages.req_from_hub(hub, &o, &out, msg, sizeof msg), GW_OK);
        static const char *const keys[] = {"max_tokens", "temperature", "top_k", "top_p", "thinking"};
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
            json_t *w = json_object_get(want, keys[k]), *g = json_object_get(out, keys[k]);
            if (!(w ? g && json_equal(w, g) : g == NULL))
                fail_msg("case %zu: %s differs", i, keys[k]);
        }
        json_decref(out);
        json_decref(want);
        json_decref(hub);
    }
}

static void error_shapes(void **state)
{
    (void)state;
    static const struct {
        int status;
        const char *type;
    } cases[] = {
        {400, "invalid_request_error"}, {401, "authentication_error"}, {403, "permission_error"},
        {404, "not_found_error"},       {429, "rate_limit_error"},     {500, "api_error"},
        {529, "overloaded_error"},      {503, "overloaded_error"},     {422, "invalid_request_error"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *e = gw_format_messages.error_body(cases[i].status, "new_api_error", "x", "boom");
        assert_string_equal(json_string_value(json_object_get(e, "type")), "error");
        json_t *in = json_object_get(e, "error");
        assert_string_equal(json_string_value(json_object_get(in, "type")), cases[i].type);
        assert_string_equal(json_string_value(json_object_get(in, "message")), "boom");
        json_decref(e);
    }
    char msg[64], code[32];
    const char *body = "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}";
    assert_int_equal(gw_format_messages.parse_error(body, strlen(body), msg, sizeof msg, code, sizeof code), GW_OK);
    assert_string_equal(msg, "Overloaded");
    assert_string_equal(code, "overloaded_error");
    assert_int_equal(gw_format_messages.parse_error("<html>", 6, msg, sizeof msg, code, sizeof code), GW_EINVAL);
    assert_string_equal(msg, "<html>");
}

struct out {
    char buf[4096];
    size_t len;
    int n;
};

static int collect(const char *event, const char *data, size_t len, void *ctx)
{
    struct out *o = ctx;
    int w = snprintf(o->buf + o->len, sizeof o->buf - o->len, "%s|%.*s\n", event ? event : "-",
                     (int)len, data);
    if (w > 0 && (size_t)w < sizeof o->buf - o->len)
        o->len += (size_t)w;
    o->n++;
    return 0;
}

static void stream_error_and_order(void **state)
{
    (void)state;
    struct gw_stream_state st;
    struct out o = {0};
    memset(&st, 0, sizeof st);
    /* a budget cut mid-stream: Anthropic's "error" event, then nothing */
    struct gw_ev t = {.kind = GW_EV_TEXT, .text = GW_STRLIT("hi")};
    assert_int_equal(gw_format_messages.encode(&st, &t, "m", collect, &o), 0);
    assert_int_equal(gw_format_messages.stream_error(&st, "insufficient_user_quota", "q",
                                                     "quota exhausted", collect, &o), 0);
    struct gw_ev end = {.kind = GW_EV_END};
    int before = o.n;
    assert_int_equal(gw_format_messages.encode(&st, &end, "m", collect, &o), 0);
    assert_int_equal(o.n, before);
    assert_non_null(strstr(o.buf, "error|{\"type\":\"error\",\"error\":{\"type\":\"billing_error\","
                                  "\"message\":\"quota exhausted\"}}"));
    assert_null(strstr(o.buf, "message_stop"));

    /* USAGE after FINISH, no START, a second END: one message_delta with
     * both, one message_stop */
    memset(&st, 0, sizeof st);
    memset(&o, 0, sizeof o);
    struct gw_usage u = {.prompt = 100, .completion = 7, .cached = 60, .cache_write = 30,
                         .cache_write_1h = 10, .present = 1};
    struct gw_ev fin = {.kind = GW_EV_FINISH, .finish = "length"};
    struct gw_ev ue = {.kind = GW_EV_USAGE, .usage = &u};
    gw_format_messages.encode(&st, &fin, "m", collect, &o);
    gw_format_messages.encode(&st, &ue, "m", collect, &o);
    gw_format_messages.encode(&st, &end, "m", collect, &o);
    gw_format_messages.encode(&st, &end, "m", collect, &o);
    assert_non_null(strstr(o.buf, "\"stop_reason\":\"max_tokens\""));
    assert_non_null(strstr(o.buf, "\"usage\":{\"input_tokens\":10,\"cache_creation_input_tokens\":30,"
                                  "\"cache_read_input_tokens\":60,\"output_tokens\":7,"
                                  "\"cache_creation\":{\"ephemeral_5m_input_tokens\":20,"
                                  "\"ephemeral_1h_input_tokens\":10}}"));
    assert_int_equal(o.n, 3); /* message_start, message_delta, message_stop */
}

/* The relay's stateless hook: message_delta's output merges over
 * message_start's input and cache counts kept in *u. */
static void stateless_meter(void **state)
{
    (void)state;
    struct gw_usage u = {0};
    size_t chars = 0;
    const char *start = "{\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"usage\":"
                        "{\"input_tokens\":5,\"cache_read_input_tokens\":20,"
                        "\"cache_creation_input_tokens\":8,\"cache_creation\":"
                        "{\"ephemeral_5m_input_tokens\":2,\"ephemeral_1h_input_tokens\":6},"
                        "\"output_tokens\":1}}}";
    const char *delta = "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
                        "{\"type\":\"text_delta\",\"text\":\"h\\u00e9llo\"}}";
    const char *md = "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},"
                     "\"usage\":{\"output_tokens\":42}}";
    struct gw_sse_event e1 = {.data = gw_str_c(start)}, e2 = {.data = gw_str_c(delta)},
                        e3 = {.data = gw_str_c(md)},
                        e4 = {.data = GW_STRLIT("{\"type\":\"message_stop\"}")};
    assert_int_equal(gw__msg_meter(&e1, &u, &chars), GW_DEC_PASS);
    assert_int_equal(gw__msg_meter(&e2, &u, &chars), GW_DEC_PASS);
    assert_int_equal(gw__msg_meter(&e3, &u, &chars), GW_DEC_PASS);
    assert_int_equal(gw__msg_meter(&e4, &u, &chars), GW_DEC_DONE);
    assert_int_equal(u.prompt, 33);
    assert_int_equal(u.cached, 20);
    assert_int_equal(u.cache_write, 8);
    assert_int_equal(u.cache_write_1h, 6);
    assert_int_equal(u.completion, 42);
    assert_int_equal(chars, 5);
    assert_true(u.present);

    const char *resp = "{\"type\":\"message\",\"content\":[],\"usage\":{\"input_tokens\":3,"
                       "\"output_tokens\":4,\"cache_read_input_tokens\":10}}";
    assert_int_equal(gw_format_messages.usage(resp, strlen(resp), &u), GW_OK);
    assert_int_equal(u.prompt, 13);
    assert_int_equal(u.completion, 4);
    assert_int_equal(gw_format_messages.usage("nope", 4, &u), GW_EINVAL);
}

int main(void)
{
    gw_json_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(builds_request),   cmocka_unit_test(channel_transforms),
        cmocka_unit_test(facts_refusals),   cmocka_unit_test(thinking_limits),   cmocka_unit_test(error_shapes),
        cmocka_unit_test(stream_error_and_order), cmocka_unit_test(stateless_meter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
