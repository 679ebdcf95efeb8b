/* Embeddings between OpenAI and Gemini (adapters/formats/gemini_embed.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "adapters/formats/gemini_embed.h"
#include "gateway/core/alloc.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"

static void same(json_t *got, const char *want)
{
    json_t *w = json_loads(want, 0, NULL);
    assert_non_null(w);
    if (!json_equal(got, w)) {
        char *g = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
        fail_msg("got %s\nwant %s", g, want);
    }
    json_decref(w);
    json_decref(got);
}

static void openai_to_gemini(void **state)
{
    (void)state;
    json_t *out = NULL, *in;
    char msg[200];

    in = json_loads("{\"model\":\"text-embedding-3-small\",\"input\":\"hello\",\"dimensions\":8}", 0, NULL);
    assert_int_equal(gw_gemini_embed_req_from_openai(in, "gemini-embedding-001", &out, msg, sizeof msg), GW_OK);
    same(out, "{\"model\":\"models/gemini-embedding-001\",\"content\":{\"parts\":[{\"text\":\"hello\"}]},"
              "\"outputDimensionality\":8}");
    json_decref(in);

    in = json_loads("{\"model\":\"m\",\"input\":[\"a\",\"b\"]}", 0, NULL);
    assert_int_equal(gw_gemini_embed_req_from_openai(in, "gemini-embedding-001", &out, msg, sizeof msg), GW_OK);
    same(out, "{\"requests\":[{\"model\":\"models/gemini-embedding-001\",\"content\":{\"parts\":[{\"text\":\"a\"}]}},"
              "{\"model\":\"models/gemini-embedding-001\",\"content\":{\"parts\":[{\"text\":\"b\"}]}}]}");
    json_decref(in);

    in = json_loads("{\"model\":\"m\",\"input\":[[1,2,3]]}", 0, NULL);
    assert_int_equal(gw_gemini_embed_req_from_openai(in, "g", &out, msg, sizeof msg), GW_EINVAL);
    assert_non_null(strstr(msg, "text only"));
    assert_null(out);
    json_decref(in);

    in = json_loads("{\"model\":\"m\"}", 0, NULL);
    assert_int_equal(gw_gemini_embed_req_from_openai(in, "g", &out, msg, sizeof msg), GW_EINVAL);
    json_decref(in);

    in = json_loads("{\"embeddings\":[{\"values\":[0.1,0.2]},{\"values\":[0.3,0.4]}]}", 0, NULL);
    assert_int_equal(gw_gemini_embed_resp_to_openai(in, "text-embedding-3-small", 7, &out), GW_OK);
    same(out, "{\"object\":\"list\",\"model\":\"text-embedding-3-small\",\"data\":["
              "{\"object\":\"embedding\",\"embedding\":[0.1,0.2],\"index\":0},"
              "{\"object\":\"embedding\",\"embedding\":[0.3,0.4],\"index\":1}],"
              "\"usage\":{\"prompt_tokens\":7,\"total_tokens\":7}}");
    json_decref(in);

    in = json_loads("{\"embedding\":{\"values\":[1.5]}}", 0, NULL);
    assert_int_equal(gw_gemini_embed_resp_to_openai(in, "e", 3, &out), GW_OK);
    same(out, "{\"object\":\"list\",\"model\":\"e\",\"data\":[{\"object\":\"embedding\",\"embedding\":[1.5],"
              "\"index\":0}],\"usage\":{\"prompt_tokens\":3,\"total_tokens\":3}}");
    json_decref(in);

    in = json_loads("{\"candidates\":[]}", 0, NULL);
    assert_int_equal(gw_gemini_embed_resp_to_openai(in, "e", 3, &out), GW_EINVAL);
    json_decref(in);
}

static void gemini_to_openai(void **state)
{
    (void)state;
    json_t *out = NULL, *in;
    char msg[200];
    int batch = -1;

    in = json_loads("{\"content\":{\"parts\":[{\"text\":\"hi\"},{\"text\":\"there\"}]},\"taskType\":\"RETRIEVAL_QUERY\","
                    "\"output_dimensionality\":4}", 0, NULL);
    assert_int_equal(gw_gemini_embed_req_to_openai(in, "text-embedding-3-small", &out, &batch, msg, sizeof msg), GW_OK);
    assert_int_equal(batch, 0);
    same(out, "{\"model\":\"text-embedding-3-small\",\"input\":\"hi\\nthere\",\"encoding_format\":\"float\",\"dimensions\":4}");
    json_decref(in);

    in = json_loads("{\"requests\":[{\"model\":\"models/x\",\"content\":{\"parts\":[{\"text\":\"a\"}]}},"
                    "{\"model\":\"models/x\",\"content\":{\"parts\":[{\"text\":\"b\"}]}}]}", 0, NULL);
    assert_int_equal(gw_gemini_embed_req_to_openai(in, "m", &out, &batch, msg, sizeof msg), GW_OK);
    assert_int_equal(batch, 1);
    same(out, "{\"model\":\"m\",\"input\":[\"a\",\"b\"],\"encoding_format\":\"float\"}");
    json_decref(in);

    in = json_loads("{\"content\":{\"parts\":[{\"inlineData\":{\"mimeType\":\"image/png\",\"data\":\"AA==\"}}]}}", 0, NULL);
    assert_int_equal(gw_gemini_embed_req_to_openai(in, "m", &out, &batch, msg, sizeof msg), GW_EINVAL);
    json_decref(in);

    /* out of order by index: Gemini's list follows the inputs */
    in = json_loads("{\"object\":\"list\",\"data\":[{\"object\":\"embedding\",\"index\":1,\"embedding\":[2]},"
                    "{\"object\":\"embedding\",\"index\":0,\"embedding\":[1]}],\"usage\":{\"prompt_tokens\":2,\"total_tokens\":2}}",
                    0, NULL);
    assert_int_equal(gw_gemini_embed_resp_from_openai(in, 1, &out), GW_OK);
    same(out, "{\"embeddings\":[{\"values\":[1]},{\"values\":[2]}]}");
    assert_int_equal(gw_gemini_embed_resp_from_openai(in, 0, &out), GW_OK);
    same(out, "{\"embedding\":{\"values\":[1]}}");
    json_decref(in);

    in = json_loads("{\"data\":[{\"index\":0,\"embedding\":\"AACAPw==\"}]}", 0, NULL);
    assert_int_equal(gw_gemini_embed_resp_from_openai(in, 0, &out), GW_EINVAL);
    json_decref(in);
}

