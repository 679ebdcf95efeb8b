/* OpenAI and the OpenAI-compatible family: chat/completions, completions,
 * embeddings and moderations pass through in OpenAI's own wire format, so
 * building the request is the channel transforms plus URL and auth; the
 * response side is the chat codec's (adapters/formats/chat.c). Per-provider differences are flags of
 * the channel-type row (registry.c). */
#include <string.h>

#include "adapters/adapter_int.h"
#include "adapters/formats/chat_int.h"
#include "adapters/responses_policy.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"
#include "gateway/relay/routing.h"

#define CLOUDFLARE_GATEWAY "https://gateway.ai.cloudflare.com"

static const char *mode_path(const struct gw_relay_call *call)
{
    if (call->path && *call->path)
        return call->path;
    if (call->wire == GW_WIRE_RESPONSES)
        return "/v1/responses";
    switch (call->mode) {
    case GW_RELAY_COMPLETIONS:
        return "/v1/completions";
    case GW_RELAY_EMBEDDINGS:
        return "/v1/embeddings";
    case GW_RELAY_MODERATIONS:
        return "/v1/moderations";
    default:
        return "/v1/chat/completions";
    }
}

static int has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && memcmp(s + n - m, suf, m) == 0;
}

/* {base}{path} with the rows' quirks: Custom's base is the whole URL with
 * "{model}"; Perplexity has no /v1 on chat; DeepSeek's completions are FIM
 * at /beta; a Cloudflare AI Gateway base takes the path without /v1. */
static int build_url(const char *base, unsigned flags, int type, const struct gw_relay_call *call,
                     gw_buf *url)
{
    const char *path = mode_path(call), *model = call->upstream_model ? call->upstream_model : "";
    const char *q = strchr(path, '?');
    size_t plen = q ? (size_t)(q - path) : strlen(path);
    int rc;

    if (flags & GW_CT_URL_TEMPLATE) {
        for (const char *p = base;;) {
            const char *hit = strstr(p, "{model}");
            if (hit == NULL)
                return gw_buf_appends(url, p);
            rc = gw_buf_append(url, p, (size_t)(hit - p));
            if (rc == GW_OK)
                rc = gw_buf_appends(url, model);
            if (rc != GW_OK)
                return rc;
            p = hit + 7;
        }
    }
    rc = gw_buf_appends(url, base);
    if (rc != GW_OK)
        return rc;
    int chat = call->wire != GW_WIRE_RESPONSES; /* the quirks are chat's */
    if ((flags & GW_CT_CHAT_NO_V1) && call->mode == GW_RELAY_CHAT && chat)
        return gw_buf_appends(url, "/chat/completions");
    if ((flags & GW_CT_FIM_BETA) && call->mode == GW_RELAY_COMPLETIONS)
        return gw_buf_appends(url, has_suffix(base, "/beta") ? "/completions" : "/beta/completions");
    if (type == 1 && strncmp(base, CLOUDFLARE_GATEWAY, sizeof CLOUDFLARE_GATEWAY - 1) == 0 &&
        plen >= 3 && memcmp(path, "/v1", 3) == 0) {
        path += 3;
        plen -= 3;
    }
    return gw_buf_append(url, path, plen);
}

static int openai_build(const struct gw_channel *ch, const char *base_url,
                        const struct gw_relay_call *call, struct gw_upstream_req *out, char *err,
                        size_t errlen)
{
    const struct gw_channel_type *ct = gw_channel_type(ch->type);
    unsigned flags = ct ? ct->flags : 0;
    char auth[8192];
    int rc;

    rc = gw__build_need(base_url, call, err, errlen);
    if (rc != GW_OK)
        return rc;

    gw_buf_reset(&out->url);
    rc = build_url(base_url, flags, ch->type, call, &out->url);
    if (rc != GW_OK)
        return gw__err(err, errlen, rc, "upstream URL: %s", gw_strerror(rc));

    rc = gw__oai_body(ch, ct, call, out, err, errlen);
    if (rc != GW_OK)
        return rc;

    rc = gw__oai_headers(call, out, err, errlen);
    if (rc != GW_OK)
        return rc;
    if ((size_t)snprintf(auth, sizeof auth, "Bearer %s", call->api_key) >= sizeof auth)
        return gw__err(err, errlen, GW_ETOOBIG, "API key too long");
    rc = gw_upstream_req_set_header(out, "Authorization", auth);
    if (rc == GW_OK && (flags & GW_CT_ORGANIZATION) && ch->openai_organization &&
        *ch->openai_organization)
        rc = gw_upstream_req_set_header(out, "OpenAI-Organization", ch->openai_organization);
    if (rc == GW_OK && (flags & GW_CT_OPENROUTER))
        rc = gw_upstream_req_set_header(out, "X-OpenRouter-Title", "Token Factory");
    if (rc != GW_OK)
        return gw__err(err, errlen, rc, "key or organization holds a line break");
    return gw__oai_finish(ch, call, out, err, errlen);
}

