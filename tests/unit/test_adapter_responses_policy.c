/* The chat <-> Responses policies (adapters/responses_policy.h), the wire
 * an OpenAI-family channel picks for a call (adapter->wire), the Responses
 * URL and body of a build, and the /v1/responses/{id} operations' request. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "adapters/adapter.h"
#include "adapters/responses_policy.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"
#include "gateway/relay/routing.h"

static void parse_refuses_bad_policies(void **state)
{
    (void)state;
    static const struct {
        const char *text, *why;
    } bad[] = {
        {"", "JSON object"},
        {"[]", "JSON object"},
        {"{\"enabled\":1}", "'enabled'"},
        {"{\"all_channels\":\"yes\"}", "'all_channels'"},
        {"{\"channel_ids\":[1,\"2\"]}", "'channel_ids'"},
        {"{\"channel_types\":{}}", "'channel_types'"},
        {"{\"model_patterns\":\"^gpt\"}", "'model_patterns'"},
        {"{\"model_patterns\":[3]}", "'model_patterns'"},
        {"{\"model_patterns\":[\"gpt-(4\"]}", "not a valid regular expression"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct gw_resp_policy *p = (void *)1;
        char err[200] = "";
        assert_int_equal(gw_resp_policy_parse(bad[i].text, &p, err, sizeof err), GW_EINVAL);
        assert_null(p);
        if (!strstr(err, bad[i].why))
            fail_msg("%s: '%s' does not say %s", bad[i].text, err, bad[i].why);
    }
}

static void match_table(void **state)
{
    (void)state;
    static const struct {
        const char *policy;
        long long id;
        int type;
        const char *model;
        int want;
    } rows[] = {
        /* the reference's default: off */
        {"{\"enabled\":false,\"all_channels\":true,\"model_patterns\":[\".*\"]}", 1, 1, "gpt-5", 0},
        /* enabled, every channel, patterns searched (Go's MatchString) */
        {"{\"enabled\":true,\"all_channels\":true,\"model_patterns\":[\"^gpt-5.*$\"]}", 9, 1,
         "gpt-5-mini", 1},
        {"{\"enabled\":true,\"all_channels\":true,\"model_patterns\":[\"^gpt-5.*$\"]}", 9, 1,
         "gpt-4o", 0},
        {"{\"enabled\":true,\"all_channels\":true,\"model_patterns\":[\"codex\"]}", 9, 1,
         "gpt-5-codex-high", 1},
        /* no pattern: never */
        {"{\"enabled\":true,\"all_channels\":true}", 9, 1, "gpt-5", 0},
        {"{\"enabled\":true,\"all_channels\":true,\"model_patterns\":[\"\"]}", 9, 1, "gpt-5", 0},
        /* named by id or by type */
        {"{\"enabled\":true,\"channel_ids\":[3,9],\"model_patterns\":[\"^o\"]}", 9, 1, "o3", 1},
        {"{\"enabled\":true,\"channel_ids\":[3,9],\"model_patterns\":[\"^o\"]}", 4, 1, "o3", 0},
        {"{\"enabled\":true,\"channel_types\":[43],\"model_patterns\":[\"^o\"]}", 4, 43, "o3", 1},
        {"{\"enabled\":true,\"channel_types\":[43],\"model_patterns\":[\"^o\"]}", 4, 1, "o3", 0},
        /* case matters, as in Go */
        {"{\"enabled\":true,\"all_channels\":true,\"model_patterns\":[\"^GPT\"]}", 1, 1, "gpt-5", 0},
        /* no model */
        {"{\"enabled\":true,\"all_channels\":true,\"model_patterns\":[\".*\"]}", 1, 1, "", 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct gw_resp_policy *p = NULL;
        char err[200];
        assert_int_equal(gw_resp_policy_parse(rows[i].policy, &p, err, sizeof err), GW_OK);
        int got = gw_resp_policy_match(p, rows[i].id, rows[i].type, rows[i].model);
        if (got != rows[i].want)
            fail_msg("row %zu: %s on %lld/%d/%s: got %d", i, rows[i].policy, rows[i].id,
                     rows[i].type, rows[i].model, got);
        /* the cached form answers the same */
        assert_int_equal(gw_resp_policy_applies(rows[i].policy, rows[i].id, rows[i].type,
                                                rows[i].model),
                         rows[i].want);
        gw_resp_policy_free(p);
    }
    assert_int_equal(gw_resp_policy_match(NULL, 1, 1, "gpt-5"), 0);
    assert_int_equal(gw_resp_policy_applies(NULL, 1, 1, "gpt-5"), 0);
    assert_int_equal(gw_resp_policy_applies("not json", 1, 1, "gpt-5"), 0);
}

