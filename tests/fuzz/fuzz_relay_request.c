/* The relay's request side: the client's body as relay_io.c parses it
 * (gw_relay_request_parse: Content-Type, JSON object, model, stream,
 * stream_options, token limits), then the prompt estimate the reservation
 * is based on (gateway/relay/estimate_request.c). Byte 0 picks the mode
 * and the Content-Type; the rest is the body.
 * Checks: GW_OK gives a consistent request (model as sent and bounded,
 * stream only where the mode streams, max_tokens in range) and a
 * non-negative, deterministic estimate; GW_EINVAL gives no body and a
 * message that is non-empty and valid UTF-8 (it goes into the
 * client's JSON error).
 * With bit 4 of byte 0 set, the body is parsed as another client format
 * instead (gw_relay_request_parse_as: bits 5-6 pick messages, gemini with
 * a path model, or responses; bit 7 asks for the whole facts): the same
 * checks, GW_ENOTSUP allowed only where the codec has no facts. */
#include "tests/fuzz/fuzz.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"
#include "gateway/relay/billing.h"
#include "gateway/relay/request.h"

#define FUZZ_MAX_INPUT (64u << 10)

static const char *const ctypes[] = {NULL, "application/json", "application/json; charset=utf-8",
                                     "text/plain"};

static int other_format(uint8_t knob, const char *ct, const char *body, size_t len)
{
    static const struct gw_format *const fmts[] = {&gw_format_messages, &gw_format_gemini,
                                                   &gw_format_responses, &gw_format_messages};
    const struct gw_format *in = fmts[(knob >> 5) & 3];
    struct gw_path_facts pf = {.model = in == &gw_format_gemini ? "gemini-2.5-flash" : NULL,
                               .stream = knob & 1};
    int whole = (knob >> 7) & 1;
    struct gw_relay_request q;
    char msg[260];

    memset(&q, 0x5a, sizeof q);
    int rc = gw_relay_request_parse_as(in, &pf, whole, ct, body, len, &q, msg, sizeof msg);
    FUZZ_CHECK(rc == GW_OK || rc == GW_EINVAL || (rc == GW_ENOTSUP && whole && !in->facts));
    if (rc != GW_OK) {
        FUZZ_CHECK(q.body == NULL);
        FUZZ_CHECK(msg[0] != '\0' && strlen(msg) < sizeof msg);
        FUZZ_CHECK(fuzz_utf8_ok(msg, strlen(msg)));
        return 0;
    }
    FUZZ_CHECK(json_is_object(q.body));
    size_t ml = strlen(q.model);
    FUZZ_CHECK(ml > 0 && ml < sizeof q.model);
    if (pf.model)
        FUZZ_CHECK(strcmp(q.model, pf.model) == 0);
    FUZZ_CHECK(q.stream == 0 || q.stream == 1);
    FUZZ_CHECK(q.max_tokens >= 0 && q.max_tokens <= GW_RELAY_MAX_TOKENS);
    json_decref(q.body);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > FUZZ_MAX_INPUT)
        return 0;
    enum gw_relay_mode mode = (enum gw_relay_mode)(1 + (data[0] & 3));
    const char *ct = ctypes[(data[0] >> 2) & 3];
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    struct gw_relay_request q;
    char msg[260];

    if (data[0] & 0x10)
        return other_format(data[0], ct, body, len);
    memset(&q, 0x5a, sizeof q);
    int rc = gw_relay_request_parse(mode, ct, body, len, &q, msg, sizeof msg);
    FUZZ_CHECK(rc == GW_OK || rc == GW_EINVAL);
    if (rc != GW_OK) {
        FUZZ_CHECK(q.body == NULL);
        FUZZ_CHECK(msg[0] != '\0' && strlen(msg) < sizeof msg);
        FUZZ_CHECK(fuzz_utf8_ok(msg, strlen(msg)));
        if (ct && !strstr(ct, "json"))
            FUZZ_CHECK(strstr(msg, "Content-Type") != NULL);
        return 0;
    }
    FUZZ_CHECK(ct == NULL || strstr(ct, "json"));
    FUZZ_CHECK(json_is_object(q.body));
    size_t ml = strlen(q.model);
    FUZZ_CHECK(ml > 0 && ml < sizeof q.model);
    const json_t *m = json_object_get(q.body, "model");
    if (m)
        FUZZ_CHECK(json_is_string(m) && strcmp(json_string_value(m), q.model) == 0);
    else
        FUZZ_CHECK(mode == GW_RELAY_MODERATIONS && strcmp(q.model, "text-moderation-stable") == 0);
    FUZZ_CHECK(q.stream == 0 || q.stream == 1);
    if (q.stream)
        FUZZ_CHECK(mode == GW_RELAY_CHAT || mode == GW_RELAY_COMPLETIONS);
    FUZZ_CHECK(q.max_tokens >= 0 && q.max_tokens <= GW_RELAY_MAX_TOKENS);

    long long est = gw_estimate_request_tokens(q.model, q.body);
    FUZZ_CHECK(est >= 0);
    FUZZ_CHECK(gw_estimate_request_tokens(q.model, q.body) == est);
    /* the estimator's model families (gemini, claude, else OpenAI) */
    FUZZ_CHECK(gw_estimate_request_tokens("claude-3-5-sonnet", q.body) >= 0);
    FUZZ_CHECK(gw_estimate_request_tokens("gemini-1.5-pro", q.body) >= 0);
    json_decref(q.body);
    return 0;
}