/* Which wire this call speaks upstream. Only chat-shaped calls can change:
 *  - a Responses client reaches OpenAI (1) as Responses (the fast path)
 *    unless global.responses_to_chat_completions_policy names the channel
 *    and model; every other OpenAI-compatible type gets chat completions;
 *  - a chat or Messages client goes as Responses where
 *    global.chat_completions_to_responses_policy says so (the reference
 *    asks the same for its chat and Claude handlers, any channel type).
 * Policies match the client's model, as the reference's OriginModelName. */
static enum gw_wire openai_wire(const struct gw_channel *ch, const struct gw_relay_call *call)
{
    if (call->mode == GW_RELAY_COMPLETIONS || call->mode == GW_RELAY_EMBEDDINGS ||
        call->mode == GW_RELAY_MODERATIONS)
        return GW_WIRE_CHAT;
    if (call->wire == GW_WIRE_RESPONSES)
        return (ch->type == 1 || ch->type == 3) &&
                       !gw_resp_policy_applies(call->responses_to_chat_policy, ch->id, ch->type,
                                               call->model)
                   ? GW_WIRE_RESPONSES
                   : GW_WIRE_CHAT;
    if ((call->wire == 0 || call->wire == GW_WIRE_CHAT || call->wire == GW_WIRE_MESSAGES) &&
        gw_resp_policy_applies(call->chat_to_responses_policy, ch->id, ch->type, call->model))
        return GW_WIRE_RESPONSES;
    return GW_WIRE_CHAT;
}

enum gw_wire gw__oai_wire(const struct gw_channel *ch, const struct gw_relay_call *call)
{
    return openai_wire(ch, call);
}

/* The call an operation's header_override and proxy see: no body, no client. */
int gw__resp_op_finish(const struct gw_channel *ch, const char *api_key, const char *path,
                       struct gw_upstream_req *out, char *err, size_t errlen)
{
    struct gw_relay_call c = {.mode = GW_RELAY_CHAT, .wire = GW_WIRE_RESPONSES,
                              .path = path, .api_key = api_key};
    return gw__oai_finish(ch, &c, out, err, errlen);
}

int gw_adapter_responses_op(const struct gw_channel *ch, const char *base_url,
                            const char *api_key, const char *path, struct gw_upstream_req *out,
                            char *err, size_t errlen)
{
    char auth[8192];
    int rc;
    if (ch->type == 3)
        return gw__azure_responses_op(ch, base_url, api_key, path, out, err, errlen);
    if (ch->type != 1)
        return gw__err(err, errlen, GW_ENOTSUP, "channel type %d has no Responses API",
                       ch->type);
    if (base_url == NULL || *base_url == '\0')
        return gw__err(err, errlen, GW_EINVAL, "channel has no base URL");
    if (api_key == NULL)
        return gw__err(err, errlen, GW_EINVAL, "no API key for this call");
    gw_buf_reset(&out->url);
    rc = gw_buf_appends(&out->url, base_url);
    if (rc == GW_OK && strncmp(base_url, CLOUDFLARE_GATEWAY, sizeof CLOUDFLARE_GATEWAY - 1) == 0 &&
        strncmp(path, "/v1", 3) == 0)
        path += 3;
    if (rc == GW_OK)
        rc = gw_buf_appends(&out->url, path);
    if (rc != GW_OK)
        return gw__err(err, errlen, rc, "upstream URL: %s", gw_strerror(rc));
    if ((size_t)snprintf(auth, sizeof auth, "Bearer %s", api_key) >= sizeof auth)
        return gw__err(err, errlen, GW_ETOOBIG, "API key too long");
    rc = gw_upstream_req_set_header(out, "Authorization", auth);
    if (rc == GW_OK && ch->openai_organization && *ch->openai_organization)
        rc = gw_upstream_req_set_header(out, "OpenAI-Organization", ch->openai_organization);
    if (rc != GW_OK)
        return gw__err(err, errlen, rc, "key or organization holds a line break");
    return gw__resp_op_finish(ch, api_key, path, out, err, errlen);
}

const struct gw_adapter gw_adapter_openai = {
    .name = "openai",
    .wire = openai_wire,
    .build = openai_build,
    /* the chat codec's parsers (adapters/formats/chat.c) */
};
