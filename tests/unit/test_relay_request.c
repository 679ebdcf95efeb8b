/* gw_relay_request_parse: the relay's parsing of the client's body, split
 * out of relay_io.c so that tests/fuzz/fuzz_relay_request.c reaches it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "gateway/core/err.h"
#include "gateway/relay/request.h"

static int parse(enum gw_relay_mode mode, const char *ct, const char *body,
                 struct gw_relay_request *q, char *msg, size_t msglen)
{
    return gw_relay_request_parse(mode, ct, body, strlen(body), q, msg, msglen);
}

static void accepted(void **state)
{
    (void)state;
    struct gw_relay_request q;
    char msg[260];
    assert_int_equal(parse(GW_RELAY_CHAT, "application/json; charset=utf-8",
                           "{\"model\":\"gpt-4o\",\"stream\":true,\"stream_options\":"
                           "{\"include_usage\":true},\"max_tokens\":10,\"max_completion_tokens\":30}",
                           &q, msg, sizeof msg), GW_OK);
    assert_string_equal(q.model, "gpt-4o");
    assert_int_equal(q.stream, 1);
    assert_int_equal(q.client_usage, 1);
    assert_int_equal(q.max_tokens, 30);
    json_decref(q.body);
    /* embeddings never stream; moderations default their model */
    assert_int_equal(parse(GW_RELAY_EMBEDDINGS, NULL, "{\"model\":\"e\",\"stream\":true}", &q, msg,
                           sizeof msg), GW_OK);
    assert_int_equal(q.stream, 0);
    json_decref(q.body);
    assert_int_equal(parse(GW_RELAY_MODERATIONS, NULL, "{\"input\":\"x\"}", &q, msg, sizeof msg),
                     GW_OK);
    assert_string_equal(q.model, "text-moderation-stable");
    json_decref(q.body);
}

static void refused(void **state)
{
    (void)state;
    static const struct {
        enum gw_relay_mode mode;
        const char *ct, *body, *msg;
    } cases[] = {
        {GW_RELAY_CHAT, "text/plain", "{\"model\":\"m\"}", "Content-Type must be application/json"},
        {GW_RELAY_CHAT, NULL, "[1]", "invalid JSON body: expected an object"},
        {GW_RELAY_CHAT, NULL, "{", "invalid JSON body: invalid JSON at line 1"},
        {GW_RELAY_CHAT, NULL, "", "invalid JSON body:"},
        {GW_RELAY_CHAT, NULL, "{\"model\":5}", "field 'model' is required and must be a string"},
        {GW_RELAY_CHAT, NULL, "{\"model\":\"\"}", "field 'model' is required"},
        {GW_RELAY_MODERATIONS, NULL, "{\"model\":null}", "field 'model' is required"},
        {GW_RELAY_CHAT, NULL, "{\"model\":\"m\",\"stream\":\"yes\"}", "field 'stream' must be a boolean"},
        {GW_RELAY_CHAT, NULL, "{\"model\":\"m\",\"max_tokens\":-1,\"max_completion_tokens\":-2}",
         "field 'max_tokens' is out of range"},
        {GW_RELAY_CHAT, NULL, "{\"model\":\"m\",\"max_completion_tokens\":100000001}",
         "field 'max_tokens' is out of range"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct gw_relay_request q;
        char msg[260];
        if (parse(cases[i].mode, cases[i].ct, cases[i].body, &q, msg, sizeof msg) != GW_EINVAL)
            fail_msg("case %zu (%s) accepted", i, cases[i].body);
        assert_null(q.body);
        if (strncmp(msg, cases[i].msg, strlen(cases[i].msg)) != 0)
            fail_msg("case %zu: \"%s\", want \"%s...\"", i, msg, cases[i].msg);
    }
    /* a model name is never cut */
    char body[300];
    snprintf(body, sizeof body, "{\"model\":\"%0192d\"}", 0);
    struct gw_relay_request q;
    char msg[260];
    assert_int_equal(parse(GW_RELAY_CHAT, NULL, body, &q, msg, sizeof msg), GW_EINVAL);
    assert_string_equal(msg, "field 'model' is too long (at most 191 bytes)");
    snprintf(body, sizeof body, "{\"model\":\"%0191d\"}", 0);
    assert_int_equal(parse(GW_RELAY_CHAT, NULL, body, &q, msg, sizeof msg), GW_OK);
    assert_int_equal(strlen(q.model), 191);
    json_decref(q.body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accepted),
        cmocka_unit_test(refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
