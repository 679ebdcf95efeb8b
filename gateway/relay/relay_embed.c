/* Embeddings between the OpenAI and Gemini shapes (adapters/formats/
 * gemini_embed.h): an OpenAI client on a Gemini channel, a Gemini client
 * (embedContent / batchEmbedContents) on an OpenAI-compatible one. Gemini
 * reports no usage for embeddings: those calls settle on the prompt
 * estimate, as the reference bills them. */
#include <stdio.h>
#include "adapters/formats/gemini_embed.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"
#include "gateway/relay/relay_call.h"

int gw__relay_embed_request(struct rcall *c, json_t **out, char *msg, size_t msglen)
{
    *out = NULL;
    if (c->in->wire == GW_WIRE_CHAT && c->wire == GW_WIRE_GEMINI)
        return gw_gemini_embed_req_from_openai(c->body, c->upstream_model, out, msg, msglen);
    if (c->in->wire == GW_WIRE_GEMINI && c->wire == GW_WIRE_CHAT)
        return gw_gemini_embed_req_to_openai(c->body, c->upstream_model, out, &c->embed_batch, msg,
                                             msglen);
    snprintf(msg, msglen, "embeddings in the %s format cannot go to a channel speaking %s: not "
             "implemented", c->in->name, gw_format_of(c->wire)->name);
    return GW_ENOTSUP;
}

int gw__relay_embed_response(struct rcall *c, const char *body, size_t len, json_t **out)
{
    *out = NULL;
    json_t *resp = gw_json_parse(body, len, 0, NULL, 0);
    int rc = json_is_object(resp) ? GW_OK : GW_EINVAL;
    if (rc == GW_OK && c->wire == GW_WIRE_CHAT) /* a Gemini client on an OpenAI channel */
        rc = gw_format_chat.usage(body, len, &c->usage) == GW_OK
                 ? gw_gemini_embed_resp_from_openai(resp, c->embed_batch, out)
                 : GW_EINVAL;
    else if (rc == GW_OK && c->convert) /* an OpenAI client on a Gemini channel */
        rc = gw_gemini_embed_resp_to_openai(resp, c->model, c->prompt_est, out);
    json_decref(resp); /* the same format (Gemini to Gemini): the bytes go as they came */
    return rc;
}
