/* Anthropic (channel type 14): POST {base}/v1/messages and
 * /v1/messages/count_tokens in the Messages wire format
 * (adapters/formats/messages.c), whatever the client speaks: the relay
 * converts other formats through the hub, and an Anthropic client's body
 * goes up as it came (model mapped, channel transforms applied).
 *
 * Headers as the reference's relay/channel/claude/adaptor.go: x-api-key,
 * anthropic-version (the client's, else 2023-06-01) and the client's
 * anthropic-beta, then header_override. */
#include <string.h>
#include <strings.h>

#include "adapters/adapter_int.h"
#include "adapters/formats/messages_int.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"
#include "gateway/relay/routing.h"

#define ANTHROPIC_VERSION "2023-06-01"

static enum gw_wire anthropic_wire(const struct gw_channel *ch, const struct gw_relay_call *call)
{
    (void)ch;
    (void)call;
    return GW_WIRE_MESSAGES;
}

/* setting.system_prompt, the reference's claude_handler rule: set when the
 * request has no system; with system_prompt_override put in front of it
 * (a string joined with "\n", blocks behind a new first text block). */
static int system_prompt(json_t *body, const json_t *setting)
{
    const char *prompt = json_string_value(json_object_get(setting, "system_prompt"));
    json_t *sys = json_object_get(body, "system");

    if (prompt == NULL || *prompt == '\0')
        return GW_OK;
    if (sys == NULL || json_is_null(sys))
        return json_object_set_new(body, "system", json_string(prompt)) ? GW_ENOMEM : GW_OK;
    if (!json_is_true(json_object_get(setting, "system_prompt_override")))
        return GW_OK;
    if (json_is_string(sys)) {
        gw_str old = gw_str_trim(gw_str_c(json_string_value(sys)));
        gw_buf b;
        int rc;
        if (old.len == 0)
            return json_object_set_new(body, "system", json_string(prompt)) ? GW_ENOMEM : GW_OK;
        gw_buf_init(&b, GW_UPSTREAM_BODY_MAX);
        rc = gw_buf_appendf(&b, "%s\n", prompt);
        if (rc == GW_OK)
            rc = gw_buf_append(&b, old.base, old.len);
        if (rc == GW_OK)
            rc = json_object_set_new(body, "system", json_stringn(b.base, b.len)) ? GW_ENOMEM : GW_OK;
        gw_buf_free(&b);
        return rc;
    }
    if (!json_is_array(sys))
        return GW_OK;
    return json_array_insert_new(sys, 0, json_pack("{s:s, s:s}", "type", "text", "text", prompt))
               ? GW_ENOMEM
               : GW_OK;
}

static int anthropic_body(const struct gw_channel *ch, const struct gw_relay_call *call,
                          struct gw_upstream_req *out, char *err, size_t errlen)
{
    json_t *body = call->body;
    const char *model = call->upstream_model && *call->upstream_model ? call->upstream_model
                                                                      : call->model;
    const json_t *mt;
    int count_tokens = call->path && strstr(call->path, "/count_tokens") != NULL;

    if (!json_is_object(body))
        return gw__err(err, errlen, GW_EINVAL, "request body is not a JSON object");
    if (model && *model && json_object_set_new(body, "model", json_string(model)) != 0)
        return gw__err(err, errlen, GW_EINVAL, "model name is not valid UTF-8");
    /* Claude refuses a request without max_tokens; count_tokens takes none */
    mt = json_object_get(body, "max_tokens");
    if (!count_tokens && (mt == NULL || (json_is_integer(mt) && json_integer_value(mt) == 0)) &&
        json_object_set_new(body, "max_tokens", json_integer(GW_MSG_DEFAULT_MAX_TOKENS)) != 0)
        return GW_ENOMEM;
    json_object_del(body, "stream_options"); /* never Claude's */
    if (!count_tokens && json_is_object(ch->setting)) {
        int rc = system_prompt(body, ch->setting);
        if (rc != GW_OK)
            return gw__err(err, errlen, rc, "system prompt: %s", gw_strerror(rc));
    }
    return gw__body_finish(ch, call, model, out, err, errlen);
}

static int anthropic_build(const struct gw_channel *ch, const char *base_url,
                           const struct gw_relay_call *call, struct gw_upstream_req *out, char *err,
                           size_t errlen)
{
    char v[1024];
    int rc;

    rc = gw__build_need(base_url, call, err, errlen);
    if (rc != GW_OK)
        return rc;

    /* The client's own path (and query: Claude Code sends ?beta=true) on
     * the same-format path, else the wire's. */
    gw_buf_reset(&out->url);
    rc = gw_buf_appends(&out->url, base_url);
    if (rc == GW_OK)
        rc = gw_buf_appends(&out->url, call->path && *call->path ? call->path : "/v1/messages");
    if (rc != GW_OK)
        return gw__err(err, errlen, rc, "upstream URL: %s", gw_strerror(rc));

    rc = anthropic_body(ch, call, out, err, errlen);
    if (rc != GW_OK)
        return rc;
    rc = gw__oai_headers(call, out, err, errlen);
    if (rc != GW_OK)
        return rc;
    rc = gw_upstream_req_set_header(out, "x-api-key", call->api_key);
    if (rc != GW_OK)
        return gw__err(err, errlen, rc, "key holds a line break");
    if (gw__client_header(call, "anthropic-version", v, sizeof v) != 1 ||
        gw_str_trim(gw_str_c(v)).len == 0)
        memcpy(v, ANTHROPIC_VERSION, sizeof ANTHROPIC_VERSION);
    rc = gw_upstream_req_set_header(out, "anthropic-version", v);
    if (rc == GW_OK && gw__client_header(call, "anthropic-beta", v, sizeof v) == 1 &&
        gw_str_trim(gw_str_c(v)).len > 0)
        rc = gw_upstream_req_set_header(out, "anthropic-beta", v);
    if (rc != GW_OK)
        return gw__err(err, errlen, rc, "anthropic headers: %s", gw_strerror(rc));
    return gw__oai_finish(ch, call, out, err, errlen);
}

/* The relay's stateless per-event hook: *u is the usage so far, so the
 * decoder starts from it (message_delta merges over message_start). */
const struct gw_adapter gw_adapter_anthropic = {
    .name = "anthropic",
    .wire = anthropic_wire,
    .build = anthropic_build,
};
