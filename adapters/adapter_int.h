/* Internals shared by the adapter files (not for the relay): the JSON paths
 * and param_override of new-api (relay/common/override.go), the OpenAI-style
 * body transforms, header_override, and the OpenAI response parsers that
 * every OpenAI-format adapter (openai.c, azure.c) points at. */
#ifndef GW_ADAPTERS_ADAPTER_INT_H
#define GW_ADAPTERS_ADAPTER_INT_H

#include <stddef.h>
#include <jansson.h>
#include "adapters/adapter.h"

/* --- gjson/sjson-style paths over a jansson tree (override.c) ---
 * "a.b.0.c": components split on '.', "\." escapes a dot; a component of
 * digits indexes an array; "-N" counts from the end of an existing array
 * (new-api's processNegativeIndex), and set() with "-1" past the end
 * appends (sjson). At most GW_PATH_MAX_DEPTH components, GW_PATH_MAX_LEN
 * bytes. */
#define GW_PATH_MAX_DEPTH 32
#define GW_PATH_MAX_LEN 512

/* Borrowed value at path, or NULL (missing, or a bad path). */
json_t *gw__path_get(json_t *root, const char *path);
/* Sets path to value (reference stolen, also on failure), creating missing
 * objects (arrays for numeric components; arrays are padded with null).
 * GW_EINVAL: empty or bad path, or a scalar in the way. */
int gw__path_set(json_t *root, const char *path, json_t *value);
/* Removes path; a missing path is not an error. */
int gw__path_del(json_t *root, const char *path);

/* Condition context of param_override (BuildParamOverrideContext). */
struct gw_override_ctx {
    const char *model;          /* upstream model */
    const char *original_model; /* the client's model */
    const char *request_path;
    int is_channel_test;
};

/* Applies a channel's param_override to body (an object) in place: the
 * operations form when override has "operations" as a list of objects that
 * all name a mode, else the legacy shallow top-level merge. GW_EINVAL with
 * err set on a failing operation or condition (the body may then be
 * partly changed: the caller drops it); GW_ENOTSUP for regex_replace. */
int gw__param_override(json_t *body, const json_t *override, const struct gw_override_ctx *ctx,
                       char *err, size_t errlen);

/* --- shared OpenAI-format helpers (common.c) --- */

/* The body transforms, in the reference's order: model := upstream model;
 * stream_options (removed unless the type supports it and the call
 * streams; {include_usage:true} when call->inject_usage); OpenRouter's
 * usage.include; the channel system prompt (chat only); the disabled
 * fields; param_override. Then serialised into out->body. */
int gw__oai_body(const struct gw_channel *ch, const struct gw_channel_type *ct,
                 const struct gw_relay_call *call, struct gw_upstream_req *out, char *err,
                 size_t errlen);

/* The tail of every provider's body transforms, in the reference's order:
 * the channel's disabled fields (RemoveDisabledFields), param_override
 * (model = upstream model for its conditions), then call->body serialised
 * into out->body. */
int gw__body_finish(const struct gw_channel *ch, const struct gw_relay_call *call,
                    const char *model, struct gw_upstream_req *out, char *err, size_t errlen);

/* The first headers: Content-Type, Accept (streams), the client's
 * User-Agent and an empty Expect. The adapter adds its auth after. */
int gw__oai_headers(const struct gw_relay_call *call, struct gw_upstream_req *out, char *err,
                    size_t errlen);
/* The last step: header_override (wins over everything before) and
 * out->proxy from setting.proxy. */
int gw__oai_finish(const struct gw_channel *ch, const struct gw_relay_call *call,
                   struct gw_upstream_req *out, char *err, size_t errlen);

/* Looks up a client header (ASCII case-insensitive; the first one sent);
 * copies its value into buf and returns 1, 0 when absent, -1 when the value
 * does not fit in cap (buf is then "": a cut value is never used). */
int gw__client_header(const struct gw_relay_call *call, const char *name, char *buf, size_t cap);

/* Appends s to b with every byte outside RFC 3986 "unreserved" percent-encoded. */
int gw__url_escape(gw_buf *b, const char *s);

/* snprintf into err (no-op when errlen is 0); returns rc for tail calls. */
int gw__err(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* What every build needs first: a base URL and the attempt's API key
 * (GW_EINVAL with the reason in err when one is missing). */
int gw__build_need(const char *base_url, const struct gw_relay_call *call, char *err,
                   size_t errlen);

/* --- the Responses API on OpenAI-family channels (openai.c, azure.c) --- */

/* The wire an OpenAI-family channel speaks for a call (adapter->wire). */
enum gw_wire gw__oai_wire(const struct gw_channel *ch, const struct gw_relay_call *call);
/* header_override and proxy for a /v1/responses/{id} operation. */
int gw__resp_op_finish(const struct gw_channel *ch, const char *api_key, const char *path,
                       struct gw_upstream_req *out, char *err, size_t errlen);
/* gw_adapter_responses_op for Azure: {base}/openai/v1/responses/{id}…
 * ?api-version=preview (cognitiveservices.azure.com: /openai/responses…
 * with the channel's API version), key in api-key. */
int gw__azure_responses_op(const struct gw_channel *ch, const char *base_url,
                           const char *api_key, const char *path, struct gw_upstream_req *out,
                           char *err, size_t errlen);

#endif
