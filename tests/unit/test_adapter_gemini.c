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

int main(void)
{
    gw_json_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(transcripts_build),
        cmocka_unit_test(transcripts_stream),
        cmocka_unit_test(registry_row),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