#define ON_GPT5 "{\"enabled\":true,\"all_channels\":true,\"model_patterns\":[\"^gpt-5\"]}"

static void wire_choice(void **state)
{
    (void)state;
    static const struct {
        int type;
        enum gw_wire client;
        const char *c2r, *r2c;
        const char *model;
        enum gw_wire want;
    } rows[] = {
        /* Responses clients: OpenAI and Azure natively, every other type as chat */
        {1, GW_WIRE_RESPONSES, NULL, NULL, "gpt-5", GW_WIRE_RESPONSES},
        {3, GW_WIRE_RESPONSES, NULL, NULL, "gpt-5", GW_WIRE_RESPONSES},
        {43, GW_WIRE_RESPONSES, NULL, NULL, "gpt-5", GW_WIRE_CHAT},
        {4, GW_WIRE_RESPONSES, NULL, NULL, "gpt-5", GW_WIRE_CHAT},
        {20, GW_WIRE_RESPONSES, NULL, NULL, "gpt-5", GW_WIRE_CHAT},
        /* ... unless responses_to_chat_completions_policy names it */
        {1, GW_WIRE_RESPONSES, NULL, ON_GPT5, "gpt-5", GW_WIRE_CHAT},
        {1, GW_WIRE_RESPONSES, NULL, ON_GPT5, "gpt-4o", GW_WIRE_RESPONSES},
        /* chat clients: chat unless chat_completions_to_responses_policy says */
        {1, GW_WIRE_CHAT, NULL, NULL, "gpt-5", GW_WIRE_CHAT},
        {1, GW_WIRE_CHAT, ON_GPT5, NULL, "gpt-5", GW_WIRE_RESPONSES},
        {1, GW_WIRE_CHAT, ON_GPT5, NULL, "gpt-4o", GW_WIRE_CHAT},
        {1, GW_WIRE_MESSAGES, ON_GPT5, NULL, "gpt-5", GW_WIRE_RESPONSES},
        {1, GW_WIRE_GEMINI, ON_GPT5, NULL, "gpt-5", GW_WIRE_CHAT},
        {3, GW_WIRE_CHAT, ON_GPT5, NULL, "gpt-5", GW_WIRE_RESPONSES},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct gw_channel ch = {.id = 7, .type = rows[i].type};
        struct gw_relay_call call = {.mode = GW_RELAY_CHAT, .wire = rows[i].client,
                                     .model = rows[i].model,
                                     .chat_to_responses_policy = rows[i].c2r,
                                     .responses_to_chat_policy = rows[i].r2c};
        const struct gw_adapter *a = gw_channel_type(rows[i].type)->adapter;
        assert_non_null(a->wire);
        if (a->wire(&ch, &call) != rows[i].want)
            fail_msg("row %zu: type %d client %d model %s: got %d", i, rows[i].type,
                     rows[i].client, rows[i].model, a->wire(&ch, &call));
    }
    /* embeddings never change wire */
    struct gw_channel ch = {.id = 7, .type = 1};
    struct gw_relay_call call = {.mode = GW_RELAY_EMBEDDINGS, .wire = GW_WIRE_CHAT,
                                 .model = "gpt-5", .chat_to_responses_policy = ON_GPT5};
    assert_int_equal(gw_adapter_openai.wire(&ch, &call), GW_WIRE_CHAT);
}

static const char *header(struct gw_upstream_req *q, const char *name)
{
    return gw_upstream_req_get_header(q, name);
}

