/* Embeddings between OpenAI's /v1/embeddings and Gemini's embedContent /
 * batchEmbedContents, both ways (the relay calls these when the client's
 * format and the channel's wire differ on an embeddings call). Pure
 * functions like the codecs: new trees out, GW_EINVAL with a client-facing
 * message (a 400) when the request cannot be expressed. */
#ifndef GW_ADAPTERS_FORMATS_GEMINI_EMBED_H
#define GW_ADAPTERS_FORMATS_GEMINI_EMBED_H

#include <stddef.h>
#include <jansson.h>
#include "adapters/format.h"

/* OpenAI client → Gemini channel. One input (a string, or an array of one
 * string) becomes an embedContent body {model, content, outputDimensionality};
 * several become batchEmbedContents {requests: [...]} (the adapter picks the
 * action by the "requests" member). model is the upstream model. Token
 * arrays are refused: Gemini embeds text only. */
int gw_gemini_embed_req_from_openai(const json_t *oai, const char *model, json_t **out,
                                    char *msg, size_t msglen);
/* Gemini embedContent ({embedding}) or batchEmbedContents ({embeddings})
 * response → an OpenAI embeddings list for the client's model. Gemini
 * reports no usage: prompt_tokens is the relay's estimate (as the
 * reference bills embeddings), put in usage. GW_EINVAL when it is neither. */
int gw_gemini_embed_resp_to_openai(const json_t *resp, const char *model, long long prompt_tokens,
                                   json_t **out);

/* Gemini client → OpenAI-compatible channel. An embedContent body (or a
 * batchEmbedContents one: *batch = 1) → an OpenAI embeddings request
 * {model, input, dimensions?, encoding_format: "float"}; the text of each
 * content's parts joins with "\n". */
int gw_gemini_embed_req_to_openai(const json_t *gem, const char *model, json_t **out, int *batch,
                                  char *msg, size_t msglen);
/* OpenAI embeddings response → Gemini's: {embedding: {values}} when batch
 * is 0, else {embeddings: [{values}, ...]} in input order. GW_EINVAL when
 * it has no data list. */
int gw_gemini_embed_resp_from_openai(const json_t *oai, int batch, json_t **out);

/* The relay's two calls for an embeddings request whose client wire and
 * channel wire differ (GW_WIRE_CHAT stands for OpenAI's /v1/embeddings,
 * GW_WIRE_GEMINI for embedContent / batchEmbedContents). Same wire: GW_OK
 * and *out NULL (forward untouched). A pair other than these two:
 * GW_ENOTSUP with a message.
 * Request: upstream_model goes into the body; *batch (for the response)
 * says the Gemini side is a batch. */
int gw_gemini_embed_request(enum gw_wire client, enum gw_wire upstream, const json_t *body,
                            const char *upstream_model, json_t **out, int *batch, char *msg,
                            size_t msglen);
/* Response: the upstream's body → the client's. client_model names the
 * model in an OpenAI list; prompt_estimate is its usage when the upstream
 * is Gemini (which reports none). GW_EINVAL when the body is not a
 * response of the upstream's wire. */
int gw_gemini_embed_response(enum gw_wire client, enum gw_wire upstream, const char *body,
                             size_t len, const char *client_model, long long prompt_estimate,
                             int batch, json_t **out);

#endif