static void relay_calls(void **state)
{
    (void)state;
    json_t *out = NULL, *in = json_loads("{\"model\":\"e\",\"input\":[\"x\",\"y z\"]}", 0, NULL);
    char msg[128];
    int batch = -1;

    assert_int_equal(gw_gemini_embed_request(GW_WIRE_CHAT, GW_WIRE_CHAT, in, "m", &out, &batch, msg,
                                             sizeof msg), GW_OK);
    assert_null(out);
    assert_int_equal(gw_gemini_embed_request(GW_WIRE_CHAT, GW_WIRE_GEMINI, in, "g", &out, &batch, msg,
                                             sizeof msg), GW_OK);
    assert_int_equal(batch, 1);
    assert_int_equal(json_array_size(json_object_get(out, "requests")), 2);
    json_decref(out);
    assert_int_equal(gw_gemini_embed_request(GW_WIRE_MESSAGES, GW_WIRE_GEMINI, in, "g", &out, &batch,
                                             msg, sizeof msg), GW_ENOTSUP);
    json_decref(in);

    const char *g = "{\"embeddings\":[{\"values\":[1]},{\"values\":[2]}]}";
    assert_int_equal(gw_gemini_embed_response(GW_WIRE_CHAT, GW_WIRE_GEMINI, g, strlen(g), "e", 4, 1,
                                              &out), GW_OK);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(out, "usage"), "prompt_tokens")), 4);
    json_decref(out);
    const char *o = "{\"data\":[{\"index\":0,\"embedding\":[3]}],\"usage\":{\"prompt_tokens\":1}}";
    assert_int_equal(gw_gemini_embed_response(GW_WIRE_GEMINI, GW_WIRE_CHAT, o, strlen(o), "e", 0, 0,
                                              &out), GW_OK);
    same(out, "{\"embedding\":{\"values\":[3]}}");
    assert_int_equal(gw_gemini_embed_response(GW_WIRE_GEMINI, GW_WIRE_CHAT, "[1]", 3, "e", 0, 0, &out),
                     GW_EINVAL);
}

int main(void)
{
    gw_json_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(openai_to_gemini),
        cmocka_unit_test(gemini_to_openai),
        cmocka_unit_test(relay_calls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