static void build_responses_wire(void **state)
{
    (void)state;
    static const struct {
        int type;
        const char *base, *other, *url;
    } rows[] = {
        {1, "https://api.openai.com", "", "https://api.openai.com/v1/responses"},
        {3, "https://r.openai.azure.com", "2025-04-01-preview",
         "https://r.openai.azure.com/openai/v1/responses?api-version=preview"},
        {3, "https://r.cognitiveservices.azure.com", "2025-04-01-preview",
         "https://r.cognitiveservices.azure.com/openai/responses?api-version=2025-04-01-preview"},
        /* a chat-only quirk row never reshapes a Responses URL */
        {27, "https://api.perplexity.ai", "", "https://api.perplexity.ai/v1/responses"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct gw_channel ch = {.id = 1, .type = rows[i].type, .base_url = (char *)rows[i].base,
                                .other = (char *)rows[i].other};
        json_t *body = json_pack("{s:s, s:s, s:b, s:{s:b}}", "model", "gpt-5", "input", "hi",
                                 "stream", 1, "stream_options", "include_usage", 1);
        struct gw_relay_call call = {.mode = GW_RELAY_CHAT, .wire = GW_WIRE_RESPONSES,
                                     .body = body, .model = "gpt-5", .upstream_model = "dep-5",
                                     .stream = 1, .inject_usage = 1, .api_key = "sk-1"};
        struct gw_upstream_req q;
        char err[200] = "";
        gw_upstream_req_init(&q);
        const struct gw_adapter *a = gw_channel_type(rows[i].type)->adapter;
        if (a->build(&ch, rows[i].base, &call, &q, err, sizeof err) != GW_OK)
            fail_msg("row %zu: %s", i, err);
        assert_string_equal(q.url.base, rows[i].url);
        json_t *sent = gw_json_parse(q.body.base, q.body.len, 0, NULL, 0);
        assert_non_null(sent);
        /* the Responses API has no stream_options: usage comes in response.completed */
        assert_null(json_object_get(sent, "stream_options"));
        assert_string_equal(json_string_value(json_object_get(sent, "model")), "dep-5");
        json_decref(sent);
        json_decref(body);
        gw_upstream_req_free(&q);
    }
}

static void operations(void **state)
{
    (void)state;
    struct gw_upstream_req q;
    char err[200] = "";
    struct gw_channel oa = {.id = 1, .type = 1, .openai_organization = "org-1"};
    gw_upstream_req_init(&q);
    assert_int_equal(gw_adapter_responses_op(&oa, "https://api.openai.com", "sk-a",
                                             "/v1/responses/resp_1/input_items?limit=2", &q, err,
                                             sizeof err),
                     GW_OK);
    assert_string_equal(q.url.base, "https://api.openai.com/v1/responses/resp_1/input_items?limit=2");
    assert_string_equal(header(&q, "Authorization"), "Bearer sk-a");
    assert_string_equal(header(&q, "OpenAI-Organization"), "org-1");
    gw_upstream_req_free(&q);

    struct gw_channel az = {.id = 2, .type = 3, .other = "2025-04-01-preview"};
    gw_upstream_req_init(&q);
    assert_int_equal(gw_adapter_responses_op(&az, "https://r.openai.azure.com", "k",
                                             "/v1/responses/resp_1/cancel", &q, err, sizeof err),
                     GW_OK);
    assert_string_equal(q.url.base,
                        "https://r.openai.azure.com/openai/v1/responses/resp_1/cancel?api-version=preview");
    assert_string_equal(header(&q, "api-key"), "k");
    gw_upstream_req_free(&q);
    gw_upstream_req_init(&q);
    assert_int_equal(gw_adapter_responses_op(&az, "https://r.openai.azure.com", "k",
                                             "/v1/responses/resp_1/input_items?after=x", &q, err,
                                             sizeof err),
                     GW_OK);
    assert_string_equal(q.url.base, "https://r.openai.azure.com/openai/v1/responses/resp_1/"
                                    "input_items?api-version=preview&after=x");
    gw_upstream_req_free(&q);

    struct gw_channel ds = {.id = 3, .type = 43};
    gw_upstream_req_init(&q);
    assert_int_equal(gw_adapter_responses_op(&ds, "https://api.deepseek.com", "k",
                                             "/v1/responses/resp_1", &q, err, sizeof err),
                     GW_ENOTSUP);
    gw_upstream_req_free(&q);
}

int main(void)
{
    gw_json_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_refuses_bad_policies),
        cmocka_unit_test(match_table),
        cmocka_unit_test(wire_choice),
        cmocka_unit_test(build_responses_wire),
        cmocka_unit_test(operations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
