/* Azure OpenAI adapter: recorded build transcripts (tests/adapters/azure_*.txt)
 * and the api-version default. */
#include "tests/adapters/harness.h"

static void transcripts(void **state)
{
    (void)state;
    assert_true(h_run_file("azure_build.txt", &gw_adapter_azure) >= 6);
}

static void default_version_override(void **state)
{
    (void)state;
    struct gw_channel ch = {.type = 3, .base_url = "https://r.openai.azure.com", .other = ""};
    json_t *body = json_loads("{\"model\":\"m\"}", 0, NULL);
    struct gw_relay_call call = {.mode = GW_RELAY_CHAT, .body = body, .model = "m",
                                 .upstream_model = "m", .api_key = "k"};
    struct gw_upstream_req q;
    char err[128];

    gw_azure_set_default_api_version("2024-06-01");
    gw_upstream_req_init(&q);
    assert_int_equal(gw_adapter_azure.build(&ch, ch.base_url, &call, &q, err, sizeof err), GW_OK);
    assert_string_equal(q.url.base,
                        "https://r.openai.azure.com/openai/deployments/m/chat/completions"
                        "?api-version=2024-06-01");
    assert_null(gw_upstream_req_get_header(&q, "Authorization"));
    gw_upstream_req_free(&q);
    gw_azure_set_default_api_version(NULL);

    call.upstream_model = "";
    gw_upstream_req_init(&q);
    assert_int_equal(gw_adapter_azure.build(&ch, ch.base_url, &call, &q, err, sizeof err),
                     GW_EINVAL);
    gw_upstream_req_free(&q);
    json_decref(body);
}

int main(void)
{
    gw_json_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(transcripts),
        cmocka_unit_test(default_version_override),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
