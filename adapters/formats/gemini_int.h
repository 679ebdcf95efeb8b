/* Internals of the Gemini codec, shared by its files (not for the relay):
 *  gemini.c       the gw_format table, facts, usage, errors, streams;
 *  gemini_req.c   requests, Gemini → hub;
 *  gemini_req_out.c requests, hub → Gemini;
 *  gemini_schema.c  schemas both ways and shared request helpers;
 *  gemini_resp.c  non-streamed responses, Gemini <-> hub;
 *  gemini_embed.c embeddings (gemini_embed.h).
 * The Gemini API accepts both camelCase and snake_case member names in
 * requests; gw__gem_get looks a member up under either. */
#ifndef GW_ADAPTERS_FORMATS_GEMINI_INT_H
#define GW_ADAPTERS_FORMATS_GEMINI_INT_H

#include <stddef.h>
#include <jansson.h>
#include "adapters/format.h"
#include "gateway/core/buf.h"

/* Bound of a text assembled from parts (reasoning, joined system text). */
#define GW_GEM_TEXT_MAX (64u << 20)

/* Borrowed member camel, else snake (NULL when neither). */
json_t *gw__gem_get(const json_t *obj, const char *camel, const char *snake);

/* snprintf(msg, msglen, "%s", text); returns GW_EINVAL (a 400's message). */
int gw__gem_fail(char *msg, size_t msglen, const char *text);
/* Gemini Schema → JSON Schema (types lower-cased, nullable into the type
 * list), and JSON Schema → what Gemini's Schema accepts (the reference's
 * field list, types upper-cased, "null" into nullable). New trees; depth
 * starts at 0 and is bounded. */
json_t *gw__gem_schema_to_json(const json_t *s, int depth);
json_t *gw__gem_schema_to_gemini(const json_t *s, int depth);
/* The text parts of a Content (thoughts left out), or a bare string,
 * joined by "\n", appended to b. */
int gw__gem_content_text(const json_t *c, gw_buf *b);

/* Gemini finishReason → chat's word ("stop", "length", "content_filter"). */
const char *gw__gem_finish_to_chat(const char *reason);
/* chat's word → Gemini finishReason. */
const char *gw__gem_finish_from_chat(const char *finish);

/* usageMetadata → struct gw_usage (zeroed first; present when it has
 * tokens): prompt = promptTokenCount + toolUsePromptTokenCount, completion
 * = candidates + thoughts, reasoning = thoughts, cached =
 * cachedContentTokenCount, modality details into image/audio/text. */
void gw__gem_usage_read(const json_t *meta, struct gw_usage *u);
/* struct gw_usage → usageMetadata (new tree): candidatesTokenCount is the
 * completion without the thoughts. */
json_t *gw__gem_usage_json(const struct gw_usage *u);

/* A tool call id for the hub: "call_" + 24 random alphanumerics. */
void gw__gem_call_id(char out[32]);

/* The part's text rendering when it is not plain text (inline images as
 * a markdown data URL, executable code and its result as fenced blocks),
 * appended to b; 0 when the part is none of those. GW_E* on a full buffer. */
int gw__gem_part_markdown(const json_t *part, gw_buf *b, int *used);

/* The conversions (gemini_req.c, gemini_resp.c), as in struct gw_format. */
int gw__gem_req_to_hub(const json_t *body, const struct gw_path_facts *pf, json_t **hub,
                       char *msg, size_t msglen);
int gw__gem_req_from_hub(const json_t *hub, const struct gw_conv_opts *o, json_t **out,
                         char *msg, size_t msglen);
int gw__gem_resp_to_hub(const json_t *resp, json_t **hub);
int gw__gem_resp_from_hub(const json_t *hub, const char *model, json_t **out);

#endif
