/* Embeddings between the OpenAI and Gemini shapes: an OpenAI client on a
 * Gemini channel, a Gemini client (embedContent / batchEmbedContents) on an
 * OpenAI-compatible one, through the Gemini codec's two relay calls
 * (adapters/formats/gemini_embed.h). Gemini reports no usage for
 * embeddings: those calls settle on the prompt estimate, as the reference
 * bills them. */
#include <stdio.h>
#include "adapters/formats/gemini_embed.h"
#include "gateway/core/err.h"
#include "gateway/core/json.h"
#include "gateway/relay/relay_call.h"

int gw__relay_embed_request(struct rcall *c, json_t **out, char *msg, size_t msglen)
{
    *out = NULL;
    return gw_gemini_embed_request(c->in->wire, c->wire, c->body, c->upstream_model, out,
                                   &c->embed_batch, msg, msglen);
}

int gw__relay_embed_response(struct rcall *c, const char *body, size_t len, json_t **out)
{
    *out = NULL;
    if (!c->convert) { /* Gemini to Gemini: the bytes go as they came */
        json_t *resp = gw_json_parse(body, len, 0, NULL, 0);
        int ok = json_is_object(resp);
        json_decref(resp);
        return ok ? GW_OK : GW_EINVAL;
    }
    if (c->wire == GW_WIRE_CHAT && gw_format_chat.usage(body, len, &c->usage) != GW_OK)
        return GW_EINVAL; /* the OpenAI side reports usage */
    return gw_gemini_embed_response(c->in->wire, c->wire, body, len, c->model, c->prompt_est,
                                    c->embed_batch, out);
}
